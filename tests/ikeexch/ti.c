/* The test initiator: IKE_SA_INIT and IKE_AUTH requests as a device sends
 * them, and the checks a device makes on the answers (decryption, the
 * gateway's certificate and AUTH, the CHILD SA keys it derives itself). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "ike_frag.h"
#include "ike_msg_wr.h"
#include "ike_payload_wr.h"
#include "ike_sk.h"
#include "ti.h"

static void ti_die(const char *what)
{
    fprintf(stderr, "test initiator: %s failed\n", what);
    abort();
}

/* NAT detection computed here with a plain one-shot SHA-1, not with the
 * responder's helper. */
static void ti_natd(const uint8_t spi_i[8], const uint8_t spi_r[8],
                    const struct sockaddr_storage *ss, uint8_t out[20])
{
    uint8_t in[8 + 8 + 16 + 2];
    size_t n = 16;
    memcpy(in, spi_i, 8);
    memcpy(in + 8, spi_r, 8);
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
    memcpy(in + n, &s4->sin_addr, 4);
    n += 4;
    memcpy(in + n, &s4->sin_port, 2);
    n += 2;
    unsigned int olen = 0;
    if (!EVP_Digest(in, n, out, &olen, EVP_sha1(), NULL))
        ti_die("SHA-1");
}

/* SHA-1 of the CA's SubjectPublicKeyInfo: what CERTREQ names. */
static void ti_spki_hash(X509 *cert, uint8_t out[20])
{
    uint8_t *der = NULL;
    int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
    unsigned int olen = 0;
    if (len <= 0 || !EVP_Digest(der, (size_t)len, out, &olen, EVP_sha1(), NULL))
        ti_die("SPKI hash");
    OPENSSL_free(der);
}

void ti_init(struct ti *t, const char *ike_proposal)
{
    char why[200];
    memset(t, 0, sizeof(*t));
    struct iked_ike_proposal p;
    if (iked_parse_ike_proposal(ike_proposal, &p, why, sizeof(why)) < 0)
        ti_die(why);
    t->props[0] = p.suite;
    t->n_props = 1;
    t->ke_group = p.suite.dh;
    ti_default_addrs(&t->gw_addr, &t->my_addr);
    do
        ike_crypto_random(t->spi_i, sizeof(t->spi_i));
    while (t->spi_i[0] == 0);
    ike_crypto_random(t->ni, sizeof(t->ni));
    uint32_t spi = 0;
    while (spi < 0x100)
        ike_crypto_random((uint8_t *)&spi, sizeof(spi));
    t->esp_spi = spi;
}

void ti_fini(struct ti *t)
{
    ike_dh_free(t->dh);
    free(t->msg1);
    free(t->msg2);
    ike_keys_wipe(&t->keys);
    memset(t, 0, sizeof(*t));
}

static uint8_t *ti_finish(struct ike_wr *w, size_t *len)
{
    if (ike_wr_finish(w, NULL) != IKE_OK)
        ti_die("building a message");
    return ike_wr_steal(w, len);
}

uint8_t *ti_sa_init(struct ti *t, size_t *len)
{
    ike_dh_free(t->dh);
    t->dh = NULL;
    if (ike_dh_new(t->ke_group, &t->dh) != IKE_CRYPTO_OK)
        ti_die("ike_dh_new");
    struct ike_hdr h = {0};
    memcpy(h.ispi, t->spi_i, 8);
    h.exchange = IKE_EXCH_IKE_SA_INIT;
    h.flags = IKE_FLAG_INITIATOR;
    struct ike_wr w;
    ike_wr_init_dyn(&w, 0);
    ike_wr_header(&w, &h);
    if (t->cookie_len) /* §2.6: first */
        ike_wr_notify(&w, 0, IKE_N_COOKIE, NULL, 0, t->cookie, t->cookie_len);
    ike_wr_sa_begin(&w);
    for (size_t i = 0; i < t->n_props; i++) {
        const ike_suite *s = &t->props[i];
        ike_wr_proposal_begin(&w, (uint8_t)(i + 1), IKE_PROTO_IKE, NULL, 0);
        ike_wr_transform(&w, IKE_XF_ENCR, s->encr, s->encr_keybits);
        ike_wr_transform(&w, IKE_XF_PRF, s->prf, 0);
        if (s->integ)
            ike_wr_transform(&w, IKE_XF_INTEG, s->integ, 0);
        ike_wr_transform(&w, IKE_XF_DH, s->dh, 0);
        ike_wr_proposal_end(&w);
    }
    ike_wr_sa_end(&w);
    size_t pub_len = 0;
    const uint8_t *pub = ike_dh_public(t->dh, &pub_len);
    ike_wr_ke(&w, t->ke_group, pub, pub_len);
    ike_wr_nonce(&w, t->ni, sizeof(t->ni));
    if (!t->no_natd) {
        static const uint8_t zero[8];
        uint8_t src[20], dst[20];
        ti_natd(t->spi_i, zero, &t->my_addr, src);
        ti_natd(t->spi_i, zero, &t->gw_addr, dst);
        ike_wr_notify(&w, 0, IKE_N_NAT_DETECTION_SOURCE_IP, NULL, 0, src, 20);
        ike_wr_notify(&w, 0, IKE_N_NAT_DETECTION_DESTINATION_IP, NULL, 0, dst, 20);
    }
    if (!t->no_hash_algs) {
        static const uint8_t algs[] = {0, 2, 0, 3, 0, 4, 0, 5};
        ike_wr_notify(&w, 0, IKE_N_SIGNATURE_HASH_ALGORITHMS, NULL, 0, algs, sizeof(algs));
    }
    if (!t->no_frag)
        ike_wr_notify(&w, 0, IKE_N_IKEV2_FRAGMENTATION_SUPPORTED, NULL, 0, NULL, 0);
    uint8_t *msg = ti_finish(&w, len);
    free(t->msg1);
    t->msg1 = malloc(*len);
    memcpy(t->msg1, msg, *len);
    t->msg1_len = *len;
    t->msgid = 1;
    return msg;
}

static bool suite_eq_prop(const struct ike_sa_pl *sa, const struct ike_proposal *p,
                          const ike_suite *s)
{
    uint16_t encr = 0, bits = 0, prf = 0, integ = 0, dh = 0;
    for (unsigned i = 0; i < p->n_xf; i++) {
        const struct ike_transform *x = &sa->xf[p->first_xf + i];
        switch (x->type) {
        case IKE_XF_ENCR:
            encr = x->id;
            bits = x->key_len;
            break;
        case IKE_XF_PRF:
            prf = x->id;
            break;
        case IKE_XF_INTEG:
            integ = x->id;
            break;
        case IKE_XF_DH:
            dh = x->id;
            break;
        default:
            return false;
        }
    }
    return encr == s->encr && bits == s->encr_keybits && prf == s->prf && integ == s->integ &&
           dh == s->dh;
}

int ti_sa_init_response(struct ti *t, const struct fx *f, const uint8_t *buf, size_t len)
{
    struct ike_msg m;
    struct ike_error e;
    if (ike_msg_parse(&m, buf, len, &e) != IKE_OK || ike_chain_validate(&m, &m.outer, &e))
        return -1;
    if (m.hdr.exchange != IKE_EXCH_IKE_SA_INIT || m.hdr.flags != IKE_FLAG_RESPONSE ||
        m.hdr.msgid != 0 || memcmp(m.hdr.ispi, t->spi_i, 8) != 0)
        return -1;
    t->init_notify = 0;
    struct ike_notify ck;
    if (m.outer.n == 1 && ike_chain_find_notify(&m.outer, IKE_N_COOKIE, &ck)) {
        if (ck.data.len == 0 || ck.data.len > sizeof(t->cookie))
            return -1;
        memcpy(t->cookie, ck.data.ptr, ck.data.len);
        t->cookie_len = ck.data.len;
        return 2;
    }
    for (const struct ike_payload *pl = NULL; (pl = ike_chain_find(&m.outer, IKE_PL_NOTIFY, pl));) {
        struct ike_notify n;
        if (ike_pl_notify(pl, &n, &e) != IKE_OK)
            return -1;
        if (n.type < IKE_N_STATUS_MIN) {
            t->init_notify = n.type;
            if (n.type == IKE_N_INVALID_KE_PAYLOAD && n.data.len == 2)
                t->init_notify_group = (uint16_t)(n.data.ptr[0] << 8 | n.data.ptr[1]);
        }
    }
    if (t->init_notify)
        return 1;
    static const uint8_t zero[8];
    if (!memcmp(m.hdr.rspi, zero, 8))
        return -1;
    memcpy(t->spi_r, m.hdr.rspi, 8);
    const struct ike_payload *sap = ike_chain_find(&m.outer, IKE_PL_SA, NULL);
    const struct ike_payload *kep = ike_chain_find(&m.outer, IKE_PL_KE, NULL);
    const struct ike_payload *np = ike_chain_find(&m.outer, IKE_PL_NONCE, NULL);
    struct ike_sa_pl *sa = malloc(sizeof(*sa));
    struct ike_ke ke;
    struct ike_span nr;
    bool ok = sap && kep && np && ike_pl_sa(sap, sa, &e) == IKE_OK && sa->n_prop == 1 &&
              ike_pl_ke(kep, &ke, &e) == IKE_OK && ike_pl_nonce(np, &nr, &e) == IKE_OK;
    bool found = false;
    for (size_t i = 0; ok && i < t->n_props && !found; i++) {
        if (sa->prop[0].num == i + 1 && suite_eq_prop(sa, &sa->prop[0], &t->props[i])) {
            t->suite = t->props[i];
            found = true;
        }
    }
    free(sa);
    if (!ok || !found || ke.group != t->suite.dh || ke.group != t->ke_group)
        return -1;
    memcpy(t->nr, nr.ptr, nr.len);
    t->nr_len = nr.len;

    uint8_t want_src[20], want_dst[20], ca_hash[20];
    ti_natd(t->spi_i, t->spi_r, &t->gw_addr, want_src);
    ti_natd(t->spi_i, t->spi_r, &t->my_addr, want_dst);
    ti_spki_hash(f->ca.cert, ca_hash);
    for (unsigned i = 0; i < m.outer.n; i++) {
        const struct ike_payload *pl = &m.outer.pl[i];
        if (pl->type == IKE_PL_CERTREQ) {
            struct ike_cert c;
            if (ike_pl_certreq(pl, &c, &e) != IKE_OK || c.encoding != IKE_CERT_X509_SIG)
                return -1;
            t->got_certreq = true;
            for (size_t off = 0; off + 20 <= c.data.len; off += 20)
                if (!memcmp(c.data.ptr + off, ca_hash, 20))
                    t->certreq_has_ca = true;
        } else if (pl->type == IKE_PL_NOTIFY) {
            struct ike_notify n;
            ike_pl_notify(pl, &n, &e);
            switch (n.type) {
            case IKE_N_NAT_DETECTION_SOURCE_IP:
                t->got_natd_src = true;
                t->natd_src_ok = n.data.len == 20 && !memcmp(n.data.ptr, want_src, 20);
                break;
            case IKE_N_NAT_DETECTION_DESTINATION_IP:
                t->got_natd_dst = true;
                t->natd_dst_ok = n.data.len == 20 && !memcmp(n.data.ptr, want_dst, 20);
                break;
            case IKE_N_SIGNATURE_HASH_ALGORITHMS:
                t->got_hash_algs = true;
                if (ike_auth_hash_notify_parse(n.data.ptr, n.data.len, &t->peer_hash_mask))
                    return -1;
                break;
            case IKE_N_IKEV2_FRAGMENTATION_SUPPORTED:
                t->got_frag = true;
                break;
            case IKE_N_MOBIKE_SUPPORTED:
                t->got_mobike = true;
                break;
            default:
                break;
            }
        }
    }
    uint8_t gir[IKE_DH_MAX_SECRET];
    size_t gir_len = 0;
    if (ike_dh_derive(t->dh, ke.data.ptr, ke.data.len, gir, sizeof(gir), &gir_len))
        return -1;
    ike_span g = {gir, gir_len}, ni = {t->ni, sizeof(t->ni)}, n_r = {t->nr, t->nr_len};
    if (ike_keys_ike_sa_init(&t->suite, &g, &ni, &n_r, t->spi_i, t->spi_r, &t->keys))
        return -1;
    t->have_keys = true;
    free(t->msg2);
    t->msg2 = malloc(len);
    memcpy(t->msg2, buf, len);
    t->msg2_len = len;
    return 0;
}

/* Closes the SK payload and encrypts with SK_ei/SK_ai. */
static uint8_t *ti_seal(struct ti *t, struct ike_wr *w, size_t *len)
{
    const ike_encr_info *ei = ike_crypto_encr_info(t->suite.encr, t->suite.encr_keybits);
    const ike_integ_info *ii = ike_crypto_integ_info(t->suite.integ);
    struct ike_wr_sk lay;
    struct ike_span msg;
    if (ike_wr_sk_end(w, ei->block_len, ei->aead ? ei->icv_len : ii->icv_len, &lay) ||
        ike_wr_finish(w, &msg))
        ti_die("sealing");
    size_t pad = msg.ptr[lay.plain_off + lay.plain_len - 1];
    size_t inner_len = lay.plain_len - 1 - pad;
    uint8_t *plain = malloc(inner_len + 1);
    memcpy(plain, msg.ptr + lay.plain_off, inner_len);
    size_t body_len = ike_sk_body_len(&t->keys.sk_i, inner_len);
    if (body_len != lay.iv_len + lay.plain_len + lay.icv_len)
        ti_die("SK layout");
    uint8_t *buf = ike_wr_steal(w, len);
    if (ike_sk_encrypt(&t->keys.sk_i, buf, lay.aad_len, plain, inner_len, buf + lay.iv_off,
                       body_len))
        ti_die("ike_sk_encrypt");
    free(plain);
    return buf;
}

static void ti_open_sk(struct ti *t, struct ike_wr *w, uint8_t exchange, uint8_t flags,
                       uint32_t msgid)
{
    struct ike_hdr h = {0};
    memcpy(h.ispi, t->spi_i, 8);
    memcpy(h.rspi, t->spi_r, 8);
    h.exchange = exchange;
    /* After the gateway rekeyed the IKE SA, we are its original responder. */
    h.flags = t->orig_responder ? (uint8_t)(flags & ~IKE_FLAG_INITIATOR) : flags;
    h.msgid = msgid;
    const ike_encr_info *ei = ike_crypto_encr_info(t->suite.encr, t->suite.encr_keybits);
    ike_wr_init_dyn(w, 0);
    ike_wr_header(w, &h);
    ike_wr_sk_begin(w, ei->iv_len);
}

uint8_t *ti_auth(struct ti *t, const struct fx *f, const struct ti_auth_opts *o, size_t *len)
{
    struct ike_wr w;
    ti_open_sk(t, &w, IKE_EXCH_IKE_AUTH, IKE_FLAG_INITIATOR, t->msgid++);
    uint8_t idt = o->idi_type ? o->idi_type : IKE_ID_DER_ASN1_DN;
    if (idt == IKE_ID_DER_ASN1_DN)
        ike_wr_id(&w, IKE_PL_IDI, idt, o->cred->subject_der, o->cred->subject_der_len);
    else
        ike_wr_id(&w, IKE_PL_IDI, idt, o->idi_text, strlen(o->idi_text));
    struct ike_span b = ike_wr_last_body(&w);
    uint8_t idbody[512];
    size_t idbody_len = b.len;
    memcpy(idbody, b.ptr, b.len);
    ike_wr_cert(&w, IKE_CERT_X509_SIG, o->cred->der, o->cred->der_len);
    for (size_t i = 0; i < o->n_chain; i++)
        ike_wr_cert(&w, IKE_CERT_X509_SIG, o->chain[i]->der, o->chain[i]->der_len);
    if (o->initial_contact)
        ike_wr_notify(&w, 0, IKE_N_INITIAL_CONTACT, NULL, 0, NULL, 0);
    if (!o->no_certreq) {
        uint8_t h[20];
        ti_spki_hash(f->ca.cert, h);
        ike_wr_certreq(&w, IKE_CERT_X509_SIG, h, sizeof(h));
    }
    /* AUTH = sign(RealMessage1 | NonceRData | prf(SK_pi, IDi body)) */
    EVP_PKEY *key = o->sign_with ? o->sign_with : o->cred->key;
    ike_sig_scheme scheme;
    if (ike_auth_choose(key, t->got_hash_algs ? t->peer_hash_mask : 0, false, &scheme))
        ti_die("ike_auth_choose");
    uint8_t *oct = NULL;
    size_t oct_len = 0;
    ike_span m1 = {t->msg1, t->msg1_len}, nr = {t->nr, t->nr_len}, idb = {idbody, idbody_len};
    if (ike_auth_octets(t->suite.prf, t->keys.sk_pi, t->keys.prf_len, &m1, &nr, &idb, &oct,
                        &oct_len))
        ti_die("ike_auth_octets");
    uint8_t sig[1200];
    size_t sig_len = 0;
    if (ike_auth_sign(key, scheme, oct, oct_len, sig, sizeof(sig), &sig_len))
        ti_die("ike_auth_sign");
    ike_auth_octets_free(oct, oct_len);
    if (o->tamper_sig)
        sig[sig_len - 5] ^= 0x40;
    ike_wr_auth(&w, ike_auth_scheme_method(scheme), sig, sig_len);
    if (!o->no_cp) {
        struct ike_cp_attr a[5];
        unsigned n = 0;
        if (!o->cp_no_addr)
            a[n++] = (struct ike_cp_attr){IKE_CFGA_INTERNAL_IP4_ADDRESS, {NULL, 0}};
        a[n++] = (struct ike_cp_attr){IKE_CFGA_INTERNAL_IP4_NETMASK, {NULL, 0}};
        a[n++] = (struct ike_cp_attr){IKE_CFGA_INTERNAL_IP4_DNS, {NULL, 0}};
        a[n++] = (struct ike_cp_attr){IKE_CFGA_INTERNAL_IP6_ADDRESS, {NULL, 0}};
        ike_wr_cp(&w, IKE_CFG_REQUEST, a, n);
    }
    if (!o->no_sa) {
        static const struct iked_esp_proposal def = {IKE_ENCR_AES_GCM_16, 128, 0, false, 0};
        const struct iked_esp_proposal *e = o->n_esp ? o->esp : &def;
        size_t ne = o->n_esp ? o->n_esp : 1;
        uint8_t spi[4] = {(uint8_t)(t->esp_spi >> 24), (uint8_t)(t->esp_spi >> 16),
                          (uint8_t)(t->esp_spi >> 8), (uint8_t)t->esp_spi};
        ike_wr_sa_begin(&w);
        for (size_t i = 0; i < ne; i++) {
            ike_wr_proposal_begin(&w, (uint8_t)(i + 1), IKE_PROTO_ESP, spi, 4);
            ike_wr_transform(&w, IKE_XF_ENCR, e[i].encr, e[i].encr_keybits);
            if (e[i].integ)
                ike_wr_transform(&w, IKE_XF_INTEG, e[i].integ, 0);
            ike_wr_transform(&w, IKE_XF_ESN, e[i].esn ? IKE_ESN_YES : IKE_ESN_NO, 0);
            ike_wr_proposal_end(&w);
        }
        ike_wr_sa_end(&w);
        struct ike_ts all = {.type = IKE_TS_IPV4_ADDR_RANGE, .end_port = 65535};
        memset(all.end, 0xff, 4);
        ike_wr_ts(&w, IKE_PL_TSI, o->tsi.n ? o->tsi.ts : &all, o->tsi.n ? o->tsi.n : 1);
        ike_wr_ts(&w, IKE_PL_TSR, o->tsr.n ? o->tsr.ts : &all, o->tsr.n ? o->tsr.n : 1);
    }
    if (!o->no_mobike)
        ike_wr_notify(&w, 0, IKE_N_MOBIKE_SUPPORTED, NULL, 0, NULL, 0);
    return ti_seal(t, &w, len);
}

int ti_open(struct ti *t, const uint8_t *buf, size_t len, bool response, struct ike_msg *m,
            uint8_t *plain)
{
    struct ike_error e;
    struct ike_sk sk;
    size_t plen = 0;
    /* RFC 7383: a fragment set is read from its first fragment's header. */
    size_t one = ike_frag_next_msg(buf, len);
    if (ike_msg_parse(m, buf, one, &e) != IKE_OK || !m->sk)
        return -1;
    if (m->sk->type == IKE_PL_SKF) {
        uint8_t first = 0;
        size_t n = 0;
        if ((response && (m->hdr.flags != IKE_FLAG_RESPONSE || m->hdr.msgid != t->msgid - 1)) ||
            memcmp(m->hdr.ispi, t->spi_i, 8) || memcmp(m->hdr.rspi, t->spi_r, 8) ||
            ti_unfragment(t, buf, len, plain, len, &plen, &first, &n) < 0 ||
            ike_msg_parse_inner(m, first, plain, plen, &e) != IKE_OK ||
            ike_chain_validate(m, &m->inner, &e) != IKE_OK)
            return -1;
        return 0;
    }
    if (m->sk->type != IKE_PL_SK || one != len)
        return -1;
    uint8_t peer_i = t->orig_responder ? IKE_FLAG_INITIATOR : 0;
    if (response &&
        (m->hdr.flags != (IKE_FLAG_RESPONSE | peer_i) || m->hdr.msgid != t->msgid - 1))
        return -1;
    if (!response && m->hdr.flags != peer_i)
        return -1;
    if (memcmp(m->hdr.ispi, t->spi_i, 8) || memcmp(m->hdr.rspi, t->spi_r, 8))
        return -1;
    if (ike_pl_sk(m, m->sk, &sk, &e) != IKE_OK ||
        ike_sk_decrypt(&t->keys.sk_r, m->raw, sk.aad_len, sk.body.ptr, sk.body.len, plain, len,
                       &plen) != IKE_CRYPTO_OK ||
        ike_msg_parse_inner(m, sk.first, plain, plen, &e) != IKE_OK ||
        ike_chain_validate(m, &m->inner, &e) != IKE_OK)
        return -1;
    return 0;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void ti_read_cp(const struct ike_payload *pl, struct ti_auth_result *r)
{
    struct ike_cp cp;
    struct ike_error e;
    if (ike_pl_cp(pl, &cp, &e) != IKE_OK || cp.cfg_type != IKE_CFG_REPLY)
        return;
    r->has_cp = true;
    for (unsigned i = 0; i < cp.n; i++) {
        const struct ike_cp_attr *a = &cp.attr[i];
        if (a->type == IKE_CFGA_INTERNAL_IP4_ADDRESS && a->value.len == 4)
            memcpy(&r->vip, a->value.ptr, 4);
        else if (a->type == IKE_CFGA_INTERNAL_IP4_NETMASK && a->value.len == 4)
            memcpy(&r->netmask, a->value.ptr, 4);
        else if (a->type == IKE_CFGA_INTERNAL_IP4_DNS && a->value.len == 4 && r->n_dns < 4)
            memcpy(&r->dns[r->n_dns++], a->value.ptr, 4);
    }
}

/* The gateway's certificate chain, IDr and AUTH, verified as a device does. */
static void ti_check_gateway(struct ti *t, const struct fx *f, const struct ike_chain *in,
                             struct ti_auth_result *r)
{
    struct ike_error e;
    struct ike_id idr;
    struct ike_auth auth;
    ike_span certs[TI_MAX_CERTS];
    size_t n = 0;
    const struct ike_payload *ip = ike_chain_find(in, IKE_PL_IDR, NULL);
    const struct ike_payload *ap = ike_chain_find(in, IKE_PL_AUTH, NULL);
    for (const struct ike_payload *c = NULL; (c = ike_chain_find(in, IKE_PL_CERT, c)) && n < 4;) {
        struct ike_cert ce;
        if (ike_pl_cert(c, &ce, &e) == IKE_OK && ce.encoding == IKE_CERT_X509_SIG)
            certs[n++] = ce.data;
    }
    r->n_certs = n;
    r->has_idr = ip && ike_pl_id(ip, &idr, &e) == IKE_OK;
    if (!r->has_idr || !ap || ike_pl_auth(ap, &auth, &e) != IKE_OK || n == 0)
        return;
    r->auth_method = auth.method;
    ike_cert_peer *peer = NULL;
    char detail[200];
    r->cert_ok = ike_cert_verify(f->cas, certs, n, 0, &peer, detail, sizeof(detail)) == 0;
    if (!r->cert_ok)
        return;
    r->id_ok = ike_cert_peer_check_id(peer, idr.type, idr.data.ptr, idr.data.len) == 0;
    uint8_t *oct = NULL;
    size_t oct_len = 0;
    ike_span m2 = {t->msg2, t->msg2_len}, ni = {t->ni, sizeof(t->ni)};
    if (ike_auth_octets(t->suite.prf, t->keys.sk_pr, t->keys.prf_len, &m2, &ni, &idr.body, &oct,
                        &oct_len) == 0) {
        r->auth_ok = ike_auth_verify(ike_cert_peer_key(peer), auth.method, auth.data.ptr,
                                     auth.data.len, oct, oct_len, NULL) == 0;
        ike_auth_octets_free(oct, oct_len);
    }
    ike_cert_peer_free(peer);
}

int ti_auth_response(struct ti *t, const struct fx *f, const uint8_t *buf, size_t len,
                     struct ti_auth_result *r)
{
    struct ike_msg *m = malloc(sizeof(*m));
    uint8_t *plain = malloc(len);
    struct ike_error e;
    int rc = -1;
    memset(r, 0, sizeof(*r));
    if (ti_open(t, buf, len, true, m, plain) < 0)
        goto out;
    for (unsigned i = 0; i < m->inner.n; i++) {
        const struct ike_payload *pl = &m->inner.pl[i];
        switch (pl->type) {
        case IKE_PL_NOTIFY: {
            struct ike_notify n;
            if (ike_pl_notify(pl, &n, &e) == IKE_OK && r->n_notify < TI_MAX_NOTIFY)
                r->notify[r->n_notify++] = n.type;
            break;
        }
        case IKE_PL_CP:
            ti_read_cp(pl, r);
            break;
        case IKE_PL_SA:
            r->has_sa = ike_pl_sa(pl, &r->esp, &e) == IKE_OK && r->esp.n_prop == 1 &&
                        r->esp.prop[0].spi_len == 4;
            if (r->has_sa)
                r->esp_spi_r = be32(r->esp.prop[0].spi);
            break;
        case IKE_PL_TSI:
            ike_pl_ts(pl, &r->tsi, &e);
            break;
        case IKE_PL_TSR:
            ike_pl_ts(pl, &r->tsr, &e);
            break;
        default:
            break;
        }
    }
    if (t->no_gw_check)
        r->has_idr = ike_chain_find(&m->inner, IKE_PL_IDR, NULL) != NULL;
    else
        ti_check_gateway(t, f, &m->inner, r);
    if (r->has_sa) {
        uint16_t encr = 0, bits = 0, integ = 0;
        const struct ike_proposal *p = &r->esp.prop[0];
        for (unsigned i = 0; i < p->n_xf; i++) {
            const struct ike_transform *x = &r->esp.xf[p->first_xf + i];
            if (x->type == IKE_XF_ENCR) {
                encr = x->id;
                bits = x->key_len;
            } else if (x->type == IKE_XF_INTEG) {
                integ = x->id;
            }
        }
        ike_span ni = {t->ni, sizeof(t->ni)}, nr = {t->nr, t->nr_len};
        if (ike_keys_child(&t->keys, encr, bits, integ, NULL, &ni, &nr, &r->child))
            goto out;
    }
    rc = 0;
out:
    free(plain);
    free(m);
    return rc;
}

uint8_t *ti_request(struct ti *t, uint8_t exchange, void (*fill)(struct ike_wr *w, void *arg),
                    void *arg, size_t *len)
{
    struct ike_wr w;
    ti_open_sk(t, &w, exchange, IKE_FLAG_INITIATOR, t->msgid++);
    if (fill)
        fill(&w, arg);
    return ti_seal(t, &w, len);
}

uint8_t *ti_response_with(struct ti *t, uint8_t exchange, uint32_t msgid,
                          void (*fill)(struct ike_wr *w, void *arg), void *arg, size_t *len)
{
    struct ike_wr w;
    ti_open_sk(t, &w, exchange, IKE_FLAG_INITIATOR | IKE_FLAG_RESPONSE, msgid);
    if (fill)
        fill(&w, arg);
    return ti_seal(t, &w, len);
}

uint8_t *ti_response(struct ti *t, uint8_t exchange, uint32_t msgid, size_t *len)
{
    struct ike_wr w;
    ti_open_sk(t, &w, exchange, IKE_FLAG_INITIATOR | IKE_FLAG_RESPONSE, msgid);
    return ti_seal(t, &w, len);
}


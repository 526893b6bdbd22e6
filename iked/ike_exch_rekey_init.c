/* The gateway's own requests for rekeying (RFC 7296 §1.3.3, §2.8): the
 * CREATE_CHILD_SA that rekeys the CHILD SA (we are the exchange's
 * initiator, still the IKE SA's original responder: no Initiator flag, our
 * messages under SK_er/SK_ar), reading its response, the collision rule of
 * §2.8.1, and the INFORMATIONAL DELETE of one CHILD SA that ends a rekey. */
#include <endian.h>
#include <stdlib.h>
#include <string.h>

#include "ike_dh.h"
#include "ike_exch_int.h"
#include "ike_keys.h"
#include "log.h"

void ike_exch_rekey_child_req_clear(struct ike_rekey_child_req *rq)
{
    ike_dh_free(rq->dh);
    if (rq->c) {
        ike_crypto_wipe(rq->c, sizeof(*rq->c));
        free(rq->c);
    }
    ike_crypto_wipe(rq, sizeof(*rq));
}

int ike_exch_rekey_child_request(const struct ike_env *env, struct ike_sa *sa,
                                 struct ike_rekey_child_req *rq, struct ike_tx *tx)
{
    (void)env;
    tx->buf = NULL;
    tx->len = 0;
    memset(rq, 0, sizeof(*rq));
    const struct child_sa *old = sa->child;
    if (!old)
        return -1;
    struct child_sa *c = calloc(1, sizeof(*c));
    if (!c)
        return -1;
    rq->c = c;
    memcpy(c->ts_local, old->ts_local, sizeof(c->ts_local));
    c->n_ts_local = old->n_ts_local;
    c->ts_remote = old->ts_remote;
    c->esp = old->esp;
    c->reqid = old->reqid;
    c->spi_in = exch_random_esp_spi();
    if (!c->spi_in || ike_crypto_random(rq->ni, sizeof(rq->ni)) != IKE_CRYPTO_OK ||
        (c->esp.dh && ike_dh_new(c->esp.dh, &rq->dh) != IKE_CRYPTO_OK)) {
        ike_exch_rekey_child_req_clear(rq);
        return -1;
    }
    struct ike_proposal_choice ch;
    memset(&ch, 0, sizeof(ch));
    ch.num = 1;
    ch.esp = c->esp;
    ch.pfs_group = c->esp.dh;
    uint8_t rekey_spi[4] = {(uint8_t)(old->spi_in >> 24), (uint8_t)(old->spi_in >> 16),
                            (uint8_t)(old->spi_in >> 8), (uint8_t)old->spi_in};
    rq->msgid = sa->our_next_msgid;
    struct ike_wr w;
    exch_sk_open(&w, sa, IKE_EXCH_CREATE_CHILD_SA, rq->msgid, false);
    /* The SA to rekey, by the SPI we receive on (§1.3.3). */
    ike_wr_notify(&w, IKE_PROTO_ESP, IKE_N_REKEY_SA, rekey_spi, 4, NULL, 0);
    ike_proposal_write_esp(&w, &ch, c->spi_in);
    ike_wr_nonce(&w, rq->ni, sizeof(rq->ni));
    if (rq->dh) {
        size_t plen = 0;
        const uint8_t *pub = ike_dh_public(rq->dh, &plen);
        ike_wr_ke(&w, c->esp.dh, pub, plen);
    }
    exch_write_ts_as(&w, c, true);
    if (exch_sk_close(&w, sa, tx) < 0) {
        ike_exch_rekey_child_req_clear(rq);
        return -1;
    }
    sa->our_next_msgid++;
    return 0;
}

/* The single proposal the peer chose must be ours, transform for
 * transform (we offered one). */
static bool rekey_reply_proposal_ok(const struct ike_sa_pl *sa, const struct iked_esp_proposal *e,
                                    uint32_t *peer_spi)
{
    if (sa->n_prop != 1)
        return false;
    const struct ike_proposal *p = &sa->prop[0];
    if (p->proto != IKE_PROTO_ESP || p->spi_len != 4 || p->first_xf + p->n_xf > sa->n_xf)
        return false;
    bool encr = false, dh = !e->dh, esn = false;
    for (unsigned i = 0; i < p->n_xf; i++) {
        const struct ike_transform *x = &sa->xf[p->first_xf + i];
        switch (x->type) {
        case IKE_XF_ENCR:
            encr = x->id == e->encr && x->key_len == e->encr_keybits;
            break;
        case IKE_XF_INTEG:
            if (x->id != e->integ)
                return false;
            break;
        case IKE_XF_DH:
            dh = x->id == e->dh;
            break;
        case IKE_XF_ESN:
            esn = x->id == (e->esn ? IKE_ESN_YES : IKE_ESN_NO);
            break;
        default:
            return false;
        }
    }
    *peer_spi = (uint32_t)p->spi[0] << 24 | (uint32_t)p->spi[1] << 16 | (uint32_t)p->spi[2] << 8 |
                p->spi[3];
    return encr && dh && esn;
}

static void rekey_low_nonce(struct ike_rekey_child_req *rq, const ike_span *nr)
{
    ike_span ni = {rq->ni, sizeof(rq->ni)};
    size_t common = ni.len < nr->len ? ni.len : nr->len;
    int cmp = memcmp(ni.ptr, nr->ptr, common);
    const ike_span *low = cmp < 0 || (cmp == 0 && ni.len <= nr->len) ? &ni : nr;
    rq->low_nonce_len =
        (uint8_t)(low->len < sizeof(rq->low_nonce) ? low->len : sizeof(rq->low_nonce));
    memcpy(rq->low_nonce, low->ptr, rq->low_nonce_len);
}

/* The answer to our CREATE_CHILD_SA request MSGID, decrypted into *in: 0,
 * or -1 when it is not that answer or does not open (dropped, as any stray
 * message would be). Both rekeys, CHILD SA and IKE SA, take theirs here. */
static int rekey_open_reply(struct ike_sa *sa, uint32_t msgid, const struct ike_rx *rx,
                            const struct ike_msg *m, struct ike_chain *in)
{
    const struct ike_hdr *h = &m->hdr;
    if (!(h->flags & IKE_FLAG_RESPONSE) || !(h->flags & IKE_FLAG_INITIATOR) != sa->we_initiator ||
        h->msgid != msgid || h->exchange != IKE_EXCH_CREATE_CHILD_SA ||
        memcmp(h->ispi, &sa->spi_i, IKE_SPI_LEN) != 0 ||
        memcmp(h->rspi, &sa->spi_r, IKE_SPI_LEN) != 0)
        return -1;
    uint16_t bad = 0;
    uint8_t nd = 0;
    if (exch_open_request(sa, rx, m, in, &bad, &nd) != EXCH_OPEN_OK)
        return -1;
    sa->last_rx_ms = rx->now_ms;
    return 0;
}

bool ike_exch_rekey_child_lost(const struct ike_sa *sa, const struct ike_rekey_child_req *rq)
{
    size_t a = rq->low_nonce_len, b = sa->collision_nonce_len;
    int cmp = memcmp(rq->low_nonce, sa->collision_nonce, a < b ? a : b);
    return cmp < 0 || (cmp == 0 && a < b);
}

int ike_exch_rekey_child_reply(const struct ike_env *env, struct ike_sa *sa,
                               struct ike_rekey_child_req *rq, const struct ike_rx *rx,
                               const struct ike_msg *m, uint16_t *notify, uint16_t *group)
{
    (void)env;
    char d[320];
    *notify = 0;
    *group = 0;
    struct ike_chain in;
    if (rekey_open_reply(sa, rq->msgid, rx, m, &in) < 0)
        return -1;
    ike_sa_describe(sa, d, sizeof(d));
    /* An error notify (types below 16384) is the whole answer. */
    for (const struct ike_payload *pl = NULL; (pl = ike_chain_find(&in, IKE_PL_NOTIFY, pl));) {
        struct ike_notify n;
        struct ike_error e;
        if (ike_pl_notify(pl, &n, &e) != IKE_OK || n.type >= 16384)
            continue;
        *notify = n.type;
        if (n.type == IKE_N_INVALID_KE_PAYLOAD && n.data.len == 2)
            *group = (uint16_t)(n.data.ptr[0] << 8 | n.data.ptr[1]);
        return 1;
    }
    struct exch_ccs_req r;
    const char *why = NULL;
    uint32_t peer_spi = 0;
    if (exch_ccs_parse(&in, &r, &why) != 0) {
        log_notice("%s: the answer to our CHILD SA rekey is malformed: %s", d, why);
        return -1;
    }
    if (!rekey_reply_proposal_ok(&r.sapl, &rq->c->esp, &peer_spi) ||
        (rq->dh && (!r.has_ke || r.ke.group != rq->c->esp.dh)) || (!rq->dh && r.has_ke)) {
        char got[512];
        exch_describe_proposals(&r.sapl, got, sizeof(got));
        log_notice("%s: the answer to our CHILD SA rekey chose what we did not offer (%s%s)", d,
                   got, r.has_ke ? ", KE" : "");
        return -1;
    }
    uint8_t gir[EXCH_MAX_KE];
    size_t gir_len = 0;
    if (rq->dh && ike_dh_derive(rq->dh, r.ke.data.ptr, r.ke.data.len, gir, sizeof(gir), &gir_len) !=
                      IKE_CRYPTO_OK) {
        log_notice("%s: the answer to our CHILD SA rekey has an invalid KE", d);
        return -1;
    }
    rq->c->spi_out = peer_spi;
    ike_span gs = {gir, gir_len}, ni = {rq->ni, sizeof(rq->ni)}, nr = r.ni;
    int rc = exch_rekey_child_keys(sa, rq->c, rq->dh ? &gs : NULL, &ni, &nr, true);
    ike_crypto_wipe(gir, sizeof(gir));
    if (rc < 0)
        return -1;
    rekey_low_nonce(rq, &nr);
    return 0;
}

int ike_exch_delete_child_request(const struct ike_env *env, struct ike_sa *sa, uint32_t spi_in,
                                  struct ike_tx *tx)
{
    (void)env;
    struct ike_wr w;
    tx->buf = NULL;
    tx->len = 0;
    exch_sk_open(&w, sa, IKE_EXCH_INFORMATIONAL, sa->our_next_msgid, false);
    ike_wr_delete(&w, IKE_PROTO_ESP, &spi_in, 1);
    if (exch_sk_close(&w, sa, tx) < 0)
        return -1;
    sa->our_next_msgid++;
    return 0;
}

bool ike_exch_rekey_ike_lost(const struct ike_sa *sa, const struct ike_rekey_ike_req *rq)
{
    size_t a = rq->low_nonce_len, b = sa->collision_nonce_len;
    int cmp = memcmp(rq->low_nonce, sa->collision_nonce, a < b ? a : b);
    return cmp < 0 || (cmp == 0 && a < b);
}

void ike_exch_rekey_ike_req_clear(struct ike_rekey_ike_req *rq)
{
    ike_dh_free(rq->dh);
    ike_crypto_wipe(rq, sizeof(*rq));
}

int ike_exch_rekey_ike_request(const struct ike_env *env, struct ike_sa *sa,
                               struct ike_rekey_ike_req *rq, struct ike_tx *tx)
{
    (void)env;
    tx->buf = NULL;
    tx->len = 0;
    memset(rq, 0, sizeof(*rq));
    do {
        if (ike_crypto_random((uint8_t *)&rq->spi_i, sizeof(rq->spi_i)) != IKE_CRYPTO_OK)
            return -1;
    } while (rq->spi_i == 0);
    if (ike_crypto_random(rq->ni, sizeof(rq->ni)) != IKE_CRYPTO_OK ||
        ike_dh_new(sa->suite.dh, &rq->dh) != IKE_CRYPTO_OK) {
        ike_exch_rekey_ike_req_clear(rq);
        return -1;
    }
    struct ike_proposal_choice ch;
    memset(&ch, 0, sizeof(ch));
    ch.num = 1;
    ch.suite = sa->suite;
    size_t plen = 0;
    const uint8_t *pub = ike_dh_public(rq->dh, &plen);
    rq->msgid = sa->our_next_msgid;
    struct ike_wr w;
    exch_sk_open(&w, sa, IKE_EXCH_CREATE_CHILD_SA, rq->msgid, false);
    ike_proposal_write_ike_spi(&w, &ch, (const uint8_t *)&rq->spi_i);
    ike_wr_nonce(&w, rq->ni, sizeof(rq->ni));
    ike_wr_ke(&w, sa->suite.dh, pub, plen);
    if (exch_sk_close(&w, sa, tx) < 0) {
        ike_exch_rekey_ike_req_clear(rq);
        return -1;
    }
    sa->our_next_msgid++;
    return 0;
}

int ike_exch_rekey_ike_reply(const struct ike_env *env, struct ike_sa *sa,
                             struct ike_rekey_ike_req *rq, const struct ike_rx *rx,
                             const struct ike_msg *m, struct ike_sa **nsa_out, uint16_t *notify)
{
    char d[320];
    *nsa_out = NULL;
    *notify = 0;
    struct ike_chain in;
    if (rekey_open_reply(sa, rq->msgid, rx, m, &in) < 0)
        return -1;
    ike_sa_describe(sa, d, sizeof(d));
    for (const struct ike_payload *pl = NULL; (pl = ike_chain_find(&in, IKE_PL_NOTIFY, pl));) {
        struct ike_notify n;
        struct ike_error e;
        if (ike_pl_notify(pl, &n, &e) == IKE_OK && n.type < 16384) {
            *notify = n.type;
            return 1;
        }
    }
    struct exch_ccs_req r;
    const char *why = NULL;
    if (exch_ccs_parse(&in, &r, &why) != 0 || !r.has_ke) {
        log_notice("%s: the answer to our IKE SA rekey is malformed: %s", d, why ? why : "no KE");
        return -1;
    }
    /* The one proposal we made, with the peer's new SPI. */
    struct ike_proposal_choice ch;
    uint16_t want = 0;
    struct iked_settings one;
    memset(&one, 0, sizeof(one));
    one.ike[0].suite = sa->suite;
    one.n_ike = 1;
    const struct ike_proposal *p = r.sapl.n_prop == 1 ? &r.sapl.prop[0] : NULL;
    uint64_t zero = 0;
    if (!p || p->spi_len != 8 || memcmp(p->spi, &zero, 8) == 0 ||
        ike_proposal_select_ike(&one, &r.sapl, r.ke.group, &ch, &want) != 0 || want ||
        r.ke.data.len != ike_dh_public_len(sa->suite.dh)) {
        log_notice("%s: the answer to our IKE SA rekey chose what we did not offer", d);
        return -1;
    }
    uint8_t gir[EXCH_MAX_KE];
    size_t gir_len = 0;
    if (ike_dh_derive(rq->dh, r.ke.data.ptr, r.ke.data.len, gir, sizeof(gir), &gir_len) !=
        IKE_CRYPTO_OK) {
        log_notice("%s: the answer to our IKE SA rekey has an invalid KE", d);
        return -1;
    }
    struct ike_sa *nsa = ike_sa_new();
    if (!nsa) {
        ike_crypto_wipe(gir, sizeof(gir));
        return -1;
    }
    nsa->we_initiator = true;
    nsa->spi_i = rq->spi_i;
    memcpy(&nsa->spi_r, p->spi, 8);
    nsa->suite = sa->suite;
    ike_span gs = {gir, gir_len}, ni = {rq->ni, sizeof(rq->ni)}, nr = r.ni;
    ike_crypto_err ce =
        ike_keys_ike_rekey(&sa->keys, &sa->suite, &gs, &ni, &nr, (const uint8_t *)&nsa->spi_i,
                           (const uint8_t *)&nsa->spi_r, &nsa->keys);
    ike_crypto_wipe(gir, sizeof(gir));
    if (ce != IKE_CRYPTO_OK || exch_rekey_ike_inherit(nsa, sa, rx) < 0) {
        log_err("%s: our IKE SA rekey: %s", d,
                ce != IKE_CRYPTO_OK ? ike_crypto_strerror(ce) : "out of memory");
        ike_sa_free(nsa);
        return -1;
    }
    ike_keys_drop_auth(&nsa->keys);
    size_t common = ni.len < nr.len ? ni.len : nr.len;
    int cmp = memcmp(ni.ptr, nr.ptr, common);
    const ike_span *low = cmp < 0 || (cmp == 0 && ni.len <= nr.len) ? &ni : &nr;
    rq->low_nonce_len =
        (uint8_t)(low->len < sizeof(rq->low_nonce) ? low->len : sizeof(rq->low_nonce));
    memcpy(rq->low_nonce, low->ptr, rq->low_nonce_len);
    sa->state = IKE_SA_REKEYED;
    sa->rekeyed_ms = rx->now_ms;
    sa->lease_moved = true;
    log_info("%s: IKE SA rekeyed by us: new SPIs %016llx %016llx", d,
             (unsigned long long)be64toh(nsa->spi_i), (unsigned long long)be64toh(nsa->spi_r));
    (void)env;
    *nsa_out = nsa;
    return 0;
}

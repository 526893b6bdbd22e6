/* The test initiator's CREATE_CHILD_SA (RFC 7296 §1.3): rekeying the CHILD
 * SA (with and without PFS) and the IKE SA, and answering the gateway's own
 * CHILD SA rekey, with its own view of the keys that result. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ike_msg_wr.h"
#include "ike_payload_wr.h"
#include "ti.h"

static void tr_die(const char *what)
{
    fprintf(stderr, "ti_rekey: %s\n", what);
    abort();
}

static uint32_t tr_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void ti_rekey_clear(struct ti_rekey *rk)
{
    ike_dh_free(rk->dh);
    rk->dh = NULL;
}

static void tr_nonce_and_dh(struct ti_rekey *rk, uint16_t group)
{
    if (rk->nonce_fixed)
        memset(rk->ni, rk->nonce_fill, sizeof(rk->ni));
    else if (ike_crypto_random(rk->ni, sizeof(rk->ni)) != IKE_CRYPTO_OK)
        tr_die("random");
    ike_dh_free(rk->dh);
    rk->dh = NULL;
    if (group && ike_dh_new(group, &rk->dh) != IKE_CRYPTO_OK)
        tr_die("ike_dh_new");
}

static void tr_write_ke(struct ike_wr *w, struct ti_rekey *rk)
{
    if (!rk->dh)
        return;
    size_t plen = 0;
    const uint8_t *pub = ike_dh_public(rk->dh, &plen);
    ike_wr_ke(w, ike_dh_group(rk->dh), pub, plen);
}

static void tr_write_esp(struct ike_wr *w, const struct ti_rekey *rk, uint16_t dh_answer,
                         bool answer)
{
    uint8_t spi[4] = {(uint8_t)(rk->my_spi >> 24), (uint8_t)(rk->my_spi >> 16),
                      (uint8_t)(rk->my_spi >> 8), (uint8_t)rk->my_spi};
    ike_wr_sa_begin(w);
    ike_wr_proposal_begin(w, 1, IKE_PROTO_ESP, spi, 4);
    ike_wr_transform(w, IKE_XF_ENCR, rk->esp.encr, rk->esp.encr_keybits);
    if (rk->esp.integ)
        ike_wr_transform(w, IKE_XF_INTEG, rk->esp.integ, 0);
    if (answer ? dh_answer : rk->esp.dh)
        ike_wr_transform(w, IKE_XF_DH, answer ? dh_answer : rk->esp.dh, 0);
    if (!answer && rk->offer_dh2)
        ike_wr_transform(w, IKE_XF_DH, rk->offer_dh2, 0);
    ike_wr_transform(w, IKE_XF_ESN, rk->esp.esn ? IKE_ESN_YES : IKE_ESN_NO, 0);
    ike_wr_proposal_end(w);
    ike_wr_sa_end(w);
}

struct tr_child_req {
    struct ti_rekey *rk;
    uint32_t rekey_spi;
};

static void tr_fill_child(struct ike_wr *w, void *arg)
{
    struct tr_child_req *a = arg;
    struct ti_rekey *rk = a->rk;
    uint8_t s[4] = {(uint8_t)(a->rekey_spi >> 24), (uint8_t)(a->rekey_spi >> 16),
                    (uint8_t)(a->rekey_spi >> 8), (uint8_t)a->rekey_spi};
    ike_wr_notify(w, IKE_PROTO_ESP, IKE_N_REKEY_SA, s, 4, NULL, 0);
    tr_write_esp(w, rk, 0, false);
    ike_wr_nonce(w, rk->ni, sizeof(rk->ni));
    tr_write_ke(w, rk);
    /* What the device asks for: anything (the gateway keeps the narrowed
     * selectors of the SA it replaces). */
    struct ike_ts all = {.type = IKE_TS_IPV4_ADDR_RANGE, .end_port = 65535};
    memset(all.end, 0xff, 4);
    ike_wr_ts(w, IKE_PL_TSI, &all, 1);
    ike_wr_ts(w, IKE_PL_TSR, &all, 1);
}

uint8_t *ti_rekey_child(struct ti *t, uint32_t rekey_spi, struct ti_rekey *rk, size_t *len)
{
    if (ike_crypto_random((uint8_t *)&rk->my_spi, 4) != IKE_CRYPTO_OK)
        tr_die("random");
    rk->my_spi |= 0x1000;
    tr_nonce_and_dh(rk, rk->ke_group ? rk->ke_group : rk->esp.dh);
    struct tr_child_req a = {rk, rekey_spi};
    return ti_request(t, IKE_EXCH_CREATE_CHILD_SA, tr_fill_child, &a, len);
}

/* The notify, SA, Nonce and KE of a CREATE_CHILD_SA message. */
static int tr_read(struct ti_rekey *rk, const struct ike_msg *m, struct ike_sa_pl *sapl,
                   struct ike_ke *ke, uint32_t *rekey_spi)
{
    bool has_sa = false, has_nr = false;
    rk->notify = 0;
    rk->got_ke = rk->got_ts = false;
    for (unsigned i = 0; i < m->inner.n; i++) {
        const struct ike_payload *pl = &m->inner.pl[i];
        struct ike_error e;
        struct ike_notify n;
        struct ike_span sp;
        switch (pl->type) {
        case IKE_PL_NOTIFY:
            if (ike_pl_notify(pl, &n, &e) != IKE_OK)
                return -1;
            if (n.type < 16384) {
                rk->notify = n.type;
                if (n.data.len == 2)
                    rk->notify_group = (uint16_t)(n.data.ptr[0] << 8 | n.data.ptr[1]);
                if (n.spi.len == 4)
                    rk->notify_spi = tr_be32(n.spi.ptr);
            } else if (n.type == IKE_N_REKEY_SA && rekey_spi && n.spi.len == 4) {
                *rekey_spi = tr_be32(n.spi.ptr);
            }
            break;
        case IKE_PL_SA:
            if (ike_pl_sa(pl, sapl, &e) != IKE_OK)
                return -1;
            has_sa = true;
            break;
        case IKE_PL_NONCE:
            if (ike_pl_nonce(pl, &sp, &e) != IKE_OK || sp.len > sizeof(rk->nr))
                return -1;
            memcpy(rk->nr, sp.ptr, sp.len);
            rk->nr_len = sp.len;
            has_nr = true;
            break;
        case IKE_PL_KE:
            if (ike_pl_ke(pl, ke, &e) != IKE_OK)
                return -1;
            rk->got_ke = true;
            break;
        case IKE_PL_TSI:
        case IKE_PL_TSR:
            rk->got_ts = true;
            break;
        default:
            break;
        }
    }
    if (rk->notify)
        return 0;
    return has_sa && has_nr ? 0 : -1;
}

/* g^ir with the peer's KE (our key pair in rk->dh); 0 octets without. */
static size_t tr_gir(struct ti_rekey *rk, const struct ike_ke *ke, uint8_t *gir, size_t cap)
{
    size_t n = 0;
    if (!rk->dh)
        return 0;
    if (!rk->got_ke || ike_dh_derive(rk->dh, ke->data.ptr, ke->data.len, gir, cap, &n))
        tr_die("the peer's KE");
    return n;
}

int ti_rekey_child_response(struct ti *t, struct ti_rekey *rk, const uint8_t *buf, size_t len)
{
    struct ike_msg m;
    struct ike_sa_pl sapl;
    struct ike_ke ke;
    uint8_t *plain = malloc(len);
    int rc = -1;
    if (ti_open(t, buf, len, true, &m, plain) < 0 || tr_read(rk, &m, &sapl, &ke, NULL) < 0)
        goto out;
    rc = 0;
    if (rk->notify)
        goto out;
    if (sapl.n_prop != 1 || sapl.prop[0].spi_len != 4)
        tr_die("the answer's SA payload");
    rk->peer_spi = tr_be32(sapl.prop[0].spi);
    uint8_t gir[512];
    size_t gl = tr_gir(rk, &ke, gir, sizeof(gir));
    ike_span g = {gir, gl}, ni = {rk->ni, sizeof(rk->ni)}, nr = {rk->nr, rk->nr_len};
    if (ike_keys_child(&t->keys, rk->esp.encr, rk->esp.encr_keybits, rk->esp.integ, gl ? &g : NULL,
                       &ni, &nr, &rk->keys) != IKE_CRYPTO_OK)
        tr_die("ike_keys_child");
out:
    free(plain);
    return rc;
}

/* The SA payload of an IKE SA rekey: one proposal of rk->ike with our new
 * SPI, and a second DH group (dh2, 0 for none) in the request only. */
static void tr_wr_ike_sa(struct ike_wr *w, const struct ti_rekey *rk, uint16_t dh2)
{
    const ike_suite *s = &rk->ike;
    ike_wr_sa_begin(w);
    ike_wr_proposal_begin(w, 1, IKE_PROTO_IKE, rk->my_ike_spi, 8);
    ike_wr_transform(w, IKE_XF_ENCR, s->encr, s->encr_keybits);
    ike_wr_transform(w, IKE_XF_PRF, s->prf, 0);
    if (s->integ)
        ike_wr_transform(w, IKE_XF_INTEG, s->integ, 0);
    ike_wr_transform(w, IKE_XF_DH, s->dh, 0);
    if (dh2)
        ike_wr_transform(w, IKE_XF_DH, dh2, 0);
    ike_wr_proposal_end(w);
    ike_wr_sa_end(w);
}

static void tr_fill_ike(struct ike_wr *w, void *arg)
{
    struct ti_rekey *rk = arg;
    tr_wr_ike_sa(w, rk, rk->offer_dh2);
    ike_wr_nonce(w, rk->ni, sizeof(rk->ni));
    tr_write_ke(w, rk);
}

uint8_t *ti_rekey_ike(struct ti *t, struct ti_rekey *rk, size_t *len)
{
    if (ike_crypto_random(rk->my_ike_spi, 8) != IKE_CRYPTO_OK)
        tr_die("random");
    tr_nonce_and_dh(rk, rk->ke_group ? rk->ke_group : rk->ike.dh);
    return ti_request(t, IKE_EXCH_CREATE_CHILD_SA, tr_fill_ike, rk, len);
}

int ti_rekey_ike_response(struct ti *t, struct ti_rekey *rk, const uint8_t *buf, size_t len)
{
    struct ike_msg m;
    struct ike_sa_pl sapl;
    struct ike_ke ke;
    uint8_t *plain = malloc(len);
    int rc = -1;
    if (ti_open(t, buf, len, true, &m, plain) < 0 || tr_read(rk, &m, &sapl, &ke, NULL) < 0)
        goto out;
    rc = 0;
    if (rk->notify)
        goto out;
    if (sapl.n_prop != 1 || sapl.prop[0].spi_len != 8 || sapl.prop[0].proto != IKE_PROTO_IKE)
        tr_die("the answer's SA payload");
    uint8_t gir[512];
    size_t gl = tr_gir(rk, &ke, gir, sizeof(gir));
    ike_span g = {gir, gl}, ni = {rk->ni, sizeof(rk->ni)}, nr = {rk->nr, rk->nr_len};
    ike_sa_keys nk;
    if (ike_keys_ike_rekey(&t->keys, &rk->ike, &g, &ni, &nr, rk->my_ike_spi, sapl.prop[0].spi,
                           &nk) != IKE_CRYPTO_OK)
        tr_die("ike_keys_ike_rekey");
    /* From now on, the new IKE SA. */
    memcpy(t->spi_i, rk->my_ike_spi, 8);
    memcpy(t->spi_r, sapl.prop[0].spi, 8);
    ike_keys_wipe(&t->keys);
    t->keys = nk;
    t->suite = rk->ike;
    t->msgid = 0;
out:
    free(plain);
    return rc;
}

struct tr_answer {
    struct ti_rekey *rk;
    uint16_t dh;
    const struct ike_ts *tsi, *tsr;
};

static void tr_fill_answer(struct ike_wr *w, void *arg)
{
    struct tr_answer *a = arg;
    tr_write_esp(w, a->rk, a->dh, true);
    ike_wr_nonce(w, a->rk->ni, sizeof(a->rk->ni));
    tr_write_ke(w, a->rk);
}

uint8_t *ti_answer_child_rekey(struct ti *t, struct ti_rekey *rk, const uint8_t *req,
                               size_t req_len, uint32_t *rekeyed_spi, size_t *len)
{
    struct ike_msg m;
    struct ike_sa_pl sapl;
    struct ike_ke ke;
    uint8_t *plain = malloc(req_len);
    uint8_t *out = NULL;
    *rekeyed_spi = 0;
    if (ti_open(t, req, req_len, false, &m, plain) < 0 ||
        m.hdr.exchange != IKE_EXCH_CREATE_CHILD_SA ||
        tr_read(rk, &m, &sapl, &ke, rekeyed_spi) < 0 || !rk->got_ts || sapl.n_prop != 1)
        goto out;
    /* Their nonce (Ni of this exchange) was read into rk->nr; ours is Nr. */
    uint8_t their_ni[256];
    size_t their_len = rk->nr_len;
    memcpy(their_ni, rk->nr, their_len);
    const struct ike_proposal *p = &sapl.prop[0];
    uint32_t gw_spi = tr_be32(p->spi);
    uint16_t dh = 0;
    memset(&rk->esp, 0, sizeof(rk->esp));
    for (unsigned i = 0; i < p->n_xf; i++) {
        const struct ike_transform *x = &sapl.xf[p->first_xf + i];
        if (x->type == IKE_XF_ENCR) {
            rk->esp.encr = x->id;
            rk->esp.encr_keybits = x->key_len;
        } else if (x->type == IKE_XF_INTEG) {
            rk->esp.integ = x->id;
        } else if (x->type == IKE_XF_DH) {
            dh = x->id;
        } else if (x->type == IKE_XF_ESN) {
            rk->esp.esn = x->id == IKE_ESN_YES;
        }
    }
    if (ike_crypto_random((uint8_t *)&rk->my_spi, 4) != IKE_CRYPTO_OK)
        tr_die("random");
    rk->my_spi |= 0x1000;
    rk->peer_spi = gw_spi;
    bool had_ke = rk->got_ke;
    tr_nonce_and_dh(rk, dh);
    rk->got_ke = had_ke;
    uint8_t gir[512];
    size_t gl = tr_gir(rk, &ke, gir, sizeof(gir));
    ike_span g = {gir, gl}, ni = {their_ni, their_len}, nr = {rk->ni, sizeof(rk->ni)};
    if (ike_keys_child(&t->keys, rk->esp.encr, rk->esp.encr_keybits, rk->esp.integ, gl ? &g : NULL,
                       &ni, &nr, &rk->keys) != IKE_CRYPTO_OK)
        tr_die("ike_keys_child");
    struct tr_answer a = {rk, dh, NULL, NULL};
    out = ti_response_with(t, IKE_EXCH_CREATE_CHILD_SA, m.hdr.msgid, tr_fill_answer, &a, len);
out:
    free(plain);
    return out;
}

static void tr_fill_ike_answer(struct ike_wr *w, void *arg)
{
    struct ti_rekey *rk = arg;
    tr_wr_ike_sa(w, rk, 0);
    ike_wr_nonce(w, rk->ni, sizeof(rk->ni));
    tr_write_ke(w, rk);
}

uint8_t *ti_answer_ike_rekey(struct ti *t, struct ti_rekey *rk, const uint8_t *req, size_t req_len,
                             size_t *len)
{
    struct ike_msg m;
    struct ike_sa_pl sapl;
    struct ike_ke ke;
    uint8_t *plain = malloc(req_len);
    uint8_t *out = NULL;
    if (ti_open(t, req, req_len, false, &m, plain) < 0 ||
        m.hdr.exchange != IKE_EXCH_CREATE_CHILD_SA || tr_read(rk, &m, &sapl, &ke, NULL) < 0 ||
        sapl.n_prop != 1 || sapl.prop[0].spi_len != 8 || !rk->got_ke)
        goto out;
    uint8_t gw_spi[8], their_ni[256];
    size_t their_len = rk->nr_len;
    memcpy(gw_spi, sapl.prop[0].spi, 8);
    memcpy(their_ni, rk->nr, their_len);
    rk->ike = t->suite;
    if (ike_crypto_random(rk->my_ike_spi, 8) != IKE_CRYPTO_OK)
        tr_die("random");
    tr_nonce_and_dh(rk, t->suite.dh);
    rk->got_ke = true;
    uint8_t gir[512];
    size_t gl = tr_gir(rk, &ke, gir, sizeof(gir));
    ike_span g = {gir, gl}, ni = {their_ni, their_len}, nr = {rk->ni, sizeof(rk->ni)};
    ike_sa_keys nk;
    if (ike_keys_ike_rekey(&t->keys, &t->suite, &g, &ni, &nr, gw_spi, rk->my_ike_spi, &nk) !=
        IKE_CRYPTO_OK)
        tr_die("ike_keys_ike_rekey");
    out = ti_response_with(t, IKE_EXCH_CREATE_CHILD_SA, m.hdr.msgid, tr_fill_ike_answer, rk, len);
    /* From now on the new IKE SA, where the gateway is the initiator. */
    memcpy(t->spi_i, gw_spi, 8);
    memcpy(t->spi_r, rk->my_ike_spi, 8);
    ike_keys_wipe(&t->keys);
    t->keys = nk;
    ike_sk_dir tmp = t->keys.sk_i;
    t->keys.sk_i = t->keys.sk_r;
    t->keys.sk_r = tmp;
    t->orig_responder = true;
    t->msgid = 0;
out:
    free(plain);
    return out;
}

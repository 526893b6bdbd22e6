/* Requests on an existing IKE SA (RFC 7296 §1.4, §2.21, §1.3): the
 * dispatcher, INFORMATIONAL (liveness, DELETE of the IKE SA or the CHILD
 * SA), CREATE_CHILD_SA (rekeys: ike_exch_rekey_*.c; an additional CHILD
 * SA is refused with NO_ADDITIONAL_SAS), and the INFORMATIONAL requests
 * we start ourselves. */
#include <stdio.h>
#include <string.h>

#include "ike_exch_int.h"
#include "log.h"

/* Answers a request that opened as authentic but malformed. */
static enum ike_exch_result reply_notify(struct ike_sa *sa, const struct ike_msg *m, uint16_t type,
                                         uint8_t data, struct ike_tx *tx)
{
    if (exch_sk_notify(sa, m->hdr.exchange, m->hdr.msgid, type, &data,
                       type == IKE_N_UNSUPPORTED_CRITICAL_PAYLOAD ? 1 : 0, tx) < 0)
        return IKE_EXCH_DROP;
    exch_cache_response(sa, m->hdr.msgid, tx);
    return IKE_EXCH_REPLY;
}

enum ike_exch_result exch_informational(const struct ike_env *env, struct ike_sa *sa,
                                        const struct ike_rx *rx, const struct ike_msg *m,
                                        struct ike_tx *tx)
{
    (void)env;
    struct ike_chain in;
    uint16_t notify = 0;
    uint8_t nd = 0;
    switch (exch_open_request(sa, rx, m, &in, &notify, &nd)) {
    case EXCH_OPEN_DROP:
        return IKE_EXCH_DROP;
    case EXCH_OPEN_NOTIFY:
        return reply_notify(sa, m, notify, nd, tx);
    case EXCH_OPEN_OK:
        break;
    }
    sa->last_rx_ms = rx->now_ms;

    bool del_ike = false, del_cur = false, del_old = false, del_red = false;
    uint32_t our_spis[3];
    uint16_t n_our = 0;
    unsigned n_unknown = 0;
    for (const struct ike_payload *pl = NULL; (pl = ike_chain_find(&in, IKE_PL_DELETE, pl));) {
        struct ike_delete d;
        struct ike_error e;
        if (ike_pl_delete(pl, &d, &e) != IKE_OK)
            continue; /* validated already */
        if (d.proto == IKE_PROTO_IKE) {
            del_ike = true;
            continue;
        }
        for (unsigned i = 0; i < d.n_spi; i++) {
            uint32_t spi = ike_delete_spi(&d, i);
            /* The peer names its inbound SA: our outbound SPI (§3.11). */
            if (d.proto == IKE_PROTO_ESP && sa->child && spi == sa->child->spi_out && !del_cur) {
                our_spis[n_our++] = sa->child->spi_in;
                del_cur = true;
            } else if (d.proto == IKE_PROTO_ESP && sa->child_old && spi == sa->child_old->spi_out &&
                       !del_old) {
                /* The SA a rekey replaced (§2.8): its end. */
                our_spis[n_our++] = sa->child_old->spi_in;
                del_old = true;
            } else if (d.proto == IKE_PROTO_ESP && sa->child_redundant &&
                       spi == sa->child_redundant->spi_out && !del_red) {
                /* The peer's SA of a rekey collision that lost (§2.8.1). */
                our_spis[n_our++] = sa->child_redundant->spi_in;
                del_red = true;
            } else {
                n_unknown++;
            }
        }
    }
    char desc[320];
    struct ike_wr w;
    exch_sk_open(&w, sa, IKE_EXCH_INFORMATIONAL, m->hdr.msgid, true);
    enum ike_exch_result res = IKE_EXCH_REPLY;
    if (del_ike) {
        /* §1.4.1: the answer to deleting the IKE SA is empty; its CHILD
         * SAs go with it. */
        sa->state = IKE_SA_DELETING;
        res = IKE_EXCH_DELETE_IKE;
        log_info("%s: the peer deleted the IKE SA", ike_sa_describe(sa, desc, sizeof(desc)));
    } else {
        exch_mobike_informational(sa, rx, &in, &w);
    }
    if (del_ike) {
        /* Nothing more: CHILD SAs end with their IKE SA. */
    } else if (del_cur) {
        ike_wr_delete(&w, IKE_PROTO_ESP, our_spis, n_our);
        res = IKE_EXCH_DELETE_CHILD;
        log_info("%s: the peer deleted the CHILD SA (in %08x, out %08x)",
                 ike_sa_describe(sa, desc, sizeof(desc)), sa->child->spi_in, sa->child->spi_out);
    } else if (del_red && !del_old) {
        ike_wr_delete(&w, IKE_PROTO_ESP, our_spis, n_our);
        res = IKE_EXCH_DELETE_REDUNDANT_CHILD;
        log_info("%s: the peer deleted the redundant CHILD SA of a rekey collision (in %08x, "
                 "out %08x)",
                 ike_sa_describe(sa, desc, sizeof(desc)), sa->child_redundant->spi_in,
                 sa->child_redundant->spi_out);
    } else if (del_old) {
        ike_wr_delete(&w, IKE_PROTO_ESP, our_spis, n_our);
        res = IKE_EXCH_DELETE_OLD_CHILD;
        log_info("%s: the peer deleted the rekeyed CHILD SA (in %08x, out %08x)",
                 ike_sa_describe(sa, desc, sizeof(desc)), sa->child_old->spi_in,
                 sa->child_old->spi_out);
    }
    if (n_unknown)
        log_debug("%s: DELETE of %u unknown SPI(s) ignored",
                  ike_sa_describe(sa, desc, sizeof(desc)), n_unknown);
    if (exch_sk_close(&w, sa, tx) < 0)
        return IKE_EXCH_DROP;
    exch_cache_response(sa, m->hdr.msgid, tx);
    return res;
}

enum ike_exch_result exch_create_child(const struct ike_env *env, struct ike_sa *sa,
                                       const struct ike_rx *rx, const struct ike_msg *m,
                                       struct ike_tx *tx, struct ike_sa **rekeyed)
{
    struct ike_chain in;
    uint16_t notify = 0;
    uint8_t nd = 0;
    switch (exch_open_request(sa, rx, m, &in, &notify, &nd)) {
    case EXCH_OPEN_DROP:
        return IKE_EXCH_DROP;
    case EXCH_OPEN_NOTIFY:
        return reply_notify(sa, m, notify, nd, tx);
    case EXCH_OPEN_OK:
        break;
    }
    sa->last_rx_ms = rx->now_ms;
    char desc[320];
    /* ~5 KiB: on the worker's stack. */
    struct exch_ccs_req req;
    const char *why = NULL;
    uint16_t perr = exch_ccs_parse(&in, &req, &why);
    if (perr) {
        log_info("%s: CREATE_CHILD_SA refused: %s", ike_sa_describe(sa, desc, sizeof(desc)), why);
        return reply_notify(sa, m, perr, 0, tx);
    }
    if (req.has_rekey)
        return exch_rekey_child(env, sa, rx, m, &req, tx);
    if (req.sapl.n_prop && req.sapl.prop[0].proto == IKE_PROTO_IKE)
        return exch_rekey_ike(env, sa, rx, m, &req, tx, rekeyed);
    /* One CHILD SA per device: its policy is the one set of selectors. */
    log_info("%s: CREATE_CHILD_SA for an additional CHILD SA refused with NO_ADDITIONAL_SAS",
             ike_sa_describe(sa, desc, sizeof(desc)));
    return reply_notify(sa, m, IKE_N_NO_ADDITIONAL_SAS, 0, tx);
}

enum ike_exch_result ike_exch_request(const struct ike_env *env, struct ike_sa *sa,
                                      const struct ike_rx *rx, const struct ike_msg *m,
                                      struct ike_tx *tx)
{
    return ike_exch_request_ex(env, sa, rx, m, tx, NULL);
}

enum ike_exch_result ike_exch_request_ex(const struct ike_env *env, struct ike_sa *sa,
                                         const struct ike_rx *rx, const struct ike_msg *m,
                                         struct ike_tx *tx, struct ike_sa **rekeyed)
{
    if (rekeyed)
        *rekeyed = NULL;
    const struct ike_hdr *h = &m->hdr;
    char from[64];
    tx->buf = NULL;
    tx->len = 0;
    /* Requests come from the original initiator (§3.1 flags); anything
     * else, or a message ID the daemon should not have let through, or
     * SPIs of another SA, is dropped. */
    if ((h->flags & IKE_FLAG_RESPONSE) || !(h->flags & IKE_FLAG_INITIATOR) != sa->we_initiator ||
        h->msgid != sa->next_msgid || memcmp(h->ispi, &sa->spi_i, IKE_SPI_LEN) != 0 ||
        memcmp(h->rspi, &sa->spi_r, IKE_SPI_LEN) != 0) {
        log_debug("%s message %u from %s is not the request expected: dropped",
                  ike_exchange_name(h->exchange), h->msgid,
                  exch_addr_str(&rx->remote, from, sizeof(from)));
        return IKE_EXCH_DROP;
    }
    if (m->sk && m->sk->type == IKE_PL_SKF) {
        /* RFC 7383: once the last fragment is in, exch_open_request takes
         * the whole message instead of decrypting m. */
        const char *why = NULL;
        switch (ike_frag_receive(env->frag, sa, m, rx->now_ms, &why)) {
        case IKE_FRAG_KEPT:
            return IKE_EXCH_FRAGMENT;
        case IKE_FRAG_DROP:
            log_info("%s message %u from %s: fragment dropped: %s", ike_exchange_name(h->exchange),
                     h->msgid, exch_addr_str(&rx->remote, from, sizeof(from)), why);
            return IKE_EXCH_DROP;
        case IKE_FRAG_COMPLETE:
            break;
        }
    }
    bool half_open = sa->state == IKE_SA_HALF_OPEN;
    switch (h->exchange) {
    case IKE_EXCH_IKE_AUTH:
        if (half_open)
            return exch_ike_auth(env, sa, rx, m, tx);
        break;
    case IKE_EXCH_INFORMATIONAL:
        if (!half_open)
            return exch_informational(env, sa, rx, m, tx);
        break;
    case IKE_EXCH_CREATE_CHILD_SA:
        if (!half_open)
            return exch_create_child(env, sa, rx, m, tx, rekeyed);
        break;
    default:
        break;
    }
    log_info("%s request (message %u) from %s in state %s: dropped", ike_exchange_name(h->exchange),
             h->msgid, exch_addr_str(&rx->remote, from, sizeof(from)),
             half_open ? "half-open" : "established");
    return IKE_EXCH_DROP;
}

/* An INFORMATIONAL request of ours: the next message ID of our own
 * sequence (§2.2), neither the Initiator nor the Response flag. */
static int our_request(struct ike_sa *sa, bool del, struct ike_tx *tx)
{
    struct ike_wr w;
    tx->buf = NULL;
    tx->len = 0;
    exch_sk_open(&w, sa, IKE_EXCH_INFORMATIONAL, sa->our_next_msgid, false);
    if (del)
        ike_wr_delete(&w, IKE_PROTO_IKE, NULL, 0);
    if (exch_sk_close(&w, sa, tx) < 0)
        return -1;
    sa->our_next_msgid++;
    return 0;
}

int ike_exch_error_response(struct ike_sa *sa, uint8_t exchange, uint32_t msgid, uint16_t type,
                            struct ike_tx *tx)
{
    tx->buf = NULL;
    tx->len = 0;
    if (exch_sk_notify(sa, exchange, msgid, type, NULL, 0, tx) < 0)
        return -1;
    exch_cache_response(sa, msgid, tx);
    return 0;
}

int ike_exch_delete_request(const struct ike_env *env, struct ike_sa *sa, struct ike_tx *tx)
{
    (void)env;
    return our_request(sa, true, tx);
}

int ike_exch_liveness_request(const struct ike_env *env, struct ike_sa *sa, struct ike_tx *tx)
{
    (void)env;
    return our_request(sa, false, tx);
}

int ike_exch_response(const struct ike_env *env, struct ike_sa *sa, const struct ike_rx *rx,
                      const struct ike_msg *m)
{
    (void)env;
    const struct ike_hdr *h = &m->hdr;
    if (!(h->flags & IKE_FLAG_RESPONSE) || !(h->flags & IKE_FLAG_INITIATOR) != sa->we_initiator ||
        sa->our_next_msgid == 0 || h->msgid != sa->our_next_msgid - 1 ||
        h->exchange != IKE_EXCH_INFORMATIONAL || memcmp(h->ispi, &sa->spi_i, IKE_SPI_LEN) != 0 ||
        memcmp(h->rspi, &sa->spi_r, IKE_SPI_LEN) != 0)
        return -1;
    struct ike_chain in;
    uint16_t notify = 0;
    uint8_t nd = 0;
    if (exch_open_request(sa, rx, m, &in, &notify, &nd) != EXCH_OPEN_OK)
        return -1;
    sa->last_rx_ms = rx->now_ms;
    exch_mobike_response(sa, h->msgid, &in);
    return 0;
}

/* IKE_SA_INIT, responder side (RFC 7296 §1.2, §2.6-§2.10, §2.23;
 * RFC 7427 §4): the request is checked, a proposal chosen, the key
 * exchange done and the IKE SA keys derived; the half-open SA keeps what
 * IKE_AUTH needs (both messages and the nonces). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ike_auth.h"
#include "ike_dh.h"
#include "ike_exch_int.h"
#include "ike_keys.h"
#include "log.h"

#define EXCH_NR_LEN 32 /* our nonce: 256 bits, at least half of any PRF key (§2.10) */

static const uint8_t zero_spi[IKE_SPI_LEN];

/* Why a header cannot be an IKE_SA_INIT request, or NULL. */
static const char *init_header_fault(const struct ike_hdr *h)
{
    if (h->exchange != IKE_EXCH_IKE_SA_INIT)
        return "not an IKE_SA_INIT";
    if (h->flags & IKE_FLAG_RESPONSE)
        return "a response";
    if (!(h->flags & IKE_FLAG_INITIATOR))
        return "no Initiator flag";
    if (h->msgid != 0)
        return "message ID not 0";
    if (memcmp(h->rspi, zero_spi, IKE_SPI_LEN) != 0)
        return "responder SPI not 0";
    if (memcmp(h->ispi, zero_spi, IKE_SPI_LEN) == 0)
        return "initiator SPI 0";
    return NULL;
}

/* An unprotected error answer; no state is kept (§2.6: the responder
 * keeps none until the initiator shows it can receive at its address). */
static enum ike_exch_result init_refuse(const struct ike_msg *m, uint16_t type, const void *data,
                                        size_t len, struct ike_tx *tx)
{
    if (exch_plain_notify(&m->hdr, type, data, len, tx) < 0)
        return IKE_EXCH_DROP;
    return IKE_EXCH_REPLY;
}

/* What the request's notifies tell us. */
struct init_notes {
    bool natd_src, natd_dst;       /* the peer sent them */
    bool natd_src_ok, natd_dst_ok; /* one of them matched what we see */
    bool fragmentation;
    bool hash_algs;
    uint32_t hash_mask;
};

static void init_read_notifies(const struct ike_rx *rx, const struct ike_msg *m,
                               struct init_notes *n)
{
    uint8_t src[EXCH_NATD_LEN], dst[EXCH_NATD_LEN];
    /* The request's hashes cover its own SPIs: ours is still zero. */
    bool have_src = exch_natd_hash(m->hdr.ispi, zero_spi, &rx->remote, src) == 0;
    bool have_dst = exch_natd_hash(m->hdr.ispi, zero_spi, &rx->local, dst) == 0;
    memset(n, 0, sizeof(*n));
    for (const struct ike_payload *pl = NULL;
         (pl = ike_chain_find(&m->outer, IKE_PL_NOTIFY, pl)) != NULL;) {
        struct ike_notify no;
        struct ike_error e;
        if (ike_pl_notify(pl, &no, &e) != IKE_OK)
            continue;
        switch (no.type) {
        case IKE_N_NAT_DETECTION_SOURCE_IP:
            n->natd_src = true;
            if (have_src && no.data.len == EXCH_NATD_LEN &&
                memcmp(no.data.ptr, src, EXCH_NATD_LEN) == 0)
                n->natd_src_ok = true;
            break;
        case IKE_N_NAT_DETECTION_DESTINATION_IP:
            n->natd_dst = true;
            if (have_dst && no.data.len == EXCH_NATD_LEN &&
                memcmp(no.data.ptr, dst, EXCH_NATD_LEN) == 0)
                n->natd_dst_ok = true;
            break;
        case IKE_N_IKEV2_FRAGMENTATION_SUPPORTED:
            n->fragmentation = true;
            break;
        case IKE_N_SIGNATURE_HASH_ALGORITHMS: {
            uint32_t mask = 0;
            if (ike_auth_hash_notify_parse(no.data.ptr, no.data.len, &mask) == IKE_CRYPTO_OK) {
                n->hash_algs = true;
                n->hash_mask |= mask;
            }
            break;
        }
        default:
            /* COOKIE (checked by the daemon before, when asked for),
             * REDIRECT_SUPPORTED, vendor
             * status types: nothing we act on. Error types in a request
             * mean nothing (§3.10.1). */
            break;
        }
    }
}

/* Copies both IKE_SA_INIT messages and the nonces into one block. */
static int init_keep(struct ike_sa *sa, const struct ike_msg *m, struct ike_span resp,
                     struct ike_span ni, const uint8_t *nr, size_t nr_len)
{
    size_t total = m->len + resp.len + ni.len + nr_len;
    uint8_t *b = malloc(total);
    if (!b)
        return -1;
    sa->auth_block = b;
    sa->init_req = b;
    sa->init_req_len = m->len;
    memcpy(b, m->raw, m->len);
    b += m->len;
    sa->init_resp = b;
    sa->init_resp_len = resp.len;
    memcpy(b, resp.ptr, resp.len);
    b += resp.len;
    sa->ni = b;
    sa->ni_len = ni.len;
    memcpy(b, ni.ptr, ni.len);
    b += ni.len;
    sa->nr = b;
    sa->nr_len = nr_len;
    memcpy(b, nr, nr_len);
    return 0;
}

/* DH and the IKE SA keys. On failure returns the notify to answer (0 for
 * an internal error: drop). */
static uint16_t init_keys(struct ike_sa *sa, const struct ike_ke *ke, struct ike_span ni,
                          const uint8_t *nr, size_t nr_len, uint8_t *pub, size_t pub_cap,
                          size_t *pub_len, const char *from)
{
    ike_dh *dh = NULL;
    ike_crypto_err ce = ike_dh_new(sa->suite.dh, &dh);
    if (ce != IKE_CRYPTO_OK) {
        log_err("IKE_SA_INIT from %s: key pair for %s: %s", from,
                ike_transform_id_name(IKE_XF_DH, sa->suite.dh), ike_crypto_strerror(ce));
        return 0;
    }
    size_t plen = 0;
    const uint8_t *p = ike_dh_public(dh, &plen);
    if (!p || plen > pub_cap) {
        ike_dh_free(dh);
        return 0;
    }
    memcpy(pub, p, plen);
    *pub_len = plen;
    uint8_t gir[IKE_DH_MAX_SECRET];
    size_t gir_len = 0;
    ce = ike_dh_derive(dh, ke->data.ptr, ke->data.len, gir, sizeof(gir), &gir_len);
    ike_dh_free(dh);
    if (ce != IKE_CRYPTO_OK) {
        ike_crypto_wipe(gir, sizeof(gir));
        log_info("IKE_SA_INIT from %s: the peer's %s public value is invalid (%s): INVALID_SYNTAX",
                 from, ike_transform_id_name(IKE_XF_DH, sa->suite.dh), ike_crypto_strerror(ce));
        return ce == IKE_CRYPTO_ERR_BAD_PEER_KE ? IKE_N_INVALID_SYNTAX : 0;
    }
    ike_span g = {gir, gir_len}, n_r = {nr, nr_len};
    ce = ike_keys_ike_sa_init(&sa->suite, &g, &ni, &n_r, (const uint8_t *)&sa->spi_i,
                              (const uint8_t *)&sa->spi_r, &sa->keys);
    ike_crypto_wipe(gir, sizeof(gir));
    if (ce != IKE_CRYPTO_OK) {
        log_err("IKE_SA_INIT from %s: key derivation: %s", from, ike_crypto_strerror(ce));
        return 0;
    }
    return IKE_N_STATUS_MIN; /* success marker, never sent */
}

static enum ike_err init_write_response(const struct ike_env *env, const struct ike_rx *rx,
                                        struct ike_sa *sa, const struct ike_proposal_choice *c,
                                        const struct init_notes *notes, const uint8_t *pub,
                                        size_t pub_len, const uint8_t *nr, size_t nr_len,
                                        struct ike_wr *w, struct ike_span *out)
{
    struct ike_hdr h = {0};
    memcpy(h.ispi, &sa->spi_i, IKE_SPI_LEN);
    memcpy(h.rspi, &sa->spi_r, IKE_SPI_LEN);
    h.exchange = IKE_EXCH_IKE_SA_INIT;
    h.flags = IKE_FLAG_RESPONSE;
    h.msgid = 0;
    exch_wr_init(w);
    ike_wr_header(w, &h);
    ike_proposal_write_ike(w, c);
    ike_wr_ke(w, sa->suite.dh, pub, pub_len);
    ike_wr_nonce(w, nr, nr_len);
    if (notes->natd_src || notes->natd_dst) {
        /* Answered only to a peer that does NAT detection itself. */
        uint8_t hs[EXCH_NATD_LEN], hd[EXCH_NATD_LEN];
        if (exch_natd_hash(h.ispi, h.rspi, &rx->local, hs) == 0 &&
            exch_natd_hash(h.ispi, h.rspi, &rx->remote, hd) == 0) {
            ike_wr_notify(w, IKE_PROTO_NONE, IKE_N_NAT_DETECTION_SOURCE_IP, NULL, 0, hs,
                          sizeof(hs));
            ike_wr_notify(w, IKE_PROTO_NONE, IKE_N_NAT_DETECTION_DESTINATION_IP, NULL, 0, hd,
                          sizeof(hd));
        }
    }
    size_t creq_len = 0;
    const uint8_t *creq = env->cas ? ike_cert_store_certreq(env->cas, &creq_len) : NULL;
    if (creq && creq_len)
        ike_wr_certreq(w, IKE_CERT_X509_SIG, creq, creq_len);
    /* RFC 7427: announced to a peer that announced its own (one that did
     * not will not use method 14 anyway). */
    uint8_t hashes[16];
    size_t hl = notes->hash_algs ? ike_auth_hash_notify(hashes, sizeof(hashes)) : 0;
    if (hl)
        ike_wr_notify(w, IKE_PROTO_NONE, IKE_N_SIGNATURE_HASH_ALGORITHMS, NULL, 0, hashes, hl);
    /* RFC 7383 §2.3: answered to a peer that announced it, when the daemon
     * reassembles (env->frag). MOBIKE: not announced. */
    if (notes->fragmentation && env->frag)
        ike_wr_notify(w, IKE_PROTO_NONE, IKE_N_IKEV2_FRAGMENTATION_SUPPORTED, NULL, 0, NULL, 0);
    return ike_wr_finish(w, out);
}

enum ike_exch_result ike_exch_sa_init(const struct ike_env *env, const struct ike_rx *rx,
                                      const struct ike_msg *m, struct ike_sa **sa_out,
                                      struct ike_tx *tx)
{
    const struct ike_hdr *h = &m->hdr;
    char from[64];
    struct ike_error e;
    *sa_out = NULL;
    tx->buf = NULL;
    tx->len = 0;
    exch_addr_str(&rx->remote, from, sizeof(from));

    const char *bad = init_header_fault(h);
    if (bad) {
        log_info("IKE_SA_INIT from %s dropped: %s", from, bad);
        return IKE_EXCH_DROP;
    }
    if (ike_chain_validate(m, &m->outer, &e) != IKE_OK) {
        char why[160];
        ike_error_format(&e, why, sizeof(why));
        uint16_t n = ike_error_notify(&e);
        log_info("IKE_SA_INIT from %s refused: %s", from, why);
        if (!n)
            return IKE_EXCH_DROP;
        return init_refuse(m, n, &e.payload, n == IKE_N_UNSUPPORTED_CRITICAL_PAYLOAD ? 1 : 0, tx);
    }
    if (m->sk || ike_chain_count(&m->outer, IKE_PL_SA) != 1 ||
        ike_chain_count(&m->outer, IKE_PL_KE) != 1 ||
        ike_chain_count(&m->outer, IKE_PL_NONCE) != 1) {
        log_info("IKE_SA_INIT from %s refused: INVALID_SYNTAX: it needs exactly one SA, KE and "
                 "Nonce payload and no SK",
                 from);
        return init_refuse(m, IKE_N_INVALID_SYNTAX, NULL, 0, tx);
    }
    struct ike_sa_pl sapl;
    struct ike_ke ke;
    struct ike_span ni;
    if (ike_pl_sa(ike_chain_find(&m->outer, IKE_PL_SA, NULL), &sapl, &e) != IKE_OK ||
        ike_pl_ke(ike_chain_find(&m->outer, IKE_PL_KE, NULL), &ke, &e) != IKE_OK ||
        ike_pl_nonce(ike_chain_find(&m->outer, IKE_PL_NONCE, NULL), &ni, &e) != IKE_OK)
        return init_refuse(m, IKE_N_INVALID_SYNTAX, NULL, 0, tx);

    struct ike_proposal_choice choice;
    uint16_t want = 0;
    memset(&choice, 0, sizeof(choice));
    int rc = ike_proposal_select_ike(env->set, &sapl, ke.group, &choice, &want);
    if (want) {
        log_info("IKE_SA_INIT from %s: KE for %s but the chosen proposal has %s: "
                 "INVALID_KE_PAYLOAD",
                 from, ike_transform_id_name(IKE_XF_DH, ke.group),
                 ike_transform_id_name(IKE_XF_DH, want));
        uint8_t g[2] = {(uint8_t)(want >> 8), (uint8_t)want};
        return init_refuse(m, IKE_N_INVALID_KE_PAYLOAD, g, sizeof(g), tx);
    }
    if (rc != 0) {
        char offered[320];
        exch_describe_proposals(&sapl, offered, sizeof(offered));
        log_notice("IKE_SA_INIT from %s: NO_PROPOSAL_CHOSEN: none of ours among %s", from, offered);
        return init_refuse(m, IKE_N_NO_PROPOSAL_CHOSEN, NULL, 0, tx);
    }
    if (ke.group != choice.suite.dh || ke.data.len != ike_dh_public_len(choice.suite.dh)) {
        log_info("IKE_SA_INIT from %s: KE data of %zu octets for %s: INVALID_SYNTAX", from,
                 ke.data.len, ike_transform_id_name(IKE_XF_DH, choice.suite.dh));
        return init_refuse(m, IKE_N_INVALID_SYNTAX, NULL, 0, tx);
    }

    struct init_notes notes;
    init_read_notifies(rx, m, &notes);

    struct ike_sa *sa = ike_sa_new();
    if (!sa) {
        log_err("IKE_SA_INIT from %s: out of memory", from);
        return IKE_EXCH_DROP;
    }
    memcpy(&sa->spi_i, h->ispi, IKE_SPI_LEN);
    uint8_t nr[EXCH_NR_LEN];
    do {
        if (ike_crypto_random((uint8_t *)&sa->spi_r, sizeof(sa->spi_r)) != IKE_CRYPTO_OK) {
            ike_sa_free(sa);
            return IKE_EXCH_DROP;
        }
    } while (sa->spi_r == 0);
    if (ike_crypto_random(nr, sizeof(nr)) != IKE_CRYPTO_OK) {
        ike_sa_free(sa);
        return IKE_EXCH_DROP;
    }
    sa->suite = choice.suite;
    sa->local = rx->local;
    sa->remote = rx->remote;
    sa->created_ms = sa->last_rx_ms = rx->now_ms;
    sa->peer_hash_mask = notes.hash_mask;
    sa->peer_fragmentation = notes.fragmentation && env->frag;
    if (sa->peer_fragmentation)
        sa->frag_max = ike_frag_max_msg(env->set->fragment_size, rx->local.ss_family);
    /* §2.23: a NAT is in the way when a hash does not match what we see;
     * a request that came to port 4500 is NAT-T already. */
    sa->natt = rx->natt_port || (notes.natd_src && !notes.natd_src_ok) ||
               (notes.natd_dst && !notes.natd_dst_ok);
    sa->peer_behind_nat = notes.natd_src && !notes.natd_src_ok;
    sa->self_behind_nat = notes.natd_dst && !notes.natd_dst_ok;

    uint8_t pub[IKE_DH_MAX_PUB];
    size_t pub_len = 0;
    uint16_t kr = init_keys(sa, &ke, ni, nr, sizeof(nr), pub, sizeof(pub), &pub_len, from);
    if (kr != IKE_N_STATUS_MIN) {
        ike_sa_free(sa);
        ike_crypto_wipe(nr, sizeof(nr));
        return kr ? init_refuse(m, kr, NULL, 0, tx) : IKE_EXCH_DROP;
    }

    struct ike_wr w;
    struct ike_span resp;
    enum ike_err we =
        init_write_response(env, rx, sa, &choice, &notes, pub, pub_len, nr, sizeof(nr), &w, &resp);
    if (we != IKE_OK || init_keep(sa, m, resp, ni, nr, sizeof(nr)) < 0 ||
        !(tx->buf = malloc(resp.len))) {
        log_err("IKE_SA_INIT from %s: building the response failed (%s)", from,
                we != IKE_OK ? ike_err_name(we) : "out of memory");
        ike_sa_free(sa);
        ike_crypto_wipe(nr, sizeof(nr));
        return IKE_EXCH_DROP;
    }
    ike_crypto_wipe(nr, sizeof(nr));
    memcpy(tx->buf, resp.ptr, resp.len);
    tx->len = resp.len;
    /* A retransmitted IKE_SA_INIT gets this same answer (§2.1). */
    exch_cache_response(sa, 0, tx);
    sa->our_next_msgid = 0;
    sa->state = IKE_SA_HALF_OPEN;
    log_debug("IKE_SA_INIT from %s: %s/%u %s %s %s%s", from,
              ike_transform_id_name(IKE_XF_ENCR, sa->suite.encr), sa->suite.encr_keybits,
              sa->suite.integ ? ike_transform_id_name(IKE_XF_INTEG, sa->suite.integ) : "",
              ike_transform_id_name(IKE_XF_PRF, sa->suite.prf),
              ike_transform_id_name(IKE_XF_DH, sa->suite.dh), sa->natt ? ", NAT-T" : "");
    *sa_out = sa;
    return IKE_EXCH_REPLY;
}

enum ike_exch_result ike_exch_sa_init_error(const struct ike_rx *rx, const struct ike_error *err,
                                            struct ike_tx *tx)
{
    struct ike_hdr h;
    struct ike_error e2;
    tx->buf = NULL;
    tx->len = 0;
    enum ike_err rc = ike_hdr_parse(rx->buf, rx->len, &h, &e2);
    if (rc != IKE_OK && rc != IKE_ERR_MAJOR_VERSION && rc != IKE_ERR_LENGTH)
        return IKE_EXCH_DROP;
    /* Only an IKE_SA_INIT request can be answered without keys. */
    if (init_header_fault(&h))
        return IKE_EXCH_DROP;
    uint16_t n = ike_error_notify(err);
    if (!n || err->code == IKE_ERR_LENGTH)
        return IKE_EXCH_DROP; /* a datagram cut short: nothing to trust */
    uint8_t data = err->payload;
    if (exch_plain_notify(&h, n, &data, n == IKE_N_UNSUPPORTED_CRITICAL_PAYLOAD ? 1 : 0, tx) < 0)
        return IKE_EXCH_DROP;
    return IKE_EXCH_REPLY;
}

enum ike_exch_cookie ike_exch_sa_init_cookie(struct ike_cookie_jar *jar, const struct ike_rx *rx,
                                             const struct ike_msg *m, uint8_t *out, size_t cap,
                                             size_t *out_len, const char **why)
{
    struct ike_error e;
    struct ike_span ni;
    *out_len = 0;
    *why = NULL;
    if (init_header_fault(&m->hdr)) {
        *why = "not an IKE_SA_INIT request";
        return IKE_EXCH_COOKIE_DROP;
    }
    const struct ike_payload *np = ike_chain_find(&m->outer, IKE_PL_NONCE, NULL);
    if (!np || ike_pl_nonce(np, &ni, &e) != IKE_OK) {
        *why = "no valid Nonce";
        return IKE_EXCH_COOKIE_DROP;
    }
    /* §2.6: the cookie is the first payload of the retried request. */
    enum ike_exch_cookie verdict = IKE_EXCH_COOKIE_ASK;
    struct ike_notify no;
    if (m->outer.n > 0 && m->outer.pl[0].type == IKE_PL_NOTIFY &&
        ike_pl_notify(&m->outer.pl[0], &no, &e) == IKE_OK && no.type == IKE_N_COOKIE) {
        switch (ike_cookie_verify(jar, ni.ptr, ni.len, &rx->remote, m->hdr.ispi, no.data.ptr,
                                  no.data.len)) {
        case IKE_COOKIE_VALID:
            return IKE_EXCH_COOKIE_OK;
        case IKE_COOKIE_EXPIRED:
            *why = "the COOKIE's secret has expired";
            break;
        case IKE_COOKIE_BAD:
            *why = "the COOKIE does not verify";
            break;
        }
        verdict = IKE_EXCH_COOKIE_REFUSED;
    } else if (ike_chain_find_notify(&m->outer, IKE_N_COOKIE, &no)) {
        *why = "the COOKIE is not the first payload";
        verdict = IKE_EXCH_COOKIE_REFUSED;
    }
    uint8_t cookie[IKE_COOKIE_LEN];
    if (ike_cookie_make(jar, ni.ptr, ni.len, &rx->remote, m->hdr.ispi, cookie) < 0) {
        *why = "cannot compute a cookie";
        return IKE_EXCH_COOKIE_DROP;
    }
    struct ike_hdr h = {0};
    memcpy(h.ispi, m->hdr.ispi, IKE_SPI_LEN);
    h.exchange = IKE_EXCH_IKE_SA_INIT;
    h.flags = IKE_FLAG_RESPONSE;
    h.msgid = 0;
    struct ike_wr w;
    struct ike_span msg;
    ike_wr_init(&w, out, cap);
    ike_wr_header(&w, &h);
    ike_wr_notify(&w, IKE_PROTO_NONE, IKE_N_COOKIE, NULL, 0, cookie, sizeof(cookie));
    if (ike_wr_finish(&w, &msg) != IKE_OK) {
        *why = "the answer does not fit";
        return IKE_EXCH_COOKIE_DROP;
    }
    *out_len = msg.len;
    return verdict;
}

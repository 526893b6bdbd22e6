/* MOBIKE (RFC 4555) on the responder side, pure protocol: the
 * MOBIKE_SUPPORTED answer in IKE_AUTH; UPDATE_SA_ADDRESSES in an
 * INFORMATIONAL request (NAT detection recomputed for the new path,
 * COOKIE2 echoed, NO_NATS_ALLOWED checked, additional addresses taken
 * note of); the return routability check the gateway sends to a new
 * address (§3.5, §5.2) and its answer. What to do in the kernel is left in
 * the SA (move_*, rr_*) for the daemon (iked_mobility.c). */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "ike_crypto.h"
#include "ike_exch_int.h"
#include "log.h"

void exch_mobike_auth_response(struct ike_wr *w, struct ike_sa *sa)
{
    /* §3.1: answered only to a device that offered it; from then on
     * MOBIKE governs address changes (not RFC 7296 §2.23's updates). */
    if (!sa->peer_mobike)
        return;
    ike_wr_notify(w, IKE_PROTO_NONE, IKE_N_MOBIKE_SUPPORTED, NULL, 0, NULL, 0);
    sa->mobike = true;
}

static bool same_ip(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return false;
    if (a->ss_family == AF_INET)
        return memcmp(&((const struct sockaddr_in *)a)->sin_addr,
                      &((const struct sockaddr_in *)b)->sin_addr, 4) == 0;
    return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                  &((const struct sockaddr_in6 *)b)->sin6_addr, 16) == 0;
}

/* §3.9: NO_NATS_ALLOWED carries the addresses and ports the initiator sent
 * from and to; a path that rewrote them is refused. true when they match
 * what arrived (or the data cannot be read: *why says so). */
static bool no_nats_match(const struct ike_notify *n, const struct ike_rx *rx, const char **why)
{
    size_t alen = rx->remote.ss_family == AF_INET ? 4 : 16;
    const uint8_t *d = n->data.ptr;
    if (n->data.len != 2 * alen + 4) {
        *why = "NO_NATS_ALLOWED data of the wrong length";
        return false;
    }
    const void *src, *dst;
    uint16_t sport, dport;
    if (rx->remote.ss_family == AF_INET) {
        src = &((const struct sockaddr_in *)&rx->remote)->sin_addr;
        dst = &((const struct sockaddr_in *)&rx->local)->sin_addr;
        sport = ((const struct sockaddr_in *)&rx->remote)->sin_port;
        dport = ((const struct sockaddr_in *)&rx->local)->sin_port;
    } else {
        src = &((const struct sockaddr_in6 *)&rx->remote)->sin6_addr;
        dst = &((const struct sockaddr_in6 *)&rx->local)->sin6_addr;
        sport = ((const struct sockaddr_in6 *)&rx->remote)->sin6_port;
        dport = ((const struct sockaddr_in6 *)&rx->local)->sin6_port;
    }
    if (memcmp(d, src, alen) != 0 || memcmp(d + alen, dst, alen) != 0 ||
        memcmp(d + 2 * alen, &sport, 2) != 0 || memcmp(d + 2 * alen + 2, &dport, 2) != 0) {
        *why = "a NAT rewrote the addresses NO_NATS_ALLOWED names";
        return false;
    }
    return true;
}

/* NAT detection notifies of a request: which side is behind a NAT on the
 * path it came by; false when there are none. */
static bool natd_read(const struct ike_sa *sa, const struct ike_rx *rx, const struct ike_chain *in,
                      bool *peer_nat, bool *self_nat)
{
    uint8_t src[EXCH_NATD_LEN], dst[EXCH_NATD_LEN];
    const uint8_t *spi_i = (const uint8_t *)&sa->spi_i, *spi_r = (const uint8_t *)&sa->spi_r;
    bool have_src = exch_natd_hash(spi_i, spi_r, &rx->remote, src) == 0;
    bool have_dst = exch_natd_hash(spi_i, spi_r, &rx->local, dst) == 0;
    bool seen_src = false, seen_dst = false, src_ok = false, dst_ok = false;
    for (const struct ike_payload *pl = NULL; (pl = ike_chain_find(in, IKE_PL_NOTIFY, pl));) {
        struct ike_notify n;
        struct ike_error e;
        if (ike_pl_notify(pl, &n, &e) != IKE_OK)
            continue;
        /* Several SOURCE_IP notifies: one per address of a multi-homed
         * peer (§2.23); any match means no NAT on that side. */
        if (n.type == IKE_N_NAT_DETECTION_SOURCE_IP) {
            seen_src = true;
            src_ok |= have_src && n.data.len == EXCH_NATD_LEN &&
                      memcmp(n.data.ptr, src, EXCH_NATD_LEN) == 0;
        } else if (n.type == IKE_N_NAT_DETECTION_DESTINATION_IP) {
            seen_dst = true;
            dst_ok |= have_dst && n.data.len == EXCH_NATD_LEN &&
                      memcmp(n.data.ptr, dst, EXCH_NATD_LEN) == 0;
        }
    }
    *peer_nat = seen_src && !src_ok;
    *self_nat = seen_dst && !dst_ok;
    return seen_src || seen_dst;
}

void exch_mobike_informational(struct ike_sa *sa, const struct ike_rx *rx,
                               const struct ike_chain *in, struct ike_wr *w)
{
    char desc[320], from[64];
    struct ike_notify upd, c2, nn;
    bool update = ike_chain_find_notify(in, IKE_N_UPDATE_SA_ADDRESSES, &upd) != NULL;
    bool cookie2 = ike_chain_find_notify(in, IKE_N_COOKIE2, &c2) != NULL;
    if (!sa->mobike) {
        if (update)
            log_info("%s: UPDATE_SA_ADDRESSES from %s ignored: MOBIKE was not negotiated",
                     ike_sa_describe(sa, desc, sizeof(desc)),
                     exch_addr_str(&rx->remote, from, sizeof(from)));
        return;
    }
    unsigned n_add = 0;
    bool no_add = false;
    for (const struct ike_payload *pl = NULL; (pl = ike_chain_find(in, IKE_PL_NOTIFY, pl));) {
        struct ike_notify n;
        struct ike_error e;
        if (ike_pl_notify(pl, &n, &e) != IKE_OK)
            continue;
        n_add += n.type == IKE_N_ADDITIONAL_IP4_ADDRESS || n.type == IKE_N_ADDITIONAL_IP6_ADDRESS;
        no_add |= n.type == IKE_N_NO_ADDITIONAL_ADDRESSES;
    }
    /* §3.6: the peer's other addresses are a hint for a gateway that would
     * start path changes itself; this one never does (the device roams). */
    if (n_add || no_add)
        log_debug("%s: %u additional peer address(es)%s noted",
                  ike_sa_describe(sa, desc, sizeof(desc)), n_add,
                  no_add ? ", NO_ADDITIONAL_ADDRESSES" : "");
    /* §3.5/§4.8: COOKIE2 comes back as it was, whatever else happens. */
    if (cookie2)
        ike_wr_notify(w, IKE_PROTO_NONE, IKE_N_COOKIE2, NULL, 0, c2.data.ptr, c2.data.len);
    bool peer_nat = false, self_nat = false;
    bool natd = natd_read(sa, rx, in, &peer_nat, &self_nat);
    if (natd) {
        /* §3.5: NAT detection is answered for the path the request took. */
        uint8_t hs[EXCH_NATD_LEN], hd[EXCH_NATD_LEN];
        const uint8_t *spi_i = (const uint8_t *)&sa->spi_i, *spi_r = (const uint8_t *)&sa->spi_r;
        if (exch_natd_hash(spi_i, spi_r, &rx->local, hs) == 0 &&
            exch_natd_hash(spi_i, spi_r, &rx->remote, hd) == 0) {
            ike_wr_notify(w, IKE_PROTO_NONE, IKE_N_NAT_DETECTION_SOURCE_IP, NULL, 0, hs,
                          sizeof(hs));
            ike_wr_notify(w, IKE_PROTO_NONE, IKE_N_NAT_DETECTION_DESTINATION_IP, NULL, 0, hd,
                          sizeof(hd));
        }
    }
    if (!update)
        return;
    const char *why = NULL;
    if (ike_chain_find_notify(in, IKE_N_NO_NATS_ALLOWED, &nn) && !no_nats_match(&nn, rx, &why)) {
        log_info("%s: UPDATE_SA_ADDRESSES from %s refused (UNACCEPTABLE_ADDRESSES): %s",
                 ike_sa_describe(sa, desc, sizeof(desc)),
                 exch_addr_str(&rx->remote, from, sizeof(from)), why);
        ike_wr_notify(w, IKE_PROTO_NONE, IKE_N_UNACCEPTABLE_ADDRESSES, NULL, 0, NULL, 0);
        return;
    }
    if (!natd) {
        /* §3.5: without NAT detection payloads the path has no NAT. */
        peer_nat = self_nat = false;
    }
    if (ike_sa_move_to(sa, &rx->local, &rx->remote) < 0) {
        log_err("UPDATE_SA_ADDRESSES: out of memory; the SAs stay where they are");
        return;
    }
    sa->move_peer_nat = peer_nat;
    sa->move_self_nat = self_nat;
    /* §5.2: an address the device was not using gets a return routability
     * check before traffic goes there; a new port behind the same address
     * (a NAT's new mapping) is the path the request just proved. */
    if (same_ip(&rx->remote, &sa->remote))
        sa->move_wanted = true;
    else
        sa->move_rr_needed = true;
    log_info("%s: UPDATE_SA_ADDRESSES from %s (%s%s%s)%s", ike_sa_describe(sa, desc, sizeof(desc)),
             exch_addr_str(&rx->remote, from, sizeof(from)),
             peer_nat || self_nat ? "NAT" : "no NAT", peer_nat ? ", device behind it" : "",
             self_nat ? ", gateway behind it" : "",
             sa->move_rr_needed ? ": return routability check first" : "");
}

int ike_exch_rr_request(const struct ike_env *env, struct ike_sa *sa, bool again, struct ike_tx *tx)
{
    (void)env;
    struct ike_wr w;
    tx->buf = NULL;
    tx->len = 0;
    if (!again) {
        if (ike_crypto_random(sa->rr_cookie2, sizeof(sa->rr_cookie2)) != IKE_CRYPTO_OK)
            return -1;
        sa->rr_msgid = sa->our_next_msgid;
    }
    exch_sk_open(&w, sa, IKE_EXCH_INFORMATIONAL, sa->rr_msgid, false);
    ike_wr_notify(&w, IKE_PROTO_NONE, IKE_N_COOKIE2, NULL, 0, sa->rr_cookie2,
                  sizeof(sa->rr_cookie2));
    if (exch_sk_close(&w, sa, tx) < 0)
        return -1;
    if (!again)
        sa->our_next_msgid = sa->rr_msgid + 1;
    return 0;
}

void exch_mobike_response(struct ike_sa *sa, uint32_t msgid, const struct ike_chain *in)
{
    if (!sa->rr_pending || msgid != sa->rr_msgid)
        return;
    struct ike_notify c2;
    char desc[320];
    /* §4.8: the check passes only with our COOKIE2 back, unchanged. */
    if (ike_chain_find_notify(in, IKE_N_COOKIE2, &c2) && c2.data.len == sizeof(sa->rr_cookie2) &&
        memcmp(c2.data.ptr, sa->rr_cookie2, sizeof(sa->rr_cookie2)) == 0)
        sa->rr_ok = true;
    else
        log_info("%s: answer to the return routability check without our COOKIE2: ignored",
                 ike_sa_describe(sa, desc, sizeof(desc)));
}

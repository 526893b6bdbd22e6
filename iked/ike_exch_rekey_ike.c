/* CREATE_CHILD_SA as the responder, rekeying the IKE SA (RFC 7296 §1.3.2,
 * §2.18): new SPIs, a new key exchange, SKEYSEED = prf(SK_d (old), g^ir
 * (new) | Ni | Nr) and the seven keys from it. The new IKE SA inherits the
 * CHILD SAs, the identity and the lease; the old one only waits for the
 * DELETE that ends it (sent by the peer, which initiated the rekey). */
#include <endian.h>
#include <stdlib.h>
#include <string.h>

#include "ike_dh.h"
#include "ike_exch_int.h"
#include "ike_keys.h"
#include "log.h"

static enum ike_exch_result rekey_ike_refuse(struct ike_sa *sa, const struct ike_msg *m,
                                             uint16_t type, const void *data, size_t len,
                                             struct ike_tx *tx)
{
    if (exch_sk_notify(sa, IKE_EXCH_CREATE_CHILD_SA, m->hdr.msgid, type, data, len, tx) < 0)
        return IKE_EXCH_DROP;
    exch_cache_response(sa, m->hdr.msgid, tx);
    return IKE_EXCH_REPLY;
}

int exch_rekey_ike_inherit(struct ike_sa *nsa, struct ike_sa *old, const struct ike_rx *rx)
{
    if (old->peer_subject && !(nsa->peer_subject = strdup(old->peer_subject)))
        return -1;
    nsa->state = IKE_SA_ESTABLISHED;
    /* Where the peer talks from now (it may have moved to port 4500
     * since IKE_SA_INIT): our requests on the new SA go there. */
    nsa->local = rx->local;
    nsa->remote = rx->remote;
    nsa->natt = old->natt;
    nsa->peer_hash_mask = old->peer_hash_mask;
    nsa->peer_fragmentation = old->peer_fragmentation;
    nsa->peer_mobike = old->peer_mobike;
    /* Path state (NAT on either side, MOBIKE, fragment size) and the
     * grant in force belong to the tunnel, not to one IKE SA. */
    nsa->peer_behind_nat = old->peer_behind_nat;
    nsa->self_behind_nat = old->self_behind_nat;
    nsa->mobike = old->mobike;
    nsa->frag_max = old->frag_max;
    memcpy(nsa->peer_serial, old->peer_serial, sizeof(nsa->peer_serial));
    memcpy(nsa->peer_fpr, old->peer_fpr, sizeof(nsa->peer_fpr));
    nsa->vip = old->vip;
    nsa->created_ms = nsa->established_ms = nsa->last_rx_ms = rx->now_ms;
    /* Message IDs start again at zero on the new SA (§2.18). */
    nsa->next_msgid = 0;
    nsa->our_next_msgid = 0;
    nsa->child = old->child;
    nsa->child_old = old->child_old;
    nsa->child_out_pending = old->child_out_pending;
    old->child = NULL;
    old->child_old = NULL;
    old->child_out_pending = false;
    nsa->authz = old->authz;
    old->authz = NULL;
    /* A CHILD rekey the kernel's soft expire asked for goes with the CHILD
     * SA: left on the old IKE SA it would be dropped there, and the CHILD
     * SA would run into its hard lifetime. */
    nsa->child_rekey_spi = old->child_rekey_spi;
    nsa->child_rekey_after_ms = old->child_rekey_after_ms;
    old->child_rekey_spi = 0;
    return 0;
}

enum ike_exch_result exch_rekey_ike(const struct ike_env *env, struct ike_sa *sa,
                                    const struct ike_rx *rx, const struct ike_msg *m,
                                    const struct exch_ccs_req *r, struct ike_tx *tx,
                                    struct ike_sa **rekeyed)
{
    char d[320];
    ike_sa_describe(sa, d, sizeof(d));
    if (!rekeyed) {
        log_info("%s: IKE SA rekey refused with NO_ADDITIONAL_SAS", d);
        return rekey_ike_refuse(sa, m, IKE_N_NO_ADDITIONAL_SAS, NULL, 0, tx);
    }
    /* Our own IKE SA rekey outstanding: answer as usual; the nonces decide
     * afterwards which new SA is redundant (§2.8.1, §2.25.2). */
    bool collision = sa->req_kind == IKE_SA_REQ_IKE_REKEY;
    if (sa->state != IKE_SA_ESTABLISHED || (sa->req_kind != IKE_SA_REQ_NONE && !collision) ||
        sa->child_old) {
        /* §2.25: another exchange on this SA first (our request, or the
         * DELETE of a replaced CHILD SA); the peer tries again. */
        log_info("%s: IKE SA rekey while %s: TEMPORARY_FAILURE", d,
                 sa->state != IKE_SA_ESTABLISHED   ? "it is not established"
                 : sa->req_kind != IKE_SA_REQ_NONE ? "our own request is outstanding"
                                                   : "a CHILD SA rekey is not finished");
        return rekey_ike_refuse(sa, m, IKE_N_TEMPORARY_FAILURE, NULL, 0, tx);
    }
    if (!r->has_ke) {
        log_info("%s: IKE SA rekey without a KE payload: INVALID_SYNTAX", d);
        return rekey_ike_refuse(sa, m, IKE_N_INVALID_SYNTAX, NULL, 0, tx);
    }
    struct ike_proposal_choice ch;
    uint16_t want = 0;
    if (ike_proposal_select_ike(env->set, &r->sapl, r->ke.group, &ch, &want) != 0) {
        char offered[512];
        exch_describe_proposals(&r->sapl, offered, sizeof(offered));
        log_notice("%s: IKE SA rekey: no acceptable proposal (offered: %s): NO_PROPOSAL_CHOSEN", d,
                   offered);
        return rekey_ike_refuse(sa, m, IKE_N_NO_PROPOSAL_CHOSEN, NULL, 0, tx);
    }
    if (want) {
        uint8_t g[2] = {(uint8_t)(want >> 8), (uint8_t)want};
        log_info("%s: IKE SA rekey with a KE of group %s, %s wanted: INVALID_KE_PAYLOAD", d,
                 ike_transform_id_name(IKE_XF_DH, r->ke.group),
                 ike_transform_id_name(IKE_XF_DH, want));
        return rekey_ike_refuse(sa, m, IKE_N_INVALID_KE_PAYLOAD, g, sizeof(g), tx);
    }
    /* The chosen proposal's SPI is the peer's SPI of the new SA. */
    const struct ike_proposal *pp = NULL;
    for (unsigned i = 0; i < r->sapl.n_prop && i < IKE_MAX_PROPOSALS; i++)
        if (r->sapl.prop[i].num == ch.num && r->sapl.prop[i].proto == IKE_PROTO_IKE)
            pp = &r->sapl.prop[i];
    uint64_t zero = 0;
    if (!pp || pp->spi_len != 8 || memcmp(pp->spi, &zero, 8) == 0 ||
        r->ke.data.len != ike_dh_public_len(ch.suite.dh)) {
        log_info("%s: IKE SA rekey without a valid new SPI or KE length: INVALID_SYNTAX", d);
        return rekey_ike_refuse(sa, m, IKE_N_INVALID_SYNTAX, NULL, 0, tx);
    }

    struct ike_sa *nsa = ike_sa_new();
    uint8_t nr[32], pub[EXCH_MAX_KE], gir[EXCH_MAX_KE];
    size_t pub_len = 0, gir_len = 0;
    if (!nsa || ike_crypto_random(nr, sizeof(nr)) != IKE_CRYPTO_OK) {
        ike_sa_free(nsa);
        return rekey_ike_refuse(sa, m, IKE_N_TEMPORARY_FAILURE, NULL, 0, tx);
    }
    memcpy(&nsa->spi_i, pp->spi, 8);
    do {
        if (ike_crypto_random((uint8_t *)&nsa->spi_r, sizeof(nsa->spi_r)) != IKE_CRYPTO_OK) {
            ike_sa_free(nsa);
            return IKE_EXCH_DROP;
        }
    } while (nsa->spi_r == 0);
    if (exch_rekey_dh(ch.suite.dh, &r->ke, pub, &pub_len, gir, sizeof(gir), &gir_len) < 0) {
        ike_sa_free(nsa);
        log_info("%s: IKE SA rekey: the peer's KE is not a valid %s value: INVALID_SYNTAX", d,
                 ike_transform_id_name(IKE_XF_DH, ch.suite.dh));
        return rekey_ike_refuse(sa, m, IKE_N_INVALID_SYNTAX, NULL, 0, tx);
    }
    ike_span gs = {gir, gir_len}, ni = r->ni, nrs = {nr, sizeof(nr)};
    ike_crypto_err ce =
        ike_keys_ike_rekey(&sa->keys, &ch.suite, &gs, &ni, &nrs, (const uint8_t *)&nsa->spi_i,
                           (const uint8_t *)&nsa->spi_r, &nsa->keys);
    ike_crypto_wipe(gir, sizeof(gir));
    if (ce != IKE_CRYPTO_OK) {
        log_err("%s: IKE SA rekey keys: %s", d, ike_crypto_strerror(ce));
        ike_sa_free(nsa);
        return rekey_ike_refuse(sa, m, IKE_N_NO_PROPOSAL_CHOSEN, NULL, 0, tx);
    }
    /* The new SA never signs: SK_pi/SK_pr are not kept. */
    ike_keys_drop_auth(&nsa->keys);
    nsa->suite = ch.suite;

    struct ike_wr w;
    exch_sk_open(&w, sa, IKE_EXCH_CREATE_CHILD_SA, m->hdr.msgid, true);
    ike_proposal_write_ike_spi(&w, &ch, (const uint8_t *)&nsa->spi_r);
    ike_wr_nonce(&w, nr, sizeof(nr));
    ike_wr_ke(&w, ch.suite.dh, pub, pub_len);
    if (exch_sk_close(&w, sa, tx) < 0 || exch_rekey_ike_inherit(nsa, sa, rx) < 0) {
        free(tx->buf);
        tx->buf = NULL;
        ike_sa_free(nsa);
        return IKE_EXCH_DROP;
    }
    exch_cache_response(sa, m->hdr.msgid, tx);
    exch_rekey_keep_low_nonce(sa, collision, &ni, nr, sizeof(nr));
    if (collision)
        log_info("%s: simultaneous IKE SA rekey: the lowest nonce decides which SA goes", d);
    sa->state = IKE_SA_REKEYED;
    sa->rekeyed_ms = rx->now_ms;
    /* The new SA holds the lease now: the old one must not release it. */
    sa->lease_moved = true;
    log_info("%s: IKE SA rekeyed (%s/%s): new SPIs %016llx %016llx", d,
             ike_transform_id_name(IKE_XF_ENCR, ch.suite.encr),
             ike_transform_id_name(IKE_XF_DH, ch.suite.dh), (unsigned long long)be64toh(nsa->spi_i),
             (unsigned long long)be64toh(nsa->spi_r));
    *rekeyed = nsa;
    return IKE_EXCH_REKEY_IKE;
}

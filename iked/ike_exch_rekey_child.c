/* CREATE_CHILD_SA as the responder, rekeying the CHILD SA (RFC 7296
 * §1.3.3, §2.8, §2.17): a new ESP SA pair with fresh SPIs and keys from
 * SK_d and the exchange's nonces (and g^ir with PFS, §1.3.1), the same
 * narrowed traffic selectors as the SA it replaces. The old SA stays until
 * the DELETE exchange for it. Also the request parsing CREATE_CHILD_SA
 * shares with the IKE SA rekey, and the DH step both use. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ike_dh.h"
#include "ike_exch_int.h"
#include "ike_keys.h"
#include "log.h"

uint16_t exch_ccs_parse(const struct ike_chain *in, struct exch_ccs_req *r, const char **why)
{
    memset(r, 0, sizeof(*r));
    for (unsigned i = 0; i < in->n; i++) {
        const struct ike_payload *pl = &in->pl[i];
        struct ike_error e;
        enum ike_err rc = IKE_OK;
        switch (pl->type) {
        case IKE_PL_SA:
            if (r->has_sa) {
                *why = "two SA payloads";
                return IKE_N_INVALID_SYNTAX;
            }
            rc = ike_pl_sa(pl, &r->sapl, &e);
            r->has_sa = true;
            break;
        case IKE_PL_NONCE:
            rc = ike_pl_nonce(pl, &r->ni, &e);
            r->has_ni = true;
            break;
        case IKE_PL_KE:
            rc = ike_pl_ke(pl, &r->ke, &e);
            r->has_ke = true;
            break;
        case IKE_PL_TSI:
            rc = ike_pl_ts(pl, &r->tsi, &e);
            r->has_tsi = true;
            break;
        case IKE_PL_TSR:
            rc = ike_pl_ts(pl, &r->tsr, &e);
            r->has_tsr = true;
            break;
        case IKE_PL_NOTIFY: {
            struct ike_notify n;
            rc = ike_pl_notify(pl, &n, &e);
            if (rc == IKE_OK && n.type == IKE_N_REKEY_SA) {
                r->rekey = n;
                r->has_rekey = true;
            }
            break;
        }
        default:
            break;
        }
        if (rc != IKE_OK) {
            *why = "a payload does not parse";
            return IKE_N_INVALID_SYNTAX;
        }
    }
    if (!r->has_sa || !r->has_ni) {
        *why = "no SA or no Nonce payload";
        return IKE_N_INVALID_SYNTAX;
    }
    return 0;
}

int exch_rekey_dh(uint16_t group, const struct ike_ke *ke, uint8_t *pub, size_t *pub_len,
                  uint8_t *gir, size_t gir_cap, size_t *gir_len)
{
    ike_dh *dh = NULL;
    size_t plen = 0;
    if (ike_dh_new(group, &dh) != IKE_CRYPTO_OK)
        return -1;
    const uint8_t *p = ike_dh_public(dh, &plen);
    if (!p || plen > EXCH_MAX_KE) {
        ike_dh_free(dh);
        return -1;
    }
    memcpy(pub, p, plen);
    *pub_len = plen;
    ike_crypto_err ce = ike_dh_derive(dh, ke->data.ptr, ke->data.len, gir, gir_cap, gir_len);
    ike_dh_free(dh);
    return ce == IKE_CRYPTO_OK ? 0 : -1;
}

/* A refused CREATE_CHILD_SA: the notify, cached as the answer. */
static enum ike_exch_result rekey_refuse(struct ike_sa *sa, const struct ike_msg *m, uint16_t type,
                                         const void *data, size_t len, struct ike_tx *tx)
{
    if (exch_sk_notify(sa, IKE_EXCH_CREATE_CHILD_SA, m->hdr.msgid, type, data, len, tx) < 0)
        return IKE_EXCH_DROP;
    exch_cache_response(sa, m->hdr.msgid, tx);
    return IKE_EXCH_REPLY;
}

/* KEYMAT of the new CHILD SA (§2.17) into c, in the kernel's order:
 * inbound is the rekey initiator's direction when the peer initiated. */
void exch_rekey_keep_low_nonce(struct ike_sa *sa, bool collision, const ike_span *ni,
                               const uint8_t *nr, size_t nr_len)
{
    sa->collision_nonce_len = 0;
    if (!collision)
        return;
    size_t common = ni->len < nr_len ? ni->len : nr_len;
    int cmp = memcmp(ni->ptr, nr, common);
    const uint8_t *low = cmp < 0 || (cmp == 0 && ni->len <= nr_len) ? ni->ptr : nr;
    size_t low_len = low == nr ? nr_len : ni->len;
    sa->collision_nonce_len =
        (uint8_t)(low_len < sizeof(sa->collision_nonce) ? low_len : sizeof(sa->collision_nonce));
    memcpy(sa->collision_nonce, low, sa->collision_nonce_len);
}

int exch_rekey_child_keys(const struct ike_sa *sa, struct child_sa *c, const ike_span *gir,
                          const ike_span *ni, const ike_span *nr, bool we_initiated)
{
    ike_child_keys k;
    ike_crypto_err ce =
        ike_keys_child(&sa->keys, c->esp.encr, c->esp.encr_keybits, c->esp.integ, gir, ni, nr, &k);
    if (ce != IKE_CRYPTO_OK || k.encr_len > sizeof(c->enc_key_in) ||
        k.integ_len > sizeof(c->integ_key_in)) {
        ike_keys_child_wipe(&k);
        log_err("rekeyed CHILD SA keys: %s",
                ce != IKE_CRYPTO_OK ? ike_crypto_strerror(ce) : "keys larger than expected");
        return -1;
    }
    c->enc_key_len = k.encr_len;
    c->integ_key_len = k.integ_len;
    memcpy(c->enc_key_in, we_initiated ? k.encr_r : k.encr_i, k.encr_len);
    memcpy(c->enc_key_out, we_initiated ? k.encr_i : k.encr_r, k.encr_len);
    memcpy(c->integ_key_in, we_initiated ? k.integ_r : k.integ_i, k.integ_len);
    memcpy(c->integ_key_out, we_initiated ? k.integ_i : k.integ_r, k.integ_len);
    ike_keys_child_wipe(&k);
    return 0;
}

enum ike_exch_result exch_rekey_child(const struct ike_env *env, struct ike_sa *sa,
                                      const struct ike_rx *rx, const struct ike_msg *m,
                                      const struct exch_ccs_req *r, struct ike_tx *tx)
{
    char d[320];
    ike_sa_describe(sa, d, sizeof(d));
    const struct ike_notify *n = &r->rekey;
    uint32_t spi = n->spi.len == 4 ? (uint32_t)n->spi.ptr[0] << 24 | (uint32_t)n->spi.ptr[1] << 16 |
                                         (uint32_t)n->spi.ptr[2] << 8 | n->spi.ptr[3]
                                   : 0;
    if (n->proto != IKE_PROTO_ESP || n->spi.len != 4) {
        log_info("%s: CHILD SA rekey for protocol %u, SPI of %zu octets: CHILD_SA_NOT_FOUND", d,
                 n->proto, n->spi.len);
        return rekey_refuse(sa, m, IKE_N_CHILD_SA_NOT_FOUND, NULL, 0, tx);
    }
    /* The SPI is the one the peer receives on (§1.3.3): our outbound. */
    if (sa->child_old && spi == sa->child_old->spi_out) {
        /* Already replaced and about to be deleted (§2.25.1). */
        log_info("%s: rekey of CHILD SA %08x, which is being deleted: TEMPORARY_FAILURE", d, spi);
        return rekey_refuse(sa, m, IKE_N_TEMPORARY_FAILURE, NULL, 0, tx);
    }
    if (!sa->child || spi != sa->child->spi_out) {
        log_info("%s: rekey of unknown CHILD SA %08x: CHILD_SA_NOT_FOUND", d, spi);
        /* The notify names the SA that was not found (§3.10.1). */
        struct ike_wr w;
        exch_sk_open(&w, sa, IKE_EXCH_CREATE_CHILD_SA, m->hdr.msgid, true);
        ike_wr_notify(&w, IKE_PROTO_ESP, IKE_N_CHILD_SA_NOT_FOUND, n->spi.ptr, 4, NULL, 0);
        if (exch_sk_close(&w, sa, tx) < 0)
            return IKE_EXCH_DROP;
        exch_cache_response(sa, m->hdr.msgid, tx);
        return IKE_EXCH_REPLY;
    }
    /* Our own rekey of this SA outstanding: answer as usual and sort the
     * redundant SA out by the nonces afterwards (§2.8.1, §2.25.1). */
    bool collision = sa->req_kind == IKE_SA_REQ_CHILD_REKEY;
    if (sa->child_old || sa->child_redundant || (sa->req_kind != IKE_SA_REQ_NONE && !collision) ||
        !sa->child->installed) {
        /* The previous rekey's old SA is not deleted yet, or a request of
         * ours is outstanding on this IKE SA (§2.25: the peer retries). */
        log_info("%s: rekey of CHILD SA %08x while %s: TEMPORARY_FAILURE", d, spi,
                 sa->child_old                     ? "the previous one is not finished"
                 : sa->req_kind != IKE_SA_REQ_NONE ? "our own request is outstanding"
                                                   : "it is not in the kernel");
        return rekey_refuse(sa, m, IKE_N_TEMPORARY_FAILURE, NULL, 0, tx);
    }
    if (!r->has_tsi || !r->has_tsr) {
        log_info("%s: CHILD SA rekey without TSi/TSr: INVALID_SYNTAX", d);
        return rekey_refuse(sa, m, IKE_N_INVALID_SYNTAX, NULL, 0, tx);
    }
    struct ike_proposal_choice ch;
    uint16_t want = 0;
    if (ike_proposal_select_esp_pfs(env->set, &r->sapl, r->has_ke ? r->ke.group : 0, &ch, &want) !=
        0) {
        char offered[512];
        exch_describe_proposals(&r->sapl, offered, sizeof(offered));
        log_notice("%s: CHILD SA rekey: no acceptable ESP proposal%s (offered: %s): "
                   "NO_PROPOSAL_CHOSEN",
                   d, r->has_ke ? "" : " without PFS", offered);
        return rekey_refuse(sa, m, IKE_N_NO_PROPOSAL_CHOSEN, NULL, 0, tx);
    }
    if (want) {
        uint8_t g[2] = {(uint8_t)(want >> 8), (uint8_t)want};
        log_info("%s: CHILD SA rekey with a KE of group %s, %s wanted: INVALID_KE_PAYLOAD", d,
                 ike_transform_id_name(IKE_XF_DH, r->ke.group),
                 ike_transform_id_name(IKE_XF_DH, want));
        return rekey_refuse(sa, m, IKE_N_INVALID_KE_PAYLOAD, g, sizeof(g), tx);
    }
    if (ch.pfs_group && r->ke.data.len != ike_dh_public_len(ch.pfs_group)) {
        log_info("%s: CHILD SA rekey: KE of %zu octets for %s: INVALID_SYNTAX", d, r->ke.data.len,
                 ike_transform_id_name(IKE_XF_DH, ch.pfs_group));
        return rekey_refuse(sa, m, IKE_N_INVALID_SYNTAX, NULL, 0, tx);
    }

    uint8_t nr[32], pub[EXCH_MAX_KE], gir[EXCH_MAX_KE];
    size_t pub_len = 0, gir_len = 0;
    if (ike_crypto_random(nr, sizeof(nr)) != IKE_CRYPTO_OK)
        return IKE_EXCH_DROP;
    if (ch.pfs_group &&
        exch_rekey_dh(ch.pfs_group, &r->ke, pub, &pub_len, gir, sizeof(gir), &gir_len) < 0) {
        log_info("%s: CHILD SA rekey: the peer's KE is not a valid %s value: INVALID_SYNTAX", d,
                 ike_transform_id_name(IKE_XF_DH, ch.pfs_group));
        return rekey_refuse(sa, m, IKE_N_INVALID_SYNTAX, NULL, 0, tx);
    }
    struct child_sa *c = calloc(1, sizeof(*c));
    if (!c) {
        ike_crypto_wipe(gir, sizeof(gir));
        return rekey_refuse(sa, m, IKE_N_TEMPORARY_FAILURE, NULL, 0, tx);
    }
    /* Same narrowed selectors as the SA it replaces (§2.8). */
    memcpy(c->ts_local, sa->child->ts_local, sizeof(c->ts_local));
    c->n_ts_local = sa->child->n_ts_local;
    c->ts_remote = sa->child->ts_remote;
    c->esp = ch.esp;
    c->reqid = sa->child->reqid; /* the policies stay (iked_child_rekey_batch) */
    c->spi_out = ch.peer_spi;
    c->spi_in = exch_random_esp_spi();
    ike_span gs = {gir, gir_len}, ni = r->ni, nrs = {nr, sizeof(nr)};
    int krc =
        c->spi_in ? exch_rekey_child_keys(sa, c, ch.pfs_group ? &gs : NULL, &ni, &nrs, false) : -1;
    ike_crypto_wipe(gir, sizeof(gir));
    if (krc < 0) {
        ike_crypto_wipe(c, sizeof(*c));
        free(c);
        return rekey_refuse(sa, m, IKE_N_NO_PROPOSAL_CHOSEN, NULL, 0, tx);
    }

    struct ike_wr w;
    exch_sk_open(&w, sa, IKE_EXCH_CREATE_CHILD_SA, m->hdr.msgid, true);
    ike_proposal_write_esp(&w, &ch, c->spi_in);
    ike_wr_nonce(&w, nr, sizeof(nr));
    if (ch.pfs_group)
        ike_wr_ke(&w, ch.pfs_group, pub, pub_len);
    exch_write_ts(&w, c);
    if (exch_sk_close(&w, sa, tx) < 0) {
        ike_crypto_wipe(c, sizeof(*c));
        free(c);
        return IKE_EXCH_DROP;
    }
    exch_cache_response(sa, m->hdr.msgid, tx);
    log_info("%s: CHILD SA rekeyed%s: in %08x out %08x replaces in %08x out %08x", d,
             ch.pfs_group ? " with PFS" : "", c->spi_in, c->spi_out, sa->child->spi_in,
             sa->child->spi_out);
    sa->child_old = sa->child;
    sa->child = c;
    sa->child_out_pending = true;
    sa->child_rekeyed_ms = rx->now_ms;
    exch_rekey_keep_low_nonce(sa, collision, &ni, nr, sizeof(nr));
    if (collision)
        log_info("%s: simultaneous CHILD SA rekey: the lowest nonce decides which SA goes", d);
    return IKE_EXCH_REKEY_CHILD;
}

void ike_exch_rekey_child_undo(struct ike_sa *sa)
{
    if (!sa->child_old)
        return;
    ike_crypto_wipe(sa->child, sizeof(*sa->child));
    free(sa->child);
    sa->child = sa->child_old;
    sa->child_old = NULL;
    sa->child_out_pending = false;
}

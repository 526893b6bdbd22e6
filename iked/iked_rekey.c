/* Rekeys the peer starts, on the event loop (RFC 7296 §2.8, §2.18):
 *
 *   CHILD SA: the new inbound SA goes into the kernel before the response
 *   leaves, so the peer's first packet on the new SA finds it; the new
 *   outbound SA only when the peer deletes the old one (the peer installs
 *   its new inbound SA only once it has read our response), in the batch
 *   that removes the old pair. The new SA keeps the old one's reqid: the
 *   policies take both inbound, and outbound the kernel uses the newest.
 *   IKE SA: the new SA takes the old one's place in the table and the
 *   identity index; the old one waits for its DELETE (or a grace period).
 *
 * The lifetimes the kernel is given, and the sweep's part, are here too;
 * the rekeys the gateway starts are in iked_rekey_init.c. */
#include <stdlib.h>
#include <string.h>

#include "ike_crypto.h"
#include "iked_rekey.h"
#include "log.h"

/* A rekeyed IKE SA whose DELETE never came is ended after this; a CHILD
 * SA the device rekeyed but whose old SA it never deleted is switched to
 * after it (the old one nears its hard lifetime otherwise). */
#define IKED_REKEYED_GRACE_MS 60000u

uint32_t iked_rekey_soft_s(struct iked *ik, uint32_t lifetime_s)
{
    uint64_t margin = (uint64_t)lifetime_s * ik->set.rekey_margin_pct / 100;
    uint64_t jitter_max = (uint64_t)lifetime_s * ik->set.rekey_jitter_pct / 100;
    uint32_t r = 0;
    if (jitter_max && ike_crypto_random((uint8_t *)&r, sizeof(r)) != IKE_CRYPTO_OK)
        r = 0;
    uint64_t jitter = jitter_max ? r % (jitter_max + 1) : 0;
    uint64_t before = margin + jitter;
    /* At least a second of soft lifetime, and strictly before hard. */
    if (before >= lifetime_s)
        before = lifetime_s - 1;
    if (before == 0)
        before = 1;
    return (uint32_t)(lifetime_s - before);
}

/* Answers waiting for their SA to be in the kernel, and where they go
 * (the request's addresses, RFC 7296 §2.11). One per IKE SA at most. */
struct iked_answer {
    struct iked_answer *next;
    struct ike_sa *sa;
    struct sockaddr_storage local, remote;
};
static struct iked_answer *iked_answers;

static void iked_answer_take(struct ike_sa *sa, struct sockaddr_storage *local,
                             struct sockaddr_storage *remote)
{
    *local = sa->local;
    *remote = sa->remote;
    for (struct iked_answer **p = &iked_answers; *p; p = &(*p)->next)
        if ((*p)->sa == sa) {
            struct iked_answer *a = *p;
            *local = a->local;
            *remote = a->remote;
            *p = a->next;
            free(a);
            return;
        }
}

void iked_rekey_forget_answer(struct ike_sa *sa)
{
    struct sockaddr_storage l, r;
    iked_answer_take(sa, &l, &r);
}

static void iked_rekey_child_installed(struct iked *ik, struct ike_sa *sa, bool ok)
{
    char d[160];
    struct sockaddr_storage to_local, to_remote;
    iked_answer_take(sa, &to_local, &to_remote);
    if (sa->state == IKE_SA_INSTALLING)
        sa->state = IKE_SA_ESTABLISHED;
    if (!ok) {
        /* The old SA carries on; the peer is told (TEMPORARY_FAILURE) and
         * may try again. What went in of the new pair is taken out. */
        log_warn("%s: the kernel refused the rekeyed CHILD SA; the old one stays",
                 ike_sa_describe(sa, d, sizeof(d)));
        struct child_sa *bad = sa->child;
        if (bad && bad->installed)
            iked_child_rekey_batch(ik, sa, NULL, NULL, bad, NULL);
        ike_exch_rekey_child_undo(sa);
        struct ike_tx tx = {0};
        if (ike_exch_error_response(sa, IKE_EXCH_CREATE_CHILD_SA, sa->last_msgid,
                                    IKE_N_TEMPORARY_FAILURE, &tx) == 0)
            iked_net_send(ik, &to_local, &to_remote, tx.buf, tx.len);
        free(tx.buf);
        return;
    }
    /* The new CHILD SA and the answered message ID, before it leaves. */
    iked_persist_save(ik, sa);
    if (sa->last_resp)
        iked_net_send(ik, &to_local, &to_remote, sa->last_resp, sa->last_resp_len);
}

void iked_rekey_child_answered(struct iked *ik, struct ike_sa *sa, const struct ike_rx *rx)
{
    struct iked_answer *a = calloc(1, sizeof(*a));
    if (a) { /* without it the answer goes to the SA's addresses */
        a->sa = sa;
        a->local = rx->local;
        a->remote = rx->remote;
        a->next = iked_answers;
        iked_answers = a;
    }
    /* Retransmissions of the request wait (dispatch drops them while
     * INSTALLING): the cached answer must not leave before the SAs. */
    sa->state = IKE_SA_INSTALLING;
    if (iked_child_rekey_batch(ik, sa, sa->child, NULL, NULL, iked_rekey_child_installed) != 0)
        iked_rekey_child_installed(ik, sa, false);
}

static void iked_rekey_old_removed(struct iked *ik, struct ike_sa *sa, bool ok)
{
    char d[160];
    (void)ik;
    if (!ok)
        log_warn("%s: switching to the rekeyed CHILD SA failed in the kernel (reconcile will "
                 "clean up)",
                 ike_sa_describe(sa, d, sizeof(d)));
}

void iked_rekey_old_child_deleted(struct iked *ik, struct ike_sa *sa)
{
    struct child_sa *old = sa->child_old;
    if (!old)
        return;
    /* Outbound moves to the new SA (its outbound SA, added now, is the
     * newest of the reqid) in the batch that removes the old pair. */
    struct child_sa *out = sa->child_out_pending ? sa->child : NULL;
    int rc = iked_child_rekey_batch(ik, sa, NULL, out, old, iked_rekey_old_removed);
    if (rc < 0)
        log_err("the replaced CHILD SA stays in the kernel until reconcile");
    sa->child_out_pending = false;
    sa->child_old = NULL;
    ike_crypto_wipe(old, sizeof(*old));
    free(old);
}

void iked_rekey_redundant_deleted(struct iked *ik, struct ike_sa *sa)
{
    struct child_sa *red = sa->child_redundant;
    if (!red)
        return;
    if (iked_child_rekey_batch(ik, sa, NULL, NULL, red, iked_rekey_old_removed) < 0)
        log_err("the redundant CHILD SA stays in the kernel until reconcile");
    sa->child_redundant = NULL;
    ike_crypto_wipe(red, sizeof(*red));
    free(red);
}

bool iked_rekey_ike_answered(struct iked *ik, struct ike_sa *old, struct ike_sa *nsa)
{
    char d[160];
    if (iked_sa_table_add(ik->sas, nsa) < 0) {
        log_err("%s: out of memory taking the rekeyed IKE SA; the tunnel ends",
                ike_sa_describe(old, d, sizeof(d)));
        /* The CHILD SAs go back so that they leave the kernel with it. */
        old->child = nsa->child;
        old->child_old = nsa->child_old;
        nsa->child = nsa->child_old = NULL;
        old->authz = nsa->authz;
        nsa->authz = NULL;
        old->lease_moved = false;
        old->state = IKE_SA_ESTABLISHED;
        ike_sa_free(nsa);
        iked_sa_destroy(ik, old, true, "out of memory");
        return false;
    }
    if (old->id_indexed) {
        iked_sa_table_unindex_identity(ik->sas, old);
        iked_sa_table_index_identity(ik->sas, nsa);
    }
    old->rekeyed_to = ike_sa_our_spi(nsa);
    iked_rekey_schedule_ike(ik, nsa);
    /* The tunnel lives on in nsa: a restart restores it, not old. */
    iked_persist_forget(ik, old);
    iked_persist_save(ik, nsa);
    log_notice("IKE SA rekeyed: %s", ike_sa_describe(nsa, d, sizeof(d)));
    return true;
}

void iked_rekey_ike_abandon(struct ike_sa *old, struct ike_sa *nsa)
{
    if (!old->child) {
        old->child = nsa->child;
        old->child_old = nsa->child_old;
        old->child_out_pending = nsa->child_out_pending;
        nsa->child = nsa->child_old = NULL;
    }
    if (!old->authz) {
        old->authz = nsa->authz;
        nsa->authz = NULL;
    }
    old->lease_moved = false;
    old->state = IKE_SA_ESTABLISHED;
    ike_sa_free(nsa);
}

bool iked_rekey_sweep(struct iked *ik, struct ike_sa *sa, uint64_t now_ms)
{
    if (sa->busy)
        return false;
    if (sa->state == IKE_SA_REKEYED) {
        if (sa->req_kind != IKE_SA_REQ_NONE) {
            /* Our DELETE of it, or our rekey of it that collided with the
             * peer's: retransmissions. */
            iked_rekey_init_sweep(ik, sa, now_ms);
            return true;
        }
        if (now_ms - sa->rekeyed_ms < IKED_REKEYED_GRACE_MS)
            return true; /* nothing else to do for it: no DPD */
        iked_sa_destroy(ik, sa, false, "rekeyed, and its DELETE never came");
        return true;
    }
    if (sa->child_out_pending && sa->child_old && sa->req_kind == IKE_SA_REQ_NONE &&
        sa->state == IKE_SA_ESTABLISHED && now_ms - sa->child_rekeyed_ms >= IKED_REKEYED_GRACE_MS) {
        char d[160];
        log_notice("%s: the device never deleted the CHILD SA it rekeyed; switching to the new "
                   "one and removing the old",
                   ike_sa_describe(sa, d, sizeof(d)));
        iked_rekey_old_child_deleted(ik, sa);
    }
    return iked_rekey_init_sweep(ik, sa, now_ms);
}

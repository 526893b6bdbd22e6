/* Dead peer detection (RFC 7296 §1.4, §2.4): an established IKE SA that
 * has heard nothing authenticated from its peer for dpd_delay gets an
 * empty INFORMATIONAL request (a liveness check). Unanswered, it is sent
 * again after 2, 4, 8, 16... s (the same message ID, so the peer answers
 * it as a retransmission); when dpd_timeout has passed since the first
 * one without an authenticated answer, the peer is gone: the SA is
 * destroyed (CHILD SA out of the kernel, lease released) without a DELETE.
 *
 * Any authenticated message of the peer moves sa->last_rx_ms (the
 * exchanges set it after decryption, ike_exch_response for the answer to
 * our request), which ends the check. Per SA: dpd_sent_ms, dpd_tries. */
#include <stdio.h>
#include <stdlib.h>

#include "iked.h"
#include "log.h"

#define DPD_FIRST_RETRY_MS 2000u
#define DPD_MAX_SHIFT      16u

/* When the next retransmission is due, counted from the first send: 2,
 * 2+4, 2+4+8... s. */
static uint64_t dpd_retry_at(const struct ike_sa *sa)
{
    unsigned n = sa->dpd_tries < DPD_MAX_SHIFT ? sa->dpd_tries : DPD_MAX_SHIFT;
    return sa->dpd_sent_ms + (uint64_t)DPD_FIRST_RETRY_MS * ((1ull << n) - 1);
}

static void dpd_send(struct iked *ik, struct ike_sa *sa, bool again)
{
    struct ike_tx tx = {0};
    /* A retransmission is the same request: the same message ID (the
     * builder takes the next one and moves it on). */
    if (again)
        sa->our_next_msgid--;
    if (ike_exch_liveness_request(&ik->env, sa, &tx) == 0) {
        iked_persist_save(ik, sa); /* the message ID and IV, before it leaves */
        iked_net_send(ik, &sa->local, &sa->remote, tx.buf, tx.len);
    }
    free(tx.buf);
    if (sa->dpd_tries < UINT8_MAX)
        sa->dpd_tries++;
}

void iked_dpd_sweep(struct iked *ik, struct ike_sa *sa, uint64_t now_ms)
{
    const struct iked_settings *set = &ik->set;
    /* A return routability check (iked_mobility.c) is a liveness check
     * on the device's new path: one request of ours at a time. */
    if (sa->busy || sa->state != IKE_SA_ESTABLISHED || set->dpd_delay_ms == 0 || sa->rr_pending)
        return;
    /* One request of ours at a time (§2.3): an outstanding rekey or
     * DELETE is retransmitted and timed out by iked_rekey_init.c, and its
     * answer is as good a sign of life. */
    if (sa->req_kind != IKE_SA_REQ_NONE)
        return;
    if (sa->dpd_sent_ms) {
        if (sa->last_rx_ms >= sa->dpd_sent_ms) {
            /* Answered (or the peer spoke): alive. */
            sa->dpd_sent_ms = 0;
            sa->dpd_tries = 0;
            return;
        }
        if (now_ms - sa->dpd_sent_ms >= set->dpd_timeout_ms) {
            char why[96];
            snprintf(why, sizeof(why), "peer dead: %u liveness checks unanswered for %llu s",
                     (unsigned)sa->dpd_tries,
                     (unsigned long long)(now_ms - sa->dpd_sent_ms) / 1000);
            ik->dpd_dead++;
            iked_sa_destroy(ik, sa, false, why);
            return;
        }
        if (now_ms >= dpd_retry_at(sa))
            dpd_send(ik, sa, true);
        return;
    }
    uint64_t since = sa->last_rx_ms > sa->established_ms ? sa->last_rx_ms : sa->established_ms;
    if (now_ms - since < set->dpd_delay_ms)
        return;
    char d[160];
    log_debug("liveness check: nothing from %s for %llu s", ike_sa_describe(sa, d, sizeof(d)),
              (unsigned long long)(now_ms - since) / 1000);
    sa->dpd_sent_ms = now_ms ? now_ms : 1;
    sa->dpd_tries = 0;
    ik->dpd_checks++;
    dpd_send(ik, sa, false);
}

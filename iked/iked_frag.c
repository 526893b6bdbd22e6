/* RFC 7383 on the event loop: fragments that arrive while a worker holds
 * their SA wait here and go to the next worker one at a time (the integrity
 * check and the decryption are the workers'); the reassembly timeout; the
 * rule for retransmitted fragmented requests. */
#include <stdlib.h>

#include "ike_frag.h"
#include "iked.h"
#include "log.h"

void iked_frag_start(struct iked *ik)
{
    atomic_store(&ik->frag.used, 0);
    ik->frag.max = IKE_FRAG_BUDGET_DEFAULT;
    ik->env.frag = &ik->frag;
}

bool iked_frag_defer(struct iked *ik, struct ike_sa *sa, const uint8_t *buf, size_t len,
                     const struct sockaddr_storage *local, const struct sockaddr_storage *remote,
                     bool natt_port)
{
    if (!ik->env.frag || !sa->peer_fragmentation || !ike_frag_peek(buf, len, NULL))
        return false;
    return ike_frag_wait_push(&sa->frag_wait, &ik->frag, buf, len, local, remote, natt_port) == 0;
}

struct ike_frag_pending *iked_frag_next(struct iked *ik, struct ike_sa *sa, bool more)
{
    if (more && !ik->stopping)
        return ike_frag_wait_pop(sa->frag_wait);
    /* Whatever still waits belongs to a message already answered. */
    ike_frag_wait_free(sa->frag_wait);
    sa->frag_wait = NULL;
    return NULL;
}

bool iked_frag_retransmit_ok(const uint8_t *buf, size_t len)
{
    uint16_t num = 0;
    return !ike_frag_peek(buf, len, &num) || num == 1;
}

void iked_frag_sweep(struct iked *ik, struct ike_sa *sa, uint64_t now_ms)
{
    (void)ik;
    if (ike_frag_expire(sa, now_ms, IKE_FRAG_TIMEOUT_MS)) {
        char d[160];
        log_info("%s: a fragmented message still incomplete after %u s: its fragments dropped",
                 ike_sa_describe(sa, d, sizeof(d)), IKE_FRAG_TIMEOUT_MS / 1000);
    }
}

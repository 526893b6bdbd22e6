/* Moving a live SA and its policies' templates to new outer addresses or
 * new UDP encapsulation ports, without touching keys or sequence numbers:
 * what a device behind a NAT whose mapping changed (RFC 3948, RFC 7296
 * §2.23) or a MOBIKE device with a new address (RFC 4555) needs.
 *
 * Two kernel paths:
 *   - encapsulation ports only (same addresses, encapsulation on before and
 *     after): XFRM_MSG_UPDSA on the SA. The kernel keeps its own keys,
 *     algorithms and counters and takes only encapsulation, lifetimes and
 *     marks from an update (xfrm_state_update), but its parser wants a
 *     complete SA: the request carries the SA's algorithm, lifetimes and
 *     replay settings as read back with GETSA and a random placeholder key
 *     the kernel drops.
 *   - new addresses (or encapsulation switched on): XFRM_MSG_MIGRATE, once
 *     per policy. The first message clones the SA with the new addresses
 *     and encapsulation (sequence numbers and replay state copied) and
 *     deletes the old one; every message moves its policy's template.
 *     Delete + add would restart the outbound sequence number at 1, which
 *     the peer's replay window drops, and needs keys iked no longer has.
 *
 * Limits of Linux 6.1's MIGRATE: it cannot switch encapsulation off (an SA
 * without XFRMA_ENCAP keeps the one it had), so that request fails with
 * -EOPNOTSUPP; it moves the first SA with the reqid and old addresses. It
 * picks the policy by selector and direction only (lowest priority first,
 * marks ignored) but moves templates only when their reqid matches: a
 * foreign policy in front of ours makes the request fail (-ENODATA),
 * never changes the foreign one. Ownership is checked first as everywhere
 * (the SA and every policy must be ours: -EPERM). */
#ifndef MGATE_XFRM_MIGRATE_H
#define MGATE_XFRM_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>

#include "xfrm_err.h"
#include "xfrm_nl.h"
#include "xfrm_policy.h"
#include "xfrm_sa.h"

/* Policies one SA's move carries along (in + fwd per subnet, or out). */
#define XFRM_MIGRATE_POL_MAX 64

struct xfrm_migrate {
    struct xfrm_sa_id sa; /* the SA as the kernel has it now */
    uint32_t reqid;       /* the SA's; its templates carry the same */
    struct xfrm_addr new_src, new_dst;
    bool encap; /* UDP encapsulation after the move */
    struct xfrm_encap encap_ports;
    /* Policies whose templates name the SA's current addresses. */
    struct xfrm_policy_id pol[XFRM_MIGRATE_POL_MAX];
    size_t n_pol;
};

/* Which path a move took. */
enum xfrm_migrate_how {
    XFRM_MIGRATE_NONE,    /* already there: nothing sent */
    XFRM_MIGRATE_UPDSA,   /* encapsulation ports only */
    XFRM_MIGRATE_MIGRATE, /* addresses (and encapsulation) */
};

int xfrm_migrate_validate(const struct xfrm_migrate *m, struct xfrm_err *err);

/* Moves m->sa and its policies. 0 (and *how, may be NULL) or a negative
 * errno with err: -ESRCH no such SA, -EPERM not ours or reqid mismatch,
 * -ENOENT a policy missing, -EOPNOTSUPP encapsulation off, else the
 * kernel's answer. A failure on a later policy leaves the earlier ones
 * (and the SA) moved: the message says which. */
int xfrm_migrate_run(struct xfrm_nl *nl, const struct xfrm_migrate *m, enum xfrm_migrate_how *how,
                     struct xfrm_err *err);

#endif

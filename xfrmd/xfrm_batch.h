/* Many SA and policy operations in few system calls.
 *
 * xfrm_batch_run() packs the operations into netlink batches (many requests
 * per sendmsg, each with NLM_F_ACK) and fills in every operation's own result:
 * one bad operation fails alone, with its own message, and never stops or
 * hides its neighbours. Update and delete first look up the kernel's current
 * object (also batched) and go ahead only if it is ours (xfrm_owner.h).
 *
 * Chunks are sized to the socket's receive buffer so that every reply fits
 * (the kernel drops replies that do not, ENOBUFS); should that happen anyway,
 * the operations whose acknowledgement was lost report -ENOBUFS ("outcome
 * unknown") and the next chunks are made smaller. Nothing is allocated per
 * operation: requests are built in the socket's reusable buffer. */
#ifndef MGATE_XFRM_BATCH_H
#define MGATE_XFRM_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xfrm_err.h"
#include "xfrm_nl.h"
#include "xfrm_policy.h"
#include "xfrm_sa.h"

enum xfrm_op_type {
    XFRM_OP_SA_ADD = 1,
    XFRM_OP_SA_UPDATE,
    XFRM_OP_SA_DELETE,
    XFRM_OP_SA_ALLOCSPI,
    XFRM_OP_POLICY_ADD,
    XFRM_OP_POLICY_UPDATE,
    XFRM_OP_POLICY_DELETE,
};

struct xfrm_op {
    enum xfrm_op_type type;
    /* Borrowed for the duration of the call; the caller owns (and wipes) them. */
    union {
        const struct xfrm_sa *sa;               /* SA_ADD, SA_UPDATE */
        const struct xfrm_sa_id *sa_id;         /* SA_DELETE */
        const struct xfrm_spi_req *spi_req;     /* SA_ALLOCSPI */
        const struct xfrm_policy *policy;       /* POLICY_ADD, POLICY_UPDATE */
        const struct xfrm_policy_id *policy_id; /* POLICY_DELETE */
    } in;

    /* Results. */
    int result;          /* 0 or a negative errno */
    uint32_t spi;        /* SA_ALLOCSPI: the SPI the kernel reserved */
    struct xfrm_err err; /* why, when result < 0 */

    /* The engine's bookkeeping; callers leave it alone. */
    struct {
        uint32_t seq;
        uint32_t index; /* kernel policy index found by the lookup */
        uint32_t reqid; /* reqid of the object found by the lookup */
        uint32_t priority;
        uint8_t state;
        bool replied;
        bool acked;
        bool foreign;
    } priv;
};

/* Runs ops[0..n). Returns 0 when every operation has its own result (look at
 * each op's result), or a negative errno when the socket itself failed; then
 * operations that did not complete carry that error too. */
int xfrm_batch_run(struct xfrm_nl *nl, struct xfrm_op *ops, size_t n, struct xfrm_err *err);

/* Number of ops with result < 0. */
size_t xfrm_batch_failures(const struct xfrm_op *ops, size_t n);

#endif

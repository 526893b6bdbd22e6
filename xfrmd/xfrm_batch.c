#include "xfrm_batch.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "xfrm_addr.h"
#include "xfrm_msg.h"
#include "xfrm_nl_priv.h"
#include "xfrm_owner.h"

/* Receive-buffer bytes one reply costs the socket (skb overhead included):
 * an ACK or error is a small skb; a returned SA or policy is allocated at a
 * page and may not be trimmed. Overestimates only make chunks smaller. */
#define ACK_COST   1536u
#define REPLY_COST 4864u
_Static_assert(XFRM_MSG_MAX_LEN <= XFRM_NL_TX_OVERFLOW,
               "a message may not fit after the batch limit");

/* Floor when an overrun shrinks the budget; a chunk always holds at least
 * one op whatever the budget says. */
#define MIN_BUDGET ACK_COST

enum op_state {
    ST_DONE = 0,
    ST_PROBE,  /* look up the kernel's current object first */
    ST_MUTATE, /* ready for the change itself */
};

enum phase {
    PHASE_PROBE,
    PHASE_MUTATE,
};

static const char *op_verb(enum xfrm_op_type t)
{
    switch (t) {
    case XFRM_OP_SA_ADD:
        return "SA add";
    case XFRM_OP_SA_UPDATE:
        return "SA update";
    case XFRM_OP_SA_DELETE:
        return "SA delete";
    case XFRM_OP_SA_ALLOCSPI:
        return "SPI allocation";
    case XFRM_OP_POLICY_ADD:
        return "policy add";
    case XFRM_OP_POLICY_UPDATE:
        return "policy update";
    case XFRM_OP_POLICY_DELETE:
        return "policy delete";
    }
    return "operation";
}

/* What the operation is about, for messages. */
static void op_describe(const struct xfrm_op *op, char *buf, size_t len)
{
    char a[XFRM_ADDR_STRLEN], s[2 * XFRM_ADDR_STRLEN + 48];

    switch (op->type) {
    case XFRM_OP_SA_ADD:
    case XFRM_OP_SA_UPDATE:
        snprintf(buf, len, "%s spi 0x%08x dst %s", op_verb(op->type), op->in.sa->spi,
                 xfrm_addr_format(&op->in.sa->dst, a, sizeof(a)));
        return;
    case XFRM_OP_SA_DELETE:
        snprintf(buf, len, "%s spi 0x%08x dst %s", op_verb(op->type), op->in.sa_id->spi,
                 xfrm_addr_format(&op->in.sa_id->dst, a, sizeof(a)));
        return;
    case XFRM_OP_SA_ALLOCSPI:
        snprintf(buf, len, "%s dst %s reqid 0x%08x", op_verb(op->type),
                 xfrm_addr_format(&op->in.spi_req->dst, a, sizeof(a)), op->in.spi_req->reqid);
        return;
    case XFRM_OP_POLICY_ADD:
    case XFRM_OP_POLICY_UPDATE:
        snprintf(buf, len, "%s %s %s", op_verb(op->type), xfrm_policy_dir_name(op->in.policy->dir),
                 xfrm_sel_format(&op->in.policy->sel, s, sizeof(s)));
        return;
    case XFRM_OP_POLICY_DELETE:
        snprintf(buf, len, "%s %s %s", op_verb(op->type),
                 xfrm_policy_dir_name(op->in.policy_id->dir),
                 xfrm_sel_format(&op->in.policy_id->sel, s, sizeof(s)));
        return;
    }
    snprintf(buf, len, "operation type %d", (int)op->type);
}

static void op_fail(struct xfrm_op *op, const struct xfrm_err *e)
{
    char what[160];

    op->result = e->code < 0 ? e->code : -EIO;
    op->err = *e;
    op->err.code = op->result;
    op_describe(op, what, sizeof(what));
    xfrm_err_prefix(&op->err, "%s", what);
    op->priv.state = ST_DONE;
}

static void op_fail_fmt(struct xfrm_op *op, int code, const char *msg)
{
    struct xfrm_err e;

    xfrm_err_set(&e, code, "%s", msg);
    op_fail(op, &e);
}

static int policy_id_validate(const struct xfrm_policy_id *id, struct xfrm_err *err)
{
    if ((unsigned)id->dir > XFRM_DIR_FWD)
        return xfrm_err_set(err, -EINVAL, "policy direction %d is not in, out or fwd",
                            (int)id->dir);
    if (id->mark.value & ~id->mark.mask)
        return xfrm_err_set(err, -EINVAL, "mark value 0x%x has bits outside mask 0x%x",
                            id->mark.value, id->mark.mask);
    return xfrm_sel_validate(&id->sel, false, err);
}

static int sa_id_validate(const struct xfrm_sa_id *id, struct xfrm_err *err)
{
    if (id->dst.family != AF_INET && id->dst.family != AF_INET6)
        return xfrm_err_set(err, -EAFNOSUPPORT, "SA destination is neither IPv4 nor IPv6");
    if (id->mark.value & ~id->mark.mask)
        return xfrm_err_set(err, -EINVAL, "mark value 0x%x has bits outside mask 0x%x",
                            id->mark.value, id->mark.mask);
    return 0;
}

/* Validates an op and sets its first state. */
static void op_prepare(struct xfrm_op *op)
{
    struct xfrm_err e;
    int rc;

    memset(&op->priv, 0, sizeof(op->priv));
    op->result = 0;
    op->spi = 0;
    xfrm_err_clear(&op->err);
    if (!op->in.sa) { /* every member is a pointer: one check covers all */
        xfrm_err_set(&e, -EINVAL, "operation has no input");
        op->priv.state = ST_DONE;
        op->result = -EINVAL;
        op->err = e;
        return;
    }
    switch (op->type) {
    case XFRM_OP_SA_ADD:
        rc = xfrm_sa_validate(op->in.sa, &e);
        op->priv.state = ST_MUTATE;
        break;
    case XFRM_OP_SA_UPDATE:
        rc = xfrm_sa_validate(op->in.sa, &e);
        op->priv.state = ST_PROBE;
        break;
    case XFRM_OP_SA_DELETE:
        rc = sa_id_validate(op->in.sa_id, &e);
        op->priv.state = ST_PROBE;
        break;
    case XFRM_OP_SA_ALLOCSPI:
        rc = xfrm_sa_spi_req_validate(op->in.spi_req, &e);
        op->priv.state = ST_MUTATE;
        break;
    case XFRM_OP_POLICY_ADD:
        rc = xfrm_policy_validate(op->in.policy, &e);
        op->priv.state = ST_MUTATE;
        break;
    case XFRM_OP_POLICY_UPDATE:
        rc = xfrm_policy_validate(op->in.policy, &e);
        op->priv.state = ST_PROBE;
        break;
    case XFRM_OP_POLICY_DELETE:
        rc = policy_id_validate(op->in.policy_id, &e);
        op->priv.state = ST_PROBE;
        break;
    default:
        op->priv.state = ST_DONE;
        op->result = -EINVAL;
        xfrm_err_set(&op->err, -EINVAL, "unknown operation type %d", (int)op->type);
        return;
    }
    if (rc < 0)
        op_fail(op, &e);
}

static size_t op_cost(const struct xfrm_op *op, enum phase ph)
{
    if (ph == PHASE_PROBE || op->type == XFRM_OP_SA_ALLOCSPI)
        return ACK_COST + REPLY_COST;
    return ACK_COST;
}

static void policy_id_of(const struct xfrm_policy *p, struct xfrm_policy_id *id)
{
    memset(id, 0, sizeof(*id));
    id->sel = p->sel;
    id->dir = p->dir;
    id->mark = p->mark;
    id->if_id = p->if_id;
}

static void sa_id_of(const struct xfrm_sa *sa, struct xfrm_sa_id *id)
{
    memset(id, 0, sizeof(*id));
    id->dst = sa->dst;
    id->spi = sa->spi;
    id->mark = sa->mark;
}

static struct nlmsghdr *op_encode(const struct xfrm_op *op, enum phase ph, void *buf)
{
    struct xfrm_policy_id pid;
    struct xfrm_sa_id sid;

    if (ph == PHASE_PROBE) {
        switch (op->type) {
        case XFRM_OP_SA_UPDATE:
            sa_id_of(op->in.sa, &sid);
            return xfrm_msg_sa_id(buf, XFRM_MSG_GETSA, &sid);
        case XFRM_OP_SA_DELETE:
            return xfrm_msg_sa_id(buf, XFRM_MSG_GETSA, op->in.sa_id);
        case XFRM_OP_POLICY_UPDATE:
            policy_id_of(op->in.policy, &pid);
            return xfrm_msg_policy_id(buf, XFRM_MSG_GETPOLICY, &pid, 0);
        default:
            return xfrm_msg_policy_id(buf, XFRM_MSG_GETPOLICY, op->in.policy_id, 0);
        }
    }
    switch (op->type) {
    case XFRM_OP_SA_ADD:
        return xfrm_msg_sa(buf, XFRM_MSG_NEWSA, op->in.sa);
    case XFRM_OP_SA_UPDATE:
        return xfrm_msg_sa(buf, XFRM_MSG_UPDSA, op->in.sa);
    case XFRM_OP_SA_DELETE:
        return xfrm_msg_sa_id(buf, XFRM_MSG_DELSA, op->in.sa_id);
    case XFRM_OP_SA_ALLOCSPI:
        return xfrm_msg_allocspi(buf, op->in.spi_req);
    case XFRM_OP_POLICY_ADD:
        return xfrm_msg_policy(buf, XFRM_MSG_NEWPOLICY, op->in.policy);
    case XFRM_OP_POLICY_UPDATE:
        return xfrm_msg_policy(buf, XFRM_MSG_UPDPOLICY, op->in.policy);
    default:
        /* By the index the lookup found: if the policy was replaced in
         * between, the delete misses instead of hitting the newcomer. */
        return xfrm_msg_policy_id(buf, XFRM_MSG_DELPOLICY, op->in.policy_id, op->priv.index);
    }
}

/* A data reply (not an ACK) to op's request. */
static void op_reply(struct xfrm_op *op, enum phase ph, const struct nlmsghdr *nlh)
{
    struct xfrm_err e;

    if (nlh->nlmsg_type == XFRM_MSG_NEWSA) {
        struct xfrm_sa_info info;

        if (xfrm_msg_sa_parse(nlh, &info, &e) < 0)
            return;
        op->priv.replied = true;
        op->priv.reqid = info.reqid;
        if (ph == PHASE_PROBE)
            op->priv.foreign = !info.ours;
        else if (op->type == XFRM_OP_SA_ALLOCSPI)
            op->spi = info.spi;
        explicit_bzero(&info, sizeof(info));
    } else if (nlh->nlmsg_type == XFRM_MSG_NEWPOLICY && ph == PHASE_PROBE) {
        struct xfrm_policy_info info;

        if (xfrm_msg_policy_parse(nlh, &info, &e) < 0)
            return;
        op->priv.replied = true;
        op->priv.foreign = !info.ours;
        op->priv.index = info.index;
        op->priv.priority = info.pol.priority;
        op->priv.reqid = info.pol.n_tmpl ? info.pol.tmpl[0].reqid : 0;
    }
}

static void op_refuse_foreign(struct xfrm_op *op)
{
    char msg[XFRM_ERR_MSG_LEN];

    if (op->type == XFRM_OP_SA_UPDATE || op->type == XFRM_OP_SA_DELETE)
        snprintf(msg, sizeof(msg),
                 "refused: the kernel's SA is not mgate's (reqid 0x%08x outside 0x%08x-0x%08x)",
                 op->priv.reqid, XFRM_OWNER_REQID_MIN, XFRM_OWNER_REQID_MAX);
    else
        snprintf(msg, sizeof(msg),
                 "refused: the kernel's policy is not mgate's (priority %u, reqid 0x%08x; ours "
                 "need priority %u-%u and reqids 0x%08x-0x%08x)",
                 op->priv.priority, op->priv.reqid, XFRM_OWNER_PRIO_MIN, XFRM_OWNER_PRIO_MAX,
                 XFRM_OWNER_REQID_MIN, XFRM_OWNER_REQID_MAX);
    op_fail_fmt(op, -EPERM, msg);
}

/* The ACK or error that ends op's request in this phase. */
static void op_ack(struct xfrm_op *op, enum phase ph, const struct nlmsghdr *nlh, bool overrun)
{
    struct xfrm_err e;
    int code = xfrm_nl_error(nlh, &e);

    op->priv.acked = true;
    if (code == 0 && !op->priv.replied && overrun &&
        (ph == PHASE_PROBE || op->type == XFRM_OP_SA_ALLOCSPI)) {
        /* The reply was dropped but not the ACK behind it. */
        op_fail_fmt(
            op, -ENOBUFS,
            ph == PHASE_PROBE
                ? "ownership lookup lost to a receive buffer overrun: nothing changed, retry"
                : "reply lost to a receive buffer overrun: outcome unknown, look it up");
        return;
    }
    if (ph == PHASE_PROBE) {
        if (code == 0 && !op->priv.replied)
            op_fail_fmt(op, -EPROTO, "kernel acknowledged the lookup without returning the object");
        else if (code == 0 && op->priv.foreign)
            op_refuse_foreign(op);
        else if (code == 0)
            op->priv.state = ST_MUTATE;
        else if (code == -ENOENT && op->type == XFRM_OP_POLICY_UPDATE)
            op->priv.state = ST_MUTATE; /* nothing to replace: update adds */
        else if (code == -ESRCH || code == -ENOENT)
            op_fail_fmt(op, code,
                        op->type == XFRM_OP_POLICY_DELETE ? "no such policy" : "no such SA");
        else
            op_fail(op, &e);
        return;
    }
    if (code < 0) {
        op_fail(op, &e);
        return;
    }
    if (op->type == XFRM_OP_SA_ALLOCSPI && !op->priv.replied) {
        op_fail_fmt(op, -EPROTO, "kernel acknowledged without reporting the SPI");
        return;
    }
    op->result = 0;
    op->priv.state = ST_DONE;
}

/* Sends the chunk in the batch buffer and reads a reply for each of its
 * count operations. */
static int chunk_exchange(struct xfrm_nl *nl, struct xfrm_op *ops, size_t count, enum phase ph,
                          struct xfrm_err *err)
{
    uint32_t base = ops[nl->chunk_idx[0]].priv.seq;
    size_t pending = count;
    size_t fitted = 0; /* estimated cost of the replies that did arrive */
    bool overrun = false;
    int rc;

    rc = xfrm_nl_send(nl, mnl_nlmsg_batch_head(nl->batch), mnl_nlmsg_batch_size(nl->batch), err);
    if (rc < 0)
        return rc;
    /* Bounded: every pass consumes a datagram or ends on a timeout; after
     * an overrun nothing more can arrive (the kernel answers within the
     * send), so waiting stops at the first empty read. */
    while (pending > 0) {
        struct xfrm_err e;
        int len = xfrm_nl_recv(nl, overrun ? 0 : XFRM_NL_TIMEOUT_MS, &e);
        size_t got;

        if (len == -ENOBUFS) {
            overrun = true;
            continue;
        }
        if (len == -ETIMEDOUT)
            break;
        if (len < 0) {
            if (err)
                *err = e;
            return len;
        }
        got = (size_t)len;
        for (const struct nlmsghdr *h = (const struct nlmsghdr *)nl->rx; mnl_nlmsg_ok(h, len);
             h = mnl_nlmsg_next(h, &len)) {
            uint32_t k = h->nlmsg_seq - base;
            struct xfrm_op *op;

            if (h->nlmsg_pid != nl->portid || k >= count)
                continue; /* late reply to an abandoned chunk */
            op = &ops[nl->chunk_idx[k]];
            if (op->priv.acked)
                continue;
            if (h->nlmsg_type == NLMSG_ERROR) {
                fitted += op_cost(op, ph);
                op_ack(op, ph, h, overrun);
                pending--;
            } else {
                op_reply(op, ph, h);
            }
        }
        xfrm_nl_rx_wipe(nl, got);
    }
    for (size_t k = 0; k < count; k++) {
        struct xfrm_op *op = &ops[nl->chunk_idx[k]];

        if (op->priv.acked)
            continue;
        op->priv.acked = true;
        if (overrun && ph == PHASE_PROBE)
            op_fail_fmt(
                op, -ENOBUFS,
                "ownership lookup lost to a receive buffer overrun: nothing changed, retry");
        else if (overrun)
            op_fail_fmt(
                op, -ENOBUFS,
                "acknowledgement lost to a receive buffer overrun: outcome unknown, look it up");
        else
            op_fail_fmt(op, -ETIMEDOUT, "no acknowledgement from the kernel");
    }
    if (overrun) {
        /* What did fit is a measurement of what the buffer holds; keep
         * a margin under it, and at least halve. */
        size_t budget = nl->ack_budget / 2;

        if (fitted / 2 < budget)
            budget = fitted / 2;
        nl->ack_budget = budget < MIN_BUDGET ? MIN_BUDGET : budget;
    }
    return 0;
}

/* After a send, the message that overflowed the batch (if any) moves to the
 * front; its old copy, which may hold keys, is wiped. */
static void batch_rewind(struct xfrm_nl *nl, size_t sent, bool carried)
{
    const struct nlmsghdr *head;

    mnl_nlmsg_batch_reset(nl->batch);
    if (!carried)
        return;
    head = mnl_nlmsg_batch_head(nl->batch);
    explicit_bzero(nl->tx + sent, head->nlmsg_len);
}

static void batch_discard(struct xfrm_nl *nl)
{
    mnl_nlmsg_batch_reset(nl->batch);
    mnl_nlmsg_batch_reset(nl->batch);
    explicit_bzero(nl->tx, nl->tx_size);
}

static int run_phase(struct xfrm_nl *nl, struct xfrm_op *ops, size_t n, enum phase ph,
                     struct xfrm_err *err)
{
    uint8_t want = ph == PHASE_PROBE ? ST_PROBE : ST_MUTATE;
    size_t carry = SIZE_MAX; /* op whose message already sits at the batch head */
    size_t i = 0;

    for (;;) {
        size_t count = 0, cost = 0, sent;
        bool carried;
        int rc;

        if (carry != SIZE_MAX) {
            nl->chunk_idx[count++] = carry;
            cost = op_cost(&ops[carry], ph);
            carry = SIZE_MAX;
        }
        for (; i < n; i++) {
            struct xfrm_op *op = &ops[i];
            struct nlmsghdr *nlh;
            size_t c;

            if (op->priv.state != want)
                continue;
            c = op_cost(op, ph);
            if (count > 0 && (cost + c > nl->ack_budget || count >= nl->chunk_cap))
                break;
            nlh = op_encode(op, ph, mnl_nlmsg_batch_current(nl->batch));
            nlh->nlmsg_flags |= NLM_F_ACK;
            nlh->nlmsg_seq = xfrm_nl_next_seq(nl);
            op->priv.seq = nlh->nlmsg_seq;
            op->priv.acked = false;
            op->priv.replied = false;
            if (!mnl_nlmsg_batch_next(nl->batch)) {
                carry = i++;
                break;
            }
            nl->chunk_idx[count++] = i;
            cost += c;
        }
        if (count == 0 && carry != SIZE_MAX) {
            /* One message larger than a whole batch: cannot happen
             * with the sizes xfrm_nl_open enforces, but never loop. */
            batch_discard(nl);
            op_fail_fmt(&ops[carry], -EMSGSIZE, "request larger than the netlink batch");
            carry = SIZE_MAX;
            continue;
        }
        if (count == 0)
            return 0;
        sent = mnl_nlmsg_batch_size(nl->batch);
        carried = carry != SIZE_MAX;
        rc = chunk_exchange(nl, ops, count, ph, err);
        if (rc < 0) {
            batch_discard(nl);
            return rc;
        }
        batch_rewind(nl, sent, carried);
    }
}

int xfrm_batch_run(struct xfrm_nl *nl, struct xfrm_op *ops, size_t n, struct xfrm_err *err)
{
    struct xfrm_err e;
    int rc;

    xfrm_err_clear(&e);
    for (size_t i = 0; i < n; i++)
        op_prepare(&ops[i]);
    rc = run_phase(nl, ops, n, PHASE_PROBE, &e);
    if (rc == 0)
        rc = run_phase(nl, ops, n, PHASE_MUTATE, &e);
    if (rc < 0) {
        xfrm_err_prefix(&e, "batch aborted");
        for (size_t i = 0; i < n; i++) {
            if (ops[i].priv.state != ST_DONE)
                op_fail(&ops[i], &e);
        }
        if (err)
            *err = e;
        return rc;
    }
    xfrm_err_clear(err);
    return 0;
}

size_t xfrm_batch_failures(const struct xfrm_op *ops, size_t n)
{
    size_t failed = 0;

    for (size_t i = 0; i < n; i++)
        failed += ops[i].result < 0;
    return failed;
}

/* xfrmd's requests: batches of SA/policy operations, dumps, reconcile and
 * the IKE sockets. Each reply says per item what happened; the kernel's own
 * words come back in the messages. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xfrm_batch.h"
#include "xfrm_owner.h"
#include "xfrm_policy.h"
#include "xfrm_sa.h"
#include "xfrmd.h"
#include "xfrmd_pb.h"

/* Every copy of a key that passed through us is wiped: the library wipes its
 * own structs and netlink buffer, the IPC layer its receive buffer and frame;
 * this is the decoded request. */
static void xfrmd_wipe_request_keys(const Mgate__XfrmBatchRequest *b)
{
    for (size_t i = 0; i < b->n_ops; i++) {
        const Mgate__XfrmOp *op = b->ops[i];
        const Mgate__XfrmSa *sa = op->op_case == MGATE__XFRM_OP__OP_SA_ADD      ? op->sa_add
                                  : op->op_case == MGATE__XFRM_OP__OP_SA_UPDATE ? op->sa_update
                                                                                : NULL;
        if (!sa)
            continue;
        if (sa->enc_key.data)
            explicit_bzero(sa->enc_key.data, sa->enc_key.len);
        if (sa->integ_key.data)
            explicit_bzero(sa->integ_key.data, sa->integ_key.len);
    }
}

/* Storage for one operation's input, whichever kind it is. */
union xfrmd_op_in {
    struct xfrm_sa sa;
    struct xfrm_sa_id sa_id;
    struct xfrm_spi_req spi;
    struct xfrm_policy pol;
    struct xfrm_policy_id pol_id;
};

static int xfrmd_op_prepare(const Mgate__XfrmOp *op, union xfrmd_op_in *in, struct xfrm_op *out,
                            char *why)
{
    memset(out, 0, sizeof(*out));
    switch (op->op_case) {
    case MGATE__XFRM_OP__OP_SA_ADD:
    case MGATE__XFRM_OP__OP_SA_UPDATE:
        out->type = op->op_case == MGATE__XFRM_OP__OP_SA_ADD ? XFRM_OP_SA_ADD : XFRM_OP_SA_UPDATE;
        out->in.sa = &in->sa;
        return xfrmd_pb_to_sa(op->op_case == MGATE__XFRM_OP__OP_SA_ADD ? op->sa_add : op->sa_update,
                              &in->sa, why);
    case MGATE__XFRM_OP__OP_SA_DELETE:
        out->type = XFRM_OP_SA_DELETE;
        out->in.sa_id = &in->sa_id;
        return xfrmd_pb_to_sa_id(op->sa_delete, &in->sa_id, why);
    case MGATE__XFRM_OP__OP_SA_ALLOCSPI:
        out->type = XFRM_OP_SA_ALLOCSPI;
        out->in.spi_req = &in->spi;
        return xfrmd_pb_to_spi_req(op->sa_allocspi, &in->spi, why);
    case MGATE__XFRM_OP__OP_POLICY_ADD:
    case MGATE__XFRM_OP__OP_POLICY_UPDATE:
        out->type = op->op_case == MGATE__XFRM_OP__OP_POLICY_ADD ? XFRM_OP_POLICY_ADD
                                                                 : XFRM_OP_POLICY_UPDATE;
        out->in.policy = &in->pol;
        return xfrmd_pb_to_policy(op->op_case == MGATE__XFRM_OP__OP_POLICY_ADD ? op->policy_add
                                                                               : op->policy_update,
                                  &in->pol, why);
    case MGATE__XFRM_OP__OP_POLICY_DELETE:
        out->type = XFRM_OP_POLICY_DELETE;
        out->in.policy_id = &in->pol_id;
        return xfrmd_pb_to_policy_id(op->policy_delete, &in->pol_id, why);
    default:
        snprintf(why, XFRMD_PB_ERR, "empty or unknown operation");
        return -EINVAL;
    }
}

static void xfrmd_handle_batch(struct xfrmd *x, struct svc *svc, struct ipc_conn *conn, uint64_t id,
                               const Mgate__XfrmBatchRequest *b)
{
    size_t n = b->n_ops;
    union xfrmd_op_in *ins = calloc(n ? n : 1, sizeof(*ins));
    struct xfrm_op *ops = calloc(n ? n : 1, sizeof(*ops));
    struct xfrm_op *run = calloc(n ? n : 1, sizeof(*run));
    size_t *map = calloc(n ? n : 1, sizeof(*map));
    Mgate__XfrmOpResult *res = calloc(n ? n : 1, sizeof(*res));
    Mgate__XfrmOpResult **resp = calloc(n ? n : 1, sizeof(*resp));
    char(*why)[XFRMD_PB_ERR] = calloc(n ? n : 1, XFRMD_PB_ERR);
    if (!ins || !ops || !run || !map || !res || !resp || !why) {
        log_err("out of memory for a batch of %zu operations", n);
        svc_reply_error(svc, conn, id, MGATE__ERROR_CODE__ERR_INTERNAL, "out of memory");
        goto out;
    }
    /* Operations that do not even translate fail alone; the rest run. */
    size_t n_run = 0;
    for (size_t i = 0; i < n; i++) {
        mgate__xfrm_op_result__init(&res[i]);
        resp[i] = &res[i];
        if (xfrmd_op_prepare(b->ops[i], &ins[i], &ops[i], why[i]) < 0) {
            res[i].errnum = EINVAL;
            res[i].message = why[i];
            continue;
        }
        run[n_run] = ops[i];
        map[n_run++] = i;
    }
    struct xfrm_err err = {0};
    int rc = xfrm_batch_run(x->nl, run, n_run, &err);
    if (rc < 0)
        log_err("netlink failed during a batch: %s", err.msg);
    uint32_t failed = 0;
    for (size_t k = 0; k < n_run; k++) {
        size_t i = map[k];
        res[i].spi = run[k].spi;
        if (run[k].result < 0) {
            res[i].errnum = -run[k].result;
            snprintf(why[i], XFRMD_PB_ERR, "%s", run[k].err.msg);
            res[i].message = why[i];
        }
    }
    const char *first = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!res[i].errnum)
            continue;
        failed++;
        if (!first)
            first = res[i].message;
    }
    if (failed)
        log_info("batch of %zu operations: %u failed (first: %s)", n, failed, first);
    Mgate__XfrmBatchReply rep = MGATE__XFRM_BATCH_REPLY__INIT;
    rep.results = resp;
    rep.n_results = n;
    rep.failed = failed;
    svc_reply(svc, conn, id, MGATE__XFRMD_RESPONSE__BODY_BATCH, &rep.base);
out:
    for (size_t i = 0; ins && i < n; i++)
        if (ops && (ops[i].type == XFRM_OP_SA_ADD || ops[i].type == XFRM_OP_SA_UPDATE))
            xfrm_sa_wipe(&ins[i].sa);
    free(ins);
    free(ops);
    free(run);
    free(map);
    free(res);
    free(resp);
    free(why);
}

/* Collects dump results into a growing array of protobuf items. */
struct xfrmd_list {
    void **items;
    size_t n, cap;
    bool oom;
};

static int xfrmd_list_push(struct xfrmd_list *l, void *item)
{
    if (!item) {
        l->oom = true;
        return -ENOMEM;
    }
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 64;
        void **ni = realloc(l->items, ncap * sizeof(*ni));
        if (!ni) {
            l->oom = true;
            return -ENOMEM;
        }
        l->items = ni;
        l->cap = ncap;
    }
    l->items[l->n++] = item;
    return 0;
}

static int xfrmd_collect_sa(const struct xfrm_sa_info *sa, void *arg)
{
    return xfrmd_list_push(arg, xfrmd_pb_sa_info_new(sa));
}

static int xfrmd_collect_policy(const struct xfrm_policy_info *p, void *arg)
{
    return xfrmd_list_push(arg, xfrmd_pb_policy_info_new(p));
}

static void xfrmd_list_free(struct xfrmd_list *l, void (*fn)(void *))
{
    for (size_t i = 0; i < l->n; i++)
        fn(l->items[i]);
    free(l->items);
    memset(l, 0, sizeof(*l));
}

static void xfrmd_free_sa_item(void *p)
{
    xfrmd_pb_sa_info_free(p);
}

static void xfrmd_free_policy_item(void *p)
{
    xfrmd_pb_policy_info_free(p);
}

static int xfrmd_dump_sas(struct xfrmd *x, bool all, struct xfrmd_list *l, struct xfrm_err *err)
{
    int rc = xfrm_sa_dump(x->nl, all ? XFRM_DUMP_ALL : XFRM_DUMP_OURS, xfrmd_collect_sa, l, err);
    if (rc == 0 && l->oom)
        rc = -ENOMEM;
    return rc;
}

static int xfrmd_dump_policies(struct xfrmd *x, bool all, struct xfrmd_list *l,
                               struct xfrm_err *err)
{
    int rc =
        xfrm_policy_dump(x->nl, all ? XFRM_DUMP_ALL : XFRM_DUMP_OURS, xfrmd_collect_policy, l, err);
    if (rc == 0 && l->oom)
        rc = -ENOMEM;
    return rc;
}

static void xfrmd_handle_dump(struct xfrmd *x, struct svc *svc, struct ipc_conn *conn, uint64_t id,
                              const Mgate__XfrmDumpRequest *d, bool sas)
{
    struct xfrmd_list l = {0};
    struct xfrm_err err = {0};
    int rc = sas ? xfrmd_dump_sas(x, d->all, &l, &err) : xfrmd_dump_policies(x, d->all, &l, &err);
    if (rc < 0) {
        log_err("%s dump failed: %s", sas ? "SA" : "policy", err.msg[0] ? err.msg : strerror(-rc));
        svc_reply_error(svc, conn, id, MGATE__ERROR_CODE__ERR_KERNEL, "dump failed: %s",
                        err.msg[0] ? err.msg : strerror(-rc));
    } else if (sas) {
        Mgate__XfrmSaList list = MGATE__XFRM_SA_LIST__INIT;
        list.sas = (Mgate__XfrmSaInfo **)l.items;
        list.n_sas = l.n;
        svc_reply(svc, conn, id, MGATE__XFRMD_RESPONSE__BODY_SAS, &list.base);
    } else {
        Mgate__XfrmPolicyList list = MGATE__XFRM_POLICY_LIST__INIT;
        list.policies = (Mgate__XfrmPolicyInfo **)l.items;
        list.n_policies = l.n;
        svc_reply(svc, conn, id, MGATE__XFRMD_RESPONSE__BODY_POLICIES, &list.base);
    }
    xfrmd_list_free(&l, sas ? xfrmd_free_sa_item : xfrmd_free_policy_item);
}

/* --- reconcile ---------------------------------------------------------- */

static bool xfrmd_addr_eq(const struct xfrm_addr *a, const struct xfrm_addr *b)
{
    if (a->family != b->family)
        return false;
    if (a->family == AF_INET)
        return memcmp(&a->u.v4, &b->u.v4, 4) == 0;
    if (a->family == AF_INET6)
        return memcmp(&a->u.v6, &b->u.v6, 16) == 0;
    return true;
}

static bool xfrmd_sel_eq(const struct xfrm_sel *a, const struct xfrm_sel *b)
{
    return xfrmd_addr_eq(&a->src, &b->src) && xfrmd_addr_eq(&a->dst, &b->dst) &&
           a->src_plen == b->src_plen && a->dst_plen == b->dst_plen && a->proto == b->proto &&
           a->sport == b->sport && a->dport == b->dport && a->ifindex == b->ifindex;
}

struct xfrmd_reconcile {
    struct xfrm_sa_id *keep_sa;
    size_t n_keep_sa;
    struct xfrm_policy_id *keep_pol;
    size_t n_keep_pol;
    struct xfrm_sa_id *del_sa;
    size_t n_del_sa;
    struct xfrm_policy_id *del_pol;
    size_t n_del_pol;
    bool oom;
};

static int xfrmd_reconcile_sa(const struct xfrm_sa_info *sa, void *arg)
{
    struct xfrmd_reconcile *r = arg;
    /* An ACQUIRE's larval SA has SPI 0: the kernel finds SAs by (dst, SPI)
     * and cannot delete it (ESRCH), so it would be reported deleted while it
     * stays. It dies by itself after net.core.xfrm_acq_expires; it is listed
     * among the present SAs (larval) meanwhile. */
    if (sa->spi == 0)
        return 0;
    for (size_t i = 0; i < r->n_keep_sa; i++)
        if (r->keep_sa[i].spi == sa->spi && xfrmd_addr_eq(&r->keep_sa[i].dst, &sa->dst) &&
            r->keep_sa[i].mark.value == sa->mark.value && r->keep_sa[i].mark.mask == sa->mark.mask)
            return 0;
    struct xfrm_sa_id *n = realloc(r->del_sa, (r->n_del_sa + 1) * sizeof(*n));
    if (!n) {
        r->oom = true;
        return -ENOMEM;
    }
    r->del_sa = n;
    r->del_sa[r->n_del_sa++] =
        (struct xfrm_sa_id){.dst = sa->dst, .spi = sa->spi, .mark = sa->mark};
    return 0;
}

static int xfrmd_reconcile_policy(const struct xfrm_policy_info *p, void *arg)
{
    struct xfrmd_reconcile *r = arg;
    for (size_t i = 0; i < r->n_keep_pol; i++) {
        const struct xfrm_policy_id *k = &r->keep_pol[i];
        if (k->dir == p->pol.dir && xfrmd_sel_eq(&k->sel, &p->pol.sel) &&
            k->mark.value == p->pol.mark.value && k->mark.mask == p->pol.mark.mask &&
            k->if_id == p->pol.if_id)
            return 0;
    }
    struct xfrm_policy_id *n = realloc(r->del_pol, (r->n_del_pol + 1) * sizeof(*n));
    if (!n) {
        r->oom = true;
        return -ENOMEM;
    }
    r->del_pol = n;
    r->del_pol[r->n_del_pol++] = (struct xfrm_policy_id){
        .sel = p->pol.sel, .dir = p->pol.dir, .mark = p->pol.mark, .if_id = p->pol.if_id};
    return 0;
}

static void xfrmd_handle_reconcile(struct xfrmd *x, struct svc *svc, struct ipc_conn *conn,
                                   uint64_t id, const Mgate__XfrmReconcileRequest *rq)
{
    struct xfrmd_reconcile r = {0};
    struct xfrm_err err = {0};
    char why[XFRMD_PB_ERR];
    struct xfrmd_list sas = {0}, pols = {0};
    Mgate__XfrmSaId **dsa = NULL;
    Mgate__XfrmPolicyId **dpol = NULL;
    struct xfrm_op *ops = NULL;
    r.keep_sa = calloc(rq->n_keep_sas + 1, sizeof(*r.keep_sa));
    r.keep_pol = calloc(rq->n_keep_policies + 1, sizeof(*r.keep_pol));
    if (!r.keep_sa || !r.keep_pol)
        goto oom;
    for (size_t i = 0; i < rq->n_keep_sas; i++)
        if (xfrmd_pb_to_sa_id(rq->keep_sas[i], &r.keep_sa[i], why) < 0) {
            svc_reply_error(svc, conn, id, MGATE__ERROR_CODE__ERR_INVALID, "keep_sas[%zu]: %s", i,
                            why);
            goto out;
        }
    r.n_keep_sa = rq->n_keep_sas;
    for (size_t i = 0; i < rq->n_keep_policies; i++)
        if (xfrmd_pb_to_policy_id(rq->keep_policies[i], &r.keep_pol[i], why) < 0) {
            svc_reply_error(svc, conn, id, MGATE__ERROR_CODE__ERR_INVALID, "keep_policies[%zu]: %s",
                            i, why);
            goto out;
        }
    r.n_keep_pol = rq->n_keep_policies;
    if (xfrm_sa_dump(x->nl, XFRM_DUMP_OURS, xfrmd_reconcile_sa, &r, &err) < 0 ||
        xfrm_policy_dump(x->nl, XFRM_DUMP_OURS, xfrmd_reconcile_policy, &r, &err) < 0) {
        if (r.oom)
            goto oom;
        svc_reply_error(svc, conn, id, MGATE__ERROR_CODE__ERR_KERNEL, "dump failed: %s", err.msg);
        goto out;
    }
    uint32_t failed = 0;
    size_t n_ops = r.n_del_sa + r.n_del_pol;
    if (!rq->dry_run && n_ops) {
        ops = calloc(n_ops, sizeof(*ops));
        if (!ops)
            goto oom;
        /* Policies first: an SA whose policy is gone can no longer be hit. */
        for (size_t i = 0; i < r.n_del_pol; i++) {
            ops[i].type = XFRM_OP_POLICY_DELETE;
            ops[i].in.policy_id = &r.del_pol[i];
        }
        for (size_t i = 0; i < r.n_del_sa; i++) {
            ops[r.n_del_pol + i].type = XFRM_OP_SA_DELETE;
            ops[r.n_del_pol + i].in.sa_id = &r.del_sa[i];
        }
        xfrm_batch_run(x->nl, ops, n_ops, &err);
        for (size_t i = 0; i < n_ops; i++)
            if (ops[i].result < 0 && ops[i].result != -ENOENT && ops[i].result != -ESRCH) {
                failed++;
                log_err("reconcile: %s", ops[i].err.msg);
            }
        log_notice("reconcile: removed %zu orphaned SAs and %zu policies iked no longer wants%s",
                   r.n_del_sa, r.n_del_pol, failed ? " (some deletions failed)" : "");
    }
    if (xfrmd_dump_sas(x, false, &sas, &err) < 0 ||
        xfrmd_dump_policies(x, false, &pols, &err) < 0) {
        svc_reply_error(svc, conn, id, MGATE__ERROR_CODE__ERR_KERNEL, "dump failed: %s", err.msg);
        goto out;
    }
    dsa = calloc(r.n_del_sa + 1, sizeof(*dsa));
    dpol = calloc(r.n_del_pol + 1, sizeof(*dpol));
    if (!dsa || !dpol)
        goto oom;
    for (size_t i = 0; i < r.n_del_sa; i++)
        if (!(dsa[i] = xfrmd_pb_sa_id_new(&r.del_sa[i])))
            goto oom;
    for (size_t i = 0; i < r.n_del_pol; i++)
        if (!(dpol[i] = xfrmd_pb_policy_id_new(&r.del_pol[i])))
            goto oom;
    Mgate__XfrmSaList sl = MGATE__XFRM_SA_LIST__INIT;
    Mgate__XfrmPolicyList pl = MGATE__XFRM_POLICY_LIST__INIT;
    Mgate__XfrmReconcileReply rep = MGATE__XFRM_RECONCILE_REPLY__INIT;
    rep.n_sas = (uint32_t)sas.n;
    rep.n_policies = (uint32_t)pols.n;
    if (rq->list_present) {
        sl.sas = (Mgate__XfrmSaInfo **)sas.items;
        sl.n_sas = sas.n;
        pl.policies = (Mgate__XfrmPolicyInfo **)pols.items;
        pl.n_policies = pols.n;
        rep.sas = &sl;
        rep.policies = &pl;
    }
    rep.deleted_sas = dsa;
    rep.n_deleted_sas = r.n_del_sa;
    rep.deleted_policies = dpol;
    rep.n_deleted_policies = r.n_del_pol;
    rep.failed = failed;
    svc_reply(svc, conn, id, MGATE__XFRMD_RESPONSE__BODY_RECONCILE, &rep.base);
    goto out;
oom:
    log_err("reconcile: out of memory");
    svc_reply_error(svc, conn, id, MGATE__ERROR_CODE__ERR_INTERNAL, "out of memory");
out:
    for (size_t i = 0; dsa && i < r.n_del_sa; i++)
        free(dsa[i]);
    for (size_t i = 0; dpol && i < r.n_del_pol; i++)
        free(dpol[i]);
    free(dsa);
    free(dpol);
    free(ops);
    xfrmd_list_free(&sas, xfrmd_free_sa_item);
    xfrmd_list_free(&pols, xfrmd_free_policy_item);
    free(r.keep_sa);
    free(r.keep_pol);
    free(r.del_sa);
    free(r.del_pol);
}

/* --- IKE sockets ---------------------------------------------------------- */

static void xfrmd_handle_ike_sockets(struct xfrmd *x, struct svc *svc, struct ipc_conn *conn,
                                     uint64_t id)
{
    char why[256];
    if (xfrmd_ikesock_open(x, why, sizeof(why)) < 0) {
        svc_reply_error(svc, conn, id, MGATE__ERROR_CODE__ERR_INTERNAL, "%s", why);
        return;
    }
    Mgate__IkeSocket socks[XFRMD_IKESOCK_MAX];
    Mgate__IkeSocket *ptrs[XFRMD_IKESOCK_MAX];
    int fds[XFRMD_IKESOCK_MAX];
    for (size_t i = 0; i < x->n_ike; i++) {
        mgate__ike_socket__init(&socks[i]);
        socks[i].addr.data = x->ike[i].addr;
        socks[i].addr.len = x->ike[i].addr_len;
        socks[i].port = x->ike[i].port;
        socks[i].natt = x->ike[i].natt;
        ptrs[i] = &socks[i];
        fds[i] = x->ike[i].fd;
    }
    Mgate__IkeSocketsReply rep = MGATE__IKE_SOCKETS_REPLY__INIT;
    rep.sockets = ptrs;
    rep.n_sockets = x->n_ike;
    Mgate__XfrmdResponse env = MGATE__XFRMD_RESPONSE__INIT;
    env.body_case = MGATE__XFRMD_RESPONSE__BODY_IKE_SOCKETS;
    env.ike_sockets = &rep;
    int rc = ipc_conn_reply_fds(conn, id, &env.base, fds, x->n_ike);
    if (rc == -EAGAIN)
        svc_reply_error(svc, conn, id, MGATE__ERROR_CODE__ERR_UNAVAILABLE,
                        "ask for the IKE sockets on a connection with nothing else pending");
    else if (rc == 0)
        log_info("passed %zu IKE sockets to pid %d", x->n_ike, (int)ipc_conn_peer(conn)->pid);
}

void xfrmd_api_handle(struct svc *svc, struct ipc_conn *conn, uint64_t id,
                      const ProtobufCMessage *req, uint32_t body_case, void *ud)
{
    struct xfrmd *x = ud;
    const Mgate__XfrmdRequest *r = (const Mgate__XfrmdRequest *)req;
    switch (body_case) {
    case MGATE__XFRMD_REQUEST__BODY_BATCH:
        xfrmd_handle_batch(x, svc, conn, id, r->batch);
        xfrmd_wipe_request_keys(r->batch);
        break;
    case MGATE__XFRMD_REQUEST__BODY_DUMP_SAS:
        xfrmd_handle_dump(x, svc, conn, id, r->dump_sas, true);
        break;
    case MGATE__XFRMD_REQUEST__BODY_DUMP_POLICIES:
        xfrmd_handle_dump(x, svc, conn, id, r->dump_policies, false);
        break;
    case MGATE__XFRMD_REQUEST__BODY_RECONCILE:
        xfrmd_handle_reconcile(x, svc, conn, id, r->reconcile);
        break;
    case MGATE__XFRMD_REQUEST__BODY_IKE_SOCKETS:
        xfrmd_handle_ike_sockets(x, svc, conn, id);
        break;
    case MGATE__XFRMD_REQUEST__BODY_MOVE:
        xfrmd_move_handle(x, svc, conn, id, r->move);
        break;
    default:
        svc_reply_error(svc, conn, id, MGATE__ERROR_CODE__ERR_UNSUPPORTED,
                        "xfrmd does not serve request %u", body_case);
    }
}

static int xfrmd_count(const struct xfrm_sa_info *sa, void *arg)
{
    (void)sa;
    (*(size_t *)arg)++;
    return 0;
}

static int xfrmd_count_pol(const struct xfrm_policy_info *p, void *arg)
{
    (void)p;
    (*(size_t *)arg)++;
    return 0;
}

void xfrmd_api_census(struct xfrmd *x)
{
    size_t n_sa = 0, n_pol = 0;
    struct xfrm_err err = {0};
    if (xfrm_sa_dump(x->nl, XFRM_DUMP_OURS, xfrmd_count, &n_sa, &err) < 0 ||
        xfrm_policy_dump(x->nl, XFRM_DUMP_OURS, xfrmd_count_pol, &n_pol, &err) < 0) {
        log_err("cannot read the kernel's XFRM state: %s", err.msg);
        return;
    }
    log_notice("kernel holds %zu SAs and %zu policies of mgate's (reqids 0x%08x-0x%08x)", n_sa,
               n_pol, XFRM_OWNER_REQID_MIN, XFRM_OWNER_REQID_MAX);
}

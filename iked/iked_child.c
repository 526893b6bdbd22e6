/* CHILD SAs into and out of the kernel, through xfrmd: two ESP SAs (in and
 * out) and, per corporate subnet, the out/in/fwd policy triple, in one
 * batch. The kernel then enforces the narrowed traffic selectors: what the
 * device's policy does not allow has no policy and is dropped. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "ike_const.h"
#include "iked.h"
#include "iked_rekey.h"
#include "log.h"
#include "xfrmd.pb-c.h"

/* xfrmd accepts only reqids in its owned range ('M'): 0x4d000000-0x4dffffff. */
#define IKED_REQID_BASE 0x4d000000u
#define IKED_REQID_SPAN 0x00ffffffu

#define IKED_MAX_OPS (6 + 3 * IKE_CHILD_MAX_TS)

struct iked_child_call {
    struct iked *ik;
    uint64_t spi_r; /* the SA may be gone when xfrmd answers: look it up again */
    void (*done)(struct iked *ik, struct ike_sa *sa, bool ok);
};

static Mgate__XfrmEncAlg iked_child_enc(const struct iked_esp_proposal *p)
{
    switch (p->encr) {
    case IKE_ENCR_AES_GCM_16:
        return p->encr_keybits == 256 ? MGATE__XFRM_ENC_ALG__XFRM_ENC_AES_GCM16_256
                                      : MGATE__XFRM_ENC_ALG__XFRM_ENC_AES_GCM16_128;
    case IKE_ENCR_CHACHA20_POLY1305:
        return MGATE__XFRM_ENC_ALG__XFRM_ENC_CHACHA20_POLY1305;
    case IKE_ENCR_AES_CBC:
        return p->encr_keybits == 256 ? MGATE__XFRM_ENC_ALG__XFRM_ENC_AES_CBC_256
                                      : MGATE__XFRM_ENC_ALG__XFRM_ENC_AES_CBC_128;
    }
    return MGATE__XFRM_ENC_ALG__XFRM_ENC_NONE;
}

static Mgate__XfrmIntegAlg iked_child_integ(const struct iked_esp_proposal *p)
{
    switch (p->integ) {
    case IKE_AUTH_HMAC_SHA2_256_128:
        return MGATE__XFRM_INTEG_ALG__XFRM_INTEG_HMAC_SHA2_256_128;
    case IKE_AUTH_HMAC_SHA2_384_192:
        return MGATE__XFRM_INTEG_ALG__XFRM_INTEG_HMAC_SHA2_384_192;
    case IKE_AUTH_HMAC_SHA2_512_256:
        return MGATE__XFRM_INTEG_ALG__XFRM_INTEG_HMAC_SHA2_512_256;
    }
    return MGATE__XFRM_INTEG_ALG__XFRM_INTEG_NONE;
}

static ProtobufCBinaryData iked_addr_bin(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return (ProtobufCBinaryData){4, (uint8_t *)&((struct sockaddr_in *)ss)->sin_addr};
    return (ProtobufCBinaryData){16, (uint8_t *)&((struct sockaddr_in6 *)ss)->sin6_addr};
}

static uint16_t iked_port(const struct sockaddr_storage *ss)
{
    return ss->ss_family == AF_INET ? ntohs(((const struct sockaddr_in *)ss)->sin_port)
                                    : ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

static ProtobufCBinaryData iked_ts_bin(const struct ike_child_ts *ts)
{
    return (ProtobufCBinaryData){ts->family == AF_INET ? 4 : 16, (uint8_t *)ts->addr};
}

/* Everything one batch needs, in one allocation. */
struct iked_child_batch {
    Mgate__XfrmSa sa[2];
    Mgate__XfrmSaId sa_id[6]; /* a rekey's old and redundant pairs too */
    Mgate__XfrmPolicy pol[3 * IKE_CHILD_MAX_TS];
    Mgate__XfrmPolicyId pol_id[3 * IKE_CHILD_MAX_TS];
    Mgate__XfrmSelector sel[3 * IKE_CHILD_MAX_TS];
    Mgate__XfrmTmpl tmpl[3 * IKE_CHILD_MAX_TS];
    Mgate__XfrmTmpl *tmpl_ptr[3 * IKE_CHILD_MAX_TS];
    Mgate__XfrmLifetime lft[2];
    Mgate__XfrmOp op[IKED_MAX_OPS];
    Mgate__XfrmOp *ops[IKED_MAX_OPS];
    size_t n_ops;
    size_t n_ids;
};

/* Policies: out = corporate subnet -> device, in/fwd = device -> subnet. */
static void iked_child_policies(struct ike_sa *sa, const struct child_sa *c,
                                struct iked_child_batch *b, bool add)
{
    static const Mgate__XfrmDir dirs[3] = {
        MGATE__XFRM_DIR__XFRM_DIR_OUT, MGATE__XFRM_DIR__XFRM_DIR_IN, MGATE__XFRM_DIR__XFRM_DIR_FWD};
    size_t k = 0;
    for (size_t t = 0; t < c->n_ts_local; t++) {
        for (int d = 0; d < 3; d++, k++) {
            bool out = dirs[d] == MGATE__XFRM_DIR__XFRM_DIR_OUT;
            Mgate__XfrmSelector *sel = &b->sel[k];
            mgate__xfrm_selector__init(sel);
            const struct ike_child_ts *l = &c->ts_local[t], *r = &c->ts_remote;
            sel->src = out ? iked_ts_bin(l) : iked_ts_bin(r);
            sel->dst = out ? iked_ts_bin(r) : iked_ts_bin(l);
            sel->src_plen = out ? l->plen : r->plen;
            sel->dst_plen = out ? r->plen : l->plen;
            sel->proto = l->proto;
            /* The granted port is the corporate side's: destination
             * towards the corporate network, source back to the device. */
            if (l->port && out)
                sel->sport = l->port;
            else if (l->port)
                sel->dport = l->port;
            Mgate__XfrmOp *op = &b->op[b->n_ops];
            mgate__xfrm_op__init(op);
            if (add) {
                Mgate__XfrmPolicy *p = &b->pol[k];
                mgate__xfrm_policy__init(p);
                mgate__xfrm_tmpl__init(&b->tmpl[k]);
                b->tmpl[k].src = out ? iked_addr_bin(&sa->local) : iked_addr_bin(&sa->remote);
                b->tmpl[k].dst = out ? iked_addr_bin(&sa->remote) : iked_addr_bin(&sa->local);
                b->tmpl[k].reqid = c->reqid;
                b->tmpl_ptr[k] = &b->tmpl[k];
                p->sel = sel;
                p->dir = dirs[d];
                p->tmpl = &b->tmpl_ptr[k];
                p->n_tmpl = 1;
                /* update, not add: a device reconnecting replaces its old
                 * tunnel's policies (same selectors) in one step. */
                op->op_case = MGATE__XFRM_OP__OP_POLICY_UPDATE;
                op->policy_update = p;
            } else {
                Mgate__XfrmPolicyId *id = &b->pol_id[k];
                mgate__xfrm_policy_id__init(id);
                id->sel = sel;
                id->dir = dirs[d];
                op->op_case = MGATE__XFRM_OP__OP_POLICY_DELETE;
                op->policy_delete = id;
            }
            b->ops[b->n_ops] = op;
            b->n_ops++;
        }
    }
}

/* dirs: IKED_CHILD_IN | IKED_CHILD_OUT, the SAs of c to add or delete. */
#define IKED_CHILD_IN   1u
#define IKED_CHILD_OUT  2u
#define IKED_CHILD_BOTH 3u

static void iked_child_sas(struct iked *ik, struct ike_sa *sa, struct child_sa *c,
                           struct iked_child_batch *b, bool add, unsigned dirs)
{
    for (int i = 0; i < 2; i++) {
        bool in = i == 0;
        if (!(dirs & (in ? IKED_CHILD_IN : IKED_CHILD_OUT)))
            continue;
        Mgate__XfrmOp *op = &b->op[b->n_ops];
        mgate__xfrm_op__init(op);
        if (add) {
            Mgate__XfrmSa *x = &b->sa[i];
            mgate__xfrm_sa__init(x);
            x->src = in ? iked_addr_bin(&sa->remote) : iked_addr_bin(&sa->local);
            x->dst = in ? iked_addr_bin(&sa->local) : iked_addr_bin(&sa->remote);
            x->spi = in ? c->spi_in : c->spi_out;
            x->reqid = c->reqid;
            x->enc = iked_child_enc(&c->esp);
            x->enc_key.data = in ? c->enc_key_in : c->enc_key_out;
            x->enc_key.len = c->enc_key_len;
            x->integ = iked_child_integ(&c->esp);
            x->integ_key.data = in ? c->integ_key_in : c->integ_key_out;
            x->integ_key.len = c->integ_key_len;
            x->esn = c->esp.esn;
            x->replay_window = c->esp.esn ? 128 : 32;
            mgate__xfrm_lifetime__init(&b->lft[i]);
            /* The hard limit is the backstop; the soft one, earlier by
             * rekey_margin and a random part, starts our rekey. */
            b->lft[i].hard_add_s = ik->set.child_lifetime_s;
            b->lft[i].soft_add_s = iked_rekey_soft_s(ik, ik->set.child_lifetime_s);
            x->lifetime = &b->lft[i];
            if (sa->natt) {
                x->encap = true;
                x->encap_sport = in ? iked_port(&sa->remote) : iked_port(&sa->local);
                x->encap_dport = in ? iked_port(&sa->local) : iked_port(&sa->remote);
            }
            op->op_case = MGATE__XFRM_OP__OP_SA_ADD;
            op->sa_add = x;
        } else {
            Mgate__XfrmSaId *id = &b->sa_id[b->n_ids++];
            mgate__xfrm_sa_id__init(id);
            id->dst = in ? iked_addr_bin(&sa->local) : iked_addr_bin(&sa->remote);
            id->spi = in ? c->spi_in : c->spi_out;
            op->op_case = MGATE__XFRM_OP__OP_SA_DELETE;
            op->sa_delete = id;
        }
        b->ops[b->n_ops] = op;
        b->n_ops++;
    }
}

static int iked_child_send(struct iked *ik, struct iked_child_batch *b, upstream_reply_fn cb,
                           void *ud)
{
    struct upstream *xf = service_upstream(ik->s, "xfrmd");
    if (!xf || !upstream_connected(xf))
        return -ENOTCONN;
    Mgate__XfrmBatchRequest req = MGATE__XFRM_BATCH_REQUEST__INIT;
    req.ops = b->ops;
    req.n_ops = b->n_ops;
    return upstream_request(xf, MGATE__XFRMD_REQUEST__BODY_BATCH, &req.base, cb, ud);
}

static void iked_child_on_installed(struct upstream *up, const ProtobufCMessage *resp,
                                    const Mgate__Error *err, void *ud)
{
    struct iked_child_call *call = ud;
    struct iked *ik = call->ik;
    (void)up;
    struct ike_sa *sa = iked_sa_table_by_spi_r(ik->sas, call->spi_r);
    bool ok = false;
    const Mgate__XfrmdResponse *r = (const Mgate__XfrmdResponse *)resp;
    if (err) {
        log_err("installing a CHILD SA: xfrmd: %s", err->message);
    } else if (r->body_case != MGATE__XFRMD_RESPONSE__BODY_BATCH) {
        log_err("installing a CHILD SA: unexpected answer from xfrmd");
    } else if (r->batch->failed) {
        for (size_t i = 0; i < r->batch->n_results; i++)
            if (r->batch->results[i]->errnum) {
                log_err("installing a CHILD SA: %s", r->batch->results[i]->message);
                break;
            }
    } else {
        ok = true;
    }
    if (sa) {
        if (ok) {
            sa->child->installed = true;
            sa->child->installed_ms = iked_now_ms(ik);
        } else if (r && r->body_case == MGATE__XFRMD_RESPONSE__BODY_BATCH)
            /* Half of it may be in: take out whatever went in. */
            sa->child->installed = true;
        call->done(ik, sa, ok);
    }
    free(call);
}

int iked_child_install(struct iked *ik, struct ike_sa *sa,
                       void (*done)(struct iked *ik, struct ike_sa *sa, bool ok))
{
    if (!sa->child)
        return -EINVAL;
    sa->child->reqid = IKED_REQID_BASE + 1 + (ik->next_reqid++ % IKED_REQID_SPAN);
    struct iked_child_batch *b = calloc(1, sizeof(*b));
    struct iked_child_call *call = malloc(sizeof(*call));
    if (!b || !call) {
        free(b);
        free(call);
        return -ENOMEM;
    }
    /* SAs before policies: the moment the out policy exists, traffic to the
     * device needs its SA. */
    iked_child_sas(ik, sa, sa->child, b, true, IKED_CHILD_BOTH);
    iked_child_policies(sa, sa->child, b, true);
    call->ik = ik;
    call->spi_r = sa->spi_r;
    call->done = done;
    int rc = iked_child_send(ik, b, iked_child_on_installed, call);
    /* The keys went into the frame; this copy is no longer needed. */
    explicit_bzero(sa->child->enc_key_in, sizeof(sa->child->enc_key_in));
    explicit_bzero(sa->child->enc_key_out, sizeof(sa->child->enc_key_out));
    explicit_bzero(sa->child->integ_key_in, sizeof(sa->child->integ_key_in));
    explicit_bzero(sa->child->integ_key_out, sizeof(sa->child->integ_key_out));
    explicit_bzero(b, sizeof(*b));
    free(b);
    if (rc < 0) {
        log_err("cannot install a CHILD SA: xfrmd %s",
                rc == -ENOTCONN ? "is not connected" : strerror(-rc));
        free(call);
    }
    return rc;
}

static void iked_child_on_removed(struct upstream *up, const ProtobufCMessage *resp,
                                  const Mgate__Error *err, void *ud)
{
    (void)up;
    (void)ud;
    const Mgate__XfrmdResponse *r = (const Mgate__XfrmdResponse *)resp;
    if (err) {
        log_err("removing a CHILD SA: xfrmd: %s (reconcile will remove it)", err->message);
        return;
    }
    for (size_t i = 0;
         r && r->body_case == MGATE__XFRMD_RESPONSE__BODY_BATCH && i < r->batch->n_results; i++)
        if (r->batch->results[i]->errnum && r->batch->results[i]->errnum != ENOENT &&
            r->batch->results[i]->errnum != ESRCH)
            log_warn("removing a CHILD SA: %s", r->batch->results[i]->message);
}

int iked_child_remove(struct iked *ik, struct ike_sa *sa)
{
    if (!sa->child || !sa->child->installed)
        return 0;
    struct iked_child_batch *b = calloc(1, sizeof(*b));
    if (!b)
        return -ENOMEM;
    /* Policies first: with the policy gone, nothing is encrypted for an SA
     * that is about to vanish. A replaced SA's policies belong to its
     * successor (same virtual IP, updated in place): only its SAs go. */
    if (!sa->lease_moved)
        iked_child_policies(sa, sa->child, b, false);
    iked_child_sas(ik, sa, sa->child, b, false, IKED_CHILD_BOTH);
    int rc = iked_child_send(ik, b, iked_child_on_removed, NULL);
    free(b);
    sa->child->installed = false;
    if (rc < 0)
        log_err("cannot remove a CHILD SA now (xfrmd %s); reconcile will",
                rc == -ENOTCONN ? "is not connected" : strerror(-rc));
    return rc;
}

static void iked_child_on_retargeted(struct upstream *up, const ProtobufCMessage *resp,
                                     const Mgate__Error *err, void *ud)
{
    (void)up;
    (void)ud;
    const Mgate__XfrmdResponse *r = (const Mgate__XfrmdResponse *)resp;
    if (err) {
        log_err("replacing a tunnel's policies: xfrmd: %s", err->message);
        return;
    }
    for (size_t i = 0; r->body_case == MGATE__XFRMD_RESPONSE__BODY_BATCH && i < r->batch->n_results;
         i++)
        if (r->batch->results[i]->errnum && r->batch->results[i]->errnum != ENOENT)
            log_err("replacing a tunnel's policies: %s", r->batch->results[i]->message);
}

int iked_child_retarget(struct iked *ik, struct ike_sa *sa, const struct ike_child_ts *ts, size_t n)
{
    struct child_sa *c = sa->child;
    if (!c || !c->installed || n == 0 || n > IKE_CHILD_MAX_TS)
        return -EINVAL;
    struct ike_child_ts gone[IKE_CHILD_MAX_TS];
    size_t n_gone = 0;
    for (size_t i = 0; i < c->n_ts_local; i++) {
        bool kept = false;
        for (size_t k = 0; k < n && !kept; k++)
            kept = memcmp(&c->ts_local[i], &ts[k], sizeof(ts[k])) == 0;
        if (!kept)
            gone[n_gone++] = c->ts_local[i];
    }
    struct iked_child_batch *add = calloc(1, sizeof(*add)), *del = calloc(1, sizeof(*del));
    Mgate__XfrmOp **ops = calloc(2 * IKED_MAX_OPS, sizeof(*ops));
    /* The selectors point into the child they were built from: the
     * deletes are built from a copy holding the selectors that go. */
    struct child_sa *old = malloc(sizeof(*old));
    int rc = -ENOMEM;
    if (add && del && ops && old) {
        /* New and kept policies first (update: no gap for the kept ones),
         * then the ones no longer granted: one batch, applied at once. */
        *old = *c;
        memcpy(old->ts_local, gone, n_gone * sizeof(gone[0]));
        old->n_ts_local = n_gone;
        iked_child_policies(sa, old, del, false);
        memcpy(c->ts_local, ts, n * sizeof(ts[0]));
        c->n_ts_local = n;
        iked_child_policies(sa, c, add, true);
        size_t n_ops = 0;
        for (size_t i = 0; i < add->n_ops; i++)
            ops[n_ops++] = add->ops[i];
        for (size_t i = 0; i < del->n_ops; i++)
            ops[n_ops++] = del->ops[i];
        struct upstream *xf = service_upstream(ik->s, "xfrmd");
        Mgate__XfrmBatchRequest req = MGATE__XFRM_BATCH_REQUEST__INIT;
        req.ops = ops;
        req.n_ops = n_ops;
        rc = xf && upstream_connected(xf)
                 ? upstream_request(xf, MGATE__XFRMD_REQUEST__BODY_BATCH, &req.base,
                                    iked_child_on_retargeted, NULL)
                 : -ENOTCONN;
    }
    free(add);
    free(del);
    free(ops);
    if (old)
        explicit_bzero(old, sizeof(*old));
    free(old);
    if (rc < 0)
        log_err("cannot replace a tunnel's policies: xfrmd %s",
                rc == -ENOTCONN ? "is not connected" : strerror(-rc));
    return rc;
}

void iked_child_trim_moved(struct iked *ik, struct ike_sa *old, const struct ike_sa *keep)
{
    struct child_sa *c = old->child;
    if (old->busy || !c || !c->installed)
        return;
    const struct child_sa *k = keep->child && keep->child->installed ? keep->child : NULL;
    struct child_sa *gone = malloc(sizeof(*gone));
    struct iked_child_batch *b = calloc(1, sizeof(*b));
    if (!gone || !b) {
        free(gone);
        free(b);
        return; /* left to the next reconcile */
    }
    *gone = *c;
    gone->n_ts_local = 0;
    for (size_t i = 0; i < c->n_ts_local; i++) {
        bool kept = false;
        for (size_t j = 0; k && j < k->n_ts_local && !kept; j++)
            kept = memcmp(&k->ts_local[j], &c->ts_local[i], sizeof(c->ts_local[i])) == 0 &&
                   memcmp(&k->ts_remote, &c->ts_remote, sizeof(c->ts_remote)) == 0;
        if (!kept)
            gone->ts_local[gone->n_ts_local++] = c->ts_local[i];
    }
    if (gone->n_ts_local) {
        /* Built from the copy: the selectors point into it until sent. */
        iked_child_policies(old, gone, b, false);
        if (iked_child_send(ik, b, iked_child_on_removed, NULL) < 0)
            log_err("cannot remove a replaced tunnel's policies now; reconcile will");
    }
    explicit_bzero(gone, sizeof(*gone));
    free(gone);
    free(b);
}

struct iked_keep {
    Mgate__XfrmSaId **sas;
    size_t n_sas;
    Mgate__XfrmPolicyId **pols;
    size_t n_pols;
    struct iked_child_batch **batches;
    size_t n_batches;
    struct iked *ik;
    bool oom;
};

static void iked_child_keep_one(struct ike_sa *sa, void *arg)
{
    struct iked_keep *k = arg;
    if (k->oom || !sa->child || !sa->child->installed)
        return;
    struct iked_child_batch *b = calloc(1, sizeof(*b));
    struct iked_child_batch **nb = realloc(k->batches, (k->n_batches + 1) * sizeof(*nb));
    if (!b || !nb) {
        free(b);
        if (nb)
            k->batches = nb;
        k->oom = true;
        return;
    }
    k->batches = nb;
    k->batches[k->n_batches++] = b;
    /* The delete form of the batch carries exactly the ids to keep. */
    iked_child_policies(sa, sa->child, b, false);
    iked_child_sas(k->ik, sa, sa->child, b, false, IKED_CHILD_BOTH);
    /* A rekey's old SA pair stays until its DELETE. */
    if (sa->child_old && sa->child_old->installed)
        iked_child_sas(k->ik, sa, sa->child_old, b, false, IKED_CHILD_BOTH);
    if (sa->child_redundant && sa->child_redundant->installed)
        iked_child_sas(k->ik, sa, sa->child_redundant, b, false, IKED_CHILD_BOTH);
    Mgate__XfrmSaId **ns = realloc(k->sas, (k->n_sas + 6) * sizeof(*ns));
    Mgate__XfrmPolicyId **np = realloc(k->pols, (k->n_pols + b->n_ops) * sizeof(*np));
    if (ns)
        k->sas = ns;
    if (np)
        k->pols = np;
    if (!ns || !np) {
        k->oom = true;
        return;
    }
    for (size_t i = 0; i < b->n_ops; i++) {
        if (b->op[i].op_case == MGATE__XFRM_OP__OP_SA_DELETE)
            k->sas[k->n_sas++] = b->op[i].sa_delete;
        else
            k->pols[k->n_pols++] = b->op[i].policy_delete;
    }
}

struct iked_reconcile_call {
    struct iked *ik;
    size_t want; /* kernel SAs our IKE SAs asked to keep */
};

static void iked_child_on_reconciled(struct upstream *up, const ProtobufCMessage *resp,
                                     const Mgate__Error *err, void *ud)
{
    (void)up;
    struct iked_reconcile_call call = *(struct iked_reconcile_call *)ud;
    size_t want = call.want;
    free(ud);
    const Mgate__XfrmdResponse *r = (const Mgate__XfrmdResponse *)resp;
    if (err) {
        log_err("reconcile with xfrmd failed: %s", err->message);
        return;
    }
    if (r->body_case != MGATE__XFRMD_RESPONSE__BODY_RECONCILE)
        return;
    if (r->reconcile->n_deleted_sas || r->reconcile->n_deleted_policies)
        log_notice("xfrmd removed %zu SAs and %zu policies no IKE SA of ours owns",
                   r->reconcile->n_deleted_sas, r->reconcile->n_deleted_policies);
    log_info("reconciled with xfrmd: the kernel holds %u SAs and %u policies of ours (%zu SAs "
             "kept for our CHILD SAs)",
             r->reconcile->n_sas, r->reconcile->n_policies, want);
    if (r->reconcile->n_sas < want) {
        log_warn("reconcile: %zu kernel SA(s) of our CHILD SAs are missing from the kernel",
                 want - r->reconcile->n_sas);
        iked_verify_children(call.ik, want);
    }
}

void iked_child_reconcile(struct iked *ik)
{
    struct iked_keep k = {.ik = ik};
    iked_sa_table_each(ik->sas, iked_child_keep_one, &k);
    if (k.oom) {
        log_err("out of memory preparing the reconcile with xfrmd; skipped");
    } else {
        Mgate__XfrmReconcileRequest rq = MGATE__XFRM_RECONCILE_REQUEST__INIT;
        rq.keep_sas = k.sas;
        rq.n_keep_sas = k.n_sas;
        rq.keep_policies = k.pols;
        rq.n_keep_policies = k.n_pols;
        struct upstream *xf = service_upstream(ik->s, "xfrmd");
        struct iked_reconcile_call *call = xf ? malloc(sizeof(*call)) : NULL;
        if (call)
            *call = (struct iked_reconcile_call){ik, k.n_sas};
        if (xf && (!call || upstream_request(xf, MGATE__XFRMD_REQUEST__BODY_RECONCILE, &rq.base,
                                             iked_child_on_reconciled, call) < 0)) {
            log_err("cannot send the reconcile to xfrmd");
            free(call);
        }
    }
    for (size_t i = 0; i < k.n_batches; i++)
        free(k.batches[i]);
    free(k.batches);
    free(k.sas);
    free(k.pols);
}

/* ---- rekeying (iked_rekey.c decides, this builds the batch) ---- */

struct iked_child_rekey_call {
    struct iked *ik;
    uint64_t spi_r;
    uint32_t add_spi_in; /* the pair added, to mark it installed */
    void (*done)(struct iked *ik, struct ike_sa *sa, bool ok);
};

static void iked_child_on_rekey_batch(struct upstream *up, const ProtobufCMessage *resp,
                                      const Mgate__Error *err, void *ud)
{
    struct iked_child_rekey_call *call = ud;
    (void)up;
    const Mgate__XfrmdResponse *r = (const Mgate__XfrmdResponse *)resp;
    bool ok = false;
    if (err) {
        log_err("rekeying a CHILD SA: xfrmd: %s", err->message);
    } else if (r->body_case != MGATE__XFRMD_RESPONSE__BODY_BATCH) {
        log_err("rekeying a CHILD SA: unexpected answer from xfrmd");
    } else if (r->batch->failed) {
        for (size_t i = 0; i < r->batch->n_results; i++)
            if (r->batch->results[i]->errnum && r->batch->results[i]->errnum != ENOENT &&
                r->batch->results[i]->errnum != ESRCH) {
                log_err("rekeying a CHILD SA: %s", r->batch->results[i]->message);
                break;
            }
        /* Deleting what is already gone is no failure. */
        ok = true;
        for (size_t i = 0; i < r->batch->n_results; i++)
            if (r->batch->results[i]->errnum && r->batch->results[i]->errnum != ENOENT &&
                r->batch->results[i]->errnum != ESRCH)
                ok = false;
    } else {
        ok = true;
    }
    struct ike_sa *sa = iked_sa_table_by_spi_r(call->ik->sas, call->spi_r);
    if (sa && call->add_spi_in) {
        struct child_sa *c = sa->child && sa->child->spi_in == call->add_spi_in ? sa->child : NULL;
        /* Half of a refused batch may be in: the removal takes it out. */
        if (c && (ok || (r && r->body_case == MGATE__XFRMD_RESPONSE__BODY_BATCH))) {
            c->installed = true;
            c->installed_ms = iked_now_ms(call->ik);
        }
    }
    if (sa && call->done)
        call->done(call->ik, sa, ok);
    free(call);
}

int iked_child_rekey_batch(struct iked *ik, struct ike_sa *sa, struct child_sa *add_in,
                           struct child_sa *add_out, struct child_sa *del,
                           void (*done)(struct iked *ik, struct ike_sa *sa, bool ok))
{
    struct iked_child_batch *b = calloc(1, sizeof(*b));
    struct iked_child_rekey_call *call = calloc(1, sizeof(*call));
    if (!b || !call) {
        free(b);
        free(call);
        return -ENOMEM;
    }
    /* A rekeyed SA keeps its predecessor's reqid: the policies stay as
     * they are and take either SA inbound; outbound the kernel uses the
     * newest SA of the reqid, so adding the new outbound SA is the switch.
     * New SAs first, then the old pair. */
    struct child_sa *add = add_in ? add_in : add_out;
    if (add_in)
        iked_child_sas(ik, sa, add_in, b, true, IKED_CHILD_IN);
    if (add_out)
        iked_child_sas(ik, sa, add_out, b, true, IKED_CHILD_OUT);
    if (del && del->installed) {
        iked_child_sas(ik, sa, del, b, false, IKED_CHILD_BOTH);
        del->installed = false;
    }
    call->ik = ik;
    call->spi_r = ike_sa_our_spi(sa);
    call->add_spi_in = add ? add->spi_in : 0;
    call->done = done;
    size_t n_ops = b->n_ops;
    int rc = n_ops ? iked_child_send(ik, b, iked_child_on_rekey_batch, call) : 0;
    /* The keys that went into the frame go; a responder's new outbound
     * key stays until its SA is added (at the old SA's DELETE). */
    if (add_in) {
        explicit_bzero(add_in->enc_key_in, sizeof(add_in->enc_key_in));
        explicit_bzero(add_in->integ_key_in, sizeof(add_in->integ_key_in));
    }
    if (add_out) {
        explicit_bzero(add_out->enc_key_out, sizeof(add_out->enc_key_out));
        explicit_bzero(add_out->integ_key_out, sizeof(add_out->integ_key_out));
    }
    explicit_bzero(b, sizeof(*b));
    free(b);
    if (rc < 0)
        log_err("cannot send a CHILD SA rekey to xfrmd: %s",
                rc == -ENOTCONN ? "it is not connected" : strerror(-rc));
    if (rc < 0 || n_ops == 0)
        free(call);
    return rc < 0 ? rc : n_ops == 0;
}

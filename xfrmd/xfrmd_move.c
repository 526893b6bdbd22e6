/* xfrmd's move request: live SAs (and their policies' templates) to new
 * outer addresses or encapsulation ports, for iked when a device's NAT
 * mapping or address changes. Each move runs and answers on its own. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"
#include "xfrm_migrate.h"
#include "xfrmd.h"
#include "xfrmd_pb.h"

/* Room for a library message (struct xfrm_err) and a translation one. */
#define XFRMD_MOVE_ERR (sizeof(((struct xfrm_err *)0)->msg) + XFRMD_PB_ERR)

static int xfrmd_move_addr(ProtobufCBinaryData b, struct xfrm_addr *a, const char *field, char *why)
{
    memset(a, 0, sizeof(*a));
    if (b.len == 4) {
        a->family = AF_INET;
        memcpy(&a->u.v4, b.data, 4);
        return 0;
    }
    if (b.len == 16) {
        a->family = AF_INET6;
        memcpy(&a->u.v6, b.data, 16);
        return 0;
    }
    snprintf(why, XFRMD_PB_ERR, "%s: an address is 4 or 16 bytes, not %zu", field, b.len);
    return -EINVAL;
}

static int xfrmd_move_from_pb(const Mgate__XfrmMove *in, struct xfrm_migrate *out, char *why)
{
    memset(out, 0, sizeof(*out));
    if (!in->sa) {
        snprintf(why, XFRMD_PB_ERR, "sa: missing");
        return -EINVAL;
    }
    if (xfrmd_pb_to_sa_id(in->sa, &out->sa, why) < 0 ||
        xfrmd_move_addr(in->new_src, &out->new_src, "new_src", why) < 0 ||
        xfrmd_move_addr(in->new_dst, &out->new_dst, "new_dst", why) < 0)
        return -EINVAL;
    out->reqid = in->reqid;
    out->encap = in->encap;
    if (in->encap_sport > 0xffff || in->encap_dport > 0xffff) {
        snprintf(why, XFRMD_PB_ERR, "encapsulation ports %u/%u: out of range", in->encap_sport,
                 in->encap_dport);
        return -EINVAL;
    }
    out->encap_ports.sport = (uint16_t)in->encap_sport;
    out->encap_ports.dport = (uint16_t)in->encap_dport;
    if (in->n_policies > XFRM_MIGRATE_POL_MAX) {
        snprintf(why, XFRMD_PB_ERR, "%zu policies, at most %d per move", in->n_policies,
                 XFRM_MIGRATE_POL_MAX);
        return -EINVAL;
    }
    for (size_t i = 0; i < in->n_policies; i++)
        if (xfrmd_pb_to_policy_id(in->policies[i], &out->pol[i], why) < 0)
            return -EINVAL;
    out->n_pol = in->n_policies;
    return 0;
}

void xfrmd_move_handle(struct xfrmd *x, struct svc *svc, struct ipc_conn *conn, uint64_t id,
                       const Mgate__XfrmMoveRequest *rq)
{
    size_t n = rq->n_moves;
    Mgate__XfrmMoveResult *res = calloc(n ? n : 1, sizeof(*res));
    Mgate__XfrmMoveResult **resp = calloc(n ? n : 1, sizeof(*resp));
    char(*why)[XFRMD_MOVE_ERR] = calloc(n ? n : 1, XFRMD_MOVE_ERR);
    struct xfrm_migrate *mv = malloc(sizeof(*mv));
    if (!res || !resp || !why || !mv) {
        log_err("out of memory for %zu moves", n);
        svc_reply_error(svc, conn, id, MGATE__ERROR_CODE__ERR_INTERNAL, "out of memory");
        goto out;
    }
    uint32_t failed = 0;
    for (size_t i = 0; i < n; i++) {
        mgate__xfrm_move_result__init(&res[i]);
        resp[i] = &res[i];
        if (xfrmd_move_from_pb(rq->moves[i], mv, why[i]) < 0) {
            res[i].errnum = EINVAL;
            res[i].message = why[i];
            failed++;
            continue;
        }
        struct xfrm_err err = {0};
        enum xfrm_migrate_how how = XFRM_MIGRATE_NONE;
        int rc = xfrm_migrate_run(x->nl, mv, &how, &err);
        if (rc < 0) {
            res[i].errnum = -rc;
            snprintf(why[i], XFRMD_MOVE_ERR, "%s", err.msg);
            res[i].message = why[i];
            failed++;
            log_info("move failed: %s", err.msg);
            continue;
        }
        res[i].how = how == XFRM_MIGRATE_UPDSA     ? MGATE__XFRM_MOVE_HOW__XFRM_MOVE_UPDSA
                     : how == XFRM_MIGRATE_MIGRATE ? MGATE__XFRM_MOVE_HOW__XFRM_MOVE_MIGRATE
                                                   : MGATE__XFRM_MOVE_HOW__XFRM_MOVE_NONE;
    }
    Mgate__XfrmMoveReply rep = MGATE__XFRM_MOVE_REPLY__INIT;
    rep.results = resp;
    rep.n_results = n;
    rep.failed = failed;
    svc_reply(svc, conn, id, MGATE__XFRMD_RESPONSE__BODY_MOVE, &rep.base);
out:
    free(mv);
    free(res);
    free(resp);
    free(why);
}

#include "xfrm_policy.h"

/* glibc's netinet/in.h must come before any linux/ header that pulls in
 * linux/in6.h, or the two define the same structs. */
#include <netinet/in.h>

#include <errno.h>
#include <stddef.h>
#include <linux/xfrm.h>
#include <string.h>
#include <sys/socket.h>

#include "xfrm_addr.h"
#include "xfrm_batch.h"
#include "xfrm_msg.h"
#include "xfrm_nl_priv.h"
#include "xfrm_owner.h"

const char *xfrm_policy_dir_name(enum xfrm_dir dir)
{
    switch (dir) {
    case XFRM_DIR_IN:
        return "in";
    case XFRM_DIR_OUT:
        return "out";
    case XFRM_DIR_FWD:
        return "fwd";
    }
    return "?";
}

static int tmpl_validate(const struct xfrm_tmpl *t, size_t i, struct xfrm_err *err)
{
    if (t->dst.family != AF_INET && t->dst.family != AF_INET6)
        return xfrm_err_set(err, -EAFNOSUPPORT,
                            "template %zu: tunnel destination is neither IPv4 nor IPv6", i);
    if (t->src.family != t->dst.family)
        return xfrm_err_set(err, -EINVAL,
                            "template %zu: tunnel source and destination families differ", i);
    if (xfrm_addr_is_zero(&t->src) || xfrm_addr_is_zero(&t->dst))
        return xfrm_err_set(err, -EINVAL, "template %zu: tunnel endpoints must be real addresses",
                            i);
    if (!xfrm_owner_reqid_is_ours(t->reqid))
        return xfrm_err_set(err, -EPERM,
                            "template %zu: reqid 0x%08x is outside mgate's range 0x%08x-0x%08x", i,
                            t->reqid, XFRM_OWNER_REQID_MIN, XFRM_OWNER_REQID_MAX);
    if (t->spi && t->spi < 0x100)
        return xfrm_err_set(err, -EINVAL, "template %zu: SPI 0x%x is reserved", i, t->spi);
    return 0;
}

int xfrm_policy_validate(const struct xfrm_policy *pol, struct xfrm_err *err)
{
    int rc;

    if (!pol)
        return xfrm_err_set(err, -EINVAL, "no policy given");
    if ((unsigned)pol->dir > XFRM_DIR_FWD)
        return xfrm_err_set(err, -EINVAL, "policy direction %d is not in, out or fwd",
                            (int)pol->dir);
    rc = xfrm_sel_validate(&pol->sel, false, err);
    if (rc < 0) {
        xfrm_err_prefix(err, "policy selector");
        return rc;
    }
    if (!xfrm_owner_priority_is_ours(pol->priority))
        return xfrm_err_set(err, -EPERM, "priority %u is outside mgate's band %u-%u", pol->priority,
                            XFRM_OWNER_PRIO_MIN, XFRM_OWNER_PRIO_MAX);
    if (pol->n_tmpl == 0 || pol->n_tmpl > XFRM_TMPL_MAX)
        return xfrm_err_set(err, -EINVAL, "a policy needs 1 to %d templates, not %zu",
                            XFRM_TMPL_MAX, pol->n_tmpl);
    for (size_t i = 0; i < pol->n_tmpl; i++) {
        rc = tmpl_validate(&pol->tmpl[i], i, err);
        if (rc < 0)
            return rc;
    }
    if (pol->mark.value & ~pol->mark.mask)
        return xfrm_err_set(err, -EINVAL, "mark value 0x%x has bits outside mask 0x%x",
                            pol->mark.value, pol->mark.mask);
    if ((pol->lft.soft_bytes && pol->lft.hard_bytes && pol->lft.soft_bytes > pol->lft.hard_bytes) ||
        (pol->lft.soft_packets && pol->lft.hard_packets &&
         pol->lft.soft_packets > pol->lft.hard_packets) ||
        (pol->lft.soft_add_secs && pol->lft.hard_add_secs &&
         pol->lft.soft_add_secs > pol->lft.hard_add_secs) ||
        (pol->lft.soft_use_secs && pol->lft.hard_use_secs &&
         pol->lft.soft_use_secs > pol->lft.hard_use_secs))
        return xfrm_err_set(err, -EINVAL, "a soft policy lifetime exceeds its hard limit");
    return 0;
}

bool xfrm_policy_is_ours(const struct xfrm_policy_info *info)
{
    if (!xfrm_owner_priority_is_ours(info->pol.priority) || info->pol.n_tmpl == 0 ||
        info->tmpl_truncated)
        return false;
    for (size_t i = 0; i < info->pol.n_tmpl; i++) {
        if (!xfrm_owner_reqid_is_ours(info->pol.tmpl[i].reqid))
            return false;
    }
    return true;
}

static int one_op(struct xfrm_nl *nl, struct xfrm_op *op, struct xfrm_err *err)
{
    int rc = xfrm_batch_run(nl, op, 1, err);

    if (rc < 0)
        return rc;
    if (op->result < 0 && err)
        *err = op->err;
    return op->result;
}

int xfrm_policy_add(struct xfrm_nl *nl, const struct xfrm_policy *pol, struct xfrm_err *err)
{
    struct xfrm_op op = {.type = XFRM_OP_POLICY_ADD, .in.policy = pol};

    return one_op(nl, &op, err);
}

int xfrm_policy_update(struct xfrm_nl *nl, const struct xfrm_policy *pol, struct xfrm_err *err)
{
    struct xfrm_op op = {.type = XFRM_OP_POLICY_UPDATE, .in.policy = pol};

    return one_op(nl, &op, err);
}

int xfrm_policy_delete(struct xfrm_nl *nl, const struct xfrm_policy_id *id, struct xfrm_err *err)
{
    struct xfrm_op op = {.type = XFRM_OP_POLICY_DELETE, .in.policy_id = id};

    return one_op(nl, &op, err);
}

struct get_ctx {
    struct xfrm_policy_info *out;
    bool found;
};

static int get_reply(const struct nlmsghdr *nlh, void *arg, struct xfrm_err *err)
{
    struct get_ctx *ctx = arg;
    int rc;

    if (nlh->nlmsg_type != XFRM_MSG_NEWPOLICY)
        return 0;
    rc = xfrm_msg_policy_parse(nlh, ctx->out, err);
    if (rc == 0)
        ctx->found = true;
    return rc;
}

int xfrm_policy_get(struct xfrm_nl *nl, const struct xfrm_policy_id *id,
                    struct xfrm_policy_info *out, struct xfrm_err *err)
{
    struct get_ctx ctx = {out, false};
    int rc;

    if ((unsigned)id->dir > XFRM_DIR_FWD)
        return xfrm_err_set(err, -EINVAL, "policy direction %d is not in, out or fwd",
                            (int)id->dir);
    rc = xfrm_sel_validate(&id->sel, false, err);
    if (rc < 0)
        return rc;
    rc = xfrm_nl_transact(nl, xfrm_msg_policy_id(nl->tx, XFRM_MSG_GETPOLICY, id, 0), get_reply,
                          &ctx, err);
    if (rc == -ENOENT)
        return xfrm_err_set(err, rc, "policy %s: no such policy", xfrm_policy_dir_name(id->dir));
    if (rc < 0) {
        xfrm_err_prefix(err, "policy get");
        return rc;
    }
    if (!ctx.found)
        return xfrm_err_set(err, -EPROTO, "policy get: kernel returned no policy");
    return 0;
}

struct dump_ctx {
    unsigned flags;
    xfrm_policy_dump_cb cb;
    void *arg;
    int cb_rc;
};

static int dump_reply(const struct nlmsghdr *nlh, void *arg, struct xfrm_err *err)
{
    struct dump_ctx *ctx = arg;
    struct xfrm_policy_info info;
    int rc;

    if (nlh->nlmsg_type != XFRM_MSG_NEWPOLICY)
        return 0;
    /* Per-socket policies (the IKE sockets' bypass) come in the dump with
     * directions past XFRM_POLICY_MAX: they are no SPD state, skip them. */
    uint8_t dir;
    if (nlh->nlmsg_len >= NLMSG_LENGTH(sizeof(struct xfrm_userpolicy_info))) {
        /* Netlink payloads are only 4-byte aligned: copy, don't cast. */
        memcpy(&dir,
               (const uint8_t *)mnl_nlmsg_get_payload(nlh) +
                   offsetof(struct xfrm_userpolicy_info, dir),
               1);
        if (dir >= XFRM_POLICY_MAX)
            return 0;
    }
    rc = xfrm_msg_policy_parse(nlh, &info, err);
    if (rc < 0)
        return rc;
    if ((ctx->flags & XFRM_DUMP_OURS) && !info.ours)
        return 0;
    ctx->cb_rc = ctx->cb(&info, ctx->arg);
    return ctx->cb_rc ? 1 : 0;
}

int xfrm_policy_dump(struct xfrm_nl *nl, unsigned flags, xfrm_policy_dump_cb cb, void *arg,
                     struct xfrm_err *err)
{
    struct dump_ctx ctx = {flags, cb, arg, 0};
    int rc;

    if (!cb)
        return xfrm_err_set(err, -EINVAL, "policy dump without a callback");
    rc = xfrm_nl_transact(nl, xfrm_msg_policy_dump(nl->tx), dump_reply, &ctx, err);
    if (rc < 0) {
        xfrm_err_prefix(err, "policy dump");
        return rc;
    }
    return ctx.cb_rc;
}

int xfrm_policy_socket_bypass(int fd, struct xfrm_err *err)
{
    struct xfrm_userpolicy_info pol;
    int domain;
    socklen_t len = sizeof(domain);
    int level, opt;

    if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0)
        return xfrm_err_set(err, -errno, "socket bypass: fd %d: %s", fd, strerror(errno));
    if (domain == AF_INET) {
        level = IPPROTO_IP;
        opt = IP_XFRM_POLICY;
    } else if (domain == AF_INET6) {
        level = IPPROTO_IPV6;
        opt = IPV6_XFRM_POLICY;
    } else {
        return xfrm_err_set(err, -EAFNOSUPPORT, "socket bypass: fd %d is neither IPv4 nor IPv6",
                            fd);
    }
    /* An empty selector of the socket's family matches all its traffic;
     * the kernel only accepts in and out for socket policies. */
    for (int dir = XFRM_POLICY_IN; dir <= XFRM_POLICY_OUT; dir++) {
        memset(&pol, 0, sizeof(pol));
        pol.sel.family = (uint16_t)domain;
        pol.lft.soft_byte_limit = XFRM_INF;
        pol.lft.hard_byte_limit = XFRM_INF;
        pol.lft.soft_packet_limit = XFRM_INF;
        pol.lft.hard_packet_limit = XFRM_INF;
        pol.dir = (uint8_t)dir;
        pol.action = XFRM_POLICY_ALLOW;
        pol.share = XFRM_SHARE_ANY;
        if (setsockopt(fd, level, opt, &pol, sizeof(pol)) < 0)
            return xfrm_err_set(err, -errno, "socket bypass: fd %d, direction %s: %s", fd,
                                dir == XFRM_POLICY_IN ? "in" : "out", strerror(errno));
    }
    return 0;
}

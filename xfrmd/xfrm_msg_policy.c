#include "xfrm_msg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#define POLICY_MSG_WORST                                                                           \
    (NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct xfrm_userpolicy_info)) +                               \
     MNL_ALIGN(MNL_ATTR_HDRLEN + XFRM_TMPL_MAX * sizeof(struct xfrm_user_tmpl)) +                  \
     MNL_ALIGN(MNL_ATTR_HDRLEN + sizeof(struct xfrm_mark)) + MNL_ALIGN(MNL_ATTR_HDRLEN + 4) +      \
     MNL_ALIGN(MNL_ATTR_HDRLEN + sizeof(struct xfrm_userpolicy_type)))
_Static_assert(POLICY_MSG_WORST <= XFRM_MSG_MAX_LEN, "policy message may exceed XFRM_MSG_MAX_LEN");

static struct nlmsghdr *start(void *buf, uint16_t type, uint16_t flags)
{
    struct nlmsghdr *nlh;

    memset(buf, 0, NLMSG_HDRLEN);
    nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = NLM_F_REQUEST | flags;
    return nlh;
}

static void put_type(struct nlmsghdr *nlh)
{
    struct xfrm_userpolicy_type *t = xfrm_msg_put_attr(nlh, XFRMA_POLICY_TYPE, sizeof(*t));

    t->type = XFRM_POLICY_TYPE_MAIN;
}

struct nlmsghdr *xfrm_msg_policy(void *buf, uint16_t type, const struct xfrm_policy *pol)
{
    struct nlmsghdr *nlh = start(buf, type, 0);
    struct xfrm_userpolicy_info info;
    struct xfrm_userpolicy_info *p = &info;
    struct xfrm_user_tmpl *t;

    /* Built aside: the header holds 64-bit fields and a batch only keeps
     * messages 4-byte aligned. */
    memset(p, 0, sizeof(*p));
    xfrm_msg_sel_to_kernel(&pol->sel, &p->sel);
    xfrm_msg_lft_to_kernel(&pol->lft, &p->lft);
    p->priority = pol->priority;
    p->dir = (uint8_t)pol->dir;
    p->action = pol->block ? XFRM_POLICY_BLOCK : XFRM_POLICY_ALLOW;
    p->share = XFRM_SHARE_ANY;
    memcpy(mnl_nlmsg_put_extra_header(nlh, sizeof(info)), &info, sizeof(info));

    t = xfrm_msg_put_attr(nlh, XFRMA_TMPL, pol->n_tmpl * sizeof(*t));
    for (size_t i = 0; i < pol->n_tmpl; i++) {
        const struct xfrm_tmpl *in = &pol->tmpl[i];

        xfrm_msg_addr_to_kernel(&in->dst, &t[i].id.daddr);
        t[i].id.spi = htonl(in->spi);
        t[i].id.proto = IPPROTO_ESP;
        t[i].family = in->dst.family;
        xfrm_msg_addr_to_kernel(&in->src, &t[i].saddr);
        t[i].reqid = in->reqid;
        t[i].mode = XFRM_MODE_TUNNEL;
        t[i].optional = in->optional;
        /* All ones: any algorithm the SA negotiated is acceptable (the
         * kernel reads an all-ones mask as "all algorithms"). */
        t[i].aalgos = ~0u;
        t[i].ealgos = ~0u;
        t[i].calgos = ~0u;
    }
    xfrm_msg_put_mark_ifid(nlh, &pol->mark, pol->if_id);
    put_type(nlh);
    return nlh;
}

struct nlmsghdr *xfrm_msg_policy_id(void *buf, uint16_t type, const struct xfrm_policy_id *id,
                                    uint32_t index)
{
    struct nlmsghdr *nlh = start(buf, type, 0);
    struct xfrm_userpolicy_id *p = mnl_nlmsg_put_extra_header(nlh, sizeof(*p));

    p->dir = (uint8_t)id->dir;
    if (index)
        p->index = index;
    else
        xfrm_msg_sel_to_kernel(&id->sel, &p->sel);
    xfrm_msg_put_mark_ifid(nlh, &id->mark, id->if_id);
    put_type(nlh);
    return nlh;
}

struct nlmsghdr *xfrm_msg_policy_dump(void *buf)
{
    return start(buf, XFRM_MSG_GETPOLICY, NLM_F_DUMP);
}

void xfrm_msg_tmpl_from_kernel(const struct nlattr *attr, struct xfrm_policy_info *info)
{
    const struct xfrm_user_tmpl *t;
    size_t n;

    info->pol.n_tmpl = 0;
    if (!attr)
        return;
    t = mnl_attr_get_payload(attr);
    n = mnl_attr_get_payload_len(attr) / sizeof(*t);
    if (n > XFRM_TMPL_MAX) {
        info->tmpl_truncated = true;
        n = XFRM_TMPL_MAX;
    }
    for (size_t i = 0; i < n; i++) {
        struct xfrm_tmpl *out = &info->pol.tmpl[i];
        struct xfrm_user_tmpl ut;

        /* Attribute payloads are only 4-byte aligned. */
        memcpy(&ut, &t[i], sizeof(ut));
        xfrm_msg_addr_from_kernel(ut.family, &ut.saddr, &out->src);
        xfrm_msg_addr_from_kernel(ut.family, &ut.id.daddr, &out->dst);
        out->reqid = ut.reqid;
        out->spi = ntohl(ut.id.spi);
        out->optional = ut.optional;
        info->tmpl_proto[i] = ut.id.proto;
        info->tmpl_mode[i] = ut.mode;
    }
    info->pol.n_tmpl = n;
}

int xfrm_msg_policy_info(const struct xfrm_userpolicy_info *p, const xfrm_msg_tb tb,
                         struct xfrm_policy_info *out, struct xfrm_err *err)
{
    const struct xfrm_mark *mark;
    const struct xfrm_userpolicy_type *type;
    const uint32_t *if_id;

    memset(out, 0, sizeof(*out));
    if (p->dir > XFRM_POLICY_FWD)
        return xfrm_err_set(err, -EPROTO, "policy with unknown direction %u", p->dir);
    xfrm_msg_sel_from_kernel(&p->sel, &out->pol.sel);
    out->pol.dir = (enum xfrm_dir)p->dir;
    out->pol.priority = p->priority;
    out->pol.block = p->action == XFRM_POLICY_BLOCK;
    xfrm_msg_lft_from_kernel(&p->lft, &out->pol.lft);
    xfrm_msg_cur_from_kernel(&p->curlft, &out->cur);
    out->index = p->index;
    out->flags = p->flags;
    out->share = p->share;
    xfrm_msg_tmpl_from_kernel(tb[XFRMA_TMPL], out);
    mark = xfrm_msg_attr(tb, XFRMA_MARK, sizeof(*mark));
    if (mark) {
        out->pol.mark.value = mark->v;
        out->pol.mark.mask = mark->m;
    }
    if_id = xfrm_msg_attr(tb, XFRMA_IF_ID, sizeof(*if_id));
    if (if_id)
        out->pol.if_id = *if_id;
    type = xfrm_msg_attr(tb, XFRMA_POLICY_TYPE, sizeof(*type));
    if (type)
        out->type = type->type;
    out->ours = xfrm_policy_is_ours(out);
    return 0;
}

int xfrm_msg_policy_parse(const struct nlmsghdr *nlh, struct xfrm_policy_info *out,
                          struct xfrm_err *err)
{
    struct xfrm_userpolicy_info p;
    xfrm_msg_tb tb;
    int rc;

    if (!xfrm_msg_header(nlh, &p, sizeof(p)))
        return xfrm_err_set(err, -EPROTO, "truncated policy message (%u bytes)", nlh->nlmsg_len);
    rc = xfrm_msg_attrs(nlh, sizeof(p), tb, err);
    if (rc < 0)
        return rc;
    return xfrm_msg_policy_info(&p, tb, out, err);
}

#include "xfrm_msg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

void xfrm_msg_addr_to_kernel(const struct xfrm_addr *a, xfrm_address_t *k)
{
    memset(k, 0, sizeof(*k));
    if (a->family == AF_INET)
        k->a4 = a->u.v4.s_addr;
    else if (a->family == AF_INET6)
        memcpy(&k->in6, &a->u.v6, sizeof(k->in6));
}

void xfrm_msg_addr_from_kernel(uint16_t family, const xfrm_address_t *k, struct xfrm_addr *a)
{
    memset(a, 0, sizeof(*a));
    if (family == AF_INET) {
        a->family = AF_INET;
        a->u.v4.s_addr = k->a4;
    } else if (family == AF_INET6) {
        a->family = AF_INET6;
        memcpy(&a->u.v6, &k->in6, sizeof(a->u.v6));
    }
}

static uint16_t port_mask(uint16_t port, uint16_t mask)
{
    if (!port)
        return 0;
    return mask ? mask : 0xffff;
}

void xfrm_msg_sel_to_kernel(const struct xfrm_sel *s, struct xfrm_selector *k)
{
    memset(k, 0, sizeof(*k));
    xfrm_msg_addr_to_kernel(&s->src, &k->saddr);
    xfrm_msg_addr_to_kernel(&s->dst, &k->daddr);
    k->family = s->src.family;
    k->prefixlen_s = s->src_plen;
    k->prefixlen_d = s->dst_plen;
    k->proto = s->proto;
    k->sport = htons(s->sport);
    k->sport_mask = htons(port_mask(s->sport, s->sport_mask));
    k->dport = htons(s->dport);
    k->dport_mask = htons(port_mask(s->dport, s->dport_mask));
    k->ifindex = s->ifindex;
}

void xfrm_msg_sel_from_kernel(const struct xfrm_selector *k, struct xfrm_sel *s)
{
    memset(s, 0, sizeof(*s));
    xfrm_msg_addr_from_kernel(k->family, &k->saddr, &s->src);
    xfrm_msg_addr_from_kernel(k->family, &k->daddr, &s->dst);
    s->src_plen = k->prefixlen_s;
    s->dst_plen = k->prefixlen_d;
    s->proto = k->proto;
    s->sport = ntohs(k->sport);
    s->sport_mask = ntohs(k->sport_mask);
    s->dport = ntohs(k->dport);
    s->dport_mask = ntohs(k->dport_mask);
    s->ifindex = k->ifindex;
}

static uint64_t to_inf(uint64_t v)
{
    return v ? v : XFRM_INF;
}

static uint64_t from_inf(uint64_t v)
{
    return v == XFRM_INF ? 0 : v;
}

void xfrm_msg_lft_to_kernel(const struct xfrm_lifetime *l, struct xfrm_lifetime_cfg *k)
{
    k->soft_byte_limit = to_inf(l->soft_bytes);
    k->hard_byte_limit = to_inf(l->hard_bytes);
    k->soft_packet_limit = to_inf(l->soft_packets);
    k->hard_packet_limit = to_inf(l->hard_packets);
    /* For seconds the kernel itself takes 0 as "none"; XFRM_INF would wrap
     * around when added to the creation time and expire at once. */
    k->soft_add_expires_seconds = l->soft_add_secs;
    k->hard_add_expires_seconds = l->hard_add_secs;
    k->soft_use_expires_seconds = l->soft_use_secs;
    k->hard_use_expires_seconds = l->hard_use_secs;
}

void xfrm_msg_lft_from_kernel(const struct xfrm_lifetime_cfg *k, struct xfrm_lifetime *l)
{
    l->soft_bytes = from_inf(k->soft_byte_limit);
    l->hard_bytes = from_inf(k->hard_byte_limit);
    l->soft_packets = from_inf(k->soft_packet_limit);
    l->hard_packets = from_inf(k->hard_packet_limit);
    l->soft_add_secs = from_inf(k->soft_add_expires_seconds);
    l->hard_add_secs = from_inf(k->hard_add_expires_seconds);
    l->soft_use_secs = from_inf(k->soft_use_expires_seconds);
    l->hard_use_secs = from_inf(k->hard_use_expires_seconds);
}

void xfrm_msg_cur_from_kernel(const struct xfrm_lifetime_cur *k, struct xfrm_counters *c)
{
    c->bytes = k->bytes;
    c->packets = k->packets;
    c->add_time = k->add_time;
    c->use_time = k->use_time;
}

void *xfrm_msg_put_attr(struct nlmsghdr *nlh, uint16_t type, size_t len)
{
    struct nlattr *attr = mnl_nlmsg_get_payload_tail(nlh);
    size_t total = MNL_ALIGN(MNL_ATTR_HDRLEN + len);

    attr->nla_type = type;
    attr->nla_len = (uint16_t)(MNL_ATTR_HDRLEN + len);
    memset(mnl_attr_get_payload(attr), 0, total - MNL_ATTR_HDRLEN);
    nlh->nlmsg_len += (uint32_t)total;
    return mnl_attr_get_payload(attr);
}

void xfrm_msg_put_mark_ifid(struct nlmsghdr *nlh, const struct xfrm_markspec *mark, uint32_t if_id)
{
    if (mark->mask) {
        struct xfrm_mark *m = xfrm_msg_put_attr(nlh, XFRMA_MARK, sizeof(*m));

        m->v = mark->value;
        m->m = mark->mask;
    }
    if (if_id)
        mnl_attr_put_u32(nlh, XFRMA_IF_ID, if_id);
}

static int attr_cb(const struct nlattr *attr, void *data)
{
    const struct nlattr **tb = data;
    uint16_t type = mnl_attr_get_type(attr);

    /* Newer kernels add attributes; skipping them keeps old parsers working. */
    if (type > XFRMA_MAX)
        return MNL_CB_OK;
    tb[type] = attr;
    return MNL_CB_OK;
}

int xfrm_msg_attrs(const struct nlmsghdr *nlh, size_t hdrlen, xfrm_msg_tb tb, struct xfrm_err *err)
{
    size_t off = MNL_ALIGN(hdrlen);

    memset(tb, 0, sizeof(xfrm_msg_tb));
    if (nlh->nlmsg_len < NLMSG_HDRLEN + hdrlen)
        return xfrm_err_set(err, -EPROTO, "netlink message type %u too short (%u bytes)",
                            nlh->nlmsg_type, nlh->nlmsg_len);
    if (nlh->nlmsg_len <= NLMSG_HDRLEN + off)
        return 0;
    if (mnl_attr_parse(nlh, (unsigned)off, attr_cb, (void *)tb) < 0)
        return xfrm_err_set(err, -EPROTO, "malformed attributes in netlink message type %u",
                            nlh->nlmsg_type);
    return 0;
}

const void *xfrm_msg_attr(const xfrm_msg_tb tb, int type, size_t min)
{
    const struct nlattr *a = tb[type];

    if (!a || mnl_attr_get_payload_len(a) < min)
        return NULL;
    return mnl_attr_get_payload(a);
}

bool xfrm_msg_header(const struct nlmsghdr *nlh, void *dst, size_t len)
{
    if (nlh->nlmsg_len < NLMSG_HDRLEN + len)
        return false;
    memcpy(dst, mnl_nlmsg_get_payload(nlh), len);
    return true;
}

bool xfrm_msg_attr_copy(const xfrm_msg_tb tb, int type, void *dst, size_t len)
{
    const void *p = xfrm_msg_attr(tb, type, len);

    if (!p)
        return false;
    memcpy(dst, p, len);
    return true;
}

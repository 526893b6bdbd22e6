#include "xfrm_addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int xfrm_addr_parse(struct xfrm_addr *a, const char *text)
{
    memset(a, 0, sizeof(*a));
    if (!text)
        return -EINVAL;
    if (inet_pton(AF_INET, text, &a->u.v4) == 1) {
        a->family = AF_INET;
        return 0;
    }
    if (inet_pton(AF_INET6, text, &a->u.v6) == 1) {
        a->family = AF_INET6;
        return 0;
    }
    memset(a, 0, sizeof(*a));
    return -EINVAL;
}

const char *xfrm_addr_format(const struct xfrm_addr *a, char *buf, size_t len)
{
    if (len == 0)
        return buf;
    if ((a->family != AF_INET && a->family != AF_INET6) ||
        !inet_ntop(a->family, a->u.bytes, buf, (socklen_t)len))
        snprintf(buf, len, "-");
    return buf;
}

unsigned xfrm_addr_bits(uint16_t family)
{
    switch (family) {
    case AF_INET:
        return 32;
    case AF_INET6:
        return 128;
    default:
        return 0;
    }
}

bool xfrm_addr_equal(const struct xfrm_addr *a, const struct xfrm_addr *b)
{
    if (a->family != b->family)
        return false;
    return memcmp(a->u.bytes, b->u.bytes, xfrm_addr_bits(a->family) / 8) == 0;
}

bool xfrm_addr_is_zero(const struct xfrm_addr *a)
{
    static const uint8_t zero[16];

    return memcmp(a->u.bytes, zero, sizeof(zero)) == 0;
}

/* Splits "addr/len" (len optional: host prefix). */
static int parse_prefix(const char *text, struct xfrm_addr *a, uint8_t *plen, struct xfrm_err *err)
{
    char buf[XFRM_ADDR_STRLEN + 8];
    const char *slash;
    unsigned long len;
    char *end;
    size_t n;

    if (!text)
        return xfrm_err_set(err, -EINVAL, "selector address missing");
    slash = strchr(text, '/');
    n = slash ? (size_t)(slash - text) : strlen(text);
    if (n >= sizeof(buf))
        return xfrm_err_set(err, -EINVAL, "selector address \"%.60s\" too long", text);
    memcpy(buf, text, n);
    buf[n] = '\0';
    if (xfrm_addr_parse(a, buf) < 0)
        return xfrm_err_set(err, -EINVAL, "selector address \"%s\" is not an IP address", buf);
    if (!slash) {
        *plen = (uint8_t)xfrm_addr_bits(a->family);
        return 0;
    }
    errno = 0;
    len = strtoul(slash + 1, &end, 10);
    if (errno || end == slash + 1 || *end != '\0' || len > xfrm_addr_bits(a->family))
        return xfrm_err_set(err, -EINVAL, "prefix length \"%s\" out of range for %s", slash + 1,
                            a->family == AF_INET ? "IPv4" : "IPv6");
    *plen = (uint8_t)len;
    return 0;
}

int xfrm_sel_parse(struct xfrm_sel *sel, const char *src, const char *dst, struct xfrm_err *err)
{
    int rc;

    memset(sel, 0, sizeof(*sel));
    rc = parse_prefix(src, &sel->src, &sel->src_plen, err);
    if (rc < 0)
        return rc;
    rc = parse_prefix(dst, &sel->dst, &sel->dst_plen, err);
    if (rc < 0)
        return rc;
    return xfrm_sel_validate(sel, false, err);
}

/* True when any bit of a past the first plen bits is set: "10.0.0.1/8" is
 * almost always a typo for a host or a network, and the kernel would silently
 * match it as the network. */
static bool host_bits_set(const struct xfrm_addr *a, unsigned plen)
{
    unsigned bits = xfrm_addr_bits(a->family);

    for (unsigned i = plen; i < bits; i++) {
        if (a->u.bytes[i / 8] & (0x80u >> (i % 8)))
            return true;
    }
    return false;
}

static bool proto_has_ports(uint8_t proto, uint16_t family)
{
    switch (proto) {
    case IPPROTO_TCP:
    case IPPROTO_UDP:
    case IPPROTO_SCTP:
    case IPPROTO_UDPLITE:
    case IPPROTO_DCCP:
        return true;
    case IPPROTO_ICMP: /* the kernel matches type/code in the port fields */
        return family == AF_INET;
    case IPPROTO_ICMPV6:
        return family == AF_INET6;
    default:
        return false;
    }
}

int xfrm_sel_validate(const struct xfrm_sel *sel, bool allow_any, struct xfrm_err *err)
{
    uint16_t fam = sel->src.family;
    unsigned bits;
    char a[XFRM_ADDR_STRLEN];

    if (sel->src.family != sel->dst.family)
        return xfrm_err_set(err, -EINVAL, "selector family mismatch: source %s, destination %s",
                            sel->src.family == AF_INET    ? "IPv4"
                            : sel->src.family == AF_INET6 ? "IPv6"
                                                          : "unset",
                            sel->dst.family == AF_INET    ? "IPv4"
                            : sel->dst.family == AF_INET6 ? "IPv6"
                                                          : "unset");
    if (fam == AF_UNSPEC) {
        if (!allow_any)
            return xfrm_err_set(err, -EINVAL, "selector has no address family");
        if (!xfrm_addr_is_zero(&sel->src) || !xfrm_addr_is_zero(&sel->dst) || sel->src_plen ||
            sel->dst_plen || sel->proto || sel->sport || sel->dport || sel->sport_mask ||
            sel->dport_mask)
            return xfrm_err_set(
                err, -EINVAL,
                "an any-family selector cannot carry addresses, prefixes, protocol or ports");
        return 0;
    }
    bits = xfrm_addr_bits(fam);
    if (bits == 0)
        return xfrm_err_set(err, -EAFNOSUPPORT, "selector family %u is neither IPv4 nor IPv6", fam);
    if (sel->src_plen > bits || sel->dst_plen > bits)
        return xfrm_err_set(err, -EINVAL,
                            "selector prefix length /%u out of range for %s (max /%u)",
                            sel->src_plen > bits ? sel->src_plen : sel->dst_plen,
                            fam == AF_INET ? "IPv4" : "IPv6", bits);
    if (host_bits_set(&sel->src, sel->src_plen))
        return xfrm_err_set(err, -EINVAL, "selector source %s has bits set beyond /%u",
                            xfrm_addr_format(&sel->src, a, sizeof(a)), sel->src_plen);
    if (host_bits_set(&sel->dst, sel->dst_plen))
        return xfrm_err_set(err, -EINVAL, "selector destination %s has bits set beyond /%u",
                            xfrm_addr_format(&sel->dst, a, sizeof(a)), sel->dst_plen);
    if ((sel->sport || sel->dport || sel->sport_mask || sel->dport_mask) &&
        !proto_has_ports(sel->proto, fam))
        return xfrm_err_set(err, -EINVAL, "selector ports given for protocol %u, which has none",
                            sel->proto);
    if ((sel->sport_mask && !sel->sport) || (sel->dport_mask && !sel->dport))
        return xfrm_err_set(err, -EINVAL, "selector port mask given without a port");
    if (sel->ifindex < 0)
        return xfrm_err_set(err, -EINVAL, "selector interface index %d is negative", sel->ifindex);
    return 0;
}

const char *xfrm_sel_format(const struct xfrm_sel *sel, char *buf, size_t len)
{
    char s[XFRM_ADDR_STRLEN], d[XFRM_ADDR_STRLEN];
    int n;

    if (sel->src.family == AF_UNSPEC) {
        snprintf(buf, len, "any");
        return buf;
    }
    n = snprintf(buf, len, "%s/%u -> %s/%u", xfrm_addr_format(&sel->src, s, sizeof(s)),
                 sel->src_plen, xfrm_addr_format(&sel->dst, d, sizeof(d)), sel->dst_plen);
    if (n < 0 || (size_t)n >= len)
        return buf;
    if (sel->proto)
        n += snprintf(buf + n, len - (size_t)n, " proto %u", sel->proto);
    if (n >= 0 && (size_t)n < len && sel->sport)
        n += snprintf(buf + n, len - (size_t)n, " sport %u", sel->sport);
    if (n >= 0 && (size_t)n < len && sel->dport)
        snprintf(buf + n, len - (size_t)n, " dport %u", sel->dport);
    return buf;
}

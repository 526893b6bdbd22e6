/* Traffic selector narrowing against a grant (RFC 7296 §2.9: the
 * responder answers with a subset of what the initiator proposed). The
 * result is what the kernel will hold: prefixes with one protocol and at
 * most one port, so the policies xfrmd installs are exactly the answer. */
#include <string.h>

#include "ike_const.h"
#include "ike_grant.h"

typedef unsigned __int128 u128;

static unsigned fam_bits(int family)
{
    return family == AF_INET ? 32 : 128;
}

static u128 addr_get(int family, const uint8_t *p)
{
    u128 v = 0;
    for (unsigned i = 0; i < fam_bits(family) / 8; i++)
        v = v << 8 | p[i];
    return v;
}

static void addr_put(int family, u128 v, uint8_t *p)
{
    unsigned n = fam_bits(family) / 8;
    memset(p, 0, 16);
    for (unsigned i = n; i-- > 0;) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

/* Host-part mask of a prefix (the bits below it). */
static u128 host_mask(int family, uint8_t plen)
{
    unsigned bits = fam_bits(family);
    if (plen >= bits)
        return 0;
    unsigned h = bits - plen;
    return h >= 128 ? ~(u128)0 : (((u128)1 << h) - 1);
}

static bool proto_has_ports(uint8_t p)
{
    return p == IPPROTO_TCP || p == IPPROTO_UDP || p == IPPROTO_SCTP;
}

int ike_ts_narrow_vip(const struct ike_ts_set *tsi, struct in_addr vip, struct ike_child_ts *out)
{
    uint32_t v = ntohl(vip.s_addr);
    for (unsigned i = 0; i < tsi->n; i++) {
        const struct ike_ts *t = &tsi->ts[i];
        if (t->type != IKE_TS_IPV4_ADDR_RANGE)
            continue;
        uint16_t port;
        if (t->start_port == 0 && t->end_port == 65535)
            port = 0;
        else if (t->start_port == t->end_port && t->start_port != 0)
            port = t->start_port;
        else
            continue;
        if (addr_get(AF_INET, t->start) > v || addr_get(AF_INET, t->end) < v)
            continue;
        memset(out, 0, sizeof(*out));
        out->family = AF_INET;
        memcpy(out->addr, &vip.s_addr, 4);
        out->plen = 32;
        out->proto = t->ip_proto;
        out->port = port;
        return 0;
    }
    return -1;
}

struct narrow_out {
    struct ike_child_ts *ts;
    size_t n, cap;
    bool truncated;
};

static void out_add(struct narrow_out *o, int family, u128 net, uint8_t plen, uint8_t proto,
                    uint16_t port)
{
    struct ike_child_ts t;
    memset(&t, 0, sizeof(t));
    t.family = family;
    addr_put(family, net, t.addr);
    t.plen = plen;
    t.proto = proto;
    t.port = port;
    for (size_t i = 0; i < o->n; i++)
        if (memcmp(&o->ts[i], &t, sizeof(t)) == 0)
            return;
    if (o->n >= o->cap) {
        o->truncated = true;
        return;
    }
    o->ts[o->n++] = t;
}

/* [lo, hi] as the fewest prefixes, largest first. */
static void out_add_range(struct narrow_out *o, int family, u128 lo, u128 hi, uint8_t proto,
                          uint16_t port)
{
    unsigned bits = fam_bits(family);
    u128 cur = lo;
    for (;;) {
        unsigned h = 0; /* host bits of the block starting at cur */
        while (h < bits) {
            u128 m = host_mask(family, (uint8_t)(bits - h - 1));
            if ((cur & m) != 0 || cur + m > hi || cur + m < cur)
                break;
            h++;
        }
        out_add(o, family, cur, (uint8_t)(bits - h), proto, port);
        u128 last = cur + host_mask(family, (uint8_t)(bits - h));
        if (last >= hi || o->truncated)
            return;
        cur = last + 1;
    }
}

/* The port both sides agree on: 0 (any) or one port; false when the
 * intersection is not one the kernel can hold. */
static bool narrow_port(const struct ike_grant_sel *s, const struct ike_ts *t, uint16_t *port)
{
    bool t_any = t->start_port == 0 && t->end_port == 65535;
    if (t->start_port > t->end_port)
        return false; /* OPAQUE */
    if (s->port) {
        if (s->port < t->start_port || s->port > t->end_port)
            return false;
        *port = s->port;
        return true;
    }
    if (t_any) {
        *port = 0;
        return true;
    }
    if (t->start_port == t->end_port && t->start_port != 0) {
        *port = t->start_port;
        return true;
    }
    return false;
}

size_t ike_ts_narrow_grant(const struct ike_grant *g, int family, const struct ike_ts *tsr,
                           unsigned n_tsr, struct ike_child_ts *out, size_t cap, bool *truncated)
{
    struct narrow_out o = {.ts = out, .cap = cap};
    uint8_t ts_type = family == AF_INET ? IKE_TS_IPV4_ADDR_RANGE : IKE_TS_IPV6_ADDR_RANGE;
    for (size_t i = 0; i < g->n_sel && !o.truncated; i++) {
        const struct ike_grant_sel *s = &g->sel[i];
        if (s->family != family)
            continue;
        u128 lo_s = addr_get(family, s->addr) & ~host_mask(family, s->plen);
        u128 hi_s = lo_s | host_mask(family, s->plen);
        for (unsigned k = 0; k < n_tsr && !o.truncated; k++) {
            const struct ike_ts *t = &tsr[k];
            if (t->type != ts_type)
                continue;
            if (s->proto && t->ip_proto && s->proto != t->ip_proto)
                continue;
            uint8_t proto = s->proto ? s->proto : t->ip_proto;
            uint16_t port;
            if (!narrow_port(s, t, &port))
                continue;
            if (port && !proto_has_ports(proto))
                continue;
            u128 a = addr_get(family, t->start), b = addr_get(family, t->end);
            u128 x = a > lo_s ? a : lo_s, y = b < hi_s ? b : hi_s;
            if (x <= y)
                out_add_range(&o, family, x, y, proto, port);
        }
    }
    if (truncated)
        *truncated = o.truncated;
    return o.n;
}

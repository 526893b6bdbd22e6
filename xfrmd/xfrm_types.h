/* Plain value types shared by the SA, policy, batch and event APIs of the
 * xfrm library. They stand apart from <linux/xfrm.h> on purpose: callers
 * (xfrmd, mgatectl, tests) never handle kernel wire structs, byte order or
 * XFRM_INF, and the names do not collide when both headers are included. */
#ifndef MGATE_XFRM_TYPES_H
#define MGATE_XFRM_TYPES_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

/* An IPv4 or IPv6 address. family AF_UNSPEC means "no address". */
struct xfrm_addr {
    uint16_t family;
    union {
        struct in_addr v4;
        struct in6_addr v6;
        uint8_t bytes[16];
    } u;
};

/* Traffic selector. Ports are in host order; port 0 means any port and a zero
 * mask with a non-zero port means an exact match (mask 0xffff). src and dst
 * carry the family and must agree; for SAs only, AF_UNSPEC on both means "any
 * inner family" (addresses, lengths, proto and ports must then be zero). */
struct xfrm_sel {
    struct xfrm_addr src;
    struct xfrm_addr dst;
    uint8_t src_plen;
    uint8_t dst_plen;
    uint8_t proto; /* IPPROTO_*, 0 = any */
    uint16_t sport;
    uint16_t sport_mask;
    uint16_t dport;
    uint16_t dport_mask;
    int ifindex; /* 0 = any */
};

/* Limits; 0 means "no limit" in every field (the library sends the kernel's
 * infinity). Seconds count from the SA's creation (add) or first use (use). */
struct xfrm_lifetime {
    uint64_t soft_bytes;
    uint64_t hard_bytes;
    uint64_t soft_packets;
    uint64_t hard_packets;
    uint64_t soft_add_secs;
    uint64_t hard_add_secs;
    uint64_t soft_use_secs;
    uint64_t hard_use_secs;
};

/* Current use as the kernel reports it; times are seconds since the epoch,
 * use_time 0 when never used. */
struct xfrm_counters {
    uint64_t bytes;
    uint64_t packets;
    uint64_t add_time;
    uint64_t use_time;
};

/* Netfilter-style mark: an object matches packets with (mark & mask) == value.
 * mask 0 means "unmarked" and nothing is sent to the kernel. */
struct xfrm_markspec {
    uint32_t value;
    uint32_t mask;
};

/* Dump filters. */
#define XFRM_DUMP_ALL  0u
#define XFRM_DUMP_OURS 1u

#endif

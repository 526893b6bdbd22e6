/* Tunnel-mode IPsec policies (in, out, fwd) with ESP templates, and
 * per-socket bypass policies for the IKE sockets. */
#ifndef MGATE_XFRM_POLICY_H
#define MGATE_XFRM_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xfrm_err.h"
#include "xfrm_nl.h"
#include "xfrm_types.h"

/* Kernel direction numbers, so values can be compared with kernel output. */
enum xfrm_dir {
    XFRM_DIR_IN = 0,
    XFRM_DIR_OUT = 1,
    XFRM_DIR_FWD = 2,
};

/* Nested transforms the library accepts on one policy. */
#define XFRM_TMPL_MAX 4

/* One ESP tunnel-mode transform: src/dst are the tunnel's outer addresses. */
struct xfrm_tmpl {
    struct xfrm_addr src;
    struct xfrm_addr dst;
    uint32_t reqid; /* inside the ownership range; matched against the SA's */
    uint32_t spi;   /* host order, 0 = any SA with the reqid */
    bool optional;
};

struct xfrm_policy {
    struct xfrm_sel sel;
    enum xfrm_dir dir;
    uint32_t priority; /* inside the ownership band (xfrm_owner.h) */
    bool block;        /* drop matching traffic instead of protecting it */
    struct xfrm_tmpl tmpl[XFRM_TMPL_MAX];
    size_t n_tmpl; /* 1..XFRM_TMPL_MAX */
    struct xfrm_markspec mark;
    uint32_t if_id;
    struct xfrm_lifetime lft;
};

/* Identity of a policy in the kernel: selector, direction, mark, if_id. */
struct xfrm_policy_id {
    struct xfrm_sel sel;
    enum xfrm_dir dir;
    struct xfrm_markspec mark;
    uint32_t if_id;
};

/* What the kernel reports about a policy, ours or not. */
struct xfrm_policy_info {
    struct xfrm_policy pol;            /* templates as the kernel has them */
    uint8_t tmpl_proto[XFRM_TMPL_MAX]; /* IPPROTO_ESP for ours */
    uint8_t tmpl_mode[XFRM_TMPL_MAX];  /* kernel XFRM_MODE_*, 1 = tunnel */
    uint32_t index;                    /* kernel's policy index */
    uint8_t type;                      /* 0 = main, 1 = sub */
    uint8_t flags;                     /* kernel XFRM_POLICY_LOCALOK/ICMP */
    uint8_t share;
    bool tmpl_truncated; /* more templates than XFRM_TMPL_MAX */
    struct xfrm_counters cur;
    bool ours;
};

int xfrm_policy_validate(const struct xfrm_policy *pol, struct xfrm_err *err);
/* True when the priority is in the band and every template (at least one)
 * has an owned reqid. Dumps, events and the ownership checks use this. */
bool xfrm_policy_is_ours(const struct xfrm_policy_info *info);

/* Fails with -EEXIST when a policy with the same identity exists. */
int xfrm_policy_add(struct xfrm_nl *nl, const struct xfrm_policy *pol, struct xfrm_err *err);
/* Replaces the policy with the same identity (which must be ours), or adds it. */
int xfrm_policy_update(struct xfrm_nl *nl, const struct xfrm_policy *pol, struct xfrm_err *err);
/* The kernel's current policy must be ours: -EPERM otherwise, -ENOENT if none. */
int xfrm_policy_delete(struct xfrm_nl *nl, const struct xfrm_policy_id *id, struct xfrm_err *err);
int xfrm_policy_get(struct xfrm_nl *nl, const struct xfrm_policy_id *id,
                    struct xfrm_policy_info *out, struct xfrm_err *err);

/* As xfrm_sa_dump_cb: non-zero stops the calls and is returned; the callback
 * must not use the same struct xfrm_nl. */
typedef int (*xfrm_policy_dump_cb)(const struct xfrm_policy_info *pol, void *arg);
/* flags: XFRM_DUMP_ALL or XFRM_DUMP_OURS. Main-type policies only;
 * per-socket policies are not in the kernel's SPD and never appear. */
int xfrm_policy_dump(struct xfrm_nl *nl, unsigned flags, xfrm_policy_dump_cb cb, void *arg,
                     struct xfrm_err *err);

/* Lets the socket's traffic bypass IPsec in both directions (an ALLOW policy
 * per direction attached to the socket), as IKE and NAT-T keepalive sockets
 * need. Works on AF_INET and AF_INET6 sockets; needs CAP_NET_ADMIN. */
int xfrm_policy_socket_bypass(int fd, struct xfrm_err *err);

const char *xfrm_policy_dir_name(enum xfrm_dir dir);

#endif

/* Kernel XFRM events: a non-blocking socket subscribed to the XFRM multicast
 * groups, and a parser turning its messages into struct xfrm_event.
 *
 * The daemon polls xfrm_event_fd() (with libuv or anything else) and calls
 * xfrm_event_dispatch() when it is readable. Each event says whether the
 * object concerned is ours (xfrm_owner.h). SA notifications from the kernel
 * carry keys: they are never copied out, and the receive buffer is wiped. */
#ifndef MGATE_XFRM_EVENT_H
#define MGATE_XFRM_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xfrm_err.h"
#include "xfrm_policy.h"
#include "xfrm_sa.h"
#include "xfrm_types.h"

struct nlmsghdr;

/* Groups to join; 0 means XFRM_EVENT_GROUPS_DEFAULT. */
#define XFRM_EVENT_GROUP_ACQUIRE  (1u << 0)
#define XFRM_EVENT_GROUP_EXPIRE   (1u << 1)
#define XFRM_EVENT_GROUP_SA       (1u << 2)
#define XFRM_EVENT_GROUP_POLICY   (1u << 3)
#define XFRM_EVENT_GROUP_REPORT   (1u << 4)
#define XFRM_EVENT_GROUP_MIGRATE  (1u << 5)
#define XFRM_EVENT_GROUP_MAPPING  (1u << 6)
#define XFRM_EVENT_GROUPS_DEFAULT 0x7fu

/* Most datagrams one xfrm_event_dispatch() call reads, so a flood of events
 * never starves the caller's event loop; the fd stays readable for the rest. */
#define XFRM_EVENT_MAX_READS 256

/* Most transforms one MIGRATE carries (the kernel's XFRM_MAX_DEPTH). */
#define XFRM_MIGRATE_MAX 6

enum xfrm_event_type {
    XFRM_EVENT_SA_NEW = 1,
    XFRM_EVENT_SA_UPDATE,
    XFRM_EVENT_SA_DELETE,
    XFRM_EVENT_SA_EXPIRE, /* soft or hard lifetime reached (u.sa.hard) */
    XFRM_EVENT_SA_FLUSH,
    XFRM_EVENT_POLICY_NEW,
    XFRM_EVENT_POLICY_UPDATE,
    XFRM_EVENT_POLICY_DELETE,
    XFRM_EVENT_POLICY_EXPIRE,
    XFRM_EVENT_POLICY_FLUSH,
    XFRM_EVENT_ACQUIRE, /* traffic hit an out policy with no SA */
    XFRM_EVENT_MIGRATE,
    XFRM_EVENT_MAPPING, /* NAT mapping of an encapsulated SA changed */
    XFRM_EVENT_REPORT,
    XFRM_EVENT_OVERRUN, /* the kernel dropped events: resync with dumps */
    XFRM_EVENT_INVALID, /* a message that could not be read (u.error) */
};

struct xfrm_event_acquire {
    struct xfrm_addr src; /* tunnel endpoints the SA should have */
    struct xfrm_addr dst;
    uint8_t proto;
    struct xfrm_sel sel;            /* the flow that triggered it */
    struct xfrm_policy_info policy; /* the policy (with templates) it hit */
    uint32_t seq;                   /* kernel's acquire sequence number */
};

struct xfrm_event_migrate_entry {
    struct xfrm_addr old_src, old_dst;
    struct xfrm_addr new_src, new_dst;
    uint8_t proto;
    uint8_t mode;
    uint32_t reqid;
};

struct xfrm_event_migrate {
    struct xfrm_sel sel;
    enum xfrm_dir dir;
    size_t n;
    struct xfrm_event_migrate_entry entry[XFRM_MIGRATE_MAX];
    bool has_kmaddress;
    struct xfrm_addr km_local, km_remote;
    bool encap;
    struct xfrm_encap encap_ports;
};

struct xfrm_event_mapping {
    struct xfrm_sa_id sa; /* the inbound SA whose peer moved */
    uint32_t reqid;
    struct xfrm_addr old_src, new_src;
    uint16_t old_sport, new_sport; /* host order */
};

struct xfrm_event_report {
    uint8_t proto;
    struct xfrm_sel sel;
    bool has_coaddr;
    struct xfrm_addr coaddr;
};

struct xfrm_event {
    enum xfrm_event_type type;
    bool ours; /* the SA/policy/template is mgate's */
    union {
        struct {
            struct xfrm_sa_info info;
            bool hard; /* SA_EXPIRE only */
        } sa;
        struct {
            struct xfrm_policy_info info;
            bool hard; /* POLICY_EXPIRE only */
        } policy;
        struct xfrm_event_acquire acquire;
        struct xfrm_event_migrate migrate;
        struct xfrm_event_mapping mapping;
        struct xfrm_event_report report;
        uint8_t flush_proto;   /* SA_FLUSH: IPPROTO_* or 0 for all */
        struct xfrm_err error; /* OVERRUN, INVALID */
    } u;
};

struct xfrm_event_sock;

/* rcvbuf: bytes asked for the receive buffer (0 = 4 MiB); a short buffer
 * under an event storm costs an OVERRUN event, not a crash. */
struct xfrm_event_sock *xfrm_event_open(unsigned groups, size_t rcvbuf, struct xfrm_err *err);
void xfrm_event_close(struct xfrm_event_sock *es);
int xfrm_event_fd(const struct xfrm_event_sock *es);

typedef void (*xfrm_event_cb)(const struct xfrm_event *ev, void *arg);

/* Reads what is pending (at most XFRM_EVENT_MAX_READS datagrams) and calls
 * cb once per event, in kernel order. Returns the number of events delivered
 * (0 when nothing was pending) or a negative errno if the socket failed. */
int xfrm_event_dispatch(struct xfrm_event_sock *es, xfrm_event_cb cb, void *arg,
                        struct xfrm_err *err);

/* Parses one XFRM notification. Returns 0 with ev filled, 1 for messages
 * that are not events (ignored), or a negative errno with err set. */
int xfrm_event_parse(const struct nlmsghdr *nlh, struct xfrm_event *ev, struct xfrm_err *err);

const char *xfrm_event_type_name(enum xfrm_event_type type);

#endif

#include "xfrm_event.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/xfrm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "xfrm_nl_priv.h"

#define DEFAULT_RCVBUF (4u * 1024u * 1024u)
#define EVENT_RX_SIZE  (64u * 1024u)

struct xfrm_event_sock {
    struct mnl_socket *sock;
    int fd;
    uint8_t *rx; /* SA notifications carry keys: wiped after each read */
    size_t rx_size;
};

static const struct {
    unsigned flag;
    unsigned group;
} group_map[] = {
    {XFRM_EVENT_GROUP_ACQUIRE, XFRMNLGRP_ACQUIRE}, {XFRM_EVENT_GROUP_EXPIRE, XFRMNLGRP_EXPIRE},
    {XFRM_EVENT_GROUP_SA, XFRMNLGRP_SA},           {XFRM_EVENT_GROUP_POLICY, XFRMNLGRP_POLICY},
    {XFRM_EVENT_GROUP_REPORT, XFRMNLGRP_REPORT},   {XFRM_EVENT_GROUP_MIGRATE, XFRMNLGRP_MIGRATE},
    {XFRM_EVENT_GROUP_MAPPING, XFRMNLGRP_MAPPING},
};

struct xfrm_event_sock *xfrm_event_open(unsigned groups, size_t rcvbuf, struct xfrm_err *err)
{
    struct xfrm_event_sock *es = calloc(1, sizeof(*es));

    if (!es) {
        xfrm_err_set(err, -ENOMEM, "out of memory");
        return NULL;
    }
    if (groups == 0)
        groups = XFRM_EVENT_GROUPS_DEFAULT;
    es->fd = -1;
    es->sock = mnl_socket_open2(NETLINK_XFRM, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (!es->sock) {
        xfrm_err_set(err, -errno, "netlink XFRM event socket: %s", strerror(errno));
        goto fail;
    }
    if (mnl_socket_bind(es->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
        xfrm_err_set(err, -errno, "netlink XFRM event bind: %s", strerror(errno));
        goto fail;
    }
    es->fd = mnl_socket_get_fd(es->sock);
    for (size_t i = 0; i < sizeof(group_map) / sizeof(group_map[0]); i++) {
        int g = (int)group_map[i].group;

        if (!(groups & group_map[i].flag))
            continue;
        if (mnl_socket_setsockopt(es->sock, NETLINK_ADD_MEMBERSHIP, &g, sizeof(g)) < 0) {
            xfrm_err_set(err, -errno, "joining XFRM multicast group %d: %s", g, strerror(errno));
            goto fail;
        }
    }
    if (xfrm_nl_set_buf(es->fd, SO_RCVBUFFORCE, SO_RCVBUF, rcvbuf ? rcvbuf : DEFAULT_RCVBUF) == 0) {
        xfrm_err_set(err, -EIO, "netlink XFRM event socket: cannot read SO_RCVBUF");
        goto fail;
    }
    es->rx_size = EVENT_RX_SIZE;
    es->rx = xfrm_nl_secure_alloc(es->rx_size);
    if (!es->rx) {
        xfrm_err_set(err, -ENOMEM, "out of memory for the event buffer");
        goto fail;
    }
    return es;
fail:
    xfrm_event_close(es);
    return NULL;
}

void xfrm_event_close(struct xfrm_event_sock *es)
{
    if (!es)
        return;
    xfrm_nl_secure_free(es->rx, es->rx_size);
    if (es->sock)
        mnl_socket_close(es->sock);
    free(es);
}

int xfrm_event_fd(const struct xfrm_event_sock *es)
{
    return es->fd;
}

static void deliver_error(enum xfrm_event_type type, const struct xfrm_err *e, xfrm_event_cb cb,
                          void *arg)
{
    struct xfrm_event ev;

    memset(&ev, 0, sizeof(ev));
    ev.type = type;
    ev.u.error = *e;
    cb(&ev, arg);
}

int xfrm_event_dispatch(struct xfrm_event_sock *es, xfrm_event_cb cb, void *arg,
                        struct xfrm_err *err)
{
    int delivered = 0;

    if (!cb)
        return xfrm_err_set(err, -EINVAL, "event dispatch without a callback");
    for (int reads = 0; reads < XFRM_EVENT_MAX_READS; reads++) {
        struct sockaddr_nl from;
        struct iovec iov = {.iov_base = es->rx, .iov_len = es->rx_size};
        struct msghdr msg = {
            .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov, .msg_iovlen = 1};
        ssize_t n = recvmsg(es->fd, &msg, MSG_DONTWAIT);
        int len;

        if (n < 0) {
            struct xfrm_err e;

            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            if (errno == EINTR)
                continue;
            if (errno == ENOBUFS) {
                xfrm_err_set(&e, -ENOBUFS, "kernel dropped XFRM events (receive buffer full)");
                deliver_error(XFRM_EVENT_OVERRUN, &e, cb, arg);
                delivered++;
                continue;
            }
            return xfrm_err_set(err, -errno, "XFRM event receive: %s", strerror(errno));
        }
        /* Only the kernel may speak on these groups; anything else is
         * dropped unread. */
        if (from.nl_pid != 0) {
            explicit_bzero(es->rx, (size_t)n < es->rx_size ? (size_t)n : es->rx_size);
            continue;
        }
        if (msg.msg_flags & MSG_TRUNC) {
            struct xfrm_err e;

            explicit_bzero(es->rx, es->rx_size);
            xfrm_err_set(&e, -EMSGSIZE, "XFRM event larger than %zu bytes dropped", es->rx_size);
            deliver_error(XFRM_EVENT_OVERRUN, &e, cb, arg);
            delivered++;
            continue;
        }
        len = (int)n;
        for (const struct nlmsghdr *h = (const struct nlmsghdr *)es->rx; mnl_nlmsg_ok(h, len);
             h = mnl_nlmsg_next(h, &len)) {
            struct xfrm_event ev;
            struct xfrm_err e;
            int rc = xfrm_event_parse(h, &ev, &e);

            if (rc == 1)
                continue;
            if (rc < 0) {
                deliver_error(XFRM_EVENT_INVALID, &e, cb, arg);
            } else {
                cb(&ev, arg);
            }
            delivered++;
        }
        explicit_bzero(es->rx, (size_t)n);
    }
    return delivered;
}

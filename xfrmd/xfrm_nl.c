#include "xfrm_nl_priv.h"

#include <errno.h>
#include <limits.h>
#include <linux/netlink.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_RCVBUF (8u * 1024u * 1024u)
#define DEFAULT_BATCH  (128u * 1024u)
/* Smallest batch: several of the largest messages, so the overflowing message
 * libmnl moves to the front never overlaps itself. */
#define MIN_BATCH (4u * XFRM_NL_TX_OVERFLOW)
/* Smallest request the batch engine builds (an SA id without mark): sizes the
 * per-chunk index so it can never be what limits a chunk. */
#define MIN_REQUEST 40u

void *xfrm_nl_secure_alloc(size_t len)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    if (p == MAP_FAILED)
        return NULL;
    /* Keys pass through these buffers: keep them out of core dumps. Best
     * effort: a kernel without MADV_DONTDUMP still gets wiped buffers. */
    (void)madvise(p, len, MADV_DONTDUMP);
    return p;
}

void xfrm_nl_secure_free(void *p, size_t len)
{
    if (!p)
        return;
    explicit_bzero(p, len);
    munmap(p, len);
}

size_t xfrm_nl_set_buf(int fd, int force_opt, int opt, size_t want)
{
    int v = want > INT_MAX / 2 ? INT_MAX / 2 : (int)want;
    socklen_t len = sizeof(v);

    if (setsockopt(fd, SOL_SOCKET, force_opt, &v, sizeof(v)) < 0)
        (void)setsockopt(fd, SOL_SOCKET, opt, &v, sizeof(v));
    if (getsockopt(fd, SOL_SOCKET, opt, &v, &len) < 0 || v < 0)
        return 0;
    return (size_t)v;
}

static void set_flag(struct xfrm_nl *nl, int opt)
{
    int one = 1;

    /* Older kernels lack extended acks or capped acks: errors then come
     * without the kernel's text, or with the request echoed (and wiped with
     * the rest of the receive buffer). Neither is fatal. */
    (void)mnl_socket_setsockopt(nl->sock, opt, &one, sizeof(one));
}

struct xfrm_nl *xfrm_nl_open(const struct xfrm_nl_opts *opts, struct xfrm_err *err)
{
    struct xfrm_nl *nl = calloc(1, sizeof(*nl));
    size_t want_rcv = opts && opts->rcvbuf ? opts->rcvbuf : DEFAULT_RCVBUF;
    size_t limit = opts && opts->batch_bytes ? opts->batch_bytes : DEFAULT_BATCH;
    size_t sndbuf;

    if (!nl) {
        xfrm_err_set(err, -ENOMEM, "out of memory");
        return NULL;
    }
    nl->fd = -1;
    nl->sock = mnl_socket_open2(NETLINK_XFRM, SOCK_CLOEXEC);
    if (!nl->sock) {
        xfrm_err_set(err, -errno, "netlink XFRM socket: %s (is xfrm_user available?)",
                     strerror(errno));
        goto fail;
    }
    if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
        xfrm_err_set(err, -errno, "netlink XFRM bind: %s", strerror(errno));
        goto fail;
    }
    nl->fd = mnl_socket_get_fd(nl->sock);
    nl->portid = mnl_socket_get_portid(nl->sock);
    nl->seq = (uint32_t)time(NULL);
    set_flag(nl, NETLINK_EXT_ACK);
    set_flag(nl, NETLINK_CAP_ACK);

    nl->rcvbuf = xfrm_nl_set_buf(nl->fd, SO_RCVBUFFORCE, SO_RCVBUF, want_rcv);
    if (nl->rcvbuf == 0) {
        xfrm_err_set(err, -EIO, "netlink XFRM socket: cannot read SO_RCVBUF");
        goto fail;
    }
    /* Half the buffer for replies of one send: the rest absorbs the
     * estimate's error (skb overheads vary between kernels). */
    nl->ack_budget = nl->rcvbuf / 2;

    if (limit < MIN_BATCH)
        limit = MIN_BATCH;
    sndbuf = xfrm_nl_set_buf(nl->fd, SO_SNDBUFFORCE, SO_SNDBUF, 2 * limit);
    /* netlink_sendmsg refuses a datagram above sndbuf minus a little. */
    if (sndbuf < limit + 64)
        limit = sndbuf > MIN_BATCH + 64 ? sndbuf - 64 : MIN_BATCH;
    nl->batch_limit = limit;
    nl->tx_size = limit + XFRM_NL_TX_OVERFLOW;
    nl->tx = xfrm_nl_secure_alloc(nl->tx_size);
    nl->rx_size = XFRM_NL_RX_SIZE;
    nl->rx = xfrm_nl_secure_alloc(nl->rx_size);
    nl->chunk_cap = limit / MIN_REQUEST + 1;
    nl->chunk_idx = calloc(nl->chunk_cap, sizeof(*nl->chunk_idx));
    if (!nl->tx || !nl->rx || !nl->chunk_idx) {
        xfrm_err_set(err, -ENOMEM, "out of memory for netlink buffers");
        goto fail;
    }
    nl->batch = mnl_nlmsg_batch_start(nl->tx, nl->batch_limit);
    if (!nl->batch) {
        xfrm_err_set(err, -ENOMEM, "out of memory for the netlink batch");
        goto fail;
    }
    return nl;
fail:
    xfrm_nl_close(nl);
    return NULL;
}

void xfrm_nl_close(struct xfrm_nl *nl)
{
    if (!nl)
        return;
    if (nl->batch)
        mnl_nlmsg_batch_stop(nl->batch);
    xfrm_nl_secure_free(nl->tx, nl->tx_size);
    xfrm_nl_secure_free(nl->rx, nl->rx_size);
    free(nl->chunk_idx);
    if (nl->sock)
        mnl_socket_close(nl->sock);
    free(nl);
}

int xfrm_nl_fd(const struct xfrm_nl *nl)
{
    return nl->fd;
}

size_t xfrm_nl_rcvbuf(const struct xfrm_nl *nl)
{
    return nl->rcvbuf;
}

uint32_t xfrm_nl_next_seq(struct xfrm_nl *nl)
{
    /* Wraps through 0 on purpose: the batch engine relies on consecutive
     * numbers, and this socket joins no multicast group whose seq-0
     * notifications could be confused with replies. */
    return ++nl->seq;
}

int xfrm_nl_send(struct xfrm_nl *nl, void *buf, size_t len, struct xfrm_err *err)
{
    ssize_t n = mnl_socket_sendto(nl->sock, buf, len);
    int e = errno;

    explicit_bzero(buf, len);
    if (n < 0)
        return xfrm_err_set(err, -e, "netlink send of %zu bytes: %s", len, strerror(e));
    if ((size_t)n != len)
        return xfrm_err_set(err, -EIO, "netlink send: %zd of %zu bytes sent", n, len);
    return 0;
}

void xfrm_nl_rx_wipe(struct xfrm_nl *nl, size_t len)
{
    explicit_bzero(nl->rx, len < nl->rx_size ? len : nl->rx_size);
}

int xfrm_nl_recv(struct xfrm_nl *nl, int timeout_ms, struct xfrm_err *err)
{
    struct sockaddr_nl from;
    struct iovec iov = {.iov_base = nl->rx, .iov_len = nl->rx_size};
    struct msghdr msg = {
        .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov, .msg_iovlen = 1};
    /* Bounded: each pass either returns or consumes a datagram not from
     * the kernel, and the overall wait never exceeds timeout_ms. */
    struct timespec start, now;

    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        ssize_t n;
        int left;

        msg.msg_namelen = sizeof(from);
        n = recvmsg(nl->fd, &msg, MSG_DONTWAIT);
        if (n >= 0) {
            if (msg.msg_flags & MSG_TRUNC) {
                xfrm_nl_rx_wipe(nl, nl->rx_size);
                return xfrm_err_set(err, -EMSGSIZE, "netlink reply larger than %zu bytes",
                                    nl->rx_size);
            }
            if (from.nl_pid != 0) /* only the kernel speaks here */
                continue;
            return (int)n;
        }
        if (errno == EINTR)
            continue;
        if (errno == ENOBUFS)
            return xfrm_err_set(err, -ENOBUFS, "netlink receive buffer overrun: replies were lost");
        if (errno != EAGAIN)
            return xfrm_err_set(err, -errno, "netlink receive: %s", strerror(errno));
        clock_gettime(CLOCK_MONOTONIC, &now);
        left = timeout_ms -
               (int)((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000);
        if (left <= 0)
            return xfrm_err_set(err, -ETIMEDOUT, "no reply from the kernel within %d ms",
                                timeout_ms);
        struct pollfd pfd = {.fd = nl->fd, .events = POLLIN};
        if (poll(&pfd, 1, left) < 0 && errno != EINTR)
            return xfrm_err_set(err, -errno, "netlink poll: %s", strerror(errno));
    }
}

struct ext_ack {
    const char *msg;
    size_t len;
};

static int ext_ack_attr(const struct nlattr *attr, void *data)
{
    struct ext_ack *ea = data;

    if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG) {
        ea->msg = mnl_attr_get_payload(attr);
        ea->len = mnl_attr_get_payload_len(attr);
    }
    return MNL_CB_OK;
}

int xfrm_nl_error(const struct nlmsghdr *nlh, struct xfrm_err *err)
{
    const struct nlmsgerr *e;
    struct ext_ack ea = {NULL, 0};
    int code;

    if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(*e))
        return xfrm_err_set(err, -EPROTO, "truncated netlink error message");
    e = mnl_nlmsg_get_payload(nlh);
    code = e->error;
    if (code > 0 || code < -4095)
        return xfrm_err_set(err, -EPROTO, "netlink error code %d out of range", code);
    if (code == 0)
        return 0;
    if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) {
        size_t off = sizeof(*e);

        /* Without capped acks the request is echoed before the TLVs. */
        if (!(nlh->nlmsg_flags & NLM_F_CAPPED) && e->msg.nlmsg_len > NLMSG_HDRLEN)
            off += e->msg.nlmsg_len - NLMSG_HDRLEN;
        off = MNL_ALIGN(off);
        if (NLMSG_HDRLEN + off < nlh->nlmsg_len)
            (void)mnl_attr_parse(nlh, (unsigned)off, ext_ack_attr, &ea);
    }
    if (ea.msg && ea.len > 1)
        return xfrm_err_set(err, code, "%s (%.*s)", strerror(-code), (int)strnlen(ea.msg, ea.len),
                            ea.msg);
    return xfrm_err_set(err, code, "%s", strerror(-code));
}

int xfrm_nl_transact(struct xfrm_nl *nl, struct nlmsghdr *req, xfrm_nl_reply_cb cb, void *arg,
                     struct xfrm_err *err)
{
    bool dump = req->nlmsg_flags & NLM_F_DUMP;
    uint32_t seq = xfrm_nl_next_seq(nl);
    int result = 0;
    bool stopped = false;
    struct timespec start, now;
    int rc;

    req->nlmsg_seq = seq;
    if (!dump)
        req->nlmsg_flags |= NLM_F_ACK;
    rc = xfrm_nl_send(nl, req, req->nlmsg_len, err);
    if (rc < 0)
        return rc;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        int n = xfrm_nl_recv(nl, XFRM_NL_TIMEOUT_MS, err);
        size_t got = n > 0 ? (size_t)n : 0;
        bool done = false;

        if (n < 0)
            return n;
        for (const struct nlmsghdr *h = (const struct nlmsghdr *)nl->rx; mnl_nlmsg_ok(h, n);
             h = mnl_nlmsg_next(h, &n)) {
            if (h->nlmsg_seq != seq || h->nlmsg_pid != nl->portid)
                continue; /* a late reply to an abandoned request */
            if (h->nlmsg_type == NLMSG_ERROR) {
                struct xfrm_err e;
                int code = xfrm_nl_error(h, &e);

                if (code < 0 && result == 0) {
                    result = code;
                    if (err)
                        *err = e;
                }
                done = true;
            } else if (h->nlmsg_type == NLMSG_DONE) {
                int code = 0;

                if (mnl_nlmsg_get_payload_len(h) >= sizeof(int))
                    memcpy(&code, mnl_nlmsg_get_payload(h), sizeof(code));
                if (code < 0 && result == 0)
                    result = xfrm_err_set(err, code, "dump failed: %s", strerror(-code));
                done = true;
            } else if (!stopped && cb) {
                rc = cb(h, arg, err);
                if (rc < 0 && result == 0)
                    result = rc;
                if (rc != 0)
                    stopped = true;
            }
            if (done)
                break;
        }
        xfrm_nl_rx_wipe(nl, got);
        if (done)
            return result;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((now.tv_sec - start.tv_sec) * 1000 >
            (dump ? XFRM_NL_DUMP_TIMEOUT_MS : XFRM_NL_TIMEOUT_MS))
            return xfrm_err_set(err, -ETIMEDOUT, "kernel reply did not complete in time");
    }
}

/* The IKE UDP sockets. xfrmd opens and binds them (ports 500 and 4500 need
 * privileges) and passes them over its socket; iked asks at start and keeps
 * asking, once a second, until xfrmd answers. Received datagrams carry their
 * destination address (IP_PKTINFO), so replies leave from the address the
 * device talked to, which NAT detection and multi-homed gateways need. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "envelope.h"
#include "ike_frag.h"
#include "ipc_sync.h"
#include "log.h"
#include "iked.h"
#include "xfrmd.pb-c.h"

/* RFC 7296 §3 bounds an IKE message by what the peer accepts; 64 KiB is the
 * UDP limit. Fragmented messages (RFC 7383) are reassembled above this. */
#define IKED_RX_MAX 65536

static void iked_net_on_readable(uv_poll_t *p, int status, int events);

static int iked_net_fetch_sockets(struct iked *ik, char *why, size_t why_len)
{
    struct daemon *d = service_daemon(ik->s);
    struct conf_error err = {{0}};
    char *path = mgate_svc_socket_path(&d->cf, &d->g, "xfrmd", &err);
    if (!path) {
        snprintf(why, why_len, "%s", err.msg);
        return -EINVAL;
    }
    struct ipc_sync s;
    int rc = ipc_sync_connect(&s, path, (uint32_t)d->g.max_frame);
    free(path);
    if (rc) {
        snprintf(why, why_len, "xfrmd: %s", strerror(-rc));
        return rc;
    }
    Mgate__IkeSocketsRequest rq = MGATE__IKE_SOCKETS_REQUEST__INIT;
    Mgate__XfrmdRequest env;
    envelope_init_set(&mgate__xfrmd_request__descriptor, &env,
                      MGATE__XFRMD_REQUEST__BODY_IKE_SOCKETS, &rq.base);
    Mgate__Frame *f = NULL;
    int fds[IPC_MAX_FDS];
    size_t n_fds = 0;
    rc = ipc_sync_call_fds(&s, &env.base, 5000, &f, fds, IPC_MAX_FDS, &n_fds);
    ipc_sync_close(&s);
    if (rc) {
        snprintf(why, why_len, "xfrmd: %s", strerror(-rc));
        return rc;
    }
    Mgate__XfrmdResponse *r =
        f->error ? NULL : mgate__xfrmd_response__unpack(NULL, f->payload.len, f->payload.data);
    rc = 0;
    if (!r || r->body_case != MGATE__XFRMD_RESPONSE__BODY_IKE_SOCKETS) {
        snprintf(why, why_len, "xfrmd refused: %s",
                 f->error        ? f->error->message
                 : r && r->error ? r->error->message
                                 : "no sockets in the answer");
        rc = -EPROTO;
    } else if (r->ike_sockets->n_sockets != n_fds || n_fds > IKED_MAX_SOCKETS) {
        snprintf(why, why_len, "xfrmd announced %zu sockets and passed %zu",
                 r->ike_sockets->n_sockets, n_fds);
        rc = -EPROTO;
    }
    for (size_t i = 0; rc == 0 && i < n_fds; i++) {
        struct iked_sock *sk = &ik->socks[i];
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        if (getsockname(fds[i], (struct sockaddr *)&ss, &sl) < 0) {
            snprintf(why, why_len, "getsockname: %s", strerror(errno));
            rc = -errno;
            break;
        }
        sk->fd = fds[i];
        sk->family = ss.ss_family;
        sk->port = (uint16_t)r->ike_sockets->sockets[i]->port;
        sk->natt = r->ike_sockets->sockets[i]->natt;
        sk->ik = ik;
    }
    if (rc == 0) {
        ik->n_socks = n_fds;
    } else {
        for (size_t i = 0; i < n_fds; i++)
            close(fds[i]);
    }
    if (r)
        mgate__xfrmd_response__free_unpacked(r, NULL);
    mgate__frame__free_unpacked(f, NULL);
    return rc;
}

static void iked_net_poll_all(struct iked *ik)
{
    uv_loop_t *loop = service_daemon(ik->s)->loop;
    for (size_t i = 0; i < ik->n_socks; i++) {
        struct iked_sock *sk = &ik->socks[i];
        uv_poll_init(loop, &sk->poll, sk->fd);
        sk->poll.data = sk;
        uv_poll_start(&sk->poll, UV_READABLE, iked_net_on_readable);
    }
    log_notice("listening for IKE on %zu sockets from xfrmd", ik->n_socks);
}

static void iked_net_on_retry(uv_timer_t *t)
{
    struct iked *ik = t->data;
    static unsigned failures;
    char why[CONF_ERR_MAX + 64];
    if (iked_net_fetch_sockets(ik, why, sizeof(why)) < 0) {
        /* The first failure is worth a line, not every retry. */
        if (failures++ == 0)
            log_warn("no IKE sockets yet (%s); asking xfrmd every second", why);
        return;
    }
    failures = 0;
    uv_timer_stop(t);
    iked_net_poll_all(ik);
}

int iked_net_start(struct iked *ik)
{
    uv_loop_t *loop = service_daemon(ik->s)->loop;
    uv_timer_init(loop, &ik->sock_retry);
    ik->sock_retry.data = ik;
    uv_timer_start(&ik->sock_retry, iked_net_on_retry, 0, 1000);
    return 0;
}

void iked_net_stop(struct iked *ik)
{
    uv_timer_stop(&ik->sock_retry);
    uv_close((uv_handle_t *)&ik->sock_retry, NULL);
    for (size_t i = 0; i < ik->n_socks; i++) {
        uv_poll_stop(&ik->socks[i].poll);
        uv_close((uv_handle_t *)&ik->socks[i].poll, NULL);
        close(ik->socks[i].fd);
    }
    ik->n_socks = 0;
}

static void iked_net_on_readable(uv_poll_t *p, int status, int events)
{
    struct iked_sock *sk = p->data;
    struct iked *ik = sk->ik;
    (void)events;
    if (status < 0)
        return;
    static uint8_t buf[IKED_RX_MAX];
    /* Bounded: other sockets and timers get their turn. */
    for (int burst = 0; burst < 64; burst++) {
        struct sockaddr_storage remote;
        union {
            struct cmsghdr h;
            char space[CMSG_SPACE(sizeof(struct in6_pktinfo))];
        } ctl;
        struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
        struct msghdr mh = {.msg_name = &remote,
                            .msg_namelen = sizeof(remote),
                            .msg_iov = &iov,
                            .msg_iovlen = 1,
                            .msg_control = ctl.space,
                            .msg_controllen = sizeof(ctl.space)};
        ssize_t n = recvmsg(sk->fd, &mh, MSG_DONTWAIT);
        if (n < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                log_warn("IKE socket: %s", strerror(errno));
            return;
        }
        struct sockaddr_storage local;
        memset(&local, 0, sizeof(local));
        local.ss_family = (sa_family_t)sk->family;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
            if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
                struct in_pktinfo pi;
                memcpy(&pi, CMSG_DATA(c), sizeof(pi));
                ((struct sockaddr_in *)&local)->sin_addr = pi.ipi_addr;
            } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
                struct in6_pktinfo pi;
                memcpy(&pi, CMSG_DATA(c), sizeof(pi));
                ((struct sockaddr_in6 *)&local)->sin6_addr = pi.ipi6_addr;
            }
        }
        if (sk->family == AF_INET)
            ((struct sockaddr_in *)&local)->sin_port = htons(sk->port);
        else
            ((struct sockaddr_in6 *)&local)->sin6_port = htons(sk->port);
        ik->rx_packets++;
        const uint8_t *msg = buf;
        size_t len = (size_t)n;
        if (sk->natt) {
            /* RFC 3948: a NAT keepalive is one 0xff octet; IKE on 4500 comes
             * after a 4-octet zero non-ESP marker (ESP itself never reaches
             * us: the kernel takes it on this socket). */
            if (len == 1 && buf[0] == 0xff)
                continue;
            if (len < 4 || memcmp(buf, "\0\0\0\0", 4) != 0) {
                ik->rx_dropped++;
                continue;
            }
            msg += 4;
            len -= 4;
        }
        iked_dispatch(ik, msg, len, &local, &remote, sk->natt);
    }
}

int iked_net_sendmsg(int fd, const struct sockaddr_storage *local,
                     const struct sockaddr_storage *remote, const struct iovec *iov, size_t n_iov)
{
    union {
        struct cmsghdr h;
        char space[CMSG_SPACE(sizeof(struct in6_pktinfo))];
    } ctl;
    memset(&ctl, 0, sizeof(ctl));
    struct msghdr mh = {.msg_name = (void *)remote,
                        .msg_namelen = remote->ss_family == AF_INET ? sizeof(struct sockaddr_in)
                                                                    : sizeof(struct sockaddr_in6),
                        .msg_iov = (struct iovec *)iov,
                        .msg_iovlen = n_iov,
                        .msg_control = ctl.space};
    struct cmsghdr *c = (struct cmsghdr *)ctl.space;
    if (local->ss_family == AF_INET) {
        struct in_pktinfo pi = {0};
        pi.ipi_spec_dst = ((const struct sockaddr_in *)local)->sin_addr;
        c->cmsg_level = IPPROTO_IP;
        c->cmsg_type = IP_PKTINFO;
        c->cmsg_len = CMSG_LEN(sizeof(pi));
        memcpy(CMSG_DATA(c), &pi, sizeof(pi));
        mh.msg_controllen = CMSG_SPACE(sizeof(pi));
    } else {
        struct in6_pktinfo pi = {0};
        pi.ipi6_addr = ((const struct sockaddr_in6 *)local)->sin6_addr;
        c->cmsg_level = IPPROTO_IPV6;
        c->cmsg_type = IPV6_PKTINFO;
        c->cmsg_len = CMSG_LEN(sizeof(pi));
        memcpy(CMSG_DATA(c), &pi, sizeof(pi));
        mh.msg_controllen = CMSG_SPACE(sizeof(pi));
    }
    if (sendmsg(fd, &mh, MSG_DONTWAIT) < 0)
        return -errno;
    return 0;
}

static int iked_net_send_one(struct iked *ik, const struct sockaddr_storage *local,
                             const struct sockaddr_storage *remote, const uint8_t *buf, size_t len)
{
    uint16_t lport = local->ss_family == AF_INET
                         ? ntohs(((const struct sockaddr_in *)local)->sin_port)
                         : ntohs(((const struct sockaddr_in6 *)local)->sin6_port);
    struct iked_sock *sk = NULL;
    for (size_t i = 0; i < ik->n_socks; i++)
        if (ik->socks[i].family == local->ss_family && ik->socks[i].port == lport)
            sk = &ik->socks[i];
    if (!sk) {
        log_warn("no IKE socket for port %u (family %d): reply dropped", lport, local->ss_family);
        return -ENOENT;
    }
    static const uint8_t marker[4] = {0, 0, 0, 0};
    struct iovec iov[2] = {{.iov_base = (void *)marker, .iov_len = 4},
                           {.iov_base = (void *)buf, .iov_len = len}};
    int rc = iked_net_sendmsg(sk->fd, local, remote, sk->natt ? iov : iov + 1, sk->natt ? 2 : 1);
    if (rc < 0)
        log_warn("sending IKE to the peer failed: %s", strerror(-rc));
    return rc;
}

int iked_net_send(struct iked *ik, const struct sockaddr_storage *local,
                  const struct sockaddr_storage *remote, const uint8_t *buf, size_t len)
{
    /* RFC 7383: a fragmented message is its fragments back to back, each
     * header saying its own length; each goes in a datagram of its own. */
    int rc = 0;
    while (len) {
        size_t one = ike_frag_next_msg(buf, len);
        if (ike_frag_peek(buf, one, NULL))
            ik->frag_tx++;
        int r = iked_net_send_one(ik, local, remote, buf, one);
        if (r < 0)
            rc = r;
        buf += one;
        len -= one;
    }
    return rc;
}

/* The IKE UDP sockets, opened here because binding ports 500 and 4500 and
 * exempting the sockets from IPsec policy need privileges iked does not
 * have. They are opened once, on iked's first request, and kept: a
 * restarted iked gets the very same sockets back, and a restarted xfrmd
 * leaves iked's copies alone (iked asks again only when it restarts). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "xfrm_policy.h"
#include "xfrmd.h"

#ifndef UDP_ENCAP_ESPINUDP
#define UDP_ENCAP_ESPINUDP 2
#endif

static int xfrmd_ikesock_one(const char *addr, uint16_t port, bool natt, struct xfrmd_ikesock *out,
                             char *why, size_t why_len)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    socklen_t slen;
    int family;
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
        family = AF_INET;
        s4->sin_family = AF_INET;
        s4->sin_port = htons(port);
        slen = sizeof(*s4);
    } else if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
        family = AF_INET6;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(port);
        slen = sizeof(*s6);
    } else {
        snprintf(why, why_len, "ike_listen: '%s' is not an IP address", addr);
        return -EINVAL;
    }
    int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_UDP);
    if (fd < 0) {
        snprintf(why, why_len, "socket: %s", strerror(errno));
        return -errno;
    }
    int one = 1;
    int rc = 0;
    /* Where a datagram arrived (the local address) is part of IKE's NAT
     * detection and of MOBIKE: iked needs it on every packet. */
    if (family == AF_INET)
        rc = setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
    else
        rc = setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) ||
             setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
    if (rc == 0)
        rc = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (rc < 0) {
        snprintf(why, why_len, "socket options on %s:%u: %s", addr, port, strerror(errno));
        goto fail;
    }
    if (natt) {
        /* The kernel decapsulates ESP-in-UDP on this socket and hands us only
         * IKE (after the non-ESP marker). */
        int encap = UDP_ENCAP_ESPINUDP;
        if (setsockopt(fd, IPPROTO_UDP, UDP_ENCAP, &encap, sizeof(encap)) < 0) {
            snprintf(why, why_len, "UDP_ENCAP on %s:%u: %s", addr, port, strerror(errno));
            goto fail;
        }
    }
    struct xfrm_err err = {0};
    if (xfrm_policy_socket_bypass(fd, &err) < 0) {
        snprintf(why, why_len, "IPsec bypass for %s:%u: %s", addr, port, err.msg);
        goto fail;
    }
    if (bind(fd, (struct sockaddr *)&ss, slen) < 0) {
        snprintf(why, why_len, "bind %s:%u: %s", addr, port, strerror(errno));
        goto fail;
    }
    memset(out, 0, sizeof(*out));
    out->fd = fd;
    out->port = port;
    out->natt = natt;
    if (family == AF_INET && s4->sin_addr.s_addr != htonl(INADDR_ANY)) {
        memcpy(out->addr, &s4->sin_addr, 4);
        out->addr_len = 4;
    } else if (family == AF_INET6 && !IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr)) {
        memcpy(out->addr, &s6->sin6_addr, 16);
        out->addr_len = 16;
    }
    return 0;
fail:
    rc = -errno;
    close(fd);
    return rc ? rc : -EINVAL;
}

int xfrmd_ikesock_open(struct xfrmd *x, char *why, size_t why_len)
{
    if (x->n_ike)
        return 0;
    const struct conf_list *l = &x->conf.ike_listen;
    if (l->n * 2 > XFRMD_IKESOCK_MAX) {
        snprintf(why, why_len, "ike_listen: at most %d addresses", XFRMD_IKESOCK_MAX / 2);
        return -EINVAL;
    }
    for (size_t i = 0; i < l->n; i++) {
        for (int natt = 0; natt < 2; natt++) {
            uint16_t port = (uint16_t)(natt ? x->conf.natt_port : x->conf.ike_port);
            int rc = xfrmd_ikesock_one(l->v[i], port, natt, &x->ike[x->n_ike], why, why_len);
            if (rc < 0) {
                log_err("cannot open the IKE sockets: %s", why);
                xfrmd_ikesock_close(x);
                return rc;
            }
            x->n_ike++;
        }
    }
    log_notice("opened %zu IKE sockets (ports %u and %u on %zu addresses)", x->n_ike,
               (unsigned)x->conf.ike_port, (unsigned)x->conf.natt_port, l->n);
    return 0;
}

void xfrmd_ikesock_close(struct xfrmd *x)
{
    for (size_t i = 0; i < x->n_ike; i++)
        close(x->ike[i].fd);
    x->n_ike = 0;
}

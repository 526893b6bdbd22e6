#include "ipc_frame.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>

int ipc_frame_encode(Mgate__FrameKind kind, uint64_t id, const ProtobufCMessage *msg, uint8_t **out,
                     size_t *out_len)
{
    Mgate__Frame f = MGATE__FRAME__INIT;
    f.api_version = MGATE_API_VERSION;
    f.kind = kind;
    f.id = id;
    uint8_t *payload = NULL;
    if (msg) {
        size_t plen = protobuf_c_message_get_packed_size(msg);
        payload = malloc(plen ? plen : 1);
        if (!payload)
            return -ENOMEM;
        protobuf_c_message_pack(msg, payload);
        f.payload.data = payload;
        f.payload.len = plen;
    }
    size_t flen = mgate__frame__get_packed_size(&f);
    if (flen > UINT32_MAX) {
        free(payload);
        return -EMSGSIZE;
    }
    uint8_t *buf = malloc(IPC_FRAME_HDR + flen);
    if (!buf) {
        free(payload);
        return -ENOMEM;
    }
    buf[0] = (uint8_t)(flen >> 24);
    buf[1] = (uint8_t)(flen >> 16);
    buf[2] = (uint8_t)(flen >> 8);
    buf[3] = (uint8_t)flen;
    mgate__frame__pack(&f, buf + IPC_FRAME_HDR);
    free(payload);
    *out = buf;
    *out_len = IPC_FRAME_HDR + flen;
    return 0;
}

void ipc_rxbuf_init(struct ipc_rxbuf *rx, uint32_t max_frame)
{
    memset(rx, 0, sizeof(*rx));
    rx->max_frame = max_frame < IPC_MAX_FRAME_FLOOR ? IPC_MAX_FRAME_FLOOR : max_frame;
}

void ipc_rxbuf_free(struct ipc_rxbuf *rx)
{
    free(rx->buf);
    memset(rx, 0, sizeof(*rx));
}

int ipc_rxbuf_reserve(struct ipc_rxbuf *rx, size_t want, uint8_t **at, size_t *avail)
{
    if (rx->cap - rx->len < want) {
        size_t ncap = rx->cap ? rx->cap : 4096;
        while (ncap - rx->len < want)
            ncap *= 2;
        /* Never buffer more than one maximal frame plus one read. */
        if (ncap > (size_t)rx->max_frame + IPC_FRAME_HDR + 65536)
            ncap = (size_t)rx->max_frame + IPC_FRAME_HDR + 65536;
        if (ncap - rx->len < 1)
            return -EMSGSIZE;
        uint8_t *nb = realloc(rx->buf, ncap);
        if (!nb)
            return -ENOMEM;
        rx->buf = nb;
        rx->cap = ncap;
    }
    *at = rx->buf + rx->len;
    *avail = rx->cap - rx->len;
    return 0;
}

void ipc_rxbuf_commit(struct ipc_rxbuf *rx, size_t n)
{
    rx->len += n;
}

int ipc_rxbuf_append(struct ipc_rxbuf *rx, const void *data, size_t n)
{
    const uint8_t *p = data;
    while (n) {
        uint8_t *at;
        size_t avail;
        int rc = ipc_rxbuf_reserve(rx, n, &at, &avail);
        if (rc)
            return rc;
        size_t c = n < avail ? n : avail;
        memcpy(at, p, c);
        ipc_rxbuf_commit(rx, c);
        p += c;
        n -= c;
        /* A full buffer with no complete frame in it is an oversized frame;
         * the caller finds out from ipc_rxbuf_next. */
        if (n && rx->len == rx->cap)
            return -EMSGSIZE;
    }
    return 0;
}

int ipc_rxbuf_next(struct ipc_rxbuf *rx, Mgate__Frame **out)
{
    if (rx->len < IPC_FRAME_HDR)
        return 0;
    uint32_t flen = (uint32_t)rx->buf[0] << 24 | (uint32_t)rx->buf[1] << 16 |
                    (uint32_t)rx->buf[2] << 8 | rx->buf[3];
    if (flen > rx->max_frame)
        return -EMSGSIZE;
    if (rx->len - IPC_FRAME_HDR < flen)
        return 0;
    Mgate__Frame *f = mgate__frame__unpack(NULL, flen, rx->buf + IPC_FRAME_HDR);
    size_t used = IPC_FRAME_HDR + flen;
    memmove(rx->buf, rx->buf + used, rx->len - used);
    rx->len -= used;
    /* Frames may carry keys (xfrmd): no copy stays behind in the buffer. */
    explicit_bzero(rx->buf + rx->len, used);
    if (!f)
        return -EBADMSG;
    *out = f;
    return 1;
}

int ipc_sendmsg_fds(int sock, const uint8_t *buf, size_t len, const int *fds, size_t n_fds)
{
    union {
        struct cmsghdr h;
        char space[CMSG_SPACE(sizeof(int) * IPC_MAX_FDS)];
    } ctl;
    if (n_fds > IPC_MAX_FDS)
        return -EINVAL;
    size_t off = 0;
    int waits = 0;
    while (off < len) {
        struct iovec iov = {.iov_base = (void *)(buf + off), .iov_len = len - off};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
        if (off == 0 && n_fds) {
            memset(&ctl, 0, sizeof(ctl));
            mh.msg_control = ctl.space;
            mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
            struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
            c->cmsg_level = SOL_SOCKET;
            c->cmsg_type = SCM_RIGHTS;
            c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
            memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
        }
        ssize_t n = sendmsg(sock, &mh, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            /* The socket may be non-blocking (libuv's): wait, bounded. */
            if ((errno == EAGAIN || errno == EWOULDBLOCK) && waits++ < 50) {
                struct pollfd p = {.fd = sock, .events = POLLOUT};
                poll(&p, 1, 100);
                continue;
            }
            return -errno;
        }
        off += (size_t)n;
    }
    return 0;
}

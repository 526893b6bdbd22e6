#include "ipc_sync.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int64_t ipc_sync_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int ipc_sync_connect(struct ipc_sync *s, const char *path, uint32_t max_frame)
{
    memset(s, 0, sizeof(*s));
    s->fd = -1;
    s->next_id = 1;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    s->fd = fd;
    ipc_rxbuf_init(&s->rx, max_frame ? max_frame : IPC_MAX_FRAME_DEF);
    return 0;
}

void ipc_sync_close(struct ipc_sync *s)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    for (size_t i = 0; i < s->n_fds; i++)
        close(s->fds[i]);
    s->n_fds = 0;
    ipc_rxbuf_free(&s->rx);
}

int ipc_sync_write_raw(struct ipc_sync *s, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    while (len) {
        ssize_t n = send(s->fd, p, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* recvmsg, keeping any descriptors that come along (bounded; extra ones
 * are closed at once so a hostile server cannot exhaust our table). */
static ssize_t ipc_sync_recv(struct ipc_sync *s, uint8_t *at, size_t avail)
{
    union {
        struct cmsghdr h;
        char space[CMSG_SPACE(sizeof(int) * IPC_MAX_FDS)];
    } ctl;
    struct iovec iov = {.iov_base = at, .iov_len = avail};
    struct msghdr mh = {.msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = ctl.space,
                        .msg_controllen = sizeof(ctl.space)};
    ssize_t n = recvmsg(s->fd, &mh, MSG_CMSG_CLOEXEC);
    if (n < 0)
        return n;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        int got[IPC_MAX_FDS];
        memcpy(got, CMSG_DATA(c), k * sizeof(int));
        for (size_t i = 0; i < k; i++) {
            if (s->n_fds < IPC_MAX_FDS)
                s->fds[s->n_fds++] = got[i];
            else
                close(got[i]);
        }
    }
    return n;
}

/* Reads until a frame of the wanted kind (and id, for responses) arrives. */
static int ipc_sync_wait(struct ipc_sync *s, Mgate__FrameKind kind, uint64_t id, int timeout_ms,
                         Mgate__Frame **out)
{
    int64_t deadline = ipc_sync_now_ms() + timeout_ms;
    for (;;) {
        Mgate__Frame *f = NULL;
        int rc = ipc_rxbuf_next(&s->rx, &f);
        if (rc < 0)
            return -EPROTO;
        if (rc == 1) {
            if (f->kind == kind && (kind == MGATE__FRAME_KIND__FRAME_EVENT || f->id == id)) {
                *out = f;
                return 0;
            }
            mgate__frame__free_unpacked(f, NULL);
            continue;
        }
        int64_t left = deadline - ipc_sync_now_ms();
        if (left <= 0)
            return -ETIMEDOUT;
        struct pollfd pfd = {.fd = s->fd, .events = POLLIN};
        int pr = poll(&pfd, 1, (int)left);
        if (pr < 0 && errno != EINTR)
            return -errno;
        if (pr <= 0)
            continue;
        uint8_t *at;
        size_t avail;
        if (ipc_rxbuf_reserve(&s->rx, 4096, &at, &avail) < 0)
            return -EPROTO;
        ssize_t n = ipc_sync_recv(s, at, avail);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return -ECONNRESET;
        ipc_rxbuf_commit(&s->rx, (size_t)n);
    }
}

int ipc_sync_call(struct ipc_sync *s, const ProtobufCMessage *req, int timeout_ms,
                  Mgate__Frame **resp)
{
    uint8_t *buf;
    size_t len;
    uint64_t id = s->next_id++;
    int rc = ipc_frame_encode(MGATE__FRAME_KIND__FRAME_REQUEST, id, req, &buf, &len);
    if (rc)
        return rc;
    rc = ipc_sync_write_raw(s, buf, len);
    free(buf);
    if (rc)
        return rc;
    return ipc_sync_wait(s, MGATE__FRAME_KIND__FRAME_RESPONSE, id, timeout_ms, resp);
}

int ipc_sync_call_fds(struct ipc_sync *s, const ProtobufCMessage *req, int timeout_ms,
                      Mgate__Frame **resp, int *fds, size_t max_fds, size_t *n_fds)
{
    int rc = ipc_sync_call(s, req, timeout_ms, resp);
    size_t k = 0;
    for (size_t i = 0; i < s->n_fds; i++) {
        if (rc == 0 && k < max_fds)
            fds[k++] = s->fds[i];
        else
            close(s->fds[i]);
    }
    s->n_fds = 0;
    *n_fds = k;
    return rc;
}

int ipc_sync_next_event(struct ipc_sync *s, int timeout_ms, Mgate__Frame **ev)
{
    return ipc_sync_wait(s, MGATE__FRAME_KIND__FRAME_EVENT, 0, timeout_ms, ev);
}

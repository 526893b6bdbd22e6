#include "ipc_server.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"

/* A peer whose unread responses pass HIGH stops being read until they drain
 * below LOW; an event subscriber whose backlog passes EVENT_MAX is dropped:
 * holding an unbounded queue for a stuck client would take the daemon down. */
#define IPC_WQ_HIGH      (4u << 20)
#define IPC_WQ_LOW       (1u << 20)
#define IPC_WQ_EVENT_MAX (32u << 20)
#define IPC_MAX_TOPICS   32

struct ipc_conn {
    uv_pipe_t pipe;
    struct ipc_server *srv;
    struct ipc_conn *prev, *next;
    struct ipc_rxbuf rx;
    struct ipc_peer peer;
    uint32_t topics;
    int refs;
    bool open;
    bool paused;
    void *data;
};

struct ipc_server {
    uv_loop_t *loop;
    uv_pipe_t listener;
    char *name;
    char *path;
    struct ipc_acl acl;
    uint32_t max_frame;
    const char *const *topics;
    size_t n_topics;
    struct ipc_server_ops ops;
    void *ud;
    struct ipc_conn *conns;
    size_t n_conns;
    uint64_t event_seq;
    int handles; /* listener + connections not yet closed */
    bool closing;
};

struct ipc_write {
    uv_write_t req;
    struct ipc_conn *conn;
    uint8_t *buf;
};

static void ipc_server_maybe_free(struct ipc_server *srv)
{
    if (!srv->closing || srv->handles > 0)
        return;
    free(srv->name);
    free(srv->path);
    free(srv);
}

static void ipc_conn_free(struct ipc_conn *c)
{
    struct ipc_server *srv = c->srv;
    ipc_rxbuf_free(&c->rx);
    free(c);
    srv->handles--;
    ipc_server_maybe_free(srv);
}

void ipc_conn_ref(struct ipc_conn *conn)
{
    conn->refs++;
}

void ipc_conn_unref(struct ipc_conn *conn)
{
    if (--conn->refs == 0)
        ipc_conn_free(conn);
}

bool ipc_conn_is_open(const struct ipc_conn *conn)
{
    return conn->open;
}

const struct ipc_peer *ipc_conn_peer(const struct ipc_conn *conn)
{
    return &conn->peer;
}

void ipc_conn_set_data(struct ipc_conn *conn, void *data)
{
    conn->data = data;
}

void *ipc_conn_data(const struct ipc_conn *conn)
{
    return conn->data;
}

static void ipc_conn_on_closed(uv_handle_t *h)
{
    struct ipc_conn *c = h->data;
    ipc_conn_unref(c);
}

static void ipc_conn_close(struct ipc_conn *c)
{
    if (!c->open)
        return;
    c->open = false;
    struct ipc_server *srv = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    srv->n_conns--;
    if (srv->ops.on_disconnect)
        srv->ops.on_disconnect(c, srv->ud);
    uv_close((uv_handle_t *)&c->pipe, ipc_conn_on_closed);
}

static void ipc_conn_on_written(uv_write_t *req, int status);

static void ipc_conn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct ipc_conn *c = h->data;
    uint8_t *at;
    size_t avail;
    (void)suggested;
    if (ipc_rxbuf_reserve(&c->rx, 4096, &at, &avail) < 0) {
        buf->base = NULL;
        buf->len = 0;
        return;
    }
    buf->base = (char *)at;
    buf->len = avail;
}

static void ipc_conn_dispatch(struct ipc_conn *c, Mgate__Frame *f)
{
    struct ipc_server *srv = c->srv;
    if (f->api_version != MGATE_API_VERSION) {
        log_warn("%s: refused request %llu from pid %d: api_version %u, this server speaks %u",
                 srv->name, (unsigned long long)f->id, (int)c->peer.pid, f->api_version,
                 MGATE_API_VERSION);
        ipc_conn_reply_frame_error(c, f->id, MGATE__ERROR_CODE__ERR_VERSION,
                                   "api_version not spoken by this server");
        return;
    }
    if (f->kind != MGATE__FRAME_KIND__FRAME_REQUEST) {
        log_warn("%s: refused frame of kind %d from pid %d: clients send only requests", srv->name,
                 f->kind, (int)c->peer.pid);
        ipc_conn_reply_frame_error(c, f->id, MGATE__ERROR_CODE__ERR_INVALID,
                                   "only requests are accepted");
        return;
    }
    srv->ops.on_request(c, f->id, f->payload.data, f->payload.len, srv->ud);
}

static void ipc_conn_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct ipc_conn *c = s->data;
    (void)buf;
    if (nread < 0) {
        if (nread != UV_EOF)
            log_info("%s: connection from pid %d: %s", c->srv->name, (int)c->peer.pid,
                     uv_strerror((int)nread));
        ipc_conn_close(c);
        return;
    }
    if (nread == 0)
        return;
    ipc_rxbuf_commit(&c->rx, (size_t)nread);
    /* A handler may close the connection: keep c alive until the loop ends. */
    ipc_conn_ref(c);
    while (c->open) {
        Mgate__Frame *f = NULL;
        int rc = ipc_rxbuf_next(&c->rx, &f);
        if (rc == 0)
            break;
        if (rc == -EMSGSIZE) {
            log_warn("%s: closed connection from pid %d uid %u: frame larger than %u bytes",
                     c->srv->name, (int)c->peer.pid, (unsigned)c->peer.uid, c->rx.max_frame);
            ipc_conn_close(c);
            break;
        }
        if (rc < 0) {
            log_warn("%s: closed connection from pid %d uid %u: frame is not a valid mgate.Frame",
                     c->srv->name, (int)c->peer.pid, (unsigned)c->peer.uid);
            ipc_conn_close(c);
            break;
        }
        ipc_conn_dispatch(c, f);
        if (f->payload.data)
            explicit_bzero(f->payload.data, f->payload.len);
        mgate__frame__free_unpacked(f, NULL);
        if (c->paused)
            break;
    }
    ipc_conn_unref(c);
}

static void ipc_conn_start_reading(struct ipc_conn *c)
{
    int rc = uv_read_start((uv_stream_t *)&c->pipe, ipc_conn_alloc, ipc_conn_on_read);
    if (rc) {
        log_err("%s: cannot read from pid %d: %s", c->srv->name, (int)c->peer.pid, uv_strerror(rc));
        ipc_conn_close(c);
    }
}

/* Queues one encoded frame. Takes ownership of buf. */
static int ipc_conn_write(struct ipc_conn *c, uint8_t *buf, size_t len)
{
    if (!c->open) {
        free(buf);
        return -ENOTCONN;
    }
    struct ipc_write *w = malloc(sizeof(*w));
    if (!w) {
        free(buf);
        return -ENOMEM;
    }
    w->conn = c;
    w->buf = buf;
    uv_buf_t b = uv_buf_init((char *)buf, (unsigned)len);
    int rc = uv_write(&w->req, (uv_stream_t *)&c->pipe, &b, 1, ipc_conn_on_written);
    if (rc) {
        free(buf);
        free(w);
        log_info("%s: write to pid %d failed: %s", c->srv->name, (int)c->peer.pid, uv_strerror(rc));
        ipc_conn_close(c);
        return -ENOTCONN;
    }
    ipc_conn_ref(c);
    if (!c->paused && c->pipe.write_queue_size > IPC_WQ_HIGH) {
        /* The peer is not reading its answers: stop taking new requests. */
        uv_read_stop((uv_stream_t *)&c->pipe);
        c->paused = true;
    }
    return 0;
}

static void ipc_conn_on_written(uv_write_t *req, int status)
{
    struct ipc_write *w = (struct ipc_write *)req;
    struct ipc_conn *c = w->conn;
    free(w->buf);
    free(w);
    if (status < 0 && status != UV_ECANCELED)
        ipc_conn_close(c);
    if (c->open && c->paused && c->pipe.write_queue_size < IPC_WQ_LOW) {
        c->paused = false;
        ipc_conn_start_reading(c);
    }
    ipc_conn_unref(c);
}

int ipc_conn_reply(struct ipc_conn *conn, uint64_t id, const ProtobufCMessage *resp)
{
    if (!conn->open)
        return -ENOTCONN;
    uint8_t *buf;
    size_t len;
    int rc = ipc_frame_encode(MGATE__FRAME_KIND__FRAME_RESPONSE, id, resp, &buf, &len);
    if (rc) {
        log_err("%s: cannot encode response: %s", conn->srv->name, strerror(-rc));
        return rc;
    }
    return ipc_conn_write(conn, buf, len);
}

int ipc_conn_reply_fds(struct ipc_conn *conn, uint64_t id, const ProtobufCMessage *resp,
                       const int *fds, size_t n_fds)
{
    if (!conn->open)
        return -ENOTCONN;
    if (n_fds > IPC_MAX_FDS)
        return -EINVAL;
    /* libuv passes descriptors only on pipes opened in its own IPC mode; we
     * write the frame ourselves, which is safe only with an empty queue. */
    if (conn->pipe.write_queue_size > 0)
        return -EAGAIN;
    uint8_t *buf;
    size_t len;
    int rc = ipc_frame_encode(MGATE__FRAME_KIND__FRAME_RESPONSE, id, resp, &buf, &len);
    if (rc)
        return rc;
    uv_os_fd_t fd;
    uv_fileno((uv_handle_t *)&conn->pipe, &fd);
    rc = ipc_sendmsg_fds(fd, buf, len, fds, n_fds);
    free(buf);
    if (rc < 0) {
        log_warn("%s: passing descriptors to pid %d failed: %s", conn->srv->name,
                 (int)conn->peer.pid, strerror(-rc));
        ipc_conn_close(conn);
    }
    return rc;
}

int ipc_conn_reply_frame_error(struct ipc_conn *conn, uint64_t id, Mgate__ErrorCode code,
                               const char *message)
{
    Mgate__Error e = MGATE__ERROR__INIT;
    e.code = code;
    e.message = (char *)message;
    Mgate__Frame f = MGATE__FRAME__INIT;
    f.api_version = MGATE_API_VERSION;
    f.kind = MGATE__FRAME_KIND__FRAME_RESPONSE;
    f.id = id;
    f.error = &e;
    size_t flen = mgate__frame__get_packed_size(&f);
    uint8_t *buf = malloc(IPC_FRAME_HDR + flen);
    if (!buf)
        return -ENOMEM;
    buf[0] = (uint8_t)(flen >> 24);
    buf[1] = (uint8_t)(flen >> 16);
    buf[2] = (uint8_t)(flen >> 8);
    buf[3] = (uint8_t)flen;
    mgate__frame__pack(&f, buf + IPC_FRAME_HDR);
    return ipc_conn_write(conn, buf, IPC_FRAME_HDR + flen);
}

static int ipc_server_topic_bit(const struct ipc_server *srv, const char *name)
{
    for (size_t i = 0; i < srv->n_topics; i++)
        if (strcmp(srv->topics[i], name) == 0)
            return (int)i;
    return -1;
}

int ipc_conn_subscribe(struct ipc_conn *conn, const char *const *topics, size_t n,
                       const char **unknown)
{
    struct ipc_server *srv = conn->srv;
    uint32_t mask = 0;
    if (n == 0)
        mask = srv->n_topics >= 32 ? UINT32_MAX : ((1u << srv->n_topics) - 1);
    for (size_t i = 0; i < n; i++) {
        int bit = ipc_server_topic_bit(srv, topics[i]);
        if (bit < 0) {
            if (unknown)
                *unknown = topics[i];
            return -ENOENT;
        }
        mask |= 1u << bit;
    }
    conn->topics |= mask;
    return 0;
}

size_t ipc_conn_topics(const struct ipc_conn *conn, const char **names, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < conn->srv->n_topics && n < max; i++)
        if (conn->topics & (1u << i))
            names[n++] = conn->srv->topics[i];
    return n;
}

int ipc_server_publish(struct ipc_server *srv, const char *topic, const ProtobufCMessage *event)
{
    int bit = ipc_server_topic_bit(srv, topic);
    if (bit < 0) {
        log_err("%s: publish to unknown topic '%s'", srv->name, topic);
        return -ENOENT;
    }
    uint8_t *buf = NULL;
    size_t len = 0;
    int reached = 0;
    uint64_t seq = ++srv->event_seq;
    for (struct ipc_conn *c = srv->conns, *next; c; c = next) {
        next = c->next;
        if (!(c->topics & (1u << bit)))
            continue;
        if (c->pipe.write_queue_size > IPC_WQ_EVENT_MAX) {
            log_warn("%s: dropped subscriber pid %d: %zu bytes of events unread", srv->name,
                     (int)c->peer.pid, c->pipe.write_queue_size);
            ipc_conn_close(c);
            continue;
        }
        if (!buf) {
            int rc = ipc_frame_encode(MGATE__FRAME_KIND__FRAME_EVENT, seq, event, &buf, &len);
            if (rc) {
                log_err("%s: cannot encode event: %s", srv->name, strerror(-rc));
                return rc;
            }
        }
        uint8_t *copy = malloc(len);
        if (!copy)
            break;
        memcpy(copy, buf, len);
        if (ipc_conn_write(c, copy, len) == 0)
            reached++;
    }
    free(buf);
    return reached;
}

static void ipc_server_on_connection(uv_stream_t *listener, int status)
{
    struct ipc_server *srv = listener->data;
    if (status < 0) {
        log_err("%s: accept failed: %s", srv->name, uv_strerror(status));
        return;
    }
    struct ipc_conn *c = calloc(1, sizeof(*c));
    if (!c) {
        log_err("%s: out of memory accepting a connection", srv->name);
        return;
    }
    c->srv = srv;
    c->refs = 1; /* dropped by the close callback */
    ipc_rxbuf_init(&c->rx, srv->max_frame);
    uv_pipe_init(srv->loop, &c->pipe, 0);
    c->pipe.data = c;
    srv->handles++;
    if (uv_accept(listener, (uv_stream_t *)&c->pipe) != 0) {
        uv_close((uv_handle_t *)&c->pipe, ipc_conn_on_closed);
        return;
    }
    uv_os_fd_t fd;
    uv_fileno((uv_handle_t *)&c->pipe, &fd);
    int rc = ipc_acl_check_fd(&srv->acl, fd, &c->peer);
    if (rc) {
        if (rc == -EACCES)
            log_warn("%s: refused connection from pid %d uid %u gid %u: not in allow_users or "
                     "allow_groups",
                     srv->name, (int)c->peer.pid, (unsigned)c->peer.uid, (unsigned)c->peer.gid);
        else
            log_err("%s: refused connection: cannot read peer credentials: %s", srv->name,
                    strerror(-rc));
        uv_close((uv_handle_t *)&c->pipe, ipc_conn_on_closed);
        return;
    }
    c->open = true;
    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    srv->n_conns++;
    log_debug("%s: client pid %d uid %u connected", srv->name, (int)c->peer.pid,
              (unsigned)c->peer.uid);
    ipc_conn_start_reading(c);
}

/* A socket file left by a crashed instance is removed; one that answers
 * belongs to a running instance, and starting a second would steal it. */
static int ipc_server_claim_path(const char *name, const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (!S_ISSOCK(st.st_mode)) {
        log_err("%s: %s exists and is not a socket; refusing to replace it", name, path);
        return -EEXIST;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    strncpy(sa.sun_path, path, sizeof(sa.sun_path) - 1);
    int rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
    close(fd);
    if (rc == 0) {
        log_err("%s: another instance is listening on %s", name, path);
        return -EADDRINUSE;
    }
    if (unlink(path) < 0 && errno != ENOENT)
        return -errno;
    return 0;
}

static void ipc_server_on_listener_closed(uv_handle_t *h)
{
    struct ipc_server *srv = h->data;
    srv->handles--;
    ipc_server_maybe_free(srv);
}

int ipc_server_start(uv_loop_t *loop, const struct ipc_server_cfg *cfg,
                     const struct ipc_server_ops *ops, void *ud, struct ipc_server **out)
{
    /* libuv writes to pipes with write(2): a peer gone mid-write must be an
     * error code, not a SIGPIPE that kills the process. */
    signal(SIGPIPE, SIG_IGN);
    struct sockaddr_un sa;
    if (strlen(cfg->path) >= sizeof(sa.sun_path)) {
        log_err("%s: socket path too long: %s", cfg->name, cfg->path);
        return -ENAMETOOLONG;
    }
    struct ipc_server *srv = calloc(1, sizeof(*srv));
    if (!srv)
        return -ENOMEM;
    srv->loop = loop;
    srv->name = strdup(cfg->name);
    srv->path = strdup(cfg->path);
    srv->acl = *cfg->acl;
    srv->max_frame = cfg->max_frame ? cfg->max_frame : IPC_MAX_FRAME_DEF;
    srv->topics = cfg->topics;
    while (srv->topics && srv->topics[srv->n_topics] && srv->n_topics < IPC_MAX_TOPICS)
        srv->n_topics++;
    srv->ops = *ops;
    srv->ud = ud;
    if (!srv->name || !srv->path) {
        free(srv->name);
        free(srv->path);
        free(srv);
        return -ENOMEM;
    }
    int rc = ipc_server_claim_path(cfg->name, cfg->path);
    if (rc) {
        if (rc != -EADDRINUSE && rc != -EEXIST)
            log_err("%s: cannot use %s: %s", cfg->name, cfg->path, strerror(-rc));
        free(srv->name);
        free(srv->path);
        free(srv);
        return rc;
    }
    uv_pipe_init(loop, &srv->listener, 0);
    srv->listener.data = srv;
    srv->handles = 1;
    rc = uv_pipe_bind(&srv->listener, cfg->path);
    if (rc == 0) {
        /* Access is decided by SO_PEERCRED against the allow lists, not by
         * file modes: mgatectl users are in mgate-admin, not the daemon's group. */
        if (chmod(cfg->path, 0666) < 0)
            rc = -errno;
    }
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&srv->listener, 128, ipc_server_on_connection);
    if (rc) {
        log_err("%s: cannot listen on %s: %s", cfg->name, cfg->path, uv_strerror(rc));
        srv->closing = true;
        uv_close((uv_handle_t *)&srv->listener, ipc_server_on_listener_closed);
        return rc;
    }
    *out = srv;
    return 0;
}

void ipc_server_close(struct ipc_server *srv)
{
    if (srv->closing)
        return;
    srv->closing = true;
    while (srv->conns)
        ipc_conn_close(srv->conns);
    unlink(srv->path);
    uv_close((uv_handle_t *)&srv->listener, ipc_server_on_listener_closed);
}

size_t ipc_server_peer_count(const struct ipc_server *srv)
{
    return srv->n_conns;
}

#include "ipc_client.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define IPC_SWEEP_MS 100

enum ipc_client_state { IPC_CL_WAITING, IPC_CL_CONNECTING, IPC_CL_CONNECTED };

struct ipc_pending {
    struct ipc_pending *next;
    uint64_t id;
    uint64_t deadline;
    ipc_response_fn cb;
    void *ud;
};

struct ipc_client {
    uv_loop_t *loop;
    char *name;
    char *path;
    uint32_t max_frame;
    uint64_t timeout_ms;
    uint64_t backoff_min, backoff_max, backoff;
    struct ipc_client_ops ops;
    void *ud;
    uv_pipe_t *pipe; /* per connection attempt: a closed uv handle cannot be reused */
    uv_connect_t connect_req;
    uv_timer_t retry_timer;
    uv_timer_t sweep_timer;
    struct ipc_rxbuf rx;
    struct ipc_pending *pending;
    uint64_t next_id;
    uint64_t state_since;
    enum ipc_client_state state;
    unsigned failures;
    int handles;
    bool closing;
    uint64_t close_deadline; /* close_when_idle: loop time to give up waiting */
};

struct ipc_client_write {
    uv_write_t req;
    uint8_t *buf;
};

static void ipc_client_connect(struct ipc_client *cl);

static void ipc_client_maybe_free(struct ipc_client *cl)
{
    if (!cl->closing || cl->handles > 0)
        return;
    ipc_rxbuf_free(&cl->rx);
    free(cl->name);
    free(cl->path);
    free(cl);
}

static void ipc_client_on_handle_closed(uv_handle_t *h)
{
    struct ipc_client *cl = h->data;
    if ((uv_handle_t *)cl->pipe == h)
        cl->pipe = NULL;
    if (h->type == UV_NAMED_PIPE)
        free(h);
    cl->handles--;
    ipc_client_maybe_free(cl);
}

static void ipc_client_fail_pending(struct ipc_client *cl, int status)
{
    struct ipc_pending *p = cl->pending;
    cl->pending = NULL;
    while (p) {
        struct ipc_pending *next = p->next;
        p->cb(cl, status, NULL, NULL, 0, p->ud);
        free(p);
        p = next;
    }
}

static void ipc_client_set_state(struct ipc_client *cl, enum ipc_client_state st)
{
    cl->state = st;
    cl->state_since = uv_now(cl->loop);
}

static void ipc_client_on_retry(uv_timer_t *t)
{
    ipc_client_connect(t->data);
}

static void ipc_client_schedule_retry(struct ipc_client *cl)
{
    if (cl->closing)
        return;
    if (cl->close_deadline) {
        ipc_client_close(cl);
        return;
    }
    ipc_client_set_state(cl, IPC_CL_WAITING);
    uint64_t delay = cl->backoff;
    /* +-20% jitter: restarted servers are not hit by every client at once. */
    uint64_t jitter = delay / 5;
    if (jitter)
        delay = delay - jitter + (uint64_t)rand() % (2 * jitter + 1);
    cl->backoff = cl->backoff * 2 > cl->backoff_max ? cl->backoff_max : cl->backoff * 2;
    uv_timer_start(&cl->retry_timer, ipc_client_on_retry, delay, 0);
}

/* Drops the connection; pending requests fail, a reconnect is scheduled. */
static void ipc_client_drop(struct ipc_client *cl, int status)
{
    bool was_connected = cl->state == IPC_CL_CONNECTED;
    if (cl->pipe && !uv_is_closing((uv_handle_t *)cl->pipe))
        uv_close((uv_handle_t *)cl->pipe, ipc_client_on_handle_closed);
    ipc_rxbuf_free(&cl->rx);
    ipc_rxbuf_init(&cl->rx, cl->max_frame);
    ipc_client_fail_pending(cl, status);
    if (was_connected && cl->ops.on_disconnect)
        cl->ops.on_disconnect(cl, cl->ud);
    ipc_client_schedule_retry(cl);
}

static void ipc_client_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct ipc_client *cl = h->data;
    uint8_t *at;
    size_t avail;
    (void)suggested;
    if (ipc_rxbuf_reserve(&cl->rx, 4096, &at, &avail) < 0) {
        buf->base = NULL;
        buf->len = 0;
        return;
    }
    buf->base = (char *)at;
    buf->len = avail;
}

static void ipc_client_handle_frame(struct ipc_client *cl, const Mgate__Frame *f)
{
    if (f->kind == MGATE__FRAME_KIND__FRAME_EVENT) {
        if (cl->ops.on_event)
            cl->ops.on_event(cl, f->id, f->payload.data, f->payload.len, cl->ud);
        return;
    }
    if (f->kind != MGATE__FRAME_KIND__FRAME_RESPONSE)
        return;
    struct ipc_pending **pp = &cl->pending;
    while (*pp && (*pp)->id != f->id)
        pp = &(*pp)->next;
    if (!*pp) {
        /* Late answer to a request that already timed out. */
        log_debug("%s: response to unknown request %llu ignored", cl->name,
                  (unsigned long long)f->id);
        return;
    }
    struct ipc_pending *p = *pp;
    *pp = p->next;
    if (f->error && f->error->code != MGATE__ERROR_CODE__ERR_NONE)
        p->cb(cl, -EPROTO, f->error, NULL, 0, p->ud);
    else
        p->cb(cl, 0, NULL, f->payload.data, f->payload.len, p->ud);
    free(p);
}

static void ipc_client_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct ipc_client *cl = s->data;
    (void)buf;
    if (nread < 0) {
        log_warn("lost connection to %s (%s): %s", cl->name, cl->path,
                 nread == UV_EOF ? "closed by peer" : uv_strerror((int)nread));
        ipc_client_drop(cl, -ECONNRESET);
        return;
    }
    ipc_rxbuf_commit(&cl->rx, (size_t)nread);
    for (;;) {
        Mgate__Frame *f = NULL;
        int rc = ipc_rxbuf_next(&cl->rx, &f);
        if (rc == 0)
            return;
        if (rc < 0) {
            log_err("%s sent %s; reconnecting", cl->name,
                    rc == -EMSGSIZE ? "a frame over max_frame" : "an invalid frame");
            ipc_client_drop(cl, -EPROTO);
            return;
        }
        ipc_client_handle_frame(cl, f);
        mgate__frame__free_unpacked(f, NULL);
        /* A callback may have closed the client or dropped the connection. */
        if (cl->closing || cl->state != IPC_CL_CONNECTED)
            return;
    }
}

static void ipc_client_on_connected(uv_connect_t *req, int status)
{
    struct ipc_client *cl = req->data;
    if (cl->closing)
        return;
    if (status < 0) {
        /* The first failure is worth a line; the retries are not. */
        if (cl->failures++ == 0)
            log_warn("cannot connect to %s (%s): %s; retrying", cl->name, cl->path,
                     uv_strerror(status));
        else
            log_debug("connect to %s: %s (attempt %u)", cl->name, uv_strerror(status),
                      cl->failures);
        uv_close((uv_handle_t *)cl->pipe, ipc_client_on_handle_closed);
        ipc_client_schedule_retry(cl);
        return;
    }
    int rc = uv_read_start((uv_stream_t *)cl->pipe, ipc_client_alloc, ipc_client_on_read);
    if (rc) {
        log_err("cannot read from %s: %s", cl->name, uv_strerror(rc));
        uv_close((uv_handle_t *)cl->pipe, ipc_client_on_handle_closed);
        ipc_client_schedule_retry(cl);
        return;
    }
    log_notice("connected to %s", cl->name);
    cl->failures = 0;
    cl->backoff = cl->backoff_min;
    ipc_client_set_state(cl, IPC_CL_CONNECTED);
    if (cl->ops.on_connect)
        cl->ops.on_connect(cl, cl->ud);
}

static void ipc_client_connect(struct ipc_client *cl)
{
    if (cl->closing)
        return;
    uv_pipe_t *p = malloc(sizeof(*p));
    if (!p) {
        ipc_client_schedule_retry(cl);
        return;
    }
    uv_pipe_init(cl->loop, p, 0);
    p->data = cl;
    cl->pipe = p;
    cl->handles++;
    ipc_client_set_state(cl, IPC_CL_CONNECTING);
    cl->connect_req.data = cl;
    uv_pipe_connect(&cl->connect_req, p, cl->path, ipc_client_on_connected);
}

static void ipc_client_on_sweep(uv_timer_t *t)
{
    struct ipc_client *cl = t->data;
    uint64_t now = uv_now(cl->loop);
    if (cl->close_deadline && (!cl->pending || now >= cl->close_deadline)) {
        ipc_client_close(cl);
        return;
    }
    struct ipc_pending **pp = &cl->pending;
    while (*pp) {
        struct ipc_pending *p = *pp;
        if (p->deadline > now) {
            pp = &p->next;
            continue;
        }
        *pp = p->next;
        log_warn("request %llu to %s timed out", (unsigned long long)p->id, cl->name);
        p->cb(cl, -ETIMEDOUT, NULL, NULL, 0, p->ud);
        free(p);
    }
}

int ipc_client_start(uv_loop_t *loop, const struct ipc_client_cfg *cfg,
                     const struct ipc_client_ops *ops, void *ud, struct ipc_client **out)
{
    /* libuv writes to pipes with write(2): a peer gone mid-write must be an
     * error code, not a SIGPIPE that kills the process. */
    signal(SIGPIPE, SIG_IGN);
    struct ipc_client *cl = calloc(1, sizeof(*cl));
    if (!cl)
        return -ENOMEM;
    cl->loop = loop;
    cl->name = strdup(cfg->name);
    cl->path = strdup(cfg->path);
    if (!cl->name || !cl->path) {
        free(cl->name);
        free(cl->path);
        free(cl);
        return -ENOMEM;
    }
    cl->max_frame = cfg->max_frame ? cfg->max_frame : IPC_MAX_FRAME_DEF;
    cl->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : 10000;
    cl->backoff_min = cfg->backoff_min_ms ? cfg->backoff_min_ms : 100;
    cl->backoff_max = cfg->backoff_max_ms ? cfg->backoff_max_ms : 5000;
    cl->backoff = cl->backoff_min;
    cl->ops = *ops;
    cl->ud = ud;
    cl->next_id = 1;
    ipc_rxbuf_init(&cl->rx, cl->max_frame);
    uv_timer_init(loop, &cl->retry_timer);
    uv_timer_init(loop, &cl->sweep_timer);
    cl->retry_timer.data = cl;
    cl->sweep_timer.data = cl;
    cl->handles = 2;
    uv_timer_start(&cl->sweep_timer, ipc_client_on_sweep, IPC_SWEEP_MS, IPC_SWEEP_MS);
    /* The sweep timer alone must not keep a loop alive. */
    uv_unref((uv_handle_t *)&cl->sweep_timer);
    ipc_client_connect(cl);
    *out = cl;
    return 0;
}

void ipc_client_close_when_idle(struct ipc_client *cl, uint64_t max_ms)
{
    if (!cl->pending || cl->state != IPC_CL_CONNECTED) {
        ipc_client_close(cl);
        return;
    }
    cl->close_deadline = uv_now(cl->loop) + max_ms;
    /* No reconnects from here on, and the sweep now keeps the loop alive. */
    uv_timer_stop(&cl->retry_timer);
    uv_ref((uv_handle_t *)&cl->sweep_timer);
}

void ipc_client_close(struct ipc_client *cl)
{
    if (cl->closing)
        return;
    cl->closing = true;
    ipc_client_fail_pending(cl, -ECANCELED);
    if (cl->pipe && !uv_is_closing((uv_handle_t *)cl->pipe))
        uv_close((uv_handle_t *)cl->pipe, ipc_client_on_handle_closed);
    uv_close((uv_handle_t *)&cl->retry_timer, ipc_client_on_handle_closed);
    uv_close((uv_handle_t *)&cl->sweep_timer, ipc_client_on_handle_closed);
}

static void ipc_client_on_written(uv_write_t *req, int status)
{
    struct ipc_client_write *w = (struct ipc_client_write *)req;
    (void)status; /* a failed write shows up as a read error and a drop */
    free(w->buf);
    free(w);
}

int ipc_client_request(struct ipc_client *cl, const ProtobufCMessage *req, ipc_response_fn cb,
                       void *req_ud)
{
    if (cl->closing || cl->state != IPC_CL_CONNECTED)
        return -ENOTCONN;
    struct ipc_pending *p = calloc(1, sizeof(*p));
    struct ipc_client_write *w = malloc(sizeof(*w));
    if (!p || !w) {
        free(p);
        free(w);
        return -ENOMEM;
    }
    size_t len;
    int rc = ipc_frame_encode(MGATE__FRAME_KIND__FRAME_REQUEST, cl->next_id, req, &w->buf, &len);
    if (rc) {
        free(p);
        free(w);
        return rc;
    }
    uv_buf_t b = uv_buf_init((char *)w->buf, (unsigned)len);
    rc = uv_write(&w->req, (uv_stream_t *)cl->pipe, &b, 1, ipc_client_on_written);
    if (rc) {
        free(w->buf);
        free(w);
        free(p);
        return -ENOTCONN;
    }
    p->id = cl->next_id++;
    p->deadline = uv_now(cl->loop) + cl->timeout_ms;
    p->cb = cb;
    p->ud = req_ud;
    p->next = cl->pending;
    cl->pending = p;
    return 0;
}

bool ipc_client_connected(const struct ipc_client *cl)
{
    return cl->state == IPC_CL_CONNECTED;
}

uint64_t ipc_client_state_age_ms(const struct ipc_client *cl)
{
    return uv_now(cl->loop) - cl->state_since;
}

const char *ipc_client_name(const struct ipc_client *cl)
{
    return cl->name;
}

/* Kernel XFRM events, forwarded to subscribers: expire and NAT mapping
 * changes (topic "sa"), acquire, migrate, report. Only events about what
 * mgate owns go out; another IKE daemon's SAs are none of iked's business. */
#include <errno.h>
#include <string.h>

#include "log.h"
#include "xfrmd.h"
#include "xfrmd_pb.h"

static void xfrmd_on_kernel_event(const struct xfrm_event *ev, void *arg)
{
    struct xfrmd *x = arg;
    if (ev->type == XFRM_EVENT_OVERRUN) {
        /* Subscribers cannot know what they missed: say so loudly. iked
         * resynchronises through reconcile. */
        log_warn("kernel dropped XFRM events (receive buffer overrun)");
        return;
    }
    if (ev->type == XFRM_EVENT_INVALID) {
        log_warn("unreadable XFRM event: %s", ev->u.error.msg);
        return;
    }
    const char *topic = NULL;
    Mgate__XfrmdEvent *m = xfrmd_pb_event_new(ev, &topic);
    if (!m)
        return;
    int n = ipc_server_publish(svc_server(service_svc(x->s)), topic, &m->base);
    log_debug("kernel event %s forwarded to %d subscriber(s)", xfrm_event_type_name(ev->type),
              n < 0 ? 0 : n);
    xfrmd_pb_event_free(m);
}

static void xfrmd_on_events_readable(uv_poll_t *p, int status, int events)
{
    struct xfrmd *x = p->data;
    (void)events;
    if (status < 0) {
        log_err("XFRM event socket: %s", uv_strerror(status));
        return;
    }
    struct xfrm_err err = {0};
    if (xfrm_event_dispatch(x->events, xfrmd_on_kernel_event, x, &err) < 0)
        log_err("reading XFRM events: %s", err.msg);
}

int xfrmd_events_start(struct xfrmd *x)
{
    struct xfrm_err err = {0};
    /* Not the SA and POLICY groups: every add and delete would echo back
     * to us, and at 50,000 SAs a second that is pure overhead. */
    x->events = xfrm_event_open(XFRM_EVENT_GROUP_ACQUIRE | XFRM_EVENT_GROUP_EXPIRE |
                                    XFRM_EVENT_GROUP_REPORT | XFRM_EVENT_GROUP_MIGRATE |
                                    XFRM_EVENT_GROUP_MAPPING,
                                0, &err);
    if (!x->events) {
        log_err("cannot subscribe to XFRM events: %s", err.msg);
        return -1;
    }
    uv_poll_init(service_daemon(x->s)->loop, &x->events_poll, xfrm_event_fd(x->events));
    x->events_poll.data = x;
    uv_poll_start(&x->events_poll, UV_READABLE, xfrmd_on_events_readable);
    x->events_polling = true;
    return 0;
}

static void xfrmd_events_closed(uv_handle_t *h)
{
    struct xfrmd *x = h->data;
    xfrm_event_close(x->events);
    x->events = NULL;
}

void xfrmd_events_stop(struct xfrmd *x)
{
    if (x->events_polling) {
        x->events_polling = false;
        uv_close((uv_handle_t *)&x->events_poll, xfrmd_events_closed);
    } else if (x->events) {
        xfrm_event_close(x->events);
        x->events = NULL;
    }
}

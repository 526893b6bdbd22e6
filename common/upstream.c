#include "upstream.h"

#include <alloca.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "log.h"

struct upstream {
    struct upstream_def def;
    struct ipc_client *cl;
    struct daemon *d;
    void *ud;
};

struct upstream_call {
    struct upstream *up;
    upstream_reply_fn cb;
    void *ud;
};

static void upstream_on_subscribed(struct upstream *up, const ProtobufCMessage *resp,
                                   const Mgate__Error *err, void *req_ud)
{
    (void)resp;
    (void)req_ud;
    if (err)
        log_err("subscribing to %s events failed: %s", up->def.service, err->message);
}

static void upstream_on_connect(struct ipc_client *cl, void *ud)
{
    struct upstream *up = ud;
    (void)cl;
    static const char *const lifecycle[] = {"lifecycle", NULL};
    const char *const *topics = up->def.topics ? up->def.topics : lifecycle;
    Mgate__SubscribeRequest sr = MGATE__SUBSCRIBE_REQUEST__INIT;
    while (topics[sr.n_topics])
        sr.n_topics++;
    sr.topics = (char **)topics;
    int rc = upstream_request(up, ENV_REQ_SUBSCRIBE, &sr.base, upstream_on_subscribed, NULL);
    if (rc)
        log_err("cannot subscribe to %s events: %s", up->def.service, strerror(-rc));
    if (up->def.on_connect)
        up->def.on_connect(up, up->ud);
}

static void upstream_on_disconnect(struct ipc_client *cl, void *ud)
{
    struct upstream *up = ud;
    (void)cl;
    if (up->def.on_disconnect)
        up->def.on_disconnect(up, up->ud);
}

static void upstream_on_event(struct ipc_client *cl, uint64_t seq, const uint8_t *payload,
                              size_t len, void *ud)
{
    struct upstream *up = ud;
    (void)cl;
    ProtobufCMessage *ev = protobuf_c_message_unpack(up->def.event, NULL, len, payload);
    if (!ev) {
        log_err("%s sent event %llu that is not a valid %s; ignored", up->def.service,
                (unsigned long long)seq, up->def.event->name);
        return;
    }
    uint32_t c = envelope_case(ev);
    if (c == ENV_EVENT_STOPPING) {
        const Mgate__Stopping *st = (const Mgate__Stopping *)envelope_get(ev, c);
        log_notice("%s is stopping (%s); will reconnect", up->def.service,
                   st && st->reason ? st->reason : "no reason given");
    } else if (up->def.on_event) {
        up->def.on_event(up, ev, c, up->ud);
    }
    protobuf_c_message_free_unpacked(ev, NULL);
}

int upstream_start(struct daemon *d, const struct upstream_def *def, void *ud,
                   struct upstream **out)
{
    struct upstream *up = calloc(1, sizeof(*up));
    if (!up)
        return -ENOMEM;
    up->def = *def;
    up->d = d;
    up->ud = ud;
    /* Only the peer's socket path matters here; its other keys are its own. */
    struct conf_error err = {{0}};
    char *path = mgate_svc_socket_path(&d->cf, &d->g, def->service, &err);
    if (!path) {
        log_err("bad configuration for %s: %s", def->service, err.msg);
        free(up);
        return -EINVAL;
    }
    static const struct ipc_client_ops ops = {
        .on_connect = upstream_on_connect,
        .on_disconnect = upstream_on_disconnect,
        .on_event = upstream_on_event,
    };
    struct ipc_client_cfg cfg = {
        .name = def->service,
        .path = path,
        .max_frame = (uint32_t)d->g.max_frame,
        .timeout_ms = d->g.request_timeout_ms,
    };
    int rc = ipc_client_start(d->loop, &cfg, &ops, up, &up->cl);
    free(path);
    if (rc) {
        free(up);
        return rc;
    }
    *out = up;
    return 0;
}

void upstream_close_when_idle(struct upstream *up, uint64_t max_ms)
{
    /* The client outlives this struct only to finish its requests; their
     * callbacks must not come back here. */
    up->def.on_event = NULL;
    up->def.on_connect = NULL;
    up->def.on_disconnect = NULL;
    ipc_client_close_when_idle(up->cl, max_ms);
}

void upstream_free(struct upstream *up)
{
    free(up);
}

static void upstream_on_response(struct ipc_client *cl, int status, const Mgate__Error *ferr,
                                 const uint8_t *payload, size_t len, void *req_ud)
{
    struct upstream_call *call = req_ud;
    struct upstream *up = call->up;
    (void)cl;
    Mgate__Error local = MGATE__ERROR__INIT;
    ProtobufCMessage *resp = NULL;
    const Mgate__Error *err = NULL;
    if (status == -EPROTO && ferr) {
        err = ferr;
    } else if (status < 0) {
        local.code = MGATE__ERROR_CODE__ERR_UNAVAILABLE;
        local.message = (char *)strerror(-status);
        err = &local;
    } else {
        resp = protobuf_c_message_unpack(up->def.response, NULL, len, payload);
        if (!resp) {
            local.code = MGATE__ERROR_CODE__ERR_INTERNAL;
            local.message = (char *)"response is not a valid envelope";
            err = &local;
        } else {
            const Mgate__Error *se = (const Mgate__Error *)envelope_get(resp, ENV_RESP_ERROR);
            if (se && se->code != MGATE__ERROR_CODE__ERR_NONE)
                err = se;
        }
    }
    call->cb(up, err ? NULL : resp, err, call->ud);
    if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    free(call);
}

int upstream_request(struct upstream *up, uint32_t field, ProtobufCMessage *body,
                     upstream_reply_fn cb, void *req_ud)
{
    void *env = alloca(up->def.request->sizeof_message);
    if (envelope_init_set(up->def.request, env, field, body) < 0)
        return -EINVAL;
    struct upstream_call *call = malloc(sizeof(*call));
    if (!call)
        return -ENOMEM;
    call->up = up;
    call->cb = cb;
    call->ud = req_ud;
    int rc = ipc_client_request(up->cl, env, upstream_on_response, call);
    if (rc)
        free(call);
    return rc;
}

const char *upstream_name(const struct upstream *up)
{
    return up->def.service;
}

bool upstream_connected(const struct upstream *up)
{
    return ipc_client_connected(up->cl);
}

uint64_t upstream_state_age_ms(const struct upstream *up)
{
    return ipc_client_state_age_ms(up->cl);
}

#include "svc.h"

#include <alloca.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "paths.h"
#include "upstream.h"

struct svc {
    struct daemon *d;
    struct svc_def def;
    struct ipc_server *srv;
    void *ud;
    struct upstream **ups;
    size_t n_ups;
    char detail[256];
};

static const char *svc_case_name(const ProtobufCMessageDescriptor *desc, uint32_t c)
{
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(desc, c);
    return f ? f->name : "?";
}

static void svc_handle_status(struct svc *svc, struct ipc_conn *conn, uint64_t id)
{
    Mgate__Status st = MGATE__STATUS__INIT;
    Mgate__Upstream ups[8];
    Mgate__Upstream *ptrs[8];
    st.service = (char *)svc->d->name;
    st.version = (char *)MGATE_VERSION;
    st.uptime_s = daemon_uptime_s(svc->d);
    st.pid = (uint32_t)getpid();
    st.schema_version = svc->def.schema_version;
    st.peers = (uint32_t)ipc_server_peer_count(svc->srv);
    st.api_version = MGATE_API_VERSION;
    st.state_detail = svc->detail;
    for (size_t i = 0; i < svc->n_ups && i < 8; i++) {
        mgate__upstream__init(&ups[i]);
        ups[i].service = (char *)upstream_name(svc->ups[i]);
        ups[i].connected = upstream_connected(svc->ups[i]);
        ups[i].since_s = upstream_state_age_ms(svc->ups[i]) / 1000;
        ptrs[i] = &ups[i];
        st.n_upstreams++;
    }
    st.upstreams = ptrs;
    svc_reply(svc, conn, id, ENV_RESP_STATUS, &st.base);
}

static void svc_handle_subscribe(struct svc *svc, struct ipc_conn *conn, uint64_t id,
                                 const Mgate__SubscribeRequest *sr)
{
    const char *unknown = NULL;
    if (ipc_conn_subscribe(conn, (const char *const *)sr->topics, sr->n_topics, &unknown) < 0) {
        svc_reply_error(svc, conn, id, MGATE__ERROR_CODE__ERR_INVALID, "unknown topic '%s'",
                        unknown);
        return;
    }
    const char *names[32];
    Mgate__SubscribeReply rep = MGATE__SUBSCRIBE_REPLY__INIT;
    rep.n_topics = ipc_conn_topics(conn, names, 32);
    rep.topics = (char **)names;
    svc_reply(svc, conn, id, ENV_RESP_SUBSCRIBE, &rep.base);
}

static void svc_on_request(struct ipc_conn *conn, uint64_t id, const uint8_t *payload, size_t len,
                           void *ud)
{
    struct svc *svc = ud;
    const struct ipc_peer *peer = ipc_conn_peer(conn);
    ProtobufCMessage *req = protobuf_c_message_unpack(svc->def.request, NULL, len, payload);
    if (!req) {
        log_warn("refused request %llu from pid %d uid %u: not a valid %s", (unsigned long long)id,
                 (int)peer->pid, (unsigned)peer->uid, svc->def.request->name);
        ipc_conn_reply_frame_error(conn, id, MGATE__ERROR_CODE__ERR_INVALID,
                                   "payload is not a valid request envelope");
        return;
    }
    uint32_t c = envelope_case(req);
    switch (c) {
    case 0:
        /* Also what a newer client's request looks like to an older server. */
        log_warn("refused request %llu from pid %d: empty or unknown request kind",
                 (unsigned long long)id, (int)peer->pid);
        svc_reply_error(svc, conn, id, MGATE__ERROR_CODE__ERR_UNSUPPORTED,
                        "request kind unknown to %s %s", svc->d->name, MGATE_VERSION);
        break;
    case ENV_REQ_STATUS:
        svc_handle_status(svc, conn, id);
        break;
    case ENV_REQ_SUBSCRIBE:
        svc_handle_subscribe(svc, conn, id, (const Mgate__SubscribeRequest *)envelope_get(req, c));
        break;
    default:
        if (!svc->def.handler) {
            svc_reply_error(svc, conn, id, MGATE__ERROR_CODE__ERR_UNSUPPORTED,
                            "%s does not serve %s", svc->d->name,
                            svc_case_name(svc->def.request, c));
            break;
        }
        svc->def.handler(svc, conn, id, req, c, svc->ud);
        break;
    }
    protobuf_c_message_free_unpacked(req, NULL);
}

int svc_start(struct daemon *d, const struct svc_def *def, const struct mgate_svc_conf *sc,
              const struct ipc_acl *acl, void *ud, struct svc **out)
{
    struct svc *svc = calloc(1, sizeof(*svc));
    if (!svc)
        return -ENOMEM;
    svc->d = d;
    svc->def = *def;
    svc->ud = ud;
    static const struct ipc_server_ops ops = {.on_request = svc_on_request};
    struct ipc_server_cfg cfg = {
        .name = d->name,
        .path = sc->socket,
        .acl = acl,
        .max_frame = (uint32_t)d->g.max_frame,
        .topics = def->topics,
    };
    int rc = ipc_server_start(d->loop, &cfg, &ops, svc, &svc->srv);
    if (rc) {
        free(svc);
        return rc;
    }
    *out = svc;
    return 0;
}

void svc_set_upstreams(struct svc *svc, struct upstream **ups, size_t n)
{
    svc->ups = ups;
    svc->n_ups = n;
}

void svc_set_detail(struct svc *svc, const char *detail)
{
    snprintf(svc->detail, sizeof(svc->detail), "%s", detail);
}

void svc_close(struct svc *svc, const char *reason)
{
    Mgate__Stopping st = MGATE__STOPPING__INIT;
    st.reason = (char *)reason;
    svc_publish(svc, "lifecycle", ENV_EVENT_STOPPING, &st.base);
    ipc_server_close(svc->srv);
    free(svc);
}

int svc_reply(struct svc *svc, struct ipc_conn *conn, uint64_t id, uint32_t field,
              ProtobufCMessage *body)
{
    void *env = alloca(svc->def.response->sizeof_message);
    if (envelope_init_set(svc->def.response, env, field, body) < 0) {
        log_err("%s: response field %u does not exist", svc->d->name, field);
        return -EINVAL;
    }
    return ipc_conn_reply(conn, id, env);
}

int svc_reply_error(struct svc *svc, struct ipc_conn *conn, uint64_t id, Mgate__ErrorCode code,
                    const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    Mgate__Error e = MGATE__ERROR__INIT;
    e.code = code;
    e.message = msg;
    return svc_reply(svc, conn, id, ENV_RESP_ERROR, &e.base);
}

int svc_publish(struct svc *svc, const char *topic, uint32_t field, ProtobufCMessage *body)
{
    void *env = alloca(svc->def.event->sizeof_message);
    if (envelope_init_set(svc->def.event, env, field, body) < 0)
        return -EINVAL;
    return ipc_server_publish(svc->srv, topic, env);
}

struct ipc_server *svc_server(struct svc *svc)
{
    return svc->srv;
}

size_t svc_peer_count(const struct svc *svc)
{
    return ipc_server_peer_count(svc->srv);
}

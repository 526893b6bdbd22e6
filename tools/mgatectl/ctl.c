#include "ctl.h"

#include <alloca.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "iked.pb-c.h"
#include "policyd.pb-c.h"
#include "wiped.pb-c.h"

#define CTL_MAX_RESPONSE (256u << 20)
#include "xfrmd.pb-c.h"

const struct ctl_service ctl_services[4] = {
    {"xfrmd", &mgate__xfrmd_request__descriptor, &mgate__xfrmd_response__descriptor},
    {"iked", &mgate__iked_request__descriptor, &mgate__iked_response__descriptor},
    {"policyd", &mgate__policyd_request__descriptor, &mgate__policyd_response__descriptor},
    {"wiped", &mgate__wiped_request__descriptor, &mgate__wiped_response__descriptor},
};

const struct ctl_service *ctl_service_find(const char *name)
{
    for (size_t i = 0; i < 4; i++)
        if (strcmp(ctl_services[i].name, name) == 0)
            return &ctl_services[i];
    return NULL;
}

char *ctl_socket_path(struct ctl *ctl, const char *service)
{
    struct conf_error err = {{0}};
    char *path = mgate_svc_socket_path(&ctl->cf, &ctl->g, service, &err);
    if (!path)
        fprintf(stderr, "mgatectl: %s\n", err.msg);
    return path;
}

int ctl_call(struct ctl *ctl, const struct ctl_service *svc, uint32_t field, ProtobufCMessage *body,
             ProtobufCMessage **resp, char *why, size_t why_len)
{
    *resp = NULL;
    char *path = ctl_socket_path(ctl, svc->name);
    if (!path) {
        snprintf(why, why_len, "no socket path");
        return -EINVAL;
    }
    struct ipc_sync s;
    /* A dump of 100,000 tunnels is tens of megabytes: more than a daemon
     * accepts from a client (max_frame), and fine for the admin tool to read. */
    int rc = ipc_sync_connect(&s, path, CTL_MAX_RESPONSE);
    if (rc) {
        snprintf(why, why_len, "%s: %s", path,
                 rc == -ENOENT         ? "no socket (not running?)"
                 : rc == -ECONNREFUSED ? "nobody listening (not running?)"
                                       : strerror(-rc));
        free(path);
        return rc;
    }
    void *env = alloca(svc->request->sizeof_message);
    envelope_init_set(svc->request, env, field, body);
    Mgate__Frame *f = NULL;
    rc = ipc_sync_call(&s, env, ctl->timeout_ms, &f);
    ipc_sync_close(&s);
    if (rc) {
        snprintf(why, why_len, "%s: %s", path,
                 rc == -ETIMEDOUT    ? "no answer in time"
                 : rc == -ECONNRESET ? "connection closed (not allowed? see the daemon's log)"
                                     : strerror(-rc));
        free(path);
        return rc;
    }
    free(path);
    if (f->error && f->error->code != MGATE__ERROR_CODE__ERR_NONE) {
        snprintf(why, why_len, "%s", f->error->message);
        mgate__frame__free_unpacked(f, NULL);
        return -EPROTO;
    }
    ProtobufCMessage *r =
        protobuf_c_message_unpack(svc->response, NULL, f->payload.len, f->payload.data);
    mgate__frame__free_unpacked(f, NULL);
    if (!r) {
        snprintf(why, why_len, "%s sent a response mgatectl cannot decode", svc->name);
        return -EBADMSG;
    }
    const Mgate__Error *e = (const Mgate__Error *)envelope_get(r, ENV_RESP_ERROR);
    if (e && e->code != MGATE__ERROR_CODE__ERR_NONE) {
        snprintf(why, why_len, "%s", e->message);
        protobuf_c_message_free_unpacked(r, NULL);
        return -EPROTO;
    }
    *resp = r;
    return 0;
}

void ctl_fmt_duration(unsigned long long s, char *buf, size_t len)
{
    if (s >= 86400)
        snprintf(buf, len, "%llud%lluh", s / 86400, s % 86400 / 3600);
    else if (s >= 3600)
        snprintf(buf, len, "%lluh%llum", s / 3600, s % 3600 / 60);
    else if (s >= 60)
        snprintf(buf, len, "%llum%llus", s / 60, s % 60);
    else
        snprintf(buf, len, "%llus", s);
}

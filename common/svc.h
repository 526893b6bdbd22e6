/* A daemon's socket API: decodes the service's Request envelope, answers
 * Status and Subscribe itself, hands every other request to the daemon, and
 * builds Response and Event envelopes. */
#ifndef MGATE_SVC_H
#define MGATE_SVC_H

#include <protobuf-c/protobuf-c.h>
#include <stdint.h>

#include "daemon.h"
#include "envelope.h"
#include "ipc_server.h"
#include "mgate.pb-c.h"

struct svc;
struct upstream;

/* req is the decoded envelope (freed after the call); body_case its oneof
 * member. The handler replies (now or later) with svc_reply/svc_reply_error. */
typedef void (*svc_handler_fn)(struct svc *svc, struct ipc_conn *conn, uint64_t id,
                               const ProtobufCMessage *req, uint32_t body_case, void *ud);

struct svc_def {
    const ProtobufCMessageDescriptor *request, *response, *event;
    const char *const *topics; /* must include "lifecycle" */
    svc_handler_fn handler;    /* NULL: only status and subscribe */
    /* The database schema version for Status (0: none). */
    uint32_t schema_version;
};

int svc_start(struct daemon *d, const struct svc_def *def, const struct mgate_svc_conf *sc,
              const struct ipc_acl *acl, void *ud, struct svc **out);
/* Upstreams are listed in Status (not owned by svc). */
void svc_set_upstreams(struct svc *svc, struct upstream **ups, size_t n);
void svc_set_detail(struct svc *svc, const char *detail);
/* Publishes the lifecycle Stopping event, then closes the server. */
void svc_close(struct svc *svc, const char *reason);

int svc_reply(struct svc *svc, struct ipc_conn *conn, uint64_t id, uint32_t field,
              ProtobufCMessage *body);
int svc_reply_error(struct svc *svc, struct ipc_conn *conn, uint64_t id, Mgate__ErrorCode code,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
int svc_publish(struct svc *svc, const char *topic, uint32_t field, ProtobufCMessage *body);
struct ipc_server *svc_server(struct svc *svc);
size_t svc_peer_count(const struct svc *svc);

#endif

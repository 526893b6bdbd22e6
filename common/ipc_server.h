/* A UNIX stream socket server on libuv: framed protobuf requests in, responses
 * and pushed events out. It checks every peer with SO_PEERCRED before reading
 * a byte, bounds frames, and applies back-pressure: a peer that does not read
 * its responses stops being read; a subscriber that falls too far behind on
 * events is disconnected (it reconnects and resynchronises). */
#ifndef MGATE_IPC_SERVER_H
#define MGATE_IPC_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "ipc_acl.h"
#include "ipc_frame.h"

struct ipc_server;
struct ipc_conn;

struct ipc_server_ops {
    /* One request. The payload is only valid during the call. Reply now or
     * later (ipc_conn_ref the connection to keep it past the call). */
    void (*on_request)(struct ipc_conn *conn, uint64_t id, const uint8_t *payload, size_t len,
                       void *ud);
    void (*on_disconnect)(struct ipc_conn *conn, void *ud);
};

struct ipc_server_cfg {
    const char *name; /* for log lines: "xfrmd" */
    const char *path;
    const struct ipc_acl *acl;
    uint32_t max_frame;
    /* Topic names events can be published under (NULL-terminated), at most 32. */
    const char *const *topics;
};

int ipc_server_start(uv_loop_t *loop, const struct ipc_server_cfg *cfg,
                     const struct ipc_server_ops *ops, void *ud, struct ipc_server **out);
/* Closes the listener and every connection, removes the socket file. The
 * server frees itself once libuv has closed every handle. */
void ipc_server_close(struct ipc_server *srv);

size_t ipc_server_peer_count(const struct ipc_server *srv);
/* Sends an event to every connection subscribed to topic. Returns how many
 * subscribers it reached. */
int ipc_server_publish(struct ipc_server *srv, const char *topic, const ProtobufCMessage *event);

/* Replies with the service's response envelope. -ENOTCONN if the peer left. */
int ipc_conn_reply(struct ipc_conn *conn, uint64_t id, const ProtobufCMessage *resp);
/* Replies and passes file descriptors (SCM_RIGHTS) with the frame. The
 * descriptors stay the caller's (the kernel duplicates them). Only possible
 * while nothing else is queued on the connection: -EAGAIN otherwise. */
int ipc_conn_reply_fds(struct ipc_conn *conn, uint64_t id, const ProtobufCMessage *resp,
                       const int *fds, size_t n_fds);
/* Replies with a frame-level error (the request never reached the service). */
int ipc_conn_reply_frame_error(struct ipc_conn *conn, uint64_t id, Mgate__ErrorCode code,
                               const char *message);
/* Subscribes to topics (empty: all). -ENOENT names an unknown topic. */
int ipc_conn_subscribe(struct ipc_conn *conn, const char *const *topics, size_t n,
                       const char **unknown);
/* Names of the topics subscribed, for the reply (NULL-terminated, static). */
size_t ipc_conn_topics(const struct ipc_conn *conn, const char **names, size_t max);

void ipc_conn_ref(struct ipc_conn *conn);
void ipc_conn_unref(struct ipc_conn *conn);
bool ipc_conn_is_open(const struct ipc_conn *conn);
const struct ipc_peer *ipc_conn_peer(const struct ipc_conn *conn);
/* Service-owned data hung on a connection. */
void ipc_conn_set_data(struct ipc_conn *conn, void *data);
void *ipc_conn_data(const struct ipc_conn *conn);

#endif

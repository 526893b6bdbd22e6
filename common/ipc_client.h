/* A libuv client of another daemon's socket that stays connected: it
 * reconnects with exponential back-off (100 ms doubling to 5 s, with jitter so
 * restarted peers are not hit by every client at once), fails pending requests
 * when the connection drops (the caller decides whether to retry: requests
 * that must not be lost are kept in the caller's database, not here), and
 * times requests out. */
#ifndef MGATE_IPC_CLIENT_H
#define MGATE_IPC_CLIENT_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "ipc_frame.h"

struct ipc_client;

struct ipc_client_ops {
    /* Connected (again): subscribe, reconcile. */
    void (*on_connect)(struct ipc_client *cl, void *ud);
    void (*on_disconnect)(struct ipc_client *cl, void *ud);
    void (*on_event)(struct ipc_client *cl, uint64_t seq, const uint8_t *payload, size_t len,
                     void *ud);
};

/* status: 0 with the service's response envelope in payload; a negative errno
 * (-ENOTCONN, -ETIMEDOUT, -ECONNRESET) with no payload; or -EPROTO with err
 * set when the server refused the frame itself. */
typedef void (*ipc_response_fn)(struct ipc_client *cl, int status, const Mgate__Error *err,
                                const uint8_t *payload, size_t len, void *req_ud);

struct ipc_client_cfg {
    const char *name; /* the service connected to, for logs: "xfrmd" */
    const char *path;
    uint32_t max_frame;
    uint64_t timeout_ms;                     /* default request timeout */
    uint64_t backoff_min_ms, backoff_max_ms; /* 0: 100 ms and 5 s */
};

int ipc_client_start(uv_loop_t *loop, const struct ipc_client_cfg *cfg,
                     const struct ipc_client_ops *ops, void *ud, struct ipc_client **out);
/* Fails pending requests with -ECANCELED and frees the client once libuv has
 * closed its handles. */
void ipc_client_close(struct ipc_client *cl);

/* Closes once no request is pending (or after max_ms): a daemon stopping
 * lets its last requests (a tunnel's teardown) reach the peer and finish. */
void ipc_client_close_when_idle(struct ipc_client *cl, uint64_t max_ms);

int ipc_client_request(struct ipc_client *cl, const ProtobufCMessage *req, ipc_response_fn cb,
                       void *req_ud);
bool ipc_client_connected(const struct ipc_client *cl);
/* Milliseconds since the connection state last changed. */
uint64_t ipc_client_state_age_ms(const struct ipc_client *cl);
const char *ipc_client_name(const struct ipc_client *cl);

#endif

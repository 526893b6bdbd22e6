/* A daemon's connection to another daemon it depends on (iked -> xfrmd,
 * wiped -> policyd, ...): an ipc_client that subscribes to the peer's events
 * on every (re)connect and speaks the peer's envelopes. */
#ifndef MGATE_UPSTREAM_H
#define MGATE_UPSTREAM_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stdint.h>

#include "daemon.h"
#include "ipc_client.h"
#include "mgate.pb-c.h"

struct upstream;

struct upstream_def {
    const char *service; /* "xfrmd" — also its config section */
    const ProtobufCMessageDescriptor *request, *response, *event;
    const char *const *topics; /* subscribed on connect; NULL: lifecycle only */
    /* Called with each decoded event envelope (after lifecycle handling). */
    void (*on_event)(struct upstream *up, const ProtobufCMessage *ev, uint32_t ev_case, void *ud);
    void (*on_connect)(struct upstream *up, void *ud);
    void (*on_disconnect)(struct upstream *up, void *ud);
};

/* resp is the decoded Response envelope, freed after the call; err is set
 * (and resp NULL) when the request failed: transport, frame or service error. */
typedef void (*upstream_reply_fn)(struct upstream *up, const ProtobufCMessage *resp,
                                  const Mgate__Error *err, void *req_ud);

/* The socket path comes from the peer's section of the config. */
int upstream_start(struct daemon *d, const struct upstream_def *def, void *ud,
                   struct upstream **out);
/* Lets pending requests finish first (bounded), then closes; the struct
 * stays valid for their callbacks until upstream_free, after the loop. */
void upstream_close_when_idle(struct upstream *up, uint64_t max_ms);
void upstream_free(struct upstream *up);
/* Sends a request whose envelope has `field` set to body. */
int upstream_request(struct upstream *up, uint32_t field, ProtobufCMessage *body,
                     upstream_reply_fn cb, void *req_ud);

const char *upstream_name(const struct upstream *up);
bool upstream_connected(const struct upstream *up);
uint64_t upstream_state_age_ms(const struct upstream *up);

#endif

/* Service envelopes (XfrmdRequest, IkedResponse, ...) are each a oneof. The
 * parts every service shares (status = 1 and subscribe = 2 in requests,
 * error = 1, status = 16, subscribe = 17 in responses, stopping = 1 in
 * events) have the same field numbers everywhere, so common code can build
 * and read them through the protobuf-c descriptors instead of four copies of
 * the same switch. */
#ifndef MGATE_ENVELOPE_H
#define MGATE_ENVELOPE_H

#include <protobuf-c/protobuf-c.h>
#include <stdint.h>

enum {
    ENV_REQ_STATUS = 1,
    ENV_REQ_SUBSCRIBE = 2,
    ENV_RESP_ERROR = 1,
    ENV_RESP_STATUS = 16,
    ENV_RESP_SUBSCRIBE = 17,
    ENV_EVENT_STOPPING = 1,
};

/* The oneof member set in an envelope (its field number), 0 if none. */
uint32_t envelope_case(const ProtobufCMessage *env);
/* The message stored in oneof member `field`, NULL if another is set. */
ProtobufCMessage *envelope_get(const ProtobufCMessage *env, uint32_t field);
/* Initialises env (storage of desc->sizeof_message bytes) and sets one
 * member (a oneof member, or the plain error field). The member is borrowed. */
int envelope_init_set(const ProtobufCMessageDescriptor *desc, void *env, uint32_t field,
                      ProtobufCMessage *member);
/* Sets one more member on an initialised envelope. */
int envelope_set(ProtobufCMessage *env, uint32_t field, ProtobufCMessage *member);

#endif

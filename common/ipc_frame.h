/* The wire format of every mgate socket: a 4-byte big-endian length, then a
 * protobuf mgate.Frame whose payload is a service envelope. Pure functions,
 * no I/O, so the server, the libuv client and the blocking client share them
 * and the fuzzer can reach them. */
#ifndef MGATE_IPC_FRAME_H
#define MGATE_IPC_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "mgate.pb-c.h"

#define MGATE_API_VERSION   1
#define IPC_FRAME_HDR       4
#define IPC_MAX_FRAME_DEF   (1u << 20)
#define IPC_MAX_FRAME_FLOOR 4096u

/* Encodes header + Frame{kind, id, payload=packed msg} into one new buffer
 * (caller frees). msg may be NULL for an empty payload. */
int ipc_frame_encode(Mgate__FrameKind kind, uint64_t id, const ProtobufCMessage *msg, uint8_t **out,
                     size_t *out_len);

/* Descriptors one frame may carry (SCM_RIGHTS). */
#define IPC_MAX_FDS 16

/* Writes all of buf with fds attached to the first byte (blocking on a
 * full socket for at most a few seconds). */
int ipc_sendmsg_fds(int sock, const uint8_t *buf, size_t len, const int *fds, size_t n_fds);

/* Incremental decoder: bytes in, whole frames out. */
struct ipc_rxbuf {
    uint8_t *buf;
    size_t len, cap;
    uint32_t max_frame;
};

void ipc_rxbuf_init(struct ipc_rxbuf *rx, uint32_t max_frame);
void ipc_rxbuf_free(struct ipc_rxbuf *rx);
/* Space to read into (at least want bytes); commit what was read. */
int ipc_rxbuf_reserve(struct ipc_rxbuf *rx, size_t want, uint8_t **at, size_t *avail);
void ipc_rxbuf_commit(struct ipc_rxbuf *rx, size_t n);
int ipc_rxbuf_append(struct ipc_rxbuf *rx, const void *data, size_t n);

/* Returns 1 and a decoded frame (free with mgate__frame__free_unpacked(f,
 * NULL)), 0 when more bytes are needed, -EMSGSIZE when the announced length
 * passes max_frame (the stream is then out of sync), -EBADMSG when the frame
 * is not a valid mgate.Frame (skipped; the stream stays in sync, but the
 * peer is broken: the server closes the connection). */
int ipc_rxbuf_next(struct ipc_rxbuf *rx, Mgate__Frame **out);

#endif

/* A blocking client for one-shot callers (mgatectl, tests): connect, send a
 * request, wait for its response with a deadline. Events arriving meanwhile
 * are skipped. */
#ifndef MGATE_IPC_SYNC_H
#define MGATE_IPC_SYNC_H

#include <stdint.h>

#include "ipc_frame.h"

struct ipc_sync {
    int fd;
    uint64_t next_id;
    struct ipc_rxbuf rx;
    /* Descriptors received and not yet claimed (ipc_sync_call_fds). */
    int fds[IPC_MAX_FDS];
    size_t n_fds;
};

/* -errno on failure (-ENOENT: no socket, -ECONNREFUSED: nobody listening). */
int ipc_sync_connect(struct ipc_sync *s, const char *path, uint32_t max_frame);
void ipc_sync_close(struct ipc_sync *s);

/* Sends req and waits up to timeout_ms for its response frame (caller frees
 * with mgate__frame__free_unpacked). -ETIMEDOUT, -ECONNRESET, -EPROTO. */
int ipc_sync_call(struct ipc_sync *s, const ProtobufCMessage *req, int timeout_ms,
                  Mgate__Frame **resp);
/* Like ipc_sync_call, and receives descriptors passed with the response
 * (SCM_RIGHTS): up to max_fds into fds, their number in *n_fds. The caller
 * owns (closes) them. */
int ipc_sync_call_fds(struct ipc_sync *s, const ProtobufCMessage *req, int timeout_ms,
                      Mgate__Frame **resp, int *fds, size_t max_fds, size_t *n_fds);
/* Waits for the next event frame (for subscribers in tests and `mgatectl watch`). */
int ipc_sync_next_event(struct ipc_sync *s, int timeout_ms, Mgate__Frame **ev);
/* Writes raw bytes (tests use it to send malformed frames). */
int ipc_sync_write_raw(struct ipc_sync *s, const void *buf, size_t len);

#endif

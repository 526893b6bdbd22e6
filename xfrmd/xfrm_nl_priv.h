/* Internals of the command socket shared by the library's modules; not part
 * of the API xfrmd uses. */
#ifndef MGATE_XFRM_NL_PRIV_H
#define MGATE_XFRM_NL_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libmnl/libmnl.h>

#include "xfrm_nl.h"

/* How long one wait for the kernel may last before a request is given up. */
#define XFRM_NL_TIMEOUT_MS 5000
/* A dump as a whole; large SADs take a while but never forever. */
#define XFRM_NL_DUMP_TIMEOUT_MS 120000
/* Room after the batch limit: one message may be built there before the
 * batch notices it is full; every message is smaller (checked in xfrm_batch.c). */
#define XFRM_NL_TX_OVERFLOW 4096u
/* Receive buffer: the kernel caps dump skbs at 32 KiB; twice that is safe. */
#define XFRM_NL_RX_SIZE (64u * 1024u)

struct xfrm_nl {
    struct mnl_socket *sock;
    int fd;
    uint32_t portid;
    uint32_t seq;
    size_t rcvbuf;      /* granted SO_RCVBUF */
    size_t ack_budget;  /* receive-buffer bytes one send may fill with replies */
    size_t batch_limit; /* request bytes per sendmsg */
    uint8_t *tx;        /* batch_limit + room for one overflowing message */
    size_t tx_size;
    uint8_t *rx;
    size_t rx_size;
    struct mnl_nlmsg_batch *batch; /* over tx, reused by every batch */
    size_t *chunk_idx;             /* op index of each message in the chunk in flight */
    size_t chunk_cap;
};

/* The next request sequence number; consecutive calls give consecutive numbers. */
uint32_t xfrm_nl_next_seq(struct xfrm_nl *nl);

/* Sends len bytes from buf and then wipes them: requests carry keys. */
int xfrm_nl_send(struct xfrm_nl *nl, void *buf, size_t len, struct xfrm_err *err);

/* Receives one datagram from the kernel into nl->rx, waiting up to timeout_ms.
 * Returns its length, -ETIMEDOUT, -ENOBUFS (replies were dropped) or another
 * negative errno. The caller wipes nl->rx with xfrm_nl_rx_wipe(). */
int xfrm_nl_recv(struct xfrm_nl *nl, int timeout_ms, struct xfrm_err *err);
void xfrm_nl_rx_wipe(struct xfrm_nl *nl, size_t len);

/* Reads an NLMSG_ERROR message: returns 0 for an ACK or the kernel's negative
 * errno, and puts the kernel's extended-ack text (or strerror) in err. */
int xfrm_nl_error(const struct nlmsghdr *nlh, struct xfrm_err *err);

/* One request (built at nl->tx; its seq is assigned here) and its replies.
 * For each reply message that is not the final ACK/DONE, cb(nlh, arg) runs:
 * < 0 records an error, > 0 stops further calls; the replies are drained
 * either way. Returns 0 or the first error. */
typedef int (*xfrm_nl_reply_cb)(const struct nlmsghdr *nlh, void *arg, struct xfrm_err *err);
int xfrm_nl_transact(struct xfrm_nl *nl, struct nlmsghdr *req, xfrm_nl_reply_cb cb, void *arg,
                     struct xfrm_err *err);

/* Maps, with MADV_DONTDUMP, a buffer that may hold keys; NULL on failure. */
void *xfrm_nl_secure_alloc(size_t len);
/* Wipes and unmaps a buffer from xfrm_nl_secure_alloc. */
void xfrm_nl_secure_free(void *p, size_t len);

/* Sets a socket buffer to want bytes, with the privileged *FORCE option first
 * (it ignores the rmem_max/wmem_max caps), and returns what was granted. */
size_t xfrm_nl_set_buf(int fd, int force_opt, int opt, size_t want);

#endif

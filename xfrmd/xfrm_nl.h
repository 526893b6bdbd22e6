/* The NETLINK_XFRM command socket: sequence numbers, acknowledgements with
 * the kernel's extended error messages, a large receive buffer, and the
 * reusable send/receive buffers every request goes through.
 *
 * One struct xfrm_nl per thread: nothing in it is locked. */
#ifndef MGATE_XFRM_NL_H
#define MGATE_XFRM_NL_H

#include <stddef.h>

#include "xfrm_err.h"

struct xfrm_nl;

struct xfrm_nl_opts {
    size_t rcvbuf;      /* bytes asked for the socket receive buffer; 0 = 8 MiB */
    size_t batch_bytes; /* most bytes of requests per sendmsg; 0 = 128 KiB */
};

/* Opens and binds the socket in the caller's network namespace. opts may be
 * NULL. Returns NULL with err set on failure. */
struct xfrm_nl *xfrm_nl_open(const struct xfrm_nl_opts *opts, struct xfrm_err *err);
void xfrm_nl_close(struct xfrm_nl *nl);

int xfrm_nl_fd(const struct xfrm_nl *nl);
/* The receive buffer the kernel granted (SO_RCVBUF), which sizes batches. */
size_t xfrm_nl_rcvbuf(const struct xfrm_nl *nl);

#endif

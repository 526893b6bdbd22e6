/* mgate-xfrmd's state, shared by its modules (main.c, xfrmd_api.c,
 * xfrmd_events.c, xfrmd_ikesock.c, xfrmd_move.c). */
#ifndef MGATE_XFRMD_H
#define MGATE_XFRMD_H

#include <uv.h>

#include "service.h"
#include "xfrm_event.h"
#include "xfrm_nl.h"
#include "xfrmd.pb-c.h"

#define XFRMD_IKESOCK_MAX 8

struct xfrmd_conf {
    struct mgate_svc_conf svc;
    struct conf_list ike_listen; /* addresses the IKE sockets bind to */
    uint64_t ike_port;
    uint64_t natt_port;
};

struct xfrmd_ikesock {
    int fd;
    uint8_t addr[16];
    size_t addr_len; /* 0: any */
    uint16_t port;
    bool natt;
};

struct xfrmd {
    struct xfrmd_conf conf;
    struct service *s;
    struct xfrm_nl *nl;
    struct xfrm_event_sock *events;
    uv_poll_t events_poll;
    bool events_polling;
    struct xfrmd_ikesock ike[XFRMD_IKESOCK_MAX];
    size_t n_ike;
};

void xfrmd_api_handle(struct svc *svc, struct ipc_conn *conn, uint64_t id,
                      const ProtobufCMessage *req, uint32_t body_case, void *ud);
/* xfrmd_move.c: the move request (SAs to new addresses or encap ports). */
void xfrmd_move_handle(struct xfrmd *x, struct svc *svc, struct ipc_conn *conn, uint64_t id,
                       const Mgate__XfrmMoveRequest *rq);
/* Counts what xfrmd owns in the kernel, for the log and Status. */
void xfrmd_api_census(struct xfrmd *x);

int xfrmd_events_start(struct xfrmd *x);
void xfrmd_events_stop(struct xfrmd *x);

/* Opens the IKE sockets (once; later calls reuse them). */
int xfrmd_ikesock_open(struct xfrmd *x, char *why, size_t why_len);
void xfrmd_ikesock_close(struct xfrmd *x);

#endif

/* mgate-iked's daemon state, shared by its modules:
 *   main.c            config, start/stop, the service definition
 *   iked_net.c        the IKE UDP sockets (from xfrmd): receive, send
 *   iked_sa_table.c   IKE SAs by SPI; half-open ones by initiator SPI + address
 *   iked_dispatch.c   a datagram's way: retransmits, message IDs, workers
 *   iked_child.c      CHILD SAs into and out of the kernel through xfrmd
 *   iked_api.c        the socket API (list, terminate) and events
 *   iked_dpd.c        dead peer detection (liveness checks) on the sweep
 *   iked_mobility.c   SAs following a device (NAT mapping, MOBIKE), NAT keepalives
 *   iked_persist.c    the IKE SA checkpoint: restore at start, save on change
 *   iked_verify.c     CHILD SAs missing from the kernel after a reconcile
 * The event loop thread owns everything here; worker threads see only the
 * read-only ike_env and the one SA they were handed. */
#ifndef MGATE_IKED_H
#define MGATE_IKED_H

#include <uv.h>

#include "ike_cert.h"
#include "ike_exchange.h"
#include "iked_conf.h"
#include "iked_ratelimit.h"
#include "lease_pool.h"
#include "service.h"

#define IKED_MAX_SOCKETS 8

struct iked_sock {
    uv_poll_t poll;
    int fd;
    int family;
    uint16_t port;
    bool natt;
    struct iked *ik;
};

struct iked_sa_table;
struct iked_authz_ctx;
struct iked_checkpoint;

struct iked {
    struct iked_conf conf;
    struct iked_settings set;
    struct service *s;
    struct ike_env env;
    ike_cert_store *cas;
    ike_cert_own *own;
    uint8_t *local_id;
    struct lease_pool *leases;
    struct iked_sock socks[IKED_MAX_SOCKETS];
    size_t n_socks;
    uv_timer_t sock_retry;
    uv_timer_t sweep;
    struct iked_sa_table *sas;
    uint32_t next_reqid;
    unsigned jobs; /* worker jobs in flight */
    bool stopping;
    /* Counters for Status and the log. */
    uint64_t rx_packets, rx_dropped, handshakes;
    /* Cookies (RFC 7296 §2.6): the secret, and whether they are asked
     * for now (logged when that changes). */
    struct ike_cookie_jar cookies;
    bool cookies_on, cookies_ready;
    uint64_t cookies_asked, cookies_refused, cookies_passed;
    /* Dead peer detection. */
    uint64_t dpd_checks, dpd_dead;
    /* RFC 7383 (iked_frag.c): reassembly memory for the workers, SKF
     * datagrams received and sent. */
    struct ike_frag_budget frag;
    uint64_t frag_rx, frag_tx;
    /* IKE_SA_INIT per-source rate limit and half-open bound. */
    struct iked_guard guard;
    /* authorization = policyd (iked_authz.c); NULL with ca-only. */
    struct iked_authz_ctx *authz;
    /* Mobility: tunnels moved (in the status line). */
    uint64_t moves;
    /* The checkpoint (iked_persist.c): NULL when none could be opened. */
    struct iked_checkpoint *ckpt;
    char *ckpt_path;
    bool ckpt_failing;
};

/* iked_net.c */
int iked_net_start(struct iked *ik);
void iked_net_stop(struct iked *ik);
/* Sends from the address and port the peer talks to (local), adding the
 * non-ESP marker on the NAT-T port. */
int iked_net_send(struct iked *ik, const struct sockaddr_storage *local,
                  const struct sockaddr_storage *remote, const uint8_t *buf, size_t len);
/* sendmsg of IOV on FD to remote, from local's address (IP_PKTINFO,
 * IPV6_PKTINFO): 0, or -errno for the caller to log. */
int iked_net_sendmsg(int fd, const struct sockaddr_storage *local,
                     const struct sockaddr_storage *remote, const struct iovec *iov, size_t n_iov);

/* iked_sa_table.c */
struct iked_sa_table *iked_sa_table_new(void);
void iked_sa_table_free(struct iked_sa_table *t);
int iked_sa_table_add(struct iked_sa_table *t, struct ike_sa *sa);
void iked_sa_table_remove(struct iked_sa_table *t, struct ike_sa *sa);
struct ike_sa *iked_sa_table_by_spi_r(struct iked_sa_table *t, uint64_t spi_r);
/* The half-open SA an IKE_SA_INIT retransmission belongs to. */
struct ike_sa *iked_sa_table_by_init(struct iked_sa_table *t, uint64_t spi_i,
                                     const struct sockaddr_storage *remote);
/* The identity index: every established SA of one device (by certificate
 * subject), for "one connection per device". */
int iked_sa_table_index_identity(struct iked_sa_table *t, struct ike_sa *sa);
/* Out of the identity index only (a rekeyed IKE SA's successor takes
 * its place). */
void iked_sa_table_unindex_identity(struct iked_sa_table *t, struct ike_sa *sa);
void iked_sa_table_each_identity(struct iked_sa_table *t, const char *subject,
                                 void (*fn)(struct ike_sa *sa, void *arg), void *arg);
size_t iked_sa_table_count(const struct iked_sa_table *t);
size_t iked_sa_table_half_open(const struct iked_sa_table *t);
/* Calls fn for every SA; fn may remove the SA it is given. */
void iked_sa_table_each(struct iked_sa_table *t, void (*fn)(struct ike_sa *sa, void *arg),
                        void *arg);

/* iked_dispatch.c: the loop's clock in ms (CLOCK_MONOTONIC, shared by this
 * boot's processes, which the checkpoint relies on). */
uint64_t iked_now_ms(struct iked *ik);

/* iked_dispatch.c */
void iked_dispatch(struct iked *ik, const uint8_t *buf, size_t len,
                   const struct sockaddr_storage *local, const struct sockaddr_storage *remote,
                   bool natt_port);
/* Ends an SA: CHILD SA out of the kernel, lease released, event, freed.
 * With notify, the peer is sent a DELETE first. */
void iked_sa_destroy(struct iked *ik, struct ike_sa *sa, bool notify, const char *reason);
void iked_sweep_start(struct iked *ik);
/* Once stopping with no job in flight: closes the lease pool (before the
 * service closes the database under it). */
void iked_leases_close_if_idle(struct iked *ik);

/* iked_dpd.c */
/* One SA's liveness, from the sweep (every second): a check after
 * dpd_delay without an authenticated message from the peer, resent with
 * back-off, the SA destroyed ("peer dead") after dpd_timeout. */
void iked_dpd_sweep(struct iked *ik, struct ike_sa *sa, uint64_t now_ms);

/* iked_frag.c */
/* Sets up the reassembly budget and turns fragmentation on for workers. */
void iked_frag_start(struct iked *ik);
/* A fragment (buf) for an SA a worker holds: kept for the next worker;
 * true when kept, false to drop it (not a fragment, or too many waiting). */
bool iked_frag_defer(struct iked *ik, struct ike_sa *sa, const uint8_t *buf, size_t len,
                     const struct sockaddr_storage *local, const struct sockaddr_storage *remote,
                     bool natt_port);
/* The next waiting fragment of sa, or NULL (the caller queues it, then
 * free()s it). With `more` false (the message is done), the rest go. */
struct ike_frag_pending *iked_frag_next(struct iked *ik, struct ike_sa *sa, bool more);
/* RFC 7383 §2.6.1: a retransmitted request in fragments gets our cached
 * response again only for its fragment 1. */
bool iked_frag_retransmit_ok(const uint8_t *buf, size_t len);
/* From the sweep, for an SA no worker holds: an incomplete set times out. */
void iked_frag_sweep(struct iked *ik, struct ike_sa *sa, uint64_t now_ms);
/* iked_mobility.c */
/* After a request on an established SA was answered (the SA is no longer
 * busy): the move or return routability check the exchange asked for, or
 * RFC 7296 §2.23's update for a device behind a NAT that spoke from a new
 * address/port. */
void iked_mobility_after_request(struct iked *ik, struct ike_sa *sa, const struct ike_rx *rx);
/* After an authenticated response to our request: a passed return
 * routability check moves the SAs. */
void iked_mobility_after_response(struct iked *ik, struct ike_sa *sa);
/* From the 1 s sweep: return routability resends, NAT keepalives. */
void iked_mobility_sweep(struct iked *ik, struct ike_sa *sa, uint64_t now_ms);
/* xfrmd's events (topic "sa"): XfrmMapping moves the device's SAs. */
void iked_mobility_on_xfrmd_event(struct upstream *up, const ProtobufCMessage *ev, uint32_t ev_case,
                                  void *ud);

/* iked_child.c */
/* Installs sa->child; done(ik, sa, ok) runs on the loop when xfrmd answered. */
int iked_child_install(struct iked *ik, struct ike_sa *sa,
                       void (*done)(struct iked *ik, struct ike_sa *sa, bool ok));
int iked_child_remove(struct iked *ik, struct ike_sa *sa);
/* After xfrmd (re)connects: tell it what we want, so orphans go. */
void iked_child_reconcile(struct iked *ik);

/* iked_dispatch.c, for iked_authz.c: IKE_AUTH goes on on a worker once
 * sa->authz is decided (sa not busy when called). */
int iked_dispatch_resume(struct iked *ik, struct ike_sa *sa);

/* iked_child.c, for iked_authz.c: the installed CHILD SA's corporate-side
 * selectors become ts (n), its kernel policies replaced in one batch (the
 * new ones added or updated, those no longer granted deleted). */
int iked_child_retarget(struct iked *ik, struct ike_sa *sa, const struct ike_child_ts *ts,
                        size_t n);

/* iked_child.c: old is replaced by keep (same virtual IP, old->lease_moved):
 * the policies of old that keep does not have (other selectors, e.g. a
 * narrower grant, or keep has no CHILD SA) are deleted now; the shared
 * ones were updated in place and stay keep's. */
void iked_child_trim_moved(struct iked *ik, struct ike_sa *old, const struct ike_sa *keep);

/* iked_authz.c: authorization = policyd (nothing with ca-only). */
int iked_authz_start(struct iked *ik);
void iked_authz_stop(struct iked *ik);
void iked_authz_free(struct iked *ik);
/* IKE_AUTH returned IKE_EXCH_AUTHORIZE: asks policyd; sa stays busy until
 * decided, then resumes through iked_dispatch_resume. */
void iked_authz_ask(struct iked *ik, struct ike_sa *sa);
/* policyd's events (upstream on_event): AccessChanged. */
void iked_authz_on_policyd_event(struct upstream *up, const ProtobufCMessage *ev, uint32_t ev_case,
                                 void *ud);
/* iked_verify.c */
/* After a reconcile found fewer kernel SAs than our CHILD SAs need (want):
 * asks xfrmd which exist and ends, with a DELETE to the device, every IKE
 * SA whose CHILD SA is gone (its tunnel carries nothing any more). */
void iked_verify_children(struct iked *ik, size_t want);

/* iked_persist.c */
/* At start, after the lease pool opened and before the first xfrmd
 * connect (whose reconcile then keeps the restored SAs' kernel state):
 * loads the checkpoint into the SA table, or starts empty with a log line
 * when it is unusable. */
int iked_persist_start(struct iked *ik, uint64_t now_ms);
/* An established SA changed (message ID, cached response, DPD, CHILD SA):
 * its row is written. Call before sending what depends on the change. */
void iked_persist_save(struct iked *ik, struct ike_sa *sa);
/* The SA ends: its row goes. */
void iked_persist_forget(struct iked *ik, struct ike_sa *sa);
/* A clean stop: the checkpoint is deleted (the tunnels end with it). */
void iked_persist_stop(struct iked *ik);
void iked_persist_free(struct iked *ik);

/* iked_api.c */
void iked_api_handle(struct svc *svc, struct ipc_conn *conn, uint64_t id,
                     const ProtobufCMessage *req, uint32_t body_case, void *ud);
void iked_api_publish(struct iked *ik, struct ike_sa *sa, bool up, const char *reason);

#endif

/* mgate-iked's daemon state, shared by its modules:
 *   main.c            config, start/stop, the service definition
 *   iked_net.c        the IKE UDP sockets (from xfrmd): receive, send
 *   iked_sa_table.c   IKE SAs by SPI; half-open ones by initiator SPI + address
 *   iked_dispatch.c   a datagram's way: retransmits, message IDs, workers
 *   iked_child.c      CHILD SAs into and out of the kernel through xfrmd
 *   iked_api.c        the socket API (list, terminate) and events
 *   iked_dpd.c        dead peer detection (liveness checks) on the sweep
 * The event loop thread owns everything here; worker threads see only the
 * read-only ike_env and the one SA they were handed. */
#ifndef MGATE_IKED_H
#define MGATE_IKED_H

#include <uv.h>

#include "ike_cert.h"
#include "ike_exchange.h"
#include "iked_conf.h"
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
};

/* iked_net.c */
int iked_net_start(struct iked *ik);
void iked_net_stop(struct iked *ik);
/* Sends from the address and port the peer talks to (local), adding the
 * non-ESP marker on the NAT-T port. */
int iked_net_send(struct iked *ik, const struct sockaddr_storage *local,
                  const struct sockaddr_storage *remote, const uint8_t *buf, size_t len);

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

/* iked_child.c */
/* Installs sa->child; done(ik, sa, ok) runs on the loop when xfrmd answered. */
int iked_child_install(struct iked *ik, struct ike_sa *sa,
                       void (*done)(struct iked *ik, struct ike_sa *sa, bool ok));
int iked_child_remove(struct iked *ik, struct ike_sa *sa);
/* After xfrmd (re)connects: tell it what we want, so orphans go. */
void iked_child_reconcile(struct iked *ik);

/* iked_api.c */
void iked_api_handle(struct svc *svc, struct ipc_conn *conn, uint64_t id,
                     const ProtobufCMessage *req, uint32_t body_case, void *ud);
void iked_api_publish(struct iked *ik, struct ike_sa *sa, bool up, const char *reason);

#endif

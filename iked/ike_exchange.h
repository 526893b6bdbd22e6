/* The responder's exchanges (RFC 7296): what to answer to a request, given
 * the SA it belongs to. Pure protocol and crypto: no sockets, no event loop,
 * no xfrmd. The daemon (iked_*.c) receives datagrams, finds the SA, handles
 * retransmissions and message IDs, runs these on worker threads, sends what
 * they return and performs the action they ask for (installing or removing
 * the CHILD SA through xfrmd, destroying the SA). Owner: ike_exch_*.c. */
#ifndef MGATE_IKE_EXCHANGE_H
#define MGATE_IKE_EXCHANGE_H

#include <stdint.h>
#include <sys/socket.h>

#include "ike_cert.h"
#include "ike_cookie.h"
#include "ike_frag.h"
#include "ike_dh.h"
#include "ike_msg.h"
#include "ike_sa.h"
#include "iked_conf.h"
#include "lease_pool.h"

/* Read-only context shared by every worker. */
struct ike_env {
    const struct iked_settings *set;
    const ike_cert_store *cas;
    const ike_cert_own *own;
    uint8_t local_id_type;   /* IKE_ID_DER_ASN1_DN by default */
    const uint8_t *local_id; /* IDr body */
    size_t local_id_len;
    struct lease_pool *leases;
    /* RFC 7383 reassembly memory, shared by the workers (atomic); NULL:
     * fragmentation is neither announced nor accepted. */
    struct ike_frag_budget *frag;
};

/* One received datagram (IKE header first: the non-ESP marker of port 4500
 * is already stripped). */
struct ike_rx {
    const uint8_t *buf;
    size_t len;
    struct sockaddr_storage local, remote;
    bool natt_port; /* arrived on the NAT-T socket */
    uint64_t now_ms;
};

/* What to send back; buf is malloc'd and owned by the caller afterwards. */
struct ike_tx {
    uint8_t *buf;
    size_t len;
};

enum ike_exch_result {
    IKE_EXCH_DROP,         /* send nothing (bad integrity, garbage): already logged */
    IKE_EXCH_REPLY,        /* send tx */
    IKE_EXCH_REPLY_FAIL,   /* send tx (an error notify), then destroy the SA */
    IKE_EXCH_INSTALL,      /* install sa->child through xfrmd, then send tx;
                            * if the kernel refuses, destroy the SA */
    IKE_EXCH_DELETE_IKE,   /* the peer deleted the IKE SA: send tx, remove the CHILD SA, destroy */
    IKE_EXCH_DELETE_CHILD, /* the peer deleted the CHILD SA: remove it, send tx */
    IKE_EXCH_FRAGMENT,     /* one RFC 7383 fragment, authentic and kept: nothing to send yet */
    IKE_EXCH_AUTHORIZE,    /* IKE_AUTH authenticated, held in sa->authz: ask policyd,
                            * then ike_exch_auth_resume on a worker (nothing sent yet) */
    /* A CHILD SA rekey answered (RFC 7296 §2.8): sa->child is the new one,
     * sa->child_old the one it replaces. Install the new inbound and
     * outbound SAs (the outbound policies stay on the old SA until its
     * DELETE: sa->child_out_pending), then send tx. If the kernel refuses,
     * ike_exch_rekey_child_undo() and ike_exch_error_response(). */
    IKE_EXCH_REKEY_CHILD,
    /* The IKE SA was rekeyed (§2.18): *rekeyed (ike_exch_request_ex) is
     * the new SA and holds the CHILD SAs now; sa is IKE_SA_REKEYED until
     * the peer's DELETE of it. Index the new one, send tx. */
    IKE_EXCH_REKEY_IKE,
    /* The peer deleted the CHILD SA a rekey replaced (sa->child_old):
     * move outbound to sa->child if it still waits, remove the old SAs
     * from the kernel, send tx. */
    IKE_EXCH_DELETE_OLD_CHILD,
    /* The peer deleted the redundant SA of a rekey collision
     * (sa->child_redundant): remove its pair, send tx. */
    IKE_EXCH_DELETE_REDUNDANT_CHILD,
};

/* An IKE_SA_INIT request (no SA yet). On IKE_EXCH_REPLY, *sa_out is a new
 * half-open SA (keys derived, init messages kept for AUTH). Other answers
 * (INVALID_KE_PAYLOAD, NO_PROPOSAL_CHOSEN, INVALID_SYNTAX) come with
 * IKE_EXCH_REPLY and *sa_out NULL. */
enum ike_exch_result ike_exch_sa_init(const struct ike_env *env, const struct ike_rx *rx,
                                      const struct ike_msg *m, struct ike_sa **sa_out,
                                      struct ike_tx *tx);

/* A request on an existing SA whose message ID the daemon has checked
 * (= sa->next_msgid): IKE_AUTH, INFORMATIONAL (delete, liveness), and later
 * CREATE_CHILD_SA. Updates sa (state, next_msgid, the cached response). */
enum ike_exch_result ike_exch_request(const struct ike_env *env, struct ike_sa *sa,
                                      const struct ike_rx *rx, const struct ike_msg *m,
                                      struct ike_tx *tx);

/* The second half of an IKE_AUTH that returned IKE_EXCH_AUTHORIZE, once
 * sa->authz is decided (a grant, or none with why_none): DENY or no grant
 * is AUTHENTICATION_FAILED; otherwise the virtual IP, the CHILD SA narrowed
 * to the grant, our AUTH. Same results as ike_exch_request. */
enum ike_exch_result ike_exch_auth_resume(const struct ike_env *env, struct ike_sa *sa,
                                          uint64_t now_ms, struct ike_tx *tx);
/* The same, able to rekey the IKE SA: on IKE_EXCH_REKEY_IKE, *rekeyed is
 * the new IKE SA (owned by the caller). ike_exch_request refuses an IKE SA
 * rekey with NO_ADDITIONAL_SAS. */
enum ike_exch_result ike_exch_request_ex(const struct ike_env *env, struct ike_sa *sa,
                                         const struct ike_rx *rx, const struct ike_msg *m,
                                         struct ike_tx *tx, struct ike_sa **rekeyed);

/* The kernel refused the new CHILD SA of IKE_EXCH_REKEY_CHILD: the old
 * one is sa->child again and the new one is freed. */
void ike_exch_rekey_child_undo(struct ike_sa *sa);

/* Replaces the cached answer to the request msgid (already answered by
 * the exchange) with a protected response carrying one error notify: for
 * a result the daemon could not carry out (the kernel refused). 0 or -1. */
int ike_exch_error_response(struct ike_sa *sa, uint8_t exchange, uint32_t msgid, uint16_t type,
                            struct ike_tx *tx);

/* The gateway's CHILD SA rekey (RFC 7296 §1.3.3), as the exchange's
 * initiator: what is kept between request and response. */
struct ike_rekey_child_req {
    uint8_t ni[32];
    ike_dh *dh;         /* PFS: our key pair; NULL without */
    struct child_sa *c; /* the new SA: our SPI, the proposal, the selectors;
                         * the peer's SPI and the keys after the response */
    uint32_t msgid;
    /* After the response: the lower of Ni and Nr (first 32 octets), for
     * the collision rule of §2.8.1. */
    uint8_t low_nonce[32];
    uint8_t low_nonce_len;
};
/* Builds the request rekeying sa->child (its proposal, with the PFS group
 * of sa->child->esp.dh) and takes our next message ID. 0 or -1. */
int ike_exch_rekey_child_request(const struct ike_env *env, struct ike_sa *sa,
                                 struct ike_rekey_child_req *rq, struct ike_tx *tx);
/* The peer's response m to it: 0 with rq->c complete; 1 when the peer
 * refused (*notify, and *group for INVALID_KE_PAYLOAD); -1 when it is not
 * the authentic response or not acceptable (logged). */
int ike_exch_rekey_child_reply(const struct ike_env *env, struct ike_sa *sa,
                               struct ike_rekey_child_req *rq, const struct ike_rx *rx,
                               const struct ike_msg *m, uint16_t *notify, uint16_t *group);
/* After a collision (sa->collision_nonce set): true when our exchange
 * holds the lowest nonce, so the SA it made is the redundant one. */
bool ike_exch_rekey_child_lost(const struct ike_sa *sa, const struct ike_rekey_child_req *rq);
void ike_exch_rekey_child_req_clear(struct ike_rekey_child_req *rq);

/* The gateway's IKE SA rekey (§1.3.2, §2.18): we become the new SA's
 * original initiator. */
struct ike_rekey_ike_req {
    uint8_t ni[32];
    ike_dh *dh;
    uint64_t spi_i; /* ours in the new SA (wire order) */
    uint32_t msgid;
    uint8_t low_nonce[32]; /* after the response, as for a CHILD rekey */
    uint8_t low_nonce_len;
};
/* The request, with the SA's own suite. 0 or -1. */
int ike_exch_rekey_ike_request(const struct ike_env *env, struct ike_sa *sa,
                               struct ike_rekey_ike_req *rq, struct ike_tx *tx);
/* The response: 0 with *nsa the new IKE SA (the CHILD SAs, identity and
 * lease moved to it; sa is IKE_SA_REKEYED), 1 for an error notify
 * (*notify), -1 when not the authentic response or not acceptable. */
int ike_exch_rekey_ike_reply(const struct ike_env *env, struct ike_sa *sa,
                             struct ike_rekey_ike_req *rq, const struct ike_rx *rx,
                             const struct ike_msg *m, struct ike_sa **nsa, uint16_t *notify);
void ike_exch_rekey_ike_req_clear(struct ike_rekey_ike_req *rq);
/* After a collision (the peer's IKE SA rekey answered while ours was out:
 * sa->collision_nonce set): true when our exchange holds the lowest nonce,
 * so the IKE SA it made is the redundant one, ours to delete. */
bool ike_exch_rekey_ike_lost(const struct ike_sa *sa, const struct ike_rekey_ike_req *rq);

/* An INFORMATIONAL request deleting one CHILD SA (its inbound SPI, which
 * the DELETE names, §3.11). Our next message ID. 0 or -1. */
int ike_exch_delete_child_request(const struct ike_env *env, struct ike_sa *sa, uint32_t spi_in,
                                  struct ike_tx *tx);

/* Requests we start: an INFORMATIONAL with a DELETE of the IKE SA (SIGTERM,
 * admin terminate), or an empty one (liveness check). */
int ike_exch_delete_request(const struct ike_env *env, struct ike_sa *sa, struct ike_tx *tx);
int ike_exch_liveness_request(const struct ike_env *env, struct ike_sa *sa, struct ike_tx *tx);
/* MOBIKE's return routability check (RFC 4555 §3.5): an INFORMATIONAL
 * request with a fresh COOKIE2 (kept in sa->rr_cookie2, message ID
 * sa->rr_msgid); again = the same request resent. 0 or -1. The answer goes
 * through ike_exch_response, which sets sa->rr_ok when it echoes COOKIE2. */
int ike_exch_rr_request(const struct ike_env *env, struct ike_sa *sa, bool again,
                        struct ike_tx *tx);

/* Added by ike_exch_*.c (not in the first draft of this API): */

/* A response (Response flag set) to the request we sent last on sa
 * (message ID sa->our_next_msgid - 1): 0 when it is that response and
 * authentic (decrypts with the peer's keys; sa->last_rx_ms updated), -1
 * to drop it. Anything else must not count as a sign of life. */
int ike_exch_response(const struct ike_env *env, struct ike_sa *sa, const struct ike_rx *rx,
                      const struct ike_msg *m);

/* An IKE_SA_INIT request that ike_msg_parse refused (err): the
 * unprotected answer RFC 7296 asks for (INVALID_SYNTAX,
 * UNSUPPORTED_CRITICAL_PAYLOAD with the payload type, INVALID_MAJOR_VERSION)
 * as IKE_EXCH_REPLY, or IKE_EXCH_DROP for anything that is not an
 * IKE_SA_INIT request or is cut short. No state is created. */
enum ike_exch_result ike_exch_sa_init_error(const struct ike_rx *rx, const struct ike_error *err,
                                            struct ike_tx *tx);

/* Cookies (RFC 7296 §2.6), checked on the event loop before an
 * IKE_SA_INIT request (m, parsed) is given any work, when the daemon
 * requires them (half-open SAs past cookie_threshold). Nothing is kept
 * and nothing allocated: an answer is written into out (cap >= 128).
 *   OK:      its first payload is N(COOKIE) with a valid cookie: go on
 *            (ike_exch_sa_init then ignores the notify).
 *   ASK:     no cookie first: answer out, an unprotected response with
 *            N(COOKIE) only.
 *   REFUSED: a cookie that is forged or expired (*why): answer out, a
 *            fresh N(COOKIE); the request gets no SA.
 *   DROP:    not an IKE_SA_INIT request, or no valid Nonce to bind to. */
enum ike_exch_cookie {
    IKE_EXCH_COOKIE_OK,
    IKE_EXCH_COOKIE_ASK,
    IKE_EXCH_COOKIE_REFUSED,
    IKE_EXCH_COOKIE_DROP,
};
enum ike_exch_cookie ike_exch_sa_init_cookie(struct ike_cookie_jar *jar, const struct ike_rx *rx,
                                             const struct ike_msg *m, uint8_t *out, size_t cap,
                                             size_t *out_len, const char **why);

#endif

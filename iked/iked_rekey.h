/* Rekeying on the daemon's side (RFC 7296 §2.8): what the event loop does
 * with the results of the CREATE_CHILD_SA exchanges (kernel changes through
 * xfrmd, in the order that loses no packet), the kernel's soft expires and
 * the IKE SA lifetime (rekeys the gateway starts), our requests'
 * retransmission and the collisions of §2.8.1. Owner: iked_rekey*.c; the
 * batch builder is in iked_child.c. */
#ifndef MGATE_IKED_REKEY_H
#define MGATE_IKED_REKEY_H

#include "iked.h"

/* iked_child.c: one xfrmd batch for a rekey: add_in's inbound SA, add_out's
 * outbound SA (a rekeyed CHILD SA keeps its predecessor's reqid, so the
 * policies stay and the newest outbound SA is the one used: adding it is
 * the switch), then del's pair removed. done(ok) runs on the loop when
 * xfrmd answered (not when nothing was to be done: returns 1). 0, 1, or
 * -errno (logged). */
int iked_child_rekey_batch(struct iked *ik, struct ike_sa *sa, struct child_sa *add_in,
                           struct child_sa *add_out, struct child_sa *del,
                           void (*done)(struct iked *ik, struct ike_sa *sa, bool ok));

/* The kernel's soft lifetime for a lifetime: rekey_margin percent before
 * its end, and up to rekey_jitter percent more at random. */
uint32_t iked_rekey_soft_s(struct iked *ik, uint32_t lifetime_s);

/* The kernel sends a soft expire once. One that came while iked was
 * restarting, or while xfrmd was down, reached nobody: on every xfrmd
 * (re)connect, each CHILD SA past the latest soft lifetime it can have
 * (rekey_margin before its end, no jitter) gets its rekey started. */
void iked_rekey_catch_up(struct iked *ik);

/* Results of the peer's requests (iked_dispatch.c), tx is the response. */
/* IKE_EXCH_REKEY_CHILD: installs the new inbound SA, then sends the
 * response to where the request came from (rx). */
void iked_rekey_child_answered(struct iked *ik, struct ike_sa *sa, const struct ike_rx *rx);
/* IKE_EXCH_DELETE_OLD_CHILD: outbound to the new SA, the old pair out. */
void iked_rekey_old_child_deleted(struct iked *ik, struct ike_sa *sa);
/* IKE_EXCH_DELETE_REDUNDANT_CHILD: the collision's losing pair out. */
void iked_rekey_redundant_deleted(struct iked *ik, struct ike_sa *sa);
/* IKE_EXCH_REKEY_IKE: the new IKE SA into the table and the identity
 * index in the old one's place. false when it could not be (the old SA
 * was then ended). */
bool iked_rekey_ike_answered(struct iked *ik, struct ike_sa *old, struct ike_sa *nsa);

/* An IKE SA rekey whose old SA ends before the new one was taken: the
 * CHILD SAs go back to old, nsa is freed. */
void iked_rekey_ike_abandon(struct ike_sa *old, struct ike_sa *nsa);

/* From the 1 s sweep, before DPD: the end of a rekeyed IKE SA nobody
 * deleted, our IKE SA rekey when its lifetime is due, retransmissions of
 * our requests. */
bool iked_rekey_sweep(struct iked *ik, struct ike_sa *sa, uint64_t now_ms);

/* A response to our request on sa (Response flag set): true when it
 * belonged to a rekey or a DELETE of ours (taken care of), false when it
 * is for the other handlers (liveness). */
bool iked_rekey_response(struct iked *ik, struct ike_sa *sa, const uint8_t *buf, size_t len,
                         const struct sockaddr_storage *local,
                         const struct sockaddr_storage *remote, bool natt_port);

/* Initiator side (iked_rekey_init.c). */
/* When the gateway rekeys nsa, from its lifetime (with margin and jitter). */
void iked_rekey_schedule_ike(struct iked *ik, struct ike_sa *sa);
/* Retransmission of our request, a due IKE SA rekey. true when sa was
 * destroyed (our request unanswered: the peer is gone). */
bool iked_rekey_init_sweep(struct iked *ik, struct ike_sa *sa, uint64_t now_ms);

/* iked_rekey.c: an answer waiting for the kernel, forgotten. */
void iked_rekey_forget_answer(struct ike_sa *sa);
/* The SA is being destroyed: our request state for it goes. */
void iked_rekey_forget(struct iked *ik, struct ike_sa *sa);

/* xfrmd's events (topic "sa"): a soft expire of a CHILD SA starts its
 * rekey. An upstream_def on_event. */
void iked_rekey_xfrmd_event(struct upstream *up, const ProtobufCMessage *ev, uint32_t ev_case,
                            void *ud);

#endif

/* ike_initiator --frag: the IKE_AUTH request in RFC 7383 fragments and the
 * gateway's answer collected as a fragment set. Port 500 only. */
#ifndef MGATE_IKE_INITIATOR_FRAG_H
#define MGATE_IKE_INITIATOR_FRAG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ti.h"

/* The request (a whole protected message of t) cut at `chunk` plaintext
 * octets and sent, up to `tries` times, until the answer is complete: one
 * datagram, or every fragment of a set (in arrival order, back to back in
 * resp). Its length, 0 without a (complete) answer, -1 on a socket error.
 * *n_req and *n_resp: fragments sent per try and datagrams of the answer,
 * *largest the longest of those (an IKE message, without IP and UDP). */
ssize_t ini_frag_xchg(int fd, struct ti *t, const uint8_t *req, size_t len, size_t chunk,
                      int timeout_ms, int tries, uint8_t *resp, size_t cap, size_t *n_req,
                      size_t *n_resp, size_t *largest);

/* RFC 7383 §2.6.1 and the response cache, after ini_frag_xchg answered
 * with first (first_len octets): the request's fragments but the first
 * resent get no answer; the whole set resent gets the same answer, byte for
 * byte, once. 0 when both hold (said on stdout), else 3 (no answer) or 4. */
int ini_frag_retransmit(int fd, struct ti *t, const uint8_t *req, size_t len, size_t chunk,
                        int timeout_ms, const uint8_t *first, size_t first_len);

#endif

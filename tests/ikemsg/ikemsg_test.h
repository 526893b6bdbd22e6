/* Helpers shared by the IKE codec unit tests and the seed corpus generator. */
#ifndef MGATE_IKEMSG_TEST_H
#define MGATE_IKEMSG_TEST_H

#include <stddef.h>
#include <stdint.h>

#include "ike_msg.h"
#include "ike_msg_wr.h"
#include "ike_payload.h"
#include "ike_payload_wr.h"

/* A heap copy of exactly len octets, so ASan flags any read past the end. */
uint8_t *ikemsg_test_dup(const void *data, size_t len);

void ikemsg_test_hdr(struct ike_hdr *h, uint8_t exchange, uint8_t flags, uint32_t msgid);

/* A typical IKE_SA_INIT request: SA (2 proposals), KE (group 19), Nonce,
 * NAT detection, fragmentation and signature hash notifies. Returns the
 * heap message (caller frees) and its length. */
uint8_t *ikemsg_test_sa_init(size_t *len);

/* An IKE_AUTH request whose SK envelope holds its inner payloads in clear
 * (no IV, no ICV, block 1): IDi, CERT, CERTREQ, AUTH, CP, SA, TSi, TSr, N. */
uint8_t *ikemsg_test_ike_auth(size_t *len);

/* Header + one payload with the given raw body; caller frees. */
uint8_t *ikemsg_test_one(uint8_t type, const void *body, size_t body_len, size_t *len);

#endif

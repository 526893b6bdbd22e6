/* Typed IKEv2 payload builders on top of ike_msg_wr.h. Each appends one
 * complete payload (the SA builder: one payload in several calls) with
 * lengths and chaining handled by the writer, and returns the writer's
 * sticky error. The structs are those of ike_payload.h, so a parsed payload
 * can be written back as it was read. */
#ifndef MGATE_IKE_PAYLOAD_WR_H
#define MGATE_IKE_PAYLOAD_WR_H

#include <stddef.h>
#include <stdint.h>

#include "ike_msg_wr.h"
#include "ike_payload.h"

/* SA in steps: sa_begin, then per proposal: proposal_begin, transform...,
 * proposal_end; then sa_end. Last Substruc markers, transform counts and
 * lengths are filled in. key_len 0 writes no Key Length attribute. */
enum ike_err ike_wr_sa_begin(struct ike_wr *w);
enum ike_err ike_wr_proposal_begin(struct ike_wr *w, uint8_t num, uint8_t proto, const uint8_t *spi,
                                   uint8_t spi_len);
enum ike_err ike_wr_transform(struct ike_wr *w, uint8_t type, uint16_t id, uint16_t key_len);
enum ike_err ike_wr_proposal_end(struct ike_wr *w);
enum ike_err ike_wr_sa_end(struct ike_wr *w);
/* A whole SA payload from its parsed form (e.g. the chosen proposal). */
enum ike_err ike_wr_sa(struct ike_wr *w, const struct ike_sa_pl *sa);

enum ike_err ike_wr_ke(struct ike_wr *w, uint16_t group, const void *data, size_t len);
/* pl_type: IKE_PL_IDI or IKE_PL_IDR. */
enum ike_err ike_wr_id(struct ike_wr *w, uint8_t pl_type, uint8_t id_type, const void *data,
                       size_t len);
enum ike_err ike_wr_cert(struct ike_wr *w, uint8_t encoding, const void *data, size_t len);
enum ike_err ike_wr_certreq(struct ike_wr *w, uint8_t encoding, const void *data, size_t len);
enum ike_err ike_wr_auth(struct ike_wr *w, uint8_t method, const void *data, size_t len);
/* RFC 7427 Digital Signature AUTH: DER AlgorithmIdentifier (1..255 octets)
 * and signature value. */
enum ike_err ike_wr_auth_sig(struct ike_wr *w, const void *alg_id, size_t alg_len, const void *sig,
                             size_t sig_len);
/* 16..256 octets, else IKE_ERR_USAGE. */
enum ike_err ike_wr_nonce(struct ike_wr *w, const void *data, size_t len);
enum ike_err ike_wr_notify(struct ike_wr *w, uint8_t proto, uint16_t type, const void *spi,
                           uint8_t spi_len, const void *data, size_t len);
/* IKE: n must be 0; AH/ESP: n 4-octet SPIs given in host order. */
enum ike_err ike_wr_delete(struct ike_wr *w, uint8_t proto, const uint32_t *spis, uint16_t n);
enum ike_err ike_wr_vid(struct ike_wr *w, const void *data, size_t len);
/* pl_type: IKE_PL_TSI or IKE_PL_TSR; 1..IKE_MAX_TS selectors. */
enum ike_err ike_wr_ts(struct ike_wr *w, uint8_t pl_type, const struct ike_ts *ts, unsigned n);
enum ike_err ike_wr_cp(struct ike_wr *w, uint8_t cfg_type, const struct ike_cp_attr *attrs,
                       unsigned n);
enum ike_err ike_wr_eap(struct ike_wr *w, const void *data, size_t len);

#endif

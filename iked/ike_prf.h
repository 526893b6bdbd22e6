/* IKEv2 pseudorandom function and its expansion (RFC 7296 §2.13). */
#ifndef MGATE_IKE_PRF_H
#define MGATE_IKE_PRF_H

#include "ike_crypto.h"

#define IKE_PRF_MAX_OUT 64 /* HMAC-SHA2-512 */

/* Output octets of prf, 0 when unsupported. */
size_t ike_prf_out_len(uint16_t prf);

/* out (ike_prf_out_len(prf) octets) = prf(key, data[0] | data[1] | ...). */
ike_crypto_err ike_prf(uint16_t prf, const uint8_t *key, size_t key_len, const ike_span *data,
                       size_t ndata, uint8_t *out);

/* prf+ (K, S) = T1 | T2 | ..., T1 = prf(K, S | 0x01),
 * Tn = prf(K, T(n-1) | S | n), truncated to out_len octets; S is the
 * concatenation of seed[]. At most 255 blocks can be produced. */
ike_crypto_err ike_prf_plus(uint16_t prf, const uint8_t *key, size_t key_len, const ike_span *seed,
                            size_t nseed, uint8_t *out, size_t out_len);

#endif

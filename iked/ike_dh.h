/* Key exchange groups for IKE_SA_INIT / CREATE_CHILD_SA:
 * MODP 14/15/16 (RFC 3526), ECP 19/20/21 (RFC 5903), Curve25519 31 (RFC 8031).
 *
 * Public values use the wire encodings of those RFCs: MODP big-endian padded
 * to the prime length, ECP x || y each padded to the field size (no point
 * format octet), Curve25519 the 32 raw octets. Shared secrets likewise: MODP
 * padded to the prime length, ECP the x coordinate, Curve25519 32 octets. */
#ifndef MGATE_IKE_DH_H
#define MGATE_IKE_DH_H

#include "ike_crypto.h"

#define IKE_DH_MAX_PUB    512 /* MODP-4096 */
#define IKE_DH_MAX_SECRET 512

/* One ephemeral key pair. Owned by the caller, freed (and its private key
 * wiped by OpenSSL) with ike_dh_free(). Not to be shared between threads
 * while ike_dh_derive() runs on it. */
typedef struct ike_dh ike_dh;

bool ike_dh_group_supported(uint16_t group);

/* KE payload data length for the group, 0 when unsupported. */
size_t ike_dh_public_len(uint16_t group);

/* Shared secret length for the group, 0 when unsupported. */
size_t ike_dh_secret_len(uint16_t group);

/* Generates a fresh key pair. */
ike_crypto_err ike_dh_new(uint16_t group, ike_dh **out);

/* Builds the key pair from a given private value (big-endian scalar for
 * MODP/ECP, 32 raw octets for Curve25519). For known-answer tests only:
 * never use a private value twice in a real exchange. */
ike_crypto_err ike_dh_new_from_private(uint16_t group, const uint8_t *priv, size_t priv_len,
                                       ike_dh **out);

uint16_t ike_dh_group(const ike_dh *dh);

/* Our public value in wire encoding; valid as long as dh is. */
const uint8_t *ike_dh_public(const ike_dh *dh, size_t *len);

/* Validates the peer's public value and computes g^ir into secret, which
 * must hold ike_dh_secret_len() octets. IKE_CRYPTO_ERR_BAD_PEER_KE when the
 * value has the wrong length, is out of range (MODP: not 1 < y < p-1), is
 * not a point of the curve (ECP), or yields the all-zero secret (X25519).
 * The caller wipes the secret (ike_crypto_wipe) once keys are derived. */
ike_crypto_err ike_dh_derive(ike_dh *dh, const uint8_t *peer, size_t peer_len, uint8_t *secret,
                             size_t secret_cap, size_t *secret_len);

void ike_dh_free(ike_dh *dh);

#endif

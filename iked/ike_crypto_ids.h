/* IANA "IKEv2 Parameters" numbers used by the crypto layer (RFC 7296 §3.3.2,
 * RFC 4868, RFC 5282, RFC 5903, RFC 8031, RFC 7427, RFC 8420).
 *
 * The codec's ike_const.h is the one list of protocol numbers; this adds
 * only the names the crypto layer reads better by (IKE_INTEG_*, IKE_DH_*). */
#ifndef MGATE_IKE_CRYPTO_IDS_H
#define MGATE_IKE_CRYPTO_IDS_H

#include "ike_const.h"

/* Transform type 3: integrity algorithms; NONE with combined-mode ciphers.
 * (The codec calls these IKE_AUTH_HMAC_*, which reads like an AUTH
 * method here.) */
enum {
    IKE_INTEG_NONE = 0,
    IKE_INTEG_HMAC_SHA2_256_128 = 12,
    IKE_INTEG_HMAC_SHA2_384_192 = 13,
    IKE_INTEG_HMAC_SHA2_512_256 = 14,
};

/* Transform type 4: key exchange groups (the codec's IKE_GROUP_*). */
enum {
    IKE_DH_NONE = 0,
    IKE_DH_MODP_2048 = 14,
    IKE_DH_MODP_3072 = 15,
    IKE_DH_MODP_4096 = 16,
    IKE_DH_ECP_256 = 19,
    IKE_DH_ECP_384 = 20,
    IKE_DH_ECP_521 = 21,
    IKE_DH_CURVE25519 = 31,
};

#endif

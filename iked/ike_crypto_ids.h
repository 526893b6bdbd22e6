/* IANA "IKEv2 Parameters" numbers used by the crypto layer (RFC 7296 §3.3.2,
 * RFC 4868, RFC 5282, RFC 5903, RFC 8031, RFC 7427, RFC 8420).
 *
 * The codec's ike_const.h defines most of them under the same names; C11
 * forbids declaring an enumeration constant twice, so when that header is
 * present it is the one used and only the names it lacks are added here.
 * Values are the registry's either way, so unifying is a rename at most. */
#ifndef MGATE_IKE_CRYPTO_IDS_H
#define MGATE_IKE_CRYPTO_IDS_H

#if defined(__has_include)
#if __has_include("ike_const.h")
#include "ike_const.h"
#define IKE_CRYPTO_IDS_FROM_CODEC 1
#endif
#endif

#ifndef IKE_CRYPTO_IDS_FROM_CODEC
#define IKE_SPI_LEN          8u
#define IKE_ATTR_KEY_LENGTH  14u
#define IKE_CERTREQ_HASH_LEN 20u

/* Transform type 1: encryption algorithms */
enum {
    IKE_ENCR_AES_CBC = 12,
    IKE_ENCR_AES_GCM_16 = 20,
};

/* Transform type 2: pseudorandom functions */
enum {
    IKE_PRF_HMAC_SHA2_256 = 5,
    IKE_PRF_HMAC_SHA2_384 = 6,
    IKE_PRF_HMAC_SHA2_512 = 7,
};

/* Authentication methods (AUTH payload) */
enum {
    IKE_AUTH_RSA_SIG = 1,
    IKE_AUTH_SHARED_KEY_MIC = 2,
    IKE_AUTH_ECDSA_SHA256_P256 = 9,
    IKE_AUTH_ECDSA_SHA384_P384 = 10,
    IKE_AUTH_ECDSA_SHA512_P521 = 11,
    IKE_AUTH_DIGITAL_SIGNATURE = 14,
};

/* Hash algorithm identifiers (SIGNATURE_HASH_ALGORITHMS, RFC 7427/8420) */
enum {
    IKE_HASH_SHA1 = 1,
    IKE_HASH_SHA2_256 = 2,
    IKE_HASH_SHA2_384 = 3,
    IKE_HASH_SHA2_512 = 4,
    IKE_HASH_IDENTITY = 5,
};

/* Identification types (ID payload) */
enum {
    IKE_ID_IPV4_ADDR = 1,
    IKE_ID_FQDN = 2,
    IKE_ID_RFC822_ADDR = 3,
    IKE_ID_IPV6_ADDR = 5,
    IKE_ID_DER_ASN1_DN = 9,
    IKE_ID_DER_ASN1_GN = 10,
    IKE_ID_KEY_ID = 11,
};

/* Certificate encoding of CERT / CERTREQ payloads */
enum {
    IKE_CERT_X509_SIG = 4,
};
#endif

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

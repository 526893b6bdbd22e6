/* iked crypto layer: common types, error codes, transform descriptors and
 * the one-time initialisation that fetches OpenSSL algorithm objects.
 *
 * Everything in ike_prf/ike_dh/ike_keys/ike_sk/ike_auth/ike_cert requires
 * ike_crypto_init() to have succeeded. After that, every function is safe to
 * call from any thread; objects passed in (keys, stores) are only read. */
#ifndef MGATE_IKE_CRYPTO_H
#define MGATE_IKE_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ike_crypto_ids.h"
#include "ike_span.h"

typedef enum ike_crypto_err {
    IKE_CRYPTO_OK = 0,
    IKE_CRYPTO_ERR_INTERNAL,      /* OpenSSL or allocation failure */
    IKE_CRYPTO_ERR_UNSUPPORTED,   /* unknown transform, group, method, algorithm */
    IKE_CRYPTO_ERR_INVALID_ARG,   /* wrong length, too small buffer, bad combination */
    IKE_CRYPTO_ERR_BAD_PEER_KE,   /* peer's DH public value invalid */
    IKE_CRYPTO_ERR_TRUNCATED,     /* SK payload too short / misaligned: unauthenticated, drop */
    IKE_CRYPTO_ERR_INTEGRITY,     /* SK payload ICV mismatch: drop silently */
    IKE_CRYPTO_ERR_BAD_PADDING,   /* authenticated SK payload with impossible pad length */
    IKE_CRYPTO_ERR_IV_EXHAUSTED,  /* GCM explicit IV counter wrapped: rekey */
    IKE_CRYPTO_ERR_MALFORMED,     /* malformed AUTH data, notify data or DER */
    IKE_CRYPTO_ERR_BAD_SIGNATURE, /* AUTH signature does not verify */
    IKE_CRYPTO_ERR_KEY_MISMATCH,  /* auth method or algorithm does not fit the key */
    IKE_CRYPTO_ERR_IO,            /* file missing, unreadable or not PEM */
    IKE_CRYPTO_ERR_CERT_MALFORMED,
    IKE_CRYPTO_ERR_CERT_EXPIRED,
    IKE_CRYPTO_ERR_CERT_NOT_YET_VALID,
    IKE_CRYPTO_ERR_CERT_UNTRUSTED, /* no path to a configured CA */
    IKE_CRYPTO_ERR_CERT_REVOKED,
    IKE_CRYPTO_ERR_CERT_KEY_USAGE, /* end-entity lacks digitalSignature */
    IKE_CRYPTO_ERR_CERT_INVALID,   /* any other path validation failure */
    IKE_CRYPTO_ERR_ID_MISMATCH,    /* IDi/IDr not backed by the certificate */
} ike_crypto_err;

/* Static English text for logs, never NULL. */
const char *ike_crypto_strerror(ike_crypto_err err);

/* Fetches every algorithm object once. Idempotent and thread-safe; returns
 * the result of the first initialisation on every later call. */
ike_crypto_err ike_crypto_init(void);

/* Releases the fetched objects. Only for orderly shutdown / leak checkers:
 * no crypto call may run concurrently or afterwards. */
void ike_crypto_fini(void);

/* Cryptographically strong random bytes (nonces, SPIs, IVs). */
ike_crypto_err ike_crypto_random(uint8_t *buf, size_t len);

/* Constant-time comparison; true when equal. */
bool ike_crypto_equal(const void *a, const void *b, size_t len);

/* Overwrites a secret so the compiler cannot elide it. */
void ike_crypto_wipe(void *p, size_t len);

/* Negotiated IKE SA algorithms. encr_keybits is the Key Length attribute
 * (128 or 256); integ is IKE_INTEG_NONE with AES-GCM. */
typedef struct ike_suite {
    uint16_t encr;
    uint16_t encr_keybits;
    uint16_t integ;
    uint16_t prf;
    uint16_t dh;
} ike_suite;

typedef struct ike_encr_info {
    uint16_t id;
    uint16_t keybits;
    uint8_t key_len;   /* cipher key octets */
    uint8_t salt_len;  /* extra keying material after the key (GCM: 4) */
    uint8_t iv_len;    /* octets of IV carried in the SK payload */
    uint8_t block_len; /* padding granularity */
    uint8_t icv_len;   /* AEAD tag octets, 0 for non-AEAD */
    bool aead;
} ike_encr_info;

typedef struct ike_integ_info {
    uint16_t id;
    uint8_t key_len;
    uint8_t icv_len; /* truncated output carried on the wire */
} ike_integ_info;

typedef struct ike_prf_info {
    uint16_t id;
    uint8_t out_len; /* also the preferred key length (SK_d, SK_pi, SK_pr) */
} ike_prf_info;

/* Descriptors, or NULL when the transform (or key size) is unsupported. */
const ike_encr_info *ike_crypto_encr_info(uint16_t encr, uint16_t keybits);
const ike_integ_info *ike_crypto_integ_info(uint16_t integ);
const ike_prf_info *ike_crypto_prf_info(uint16_t prf);

/* Checks that every transform is supported and that they fit together
 * (AEAD with integ NONE, non-AEAD with a real integrity algorithm). The DH
 * group may be IKE_DH_NONE when the caller only needs symmetric keys. */
ike_crypto_err ike_crypto_suite_check(const ike_suite *suite);

#endif

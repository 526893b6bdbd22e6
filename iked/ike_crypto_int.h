/* Internal to the iked crypto library: the algorithm objects fetched once by
 * ike_crypto_init() and shared read-only by every thread. Not for callers
 * outside iked/ike_{crypto,prf,dh,keys,sk,auth,cert}*.c. */
#ifndef MGATE_IKE_CRYPTO_INT_H
#define MGATE_IKE_CRYPTO_INT_H

#include <openssl/evp.h>
#include <openssl/types.h>

#include "ike_crypto.h"

enum ike_md {
    IKE_MD_SHA1,
    IKE_MD_SHA256,
    IKE_MD_SHA384,
    IKE_MD_SHA512,
    IKE_MD_COUNT,
    IKE_MD_NONE = -1,
};

const EVP_MD *ike_crypto_md(enum ike_md md);

/* OpenSSL digest name, as the provider parameters want it. */
const char *ike_crypto_md_name(enum ike_md md);

/* A new HMAC context with its digest already bound (duplicated from a
 * template, so no name lookup happens per call). Caller keys it with
 * EVP_MAC_init() and frees it with EVP_MAC_CTX_free(). NULL on failure. */
EVP_MAC_CTX *ike_crypto_hmac_new(enum ike_md md);

/* The fetched cipher for an encryption transform, NULL if unsupported. */
const EVP_CIPHER *ike_crypto_cipher(uint16_t encr, uint16_t keybits);

enum ike_md ike_crypto_prf_md(uint16_t prf);
enum ike_md ike_crypto_integ_md(uint16_t integ);

/* The OpenSSL store behind an ike_cert_store (ike_cert.c). */
struct ike_cert_store;
X509_STORE *ike_cert_store_x509(const struct ike_cert_store *store);

/* Per-module setup run by ike_crypto_init()/ike_crypto_fini(). */
ike_crypto_err ike_dh_setup(void);
void ike_dh_teardown(void);

#endif

/* IKE_AUTH authentication: the octets each side signs (RFC 7296 §2.15),
 * signatures for AUTH methods 1, 9-11 and 14 (RFC 7427, RFC 8420), the
 * SIGNATURE_HASH_ALGORITHMS notify, and shared-key MACs (method 2).
 *
 * Keys are OpenSSL EVP_PKEYs decoded once (our own key: ike_cert_own_key();
 * a peer's: ike_cert_peer_key()); these functions never decode keys, and
 * only read them, so one key serves any number of threads at once. */
#ifndef MGATE_IKE_AUTH_H
#define MGATE_IKE_AUTH_H

#include <openssl/evp.h>

#include "ike_crypto.h"

typedef enum ike_sig_scheme {
    IKE_SIG_NONE = 0,
    IKE_SIG_RSA_PKCS1_SHA1,    /* method 1 */
    IKE_SIG_ECDSA_P256_SHA256, /* method 9, r || s */
    IKE_SIG_ECDSA_P384_SHA384, /* method 10 */
    IKE_SIG_ECDSA_P521_SHA512, /* method 11 */
    /* method 14, AlgorithmIdentifier + signature */
    IKE_SIG_DS_RSA_PKCS1_SHA256,
    IKE_SIG_DS_RSA_PKCS1_SHA384,
    IKE_SIG_DS_RSA_PKCS1_SHA512,
    IKE_SIG_DS_RSA_PSS_SHA256, /* MGF1 with the same hash, salt = hash length */
    IKE_SIG_DS_RSA_PSS_SHA384,
    IKE_SIG_DS_RSA_PSS_SHA512,
    IKE_SIG_DS_ECDSA_SHA256, /* DER-encoded ECDSA-Sig-Value */
    IKE_SIG_DS_ECDSA_SHA384,
    IKE_SIG_DS_ECDSA_SHA512,
    IKE_SIG_DS_ED25519,
    IKE_SIG_SCHEME_COUNT,
} ike_sig_scheme;

/* AUTH method number carrying the scheme (1, 9, 10, 11 or 14). */
uint8_t ike_auth_scheme_method(ike_sig_scheme scheme);

/* Short name for logs and `mgatectl ike`, e.g. "ecdsa-p256-sha256". */
const char *ike_auth_scheme_name(ike_sig_scheme scheme);

/* Signed octets = RealMessage | Nonce | prf(SK_p, RestOfIDPayload).
 * real_msg: our (or the peer's) whole first message (IKE_SA_INIT);
 * nonce: the other side's Ni/Nr data; id_body: the ID payload body after
 * its generic header (ID type, 3 reserved octets, identification data);
 * sk_p: SK_pi for the initiator's AUTH, SK_pr for the responder's.
 * *out is malloc'd (caller owns; release with ike_auth_octets_free). */
ike_crypto_err ike_auth_octets(uint16_t prf, const uint8_t *sk_p, size_t sk_p_len,
                               const ike_span *real_msg, const ike_span *nonce,
                               const ike_span *id_body, uint8_t **out, size_t *out_len);
void ike_auth_octets_free(uint8_t *octets, size_t len);

/* Method 2: AUTH = prf(prf(secret, "Key Pad for IKEv2"), octets).
 * out gets ike_prf_out_len(prf) octets. */
ike_crypto_err ike_auth_psk(uint16_t prf, const uint8_t *secret, size_t secret_len,
                            const uint8_t *octets, size_t octets_len, uint8_t *out);
/* IKE_CRYPTO_ERR_BAD_SIGNATURE when the received AUTH data differs. */
ike_crypto_err ike_auth_psk_verify(uint16_t prf, const uint8_t *secret, size_t secret_len,
                                   const uint8_t *octets, size_t octets_len,
                                   const uint8_t *auth_data, size_t auth_len);

/* SIGNATURE_HASH_ALGORITHMS. A mask has bit (1 << hash id) set for each
 * hash algorithm, e.g. IKE_AUTH_HASH_BIT(IKE_HASH_SHA2_256). */
#define IKE_AUTH_HASH_BIT(id) (1u << (id))

/* Our notify data: SHA2-256, SHA2-384, SHA2-512, Identity (2 octets each).
 * Returns the length written, 0 if cap is too small. */
size_t ike_auth_hash_notify(uint8_t *out, size_t cap);

/* Parses the peer's notify data into a mask of the ids we know (1..5);
 * unknown ids are ignored as RFC 7427 §4 requires. MALFORMED on odd
 * length. */
ike_crypto_err ike_auth_hash_notify_parse(const uint8_t *data, size_t len, uint32_t *mask);

/* Picks how to sign with key: with a non-empty peer hash mask, method 14
 * with the best hash both support (the curve's own hash for ECDSA, Identity
 * for Ed25519; RSA-PSS when prefer_pss or the key is RSA-PSS only, else
 * PKCS#1 v1.5); without one, the legacy method for the key (RSA: 1,
 * ECDSA: 9/10/11 by curve). UNSUPPORTED when no scheme fits. */
ike_crypto_err ike_auth_choose(EVP_PKEY *key, uint32_t peer_hash_mask, bool prefer_pss,
                               ike_sig_scheme *out);

/* Upper bound for the Authentication Data produced with key. */
size_t ike_auth_sig_max_len(EVP_PKEY *key);

/* Signs octets; auth_data receives the AUTH payload's Authentication Data
 * (for method 14: ASN.1 length, AlgorithmIdentifier, signature). The AUTH
 * method to put in the payload is ike_auth_scheme_method(scheme). */
ike_crypto_err ike_auth_sign(EVP_PKEY *key, ike_sig_scheme scheme, const uint8_t *octets,
                             size_t octets_len, uint8_t *auth_data, size_t cap, size_t *auth_len);

/* Verifies a peer's AUTH payload (method and Authentication Data) over
 * octets with the peer's public key. SHA-1 is accepted only through
 * method 1 (we never announce it for method 14). Errors: BAD_SIGNATURE,
 * KEY_MISMATCH (method/algorithm does not fit the key), UNSUPPORTED (an
 * AlgorithmIdentifier or method we do not accept), MALFORMED. *used, if
 * given, receives the scheme found. */
ike_crypto_err ike_auth_verify(EVP_PKEY *peer_key, uint8_t method, const uint8_t *auth_data,
                               size_t auth_len, const uint8_t *octets, size_t octets_len,
                               ike_sig_scheme *used);

#endif

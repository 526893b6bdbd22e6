/* X.509 for IKE_AUTH: trusted CAs and CRLs (loaded once), our own
 * certificate chain and private key (decoded once), verification of a
 * peer's CERT payloads, the identity a certificate carries, and the SHA-1
 * SubjectPublicKeyInfo hashes of CERTREQ (RFC 7296 §3.6, §3.7). */
#ifndef MGATE_IKE_CERT_H
#define MGATE_IKE_CERT_H

#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "ike_crypto.h"

#define IKE_CERT_SPKI_HASH_LEN   20 /* one CERTREQ entry, SHA-1 */
#define IKE_CERT_FINGERPRINT_LEN 32 /* SHA-256 of the DER certificate */

/* ---- trust store -------------------------------------------------------
 * Built at start-up, then only read: verifications on any number of
 * threads may share it, but nothing may be added once they run. */
typedef struct ike_cert_store ike_cert_store;

ike_crypto_err ike_cert_store_new(ike_cert_store **out);
/* Adds every certificate of a PEM file as a trust anchor. IO when the file
 * cannot be read or holds no certificate. */
ike_crypto_err ike_cert_store_add_ca_file(ike_cert_store *store, const char *path);
/* Adds one trust anchor (takes a reference). */
ike_crypto_err ike_cert_store_add_ca(ike_cert_store *store, X509 *ca);
/* Adds the CRLs of a PEM file and turns revocation checking on for the
 * end-entity certificate: from then on a peer whose issuer has no CRL
 * fails (fail closed). */
ike_crypto_err ike_cert_store_add_crl_file(ike_cert_store *store, const char *path);
ike_crypto_err ike_cert_store_add_crl(ike_cert_store *store, X509_CRL *crl);
size_t ike_cert_store_ca_count(const ike_cert_store *store);
/* CERTREQ Certification Authority data: SHA-1(SubjectPublicKeyInfo) of
 * every trust anchor, concatenated (20 octets each). */
const uint8_t *ike_cert_store_certreq(const ike_cert_store *store, size_t *len);
void ike_cert_store_free(ike_cert_store *store);

/* ---- our credentials ---------------------------------------------------- */
typedef struct ike_cert_own ike_cert_own;

/* cert_path: PEM, our certificate first, then (optionally) the chain up to
 * and possibly including the root. key_path: PEM private key (unencrypted).
 * Fails with KEY_MISMATCH if the key is not the certificate's. */
ike_crypto_err ike_cert_own_load(const char *cert_path, const char *key_path, ike_cert_own **out);
/* Same from objects (references taken); chain may be NULL. */
ike_crypto_err ike_cert_own_new(X509 *cert, STACK_OF(X509) * chain, EVP_PKEY *key,
                                ike_cert_own **out);
EVP_PKEY *ike_cert_own_key(const ike_cert_own *own);
X509 *ike_cert_own_cert(const ike_cert_own *own);
/* Certificates in the file, ours first; DER kept ready for CERT payloads. */
size_t ike_cert_own_count(const ike_cert_own *own);
const uint8_t *ike_cert_own_der(const ike_cert_own *own, size_t i, size_t *len);
/* Our subject, DER, for an IDr of type DER_ASN1_DN. */
const uint8_t *ike_cert_own_subject_der(const ike_cert_own *own, size_t *len);
/* How many certificates (from index 0) to send for the peer's CERTREQ
 * hashes: up to, not including, the first one the peer names, and never a
 * self-signed root. *matched tells whether the peer named one of ours;
 * if not, the whole chain minus a root is returned. */
size_t ike_cert_own_select(const ike_cert_own *own, const uint8_t *certreq, size_t len,
                           bool *matched);
void ike_cert_own_free(ike_cert_own *own);

/* ---- peer certificates -------------------------------------------------- */
typedef struct ike_cert_peer ike_cert_peer;

/* Verifies certs[0] (end entity) with certs[1..] as untrusted
 * intermediates, all DER, against the store at time `at` (0: now); checks
 * validity periods, CRLs if loaded, and digitalSignature in the end
 * entity's key usage when it has that extension. On failure, detail (if
 * given) receives one log line: the OpenSSL reason and the subject.
 * Errors: CERT_MALFORMED, CERT_EXPIRED, CERT_NOT_YET_VALID,
 * CERT_UNTRUSTED (no path to a configured CA), CERT_REVOKED,
 * CERT_KEY_USAGE, CERT_INVALID. */
ike_crypto_err ike_cert_verify(const ike_cert_store *store, const ike_span *certs, size_t n,
                               time_t at, ike_cert_peer **out, char *detail, size_t detail_len);

/* The end entity's public key (decoded once, when the DER was parsed). */
EVP_PKEY *ike_cert_peer_key(const ike_cert_peer *peer);
X509 *ike_cert_peer_cert(const ike_cert_peer *peer);
const uint8_t *ike_cert_peer_subject_der(const ike_cert_peer *peer, size_t *len);
/* RFC 2253 text, e.g. "CN=dev42,O=Example"; truncated to fit buf. */
void ike_cert_peer_subject_text(const ike_cert_peer *peer, char *buf, size_t len);
/* Serial number as upper-case hex, e.g. "1A2B"; truncated to fit buf. */
void ike_cert_peer_serial_hex(const ike_cert_peer *peer, char *buf, size_t len);
const uint8_t *ike_cert_peer_fingerprint(const ike_cert_peer *peer); /* 32 octets */

enum ike_cert_san_type { IKE_SAN_DNS = 1, IKE_SAN_EMAIL = 2, IKE_SAN_IP = 3 };
size_t ike_cert_peer_san_count(const ike_cert_peer *peer);
/* i-th DNS/email/IP SubjectAltName (others are skipped); IP as 4 or 16
 * raw octets, names as their (not NUL-terminated) IA5 octets. */
bool ike_cert_peer_san(const ike_cert_peer *peer, size_t i, enum ike_cert_san_type *type,
                       const uint8_t **data, size_t *len);

/* Checks an IDi/IDr against the certificate: DER_ASN1_DN must equal the
 * subject, FQDN / RFC822_ADDR / IPV4_ADDR / IPV6_ADDR must appear in the
 * SubjectAltNames (names compared case-insensitively). ID_MISMATCH
 * otherwise (including ID types a certificate cannot vouch for). */
ike_crypto_err ike_cert_peer_check_id(const ike_cert_peer *peer, uint8_t id_type, const uint8_t *id,
                                      size_t id_len);
void ike_cert_peer_free(ike_cert_peer *peer);

#endif

/* Test-time key and certificate factory for the iked crypto tests and the
 * benchmark: everything is generated with OpenSSL APIs, nothing is read
 * from disk. Aborts on any OpenSSL failure (a test cannot go on anyway). */
#ifndef MGATE_TESTPKI_H
#define MGATE_TESTPKI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/* kind: "rsa2048", "p256", "p384", "p521", "ed25519" */
EVP_PKEY *tp_key(const char *kind);

struct tp_cert_opts {
    bool ca;
    long not_before; /* seconds relative to now */
    long not_after;
    bool no_digital_signature; /* keyUsage without digitalSignature */
    const char *san_dns;
    const char *san_email;
    const char *san_ip; /* dotted IPv4 or IPv6 text */
    long serial;
};

/* Issues a certificate for key, subject "CN=<cn>,O=mgate test"; self-signed
 * when issuer is NULL. Caller frees with X509_free. */
X509 *tp_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
              const struct tp_cert_opts *opts);

/* DER of cert, malloc'd by OpenSSL (OPENSSL_free). */
uint8_t *tp_der(X509 *cert, size_t *len);

/* Writes PEM certificates / a key / a CRL to path. */
void tp_write_certs(const char *path, X509 *const *certs, size_t n);
void tp_write_key(const char *path, EVP_PKEY *key);
/* A CRL by issuer revoking the given serial. */
X509_CRL *tp_crl(X509 *issuer, EVP_PKEY *issuer_key, long revoked_serial);
void tp_write_crl(const char *path, X509_CRL *crl);

/* prf+ of RFC 7296 §2.13 computed independently of iked (one-shot HMAC
 * with digest md, e.g. "SHA256"), for cross-checking. */
void tp_ref_prf_plus(const char *md, const uint8_t *key, size_t klen, const uint8_t *seed,
                     size_t slen, uint8_t *out, size_t out_len);

/* Hex string (whitespace ignored) to bytes; returns length. */
size_t tp_unhex(const char *hex, uint8_t *out, size_t cap);

#endif

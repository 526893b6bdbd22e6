/* mgate's CA: an ECDSA P-256 key (0600) and a self-signed certificate in
 * ca_dir; machine certificates issued from CSRs; the CRL. The decoded key and
 * certificate are kept in memory once loaded. */
#ifndef MGATE_POLICYD_CA_H
#define MGATE_POLICYD_CA_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CA_ERR        256
#define CA_SERIAL_HEX 48 /* up to 20 bytes (RFC 5280 4.1.2.2) in hex, with room */

struct ca {
    EVP_PKEY *key;
    X509 *cert;
};

/* ca_dir/ca.key, ca.crt, ca.crl (caller frees). */
char *ca_path(const char *dir, const char *file);

/* Loads the CA from dir if it is there: 1 loaded, 0 none, -1 error (why). */
int ca_load(struct ca *ca, const char *dir, char *why);
/* Generates key and certificate and writes them (key 0600) atomically.
 * -EEXIST when a CA exists and !force. */
int ca_create(struct ca *ca, const char *dir, uint64_t validity_s, bool force, char *why);
void ca_free(struct ca *ca);

/* The key types mgate accepts for a device: ECDSA P-256 / P-384 or RSA >=
 * 2048 bits. what ("CSR", "certificate") starts the reason. */
int ca_key_check(EVP_PKEY *pk, const char *what, char *why);

/* Checks a PEM CSR: parses, verifies its signature, accepts ECDSA P-256 /
 * P-384 or RSA >= 2048 bits. Returns the request or NULL (why). */
X509_REQ *ca_csr_check(const char *pem, char *why);

/* A random serial (127 bits, positive, non-zero) and its hex. */
int ca_random_serial(unsigned char out[16], char hex[CA_SERIAL_HEX]);

/* Issues the machine certificate: subject CN = cn, the CSR's key, serial as
 * given, validity_s, keyUsage digitalSignature, extKeyUsage clientAuth. */
X509 *ca_issue(const struct ca *ca, X509_REQ *req, const char *cn, const unsigned char serial[16],
               uint64_t validity_s, char *why);

/* PEM of a certificate (malloc'd) and its SHA-256 fingerprint in hex. */
char *ca_cert_pem(X509 *cert);
int ca_fingerprint(X509 *cert, char hex[65]);

/* Builds and signs the CRL for the given serials (hex) with their revocation
 * times, writes ca_dir/ca.crl atomically and returns its PEM (malloc'd). */
char *ca_crl(const struct ca *ca, const char *dir, const char *const *serials,
             const int64_t *revoked_at, size_t n, int64_t crl_number, uint64_t validity_s,
             char *why);

#endif

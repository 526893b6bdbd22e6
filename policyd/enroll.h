/* Enrollment: one-time passwords (salted PBKDF2 hashes, never the password
 * itself), pre-enrollment, enrollment with a CSR, revocation and the CRL.
 * Each operation commits (synchronous=FULL) before it returns, and writes
 * the audit log, refusals included. */
#ifndef MGATE_POLICYD_ENROLL_H
#define MGATE_POLICYD_ENROLL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policyd.h"
#include "policyd.pb-c.h"
#include "registry.h"

/* Four dash-separated groups of four characters from a 32-letter alphabet:
 * 16 characters, 80 bits. */
#define OTP_BUF         20
#define OTP_PBKDF2_ITER 10000

int otp_generate(char out[OTP_BUF]);
/* PBKDF2-HMAC-SHA256 of the password as typed with dashes and spaces dropped
 * and letters upper-cased. */
int otp_hash(const char *pw, const unsigned char salt[16], unsigned char out[32]);
int otp_new_secret(const char *pw, int64_t expires, struct reg_secret *s);
/* Constant-time comparison of the hashes. */
bool otp_verify(const char *pw, const struct reg_secret *s);

struct enroll_err {
    Mgate__ErrorCode code;
    char msg[REGISTRY_ERR];
};

/* Fills e; returns -1. */
int enroll_fail(struct enroll_err *e, Mgate__ErrorCode code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Record field check: present, printable, at most 256 bytes. */
bool enroll_field_ok(const char *s);

/* A refused enrollment: logged, audited (committed on its own) and told. */
int enroll_refuse(struct policyd *p, uint32_t uid, int64_t dev, struct enroll_err *e,
                  Mgate__ErrorCode code, const char *hwid, const char *why);

struct enroll_pre {
    int64_t id;
    char password[OTP_BUF];
    int64_t expires;
};

int enroll_ca_init(struct policyd *p, uint32_t uid, bool force, char **cert_pem,
                   struct enroll_err *e);
/* Pre-enrollment in three steps, the middle one on a worker: the request's
 * fields; the passwords and their hashes (out[i].password, secrets[i]); the
 * records, all or nothing (out[i].id). */
int enroll_pre_check(Mgate__PreEnrollDevice *const *devs, size_t n, struct enroll_err *e);
int enroll_pre_secrets(struct enroll_pre *out, struct reg_secret *secrets, size_t n,
                       int64_t expires);
int64_t enroll_pre_expiry(const struct policyd *p, int64_t now);
int enroll_pre_enroll(struct policyd *p, uint32_t uid, Mgate__PreEnrollDevice *const *devs,
                      size_t n, struct enroll_pre *out, const struct reg_secret *secrets,
                      struct enroll_err *e);

struct enroll_result {
    int64_t id;
    char *cert_pem;
    char serial[CA_SERIAL_HEX];
    char fingerprint[65];
};
int enroll_revoke(struct policyd *p, uint32_t uid, int64_t id, char serial[CA_SERIAL_HEX],
                  char **crl_pem, struct enroll_err *e);
int enroll_crl(struct policyd *p, char **crl_pem, struct enroll_err *e);

#endif

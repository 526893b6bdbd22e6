/* Enrollment with mgate's CA (see enroll.h). Password hashing and signing
 * run on workers (enroll_job.c); CA creation and CRLs stay on the loop:
 * they are rare and admin-driven. */
#include "enroll.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

/* 32 characters (5 unbiased bits each), without 0/O and 1/I: read aloud
 * and typed by hand. */
static const char otp_alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

int otp_generate(char out[OTP_BUF])
{
    unsigned char r[16];
    if (RAND_bytes(r, sizeof(r)) != 1)
        return -1;
    size_t o = 0;
    for (size_t i = 0; i < 16; i++) {
        if (i && i % 4 == 0)
            out[o++] = '-';
        out[o++] = otp_alphabet[r[i] & 31];
    }
    out[o] = '\0';
    OPENSSL_cleanse(r, sizeof(r));
    return 0;
}

int otp_hash(const char *pw, const unsigned char salt[16], unsigned char out[32])
{
    char norm[128];
    size_t n = 0;
    for (const char *c = pw; *c && n < sizeof(norm) - 1; c++) {
        if (*c == '-' || *c == ' ')
            continue;
        norm[n++] = (char)toupper((unsigned char)*c);
    }
    norm[n] = '\0';
    int ok = PKCS5_PBKDF2_HMAC(norm, (int)n, salt, 16, OTP_PBKDF2_ITER, EVP_sha256(), 32, out);
    OPENSSL_cleanse(norm, sizeof(norm));
    return ok == 1 ? 0 : -1;
}

int otp_new_secret(const char *pw, int64_t expires, struct reg_secret *s)
{
    memset(s, 0, sizeof(*s));
    s->expires = expires;
    if (RAND_bytes(s->salt, sizeof(s->salt)) != 1)
        return -1;
    return otp_hash(pw, s->salt, s->hash);
}

bool otp_verify(const char *pw, const struct reg_secret *s)
{
    unsigned char h[32];
    if (otp_hash(pw, s->salt, h) < 0)
        return false;
    bool ok = CRYPTO_memcmp(h, s->hash, sizeof(h)) == 0;
    OPENSSL_cleanse(h, sizeof(h));
    return ok;
}

int enroll_fail(struct enroll_err *e, Mgate__ErrorCode code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
    e->code = code;
    return -1;
}

static uint64_t ms_to_s(uint64_t ms)
{
    return ms / 1000 ? ms / 1000 : 1;
}

int enroll_ca_init(struct policyd *p, uint32_t uid, bool force, char **cert_pem,
                   struct enroll_err *e)
{
    char why[CA_ERR];
    int rc = ca_create(&p->ca, p->ca_dir, ms_to_s(p->conf.ca_validity), force, why);
    if (rc == -EEXIST)
        return enroll_fail(e, MGATE__ERROR_CODE__ERR_EXISTS, "%s", why);
    if (rc < 0) {
        log_err("CA init failed: %s", why);
        return enroll_fail(e, MGATE__ERROR_CODE__ERR_INTERNAL, "%s", why);
    }
    log_notice("uid %u created the CA in %s%s", uid, p->ca_dir,
               force ? " (replacing the old)" : "");
    reg_audit(p->db, uid, 0, "ca-init", force ? "forced: the previous CA was replaced" : "",
              time(NULL));
    *cert_pem = ca_cert_pem(p->ca.cert);
    if (!*cert_pem)
        return enroll_fail(e, MGATE__ERROR_CODE__ERR_INTERNAL, "out of memory");
    return 0;
}

/* A field of a device record: present, printable, bounded. */
bool enroll_field_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 256)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

int enroll_pre_check(Mgate__PreEnrollDevice *const *devs, size_t n, struct enroll_err *e)
{
    if (n == 0)
        return enroll_fail(e, MGATE__ERROR_CODE__ERR_INVALID, "no device to pre-enroll");
    for (size_t i = 0; i < n; i++) {
        const Mgate__PreEnrollDevice *d = devs[i];
        const char *bad = !enroll_field_ok(d->hardware_id) ? "hardware id"
                          : !enroll_field_ok(d->owner)     ? "owner"
                          : !enroll_field_ok(d->name)      ? "name"
                          : !enroll_field_ok(d->platform)  ? "platform"
                                                           : NULL;
        if (bad)
            return enroll_fail(e, MGATE__ERROR_CODE__ERR_INVALID,
                               "device %zu: the %s is empty, too long or not printable", i + 1,
                               bad);
    }
    return 0;
}

int enroll_pre_secrets(struct enroll_pre *out, struct reg_secret *secrets, size_t n,
                       int64_t expires)
{
    for (size_t i = 0; i < n; i++) {
        out[i].expires = expires;
        if (otp_generate(out[i].password) < 0 ||
            otp_new_secret(out[i].password, expires, &secrets[i]) < 0)
            return -1;
    }
    return 0;
}

int64_t enroll_pre_expiry(const struct policyd *p, int64_t now)
{
    return now + (int64_t)ms_to_s(p->conf.otp_validity);
}

int enroll_pre_enroll(struct policyd *p, uint32_t uid, Mgate__PreEnrollDevice *const *devs,
                      size_t n, struct enroll_pre *out, const struct reg_secret *secrets,
                      struct enroll_err *e)
{
    char why[REGISTRY_ERR];
    int64_t now = time(NULL);
    if (reg_begin(p->db, why) < 0)
        return enroll_fail(e, MGATE__ERROR_CODE__ERR_INTERNAL, "%s", why);
    for (size_t i = 0; i < n; i++) {
        const Mgate__PreEnrollDevice *d = devs[i];
        int64_t id =
            reg_device_insert(p->db, d->hardware_id, d->owner, d->name, d->platform, now, why);
        if (id < 0) {
            reg_rollback(p->db);
            if (id == -EEXIST) {
                reg_audit(p->db, uid, 0, "pre-enroll-refused", why, now);
                return enroll_fail(e, MGATE__ERROR_CODE__ERR_EXISTS,
                                   "device %zu: %s; nothing was pre-enrolled", i + 1, why);
            }
            return enroll_fail(e, MGATE__ERROR_CODE__ERR_INTERNAL, "%s", why);
        }
        out[i].id = id;
        char detail[REGISTRY_ERR + 64];
        snprintf(detail, sizeof(detail), "hardware id %s, owner %s, name %s, platform %s",
                 d->hardware_id, d->owner, d->name, d->platform);
        if (reg_secret_set(p->db, id, &secrets[i], why) < 0 ||
            reg_audit(p->db, uid, id, "pre-enroll", detail, now) < 0) {
            reg_rollback(p->db);
            return enroll_fail(e, MGATE__ERROR_CODE__ERR_INTERNAL, "%s", why);
        }
    }
    if (reg_commit(p->db, why) < 0) {
        reg_rollback(p->db);
        return enroll_fail(e, MGATE__ERROR_CODE__ERR_INTERNAL, "%s", why);
    }
    log_info("uid %u pre-enrolled %zu device(s)", uid, n);
    return 0;
}

int enroll_refuse(struct policyd *p, uint32_t uid, int64_t dev, struct enroll_err *e,
                  Mgate__ErrorCode code, const char *hwid, const char *why)
{
    char detail[2 * REGISTRY_ERR];
    snprintf(detail, sizeof(detail), "hardware id %s: %s", hwid, why);
    log_notice("enrollment refused (uid %u): %s", uid, detail);
    reg_audit(p->db, uid, dev, "enroll-refused", detail, time(NULL));
    return enroll_fail(e, code, "%s", why);
}

int enroll_crl(struct policyd *p, char **crl_pem, struct enroll_err *e)
{
    *crl_pem = NULL;
    if (!p->ca.cert)
        return enroll_fail(e, MGATE__ERROR_CODE__ERR_UNAVAILABLE,
                           "mgate's CA is not initialized (mgatectl ca init)");
    struct reg_revoked *r = NULL;
    size_t n = 0;
    if (reg_revoked_list(p->db, &r, &n) < 0)
        return enroll_fail(e, MGATE__ERROR_CODE__ERR_INTERNAL, "database error");
    const char **serials = calloc(n ? n : 1, sizeof(*serials));
    int64_t *at = calloc(n ? n : 1, sizeof(*at));
    int64_t number = reg_next_crl_number(p->db);
    char why[CA_ERR] = "out of memory";
    if (serials && at && number > 0) {
        for (size_t i = 0; i < n; i++) {
            serials[i] = r[i].serial;
            at[i] = r[i].revoked_at;
        }
        *crl_pem =
            ca_crl(&p->ca, p->ca_dir, serials, at, n, number, ms_to_s(p->conf.crl_validity), why);
    }
    free(serials);
    free(at);
    reg_revoked_free(r, n);
    if (!*crl_pem) {
        log_err("cannot publish the CRL: %s", why);
        return enroll_fail(e, MGATE__ERROR_CODE__ERR_INTERNAL, "%s", why);
    }
    return 0;
}

int enroll_revoke(struct policyd *p, uint32_t uid, int64_t id, char serial[CA_SERIAL_HEX],
                  char **crl_pem, struct enroll_err *e)
{
    serial[0] = '\0';
    *crl_pem = NULL;
    struct reg_device d;
    int rc = reg_device_by_id(p->db, id, &d);
    if (rc == -ENOENT)
        return enroll_fail(e, MGATE__ERROR_CODE__ERR_NOT_FOUND, "no device %lld", (long long)id);
    if (rc < 0)
        return enroll_fail(e, MGATE__ERROR_CODE__ERR_INTERNAL, "database error");
    bool external = d.cert_source && strcmp(d.cert_source, "external") == 0;
    if (d.cert_serial && !external && !p->ca.cert) {
        reg_device_free(&d);
        return enroll_fail(e, MGATE__ERROR_CODE__ERR_UNAVAILABLE,
                           "mgate's CA is not loaded: cannot publish a CRL");
    }
    char why[REGISTRY_ERR], detail[REGISTRY_ERR];
    int64_t now = time(NULL);
    if (d.cert_serial)
        snprintf(serial, CA_SERIAL_HEX, "%s", d.cert_serial);
    snprintf(detail, sizeof(detail), "%s -> blocked%s%s", d.state,
             d.cert_serial ? ", certificate serial revoked: " : "", serial);
    if (reg_begin(p->db, why) < 0 || reg_device_set_state(p->db, id, "blocked", why) < 0 ||
        (d.cert_serial && reg_revoke_serial(p->db, d.cert_serial, id, now, external, why) < 0) ||
        /* A pre-enrolled device's password dies with it. */
        reg_secret_use(p->db, id, why) < 0 ||
        reg_audit(p->db, uid, id, "revoke", detail, now) < 0 || reg_commit(p->db, why) < 0) {
        reg_rollback(p->db);
        reg_device_free(&d);
        log_err("cannot revoke device %lld: %s", (long long)id, why);
        return enroll_fail(e, MGATE__ERROR_CODE__ERR_INTERNAL, "database error");
    }
    log_notice("uid %u revoked device %lld (%s)", uid, (long long)id, detail);
    reg_device_free(&d);
    /* An external CA publishes its own CRL; ours changes only for ours. */
    if (p->ca.cert && !external)
        return enroll_crl(p, crl_pem, e);
    return 0;
}

/* External-CA mode (see extca.h). */
#include "extca.h"

#include <errno.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

int extca_load(struct policyd *p)
{
    if (!p->conf.external_ca || !*p->conf.external_ca)
        return 0;
    X509_STORE *st = X509_STORE_new();
    if (!st) {
        log_err("out of memory");
        return -1;
    }
    /* Only the bundle: never the system's default trust. */
    if (X509_STORE_load_file(st, p->conf.external_ca) != 1) {
        unsigned long err = ERR_get_error();
        log_err("[policyd] external_ca: cannot load %s: %s", p->conf.external_ca,
                err ? ERR_reason_error_string(err) : "no certificate in it");
        ERR_clear_error();
        X509_STORE_free(st);
        return -1;
    }
    X509_STORE_free(p->extca);
    p->extca = st;
    log_info("external-CA mode: device certificates from %s may be registered",
             p->conf.external_ca);
    return 0;
}

void extca_free(struct policyd *p)
{
    X509_STORE_free(p->extca);
    p->extca = NULL;
}

static int extca_refuse(struct policyd *p, uint32_t uid, int64_t dev, struct enroll_err *e,
                        Mgate__ErrorCode code, const char *hwid, const char *why)
{
    char detail[2 * REGISTRY_ERR];
    snprintf(detail, sizeof(detail), "hardware id %s: %s", hwid, why);
    log_notice("certificate registration refused (uid %u): %s", uid, detail);
    reg_audit(p->db, uid, dev, "register-cert-refused", detail, time(NULL));
    return enroll_fail(e, code, "%s", why);
}

/* The chain to the bundle, the validity dates and the TLS client purpose. */
static int extca_verify(struct policyd *p, X509 *cert, char *why)
{
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    if (!ctx || X509_STORE_CTX_init(ctx, p->extca, cert, NULL) != 1) {
        X509_STORE_CTX_free(ctx);
        snprintf(why, CA_ERR, "out of memory");
        return -1;
    }
    X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
    int ok = X509_verify_cert(ctx);
    if (ok != 1)
        snprintf(why, CA_ERR, "the certificate does not verify against external_ca: %s",
                 X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
    X509_STORE_CTX_free(ctx);
    ERR_clear_error();
    return ok == 1 ? 0 : -1;
}

static int extca_serial(X509 *cert, char hex[CA_SERIAL_HEX])
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
    char *h = bn ? BN_bn2hex(bn) : NULL;
    int rc = h && strlen(h) < CA_SERIAL_HEX ? 0 : -1;
    if (rc == 0)
        snprintf(hex, CA_SERIAL_HEX, "%s", h);
    OPENSSL_free(h);
    BN_free(bn);
    return rc;
}

int extca_register(struct policyd *p, uint32_t uid, const Mgate__RegisterCertRequest *rq,
                   struct enroll_result *out, struct enroll_err *e)
{
    memset(out, 0, sizeof(*out));
    const char *hwid = rq->hardware_id ? rq->hardware_id : "";
    if (!enroll_field_ok(hwid) || !rq->cert_pem || !*rq->cert_pem)
        return enroll_fail(e, MGATE__ERROR_CODE__ERR_INVALID,
                           "registration needs a hardware id and a certificate");
    if (!p->extca)
        return enroll_fail(e, MGATE__ERROR_CODE__ERR_UNAVAILABLE,
                           "external-CA mode is off: set [policyd] external_ca");
    struct reg_device d;
    int rc = reg_device_by_hwid(p->db, hwid, &d);
    if (rc == -ENOENT)
        return extca_refuse(p, uid, 0, e, MGATE__ERROR_CODE__ERR_NOT_FOUND, hwid,
                            "no pre-enrolled device has this hardware id");
    if (rc < 0)
        return enroll_fail(e, MGATE__ERROR_CODE__ERR_INTERNAL, "database error");
    char why[CA_ERR];
    int ret = -1;
    BIO *b = BIO_new_mem_buf(rq->cert_pem, -1);
    X509 *cert = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    ERR_clear_error();
    int64_t now = time(NULL);
    if (strcmp(d.state, "pre-enrolled") != 0) {
        snprintf(why, sizeof(why), "device %lld is %s, not pre-enrolled", (long long)d.id, d.state);
        extca_refuse(p, uid, d.id, e, MGATE__ERROR_CODE__ERR_DENIED, hwid, why);
        goto out;
    }
    if (!cert) {
        extca_refuse(p, uid, d.id, e, MGATE__ERROR_CODE__ERR_INVALID, hwid,
                     "not a PEM certificate");
        goto out;
    }
    EVP_PKEY *pk = X509_get0_pubkey(cert);
    if (!pk) {
        extca_refuse(p, uid, d.id, e, MGATE__ERROR_CODE__ERR_INVALID, hwid,
                     "the certificate's public key does not decode");
        goto out;
    }
    if (ca_key_check(pk, "certificate", why) < 0 || extca_verify(p, cert, why) < 0) {
        extca_refuse(p, uid, d.id, e, MGATE__ERROR_CODE__ERR_INVALID, hwid, why);
        goto out;
    }
    if (extca_serial(cert, out->serial) < 0 || ca_fingerprint(cert, out->fingerprint) < 0 ||
        !(out->cert_pem = ca_cert_pem(cert))) {
        enroll_fail(e, MGATE__ERROR_CODE__ERR_INTERNAL, "cannot read the certificate");
        goto out;
    }
    char detail[256], dbwhy[REGISTRY_ERR];
    snprintf(detail, sizeof(detail), "external certificate serial %s, fingerprint %s", out->serial,
             out->fingerprint);
    if (reg_begin(p->db, dbwhy) < 0) {
        enroll_fail(e, MGATE__ERROR_CODE__ERR_INTERNAL, "database busy");
        goto out;
    }
    rc = reg_device_enrolled_from(p->db, d.id, out->serial, out->fingerprint, rq->os_version, true,
                                  now, dbwhy);
    if (rc == 0 && (reg_secret_use(p->db, d.id, dbwhy) < 0 ||
                    reg_audit(p->db, uid, d.id, "register-cert", detail, now) < 0 ||
                    reg_commit(p->db, dbwhy) < 0))
        rc = -EIO;
    if (rc < 0) {
        reg_rollback(p->db);
        if (rc == -EEXIST) {
            snprintf(why, sizeof(why), "a device already has a certificate with serial %s",
                     out->serial);
            extca_refuse(p, uid, d.id, e, MGATE__ERROR_CODE__ERR_EXISTS, hwid, why);
        } else {
            log_err("cannot record the certificate of device %lld: %s", (long long)d.id, dbwhy);
            enroll_fail(e, MGATE__ERROR_CODE__ERR_INTERNAL, "database error");
        }
        goto out;
    }
    log_info("device %lld (%s) enrolled with an external certificate, serial %s", (long long)d.id,
             hwid, out->serial);
    out->id = d.id;
    ret = 0;
out:
    if (ret < 0) {
        free(out->cert_pem);
        out->cert_pem = NULL;
    }
    X509_free(cert);
    reg_device_free(&d);
    return ret;
}

/* mgate's CA with OpenSSL 3. Key generation and signing run on policyd's
 * loop for now: enrollment and revocation are admin-driven (a handful of
 * requests), and an ECDSA P-256 signature costs well under a millisecond. */
#include "ca.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "mgate_conf.h"

char *ca_path(const char *dir, const char *file)
{
    return mgate_path_join(dir, file);
}

static void ca_why_ssl(char *why, const char *what)
{
    unsigned long e = ERR_peek_last_error();
    char buf[160] = "";
    if (e)
        ERR_error_string_n(e, buf, sizeof(buf));
    snprintf(why, CA_ERR, "%s%s%s", what, e ? ": " : "", buf);
    ERR_clear_error();
}

void ca_free(struct ca *ca)
{
    EVP_PKEY_free(ca->key);
    X509_free(ca->cert);
    ca->key = NULL;
    ca->cert = NULL;
}

/* Writes dir/name atomically (temporary file, fsync, rename) with mode. */
static int ca_write_file(const char *dir, const char *name, const char *data, size_t len,
                         mode_t mode, char *why)
{
    char tmpname[64];
    snprintf(tmpname, sizeof(tmpname), ".%s.tmp", name);
    char *tmp = ca_path(dir, tmpname), *path = ca_path(dir, name);
    int ret = -EIO;
    if (!tmp || !path) {
        snprintf(why, CA_ERR, "out of memory");
        goto out;
    }
    unlink(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
        snprintf(why, CA_ERR, "cannot create %s: %s", tmp, strerror(errno));
        goto out;
    }
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    if (off != len || fchmod(fd, mode) < 0 || fsync(fd) < 0) {
        snprintf(why, CA_ERR, "cannot write %s: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        goto out;
    }
    close(fd);
    if (rename(tmp, path) < 0) {
        snprintf(why, CA_ERR, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
        unlink(tmp);
        goto out;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    ret = 0;
out:
    free(tmp);
    free(path);
    return ret;
}

int ca_load(struct ca *ca, const char *dir, char *why)
{
    char *kp = ca_path(dir, "ca.key"), *cp = ca_path(dir, "ca.crt");
    int ret = -1;
    FILE *kf = NULL, *cf = NULL;
    if (!kp || !cp) {
        snprintf(why, CA_ERR, "out of memory");
        goto out;
    }
    if (access(kp, F_OK) < 0 && access(cp, F_OK) < 0) {
        ret = 0;
        goto out;
    }
    kf = fopen(kp, "re");
    cf = fopen(cp, "re");
    if (!kf || !cf) {
        snprintf(why, CA_ERR, "cannot open %s: %s", !kf ? kp : cp, strerror(errno));
        goto out;
    }
    EVP_PKEY *key = PEM_read_PrivateKey(kf, NULL, NULL, NULL);
    X509 *cert = PEM_read_X509(cf, NULL, NULL, NULL);
    if (!key || !cert || X509_check_private_key(cert, key) != 1) {
        ca_why_ssl(why, !key    ? "the CA key does not decode"
                        : !cert ? "the CA certificate does not decode"
                                : "the CA key does not match its certificate");
        EVP_PKEY_free(key);
        X509_free(cert);
        goto out;
    }
    ca_free(ca);
    ca->key = key;
    ca->cert = cert;
    ret = 1;
out:
    if (kf)
        fclose(kf);
    if (cf)
        fclose(cf);
    free(kp);
    free(cp);
    return ret;
}

static int ca_add_ext(X509 *issuer, X509 *cert, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ext)
        return -1;
    int rc = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return rc == 1 ? 0 : -1;
}

static int ca_set_validity(X509 *cert, uint64_t validity_s)
{
    time_t now = time(NULL);
    int days = (int)(validity_s / 86400);
    long secs = (long)(validity_s % 86400);
    return ASN1_TIME_set(X509_getm_notBefore(cert), now) &&
                   ASN1_TIME_adj(X509_getm_notAfter(cert), now, days, secs)
               ? 0
               : -1;
}

static char *ca_pem_of(int (*wr)(BIO *, void *), void *obj)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *out = NULL;
    if (b && wr(b, obj)) {
        char *p;
        long n = BIO_get_mem_data(b, &p);
        out = malloc((size_t)n + 1);
        if (out) {
            memcpy(out, p, (size_t)n);
            out[n] = '\0';
        }
    }
    BIO_free(b);
    return out;
}

static int ca_wr_cert(BIO *b, void *o)
{
    return PEM_write_bio_X509(b, o);
}

static int ca_wr_key(BIO *b, void *o)
{
    return PEM_write_bio_PrivateKey(b, o, NULL, NULL, 0, NULL, NULL);
}

static int ca_wr_crl(BIO *b, void *o)
{
    return PEM_write_bio_X509_CRL(b, o);
}

char *ca_cert_pem(X509 *cert)
{
    return ca_pem_of(ca_wr_cert, cert);
}

int ca_create(struct ca *ca, const char *dir, uint64_t validity_s, bool force, char *why)
{
    char *kp = ca_path(dir, "ca.key"), *cp = ca_path(dir, "ca.crt");
    bool exists = kp && cp && (access(kp, F_OK) == 0 || access(cp, F_OK) == 0);
    free(kp);
    free(cp);
    if (exists && !force) {
        snprintf(why, CA_ERR, "a CA already exists in %s (use force to replace it)", dir);
        return -EEXIST;
    }
    if (daemon_ensure_dir(dir, 0700) < 0) {
        snprintf(why, CA_ERR, "cannot create %s", dir);
        return -EIO;
    }
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    X509 *cert = X509_new();
    unsigned char serial[16];
    char hex[CA_SERIAL_HEX];
    char *kpem = NULL, *cpem = NULL;
    int ret = -EIO;
    if (!key || !cert) {
        ca_why_ssl(why, "cannot generate the CA key");
        goto out;
    }
    X509_NAME *name = X509_get_subject_name(cert);
    BIGNUM *bn = NULL;
    if (ca_random_serial(serial, hex) < 0 || !(bn = BN_bin2bn(serial, sizeof(serial), NULL)) ||
        !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) || !X509_set_version(cert, 2) ||
        !X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)"mgate", -1,
                                    -1, 0) ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)"mgate CA",
                                    -1, -1, 0) ||
        !X509_set_issuer_name(cert, name) || ca_set_validity(cert, validity_s) < 0 ||
        !X509_set_pubkey(cert, key) ||
        ca_add_ext(cert, cert, NID_basic_constraints, "critical,CA:TRUE") < 0 ||
        ca_add_ext(cert, cert, NID_key_usage, "critical,keyCertSign,cRLSign") < 0 ||
        ca_add_ext(cert, cert, NID_subject_key_identifier, "hash") < 0 ||
        ca_add_ext(cert, cert, NID_authority_key_identifier, "keyid:always") < 0 ||
        !X509_sign(cert, key, EVP_sha256())) {
        BN_free(bn);
        ca_why_ssl(why, "cannot build the CA certificate");
        goto out;
    }
    BN_free(bn);
    kpem = ca_pem_of(ca_wr_key, key);
    cpem = ca_cert_pem(cert);
    if (!kpem || !cpem) {
        ca_why_ssl(why, "cannot encode the CA");
        goto out;
    }
    /* The key first: a certificate without its key is never left behind. */
    if (ca_write_file(dir, "ca.key", kpem, strlen(kpem), 0600, why) < 0 ||
        ca_write_file(dir, "ca.crt", cpem, strlen(cpem), 0644, why) < 0)
        goto out;
    ca_free(ca);
    ca->key = key;
    ca->cert = cert;
    key = NULL;
    cert = NULL;
    ret = 0;
out:
    if (kpem) {
        OPENSSL_cleanse(kpem, strlen(kpem));
        free(kpem);
    }
    free(cpem);
    EVP_PKEY_free(key);
    X509_free(cert);
    return ret;
}

int ca_key_check(EVP_PKEY *pk, const char *what, char *why)
{
    int id = EVP_PKEY_get_base_id(pk);
    if (id == EVP_PKEY_EC) {
        char group[64] = "";
        size_t gl = 0;
        EVP_PKEY_get_group_name(pk, group, sizeof(group), &gl);
        if (strcmp(group, "prime256v1") != 0 && strcmp(group, "secp384r1") != 0) {
            snprintf(why, CA_ERR,
                     "%s key type EC %s is not accepted: use ECDSA P-256 or P-384, or RSA of at "
                     "least 2048 bits",
                     what, *group ? group : "(explicit curve)");
            return -1;
        }
    } else if (id == EVP_PKEY_RSA) {
        int bits = EVP_PKEY_get_bits(pk);
        if (bits < 2048) {
            snprintf(why, CA_ERR,
                     "%s key type RSA-%d is not accepted: RSA keys must have at least 2048 bits "
                     "(or use ECDSA P-256 or P-384)",
                     what, bits);
            return -1;
        }
    } else {
        const char *t = EVP_PKEY_get0_type_name(pk);
        snprintf(why, CA_ERR,
                 "%s key type %s is not accepted: use ECDSA P-256 or P-384, or RSA of at least "
                 "2048 bits",
                 what, t ? t : "(unknown)");
        return -1;
    }
    return 0;
}

X509_REQ *ca_csr_check(const char *pem, char *why)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509_REQ *req = b ? PEM_read_bio_X509_REQ(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    if (!req) {
        ca_why_ssl(why, "the CSR is not a PEM certificate request");
        return NULL;
    }
    EVP_PKEY *pk = X509_REQ_get0_pubkey(req);
    if (!pk) {
        ca_why_ssl(why, "the CSR's public key does not decode");
        goto bad;
    }
    if (ca_key_check(pk, "CSR", why) < 0)
        goto bad;
    if (X509_REQ_verify(req, pk) != 1) {
        ca_why_ssl(why, "the CSR's signature does not verify");
        goto bad;
    }
    return req;
bad:
    ERR_clear_error();
    X509_REQ_free(req);
    return NULL;
}

int ca_random_serial(unsigned char out[16], char hex[CA_SERIAL_HEX])
{
    do {
        if (RAND_bytes(out, 16) != 1)
            return -1;
        out[0] &= 0x7f;    /* positive as a DER INTEGER */
    } while (out[0] == 0); /* and always 16 bytes long */
    for (size_t i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02X", out[i]);
    return 0;
}

X509 *ca_issue(const struct ca *ca, X509_REQ *req, const char *cn, const unsigned char serial[16],
               uint64_t validity_s, char *why)
{
    X509 *cert = X509_new();
    BIGNUM *bn = BN_bin2bn(serial, 16, NULL);
    X509_NAME *name = cert ? X509_get_subject_name(cert) : NULL;
    if (!cert || !bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) ||
        !X509_set_version(cert, 2) ||
        !X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)"mgate", -1,
                                    -1, 0) ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
                                    0) ||
        !X509_set_issuer_name(cert, X509_get_subject_name(ca->cert)) ||
        ca_set_validity(cert, validity_s) < 0 ||
        !X509_set_pubkey(cert, X509_REQ_get0_pubkey(req)) ||
        ca_add_ext(ca->cert, cert, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
        ca_add_ext(ca->cert, cert, NID_key_usage, "critical,digitalSignature") < 0 ||
        ca_add_ext(ca->cert, cert, NID_ext_key_usage, "clientAuth") < 0 ||
        ca_add_ext(ca->cert, cert, NID_subject_key_identifier, "hash") < 0 ||
        ca_add_ext(ca->cert, cert, NID_authority_key_identifier, "keyid:always") < 0 ||
        !X509_sign(cert, ca->key, EVP_sha256())) {
        ca_why_ssl(why, "cannot issue the certificate");
        BN_free(bn);
        X509_free(cert);
        return NULL;
    }
    BN_free(bn);
    return cert;
}

int ca_fingerprint(X509 *cert, char hex[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!X509_digest(cert, EVP_sha256(), md, &len) || len != 32)
        return -1;
    for (unsigned i = 0; i < len; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return 0;
}

static int ca_crl_add(X509_CRL *crl, const char *serial, int64_t at)
{
    BIGNUM *bn = NULL;
    X509_REVOKED *r = X509_REVOKED_new();
    ASN1_INTEGER *s = NULL;
    ASN1_TIME *t = ASN1_TIME_set(NULL, (time_t)at);
    int ok = r && t && BN_hex2bn(&bn, serial) && (s = BN_to_ASN1_INTEGER(bn, NULL)) &&
             X509_REVOKED_set_serialNumber(r, s) && X509_REVOKED_set_revocationDate(r, t) &&
             X509_CRL_add0_revoked(crl, r);
    BN_free(bn);
    ASN1_INTEGER_free(s);
    ASN1_TIME_free(t);
    if (!ok)
        X509_REVOKED_free(r);
    return ok ? 0 : -1;
}

char *ca_crl(const struct ca *ca, const char *dir, const char *const *serials,
             const int64_t *revoked_at, size_t n, int64_t crl_number, uint64_t validity_s,
             char *why)
{
    X509_CRL *crl = X509_CRL_new();
    time_t now = time(NULL);
    ASN1_TIME *last = ASN1_TIME_set(NULL, now);
    ASN1_TIME *next =
        ASN1_TIME_adj(NULL, now, (int)(validity_s / 86400), (long)(validity_s % 86400));
    ASN1_INTEGER *num = ASN1_INTEGER_new();
    char *pem = NULL;
    if (!crl || !last || !next || !num || !X509_CRL_set_version(crl, 1) ||
        !X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca->cert)) ||
        !X509_CRL_set1_lastUpdate(crl, last) || !X509_CRL_set1_nextUpdate(crl, next) ||
        !ASN1_INTEGER_set_int64(num, crl_number) ||
        !X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0)) {
        ca_why_ssl(why, "cannot build the CRL");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (ca_crl_add(crl, serials[i], revoked_at[i]) < 0) {
            ca_why_ssl(why, "cannot add a serial to the CRL");
            goto out;
        }
    }
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, ca->cert, NULL, NULL, crl, 0);
    X509_EXTENSION *aki =
        X509V3_EXT_conf_nid(NULL, &ctx, NID_authority_key_identifier, "keyid:always");
    int ok = aki && X509_CRL_add_ext(crl, aki, -1);
    X509_EXTENSION_free(aki);
    if (!ok || !X509_CRL_sort(crl) || !X509_CRL_sign(crl, ca->key, EVP_sha256())) {
        ca_why_ssl(why, "cannot sign the CRL");
        goto out;
    }
    pem = ca_pem_of(ca_wr_crl, crl);
    if (!pem) {
        ca_why_ssl(why, "cannot encode the CRL");
        goto out;
    }
    if (ca_write_file(dir, "ca.crl", pem, strlen(pem), 0644, why) < 0) {
        free(pem);
        pem = NULL;
    }
out:
    X509_CRL_free(crl);
    ASN1_TIME_free(last);
    ASN1_TIME_free(next);
    ASN1_INTEGER_free(num);
    return pem;
}

#include "testpki.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

static void die(const char *what)
{
    fprintf(stderr, "testpki: %s failed\n", what);
    ERR_print_errors_fp(stderr);
    abort();
}

EVP_PKEY *tp_key(const char *kind)
{
    EVP_PKEY *k = NULL;
    if (!strcmp(kind, "rsa2048"))
        k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    else if (!strcmp(kind, "p256"))
        k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    else if (!strcmp(kind, "p384"))
        k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    else if (!strcmp(kind, "p521"))
        k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
    else if (!strcmp(kind, "ed25519"))
        k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    if (!k)
        die(kind);
    return k;
}

static void add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ext || !X509_add_ext(cert, ext, -1))
        die("extension");
    X509_EXTENSION_free(ext);
}

X509 *tp_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
              const struct tp_cert_opts *opts)
{
    static const struct tp_cert_opts defaults = {.not_before = -3600, .not_after = 86400};
    if (!opts)
        opts = &defaults;
    X509 *x = X509_new();
    if (!x || !X509_set_version(x, X509_VERSION_3))
        die("X509_new");
    ASN1_INTEGER_set(X509_get_serialNumber(x), opts->serial ? opts->serial : 4242);
    X509_gmtime_adj(X509_getm_notBefore(x), opts->not_before);
    X509_gmtime_adj(X509_getm_notAfter(x), opts->not_after);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"mgate test", -1, -1,
                               0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
    if (!X509_set_pubkey(x, key))
        die("set_pubkey");
    X509 *iss = issuer ? issuer : x;
    if (opts->ca) {
        add_ext(x, iss, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(x, iss, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature");
    } else {
        add_ext(x, iss, NID_basic_constraints, "CA:FALSE");
        add_ext(x, iss, NID_key_usage,
                opts->no_digital_signature ? "critical,keyEncipherment"
                                           : "critical,digitalSignature");
    }
    add_ext(x, iss, NID_subject_key_identifier, "hash");
    if (issuer)
        add_ext(x, iss, NID_authority_key_identifier, "keyid:always");
    char san[512] = "";
    size_t off = 0;
    if (opts->san_dns)
        off += (size_t)snprintf(san + off, sizeof(san) - off, "%sDNS:%s", off ? "," : "",
                                opts->san_dns);
    if (opts->san_email)
        off += (size_t)snprintf(san + off, sizeof(san) - off, "%semail:%s", off ? "," : "",
                                opts->san_email);
    if (opts->san_ip)
        off +=
            (size_t)snprintf(san + off, sizeof(san) - off, "%sIP:%s", off ? "," : "", opts->san_ip);
    if (off)
        add_ext(x, iss, NID_subject_alt_name, san);
    EVP_PKEY *signer = issuer ? issuer_key : key;
    const EVP_MD *md = EVP_PKEY_is_a(signer, "ED25519") ? NULL : EVP_sha256();
    if (!X509_sign(x, signer, md))
        die("X509_sign");
    return x;
}

uint8_t *tp_der(X509 *cert, size_t *len)
{
    uint8_t *der = NULL;
    int n = i2d_X509(cert, &der);
    if (n <= 0)
        die("i2d_X509");
    *len = (size_t)n;
    return der;
}

void tp_write_certs(const char *path, X509 *const *certs, size_t n)
{
    FILE *f = fopen(path, "w");
    if (!f)
        die(path);
    for (size_t i = 0; i < n; i++)
        if (!PEM_write_X509(f, certs[i]))
            die("PEM_write_X509");
    fclose(f);
}

void tp_write_key(const char *path, EVP_PKEY *key)
{
    FILE *f = fopen(path, "w");
    if (!f || !PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL))
        die("PEM_write_PrivateKey");
    fclose(f);
}

X509_CRL *tp_crl(X509 *issuer, EVP_PKEY *issuer_key, long revoked_serial)
{
    X509_CRL *crl = X509_CRL_new();
    X509_REVOKED *rev = X509_REVOKED_new();
    ASN1_INTEGER *serial = ASN1_INTEGER_new();
    ASN1_TIME *t = X509_gmtime_adj(NULL, -60), *next = X509_gmtime_adj(NULL, 86400);
    if (!crl || !rev || !serial || !t || !next)
        die("CRL alloc");
    X509_CRL_set_version(crl, 1);
    X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer));
    X509_CRL_set1_lastUpdate(crl, t);
    X509_CRL_set1_nextUpdate(crl, next);
    ASN1_INTEGER_set(serial, revoked_serial);
    X509_REVOKED_set_serialNumber(rev, serial);
    X509_REVOKED_set_revocationDate(rev, t);
    X509_CRL_add0_revoked(crl, rev);
    X509_CRL_sort(crl);
    if (!X509_CRL_sign(crl, issuer_key, EVP_sha256()))
        die("X509_CRL_sign");
    ASN1_INTEGER_free(serial);
    ASN1_TIME_free(t);
    ASN1_TIME_free(next);
    return crl;
}

void tp_write_crl(const char *path, X509_CRL *crl)
{
    FILE *f = fopen(path, "w");
    if (!f || !PEM_write_X509_CRL(f, crl))
        die("PEM_write_X509_CRL");
    fclose(f);
}

size_t tp_unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    int hi = -1;
    for (; *hex; hex++) {
        if (isspace((unsigned char)*hex))
            continue;
        int v = isdigit((unsigned char)*hex) ? *hex - '0' : tolower((unsigned char)*hex) - 'a' + 10;
        if (hi < 0) {
            hi = v;
        } else {
            if (n >= cap)
                die("tp_unhex capacity");
            out[n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    return n;
}

void tp_ref_prf_plus(const char *md, const uint8_t *key, size_t klen, const uint8_t *seed,
                     size_t slen, uint8_t *out, size_t out_len)
{
    uint8_t t[EVP_MAX_MD_SIZE];
    unsigned int tl = 0;
    size_t done = 0;
    uint8_t *buf = malloc(EVP_MAX_MD_SIZE + slen + 1);
    if (!buf)
        die("malloc");
    for (unsigned n = 1; done < out_len; n++) {
        size_t bl = 0;
        memcpy(buf, t, tl);
        bl += tl;
        memcpy(buf + bl, seed, slen);
        bl += slen;
        buf[bl++] = (uint8_t)n;
        if (!HMAC(EVP_get_digestbyname(md), key, (int)klen, buf, bl, t, &tl))
            die("HMAC");
        size_t take = out_len - done < tl ? out_len - done : tl;
        memcpy(out + done, t, take);
        done += take;
    }
    free(buf);
}

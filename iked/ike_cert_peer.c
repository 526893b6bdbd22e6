/* Peer certificate verification and the identity it carries. */
#include "ike_cert.h"

#include "ike_crypto_int.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

struct ike_cert_peer {
    X509 *cert;
    GENERAL_NAMES *sans; /* decoded once; NULL when there are none */
    uint8_t fingerprint[IKE_CERT_FINGERPRINT_LEN];
};

static X509 *parse_der(const ike_span *s)
{
    if (!s->ptr || !s->len || s->len > LONG_MAX)
        return NULL;
    const unsigned char *p = s->ptr;
    X509 *x = d2i_X509(NULL, &p, (long)s->len);
    if (x && (size_t)(p - s->ptr) != s->len) { /* trailing garbage */
        X509_free(x);
        x = NULL;
    }
    return x;
}

static ike_crypto_err map_verify_error(int e)
{
    switch (e) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
        return IKE_CRYPTO_ERR_CERT_EXPIRED;
    case X509_V_ERR_CERT_NOT_YET_VALID:
        return IKE_CRYPTO_ERR_CERT_NOT_YET_VALID;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_CERT_UNTRUSTED:
        return IKE_CRYPTO_ERR_CERT_UNTRUSTED;
    case X509_V_ERR_CERT_REVOKED:
        return IKE_CRYPTO_ERR_CERT_REVOKED;
    default:
        return IKE_CRYPTO_ERR_CERT_INVALID;
    }
}

static void name_text(X509_NAME *name, char *buf, size_t len)
{
    if (!buf || !len)
        return;
    buf[0] = '\0';
    BIO *bio = BIO_new(BIO_s_mem());
    if (!bio)
        return;
    if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) >= 0) {
        int n = BIO_read(bio, buf, (int)(len - 1 > INT32_MAX ? INT32_MAX : len - 1));
        buf[n > 0 ? n : 0] = '\0';
    }
    BIO_free(bio);
}

static void set_detail(char *detail, size_t len, const char *why, X509 *cert, int depth)
{
    if (!detail || !len)
        return;
    char subj[256] = "";
    if (cert)
        name_text(X509_get_subject_name(cert), subj, sizeof(subj));
    snprintf(detail, len, "%s (depth %d, subject \"%s\")", why, depth, subj);
}

/* Runs OpenSSL path validation; returns our error code. */
static ike_crypto_err verify_path(const ike_cert_store *store, X509 *ee, STACK_OF(X509) * untrusted,
                                  time_t at, char *detail, size_t detail_len)
{
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    if (!ctx || !X509_STORE_CTX_init(ctx, ike_cert_store_x509(store), ee, untrusted)) {
        X509_STORE_CTX_free(ctx);
        return IKE_CRYPTO_ERR_INTERNAL;
    }
    if (at)
        X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), at);
    ike_crypto_err err = IKE_CRYPTO_OK;
    if (X509_verify_cert(ctx) != 1) {
        int e = X509_STORE_CTX_get_error(ctx);
        err = map_verify_error(e);
        set_detail(detail, detail_len, X509_verify_cert_error_string(e),
                   X509_STORE_CTX_get_current_cert(ctx), X509_STORE_CTX_get_error_depth(ctx));
    }
    X509_STORE_CTX_free(ctx);
    return err;
}

ike_crypto_err ike_cert_verify(const ike_cert_store *store, const ike_span *certs, size_t n,
                               time_t at, ike_cert_peer **out, char *detail, size_t detail_len)
{
    if (detail && detail_len)
        detail[0] = '\0';
    if (!store || !certs || !n || !out)
        return IKE_CRYPTO_ERR_INVALID_ARG;
    *out = NULL;

    ike_cert_peer *peer = calloc(1, sizeof(*peer));
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    ike_crypto_err err = peer && untrusted ? IKE_CRYPTO_OK : IKE_CRYPTO_ERR_INTERNAL;
    if (err == IKE_CRYPTO_OK && !(peer->cert = parse_der(&certs[0]))) {
        err = IKE_CRYPTO_ERR_CERT_MALFORMED;
        set_detail(detail, detail_len, "end-entity certificate does not parse", NULL, 0);
    }
    for (size_t i = 1; err == IKE_CRYPTO_OK && i < n; i++) {
        X509 *x = parse_der(&certs[i]);
        if (!x) {
            err = IKE_CRYPTO_ERR_CERT_MALFORMED;
            set_detail(detail, detail_len, "intermediate certificate does not parse", NULL, (int)i);
        } else if (!sk_X509_push(untrusted, x)) {
            X509_free(x);
            err = IKE_CRYPTO_ERR_INTERNAL;
        }
    }
    if (err == IKE_CRYPTO_OK && !X509_get0_pubkey(peer->cert)) {
        err = IKE_CRYPTO_ERR_CERT_MALFORMED;
        set_detail(detail, detail_len, "unsupported public key", peer->cert, 0);
    }
    if (err == IKE_CRYPTO_OK)
        err = verify_path(store, peer->cert, untrusted, at, detail, detail_len);
    if (err == IKE_CRYPTO_OK && (X509_get_extension_flags(peer->cert) & EXFLAG_KUSAGE) &&
        !(X509_get_key_usage(peer->cert) & KU_DIGITAL_SIGNATURE)) {
        /* No keyUsage extension means no restriction (RFC 5280 §4.2.1.3). */
        err = IKE_CRYPTO_ERR_CERT_KEY_USAGE;
        set_detail(detail, detail_len, "key usage lacks digitalSignature", peer->cert, 0);
    }
    unsigned int fl = 0;
    if (err == IKE_CRYPTO_OK && !EVP_Digest(certs[0].ptr, certs[0].len, peer->fingerprint, &fl,
                                            ike_crypto_md(IKE_MD_SHA256), NULL))
        err = IKE_CRYPTO_ERR_INTERNAL;
    if (err == IKE_CRYPTO_OK)
        peer->sans = X509_get_ext_d2i(peer->cert, NID_subject_alt_name, NULL, NULL);
    sk_X509_pop_free(untrusted, X509_free);
    ERR_clear_error(); /* reasons are reported through err and detail */
    if (err != IKE_CRYPTO_OK) {
        ike_cert_peer_free(peer);
        return err;
    }
    *out = peer;
    return IKE_CRYPTO_OK;
}

EVP_PKEY *ike_cert_peer_key(const ike_cert_peer *peer)
{
    return peer ? X509_get0_pubkey(peer->cert) : NULL;
}

X509 *ike_cert_peer_cert(const ike_cert_peer *peer)
{
    return peer ? peer->cert : NULL;
}

const uint8_t *ike_cert_peer_subject_der(const ike_cert_peer *peer, size_t *len)
{
    const unsigned char *der = NULL;
    size_t dlen = 0;
    if (!peer || !X509_NAME_get0_der(X509_get_subject_name(peer->cert), &der, &dlen))
        return NULL;
    if (len)
        *len = dlen;
    return der;
}

void ike_cert_peer_subject_text(const ike_cert_peer *peer, char *buf, size_t len)
{
    if (peer)
        name_text(X509_get_subject_name(peer->cert), buf, len);
    else if (buf && len)
        buf[0] = '\0';
}

void ike_cert_peer_serial_hex(const ike_cert_peer *peer, char *buf, size_t len)
{
    if (!buf || !len)
        return;
    buf[0] = '\0';
    if (!peer)
        return;
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(peer->cert), NULL);
    char *hex = bn ? BN_bn2hex(bn) : NULL;
    if (hex)
        snprintf(buf, len, "%s", hex);
    OPENSSL_free(hex);
    BN_free(bn);
}

const uint8_t *ike_cert_peer_fingerprint(const ike_cert_peer *peer)
{
    return peer ? peer->fingerprint : NULL;
}

/* Maps a GENERAL_NAME of a type we expose; false for the others. */
static bool san_of(const GENERAL_NAME *gn, enum ike_cert_san_type *type, const uint8_t **data,
                   size_t *len)
{
    const ASN1_STRING *s;
    switch (gn->type) {
    case GEN_DNS:
        *type = IKE_SAN_DNS;
        s = gn->d.dNSName;
        break;
    case GEN_EMAIL:
        *type = IKE_SAN_EMAIL;
        s = gn->d.rfc822Name;
        break;
    case GEN_IPADD:
        *type = IKE_SAN_IP;
        s = gn->d.iPAddress;
        break;
    default:
        return false;
    }
    *data = ASN1_STRING_get0_data(s);
    *len = (size_t)ASN1_STRING_length(s);
    return true;
}

size_t ike_cert_peer_san_count(const ike_cert_peer *peer)
{
    size_t n = 0;
    enum ike_cert_san_type t;
    const uint8_t *d;
    size_t l;
    for (int i = 0; peer && i < sk_GENERAL_NAME_num(peer->sans); i++)
        n += san_of(sk_GENERAL_NAME_value(peer->sans, i), &t, &d, &l);
    return n;
}

bool ike_cert_peer_san(const ike_cert_peer *peer, size_t idx, enum ike_cert_san_type *type,
                       const uint8_t **data, size_t *len)
{
    if (!peer || !type || !data || !len)
        return false;
    size_t seen = 0;
    for (int i = 0; i < sk_GENERAL_NAME_num(peer->sans); i++) {
        if (san_of(sk_GENERAL_NAME_value(peer->sans, i), type, data, len) && seen++ == idx)
            return true;
    }
    return false;
}

static bool san_matches(const ike_cert_peer *peer, enum ike_cert_san_type want, const uint8_t *id,
                        size_t id_len)
{
    enum ike_cert_san_type t;
    const uint8_t *d;
    size_t l;
    for (size_t i = 0; ike_cert_peer_san(peer, i, &t, &d, &l); i++) {
        if (t != want || l != id_len)
            continue;
        if (t == IKE_SAN_IP ? memcmp(d, id, l) == 0
                            : strncasecmp((const char *)d, (const char *)id, l) == 0)
            return true;
    }
    return false;
}

static bool dn_matches(const ike_cert_peer *peer, const uint8_t *id, size_t id_len)
{
    size_t slen = 0;
    const uint8_t *subj = ike_cert_peer_subject_der(peer, &slen);
    if (subj && slen == id_len && memcmp(subj, id, slen) == 0)
        return true;
    /* Same name, other string types: compare canonical forms. */
    const unsigned char *p = id;
    X509_NAME *name = d2i_X509_NAME(NULL, &p, (long)id_len);
    bool ok = name && (size_t)(p - id) == id_len &&
              X509_NAME_cmp(name, X509_get_subject_name(peer->cert)) == 0;
    X509_NAME_free(name);
    ERR_clear_error();
    return ok;
}

ike_crypto_err ike_cert_peer_check_id(const ike_cert_peer *peer, uint8_t id_type, const uint8_t *id,
                                      size_t id_len)
{
    if (!peer || !id || !id_len || id_len > LONG_MAX)
        return IKE_CRYPTO_ERR_INVALID_ARG;
    bool ok = false;
    switch (id_type) {
    case IKE_ID_DER_ASN1_DN:
        ok = dn_matches(peer, id, id_len);
        break;
    case IKE_ID_FQDN:
        ok = san_matches(peer, IKE_SAN_DNS, id, id_len);
        break;
    case IKE_ID_RFC822_ADDR:
        ok = san_matches(peer, IKE_SAN_EMAIL, id, id_len);
        break;
    case IKE_ID_IPV4_ADDR:
        ok = id_len == 4 && san_matches(peer, IKE_SAN_IP, id, 4);
        break;
    case IKE_ID_IPV6_ADDR:
        ok = id_len == 16 && san_matches(peer, IKE_SAN_IP, id, 16);
        break;
    default:
        break;
    }
    return ok ? IKE_CRYPTO_OK : IKE_CRYPTO_ERR_ID_MISMATCH;
}

void ike_cert_peer_free(ike_cert_peer *peer)
{
    if (!peer)
        return;
    GENERAL_NAMES_free(peer->sans);
    X509_free(peer->cert);
    free(peer);
}

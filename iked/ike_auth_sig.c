/* Signature creation and verification for AUTH payloads (RFC 7296 §3.8,
 * RFC 4754 for methods 9-11, RFC 7427 for method 14, RFC 8420 for Ed25519). */
#include "ike_auth.h"

#include "ike_crypto_int.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

enum key_kind { KEY_RSA, KEY_EC, KEY_ED25519 };

/* DER AlgorithmIdentifiers (RFC 7427 Appendix A). The PKCS#1 v1.5 ones
 * carry NULL parameters, the ECDSA and Ed25519 ones none. The RSASSA-PSS
 * ones state hash, MGF1 with the same hash and salt = hash length, and
 * leave the trailer field at its DEFAULT (DER omits defaults). */
static const uint8_t algid_rsa_sha256[] = {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
                                           0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00};
static const uint8_t algid_rsa_sha384[] = {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
                                           0xf7, 0x0d, 0x01, 0x01, 0x0c, 0x05, 0x00};
static const uint8_t algid_rsa_sha512[] = {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
                                           0xf7, 0x0d, 0x01, 0x01, 0x0d, 0x05, 0x00};
static const uint8_t algid_ecdsa_sha256[] = {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86,
                                             0x48, 0xce, 0x3d, 0x04, 0x03, 0x02};
static const uint8_t algid_ecdsa_sha384[] = {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86,
                                             0x48, 0xce, 0x3d, 0x04, 0x03, 0x03};
static const uint8_t algid_ecdsa_sha512[] = {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86,
                                             0x48, 0xce, 0x3d, 0x04, 0x03, 0x04};
static const uint8_t algid_ed25519[] = {0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70};

#define PSS_ALGID(h, salt)                                                                         \
    {                                                                                              \
        0x30, 0x41, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a, 0x30, 0x34,  \
            0xa0, 0x0f, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,    \
            (h), 0x05, 0x00, 0xa1, 0x1c, 0x30, 0x1a, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7,     \
            0x0d, 0x01, 0x01, 0x08, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03,    \
            0x04, 0x02, (h), 0x05, 0x00, 0xa2, 0x03, 0x02, 0x01, (salt)                            \
    }
static const uint8_t algid_pss_sha256[] = PSS_ALGID(0x01, 32);
static const uint8_t algid_pss_sha384[] = PSS_ALGID(0x02, 48);
static const uint8_t algid_pss_sha512[] = PSS_ALGID(0x03, 64);

struct scheme {
    uint8_t method;
    enum key_kind key;
    enum ike_md md;
    int curve_nid; /* methods 9-11: the curve the method fixes */
    bool pss;
    const uint8_t *algid;
    size_t algid_len;
    const char *name;
};

#define ALG(a) a, sizeof(a)
static const struct scheme schemes[IKE_SIG_SCHEME_COUNT] = {
    [IKE_SIG_RSA_PKCS1_SHA1] = {IKE_AUTH_RSA_SIG, KEY_RSA, IKE_MD_SHA1, 0, false, NULL, 0,
                                "rsa-pkcs1-sha1"},
    [IKE_SIG_ECDSA_P256_SHA256] = {IKE_AUTH_ECDSA_SHA256_P256, KEY_EC, IKE_MD_SHA256,
                                   NID_X9_62_prime256v1, false, NULL, 0, "ecdsa-p256-sha256"},
    [IKE_SIG_ECDSA_P384_SHA384] = {IKE_AUTH_ECDSA_SHA384_P384, KEY_EC, IKE_MD_SHA384, NID_secp384r1,
                                   false, NULL, 0, "ecdsa-p384-sha384"},
    [IKE_SIG_ECDSA_P521_SHA512] = {IKE_AUTH_ECDSA_SHA512_P521, KEY_EC, IKE_MD_SHA512, NID_secp521r1,
                                   false, NULL, 0, "ecdsa-p521-sha512"},
    [IKE_SIG_DS_RSA_PKCS1_SHA256] = {IKE_AUTH_DIGITAL_SIGNATURE, KEY_RSA, IKE_MD_SHA256, 0, false,
                                     ALG(algid_rsa_sha256), "ds-rsa-pkcs1-sha256"},
    [IKE_SIG_DS_RSA_PKCS1_SHA384] = {IKE_AUTH_DIGITAL_SIGNATURE, KEY_RSA, IKE_MD_SHA384, 0, false,
                                     ALG(algid_rsa_sha384), "ds-rsa-pkcs1-sha384"},
    [IKE_SIG_DS_RSA_PKCS1_SHA512] = {IKE_AUTH_DIGITAL_SIGNATURE, KEY_RSA, IKE_MD_SHA512, 0, false,
                                     ALG(algid_rsa_sha512), "ds-rsa-pkcs1-sha512"},
    [IKE_SIG_DS_RSA_PSS_SHA256] = {IKE_AUTH_DIGITAL_SIGNATURE, KEY_RSA, IKE_MD_SHA256, 0, true,
                                   ALG(algid_pss_sha256), "ds-rsa-pss-sha256"},
    [IKE_SIG_DS_RSA_PSS_SHA384] = {IKE_AUTH_DIGITAL_SIGNATURE, KEY_RSA, IKE_MD_SHA384, 0, true,
                                   ALG(algid_pss_sha384), "ds-rsa-pss-sha384"},
    [IKE_SIG_DS_RSA_PSS_SHA512] = {IKE_AUTH_DIGITAL_SIGNATURE, KEY_RSA, IKE_MD_SHA512, 0, true,
                                   ALG(algid_pss_sha512), "ds-rsa-pss-sha512"},
    [IKE_SIG_DS_ECDSA_SHA256] = {IKE_AUTH_DIGITAL_SIGNATURE, KEY_EC, IKE_MD_SHA256, 0, false,
                                 ALG(algid_ecdsa_sha256), "ds-ecdsa-sha256"},
    [IKE_SIG_DS_ECDSA_SHA384] = {IKE_AUTH_DIGITAL_SIGNATURE, KEY_EC, IKE_MD_SHA384, 0, false,
                                 ALG(algid_ecdsa_sha384), "ds-ecdsa-sha384"},
    [IKE_SIG_DS_ECDSA_SHA512] = {IKE_AUTH_DIGITAL_SIGNATURE, KEY_EC, IKE_MD_SHA512, 0, false,
                                 ALG(algid_ecdsa_sha512), "ds-ecdsa-sha512"},
    [IKE_SIG_DS_ED25519] = {IKE_AUTH_DIGITAL_SIGNATURE, KEY_ED25519, IKE_MD_NONE, 0, false,
                            ALG(algid_ed25519), "ds-ed25519"},
};

/* RSA-PSS parameters actually used (a peer may choose others than ours). */
struct pss {
    enum ike_md mgf1;
    int saltlen;
};

static const struct scheme *scheme_get(ike_sig_scheme s)
{
    if (s <= IKE_SIG_NONE || s >= IKE_SIG_SCHEME_COUNT)
        return NULL;
    return &schemes[s];
}

uint8_t ike_auth_scheme_method(ike_sig_scheme scheme)
{
    const struct scheme *s = scheme_get(scheme);
    return s ? s->method : 0;
}

const char *ike_auth_scheme_name(ike_sig_scheme scheme)
{
    const struct scheme *s = scheme_get(scheme);
    return s ? s->name : "none";
}

static int curve_nid(EVP_PKEY *key)
{
    char name[64];
    size_t len = 0;
    if (!EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof(name), &len))
        return NID_undef;
    int nid = OBJ_sn2nid(name);
    return nid != NID_undef ? nid : EC_curve_nist2nid(name);
}

static bool key_fits(EVP_PKEY *key, const struct scheme *s)
{
    switch (s->key) {
    case KEY_RSA:
        /* An RSA-PSS-restricted key cannot make PKCS#1 v1.5 signatures. */
        return EVP_PKEY_is_a(key, "RSA") || (s->pss && EVP_PKEY_is_a(key, "RSA-PSS"));
    case KEY_EC:
        return EVP_PKEY_is_a(key, "EC") && (!s->curve_nid || curve_nid(key) == s->curve_nid);
    case KEY_ED25519:
        return EVP_PKEY_is_a(key, "ED25519");
    }
    return false;
}

/* Octets of r and s in the raw encoding of methods 9-11 (RFC 4754 §7). */
static size_t ec_field_octets(int nid)
{
    switch (nid) {
    case NID_X9_62_prime256v1:
        return 32;
    case NID_secp384r1:
        return 48;
    case NID_secp521r1:
        return 66;
    default:
        return 0;
    }
}

size_t ike_auth_sig_max_len(EVP_PKEY *key)
{
    if (!key)
        return 0;
    int size = EVP_PKEY_get_size(key); /* DER ECDSA bound, RSA modulus, 64 */
    if (size <= 0)
        return 0;
    /* ASN.1 length octet + the longest AlgorithmIdentifier + signature. */
    return 1 + sizeof(algid_pss_sha512) + (size_t)size;
}

/* A digest-sign/verify context for key, set up for scheme s. */
static EVP_MD_CTX *sig_ctx(EVP_PKEY *key, const struct scheme *s, const struct pss *pss, bool sign)
{
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    const char *md = s->md == IKE_MD_NONE ? NULL : ike_crypto_md_name(s->md);
    if (!mctx)
        return NULL;
    int ok = sign ? EVP_DigestSignInit_ex(mctx, &pctx, md, NULL, NULL, key, NULL)
                  : EVP_DigestVerifyInit_ex(mctx, &pctx, md, NULL, NULL, key, NULL);
    if (ok > 0 && s->pss) {
        ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
             EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, ike_crypto_md_name(pss->mgf1), NULL) > 0 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, pss->saltlen) > 0;
    }
    if (ok <= 0) {
        EVP_MD_CTX_free(mctx);
        return NULL;
    }
    return mctx;
}

/* DER ECDSA-Sig-Value -> r || s, each padded to n octets. */
static bool der_to_raw(const uint8_t *der, size_t der_len, size_t n, uint8_t *out)
{
    const uint8_t *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    if (!sig)
        return false;
    const BIGNUM *r, *s;
    ECDSA_SIG_get0(sig, &r, &s);
    bool ok = BN_bn2binpad(r, out, (int)n) == (int)n && BN_bn2binpad(s, out + n, (int)n) == (int)n;
    ECDSA_SIG_free(sig);
    return ok;
}

/* r || s -> DER ECDSA-Sig-Value, malloc'd by OpenSSL. */
static int raw_to_der(const uint8_t *raw, size_t n, uint8_t **der)
{
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(raw, (int)n, NULL), *s = BN_bin2bn(raw + n, (int)n, NULL);
    int len = -1;
    if (sig && r && s && ECDSA_SIG_set0(sig, r, s)) {
        r = s = NULL; /* owned by sig now */
        len = i2d_ECDSA_SIG(sig, der);
    }
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return len;
}

ike_crypto_err ike_auth_sign(EVP_PKEY *key, ike_sig_scheme scheme, const uint8_t *octets,
                             size_t octets_len, uint8_t *auth_data, size_t cap, size_t *auth_len)
{
    const struct scheme *s = scheme_get(scheme);
    if (!key || !s || !octets || !auth_data || !auth_len)
        return IKE_CRYPTO_ERR_INVALID_ARG;
    *auth_len = 0;
    if (!key_fits(key, s))
        return IKE_CRYPTO_ERR_KEY_MISMATCH;
    if (cap < ike_auth_sig_max_len(key))
        return IKE_CRYPTO_ERR_INVALID_ARG;

    size_t off = 0;
    if (s->algid) {
        auth_data[0] = (uint8_t)s->algid_len;
        memcpy(auth_data + 1, s->algid, s->algid_len);
        off = 1 + s->algid_len;
    }
    /* Ours: MGF1 with the signing hash, salt as long as the hash. */
    struct pss pss = {s->md, 0};
    if (s->pss)
        pss.saltlen = EVP_MD_get_size(ike_crypto_md(s->md));
    EVP_MD_CTX *mctx = sig_ctx(key, s, &pss, true);
    if (!mctx)
        return IKE_CRYPTO_ERR_INTERNAL;
    size_t siglen = cap - off;
    bool ok = EVP_DigestSign(mctx, auth_data + off, &siglen, octets, octets_len) > 0;
    EVP_MD_CTX_free(mctx);
    if (!ok)
        return IKE_CRYPTO_ERR_INTERNAL;

    if (s->curve_nid) {
        /* Methods 9-11 want r || s, not DER; convert in a copy since
         * the two encodings overlap in auth_data. */
        size_t n = ec_field_octets(s->curve_nid);
        uint8_t der[160];
        if (siglen > sizeof(der) || 2 * n > cap)
            return IKE_CRYPTO_ERR_INTERNAL;
        memcpy(der, auth_data, siglen);
        if (!der_to_raw(der, siglen, n, auth_data))
            return IKE_CRYPTO_ERR_INTERNAL;
        siglen = 2 * n;
    }
    *auth_len = off + siglen;
    return IKE_CRYPTO_OK;
}

static enum ike_md md_from_nid(int nid)
{
    switch (nid) {
    case NID_sha256:
        return IKE_MD_SHA256;
    case NID_sha384:
        return IKE_MD_SHA384;
    case NID_sha512:
        return IKE_MD_SHA512;
    default:
        return IKE_MD_NONE; /* SHA-1 included: never accepted in method 14 */
    }
}

/* Hash of a hash AlgorithmIdentifier whose parameters are absent or NULL. */
static enum ike_md hash_algor_md(const X509_ALGOR *alg)
{
    const ASN1_OBJECT *obj;
    int ptype;
    const void *pval;
    X509_ALGOR_get0(&obj, &ptype, &pval, alg);
    if (ptype != V_ASN1_UNDEF && ptype != V_ASN1_NULL)
        return IKE_MD_NONE;
    return md_from_nid(OBJ_obj2nid(obj));
}

/* RSASSA-PSS-params (RFC 4055 §3.1): our hashes only, MGF1 only, trailer 1. */
static ike_crypto_err parse_pss(const X509_ALGOR *alg, ike_sig_scheme *scheme, struct pss *pss)
{
    const ASN1_OBJECT *obj;
    int ptype;
    const void *pval;
    X509_ALGOR_get0(&obj, &ptype, &pval, alg);
    if (ptype != V_ASN1_SEQUENCE)
        return IKE_CRYPTO_ERR_UNSUPPORTED; /* absent means SHA-1 defaults */
    const ASN1_STRING *seq = pval;
    const unsigned char *p = ASN1_STRING_get0_data(seq);
    RSA_PSS_PARAMS *prm = d2i_RSA_PSS_PARAMS(NULL, &p, ASN1_STRING_length(seq));
    if (!prm)
        return IKE_CRYPTO_ERR_MALFORMED;
    ike_crypto_err err = IKE_CRYPTO_ERR_UNSUPPORTED;
    enum ike_md md = prm->hashAlgorithm ? hash_algor_md(prm->hashAlgorithm) : IKE_MD_NONE;
    enum ike_md mgf1 = IKE_MD_NONE;
    if (prm->maskGenAlgorithm && OBJ_obj2nid(prm->maskGenAlgorithm->algorithm) == NID_mgf1) {
        const ASN1_OBJECT *mobj;
        int mtype;
        const void *mval;
        X509_ALGOR_get0(&mobj, &mtype, &mval, prm->maskGenAlgorithm);
        if (mtype == V_ASN1_SEQUENCE) {
            const unsigned char *q = ASN1_STRING_get0_data(mval);
            X509_ALGOR *mh = d2i_X509_ALGOR(NULL, &q, ASN1_STRING_length(mval));
            if (mh)
                mgf1 = hash_algor_md(mh);
            X509_ALGOR_free(mh);
        }
    }
    long salt = prm->saltLength ? ASN1_INTEGER_get(prm->saltLength) : 20;
    long trailer = prm->trailerField ? ASN1_INTEGER_get(prm->trailerField) : 1;
    if (md != IKE_MD_NONE && mgf1 != IKE_MD_NONE && salt >= 0 && salt <= 1024 && trailer == 1) {
        *scheme = (ike_sig_scheme)(IKE_SIG_DS_RSA_PSS_SHA256 + (md - IKE_MD_SHA256));
        pss->mgf1 = mgf1;
        pss->saltlen = (int)salt;
        err = IKE_CRYPTO_OK;
    }
    RSA_PSS_PARAMS_free(prm);
    return err;
}

/* Maps a method 14 AlgorithmIdentifier to a scheme (and PSS parameters). */
static ike_crypto_err parse_algid(const uint8_t *der, size_t len, ike_sig_scheme *scheme,
                                  struct pss *pss)
{
    const unsigned char *p = der;
    X509_ALGOR *alg = d2i_X509_ALGOR(NULL, &p, (long)len);
    if (!alg)
        return IKE_CRYPTO_ERR_MALFORMED;
    if ((size_t)(p - der) != len) {
        X509_ALGOR_free(alg);
        return IKE_CRYPTO_ERR_MALFORMED;
    }
    const ASN1_OBJECT *obj;
    int ptype;
    const void *pval;
    X509_ALGOR_get0(&obj, &ptype, &pval, alg);
    int nid = OBJ_obj2nid(obj);
    bool null_or_absent = ptype == V_ASN1_UNDEF || ptype == V_ASN1_NULL;
    ike_crypto_err err = IKE_CRYPTO_OK;
    switch (nid) {
    case NID_sha256WithRSAEncryption:
        *scheme = IKE_SIG_DS_RSA_PKCS1_SHA256;
        break;
    case NID_sha384WithRSAEncryption:
        *scheme = IKE_SIG_DS_RSA_PKCS1_SHA384;
        break;
    case NID_sha512WithRSAEncryption:
        *scheme = IKE_SIG_DS_RSA_PKCS1_SHA512;
        break;
    case NID_ecdsa_with_SHA256:
        *scheme = IKE_SIG_DS_ECDSA_SHA256;
        break;
    case NID_ecdsa_with_SHA384:
        *scheme = IKE_SIG_DS_ECDSA_SHA384;
        break;
    case NID_ecdsa_with_SHA512:
        *scheme = IKE_SIG_DS_ECDSA_SHA512;
        break;
    case NID_ED25519:
        *scheme = IKE_SIG_DS_ED25519;
        break;
    case NID_rsassaPss:
        err = parse_pss(alg, scheme, pss);
        break;
    default:
        err = IKE_CRYPTO_ERR_UNSUPPORTED;
        break;
    }
    if (err == IKE_CRYPTO_OK && nid != NID_rsassaPss) {
        /* ECDSA and Ed25519 identifiers have no parameters at all. */
        bool ok = schemes[*scheme].key == KEY_RSA ? null_or_absent : ptype == V_ASN1_UNDEF;
        if (!ok)
            err = IKE_CRYPTO_ERR_MALFORMED;
    }
    X509_ALGOR_free(alg);
    return err;
}

ike_crypto_err ike_auth_verify(EVP_PKEY *peer_key, uint8_t method, const uint8_t *auth_data,
                               size_t auth_len, const uint8_t *octets, size_t octets_len,
                               ike_sig_scheme *used)
{
    if (used)
        *used = IKE_SIG_NONE;
    if (!peer_key || !auth_data || !octets)
        return IKE_CRYPTO_ERR_INVALID_ARG;
    ike_sig_scheme scheme;
    struct pss pss = {IKE_MD_NONE, 0};
    const uint8_t *sig = auth_data;
    size_t siglen = auth_len;
    switch (method) {
    case IKE_AUTH_RSA_SIG:
        scheme = IKE_SIG_RSA_PKCS1_SHA1;
        break;
    case IKE_AUTH_ECDSA_SHA256_P256:
        scheme = IKE_SIG_ECDSA_P256_SHA256;
        break;
    case IKE_AUTH_ECDSA_SHA384_P384:
        scheme = IKE_SIG_ECDSA_P384_SHA384;
        break;
    case IKE_AUTH_ECDSA_SHA512_P521:
        scheme = IKE_SIG_ECDSA_P521_SHA512;
        break;
    case IKE_AUTH_DIGITAL_SIGNATURE: {
        if (auth_len < 1 || auth_data[0] < 2 || (size_t)auth_data[0] + 1 >= auth_len)
            return IKE_CRYPTO_ERR_MALFORMED;
        ike_crypto_err err = parse_algid(auth_data + 1, auth_data[0], &scheme, &pss);
        if (err != IKE_CRYPTO_OK)
            return err;
        sig = auth_data + 1 + auth_data[0];
        siglen = auth_len - 1 - auth_data[0];
        break;
    }
    default:
        return IKE_CRYPTO_ERR_UNSUPPORTED;
    }
    const struct scheme *s = &schemes[scheme];
    if (used)
        *used = scheme;
    if (!key_fits(peer_key, s))
        return IKE_CRYPTO_ERR_KEY_MISMATCH;

    uint8_t *der = NULL;
    if (s->curve_nid) {
        size_t n = ec_field_octets(s->curve_nid);
        if (siglen != 2 * n)
            return IKE_CRYPTO_ERR_BAD_SIGNATURE;
        int dlen = raw_to_der(sig, n, &der);
        if (dlen <= 0)
            return IKE_CRYPTO_ERR_INTERNAL;
        sig = der;
        siglen = (size_t)dlen;
    }
    EVP_MD_CTX *mctx = sig_ctx(peer_key, s, &pss, false);
    ike_crypto_err err = IKE_CRYPTO_ERR_INTERNAL;
    if (mctx) {
        int rc = EVP_DigestVerify(mctx, sig, siglen, octets, octets_len);
        err = rc == 1 ? IKE_CRYPTO_OK : IKE_CRYPTO_ERR_BAD_SIGNATURE;
    } else if (s->pss) {
        err = IKE_CRYPTO_ERR_UNSUPPORTED; /* e.g. salt too long for the key */
    }
    EVP_MD_CTX_free(mctx);
    OPENSSL_free(der);
    /* A failed verification leaves reasons on the OpenSSL error queue of
     * this (worker) thread; they are not ours to report, drop them. */
    ERR_clear_error();
    return err;
}

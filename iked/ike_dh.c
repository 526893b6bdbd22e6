/* Each group keeps one parameter-only EVP_PKEY made at init. Key generation
 * and peer import start from it with EVP_PKEY_CTX_new_from_pkey(), which
 * reuses its key manager instead of fetching one by name per handshake. */
#include "ike_dh.h"

#include "ike_crypto_int.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/dh.h>
#include <openssl/ec.h>
#include <openssl/param_build.h>

enum dh_kind { DH_MODP, DH_ECP, DH_X25519 };

struct dh_group {
    uint16_t id;
    enum dh_kind kind;
    const char *type; /* OpenSSL key type */
    const char *name; /* OpenSSL group name */
    size_t pub_len;
    size_t secret_len;
    EVP_PKEY *tmpl; /* domain parameters (X25519: a throwaway key) */
    uint8_t *prime; /* MODP: p, big-endian, pub_len octets */
};

static struct dh_group groups[] = {
    {IKE_DH_MODP_2048, DH_MODP, "DH", "modp_2048", 256, 256, NULL, NULL},
    {IKE_DH_MODP_3072, DH_MODP, "DH", "modp_3072", 384, 384, NULL, NULL},
    {IKE_DH_MODP_4096, DH_MODP, "DH", "modp_4096", 512, 512, NULL, NULL},
    {IKE_DH_ECP_256, DH_ECP, "EC", "P-256", 64, 32, NULL, NULL},
    {IKE_DH_ECP_384, DH_ECP, "EC", "P-384", 96, 48, NULL, NULL},
    {IKE_DH_ECP_521, DH_ECP, "EC", "P-521", 132, 66, NULL, NULL},
    {IKE_DH_CURVE25519, DH_X25519, "X25519", NULL, 32, 32, NULL, NULL},
};

#define NGROUPS (sizeof(groups) / sizeof(groups[0]))

struct ike_dh {
    const struct dh_group *grp;
    EVP_PKEY *key;
    size_t pub_len;
    uint8_t pub[IKE_DH_MAX_PUB];
};

static const struct dh_group *find_group(uint16_t id)
{
    for (size_t i = 0; i < NGROUPS; i++)
        if (groups[i].id == id && groups[i].tmpl)
            return &groups[i];
    return NULL;
}

static EVP_PKEY *make_params(const struct dh_group *g)
{
    EVP_PKEY *pkey = NULL;
    if (g->kind == DH_X25519)
        return EVP_PKEY_Q_keygen(NULL, NULL, g->type);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, g->type, NULL);
    if (!ctx)
        return NULL;
    if (EVP_PKEY_paramgen_init(ctx) <= 0 || EVP_PKEY_CTX_set_group_name(ctx, g->name) <= 0 ||
        EVP_PKEY_paramgen(ctx, &pkey) <= 0) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    EVP_PKEY_CTX_free(ctx);
    return pkey;
}

static uint8_t *prime_bytes(EVP_PKEY *params, size_t len)
{
    BIGNUM *p = NULL;
    uint8_t *buf = NULL;
    if (EVP_PKEY_get_bn_param(params, OSSL_PKEY_PARAM_FFC_P, &p) &&
        (size_t)BN_num_bytes(p) == len && (buf = malloc(len)) &&
        BN_bn2binpad(p, buf, (int)len) != (int)len) {
        free(buf);
        buf = NULL;
    }
    BN_free(p);
    return buf;
}

ike_crypto_err ike_dh_setup(void)
{
    for (size_t i = 0; i < NGROUPS; i++) {
        struct dh_group *g = &groups[i];
        g->tmpl = make_params(g);
        if (!g->tmpl)
            return IKE_CRYPTO_ERR_INTERNAL;
        if (g->kind == DH_MODP && !(g->prime = prime_bytes(g->tmpl, g->pub_len)))
            return IKE_CRYPTO_ERR_INTERNAL;
    }
    return IKE_CRYPTO_OK;
}

void ike_dh_teardown(void)
{
    for (size_t i = 0; i < NGROUPS; i++) {
        EVP_PKEY_free(groups[i].tmpl);
        free(groups[i].prime);
        groups[i].tmpl = NULL;
        groups[i].prime = NULL;
    }
}

bool ike_dh_group_supported(uint16_t group)
{
    return find_group(group) != NULL;
}

size_t ike_dh_public_len(uint16_t group)
{
    const struct dh_group *g = find_group(group);
    return g ? g->pub_len : 0;
}

size_t ike_dh_secret_len(uint16_t group)
{
    const struct dh_group *g = find_group(group);
    return g ? g->secret_len : 0;
}

uint16_t ike_dh_group(const ike_dh *dh)
{
    return dh ? dh->grp->id : IKE_DH_NONE;
}

const uint8_t *ike_dh_public(const ike_dh *dh, size_t *len)
{
    if (!dh)
        return NULL;
    if (len)
        *len = dh->pub_len;
    return dh->pub;
}

/* Fills dh->pub with the RFC wire encoding of dh->key's public value. */
static ike_crypto_err encode_public(ike_dh *dh)
{
    const struct dh_group *g = dh->grp;
    size_t len = 0;
    switch (g->kind) {
    case DH_MODP: {
        BIGNUM *y = NULL;
        bool ok = EVP_PKEY_get_bn_param(dh->key, OSSL_PKEY_PARAM_PUB_KEY, &y) &&
                  BN_bn2binpad(y, dh->pub, (int)g->pub_len) == (int)g->pub_len;
        BN_free(y);
        if (!ok)
            return IKE_CRYPTO_ERR_INTERNAL;
        len = g->pub_len;
        break;
    }
    case DH_ECP: {
        /* Uncompressed SEC1 point 0x04 | x | y; IKE drops the 0x04. */
        uint8_t pt[1 + IKE_DH_MAX_PUB];
        if (!EVP_PKEY_get_octet_string_param(dh->key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pt,
                                             sizeof(pt), &len) ||
            len != 1 + g->pub_len || pt[0] != POINT_CONVERSION_UNCOMPRESSED)
            return IKE_CRYPTO_ERR_INTERNAL;
        len = g->pub_len;
        memcpy(dh->pub, pt + 1, len);
        break;
    }
    case DH_X25519:
        len = sizeof(dh->pub);
        if (!EVP_PKEY_get_raw_public_key(dh->key, dh->pub, &len) || len != g->pub_len)
            return IKE_CRYPTO_ERR_INTERNAL;
        break;
    }
    dh->pub_len = len;
    return IKE_CRYPTO_OK;
}

static ike_crypto_err finish_new(const struct dh_group *g, EVP_PKEY *key, ike_dh **out)
{
    ike_dh *dh = calloc(1, sizeof(*dh));
    if (!dh) {
        EVP_PKEY_free(key);
        return IKE_CRYPTO_ERR_INTERNAL;
    }
    dh->grp = g;
    dh->key = key;
    ike_crypto_err err = encode_public(dh);
    if (err != IKE_CRYPTO_OK) {
        ike_dh_free(dh);
        return err;
    }
    *out = dh;
    return IKE_CRYPTO_OK;
}

ike_crypto_err ike_dh_new(uint16_t group, ike_dh **out)
{
    if (!out)
        return IKE_CRYPTO_ERR_INVALID_ARG;
    *out = NULL;
    const struct dh_group *g = find_group(group);
    if (!g)
        return IKE_CRYPTO_ERR_UNSUPPORTED;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, g->tmpl, NULL);
    EVP_PKEY *key = NULL;
    bool ok = ctx && EVP_PKEY_keygen_init(ctx) > 0 && EVP_PKEY_keygen(ctx, &key) > 0;
    EVP_PKEY_CTX_free(ctx);
    if (!ok) {
        EVP_PKEY_free(key);
        return IKE_CRYPTO_ERR_INTERNAL;
    }
    return finish_new(g, key, out);
}

/* Imports a key from OSSL_PARAMs using the group's key manager. */
static EVP_PKEY *key_fromdata(const struct dh_group *g, int selection, OSSL_PARAM *params)
{
    EVP_PKEY *key = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, g->tmpl, NULL);
    if (!ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &key, selection, params) <= 0) {
        EVP_PKEY_free(key);
        key = NULL;
    }
    EVP_PKEY_CTX_free(ctx);
    return key;
}

/* Builds the OSSL_PARAM list for a MODP or ECP key: group name, the public
 * value as the provider wants it, and optionally the private scalar. */
static OSSL_PARAM *group_params(const struct dh_group *g, const BIGNUM *pub_bn,
                                const uint8_t *pub_oct, size_t pub_oct_len, const BIGNUM *priv)
{
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    if (bld && OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, g->name, 0) &&
        (!pub_bn || OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PUB_KEY, pub_bn)) &&
        (!pub_oct ||
         OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub_oct, pub_oct_len)) &&
        (!priv || OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, priv)))
        params = OSSL_PARAM_BLD_to_param(bld);
    OSSL_PARAM_BLD_free(bld);
    return params;
}

/* pub = priv * G (ECP) or g^priv mod p (MODP), as the import needs both. */
static EVP_PKEY *key_from_private(const struct dh_group *g, const BIGNUM *priv)
{
    EVP_PKEY *key = NULL;
    OSSL_PARAM *params = NULL;
    BN_CTX *bnctx = BN_CTX_new();
    if (!bnctx)
        return NULL;
    if (g->kind == DH_ECP) {
        EC_GROUP *grp = EC_GROUP_new_by_curve_name(EC_curve_nist2nid(g->name));
        EC_POINT *pt = grp ? EC_POINT_new(grp) : NULL;
        uint8_t oct[1 + IKE_DH_MAX_PUB];
        size_t n = 0;
        if (pt && EC_POINT_mul(grp, pt, priv, NULL, NULL, bnctx) &&
            (n = EC_POINT_point2oct(grp, pt, POINT_CONVERSION_UNCOMPRESSED, oct, sizeof(oct),
                                    bnctx)) > 0)
            params = group_params(g, NULL, oct, n, priv);
        EC_POINT_free(pt);
        EC_GROUP_free(grp);
    } else {
        BIGNUM *p = NULL, *gen = NULL, *pub = BN_new();
        if (pub && EVP_PKEY_get_bn_param(g->tmpl, OSSL_PKEY_PARAM_FFC_P, &p) &&
            EVP_PKEY_get_bn_param(g->tmpl, OSSL_PKEY_PARAM_FFC_G, &gen) &&
            BN_mod_exp(pub, gen, priv, p, bnctx))
            params = group_params(g, pub, NULL, 0, priv);
        BN_free(p);
        BN_free(gen);
        BN_free(pub);
    }
    if (params)
        key = key_fromdata(g, EVP_PKEY_KEYPAIR, params);
    OSSL_PARAM_free(params);
    BN_CTX_free(bnctx);
    return key;
}

ike_crypto_err ike_dh_new_from_private(uint16_t group, const uint8_t *priv, size_t priv_len,
                                       ike_dh **out)
{
    if (!out || !priv || !priv_len)
        return IKE_CRYPTO_ERR_INVALID_ARG;
    *out = NULL;
    const struct dh_group *g = find_group(group);
    if (!g)
        return IKE_CRYPTO_ERR_UNSUPPORTED;
    EVP_PKEY *key = NULL;
    if (g->kind == DH_X25519) {
        if (priv_len != g->secret_len)
            return IKE_CRYPTO_ERR_INVALID_ARG;
        key = EVP_PKEY_new_raw_private_key_ex(NULL, g->type, NULL, priv, priv_len);
    } else {
        BIGNUM *bn = BN_secure_new();
        if (bn && BN_bin2bn(priv, (int)priv_len, bn))
            key = key_from_private(g, bn);
        BN_clear_free(bn);
    }
    if (!key)
        return IKE_CRYPTO_ERR_INTERNAL;
    return finish_new(g, key, out);
}

/* 1 < y < p-1, both big-endian of the prime's length: y = 0, 1 and p-1
 * would confine the shared secret to a subgroup of order 1 or 2. */
static bool modp_value_ok(const struct dh_group *g, const uint8_t *y)
{
    size_t n = g->pub_len;
    size_t i = 0;
    while (i < n - 1 && y[i] == 0)
        i++;
    if (i == n - 1 && y[i] <= 1)
        return false;
    /* Compare y + 1 < p, i.e. y < p - 1: p is odd, so p - 1 only differs
     * from p in the last octet. */
    int cmp = memcmp(y, g->prime, n - 1);
    if (cmp != 0)
        return cmp < 0;
    return y[n - 1] < g->prime[n - 1] - 1;
}

static EVP_PKEY *import_peer(const struct dh_group *g, const uint8_t *peer)
{
    EVP_PKEY *key = NULL;
    OSSL_PARAM *params = NULL;
    switch (g->kind) {
    case DH_MODP: {
        if (!modp_value_ok(g, peer))
            return NULL;
        BIGNUM *y = BN_bin2bn(peer, (int)g->pub_len, NULL);
        if (y)
            params = group_params(g, y, NULL, 0, NULL);
        BN_free(y);
        break;
    }
    case DH_ECP: {
        uint8_t pt[1 + IKE_DH_MAX_PUB];
        pt[0] = POINT_CONVERSION_UNCOMPRESSED;
        memcpy(pt + 1, peer, g->pub_len);
        params = group_params(g, NULL, pt, 1 + g->pub_len, NULL);
        break;
    }
    case DH_X25519: {
        OSSL_PARAM p[] = {
            OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)peer, g->pub_len),
            OSSL_PARAM_construct_end(),
        };
        return key_fromdata(g, EVP_PKEY_PUBLIC_KEY, p);
    }
    }
    if (params)
        key = key_fromdata(g, EVP_PKEY_PUBLIC_KEY, params);
    OSSL_PARAM_free(params);
    return key;
}

/* The import already rejects points off the curve; the quick check adds
 * the range and point-at-infinity tests. The full check's n*Q = O test is
 * redundant for these prime-order curves (cofactor 1). */
static bool peer_key_ok(EVP_PKEY *peer)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, peer, NULL);
    bool ok = ctx && EVP_PKEY_public_check_quick(ctx) == 1;
    EVP_PKEY_CTX_free(ctx);
    return ok;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

ike_crypto_err ike_dh_derive(ike_dh *dh, const uint8_t *peer, size_t peer_len, uint8_t *secret,
                             size_t secret_cap, size_t *secret_len)
{
    if (!dh || !peer || !secret || !secret_len)
        return IKE_CRYPTO_ERR_INVALID_ARG;
    *secret_len = 0;
    const struct dh_group *g = dh->grp;
    if (secret_cap < g->secret_len)
        return IKE_CRYPTO_ERR_INVALID_ARG;
    if (peer_len != g->pub_len)
        return IKE_CRYPTO_ERR_BAD_PEER_KE;

    EVP_PKEY *pk = import_peer(g, peer);
    if (!pk)
        return IKE_CRYPTO_ERR_BAD_PEER_KE;
    if (g->kind != DH_X25519 && !peer_key_ok(pk)) {
        EVP_PKEY_free(pk);
        return IKE_CRYPTO_ERR_BAD_PEER_KE;
    }

    ike_crypto_err err = IKE_CRYPTO_ERR_INTERNAL;
    size_t len = secret_cap;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, dh->key, NULL);
    /* RFC 7296 §2.14: g^ir keeps its leading zeros (the length of the
     * modulus); OpenSSL strips them unless told to pad. */
    if (ctx && EVP_PKEY_derive_init(ctx) > 0 &&
        (g->kind != DH_MODP || EVP_PKEY_CTX_set_dh_pad(ctx, 1) > 0) &&
        EVP_PKEY_derive_set_peer_ex(ctx, pk, 0) > 0) {
        if (EVP_PKEY_derive(ctx, secret, &len) > 0 && len == g->secret_len)
            err = IKE_CRYPTO_OK;
        else if (g->kind == DH_X25519)
            err = IKE_CRYPTO_ERR_BAD_PEER_KE; /* all-zero output refused */
    }
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pk);

    /* RFC 8031 §2.3: a low-order peer point gives the all-zero secret. */
    if (err == IKE_CRYPTO_OK && g->kind == DH_X25519 && all_zero(secret, len))
        err = IKE_CRYPTO_ERR_BAD_PEER_KE;
    if (err != IKE_CRYPTO_OK) {
        OPENSSL_cleanse(secret, secret_cap);
        return err;
    }
    *secret_len = len;
    return IKE_CRYPTO_OK;
}

void ike_dh_free(ike_dh *dh)
{
    if (!dh)
        return;
    EVP_PKEY_free(dh->key); /* providers clear private key material on free */
    free(dh);
}

/* AUTH payload inputs: signed octets, shared-key MACs, hash negotiation
 * and scheme choice. Signing and verification are in ike_auth_sig.c. */
#include "ike_auth.h"

#include "ike_prf.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>

ike_crypto_err ike_auth_octets(uint16_t prf, const uint8_t *sk_p, size_t sk_p_len,
                               const ike_span *real_msg, const ike_span *nonce,
                               const ike_span *id_body, uint8_t **out, size_t *out_len)
{
    if (!out || !out_len)
        return IKE_CRYPTO_ERR_INVALID_ARG;
    *out = NULL;
    *out_len = 0;
    if (!sk_p || !real_msg || !real_msg->ptr || !nonce || !nonce->ptr || !id_body || !id_body->ptr)
        return IKE_CRYPTO_ERR_INVALID_ARG;
    size_t mac_len = ike_prf_out_len(prf);
    if (!mac_len)
        return IKE_CRYPTO_ERR_UNSUPPORTED;
    if (real_msg->len > SIZE_MAX / 2 || nonce->len > SIZE_MAX / 4)
        return IKE_CRYPTO_ERR_INVALID_ARG;
    size_t total = real_msg->len + nonce->len + mac_len;
    uint8_t *buf = malloc(total);
    if (!buf)
        return IKE_CRYPTO_ERR_INTERNAL;
    memcpy(buf, real_msg->ptr, real_msg->len);
    memcpy(buf + real_msg->len, nonce->ptr, nonce->len);
    ike_crypto_err err = ike_prf(prf, sk_p, sk_p_len, id_body, 1, buf + real_msg->len + nonce->len);
    if (err != IKE_CRYPTO_OK) {
        free(buf);
        return err;
    }
    *out = buf;
    *out_len = total;
    return IKE_CRYPTO_OK;
}

void ike_auth_octets_free(uint8_t *octets, size_t len)
{
    /* Not secret, but the MACed ID is derived from SK_p: clear anyway. */
    if (octets)
        OPENSSL_cleanse(octets, len);
    free(octets);
}

ike_crypto_err ike_auth_psk(uint16_t prf, const uint8_t *secret, size_t secret_len,
                            const uint8_t *octets, size_t octets_len, uint8_t *out)
{
    static const char pad[] = "Key Pad for IKEv2"; /* 17 octets, no NUL */
    if (!secret || !secret_len || !octets || !out)
        return IKE_CRYPTO_ERR_INVALID_ARG;
    uint8_t inner[IKE_PRF_MAX_OUT];
    ike_span p = {(const uint8_t *)pad, sizeof(pad) - 1};
    ike_crypto_err err = ike_prf(prf, secret, secret_len, &p, 1, inner);
    if (err == IKE_CRYPTO_OK) {
        ike_span o = {octets, octets_len};
        err = ike_prf(prf, inner, ike_prf_out_len(prf), &o, 1, out);
    }
    OPENSSL_cleanse(inner, sizeof(inner));
    return err;
}

ike_crypto_err ike_auth_psk_verify(uint16_t prf, const uint8_t *secret, size_t secret_len,
                                   const uint8_t *octets, size_t octets_len,
                                   const uint8_t *auth_data, size_t auth_len)
{
    uint8_t want[IKE_PRF_MAX_OUT];
    if (!auth_data)
        return IKE_CRYPTO_ERR_INVALID_ARG;
    ike_crypto_err err = ike_auth_psk(prf, secret, secret_len, octets, octets_len, want);
    if (err == IKE_CRYPTO_OK &&
        (auth_len != ike_prf_out_len(prf) || CRYPTO_memcmp(want, auth_data, auth_len) != 0))
        err = IKE_CRYPTO_ERR_BAD_SIGNATURE;
    OPENSSL_cleanse(want, sizeof(want));
    return err;
}

/* What we announce: never SHA-1 (RFC 8247 says MUST NOT for signatures). */
static const uint16_t our_hashes[] = {
    IKE_HASH_SHA2_256,
    IKE_HASH_SHA2_384,
    IKE_HASH_SHA2_512,
    IKE_HASH_IDENTITY,
};

size_t ike_auth_hash_notify(uint8_t *out, size_t cap)
{
    size_t n = sizeof(our_hashes) / sizeof(our_hashes[0]);
    if (!out || cap < 2 * n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = (uint8_t)(our_hashes[i] >> 8);
        out[2 * i + 1] = (uint8_t)our_hashes[i];
    }
    return 2 * n;
}

ike_crypto_err ike_auth_hash_notify_parse(const uint8_t *data, size_t len, uint32_t *mask)
{
    if (!mask || (!data && len))
        return IKE_CRYPTO_ERR_INVALID_ARG;
    *mask = 0;
    if (len % 2)
        return IKE_CRYPTO_ERR_MALFORMED;
    for (size_t i = 0; i < len; i += 2) {
        unsigned id = (unsigned)data[i] << 8 | data[i + 1];
        if (id >= IKE_HASH_SHA1 && id <= IKE_HASH_IDENTITY)
            *mask |= IKE_AUTH_HASH_BIT(id);
    }
    return IKE_CRYPTO_OK;
}

static int ec_curve_nid(EVP_PKEY *key)
{
    char name[64];
    size_t len = 0;
    if (!EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof(name), &len))
        return NID_undef;
    int nid = OBJ_sn2nid(name);
    return nid != NID_undef ? nid : EC_curve_nist2nid(name);
}

/* First hash in preference order that the peer accepts. */
static int pick_hash(uint32_t mask, const uint16_t *pref, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (mask & IKE_AUTH_HASH_BIT(pref[i]))
            return pref[i];
    return 0;
}

static ike_crypto_err choose_ec(EVP_PKEY *key, uint32_t mask, ike_sig_scheme *out)
{
    int nid = ec_curve_nid(key);
    int own_hash;
    ike_sig_scheme legacy;
    switch (nid) {
    case NID_X9_62_prime256v1:
        own_hash = IKE_HASH_SHA2_256;
        legacy = IKE_SIG_ECDSA_P256_SHA256;
        break;
    case NID_secp384r1:
        own_hash = IKE_HASH_SHA2_384;
        legacy = IKE_SIG_ECDSA_P384_SHA384;
        break;
    case NID_secp521r1:
        own_hash = IKE_HASH_SHA2_512;
        legacy = IKE_SIG_ECDSA_P521_SHA512;
        break;
    default:
        return IKE_CRYPTO_ERR_UNSUPPORTED;
    }
    if (!mask) {
        *out = legacy;
        return IKE_CRYPTO_OK;
    }
    const uint16_t pref[] = {(uint16_t)own_hash, IKE_HASH_SHA2_256, IKE_HASH_SHA2_384,
                             IKE_HASH_SHA2_512};
    switch (pick_hash(mask, pref, 4)) {
    case IKE_HASH_SHA2_256:
        *out = IKE_SIG_DS_ECDSA_SHA256;
        return IKE_CRYPTO_OK;
    case IKE_HASH_SHA2_384:
        *out = IKE_SIG_DS_ECDSA_SHA384;
        return IKE_CRYPTO_OK;
    case IKE_HASH_SHA2_512:
        *out = IKE_SIG_DS_ECDSA_SHA512;
        return IKE_CRYPTO_OK;
    default:
        break;
    }
    /* The peer announced only hashes we do not sign with: the legacy
     * method does not depend on the announcement. */
    *out = legacy;
    return IKE_CRYPTO_OK;
}

static ike_crypto_err choose_rsa(uint32_t mask, bool pss, bool pss_only, ike_sig_scheme *out)
{
    static const uint16_t pref[] = {IKE_HASH_SHA2_256, IKE_HASH_SHA2_384, IKE_HASH_SHA2_512};
    int hash = pick_hash(mask, pref, 3);
    if (!hash) {
        if (pss_only)
            return IKE_CRYPTO_ERR_UNSUPPORTED;
        *out = IKE_SIG_RSA_PKCS1_SHA1;
        return IKE_CRYPTO_OK;
    }
    int idx = hash - IKE_HASH_SHA2_256; /* 0..2 */
    *out = (ike_sig_scheme)((pss || pss_only ? IKE_SIG_DS_RSA_PSS_SHA256
                                             : IKE_SIG_DS_RSA_PKCS1_SHA256) +
                            idx);
    return IKE_CRYPTO_OK;
}

ike_crypto_err ike_auth_choose(EVP_PKEY *key, uint32_t peer_hash_mask, bool prefer_pss,
                               ike_sig_scheme *out)
{
    if (!key || !out)
        return IKE_CRYPTO_ERR_INVALID_ARG;
    *out = IKE_SIG_NONE;
    if (EVP_PKEY_is_a(key, "ED25519")) {
        /* RFC 8420: only through method 14 with the Identity hash. */
        if (!(peer_hash_mask & IKE_AUTH_HASH_BIT(IKE_HASH_IDENTITY)))
            return IKE_CRYPTO_ERR_UNSUPPORTED;
        *out = IKE_SIG_DS_ED25519;
        return IKE_CRYPTO_OK;
    }
    if (EVP_PKEY_is_a(key, "EC"))
        return choose_ec(key, peer_hash_mask, out);
    if (EVP_PKEY_is_a(key, "RSA-PSS"))
        return choose_rsa(peer_hash_mask, true, true, out);
    if (EVP_PKEY_is_a(key, "RSA"))
        return choose_rsa(peer_hash_mask, prefer_pss, false, out);
    return IKE_CRYPTO_ERR_UNSUPPORTED;
}

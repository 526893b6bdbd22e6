/* AUTH: signed octets, every signature scheme round trip, tampering,
 * wrong-key and malformed inputs, hash negotiation and shared keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "ike_auth.h"
#include "ike_prf.h"
#include "testpki.h"

enum { K_RSA, K_P256, K_P384, K_P521, K_ED, K_COUNT };
static EVP_PKEY *keys[K_COUNT];
static const char *const kinds[K_COUNT] = {"rsa2048", "p256", "p384", "p521", "ed25519"};

static int setup(void **state)
{
    (void)state;
    if (ike_crypto_init() != IKE_CRYPTO_OK)
        return -1;
    for (int i = 0; i < K_COUNT; i++)
        keys[i] = tp_key(kinds[i]);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < K_COUNT; i++)
        EVP_PKEY_free(keys[i]);
    return 0;
}

static int key_for(ike_sig_scheme s)
{
    switch (s) {
    case IKE_SIG_ECDSA_P256_SHA256:
        return K_P256;
    case IKE_SIG_ECDSA_P384_SHA384:
        return K_P384;
    case IKE_SIG_ECDSA_P521_SHA512:
        return K_P521;
    case IKE_SIG_DS_ECDSA_SHA256:
        return K_P256;
    case IKE_SIG_DS_ECDSA_SHA384:
        return K_P384;
    case IKE_SIG_DS_ECDSA_SHA512:
        return K_P521;
    case IKE_SIG_DS_ED25519:
        return K_ED;
    default:
        return K_RSA;
    }
}

static void test_sign_verify_every_scheme(void **state)
{
    (void)state;
    uint8_t octets[300];
    for (size_t i = 0; i < sizeof(octets); i++)
        octets[i] = (uint8_t)(i * 13);
    for (int sc = IKE_SIG_NONE + 1; sc < IKE_SIG_SCHEME_COUNT; sc++) {
        EVP_PKEY *key = keys[key_for((ike_sig_scheme)sc)];
        uint8_t sig[700];
        size_t len = 0;
        assert_true(ike_auth_sig_max_len(key) <= sizeof(sig));
        assert_int_equal(
            ike_auth_sign(key, (ike_sig_scheme)sc, octets, sizeof(octets), sig, sizeof(sig), &len),
            IKE_CRYPTO_OK);
        uint8_t method = ike_auth_scheme_method((ike_sig_scheme)sc);
        ike_sig_scheme used = IKE_SIG_NONE;
        assert_int_equal(ike_auth_verify(key, method, sig, len, octets, sizeof(octets), &used),
                         IKE_CRYPTO_OK);
        assert_int_equal(used, sc);
        /* Methods 9-11: r || s of twice the field size. */
        if (method >= IKE_AUTH_ECDSA_SHA256_P256 && method <= IKE_AUTH_ECDSA_SHA512_P521)
            assert_int_equal(len, method == 9 ? 64 : method == 10 ? 96 : 132);
        /* A flipped bit in the signed octets or the signature fails. */
        octets[17] ^= 1;
        assert_int_equal(ike_auth_verify(key, method, sig, len, octets, sizeof(octets), NULL),
                         IKE_CRYPTO_ERR_BAD_SIGNATURE);
        octets[17] ^= 1;
        sig[len - 5] ^= 0x40;
        assert_int_equal(ike_auth_verify(key, method, sig, len, octets, sizeof(octets), NULL),
                         IKE_CRYPTO_ERR_BAD_SIGNATURE);
        sig[len - 5] ^= 0x40;
        /* Another key of the same type does not verify it. */
        EVP_PKEY *other = tp_key(kinds[key_for((ike_sig_scheme)sc)]);
        assert_int_equal(ike_auth_verify(other, method, sig, len, octets, sizeof(octets), NULL),
                         IKE_CRYPTO_ERR_BAD_SIGNATURE);
        EVP_PKEY_free(other);
        /* A key of the wrong type is a mismatch, not a bad signature. */
        EVP_PKEY *wrong = keys[key_for((ike_sig_scheme)sc) == K_RSA ? K_P256 : K_RSA];
        assert_int_equal(ike_auth_verify(wrong, method, sig, len, octets, sizeof(octets), NULL),
                         IKE_CRYPTO_ERR_KEY_MISMATCH);
        assert_int_equal(ike_auth_sign(wrong, (ike_sig_scheme)sc, octets, sizeof(octets), sig,
                                       sizeof(sig), &len),
                         IKE_CRYPTO_ERR_KEY_MISMATCH);
    }
    /* Method 9 names P-256: a P-384 key does not fit it. */
    uint8_t sig[200];
    size_t len;
    assert_int_equal(
        ike_auth_sign(keys[K_P384], IKE_SIG_ECDSA_P256_SHA256, sig, 10, sig, sizeof(sig), &len),
        IKE_CRYPTO_ERR_KEY_MISMATCH);
}

/* Our RSASSA-PSS AlgorithmIdentifier says what the signature really uses:
 * parse it with OpenSSL and verify the signature with those parameters. */
static void test_pss_algid_matches_signature(void **state)
{
    (void)state;
    static const struct {
        ike_sig_scheme s;
        int nid;
        int salt;
        const char *md;
    } v[] = {{IKE_SIG_DS_RSA_PSS_SHA256, NID_sha256, 32, "SHA256"},
             {IKE_SIG_DS_RSA_PSS_SHA384, NID_sha384, 48, "SHA384"},
             {IKE_SIG_DS_RSA_PSS_SHA512, NID_sha512, 64, "SHA512"}};
    uint8_t octets[64] = {3}, auth[600];
    for (size_t i = 0; i < 3; i++) {
        size_t len = 0;
        assert_int_equal(
            ike_auth_sign(keys[K_RSA], v[i].s, octets, sizeof(octets), auth, sizeof(auth), &len),
            IKE_CRYPTO_OK);
        const unsigned char *p = auth + 1;
        X509_ALGOR *alg = d2i_X509_ALGOR(NULL, &p, auth[0]);
        assert_non_null(alg);
        assert_int_equal(p - (auth + 1), auth[0]);
        const ASN1_OBJECT *obj;
        int ptype;
        const void *pval;
        X509_ALGOR_get0(&obj, &ptype, &pval, alg);
        assert_int_equal(OBJ_obj2nid(obj), NID_rsassaPss);
        assert_int_equal(ptype, V_ASN1_SEQUENCE);
        const unsigned char *q = ASN1_STRING_get0_data(pval);
        RSA_PSS_PARAMS *prm = d2i_RSA_PSS_PARAMS(NULL, &q, ASN1_STRING_length(pval));
        assert_non_null(prm);
        assert_int_equal(OBJ_obj2nid(prm->hashAlgorithm->algorithm), v[i].nid);
        assert_int_equal(OBJ_obj2nid(prm->maskGenAlgorithm->algorithm), NID_mgf1);
        assert_int_equal(ASN1_INTEGER_get(prm->saltLength), v[i].salt);
        assert_null(prm->trailerField);
        RSA_PSS_PARAMS_free(prm);
        X509_ALGOR_free(alg);

        EVP_MD_CTX *m = EVP_MD_CTX_new();
        EVP_PKEY_CTX *pc = NULL;
        assert_int_equal(EVP_DigestVerifyInit_ex(m, &pc, v[i].md, NULL, NULL, keys[K_RSA], NULL),
                         1);
        EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING);
        EVP_PKEY_CTX_set_rsa_mgf1_md_name(pc, v[i].md, NULL);
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, v[i].salt);
        size_t off = 1 + auth[0];
        assert_int_equal(EVP_DigestVerify(m, auth + off, len - off, octets, sizeof(octets)), 1);
        EVP_MD_CTX_free(m);
    }
}

/* RFC 7427 Appendix A identifiers, byte for byte. */
static void test_algid_bytes(void **state)
{
    (void)state;
    static const struct {
        ike_sig_scheme s;
        int key;
        const char *hex;
    } v[] = {
        {IKE_SIG_DS_RSA_PKCS1_SHA256, K_RSA, "300d06092a864886f70d01010b0500"},
        {IKE_SIG_DS_RSA_PKCS1_SHA384, K_RSA, "300d06092a864886f70d01010c0500"},
        {IKE_SIG_DS_RSA_PKCS1_SHA512, K_RSA, "300d06092a864886f70d01010d0500"},
        {IKE_SIG_DS_ECDSA_SHA256, K_P256, "300a06082a8648ce3d040302"},
        {IKE_SIG_DS_ECDSA_SHA384, K_P384, "300a06082a8648ce3d040303"},
        {IKE_SIG_DS_ECDSA_SHA512, K_P521, "300a06082a8648ce3d040304"},
        {IKE_SIG_DS_ED25519, K_ED, "300506032b6570"},
    };
    uint8_t octets[8] = {0}, auth[600], want[32];
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        size_t len, wl = tp_unhex(v[i].hex, want, sizeof(want));
        assert_int_equal(ike_auth_sign(keys[v[i].key], v[i].s, octets, 8, auth, sizeof(auth), &len),
                         IKE_CRYPTO_OK);
        assert_int_equal(auth[0], wl);
        assert_memory_equal(auth + 1, want, wl);
    }
}

static void test_malformed_auth_data(void **state)
{
    (void)state;
    uint8_t octets[8] = {0}, auth[600];
    size_t len;
    assert_int_equal(
        ike_auth_sign(keys[K_P256], IKE_SIG_DS_ECDSA_SHA256, octets, 8, auth, sizeof(auth), &len),
        IKE_CRYPTO_OK);
    /* ASN.1 length running past the data, zero, or not matching the DER. */
    uint8_t saved = auth[0];
    auth[0] = (uint8_t)len;
    assert_int_equal(ike_auth_verify(keys[K_P256], 14, auth, len, octets, 8, NULL),
                     IKE_CRYPTO_ERR_MALFORMED);
    auth[0] = 0;
    assert_int_equal(ike_auth_verify(keys[K_P256], 14, auth, len, octets, 8, NULL),
                     IKE_CRYPTO_ERR_MALFORMED);
    auth[0] = (uint8_t)(saved + 1);
    assert_int_equal(ike_auth_verify(keys[K_P256], 14, auth, len, octets, 8, NULL),
                     IKE_CRYPTO_ERR_MALFORMED);
    auth[0] = saved;
    assert_int_equal(ike_auth_verify(keys[K_P256], 14, auth, 1, octets, 8, NULL),
                     IKE_CRYPTO_ERR_MALFORMED);
    /* sha1WithRSAEncryption is not accepted through method 14. */
    uint8_t sha1rsa[300];
    size_t n = tp_unhex("0f 300d06092a864886f70d0101050500", sha1rsa, sizeof(sha1rsa));
    memset(sha1rsa + n, 0x33, 256);
    assert_int_equal(ike_auth_verify(keys[K_RSA], 14, sha1rsa, n + 256, octets, 8, NULL),
                     IKE_CRYPTO_ERR_UNSUPPORTED);
    /* Unknown / unsupported methods. */
    assert_int_equal(ike_auth_verify(keys[K_RSA], 3, sha1rsa, 40, octets, 8, NULL),
                     IKE_CRYPTO_ERR_UNSUPPORTED);
    /* Wrong raw ECDSA length. */
    assert_int_equal(ike_auth_verify(keys[K_P256], 9, auth, 63, octets, 8, NULL),
                     IKE_CRYPTO_ERR_BAD_SIGNATURE);
    /* Ed25519 via a legacy method is a mismatch. */
    assert_int_equal(ike_auth_verify(keys[K_ED], 9, auth, 64, octets, 8, NULL),
                     IKE_CRYPTO_ERR_KEY_MISMATCH);
}

static void test_octets(void **state)
{
    (void)state;
    uint8_t msg[100], nonce[32], id[12] = {IKE_ID_FQDN, 0, 0, 0, 'g', 'w', '.', 'e', 'x'};
    uint8_t skp[48];
    memset(msg, 0x61, sizeof(msg));
    memset(nonce, 0x62, sizeof(nonce));
    memset(skp, 0x63, sizeof(skp));
    ike_span m = {msg, sizeof(msg)}, n = {nonce, sizeof(nonce)}, i = {id, 9};
    uint8_t *oct = NULL;
    size_t ol = 0;
    assert_int_equal(ike_auth_octets(IKE_PRF_HMAC_SHA2_384, skp, 48, &m, &n, &i, &oct, &ol),
                     IKE_CRYPTO_OK);
    assert_int_equal(ol, 100 + 32 + 48);
    assert_memory_equal(oct, msg, 100);
    assert_memory_equal(oct + 100, nonce, 32);
    uint8_t mac[48];
    unsigned int ml;
    HMAC(EVP_sha384(), skp, 48, id, 9, mac, &ml);
    assert_memory_equal(oct + 132, mac, 48);
    ike_auth_octets_free(oct, ol);
    assert_int_equal(ike_auth_octets(99, skp, 48, &m, &n, &i, &oct, &ol),
                     IKE_CRYPTO_ERR_UNSUPPORTED);
    assert_null(oct);
}

static void test_psk(void **state)
{
    (void)state;
    static const char secret[] = "correct horse battery staple";
    uint8_t octets[40] = {5}, out[32], inner[32], want[32];
    unsigned int l;
    assert_int_equal(ike_auth_psk(IKE_PRF_HMAC_SHA2_256, (const uint8_t *)secret, strlen(secret),
                                  octets, 40, out),
                     IKE_CRYPTO_OK);
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const uint8_t *)"Key Pad for IKEv2", 17, inner,
         &l);
    HMAC(EVP_sha256(), inner, 32, octets, 40, want, &l);
    assert_memory_equal(out, want, 32);
    assert_int_equal(ike_auth_psk_verify(IKE_PRF_HMAC_SHA2_256, (const uint8_t *)secret,
                                         strlen(secret), octets, 40, want, 32),
                     IKE_CRYPTO_OK);
    want[0] ^= 1;
    assert_int_equal(ike_auth_psk_verify(IKE_PRF_HMAC_SHA2_256, (const uint8_t *)secret,
                                         strlen(secret), octets, 40, want, 32),
                     IKE_CRYPTO_ERR_BAD_SIGNATURE);
    assert_int_equal(ike_auth_psk_verify(IKE_PRF_HMAC_SHA2_256, (const uint8_t *)secret,
                                         strlen(secret), octets, 40, want, 31),
                     IKE_CRYPTO_ERR_BAD_SIGNATURE);
}

static void test_hash_notify_and_choose(void **state)
{
    (void)state;
    uint8_t buf[16];
    size_t n = ike_auth_hash_notify(buf, sizeof(buf));
    assert_int_equal(n, 8);
    static const uint8_t want[8] = {0, 2, 0, 3, 0, 4, 0, 5};
    assert_memory_equal(buf, want, 8);
    assert_int_equal(ike_auth_hash_notify(buf, 7), 0);
    uint32_t mask = 0;
    static const uint8_t peer[] = {0, 1, 0, 2, 0x12, 0x34, 0, 5};
    assert_int_equal(ike_auth_hash_notify_parse(peer, sizeof(peer), &mask), IKE_CRYPTO_OK);
    assert_int_equal(mask, IKE_AUTH_HASH_BIT(1) | IKE_AUTH_HASH_BIT(2) | IKE_AUTH_HASH_BIT(5));
    assert_int_equal(ike_auth_hash_notify_parse(peer, 3, &mask), IKE_CRYPTO_ERR_MALFORMED);

    ike_sig_scheme s;
    uint32_t all =
        IKE_AUTH_HASH_BIT(2) | IKE_AUTH_HASH_BIT(3) | IKE_AUTH_HASH_BIT(4) | IKE_AUTH_HASH_BIT(5);
    assert_int_equal(ike_auth_choose(keys[K_P256], all, false, &s), IKE_CRYPTO_OK);
    assert_int_equal(s, IKE_SIG_DS_ECDSA_SHA256);
    assert_int_equal(ike_auth_choose(keys[K_P384], all, false, &s), IKE_CRYPTO_OK);
    assert_int_equal(s, IKE_SIG_DS_ECDSA_SHA384);
    assert_int_equal(ike_auth_choose(keys[K_P256], 0, false, &s), IKE_CRYPTO_OK);
    assert_int_equal(s, IKE_SIG_ECDSA_P256_SHA256);
    assert_int_equal(ike_auth_choose(keys[K_P521], 0, false, &s), IKE_CRYPTO_OK);
    assert_int_equal(s, IKE_SIG_ECDSA_P521_SHA512);
    assert_int_equal(ike_auth_choose(keys[K_RSA], all, true, &s), IKE_CRYPTO_OK);
    assert_int_equal(s, IKE_SIG_DS_RSA_PSS_SHA256);
    assert_int_equal(ike_auth_choose(keys[K_RSA], IKE_AUTH_HASH_BIT(4), false, &s), IKE_CRYPTO_OK);
    assert_int_equal(s, IKE_SIG_DS_RSA_PKCS1_SHA512);
    assert_int_equal(ike_auth_choose(keys[K_RSA], 0, true, &s), IKE_CRYPTO_OK);
    assert_int_equal(s, IKE_SIG_RSA_PKCS1_SHA1);
    assert_int_equal(ike_auth_choose(keys[K_ED], all, false, &s), IKE_CRYPTO_OK);
    assert_int_equal(s, IKE_SIG_DS_ED25519);
    assert_int_equal(ike_auth_choose(keys[K_ED], IKE_AUTH_HASH_BIT(2), false, &s),
                     IKE_CRYPTO_ERR_UNSUPPORTED);
    assert_string_equal(ike_auth_scheme_name(IKE_SIG_DS_RSA_PSS_SHA384), "ds-rsa-pss-sha384");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sign_verify_every_scheme),
        cmocka_unit_test(test_pss_algid_matches_signature),
        cmocka_unit_test(test_algid_bytes),
        cmocka_unit_test(test_malformed_auth_data),
        cmocka_unit_test(test_octets),
        cmocka_unit_test(test_psk),
        cmocka_unit_test(test_hash_notify_and_choose),
    };
    int rc = cmocka_run_group_tests_name("ikecrypto_auth", tests, setup, teardown);
    ike_crypto_fini();
    return rc;
}

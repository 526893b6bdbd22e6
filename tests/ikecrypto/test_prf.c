/* PRF known answers (RFC 4231) and prf+ against an independent expansion. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "ike_prf.h"
#include "testpki.h"

struct kat {
    const char *key_hex; /* NULL: use key_byte x key_len */
    uint8_t key_byte;
    size_t key_len;
    const char *data;
    const char *out[3]; /* SHA2-256, 384, 512 */
};

/* RFC 4231 test cases 1, 2, 6 and 7. */
static const struct kat kats[] = {
    {NULL,
     0x0b,
     20,
     "Hi There",
     {"b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
      "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59c"
      "faea9ea9076ede7f4af152e8b2fa9cb6",
      "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
      "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854"}},
    {"4a656665",
     0,
     0,
     "what do ya want for nothing?",
     {"5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
      "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e"
      "8e2240ca5e69e2c78b3239ecfab21649",
      "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
      "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"}},
    {NULL,
     0xaa,
     131,
     "Test Using Larger Than Block-Size Key - Hash Key First",
     {"60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
      "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c6"
      "0c2ef6ab4030fe8296248df163f44952",
      "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352"
      "6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598"}},
    {NULL,
     0xaa,
     131,
     "This is a test using a larger than block-size key and a larger than block-size "
     "data. The key needs to be hashed before being used by the HMAC algorithm.",
     {"9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
      "6617178e941f020d351e2f254e8fd32c602420feb0b8fb9adccebb82461e99c5"
      "a678cc31e799176d3860e6110c46523e",
      "e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944"
      "b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58"}},
};

static const uint16_t prfs[3] = {IKE_PRF_HMAC_SHA2_256, IKE_PRF_HMAC_SHA2_384,
                                 IKE_PRF_HMAC_SHA2_512};
static const char *const md_names[3] = {"SHA256", "SHA384", "SHA512"};

static int setup(void **state)
{
    (void)state;
    return ike_crypto_init() == IKE_CRYPTO_OK ? 0 : -1;
}

static void test_rfc4231(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(kats) / sizeof(kats[0]); i++) {
        uint8_t key[200], want[64], out[64];
        size_t klen =
            kats[i].key_hex ? tp_unhex(kats[i].key_hex, key, sizeof(key)) : kats[i].key_len;
        if (!kats[i].key_hex)
            memset(key, kats[i].key_byte, klen);
        /* Split the data in two spans to exercise concatenation. */
        size_t dl = strlen(kats[i].data);
        ike_span d[2] = {{(const uint8_t *)kats[i].data, dl / 2},
                         {(const uint8_t *)kats[i].data + dl / 2, dl - dl / 2}};
        for (int h = 0; h < 3; h++) {
            size_t wl = tp_unhex(kats[i].out[h], want, sizeof(want));
            assert_int_equal(ike_prf_out_len(prfs[h]), wl);
            assert_int_equal(ike_prf(prfs[h], key, klen, d, 2, out), IKE_CRYPTO_OK);
            assert_memory_equal(out, want, wl);
        }
    }
}

static void test_prf_plus_reference(void **state)
{
    (void)state;
    uint8_t key[48], seed[300], out[1000], ref[1000];
    for (size_t i = 0; i < sizeof(key); i++)
        key[i] = (uint8_t)(i * 7 + 1);
    for (size_t i = 0; i < sizeof(seed); i++)
        seed[i] = (uint8_t)(i ^ 0x5a);
    static const size_t lens[] = {1, 31, 32, 33, 64, 100, 200, 999};
    for (int h = 0; h < 3; h++) {
        for (size_t j = 0; j < sizeof(lens) / sizeof(lens[0]); j++) {
            ike_span s[3] = {{seed, 100}, {seed + 100, 8}, {seed + 108, 192}};
            assert_int_equal(ike_prf_plus(prfs[h], key, sizeof(key), s, 3, out, lens[j]),
                             IKE_CRYPTO_OK);
            tp_ref_prf_plus(md_names[h], key, sizeof(key), seed, 300, ref, lens[j]);
            assert_memory_equal(out, ref, lens[j]);
        }
    }
}

static void test_prf_plus_limits(void **state)
{
    (void)state;
    static uint8_t out[256 * 32];
    uint8_t key[32] = {1};
    ike_span s = {key, sizeof(key)};
    /* 255 blocks is the most the one-octet counter allows. */
    assert_int_equal(ike_prf_plus(IKE_PRF_HMAC_SHA2_256, key, 32, &s, 1, out, 255 * 32),
                     IKE_CRYPTO_OK);
    assert_int_equal(ike_prf_plus(IKE_PRF_HMAC_SHA2_256, key, 32, &s, 1, out, 255 * 32 + 1),
                     IKE_CRYPTO_ERR_INVALID_ARG);
    assert_int_equal(ike_prf_plus(99, key, 32, &s, 1, out, 32), IKE_CRYPTO_ERR_UNSUPPORTED);
    assert_int_equal(ike_prf(99, key, 32, &s, 1, out), IKE_CRYPTO_ERR_UNSUPPORTED);
    assert_int_equal(ike_prf_out_len(99), 0);
    /* An empty key is legal for HMAC. */
    assert_int_equal(ike_prf(IKE_PRF_HMAC_SHA2_256, NULL, 0, &s, 1, out), IKE_CRYPTO_OK);
}

static void test_suite_check(void **state)
{
    (void)state;
    ike_suite gcm = {IKE_ENCR_AES_GCM_16, 256, IKE_INTEG_NONE, IKE_PRF_HMAC_SHA2_384,
                     IKE_DH_CURVE25519};
    ike_suite cbc = {IKE_ENCR_AES_CBC, 128, IKE_INTEG_HMAC_SHA2_256_128, IKE_PRF_HMAC_SHA2_256,
                     IKE_DH_ECP_256};
    assert_int_equal(ike_crypto_suite_check(&gcm), IKE_CRYPTO_OK);
    assert_int_equal(ike_crypto_suite_check(&cbc), IKE_CRYPTO_OK);
    gcm.integ = IKE_INTEG_HMAC_SHA2_256_128;
    assert_int_equal(ike_crypto_suite_check(&gcm), IKE_CRYPTO_ERR_INVALID_ARG);
    cbc.integ = IKE_INTEG_NONE;
    assert_int_equal(ike_crypto_suite_check(&cbc), IKE_CRYPTO_ERR_INVALID_ARG);
    cbc.integ = IKE_INTEG_HMAC_SHA2_512_256;
    cbc.encr_keybits = 192;
    assert_int_equal(ike_crypto_suite_check(&cbc), IKE_CRYPTO_ERR_UNSUPPORTED);
    assert_string_equal(ike_crypto_strerror(IKE_CRYPTO_ERR_INTEGRITY), "integrity check failed");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc4231),
        cmocka_unit_test(test_prf_plus_reference),
        cmocka_unit_test(test_prf_plus_limits),
        cmocka_unit_test(test_suite_check),
    };
    int rc = cmocka_run_group_tests_name("ikecrypto_prf", tests, setup, NULL);
    ike_crypto_fini();
    return rc;
}

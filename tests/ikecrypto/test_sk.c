/* SK payload protection: AES-GCM known answers (GCM specification test
 * cases 4 and 16 seen through RFC 5282's salt | IV nonce), AES-CBC + HMAC
 * round trips, and every kind of tampering rejected. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "ike_sk.h"
#include "testpki.h"

static int setup(void **state)
{
    (void)state;
    return ike_crypto_init() == IKE_CRYPTO_OK ? 0 : -1;
}

static const char gcm_aad[] = "feedfacedeadbeeffeedfacedeadbeefabaddad2";
static const char gcm_salt_iv[] = "cafebabe facedbaddecaf888";
static const char gcm_plain[] = "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
                                "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39";
static const struct {
    uint16_t bits;
    const char *key, *ct, *tag;
} gcm_vecs[] = {
    {128, "feffe9928665731c6d6a8f9467308308",
     "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
     "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
     "5bc94fbc3221a5db94fae95ae7121a47"},
    {256, "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
     "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
     "76fc6ece0f4e1768cddf8853bb2d551b"},
};

static void test_gcm_known_answer(void **state)
{
    (void)state;
    for (size_t v = 0; v < 2; v++) {
        uint8_t km[36], sv[12], aad[20], body[8 + 60 + 16], plain[100], p_ref[60];
        size_t kl = tp_unhex(gcm_vecs[v].key, km, sizeof(km));
        tp_unhex(gcm_salt_iv, sv, sizeof(sv));
        memcpy(km + kl, sv, 4); /* SK_e = key | salt */
        tp_unhex(gcm_aad, aad, sizeof(aad));
        memcpy(body, sv + 4, 8);
        tp_unhex(gcm_vecs[v].ct, body + 8, 60);
        tp_unhex(gcm_vecs[v].tag, body + 68, 16);
        tp_unhex(gcm_plain, p_ref, sizeof(p_ref));

        ike_sk_dir dir;
        assert_int_equal(ike_sk_dir_init(&dir, IKE_ENCR_AES_GCM_16, gcm_vecs[v].bits,
                                         IKE_INTEG_NONE, km, kl + 4, NULL, 0),
                         IKE_CRYPTO_OK);
        size_t pl = 0;
        assert_int_equal(
            ike_sk_decrypt(&dir, aad, 20, body, sizeof(body), plain, sizeof(plain), &pl),
            IKE_CRYPTO_OK);
        /* The vector's last plaintext octet (0x39) reads as a pad
         * length: 57 octets of padding, 2 octets of payload. */
        assert_int_equal(pl, 60 - 1 - 0x39);
        assert_memory_equal(plain, p_ref, 60);

        /* Any flipped bit anywhere is an integrity failure. */
        size_t spots[] = {0, 7, 8, 40, 67, 68, 83};
        for (size_t i = 0; i < sizeof(spots) / sizeof(spots[0]); i++) {
            body[spots[i]] ^= 0x10;
            memset(plain, 0xaa, sizeof(plain));
            assert_int_equal(
                ike_sk_decrypt(&dir, aad, 20, body, sizeof(body), plain, sizeof(plain), &pl),
                IKE_CRYPTO_ERR_INTEGRITY);
            /* No unauthenticated plaintext is left behind. */
            assert_memory_not_equal(plain, p_ref, 16);
            body[spots[i]] ^= 0x10;
        }
        aad[3] ^= 1;
        assert_int_equal(
            ike_sk_decrypt(&dir, aad, 20, body, sizeof(body), plain, sizeof(plain), &pl),
            IKE_CRYPTO_ERR_INTEGRITY);
        aad[3] ^= 1;
        /* A wrong salt is a wrong nonce. */
        dir.salt[0] ^= 1;
        assert_int_equal(
            ike_sk_decrypt(&dir, aad, 20, body, sizeof(body), plain, sizeof(plain), &pl),
            IKE_CRYPTO_ERR_INTEGRITY);
        ike_sk_dir_wipe(&dir);
    }
}

static void test_gcm_round_trip_and_iv(void **state)
{
    (void)state;
    uint8_t km[36] = {1, 2, 3}, aad[32] = {9}, plain[64], body[128], out[128];
    for (size_t i = 0; i < sizeof(plain); i++)
        plain[i] = (uint8_t)i;
    ike_sk_dir tx, rx;
    assert_int_equal(
        ike_sk_dir_init(&tx, IKE_ENCR_AES_GCM_16, 256, IKE_INTEG_NONE, km, 36, NULL, 0),
        IKE_CRYPTO_OK);
    rx = tx;
    /* 8 IV + plain + pad length octet + 16 ICV; no block padding. */
    assert_int_equal(ike_sk_body_len(&tx, 64), 8 + 65 + 16);
    assert_int_equal(ike_sk_max_plain_len(&tx, 8 + 65 + 16), 64);
    size_t bl = ike_sk_body_len(&tx, 64), pl;
    for (uint64_t n = 0; n < 3; n++) {
        assert_int_equal(ike_sk_encrypt(&tx, aad, sizeof(aad), plain, 64, body, bl), IKE_CRYPTO_OK);
        /* The explicit IV is the big-endian message counter. */
        uint8_t iv[8] = {0, 0, 0, 0, 0, 0, 0, (uint8_t)n};
        assert_memory_equal(body, iv, 8);
        assert_int_equal(ike_sk_decrypt(&rx, aad, sizeof(aad), body, bl, out, sizeof(out), &pl),
                         IKE_CRYPTO_OK);
        assert_int_equal(pl, 64);
        assert_memory_equal(out, plain, 64);
    }
    assert_int_equal(ike_sk_encrypt(&tx, aad, sizeof(aad), plain, 64, body, bl - 1),
                     IKE_CRYPTO_ERR_INVALID_ARG);
    /* The counter never wraps back to an IV already used. */
    atomic_store(&tx.next_iv, UINT64_MAX - 1);
    assert_int_equal(ike_sk_encrypt(&tx, aad, sizeof(aad), plain, 64, body, bl), IKE_CRYPTO_OK);
    assert_int_equal(ike_sk_encrypt(&tx, aad, sizeof(aad), plain, 64, body, bl),
                     IKE_CRYPTO_ERR_IV_EXHAUSTED);
    assert_int_equal(ike_sk_encrypt(&tx, aad, sizeof(aad), plain, 64, body, bl),
                     IKE_CRYPTO_ERR_IV_EXHAUSTED);
    /* Empty inner payload list, and a body too short to be genuine. */
    assert_int_equal(ike_sk_encrypt(&rx, aad, sizeof(aad), NULL, 0, body, 8 + 1 + 16),
                     IKE_CRYPTO_OK);
    assert_int_equal(ike_sk_decrypt(&rx, aad, sizeof(aad), body, 25, out, sizeof(out), &pl),
                     IKE_CRYPTO_OK);
    assert_int_equal(pl, 0);
    assert_int_equal(ike_sk_decrypt(&rx, aad, sizeof(aad), body, 24, out, sizeof(out), &pl),
                     IKE_CRYPTO_ERR_TRUNCATED);
    ike_sk_dir_wipe(&tx);
    ike_sk_dir_wipe(&rx);
}

static const uint16_t integs[] = {IKE_INTEG_HMAC_SHA2_256_128, IKE_INTEG_HMAC_SHA2_384_192,
                                  IKE_INTEG_HMAC_SHA2_512_256};
static const size_t integ_keys[] = {32, 48, 64};
static const size_t icvs[] = {16, 24, 32};

static void test_cbc_round_trip_and_tamper(void **state)
{
    (void)state;
    uint8_t ek[32], ak[64], aad[32], plain[80], body[200], out[200];
    for (size_t i = 0; i < sizeof(ek); i++)
        ek[i] = (uint8_t)(0x30 + i);
    memset(ak, 0x42, sizeof(ak));
    memset(aad, 0x28, sizeof(aad));
    for (size_t i = 0; i < sizeof(plain); i++)
        plain[i] = (uint8_t)(i * 3);
    static const uint16_t bits[] = {128, 256};
    for (int b = 0; b < 2; b++) {
        for (int g = 0; g < 3; g++) {
            ike_sk_dir d;
            assert_int_equal(ike_sk_dir_init(&d, IKE_ENCR_AES_CBC, bits[b], integs[g], ek,
                                             bits[b] / 8, ak, integ_keys[g]),
                             IKE_CRYPTO_OK);
            for (size_t len = 0; len <= 40; len += 5) {
                size_t bl = ike_sk_body_len(&d, len), pl;
                /* IV, whole blocks holding payload + pad length, ICV */
                assert_int_equal((bl - 16 - icvs[g]) % 16, 0);
                assert_true(bl - 16 - icvs[g] >= len + 1);
                assert_true(bl - 16 - icvs[g] < len + 1 + 16);
                assert_int_equal(ike_sk_encrypt(&d, aad, sizeof(aad), plain, len, body, bl),
                                 IKE_CRYPTO_OK);
                assert_int_equal(
                    ike_sk_decrypt(&d, aad, sizeof(aad), body, bl, out, sizeof(out), &pl),
                    IKE_CRYPTO_OK);
                assert_int_equal(pl, len);
                assert_memory_equal(out, plain, len);
                /* IV, ciphertext, ICV, AAD: each tampered. */
                size_t spots[] = {0, 16, bl - icvs[g] - 1, bl - 1};
                for (size_t s = 0; s < 4; s++) {
                    body[spots[s]] ^= 0x80;
                    assert_int_equal(
                        ike_sk_decrypt(&d, aad, sizeof(aad), body, bl, out, sizeof(out), &pl),
                        IKE_CRYPTO_ERR_INTEGRITY);
                    body[spots[s]] ^= 0x80;
                }
                aad[27] ^= 4;
                assert_int_equal(
                    ike_sk_decrypt(&d, aad, sizeof(aad), body, bl, out, sizeof(out), &pl),
                    IKE_CRYPTO_ERR_INTEGRITY);
                aad[27] ^= 4;
                /* Not a whole number of blocks / too short. */
                assert_int_equal(
                    ike_sk_decrypt(&d, aad, sizeof(aad), body, bl - 1, out, sizeof(out), &pl),
                    IKE_CRYPTO_ERR_TRUNCATED);
                assert_int_equal(ike_sk_decrypt(&d, aad, sizeof(aad), body, 16 + icvs[g] + 8, out,
                                                sizeof(out), &pl),
                                 IKE_CRYPTO_ERR_TRUNCATED);
            }
            assert_true(ike_sk_err_is_silent_drop(IKE_CRYPTO_ERR_INTEGRITY));
            assert_true(ike_sk_err_is_silent_drop(IKE_CRYPTO_ERR_TRUNCATED));
            assert_false(ike_sk_err_is_silent_drop(IKE_CRYPTO_ERR_BAD_PADDING));
            ike_sk_dir_wipe(&d);
        }
    }
}

/* An authentic message whose pad length points before the ciphertext:
 * built here with plain OpenSSL calls (AES-128-CBC, HMAC-SHA-256-128). */
static void test_cbc_bad_padding(void **state)
{
    (void)state;
    uint8_t ek[16] = {7}, ak[32] = {8}, aad[28] = {1}, body[16 + 16 + 16], out[64];
    uint8_t block[16] = {0};
    block[15] = 0x20;       /* 32 octets of padding in a 16-octet ciphertext */
    memset(body, 0x11, 16); /* IV */
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n = 0, m = 0;
    assert_true(EVP_EncryptInit_ex(c, EVP_aes_128_cbc(), NULL, ek, body));
    EVP_CIPHER_CTX_set_padding(c, 0);
    assert_true(EVP_EncryptUpdate(c, body + 16, &n, block, 16));
    assert_true(EVP_EncryptFinal_ex(c, body + 16 + n, &m));
    EVP_CIPHER_CTX_free(c);
    uint8_t mac_in[28 + 32], mac[32];
    unsigned int ml = 0;
    memcpy(mac_in, aad, 28);
    memcpy(mac_in + 28, body, 32);
    HMAC(EVP_sha256(), ak, 32, mac_in, sizeof(mac_in), mac, &ml);
    memcpy(body + 32, mac, 16);

    ike_sk_dir d;
    assert_int_equal(
        ike_sk_dir_init(&d, IKE_ENCR_AES_CBC, 128, IKE_INTEG_HMAC_SHA2_256_128, ek, 16, ak, 32),
        IKE_CRYPTO_OK);
    size_t pl;
    assert_int_equal(ike_sk_decrypt(&d, aad, 28, body, sizeof(body), out, sizeof(out), &pl),
                     IKE_CRYPTO_ERR_BAD_PADDING);
    /* Same message with a sane pad length decrypts: proves the MAC is right. */
    block[15] = 15;
    c = EVP_CIPHER_CTX_new();
    assert_true(EVP_EncryptInit_ex(c, EVP_aes_128_cbc(), NULL, ek, body));
    EVP_CIPHER_CTX_set_padding(c, 0);
    assert_true(EVP_EncryptUpdate(c, body + 16, &n, block, 16));
    EVP_CIPHER_CTX_free(c);
    memcpy(mac_in + 28, body, 32);
    HMAC(EVP_sha256(), ak, 32, mac_in, sizeof(mac_in), mac, &ml);
    memcpy(body + 32, mac, 16);
    assert_int_equal(ike_sk_decrypt(&d, aad, 28, body, sizeof(body), out, sizeof(out), &pl),
                     IKE_CRYPTO_OK);
    assert_int_equal(pl, 0);
}

static void test_dir_init_errors(void **state)
{
    (void)state;
    uint8_t k[64] = {0};
    ike_sk_dir d;
    /* GCM needs key + 4 salt octets and no integrity key. */
    assert_int_equal(ike_sk_dir_init(&d, IKE_ENCR_AES_GCM_16, 128, IKE_INTEG_NONE, k, 16, NULL, 0),
                     IKE_CRYPTO_ERR_INVALID_ARG);
    assert_int_equal(
        ike_sk_dir_init(&d, IKE_ENCR_AES_GCM_16, 128, IKE_INTEG_HMAC_SHA2_256_128, k, 20, k, 32),
        IKE_CRYPTO_ERR_INVALID_ARG);
    assert_int_equal(
        ike_sk_dir_init(&d, IKE_ENCR_AES_CBC, 256, IKE_INTEG_HMAC_SHA2_384_192, k, 32, k, 32),
        IKE_CRYPTO_ERR_INVALID_ARG);
    assert_int_equal(ike_sk_dir_init(&d, 3, 192, IKE_INTEG_HMAC_SHA2_256_128, k, 24, k, 32),
                     IKE_CRYPTO_ERR_UNSUPPORTED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gcm_known_answer),
        cmocka_unit_test(test_gcm_round_trip_and_iv),
        cmocka_unit_test(test_cbc_round_trip_and_tamper),
        cmocka_unit_test(test_cbc_bad_padding),
        cmocka_unit_test(test_dir_init_errors),
    };
    int rc = cmocka_run_group_tests_name("ikecrypto_sk", tests, setup, NULL);
    ike_crypto_fini();
    return rc;
}

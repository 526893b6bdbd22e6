/* Key derivation checked against an independent computation of RFC 7296
 * §2.14 (IKE SA), §2.17 (CHILD SA) and §2.18 (IKE SA rekey). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "ike_keys.h"
#include "testpki.h"

static uint8_t ni[32], nr[48], gir[256], spi_i[8], spi_r[8];

static int setup(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(ni); i++)
        ni[i] = (uint8_t)(0xa0 + i);
    for (size_t i = 0; i < sizeof(nr); i++)
        nr[i] = (uint8_t)(0x10 + 3 * i);
    for (size_t i = 0; i < sizeof(gir); i++)
        gir[i] = (uint8_t)(i * 11);
    memcpy(spi_i, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    memcpy(spi_r, "\xf1\xf2\xf3\xf4\xf5\xf6\xf7\xf8", 8);
    return ike_crypto_init() == IKE_CRYPTO_OK ? 0 : -1;
}

/* Reference keymat for the IKE SA: returns its length. */
static size_t ref_ike(const char *md, const uint8_t *skeyseed, size_t sl, uint8_t *km, size_t total)
{
    uint8_t seed[32 + 48 + 16];
    memcpy(seed, ni, 32);
    memcpy(seed + 32, nr, 48);
    memcpy(seed + 80, spi_i, 8);
    memcpy(seed + 88, spi_r, 8);
    tp_ref_prf_plus(md, skeyseed, sl, seed, sizeof(seed), km, total);
    return total;
}

static void test_ike_sa_init_cbc(void **state)
{
    (void)state;
    ike_suite s = {IKE_ENCR_AES_CBC, 256, IKE_INTEG_HMAC_SHA2_384_192, IKE_PRF_HMAC_SHA2_512,
                   IKE_DH_MODP_2048};
    ike_span sni = {ni, sizeof(ni)}, snr = {nr, sizeof(nr)}, sg = {gir, sizeof(gir)};
    ike_sa_keys k;
    assert_int_equal(ike_keys_ike_sa_init(&s, &sg, &sni, &snr, spi_i, spi_r, &k), IKE_CRYPTO_OK);

    uint8_t nonces[80], skeyseed[64], km[3 * 64 + 2 * 48 + 2 * 32];
    unsigned int l = 0;
    memcpy(nonces, ni, 32);
    memcpy(nonces + 32, nr, 48);
    HMAC(EVP_sha512(), nonces, 80, gir, sizeof(gir), skeyseed, &l);
    ref_ike("SHA512", skeyseed, 64, km, sizeof(km));
    /* SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr */
    assert_int_equal(k.prf_len, 64);
    assert_memory_equal(k.sk_d, km, 64);
    assert_memory_equal(k.sk_i.integ_key, km + 64, 48);
    assert_memory_equal(k.sk_r.integ_key, km + 112, 48);
    assert_memory_equal(k.sk_i.encr_key, km + 160, 32);
    assert_memory_equal(k.sk_r.encr_key, km + 192, 32);
    assert_memory_equal(k.sk_pi, km + 224, 64);
    assert_memory_equal(k.sk_pr, km + 288, 64);
    ike_keys_drop_auth(&k);
    uint8_t zero[64] = {0};
    assert_memory_equal(k.sk_pi, zero, 64);
    ike_keys_wipe(&k);
    assert_memory_equal(k.sk_d, zero, 64);
}

static void test_ike_sa_init_gcm(void **state)
{
    (void)state;
    ike_suite s = {IKE_ENCR_AES_GCM_16, 128, IKE_INTEG_NONE, IKE_PRF_HMAC_SHA2_256, IKE_DH_ECP_256};
    ike_span sni = {ni, sizeof(ni)}, snr = {nr, sizeof(nr)}, sg = {gir, 32};
    ike_sa_keys k;
    assert_int_equal(ike_keys_ike_sa_init(&s, &sg, &sni, &snr, spi_i, spi_r, &k), IKE_CRYPTO_OK);
    uint8_t nonces[80], skeyseed[32], km[3 * 32 + 2 * 20];
    unsigned int l = 0;
    memcpy(nonces, ni, 32);
    memcpy(nonces + 32, nr, 48);
    HMAC(EVP_sha256(), nonces, 80, gir, 32, skeyseed, &l);
    ref_ike("SHA256", skeyseed, 32, km, sizeof(km));
    /* No SK_a; each SK_e is 16 key octets then 4 salt octets. */
    assert_memory_equal(k.sk_d, km, 32);
    assert_memory_equal(k.sk_i.encr_key, km + 32, 16);
    assert_memory_equal(k.sk_i.salt, km + 48, 4);
    assert_memory_equal(k.sk_r.encr_key, km + 52, 16);
    assert_memory_equal(k.sk_r.salt, km + 68, 4);
    assert_memory_equal(k.sk_pi, km + 72, 32);
    assert_memory_equal(k.sk_pr, km + 104, 32);
    assert_int_equal(k.sk_i.integ_key_len, 0);
    ike_keys_wipe(&k);
}

static void test_child(void **state)
{
    (void)state;
    ike_suite s = {IKE_ENCR_AES_GCM_16, 256, IKE_INTEG_NONE, IKE_PRF_HMAC_SHA2_384,
                   IKE_DH_CURVE25519};
    ike_span sni = {ni, sizeof(ni)}, snr = {nr, sizeof(nr)}, sg = {gir, 32};
    ike_sa_keys k;
    assert_int_equal(ike_keys_ike_sa_init(&s, &sg, &sni, &snr, spi_i, spi_r, &k), IKE_CRYPTO_OK);

    /* Without PFS: KEYMAT = prf+(SK_d, Ni | Nr); ESP AES-CBC-128 + SHA-256. */
    ike_child_keys c;
    assert_int_equal(ike_keys_child(&k, IKE_ENCR_AES_CBC, 128, IKE_INTEG_HMAC_SHA2_256_128, NULL,
                                    &sni, &snr, &c),
                     IKE_CRYPTO_OK);
    uint8_t seed[32 + 32 + 48], km[2 * (36 + 64)];
    memcpy(seed, ni, 32);
    memcpy(seed + 32, nr, 48);
    tp_ref_prf_plus("SHA384", k.sk_d, 48, seed, 80, km, 2 * (16 + 32));
    assert_int_equal(c.encr_len, 16);
    assert_int_equal(c.integ_len, 32);
    assert_memory_equal(c.encr_i, km, 16);
    assert_memory_equal(c.integ_i, km + 16, 32);
    assert_memory_equal(c.encr_r, km + 48, 16);
    assert_memory_equal(c.integ_r, km + 64, 32);

    /* With PFS: g^ir (new) first; ESP AES-GCM-256 takes 36 octets each. */
    uint8_t newgir[32];
    memset(newgir, 0x77, sizeof(newgir));
    ike_span sng = {newgir, 32};
    assert_int_equal(
        ike_keys_child(&k, IKE_ENCR_AES_GCM_16, 256, IKE_INTEG_NONE, &sng, &sni, &snr, &c),
        IKE_CRYPTO_OK);
    memcpy(seed, newgir, 32);
    memcpy(seed + 32, ni, 32);
    memcpy(seed + 64, nr, 48);
    tp_ref_prf_plus("SHA384", k.sk_d, 48, seed, 112, km, 72);
    assert_int_equal(c.encr_len, 36);
    assert_int_equal(c.integ_len, 0);
    assert_memory_equal(c.encr_i, km, 36);
    assert_memory_equal(c.encr_r, km + 36, 36);
    ike_keys_child_wipe(&c);
    ike_keys_wipe(&k);
}

static void test_rekey(void **state)
{
    (void)state;
    ike_suite old_s = {IKE_ENCR_AES_GCM_16, 128, IKE_INTEG_NONE, IKE_PRF_HMAC_SHA2_256,
                       IKE_DH_ECP_256};
    ike_suite new_s = {IKE_ENCR_AES_CBC, 128, IKE_INTEG_HMAC_SHA2_256_128, IKE_PRF_HMAC_SHA2_512,
                       IKE_DH_CURVE25519};
    ike_span sni = {ni, sizeof(ni)}, snr = {nr, sizeof(nr)}, sg = {gir, 32};
    ike_sa_keys old, nk;
    assert_int_equal(ike_keys_ike_sa_init(&old_s, &sg, &sni, &snr, spi_i, spi_r, &old),
                     IKE_CRYPTO_OK);
    uint8_t g2[32];
    memset(g2, 0x5c, sizeof(g2));
    ike_span sg2 = {g2, 32};
    assert_int_equal(ike_keys_ike_rekey(&old, &new_s, &sg2, &sni, &snr, spi_i, spi_r, &nk),
                     IKE_CRYPTO_OK);
    /* SKEYSEED = prf_old(SK_d(old), g^ir(new) | Ni | Nr), then the new
     * PRF expands it. */
    uint8_t in[32 + 32 + 48], skeyseed[32], km[64];
    unsigned int l = 0;
    memcpy(in, g2, 32);
    memcpy(in + 32, ni, 32);
    memcpy(in + 64, nr, 48);
    HMAC(EVP_sha256(), old.sk_d, 32, in, sizeof(in), skeyseed, &l);
    ref_ike("SHA512", skeyseed, 32, km, sizeof(km));
    assert_int_equal(nk.prf, IKE_PRF_HMAC_SHA2_512);
    assert_memory_equal(nk.sk_d, km, 64);
    ike_keys_wipe(&old);
    ike_keys_wipe(&nk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ike_sa_init_cbc),
        cmocka_unit_test(test_ike_sa_init_gcm),
        cmocka_unit_test(test_child),
        cmocka_unit_test(test_rekey),
    };
    int rc = cmocka_run_group_tests_name("ikecrypto_keys", tests, setup, NULL);
    ike_crypto_fini();
    return rc;
}

/* Key exchange: RFC 5903 §8 and RFC 7748 known answers, MODP agreement,
 * and rejection of invalid peer values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ike_dh.h"
#include "testpki.h"

static int setup(void **state)
{
    (void)state;
    return ike_crypto_init() == IKE_CRYPTO_OK ? 0 : -1;
}

struct ecp_vec {
    uint16_t group;
    const char *i, *gix, *giy, *r, *grx, *gry, *girx;
};

/* RFC 5903 §8.1, §8.2, §8.3 */
static const struct ecp_vec ecp_vecs[] = {
    {IKE_DH_ECP_256, "C88F01F5 10D9AC3F 70A292DA A2316DE5 44E9AAB8 AFE84049 C62A9C57 862D1433",
     "DAD0B653 94221CF9 B051E1FE CA5787D0 98DFE637 FC90B9EF 945D0C37 72581180",
     "5271A046 1CDB8252 D61F1C45 6FA3E59A B1F45B33 ACCF5F58 389E0577 B8990BB3",
     "C6EF9C5D 78AE012A 011164AC B397CE20 88685D8F 06BF9BE0 B283AB46 476BEE53",
     "D12DFB52 89C8D4F8 1208B702 70398C34 2296970A 0BCCB74C 736FC755 4494BF63",
     "56FBF3CA 366CC23E 8157854C 13C58D6A AC23F046 ADA30F83 53E74F33 039872AB",
     "D6840F6B 42F6EDAF D13116E0 E1256520 2FEF8E9E CE7DCE03 812464D0 4B9442DE"},
    {IKE_DH_ECP_384,
     "099F3C70 34D4A2C6 99884D73 A375A67F 7624EF7C 6B3C0F16 0647B674 14DCE655"
     "E35B5380 41E649EE 3FAEF896 783AB194",
     "667842D7 D180AC2C DE6F74F3 7551F557 55C7645C 20EF73E3 1634FE72 B4C55EE6"
     "DE3AC808 ACB4BDB4 C88732AE E95F41AA",
     "9482ED1F C0EEB9CA FC498462 5CCFC23F 65032149 E0E144AD A0241815 35A0F38E"
     "EB9FCFF3 C2C947DA E69B4C63 4573A81C",
     "41CB0779 B4BDB85D 47846725 FBEC3C94 30FAB46C C8DC5060 855CC9BD A0AA2942"
     "E0308312 916B8ED2 960E4BD5 5A7448FC",
     "E558DBEF 53EECDE3 D3FCCFC1 AEA08A89 A987475D 12FD950D 83CFA417 32BC509D"
     "0D1AC43A 0336DEF9 6FDA41D0 774A3571",
     "DCFBEC7A ACF31964 72169E83 8430367F 66EEBE3C 6E70C416 DD5F0C68 759DD1FF"
     "F83FA401 42209DFF 5EAAD96D B9E6386C",
     "11187331 C279962D 93D60424 3FD592CB 9D0A926F 422E4718 7521287E 7156C5C4"
     "D6031355 69B9E9D0 9CF5D4A2 70F59746"},
    {IKE_DH_ECP_521,
     "0037ADE9 319A89F4 DABDB3EF 411AACCC A5123C61 ACAB57B5 393DCE47 608172A0"
     "95AA85A3 0FE1C295 2C6771D9 37BA9777 F5957B26 39BAB072 462F68C2 7A57382D 4A52",
     "0015417E 84DBF28C 0AD3C278 713349DC 7DF153C8 97A1891B D98BAB43 57C9ECBE"
     "E1E3BF42 E00B8E38 0AEAE57C 2D107564 94188594 2AF5A7F4 601723C4 195D176C ED3E",
     "017CAE20 B6641D2E EB695786 D8C94614 6239D099 E18E1D5A 514C739D 7CB4A10A"
     "D8A78801 5AC405D7 799DC75E 7B7D5B6C F2261A6A 7F150743 8BF01BEB 6CA3926F 9582",
     "0145BA99 A847AF43 793FDD0E 872E7CDF A16BE30F DC780F97 BCCC3F07 8380201E"
     "9C677D60 0B343757 A3BDBF2A 3163E4C2 F869CCA7 458AA4A4 EFFC311F 5CB15168 5EB9",
     "00D0B397 5AC4B799 F5BEA16D 5E13E9AF 971D5E9B 984C9F39 728B5E57 39735A21"
     "9B97C356 436ADC6E 95BB0352 F6BE64A6 C2912D4E F2D0433C ED2B6171 640012D9 460F",
     "015C6822 6383956E 3BD066E7 97B623C2 7CE0EAC2 F551A10C 2C724D98 52077B87"
     "220B6536 C5C408A1 D2AEBB8E 86D678AE 49CB5709 1F473229 6579AB44 FCD17F0F C56A",
     "01144C7D 79AE6956 BC8EDB8E 7C787C45 21CB086F A64407F9 7894E5E6 B2D79B04"
     "D1427E73 CA4BAA24 0A347868 59810C06 B3C715A3 A8CC3151 F2BEE417 996D19F3 DDEA"},
};

static void check_ecp_side(uint16_t group, const char *priv_hex, const char *x, const char *y,
                           const char *peer_x, const char *peer_y, const char *secret_hex)
{
    uint8_t priv[80], pub[200], peer[200], want[80], got[IKE_DH_MAX_SECRET];
    size_t pl = tp_unhex(priv_hex, priv, sizeof(priv));
    size_t n = tp_unhex(x, pub, sizeof(pub));
    n += tp_unhex(y, pub + n, sizeof(pub) - n);
    size_t m = tp_unhex(peer_x, peer, sizeof(peer));
    m += tp_unhex(peer_y, peer + m, sizeof(peer) - m);
    size_t wl = tp_unhex(secret_hex, want, sizeof(want));

    ike_dh *dh = NULL;
    assert_int_equal(ike_dh_new_from_private(group, priv, pl, &dh), IKE_CRYPTO_OK);
    size_t publen = 0;
    const uint8_t *p = ike_dh_public(dh, &publen);
    /* KE data is x | y, each padded to the field size, no 0x04 octet. */
    assert_int_equal(publen, ike_dh_public_len(group));
    assert_int_equal(publen, n);
    assert_memory_equal(p, pub, n);
    size_t sl = 0;
    assert_int_equal(ike_dh_derive(dh, peer, m, got, sizeof(got), &sl), IKE_CRYPTO_OK);
    assert_int_equal(sl, wl);
    assert_int_equal(sl, ike_dh_secret_len(group));
    assert_memory_equal(got, want, wl);
    ike_dh_free(dh);
}

static void test_rfc5903(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(ecp_vecs) / sizeof(ecp_vecs[0]); i++) {
        const struct ecp_vec *v = &ecp_vecs[i];
        check_ecp_side(v->group, v->i, v->gix, v->giy, v->grx, v->gry, v->girx);
        check_ecp_side(v->group, v->r, v->grx, v->gry, v->gix, v->giy, v->girx);
    }
}

static void x25519_kat(const char *scalar, const char *u, const char *out)
{
    uint8_t k[32], uu[32], want[32], got[32];
    tp_unhex(scalar, k, 32);
    tp_unhex(u, uu, 32);
    tp_unhex(out, want, 32);
    ike_dh *dh = NULL;
    size_t sl = 0;
    assert_int_equal(ike_dh_new_from_private(IKE_DH_CURVE25519, k, 32, &dh), IKE_CRYPTO_OK);
    assert_int_equal(ike_dh_derive(dh, uu, 32, got, sizeof(got), &sl), IKE_CRYPTO_OK);
    assert_int_equal(sl, 32);
    assert_memory_equal(got, want, 32);
    ike_dh_free(dh);
}

static void test_rfc7748(void **state)
{
    (void)state;
    /* §5.2 (the second u has its top bit set, which must be ignored) */
    x25519_kat("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
               "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
               "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");
    x25519_kat("4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
               "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
               "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957");

    /* §6.1: both public values and the shared secret. */
    static const char *a = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
    static const char *a_pub = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";
    static const char *b = "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb";
    static const char *b_pub = "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f";
    static const char *k = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";
    uint8_t priv[32], want[32];
    ike_dh *dh = NULL;
    size_t len = 0;
    tp_unhex(a, priv, 32);
    assert_int_equal(ike_dh_new_from_private(IKE_DH_CURVE25519, priv, 32, &dh), IKE_CRYPTO_OK);
    tp_unhex(a_pub, want, 32);
    assert_memory_equal(ike_dh_public(dh, &len), want, 32);
    assert_int_equal(len, 32);
    ike_dh_free(dh);
    tp_unhex(b, priv, 32);
    assert_int_equal(ike_dh_new_from_private(IKE_DH_CURVE25519, priv, 32, &dh), IKE_CRYPTO_OK);
    tp_unhex(b_pub, want, 32);
    assert_memory_equal(ike_dh_public(dh, &len), want, 32);
    ike_dh_free(dh);
    x25519_kat(a, b_pub, k);
    x25519_kat(b, a_pub, k);
}

/* Two fresh key pairs agree; also exercises ike_dh_new for every group. */
static void agree(uint16_t group)
{
    ike_dh *a = NULL, *b = NULL;
    assert_int_equal(ike_dh_new(group, &a), IKE_CRYPTO_OK);
    assert_int_equal(ike_dh_new(group, &b), IKE_CRYPTO_OK);
    assert_int_equal(ike_dh_group(a), group);
    size_t al, bl, s1l, s2l;
    const uint8_t *ap = ike_dh_public(a, &al), *bp = ike_dh_public(b, &bl);
    assert_int_equal(al, ike_dh_public_len(group));
    assert_memory_not_equal(ap, bp, al);
    uint8_t s1[IKE_DH_MAX_SECRET], s2[IKE_DH_MAX_SECRET];
    assert_int_equal(ike_dh_derive(a, bp, bl, s1, sizeof(s1), &s1l), IKE_CRYPTO_OK);
    assert_int_equal(ike_dh_derive(b, ap, al, s2, sizeof(s2), &s2l), IKE_CRYPTO_OK);
    assert_int_equal(s1l, ike_dh_secret_len(group));
    assert_int_equal(s1l, s2l);
    assert_memory_equal(s1, s2, s1l);
    ike_dh_free(a);
    ike_dh_free(b);
}

static void test_agreement(void **state)
{
    (void)state;
    static const uint16_t groups[] = {IKE_DH_MODP_2048, IKE_DH_MODP_3072, IKE_DH_MODP_4096,
                                      IKE_DH_ECP_256,   IKE_DH_ECP_384,   IKE_DH_ECP_521,
                                      IKE_DH_CURVE25519};
    for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
        agree(groups[i]);
    assert_false(ike_dh_group_supported(32));
    ike_dh *dh = NULL;
    assert_int_equal(ike_dh_new(2, &dh), IKE_CRYPTO_ERR_UNSUPPORTED);
    assert_null(dh);
}

/* RFC 3526 MODP-2048 prime, to build the boundary values p-1 and p. */
static const char modp2048_p[] = "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74"
                                 "020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437"
                                 "4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
                                 "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05"
                                 "98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB"
                                 "9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
                                 "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718"
                                 "3995497CEA956AE515D2261898FA051015728E5A8AACAA68FFFFFFFFFFFFFFFF";

static void test_modp_bad_values(void **state)
{
    (void)state;
    ike_dh *dh = NULL;
    assert_int_equal(ike_dh_new(IKE_DH_MODP_2048, &dh), IKE_CRYPTO_OK);
    uint8_t v[256], secret[256];
    size_t sl = 99;
    /* 0, 1 */
    memset(v, 0, sizeof(v));
    assert_int_equal(ike_dh_derive(dh, v, 256, secret, sizeof(secret), &sl),
                     IKE_CRYPTO_ERR_BAD_PEER_KE);
    assert_int_equal(sl, 0);
    v[255] = 1;
    assert_int_equal(ike_dh_derive(dh, v, 256, secret, sizeof(secret), &sl),
                     IKE_CRYPTO_ERR_BAD_PEER_KE);
    /* p - 1, p, p + 1 and all-ones (> p) */
    tp_unhex(modp2048_p, v, 256);
    assert_int_equal(ike_dh_derive(dh, v, 256, secret, sizeof(secret), &sl),
                     IKE_CRYPTO_ERR_BAD_PEER_KE);
    v[255] = 0xfe;
    assert_int_equal(ike_dh_derive(dh, v, 256, secret, sizeof(secret), &sl),
                     IKE_CRYPTO_ERR_BAD_PEER_KE);
    v[255] = 0xfd; /* p - 2: the largest legal value */
    assert_int_equal(ike_dh_derive(dh, v, 256, secret, sizeof(secret), &sl), IKE_CRYPTO_OK);
    memset(v, 0xff, sizeof(v));
    assert_int_equal(ike_dh_derive(dh, v, 256, secret, sizeof(secret), &sl),
                     IKE_CRYPTO_ERR_BAD_PEER_KE);
    /* 2 is fine; wrong lengths are not. */
    memset(v, 0, sizeof(v));
    v[255] = 2;
    assert_int_equal(ike_dh_derive(dh, v, 256, secret, sizeof(secret), &sl), IKE_CRYPTO_OK);
    assert_int_equal(sl, 256);
    assert_int_equal(ike_dh_derive(dh, v + 1, 255, secret, sizeof(secret), &sl),
                     IKE_CRYPTO_ERR_BAD_PEER_KE);
    assert_int_equal(ike_dh_derive(dh, v, 256, secret, 255, &sl), IKE_CRYPTO_ERR_INVALID_ARG);
    ike_dh_free(dh);
}

static void test_ecp_bad_points(void **state)
{
    (void)state;
    static const uint16_t groups[] = {IKE_DH_ECP_256, IKE_DH_ECP_384, IKE_DH_ECP_521};
    for (size_t g = 0; g < 3; g++) {
        ike_dh *a = NULL, *b = NULL;
        assert_int_equal(ike_dh_new(groups[g], &a), IKE_CRYPTO_OK);
        assert_int_equal(ike_dh_new(groups[g], &b), IKE_CRYPTO_OK);
        size_t n = 0;
        uint8_t pt[IKE_DH_MAX_PUB], secret[IKE_DH_MAX_SECRET];
        memcpy(pt, ike_dh_public(b, &n), n);
        size_t sl;
        /* Off the curve: last octet of y changed. */
        pt[n - 1] ^= 1;
        assert_int_equal(ike_dh_derive(a, pt, n, secret, sizeof(secret), &sl),
                         IKE_CRYPTO_ERR_BAD_PEER_KE);
        /* The all-zero encoding (no valid point) and coordinates >= p. */
        memset(pt, 0, n);
        assert_int_equal(ike_dh_derive(a, pt, n, secret, sizeof(secret), &sl),
                         IKE_CRYPTO_ERR_BAD_PEER_KE);
        memset(pt, 0xff, n);
        assert_int_equal(ike_dh_derive(a, pt, n, secret, sizeof(secret), &sl),
                         IKE_CRYPTO_ERR_BAD_PEER_KE);
        /* With a point format octet prepended (wrong length). */
        uint8_t with04[1 + IKE_DH_MAX_PUB] = {0x04};
        memcpy(with04 + 1, ike_dh_public(b, NULL), n);
        assert_int_equal(ike_dh_derive(a, with04, n + 1, secret, sizeof(secret), &sl),
                         IKE_CRYPTO_ERR_BAD_PEER_KE);
        ike_dh_free(a);
        ike_dh_free(b);
    }
}

static void test_x25519_low_order(void **state)
{
    (void)state;
    ike_dh *dh = NULL;
    assert_int_equal(ike_dh_new(IKE_DH_CURVE25519, &dh), IKE_CRYPTO_OK);
    uint8_t u[32] = {0}, secret[32];
    size_t sl;
    /* u = 0 and u = 1 are of low order: the result is all zeros. */
    assert_int_equal(ike_dh_derive(dh, u, 32, secret, sizeof(secret), &sl),
                     IKE_CRYPTO_ERR_BAD_PEER_KE);
    u[0] = 1;
    assert_int_equal(ike_dh_derive(dh, u, 32, secret, sizeof(secret), &sl),
                     IKE_CRYPTO_ERR_BAD_PEER_KE);
    assert_int_equal(ike_dh_derive(dh, u, 31, secret, sizeof(secret), &sl),
                     IKE_CRYPTO_ERR_BAD_PEER_KE);
    ike_dh_free(dh);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc5903),        cmocka_unit_test(test_rfc7748),
        cmocka_unit_test(test_agreement),      cmocka_unit_test(test_modp_bad_values),
        cmocka_unit_test(test_ecp_bad_points), cmocka_unit_test(test_x25519_low_order),
    };
    int rc = cmocka_run_group_tests_name("ikecrypto_dh", tests, setup, NULL);
    ike_crypto_fini();
    return rc;
}

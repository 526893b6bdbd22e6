#include "ike_keys.h"

#include <string.h>

ike_crypto_err ike_keys_skeyseed(uint16_t prf, const ike_span *ni, const ike_span *nr,
                                 const ike_span *gir, uint8_t *out)
{
    if (!ni || !nr || !gir || !out || !ni->ptr || !nr->ptr || !gir->ptr)
        return IKE_CRYPTO_ERR_INVALID_ARG;
    /* The key is Ni | Nr: assemble it once (at most 2 * 256 octets). */
    uint8_t key[512];
    if (ni->len + nr->len > sizeof(key))
        return IKE_CRYPTO_ERR_INVALID_ARG;
    memcpy(key, ni->ptr, ni->len);
    memcpy(key + ni->len, nr->ptr, nr->len);
    ike_crypto_err err = ike_prf(prf, key, ni->len + nr->len, gir, 1, out);
    ike_crypto_wipe(key, sizeof(key));
    return err;
}

ike_crypto_err ike_keys_skeyseed_rekey(uint16_t old_prf, const uint8_t *old_sk_d,
                                       size_t old_sk_d_len, const ike_span *gir, const ike_span *ni,
                                       const ike_span *nr, uint8_t *out)
{
    if (!old_sk_d || !gir || !ni || !nr || !out)
        return IKE_CRYPTO_ERR_INVALID_ARG;
    ike_span data[3] = {*gir, *ni, *nr};
    return ike_prf(old_prf, old_sk_d, old_sk_d_len, data, 3, out);
}

ike_crypto_err ike_keys_derive(const ike_suite *suite, const uint8_t *skeyseed, size_t skeyseed_len,
                               const ike_span *ni, const ike_span *nr,
                               const uint8_t spi_i[IKE_SPI_LEN], const uint8_t spi_r[IKE_SPI_LEN],
                               ike_sa_keys *out)
{
    if (!skeyseed || !ni || !nr || !spi_i || !spi_r || !out)
        return IKE_CRYPTO_ERR_INVALID_ARG;
    ike_crypto_err err = ike_crypto_suite_check(suite);
    if (err != IKE_CRYPTO_OK)
        return err;
    const ike_encr_info *ei = ike_crypto_encr_info(suite->encr, suite->encr_keybits);
    const ike_integ_info *ii = ike_crypto_integ_info(suite->integ);
    size_t prf_len = ike_prf_out_len(suite->prf);
    size_t a_len = ii ? ii->key_len : 0;
    size_t e_len = (size_t)ei->key_len + ei->salt_len;
    size_t total = 3 * prf_len + 2 * a_len + 2 * e_len;

    uint8_t km[3 * IKE_PRF_MAX_OUT + 2 * IKE_SK_MAX_INTEG_KEY +
               2 * (IKE_SK_MAX_ENCR_KEY + IKE_SK_MAX_SALT)];
    ike_span seed[4] = {*ni, *nr, {spi_i, IKE_SPI_LEN}, {spi_r, IKE_SPI_LEN}};
    err = ike_prf_plus(suite->prf, skeyseed, skeyseed_len, seed, 4, km, total);
    if (err != IKE_CRYPTO_OK)
        return err;

    memset(out, 0, sizeof(*out));
    out->prf = suite->prf;
    out->prf_len = (uint8_t)prf_len;
    const uint8_t *p = km;
    memcpy(out->sk_d, p, prf_len);
    p += prf_len;
    const uint8_t *ai = p, *ar = p + a_len;
    p += 2 * a_len;
    const uint8_t *e_i = p, *e_r = p + e_len;
    p += 2 * e_len;
    memcpy(out->sk_pi, p, prf_len);
    memcpy(out->sk_pr, p + prf_len, prf_len);
    err = ike_sk_dir_init(&out->sk_i, suite->encr, suite->encr_keybits, suite->integ, e_i, e_len,
                          a_len ? ai : NULL, a_len);
    if (err == IKE_CRYPTO_OK)
        err = ike_sk_dir_init(&out->sk_r, suite->encr, suite->encr_keybits, suite->integ, e_r,
                              e_len, a_len ? ar : NULL, a_len);
    ike_crypto_wipe(km, sizeof(km));
    if (err != IKE_CRYPTO_OK)
        ike_keys_wipe(out);
    return err;
}

ike_crypto_err ike_keys_ike_sa_init(const ike_suite *suite, const ike_span *gir, const ike_span *ni,
                                    const ike_span *nr, const uint8_t spi_i[IKE_SPI_LEN],
                                    const uint8_t spi_r[IKE_SPI_LEN], ike_sa_keys *out)
{
    if (!suite)
        return IKE_CRYPTO_ERR_INVALID_ARG;
    uint8_t seed[IKE_PRF_MAX_OUT];
    ike_crypto_err err = ike_keys_skeyseed(suite->prf, ni, nr, gir, seed);
    if (err == IKE_CRYPTO_OK)
        err = ike_keys_derive(suite, seed, ike_prf_out_len(suite->prf), ni, nr, spi_i, spi_r, out);
    ike_crypto_wipe(seed, sizeof(seed));
    return err;
}

ike_crypto_err ike_keys_ike_rekey(const ike_sa_keys *old, const ike_suite *new_suite,
                                  const ike_span *gir, const ike_span *ni, const ike_span *nr,
                                  const uint8_t spi_i[IKE_SPI_LEN],
                                  const uint8_t spi_r[IKE_SPI_LEN], ike_sa_keys *out)
{
    if (!old || !new_suite)
        return IKE_CRYPTO_ERR_INVALID_ARG;
    uint8_t seed[IKE_PRF_MAX_OUT];
    ike_crypto_err err =
        ike_keys_skeyseed_rekey(old->prf, old->sk_d, old->prf_len, gir, ni, nr, seed);
    /* SKEYSEED has the old PRF's length; the new PRF takes it as key. */
    if (err == IKE_CRYPTO_OK)
        err =
            ike_keys_derive(new_suite, seed, ike_prf_out_len(old->prf), ni, nr, spi_i, spi_r, out);
    ike_crypto_wipe(seed, sizeof(seed));
    return err;
}

ike_crypto_err ike_keys_child(const ike_sa_keys *ike, uint16_t encr, uint16_t encr_keybits,
                              uint16_t integ, const ike_span *gir, const ike_span *ni,
                              const ike_span *nr, ike_child_keys *out)
{
    if (!ike || !ni || !nr || !out)
        return IKE_CRYPTO_ERR_INVALID_ARG;
    ike_suite s = {encr, encr_keybits, integ, ike->prf, IKE_DH_NONE};
    ike_crypto_err err = ike_crypto_suite_check(&s);
    if (err != IKE_CRYPTO_OK)
        return err;
    const ike_encr_info *ei = ike_crypto_encr_info(encr, encr_keybits);
    const ike_integ_info *ii = ike_crypto_integ_info(integ);
    size_t e_len = (size_t)ei->key_len + ei->salt_len;
    size_t a_len = ii ? ii->key_len : 0;

    uint8_t km[2 * (IKE_SK_MAX_ENCR_KEY + IKE_SK_MAX_SALT + IKE_SK_MAX_INTEG_KEY)];
    ike_span seed[3];
    size_t n = 0;
    if (gir)
        seed[n++] = *gir;
    seed[n++] = *ni;
    seed[n++] = *nr;
    err = ike_prf_plus(ike->prf, ike->sk_d, ike->prf_len, seed, n, km, 2 * (e_len + a_len));
    if (err != IKE_CRYPTO_OK)
        return err;
    /* §2.17: initiator-to-responder keys first, encryption before
     * integrity within each direction. */
    memset(out, 0, sizeof(*out));
    out->encr_len = (uint8_t)e_len;
    out->integ_len = (uint8_t)a_len;
    const uint8_t *p = km;
    memcpy(out->encr_i, p, e_len);
    p += e_len;
    memcpy(out->integ_i, p, a_len);
    p += a_len;
    memcpy(out->encr_r, p, e_len);
    p += e_len;
    memcpy(out->integ_r, p, a_len);
    ike_crypto_wipe(km, sizeof(km));
    return IKE_CRYPTO_OK;
}

void ike_keys_drop_auth(ike_sa_keys *keys)
{
    if (!keys)
        return;
    ike_crypto_wipe(keys->sk_pi, sizeof(keys->sk_pi));
    ike_crypto_wipe(keys->sk_pr, sizeof(keys->sk_pr));
}

void ike_keys_wipe(ike_sa_keys *keys)
{
    if (keys)
        ike_crypto_wipe(keys, sizeof(*keys));
}

void ike_keys_child_wipe(ike_child_keys *keys)
{
    if (keys)
        ike_crypto_wipe(keys, sizeof(*keys));
}

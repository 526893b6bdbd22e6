#include "ike_sk.h"

#include "ike_crypto_int.h"

#include <string.h>

#include <openssl/core_names.h>

#define GCM_NONCE_LEN 12

ike_crypto_err ike_sk_dir_init(ike_sk_dir *dir, uint16_t encr, uint16_t encr_keybits,
                               uint16_t integ, const uint8_t *encr_km, size_t encr_km_len,
                               const uint8_t *integ_km, size_t integ_km_len)
{
    if (!dir || !encr_km)
        return IKE_CRYPTO_ERR_INVALID_ARG;
    ike_suite s = {encr, encr_keybits, integ, IKE_PRF_HMAC_SHA2_256, IKE_DH_NONE};
    ike_crypto_err err = ike_crypto_suite_check(&s);
    if (err != IKE_CRYPTO_OK)
        return err;
    const ike_encr_info *ei = ike_crypto_encr_info(encr, encr_keybits);
    const ike_integ_info *ii = ike_crypto_integ_info(integ);
    if (encr_km_len != (size_t)ei->key_len + ei->salt_len)
        return IKE_CRYPTO_ERR_INVALID_ARG;
    if (ii ? (!integ_km || integ_km_len != ii->key_len) : integ_km_len != 0)
        return IKE_CRYPTO_ERR_INVALID_ARG;

    memset(dir, 0, sizeof(*dir));
    dir->encr = encr;
    dir->encr_keybits = encr_keybits;
    dir->integ = integ;
    dir->encr_key_len = ei->key_len;
    memcpy(dir->encr_key, encr_km, ei->key_len);
    memcpy(dir->salt, encr_km + ei->key_len, ei->salt_len);
    if (ii) {
        dir->integ_key_len = ii->key_len;
        memcpy(dir->integ_key, integ_km, ii->key_len);
    }
    atomic_init(&dir->next_iv, 0);
    return IKE_CRYPTO_OK;
}

void ike_sk_dir_wipe(ike_sk_dir *dir)
{
    if (dir)
        OPENSSL_cleanse(dir, sizeof(*dir));
}

bool ike_sk_err_is_silent_drop(ike_crypto_err err)
{
    return err == IKE_CRYPTO_ERR_TRUNCATED || err == IKE_CRYPTO_ERR_INTEGRITY;
}

static size_t icv_len(const ike_encr_info *ei, const ike_integ_info *ii)
{
    return ei->aead ? ei->icv_len : ii->icv_len;
}

static bool dir_infos(const ike_sk_dir *dir, const ike_encr_info **ei, const ike_integ_info **ii)
{
    if (!dir)
        return false;
    *ei = ike_crypto_encr_info(dir->encr, dir->encr_keybits);
    *ii = ike_crypto_integ_info(dir->integ);
    return *ei && ((*ei)->aead || *ii);
}

/* Inner payloads, then padding, then the pad length octet, rounded up to
 * the block size. Senders use the minimum padding. */
static size_t ct_len_for(const ike_encr_info *ei, size_t plain_len)
{
    size_t n = plain_len + 1;
    return n + (ei->block_len - n % ei->block_len) % ei->block_len;
}

size_t ike_sk_body_len(const ike_sk_dir *dir, size_t plain_len)
{
    const ike_encr_info *ei;
    const ike_integ_info *ii;
    if (!dir_infos(dir, &ei, &ii))
        return 0;
    return ei->iv_len + ct_len_for(ei, plain_len) + icv_len(ei, ii);
}

size_t ike_sk_max_plain_len(const ike_sk_dir *dir, size_t body_len)
{
    const ike_encr_info *ei;
    const ike_integ_info *ii;
    if (!dir_infos(dir, &ei, &ii))
        return 0;
    size_t over = ei->iv_len + icv_len(ei, ii) + 1;
    if (body_len < over)
        return 0;
    size_t ct = body_len - ei->iv_len - icv_len(ei, ii);
    ct -= ct % ei->block_len;
    return ct ? ct - 1 : 0;
}

/* HMAC over aad | covered, truncated to icv_len octets into icv. */
static bool integ_icv(const ike_sk_dir *dir, const ike_integ_info *ii, const uint8_t *aad,
                      size_t aad_len, const uint8_t *covered, size_t covered_len, uint8_t *icv)
{
    uint8_t full[EVP_MAX_MD_SIZE];
    size_t got = 0;
    EVP_MAC_CTX *mac = ike_crypto_hmac_new(ike_crypto_integ_md(dir->integ));
    bool ok = mac && EVP_MAC_init(mac, dir->integ_key, dir->integ_key_len, NULL) &&
              EVP_MAC_update(mac, aad, aad_len) && EVP_MAC_update(mac, covered, covered_len) &&
              EVP_MAC_final(mac, full, &got, sizeof(full)) && got >= ii->icv_len;
    EVP_MAC_CTX_free(mac);
    if (ok)
        memcpy(icv, full, ii->icv_len);
    OPENSSL_cleanse(full, sizeof(full));
    return ok;
}

static void gcm_nonce(const ike_sk_dir *dir, const uint8_t *iv, uint8_t nonce[GCM_NONCE_LEN])
{
    memcpy(nonce, dir->salt, 4);
    memcpy(nonce + 4, iv, 8);
}

/* Runs the cipher over plain followed by its padding trailer. */
static bool cipher_plain_and_pad(EVP_CIPHER_CTX *ctx, const uint8_t *plain, size_t plain_len,
                                 size_t ct_len, uint8_t *out)
{
    uint8_t trailer[256];
    size_t tlen = ct_len - plain_len; /* padding + pad length octet, <= block */
    memset(trailer, 0, tlen);
    trailer[tlen - 1] = (uint8_t)(tlen - 1);
    int n1 = 0, n2 = 0;
    if (plain_len && !EVP_EncryptUpdate(ctx, out, &n1, plain, (int)plain_len))
        return false;
    if (!EVP_EncryptUpdate(ctx, out + n1, &n2, trailer, (int)tlen))
        return false;
    int n3 = 0;
    if (!EVP_EncryptFinal_ex(ctx, out + n1 + n2, &n3))
        return false;
    return (size_t)(n1 + n2 + n3) == ct_len;
}

ike_crypto_err ike_sk_encrypt(ike_sk_dir *dir, const uint8_t *aad, size_t aad_len,
                              const uint8_t *plain, size_t plain_len, uint8_t *body,
                              size_t body_len)
{
    const ike_encr_info *ei;
    const ike_integ_info *ii;
    if (!dir_infos(dir, &ei, &ii) || !aad || !body || (!plain && plain_len))
        return IKE_CRYPTO_ERR_INVALID_ARG;
    if (plain_len > INT32_MAX / 2 || body_len != ike_sk_body_len(dir, plain_len))
        return IKE_CRYPTO_ERR_INVALID_ARG;
    size_t ct_len = ct_len_for(ei, plain_len);
    uint8_t *iv = body, *ct = body + ei->iv_len, *icv = ct + ct_len;
    const EVP_CIPHER *cipher = ike_crypto_cipher(dir->encr, dir->encr_keybits);

    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx || !cipher) {
        EVP_CIPHER_CTX_free(ctx);
        return IKE_CRYPTO_ERR_INTERNAL;
    }
    ike_crypto_err err = IKE_CRYPTO_ERR_INTERNAL;
    if (ei->aead) {
        uint64_t ctr = atomic_fetch_add(&dir->next_iv, 1);
        /* The last value is never used, so a wrapped counter can never
         * hand out 0 again. */
        if (ctr == UINT64_MAX) {
            atomic_store(&dir->next_iv, UINT64_MAX);
            EVP_CIPHER_CTX_free(ctx);
            return IKE_CRYPTO_ERR_IV_EXHAUSTED;
        }
        for (int i = 7; i >= 0; i--, ctr >>= 8)
            iv[i] = (uint8_t)ctr;
        uint8_t nonce[GCM_NONCE_LEN];
        gcm_nonce(dir, iv, nonce);
        int n = 0;
        if (EVP_EncryptInit_ex2(ctx, cipher, dir->encr_key, nonce, NULL) &&
            EVP_EncryptUpdate(ctx, NULL, &n, aad, (int)aad_len) &&
            cipher_plain_and_pad(ctx, plain, plain_len, ct_len, ct) &&
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, ei->icv_len, icv) > 0)
            err = IKE_CRYPTO_OK;
    } else {
        if (ike_crypto_random(iv, ei->iv_len) == IKE_CRYPTO_OK &&
            EVP_EncryptInit_ex2(ctx, cipher, dir->encr_key, iv, NULL) &&
            EVP_CIPHER_CTX_set_padding(ctx, 0) &&
            cipher_plain_and_pad(ctx, plain, plain_len, ct_len, ct) &&
            integ_icv(dir, ii, aad, aad_len, body, ei->iv_len + ct_len, icv))
            err = IKE_CRYPTO_OK;
    }
    EVP_CIPHER_CTX_free(ctx);
    if (err != IKE_CRYPTO_OK)
        OPENSSL_cleanse(body, body_len);
    return err;
}

/* Strips the padding trailer after a successful decryption. */
static ike_crypto_err unpad(uint8_t *plain, size_t ct_len, size_t *plain_len)
{
    size_t pad = plain[ct_len - 1];
    if (pad + 1 > ct_len)
        return IKE_CRYPTO_ERR_BAD_PADDING;
    *plain_len = ct_len - 1 - pad;
    return IKE_CRYPTO_OK;
}

ike_crypto_err ike_sk_decrypt(const ike_sk_dir *dir, const uint8_t *aad, size_t aad_len,
                              const uint8_t *body, size_t body_len, uint8_t *plain,
                              size_t plain_cap, size_t *plain_len)
{
    const ike_encr_info *ei;
    const ike_integ_info *ii;
    if (!dir_infos(dir, &ei, &ii) || !aad || !body || !plain || !plain_len)
        return IKE_CRYPTO_ERR_INVALID_ARG;
    *plain_len = 0;
    if (body_len > INT32_MAX / 2)
        return IKE_CRYPTO_ERR_TRUNCATED;
    size_t icvl = icv_len(ei, ii);
    if (body_len < (size_t)ei->iv_len + icvl + ei->block_len)
        return IKE_CRYPTO_ERR_TRUNCATED;
    size_t ct_len = body_len - ei->iv_len - icvl;
    if (ct_len % ei->block_len)
        return IKE_CRYPTO_ERR_TRUNCATED;
    if (plain_cap < ct_len)
        return IKE_CRYPTO_ERR_INVALID_ARG;
    const uint8_t *iv = body, *ct = body + ei->iv_len, *icv = ct + ct_len;
    const EVP_CIPHER *cipher = ike_crypto_cipher(dir->encr, dir->encr_keybits);

    if (!ei->aead) {
        /* Authenticate before touching the ciphertext. */
        uint8_t want[IKE_SK_MAX_INTEG_KEY];
        if (!integ_icv(dir, ii, aad, aad_len, body, ei->iv_len + ct_len, want))
            return IKE_CRYPTO_ERR_INTERNAL;
        bool match = CRYPTO_memcmp(want, icv, icvl) == 0;
        OPENSSL_cleanse(want, sizeof(want));
        if (!match)
            return IKE_CRYPTO_ERR_INTEGRITY;
    }

    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx || !cipher) {
        EVP_CIPHER_CTX_free(ctx);
        return IKE_CRYPTO_ERR_INTERNAL;
    }
    ike_crypto_err err = IKE_CRYPTO_ERR_INTERNAL;
    int n1 = 0, n2 = 0;
    if (ei->aead) {
        uint8_t nonce[GCM_NONCE_LEN];
        gcm_nonce(dir, iv, nonce);
        if (EVP_DecryptInit_ex2(ctx, cipher, dir->encr_key, nonce, NULL) &&
            EVP_DecryptUpdate(ctx, NULL, &n1, aad, (int)aad_len) &&
            EVP_DecryptUpdate(ctx, plain, &n1, ct, (int)ct_len) &&
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, (int)icvl, (void *)icv) > 0)
            err = EVP_DecryptFinal_ex(ctx, plain + n1, &n2) > 0 ? IKE_CRYPTO_OK
                                                                : IKE_CRYPTO_ERR_INTEGRITY;
    } else {
        if (EVP_DecryptInit_ex2(ctx, cipher, dir->encr_key, iv, NULL) &&
            EVP_CIPHER_CTX_set_padding(ctx, 0) &&
            EVP_DecryptUpdate(ctx, plain, &n1, ct, (int)ct_len) &&
            EVP_DecryptFinal_ex(ctx, plain + n1, &n2))
            err = IKE_CRYPTO_OK;
    }
    EVP_CIPHER_CTX_free(ctx);
    if (err == IKE_CRYPTO_OK && (size_t)(n1 + n2) != ct_len)
        err = IKE_CRYPTO_ERR_INTERNAL;
    if (err == IKE_CRYPTO_OK)
        err = unpad(plain, ct_len, plain_len);
    if (err != IKE_CRYPTO_OK)
        OPENSSL_cleanse(plain, ct_len);
    return err;
}

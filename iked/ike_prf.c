#include "ike_prf.h"

#include "ike_crypto_int.h"

#include <string.h>

#include <openssl/crypto.h>

size_t ike_prf_out_len(uint16_t prf)
{
    const ike_prf_info *info = ike_crypto_prf_info(prf);
    return info ? info->out_len : 0;
}

static EVP_MAC_CTX *keyed_ctx(uint16_t prf, const uint8_t *key, size_t key_len)
{
    EVP_MAC_CTX *ctx = ike_crypto_hmac_new(ike_crypto_prf_md(prf));
    if (!ctx)
        return NULL;
    /* HMAC accepts any key length; an empty key still needs a valid
     * pointer for the provider. */
    static const uint8_t empty;
    if (!EVP_MAC_init(ctx, key_len ? key : &empty, key_len, NULL)) {
        EVP_MAC_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

static bool mac_spans(EVP_MAC_CTX *ctx, const ike_span *data, size_t ndata)
{
    for (size_t i = 0; i < ndata; i++)
        if (data[i].len && !EVP_MAC_update(ctx, data[i].ptr, data[i].len))
            return false;
    return true;
}

ike_crypto_err ike_prf(uint16_t prf, const uint8_t *key, size_t key_len, const ike_span *data,
                       size_t ndata, uint8_t *out)
{
    size_t out_len = ike_prf_out_len(prf);
    if (!out_len)
        return IKE_CRYPTO_ERR_UNSUPPORTED;
    if ((!key && key_len) || (!data && ndata) || !out)
        return IKE_CRYPTO_ERR_INVALID_ARG;
    EVP_MAC_CTX *ctx = keyed_ctx(prf, key, key_len);
    if (!ctx)
        return IKE_CRYPTO_ERR_INTERNAL;
    size_t got = 0;
    bool ok =
        mac_spans(ctx, data, ndata) && EVP_MAC_final(ctx, out, &got, out_len) && got == out_len;
    /* Freeing the provider context clears the HMAC key copy it holds. */
    EVP_MAC_CTX_free(ctx);
    return ok ? IKE_CRYPTO_OK : IKE_CRYPTO_ERR_INTERNAL;
}

ike_crypto_err ike_prf_plus(uint16_t prf, const uint8_t *key, size_t key_len, const ike_span *seed,
                            size_t nseed, uint8_t *out, size_t out_len)
{
    size_t block = ike_prf_out_len(prf);
    if (!block)
        return IKE_CRYPTO_ERR_UNSUPPORTED;
    if ((!key && key_len) || (!seed && nseed) || (!out && out_len))
        return IKE_CRYPTO_ERR_INVALID_ARG;
    if (out_len > 255 * block) /* the counter octet would wrap */
        return IKE_CRYPTO_ERR_INVALID_ARG;
    if (out_len == 0)
        return IKE_CRYPTO_OK;

    EVP_MAC_CTX *ctx = keyed_ctx(prf, key, key_len);
    if (!ctx)
        return IKE_CRYPTO_ERR_INTERNAL;

    uint8_t t[IKE_PRF_MAX_OUT];
    size_t done = 0;
    bool ok = true;
    for (unsigned n = 1; ok && done < out_len; n++) {
        uint8_t counter = (uint8_t)n;
        size_t got = 0;
        /* Re-initialising with a NULL key restarts the MAC with the
         * key already loaded, saving the ipad/opad set-up. */
        ok = (n == 1 || EVP_MAC_init(ctx, NULL, 0, NULL)) &&
             (n == 1 || EVP_MAC_update(ctx, t, block)) && mac_spans(ctx, seed, nseed) &&
             EVP_MAC_update(ctx, &counter, 1) && EVP_MAC_final(ctx, t, &got, sizeof(t)) &&
             got == block;
        if (ok) {
            size_t take = out_len - done < block ? out_len - done : block;
            memcpy(out + done, t, take);
            done += take;
        }
    }
    OPENSSL_cleanse(t, sizeof(t));
    EVP_MAC_CTX_free(ctx);
    if (!ok) {
        OPENSSL_cleanse(out, out_len);
        return IKE_CRYPTO_ERR_INTERNAL;
    }
    return IKE_CRYPTO_OK;
}

#include "xfrm_alg.h"

#include <string.h>

static const struct xfrm_enc_desc enc_table[] = {
    {XFRM_ENC_AES_GCM16_128, "aes128gcm16", "rfc4106(gcm(aes))", 20, 128, true},
    {XFRM_ENC_AES_GCM16_256, "aes256gcm16", "rfc4106(gcm(aes))", 36, 128, true},
    {XFRM_ENC_CHACHA20_POLY1305, "chacha20poly1305", "rfc7539esp(chacha20,poly1305)", 36, 128,
     true},
    {XFRM_ENC_AES_CBC_128, "aes128", "cbc(aes)", 16, 0, false},
    {XFRM_ENC_AES_CBC_256, "aes256", "cbc(aes)", 32, 0, false},
};

static const struct xfrm_integ_desc integ_table[] = {
    {XFRM_INTEG_HMAC_SHA2_256_128, "sha256", "hmac(sha256)", 32, 128},
    {XFRM_INTEG_HMAC_SHA2_384_192, "sha384", "hmac(sha384)", 48, 192},
    {XFRM_INTEG_HMAC_SHA2_512_256, "sha512", "hmac(sha512)", 64, 256},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

const struct xfrm_enc_desc *xfrm_alg_enc(enum xfrm_enc_alg alg)
{
    for (size_t i = 0; i < COUNT(enc_table); i++) {
        if (enc_table[i].alg == alg)
            return &enc_table[i];
    }
    return NULL;
}

const struct xfrm_integ_desc *xfrm_alg_integ(enum xfrm_integ_alg alg)
{
    for (size_t i = 0; i < COUNT(integ_table); i++) {
        if (integ_table[i].alg == alg)
            return &integ_table[i];
    }
    return NULL;
}

int xfrm_alg_enc_by_name(const char *name)
{
    for (size_t i = 0; name && i < COUNT(enc_table); i++) {
        if (strcmp(enc_table[i].name, name) == 0)
            return (int)enc_table[i].alg;
    }
    return -1;
}

int xfrm_alg_integ_by_name(const char *name)
{
    for (size_t i = 0; name && i < COUNT(integ_table); i++) {
        if (strcmp(integ_table[i].name, name) == 0)
            return (int)integ_table[i].alg;
    }
    return -1;
}

enum xfrm_enc_alg xfrm_alg_enc_from_kernel(const char *kernel_name, unsigned key_bits)
{
    for (size_t i = 0; i < COUNT(enc_table); i++) {
        if (strcmp(enc_table[i].kernel_name, kernel_name) == 0 &&
            enc_table[i].key_len * 8 == key_bits)
            return enc_table[i].alg;
    }
    return XFRM_ENC_NONE;
}

enum xfrm_integ_alg xfrm_alg_integ_from_kernel(const char *kernel_name, unsigned trunc_bits)
{
    for (size_t i = 0; i < COUNT(integ_table); i++) {
        if (strcmp(integ_table[i].kernel_name, kernel_name) == 0 &&
            integ_table[i].trunc_bits == trunc_bits)
            return integ_table[i].alg;
    }
    return XFRM_INTEG_NONE;
}

/* The ESP algorithms the library programs, with the kernel's crypto names,
 * key lengths and ICV lengths. Anything outside this table is refused before
 * a message is built. */
#ifndef MGATE_XFRM_ALG_H
#define MGATE_XFRM_ALG_H

#include <stdbool.h>
#include <stddef.h>

/* Longest key any supported algorithm takes (HMAC-SHA2-512), in bytes. */
#define XFRM_KEY_MAX 64

enum xfrm_enc_alg {
    XFRM_ENC_NONE = 0,
    XFRM_ENC_AES_GCM16_128,     /* RFC 4106, key = 16 bytes + 4 bytes salt */
    XFRM_ENC_AES_GCM16_256,     /* RFC 4106, key = 32 bytes + 4 bytes salt */
    XFRM_ENC_CHACHA20_POLY1305, /* RFC 7634, key = 32 bytes + 4 bytes salt */
    XFRM_ENC_AES_CBC_128,       /* RFC 3602, needs an integrity algorithm */
    XFRM_ENC_AES_CBC_256,
    XFRM_ENC_COUNT
};

enum xfrm_integ_alg {
    XFRM_INTEG_NONE = 0,
    XFRM_INTEG_HMAC_SHA2_256_128, /* RFC 4868 */
    XFRM_INTEG_HMAC_SHA2_384_192,
    XFRM_INTEG_HMAC_SHA2_512_256,
    XFRM_INTEG_COUNT
};

struct xfrm_enc_desc {
    enum xfrm_enc_alg alg;
    const char *name;        /* mgate's name, as in configs and mgatectl */
    const char *kernel_name; /* crypto API template the kernel resolves */
    size_t key_len;          /* bytes, salt included */
    unsigned icv_bits;       /* AEAD tag length; 0 for ciphers without one */
    bool aead;
};

struct xfrm_integ_desc {
    enum xfrm_integ_alg alg;
    const char *name;
    const char *kernel_name;
    size_t key_len;      /* bytes */
    unsigned trunc_bits; /* ICV length on the wire */
};

/* NULL for XFRM_*_NONE and for values outside the enums. */
const struct xfrm_enc_desc *xfrm_alg_enc(enum xfrm_enc_alg alg);
const struct xfrm_integ_desc *xfrm_alg_integ(enum xfrm_integ_alg alg);

/* By mgate name ("aes256gcm16", "sha256"...): the enum value, or -1. */
int xfrm_alg_enc_by_name(const char *name);
int xfrm_alg_integ_by_name(const char *name);

/* Back from what the kernel reports (crypto name and key length in bits):
 * the enum value, or XFRM_*_NONE when the SA uses something else. */
enum xfrm_enc_alg xfrm_alg_enc_from_kernel(const char *kernel_name, unsigned key_bits);
enum xfrm_integ_alg xfrm_alg_integ_from_kernel(const char *kernel_name, unsigned trunc_bits);

#endif

/* Encrypted (SK) payload protection, RFC 7296 §3.14 with AES-CBC + HMAC and
 * RFC 5282 with AES-GCM.
 *
 * The codec lays out a message as
 *     IKE header | ... | SK generic payload header | body
 * and passes the octets from the IKE header up to and including the SK
 * generic header as "aad" (its length fields already set for the final
 * body length, see ike_sk_body_len()). The body is
 *     IV | ciphertext(inner payloads | padding | pad length) | ICV. */
#ifndef MGATE_IKE_SK_H
#define MGATE_IKE_SK_H

#include <stdatomic.h>

#include "ike_crypto.h"

#define IKE_SK_MAX_ENCR_KEY  32
#define IKE_SK_MAX_SALT      4
#define IKE_SK_MAX_INTEG_KEY 64

/* The keys protecting one direction of an IKE SA (SK_ei/SK_ai or
 * SK_er/SK_ar). Plain data; wipe with ike_sk_dir_wipe(). */
typedef struct ike_sk_dir {
    uint16_t encr;
    uint16_t encr_keybits;
    uint16_t integ;
    uint8_t encr_key_len;
    uint8_t integ_key_len;
    uint8_t encr_key[IKE_SK_MAX_ENCR_KEY];
    uint8_t salt[IKE_SK_MAX_SALT]; /* GCM only */
    uint8_t integ_key[IKE_SK_MAX_INTEG_KEY];
    /* GCM explicit IV for the next message we send with these keys. A
     * counter (RFC 5282 §3.1 needs uniqueness, not unpredictability);
     * atomic so concurrent senders on one SA still never share an IV.
     * A checkpoint/restore of the SA must carry it forward. */
    _Atomic uint64_t next_iv;
} ike_sk_dir;

/* Sets up one direction from keying material: encr_km is the SK_e octets
 * (key followed by the 4-octet salt for GCM), integ_km the SK_a octets
 * (absent for GCM). */
ike_crypto_err ike_sk_dir_init(ike_sk_dir *dir, uint16_t encr, uint16_t encr_keybits,
                               uint16_t integ, const uint8_t *encr_km, size_t encr_km_len,
                               const uint8_t *integ_km, size_t integ_km_len);

void ike_sk_dir_wipe(ike_sk_dir *dir);

/* Length of the SK payload body (IV, ciphertext with padding, ICV) that
 * carries plain_len octets of inner payloads; 0 if dir is not initialised. */
size_t ike_sk_body_len(const ike_sk_dir *dir, size_t plain_len);

/* Largest inner-payload length a body of body_len octets can carry. */
size_t ike_sk_max_plain_len(const ike_sk_dir *dir, size_t body_len);

/* Encrypts plain into body, which must be exactly
 * ike_sk_body_len(dir, plain_len) octets and must not overlap plain. */
ike_crypto_err ike_sk_encrypt(ike_sk_dir *dir, const uint8_t *aad, size_t aad_len,
                              const uint8_t *plain, size_t plain_len, uint8_t *body,
                              size_t body_len);

/* Verifies and decrypts body into plain (capacity plain_cap, at least
 * body_len), returning the inner payloads' length without padding.
 * Errors: IKE_CRYPTO_ERR_TRUNCATED (too short / misaligned to be genuine)
 * and IKE_CRYPTO_ERR_INTEGRITY (ICV mismatch) mean "drop silently";
 * IKE_CRYPTO_ERR_BAD_PADDING is an authenticated but malformed payload. On
 * any error plain holds no decrypted octets. */
ike_crypto_err ike_sk_decrypt(const ike_sk_dir *dir, const uint8_t *aad, size_t aad_len,
                              const uint8_t *body, size_t body_len, uint8_t *plain,
                              size_t plain_cap, size_t *plain_len);

/* True for the errors after which RFC 7296 §2.21.2 wants the message
 * dropped without any reply. */
bool ike_sk_err_is_silent_drop(ike_crypto_err err);

#endif

/* IKE SA and CHILD SA key derivation, RFC 7296 §2.14, §2.17, §2.18. */
#ifndef MGATE_IKE_KEYS_H
#define MGATE_IKE_KEYS_H

#include "ike_prf.h"
#include "ike_sk.h"

/* The keys of one IKE SA. sk_i protects initiator-to-responder messages
 * (SK_ei, SK_ai), sk_r the other direction (SK_er, SK_ar). Wipe with
 * ike_keys_wipe(); sk_pi/sk_pr can be dropped (ike_keys_drop_auth) once
 * IKE_AUTH is over to keep long-lived state small. */
typedef struct ike_sa_keys {
    uint16_t prf;
    uint8_t prf_len; /* length of sk_d, sk_pi, sk_pr */
    uint8_t sk_d[IKE_PRF_MAX_OUT];
    uint8_t sk_pi[IKE_PRF_MAX_OUT];
    uint8_t sk_pr[IKE_PRF_MAX_OUT];
    ike_sk_dir sk_i;
    ike_sk_dir sk_r;
} ike_sa_keys;

/* SKEYSEED = prf(Ni | Nr, g^ir). When the PRF takes a fixed-size key, RFC
 * 7296 would split the nonces; every PRF here is HMAC, which takes the
 * concatenation as is. out gets ike_prf_out_len(prf) octets. */
ike_crypto_err ike_keys_skeyseed(uint16_t prf, const ike_span *ni, const ike_span *nr,
                                 const ike_span *gir, uint8_t *out);

/* Rekeyed IKE SA (§2.18): SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr)
 * with the old SA's PRF. */
ike_crypto_err ike_keys_skeyseed_rekey(uint16_t old_prf, const uint8_t *old_sk_d,
                                       size_t old_sk_d_len, const ike_span *gir, const ike_span *ni,
                                       const ike_span *nr, uint8_t *out);

/* {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr} =
 *     prf+ (SKEYSEED, Ni | Nr | SPIi | SPIr), with the suite's PRF. For GCM
 * each SK_e carries its 4 salt octets (RFC 5282 §7) and there is no SK_a. */
ike_crypto_err ike_keys_derive(const ike_suite *suite, const uint8_t *skeyseed, size_t skeyseed_len,
                               const ike_span *ni, const ike_span *nr,
                               const uint8_t spi_i[IKE_SPI_LEN], const uint8_t spi_r[IKE_SPI_LEN],
                               ike_sa_keys *out);

/* The whole IKE_SA_INIT derivation: SKEYSEED then the seven keys. */
ike_crypto_err ike_keys_ike_sa_init(const ike_suite *suite, const ike_span *gir, const ike_span *ni,
                                    const ike_span *nr, const uint8_t spi_i[IKE_SPI_LEN],
                                    const uint8_t spi_r[IKE_SPI_LEN], ike_sa_keys *out);

/* The whole IKE SA rekey derivation (CREATE_CHILD_SA for an IKE SA). The
 * new suite's PRF expands the keys; old supplies SK_d and its PRF. Ni/Nr
 * and the SPIs are those of the CREATE_CHILD_SA exchange / new SA. */
ike_crypto_err ike_keys_ike_rekey(const ike_sa_keys *old, const ike_suite *new_suite,
                                  const ike_span *gir, const ike_span *ni, const ike_span *nr,
                                  const uint8_t spi_i[IKE_SPI_LEN],
                                  const uint8_t spi_r[IKE_SPI_LEN], ike_sa_keys *out);

/* The keying material of one CHILD SA (ESP), by direction. */
typedef struct ike_child_keys {
    uint8_t encr_len;  /* key + salt octets for GCM (RFC 4106 §8.1) */
    uint8_t integ_len; /* 0 for GCM */
    uint8_t encr_i[IKE_SK_MAX_ENCR_KEY + IKE_SK_MAX_SALT]; /* initiator -> responder */
    uint8_t integ_i[IKE_SK_MAX_INTEG_KEY];
    uint8_t encr_r[IKE_SK_MAX_ENCR_KEY + IKE_SK_MAX_SALT]; /* responder -> initiator */
    uint8_t integ_r[IKE_SK_MAX_INTEG_KEY];
} ike_child_keys;

/* KEYMAT = prf+ (SK_d, [g^ir (new) |] Ni | Nr) (§2.17), split as
 * encr_i | integ_i | encr_r | integ_r. gir is NULL without PFS. encr and
 * integ are the CHILD SA's ESP transforms (same numbering as IKE). */
ike_crypto_err ike_keys_child(const ike_sa_keys *ike, uint16_t encr, uint16_t encr_keybits,
                              uint16_t integ, const ike_span *gir, const ike_span *ni,
                              const ike_span *nr, ike_child_keys *out);

void ike_keys_drop_auth(ike_sa_keys *keys);
void ike_keys_wipe(ike_sa_keys *keys);
void ike_keys_child_wipe(ike_child_keys *keys);

#endif

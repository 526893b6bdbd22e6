/* Algorithm objects are fetched once here. With OpenSSL 3 every implicit
 * fetch (EVP_sha256(), a digest name in a parameter, ...) walks the provider
 * method store under a lock; done per handshake that lookup costs more than
 * the symmetric maths it enables, so the library keeps explicit objects. */
#include "ike_crypto_int.h"

#include <pthread.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

static const char *const md_names[IKE_MD_COUNT] = {
    [IKE_MD_SHA1] = "SHA1",
    [IKE_MD_SHA256] = "SHA2-256",
    [IKE_MD_SHA384] = "SHA2-384",
    [IKE_MD_SHA512] = "SHA2-512",
};

enum { CIPH_CBC128, CIPH_CBC256, CIPH_GCM128, CIPH_GCM256, CIPH_COUNT };

static const char *const cipher_names[CIPH_COUNT] = {
    [CIPH_CBC128] = "AES-128-CBC",
    [CIPH_CBC256] = "AES-256-CBC",
    [CIPH_GCM128] = "AES-128-GCM",
    [CIPH_GCM256] = "AES-256-GCM",
};

static struct {
    EVP_MD *md[IKE_MD_COUNT];
    EVP_MAC *hmac;
    EVP_MAC_CTX *hmac_tmpl[IKE_MD_COUNT];
    EVP_CIPHER *cipher[CIPH_COUNT];
} algs;

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static ike_crypto_err init_result = IKE_CRYPTO_ERR_INTERNAL;

static const ike_encr_info encr_table[] = {
    {IKE_ENCR_AES_CBC, 128, 16, 0, 16, 16, 0, false},
    {IKE_ENCR_AES_CBC, 256, 32, 0, 16, 16, 0, false},
    /* RFC 5282: 4 octets of salt follow the key; 8-octet explicit IV;
     * no block alignment is needed for a counter mode. */
    {IKE_ENCR_AES_GCM_16, 128, 16, 4, 8, 1, 16, true},
    {IKE_ENCR_AES_GCM_16, 256, 32, 4, 8, 1, 16, true},
};

/* RFC 4868: key length equals the hash output, ICV is half of it. */
static const ike_integ_info integ_table[] = {
    {IKE_INTEG_HMAC_SHA2_256_128, 32, 16},
    {IKE_INTEG_HMAC_SHA2_384_192, 48, 24},
    {IKE_INTEG_HMAC_SHA2_512_256, 64, 32},
};

static const ike_prf_info prf_table[] = {
    {IKE_PRF_HMAC_SHA2_256, 32},
    {IKE_PRF_HMAC_SHA2_384, 48},
    {IKE_PRF_HMAC_SHA2_512, 64},
};

static void release_all(void)
{
    for (int i = 0; i < IKE_MD_COUNT; i++) {
        EVP_MAC_CTX_free(algs.hmac_tmpl[i]);
        EVP_MD_free(algs.md[i]);
    }
    for (int i = 0; i < CIPH_COUNT; i++)
        EVP_CIPHER_free(algs.cipher[i]);
    EVP_MAC_free(algs.hmac);
    memset(&algs, 0, sizeof(algs));
}

static ike_crypto_err fetch_all(void)
{
    algs.hmac = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_HMAC, NULL);
    if (!algs.hmac)
        return IKE_CRYPTO_ERR_INTERNAL;
    for (int i = 0; i < IKE_MD_COUNT; i++) {
        algs.md[i] = EVP_MD_fetch(NULL, md_names[i], NULL);
        algs.hmac_tmpl[i] = EVP_MAC_CTX_new(algs.hmac);
        if (!algs.md[i] || !algs.hmac_tmpl[i])
            return IKE_CRYPTO_ERR_INTERNAL;
        OSSL_PARAM params[] = {
            OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)md_names[i], 0),
            OSSL_PARAM_construct_end(),
        };
        if (!EVP_MAC_CTX_set_params(algs.hmac_tmpl[i], params))
            return IKE_CRYPTO_ERR_INTERNAL;
    }
    for (int i = 0; i < CIPH_COUNT; i++) {
        algs.cipher[i] = EVP_CIPHER_fetch(NULL, cipher_names[i], NULL);
        if (!algs.cipher[i])
            return IKE_CRYPTO_ERR_INTERNAL;
    }
    return IKE_CRYPTO_OK;
}

static void do_init(void)
{
    ike_crypto_err err = fetch_all();
    if (err == IKE_CRYPTO_OK)
        err = ike_dh_setup();
    if (err != IKE_CRYPTO_OK)
        release_all();
    init_result = err;
}

ike_crypto_err ike_crypto_init(void)
{
    if (pthread_once(&init_once, do_init) != 0)
        return IKE_CRYPTO_ERR_INTERNAL;
    return init_result;
}

void ike_crypto_fini(void)
{
    if (init_result != IKE_CRYPTO_OK)
        return;
    ike_dh_teardown();
    release_all();
    init_result = IKE_CRYPTO_ERR_INTERNAL;
}

const EVP_MD *ike_crypto_md(enum ike_md md)
{
    if (md < 0 || md >= IKE_MD_COUNT)
        return NULL;
    return algs.md[md];
}

const char *ike_crypto_md_name(enum ike_md md)
{
    if (md < 0 || md >= IKE_MD_COUNT)
        return NULL;
    return md_names[md];
}

EVP_MAC_CTX *ike_crypto_hmac_new(enum ike_md md)
{
    if (md < 0 || md >= IKE_MD_COUNT || !algs.hmac_tmpl[md])
        return NULL;
    return EVP_MAC_CTX_dup(algs.hmac_tmpl[md]);
}

const EVP_CIPHER *ike_crypto_cipher(uint16_t encr, uint16_t keybits)
{
    if (encr == IKE_ENCR_AES_CBC && keybits == 128)
        return algs.cipher[CIPH_CBC128];
    if (encr == IKE_ENCR_AES_CBC && keybits == 256)
        return algs.cipher[CIPH_CBC256];
    if (encr == IKE_ENCR_AES_GCM_16 && keybits == 128)
        return algs.cipher[CIPH_GCM128];
    if (encr == IKE_ENCR_AES_GCM_16 && keybits == 256)
        return algs.cipher[CIPH_GCM256];
    return NULL;
}

enum ike_md ike_crypto_prf_md(uint16_t prf)
{
    switch (prf) {
    case IKE_PRF_HMAC_SHA2_256:
        return IKE_MD_SHA256;
    case IKE_PRF_HMAC_SHA2_384:
        return IKE_MD_SHA384;
    case IKE_PRF_HMAC_SHA2_512:
        return IKE_MD_SHA512;
    default:
        return IKE_MD_NONE;
    }
}

enum ike_md ike_crypto_integ_md(uint16_t integ)
{
    switch (integ) {
    case IKE_INTEG_HMAC_SHA2_256_128:
        return IKE_MD_SHA256;
    case IKE_INTEG_HMAC_SHA2_384_192:
        return IKE_MD_SHA384;
    case IKE_INTEG_HMAC_SHA2_512_256:
        return IKE_MD_SHA512;
    default:
        return IKE_MD_NONE;
    }
}

const ike_encr_info *ike_crypto_encr_info(uint16_t encr, uint16_t keybits)
{
    for (size_t i = 0; i < sizeof(encr_table) / sizeof(encr_table[0]); i++)
        if (encr_table[i].id == encr && encr_table[i].keybits == keybits)
            return &encr_table[i];
    return NULL;
}

const ike_integ_info *ike_crypto_integ_info(uint16_t integ)
{
    for (size_t i = 0; i < sizeof(integ_table) / sizeof(integ_table[0]); i++)
        if (integ_table[i].id == integ)
            return &integ_table[i];
    return NULL;
}

const ike_prf_info *ike_crypto_prf_info(uint16_t prf)
{
    for (size_t i = 0; i < sizeof(prf_table) / sizeof(prf_table[0]); i++)
        if (prf_table[i].id == prf)
            return &prf_table[i];
    return NULL;
}

ike_crypto_err ike_crypto_suite_check(const ike_suite *suite)
{
    if (!suite)
        return IKE_CRYPTO_ERR_INVALID_ARG;
    const ike_encr_info *encr = ike_crypto_encr_info(suite->encr, suite->encr_keybits);
    if (!encr || !ike_crypto_prf_info(suite->prf))
        return IKE_CRYPTO_ERR_UNSUPPORTED;
    if (encr->aead) {
        /* RFC 5282 §8: a combined-mode cipher is proposed without (or
         * with NONE) integrity. */
        if (suite->integ != IKE_INTEG_NONE)
            return IKE_CRYPTO_ERR_INVALID_ARG;
    } else if (!ike_crypto_integ_info(suite->integ)) {
        return suite->integ == IKE_INTEG_NONE ? IKE_CRYPTO_ERR_INVALID_ARG
                                              : IKE_CRYPTO_ERR_UNSUPPORTED;
    }
    return IKE_CRYPTO_OK;
}

ike_crypto_err ike_crypto_random(uint8_t *buf, size_t len)
{
    if (len == 0)
        return IKE_CRYPTO_OK;
    if (!buf || len > INT32_MAX)
        return IKE_CRYPTO_ERR_INVALID_ARG;
    return RAND_bytes(buf, (int)len) == 1 ? IKE_CRYPTO_OK : IKE_CRYPTO_ERR_INTERNAL;
}

bool ike_crypto_equal(const void *a, const void *b, size_t len)
{
    return CRYPTO_memcmp(a, b, len) == 0;
}

void ike_crypto_wipe(void *p, size_t len)
{
    if (p && len)
        OPENSSL_cleanse(p, len);
}

const char *ike_crypto_strerror(ike_crypto_err err)
{
    switch (err) {
    case IKE_CRYPTO_OK:
        return "success";
    case IKE_CRYPTO_ERR_INTERNAL:
        return "internal crypto library failure";
    case IKE_CRYPTO_ERR_UNSUPPORTED:
        return "unsupported algorithm";
    case IKE_CRYPTO_ERR_INVALID_ARG:
        return "invalid argument";
    case IKE_CRYPTO_ERR_BAD_PEER_KE:
        return "invalid peer key exchange value";
    case IKE_CRYPTO_ERR_TRUNCATED:
        return "encrypted payload truncated";
    case IKE_CRYPTO_ERR_INTEGRITY:
        return "integrity check failed";
    case IKE_CRYPTO_ERR_BAD_PADDING:
        return "invalid padding in encrypted payload";
    case IKE_CRYPTO_ERR_IV_EXHAUSTED:
        return "IV space exhausted, rekey needed";
    case IKE_CRYPTO_ERR_MALFORMED:
        return "malformed data";
    case IKE_CRYPTO_ERR_BAD_SIGNATURE:
        return "signature verification failed";
    case IKE_CRYPTO_ERR_KEY_MISMATCH:
        return "authentication method does not match key";
    case IKE_CRYPTO_ERR_IO:
        return "cannot read key or certificate file";
    case IKE_CRYPTO_ERR_CERT_MALFORMED:
        return "malformed certificate";
    case IKE_CRYPTO_ERR_CERT_EXPIRED:
        return "certificate expired";
    case IKE_CRYPTO_ERR_CERT_NOT_YET_VALID:
        return "certificate not yet valid";
    case IKE_CRYPTO_ERR_CERT_UNTRUSTED:
        return "certificate not issued by a trusted CA";
    case IKE_CRYPTO_ERR_CERT_REVOKED:
        return "certificate revoked";
    case IKE_CRYPTO_ERR_CERT_KEY_USAGE:
        return "certificate key usage lacks digitalSignature";
    case IKE_CRYPTO_ERR_CERT_INVALID:
        return "certificate chain invalid";
    case IKE_CRYPTO_ERR_ID_MISMATCH:
        return "identity not contained in certificate";
    }
    return "unknown error";
}

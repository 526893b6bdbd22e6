/* IKE cookies (RFC 7296 §2.6); see ike_cookie.h. */
#include "ike_cookie.h"

#include <netinet/in.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "ike_crypto.h"

int ike_cookie_init(struct ike_cookie_jar *j, uint64_t now_ms, uint32_t period_ms)
{
    memset(j, 0, sizeof(*j));
    j->period_ms = period_ms;
    /* SHA-256 fetched once (the implicit fetch behind EVP_sha256() takes a
     * lock per call), one context reused: a cookie allocates nothing. */
    j->md = EVP_MD_fetch(NULL, "SHA256", NULL);
    j->ctx = EVP_MD_CTX_new();
    if (!j->md || !j->ctx || ike_crypto_random(j->version, 1) != IKE_CRYPTO_OK ||
        ike_crypto_random(j->secret[0], IKE_COOKIE_SECRET_LEN) != IKE_CRYPTO_OK)
        return -1;
    j->rotated_ms = now_ms;
    return 0;
}

void ike_cookie_fini(struct ike_cookie_jar *j)
{
    EVP_MD_CTX_free(j->ctx);
    EVP_MD_free(j->md);
    OPENSSL_cleanse(j, sizeof(*j));
}

int ike_cookie_rotate(struct ike_cookie_jar *j, uint64_t now_ms)
{
    unsigned next = j->cur ^ 1u;
    if (ike_crypto_random(j->secret[next], IKE_COOKIE_SECRET_LEN) != IKE_CRYPTO_OK)
        return -1;
    j->version[next] = (uint8_t)(j->version[j->cur] + 1);
    j->cur = next;
    j->have_prev = true;
    j->rotated_ms = now_ms;
    return 0;
}

int ike_cookie_tick(struct ike_cookie_jar *j, uint64_t now_ms)
{
    if (j->period_ms && now_ms - j->rotated_ms >= j->period_ms)
        return ike_cookie_rotate(j, now_ms);
    return 0;
}

static int cookie_hash(struct ike_cookie_jar *j, const uint8_t *secret, uint8_t version,
                       const uint8_t *ni, size_t ni_len, const struct sockaddr_storage *ip,
                       const uint8_t spi_i[8], uint8_t out[IKE_COOKIE_LEN])
{
    const void *addr;
    size_t alen;
    if (ip->ss_family == AF_INET) {
        addr = &((const struct sockaddr_in *)ip)->sin_addr;
        alen = 4;
    } else if (ip->ss_family == AF_INET6) {
        addr = &((const struct sockaddr_in6 *)ip)->sin6_addr;
        alen = 16;
    } else {
        return -1;
    }
    if (!j->md || !j->ctx)
        return -1;
    unsigned olen = 0;
    if (!EVP_DigestInit_ex(j->ctx, j->md, NULL) || !EVP_DigestUpdate(j->ctx, ni, ni_len) ||
        !EVP_DigestUpdate(j->ctx, addr, alen) || !EVP_DigestUpdate(j->ctx, spi_i, 8) ||
        !EVP_DigestUpdate(j->ctx, secret, IKE_COOKIE_SECRET_LEN) ||
        !EVP_DigestFinal_ex(j->ctx, out + 1, &olen) || olen != IKE_COOKIE_LEN - 1)
        return -1;
    out[0] = version;
    return 0;
}

int ike_cookie_make(struct ike_cookie_jar *j, const uint8_t *ni, size_t ni_len,
                    const struct sockaddr_storage *ip, const uint8_t spi_i[8],
                    uint8_t out[IKE_COOKIE_LEN])
{
    return cookie_hash(j, j->secret[j->cur], j->version[j->cur], ni, ni_len, ip, spi_i, out);
}

enum ike_cookie_check ike_cookie_verify(struct ike_cookie_jar *j, const uint8_t *ni, size_t ni_len,
                                        const struct sockaddr_storage *ip, const uint8_t spi_i[8],
                                        const uint8_t *cookie, size_t cookie_len)
{
    if (cookie_len != IKE_COOKIE_LEN)
        return IKE_COOKIE_BAD;
    unsigned which;
    if (cookie[0] == j->version[j->cur])
        which = j->cur;
    else if (j->have_prev && cookie[0] == j->version[j->cur ^ 1u])
        which = j->cur ^ 1u;
    else
        return IKE_COOKIE_EXPIRED;
    uint8_t want[IKE_COOKIE_LEN];
    if (cookie_hash(j, j->secret[which], j->version[which], ni, ni_len, ip, spi_i, want) < 0)
        return IKE_COOKIE_BAD;
    bool same = CRYPTO_memcmp(want, cookie, IKE_COOKIE_LEN) == 0;
    OPENSSL_cleanse(want, sizeof(want));
    return same ? IKE_COOKIE_VALID : IKE_COOKIE_BAD;
}

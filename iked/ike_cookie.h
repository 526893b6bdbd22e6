/* IKE cookies (RFC 7296 §2.6): a stateless proof that an IKE_SA_INIT
 * initiator receives at its address, asked for once half-open SAs pass
 * cookie_threshold.
 *
 *   Cookie = <VersionIDofSecret> | SHA-256(Ni | IPi | SPIi | <secret>)
 *
 * One octet of secret version, then the 32-octet hash: 33 octets. The
 * secret is random (32 octets) and rotated every period_ms; a cookie made
 * with the previous secret stays valid until the next rotation, so a
 * cookie lives between one and two periods.
 *
 * A jar belongs to one thread (the daemon's event loop): rotation and
 * checks are not locked (the jar holds its digest context). Nothing is
 * allocated per cookie. Owner:
 * ike_cookie.c. */
#ifndef MGATE_IKE_COOKIE_H
#define MGATE_IKE_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define IKE_COOKIE_LEN        33u
#define IKE_COOKIE_SECRET_LEN 32u
/* The daemon's rotation period. */
#define IKE_COOKIE_PERIOD_MS 60000u

struct ike_cookie_jar {
    uint8_t secret[2][IKE_COOKIE_SECRET_LEN]; /* [cur], [cur ^ 1] the previous */
    uint8_t version[2];
    unsigned cur;
    bool have_prev;
    uint64_t rotated_ms;
    uint32_t period_ms;
    struct evp_md_st *md;      /* SHA-256, fetched once */
    struct evp_md_ctx_st *ctx; /* reused for every cookie */
};

/* A first secret. 0, or -1 when the random generator fails. */
int ike_cookie_init(struct ike_cookie_jar *j, uint64_t now_ms, uint32_t period_ms);
/* Wipes the secrets, frees the digest. */
void ike_cookie_fini(struct ike_cookie_jar *j);
/* A new secret now; the current one becomes the previous (still valid),
 * the previous one is forgotten (its cookies are refused). 0 or -1. */
int ike_cookie_rotate(struct ike_cookie_jar *j, uint64_t now_ms);
/* Rotates when period_ms has passed since the last rotation. */
int ike_cookie_tick(struct ike_cookie_jar *j, uint64_t now_ms);

/* The cookie for an initiator (IPv4 or IPv6 address of ip; its port is not
 * part of it). 0, or -1 for another address family or a hash failure. */
int ike_cookie_make(struct ike_cookie_jar *j, const uint8_t *ni, size_t ni_len,
                    const struct sockaddr_storage *ip, const uint8_t spi_i[8],
                    uint8_t out[IKE_COOKIE_LEN]);

enum ike_cookie_check {
    IKE_COOKIE_VALID,
    IKE_COOKIE_BAD,     /* wrong length, or the hash does not match */
    IKE_COOKIE_EXPIRED, /* made with a secret that is gone (or never was) */
};
enum ike_cookie_check ike_cookie_verify(struct ike_cookie_jar *j, const uint8_t *ni, size_t ni_len,
                                        const struct sockaddr_storage *ip, const uint8_t spi_i[8],
                                        const uint8_t *cookie, size_t cookie_len);

#endif

/* IKE cookies (RFC 7296 §2.6): the cookie's computation (against an
 * independent SHA-256 of Ni | IPi | SPIi | secret), secret rotation and
 * expiry, and the round trip through the exchange layer: a request without
 * a cookie gets N(COOKIE) only and no state, the retried request (cookie
 * first) completes IKE_SA_INIT and IKE_AUTH, forged, misplaced, foreign
 * and expired cookies are refused with a fresh one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "ike_cookie.h"
#include "ike_msg_wr.h"
#include "ike_payload_wr.h"
#include "log.h"
#include "ti.h"

static struct fx F;
static struct devs D;

static int setup(void **state)
{
    (void)state;
    log_init("ikeexch", LOG_INFO);
    fx_init(&F, "10.98.0.0/24");
    devs_init(&D, &F);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    devs_fini(&D);
    fx_fini(&F);
    return 0;
}

static void addr4(struct sockaddr_storage *ss, const char *ip, uint16_t port)
{
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *a = (struct sockaddr_in *)ss;
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    inet_pton(AF_INET, ip, &a->sin_addr);
}

static void addr6(struct sockaddr_storage *ss, const char *ip)
{
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(500);
    inet_pton(AF_INET6, ip, &a->sin6_addr);
}

static void test_cookie_compute(void **state)
{
    (void)state;
    struct ike_cookie_jar j;
    assert_int_equal(ike_cookie_init(&j, 1000, 60000), 0);
    uint8_t ni[32], spi[8] = {1, 2, 3, 4, 5, 6, 7, 8}, c[IKE_COOKIE_LEN];
    for (size_t i = 0; i < sizeof(ni); i++)
        ni[i] = (uint8_t)(i * 7);
    struct sockaddr_storage ip, ip_port, other, v6;
    addr4(&ip, "198.51.100.7", 500);
    addr4(&ip_port, "198.51.100.7", 4500);
    addr4(&other, "198.51.100.8", 500);
    addr6(&v6, "2001:db8::7");
    assert_int_equal(ike_cookie_make(&j, ni, sizeof(ni), &ip, spi, c), 0);

    /* Independently: version | SHA-256(Ni | IPi | SPIi | secret). */
    uint8_t in[32 + 4 + 8 + IKE_COOKIE_SECRET_LEN], want[32];
    unsigned wl = 0;
    memcpy(in, ni, 32);
    memcpy(in + 32, &((struct sockaddr_in *)&ip)->sin_addr, 4);
    memcpy(in + 36, spi, 8);
    memcpy(in + 44, j.secret[j.cur], IKE_COOKIE_SECRET_LEN);
    assert_true(EVP_Digest(in, sizeof(in), want, &wl, EVP_sha256(), NULL));
    assert_int_equal(c[0], j.version[j.cur]);
    assert_memory_equal(c + 1, want, 32);

    assert_int_equal(ike_cookie_verify(&j, ni, sizeof(ni), &ip, spi, c, sizeof(c)),
                     IKE_COOKIE_VALID);
    /* The port is not part of it (§2.6 binds the address). */
    assert_int_equal(ike_cookie_verify(&j, ni, sizeof(ni), &ip_port, spi, c, sizeof(c)),
                     IKE_COOKIE_VALID);
    /* Any other input, a flipped bit, another length: refused. */
    assert_int_equal(ike_cookie_verify(&j, ni, sizeof(ni), &other, spi, c, sizeof(c)),
                     IKE_COOKIE_BAD);
    assert_int_equal(ike_cookie_verify(&j, ni, sizeof(ni) - 1, &ip, spi, c, sizeof(c)),
                     IKE_COOKIE_BAD);
    uint8_t spi2[8] = {1, 2, 3, 4, 5, 6, 7, 9};
    assert_int_equal(ike_cookie_verify(&j, ni, sizeof(ni), &ip, spi2, c, sizeof(c)),
                     IKE_COOKIE_BAD);
    uint8_t bad[IKE_COOKIE_LEN];
    memcpy(bad, c, sizeof(bad));
    bad[20] ^= 0x10;
    assert_int_equal(ike_cookie_verify(&j, ni, sizeof(ni), &ip, spi, bad, sizeof(bad)),
                     IKE_COOKIE_BAD);
    assert_int_equal(ike_cookie_verify(&j, ni, sizeof(ni), &ip, spi, c, sizeof(c) - 1),
                     IKE_COOKIE_BAD);
    bad[20] ^= 0x10;
    bad[0] ^= 0x80; /* a secret version never used */
    assert_int_equal(ike_cookie_verify(&j, ni, sizeof(ni), &ip, spi, bad, sizeof(bad)),
                     IKE_COOKIE_EXPIRED);
    /* IPv6. */
    uint8_t c6[IKE_COOKIE_LEN];
    assert_int_equal(ike_cookie_make(&j, ni, sizeof(ni), &v6, spi, c6), 0);
    assert_memory_not_equal(c6, c, sizeof(c));
    assert_int_equal(ike_cookie_verify(&j, ni, sizeof(ni), &v6, spi, c6, sizeof(c6)),
                     IKE_COOKIE_VALID);
    struct sockaddr_storage unix_addr = {.ss_family = AF_UNIX};
    assert_int_equal(ike_cookie_make(&j, ni, sizeof(ni), &unix_addr, spi, c6), -1);

    /* Rotation: no change before the period; after it, the previous
     * secret still verifies; after a second rotation it has expired. */
    assert_int_equal(ike_cookie_tick(&j, 60999), 0);
    assert_int_equal(j.rotated_ms, 1000);
    assert_int_equal(ike_cookie_tick(&j, 61000), 0);
    assert_int_equal(j.rotated_ms, 61000);
    assert_int_equal(ike_cookie_verify(&j, ni, sizeof(ni), &ip, spi, c, sizeof(c)),
                     IKE_COOKIE_VALID);
    uint8_t c2[IKE_COOKIE_LEN];
    assert_int_equal(ike_cookie_make(&j, ni, sizeof(ni), &ip, spi, c2), 0);
    assert_int_not_equal(c2[0], c[0]);
    assert_memory_not_equal(c2 + 1, c + 1, 32);
    assert_int_equal(ike_cookie_rotate(&j, 70000), 0);
    assert_int_equal(ike_cookie_verify(&j, ni, sizeof(ni), &ip, spi, c, sizeof(c)),
                     IKE_COOKIE_EXPIRED);
    assert_int_equal(ike_cookie_verify(&j, ni, sizeof(ni), &ip, spi, c2, sizeof(c2)),
                     IKE_COOKIE_VALID);
    ike_cookie_fini(&j);
}

/* The unprotected answer: SPIi echoed, SPIr zero, N(COOKIE) only. */
static void check_cookie_answer(const struct ti *t, const uint8_t *out, size_t len)
{
    struct ike_msg m;
    struct ike_error e;
    static const uint8_t zero[8];
    assert_int_equal(ike_msg_parse(&m, out, len, &e), IKE_OK);
    assert_int_equal(m.hdr.exchange, IKE_EXCH_IKE_SA_INIT);
    assert_int_equal(m.hdr.flags, IKE_FLAG_RESPONSE);
    assert_int_equal(m.hdr.msgid, 0);
    assert_memory_equal(m.hdr.ispi, t->spi_i, 8);
    assert_memory_equal(m.hdr.rspi, zero, 8);
    assert_int_equal(m.outer.n, 1);
    struct ike_notify n;
    assert_non_null(ike_chain_find_notify(&m.outer, IKE_N_COOKIE, &n));
    assert_int_equal(n.data.len, IKE_COOKIE_LEN);
}

static void test_cookie_round_trip(void **state)
{
    (void)state;
    struct ike_cookie_jar j;
    assert_int_equal(ike_cookie_init(&j, 1000, 60000), 0);
    struct ti t;
    ti_init(&t, "aes128gcm16-prfsha256-ecp256");
    uint8_t out[128];
    size_t out_len = 0, len = 0;
    const char *why = NULL;

    /* 1. No cookie: asked for one, nothing else. */
    uint8_t *req = ti_sa_init(&t, &len);
    assert_int_equal(drive_cookie(&j, req, len, out, sizeof(out), &out_len, &why),
                     IKE_EXCH_COOKIE_ASK);
    free(req);
    check_cookie_answer(&t, out, out_len);
    assert_int_equal(ti_sa_init_response(&t, &F, out, out_len), 2);
    assert_int_equal(t.cookie_len, IKE_COOKIE_LEN);
    assert_false(t.have_keys);

    /* 2. The retry carries it first, passes, and the handshake completes
     * (its AUTH covers the message with the cookie). */
    req = ti_sa_init(&t, &len);
    struct ike_msg m;
    struct ike_error e;
    assert_int_equal(ike_msg_parse(&m, req, len, &e), IKE_OK);
    assert_int_equal(m.outer.pl[0].type, IKE_PL_NOTIFY);
    assert_int_equal(drive_cookie(&j, req, len, out, sizeof(out), &out_len, &why),
                     IKE_EXCH_COOKIE_OK);
    assert_int_equal(out_len, 0);
    struct ike_sa *sa = NULL;
    struct ike_tx tx = {0};
    assert_int_equal(drive_sa_init(&F, &t, req, len, false, &sa, &tx), IKE_EXCH_REPLY);
    free(req);
    assert_non_null(sa);
    assert_int_equal(ti_sa_init_response(&t, &F, tx.buf, tx.len), 0);
    free(tx.buf);
    struct ti_auth_opts ao = {.cred = &D.ec};
    req = ti_auth(&t, &F, &ao, &len);
    assert_int_equal(drive_request(&F, sa, req, len, &tx), IKE_EXCH_INSTALL);
    free(req);
    struct ti_auth_result r;
    assert_int_equal(ti_auth_response(&t, &F, tx.buf, tx.len, &r), 0);
    free(tx.buf);
    assert_true(r.auth_ok && r.cert_ok && r.id_ok);
    assert_true(r.has_sa);
    if (sa->vip.s_addr && sa->peer_subject)
        lease_pool_release(F.pool, sa->peer_subject);
    ike_sa_free(sa);
    ti_fini(&t);

    /* 3. A cookie that has expired meanwhile (two rotations) is refused
     * with a fresh one, which works. */
    ti_init(&t, "aes128gcm16-prfsha256-ecp256");
    req = ti_sa_init(&t, &len);
    assert_int_equal(drive_cookie(&j, req, len, out, sizeof(out), &out_len, &why),
                     IKE_EXCH_COOKIE_ASK);
    free(req);
    assert_int_equal(ti_sa_init_response(&t, &F, out, out_len), 2);
    assert_int_equal(ike_cookie_rotate(&j, 2000), 0);
    req = ti_sa_init(&t, &len);
    assert_int_equal(drive_cookie(&j, req, len, out, sizeof(out), &out_len, &why),
                     IKE_EXCH_COOKIE_OK); /* the previous secret: still valid */
    free(req);
    assert_int_equal(ike_cookie_rotate(&j, 3000), 0);
    req = ti_sa_init(&t, &len);
    assert_int_equal(drive_cookie(&j, req, len, out, sizeof(out), &out_len, &why),
                     IKE_EXCH_COOKIE_REFUSED);
    free(req);
    assert_non_null(strstr(why, "expired"));
    check_cookie_answer(&t, out, out_len);
    assert_int_equal(ti_sa_init_response(&t, &F, out, out_len), 2);
    req = ti_sa_init(&t, &len);
    assert_int_equal(drive_cookie(&j, req, len, out, sizeof(out), &out_len, &why),
                     IKE_EXCH_COOKIE_OK);
    free(req);
    ti_fini(&t);
    ike_cookie_fini(&j);
}

/* A request with N(COOKIE) somewhere else than first. */
static uint8_t *cookie_not_first(const struct ti *t, const uint8_t *cookie, size_t clen,
                                 size_t *len)
{
    struct ike_hdr h = {0};
    memcpy(h.ispi, t->spi_i, 8);
    h.exchange = IKE_EXCH_IKE_SA_INIT;
    h.flags = IKE_FLAG_INITIATOR;
    struct ike_wr w;
    ike_wr_init_dyn(&w, 0);
    ike_wr_header(&w, &h);
    ike_wr_nonce(&w, t->ni, sizeof(t->ni));
    ike_wr_notify(&w, 0, IKE_N_COOKIE, NULL, 0, cookie, clen);
    assert_int_equal(ike_wr_finish(&w, NULL), IKE_OK);
    return ike_wr_steal(&w, len);
}

static void test_cookie_refused(void **state)
{
    (void)state;
    struct ike_cookie_jar j;
    assert_int_equal(ike_cookie_init(&j, 1000, 60000), 0);
    struct ti t;
    ti_init(&t, "aes128gcm16-prfsha256-ecp256");
    uint8_t out[128];
    size_t out_len = 0, len = 0;
    const char *why = NULL;

    /* Forged: the right version octet, a made-up hash. */
    t.cookie[0] = j.version[j.cur];
    memset(t.cookie + 1, 0xa5, IKE_COOKIE_LEN - 1);
    t.cookie_len = IKE_COOKIE_LEN;
    uint8_t *req = ti_sa_init(&t, &len);
    assert_int_equal(drive_cookie(&j, req, len, out, sizeof(out), &out_len, &why),
                     IKE_EXCH_COOKIE_REFUSED);
    free(req);
    assert_non_null(strstr(why, "does not verify"));
    check_cookie_answer(&t, out, out_len);

    /* A too-short one. */
    t.cookie_len = 8;
    req = ti_sa_init(&t, &len);
    assert_int_equal(drive_cookie(&j, req, len, out, sizeof(out), &out_len, &why),
                     IKE_EXCH_COOKIE_REFUSED);
    free(req);

    /* Made for another address (a cookie relayed by someone else). */
    struct sockaddr_storage other;
    addr4(&other, "203.0.113.9", 500);
    assert_int_equal(ike_cookie_make(&j, t.ni, sizeof(t.ni), &other, t.spi_i, t.cookie), 0);
    t.cookie_len = IKE_COOKIE_LEN;
    req = ti_sa_init(&t, &len);
    assert_int_equal(drive_cookie(&j, req, len, out, sizeof(out), &out_len, &why),
                     IKE_EXCH_COOKIE_REFUSED);
    free(req);

    /* A valid cookie that is not the first payload. */
    uint8_t good[IKE_COOKIE_LEN];
    struct sockaddr_storage dev, gw;
    ti_default_addrs(&gw, &dev);
    assert_int_equal(ike_cookie_make(&j, t.ni, sizeof(t.ni), &dev, t.spi_i, good), 0);
    memcpy(t.cookie, good, sizeof(good));
    req = ti_sa_init(&t, &len);
    assert_int_equal(drive_cookie(&j, req, len, out, sizeof(out), &out_len, &why),
                     IKE_EXCH_COOKIE_OK);
    free(req);
    req = cookie_not_first(&t, good, sizeof(good), &len);
    assert_int_equal(drive_cookie(&j, req, len, out, sizeof(out), &out_len, &why),
                     IKE_EXCH_COOKIE_REFUSED);
    free(req);
    assert_non_null(strstr(why, "first"));

    /* Not a request (our own answer sent back): dropped, no answer. */
    t.cookie_len = 0;
    req = ti_sa_init(&t, &len);
    assert_int_equal(drive_cookie(&j, req, len, out, sizeof(out), &out_len, &why),
                     IKE_EXCH_COOKIE_ASK);
    free(req);
    uint8_t answer[128];
    memcpy(answer, out, out_len);
    size_t alen = out_len;
    assert_int_equal(drive_cookie(&j, answer, alen, out, sizeof(out), &out_len, &why),
                     IKE_EXCH_COOKIE_DROP);
    assert_int_equal(out_len, 0);
    ti_fini(&t);
    ike_cookie_fini(&j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cookie_compute),
        cmocka_unit_test(test_cookie_round_trip),
        cmocka_unit_test(test_cookie_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

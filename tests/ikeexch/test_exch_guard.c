/* The IKE_SA_INIT guard (iked_ratelimit.c): a source's token bucket (burst,
 * then the rate), sources independent of each other (IPv4 and IPv6, ports
 * ignored), rate 0 = no limit, the table bounded with the least recently
 * seen evicted, the half-open bound, the counters, and one log line per
 * period rather than one per packet. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "iked_ratelimit.h"
#include "log.h"
#include "ti.h"

static void addr4(struct sockaddr_storage *ss, uint32_t ip, uint16_t port)
{
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *a = (struct sockaddr_in *)ss;
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    a->sin_addr.s_addr = htonl(ip);
}

static void addr6(struct sockaddr_storage *ss, const char *ip)
{
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(500);
    inet_pton(AF_INET6, ip, &a->sin6_addr);
}

static unsigned passes(struct iked_guard *g, const struct sockaddr_storage *s, unsigned n,
                       uint64_t now)
{
    unsigned ok = 0;
    for (unsigned i = 0; i < n; i++)
        ok += iked_guard_rate(g, s, now);
    return ok;
}

static void test_bucket(void **state)
{
    (void)state;
    struct iked_guard g;
    struct sockaddr_storage a, a_port, b, v6;
    addr4(&a, 0xc6336407, 500);       /* 198.51.100.7 */
    addr4(&a_port, 0xc6336407, 4500); /* same address, other port */
    addr4(&b, 0xc6336408, 500);
    addr6(&v6, "2001:db8::7");
    assert_int_equal(iked_guard_init(&g, 5, 10, 100), 0);
    uint64_t t = 1000000;
    /* The burst, then nothing. */
    assert_int_equal(passes(&g, &a, 10, t), 10);
    assert_int_equal(passes(&g, &a, 5, t), 0);
    assert_int_equal(passes(&g, &a_port, 1, t), 0); /* the port does not matter */
    assert_int_equal(g.rate_limited, 6);
    /* Other sources are not affected. */
    assert_int_equal(passes(&g, &b, 10, t), 10);
    assert_int_equal(passes(&g, &v6, 10, t), 10);
    /* 5 per second: one after 200 ms, five after a second, never more
     * than the burst after a long pause. */
    assert_int_equal(passes(&g, &a, 3, t + 199), 0);
    assert_int_equal(passes(&g, &a, 3, t + 200), 1);
    assert_int_equal(passes(&g, &a, 10, t + 1200), 5);
    assert_int_equal(passes(&g, &a, 30, t + 3600000), 10);
    assert_int_equal(iked_guard_sources(&g), 3);
    iked_guard_free(&g);

    /* Rate 0: no limit and no table. */
    assert_int_equal(iked_guard_init(&g, 0, 10, 100), 0);
    assert_int_equal(passes(&g, &a, 1000, t), 1000);
    assert_int_equal(g.rate_limited, 0);
    assert_int_equal(iked_guard_sources(&g), 0);
    iked_guard_free(&g);
}

static void test_eviction(void **state)
{
    (void)state;
    struct iked_guard g;
    struct sockaddr_storage a, s;
    addr4(&a, 0x0a000001, 500);
    assert_int_equal(iked_guard_init(&g, 1, 2, 100), 0);
    uint64_t t = 5000;
    assert_int_equal(passes(&g, &a, 3, t), 2); /* a is limited */
    /* A spoofed flood of many sources: the table stays bounded. */
    const size_t cap = (size_t)IKED_GUARD_SETS * IKED_GUARD_WAYS;
    for (uint32_t i = 0; i < 4 * cap; i++) {
        addr4(&s, 0x64000000 + i, 500);
        assert_true(iked_guard_rate(&g, &s, t + 1 + i / 1000));
    }
    assert_int_equal(iked_guard_sources(&g), cap);
    assert_true(g.evicted >= 3 * cap);
    /* The oldest entries went; a, seen long ago, starts with a full bucket. */
    assert_int_equal(passes(&g, &a, 3, t + 10), 2);
    iked_guard_free(&g);
}

static void test_half_open(void **state)
{
    (void)state;
    struct iked_guard g;
    assert_int_equal(iked_guard_init(&g, 10, 20, 3), 0);
    assert_true(iked_guard_half_open(&g, 0, 1000));
    assert_true(iked_guard_half_open(&g, 2, 1000));
    assert_false(iked_guard_half_open(&g, 3, 1000));
    assert_false(iked_guard_half_open(&g, 50, 1000));
    assert_int_equal(g.half_open_refused, 2);
    assert_true(iked_guard_half_open(&g, 1, 1001));
    iked_guard_free(&g);
}

static void test_one_log_line(void **state)
{
    (void)state;
    struct iked_guard g;
    struct sockaddr_storage a;
    addr4(&a, 0xc0000201, 500);
    assert_int_equal(iked_guard_init(&g, 1, 1, 1), 0);
    cap_begin();
    uint64_t t = 100000;
    passes(&g, &a, 1000, t);                        /* 999 dropped */
    passes(&g, &a, 100, t + IKED_GUARD_LOG_MS - 1); /* within the period */
    for (int i = 0; i < 500; i++)
        iked_guard_half_open(&g, 5, t);
    const char *out = cap_end();
    assert_int_equal(count_lines(out), 2);
    assert_non_null(strstr(out, "IKE_SA_INIT from 192.0.2.1 over the per-source rate limit"));
    assert_non_null(strstr(out, "max_half_open 1"));
    assert_true(g.rate_limited >= 1098);
    assert_int_equal(g.half_open_refused, 500);
    /* The next period gets one more line, saying how many in between. */
    cap_begin();
    passes(&g, &a, 50, t + 2 * IKED_GUARD_LOG_MS);
    out = cap_end();
    assert_int_equal(count_lines(out), 1);
    iked_guard_free(&g);
}

int main(void)
{
    log_init("ikeguard", LOG_INFO);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bucket),
        cmocka_unit_test(test_eviction),
        cmocka_unit_test(test_half_open),
        cmocka_unit_test(test_one_log_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The grant cache: served for min(cache_seconds, bound), not at all with
 * either 0, replaced, removed by an uncacheable grant, pruned, and many
 * devices (the table grows). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ike_grant.h"

static void fpr_of(unsigned i, uint8_t fpr[32])
{
    for (int k = 0; k < 32; k++)
        fpr[k] = (uint8_t)(i * 2654435761u >> (k % 4 * 8)) ^ (uint8_t)k;
}

static struct ike_grant grant(enum ike_grant_decision d, uint32_t cache_s, const char *reason)
{
    struct ike_grant g;
    memset(&g, 0, sizeof(g));
    g.decision = d;
    g.cache_seconds = cache_s;
    snprintf(g.reason, sizeof(g.reason), "%s", reason);
    return g;
}

static void test_expiry_by_grant(void **state)
{
    (void)state;
    struct ike_grant_cache *c = ike_grant_cache_new(3600);
    uint8_t f[32];
    fpr_of(1, f);
    struct ike_grant g = grant(IKE_GRANT_ALLOW, 60, "policy corp");
    assert_int_equal(ike_grant_cache_put(c, f, &g, 1000), 0);
    uint64_t age = 99;
    const struct ike_grant *got = ike_grant_cache_get(c, f, 1000 + 59999, &age);
    assert_non_null(got);
    assert_string_equal(got->reason, "policy corp");
    assert_int_equal(age, 59);
    assert_null(ike_grant_cache_get(c, f, 1000 + 60000, NULL));
    assert_int_equal(ike_grant_cache_count(c), 0); /* an expired entry goes when seen */
    ike_grant_cache_free(c);
}

static void test_expiry_by_bound(void **state)
{
    (void)state;
    /* policyd allows a day; the gateway bounds it to 10 s. */
    struct ike_grant_cache *c = ike_grant_cache_new(10);
    uint8_t f[32];
    fpr_of(2, f);
    struct ike_grant g = grant(IKE_GRANT_QUARANTINE, 86400, "non-compliant");
    assert_int_equal(ike_grant_cache_put(c, f, &g, 0), 0);
    assert_non_null(ike_grant_cache_get(c, f, 9999, NULL));
    assert_null(ike_grant_cache_get(c, f, 10000, NULL));
    ike_grant_cache_free(c);
}

static void test_not_cached(void **state)
{
    (void)state;
    uint8_t f[32];
    fpr_of(3, f);
    /* cache_seconds 0: not kept */
    struct ike_grant_cache *c = ike_grant_cache_new(3600);
    struct ike_grant g = grant(IKE_GRANT_ALLOW, 0, "");
    assert_int_equal(ike_grant_cache_put(c, f, &g, 0), 0);
    assert_null(ike_grant_cache_get(c, f, 1, NULL));
    /* a bound of 0 (authorization_cache_max = 0): nothing is kept */
    struct ike_grant_cache *none = ike_grant_cache_new(0);
    g.cache_seconds = 3600;
    assert_int_equal(ike_grant_cache_put(none, f, &g, 0), 0);
    assert_null(ike_grant_cache_get(none, f, 1, NULL));
    assert_int_equal(ike_grant_cache_count(none), 0);
    ike_grant_cache_free(none);
    /* an uncacheable grant removes the older one: a device blocked with
     * cache_seconds 0 must not fall back to its earlier allow */
    g = grant(IKE_GRANT_ALLOW, 600, "allowed");
    assert_int_equal(ike_grant_cache_put(c, f, &g, 0), 0);
    assert_non_null(ike_grant_cache_get(c, f, 1, NULL));
    g = grant(IKE_GRANT_DENY, 0, "blocked");
    assert_int_equal(ike_grant_cache_put(c, f, &g, 2), 0);
    assert_null(ike_grant_cache_get(c, f, 3, NULL));
    ike_grant_cache_free(c);
}

static void test_replace(void **state)
{
    (void)state;
    struct ike_grant_cache *c = ike_grant_cache_new(3600);
    uint8_t f[32];
    fpr_of(4, f);
    struct ike_grant g = grant(IKE_GRANT_ALLOW, 100, "first");
    assert_int_equal(ike_grant_cache_put(c, f, &g, 0), 0);
    g = grant(IKE_GRANT_DENY, 100, "blocked by the admin");
    assert_int_equal(ike_grant_cache_put(c, f, &g, 50000), 0);
    assert_int_equal(ike_grant_cache_count(c), 1);
    const struct ike_grant *got = ike_grant_cache_get(c, f, 140000, NULL);
    assert_non_null(got); /* the expiry restarted with the new grant */
    assert_int_equal(got->decision, IKE_GRANT_DENY);
    assert_string_equal(got->reason, "blocked by the admin");
    ike_grant_cache_free(c);
}

static void test_many_and_prune(void **state)
{
    (void)state;
    struct ike_grant_cache *c = ike_grant_cache_new(3600);
    uint8_t f[32];
    for (unsigned i = 0; i < 5000; i++) {
        fpr_of(i, f);
        struct ike_grant g = grant(IKE_GRANT_ALLOW, i % 2 ? 10 : 100, "");
        g.device_id = i;
        assert_int_equal(ike_grant_cache_put(c, f, &g, 0), 0);
    }
    assert_int_equal(ike_grant_cache_count(c), 5000);
    for (unsigned i = 0; i < 5000; i += 499) {
        fpr_of(i, f);
        const struct ike_grant *got = ike_grant_cache_get(c, f, 5000, NULL);
        assert_non_null(got);
        assert_int_equal(got->device_id, i);
    }
    assert_int_equal(ike_grant_cache_prune(c, 10000), 2500);
    assert_int_equal(ike_grant_cache_count(c), 2500);
    fpr_of(1, f);
    assert_null(ike_grant_cache_get(c, f, 10000, NULL));
    fpr_of(2, f);
    assert_non_null(ike_grant_cache_get(c, f, 10000, NULL));
    fpr_of(9999, f);
    assert_null(ike_grant_cache_get(c, f, 0, NULL)); /* never stored */
    ike_grant_cache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expiry_by_grant), cmocka_unit_test(test_expiry_by_bound),
        cmocka_unit_test(test_not_cached),      cmocka_unit_test(test_replace),
        cmocka_unit_test(test_many_and_prune),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

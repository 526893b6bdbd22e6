/* policyd's compliance rules: version comparison, each rule alone, the
 * password rule only when the effective policy requires one, failed
 * settings only when configured, and the min_os syntax check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "compliance.h"

static void test_version_cmp(void **state)
{
    (void)state;
    assert_true(comp_version_cmp("16.4.1", "16.4") > 0);
    assert_true(comp_version_cmp("16.4", "16.4.0") == 0);
    assert_true(comp_version_cmp("16.10", "16.9") > 0);
    assert_true(comp_version_cmp("9", "13") < 0);
    assert_true(comp_version_cmp("13", "13") == 0);
    assert_true(comp_version_cmp("13.0.1", "13") > 0);
    assert_true(comp_version_cmp("12.9.9", "13") < 0);
}

static char *min_os[] = {"ios:16.0", "Android:13"};

static struct comp_rules rules_all(void)
{
    struct comp_rules r = {.min_os = {min_os, 2},
                           .encryption = true,
                           .not_jailbroken = true,
                           .password = true,
                           .settings = true};
    return r;
}

static struct comp_report good(const char *platform, const char *osv)
{
    struct comp_report rep = {
        .platform = platform, .os_version = osv, .password_set = true, .encryption_on = true};
    return rep;
}

/* Evaluates and returns the reasons joined by '|'. */
static int eval(const struct comp_rules *r, const struct comp_report *rep,
                const struct pol_effective *eff, char *out, size_t len)
{
    struct strv reasons = {0};
    int rc = comp_evaluate(r, rep, eff, &reasons);
    out[0] = '\0';
    for (size_t i = 0; i < reasons.n; i++) {
        strncat(out, i ? "|" : "", len - strlen(out) - 1);
        strncat(out, reasons.v[i], len - strlen(out) - 1);
    }
    strv_free(&reasons);
    return rc;
}

static void test_good_device(void **state)
{
    (void)state;
    struct comp_rules r = rules_all();
    struct comp_report rep = good("ios", "16.0");
    char out[1024];
    assert_int_equal(eval(&r, &rep, NULL, out, sizeof(out)), 1);
    assert_string_equal(out, "");
    /* A platform with no minimum. */
    rep = good("windows", "6.5");
    assert_int_equal(eval(&r, &rep, NULL, out, sizeof(out)), 1);
}

static void test_each_rule(void **state)
{
    (void)state;
    struct comp_rules r = rules_all();
    char out[1024];
    struct comp_report rep = good("android", "12.1");
    assert_int_equal(eval(&r, &rep, NULL, out, sizeof(out)), 0);
    assert_string_equal(out, "OS version 12.1 is older than the minimum 13");
    rep = good("ios", "");
    assert_int_equal(eval(&r, &rep, NULL, out, sizeof(out)), 0);
    assert_string_equal(out, "OS version unknown (ios requires 16.0 or later)");
    rep = good("ios", "17");
    rep.encryption_on = false;
    assert_int_equal(eval(&r, &rep, NULL, out, sizeof(out)), 0);
    assert_string_equal(out, "storage encryption is off");
    rep = good("ios", "17");
    rep.jailbroken = true;
    assert_int_equal(eval(&r, &rep, NULL, out, sizeof(out)), 0);
    assert_string_equal(out, "the device is jailbroken or rooted");
    /* Each rule switched off lets its failure pass. */
    r.encryption = r.not_jailbroken = false;
    r.min_os.n = 0;
    rep = good("android", "4");
    rep.encryption_on = false;
    rep.jailbroken = true;
    assert_int_equal(eval(&r, &rep, NULL, out, sizeof(out)), 1);
}

static void test_password_rule(void **state)
{
    (void)state;
    struct comp_rules r = rules_all();
    struct pol_effective eff;
    memset(&eff, 0, sizeof(eff));
    char out[1024];
    struct comp_report rep = good("ios", "17");
    rep.password_set = false;
    /* No policy requires a password: fine. */
    assert_int_equal(eval(&r, &rep, &eff, out, sizeof(out)), 1);
    eff.value[POL_PW_REQUIRED] = "no";
    assert_int_equal(eval(&r, &rep, &eff, out, sizeof(out)), 1);
    eff.value[POL_PW_REQUIRED] = "yes";
    eff.policy[POL_PW_REQUIRED] = "base";
    assert_int_equal(eval(&r, &rep, &eff, out, sizeof(out)), 0);
    assert_string_equal(out, "no password set, policy 'base' requires one");
    r.password = false;
    assert_int_equal(eval(&r, &rep, &eff, out, sizeof(out)), 1);
}

static void test_failed_settings(void **state)
{
    (void)state;
    struct comp_rules r = rules_all();
    struct pol_effective eff;
    memset(&eff, 0, sizeof(eff));
    eff.value[POL_RESTRICT_CAMERA] = "block";
    struct comp_result res[3] = {
        {POL_RESTRICT_CAMERA, false, "denied by user"},
        {POL_RESTRICT_WIFI, false, "not supported"}, /* not configured: ignored */
        {POL_PW_MIN_LENGTH, true, ""},
    };
    struct comp_report rep = good("ios", "17");
    rep.results = res;
    rep.n_results = 3;
    char out[1024];
    assert_int_equal(eval(&r, &rep, &eff, out, sizeof(out)), 0);
    assert_string_equal(out,
                        "required setting restrict.camera = block failed to apply: denied by user");
    res[0].applied = true;
    assert_int_equal(eval(&r, &rep, &eff, out, sizeof(out)), 1);
    res[0].applied = false;
    r.settings = false;
    assert_int_equal(eval(&r, &rep, &eff, out, sizeof(out)), 1);
}

static void test_all_reasons(void **state)
{
    (void)state;
    struct comp_rules r = rules_all();
    struct pol_effective eff;
    memset(&eff, 0, sizeof(eff));
    eff.value[POL_PW_REQUIRED] = "yes";
    eff.policy[POL_PW_REQUIRED] = "p";
    struct comp_report rep = {.platform = "IOS", .os_version = "15", .jailbroken = true};
    char out[1024];
    assert_int_equal(eval(&r, &rep, &eff, out, sizeof(out)), 0);
    assert_string_equal(out, "OS version 15 is older than the minimum 16.0|storage encryption is "
                             "off|the device is jailbroken or rooted|no password set, policy 'p' "
                             "requires one");
}

static void test_rules_check(void **state)
{
    (void)state;
    char why[256];
    struct comp_rules r = rules_all();
    assert_int_equal(comp_rules_check(&r, why, sizeof(why)), 0);
    char *bad[] = {"ios16"};
    r.min_os.v = bad;
    r.min_os.n = 1;
    assert_int_equal(comp_rules_check(&r, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "'ios16' is not platform:version"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_cmp),     cmocka_unit_test(test_good_device),
        cmocka_unit_test(test_each_rule),       cmocka_unit_test(test_password_rule),
        cmocka_unit_test(test_failed_settings), cmocka_unit_test(test_all_reasons),
        cmocka_unit_test(test_rules_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* policyd's policies: value validation (ranges, lists, canonical forms)
 * and the resolution of an effective policy down the group tree with its
 * documented precedence. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy.h"

static char *parse_ok(const char *setting, const char *value)
{
    char why[POL_ERR], *canon = NULL;
    int id = pol_setting_find(setting);
    assert_true(id >= 0);
    if (pol_value_parse(id, value, &canon, why, sizeof(why)) < 0)
        fail_msg("%s = %s refused: %s", setting, value, why);
    return canon;
}

static void parse_bad(const char *setting, const char *value, const char *expect)
{
    char why[POL_ERR] = "", *canon = NULL;
    assert_int_equal(pol_value_parse(pol_setting_find(setting), value, &canon, why, sizeof(why)),
                     -1);
    assert_null(canon);
    if (!strstr(why, expect))
        fail_msg("%s = %s: reason '%s' lacks '%s'", setting, value, why, expect);
    /* Every refusal names the setting. */
    assert_non_null(strstr(why, setting));
}

static void check_canon(const char *setting, const char *value, const char *want)
{
    char *c = parse_ok(setting, value);
    assert_string_equal(c, want);
    free(c);
}

static void test_values(void **state)
{
    (void)state;
    check_canon("password.min_length", "1", "1");
    check_canon("password.min_length", "40", "40");
    parse_bad("password.min_length", "0", "from 1 to 40");
    parse_bad("password.min_length", "41", "from 1 to 40");
    parse_bad("password.min_length", "-3", "from 1 to 40");
    parse_bad("password.min_length", "8x", "from 1 to 40");
    parse_bad("password.min_length", "99999999999999999999", "from 1 to 40");
    parse_bad("password.wipe_after_failures", "3", "from 4 to 16");
    check_canon("password.expiration", "0", "0");
    check_canon("password.required", "TRUE", "yes");
    check_canon("password.required", "off", "no");
    parse_bad("password.required", "maybe", "yes or no");
    check_canon("password.type", "Strong", "strong");
    parse_bad("password.type", "pattern", "pin|strong|either");
    check_canon("restrict.camera", "block", "block");
    parse_bad("restrict.bluetooth", "", "allow|block");
    check_canon("vpn.tunnel", "full", "full");
    check_canon("vpn.subnets", "10.1.0.0/24,10.2.0.0/16  2001:DB8:0::/64",
                "10.1.0.0/24 10.2.0.0/16 2001:db8::/64");
    parse_bad("vpn.subnets", "10.1.0.1/24", "host bits zero");
    parse_bad("vpn.subnets", "10.1.0.0/33", "not a prefix");
    parse_bad("vpn.subnets", "", "1 to 32 entries");
    check_canon("vpn.ports", "TCP/443 udp/53 tcp/8000-8010 icmp any 47",
                "tcp/443 udp/53 tcp/8000-8010 icmp any 47");
    parse_bad("vpn.ports", "icmp/5", "only with tcp, udp or sctp");
    parse_bad("vpn.ports", "tcp/0", "1-65535");
    parse_bad("vpn.ports", "tcp/9-8", "1-65535");
    parse_bad("vpn.ports", "tcp/1000-1064", "at most 64 ports");
    check_canon("vpn.ports", "tcp/1000-1063", "tcp/1000-1063");
    parse_bad("vpn.ports", "gre", "unknown protocol");
    check_canon("vpn.dns", "10.0.0.53 2001:db8::53", "10.0.0.53 2001:db8::53");
    parse_bad("vpn.dns", "10.0.0.256", "not an IPv4 or IPv6 address");
    parse_bad("vpn.dns", "1.1.1.1 2.2.2.2 3.3.3.3 4.4.4.4 5.5.5.5", "1 to 4 entries");
    assert_int_equal(pol_setting_find("nope"), -1);
}

static void test_ports_parse(void **state)
{
    (void)state;
    struct pol_port p[4];
    assert_int_equal(pol_ports_parse("tcp/443 udp/53-54 any", p, 4), 3);
    assert_int_equal(p[0].proto, 6);
    assert_int_equal(p[0].lo, 443);
    assert_int_equal(p[0].hi, 443);
    assert_int_equal(p[1].proto, 17);
    assert_int_equal(p[1].hi, 54);
    assert_int_equal(p[2].proto, 0);
    assert_int_equal(p[2].lo, 0);
    assert_int_equal(pol_ports_parse("tcp/1 tcp/2 tcp/3 tcp/4 tcp/5", p, 4), -1);
}

static void test_group_paths(void **state)
{
    (void)state;
    assert_true(pol_group_path_ok("corp"));
    assert_true(pol_group_path_ok("corp/sales/emea"));
    assert_false(pol_group_path_ok(""));
    assert_false(pol_group_path_ok("/corp"));
    assert_false(pol_group_path_ok("corp/"));
    assert_false(pol_group_path_ok("corp//x"));
    assert_false(pol_group_path_ok("corp/sa les"));
    assert_false(pol_group_path_ok("a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q"));
    assert_int_equal(pol_group_distance("corp", "corp/sales/emea"), 2);
    assert_int_equal(pol_group_distance("corp/sales", "corp/sales"), 0);
    /* A name prefix is not an ancestor. */
    assert_int_equal(pol_group_distance("corp/sal", "corp/sales"), -1);
    assert_int_equal(pol_group_distance("corp/sales/emea", "corp/sales"), -1);
}

static struct pol_link mk(const char *group, const char *policy, uint32_t pos)
{
    struct pol_link l;
    memset(&l, 0, sizeof(l));
    l.group = group;
    l.policy = policy;
    l.position = pos;
    return l;
}

/* The nearest group wins per setting; the rest comes from further up. */
static void test_resolve_nearest(void **state)
{
    (void)state;
    struct pol_link l[3] = {mk("corp", "base", 1), mk("corp/sales", "sales", 1),
                            mk("corp/it", "it", 1)};
    l[0].values[POL_PW_MIN_LENGTH] = "8";
    l[0].values[POL_VPN_SUBNETS] = "10.1.0.0/24";
    l[1].values[POL_PW_MIN_LENGTH] = "12";
    l[2].values[POL_VPN_SUBNETS] = "10.9.0.0/24";
    const char *member[] = {"corp/sales/emea"};
    struct pol_effective e;
    pol_resolve(member, 1, l, 3, &e);
    assert_string_equal(e.value[POL_PW_MIN_LENGTH], "12");
    assert_string_equal(e.group[POL_PW_MIN_LENGTH], "corp/sales");
    assert_string_equal(e.policy[POL_PW_MIN_LENGTH], "sales");
    assert_string_equal(e.value[POL_VPN_SUBNETS], "10.1.0.0/24");
    assert_string_equal(e.group[POL_VPN_SUBNETS], "corp");
    /* Not configured anywhere: stays not configured. */
    assert_null(e.value[POL_VPN_DNS]);
    assert_null(e.group[POL_VPN_DNS]);
    /* A device in no group gets nothing. */
    pol_resolve(NULL, 0, l, 3, &e);
    assert_null(e.value[POL_PW_MIN_LENGTH]);
}

/* Within one group, the link order decides, whatever the array order. */
static void test_resolve_position(void **state)
{
    (void)state;
    struct pol_link l[2] = {mk("corp", "second", 2), mk("corp", "first", 1)};
    l[0].values[POL_RESTRICT_CAMERA] = "allow";
    l[1].values[POL_RESTRICT_CAMERA] = "block";
    l[0].values[POL_RESTRICT_WIFI] = "block";
    const char *member[] = {"corp"};
    struct pol_effective e;
    pol_resolve(member, 1, l, 2, &e);
    assert_string_equal(e.value[POL_RESTRICT_CAMERA], "block");
    assert_string_equal(e.policy[POL_RESTRICT_CAMERA], "first");
    /* The later link still fills what the first leaves unset. */
    assert_string_equal(e.value[POL_RESTRICT_WIFI], "block");
    assert_string_equal(e.policy[POL_RESTRICT_WIFI], "second");
}

/* Two memberships: distance first, then the deeper group, then the path. */
static void test_resolve_two_groups(void **state)
{
    (void)state;
    struct pol_link l[4] = {mk("corp/sales", "sales", 1), mk("corp/it/ops", "ops", 1),
                            mk("corp/it", "it", 1), mk("lab", "lab", 1)};
    l[0].values[POL_PW_HISTORY] = "5";
    l[1].values[POL_PW_HISTORY] = "10";
    l[2].values[POL_PW_TYPE] = "pin";
    l[3].values[POL_PW_TYPE] = "strong";
    l[0].values[POL_VPN_TUNNEL] = "split";
    l[3].values[POL_VPN_TUNNEL] = "full";
    const char *member[] = {"corp/sales", "corp/it/ops/nightly", "lab"};
    struct pol_effective e;
    pol_resolve(member, 3, l, 4, &e);
    /* corp/sales at distance 0 beats corp/it/ops at distance 1. */
    assert_string_equal(e.value[POL_PW_HISTORY], "5");
    /* lab (distance 0) beats corp/it (distance 2). */
    assert_string_equal(e.value[POL_PW_TYPE], "strong");
    /* Both at distance 0 and depth... corp/sales is deeper than lab. */
    assert_string_equal(e.value[POL_VPN_TUNNEL], "split");
    assert_string_equal(e.group[POL_VPN_TUNNEL], "corp/sales");
    /* Same distance, same depth: the path in byte order. */
    struct pol_link m[2] = {mk("zeta", "z", 1), mk("alpha", "a", 1)};
    m[0].values[POL_PW_HISTORY] = "1";
    m[1].values[POL_PW_HISTORY] = "2";
    const char *two[] = {"zeta", "alpha"};
    pol_resolve(two, 2, m, 2, &e);
    assert_string_equal(e.policy[POL_PW_HISTORY], "a");
}

/* Links whose group is beside the device's path never apply. */
static void test_resolve_unrelated(void **state)
{
    (void)state;
    struct pol_link l[2] = {mk("corp/sales", "sales", 1), mk("corp/salesforce", "sf", 1)};
    l[0].values[POL_PW_HISTORY] = "5";
    l[1].values[POL_PW_EXPIRATION] = "30";
    const char *member[] = {"corp/sales/emea"};
    struct pol_effective e;
    pol_resolve(member, 1, l, 2, &e);
    assert_string_equal(e.value[POL_PW_HISTORY], "5");
    assert_null(e.value[POL_PW_EXPIRATION]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_ports_parse),
        cmocka_unit_test(test_group_paths),
        cmocka_unit_test(test_resolve_nearest),
        cmocka_unit_test(test_resolve_position),
        cmocka_unit_test(test_resolve_two_groups),
        cmocka_unit_test(test_resolve_unrelated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

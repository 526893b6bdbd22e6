/* Grant ∩ proposed TSr (ike_ts_narrow_grant) and TSi to the virtual
 * address (ike_ts_narrow_vip): addresses cut into prefixes, protocols,
 * ports, IPv4 and IPv6, the cap; and what the kernel could not hold. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "ike_const.h"
#include "ike_grant.h"

static void sel(struct ike_grant *g, const char *subnet, uint8_t proto, uint16_t port)
{
    const char *why = NULL;
    struct ike_grant_sel *s = &g->sel[g->n_sel++];
    memset(s, 0, sizeof(*s));
    assert_int_equal(ike_grant_sel_parse_subnet(subnet, s, &why), 0);
    s->proto = proto;
    s->port = port;
}

static struct ike_ts ts(const char *start, const char *end, uint8_t proto, uint16_t sp, uint16_t ep)
{
    struct ike_ts t;
    memset(&t, 0, sizeof(t));
    bool v6 = strchr(start, ':') != NULL;
    t.type = v6 ? IKE_TS_IPV6_ADDR_RANGE : IKE_TS_IPV4_ADDR_RANGE;
    assert_int_equal(inet_pton(v6 ? AF_INET6 : AF_INET, start, t.start), 1);
    assert_int_equal(inet_pton(v6 ? AF_INET6 : AF_INET, end, t.end), 1);
    t.ip_proto = proto;
    t.start_port = sp;
    t.end_port = ep;
    return t;
}

/* The result as one comparable string: "a/p, b/q tcp/443". */
static const char *narrow(const struct ike_grant *g, int family, const struct ike_ts *t, unsigned n)
{
    static char buf[2048];
    struct ike_child_ts out[IKE_CHILD_MAX_TS];
    bool trunc = false;
    size_t k = ike_ts_narrow_grant(g, family, t, n, out, IKE_CHILD_MAX_TS, &trunc);
    buf[0] = '\0';
    for (size_t i = 0; i < k; i++) {
        char one[96];
        ike_grant_ts_format(out[i].family, out[i].addr, out[i].plen, out[i].proto, out[i].port, one,
                            sizeof(one));
        snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s", i ? ", " : "", one);
    }
    if (trunc)
        snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), " (truncated)");
    return buf;
}

static void test_any_tsr_gives_the_grant(void **state)
{
    (void)state;
    struct ike_grant g = {.decision = IKE_GRANT_ALLOW};
    sel(&g, "10.1.0.0/24", 0, 0);
    sel(&g, "10.2.0.0/16", IPPROTO_TCP, 443);
    struct ike_ts t = ts("0.0.0.0", "255.255.255.255", 0, 0, 65535);
    assert_string_equal(narrow(&g, AF_INET, &t, 1), "10.1.0.0/24, 10.2.0.0/16 tcp/443");
}

static void test_address_intersection(void **state)
{
    (void)state;
    struct ike_grant g = {.decision = IKE_GRANT_ALLOW};
    sel(&g, "10.0.0.0/8", 0, 0);
    /* The device asks for less than granted: its range, as prefixes. */
    struct ike_ts t = ts("10.1.2.0", "10.1.2.255", 0, 0, 65535);
    assert_string_equal(narrow(&g, AF_INET, &t, 1), "10.1.2.0/24");
    t = ts("10.0.0.1", "10.0.0.6", 0, 0, 65535);
    assert_string_equal(narrow(&g, AF_INET, &t, 1), "10.0.0.1/32, 10.0.0.2/31, 10.0.0.4/31, "
                                                    "10.0.0.6/32");
    /* A range crossing the grant's edge keeps only the inside. */
    t = ts("9.255.255.0", "10.0.0.255", 0, 0, 65535);
    assert_string_equal(narrow(&g, AF_INET, &t, 1), "10.0.0.0/24");
    /* Disjoint: nothing. */
    t = ts("192.168.0.0", "192.168.255.255", 0, 0, 65535);
    assert_string_equal(narrow(&g, AF_INET, &t, 1), "");
    /* Several proposals, several selectors; duplicates merged. */
    struct ike_grant g2 = {.decision = IKE_GRANT_ALLOW};
    sel(&g2, "10.1.0.0/24", 0, 0);
    sel(&g2, "10.1.0.0/24", 0, 0);
    sel(&g2, "10.3.0.0/24", 0, 0);
    struct ike_ts two[2] = {ts("10.1.0.128", "10.1.0.255", 0, 0, 65535),
                            ts("10.3.0.0", "10.3.0.63", 0, 0, 65535)};
    assert_string_equal(narrow(&g2, AF_INET, two, 2), "10.1.0.128/25, 10.3.0.0/26");
    /* 0.0.0.0/0 granted, everything proposed. */
    struct ike_grant all = {.decision = IKE_GRANT_ALLOW};
    sel(&all, "0.0.0.0/0", 0, 0);
    t = ts("0.0.0.0", "255.255.255.255", 0, 0, 65535);
    assert_string_equal(narrow(&all, AF_INET, &t, 1), "0.0.0.0/0");
}

static void test_protocols(void **state)
{
    (void)state;
    struct ike_grant g = {.decision = IKE_GRANT_ALLOW};
    sel(&g, "10.1.0.0/24", IPPROTO_UDP, 0);
    /* any proposed: the grant's protocol */
    struct ike_ts t = ts("10.1.0.0", "10.1.0.255", 0, 0, 65535);
    assert_string_equal(narrow(&g, AF_INET, &t, 1), "10.1.0.0/24 udp");
    /* the same protocol: kept */
    t = ts("10.1.0.0", "10.1.0.255", IPPROTO_UDP, 0, 65535);
    assert_string_equal(narrow(&g, AF_INET, &t, 1), "10.1.0.0/24 udp");
    /* another protocol: nothing */
    t = ts("10.1.0.0", "10.1.0.255", IPPROTO_TCP, 0, 65535);
    assert_string_equal(narrow(&g, AF_INET, &t, 1), "");
    /* any granted, a protocol proposed: the device's */
    struct ike_grant any = {.decision = IKE_GRANT_ALLOW};
    sel(&any, "10.1.0.0/24", 0, 0);
    t = ts("10.1.0.0", "10.1.0.255", IPPROTO_ICMP, 0, 65535);
    assert_string_equal(narrow(&any, AF_INET, &t, 1), "10.1.0.0/24 icmp");
    t = ts("10.1.0.0", "10.1.0.255", 47, 0, 65535);
    assert_string_equal(narrow(&any, AF_INET, &t, 1), "10.1.0.0/24 proto 47");
}

static void test_ports(void **state)
{
    (void)state;
    struct ike_grant g = {.decision = IKE_GRANT_ALLOW};
    sel(&g, "10.2.0.0/24", IPPROTO_TCP, 443);
    /* a range containing the granted port: the port */
    struct ike_ts t = ts("10.2.0.0", "10.2.0.255", IPPROTO_TCP, 400, 500);
    assert_string_equal(narrow(&g, AF_INET, &t, 1), "10.2.0.0/24 tcp/443");
    /* one port, the same */
    t = ts("10.2.0.0", "10.2.0.255", 0, 443, 443);
    assert_string_equal(narrow(&g, AF_INET, &t, 1), "10.2.0.0/24 tcp/443");
    /* a range without it: nothing */
    t = ts("10.2.0.0", "10.2.0.255", IPPROTO_TCP, 80, 80);
    assert_string_equal(narrow(&g, AF_INET, &t, 1), "");
    /* OPAQUE ports: nothing the kernel can hold */
    t = ts("10.2.0.0", "10.2.0.255", IPPROTO_TCP, 65535, 0);
    assert_string_equal(narrow(&g, AF_INET, &t, 1), "");

    struct ike_grant any = {.decision = IKE_GRANT_ALLOW};
    sel(&any, "10.2.0.0/24", IPPROTO_TCP, 0);
    /* the device asks one port of an any-port grant: that port */
    t = ts("10.2.0.0", "10.2.0.255", IPPROTO_TCP, 22, 22);
    assert_string_equal(narrow(&any, AF_INET, &t, 1), "10.2.0.0/24 tcp/22");
    /* a wider range than one port, narrower than all: left out (the
     * kernel takes one port or any) */
    t = ts("10.2.0.0", "10.2.0.255", IPPROTO_TCP, 1000, 2000);
    assert_string_equal(narrow(&any, AF_INET, &t, 1), "");
    /* a port with no protocol on either side cannot be a selector */
    struct ike_grant none = {.decision = IKE_GRANT_ALLOW};
    sel(&none, "10.2.0.0/24", 0, 0);
    t = ts("10.2.0.0", "10.2.0.255", 0, 53, 53);
    assert_string_equal(narrow(&none, AF_INET, &t, 1), "");
    /* ... nor with ICMP */
    t = ts("10.2.0.0", "10.2.0.255", IPPROTO_ICMP, 8, 8);
    assert_string_equal(narrow(&none, AF_INET, &t, 1), "");
}

static void test_ipv6(void **state)
{
    (void)state;
    struct ike_grant g = {.decision = IKE_GRANT_ALLOW};
    sel(&g, "2001:db8:2::/64", 0, 0);
    sel(&g, "10.1.0.0/24", 0, 0);
    sel(&g, "2001:db8:3::/48", IPPROTO_TCP, 8443);
    struct ike_ts t6[2] = {ts("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 0, 0, 65535),
                           ts("0.0.0.0", "255.255.255.255", 0, 0, 65535)};
    /* each family takes its own selectors only */
    assert_string_equal(narrow(&g, AF_INET6, t6, 2), "2001:db8:2::/64, 2001:db8:3::/48 tcp/8443");
    assert_string_equal(narrow(&g, AF_INET, t6, 2), "10.1.0.0/24");
    /* a range inside a /64 */
    struct ike_ts in = ts("2001:db8:2::10", "2001:db8:2::1f", 0, 0, 65535);
    assert_string_equal(narrow(&g, AF_INET6, &in, 1), "2001:db8:2::10/124");
    /* ::/0 granted and proposed */
    struct ike_grant all = {.decision = IKE_GRANT_ALLOW};
    sel(&all, "::/0", 0, 0);
    assert_string_equal(narrow(&all, AF_INET6, t6, 1), "::/0");
    /* the top of the space: no overflow */
    struct ike_ts top = ts("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe",
                           "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 0, 0, 65535);
    assert_string_equal(narrow(&all, AF_INET6, &top, 1),
                        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127");
}

static void test_cap(void **state)
{
    (void)state;
    struct ike_grant g = {.decision = IKE_GRANT_ALLOW};
    sel(&g, "10.0.0.0/8", 0, 0);
    /* 10.0.0.1 .. 10.255.255.254 takes 46 prefixes: more than a CHILD SA
     * holds; the first ones are kept and the caller is told. */
    struct ike_ts t = ts("10.0.0.1", "10.255.255.254", 0, 0, 65535);
    struct ike_child_ts out[IKE_CHILD_MAX_TS];
    bool trunc = false;
    size_t n = ike_ts_narrow_grant(&g, AF_INET, &t, 1, out, IKE_CHILD_MAX_TS, &trunc);
    assert_int_equal(n, IKE_CHILD_MAX_TS);
    assert_true(trunc);
    assert_int_equal(out[0].plen, 32);
}

static void test_deny_and_empty(void **state)
{
    (void)state;
    struct ike_grant g = {.decision = IKE_GRANT_QUARANTINE};
    struct ike_ts t = ts("0.0.0.0", "255.255.255.255", 0, 0, 65535);
    assert_string_equal(narrow(&g, AF_INET, &t, 1), "");
    assert_string_equal(narrow(&g, AF_INET, NULL, 0), "");
}

static void test_subnet_parse(void **state)
{
    (void)state;
    struct ike_grant_sel s;
    const char *why = NULL;
    assert_int_equal(ike_grant_sel_parse_subnet("10.1.2.3/24", &s, &why), -1);
    assert_string_equal(why, "address bits set beyond the prefix length");
    assert_int_equal(ike_grant_sel_parse_subnet("10.1.2.0/33", &s, &why), -1);
    assert_int_equal(ike_grant_sel_parse_subnet("10.1.2.0", &s, &why), -1);
    assert_int_equal(ike_grant_sel_parse_subnet("10.1.2.0/", &s, &why), -1);
    assert_int_equal(ike_grant_sel_parse_subnet("example/8", &s, &why), -1);
    assert_int_equal(ike_grant_sel_parse_subnet("2001:db8::/129", &s, &why), -1);
    assert_int_equal(ike_grant_sel_parse_subnet("2001:db8::/32", &s, &why), 0);
    assert_int_equal(s.family, AF_INET6);
    assert_int_equal(s.plen, 32);
    assert_int_equal(ike_grant_sel_parse_subnet("0.0.0.0/0", &s, &why), 0);
    assert_int_equal(s.family, AF_INET);
}

static void test_vip(void **state)
{
    (void)state;
    struct ike_ts_set tsi = {.n = 2};
    tsi.ts[0] = ts("10.0.0.0", "10.255.255.255", 0, 0, 65535);
    tsi.ts[1] = ts("0.0.0.0", "255.255.255.255", 0, 0, 65535);
    struct in_addr vip;
    inet_pton(AF_INET, "198.18.0.7", &vip);
    struct ike_child_ts out;
    assert_int_equal(ike_ts_narrow_vip(&tsi, vip, &out), 0);
    assert_int_equal(out.plen, 32);
    assert_memory_equal(out.addr, &vip, 4);
    tsi.n = 1;
    assert_int_equal(ike_ts_narrow_vip(&tsi, vip, &out), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_any_tsr_gives_the_grant),
        cmocka_unit_test(test_address_intersection),
        cmocka_unit_test(test_protocols),
        cmocka_unit_test(test_ports),
        cmocka_unit_test(test_ipv6),
        cmocka_unit_test(test_cap),
        cmocka_unit_test(test_deny_and_empty),
        cmocka_unit_test(test_subnet_parse),
        cmocka_unit_test(test_vip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* xfrm_migrate_run (xfrmd/xfrm_migrate.c) in a private network namespace
 * (netns-run.sh). Everywhere: validation errors, a missing SA, a foreign
 * SA. With ESP (tests/vm/vm-run; skipped on a host without it): an
 * encapsulation-only move by UPDSA keeps the SA's lifetimes and sequence
 * numbers; an address move by MIGRATE carries the SA (outbound sequence
 * number kept, real packets counted before and after) and every policy's
 * template; encapsulation cannot be switched off; a foreign policy in front
 * of ours fails the move and changes nothing. */
#include <netinet/in.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "test_xfrm_common.h"
#include "xfrm_migrate.h"

#define R(n) (XFRM_OWNER_REQID_MIN + 0x300u + (uint32_t)(n))

static struct xfrm_nl *nl;
static bool have_esp;

static void sh(const char *cmd)
{
    int rc = system(cmd);

    if (rc != 0)
        fail_msg("command failed (%d): %s", rc, cmd);
}

static int flush(void **state)
{
    (void)state;
    return system("ip xfrm policy flush && ip xfrm state flush") == 0 ? 0 : -1;
}

static void addr(struct xfrm_addr *a, const char *text)
{
    assert_int_equal(xfrm_addr_parse(a, text), 0);
}

/* A move of the SA (dst, spi) to new_src -> new_dst with the given policies. */
static void move_of(struct xfrm_migrate *m, const char *dst, uint32_t spi, uint32_t reqid,
                    const char *new_src, const char *new_dst)
{
    memset(m, 0, sizeof(*m));
    addr(&m->sa.dst, dst);
    m->sa.spi = spi;
    m->reqid = reqid;
    addr(&m->new_src, new_src);
    addr(&m->new_dst, new_dst);
}

static void test_validation(void **state)
{
    struct xfrm_migrate m;
    struct xfrm_err err;

    (void)state;
    move_of(&m, "192.0.2.2", 0x7001, 5, "192.0.2.1", "198.51.100.2");
    assert_int_equal(xfrm_migrate_validate(&m, &err), -EPERM);
    assert_non_null(strstr(err.msg, "reqid"));
    move_of(&m, "192.0.2.2", 0x7001, R(1), "192.0.2.1", "2001:db8::2");
    assert_int_equal(xfrm_migrate_validate(&m, &err), -EAFNOSUPPORT);
    move_of(&m, "192.0.2.2", 0x7001, R(1), "192.0.2.1", "0.0.0.0");
    assert_int_equal(xfrm_migrate_validate(&m, &err), -EINVAL);
    move_of(&m, "192.0.2.2", 0x7001, R(1), "192.0.2.1", "198.51.100.2");
    m.encap = true;
    m.encap_ports.sport = 4500;
    assert_int_equal(xfrm_migrate_validate(&m, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "both ports"));
    m.encap = false;
    assert_int_equal(xfrm_migrate_validate(&m, &err), -EINVAL);
    m.encap_ports.sport = 0;
    m.sa.spi = 0x10;
    assert_int_equal(xfrm_migrate_validate(&m, &err), -EINVAL);
    m.sa.spi = 0x7001;
    m.n_pol = 1;
    assert_int_equal(xfrm_sel_parse(&m.pol[0].sel, "10.0.0.0/8", "10.2.0.0/24", &err), 0);
    m.pol[0].sel.src_plen = 4; /* 10.0.0.0/4: bits beyond the prefix */
    assert_int_equal(xfrm_migrate_validate(&m, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "policy 0 selector"));
    m.n_pol = XFRM_MIGRATE_POL_MAX + 1;
    assert_int_equal(xfrm_migrate_validate(&m, &err), -E2BIG);
    m.n_pol = 0;
    assert_int_equal(xfrm_migrate_validate(&m, &err), 0);
    /* Valid but nothing there. */
    assert_int_equal(xfrm_migrate_run(nl, &m, NULL, &err), -ESRCH);
}

/* A policy triple's out policy plus the SA, through lo: ping sends real
 * ESP so the outbound sequence number moves. */
static void lab(void)
{
    sh("ip addr add 192.0.2.1/32 dev lo && ip addr add 192.0.2.2/32 dev lo && "
       "ip addr add 198.51.100.2/32 dev lo && ip addr add 10.1.0.1/32 dev lo && "
       "ip route add 10.2.0.0/24 dev lo src 10.1.0.1");
}

static void unlab(void)
{
    if (system("ip route del 10.2.0.0/24 dev lo; for a in 192.0.2.1 192.0.2.2 198.51.100.2 "
               "10.1.0.1; do ip addr del $a/32 dev lo; done 2>/dev/null") < 0)
        fail_msg("cleanup failed");
}

static struct xfrm_sa_info get(const char *dst, uint32_t spi, int want)
{
    struct xfrm_sa_id id;
    struct xfrm_sa_info info;
    struct xfrm_err err;

    memset(&id, 0, sizeof(id));
    memset(&info, 0, sizeof(info));
    addr(&id.dst, dst);
    id.spi = spi;
    assert_int_equal(xfrm_sa_get(nl, &id, &info, &err), want);
    return info;
}

static void test_encap_only(void **state)
{
    struct xfrm_sa sa;
    struct xfrm_migrate m;
    struct xfrm_err err;
    enum xfrm_migrate_how how = XFRM_MIGRATE_MIGRATE;

    (void)state;
    if (!have_esp)
        skip();
    tx_sa(&sa, "192.0.2.1", "192.0.2.2", 0x7101, R(1), XFRM_ENC_AES_GCM16_256, XFRM_INTEG_NONE);
    sa.encap = true;
    sa.encap_ports.sport = 4500;
    sa.encap_ports.dport = 40001;
    sa.lft.soft_add_secs = 3000;
    sa.lft.hard_add_secs = 3600;
    sa.esn = true;
    sa.replay_window = 128;
    assert_int_equal(xfrm_sa_add(nl, &sa, &err), 0);
    struct xfrm_sa_info before = get("192.0.2.2", 0x7101, 0);

    move_of(&m, "192.0.2.2", 0x7101, R(1), "192.0.2.1", "192.0.2.2");
    m.encap = true;
    m.encap_ports.sport = 4500;
    m.encap_ports.dport = 40002;
    if (xfrm_migrate_run(nl, &m, &how, &err) < 0)
        fail_msg("move: %s", err.msg);
    assert_int_equal(how, XFRM_MIGRATE_UPDSA);
    struct xfrm_sa_info after = get("192.0.2.2", 0x7101, 0);
    assert_int_equal(after.encap_ports.sport, 4500);
    assert_int_equal(after.encap_ports.dport, 40002);
    assert_memory_equal(&after.lft, &before.lft, sizeof(before.lft));
    assert_int_equal(after.cur.add_time, before.cur.add_time);
    assert_int_equal(after.enc, XFRM_ENC_AES_GCM16_256);
    assert_true(after.esn);
    assert_int_equal(after.replay_window, 128);

    /* Again: nothing to do. */
    assert_int_equal(xfrm_migrate_run(nl, &m, &how, &err), 0);
    assert_int_equal(how, XFRM_MIGRATE_NONE);

    /* Switching encapsulation off is what the kernel cannot do. */
    m.encap = false;
    m.encap_ports.sport = m.encap_ports.dport = 0;
    assert_int_equal(xfrm_migrate_run(nl, &m, &how, &err), -EOPNOTSUPP);
    after = get("192.0.2.2", 0x7101, 0);
    assert_int_equal(after.encap_ports.dport, 40002);

    /* A reqid that is not the SA's. */
    m.reqid = R(2);
    m.encap = true;
    m.encap_ports.sport = 4500;
    m.encap_ports.dport = 40003;
    assert_int_equal(xfrm_migrate_run(nl, &m, &how, &err), -EPERM);
    xfrm_sa_wipe(&sa);
}

static void test_foreign_sa(void **state)
{
    struct xfrm_migrate m;
    struct xfrm_err err;

    (void)state;
    if (!have_esp)
        skip();
    sh("ip xfrm state add src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x7201 reqid 5 mode tunnel "
       "aead 'rfc4106(gcm(aes))' 0x0102030405060708091011121314151617181920 128 "
       "encap espinudp 4500 4500 0.0.0.0");
    move_of(&m, "192.0.2.2", 0x7201, R(1), "192.0.2.1", "192.0.2.2");
    m.encap = true;
    m.encap_ports.sport = 4500;
    m.encap_ports.dport = 4501;
    assert_int_equal(xfrm_migrate_run(nl, &m, NULL, &err), -EPERM);
    assert_non_null(strstr(err.msg, "not ours"));
    struct xfrm_sa_info info = get("192.0.2.2", 0x7201, 0);
    assert_int_equal(info.encap_ports.dport, 4500);
}

static unsigned long long oseq(const struct xfrm_sa_info *i)
{
    return ((unsigned long long)i->oseq_hi << 32) | i->oseq;
}

static void test_address_move(void **state)
{
    struct xfrm_sa sa;
    struct xfrm_policy pol[2];
    struct xfrm_migrate m;
    struct xfrm_err err;
    struct xfrm_policy_info pi;
    enum xfrm_migrate_how how = XFRM_MIGRATE_NONE;

    (void)state;
    if (!have_esp)
        skip();
    lab();
    /* out: 10.1.0.0/24 -> 10.2.0.0/24 through 192.0.2.1 -> 192.0.2.2, and a
     * second subnet's out policy through the same SA. */
    tx_sa(&sa, "192.0.2.1", "192.0.2.2", 0x7301, R(3), XFRM_ENC_AES_GCM16_128, XFRM_INTEG_NONE);
    sa.encap = true;
    sa.encap_ports.sport = 4500;
    sa.encap_ports.dport = 4500;
    assert_int_equal(xfrm_sa_add(nl, &sa, &err), 0);
    tx_policy(&pol[0], "10.1.0.0/24", "10.2.0.0/24", XFRM_DIR_OUT, "192.0.2.1", "192.0.2.2", R(3));
    tx_policy(&pol[1], "10.1.1.0/24", "10.2.0.0/24", XFRM_DIR_OUT, "192.0.2.1", "192.0.2.2", R(3));
    for (int i = 0; i < 2; i++)
        if (xfrm_policy_add(nl, &pol[i], &err) < 0)
            fail_msg("policy add: %s", err.msg);
    sh("ping -q -c 3 -i 0.2 -W 1 -I 10.1.0.1 10.2.0.5 >/dev/null 2>&1; true");
    struct xfrm_sa_info before = get("192.0.2.2", 0x7301, 0);
    assert_int_equal(oseq(&before), 3);

    move_of(&m, "192.0.2.2", 0x7301, R(3), "192.0.2.1", "198.51.100.2");
    m.encap = true;
    m.encap_ports.sport = 4500;
    m.encap_ports.dport = 31000;
    tx_policy_id(&m.pol[0], &pol[0]);
    tx_policy_id(&m.pol[1], &pol[1]);
    m.n_pol = 2;
    if (xfrm_migrate_run(nl, &m, &how, &err) < 0)
        fail_msg("move: %s", err.msg);
    assert_int_equal(how, XFRM_MIGRATE_MIGRATE);
    get("192.0.2.2", 0x7301, -ESRCH);
    struct xfrm_sa_info after = get("198.51.100.2", 0x7301, 0);
    assert_true(after.ours);
    assert_int_equal(after.reqid, R(3));
    assert_int_equal(oseq(&after), 3);
    assert_int_equal(after.encap_ports.dport, 31000);
    for (int i = 0; i < 2; i++) {
        struct xfrm_policy_id id;
        tx_policy_id(&id, &pol[i]);
        assert_int_equal(xfrm_policy_get(nl, &id, &pi, &err), 0);
        assert_true(pi.ours);
        assert_int_equal(pi.pol.n_tmpl, 1);
        char a[XFRM_ADDR_STRLEN];
        assert_string_equal(xfrm_addr_format(&pi.pol.tmpl[0].dst, a, sizeof(a)), "198.51.100.2");
    }
    /* The moved SA carries the traffic: the sequence goes on. */
    sh("ping -q -c 2 -i 0.2 -W 1 -I 10.1.0.1 10.2.0.5 >/dev/null 2>&1; true");
    after = get("198.51.100.2", 0x7301, 0);
    assert_int_equal(oseq(&after), 5);

    /* Retried: the SA is no longer at the old id. */
    assert_int_equal(xfrm_migrate_run(nl, &m, &how, &err), -ESRCH);

    /* A foreign policy in front of ours (same selector, a mark, a better
     * priority; MIGRATE looks policies up without marks): the kernel picks
     * it, finds no template of our reqid, and nothing moves. */
    sh("ip xfrm policy add src 10.1.0.0/24 dst 10.2.0.0/24 dir out priority 100 mark 7 "
       "tmpl src 192.0.2.1 dst 198.51.100.2 proto esp reqid 5 mode tunnel");
    move_of(&m, "198.51.100.2", 0x7301, R(3), "192.0.2.1", "192.0.2.2");
    m.encap = true;
    m.encap_ports.sport = 4500;
    m.encap_ports.dport = 31000;
    tx_policy_id(&m.pol[0], &pol[0]);
    m.n_pol = 1;
    int rc = xfrm_migrate_run(nl, &m, &how, &err);
    assert_true(rc < 0);
    fprintf(stderr, "foreign policy in front: %s\n", err.msg);
    get("198.51.100.2", 0x7301, 0);
    get("192.0.2.2", 0x7301, -ESRCH);
    assert_int_equal(system("ip xfrm policy list dir out priority 100 | "
                            "grep -q 'tmpl src 192.0.2.1 dst 198.51.100.2'"),
                     0);
    xfrm_sa_wipe(&sa);
    unlab();
}

static bool esp_available(void)
{
    struct xfrm_sa sa;
    struct xfrm_sa_id id;
    struct xfrm_err err;

    tx_sa(&sa, "192.0.2.250", "192.0.2.251", 0x100, R(0), XFRM_ENC_AES_GCM16_128, XFRM_INTEG_NONE);
    if (xfrm_sa_add(nl, &sa, &err) < 0)
        return false;
    memset(&id, 0, sizeof(id));
    id.dst = sa.dst;
    id.spi = sa.spi;
    xfrm_sa_delete(nl, &id, &err);
    xfrm_sa_wipe(&sa);
    return true;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_validation, flush),
        cmocka_unit_test_setup(test_encap_only, flush),
        cmocka_unit_test_setup(test_foreign_sa, flush),
        cmocka_unit_test_setup(test_address_move, flush),
    };
    struct xfrm_err err;
    int rc;

    nl = xfrm_nl_open(NULL, &err);
    if (!nl) {
        fprintf(stderr, "xfrm_nl_open: %s\n", err.msg);
        return 1;
    }
    have_esp = esp_available();
    if (!have_esp && getenv("MGATE_VM")) {
        fprintf(stderr, "FAIL: the VM kernel cannot install ESP SAs\n");
        return 1;
    }
    if (!have_esp)
        fprintf(stderr, "no ESP in this kernel: the SA moves are skipped (they run in the VM)\n");
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    xfrm_nl_close(nl);
    return rc;
}

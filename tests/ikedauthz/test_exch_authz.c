/* IKE_AUTH with authorization = policyd, at the exchange level (no daemon):
 * the request is held (IKE_EXCH_AUTHORIZE, nothing sent), then resumed
 * with a grant: the CHILD SA narrowed to grant ∩ TSr with ports, the
 * grant's DNS instead of [iked] dns; DENY and "no decision" refused with
 * AUTHENTICATION_FAILED and one log line; nothing left of TSr is
 * TS_UNACCEPTABLE with the IKE SA up; the answer is cached for
 * retransmissions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ike_grant.h"
#include "log.h"
#include "ti.h"

static struct fx F;
static struct devs D;

static int setup(void **state)
{
    (void)state;
    log_init("ikeauthz", LOG_INFO);
    fx_init(&F, "10.99.0.0/24");
    devs_init(&D, &F);
    F.set.authz = IKED_AUTHZ_POLICYD;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    devs_fini(&D);
    fx_fini(&F);
    return 0;
}

static void ts_range(struct ike_ts *t, const char *lo, const char *hi, uint8_t proto,
                     uint16_t sport, uint16_t eport)
{
    memset(t, 0, sizeof(*t));
    t->type = IKE_TS_IPV4_ADDR_RANGE;
    t->ip_proto = proto;
    t->start_port = sport;
    t->end_port = eport;
    inet_pton(AF_INET, lo, t->start);
    inet_pton(AF_INET, hi, t->end);
}

static bool ts_is(const struct ike_ts *t, const char *lo, const char *hi, uint8_t proto,
                  uint16_t sport, uint16_t eport)
{
    uint8_t a[4], b[4];
    inet_pton(AF_INET, lo, a);
    inet_pton(AF_INET, hi, b);
    return t->type == IKE_TS_IPV4_ADDR_RANGE && !memcmp(t->start, a, 4) && !memcmp(t->end, b, 4) &&
           t->ip_proto == proto && t->start_port == sport && t->end_port == eport;
}

static void add_sel(struct ike_grant *g, const char *subnet, uint8_t proto, uint16_t port)
{
    const char *why;
    struct ike_grant_sel *s = &g->sel[g->n_sel++];
    memset(s, 0, sizeof(*s));
    assert_int_equal(ike_grant_sel_parse_subnet(subnet, s, &why), 0);
    s->proto = proto;
    s->port = port;
}

/* IKE_SA_INIT + IKE_AUTH up to the hold; the device proposes tsr. */
static struct ike_sa *held(struct ti *t, const struct ike_ts *tsr, unsigned nr)
{
    struct ti_auth_opts o = {.cred = &D.ec};
    for (unsigned i = 0; i < nr; i++)
        o.tsr.ts[o.tsr.n++] = tsr[i];
    struct ti_auth_result r;
    struct ike_sa *sa = NULL;
    ti_init(t, "aes128gcm16-prfsha256-ecp256");
    assert_int_equal(handshake(&F, t, &o, &sa, &r), IKE_EXCH_AUTHORIZE);
    assert_non_null(sa);
    /* Nothing was answered, nothing leased, no CHILD SA yet. */
    assert_int_equal(r.n_notify, 0);
    assert_false(r.has_idr);
    assert_null(sa->child);
    assert_int_equal(sa->vip.s_addr, 0);
    assert_int_equal(sa->state, IKE_SA_HALF_OPEN);
    assert_non_null(sa->authz);
    assert_non_null(sa->authz->held);
    assert_false(sa->authz->decided);
    assert_non_null(sa->peer_subject); /* authenticated: what policyd is asked about */
    return sa;
}

static enum ike_exch_result resume(struct ti *t, struct ike_sa *sa, struct ti_auth_result *r,
                                   struct ike_tx *tx)
{
    memset(r, 0, sizeof(*r));
    enum ike_exch_result res = ike_exch_auth_resume(&F.env, sa, 1234, tx);
    if (tx->buf)
        assert_int_equal(ti_auth_response(t, &F, tx->buf, tx->len, r), 0);
    return res;
}

static void end_sa(struct ike_sa *sa)
{
    if (sa && sa->vip.s_addr && sa->peer_subject)
        lease_pool_release(F.pool, sa->peer_subject);
    ike_sa_free(sa);
}

static void test_allow_narrowed(void **state)
{
    (void)state;
    struct ti t;
    struct ti_auth_result r;
    struct ike_tx tx = {0};
    struct ike_ts tsr[2];
    ts_range(&tsr[0], "10.1.0.0", "10.1.255.255", 0, 0, 65535);
    ts_range(&tsr[1], "172.16.0.0", "172.16.0.255", IPPROTO_TCP, 0, 65535);
    struct ike_sa *sa = held(&t, tsr, 2);
    struct ike_grant *g = &sa->authz->grant;
    g->decision = IKE_GRANT_ALLOW;
    add_sel(g, "10.1.2.0/24", IPPROTO_TCP, 443);
    add_sel(g, "10.1.3.0/24", 0, 0);
    add_sel(g, "10.9.0.0/16", 0, 0);              /* not proposed */
    add_sel(g, "172.16.0.0/24", IPPROTO_UDP, 53); /* proposed only for TCP */
    inet_pton(AF_INET, "10.9.9.9", &g->dns[g->n_dns++]);
    sa->authz->decided = true;
    assert_int_equal(resume(&t, sa, &r, &tx), IKE_EXCH_INSTALL);
    assert_true(r.has_idr && r.auth_ok && r.has_sa);
    assert_int_equal(r.tsr.n, 2);
    assert_true(ts_is(&r.tsr.ts[0], "10.1.2.0", "10.1.2.255", IPPROTO_TCP, 443, 443));
    assert_true(ts_is(&r.tsr.ts[1], "10.1.3.0", "10.1.3.255", 0, 0, 65535));
    assert_int_equal(sa->child->n_ts_local, 2);
    assert_int_equal(sa->child->ts_local[0].port, 443);
    assert_int_equal(sa->child->ts_local[0].proto, IPPROTO_TCP);
    /* The grant's DNS server, not the configured 10.1.0.53/54. */
    assert_int_equal(r.n_dns, 1);
    assert_int_equal(r.dns[0].s_addr, g->dns[0].s_addr);
    assert_int_not_equal(r.vip.s_addr, 0);
    /* The held request is gone, the device's TSr kept for later changes,
     * the answer cached for a retransmission. */
    assert_null(sa->authz->held);
    assert_int_equal(sa->authz->n_tsr, 2);
    assert_int_equal(sa->last_resp_len, tx.len);
    assert_memory_equal(sa->last_resp, tx.buf, tx.len);
    free(tx.buf);
    end_sa(sa);
    ti_fini(&t);
}

static void test_deny(void **state)
{
    (void)state;
    struct ti t;
    struct ti_auth_result r;
    struct ike_tx tx = {0};
    struct ike_sa *sa = held(&t, NULL, 0);
    sa->authz->grant.decision = IKE_GRANT_DENY;
    snprintf(sa->authz->grant.reason, sizeof(sa->authz->grant.reason), "device blocked");
    sa->authz->decided = true;
    cap_begin();
    enum ike_exch_result res = resume(&t, sa, &r, &tx);
    const char *log = cap_end();
    assert_int_equal(res, IKE_EXCH_REPLY_FAIL);
    assert_true(ti_has_notify(&r, IKE_N_AUTHENTICATION_FAILED));
    assert_int_equal(count_lines(log), 1);
    assert_non_null(strstr(log, "AUTHENTICATION_FAILED: denied by policyd: device blocked"));
    assert_int_equal(sa->vip.s_addr, 0); /* no lease taken */
    free(tx.buf);
    end_sa(sa);
    ti_fini(&t);
}

static void test_no_decision(void **state)
{
    (void)state;
    struct ti t;
    struct ti_auth_result r;
    struct ike_tx tx = {0};
    struct ike_sa *sa = held(&t, NULL, 0);
    sa->authz->why_none = "policyd is not connected and no cached grant for this certificate";
    cap_begin();
    enum ike_exch_result res = resume(&t, sa, &r, &tx);
    const char *log = cap_end();
    assert_int_equal(res, IKE_EXCH_REPLY_FAIL);
    assert_true(ti_has_notify(&r, IKE_N_AUTHENTICATION_FAILED));
    assert_non_null(strstr(log, "no cached grant for this certificate; fail closed"));
    free(tx.buf);
    end_sa(sa);
    ti_fini(&t);
}

static void test_nothing_in_common(void **state)
{
    (void)state;
    struct ti t;
    struct ti_auth_result r;
    struct ike_tx tx = {0};
    struct ike_ts tsr;
    ts_range(&tsr, "192.168.0.0", "192.168.255.255", 0, 0, 65535);
    struct ike_sa *sa = held(&t, &tsr, 1);
    sa->authz->grant.decision = IKE_GRANT_QUARANTINE;
    add_sel(&sa->authz->grant, "10.200.0.0/24", 0, 0);
    sa->authz->decided = true;
    assert_int_equal(resume(&t, sa, &r, &tx), IKE_EXCH_REPLY);
    assert_true(r.has_idr && r.auth_ok);
    assert_false(r.has_sa);
    assert_true(ti_has_notify(&r, IKE_N_TS_UNACCEPTABLE));
    assert_int_equal(sa->state, IKE_SA_ESTABLISHED);
    free(tx.buf);
    end_sa(sa);
    ti_fini(&t);
}

static void test_resume_without_hold(void **state)
{
    (void)state;
    struct ike_sa *sa = ike_sa_new();
    struct ike_tx tx = {0};
    assert_int_equal(ike_exch_auth_resume(&F.env, sa, 0, &tx), IKE_EXCH_DROP);
    assert_null(tx.buf);
    ike_sa_free(sa);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_allow_narrowed),      cmocka_unit_test(test_deny),
        cmocka_unit_test(test_no_decision),         cmocka_unit_test(test_nothing_in_common),
        cmocka_unit_test(test_resume_without_hold),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

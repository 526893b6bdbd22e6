/* Host tests of the xfrm library against the running kernel, inside a
 * private network namespace (see netns-run.sh): policies, SPI allocation,
 * batching, ownership, validation with unchanged kernel state, events and
 * per-socket bypass. The host kernel has no ESP, so full SAs are covered by
 * the VM suite; larval SAs from ALLOCSPI stand in for SAs here. */
#include <netinet/in.h>

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_xfrm_common.h"
#include "xfrm_batch.h"
#include "xfrm_event.h"
#include "xfrm_nl_priv.h"

#define R(n) (XFRM_OWNER_REQID_MIN + 0x100u + (uint32_t)(n))

static struct xfrm_nl *nl;

static void sh(const char *cmd)
{
    int rc = system(cmd);

    if (rc != 0)
        fail_msg("command failed (%d): %s", rc, cmd);
}

/* SAs with an SPI below this are not counted. */
static uint32_t sa_spi_min;

static int count_cb_sa(const struct xfrm_sa_info *sa, void *arg)
{
    if (sa->spi >= sa_spi_min)
        (*(size_t *)arg)++;
    return 0;
}

static int count_cb_pol(const struct xfrm_policy_info *p, void *arg)
{
    (void)p;
    (*(size_t *)arg)++;
    return 0;
}

static size_t count_sa(unsigned flags)
{
    struct xfrm_err err;
    size_t n = 0;

    if (xfrm_sa_dump(nl, flags, count_cb_sa, &n, &err) < 0)
        fail_msg("SA dump: %s", err.msg);
    return n;
}

static size_t count_pol(unsigned flags)
{
    struct xfrm_err err;
    size_t n = 0;

    if (xfrm_policy_dump(nl, flags, count_cb_pol, &n, &err) < 0)
        fail_msg("policy dump: %s", err.msg);
    return n;
}

static int setup(void **state)
{
    struct xfrm_err err;

    (void)state;
    nl = xfrm_nl_open(NULL, &err);
    if (!nl) {
        fprintf(stderr, "xfrm_nl_open: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    xfrm_nl_close(nl);
    return 0;
}

/* Every test starts from an empty SPD and SAD of this private namespace. */
static int flush(void **state)
{
    (void)state;
    return system("ip xfrm policy flush && ip xfrm state flush") == 0 ? 0 : -1;
}

static void test_policy_lifecycle(void **state)
{
    struct xfrm_policy out, in, fwd, v6;
    struct xfrm_policy_id id;
    struct xfrm_policy_info info;
    struct xfrm_err err;

    (void)state;
    tx_policy(&out, "10.77.0.2/32", "203.0.113.0/24", XFRM_DIR_OUT, "192.0.2.2", "192.0.2.1", R(1));
    tx_policy(&in, "203.0.113.0/24", "10.77.0.2/32", XFRM_DIR_IN, "192.0.2.1", "192.0.2.2", R(1));
    tx_policy(&fwd, "203.0.113.0/24", "10.77.0.2/32", XFRM_DIR_FWD, "192.0.2.1", "192.0.2.2", R(1));
    tx_policy(&v6, "2001:db8:77::2/128", "2001:db8:1::/48", XFRM_DIR_OUT, "2001:db8::2",
              "2001:db8::1", R(2));
    v6.sel.proto = IPPROTO_TCP;
    v6.sel.dport = 443;
    v6.mark.value = 0x42;
    v6.mark.mask = 0xff;
    v6.if_id = 7;
    assert_int_equal(xfrm_policy_add(nl, &out, &err), 0);
    assert_int_equal(xfrm_policy_add(nl, &in, &err), 0);
    assert_int_equal(xfrm_policy_add(nl, &fwd, &err), 0);
    assert_int_equal(xfrm_policy_add(nl, &v6, &err), 0);

    tx_policy_id(&id, &v6);
    assert_int_equal(xfrm_policy_get(nl, &id, &info, &err), 0);
    assert_true(info.ours);
    assert_int_equal(info.pol.dir, XFRM_DIR_OUT);
    assert_int_equal(info.pol.priority, v6.priority);
    assert_int_equal(info.pol.sel.dport, 443);
    assert_int_equal(info.pol.mark.value, 0x42);
    assert_int_equal(info.pol.if_id, 7);
    assert_int_equal(info.pol.n_tmpl, 1);
    assert_int_equal(info.pol.tmpl[0].reqid, R(2));
    assert_true(xfrm_addr_equal(&info.pol.tmpl[0].dst, &v6.tmpl[0].dst));
    assert_int_equal(info.tmpl_mode[0], 1);
    assert_true(info.index != 0);
    assert_true(info.cur.add_time != 0);

    /* Same identity again: the kernel refuses, nothing changes. */
    assert_int_equal(xfrm_policy_add(nl, &out, &err), -EEXIST);
    assert_non_null(strstr(err.msg, "policy add out"));

    /* Update: new template endpoint and priority replace the old. */
    out.priority += 3;
    xfrm_addr_parse(&out.tmpl[0].dst, "192.0.2.9");
    assert_int_equal(xfrm_policy_update(nl, &out, &err), 0);
    tx_policy_id(&id, &out);
    assert_int_equal(xfrm_policy_get(nl, &id, &info, &err), 0);
    assert_int_equal(info.pol.priority, out.priority);
    assert_true(xfrm_addr_equal(&info.pol.tmpl[0].dst, &out.tmpl[0].dst));

    /* Update of a policy that does not exist adds it. */
    struct xfrm_policy extra;
    tx_policy(&extra, "10.77.0.3/32", "203.0.113.0/24", XFRM_DIR_OUT, "192.0.2.3", "192.0.2.1",
              R(3));
    assert_int_equal(xfrm_policy_update(nl, &extra, &err), 0);

    assert_int_equal(count_pol(XFRM_DUMP_OURS), 5);
    assert_int_equal(count_pol(XFRM_DUMP_ALL), 5);

    tx_policy_id(&id, &in);
    assert_int_equal(xfrm_policy_delete(nl, &id, &err), 0);
    assert_int_equal(xfrm_policy_get(nl, &id, &info, &err), -ENOENT);
    assert_int_equal(xfrm_policy_delete(nl, &id, &err), -ENOENT);
    assert_non_null(strstr(err.msg, "no such policy"));
    assert_int_equal(count_pol(XFRM_DUMP_OURS), 4);
}

static void spi_req(struct xfrm_spi_req *r, uint32_t reqid, uint32_t min, uint32_t max)
{
    memset(r, 0, sizeof(*r));
    xfrm_addr_parse(&r->src, "192.0.2.1");
    xfrm_addr_parse(&r->dst, "192.0.2.2");
    r->reqid = reqid;
    r->min = min;
    r->max = max;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return x < y ? -1 : x > y;
}

static void test_allocspi(void **state)
{
    enum { N = 64, NB = 300 };
    struct xfrm_spi_req req;
    struct xfrm_sa_info info;
    struct xfrm_sa_id id;
    struct xfrm_err err;
    uint32_t spis[NB];
    static struct xfrm_spi_req reqs[NB];
    static struct xfrm_op ops[NB];
    static struct xfrm_sa_id ids[NB];

    (void)state;
    for (int i = 0; i < N; i++) {
        spi_req(&req, R(i), 0x10000, 0x1ffff);
        assert_int_equal(xfrm_sa_allocspi(nl, &req, &spis[i], &err), 0);
        assert_in_range(spis[i], 0x10000, 0x1ffff);
    }
    qsort(spis, N, sizeof(spis[0]), cmp_u32);
    for (int i = 1; i < N; i++)
        assert_true(spis[i] != spis[i - 1]);

    /* The reservation is a larval SA of ours. */
    memset(&id, 0, sizeof(id));
    xfrm_addr_parse(&id.dst, "192.0.2.2");
    id.spi = spis[0];
    assert_int_equal(xfrm_sa_get(nl, &id, &info, &err), 0);
    assert_true(info.larval);
    assert_true(info.ours);
    assert_int_equal(info.mode, 1);
    assert_int_equal(count_sa(XFRM_DUMP_OURS), N);
    sa_spi_min = 1;

    /* One-SPI ranges: each gives exactly its SPI, then it is taken. (The
     * kernel probes wider ranges at random a bounded number of times, so a
     * nearly full range may fail early: xfrmd uses wide ranges.) */
    for (uint32_t i = 0; i < 4; i++) {
        uint32_t spi;

        spi_req(&req, R(1000 + i), 0x2000 + i, 0x2000 + i);
        assert_int_equal(xfrm_sa_allocspi(nl, &req, &spi, &err), 0);
        assert_int_equal(spi, 0x2000 + i);
    }
    spi_req(&req, R(1004), 0x2002, 0x2002);
    assert_true(xfrm_sa_allocspi(nl, &req, &spis[0], &err) < 0);
    assert_non_null(strstr(err.msg, "SPI allocation"));

    /* Batched: NB reservations in one call, all distinct and in range. */
    for (int i = 0; i < NB; i++) {
        spi_req(&reqs[i], R(2000 + i), 0x100000, 0x1fffff);
        ops[i] = (struct xfrm_op){.type = XFRM_OP_SA_ALLOCSPI, .in.spi_req = &reqs[i]};
    }
    assert_int_equal(xfrm_batch_run(nl, ops, NB, &err), 0);
    for (int i = 0; i < NB; i++) {
        if (ops[i].result)
            fail_msg("op %d: %s", i, ops[i].err.msg);
        spis[i] = ops[i].spi;
        assert_in_range(spis[i], 0x100000, 0x1fffff);
    }
    qsort(spis, NB, sizeof(spis[0]), cmp_u32);
    for (int i = 1; i < NB; i++)
        assert_true(spis[i] != spis[i - 1]);

    /* And all of them deleted in one batch. */
    for (int i = 0; i < NB; i++) {
        memset(&ids[i], 0, sizeof(ids[i]));
        xfrm_addr_parse(&ids[i].dst, "192.0.2.2");
        ids[i].spi = ops[i].spi;
        ops[i] = (struct xfrm_op){.type = XFRM_OP_SA_DELETE, .in.sa_id = &ids[i]};
    }
    assert_int_equal(xfrm_batch_run(nl, ops, NB, &err), 0);
    assert_int_equal(xfrm_batch_failures(ops, NB), 0);
    /* The failed allocation left the kernel's larval SA behind, with SPI 0
     * (it dies after net.core.xfrm_acq_expires): not counted. */
    assert_int_equal(count_sa(XFRM_DUMP_OURS), N + 4);
    sa_spi_min = 0;
}

enum { NP = 101 };
static struct xfrm_policy bpol[NP];
static struct xfrm_policy_id bid[NP];
static struct xfrm_op bops[NP];

static void make_policy(struct xfrm_policy *p, int i)
{
    char src[32];

    snprintf(src, sizeof(src), "10.%d.%d.0/24", 100 + i / 250, i % 250);
    tx_policy(p, src, "203.0.113.0/24", XFRM_DIR_OUT, "192.0.2.2", "192.0.2.1", R(i));
}

static void test_batch_bad_middle(void **state)
{
    struct xfrm_err err;

    (void)state;
    for (int i = 0; i < NP; i++) {
        make_policy(&bpol[i], i);
        bops[i] = (struct xfrm_op){.type = XFRM_OP_POLICY_ADD, .in.policy = &bpol[i]};
    }
    bpol[50].priority = 7; /* refused before sending */
    bpol[70] = bpol[10];   /* refused by the kernel: exists */
    assert_int_equal(xfrm_batch_run(nl, bops, NP, &err), 0);
    for (int i = 0; i < NP; i++) {
        if (i == 50) {
            assert_int_equal(bops[i].result, -EPERM);
            assert_non_null(strstr(bops[i].err.msg, "priority 7 is outside"));
        } else if (i == 70) {
            assert_int_equal(bops[i].result, -EEXIST);
            assert_non_null(strstr(bops[i].err.msg, "policy add out 10.100.10.0/24"));
        } else if (bops[i].result != 0) {
            fail_msg("neighbour %d failed: %s", i, bops[i].err.msg);
        }
    }
    assert_int_equal(xfrm_batch_failures(bops, NP), 2);
    assert_int_equal(count_pol(XFRM_DUMP_OURS), NP - 2);

    /* Delete all: 50 was never added; 70 names the same policy as 10, which
     * the earlier op deletes first. */
    for (int i = 0; i < NP; i++) {
        tx_policy_id(&bid[i], &bpol[i]);
        bops[i] = (struct xfrm_op){.type = XFRM_OP_POLICY_DELETE, .in.policy_id = &bid[i]};
    }
    assert_int_equal(xfrm_batch_run(nl, bops, NP, &err), 0);
    for (int i = 0; i < NP; i++) {
        if (i == 50 || i == 70)
            assert_int_equal(bops[i].result, -ENOENT);
        else if (bops[i].result != 0)
            fail_msg("delete %d failed: %s", i, bops[i].err.msg);
    }
    assert_int_equal(count_pol(XFRM_DUMP_ALL), 0);
}

static void test_batch_mixed(void **state)
{
    struct xfrm_policy p1, p2;
    struct xfrm_policy_id id2;
    struct xfrm_spi_req req;
    struct xfrm_sa_id gone;
    struct xfrm_op ops[5];
    struct xfrm_err err;

    (void)state;
    tx_policy(&p1, "10.1.1.0/24", "10.2.2.0/24", XFRM_DIR_IN, "192.0.2.1", "192.0.2.2", R(1));
    tx_policy(&p2, "10.1.1.0/24", "10.2.2.0/24", XFRM_DIR_FWD, "192.0.2.1", "192.0.2.2", R(1));
    assert_int_equal(xfrm_policy_add(nl, &p2, &err), 0);
    tx_policy_id(&id2, &p2);
    spi_req(&req, R(1), 0x3000, 0x3fff);
    memset(&gone, 0, sizeof(gone));
    xfrm_addr_parse(&gone.dst, "192.0.2.2");
    gone.spi = 0x9999;
    ops[0] = (struct xfrm_op){.type = XFRM_OP_POLICY_ADD, .in.policy = &p1};
    ops[1] = (struct xfrm_op){.type = XFRM_OP_SA_ALLOCSPI, .in.spi_req = &req};
    ops[2] = (struct xfrm_op){.type = XFRM_OP_SA_DELETE, .in.sa_id = &gone};
    ops[3] = (struct xfrm_op){.type = XFRM_OP_POLICY_DELETE, .in.policy_id = &id2};
    ops[4] = (struct xfrm_op){.type = (enum xfrm_op_type)99, .in.policy = &p1};
    assert_int_equal(xfrm_batch_run(nl, ops, 5, &err), 0);
    assert_int_equal(ops[0].result, 0);
    assert_int_equal(ops[1].result, 0);
    assert_in_range(ops[1].spi, 0x3000, 0x3fff);
    assert_int_equal(ops[2].result, -ESRCH);
    assert_non_null(strstr(ops[2].err.msg, "no such SA"));
    assert_int_equal(ops[3].result, 0);
    assert_int_equal(ops[4].result, -EINVAL);
    assert_int_equal(count_pol(XFRM_DUMP_ALL), 1);
    assert_int_equal(count_sa(XFRM_DUMP_ALL), 1);
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Enough policies for several chunks; then a socket with the smallest
 * receive buffer (chunks of one), then a deliberately wrong budget that
 * overruns it: every op still gets a result and the budget corrects itself. */
static void test_batch_chunks_and_overrun(void **state)
{
    enum { NL = 3000 };
    static struct xfrm_policy pols[NL];
    static struct xfrm_policy_id ids[NL];
    static struct xfrm_op ops[NL];
    struct xfrm_nl_opts opts = {.rcvbuf = 1};
    struct xfrm_nl *small;
    struct xfrm_err err;
    size_t lost = 0;
    double t;

    (void)state;
    for (int i = 0; i < NL; i++) {
        make_policy(&pols[i], i);
        tx_policy_id(&ids[i], &pols[i]);
        ops[i] = (struct xfrm_op){.type = XFRM_OP_POLICY_ADD, .in.policy = &pols[i]};
    }
    t = now_s();
    assert_int_equal(xfrm_batch_run(nl, ops, NL, &err), 0);
    t = now_s() - t;
    assert_int_equal(xfrm_batch_failures(ops, NL), 0);
    print_message("batched %d policy adds in %.3f s (%.0f/s)\n", NL, t, NL / t);
    assert_int_equal(count_pol(XFRM_DUMP_OURS), NL);

    small = xfrm_nl_open(&opts, &err);
    assert_non_null(small);
    print_message("smallest receive buffer granted: %zu bytes\n", xfrm_nl_rcvbuf(small));
    for (int i = 0; i < 300; i++)
        ops[i] = (struct xfrm_op){.type = XFRM_OP_POLICY_DELETE, .in.policy_id = &ids[i]};
    assert_int_equal(xfrm_batch_run(small, ops, 300, &err), 0);
    assert_int_equal(xfrm_batch_failures(ops, 300), 0);

    /* Lie about the buffer: the kernel drops replies, the engine notices. */
    small->ack_budget = (size_t)1 << 30;
    for (int i = 0; i < 300; i++)
        ops[i] = (struct xfrm_op){.type = XFRM_OP_POLICY_DELETE, .in.policy_id = &ids[300 + i]};
    assert_int_equal(xfrm_batch_run(small, ops, 300, &err), 0);
    for (int i = 0; i < 300; i++) {
        if (ops[i].result == 0)
            continue;
        assert_int_equal(ops[i].result, -ENOBUFS);
        assert_non_null(strstr(ops[i].err.msg, "overrun"));
        lost++;
    }
    print_message("overrun: %zu of 300 ops reported lost replies; budget now %zu\n", lost,
                  small->ack_budget);
    assert_true(lost > 0);
    assert_true(small->ack_budget < (size_t)1 << 29);

    /* Retrying the lost ones now works: lookups lost in an overrun changed
     * nothing, deletes whose ack was lost report "no such policy". */
    size_t k = 0;
    for (int i = 0; i < 300; i++) {
        if (ops[i].result != -ENOBUFS)
            continue;
        ops[k++] = (struct xfrm_op){.type = XFRM_OP_POLICY_DELETE, .in.policy_id = &ids[300 + i]};
    }
    assert_int_equal(xfrm_batch_run(small, ops, k, &err), 0);
    for (size_t i = 0; i < k; i++) {
        if (ops[i].result != 0 && ops[i].result != -ENOENT)
            fail_msg("retry %zu: %s", i, ops[i].err.msg);
    }
    print_message("retry of %zu: %zu failed\n", k, xfrm_batch_failures(ops, k));
    xfrm_nl_close(small);
    assert_int_equal(count_pol(XFRM_DUMP_OURS), NL - 600);

    for (int i = 600; i < NL; i++)
        ops[i - 600] = (struct xfrm_op){.type = XFRM_OP_POLICY_DELETE, .in.policy_id = &ids[i]};
    t = now_s();
    assert_int_equal(xfrm_batch_run(nl, ops, NL - 600, &err), 0);
    t = now_s() - t;
    assert_int_equal(xfrm_batch_failures(ops, NL - 600), 0);
    print_message("batched %d policy deletes (lookup + delete) in %.3f s\n", NL - 600, t);
    assert_int_equal(count_pol(XFRM_DUMP_ALL), 0);
}

struct find_ctx {
    uint32_t priority;
    bool found;
    bool ours;
};

static int find_prio(const struct xfrm_policy_info *p, void *arg)
{
    struct find_ctx *f = arg;

    if (p->pol.priority == f->priority) {
        f->found = true;
        f->ours = p->ours;
    }
    return 0;
}

static void test_ownership(void **state)
{
    static const struct {
        const char *sel;
        uint32_t prio;
        uint32_t reqid;
    } foreign[] = {
        {"src 10.50.0.0/24 dst 10.60.0.0/24", 100, 5}, /* nothing of ours */
        {"src 10.51.0.0/24 dst 10.60.0.0/24", XFRM_OWNER_PRIO_MIN + 7,
         5}, /* our band, their reqid */
        {"src 10.52.0.0/24 dst 10.60.0.0/24", 101,
         XFRM_OWNER_REQID_MIN + 7}, /* our reqid, their band */
    };
    struct xfrm_policy pol;
    struct xfrm_policy_id id;
    struct xfrm_policy_info info;
    struct xfrm_sa_info sa_info;
    struct xfrm_sa_id sid;
    struct xfrm_sa sa;
    struct xfrm_err err;
    char cmd[512];

    (void)state;
    for (size_t i = 0; i < 3; i++) {
        snprintf(cmd, sizeof(cmd),
                 "ip xfrm policy add %s dir out priority %u tmpl src 192.0.2.1 dst 192.0.2.2 proto "
                 "esp reqid %u mode tunnel",
                 foreign[i].sel, foreign[i].prio, foreign[i].reqid);
        sh(cmd);
    }
    /* One of ours next to them. */
    tx_policy(&pol, "10.53.0.0/24", "10.60.0.0/24", XFRM_DIR_OUT, "192.0.2.1", "192.0.2.2", R(9));
    assert_int_equal(xfrm_policy_add(nl, &pol, &err), 0);
    assert_int_equal(count_pol(XFRM_DUMP_ALL), 4);
    assert_int_equal(count_pol(XFRM_DUMP_OURS), 1);

    for (size_t i = 0; i < 3; i++) {
        struct find_ctx f = {foreign[i].prio, false, true};
        char src[32];

        assert_int_equal(xfrm_policy_dump(nl, XFRM_DUMP_ALL, find_prio, &f, &err), 0);
        assert_true(f.found);
        assert_false(f.ours);

        snprintf(src, sizeof(src), "10.5%zu.0.0/24", i);
        tx_policy(&pol, src, "10.60.0.0/24", XFRM_DIR_OUT, "192.0.2.1", "192.0.2.2", R(10));
        tx_policy_id(&id, &pol);
        assert_int_equal(xfrm_policy_get(nl, &id, &info, &err), 0);
        assert_false(info.ours);

        assert_int_equal(xfrm_policy_delete(nl, &id, &err), -EPERM);
        assert_non_null(strstr(err.msg, "not mgate's"));
        assert_int_equal(xfrm_policy_update(nl, &pol, &err), -EPERM);
        assert_int_equal(xfrm_policy_add(nl, &pol, &err), -EEXIST);

        /* Still there, untouched. */
        assert_int_equal(xfrm_policy_get(nl, &id, &info, &err), 0);
        assert_int_equal(info.pol.priority, foreign[i].prio);
        assert_int_equal(info.pol.tmpl[0].reqid, foreign[i].reqid);
    }
    assert_int_equal(count_pol(XFRM_DUMP_ALL), 4);

    /* A foreign SA (a reservation made by hand with reqid 7). */
    sh("ip xfrm state allocspi src 192.0.2.1 dst 192.0.2.2 proto esp mode tunnel reqid 7 min "
       "0x4444 max 0x4444 >/dev/null");
    memset(&sid, 0, sizeof(sid));
    xfrm_addr_parse(&sid.dst, "192.0.2.2");
    sid.spi = 0x4444;
    assert_int_equal(xfrm_sa_get(nl, &sid, &sa_info, &err), 0);
    assert_false(sa_info.ours);
    assert_int_equal(count_sa(XFRM_DUMP_OURS), 0);
    assert_int_equal(count_sa(XFRM_DUMP_ALL), 1);
    assert_int_equal(xfrm_sa_delete(nl, &sid, &err), -EPERM);
    assert_non_null(strstr(err.msg, "reqid 0x00000007"));
    tx_sa(&sa, "192.0.2.1", "192.0.2.2", 0x4444, R(1), XFRM_ENC_AES_GCM16_256, XFRM_INTEG_NONE);
    assert_int_equal(xfrm_sa_update(nl, &sa, &err), -EPERM);
    /* -EEXIST with ESP; without it (this host) the algorithm lookup fails
     * first. Either way the reservation must survive untouched. */
    assert_true(xfrm_sa_add(nl, &sa, &err) < 0);
    xfrm_sa_wipe(&sa);
    assert_int_equal(xfrm_sa_get(nl, &sid, &sa_info, &err), 0);
    assert_int_equal(sa_info.reqid, 7);
    assert_true(sa_info.larval);
    sh("ip xfrm state get src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x4444 >/dev/null");
    sh("ip xfrm policy get src 10.50.0.0/24 dst 10.60.0.0/24 dir out >/dev/null");
}

struct snapshot {
    size_t sa, pol;
};

static struct snapshot snap(void)
{
    struct snapshot s = {count_sa(XFRM_DUMP_ALL), count_pol(XFRM_DUMP_ALL)};

    return s;
}

static void test_bad_input(void **state)
{
    struct xfrm_policy pol, good_pol;
    struct xfrm_sa sa, good;
    struct xfrm_spi_req req;
    struct xfrm_err err;
    struct snapshot before, after;
    uint32_t spi;

    (void)state;
    /* Something in the kernel to compare against. */
    tx_policy(&good_pol, "10.9.0.0/24", "10.8.0.0/24", XFRM_DIR_OUT, "192.0.2.1", "192.0.2.2",
              R(1));
    assert_int_equal(xfrm_policy_add(nl, &good_pol, &err), 0);
    spi_req(&req, R(1), 0x5000, 0x5fff);
    assert_int_equal(xfrm_sa_allocspi(nl, &req, &spi, &err), 0);
    before = snap();

    tx_sa(&good, "192.0.2.1", "192.0.2.2", spi, R(1), XFRM_ENC_AES_GCM16_128, XFRM_INTEG_NONE);
    sa = good;
    sa.enc = (enum xfrm_enc_alg)55;
    assert_int_equal(xfrm_sa_add(nl, &sa, &err), -ENOPROTOOPT);
    assert_non_null(strstr(err.msg, "unknown encryption algorithm"));
    assert_int_equal(xfrm_sa_update(nl, &sa, &err), -ENOPROTOOPT);
    sa = good;
    sa.enc_key_len = 16;
    assert_int_equal(xfrm_sa_add(nl, &sa, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "20-byte key"));
    sa = good;
    xfrm_addr_parse(&sa.dst, "2001:db8::2");
    assert_int_equal(xfrm_sa_add(nl, &sa, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "family mismatch"));
    sa = good;
    xfrm_sel_parse(&sa.sel, "10.0.0.0/24", "10.1.0.0/24", NULL);
    sa.sel.src_plen = 40;
    assert_int_equal(xfrm_sa_add(nl, &sa, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "selector"));
    sa = good;
    sa.reqid = 12;
    assert_int_equal(xfrm_sa_add(nl, &sa, &err), -EPERM);

    pol = good_pol;
    pol.sel.dst_plen = 4; /* 10.8.0.0/4 has host bits */
    assert_int_equal(xfrm_policy_add(nl, &pol, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "bits set beyond /4"));
    pol = good_pol;
    xfrm_addr_parse(&pol.tmpl[0].src, "2001:db8::1");
    assert_int_equal(xfrm_policy_add(nl, &pol, &err), -EINVAL);
    pol = good_pol;
    pol.sel.proto = 0;
    pol.sel.dport = 80;
    assert_int_equal(xfrm_policy_update(nl, &pol, &err), -EINVAL);
    spi_req(&req, R(2), 0x6000, 0x5000);
    assert_int_equal(xfrm_sa_allocspi(nl, &req, &spi, &err), -EINVAL);
    spi_req(&req, R(2), 1, 0x5000);
    assert_int_equal(xfrm_sa_allocspi(nl, &req, &spi, &err), -EINVAL);

    after = snap();
    assert_int_equal(before.sa, after.sa);
    assert_int_equal(before.pol, after.pol);
    xfrm_sa_wipe(&good);
    xfrm_sa_wipe(&sa);
}

struct ev_log {
    int n;
    struct xfrm_event ev[64];
};

static void ev_cb(const struct xfrm_event *ev, void *arg)
{
    struct ev_log *log = arg;

    if (log->n < 64)
        log->ev[log->n++] = *ev;
}

/* Waits (bounded) for an event of the given type; returns its index. */
static int wait_event(struct xfrm_event_sock *es, struct ev_log *log, enum xfrm_event_type type,
                      int from)
{
    for (int tries = 0; tries < 40; tries++) {
        struct pollfd pfd = {.fd = xfrm_event_fd(es), .events = POLLIN};
        struct xfrm_err err;

        for (int i = from; i < log->n; i++) {
            if (log->ev[i].type == type)
                return i;
        }
        if (poll(&pfd, 1, 50) > 0 && xfrm_event_dispatch(es, ev_cb, log, &err) < 0)
            fail_msg("dispatch: %s", err.msg);
    }
    fail_msg("no %s event", xfrm_event_type_name(type));
    return -1;
}

static void test_events(void **state)
{
    static struct ev_log log;
    struct xfrm_event_sock *es;
    struct xfrm_policy pol;
    struct xfrm_policy_id id;
    struct xfrm_spi_req req;
    struct xfrm_sa_id sid;
    struct xfrm_err err;
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(9)};
    char a[64];
    uint32_t spi;
    int i, fd;

    (void)state;
    memset(&log, 0, sizeof(log));
    es = xfrm_event_open(0, 0, &err);
    assert_non_null(es);
    assert_int_equal(xfrm_event_dispatch(es, ev_cb, &log, &err), 0);

    tx_policy(&pol, "127.0.0.1/32", "127.0.0.77/32", XFRM_DIR_OUT, "192.0.2.1", "192.0.2.2", R(5));
    assert_int_equal(xfrm_policy_add(nl, &pol, &err), 0);
    i = wait_event(es, &log, XFRM_EVENT_POLICY_NEW, 0);
    assert_true(log.ev[i].ours);
    assert_int_equal(log.ev[i].u.policy.info.pol.tmpl[0].reqid, R(5));

    /* Traffic that hits the policy without an SA asks for one. */
    fd = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(fd >= 0);
    inet_pton(AF_INET, "127.0.0.77", &to.sin_addr);
    (void)sendto(fd, "x", 1, 0, (struct sockaddr *)&to, sizeof(to));
    close(fd);
    i = wait_event(es, &log, XFRM_EVENT_ACQUIRE, 0);
    assert_true(log.ev[i].ours);
    assert_string_equal(xfrm_addr_format(&log.ev[i].u.acquire.sel.dst, a, sizeof(a)), "127.0.0.77");
    assert_string_equal(xfrm_addr_format(&log.ev[i].u.acquire.dst, a, sizeof(a)), "192.0.2.2");
    assert_int_equal(log.ev[i].u.acquire.policy.pol.dir, XFRM_DIR_OUT);

    /* A hand-made policy is seen too, as not ours. */
    sh("ip xfrm policy add src 10.70.0.0/24 dst 10.71.0.0/24 dir in priority 5 tmpl src 192.0.2.2 "
       "dst 192.0.2.1 proto esp reqid 3 mode tunnel");
    for (i = 0;; i++) {
        i = wait_event(es, &log, XFRM_EVENT_POLICY_NEW, i);
        if (log.ev[i].u.policy.info.pol.priority == 5)
            break;
    }
    assert_false(log.ev[i].ours);

    tx_policy_id(&id, &pol);
    assert_int_equal(xfrm_policy_delete(nl, &id, &err), 0);
    i = wait_event(es, &log, XFRM_EVENT_POLICY_DELETE, 0);
    assert_true(log.ev[i].ours);
    assert_int_equal(log.ev[i].u.policy.info.pol.priority, pol.priority);

    spi_req(&req, R(6), 0x7000, 0x7fff);
    assert_int_equal(xfrm_sa_allocspi(nl, &req, &spi, &err), 0);
    memset(&sid, 0, sizeof(sid));
    xfrm_addr_parse(&sid.dst, "192.0.2.2");
    sid.spi = spi;
    assert_int_equal(xfrm_sa_delete(nl, &sid, &err), 0);
    i = wait_event(es, &log, XFRM_EVENT_SA_DELETE, 0);
    assert_true(log.ev[i].ours);
    assert_int_equal(log.ev[i].u.sa.info.spi, spi);
    xfrm_event_close(es);
}

static int udp_socket(const char *addr, uint16_t port, bool bypass)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};
    struct timeval tv = {.tv_sec = 0, .tv_usec = 300000};
    struct xfrm_err err;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);

    assert_true(fd >= 0);
    inet_pton(AF_INET, addr, &sin.sin_addr);
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
    if (bypass && xfrm_policy_socket_bypass(fd, &err) < 0)
        fail_msg("bypass: %s", err.msg);
    return fd;
}

/* True when a datagram from a socket bound to src reaches dst:port. */
static bool delivered(int from, int to, const char *dst, uint16_t port)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};
    char buf[8];

    inet_pton(AF_INET, dst, &sin.sin_addr);
    (void)sendto(from, "ping", 4, 0, (struct sockaddr *)&sin, sizeof(sin));
    return recv(to, buf, sizeof(buf), 0) == 4;
}

static void test_socket_bypass(void **state)
{
    struct xfrm_policy out, in;
    struct xfrm_err err;
    int plain, bypass, rx, rx_plain, rx_bypass, tx, fd6;

    (void)state;
    /* Out: 127.0.0.1 -> 127.0.0.2 must go through an SA that does not exist. */
    tx_policy(&out, "127.0.0.1/32", "127.0.0.2/32", XFRM_DIR_OUT, "192.0.2.1", "192.0.2.2", R(1));
    assert_int_equal(xfrm_policy_add(nl, &out, &err), 0);
    plain = udp_socket("127.0.0.1", 0, false);
    bypass = udp_socket("127.0.0.1", 0, true);
    rx = udp_socket("127.0.0.2", 5500, false);
    assert_false(delivered(plain, rx, "127.0.0.2", 5500));
    assert_true(delivered(bypass, rx, "127.0.0.2", 5500));

    /* In: 127.0.0.3 -> 127.0.0.4 must arrive through an SA. */
    tx_policy(&in, "127.0.0.3/32", "127.0.0.4/32", XFRM_DIR_IN, "192.0.2.2", "192.0.2.1", R(2));
    assert_int_equal(xfrm_policy_add(nl, &in, &err), 0);
    tx = udp_socket("127.0.0.3", 0, false);
    rx_plain = udp_socket("127.0.0.4", 5501, false);
    rx_bypass = udp_socket("127.0.0.4", 5502, true);
    assert_false(delivered(tx, rx_plain, "127.0.0.4", 5501));
    assert_true(delivered(tx, rx_bypass, "127.0.0.4", 5502));

    fd6 = socket(AF_INET6, SOCK_DGRAM, 0);
    assert_true(fd6 >= 0);
    assert_int_equal(xfrm_policy_socket_bypass(fd6, &err), 0);
    close(fd6);
    fd6 = socket(AF_UNIX, SOCK_DGRAM, 0);
    assert_int_equal(xfrm_policy_socket_bypass(fd6, &err), -EAFNOSUPPORT);
    close(fd6);
    assert_true(xfrm_policy_socket_bypass(-1, &err) < 0);

    close(plain);
    close(bypass);
    close(rx);
    close(tx);
    close(rx_plain);
    close(rx_bypass);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_policy_lifecycle, flush),
        cmocka_unit_test_setup(test_allocspi, flush),
        cmocka_unit_test_setup(test_batch_bad_middle, flush),
        cmocka_unit_test_setup(test_batch_mixed, flush),
        cmocka_unit_test_setup(test_batch_chunks_and_overrun, flush),
        cmocka_unit_test_setup(test_ownership, flush),
        cmocka_unit_test_setup(test_bad_input, flush),
        cmocka_unit_test_setup(test_events, flush),
        cmocka_unit_test_setup(test_socket_bypass, flush),
    };

    return cmocka_run_group_tests_name("xfrm_netns", tests, setup, teardown);
}

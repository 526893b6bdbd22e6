/* SA tests of the xfrm library against a kernel with ESP (tests/vm/vm-run),
 * in a private network namespace (netns-run.sh): every algorithm added, read
 * back by get and dump, and deleted; ESN and replay windows; NAT-T
 * encapsulation; marks and if_id; lifetimes; completing an ALLOCSPI
 * reservation; SPI in use; foreign SAs left alone; batches with a bad SA in
 * the middle (and their rate); SA events including time-based expiry.
 * Exits 77 outside the VM when the kernel has no ESP. */
#include <netinet/in.h>

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

#include <cmocka.h>

#include "test_xfrm_common.h"
#include "xfrm_batch.h"
#include "xfrm_event.h"

#define R(n) (XFRM_OWNER_REQID_MIN + 0x200u + (uint32_t)(n))

static struct xfrm_nl *nl;

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

static int count_cb(const struct xfrm_sa_info *sa, void *arg)
{
    (void)sa;
    (*(size_t *)arg)++;
    return 0;
}

static size_t count_sa(unsigned flags)
{
    struct xfrm_err err;
    size_t n = 0;

    if (xfrm_sa_dump(nl, flags, count_cb, &n, &err) < 0)
        fail_msg("SA dump: %s", err.msg);
    return n;
}

struct find {
    uint32_t spi;
    struct xfrm_sa_info info;
    bool found;
};

static int find_cb(const struct xfrm_sa_info *sa, void *arg)
{
    struct find *f = arg;

    if (sa->spi != f->spi)
        return 0;
    f->info = *sa;
    f->found = true;
    return 1; /* stop: found */
}

static void id_of(struct xfrm_sa_id *id, const struct xfrm_sa *sa)
{
    memset(id, 0, sizeof(*id));
    id->dst = sa->dst;
    id->spi = sa->spi;
    id->mark = sa->mark;
}

/* What get and dump report must match what was installed. */
static void check_info(const struct xfrm_sa_info *info, const struct xfrm_sa *sa)
{
    const struct xfrm_enc_desc *enc = xfrm_alg_enc(sa->enc);

    assert_true(xfrm_addr_equal(&info->src, &sa->src));
    assert_true(xfrm_addr_equal(&info->dst, &sa->dst));
    assert_int_equal(info->spi, sa->spi);
    assert_int_equal(info->proto, IPPROTO_ESP);
    assert_int_equal(info->mode, 1);
    assert_int_equal(info->reqid, sa->reqid);
    assert_true(info->ours);
    assert_false(info->larval);
    assert_int_equal(info->enc, sa->enc);
    assert_string_equal(info->enc_name, enc->kernel_name);
    assert_int_equal(info->enc_key_bits, enc->key_len * 8);
    if (enc->aead) {
        assert_int_equal(info->icv_bits, 128);
        assert_int_equal(info->integ, XFRM_INTEG_NONE);
    } else {
        const struct xfrm_integ_desc *integ = xfrm_alg_integ(sa->integ);

        assert_int_equal(info->integ, sa->integ);
        assert_string_equal(info->integ_name, integ->kernel_name);
        assert_int_equal(info->integ_key_bits, integ->key_len * 8);
        assert_int_equal(info->integ_trunc_bits, integ->trunc_bits);
    }
    assert_int_equal(info->sel.src.family, sa->sel.src.family);
    assert_true(xfrm_addr_equal(&info->sel.src, &sa->sel.src));
    assert_int_equal(info->sel.src_plen, sa->sel.src_plen);
    assert_int_equal(info->sel.dst_plen, sa->sel.dst_plen);
    assert_int_equal(info->esn, sa->esn);
    assert_int_equal(info->replay_window, sa->replay_window);
    assert_memory_equal(&info->lft, &sa->lft, sizeof(sa->lft));
    assert_int_equal(info->encap, sa->encap);
    if (sa->encap) {
        assert_int_equal(info->encap_type, 2); /* UDP_ENCAP_ESPINUDP */
        assert_int_equal(info->encap_ports.sport, sa->encap_ports.sport);
        assert_int_equal(info->encap_ports.dport, sa->encap_ports.dport);
    }
    assert_int_equal(info->mark.value, sa->mark.value);
    assert_int_equal(info->mark.mask, sa->mark.mask);
    assert_int_equal(info->if_id, sa->if_id);
    assert_true(info->cur.add_time > 0);
}

/* add, get, dump, delete, get again. */
static void roundtrip(const struct xfrm_sa *sa)
{
    struct xfrm_sa_info info;
    struct xfrm_sa_id id;
    struct xfrm_err err;
    struct find f;

    memset(&f, 0, sizeof(f));
    f.spi = sa->spi;

    if (xfrm_sa_add(nl, sa, &err) < 0)
        fail_msg("add: %s", err.msg);
    id_of(&id, sa);
    if (xfrm_sa_get(nl, &id, &info, &err) < 0)
        fail_msg("get: %s", err.msg);
    check_info(&info, sa);
    assert_int_equal(xfrm_sa_dump(nl, XFRM_DUMP_OURS, find_cb, &f, &err), 1);
    assert_true(f.found);
    check_info(&f.info, sa);
    if (xfrm_sa_delete(nl, &id, &err) < 0)
        fail_msg("delete: %s", err.msg);
    assert_int_equal(xfrm_sa_get(nl, &id, &info, &err), -ESRCH);
}

static const struct {
    enum xfrm_enc_alg enc;
    enum xfrm_integ_alg integ;
} suites[] = {
    {XFRM_ENC_AES_GCM16_128, XFRM_INTEG_NONE},
    {XFRM_ENC_AES_GCM16_256, XFRM_INTEG_NONE},
    {XFRM_ENC_CHACHA20_POLY1305, XFRM_INTEG_NONE},
    {XFRM_ENC_AES_CBC_128, XFRM_INTEG_HMAC_SHA2_256_128},
    {XFRM_ENC_AES_CBC_128, XFRM_INTEG_HMAC_SHA2_384_192},
    {XFRM_ENC_AES_CBC_128, XFRM_INTEG_HMAC_SHA2_512_256},
    {XFRM_ENC_AES_CBC_256, XFRM_INTEG_HMAC_SHA2_256_128},
    {XFRM_ENC_AES_CBC_256, XFRM_INTEG_HMAC_SHA2_384_192},
    {XFRM_ENC_AES_CBC_256, XFRM_INTEG_HMAC_SHA2_512_256},
};
#define NSUITES (sizeof(suites) / sizeof(suites[0]))

static void test_all_algorithms(void **state)
{
    struct xfrm_sa sa;
    struct xfrm_err err;

    (void)state;
    for (size_t i = 0; i < NSUITES; i++) {
        /* IPv4 in IPv4 with a subnet selector. */
        tx_sa(&sa, "192.0.2.1", "192.0.2.2", 0x1000 + (uint32_t)i, R(i), suites[i].enc,
              suites[i].integ);
        assert_int_equal(xfrm_sel_parse(&sa.sel, "10.0.0.0/24", "198.18.0.2/32", &err), 0);
        roundtrip(&sa);
        /* IPv4 in IPv6. */
        tx_sa(&sa, "2001:db8:1::1", "2001:db8:1::2", 0x2000 + (uint32_t)i, R(i), suites[i].enc,
              suites[i].integ);
        assert_int_equal(xfrm_sel_parse(&sa.sel, "10.0.0.0/24", "198.18.0.2/32", &err), 0);
        roundtrip(&sa);
        /* IPv6 in IPv4. */
        tx_sa(&sa, "192.0.2.1", "192.0.2.2", 0x3000 + (uint32_t)i, R(i), suites[i].enc,
              suites[i].integ);
        assert_int_equal(xfrm_sel_parse(&sa.sel, "2001:db8:2::/64", "2001:db8:100::2", &err), 0);
        roundtrip(&sa);
        /* Any inner family. */
        tx_sa(&sa, "2001:db8:1::1", "2001:db8:1::2", 0x4000 + (uint32_t)i, R(i), suites[i].enc,
              suites[i].integ);
        roundtrip(&sa);
    }
    assert_int_equal(count_sa(XFRM_DUMP_ALL), 0);
    xfrm_sa_wipe(&sa);
}

static void test_esn_replay_lifetimes(void **state)
{
    struct xfrm_sa sa;

    (void)state;
    tx_sa(&sa, "192.0.2.1", "192.0.2.2", 0x5001, R(1), XFRM_ENC_AES_GCM16_256, XFRM_INTEG_NONE);
    sa.esn = true;
    sa.replay_window = 256;
    roundtrip(&sa);
    sa.replay_window = XFRM_REPLAY_WINDOW_MAX;
    roundtrip(&sa);
    sa.esn = false;
    sa.replay_window = 64;
    roundtrip(&sa);
    sa.replay_window = 0; /* outbound SAs need none */
    roundtrip(&sa);
    sa.lft = (struct xfrm_lifetime){.soft_bytes = 1000000,
                                    .hard_bytes = 2000000,
                                    .soft_packets = 1000,
                                    .hard_packets = 2000,
                                    .soft_add_secs = 3000,
                                    .hard_add_secs = 3600,
                                    .soft_use_secs = 500,
                                    .hard_use_secs = 600};
    roundtrip(&sa);
    xfrm_sa_wipe(&sa);
}

static void test_natt_mark_ifid(void **state)
{
    struct xfrm_sa sa;
    struct xfrm_sa_id id;
    struct xfrm_sa_info info;
    struct xfrm_err err;

    (void)state;
    tx_sa(&sa, "192.0.2.1", "192.0.2.2", 0x6001, R(1), XFRM_ENC_AES_GCM16_128, XFRM_INTEG_NONE);
    sa.encap = true;
    sa.encap_ports.sport = 4500;
    sa.encap_ports.dport = 31337;
    roundtrip(&sa);
    tx_sa(&sa, "2001:db8:1::1", "2001:db8:1::2", 0x6002, R(1), XFRM_ENC_CHACHA20_POLY1305,
          XFRM_INTEG_NONE);
    sa.encap = true;
    sa.encap_ports.sport = 4500;
    sa.encap_ports.dport = 4500;
    sa.mark.value = 0x42;
    sa.mark.mask = 0xff;
    sa.if_id = 17;
    roundtrip(&sa);

    /* A marked SA is only found with its mark. */
    assert_int_equal(xfrm_sa_add(nl, &sa, &err), 0);
    id_of(&id, &sa);
    id.mark.value = 0;
    id.mark.mask = 0;
    assert_int_equal(xfrm_sa_get(nl, &id, &info, &err), -ESRCH);
    assert_int_equal(xfrm_sa_delete(nl, &id, &err), -ESRCH);
    id_of(&id, &sa);
    assert_int_equal(xfrm_sa_delete(nl, &id, &err), 0);
    xfrm_sa_wipe(&sa);
}

static void test_allocspi_then_update(void **state)
{
    struct xfrm_spi_req req;
    struct xfrm_sa sa;
    struct xfrm_sa_id id;
    struct xfrm_sa_info info;
    struct xfrm_err err;
    uint32_t spi;

    (void)state;
    memset(&req, 0, sizeof(req));
    xfrm_addr_parse(&req.src, "192.0.2.1");
    xfrm_addr_parse(&req.dst, "192.0.2.2");
    req.reqid = R(7);
    req.min = 0xc0000000;
    req.max = 0xcfffffff;
    assert_int_equal(xfrm_sa_allocspi(nl, &req, &spi, &err), 0);
    tx_sa(&sa, "192.0.2.1", "192.0.2.2", spi, R(7), XFRM_ENC_AES_GCM16_256, XFRM_INTEG_NONE);
    sa.esn = true;
    sa.replay_window = 128;
    /* Add collides with the reservation; update completes it. */
    assert_int_equal(xfrm_sa_add(nl, &sa, &err), -EEXIST);
    if (xfrm_sa_update(nl, &sa, &err) < 0)
        fail_msg("update: %s", err.msg);
    id_of(&id, &sa);
    assert_int_equal(xfrm_sa_get(nl, &id, &info, &err), 0);
    check_info(&info, &sa);

    /* On a live SA, update changes the lifetimes. */
    sa.lft.hard_bytes = 123456789;
    sa.lft.soft_bytes = 100000000;
    if (xfrm_sa_update(nl, &sa, &err) < 0)
        fail_msg("update lifetimes: %s", err.msg);
    assert_int_equal(xfrm_sa_get(nl, &id, &info, &err), 0);
    assert_int_equal(info.lft.hard_bytes, 123456789);
    assert_int_equal(info.lft.soft_bytes, 100000000);

    /* Update of something that is not there: no such SA, nothing made. */
    sa.spi = 0xcafe;
    assert_int_equal(xfrm_sa_update(nl, &sa, &err), -ESRCH);
    assert_int_equal(count_sa(XFRM_DUMP_ALL), 1);
    xfrm_sa_wipe(&sa);
}

static void test_spi_in_use_and_foreign(void **state)
{
    struct xfrm_sa sa, other;
    struct xfrm_sa_id id;
    struct xfrm_sa_info info;
    struct xfrm_err err;

    (void)state;
    tx_sa(&sa, "192.0.2.1", "192.0.2.2", 0x7001, R(1), XFRM_ENC_AES_GCM16_128, XFRM_INTEG_NONE);
    assert_int_equal(xfrm_sa_add(nl, &sa, &err), 0);
    tx_sa(&other, "192.0.2.1", "192.0.2.2", 0x7001, R(2), XFRM_ENC_AES_CBC_128,
          XFRM_INTEG_HMAC_SHA2_256_128);
    assert_int_equal(xfrm_sa_add(nl, &other, &err), -EEXIST);
    assert_non_null(strstr(err.msg, "SA add spi 0x00007001"));
    id_of(&id, &sa);
    assert_int_equal(xfrm_sa_get(nl, &id, &info, &err), 0);
    check_info(&info, &sa); /* the first one, untouched */

    /* A real SA made by hand, as another IKE daemon would. */
    sh("ip xfrm state add src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x7002 reqid 5 mode tunnel "
       "aead 'rfc4106(gcm(aes))' 0x0102030405060708090a0b0c0d0e0f1011121314 128");
    tx_sa(&other, "192.0.2.1", "192.0.2.2", 0x7002, R(2), XFRM_ENC_AES_GCM16_128, XFRM_INTEG_NONE);
    id_of(&id, &other);
    assert_int_equal(xfrm_sa_get(nl, &id, &info, &err), 0);
    assert_false(info.ours);
    assert_int_equal(info.enc, XFRM_ENC_AES_GCM16_128);
    assert_int_equal(xfrm_sa_delete(nl, &id, &err), -EPERM);
    assert_int_equal(xfrm_sa_update(nl, &other, &err), -EPERM);
    assert_int_equal(xfrm_sa_add(nl, &other, &err), -EEXIST);
    assert_int_equal(count_sa(XFRM_DUMP_OURS), 1);
    assert_int_equal(count_sa(XFRM_DUMP_ALL), 2);
    sh("ip xfrm state get src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x7002 | grep -q 'reqid 5 '");
    xfrm_sa_wipe(&sa);
    xfrm_sa_wipe(&other);
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_batch(void **state)
{
    enum { N = 4000, SINGLE = 300 };
    static struct xfrm_sa sas[N];
    static struct xfrm_sa_id ids[N];
    static struct xfrm_op ops[N];
    struct xfrm_err err;
    double t;

    (void)state;
    for (int i = 0; i < N; i++) {
        char dst[32];

        snprintf(dst, sizeof(dst), "198.18.%d.%d", 1 + i / 250, 1 + i % 250);
        tx_sa(&sas[i], "192.0.2.1", dst, 0x10000 + (uint32_t)i, R(i), XFRM_ENC_AES_GCM16_256,
              XFRM_INTEG_NONE);
        id_of(&ids[i], &sas[i]);
        ops[i] = (struct xfrm_op){.type = XFRM_OP_SA_ADD, .in.sa = &sas[i]};
    }
    sas[1000].enc_key_len = 20;    /* refused before sending */
    sas[3000].spi = sas[2999].spi; /* refused by the kernel: SPI in use */
    sas[3000].dst = sas[2999].dst;
    ids[3000] = ids[2999];
    t = now_s();
    assert_int_equal(xfrm_batch_run(nl, ops, N, &err), 0);
    t = now_s() - t;
    for (int i = 0; i < N; i++) {
        if (i == 1000) {
            assert_int_equal(ops[i].result, -EINVAL);
            assert_non_null(strstr(ops[i].err.msg, "36-byte key"));
        } else if (i == 3000) {
            assert_int_equal(ops[i].result, -EEXIST);
        } else if (ops[i].result) {
            fail_msg("op %d: %s", i, ops[i].err.msg);
        }
    }
    print_message("batched: %d SA adds in %.3f s = %.0f SAs/s (2 refused as expected)\n", N, t,
                  N / t);
    assert_int_equal(count_sa(XFRM_DUMP_OURS), N - 2);

    for (int i = 0; i < N; i++)
        ops[i] = (struct xfrm_op){.type = XFRM_OP_SA_DELETE, .in.sa_id = &ids[i]};
    t = now_s();
    assert_int_equal(xfrm_batch_run(nl, ops, N, &err), 0);
    t = now_s() - t;
    for (int i = 0; i < N; i++) {
        if (i == 1000 || i == 3000)
            assert_int_equal(ops[i].result, -ESRCH);
        else if (ops[i].result)
            fail_msg("delete %d: %s", i, ops[i].err.msg);
    }
    print_message("batched: %d SA deletes (ownership lookup + delete) in %.3f s = %.0f/s\n", N, t,
                  N / t);
    assert_int_equal(count_sa(XFRM_DUMP_ALL), 0);

    t = now_s();
    for (int i = 0; i < SINGLE; i++) {
        if (xfrm_sa_add(nl, &sas[i], &err) < 0)
            fail_msg("single add %d: %s", i, err.msg);
    }
    t = now_s() - t;
    print_message("one at a time: %d SA adds in %.3f s = %.0f SAs/s\n", SINGLE, t, SINGLE / t);
    for (int i = 0; i < N; i++)
        xfrm_sa_wipe(&sas[i]);
}

struct ev_log {
    int n;
    struct xfrm_event ev[32];
};

static void ev_cb(const struct xfrm_event *ev, void *arg)
{
    struct ev_log *log = arg;

    if (log->n < 32)
        log->ev[log->n++] = *ev;
}

static int wait_event(struct xfrm_event_sock *es, struct ev_log *log, enum xfrm_event_type type,
                      bool hard, int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 100) {
        struct pollfd pfd = {.fd = xfrm_event_fd(es), .events = POLLIN};
        struct xfrm_err err;

        for (int i = 0; i < log->n; i++) {
            if (log->ev[i].type == type &&
                (type != XFRM_EVENT_SA_EXPIRE || log->ev[i].u.sa.hard == hard))
                return i;
        }
        if (poll(&pfd, 1, 100) > 0 && xfrm_event_dispatch(es, ev_cb, log, &err) < 0)
            fail_msg("dispatch: %s", err.msg);
    }
    fail_msg("no %s%s event within %d ms", xfrm_event_type_name(type), hard ? " (hard)" : "",
             timeout_ms);
    return -1;
}

static void test_events_and_time_expiry(void **state)
{
    static struct ev_log log;
    struct xfrm_event_sock *es;
    struct xfrm_sa sa;
    struct xfrm_sa_id id;
    struct xfrm_sa_info info;
    struct xfrm_err err;
    int i;

    (void)state;
    memset(&log, 0, sizeof(log));
    es = xfrm_event_open(0, 0, &err);
    assert_non_null(es);

    tx_sa(&sa, "192.0.2.1", "192.0.2.2", 0x8001, R(8), XFRM_ENC_AES_GCM16_256, XFRM_INTEG_NONE);
    assert_int_equal(xfrm_sa_add(nl, &sa, &err), 0);
    i = wait_event(es, &log, XFRM_EVENT_SA_NEW, false, 3000);
    assert_true(log.ev[i].ours);
    assert_int_equal(log.ev[i].u.sa.info.spi, 0x8001);
    sa.lft.hard_bytes = 99999;
    assert_int_equal(xfrm_sa_update(nl, &sa, &err), 0);
    i = wait_event(es, &log, XFRM_EVENT_SA_UPDATE, false, 3000);
    assert_int_equal(log.ev[i].u.sa.info.lft.hard_bytes, 99999);
    id_of(&id, &sa);
    assert_int_equal(xfrm_sa_delete(nl, &id, &err), 0);
    i = wait_event(es, &log, XFRM_EVENT_SA_DELETE, false, 3000);
    assert_true(log.ev[i].ours);
    assert_int_equal(log.ev[i].u.sa.info.spi, 0x8001);

    /* Time lifetimes need no traffic: soft after 1 s, hard after 2 s. */
    tx_sa(&sa, "192.0.2.1", "192.0.2.2", 0x8002, R(9), XFRM_ENC_AES_GCM16_128, XFRM_INTEG_NONE);
    sa.lft.soft_add_secs = 1;
    sa.lft.hard_add_secs = 2;
    assert_int_equal(xfrm_sa_add(nl, &sa, &err), 0);
    i = wait_event(es, &log, XFRM_EVENT_SA_EXPIRE, false, 8000);
    assert_true(log.ev[i].ours);
    assert_int_equal(log.ev[i].u.sa.info.spi, 0x8002);
    assert_int_equal(log.ev[i].u.sa.info.reqid, R(9));
    i = wait_event(es, &log, XFRM_EVENT_SA_EXPIRE, true, 8000);
    assert_int_equal(log.ev[i].u.sa.info.spi, 0x8002);
    id_of(&id, &sa);
    assert_int_equal(xfrm_sa_get(nl, &id, &info, &err), -ESRCH); /* hard expiry removed it */
    xfrm_event_close(es);
    xfrm_sa_wipe(&sa);
}

/* Can this kernel install an ESP SA at all? */
static int esp_available(void)
{
    struct xfrm_sa sa;
    struct xfrm_sa_id id;
    struct xfrm_err err;
    int rc;

    tx_sa(&sa, "192.0.2.250", "192.0.2.251", 0x100, R(0), XFRM_ENC_AES_GCM16_128, XFRM_INTEG_NONE);
    rc = xfrm_sa_add(nl, &sa, &err);
    if (rc < 0) {
        fprintf(stderr, "ESP SA install failed: %s\n", err.msg);
        return 0;
    }
    id_of(&id, &sa);
    xfrm_sa_delete(nl, &id, &err);
    xfrm_sa_wipe(&sa);
    return 1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_all_algorithms, flush),
        cmocka_unit_test_setup(test_esn_replay_lifetimes, flush),
        cmocka_unit_test_setup(test_natt_mark_ifid, flush),
        cmocka_unit_test_setup(test_allocspi_then_update, flush),
        cmocka_unit_test_setup(test_spi_in_use_and_foreign, flush),
        cmocka_unit_test_setup(test_batch, flush),
        cmocka_unit_test_setup(test_events_and_time_expiry, flush),
    };
    struct xfrm_err err;
    int rc;

    nl = xfrm_nl_open(NULL, &err);
    if (!nl) {
        fprintf(stderr, "xfrm_nl_open: %s\n", err.msg);
        return 1;
    }
    if (!esp_available()) {
        xfrm_nl_close(nl);
        if (getenv("MGATE_VM")) {
            fprintf(stderr, "FAIL: the VM kernel cannot install ESP SAs\n");
            return 1;
        }
        printf("SKIP: this kernel has no ESP; run under tests/vm/vm-run\n");
        return 77;
    }
    rc = cmocka_run_group_tests_name("xfrm_vm_sa", tests, NULL, NULL);
    xfrm_nl_close(nl);
    return rc;
}

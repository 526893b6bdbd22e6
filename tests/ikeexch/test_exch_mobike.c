/* MOBIKE (RFC 4555) and NAT changes in the responder's exchanges
 * (ike_exch_mobike.c): IKE_AUTH's path (port 4500 through a NAT) becomes
 * the IKE SA's; MOBIKE_SUPPORTED answered only when offered;
 * UPDATE_SA_ADDRESSES from a new port (a move asked of the daemon) and from
 * a new address (a return routability check first), NAT detection
 * recomputed for the new path and answered, COOKIE2 echoed; the gateway's
 * check and its answer (right and wrong COOKIE2). Bad cases: UPDATE without
 * MOBIKE negotiated, COOKIE2 of a wrong length, NO_NATS_ALLOWED through a
 * NAT, an update that fails the integrity check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ike_exch_int.h"
#include "ike_msg_wr.h"
#include "ike_payload_wr.h"
#include "log.h"
#include "ti.h"

static struct fx F;
static struct devs D;
static uint8_t plain[65536];

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
    struct sockaddr_in *s = (struct sockaddr_in *)ss;
    memset(ss, 0, sizeof(*ss));
    s->sin_family = AF_INET;
    s->sin_port = htons(port);
    assert_int_equal(inet_pton(AF_INET, ip, &s->sin_addr), 1);
}

static bool same(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    return memcmp(a, b, sizeof(struct sockaddr_in)) == 0;
}

/* An established SA, as the daemon has it once the kernel took the CHILD SA. */
static struct ike_sa *established(struct ti *t, bool mobike)
{
    struct ti_auth_result r;
    struct ike_sa *sa;
    struct ti_auth_opts o = {.cred = &D.ec, .no_mobike = !mobike};
    ti_init(t, "aes128gcm16-prfsha256-ecp256");
    assert_int_equal(handshake(&F, t, &o, &sa, &r), IKE_EXCH_INSTALL);
    assert_int_equal(ti_has_notify(&r, IKE_N_MOBIKE_SUPPORTED), mobike);
    assert_int_equal(sa->mobike, mobike);
    sa->state = IKE_SA_ESTABLISHED;
    sa->child->installed = true;
    return sa;
}

static void end(struct ti *t, struct ike_sa *sa)
{
    if (sa->vip.s_addr)
        lease_pool_release(F.pool, sa->peer_subject);
    ike_sa_free(sa);
    ti_fini(t);
}

/* What the device puts into its request. */
struct upd {
    struct ti *t;
    bool update;
    struct sockaddr_storage dev_seen, gw_seen; /* the addresses it hashes */
    bool natd;
    size_t cookie2_len; /* 0: none */
    bool no_nats;
    struct sockaddr_storage nn_src, nn_dst;
    bool additional;
};

static void fill_upd(struct ike_wr *w, void *arg)
{
    struct upd *u = arg;
    if (u->update)
        ike_wr_notify(w, 0, IKE_N_UPDATE_SA_ADDRESSES, NULL, 0, NULL, 0);
    if (u->natd) {
        uint8_t hs[EXCH_NATD_LEN], hd[EXCH_NATD_LEN];
        assert_int_equal(exch_natd_hash(u->t->spi_i, u->t->spi_r, &u->dev_seen, hs), 0);
        assert_int_equal(exch_natd_hash(u->t->spi_i, u->t->spi_r, &u->gw_seen, hd), 0);
        ike_wr_notify(w, 0, IKE_N_NAT_DETECTION_SOURCE_IP, NULL, 0, hs, sizeof(hs));
        ike_wr_notify(w, 0, IKE_N_NAT_DETECTION_DESTINATION_IP, NULL, 0, hd, sizeof(hd));
    }
    if (u->cookie2_len) {
        uint8_t c[64];
        memset(c, 0xc2, sizeof(c));
        ike_wr_notify(w, 0, IKE_N_COOKIE2, NULL, 0, c, u->cookie2_len);
    }
    if (u->no_nats) {
        uint8_t d[12];
        const struct sockaddr_in *s = (const void *)&u->nn_src, *g = (const void *)&u->nn_dst;
        memcpy(d, &s->sin_addr, 4);
        memcpy(d + 4, &g->sin_addr, 4);
        memcpy(d + 8, &s->sin_port, 2);
        memcpy(d + 10, &g->sin_port, 2);
        ike_wr_notify(w, 0, IKE_N_NO_NATS_ALLOWED, NULL, 0, d, sizeof(d));
    }
    if (u->additional) {
        uint8_t a[4] = {203, 0, 113, 9};
        ike_wr_notify(w, 0, IKE_N_ADDITIONAL_IP4_ADDRESS, NULL, 0, a, 4);
    }
}

/* Sends the request from `from` to the gateway at `to`; the response's
 * inner chain into m (m->inner.n 0 when none). */
static enum ike_exch_result send_from(struct ti *t, struct ike_sa *sa, struct upd *u,
                                      const struct sockaddr_storage *from,
                                      const struct sockaddr_storage *to, bool tamper,
                                      struct ike_msg *m)
{
    size_t len;
    struct ike_tx tx = {0};
    struct ike_msg req_m;
    struct ike_error e;
    uint8_t *req = ti_request(t, IKE_EXCH_INFORMATIONAL, fill_upd, u, &len);
    if (tamper)
        req[len - 1] ^= 0x01; /* the ICV */
    struct ike_rx rx = {.buf = req, .len = len, .natt_port = true, .now_ms = 5000};
    rx.local = *to;
    rx.remote = *from;
    assert_int_equal(ike_msg_parse(&req_m, req, len, &e), IKE_OK);
    enum ike_exch_result res = ike_exch_request(&F.env, sa, &rx, &req_m, &tx);
    m->inner.n = 0;
    if (tx.buf)
        assert_int_equal(ti_open(t, tx.buf, tx.len, true, m, plain), 0);
    free(tx.buf);
    free(req);
    return res;
}

static bool has(const struct ike_msg *m, uint16_t type, struct ike_notify *n)
{
    return ike_chain_find_notify(&m->inner, type, n) != NULL;
}

static void test_mobike_supported(void **state)
{
    (void)state;
    struct ti t;
    struct ike_sa *sa = established(&t, true);
    end(&t, sa);
    sa = established(&t, false);
    end(&t, sa);
}

static void test_update_new_port(void **state)
{
    (void)state;
    struct ti t;
    struct ike_msg m;
    struct ike_notify n;
    struct ike_sa *sa = established(&t, true);
    struct sockaddr_storage gw, dev, orig = sa->remote;
    /* The device's NAT gave it a new port; it believes it is 10.0.0.5. */
    addr4(&gw, "192.0.2.1", 4500);
    addr4(&dev, "198.51.100.7", 31001);
    struct upd u = {.t = &t, .update = true, .natd = true, .cookie2_len = 16, .additional = true};
    addr4(&u.dev_seen, "10.0.0.5", 4500);
    u.gw_seen = gw;
    assert_int_equal(send_from(&t, sa, &u, &dev, &gw, false, &m), IKE_EXCH_REPLY);
    assert_true(sa->move_wanted);
    assert_false(sa->move_rr_needed);
    assert_true(same(&sa->move->remote, &dev));
    assert_true(same(&sa->move->local, &gw));
    assert_true(sa->move_peer_nat);
    assert_false(sa->move_self_nat);
    assert_true(same(&sa->remote, &orig)); /* the daemon moves it, after the kernel */
    /* COOKIE2 echoed byte for byte; NAT detection answered for the path. */
    assert_true(has(&m, IKE_N_COOKIE2, &n));
    assert_int_equal(n.data.len, 16);
    assert_int_equal(n.data.ptr[0], 0xc2);
    assert_true(has(&m, IKE_N_NAT_DETECTION_SOURCE_IP, &n));
    uint8_t h[EXCH_NATD_LEN];
    assert_int_equal(exch_natd_hash(t.spi_i, t.spi_r, &gw, h), 0);
    assert_memory_equal(n.data.ptr, h, EXCH_NATD_LEN);
    assert_true(has(&m, IKE_N_NAT_DETECTION_DESTINATION_IP, &n));
    assert_int_equal(exch_natd_hash(t.spi_i, t.spi_r, &dev, h), 0);
    assert_memory_equal(n.data.ptr, h, EXCH_NATD_LEN);
    assert_false(has(&m, IKE_N_UNACCEPTABLE_ADDRESSES, &n));
    end(&t, sa);
}

static void fill_cookie2(struct ike_wr *w, void *arg)
{
    const uint8_t *c = arg;
    ike_wr_notify(w, 0, IKE_N_COOKIE2, NULL, 0, c, 16);
}

/* The gateway's check reaches the device's new address; its answer. */
static int answer_check(struct ti *t, struct ike_sa *sa, bool right_cookie)
{
    struct ike_tx tx = {0};
    struct ike_msg m, rm;
    struct ike_notify n;
    struct ike_error e;
    assert_int_equal(ike_exch_rr_request(&F.env, sa, false, &tx), 0);
    assert_int_equal(ti_open(t, tx.buf, tx.len, false, &m, plain), 0);
    assert_int_equal(m.hdr.exchange, IKE_EXCH_INFORMATIONAL);
    assert_int_equal(m.hdr.msgid, sa->rr_msgid);
    assert_true(has(&m, IKE_N_COOKIE2, &n));
    assert_int_equal(n.data.len, 16);
    uint8_t c[16];
    memcpy(c, n.data.ptr, 16);
    if (!right_cookie)
        c[3] ^= 0x40;
    /* A resend is the same request. */
    struct ike_tx tx2 = {0};
    assert_int_equal(ike_exch_rr_request(&F.env, sa, true, &tx2), 0);
    assert_int_equal(ti_open(t, tx2.buf, tx2.len, false, &m, plain), 0);
    assert_int_equal(m.hdr.msgid, sa->rr_msgid);
    free(tx2.buf);
    size_t len;
    uint8_t *resp =
        ti_response_with(t, IKE_EXCH_INFORMATIONAL, sa->rr_msgid, fill_cookie2, c, &len);
    struct ike_rx rx = {.buf = resp, .len = len, .natt_port = true, .now_ms = 6000};
    rx.local = sa->move->local;
    rx.remote = sa->move->remote;
    assert_int_equal(ike_msg_parse(&rm, resp, len, &e), IKE_OK);
    int rc = ike_exch_response(&F.env, sa, &rx, &rm);
    free(resp);
    free(tx.buf);
    return rc;
}

static void test_update_new_address(void **state)
{
    (void)state;
    struct ti t;
    struct ike_msg m;
    struct ike_notify n;
    struct ike_sa *sa = established(&t, true);
    struct sockaddr_storage gw, dev;
    /* The device moved to its second link, no NAT there. */
    addr4(&gw, "192.0.2.1", 4500);
    addr4(&dev, "203.0.113.20", 4500);
    struct upd u = {.t = &t, .update = true, .natd = true};
    u.dev_seen = dev;
    u.gw_seen = gw;
    assert_int_equal(send_from(&t, sa, &u, &dev, &gw, false, &m), IKE_EXCH_REPLY);
    assert_false(sa->move_wanted);
    assert_true(sa->move_rr_needed);
    assert_false(sa->move_peer_nat || sa->move_self_nat);
    assert_false(has(&m, IKE_N_COOKIE2, &n));

    /* The check answered with another COOKIE2: authentic, but no move. */
    sa->rr_pending = true; /* the daemon's doing when it sends the check */
    assert_int_equal(answer_check(&t, sa, false), 0);
    assert_false(sa->rr_ok);
    /* Answered with ours: the move may go ahead. */
    assert_int_equal(answer_check(&t, sa, true), 0);
    assert_true(sa->rr_ok);
    end(&t, sa);
}

static void test_bad_updates(void **state)
{
    (void)state;
    struct ti t;
    struct ike_msg m;
    struct ike_notify n;
    struct sockaddr_storage gw, dev;
    addr4(&gw, "192.0.2.1", 4500);
    addr4(&dev, "203.0.113.20", 4500);

    /* Without MOBIKE negotiated: answered, ignored. */
    struct ike_sa *sa = established(&t, false);
    struct upd u = {.t = &t, .update = true, .natd = true, .cookie2_len = 16};
    u.dev_seen = dev;
    u.gw_seen = gw;
    cap_begin();
    assert_int_equal(send_from(&t, sa, &u, &dev, &gw, false, &m), IKE_EXCH_REPLY);
    assert_non_null(strstr(cap_end(), "MOBIKE was not negotiated"));
    assert_false(sa->move_wanted || sa->move_rr_needed);
    assert_false(has(&m, IKE_N_COOKIE2, &n));
    end(&t, sa);

    sa = established(&t, true);
    u.t = &t;
    /* COOKIE2 of 4 octets (RFC 4555 §4.8: 8..64): INVALID_SYNTAX. */
    u.cookie2_len = 4;
    assert_int_equal(send_from(&t, sa, &u, &dev, &gw, false, &m), IKE_EXCH_REPLY);
    assert_true(has(&m, IKE_N_INVALID_SYNTAX, &n));
    assert_false(sa->move_wanted || sa->move_rr_needed);

    /* A forged or damaged update: dropped, nothing moves. */
    u.cookie2_len = 0;
    uint32_t next = sa->next_msgid;
    assert_int_equal(send_from(&t, sa, &u, &dev, &gw, true, &m), IKE_EXCH_DROP);
    assert_false(sa->move_wanted || sa->move_rr_needed);
    assert_int_equal(sa->next_msgid, next);
    t.msgid--; /* the responder never took it */

    /* NO_NATS_ALLOWED naming other addresses than arrived: refused. */
    u.no_nats = true;
    addr4(&u.nn_src, "10.0.0.5", 4500);
    u.nn_dst = gw;
    assert_int_equal(send_from(&t, sa, &u, &dev, &gw, false, &m), IKE_EXCH_REPLY);
    assert_true(has(&m, IKE_N_UNACCEPTABLE_ADDRESSES, &n));
    assert_false(sa->move_wanted || sa->move_rr_needed);
    /* ...and the same with the true ones: accepted. */
    u.nn_src = dev;
    assert_int_equal(send_from(&t, sa, &u, &dev, &gw, false, &m), IKE_EXCH_REPLY);
    assert_false(has(&m, IKE_N_UNACCEPTABLE_ADDRESSES, &n));
    assert_true(sa->move_rr_needed);

    /* A response to a check that is not pending does nothing. */
    sa->rr_pending = false;
    assert_int_equal(answer_check(&t, sa, true), 0);
    assert_false(sa->rr_ok);
    end(&t, sa);
}

/* RFC 7296 §2.23: behind a NAT, IKE_AUTH comes to port 4500 through a NAT
 * mapping of its own; the IKE SA (and so the CHILD SA's encapsulation)
 * takes it, not IKE_SA_INIT's. */
static void test_auth_takes_its_path(void **state)
{
    (void)state;
    struct ti t;
    struct ike_sa *sa;
    struct ike_tx tx = {0};
    struct ike_msg m;
    struct ike_error e;
    struct ti_auth_opts o = {.cred = &D.ec};
    size_t len;
    ti_init(&t, "aes128gcm16-prfsha256-ecp256");
    inet_pton(AF_INET, "10.0.0.5", &((struct sockaddr_in *)&t.my_addr)->sin_addr);
    uint8_t *req = ti_sa_init(&t, &len);
    assert_int_equal(drive_sa_init(&F, &t, req, len, false, &sa, &tx), IKE_EXCH_REPLY);
    free(req);
    assert_true(sa->natt);
    assert_true(sa->peer_behind_nat);
    assert_false(sa->self_behind_nat);
    assert_int_equal(ti_sa_init_response(&t, &F, tx.buf, tx.len), 0);
    free(tx.buf);
    struct sockaddr_storage gw, dev;
    addr4(&gw, "192.0.2.1", 4500);
    addr4(&dev, "198.51.100.7", 40002);
    req = ti_auth(&t, &F, &o, &len);
    struct ike_rx rx = {.buf = req, .len = len, .natt_port = true, .now_ms = 2000};
    rx.local = gw;
    rx.remote = dev;
    assert_int_equal(ike_msg_parse(&m, req, len, &e), IKE_OK);
    assert_int_equal(ike_exch_request(&F.env, sa, &rx, &m, &tx), IKE_EXCH_INSTALL);
    assert_true(same(&sa->remote, &dev));
    assert_true(same(&sa->local, &gw));
    free(tx.buf);
    free(req);
    end(&t, sa);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auth_takes_its_path), cmocka_unit_test(test_mobike_supported),
        cmocka_unit_test(test_update_new_port),     cmocka_unit_test(test_update_new_address),
        cmocka_unit_test(test_bad_updates),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

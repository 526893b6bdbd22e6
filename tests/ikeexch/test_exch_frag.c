/* RFC 7383 in the responder: IKEV2_FRAGMENTATION_SUPPORTED answered;
 * IKE_AUTH requests reassembled from SKF fragments in order, out of order,
 * with duplicates, forged fragments, a Total Fragments that changes, too
 * many fragments, too many octets, an exhausted budget, a newer message
 * and a timeout; our messages cut at fragment_size (every fragment within
 * it, the set decrypting to the original), the IKE_AUTH response with an
 * RSA certificate sent in fragments that a device puts back together and
 * verifies, and the cached response being that same set. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ike_frag.h"
#include "ike_msg_wr.h"
#include "log.h"
#include "ti.h"

#define GCM_SUITE "aes128gcm16-prfsha256-ecp256"
#define CBC_SUITE "aes256-sha384-modp2048"

static struct fx F;
static struct devs D;

static int setup(void **state)
{
    (void)state;
    log_init("ikefrag", LOG_INFO);
    fx_init(&F, "10.97.0.0/24");
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

/* IKE_SA_INIT only: the SA waits for IKE_AUTH. */
static struct ike_sa *init_only(struct ti *t, const char *suite)
{
    size_t len = 0;
    struct ike_tx tx = {0};
    struct ike_sa *sa = NULL;
    ti_init(t, suite);
    uint8_t *req = ti_sa_init(t, &len);
    assert_int_equal(drive_sa_init(&F, t, req, len, false, &sa, &tx), IKE_EXCH_REPLY);
    assert_non_null(sa);
    assert_int_equal(ti_sa_init_response(t, &F, tx.buf, tx.len), 0);
    free(req);
    free(tx.buf);
    return sa;
}

/* The IKE_AUTH request of the RSA device cut at `chunk` plaintext octets. */
static size_t auth_frags(struct ti *t, size_t chunk, uint8_t ***fr, size_t **fl)
{
    struct ti_auth_opts o = {.cred = &D.rsa};
    size_t len = 0;
    uint8_t *req = ti_auth(t, &F, &o, &len);
    size_t n = ti_fragment(t, req, len, chunk, fr, fl);
    free(req);
    return n;
}

static enum ike_exch_result drive(struct ike_sa *sa, const uint8_t *buf, size_t len,
                                  struct ike_tx *tx)
{
    free(tx->buf);
    tx->buf = NULL;
    tx->len = 0;
    return drive_request(&F, sa, buf, len, tx);
}

/* The device accepts the answer that completed the handshake. */
static void check_accepted(struct ti *t, const struct ike_tx *tx)
{
    struct ti_auth_result r;
    assert_int_equal(ti_auth_response(t, &F, tx->buf, tx->len, &r), 0);
    assert_true(r.has_idr && r.cert_ok && r.id_ok && r.auth_ok);
    assert_true(r.has_sa);
}

static void finish(struct ti *t, struct ike_sa *sa, struct ike_tx *tx)
{
    free(tx->buf);
    tx->buf = NULL;
    ike_sa_free(sa);
    ti_fini(t);
    /* Every reassembly octet went back to the budget. */
    assert_int_equal(atomic_load(&F.frag.used), 0);
}

static void test_announced(void **state)
{
    (void)state;
    struct ti t;
    struct ike_sa *sa = init_only(&t, GCM_SUITE);
    assert_true(t.got_frag);
    assert_true(sa->peer_fragmentation);
    ike_sa_free(sa);
    ti_fini(&t);

    /* Not to a peer that did not announce it; nor without a budget. */
    ti_init(&t, GCM_SUITE);
    t.no_frag = true;
    size_t len = 0;
    struct ike_tx tx = {0};
    uint8_t *req = ti_sa_init(&t, &len);
    assert_int_equal(drive_sa_init(&F, &t, req, len, false, &sa, &tx), IKE_EXCH_REPLY);
    assert_int_equal(ti_sa_init_response(&t, &F, tx.buf, tx.len), 0);
    assert_false(t.got_frag);
    assert_false(sa->peer_fragmentation);
    /* Its fragments are dropped: fragmentation was not negotiated. */
    uint8_t junk[40] = {0};
    size_t fl = 0;
    uint8_t *f1 = ti_skf(&t, IKE_EXCH_IKE_AUTH, IKE_FLAG_INITIATOR, 1, 1, 2, IKE_PL_IDI, junk,
                         sizeof(junk), &fl);
    struct ike_tx tx2 = {0};
    assert_int_equal(drive(sa, f1, fl, &tx2), IKE_EXCH_DROP);
    assert_null(sa->frag_rx);
    free(f1);
    free(req);
    free(tx.buf);
    finish(&t, sa, &tx2);

    struct ike_frag_budget *saved = F.env.frag;
    F.env.frag = NULL;
    ti_init(&t, GCM_SUITE);
    req = ti_sa_init(&t, &len);
    assert_int_equal(drive_sa_init(&F, &t, req, len, false, &sa, &tx), IKE_EXCH_REPLY);
    assert_int_equal(ti_sa_init_response(&t, &F, tx.buf, tx.len), 0);
    assert_false(t.got_frag);
    assert_false(sa->peer_fragmentation);
    F.env.frag = saved;
    free(req);
    finish(&t, sa, &tx);
}

static void test_in_order(void **state)
{
    (void)state;
    const char *suites[] = {GCM_SUITE, CBC_SUITE};
    for (size_t s = 0; s < 2; s++) {
        struct ti t;
        struct ike_sa *sa = init_only(&t, suites[s]);
        uint8_t **fr;
        size_t *fl;
        size_t n = auth_frags(&t, 300, &fr, &fl);
        assert_true(n >= 4);
        struct ike_tx tx = {0};
        for (size_t i = 0; i + 1 < n; i++) {
            assert_int_equal(drive(sa, fr[i], fl[i], &tx), IKE_EXCH_FRAGMENT);
            assert_null(tx.buf);
            assert_non_null(sa->frag_rx);
            assert_int_equal(sa->frag_rx->have, i + 1);
        }
        assert_true(atomic_load(&F.frag.used) > 0);
        assert_int_equal(drive(sa, fr[n - 1], fl[n - 1], &tx), IKE_EXCH_INSTALL);
        assert_null(sa->frag_rx);
        assert_int_equal(atomic_load(&F.frag.used), 0);
        check_accepted(&t, &tx);
        ti_frags_free(fr, fl, n);
        finish(&t, sa, &tx);
    }
}

static void test_out_of_order(void **state)
{
    (void)state;
    const char *suites[] = {GCM_SUITE, CBC_SUITE};
    for (size_t s = 0; s < 2; s++) {
        struct ti t;
        struct ike_sa *sa = init_only(&t, suites[s]);
        uint8_t **fr;
        size_t *fl;
        size_t n = auth_frags(&t, 250, &fr, &fl);
        struct ike_tx tx = {0};
        /* Last first, then the odd ones, then the even ones. */
        assert_int_equal(drive(sa, fr[n - 1], fl[n - 1], &tx), IKE_EXCH_FRAGMENT);
        size_t sent = 1;
        for (int pass = 0; pass < 2; pass++)
            for (size_t i = (size_t)pass; i + 1 < n; i += 2) {
                enum ike_exch_result want = ++sent == n ? IKE_EXCH_INSTALL : IKE_EXCH_FRAGMENT;
                assert_int_equal(drive(sa, fr[i], fl[i], &tx), want);
            }
        check_accepted(&t, &tx);
        ti_frags_free(fr, fl, n);
        finish(&t, sa, &tx);
    }
}

static void test_duplicate(void **state)
{
    (void)state;
    struct ti t;
    struct ike_sa *sa = init_only(&t, GCM_SUITE);
    uint8_t **fr;
    size_t *fl;
    size_t n = auth_frags(&t, 300, &fr, &fl);
    struct ike_tx tx = {0};
    assert_int_equal(drive(sa, fr[0], fl[0], &tx), IKE_EXCH_FRAGMENT);
    size_t used = atomic_load(&F.frag.used);
    assert_int_equal(drive(sa, fr[0], fl[0], &tx), IKE_EXCH_DROP);
    assert_int_equal(sa->frag_rx->have, 1);
    assert_int_equal(atomic_load(&F.frag.used), used); /* nothing more kept */
    assert_int_equal(drive(sa, fr[1], fl[1], &tx), IKE_EXCH_FRAGMENT);
    assert_int_equal(drive(sa, fr[1], fl[1], &tx), IKE_EXCH_DROP);
    for (size_t i = 2; i < n; i++)
        assert_int_equal(drive(sa, fr[i], fl[i], &tx),
                         i + 1 == n ? IKE_EXCH_INSTALL : IKE_EXCH_FRAGMENT);
    check_accepted(&t, &tx);
    ti_frags_free(fr, fl, n);
    finish(&t, sa, &tx);
}

static void test_bad_integrity(void **state)
{
    (void)state;
    struct ti t;
    struct ike_sa *sa = init_only(&t, CBC_SUITE);
    uint8_t **fr;
    size_t *fl;
    size_t n = auth_frags(&t, 300, &fr, &fl);
    struct ike_tx tx = {0};
    uint8_t *bad = malloc(fl[0]);

    /* A forged first fragment leaves no state at all. */
    memcpy(bad, fr[0], fl[0]);
    bad[fl[0] - 1] ^= 0x01; /* ICV */
    assert_int_equal(drive(sa, bad, fl[0], &tx), IKE_EXCH_DROP);
    assert_null(sa->frag_rx);
    assert_int_equal(atomic_load(&F.frag.used), 0);

    assert_int_equal(drive(sa, fr[0], fl[0], &tx), IKE_EXCH_FRAGMENT);
    /* A forged fragment 2 (body, then Total Fragments, which integrity
     * covers) is not kept and does not end the set. */
    bad = realloc(bad, fl[1]);
    memcpy(bad, fr[1], fl[1]);
    bad[fl[1] / 2] ^= 0x80;
    assert_int_equal(drive(sa, bad, fl[1], &tx), IKE_EXCH_DROP);
    memcpy(bad, fr[1], fl[1]);
    bad[IKE_HDR_LEN + 7] = (uint8_t)(n + 1); /* Total Fragments, low octet */
    assert_int_equal(drive(sa, bad, fl[1], &tx), IKE_EXCH_DROP);
    assert_int_equal(sa->frag_rx->have, 1);
    assert_int_equal(sa->frag_rx->total, n);
    for (size_t i = 1; i < n; i++)
        assert_int_equal(drive(sa, fr[i], fl[i], &tx),
                         i + 1 == n ? IKE_EXCH_INSTALL : IKE_EXCH_FRAGMENT);
    check_accepted(&t, &tx);
    free(bad);
    ti_frags_free(fr, fl, n);
    finish(&t, sa, &tx);
}

static void test_total_changes(void **state)
{
    (void)state;
    struct ti t;
    struct ike_sa *sa = init_only(&t, GCM_SUITE);
    struct ti_auth_opts o = {.cred = &D.rsa};
    size_t len = 0;
    uint8_t *req = ti_auth(&t, &F, &o, &len);
    uint8_t **a, **b;
    size_t *al, *bl;
    size_t na = ti_fragment(&t, req, len, 600, &a, &al);
    size_t nb = ti_fragment(&t, req, len, 200, &b, &bl);
    assert_true(nb > na && na >= 2);
    struct ike_tx tx = {0};
    assert_int_equal(drive(sa, a[0], al[0], &tx), IKE_EXCH_FRAGMENT);
    assert_int_equal(sa->frag_rx->total, na);
    /* The peer resent in smaller fragments: the larger total wins. */
    assert_int_equal(drive(sa, b[1], bl[1], &tx), IKE_EXCH_FRAGMENT);
    assert_int_equal(sa->frag_rx->total, nb);
    assert_int_equal(sa->frag_rx->have, 1);
    /* A fragment of the earlier, smaller set is dropped now. */
    assert_int_equal(drive(sa, a[1], al[1], &tx), IKE_EXCH_DROP);
    assert_int_equal(sa->frag_rx->total, nb);
    for (size_t i = 0; i < nb; i++) {
        if (i == 1)
            continue;
        assert_int_equal(drive(sa, b[i], bl[i], &tx),
                         i + 1 == nb ? IKE_EXCH_INSTALL : IKE_EXCH_FRAGMENT);
    }
    check_accepted(&t, &tx);
    free(req);
    ti_frags_free(a, al, na);
    ti_frags_free(b, bl, nb);
    finish(&t, sa, &tx);
}

static void test_limits(void **state)
{
    (void)state;
    struct ti t;
    struct ike_sa *sa = init_only(&t, GCM_SUITE);
    struct ike_tx tx = {0};
    size_t fl = 0;

    /* Too many fragments: refused before any octet is kept. */
    uint8_t **fr;
    size_t *fls;
    size_t n = auth_frags(&t, 8, &fr, &fls);
    assert_true(n > IKE_FRAG_MAX_FRAGS);
    assert_int_equal(drive(sa, fr[0], fls[0], &tx), IKE_EXCH_DROP);
    assert_int_equal(drive(sa, fr[n - 1], fls[n - 1], &tx), IKE_EXCH_DROP);
    assert_null(sa->frag_rx);
    ti_frags_free(fr, fls, n);

    /* More octets than a message may have: the whole set goes. */
    uint8_t *big = calloc(1, 40000);
    uint32_t id = sa->next_msgid;
    uint8_t *f1 =
        ti_skf(&t, IKE_EXCH_IKE_AUTH, IKE_FLAG_INITIATOR, id, 1, 3, IKE_PL_IDI, big, 40000, &fl);
    assert_int_equal(drive(sa, f1, fl, &tx), IKE_EXCH_FRAGMENT);
    assert_int_equal(atomic_load(&F.frag.used), 40000);
    free(f1);
    f1 = ti_skf(&t, IKE_EXCH_IKE_AUTH, IKE_FLAG_INITIATOR, id, 2, 3, IKE_PL_NONE, big, 30000, &fl);
    assert_int_equal(drive(sa, f1, fl, &tx), IKE_EXCH_DROP);
    assert_null(sa->frag_rx);
    assert_int_equal(atomic_load(&F.frag.used), 0);
    free(f1);

    /* The process-wide budget: a fragment that does not fit is dropped,
     * the set stays. */
    size_t max = F.frag.max;
    F.frag.max = 1500;
    f1 = ti_skf(&t, IKE_EXCH_IKE_AUTH, IKE_FLAG_INITIATOR, id, 1, 2, IKE_PL_IDI, big, 1000, &fl);
    assert_int_equal(drive(sa, f1, fl, &tx), IKE_EXCH_FRAGMENT);
    free(f1);
    f1 = ti_skf(&t, IKE_EXCH_IKE_AUTH, IKE_FLAG_INITIATOR, id, 2, 2, IKE_PL_NONE, big, 1000, &fl);
    assert_int_equal(drive(sa, f1, fl, &tx), IKE_EXCH_DROP);
    assert_int_equal(sa->frag_rx->have, 1);
    assert_int_equal(atomic_load(&F.frag.used), 1000);
    F.frag.max = max;
    free(f1);
    free(big);
    finish(&t, sa, &tx);
}

static void test_newer_message_and_timeout(void **state)
{
    (void)state;
    struct ti t;
    struct ike_sa *sa = init_only(&t, GCM_SUITE);
    uint8_t pl[100] = {0};
    struct ike_msg m;
    struct ike_error e;
    const char *why = NULL;
    size_t fl = 0;
    uint8_t *f = ti_skf(&t, IKE_EXCH_INFORMATIONAL, IKE_FLAG_INITIATOR, 5, 1, 2, IKE_PL_NOTIFY, pl,
                        sizeof(pl), &fl);
    assert_int_equal(ike_msg_parse(&m, f, fl, &e), IKE_OK);
    assert_int_equal(ike_frag_receive(&F.frag, sa, &m, 1000, &why), IKE_FRAG_KEPT);
    free(f);
    /* A newer message ID: the incomplete older set is discarded. */
    f = ti_skf(&t, IKE_EXCH_INFORMATIONAL, IKE_FLAG_INITIATOR, 6, 2, 3, IKE_PL_NONE, pl, 50, &fl);
    assert_int_equal(ike_msg_parse(&m, f, fl, &e), IKE_OK);
    assert_int_equal(ike_frag_receive(&F.frag, sa, &m, 2000, &why), IKE_FRAG_KEPT);
    assert_int_equal(sa->frag_rx->msgid, 6);
    assert_int_equal(sa->frag_rx->have, 1);
    assert_int_equal(atomic_load(&F.frag.used), 50);
    free(f);
    /* ... and the older one's fragments are not taken any more. */
    f = ti_skf(&t, IKE_EXCH_INFORMATIONAL, IKE_FLAG_INITIATOR, 5, 2, 2, IKE_PL_NONE, pl, 10, &fl);
    assert_int_equal(ike_msg_parse(&m, f, fl, &e), IKE_OK);
    assert_int_equal(ike_frag_receive(&F.frag, sa, &m, 2000, &why), IKE_FRAG_DROP);
    assert_non_null(strstr(why, "older"));
    free(f);
    /* Nothing complete to take. */
    uint8_t out[256], first = 0;
    size_t olen = 0;
    assert_int_equal(ike_frag_take(sa, out, sizeof(out), &olen, &first), -1);
    /* The timeout counts from the set's first fragment. */
    assert_false(ike_frag_expire(sa, 2000 + IKE_FRAG_TIMEOUT_MS - 1, IKE_FRAG_TIMEOUT_MS));
    assert_non_null(sa->frag_rx);
    assert_true(ike_frag_expire(sa, 2000 + IKE_FRAG_TIMEOUT_MS, IKE_FRAG_TIMEOUT_MS));
    assert_null(sa->frag_rx);
    assert_int_equal(atomic_load(&F.frag.used), 0);
    struct ike_tx tx = {0};
    finish(&t, sa, &tx);
}

/* A completed handshake, so that both sides hold every key. */
static struct ike_sa *established(struct ti *t, const char *suite)
{
    struct ike_sa *sa = NULL;
    struct ti_auth_result r;
    struct ti_auth_opts o = {.cred = &D.ec};
    ti_init(t, suite);
    assert_int_equal(handshake(&F, t, &o, &sa, &r), IKE_EXCH_INSTALL);
    return sa;
}

static void test_split(void **state)
{
    (void)state;
    const char *suites[] = {GCM_SUITE, CBC_SUITE};
    const size_t maxes[] = {120, 300, 544, 1000, 1452};
    const size_t lens[] = {0, 1, 77, 500, 999, 4096, 20000};
    uint8_t *plain = malloc(20000), *back = malloc(65536);
    for (size_t i = 0; i < 20000; i++)
        plain[i] = (uint8_t)(i * 131 + 7);
    for (size_t s = 0; s < 2; s++) {
        struct ti t;
        struct ike_sa *sa = established(&t, suites[s]);
        /* A header as exch_sk_close has it: an INFORMATIONAL response. */
        struct ike_hdr h = {0};
        memcpy(h.ispi, &sa->spi_i, 8);
        memcpy(h.rspi, &sa->spi_r, 8);
        h.exchange = IKE_EXCH_INFORMATIONAL;
        h.flags = IKE_FLAG_RESPONSE;
        h.msgid = 7;
        uint8_t hb[64];
        struct ike_wr w;
        struct ike_span hs;
        ike_wr_init(&w, hb, sizeof(hb));
        ike_wr_header(&w, &h);
        assert_int_equal(ike_wr_finish(&w, &hs), IKE_OK);
        for (size_t mi = 0; mi < sizeof(maxes) / sizeof(maxes[0]); mi++)
            for (size_t li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
                size_t max = maxes[mi], len = lens[li];
                struct ike_tx tx = {0};
                int rc = ike_frag_split(sa, hs.ptr, IKE_HDR_LEN + 4, IKE_PL_NOTIFY, plain, len, max,
                                        &tx);
                /* Plaintext per fragment: never more than what the headers
                 * leave, never less than that minus IV, ICV (24 for SHA-384) and padding. */
                size_t most = max - IKE_HDR_LEN - 8, least = max - IKE_HDR_LEN - 8 - 64;
                if (len > most * IKE_FRAG_MAX_FRAGS) {
                    assert_int_equal(rc, -1);
                    continue;
                }
                if (len <= least * IKE_FRAG_MAX_FRAGS)
                    assert_int_equal(rc, 0);
                if (rc != 0)
                    continue;
                /* Every fragment within max, numbered 1..n of n, with our header. */
                size_t n = 0, off = 0;
                while (off < tx.len) {
                    size_t one = ike_frag_next_msg(tx.buf + off, tx.len - off);
                    struct ike_msg m;
                    struct ike_error e;
                    struct ike_sk sk;
                    assert_true(one <= max);
                    assert_int_equal(ike_msg_parse(&m, tx.buf + off, one, &e), IKE_OK);
                    assert_int_equal(ike_pl_sk(&m, m.sk, &sk, &e), IKE_OK);
                    assert_int_equal(m.sk->type, IKE_PL_SKF);
                    assert_int_equal(sk.frag_num, n + 1);
                    assert_int_equal(m.hdr.msgid, 7);
                    assert_int_equal(m.hdr.flags, IKE_FLAG_RESPONSE);
                    assert_int_equal(m.hdr.exchange, IKE_EXCH_INFORMATIONAL);
                    n++;
                    off += one;
                }
                assert_int_equal(off, tx.len);
                size_t blen = 0, nf = 0;
                uint8_t first = 0;
                assert_int_equal(ti_unfragment(&t, tx.buf, tx.len, back, 65536, &blen, &first, &nf),
                                 0);
                assert_int_equal(nf, n);
                assert_int_equal(blen, len);
                assert_memory_equal(back, plain, len);
                assert_int_equal(first, IKE_PL_NOTIFY);
                /* No more fragments than needed: all but the last are full. */
                if (n > 1)
                    assert_true(ike_frag_next_msg(tx.buf, tx.len) > max - 32);
                free(tx.buf);
            }
        struct ike_tx none = {0};
        finish(&t, sa, &none);
    }
    /* Too small to carry anything: refused. */
    struct ti t;
    struct ike_sa *sa = established(&t, GCM_SUITE);
    struct ike_tx tx = {0};
    uint8_t hb[IKE_HDR_LEN] = {0};
    memcpy(hb, &sa->spi_i, 8);
    memcpy(hb + 8, &sa->spi_r, 8);
    hb[17] = 0x20;
    hb[18] = IKE_EXCH_INFORMATIONAL;
    hb[27] = IKE_HDR_LEN;
    assert_int_equal(ike_frag_split(sa, hb, IKE_HDR_LEN + 4, IKE_PL_NOTIFY, plain, 10, 60, &tx),
                     -1);
    free(plain);
    free(back);
    finish(&t, sa, &tx);
}

/* The IKE_AUTH response with the gateway's RSA certificate, to a device
 * that announced fragmentation, at fragment_size 576. */
static void test_auth_response_fragmented(void **state)
{
    (void)state;
    F.set.fragment_size = 576;
    F.env.own = F.own_rsa;
    for (int announce = 1; announce >= 0; announce--) {
        struct ti t;
        size_t len = 0;
        struct ike_tx tx = {0};
        struct ike_sa *sa = NULL;
        ti_init(&t, GCM_SUITE);
        t.no_frag = !announce;
        uint8_t *req = ti_sa_init(&t, &len);
        assert_int_equal(drive_sa_init(&F, &t, req, len, false, &sa, &tx), IKE_EXCH_REPLY);
        assert_int_equal(ti_sa_init_response(&t, &F, tx.buf, tx.len), 0);
        free(req);
        assert_int_equal(sa->frag_max, announce ? 576 - 20 - 8 - 4 : 0);
        struct ti_auth_opts o = {.cred = &D.ec};
        req = ti_auth(&t, &F, &o, &len);
        assert_int_equal(drive(sa, req, len, &tx), IKE_EXCH_INSTALL);
        free(req);
        size_t n = 0;
        for (size_t off = 0; off < tx.len; n++) {
            size_t one = ike_frag_next_msg(tx.buf + off, tx.len - off);
            if (announce) {
                assert_true(one <= 544);
                assert_true(ike_frag_peek(tx.buf + off, one, NULL));
            }
            off += one;
        }
        if (announce)
            assert_true(n >= 3); /* an RSA-2048 certificate and signature */
        else
            assert_int_equal(n, 1); /* whole, however large */
        check_accepted(&t, &tx);
        /* The retransmission cache holds exactly the set that went out. */
        assert_int_equal(sa->last_resp_len, tx.len);
        assert_memory_equal(sa->last_resp, tx.buf, tx.len);
        finish(&t, sa, &tx);
    }
    F.set.fragment_size = 0;
    F.env.own = F.own_ec;
}

static void test_wait_queue(void **state)
{
    (void)state;
    struct ike_frag_wait *q = NULL;
    struct sockaddr_storage gw, dev;
    ti_default_addrs(&gw, &dev);
    uint8_t d[100];
    for (unsigned i = 0; i < IKE_FRAG_MAX_FRAGS; i++) {
        memset(d, (int)i, sizeof(d));
        assert_int_equal(ike_frag_wait_push(&q, &F.frag, d, sizeof(d), &gw, &dev, i & 1), 0);
    }
    assert_int_equal(ike_frag_wait_push(&q, &F.frag, d, sizeof(d), &gw, &dev, false), -1);
    assert_int_equal(atomic_load(&F.frag.used), IKE_FRAG_MAX_FRAGS * sizeof(d));
    for (unsigned i = 0; i < 3; i++) {
        struct ike_frag_pending *p = ike_frag_wait_pop(q);
        assert_non_null(p);
        assert_int_equal(p->buf[0], i); /* in arrival order */
        assert_int_equal(p->natt_port, i & 1);
        free(p);
    }
    ike_frag_wait_free(q);
    assert_int_equal(atomic_load(&F.frag.used), 0);
    assert_int_equal(ike_frag_wait_push(&q, NULL, d, sizeof(d), &gw, &dev, false), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_announced),     cmocka_unit_test(test_in_order),
        cmocka_unit_test(test_out_of_order),  cmocka_unit_test(test_duplicate),
        cmocka_unit_test(test_bad_integrity), cmocka_unit_test(test_total_changes),
        cmocka_unit_test(test_limits),        cmocka_unit_test(test_newer_message_and_timeout),
        cmocka_unit_test(test_split),         cmocka_unit_test(test_auth_response_fragmented),
        cmocka_unit_test(test_wait_queue),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

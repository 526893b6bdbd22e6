/* The responder's exchanges when something is wrong: INVALID_KE_PAYLOAD
 * (and the retry), no acceptable proposal, tampered SK payloads, every
 * kind of failed authentication, selectors with nothing in common, an
 * exhausted pool, malformed IKE_SA_INIT requests, and truncated, flipped
 * and random input (each buffer a heap copy of its exact size, so ASan
 * sees any overread). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ike_msg_wr.h"
#include "ike_payload_wr.h"
#include "ike_sk.h"
#include "log.h"
#include "ti.h"

static struct fx F;
static struct devs D;

static int setup(void **state)
{
    (void)state;
    log_init("ikeexch", LOG_INFO);
    fx_init(&F, "10.99.0.0/24");
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

static void end_sa(struct ike_sa *sa)
{
    if (sa && sa->vip.s_addr && sa->peer_subject)
        lease_pool_release(F.env.leases, sa->peer_subject);
    ike_sa_free(sa);
}

static uint8_t *dup_exact(const uint8_t *p, size_t len)
{
    uint8_t *c = malloc(len ? len : 1);
    memcpy(c, p, len);
    return c;
}

/* IKE_SA_INIT done on both sides; returns the half-open SA. */
static struct ike_sa *half_open(struct ti *t, const char *prop)
{
    struct ike_sa *sa = NULL;
    struct ike_tx tx;
    size_t len;
    ti_init(t, prop);
    uint8_t *req = ti_sa_init(t, &len);
    assert_int_equal(drive_sa_init(&F, t, req, len, false, &sa, &tx), IKE_EXCH_REPLY);
    assert_non_null(sa);
    assert_int_equal(ti_sa_init_response(t, &F, tx.buf, tx.len), 0);
    free(req);
    free(tx.buf);
    return sa;
}

static void test_invalid_ke(void **state)
{
    (void)state;
    struct ti t;
    struct ike_sa *sa = (struct ike_sa *)1;
    struct ike_tx tx;
    size_t len;
    /* Offers ECP-256 but guesses X25519 in its KE payload. */
    ti_init(&t, "aes128gcm16-prfsha256-ecp256");
    t.ke_group = IKE_GROUP_CURVE25519;
    uint8_t *req = ti_sa_init(&t, &len);
    cap_begin();
    assert_int_equal(drive_sa_init(&F, &t, req, len, false, &sa, &tx), IKE_EXCH_REPLY);
    const char *log = cap_end();
    assert_int_equal(count_lines(log), 1);
    assert_non_null(strstr(log, "INVALID_KE_PAYLOAD"));
    assert_null(sa); /* no state kept */
    assert_int_equal(ti_sa_init_response(&t, &F, tx.buf, tx.len), 1);
    assert_int_equal(t.init_notify, IKE_N_INVALID_KE_PAYLOAD);
    assert_int_equal(t.init_notify_group, IKE_GROUP_ECP_256);
    struct ike_msg m;
    struct ike_error e;
    assert_int_equal(ike_msg_parse(&m, tx.buf, tx.len, &e), IKE_OK);
    static const uint8_t zero[8];
    assert_memory_equal(m.hdr.rspi, zero, 8);
    assert_int_equal(m.outer.n, 1);
    free(req);
    free(tx.buf);

    /* The retry with the group asked for completes. */
    t.ke_group = t.init_notify_group;
    struct ti_auth_result r;
    struct ti_auth_opts o = {.cred = &D.ec};
    assert_int_equal(handshake(&F, &t, &o, &sa, &r), IKE_EXCH_INSTALL);
    assert_true(r.auth_ok);
    assert_memory_equal(sa->child->enc_key_in, r.child.encr_i, r.child.encr_len);
    end_sa(sa);
    ti_fini(&t);
}

static void test_no_proposal(void **state)
{
    (void)state;
    struct ti t;
    struct ike_sa *sa;
    struct ike_tx tx;
    size_t len;
    /* AES-CBC-128 / HMAC-SHA1 / MODP-1024, then AES-GCM-192: nothing of ours. */
    ti_init(&t, "aes128gcm16-prfsha256-modp2048");
    t.props[0] = (ike_suite){IKE_ENCR_AES_CBC, 128, IKE_AUTH_HMAC_SHA1_96, IKE_PRF_HMAC_SHA1, 2};
    t.props[1] = (ike_suite){IKE_ENCR_AES_GCM_16, 192, 0, IKE_PRF_HMAC_SHA2_256, 14};
    t.n_props = 2;
    uint8_t *req = ti_sa_init(&t, &len);
    cap_begin();
    assert_int_equal(drive_sa_init(&F, &t, req, len, false, &sa, &tx), IKE_EXCH_REPLY);
    const char *log = cap_end();
    assert_int_equal(count_lines(log), 1);
    assert_non_null(strstr(log, "NO_PROPOSAL_CHOSEN"));
    assert_non_null(strstr(log, "ENCR_AES_CBC"));
    assert_null(sa);
    assert_int_equal(ti_sa_init_response(&t, &F, tx.buf, tx.len), 1);
    assert_int_equal(t.init_notify, IKE_N_NO_PROPOSAL_CHOSEN);
    free(req);
    free(tx.buf);
    ti_fini(&t);
}

static void test_esp_no_proposal(void **state)
{
    (void)state;
    struct ti t;
    struct ti_auth_result r;
    struct ike_sa *sa;
    /* 3DES only for ESP: the IKE SA comes up without a CHILD SA. */
    struct ti_auth_opts o = {.cred = &D.ec, .n_esp = 1, .esp = {{IKE_ENCR_3DES, 0, 12, false, 0}}};
    ti_init(&t, "aes128gcm16-prfsha256-ecp256");
    assert_int_equal(handshake(&F, &t, &o, &sa, &r), IKE_EXCH_REPLY);
    assert_true(r.auth_ok);
    assert_true(ti_has_notify(&r, IKE_N_NO_PROPOSAL_CHOSEN));
    assert_false(r.has_sa);
    assert_null(sa->child);
    assert_int_equal(sa->state, IKE_SA_ESTABLISHED);
    end_sa(sa);
    ti_fini(&t);
}

static void test_tampered_sk(void **state)
{
    (void)state;
    for (int cbc = 0; cbc < 2; cbc++) {
        struct ti t;
        struct ike_tx tx;
        size_t len;
        struct ike_sa *sa =
            half_open(&t, cbc ? "aes256-sha384-modp2048" : "aes128gcm16-prfsha256-ecp256");
        struct ti_auth_opts o = {.cred = &D.ec};
        uint8_t *req = ti_auth(&t, &F, &o, &len);
        /* A flipped bit in the ciphertext, the ICV, the IV, the header. */
        size_t where[] = {len / 2, len - 1, 28 + 4 + 1, 17};
        for (size_t i = 0; i < 4; i++) {
            uint8_t *bad = dup_exact(req, len);
            bad[where[i]] ^= 0x10;
            cap_begin();
            assert_int_equal(drive_request(&F, sa, bad, len, &tx), IKE_EXCH_DROP);
            const char *log = cap_end();
            if (where[i] != 17) { /* the exchange type octet: dropped before */
                assert_int_equal(count_lines(log), 1);
                assert_non_null(strstr(log, "integrity check failed"));
            }
            assert_null(tx.buf);
            assert_int_equal(sa->state, IKE_SA_HALF_OPEN);
            assert_int_equal(sa->next_msgid, 1);
            free(bad);
        }
        /* The genuine message still works afterwards. */
        assert_int_equal(drive_request(&F, sa, req, len, &tx), IKE_EXCH_INSTALL);
        struct ti_auth_result r;
        assert_int_equal(ti_auth_response(&t, &F, tx.buf, tx.len, &r), 0);
        assert_true(r.auth_ok);
        free(tx.buf);
        free(req);
        end_sa(sa);
        ti_fini(&t);
    }
}

static void test_auth_failures(void **state)
{
    (void)state;
    struct {
        const char *name;
        struct ti_auth_opts o;
        const char *reason;
    } cases[] = {
        {"other CA", {.cred = &D.other}, "certificate from an unknown CA"},
        {"expired", {.cred = &D.expired}, "certificate expired"},
        {"sub CA without its intermediate", {.cred = &D.sub}, "unknown CA"},
        {"IDi not in the certificate",
         {.cred = &D.rsa, .idi_type = IKE_ID_FQDN, .idi_text = "someone-else.example"},
         "identity mismatch"},
        {"IDi DN of another device", {.cred = &D.rsa}, "identity mismatch"},
        {"bad signature", {.cred = &D.ec, .tamper_sig = true}, "bad signature"},
        {"signed by another key", {.cred = &D.ec}, "bad signature"},
        {"RSA signature bits", {.cred = &D.rsa, .tamper_sig = true}, "bad signature"},
    };
    cases[4].o.idi_type = IKE_ID_DER_ASN1_DN;
    cases[6].o.sign_with = D.stray;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ti t;
        struct ti_auth_result r;
        struct ike_sa *sa;
        struct fx_cred fake;
        print_message("case: %s\n", cases[i].name);
        if (i == 4) {
            /* The RSA device's certificate, the EC device's name. */
            fake = D.rsa;
            fake.subject_der = D.ec.subject_der;
            fake.subject_der_len = D.ec.subject_der_len;
            cases[i].o.cred = &fake;
        }
        ti_init(&t, "aes128gcm16-prfsha256-ecp256");
        cap_begin();
        enum ike_exch_result res = handshake(&F, &t, &cases[i].o, &sa, &r);
        const char *log = cap_end();
        assert_int_equal(res, IKE_EXCH_REPLY_FAIL);
        assert_int_equal(count_lines(log), 1);
        assert_non_null(strstr(log, "AUTHENTICATION_FAILED"));
        assert_non_null(strstr(log, cases[i].reason));
        /* An encrypted answer with just the notify. */
        assert_int_equal(r.n_notify, 1);
        assert_int_equal(r.notify[0], IKE_N_AUTHENTICATION_FAILED);
        assert_false(r.has_idr);
        assert_false(r.has_cp);
        assert_null(sa->child);
        assert_int_equal(sa->vip.s_addr, 0);
        assert_int_equal(sa->last_msgid, 1);
        assert_non_null(sa->last_resp);
        ike_sa_free(sa);
        ti_fini(&t);
    }
}

static void test_ts_unacceptable(void **state)
{
    (void)state;
    for (int side = 0; side < 2; side++) {
        struct ti t;
        struct ti_auth_result r;
        struct ike_sa *sa;
        struct ti_auth_opts o = {.cred = &D.ec};
        struct ike_ts *ts = side ? &o.tsi.ts[0] : &o.tsr.ts[0];
        memset(ts, 0, sizeof(*ts));
        ts->type = IKE_TS_IPV4_ADDR_RANGE;
        ts->end_port = 65535;
        inet_pton(AF_INET, "172.16.0.0", ts->start);
        inet_pton(AF_INET, "172.31.255.255", ts->end);
        if (side)
            o.tsi.n = 1;
        else
            o.tsr.n = 1;
        ti_init(&t, "aes128gcm16-prfsha256-ecp256");
        cap_begin();
        assert_int_equal(handshake(&F, &t, &o, &sa, &r), IKE_EXCH_REPLY);
        const char *log = cap_end();
        assert_int_equal(count_lines(log), 1);
        assert_non_null(strstr(log, "TS_UNACCEPTABLE"));
        assert_non_null(strstr(log, side ? "TSi" : "TSr"));
        /* The IKE SA is up, authenticated both ways, with no CHILD SA. */
        assert_int_equal(sa->state, IKE_SA_ESTABLISHED);
        assert_null(sa->child);
        assert_true(r.auth_ok && r.cert_ok);
        assert_true(ti_has_notify(&r, IKE_N_TS_UNACCEPTABLE));
        assert_false(r.has_sa);
        assert_true(r.has_cp);
        assert_int_equal(r.vip.s_addr, sa->vip.s_addr);
        end_sa(sa);
        ti_fini(&t);
    }
    /* Selectors the kernel cannot hold as asked (a port range) and an
     * IPv6-only TSr: nothing left either. */
    for (int k = 0; k < 2; k++) {
        struct ti t;
        struct ti_auth_result r;
        struct ike_sa *sa;
        struct ti_auth_opts o = {.cred = &D.ec};
        struct ike_ts *ts = &o.tsr.ts[0];
        o.tsr.n = 1;
        memset(ts, 0, sizeof(*ts));
        if (k == 0) {
            ts->type = IKE_TS_IPV4_ADDR_RANGE;
            ts->start_port = 1;
            ts->end_port = 1024;
            memset(ts->end, 0xff, 4);
        } else {
            ts->type = IKE_TS_IPV6_ADDR_RANGE;
            ts->end_port = 65535;
            memset(ts->end, 0xff, 16);
        }
        ti_init(&t, "aes128gcm16-prfsha256-ecp256");
        assert_int_equal(handshake(&F, &t, &o, &sa, &r), IKE_EXCH_REPLY);
        assert_true(ti_has_notify(&r, IKE_N_TS_UNACCEPTABLE));
        end_sa(sa);
        ti_fini(&t);
    }
}

static void test_pool_exhausted(void **state)
{
    (void)state;
    sqlite3 *db;
    struct lease_pool *pool;
    struct in_addr net;
    inet_pton(AF_INET, "10.98.0.0", &net);
    assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, lease_pool_schema_sql, NULL, NULL, NULL), SQLITE_OK);
    /* A /30: .0 network, .1 the gateway, .3 broadcast: one address. */
    assert_int_equal(lease_pool_open(db, net, 30, &pool), 0);
    struct lease_pool *saved = F.env.leases;
    F.env.leases = pool;

    struct ti t1, t2;
    struct ti_auth_result r1, r2;
    struct ike_sa *sa1, *sa2;
    struct ti_auth_opts o1 = {.cred = &D.ec}, o2 = {.cred = &D.rsa};
    ti_init(&t1, "aes128gcm16-prfsha256-ecp256");
    assert_int_equal(handshake(&F, &t1, &o1, &sa1, &r1), IKE_EXCH_INSTALL);
    char a[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &sa1->vip, a, sizeof(a));
    assert_string_equal(a, "10.98.0.2");

    ti_init(&t2, "aes128gcm16-prfsha256-ecp256");
    cap_begin();
    assert_int_equal(handshake(&F, &t2, &o2, &sa2, &r2), IKE_EXCH_REPLY);
    const char *log = cap_end();
    assert_int_equal(count_lines(log), 1);
    assert_non_null(strstr(log, "INTERNAL_ADDRESS_FAILURE"));
    assert_non_null(strstr(log, "exhausted"));
    assert_true(r2.auth_ok);
    assert_true(ti_has_notify(&r2, IKE_N_INTERNAL_ADDRESS_FAILURE));
    assert_false(r2.has_cp);
    assert_false(r2.has_sa);
    assert_int_equal(sa2->state, IKE_SA_ESTABLISHED);
    assert_int_equal(sa2->vip.s_addr, 0);
    assert_null(sa2->child);

    end_sa(sa1);
    end_sa(sa2);
    ti_fini(&t1);
    ti_fini(&t2);
    F.env.leases = saved;
    lease_pool_close(pool);
    sqlite3_close(db);
}

static void test_sa_init_malformed(void **state)
{
    (void)state;
    struct ti t;
    struct ike_sa *sa;
    struct ike_tx tx;
    struct ike_msg m;
    struct ike_error e;
    size_t len;
    ti_init(&t, "aes128gcm16-prfsha256-ecp256");
    uint8_t *good = ti_sa_init(&t, &len);

    /* An unknown critical payload appended: the parse fails and the answer
     * names the payload type. */
    uint8_t *crit = malloc(len + 5);
    memcpy(crit, good, len);
    crit[len] = 0;        /* next */
    crit[len + 1] = 0x80; /* critical */
    crit[len + 2] = 0;
    crit[len + 3] = 5; /* length */
    crit[len + 4] = 0xaa;
    /* chain it: the last payload of `good` is a Notify at a known place */
    assert_int_equal(ike_msg_parse(&m, good, len, &e), IKE_OK);
    crit[m.outer.pl[m.outer.n - 1].offset] = 150;
    uint32_t tl = (uint32_t)len + 5;
    crit[24] = (uint8_t)(tl >> 24);
    crit[25] = (uint8_t)(tl >> 16);
    crit[26] = (uint8_t)(tl >> 8);
    crit[27] = (uint8_t)tl;
    assert_int_equal(drive_sa_init(&F, &t, crit, len + 5, false, &sa, &tx), IKE_EXCH_REPLY);
    assert_null(sa);
    assert_int_equal(ike_msg_parse(&m, tx.buf, tx.len, &e), IKE_OK);
    struct ike_notify n;
    assert_non_null(ike_chain_find_notify(&m.outer, IKE_N_UNSUPPORTED_CRITICAL_PAYLOAD, &n));
    assert_int_equal(n.data.len, 1);
    assert_int_equal(n.data.ptr[0], 150);
    free(tx.buf);
    free(crit);

    /* Major version 3: INVALID_MAJOR_VERSION, from version 2. */
    uint8_t *v3 = dup_exact(good, len);
    v3[17] = 0x30;
    assert_int_equal(drive_sa_init(&F, &t, v3, len, false, &sa, &tx), IKE_EXCH_REPLY);
    assert_int_equal(ike_msg_parse(&m, tx.buf, tx.len, &e), IKE_OK);
    assert_non_null(ike_chain_find_notify(&m.outer, IKE_N_INVALID_MAJOR_VERSION, &n));
    free(tx.buf);
    /* ... but not to something that is no IKE_SA_INIT request. */
    v3[19] |= IKE_FLAG_RESPONSE;
    assert_int_equal(drive_sa_init(&F, &t, v3, len, false, &sa, &tx), IKE_EXCH_DROP);
    assert_null(tx.buf);
    free(v3);

    /* A response, a non-zero responder SPI, a non-zero message ID: dropped. */
    size_t offs[] = {19, 8, 23};
    uint8_t vals[] = {IKE_FLAG_RESPONSE | IKE_FLAG_INITIATOR, 1, 1};
    for (size_t i = 0; i < 3; i++) {
        uint8_t *b = dup_exact(good, len);
        b[offs[i]] = vals[i];
        assert_int_equal(drive_sa_init(&F, &t, b, len, false, &sa, &tx), IKE_EXCH_DROP);
        assert_null(sa);
        assert_null(tx.buf);
        free(b);
    }

    /* No KE payload: INVALID_SYNTAX. */
    struct ike_hdr h = {0};
    memcpy(h.ispi, t.spi_i, 8);
    h.exchange = IKE_EXCH_IKE_SA_INIT;
    h.flags = IKE_FLAG_INITIATOR;
    struct ike_wr w;
    ike_wr_init_dyn(&w, 0);
    ike_wr_header(&w, &h);
    ike_wr_sa_begin(&w);
    ike_wr_proposal_begin(&w, 1, IKE_PROTO_IKE, NULL, 0);
    ike_wr_transform(&w, IKE_XF_ENCR, IKE_ENCR_AES_GCM_16, 128);
    ike_wr_transform(&w, IKE_XF_PRF, IKE_PRF_HMAC_SHA2_256, 0);
    ike_wr_transform(&w, IKE_XF_DH, IKE_GROUP_ECP_256, 0);
    ike_wr_proposal_end(&w);
    ike_wr_sa_end(&w);
    ike_wr_nonce(&w, t.ni, 32);
    assert_int_equal(ike_wr_finish(&w, NULL), IKE_OK);
    size_t nlen;
    uint8_t *noke = ike_wr_steal(&w, &nlen);
    assert_int_equal(drive_sa_init(&F, &t, noke, nlen, false, &sa, &tx), IKE_EXCH_REPLY);
    assert_null(sa);
    assert_int_equal(ike_msg_parse(&m, tx.buf, tx.len, &e), IKE_OK);
    assert_non_null(ike_chain_find_notify(&m.outer, IKE_N_INVALID_SYNTAX, &n));
    free(tx.buf);
    free(noke);

    /* A KE value that is no point of the curve: INVALID_SYNTAX, no SA. */
    assert_int_equal(ike_msg_parse(&m, good, len, &e), IKE_OK);
    const struct ike_payload *kp = ike_chain_find(&m.outer, IKE_PL_KE, NULL);
    uint8_t *badke = dup_exact(good, len);
    memset(badke + (kp->body.ptr - good) + 4, 0x11, kp->body.len - 4);
    cap_begin();
    assert_int_equal(drive_sa_init(&F, &t, badke, len, false, &sa, &tx), IKE_EXCH_REPLY);
    const char *log = cap_end();
    assert_int_equal(count_lines(log), 1);
    assert_null(sa);
    assert_int_equal(ike_msg_parse(&m, tx.buf, tx.len, &e), IKE_OK);
    assert_non_null(ike_chain_find_notify(&m.outer, IKE_N_INVALID_SYNTAX, &n));
    free(tx.buf);
    free(badke);
    free(good);
    ti_fini(&t);
}

static void free_result(struct ike_sa *sa, struct ike_tx *tx)
{
    end_sa(sa);
    free(tx->buf);
    tx->buf = NULL;
}

static void test_garbage_sa_init(void **state)
{
    (void)state;
    struct ti t;
    struct ike_sa *sa;
    struct ike_tx tx;
    size_t len;
    srand(7);
    ti_init(&t, "aes256gcm16-prfsha384-curve25519");
    uint8_t *good = ti_sa_init(&t, &len);
    log_set_level(LOG_ERR); /* thousands of refusals */
    /* Every truncation. */
    for (size_t n = 0; n < len; n++) {
        uint8_t *b = dup_exact(good, n);
        drive_sa_init(&F, &t, b, n, false, &sa, &tx);
        free_result(sa, &tx);
        free(b);
    }
    /* Every octet flipped, two ways. */
    for (size_t i = 0; i < len; i++)
        for (int k = 0; k < 2; k++) {
            uint8_t *b = dup_exact(good, len);
            b[i] ^= k ? 0xff : 0x01;
            drive_sa_init(&F, &t, b, len, false, &sa, &tx);
            free_result(sa, &tx);
            free(b);
        }
    /* Random datagrams behind a plausible header. */
    for (int i = 0; i < 3000; i++) {
        size_t n = (size_t)(rand() % 400);
        uint8_t *b = malloc(n ? n : 1);
        for (size_t j = 0; j < n; j++)
            b[j] = (uint8_t)rand();
        if (n >= 28 && (i & 1)) {
            memcpy(b, good, 28);
            b[24] = 0;
            b[25] = 0;
            b[26] = (uint8_t)(n >> 8);
            b[27] = (uint8_t)n;
        }
        drive_sa_init(&F, &t, b, n, false, &sa, &tx);
        free_result(sa, &tx);
        free(b);
    }
    log_set_level(LOG_INFO);
    free(good);
    ti_fini(&t);
}

/* A protected IKE_AUTH whose plaintext is given as is (first payload type
 * and inner octets): the way to feed the inner parser anything at all. */
static uint8_t *raw_sk(struct ti *t, uint8_t first, const uint8_t *inner, size_t inner_len,
                       size_t *len)
{
    size_t body_len = ike_sk_body_len(&t->keys.sk_i, inner_len);
    uint8_t *zero = calloc(1, body_len);
    struct ike_hdr h = {0};
    memcpy(h.ispi, t->spi_i, 8);
    memcpy(h.rspi, t->spi_r, 8);
    h.exchange = IKE_EXCH_IKE_AUTH;
    h.flags = IKE_FLAG_INITIATOR;
    h.msgid = 1;
    struct ike_wr w;
    ike_wr_init_dyn(&w, 0);
    ike_wr_header(&w, &h);
    ike_wr_payload(&w, IKE_PL_SK, false, zero, body_len);
    assert_int_equal(ike_wr_finish(&w, NULL), IKE_OK);
    uint8_t *buf = ike_wr_steal(&w, len);
    buf[IKE_HDR_LEN] = first;
    assert_int_equal(ike_sk_encrypt(&t->keys.sk_i, buf, IKE_HDR_LEN + 4, inner, inner_len,
                                    buf + IKE_HDR_LEN + 4, body_len),
                     IKE_CRYPTO_OK);
    free(zero);
    return buf;
}

/* The plaintext of a message the test initiator built. */
static uint8_t *plain_of(struct ti *t, const uint8_t *msg, size_t len, uint8_t *first, size_t *plen)
{
    struct ike_msg m;
    struct ike_error e;
    struct ike_sk sk;
    assert_int_equal(ike_msg_parse(&m, msg, len, &e), IKE_OK);
    assert_int_equal(ike_pl_sk(&m, m.sk, &sk, &e), IKE_OK);
    uint8_t *p = malloc(len);
    assert_int_equal(
        ike_sk_decrypt(&t->keys.sk_i, msg, sk.aad_len, sk.body.ptr, sk.body.len, p, len, plen),
        IKE_CRYPTO_OK);
    *first = sk.first;
    return p;
}

static void test_auth_malformed(void **state)
{
    (void)state;
    struct ti t;
    struct ike_tx tx;
    size_t len;
    struct ike_msg m;
    static uint8_t plain[65536];
    struct ike_notify n;
    /* No IDi; an unknown critical payload; no AUTH (EAP); no CERT; a
     * shared-key AUTH. */
    static const uint8_t idi_only[] = {IKE_PL_AUTH,
                                       0,
                                       0,
                                       12,
                                       IKE_ID_FQDN,
                                       0,
                                       0,
                                       0,
                                       'a',
                                       '.',
                                       'b',
                                       'c',
                                       0,
                                       0,
                                       0,
                                       12,
                                       IKE_AUTH_SHARED_KEY_MIC,
                                       0,
                                       0,
                                       0,
                                       1,
                                       2,
                                       3,
                                       4};
    static const uint8_t idi_alone[] = {0, 0, 0, 12, IKE_ID_FQDN, 0, 0, 0, 'a', '.', 'b', 'c'};
    static const uint8_t crit[] = {0, 0x80, 0, 6, 1, 2};
    struct {
        uint8_t first;
        const uint8_t *inner;
        size_t len;
        uint16_t want;
        const char *reason;
    } cases[] = {
        {IKE_PL_AUTH, idi_only + 12, 12, IKE_N_INVALID_SYNTAX, "no IDi"},
        {190, crit, sizeof(crit), IKE_N_UNSUPPORTED_CRITICAL_PAYLOAD, "critical"},
        {IKE_PL_IDI, idi_alone, sizeof(idi_alone), IKE_N_AUTHENTICATION_FAILED, "EAP"},
        {IKE_PL_IDI, idi_only, sizeof(idi_only), IKE_N_AUTHENTICATION_FAILED, "certificates only"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ike_sa *sa = half_open(&t, "aes128gcm16-prfsha256-ecp256");
        uint8_t *req = raw_sk(&t, cases[i].first, cases[i].inner, cases[i].len, &len);
        t.msgid = 2;
        cap_begin();
        assert_int_equal(drive_request(&F, sa, req, len, &tx), IKE_EXCH_REPLY_FAIL);
        const char *log = cap_end();
        assert_int_equal(count_lines(log), 1);
        assert_non_null(strstr(log, cases[i].reason));
        assert_int_equal(ti_open(&t, tx.buf, tx.len, true, &m, plain), 0);
        assert_non_null(ike_chain_find_notify(&m.inner, cases[i].want, &n));
        if (cases[i].want == IKE_N_UNSUPPORTED_CRITICAL_PAYLOAD)
            assert_int_equal(n.data.ptr[0], 190);
        free(tx.buf);
        free(req);
        ike_sa_free(sa);
        ti_fini(&t);
    }

    /* A genuine IKE_AUTH without its CERT payload: AUTHENTICATION_FAILED. */
    struct ike_sa *sa = half_open(&t, "aes128gcm16-prfsha256-ecp256");
    struct ti_auth_opts o = {.cred = &D.ec};
    uint8_t *req = ti_auth(&t, &F, &o, &len);
    uint8_t first;
    size_t plen;
    uint8_t *p = plain_of(&t, req, len, &first, &plen);
    struct ike_chain c;
    struct ike_error e;
    assert_int_equal(ike_chain_parse(&c, first, p, plen, 0, IKE_CHAIN_INNER, &e), IKE_OK);
    const struct ike_payload *cp = ike_chain_find(&c, IKE_PL_CERT, NULL);
    assert_non_null(cp);
    /* Re-type the CERT as an unknown non-critical payload, which is
     * skipped: the Next Payload octet that names it changes. */
    size_t ci = (size_t)(cp - c.pl);
    if (ci == 0)
        first = 191;
    else
        p[c.pl[ci - 1].offset] = 191;
    uint8_t *req2 = raw_sk(&t, first, p, plen, &len);
    cap_begin();
    assert_int_equal(drive_request(&F, sa, req2, len, &tx), IKE_EXCH_REPLY_FAIL);
    const char *log = cap_end();
    assert_non_null(strstr(log, "no X.509 certificate"));
    free(tx.buf);
    free(req2);
    free(p);
    free(req);
    ike_sa_free(sa);
    ti_fini(&t);
}

static void test_garbage_auth(void **state)
{
    (void)state;
    struct ti t;
    struct ike_tx tx;
    size_t len;
    srand(11);
    log_set_level(LOG_ERR);
    /* Flipped and truncated protected requests: never authentic. */
    struct ike_sa *sa = half_open(&t, "aes256-sha384-modp2048");
    struct ti_auth_opts o = {.cred = &D.ec};
    uint8_t *req = ti_auth(&t, &F, &o, &len);
    for (size_t i = 0; i < len; i++) {
        uint8_t *b = dup_exact(req, len);
        b[i] ^= (uint8_t)(1u << (i % 8));
        assert_int_equal(drive_request(&F, sa, b, len, &tx), IKE_EXCH_DROP);
        assert_null(tx.buf);
        free(b);
    }
    for (size_t n = 0; n < len; n++) {
        uint8_t *b = dup_exact(req, n);
        assert_int_equal(drive_request(&F, sa, b, n, &tx), IKE_EXCH_DROP);
        free(b);
    }
    assert_int_equal(sa->state, IKE_SA_HALF_OPEN);
    assert_int_equal(drive_request(&F, sa, req, len, &tx), IKE_EXCH_INSTALL);
    free(tx.buf);
    end_sa(sa);
    uint8_t first;
    size_t plen;
    uint8_t *good_plain = plain_of(&t, req, len, &first, &plen);
    free(req);
    ti_fini(&t);

    /* Authentic but mangled plaintexts: the inner parser and the exchange
     * logic see lengths that lie, types that do not fit, random octets. */
    for (int i = 0; i < 300; i++) {
        sa = half_open(&t, i & 1 ? "aes128-sha256-curve25519" : "aes128gcm16-prfsha256-ecp256");
        uint8_t *p = dup_exact(good_plain, plen);
        size_t n = plen;
        uint8_t f = first;
        switch (i % 4) {
        case 0: /* a few octets changed */
            for (int k = 0; k < 1 + i % 3; k++)
                p[(size_t)rand() % n] = (uint8_t)rand();
            break;
        case 1: /* cut short */
            n = (size_t)rand() % plen;
            break;
        case 2: /* random content */
            n = (size_t)rand() % 600;
            free(p);
            p = malloc(n ? n : 1);
            for (size_t k = 0; k < n; k++)
                p[k] = (uint8_t)rand();
            f = (uint8_t)(33 + rand() % 16);
            break;
        default: /* a payload length changed */
            p[2 + 4 * (rand() % 4)] ^= (uint8_t)(1 + rand() % 255);
            break;
        }
        uint8_t *b = raw_sk(&t, f, p, n, &len);
        enum ike_exch_result res = drive_request(&F, sa, b, len, &tx);
        assert_true(res == IKE_EXCH_REPLY_FAIL || res == IKE_EXCH_DROP || res == IKE_EXCH_INSTALL ||
                    res == IKE_EXCH_REPLY);
        if (tx.buf) {
            struct ike_msg m;
            uint8_t *pl = malloc(tx.len);
            t.msgid = 2;
            assert_int_equal(ti_open(&t, tx.buf, tx.len, true, &m, pl), 0);
            free(pl);
        }
        free(tx.buf);
        free(b);
        free(p);
        end_sa(sa);
        ti_fini(&t);
    }
    free(good_plain);
    log_set_level(LOG_INFO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_invalid_ke),      cmocka_unit_test(test_no_proposal),
        cmocka_unit_test(test_esp_no_proposal), cmocka_unit_test(test_tampered_sk),
        cmocka_unit_test(test_auth_failures),   cmocka_unit_test(test_ts_unacceptable),
        cmocka_unit_test(test_pool_exhausted),  cmocka_unit_test(test_sa_init_malformed),
        cmocka_unit_test(test_garbage_sa_init), cmocka_unit_test(test_auth_malformed),
        cmocka_unit_test(test_garbage_auth),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

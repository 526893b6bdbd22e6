/* Builder round trips: every payload type built, parsed back and compared
 * field by field; the SK and SKF envelopes' layout for the crypto layer;
 * builder misuse and bounds; the AUTH signed-octets pieces; names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ikemsg_test.h"

static const uint8_t spi8[8] = {9, 8, 7, 6, 5, 4, 3, 2};
static const uint8_t spi4[4] = {0xde, 0xad, 0xbe, 0xef};

static void build_sa(struct ike_wr *w)
{
    assert_int_equal(ike_wr_sa_begin(w), IKE_OK);
    assert_int_equal(ike_wr_proposal_begin(w, 1, IKE_PROTO_IKE, NULL, 0), IKE_OK);
    assert_int_equal(ike_wr_transform(w, IKE_XF_ENCR, IKE_ENCR_CHACHA20_POLY1305, 0), IKE_OK);
    assert_int_equal(ike_wr_transform(w, IKE_XF_PRF, IKE_PRF_HMAC_SHA2_512, 0), IKE_OK);
    assert_int_equal(ike_wr_transform(w, IKE_XF_DH, IKE_GROUP_CURVE25519, 0), IKE_OK);
    assert_int_equal(ike_wr_proposal_end(w), IKE_OK);
    assert_int_equal(ike_wr_proposal_begin(w, 2, IKE_PROTO_IKE, spi8, 8), IKE_OK);
    assert_int_equal(ike_wr_transform(w, IKE_XF_ENCR, IKE_ENCR_AES_GCM_16, 256), IKE_OK);
    assert_int_equal(ike_wr_proposal_end(w), IKE_OK);
    assert_int_equal(ike_wr_proposal_begin(w, 3, IKE_PROTO_ESP, spi4, 4), IKE_OK);
    assert_int_equal(ike_wr_transform(w, IKE_XF_ENCR, IKE_ENCR_AES_CBC, 128), IKE_OK);
    assert_int_equal(ike_wr_transform(w, IKE_XF_INTEG, IKE_AUTH_HMAC_SHA2_384_192, 0), IKE_OK);
    assert_int_equal(ike_wr_transform(w, IKE_XF_ESN, IKE_ESN_YES, 0), IKE_OK);
    assert_int_equal(ike_wr_proposal_end(w), IKE_OK);
    assert_int_equal(ike_wr_sa_end(w), IKE_OK);
}

static void check_sa(const struct ike_sa_pl *sa)
{
    assert_int_equal(sa->n_prop, 3);
    assert_int_equal(sa->n_xf, 7);
    assert_int_equal(sa->prop[0].n_xf, 3);
    assert_int_equal(sa->xf[0].id, IKE_ENCR_CHACHA20_POLY1305);
    assert_int_equal(sa->xf[0].key_len, 0);
    assert_int_equal(sa->prop[1].spi_len, 8);
    assert_memory_equal(sa->prop[1].spi, spi8, 8);
    assert_int_equal(sa->xf[sa->prop[1].first_xf].key_len, 256);
    assert_int_equal(sa->prop[2].proto, IKE_PROTO_ESP);
    assert_memory_equal(sa->prop[2].spi, spi4, 4);
    assert_int_equal(sa->prop[2].first_xf, 4);
    assert_int_equal(sa->xf[4].key_len, 128);
    assert_int_equal(sa->xf[5].id, IKE_AUTH_HMAC_SHA2_384_192);
    assert_int_equal(sa->xf[6].type, IKE_XF_ESN);
    assert_int_equal(sa->xf[6].id, IKE_ESN_YES);
}

static const uint8_t dn[] = {0x30, 0x0d, 0x31, 0x0b, 0x30, 0x09, 0x06, 0x03,
                             0x55, 0x04, 0x03, 0x0c, 0x02, 'g',  'w'};

/* Every payload type but SK/SKF, built into one message. */
static void build_all(struct ike_wr *w, struct ike_span *idr_body)
{
    uint8_t ke[32], nonce[256], cert[300], sig[72], alg[15];
    const uint32_t dspis[3] = {0x11111111, 0x22222222, 0x33333333};
    const uint8_t v4[4] = {192, 0, 2, 1};
    const uint8_t v6[17] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1, [16] = 64};
    struct ike_ts ts[2] = {
        {.type = IKE_TS_IPV4_ADDR_RANGE,
         .ip_proto = 17,
         .start_port = 500,
         .end_port = 4500,
         .start = {10, 0, 0, 0},
         .end = {10, 0, 255, 255}},
        {.type = IKE_TS_IPV6_ADDR_RANGE,
         .start_port = 65535,
         .end_port = 0,
         .start = {0x20, 0x01},
         .end = {0x20, 0x01, 0xff}},
    };
    struct ike_cp_attr cp[3] = {
        {IKE_CFGA_INTERNAL_IP4_ADDRESS, {v4, 4}},
        {IKE_CFGA_INTERNAL_IP6_ADDRESS, {v6, 17}},
        {IKE_CFGA_APPLICATION_VERSION, {(const uint8_t *)"mgate", 5}},
    };
    const uint8_t eap[5] = {2, 7, 0, 5, 1};

    memset(ke, 0xab, sizeof(ke));
    memset(nonce, 0xcd, sizeof(nonce));
    memset(cert, 0x30, sizeof(cert));
    memset(sig, 0x5a, sizeof(sig));
    memset(alg, 0x06, sizeof(alg));
    build_sa(w);
    assert_int_equal(ike_wr_ke(w, IKE_GROUP_CURVE25519, ke, sizeof(ke)), IKE_OK);
    assert_int_equal(ike_wr_id(w, IKE_PL_IDI, IKE_ID_RFC822_ADDR, "dev@example.com", 15), IKE_OK);
    assert_int_equal(ike_wr_id(w, IKE_PL_IDR, IKE_ID_DER_ASN1_DN, dn, sizeof(dn)), IKE_OK);
    *idr_body = ike_wr_last_body(w);
    assert_int_equal(ike_wr_cert(w, IKE_CERT_X509_SIG, cert, sizeof(cert)), IKE_OK);
    assert_int_equal(ike_wr_certreq(w, IKE_CERT_X509_SIG, sig, 40), IKE_OK);
    assert_int_equal(ike_wr_auth(w, IKE_AUTH_ECDSA_SHA256_P256, sig, 64), IKE_OK);
    assert_int_equal(ike_wr_auth_sig(w, alg, sizeof(alg), sig, sizeof(sig)), IKE_OK);
    assert_int_equal(ike_wr_nonce(w, nonce, sizeof(nonce)), IKE_OK);
    assert_int_equal(ike_wr_notify(w, IKE_PROTO_ESP, IKE_N_REKEY_SA, spi4, 4, NULL, 0), IKE_OK);
    assert_int_equal(ike_wr_notify(w, 0, IKE_N_COOKIE2, NULL, 0, spi8, 8), IKE_OK);
    assert_int_equal(ike_wr_delete(w, IKE_PROTO_ESP, dspis, 3), IKE_OK);
    assert_int_equal(ike_wr_delete(w, IKE_PROTO_IKE, NULL, 0), IKE_OK);
    assert_int_equal(ike_wr_vid(w, "mgate", 5), IKE_OK);
    assert_int_equal(ike_wr_ts(w, IKE_PL_TSI, ts, 2), IKE_OK);
    assert_int_equal(ike_wr_ts(w, IKE_PL_TSR, ts, 1), IKE_OK);
    assert_int_equal(ike_wr_cp(w, IKE_CFG_REPLY, cp, 3), IKE_OK);
    assert_int_equal(ike_wr_eap(w, eap, sizeof(eap)), IKE_OK);
}

static void check_all(const struct ike_msg *m, const struct ike_chain *c)
{
    struct ike_error e;
    struct ike_sa_pl *sa = malloc(sizeof(*sa));
    struct ike_ke ke;
    struct ike_id id;
    struct ike_cert cert;
    struct ike_auth auth;
    struct ike_span span;
    struct ike_notify n;
    struct ike_delete d;
    struct ike_ts_set ts;
    struct ike_cp cp;
    const struct ike_payload *p = c->pl;

    assert_non_null(sa);
    assert_int_equal(c->n, 18);
    assert_int_equal(ike_chain_validate(m, c, &e), IKE_OK);
    assert_int_equal(ike_pl_sa(p++, sa, &e), IKE_OK);
    check_sa(sa);
    free(sa);
    assert_int_equal(ike_pl_ke(p++, &ke, &e), IKE_OK);
    assert_int_equal(ke.group, IKE_GROUP_CURVE25519);
    assert_int_equal(ke.data.len, 32);
    assert_int_equal(ike_pl_id(p++, &id, &e), IKE_OK);
    assert_int_equal(id.type, IKE_ID_RFC822_ADDR);
    assert_memory_equal(id.data.ptr, "dev@example.com", 15);
    assert_int_equal(ike_pl_id(p++, &id, &e), IKE_OK);
    assert_int_equal(id.type, IKE_ID_DER_ASN1_DN);
    assert_int_equal(id.data.len, sizeof(dn));
    assert_memory_equal(id.data.ptr, dn, sizeof(dn));
    assert_int_equal(id.body.len, 4 + sizeof(dn));
    assert_int_equal(ike_pl_cert(p++, &cert, &e), IKE_OK);
    assert_int_equal(cert.encoding, IKE_CERT_X509_SIG);
    assert_int_equal(cert.data.len, 300);
    assert_int_equal(ike_pl_certreq(p++, &cert, &e), IKE_OK);
    assert_int_equal(cert.data.len / IKE_CERTREQ_HASH_LEN, 2);
    assert_int_equal(ike_pl_auth(p++, &auth, &e), IKE_OK);
    assert_int_equal(auth.method, IKE_AUTH_ECDSA_SHA256_P256);
    assert_int_equal(auth.sig.len, 64);
    assert_int_equal(auth.sig_alg.len, 0);
    assert_int_equal(ike_pl_auth(p++, &auth, &e), IKE_OK);
    assert_int_equal(auth.method, IKE_AUTH_DIGITAL_SIGNATURE);
    assert_int_equal(auth.sig_alg.len, 15);
    assert_int_equal(auth.sig.len, 72);
    assert_int_equal(auth.sig.ptr[0], 0x5a);
    assert_int_equal(ike_pl_nonce(p++, &span, &e), IKE_OK);
    assert_int_equal(span.len, 256);
    assert_int_equal(ike_pl_notify(p++, &n, &e), IKE_OK);
    assert_int_equal(n.type, IKE_N_REKEY_SA);
    assert_int_equal(n.proto, IKE_PROTO_ESP);
    assert_memory_equal(n.spi.ptr, spi4, 4);
    assert_int_equal(n.data.len, 0);
    assert_int_equal(ike_pl_notify(p++, &n, &e), IKE_OK);
    assert_int_equal(n.type, IKE_N_COOKIE2);
    assert_memory_equal(n.data.ptr, spi8, 8);
    assert_int_equal(ike_pl_delete(p++, &d, &e), IKE_OK);
    assert_int_equal(d.n_spi, 3);
    assert_int_equal(ike_delete_spi(&d, 2), 0x33333333);
    assert_int_equal(ike_pl_delete(p++, &d, &e), IKE_OK);
    assert_int_equal(d.proto, IKE_PROTO_IKE);
    assert_int_equal(d.n_spi, 0);
    assert_int_equal(ike_pl_vid(p++, &span, &e), IKE_OK);
    assert_memory_equal(span.ptr, "mgate", 5);
    assert_int_equal(ike_pl_ts(p++, &ts, &e), IKE_OK);
    assert_int_equal(ts.n, 2);
    assert_int_equal(ts.ts[0].ip_proto, 17);
    assert_int_equal(ts.ts[0].start_port, 500);
    assert_int_equal(ts.ts[0].end_port, 4500);
    assert_int_equal(ts.ts[0].end[2], 255);
    assert_int_equal(ts.ts[1].type, IKE_TS_IPV6_ADDR_RANGE);
    assert_int_equal(ts.ts[1].start_port, 65535);
    assert_int_equal(ts.ts[1].end[2], 0xff);
    assert_int_equal(ike_pl_ts(p++, &ts, &e), IKE_OK);
    assert_int_equal(ts.n, 1);
    assert_int_equal(ike_pl_cp(p++, &cp, &e), IKE_OK);
    assert_int_equal(cp.cfg_type, IKE_CFG_REPLY);
    assert_int_equal(cp.n, 3);
    assert_int_equal(cp.attr[0].type, IKE_CFGA_INTERNAL_IP4_ADDRESS);
    assert_int_equal(cp.attr[0].value.ptr[0], 192);
    assert_int_equal(cp.attr[1].value.len, 17);
    assert_int_equal(cp.attr[1].value.ptr[16], 64);
    assert_memory_equal(cp.attr[2].value.ptr, "mgate", 5);
    assert_int_equal(ike_pl_eap(p++, &span, &e), IKE_OK);
    assert_int_equal(span.len, 5);
}

static void test_roundtrip_all_payloads(void **state)
{
    (void)state;
    struct ike_wr w;
    struct ike_hdr h;
    struct ike_span out, idr;
    struct ike_msg m;
    struct ike_error e;

    ikemsg_test_hdr(&h, IKE_EXCH_CREATE_CHILD_SA, IKE_FLAG_RESPONSE, 0x01020304);
    ike_wr_init_dyn(&w, 0);
    assert_int_equal(ike_wr_header(&w, &h), IKE_OK);
    build_all(&w, &idr);
    assert_int_equal(ike_wr_finish(&w, &out), IKE_OK);
    uint8_t *copy = ikemsg_test_dup(out.ptr, out.len);
    assert_int_equal(ike_msg_parse(&m, copy, out.len, &e), IKE_OK);
    assert_int_equal(m.hdr.msgid, 0x01020304);
    assert_int_equal(m.hdr.exchange, IKE_EXCH_CREATE_CHILD_SA);
    assert_int_equal(m.hdr.flags, IKE_FLAG_RESPONSE);
    assert_memory_equal(m.hdr.rspi, h.rspi, 8);
    check_all(&m, &m.outer);
    free(copy);
    ike_wr_free(&w);
}

/* A parsed SA written back with ike_wr_sa gives the same octets. */
static void test_sa_rewrite_identical(void **state)
{
    (void)state;
    struct ike_wr w1, w2;
    struct ike_span a, b;
    struct ike_msg m;
    struct ike_error e;
    struct ike_sa_pl *sa = malloc(sizeof(*sa));
    struct ike_hdr h;

    assert_non_null(sa);
    ikemsg_test_hdr(&h, IKE_EXCH_IKE_SA_INIT, 0, 0);
    ike_wr_init_dyn(&w1, 0);
    ike_wr_header(&w1, &h);
    build_sa(&w1);
    assert_int_equal(ike_wr_finish(&w1, &a), IKE_OK);
    assert_int_equal(ike_msg_parse(&m, a.ptr, a.len, &e), IKE_OK);
    assert_int_equal(ike_pl_sa(&m.outer.pl[0], sa, &e), IKE_OK);
    ike_wr_init_dyn(&w2, 0);
    ike_wr_header(&w2, &h);
    assert_int_equal(ike_wr_sa(&w2, sa), IKE_OK);
    assert_int_equal(ike_wr_finish(&w2, &b), IKE_OK);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.ptr, b.ptr, a.len);
    ike_wr_free(&w1);
    ike_wr_free(&w2);
    free(sa);
}

/* SK with a 16-octet IV, CBC-style 16-octet blocks and a 16-octet ICV: the
 * layout handed to the crypto layer, then a "decryption" that strips the
 * padding the way the crypto layer will, and the inner chain parsed. */
static void test_sk_envelope(void **state)
{
    (void)state;
    struct ike_wr w;
    struct ike_hdr h;
    struct ike_span out, idr;
    struct ike_wr_sk sk;
    struct ike_msg m;
    struct ike_error e;
    struct ike_sk psk;

    ikemsg_test_hdr(&h, IKE_EXCH_IKE_AUTH, IKE_FLAG_RESPONSE, 1);
    ike_wr_init_dyn(&w, 0);
    ike_wr_header(&w, &h);
    assert_int_equal(ike_wr_sk_begin(&w, 16), IKE_OK);
    build_all(&w, &idr);
    assert_int_equal(ike_wr_sk_end(&w, 16, 16, &sk), IKE_OK);
    assert_int_equal(ike_wr_vid(&w, "late", 4), IKE_ERR_USAGE); /* nothing after SK */
    assert_int_equal(ike_wr_finish(&w, &out), IKE_ERR_USAGE);

    /* Same again, without the misuse. */
    ike_wr_free(&w);
    ike_wr_init_dyn(&w, 0);
    ike_wr_header(&w, &h);
    ike_wr_sk_begin(&w, 16);
    build_all(&w, &idr);
    assert_int_equal(ike_wr_sk_end(&w, 16, 16, &sk), IKE_OK);
    assert_int_equal(ike_wr_finish(&w, &out), IKE_OK);
    assert_int_equal(sk.aad_len, IKE_HDR_LEN + 4);
    assert_int_equal(sk.iv_off, IKE_HDR_LEN + 4);
    assert_int_equal(sk.iv_len, 16);
    assert_int_equal(sk.plain_off, IKE_HDR_LEN + 4 + 16);
    assert_int_equal(sk.plain_len % 16, 0);
    assert_int_equal(sk.icv_off, sk.plain_off + sk.plain_len);
    assert_int_equal(sk.icv_off + 16, out.len);
    uint8_t pad = out.ptr[sk.icv_off - 1];
    assert_true(pad < 16);

    uint8_t *copy = ikemsg_test_dup(out.ptr, out.len);
    assert_int_equal(ike_msg_parse(&m, copy, out.len, &e), IKE_OK);
    assert_int_equal(m.outer.n, 1);
    assert_int_equal(ike_pl_sk(&m, m.sk, &psk, &e), IKE_OK);
    assert_int_equal(psk.first, IKE_PL_SA);
    assert_int_equal(psk.aad_len, sk.aad_len);
    assert_int_equal(psk.body.len, 16 + sk.plain_len + 16);
    size_t inner_len = sk.plain_len - 1 - pad;
    uint8_t *plain = ikemsg_test_dup(copy + sk.plain_off, inner_len);
    assert_int_equal(ike_msg_parse_inner(&m, psk.first, plain, inner_len, &e), IKE_OK);
    check_all(&m, &m.inner);
    free(plain);
    free(copy);
    ike_wr_free(&w);
}

/* An inner chain built bare, cut into two SKF fragments (RFC 7383), each
 * parsed, and the reassembled chain parsed. */
static void test_skf_fragments(void **state)
{
    (void)state;
    struct ike_wr chain, f;
    struct ike_hdr h;
    struct ike_span inner, out, idr;
    struct ike_wr_sk sk;
    struct ike_msg m;
    struct ike_error e;
    struct ike_sk psk;

    ike_wr_init_dyn(&chain, 0);
    build_all(&chain, &idr);
    assert_int_equal(ike_wr_finish(&chain, &inner), IKE_OK);
    assert_int_equal(ike_wr_first(&chain), IKE_PL_SA);
    assert_int_equal(ike_wr_sk_begin(&chain, 0), IKE_ERR_USAGE); /* no header */

    uint8_t *joined = malloc(inner.len);
    uint8_t *copy = NULL;
    assert_non_null(joined);
    size_t half = inner.len / 2, done = 0;
    for (uint16_t num = 1; num <= 2; num++) {
        size_t part = num == 1 ? half : inner.len - half;
        ikemsg_test_hdr(&h, IKE_EXCH_IKE_AUTH, IKE_FLAG_INITIATOR, 1);
        ike_wr_init_dyn(&f, 0);
        ike_wr_header(&f, &h);
        assert_int_equal(ike_wr_skf(&f, num, 2, num == 1 ? ike_wr_first(&chain) : 0, 8,
                                    inner.ptr + done, part, 1, 16, &sk),
                         IKE_OK);
        assert_int_equal(ike_wr_finish(&f, &out), IKE_OK);
        assert_int_equal(sk.aad_len, IKE_HDR_LEN + 8);
        assert_int_equal(sk.plain_len, part + 1);
        free(copy);
        copy = ikemsg_test_dup(out.ptr, out.len);
        assert_int_equal(ike_msg_parse(&m, copy, out.len, &e), IKE_OK);
        assert_int_equal(ike_pl_sk(&m, m.sk, &psk, &e), IKE_OK);
        assert_int_equal(psk.frag_num, num);
        assert_int_equal(psk.frag_total, 2);
        assert_int_equal(psk.first, num == 1 ? IKE_PL_SA : 0);
        assert_int_equal(psk.body.len, 8 + part + 1 + 16);
        memcpy(joined + done, psk.body.ptr + 8, part);
        done += part;
        ike_wr_free(&f);
    }
    /* Fragment misuse: number 0, number past total, next type in fragment 2. */
    ike_wr_init_dyn(&f, 0);
    ike_wr_header(&f, &h);
    assert_int_equal(ike_wr_skf(&f, 2, 2, IKE_PL_SA, 0, "x", 1, 1, 0, &sk), IKE_ERR_USAGE);
    ike_wr_free(&f);

    /* m is the last fragment's message: the reassembled chain belongs to it. */
    assert_int_equal(ike_msg_parse_inner(&m, IKE_PL_SA, joined, inner.len, &e), IKE_OK);
    check_all(&m, &m.inner);
    free(copy);
    free(joined);
    ike_wr_free(&chain);
}

static void test_builder_bounds(void **state)
{
    (void)state;
    struct ike_wr w;
    struct ike_hdr h;
    uint8_t small[40];
    uint8_t nonce[300] = {0};
    size_t len;

    ikemsg_test_hdr(&h, IKE_EXCH_INFORMATIONAL, 0, 3);
    ike_wr_init(&w, small, sizeof(small));
    assert_int_equal(ike_wr_header(&w, &h), IKE_OK);
    assert_int_equal(ike_wr_nonce(&w, nonce, 16), IKE_ERR_NOSPACE);
    /* Sticky: a smaller payload that would fit still fails. */
    assert_int_equal(ike_wr_vid(&w, "x", 1), IKE_ERR_NOSPACE);
    assert_int_equal(ike_wr_finish(&w, NULL), IKE_ERR_NOSPACE);
    assert_null(ike_wr_steal(&w, &len));

    ike_wr_init_dyn(&w, 0);
    ike_wr_header(&w, &h);
    assert_int_equal(ike_wr_nonce(&w, nonce, 15), IKE_ERR_USAGE);
    ike_wr_free(&w);
    ike_wr_init_dyn(&w, 0);
    ike_wr_header(&w, &h);
    assert_int_equal(ike_wr_nonce(&w, nonce, 257), IKE_ERR_USAGE);
    ike_wr_free(&w);

    /* A bounded growable writer. */
    ike_wr_init_dyn(&w, 100);
    ike_wr_header(&w, &h);
    assert_int_equal(ike_wr_vid(&w, nonce, 68), IKE_OK);
    assert_int_equal(ike_wr_vid(&w, nonce, 1), IKE_ERR_NOSPACE);
    ike_wr_free(&w);

    /* One payload cannot exceed 65535 octets. */
    uint8_t *big = calloc(1, 70000);
    assert_non_null(big);
    ike_wr_init_dyn(&w, 100000);
    ike_wr_header(&w, &h);
    assert_int_equal(ike_wr_vid(&w, big, 65532), IKE_ERR_NOSPACE);
    ike_wr_free(&w);
    ike_wr_init_dyn(&w, 100000);
    ike_wr_header(&w, &h);
    assert_int_equal(ike_wr_vid(&w, big, 65531), IKE_OK);
    ike_wr_free(&w);
    free(big);

    /* Out of order calls. */
    ike_wr_init_dyn(&w, 0);
    ike_wr_header(&w, &h);
    assert_int_equal(ike_wr_transform(&w, IKE_XF_ENCR, 12, 128), IKE_ERR_USAGE);
    ike_wr_free(&w);
    ike_wr_init_dyn(&w, 0);
    ike_wr_header(&w, &h);
    ike_wr_sa_begin(&w);
    assert_int_equal(ike_wr_sa_end(&w), IKE_ERR_USAGE); /* no proposal */
    ike_wr_free(&w);
    ike_wr_init_dyn(&w, 0);
    ike_wr_header(&w, &h);
    ike_wr_sa_begin(&w);
    ike_wr_proposal_begin(&w, 1, IKE_PROTO_IKE, NULL, 0);
    assert_int_equal(ike_wr_proposal_end(&w), IKE_ERR_USAGE); /* no transform */
    ike_wr_free(&w);
    ike_wr_init_dyn(&w, 0);
    ike_wr_header(&w, &h);
    ike_wr_begin(&w, IKE_PL_VID, false);
    assert_int_equal(ike_wr_finish(&w, NULL), IKE_ERR_USAGE); /* open payload */
    ike_wr_free(&w);
    ike_wr_init_dyn(&w, 0);
    ike_wr_header(&w, &h);
    assert_int_equal(ike_wr_header(&w, &h), IKE_ERR_USAGE);
    ike_wr_free(&w);
    ike_wr_init_dyn(&w, 0);
    ike_wr_header(&w, &h);
    assert_int_equal(ike_wr_delete(&w, IKE_PROTO_IKE, (const uint32_t *)nonce, 1), IKE_ERR_USAGE);
    ike_wr_free(&w);

    /* steal hands over the heap buffer. */
    ike_wr_init_dyn(&w, 0);
    ike_wr_header(&w, &h);
    ike_wr_vid(&w, "ok", 2);
    assert_int_equal(ike_wr_finish(&w, NULL), IKE_OK);
    uint8_t *msg = ike_wr_steal(&w, &len);
    assert_non_null(msg);
    assert_int_equal(len, IKE_HDR_LEN + 6);
    assert_int_equal(msg[27], IKE_HDR_LEN + 6);
    free(msg);
    ike_wr_free(&w); /* harmless after steal */
}

static void test_signed_octets(void **state)
{
    (void)state;
    size_t len;
    uint8_t *init = ikemsg_test_sa_init(&len);
    struct ike_msg m;
    struct ike_error e;
    struct ike_wr w;
    struct ike_hdr h;
    struct ike_signed_octets so;

    assert_non_null(init);
    assert_int_equal(ike_msg_parse(&m, init, len, &e), IKE_OK);
    const struct ike_payload *nonce = ike_chain_find(&m.outer, IKE_PL_NONCE, NULL);
    assert_non_null(nonce);

    ikemsg_test_hdr(&h, IKE_EXCH_IKE_AUTH, IKE_FLAG_RESPONSE, 1);
    ike_wr_init_dyn(&w, 0);
    ike_wr_header(&w, &h);
    ike_wr_sk_begin(&w, 0);
    ike_wr_id(&w, IKE_PL_IDR, IKE_ID_FQDN, "gw.example.com", 14);
    struct ike_span idr = ike_wr_last_body(&w);
    assert_int_equal(idr.len, 4 + 14);
    assert_int_equal(idr.ptr[0], IKE_ID_FQDN);

    struct ike_span resp_init = {init, len}; /* stands in for our IKE_SA_INIT response */
    assert_int_equal(ike_signed_octets(resp_init, nonce, idr, &so, &e), IKE_OK);
    assert_ptr_equal(so.message.ptr, init);
    assert_int_equal(so.message.len, len);
    assert_int_equal(so.nonce.len, 32);
    assert_ptr_equal(so.nonce.ptr, nonce->body.ptr);
    assert_int_equal(so.id_body.len, 18);
    const struct ike_payload *ke = ike_chain_find(&m.outer, IKE_PL_KE, NULL);
    assert_int_equal(ike_signed_octets(resp_init, ke, idr, &so, &e), IKE_ERR_USAGE);
    ike_wr_free(&w);
    free(init);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(ike_exchange_name(IKE_EXCH_IKE_AUTH), "IKE_AUTH");
    assert_string_equal(ike_payload_name(IKE_PL_SKF), "SKF");
    assert_string_equal(ike_notify_name(IKE_N_UPDATE_SA_ADDRESSES), "UPDATE_SA_ADDRESSES");
    assert_string_equal(ike_notify_name(16430), "IKEV2_FRAGMENTATION_SUPPORTED");
    assert_string_equal(ike_notify_name(60000), "UNKNOWN");
    assert_string_equal(ike_transform_id_name(IKE_XF_ENCR, 20), "ENCR_AES_GCM_16");
    assert_string_equal(ike_transform_id_name(IKE_XF_INTEG, 14), "AUTH_HMAC_SHA2_512_256");
    assert_string_equal(ike_transform_id_name(IKE_XF_DH, 31), "CURVE25519");
    assert_string_equal(ike_transform_id_name(IKE_XF_ESN, 1), "ESN");
    assert_string_equal(ike_auth_method_name(14), "DIGITAL_SIGNATURE");
    assert_string_equal(ike_id_type_name(9), "ID_DER_ASN1_DN");
    assert_string_equal(ike_cfg_attr_name(1), "INTERNAL_IP4_ADDRESS");
    assert_string_equal(ike_cfg_type_name(2), "CFG_REPLY");
    assert_string_equal(ike_cert_encoding_name(4), "X509_SIGNATURE");
    assert_string_equal(ike_ts_type_name(8), "TS_IPV6_ADDR_RANGE");
    assert_string_equal(ike_proto_name(3), "ESP");
    assert_string_equal(ike_hash_alg_name(2), "SHA2_256");
    assert_string_equal(ike_transform_type_name(4), "KE");
    assert_int_equal(ike_ke_group_data_len(19), 64);
    assert_int_equal(ike_ke_group_data_len(14), 256);
    assert_int_equal(ike_ke_group_data_len(31), 32);
    assert_int_equal(ike_ke_group_data_len(99), 0);
    assert_string_equal(ike_err_name(IKE_ERR_SYNTAX), "INVALID_SYNTAX");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_all_payloads),
        cmocka_unit_test(test_sa_rewrite_identical),
        cmocka_unit_test(test_sk_envelope),
        cmocka_unit_test(test_skf_fragments),
        cmocka_unit_test(test_builder_bounds),
        cmocka_unit_test(test_signed_octets),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

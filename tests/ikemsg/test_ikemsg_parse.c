/* IKE header and payload chain parsing: a byte-exact IKE_SA_INIT written
 * from RFC 7296 §3 by hand, and each malformed framing case. Inputs are
 * heap copies of their exact size so ASan catches any overread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ikemsg_test.h"

/* IKE_SA_INIT request, laid out field by field from RFC 7296 §3.1–§3.10:
 * SA(AES-CBC-256, HMAC-SHA2-256 PRF and INTEG, ECP-256), KE, Ni and four
 * notifies. Fill regions (key data, nonce, hashes) are set by fill_sa_init. */
static const uint8_t sa_init_frame[262] = {
    /* IKE header: SPIi, SPIr, next SA, version 2.0, IKE_SA_INIT, I, msgid 0, length 262 */
    0x01,
    0x02,
    0x03,
    0x04,
    0x05,
    0x06,
    0x07,
    0x08,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x21,
    0x20,
    0x22,
    0x08,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x01,
    0x06,
    /* [28] SA: next KE, length 48 */
    0x22,
    0x00,
    0x00,
    0x30,
    /* proposal: last, length 44, #1, IKE, SPI size 0, 4 transforms */
    0x00,
    0x00,
    0x00,
    0x2c,
    0x01,
    0x01,
    0x00,
    0x04,
    /* ENCR_AES_CBC with Key Length 256 (TV attribute) */
    0x03,
    0x00,
    0x00,
    0x0c,
    0x01,
    0x00,
    0x00,
    0x0c,
    0x80,
    0x0e,
    0x01,
    0x00,
    /* PRF_HMAC_SHA2_256 */
    0x03,
    0x00,
    0x00,
    0x08,
    0x02,
    0x00,
    0x00,
    0x05,
    /* AUTH_HMAC_SHA2_256_128 */
    0x03,
    0x00,
    0x00,
    0x08,
    0x03,
    0x00,
    0x00,
    0x0c,
    /* DH group 19, last transform */
    0x00,
    0x00,
    0x00,
    0x08,
    0x04,
    0x00,
    0x00,
    0x13,
    /* [76] KE: next Nonce, length 72, group 19, reserved, 64 octets follow */
    0x28,
    0x00,
    0x00,
    0x48,
    0x00,
    0x13,
    0x00,
    0x00,
};
#define KE_DATA_OFF 84
static const uint8_t sa_init_tail[] = {
    /* [148] Nonce: next N, length 36 (32 octets follow) */
    0x29,
    0x00,
    0x00,
    0x24,
};
#define NONCE_DATA_OFF 152
/* [184] N(NAT_DETECTION_SOURCE_IP) length 28, [212] N(NAT_DETECTION_DESTINATION_IP),
 * [240] N(IKEV2_FRAGMENTATION_SUPPORTED) length 8, [248] N(SIGNATURE_HASH_ALGORITHMS) length 14 */
static const uint8_t sa_init_notifies[] = {
    0x29, 0x00, 0x00, 0x1c, 0x00, 0x00, 0x40, 0x04,
};
static const uint8_t sa_init_notifies2[] = {
    0x29, 0x00, 0x00, 0x1c, 0x00, 0x00, 0x40, 0x05,
};
static const uint8_t sa_init_last[] = {
    0x29, 0x00, 0x00, 0x08, 0x00, 0x00, 0x40, 0x2e, 0x00, 0x00, 0x00,
    0x0e, 0x00, 0x00, 0x40, 0x2f, 0x00, 0x02, 0x00, 0x03, 0x00, 0x04,
};

static uint8_t *fill_sa_init(size_t *len)
{
    uint8_t *m = malloc(sizeof(sa_init_frame));

    assert_non_null(m);
    memcpy(m, sa_init_frame, sizeof(sa_init_frame));
    memset(m + KE_DATA_OFF, 0x11, 64);
    memcpy(m + 148, sa_init_tail, sizeof(sa_init_tail));
    memset(m + NONCE_DATA_OFF, 0x22, 32);
    memcpy(m + 184, sa_init_notifies, sizeof(sa_init_notifies));
    memset(m + 192, 0x33, 20);
    memcpy(m + 212, sa_init_notifies2, sizeof(sa_init_notifies2));
    memset(m + 220, 0x44, 20);
    memcpy(m + 240, sa_init_last, sizeof(sa_init_last));
    *len = sizeof(sa_init_frame);
    return m;
}

static void test_sa_init_byte_exact(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = fill_sa_init(&len);
    struct ike_msg m;
    struct ike_error e;
    struct ike_sa_pl sa;
    struct ike_ke ke;
    struct ike_span nonce;
    struct ike_notify n;

    assert_int_equal(ike_msg_parse(&m, buf, len, &e), IKE_OK);
    assert_int_equal(m.hdr.exchange, IKE_EXCH_IKE_SA_INIT);
    assert_int_equal(m.hdr.flags, IKE_FLAG_INITIATOR);
    assert_int_equal(m.hdr.msgid, 0);
    assert_int_equal(m.hdr.length, 262);
    assert_int_equal(m.hdr.ispi[7], 8);
    assert_int_equal(m.outer.n, 7);
    assert_null(m.sk);
    assert_int_equal(ike_chain_validate(&m, &m.outer, &e), IKE_OK);

    assert_int_equal(ike_pl_sa(&m.outer.pl[0], &sa, &e), IKE_OK);
    assert_int_equal(sa.n_prop, 1);
    assert_int_equal(sa.prop[0].num, 1);
    assert_int_equal(sa.prop[0].proto, IKE_PROTO_IKE);
    assert_int_equal(sa.prop[0].spi_len, 0);
    assert_int_equal(sa.prop[0].n_xf, 4);
    assert_int_equal(sa.xf[0].type, IKE_XF_ENCR);
    assert_int_equal(sa.xf[0].id, IKE_ENCR_AES_CBC);
    assert_int_equal(sa.xf[0].key_len, 256);
    assert_int_equal(sa.xf[1].id, IKE_PRF_HMAC_SHA2_256);
    assert_int_equal(sa.xf[2].id, IKE_AUTH_HMAC_SHA2_256_128);
    assert_int_equal(sa.xf[3].type, IKE_XF_DH);
    assert_int_equal(sa.xf[3].id, IKE_GROUP_ECP_256);
    assert_false(sa.xf[3].unknown_attr);

    assert_int_equal(ike_pl_ke(&m.outer.pl[1], &ke, &e), IKE_OK);
    assert_int_equal(ke.group, 19);
    assert_int_equal(ke.data.len, 64);
    assert_ptr_equal(ke.data.ptr, buf + KE_DATA_OFF);

    assert_int_equal(ike_pl_nonce(&m.outer.pl[2], &nonce, &e), IKE_OK);
    assert_int_equal(nonce.len, 32);
    assert_ptr_equal(nonce.ptr, buf + NONCE_DATA_OFF);

    assert_non_null(ike_chain_find_notify(&m.outer, IKE_N_NAT_DETECTION_DESTINATION_IP, &n));
    assert_int_equal(n.data.len, 20);
    assert_int_equal(n.data.ptr[0], 0x44);
    assert_non_null(ike_chain_find_notify(&m.outer, IKE_N_SIGNATURE_HASH_ALGORITHMS, &n));
    assert_int_equal(n.data.len, 6);
    assert_int_equal(n.data.ptr[5], 4);
    assert_non_null(ike_chain_find_notify(&m.outer, IKE_N_IKEV2_FRAGMENTATION_SUPPORTED, &n));
    assert_null(ike_chain_find_notify(&m.outer, IKE_N_MOBIKE_SUPPORTED, &n));
    assert_int_equal(ike_chain_count(&m.outer, IKE_PL_NOTIFY), 4);
    free(buf);
}

/* The builder writes exactly the bytes written by hand above. */
static void test_sa_init_builder_matches(void **state)
{
    (void)state;
    size_t len;
    uint8_t *want = fill_sa_init(&len);
    uint8_t ke[64], nonce[32], nat_s[20], nat_d[20];
    const uint8_t hashes[] = {0, 2, 0, 3, 0, 4};
    uint8_t buf[512];
    struct ike_wr w;
    struct ike_hdr h;
    struct ike_span out;

    memset(ke, 0x11, sizeof(ke));
    memset(nonce, 0x22, sizeof(nonce));
    memset(nat_s, 0x33, sizeof(nat_s));
    memset(nat_d, 0x44, sizeof(nat_d));
    ikemsg_test_hdr(&h, IKE_EXCH_IKE_SA_INIT, IKE_FLAG_INITIATOR, 0);
    ike_wr_init(&w, buf, sizeof(buf));
    assert_int_equal(ike_wr_header(&w, &h), IKE_OK);
    assert_int_equal(ike_wr_sa_begin(&w), IKE_OK);
    assert_int_equal(ike_wr_proposal_begin(&w, 1, IKE_PROTO_IKE, NULL, 0), IKE_OK);
    assert_int_equal(ike_wr_transform(&w, IKE_XF_ENCR, IKE_ENCR_AES_CBC, 256), IKE_OK);
    assert_int_equal(ike_wr_transform(&w, IKE_XF_PRF, IKE_PRF_HMAC_SHA2_256, 0), IKE_OK);
    assert_int_equal(ike_wr_transform(&w, IKE_XF_INTEG, IKE_AUTH_HMAC_SHA2_256_128, 0), IKE_OK);
    assert_int_equal(ike_wr_transform(&w, IKE_XF_DH, IKE_GROUP_ECP_256, 0), IKE_OK);
    assert_int_equal(ike_wr_proposal_end(&w), IKE_OK);
    assert_int_equal(ike_wr_sa_end(&w), IKE_OK);
    assert_int_equal(ike_wr_ke(&w, IKE_GROUP_ECP_256, ke, sizeof(ke)), IKE_OK);
    assert_int_equal(ike_wr_nonce(&w, nonce, sizeof(nonce)), IKE_OK);
    assert_int_equal(ike_wr_notify(&w, 0, IKE_N_NAT_DETECTION_SOURCE_IP, NULL, 0, nat_s, 20),
                     IKE_OK);
    assert_int_equal(ike_wr_notify(&w, 0, IKE_N_NAT_DETECTION_DESTINATION_IP, NULL, 0, nat_d, 20),
                     IKE_OK);
    assert_int_equal(ike_wr_notify(&w, 0, IKE_N_IKEV2_FRAGMENTATION_SUPPORTED, NULL, 0, NULL, 0),
                     IKE_OK);
    assert_int_equal(
        ike_wr_notify(&w, 0, IKE_N_SIGNATURE_HASH_ALGORITHMS, NULL, 0, hashes, sizeof(hashes)),
        IKE_OK);
    assert_int_equal(ike_wr_finish(&w, &out), IKE_OK);
    assert_int_equal(out.len, len);
    assert_memory_equal(out.ptr, want, len);
    free(want);
}

static enum ike_err parse_copy(const uint8_t *data, size_t len, struct ike_msg *m,
                               struct ike_error *e)
{
    uint8_t *copy = ikemsg_test_dup(data, len);
    enum ike_err rc;

    assert_non_null(copy);
    memset(e, 0, sizeof(*e));
    rc = ike_msg_parse(m, copy, len, e);
    free(copy);
    return rc;
}

static void test_truncated_header(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = fill_sa_init(&len);
    struct ike_msg m;
    struct ike_error e;

    for (size_t cut = 0; cut < IKE_HDR_LEN; cut++) {
        assert_int_equal(parse_copy(buf, cut, &m, &e), IKE_ERR_TRUNCATED);
        assert_int_equal(ike_error_notify(&e), 0);
    }
    free(buf);
}

static void test_length_mismatch(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = fill_sa_init(&len);
    struct ike_msg m;
    struct ike_error e;

    /* Datagram shorter than the header says (cut anywhere past the header). */
    for (size_t cut = IKE_HDR_LEN; cut < len; cut += 7) {
        assert_int_equal(parse_copy(buf, cut, &m, &e), IKE_ERR_LENGTH);
        assert_int_equal(e.offset, 24);
    }
    /* Datagram longer than the header says. */
    uint8_t *longer = malloc(len + 4);
    assert_non_null(longer);
    memcpy(longer, buf, len);
    memset(longer + len, 0, 4);
    assert_int_equal(parse_copy(longer, len + 4, &m, &e), IKE_ERR_LENGTH);
    /* The header is still there to address a reply to, if one is wanted. */
    assert_int_equal(m.hdr.exchange, IKE_EXCH_IKE_SA_INIT);
    free(longer);
    free(buf);
}

static void test_major_version(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = fill_sa_init(&len);
    struct ike_msg m;
    struct ike_error e;

    buf[17] = 0x30;
    assert_int_equal(parse_copy(buf, len, &m, &e), IKE_ERR_MAJOR_VERSION);
    assert_int_equal(ike_error_notify(&e), IKE_N_INVALID_MAJOR_VERSION);
    assert_int_equal(m.hdr.major, 3);
    assert_int_equal(m.hdr.ispi[0], 1);
    /* Minor version is ignored on receipt. */
    buf[17] = 0x2f;
    assert_int_equal(parse_copy(buf, len, &m, &e), IKE_OK);
    free(buf);
}

static void test_payload_length_too_small(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = fill_sa_init(&len);
    struct ike_msg m;
    struct ike_error e;

    for (uint8_t bad = 0; bad < 4; bad++) {
        buf[148 + 3] = bad; /* Nonce payload length */
        assert_int_equal(parse_copy(buf, len, &m, &e), IKE_ERR_SYNTAX);
        assert_int_equal(e.offset, 150);
        assert_int_equal(e.payload, IKE_PL_NONCE);
        assert_int_equal(ike_error_notify(&e), IKE_N_INVALID_SYNTAX);
    }
    free(buf);
}

static void test_payload_length_past_end(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = fill_sa_init(&len);
    struct ike_msg m;
    struct ike_error e;

    buf[248 + 3] = 15; /* last notify claims one octet more than there is */
    assert_int_equal(parse_copy(buf, len, &m, &e), IKE_ERR_SYNTAX);
    assert_int_equal(e.offset, 250);
    buf[248 + 2] = 0xff;
    assert_int_equal(parse_copy(buf, len, &m, &e), IKE_ERR_SYNTAX);
    /* A chain that promises another payload where the message ends. */
    buf[248 + 2] = 0;
    buf[248 + 3] = 14;
    buf[248] = IKE_PL_VID;
    assert_int_equal(parse_copy(buf, len, &m, &e), IKE_ERR_SYNTAX);
    assert_int_equal(e.offset, len);
    free(buf);
}

static void test_trailing_octets(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = fill_sa_init(&len);
    struct ike_msg m;
    struct ike_error e;

    /* Nonce says "last payload" while notifies follow. */
    buf[148] = 0;
    assert_int_equal(parse_copy(buf, len, &m, &e), IKE_ERR_SYNTAX);
    assert_int_equal(e.offset, 184);
    free(buf);
}

static void test_unknown_critical(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = fill_sa_init(&len);
    struct ike_msg m;
    struct ike_error e;
    char line[160];

    buf[240] = 200;      /* the notify before the last now says "next: 200" */
    buf[248 + 1] = 0x80; /* critical */
    assert_int_equal(parse_copy(buf, len, &m, &e), IKE_ERR_CRITICAL);
    assert_int_equal(e.payload, 200);
    assert_int_equal(e.offset, 248);
    assert_int_equal(ike_error_notify(&e), IKE_N_UNSUPPORTED_CRITICAL_PAYLOAD);
    assert_true(ike_error_format(&e, line, sizeof(line)) > 0);
    assert_non_null(strstr(line, "UNSUPPORTED_CRITICAL_PAYLOAD at offset 248"));

    /* The same payload without the critical bit is passed over. */
    buf[248 + 1] = 0;
    assert_int_equal(parse_copy(buf, len, &m, &e), IKE_OK);
    assert_int_equal(m.outer.n, 6);
    assert_int_equal(m.outer.n_skipped, 1);

    /* The critical bit on a known payload changes nothing. */
    buf[240] = IKE_PL_NOTIFY;
    buf[148 + 1] = 0x80;
    assert_int_equal(parse_copy(buf, len, &m, &e), IKE_OK);
    assert_int_equal(m.outer.n, 7);
    assert_true(m.outer.pl[2].critical);
    free(buf);
}

static void test_unknown_skipped_mid_chain(void **state)
{
    (void)state;
    struct ike_wr w;
    struct ike_hdr h;
    struct ike_span out;
    struct ike_msg m;
    struct ike_error e;
    uint8_t nonce[16] = {0};
    const uint8_t junk[3] = {1, 2, 3};

    ikemsg_test_hdr(&h, IKE_EXCH_INFORMATIONAL, 0, 5);
    ike_wr_init_dyn(&w, 0);
    ike_wr_header(&w, &h);
    ike_wr_payload(&w, 99, false, junk, sizeof(junk));
    ike_wr_nonce(&w, nonce, sizeof(nonce));
    ike_wr_payload(&w, 250, false, NULL, 0);
    assert_int_equal(ike_wr_finish(&w, &out), IKE_OK);
    assert_int_equal(parse_copy(out.ptr, out.len, &m, &e), IKE_OK);
    assert_int_equal(m.outer.n, 1);
    assert_int_equal(m.outer.n_skipped, 2);
    assert_int_equal(m.outer.pl[0].type, IKE_PL_NONCE);
    ike_wr_free(&w);
}

static void test_too_many_payloads(void **state)
{
    (void)state;
    struct ike_wr w;
    struct ike_hdr h;
    struct ike_span out;
    struct ike_msg m;
    struct ike_error e;

    for (unsigned count = IKE_MAX_PAYLOADS; count <= IKE_MAX_PAYLOADS + 1; count++) {
        ikemsg_test_hdr(&h, IKE_EXCH_INFORMATIONAL, 0, 5);
        ike_wr_init_dyn(&w, 0);
        ike_wr_header(&w, &h);
        for (unsigned i = 0; i < count; i++)
            ike_wr_vid(&w, "x", 1);
        assert_int_equal(ike_wr_finish(&w, &out), IKE_OK);
        enum ike_err rc = parse_copy(out.ptr, out.len, &m, &e);
        if (count == IKE_MAX_PAYLOADS) {
            assert_int_equal(rc, IKE_OK);
            assert_int_equal(m.outer.n, IKE_MAX_PAYLOADS);
        } else {
            assert_int_equal(rc, IKE_ERR_LIMIT);
            assert_int_equal(ike_error_notify(&e), IKE_N_INVALID_SYNTAX);
        }
        ike_wr_free(&w);
    }
}

static void test_sk_must_be_last(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = ikemsg_test_ike_auth(&len);
    struct ike_msg m;
    struct ike_error e;

    assert_non_null(buf);
    assert_int_equal(parse_copy(buf, len, &m, &e), IKE_OK);
    assert_non_null(m.sk);
    assert_int_equal(m.sk->type, IKE_PL_SK);
    assert_int_equal(m.sk->next, IKE_PL_IDI);
    /* Shorten SK so octets follow it. */
    uint16_t sklen = (uint16_t)(buf[30] << 8 | buf[31]);
    buf[30] = (uint8_t)((sklen - 4) >> 8);
    buf[31] = (uint8_t)(sklen - 4);
    assert_int_equal(parse_copy(buf, len, &m, &e), IKE_ERR_SYNTAX);
    assert_int_equal(e.payload, IKE_PL_SK);
    free(buf);
}

/* The inner chain, "decrypted" in place (the sample has no IV/ICV and a
 * zero pad length), parsed and checked; then each inner framing fault. */
static void test_inner_chain(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = ikemsg_test_ike_auth(&len);
    struct ike_msg m;
    struct ike_error e;
    struct ike_sk sk;

    assert_int_equal(ike_msg_parse(&m, buf, len, &e), IKE_OK);
    assert_int_equal(ike_pl_sk(&m, m.sk, &sk, &e), IKE_OK);
    assert_int_equal(sk.aad_len, 32);
    assert_int_equal(sk.body.ptr[sk.body.len - 1], 0); /* pad length */
    size_t plain_len = sk.body.len - 1;
    uint8_t *plain = ikemsg_test_dup(sk.body.ptr, plain_len);
    assert_int_equal(ike_msg_parse_inner(&m, sk.first, plain, plain_len, &e), IKE_OK);
    assert_int_equal(m.inner.n, 10);
    assert_true(m.inner.pl[0].inner);
    assert_int_equal(ike_chain_validate(&m, &m.inner, &e), IKE_OK);

    /* The last inner payload claims more than the plaintext holds. */
    free(plain);
    plain = ikemsg_test_dup(sk.body.ptr, plain_len - 1);
    assert_int_equal(ike_msg_parse_inner(&m, sk.first, plain, plain_len - 1, &e), IKE_ERR_SYNTAX);
    assert_true(e.inner);
    free(plain);

    /* An SK inside the SK. */
    plain = ikemsg_test_dup(sk.body.ptr, plain_len);
    assert_int_equal(ike_msg_parse_inner(&m, IKE_PL_SK, plain, plain_len, &e), IKE_ERR_SYNTAX);
    free(plain);

    /* An unknown critical payload inside. */
    const uint8_t crit[] = {0, 0x80, 0, 4};
    plain = ikemsg_test_dup(crit, sizeof(crit));
    assert_int_equal(ike_msg_parse_inner(&m, 201, plain, sizeof(crit), &e), IKE_ERR_CRITICAL);
    assert_int_equal(e.payload, 201);
    assert_true(e.inner);
    free(plain);

    /* A chain with nothing in it: empty INFORMATIONAL (liveness check). */
    assert_int_equal(ike_msg_parse_inner(&m, IKE_PL_NONE, buf, 0, &e), IKE_OK);
    assert_int_equal(m.inner.n, 0);
    free(buf);
}

static void test_no_payloads(void **state)
{
    (void)state;
    struct ike_wr w;
    struct ike_hdr h;
    struct ike_span out;
    struct ike_msg m;
    struct ike_error e;
    uint8_t buf[IKE_HDR_LEN];

    ikemsg_test_hdr(&h, IKE_EXCH_INFORMATIONAL, IKE_FLAG_RESPONSE, 9);
    ike_wr_init(&w, buf, sizeof(buf));
    ike_wr_header(&w, &h);
    assert_int_equal(ike_wr_finish(&w, &out), IKE_OK);
    assert_int_equal(parse_copy(out.ptr, out.len, &m, &e), IKE_OK);
    assert_int_equal(m.outer.n, 0);
    assert_int_equal(m.hdr.flags, IKE_FLAG_RESPONSE);
    assert_int_equal(m.hdr.msgid, 9);
    assert_int_equal(ike_msg_parse_inner(&m, 0, buf, 0, &e), IKE_ERR_USAGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sa_init_byte_exact),
        cmocka_unit_test(test_sa_init_builder_matches),
        cmocka_unit_test(test_truncated_header),
        cmocka_unit_test(test_length_mismatch),
        cmocka_unit_test(test_major_version),
        cmocka_unit_test(test_payload_length_too_small),
        cmocka_unit_test(test_payload_length_past_end),
        cmocka_unit_test(test_trailing_octets),
        cmocka_unit_test(test_unknown_critical),
        cmocka_unit_test(test_unknown_skipped_mid_chain),
        cmocka_unit_test(test_too_many_payloads),
        cmocka_unit_test(test_sk_must_be_last),
        cmocka_unit_test(test_inner_chain),
        cmocka_unit_test(test_no_payloads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

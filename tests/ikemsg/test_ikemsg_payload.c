/* Typed payload parsers on malformed bodies: each case must give the right
 * error, and (under ASan) read nothing outside its exact-size buffer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ikemsg_test.h"

/* Parsed single-payload message; the buffer stays alive in `buf`. */
struct one {
    uint8_t *buf;
    struct ike_msg m;
    struct ike_error e;
};

static const struct ike_payload *one_parse(struct one *o, uint8_t type, const void *body,
                                           size_t body_len)
{
    size_t len;
    uint8_t *built = ikemsg_test_one(type, body, body_len, &len);

    assert_non_null(built);
    o->buf = ikemsg_test_dup(built, len);
    free(built);
    assert_int_equal(ike_msg_parse(&o->m, o->buf, len, &o->e), IKE_OK);
    assert_int_equal(o->m.outer.n, 1);
    return &o->m.outer.pl[0];
}

static enum ike_err sa_err(const uint8_t *body, size_t len, struct ike_error *e)
{
    struct one o;
    struct ike_sa_pl *sa = malloc(sizeof(*sa));
    const struct ike_payload *pl = one_parse(&o, IKE_PL_SA, body, len);
    enum ike_err rc;

    assert_non_null(sa);
    rc = ike_pl_sa(pl, sa, &o.e);
    *e = o.e;
    free(sa);
    free(o.buf);
    return rc;
}

/* One proposal (#1 IKE, no SPI) with ENCR_AES_CBC/256 and DH 19. */
static const uint8_t sa_ok[] = {
    0x00, 0x00, 0x00, 0x1c, 0x01, 0x01, 0x00, 0x02, 0x03, 0x00, 0x00, 0x0c, 0x01, 0x00,
    0x00, 0x0c, 0x80, 0x0e, 0x01, 0x00, 0x00, 0x00, 0x00, 0x08, 0x04, 0x00, 0x00, 0x13,
};

static void test_sa_valid_and_numbering(void **state)
{
    (void)state;
    struct ike_error e;
    uint8_t b[sizeof(sa_ok)];

    assert_int_equal(sa_err(sa_ok, sizeof(sa_ok), &e), IKE_OK);
    /* A lone proposal may carry the accepted number (a response). */
    memcpy(b, sa_ok, sizeof(b));
    b[4] = 7;
    assert_int_equal(sa_err(b, sizeof(b), &e), IKE_OK);
    b[4] = 0;
    assert_int_equal(sa_err(b, sizeof(b), &e), IKE_ERR_SYNTAX);
}

static void test_sa_zero_proposals(void **state)
{
    (void)state;
    struct ike_error e;

    assert_int_equal(sa_err(NULL, 0, &e), IKE_ERR_SYNTAX);
    assert_string_equal(e.what, "SA without proposals");
    assert_int_equal(ike_error_notify(&e), IKE_N_INVALID_SYNTAX);
}

static void test_sa_transform_length_lies(void **state)
{
    (void)state;
    struct ike_error e;
    uint8_t b[sizeof(sa_ok)];

    memcpy(b, sa_ok, sizeof(b));
    b[8 + 3] = 0x30; /* first transform claims 48 octets */
    assert_int_equal(sa_err(b, sizeof(b), &e), IKE_ERR_SYNTAX);
    assert_int_equal(e.offset, IKE_HDR_LEN + 4 + 8 + 2);
    memcpy(b, sa_ok, sizeof(b));
    b[8 + 3] = 0x04; /* shorter than a transform header */
    assert_int_equal(sa_err(b, sizeof(b), &e), IKE_ERR_SYNTAX);
    memcpy(b, sa_ok, sizeof(b));
    b[8 + 3] = 0x0a; /* cuts the attribute in half */
    assert_int_equal(sa_err(b, sizeof(b), &e), IKE_ERR_SYNTAX);
    memcpy(b, sa_ok, sizeof(b));
    b[3] = 0x1d; /* proposal longer than the SA */
    assert_int_equal(sa_err(b, sizeof(b), &e), IKE_ERR_SYNTAX);
    memcpy(b, sa_ok, sizeof(b));
    b[3] = 0x07; /* proposal shorter than its header */
    assert_int_equal(sa_err(b, sizeof(b), &e), IKE_ERR_SYNTAX);
    memcpy(b, sa_ok, sizeof(b));
    b[7] = 3; /* Num Transforms says 3, 2 present */
    assert_int_equal(sa_err(b, sizeof(b), &e), IKE_ERR_SYNTAX);
    b[7] = 1; /* says 1, 2 present */
    assert_int_equal(sa_err(b, sizeof(b), &e), IKE_ERR_SYNTAX);
    b[7] = 0;
    assert_int_equal(sa_err(b, sizeof(b), &e), IKE_ERR_SYNTAX);
    memcpy(b, sa_ok, sizeof(b));
    b[8] = 0; /* first transform claims to be the last */
    assert_int_equal(sa_err(b, sizeof(b), &e), IKE_ERR_SYNTAX);
    memcpy(b, sa_ok, sizeof(b));
    b[0] = 2; /* proposal claims more follow */
    assert_int_equal(sa_err(b, sizeof(b), &e), IKE_ERR_SYNTAX);
    /* TLV attribute with a length past the transform. */
    memcpy(b, sa_ok, sizeof(b));
    b[16] = 0x00;
    b[17] = 0x20;
    b[18] = 0x00;
    b[19] = 0x09;
    assert_int_equal(sa_err(b, sizeof(b), &e), IKE_ERR_SYNTAX);
    /* Key Length in TLV form. */
    b[17] = 0x0e;
    b[19] = 0x00;
    assert_int_equal(sa_err(b, sizeof(b), &e), IKE_ERR_SYNTAX);
}

/* An SA of `props` proposals with `xfs` transforms each, built by hand. */
static uint8_t *sa_many(unsigned props, unsigned xfs, size_t *len)
{
    size_t plen = 8 + 8 * (size_t)xfs;
    uint8_t *b = malloc(props * plen);

    assert_non_null(b);
    for (unsigned p = 0; p < props; p++) {
        uint8_t *q = b + p * plen;
        q[0] = p + 1 == props ? 0 : 2;
        q[1] = 0;
        q[2] = (uint8_t)(plen >> 8);
        q[3] = (uint8_t)plen;
        q[4] = (uint8_t)(p + 1);
        q[5] = IKE_PROTO_IKE;
        q[6] = 0;
        q[7] = (uint8_t)xfs;
        for (unsigned x = 0; x < xfs; x++) {
            uint8_t *t = q + 8 + 8 * x;
            const uint8_t xf[8] = {x + 1 == xfs ? 0 : 3, 0, 0, 8, IKE_XF_DH, 0, 0, (uint8_t)x};
            memcpy(t, xf, sizeof(xf));
        }
    }
    *len = props * plen;
    return b;
}

static void test_sa_transform_caps(void **state)
{
    (void)state;
    struct ike_error e;
    size_t len;
    uint8_t *b;

    b = sa_many(4, IKE_MAX_PROPOSAL_TRANSFORMS, &len); /* exactly 256 */
    assert_int_equal(sa_err(b, len, &e), IKE_OK);
    free(b);
    b = sa_many(5, 52, &len); /* 260 in all */
    assert_int_equal(sa_err(b, len, &e), IKE_ERR_LIMIT);
    assert_string_equal(e.what, "too many transforms in SA");
    free(b);
    b = sa_many(1, IKE_MAX_PROPOSAL_TRANSFORMS + 1, &len);
    assert_int_equal(sa_err(b, len, &e), IKE_ERR_LIMIT);
    free(b);
}

static void test_sa_attributes(void **state)
{
    (void)state;
    struct one o;
    struct ike_sa_pl *sa = malloc(sizeof(*sa));
    uint8_t b[sizeof(sa_ok)];

    assert_non_null(sa);
    /* An unknown TV attribute marks the transform, it is not an error. */
    memcpy(b, sa_ok, sizeof(b));
    b[17] = 0x22;
    const struct ike_payload *pl = one_parse(&o, IKE_PL_SA, b, sizeof(b));
    assert_int_equal(ike_pl_sa(pl, sa, &o.e), IKE_OK);
    assert_true(sa->xf[0].unknown_attr);
    assert_int_equal(sa->xf[0].key_len, 0);
    free(o.buf);

    /* Key Length twice in one transform. */
    const uint8_t twice[] = {
        0x00, 0x00, 0x00, 0x18, 0x01, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x10,
        0x01, 0x00, 0x00, 0x0c, 0x80, 0x0e, 0x00, 0x80, 0x80, 0x0e, 0x01, 0x00,
    };
    pl = one_parse(&o, IKE_PL_SA, twice, sizeof(twice));
    assert_int_equal(ike_pl_sa(pl, sa, &o.e), IKE_ERR_SYNTAX);
    assert_string_equal(o.e.what, "Key Length attribute repeated");
    free(o.buf);
    /* Key Length of zero bits. */
    uint8_t zero[sizeof(sa_ok)];
    memcpy(zero, sa_ok, sizeof(zero));
    zero[18] = 0;
    zero[19] = 0;
    pl = one_parse(&o, IKE_PL_SA, zero, sizeof(zero));
    assert_int_equal(ike_pl_sa(pl, sa, &o.e), IKE_ERR_SYNTAX);
    free(o.buf);
    free(sa);
}

static void test_sa_spi_and_protocol(void **state)
{
    (void)state;
    struct ike_error e;
    uint8_t b[sizeof(sa_ok)];

    memcpy(b, sa_ok, sizeof(b));
    b[5] = IKE_PROTO_ESP; /* ESP with no SPI */
    assert_int_equal(sa_err(b, sizeof(b), &e), IKE_ERR_SYNTAX);
    assert_string_equal(e.what, "SPI size wrong for the protocol");
    b[5] = 9;
    assert_int_equal(sa_err(b, sizeof(b), &e), IKE_ERR_SYNTAX);
    assert_string_equal(e.what, "unknown proposal protocol id");
    /* SPI size 8 claimed but the proposal is too short to hold it after
     * the header... the transforms would be read as SPI: counts disagree. */
    memcpy(b, sa_ok, sizeof(b));
    b[6] = 8;
    assert_int_equal(sa_err(b, sizeof(b), &e), IKE_ERR_SYNTAX);
}

static void test_sa_proposal_sequence(void **state)
{
    (void)state;
    struct ike_error e;
    uint8_t b[2 * sizeof(sa_ok)];

    memcpy(b, sa_ok, sizeof(sa_ok));
    memcpy(b + sizeof(sa_ok), sa_ok, sizeof(sa_ok));
    b[0] = 2;
    b[sizeof(sa_ok) + 4] = 2;
    assert_int_equal(sa_err(b, sizeof(b), &e), IKE_OK);
    b[sizeof(sa_ok) + 4] = 3; /* 1 then 3 */
    assert_int_equal(sa_err(b, sizeof(b), &e), IKE_ERR_SYNTAX);
    b[4] = 2; /* 2 then 3: first of several must be 1 */
    assert_int_equal(sa_err(b, sizeof(b), &e), IKE_ERR_SYNTAX);
    b[4] = 1;
    b[sizeof(sa_ok) + 4] = 1; /* same number: the deprecated AND form */
    assert_int_equal(sa_err(b, sizeof(b), &e), IKE_ERR_SYNTAX);
}

static void test_sa_limits(void **state)
{
    (void)state;
    struct ike_error e;
    size_t n = IKE_MAX_PROPOSALS + 1;
    uint8_t *b = malloc(n * sizeof(sa_ok));

    assert_non_null(b);
    for (size_t i = 0; i < n; i++) {
        memcpy(b + i * sizeof(sa_ok), sa_ok, sizeof(sa_ok));
        b[i * sizeof(sa_ok)] = i + 1 == n ? 0 : 2;
        b[i * sizeof(sa_ok) + 4] = (uint8_t)(i + 1);
    }
    assert_int_equal(sa_err(b, n * sizeof(sa_ok), &e), IKE_ERR_LIMIT);
    assert_int_equal(sa_err(b + sizeof(sa_ok), (n - 1) * sizeof(sa_ok), &e), IKE_ERR_SYNTAX);
    free(b);
}

static enum ike_err body_err(uint8_t type, const void *body, size_t len, struct ike_error *e)
{
    struct one o;
    const struct ike_payload *pl = one_parse(&o, type, body, len);
    union {
        struct ike_ts_set ts;
        struct ike_cp cp;
    } *u = malloc(sizeof(*u));
    enum ike_err rc;

    assert_non_null(u);
    switch (type) {
    case IKE_PL_TSI:
    case IKE_PL_TSR:
        rc = ike_pl_ts(pl, &u->ts, &o.e);
        break;
    case IKE_PL_CP:
        rc = ike_pl_cp(pl, &u->cp, &o.e);
        break;
    default:
        rc = ike_chain_validate(&o.m, &o.m.outer, &o.e);
        break;
    }
    *e = o.e;
    free(u);
    free(o.buf);
    return rc;
}

static void test_ts(void **state)
{
    (void)state;
    struct ike_error e;
    uint8_t b[4 + 16] = {
        1, 0, 0, 0, IKE_TS_IPV4_ADDR_RANGE, 6, 0, 16, 0, 0, 0xff, 0xff, 10, 0, 0, 1, 10, 0, 0, 9};

    assert_int_equal(body_err(IKE_PL_TSI, b, sizeof(b), &e), IKE_OK);
    b[15] = 10; /* start 10.0.0.10 > end 10.0.0.9 */
    assert_int_equal(body_err(IKE_PL_TSI, b, sizeof(b), &e), IKE_ERR_SYNTAX);
    assert_string_equal(e.what, "selector start address above end address");
    b[15] = 1;
    b[8] = 0x01; /* start port 256 > end port 255 */
    b[10] = 0x00;
    b[11] = 0xff;
    assert_int_equal(body_err(IKE_PL_TSR, b, sizeof(b), &e), IKE_ERR_SYNTAX);
    b[8] = 0xff; /* 65535..0: OPAQUE */
    b[9] = 0xff;
    b[10] = 0;
    b[11] = 0;
    assert_int_equal(body_err(IKE_PL_TSR, b, sizeof(b), &e), IKE_OK);
    b[7] = 40; /* selector length of an IPv6 selector */
    assert_int_equal(body_err(IKE_PL_TSR, b, sizeof(b), &e), IKE_ERR_SYNTAX);
    b[7] = 16;
    b[0] = 2; /* two declared, one present */
    assert_int_equal(body_err(IKE_PL_TSR, b, sizeof(b), &e), IKE_ERR_SYNTAX);
    b[0] = 0;
    assert_int_equal(body_err(IKE_PL_TSR, b, sizeof(b), &e), IKE_ERR_SYNTAX);
    b[0] = IKE_MAX_TS + 1;
    assert_int_equal(body_err(IKE_PL_TSR, b, sizeof(b), &e), IKE_ERR_LIMIT);
    b[0] = 1;
    b[4] = 9; /* unknown selector type */
    assert_int_equal(body_err(IKE_PL_TSR, b, sizeof(b), &e), IKE_ERR_SYNTAX);
    assert_int_equal(body_err(IKE_PL_TSR, b, 6, &e), IKE_ERR_SYNTAX);
    assert_int_equal(body_err(IKE_PL_TSR, b, 3, &e), IKE_ERR_SYNTAX);
}

static void test_nonce_bounds(void **state)
{
    (void)state;
    struct ike_error e;
    uint8_t n[IKE_NONCE_MAX + 1] = {0};

    assert_int_equal(body_err(IKE_PL_NONCE, n, 15, &e), IKE_ERR_SYNTAX);
    assert_string_equal(e.what, "nonce shorter than 16 octets");
    assert_int_equal(body_err(IKE_PL_NONCE, n, 16, &e), IKE_OK);
    assert_int_equal(body_err(IKE_PL_NONCE, n, 256, &e), IKE_OK);
    assert_int_equal(body_err(IKE_PL_NONCE, n, 257, &e), IKE_ERR_SYNTAX);
    assert_string_equal(e.what, "nonce longer than 256 octets");
}

static void test_small_payloads(void **state)
{
    (void)state;
    struct ike_error e;
    const uint8_t ke_empty[4] = {0, 19, 0, 0};
    const uint8_t id4_bad[7] = {IKE_ID_IPV4_ADDR, 0, 0, 0, 10, 0, 0};
    const uint8_t id6_bad[8] = {IKE_ID_IPV6_ADDR, 0, 0, 0, 1, 2, 3, 4};
    const uint8_t auth_ds_bad[7] = {IKE_AUTH_DIGITAL_SIGNATURE, 0, 0, 0, 2, 0x30, 0};
    const uint8_t auth_ds_zero[7] = {IKE_AUTH_DIGITAL_SIGNATURE, 0, 0, 0, 0, 1, 2};
    const uint8_t n_spi_past[6] = {IKE_PROTO_ESP, 4, 0x40, 0x09, 1, 2};
    const uint8_t n_nat_short[8] = {0, 0, 0x40, 0x04, 1, 2, 3, 4};
    const uint8_t n_cookie2_short[8] = {0, 0, 0x40, 0x11, 1, 2, 3, 4};
    const uint8_t n_rekey_nospi[4] = {IKE_PROTO_ESP, 0, 0x40, 0x09};
    const uint8_t d_ike_spi[8] = {IKE_PROTO_IKE, 4, 0, 1, 1, 2, 3, 4};
    const uint8_t d_esp_count[8] = {IKE_PROTO_ESP, 4, 0, 2, 1, 2, 3, 4};
    const uint8_t d_esp_size[8] = {IKE_PROTO_ESP, 8, 0, 1, 1, 2, 3, 4};
    const uint8_t eap_bad[5] = {1, 1, 0, 9, 1};
    const uint8_t eap_ok[5] = {1, 1, 0, 5, 1};
    const uint8_t cert_empty[1] = {IKE_CERT_X509_SIG};

    assert_int_equal(body_err(IKE_PL_KE, ke_empty, sizeof(ke_empty), &e), IKE_ERR_SYNTAX);
    assert_int_equal(body_err(IKE_PL_KE, ke_empty, 2, &e), IKE_ERR_SYNTAX);
    assert_int_equal(body_err(IKE_PL_IDI, id4_bad, sizeof(id4_bad), &e), IKE_ERR_SYNTAX);
    assert_int_equal(body_err(IKE_PL_IDR, id6_bad, sizeof(id6_bad), &e), IKE_ERR_SYNTAX);
    assert_int_equal(body_err(IKE_PL_IDR, id6_bad, 4, &e), IKE_ERR_SYNTAX);
    assert_int_equal(body_err(IKE_PL_AUTH, auth_ds_bad, sizeof(auth_ds_bad), &e), IKE_ERR_SYNTAX);
    assert_int_equal(body_err(IKE_PL_AUTH, auth_ds_zero, sizeof(auth_ds_zero), &e), IKE_ERR_SYNTAX);
    assert_int_equal(body_err(IKE_PL_AUTH, auth_ds_zero, 4, &e), IKE_ERR_SYNTAX);
    assert_int_equal(body_err(IKE_PL_NOTIFY, n_spi_past, sizeof(n_spi_past), &e), IKE_ERR_SYNTAX);
    assert_int_equal(body_err(IKE_PL_NOTIFY, n_spi_past, 3, &e), IKE_ERR_SYNTAX);
    assert_int_equal(body_err(IKE_PL_NOTIFY, n_nat_short, sizeof(n_nat_short), &e), IKE_ERR_SYNTAX);
    assert_int_equal(body_err(IKE_PL_NOTIFY, n_cookie2_short, sizeof(n_cookie2_short), &e),
                     IKE_ERR_SYNTAX);
    assert_int_equal(body_err(IKE_PL_NOTIFY, n_rekey_nospi, sizeof(n_rekey_nospi), &e),
                     IKE_ERR_SYNTAX);
    assert_int_equal(body_err(IKE_PL_DELETE, d_ike_spi, sizeof(d_ike_spi), &e), IKE_ERR_SYNTAX);
    assert_int_equal(body_err(IKE_PL_DELETE, d_esp_count, sizeof(d_esp_count), &e), IKE_ERR_SYNTAX);
    assert_int_equal(body_err(IKE_PL_DELETE, d_esp_size, sizeof(d_esp_size), &e), IKE_ERR_SYNTAX);
    assert_int_equal(body_err(IKE_PL_DELETE, d_esp_size, 3, &e), IKE_ERR_SYNTAX);
    assert_int_equal(body_err(IKE_PL_EAP, eap_bad, sizeof(eap_bad), &e), IKE_ERR_SYNTAX);
    assert_int_equal(body_err(IKE_PL_EAP, eap_ok, sizeof(eap_ok), &e), IKE_OK);
    assert_int_equal(body_err(IKE_PL_CERT, cert_empty, sizeof(cert_empty), &e), IKE_ERR_SYNTAX);
    assert_int_equal(body_err(IKE_PL_CERTREQ, cert_empty, sizeof(cert_empty), &e), IKE_OK);
    assert_int_equal(body_err(IKE_PL_CERTREQ, cert_empty, 0, &e), IKE_ERR_SYNTAX);
    assert_int_equal(body_err(IKE_PL_VID, NULL, 0, &e), IKE_OK);
}

static void test_cp(void **state)
{
    (void)state;
    struct ike_error e;
    uint8_t b[4 + 4 + 3] = {
        IKE_CFG_REQUEST, 0, 0, 0, 0x80, IKE_CFGA_INTERNAL_IP4_ADDRESS, 0, 3, 10, 0, 0};

    /* A 3-octet IPv4 address (R bit set: ignored). */
    assert_int_equal(body_err(IKE_PL_CP, b, sizeof(b), &e), IKE_ERR_SYNTAX);
    b[7] = 4; /* value runs past the payload */
    assert_int_equal(body_err(IKE_PL_CP, b, sizeof(b), &e), IKE_ERR_SYNTAX);
    b[7] = 0; /* empty request plus 3 stray octets: a truncated attribute */
    assert_int_equal(body_err(IKE_PL_CP, b, sizeof(b), &e), IKE_ERR_SYNTAX);
    assert_int_equal(body_err(IKE_PL_CP, b, 8, &e), IKE_OK);
    b[0] = 9; /* unknown CFG type */
    assert_int_equal(body_err(IKE_PL_CP, b, 8, &e), IKE_ERR_SYNTAX);
    assert_int_equal(body_err(IKE_PL_CP, b, 2, &e), IKE_ERR_SYNTAX);

    uint8_t *body = malloc(4 + (IKE_MAX_CP_ATTRS + 1) * 4);
    assert_non_null(body);
    memset(body, 0, 4);
    body[0] = IKE_CFG_REQUEST;
    for (unsigned i = 0; i <= IKE_MAX_CP_ATTRS; i++) {
        uint8_t *a = body + 4 + i * 4;
        a[0] = 0;
        a[1] = IKE_CFGA_INTERNAL_IP4_DNS;
        a[2] = 0;
        a[3] = 0;
    }
    assert_int_equal(body_err(IKE_PL_CP, body, 4 + IKE_MAX_CP_ATTRS * 4, &e), IKE_OK);
    assert_int_equal(body_err(IKE_PL_CP, body, 4 + (IKE_MAX_CP_ATTRS + 1) * 4, &e), IKE_ERR_LIMIT);
    free(body);
}

static void test_skf(void **state)
{
    (void)state;
    struct one o;
    struct ike_sk sk;
    uint8_t b[4 + 3] = {0, 1, 0, 2, 0xaa, 0xbb, 0xcc};
    const struct ike_payload *pl = one_parse(&o, IKE_PL_SKF, b, sizeof(b));

    assert_ptr_equal(o.m.sk, pl);
    assert_int_equal(ike_pl_sk(&o.m, pl, &sk, &o.e), IKE_OK);
    assert_int_equal(sk.frag_num, 1);
    assert_int_equal(sk.frag_total, 2);
    assert_int_equal(sk.body.len, 3);
    assert_int_equal(sk.aad_len, IKE_HDR_LEN + 8);
    free(o.buf);

    b[1] = 3; /* fragment 3 of 2 */
    pl = one_parse(&o, IKE_PL_SKF, b, sizeof(b));
    assert_int_equal(ike_pl_sk(&o.m, pl, &sk, &o.e), IKE_ERR_SYNTAX);
    free(o.buf);
    b[1] = 0;
    pl = one_parse(&o, IKE_PL_SKF, b, sizeof(b));
    assert_int_equal(ike_pl_sk(&o.m, pl, &sk, &o.e), IKE_ERR_SYNTAX);
    free(o.buf);
    pl = one_parse(&o, IKE_PL_SKF, b, 3);
    assert_int_equal(ike_pl_sk(&o.m, pl, &sk, &o.e), IKE_ERR_SYNTAX);
    free(o.buf);
}

static void test_wrong_type_is_usage(void **state)
{
    (void)state;
    struct one o;
    struct ike_ke ke;
    uint8_t n[16] = {0};
    const struct ike_payload *pl = one_parse(&o, IKE_PL_NONCE, n, sizeof(n));

    assert_int_equal(ike_pl_ke(pl, &ke, &o.e), IKE_ERR_USAGE);
    assert_int_equal(ike_error_notify(&o.e), 0);
    free(o.buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sa_valid_and_numbering),
        cmocka_unit_test(test_sa_zero_proposals),
        cmocka_unit_test(test_sa_transform_length_lies),
        cmocka_unit_test(test_sa_transform_caps),
        cmocka_unit_test(test_sa_attributes),
        cmocka_unit_test(test_sa_spi_and_protocol),
        cmocka_unit_test(test_sa_proposal_sequence),
        cmocka_unit_test(test_sa_limits),
        cmocka_unit_test(test_ts),
        cmocka_unit_test(test_nonce_bounds),
        cmocka_unit_test(test_small_payloads),
        cmocka_unit_test(test_cp),
        cmocka_unit_test(test_skf),
        cmocka_unit_test(test_wrong_type_is_usage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

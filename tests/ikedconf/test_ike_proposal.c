/* Proposal selection against peer SA payloads built with the codec's
 * writer and parsed back (as they arrive), and the SA payloads we answer
 * with, re-parsed to exactly the choice. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ike_payload_wr.h"
#include "ike_proposal.h"

struct xf {
    uint8_t type;
    uint16_t id;
    uint16_t key_len;
};

struct prop {
    uint8_t proto;
    const struct xf *xf;
    size_t n;
    uint32_t spi; /* ESP */
};

#define PROP(proto, arr)                                                                           \
    {                                                                                              \
        proto, arr, sizeof(arr) / sizeof(arr[0]), 0                                                \
    }
#define ESP(arr, spi)                                                                              \
    {                                                                                              \
        IKE_PROTO_ESP, arr, sizeof(arr) / sizeof(arr[0]), spi                                      \
    }

/* Parses the one SA payload of a header-less chain. */
static void parse_sa(const struct ike_span *chain, struct ike_sa_pl *out)
{
    struct ike_chain c;
    struct ike_error err;
    assert_int_equal(ike_chain_parse(&c, IKE_PL_SA, chain->ptr, chain->len, 0, 0, &err), IKE_OK);
    assert_int_equal(c.n, 1);
    assert_int_equal(ike_pl_sa(&c.pl[0], out, &err), IKE_OK);
}

/* The peer's SA payload as the codec gives it to the responder. */
static void peer_sa(const struct prop *props, size_t n, struct ike_sa_pl *out)
{
    struct ike_wr w;
    struct ike_span s;
    ike_wr_init_dyn(&w, 0);
    ike_wr_sa_begin(&w);
    for (size_t i = 0; i < n; i++) {
        uint8_t spi[4] = {(uint8_t)(props[i].spi >> 24), (uint8_t)(props[i].spi >> 16),
                          (uint8_t)(props[i].spi >> 8), (uint8_t)props[i].spi};
        bool esp = props[i].proto == IKE_PROTO_ESP;
        ike_wr_proposal_begin(&w, (uint8_t)(i + 1), props[i].proto, esp ? spi : NULL, esp ? 4 : 0);
        for (size_t j = 0; j < props[i].n; j++)
            ike_wr_transform(&w, props[i].xf[j].type, props[i].xf[j].id, props[i].xf[j].key_len);
        ike_wr_proposal_end(&w);
    }
    ike_wr_sa_end(&w);
    assert_int_equal(ike_wr_finish(&w, &s), IKE_OK);
    parse_sa(&s, out);
    ike_wr_free(&w);
}

/* Settings from an [iked] section with these proposal lists (NULL: the
 * default list). */
static void settings(struct iked_settings *set, const char *ike, const char *esp)
{
    char text[1024];
    struct iked_conf conf;
    struct conf_file cf;
    struct conf_error err;
    snprintf(text, sizeof(text), "[iked]\n%s%s\n%s%s\n", ike ? "ike_proposals = " : "",
             ike ? ike : "", esp ? "esp_proposals = " : "", esp ? esp : "");
    memset(&conf, 0, sizeof(conf));
    assert_int_equal(conf_file_parse("t.conf", text, &cf, &err), 0);
    assert_int_equal(conf_bind(&cf, "iked", iked_conf_schema, &conf, false, &err), 0);
    if (iked_settings_load(&cf, &conf, set, &err) != 0)
        fail_msg("%s", err.msg);
    conf_unbind(iked_conf_schema, &conf);
    conf_file_free(&cf);
}

/* ---- IKE ---- */

/* strongSwan's usual single proposal of non-AEAD algorithms: many of each
 * type, in an order unlike ours. */
static const struct xf cbc_many[] = {
    {IKE_XF_DH, IKE_DH_CURVE25519, 0},
    {IKE_XF_ENCR, IKE_ENCR_AES_CBC, 256},
    {IKE_XF_INTEG, IKE_INTEG_HMAC_SHA2_512_256, 0},
    {IKE_XF_ENCR, IKE_ENCR_AES_CBC, 128},
    {IKE_XF_PRF, IKE_PRF_HMAC_SHA2_512, 0},
    {IKE_XF_INTEG, IKE_INTEG_HMAC_SHA2_256_128, 0},
    {IKE_XF_PRF, IKE_PRF_HMAC_SHA2_256, 0},
    {IKE_XF_DH, IKE_DH_ECP_256, 0},
    {IKE_XF_DH, IKE_DH_MODP_2048, 0},
};

static const struct xf gcm_both[] = {
    {IKE_XF_ENCR, IKE_ENCR_AES_GCM_16, 256}, {IKE_XF_ENCR, IKE_ENCR_AES_GCM_16, 128},
    {IKE_XF_PRF, IKE_PRF_HMAC_SHA2_384, 0},  {IKE_XF_PRF, IKE_PRF_HMAC_SHA2_256, 0},
    {IKE_XF_DH, IKE_DH_CURVE25519, 0},       {IKE_XF_DH, IKE_DH_ECP_256, 0},
};

static void test_ike_non_aead(void **state)
{
    (void)state;
    struct iked_settings set;
    struct ike_sa_pl sa;
    struct ike_proposal_choice c;
    uint16_t want = 99;
    settings(&set, NULL, NULL); /* the defaults */
    const struct prop p[] = {PROP(IKE_PROTO_IKE, cbc_many)};
    peer_sa(p, 1, &sa);
    /* No GCM offered, no modp3072: our fourth, aes128-sha256-modp2048. */
    assert_int_equal(ike_proposal_select_ike(&set, &sa, IKE_DH_MODP_2048, &c, &want), 0);
    assert_int_equal(want, 0);
    assert_int_equal(c.num, 1);
    assert_int_equal(c.suite.encr, IKE_ENCR_AES_CBC);
    assert_int_equal(c.suite.encr_keybits, 128);
    assert_int_equal(c.suite.integ, IKE_INTEG_HMAC_SHA2_256_128);
    assert_int_equal(c.suite.prf, IKE_PRF_HMAC_SHA2_256);
    assert_int_equal(c.suite.dh, IKE_DH_MODP_2048);
    /* The peer guessed curve25519: it offered modp2048, so ask for that. */
    assert_int_equal(ike_proposal_select_ike(&set, &sa, IKE_DH_CURVE25519, &c, &want), 0);
    assert_int_equal(want, IKE_DH_MODP_2048);
    /* Without a KE to compare (0) nothing is asked for; NULL want is fine. */
    assert_int_equal(ike_proposal_select_ike(&set, &sa, 0, &c, &want), 0);
    assert_int_equal(want, 0);
    assert_int_equal(ike_proposal_select_ike(&set, &sa, IKE_DH_CURVE25519, &c, NULL), 0);

    /* Our own list decides, not the peer's order. */
    settings(&set, "aes256-sha512-curve25519 aes128-sha256-modp2048", NULL);
    assert_int_equal(ike_proposal_select_ike(&set, &sa, IKE_DH_CURVE25519, &c, &want), 0);
    assert_int_equal(want, 0);
    assert_int_equal(c.suite.encr_keybits, 256);
    assert_int_equal(c.suite.integ, IKE_INTEG_HMAC_SHA2_512_256);
    assert_int_equal(c.suite.prf, IKE_PRF_HMAC_SHA2_512);
    assert_int_equal(c.suite.dh, IKE_DH_CURVE25519);

    /* An explicit PRF other than the integrity hash must be offered too:
     * the peer has no PRF_HMAC_SHA2_384. */
    settings(&set, "aes128-sha256-prfsha384-modp2048", NULL);
    assert_int_equal(ike_proposal_select_ike(&set, &sa, IKE_DH_MODP_2048, &c, &want), -1);
}

static void test_ike_aead(void **state)
{
    (void)state;
    struct iked_settings set;
    struct ike_sa_pl sa;
    struct ike_proposal_choice c;
    uint16_t want;
    settings(&set, NULL, NULL);
    /* strongSwan's two default proposals: non-AEAD first, AEAD second. */
    const struct prop p[] = {PROP(IKE_PROTO_IKE, cbc_many), PROP(IKE_PROTO_IKE, gcm_both)};
    peer_sa(p, 2, &sa);
    assert_int_equal(ike_proposal_select_ike(&set, &sa, IKE_DH_ECP_256, &c, &want), 0);
    assert_int_equal(want, 0);
    assert_int_equal(c.num, 2);
    assert_int_equal(c.suite.encr, IKE_ENCR_AES_GCM_16);
    assert_int_equal(c.suite.encr_keybits, 128);
    assert_int_equal(c.suite.integ, IKE_INTEG_NONE);
    assert_int_equal(c.suite.prf, IKE_PRF_HMAC_SHA2_256);
    assert_int_equal(c.suite.dh, IKE_DH_ECP_256);
    /* KE curve25519: our first choice still wins, the peer is asked. */
    assert_int_equal(ike_proposal_select_ike(&set, &sa, IKE_DH_CURVE25519, &c, &want), 0);
    assert_int_equal(want, IKE_DH_ECP_256);
    assert_int_equal(c.suite.dh, IKE_DH_ECP_256);

    /* GCM with INTEG NONE is the same; GCM with a real INTEG only is
     * malformed (RFC 5282 §8) and not taken. */
    const struct xf gcm_none[] = {{IKE_XF_ENCR, IKE_ENCR_AES_GCM_16, 128},
                                  {IKE_XF_INTEG, IKE_INTEG_NONE, 0},
                                  {IKE_XF_PRF, IKE_PRF_HMAC_SHA2_256, 0},
                                  {IKE_XF_DH, IKE_DH_ECP_256, 0}};
    const struct prop p2[] = {PROP(IKE_PROTO_IKE, gcm_none)};
    peer_sa(p2, 1, &sa);
    assert_int_equal(ike_proposal_select_ike(&set, &sa, IKE_DH_ECP_256, &c, &want), 0);
    assert_int_equal(c.suite.integ, IKE_INTEG_NONE);
    const struct xf gcm_integ[] = {{IKE_XF_ENCR, IKE_ENCR_AES_GCM_16, 128},
                                   {IKE_XF_INTEG, IKE_INTEG_HMAC_SHA2_256_128, 0},
                                   {IKE_XF_PRF, IKE_PRF_HMAC_SHA2_256, 0},
                                   {IKE_XF_DH, IKE_DH_ECP_256, 0}};
    const struct prop p3[] = {PROP(IKE_PROTO_IKE, gcm_integ)};
    peer_sa(p3, 1, &sa);
    assert_int_equal(ike_proposal_select_ike(&set, &sa, IKE_DH_ECP_256, &c, &want), -1);
}

static void test_ike_key_lengths(void **state)
{
    (void)state;
    struct iked_settings set;
    struct ike_sa_pl sa;
    struct ike_proposal_choice c;
    uint16_t want;
    settings(&set, "aes256gcm16-prfsha384-ecp384 aes128-sha256-modp2048", NULL);
    /* GCM-192 and a CBC without its Key Length attribute match nothing. */
    const struct xf odd[] = {{IKE_XF_ENCR, IKE_ENCR_AES_GCM_16, 192},
                             {IKE_XF_ENCR, IKE_ENCR_AES_CBC, 0},
                             {IKE_XF_INTEG, IKE_INTEG_HMAC_SHA2_256_128, 0},
                             {IKE_XF_PRF, IKE_PRF_HMAC_SHA2_256, 0},
                             {IKE_XF_PRF, IKE_PRF_HMAC_SHA2_384, 0},
                             {IKE_XF_DH, IKE_DH_ECP_384, 0},
                             {IKE_XF_DH, IKE_DH_MODP_2048, 0}};
    const struct prop p[] = {PROP(IKE_PROTO_IKE, odd)};
    peer_sa(p, 1, &sa);
    assert_int_equal(ike_proposal_select_ike(&set, &sa, IKE_DH_ECP_384, &c, &want), -1);
    /* The same with GCM-256 (a second proposal): the first of ours. */
    const struct xf g256[] = {{IKE_XF_ENCR, IKE_ENCR_AES_GCM_16, 256},
                              {IKE_XF_PRF, IKE_PRF_HMAC_SHA2_384, 0},
                              {IKE_XF_DH, IKE_DH_ECP_384, 0}};
    const struct prop p2[] = {PROP(IKE_PROTO_IKE, odd), PROP(IKE_PROTO_IKE, g256)};
    peer_sa(p2, 2, &sa);
    assert_int_equal(ike_proposal_select_ike(&set, &sa, IKE_DH_ECP_384, &c, &want), 0);
    assert_int_equal(c.num, 2);
    assert_int_equal(c.suite.encr_keybits, 256);
    assert_int_equal(c.suite.prf, IKE_PRF_HMAC_SHA2_384);
}

static void test_ike_refused(void **state)
{
    (void)state;
    struct iked_settings set;
    struct ike_sa_pl sa;
    struct ike_proposal_choice c;
    uint16_t want = 7;
    settings(&set, NULL, NULL);

    /* A type we do not know (RFC 9370 additional key exchange, 6) makes
     * the whole proposal unacceptable (§3.3.6); the next one is taken. */
    const struct xf addke[] = {{IKE_XF_ENCR, IKE_ENCR_AES_GCM_16, 128},
                               {IKE_XF_PRF, IKE_PRF_HMAC_SHA2_256, 0},
                               {IKE_XF_DH, IKE_DH_ECP_256, 0},
                               {6, 36, 0}};
    const struct prop p[] = {PROP(IKE_PROTO_IKE, addke), PROP(IKE_PROTO_IKE, gcm_both)};
    peer_sa(p, 2, &sa);
    assert_int_equal(ike_proposal_select_ike(&set, &sa, IKE_DH_ECP_256, &c, &want), 0);
    assert_int_equal(c.num, 2);
    peer_sa(p, 1, &sa);
    assert_int_equal(ike_proposal_select_ike(&set, &sa, IKE_DH_ECP_256, &c, &want), -1);
    assert_int_equal(want, 0);

    /* A transform with an attribute we do not understand is unsupported. */
    peer_sa(&p[1], 1, &sa);
    for (unsigned i = 0; i < sa.n_xf; i++)
        if (sa.xf[i].type == IKE_XF_ENCR)
            sa.xf[i].unknown_attr = true;
    assert_int_equal(ike_proposal_select_ike(&set, &sa, IKE_DH_ECP_256, &c, &want), -1);

    /* No group of ours, no PRF, no DH at all: nothing. */
    const struct xf no_dh[] = {{IKE_XF_ENCR, IKE_ENCR_AES_GCM_16, 128},
                               {IKE_XF_PRF, IKE_PRF_HMAC_SHA2_256, 0}};
    const struct xf other_dh[] = {{IKE_XF_ENCR, IKE_ENCR_AES_GCM_16, 128},
                                  {IKE_XF_PRF, IKE_PRF_HMAC_SHA2_256, 0},
                                  {IKE_XF_DH, IKE_DH_ECP_521, 0}};
    const struct xf no_prf[] = {{IKE_XF_ENCR, IKE_ENCR_AES_GCM_16, 128},
                                {IKE_XF_DH, IKE_DH_ECP_256, 0}};
    const struct prop p2[] = {PROP(IKE_PROTO_IKE, no_dh), PROP(IKE_PROTO_IKE, other_dh),
                              PROP(IKE_PROTO_IKE, no_prf)};
    peer_sa(p2, 3, &sa);
    assert_int_equal(ike_proposal_select_ike(&set, &sa, IKE_DH_ECP_521, &c, &want), -1);
    assert_int_equal(want, 0);

    /* ESP proposals are not IKE proposals. */
    const struct xf esp_gcm[] = {{IKE_XF_ENCR, IKE_ENCR_AES_GCM_16, 128},
                                 {IKE_XF_PRF, IKE_PRF_HMAC_SHA2_256, 0},
                                 {IKE_XF_DH, IKE_DH_ECP_256, 0}};
    const struct prop p3[] = {ESP(esp_gcm, 0x01020304)};
    peer_sa(p3, 1, &sa);
    assert_int_equal(ike_proposal_select_ike(&set, &sa, IKE_DH_ECP_256, &c, &want), -1);
    assert_int_equal(ike_proposal_select_ike(NULL, &sa, 0, &c, &want), -1);
}

/* The SA payload we answer with, parsed back. */
static void written(const struct ike_proposal_choice *c, bool esp, uint32_t spi,
                    struct ike_sa_pl *out)
{
    struct ike_wr w;
    struct ike_span s;
    ike_wr_init_dyn(&w, 0);
    if (esp)
        assert_int_equal(ike_proposal_write_esp(&w, c, spi), IKE_OK);
    else
        assert_int_equal(ike_proposal_write_ike(&w, c), IKE_OK);
    assert_int_equal(ike_wr_finish(&w, &s), IKE_OK);
    parse_sa(&s, out);
    ike_wr_free(&w);
}

static void expect_xf(const struct ike_sa_pl *sa, unsigned i, uint8_t type, uint16_t id,
                      uint16_t key_len)
{
    assert_true(i < sa->prop[0].n_xf);
    const struct ike_transform *x = &sa->xf[sa->prop[0].first_xf + i];
    assert_int_equal(x->type, type);
    assert_int_equal(x->id, id);
    assert_int_equal(x->key_len, key_len);
    assert_false(x->unknown_attr);
}

static void test_ike_write(void **state)
{
    (void)state;
    struct iked_settings set;
    struct ike_sa_pl sa, out;
    struct ike_proposal_choice c;
    uint16_t want;
    settings(&set, NULL, NULL);
    const struct prop p[] = {PROP(IKE_PROTO_IKE, cbc_many), PROP(IKE_PROTO_IKE, gcm_both)};
    peer_sa(p, 2, &sa);
    assert_int_equal(ike_proposal_select_ike(&set, &sa, IKE_DH_ECP_256, &c, &want), 0);
    written(&c, false, 0, &out);
    assert_int_equal(out.n_prop, 1);
    assert_int_equal(out.prop[0].num, 2);
    assert_int_equal(out.prop[0].proto, IKE_PROTO_IKE);
    assert_int_equal(out.prop[0].spi_len, 0);
    assert_int_equal(out.prop[0].n_xf, 3);
    expect_xf(&out, 0, IKE_XF_ENCR, IKE_ENCR_AES_GCM_16, 128);
    expect_xf(&out, 1, IKE_XF_PRF, IKE_PRF_HMAC_SHA2_256, 0);
    expect_xf(&out, 2, IKE_XF_DH, IKE_DH_ECP_256, 0);

    /* Non-AEAD: with INTEG. And the answer is itself acceptable to us. */
    peer_sa(p, 1, &sa);
    assert_int_equal(ike_proposal_select_ike(&set, &sa, IKE_DH_MODP_2048, &c, &want), 0);
    written(&c, false, 0, &out);
    assert_int_equal(out.prop[0].num, 1);
    assert_int_equal(out.prop[0].n_xf, 4);
    expect_xf(&out, 0, IKE_XF_ENCR, IKE_ENCR_AES_CBC, 128);
    expect_xf(&out, 1, IKE_XF_PRF, IKE_PRF_HMAC_SHA2_256, 0);
    expect_xf(&out, 2, IKE_XF_INTEG, IKE_INTEG_HMAC_SHA2_256_128, 0);
    expect_xf(&out, 3, IKE_XF_DH, IKE_DH_MODP_2048, 0);
    struct ike_proposal_choice again;
    assert_int_equal(ike_proposal_select_ike(&set, &out, IKE_DH_MODP_2048, &again, &want), 0);
    assert_memory_equal(&again.suite, &c.suite, sizeof(c.suite));

    /* A writer that is too small reports it. */
    uint8_t tiny[16];
    struct ike_wr w;
    ike_wr_init(&w, tiny, sizeof(tiny));
    assert_int_equal(ike_proposal_write_ike(&w, &c), IKE_ERR_NOSPACE);
}

/* ---- ESP ---- */

static void test_esp(void **state)
{
    (void)state;
    struct iked_settings set;
    struct ike_sa_pl sa, out;
    struct ike_proposal_choice c;
    settings(&set, NULL, NULL); /* aes128gcm16 aes256gcm16 aes256-sha384 aes128-sha256 */

    /* strongSwan: CBC proposal with a PFS group first, then GCM; ESN both. */
    const struct xf cbc[] = {{IKE_XF_ENCR, IKE_ENCR_AES_CBC, 128},
                             {IKE_XF_ENCR, IKE_ENCR_AES_CBC, 256},
                             {IKE_XF_INTEG, IKE_INTEG_HMAC_SHA2_256_128, 0},
                             {IKE_XF_INTEG, IKE_INTEG_HMAC_SHA2_384_192, 0},
                             {IKE_XF_DH, IKE_DH_CURVE25519, 0},
                             {IKE_XF_ESN, IKE_ESN_YES, 0},
                             {IKE_XF_ESN, IKE_ESN_NO, 0}};
    const struct xf gcm[] = {{IKE_XF_ESN, IKE_ESN_NO, 0},
                             {IKE_XF_ENCR, IKE_ENCR_AES_GCM_16, 256},
                             {IKE_XF_ENCR, IKE_ENCR_AES_GCM_16, 128}};
    const struct prop p[] = {ESP(cbc, 0xc1c2c3c4), ESP(gcm, 0xd1d2d3d4)};
    peer_sa(p, 2, &sa);
    assert_int_equal(ike_proposal_select_esp(&set, &sa, &c), 0);
    assert_int_equal(c.num, 2);
    assert_int_equal(c.esp.encr, IKE_ENCR_AES_GCM_16);
    assert_int_equal(c.esp.encr_keybits, 128);
    assert_int_equal(c.esp.integ, IKE_INTEG_NONE);
    assert_false(c.esp.esn);
    assert_int_equal(c.peer_spi, 0xd1d2d3d4u);

    written(&c, true, 0xcafe0001u, &out);
    assert_int_equal(out.n_prop, 1);
    assert_int_equal(out.prop[0].num, 2);
    assert_int_equal(out.prop[0].proto, IKE_PROTO_ESP);
    assert_int_equal(out.prop[0].spi_len, 4);
    assert_memory_equal(out.prop[0].spi, "\xca\xfe\x00\x01", 4);
    assert_int_equal(out.prop[0].n_xf, 2);
    expect_xf(&out, 0, IKE_XF_ENCR, IKE_ENCR_AES_GCM_16, 128);
    expect_xf(&out, 1, IKE_XF_ESN, IKE_ESN_NO, 0);

    /* CBC only: our third (aes256-sha384), the PFS group ignored and not
     * answered. */
    peer_sa(p, 1, &sa);
    assert_int_equal(ike_proposal_select_esp(&set, &sa, &c), 0);
    assert_int_equal(c.num, 1);
    assert_int_equal(c.esp.encr, IKE_ENCR_AES_CBC);
    assert_int_equal(c.esp.encr_keybits, 256);
    assert_int_equal(c.esp.integ, IKE_INTEG_HMAC_SHA2_384_192);
    assert_int_equal(c.peer_spi, 0xc1c2c3c4u);
    written(&c, true, 1, &out);
    assert_int_equal(out.prop[0].n_xf, 3);
    expect_xf(&out, 0, IKE_XF_ENCR, IKE_ENCR_AES_CBC, 256);
    expect_xf(&out, 1, IKE_XF_INTEG, IKE_INTEG_HMAC_SHA2_384_192, 0);
    expect_xf(&out, 2, IKE_XF_ESN, IKE_ESN_NO, 0);
}

static void test_esp_esn(void **state)
{
    (void)state;
    struct iked_settings set;
    struct ike_sa_pl sa, out;
    struct ike_proposal_choice c;
    const struct xf esn_only[] = {{IKE_XF_ENCR, IKE_ENCR_AES_GCM_16, 128},
                                  {IKE_XF_ESN, IKE_ESN_YES, 0}};
    const struct xf no_esn_xf[] = {{IKE_XF_ENCR, IKE_ENCR_AES_GCM_16, 128}};
    const struct prop p[] = {ESP(esn_only, 5)};
    const struct prop p_none[] = {ESP(no_esn_xf, 6)};

    /* We want no ESN; the peer insists on ESN. */
    settings(&set, NULL, "aes128gcm16");
    peer_sa(p, 1, &sa);
    assert_int_equal(ike_proposal_select_esp(&set, &sa, &c), -1);
    /* With ESN configured, it matches and is written back. */
    settings(&set, NULL, "aes128gcm16-esn aes128gcm16");
    assert_int_equal(ike_proposal_select_esp(&set, &sa, &c), 0);
    assert_true(c.esp.esn);
    written(&c, true, 2, &out);
    expect_xf(&out, 1, IKE_XF_ESN, IKE_ESN_YES, 0);
    /* ESN is mandatory in ESP proposals (RFC 7296 §3.3.3). */
    peer_sa(p_none, 1, &sa);
    assert_int_equal(ike_proposal_select_esp(&set, &sa, &c), -1);

    /* An IKE proposal is not an ESP one; a PRF has no place in ESP. */
    const struct xf esp_prf[] = {{IKE_XF_ENCR, IKE_ENCR_AES_GCM_16, 128},
                                 {IKE_XF_PRF, IKE_PRF_HMAC_SHA2_256, 0},
                                 {IKE_XF_ESN, IKE_ESN_NO, 0}};
    const struct prop p2[] = {PROP(IKE_PROTO_IKE, gcm_both), ESP(esp_prf, 7)};
    peer_sa(p2, 2, &sa);
    assert_int_equal(ike_proposal_select_esp(&set, &sa, &c), -1);
    assert_int_equal(ike_proposal_select_esp(&set, NULL, &c), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ike_non_aead),    cmocka_unit_test(test_ike_aead),
        cmocka_unit_test(test_ike_key_lengths), cmocka_unit_test(test_ike_refused),
        cmocka_unit_test(test_ike_write),       cmocka_unit_test(test_esp),
        cmocka_unit_test(test_esp_esn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

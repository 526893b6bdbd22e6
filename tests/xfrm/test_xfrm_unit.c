/* Unit tests of the xfrm library that need no kernel: algorithm table,
 * validation, ownership, the netlink codec and the event parser (fed with
 * synthetic kernel messages, including truncated and random ones). */
#include <netinet/in.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "test_xfrm_common.h"
#include "xfrm_alg.h"
#include "xfrm_event.h"
#include "xfrm_msg.h"
#include "xfrm_nl_priv.h"
#include "xfrm_owner.h"

#define R1 (XFRM_OWNER_REQID_MIN + 1)

static void test_alg_table(void **state)
{
    (void)state;
    assert_int_equal(xfrm_alg_enc(XFRM_ENC_AES_GCM16_128)->key_len, 20);
    assert_int_equal(xfrm_alg_enc(XFRM_ENC_AES_GCM16_256)->key_len, 36);
    assert_int_equal(xfrm_alg_enc(XFRM_ENC_CHACHA20_POLY1305)->key_len, 36);
    assert_string_equal(xfrm_alg_enc(XFRM_ENC_CHACHA20_POLY1305)->kernel_name,
                        "rfc7539esp(chacha20,poly1305)");
    assert_string_equal(xfrm_alg_enc(XFRM_ENC_AES_GCM16_256)->kernel_name, "rfc4106(gcm(aes))");
    assert_int_equal(xfrm_alg_enc(XFRM_ENC_AES_CBC_256)->key_len, 32);
    assert_int_equal(xfrm_alg_integ(XFRM_INTEG_HMAC_SHA2_256_128)->trunc_bits, 128);
    assert_int_equal(xfrm_alg_integ(XFRM_INTEG_HMAC_SHA2_384_192)->trunc_bits, 192);
    assert_int_equal(xfrm_alg_integ(XFRM_INTEG_HMAC_SHA2_512_256)->trunc_bits, 256);
    assert_int_equal(xfrm_alg_integ(XFRM_INTEG_HMAC_SHA2_512_256)->key_len, 64);
    assert_null(xfrm_alg_enc(XFRM_ENC_NONE));
    assert_null(xfrm_alg_enc((enum xfrm_enc_alg)77));
    assert_null(xfrm_alg_integ((enum xfrm_integ_alg)77));
    assert_int_equal(xfrm_alg_enc_by_name("aes256gcm16"), XFRM_ENC_AES_GCM16_256);
    assert_int_equal(xfrm_alg_enc_by_name("des"), -1);
    assert_int_equal(xfrm_alg_integ_by_name("sha384"), XFRM_INTEG_HMAC_SHA2_384_192);
    assert_int_equal(xfrm_alg_enc_from_kernel("rfc4106(gcm(aes))", 160), XFRM_ENC_AES_GCM16_128);
    assert_int_equal(xfrm_alg_enc_from_kernel("rfc4106(gcm(aes))", 288), XFRM_ENC_AES_GCM16_256);
    assert_int_equal(xfrm_alg_enc_from_kernel("cbc(des3_ede)", 192), XFRM_ENC_NONE);
    assert_int_equal(xfrm_alg_integ_from_kernel("hmac(sha256)", 96), XFRM_INTEG_NONE);
}

static void test_addr_selector(void **state)
{
    struct xfrm_addr a;
    struct xfrm_sel sel;
    struct xfrm_err err;
    char buf[128];

    (void)state;
    assert_int_equal(xfrm_addr_parse(&a, "192.0.2.1"), 0);
    assert_int_equal(a.family, AF_INET);
    assert_string_equal(xfrm_addr_format(&a, buf, sizeof(buf)), "192.0.2.1");
    assert_int_equal(xfrm_addr_parse(&a, "2001:db8::1"), 0);
    assert_int_equal(a.family, AF_INET6);
    assert_int_equal(xfrm_addr_parse(&a, "not-an-address"), -EINVAL);

    assert_int_equal(xfrm_sel_parse(&sel, "10.0.0.0/24", "10.1.0.0/16", &err), 0);
    assert_string_equal(xfrm_sel_format(&sel, buf, sizeof(buf)), "10.0.0.0/24 -> 10.1.0.0/16");
    assert_int_equal(xfrm_sel_parse(&sel, "10.0.0.1/8", "10.1.0.0/16", &err), -EINVAL);
    assert_non_null(strstr(err.msg, "bits set beyond /8"));
    assert_int_equal(xfrm_sel_parse(&sel, "10.0.0.0/33", "10.1.0.0/16", &err), -EINVAL);
    assert_non_null(strstr(err.msg, "out of range"));
    assert_int_equal(xfrm_sel_parse(&sel, "10.0.0.0/24", "2001:db8::/32", &err), -EINVAL);
    assert_non_null(strstr(err.msg, "family mismatch"));
    assert_int_equal(xfrm_sel_parse(&sel, "2001:db8::/129", "2001:db8::/32", &err), -EINVAL);

    assert_int_equal(xfrm_sel_parse(&sel, "10.0.0.0/24", "10.1.0.0/16", &err), 0);
    sel.dport = 53;
    assert_int_equal(xfrm_sel_validate(&sel, false, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "ports"));
    sel.proto = IPPROTO_UDP;
    assert_int_equal(xfrm_sel_validate(&sel, false, &err), 0);
    sel.dst_plen = 40;
    assert_int_equal(xfrm_sel_validate(&sel, false, &err), -EINVAL);

    memset(&sel, 0, sizeof(sel));
    assert_int_equal(xfrm_sel_validate(&sel, true, &err), 0);
    assert_int_equal(xfrm_sel_validate(&sel, false, &err), -EINVAL);
    sel.proto = IPPROTO_TCP;
    assert_int_equal(xfrm_sel_validate(&sel, true, &err), -EINVAL);
}

static const struct {
    enum xfrm_enc_alg enc;
    enum xfrm_integ_alg integ;
} suites[] = {
    {XFRM_ENC_AES_GCM16_128, XFRM_INTEG_NONE},
    {XFRM_ENC_AES_GCM16_256, XFRM_INTEG_NONE},
    {XFRM_ENC_CHACHA20_POLY1305, XFRM_INTEG_NONE},
    {XFRM_ENC_AES_CBC_128, XFRM_INTEG_HMAC_SHA2_256_128},
    {XFRM_ENC_AES_CBC_256, XFRM_INTEG_HMAC_SHA2_384_192},
    {XFRM_ENC_AES_CBC_256, XFRM_INTEG_HMAC_SHA2_512_256},
};

static void test_sa_validate(void **state)
{
    struct xfrm_sa sa, bad;
    struct xfrm_err err;

    (void)state;
    for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
        tx_sa(&sa, "192.0.2.1", "192.0.2.2", 0x1000 + (uint32_t)i, R1, suites[i].enc,
              suites[i].integ);
        assert_int_equal(xfrm_sa_validate(&sa, &err), 0);
    }
    tx_sa(&sa, "2001:db8::1", "2001:db8::2", 0x2000, R1, XFRM_ENC_AES_GCM16_256, XFRM_INTEG_NONE);
    assert_int_equal(xfrm_sel_parse(&sa.sel, "10.0.0.0/24", "10.1.0.0/24", &err), 0);
    sa.esn = true;
    sa.replay_window = 1024;
    sa.encap = true;
    sa.encap_ports.sport = 4500;
    sa.encap_ports.dport = 4500;
    sa.mark.value = 5;
    sa.mark.mask = 0xff;
    sa.if_id = 9;
    assert_int_equal(xfrm_sa_validate(&sa, &err), 0);

#define EXPECT_BAD(mutation, code, text)                                                           \
    do {                                                                                           \
        bad = sa;                                                                                  \
        mutation;                                                                                  \
        assert_int_equal(xfrm_sa_validate(&bad, &err), code);                                      \
        if (!strstr(err.msg, text))                                                                \
            fail_msg("expected \"%s\" in \"%s\"", text, err.msg);                                  \
    } while (0)

    EXPECT_BAD(bad.enc = (enum xfrm_enc_alg)99, -ENOPROTOOPT, "unknown encryption algorithm");
    EXPECT_BAD(bad.enc_key_len = 32, -EINVAL, "needs a 36-byte key");
    EXPECT_BAD(bad.integ = XFRM_INTEG_HMAC_SHA2_256_128, -EINVAL, "no integrity algorithm allowed");
    EXPECT_BAD(xfrm_addr_parse(&bad.src, "192.0.2.1"), -EINVAL, "address family mismatch");
    EXPECT_BAD(bad.spi = 200, -EINVAL, "reserved");
    EXPECT_BAD(bad.reqid = 7, -EPERM, "outside mgate's range");
    EXPECT_BAD(bad.replay_window = 5000, -EINVAL, "replay window");
    EXPECT_BAD(bad.replay_window = 0, -EINVAL, "ESN needs a replay window");
    EXPECT_BAD((bad.lft.soft_bytes = 10, bad.lft.hard_bytes = 5), -EINVAL, "soft byte limit");
    EXPECT_BAD(bad.encap_ports.dport = 0, -EINVAL, "needs both ports");
    EXPECT_BAD(bad.mark.value = 0x100, -EINVAL, "outside mask");
    EXPECT_BAD(bad.sel.dst_plen = 33, -EINVAL, "out of range");
    EXPECT_BAD(xfrm_addr_parse(&bad.sel.src, "2001:db8::"), -EINVAL, "family mismatch");
    EXPECT_BAD(memset(&bad.dst.u, 0, sizeof(bad.dst.u)), -EINVAL, "real addresses");

    tx_sa(&sa, "192.0.2.1", "192.0.2.2", 0x3000, R1, XFRM_ENC_AES_CBC_128,
          XFRM_INTEG_HMAC_SHA2_256_128);
    EXPECT_BAD(bad.integ = XFRM_INTEG_NONE, -EINVAL, "needs an integrity algorithm");
    EXPECT_BAD(bad.integ_key_len = 20, -EINVAL, "needs a 32-byte key");
    EXPECT_BAD(bad.integ = (enum xfrm_integ_alg)42, -ENOPROTOOPT, "unknown integrity algorithm");
    EXPECT_BAD(bad.enc_key_len = 20, -EINVAL, "needs a 16-byte key");
#undef EXPECT_BAD
    assert_int_equal(xfrm_sa_validate(NULL, &err), -EINVAL);

    xfrm_sa_wipe(&sa);
    for (size_t i = 0; i < sizeof(sa.enc_key); i++)
        assert_int_equal(sa.enc_key[i], 0);
}

static void test_policy_validate_owner(void **state)
{
    struct xfrm_policy pol, bad;
    struct xfrm_policy_info info;
    struct xfrm_err err;
    struct xfrm_sel wide, narrow;

    (void)state;
    tx_policy(&pol, "10.0.0.0/24", "10.1.0.0/24", XFRM_DIR_OUT, "192.0.2.1", "192.0.2.2", R1);
    assert_int_equal(xfrm_policy_validate(&pol, &err), 0);
    bad = pol;
    bad.priority = 100;
    assert_int_equal(xfrm_policy_validate(&bad, &err), -EPERM);
    assert_non_null(strstr(err.msg, "band"));
    bad = pol;
    bad.tmpl[0].reqid = 3;
    assert_int_equal(xfrm_policy_validate(&bad, &err), -EPERM);
    bad = pol;
    bad.n_tmpl = 0;
    assert_int_equal(xfrm_policy_validate(&bad, &err), -EINVAL);
    bad = pol;
    bad.dir = (enum xfrm_dir)7;
    assert_int_equal(xfrm_policy_validate(&bad, &err), -EINVAL);
    bad = pol;
    xfrm_addr_parse(&bad.tmpl[0].dst, "2001:db8::1");
    assert_int_equal(xfrm_policy_validate(&bad, &err), -EINVAL);
    bad = pol;
    bad.sel.src_plen = 99;
    assert_int_equal(xfrm_policy_validate(&bad, &err), -EINVAL);

    assert_true(xfrm_owner_reqid_is_ours(XFRM_OWNER_REQID_MIN));
    assert_true(xfrm_owner_reqid_is_ours(XFRM_OWNER_REQID_MAX));
    assert_false(xfrm_owner_reqid_is_ours(XFRM_OWNER_REQID_MAX + 1));
    assert_false(xfrm_owner_reqid_is_ours(1));
    memset(&info, 0, sizeof(info));
    info.pol = pol;
    assert_true(xfrm_policy_is_ours(&info));
    info.pol.priority = 0;
    assert_false(xfrm_policy_is_ours(&info));
    info.pol = pol;
    info.pol.n_tmpl = 0;
    assert_false(xfrm_policy_is_ours(&info));

    xfrm_sel_parse(&wide, "0.0.0.0/0", "10.0.0.0/8", &err);
    xfrm_sel_parse(&narrow, "10.9.0.1/32", "10.0.0.0/24", &err);
    assert_true(xfrm_owner_priority_is_ours(xfrm_owner_policy_priority(&wide)));
    assert_true(xfrm_owner_priority_is_ours(xfrm_owner_policy_priority(&narrow)));
    assert_true(xfrm_owner_policy_priority(&narrow) < xfrm_owner_policy_priority(&wide));
}

/* Turns an encoded request into what the kernel would send back: same
 * payload layout for NEWSA/NEWPOLICY. */
static void test_sa_codec(void **state)
{
    static uint8_t buf[XFRM_MSG_MAX_LEN];
    struct xfrm_sa sa;
    struct xfrm_sa_info info;
    struct xfrm_err err;
    struct nlmsghdr *nlh;

    (void)state;
    tx_sa(&sa, "2001:db8::1", "2001:db8::2", 0xc0010203, R1 + 5, XFRM_ENC_AES_CBC_256,
          XFRM_INTEG_HMAC_SHA2_512_256);
    assert_int_equal(xfrm_sel_parse(&sa.sel, "10.0.0.0/24", "10.1.0.0/24", &err), 0);
    sa.sel.proto = IPPROTO_TCP;
    sa.sel.dport = 443;
    sa.esn = true;
    sa.replay_window = XFRM_REPLAY_WINDOW_MAX;
    sa.lft.soft_bytes = 1000;
    sa.lft.hard_bytes = 2000;
    sa.lft.hard_add_secs = 3600;
    sa.encap = true;
    sa.encap_ports.sport = 4500;
    sa.encap_ports.dport = 1234;
    sa.mark.value = 0x10;
    sa.mark.mask = 0xf0;
    sa.if_id = 77;
    assert_int_equal(xfrm_sa_validate(&sa, &err), 0);
    nlh = xfrm_msg_sa(buf, XFRM_MSG_NEWSA, &sa);
    assert_true(nlh->nlmsg_len <= XFRM_MSG_MAX_LEN);
    /* The key is in the request (it must reach the kernel)... */
    assert_non_null(memmem(buf, nlh->nlmsg_len, sa.integ_key, sa.integ_key_len));
    assert_int_equal(xfrm_msg_sa_parse(nlh, &info, &err), 0);
    /* ...and nowhere in what a reader gets back. */
    assert_null(memmem(&info, sizeof(info), sa.integ_key, 16));
    assert_null(memmem(&info, sizeof(info), sa.enc_key, 16));
    assert_true(xfrm_addr_equal(&info.src, &sa.src));
    assert_true(xfrm_addr_equal(&info.dst, &sa.dst));
    assert_int_equal(info.spi, 0xc0010203);
    assert_int_equal(info.proto, IPPROTO_ESP);
    assert_int_equal(info.reqid, R1 + 5);
    assert_true(info.ours);
    assert_false(info.larval);
    assert_int_equal(info.enc, XFRM_ENC_AES_CBC_256);
    assert_int_equal(info.integ, XFRM_INTEG_HMAC_SHA2_512_256);
    assert_string_equal(info.enc_name, "cbc(aes)");
    assert_int_equal(info.enc_key_bits, 256);
    assert_int_equal(info.integ_trunc_bits, 256);
    assert_true(info.esn);
    assert_int_equal(info.replay_window, XFRM_REPLAY_WINDOW_MAX);
    assert_int_equal(info.lft.soft_bytes, 1000);
    assert_int_equal(info.lft.hard_bytes, 2000);
    assert_int_equal(info.lft.soft_packets, 0);
    assert_int_equal(info.lft.hard_add_secs, 3600);
    assert_true(info.encap);
    assert_int_equal(info.encap_ports.sport, 4500);
    assert_int_equal(info.encap_ports.dport, 1234);
    assert_int_equal(info.mark.value, 0x10);
    assert_int_equal(info.mark.mask, 0xf0);
    assert_int_equal(info.if_id, 77);
    assert_int_equal(info.sel.proto, IPPROTO_TCP);
    assert_int_equal(info.sel.dport, 443);
    assert_int_equal(info.sel.dport_mask, 0xffff);
    assert_int_equal(info.sel.src_plen, 24);

    tx_sa(&sa, "192.0.2.1", "192.0.2.2", 0x1234, R1, XFRM_ENC_CHACHA20_POLY1305, XFRM_INTEG_NONE);
    nlh = xfrm_msg_sa(buf, XFRM_MSG_NEWSA, &sa);
    assert_int_equal(xfrm_msg_sa_parse(nlh, &info, &err), 0);
    assert_int_equal(info.enc, XFRM_ENC_CHACHA20_POLY1305);
    assert_int_equal(info.icv_bits, 128);
    assert_int_equal(info.sel.src.family, AF_UNSPEC);
    assert_true(info.flags & XFRM_STATE_AF_UNSPEC);
    xfrm_sa_wipe(&sa);
}

static void test_policy_codec(void **state)
{
    static uint8_t buf[XFRM_MSG_MAX_LEN];
    struct xfrm_policy pol;
    struct xfrm_policy_info info;
    struct xfrm_err err;
    struct nlmsghdr *nlh;

    (void)state;
    tx_policy(&pol, "10.0.0.0/24", "10.1.0.0/24", XFRM_DIR_FWD, "192.0.2.1", "192.0.2.2", R1);
    xfrm_addr_parse(&pol.sel.dst, "2001:db8::");
    assert_int_equal(xfrm_policy_validate(&pol, &err), -EINVAL); /* mixed inner families */
    tx_policy(&pol, "2001:db8:1::/48", "2001:db8::/32", XFRM_DIR_FWD, "192.0.2.1", "192.0.2.2", R1);
    pol.n_tmpl = 2;
    pol.tmpl[1] = pol.tmpl[0];
    pol.tmpl[1].reqid = R1 + 1;
    pol.tmpl[1].optional = true;
    pol.mark.value = 1;
    pol.mark.mask = 1;
    pol.if_id = 3;
    assert_int_equal(xfrm_policy_validate(&pol, &err), 0);
    nlh = xfrm_msg_policy(buf, XFRM_MSG_NEWPOLICY, &pol);
    assert_int_equal(xfrm_msg_policy_parse(nlh, &info, &err), 0);
    assert_true(info.ours);
    assert_int_equal(info.pol.dir, XFRM_DIR_FWD);
    assert_int_equal(info.pol.priority, pol.priority);
    assert_int_equal(info.pol.n_tmpl, 2);
    assert_int_equal(info.pol.tmpl[1].reqid, R1 + 1);
    assert_true(info.pol.tmpl[1].optional);
    assert_int_equal(info.tmpl_proto[0], IPPROTO_ESP);
    assert_int_equal(info.tmpl_mode[0], XFRM_MODE_TUNNEL);
    assert_true(xfrm_addr_equal(&info.pol.tmpl[0].dst, &pol.tmpl[0].dst));
    assert_int_equal(info.pol.sel.src_plen, 48);
    assert_int_equal(info.pol.mark.value, 1);
    assert_int_equal(info.pol.if_id, 3);
    assert_false(info.pol.block);
}

/* --- synthetic kernel notifications --- */

static struct nlmsghdr *msg_start(uint8_t *buf, uint16_t type)
{
    struct nlmsghdr *nlh;

    memset(buf, 0, 4096);
    nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = type;
    return nlh;
}

static void kernel_sa(struct xfrm_usersa_info *p, uint32_t spi, uint32_t reqid)
{
    memset(p, 0, sizeof(*p));
    p->family = AF_INET;
    p->id.daddr.a4 = htonl(0xc0000202);
    p->saddr.a4 = htonl(0xc0000201);
    p->id.spi = htonl(spi);
    p->id.proto = IPPROTO_ESP;
    p->reqid = reqid;
    p->mode = XFRM_MODE_TUNNEL;
    p->lft.soft_byte_limit = 5000;
    p->lft.hard_byte_limit = XFRM_INF;
    p->curlft.bytes = 5100;
    p->curlft.packets = 7;
}

static void test_event_expire_sa(void **state)
{
    static uint8_t buf[4096];
    struct xfrm_user_expire ue;
    struct xfrm_usersa_id id;
    struct xfrm_usersa_info p;
    struct xfrm_event ev;
    struct xfrm_err err;
    struct nlmsghdr *nlh;
    struct xfrm_mark *mark;

    (void)state;
    nlh = msg_start(buf, XFRM_MSG_EXPIRE);
    memset(&ue, 0, sizeof(ue));
    kernel_sa(&ue.state, 0xabc, R1);
    ue.hard = 0;
    memcpy(mnl_nlmsg_put_extra_header(nlh, sizeof(ue)), &ue, sizeof(ue));
    mark = xfrm_msg_put_attr(nlh, XFRMA_MARK, sizeof(*mark));
    mark->v = 4;
    mark->m = 0xf;
    assert_int_equal(xfrm_event_parse(nlh, &ev, &err), 0);
    assert_int_equal(ev.type, XFRM_EVENT_SA_EXPIRE);
    assert_true(ev.ours);
    assert_false(ev.u.sa.hard);
    assert_int_equal(ev.u.sa.info.spi, 0xabc);
    assert_int_equal(ev.u.sa.info.cur.bytes, 5100);
    assert_int_equal(ev.u.sa.info.lft.soft_bytes, 5000);
    assert_int_equal(ev.u.sa.info.lft.hard_bytes, 0);
    assert_int_equal(ev.u.sa.info.mark.value, 4);
    assert_string_equal(xfrm_event_type_name(ev.type), "sa-expire");

    nlh->nlmsg_len = NLMSG_HDRLEN + 10;
    assert_int_equal(xfrm_event_parse(nlh, &ev, &err), -EPROTO);
    assert_non_null(strstr(err.msg, "truncated"));

    /* DELSA: id header, SA in XFRMA_SA, algorithms beside it. */
    nlh = msg_start(buf, XFRM_MSG_DELSA);
    memset(&id, 0, sizeof(id));
    id.family = AF_INET;
    id.spi = htonl(0xdef);
    id.proto = IPPROTO_ESP;
    memcpy(mnl_nlmsg_put_extra_header(nlh, sizeof(id)), &id, sizeof(id));
    kernel_sa(&p, 0xdef, 5);
    mnl_attr_put(nlh, XFRMA_SA, sizeof(p), &p);
    struct xfrm_algo_aead *aead = xfrm_msg_put_attr(nlh, XFRMA_ALG_AEAD, sizeof(*aead) + 20);
    strcpy(aead->alg_name, "rfc4106(gcm(aes))");
    aead->alg_key_len = 160;
    aead->alg_icv_len = 128;
    assert_int_equal(xfrm_event_parse(nlh, &ev, &err), 0);
    assert_int_equal(ev.type, XFRM_EVENT_SA_DELETE);
    assert_false(ev.ours);
    assert_int_equal(ev.u.sa.info.spi, 0xdef);
    assert_int_equal(ev.u.sa.info.enc, XFRM_ENC_AES_GCM16_128);

    nlh = msg_start(buf, XFRM_MSG_DELSA);
    memcpy(mnl_nlmsg_put_extra_header(nlh, sizeof(id)), &id, sizeof(id));
    assert_int_equal(xfrm_event_parse(nlh, &ev, &err), -EPROTO);

    nlh = msg_start(buf, XFRM_MSG_FLUSHSA);
    *(uint8_t *)mnl_nlmsg_put_extra_header(nlh, 4) = IPPROTO_ESP;
    assert_int_equal(xfrm_event_parse(nlh, &ev, &err), 0);
    assert_int_equal(ev.type, XFRM_EVENT_SA_FLUSH);
    assert_int_equal(ev.u.flush_proto, IPPROTO_ESP);

    nlh = msg_start(buf, XFRM_MSG_NEWAE);
    assert_int_equal(xfrm_event_parse(nlh, &ev, &err), 1);
}

static void put_tmpl(struct nlmsghdr *nlh, uint32_t reqid)
{
    struct xfrm_user_tmpl *t = xfrm_msg_put_attr(nlh, XFRMA_TMPL, sizeof(*t));

    t->family = AF_INET;
    t->id.daddr.a4 = htonl(0xc0000202);
    t->saddr.a4 = htonl(0xc0000201);
    t->id.proto = IPPROTO_ESP;
    t->mode = XFRM_MODE_TUNNEL;
    t->reqid = reqid;
}

static void test_event_acquire_policy(void **state)
{
    static uint8_t buf[4096];
    struct xfrm_user_acquire ua;
    struct xfrm_userpolicy_id pid;
    struct xfrm_userpolicy_info pi;
    struct xfrm_user_polexpire upe;
    struct xfrm_event ev;
    struct xfrm_err err;
    struct nlmsghdr *nlh;
    char a[64];

    (void)state;
    nlh = msg_start(buf, XFRM_MSG_ACQUIRE);
    memset(&ua, 0, sizeof(ua));
    ua.id.daddr.a4 = htonl(0xc0000202);
    ua.saddr.a4 = htonl(0xc0000201);
    ua.id.proto = IPPROTO_ESP;
    ua.sel.family = AF_INET;
    ua.sel.daddr.a4 = htonl(0x0a010005);
    ua.sel.prefixlen_d = 32;
    ua.sel.saddr.a4 = htonl(0x0a000005);
    ua.sel.prefixlen_s = 32;
    ua.policy.dir = XFRM_POLICY_OUT;
    ua.policy.priority = XFRM_OWNER_PRIO_MIN + 10;
    ua.policy.index = 0x99;
    ua.seq = 42;
    memcpy(mnl_nlmsg_put_extra_header(nlh, sizeof(ua)), &ua, sizeof(ua));
    put_tmpl(nlh, R1);
    assert_int_equal(xfrm_event_parse(nlh, &ev, &err), 0);
    assert_int_equal(ev.type, XFRM_EVENT_ACQUIRE);
    assert_true(ev.ours);
    assert_int_equal(ev.u.acquire.seq, 42);
    assert_string_equal(xfrm_addr_format(&ev.u.acquire.dst, a, sizeof(a)), "192.0.2.2");
    assert_string_equal(xfrm_addr_format(&ev.u.acquire.sel.dst, a, sizeof(a)), "10.1.0.5");
    assert_int_equal(ev.u.acquire.policy.index, 0x99);
    assert_int_equal(ev.u.acquire.policy.pol.tmpl[0].reqid, R1);

    /* Same acquire from a foreign policy (priority outside the band). */
    nlh = msg_start(buf, XFRM_MSG_ACQUIRE);
    ua.policy.priority = 2000;
    memcpy(mnl_nlmsg_put_extra_header(nlh, sizeof(ua)), &ua, sizeof(ua));
    put_tmpl(nlh, R1);
    assert_int_equal(xfrm_event_parse(nlh, &ev, &err), 0);
    assert_false(ev.ours);

    /* DELPOLICY: id header, policy in XFRMA_POLICY, templates beside. */
    nlh = msg_start(buf, XFRM_MSG_DELPOLICY);
    memset(&pid, 0, sizeof(pid));
    pid.dir = XFRM_POLICY_IN;
    memcpy(mnl_nlmsg_put_extra_header(nlh, sizeof(pid)), &pid, sizeof(pid));
    memset(&pi, 0, sizeof(pi));
    pi.sel.family = AF_INET;
    pi.dir = XFRM_POLICY_IN;
    pi.priority = XFRM_OWNER_PRIO_MIN;
    mnl_attr_put(nlh, XFRMA_POLICY, sizeof(pi), &pi);
    put_tmpl(nlh, R1);
    assert_int_equal(xfrm_event_parse(nlh, &ev, &err), 0);
    assert_int_equal(ev.type, XFRM_EVENT_POLICY_DELETE);
    assert_true(ev.ours);
    assert_int_equal(ev.u.policy.info.pol.dir, XFRM_DIR_IN);

    nlh = msg_start(buf, XFRM_MSG_POLEXPIRE);
    memset(&upe, 0, sizeof(upe));
    upe.pol = pi;
    upe.hard = 1;
    memcpy(mnl_nlmsg_put_extra_header(nlh, sizeof(upe)), &upe, sizeof(upe));
    put_tmpl(nlh, 12);
    assert_int_equal(xfrm_event_parse(nlh, &ev, &err), 0);
    assert_int_equal(ev.type, XFRM_EVENT_POLICY_EXPIRE);
    assert_true(ev.u.policy.hard);
    assert_false(ev.ours);

    nlh = msg_start(buf, XFRM_MSG_NEWPOLICY);
    pi.dir = 9;
    memcpy(mnl_nlmsg_put_extra_header(nlh, sizeof(pi)), &pi, sizeof(pi));
    assert_int_equal(xfrm_event_parse(nlh, &ev, &err), -EPROTO);
}

static void test_event_mapping_migrate_report(void **state)
{
    static uint8_t buf[4096];
    struct xfrm_user_mapping um;
    struct xfrm_userpolicy_id pid;
    struct xfrm_user_migrate mg[2];
    struct xfrm_user_kmaddress km;
    struct xfrm_user_report ur;
    xfrm_address_t co;
    struct xfrm_event ev;
    struct xfrm_err err;
    struct nlmsghdr *nlh;
    char a[64];

    (void)state;
    nlh = msg_start(buf, XFRM_MSG_MAPPING);
    memset(&um, 0, sizeof(um));
    um.id.family = AF_INET;
    um.id.daddr.a4 = htonl(0xc0000201);
    um.id.spi = htonl(0xc0de);
    um.id.proto = IPPROTO_ESP;
    um.reqid = R1 + 3;
    um.old_saddr.a4 = htonl(0xc6336401);
    um.new_saddr.a4 = htonl(0xc6336402);
    um.old_sport = htons(4500);
    um.new_sport = htons(31000);
    memcpy(mnl_nlmsg_put_extra_header(nlh, sizeof(um)), &um, sizeof(um));
    assert_int_equal(xfrm_event_parse(nlh, &ev, &err), 0);
    assert_int_equal(ev.type, XFRM_EVENT_MAPPING);
    assert_true(ev.ours);
    assert_int_equal(ev.u.mapping.sa.spi, 0xc0de);
    assert_int_equal(ev.u.mapping.reqid, R1 + 3);
    assert_int_equal(ev.u.mapping.old_sport, 4500);
    assert_int_equal(ev.u.mapping.new_sport, 31000);
    assert_string_equal(xfrm_addr_format(&ev.u.mapping.new_src, a, sizeof(a)), "198.51.100.2");
    um.id.family = 99;
    nlh = msg_start(buf, XFRM_MSG_MAPPING);
    memcpy(mnl_nlmsg_put_extra_header(nlh, sizeof(um)), &um, sizeof(um));
    assert_int_equal(xfrm_event_parse(nlh, &ev, &err), -EPROTO);

    nlh = msg_start(buf, XFRM_MSG_MIGRATE);
    memset(&pid, 0, sizeof(pid));
    pid.dir = XFRM_POLICY_OUT;
    pid.sel.family = AF_INET;
    memcpy(mnl_nlmsg_put_extra_header(nlh, sizeof(pid)), &pid, sizeof(pid));
    memset(mg, 0, sizeof(mg));
    for (int i = 0; i < 2; i++) {
        mg[i].old_family = AF_INET;
        mg[i].new_family = AF_INET6;
        mg[i].old_daddr.a4 = htonl(0xc0000202);
        mg[i].new_daddr.a6[0] = htonl(0x20010db8);
        mg[i].new_daddr.a6[3] = htonl(2);
        mg[i].proto = IPPROTO_ESP;
        mg[i].mode = XFRM_MODE_TUNNEL;
        mg[i].reqid = R1 + (uint32_t)i;
    }
    mnl_attr_put(nlh, XFRMA_MIGRATE, sizeof(mg), mg);
    memset(&km, 0, sizeof(km));
    km.family = AF_INET;
    km.local.a4 = htonl(0xc0000201);
    km.remote.a4 = htonl(0xc0000202);
    mnl_attr_put(nlh, XFRMA_KMADDRESS, sizeof(km), &km);
    assert_int_equal(xfrm_event_parse(nlh, &ev, &err), 0);
    assert_int_equal(ev.type, XFRM_EVENT_MIGRATE);
    assert_true(ev.ours);
    assert_int_equal(ev.u.migrate.n, 2);
    assert_int_equal(ev.u.migrate.dir, XFRM_DIR_OUT);
    assert_string_equal(xfrm_addr_format(&ev.u.migrate.entry[1].new_dst, a, sizeof(a)),
                        "2001:db8::2");
    assert_true(ev.u.migrate.has_kmaddress);
    assert_string_equal(xfrm_addr_format(&ev.u.migrate.km_remote, a, sizeof(a)), "192.0.2.2");

    nlh = msg_start(buf, XFRM_MSG_MIGRATE);
    memcpy(mnl_nlmsg_put_extra_header(nlh, sizeof(pid)), &pid, sizeof(pid));
    assert_int_equal(xfrm_event_parse(nlh, &ev, &err), -EPROTO);

    nlh = msg_start(buf, XFRM_MSG_REPORT);
    memset(&ur, 0, sizeof(ur));
    ur.proto = IPPROTO_ESP;
    ur.sel.family = AF_INET6;
    memcpy(mnl_nlmsg_put_extra_header(nlh, sizeof(ur)), &ur, sizeof(ur));
    memset(&co, 0, sizeof(co));
    co.a6[0] = htonl(0x20010db8);
    co.a6[3] = htonl(9);
    mnl_attr_put(nlh, XFRMA_COADDR, sizeof(co), &co);
    assert_int_equal(xfrm_event_parse(nlh, &ev, &err), 0);
    assert_int_equal(ev.type, XFRM_EVENT_REPORT);
    assert_true(ev.u.report.has_coaddr);
    assert_string_equal(xfrm_addr_format(&ev.u.report.coaddr, a, sizeof(a)), "2001:db8::9");
}

/* Random payloads and lengths for every message type: the parser must
 * return (anything) without reading outside the message. Run under ASan in
 * sanitizer builds; bounded and seeded so it is reproducible. */
static void test_event_parse_garbage(void **state)
{
    static uint8_t buf[4096];
    static const uint16_t types[] = {
        XFRM_MSG_NEWSA,     XFRM_MSG_UPDSA,       XFRM_MSG_DELSA,     XFRM_MSG_EXPIRE,
        XFRM_MSG_FLUSHSA,   XFRM_MSG_NEWPOLICY,   XFRM_MSG_UPDPOLICY, XFRM_MSG_DELPOLICY,
        XFRM_MSG_POLEXPIRE, XFRM_MSG_ACQUIRE,     XFRM_MSG_MAPPING,   XFRM_MSG_MIGRATE,
        XFRM_MSG_REPORT,    XFRM_MSG_FLUSHPOLICY,
    };
    uint32_t x = 12345;
    struct xfrm_event ev;
    struct xfrm_err err;

    (void)state;
    for (int iter = 0; iter < 20000; iter++) {
        struct nlmsghdr *nlh;
        uint32_t len;

        for (size_t i = 0; i < sizeof(buf); i++) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            buf[i] = (uint8_t)x;
        }
        /* Half the time, plausible attribute headers after a header. */
        len = NLMSG_HDRLEN + x % 600;
        nlh = (struct nlmsghdr *)buf;
        nlh->nlmsg_type = types[x % (sizeof(types) / sizeof(types[0]))];
        nlh->nlmsg_len = len;
        if (iter & 1) {
            size_t off = NLMSG_HDRLEN + 224;

            for (int k = 0; k < 6 && off + 4 <= len; k++) {
                struct nlattr *a = (struct nlattr *)(buf + off);
                a->nla_len = (uint16_t)(4 + (buf[off + 2] % 80));
                a->nla_type = (uint16_t)(buf[off + 3] % (XFRMA_MAX + 3));
                off += MNL_ALIGN(a->nla_len);
            }
        }
        (void)xfrm_event_parse(nlh, &ev, &err);
    }
}

static void test_nl_error(void **state)
{
    static uint8_t buf[4096];
    struct nlmsghdr *nlh;
    struct nlmsgerr *e;
    struct xfrm_err err;

    (void)state;
    nlh = msg_start(buf, NLMSG_ERROR);
    e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));
    e->error = 0;
    assert_int_equal(xfrm_nl_error(nlh, &err), 0);

    nlh = msg_start(buf, NLMSG_ERROR);
    nlh->nlmsg_flags = NLM_F_CAPPED | NLM_F_ACK_TLVS;
    e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));
    e->error = -ENOENT;
    e->msg.nlmsg_len = 300;
    mnl_attr_put_strz(nlh, NLMSGERR_ATTR_MSG, "Requested AEAD algorithm not found");
    assert_int_equal(xfrm_nl_error(nlh, &err), -ENOENT);
    assert_non_null(strstr(err.msg, "Requested AEAD algorithm not found"));

    /* Uncapped: the request is echoed before the TLVs. */
    nlh = msg_start(buf, NLMSG_ERROR);
    nlh->nlmsg_flags = NLM_F_ACK_TLVS;
    e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e) + 40);
    e->error = -EINVAL;
    e->msg.nlmsg_len = NLMSG_HDRLEN + 40;
    mnl_attr_put_strz(nlh, NLMSGERR_ATTR_MSG, "Invalid prefix");
    assert_int_equal(xfrm_nl_error(nlh, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "Invalid prefix"));

    nlh->nlmsg_len = NLMSG_HDRLEN + 2;
    assert_int_equal(xfrm_nl_error(nlh, &err), -EPROTO);
}

static void test_err_prefix(void **state)
{
    struct xfrm_err err;

    (void)state;
    xfrm_err_set(&err, -EINVAL, "%s", "inner reason");
    xfrm_err_prefix(&err, "SA add spi 0x%08x", 0x1234u);
    assert_string_equal(err.msg, "SA add spi 0x00001234: inner reason");
    assert_int_equal(err.code, -EINVAL);
    memset(err.msg, 'x', sizeof(err.msg) - 1);
    err.msg[sizeof(err.msg) - 1] = '\0';
    xfrm_err_prefix(&err, "head");
    assert_int_equal(strlen(err.msg), sizeof(err.msg) - 1);
    assert_int_equal(xfrm_err_set(NULL, -EIO, "nobody listens"), -EIO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alg_table),
        cmocka_unit_test(test_addr_selector),
        cmocka_unit_test(test_sa_validate),
        cmocka_unit_test(test_policy_validate_owner),
        cmocka_unit_test(test_sa_codec),
        cmocka_unit_test(test_policy_codec),
        cmocka_unit_test(test_event_expire_sa),
        cmocka_unit_test(test_event_acquire_policy),
        cmocka_unit_test(test_event_mapping_migrate_report),
        cmocka_unit_test(test_event_parse_garbage),
        cmocka_unit_test(test_nl_error),
        cmocka_unit_test(test_err_prefix),
    };

    return cmocka_run_group_tests_name("xfrm_unit", tests, NULL, NULL);
}

/* Writes the fuzzer's seed corpus: one file per message, each built with
 * the codec's builder, covering every payload type, SK (inner chain in
 * clear: no IV, no ICV) and SKF. Run: ikemsg_gen_corpus DIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ikemsg_test.h"

static int gen_save(const char *dir, const char *name, const uint8_t *buf, size_t len)
{
    char path[4096];
    FILE *f;

    if (!buf)
        return -1;
    if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
        return -1;
    f = fopen(path, "wb");
    if (!f)
        return -1;
    if (fwrite(buf, 1, len, f) != len) {
        fclose(f);
        return -1;
    }
    return fclose(f) == 0 ? 0 : -1;
}

static int gen_take(const char *dir, const char *name, struct ike_wr *w)
{
    struct ike_span out;
    int rc = -1;

    if (ike_wr_finish(w, &out) == IKE_OK)
        rc = gen_save(dir, name, out.ptr, out.len);
    ike_wr_free(w);
    return rc;
}

/* IKE_SA_INIT response: one chosen proposal, KE, Nr, notifies, CERTREQ. */
static int gen_sa_init_resp(const char *dir)
{
    struct ike_wr w;
    struct ike_hdr h;
    uint8_t ke[32], nonce[32], nat[20], hash[40];

    memset(ke, 0x77, sizeof(ke));
    memset(nonce, 0x88, sizeof(nonce));
    memset(nat, 0x99, sizeof(nat));
    memset(hash, 0xaa, sizeof(hash));
    ikemsg_test_hdr(&h, IKE_EXCH_IKE_SA_INIT, IKE_FLAG_RESPONSE, 0);
    ike_wr_init_dyn(&w, 0);
    ike_wr_header(&w, &h);
    ike_wr_sa_begin(&w);
    ike_wr_proposal_begin(&w, 2, IKE_PROTO_IKE, NULL, 0);
    ike_wr_transform(&w, IKE_XF_ENCR, IKE_ENCR_AES_GCM_16, 256);
    ike_wr_transform(&w, IKE_XF_PRF, IKE_PRF_HMAC_SHA2_384, 0);
    ike_wr_transform(&w, IKE_XF_DH, IKE_GROUP_CURVE25519, 0);
    ike_wr_proposal_end(&w);
    ike_wr_sa_end(&w);
    ike_wr_ke(&w, IKE_GROUP_CURVE25519, ke, sizeof(ke));
    ike_wr_nonce(&w, nonce, sizeof(nonce));
    ike_wr_notify(&w, 0, IKE_N_NAT_DETECTION_SOURCE_IP, NULL, 0, nat, sizeof(nat));
    ike_wr_notify(&w, 0, IKE_N_NAT_DETECTION_DESTINATION_IP, NULL, 0, nat, sizeof(nat));
    ike_wr_certreq(&w, IKE_CERT_X509_SIG, hash, sizeof(hash));
    ike_wr_notify(&w, 0, IKE_N_MULTIPLE_AUTH_SUPPORTED, NULL, 0, NULL, 0);
    return gen_take(dir, "sa_init_resp", &w);
}

/* Error answers: INVALID_KE_PAYLOAD, COOKIE, UNSUPPORTED_CRITICAL_PAYLOAD. */
static int gen_errors(const char *dir)
{
    struct ike_wr w;
    struct ike_hdr h;
    const uint8_t group[2] = {0, IKE_GROUP_ECP_256};
    const uint8_t cookie[32] = {1, 2, 3};
    const uint8_t crit = 200;

    ikemsg_test_hdr(&h, IKE_EXCH_IKE_SA_INIT, IKE_FLAG_RESPONSE, 0);
    ike_wr_init_dyn(&w, 0);
    ike_wr_header(&w, &h);
    ike_wr_notify(&w, 0, IKE_N_INVALID_KE_PAYLOAD, NULL, 0, group, sizeof(group));
    if (gen_take(dir, "invalid_ke", &w) != 0)
        return -1;
    ike_wr_init_dyn(&w, 0);
    ike_wr_header(&w, &h);
    ike_wr_notify(&w, 0, IKE_N_COOKIE, NULL, 0, cookie, sizeof(cookie));
    if (gen_take(dir, "cookie", &w) != 0)
        return -1;
    ike_wr_init_dyn(&w, 0);
    ike_wr_header(&w, &h);
    ike_wr_notify(&w, 0, IKE_N_UNSUPPORTED_CRITICAL_PAYLOAD, NULL, 0, &crit, 1);
    ike_wr_payload(&w, 201, false, "skip", 4);
    return gen_take(dir, "unsupported_critical", &w);
}

/* INFORMATIONAL exchanges in SK: deletes, MOBIKE address update, DPD. */
static int gen_informational(const char *dir)
{
    struct ike_wr w;
    struct ike_hdr h;
    const uint32_t spis[2] = {0xc0000001, 0xc0000002};
    uint8_t nat[20], cookie2[16];
    const uint8_t v4[4] = {198, 51, 100, 7};
    const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 7};

    memset(nat, 0x42, sizeof(nat));
    memset(cookie2, 0x24, sizeof(cookie2));
    ikemsg_test_hdr(&h, IKE_EXCH_INFORMATIONAL, IKE_FLAG_INITIATOR, 7);
    ike_wr_init_dyn(&w, 0);
    ike_wr_header(&w, &h);
    ike_wr_sk_begin(&w, 0);
    ike_wr_delete(&w, IKE_PROTO_ESP, spis, 2);
    ike_wr_delete(&w, IKE_PROTO_IKE, NULL, 0);
    ike_wr_sk_end(&w, 1, 0, NULL);
    if (gen_take(dir, "info_delete", &w) != 0)
        return -1;
    ike_wr_init_dyn(&w, 0);
    ike_wr_header(&w, &h);
    ike_wr_sk_begin(&w, 0);
    ike_wr_notify(&w, 0, IKE_N_UPDATE_SA_ADDRESSES, NULL, 0, NULL, 0);
    ike_wr_notify(&w, 0, IKE_N_NAT_DETECTION_SOURCE_IP, NULL, 0, nat, sizeof(nat));
    ike_wr_notify(&w, 0, IKE_N_NAT_DETECTION_DESTINATION_IP, NULL, 0, nat, sizeof(nat));
    ike_wr_notify(&w, 0, IKE_N_COOKIE2, NULL, 0, cookie2, sizeof(cookie2));
    ike_wr_notify(&w, 0, IKE_N_ADDITIONAL_IP4_ADDRESS, NULL, 0, v4, sizeof(v4));
    ike_wr_notify(&w, 0, IKE_N_ADDITIONAL_IP6_ADDRESS, NULL, 0, v6, sizeof(v6));
    ike_wr_notify(&w, 0, IKE_N_NO_NATS_ALLOWED, NULL, 0, v4, sizeof(v4));
    ike_wr_sk_end(&w, 1, 0, NULL);
    if (gen_take(dir, "info_mobike", &w) != 0)
        return -1;
    ike_wr_init_dyn(&w, 0);
    ike_wr_header(&w, &h);
    ike_wr_sk_begin(&w, 0);
    ike_wr_sk_end(&w, 1, 0, NULL);
    return gen_take(dir, "info_empty", &w);
}

/* CREATE_CHILD_SA rekey of a CHILD SA with PFS; IKE_AUTH response with CP. */
static int gen_child_and_auth_resp(const char *dir)
{
    struct ike_wr w;
    struct ike_hdr h;
    const uint8_t spi[4] = {0xc1, 0, 0, 9}, ispi[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    uint8_t ke[64], nonce[48], sig[256];
    struct ike_ts ts6 = {.type = IKE_TS_IPV6_ADDR_RANGE,
                         .ip_proto = 58,
                         .start_port = 0x8000,
                         .end_port = 0x80ff,
                         .start = {0xfd},
                         .end = {0xfd, 0xff}};
    struct ike_ts ts4[2] = {
        {.type = IKE_TS_IPV4_ADDR_RANGE,
         .end_port = 65535,
         .start = {10, 8, 0, 2},
         .end = {10, 8, 0, 2}},
        {.type = IKE_TS_IPV4_ADDR_RANGE,
         .ip_proto = 6,
         .start_port = 443,
         .end_port = 443,
         .start = {172, 16},
         .end = {172, 31, 255, 255}},
    };
    const uint8_t addr[4] = {10, 8, 0, 2}, mask[4] = {255, 255, 255, 0};
    const uint8_t dns[4] = {10, 0, 0, 53}, sub[8] = {172, 16, 0, 0, 255, 240, 0, 0};
    struct ike_cp_attr cp[5] = {
        {IKE_CFGA_INTERNAL_IP4_ADDRESS, {addr, 4}},
        {IKE_CFGA_INTERNAL_IP4_NETMASK, {mask, 4}},
        {IKE_CFGA_INTERNAL_IP4_DNS, {dns, 4}},
        {IKE_CFGA_INTERNAL_IP4_SUBNET, {sub, 8}},
        {IKE_CFGA_INTERNAL_DNS_DOMAIN, {(const uint8_t *)"corp.example", 12}},
    };

    memset(ke, 0x13, sizeof(ke));
    memset(nonce, 0x31, sizeof(nonce));
    memset(sig, 0x5e, sizeof(sig));
    ikemsg_test_hdr(&h, IKE_EXCH_CREATE_CHILD_SA, IKE_FLAG_INITIATOR, 3);
    ike_wr_init_dyn(&w, 0);
    ike_wr_header(&w, &h);
    ike_wr_sk_begin(&w, 0);
    ike_wr_notify(&w, IKE_PROTO_ESP, IKE_N_REKEY_SA, spi, 4, NULL, 0);
    ike_wr_sa_begin(&w);
    ike_wr_proposal_begin(&w, 1, IKE_PROTO_ESP, spi, 4);
    ike_wr_transform(&w, IKE_XF_ENCR, IKE_ENCR_AES_CBC, 256);
    ike_wr_transform(&w, IKE_XF_INTEG, IKE_AUTH_HMAC_SHA2_512_256, 0);
    ike_wr_transform(&w, IKE_XF_DH, IKE_GROUP_ECP_256, 0);
    ike_wr_transform(&w, IKE_XF_ESN, IKE_ESN_NO, 0);
    ike_wr_proposal_end(&w);
    ike_wr_proposal_begin(&w, 2, IKE_PROTO_IKE, ispi, 8);
    ike_wr_transform(&w, IKE_XF_ENCR, IKE_ENCR_CHACHA20_POLY1305, 0);
    ike_wr_transform(&w, IKE_XF_PRF, IKE_PRF_HMAC_SHA2_256, 0);
    ike_wr_transform(&w, IKE_XF_DH, IKE_GROUP_ECP_384, 0);
    ike_wr_proposal_end(&w);
    ike_wr_sa_end(&w);
    ike_wr_nonce(&w, nonce, sizeof(nonce));
    ike_wr_ke(&w, IKE_GROUP_ECP_256, ke, sizeof(ke));
    ike_wr_ts(&w, IKE_PL_TSI, &ts6, 1);
    ike_wr_ts(&w, IKE_PL_TSR, ts4, 2);
    ike_wr_notify(&w, 0, IKE_N_USE_TRANSPORT_MODE, NULL, 0, NULL, 0);
    ike_wr_sk_end(&w, 1, 0, NULL);
    if (gen_take(dir, "create_child_sa", &w) != 0)
        return -1;

    ikemsg_test_hdr(&h, IKE_EXCH_IKE_AUTH, IKE_FLAG_RESPONSE, 1);
    ike_wr_init_dyn(&w, 0);
    ike_wr_header(&w, &h);
    ike_wr_sk_begin(&w, 0);
    ike_wr_id(&w, IKE_PL_IDR, IKE_ID_FQDN, "gw.example.com", 14);
    ike_wr_cert(&w, IKE_CERT_X509_SIG, sig, 200);
    ike_wr_auth(&w, IKE_AUTH_RSA_SIG, sig, sizeof(sig));
    ike_wr_cp(&w, IKE_CFG_REPLY, cp, 5);
    ike_wr_sa_begin(&w);
    ike_wr_proposal_begin(&w, 1, IKE_PROTO_ESP, spi, 4);
    ike_wr_transform(&w, IKE_XF_ENCR, IKE_ENCR_AES_GCM_16, 128);
    ike_wr_transform(&w, IKE_XF_ESN, IKE_ESN_NO, 0);
    ike_wr_proposal_end(&w);
    ike_wr_sa_end(&w);
    ike_wr_ts(&w, IKE_PL_TSI, ts4, 1);
    ike_wr_ts(&w, IKE_PL_TSR, ts4 + 1, 1);
    ike_wr_notify(&w, 0, IKE_N_MOBIKE_SUPPORTED, NULL, 0, NULL, 0);
    ike_wr_vid(&w, "mgate", 5);
    ike_wr_sk_end(&w, 1, 0, NULL);
    return gen_take(dir, "ike_auth_resp", &w);
}

/* Two SKF fragments of an IKE_AUTH with EAP and IPv6 identities. */
static int gen_fragments(const char *dir)
{
    struct ike_wr chain, w;
    struct ike_hdr h;
    struct ike_span inner;
    const uint8_t id6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x42};
    const uint8_t id4[4] = {192, 0, 2, 44};
    const uint8_t eap[9] = {2, 1, 0, 9, 1, 'd', 'e', 'v', '1'};
    uint8_t cert[600];

    memset(cert, 0x30, sizeof(cert));
    ike_wr_init_dyn(&chain, 0);
    ike_wr_id(&chain, IKE_PL_IDI, IKE_ID_IPV6_ADDR, id6, sizeof(id6));
    ike_wr_id(&chain, IKE_PL_IDR, IKE_ID_IPV4_ADDR, id4, sizeof(id4));
    ike_wr_id(&chain, IKE_PL_IDR, IKE_ID_KEY_ID, "key-1", 5);
    ike_wr_cert(&chain, IKE_CERT_X509_SIG, cert, sizeof(cert));
    ike_wr_eap(&chain, eap, sizeof(eap));
    if (ike_wr_finish(&chain, &inner) != IKE_OK) {
        ike_wr_free(&chain);
        return -1;
    }
    ikemsg_test_hdr(&h, IKE_EXCH_IKE_AUTH, IKE_FLAG_INITIATOR, 1);
    /* The whole chain in one fragment (1 of 1), and a real split (2 of 2). */
    ike_wr_init_dyn(&w, 0);
    ike_wr_header(&w, &h);
    ike_wr_skf(&w, 1, 1, ike_wr_first(&chain), 0, inner.ptr, inner.len, 1, 0, NULL);
    int rc = gen_take(dir, "skf_1of1", &w);
    if (rc == 0) {
        ike_wr_init_dyn(&w, 0);
        ike_wr_header(&w, &h);
        ike_wr_skf(&w, 2, 2, 0, 0, NULL, 0, 1, 0, NULL);
        rc = gen_take(dir, "skf_2of2", &w);
    }
    ike_wr_free(&chain);
    return rc;
}

/* Messages at the caps: 64 payloads, and an SA of 4 x 64 transforms, so
 * the fuzzer starts next to the limits instead of having to grow to them. */
static int gen_limits(const char *dir)
{
    struct ike_wr w;
    struct ike_hdr h;

    ikemsg_test_hdr(&h, IKE_EXCH_INFORMATIONAL, IKE_FLAG_RESPONSE, 4);
    ike_wr_init_dyn(&w, 0);
    ike_wr_header(&w, &h);
    for (uint8_t i = 0; i < IKE_MAX_PAYLOADS; i++)
        ike_wr_vid(&w, &i, 1);
    if (gen_take(dir, "max_payloads", &w) != 0)
        return -1;
    ikemsg_test_hdr(&h, IKE_EXCH_IKE_SA_INIT, IKE_FLAG_INITIATOR, 0);
    ike_wr_init_dyn(&w, 0);
    ike_wr_header(&w, &h);
    ike_wr_sa_begin(&w);
    for (uint8_t p = 1; p <= 4; p++) {
        ike_wr_proposal_begin(&w, p, IKE_PROTO_IKE, NULL, 0);
        for (uint16_t x = 0; x < IKE_MAX_PROPOSAL_TRANSFORMS; x++)
            ike_wr_transform(&w, (uint8_t)(1 + x % 5), x, x % 3 ? 0 : 128);
        ike_wr_proposal_end(&w);
    }
    ike_wr_sa_end(&w);
    return gen_take(dir, "max_sa", &w);
}

int main(int argc, char **argv)
{
    size_t len;
    uint8_t *buf;
    int rc = 0;

    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    buf = ikemsg_test_sa_init(&len);
    rc |= gen_save(argv[1], "sa_init_req", buf, len);
    free(buf);
    buf = ikemsg_test_ike_auth(&len);
    rc |= gen_save(argv[1], "ike_auth_req", buf, len);
    free(buf);
    rc |= gen_sa_init_resp(argv[1]);
    rc |= gen_errors(argv[1]);
    rc |= gen_informational(argv[1]);
    rc |= gen_child_and_auth_resp(argv[1]);
    rc |= gen_fragments(argv[1]);
    rc |= gen_limits(argv[1]);
    if (rc != 0)
        fprintf(stderr, "ikemsg_gen_corpus: could not write every seed\n");
    return rc != 0;
}

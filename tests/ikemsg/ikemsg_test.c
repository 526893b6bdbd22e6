/* Sample messages built with the codec's own writer, for tests and seeds. */
#include <stdlib.h>
#include <string.h>

#include "ikemsg_test.h"

uint8_t *ikemsg_test_dup(const void *data, size_t len)
{
    uint8_t *p = malloc(len ? len : 1);

    if (p && len)
        memcpy(p, data, len);
    return p;
}

void ikemsg_test_hdr(struct ike_hdr *h, uint8_t exchange, uint8_t flags, uint32_t msgid)
{
    memset(h, 0, sizeof(*h));
    for (unsigned i = 0; i < IKE_SPI_LEN; i++)
        h->ispi[i] = (uint8_t)(i + 1);
    if (exchange != IKE_EXCH_IKE_SA_INIT)
        for (unsigned i = 0; i < IKE_SPI_LEN; i++)
            h->rspi[i] = (uint8_t)(0xa0 + i);
    h->exchange = exchange;
    h->flags = flags;
    h->msgid = msgid;
}

static uint8_t *ikemsg_test_take(struct ike_wr *w, size_t *len)
{
    if (ike_wr_finish(w, NULL) != IKE_OK) {
        ike_wr_free(w);
        *len = 0;
        return NULL;
    }
    return ike_wr_steal(w, len);
}

uint8_t *ikemsg_test_sa_init(size_t *len)
{
    struct ike_wr w;
    struct ike_hdr h;
    uint8_t ke[64], nonce[32], nat[20];
    const uint8_t hashes[] = {0, 2, 0, 3, 0, 4};

    memset(ke, 0x11, sizeof(ke));
    memset(nonce, 0x22, sizeof(nonce));
    memset(nat, 0x33, sizeof(nat));
    ikemsg_test_hdr(&h, IKE_EXCH_IKE_SA_INIT, IKE_FLAG_INITIATOR, 0);
    ike_wr_init_dyn(&w, 0);
    ike_wr_header(&w, &h);
    ike_wr_sa_begin(&w);
    ike_wr_proposal_begin(&w, 1, IKE_PROTO_IKE, NULL, 0);
    ike_wr_transform(&w, IKE_XF_ENCR, IKE_ENCR_AES_GCM_16, 256);
    ike_wr_transform(&w, IKE_XF_ENCR, IKE_ENCR_AES_GCM_16, 128);
    ike_wr_transform(&w, IKE_XF_PRF, IKE_PRF_HMAC_SHA2_384, 0);
    ike_wr_transform(&w, IKE_XF_DH, IKE_GROUP_ECP_256, 0);
    ike_wr_transform(&w, IKE_XF_DH, IKE_GROUP_CURVE25519, 0);
    ike_wr_proposal_end(&w);
    ike_wr_proposal_begin(&w, 2, IKE_PROTO_IKE, NULL, 0);
    ike_wr_transform(&w, IKE_XF_ENCR, IKE_ENCR_AES_CBC, 256);
    ike_wr_transform(&w, IKE_XF_INTEG, IKE_AUTH_HMAC_SHA2_256_128, 0);
    ike_wr_transform(&w, IKE_XF_PRF, IKE_PRF_HMAC_SHA2_256, 0);
    ike_wr_transform(&w, IKE_XF_DH, IKE_GROUP_MODP_2048, 0);
    ike_wr_proposal_end(&w);
    ike_wr_sa_end(&w);
    ike_wr_ke(&w, IKE_GROUP_ECP_256, ke, sizeof(ke));
    ike_wr_nonce(&w, nonce, sizeof(nonce));
    ike_wr_notify(&w, 0, IKE_N_NAT_DETECTION_SOURCE_IP, NULL, 0, nat, sizeof(nat));
    ike_wr_notify(&w, 0, IKE_N_NAT_DETECTION_DESTINATION_IP, NULL, 0, nat, sizeof(nat));
    ike_wr_notify(&w, 0, IKE_N_IKEV2_FRAGMENTATION_SUPPORTED, NULL, 0, NULL, 0);
    ike_wr_notify(&w, 0, IKE_N_SIGNATURE_HASH_ALGORITHMS, NULL, 0, hashes, sizeof(hashes));
    return ikemsg_test_take(&w, len);
}

uint8_t *ikemsg_test_ike_auth(size_t *len)
{
    struct ike_wr w;
    struct ike_hdr h;
    static const char dn[] = "\x30\x0b\x31\x09\x30\x07\x06\x03\x55\x04\x03\x0c\x00";
    uint8_t cert[40], hash[20], sig[64], alg[13];
    const uint8_t esp_spi[4] = {0xc0, 0x01, 0x02, 0x03};
    struct ike_ts ts = {
        .type = IKE_TS_IPV4_ADDR_RANGE, .end_port = 65535, .end = {255, 255, 255, 255}};
    struct ike_cp_attr cp[2] = {{IKE_CFGA_INTERNAL_IP4_ADDRESS, {NULL, 0}},
                                {IKE_CFGA_INTERNAL_IP4_DNS, {NULL, 0}}};

    memset(cert, 0x30, sizeof(cert));
    memset(hash, 0x55, sizeof(hash));
    memset(sig, 0x66, sizeof(sig));
    memset(alg, 0x06, sizeof(alg));
    ikemsg_test_hdr(&h, IKE_EXCH_IKE_AUTH, IKE_FLAG_INITIATOR, 1);
    ike_wr_init_dyn(&w, 0);
    ike_wr_header(&w, &h);
    ike_wr_sk_begin(&w, 0);
    ike_wr_id(&w, IKE_PL_IDI, IKE_ID_DER_ASN1_DN, dn, sizeof(dn) - 1);
    ike_wr_cert(&w, IKE_CERT_X509_SIG, cert, sizeof(cert));
    ike_wr_certreq(&w, IKE_CERT_X509_SIG, hash, sizeof(hash));
    ike_wr_notify(&w, 0, IKE_N_INITIAL_CONTACT, NULL, 0, NULL, 0);
    ike_wr_auth_sig(&w, alg, sizeof(alg), sig, sizeof(sig));
    ike_wr_cp(&w, IKE_CFG_REQUEST, cp, 2);
    ike_wr_sa_begin(&w);
    ike_wr_proposal_begin(&w, 1, IKE_PROTO_ESP, esp_spi, sizeof(esp_spi));
    ike_wr_transform(&w, IKE_XF_ENCR, IKE_ENCR_AES_GCM_16, 128);
    ike_wr_transform(&w, IKE_XF_ESN, IKE_ESN_NO, 0);
    ike_wr_proposal_end(&w);
    ike_wr_sa_end(&w);
    ike_wr_ts(&w, IKE_PL_TSI, &ts, 1);
    ike_wr_ts(&w, IKE_PL_TSR, &ts, 1);
    ike_wr_notify(&w, 0, IKE_N_MOBIKE_SUPPORTED, NULL, 0, NULL, 0);
    ike_wr_sk_end(&w, 1, 0, NULL);
    return ikemsg_test_take(&w, len);
}

uint8_t *ikemsg_test_one(uint8_t type, const void *body, size_t body_len, size_t *len)
{
    struct ike_wr w;
    struct ike_hdr h;

    ikemsg_test_hdr(&h, IKE_EXCH_INFORMATIONAL, IKE_FLAG_INITIATOR, 2);
    ike_wr_init_dyn(&w, 0);
    ike_wr_header(&w, &h);
    ike_wr_payload(&w, type, false, body, body_len);
    return ikemsg_test_take(&w, len);
}

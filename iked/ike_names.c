/* Enum-to-string tables for log lines. Switches rather than arrays: the
 * value spaces are sparse (notify types jump from 44 to 16384). */
#include "ike_const.h"

#define NAME(c, s)                                                                                 \
    case c:                                                                                        \
        return s

static const char ike_unknown[] = "UNKNOWN";

const char *ike_exchange_name(unsigned v)
{
    switch (v) {
        NAME(IKE_EXCH_IKE_SA_INIT, "IKE_SA_INIT");
        NAME(IKE_EXCH_IKE_AUTH, "IKE_AUTH");
        NAME(IKE_EXCH_CREATE_CHILD_SA, "CREATE_CHILD_SA");
        NAME(IKE_EXCH_INFORMATIONAL, "INFORMATIONAL");
        NAME(IKE_EXCH_IKE_SESSION_RESUME, "IKE_SESSION_RESUME");
        NAME(IKE_EXCH_IKE_INTERMEDIATE, "IKE_INTERMEDIATE");
    default:
        return ike_unknown;
    }
}

const char *ike_payload_name(unsigned v)
{
    switch (v) {
        NAME(IKE_PL_NONE, "NONE");
        NAME(IKE_PL_SA, "SA");
        NAME(IKE_PL_KE, "KE");
        NAME(IKE_PL_IDI, "IDi");
        NAME(IKE_PL_IDR, "IDr");
        NAME(IKE_PL_CERT, "CERT");
        NAME(IKE_PL_CERTREQ, "CERTREQ");
        NAME(IKE_PL_AUTH, "AUTH");
        NAME(IKE_PL_NONCE, "Nonce");
        NAME(IKE_PL_NOTIFY, "N");
        NAME(IKE_PL_DELETE, "D");
        NAME(IKE_PL_VID, "V");
        NAME(IKE_PL_TSI, "TSi");
        NAME(IKE_PL_TSR, "TSr");
        NAME(IKE_PL_SK, "SK");
        NAME(IKE_PL_CP, "CP");
        NAME(IKE_PL_EAP, "EAP");
        NAME(IKE_PL_SKF, "SKF");
    default:
        return ike_unknown;
    }
}

const char *ike_notify_name(unsigned v)
{
    switch (v) {
        NAME(IKE_N_UNSUPPORTED_CRITICAL_PAYLOAD, "UNSUPPORTED_CRITICAL_PAYLOAD");
        NAME(IKE_N_INVALID_IKE_SPI, "INVALID_IKE_SPI");
        NAME(IKE_N_INVALID_MAJOR_VERSION, "INVALID_MAJOR_VERSION");
        NAME(IKE_N_INVALID_SYNTAX, "INVALID_SYNTAX");
        NAME(IKE_N_INVALID_MESSAGE_ID, "INVALID_MESSAGE_ID");
        NAME(IKE_N_INVALID_SPI, "INVALID_SPI");
        NAME(IKE_N_NO_PROPOSAL_CHOSEN, "NO_PROPOSAL_CHOSEN");
        NAME(IKE_N_INVALID_KE_PAYLOAD, "INVALID_KE_PAYLOAD");
        NAME(IKE_N_AUTHENTICATION_FAILED, "AUTHENTICATION_FAILED");
        NAME(IKE_N_SINGLE_PAIR_REQUIRED, "SINGLE_PAIR_REQUIRED");
        NAME(IKE_N_NO_ADDITIONAL_SAS, "NO_ADDITIONAL_SAS");
        NAME(IKE_N_INTERNAL_ADDRESS_FAILURE, "INTERNAL_ADDRESS_FAILURE");
        NAME(IKE_N_FAILED_CP_REQUIRED, "FAILED_CP_REQUIRED");
        NAME(IKE_N_TS_UNACCEPTABLE, "TS_UNACCEPTABLE");
        NAME(IKE_N_INVALID_SELECTORS, "INVALID_SELECTORS");
        NAME(IKE_N_UNACCEPTABLE_ADDRESSES, "UNACCEPTABLE_ADDRESSES");
        NAME(IKE_N_UNEXPECTED_NAT_DETECTED, "UNEXPECTED_NAT_DETECTED");
        NAME(IKE_N_TEMPORARY_FAILURE, "TEMPORARY_FAILURE");
        NAME(IKE_N_CHILD_SA_NOT_FOUND, "CHILD_SA_NOT_FOUND");
        NAME(IKE_N_INITIAL_CONTACT, "INITIAL_CONTACT");
        NAME(IKE_N_SET_WINDOW_SIZE, "SET_WINDOW_SIZE");
        NAME(IKE_N_ADDITIONAL_TS_POSSIBLE, "ADDITIONAL_TS_POSSIBLE");
        NAME(IKE_N_IPCOMP_SUPPORTED, "IPCOMP_SUPPORTED");
        NAME(IKE_N_NAT_DETECTION_SOURCE_IP, "NAT_DETECTION_SOURCE_IP");
        NAME(IKE_N_NAT_DETECTION_DESTINATION_IP, "NAT_DETECTION_DESTINATION_IP");
        NAME(IKE_N_COOKIE, "COOKIE");
        NAME(IKE_N_USE_TRANSPORT_MODE, "USE_TRANSPORT_MODE");
        NAME(IKE_N_HTTP_CERT_LOOKUP_SUPPORTED, "HTTP_CERT_LOOKUP_SUPPORTED");
        NAME(IKE_N_REKEY_SA, "REKEY_SA");
        NAME(IKE_N_ESP_TFC_PADDING_NOT_SUPPORTED, "ESP_TFC_PADDING_NOT_SUPPORTED");
        NAME(IKE_N_NON_FIRST_FRAGMENTS_ALSO, "NON_FIRST_FRAGMENTS_ALSO");
        NAME(IKE_N_MOBIKE_SUPPORTED, "MOBIKE_SUPPORTED");
        NAME(IKE_N_ADDITIONAL_IP4_ADDRESS, "ADDITIONAL_IP4_ADDRESS");
        NAME(IKE_N_ADDITIONAL_IP6_ADDRESS, "ADDITIONAL_IP6_ADDRESS");
        NAME(IKE_N_NO_ADDITIONAL_ADDRESSES, "NO_ADDITIONAL_ADDRESSES");
        NAME(IKE_N_UPDATE_SA_ADDRESSES, "UPDATE_SA_ADDRESSES");
        NAME(IKE_N_COOKIE2, "COOKIE2");
        NAME(IKE_N_NO_NATS_ALLOWED, "NO_NATS_ALLOWED");
        NAME(IKE_N_AUTH_LIFETIME, "AUTH_LIFETIME");
        NAME(IKE_N_MULTIPLE_AUTH_SUPPORTED, "MULTIPLE_AUTH_SUPPORTED");
        NAME(IKE_N_ANOTHER_AUTH_FOLLOWS, "ANOTHER_AUTH_FOLLOWS");
        NAME(IKE_N_REDIRECT_SUPPORTED, "REDIRECT_SUPPORTED");
        NAME(IKE_N_REDIRECT, "REDIRECT");
        NAME(IKE_N_REDIRECTED_FROM, "REDIRECTED_FROM");
        NAME(IKE_N_EAP_ONLY_AUTHENTICATION, "EAP_ONLY_AUTHENTICATION");
        NAME(IKE_N_CHILDLESS_IKEV2_SUPPORTED, "CHILDLESS_IKEV2_SUPPORTED");
        NAME(IKE_N_IKEV2_FRAGMENTATION_SUPPORTED, "IKEV2_FRAGMENTATION_SUPPORTED");
        NAME(IKE_N_SIGNATURE_HASH_ALGORITHMS, "SIGNATURE_HASH_ALGORITHMS");
    default:
        return ike_unknown;
    }
}

const char *ike_proto_name(unsigned v)
{
    switch (v) {
        NAME(IKE_PROTO_NONE, "NONE");
        NAME(IKE_PROTO_IKE, "IKE");
        NAME(IKE_PROTO_AH, "AH");
        NAME(IKE_PROTO_ESP, "ESP");
    default:
        return ike_unknown;
    }
}

const char *ike_transform_type_name(unsigned v)
{
    switch (v) {
        NAME(IKE_XF_ENCR, "ENCR");
        NAME(IKE_XF_PRF, "PRF");
        NAME(IKE_XF_INTEG, "INTEG");
        NAME(IKE_XF_DH, "KE");
        NAME(IKE_XF_ESN, "ESN");
    default:
        return ike_unknown;
    }
}

static const char *ike_encr_name(unsigned id)
{
    switch (id) {
        NAME(IKE_ENCR_3DES, "ENCR_3DES");
        NAME(IKE_ENCR_NULL, "ENCR_NULL");
        NAME(IKE_ENCR_AES_CBC, "ENCR_AES_CBC");
        NAME(IKE_ENCR_AES_CTR, "ENCR_AES_CTR");
        NAME(IKE_ENCR_AES_CCM_16, "ENCR_AES_CCM_16");
        NAME(IKE_ENCR_AES_GCM_8, "ENCR_AES_GCM_8");
        NAME(IKE_ENCR_AES_GCM_12, "ENCR_AES_GCM_12");
        NAME(IKE_ENCR_AES_GCM_16, "ENCR_AES_GCM_16");
        NAME(IKE_ENCR_NULL_AUTH_AES_GMAC, "ENCR_NULL_AUTH_AES_GMAC");
        NAME(IKE_ENCR_CHACHA20_POLY1305, "ENCR_CHACHA20_POLY1305");
    default:
        return ike_unknown;
    }
}

static const char *ike_prf_name(unsigned id)
{
    switch (id) {
        NAME(IKE_PRF_HMAC_SHA1, "PRF_HMAC_SHA1");
        NAME(IKE_PRF_AES128_XCBC, "PRF_AES128_XCBC");
        NAME(IKE_PRF_HMAC_SHA2_256, "PRF_HMAC_SHA2_256");
        NAME(IKE_PRF_HMAC_SHA2_384, "PRF_HMAC_SHA2_384");
        NAME(IKE_PRF_HMAC_SHA2_512, "PRF_HMAC_SHA2_512");
        NAME(IKE_PRF_AES128_CMAC, "PRF_AES128_CMAC");
    default:
        return ike_unknown;
    }
}

static const char *ike_integ_name(unsigned id)
{
    switch (id) {
        NAME(IKE_AUTH_NONE, "NONE");
        NAME(IKE_AUTH_HMAC_SHA1_96, "AUTH_HMAC_SHA1_96");
        NAME(IKE_AUTH_AES_XCBC_96, "AUTH_AES_XCBC_96");
        NAME(IKE_AUTH_AES_CMAC_96, "AUTH_AES_CMAC_96");
        NAME(IKE_AUTH_HMAC_SHA2_256_128, "AUTH_HMAC_SHA2_256_128");
        NAME(IKE_AUTH_HMAC_SHA2_384_192, "AUTH_HMAC_SHA2_384_192");
        NAME(IKE_AUTH_HMAC_SHA2_512_256, "AUTH_HMAC_SHA2_512_256");
    default:
        return ike_unknown;
    }
}

static const char *ike_group_name(unsigned id)
{
    switch (id) {
        NAME(IKE_GROUP_NONE, "NONE");
        NAME(IKE_GROUP_MODP_2048, "MODP_2048");
        NAME(IKE_GROUP_MODP_3072, "MODP_3072");
        NAME(IKE_GROUP_MODP_4096, "MODP_4096");
        NAME(IKE_GROUP_ECP_256, "ECP_256");
        NAME(IKE_GROUP_ECP_384, "ECP_384");
        NAME(IKE_GROUP_ECP_521, "ECP_521");
        NAME(IKE_GROUP_CURVE25519, "CURVE25519");
        NAME(IKE_GROUP_CURVE448, "CURVE448");
    default:
        return ike_unknown;
    }
}

const char *ike_transform_id_name(unsigned type, unsigned id)
{
    switch (type) {
    case IKE_XF_ENCR:
        return ike_encr_name(id);
    case IKE_XF_PRF:
        return ike_prf_name(id);
    case IKE_XF_INTEG:
        return ike_integ_name(id);
    case IKE_XF_DH:
        return ike_group_name(id);
    case IKE_XF_ESN:
        return id == IKE_ESN_NO ? "NO_ESN" : id == IKE_ESN_YES ? "ESN" : ike_unknown;
    default:
        return ike_unknown;
    }
}

const char *ike_auth_method_name(unsigned v)
{
    switch (v) {
        NAME(IKE_AUTH_RSA_SIG, "RSA_SIG");
        NAME(IKE_AUTH_SHARED_KEY_MIC, "SHARED_KEY_MIC");
        NAME(IKE_AUTH_DSS_SIG, "DSS_SIG");
        NAME(IKE_AUTH_ECDSA_SHA256_P256, "ECDSA_SHA256_P256");
        NAME(IKE_AUTH_ECDSA_SHA384_P384, "ECDSA_SHA384_P384");
        NAME(IKE_AUTH_ECDSA_SHA512_P521, "ECDSA_SHA512_P521");
        NAME(IKE_AUTH_NULL, "NULL");
        NAME(IKE_AUTH_DIGITAL_SIGNATURE, "DIGITAL_SIGNATURE");
    default:
        return ike_unknown;
    }
}

const char *ike_hash_alg_name(unsigned v)
{
    switch (v) {
        NAME(IKE_HASH_SHA1, "SHA1");
        NAME(IKE_HASH_SHA2_256, "SHA2_256");
        NAME(IKE_HASH_SHA2_384, "SHA2_384");
        NAME(IKE_HASH_SHA2_512, "SHA2_512");
        NAME(IKE_HASH_IDENTITY, "IDENTITY");
    default:
        return ike_unknown;
    }
}

const char *ike_id_type_name(unsigned v)
{
    switch (v) {
        NAME(IKE_ID_IPV4_ADDR, "ID_IPV4_ADDR");
        NAME(IKE_ID_FQDN, "ID_FQDN");
        NAME(IKE_ID_RFC822_ADDR, "ID_RFC822_ADDR");
        NAME(IKE_ID_IPV6_ADDR, "ID_IPV6_ADDR");
        NAME(IKE_ID_DER_ASN1_DN, "ID_DER_ASN1_DN");
        NAME(IKE_ID_DER_ASN1_GN, "ID_DER_ASN1_GN");
        NAME(IKE_ID_KEY_ID, "ID_KEY_ID");
        NAME(IKE_ID_NULL, "ID_NULL");
    default:
        return ike_unknown;
    }
}

const char *ike_cert_encoding_name(unsigned v)
{
    switch (v) {
        NAME(IKE_CERT_PKCS7_X509, "PKCS7_X509");
        NAME(IKE_CERT_PGP, "PGP");
        NAME(IKE_CERT_DNS_SIGNED_KEY, "DNS_SIGNED_KEY");
        NAME(IKE_CERT_X509_SIG, "X509_SIGNATURE");
        NAME(IKE_CERT_KERBEROS, "KERBEROS");
        NAME(IKE_CERT_CRL, "CRL");
        NAME(IKE_CERT_ARL, "ARL");
        NAME(IKE_CERT_SPKI, "SPKI");
        NAME(IKE_CERT_X509_ATTR, "X509_ATTRIBUTE");
        NAME(IKE_CERT_RAW_RSA, "RAW_RSA_KEY");
        NAME(IKE_CERT_HASH_URL_X509, "HASH_URL_X509");
        NAME(IKE_CERT_HASH_URL_BUNDLE, "HASH_URL_X509_BUNDLE");
        NAME(IKE_CERT_RAW_PUBKEY, "RAW_PUBLIC_KEY");
    default:
        return ike_unknown;
    }
}

const char *ike_ts_type_name(unsigned v)
{
    switch (v) {
        NAME(IKE_TS_IPV4_ADDR_RANGE, "TS_IPV4_ADDR_RANGE");
        NAME(IKE_TS_IPV6_ADDR_RANGE, "TS_IPV6_ADDR_RANGE");
    default:
        return ike_unknown;
    }
}

const char *ike_cfg_type_name(unsigned v)
{
    switch (v) {
        NAME(IKE_CFG_REQUEST, "CFG_REQUEST");
        NAME(IKE_CFG_REPLY, "CFG_REPLY");
        NAME(IKE_CFG_SET, "CFG_SET");
        NAME(IKE_CFG_ACK, "CFG_ACK");
    default:
        return ike_unknown;
    }
}

const char *ike_cfg_attr_name(unsigned v)
{
    switch (v) {
        NAME(IKE_CFGA_INTERNAL_IP4_ADDRESS, "INTERNAL_IP4_ADDRESS");
        NAME(IKE_CFGA_INTERNAL_IP4_NETMASK, "INTERNAL_IP4_NETMASK");
        NAME(IKE_CFGA_INTERNAL_IP4_DNS, "INTERNAL_IP4_DNS");
        NAME(IKE_CFGA_INTERNAL_IP4_NBNS, "INTERNAL_IP4_NBNS");
        NAME(IKE_CFGA_INTERNAL_IP4_DHCP, "INTERNAL_IP4_DHCP");
        NAME(IKE_CFGA_APPLICATION_VERSION, "APPLICATION_VERSION");
        NAME(IKE_CFGA_INTERNAL_IP6_ADDRESS, "INTERNAL_IP6_ADDRESS");
        NAME(IKE_CFGA_INTERNAL_IP6_DNS, "INTERNAL_IP6_DNS");
        NAME(IKE_CFGA_INTERNAL_IP6_DHCP, "INTERNAL_IP6_DHCP");
        NAME(IKE_CFGA_INTERNAL_IP4_SUBNET, "INTERNAL_IP4_SUBNET");
        NAME(IKE_CFGA_SUPPORTED_ATTRIBUTES, "SUPPORTED_ATTRIBUTES");
        NAME(IKE_CFGA_INTERNAL_IP6_SUBNET, "INTERNAL_IP6_SUBNET");
        NAME(IKE_CFGA_INTERNAL_DNS_DOMAIN, "INTERNAL_DNS_DOMAIN");
    default:
        return ike_unknown;
    }
}

unsigned ike_ke_group_data_len(unsigned group)
{
    /* MODP: the prime's size; ECP: x || y (RFC 5903 §7); Montgomery
     * curves: the u-coordinate alone (RFC 8031 §2). */
    switch (group) {
    case IKE_GROUP_MODP_2048:
        return 256;
    case IKE_GROUP_MODP_3072:
        return 384;
    case IKE_GROUP_MODP_4096:
        return 512;
    case IKE_GROUP_ECP_256:
        return 64;
    case IKE_GROUP_ECP_384:
        return 96;
    case IKE_GROUP_ECP_521:
        return 132;
    case IKE_GROUP_CURVE25519:
        return 32;
    case IKE_GROUP_CURVE448:
        return 56;
    default:
        return 0;
    }
}

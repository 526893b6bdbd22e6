/* IKEv2 protocol numbers (RFC 7296 §3 and the IANA "IKEv2 Parameters"
 * registry entries from RFC 4555, RFC 7383, RFC 7427) and their names for logs. */
#ifndef MGATE_IKE_CONST_H
#define MGATE_IKE_CONST_H

#include <stdint.h>

/* Header (RFC 7296 §3.1). */
#define IKE_HDR_LEN         28u
#define IKE_GENERIC_HDR_LEN 4u
#define IKE_SPI_LEN         8u
#define IKE_MAJOR_VERSION   2u
#define IKE_MINOR_VERSION   0u

#define IKE_FLAG_INITIATOR 0x08u
#define IKE_FLAG_VERSION   0x10u
#define IKE_FLAG_RESPONSE  0x20u

/* The critical bit lives in the first octet after Next Payload. */
#define IKE_PL_CRITICAL 0x80u

enum ike_exchange {
    IKE_EXCH_IKE_SA_INIT = 34,
    IKE_EXCH_IKE_AUTH = 35,
    IKE_EXCH_CREATE_CHILD_SA = 36,
    IKE_EXCH_INFORMATIONAL = 37,
    IKE_EXCH_IKE_SESSION_RESUME = 38, /* RFC 5723 */
    IKE_EXCH_IKE_INTERMEDIATE = 43,   /* RFC 9242 */
};

enum ike_payload_type {
    IKE_PL_NONE = 0,
    IKE_PL_SA = 33,
    IKE_PL_KE = 34,
    IKE_PL_IDI = 35,
    IKE_PL_IDR = 36,
    IKE_PL_CERT = 37,
    IKE_PL_CERTREQ = 38,
    IKE_PL_AUTH = 39,
    IKE_PL_NONCE = 40,
    IKE_PL_NOTIFY = 41,
    IKE_PL_DELETE = 42,
    IKE_PL_VID = 43,
    IKE_PL_TSI = 44,
    IKE_PL_TSR = 45,
    IKE_PL_SK = 46,
    IKE_PL_CP = 47,
    IKE_PL_EAP = 48,
    IKE_PL_SKF = 53, /* RFC 7383 */
};

/* Notify message types: errors < 16384 (RFC 7296 §3.10.1). */
enum ike_notify_type {
    IKE_N_UNSUPPORTED_CRITICAL_PAYLOAD = 1,
    IKE_N_INVALID_IKE_SPI = 4,
    IKE_N_INVALID_MAJOR_VERSION = 5,
    IKE_N_INVALID_SYNTAX = 7,
    IKE_N_INVALID_MESSAGE_ID = 9,
    IKE_N_INVALID_SPI = 11,
    IKE_N_NO_PROPOSAL_CHOSEN = 14,
    IKE_N_INVALID_KE_PAYLOAD = 17,
    IKE_N_AUTHENTICATION_FAILED = 24,
    IKE_N_SINGLE_PAIR_REQUIRED = 34,
    IKE_N_NO_ADDITIONAL_SAS = 35,
    IKE_N_INTERNAL_ADDRESS_FAILURE = 36,
    IKE_N_FAILED_CP_REQUIRED = 37,
    IKE_N_TS_UNACCEPTABLE = 38,
    IKE_N_INVALID_SELECTORS = 39,
    IKE_N_UNACCEPTABLE_ADDRESSES = 40,  /* RFC 4555 */
    IKE_N_UNEXPECTED_NAT_DETECTED = 41, /* RFC 4555 */
    IKE_N_TEMPORARY_FAILURE = 43,
    IKE_N_CHILD_SA_NOT_FOUND = 44,

    IKE_N_STATUS_MIN = 16384,
    IKE_N_INITIAL_CONTACT = 16384,
    IKE_N_SET_WINDOW_SIZE = 16385,
    IKE_N_ADDITIONAL_TS_POSSIBLE = 16386,
    IKE_N_IPCOMP_SUPPORTED = 16387,
    IKE_N_NAT_DETECTION_SOURCE_IP = 16388,
    IKE_N_NAT_DETECTION_DESTINATION_IP = 16389,
    IKE_N_COOKIE = 16390,
    IKE_N_USE_TRANSPORT_MODE = 16391,
    IKE_N_HTTP_CERT_LOOKUP_SUPPORTED = 16392,
    IKE_N_REKEY_SA = 16393,
    IKE_N_ESP_TFC_PADDING_NOT_SUPPORTED = 16394,
    IKE_N_NON_FIRST_FRAGMENTS_ALSO = 16395,
    IKE_N_MOBIKE_SUPPORTED = 16396,              /* RFC 4555 */
    IKE_N_ADDITIONAL_IP4_ADDRESS = 16397,        /* RFC 4555 */
    IKE_N_ADDITIONAL_IP6_ADDRESS = 16398,        /* RFC 4555 */
    IKE_N_NO_ADDITIONAL_ADDRESSES = 16399,       /* RFC 4555 */
    IKE_N_UPDATE_SA_ADDRESSES = 16400,           /* RFC 4555 */
    IKE_N_COOKIE2 = 16401,                       /* RFC 4555 */
    IKE_N_NO_NATS_ALLOWED = 16402,               /* RFC 4555 */
    IKE_N_AUTH_LIFETIME = 16403,                 /* RFC 4478 */
    IKE_N_MULTIPLE_AUTH_SUPPORTED = 16404,       /* RFC 4739 */
    IKE_N_ANOTHER_AUTH_FOLLOWS = 16405,          /* RFC 4739 */
    IKE_N_REDIRECT_SUPPORTED = 16406,            /* RFC 5685 */
    IKE_N_REDIRECT = 16407,                      /* RFC 5685 */
    IKE_N_REDIRECTED_FROM = 16408,               /* RFC 5685 */
    IKE_N_EAP_ONLY_AUTHENTICATION = 16417,       /* RFC 5998 */
    IKE_N_CHILDLESS_IKEV2_SUPPORTED = 16418,     /* RFC 6023 */
    IKE_N_IKEV2_FRAGMENTATION_SUPPORTED = 16430, /* RFC 7383 */
    IKE_N_SIGNATURE_HASH_ALGORITHMS = 16431,     /* RFC 7427 */
};

/* Security protocol identifiers (RFC 7296 §3.3.1). */
enum ike_proto {
    IKE_PROTO_NONE = 0,
    IKE_PROTO_IKE = 1,
    IKE_PROTO_AH = 2,
    IKE_PROTO_ESP = 3,
};

/* Proposal and transform "Last Substruc" values (RFC 7296 §3.3.1, §3.3.2). */
#define IKE_SUBSTRUC_LAST      0u
#define IKE_SUBSTRUC_PROPOSAL  2u
#define IKE_SUBSTRUC_TRANSFORM 3u

enum ike_transform_type {
    IKE_XF_ENCR = 1,
    IKE_XF_PRF = 2,
    IKE_XF_INTEG = 3,
    IKE_XF_DH = 4, /* "Key Exchange Method" since RFC 9370 */
    IKE_XF_ESN = 5,
};

enum ike_encr_id {
    IKE_ENCR_3DES = 3,
    IKE_ENCR_NULL = 11,
    IKE_ENCR_AES_CBC = 12,
    IKE_ENCR_AES_CTR = 13,
    IKE_ENCR_AES_CCM_16 = 16,
    IKE_ENCR_AES_GCM_8 = 18,
    IKE_ENCR_AES_GCM_12 = 19,
    IKE_ENCR_AES_GCM_16 = 20,
    IKE_ENCR_NULL_AUTH_AES_GMAC = 21,
    IKE_ENCR_CHACHA20_POLY1305 = 28,
};

enum ike_prf_id {
    IKE_PRF_HMAC_SHA1 = 2,
    IKE_PRF_AES128_XCBC = 4,
    IKE_PRF_HMAC_SHA2_256 = 5,
    IKE_PRF_HMAC_SHA2_384 = 6,
    IKE_PRF_HMAC_SHA2_512 = 7,
    IKE_PRF_AES128_CMAC = 8,
};

enum ike_integ_id {
    IKE_AUTH_NONE = 0,
    IKE_AUTH_HMAC_SHA1_96 = 2,
    IKE_AUTH_AES_XCBC_96 = 5,
    IKE_AUTH_AES_CMAC_96 = 8,
    IKE_AUTH_HMAC_SHA2_256_128 = 12,
    IKE_AUTH_HMAC_SHA2_384_192 = 13,
    IKE_AUTH_HMAC_SHA2_512_256 = 14,
};

enum ike_dh_group {
    IKE_GROUP_NONE = 0,
    IKE_GROUP_MODP_2048 = 14,
    IKE_GROUP_MODP_3072 = 15,
    IKE_GROUP_MODP_4096 = 16,
    IKE_GROUP_ECP_256 = 19,
    IKE_GROUP_ECP_384 = 20,
    IKE_GROUP_ECP_521 = 21,
    IKE_GROUP_CURVE25519 = 31,
    IKE_GROUP_CURVE448 = 32,
};

enum ike_esn_id {
    IKE_ESN_NO = 0,
    IKE_ESN_YES = 1,
};

/* Transform attribute types (RFC 7296 §3.3.5); the high bit of the
 * type field selects TV (value in the length slot) over TLV. */
#define IKE_ATTR_AF_TV      0x8000u
#define IKE_ATTR_KEY_LENGTH 14u

enum ike_auth_method {
    IKE_AUTH_RSA_SIG = 1,
    IKE_AUTH_SHARED_KEY_MIC = 2,
    IKE_AUTH_DSS_SIG = 3,
    IKE_AUTH_ECDSA_SHA256_P256 = 9,
    IKE_AUTH_ECDSA_SHA384_P384 = 10,
    IKE_AUTH_ECDSA_SHA512_P521 = 11,
    IKE_AUTH_NULL = 13,              /* RFC 7619 */
    IKE_AUTH_DIGITAL_SIGNATURE = 14, /* RFC 7427 */
};

/* Hash algorithms of SIGNATURE_HASH_ALGORITHMS (RFC 7427 §7, RFC 8420). */
enum ike_hash_alg {
    IKE_HASH_SHA1 = 1,
    IKE_HASH_SHA2_256 = 2,
    IKE_HASH_SHA2_384 = 3,
    IKE_HASH_SHA2_512 = 4,
    IKE_HASH_IDENTITY = 5,
};

enum ike_id_type {
    IKE_ID_IPV4_ADDR = 1,
    IKE_ID_FQDN = 2,
    IKE_ID_RFC822_ADDR = 3,
    IKE_ID_IPV6_ADDR = 5,
    IKE_ID_DER_ASN1_DN = 9,
    IKE_ID_DER_ASN1_GN = 10,
    IKE_ID_KEY_ID = 11,
    IKE_ID_NULL = 13, /* RFC 7619 */
};

enum ike_cert_encoding {
    IKE_CERT_PKCS7_X509 = 1,
    IKE_CERT_PGP = 2,
    IKE_CERT_DNS_SIGNED_KEY = 3,
    IKE_CERT_X509_SIG = 4,
    IKE_CERT_KERBEROS = 6,
    IKE_CERT_CRL = 7,
    IKE_CERT_ARL = 8,
    IKE_CERT_SPKI = 9,
    IKE_CERT_X509_ATTR = 10,
    IKE_CERT_RAW_RSA = 11,
    IKE_CERT_HASH_URL_X509 = 12,
    IKE_CERT_HASH_URL_BUNDLE = 13,
    IKE_CERT_RAW_PUBKEY = 15, /* RFC 7670 */
};

/* CERTREQ for X.509 carries concatenated SHA-1 hashes of CA public keys. */
#define IKE_CERTREQ_HASH_LEN 20u

enum ike_ts_type {
    IKE_TS_IPV4_ADDR_RANGE = 7,
    IKE_TS_IPV6_ADDR_RANGE = 8,
};

enum ike_cfg_type {
    IKE_CFG_REQUEST = 1,
    IKE_CFG_REPLY = 2,
    IKE_CFG_SET = 3,
    IKE_CFG_ACK = 4,
};

enum ike_cfg_attr {
    IKE_CFGA_INTERNAL_IP4_ADDRESS = 1,
    IKE_CFGA_INTERNAL_IP4_NETMASK = 2,
    IKE_CFGA_INTERNAL_IP4_DNS = 3,
    IKE_CFGA_INTERNAL_IP4_NBNS = 4,
    IKE_CFGA_INTERNAL_IP4_DHCP = 6,
    IKE_CFGA_APPLICATION_VERSION = 7,
    IKE_CFGA_INTERNAL_IP6_ADDRESS = 8,
    IKE_CFGA_INTERNAL_IP6_DNS = 10,
    IKE_CFGA_INTERNAL_IP6_DHCP = 12,
    IKE_CFGA_INTERNAL_IP4_SUBNET = 13,
    IKE_CFGA_SUPPORTED_ATTRIBUTES = 14,
    IKE_CFGA_INTERNAL_IP6_SUBNET = 15,
    IKE_CFGA_INTERNAL_DNS_DOMAIN = 25, /* RFC 8598 */
};

/* Names for log lines; never NULL: unknown values give "UNKNOWN". */
const char *ike_exchange_name(unsigned v);
const char *ike_payload_name(unsigned v);
const char *ike_notify_name(unsigned v);
const char *ike_proto_name(unsigned v);
const char *ike_transform_type_name(unsigned v);
/* The transform ID's meaning depends on its transform type. */
const char *ike_transform_id_name(unsigned type, unsigned id);
const char *ike_auth_method_name(unsigned v);
const char *ike_hash_alg_name(unsigned v);
const char *ike_id_type_name(unsigned v);
const char *ike_cert_encoding_name(unsigned v);
const char *ike_ts_type_name(unsigned v);
const char *ike_cfg_type_name(unsigned v);
const char *ike_cfg_attr_name(unsigned v);

/* Octets of a KE payload's key exchange data for a group (RFC 7296 §3.4,
 * RFC 5903, RFC 8031); 0 for a group this table does not know. */
unsigned ike_ke_group_data_len(unsigned group);

#endif

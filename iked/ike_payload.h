/* Typed IKEv2 payload parsers (RFC 7296 §3.3–§3.16, RFC 7383 §2.5,
 * RFC 7427 §3). Each takes a payload found by ike_chain_parse and fills a
 * struct whose spans point into the message buffer; each returns IKE_OK or
 * an error (IKE_ERR_SYNTAX / IKE_ERR_LIMIT, with the offset in the message)
 * and IKE_ERR_USAGE when handed a payload of another type. */
#ifndef MGATE_IKE_PAYLOAD_H
#define MGATE_IKE_PAYLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ike_msg.h"

#define IKE_MAX_PROPOSALS           64
#define IKE_MAX_PROPOSAL_TRANSFORMS 64
#define IKE_MAX_SA_TRANSFORMS       256 /* over all proposals of one SA payload */
#define IKE_MAX_SPI_LEN             8
#define IKE_MAX_TS                  16
#define IKE_MAX_CP_ATTRS            64
#define IKE_NONCE_MIN               16
#define IKE_NONCE_MAX               256

/* ---- SA (§3.3) ---- */

struct ike_transform {
    uint8_t type; /* IKE_XF_* */
    uint16_t id;
    uint16_t key_len;  /* bits, from the Key Length attribute; 0 = absent */
    bool unknown_attr; /* has an attribute we do not know: §3.3.6 says the
                        * transform must then be treated as unsupported */
};

struct ike_proposal {
    uint8_t num;
    uint8_t proto;   /* IKE_PROTO_* */
    uint8_t spi_len; /* 0 or 8 for IKE, 4 for AH/ESP */
    uint8_t spi[IKE_MAX_SPI_LEN];
    uint16_t first_xf; /* index of the first transform in ike_sa.xf */
    uint16_t n_xf;
};

struct ike_sa_pl {
    unsigned n_prop;
    unsigned n_xf;
    struct ike_proposal prop[IKE_MAX_PROPOSALS];
    struct ike_transform xf[IKE_MAX_SA_TRANSFORMS];
};

/* Checks substructure lengths and "last" markers, transform counts, the key
 * length attribute's TV form, protocol ids and SPI sizes, and numbering:
 * several proposals must be numbered 1, 2, 3...; a single one (an accepted
 * proposal echoed in a response) may carry any non-zero number. */
enum ike_err ike_pl_sa(const struct ike_payload *pl, struct ike_sa_pl *out, struct ike_error *err);

/* ---- KE (§3.4) ---- */

struct ike_ke {
    uint16_t group;
    struct ike_span data;
};
enum ike_err ike_pl_ke(const struct ike_payload *pl, struct ike_ke *out, struct ike_error *err);

/* ---- IDi / IDr (§3.5) ---- */

struct ike_id {
    uint8_t type; /* IKE_ID_* */
    struct ike_span data;
    /* ID Type | RESERVED | data: the "RestOfInitIDPayload" /
     * "RestOfRespIDPayload" that AUTH's MACedIDFor[IR] is computed over. */
    struct ike_span body;
};
/* IPv4 data must be 4 octets, IPv6 16, the others non-empty. */
enum ike_err ike_pl_id(const struct ike_payload *pl, struct ike_id *out, struct ike_error *err);

/* ---- CERT (§3.6) and CERTREQ (§3.7) ---- */

struct ike_cert {
    uint8_t encoding;     /* IKE_CERT_* */
    struct ike_span data; /* CERTREQ X.509: concatenated SHA-1 CA key hashes */
};
enum ike_err ike_pl_cert(const struct ike_payload *pl, struct ike_cert *out, struct ike_error *err);
enum ike_err ike_pl_certreq(const struct ike_payload *pl, struct ike_cert *out,
                            struct ike_error *err);

/* ---- AUTH (§3.8, RFC 7427 §3) ---- */

struct ike_auth {
    uint8_t method;       /* IKE_AUTH_* */
    struct ike_span data; /* everything after the method octet and RESERVED */
    /* For IKE_AUTH_DIGITAL_SIGNATURE: the DER AlgorithmIdentifier and the
     * signature value that follow the one-octet ASN.1 length. For other
     * methods sig_alg is empty and sig == data. */
    struct ike_span sig_alg;
    struct ike_span sig;
};
enum ike_err ike_pl_auth(const struct ike_payload *pl, struct ike_auth *out, struct ike_error *err);

/* ---- Nonce (§3.9): 16 to 256 octets ---- */
enum ike_err ike_pl_nonce(const struct ike_payload *pl, struct ike_span *out,
                          struct ike_error *err);

/* ---- Notify (§3.10) ---- */

struct ike_notify {
    uint8_t proto;
    uint16_t type; /* IKE_N_* */
    struct ike_span spi;
    struct ike_span data;
};
/* Also checks the data length of the notify types whose content this
 * gateway reads (NAT detection hashes, COOKIE, COOKIE2, additional
 * addresses, INVALID_KE_PAYLOAD, SIGNATURE_HASH_ALGORITHMS, REKEY_SA's SPI). */
enum ike_err ike_pl_notify(const struct ike_payload *pl, struct ike_notify *out,
                           struct ike_error *err);
/* The first Notify of `type` in a chain (notifies that fail to parse are
 * passed over: ike_chain_validate reports them). */
const struct ike_payload *ike_chain_find_notify(const struct ike_chain *c, uint16_t type,
                                                struct ike_notify *out);

/* ---- Delete (§3.11) ---- */

struct ike_delete {
    uint8_t proto;
    uint8_t spi_len;
    uint16_t n_spi;
    struct ike_span spis; /* n_spi * spi_len octets */
};
/* IKE: SPI size 0 and no SPIs; AH/ESP: SPI size 4. */
enum ike_err ike_pl_delete(const struct ike_payload *pl, struct ike_delete *out,
                           struct ike_error *err);
/* The i-th 4-octet SPI of an AH/ESP Delete, host order (i < n_spi). */
uint32_t ike_delete_spi(const struct ike_delete *d, unsigned i);

/* ---- Vendor ID (§3.12) ---- */
enum ike_err ike_pl_vid(const struct ike_payload *pl, struct ike_span *out, struct ike_error *err);

/* ---- TSi / TSr (§3.13) ---- */

struct ike_ts {
    uint8_t type;     /* IKE_TS_IPV4/IPV6_ADDR_RANGE */
    uint8_t ip_proto; /* 0 = any */
    uint16_t start_port;
    uint16_t end_port; /* 65535..0 is "OPAQUE" (§3.13.1) */
    uint8_t start[16]; /* network order; IPv4 uses the first 4 octets */
    uint8_t end[16];
};

struct ike_ts_set {
    unsigned n;
    struct ike_ts ts[IKE_MAX_TS];
};
/* Unknown selector types are INVALID_SYNTAX; so are a start address above
 * the end address and ports start > end other than the OPAQUE 65535..0. */
enum ike_err ike_pl_ts(const struct ike_payload *pl, struct ike_ts_set *out, struct ike_error *err);

/* ---- SK (§3.14) and SKF (RFC 7383 §2.5) ---- */

struct ike_sk {
    uint8_t first;       /* type of the first inner payload (SKF: only in fragment 1) */
    uint16_t frag_num;   /* SKF only; SK: 1 */
    uint16_t frag_total; /* SKF only; SK: 1 */
    /* IV || ciphertext || padding || pad length || ICV: the crypto layer
     * splits it by its algorithm's sizes. */
    struct ike_span body;
    /* Octets from the message start to the IV: the AEAD associated data
     * (RFC 5282 §5.1); integrity (non-AEAD) covers them plus the body
     * up to the ICV. */
    size_t aad_len;
};
/* Needs the message because aad_len counts from its start; `pl` must be
 * m->sk. Fragment numbers must be 1 <= num <= total. */
enum ike_err ike_pl_sk(const struct ike_msg *m, const struct ike_payload *pl, struct ike_sk *out,
                       struct ike_error *err);

/* ---- CP (§3.15) ---- */

struct ike_cp_attr {
    uint16_t type;         /* IKE_CFGA_*, R bit cleared */
    struct ike_span value; /* empty in a CFG_REQUEST asking for a value */
};

struct ike_cp {
    uint8_t cfg_type; /* IKE_CFG_* */
    unsigned n;
    struct ike_cp_attr attr[IKE_MAX_CP_ATTRS];
};
/* Attribute lengths of the RFC 7296 attribute types are checked (e.g.
 * INTERNAL_IP4_ADDRESS 0 or 4, INTERNAL_IP6_ADDRESS 0 or 17). */
enum ike_err ike_pl_cp(const struct ike_payload *pl, struct ike_cp *out, struct ike_error *err);

/* ---- EAP (§3.16): carried, only its own length is checked ---- */
enum ike_err ike_pl_eap(const struct ike_payload *pl, struct ike_span *out, struct ike_error *err);

/* Run the typed parser of every payload in the chain (SK/SKF need m), so a
 * request is refused with INVALID_SYNTAX before any exchange logic sees it.
 * Uses about 4 KiB of stack. */
enum ike_err ike_chain_validate(const struct ike_msg *m, const struct ike_chain *c,
                                struct ike_error *err);

/* ---- AUTH input (RFC 7296 §2.15) ----
 * InitiatorSignedOctets = RealMessage1 | NonceRData | prf(SK_pi, RestOfInitIDPayload)
 * ResponderSignedOctets = RealMessage2 | NonceIData | prf(SK_pr, RestOfRespIDPayload)
 * The codec gives the three raw pieces; the crypto layer applies the prf. */
struct ike_signed_octets {
    struct ike_span message; /* the signer's whole IKE_SA_INIT message */
    struct ike_span nonce;   /* the other side's Nonce data */
    struct ike_span id_body; /* the signer's ID payload body */
};
/* `sa_init` is the signer's IKE_SA_INIT message as sent (or received);
 * `peer_nonce` the Nonce payload of the other side's IKE_SA_INIT; `id_body`
 * the signer's ID payload body: ike_id.body of a received IDi/IDr, or
 * ike_wr_last_body() right after writing our own. */
enum ike_err ike_signed_octets(struct ike_span sa_init, const struct ike_payload *peer_nonce,
                               struct ike_span id_body, struct ike_signed_octets *out,
                               struct ike_error *err);

#endif

/* IKEv2 message parsing: the header (RFC 7296 §3.1) and the generic payload
 * chain (§3.2), outer and — after the crypto layer decrypted SK/SKF — inner.
 *
 * Zero-copy: every span and payload points into the caller's buffer, which
 * must outlive the parsed structures. Parsing never allocates and never reads
 * outside [buf, buf + len). Typed payload parsers are in ike_payload.h, the
 * message builder in ike_msg_wr.h. */
#ifndef MGATE_IKE_MSG_H
#define MGATE_IKE_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ike_const.h"
#include "ike_span.h"

enum ike_err {
    IKE_OK = 0,
    IKE_ERR_TRUNCATED,     /* shorter than an IKE header: nothing to answer to */
    IKE_ERR_LENGTH,        /* header Length differs from the datagram length */
    IKE_ERR_MAJOR_VERSION, /* major version is not 2 */
    IKE_ERR_SYNTAX,        /* malformed: lengths, counts, values out of range */
    IKE_ERR_CRITICAL,      /* unknown payload with the critical bit: see .payload */
    IKE_ERR_LIMIT,         /* more payloads/proposals/selectors than we accept */
    IKE_ERR_NOSPACE,       /* builder: the message would outgrow its bound */
    IKE_ERR_NOMEM,         /* builder: the growable buffer could not grow */
    IKE_ERR_USAGE,         /* API misuse: wrong payload type, calls out of order */
};

/* Where and why a parse (or build) failed, for one precise log line and the
 * RFC 7296 reply (ike_error_notify). */
struct ike_error {
    enum ike_err code;
    uint32_t offset;  /* octet where the fault was seen, from the buffer start */
    bool inner;       /* offset counts from the decrypted SK/SKF plaintext */
    uint8_t payload;  /* payload being parsed; the unknown type for IKE_ERR_CRITICAL */
    const char *what; /* static phrase naming the rule that was broken */
};

struct ike_hdr {
    uint8_t ispi[IKE_SPI_LEN];
    uint8_t rspi[IKE_SPI_LEN];
    uint8_t next; /* first payload type */
    uint8_t major;
    uint8_t minor;
    uint8_t exchange;
    uint8_t flags; /* IKE_FLAG_* */
    uint32_t msgid;
    uint32_t length;
};

/* One payload of a chain. The body excludes the 4-octet generic header. */
struct ike_payload {
    uint8_t type;
    uint8_t next; /* for SK/SKF: the type of the first inner payload */
    bool critical;
    bool inner;      /* found in decrypted content: offsets count from there */
    uint32_t offset; /* of the generic header, from the buffer start */
    struct ike_span body;
};

/* Caps on what one message may carry; past them the parse fails with
 * IKE_ERR_LIMIT (answered as INVALID_SYNTAX) rather than allocating. */
#define IKE_MAX_PAYLOADS 64

struct ike_chain {
    unsigned n;         /* payloads kept in pl[] (known types only) */
    unsigned n_skipped; /* unknown non-critical payloads passed over */
    struct ike_payload pl[IKE_MAX_PAYLOADS];
};

struct ike_msg {
    const uint8_t *raw; /* the whole datagram: what AUTH signs in IKE_SA_INIT */
    size_t len;
    struct ike_hdr hdr;
    struct ike_chain outer;
    /* The SK or SKF payload (always the last of the outer chain), or NULL. */
    const struct ike_payload *sk;
    struct ike_chain inner; /* empty until ike_msg_parse_inner() */
};

/* Flags for ike_chain_parse. */
#define IKE_CHAIN_INNER 0x1u /* decrypted content: SK/SKF may not appear again */

/* Parse the 28-octet header. On IKE_ERR_MAJOR_VERSION and IKE_ERR_LENGTH the
 * header fields are still filled so a reply can be addressed. */
enum ike_err ike_hdr_parse(const uint8_t *buf, size_t len, struct ike_hdr *h,
                           struct ike_error *err);

/* Walk a payload chain that starts with type `first` and must end exactly at
 * buf + len. `base` is added to reported offsets (the chain's position in the
 * message). Unknown payloads are skipped unless critical. */
enum ike_err ike_chain_parse(struct ike_chain *c, uint8_t first, const uint8_t *buf, size_t len,
                             size_t base, unsigned flags, struct ike_error *err);

/* Header and outer chain of a datagram. */
enum ike_err ike_msg_parse(struct ike_msg *m, const uint8_t *buf, size_t len,
                           struct ike_error *err);

/* Inner chain of m's SK/SKF payload from decrypted `plain` (inner payloads
 * only: IV, padding, pad length and ICV already stripped). `first` is the
 * SK payload's next field (for fragments: the first fragment's). */
enum ike_err ike_msg_parse_inner(struct ike_msg *m, uint8_t first, const uint8_t *plain, size_t len,
                                 struct ike_error *err);

/* First payload of `type` after `prev` (NULL: from the start), or NULL. */
const struct ike_payload *ike_chain_find(const struct ike_chain *c, uint8_t type,
                                         const struct ike_payload *prev);
unsigned ike_chain_count(const struct ike_chain *c, uint8_t type);

const char *ike_err_name(enum ike_err e);
/* The Notify type RFC 7296 says to answer with, or 0 where the message is
 * to be dropped without a reply (too short to carry SPIs, builder errors). */
uint16_t ike_error_notify(const struct ike_error *e);
/* "INVALID_SYNTAX at offset 52 (SA): transform length past proposal";
 * returns what snprintf returns. */
int ike_error_format(const struct ike_error *e, char *buf, size_t len);

#endif

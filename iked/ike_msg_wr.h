/* IKEv2 message writer: the header, generic payload framing and the SK/SKF
 * envelopes (RFC 7296 §3.1, §3.2, §3.14; RFC 7383 §2.5). Next Payload fields
 * are chained and every length is fixed up by the writer; typed payload
 * builders on top of it are in ike_payload_wr.h.
 *
 * Errors are sticky: after the first failure every call returns the same
 * error and writes nothing, so a sequence of calls can be checked once at
 * ike_wr_finish(). Offsets, not pointers, are handed out because a growable
 * buffer moves when it grows. */
#ifndef MGATE_IKE_MSG_WR_H
#define MGATE_IKE_MSG_WR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ike_msg.h"

/* UDP's bound for one IKE message. */
#define IKE_WR_MAX_DEFAULT 65535u

struct ike_wr {
    uint8_t *buf;
    size_t len;
    size_t cap;
    size_t max;
    bool owned; /* buf belongs to the writer (growable mode) */
    bool has_hdr;
    bool sealed;      /* SK/SKF closed: nothing may follow it */
    enum ike_err err; /* first failure, sticky */
    uint8_t first;    /* type of the first payload of the chain */
    size_t np;        /* Next Payload octet the next payload's type goes into */
    size_t pl;        /* open payload's generic header */
    uint8_t pl_type;  /* and its type */
    size_t sk;        /* open SK payload */
    size_t sk_plain;  /* where SK's inner payloads begin */
    size_t prop;      /* open SA proposal */
    size_t last_prop; /* previous proposal, to flag "more follow" */
    size_t last_xf;   /* previous transform of the open proposal */
    unsigned n_prop;
    unsigned n_xf;
    size_t body_off; /* last closed payload's body, for ike_wr_last_body */
    size_t body_len;
};

/* Where the crypto layer works on a closed SK/SKF payload; all offsets from
 * the start of the message. The IV and ICV are reserved (zeroed), padding
 * and the pad length octet written; the crypto layer fills the IV, encrypts
 * [plain_off, plain_off + plain_len) in place and writes the ICV. */
struct ike_wr_sk {
    size_t aad_len; /* header .. SK(F) header: AEAD associated data */
    size_t iv_off;
    size_t iv_len;
    size_t plain_off;
    size_t plain_len; /* inner payloads + padding + pad length */
    size_t icv_off;
    size_t icv_len;
};

/* Into a caller's buffer of `cap` octets (never grown, never freed). */
void ike_wr_init(struct ike_wr *w, uint8_t *buf, size_t cap);
/* Into a heap buffer the writer grows up to `max` octets (0: the default);
 * release it with ike_wr_free() or take it with ike_wr_steal(). */
void ike_wr_init_dyn(struct ike_wr *w, size_t max);
void ike_wr_free(struct ike_wr *w);
/* Hand the heap buffer to the caller (who free()s it); NULL for a writer on
 * a caller's buffer or one that failed. The writer is left empty. */
uint8_t *ike_wr_steal(struct ike_wr *w, size_t *len);

/* Header from h (SPIs, exchange, flags, message ID; version 2.0 always;
 * next payload and length are filled in as payloads are added). Without a
 * header the writer builds a bare payload chain, e.g. the inner payloads of
 * a message to be split into SKF fragments; ike_wr_first() gives its type. */
enum ike_err ike_wr_header(struct ike_wr *w, const struct ike_hdr *h);

/* Open a payload of any type: the generic header is written and chained;
 * the body is appended with the ike_wr_put* calls; ike_wr_end closes it. */
enum ike_err ike_wr_begin(struct ike_wr *w, uint8_t type, bool critical);
enum ike_err ike_wr_end(struct ike_wr *w);
enum ike_err ike_wr_put(struct ike_wr *w, const void *data, size_t len);
enum ike_err ike_wr_put8(struct ike_wr *w, uint8_t v);
enum ike_err ike_wr_put16(struct ike_wr *w, uint16_t v);
enum ike_err ike_wr_put32(struct ike_wr *w, uint32_t v);
/* Append `len` zero octets; *off (may be NULL) gets their offset. */
enum ike_err ike_wr_zero(struct ike_wr *w, size_t len, size_t *off);
/* Patch octets already written (e.g. a count known only later). */
enum ike_err ike_wr_patch16(struct ike_wr *w, size_t off, uint16_t v);
/* A whole payload with an opaque body (unknown types, tests). */
enum ike_err ike_wr_payload(struct ike_wr *w, uint8_t type, bool critical, const void *body,
                            size_t len);

/* SK envelope: after ike_wr_sk_begin the inner payloads are added with the
 * usual builders (the first one's type lands in SK's Next Payload);
 * ike_wr_sk_end pads the plaintext to `block` octets (1 for AEAD/stream
 * ciphers, 16 for AES-CBC) and reserves the ICV. SK must be last. */
enum ike_err ike_wr_sk_begin(struct ike_wr *w, size_t iv_len);
enum ike_err ike_wr_sk_end(struct ike_wr *w, unsigned block, size_t icv_len, struct ike_wr_sk *out);

/* One SKF payload (RFC 7383) carrying `len` octets of an inner chain whose
 * first payload type is `first` (fragment 1 only; 0 for the others). */
enum ike_err ike_wr_skf(struct ike_wr *w, uint16_t frag_num, uint16_t frag_total, uint8_t first,
                        size_t iv_len, const void *plain, size_t len, unsigned block,
                        size_t icv_len, struct ike_wr_sk *out);

/* Check everything is closed and fix the header length. *out (may be NULL)
 * gets the message (or the bare chain). */
enum ike_err ike_wr_finish(struct ike_wr *w, struct ike_span *out);

/* Body of the payload closed last, e.g. our own IDr for the AUTH
 * computation (valid until the next write). */
struct ike_span ike_wr_last_body(const struct ike_wr *w);
uint8_t ike_wr_first(const struct ike_wr *w);

#endif

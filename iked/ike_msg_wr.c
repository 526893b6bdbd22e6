/* IKEv2 message writer core: buffer management, header, generic payload
 * framing with Next Payload chaining, SK and SKF envelopes. */
#include <stdlib.h>
#include <string.h>

#include "ike_msg_int.h"
#include "ike_msg_wr.h"

/* "No such offset": no open payload, nothing to chain to yet. */
#define IKE_WR_NONE SIZE_MAX

static void ike_wr_reset(struct ike_wr *w, uint8_t *buf, size_t cap, size_t max, bool owned)
{
    memset(w, 0, sizeof(*w));
    w->buf = buf;
    w->cap = cap;
    w->max = max;
    w->owned = owned;
    w->np = IKE_WR_NONE;
    w->pl = IKE_WR_NONE;
    w->sk = IKE_WR_NONE;
    w->prop = IKE_WR_NONE;
    w->last_prop = IKE_WR_NONE;
    w->last_xf = IKE_WR_NONE;
}

void ike_wr_init(struct ike_wr *w, uint8_t *buf, size_t cap)
{
    ike_wr_reset(w, buf, cap, cap, false);
}

void ike_wr_init_dyn(struct ike_wr *w, size_t max)
{
    ike_wr_reset(w, NULL, 0, max ? max : IKE_WR_MAX_DEFAULT, true);
}

void ike_wr_free(struct ike_wr *w)
{
    if (w->owned)
        free(w->buf);
    w->buf = NULL;
    w->len = w->cap = 0;
}

uint8_t *ike_wr_steal(struct ike_wr *w, size_t *len)
{
    uint8_t *buf = NULL;

    *len = 0;
    if (w->owned && w->err == IKE_OK) {
        buf = w->buf;
        *len = w->len;
        w->buf = NULL;
    }
    ike_wr_free(w);
    return buf;
}

static enum ike_err ike_wr_fail(struct ike_wr *w, enum ike_err e)
{
    if (w->err == IKE_OK)
        w->err = e;
    return w->err;
}

/* Make room for n more octets. */
static enum ike_err ike_wr_room(struct ike_wr *w, size_t n)
{
    if (w->err != IKE_OK)
        return w->err;
    if (n > w->max - w->len)
        return ike_wr_fail(w, IKE_ERR_NOSPACE);
    if (n <= w->cap - w->len)
        return IKE_OK;
    if (!w->owned)
        return ike_wr_fail(w, IKE_ERR_NOSPACE);
    size_t cap = w->cap ? w->cap : 256;
    while (cap < w->len + n)
        cap = cap > w->max / 2 ? w->max : cap * 2;
    uint8_t *nb = realloc(w->buf, cap);
    if (!nb)
        return ike_wr_fail(w, IKE_ERR_NOMEM);
    w->buf = nb;
    w->cap = cap;
    return IKE_OK;
}

enum ike_err ike_wr_put(struct ike_wr *w, const void *data, size_t len)
{
    enum ike_err rc = ike_wr_room(w, len);

    if (rc != IKE_OK)
        return rc;
    if (len && !data)
        return ike_wr_fail(w, IKE_ERR_USAGE);
    if (len)
        memcpy(w->buf + w->len, data, len);
    w->len += len;
    return IKE_OK;
}

enum ike_err ike_wr_put8(struct ike_wr *w, uint8_t v)
{
    return ike_wr_put(w, &v, 1);
}

enum ike_err ike_wr_put16(struct ike_wr *w, uint16_t v)
{
    uint8_t b[2];

    ike_msg_put16(b, v);
    return ike_wr_put(w, b, sizeof(b));
}

enum ike_err ike_wr_put32(struct ike_wr *w, uint32_t v)
{
    uint8_t b[4];

    ike_msg_put32(b, v);
    return ike_wr_put(w, b, sizeof(b));
}

enum ike_err ike_wr_zero(struct ike_wr *w, size_t len, size_t *off)
{
    enum ike_err rc = ike_wr_room(w, len);

    if (rc != IKE_OK)
        return rc;
    if (off)
        *off = w->len;
    if (len) {
        memset(w->buf + w->len, 0, len);
        w->len += len;
    }
    return IKE_OK;
}

enum ike_err ike_wr_patch16(struct ike_wr *w, size_t off, uint16_t v)
{
    if (w->err != IKE_OK)
        return w->err;
    if (off > w->len || w->len - off < 2)
        return ike_wr_fail(w, IKE_ERR_USAGE);
    ike_msg_put16(w->buf + off, v);
    return IKE_OK;
}

enum ike_err ike_wr_header(struct ike_wr *w, const struct ike_hdr *h)
{
    uint8_t b[IKE_HDR_LEN];

    if (w->err != IKE_OK)
        return w->err;
    if (w->len != 0)
        return ike_wr_fail(w, IKE_ERR_USAGE);
    memcpy(b, h->ispi, IKE_SPI_LEN);
    memcpy(b + 8, h->rspi, IKE_SPI_LEN);
    b[16] = IKE_PL_NONE;
    b[17] = IKE_MAJOR_VERSION << 4 | IKE_MINOR_VERSION;
    b[18] = h->exchange;
    b[19] = h->flags;
    ike_msg_put32(b + 20, h->msgid);
    ike_msg_put32(b + 24, IKE_HDR_LEN);
    if (ike_wr_put(w, b, sizeof(b)) != IKE_OK)
        return w->err;
    w->has_hdr = true;
    w->np = 16;
    return IKE_OK;
}

/* Record `type` in the Next Payload field that precedes it. */
static void ike_wr_link(struct ike_wr *w, uint8_t type)
{
    if (w->np == IKE_WR_NONE)
        w->first = type;
    else
        w->buf[w->np] = type;
}

enum ike_err ike_wr_begin(struct ike_wr *w, uint8_t type, bool critical)
{
    size_t off = w->len;

    if (w->err != IKE_OK)
        return w->err;
    if (w->pl != IKE_WR_NONE || w->sealed || type == IKE_PL_NONE)
        return ike_wr_fail(w, IKE_ERR_USAGE);
    uint8_t hdr[IKE_GENERIC_HDR_LEN] = {IKE_PL_NONE, critical ? IKE_PL_CRITICAL : 0, 0,
                                        IKE_GENERIC_HDR_LEN};
    if (ike_wr_put(w, hdr, sizeof(hdr)) != IKE_OK)
        return w->err;
    ike_wr_link(w, type);
    w->np = off;
    w->pl = off;
    w->pl_type = type;
    return IKE_OK;
}

/* Set the 16-bit length at `off` to cover [start, end of buffer). */
static enum ike_err ike_wr_fix_len(struct ike_wr *w, size_t start, size_t off)
{
    size_t len = w->len - start;

    if (len > UINT16_MAX)
        return ike_wr_fail(w, IKE_ERR_NOSPACE);
    ike_msg_put16(w->buf + off, (uint16_t)len);
    return IKE_OK;
}

enum ike_err ike_wr_end(struct ike_wr *w)
{
    size_t pl = w->pl;

    if (w->err != IKE_OK)
        return w->err;
    if (pl == IKE_WR_NONE || w->prop != IKE_WR_NONE)
        return ike_wr_fail(w, IKE_ERR_USAGE);
    if (ike_wr_fix_len(w, pl, pl + 2) != IKE_OK)
        return w->err;
    w->pl = IKE_WR_NONE;
    w->body_off = pl + IKE_GENERIC_HDR_LEN;
    w->body_len = w->len - w->body_off;
    return IKE_OK;
}

enum ike_err ike_wr_payload(struct ike_wr *w, uint8_t type, bool critical, const void *body,
                            size_t len)
{
    if (ike_wr_begin(w, type, critical) != IKE_OK || ike_wr_put(w, body, len) != IKE_OK)
        return w->err;
    return ike_wr_end(w);
}

enum ike_err ike_wr_sk_begin(struct ike_wr *w, size_t iv_len)
{
    if (w->err != IKE_OK)
        return w->err;
    if (!w->has_hdr || w->sk != IKE_WR_NONE)
        return ike_wr_fail(w, IKE_ERR_USAGE);
    size_t sk = w->len;
    if (ike_wr_begin(w, IKE_PL_SK, false) != IKE_OK || ike_wr_zero(w, iv_len, NULL) != IKE_OK)
        return w->err;
    /* Inner payloads chain from SK's own Next Payload field. */
    w->pl = IKE_WR_NONE;
    w->sk = sk;
    w->sk_plain = w->len;
    return IKE_OK;
}

/* Padding + Pad Length so the plaintext is a multiple of `block` (§3.14),
 * then the ICV; fills *out for the payload starting at `pl`. */
static enum ike_err ike_wr_seal(struct ike_wr *w, size_t pl, size_t iv_off, size_t iv_len,
                                size_t plain_off, unsigned block, size_t icv_len,
                                struct ike_wr_sk *out)
{
    size_t pad = (block - (w->len - plain_off + 1) % block) % block;
    size_t icv_off = 0;

    if (ike_wr_zero(w, pad, NULL) != IKE_OK || ike_wr_put8(w, (uint8_t)pad) != IKE_OK ||
        ike_wr_zero(w, icv_len, &icv_off) != IKE_OK || ike_wr_fix_len(w, pl, pl + 2) != IKE_OK)
        return w->err;
    w->sealed = true;
    w->np = IKE_WR_NONE;
    w->pl = IKE_WR_NONE;
    if (out) {
        out->aad_len = iv_off;
        out->iv_off = iv_off;
        out->iv_len = iv_len;
        out->plain_off = plain_off;
        out->plain_len = icv_off - plain_off;
        out->icv_off = icv_off;
        out->icv_len = icv_len;
    }
    return IKE_OK;
}

enum ike_err ike_wr_sk_end(struct ike_wr *w, unsigned block, size_t icv_len, struct ike_wr_sk *out)
{
    if (w->err != IKE_OK)
        return w->err;
    if (w->sk == IKE_WR_NONE || w->sealed || w->pl != IKE_WR_NONE || block == 0 || block > 256)
        return ike_wr_fail(w, IKE_ERR_USAGE);
    size_t sk = w->sk, iv_off = sk + IKE_GENERIC_HDR_LEN;
    if (ike_wr_seal(w, sk, iv_off, w->sk_plain - iv_off, w->sk_plain, block, icv_len, out) !=
        IKE_OK)
        return w->err;
    w->sk = IKE_WR_NONE;
    return IKE_OK;
}

enum ike_err ike_wr_skf(struct ike_wr *w, uint16_t frag_num, uint16_t frag_total, uint8_t first,
                        size_t iv_len, const void *plain, size_t len, unsigned block,
                        size_t icv_len, struct ike_wr_sk *out)
{
    if (w->err != IKE_OK)
        return w->err;
    if (!w->has_hdr || w->sk != IKE_WR_NONE || frag_num == 0 || frag_num > frag_total ||
        (frag_num > 1 && first != IKE_PL_NONE) || block == 0 || block > 256)
        return ike_wr_fail(w, IKE_ERR_USAGE);
    size_t pl = w->len, iv_off = 0;
    if (ike_wr_begin(w, IKE_PL_SKF, false) != IKE_OK || ike_wr_put16(w, frag_num) != IKE_OK ||
        ike_wr_put16(w, frag_total) != IKE_OK || ike_wr_zero(w, iv_len, &iv_off) != IKE_OK)
        return w->err;
    size_t plain_off = w->len;
    if (ike_wr_put(w, plain, len) != IKE_OK)
        return w->err;
    /* The inner chain's first type rides in SKF's own Next Payload. */
    w->buf[pl] = first;
    return ike_wr_seal(w, pl, iv_off, iv_len, plain_off, block, icv_len, out);
}

enum ike_err ike_wr_finish(struct ike_wr *w, struct ike_span *out)
{
    if (w->err != IKE_OK)
        return w->err;
    if (w->pl != IKE_WR_NONE || w->sk != IKE_WR_NONE)
        return ike_wr_fail(w, IKE_ERR_USAGE);
    if (w->has_hdr) {
        if (w->len > UINT32_MAX)
            return ike_wr_fail(w, IKE_ERR_NOSPACE);
        ike_msg_put32(w->buf + 24, (uint32_t)w->len);
    }
    if (out) {
        out->ptr = w->buf;
        out->len = w->len;
    }
    return IKE_OK;
}

struct ike_span ike_wr_last_body(const struct ike_wr *w)
{
    struct ike_span s = {NULL, 0};

    if (w->buf && w->body_off + w->body_len <= w->len) {
        s.ptr = w->buf + w->body_off;
        s.len = w->body_len;
    }
    return s;
}

uint8_t ike_wr_first(const struct ike_wr *w)
{
    return w->first;
}

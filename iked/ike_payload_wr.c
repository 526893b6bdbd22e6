/* Typed payload builders (RFC 7296 §3.3–§3.16, RFC 7427 §3): the inverse of
 * the parsers in ike_payload*.c, on top of the ike_msg_wr.c framing. */
#include <string.h>

#include "ike_msg_int.h"
#include "ike_payload_wr.h"

#define IKE_WR_NONE SIZE_MAX

static enum ike_err ike_wr_usage(struct ike_wr *w)
{
    if (w->err == IKE_OK)
        w->err = IKE_ERR_USAGE;
    return w->err;
}

enum ike_err ike_wr_sa_begin(struct ike_wr *w)
{
    if (ike_wr_begin(w, IKE_PL_SA, false) != IKE_OK)
        return w->err;
    w->n_prop = 0;
    w->last_prop = IKE_WR_NONE;
    return IKE_OK;
}

enum ike_err ike_wr_proposal_begin(struct ike_wr *w, uint8_t num, uint8_t proto, const uint8_t *spi,
                                   uint8_t spi_len)
{
    size_t off = w->len;

    if (w->err != IKE_OK)
        return w->err;
    if (w->pl == IKE_WR_NONE || w->pl_type != IKE_PL_SA || w->prop != IKE_WR_NONE ||
        spi_len > IKE_MAX_SPI_LEN)
        return ike_wr_usage(w);
    /* The Last Substruc of the previous proposal now says "more". */
    if (w->last_prop != IKE_WR_NONE)
        w->buf[w->last_prop] = IKE_SUBSTRUC_PROPOSAL;
    uint8_t hdr[8] = {IKE_SUBSTRUC_LAST, 0, 0, 0, num, proto, spi_len, 0};
    if (ike_wr_put(w, hdr, sizeof(hdr)) != IKE_OK || ike_wr_put(w, spi, spi_len) != IKE_OK)
        return w->err;
    w->prop = off;
    w->last_xf = IKE_WR_NONE;
    w->n_xf = 0;
    return IKE_OK;
}

enum ike_err ike_wr_transform(struct ike_wr *w, uint8_t type, uint16_t id, uint16_t key_len)
{
    size_t off = w->len;

    if (w->err != IKE_OK)
        return w->err;
    if (w->prop == IKE_WR_NONE || w->n_xf == UINT8_MAX)
        return ike_wr_usage(w);
    if (w->last_xf != IKE_WR_NONE)
        w->buf[w->last_xf] = IKE_SUBSTRUC_TRANSFORM;
    uint8_t hdr[8] = {IKE_SUBSTRUC_LAST, 0, 0, 8, type, 0, (uint8_t)(id >> 8), (uint8_t)id};
    if (ike_wr_put(w, hdr, sizeof(hdr)) != IKE_OK)
        return w->err;
    if (key_len) {
        /* Key Length is the one IKEv2 attribute, always TV (§3.3.5). */
        if (ike_wr_put16(w, IKE_ATTR_AF_TV | IKE_ATTR_KEY_LENGTH) != IKE_OK ||
            ike_wr_put16(w, key_len) != IKE_OK || ike_wr_patch16(w, off + 2, 12) != IKE_OK)
            return w->err;
    }
    w->last_xf = off;
    w->n_xf++;
    return IKE_OK;
}

enum ike_err ike_wr_proposal_end(struct ike_wr *w)
{
    size_t prop = w->prop, len = w->len - prop;

    if (w->err != IKE_OK)
        return w->err;
    if (prop == IKE_WR_NONE || w->n_xf == 0)
        return ike_wr_usage(w);
    if (len > UINT16_MAX) {
        w->err = IKE_ERR_NOSPACE;
        return w->err;
    }
    ike_msg_put16(w->buf + prop + 2, (uint16_t)len);
    w->buf[prop + 7] = (uint8_t)w->n_xf;
    w->last_prop = prop;
    w->prop = IKE_WR_NONE;
    w->n_prop++;
    return IKE_OK;
}

enum ike_err ike_wr_sa_end(struct ike_wr *w)
{
    if (w->err != IKE_OK)
        return w->err;
    if (w->pl == IKE_WR_NONE || w->pl_type != IKE_PL_SA || w->prop != IKE_WR_NONE || w->n_prop == 0)
        return ike_wr_usage(w);
    return ike_wr_end(w);
}

enum ike_err ike_wr_sa(struct ike_wr *w, const struct ike_sa_pl *sa)
{
    if (ike_wr_sa_begin(w) != IKE_OK)
        return w->err;
    for (unsigned i = 0; i < sa->n_prop; i++) {
        const struct ike_proposal *p = &sa->prop[i];
        if (p->first_xf + p->n_xf > sa->n_xf)
            return ike_wr_usage(w);
        if (ike_wr_proposal_begin(w, p->num, p->proto, p->spi, p->spi_len) != IKE_OK)
            return w->err;
        for (unsigned j = 0; j < p->n_xf; j++) {
            const struct ike_transform *x = &sa->xf[p->first_xf + j];
            if (ike_wr_transform(w, x->type, x->id, x->key_len) != IKE_OK)
                return w->err;
        }
        if (ike_wr_proposal_end(w) != IKE_OK)
            return w->err;
    }
    return ike_wr_sa_end(w);
}

/* A payload whose body is a 4-octet word (two fields and RESERVED) and data. */
static enum ike_err ike_wr_word_data(struct ike_wr *w, uint8_t type, const uint8_t word[4],
                                     const void *data, size_t len)
{
    if (ike_wr_begin(w, type, false) != IKE_OK || ike_wr_put(w, word, 4) != IKE_OK ||
        ike_wr_put(w, data, len) != IKE_OK)
        return w->err;
    return ike_wr_end(w);
}

enum ike_err ike_wr_ke(struct ike_wr *w, uint16_t group, const void *data, size_t len)
{
    uint8_t word[4] = {(uint8_t)(group >> 8), (uint8_t)group, 0, 0};

    return ike_wr_word_data(w, IKE_PL_KE, word, data, len);
}

enum ike_err ike_wr_id(struct ike_wr *w, uint8_t pl_type, uint8_t id_type, const void *data,
                       size_t len)
{
    uint8_t word[4] = {id_type, 0, 0, 0};

    if (pl_type != IKE_PL_IDI && pl_type != IKE_PL_IDR)
        return ike_wr_usage(w);
    return ike_wr_word_data(w, pl_type, word, data, len);
}

static enum ike_err ike_wr_octet_data(struct ike_wr *w, uint8_t type, uint8_t first,
                                      const void *data, size_t len)
{
    if (ike_wr_begin(w, type, false) != IKE_OK || ike_wr_put8(w, first) != IKE_OK ||
        ike_wr_put(w, data, len) != IKE_OK)
        return w->err;
    return ike_wr_end(w);
}

enum ike_err ike_wr_cert(struct ike_wr *w, uint8_t encoding, const void *data, size_t len)
{
    return ike_wr_octet_data(w, IKE_PL_CERT, encoding, data, len);
}

enum ike_err ike_wr_certreq(struct ike_wr *w, uint8_t encoding, const void *data, size_t len)
{
    return ike_wr_octet_data(w, IKE_PL_CERTREQ, encoding, data, len);
}

enum ike_err ike_wr_auth(struct ike_wr *w, uint8_t method, const void *data, size_t len)
{
    uint8_t word[4] = {method, 0, 0, 0};

    return ike_wr_word_data(w, IKE_PL_AUTH, word, data, len);
}

enum ike_err ike_wr_auth_sig(struct ike_wr *w, const void *alg_id, size_t alg_len, const void *sig,
                             size_t sig_len)
{
    uint8_t word[4] = {IKE_AUTH_DIGITAL_SIGNATURE, 0, 0, 0};

    if (alg_len == 0 || alg_len > UINT8_MAX || sig_len == 0)
        return ike_wr_usage(w);
    if (ike_wr_begin(w, IKE_PL_AUTH, false) != IKE_OK || ike_wr_put(w, word, 4) != IKE_OK ||
        ike_wr_put8(w, (uint8_t)alg_len) != IKE_OK || ike_wr_put(w, alg_id, alg_len) != IKE_OK ||
        ike_wr_put(w, sig, sig_len) != IKE_OK)
        return w->err;
    return ike_wr_end(w);
}

enum ike_err ike_wr_nonce(struct ike_wr *w, const void *data, size_t len)
{
    if (len < IKE_NONCE_MIN || len > IKE_NONCE_MAX)
        return ike_wr_usage(w);
    return ike_wr_payload(w, IKE_PL_NONCE, false, data, len);
}

enum ike_err ike_wr_notify(struct ike_wr *w, uint8_t proto, uint16_t type, const void *spi,
                           uint8_t spi_len, const void *data, size_t len)
{
    uint8_t word[4] = {proto, spi_len, (uint8_t)(type >> 8), (uint8_t)type};

    if (ike_wr_begin(w, IKE_PL_NOTIFY, false) != IKE_OK || ike_wr_put(w, word, 4) != IKE_OK ||
        ike_wr_put(w, spi, spi_len) != IKE_OK || ike_wr_put(w, data, len) != IKE_OK)
        return w->err;
    return ike_wr_end(w);
}

enum ike_err ike_wr_delete(struct ike_wr *w, uint8_t proto, const uint32_t *spis, uint16_t n)
{
    uint8_t spi_len = proto == IKE_PROTO_IKE ? 0 : 4;
    uint8_t word[4] = {proto, spi_len, (uint8_t)(n >> 8), (uint8_t)n};

    if ((proto == IKE_PROTO_IKE && n != 0) ||
        (proto != IKE_PROTO_IKE && proto != IKE_PROTO_AH && proto != IKE_PROTO_ESP) || (n && !spis))
        return ike_wr_usage(w);
    if (ike_wr_begin(w, IKE_PL_DELETE, false) != IKE_OK || ike_wr_put(w, word, 4) != IKE_OK)
        return w->err;
    for (unsigned i = 0; i < n; i++)
        if (ike_wr_put32(w, spis[i]) != IKE_OK)
            return w->err;
    return ike_wr_end(w);
}

enum ike_err ike_wr_vid(struct ike_wr *w, const void *data, size_t len)
{
    return ike_wr_payload(w, IKE_PL_VID, false, data, len);
}

enum ike_err ike_wr_ts(struct ike_wr *w, uint8_t pl_type, const struct ike_ts *ts, unsigned n)
{
    uint8_t word[4] = {(uint8_t)n, 0, 0, 0};

    if ((pl_type != IKE_PL_TSI && pl_type != IKE_PL_TSR) || n == 0 || n > IKE_MAX_TS)
        return ike_wr_usage(w);
    if (ike_wr_begin(w, pl_type, false) != IKE_OK || ike_wr_put(w, word, 4) != IKE_OK)
        return w->err;
    for (unsigned i = 0; i < n; i++) {
        size_t alen;
        if (ts[i].type == IKE_TS_IPV4_ADDR_RANGE)
            alen = 4;
        else if (ts[i].type == IKE_TS_IPV6_ADDR_RANGE)
            alen = 16;
        else
            return ike_wr_usage(w);
        uint8_t hdr[8] = {ts[i].type,
                          ts[i].ip_proto,
                          0,
                          (uint8_t)(8 + 2 * alen),
                          (uint8_t)(ts[i].start_port >> 8),
                          (uint8_t)ts[i].start_port,
                          (uint8_t)(ts[i].end_port >> 8),
                          (uint8_t)ts[i].end_port};
        if (ike_wr_put(w, hdr, sizeof(hdr)) != IKE_OK ||
            ike_wr_put(w, ts[i].start, alen) != IKE_OK || ike_wr_put(w, ts[i].end, alen) != IKE_OK)
            return w->err;
    }
    return ike_wr_end(w);
}

enum ike_err ike_wr_cp(struct ike_wr *w, uint8_t cfg_type, const struct ike_cp_attr *attrs,
                       unsigned n)
{
    uint8_t word[4] = {cfg_type, 0, 0, 0};

    if (n > IKE_MAX_CP_ATTRS)
        return ike_wr_usage(w);
    if (ike_wr_begin(w, IKE_PL_CP, false) != IKE_OK || ike_wr_put(w, word, 4) != IKE_OK)
        return w->err;
    for (unsigned i = 0; i < n; i++) {
        if (attrs[i].type > 0x7fff || attrs[i].value.len > UINT16_MAX)
            return ike_wr_usage(w);
        if (ike_wr_put16(w, attrs[i].type) != IKE_OK ||
            ike_wr_put16(w, (uint16_t)attrs[i].value.len) != IKE_OK ||
            ike_wr_put(w, attrs[i].value.ptr, attrs[i].value.len) != IKE_OK)
            return w->err;
    }
    return ike_wr_end(w);
}

enum ike_err ike_wr_eap(struct ike_wr *w, const void *data, size_t len)
{
    return ike_wr_payload(w, IKE_PL_EAP, false, data, len);
}

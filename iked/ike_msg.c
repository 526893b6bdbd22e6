/* IKEv2 header and payload-chain parsing (RFC 7296 §3.1, §3.2, §2.5). */
#include <stdio.h>
#include <string.h>

#include "ike_msg.h"
#include "ike_msg_int.h"

enum ike_err ike_msg_fail(struct ike_error *err, enum ike_err code, size_t offset, uint8_t payload,
                          const char *what)
{
    if (err) {
        err->code = code;
        err->offset = offset > UINT32_MAX ? UINT32_MAX : (uint32_t)offset;
        err->inner = false;
        err->payload = payload;
        err->what = what;
    }
    return code;
}

enum ike_err ike_msg_fail_pl(struct ike_error *err, const struct ike_payload *pl, size_t at,
                             enum ike_err code, const char *what)
{
    enum ike_err rc =
        ike_msg_fail(err, code, (size_t)pl->offset + IKE_GENERIC_HDR_LEN + at, pl->type, what);
    if (err)
        err->inner = pl->inner;
    return rc;
}

/* Payload types this codec has a parser for; anything else is unknown and
 * handled by its critical bit (RFC 7296 §2.5). */
static bool ike_msg_known_payload(uint8_t type)
{
    return (type >= IKE_PL_SA && type <= IKE_PL_EAP) || type == IKE_PL_SKF;
}

enum ike_err ike_hdr_parse(const uint8_t *buf, size_t len, struct ike_hdr *h, struct ike_error *err)
{
    if (len < IKE_HDR_LEN)
        return ike_msg_fail(err, IKE_ERR_TRUNCATED, len, 0, "shorter than the IKE header");
    memcpy(h->ispi, buf, IKE_SPI_LEN);
    memcpy(h->rspi, buf + 8, IKE_SPI_LEN);
    h->next = buf[16];
    h->major = buf[17] >> 4;
    h->minor = buf[17] & 0x0f;
    h->exchange = buf[18];
    h->flags = buf[19];
    h->msgid = ike_msg_get32(buf + 20);
    h->length = ike_msg_get32(buf + 24);
    /* The minor version is ignored on receipt (§3.1); a different major
     * version means the rest of the format cannot be trusted (§2.5). */
    if (h->major != IKE_MAJOR_VERSION)
        return ike_msg_fail(err, IKE_ERR_MAJOR_VERSION, 17, 0, "major version is not 2");
    if (h->length != len)
        return ike_msg_fail(err, IKE_ERR_LENGTH, 24, 0,
                            h->length < len ? "header length shorter than datagram"
                                            : "header length longer than datagram");
    return IKE_OK;
}

enum ike_err ike_chain_parse(struct ike_chain *c, uint8_t first, const uint8_t *buf, size_t len,
                             size_t base, unsigned flags, struct ike_error *err)
{
    bool inner = (flags & IKE_CHAIN_INNER) != 0;
    size_t pos = 0;
    unsigned seen = 0;
    uint8_t type = first;
    enum ike_err rc;

    c->n = 0;
    c->n_skipped = 0;
    while (type != IKE_PL_NONE) {
        if (seen++ == IKE_MAX_PAYLOADS) {
            rc = ike_msg_fail(err, IKE_ERR_LIMIT, base + pos, type, "too many payloads");
            goto fail;
        }
        if (len - pos < IKE_GENERIC_HDR_LEN) {
            rc = ike_msg_fail(err, IKE_ERR_SYNTAX, base + pos, type,
                              "payload header runs past the end");
            goto fail;
        }
        const uint8_t *p = buf + pos;
        uint16_t plen = ike_msg_get16(p + 2);
        bool critical = (p[1] & IKE_PL_CRITICAL) != 0;
        if (plen < IKE_GENERIC_HDR_LEN) {
            rc = ike_msg_fail(err, IKE_ERR_SYNTAX, base + pos + 2, type, "payload length < 4");
            goto fail;
        }
        if (plen > len - pos) {
            rc = ike_msg_fail(err, IKE_ERR_SYNTAX, base + pos + 2, type,
                              "payload length runs past the end");
            goto fail;
        }
        if (!ike_msg_known_payload(type)) {
            /* The critical bit only matters for payloads we do not know. */
            if (critical) {
                rc = ike_msg_fail(err, IKE_ERR_CRITICAL, base + pos, type,
                                  "unsupported critical payload");
                goto fail;
            }
            c->n_skipped++;
        } else {
            bool encrypted = type == IKE_PL_SK || type == IKE_PL_SKF;
            if (encrypted && inner) {
                rc = ike_msg_fail(err, IKE_ERR_SYNTAX, base + pos, type,
                                  "encrypted payload inside encrypted payload");
                goto fail;
            }
            /* SK/SKF must be last (§3.14, RFC 7383 §2.5): its next
             * field names the first inner payload instead. */
            if (encrypted && pos + plen != len) {
                rc = ike_msg_fail(err, IKE_ERR_SYNTAX, base + pos, type,
                                  "encrypted payload is not the last payload");
                goto fail;
            }
            struct ike_payload *pl = &c->pl[c->n++];
            pl->type = type;
            pl->next = p[0];
            pl->critical = critical;
            pl->inner = inner;
            pl->offset = (uint32_t)(base + pos);
            pl->body.ptr = p + IKE_GENERIC_HDR_LEN;
            pl->body.len = plen - IKE_GENERIC_HDR_LEN;
            if (encrypted)
                return IKE_OK;
        }
        pos += plen;
        type = p[0];
    }
    if (pos != len) {
        rc = ike_msg_fail(err, IKE_ERR_SYNTAX, base + pos, 0, "octets after the last payload");
        goto fail;
    }
    return IKE_OK;
fail:
    if (err)
        err->inner = inner;
    return rc;
}

enum ike_err ike_msg_parse(struct ike_msg *m, const uint8_t *buf, size_t len, struct ike_error *err)
{
    enum ike_err rc;

    m->raw = buf;
    m->len = len;
    m->sk = NULL;
    m->outer.n = m->outer.n_skipped = 0;
    m->inner.n = m->inner.n_skipped = 0;
    rc = ike_hdr_parse(buf, len, &m->hdr, err);
    if (rc != IKE_OK)
        return rc;
    rc = ike_chain_parse(&m->outer, m->hdr.next, buf + IKE_HDR_LEN, len - IKE_HDR_LEN, IKE_HDR_LEN,
                         0, err);
    if (rc != IKE_OK)
        return rc;
    if (m->outer.n > 0) {
        const struct ike_payload *last = &m->outer.pl[m->outer.n - 1];
        if (last->type == IKE_PL_SK || last->type == IKE_PL_SKF)
            m->sk = last;
    }
    return IKE_OK;
}

enum ike_err ike_msg_parse_inner(struct ike_msg *m, uint8_t first, const uint8_t *plain, size_t len,
                                 struct ike_error *err)
{
    m->inner.n = m->inner.n_skipped = 0;
    if (!m->sk)
        return ike_msg_fail(err, IKE_ERR_USAGE, 0, 0, "message has no SK/SKF payload");
    return ike_chain_parse(&m->inner, first, plain, len, 0, IKE_CHAIN_INNER, err);
}

const struct ike_payload *ike_chain_find(const struct ike_chain *c, uint8_t type,
                                         const struct ike_payload *prev)
{
    unsigned i = prev ? (unsigned)(prev - c->pl) + 1 : 0;

    for (; i < c->n; i++)
        if (c->pl[i].type == type)
            return &c->pl[i];
    return NULL;
}

unsigned ike_chain_count(const struct ike_chain *c, uint8_t type)
{
    unsigned n = 0;

    for (unsigned i = 0; i < c->n; i++)
        n += c->pl[i].type == type;
    return n;
}

const char *ike_err_name(enum ike_err e)
{
    switch (e) {
    case IKE_OK:
        return "OK";
    case IKE_ERR_TRUNCATED:
        return "TRUNCATED";
    case IKE_ERR_LENGTH:
        return "LENGTH_MISMATCH";
    case IKE_ERR_MAJOR_VERSION:
        return "INVALID_MAJOR_VERSION";
    case IKE_ERR_SYNTAX:
        return "INVALID_SYNTAX";
    case IKE_ERR_CRITICAL:
        return "UNSUPPORTED_CRITICAL_PAYLOAD";
    case IKE_ERR_LIMIT:
        return "LIMIT_EXCEEDED";
    case IKE_ERR_NOSPACE:
        return "NO_SPACE";
    case IKE_ERR_NOMEM:
        return "NO_MEMORY";
    case IKE_ERR_USAGE:
        return "USAGE";
    }
    return "UNKNOWN";
}

uint16_t ike_error_notify(const struct ike_error *e)
{
    switch (e->code) {
    case IKE_ERR_MAJOR_VERSION:
        return IKE_N_INVALID_MAJOR_VERSION;
    case IKE_ERR_SYNTAX:
    case IKE_ERR_LIMIT:
        return IKE_N_INVALID_SYNTAX;
    case IKE_ERR_CRITICAL:
        return IKE_N_UNSUPPORTED_CRITICAL_PAYLOAD;
    case IKE_ERR_LENGTH:
        /* Framing is broken, so nothing in it (integrity included)
         * can be checked: drop, as for an unverifiable message (§2.21). */
    case IKE_OK:
    case IKE_ERR_TRUNCATED:
    case IKE_ERR_NOSPACE:
    case IKE_ERR_NOMEM:
    case IKE_ERR_USAGE:
        break;
    }
    return 0;
}

int ike_error_format(const struct ike_error *e, char *buf, size_t len)
{
    return snprintf(buf, len, "%s at %soffset %u (%s %u): %s", ike_err_name(e->code),
                    e->inner ? "decrypted " : "", (unsigned)e->offset, ike_payload_name(e->payload),
                    (unsigned)e->payload, e->what ? e->what : "-");
}

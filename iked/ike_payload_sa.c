/* SA payload parser: proposals, transforms and transform attributes
 * (RFC 7296 §3.3.1–§3.3.5). */
#include <string.h>

#include "ike_msg_int.h"
#include "ike_payload.h"

#define IKE_PROP_HDR_LEN 8u
#define IKE_XF_HDR_LEN   8u
#define IKE_ATTR_HDR_LEN 4u

/* Attributes of one transform, spanning body[pos, end). */
static enum ike_err ike_pl_sa_attrs(const struct ike_payload *pl, size_t pos, size_t end,
                                    struct ike_transform *xf, struct ike_error *err)
{
    const uint8_t *b = pl->body.ptr;

    while (pos < end) {
        if (end - pos < IKE_ATTR_HDR_LEN)
            return ike_msg_fail_pl(err, pl, pos, IKE_ERR_SYNTAX, "transform attribute truncated");
        uint16_t tfield = ike_msg_get16(b + pos);
        uint16_t second = ike_msg_get16(b + pos + 2);
        bool tv = (tfield & IKE_ATTR_AF_TV) != 0;
        uint16_t atype = tfield & (uint16_t)~IKE_ATTR_AF_TV;
        size_t alen = IKE_ATTR_HDR_LEN;

        if (!tv) {
            if (second > end - pos - IKE_ATTR_HDR_LEN)
                return ike_msg_fail_pl(err, pl, pos + 2, IKE_ERR_SYNTAX,
                                       "attribute length runs past transform");
            alen += second;
        }
        if (atype == IKE_ATTR_KEY_LENGTH) {
            if (!tv)
                return ike_msg_fail_pl(err, pl, pos, IKE_ERR_SYNTAX,
                                       "Key Length attribute not in TV format");
            if (xf->key_len != 0)
                return ike_msg_fail_pl(err, pl, pos, IKE_ERR_SYNTAX,
                                       "Key Length attribute repeated");
            if (second == 0)
                return ike_msg_fail_pl(err, pl, pos + 2, IKE_ERR_SYNTAX, "Key Length of 0 bits");
            xf->key_len = second;
        } else {
            xf->unknown_attr = true;
        }
        pos += alen;
    }
    return IKE_OK;
}

/* The transforms of one proposal, spanning body[pos, end). */
static enum ike_err ike_pl_sa_transforms(const struct ike_payload *pl, size_t pos, size_t end,
                                         unsigned declared, struct ike_sa_pl *sa,
                                         struct ike_error *err)
{
    const uint8_t *b = pl->body.ptr;
    unsigned count = 0;
    enum ike_err rc;

    while (pos < end) {
        if (count == declared)
            return ike_msg_fail_pl(err, pl, pos, IKE_ERR_SYNTAX,
                                   "more transforms than Num Transforms");
        if (sa->n_xf == IKE_MAX_SA_TRANSFORMS)
            return ike_msg_fail_pl(err, pl, pos, IKE_ERR_LIMIT, "too many transforms in SA");
        if (end - pos < IKE_XF_HDR_LEN)
            return ike_msg_fail_pl(err, pl, pos, IKE_ERR_SYNTAX,
                                   "transform header runs past proposal");
        const uint8_t *t = b + pos;
        uint16_t tlen = ike_msg_get16(t + 2);
        if (tlen < IKE_XF_HDR_LEN)
            return ike_msg_fail_pl(err, pl, pos + 2, IKE_ERR_SYNTAX, "transform length < 8");
        if (tlen > end - pos)
            return ike_msg_fail_pl(err, pl, pos + 2, IKE_ERR_SYNTAX,
                                   "transform length runs past proposal");
        bool last = pos + tlen == end;
        if (t[0] != (last ? IKE_SUBSTRUC_LAST : IKE_SUBSTRUC_TRANSFORM))
            return ike_msg_fail_pl(err, pl, pos, IKE_ERR_SYNTAX,
                                   "transform Last Substruc disagrees with its position");
        struct ike_transform *xf = &sa->xf[sa->n_xf];
        memset(xf, 0, sizeof(*xf));
        xf->type = t[4];
        xf->id = ike_msg_get16(t + 6);
        rc = ike_pl_sa_attrs(pl, pos + IKE_XF_HDR_LEN, pos + tlen, xf, err);
        if (rc != IKE_OK)
            return rc;
        sa->n_xf++;
        count++;
        pos += tlen;
    }
    if (count != declared)
        return ike_msg_fail_pl(err, pl, end, IKE_ERR_SYNTAX,
                               "fewer transforms than Num Transforms");
    return IKE_OK;
}

static enum ike_err ike_pl_sa_spi_check(const struct ike_payload *pl, size_t pos, uint8_t proto,
                                        uint8_t spi_len, struct ike_error *err)
{
    switch (proto) {
    case IKE_PROTO_IKE:
        /* Empty in IKE_SA_INIT, the new SA's SPI when rekeying (§3.3.1). */
        if (spi_len == 0 || spi_len == IKE_SPI_LEN)
            return IKE_OK;
        break;
    case IKE_PROTO_AH:
    case IKE_PROTO_ESP:
        if (spi_len == 4)
            return IKE_OK;
        break;
    default:
        return ike_msg_fail_pl(err, pl, pos + 5, IKE_ERR_SYNTAX, "unknown proposal protocol id");
    }
    return ike_msg_fail_pl(err, pl, pos + 6, IKE_ERR_SYNTAX, "SPI size wrong for the protocol");
}

enum ike_err ike_pl_sa(const struct ike_payload *pl, struct ike_sa_pl *out, struct ike_error *err)
{
    const uint8_t *b = pl->body.ptr;
    size_t len = pl->body.len, pos = 0;
    enum ike_err rc;

    if (pl->type != IKE_PL_SA)
        return ike_msg_fail_pl(err, pl, 0, IKE_ERR_USAGE, "not an SA payload");
    out->n_prop = 0;
    out->n_xf = 0;
    if (len == 0)
        return ike_msg_fail_pl(err, pl, 0, IKE_ERR_SYNTAX, "SA without proposals");
    while (pos < len) {
        if (out->n_prop == IKE_MAX_PROPOSALS)
            return ike_msg_fail_pl(err, pl, pos, IKE_ERR_LIMIT, "too many proposals");
        if (len - pos < IKE_PROP_HDR_LEN)
            return ike_msg_fail_pl(err, pl, pos, IKE_ERR_SYNTAX, "proposal header runs past SA");
        const uint8_t *p = b + pos;
        uint16_t plen = ike_msg_get16(p + 2);
        if (plen < IKE_PROP_HDR_LEN)
            return ike_msg_fail_pl(err, pl, pos + 2, IKE_ERR_SYNTAX, "proposal length < 8");
        if (plen > len - pos)
            return ike_msg_fail_pl(err, pl, pos + 2, IKE_ERR_SYNTAX,
                                   "proposal length runs past SA");
        bool last = pos + plen == len;
        if (p[0] != (last ? IKE_SUBSTRUC_LAST : IKE_SUBSTRUC_PROPOSAL))
            return ike_msg_fail_pl(err, pl, pos, IKE_ERR_SYNTAX,
                                   "proposal Last Substruc disagrees with its position");

        struct ike_proposal *prop = &out->prop[out->n_prop];
        prop->num = p[4];
        prop->proto = p[5];
        prop->spi_len = p[6];
        uint8_t declared = p[7];
        if (prop->num == 0)
            return ike_msg_fail_pl(err, pl, pos + 4, IKE_ERR_SYNTAX, "proposal number 0");
        /* §3.3.1: numbered one more than the previous one (the
         * deprecated "same number = AND" form is refused). */
        if (out->n_prop > 0 && prop->num != out->prop[out->n_prop - 1].num + 1)
            return ike_msg_fail_pl(err, pl, pos + 4, IKE_ERR_SYNTAX,
                                   "proposal numbers not consecutive");
        rc = ike_pl_sa_spi_check(pl, pos, prop->proto, prop->spi_len, err);
        if (rc != IKE_OK)
            return rc;
        if ((size_t)IKE_PROP_HDR_LEN + prop->spi_len > plen)
            return ike_msg_fail_pl(err, pl, pos + 6, IKE_ERR_SYNTAX, "SPI runs past proposal");
        memset(prop->spi, 0, sizeof(prop->spi));
        memcpy(prop->spi, p + IKE_PROP_HDR_LEN, prop->spi_len);
        if (declared == 0)
            return ike_msg_fail_pl(err, pl, pos + 7, IKE_ERR_SYNTAX, "proposal without transforms");
        if (declared > IKE_MAX_PROPOSAL_TRANSFORMS)
            return ike_msg_fail_pl(err, pl, pos + 7, IKE_ERR_LIMIT,
                                   "too many transforms in proposal");
        prop->first_xf = (uint16_t)out->n_xf;
        rc = ike_pl_sa_transforms(pl, pos + IKE_PROP_HDR_LEN + prop->spi_len, pos + plen, declared,
                                  out, err);
        if (rc != IKE_OK)
            return rc;
        prop->n_xf = (uint16_t)(out->n_xf - prop->first_xf);
        out->n_prop++;
        pos += plen;
    }
    if (out->n_prop > 1 && out->prop[0].num != 1)
        return ike_msg_fail_pl(err, pl, 4, IKE_ERR_SYNTAX,
                               "first of several proposals is not number 1");
    return IKE_OK;
}

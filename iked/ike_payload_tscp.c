/* Traffic selector (RFC 7296 §3.13) and configuration (§3.15) parsers:
 * the two payloads made of a count/type word and a list of entries. */
#include <string.h>

#include "ike_msg_int.h"
#include "ike_payload.h"

#define IKE_TS_HDR_LEN      8u
#define IKE_TS4_LEN         (IKE_TS_HDR_LEN + 2 * 4)
#define IKE_TS6_LEN         (IKE_TS_HDR_LEN + 2 * 16)
#define IKE_CP_ATTR_HDR_LEN 4u
#define IKE_CP_ATTR_R       0x8000u

static enum ike_err ike_pl_ts_one(const struct ike_payload *pl, size_t pos, struct ike_ts *ts,
                                  size_t *used, struct ike_error *err)
{
    const uint8_t *b = pl->body.ptr + pos;
    size_t room = pl->body.len - pos, alen;

    if (room < IKE_TS_HDR_LEN)
        return ike_msg_fail_pl(err, pl, pos, IKE_ERR_SYNTAX,
                               "traffic selector header runs past payload");
    uint16_t slen = ike_msg_get16(b + 2);
    memset(ts, 0, sizeof(*ts));
    ts->type = b[0];
    ts->ip_proto = b[1];
    ts->start_port = ike_msg_get16(b + 4);
    ts->end_port = ike_msg_get16(b + 6);
    switch (ts->type) {
    case IKE_TS_IPV4_ADDR_RANGE:
        alen = 4;
        break;
    case IKE_TS_IPV6_ADDR_RANGE:
        alen = 16;
        break;
    default:
        return ike_msg_fail_pl(err, pl, pos, IKE_ERR_SYNTAX, "unknown traffic selector type");
    }
    if (slen != IKE_TS_HDR_LEN + 2 * alen)
        return ike_msg_fail_pl(err, pl, pos + 2, IKE_ERR_SYNTAX,
                               "selector length wrong for its type");
    if (slen > room)
        return ike_msg_fail_pl(err, pl, pos + 2, IKE_ERR_SYNTAX,
                               "selector length runs past payload");
    memcpy(ts->start, b + IKE_TS_HDR_LEN, alen);
    memcpy(ts->end, b + IKE_TS_HDR_LEN + alen, alen);
    /* Network order compares as numbers with memcmp. */
    if (memcmp(ts->start, ts->end, alen) > 0)
        return ike_msg_fail_pl(err, pl, pos + IKE_TS_HDR_LEN, IKE_ERR_SYNTAX,
                               "selector start address above end address");
    if (ts->start_port > ts->end_port && !(ts->start_port == 65535 && ts->end_port == 0))
        return ike_msg_fail_pl(err, pl, pos + 4, IKE_ERR_SYNTAX,
                               "selector start port above end port");
    *used = slen;
    return IKE_OK;
}

enum ike_err ike_pl_ts(const struct ike_payload *pl, struct ike_ts_set *out, struct ike_error *err)
{
    size_t pos = 4, used = 0;
    enum ike_err rc;

    if (pl->type != IKE_PL_TSI && pl->type != IKE_PL_TSR)
        return ike_msg_fail_pl(err, pl, 0, IKE_ERR_USAGE, "not a TS payload");
    out->n = 0;
    if (pl->body.len < 4)
        return ike_msg_fail_pl(err, pl, 0, IKE_ERR_SYNTAX, "TS header truncated");
    unsigned declared = pl->body.ptr[0];
    if (declared == 0)
        return ike_msg_fail_pl(err, pl, 0, IKE_ERR_SYNTAX, "TS payload without selectors");
    if (declared > IKE_MAX_TS)
        return ike_msg_fail_pl(err, pl, 0, IKE_ERR_LIMIT, "too many traffic selectors");
    for (unsigned i = 0; i < declared; i++) {
        rc = ike_pl_ts_one(pl, pos, &out->ts[i], &used, err);
        if (rc != IKE_OK)
            return rc;
        pos += used;
        out->n++;
    }
    if (pos != pl->body.len)
        return ike_msg_fail_pl(err, pl, pos, IKE_ERR_SYNTAX,
                               "octets after the last traffic selector");
    return IKE_OK;
}

/* NULL when `len` is a valid value length for attribute `type` (§3.15.1);
 * attribute types defined elsewhere are taken as they come. */
static const char *ike_pl_cp_len_check(uint16_t type, size_t len)
{
    switch (type) {
    case IKE_CFGA_INTERNAL_IP4_ADDRESS:
    case IKE_CFGA_INTERNAL_IP4_NETMASK:
    case IKE_CFGA_INTERNAL_IP4_DNS:
    case IKE_CFGA_INTERNAL_IP4_NBNS:
    case IKE_CFGA_INTERNAL_IP4_DHCP:
        return len == 0 || len == 4 ? NULL : "IPv4 attribute not 0 or 4 octets";
    case IKE_CFGA_INTERNAL_IP6_DNS:
    case IKE_CFGA_INTERNAL_IP6_DHCP:
        return len == 0 || len == 16 ? NULL : "IPv6 attribute not 0 or 16 octets";
    case IKE_CFGA_INTERNAL_IP6_ADDRESS:
    case IKE_CFGA_INTERNAL_IP6_SUBNET:
        /* address + prefix length */
        return len == 0 || len == 17 ? NULL : "IPv6 prefix attribute not 0 or 17 octets";
    case IKE_CFGA_INTERNAL_IP4_SUBNET:
        /* address + netmask */
        return len == 0 || len == 8 ? NULL : "INTERNAL_IP4_SUBNET not 0 or 8 octets";
    case IKE_CFGA_SUPPORTED_ATTRIBUTES:
        return len % 2 == 0 ? NULL : "SUPPORTED_ATTRIBUTES not a list of 2-octet types";
    default:
        return NULL;
    }
}

enum ike_err ike_pl_cp(const struct ike_payload *pl, struct ike_cp *out, struct ike_error *err)
{
    const uint8_t *b = pl->body.ptr;
    size_t len = pl->body.len, pos = 4;

    if (pl->type != IKE_PL_CP)
        return ike_msg_fail_pl(err, pl, 0, IKE_ERR_USAGE, "not a CP payload");
    out->n = 0;
    if (len < 4)
        return ike_msg_fail_pl(err, pl, 0, IKE_ERR_SYNTAX, "CP header truncated");
    out->cfg_type = b[0];
    if (out->cfg_type < IKE_CFG_REQUEST || out->cfg_type > IKE_CFG_ACK)
        return ike_msg_fail_pl(err, pl, 0, IKE_ERR_SYNTAX, "unknown CFG type");
    while (pos < len) {
        if (out->n == IKE_MAX_CP_ATTRS)
            return ike_msg_fail_pl(err, pl, pos, IKE_ERR_LIMIT,
                                   "too many configuration attributes");
        if (len - pos < IKE_CP_ATTR_HDR_LEN)
            return ike_msg_fail_pl(err, pl, pos, IKE_ERR_SYNTAX,
                                   "configuration attribute header truncated");
        struct ike_cp_attr *a = &out->attr[out->n];
        a->type = ike_msg_get16(b + pos) & (uint16_t)~IKE_CP_ATTR_R;
        uint16_t vlen = ike_msg_get16(b + pos + 2);
        if (vlen > len - pos - IKE_CP_ATTR_HDR_LEN)
            return ike_msg_fail_pl(err, pl, pos + 2, IKE_ERR_SYNTAX,
                                   "configuration attribute runs past payload");
        const char *bad = ike_pl_cp_len_check(a->type, vlen);
        if (bad)
            return ike_msg_fail_pl(err, pl, pos + 2, IKE_ERR_SYNTAX, bad);
        a->value.ptr = b + pos + IKE_CP_ATTR_HDR_LEN;
        a->value.len = vlen;
        out->n++;
        pos += IKE_CP_ATTR_HDR_LEN + (size_t)vlen;
    }
    return IKE_OK;
}

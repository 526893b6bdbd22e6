/* Typed parsers for the small fixed-layout payloads: KE, ID, CERT, CERTREQ,
 * AUTH, Nonce, Notify, Delete, VID, SK/SKF, EAP (RFC 7296 §3.4–§3.16,
 * RFC 7383 §2.5, RFC 7427 §3), whole-chain validation and the AUTH inputs. */
#include <string.h>

#include "ike_msg_int.h"
#include "ike_payload.h"

static enum ike_err ike_pl_want(const struct ike_payload *pl, uint8_t type, struct ike_error *err)
{
    if (pl->type != type)
        return ike_msg_fail_pl(err, pl, 0, IKE_ERR_USAGE, "payload of another type");
    return IKE_OK;
}

static struct ike_span ike_pl_tail(const struct ike_payload *pl, size_t from)
{
    struct ike_span s = {pl->body.ptr + from, pl->body.len - from};
    return s;
}

enum ike_err ike_pl_ke(const struct ike_payload *pl, struct ike_ke *out, struct ike_error *err)
{
    enum ike_err rc = ike_pl_want(pl, IKE_PL_KE, err);

    if (rc != IKE_OK)
        return rc;
    if (pl->body.len <= 4)
        return ike_msg_fail_pl(err, pl, 0, IKE_ERR_SYNTAX, "KE without key exchange data");
    out->group = ike_msg_get16(pl->body.ptr);
    out->data = ike_pl_tail(pl, 4);
    return IKE_OK;
}

enum ike_err ike_pl_id(const struct ike_payload *pl, struct ike_id *out, struct ike_error *err)
{
    if (pl->type != IKE_PL_IDI && pl->type != IKE_PL_IDR)
        return ike_msg_fail_pl(err, pl, 0, IKE_ERR_USAGE, "not an ID payload");
    if (pl->body.len <= 4)
        return ike_msg_fail_pl(err, pl, 0, IKE_ERR_SYNTAX, "ID without identification data");
    out->type = pl->body.ptr[0];
    out->data = ike_pl_tail(pl, 4);
    out->body = pl->body;
    if (out->type == IKE_ID_IPV4_ADDR && out->data.len != 4)
        return ike_msg_fail_pl(err, pl, 4, IKE_ERR_SYNTAX, "ID_IPV4_ADDR not 4 octets");
    if (out->type == IKE_ID_IPV6_ADDR && out->data.len != 16)
        return ike_msg_fail_pl(err, pl, 4, IKE_ERR_SYNTAX, "ID_IPV6_ADDR not 16 octets");
    return IKE_OK;
}

enum ike_err ike_pl_cert(const struct ike_payload *pl, struct ike_cert *out, struct ike_error *err)
{
    enum ike_err rc = ike_pl_want(pl, IKE_PL_CERT, err);

    if (rc != IKE_OK)
        return rc;
    if (pl->body.len < 2)
        return ike_msg_fail_pl(err, pl, 0, IKE_ERR_SYNTAX, "CERT without certificate data");
    out->encoding = pl->body.ptr[0];
    out->data = ike_pl_tail(pl, 1);
    return IKE_OK;
}

enum ike_err ike_pl_certreq(const struct ike_payload *pl, struct ike_cert *out,
                            struct ike_error *err)
{
    enum ike_err rc = ike_pl_want(pl, IKE_PL_CERTREQ, err);

    if (rc != IKE_OK)
        return rc;
    /* An empty authority list is allowed: "any CA you like". */
    if (pl->body.len < 1)
        return ike_msg_fail_pl(err, pl, 0, IKE_ERR_SYNTAX, "CERTREQ without encoding");
    out->encoding = pl->body.ptr[0];
    out->data = ike_pl_tail(pl, 1);
    return IKE_OK;
}

enum ike_err ike_pl_auth(const struct ike_payload *pl, struct ike_auth *out, struct ike_error *err)
{
    enum ike_err rc = ike_pl_want(pl, IKE_PL_AUTH, err);

    if (rc != IKE_OK)
        return rc;
    if (pl->body.len <= 4)
        return ike_msg_fail_pl(err, pl, 0, IKE_ERR_SYNTAX, "AUTH without authentication data");
    out->method = pl->body.ptr[0];
    out->data = ike_pl_tail(pl, 4);
    out->sig_alg.ptr = out->data.ptr;
    out->sig_alg.len = 0;
    out->sig = out->data;
    if (out->method == IKE_AUTH_DIGITAL_SIGNATURE) {
        /* RFC 7427 §3: one length octet, AlgorithmIdentifier, signature. */
        size_t alg_len = out->data.ptr[0];
        if (alg_len == 0 || 1 + alg_len >= out->data.len)
            return ike_msg_fail_pl(err, pl, 4, IKE_ERR_SYNTAX,
                                   "AlgorithmIdentifier length leaves no signature");
        out->sig_alg.ptr = out->data.ptr + 1;
        out->sig_alg.len = alg_len;
        out->sig.ptr = out->data.ptr + 1 + alg_len;
        out->sig.len = out->data.len - 1 - alg_len;
    }
    return IKE_OK;
}

enum ike_err ike_pl_nonce(const struct ike_payload *pl, struct ike_span *out, struct ike_error *err)
{
    enum ike_err rc = ike_pl_want(pl, IKE_PL_NONCE, err);

    if (rc != IKE_OK)
        return rc;
    if (pl->body.len < IKE_NONCE_MIN)
        return ike_msg_fail_pl(err, pl, 0, IKE_ERR_SYNTAX, "nonce shorter than 16 octets");
    if (pl->body.len > IKE_NONCE_MAX)
        return ike_msg_fail_pl(err, pl, 0, IKE_ERR_SYNTAX, "nonce longer than 256 octets");
    *out = pl->body;
    return IKE_OK;
}

/* Data sizes of the notifications whose content is read here; a wrong size
 * would otherwise surface as a confusing failure far from the parser. */
static const char *ike_pl_notify_data_check(const struct ike_notify *n)
{
    size_t len = n->data.len;

    switch (n->type) {
    case IKE_N_UNSUPPORTED_CRITICAL_PAYLOAD:
        return len == 1 ? NULL : "UNSUPPORTED_CRITICAL_PAYLOAD data not 1 octet";
    case IKE_N_INVALID_KE_PAYLOAD:
        return len == 2 ? NULL : "INVALID_KE_PAYLOAD data not 2 octets";
    case IKE_N_NAT_DETECTION_SOURCE_IP:
    case IKE_N_NAT_DETECTION_DESTINATION_IP:
        return len == 20 ? NULL : "NAT detection hash not 20 octets"; /* SHA-1, §2.23 */
    case IKE_N_COOKIE:
        return len >= 1 && len <= 64 ? NULL : "COOKIE not 1..64 octets"; /* §2.6 */
    case IKE_N_COOKIE2:
        return len >= 8 && len <= 64 ? NULL : "COOKIE2 not 8..64 octets"; /* RFC 4555 §4.8 */
    case IKE_N_ADDITIONAL_IP4_ADDRESS:
        return len == 4 ? NULL : "ADDITIONAL_IP4_ADDRESS not 4 octets";
    case IKE_N_ADDITIONAL_IP6_ADDRESS:
        return len == 16 ? NULL : "ADDITIONAL_IP6_ADDRESS not 16 octets";
    case IKE_N_SIGNATURE_HASH_ALGORITHMS:
        return len >= 2 && len % 2 == 0 ? NULL
                                        : "SIGNATURE_HASH_ALGORITHMS not a list of 2-octet ids";
    case IKE_N_REKEY_SA:
        return n->spi.len == 4 ? NULL : "REKEY_SA without a 4-octet SPI";
    default:
        return NULL;
    }
}

enum ike_err ike_pl_notify(const struct ike_payload *pl, struct ike_notify *out,
                           struct ike_error *err)
{
    enum ike_err rc = ike_pl_want(pl, IKE_PL_NOTIFY, err);
    const uint8_t *b = pl->body.ptr;

    if (rc != IKE_OK)
        return rc;
    if (pl->body.len < 4)
        return ike_msg_fail_pl(err, pl, 0, IKE_ERR_SYNTAX, "Notify header truncated");
    out->proto = b[0];
    out->type = ike_msg_get16(b + 2);
    if (b[1] > pl->body.len - 4)
        return ike_msg_fail_pl(err, pl, 1, IKE_ERR_SYNTAX, "Notify SPI runs past payload");
    out->spi.ptr = b + 4;
    out->spi.len = b[1];
    out->data = ike_pl_tail(pl, 4 + (size_t)b[1]);
    const char *bad = ike_pl_notify_data_check(out);
    if (bad)
        return ike_msg_fail_pl(err, pl, 4, IKE_ERR_SYNTAX, bad);
    return IKE_OK;
}

const struct ike_payload *ike_chain_find_notify(const struct ike_chain *c, uint16_t type,
                                                struct ike_notify *out)
{
    for (unsigned i = 0; i < c->n; i++) {
        const struct ike_payload *pl = &c->pl[i];
        if (pl->type != IKE_PL_NOTIFY || pl->body.len < 4)
            continue;
        if (ike_msg_get16(pl->body.ptr + 2) != type)
            continue;
        if (ike_pl_notify(pl, out, NULL) == IKE_OK)
            return pl;
    }
    return NULL;
}

enum ike_err ike_pl_delete(const struct ike_payload *pl, struct ike_delete *out,
                           struct ike_error *err)
{
    enum ike_err rc = ike_pl_want(pl, IKE_PL_DELETE, err);
    const uint8_t *b = pl->body.ptr;

    if (rc != IKE_OK)
        return rc;
    if (pl->body.len < 4)
        return ike_msg_fail_pl(err, pl, 0, IKE_ERR_SYNTAX, "Delete header truncated");
    out->proto = b[0];
    out->spi_len = b[1];
    out->n_spi = ike_msg_get16(b + 2);
    out->spis = ike_pl_tail(pl, 4);
    switch (out->proto) {
    case IKE_PROTO_IKE:
        /* The IKE SA is the one the message travels on (§3.11). */
        if (out->spi_len != 0 || out->n_spi != 0)
            return ike_msg_fail_pl(err, pl, 1, IKE_ERR_SYNTAX, "IKE Delete with SPIs");
        break;
    case IKE_PROTO_AH:
    case IKE_PROTO_ESP:
        if (out->spi_len != 4)
            return ike_msg_fail_pl(err, pl, 1, IKE_ERR_SYNTAX, "AH/ESP Delete SPI size not 4");
        break;
    default:
        return ike_msg_fail_pl(err, pl, 0, IKE_ERR_SYNTAX, "Delete of unknown protocol");
    }
    if ((size_t)out->n_spi * out->spi_len != out->spis.len)
        return ike_msg_fail_pl(err, pl, 2, IKE_ERR_SYNTAX,
                               "Num of SPIs disagrees with payload length");
    return IKE_OK;
}

uint32_t ike_delete_spi(const struct ike_delete *d, unsigned i)
{
    return ike_msg_get32(d->spis.ptr + (size_t)i * 4);
}

enum ike_err ike_pl_vid(const struct ike_payload *pl, struct ike_span *out, struct ike_error *err)
{
    enum ike_err rc = ike_pl_want(pl, IKE_PL_VID, err);

    if (rc != IKE_OK)
        return rc;
    *out = pl->body;
    return IKE_OK;
}

enum ike_err ike_pl_sk(const struct ike_msg *m, const struct ike_payload *pl, struct ike_sk *out,
                       struct ike_error *err)
{
    if (pl != m->sk)
        return ike_msg_fail_pl(err, pl, 0, IKE_ERR_USAGE, "not the message's SK/SKF payload");
    out->first = pl->next;
    out->frag_num = 1;
    out->frag_total = 1;
    out->body = pl->body;
    out->aad_len = (size_t)pl->offset + IKE_GENERIC_HDR_LEN;
    if (pl->type == IKE_PL_SK)
        return IKE_OK;
    if (pl->body.len < 4)
        return ike_msg_fail_pl(err, pl, 0, IKE_ERR_SYNTAX, "SKF header truncated");
    out->frag_num = ike_msg_get16(pl->body.ptr);
    out->frag_total = ike_msg_get16(pl->body.ptr + 2);
    if (out->frag_num == 0 || out->frag_total == 0 || out->frag_num > out->frag_total)
        return ike_msg_fail_pl(err, pl, 0, IKE_ERR_SYNTAX, "fragment number not within 1..total");
    if (out->frag_num > 1 && out->first != IKE_PL_NONE)
        return ike_msg_fail_pl(err, pl, 0, IKE_ERR_SYNTAX,
                               "next payload set in a fragment other than the first");
    out->body = ike_pl_tail(pl, 4);
    out->aad_len += 4;
    return IKE_OK;
}

enum ike_err ike_pl_eap(const struct ike_payload *pl, struct ike_span *out, struct ike_error *err)
{
    enum ike_err rc = ike_pl_want(pl, IKE_PL_EAP, err);

    if (rc != IKE_OK)
        return rc;
    /* RFC 3748 §4: Code, Identifier, Length (covering the whole packet). */
    if (pl->body.len < 4 || ike_msg_get16(pl->body.ptr + 2) != pl->body.len)
        return ike_msg_fail_pl(err, pl, 0, IKE_ERR_SYNTAX,
                               "EAP length disagrees with payload length");
    *out = pl->body;
    return IKE_OK;
}

enum ike_err ike_chain_validate(const struct ike_msg *m, const struct ike_chain *c,
                                struct ike_error *err)
{
    union {
        struct ike_sa_pl sa;
        struct ike_ke ke;
        struct ike_id id;
        struct ike_cert cert;
        struct ike_auth auth;
        struct ike_span span;
        struct ike_notify notify;
        struct ike_delete del;
        struct ike_ts_set ts;
        struct ike_sk sk;
        struct ike_cp cp;
    } u;
    enum ike_err rc = IKE_OK;

    for (unsigned i = 0; i < c->n && rc == IKE_OK; i++) {
        const struct ike_payload *pl = &c->pl[i];
        switch (pl->type) {
        case IKE_PL_SA:
            rc = ike_pl_sa(pl, &u.sa, err);
            break;
        case IKE_PL_KE:
            rc = ike_pl_ke(pl, &u.ke, err);
            break;
        case IKE_PL_IDI:
        case IKE_PL_IDR:
            rc = ike_pl_id(pl, &u.id, err);
            break;
        case IKE_PL_CERT:
            rc = ike_pl_cert(pl, &u.cert, err);
            break;
        case IKE_PL_CERTREQ:
            rc = ike_pl_certreq(pl, &u.cert, err);
            break;
        case IKE_PL_AUTH:
            rc = ike_pl_auth(pl, &u.auth, err);
            break;
        case IKE_PL_NONCE:
            rc = ike_pl_nonce(pl, &u.span, err);
            break;
        case IKE_PL_NOTIFY:
            rc = ike_pl_notify(pl, &u.notify, err);
            break;
        case IKE_PL_DELETE:
            rc = ike_pl_delete(pl, &u.del, err);
            break;
        case IKE_PL_VID:
            rc = ike_pl_vid(pl, &u.span, err);
            break;
        case IKE_PL_TSI:
        case IKE_PL_TSR:
            rc = ike_pl_ts(pl, &u.ts, err);
            break;
        case IKE_PL_SK:
        case IKE_PL_SKF:
            rc = ike_pl_sk(m, pl, &u.sk, err);
            break;
        case IKE_PL_CP:
            rc = ike_pl_cp(pl, &u.cp, err);
            break;
        case IKE_PL_EAP:
            rc = ike_pl_eap(pl, &u.span, err);
            break;
        default:
            rc = ike_msg_fail_pl(err, pl, 0, IKE_ERR_USAGE, "payload type not in a chain");
            break;
        }
    }
    return rc;
}

enum ike_err ike_signed_octets(struct ike_span sa_init, const struct ike_payload *peer_nonce,
                               struct ike_span id_body, struct ike_signed_octets *out,
                               struct ike_error *err)
{
    enum ike_err rc;

    if (sa_init.len < IKE_HDR_LEN)
        return ike_msg_fail(err, IKE_ERR_USAGE, 0, 0, "IKE_SA_INIT message too short");
    if (id_body.len <= 4)
        return ike_msg_fail(err, IKE_ERR_USAGE, 0, 0, "ID body too short");
    rc = ike_pl_nonce(peer_nonce, &out->nonce, err);
    if (rc != IKE_OK)
        return rc;
    out->message = sa_init;
    out->id_body = id_body;
    return IKE_OK;
}

/* libFuzzer target for the IKEv2 message codec: arbitrary input goes
 * through the header and chain parser, every typed payload parser and, with
 * the SK/SKF body taken as a null cipher's output (no IV, no ICV, last octet
 * = pad length), the inner-chain parser. A message that parses cleanly is
 * rebuilt with the builder, re-parsed, and must give the same fields.
 *
 * fuzz_ike_msg_check() is the whole check, shared with the replay test that
 * runs it over the seed corpus without libFuzzer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ike_msg.h"
#include "ike_msg_wr.h"
#include "ike_payload.h"
#include "ike_payload_wr.h"

int fuzz_ike_msg_check(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Parsed forms of one payload, big enough for any type. */
union fuzz_pl {
    struct ike_sa_pl sa;
    struct ike_ke ke;
    struct ike_id id;
    struct ike_cert cert;
    struct ike_auth auth;
    struct ike_span span;
    struct ike_notify notify;
    struct ike_delete del;
    struct ike_ts_set ts;
    struct ike_cp cp;
    struct ike_sk sk;
};

/* One process-wide set: the structures are large and libFuzzer runs the
 * target on one thread. */
static struct ike_msg fz_orig, fz_again;
static union fuzz_pl fz_a, fz_b;

static void fuzz_fail(const char *why, uint8_t type)
{
    fprintf(stderr, "fuzz_ike_msg: %s (payload %s)\n", why, ike_payload_name(type));
    abort();
}

static enum ike_err fuzz_parse_pl(const struct ike_msg *m, const struct ike_payload *pl,
                                  union fuzz_pl *u, struct ike_error *e)
{
    switch (pl->type) {
    case IKE_PL_SA:
        return ike_pl_sa(pl, &u->sa, e);
    case IKE_PL_KE:
        return ike_pl_ke(pl, &u->ke, e);
    case IKE_PL_IDI:
    case IKE_PL_IDR:
        return ike_pl_id(pl, &u->id, e);
    case IKE_PL_CERT:
        return ike_pl_cert(pl, &u->cert, e);
    case IKE_PL_CERTREQ:
        return ike_pl_certreq(pl, &u->cert, e);
    case IKE_PL_AUTH:
        return ike_pl_auth(pl, &u->auth, e);
    case IKE_PL_NONCE:
        return ike_pl_nonce(pl, &u->span, e);
    case IKE_PL_NOTIFY:
        return ike_pl_notify(pl, &u->notify, e);
    case IKE_PL_DELETE:
        return ike_pl_delete(pl, &u->del, e);
    case IKE_PL_VID:
        return ike_pl_vid(pl, &u->span, e);
    case IKE_PL_TSI:
    case IKE_PL_TSR:
        return ike_pl_ts(pl, &u->ts, e);
    case IKE_PL_CP:
        return ike_pl_cp(pl, &u->cp, e);
    case IKE_PL_EAP:
        return ike_pl_eap(pl, &u->span, e);
    case IKE_PL_SK:
    case IKE_PL_SKF:
        return ike_pl_sk(m, pl, &u->sk, e);
    default:
        return IKE_ERR_USAGE;
    }
}

/* Write one parsed payload (not SK/SKF) back. */
static enum ike_err fuzz_write_pl(struct ike_wr *w, uint8_t type, const union fuzz_pl *u)
{
    switch (type) {
    case IKE_PL_SA:
        return ike_wr_sa(w, &u->sa);
    case IKE_PL_KE:
        return ike_wr_ke(w, u->ke.group, u->ke.data.ptr, u->ke.data.len);
    case IKE_PL_IDI:
    case IKE_PL_IDR:
        return ike_wr_id(w, type, u->id.type, u->id.data.ptr, u->id.data.len);
    case IKE_PL_CERT:
        return ike_wr_cert(w, u->cert.encoding, u->cert.data.ptr, u->cert.data.len);
    case IKE_PL_CERTREQ:
        return ike_wr_certreq(w, u->cert.encoding, u->cert.data.ptr, u->cert.data.len);
    case IKE_PL_AUTH:
        if (u->auth.method == IKE_AUTH_DIGITAL_SIGNATURE)
            return ike_wr_auth_sig(w, u->auth.sig_alg.ptr, u->auth.sig_alg.len, u->auth.sig.ptr,
                                   u->auth.sig.len);
        return ike_wr_auth(w, u->auth.method, u->auth.data.ptr, u->auth.data.len);
    case IKE_PL_NONCE:
        return ike_wr_nonce(w, u->span.ptr, u->span.len);
    case IKE_PL_NOTIFY:
        return ike_wr_notify(w, u->notify.proto, u->notify.type, u->notify.spi.ptr,
                             (uint8_t)u->notify.spi.len, u->notify.data.ptr, u->notify.data.len);
    case IKE_PL_DELETE: {
        uint32_t spis[256];
        uint16_t n = u->del.n_spi;
        /* Large SPI lists are written straight from the wire form. */
        if (n > 256) {
            if (ike_wr_begin(w, IKE_PL_DELETE, false) != IKE_OK ||
                ike_wr_put8(w, u->del.proto) != IKE_OK ||
                ike_wr_put8(w, u->del.spi_len) != IKE_OK || ike_wr_put16(w, n) != IKE_OK ||
                ike_wr_put(w, u->del.spis.ptr, u->del.spis.len) != IKE_OK)
                return w->err;
            return ike_wr_end(w);
        }
        for (unsigned i = 0; i < n; i++)
            spis[i] = ike_delete_spi(&u->del, i);
        return ike_wr_delete(w, u->del.proto, spis, n);
    }
    case IKE_PL_VID:
        return ike_wr_vid(w, u->span.ptr, u->span.len);
    case IKE_PL_TSI:
    case IKE_PL_TSR:
        return ike_wr_ts(w, type, u->ts.ts, u->ts.n);
    case IKE_PL_CP:
        return ike_wr_cp(w, u->cp.cfg_type, u->cp.attr, u->cp.n);
    case IKE_PL_EAP:
        return ike_wr_eap(w, u->span.ptr, u->span.len);
    default:
        return IKE_ERR_USAGE;
    }
}

static bool fuzz_span_eq(struct ike_span a, struct ike_span b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static bool fuzz_sa_eq(const struct ike_sa_pl *a, const struct ike_sa_pl *b)
{
    if (a->n_prop != b->n_prop || a->n_xf != b->n_xf)
        return false;
    for (unsigned i = 0; i < a->n_prop; i++) {
        const struct ike_proposal *p = &a->prop[i], *q = &b->prop[i];
        if (p->num != q->num || p->proto != q->proto || p->spi_len != q->spi_len ||
            memcmp(p->spi, q->spi, p->spi_len) != 0 || p->first_xf != q->first_xf ||
            p->n_xf != q->n_xf)
            return false;
    }
    /* Unknown attributes are not written back, so only these compare. */
    for (unsigned i = 0; i < a->n_xf; i++)
        if (a->xf[i].type != b->xf[i].type || a->xf[i].id != b->xf[i].id ||
            a->xf[i].key_len != b->xf[i].key_len)
            return false;
    return true;
}

static bool fuzz_ts_eq(const struct ike_ts_set *a, const struct ike_ts_set *b)
{
    if (a->n != b->n)
        return false;
    for (unsigned i = 0; i < a->n; i++)
        if (a->ts[i].type != b->ts[i].type || a->ts[i].ip_proto != b->ts[i].ip_proto ||
            a->ts[i].start_port != b->ts[i].start_port || a->ts[i].end_port != b->ts[i].end_port ||
            memcmp(a->ts[i].start, b->ts[i].start, 16) != 0 ||
            memcmp(a->ts[i].end, b->ts[i].end, 16) != 0)
            return false;
    return true;
}

static bool fuzz_cp_eq(const struct ike_cp *a, const struct ike_cp *b)
{
    if (a->cfg_type != b->cfg_type || a->n != b->n)
        return false;
    for (unsigned i = 0; i < a->n; i++)
        if (a->attr[i].type != b->attr[i].type || !fuzz_span_eq(a->attr[i].value, b->attr[i].value))
            return false;
    return true;
}

static bool fuzz_pl_eq(uint8_t type, const union fuzz_pl *a, const union fuzz_pl *b)
{
    switch (type) {
    case IKE_PL_SA:
        return fuzz_sa_eq(&a->sa, &b->sa);
    case IKE_PL_KE:
        return a->ke.group == b->ke.group && fuzz_span_eq(a->ke.data, b->ke.data);
    case IKE_PL_IDI:
    case IKE_PL_IDR:
        return a->id.type == b->id.type && fuzz_span_eq(a->id.data, b->id.data);
    case IKE_PL_CERT:
    case IKE_PL_CERTREQ:
        return a->cert.encoding == b->cert.encoding && fuzz_span_eq(a->cert.data, b->cert.data);
    case IKE_PL_AUTH:
        return a->auth.method == b->auth.method && fuzz_span_eq(a->auth.data, b->auth.data) &&
               fuzz_span_eq(a->auth.sig_alg, b->auth.sig_alg) &&
               fuzz_span_eq(a->auth.sig, b->auth.sig);
    case IKE_PL_NONCE:
    case IKE_PL_VID:
    case IKE_PL_EAP:
        return fuzz_span_eq(a->span, b->span);
    case IKE_PL_NOTIFY:
        return a->notify.proto == b->notify.proto && a->notify.type == b->notify.type &&
               fuzz_span_eq(a->notify.spi, b->notify.spi) &&
               fuzz_span_eq(a->notify.data, b->notify.data);
    case IKE_PL_DELETE:
        return a->del.proto == b->del.proto && a->del.spi_len == b->del.spi_len &&
               a->del.n_spi == b->del.n_spi && fuzz_span_eq(a->del.spis, b->del.spis);
    case IKE_PL_TSI:
    case IKE_PL_TSR:
        return fuzz_ts_eq(&a->ts, &b->ts);
    case IKE_PL_CP:
        return fuzz_cp_eq(&a->cp, &b->cp);
    case IKE_PL_SK:
    case IKE_PL_SKF:
        /* `first` may differ: skipped unknown inner payloads are not
         * written back; the inner chains are compared on their own. */
        return a->sk.frag_num == b->sk.frag_num && a->sk.frag_total == b->sk.frag_total;
    default:
        return false;
    }
}

/* Typed-parse every payload of a chain; false at the first failure. */
static bool fuzz_validate(const struct ike_msg *m, const struct ike_chain *c)
{
    struct ike_error e;
    char line[256];

    if (ike_chain_validate(m, c, &e) != IKE_OK) {
        ike_error_format(&e, line, sizeof(line));
        return false;
    }
    return true;
}

/* The decrypted inner chain of a null cipher: body minus padding. */
static bool fuzz_inner(struct ike_msg *m, struct ike_sk *sk)
{
    struct ike_error e;

    if (ike_pl_sk(m, m->sk, sk, &e) != IKE_OK || sk->body.len == 0)
        return false;
    size_t pad = sk->body.ptr[sk->body.len - 1];
    if (pad + 1 > sk->body.len)
        return false;
    if (ike_msg_parse_inner(m, sk->first, sk->body.ptr, sk->body.len - 1 - pad, &e) != IKE_OK)
        return false;
    return fuzz_validate(m, &m->inner);
}

static enum ike_err fuzz_write_chain(struct ike_wr *w, const struct ike_msg *m,
                                     const struct ike_chain *c)
{
    struct ike_error e;

    for (unsigned i = 0; i < c->n; i++) {
        const struct ike_payload *pl = &c->pl[i];
        if (pl->type == IKE_PL_SK || pl->type == IKE_PL_SKF)
            continue;
        if (fuzz_parse_pl(m, pl, &fz_a, &e) != IKE_OK)
            fuzz_fail("validated payload no longer parses", pl->type);
        if (fuzz_write_pl(w, pl->type, &fz_a) != IKE_OK)
            fuzz_fail("builder refused a parsed payload", pl->type);
    }
    return w->err;
}

static void fuzz_compare_chain(const struct ike_msg *ma, const struct ike_chain *a,
                               const struct ike_msg *mb, const struct ike_chain *b)
{
    struct ike_error e;

    if (a->n != b->n)
        fuzz_fail("payload count changed", 0);
    for (unsigned i = 0; i < a->n; i++) {
        uint8_t type = a->pl[i].type;
        if (b->pl[i].type != type)
            fuzz_fail("payload type changed", type);
        if (fuzz_parse_pl(ma, &a->pl[i], &fz_a, &e) != IKE_OK ||
            fuzz_parse_pl(mb, &b->pl[i], &fz_b, &e) != IKE_OK)
            fuzz_fail("payload stopped parsing", type);
        if (!fuzz_pl_eq(type, &fz_a, &fz_b))
            fuzz_fail("payload changed in the round trip", type);
    }
}

/* Rebuild a fully valid message, re-parse it, compare. */
static void fuzz_roundtrip(const struct ike_sk *sk)
{
    struct ike_wr w, inner;
    struct ike_span out, chain;
    struct ike_error e;
    struct ike_sk sk2;

    ike_wr_init_dyn(&w, 0);
    ike_wr_init_dyn(&inner, 0);
    ike_wr_header(&w, &fz_orig.hdr);
    fuzz_write_chain(&w, &fz_orig, &fz_orig.outer);
    if (fz_orig.sk && fz_orig.sk->type == IKE_PL_SK) {
        ike_wr_sk_begin(&w, 0);
        fuzz_write_chain(&w, &fz_orig, &fz_orig.inner);
        ike_wr_sk_end(&w, 1, 0, NULL);
    } else if (fz_orig.sk) {
        fuzz_write_chain(&inner, &fz_orig, &fz_orig.inner);
        if (ike_wr_finish(&inner, &chain) != IKE_OK)
            fuzz_fail("inner chain not written", IKE_PL_SKF);
        /* The rebuilt chain starts with its first known payload. */
        ike_wr_skf(&w, sk->frag_num, sk->frag_total, ike_wr_first(&inner), 0, chain.ptr, chain.len,
                   1, 0, NULL);
    }
    if (ike_wr_finish(&w, &out) != IKE_OK)
        fuzz_fail("rebuilt message not finished", 0);
    if (ike_msg_parse(&fz_again, out.ptr, out.len, &e) != IKE_OK)
        fuzz_fail("rebuilt message does not parse", e.payload);
    if (fz_again.hdr.exchange != fz_orig.hdr.exchange || fz_again.hdr.flags != fz_orig.hdr.flags ||
        fz_again.hdr.msgid != fz_orig.hdr.msgid ||
        memcmp(fz_again.hdr.ispi, fz_orig.hdr.ispi, IKE_SPI_LEN) != 0 ||
        memcmp(fz_again.hdr.rspi, fz_orig.hdr.rspi, IKE_SPI_LEN) != 0)
        fuzz_fail("header changed in the round trip", 0);
    fuzz_compare_chain(&fz_orig, &fz_orig.outer, &fz_again, &fz_again.outer);
    if (fz_orig.sk) {
        if (!fuzz_inner(&fz_again, &sk2))
            fuzz_fail("rebuilt inner chain does not parse", fz_orig.sk->type);
        fuzz_compare_chain(&fz_orig, &fz_orig.inner, &fz_again, &fz_again.inner);
    }
    ike_wr_free(&inner);
    ike_wr_free(&w);
}

int fuzz_ike_msg_check(const uint8_t *data, size_t size)
{
    struct ike_error e;
    struct ike_sk sk;
    struct ike_notify n;
    char line[256];

    memset(&sk, 0, sizeof(sk));
    enum ike_err rc = ike_msg_parse(&fz_orig, data, size, &e);
    if (rc != IKE_OK) {
        ike_error_format(&e, line, sizeof(line));
        (void)ike_error_notify(&e);
        return 0;
    }
    (void)ike_exchange_name(fz_orig.hdr.exchange);
    (void)ike_chain_find_notify(&fz_orig.outer, IKE_N_COOKIE, &n);
    bool ok = fuzz_validate(&fz_orig, &fz_orig.outer);
    if (fz_orig.sk)
        ok = fuzz_inner(&fz_orig, &sk) && ok;
    if (!ok)
        return 0;
    fuzz_roundtrip(&sk);
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_ike_msg_check(data, size);
    return 0;
}

/* One IKE SA as one checkpoint record, and back.
 *
 *   "MGKP" | format (u16 LE) | field... | CRC-32 (u32 LE) of all before
 *   field = tag (u16 LE) | length (u32 LE) | value
 *
 * Plain fields are copied as the daemon holds them (host order: the file
 * lives in /run, on this machine, for this boot), trailing zeros left out,
 * and described by one table line each: adding a field to struct ike_sa
 * or struct child_sa is one line in ckpt_sa_fields / ckpt_child_fields
 * with a new tag. A record
 * with a tag this iked does not know comes from a newer writer and is
 * refused (a field silently dropped could be a key or a message ID); a
 * record without an optional tag (written before the field existed)
 * leaves it zero. A CHILD SA is a nested field list under TAG_CHILD; the
 * decoder takes several, for a CHILD SA rekey's second one. */
#include <endian.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ike_crypto.h"
#include "ike_grant.h"
#include "iked_checkpoint.h"

#define CKPT_MAGIC      "MGKP"
#define CKPT_HDR_LEN    6
#define CKPT_CRC_LEN    4
#define CKPT_TLV_LEN    6
#define CKPT_MAX_REC    (1u << 20)
#define CKPT_MAX_RESP   65535u
#define CKPT_MAX_SUBJ   4096u
#define CKPT_MAX_CHILD  2u
#define CKPT_MAX_FIELDS 64u

enum ckpt_tag {
    /* ike_sa plain fields: 1..63 */
    TAG_SPI_I = 1,
    TAG_SPI_R = 2,
    TAG_LOCAL = 3,
    TAG_REMOTE = 4,
    TAG_NATT = 5,
    TAG_SUITE = 6,
    TAG_NEXT_MSGID = 7,
    TAG_LAST_MSGID = 8,
    TAG_OUR_NEXT_MSGID = 9,
    TAG_PEER_SERIAL = 10,
    TAG_PEER_FPR = 11,
    TAG_VIP = 12,
    TAG_CREATED_MS = 13,
    TAG_ESTABLISHED_MS = 14,
    TAG_LAST_RX_MS = 15,
    TAG_DPD_SENT_MS = 16,
    TAG_DPD_TRIES = 17,
    TAG_PEER_HASH_MASK = 18,
    TAG_PEER_FRAG = 19,
    TAG_PEER_MOBIKE = 20,
    TAG_PRF = 21,
    TAG_PRF_LEN = 22,
    TAG_SK_D = 23,
    TAG_PEER_BEHIND_NAT = 24,
    TAG_SELF_BEHIND_NAT = 25,
    TAG_MOBIKE = 26,
    TAG_FRAG_MAX = 27,
    TAG_WE_INITIATOR = 28,
    TAG_IKE_REKEY_DUE_MS = 29,
    /* special encodings */
    TAG_SUBJECT = 64,
    TAG_LAST_RESP = 65,
    TAG_SK_I = 66,
    TAG_SK_R = 67,
    TAG_CHILD = 68,
    TAG_AUTHZ_GRANT = 69, /* struct ike_grant as this iked lays it out */
    TAG_AUTHZ_TSR = 70,   /* the device's TSr proposal: struct ike_ts[] */
    /* child_sa plain fields: 128.. */
    TAG_C_SPI_IN = 128,
    TAG_C_SPI_OUT = 129,
    TAG_C_REQID = 130,
    TAG_C_ESP = 131,
    TAG_C_TS_LOCAL = 132,
    TAG_C_N_TS_LOCAL = 133,
    TAG_C_TS_REMOTE = 134,
    TAG_C_INSTALLED = 135,
    TAG_C_INSTALLED_MS = 136,
};

struct ckpt_field {
    uint16_t tag;
    uint16_t size;
    size_t off;
    bool required;
    bool is_bool; /* only 0 or 1 may be loaded into a bool */
};

#define CKPT_IS_BOOL(x) _Generic((x), bool : true, default : false)
#define SA_F(tag, member, req)                                                                     \
    {                                                                                              \
        tag, sizeof(((struct ike_sa *)0)->member), offsetof(struct ike_sa, member), req,           \
            CKPT_IS_BOOL(((struct ike_sa *)0)->member)                                             \
    }
#define CH_F(tag, member, req)                                                                     \
    {                                                                                              \
        tag, sizeof(((struct child_sa *)0)->member), offsetof(struct child_sa, member), req,       \
            CKPT_IS_BOOL(((struct child_sa *)0)->member)                                           \
    }

static const struct ckpt_field ckpt_sa_fields[] = {
    SA_F(TAG_SPI_I, spi_i, true),
    SA_F(TAG_SPI_R, spi_r, true),
    SA_F(TAG_LOCAL, local, true),
    SA_F(TAG_REMOTE, remote, true),
    SA_F(TAG_NATT, natt, true),
    SA_F(TAG_SUITE, suite, true),
    SA_F(TAG_NEXT_MSGID, next_msgid, true),
    SA_F(TAG_LAST_MSGID, last_msgid, true),
    SA_F(TAG_OUR_NEXT_MSGID, our_next_msgid, true),
    SA_F(TAG_PEER_SERIAL, peer_serial, false),
    SA_F(TAG_PEER_FPR, peer_fpr, false),
    SA_F(TAG_VIP, vip, false),
    SA_F(TAG_CREATED_MS, created_ms, false),
    SA_F(TAG_ESTABLISHED_MS, established_ms, false),
    SA_F(TAG_LAST_RX_MS, last_rx_ms, false),
    SA_F(TAG_DPD_SENT_MS, dpd_sent_ms, false),
    SA_F(TAG_DPD_TRIES, dpd_tries, false),
    SA_F(TAG_PEER_HASH_MASK, peer_hash_mask, false),
    SA_F(TAG_PEER_FRAG, peer_fragmentation, false),
    SA_F(TAG_PEER_MOBIKE, peer_mobike, false),
    SA_F(TAG_PRF, keys.prf, true),
    SA_F(TAG_PRF_LEN, keys.prf_len, true),
    SA_F(TAG_SK_D, keys.sk_d, true),
    SA_F(TAG_PEER_BEHIND_NAT, peer_behind_nat, false),
    SA_F(TAG_SELF_BEHIND_NAT, self_behind_nat, false),
    SA_F(TAG_MOBIKE, mobike, false),
    SA_F(TAG_FRAG_MAX, frag_max, false),
    /* After a gateway-started IKE SA rekey we are the SA's original
     * initiator: the key directions and our SPI depend on it. */
    SA_F(TAG_WE_INITIATOR, we_initiator, false),
    SA_F(TAG_IKE_REKEY_DUE_MS, ike_rekey_due_ms, false),
};

/* Never the keying material (enc_key_*, integ_key_*): the kernel has it. */
static const struct ckpt_field ckpt_child_fields[] = {
    CH_F(TAG_C_SPI_IN, spi_in, true),
    CH_F(TAG_C_SPI_OUT, spi_out, true),
    CH_F(TAG_C_REQID, reqid, true),
    CH_F(TAG_C_ESP, esp, true),
    CH_F(TAG_C_TS_LOCAL, ts_local, true),
    CH_F(TAG_C_N_TS_LOCAL, n_ts_local, true),
    CH_F(TAG_C_TS_REMOTE, ts_remote, true),
    CH_F(TAG_C_INSTALLED, installed, true),
    CH_F(TAG_C_INSTALLED_MS, installed_ms, false),
};

#define N_SA_FIELDS    (sizeof(ckpt_sa_fields) / sizeof(ckpt_sa_fields[0]))
#define N_CHILD_FIELDS (sizeof(ckpt_child_fields) / sizeof(ckpt_child_fields[0]))

_Static_assert(N_SA_FIELDS <= CKPT_MAX_FIELDS && N_CHILD_FIELDS <= CKPT_MAX_FIELDS,
               "the decoder's seen-mask holds 64 fields per table");

/* CRC-32 (IEEE 802.3, reflected): catches a flipped or truncated record
 * that SQLite itself would return without complaint. */
static uint32_t ckpt_crc32(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return ~c;
}

/* ---- writing ---- */

struct ckpt_buf {
    uint8_t *p;
    size_t len, cap;
    bool oom;
};

static uint8_t *ckpt_room(struct ckpt_buf *b, size_t n)
{
    if (b->oom)
        return NULL;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *np = realloc(b->p, cap);
        if (!np) {
            b->oom = true;
            return NULL;
        }
        b->p = np;
        b->cap = cap;
    }
    uint8_t *at = b->p + b->len;
    b->len += n;
    return at;
}

static void ckpt_put_raw(struct ckpt_buf *b, const void *v, size_t n)
{
    uint8_t *at = ckpt_room(b, n);
    if (at && n)
        memcpy(at, v, n);
}

static void ckpt_put_u16(struct ckpt_buf *b, uint16_t v)
{
    uint16_t le = htole16(v);
    ckpt_put_raw(b, &le, 2);
}

static void ckpt_put_u32(struct ckpt_buf *b, uint32_t v)
{
    uint32_t le = htole32(v);
    ckpt_put_raw(b, &le, 4);
}

static void ckpt_put_field(struct ckpt_buf *b, uint16_t tag, const void *v, size_t n)
{
    ckpt_put_u16(b, tag);
    ckpt_put_u32(b, (uint32_t)n);
    ckpt_put_raw(b, v, n);
}

/* Trailing zero octets are left out: an IPv4 address in a sockaddr_storage,
 * unused selector slots, SK_d beyond the PRF's length, the serial's padding
 * cost nothing (the decoder zero-fills). Rows stay ~0.5 KB instead of 2. */
static void ckpt_put_table(struct ckpt_buf *b, const struct ckpt_field *f, size_t n,
                           const void *base)
{
    for (size_t i = 0; i < n; i++) {
        const uint8_t *v = (const uint8_t *)base + f[i].off;
        size_t len = f[i].size;
        while (len && v[len - 1] == 0)
            len--;
        ckpt_put_field(b, f[i].tag, v, len);
    }
}

/* One direction of SK: algorithm, SK_e (key ‖ salt), SK_a, and the next
 * GCM IV, so that no IV is used twice with the same key after a restore. */
static void ckpt_put_sk(struct ckpt_buf *b, uint16_t tag, const ike_sk_dir *d)
{
    const ike_encr_info *ei = ike_crypto_encr_info(d->encr, d->encr_keybits);
    uint8_t salt_len = ei ? ei->salt_len : 0;
    uint8_t km_len = (uint8_t)(d->encr_key_len + salt_len);
    uint64_t iv = atomic_load(&d->next_iv);
    ckpt_put_u16(b, tag);
    ckpt_put_u32(b, (uint32_t)(8 + km_len + d->integ_key_len + 8));
    ckpt_put_u16(b, d->encr);
    ckpt_put_u16(b, d->encr_keybits);
    ckpt_put_u16(b, d->integ);
    ckpt_put_raw(b, &km_len, 1);
    ckpt_put_raw(b, &d->integ_key_len, 1);
    ckpt_put_raw(b, d->encr_key, d->encr_key_len);
    ckpt_put_raw(b, d->salt, salt_len);
    ckpt_put_raw(b, d->integ_key, d->integ_key_len);
    ckpt_put_raw(b, &iv, 8);
}

uint8_t *iked_checkpoint_rec_encode(const struct ike_sa *sa, size_t *len)
{
    struct ckpt_buf b = {0};
    ckpt_put_raw(&b, CKPT_MAGIC, 4);
    ckpt_put_u16(&b, IKED_CHECKPOINT_FORMAT);
    ckpt_put_table(&b, ckpt_sa_fields, N_SA_FIELDS, sa);
    if (sa->peer_subject)
        ckpt_put_field(&b, TAG_SUBJECT, sa->peer_subject, strlen(sa->peer_subject));
    if (sa->last_resp && sa->last_resp_len <= CKPT_MAX_RESP)
        ckpt_put_field(&b, TAG_LAST_RESP, sa->last_resp, sa->last_resp_len);
    ckpt_put_sk(&b, TAG_SK_I, &sa->keys.sk_i);
    ckpt_put_sk(&b, TAG_SK_R, &sa->keys.sk_r);
    /* The grant in force and the device's TSr: without them an
     * AccessChanged after a restart could not re-narrow the tunnel. */
    if (sa->authz && sa->authz->decided && !sa->authz->held) {
        ckpt_put_field(&b, TAG_AUTHZ_GRANT, &sa->authz->grant, sizeof(sa->authz->grant));
        if (sa->authz->n_tsr)
            ckpt_put_field(&b, TAG_AUTHZ_TSR, sa->authz->tsr,
                           sa->authz->n_tsr * sizeof(*sa->authz->tsr));
    }
    if (sa->child) {
        /* Nested: the length is known only after the fields. */
        size_t at = b.len;
        ckpt_put_u16(&b, TAG_CHILD);
        ckpt_put_u32(&b, 0);
        ckpt_put_table(&b, ckpt_child_fields, N_CHILD_FIELDS, sa->child);
        if (!b.oom) {
            uint32_t n = htole32((uint32_t)(b.len - at - CKPT_TLV_LEN));
            memcpy(b.p + at + 2, &n, 4);
        }
    }
    if (!b.oom)
        ckpt_put_u32(&b, ckpt_crc32(b.p, b.len));
    if (b.oom) {
        if (b.p)
            ike_crypto_wipe(b.p, b.cap);
        free(b.p);
        return NULL;
    }
    *len = b.len;
    return b.p;
}

/* ---- reading ---- */

struct ckpt_tlv {
    uint16_t tag;
    const uint8_t *v;
    uint32_t len;
};

/* The next field of [*p, end): 1, 0 at the end, -1 when it runs over. */
static int ckpt_next(const uint8_t **p, const uint8_t *end, struct ckpt_tlv *t)
{
    if (*p == end)
        return 0;
    if ((size_t)(end - *p) < CKPT_TLV_LEN)
        return -1;
    uint16_t tag;
    uint32_t len;
    memcpy(&tag, *p, 2);
    memcpy(&len, *p + 2, 4);
    t->tag = le16toh(tag);
    t->len = le32toh(len);
    if ((size_t)(end - *p) - CKPT_TLV_LEN < t->len)
        return -1;
    t->v = *p + CKPT_TLV_LEN;
    *p += CKPT_TLV_LEN + t->len;
    return 1;
}

/* A plain field of the table (its trailing zeros may be left out): 1
 * taken, 0 not in the table, -1 too long, twice, or a bool not 0 or 1. */
static int ckpt_take(const struct ckpt_field *f, size_t n, const struct ckpt_tlv *t, void *base,
                     uint64_t *seen)
{
    for (size_t i = 0; i < n; i++) {
        if (f[i].tag != t->tag)
            continue;
        if (t->len > f[i].size || (*seen & (1ull << i)) || (f[i].is_bool && t->len && t->v[0] > 1))
            return -1;
        memset((uint8_t *)base + f[i].off, 0, f[i].size);
        memcpy((uint8_t *)base + f[i].off, t->v, t->len);
        *seen |= 1ull << i;
        return 1;
    }
    return 0;
}

static const char *ckpt_missing(const struct ckpt_field *f, size_t n, uint64_t seen)
{
    for (size_t i = 0; i < n; i++)
        if (f[i].required && !(seen & (1ull << i)))
            return "a required field is missing";
    return NULL;
}

static bool ckpt_family_ok(const struct sockaddr_storage *ss)
{
    return ss->ss_family == AF_INET || ss->ss_family == AF_INET6;
}

static const char *ckpt_get_sk(const struct ckpt_tlv *t, ike_sk_dir *d)
{
    if (t->len < 16)
        return "SK field too short";
    uint16_t encr, bits, integ;
    memcpy(&encr, t->v, 2);
    memcpy(&bits, t->v + 2, 2);
    memcpy(&integ, t->v + 4, 2);
    uint8_t km_len = t->v[6], ik_len = t->v[7];
    if (t->len != 8u + km_len + ik_len + 8u)
        return "SK field of the wrong size";
    const uint8_t *km = t->v + 8;
    if (ike_sk_dir_init(d, le16toh(encr), le16toh(bits), le16toh(integ), km, km_len,
                        ik_len ? km + km_len : NULL, ik_len) != IKE_CRYPTO_OK)
        return "SK keys do not fit their algorithms";
    uint64_t iv;
    memcpy(&iv, km + km_len + ik_len, 8);
    atomic_store(&d->next_iv, iv);
    return NULL;
}

static const char *ckpt_get_child(const struct ckpt_tlv *t, struct child_sa *c)
{
    const uint8_t *p = t->v, *end = t->v + t->len;
    uint64_t seen = 0;
    struct ckpt_tlv f;
    int rc;
    while ((rc = ckpt_next(&p, end, &f)) > 0) {
        int took = ckpt_take(ckpt_child_fields, N_CHILD_FIELDS, &f, c, &seen);
        if (took < 0)
            return "a CHILD SA field too long, twice, or a bad bool";
        if (took == 0)
            return "an unknown CHILD SA field (a newer iked's?)";
    }
    if (rc < 0)
        return "a CHILD SA field runs past its group";
    const char *miss = ckpt_missing(ckpt_child_fields, N_CHILD_FIELDS, seen);
    if (miss)
        return miss;
    if (c->n_ts_local > IKE_CHILD_MAX_TS)
        return "too many CHILD SA selectors";
    for (size_t i = 0; i < c->n_ts_local; i++)
        if ((c->ts_local[i].family != AF_INET && c->ts_local[i].family != AF_INET6) ||
            c->ts_local[i].plen > (c->ts_local[i].family == AF_INET ? 32 : 128))
            return "a bad CHILD SA selector";
    if (c->ts_remote.family != AF_INET && c->ts_remote.family != AF_INET6)
        return "a bad CHILD SA remote selector";
    return NULL;
}

static const char *ckpt_get_authz(const struct ckpt_tlv *t, struct ike_sa *sa)
{
    if (!sa->authz && !(sa->authz = calloc(1, sizeof(*sa->authz))))
        return "out of memory";
    struct ike_authz *a = sa->authz;
    if (t->tag == TAG_AUTHZ_GRANT) {
        struct ike_grant g;
        if (a->decided || t->len != sizeof(g))
            return "a bad grant";
        memcpy(&g, t->v, sizeof(g));
        if (g.decision > IKE_GRANT_QUARANTINE || g.n_sel > IKE_GRANT_MAX_SEL ||
            g.n_dns > IKED_MAX_DNS || !memchr(g.reason, 0, sizeof(g.reason)))
            return "a bad grant";
        a->grant = g;
        a->decided = true;
        return NULL;
    }
    if (a->tsr || t->len == 0 || t->len % sizeof(*a->tsr) || t->len / sizeof(*a->tsr) > IKE_MAX_TS)
        return "a bad TSr proposal";
    if (!(a->tsr = malloc(t->len)))
        return "out of memory";
    memcpy(a->tsr, t->v, t->len);
    a->n_tsr = t->len / sizeof(*a->tsr);
    return NULL;
}

static const char *ckpt_get_special(const struct ckpt_tlv *t, struct ike_sa *sa, unsigned *n_child,
                                    bool *sk_i, bool *sk_r)
{
    switch (t->tag) {
    case TAG_SUBJECT:
        if (sa->peer_subject || t->len == 0 || t->len > CKPT_MAX_SUBJ || memchr(t->v, 0, t->len))
            return "a bad peer identity";
        if (!(sa->peer_subject = strndup((const char *)t->v, t->len)))
            return "out of memory";
        return NULL;
    case TAG_LAST_RESP:
        if (sa->last_resp || t->len == 0 || t->len > CKPT_MAX_RESP)
            return "a bad cached response";
        if (!(sa->last_resp = malloc(t->len)))
            return "out of memory";
        memcpy(sa->last_resp, t->v, t->len);
        sa->last_resp_len = t->len;
        return NULL;
    case TAG_SK_I:
    case TAG_SK_R: {
        bool *have = t->tag == TAG_SK_I ? sk_i : sk_r;
        if (*have)
            return "an SK field twice";
        *have = true;
        return ckpt_get_sk(t, t->tag == TAG_SK_I ? &sa->keys.sk_i : &sa->keys.sk_r);
    }
    case TAG_CHILD:
        if (++*n_child > CKPT_MAX_CHILD)
            return "too many CHILD SAs";
        if (sa->child) /* the second (rekey) CHILD SA: not kept by this iked */
            return "a second CHILD SA this iked cannot hold";
        if (!(sa->child = calloc(1, sizeof(*sa->child))))
            return "out of memory";
        return ckpt_get_child(t, sa->child);
    case TAG_AUTHZ_GRANT:
    case TAG_AUTHZ_TSR:
        return ckpt_get_authz(t, sa);
    }
    return "an unknown field (a newer iked's?)";
}

static const char *ckpt_check_sa(const struct ike_sa *sa)
{
    if (!ckpt_family_ok(&sa->local) || !ckpt_family_ok(&sa->remote) ||
        sa->local.ss_family != sa->remote.ss_family)
        return "bad addresses";
    if (sa->spi_r == 0 || sa->spi_i == 0)
        return "a zero SPI";
    if (ike_crypto_suite_check(&sa->suite) != IKE_CRYPTO_OK)
        return "an unsupported suite";
    if (sa->keys.prf != sa->suite.prf || sa->keys.prf_len != ike_prf_out_len(sa->keys.prf))
        return "SK_d does not fit the PRF";
    if (sa->keys.sk_i.encr != sa->suite.encr || sa->keys.sk_r.encr != sa->suite.encr)
        return "SK keys of another suite";
    if (!sa->peer_subject)
        return "no peer identity";
    if (sa->peer_serial[sizeof(sa->peer_serial) - 1] != 0)
        return "a bad serial";
    return NULL;
}

struct ike_sa *iked_checkpoint_rec_decode(const uint8_t *rec, size_t len, char *why, size_t why_len)
{
    const char *bad = NULL;
    struct ike_sa *sa = NULL;
    if (len < CKPT_HDR_LEN + CKPT_CRC_LEN || len > CKPT_MAX_REC || memcmp(rec, CKPT_MAGIC, 4)) {
        snprintf(why, why_len, "not a checkpoint record (%zu octets)", len);
        return NULL;
    }
    uint16_t ver;
    memcpy(&ver, rec + 4, 2);
    if (le16toh(ver) != IKED_CHECKPOINT_FORMAT) {
        snprintf(why, why_len, "record format %u, this iked reads %u", le16toh(ver),
                 IKED_CHECKPOINT_FORMAT);
        return NULL;
    }
    uint32_t crc;
    memcpy(&crc, rec + len - CKPT_CRC_LEN, 4);
    if (le32toh(crc) != ckpt_crc32(rec, len - CKPT_CRC_LEN)) {
        snprintf(why, why_len, "record CRC mismatch (corrupt)");
        return NULL;
    }
    if (!(sa = ike_sa_new())) {
        snprintf(why, why_len, "out of memory");
        return NULL;
    }
    const uint8_t *p = rec + CKPT_HDR_LEN, *end = rec + len - CKPT_CRC_LEN;
    uint64_t seen = 0;
    unsigned n_child = 0;
    bool sk_i = false, sk_r = false;
    struct ckpt_tlv t;
    int rc;
    while (!bad && (rc = ckpt_next(&p, end, &t)) > 0) {
        int took = ckpt_take(ckpt_sa_fields, N_SA_FIELDS, &t, sa, &seen);
        if (took < 0)
            bad = "a field too long, twice, or a bad bool";
        else if (took == 0)
            bad = ckpt_get_special(&t, sa, &n_child, &sk_i, &sk_r);
    }
    if (!bad && rc < 0)
        bad = "a field runs past the record";
    if (!bad)
        bad = ckpt_missing(ckpt_sa_fields, N_SA_FIELDS, seen);
    if (!bad && (!sk_i || !sk_r))
        bad = "SK keys missing";
    if (!bad)
        bad = ckpt_check_sa(sa);
    if (bad) {
        snprintf(why, why_len, "%s", bad);
        ike_sa_free(sa);
        return NULL;
    }
    /* What only the running daemon knows starts fresh. */
    sa->state = IKE_SA_ESTABLISHED;
    sa->busy = sa->destroy_pending = sa->destroy_notify = false;
    sa->lease_moved = sa->id_indexed = false;
    return sa;
}

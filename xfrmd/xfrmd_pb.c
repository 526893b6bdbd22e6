#include "xfrmd_pb.h"

#include "xfrm_owner.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static int pb_addr_in(ProtobufCBinaryData b, struct xfrm_addr *a, const char *field, char *why)
{
    memset(a, 0, sizeof(*a));
    switch (b.len) {
    case 0:
        a->family = AF_UNSPEC;
        return 0;
    case 4:
        a->family = AF_INET;
        memcpy(&a->u.v4, b.data, 4);
        return 0;
    case 16:
        a->family = AF_INET6;
        memcpy(&a->u.v6, b.data, 16);
        return 0;
    }
    snprintf(why, XFRMD_PB_ERR, "%s: an address is 4 or 16 bytes, not %zu", field, b.len);
    return -EINVAL;
}

/* The bytes live in the caller's storage (16 bytes). */
static ProtobufCBinaryData pb_addr_out(const struct xfrm_addr *a, uint8_t *store)
{
    ProtobufCBinaryData b = {0, store};
    if (a->family == AF_INET) {
        memcpy(store, &a->u.v4, 4);
        b.len = 4;
    } else if (a->family == AF_INET6) {
        memcpy(store, &a->u.v6, 16);
        b.len = 16;
    }
    return b;
}

static int pb_u16(uint32_t v, uint16_t *out, const char *field, char *why)
{
    if (v > 0xffff) {
        snprintf(why, XFRMD_PB_ERR, "%s: %u is not a port (0..65535)", field, v);
        return -EINVAL;
    }
    *out = (uint16_t)v;
    return 0;
}

static int pb_sel_in(const Mgate__XfrmSelector *in, struct xfrm_sel *out, char *why)
{
    memset(out, 0, sizeof(*out));
    if (!in)
        return 0;
    if (pb_addr_in(in->src, &out->src, "sel.src", why) ||
        pb_addr_in(in->dst, &out->dst, "sel.dst", why))
        return -EINVAL;
    if (in->src_plen > 128 || in->dst_plen > 128 || in->proto > 255) {
        snprintf(why, XFRMD_PB_ERR, "selector: prefix length or protocol out of range");
        return -EINVAL;
    }
    out->src_plen = (uint8_t)in->src_plen;
    out->dst_plen = (uint8_t)in->dst_plen;
    out->proto = (uint8_t)in->proto;
    if (pb_u16(in->sport, &out->sport, "sel.sport", why) ||
        pb_u16(in->sport_mask, &out->sport_mask, "sel.sport_mask", why) ||
        pb_u16(in->dport, &out->dport, "sel.dport", why) ||
        pb_u16(in->dport_mask, &out->dport_mask, "sel.dport_mask", why))
        return -EINVAL;
    out->ifindex = in->ifindex;
    return 0;
}

static void pb_lft_in(const Mgate__XfrmLifetime *in, struct xfrm_lifetime *out)
{
    memset(out, 0, sizeof(*out));
    if (!in)
        return;
    out->soft_bytes = in->soft_bytes;
    out->hard_bytes = in->hard_bytes;
    out->soft_packets = in->soft_packets;
    out->hard_packets = in->hard_packets;
    out->soft_add_secs = in->soft_add_s;
    out->hard_add_secs = in->hard_add_s;
    out->soft_use_secs = in->soft_use_s;
    out->hard_use_secs = in->hard_use_s;
}

static void pb_mark_in(const Mgate__XfrmMark *in, struct xfrm_markspec *out)
{
    out->value = in ? in->value : 0;
    out->mask = in ? in->mask : 0;
}

static int pb_key_in(ProtobufCBinaryData b, uint8_t *key, size_t *len, const char *field, char *why)
{
    if (b.len > XFRM_KEY_MAX) {
        snprintf(why, XFRMD_PB_ERR, "%s: %zu bytes is longer than any algorithm's key", field,
                 b.len);
        return -EINVAL;
    }
    if (b.len)
        memcpy(key, b.data, b.len);
    *len = b.len;
    return 0;
}

int xfrmd_pb_to_sa(const Mgate__XfrmSa *in, struct xfrm_sa *out, char *why)
{
    memset(out, 0, sizeof(*out));
    if (pb_addr_in(in->src, &out->src, "src", why) || pb_addr_in(in->dst, &out->dst, "dst", why) ||
        pb_sel_in(in->sel, &out->sel, why))
        return -EINVAL;
    out->spi = in->spi;
    out->reqid = in->reqid;
    /* The protobuf enums are numbered like the library's, one past NONE each. */
    if ((unsigned)in->enc >= XFRM_ENC_COUNT || (unsigned)in->integ >= XFRM_INTEG_COUNT) {
        snprintf(why, XFRMD_PB_ERR, "unknown algorithm (enc %d, integ %d)", in->enc, in->integ);
        return -EINVAL;
    }
    out->enc = (enum xfrm_enc_alg)in->enc;
    out->integ = (enum xfrm_integ_alg)in->integ;
    if (pb_key_in(in->enc_key, out->enc_key, &out->enc_key_len, "enc_key", why) ||
        pb_key_in(in->integ_key, out->integ_key, &out->integ_key_len, "integ_key", why))
        return -EINVAL;
    out->esn = in->esn;
    out->replay_window = in->replay_window;
    pb_lft_in(in->lifetime, &out->lft);
    out->encap = in->encap;
    if (pb_u16(in->encap_sport, &out->encap_ports.sport, "encap_sport", why) ||
        pb_u16(in->encap_dport, &out->encap_ports.dport, "encap_dport", why))
        return -EINVAL;
    pb_mark_in(in->mark, &out->mark);
    out->if_id = in->if_id;
    return 0;
}

int xfrmd_pb_to_sa_id(const Mgate__XfrmSaId *in, struct xfrm_sa_id *out, char *why)
{
    memset(out, 0, sizeof(*out));
    if (pb_addr_in(in->dst, &out->dst, "dst", why))
        return -EINVAL;
    out->spi = in->spi;
    pb_mark_in(in->mark, &out->mark);
    return 0;
}

int xfrmd_pb_to_spi_req(const Mgate__XfrmSpiRequest *in, struct xfrm_spi_req *out, char *why)
{
    memset(out, 0, sizeof(*out));
    if (pb_addr_in(in->src, &out->src, "src", why) || pb_addr_in(in->dst, &out->dst, "dst", why))
        return -EINVAL;
    out->reqid = in->reqid;
    out->min = in->min;
    out->max = in->max;
    pb_mark_in(in->mark, &out->mark);
    out->if_id = in->if_id;
    return 0;
}

int xfrmd_pb_to_policy(const Mgate__XfrmPolicy *in, struct xfrm_policy *out, char *why)
{
    memset(out, 0, sizeof(*out));
    if (pb_sel_in(in->sel, &out->sel, why))
        return -EINVAL;
    if ((unsigned)in->dir > XFRM_DIR_FWD) {
        snprintf(why, XFRMD_PB_ERR, "dir %d is not in, out or fwd", in->dir);
        return -EINVAL;
    }
    out->dir = (enum xfrm_dir)in->dir;
    out->priority = in->priority ? in->priority : xfrm_owner_policy_priority(&out->sel);
    out->block = in->block;
    if (in->n_tmpl > XFRM_TMPL_MAX) {
        snprintf(why, XFRMD_PB_ERR, "%zu templates; at most %d", in->n_tmpl, XFRM_TMPL_MAX);
        return -EINVAL;
    }
    for (size_t i = 0; i < in->n_tmpl; i++) {
        const Mgate__XfrmTmpl *t = in->tmpl[i];
        if (pb_addr_in(t->src, &out->tmpl[i].src, "tmpl.src", why) ||
            pb_addr_in(t->dst, &out->tmpl[i].dst, "tmpl.dst", why))
            return -EINVAL;
        out->tmpl[i].reqid = t->reqid;
        out->tmpl[i].spi = t->spi;
        out->tmpl[i].optional = t->optional;
    }
    out->n_tmpl = in->n_tmpl;
    pb_mark_in(in->mark, &out->mark);
    out->if_id = in->if_id;
    pb_lft_in(in->lifetime, &out->lft);
    return 0;
}

int xfrmd_pb_to_policy_id(const Mgate__XfrmPolicyId *in, struct xfrm_policy_id *out, char *why)
{
    memset(out, 0, sizeof(*out));
    if (pb_sel_in(in->sel, &out->sel, why))
        return -EINVAL;
    if ((unsigned)in->dir > XFRM_DIR_FWD) {
        snprintf(why, XFRMD_PB_ERR, "dir %d is not in, out or fwd", in->dir);
        return -EINVAL;
    }
    out->dir = (enum xfrm_dir)in->dir;
    pb_mark_in(in->mark, &out->mark);
    out->if_id = in->if_id;
    return 0;
}

/* --- outgoing ------------------------------------------------------------ */

struct pb_sel_box {
    Mgate__XfrmSelector m;
    uint8_t src[16], dst[16];
};

static void pb_sel_out(const struct xfrm_sel *in, struct pb_sel_box *box)
{
    mgate__xfrm_selector__init(&box->m);
    box->m.src = pb_addr_out(&in->src, box->src);
    box->m.dst = pb_addr_out(&in->dst, box->dst);
    box->m.src_plen = in->src_plen;
    box->m.dst_plen = in->dst_plen;
    box->m.proto = in->proto;
    box->m.sport = in->sport;
    box->m.sport_mask = in->sport_mask;
    box->m.dport = in->dport;
    box->m.dport_mask = in->dport_mask;
    box->m.ifindex = in->ifindex;
}

static void pb_lft_out(const struct xfrm_lifetime *in, Mgate__XfrmLifetime *m)
{
    mgate__xfrm_lifetime__init(m);
    m->soft_bytes = in->soft_bytes;
    m->hard_bytes = in->hard_bytes;
    m->soft_packets = in->soft_packets;
    m->hard_packets = in->hard_packets;
    m->soft_add_s = in->soft_add_secs;
    m->hard_add_s = in->hard_add_secs;
    m->soft_use_s = in->soft_use_secs;
    m->hard_use_s = in->hard_use_secs;
}

static void pb_cnt_out(const struct xfrm_counters *in, Mgate__XfrmCounters *m)
{
    mgate__xfrm_counters__init(m);
    m->bytes = in->bytes;
    m->packets = in->packets;
    m->add_time = in->add_time;
    m->use_time = in->use_time;
}

static void pb_mark_out(const struct xfrm_markspec *in, Mgate__XfrmMark *m)
{
    mgate__xfrm_mark__init(m);
    m->value = in->value;
    m->mask = in->mask;
}

struct pb_sa_info_box {
    Mgate__XfrmSaInfo m;
    struct pb_sel_box sel;
    Mgate__XfrmLifetime lft;
    Mgate__XfrmCounters cnt;
    Mgate__XfrmMark mark;
    uint8_t src[16], dst[16];
    char enc_name[64], integ_name[64];
};

Mgate__XfrmSaInfo *xfrmd_pb_sa_info_new(const struct xfrm_sa_info *in)
{
    struct pb_sa_info_box *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    Mgate__XfrmSaInfo *m = &b->m;
    mgate__xfrm_sa_info__init(m);
    m->src = pb_addr_out(&in->src, b->src);
    m->dst = pb_addr_out(&in->dst, b->dst);
    m->spi = in->spi;
    m->proto = in->proto;
    m->mode = in->mode;
    m->reqid = in->reqid;
    pb_sel_out(&in->sel, &b->sel);
    m->sel = &b->sel.m;
    m->larval = in->larval;
    m->enc = (Mgate__XfrmEncAlg)in->enc;
    snprintf(b->enc_name, sizeof(b->enc_name), "%s", in->enc_name);
    m->enc_name = b->enc_name;
    m->enc_key_bits = in->enc_key_bits;
    m->icv_bits = in->icv_bits;
    m->integ = (Mgate__XfrmIntegAlg)in->integ;
    snprintf(b->integ_name, sizeof(b->integ_name), "%s", in->integ_name);
    m->integ_name = b->integ_name;
    m->integ_trunc_bits = in->integ_trunc_bits;
    m->esn = in->esn;
    m->replay_window = in->replay_window;
    m->seq = (uint64_t)in->seq_hi << 32 | in->seq;
    m->oseq = (uint64_t)in->oseq_hi << 32 | in->oseq;
    pb_lft_out(&in->lft, &b->lft);
    m->lifetime = &b->lft;
    pb_cnt_out(&in->cur, &b->cnt);
    m->counters = &b->cnt;
    m->replay_dropped = in->stats.replay;
    m->window_dropped = in->stats.replay_window;
    m->integrity_failed = in->stats.integrity_failed;
    m->encap = in->encap;
    m->encap_sport = in->encap_ports.sport;
    m->encap_dport = in->encap_ports.dport;
    pb_mark_out(&in->mark, &b->mark);
    m->mark = &b->mark;
    m->if_id = in->if_id;
    m->ours = in->ours;
    return m;
}

void xfrmd_pb_sa_info_free(Mgate__XfrmSaInfo *m)
{
    free(m); /* first member of its box */
}

struct pb_policy_info_box {
    Mgate__XfrmPolicyInfo m;
    Mgate__XfrmPolicy pol;
    struct pb_sel_box sel;
    Mgate__XfrmTmpl tmpl[XFRM_TMPL_MAX];
    Mgate__XfrmTmpl *tmpl_ptr[XFRM_TMPL_MAX];
    uint8_t taddr[XFRM_TMPL_MAX][2][16];
    Mgate__XfrmMark mark;
    Mgate__XfrmLifetime lft;
    Mgate__XfrmCounters cnt;
};

Mgate__XfrmPolicyInfo *xfrmd_pb_policy_info_new(const struct xfrm_policy_info *in)
{
    struct pb_policy_info_box *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    mgate__xfrm_policy_info__init(&b->m);
    mgate__xfrm_policy__init(&b->pol);
    const struct xfrm_policy *p = &in->pol;
    pb_sel_out(&p->sel, &b->sel);
    b->pol.sel = &b->sel.m;
    b->pol.dir = (Mgate__XfrmDir)p->dir;
    b->pol.priority = p->priority;
    b->pol.block = p->block;
    for (size_t i = 0; i < p->n_tmpl && i < XFRM_TMPL_MAX; i++) {
        mgate__xfrm_tmpl__init(&b->tmpl[i]);
        b->tmpl[i].src = pb_addr_out(&p->tmpl[i].src, b->taddr[i][0]);
        b->tmpl[i].dst = pb_addr_out(&p->tmpl[i].dst, b->taddr[i][1]);
        b->tmpl[i].reqid = p->tmpl[i].reqid;
        b->tmpl[i].spi = p->tmpl[i].spi;
        b->tmpl[i].optional = p->tmpl[i].optional;
        b->tmpl_ptr[i] = &b->tmpl[i];
        b->pol.n_tmpl++;
    }
    b->pol.tmpl = b->tmpl_ptr;
    pb_mark_out(&p->mark, &b->mark);
    b->pol.mark = &b->mark;
    b->pol.if_id = p->if_id;
    pb_lft_out(&p->lft, &b->lft);
    b->pol.lifetime = &b->lft;
    b->m.policy = &b->pol;
    b->m.index = in->index;
    pb_cnt_out(&in->cur, &b->cnt);
    b->m.counters = &b->cnt;
    b->m.ours = in->ours;
    return &b->m;
}

void xfrmd_pb_policy_info_free(Mgate__XfrmPolicyInfo *m)
{
    free(m);
}

struct pb_sa_id_box {
    Mgate__XfrmSaId m;
    Mgate__XfrmMark mark;
    uint8_t dst[16];
};

static void pb_sa_id_fill(struct pb_sa_id_box *b, const struct xfrm_sa_id *in)
{
    mgate__xfrm_sa_id__init(&b->m);
    b->m.dst = pb_addr_out(&in->dst, b->dst);
    b->m.spi = in->spi;
    pb_mark_out(&in->mark, &b->mark);
    b->m.mark = &b->mark;
}

Mgate__XfrmSaId *xfrmd_pb_sa_id_new(const struct xfrm_sa_id *in)
{
    struct pb_sa_id_box *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    pb_sa_id_fill(b, in);
    return &b->m;
}

struct pb_policy_id_box {
    Mgate__XfrmPolicyId m;
    struct pb_sel_box sel;
    Mgate__XfrmMark mark;
};

Mgate__XfrmPolicyId *xfrmd_pb_policy_id_new(const struct xfrm_policy_id *in)
{
    struct pb_policy_id_box *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    mgate__xfrm_policy_id__init(&b->m);
    pb_sel_out(&in->sel, &b->sel);
    b->m.sel = &b->sel.m;
    b->m.dir = (Mgate__XfrmDir)in->dir;
    pb_mark_out(&in->mark, &b->mark);
    b->m.mark = &b->mark;
    b->m.if_id = in->if_id;
    return &b->m;
}

/* --- events ---------------------------------------------------------------- */

struct pb_event_box {
    Mgate__XfrmdEvent m;
    union {
        Mgate__XfrmExpire expire;
        Mgate__XfrmMapping mapping;
        Mgate__XfrmAcquire acquire;
        Mgate__XfrmMigrate migrate;
        Mgate__XfrmReport report;
    } u;
    struct pb_sa_id_box id;
    struct pb_sel_box sel;
    uint8_t a[4][16];
};

Mgate__XfrmdEvent *xfrmd_pb_event_new(const struct xfrm_event *ev, const char **topic)
{
    if (!ev->ours)
        return NULL;
    struct pb_event_box *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    mgate__xfrmd_event__init(&b->m);
    switch (ev->type) {
    case XFRM_EVENT_SA_EXPIRE: {
        const struct xfrm_sa_info *sa = &ev->u.sa.info;
        struct xfrm_sa_id id = {.dst = sa->dst, .spi = sa->spi, .mark = sa->mark};
        mgate__xfrm_expire__init(&b->u.expire);
        pb_sa_id_fill(&b->id, &id);
        b->u.expire.sa = &b->id.m;
        b->u.expire.src = pb_addr_out(&sa->src, b->a[0]);
        b->u.expire.reqid = sa->reqid;
        b->u.expire.hard = ev->u.sa.hard;
        b->m.body_case = MGATE__XFRMD_EVENT__BODY_EXPIRE;
        b->m.expire = &b->u.expire;
        *topic = "sa";
        break;
    }
    case XFRM_EVENT_MAPPING: {
        const struct xfrm_event_mapping *mp = &ev->u.mapping;
        mgate__xfrm_mapping__init(&b->u.mapping);
        pb_sa_id_fill(&b->id, &mp->sa);
        b->u.mapping.sa = &b->id.m;
        b->u.mapping.reqid = mp->reqid;
        b->u.mapping.old_addr = pb_addr_out(&mp->old_src, b->a[0]);
        b->u.mapping.old_port = mp->old_sport;
        b->u.mapping.new_addr = pb_addr_out(&mp->new_src, b->a[1]);
        b->u.mapping.new_port = mp->new_sport;
        b->m.body_case = MGATE__XFRMD_EVENT__BODY_MAPPING;
        b->m.mapping = &b->u.mapping;
        *topic = "sa";
        break;
    }
    case XFRM_EVENT_ACQUIRE: {
        const struct xfrm_event_acquire *aq = &ev->u.acquire;
        mgate__xfrm_acquire__init(&b->u.acquire);
        pb_sel_out(&aq->sel, &b->sel);
        b->u.acquire.sel = &b->sel.m;
        b->u.acquire.src = pb_addr_out(&aq->src, b->a[0]);
        b->u.acquire.dst = pb_addr_out(&aq->dst, b->a[1]);
        b->u.acquire.reqid = aq->policy.pol.n_tmpl ? aq->policy.pol.tmpl[0].reqid : 0;
        b->u.acquire.policy_index = aq->policy.index;
        b->m.body_case = MGATE__XFRMD_EVENT__BODY_ACQUIRE;
        b->m.acquire = &b->u.acquire;
        *topic = "acquire";
        break;
    }
    case XFRM_EVENT_MIGRATE: {
        const struct xfrm_event_migrate *mg = &ev->u.migrate;
        if (mg->n == 0)
            goto skip;
        mgate__xfrm_migrate__init(&b->u.migrate);
        pb_sel_out(&mg->sel, &b->sel);
        b->u.migrate.sel = &b->sel.m;
        b->u.migrate.dir = (Mgate__XfrmDir)mg->dir;
        b->u.migrate.old_src = pb_addr_out(&mg->entry[0].old_src, b->a[0]);
        b->u.migrate.old_dst = pb_addr_out(&mg->entry[0].old_dst, b->a[1]);
        b->u.migrate.new_src = pb_addr_out(&mg->entry[0].new_src, b->a[2]);
        b->u.migrate.new_dst = pb_addr_out(&mg->entry[0].new_dst, b->a[3]);
        b->u.migrate.reqid = mg->entry[0].reqid;
        b->m.body_case = MGATE__XFRMD_EVENT__BODY_MIGRATE;
        b->m.migrate = &b->u.migrate;
        *topic = "migrate";
        break;
    }
    case XFRM_EVENT_REPORT: {
        const struct xfrm_event_report *rp = &ev->u.report;
        mgate__xfrm_report__init(&b->u.report);
        pb_sel_out(&rp->sel, &b->sel);
        b->u.report.sel = &b->sel.m;
        b->u.report.proto = rp->proto;
        if (rp->has_coaddr)
            b->u.report.dst = pb_addr_out(&rp->coaddr, b->a[0]);
        b->m.body_case = MGATE__XFRMD_EVENT__BODY_REPORT;
        b->m.report = &b->u.report;
        *topic = "report";
        break;
    }
    default:
        goto skip;
    }
    return &b->m;
skip:
    free(b);
    return NULL;
}

void xfrmd_pb_event_free(Mgate__XfrmdEvent *m)
{
    free(m);
}

/* mgatectl xfrm sa|policy [--all]: what xfrmd owns in the kernel, with the
 * counters and lifetimes `ip -s xfrm state` / `ip -s xfrm policy` show. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "ctl.h"
#include "envelope.h"
#include "xfrmd.pb-c.h"

static const char *ctl_addr(ProtobufCBinaryData b, char *buf, size_t len)
{
    if (b.len == 4)
        return inet_ntop(AF_INET, b.data, buf, (socklen_t)len);
    if (b.len == 16)
        return inet_ntop(AF_INET6, b.data, buf, (socklen_t)len);
    snprintf(buf, len, "any");
    return buf;
}

static const char *ctl_sel(const Mgate__XfrmSelector *s, char *buf, size_t len)
{
    char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
    if (!s) {
        snprintf(buf, len, "any");
        return buf;
    }
    snprintf(buf, len, "%s/%u > %s/%u", ctl_addr(s->src, a, sizeof(a)), s->src_plen,
             ctl_addr(s->dst, b, sizeof(b)), s->dst_plen);
    if (s->proto) {
        size_t n = strlen(buf);
        snprintf(buf + n, len - n, " proto %u", s->proto);
    }
    return buf;
}

static const char *ctl_alg(const Mgate__XfrmSaInfo *sa, char *buf, size_t len)
{
    if (sa->larval)
        snprintf(buf, len, "(larval)");
    else if (sa->integ_name && *sa->integ_name)
        snprintf(buf, len, "%s/%u+%s/%u", sa->enc_name, sa->enc_key_bits, sa->integ_name,
                 sa->integ_trunc_bits);
    else
        snprintf(buf, len, "%s/%u", sa->enc_name, sa->enc_key_bits);
    return buf;
}

static void ctl_json_sel(struct json_out *j, const char *key, const Mgate__XfrmSelector *s)
{
    char a[INET6_ADDRSTRLEN];
    json_obj_open(j, key);
    if (s) {
        json_str(j, "src", ctl_addr(s->src, a, sizeof(a)));
        json_u64(j, "src_plen", s->src_plen);
        json_str(j, "dst", ctl_addr(s->dst, a, sizeof(a)));
        json_u64(j, "dst_plen", s->dst_plen);
        json_u64(j, "proto", s->proto);
        json_u64(j, "sport", s->sport);
        json_u64(j, "dport", s->dport);
    }
    json_obj_close(j);
}

static void ctl_json_lft(struct json_out *j, const Mgate__XfrmLifetime *l)
{
    json_obj_open(j, "lifetime");
    if (l) {
        json_u64(j, "soft_bytes", l->soft_bytes);
        json_u64(j, "hard_bytes", l->hard_bytes);
        json_u64(j, "soft_packets", l->soft_packets);
        json_u64(j, "hard_packets", l->hard_packets);
        json_u64(j, "soft_add_s", l->soft_add_s);
        json_u64(j, "hard_add_s", l->hard_add_s);
        json_u64(j, "soft_use_s", l->soft_use_s);
        json_u64(j, "hard_use_s", l->hard_use_s);
    }
    json_obj_close(j);
}

static void ctl_json_cnt(struct json_out *j, const Mgate__XfrmCounters *c)
{
    json_u64(j, "bytes", c ? c->bytes : 0);
    json_u64(j, "packets", c ? c->packets : 0);
    json_u64(j, "add_time", c ? c->add_time : 0);
    json_u64(j, "use_time", c ? c->use_time : 0);
}

static void ctl_sa_json(const Mgate__XfrmSaList *l)
{
    struct json_out j;
    char a[INET6_ADDRSTRLEN], spi[16], alg[160];
    json_begin(&j, stdout);
    json_arr_open(&j, NULL);
    for (size_t i = 0; i < l->n_sas; i++) {
        const Mgate__XfrmSaInfo *sa = l->sas[i];
        json_obj_open(&j, NULL);
        json_str(&j, "src", ctl_addr(sa->src, a, sizeof(a)));
        json_str(&j, "dst", ctl_addr(sa->dst, a, sizeof(a)));
        snprintf(spi, sizeof(spi), "0x%08x", sa->spi);
        json_str(&j, "spi", spi);
        json_u64(&j, "reqid", sa->reqid);
        json_str(&j, "alg", ctl_alg(sa, alg, sizeof(alg)));
        json_str(&j, "enc", sa->enc_name);
        json_u64(&j, "enc_key_bits", sa->enc_key_bits);
        json_str(&j, "integ", sa->integ_name);
        json_bool(&j, "esn", sa->esn);
        json_u64(&j, "replay_window", sa->replay_window);
        json_bool(&j, "encap", sa->encap);
        if (sa->encap) {
            json_u64(&j, "encap_sport", sa->encap_sport);
            json_u64(&j, "encap_dport", sa->encap_dport);
        }
        ctl_json_sel(&j, "sel", sa->sel);
        ctl_json_cnt(&j, sa->counters);
        json_u64(&j, "seq", sa->seq);
        json_u64(&j, "oseq", sa->oseq);
        json_u64(&j, "replay_dropped", sa->replay_dropped);
        json_u64(&j, "integrity_failed", sa->integrity_failed);
        ctl_json_lft(&j, sa->lifetime);
        json_bool(&j, "ours", sa->ours);
        json_obj_close(&j);
    }
    json_arr_close(&j);
    json_end(&j);
}

static void ctl_sa_table(const Mgate__XfrmSaList *l)
{
    char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN], alg[160], sel[128];
    printf("%-16s %-16s %-10s %-10s %-26s %10s %8s %-10s %s\n", "SRC", "DST", "SPI", "REQID",
           "ALGORITHM", "BYTES", "PACKETS", "HARD", "SELECTOR");
    for (size_t i = 0; i < l->n_sas; i++) {
        const Mgate__XfrmSaInfo *sa = l->sas[i];
        char hard[32] = "-";
        if (sa->lifetime && sa->lifetime->hard_add_s)
            snprintf(hard, sizeof(hard), "%llus", (unsigned long long)sa->lifetime->hard_add_s);
        else if (sa->lifetime && sa->lifetime->hard_bytes)
            snprintf(hard, sizeof(hard), "%lluB", (unsigned long long)sa->lifetime->hard_bytes);
        printf("%-16s %-16s 0x%08x 0x%08x %-26s %10llu %8llu %-10s %s%s\n",
               ctl_addr(sa->src, s, sizeof(s)), ctl_addr(sa->dst, d, sizeof(d)), sa->spi, sa->reqid,
               ctl_alg(sa, alg, sizeof(alg)),
               (unsigned long long)(sa->counters ? sa->counters->bytes : 0),
               (unsigned long long)(sa->counters ? sa->counters->packets : 0), hard,
               ctl_sel(sa->sel, sel, sizeof(sel)), sa->ours ? "" : "  (not mgate's)");
    }
}

static const char *const ctl_dirs[] = {"in", "out", "fwd"};

static void ctl_policy_json(const Mgate__XfrmPolicyList *l)
{
    struct json_out j;
    char a[INET6_ADDRSTRLEN];
    json_begin(&j, stdout);
    json_arr_open(&j, NULL);
    for (size_t i = 0; i < l->n_policies; i++) {
        const Mgate__XfrmPolicyInfo *pi = l->policies[i];
        const Mgate__XfrmPolicy *p = pi->policy;
        json_obj_open(&j, NULL);
        json_str(&j, "dir", p && (unsigned)p->dir < 3 ? ctl_dirs[p->dir] : "?");
        ctl_json_sel(&j, "sel", p ? p->sel : NULL);
        json_u64(&j, "priority", p ? p->priority : 0);
        json_str(&j, "action", p && p->block ? "block" : "allow");
        json_u64(&j, "index", pi->index);
        json_arr_open(&j, "tmpl");
        for (size_t t = 0; p && t < p->n_tmpl; t++) {
            json_obj_open(&j, NULL);
            json_str(&j, "src", ctl_addr(p->tmpl[t]->src, a, sizeof(a)));
            json_str(&j, "dst", ctl_addr(p->tmpl[t]->dst, a, sizeof(a)));
            json_u64(&j, "reqid", p->tmpl[t]->reqid);
            json_obj_close(&j);
        }
        json_arr_close(&j);
        ctl_json_cnt(&j, pi->counters);
        if (p)
            ctl_json_lft(&j, p->lifetime);
        json_bool(&j, "ours", pi->ours);
        json_obj_close(&j);
    }
    json_arr_close(&j);
    json_end(&j);
}

static void ctl_policy_table(const Mgate__XfrmPolicyList *l)
{
    char sel[128], s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
    printf("%-4s %-44s %-10s %-34s %10s %8s\n", "DIR", "SELECTOR", "PRIORITY", "TUNNEL (REQID)",
           "BYTES", "PACKETS");
    for (size_t i = 0; i < l->n_policies; i++) {
        const Mgate__XfrmPolicyInfo *pi = l->policies[i];
        const Mgate__XfrmPolicy *p = pi->policy;
        if (!p)
            continue;
        char tun[96] = "block";
        if (!p->block && p->n_tmpl)
            snprintf(tun, sizeof(tun), "%s>%s (0x%08x)", ctl_addr(p->tmpl[0]->src, s, sizeof(s)),
                     ctl_addr(p->tmpl[0]->dst, d, sizeof(d)), p->tmpl[0]->reqid);
        printf("%-4s %-44s 0x%08x %-34s %10llu %8llu%s\n",
               (unsigned)p->dir < 3 ? ctl_dirs[p->dir] : "?", ctl_sel(p->sel, sel, sizeof(sel)),
               p->priority, tun, (unsigned long long)(pi->counters ? pi->counters->bytes : 0),
               (unsigned long long)(pi->counters ? pi->counters->packets : 0),
               pi->ours ? "" : "  (not mgate's)");
    }
}

int ctl_cmd_xfrm(struct ctl *ctl, int argc, char **argv)
{
    if (argc < 1 || (strcmp(argv[0], "sa") != 0 && strcmp(argv[0], "policy") != 0)) {
        fprintf(stderr, "usage: mgatectl xfrm sa|policy [--all]\n");
        return 2;
    }
    bool sas = strcmp(argv[0], "sa") == 0;
    Mgate__XfrmDumpRequest d = MGATE__XFRM_DUMP_REQUEST__INIT;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--all") == 0) {
            d.all = true;
        } else {
            fprintf(stderr, "mgatectl xfrm: unknown option '%s'\n", argv[i]);
            return 2;
        }
    }
    ProtobufCMessage *resp = NULL;
    char why[256];
    uint32_t field =
        sas ? MGATE__XFRMD_REQUEST__BODY_DUMP_SAS : MGATE__XFRMD_REQUEST__BODY_DUMP_POLICIES;
    int rc = ctl_call(ctl, ctl_service_find("xfrmd"), field, &d.base, &resp, why, sizeof(why));
    if (rc < 0) {
        fprintf(stderr, "mgatectl xfrm: xfrmd: %s\n", why);
        return rc == -EPROTO ? 1 : 3;
    }
    const Mgate__XfrmdResponse *r = (const Mgate__XfrmdResponse *)resp;
    if (sas && r->body_case == MGATE__XFRMD_RESPONSE__BODY_SAS)
        ctl->json ? ctl_sa_json(r->sas) : ctl_sa_table(r->sas);
    else if (!sas && r->body_case == MGATE__XFRMD_RESPONSE__BODY_POLICIES)
        ctl->json ? ctl_policy_json(r->policies) : ctl_policy_table(r->policies);
    else
        fprintf(stderr, "mgatectl xfrm: unexpected answer from xfrmd\n");
    protobuf_c_message_free_unpacked(resp, NULL);
    return 0;
}

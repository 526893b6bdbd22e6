/* SA + policy install rate through mgate-xfrmd's socket API (design.md,
 * "Performance targets": >= 50,000 SAs/s batched). Not a test: prints one
 * result line per run; tests/bench/xfrm_install.sh runs it in the VM and
 * makes the table.
 *
 *   xfrm_install SOCK batched N [OPS_PER_REQUEST]   (default 1000 ops per request)
 *   xfrm_install SOCK single N                      (one SA and its policy per request)
 *   xfrm_install SOCK policies N [OPS_PER_REQUEST]  (the policies alone: works on a
 *                                                    kernel without ESP too)
 *   xfrm_install SOCK reconcile                     (delete everything xfrmd owns)
 *   xfrm_install - ipbatch N FILE                   (the same SAs and policies as an
 *                                                    `ip -batch` file, for the baseline)
 *
 * What a gateway installs per device: an outbound ESP tunnel-mode SA
 * (AES-GCM-16-128, replay window 32) gw 192.0.2.1 -> the device's outer
 * address 198.19.x.y, with its own reqid, and the out policy
 * 203.0.113.0/24 -> the device's virtual IP 198.18.x.y/32 whose template
 * names that reqid. N <= 65,536. Keys are fixed test patterns. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "envelope.h"
#include "ipc_sync.h"
#include "xfrmd.pb-c.h"

#define MAX_N      65536u
#define SPI_BASE   0x10000u
#define REQID_BASE 0x4d100000u
#define PRIORITY   0x004d8000u /* inside xfrmd's band (xfrmd/README.md) */
#define KEY_LEN    20          /* AES-128 key + 4-byte salt */
#define TIMEOUT_MS 600000

static const uint8_t gw_addr[4] = {192, 0, 2, 1};
static const uint8_t corp_net[4] = {203, 0, 113, 0};

static void dev_addr(uint32_t i, uint8_t out[4])
{
    out[0] = 198, out[1] = 19, out[2] = (uint8_t)(i >> 8), out[3] = (uint8_t)i;
}

static void vip_addr(uint32_t i, uint8_t out[4])
{
    out[0] = 198, out[1] = 18, out[2] = (uint8_t)(i >> 8), out[3] = (uint8_t)i;
}

static void key_of(uint32_t i, uint8_t *k)
{
    for (size_t j = 0; j < KEY_LEN; j++)
        k[j] = (uint8_t)((i >> (8 * (j % 4))) ^ (j * 37) ^ 0x6d);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Storage for one SA and its policy, as protobuf messages. */
struct pair {
    Mgate__XfrmSa sa;
    uint8_t dev[4], vip[4], key[KEY_LEN];
    Mgate__XfrmPolicy pol;
    Mgate__XfrmSelector sel;
    Mgate__XfrmTmpl tmpl;
    Mgate__XfrmTmpl *tp[1];
    Mgate__XfrmOp op_sa, op_pol;
};

static void pair_fill(struct pair *p, uint32_t i)
{
    dev_addr(i, p->dev);
    vip_addr(i, p->vip);
    key_of(i, p->key);
    mgate__xfrm_sa__init(&p->sa);
    p->sa.src = (ProtobufCBinaryData){4, (uint8_t *)gw_addr};
    p->sa.dst = (ProtobufCBinaryData){4, p->dev};
    p->sa.spi = SPI_BASE + i;
    p->sa.reqid = REQID_BASE + i;
    p->sa.enc = MGATE__XFRM_ENC_ALG__XFRM_ENC_AES_GCM16_128;
    p->sa.enc_key = (ProtobufCBinaryData){KEY_LEN, p->key};
    p->sa.replay_window = 32;
    mgate__xfrm_selector__init(&p->sel);
    p->sel.src = (ProtobufCBinaryData){4, (uint8_t *)corp_net};
    p->sel.src_plen = 24;
    p->sel.dst = (ProtobufCBinaryData){4, p->vip};
    p->sel.dst_plen = 32;
    mgate__xfrm_tmpl__init(&p->tmpl);
    p->tmpl.src = p->sa.src;
    p->tmpl.dst = p->sa.dst;
    p->tmpl.reqid = p->sa.reqid;
    p->tp[0] = &p->tmpl;
    mgate__xfrm_policy__init(&p->pol);
    p->pol.sel = &p->sel;
    p->pol.dir = MGATE__XFRM_DIR__XFRM_DIR_OUT;
    p->pol.priority = PRIORITY;
    p->pol.tmpl = p->tp;
    p->pol.n_tmpl = 1;
    mgate__xfrm_op__init(&p->op_sa);
    p->op_sa.op_case = MGATE__XFRM_OP__OP_SA_ADD;
    p->op_sa.sa_add = &p->sa;
    mgate__xfrm_op__init(&p->op_pol);
    p->op_pol.op_case = MGATE__XFRM_OP__OP_POLICY_ADD;
    p->op_pol.policy_add = &p->pol;
}

/* Sends one request; returns the decoded response or NULL (message printed). */
static Mgate__XfrmdResponse *call(struct ipc_sync *s, uint32_t field, ProtobufCMessage *body)
{
    Mgate__XfrmdRequest req;
    envelope_init_set(&mgate__xfrmd_request__descriptor, &req, field, body);
    Mgate__Frame *f = NULL;
    int rc = ipc_sync_call(s, &req.base, TIMEOUT_MS, &f);
    if (rc) {
        fprintf(stderr, "xfrm_install: %s\n", strerror(-rc));
        return NULL;
    }
    if (f->error) {
        fprintf(stderr, "xfrm_install: refused: %s\n", f->error->message);
        mgate__frame__free_unpacked(f, NULL);
        return NULL;
    }
    Mgate__XfrmdResponse *r = mgate__xfrmd_response__unpack(NULL, f->payload.len, f->payload.data);
    mgate__frame__free_unpacked(f, NULL);
    if (r && r->error && r->error->code) {
        fprintf(stderr, "xfrm_install: error %d: %s\n", r->error->code, r->error->message);
        mgate__xfrmd_response__free_unpacked(r, NULL);
        return NULL;
    }
    return r;
}

/* Installs N pairs, ops_per_req operations (SA + policy = 2) per request;
 * with policies_only, just the N policies. */
static int run_install(struct ipc_sync *s, const char *mode, uint32_t n, uint32_t ops_per_req,
                       bool policies_only)
{
    struct pair *pairs = calloc(n, sizeof(*pairs));
    Mgate__XfrmOp **ops = calloc((size_t)n * 2, sizeof(*ops));
    if (!pairs || !ops) {
        fprintf(stderr, "xfrm_install: out of memory\n");
        return 1;
    }
    for (uint32_t i = 0; i < n; i++) {
        pair_fill(&pairs[i], i);
        if (policies_only) {
            ops[i] = &pairs[i].op_pol;
        } else {
            ops[2 * i] = &pairs[i].op_sa;
            ops[2 * i + 1] = &pairs[i].op_pol;
        }
    }
    size_t total = policies_only ? n : (size_t)n * 2, requests = 0, failed = 0;
    char first[320] = "";
    double t0 = now();
    for (size_t at = 0; at < total; at += ops_per_req) {
        Mgate__XfrmBatchRequest b = MGATE__XFRM_BATCH_REQUEST__INIT;
        b.ops = ops + at;
        b.n_ops = total - at < ops_per_req ? total - at : ops_per_req;
        Mgate__XfrmdResponse *r = call(s, MGATE__XFRMD_REQUEST__BODY_BATCH, &b.base);
        requests++;
        if (!r || r->body_case != MGATE__XFRMD_RESPONSE__BODY_BATCH ||
            r->batch->n_results != b.n_ops) {
            fprintf(stderr, "xfrm_install: request %zu got no batch reply\n", requests);
            free(pairs);
            free(ops);
            if (r)
                mgate__xfrmd_response__free_unpacked(r, NULL);
            return 1;
        }
        failed += r->batch->failed;
        for (size_t k = 0; !first[0] && k < r->batch->n_results; k++)
            if (r->batch->results[k]->errnum)
                snprintf(first, sizeof(first), "op %zu: %s", at + k, r->batch->results[k]->message);
        mgate__xfrmd_response__free_unpacked(r, NULL);
    }
    double dt = now() - t0;
    printf("mode=%s %s=%u ops=%zu ops_per_request=%u requests=%zu seconds=%.3f %s_per_s=%.0f "
           "ops_per_s=%.0f failed=%zu\n",
           mode, policies_only ? "policies" : "sas", n, total, ops_per_req, requests, dt,
           policies_only ? "policy" : "sa", n / dt, total / dt, failed);
    if (first[0])
        printf("first failure: %s\n", first);
    free(pairs);
    free(ops);
    return failed ? 1 : 0;
}

static int run_reconcile(struct ipc_sync *s)
{
    Mgate__XfrmReconcileRequest rq = MGATE__XFRM_RECONCILE_REQUEST__INIT;
    double t0 = now();
    Mgate__XfrmdResponse *r = call(s, MGATE__XFRMD_REQUEST__BODY_RECONCILE, &rq.base);
    double dt = now() - t0;
    if (!r || r->body_case != MGATE__XFRMD_RESPONSE__BODY_RECONCILE) {
        if (r)
            mgate__xfrmd_response__free_unpacked(r, NULL);
        return 1;
    }
    size_t nsa = r->reconcile->n_deleted_sas, npol = r->reconcile->n_deleted_policies;
    size_t left = (r->reconcile->sas ? r->reconcile->sas->n_sas : 0) +
                  (r->reconcile->policies ? r->reconcile->policies->n_policies : 0);
    printf("mode=reconcile deleted_sas=%zu deleted_policies=%zu seconds=%.3f sa_per_s=%.0f "
           "ops_per_s=%.0f failed=%u left=%zu\n",
           nsa, npol, dt, dt > 0 ? nsa / dt : 0, dt > 0 ? (nsa + npol) / dt : 0,
           r->reconcile->failed, left);
    int rc = r->reconcile->failed || left ? 1 : 0;
    mgate__xfrmd_response__free_unpacked(r, NULL);
    return rc;
}

static int write_ipbatch(uint32_t n, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return 1;
    }
    for (uint32_t i = 0; i < n; i++) {
        uint8_t d[4], v[4], k[KEY_LEN];
        dev_addr(i, d);
        vip_addr(i, v);
        key_of(i, k);
        char hex[2 * KEY_LEN + 1];
        for (size_t j = 0; j < KEY_LEN; j++)
            snprintf(hex + 2 * j, 3, "%02x", k[j]);
        fprintf(f,
                "xfrm state add src 192.0.2.1 dst %u.%u.%u.%u proto esp spi 0x%08x reqid %u "
                "mode tunnel replay-window 32 aead rfc4106(gcm(aes)) 0x%s 128\n",
                d[0], d[1], d[2], d[3], SPI_BASE + i, REQID_BASE + i, hex);
        fprintf(f,
                "xfrm policy add src 203.0.113.0/24 dst %u.%u.%u.%u/32 dir out priority %u "
                "tmpl src 192.0.2.1 dst %u.%u.%u.%u proto esp reqid %u mode tunnel\n",
                v[0], v[1], v[2], v[3], PRIORITY, d[0], d[1], d[2], d[3], REQID_BASE + i);
    }
    return fclose(f) ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: see the comment at the top of tests/bench/xfrm_install.c\n");
        return 2;
    }
    const char *mode = argv[2];
    uint32_t n = argc > 3 ? (uint32_t)strtoul(argv[3], NULL, 0) : 0;
    if (strcmp(mode, "reconcile") != 0 && (n == 0 || n > MAX_N)) {
        fprintf(stderr, "xfrm_install: N must be 1..%u\n", MAX_N);
        return 2;
    }
    if (strcmp(mode, "ipbatch") == 0)
        return argc > 4 ? write_ipbatch(n, argv[4]) : 2;
    struct ipc_sync s;
    int rc = ipc_sync_connect(&s, argv[1], 64u << 20);
    if (rc) {
        fprintf(stderr, "xfrm_install: %s: %s\n", argv[1], strerror(-rc));
        return 1;
    }
    int res = 2;
    if (strcmp(mode, "batched") == 0) {
        uint32_t per = argc > 4 ? (uint32_t)strtoul(argv[4], NULL, 0) : 1000;
        res = per ? run_install(&s, "batched", n, per, false) : 2;
    } else if (strcmp(mode, "single") == 0) {
        res = run_install(&s, "single", n, 2, false);
    } else if (strcmp(mode, "policies") == 0) {
        uint32_t per = argc > 4 ? (uint32_t)strtoul(argv[4], NULL, 0) : 1000;
        res = per ? run_install(&s, "policies", n, per, true) : 2;
    } else if (strcmp(mode, "reconcile") == 0) {
        res = run_reconcile(&s);
    }
    ipc_sync_close(&s);
    return res;
}

/* xfrmd_req: a scriptable client of xfrmd's socket for tests and the demo
 * (mgatectl only reads; writing is iked's job).
 *
 *   xfrmd_req SOCK tunnel add|del --local IP --remote IP --local-net CIDR
 *             --remote-net CIDR --spi-in N --spi-out N --reqid N
 *             [--enc NAME] [--integ NAME] [--encap SPORT:DPORT] [--esn]
 *             [--replay N] [--soft-bytes N] [--hard-bytes N]
 *   xfrmd_req SOCK sa add|del --local IP --remote IP --spi N [--reqid N]
 *             [--enc NAME|NUMBER] [--integ NAME] [--enc-key-len N] [--integ-key-len N]
 *             [--sel-src CIDR] [--sel-dst CIDR] [--sel-proto N] [--sel-sport N]
 *             [--sel-dport N] [--encap ...] [--esn] [--replay N] [--soft-bytes N]
 *             [--hard-bytes N]
 *             one SA local -> remote in a batch of one (bad-input tests: a raw
 *             algorithm number, a key length, any selector)
 *   xfrmd_req SOCK allocspi --src IP --dst IP --reqid N --min N --max N [--count K]
 *   xfrmd_req SOCK reconcile [--dry-run]          (keeps nothing: deletes orphans)
 *   xfrmd_req SOCK ike-sockets
 *   xfrmd_req SOCK bad-batch --local IP --remote IP
 *   xfrmd_req SOCK move --local IP --remote IP --local-net CIDR --remote-net CIDR
 *             --spi-in N --spi-out N --reqid N --dst NEW_REMOTE [--encap LPORT:RPORT]
 *             moves the tunnel `tunnel add` made to the remote's new address
 *             (and encapsulation ports): one result per SA, exit 0 if both moved
 *   xfrmd_req SOCK wait-event TOPIC SECONDS [COUNT [SPI]]
 *             prints events until COUNT of them (default 1; only those about
 *             SA SPI if given) arrived; exit 1 if fewer did in SECONDS
 *
 * Keys are derived from the SPI so both ends of a test tunnel agree: this is
 * a test tool, never a way to key a real tunnel. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "envelope.h"
#include "ipc_sync.h"
#include "xfrmd.pb-c.h"

#define REQ_TIMEOUT 30000

struct addr {
    uint8_t b[16];
    size_t len;
    unsigned plen;
};

static int parse_addr(const char *s, struct addr *a)
{
    char buf[64];
    snprintf(buf, sizeof(buf), "%s", s);
    char *slash = strchr(buf, '/');
    if (slash)
        *slash = '\0';
    memset(a, 0, sizeof(*a));
    if (inet_pton(AF_INET, buf, a->b) == 1)
        a->len = 4;
    else if (inet_pton(AF_INET6, buf, a->b) == 1)
        a->len = 16;
    else
        return -1;
    a->plen = slash ? (unsigned)atoi(slash + 1) : (unsigned)a->len * 8;
    return 0;
}

static ProtobufCBinaryData bin(struct addr *a)
{
    return (ProtobufCBinaryData){a->len, a->b};
}

static Mgate__XfrmdResponse *call(struct ipc_sync *s, uint32_t field, ProtobufCMessage *body,
                                  int *fds, size_t *n_fds)
{
    Mgate__XfrmdRequest req;
    envelope_init_set(&mgate__xfrmd_request__descriptor, &req, field, body);
    Mgate__Frame *f = NULL;
    size_t dummy;
    int rc = fds ? ipc_sync_call_fds(s, &req.base, REQ_TIMEOUT, &f, fds, 16, n_fds)
                 : ipc_sync_call(s, &req.base, REQ_TIMEOUT, &f);
    (void)dummy;
    if (rc) {
        fprintf(stderr, "xfrmd_req: %s\n", strerror(-rc));
        return NULL;
    }
    if (f->error) {
        fprintf(stderr, "xfrmd_req: refused: %s\n", f->error->message);
        mgate__frame__free_unpacked(f, NULL);
        return NULL;
    }
    Mgate__XfrmdResponse *r = mgate__xfrmd_response__unpack(NULL, f->payload.len, f->payload.data);
    mgate__frame__free_unpacked(f, NULL);
    if (r && r->error && r->error->code) {
        fprintf(stderr, "xfrmd_req: error %d: %s\n", r->error->code, r->error->message);
        mgate__xfrmd_response__free_unpacked(r, NULL);
        return NULL;
    }
    return r;
}

static int print_batch(const Mgate__XfrmdResponse *r, const char *const *names)
{
    if (!r || r->body_case != MGATE__XFRMD_RESPONSE__BODY_BATCH)
        return 1;
    for (size_t i = 0; i < r->batch->n_results; i++) {
        const Mgate__XfrmOpResult *o = r->batch->results[i];
        printf("op %zu %s: %s%s%s\n", i, names ? names[i] : "",
               o->errnum ? strerror(o->errnum) : "ok", o->errnum ? ": " : "",
               o->errnum ? o->message : "");
    }
    printf("failed %u\n", r->batch->failed);
    return r->batch->failed ? 1 : 0;
}

struct tun {
    struct addr local, remote, lnet, rnet;
    uint32_t spi_in, spi_out, reqid;
    int enc, integ;
    bool encap, esn;
    uint32_t encap_sport, encap_dport, replay;
    uint64_t soft_bytes, hard_bytes;
    /* sa add: overrides and the SA's own selector */
    long enc_key_len, integ_key_len; /* -1: the algorithm's */
    bool has_sel;
    struct addr sel_src, sel_dst;
    uint32_t sel_proto, sel_sport, sel_dport;
};

static const struct {
    const char *name;
    int enc;
    size_t key;
} encs[] = {{"aes128gcm16", MGATE__XFRM_ENC_ALG__XFRM_ENC_AES_GCM16_128, 20},
            {"aes256gcm16", MGATE__XFRM_ENC_ALG__XFRM_ENC_AES_GCM16_256, 36},
            {"chacha20poly1305", MGATE__XFRM_ENC_ALG__XFRM_ENC_CHACHA20_POLY1305, 36},
            {"aes128", MGATE__XFRM_ENC_ALG__XFRM_ENC_AES_CBC_128, 16},
            {"aes256", MGATE__XFRM_ENC_ALG__XFRM_ENC_AES_CBC_256, 32}};
static const struct {
    const char *name;
    int integ;
    size_t key;
} integs[] = {{"none", 0, 0},
              {"sha256", MGATE__XFRM_INTEG_ALG__XFRM_INTEG_HMAC_SHA2_256_128, 32},
              {"sha384", MGATE__XFRM_INTEG_ALG__XFRM_INTEG_HMAC_SHA2_384_192, 48},
              {"sha512", MGATE__XFRM_INTEG_ALG__XFRM_INTEG_HMAC_SHA2_512_256, 64}};

static size_t enc_key_len(int enc)
{
    for (size_t i = 0; i < sizeof(encs) / sizeof(encs[0]); i++)
        if (encs[i].enc == enc)
            return encs[i].key;
    return 16;
}

static size_t integ_key_len(int integ)
{
    for (size_t i = 0; i < sizeof(integs) / sizeof(integs[0]); i++)
        if (integs[i].integ == integ)
            return integs[i].key;
    return 0;
}

static void test_key(uint8_t *k, size_t n, uint32_t spi, uint8_t salt)
{
    for (size_t i = 0; i < n; i++)
        k[i] = (uint8_t)((spi >> (8 * (i % 4))) ^ (i * 29) ^ salt);
}

struct sa_box {
    Mgate__XfrmSa sa;
    Mgate__XfrmLifetime lft;
    Mgate__XfrmSelector sel;
    uint8_t ek[64], ik[64];
};

static void fill_sa(struct sa_box *b, struct tun *t, bool out)
{
    mgate__xfrm_sa__init(&b->sa);
    mgate__xfrm_lifetime__init(&b->lft);
    b->sa.src = out ? bin(&t->local) : bin(&t->remote);
    b->sa.dst = out ? bin(&t->remote) : bin(&t->local);
    b->sa.spi = out ? t->spi_out : t->spi_in;
    b->sa.reqid = t->reqid;
    b->sa.enc = (Mgate__XfrmEncAlg)t->enc;
    b->sa.enc_key.len = t->enc_key_len >= 0 ? (size_t)t->enc_key_len : enc_key_len(t->enc);
    b->sa.enc_key.data = b->ek;
    test_key(b->ek, b->sa.enc_key.len, b->sa.spi, 0x5a);
    b->sa.integ = (Mgate__XfrmIntegAlg)t->integ;
    b->sa.integ_key.len =
        t->integ_key_len >= 0 ? (size_t)t->integ_key_len : integ_key_len(t->integ);
    b->sa.integ_key.data = b->ik;
    test_key(b->ik, b->sa.integ_key.len, b->sa.spi, 0xa5);
    b->sa.esn = t->esn;
    b->sa.replay_window = t->replay ? t->replay : 32;
    b->lft.soft_bytes = t->soft_bytes;
    b->lft.hard_bytes = t->hard_bytes;
    b->sa.lifetime = &b->lft;
    if (t->encap) {
        b->sa.encap = true;
        b->sa.encap_sport = out ? t->encap_sport : t->encap_dport;
        b->sa.encap_dport = out ? t->encap_dport : t->encap_sport;
    }
}

struct pol_box {
    Mgate__XfrmPolicy p;
    Mgate__XfrmSelector sel;
    Mgate__XfrmTmpl tmpl;
    Mgate__XfrmTmpl *tp[1];
};

static void fill_policy(struct pol_box *b, struct tun *t, Mgate__XfrmDir dir)
{
    bool out = dir == MGATE__XFRM_DIR__XFRM_DIR_OUT;
    mgate__xfrm_policy__init(&b->p);
    mgate__xfrm_selector__init(&b->sel);
    mgate__xfrm_tmpl__init(&b->tmpl);
    b->sel.src = out ? bin(&t->lnet) : bin(&t->rnet);
    b->sel.dst = out ? bin(&t->rnet) : bin(&t->lnet);
    b->sel.src_plen = out ? t->lnet.plen : t->rnet.plen;
    b->sel.dst_plen = out ? t->rnet.plen : t->lnet.plen;
    b->p.sel = &b->sel;
    b->p.dir = dir;
    b->tmpl.src = out ? bin(&t->local) : bin(&t->remote);
    b->tmpl.dst = out ? bin(&t->remote) : bin(&t->local);
    b->tmpl.reqid = t->reqid;
    b->tp[0] = &b->tmpl;
    b->p.tmpl = b->tp;
    b->p.n_tmpl = 1;
}

static int cmd_tunnel(struct ipc_sync *s, bool add, struct tun *t)
{
    struct sa_box sa[2];
    struct pol_box pol[3];
    Mgate__XfrmSaId sid[2];
    Mgate__XfrmPolicyId pid[3];
    Mgate__XfrmOp op[5];
    Mgate__XfrmOp *ops[5];
    static const char *const names[] = {"policy out", "policy in", "policy fwd", "sa out", "sa in"};
    Mgate__XfrmDir dirs[3] = {MGATE__XFRM_DIR__XFRM_DIR_OUT, MGATE__XFRM_DIR__XFRM_DIR_IN,
                              MGATE__XFRM_DIR__XFRM_DIR_FWD};
    for (int i = 0; i < 3; i++) {
        mgate__xfrm_op__init(&op[i]);
        fill_policy(&pol[i], t, dirs[i]);
        if (add) {
            op[i].op_case = MGATE__XFRM_OP__OP_POLICY_ADD;
            op[i].policy_add = &pol[i].p;
        } else {
            mgate__xfrm_policy_id__init(&pid[i]);
            pid[i].sel = &pol[i].sel;
            pid[i].dir = dirs[i];
            op[i].op_case = MGATE__XFRM_OP__OP_POLICY_DELETE;
            op[i].policy_delete = &pid[i];
        }
    }
    for (int i = 0; i < 2; i++) {
        mgate__xfrm_op__init(&op[3 + i]);
        fill_sa(&sa[i], t, i == 0);
        if (add) {
            op[3 + i].op_case = MGATE__XFRM_OP__OP_SA_ADD;
            op[3 + i].sa_add = &sa[i].sa;
        } else {
            mgate__xfrm_sa_id__init(&sid[i]);
            sid[i].dst = sa[i].sa.dst;
            sid[i].spi = sa[i].sa.spi;
            op[3 + i].op_case = MGATE__XFRM_OP__OP_SA_DELETE;
            op[3 + i].sa_delete = &sid[i];
        }
    }
    for (int i = 0; i < 5; i++)
        ops[i] = &op[i];
    Mgate__XfrmBatchRequest b = MGATE__XFRM_BATCH_REQUEST__INIT;
    b.ops = ops;
    b.n_ops = 5;
    Mgate__XfrmdResponse *r = call(s, MGATE__XFRMD_REQUEST__BODY_BATCH, &b.base, NULL, NULL);
    int rc = print_batch(r, names);
    if (r)
        mgate__xfrmd_response__free_unpacked(r, NULL);
    return r ? rc : 1;
}

/* One SA (local -> remote, SPI --spi-out) added or deleted in a batch of one:
 * the per-operation result is printed; exit 0 only if it succeeded. */
static int cmd_sa(struct ipc_sync *s, bool add, struct tun *t)
{
    struct sa_box sa;
    Mgate__XfrmSaId sid;
    Mgate__XfrmOp op = MGATE__XFRM_OP__INIT;
    fill_sa(&sa, t, true);
    if (t->has_sel) {
        mgate__xfrm_selector__init(&sa.sel);
        sa.sel.src = bin(&t->sel_src);
        sa.sel.dst = bin(&t->sel_dst);
        sa.sel.src_plen = t->sel_src.plen;
        sa.sel.dst_plen = t->sel_dst.plen;
        sa.sel.proto = t->sel_proto;
        sa.sel.sport = t->sel_sport;
        sa.sel.sport_mask = t->sel_sport ? 0xffff : 0;
        sa.sel.dport = t->sel_dport;
        sa.sel.dport_mask = t->sel_dport ? 0xffff : 0;
        sa.sa.sel = &sa.sel;
    }
    if (add) {
        op.op_case = MGATE__XFRM_OP__OP_SA_ADD;
        op.sa_add = &sa.sa;
    } else {
        mgate__xfrm_sa_id__init(&sid);
        sid.dst = sa.sa.dst;
        sid.spi = sa.sa.spi;
        op.op_case = MGATE__XFRM_OP__OP_SA_DELETE;
        op.sa_delete = &sid;
    }
    Mgate__XfrmOp *ops[1] = {&op};
    static const char *const names[] = {"sa"};
    Mgate__XfrmBatchRequest b = MGATE__XFRM_BATCH_REQUEST__INIT;
    b.ops = ops;
    b.n_ops = 1;
    Mgate__XfrmdResponse *r = call(s, MGATE__XFRMD_REQUEST__BODY_BATCH, &b.base, NULL, NULL);
    int rc = print_batch(r, names);
    if (r)
        mgate__xfrmd_response__free_unpacked(r, NULL);
    return r ? rc : 1;
}

/* A batch mixing good and bad operations: each must get its own verdict. */
/* The in SA with the in and fwd policies, the out SA with the out policy,
 * to new_remote (and --encap's ports, local:remote). */
static int cmd_move(struct ipc_sync *s, struct tun *t, struct addr *new_remote)
{
    struct pol_box pol[3];
    Mgate__XfrmPolicyId pid[3];
    Mgate__XfrmPolicyId *pin[2] = {&pid[1], &pid[2]}, *pout[1] = {&pid[0]};
    Mgate__XfrmDir dirs[3] = {MGATE__XFRM_DIR__XFRM_DIR_OUT, MGATE__XFRM_DIR__XFRM_DIR_IN,
                              MGATE__XFRM_DIR__XFRM_DIR_FWD};
    for (int i = 0; i < 3; i++) {
        fill_policy(&pol[i], t, dirs[i]);
        mgate__xfrm_policy_id__init(&pid[i]);
        pid[i].sel = &pol[i].sel;
        pid[i].dir = dirs[i];
    }
    Mgate__XfrmSaId id[2];
    Mgate__XfrmMove mv[2];
    Mgate__XfrmMove *mvp[2] = {&mv[0], &mv[1]};
    for (int i = 0; i < 2; i++) {
        bool in = i == 0;
        mgate__xfrm_sa_id__init(&id[i]);
        id[i].dst = in ? bin(&t->local) : bin(&t->remote);
        id[i].spi = in ? t->spi_in : t->spi_out;
        mgate__xfrm_move__init(&mv[i]);
        mv[i].sa = &id[i];
        mv[i].reqid = t->reqid;
        mv[i].new_src = in ? bin(new_remote) : bin(&t->local);
        mv[i].new_dst = in ? bin(&t->local) : bin(new_remote);
        mv[i].encap = t->encap;
        mv[i].encap_sport = in ? t->encap_dport : t->encap_sport;
        mv[i].encap_dport = in ? t->encap_sport : t->encap_dport;
        mv[i].policies = in ? pin : pout;
        mv[i].n_policies = in ? 2 : 1;
    }
    Mgate__XfrmMoveRequest rq = MGATE__XFRM_MOVE_REQUEST__INIT;
    rq.moves = mvp;
    rq.n_moves = 2;
    Mgate__XfrmdResponse *r = call(s, MGATE__XFRMD_REQUEST__BODY_MOVE, &rq.base, NULL, NULL);
    if (!r || r->body_case != MGATE__XFRMD_RESPONSE__BODY_MOVE) {
        if (r)
            mgate__xfrmd_response__free_unpacked(r, NULL);
        return 1;
    }
    static const char *const names[] = {"in", "out"};
    static const char *const hows[] = {"none", "updsa", "migrate"};
    for (size_t i = 0; i < r->move->n_results && i < 2; i++) {
        const Mgate__XfrmMoveResult *o = r->move->results[i];
        printf("move %zu %s: %s%s%s (%s)\n", i, names[i], o->errnum ? strerror(o->errnum) : "ok",
               o->errnum ? ": " : "", o->errnum ? o->message : "",
               (unsigned)o->how < 3 ? hows[o->how] : "?");
    }
    printf("failed %u\n", r->move->failed);
    int rc = r->move->failed ? 1 : 0;
    mgate__xfrmd_response__free_unpacked(r, NULL);
    return rc;
}

static int cmd_bad_batch(struct ipc_sync *s, struct tun *t)
{
    struct pol_box good1, good2;
    struct sa_box bad_alg, bad_key, bad_family;
    struct addr v6;
    parse_addr("2001:db8::1", &v6);
    t->lnet = t->local;
    t->rnet = t->remote;
    fill_policy(&good1, t, MGATE__XFRM_DIR__XFRM_DIR_OUT);
    fill_policy(&good2, t, MGATE__XFRM_DIR__XFRM_DIR_IN);
    t->spi_out = 0x4001;
    fill_sa(&bad_alg, t, true);
    bad_alg.sa.enc = (Mgate__XfrmEncAlg)99;
    t->spi_out = 0x4002;
    fill_sa(&bad_key, t, true);
    bad_key.sa.enc_key.len = 7;
    t->spi_out = 0x4003;
    fill_sa(&bad_family, t, true);
    bad_family.sa.dst = bin(&v6);
    Mgate__XfrmOp op[5];
    Mgate__XfrmOp *ops[5];
    for (int i = 0; i < 5; i++) {
        mgate__xfrm_op__init(&op[i]);
        ops[i] = &op[i];
    }
    op[0].op_case = MGATE__XFRM_OP__OP_POLICY_ADD;
    op[0].policy_add = &good1.p;
    op[1].op_case = MGATE__XFRM_OP__OP_SA_ADD;
    op[1].sa_add = &bad_alg.sa;
    op[2].op_case = MGATE__XFRM_OP__OP_SA_ADD;
    op[2].sa_add = &bad_key.sa;
    op[3].op_case = MGATE__XFRM_OP__OP_SA_ADD;
    op[3].sa_add = &bad_family.sa;
    op[4].op_case = MGATE__XFRM_OP__OP_POLICY_ADD;
    op[4].policy_add = &good2.p;
    static const char *const names[] = {"good policy", "unknown algorithm", "short key",
                                        "family mismatch", "good policy"};
    Mgate__XfrmBatchRequest b = MGATE__XFRM_BATCH_REQUEST__INIT;
    b.ops = ops;
    b.n_ops = 5;
    Mgate__XfrmdResponse *r = call(s, MGATE__XFRMD_REQUEST__BODY_BATCH, &b.base, NULL, NULL);
    print_batch(r, names);
    int ok = r && r->batch->n_results == 5 && !r->batch->results[0]->errnum &&
             r->batch->results[1]->errnum && r->batch->results[2]->errnum &&
             r->batch->results[3]->errnum && !r->batch->results[4]->errnum;
    if (r)
        mgate__xfrmd_response__free_unpacked(r, NULL);
    return ok ? 0 : 1;
}

static int cmd_allocspi(struct ipc_sync *s, struct addr *src, struct addr *dst, uint32_t reqid,
                        uint32_t min, uint32_t max, int count)
{
    int fails = 0;
    for (int i = 0; i < count; i++) {
        Mgate__XfrmSpiRequest sr = MGATE__XFRM_SPI_REQUEST__INIT;
        sr.src = bin(src);
        sr.dst = bin(dst);
        /* One reqid per request: the kernel shares one larval SA among
         * requests with the same (src, dst, reqid). */
        sr.reqid = reqid + (uint32_t)i;
        sr.min = min;
        sr.max = max;
        Mgate__XfrmOp op = MGATE__XFRM_OP__INIT;
        op.op_case = MGATE__XFRM_OP__OP_SA_ALLOCSPI;
        op.sa_allocspi = &sr;
        Mgate__XfrmOp *ops[1] = {&op};
        Mgate__XfrmBatchRequest b = MGATE__XFRM_BATCH_REQUEST__INIT;
        b.ops = ops;
        b.n_ops = 1;
        Mgate__XfrmdResponse *r = call(s, MGATE__XFRMD_REQUEST__BODY_BATCH, &b.base, NULL, NULL);
        if (!r || r->batch->n_results != 1 || r->batch->results[0]->errnum) {
            printf("allocspi failed: %s\n", r ? r->batch->results[0]->message : "no answer");
            fails++;
        } else {
            printf("spi 0x%08x\n", r->batch->results[0]->spi);
        }
        if (r)
            mgate__xfrmd_response__free_unpacked(r, NULL);
    }
    return fails ? 1 : 0;
}

static int cmd_reconcile(struct ipc_sync *s, bool dry)
{
    Mgate__XfrmReconcileRequest rq = MGATE__XFRM_RECONCILE_REQUEST__INIT;
    rq.dry_run = dry;
    Mgate__XfrmdResponse *r = call(s, MGATE__XFRMD_REQUEST__BODY_RECONCILE, &rq.base, NULL, NULL);
    if (!r || r->body_case != MGATE__XFRMD_RESPONSE__BODY_RECONCILE)
        return 1;
    printf("%s %zu SAs %zu policies; present %u SAs %u policies; failed %u\n",
           dry ? "would delete" : "deleted", r->reconcile->n_deleted_sas,
           r->reconcile->n_deleted_policies, r->reconcile->n_sas, r->reconcile->n_policies,
           r->reconcile->failed);
    mgate__xfrmd_response__free_unpacked(r, NULL);
    return 0;
}

static int cmd_ike_sockets(struct ipc_sync *s)
{
    Mgate__IkeSocketsRequest rq = MGATE__IKE_SOCKETS_REQUEST__INIT;
    int fds[16];
    size_t n = 0;
    Mgate__XfrmdResponse *r = call(s, MGATE__XFRMD_REQUEST__BODY_IKE_SOCKETS, &rq.base, fds, &n);
    if (!r || r->body_case != MGATE__XFRMD_RESPONSE__BODY_IKE_SOCKETS)
        return 1;
    int bad = n != r->ike_sockets->n_sockets;
    printf("%zu sockets announced, %zu descriptors received\n", r->ike_sockets->n_sockets, n);
    for (size_t i = 0; i < n; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        int type = 0;
        socklen_t tl = sizeof(type);
        char a[INET6_ADDRSTRLEN] = "?";
        unsigned port = 0;
        if (getsockname(fds[i], (struct sockaddr *)&ss, &sl) == 0) {
            if (ss.ss_family == AF_INET) {
                inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, a, sizeof(a));
                port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
            } else {
                inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, a, sizeof(a));
                port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
            }
        }
        getsockopt(fds[i], SOL_SOCKET, SO_TYPE, &type, &tl);
        printf("fd %d: %s %s port %u%s\n", fds[i], type == SOCK_DGRAM ? "udp" : "NOT-UDP", a, port,
               r->ike_sockets->sockets[i]->natt ? " natt" : "");
        if (type != SOCK_DGRAM || port != r->ike_sockets->sockets[i]->port)
            bad = 1;
        close(fds[i]);
    }
    mgate__xfrmd_response__free_unpacked(r, NULL);
    return bad;
}

static int cmd_wait_event(struct ipc_sync *s, const char *topic, int secs, int count, uint32_t spi)
{
    Mgate__SubscribeRequest sr = MGATE__SUBSCRIBE_REQUEST__INIT;
    char *t[1] = {(char *)topic};
    sr.topics = t;
    sr.n_topics = 1;
    Mgate__XfrmdResponse *r = call(s, MGATE__XFRMD_REQUEST__BODY_SUBSCRIBE, &sr.base, NULL, NULL);
    if (!r)
        return 1;
    mgate__xfrmd_response__free_unpacked(r, NULL);
    printf("subscribed to %s\n", topic);
    fflush(stdout);
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int seen = 0;
    while (seen < count) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        long left = secs * 1000L -
                    ((now.tv_sec - t0.tv_sec) * 1000L + (now.tv_nsec - t0.tv_nsec) / 1000000L);
        Mgate__Frame *f = NULL;
        if (left <= 0 || ipc_sync_next_event(s, (int)left, &f)) {
            printf("no event in %d s (%d of %d seen)\n", secs, seen, count);
            return 1;
        }
        Mgate__XfrmdEvent *ev = mgate__xfrmd_event__unpack(NULL, f->payload.len, f->payload.data);
        mgate__frame__free_unpacked(f, NULL);
        if (!ev)
            return 1;
        uint32_t about = 0;
        if (ev->body_case == MGATE__XFRMD_EVENT__BODY_EXPIRE) {
            about = ev->expire->sa ? ev->expire->sa->spi : 0;
            printf("expire spi 0x%08x reqid 0x%08x %s\n", about, ev->expire->reqid,
                   ev->expire->hard ? "hard" : "soft");
        } else if (ev->body_case == MGATE__XFRMD_EVENT__BODY_ACQUIRE) {
            printf("acquire reqid 0x%08x\n", ev->acquire->reqid);
        } else if (ev->body_case == MGATE__XFRMD_EVENT__BODY_MAPPING) {
            about = ev->mapping->sa ? ev->mapping->sa->spi : 0;
            printf("mapping spi 0x%08x new port %u\n", about, ev->mapping->new_port);
        } else {
            printf("event %d\n", ev->body_case);
        }
        fflush(stdout);
        if (!spi || about == spi)
            seen++;
        mgate__xfrmd_event__free_unpacked(ev, NULL);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: see the comment at the top of tests/xfrmd/xfrmd_req.c\n");
        return 2;
    }
    const char *sock = argv[1];
    const char *cmd = argv[2];
    struct tun t = {.enc = MGATE__XFRM_ENC_ALG__XFRM_ENC_AES_GCM16_128,
                    .reqid = 0x4d000001,
                    .enc_key_len = -1,
                    .integ_key_len = -1};
    struct addr src = {0}, dst = {0};
    uint32_t min = 0x100, max = 0xffffffff;
    int count = 1;
    bool add = true, dry = false;
    int argi = 3;
    if (strcmp(cmd, "tunnel") == 0 || strcmp(cmd, "sa") == 0) {
        if (argc < 4)
            return 2;
        add = strcmp(argv[3], "add") == 0;
        argi = 4;
    }
    static const struct option opts[] = {{"local", 1, 0, 'l'},
                                         {"remote", 1, 0, 'r'},
                                         {"local-net", 1, 0, 'L'},
                                         {"remote-net", 1, 0, 'R'},
                                         {"spi-in", 1, 0, 'i'},
                                         {"spi-out", 1, 0, 'o'},
                                         {"reqid", 1, 0, 'q'},
                                         {"enc", 1, 0, 'e'},
                                         {"integ", 1, 0, 'g'},
                                         {"encap", 1, 0, 'E'},
                                         {"esn", 0, 0, 'n'},
                                         {"replay", 1, 0, 'w'},
                                         {"soft-bytes", 1, 0, 's'},
                                         {"hard-bytes", 1, 0, 'h'},
                                         {"src", 1, 0, 'S'},
                                         {"dst", 1, 0, 'D'},
                                         {"min", 1, 0, 'm'},
                                         {"max", 1, 0, 'M'},
                                         {"count", 1, 0, 'c'},
                                         {"dry-run", 0, 0, 'd'},
                                         {"spi", 1, 0, 'o'},
                                         {"enc-key-len", 1, 0, 'K'},
                                         {"sel-src", 1, 0, 'a'},
                                         {"sel-dst", 1, 0, 'b'},
                                         {"sel-proto", 1, 0, 'p'},
                                         {"sel-sport", 1, 0, 'x'},
                                         {"sel-dport", 1, 0, 'y'},
                                         {"integ-key-len", 1, 0, 'I'},
                                         {0, 0, 0, 0}};
    optind = argi;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'l':
            bad = parse_addr(optarg, &t.local);
            break;
        case 'r':
            bad = parse_addr(optarg, &t.remote);
            break;
        case 'L':
            bad = parse_addr(optarg, &t.lnet);
            break;
        case 'R':
            bad = parse_addr(optarg, &t.rnet);
            break;
        case 'i':
            t.spi_in = (uint32_t)strtoul(optarg, NULL, 0);
            break;
        case 'o':
            t.spi_out = (uint32_t)strtoul(optarg, NULL, 0);
            break;
        case 'q':
            t.reqid = (uint32_t)strtoul(optarg, NULL, 0);
            break;
        case 'e':
            bad = 1;
            for (size_t i = 0; i < sizeof(encs) / sizeof(encs[0]); i++)
                if (strcmp(encs[i].name, optarg) == 0) {
                    t.enc = encs[i].enc;
                    bad = 0;
                }
            /* A raw enum number: what a confused client might send. */
            if (bad && optarg[0] >= '0' && optarg[0] <= '9') {
                t.enc = atoi(optarg);
                bad = 0;
            }
            break;
        case 'g':
            bad = 1;
            for (size_t i = 0; i < sizeof(integs) / sizeof(integs[0]); i++)
                if (strcmp(integs[i].name, optarg) == 0) {
                    t.integ = integs[i].integ;
                    bad = 0;
                }
            break;
        case 'E':
            t.encap = true;
            bad = sscanf(optarg, "%u:%u", &t.encap_sport, &t.encap_dport) != 2;
            break;
        case 'n':
            t.esn = true;
            break;
        case 'w':
            t.replay = (uint32_t)strtoul(optarg, NULL, 0);
            break;
        case 's':
            t.soft_bytes = strtoull(optarg, NULL, 0);
            break;
        case 'h':
            t.hard_bytes = strtoull(optarg, NULL, 0);
            break;
        case 'S':
            bad = parse_addr(optarg, &src);
            break;
        case 'D':
            bad = parse_addr(optarg, &dst);
            break;
        case 'm':
            min = (uint32_t)strtoul(optarg, NULL, 0);
            break;
        case 'M':
            max = (uint32_t)strtoul(optarg, NULL, 0);
            break;
        case 'c':
            count = atoi(optarg);
            break;
        case 'd':
            dry = true;
            break;
        case 'K':
            t.enc_key_len = atol(optarg);
            bad = t.enc_key_len < 0 || t.enc_key_len > 64;
            break;
        case 'I':
            t.integ_key_len = atol(optarg);
            bad = t.integ_key_len < 0 || t.integ_key_len > 64;
            break;
        case 'a':
            t.has_sel = true;
            bad = parse_addr(optarg, &t.sel_src);
            break;
        case 'b':
            t.has_sel = true;
            bad = parse_addr(optarg, &t.sel_dst);
            break;
        case 'p':
            t.has_sel = true;
            t.sel_proto = (uint32_t)strtoul(optarg, NULL, 0);
            break;
        case 'x':
            t.has_sel = true;
            t.sel_sport = (uint32_t)strtoul(optarg, NULL, 0);
            break;
        case 'y':
            t.has_sel = true;
            t.sel_dport = (uint32_t)strtoul(optarg, NULL, 0);
            break;
        default:
            return 2;
        }
        if (bad) {
            fprintf(stderr, "xfrmd_req: bad value '%s'\n", optarg);
            return 2;
        }
    }
    struct ipc_sync s;
    int rc = ipc_sync_connect(&s, sock, 64u << 20);
    if (rc) {
        fprintf(stderr, "xfrmd_req: %s: %s\n", sock, strerror(-rc));
        return 1;
    }
    int res = 2;
    if (strcmp(cmd, "tunnel") == 0)
        res = cmd_tunnel(&s, add, &t);
    else if (strcmp(cmd, "bad-batch") == 0)
        res = cmd_bad_batch(&s, &t);
    else if (strcmp(cmd, "allocspi") == 0)
        res = cmd_allocspi(&s, &src, &dst, t.reqid, min, max, count);
    else if (strcmp(cmd, "reconcile") == 0)
        res = cmd_reconcile(&s, dry);
    else if (strcmp(cmd, "ike-sockets") == 0)
        res = cmd_ike_sockets(&s);
    else if (strcmp(cmd, "sa") == 0)
        res = cmd_sa(&s, add, &t);
    else if (strcmp(cmd, "move") == 0)
        res = cmd_move(&s, &t, &dst);
    else if (strcmp(cmd, "wait-event") == 0 && argi + 1 < argc)
        res = cmd_wait_event(&s, argv[argi], atoi(argv[argi + 1]),
                             argi + 2 < argc ? atoi(argv[argi + 2]) : 1,
                             argi + 3 < argc ? (uint32_t)strtoul(argv[argi + 3], NULL, 0) : 0);
    ipc_sync_close(&s);
    return res;
}

/* The daemon's use of the checkpoint (iked_checkpoint.h): restore at
 * start, a row written whenever an established SA changes, removed when it
 * ends, the file deleted on a clean stop.
 *
 * Write-ahead: the row is written before the message that depends on it
 * leaves (a response, our liveness check). Killed between the two, the
 * restored SA holds the newer state and the peer retransmits: the cached
 * response (last_resp) answers it byte for byte, or our own request is
 * resent with its message ID. Killed before the write, the request was
 * never answered: the peer retransmits it and it is answered afresh.
 *
 * Message IDs after a restore (RFC 7296 §2.2):
 *  - the peer retransmits the request answered just before the kill
 *    (msgid == last_msgid): the saved response, byte for byte;
 *  - the peer's next request (msgid == next_msgid): processed normally with
 *    the saved SK_ei/SK_ai, answered with SK_er/SK_ar;
 *  - our outstanding liveness check: resent with the same message ID, its
 *    timer started afresh (the time iked was down is not the peer's fault).
 * GCM IVs: the saved counter moves 2^32 ahead, so no IV can repeat even if
 * a send slipped past the checkpoint. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "iked.h"
#include "iked_checkpoint.h"
#include "log.h"

#define PERSIST_IV_JUMP (1ull << 32)
#define PERSIST_NAME    "iked.checkpoint"

struct persist_restore {
    struct ike_sa **v;
    size_t n, cap;
    bool oom;
};

static void persist_collect(struct ike_sa *sa, void *arg)
{
    struct persist_restore *r = arg;
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 64;
        struct ike_sa **nv = realloc(r->v, cap * sizeof(*nv));
        if (!nv) {
            r->oom = true;
            ike_sa_free(sa);
            return;
        }
        r->v = nv;
        r->cap = cap;
    }
    r->v[r->n++] = sa;
}

static void persist_free_all(struct persist_restore *r)
{
    for (size_t i = 0; i < r->n; i++)
        ike_sa_free(r->v[i]);
    free(r->v);
    r->v = NULL;
    r->n = r->cap = 0;
}

/* Times are the loop's clock (CLOCK_MONOTONIC, shared by every process of
 * this boot, and /run does not outlive the boot). */
static void persist_rebase(struct ike_sa *sa, uint64_t now)
{
    uint64_t *ts[] = {&sa->created_ms, &sa->established_ms, &sa->last_rx_ms};
    for (size_t i = 0; i < sizeof(ts) / sizeof(ts[0]); i++)
        if (*ts[i] > now)
            *ts[i] = now;
    if (sa->child && sa->child->installed_ms > now)
        sa->child->installed_ms = now;
    if (sa->dpd_sent_ms && sa->last_rx_ms >= sa->dpd_sent_ms) {
        sa->dpd_sent_ms = 0; /* answered before the kill */
        sa->dpd_tries = 0;
    } else if (sa->dpd_sent_ms) {
        sa->dpd_sent_ms = now ? now : 1;
        sa->dpd_tries = 1; /* sent once: the next send is a retransmission */
    }
    atomic_fetch_add(&sa->keys.sk_r.next_iv, PERSIST_IV_JUMP);
    atomic_fetch_add(&sa->keys.sk_i.next_iv, PERSIST_IV_JUMP);
}

/* The restored SA's lease: the same identity must get the same address
 * back (nobody else can have taken it since every lease was released just
 * before). Anything else and the SA is not restored. */
static bool persist_lease(struct iked *ik, struct ike_sa *sa)
{
    if (!sa->vip.s_addr)
        return true;
    struct in_addr got;
    if (lease_pool_reacquire(ik->leases, sa->peer_subject, &got) < 0 ||
        got.s_addr != sa->vip.s_addr) {
        char want[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &sa->vip, want, sizeof(want));
        log_err("checkpoint: %s cannot get its virtual IP %s back; IKE SA not restored",
                sa->peer_subject, want);
        return false;
    }
    return true;
}

static void persist_adopt(struct iked *ik, struct persist_restore *r, uint64_t now)
{
    size_t kept = 0;
    for (size_t i = 0; i < r->n; i++) {
        struct ike_sa *sa = r->v[i];
        r->v[i] = NULL;
        char d[160];
        if (!persist_lease(ik, sa) || iked_sa_table_add(ik->sas, sa) < 0) {
            iked_checkpoint_del(ik->ckpt, sa->spi_r);
            ike_sa_free(sa);
            continue;
        }
        if (iked_sa_table_index_identity(ik->sas, sa) < 0)
            log_warn("checkpoint: %s not in the identity index (out of memory)",
                     ike_sa_describe(sa, d, sizeof(d)));
        persist_rebase(sa, now);
        /* The next reqid must not collide with a restored one (the low 24
         * bits are iked's counter, see iked_child.c). */
        if (sa->child && (sa->child->reqid & 0x00ffffffu) > ik->next_reqid)
            ik->next_reqid = sa->child->reqid & 0x00ffffffu;
        log_info("checkpoint: restored %s (next message ID %u, ours %u%s)",
                 ike_sa_describe(sa, d, sizeof(d)), sa->next_msgid, sa->our_next_msgid,
                 sa->child ? ", CHILD SA kept in the kernel" : "");
        kept++;
    }
    if (r->n)
        log_notice("checkpoint: %zu of %zu IKE SAs restored", kept, r->n);
}

static int persist_open(struct iked *ik)
{
    char why[256];
    if (iked_checkpoint_open(ik->ckpt_path, &ik->ckpt, why, sizeof(why)) == 0)
        return 0;
    /* Fail closed: no tunnel is kept that we cannot account for; the
     * reconcile with xfrmd then removes their kernel state. */
    log_err("checkpoint %s unusable (%s): starting with no IKE SA; their kernel state will be "
            "removed",
            ik->ckpt_path, why);
    int rc = iked_checkpoint_unlink(ik->ckpt_path);
    if (rc < 0)
        log_err("cannot remove %s: %s", ik->ckpt_path, strerror(-rc));
    if (iked_checkpoint_open(ik->ckpt_path, &ik->ckpt, why, sizeof(why)) == 0)
        return 1;
    log_err("cannot create the checkpoint %s (%s): tunnels will not survive a restart of iked",
            ik->ckpt_path, why);
    return -1;
}

int iked_persist_start(struct iked *ik, uint64_t now_ms)
{
    const char *conf = ik->conf.checkpoint;
    ik->ckpt_path = conf && *conf ? strdup(conf)
                                  : mgate_path_join(service_daemon(ik->s)->g.run_dir, PERSIST_NAME);
    if (!ik->ckpt_path) {
        log_err("out of memory");
        return -1;
    }
    /* No tunnel outlives iked without the checkpoint: every lease ends
     * here, and those of restored SAs are taken again below. */
    int released = lease_pool_release_all(ik->leases);
    if (released < 0)
        log_err("cannot release the leases of the previous run");
    int opened = persist_open(ik);
    if (opened != 0)
        return 0; /* started empty (or without a checkpoint): said above */
    struct persist_restore r = {0};
    char why[256];
    if (iked_checkpoint_load(ik->ckpt, persist_collect, &r, why, sizeof(why)) < 0 || r.oom) {
        log_err("checkpoint %s unusable (%s): starting with no IKE SA; their kernel state will "
                "be removed",
                ik->ckpt_path, r.oom ? "out of memory" : why);
        persist_free_all(&r);
        iked_checkpoint_close(ik->ckpt);
        ik->ckpt = NULL;
        iked_checkpoint_unlink(ik->ckpt_path);
        if (iked_checkpoint_open(ik->ckpt_path, &ik->ckpt, why, sizeof(why)) < 0)
            log_err("cannot create the checkpoint %s (%s): tunnels will not survive a restart "
                    "of iked",
                    ik->ckpt_path, why);
        return 0;
    }
    persist_adopt(ik, &r, now_ms);
    persist_free_all(&r);
    return 0;
}

void iked_persist_save(struct iked *ik, struct ike_sa *sa)
{
    if (!ik->ckpt || sa->busy || sa->state != IKE_SA_ESTABLISHED)
        return;
    int rc = iked_checkpoint_put(ik->ckpt, sa);
    if (rc < 0) {
        char d[160];
        /* Logged once per run of failures, not per exchange. */
        if (!ik->ckpt_failing)
            log_err("checkpoint: cannot save %s (%s): it would not survive a restart",
                    ike_sa_describe(sa, d, sizeof(d)), strerror(-rc));
        ik->ckpt_failing = true;
    } else if (ik->ckpt_failing) {
        log_notice("checkpoint: saving again");
        ik->ckpt_failing = false;
    }
}

void iked_persist_forget(struct iked *ik, struct ike_sa *sa)
{
    if (ik->ckpt && iked_checkpoint_del(ik->ckpt, sa->spi_r) < 0)
        log_err("checkpoint: cannot remove an ended IKE SA; a restart would restore it");
}

void iked_persist_stop(struct iked *ik)
{
    iked_checkpoint_close(ik->ckpt);
    ik->ckpt = NULL;
    if (ik->ckpt_path) {
        int rc = iked_checkpoint_unlink(ik->ckpt_path);
        if (rc < 0)
            log_err("cannot remove the checkpoint %s: %s", ik->ckpt_path, strerror(-rc));
    }
}

void iked_persist_free(struct iked *ik)
{
    iked_checkpoint_close(ik->ckpt);
    ik->ckpt = NULL;
    free(ik->ckpt_path);
    ik->ckpt_path = NULL;
}

/* authorization = policyd, the daemon's side, on the event loop:
 *   - IKE_AUTH authenticated (IKE_EXCH_AUTHORIZE): Authorize is sent to
 *     policyd without waiting; the SA stays busy (retransmissions of the
 *     request are dropped) until the answer, a bounded timeout or a
 *     refused send; then the exchange resumes on a worker;
 *   - every answer is cached by certificate fingerprint; when policyd is
 *     down or late the cached grant serves (ike_grant_cache.c), a device
 *     without one is refused (fail closed);
 *   - AccessChanged (topic "access") applies to live tunnels at once: DENY
 *     tears the tunnel down, changed selectors replace its kernel policies
 *     in one xfrmd batch. A tunnel busy at that moment gets it on the next
 *     200 ms tick. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ike_grant.h"
#include "iked.h"
#include "log.h"
#include "policyd.pb-c.h"

#define AUTHZ_TICK_MS     200
#define AUTHZ_PRUNE_TICKS 300 /* expired cache entries go every minute */

struct authz_pending {
    struct authz_pending *next;
    struct iked_authz_ctx *ctx;
    uint64_t id;
    uint64_t spi_r;
    uv_timer_t timer;
};

/* A change for a tunnel that was busy when it came. */
struct authz_deferred {
    uint8_t fpr[32];
    struct ike_grant grant;
};

struct iked_authz_ctx {
    struct iked *ik;
    struct ike_grant_cache *cache;
    struct authz_pending *pending;
    uint64_t next_id;
    uv_timer_t tick;
    unsigned ticks;
    struct authz_deferred *deferred;
    size_t n_deferred;
    uint64_t asked, answered, timeouts, cached_used, refused_no_cache, changes;
};

static uint64_t authz_now(const struct iked *ik)
{
    return uv_now(service_daemon(ik->s)->loop);
}

static void authz_fpr_hex(const uint8_t fpr[32], char out[65])
{
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", fpr[i]);
}

static int authz_fpr_parse(const char *s, uint8_t fpr[32])
{
    if (!s || strlen(s) != 64)
        return -1;
    for (int i = 0; i < 32; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1)
            return -1;
        fpr[i] = (uint8_t)v;
    }
    return 0;
}

/* AccessGrant to plain C. Selectors or DNS servers that make no sense are
 * left out with one log line each (the grant only gets narrower). */
static void authz_grant_decode(const Mgate__AccessGrant *in, const char *who, struct ike_grant *g)
{
    memset(g, 0, sizeof(*g));
    switch (in->decision) {
    case MGATE__ACCESS_DECISION__ACCESS_ALLOW:
        g->decision = IKE_GRANT_ALLOW;
        break;
    case MGATE__ACCESS_DECISION__ACCESS_QUARANTINE:
        g->decision = IKE_GRANT_QUARANTINE;
        break;
    default:
        g->decision = IKE_GRANT_DENY;
        break;
    }
    snprintf(g->reason, sizeof(g->reason), "%s",
             in->reason && *in->reason ? in->reason
             : in->decision == MGATE__ACCESS_DECISION__ACCESS_UNSPECIFIED
                 ? "policyd gave no decision"
                 : "");
    for (char *p = g->reason; *p; p++)
        if ((unsigned char)*p < 0x20)
            *p = ' '; /* one log line */
    g->device_id = in->device_id;
    g->generation = in->generation;
    g->full_tunnel = in->full_tunnel;
    g->cache_seconds = in->cache_seconds;
    if (g->decision == IKE_GRANT_DENY)
        return;
    for (size_t i = 0; i < in->n_selectors; i++) {
        const Mgate__AccessSelector *s = in->selectors[i];
        struct ike_grant_sel sel;
        const char *why = NULL;
        memset(&sel, 0, sizeof(sel));
        if (ike_grant_sel_parse_subnet(s->subnet, &sel, &why) != 0) {
        } else if (s->protocol > 255) {
            why = "protocol above 255";
        } else if (s->port > 65535) {
            why = "port above 65535";
        } else if (s->port && s->protocol != IPPROTO_TCP && s->protocol != IPPROTO_UDP &&
                   s->protocol != IPPROTO_SCTP) {
            why = "a port without TCP, UDP or SCTP";
        } else if (g->n_sel >= IKE_GRANT_MAX_SEL) {
            why = "more selectors than iked keeps";
        }
        if (why) {
            log_warn("policyd's grant for %s: selector '%s' proto %u port %u left out: %s", who,
                     s->subnet ? s->subnet : "", s->protocol, s->port, why);
            continue;
        }
        sel.proto = (uint8_t)s->protocol;
        sel.port = (uint16_t)s->port;
        g->sel[g->n_sel++] = sel;
    }
    for (size_t i = 0; i < in->n_dns; i++) {
        struct in_addr a;
        if (g->n_dns < IKED_MAX_DNS && inet_pton(AF_INET, in->dns[i], &a) == 1)
            g->dns[g->n_dns++] = a;
        else
            log_info("policyd's grant for %s: DNS server '%s' left out (IPv4 only, at most %d)",
                     who, in->dns[i], IKED_MAX_DNS);
    }
}

static void authz_sels_text(const struct ike_child_ts *ts, size_t n, char *buf, size_t len)
{
    size_t off = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && off + 1 < len; i++) {
        char t[96];
        ike_grant_ts_format(ts[i].family, ts[i].addr, ts[i].plen, ts[i].proto, ts[i].port, t,
                            sizeof(t));
        int w = snprintf(buf + off, len - off, "%s%s", i ? ", " : "", t);
        if (w < 0)
            break;
        off += (size_t)w;
    }
    if (!n)
        snprintf(buf, len, "none");
}

/* ---- asking at IKE_AUTH ---------------------------------------------- */

static void authz_pending_closed(uv_handle_t *h)
{
    free(h->data);
}

static void authz_pending_end(struct authz_pending *p)
{
    for (struct authz_pending **pp = &p->ctx->pending; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    uv_timer_stop(&p->timer);
    uv_close((uv_handle_t *)&p->timer, authz_pending_closed);
}

/* The decision is in sa->authz: the exchange goes on (on a worker). */
static void authz_resume(struct iked *ik, struct ike_sa *sa)
{
    sa->busy = false;
    if (sa->destroy_pending) {
        iked_sa_destroy(ik, sa, sa->destroy_notify, "terminated");
        return;
    }
    if (ik->stopping)
        return;
    if (iked_dispatch_resume(ik, sa) < 0)
        iked_sa_destroy(ik, sa, false, "cannot resume IKE_AUTH (out of memory)");
}

/* policyd gave no usable answer: the cached grant, or none (fail closed). */
static void authz_from_cache(struct iked_authz_ctx *ctx, struct ike_sa *sa, const char *problem,
                             const char *why_none)
{
    struct iked *ik = ctx->ik;
    uint64_t age = 0;
    const struct ike_grant *g = ike_grant_cache_get(ctx->cache, sa->peer_fpr, authz_now(ik), &age);
    char d[320];
    if (g) {
        ctx->cached_used++;
        sa->authz->grant = *g;
        sa->authz->decided = true;
        sa->authz->from_cache = true;
        log_notice("%s: %s; its cached grant (%s, %llu s old) is used",
                   ike_sa_describe(sa, d, sizeof(d)), problem, ike_grant_decision_name(g->decision),
                   (unsigned long long)age);
    } else {
        ctx->refused_no_cache++;
        sa->authz->decided = false;
        sa->authz->why_none = why_none;
        log_warn("%s: %s and no cached grant for its certificate: refused (fail closed)",
                 ike_sa_describe(sa, d, sizeof(d)), problem);
    }
    authz_resume(ik, sa);
}

static struct authz_pending *authz_pending_find(struct iked_authz_ctx *ctx, uint64_t id)
{
    for (struct authz_pending *p = ctx->pending; p; p = p->next)
        if (p->id == id)
            return p;
    return NULL;
}

static void authz_on_timeout(uv_timer_t *t)
{
    struct authz_pending *p = t->data;
    struct iked_authz_ctx *ctx = p->ctx;
    struct ike_sa *sa = iked_sa_table_by_spi_r(ctx->ik->sas, p->spi_r);
    authz_pending_end(p);
    ctx->timeouts++;
    if (sa && sa->authz) {
        char problem[80];
        snprintf(problem, sizeof(problem), "policyd did not answer within %u ms",
                 ctx->ik->set.authz_timeout_ms);
        authz_from_cache(ctx, sa, problem,
                         "policyd did not answer in time and no cached grant for this certificate");
    }
}

struct authz_call {
    struct iked_authz_ctx *ctx;
    uint64_t id;
};

static void authz_on_answer(struct upstream *up, const ProtobufCMessage *resp,
                            const Mgate__Error *err, void *ud)
{
    struct authz_call *call = ud;
    struct iked_authz_ctx *ctx = call->ctx;
    struct authz_pending *p = authz_pending_find(ctx, call->id);
    (void)up;
    free(call);
    if (!p)
        return; /* timed out or stopping: already decided */
    struct ike_sa *sa = iked_sa_table_by_spi_r(ctx->ik->sas, p->spi_r);
    authz_pending_end(p);
    if (!sa || !sa->authz)
        return;
    const Mgate__PolicydResponse *r = (const Mgate__PolicydResponse *)resp;
    if (err) {
        char problem[200];
        snprintf(problem, sizeof(problem), "policyd failed to authorize: %s",
                 err->message ? err->message : "error");
        authz_from_cache(ctx, sa, problem,
                         "policyd failed to answer and no cached grant for this certificate");
        return;
    }
    if (r->body_case != MGATE__POLICYD_RESPONSE__BODY_AUTHORIZE || !r->authorize->grant) {
        authz_from_cache(ctx, sa, "policyd's answer carried no grant",
                         "policyd's answer carried no grant and none is cached");
        return;
    }
    ctx->answered++;
    authz_grant_decode(r->authorize->grant, sa->peer_subject, &sa->authz->grant);
    sa->authz->decided = true;
    sa->authz->from_cache = false;
    if (ike_grant_cache_put(ctx->cache, sa->peer_fpr, &sa->authz->grant, authz_now(ctx->ik)) < 0)
        log_err("out of memory caching the grant of %s", sa->peer_subject);
    authz_resume(ctx->ik, sa);
}

void iked_authz_ask(struct iked *ik, struct ike_sa *sa)
{
    struct iked_authz_ctx *ctx = ik->authz;
    struct authz_pending *p = calloc(1, sizeof(*p));
    struct authz_call *call = malloc(sizeof(*call));
    if (!ctx || !p || !call || !sa->authz) {
        free(p);
        free(call);
        log_err("out of memory asking policyd about %s", sa->peer_subject);
        sa->busy = false;
        iked_sa_destroy(ik, sa, false, "out of memory");
        return;
    }
    p->ctx = ctx;
    p->id = ++ctx->next_id;
    p->spi_r = sa->spi_r;
    uv_timer_init(service_daemon(ik->s)->loop, &p->timer);
    p->timer.data = p;
    p->next = ctx->pending;
    ctx->pending = p;
    ctx->asked++;

    char fpr[65], peer[INET6_ADDRSTRLEN] = "";
    authz_fpr_hex(sa->peer_fpr, fpr);
    if (sa->remote.ss_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)&sa->remote)->sin_addr, peer,
                  sizeof(peer));
    else if (sa->remote.ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)&sa->remote)->sin6_addr, peer,
                  sizeof(peer));
    Mgate__AuthorizeRequest rq = MGATE__AUTHORIZE_REQUEST__INIT;
    rq.subject = sa->peer_subject;
    rq.serial = sa->peer_serial;
    rq.fingerprint = fpr;
    rq.peer_address = peer;
    call->ctx = ctx;
    call->id = p->id;
    struct upstream *up = service_upstream(ik->s, "policyd");
    int rc = -ENOTCONN;
    if (up && upstream_connected(up))
        rc = upstream_request(up, MGATE__POLICYD_REQUEST__BODY_AUTHORIZE, &rq.base, authz_on_answer,
                              call);
    if (rc < 0) {
        free(call);
        authz_pending_end(p);
        authz_from_cache(ctx, sa, "policyd is not connected",
                         "policyd is not connected and no cached grant for this certificate");
        return;
    }
    uv_timer_start(&p->timer, authz_on_timeout, ik->set.authz_timeout_ms, 0);
}

/* ---- AccessChanged ------------------------------------------------------ */

struct authz_apply {
    struct iked_authz_ctx *ctx;
    const uint8_t *fpr;
    const struct ike_grant *g;
    bool busy; /* a matching tunnel could not take it now */
};

static bool authz_same_ts(const struct child_sa *c, const struct ike_child_ts *ts, size_t n)
{
    if (c->n_ts_local != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        bool found = false;
        for (size_t k = 0; k < n && !found; k++)
            found = memcmp(&c->ts_local[k], &ts[i], sizeof(ts[i])) == 0;
        if (!found)
            return false;
    }
    return true;
}

static void authz_apply_one(struct ike_sa *sa, void *arg)
{
    struct authz_apply *a = arg;
    struct iked *ik = a->ctx->ik;
    if (!sa->peer_subject || memcmp(sa->peer_fpr, a->fpr, 32) != 0)
        return;
    if (sa->busy || sa->state != IKE_SA_ESTABLISHED) {
        /* In an exchange, installing, or still in IKE_AUTH (whose answer
         * from policyd may predate this change): retried on the next tick,
         * where the generation check drops it if the SA got a newer grant. */
        a->busy |= sa->state != IKE_SA_DELETING;
        return;
    }
    char d[320];
    ike_sa_describe(sa, d, sizeof(d));
    if (!sa->authz) {
        log_info("%s: access changed, but the tunnel predates authorization by policyd", d);
        return;
    }
    const struct ike_grant *g = a->g;
    if (g->generation && sa->authz->grant.generation &&
        g->generation < sa->authz->grant.generation) {
        log_info("%s: access change of generation %llu is older than the grant in force (%llu): "
                 "ignored",
                 d, (unsigned long long)g->generation,
                 (unsigned long long)sa->authz->grant.generation);
        return;
    }
    a->ctx->changes++;
    if (g->decision == IKE_GRANT_DENY) {
        log_notice("%s: access withdrawn by policyd: %s", d,
                   g->reason[0] ? g->reason : "no reason given");
        iked_sa_destroy(ik, sa, true, "access denied by policyd");
        return;
    }
    struct ike_child_ts ts[IKE_CHILD_MAX_TS];
    size_t n = 0;
    if (sa->child && sa->child->installed) {
        bool truncated = false;
        n = ike_ts_narrow_grant(g, AF_INET, sa->authz->tsr, sa->authz->n_tsr, ts, IKE_CHILD_MAX_TS,
                                &truncated);
        if (n == 0) {
            log_notice("%s: access changed (%s): nothing granted is left in what the device "
                       "proposed",
                       d, ike_grant_decision_name(g->decision));
            iked_sa_destroy(ik, sa, true, "access narrowed to nothing by policyd");
            return;
        }
    }
    enum ike_grant_decision was = sa->authz->grant.decision;
    sa->authz->grant = *g;
    sa->authz->from_cache = false;
    if (!sa->child || !sa->child->installed || authz_same_ts(sa->child, ts, n)) {
        log_notice("%s: access now %s (was %s), selectors unchanged", d,
                   ike_grant_decision_name(g->decision), ike_grant_decision_name(was));
        iked_persist_save(ik, sa);
        return;
    }
    char sels[512];
    authz_sels_text(ts, n, sels, sizeof(sels));
    log_notice("%s: access now %s (was %s): kernel policies replaced by %s", d,
               ike_grant_decision_name(g->decision), ike_grant_decision_name(was), sels);
    if (iked_child_retarget(ik, sa, ts, n) < 0) {
        iked_sa_destroy(ik, sa, true, "access changed but the kernel policies could not be");
        return;
    }
    iked_persist_save(ik, sa); /* the grant and selectors a restart must keep */
}

/* Returns true when a matching tunnel was busy (try again later). */
static bool authz_apply(struct iked_authz_ctx *ctx, const uint8_t fpr[32],
                        const struct ike_grant *g)
{
    struct authz_apply a = {.ctx = ctx, .fpr = fpr, .g = g};
    iked_sa_table_each(ctx->ik->sas, authz_apply_one, &a);
    return a.busy;
}

static void authz_defer(struct iked_authz_ctx *ctx, const uint8_t fpr[32],
                        const struct ike_grant *g)
{
    for (size_t i = 0; i < ctx->n_deferred; i++)
        if (memcmp(ctx->deferred[i].fpr, fpr, 32) == 0) {
            ctx->deferred[i].grant = *g; /* the newest change wins */
            return;
        }
    struct authz_deferred *nd =
        realloc(ctx->deferred, (ctx->n_deferred + 1) * sizeof(*ctx->deferred));
    if (!nd) {
        log_err("out of memory deferring an access change; it applies at the next reconnect");
        return;
    }
    ctx->deferred = nd;
    memcpy(nd[ctx->n_deferred].fpr, fpr, 32);
    nd[ctx->n_deferred].grant = *g;
    ctx->n_deferred++;
}

static void authz_on_event(struct upstream *up, const ProtobufCMessage *ev, uint32_t ev_case,
                           void *ud)
{
    struct iked *ik = ud;
    struct iked_authz_ctx *ctx = ik->authz;
    (void)up;
    if (!ctx || ev_case != MGATE__POLICYD_EVENT__BODY_ACCESS_CHANGED)
        return;
    const Mgate__AccessChanged *ac = ((const Mgate__PolicydEvent *)ev)->access_changed;
    uint8_t fpr[32];
    if (!ac || !ac->grant || authz_fpr_parse(ac->fingerprint, fpr) != 0) {
        log_warn("policyd sent an AccessChanged without a grant or a valid SHA-256 fingerprint "
                 "('%s'): ignored",
                 ac && ac->fingerprint ? ac->fingerprint : "");
        return;
    }
    char who[80];
    snprintf(who, sizeof(who), "fingerprint %.16s…", ac->fingerprint);
    struct ike_grant g;
    authz_grant_decode(ac->grant, who, &g);
    if (ike_grant_cache_put(ctx->cache, fpr, &g, authz_now(ik)) < 0)
        log_err("out of memory caching a changed grant");
    log_info("policyd: access of %s changed to %s (generation %llu)", who,
             ike_grant_decision_name(g.decision), (unsigned long long)g.generation);
    if (authz_apply(ctx, fpr, &g))
        authz_defer(ctx, fpr, &g);
}

void iked_authz_on_policyd_event(struct upstream *up, const ProtobufCMessage *ev, uint32_t ev_case,
                                 void *ud)
{
    struct iked *ik = ud;
    if (ik->set.authz == IKED_AUTHZ_POLICYD && ik->env.set)
        authz_on_event(up, ev, ev_case, ud);
}

static void authz_on_tick(uv_timer_t *t)
{
    struct iked_authz_ctx *ctx = t->data;
    size_t keep = 0;
    for (size_t i = 0; i < ctx->n_deferred; i++) {
        struct authz_deferred *d = &ctx->deferred[i];
        if (authz_apply(ctx, d->fpr, &d->grant))
            ctx->deferred[keep++] = *d;
    }
    ctx->n_deferred = keep;
    if (++ctx->ticks % AUTHZ_PRUNE_TICKS == 0)
        ike_grant_cache_prune(ctx->cache, authz_now(ctx->ik));
}

/* ---- life ------------------------------------------------------------------ */

int iked_authz_start(struct iked *ik)
{
    if (ik->set.authz != IKED_AUTHZ_POLICYD)
        return 0;
    struct iked_authz_ctx *ctx = calloc(1, sizeof(*ctx));
    if (!ctx || !(ctx->cache = ike_grant_cache_new(ik->set.authz_cache_max_s))) {
        free(ctx);
        log_err("out of memory starting authorization");
        return -1;
    }
    ctx->ik = ik;
    uv_timer_init(service_daemon(ik->s)->loop, &ctx->tick);
    ctx->tick.data = ctx;
    uv_timer_start(&ctx->tick, authz_on_tick, AUTHZ_TICK_MS, AUTHZ_TICK_MS);
    ik->authz = ctx;
    return 0;
}

void iked_authz_stop(struct iked *ik)
{
    struct iked_authz_ctx *ctx = ik->authz;
    if (!ctx)
        return;
    while (ctx->pending) {
        /* Their IKE_AUTH will not be answered: the SAs go now (a DELETE
         * makes no sense for an SA the device does not have yet). */
        struct ike_sa *sa = iked_sa_table_by_spi_r(ik->sas, ctx->pending->spi_r);
        authz_pending_end(ctx->pending);
        if (sa) {
            sa->busy = false;
            iked_sa_destroy(ik, sa, false, "iked stopping");
        }
    }
    uv_timer_stop(&ctx->tick);
    uv_close((uv_handle_t *)&ctx->tick, NULL);
}

void iked_authz_free(struct iked *ik)
{
    struct iked_authz_ctx *ctx = ik->authz;
    if (!ctx)
        return;
    ike_grant_cache_free(ctx->cache);
    free(ctx->deferred);
    free(ctx);
    ik->authz = NULL;
}

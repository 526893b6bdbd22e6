/* Authorization for the gateway (see authorize.h and proto/policyd.proto). */
#include "authorize.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "seen.h"

void access_grant_free(struct access_grant *g)
{
    free(g->sel);
    free(g->selp);
    strv_free(&g->strings);
    memset(g, 0, sizeof(*g));
}

/* fmt has one %s, for a. */
static void access_deny(struct access_grant *out, const char *fmt, const char *a)
{
    snprintf(out->reason, sizeof(out->reason), fmt, a);
    out->g.decision = MGATE__ACCESS_DECISION__ACCESS_DENY;
}

static int access_sel_add(struct access_grant *out, const char *subnet, uint32_t proto,
                          uint32_t port)
{
    if (out->g.n_selectors >= POL_MAX_SELECTORS)
        return -E2BIG;
    if (strv_add(&out->strings, subnet) < 0)
        return -ENOMEM;
    Mgate__AccessSelector *s = &out->sel[out->g.n_selectors];
    mgate__access_selector__init(s);
    s->subnet = out->strings.v[out->strings.n - 1];
    s->protocol = proto;
    s->port = port;
    out->selp[out->g.n_selectors++] = s;
    return 0;
}

/* Words of a canonical list value (or config list) into the grant's dns. */
static int access_dns(struct access_grant *out, char *const *v, size_t n)
{
    size_t first = out->strings.n;
    for (size_t i = 0; i < n; i++)
        if (strv_add(&out->strings, v[i]) < 0)
            return -ENOMEM;
    out->g.dns = out->strings.v + first;
    out->g.n_dns = n;
    return 0;
}

/* Splits a canonical list ("a b c") into a strv. */
static int access_split(const char *canon, struct strv *out)
{
    char *copy = strdup(canon ? canon : ""), *save = NULL;
    if (!copy)
        return -ENOMEM;
    int rc = 0;
    for (char *w = strtok_r(copy, " ", &save); w && rc == 0; w = strtok_r(NULL, " ", &save))
        rc = strv_add(out, w);
    free(copy);
    return rc;
}

/* The grant's reason: prefix and the compliance reasons on one line. */
static void access_reasons(struct access_grant *out, const char *prefix, const char *reasons)
{
    size_t o = (size_t)snprintf(out->reason, sizeof(out->reason), "%s", prefix);
    for (const char *r = reasons; *r && o + 3 < sizeof(out->reason); r++) {
        if (*r == '\n') {
            out->reason[o++] = ';';
            out->reason[o++] = ' ';
        } else {
            out->reason[o++] = *r;
        }
    }
    out->reason[o < sizeof(out->reason) ? o : sizeof(out->reason) - 1] = '\0';
}

static int access_quarantine(struct policyd *p, const struct reg_device *d,
                             struct access_grant *out)
{
    out->g.decision = MGATE__ACCESS_DECISION__ACCESS_QUARANTINE;
    access_reasons(out, "non-compliant, quarantined: ", d->compliance_reasons);
    for (size_t i = 0; i < p->conf.quarantine_subnets.n; i++) {
        char *canon = NULL, why[POL_ERR];
        if (pol_value_parse(POL_VPN_SUBNETS, p->conf.quarantine_subnets.v[i], &canon, why,
                            sizeof(why)) < 0)
            return -EINVAL; /* checked at start */
        int rc = access_sel_add(out, canon, 0, 0);
        free(canon);
        if (rc < 0)
            return rc;
    }
    return access_dns(out, p->conf.quarantine_dns.v, p->conf.quarantine_dns.n);
}

/* ALLOW from the effective policy: full tunnel carries everything; a split
 * tunnel carries vpn.subnets x vpn.ports, a port range as one selector per
 * port (the kernel takes one port per selector). */
static int access_allow(struct access_grant *out, const struct pol_effective *eff)
{
    const char *tunnel = eff->value[POL_VPN_TUNNEL];
    bool full = tunnel && strcmp(tunnel, "full") == 0;
    int rc = 0;
    if (full) {
        rc = access_sel_add(out, "0.0.0.0/0", 0, 0);
    } else if (!eff->value[POL_VPN_SUBNETS]) {
        access_deny(out, "%s",
                    "the effective policy gives no VPN access (vpn.subnets not "
                    "configured)");
        return 0;
    } else {
        struct strv subnets = {0};
        struct pol_port ports[32] = {{0, 0, 0}};
        int n_ports = 1;
        if (eff->value[POL_VPN_PORTS])
            n_ports = pol_ports_parse(eff->value[POL_VPN_PORTS], ports, 32);
        rc = n_ports < 0 ? -EINVAL : access_split(eff->value[POL_VPN_SUBNETS], &subnets);
        for (size_t s = 0; rc == 0 && s < subnets.n; s++)
            for (int i = 0; rc == 0 && i < n_ports; i++)
                for (uint32_t port = ports[i].lo; rc == 0 && port <= ports[i].hi; port++)
                    rc = access_sel_add(out, subnets.v[s], ports[i].proto, port);
        strv_free(&subnets);
        if (rc == -E2BIG) {
            access_deny(out, "%s", "the effective policy expands to more than 256 selectors");
            out->g.n_selectors = 0;
            return 0;
        }
    }
    if (rc < 0)
        return rc;
    out->g.decision = MGATE__ACCESS_DECISION__ACCESS_ALLOW;
    out->g.full_tunnel = full;
    snprintf(out->reason, sizeof(out->reason), "allowed by policy '%s' (group %s)",
             full ? eff->policy[POL_VPN_TUNNEL] : eff->policy[POL_VPN_SUBNETS],
             full ? eff->group[POL_VPN_TUNNEL] : eff->group[POL_VPN_SUBNETS]);
    if (eff->value[POL_VPN_DNS]) {
        struct strv dns = {0};
        rc = access_split(eff->value[POL_VPN_DNS], &dns);
        if (rc == 0)
            rc = access_dns(out, dns.v, dns.n);
        strv_free(&dns);
    }
    return rc;
}

int access_grant_device(struct policyd *p, const struct reg_device *d, struct access_grant *out)
{
    memset(out, 0, sizeof(*out));
    mgate__access_grant__init(&out->g);
    out->g.reason = out->reason;
    out->g.device_id = (uint64_t)d->id;
    out->g.generation = (uint64_t)d->generation;
    out->g.cache_seconds = (uint32_t)(p->conf.grant_cache / 1000);
    out->sel = calloc(POL_MAX_SELECTORS, sizeof(*out->sel));
    out->selp = calloc(POL_MAX_SELECTORS, sizeof(*out->selp));
    if (!out->sel || !out->selp)
        return -ENOMEM;
    out->g.selectors = out->selp;
    int revoked = d->cert_serial ? reg_serial_revoked(p->db, d->cert_serial) : 0;
    if (revoked < 0)
        return -EIO;
    if (strcmp(d->state, "enrolled") != 0) {
        access_deny(out, "the device is %s", d->state);
        return 0;
    }
    if (!d->cert_serial) {
        access_deny(out, "%s", "the device has no certificate");
        return 0;
    }
    if (revoked) {
        access_deny(out, "%s", "the certificate is revoked");
        return 0;
    }
    if (strcmp(d->compliance, "non-compliant") == 0) {
        if (strcmp(p->conf.noncompliant, "quarantine") == 0)
            return access_quarantine(p, d, out);
        access_reasons(out, "non-compliant: ", d->compliance_reasons);
        out->g.decision = MGATE__ACCESS_DECISION__ACCESS_DENY;
        return 0;
    }
    struct pdb_effective e;
    int rc = pdb_effective(p->db, d->id, &e);
    if (rc < 0)
        return rc;
    rc = access_allow(out, &e.eff);
    pdb_effective_free(&e);
    return rc;
}

/* SHA-256 (hex) of what the gateway enforces: decision, tunnel, selectors,
 * DNS. The reason and the generation are left out. */
static int access_digest(const Mgate__AccessGrant *g, char hex[65])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char out[32];
    unsigned int len = 0;
    char buf[96];
    int ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1;
    snprintf(buf, sizeof(buf), "%d/%d|", (int)g->decision, (int)g->full_tunnel);
    ok = ok && EVP_DigestUpdate(md, buf, strlen(buf)) == 1;
    for (size_t i = 0; ok && i < g->n_selectors; i++) {
        snprintf(buf, sizeof(buf), "%s/%u/%u;", g->selectors[i]->subnet, g->selectors[i]->protocol,
                 g->selectors[i]->port);
        ok = EVP_DigestUpdate(md, buf, strlen(buf)) == 1;
    }
    ok = ok && EVP_DigestUpdate(md, "|", 1) == 1;
    for (size_t i = 0; ok && i < g->n_dns; i++)
        ok = EVP_DigestUpdate(md, g->dns[i], strlen(g->dns[i])) == 1 &&
             EVP_DigestUpdate(md, ";", 1) == 1;
    ok = ok && EVP_DigestFinal_ex(md, out, &len) == 1 && len == sizeof(out);
    EVP_MD_CTX_free(md);
    for (size_t i = 0; ok && i < sizeof(out); i++)
        snprintf(hex + 2 * i, 3, "%02x", out[i]);
    return ok ? 0 : -1;
}

/* Keeps the digest of a grant; with bump, the generation grows (the
 * grant is not what the gateway was last told). */
static int access_record(struct policyd *p, int64_t id, const char *digest, bool bump)
{
    sqlite3_stmt *st = reg_prep(p->db,
                                bump ? "UPDATE devices SET access_digest = ?, "
                                       "generation = generation + 1 WHERE id = ?"
                                     : "UPDATE devices SET access_digest = ? WHERE id = ?",
                                NULL);
    if (!st)
        return -EIO;
    sqlite3_bind_text(st, 1, digest, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, id);
    return reg_step_done(p->db, st, NULL);
}

/* The grant of a device for Authorize, recorded: a grant that differs from
 * the last one told (a config change across a restart) gets a new
 * generation. */
static int access_grant_answer(struct policyd *p, const struct reg_device *d,
                               struct access_grant *g)
{
    int rc = access_grant_device(p, d, g);
    char digest[65];
    if (rc < 0 || access_digest(&g->g, digest) < 0 || strcmp(digest, d->access_digest) == 0)
        return rc;
    bool bump = *d->access_digest != '\0';
    if (access_record(p, d->id, digest, bump) < 0)
        log_err("cannot record the grant of device %lld", (long long)d->id);
    else if (bump)
        g->g.generation++;
    return 0;
}

void access_authorize(struct policyd *p, struct svc *svc, struct ipc_conn *conn, uint64_t id,
                      const Mgate__AuthorizeRequest *rq)
{
    const char *fp = rq->fingerprint ? rq->fingerprint : "";
    const char *serial = rq->serial ? rq->serial : "";
    const char *peer = rq->peer_address && *rq->peer_address ? rq->peer_address : "-";
    struct access_grant g;
    struct reg_device d;
    memset(&g, 0, sizeof(g));
    if (!*fp && !*serial) {
        svc_reply_error(svc, conn, id, MGATE__ERROR_CODE__ERR_INVALID,
                        "authorize needs the certificate's fingerprint or serial");
        return;
    }
    int rc = reg_device_by_cert(p->db, fp, serial, &d);
    if (rc == -ENOENT) {
        mgate__access_grant__init(&g.g);
        g.g.decision = MGATE__ACCESS_DECISION__ACCESS_DENY;
        int rev = *serial ? reg_serial_revoked(p->db, serial) : 0;
        snprintf(g.reason, sizeof(g.reason), "%s",
                 rev > 0 ? "the certificate is revoked" : "unknown certificate");
        g.g.reason = g.reason;
        g.g.cache_seconds = (uint32_t)(p->conf.grant_cache / 1000);
        log_notice("authorize %s (serial %s, from %s): deny, %s", rq->subject ? rq->subject : "",
                   serial, peer, g.reason);
    } else if (rc < 0) {
        svc_reply_error(svc, conn, id, MGATE__ERROR_CODE__ERR_INTERNAL, "database error");
        return;
    } else {
        if (*serial && *fp && d.cert_serial && strcasecmp(serial, d.cert_serial) != 0) {
            rc = 0;
            mgate__access_grant__init(&g.g);
            g.g.device_id = (uint64_t)d.id;
            access_deny(&g, "%s", "the serial does not match the registered certificate");
            g.g.reason = g.reason;
        } else {
            rc = access_grant_answer(p, &d, &g);
        }
        int64_t now = time(NULL);
        if (rc == 0) {
            const char *dec = g.g.decision == MGATE__ACCESS_DECISION__ACCESS_ALLOW ? "allow"
                              : g.g.decision == MGATE__ACCESS_DECISION__ACCESS_QUARANTINE
                                  ? "quarantine"
                                  : "deny";
            char detail[768];
            snprintf(detail, sizeof(detail), "%s from %s: %s", dec, peer, g.reason);
            seen_add(p, d.id, now, policyd_peer_uid(conn), detail);
            log_info("authorize device %lld: %s", (long long)d.id, detail);
        }
        reg_device_free(&d);
        if (rc < 0) {
            access_grant_free(&g);
            log_err("cannot compute the grant of a device: %s", strerror(-rc));
            svc_reply_error(svc, conn, id, MGATE__ERROR_CODE__ERR_INTERNAL, "database error");
            return;
        }
    }
    Mgate__AuthorizeReply rep = MGATE__AUTHORIZE_REPLY__INIT;
    rep.grant = &g.g;
    svc_reply(svc, conn, id, MGATE__POLICYD_RESPONSE__BODY_AUTHORIZE, &rep.base);
    access_grant_free(&g);
}

uint32_t access_publish(struct policyd *p, const int64_t *ids, size_t n)
{
    char why[REGISTRY_ERR];
    if (n == 0)
        return 0;
    int64_t *changed = calloc(n, sizeof(*changed));
    size_t n_changed = 0;
    if (!changed || reg_begin(p->db, why) < 0) {
        log_err("cannot publish access changes: %s", changed ? why : "out of memory");
        free(changed);
        return 0;
    }
    /* First the new generations, committed; then the events. */
    for (size_t i = 0; i < n; i++) {
        struct reg_device d;
        struct access_grant g;
        char digest[65];
        if (reg_device_by_id(p->db, ids[i], &d) < 0)
            continue;
        if (d.cert_serial && access_grant_device(p, &d, &g) == 0 &&
            access_digest(&g.g, digest) == 0 && strcmp(digest, d.access_digest) != 0 &&
            access_record(p, d.id, digest, true) == 0)
            changed[n_changed++] = d.id;
        if (d.cert_serial)
            access_grant_free(&g);
        reg_device_free(&d);
    }
    if (reg_commit(p->db, why) < 0) {
        reg_rollback(p->db);
        log_err("cannot publish access changes: %s", why);
        free(changed);
        return 0;
    }
    uint32_t sent = 0;
    for (size_t i = 0; i < n_changed; i++) {
        struct reg_device d;
        if (reg_device_by_id(p->db, changed[i], &d) < 0)
            continue;
        struct access_grant g;
        if (access_grant_device(p, &d, &g) == 0) {
            Mgate__AccessChanged ev = MGATE__ACCESS_CHANGED__INIT;
            ev.serial = d.cert_serial;
            ev.fingerprint = d.cert_fingerprint ? d.cert_fingerprint : "";
            ev.grant = &g.g;
            if (svc_publish(service_svc(p->s), "access", MGATE__POLICYD_EVENT__BODY_ACCESS_CHANGED,
                            &ev.base) >= 0)
                sent++;
            log_info("access of device %lld changed (generation %llu): %s", (long long)d.id,
                     (unsigned long long)g.g.generation, g.reason);
        }
        access_grant_free(&g);
        reg_device_free(&d);
    }
    free(changed);
    return sent;
}

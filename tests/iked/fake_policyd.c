/* A stand-in for mgate-policyd's authorization side, for iked's tests: a
 * service like the daemons (common/service: [policyd] socket and ACL from
 * the config, Status, Subscribe, the lifecycle event) that answers
 * Authorize from a grants file and pushes AccessChanged on topic "access"
 * when sent SIGUSR1. Nothing else of policyd is here.
 *
 *   FAKE_POLICYD_GRANTS=FILE  read at every Authorize (edit it any time)
 *   FAKE_POLICYD_EVENTS=FILE  read at every SIGUSR1: one AccessChanged per line
 *
 * A line: KEY DECISION [cache=S] [gen=N] [sel=SEL,SEL...] [dns=IP,IP...]
 *         [hang] [reason=free text to the end of the line]
 *   KEY       a certificate fingerprint (SHA-256, hex, colons allowed), a
 *             serial (hex), or * for any device (first match wins)
 *   DECISION  allow | quarantine | deny
 *   SEL       SUBNET[:PROTO[:PORT]], e.g. 10.2.0.0/24:6:443
 *   hang      never answer this device (iked's timeout path)
 * A device that matches no line gets DENY "unknown device". Every request
 * and push is logged on stderr ("fake-policyd: Authorize ..."). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "policyd.pb-c.h"
#include "service.h"

#define FP_MAX_SEL 64
#define FP_MAX_DNS 8

struct fp_conf {
    struct mgate_svc_conf svc;
};

static const struct conf_key fp_schema[] = {
    MGATE_SVC_KEYS(struct fp_conf, svc, "policyd"),
    {NULL, 0, 0, NULL, 0, 0, NULL},
};

/* One parsed line, with the storage the AccessGrant points into. */
struct fp_line {
    char key[160];
    bool hang;
    Mgate__AccessGrant g;
    Mgate__AccessSelector sel[FP_MAX_SEL];
    Mgate__AccessSelector *sel_ptr[FP_MAX_SEL];
    char subnet[FP_MAX_SEL][64];
    char dns[FP_MAX_DNS][64];
    char *dns_ptr[FP_MAX_DNS];
    char reason[256];
};

static struct {
    struct fp_conf conf;
    struct service *s;
    uv_signal_t usr1;
    uint64_t generation;
} fp;

/* Lower-case hex without colons, for comparing fingerprints and serials. */
static void fp_norm(const char *in, char *out, size_t len)
{
    size_t n = 0;
    for (; *in && n + 1 < len; in++)
        if (*in != ':')
            out[n++] = (char)tolower((unsigned char)*in);
    out[n] = '\0';
}

static int fp_parse_line(char *line, struct fp_line *l)
{
    memset(l, 0, sizeof(*l));
    mgate__access_grant__init(&l->g);
    char *reason = strstr(line, "reason=");
    if (reason) {
        *reason = '\0';
        snprintf(l->reason, sizeof(l->reason), "%s", reason + 7);
        l->reason[strcspn(l->reason, "\n")] = '\0';
    }
    char *save = NULL, *tok = strtok_r(line, " \t\n", &save);
    if (!tok || *tok == '#')
        return -1;
    fp_norm(tok, l->key, sizeof(l->key));
    if (!(tok = strtok_r(NULL, " \t\n", &save)))
        return -1;
    if (strcasecmp(tok, "allow") == 0)
        l->g.decision = MGATE__ACCESS_DECISION__ACCESS_ALLOW;
    else if (strcasecmp(tok, "quarantine") == 0)
        l->g.decision = MGATE__ACCESS_DECISION__ACCESS_QUARANTINE;
    else if (strcasecmp(tok, "deny") == 0)
        l->g.decision = MGATE__ACCESS_DECISION__ACCESS_DENY;
    else
        return -1;
    while ((tok = strtok_r(NULL, " \t\n", &save))) {
        if (strncmp(tok, "cache=", 6) == 0) {
            l->g.cache_seconds = (uint32_t)strtoul(tok + 6, NULL, 10);
        } else if (strncmp(tok, "gen=", 4) == 0) {
            l->g.generation = strtoull(tok + 4, NULL, 10);
        } else if (strcmp(tok, "hang") == 0) {
            l->hang = true;
        } else if (strncmp(tok, "sel=", 4) == 0) {
            char *s2 = NULL;
            for (char *s = strtok_r(tok + 4, ",", &s2); s && l->g.n_selectors < FP_MAX_SEL;
                 s = strtok_r(NULL, ",", &s2)) {
                size_t i = l->g.n_selectors++;
                Mgate__AccessSelector *a = &l->sel[i];
                mgate__access_selector__init(a);
                char *c1, *c2 = NULL;
                /* IPv6 subnets contain colons: the protocol follows the
                 * prefix length, so split after the '/'. */
                char *slash = strchr(s, '/');
                c1 = slash ? strchr(slash, ':') : NULL;
                if (c1) {
                    *c1++ = '\0';
                    a->protocol = (uint32_t)strtoul(c1, &c2, 10);
                    if (*c2 == ':')
                        a->port = (uint32_t)strtoul(c2 + 1, NULL, 10);
                }
                snprintf(l->subnet[i], sizeof(l->subnet[i]), "%s", s);
                a->subnet = l->subnet[i];
                l->sel_ptr[i] = a;
            }
            l->g.selectors = l->sel_ptr;
        } else if (strncmp(tok, "dns=", 4) == 0) {
            char *s2 = NULL;
            for (char *s = strtok_r(tok + 4, ",", &s2); s && l->g.n_dns < FP_MAX_DNS;
                 s = strtok_r(NULL, ",", &s2)) {
                snprintf(l->dns[l->g.n_dns], sizeof(l->dns[0]), "%s", s);
                l->dns_ptr[l->g.n_dns] = l->dns[l->g.n_dns];
                l->g.n_dns++;
            }
            l->g.dns = l->dns_ptr;
        }
    }
    l->g.reason = l->reason;
    if (!l->g.generation)
        l->g.generation = ++fp.generation;
    return 0;
}

/* The first line of path whose key matches fpr or serial (or *). */
static int fp_find(const char *path, const char *fpr, const char *serial, struct fp_line *out)
{
    FILE *f = path ? fopen(path, "r") : NULL;
    if (!f)
        return -1;
    char line[2048], nf[160], ns[160];
    fp_norm(fpr, nf, sizeof(nf));
    fp_norm(serial, ns, sizeof(ns));
    int rc = -1;
    while (fgets(line, sizeof(line), f)) {
        if (fp_parse_line(line, out) < 0)
            continue;
        if (strcmp(out->key, "*") == 0 || strcmp(out->key, nf) == 0 ||
            (*ns && strcmp(out->key, ns) == 0)) {
            rc = 0;
            break;
        }
    }
    fclose(f);
    return rc;
}

static void fp_handle(struct svc *svc, struct ipc_conn *conn, uint64_t id,
                      const ProtobufCMessage *req, uint32_t body_case, void *ud)
{
    (void)ud;
    if (body_case != MGATE__POLICYD_REQUEST__BODY_AUTHORIZE) {
        svc_reply_error(svc, conn, id, MGATE__ERROR_CODE__ERR_UNSUPPORTED,
                        "fake policyd: only Authorize");
        return;
    }
    const Mgate__AuthorizeRequest *rq = ((const Mgate__PolicydRequest *)req)->authorize;
    fprintf(stderr, "fake-policyd: Authorize subject=%s serial=%s fpr=%s peer=%s\n", rq->subject,
            rq->serial, rq->fingerprint, rq->peer_address);
    static struct fp_line l; /* one request at a time, on the loop */
    Mgate__AuthorizeReply rep = MGATE__AUTHORIZE_REPLY__INIT;
    if (fp_find(getenv("FAKE_POLICYD_GRANTS"), rq->fingerprint, rq->serial, &l) < 0) {
        memset(&l, 0, sizeof(l));
        mgate__access_grant__init(&l.g);
        l.g.decision = MGATE__ACCESS_DECISION__ACCESS_DENY;
        l.g.reason = (char *)"unknown device";
    }
    if (l.hang) {
        fprintf(stderr, "fake-policyd: not answering (hang)\n");
        return;
    }
    rep.grant = &l.g;
    fprintf(stderr, "fake-policyd: answered decision=%d selectors=%zu\n", l.g.decision,
            l.g.n_selectors);
    svc_reply(svc, conn, id, MGATE__POLICYD_RESPONSE__BODY_AUTHORIZE, &rep.base);
}

static void fp_on_usr1(uv_signal_t *h, int sig)
{
    (void)h;
    (void)sig;
    const char *path = getenv("FAKE_POLICYD_EVENTS");
    FILE *f = path ? fopen(path, "r") : NULL;
    if (!f) {
        fprintf(stderr, "fake-policyd: no events file (%s)\n", path ? path : "unset");
        return;
    }
    char line[2048];
    static struct fp_line l;
    unsigned n = 0;
    while (fgets(line, sizeof(line), f)) {
        if (fp_parse_line(line, &l) < 0)
            continue;
        Mgate__AccessChanged ac = MGATE__ACCESS_CHANGED__INIT;
        ac.fingerprint = l.key;
        ac.grant = &l.g;
        if (svc_publish(service_svc(fp.s), "access", MGATE__POLICYD_EVENT__BODY_ACCESS_CHANGED,
                        &ac.base) >= 0)
            n++;
    }
    fclose(f);
    fprintf(stderr, "fake-policyd: pushed %u AccessChanged\n", n);
}

static int fp_start(struct service *s, void *ud)
{
    (void)ud;
    fp.s = s;
    uv_signal_init(service_daemon(s)->loop, &fp.usr1);
    return uv_signal_start(&fp.usr1, fp_on_usr1, SIGUSR1) == 0 ? 0 : -1;
}

static void fp_stop(struct service *s, void *ud)
{
    (void)s;
    (void)ud;
    uv_signal_stop(&fp.usr1);
    uv_close((uv_handle_t *)&fp.usr1, NULL);
}

int main(int argc, char **argv)
{
    static const char *const topics[] = {"lifecycle", "access", NULL};
    static const struct service_spec spec = {
        .daemon =
            {
                .name = "policyd",
                .summary = "fake policyd for iked's tests: Authorize from a file, AccessChanged "
                           "on SIGUSR1.",
                .schema = fp_schema,
                .section = &fp.conf,
            },
        .svc_conf = &fp.conf.svc,
        .api =
            {
                .request = &mgate__policyd_request__descriptor,
                .response = &mgate__policyd_response__descriptor,
                .event = &mgate__policyd_event__descriptor,
                .topics = topics,
                .handler = fp_handle,
            },
        .start = fp_start,
        .stop = fp_stop,
    };
    return service_main(&spec, argc, argv);
}

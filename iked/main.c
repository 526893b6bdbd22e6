/* mgate-iked: the IKEv2 responder (see README.md). Unprivileged: its UDP
 * sockets come from xfrmd, its kernel changes go through xfrmd. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ike_const.h"
#include "ike_crypto.h"
#include "iked.h"
#include "iked.pb-c.h"
#include "log.h"
#include "policyd.pb-c.h"
#include "iked_rekey.h"
#include "xfrmd.pb-c.h"

/* Schema history of iked.db (append only; see common/db.h). */
static const struct db_migration iked_migrations[] = {
    {"meta table", "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                   "INSERT INTO meta VALUES ('created', strftime('%Y-%m-%dT%H:%M:%SZ', 'now'));"},
    {"virtual IP leases", lease_pool_schema_sql},
};

static const char *const iked_topics[] = {"lifecycle", "sa", NULL};

static struct iked iked;

static void iked_on_xfrmd_connect(struct upstream *up, void *ud)
{
    struct iked *ik = ud;
    (void)up;
    if (!ik->env.set)
        return; /* IKE is off: nothing of ours can be in the kernel */
    /* Whatever xfrmd holds of ours that no IKE SA here owns is an orphan
     * (a previous iked's, a failed install): let xfrmd remove it. */
    iked_child_reconcile(ik);
    iked_rekey_catch_up(ik);
}

/* "access": AccessChanged, resubscribed on every reconnect; only with
 * authorization = policyd (iked_start ends the list after "lifecycle"
 * otherwise, so a policyd without the topic is not asked for it). */
static const char *iked_policyd_topics[] = {"lifecycle", "access", NULL};
/* "sa": expire and NAT mapping events. */
static const char *const iked_xfrmd_topics[] = {"lifecycle", "sa", NULL};

/* xfrmd's events: the kernel's soft expires start CHILD SA rekeys; its
 * NAT mapping changes move the device's SAs. Each handler ignores the
 * other's events. */
static void iked_on_xfrmd_event(struct upstream *up, const ProtobufCMessage *ev, uint32_t ev_case,
                                void *ud)
{
    iked_rekey_xfrmd_event(up, ev, ev_case, ud);
    iked_mobility_on_xfrmd_event(up, ev, ev_case, ud);
}

static const struct upstream_def iked_upstreams[] = {
    {.service = "xfrmd",
     .request = &mgate__xfrmd_request__descriptor,
     .response = &mgate__xfrmd_response__descriptor,
     .event = &mgate__xfrmd_event__descriptor,
     .topics = iked_xfrmd_topics,
     .on_event = iked_on_xfrmd_event,
     .on_connect = iked_on_xfrmd_connect},
    {.service = "policyd",
     .request = &mgate__policyd_request__descriptor,
     .response = &mgate__policyd_response__descriptor,
     .event = &mgate__policyd_event__descriptor,
     .topics = iked_policyd_topics,
     .on_event = iked_authz_on_policyd_event},
};

/* "key: reason" from the settings parser, with the file and line of key. */
static void iked_conf_error(struct iked *ik, const char *why)
{
    struct daemon *d = service_daemon(ik->s);
    const char *colon = strchr(why, ':');
    size_t klen = colon ? (size_t)(colon - why) : 0;
    for (size_t i = 0; i < d->cf.n_sections; i++) {
        if (strcmp(d->cf.sections[i].name, "iked") != 0)
            continue;
        for (size_t j = 0; j < d->cf.sections[i].n_entries; j++) {
            const struct conf_entry *e = &d->cf.sections[i].entries[j];
            if (strlen(e->key) == klen && strncmp(e->key, why, klen) == 0) {
                log_err("bad configuration: %s:%u: %s", d->cf.path, e->line, why);
                return;
            }
        }
    }
    log_err("bad configuration: [iked] %s", why);
}

static int iked_load_credentials(struct iked *ik)
{
    ike_crypto_err ce;
    if ((ce = ike_cert_store_new(&ik->cas)) != IKE_CRYPTO_OK) {
        log_err("cannot create the CA store: %s", ike_crypto_strerror(ce));
        return -1;
    }
    for (size_t i = 0; i < ik->conf.ca.n; i++) {
        if ((ce = ike_cert_store_add_ca_file(ik->cas, ik->conf.ca.v[i])) != IKE_CRYPTO_OK) {
            log_err("bad configuration: [iked] ca: %s: %s", ik->conf.ca.v[i],
                    ike_crypto_strerror(ce));
            return -1;
        }
    }
    if (ik->conf.crl && *ik->conf.crl &&
        (ce = ike_cert_store_add_crl_file(ik->cas, ik->conf.crl)) != IKE_CRYPTO_OK) {
        log_err("bad configuration: [iked] crl: %s: %s", ik->conf.crl, ike_crypto_strerror(ce));
        return -1;
    }
    if ((ce = ike_cert_own_load(ik->conf.cert, ik->conf.key, &ik->own)) != IKE_CRYPTO_OK) {
        log_err("bad configuration: [iked] cert/key: %s, %s: %s", ik->conf.cert, ik->conf.key,
                ike_crypto_strerror(ce));
        return -1;
    }
    if (ik->conf.local_id && *ik->conf.local_id) {
        /* A name with '@' is an RFC822 address, anything else an FQDN. */
        ik->env.local_id_type = strchr(ik->conf.local_id, '@') ? IKE_ID_RFC822_ADDR : IKE_ID_FQDN;
        ik->env.local_id = (const uint8_t *)ik->conf.local_id;
        ik->env.local_id_len = strlen(ik->conf.local_id);
    } else {
        ik->env.local_id_type = IKE_ID_DER_ASN1_DN;
        ik->env.local_id = ike_cert_own_subject_der(ik->own, &ik->env.local_id_len);
    }
    return 0;
}

static bool iked_pki_configured(const struct iked *ik)
{
    return ik->conf.cert && *ik->conf.cert && ik->conf.key && *ik->conf.key && ik->conf.ca.n;
}

/* --check-config: the settings and the credentials, as start reads them. */
static int iked_check(struct service *s, void *ud)
{
    struct iked *ik = ud;
    ik->s = s;
    char why[256];
    if (iked_settings_parse(&ik->conf, &ik->set, why, sizeof(why)) < 0) {
        iked_conf_error(ik, why);
        return -1;
    }
    if (!iked_pki_configured(ik))
        return 0;
    ike_crypto_err ce = ike_crypto_init();
    if (ce != IKE_CRYPTO_OK) {
        log_err("crypto initialisation failed: %s", ike_crypto_strerror(ce));
        return -1;
    }
    return iked_load_credentials(ik);
}

static int iked_start(struct service *s, void *ud)
{
    struct iked *ik = ud;
    ik->s = s;
    char why[256];
    if (iked_settings_parse(&ik->conf, &ik->set, why, sizeof(why)) < 0) {
        iked_conf_error(ik, why);
        return -1;
    }
    if (ik->set.authz != IKED_AUTHZ_POLICYD)
        iked_policyd_topics[1] = NULL;
    ik->sas = iked_sa_table_new();
    if (!ik->sas)
        return -1;
    iked_sweep_start(ik);
    if (!iked_pki_configured(ik)) {
        /* The foundation runs without PKI (tests, a fresh install): say
         * plainly that no device can connect, rather than refuse to start. */
        log_warn("no gateway certificate, key or CA configured ([iked] cert, key, ca): IKE is off");
        return 0;
    }
    char workers[24];
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    snprintf(workers, sizeof(workers), "%llu",
             (unsigned long long)(ik->conf.workers ? ik->conf.workers
                                                   : (uint64_t)(ncpu > 0 ? ncpu : 2)));
    /* libuv reads this once, at the first uv_queue_work. */
    setenv("UV_THREADPOOL_SIZE", workers, 1);
    ike_crypto_err ce = ike_crypto_init();
    if (ce != IKE_CRYPTO_OK) {
        log_err("crypto initialisation failed: %s", ike_crypto_strerror(ce));
        return -1;
    }
    if (iked_load_credentials(ik) < 0)
        return -1;
    if (ike_cookie_init(&ik->cookies, uv_now(service_daemon(s)->loop), IKE_COOKIE_PERIOD_MS) < 0) {
        log_err("cannot make the cookie secret");
        return -1;
    }
    ik->cookies_ready = true;
    ik->cookies_on = ik->set.cookie_threshold == 0; /* said here, not as a change */
    if (ik->cookies_on)
        log_notice("cookie_threshold = 0: every IKE_SA_INIT needs a COOKIE (RFC 7296 §2.6)");
    if (lease_pool_open(service_db(s), ik->set.pool_net, ik->set.pool_plen, &ik->leases) < 0) {
        log_err("cannot open the virtual IP pool");
        return -1;
    }
    ik->env.set = &ik->set;
    ik->env.cas = ik->cas;
    ik->env.own = ik->own;
    ik->env.leases = ik->leases;
    if (iked_guard_init(&ik->guard, ik->set.sa_init_rate, ik->set.sa_init_burst,
                        ik->set.max_half_open) < 0) {
        log_err("out of memory for the IKE_SA_INIT rate limit table");
        return -1;
    }
    iked_frag_start(ik);
    log_notice("authorization: %s",
               ik->set.authz == IKED_AUTHZ_CA_ONLY
                   ? "ca-only (any device with a valid certificate from the configured CAs)"
                   : "policyd (asked at every IKE_AUTH; cached grants serve while it is down)");
    if (iked_authz_start(ik) < 0)
        return -1;
    /* Before the sockets and before xfrmd's first connect: the reconcile
     * that follows must know the restored tunnels. */
    if (iked_persist_start(ik, uv_now(service_daemon(s)->loop)) < 0)
        return -1;
    return iked_net_start(ik);
}

static void iked_stop_one(struct ike_sa *sa, void *arg)
{
    /* A DELETE to every peer, the kernel state removed: a clean stop ends
     * the tunnels (a crash does not: see the restart issue). */
    iked_sa_destroy(arg, sa, true, "iked stopping");
}

static void iked_stop(struct service *s, void *ud)
{
    struct iked *ik = ud;
    (void)s;
    /* First: the tunnels end now, none may come back from the checkpoint. */
    iked_persist_stop(ik);
    iked_sa_table_each(ik->sas, iked_stop_one, ik);
    ik->stopping = true;
    iked_authz_stop(ik);
    uv_timer_stop(&ik->sweep);
    uv_close((uv_handle_t *)&ik->sweep, NULL);
    if (ik->env.set)
        iked_net_stop(ik);
    iked_leases_close_if_idle(ik);
}

int main(int argc, char **argv)
{
    static const struct service_spec spec = {
        .daemon =
            {
                .name = "iked",
                .summary = "IKEv2/MOBIKE responder for mgate devices (unprivileged).",
                .schema = iked_conf_schema,
                .section = &iked.conf,
            },
        .svc_conf = &iked.conf.svc,
        .database = &iked.conf.database,
        .migrations = iked_migrations,
        .n_migrations = sizeof(iked_migrations) / sizeof(iked_migrations[0]),
        .api =
            {
                .request = &mgate__iked_request__descriptor,
                .response = &mgate__iked_response__descriptor,
                .event = &mgate__iked_event__descriptor,
                .topics = iked_topics,
                .handler = iked_api_handle,
            },
        .upstreams = iked_upstreams,
        .n_upstreams = sizeof(iked_upstreams) / sizeof(iked_upstreams[0]),
        .start = iked_start,
        .check = iked_check,
        .stop = iked_stop,
        .ud = &iked,
    };
    int rc = service_main(&spec, argc, argv);
    lease_pool_close(iked.leases);
    ike_cert_own_free(iked.own);
    ike_cert_store_free(iked.cas);
    iked_sa_table_free(iked.sas);
    iked_persist_free(&iked);
    ike_cookie_fini(&iked.cookies);
    iked_guard_free(&iked.guard);
    iked_authz_free(&iked);
    return rc;
}

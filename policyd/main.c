/* mgate-policyd: devices, enrollment and the CA, groups, policies,
 * compliance and the command queue (see README.md). Unprivileged. */
#include <stdlib.h>
#include <string.h>

#include "extca.h"
#include "log.h"
#include "seen.h"
#include "policyd.h"
#include "policyd.pb-c.h"
#include "wiped.pb-c.h"

#define PC(m) offsetof(struct policyd_conf, m)
static const struct conf_key policyd_schema[] = {
    MGATE_SVC_KEYS(struct policyd_conf, svc, "policyd"),
    SERVICE_DB_KEY(struct policyd_conf, database, "policyd"),
    {"ca_dir", CONF_PATH, PC(ca_dir), "", 0, 0,
     "directory of the CA key (0600), certificate and CRL (default: <state_dir>/ca)"},
    {"ca_validity", CONF_DURATION, PC(ca_validity), "3650d", 86400000ULL, 36500ULL * 86400000ULL,
     "validity of the CA certificate made by ca init"},
    {"cert_validity", CONF_DURATION, PC(cert_validity), "365d", 60000ULL, 3650ULL * 86400000ULL,
     "validity of a device certificate"},
    {"otp_validity", CONF_DURATION, PC(otp_validity), "72h", 1000ULL, 365ULL * 86400000ULL,
     "how long a one-time enrollment password stays valid"},
    {"crl_validity", CONF_DURATION, PC(crl_validity), "7d", 60000ULL, 365ULL * 86400000ULL,
     "CRL nextUpdate: how long a published CRL is valid"},
    {"grant_cache", CONF_DURATION, PC(grant_cache), "5m", 0, 86400000ULL,
     "how long iked may serve an access decision while policyd is down (cache_seconds)"},
    {"noncompliant_action", CONF_STRING, PC(noncompliant), "deny", 0, 0,
     "a non-compliant device: deny (no tunnel) or quarantine (quarantine_subnets only)"},
    {"quarantine_subnets", CONF_LIST, PC(quarantine_subnets), "", 0, 0,
     "remediation prefixes a quarantined device may reach (needed by quarantine)"},
    {"quarantine_dns", CONF_LIST, PC(quarantine_dns), "", 0, 0,
     "DNS servers given to a quarantined device"},
    {"compliance_min_os", CONF_LIST, PC(rules.min_os), "", 0, 0,
     "minimum OS version per platform: ios:16.0 android:13"},
    {"compliance_encryption", CONF_BOOL, PC(rules.encryption), "yes", 0, 0,
     "storage encryption required"},
    {"compliance_not_jailbroken", CONF_BOOL, PC(rules.not_jailbroken), "yes", 0, 0,
     "a jailbroken or rooted device is non-compliant"},
    {"compliance_password", CONF_BOOL, PC(rules.password), "yes", 0, 0,
     "a device without a password is non-compliant when its policy requires one"},
    {"compliance_settings", CONF_BOOL, PC(rules.settings), "yes", 0, 0,
     "a device that failed to apply a configured setting is non-compliant"},
    {"external_ca", CONF_PATH, PC(external_ca), "", 0, 0,
     "PEM bundle of external CAs whose device certificates may be registered (empty: off)"},
    {NULL, 0, 0, NULL, 0, 0, NULL},
};
#undef PC

/* Schema history of policyd.db (append only; see common/db.h). */
static const struct db_migration policyd_migrations[] = {
    {"meta table", "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                   "INSERT INTO meta VALUES ('created', strftime('%Y-%m-%dT%H:%M:%SZ', 'now'));"},
    {"device registry, enrollment secrets, revoked certificates, audit log",
     "CREATE TABLE devices ("
     " id INTEGER PRIMARY KEY AUTOINCREMENT,"
     " hardware_id TEXT NOT NULL UNIQUE,"
     " owner TEXT NOT NULL, name TEXT NOT NULL, platform TEXT NOT NULL,"
     " os_version TEXT NOT NULL DEFAULT '',"
     " state TEXT NOT NULL DEFAULT 'pre-enrolled' CHECK (state IN"
     "  ('pre-enrolled', 'enrolled', 'blocked', 'wiped', 'disenrolled')),"
     " cert_serial TEXT UNIQUE, cert_fingerprint TEXT,"
     " created INTEGER NOT NULL, last_seen INTEGER);"
     /* One-time passwords: only a salted PBKDF2-HMAC-SHA256 hash. */
     "CREATE TABLE enroll_secrets ("
     " device_id INTEGER PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE,"
     " salt BLOB NOT NULL, hash BLOB NOT NULL,"
     " expires INTEGER NOT NULL, used INTEGER NOT NULL DEFAULT 0);"
     "CREATE TABLE revoked ("
     " serial TEXT PRIMARY KEY, device_id INTEGER REFERENCES devices(id),"
     " revoked_at INTEGER NOT NULL);"
     /* Who (peer uid from SO_PEERCRED), when, what; refusals included. */
     "CREATE TABLE audit ("
     " id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, uid INTEGER NOT NULL,"
     " device_id INTEGER, action TEXT NOT NULL, detail TEXT NOT NULL);"
     "CREATE INDEX audit_device ON audit(device_id);"},
    {"groups, policies and their links; compliance reports and state; access generation",
     /* A group is its path ("corp/sales/emea"); ancestors are prefixes. */
     "CREATE TABLE groups ("
     " id INTEGER PRIMARY KEY AUTOINCREMENT, path TEXT NOT NULL UNIQUE,"
     " created INTEGER NOT NULL);"
     "CREATE TABLE device_groups ("
     " device_id INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
     " group_id INTEGER NOT NULL REFERENCES groups(id),"
     " PRIMARY KEY (device_id, group_id));"
     "CREATE INDEX device_groups_group ON device_groups(group_id);"
     "CREATE TABLE policies ("
     " id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE,"
     " created INTEGER NOT NULL);"
     /* Only configured settings have a row; values are canonical text. */
     "CREATE TABLE policy_settings ("
     " policy_id INTEGER NOT NULL REFERENCES policies(id) ON DELETE CASCADE,"
     " setting TEXT NOT NULL, value TEXT NOT NULL,"
     " PRIMARY KEY (policy_id, setting));"
     "CREATE TABLE policy_links ("
     " group_id INTEGER NOT NULL REFERENCES groups(id),"
     " policy_id INTEGER NOT NULL REFERENCES policies(id),"
     " position INTEGER NOT NULL CHECK (position >= 1),"
     " PRIMARY KEY (group_id, policy_id));"
     "ALTER TABLE devices ADD COLUMN compliance TEXT NOT NULL DEFAULT 'unknown'"
     " CHECK (compliance IN ('unknown', 'compliant', 'non-compliant'));"
     /* One reason a line. */
     "ALTER TABLE devices ADD COLUMN compliance_reasons TEXT NOT NULL DEFAULT '';"
     "ALTER TABLE devices ADD COLUMN compliance_at INTEGER NOT NULL DEFAULT 0;"
     /* Grows with every change that alters the device's access. */
     "ALTER TABLE devices ADD COLUMN generation INTEGER NOT NULL DEFAULT 1;"
     /* The device's last report of its state. */
     "CREATE TABLE device_reports ("
     " device_id INTEGER PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE,"
     " at INTEGER NOT NULL, password_set INTEGER NOT NULL, encryption_on INTEGER NOT NULL,"
     " os_version TEXT NOT NULL, jailbroken INTEGER NOT NULL);"
     "CREATE TABLE setting_results ("
     " device_id INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
     " setting TEXT NOT NULL, applied INTEGER NOT NULL, detail TEXT NOT NULL,"
     " at INTEGER NOT NULL, PRIMARY KEY (device_id, setting));"},
    {"external-CA certificates; the digest of each device's last published grant",
     /* Who issued the device's certificate: mgate's CA or an external one
      * (external_ca). An external certificate is never on mgate's CRL. */
     "ALTER TABLE devices ADD COLUMN cert_source TEXT NOT NULL DEFAULT 'mgate'"
     " CHECK (cert_source IN ('mgate', 'external'));"
     "ALTER TABLE revoked ADD COLUMN external INTEGER NOT NULL DEFAULT 0;"
     /* SHA-256 of what the gateway enforces (decision, selectors, DNS,
      * tunnel): an event goes out, and the generation grows, only when it
      * changes. */
     "ALTER TABLE devices ADD COLUMN access_digest TEXT NOT NULL DEFAULT '';"},
};

static const char *const policyd_topics[] = {"lifecycle", "access", NULL};

/* Wipe acknowledgements arrive with device check-ins and go on to wiped. */
static const struct upstream_def policyd_upstreams[] = {
    {.service = "wiped",
     .request = &mgate__wiped_request__descriptor,
     .response = &mgate__wiped_response__descriptor,
     .event = &mgate__wiped_event__descriptor},
};

static struct policyd policyd;

/* What conf_bind cannot check: the words of the access keys. */
static int policyd_check(struct service *s, void *ud)
{
    (void)s;
    struct policyd *p = ud;
    char why[POL_ERR], *canon = NULL;
    if (strcmp(p->conf.noncompliant, "deny") != 0 &&
        strcmp(p->conf.noncompliant, "quarantine") != 0) {
        log_err("[policyd] noncompliant_action: '%s' is not deny or quarantine",
                p->conf.noncompliant);
        return -1;
    }
    if (strcmp(p->conf.noncompliant, "quarantine") == 0 && p->conf.quarantine_subnets.n == 0) {
        log_err("[policyd] noncompliant_action = quarantine needs quarantine_subnets");
        return -1;
    }
    for (size_t i = 0; i < p->conf.quarantine_subnets.n; i++) {
        if (pol_value_parse(POL_VPN_SUBNETS, p->conf.quarantine_subnets.v[i], &canon, why,
                            sizeof(why)) < 0) {
            log_err("[policyd] quarantine_subnets: %s", why);
            return -1;
        }
        free(canon);
    }
    for (size_t i = 0; i < p->conf.quarantine_dns.n; i++) {
        if (pol_value_parse(POL_VPN_DNS, p->conf.quarantine_dns.v[i], &canon, why, sizeof(why)) <
            0) {
            log_err("[policyd] quarantine_dns: %s", why);
            return -1;
        }
        free(canon);
    }
    if (comp_rules_check(&p->conf.rules, why, sizeof(why)) < 0) {
        log_err("[policyd] %s", why);
        return -1;
    }
    return extca_load(p);
}

static int policyd_start(struct service *s, void *ud)
{
    struct policyd *p = ud;
    if (policyd_check(s, ud) < 0)
        return -1;
    p->s = s;
    p->db = service_db(s);
    p->ca_dir = p->conf.ca_dir && *p->conf.ca_dir
                    ? strdup(p->conf.ca_dir)
                    : mgate_path_join(service_daemon(s)->g.state_dir, "ca");
    if (!p->ca_dir) {
        log_err("out of memory");
        return -1;
    }
    char why[CA_ERR];
    int rc = ca_load(&p->ca, p->ca_dir, why);
    if (rc < 0) {
        log_err("cannot load the CA from %s: %s", p->ca_dir, why);
        return -1;
    }
    if (rc == 0)
        log_notice("no CA in %s yet: enrollment waits for `mgatectl ca init`", p->ca_dir);
    else
        log_info("CA loaded from %s", p->ca_dir);
    return seen_init(p);
}

/* The last authorizations go to the database before it closes. */
static void policyd_stop(struct service *s, void *ud)
{
    (void)s;
    seen_close(ud);
}

int main(int argc, char **argv)
{
    static const struct service_spec spec = {
        .daemon =
            {
                .name = "policyd",
                .summary = "Device registry, enrollment CA, policies and compliance for mgate.",
                .schema = policyd_schema,
                .section = &policyd.conf,
            },
        .svc_conf = &policyd.conf.svc,
        .database = &policyd.conf.database,
        .migrations = policyd_migrations,
        .n_migrations = sizeof(policyd_migrations) / sizeof(policyd_migrations[0]),
        /* Losing the last write could lose an enrollment. */
        .db_sync_full = true,
        .api =
            {
                .request = &mgate__policyd_request__descriptor,
                .response = &mgate__policyd_response__descriptor,
                .event = &mgate__policyd_event__descriptor,
                .topics = policyd_topics,
                .handler = policyd_api_handle,
            },
        .upstreams = policyd_upstreams,
        .n_upstreams = sizeof(policyd_upstreams) / sizeof(policyd_upstreams[0]),
        .start = policyd_start,
        .check = policyd_check,
        .stop = policyd_stop,
        .ud = &policyd,
    };
    int rc = service_main(&spec, argc, argv);
    ca_free(&policyd.ca);
    extca_free(&policyd);
    free(policyd.ca_dir);
    return rc;
}

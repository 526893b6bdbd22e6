/* mgate-policyd: devices, enrollment and the CA, groups, policies,
 * compliance and the command queue (see README.md). Unprivileged. */
#include <stdlib.h>

#include "log.h"
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
};

static const char *const policyd_topics[] = {"lifecycle", NULL};

/* Wipe acknowledgements arrive with device check-ins and go on to wiped. */
static const struct upstream_def policyd_upstreams[] = {
    {.service = "wiped",
     .request = &mgate__wiped_request__descriptor,
     .response = &mgate__wiped_response__descriptor,
     .event = &mgate__wiped_event__descriptor},
};

static struct policyd policyd;

static int policyd_start(struct service *s, void *ud)
{
    struct policyd *p = ud;
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
    return 0;
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
        .ud = &policyd,
    };
    int rc = service_main(&spec, argc, argv);
    ca_free(&policyd.ca);
    free(policyd.ca_dir);
    return rc;
}

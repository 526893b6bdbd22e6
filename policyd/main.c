/* mgate-policyd: devices, enrollment and the CA, groups, policies,
 * compliance and the command queue (see README.md). Unprivileged. */
#include "policyd.pb-c.h"
#include "service.h"
#include "wiped.pb-c.h"

struct policyd_conf {
    struct mgate_svc_conf svc;
    char *database;
};

static const struct conf_key policyd_schema[] = {
    MGATE_SVC_KEYS(struct policyd_conf, svc, "policyd"),
    SERVICE_DB_KEY(struct policyd_conf, database, "policyd"),
    {NULL, 0, 0, NULL, 0, 0, NULL},
};

/* Schema history of policyd.db (append only; see common/db.h). */
static const struct db_migration policyd_migrations[] = {
    {"meta table",
     "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
     "INSERT INTO meta VALUES ('created', strftime('%Y-%m-%dT%H:%M:%SZ', 'now'));"},
};

static const char *const policyd_topics[] = {"lifecycle", NULL};

/* Wipe acknowledgements arrive with device check-ins and go on to wiped. */
static const struct upstream_def policyd_upstreams[] = {
    {.service = "wiped",
     .request = &mgate__wiped_request__descriptor,
     .response = &mgate__wiped_response__descriptor,
     .event = &mgate__wiped_event__descriptor},
};

int main(int argc, char **argv)
{
    static struct policyd_conf conf;
    static const struct service_spec spec = {
        .daemon =
            {
                .name = "policyd",
                .summary = "Device registry, enrollment CA, policies and compliance for mgate.",
                .schema = policyd_schema,
                .section = &conf,
            },
        .svc_conf = &conf.svc,
        .database = &conf.database,
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
            },
        .upstreams = policyd_upstreams,
        .n_upstreams = sizeof(policyd_upstreams) / sizeof(policyd_upstreams[0]),
    };
    return service_main(&spec, argc, argv);
}

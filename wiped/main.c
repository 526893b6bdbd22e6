/* mgate-wiped: remote wipe requests and their lifecycle (see README.md).
 * Unprivileged. */
#include "iked.pb-c.h"
#include "policyd.pb-c.h"
#include "service.h"
#include "wiped.pb-c.h"

struct wiped_conf {
    struct mgate_svc_conf svc;
    char *database;
};

static const struct conf_key wiped_schema[] = {
    MGATE_SVC_KEYS(struct wiped_conf, svc, "wiped"),
    SERVICE_DB_KEY(struct wiped_conf, database, "wiped"),
    {NULL, 0, 0, NULL, 0, 0, NULL},
};

/* Schema history of wiped.db (append only; see common/db.h). */
static const struct db_migration wiped_migrations[] = {
    {"meta table",
     "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
     "INSERT INTO meta VALUES ('created', strftime('%Y-%m-%dT%H:%M:%SZ', 'now'));"},
};

static const char *const wiped_topics[] = {"lifecycle", NULL};

/* A finished wipe disenrolls the device (policyd) and cuts its tunnel (iked). */
static const struct upstream_def wiped_upstreams[] = {
    {.service = "policyd",
     .request = &mgate__policyd_request__descriptor,
     .response = &mgate__policyd_response__descriptor,
     .event = &mgate__policyd_event__descriptor},
    {.service = "iked",
     .request = &mgate__iked_request__descriptor,
     .response = &mgate__iked_response__descriptor,
     .event = &mgate__iked_event__descriptor},
};

int main(int argc, char **argv)
{
    static struct wiped_conf conf;
    static const struct service_spec spec = {
        .daemon =
            {
                .name = "wiped",
                .summary = "Remote wipe requests and their lifecycle for mgate.",
                .schema = wiped_schema,
                .section = &conf,
            },
        .svc_conf = &conf.svc,
        .database = &conf.database,
        .migrations = wiped_migrations,
        .n_migrations = sizeof(wiped_migrations) / sizeof(wiped_migrations[0]),
        /* Losing the last write could lose a wipe. */
        .db_sync_full = true,
        .api =
            {
                .request = &mgate__wiped_request__descriptor,
                .response = &mgate__wiped_response__descriptor,
                .event = &mgate__wiped_event__descriptor,
                .topics = wiped_topics,
            },
        .upstreams = wiped_upstreams,
        .n_upstreams = sizeof(wiped_upstreams) / sizeof(wiped_upstreams[0]),
    };
    return service_main(&spec, argc, argv);
}

/* mgate-iked: the IKEv2 responder (see README.md). Unprivileged: its UDP
 * sockets come from xfrmd, its kernel changes go through xfrmd. */
#include "iked.pb-c.h"
#include "policyd.pb-c.h"
#include "service.h"
#include "wiped.pb-c.h"
#include "xfrmd.pb-c.h"

struct iked_conf {
    struct mgate_svc_conf svc;
    char *database;
};

static const struct conf_key iked_schema[] = {
    MGATE_SVC_KEYS(struct iked_conf, svc, "iked"),
    SERVICE_DB_KEY(struct iked_conf, database, "iked"),
    {NULL, 0, 0, NULL, 0, 0, NULL},
};

/* Schema history of iked.db (append only; see common/db.h). */
static const struct db_migration iked_migrations[] = {
    {"meta table", "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                   "INSERT INTO meta VALUES ('created', strftime('%Y-%m-%dT%H:%M:%SZ', 'now'));"},
};

static const char *const iked_topics[] = {"lifecycle", NULL};

static const struct upstream_def iked_upstreams[] = {
    {.service = "xfrmd",
     .request = &mgate__xfrmd_request__descriptor,
     .response = &mgate__xfrmd_response__descriptor,
     .event = &mgate__xfrmd_event__descriptor},
    {.service = "policyd",
     .request = &mgate__policyd_request__descriptor,
     .response = &mgate__policyd_response__descriptor,
     .event = &mgate__policyd_event__descriptor},
};

int main(int argc, char **argv)
{
    static struct iked_conf conf;
    static const struct service_spec spec = {
        .daemon =
            {
                .name = "iked",
                .summary = "IKEv2/MOBIKE responder for mgate devices (unprivileged).",
                .schema = iked_schema,
                .section = &conf,
            },
        .svc_conf = &conf.svc,
        .database = &conf.database,
        .migrations = iked_migrations,
        .n_migrations = sizeof(iked_migrations) / sizeof(iked_migrations[0]),
        .api =
            {
                .request = &mgate__iked_request__descriptor,
                .response = &mgate__iked_response__descriptor,
                .event = &mgate__iked_event__descriptor,
                .topics = iked_topics,
            },
        .upstreams = iked_upstreams,
        .n_upstreams = sizeof(iked_upstreams) / sizeof(iked_upstreams[0]),
    };
    return service_main(&spec, argc, argv);
}

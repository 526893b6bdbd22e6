/* The life of an mgate daemon, shared by all four: config, state directory,
 * database with migrations, the socket API, the upstream connections, the
 * daemon's own start/stop hooks, readiness, and a clean stop on SIGTERM
 * (subscribers are told, upstreams closed, the database closed last). */
#ifndef MGATE_SERVICE_H
#define MGATE_SERVICE_H

#include <sqlite3.h>

#include "daemon.h"
#include "db.h"
#include "svc.h"
#include "upstream.h"

struct service;

struct service_spec {
    struct daemon_spec daemon;
    struct mgate_svc_conf *svc_conf; /* inside daemon.section */
    char **database;                 /* the section's "database" field; NULL: no database */
    const struct db_migration *migrations;
    size_t n_migrations;
    bool db_sync_full;
    struct svc_def api;
    const struct upstream_def *upstreams;
    size_t n_upstreams;
    /* After the database is open and before the socket serves. */
    int (*start)(struct service *s, void *ud);
    /* --check-config: what start would refuse, checked without starting
     * (no socket, no database, no upstream). NULL: the section binding is
     * the whole check. */
    int (*check)(struct service *s, void *ud);
    /* On SIGTERM, before the socket and upstreams close. */
    void (*stop)(struct service *s, void *ud);
    void *ud;
};

#define SERVICE_DB_KEY(type, member, svcname)                                                      \
    {                                                                                              \
        "database", CONF_PATH, offsetof(type, member), "", 0, 0,                                   \
            "SQLite database (default: <state_dir>/" svcname ".db)"                                \
    }

int service_main(const struct service_spec *spec, int argc, char **argv);

struct daemon *service_daemon(struct service *s);
sqlite3 *service_db(struct service *s);
struct svc *service_svc(struct service *s);
struct upstream *service_upstream(struct service *s, const char *name);

#endif

#include "service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define SERVICE_MAX_UPSTREAMS 8

struct service {
    const struct service_spec *spec;
    struct daemon d;
    sqlite3 *db;
    struct svc *svc;
    struct upstream *ups[SERVICE_MAX_UPSTREAMS];
    size_t n_ups;
};

struct daemon *service_daemon(struct service *s)
{
    return &s->d;
}

sqlite3 *service_db(struct service *s)
{
    return s->db;
}

struct svc *service_svc(struct service *s)
{
    return s->svc;
}

struct upstream *service_upstream(struct service *s, const char *name)
{
    for (size_t i = 0; i < s->n_ups; i++)
        if (strcmp(upstream_name(s->ups[i]), name) == 0)
            return s->ups[i];
    return NULL;
}

static void service_stop(struct daemon *d, void *ud)
{
    struct service *s = ud;
    (void)d;
    if (s->spec->stop)
        s->spec->stop(s, s->spec->ud);
    svc_close(s->svc, "stopped by signal");
    s->svc = NULL;
    /* What the stop hook just asked of other daemons (a tunnel's kernel
     * state removed) gets up to 2 s to finish before the connections go. */
    for (size_t i = 0; i < s->n_ups; i++)
        upstream_close_when_idle(s->ups[i], 2000);
}

static int service_open_db(struct service *s)
{
    const struct service_spec *spec = s->spec;
    if (!spec->database)
        return 0;
    if (!*spec->database || !**spec->database) {
        char name[64];
        snprintf(name, sizeof(name), "%s.db", spec->daemon.name);
        free(*spec->database);
        *spec->database = mgate_path_join(s->d.g.state_dir, name);
        if (!*spec->database)
            return -1;
        if (daemon_ensure_dir(s->d.g.state_dir, 0750) < 0)
            return -1;
    }
    struct db_options opt = {.sync_full = spec->db_sync_full};
    char *msg = NULL;
    if (db_open(*spec->database, spec->migrations, spec->n_migrations, &opt, &s->db, &msg) < 0) {
        log_err("cannot open database: %s", msg ? msg : "out of memory");
        free(msg);
        return -1;
    }
    return 0;
}

int service_main(const struct service_spec *spec, int argc, char **argv)
{
    struct service *s = calloc(1, sizeof(*s));
    if (!s)
        return EXIT_FAILURE;
    s->spec = spec;
    int rc = daemon_init(&s->d, &spec->daemon, argc, argv);
    if (rc) {
        daemon_free(&s->d, &spec->daemon);
        free(s);
        return rc > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
    }
    int status = EXIT_FAILURE;
    struct ipc_acl acl;
    struct conf_error err = {{0}};
    if (s->d.check_only) {
        if (mgate_svc_resolve(&s->d.cf, spec->daemon.name, &s->d.g, spec->svc_conf, &acl, &err) <
            0) {
            log_err("bad configuration: %s", err.msg);
            goto out;
        }
        if (spec->check && spec->check(s, spec->ud) < 0)
            goto out;
        printf("%s: configuration OK\n", s->d.cf.path ? s->d.cf.path : "(built-in defaults)");
        status = EXIT_SUCCESS;
        goto out;
    }
    if (daemon_ensure_dir(s->d.g.run_dir, 0755) < 0)
        goto out;
    if (mgate_svc_resolve(&s->d.cf, spec->daemon.name, &s->d.g, spec->svc_conf, &acl, &err) < 0) {
        log_err("bad configuration: %s", err.msg);
        goto out;
    }
    if (service_open_db(s) < 0)
        goto out;
    if (spec->start && spec->start(s, spec->ud) < 0)
        goto out;
    struct svc_def api = spec->api;
    api.schema_version = s->db ? (uint32_t)db_schema_version(s->db) : 0;
    if (svc_start(&s->d, &api, spec->svc_conf, &acl, spec->ud, &s->svc) < 0)
        goto out;
    for (size_t i = 0; i < spec->n_upstreams && i < SERVICE_MAX_UPSTREAMS; i++) {
        if (upstream_start(&s->d, &spec->upstreams[i], spec->ud, &s->ups[s->n_ups]) < 0) {
            service_stop(&s->d, s);
            daemon_close_handles(&s->d);
            goto out;
        }
        s->n_ups++;
    }
    svc_set_upstreams(s->svc, s->ups, s->n_ups);
    daemon_on_stop(&s->d, service_stop, s);
    char status_line[128];
    snprintf(status_line, sizeof(status_line), "serving on %s", spec->svc_conf->socket);
    svc_set_detail(s->svc, status_line);
    daemon_ready(&s->d, status_line);
    daemon_run(&s->d);
    status = EXIT_SUCCESS;
    log_info("stopped");
out:
    for (size_t i = 0; i < s->n_ups; i++)
        upstream_free(s->ups[i]);
    db_close(s->db);
    daemon_free(&s->d, &spec->daemon);
    free(s);
    return status;
}

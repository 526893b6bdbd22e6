#include "mgate_conf.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "log.h"
#include "paths.h"

#define G(m) offsetof(struct mgate_global_conf, m)
const struct conf_key mgate_global_schema[] = {
    {"run_dir", CONF_PATH, G(run_dir), MGATE_RUNDIR, 0, 0, "sockets and checkpoints (tmpfs)"},
    {"state_dir", CONF_PATH, G(state_dir), MGATE_STATEDIR, 0, 0, "databases"},
    {"log_level", CONF_LOGLEVEL, G(log_level), "info", 0, 0, "err, warning, notice, info or debug"},
    {"max_frame", CONF_SIZE, G(max_frame), "1M", 4096, 64u << 20,
     "largest IPC frame accepted; a larger one closes the connection"},
    {"request_timeout", CONF_DURATION, G(request_timeout_ms), "10s", 100, 600000,
     "how long a daemon waits for another daemon's answer"},
    {NULL, 0, 0, NULL, 0, 0, NULL},
};
#undef G

const char *mgate_conf_path(const char *cli_path)
{
    if (cli_path)
        return cli_path;
    const char *env = getenv("MGATE_CONFIG");
    if (env && *env)
        return env;
    return MGATE_DEFAULT_CONFIG;
}

int mgate_conf_load(const char *path, bool path_explicit, struct conf_file *cf,
                    struct mgate_global_conf *g, struct conf_error *err)
{
    memset(g, 0, sizeof(*g));
    int rc = conf_file_load(path, !path_explicit, cf, err);
    if (rc)
        return rc;
    rc = conf_bind(cf, "global", mgate_global_schema, g, false, err);
    if (rc) {
        mgate_conf_free(cf, g);
        return rc;
    }
    return 0;
}

void mgate_conf_free(struct conf_file *cf, struct mgate_global_conf *g)
{
    conf_unbind(mgate_global_schema, g);
    conf_file_free(cf);
}

char *mgate_path_join(const char *dir, const char *name)
{
    char *p;
    if (asprintf(&p, "%s/%s", dir, name) < 0)
        return NULL;
    return p;
}

static const struct conf_entry *mgate_conf_entry(const struct conf_file *cf, const char *section,
                                                 const char *key)
{
    for (size_t i = 0; i < cf->n_sections; i++) {
        if (strcmp(cf->sections[i].name, section) != 0)
            continue;
        for (size_t j = 0; j < cf->sections[i].n_entries; j++)
            if (strcmp(cf->sections[i].entries[j].key, key) == 0)
                return &cf->sections[i].entries[j];
    }
    return NULL;
}

static int mgate_parse_id(const char *s, unsigned long *id)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || end == s)
        return -1;
    *id = v;
    return 0;
}

static int mgate_acl_add_names(const struct conf_list *names, bool groups, bool explicit_list,
                               const struct conf_file *cf, const struct conf_entry *e,
                               struct ipc_acl *acl, struct conf_error *err)
{
    for (size_t i = 0; i < names->n; i++) {
        const char *n = names->v[i];
        unsigned long id;
        int found = 0;
        if (mgate_parse_id(n, &id) == 0) {
            found = 1;
        } else if (groups) {
            struct group *gr = getgrnam(n);
            if (gr) {
                id = gr->gr_gid;
                found = 1;
            }
        } else {
            struct passwd *pw = getpwnam(n);
            if (pw) {
                id = pw->pw_uid;
                found = 1;
            }
        }
        if (!found) {
            if (!explicit_list) {
                log_debug("default %s '%s' does not exist here; not allowed",
                          groups ? "group" : "user", n);
                continue;
            }
            snprintf(err->msg, sizeof(err->msg), "%s:%u: %s: no such %s '%s'",
                     cf->path ? cf->path : "<config>", e->line, e->key, groups ? "group" : "user",
                     n);
            return -EINVAL;
        }
        int rc = groups ? ipc_acl_add_gid(acl, (gid_t)id) : ipc_acl_add_uid(acl, (uid_t)id);
        if (rc) {
            snprintf(err->msg, sizeof(err->msg), "%s: more than %d %s allowed",
                     cf->path ? cf->path : "<config>", IPC_ACL_MAX, groups ? "groups" : "users");
            return rc;
        }
    }
    return 0;
}

int mgate_svc_resolve(const struct conf_file *cf, const char *section,
                      const struct mgate_global_conf *g, struct mgate_svc_conf *svc,
                      struct ipc_acl *acl, struct conf_error *err)
{
    if (!svc->socket || !*svc->socket) {
        char name[64];
        snprintf(name, sizeof(name), "%s.sock", section);
        free(svc->socket);
        svc->socket = mgate_path_join(g->run_dir, name);
        if (!svc->socket)
            return -ENOMEM;
    }
    if (!acl)
        return 0;
    memset(acl, 0, sizeof(*acl));
    const struct conf_entry *eu = mgate_conf_entry(cf, section, "allow_users");
    const struct conf_entry *eg = mgate_conf_entry(cf, section, "allow_groups");
    int rc = mgate_acl_add_names(&svc->allow_users, false, eu != NULL, cf, eu, acl, err);
    if (rc == 0)
        rc = mgate_acl_add_names(&svc->allow_groups, true, eg != NULL, cf, eg, acl, err);
    return rc;
}

char *mgate_svc_socket_path(const struct conf_file *cf, const struct mgate_global_conf *g,
                            const char *service, struct conf_error *err)
{
    /* Only the socket key matters here; the section's other keys belong to
     * its daemon, which checks them. */
    static const struct conf_key schema[] = {
        {"socket", CONF_PATH, offsetof(struct mgate_svc_conf, socket), "", 0, 0, NULL},
        {NULL, 0, 0, NULL, 0, 0, NULL},
    };
    struct mgate_svc_conf sc = {0};
    if (conf_bind(cf, service, schema, &sc, true, err) < 0 ||
        mgate_svc_resolve(cf, service, g, &sc, NULL, err) < 0) {
        conf_unbind(schema, &sc);
        return NULL;
    }
    return sc.socket;
}

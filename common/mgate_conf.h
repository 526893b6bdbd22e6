/* The settings every daemon shares: the [global] section and, in each daemon's
 * own section, where its socket is and who may talk to it. */
#ifndef MGATE_MGATE_CONF_H
#define MGATE_MGATE_CONF_H

#include <stddef.h>
#include <sys/types.h>

#include "conf.h"
#include "ipc_acl.h"
#include "paths.h"

struct mgate_global_conf {
    char *run_dir;
    char *state_dir;
    int log_level;
    uint64_t max_frame;
    uint64_t request_timeout_ms;
};

/* Keys of a daemon's section that describe its socket server. */
struct mgate_svc_conf {
    char *socket;
    struct conf_list allow_users;
    struct conf_list allow_groups;
};

extern const struct conf_key mgate_global_schema[];

#define MGATE_SVC_KEYS(type, member, svcname)                                                      \
    {"socket",                                                                                     \
     CONF_PATH,                                                                                    \
     offsetof(type, member.socket),                                                                \
     "",                                                                                           \
     0,                                                                                            \
     0,                                                                                            \
     "UNIX socket path (default: <run_dir>/" svcname ".sock)"},                                    \
        {"allow_users",                                                                            \
         CONF_LIST,                                                                                \
         offsetof(type, member.allow_users),                                                       \
         "root mgate",                                                                             \
         0,                                                                                        \
         0,                                                                                        \
         "users (names or uids) whose processes may connect"},                                     \
    {                                                                                              \
        "allow_groups", CONF_LIST, offsetof(type, member.allow_groups), "mgate-admin", 0, 0,       \
            "groups whose members may connect (mgatectl users)"                                    \
    }

/* The config path: --config beats $MGATE_CONFIG beats the built-in default. */
const char *mgate_conf_path(const char *cli_path);

/* Loads the file (a missing default file is fine, a missing named one is not)
 * and binds [global]. */
int mgate_conf_load(const char *path, bool path_explicit, struct conf_file *cf,
                    struct mgate_global_conf *g, struct conf_error *err);
void mgate_conf_free(struct conf_file *cf, struct mgate_global_conf *g);

/* Fills the socket default from run_dir and resolves the allow lists to an
 * ACL. Names in the built-in default that do not exist on this system (the
 * lab has no "mgate" user) are skipped; a name written in the file that does
 * not exist is an error. */
int mgate_svc_resolve(const struct conf_file *cf, const char *section,
                      const struct mgate_global_conf *g, struct mgate_svc_conf *svc,
                      struct ipc_acl *acl, struct conf_error *err);

/* Another daemon's socket path, from its section (or the run_dir default).
 * A new string, or NULL with err set. */
char *mgate_svc_socket_path(const struct conf_file *cf, const struct mgate_global_conf *g,
                            const char *service, struct conf_error *err);

/* "<dir>/<name>" in a new string. */
char *mgate_path_join(const char *dir, const char *name);

#endif

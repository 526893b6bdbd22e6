/* Groups, device memberships, policies, their settings and links in
 * policyd.db; and the loading of a device's effective policy. Functions
 * return 0 or -errno (-ENOENT, -EEXIST, -EBUSY, -EINVAL, -EIO) with a
 * reason in why (REGISTRY_ERR bytes). Callers hold the transaction. */
#ifndef MGATE_POLICYD_POLICY_DB_H
#define MGATE_POLICYD_POLICY_DB_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"
#include "registry.h"

/* A list of strings that owns them. */
struct strv {
    char **v;
    size_t n, cap;
};
int strv_add(struct strv *s, const char *str);
void strv_free(struct strv *s);

/* ---- groups.c ---- */
/* Creates path and its missing ancestors; the created paths go to created. */
int grp_create(sqlite3 *db, const char *path, int64_t now, struct strv *created, char *why);
/* Refused (-EBUSY) while the group has subgroups, members or links. */
int grp_delete(sqlite3 *db, const char *path, char *why);
int64_t grp_id(sqlite3 *db, const char *path, char *why);
/* Replaces the device's memberships; every group must exist. */
int grp_device_set(sqlite3 *db, int64_t device_id, char *const *groups, size_t n, char *why);
/* The device's groups, by path. */
int grp_device_groups(sqlite3 *db, int64_t device_id, struct strv *out);
/* Devices that are members of path or of a group below it. */
int grp_subtree_devices(sqlite3 *db, const char *path, int64_t **ids, size_t *n);
/* Devices in or below any group the policy is linked to. */
int grp_policy_devices(sqlite3 *db, int64_t policy_id, int64_t **ids, size_t *n);

/* ---- policy_db.c ---- */
int64_t pdb_policy_id(sqlite3 *db, const char *name, char *why);
int pdb_policy_create(sqlite3 *db, const char *name, int64_t now, char *why);
/* Refused (-EBUSY) while linked. */
int pdb_policy_delete(sqlite3 *db, const char *name, char *why);
/* canon NULL: unset. */
int pdb_setting_set(sqlite3 *db, int64_t policy_id, const char *setting, const char *canon,
                    char *why);
/* position 0: last; others shift down. -EEXIST when already linked there. */
int pdb_link(sqlite3 *db, int64_t policy_id, int64_t group_id, uint32_t position, char *why);
int pdb_unlink(sqlite3 *db, int64_t policy_id, int64_t group_id, char *why);

/* Every link with its policy's settings; owns its strings. */
struct pdb_links {
    struct pol_link *v;
    size_t n;
    struct strv strings;
};
int pdb_links_load(sqlite3 *db, struct pdb_links *out);
void pdb_links_free(struct pdb_links *l);

/* A device's effective policy; owns what it points into. */
struct pdb_effective {
    struct strv groups;
    struct pdb_links links;
    struct pol_effective eff;
};
int pdb_effective(sqlite3 *db, int64_t device_id, struct pdb_effective *out);
void pdb_effective_free(struct pdb_effective *e);

#endif

/* The group tree and device memberships in policyd.db (see policy_db.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_db.h"

int strv_add(struct strv *s, const char *str)
{
    if (s->n == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 8;
        char **nv = realloc(s->v, ncap * sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        s->v = nv;
        s->cap = ncap;
    }
    char *d = strdup(str ? str : "");
    if (!d)
        return -ENOMEM;
    s->v[s->n++] = d;
    return 0;
}

void strv_free(struct strv *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof(*s));
}

int64_t grp_id(sqlite3 *db, const char *path, char *why)
{
    sqlite3_stmt *st = reg_prep(db, "SELECT id FROM groups WHERE path = ?", why);
    if (!st)
        return -EIO;
    sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    int64_t id = rc == SQLITE_ROW    ? sqlite3_column_int64(st, 0)
                 : rc == SQLITE_DONE ? -ENOENT
                                     : -EIO;
    sqlite3_finalize(st);
    if (id == -ENOENT && why)
        snprintf(why, REGISTRY_ERR, "no group '%s'", path);
    return id;
}

int grp_create(sqlite3 *db, const char *path, int64_t now, struct strv *created, char *why)
{
    if (!pol_group_path_ok(path)) {
        snprintf(why, REGISTRY_ERR,
                 "'%s' is not a group path (1 to 16 names of letters, digits, '_', '.', '-', "
                 "separated by '/')",
                 path ? path : "");
        return -EINVAL;
    }
    if (grp_id(db, path, NULL) > 0) {
        snprintf(why, REGISTRY_ERR, "group '%s' already exists", path);
        return -EEXIST;
    }
    char prefix[256];
    size_t n = strlen(path);
    for (size_t i = 0; i <= n; i++) {
        if (path[i] != '/' && path[i] != '\0')
            continue;
        memcpy(prefix, path, i);
        prefix[i] = '\0';
        if (grp_id(db, prefix, NULL) > 0)
            continue;
        sqlite3_stmt *st = reg_prep(db, "INSERT INTO groups (path, created) VALUES (?, ?)", why);
        if (!st)
            return -EIO;
        sqlite3_bind_text(st, 1, prefix, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, now);
        int rc = reg_step_done(db, st, why);
        if (rc < 0)
            return rc;
        if (created && strv_add(created, prefix) < 0)
            return -ENOMEM;
    }
    return 0;
}

/* One integer from a query with one text parameter. */
static int64_t grp_count(sqlite3 *db, const char *sql, const char *arg)
{
    sqlite3_stmt *st = reg_prep(db, sql, NULL);
    if (!st)
        return -EIO;
    sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
    int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -EIO;
    sqlite3_finalize(st);
    return v;
}

int grp_delete(sqlite3 *db, const char *path, char *why)
{
    int64_t id = grp_id(db, path, why);
    if (id < 0)
        return (int)id;
    int64_t sub = grp_count(
        db, "SELECT count(*) FROM groups WHERE substr(path, 1, length(?1) + 1) = ?1 || '/'", path);
    int64_t mem = grp_count(db,
                            "SELECT count(*) FROM device_groups d JOIN groups g "
                            "ON g.id = d.group_id WHERE g.path = ?1",
                            path);
    int64_t lnk = grp_count(db,
                            "SELECT count(*) FROM policy_links l JOIN groups g "
                            "ON g.id = l.group_id WHERE g.path = ?1",
                            path);
    if (sub < 0 || mem < 0 || lnk < 0) {
        snprintf(why, REGISTRY_ERR, "database error");
        return -EIO;
    }
    if (sub || mem || lnk) {
        snprintf(why, REGISTRY_ERR,
                 "group '%s' is in use: %lld subgroup(s), %lld device(s), %lld linked "
                 "policy(ies)",
                 path, (long long)sub, (long long)mem, (long long)lnk);
        return -EBUSY;
    }
    sqlite3_stmt *st = reg_prep(db, "DELETE FROM groups WHERE id = ?", why);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, id);
    return reg_step_done(db, st, why);
}

int grp_device_set(sqlite3 *db, int64_t device_id, char *const *groups, size_t n, char *why)
{
    int64_t *ids = calloc(n ? n : 1, sizeof(*ids));
    if (!ids)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        ids[i] = grp_id(db, groups[i], why);
        if (ids[i] < 0) {
            int rc = (int)ids[i];
            free(ids);
            return rc;
        }
    }
    sqlite3_stmt *st = reg_prep(db, "DELETE FROM device_groups WHERE device_id = ?", why);
    int rc = st ? 0 : -EIO;
    if (st) {
        sqlite3_bind_int64(st, 1, device_id);
        rc = reg_step_done(db, st, why);
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        st = reg_prep(db, "INSERT OR IGNORE INTO device_groups (device_id, group_id) VALUES (?, ?)",
                      why);
        if (!st) {
            rc = -EIO;
            break;
        }
        sqlite3_bind_int64(st, 1, device_id);
        sqlite3_bind_int64(st, 2, ids[i]);
        rc = reg_step_done(db, st, why);
    }
    free(ids);
    return rc;
}

int grp_device_groups(sqlite3 *db, int64_t device_id, struct strv *out)
{
    sqlite3_stmt *st = reg_prep(db,
                                "SELECT g.path FROM device_groups d JOIN groups g "
                                "ON g.id = d.group_id WHERE d.device_id = ? ORDER BY g.path",
                                NULL);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, device_id);
    int rc, ret = 0;
    while (ret == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW)
        ret = strv_add(out, (const char *)sqlite3_column_text(st, 0));
    if (ret == 0 && rc != SQLITE_DONE)
        ret = -EIO;
    sqlite3_finalize(st);
    return ret;
}

static int grp_ids_query(sqlite3_stmt *st, int64_t **ids, size_t *n)
{
    *ids = NULL;
    *n = 0;
    size_t cap = 0;
    int rc, ret = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            int64_t *nv = realloc(*ids, ncap * sizeof(*nv));
            if (!nv) {
                ret = -ENOMEM;
                break;
            }
            *ids = nv;
            cap = ncap;
        }
        (*ids)[(*n)++] = sqlite3_column_int64(st, 0);
    }
    if (ret == 0 && rc != SQLITE_DONE)
        ret = -EIO;
    sqlite3_finalize(st);
    if (ret < 0) {
        free(*ids);
        *ids = NULL;
        *n = 0;
    }
    return ret;
}

int grp_subtree_devices(sqlite3 *db, const char *path, int64_t **ids, size_t *n)
{
    sqlite3_stmt *st = reg_prep(
        db,
        "SELECT DISTINCT d.device_id FROM device_groups d JOIN groups g "
        "ON g.id = d.group_id WHERE g.path = ?1 OR substr(g.path, 1, length(?1) + 1) = ?1 || '/' "
        "ORDER BY d.device_id",
        NULL);
    if (!st)
        return -EIO;
    sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
    return grp_ids_query(st, ids, n);
}

int grp_policy_devices(sqlite3 *db, int64_t policy_id, int64_t **ids, size_t *n)
{
    sqlite3_stmt *st = reg_prep(db,
                                "SELECT DISTINCT d.device_id FROM policy_links l "
                                "JOIN groups lg ON lg.id = l.group_id "
                                "JOIN groups g ON g.path = lg.path "
                                "OR substr(g.path, 1, length(lg.path) + 1) = lg.path || '/' "
                                "JOIN device_groups d ON d.group_id = g.id "
                                "WHERE l.policy_id = ? ORDER BY d.device_id",
                                NULL);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, policy_id);
    return grp_ids_query(st, ids, n);
}

/* Policies, their settings and their links to groups in policyd.db, and
 * the loading of a device's effective policy (see policy_db.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_db.h"

static bool pdb_name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)name[i] <= 0x20 || name[i] == 0x7f)
            return false;
    return true;
}

int64_t pdb_policy_id(sqlite3 *db, const char *name, char *why)
{
    sqlite3_stmt *st = reg_prep(db, "SELECT id FROM policies WHERE name = ?", why);
    if (!st)
        return -EIO;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    int64_t id = rc == SQLITE_ROW    ? sqlite3_column_int64(st, 0)
                 : rc == SQLITE_DONE ? -ENOENT
                                     : -EIO;
    sqlite3_finalize(st);
    if (id == -ENOENT && why)
        snprintf(why, REGISTRY_ERR, "no policy '%s'", name);
    return id;
}

int pdb_policy_create(sqlite3 *db, const char *name, int64_t now, char *why)
{
    if (!pdb_name_ok(name)) {
        snprintf(why, REGISTRY_ERR, "a policy name is 1 to 64 printable characters, no spaces");
        return -EINVAL;
    }
    sqlite3_stmt *st = reg_prep(db, "INSERT INTO policies (name, created) VALUES (?, ?)", why);
    if (!st)
        return -EIO;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now);
    int rc = reg_step_done(db, st, why);
    if (rc == -EEXIST)
        snprintf(why, REGISTRY_ERR, "policy '%s' already exists", name);
    return rc;
}

int pdb_policy_delete(sqlite3 *db, const char *name, char *why)
{
    int64_t id = pdb_policy_id(db, name, why);
    if (id < 0)
        return (int)id;
    sqlite3_stmt *st = reg_prep(db,
                                "SELECT group_concat(g.path, ', ') FROM policy_links l "
                                "JOIN groups g ON g.id = l.group_id WHERE l.policy_id = ?",
                                why);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, id);
    const unsigned char *linked =
        sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_text(st, 0) : NULL;
    if (linked) {
        snprintf(why, REGISTRY_ERR, "policy '%s' is linked to %s: unlink it first", name,
                 (const char *)linked);
        sqlite3_finalize(st);
        return -EBUSY;
    }
    sqlite3_finalize(st);
    st = reg_prep(db, "DELETE FROM policies WHERE id = ?", why);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, id);
    return reg_step_done(db, st, why);
}

int pdb_setting_set(sqlite3 *db, int64_t policy_id, const char *setting, const char *canon,
                    char *why)
{
    sqlite3_stmt *st =
        canon
            ? reg_prep(db,
                       "INSERT INTO policy_settings (policy_id, setting, value) VALUES (?, ?, ?) "
                       "ON CONFLICT (policy_id, setting) DO UPDATE SET value = excluded.value",
                       why)
            : reg_prep(db, "DELETE FROM policy_settings WHERE policy_id = ? AND setting = ?", why);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, policy_id);
    sqlite3_bind_text(st, 2, setting, -1, SQLITE_STATIC);
    if (canon)
        sqlite3_bind_text(st, 3, canon, -1, SQLITE_STATIC);
    return reg_step_done(db, st, why);
}

static int pdb_exec_ids(sqlite3 *db, const char *sql, int64_t a, int64_t b, char *why)
{
    sqlite3_stmt *st = reg_prep(db, sql, why);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, a);
    sqlite3_bind_int64(st, 2, b);
    return reg_step_done(db, st, why);
}

int pdb_link(sqlite3 *db, int64_t policy_id, int64_t group_id, uint32_t position, char *why)
{
    sqlite3_stmt *st = reg_prep(db,
                                "SELECT count(*), sum(policy_id = ?2) FROM policy_links "
                                "WHERE group_id = ?1",
                                why);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, group_id);
    sqlite3_bind_int64(st, 2, policy_id);
    int64_t count = -1, already = 0;
    if (sqlite3_step(st) == SQLITE_ROW) {
        count = sqlite3_column_int64(st, 0);
        already = sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    if (count < 0)
        return -EIO;
    if (already) {
        snprintf(why, REGISTRY_ERR, "the policy is already linked to this group");
        return -EEXIST;
    }
    if (position == 0 || position > count + 1)
        position = (uint32_t)count + 1;
    int rc = pdb_exec_ids(db,
                          "UPDATE policy_links SET position = position + 1 "
                          "WHERE group_id = ?1 AND position >= ?2",
                          group_id, position, why);
    if (rc < 0)
        return rc;
    st = reg_prep(db, "INSERT INTO policy_links (group_id, policy_id, position) VALUES (?, ?, ?)",
                  why);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, group_id);
    sqlite3_bind_int64(st, 2, policy_id);
    sqlite3_bind_int64(st, 3, position);
    return reg_step_done(db, st, why);
}

int pdb_unlink(sqlite3 *db, int64_t policy_id, int64_t group_id, char *why)
{
    sqlite3_stmt *st =
        reg_prep(db, "SELECT position FROM policy_links WHERE group_id = ? AND policy_id = ?", why);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, group_id);
    sqlite3_bind_int64(st, 2, policy_id);
    int64_t pos = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    if (!pos) {
        snprintf(why, REGISTRY_ERR, "the policy is not linked to this group");
        return -ENOENT;
    }
    int rc = pdb_exec_ids(db, "DELETE FROM policy_links WHERE group_id = ?1 AND policy_id = ?2",
                          group_id, policy_id, why);
    if (rc == 0)
        rc = pdb_exec_ids(db,
                          "UPDATE policy_links SET position = position - 1 "
                          "WHERE group_id = ?1 AND position > ?2",
                          group_id, pos, why);
    return rc;
}

void pdb_links_free(struct pdb_links *l)
{
    free(l->v);
    strv_free(&l->strings);
    memset(l, 0, sizeof(*l));
}

/* The string kept in l->strings; NULL when out of memory. */
static const char *pdb_keep(struct pdb_links *l, const unsigned char *s)
{
    if (strv_add(&l->strings, (const char *)s) < 0)
        return NULL;
    return l->strings.v[l->strings.n - 1];
}

int pdb_links_load(sqlite3 *db, struct pdb_links *out)
{
    memset(out, 0, sizeof(*out));
    sqlite3_stmt *st =
        reg_prep(db,
                 "SELECT l.policy_id, g.path, p.name, l.position FROM policy_links l "
                 "JOIN groups g ON g.id = l.group_id "
                 "JOIN policies p ON p.id = l.policy_id ORDER BY g.path, l.position",
                 NULL);
    if (!st)
        return -EIO;
    int64_t *pids = NULL;
    size_t cap = 0;
    int rc, ret = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (out->n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            struct pol_link *nv = realloc(out->v, ncap * sizeof(*nv));
            int64_t *np = nv ? realloc(pids, ncap * sizeof(*np)) : NULL;
            if (nv)
                out->v = nv;
            if (!np) {
                ret = -ENOMEM;
                break;
            }
            pids = np;
            cap = ncap;
        }
        struct pol_link *l = &out->v[out->n];
        memset(l, 0, sizeof(*l));
        pids[out->n] = sqlite3_column_int64(st, 0);
        l->group = pdb_keep(out, sqlite3_column_text(st, 1));
        l->policy = pdb_keep(out, sqlite3_column_text(st, 2));
        l->position = (uint32_t)sqlite3_column_int64(st, 3);
        out->n++;
        if (!l->group || !l->policy) {
            ret = -ENOMEM;
            break;
        }
    }
    if (ret == 0 && rc != SQLITE_DONE)
        ret = -EIO;
    sqlite3_finalize(st);
    st = ret == 0 ? reg_prep(db, "SELECT policy_id, setting, value FROM policy_settings", NULL)
                  : NULL;
    if (ret == 0 && !st)
        ret = -EIO;
    while (ret == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t pid = sqlite3_column_int64(st, 0);
        int s = pol_setting_find((const char *)sqlite3_column_text(st, 1));
        if (s < 0)
            continue; /* a setting a newer policyd wrote: not ours to apply */
        const char *v = NULL;
        for (size_t i = 0; i < out->n; i++) {
            if (pids[i] != pid)
                continue;
            if (!v && !(v = pdb_keep(out, sqlite3_column_text(st, 2)))) {
                ret = -ENOMEM;
                break;
            }
            out->v[i].values[s] = v;
        }
    }
    if (ret == 0 && st && rc != SQLITE_DONE)
        ret = -EIO;
    sqlite3_finalize(st);
    free(pids);
    if (ret < 0)
        pdb_links_free(out);
    return ret;
}

int pdb_effective(sqlite3 *db, int64_t device_id, struct pdb_effective *out)
{
    memset(out, 0, sizeof(*out));
    int rc = grp_device_groups(db, device_id, &out->groups);
    if (rc == 0)
        rc = pdb_links_load(db, &out->links);
    if (rc < 0) {
        pdb_effective_free(out);
        return rc;
    }
    pol_resolve((const char *const *)out->groups.v, out->groups.n, out->links.v, out->links.n,
                &out->eff);
    return 0;
}

void pdb_effective_free(struct pdb_effective *e)
{
    strv_free(&e->groups);
    pdb_links_free(&e->links);
    memset(e, 0, sizeof(*e));
}

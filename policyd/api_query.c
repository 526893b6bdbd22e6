/* policyd's read-only requests on groups and policies: the group list, the
 * policy list and a device's effective policy with where each setting came
 * from. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "log.h"

void *api_alloc(struct api_arena *a, size_t size)
{
    if (a->n == a->cap) {
        size_t ncap = a->cap ? a->cap * 2 : 32;
        void **nv = realloc(a->v, ncap * sizeof(*nv));
        if (!nv)
            return NULL;
        a->v = nv;
        a->cap = ncap;
    }
    void *m = calloc(1, size ? size : 1);
    if (m)
        a->v[a->n++] = m;
    return m;
}

char *api_str(struct api_arena *a, const unsigned char *s)
{
    const char *t = s ? (const char *)s : "";
    char *d = api_alloc(a, strlen(t) + 1);
    if (d)
        memcpy(d, t, strlen(t) + 1);
    return d;
}

void api_arena_free(struct api_arena *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->v[i]);
    free(a->v);
}

int api_push(struct api_arena *a, void ***arr, size_t *n, void *item)
{
    if ((*n & (*n - 1)) == 0 || *n == 0) {
        size_t ncap = *n ? *n * 2 : 4;
        void **nv = api_alloc(a, ncap * sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        if (*n)
            memcpy(nv, *arr, *n * sizeof(*nv));
        *arr = nv;
    }
    (*arr)[(*n)++] = item;
    return 0;
}

void api_fail(struct api_ctx *c, int rc)
{
    svc_reply_error(c->svc, c->conn, c->id, MGATE__ERROR_CODE__ERR_INTERNAL, "%s",
                    rc == -ENOMEM ? "out of memory" : "database error");
}

void api_group_list(struct api_ctx *c)
{
    struct api_arena a = {0};
    Mgate__GroupList rep = MGATE__GROUP_LIST__INIT;
    sqlite3_stmt *st = reg_prep(c->p->db,
                                "SELECT g.path, (SELECT count(*) FROM device_groups d "
                                "WHERE d.group_id = g.id), "
                                "(SELECT group_concat(name, ' ') FROM (SELECT p.name FROM "
                                "policy_links l JOIN policies p ON p.id = l.policy_id "
                                "WHERE l.group_id = g.id ORDER BY l.position)) "
                                "FROM groups g ORDER BY g.path",
                                NULL);
    int rc = st ? 0 : -EIO, step;
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
        Mgate__GroupInfo *g = api_alloc(&a, sizeof(*g));
        if (!g) {
            rc = -ENOMEM;
            break;
        }
        mgate__group_info__init(g);
        g->path = api_str(&a, sqlite3_column_text(st, 0));
        g->devices = (uint32_t)sqlite3_column_int64(st, 1);
        const char *pols = (const char *)sqlite3_column_text(st, 2);
        char *copy = pols ? api_str(&a, (const unsigned char *)pols) : NULL, *save = NULL;
        for (char *w = copy ? strtok_r(copy, " ", &save) : NULL; w && rc == 0;
             w = strtok_r(NULL, " ", &save))
            rc = api_push(&a, (void ***)&g->policies, &g->n_policies, w);
        if (!g->path || (pols && !copy) ||
            (rc == 0 && api_push(&a, (void ***)&rep.groups, &rep.n_groups, g) < 0))
            rc = -ENOMEM;
    }
    if (st && rc == 0 && step != SQLITE_DONE)
        rc = -EIO;
    sqlite3_finalize(st);
    if (rc < 0)
        api_fail(c, rc);
    else
        svc_reply(c->svc, c->conn, c->id, MGATE__POLICYD_RESPONSE__BODY_GROUP_LIST, &rep.base);
    api_arena_free(&a);
}

void api_policy_list(struct api_ctx *c, const Mgate__PolicyListRequest *rq)
{
    struct api_arena a = {0};
    Mgate__PolicyList rep = MGATE__POLICY_LIST__INIT;
    const char *name = rq->name && *rq->name ? rq->name : NULL;
    if (name && pdb_policy_id(c->p->db, name, NULL) == -ENOENT) {
        svc_reply_error(c->svc, c->conn, c->id, MGATE__ERROR_CODE__ERR_NOT_FOUND, "no policy '%s'",
                        name);
        return;
    }
    sqlite3_stmt *st = reg_prep(c->p->db,
                                "SELECT id, name FROM policies WHERE ?1 IS NULL OR name = ?1 "
                                "ORDER BY name",
                                NULL);
    int rc = st ? 0 : -EIO, step;
    if (st && name)
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
        Mgate__PolicyInfo *pi = api_alloc(&a, sizeof(*pi));
        if (!pi) {
            rc = -ENOMEM;
            break;
        }
        mgate__policy_info__init(pi);
        int64_t pid = sqlite3_column_int64(st, 0);
        pi->name = api_str(&a, sqlite3_column_text(st, 1));
        if (!pi->name || api_push(&a, (void ***)&rep.policies, &rep.n_policies, pi) < 0) {
            rc = -ENOMEM;
            break;
        }
        /* Settings in catalogue order. */
        for (int s = 0; rc == 0 && s < POL_N_SETTINGS; s++) {
            sqlite3_stmt *q = reg_prep(c->p->db,
                                       "SELECT value FROM policy_settings "
                                       "WHERE policy_id = ? AND setting = ?",
                                       NULL);
            if (!q) {
                rc = -EIO;
                break;
            }
            sqlite3_bind_int64(q, 1, pid);
            sqlite3_bind_text(q, 2, pol_settings[s].name, -1, SQLITE_STATIC);
            if (sqlite3_step(q) == SQLITE_ROW) {
                Mgate__PolicySetting *ps = api_alloc(&a, sizeof(*ps));
                if (ps) {
                    mgate__policy_setting__init(ps);
                    ps->setting = (char *)pol_settings[s].name;
                    ps->value = api_str(&a, sqlite3_column_text(q, 0));
                }
                if (!ps || !ps->value ||
                    api_push(&a, (void ***)&pi->settings, &pi->n_settings, ps) < 0)
                    rc = -ENOMEM;
            }
            sqlite3_finalize(q);
        }
        sqlite3_stmt *q = rc ? NULL
                             : reg_prep(c->p->db,
                                        "SELECT g.path, l.position FROM policy_links l JOIN groups "
                                        "g ON g.id = l.group_id WHERE l.policy_id = ? "
                                        "ORDER BY g.path",
                                        NULL);
        if (rc == 0 && !q)
            rc = -EIO;
        if (q)
            sqlite3_bind_int64(q, 1, pid);
        while (rc == 0 && sqlite3_step(q) == SQLITE_ROW) {
            Mgate__PolicyLinkInfo *li = api_alloc(&a, sizeof(*li));
            if (li) {
                mgate__policy_link_info__init(li);
                li->group = api_str(&a, sqlite3_column_text(q, 0));
                li->position = (uint32_t)sqlite3_column_int64(q, 1);
            }
            if (!li || !li->group || api_push(&a, (void ***)&pi->links, &pi->n_links, li) < 0)
                rc = -ENOMEM;
        }
        sqlite3_finalize(q);
    }
    if (st && rc == 0 && step != SQLITE_DONE)
        rc = -EIO;
    sqlite3_finalize(st);
    if (rc < 0)
        api_fail(c, rc);
    else
        svc_reply(c->svc, c->conn, c->id, MGATE__POLICYD_RESPONSE__BODY_POLICY_LIST, &rep.base);
    api_arena_free(&a);
}

void api_device_policy(struct api_ctx *c, const Mgate__DevicePolicyRequest *rq)
{
    struct reg_device d;
    int rc = rq->device_id && rq->device_id <= INT64_MAX
                 ? reg_device_by_id(c->p->db, (int64_t)rq->device_id, &d)
                 : -ENOENT;
    if (rc == -ENOENT) {
        svc_reply_error(c->svc, c->conn, c->id, MGATE__ERROR_CODE__ERR_NOT_FOUND, "no device %llu",
                        (unsigned long long)rq->device_id);
        return;
    }
    if (rc < 0) {
        api_fail(c, rc);
        return;
    }
    reg_device_free(&d);
    struct pdb_effective e;
    rc = pdb_effective(c->p->db, (int64_t)rq->device_id, &e);
    if (rc < 0) {
        api_fail(c, rc);
        return;
    }
    Mgate__EffectiveSetting items[POL_N_SETTINGS], *ptrs[POL_N_SETTINGS];
    for (int s = 0; s < POL_N_SETTINGS; s++) {
        mgate__effective_setting__init(&items[s]);
        items[s].setting = (char *)pol_settings[s].name;
        items[s].value = (char *)(e.eff.value[s] ? e.eff.value[s] : "");
        items[s].group = (char *)(e.eff.group[s] ? e.eff.group[s] : "");
        items[s].policy = (char *)(e.eff.policy[s] ? e.eff.policy[s] : "");
        ptrs[s] = &items[s];
    }
    Mgate__DevicePolicy rep = MGATE__DEVICE_POLICY__INIT;
    rep.device_id = rq->device_id;
    rep.groups = e.groups.v;
    rep.n_groups = e.groups.n;
    rep.settings = ptrs;
    rep.n_settings = POL_N_SETTINGS;
    svc_reply(c->svc, c->conn, c->id, MGATE__POLICYD_RESPONSE__BODY_DEVICE_POLICY, &rep.base);
    pdb_effective_free(&e);
}

/* A device's effective policy: per setting, the winning link by the
 * precedence documented in policy.h (nearest group, deeper group, path,
 * position). Pure: the database side loads the links (policy_db.c). */
#include <ctype.h>
#include <string.h>

#include "policy.h"

bool pol_group_path_ok(const char *path)
{
    size_t n = path ? strlen(path) : 0, comps = 1, clen = 0;
    if (n == 0 || n > 255)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = path[i];
        if (c == '/') {
            if (clen == 0)
                return false;
            clen = 0;
            comps++;
            continue;
        }
        if (!isalnum((unsigned char)c) && c != '_' && c != '.' && c != '-')
            return false;
        clen++;
    }
    return clen > 0 && comps <= 16;
}

static int pol_depth(const char *path)
{
    int d = 1;
    for (const char *c = path; *c; c++)
        d += *c == '/';
    return d;
}

int pol_group_distance(const char *group, const char *member)
{
    size_t gl = strlen(group);
    if (strncmp(group, member, gl) != 0)
        return -1;
    if (member[gl] == '\0')
        return 0;
    if (member[gl] != '/')
        return -1;
    return pol_depth(member) - pol_depth(group);
}

/* The link's distance to the device: the fewest steps up from any member
 * group; -1 when the link's group is on none of their paths to the root. */
static int pol_link_distance(const struct pol_link *l, const char *const *member, size_t n)
{
    int best = -1;
    for (size_t i = 0; i < n; i++) {
        int d = pol_group_distance(l->group, member[i]);
        if (d >= 0 && (best < 0 || d < best))
            best = d;
    }
    return best;
}

/* < 0 when a takes precedence over b. */
static int pol_rank_cmp(const struct pol_link *a, int da, const struct pol_link *b, int db)
{
    if (da != db)
        return da - db;
    int deptha = pol_depth(a->group), depthb = pol_depth(b->group);
    if (deptha != depthb)
        return depthb - deptha;
    int c = strcmp(a->group, b->group);
    if (c)
        return c;
    return a->position < b->position ? -1 : a->position > b->position;
}

void pol_resolve(const char *const *member, size_t n_member, const struct pol_link *links,
                 size_t n_links, struct pol_effective *out)
{
    memset(out, 0, sizeof(*out));
    const struct pol_link *win[POL_N_SETTINGS] = {0};
    int wind[POL_N_SETTINGS] = {0};
    for (size_t i = 0; i < n_links; i++) {
        const struct pol_link *l = &links[i];
        int d = pol_link_distance(l, member, n_member);
        if (d < 0)
            continue;
        for (int s = 0; s < POL_N_SETTINGS; s++) {
            if (!l->values[s])
                continue;
            if (!win[s] || pol_rank_cmp(l, d, win[s], wind[s]) < 0) {
                win[s] = l;
                wind[s] = d;
            }
        }
    }
    for (int s = 0; s < POL_N_SETTINGS; s++) {
        if (!win[s])
            continue;
        out->value[s] = win[s]->values[s];
        out->group[s] = win[s]->group;
        out->policy[s] = win[s]->policy;
    }
}

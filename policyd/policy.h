/* Policies: the catalogue of typed settings, their validation, and the
 * resolution of a device's effective policy down the group tree. A setting
 * a policy does not set is "not configured". Values are kept in a canonical
 * text form (lists space-separated). */
#ifndef MGATE_POLICYD_POLICY_H
#define MGATE_POLICYD_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pol_type {
    POL_BOOL,    /* yes / no */
    POL_CHOICE,  /* one word of choices */
    POL_UINT,    /* integer in [min, max] */
    POL_SUBNETS, /* IPv4/IPv6 prefixes */
    POL_PORTS,   /* protocol[/port[-port]] */
    POL_ADDRS,   /* IPv4/IPv6 addresses */
};

/* Indexes into pol_settings[]. */
enum pol_id {
    POL_PW_REQUIRED,
    POL_PW_TYPE,
    POL_PW_MIN_LENGTH,
    POL_PW_IDLE_TIMEOUT,
    POL_PW_HISTORY,
    POL_PW_EXPIRATION,
    POL_PW_WIPE_AFTER,
    POL_PW_CODE_WORD,
    POL_RESTRICT_CAMERA,
    POL_RESTRICT_BLUETOOTH,
    POL_RESTRICT_WIFI,
    POL_RESTRICT_STORAGE_CARD,
    POL_RESTRICT_UNSIGNED_APPS,
    POL_RESTRICT_POP_IMAP,
    POL_VPN_TUNNEL,
    POL_VPN_SUBNETS,
    POL_VPN_PORTS,
    POL_VPN_DNS,
    POL_N_SETTINGS
};

struct pol_setting_def {
    const char *name;
    enum pol_type type;
    uint32_t min, max;   /* POL_UINT: the range; lists: the number of entries */
    const char *choices; /* POL_CHOICE: "a|b|c" */
    const char *help;
};

extern const struct pol_setting_def pol_settings[POL_N_SETTINGS];

/* Most ports one range may expand to (the kernel takes one port per
 * selector), and most selectors a grant carries. */
#define POL_MAX_RANGE     64
#define POL_MAX_SELECTORS 256

#define POL_ERR 256

/* -1 when the name is not a setting. */
int pol_setting_find(const char *name);

/* Validates value for setting id; *canon (caller frees) is its canonical
 * form. On failure returns -1 with a reason naming the setting and what it
 * accepts. */
int pol_value_parse(int id, const char *value, char **canon, char *why, size_t len);

/* One entry of vpn.ports: protocol number (0 = any) and a port range
 * (0-0 = any). */
struct pol_port {
    uint32_t proto;
    uint32_t lo, hi;
};
/* Parses a canonical vpn.ports value; returns the number of entries or -1. */
int pol_ports_parse(const char *canon, struct pol_port *out, size_t max);

/* ---- resolution ---------------------------------------------------------- */

/* A policy linked to a group, with its settings (values[i] NULL: not
 * configured). */
struct pol_link {
    const char *group;
    const char *policy;
    uint32_t position;
    const char *values[POL_N_SETTINGS];
};

struct pol_effective {
    const char *value[POL_N_SETTINGS]; /* NULL: not configured */
    const char *group[POL_N_SETTINGS];
    const char *policy[POL_N_SETTINGS];
};

/* The device's effective policy from its member groups and every link
 * (pointers into links). Precedence, per setting, among the links that set
 * it and whose group is one of the device's groups or an ancestor of one:
 *   1. the nearest group: fewest steps up from a group the device is in;
 *   2. then the deeper group (the more specific subtree);
 *   3. then the group path in byte order (two sibling memberships);
 *   4. then the link position within the group (1 first).
 */
void pol_resolve(const char *const *member, size_t n_member, const struct pol_link *links,
                 size_t n_links, struct pol_effective *out);

/* Steps from group up to member (0: the same group); -1 when group is not
 * member nor one of its ancestors. */
int pol_group_distance(const char *group, const char *member);
/* A group path: 1 to 16 components of [A-Za-z0-9_.-], '/' separated. */
bool pol_group_path_ok(const char *path);

#endif

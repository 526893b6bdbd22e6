/* Compliance rules (see compliance.h). */
#include "compliance.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int comp_version_cmp(const char *a, const char *b)
{
    while (*a || *b) {
        if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
            char *ea, *eb;
            unsigned long long x = strtoull(a, &ea, 10), y = strtoull(b, &eb, 10);
            if (x != y)
                return x < y ? -1 : 1;
            a = ea;
            b = eb;
        } else if (!*a || !*b) {
            /* "16.4" vs "16.4.0": trailing zeros make no difference. */
            const char *rest = *a ? a : b;
            int sign = *a ? 1 : -1;
            for (; *rest; rest++)
                if (*rest != '.' && *rest != '0')
                    return sign;
            return 0;
        } else {
            if (*a != *b)
                return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
            a++;
            b++;
        }
    }
    return 0;
}

int comp_rules_check(const struct comp_rules *r, char *why, size_t len)
{
    for (size_t i = 0; i < r->min_os.n; i++) {
        const char *w = r->min_os.v[i], *colon = strchr(w, ':');
        if (!colon || colon == w || !colon[1]) {
            snprintf(why, len, "compliance_min_os: '%s' is not platform:version (ios:16.0)", w);
            return -1;
        }
    }
    return 0;
}

static int comp_reason(struct strv *reasons, const char *fmt, const char *a, const char *b)
{
    char line[512];
    snprintf(line, sizeof(line), fmt, a, b);
    return strv_add(reasons, line);
}

int comp_evaluate(const struct comp_rules *r, const struct comp_report *rep,
                  const struct pol_effective *eff, struct strv *reasons)
{
    size_t before = reasons->n;
    int rc = 0;
    const char *osv = rep->os_version ? rep->os_version : "";
    for (size_t i = 0; rc == 0 && i < r->min_os.n; i++) {
        const char *w = r->min_os.v[i], *colon = strchr(w, ':');
        if (!colon || !rep->platform || strlen(rep->platform) != (size_t)(colon - w) ||
            strncasecmp(w, rep->platform, (size_t)(colon - w)) != 0)
            continue;
        if (!*osv)
            rc = comp_reason(reasons, "OS version unknown (%s requires %s or later)", rep->platform,
                             colon + 1);
        else if (comp_version_cmp(osv, colon + 1) < 0)
            rc = comp_reason(reasons, "OS version %s is older than the minimum %s", osv, colon + 1);
    }
    if (rc == 0 && r->encryption && !rep->encryption_on)
        rc = comp_reason(reasons, "storage encryption is off%s%s", "", "");
    if (rc == 0 && r->not_jailbroken && rep->jailbroken)
        rc = comp_reason(reasons, "the device is jailbroken or rooted%s%s", "", "");
    const char *pw = eff ? eff->value[POL_PW_REQUIRED] : NULL;
    if (rc == 0 && r->password && pw && strcmp(pw, "yes") == 0 && !rep->password_set)
        rc = comp_reason(reasons, "no password set, policy '%s' requires one%s",
                         eff->policy[POL_PW_REQUIRED], "");
    for (size_t i = 0; rc == 0 && r->settings && eff && i < rep->n_results; i++) {
        const struct comp_result *res = &rep->results[i];
        if (res->applied || res->setting < 0 || res->setting >= POL_N_SETTINGS ||
            !eff->value[res->setting])
            continue;
        char what[128];
        snprintf(what, sizeof(what), "%s = %s", pol_settings[res->setting].name,
                 eff->value[res->setting]);
        rc = comp_reason(reasons, "required setting %s failed to apply: %s", what,
                         res->detail && *res->detail ? res->detail : "no detail");
    }
    if (rc < 0)
        return rc;
    return reasons->n == before ? 1 : 0;
}

/* Compliance rules: a device's report of its state, evaluated against the
 * rules of [policyd] and its effective policy, gives compliant or
 * non-compliant with one reason per broken rule. Pure: compliance_db in
 * device_report.c stores the report and the verdict. */
#ifndef MGATE_POLICYD_COMPLIANCE_H
#define MGATE_POLICYD_COMPLIANCE_H

#include <stdbool.h>
#include <stddef.h>

#include "conf.h"
#include "policy.h"
#include "policy_db.h"

struct comp_rules {
    struct conf_list min_os; /* "platform:version" words */
    bool encryption;         /* storage encryption required */
    bool not_jailbroken;     /* jailbroken / rooted devices are non-compliant */
    bool password;           /* a password when the policy requires one */
    bool settings;           /* every configured setting applied */
};

struct comp_result {
    int setting; /* index into pol_settings */
    bool applied;
    const char *detail;
};

struct comp_report {
    const char *platform; /* from the registry */
    const char *os_version;
    bool password_set, encryption_on, jailbroken;
    const struct comp_result *results;
    size_t n_results;
};

/* Dotted numeric versions ("16.4.1" > "16.4"); non-numeric parts compare
 * as text. */
int comp_version_cmp(const char *a, const char *b);
/* The min_os words are platform:version; a reason on failure. */
int comp_rules_check(const struct comp_rules *r, char *why, size_t len);
/* 1 compliant, 0 non-compliant (reasons added), -ENOMEM. */
int comp_evaluate(const struct comp_rules *r, const struct comp_report *rep,
                  const struct pol_effective *eff, struct strv *reasons);

#endif

#include "conf.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

const char *const conf_known_sections[] = {"global", "xfrmd",    "iked", "policyd",
                                           "wiped",  "mgatectl", NULL};

/* A config file is a few kilobytes; anything larger is a mistake. */
#define CONF_MAX_FILE  (1u << 20)
#define CONF_MAX_ITEMS 4096

static void conf_err(struct conf_error *err, const char *path, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void conf_err(struct conf_error *err, const char *path, unsigned line, const char *fmt, ...)
{
    if (!err)
        return;
    int n;
    if (line)
        n = snprintf(err->msg, sizeof(err->msg), "%s:%u: ", path ? path : "<config>", line);
    else
        n = snprintf(err->msg, sizeof(err->msg), "%s: ", path ? path : "<config>");
    if (n < 0 || (size_t)n >= sizeof(err->msg))
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg + n, sizeof(err->msg) - (size_t)n, fmt, ap);
    va_end(ap);
}

static char *conf_trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

static bool conf_name_ok(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.')
            return false;
    return true;
}

static bool conf_section_known(const char *name)
{
    for (size_t i = 0; conf_known_sections[i]; i++)
        if (strcmp(conf_known_sections[i], name) == 0)
            return true;
    return false;
}

static struct conf_section *conf_find_section(const struct conf_file *cf, const char *name)
{
    for (size_t i = 0; i < cf->n_sections; i++)
        if (strcmp(cf->sections[i].name, name) == 0)
            return &cf->sections[i];
    return NULL;
}

static int conf_add_section(struct conf_file *cf, const char *name, unsigned line)
{
    struct conf_section *s = realloc(cf->sections, (cf->n_sections + 1) * sizeof(*cf->sections));
    if (!s)
        return -ENOMEM;
    cf->sections = s;
    s = &cf->sections[cf->n_sections];
    memset(s, 0, sizeof(*s));
    s->name = strdup(name);
    s->line = line;
    if (!s->name)
        return -ENOMEM;
    cf->n_sections++;
    return 0;
}

static int conf_add_entry(struct conf_section *s, const char *key, const char *value, unsigned line)
{
    struct conf_entry *e = realloc(s->entries, (s->n_entries + 1) * sizeof(*s->entries));
    if (!e)
        return -ENOMEM;
    s->entries = e;
    e = &s->entries[s->n_entries];
    memset(e, 0, sizeof(*e));
    e->key = strdup(key);
    e->value = strdup(value);
    e->line = line;
    if (!e->key || !e->value) {
        free(e->key);
        free(e->value);
        return -ENOMEM;
    }
    s->n_entries++;
    return 0;
}

/* Strips one pair of matching quotes, so paths with spaces can be written. */
static void conf_unquote(char *v)
{
    size_t n = strlen(v);
    if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
        memmove(v, v + 1, n - 2);
        v[n - 2] = '\0';
    }
}

int conf_file_parse(const char *path, const char *text, struct conf_file *cf,
                    struct conf_error *err)
{
    memset(cf, 0, sizeof(*cf));
    if (path && !(cf->path = strdup(path)))
        return -ENOMEM;
    char *copy = strdup(text);
    if (!copy) {
        conf_file_free(cf);
        return -ENOMEM;
    }
    struct conf_section *cur = NULL;
    unsigned lineno = 0;
    size_t items = 0;
    int rc = 0;
    char *save = NULL;
    /* strtok_r would merge empty lines and break line numbers: split by hand. */
    for (char *line = copy; line && rc == 0; line = save) {
        char *nl = strchr(line, '\n');
        save = nl ? nl + 1 : NULL;
        if (nl)
            *nl = '\0';
        lineno++;
        char *l = conf_trim(line);
        if (*l == '\0' || *l == '#' || *l == ';')
            continue;
        if (++items > CONF_MAX_ITEMS) {
            conf_err(err, path, lineno, "too many entries (more than %d)", CONF_MAX_ITEMS);
            rc = -EINVAL;
            break;
        }
        if (*l == '[') {
            char *end = strchr(l, ']');
            if (!end || conf_trim(end + 1)[0] != '\0') {
                conf_err(err, path, lineno, "malformed section header '%s'", l);
                rc = -EINVAL;
                break;
            }
            *end = '\0';
            char *name = conf_trim(l + 1);
            if (!conf_section_known(name)) {
                conf_err(err, path, lineno, "unknown section [%s]", name);
                rc = -EINVAL;
                break;
            }
            if (conf_find_section(cf, name)) {
                conf_err(err, path, lineno, "section [%s] appears twice", name);
                rc = -EINVAL;
                break;
            }
            rc = conf_add_section(cf, name, lineno);
            cur = rc == 0 ? &cf->sections[cf->n_sections - 1] : NULL;
            continue;
        }
        char *eq = strchr(l, '=');
        if (!eq) {
            conf_err(err, path, lineno, "expected 'key = value', got '%s'", l);
            rc = -EINVAL;
            break;
        }
        *eq = '\0';
        char *key = conf_trim(l);
        char *value = conf_trim(eq + 1);
        conf_unquote(value);
        if (!conf_name_ok(key)) {
            conf_err(err, path, lineno, "invalid key name '%s'", key);
            rc = -EINVAL;
            break;
        }
        if (!cur) {
            conf_err(err, path, lineno, "'%s' is outside any [section]", key);
            rc = -EINVAL;
            break;
        }
        for (size_t i = 0; i < cur->n_entries; i++) {
            if (strcmp(cur->entries[i].key, key) == 0) {
                conf_err(err, path, lineno, "'%s' already set on line %u", key,
                         cur->entries[i].line);
                rc = -EINVAL;
                break;
            }
        }
        if (rc == 0)
            rc = conf_add_entry(cur, key, value, lineno);
    }
    free(copy);
    if (rc == -ENOMEM)
        conf_err(err, path, 0, "out of memory");
    if (rc)
        conf_file_free(cf);
    return rc;
}

int conf_file_load(const char *path, bool missing_ok, struct conf_file *cf, struct conf_error *err)
{
    memset(cf, 0, sizeof(*cf));
    FILE *f = fopen(path, "re");
    if (!f) {
        if (errno == ENOENT && missing_ok)
            return 0;
        conf_err(err, path, 0, "cannot open: %s", strerror(errno));
        return -errno;
    }
    char *buf = malloc(CONF_MAX_FILE + 1);
    if (!buf) {
        fclose(f);
        return -ENOMEM;
    }
    size_t n = fread(buf, 1, CONF_MAX_FILE + 1, f);
    int rd_err = ferror(f);
    fclose(f);
    if (rd_err) {
        conf_err(err, path, 0, "read error");
        free(buf);
        return -EIO;
    }
    if (n > CONF_MAX_FILE) {
        conf_err(err, path, 0, "file larger than %u bytes", CONF_MAX_FILE);
        free(buf);
        return -EFBIG;
    }
    if (memchr(buf, '\0', n)) {
        conf_err(err, path, 0, "file contains a NUL byte (not a text file?)");
        free(buf);
        return -EINVAL;
    }
    buf[n] = '\0';
    int rc = conf_file_parse(path, buf, cf, err);
    free(buf);
    return rc;
}

void conf_file_free(struct conf_file *cf)
{
    for (size_t i = 0; i < cf->n_sections; i++) {
        struct conf_section *s = &cf->sections[i];
        for (size_t j = 0; j < s->n_entries; j++) {
            free(s->entries[j].key);
            free(s->entries[j].value);
        }
        free(s->entries);
        free(s->name);
    }
    free(cf->sections);
    free(cf->path);
    memset(cf, 0, sizeof(*cf));
}

static int conf_parse_u64_suffix(const char *s, uint64_t *out, const char *const *suffixes,
                                 const uint64_t *mult, size_t n_suffix, uint64_t bare_mult)
{
    if (!*s || !isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno)
        return -1;
    uint64_t m = bare_mult;
    if (*end) {
        size_t i;
        for (i = 0; i < n_suffix; i++)
            if (strcmp(end, suffixes[i]) == 0)
                break;
        if (i == n_suffix)
            return -1;
        m = mult[i];
    }
    if (m && v > UINT64_MAX / m)
        return -1;
    *out = (uint64_t)v * m;
    return 0;
}

int conf_parse_duration(const char *s, uint64_t *ms)
{
    static const char *const suf[] = {"ms", "s", "m", "h", "d"};
    static const uint64_t mult[] = {1, 1000, 60000, 3600000, 86400000};
    return conf_parse_u64_suffix(s, ms, suf, mult, 5, 1000);
}

int conf_parse_size(const char *s, uint64_t *bytes)
{
    static const char *const suf[] = {"K", "M", "G", "k", "KiB", "MiB", "GiB"};
    static const uint64_t mult[] = {1ull << 10, 1ull << 20, 1ull << 30, 1ull << 10,
                                    1ull << 10, 1ull << 20, 1ull << 30};
    return conf_parse_u64_suffix(s, bytes, suf, mult, 7, 1);
}

int conf_parse_bool(const char *s, bool *b)
{
    static const char *const yes[] = {"yes", "true", "on", "1"};
    static const char *const no[] = {"no", "false", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *b = true;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *b = false;
            return 0;
        }
    }
    return -1;
}

static void conf_list_free(struct conf_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static int conf_list_parse(const char *s, struct conf_list *l)
{
    conf_list_free(l);
    char *copy = strdup(s);
    if (!copy)
        return -ENOMEM;
    char *save = NULL;
    for (char *w = strtok_r(copy, " \t,", &save); w; w = strtok_r(NULL, " \t,", &save)) {
        char **v = realloc(l->v, (l->n + 1) * sizeof(*l->v));
        if (!v || !(v[l->n] = strdup(w))) {
            if (v)
                l->v = v;
            free(copy);
            conf_list_free(l);
            return -ENOMEM;
        }
        l->v = v;
        l->n++;
    }
    free(copy);
    return 0;
}

/* Sets one field from text. Returns 0, or -EINVAL with err->msg set. */
static int conf_set(const struct conf_key *k, void *base, const char *value, const char *path,
                    unsigned line, struct conf_error *err)
{
    void *field = (char *)base + k->offset;
    uint64_t u = 0;
    switch (k->type) {
    case CONF_PATH:
        if (*value && value[0] != '/') {
            conf_err(err, path, line, "%s: '%s' is not an absolute path", k->name, value);
            return -EINVAL;
        }
        /* fall through */
    case CONF_STRING: {
        char *dup = strdup(value);
        if (!dup)
            return -ENOMEM;
        free(*(char **)field);
        *(char **)field = dup;
        return 0;
    }
    case CONF_BOOL:
        if (conf_parse_bool(value, (bool *)field) < 0) {
            conf_err(err, path, line, "%s: '%s' is not yes/no", k->name, value);
            return -EINVAL;
        }
        return 0;
    case CONF_LIST:
        return conf_list_parse(value, (struct conf_list *)field);
    case CONF_LOGLEVEL:
        if (log_level_parse(value, (int *)field) < 0) {
            conf_err(err, path, line,
                     "%s: '%s' is not a log level (err, warning, notice, info, debug)", k->name,
                     value);
            return -EINVAL;
        }
        return 0;
    case CONF_UINT: {
        char *end;
        errno = 0;
        if (!isdigit((unsigned char)value[0]))
            goto bad_number;
        unsigned long long v = strtoull(value, &end, 0);
        if (errno || *end)
            goto bad_number;
        u = v;
        break;
    }
    case CONF_DURATION:
        if (conf_parse_duration(value, &u) < 0) {
            conf_err(err, path, line, "%s: '%s' is not a duration (e.g. 500ms, 30s, 5m, 2h)",
                     k->name, value);
            return -EINVAL;
        }
        break;
    case CONF_SIZE:
        if (conf_parse_size(value, &u) < 0) {
            conf_err(err, path, line, "%s: '%s' is not a size (e.g. 4096, 64K, 1M)", k->name,
                     value);
            return -EINVAL;
        }
        break;
    }
    if (u < k->min || u > k->max) {
        conf_err(err, path, line, "%s: %s is out of range [%" PRIu64 ", %" PRIu64 "]", k->name,
                 value, k->min, k->max);
        return -EINVAL;
    }
    *(uint64_t *)field = u;
    return 0;
bad_number:
    conf_err(err, path, line, "%s: '%s' is not a number", k->name, value);
    return -EINVAL;
}

int conf_bind(const struct conf_file *cf, const char *section, const struct conf_key *schema,
              void *base, bool ignore_unknown, struct conf_error *err)
{
    for (const struct conf_key *k = schema; k->name; k++) {
        int rc = conf_set(k, base, k->def ? k->def : "", "<built-in default>", 0, err);
        /* An empty default for a number means zero, not an error. */
        if (rc == -EINVAL && !k->def)
            rc = 0;
        if (rc)
            return rc;
    }
    struct conf_section *s = conf_find_section(cf, section);
    if (!s)
        return 0;
    for (size_t i = 0; i < s->n_entries; i++) {
        struct conf_entry *e = &s->entries[i];
        const struct conf_key *k;
        for (k = schema; k->name; k++)
            if (strcmp(k->name, e->key) == 0)
                break;
        if (!k->name) {
            if (ignore_unknown)
                continue;
            conf_err(err, cf->path, e->line, "unknown key '%s' in [%s]", e->key, section);
            return -EINVAL;
        }
        int rc = conf_set(k, base, e->value, cf->path, e->line, err);
        if (rc)
            return rc;
        e->used = true;
    }
    return 0;
}

void conf_unbind(const struct conf_key *schema, void *base)
{
    for (const struct conf_key *k = schema; k->name; k++) {
        void *field = (char *)base + k->offset;
        if (k->type == CONF_STRING || k->type == CONF_PATH) {
            free(*(char **)field);
            *(char **)field = NULL;
        } else if (k->type == CONF_LIST) {
            conf_list_free((struct conf_list *)field);
        }
    }
}

void conf_print_schema(const char *section, const struct conf_key *schema)
{
    printf("[%s]\n", section);
    for (const struct conf_key *k = schema; k->name; k++)
        printf("  %-18s default: %-24s %s\n", k->name, k->def && *k->def ? k->def : "(none)",
               k->help ? k->help : "");
}

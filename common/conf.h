/* /etc/mgate/mgate.conf: one INI-style file, a [section] per daemon.
 *
 * The parser keeps every entry with its line number; a daemon then binds the
 * sections it owns against a schema (a table of typed keys with defaults).
 * Binding is strict: an unknown key, a bad value or a value out of range is an
 * error naming file, line and reason, so a typo never silently falls back to a
 * default. Sections owned by other daemons are only checked for existence. */
#ifndef MGATE_CONF_H
#define MGATE_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONF_ERR_MAX 512

struct conf_error {
    char msg[CONF_ERR_MAX];
};

enum conf_type {
    CONF_STRING,   /* char *, owned by the bound struct */
    CONF_PATH,     /* char *, must be absolute */
    CONF_UINT,     /* uint64_t within [min, max] */
    CONF_BOOL,     /* bool: yes/no, true/false, on/off, 1/0 */
    CONF_LIST,     /* struct conf_list: words separated by spaces or commas */
    CONF_LOGLEVEL, /* int: syslog priority */
    CONF_DURATION, /* uint64_t milliseconds: "250ms", "30s", "5m", "2h", "1d"; bare number = s */
    CONF_SIZE,     /* uint64_t bytes: "512", "64K", "1M", "1G" */
};

struct conf_list {
    char **v;
    size_t n;
};

struct conf_key {
    const char *name;
    enum conf_type type;
    size_t offset;   /* offsetof() into the bound struct */
    const char *def; /* default, written as in the file; NULL: empty/zero */
    uint64_t min, max;
    const char *help; /* one line, printed by --help-config */
};

struct conf_entry {
    char *key;
    char *value;
    unsigned line;
    bool used;
};

struct conf_section {
    char *name;
    unsigned line;
    struct conf_entry *entries;
    size_t n_entries;
};

struct conf_file {
    char *path; /* NULL when no file was read (defaults only) */
    struct conf_section *sections;
    size_t n_sections;
};

/* Sections any daemon accepts; everything else is an error at load. */
extern const char *const conf_known_sections[];

/* Reads and parses path. A missing file is not an error when missing_ok: the
 * lab runs with no config at all. */
int conf_file_load(const char *path, bool missing_ok, struct conf_file *cf, struct conf_error *err);
int conf_file_parse(const char *path, const char *text, struct conf_file *cf,
                    struct conf_error *err);
void conf_file_free(struct conf_file *cf);

/* Fills base from the schema: defaults first, then the section's entries.
 * With ignore_unknown, keys not in the schema are skipped (mgatectl reads
 * only the socket paths of each daemon's section). */
int conf_bind(const struct conf_file *cf, const char *section, const struct conf_key *schema,
              void *base, bool ignore_unknown, struct conf_error *err);
/* Frees what conf_bind allocated in base. */
void conf_unbind(const struct conf_key *schema, void *base);

/* Value parsers, exposed for tests and for command-line options. */
int conf_parse_duration(const char *s, uint64_t *ms);
int conf_parse_size(const char *s, uint64_t *bytes);
int conf_parse_bool(const char *s, bool *b);

void conf_print_schema(const char *section, const struct conf_key *schema);

#endif

#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *log_ident = "mgate";
static int log_max = LOG_INFO;

static const char *const log_names[] = {"emerg",   "alert",  "crit", "err",
                                        "warning", "notice", "info", "debug"};

void log_init(const char *ident, int max_priority)
{
    log_ident = ident;
    log_set_level(max_priority);
}

void log_set_level(int max_priority)
{
    if (max_priority < LOG_EMERG)
        max_priority = LOG_EMERG;
    if (max_priority > LOG_DEBUG)
        max_priority = LOG_DEBUG;
    log_max = max_priority;
}

int log_get_level(void)
{
    return log_max;
}

int log_level_parse(const char *s, int *priority)
{
    for (int i = 0; i < 8; i++) {
        if (strcmp(s, log_names[i]) == 0) {
            *priority = i;
            return 0;
        }
    }
    if (strcmp(s, "error") == 0) {
        *priority = LOG_ERR;
        return 0;
    }
    if (strcmp(s, "warn") == 0) {
        *priority = LOG_WARNING;
        return 0;
    }
    if (s[0] >= '0' && s[0] <= '7' && s[1] == '\0') {
        *priority = s[0] - '0';
        return 0;
    }
    return -1;
}

const char *log_level_name(int priority)
{
    if (priority < 0 || priority > 7)
        return "?";
    return log_names[priority];
}

void log_msg(int priority, const char *fmt, ...)
{
    if (priority > log_max)
        return;
    /* One write per line: lines from worker threads must not interleave. */
    char line[2048];
    int n = snprintf(line, sizeof(line), "<%d>%s: ", priority, log_ident);
    if (n < 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        return;
    size_t len = (size_t)n + (size_t)m;
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2;
    /* A newline inside a message would split it into two journal entries. */
    for (size_t i = (size_t)n; i < len; i++)
        if (line[i] == '\n')
            line[i] = ' ';
    line[len++] = '\n';
    fwrite(line, 1, len, stderr);
}

/* Logging to stderr with syslog priority prefixes ("<3>"), which journald
 * turns back into levels; on a terminal the same lines are readable as is. */
#ifndef MGATE_LOG_H
#define MGATE_LOG_H

#include <syslog.h>

void log_init(const char *ident, int max_priority);
void log_set_level(int max_priority);
int log_get_level(void);
/* Parses "err", "warning", "notice", "info", "debug" (or 0..7). 0 on success. */
int log_level_parse(const char *s, int *priority);
const char *log_level_name(int priority);

void log_msg(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...)    log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)   log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...)   log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)  log_msg(LOG_DEBUG, __VA_ARGS__)

#endif

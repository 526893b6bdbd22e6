/* What every mgate daemon does the same way: command line, config, logging,
 * signals, sd_notify readiness and watchdog, uptime. A daemon's main() is:
 * daemon_init, open its state, start its service and upstreams, daemon_ready,
 * daemon_run, free. */
#ifndef MGATE_DAEMON_H
#define MGATE_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "conf.h"
#include "mgate_conf.h"

struct daemon;
typedef void (*daemon_stop_fn)(struct daemon *d, void *ud);

struct daemon {
    const char *name; /* "xfrmd" */
    uv_loop_t *loop;
    const char *config_path;
    struct conf_file cf;
    struct mgate_global_conf g;
    uint64_t started_ns;
    uv_signal_t sig_term, sig_int;
    uv_timer_t watchdog;
    bool watchdog_on;
    daemon_stop_fn on_stop;
    void *stop_ud;
    bool stopping;
    bool check_only; /* --check-config: check, print, exit */
};

struct daemon_spec {
    const char *name;              /* "xfrmd": section name and log ident ("mgate-xfrmd") */
    const char *summary;           /* one line for --help */
    const struct conf_key *schema; /* the daemon's own section */
    void *section;                 /* bound from schema */
};

/* Parses argv (--config FILE, --check-config, --help, --help-config,
 * --version), loads and checks the config. Returns 0 to go on, 1 when the
 * process should exit 0 (help, version, a good --check-config), -1 on error
 * (already reported). */
int daemon_init(struct daemon *d, const struct daemon_spec *spec, int argc, char **argv);
/* Signals SIGTERM/SIGINT call on_stop once: it closes servers and clients so
 * the loop ends. */
void daemon_on_stop(struct daemon *d, daemon_stop_fn fn, void *ud);
/* Tells systemd READY=1 and STATUS=, starts the watchdog pings. */
void daemon_ready(struct daemon *d, const char *status);
int daemon_run(struct daemon *d);
/* Closes the daemon's own handles (signals, watchdog) so the loop can end. */
void daemon_close_handles(struct daemon *d);
void daemon_free(struct daemon *d, const struct daemon_spec *spec);
uint64_t daemon_uptime_s(const struct daemon *d);
/* Creates dir (mode) if missing; run_dir and state_dir in the lab. */
int daemon_ensure_dir(const char *dir, unsigned mode);

#endif

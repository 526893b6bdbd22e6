#include "daemon.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "paths.h"
#include "sd_notify.h"

static char daemon_ident[64];

static void daemon_usage(const struct daemon_spec *spec)
{
    printf("Usage: mgate-%s [OPTIONS]\n"
           "%s\n\n"
           "Options:\n"
           "  -c, --config FILE   configuration file (default: $MGATE_CONFIG or %s)\n"
           "      --check-config  check the configuration and exit\n"
           "      --help-config   list this daemon's configuration keys and defaults\n"
           "  -h, --help          this help\n"
           "  -V, --version       print the version\n\n"
           "Signals: SIGTERM or SIGINT stop the daemon cleanly.\n"
           "Logs go to stderr with syslog priority prefixes (journald keeps the levels).\n",
           spec->name, spec->summary, MGATE_DEFAULT_CONFIG);
}

int daemon_init(struct daemon *d, const struct daemon_spec *spec, int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"check-config", no_argument, NULL, 'k'},
        {"help-config", no_argument, NULL, 'H'},  {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},      {NULL, 0, NULL, 0},
    };
    memset(d, 0, sizeof(*d));
    d->name = spec->name;
    snprintf(daemon_ident, sizeof(daemon_ident), "mgate-%s", spec->name);
    log_init(daemon_ident, LOG_INFO);
    const char *cli_config = NULL;
    bool check_only = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            cli_config = optarg;
            break;
        case 'k':
            check_only = true;
            break;
        case 'H':
            conf_print_schema("global", mgate_global_schema);
            conf_print_schema(spec->name, spec->schema);
            return 1;
        case 'h':
            daemon_usage(spec);
            return 1;
        case 'V':
            printf("mgate-%s %s\n", spec->name, MGATE_VERSION);
            return 1;
        default:
            fprintf(stderr, "Try 'mgate-%s --help'.\n", spec->name);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "mgate-%s: unexpected argument '%s'\n", spec->name, argv[optind]);
        return -1;
    }
    d->config_path = mgate_conf_path(cli_config);
    bool explicit_path = cli_config || getenv("MGATE_CONFIG");
    struct conf_error err = {{0}};
    if (mgate_conf_load(d->config_path, explicit_path, &d->cf, &d->g, &err) < 0) {
        log_err("bad configuration: %s", err.msg);
        return -1;
    }
    log_set_level(d->g.log_level);
    if (conf_bind(&d->cf, spec->name, spec->schema, spec->section, false, &err) < 0) {
        log_err("bad configuration: %s", err.msg);
        return -1;
    }
    /* --check-config goes on into the daemon's own check (service.c), which
     * reads what conf_bind cannot judge alone: proposals, certificates. */
    d->check_only = check_only;
    if (!d->cf.path)
        log_info("no %s; running on built-in defaults", d->config_path);
    d->loop = uv_default_loop();
    d->started_ns = uv_hrtime();
    /* A peer that closes mid-write must be an error code, not a signal. */
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

static void daemon_on_signal(uv_signal_t *s, int signum)
{
    struct daemon *d = s->data;
    if (d->stopping) {
        log_notice("signal %d again while stopping; exiting now", signum);
        exit(1);
    }
    d->stopping = true;
    log_notice("stopping on signal %d", signum);
    sd_notify_send("STOPPING=1");
    if (d->on_stop)
        d->on_stop(d, d->stop_ud);
    daemon_close_handles(d);
}

void daemon_on_stop(struct daemon *d, daemon_stop_fn fn, void *ud)
{
    d->on_stop = fn;
    d->stop_ud = ud;
    uv_signal_init(d->loop, &d->sig_term);
    uv_signal_init(d->loop, &d->sig_int);
    d->sig_term.data = d;
    d->sig_int.data = d;
    uv_signal_start(&d->sig_term, daemon_on_signal, SIGTERM);
    uv_signal_start(&d->sig_int, daemon_on_signal, SIGINT);
}

static void daemon_on_watchdog(uv_timer_t *t)
{
    (void)t;
    sd_notify_send("WATCHDOG=1");
}

void daemon_ready(struct daemon *d, const char *status)
{
    char buf[600];
    snprintf(buf, sizeof(buf), "READY=1\nSTATUS=%s", status);
    sd_notify_send(buf);
    log_notice("ready: %s", status);
    uint64_t wd = sd_notify_watchdog_ms();
    if (wd) {
        /* Pinging from the loop itself proves the loop is not stuck. */
        uv_timer_init(d->loop, &d->watchdog);
        d->watchdog.data = d;
        uv_timer_start(&d->watchdog, daemon_on_watchdog, wd / 2, wd / 2);
        d->watchdog_on = true;
    }
}

void daemon_close_handles(struct daemon *d)
{
    if (!uv_is_closing((uv_handle_t *)&d->sig_term))
        uv_close((uv_handle_t *)&d->sig_term, NULL);
    if (!uv_is_closing((uv_handle_t *)&d->sig_int))
        uv_close((uv_handle_t *)&d->sig_int, NULL);
    if (d->watchdog_on && !uv_is_closing((uv_handle_t *)&d->watchdog))
        uv_close((uv_handle_t *)&d->watchdog, NULL);
}

int daemon_run(struct daemon *d)
{
    uv_run(d->loop, UV_RUN_DEFAULT);
    return 0;
}

void daemon_free(struct daemon *d, const struct daemon_spec *spec)
{
    if (d->loop) {
        /* Let close callbacks of everything already closed run. */
        uv_run(d->loop, UV_RUN_NOWAIT);
        if (uv_loop_close(d->loop) == UV_EBUSY)
            log_debug("event loop still had open handles at exit");
    }
    conf_unbind(spec->schema, spec->section);
    mgate_conf_free(&d->cf, &d->g);
}

uint64_t daemon_uptime_s(const struct daemon *d)
{
    return (uv_hrtime() - d->started_ns) / 1000000000ull;
}

int daemon_ensure_dir(const char *dir, unsigned mode)
{
    if (mkdir(dir, (mode_t)mode) == 0 || errno == EEXIST)
        return 0;
    int e = errno;
    log_err("cannot create %s: %s", dir, strerror(e));
    return -e;
}

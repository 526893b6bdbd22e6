/* mgatectl: the mgate admin CLI. It owns nothing: every command is a request
 * to a daemon's socket, allowed by that daemon's allow_users/allow_groups. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "log.h"
#include "paths.h"

struct ctl_command {
    const char *name;
    int (*run)(struct ctl *ctl, int argc, char **argv);
    const char *usage;
};

static const struct ctl_command ctl_commands[] = {
    {"status", ctl_cmd_status,
     "status [SERVICE...]         is each daemon up; uptime, peers, upstreams"},
    {"ike", ctl_cmd_ike, "ike list | ike terminate SPI|ID|VIP  IKE SAs (tunnels) iked holds"},
    {"xfrm", ctl_cmd_xfrm,
     "xfrm sa|policy [--all]      kernel SAs / policies xfrmd owns (--all: every one)"},
    {"ca", ctl_cmd_ca,
     "ca init [--force] | ca crl   mgate's CA (policyd): create it; print the CRL"},
    {"device", ctl_cmd_device,
     "device pre-enroll|list|enroll|register-cert|revoke|groups|policy|state|report\n"
     "                              the device registry, its policies and compliance (policyd)"},
    {"group", ctl_cmd_group, "group create|delete PATH | group list  the group tree (policyd)"},
    {"policy", ctl_cmd_policy,
     "policy create|delete|list|show|set|unset|link|unlink  policies (policyd)"},
    {"report", ctl_cmd_report,
     "report assets|policies|compliance [--csv]  device, policy and compliance reports"},
};

static void ctl_usage(FILE *f)
{
    fprintf(f,
            "Usage: mgatectl [OPTIONS] COMMAND [ARGS]\n"
            "The mgate admin CLI.\n\n"
            "Options:\n"
            "  -c, --config FILE   configuration file (default: $MGATE_CONFIG or %s)\n"
            "  -j, --json          machine-readable output\n"
            "  -t, --timeout MS    how long to wait for a daemon (default 5000)\n"
            "  -h, --help          this help\n"
            "  -V, --version       print the version\n\n"
            "Commands:\n",
            MGATE_DEFAULT_CONFIG);
    for (size_t i = 0; i < sizeof(ctl_commands) / sizeof(ctl_commands[0]); i++)
        fprintf(f, "  %s\n", ctl_commands[i].usage);
    fprintf(f, "\nExit status: 0 success, 1 failure, 2 usage error, 3 a daemon is down.\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},  {"json", no_argument, NULL, 'j'},
        {"timeout", required_argument, NULL, 't'}, {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},       {NULL, 0, NULL, 0},
    };
    struct ctl ctl = {.timeout_ms = 5000};
    const char *config = NULL;
    int c;
    log_init("mgatectl", LOG_WARNING);
    /* '+': options after the command belong to the command. */
    while ((c = getopt_long(argc, argv, "+c:jt:hV", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config = optarg;
            break;
        case 'j':
            ctl.json = true;
            break;
        case 't':
            ctl.timeout_ms = atoi(optarg);
            if (ctl.timeout_ms <= 0) {
                fprintf(stderr, "mgatectl: --timeout wants milliseconds > 0\n");
                return 2;
            }
            break;
        case 'h':
            ctl_usage(stdout);
            return 0;
        case 'V':
            printf("mgatectl %s\n", MGATE_VERSION);
            return 0;
        default:
            ctl_usage(stderr);
            return 2;
        }
    }
    if (optind >= argc) {
        ctl_usage(stderr);
        return 2;
    }
    const char *path = mgate_conf_path(config);
    struct conf_error err = {{0}};
    if (mgate_conf_load(path, config || getenv("MGATE_CONFIG"), &ctl.cf, &ctl.g, &err) < 0) {
        fprintf(stderr, "mgatectl: bad configuration: %s\n", err.msg);
        return 1;
    }
    const char *cmd = argv[optind];
    /* `mgatectl xfrm sa --json` reads as naturally as `mgatectl --json xfrm
     * sa`: the global --json/-j is taken wherever it stands. */
    int cargc = 0;
    char **cargv = argv + optind + 1;
    for (int i = optind + 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0 || strcmp(argv[i], "-j") == 0)
            ctl.json = true;
        else
            cargv[cargc++] = argv[i];
    }
    int rc = -1;
    for (size_t i = 0; i < sizeof(ctl_commands) / sizeof(ctl_commands[0]); i++) {
        if (strcmp(cmd, ctl_commands[i].name) == 0) {
            rc = ctl_commands[i].run(&ctl, cargc, cargv);
            break;
        }
    }
    if (rc == -1) {
        fprintf(stderr, "mgatectl: unknown command '%s'\n", cmd);
        ctl_usage(stderr);
        rc = 2;
    }
    mgate_conf_free(&ctl.cf, &ctl.g);
    return rc;
}

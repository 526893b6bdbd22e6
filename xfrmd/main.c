/* mgate-xfrmd: the only privileged mgate daemon. It owns the kernel's XFRM
 * state on behalf of iked (see README.md). */
#include <stdlib.h>

#include "log.h"
#include "xfrm_nl.h"
#include "xfrmd.h"
#include "xfrmd.pb-c.h"

#define XC(m) offsetof(struct xfrmd_conf, m)
static const struct conf_key xfrmd_schema[] = {
    MGATE_SVC_KEYS(struct xfrmd_conf, svc, "xfrmd"),
    {"ike_listen", CONF_LIST, XC(ike_listen), "0.0.0.0 ::", 0, 0,
     "addresses the IKE UDP sockets bind to"},
    {"ike_port", CONF_UINT, XC(ike_port), "500", 1, 65535, "IKE port"},
    {"natt_port", CONF_UINT, XC(natt_port), "4500", 1, 65535, "NAT-T port (IKE and ESP-in-UDP)"},
    {NULL, 0, 0, NULL, 0, 0, NULL},
};
#undef XC

static const char *const xfrmd_topics[] = {"lifecycle", "sa", "acquire", "migrate", "report", NULL};

static struct xfrmd xfrmd;

static int xfrmd_start(struct service *s, void *ud)
{
    struct xfrmd *x = ud;
    x->s = s;
    struct xfrm_err err = {0};
    x->nl = xfrm_nl_open(NULL, &err);
    if (!x->nl) {
        log_err("cannot open the XFRM netlink socket: %s", err.msg);
        return -1;
    }
    if (xfrmd_events_start(x) < 0)
        return -1;
    /* What a previous xfrmd left in the kernel is still ours: SAs keep
     * carrying traffic while we were away. */
    xfrmd_api_census(x);
    return 0;
}

static void xfrmd_stop(struct service *s, void *ud)
{
    struct xfrmd *x = ud;
    (void)s;
    /* The kernel state stays: tunnels outlive xfrmd. */
    xfrmd_events_stop(x);
    xfrmd_ikesock_close(x);
}

int main(int argc, char **argv)
{
    static const struct service_spec spec = {
        .daemon =
            {
                .name = "xfrmd",
                .summary = "Owns the kernel's XFRM (IPsec) state for mgate; the only "
                           "privileged daemon.",
                .schema = xfrmd_schema,
                .section = &xfrmd.conf,
            },
        .svc_conf = &xfrmd.conf.svc,
        .api =
            {
                .request = &mgate__xfrmd_request__descriptor,
                .response = &mgate__xfrmd_response__descriptor,
                .event = &mgate__xfrmd_event__descriptor,
                .topics = xfrmd_topics,
                .handler = xfrmd_api_handle,
            },
        .start = xfrmd_start,
        .stop = xfrmd_stop,
        .ud = &xfrmd,
    };
    int rc = service_main(&spec, argc, argv);
    if (xfrmd.nl)
        xfrm_nl_close(xfrmd.nl);
    return rc;
}

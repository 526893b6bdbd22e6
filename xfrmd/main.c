/* mgate-xfrmd: the only privileged mgate daemon. It owns the kernel's XFRM
 * state on behalf of iked (see README.md). */
#include "service.h"
#include "xfrmd.pb-c.h"

struct xfrmd_conf {
    struct mgate_svc_conf svc;
};

static const struct conf_key xfrmd_schema[] = {
    MGATE_SVC_KEYS(struct xfrmd_conf, svc, "xfrmd"),
    {NULL, 0, 0, NULL, 0, 0, NULL},
};

static const char *const xfrmd_topics[] = {"lifecycle", NULL};

int main(int argc, char **argv)
{
    static struct xfrmd_conf conf;
    static const struct service_spec spec = {
        .daemon =
            {
                .name = "xfrmd",
                .summary = "Owns the kernel's XFRM (IPsec) state for mgate; the only "
                           "privileged daemon.",
                .schema = xfrmd_schema,
                .section = &conf,
            },
        .svc_conf = &conf.svc,
        .api =
            {
                .request = &mgate__xfrmd_request__descriptor,
                .response = &mgate__xfrmd_response__descriptor,
                .event = &mgate__xfrmd_event__descriptor,
                .topics = xfrmd_topics,
            },
    };
    return service_main(&spec, argc, argv);
}

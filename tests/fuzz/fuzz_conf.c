/* libFuzzer: arbitrary text as /etc/mgate/mgate.conf, parsed and bound to
 * the [global] schema and a daemon's socket keys. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "mgate_conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_svc {
    struct mgate_svc_conf svc;
};

static const struct conf_key fuzz_svc_schema[] = {
    MGATE_SVC_KEYS(struct fuzz_svc, svc, "iked"),
    {NULL, 0, 0, NULL, 0, 0, NULL},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    struct conf_file cf;
    struct conf_error err;
    if (conf_file_parse("fuzz.conf", text, &cf, &err) == 0) {
        struct mgate_global_conf g;
        struct fuzz_svc s;
        memset(&g, 0, sizeof(g));
        memset(&s, 0, sizeof(s));
        conf_bind(&cf, "global", mgate_global_schema, &g, false, &err);
        conf_bind(&cf, "iked", fuzz_svc_schema, &s, false, &err);
        conf_unbind(mgate_global_schema, &g);
        conf_unbind(fuzz_svc_schema, &s);
        conf_file_free(&cf);
    }
    free(text);
    return 0;
}

/* libFuzzer: policy values as an admin types them (the first byte picks
 * the setting) and group paths. A value accepted once must come back the
 * same when its canonical form is parsed again, and a vpn.ports value must
 * parse into its port list. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int id = data[0] % POL_N_SETTINGS;
    char *text = malloc(size);
    if (!text)
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    char why[POL_ERR], *canon = NULL, *again = NULL;
    if (pol_value_parse(id, text, &canon, why, sizeof(why)) == 0) {
        if (pol_value_parse(id, canon, &again, why, sizeof(why)) != 0 || strcmp(canon, again))
            abort();
        if (id == POL_VPN_PORTS) {
            struct pol_port ports[32];
            if (pol_ports_parse(canon, ports, 32) < 1)
                abort();
        }
    } else if (!memchr(why, '\0', sizeof(why)) || !*why) {
        abort(); /* every refusal says why */
    }
    if (pol_group_path_ok(text)) {
        if (pol_group_distance(text, text) != 0)
            abort();
        const char *member[] = {text};
        struct pol_link l;
        memset(&l, 0, sizeof(l));
        l.group = text;
        l.policy = "p";
        l.values[id] = "x";
        struct pol_effective e;
        pol_resolve(member, 1, &l, 1, &e);
        if (e.value[id] == NULL)
            abort();
    }
    free(canon);
    free(again);
    free(text);
    return 0;
}

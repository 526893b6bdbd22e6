/* The catalogue of policy settings and the validation of their values. */
#include "policy.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct pol_setting_def pol_settings[POL_N_SETTINGS] = {
    [POL_PW_REQUIRED] = {"password.required", POL_BOOL, 0, 0, NULL,
                         "the device must have a password (yes|no)"},
    [POL_PW_TYPE] = {"password.type", POL_CHOICE, 0, 0, "pin|strong|either",
                     "PIN (digits), strong (letters, digits, symbols) or either"},
    [POL_PW_MIN_LENGTH] = {"password.min_length", POL_UINT, 1, 40, NULL,
                           "minimum password length, characters"},
    [POL_PW_IDLE_TIMEOUT] = {"password.idle_timeout", POL_UINT, 1, 1440, NULL,
                             "minutes of inactivity before the device locks"},
    [POL_PW_HISTORY] = {"password.history", POL_UINT, 0, 50, NULL,
                        "previous passwords that may not be reused"},
    [POL_PW_EXPIRATION] = {"password.expiration", POL_UINT, 0, 730, NULL,
                           "days before the password must change (0: never)"},
    [POL_PW_WIPE_AFTER] = {"password.wipe_after_failures", POL_UINT, 4, 16, NULL,
                           "failed unlock attempts before the device wipes itself"},
    [POL_PW_CODE_WORD] = {"password.code_word_frequency", POL_UINT, 1, 16, NULL,
                          "failed attempts between prompts for the code word"},
    [POL_RESTRICT_CAMERA] = {"restrict.camera", POL_CHOICE, 0, 0, "allow|block", "camera"},
    [POL_RESTRICT_BLUETOOTH] = {"restrict.bluetooth", POL_CHOICE, 0, 0, "allow|block", "Bluetooth"},
    [POL_RESTRICT_WIFI] = {"restrict.wifi", POL_CHOICE, 0, 0, "allow|block", "Wi-Fi"},
    [POL_RESTRICT_STORAGE_CARD] = {"restrict.storage_card", POL_CHOICE, 0, 0, "allow|block",
                                   "removable storage card"},
    [POL_RESTRICT_UNSIGNED_APPS] = {"restrict.unsigned_apps", POL_CHOICE, 0, 0, "allow|block",
                                    "installing unsigned applications"},
    [POL_RESTRICT_POP_IMAP] = {"restrict.pop_imap", POL_CHOICE, 0, 0, "allow|block",
                               "POP and IMAP e-mail"},
    [POL_VPN_TUNNEL] = {"vpn.tunnel", POL_CHOICE, 0, 0, "split|full",
                        "split: only vpn.subnets through the gateway; full: everything"},
    [POL_VPN_SUBNETS] = {"vpn.subnets", POL_SUBNETS, 1, 32, NULL,
                         "corporate prefixes the device may reach (10.1.0.0/24 2001:db8::/64)"},
    [POL_VPN_PORTS] = {"vpn.ports", POL_PORTS, 1, 32, NULL,
                       "protocols and ports it may reach there (tcp/443 udp/53 tcp/8000-8010 "
                       "icmp any); not configured: any"},
    [POL_VPN_DNS] = {"vpn.dns", POL_ADDRS, 1, 4, NULL, "DNS servers given to the device"},
};

int pol_setting_find(const char *name)
{
    for (int i = 0; i < POL_N_SETTINGS; i++)
        if (name && strcmp(pol_settings[i].name, name) == 0)
            return i;
    return -1;
}

/* Words of a list value, separated by spaces or commas. */
static size_t pol_words(const char *value, char words[][64], size_t max, bool *too_long)
{
    size_t n = 0;
    *too_long = false;
    const char *p = value;
    while (*p) {
        while (*p && (isspace((unsigned char)*p) || *p == ','))
            p++;
        if (!*p)
            break;
        size_t len = 0;
        while (p[len] && !isspace((unsigned char)p[len]) && p[len] != ',')
            len++;
        if (n < max) {
            if (len >= 64)
                *too_long = true;
            else {
                memcpy(words[n], p, len);
                words[n][len] = '\0';
            }
        }
        n++;
        p += len;
    }
    return n;
}

/* A prefix in canonical form (host bits must be zero). */
static int pol_subnet_canon(const char *w, char *out, size_t len)
{
    char addr[64];
    const char *slash = strchr(w, '/');
    if (!slash || (size_t)(slash - w) >= sizeof(addr))
        return -1;
    memcpy(addr, w, (size_t)(slash - w));
    addr[slash - w] = '\0';
    unsigned char b[16];
    int af = strchr(addr, ':') ? AF_INET6 : AF_INET;
    int bits = af == AF_INET6 ? 128 : 32;
    char *end;
    long plen = strtol(slash + 1, &end, 10);
    if (!slash[1] || *end || plen < 0 || plen > bits || inet_pton(af, addr, b) != 1)
        return -1;
    for (int i = (int)plen; i < bits; i++)
        if (b[i / 8] & (0x80 >> (i % 8)))
            return -1;
    char txt[INET6_ADDRSTRLEN];
    inet_ntop(af, b, txt, sizeof(txt));
    snprintf(out, len, "%s/%ld", txt, plen);
    return 0;
}

static int pol_addr_canon(const char *w, char *out, size_t len)
{
    unsigned char b[16];
    int af = strchr(w, ':') ? AF_INET6 : AF_INET;
    if (inet_pton(af, w, b) != 1)
        return -1;
    char txt[INET6_ADDRSTRLEN];
    inet_ntop(af, b, txt, sizeof(txt));
    snprintf(out, len, "%s", txt);
    return 0;
}

static const struct {
    const char *name;
    uint32_t proto;
} pol_protos[] = {{"any", 0}, {"icmp", 1}, {"tcp", 6}, {"udp", 17}, {"sctp", 132}, {"icmpv6", 58}};

static bool pol_proto_has_ports(uint32_t proto)
{
    return proto == 6 || proto == 17 || proto == 132;
}

static const char *pol_proto_name(uint32_t proto)
{
    for (size_t i = 0; i < sizeof(pol_protos) / sizeof(pol_protos[0]); i++)
        if (pol_protos[i].proto == proto)
            return pol_protos[i].name;
    return NULL;
}

static int pol_uint(const char *s, uint32_t max, uint32_t *out)
{
    char *end;
    if (!isdigit((unsigned char)*s))
        return -1;
    unsigned long v = strtoul(s, &end, 10);
    if (*end || v > max)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

/* tcp, tcp/443, tcp/8000-8010, udp/53, icmp, any, 47 (a protocol number). */
static int pol_port_parse_one(const char *w, struct pol_port *p, char *why, size_t len)
{
    char proto[16];
    const char *slash = strchr(w, '/');
    size_t pl = slash ? (size_t)(slash - w) : strlen(w);
    if (pl == 0 || pl >= sizeof(proto)) {
        snprintf(why, len, "'%s' is not protocol[/port[-port]]", w);
        return -1;
    }
    memcpy(proto, w, pl);
    proto[pl] = '\0';
    p->lo = p->hi = 0;
    bool found = false;
    for (size_t i = 0; i < sizeof(pol_protos) / sizeof(pol_protos[0]); i++)
        if (strcasecmp(proto, pol_protos[i].name) == 0) {
            p->proto = pol_protos[i].proto;
            found = true;
        }
    if (!found && pol_uint(proto, 255, &p->proto) < 0) {
        snprintf(why, len,
                 "'%s': unknown protocol '%s' (tcp, udp, sctp, icmp, icmpv6, any or "
                 "0-255)",
                 w, proto);
        return -1;
    }
    if (!slash)
        return 0;
    if (!pol_proto_has_ports(p->proto)) {
        snprintf(why, len, "'%s': ports only with tcp, udp or sctp", w);
        return -1;
    }
    char range[32];
    snprintf(range, sizeof(range), "%s", slash + 1);
    char *dash = strchr(range, '-');
    if (dash)
        *dash = '\0';
    if (pol_uint(range, 65535, &p->lo) < 0 || p->lo == 0 ||
        (dash && (pol_uint(dash + 1, 65535, &p->hi) < 0 || p->hi < p->lo))) {
        snprintf(why, len, "'%s': ports are 1-65535, a range low-high", w);
        return -1;
    }
    if (!dash)
        p->hi = p->lo;
    if (p->hi - p->lo + 1 > POL_MAX_RANGE) {
        snprintf(why, len, "'%s': a range may span at most %d ports (one selector each)", w,
                 POL_MAX_RANGE);
        return -1;
    }
    return 0;
}

static void pol_port_canon(const struct pol_port *p, char *out, size_t len)
{
    const char *name = pol_proto_name(p->proto);
    char proto[8];
    if (!name) {
        snprintf(proto, sizeof(proto), "%u", p->proto);
        name = proto;
    }
    if (!p->lo)
        snprintf(out, len, "%s", name);
    else if (p->lo == p->hi)
        snprintf(out, len, "%s/%u", name, p->lo);
    else
        snprintf(out, len, "%s/%u-%u", name, p->lo, p->hi);
}

int pol_ports_parse(const char *canon, struct pol_port *out, size_t max)
{
    char words[32][64], why[POL_ERR];
    bool too_long;
    size_t n = pol_words(canon, words, 32, &too_long);
    if (n > max || n > 32 || too_long)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (pol_port_parse_one(words[i], &out[i], why, sizeof(why)) < 0)
            return -1;
    return (int)n;
}

static int pol_list_parse(const struct pol_setting_def *d, const char *value, char **canon,
                          char *why, size_t len)
{
    char words[32][64];
    bool too_long;
    size_t n = pol_words(value, words, 32, &too_long);
    if (n < d->min || n > d->max) {
        snprintf(why, len, "%s takes %u to %u entries, not %zu", d->name, d->min, d->max, n);
        return -1;
    }
    if (too_long) {
        snprintf(why, len, "%s: an entry is too long", d->name);
        return -1;
    }
    size_t cap = n * 72 + 1, off = 0;
    char *out = malloc(cap);
    if (!out) {
        snprintf(why, len, "out of memory");
        return -1;
    }
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        char c[96], err[POL_ERR] = "";
        int rc;
        if (d->type == POL_SUBNETS) {
            rc = pol_subnet_canon(words[i], c, sizeof(c));
            if (rc < 0)
                snprintf(err, sizeof(err), "'%s' is not a prefix (address/length, host bits zero)",
                         words[i]);
        } else if (d->type == POL_ADDRS) {
            rc = pol_addr_canon(words[i], c, sizeof(c));
            if (rc < 0)
                snprintf(err, sizeof(err), "'%s' is not an IPv4 or IPv6 address", words[i]);
        } else {
            struct pol_port p;
            rc = pol_port_parse_one(words[i], &p, err, sizeof(err));
            if (rc == 0)
                pol_port_canon(&p, c, sizeof(c));
        }
        if (rc < 0) {
            snprintf(why, len, "%s: %s", d->name, err);
            free(out);
            return -1;
        }
        off += (size_t)snprintf(out + off, cap - off, "%s%s", i ? " " : "", c);
    }
    *canon = out;
    return 0;
}

int pol_value_parse(int id, const char *value, char **canon, char *why, size_t len)
{
    *canon = NULL;
    if (id < 0 || id >= POL_N_SETTINGS) {
        snprintf(why, len, "no such setting");
        return -1;
    }
    const struct pol_setting_def *d = &pol_settings[id];
    const char *v = value ? value : "";
    char buf[32];
    switch (d->type) {
    case POL_BOOL:
        if (!strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcasecmp(v, "on") ||
            !strcmp(v, "1"))
            *canon = strdup("yes");
        else if (!strcasecmp(v, "no") || !strcasecmp(v, "false") || !strcasecmp(v, "off") ||
                 !strcmp(v, "0"))
            *canon = strdup("no");
        else {
            snprintf(why, len, "%s is yes or no, not '%s'", d->name, v);
            return -1;
        }
        break;
    case POL_CHOICE: {
        size_t vl = strlen(v);
        for (const char *c = d->choices; vl && c;) {
            const char *bar = strchr(c, '|');
            size_t cl = bar ? (size_t)(bar - c) : strlen(c);
            if (cl == vl && strncasecmp(c, v, vl) == 0) {
                *canon = strndup(c, cl);
                break;
            }
            c = bar ? bar + 1 : NULL;
        }
        if (!*canon && vl) {
            snprintf(why, len, "%s is one of %s, not '%s'", d->name, d->choices, v);
            return -1;
        }
        if (!vl) {
            snprintf(why, len, "%s is one of %s", d->name, d->choices);
            return -1;
        }
        break;
    }
    case POL_UINT: {
        uint32_t n;
        if (pol_uint(v, UINT32_MAX, &n) < 0 || n < d->min || n > d->max) {
            snprintf(why, len, "%s must be a whole number from %u to %u (%s), not '%s'", d->name,
                     d->min, d->max, d->help, v);
            return -1;
        }
        snprintf(buf, sizeof(buf), "%u", n);
        *canon = strdup(buf);
        break;
    }
    case POL_SUBNETS:
    case POL_PORTS:
    case POL_ADDRS:
        return pol_list_parse(d, v, canon, why, len);
    }
    if (!*canon) {
        snprintf(why, len, "out of memory");
        return -1;
    }
    return 0;
}

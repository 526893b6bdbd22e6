/* The [iked] section: its schema, and the parsing of what conf_bind leaves
 * as text (proposals, pool, subnets, DNS, local_id) into struct
 * iked_settings, once at start. Every refusal names the key and the word
 * that is wrong, so a typo in a proposal never becomes a silent fallback. */
#include "iked_conf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ike_const.h"
#include "ike_dh.h"
#include "service.h"

#define MS_PER_S   1000ull
#define MS_PER_MIN (60ull * MS_PER_S)
#define MS_PER_DAY (24ull * 60ull * MS_PER_MIN)

/* A reason, short enough to fit a conf_error after "file:line: key: ". */
#define IKED_WHY_MAX 400

const struct conf_key iked_conf_schema[] = {
    MGATE_SVC_KEYS(struct iked_conf, svc, "iked"),
    SERVICE_DB_KEY(struct iked_conf, database, "iked"),
    {"cert", CONF_PATH, offsetof(struct iked_conf, cert), "", 0, 0,
     "gateway certificate (PEM, intermediates after it); required to serve IKE"},
    {"key", CONF_PATH, offsetof(struct iked_conf, key), "", 0, 0,
     "the gateway certificate's private key (PEM)"},
    {"ca", CONF_LIST, offsetof(struct iked_conf, ca), "", 0, 0,
     "trusted CA certificate files (PEM, absolute paths): devices must chain to one"},
    {"crl", CONF_PATH, offsetof(struct iked_conf, crl), "", 0, 0,
     "CRL file (PEM): then every issuing CA needs a CRL in it"},
    {"local_id", CONF_STRING, offsetof(struct iked_conf, local_id), "", 0, 0,
     "IDr: FQDN, e-mail address or IP address (default: the certificate's subject DN)"},
    {"ike_proposals", CONF_LIST, offsetof(struct iked_conf, ike_proposals),
     IKED_DEFAULT_IKE_PROPOSALS, 0, 0, "IKE SA proposals, most preferred first"},
    {"esp_proposals", CONF_LIST, offsetof(struct iked_conf, esp_proposals),
     IKED_DEFAULT_ESP_PROPOSALS, 0, 0, "CHILD SA (ESP) proposals, most preferred first"},
    {"pool", CONF_STRING, offsetof(struct iked_conf, pool), IKED_DEFAULT_POOL, 0, 0,
     "virtual IPv4 addresses for devices (prefix length 8..30)"},
    {"subnets", CONF_LIST, offsetof(struct iked_conf, subnets), "", 0, 0,
     "corporate subnets (IPv4/IPv6 CIDR) devices may reach"},
    {"dns", CONF_LIST, offsetof(struct iked_conf, dns), "", 0, 0,
     "IPv4 DNS servers sent as INTERNAL_IP4_DNS"},
    {"authorization", CONF_STRING, offsetof(struct iked_conf, authorization), "ca-only", 0, 0,
     "who may connect: ca-only (any certificate from a configured CA) or policyd (asked at "
     "every IKE_AUTH)"},
    {"half_open_timeout", CONF_DURATION, offsetof(struct iked_conf, half_open_timeout_ms), "30s",
     MS_PER_S, 10 * MS_PER_MIN, "how long an IKE SA may wait for IKE_AUTH"},
    {"ike_lifetime", CONF_DURATION, offsetof(struct iked_conf, ike_lifetime_ms), "4h",
     10 * MS_PER_S, 30 * MS_PER_DAY, "IKE SA lifetime: the gateway rekeys it before"},
    {"child_lifetime", CONF_DURATION, offsetof(struct iked_conf, child_lifetime_ms), "1h",
     10 * MS_PER_S, 30 * MS_PER_DAY, "CHILD SA lifetime: the kernel's hard limit"},
    {"rekey_margin", CONF_UINT, offsetof(struct iked_conf, rekey_margin), "10", 1, 50,
     "rekey this percentage of a lifetime before it ends (the kernel's soft limit)"},
    {"rekey_jitter", CONF_UINT, offsetof(struct iked_conf, rekey_jitter), "10", 0, 40,
     "up to this percentage of a lifetime more, at random, so tunnels do not rekey at once"},
    {"workers", CONF_UINT, offsetof(struct iked_conf, workers), "0", 0, 256,
     "crypto worker threads (0: one per core)"},
    {"dpd_delay", CONF_DURATION, offsetof(struct iked_conf, dpd_delay_ms), "30s", 0, MS_PER_DAY,
     "idle time without a message from the device before a liveness check (0: no DPD)"},
    {"dpd_timeout", CONF_DURATION, offsetof(struct iked_conf, dpd_timeout_ms), "150s", MS_PER_S,
     MS_PER_DAY, "no answer to liveness checks for this long: the device is gone"},
    {"cookie_threshold", CONF_UINT, offsetof(struct iked_conf, cookie_threshold), "100", 0, 1000000,
     "half-open IKE SAs before IKE_SA_INIT needs a COOKIE (0: always)"},
    {"fragment_size", CONF_UINT, offsetof(struct iked_conf, fragment_size), "1280", 576, 9216,
     "largest IP datagram of an IKE fragment of ours (RFC 7383), to a peer that supports them"},
    {"sa_init_rate", CONF_UINT, offsetof(struct iked_conf, sa_init_rate), "10", 0, 100000,
     "IKE_SA_INIT requests per second from one source address (0: no limit)"},
    {"sa_init_burst", CONF_UINT, offsetof(struct iked_conf, sa_init_burst), "20", 1, 1000000,
     "IKE_SA_INIT requests one source address may send at once"},
    {"max_half_open", CONF_UINT, offsetof(struct iked_conf, max_half_open), "20000", 1, 1000000,
     "half-open IKE SAs kept at most; new IKE_SA_INIT requests beyond are dropped"},
    {"authorization_timeout", CONF_DURATION, offsetof(struct iked_conf, authz_timeout_ms), "2s",
     100, 30 * MS_PER_S, "with policyd: how long IKE_AUTH waits for its answer"},
    {"authorization_cache_max", CONF_DURATION, offsetof(struct iked_conf, authz_cache_max_ms), "1h",
     0, 7 * MS_PER_DAY,
     "with policyd: longest time a cached grant serves while policyd is down (0: never)"},
    {"nat_keepalive", CONF_DURATION, offsetof(struct iked_conf, nat_keepalive_ms), "20s", 0,
     60 * MS_PER_MIN, "NAT keepalive interval when the gateway is behind a NAT (0: off)"},
    {"checkpoint", CONF_PATH, offsetof(struct iked_conf, checkpoint), "", 0, 0,
     "IKE SA checkpoint on tmpfs, for restarts (default: <run_dir>/iked.checkpoint)"},
    {NULL, 0, 0, NULL, 0, 0, NULL},
};

static void iked_why(char *why, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void iked_why(char *why, size_t len, const char *fmt, ...)
{
    if (!why || len == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, len, fmt, ap);
    va_end(ap);
}

/* ---- proposal words ---- */

enum iked_alg_kind {
    IKED_ALG_ENCR,
    IKED_ALG_INTEG,
    IKED_ALG_PRF,
    IKED_ALG_DH,
    IKED_ALG_ESN,
    IKED_ALG_KINDS,
};

struct iked_alg {
    const char *name;
    enum iked_alg_kind kind;
    uint16_t id;
    uint16_t keybits; /* ENCR */
    uint16_t prf;     /* INTEG: the PRF of the same hash, implied in IKE */
    bool aead;        /* ENCR */
};

/* strongSwan's well-known names, restricted to what the crypto layer and
 * the kernel both do. */
static const struct iked_alg iked_algs[] = {
    {"aes128gcm16", IKED_ALG_ENCR, IKE_ENCR_AES_GCM_16, 128, 0, true},
    {"aes256gcm16", IKED_ALG_ENCR, IKE_ENCR_AES_GCM_16, 256, 0, true},
    {"aes128", IKED_ALG_ENCR, IKE_ENCR_AES_CBC, 128, 0, false},
    {"aes256", IKED_ALG_ENCR, IKE_ENCR_AES_CBC, 256, 0, false},
    {"sha256", IKED_ALG_INTEG, IKE_INTEG_HMAC_SHA2_256_128, 0, IKE_PRF_HMAC_SHA2_256, false},
    {"sha384", IKED_ALG_INTEG, IKE_INTEG_HMAC_SHA2_384_192, 0, IKE_PRF_HMAC_SHA2_384, false},
    {"sha512", IKED_ALG_INTEG, IKE_INTEG_HMAC_SHA2_512_256, 0, IKE_PRF_HMAC_SHA2_512, false},
    {"prfsha256", IKED_ALG_PRF, IKE_PRF_HMAC_SHA2_256, 0, 0, false},
    {"prfsha384", IKED_ALG_PRF, IKE_PRF_HMAC_SHA2_384, 0, 0, false},
    {"prfsha512", IKED_ALG_PRF, IKE_PRF_HMAC_SHA2_512, 0, 0, false},
    {"modp2048", IKED_ALG_DH, IKE_DH_MODP_2048, 0, 0, false},
    {"modp3072", IKED_ALG_DH, IKE_DH_MODP_3072, 0, 0, false},
    {"modp4096", IKED_ALG_DH, IKE_DH_MODP_4096, 0, 0, false},
    {"ecp256", IKED_ALG_DH, IKE_DH_ECP_256, 0, 0, false},
    {"ecp384", IKED_ALG_DH, IKE_DH_ECP_384, 0, 0, false},
    {"ecp521", IKED_ALG_DH, IKE_DH_ECP_521, 0, 0, false},
    {"curve25519", IKED_ALG_DH, IKE_DH_CURVE25519, 0, 0, false},
    {"x25519", IKED_ALG_DH, IKE_DH_CURVE25519, 0, 0, false},
    {"esn", IKED_ALG_ESN, IKE_ESN_YES, 0, 0, false},
    {"noesn", IKED_ALG_ESN, IKE_ESN_NO, 0, 0, false},
};

static const char *const iked_alg_kind_name[IKED_ALG_KINDS] = {
    [IKED_ALG_ENCR] = "encryption algorithm",
    [IKED_ALG_INTEG] = "integrity algorithm",
    [IKED_ALG_PRF] = "PRF",
    [IKED_ALG_DH] = "key exchange group",
    [IKED_ALG_ESN] = "ESN setting",
};

static const char *const iked_alg_kind_article[IKED_ALG_KINDS] = {
    [IKED_ALG_ENCR] = "an", [IKED_ALG_INTEG] = "an", [IKED_ALG_PRF] = "a",
    [IKED_ALG_DH] = "a",    [IKED_ALG_ESN] = "an",
};

#define IKED_PROPOSAL_MAX_LEN 128

/* One algorithm of each kind, as named in a proposal string. */
struct iked_prop_words {
    const struct iked_alg *alg[IKED_ALG_KINDS];
    char word[IKED_ALG_KINDS][IKED_PROPOSAL_MAX_LEN]; /* as written, for messages */
};

static const struct iked_alg *iked_alg_find(const char *word)
{
    for (size_t i = 0; i < sizeof(iked_algs) / sizeof(iked_algs[0]); i++)
        if (strcasecmp(iked_algs[i].name, word) == 0)
            return &iked_algs[i];
    return NULL;
}

/* Splits s at '-' and looks every word up; `allowed` is a mask of the
 * kinds this protocol takes. */
static int iked_prop_split(const char *s, unsigned allowed, const char *proto,
                           struct iked_prop_words *pw, char *why, size_t len)
{
    memset(pw, 0, sizeof(*pw));
    if (!s || !*s) {
        iked_why(why, len, "empty proposal");
        return -1;
    }
    if (strlen(s) >= IKED_PROPOSAL_MAX_LEN) {
        iked_why(why, len, "'%.40s...': proposal too long", s);
        return -1;
    }
    const char *p = s;
    for (;;) {
        const char *dash = strchr(p, '-');
        size_t n = dash ? (size_t)(dash - p) : strlen(p);
        char word[IKED_PROPOSAL_MAX_LEN];
        memcpy(word, p, n);
        word[n] = '\0';
        if (n == 0) {
            iked_why(why, len, "'%s': empty algorithm name (two dashes, or one at an end)", s);
            return -1;
        }
        const struct iked_alg *a = iked_alg_find(word);
        if (!a) {
            iked_why(why, len, "'%s': unknown algorithm '%s'", s, word);
            return -1;
        }
        if (!(allowed & (1u << a->kind))) {
            iked_why(why, len, "'%s': '%s' is %s %s, which %s proposals do not take", s, word,
                     iked_alg_kind_article[a->kind], iked_alg_kind_name[a->kind], proto);
            return -1;
        }
        if (pw->alg[a->kind]) {
            iked_why(why, len, "'%s': '%s' is a second %s (one of each per proposal)", s, word,
                     iked_alg_kind_name[a->kind]);
            return -1;
        }
        pw->alg[a->kind] = a;
        memcpy(pw->word[a->kind], word, n + 1);
        if (!dash)
            return 0;
        p = dash + 1;
    }
}

int iked_parse_ike_proposal(const char *s, struct iked_ike_proposal *out, char *why, size_t len)
{
    struct iked_prop_words pw;
    unsigned allowed =
        1u << IKED_ALG_ENCR | 1u << IKED_ALG_INTEG | 1u << IKED_ALG_PRF | 1u << IKED_ALG_DH;
    if (iked_prop_split(s, allowed, "IKE", &pw, why, len) < 0)
        return -1;
    const struct iked_alg *encr = pw.alg[IKED_ALG_ENCR], *integ = pw.alg[IKED_ALG_INTEG];
    const struct iked_alg *prf = pw.alg[IKED_ALG_PRF], *dh = pw.alg[IKED_ALG_DH];
    if (!encr) {
        iked_why(why, len,
                 "'%s': no encryption algorithm (aes128gcm16, aes256gcm16, aes128, aes256)", s);
        return -1;
    }
    if (encr->aead && integ) {
        iked_why(why, len, "'%s': '%s' is an integrity algorithm, which AES-GCM ('%s') replaces", s,
                 pw.word[IKED_ALG_INTEG], pw.word[IKED_ALG_ENCR]);
        return -1;
    }
    if (encr->aead && !prf) {
        iked_why(why, len,
                 "'%s': no PRF: an AES-GCM proposal names one (prfsha256, prfsha384, prfsha512)",
                 s);
        return -1;
    }
    if (!encr->aead && !integ) {
        iked_why(why, len, "'%s': no integrity algorithm for '%s' (sha256, sha384, sha512)", s,
                 pw.word[IKED_ALG_ENCR]);
        return -1;
    }
    if (!dh) {
        iked_why(why, len,
                 "'%s': no key exchange group (modp2048, modp3072, modp4096, ecp256, ecp384, "
                 "ecp521, curve25519)",
                 s);
        return -1;
    }
    /* Which groups work depends on the OpenSSL build (a FIPS provider has
     * no X25519): ask the crypto layer, which knows once initialised. */
    if (ike_crypto_init() != IKE_CRYPTO_OK) {
        iked_why(why, len, "'%s': the crypto layer failed to initialise (OpenSSL)", s);
        return -1;
    }
    if (!ike_dh_group_supported(dh->id)) {
        iked_why(why, len, "'%s': key exchange group '%s' is not supported by the crypto layer", s,
                 pw.word[IKED_ALG_DH]);
        return -1;
    }
    ike_suite suite = {
        .encr = encr->id,
        .encr_keybits = encr->keybits,
        .integ = integ ? integ->id : IKE_INTEG_NONE,
        /* Without a PRF word the integrity algorithm's hash is the PRF's
         * (aes256-sha384 = PRF_HMAC_SHA2_384), as strongSwan reads it. */
        .prf = prf ? prf->id : integ->prf,
        .dh = dh->id,
    };
    if (ike_crypto_suite_check(&suite) != IKE_CRYPTO_OK) {
        iked_why(why, len, "'%s': this combination is not supported by the crypto layer", s);
        return -1;
    }
    out->suite = suite;
    return 0;
}

int iked_parse_esp_proposal(const char *s, struct iked_esp_proposal *out, char *why, size_t len)
{
    struct iked_prop_words pw;
    /* A key exchange group in an ESP proposal is PFS: CREATE_CHILD_SA
     * rekeys of this CHILD SA carry a KE of that group (RFC 7296 §1.3.1). */
    unsigned allowed =
        1u << IKED_ALG_ENCR | 1u << IKED_ALG_INTEG | 1u << IKED_ALG_ESN | 1u << IKED_ALG_DH;
    if (iked_prop_split(s, allowed, "ESP", &pw, why, len) < 0)
        return -1;
    const struct iked_alg *encr = pw.alg[IKED_ALG_ENCR], *integ = pw.alg[IKED_ALG_INTEG];
    const struct iked_alg *esn = pw.alg[IKED_ALG_ESN], *dh = pw.alg[IKED_ALG_DH];
    if (!encr) {
        iked_why(why, len,
                 "'%s': no encryption algorithm (aes128gcm16, aes256gcm16, aes128, aes256)", s);
        return -1;
    }
    if (encr->aead && integ) {
        iked_why(why, len, "'%s': '%s' is an integrity algorithm, which AES-GCM ('%s') replaces", s,
                 pw.word[IKED_ALG_INTEG], pw.word[IKED_ALG_ENCR]);
        return -1;
    }
    /* ESP without integrity is malleable: never offered. */
    if (!encr->aead && !integ) {
        iked_why(why, len, "'%s': no integrity algorithm for '%s' (sha256, sha384, sha512)", s,
                 pw.word[IKED_ALG_ENCR]);
        return -1;
    }
    if (dh && (ike_crypto_init() != IKE_CRYPTO_OK || !ike_dh_group_supported(dh->id))) {
        iked_why(why, len, "'%s': key exchange group '%s' is not supported by the crypto layer", s,
                 pw.word[IKED_ALG_DH]);
        return -1;
    }
    out->encr = encr->id;
    out->encr_keybits = encr->keybits;
    out->integ = integ ? integ->id : IKE_INTEG_NONE;
    out->esn = esn && esn->id == IKE_ESN_YES;
    out->dh = dh ? dh->id : 0;
    return 0;
}

/* ---- addresses ---- */

/* "addr/plen" or a bare address (a host: /32, /128). family is AF_INET,
 * AF_INET6 or AF_UNSPEC (either). Host bits must be zero. */
static int iked_parse_cidr(const char *s, int family, struct iked_subnet *out, char *why,
                           size_t len)
{
    char addr[INET6_ADDRSTRLEN + 1];
    const char *slash = strchr(s, '/');
    size_t alen = slash ? (size_t)(slash - s) : strlen(s);
    if (alen == 0 || alen >= sizeof(addr)) {
        iked_why(why, len, "'%s' is not an address/prefix", s);
        return -1;
    }
    memcpy(addr, s, alen);
    addr[alen] = '\0';
    memset(out, 0, sizeof(*out));
    if ((family == AF_UNSPEC || family == AF_INET) && inet_pton(AF_INET, addr, out->addr) == 1) {
        out->family = AF_INET;
    } else if ((family == AF_UNSPEC || family == AF_INET6) &&
               inet_pton(AF_INET6, addr, out->addr) == 1) {
        out->family = AF_INET6;
    } else {
        iked_why(why, len, "'%s' is not an %s address/prefix", s,
                 family == AF_INET    ? "IPv4"
                 : family == AF_INET6 ? "IPv6"
                                      : "IPv4 or IPv6");
        return -1;
    }
    unsigned max = out->family == AF_INET ? 32 : 128;
    unsigned plen = max;
    if (slash) {
        const char *d = slash + 1;
        if (!isdigit((unsigned char)d[0]) || strlen(d) > 3) {
            iked_why(why, len, "'%s': '%s' is not a prefix length", s, d);
            return -1;
        }
        plen = 0;
        for (; *d; d++) {
            if (!isdigit((unsigned char)*d)) {
                iked_why(why, len, "'%s': '%s' is not a prefix length", s, slash + 1);
                return -1;
            }
            plen = plen * 10 + (unsigned)(*d - '0');
        }
        if (plen > max) {
            iked_why(why, len, "'%s': prefix length %u is more than %u", s, plen, max);
            return -1;
        }
    }
    out->plen = (uint8_t)plen;
    for (unsigned bit = plen; bit < max; bit++) {
        if (out->addr[bit / 8] & (0x80u >> (bit % 8))) {
            iked_why(why, len, "'%s' has host bits set after the /%u prefix", s, plen);
            return -1;
        }
    }
    return 0;
}

/* local_id: an IP address, an e-mail address (RFC822) or an FQDN. A DN is
 * refused: the peer checks IDr against our certificate, whose subject is
 * what an empty local_id sends already. */
static int iked_parse_local_id(const char *s, struct iked_settings *set, char *why, size_t len)
{
    set->local_id_type = 0;
    set->local_id_len = 0;
    if (!s || !*s)
        return 0;
    size_t n = strlen(s);
    if (n > IKED_MAX_ID_LEN) {
        iked_why(why, len, "'%.40s...' is longer than %u octets", s, IKED_MAX_ID_LEN);
        return -1;
    }
    if (inet_pton(AF_INET, s, set->local_id) == 1) {
        set->local_id_type = IKE_ID_IPV4_ADDR;
        set->local_id_len = 4;
        return 0;
    }
    if (inet_pton(AF_INET6, s, set->local_id) == 1) {
        set->local_id_type = IKE_ID_IPV6_ADDR;
        set->local_id_len = 16;
        return 0;
    }
    if (strchr(s, '=')) {
        iked_why(why, len,
                 "'%s' looks like a DN: leave local_id empty to send the certificate's subject", s);
        return -1;
    }
    const char *at = strchr(s, '@');
    const char *host = at ? at + 1 : s;
    if (at && (at == s || strchr(host, '@'))) {
        iked_why(why, len, "'%s' is not an e-mail address", s);
        return -1;
    }
    /* Hostname syntax (RFC 1123 labels); what the certificate's SAN must say. */
    size_t label = 0;
    for (const char *c = host;; c++) {
        if (*c == '.' || *c == '\0') {
            if (label == 0 || label > 63 || c[-1] == '-') {
                iked_why(why, len, "'%s' is not a host name, e-mail or IP address", s);
                return -1;
            }
            if (*c == '\0')
                break;
            label = 0;
            continue;
        }
        if (!isalnum((unsigned char)*c) && !(*c == '-' && label > 0)) {
            iked_why(why, len, "'%s' is not a host name, e-mail or IP address", s);
            return -1;
        }
        label++;
    }
    set->local_id_type = at ? IKE_ID_RFC822_ADDR : IKE_ID_FQDN;
    memcpy(set->local_id, s, n);
    set->local_id_len = n;
    return 0;
}

/* ---- the whole section ---- */

static int iked_settings_lists(const struct iked_conf *conf, struct iked_settings *set,
                               const char **key, char *why, size_t len)
{
    char r[IKED_WHY_MAX];

    *key = "ike_proposals";
    if (conf->ike_proposals.n == 0) {
        iked_why(why, len, "empty: at least one proposal is needed");
        return -1;
    }
    if (conf->ike_proposals.n > IKED_MAX_PROPOSALS) {
        iked_why(why, len, "%zu proposals, at most %d", conf->ike_proposals.n, IKED_MAX_PROPOSALS);
        return -1;
    }
    for (size_t i = 0; i < conf->ike_proposals.n; i++) {
        if (iked_parse_ike_proposal(conf->ike_proposals.v[i], &set->ike[i], r, sizeof(r)) < 0) {
            iked_why(why, len, "%s", r);
            return -1;
        }
        for (size_t j = 0; j < i; j++) {
            if (memcmp(&set->ike[j].suite, &set->ike[i].suite, sizeof(ike_suite)) == 0) {
                iked_why(why, len, "'%s' says the same as '%s'", conf->ike_proposals.v[i],
                         conf->ike_proposals.v[j]);
                return -1;
            }
        }
        set->n_ike = i + 1;
    }

    *key = "esp_proposals";
    if (conf->esp_proposals.n == 0) {
        iked_why(why, len, "empty: at least one proposal is needed");
        return -1;
    }
    if (conf->esp_proposals.n > IKED_MAX_PROPOSALS) {
        iked_why(why, len, "%zu proposals, at most %d", conf->esp_proposals.n, IKED_MAX_PROPOSALS);
        return -1;
    }
    for (size_t i = 0; i < conf->esp_proposals.n; i++) {
        struct iked_esp_proposal *e = &set->esp[i];
        if (iked_parse_esp_proposal(conf->esp_proposals.v[i], e, r, sizeof(r)) < 0) {
            iked_why(why, len, "%s", r);
            return -1;
        }
        for (size_t j = 0; j < i; j++) {
            const struct iked_esp_proposal *o = &set->esp[j];
            if (o->encr == e->encr && o->encr_keybits == e->encr_keybits && o->integ == e->integ &&
                o->esn == e->esn && o->dh == e->dh) {
                iked_why(why, len, "'%s' says the same as '%s'", conf->esp_proposals.v[i],
                         conf->esp_proposals.v[j]);
                return -1;
            }
        }
        set->n_esp = i + 1;
    }

    *key = "pool";
    struct iked_subnet pool;
    if (iked_parse_cidr(conf->pool ? conf->pool : "", AF_INET, &pool, r, sizeof(r)) < 0) {
        iked_why(why, len, "%s", r);
        return -1;
    }
    /* /31 and /32 leave no host address once the network, the gateway's
     * and the broadcast address are taken; under /8 is a typo. */
    if (pool.plen < 8 || pool.plen > 30) {
        iked_why(why, len, "'%s': prefix length must be 8..30", conf->pool);
        return -1;
    }
    memcpy(&set->pool_net, pool.addr, 4);
    set->pool_plen = pool.plen;

    *key = "subnets";
    if (conf->subnets.n > IKED_MAX_SUBNETS) {
        iked_why(why, len, "%zu subnets, at most %d", conf->subnets.n, IKED_MAX_SUBNETS);
        return -1;
    }
    for (size_t i = 0; i < conf->subnets.n; i++) {
        if (iked_parse_cidr(conf->subnets.v[i], AF_UNSPEC, &set->subnets[i], r, sizeof(r)) < 0) {
            iked_why(why, len, "%s", r);
            return -1;
        }
        set->n_subnets = i + 1;
    }

    *key = "dns";
    if (conf->dns.n > IKED_MAX_DNS) {
        iked_why(why, len, "%zu servers, at most %d", conf->dns.n, IKED_MAX_DNS);
        return -1;
    }
    for (size_t i = 0; i < conf->dns.n; i++) {
        if (inet_pton(AF_INET, conf->dns.v[i], &set->dns[i]) != 1) {
            iked_why(why, len, "'%s' is not an IPv4 address", conf->dns.v[i]);
            return -1;
        }
        set->n_dns = i + 1;
    }
    return 0;
}

static bool iked_str_set(const char *s)
{
    return s && *s;
}

static int iked_settings_do(const struct iked_conf *conf, struct iked_settings *set,
                            const char **key, char *why, size_t len)
{
    memset(set, 0, sizeof(*set));
    if (iked_settings_lists(conf, set, key, why, len) < 0)
        return -1;

    *key = "authorization";
    if (conf->authorization && strcmp(conf->authorization, "ca-only") == 0) {
        set->authz = IKED_AUTHZ_CA_ONLY;
    } else if (conf->authorization && strcmp(conf->authorization, "policyd") == 0) {
        set->authz = IKED_AUTHZ_POLICYD;
    } else {
        iked_why(why, len, "'%s' is not supported (allowed: ca-only, policyd)",
                 conf->authorization ? conf->authorization : "");
        return -1;
    }

    *key = "local_id";
    if (iked_parse_local_id(conf->local_id, set, why, len) < 0)
        return -1;

    /* The credentials belong together: a certificate without its key, a
     * gateway that trusts no CA or a CRL for no CA can never authenticate
     * anyone, so it is refused here rather than at the first device. */
    bool cert = iked_str_set(conf->cert), key_set = iked_str_set(conf->key);
    if (cert != key_set) {
        *key = cert ? "key" : "cert";
        iked_why(why, len, "not set, while %s is", cert ? "cert" : "key");
        return -1;
    }
    *key = "ca";
    for (size_t i = 0; i < conf->ca.n; i++) {
        if (conf->ca.v[i][0] != '/') {
            iked_why(why, len, "'%s' is not an absolute path", conf->ca.v[i]);
            return -1;
        }
    }
    if (cert && conf->ca.n == 0) {
        iked_why(why, len, "not set: with a gateway certificate, devices need a CA to chain to");
        return -1;
    }
    if (iked_str_set(conf->crl) && conf->ca.n == 0) {
        *key = "crl";
        iked_why(why, len, "set without any ca");
        return -1;
    }

    set->half_open_timeout_ms = (uint32_t)conf->half_open_timeout_ms;
    set->ike_lifetime_s = (uint32_t)(conf->ike_lifetime_ms / MS_PER_S);
    set->child_lifetime_s = (uint32_t)(conf->child_lifetime_ms / MS_PER_S);
    set->rekey_margin_pct = (uint8_t)conf->rekey_margin;
    set->rekey_jitter_pct = (uint8_t)conf->rekey_jitter;
    set->dpd_delay_ms = (uint32_t)conf->dpd_delay_ms;
    set->dpd_timeout_ms = (uint32_t)conf->dpd_timeout_ms;
    set->cookie_threshold = (uint32_t)conf->cookie_threshold;
    set->fragment_size = (uint32_t)conf->fragment_size;
    set->sa_init_rate = (uint32_t)conf->sa_init_rate;
    set->sa_init_burst = (uint32_t)conf->sa_init_burst;
    set->max_half_open = (uint32_t)conf->max_half_open;
    set->authz_timeout_ms = (uint32_t)conf->authz_timeout_ms;
    set->authz_cache_max_s = (uint32_t)(conf->authz_cache_max_ms / MS_PER_S);
    set->nat_keepalive_ms = (uint32_t)conf->nat_keepalive_ms;
    return 0;
}

int iked_settings_parse(const struct iked_conf *conf, struct iked_settings *set, char *why,
                        size_t why_len)
{
    char r[IKED_WHY_MAX];
    const char *key = "iked";
    if (iked_settings_do(conf, set, &key, r, sizeof(r)) < 0) {
        iked_why(why, why_len, "%s: %s", key, r);
        return -1;
    }
    return 0;
}

int iked_settings_load(const struct conf_file *cf, const struct iked_conf *conf,
                       struct iked_settings *set, struct conf_error *err)
{
    char r[IKED_WHY_MAX];
    const char *key = "iked";
    if (iked_settings_do(conf, set, &key, r, sizeof(r)) == 0)
        return 0;
    unsigned line = 0;
    for (size_t i = 0; cf && i < cf->n_sections; i++) {
        const struct conf_section *s = &cf->sections[i];
        if (strcmp(s->name, "iked") != 0)
            continue;
        for (size_t j = 0; j < s->n_entries; j++)
            if (strcmp(s->entries[j].key, key) == 0)
                line = s->entries[j].line;
    }
    const char *path = cf && cf->path ? cf->path : "<built-in defaults>";
    if (!err)
        return -1;
    if (line)
        snprintf(err->msg, sizeof(err->msg), "%s:%u: %s: %s", path, line, key, r);
    else
        snprintf(err->msg, sizeof(err->msg), "%s: %s: %s", path, key, r);
    return -1;
}

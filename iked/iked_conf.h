/* iked's configuration: the [iked] section as written (struct iked_conf,
 * bound by common/conf.c) and as used (struct iked_settings: proposals,
 * pool, subnets, DNS parsed once at start; read-only afterwards, shared by
 * the worker threads). Owner: iked_conf.c. */
#ifndef MGATE_IKED_CONF_H
#define MGATE_IKED_CONF_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "ike_crypto.h"
#include "mgate_conf.h"

#define IKED_MAX_PROPOSALS 16
#define IKED_MAX_SUBNETS   16
#define IKED_MAX_DNS       4
#define IKED_MAX_ID_LEN    255

/* The built-in defaults of the list keys (also in docs/config.md). */
#define IKED_DEFAULT_IKE_PROPOSALS                                                                 \
    "aes128gcm16-prfsha256-ecp256 aes256gcm16-prfsha384-curve25519 aes256-sha384-modp3072 "        \
    "aes128-sha256-modp2048"
#define IKED_DEFAULT_ESP_PROPOSALS "aes128gcm16 aes256gcm16 aes256-sha384 aes128-sha256"
#define IKED_DEFAULT_POOL          "198.18.0.0/24"

enum iked_authz {
    /* Any device whose certificate chains to a configured CA may connect.
     * For labs and until policyd decides: said at start in one log line. */
    IKED_AUTHZ_CA_ONLY,
    /* policyd decides at every IKE_AUTH (allow, quarantine, deny, the
     * selectors and DNS): iked_authz.c. */
    IKED_AUTHZ_POLICYD,
};

struct iked_conf {
    struct mgate_svc_conf svc;
    char *database;
    char *cert;                     /* gateway certificate (PEM, chain after it) */
    char *key;                      /* its private key (PEM) */
    struct conf_list ca;            /* trusted CA files (PEM) */
    char *crl;                      /* optional CRL file */
    char *local_id;                 /* IDr; default: our certificate's subject DN */
    struct conf_list ike_proposals; /* "aes128gcm16-prfsha256-ecp256", ... (preference order) */
    struct conf_list esp_proposals; /* "aes128gcm16", "aes256-sha384", "aes256gcm16-esn" */
    char *pool;                     /* "198.18.0.0/24": virtual IPv4 addresses */
    struct conf_list subnets;       /* corporate subnets offered to devices */
    struct conf_list dns;           /* INTERNAL_IP4_DNS */
    char *authorization;            /* "ca-only" or "policyd" */
    uint64_t half_open_timeout_ms;
    uint64_t ike_lifetime_ms;
    uint64_t child_lifetime_ms;
    uint64_t rekey_margin; /* percent of a lifetime: rekey that long before it ends */
    uint64_t rekey_jitter; /* percent: a random part more, spreading rekeys */
    uint64_t workers;          /* crypto worker threads; 0 = one per core */
    uint64_t dpd_delay_ms;     /* idle time before a liveness check; 0 = no DPD */
    uint64_t dpd_timeout_ms;   /* no answer for this long: the peer is dead */
    uint64_t cookie_threshold; /* half-open SAs before cookies are asked for; 0 = always */
    uint64_t fragment_size;    /* RFC 7383: largest IP datagram of one of our fragments */
    uint64_t sa_init_rate;     /* IKE_SA_INIT per second and source address; 0 = no limit */
    uint64_t sa_init_burst;    /* ... with bursts up to this many */
    uint64_t max_half_open;    /* half-open IKE SAs kept at most */

    /* authorization = policyd: the wait for its answer, the bound on a
     * cached grant's life (0: no cache). */
    uint64_t authz_timeout_ms;
    uint64_t authz_cache_max_ms;
    uint64_t nat_keepalive_ms; /* RFC 3948 keepalives when we are behind a NAT; 0 = off */
    char *checkpoint;          /* IKE SA checkpoint file; "" = <run_dir>/iked.checkpoint */
};

extern const struct conf_key iked_conf_schema[];

struct iked_ike_proposal {
    ike_suite suite; /* encr, encr_keybits, integ (0 with AEAD), prf, dh */
};

struct iked_esp_proposal {
    uint16_t encr;
    uint16_t encr_keybits;
    uint16_t integ; /* 0 with AEAD */
    bool esn;
    uint16_t dh; /* PFS group for CREATE_CHILD_SA; 0: none */
};

struct iked_subnet {
    int family; /* AF_INET or AF_INET6 */
    uint8_t addr[16];
    uint8_t plen;
};

struct iked_settings {
    struct iked_ike_proposal ike[IKED_MAX_PROPOSALS];
    size_t n_ike;
    struct iked_esp_proposal esp[IKED_MAX_PROPOSALS];
    size_t n_esp;
    struct in_addr pool_net; /* network order */
    uint8_t pool_plen;
    struct iked_subnet subnets[IKED_MAX_SUBNETS];
    size_t n_subnets;
    struct in_addr dns[IKED_MAX_DNS];
    size_t n_dns;
    enum iked_authz authz;
    uint32_t half_open_timeout_ms;
    uint32_t ike_lifetime_s;
    uint32_t child_lifetime_s;
    uint8_t rekey_margin_pct, rekey_jitter_pct;
    uint32_t dpd_delay_ms; /* 0: no liveness checks */
    uint32_t dpd_timeout_ms;
    uint32_t cookie_threshold; /* 0: every IKE_SA_INIT needs a COOKIE */
    uint32_t fragment_size;    /* 0 (tests only): never fragment */
    uint32_t sa_init_rate;     /* 0: no per-source limit */
    uint32_t sa_init_burst;
    uint32_t max_half_open;

    /* authorization = policyd: the wait for its answer, and the longest a
     * cached grant serves. */
    uint32_t authz_timeout_ms;
    uint32_t authz_cache_max_s;
    uint32_t nat_keepalive_ms; /* 0: no NAT keepalives */
    /* IDr from local_id: 0 when unset (send our certificate's subject as
     * IKE_ID_DER_ASN1_DN); else IKE_ID_FQDN / IKE_ID_RFC822_ADDR (the text)
     * or IKE_ID_IPV4_ADDR / IKE_ID_IPV6_ADDR (4 or 16 octets). */
    uint8_t local_id_type;
    uint8_t local_id[IKED_MAX_ID_LEN];
    size_t local_id_len;
};

/* Parses what conf_bind left in conf into settings. On error, returns -1 with
 * "key: reason" in why (the caller adds the file name). */
int iked_settings_parse(const struct iked_conf *conf, struct iked_settings *set, char *why,
                        size_t why_len);
/* The same for a daemon at start: err gets "file:line: key: reason", the
 * line being where cf's [iked] section sets the key (no line for a key left
 * at its default, e.g. ca missing while cert is set). */
int iked_settings_load(const struct conf_file *cf, const struct iked_conf *conf,
                       struct iked_settings *set, struct conf_error *err);

/* One proposal string; exposed for tests and mgatectl. IKE proposals ask
 * the crypto layer which key exchange groups this OpenSSL supports, so
 * they (and iked_settings_parse) call ike_crypto_init() (idempotent). */
int iked_parse_ike_proposal(const char *s, struct iked_ike_proposal *out, char *why, size_t len);
int iked_parse_esp_proposal(const char *s, struct iked_esp_proposal *out, char *why, size_t len);

#endif

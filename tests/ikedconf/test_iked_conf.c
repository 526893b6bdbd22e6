/* The [iked] section: defaults, a complete good config, and every refusal
 * with its exact message (file, line, key, the wrong word). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "ike_const.h"
#include "iked_conf.h"

/* Parses text as t.conf, binds [iked] and makes settings. Returns the
 * first failing step's rc; msg gets its message. */
static int load(const char *text, struct iked_settings *set, char *msg, size_t len)
{
    struct conf_file cf;
    struct conf_error err = {{0}};
    struct iked_conf conf;
    memset(&conf, 0, sizeof(conf));
    msg[0] = '\0';
    int rc = conf_file_parse("t.conf", text, &cf, &err);
    if (rc == 0) {
        rc = conf_bind(&cf, "iked", iked_conf_schema, &conf, false, &err);
        if (rc == 0)
            rc = iked_settings_load(&cf, &conf, set, &err);
        conf_unbind(iked_conf_schema, &conf);
        conf_file_free(&cf);
    }
    if (rc)
        snprintf(msg, len, "%s", err.msg);
    return rc;
}

static void test_defaults(void **state)
{
    (void)state;
    struct iked_settings set;
    char msg[CONF_ERR_MAX];
    assert_int_equal(load("", &set, msg, sizeof(msg)), 0);

    assert_int_equal(set.n_ike, 4);
    assert_int_equal(set.ike[0].suite.encr, IKE_ENCR_AES_GCM_16);
    assert_int_equal(set.ike[0].suite.encr_keybits, 128);
    assert_int_equal(set.ike[0].suite.integ, IKE_INTEG_NONE);
    assert_int_equal(set.ike[0].suite.prf, IKE_PRF_HMAC_SHA2_256);
    assert_int_equal(set.ike[0].suite.dh, IKE_DH_ECP_256);
    assert_int_equal(set.ike[1].suite.encr_keybits, 256);
    assert_int_equal(set.ike[1].suite.prf, IKE_PRF_HMAC_SHA2_384);
    assert_int_equal(set.ike[1].suite.dh, IKE_DH_CURVE25519);
    /* aes256-sha384-modp3072: the PRF follows the integrity hash. */
    assert_int_equal(set.ike[2].suite.encr, IKE_ENCR_AES_CBC);
    assert_int_equal(set.ike[2].suite.encr_keybits, 256);
    assert_int_equal(set.ike[2].suite.integ, IKE_INTEG_HMAC_SHA2_384_192);
    assert_int_equal(set.ike[2].suite.prf, IKE_PRF_HMAC_SHA2_384);
    assert_int_equal(set.ike[2].suite.dh, IKE_DH_MODP_3072);
    assert_int_equal(set.ike[3].suite.integ, IKE_INTEG_HMAC_SHA2_256_128);
    assert_int_equal(set.ike[3].suite.prf, IKE_PRF_HMAC_SHA2_256);
    assert_int_equal(set.ike[3].suite.dh, IKE_DH_MODP_2048);

    assert_int_equal(set.n_esp, 4);
    assert_int_equal(set.esp[0].encr, IKE_ENCR_AES_GCM_16);
    assert_int_equal(set.esp[0].encr_keybits, 128);
    assert_int_equal(set.esp[0].integ, IKE_INTEG_NONE);
    assert_false(set.esp[0].esn);
    assert_int_equal(set.esp[2].encr, IKE_ENCR_AES_CBC);
    assert_int_equal(set.esp[2].integ, IKE_INTEG_HMAC_SHA2_384_192);

    assert_int_equal(ntohl(set.pool_net.s_addr), 0xc6120000u); /* 198.18.0.0 */
    assert_int_equal(set.pool_plen, 24);
    assert_int_equal(set.n_subnets, 0);
    assert_int_equal(set.n_dns, 0);
    assert_int_equal(set.authz, IKED_AUTHZ_CA_ONLY);
    assert_int_equal(set.half_open_timeout_ms, 30000);
    assert_int_equal(set.ike_lifetime_s, 4 * 3600);
    assert_int_equal(set.child_lifetime_s, 3600);
    assert_int_equal(set.local_id_type, 0);
}

/* The example of docs/config.md. */
static const char *const full_example =
    "[iked]\n"
    "cert = /etc/mgate/iked/gateway.pem\n"
    "key = /etc/mgate/iked/gateway.key\n"
    "ca = /etc/mgate/iked/device-ca.pem /etc/mgate/iked/old-ca.pem\n"
    "crl = /etc/mgate/iked/device-ca.crl\n"
    "local_id = vpn.example.com\n"
    "ike_proposals = aes128gcm16-prfsha256-ecp256, aes256gcm16-prfsha384-curve25519,"
    " aes256-sha384-modp3072\n"
    "esp_proposals = aes128gcm16 aes256gcm16 aes256-sha384\n"
    "pool = 10.200.0.0/16\n"
    "subnets = 10.1.0.0/16 192.168.50.0/24 2001:db8:100::/48\n"
    "dns = 10.1.0.53 10.1.0.54\n"
    "authorization = ca-only\n"
    "half_open_timeout = 20s\n"
    "ike_lifetime = 8h\n"
    "child_lifetime = 2h\n"
    "workers = 2\n";

static void test_full(void **state)
{
    (void)state;
    struct iked_settings set;
    char msg[CONF_ERR_MAX];
    assert_int_equal(load(full_example, &set, msg, sizeof(msg)), 0);
    assert_int_equal(set.n_ike, 3);
    assert_int_equal(set.n_esp, 3);
    assert_int_equal(ntohl(set.pool_net.s_addr), 0x0ac80000u);
    assert_int_equal(set.pool_plen, 16);
    assert_int_equal(set.n_subnets, 3);
    assert_int_equal(set.subnets[0].family, AF_INET);
    assert_int_equal(set.subnets[0].plen, 16);
    assert_memory_equal(set.subnets[0].addr, "\x0a\x01\x00\x00", 4);
    assert_int_equal(set.subnets[2].family, AF_INET6);
    assert_int_equal(set.subnets[2].plen, 48);
    assert_memory_equal(set.subnets[2].addr, "\x20\x01\x0d\xb8\x01\x00", 6);
    assert_int_equal(set.n_dns, 2);
    assert_int_equal(ntohl(set.dns[1].s_addr), 0x0a010036u);
    assert_int_equal(set.half_open_timeout_ms, 20000);
    assert_int_equal(set.ike_lifetime_s, 8 * 3600);
    assert_int_equal(set.child_lifetime_s, 2 * 3600);
    assert_int_equal(set.local_id_type, IKE_ID_FQDN);
    assert_int_equal(set.local_id_len, strlen("vpn.example.com"));
    assert_memory_equal(set.local_id, "vpn.example.com", set.local_id_len);
}

/* The example of docs/config.md's [iked] section parses as it stands. */
static void test_docs_example(void **state)
{
    (void)state;
    FILE *f = fopen(MGATE_DOCS_CONFIG_MD, "r");
    assert_non_null(f);
    static char doc[65536];
    size_t n = fread(doc, 1, sizeof(doc) - 1, f);
    fclose(f);
    doc[n] = '\0';
    char *sec = strstr(doc, "\n## [iked]");
    assert_non_null(sec);
    char *ex = strstr(sec, "### Example");
    assert_non_null(ex);
    char *begin = strstr(ex, "```ini\n");
    assert_non_null(begin);
    begin += strlen("```ini\n");
    char *end = strstr(begin, "```");
    assert_non_null(end);
    *end = '\0';

    struct iked_settings set;
    char msg[CONF_ERR_MAX];
    if (load(begin, &set, msg, sizeof(msg)) != 0)
        fail_msg("docs/config.md example: %s", msg);
    assert_int_equal(set.n_ike, 3);
    assert_int_equal(set.ike[2].suite.dh, IKE_DH_CURVE25519);
    assert_int_equal(set.n_esp, 3);
    assert_int_equal(set.n_subnets, 1);
    assert_int_equal(set.n_dns, 1);
    assert_int_equal(set.local_id_type, IKE_ID_FQDN);
}

static void test_good_values(void **state)
{
    (void)state;
    struct iked_settings set;
    char msg[CONF_ERR_MAX];

    assert_int_equal(load("[iked]\nlocal_id = gw@example.com\n", &set, msg, sizeof(msg)), 0);
    assert_int_equal(set.local_id_type, IKE_ID_RFC822_ADDR);
    assert_int_equal(load("[iked]\nlocal_id = 192.0.2.1\n", &set, msg, sizeof(msg)), 0);
    assert_int_equal(set.local_id_type, IKE_ID_IPV4_ADDR);
    assert_int_equal(set.local_id_len, 4);
    assert_memory_equal(set.local_id, "\xc0\x00\x02\x01", 4);
    assert_int_equal(load("[iked]\nlocal_id = 2001:db8::1\n", &set, msg, sizeof(msg)), 0);
    assert_int_equal(set.local_id_type, IKE_ID_IPV6_ADDR);
    assert_int_equal(set.local_id_len, 16);

    /* A bare address is a host; esn; case does not matter; explicit PRF. */
    assert_int_equal(load("[iked]\nsubnets = 10.9.9.9 ::1\n"
                          "esp_proposals = AES256-SHA512-ESN aes128gcm16-noesn aes128gcm16-ecp256\n"
                          "ike_proposals = aes128-sha256-prfsha512-x25519\n"
                          "pool = 100.64.0.0/30\n",
                          &set, msg, sizeof(msg)),
                     0);
    assert_int_equal(set.subnets[0].plen, 32);
    assert_int_equal(set.subnets[1].plen, 128);
    assert_true(set.esp[0].esn);
    assert_int_equal(set.esp[0].integ, IKE_INTEG_HMAC_SHA2_512_256);
    assert_false(set.esp[1].esn);
    assert_int_equal(set.esp[1].dh, 0);
    assert_int_equal(set.esp[2].dh, IKE_DH_ECP_256); /* PFS: not the same as esp[1] */
    assert_int_equal(set.ike[0].suite.integ, IKE_INTEG_HMAC_SHA2_256_128);
    assert_int_equal(set.ike[0].suite.prf, IKE_PRF_HMAC_SHA2_512);
    assert_int_equal(set.ike[0].suite.dh, IKE_DH_CURVE25519);
    assert_int_equal(set.pool_plen, 30);

    /* Every group of the proposal grammar is one the crypto layer does. */
    const char *groups[] = {"modp2048", "modp3072", "modp4096",  "ecp256",
                            "ecp384",   "ecp521",   "curve25519"};
    const uint16_t ids[] = {14, 15, 16, 19, 20, 21, 31};
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        char p[64];
        struct iked_ike_proposal ip;
        snprintf(p, sizeof(p), "aes256gcm16-prfsha512-%s", groups[i]);
        assert_int_equal(iked_parse_ike_proposal(p, &ip, msg, sizeof(msg)), 0);
        assert_int_equal(ip.suite.dh, ids[i]);
    }
}

struct bad_case {
    const char *text;
    const char *msg;
};

static const struct bad_case bad_cases[] = {
    /* proposals */
    {"ike_proposals = aes128gcm16-prfsha256-ecp255",
     "t.conf:2: ike_proposals: 'aes128gcm16-prfsha256-ecp255': unknown algorithm 'ecp255'"},
    {"ike_proposals = aes128--sha256-modp2048",
     "t.conf:2: ike_proposals: 'aes128--sha256-modp2048': empty algorithm name (two dashes, or "
     "one at an end)"},
    {"ike_proposals = aes128-sha256-modp2048-",
     "t.conf:2: ike_proposals: 'aes128-sha256-modp2048-': empty algorithm name (two dashes, or "
     "one at an end)"},
    {"ike_proposals = aes128-aes256-sha256-modp2048",
     "t.conf:2: ike_proposals: 'aes128-aes256-sha256-modp2048': 'aes256' is a second encryption "
     "algorithm (one of each per proposal)"},
    {"ike_proposals = aes128gcm16-sha256-ecp256",
     "t.conf:2: ike_proposals: 'aes128gcm16-sha256-ecp256': 'sha256' is an integrity algorithm, "
     "which AES-GCM ('aes128gcm16') replaces"},
    {"ike_proposals = aes128gcm16-ecp256",
     "t.conf:2: ike_proposals: 'aes128gcm16-ecp256': no PRF: an AES-GCM proposal names one "
     "(prfsha256, prfsha384, prfsha512)"},
    {"ike_proposals = aes128-modp2048",
     "t.conf:2: ike_proposals: 'aes128-modp2048': no integrity algorithm for 'aes128' (sha256, "
     "sha384, sha512)"},
    {"ike_proposals = aes128-sha256",
     "t.conf:2: ike_proposals: 'aes128-sha256': no key exchange group (modp2048, modp3072, "
     "modp4096, ecp256, ecp384, ecp521, curve25519)"},
    {"ike_proposals = sha256-modp2048",
     "t.conf:2: ike_proposals: 'sha256-modp2048': no encryption algorithm (aes128gcm16, "
     "aes256gcm16, aes128, aes256)"},
    {"ike_proposals = aes128-sha256-modp2048-esn",
     "t.conf:2: ike_proposals: 'aes128-sha256-modp2048-esn': 'esn' is an ESN setting, which IKE "
     "proposals do not take"},
    {"ike_proposals = aes128-sha256-modp2048 aes128-sha256-prfsha256-modp2048",
     "t.conf:2: ike_proposals: 'aes128-sha256-prfsha256-modp2048' says the same as "
     "'aes128-sha256-modp2048'"},
    {"ike_proposals = \"\"", "t.conf:2: ike_proposals: empty: at least one proposal is needed"},
    {"esp_proposals = aes128gcm16-modp2048 aes128gcm16-modp2048",
     "t.conf:2: esp_proposals: 'aes128gcm16-modp2048' says the same as 'aes128gcm16-modp2048'"},
    {"esp_proposals = aes128gcm16-modp2048-ecp256",
     "t.conf:2: esp_proposals: 'aes128gcm16-modp2048-ecp256': 'ecp256' is a second key exchange "
     "group (one of each per proposal)"},
    {"esp_proposals = aes256-prfsha256",
     "t.conf:2: esp_proposals: 'aes256-prfsha256': 'prfsha256' is a PRF, which ESP proposals "
     "do not take"},
    {"esp_proposals = aes256",
     "t.conf:2: esp_proposals: 'aes256': no integrity algorithm for 'aes256' (sha256, sha384, "
     "sha512)"},
    {"esp_proposals = aes256gcm16-sha256",
     "t.conf:2: esp_proposals: 'aes256gcm16-sha256': 'sha256' is an integrity algorithm, which "
     "AES-GCM ('aes256gcm16') replaces"},
    {"esp_proposals = aes128-sha256-esn-noesn",
     "t.conf:2: esp_proposals: 'aes128-sha256-esn-noesn': 'noesn' is a second ESN setting (one "
     "of each per proposal)"},
    {"esp_proposals = 3des-sha256",
     "t.conf:2: esp_proposals: '3des-sha256': unknown algorithm '3des'"},
    /* pool */
    {"pool = 198.18.0.1/24",
     "t.conf:2: pool: '198.18.0.1/24' has host bits set after the /24 prefix"},
    {"pool = 198.18.0.0/31", "t.conf:2: pool: '198.18.0.0/31': prefix length must be 8..30"},
    {"pool = 10.0.0.0/7", "t.conf:2: pool: '10.0.0.0/7': prefix length must be 8..30"},
    {"pool = 2001:db8::/64", "t.conf:2: pool: '2001:db8::/64' is not an IPv4 address/prefix"},
    {"pool = 10.0.0.0/x", "t.conf:2: pool: '10.0.0.0/x': 'x' is not a prefix length"},
    {"pool = 10.0.0.0/", "t.conf:2: pool: '10.0.0.0/': '' is not a prefix length"},
    {"pool = 10.0.0.0/33", "t.conf:2: pool: '10.0.0.0/33': prefix length 33 is more than 32"},
    /* subnets, dns */
    {"subnets = 10.0.0.0/8 10.1.2.3/16",
     "t.conf:2: subnets: '10.1.2.3/16' has host bits set after the /16 prefix"},
    {"subnets = 2001:db8::1/64",
     "t.conf:2: subnets: '2001:db8::1/64' has host bits set after the /64 prefix"},
    {"subnets = corp.example.com",
     "t.conf:2: subnets: 'corp.example.com' is not an IPv4 or IPv6 address/prefix"},
    {"dns = 10.1.0.53 2001:db8::53", "t.conf:2: dns: '2001:db8::53' is not an IPv4 address"},
    {"dns = 1.1.1.1 1.0.0.1 8.8.8.8 8.8.4.4 9.9.9.9", "t.conf:2: dns: 5 servers, at most 4"},
    /* authorization, local_id */
    {"authorization = allow-all",
     "t.conf:2: authorization: 'allow-all' is not supported (allowed: ca-only, policyd)"},
    {"local_id = CN=vpn.example.com",
     "t.conf:2: local_id: 'CN=vpn.example.com' looks like a DN: leave local_id empty to send the "
     "certificate's subject"},
    {"local_id = vpn..example.com",
     "t.conf:2: local_id: 'vpn..example.com' is not a host name, e-mail or IP address"},
    {"local_id = a@b@c", "t.conf:2: local_id: 'a@b@c' is not an e-mail address"},
    /* credentials */
    {"cert = /etc/mgate/gw.pem\nca = /etc/mgate/ca.pem", "t.conf: key: not set, while cert is"},
    {"key = /etc/mgate/gw.key", "t.conf: cert: not set, while key is"},
    {"cert = /etc/mgate/gw.pem\nkey = /etc/mgate/gw.key",
     "t.conf: ca: not set: with a gateway certificate, devices need a CA to chain to"},
    {"ca = ca.pem", "t.conf:2: ca: 'ca.pem' is not an absolute path"},
    {"crl = /etc/mgate/ca.crl", "t.conf:2: crl: set without any ca"},
    /* what the schema binder refuses */
    {"half_open_timeout = 0s", "t.conf:2: half_open_timeout: 0s is out of range [1000, 600000]"},
    {"ike_lifetime = 5s", "t.conf:2: ike_lifetime: 5s is out of range [10000, 2592000000]"},
    {"rekey_margin = 60", "t.conf:2: rekey_margin: 60 is out of range [1, 50]"},
    {"workers = 1000", "t.conf:2: workers: 1000 is out of range [0, 256]"},
    {"fragment_size = 575", "t.conf:2: fragment_size: 575 is out of range [576, 9216]"},
    {"sa_init_burst = 0", "t.conf:2: sa_init_burst: 0 is out of range [1, 1000000]"},
    {"max_half_open = 0", "t.conf:2: max_half_open: 0 is out of range [1, 1000000]"},
    {"cert = gw.pem", "t.conf:2: cert: 'gw.pem' is not an absolute path"},
    {"proposals = aes128", "t.conf:2: unknown key 'proposals' in [iked]"},
};

static void test_bad(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        char text[512], msg[CONF_ERR_MAX];
        struct iked_settings set;
        snprintf(text, sizeof(text), "[iked]\n%s\n", bad_cases[i].text);
        int rc = load(text, &set, msg, sizeof(msg));
        if (rc == 0 || strcmp(msg, bad_cases[i].msg) != 0)
            fail_msg("case %zu '%s':\n got  '%s'\n want '%s'", i, bad_cases[i].text, msg,
                     bad_cases[i].msg);
    }
}

/* RFC 7383 and the IKE_SA_INIT guard: defaults and set values. */
static void test_frag_dos_keys(void **state)
{
    (void)state;
    struct iked_settings set;
    char msg[CONF_ERR_MAX];
    assert_int_equal(load("", &set, msg, sizeof(msg)), 0);
    assert_int_equal(set.fragment_size, 1280);
    assert_int_equal(set.sa_init_rate, 10);
    assert_int_equal(set.sa_init_burst, 20);
    assert_int_equal(set.max_half_open, 20000);
    assert_int_equal(load("[iked]\nfragment_size = 576\nsa_init_rate = 0\nsa_init_burst = 5\n"
                          "max_half_open = 7\n",
                          &set, msg, sizeof(msg)),
                     0);
    assert_int_equal(set.fragment_size, 576);
    assert_int_equal(set.sa_init_rate, 0);
    assert_int_equal(set.sa_init_burst, 5);
    assert_int_equal(set.max_half_open, 7);
}

static void test_too_many(void **state)
{
    (void)state;
    char text[2048] = "[iked]\nsubnets =", msg[CONF_ERR_MAX];
    struct iked_settings set;
    for (int i = 0; i < IKED_MAX_SUBNETS + 1; i++) {
        char w[32];
        snprintf(w, sizeof(w), " 10.%d.0.0/16", i);
        strcat(text, w);
    }
    strcat(text, "\n");
    assert_int_not_equal(load(text, &set, msg, sizeof(msg)), 0);
    assert_string_equal(msg, "t.conf:2: subnets: 17 subnets, at most 16");

    strcpy(text, "[iked]\nike_proposals =");
    for (int i = 0; i < IKED_MAX_PROPOSALS + 1; i++)
        strcat(text, " aes128-sha256-modp2048");
    strcat(text, "\n");
    assert_int_not_equal(load(text, &set, msg, sizeof(msg)), 0);
    assert_string_equal(msg, "t.conf:2: ike_proposals: 17 proposals, at most 16");
}

/* The plain parse API: "key: reason" without file or line; NULL why. */
static void test_parse_api(void **state)
{
    (void)state;
    struct iked_conf conf;
    struct iked_settings set;
    char why[CONF_ERR_MAX];
    struct conf_file cf = {0};
    struct conf_error err;
    memset(&conf, 0, sizeof(conf));
    assert_int_equal(conf_bind(&cf, "iked", iked_conf_schema, &conf, false, &err), 0);
    assert_int_equal(iked_settings_parse(&conf, &set, why, sizeof(why)), 0);
    free(conf.pool);
    conf.pool = strdup("198.18.0.0/33");
    assert_non_null(conf.pool);
    assert_int_equal(iked_settings_parse(&conf, &set, why, sizeof(why)), -1);
    assert_string_equal(why, "pool: '198.18.0.0/33': prefix length 33 is more than 32");
    assert_int_equal(iked_settings_parse(&conf, &set, NULL, 0), -1);
    /* No file was read: the defaults are named as the source. */
    assert_int_equal(iked_settings_load(&cf, &conf, &set, &err), -1);
    assert_string_equal(err.msg,
                        "<built-in defaults>: pool: '198.18.0.0/33': prefix length 33 is more "
                        "than 32");
    conf_unbind(iked_conf_schema, &conf);

    struct iked_esp_proposal e;
    assert_int_equal(iked_parse_esp_proposal("", &e, why, sizeof(why)), -1);
    assert_string_equal(why, "empty proposal");
    char longp[200];
    memset(longp, 'a', sizeof(longp) - 1);
    longp[sizeof(longp) - 1] = '\0';
    assert_int_equal(iked_parse_esp_proposal(longp, &e, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "proposal too long"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),     cmocka_unit_test(test_full),
        cmocka_unit_test(test_docs_example), cmocka_unit_test(test_good_values),
        cmocka_unit_test(test_bad),          cmocka_unit_test(test_too_many),
        cmocka_unit_test(test_parse_api),    cmocka_unit_test(test_frag_dos_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

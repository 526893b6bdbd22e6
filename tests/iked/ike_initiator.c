/* ike_initiator: a command-line IKEv2 initiator that talks UDP to a real
 * mgate-iked. It is the exchange tests' test initiator (tests/ikeexch/ti.c,
 * iked's own codec and crypto) put on a socket, with credentials from PEM
 * files instead of a run-time PKI.
 *
 *   ike_initiator --gw IP[:PORT] --ca CA.crt --cert DEV.crt --key DEV.key
 *                 [--proposal P[,P...]] [--ke GROUP] [--esp E[,E...]] [--childless]
 *                 [--init-only] [--retransmit] [--no-retry] [--hold MS [--silent]]
 *                 [--forge-cookie] [--count N --parallel K [--duration S] [--no-verify]]
 *                 [--restart-check FILE]
 *                 [--junk truncated|length|payload|random|unknown-spi]
 *                 [--timeout MS] [--tries N] [--src IP] [--frag OCTETS]
 *                 [--gw-behind-nat]
 *
 * Modes:
 *   (default)     IKE_SA_INIT + IKE_AUTH; prints the SPIs, the suite, the
 *                 virtual IP, the CHILD SA or the notify refusing it, the TS.
 *   --init-only   IKE_SA_INIT only: the SA stays half-open at the gateway.
 *   --retransmit  every request is sent a second time after its answer
 *                 came; both answers must be byte-identical.
 *   --hold MS     after IKE_AUTH, wait up to MS for the gateway's DELETE,
 *                 answer it and say so (exit 0 only when one came). The
 *                 gateway's liveness checks (empty INFORMATIONAL) are
 *                 answered and counted too.
 *   --silent      with --hold: answer nothing (a device gone dead); the
 *                 requests that come are counted and printed.
 *   --forge-cookie
 *                 the first IKE_SA_INIT carries a made-up COOKIE.
 *   --restart-check FILE
 *                 after IKE_AUTH: a liveness check (empty INFORMATIONAL)
 *                 answered; then, once FILE exists (the gateway restarted
 *                 meanwhile), the same request again (its answer must be
 *                 byte-identical) and the next one (its answer must open
 *                 with the SA's keys and carry its message ID). Before
 *                 --hold when both are given.
 *   --count N --parallel K
 *                 (with --init-only: N IKE_SA_INIT only, a half-open flood)
 *                 N handshakes, K in flight, each on its own socket; one
 *                 result line with handshakes/s end to end.
 *   --junk KIND   one malformed datagram; prints the answer, if any.
 *   --frag OCTETS IKE_AUTH sent in RFC 7383 fragments of that much plaintext;
 *                 a fragmented answer is collected and put back together
 *                 (with --retransmit: fragments 2..n alone get no answer, the
 *                 whole set the same answer once). Port 500 only.
 *   --gw-behind-nat
 *                 NAT_DETECTION_DESTINATION_IP hashes another port than the
 *                 gateway's: the gateway believes it is behind a NAT.
 * An INVALID_KE_PAYLOAD is followed by one retry with the group the gateway
 * asked for, a COOKIE request (RFC 7296 §2.6) by a retry with the cookie
 * first (up to two; neither with --no-retry). Every wait is bounded by --timeout (default
 * 2000 ms) per try, --tries (default 2) tries per request. --src sends from
 * that local address (e.g. 127.0.0.2: another source for rate limits). IPv4 only.
 *
 * Exit: 0 success; 1 usage or local failure; 2 the gateway refused (an
 * error notify, printed); 3 no answer in time; 4 an answer that is
 * malformed, does not verify, or (--retransmit) differs. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "ike_msg.h"
#include "ike_payload.h"
#include "log.h"
#include "ike_initiator_frag.h"
#include "ti.h"

enum { EX_OK = 0, EX_LOCAL = 1, EX_REFUSED = 2, EX_TIMEOUT = 3, EX_BAD = 4 };

#define MAX_DGRAM    65536
#define MAX_PARALLEL 512

struct opts {
    struct sockaddr_in gw;
    const char *ca, *cert, *key;
    ike_suite props[TI_MAX_PROPS];
    size_t n_props;
    uint16_t ke;
    struct iked_esp_proposal esp[TI_MAX_PROPS];
    size_t n_esp;
    bool childless, init_only, retransmit, no_retry, no_verify, silent, forge_cookie;
    bool gw_behind_nat;
    int hold_ms;
    int count, parallel;
    double duration_s;
    const char *junk;
    const char *restart_check;
    int timeout_ms, tries;
    struct sockaddr_in src; /* --src: the address to send from (sin_family 0: any) */
    int frag;               /* --frag: IKE_AUTH in fragments of this many octets */
    struct ike_ts_set tsr;  /* --tsr, repeatable; none: 0.0.0.0/0 */
};

static struct opts o = {.timeout_ms = 2000, .tries = 2};
/* What ti.c reads of the fixture: the CA (CERTREQ hash, the gateway's
 * chain) and the CA store. */
static struct fx fx;
static struct fx_cred dev;

__attribute__((format(printf, 1, 2), noreturn)) static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "ike_initiator: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(EX_LOCAL);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* ---- options ------------------------------------------------------------ */

static const struct {
    const char *name;
    uint16_t id;
} groups[] = {{"modp2048", 14}, {"modp3072", 15}, {"modp4096", 16},   {"ecp256", 19},
              {"ecp384", 20},   {"ecp521", 21},   {"curve25519", 31}, {"x25519", 31}};

static uint16_t parse_group(const char *s)
{
    for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
        if (strcmp(s, groups[i].name) == 0)
            return groups[i].id;
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (*s && !*end && v > 0 && v < 65536)
        return (uint16_t)v;
    die("unknown key exchange group '%s'", s);
}

static void parse_list(char *s, bool ike)
{
    char why[200];
    char *save = NULL;
    for (char *p = strtok_r(s, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        if (ike) {
            struct iked_ike_proposal ip;
            if (o.n_props == TI_MAX_PROPS)
                die("at most 4 proposals (%s)", p);
            if (iked_parse_ike_proposal(p, &ip, why, sizeof(why)) < 0)
                die("%s", why);
            o.props[o.n_props++] = ip.suite;
        } else {
            if (o.n_esp == TI_MAX_PROPS)
                die("at most 4 ESP proposals (%s)", p);
            if (iked_parse_esp_proposal(p, &o.esp[o.n_esp], why, sizeof(why)) < 0)
                die("%s", why);
            o.n_esp++;
        }
    }
}

static void parse_gw(const char *s)
{
    char host[64];
    snprintf(host, sizeof(host), "%s", s);
    unsigned long port = 500;
    char *colon = strchr(host, ':');
    if (colon) {
        char *end;
        *colon = '\0';
        port = strtoul(colon + 1, &end, 10);
        if (*end || port == 0 || port > 65535)
            die("bad port in --gw %s", s);
    }
    o.gw.sin_family = AF_INET;
    o.gw.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &o.gw.sin_addr) != 1)
        die("--gw %s: an IPv4 address[:port] is expected", s);
}

static int parse_int(const char *s, int lo, int hi, const char *what)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < lo || v > hi)
        die("bad value for %s", what);
    return (int)v;
}

/* --tsr 10.1.0.0-10.1.0.255:6:443 (IPv4): one more TSr range proposed. */
static void parse_tsr(const char *arg)
{
    if (o.tsr.n >= IKE_MAX_TS)
        die("--tsr: at most %d", IKE_MAX_TS);
    char buf[128], *dash, *colon;
    snprintf(buf, sizeof(buf), "%s", arg);
    struct ike_ts *t = &o.tsr.ts[o.tsr.n];
    memset(t, 0, sizeof(*t));
    t->type = IKE_TS_IPV4_ADDR_RANGE;
    t->end_port = 65535;
    if ((colon = strchr(buf, ':'))) {
        *colon++ = '\0';
        char *port = strchr(colon, ':');
        if (port)
            *port++ = '\0';
        t->ip_proto = (uint8_t)parse_int(colon, 0, 255, "--tsr protocol");
        if (port) {
            char *pd = strchr(port, '-');
            if (pd)
                *pd++ = '\0';
            t->start_port = (uint16_t)parse_int(port, 0, 65535, "--tsr port");
            t->end_port = pd ? (uint16_t)parse_int(pd, 0, 65535, "--tsr port") : t->start_port;
        }
    }
    if (!(dash = strchr(buf, '-')))
        die("--tsr %s: FIRST-LAST expected", arg);
    *dash++ = '\0';
    if (inet_pton(AF_INET, buf, t->start) != 1 || inet_pton(AF_INET, dash, t->end) != 1)
        die("--tsr %s: IPv4 addresses expected", arg);
    o.tsr.n++;
}

static void usage(void)
{
    fputs("usage: ike_initiator --gw IP[:PORT] --ca CA.crt --cert DEV.crt --key DEV.key\n"
          "         [--proposal P[,P...]] [--ke GROUP] [--esp E[,E...]] [--childless]\n"
          "         [--init-only] [--retransmit] [--no-retry] [--hold MS [--silent]]\n"
          "         [--forge-cookie] [--restart-check FILE]\n"
          "         [--count N --parallel K [--duration S] [--no-verify]]\n"
          "         [--junk truncated|length|payload|random|unknown-spi]\n"
          "         [--timeout MS] [--tries N] [--src IP] [--frag OCTETS]\n"
          "         [--tsr FIRST-LAST[:PROTO[:PORT[-PORT]]]]... [--gw-behind-nat]\n",
          stderr);
    exit(EX_LOCAL);
}

static void parse_opts(int argc, char **argv)
{
    /* One option a line: adding one must not repack the others. */
    // clang-format off
    static const struct option lo[] = {{"gw", required_argument, NULL, 'g'},
                                       {"ca", required_argument, NULL, 'a'},
                                       {"cert", required_argument, NULL, 'c'},
                                       {"key", required_argument, NULL, 'k'},
                                       {"proposal", required_argument, NULL, 'p'},
                                       {"ke", required_argument, NULL, 'K'},
                                       {"esp", required_argument, NULL, 'e'},
                                       {"childless", no_argument, NULL, 'C'},
                                       {"init-only", no_argument, NULL, 'i'},
                                       {"retransmit", no_argument, NULL, 'r'},
                                       {"no-retry", no_argument, NULL, 'R'},
                                       {"hold", required_argument, NULL, 'H'},
                                       {"silent", no_argument, NULL, 'S'},
                                       {"forge-cookie", no_argument, NULL, 'F'},
                                       {"count", required_argument, NULL, 'n'},
                                       {"parallel", required_argument, NULL, 'P'},
                                       {"duration", required_argument, NULL, 'd'},
                                       {"no-verify", no_argument, NULL, 'V'},
                                       {"junk", required_argument, NULL, 'j'},
                                       {"restart-check", required_argument, NULL, 'X'},
                                       {"timeout", required_argument, NULL, 't'},
                                       {"tries", required_argument, NULL, 'T'},
                                       {"src", required_argument, NULL, 's'},
                                       {"frag", required_argument, NULL, 'f'},
                                       {"tsr", required_argument, NULL, 'Z'},
                                       {"gw-behind-nat", no_argument, NULL, 'N'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
    // clang-format on
    char *prop = NULL, *esp = NULL, *ke = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'f':
            o.frag = parse_int(optarg, 8, 60000, "--frag");
            break;
        case 's':
            o.src.sin_family = AF_INET;
            if (inet_pton(AF_INET, optarg, &o.src.sin_addr) != 1)
                die("--src %s: an IPv4 address is expected", optarg);
            break;
        case 'g':
            parse_gw(optarg);
            break;
        case 'a':
            o.ca = optarg;
            break;
        case 'c':
            o.cert = optarg;
            break;
        case 'k':
            o.key = optarg;
            break;
        case 'p':
            prop = optarg;
            break;
        case 'K':
            ke = optarg;
            break;
        case 'e':
            esp = optarg;
            break;
        case 'C':
            o.childless = true;
            break;
        case 'i':
            o.init_only = true;
            break;
        case 'r':
            o.retransmit = true;
            break;
        case 'R':
            o.no_retry = true;
            break;
        case 'H':
            o.hold_ms = parse_int(optarg, 1, 3600000, "--hold");
            break;
        case 'S':
            o.silent = true;
            break;
        case 'F':
            o.forge_cookie = true;
            break;
        case 'n':
            o.count = parse_int(optarg, 1, 100000000, "--count");
            break;
        case 'P':
            o.parallel = parse_int(optarg, 1, MAX_PARALLEL, "--parallel");
            break;
        case 'd':
            o.duration_s = parse_int(optarg, 1, 3600, "--duration");
            break;
        case 'V':
            o.no_verify = true;
            break;
        case 'j':
            o.junk = optarg;
            break;
        case 'X':
            o.restart_check = optarg;
            break;
        case 't':
            o.timeout_ms = parse_int(optarg, 1, 600000, "--timeout");
            break;
        case 'T':
            o.tries = parse_int(optarg, 1, 10, "--tries");
            break;
        case 'Z':
            parse_tsr(optarg);
            break;
        case 'N':
            o.gw_behind_nat = true;
            break;
        default:
            usage();
        }
    }
    if (optind != argc || !o.gw.sin_family || (o.silent && !o.hold_ms))
        usage();
    if (!o.junk && (!o.ca || !o.cert || !o.key))
        usage();
    char def[] = "aes128gcm16-prfsha256-ecp256";
    parse_list(prop ? prop : def, true);
    if (esp)
        parse_list(esp, false);
    o.ke = ke ? parse_group(ke) : o.props[0].dh;
    if (o.frag && ntohs(o.gw.sin_port) == 4500)
        die("--frag: port 500 only");
    if (o.parallel && !o.count)
        o.count = o.parallel;
    if (o.count && !o.parallel)
        o.parallel = 1;
}

/* ---- credentials -------------------------------------------------------- */

static X509 *read_cert(const char *path)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        die("cannot open %s", path);
    X509 *x = PEM_read_X509(fp, NULL, NULL, NULL);
    fclose(fp);
    if (!x)
        die("no PEM certificate in %s", path);
    return x;
}

static void load_creds(void)
{
    fx.ca.cert = read_cert(o.ca);
    if (ike_cert_store_new(&fx.cas) != IKE_CRYPTO_OK ||
        ike_cert_store_add_ca_file(fx.cas, o.ca) != IKE_CRYPTO_OK)
        die("cannot load the CA %s", o.ca);
    dev.cert = read_cert(o.cert);
    FILE *fp = fopen(o.key, "r");
    if (!fp)
        die("cannot open %s", o.key);
    dev.key = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
    fclose(fp);
    if (!dev.key)
        die("no PEM private key in %s", o.key);
    unsigned char *p = NULL;
    int n = i2d_X509(dev.cert, &p);
    if (n <= 0)
        die("cannot encode %s", o.cert);
    dev.der = p;
    dev.der_len = (size_t)n;
    p = NULL;
    n = i2d_X509_NAME(X509_get_subject_name(dev.cert), &p);
    if (n <= 0)
        die("cannot encode the subject of %s", o.cert);
    dev.subject_der = p;
    dev.subject_der_len = (size_t)n;
}

static void free_creds(void)
{
    fx_cred_free(&dev);
    X509_free(fx.ca.cert);
    ike_cert_store_free(fx.cas);
}

/* ---- the socket --------------------------------------------------------- */

/* Port 4500 carries IKE behind a 4-octet non-ESP marker (RFC 3948). */
static bool natt_port(void)
{
    return ntohs(o.gw.sin_port) == 4500;
}

static int open_sock(struct sockaddr_storage *mine)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd >= 0 && o.src.sin_family && bind(fd, (const struct sockaddr *)&o.src, sizeof(o.src)) < 0)
        die("--src: %s", strerror(errno));
    if (fd < 0 || connect(fd, (const struct sockaddr *)&o.gw, sizeof(o.gw)) < 0)
        die("socket to the gateway: %s", strerror(errno));
    socklen_t sl = sizeof(*mine);
    memset(mine, 0, sizeof(*mine));
    if (getsockname(fd, (struct sockaddr *)mine, &sl) < 0)
        die("getsockname: %s", strerror(errno));
    int big = 1 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
    return fd;
}

static void send_msg(int fd, const uint8_t *buf, size_t len)
{
    static const uint8_t marker[4];
    struct iovec iov[2] = {{(void *)marker, 4}, {(void *)buf, len}};
    struct msghdr mh = {.msg_iov = natt_port() ? iov : iov + 1, .msg_iovlen = natt_port() ? 2 : 1};
    if (sendmsg(fd, &mh, 0) < 0 && errno != EAGAIN)
        fprintf(stderr, "ike_initiator: send: %s\n", strerror(errno));
}

/* One datagram, without the marker; 0 when none is waiting, -1 on error. */
static ssize_t recv_msg(int fd, uint8_t *buf, size_t cap)
{
    ssize_t n = recv(fd, buf, cap, 0);
    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
    if (natt_port()) {
        if (n < 4 || memcmp(buf, "\0\0\0\0", 4) != 0)
            return 0; /* ESP or keepalive: not for us */
        memmove(buf, buf + 4, (size_t)n - 4);
        n -= 4;
    }
    return n;
}

/* Does buf hold the message of SA spi_i we wait for? msgid UINT32_MAX:
 * any; response false: a request of the gateway's. */
static bool msg_matches(const uint8_t *buf, size_t len, const uint8_t spi_i[8], uint8_t exchange,
                        uint32_t msgid, bool response)
{
    struct ike_hdr h;
    struct ike_error e;
    if (ike_hdr_parse(buf, len, &h, &e) != IKE_OK || memcmp(h.ispi, spi_i, 8) != 0)
        return false;
    if (h.exchange != exchange || ((h.flags & IKE_FLAG_RESPONSE) != 0) != response)
        return false;
    return msgid == UINT32_MAX || h.msgid == msgid;
}

/* Waits up to ms for a matching message; its length, 0 on timeout. */
static ssize_t wait_msg(int fd, const uint8_t spi_i[8], uint8_t exchange, uint32_t msgid,
                        bool response, uint8_t *buf, size_t cap, int ms)
{
    double end = now_s() + ms / 1000.0;
    for (;;) {
        int left = (int)((end - now_s()) * 1000.0 + 0.5);
        if (left <= 0)
            return 0;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int rc = poll(&p, 1, left);
        if (rc < 0 && errno != EINTR)
            return -1;
        if (rc <= 0)
            continue;
        /* Bounded: one poll wake-up drains at most 64 datagrams. */
        for (int i = 0; i < 64; i++) {
            ssize_t n = recv_msg(fd, buf, cap);
            if (n < 0)
                return -1;
            if (n == 0)
                break;
            if (msg_matches(buf, (size_t)n, spi_i, exchange, msgid, response))
                return n;
        }
    }
}

/* A request and its answer, sent up to o.tries times. */
static ssize_t xchg(int fd, const uint8_t *req, size_t len, const uint8_t spi_i[8],
                    uint8_t exchange, uint32_t msgid, uint8_t *resp, size_t cap)
{
    for (int t = 0; t < o.tries; t++) {
        send_msg(fd, req, len);
        ssize_t n = wait_msg(fd, spi_i, exchange, msgid, true, resp, cap, o.timeout_ms);
        if (n != 0)
            return n;
    }
    return 0;
}

/* --retransmit: the same request again; the answer must be the same. */
static int check_retransmit(int fd, const char *what, const uint8_t *req, size_t len,
                            const uint8_t spi_i[8], uint8_t exchange, uint32_t msgid,
                            const uint8_t *first, size_t first_len)
{
    uint8_t *again = malloc(MAX_DGRAM);
    if (!again)
        die("out of memory");
    send_msg(fd, req, len);
    ssize_t n = wait_msg(fd, spi_i, exchange, msgid, true, again, MAX_DGRAM, o.timeout_ms);
    int rc = EX_OK;
    if (n <= 0) {
        printf("retransmit %s: no answer to the retransmission\n", what);
        rc = EX_TIMEOUT;
    } else if ((size_t)n != first_len || memcmp(again, first, first_len) != 0) {
        printf("retransmit %s: the answer DIFFERS (%zu octets, then %zd)\n", what, first_len, n);
        rc = EX_BAD;
    } else {
        printf("retransmit %s: identical answer (%zu octets)\n", what, first_len);
    }
    free(again);
    return rc;
}

/* ---- printing ----------------------------------------------------------- */

static const char *suite_str(const ike_suite *s, char *buf, size_t len)
{
    if (s->integ)
        snprintf(buf, len, "%s/%u-%s-%s-%s", ike_transform_id_name(IKE_XF_ENCR, s->encr),
                 s->encr_keybits, ike_transform_id_name(IKE_XF_INTEG, s->integ),
                 ike_transform_id_name(IKE_XF_PRF, s->prf),
                 ike_transform_id_name(IKE_XF_DH, s->dh));
    else
        snprintf(buf, len, "%s/%u-%s-%s", ike_transform_id_name(IKE_XF_ENCR, s->encr),
                 s->encr_keybits, ike_transform_id_name(IKE_XF_PRF, s->prf),
                 ike_transform_id_name(IKE_XF_DH, s->dh));
    return buf;
}

static void spi_hex(const uint8_t spi[8], char out[17])
{
    for (int i = 0; i < 8; i++)
        snprintf(out + 2 * i, 3, "%02x", spi[i]);
}

static void print_ts(const char *name, const struct ike_ts_set *s)
{
    printf("%s:", name);
    for (unsigned i = 0; i < s->n; i++) {
        char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
        int fam = s->ts[i].type == IKE_TS_IPV4_ADDR_RANGE ? AF_INET : AF_INET6;
        inet_ntop(fam, s->ts[i].start, a, sizeof(a));
        inet_ntop(fam, s->ts[i].end, b, sizeof(b));
        printf(" %s-%s proto %u ports %u-%u", a, b, s->ts[i].ip_proto, s->ts[i].start_port,
               s->ts[i].end_port);
    }
    printf("%s\n", s->n ? "" : " none");
}

static bool suite_has_group(uint16_t g)
{
    for (size_t i = 0; i < o.n_props; i++)
        if (o.props[i].dh == g)
            return true;
    return false;
}

static void ti_setup(struct ti *t, const struct sockaddr_storage *mine)
{
    ti_init(t, "aes128gcm16-prfsha256-ecp256");
    memcpy(t->props, o.props, sizeof(o.props));
    t->n_props = o.n_props;
    t->ke_group = o.ke;
    t->my_addr = *mine;
    memset(&t->gw_addr, 0, sizeof(t->gw_addr));
    memcpy(&t->gw_addr, &o.gw, sizeof(o.gw));
    if (o.gw_behind_nat) {
        /* As if a NAT in front of the gateway forwarded another port. */
        struct sockaddr_in *g = (struct sockaddr_in *)&t->gw_addr;
        g->sin_port = htons((uint16_t)(ntohs(g->sin_port) + 1000));
    }
    t->no_gw_check = o.no_verify;
}

static void auth_opts(struct ti_auth_opts *ao)
{
    memset(ao, 0, sizeof(*ao));
    ao->cred = &dev;
    ao->no_sa = o.childless;
    memcpy(ao->esp, o.esp, sizeof(o.esp));
    ao->n_esp = o.n_esp;
    ao->tsr = o.tsr;
}

/* The IKE SA is up at the gateway: it sent IDr (an AUTHENTICATION_FAILED
 * answer has none). */
static bool auth_established(const struct ti_auth_result *r)
{
    return r->has_idr && !ti_has_notify(r, IKE_N_AUTHENTICATION_FAILED);
}

static bool auth_verified(const struct ti_auth_result *r)
{
    return o.no_verify || (r->cert_ok && r->id_ok && r->auth_ok);
}

/* ---- --hold: the gateway's DELETE --------------------------------------- */

static int hold(int fd, struct ti *t)
{
    uint8_t *buf = malloc(MAX_DGRAM), *plain = malloc(MAX_DGRAM);
    struct ike_msg *m = malloc(sizeof(*m));
    if (!buf || !plain || !m)
        die("out of memory");
    double end = now_s() + o.hold_ms / 1000.0;
    int rc = EX_TIMEOUT;
    unsigned liveness = 0, ignored = 0;
    printf("holding the IKE SA for up to %d ms%s\n", o.hold_ms,
           o.silent ? " (silent: answering nothing)" : "");
    fflush(stdout);
    /* Bounded by the deadline: each wait shortens what is left. */
    for (int left; rc == EX_TIMEOUT && (left = (int)((end - now_s()) * 1000.0)) > 0;) {
        ssize_t n =
            wait_msg(fd, t->spi_i, IKE_EXCH_INFORMATIONAL, UINT32_MAX, false, buf, MAX_DGRAM, left);
        if (n <= 0)
            break;
        if (ti_open(t, buf, (size_t)n, false, m, plain) < 0) {
            printf("an INFORMATIONAL request that does not open: ignored\n");
            continue;
        }
        if (o.silent) {
            printf("INFORMATIONAL request %u ignored (silent), %u so far\n", m->hdr.msgid,
                   ++ignored);
            fflush(stdout);
            continue;
        }
        bool del = false;
        struct ike_error e;
        for (const struct ike_payload *p = NULL;
             (p = ike_chain_find(&m->inner, IKE_PL_DELETE, p));) {
            struct ike_delete d;
            if (ike_pl_delete(p, &d, &e) == IKE_OK && d.proto == IKE_PROTO_IKE)
                del = true;
        }
        size_t rlen = 0;
        uint8_t *resp = ti_response(t, IKE_EXCH_INFORMATIONAL, m->hdr.msgid, &rlen);
        send_msg(fd, resp, rlen);
        free(resp);
        if (del) {
            printf("DELETE received for the IKE SA (message %u); answered\n", m->hdr.msgid);
            rc = EX_OK;
        } else if (m->inner.n == 0) {
            printf("liveness check %u answered (%u so far)\n", m->hdr.msgid, ++liveness);
        } else {
            printf("INFORMATIONAL request %u (no DELETE) answered\n", m->hdr.msgid);
        }
        fflush(stdout);
    }
    if (rc == EX_TIMEOUT)
        printf("no DELETE from the gateway within %d ms\n", o.hold_ms);
    free(m);
    free(plain);
    free(buf);
    return rc;
}

/* ---- --restart-check: liveness across a gateway restart ------------------ */

/* One liveness request (or its retransmission) and its answer, which must
 * open with the SA's keys as the response to msgid. */
static int liveness(int fd, struct ti *t, const uint8_t *req, size_t len, uint32_t msgid,
                    uint8_t *resp, ssize_t *n, const char *when)
{
    uint8_t *plain = malloc(MAX_DGRAM);
    struct ike_msg *m = malloc(sizeof(*m));
    if (!plain || !m)
        die("out of memory");
    int rc = EX_OK;
    *n = xchg(fd, req, len, t->spi_i, IKE_EXCH_INFORMATIONAL, msgid, resp, MAX_DGRAM);
    if (*n <= 0) {
        printf("%s: liveness request %u: no answer (%d x %d ms)\n", when, msgid, o.tries,
               o.timeout_ms);
        rc = EX_TIMEOUT;
    } else {
        /* ti_open checks the message ID against t->msgid - 1. */
        uint32_t next = t->msgid;
        t->msgid = msgid + 1;
        if (ti_open(t, resp, (size_t)*n, true, m, plain) < 0) {
            printf("%s: the answer to liveness request %u does not open\n", when, msgid);
            rc = EX_BAD;
        }
        t->msgid = next;
    }
    free(m);
    free(plain);
    return rc;
}

static int restart_check(int fd, struct ti *t)
{
    uint8_t *first = malloc(MAX_DGRAM), *again = malloc(MAX_DGRAM);
    if (!first || !again)
        die("out of memory");
    size_t len = 0;
    uint8_t *req = ti_request(t, IKE_EXCH_INFORMATIONAL, NULL, NULL, &len);
    uint32_t id = t->msgid - 1;
    ssize_t n1 = 0, n2 = 0;
    int rc = liveness(fd, t, req, len, id, first, &n1, "before the restart");
    if (rc != EX_OK)
        goto out;
    printf("before the restart: liveness request %u answered\n", id);
    printf("waiting for %s\n", o.restart_check);
    fflush(stdout);
    /* Bounded: 120 s for the test to restart the gateway. */
    for (int i = 0; access(o.restart_check, F_OK) != 0; i++) {
        if (i >= 1200) {
            printf("%s never appeared\n", o.restart_check);
            rc = EX_TIMEOUT;
            goto out;
        }
        usleep(100000);
    }
    if ((rc = liveness(fd, t, req, len, id, again, &n2, "after the restart")) != EX_OK)
        goto out;
    if (n1 != n2 || memcmp(first, again, (size_t)n1) != 0) {
        printf("after the restart: retransmitted request %u: the answer DIFFERS (%zd octets, "
               "then %zd)\n",
               id, n1, n2);
        rc = EX_BAD;
        goto out;
    }
    printf("after the restart: retransmitted request %u: identical answer (%zd octets)\n", id, n1);
    free(req);
    req = ti_request(t, IKE_EXCH_INFORMATIONAL, NULL, NULL, &len);
    id = t->msgid - 1;
    if ((rc = liveness(fd, t, req, len, id, again, &n2, "after the restart")) != EX_OK)
        goto out;
    printf("after the restart: liveness request %u answered (keys and message ID ok)\n", id);
out:
    fflush(stdout);
    free(req);
    free(again);
    free(first);
    return rc;
}

/* ---- one handshake ------------------------------------------------------ */

static int run_one(void)
{
    struct sockaddr_storage mine;
    int fd = open_sock(&mine);
    struct ti t;
    ti_setup(&t, &mine);
    uint8_t *resp = malloc(MAX_DGRAM);
    if (!resp)
        die("out of memory");
    char s1[17], s2[17], suite[128];
    int rc = EX_OK;
    size_t len = 0;
    uint8_t *req = NULL;
    ssize_t n = 0;

    if (o.forge_cookie) {
        /* A made-up cookie of the gateway's length (version octet, SHA-256). */
        memset(t.cookie, 0xa5, 33);
        t.cookie_len = 33;
    }
    for (int attempt = 0, cookies = 0;; attempt++) {
        req = ti_sa_init(&t, &len);
        n = xchg(fd, req, len, t.spi_i, IKE_EXCH_IKE_SA_INIT, 0, resp, MAX_DGRAM);
        if (n <= 0) {
            printf("IKE_SA_INIT: no answer (%d x %d ms)\n", o.tries, o.timeout_ms);
            rc = EX_TIMEOUT;
            goto out;
        }
        int r = ti_sa_init_response(&t, &fx, resp, (size_t)n);
        if (r == 0 && o.retransmit &&
            (rc = check_retransmit(fd, "IKE_SA_INIT", req, len, t.spi_i, IKE_EXCH_IKE_SA_INIT, 0,
                                   resp, (size_t)n)) != EX_OK)
            goto out;
        free(req);
        req = NULL;
        if (r < 0) {
            printf("IKE_SA_INIT: malformed answer (%zd octets)\n", n);
            rc = EX_BAD;
            goto out;
        }
        if (r == 0)
            break;
        if (r == 2) {
            printf("IKE_SA_INIT: COOKIE asked for (%zu octets)\n", t.cookie_len);
            if (o.no_retry || cookies++ >= 2) {
                rc = EX_REFUSED;
                goto out;
            }
            printf("IKE_SA_INIT: retrying with the COOKIE\n");
            attempt--;
            continue;
        }
        printf("IKE_SA_INIT: %s", ike_notify_name(t.init_notify));
        if (t.init_notify == IKE_N_INVALID_KE_PAYLOAD)
            printf(" (group %s)", ike_transform_id_name(IKE_XF_DH, t.init_notify_group));
        printf("\n");
        if (t.init_notify != IKE_N_INVALID_KE_PAYLOAD || o.no_retry || attempt > 0 ||
            !suite_has_group(t.init_notify_group)) {
            rc = EX_REFUSED;
            goto out;
        }
        printf("IKE_SA_INIT: retrying with %s\n",
               ike_transform_id_name(IKE_XF_DH, t.init_notify_group));
        t.ke_group = t.init_notify_group;
    }
    spi_hex(t.spi_i, s1);
    spi_hex(t.spi_r, s2);
    printf("IKE_SA_INIT: ok, spi_i=%s spi_r=%s ike=%s\n", s1, s2,
           suite_str(&t.suite, suite, sizeof(suite)));
    printf("IKE_SA_INIT: NAT-D %s, CERTREQ %s, SIGNATURE_HASH_ALGORITHMS %s\n",
           t.got_natd_src && t.got_natd_dst && t.natd_src_ok && t.natd_dst_ok ? "ok (no NAT)"
                                                                              : "NAT or missing",
           t.certreq_has_ca ? "names our CA" : "without our CA", t.got_hash_algs ? "yes" : "no");
    if (o.init_only) {
        printf("half-open: IKE_AUTH not sent\n");
        goto out;
    }

    struct ti_auth_opts ao;
    auth_opts(&ao);
    req = ti_auth(&t, &fx, &ao, &len);
    size_t n_req = 1, n_resp = 1, largest = 0;
    if (o.frag)
        n = ini_frag_xchg(fd, &t, req, len, (size_t)o.frag, o.timeout_ms, o.tries, resp, MAX_DGRAM,
                          &n_req, &n_resp, &largest);
    else
        n = xchg(fd, req, len, t.spi_i, IKE_EXCH_IKE_AUTH, 1, resp, MAX_DGRAM);
    if (n <= 0) {
        printf("IKE_AUTH: no answer (%d x %d ms)\n", o.tries, o.timeout_ms);
        rc = EX_TIMEOUT;
        goto out;
    }
    if (o.frag)
        printf("IKE_AUTH: request in %zu fragments, answer in %zu datagrams (%zd octets, the "
               "largest %zu)\n",
               n_req, n_resp, n, largest);
    if (o.retransmit && o.frag &&
        (rc = ini_frag_retransmit(fd, &t, req, len, (size_t)o.frag, o.timeout_ms, resp,
                                  (size_t)n)) != EX_OK)
        goto out;
    if (o.retransmit && !o.frag &&
        (rc = check_retransmit(fd, "IKE_AUTH", req, len, t.spi_i, IKE_EXCH_IKE_AUTH, 1, resp,
                               (size_t)n)) != EX_OK)
        goto out;
    struct ti_auth_result r;
    if (ti_auth_response(&t, &fx, resp, (size_t)n, &r) < 0) {
        printf("IKE_AUTH: an answer that does not open (%zd octets)\n", n);
        rc = EX_BAD;
        goto out;
    }
    for (size_t i = 0; i < r.n_notify && i < TI_MAX_NOTIFY; i++)
        printf("IKE_AUTH: notify %s\n", ike_notify_name(r.notify[i]));
    if (!auth_established(&r)) {
        printf("IKE_AUTH: refused\n");
        rc = EX_REFUSED;
        goto out;
    }
    if (!auth_verified(&r)) {
        printf("IKE_AUTH: the gateway does not verify: certificate %s, IDr %s, AUTH %s\n",
               r.cert_ok ? "ok" : "BAD", r.id_ok ? "ok" : "BAD", r.auth_ok ? "ok" : "BAD");
        rc = EX_BAD;
        goto out;
    }
    char vip[INET_ADDRSTRLEN] = "none", mask[INET_ADDRSTRLEN] = "none";
    if (r.vip.s_addr)
        inet_ntop(AF_INET, &r.vip, vip, sizeof(vip));
    if (r.netmask.s_addr)
        inet_ntop(AF_INET, &r.netmask, mask, sizeof(mask));
    printf("IKE_AUTH: established, gateway %s (auth method %s)\n",
           o.no_verify ? "not verified" : "certificate, IDr and AUTH verified",
           ike_auth_method_name(r.auth_method));
    printf("vip=%s netmask=%s dns=%zu\n", vip, mask, r.n_dns);
    for (size_t i = 0; i < r.n_dns && i < 4; i++) {
        char d[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &r.dns[i], d, sizeof(d));
        printf("dns: %s\n", d);
    }
    if (r.has_sa) {
        printf("child: esp spi_in=%08x spi_out=%08x (ours, the gateway's)\n", t.esp_spi,
               r.esp_spi_r);
        print_ts("tsi", &r.tsi);
        print_ts("tsr", &r.tsr);
    } else {
        printf("child: none\n");
    }
    printf("established spi_i=%s spi_r=%s\n", s1, s2);
    fflush(stdout);
    if (o.restart_check)
        rc = restart_check(fd, &t);
    if (rc == EX_OK && o.hold_ms)
        rc = hold(fd, &t);
out:
    fflush(stdout);
    free(req);
    free(resp);
    ti_fini(&t);
    close(fd);
    return rc;
}

/* ---- --junk: one malformed datagram -------------------------------------- */

static int run_junk(void)
{
    struct sockaddr_storage mine;
    int fd = open_sock(&mine);
    uint8_t *buf = NULL;
    size_t len = 0;
    uint8_t spi_i[8];
    ike_crypto_random(spi_i, sizeof(spi_i));
    if (strcmp(o.junk, "random") == 0) {
        len = 200;
        buf = malloc(len);
        ike_crypto_random(buf, len);
    } else if (strcmp(o.junk, "unknown-spi") == 0) {
        /* IKE_AUTH, message 1, for an SA nobody made: header + SK of junk. */
        len = 28 + 4 + 96;
        buf = calloc(1, len);
        memcpy(buf, spi_i, 8);
        ike_crypto_random(buf + 8, 8);
        buf[16] = IKE_PL_SK;
        buf[17] = 0x20;
        buf[18] = IKE_EXCH_IKE_AUTH;
        buf[19] = IKE_FLAG_INITIATOR;
        buf[23] = 1;
        buf[26] = (uint8_t)(len >> 8);
        buf[27] = (uint8_t)len;
        buf[28] = IKE_PL_IDI;
        buf[30] = 0;
        buf[31] = 4 + 96;
        ike_crypto_random(buf + 32, 96);
    } else {
        struct ti t;
        ti_setup(&t, &mine);
        buf = ti_sa_init(&t, &len);
        memcpy(spi_i, t.spi_i, 8);
        ti_fini(&t);
        if (strcmp(o.junk, "truncated") == 0) {
            len = 20; /* shorter than a header */
        } else if (strcmp(o.junk, "length") == 0) {
            uint32_t l = htonl((uint32_t)len + 100);
            memcpy(buf + 24, &l, 4); /* the header claims more than was sent */
        } else if (strcmp(o.junk, "payload") == 0) {
            buf[30] = 0x7f; /* the SA payload's length runs past the message */
            buf[31] = 0xff;
        } else {
            die("unknown --junk kind '%s'", o.junk);
        }
    }
    send_msg(fd, buf, len);
    uint8_t *resp = malloc(MAX_DGRAM);
    ssize_t n = wait_msg(fd, spi_i,
                         buf[18] == IKE_EXCH_IKE_AUTH && len > 28 ? IKE_EXCH_IKE_AUTH
                                                                  : IKE_EXCH_IKE_SA_INIT,
                         UINT32_MAX, true, resp, MAX_DGRAM, o.timeout_ms);
    printf("junk %s: %zu octets sent, ", o.junk, len);
    if (n <= 0) {
        printf("no answer within %d ms\n", o.timeout_ms);
    } else {
        struct ike_msg *m = malloc(sizeof(*m));
        struct ike_error e;
        struct ike_notify no;
        const struct ike_payload *p = NULL;
        if (ike_msg_parse(m, resp, (size_t)n, &e) == IKE_OK &&
            (p = ike_chain_find(&m->outer, IKE_PL_NOTIFY, NULL)) &&
            ike_pl_notify(p, &no, &e) == IKE_OK)
            printf("answered with %s\n", ike_notify_name(no.type));
        else
            printf("answered (%zd octets)\n", n);
        free(m);
    }
    free(resp);
    free(buf);
    close(fd);
    return EX_OK;
}

/* ---- --count N --parallel K --------------------------------------------- */

enum slot_state { SLOT_FREE, SLOT_INIT, SLOT_AUTH };

struct slot {
    int fd;
    struct sockaddr_storage mine;
    enum slot_state st;
    struct ti t;
    uint8_t *req;
    size_t req_len;
    int tries;
    bool ke_retried;
    bool cookie_retried;
    double sent, started;
};

struct load {
    int started, ok, fail_timeout, fail_refused, fail_bad;
    double *lat;
    uint8_t *buf;
};

static void slot_send(struct slot *s, uint8_t *req, size_t len)
{
    free(s->req);
    s->req = req;
    s->req_len = len;
    s->tries = 1;
    s->sent = now_s();
    send_msg(s->fd, req, len);
}

static void slot_start(struct slot *s, struct load *l)
{
    ti_setup(&s->t, &s->mine);
    s->st = SLOT_INIT;
    s->ke_retried = false;
    s->cookie_retried = false;
    s->started = now_s();
    size_t len = 0;
    uint8_t *req = ti_sa_init(&s->t, &len);
    slot_send(s, req, len);
    l->started++;
}

static void slot_end(struct slot *s, struct load *l, int outcome)
{
    switch (outcome) {
    case EX_OK:
        l->lat[l->ok++] = now_s() - s->started;
        break;
    case EX_TIMEOUT:
        l->fail_timeout++;
        break;
    case EX_REFUSED:
        l->fail_refused++;
        break;
    default:
        l->fail_bad++;
        break;
    }
    free(s->req);
    s->req = NULL;
    ti_fini(&s->t);
    s->st = SLOT_FREE;
}

static void slot_recv(struct slot *s, struct load *l, const uint8_t *buf, size_t len)
{
    if (s->st == SLOT_INIT) {
        if (!msg_matches(buf, len, s->t.spi_i, IKE_EXCH_IKE_SA_INIT, 0, true))
            return;
        int r = ti_sa_init_response(&s->t, &fx, buf, len);
        if (r == 1 && s->t.init_notify == IKE_N_INVALID_KE_PAYLOAD && !s->ke_retried &&
            suite_has_group(s->t.init_notify_group)) {
            s->ke_retried = true;
            s->t.ke_group = s->t.init_notify_group;
            size_t rl = 0;
            uint8_t *req = ti_sa_init(&s->t, &rl);
            slot_send(s, req, rl);
            return;
        }
        if (r == 2 && !s->cookie_retried) {
            s->cookie_retried = true; /* RFC 7296 §2.6: the same request, cookie first */
            size_t rl = 0;
            uint8_t *req = ti_sa_init(&s->t, &rl);
            slot_send(s, req, rl);
            return;
        }
        if (r != 0) {
            slot_end(s, l, r == 1 || r == 2 ? EX_REFUSED : EX_BAD);
            return;
        }
        if (o.init_only) { /* half-open at the gateway: done */
            slot_end(s, l, EX_OK);
            return;
        }
        struct ti_auth_opts ao;
        auth_opts(&ao);
        size_t rl = 0;
        uint8_t *req = ti_auth(&s->t, &fx, &ao, &rl);
        s->st = SLOT_AUTH;
        slot_send(s, req, rl);
    } else if (s->st == SLOT_AUTH) {
        if (!msg_matches(buf, len, s->t.spi_i, IKE_EXCH_IKE_AUTH, 1, true))
            return;
        struct ti_auth_result r;
        if (ti_auth_response(&s->t, &fx, buf, len, &r) < 0)
            slot_end(s, l, EX_BAD);
        else if (!auth_established(&r))
            slot_end(s, l, EX_REFUSED);
        else
            slot_end(s, l, auth_verified(&r) ? EX_OK : EX_BAD);
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int run_load(void)
{
    int k = o.parallel;
    struct slot *slots = calloc((size_t)k, sizeof(*slots));
    struct pollfd *pfd = calloc((size_t)k, sizeof(*pfd));
    struct load l = {.lat = calloc((size_t)o.count, sizeof(double)), .buf = malloc(MAX_DGRAM)};
    if (!slots || !pfd || !l.lat || !l.buf)
        die("out of memory");
    for (int i = 0; i < k; i++) {
        slots[i].fd = open_sock(&slots[i].mine);
        pfd[i].fd = slots[i].fd;
        pfd[i].events = POLLIN;
    }
    double t0 = now_s(), cpu0 = cpu_s();
    double stop_starting = o.duration_s > 0 ? t0 + o.duration_s : 1e300;
    /* Hard bound: the last handshake started gets its full retry budget. */
    double hard_end =
        (o.duration_s > 0 ? stop_starting : t0 + 3600.0) + 2.0 * o.tries * o.timeout_ms / 1000.0;
    double timeout = o.timeout_ms / 1000.0;
    for (;;) {
        double now = now_s();
        int inflight = 0;
        for (int i = 0; i < k; i++) {
            struct slot *s = &slots[i];
            if (s->st == SLOT_FREE && l.started < o.count && now < stop_starting)
                slot_start(s, &l);
            if (s->st != SLOT_FREE && now - s->sent > timeout) {
                if (s->tries < o.tries) {
                    s->tries++;
                    s->sent = now;
                    send_msg(s->fd, s->req, s->req_len);
                } else {
                    slot_end(s, &l, EX_TIMEOUT);
                }
            }
            inflight += s->st != SLOT_FREE;
        }
        if (!inflight && (l.started >= o.count || now >= stop_starting))
            break;
        if (now > hard_end) {
            for (int i = 0; i < k; i++)
                if (slots[i].st != SLOT_FREE)
                    slot_end(&slots[i], &l, EX_TIMEOUT);
            break;
        }
        int rc = poll(pfd, (nfds_t)k, 50);
        if (rc < 0 && errno != EINTR)
            die("poll: %s", strerror(errno));
        for (int i = 0; rc > 0 && i < k; i++) {
            if (!(pfd[i].revents & POLLIN))
                continue;
            for (int j = 0; j < 16; j++) { /* bounded drain */
                ssize_t n = recv_msg(slots[i].fd, l.buf, MAX_DGRAM);
                if (n <= 0)
                    break;
                slot_recv(&slots[i], &l, l.buf, (size_t)n);
            }
        }
    }
    double el = now_s() - t0, cpu = cpu_s() - cpu0;
    int failed = l.fail_timeout + l.fail_refused + l.fail_bad;
    qsort(l.lat, (size_t)l.ok, sizeof(double), cmp_double);
    double sum = 0;
    for (int i = 0; i < l.ok; i++)
        sum += l.lat[i];
    double p50 = l.ok ? l.lat[l.ok / 2] : 0, p99 = l.ok ? l.lat[(l.ok * 99) / 100] : 0;
    printf("load: %d ok, %d failed (%d timeout, %d refused, %d bad), %d not started; parallel %d; "
           "%.2f s; %.1f handshakes/s; latency avg %.2f ms p50 %.2f ms p99 %.2f ms; "
           "initiator CPU %.2f s (%.0f us per handshake)\n",
           l.ok, failed, l.fail_timeout, l.fail_refused, l.fail_bad, o.count - l.started, k, el,
           l.ok / el, l.ok ? sum / l.ok * 1e3 : 0, p50 * 1e3, p99 * 1e3, cpu,
           l.ok ? cpu / l.ok * 1e6 : 0);
    for (int i = 0; i < k; i++)
        close(slots[i].fd);
    free(slots);
    free(pfd);
    free(l.lat);
    free(l.buf);
    return failed || l.ok == 0 ? EX_REFUSED : EX_OK;
}

int main(int argc, char **argv)
{
    parse_opts(argc, argv);
    log_init("ike_initiator", LOG_WARNING);
    if (ike_crypto_init() != IKE_CRYPTO_OK)
        die("crypto initialisation failed");
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (o.junk)
        return run_junk();
    load_creds();
    int rc = o.count ? run_load() : run_one();
    free_creds();
    return rc;
}

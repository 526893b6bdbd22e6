/* Test helper for vm-tunnel.sh: programs a device<->gw ESP tunnel through the
 * xfrm library (one batch per end), reads SA counters, opens NAT-T sockets
 * and waits for kernel events. Runs in whatever network namespace it is
 * started in (ip netns exec). Keys derive from the SPI, so both ends agree
 * without keys on any command line.
 *
 *   tunnel ROLE VIP NET LOCAL REMOTE SPI_IN SPI_OUT REQID [options]
 *       ROLE device|gw; SPI_IN is the device->gw SA, SPI_OUT gw->device.
 *       --alg ENC[+INTEG] --esn --window N --encap LPORT:RPORT
 *       --soft-bytes N --hard-bytes N   (on the SA this end sends with)
 *   counters SRC DST SPI        print "bytes packets" of an SA
 *   show                        list mgate's SAs with counters and lifetimes
 *   encap-socket PORT SECONDS   hold a UDP_ENCAP_ESPINUDP socket open
 *   watch SECONDS EVENT...      EVENT: soft:SPI hard:SPI mapping:SPI acquire;
 *                               exit 0 once all were seen, 1 on timeout */
#include <netinet/in.h>

#include <errno.h>
#include <netinet/udp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "test_xfrm_common.h"
#include "xfrm_batch.h"
#include "xfrm_event.h"

static int usage(void)
{
    fprintf(stderr,
            "usage: xfrm_tunnel_tool tunnel|counters|show|encap-socket|watch ... (see source)\n");
    return 2;
}

static uint32_t num(const char *s)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &end, 0);
    if (errno || *end || v > UINT32_MAX) {
        fprintf(stderr, "not a number: %s\n", s);
        exit(2);
    }
    return (uint32_t)v;
}

static struct xfrm_nl *open_nl(void)
{
    struct xfrm_err err;
    struct xfrm_nl *nl = xfrm_nl_open(NULL, &err);

    if (!nl) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
    return nl;
}

static void host_prefix(char *buf, size_t len, const char *addr)
{
    snprintf(buf, len, "%s/%d", addr, strchr(addr, ':') ? 128 : 32);
}

static int cmd_tunnel(int argc, char **argv)
{
    struct xfrm_sa d2g, g2d;
    struct xfrm_policy pol[3];
    struct xfrm_op ops[5];
    struct xfrm_err err;
    struct xfrm_nl *nl;
    enum xfrm_enc_alg enc = XFRM_ENC_AES_GCM16_256;
    enum xfrm_integ_alg integ = XFRM_INTEG_NONE;
    uint16_t lport = 0, rport = 0;
    uint64_t soft = 0, hard = 0;
    uint32_t window = 32, spi_in, spi_out, reqid;
    bool esn = false, device;
    const char *vip, *net, *local, *remote, *dev_ip, *gw_ip;
    char vipnet[64];
    size_t n = 0, npol;
    int failed = 0;

    if (argc < 9)
        return usage();
    device = strcmp(argv[1], "device") == 0;
    if (!device && strcmp(argv[1], "gw") != 0)
        return usage();
    vip = argv[2];
    net = argv[3];
    local = argv[4];
    remote = argv[5];
    spi_in = num(argv[6]);
    spi_out = num(argv[7]);
    reqid = XFRM_OWNER_REQID_MIN + num(argv[8]);
    for (int i = 9; i < argc; i++) {
        if (strcmp(argv[i], "--esn") == 0) {
            esn = true;
        } else if (i + 1 >= argc) {
            return usage();
        } else if (strcmp(argv[i], "--alg") == 0) {
            char name[64], *plus;
            int e, g = XFRM_INTEG_NONE;

            snprintf(name, sizeof(name), "%s", argv[++i]);
            plus = strchr(name, '+');
            if (plus) {
                *plus = '\0';
                g = xfrm_alg_integ_by_name(plus + 1);
            }
            e = xfrm_alg_enc_by_name(name);
            if (e < 0 || g < 0) {
                fprintf(stderr, "unknown algorithm %s\n", argv[i]);
                return 2;
            }
            enc = (enum xfrm_enc_alg)e;
            integ = (enum xfrm_integ_alg)g;
        } else if (strcmp(argv[i], "--window") == 0) {
            window = num(argv[++i]);
        } else if (strcmp(argv[i], "--encap") == 0) {
            unsigned l, r;

            if (sscanf(argv[++i], "%u:%u", &l, &r) != 2 || l > 65535 || r > 65535)
                return usage();
            lport = (uint16_t)l;
            rport = (uint16_t)r;
        } else if (strcmp(argv[i], "--soft-bytes") == 0) {
            soft = num(argv[++i]);
        } else if (strcmp(argv[i], "--hard-bytes") == 0) {
            hard = num(argv[++i]);
        } else {
            return usage();
        }
    }
    dev_ip = device ? local : remote;
    gw_ip = device ? remote : local;
    tx_sa(&d2g, dev_ip, gw_ip, spi_in, reqid, enc, integ);
    tx_sa(&g2d, gw_ip, dev_ip, spi_out, reqid, enc, integ);
    d2g.esn = g2d.esn = esn;
    d2g.replay_window = g2d.replay_window = window;
    if (lport) {
        /* Ports as this end sees them: it sends from lport to rport and
         * expects the peer's packets from rport. */
        struct xfrm_sa *out = device ? &d2g : &g2d, *in = device ? &g2d : &d2g;

        out->encap = in->encap = true;
        out->encap_ports.sport = lport;
        out->encap_ports.dport = rport;
        in->encap_ports.sport = rport;
        in->encap_ports.dport = lport;
    }
    (device ? &d2g : &g2d)->lft.soft_bytes = soft;
    (device ? &d2g : &g2d)->lft.hard_bytes = hard;

    host_prefix(vipnet, sizeof(vipnet), vip);
    if (device) {
        tx_policy(&pol[0], vipnet, net, XFRM_DIR_OUT, dev_ip, gw_ip, reqid);
        tx_policy(&pol[1], net, vipnet, XFRM_DIR_IN, gw_ip, dev_ip, reqid);
        npol = 2;
    } else {
        tx_policy(&pol[0], vipnet, net, XFRM_DIR_FWD, dev_ip, gw_ip, reqid);
        tx_policy(&pol[1], vipnet, net, XFRM_DIR_IN, dev_ip, gw_ip, reqid);
        tx_policy(&pol[2], net, vipnet, XFRM_DIR_OUT, gw_ip, dev_ip, reqid);
        npol = 3;
    }
    ops[n++] = (struct xfrm_op){.type = XFRM_OP_SA_ADD, .in.sa = &d2g};
    ops[n++] = (struct xfrm_op){.type = XFRM_OP_SA_ADD, .in.sa = &g2d};
    for (size_t i = 0; i < npol; i++)
        ops[n++] = (struct xfrm_op){.type = XFRM_OP_POLICY_ADD, .in.policy = &pol[i]};

    nl = open_nl();
    if (xfrm_batch_run(nl, ops, n, &err) < 0) {
        fprintf(stderr, "batch: %s\n", err.msg);
        failed = 1;
    }
    for (size_t i = 0; i < n; i++) {
        if (ops[i].result < 0) {
            fprintf(stderr, "%s\n", ops[i].err.msg);
            failed = 1;
        }
    }
    xfrm_sa_wipe(&d2g);
    xfrm_sa_wipe(&g2d);
    xfrm_nl_close(nl);
    return failed;
}

static int cmd_counters(int argc, char **argv)
{
    struct xfrm_sa_id id;
    struct xfrm_sa_info info;
    struct xfrm_err err;
    struct xfrm_nl *nl;
    struct xfrm_addr src;
    int rc;

    if (argc != 5)
        return usage();
    memset(&id, 0, sizeof(id));
    if (xfrm_addr_parse(&src, argv[2]) < 0 || xfrm_addr_parse(&id.dst, argv[3]) < 0)
        return usage();
    id.spi = num(argv[4]);
    nl = open_nl();
    rc = xfrm_sa_get(nl, &id, &info, &err);
    xfrm_nl_close(nl);
    if (rc < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    if (!xfrm_addr_equal(&src, &info.src)) {
        fprintf(stderr, "SA 0x%08x has another source address\n", id.spi);
        return 1;
    }
    printf("%llu %llu\n", (unsigned long long)info.cur.bytes, (unsigned long long)info.cur.packets);
    return 0;
}

static int show_one(const struct xfrm_sa_info *sa, void *arg)
{
    char s[XFRM_ADDR_STRLEN], d[XFRM_ADDR_STRLEN];

    (void)arg;
    printf("spi 0x%08x %s -> %s reqid 0x%08x %s%s%s%s bytes %llu packets %llu soft-bytes %llu "
           "hard-bytes %llu"
           " replay %u esn %d seq %u oseq %u encap %d:%d\n",
           sa->spi, xfrm_addr_format(&sa->src, s, sizeof(s)),
           xfrm_addr_format(&sa->dst, d, sizeof(d)), sa->reqid, sa->enc_name,
           sa->integ_name[0] ? " + " : "", sa->integ_name, sa->larval ? " (larval)" : "",
           (unsigned long long)sa->cur.bytes, (unsigned long long)sa->cur.packets,
           (unsigned long long)sa->lft.soft_bytes, (unsigned long long)sa->lft.hard_bytes,
           sa->replay_window, sa->esn, sa->seq, sa->oseq, sa->encap_ports.sport,
           sa->encap_ports.dport);
    return 0;
}

static int cmd_show(void)
{
    struct xfrm_err err;
    struct xfrm_nl *nl = open_nl();
    int rc = xfrm_sa_dump(nl, XFRM_DUMP_OURS, show_one, NULL, &err);

    xfrm_nl_close(nl);
    if (rc < 0)
        fprintf(stderr, "%s\n", err.msg);
    return rc < 0;
}

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
    (void)sig;
    stop = 1;
}

static int cmd_encap_socket(int argc, char **argv)
{
    struct sockaddr_in sin = {.sin_family = AF_INET};
    struct xfrm_err err;
    int type = UDP_ENCAP_ESPINUDP;
    uint32_t seconds;
    int fd;

    if (argc != 4)
        return usage();
    sin.sin_port = htons((uint16_t)num(argv[2]));
    seconds = num(argv[3]);
    fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
        setsockopt(fd, IPPROTO_UDP, UDP_ENCAP, &type, sizeof(type)) < 0) {
        perror("encap socket");
        return 1;
    }
    /* As xfrmd will for its IKE sockets: IKE and keepalives bypass IPsec. */
    if (xfrm_policy_socket_bypass(fd, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    signal(SIGTERM, on_term);
    signal(SIGINT, on_term);
    printf("ready\n");
    fflush(stdout);
    for (uint32_t i = 0; i < seconds * 10 && !stop; i++)
        usleep(100000);
    close(fd);
    return 0;
}

struct want {
    enum xfrm_event_type type;
    bool hard;
    uint32_t spi;
    bool seen;
};

struct watch {
    struct want want[8];
    int n;
};

static void on_event(const struct xfrm_event *ev, void *arg)
{
    struct watch *w = arg;
    char a[XFRM_ADDR_STRLEN], b[XFRM_ADDR_STRLEN];
    uint32_t spi = 0;

    switch (ev->type) {
    case XFRM_EVENT_SA_EXPIRE:
        spi = ev->u.sa.info.spi;
        printf("event %s %s spi 0x%08x ours %d bytes %llu packets %llu\n",
               xfrm_event_type_name(ev->type), ev->u.sa.hard ? "hard" : "soft", spi, ev->ours,
               (unsigned long long)ev->u.sa.info.cur.bytes,
               (unsigned long long)ev->u.sa.info.cur.packets);
        break;
    case XFRM_EVENT_MAPPING:
        spi = ev->u.mapping.sa.spi;
        printf("event mapping spi 0x%08x ours %d %s:%u -> %s:%u\n", spi, ev->ours,
               xfrm_addr_format(&ev->u.mapping.old_src, a, sizeof(a)), ev->u.mapping.old_sport,
               xfrm_addr_format(&ev->u.mapping.new_src, b, sizeof(b)), ev->u.mapping.new_sport);
        break;
    case XFRM_EVENT_ACQUIRE:
        printf("event acquire ours %d %s -> %s\n", ev->ours,
               xfrm_addr_format(&ev->u.acquire.sel.src, a, sizeof(a)),
               xfrm_addr_format(&ev->u.acquire.sel.dst, b, sizeof(b)));
        break;
    case XFRM_EVENT_OVERRUN:
    case XFRM_EVENT_INVALID:
        printf("event %s: %s\n", xfrm_event_type_name(ev->type), ev->u.error.msg);
        break;
    default:
        printf("event %s ours %d\n", xfrm_event_type_name(ev->type), ev->ours);
        break;
    }
    for (int i = 0; i < w->n; i++) {
        struct want *x = &w->want[i];

        if (x->type != ev->type || !ev->ours)
            continue;
        if (x->type == XFRM_EVENT_SA_EXPIRE && (x->hard != ev->u.sa.hard || x->spi != spi))
            continue;
        if (x->type == XFRM_EVENT_MAPPING && x->spi != spi)
            continue;
        x->seen = true;
    }
    fflush(stdout);
}

static int cmd_watch(int argc, char **argv)
{
    struct watch w;
    struct xfrm_event_sock *es;
    struct xfrm_err err;
    uint32_t seconds;

    if (argc < 4)
        return usage();
    memset(&w, 0, sizeof(w));
    seconds = num(argv[2]);
    for (int i = 3; i < argc && w.n < 8; i++) {
        struct want *x = &w.want[w.n++];
        const char *colon = strchr(argv[i], ':');

        if (strncmp(argv[i], "soft:", 5) == 0 || strncmp(argv[i], "hard:", 5) == 0) {
            x->type = XFRM_EVENT_SA_EXPIRE;
            x->hard = argv[i][0] == 'h';
        } else if (strncmp(argv[i], "mapping:", 8) == 0) {
            x->type = XFRM_EVENT_MAPPING;
        } else if (strcmp(argv[i], "acquire") == 0) {
            x->type = XFRM_EVENT_ACQUIRE;
        } else {
            return usage();
        }
        if (colon)
            x->spi = num(colon + 1);
    }
    es = xfrm_event_open(0, 0, &err);
    if (!es) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    signal(SIGTERM, on_term);
    printf("ready\n");
    fflush(stdout);
    for (uint32_t t = 0; t < seconds * 10 && !stop; t++) {
        struct pollfd pfd = {.fd = xfrm_event_fd(es), .events = POLLIN};
        bool all = true;

        if (poll(&pfd, 1, 100) > 0 && xfrm_event_dispatch(es, on_event, &w, &err) < 0) {
            fprintf(stderr, "%s\n", err.msg);
            break;
        }
        for (int i = 0; i < w.n; i++)
            all = all && w.want[i].seen;
        if (all) {
            xfrm_event_close(es);
            return 0;
        }
    }
    xfrm_event_close(es);
    printf("timeout: not all events seen\n");
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    if (strcmp(argv[1], "tunnel") == 0)
        return cmd_tunnel(argc - 1, argv + 1);
    if (strcmp(argv[1], "counters") == 0)
        return cmd_counters(argc, argv);
    if (strcmp(argv[1], "show") == 0)
        return cmd_show();
    if (strcmp(argv[1], "encap-socket") == 0)
        return cmd_encap_socket(argc, argv);
    if (strcmp(argv[1], "watch") == 0)
        return cmd_watch(argc, argv);
    return usage();
}

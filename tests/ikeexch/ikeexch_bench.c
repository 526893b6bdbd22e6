/* Responder-side cost of a handshake (IKE_SA_INIT + IKE_AUTH with
 * certificates, CHILD SA keys), the design.md figure "handshakes per second
 * per core". Only the time inside ike_exch_sa_init / ike_exch_request is
 * counted (thread CPU time); the test initiator's work is not. A benchmark,
 * not a test: it prints one line per suite.
 *
 *   ikeexch_bench [-n handshakes-per-row] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "ti.h"

static double now_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void row(struct fx *f, const char *name, const char *ike, const struct fx_cred *dev,
                ike_cert_own *gw, int n)
{
    double spent = 0;
    int ok = 0;
    f->env.own = gw;
    for (int i = 0; i < n; i++) {
        struct ti t;
        struct ike_sa *sa = NULL;
        struct ike_tx tx;
        struct ti_auth_result r;
        size_t len;
        ti_init(&t, ike);
        uint8_t *req = ti_sa_init(&t, &len);
        double t0 = now_cpu();
        enum ike_exch_result res = drive_sa_init(f, &t, req, len, false, &sa, &tx);
        spent += now_cpu() - t0;
        free(req);
        if (res != IKE_EXCH_REPLY || !sa || ti_sa_init_response(&t, f, tx.buf, tx.len) != 0) {
            free(tx.buf);
            ike_sa_free(sa);
            ti_fini(&t);
            continue;
        }
        free(tx.buf);
        struct ti_auth_opts o = {.cred = dev};
        req = ti_auth(&t, f, &o, &len);
        t0 = now_cpu();
        res = drive_request(f, sa, req, len, &tx);
        spent += now_cpu() - t0;
        if (res == IKE_EXCH_INSTALL && ti_auth_response(&t, f, tx.buf, tx.len, &r) == 0 &&
            r.auth_ok)
            ok++;
        free(req);
        free(tx.buf);
        ike_sa_free(sa);
        ti_fini(&t);
    }
    printf("%-40s %6d handshakes  %8.1f us each  %7.0f /s per core%s\n", name, n, spent / n * 1e6,
           n / spent, ok == n ? "" : "  (SOME FAILED)");
}

int main(int argc, char **argv)
{
    int n = 300, c;
    while ((c = getopt(argc, argv, "n:")) != -1)
        if (c == 'n')
            n = atoi(optarg);
    if (n <= 0)
        n = 300;
    log_init("ikeexch_bench", LOG_WARNING);
    static struct fx f;
    static struct devs d;
    fx_init(&f, "10.96.0.0/16");
    devs_init(&d, &f);
    row(&f, "x25519 + ECDSA P-256 (gw and device)", "aes256gcm16-prfsha384-curve25519", &d.ec,
        f.own_ec, n);
    row(&f, "x25519 + RSA-2048 (gw and device)", "aes256gcm16-prfsha384-curve25519", &d.rsa,
        f.own_rsa, n);
    row(&f, "ecp256 + ECDSA P-256", "aes128gcm16-prfsha256-ecp256", &d.ec, f.own_ec, n);
    row(&f, "modp2048 + ECDSA P-256, AES-CBC", "aes256-sha384-modp2048", &d.ec, f.own_ec, n);
    devs_fini(&d);
    fx_fini(&f);
    return 0;
}

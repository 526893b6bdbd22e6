/* The IKE SA checkpoint's cost on the event loop (an executable, not a
 * test): N established SAs written (the first save of each), N updates of
 * a message ID (one row each, as after an answered exchange), all loaded
 * back at once (a restart), then N deletes. Prints microseconds per
 * operation and the file sizes.
 *
 *   ckpt_bench [-n SAs] [-d DIR]   (DIR on tmpfs, default /dev/shm) */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ike_const.h"
#include "ike_crypto.h"
#include "iked_checkpoint.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* What iked holds for a device after an INFORMATIONAL exchange: GCM keys,
 * a ~100-octet cached response, a CHILD SA with one selector. */
static struct ike_sa *bench_sa(uint64_t spi_r)
{
    struct ike_sa *sa = ike_sa_new();
    if (!sa)
        return NULL;
    sa->spi_i = spi_r ^ 0x5555555555555555ull;
    sa->spi_r = spi_r;
    struct sockaddr_in *l = (struct sockaddr_in *)&sa->local,
                       *r = (struct sockaddr_in *)&sa->remote;
    l->sin_family = r->sin_family = AF_INET;
    l->sin_addr.s_addr = htonl(0xc0000201);
    r->sin_addr.s_addr = htonl(0x0a000000 + (uint32_t)spi_r);
    l->sin_port = r->sin_port = htons(4500);
    sa->suite = (ike_suite){IKE_ENCR_AES_GCM_16, 128, 0, IKE_PRF_HMAC_SHA2_256, IKE_DH_ECP_256};
    sa->keys.prf = IKE_PRF_HMAC_SHA2_256;
    sa->keys.prf_len = 32;
    uint8_t km[20] = {1};
    ike_sk_dir_init(&sa->keys.sk_i, IKE_ENCR_AES_GCM_16, 128, 0, km, sizeof(km), NULL, 0);
    ike_sk_dir_init(&sa->keys.sk_r, IKE_ENCR_AES_GCM_16, 128, 0, km, sizeof(km), NULL, 0);
    sa->last_resp_len = 100;
    sa->last_resp = calloc(1, sa->last_resp_len);
    sa->peer_subject = strdup("CN=device-000000,O=mgate bench");
    sa->child = calloc(1, sizeof(*sa->child));
    if (!sa->last_resp || !sa->peer_subject || !sa->child) {
        ike_sa_free(sa);
        return NULL;
    }
    sa->child->esp = (struct iked_esp_proposal){IKE_ENCR_AES_GCM_16, 128, 0, false, 0};
    sa->child->n_ts_local = 1;
    sa->child->ts_local[0].family = AF_INET;
    sa->child->ts_remote.family = AF_INET;
    sa->child->installed = true;
    return sa;
}

static void count(struct ike_sa *sa, void *arg)
{
    (*(size_t *)arg)++;
    ike_sa_free(sa);
}

int main(int argc, char **argv)
{
    long n = 100000;
    const char *dir = "/dev/shm";
    for (int c; (c = getopt(argc, argv, "n:d:")) != -1;) {
        if (c == 'n')
            n = atol(optarg);
        else if (c == 'd')
            dir = optarg;
        else {
            fprintf(stderr, "usage: ckpt_bench [-n SAs] [-d DIR]\n");
            return 1;
        }
    }
    if (n <= 0 || ike_crypto_init() != IKE_CRYPTO_OK)
        return 1;
    char path[4096];
    snprintf(path, sizeof(path), "%s/ckpt_bench.%d", dir, (int)getpid());
    struct iked_checkpoint *cp;
    char why[256];
    if (iked_checkpoint_open(path, &cp, why, sizeof(why)) < 0) {
        fprintf(stderr, "ckpt_bench: %s: %s\n", path, why);
        return 1;
    }
    struct ike_sa *sa = bench_sa(1);
    if (!sa)
        return 1;
    int rc = 0;
    double t0 = now_s();
    for (long i = 1; i <= n && rc == 0; i++) {
        sa->spi_r = (uint64_t)i;
        rc = iked_checkpoint_put(cp, sa);
    }
    double t1 = now_s();
    for (long i = 1; i <= n && rc == 0; i++) {
        sa->spi_r = (uint64_t)i;
        sa->next_msgid++;
        rc = iked_checkpoint_put(cp, sa);
    }
    double t2 = now_s();
    size_t loaded = 0;
    if (rc == 0)
        rc = iked_checkpoint_load(cp, count, &loaded, why, sizeof(why));
    double t3 = now_s();
    struct stat st = {0}, stw = {0};
    stat(path, &st);
    char wal[4200];
    snprintf(wal, sizeof(wal), "%s-wal", path);
    stat(wal, &stw);
    for (long i = 1; i <= n && rc == 0; i++)
        rc = iked_checkpoint_del(cp, (uint64_t)i);
    double t4 = now_s();
    if (rc != 0)
        fprintf(stderr, "ckpt_bench: failed (%s)\n", why);
    printf("ckpt_bench: %ld SAs in %s: first save %.1f us, update %.1f us, load all %.2f s "
           "(%zu), delete %.1f us; file %.1f MB + wal %.1f MB\n",
           n, dir, (t1 - t0) * 1e6 / (double)n, (t2 - t1) * 1e6 / (double)n, t3 - t2, loaded,
           (t4 - t3) * 1e6 / (double)n, (double)st.st_size / 1e6, (double)stw.st_size / 1e6);
    ike_sa_free(sa);
    iked_checkpoint_close(cp);
    iked_checkpoint_unlink(path);
    ike_crypto_fini();
    return rc == 0 ? 0 : 1;
}

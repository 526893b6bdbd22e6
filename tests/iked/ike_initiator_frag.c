/* ike_initiator --frag: RFC 7383 on the initiator's socket (see
 * ike_initiator_frag.h). */
#include "ike_initiator_frag.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "ike_frag.h"
#include "ike_payload.h"

static double ini_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* An IKE_AUTH response of t's SA: 1; its fragment number and total when it
 * is a fragment (else 1 of 1). */
static int ini_is_answer(const struct ti *t, const uint8_t *buf, size_t len, uint16_t *num,
                         uint16_t *total)
{
    struct ike_msg m;
    struct ike_error e;
    struct ike_sk sk;
    if (ike_msg_parse(&m, buf, len, &e) != IKE_OK || memcmp(m.hdr.ispi, t->spi_i, 8) != 0 ||
        m.hdr.exchange != IKE_EXCH_IKE_AUTH || !(m.hdr.flags & IKE_FLAG_RESPONSE) ||
        m.hdr.msgid != 1 || !m.sk || ike_pl_sk(&m, m.sk, &sk, &e) != IKE_OK)
        return 0;
    *num = sk.frag_num;
    *total = sk.frag_total;
    return 1;
}

/* Collects one answer (single datagram or a whole fragment set) within ms. */
static ssize_t ini_collect(int fd, const struct ti *t, uint8_t *resp, size_t cap, int ms,
                           size_t *n_resp, size_t *largest)
{
    bool seen[IKE_FRAG_MAX_FRAGS + 1] = {false};
    size_t off = 0, have = 0;
    uint16_t total = 0;
    uint8_t *buf = malloc(65536);
    double end = ini_now() + ms / 1000.0;
    *n_resp = 0;
    *largest = 0;
    while (buf) {
        int left = (int)((end - ini_now()) * 1000.0 + 0.5);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, left) <= 0)
            break;
        ssize_t n = recv(fd, buf, 65536, 0);
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
            free(buf);
            return -1;
        }
        uint16_t num = 0, tot = 0;
        if (n <= 0 || !ini_is_answer(t, buf, (size_t)n, &num, &tot) || tot > IKE_FRAG_MAX_FRAGS ||
            (total && tot != total) || seen[num] || off + (size_t)n > cap)
            continue;
        total = tot;
        seen[num] = true;
        memcpy(resp + off, buf, (size_t)n);
        off += (size_t)n;
        if ((size_t)n > *largest)
            *largest = (size_t)n;
        (*n_resp)++;
        if (++have == total) {
            free(buf);
            return (ssize_t)off;
        }
    }
    free(buf);
    return 0;
}

static void ini_send_frags(int fd, uint8_t **fr, const size_t *fl, size_t n, size_t from)
{
    for (size_t i = from; i < n; i++)
        if (send(fd, fr[i], fl[i], 0) < 0 && errno != EAGAIN)
            fprintf(stderr, "ike_initiator: send: %s\n", strerror(errno));
}

ssize_t ini_frag_xchg(int fd, struct ti *t, const uint8_t *req, size_t len, size_t chunk,
                      int timeout_ms, int tries, uint8_t *resp, size_t cap, size_t *n_req,
                      size_t *n_resp, size_t *largest)
{
    uint8_t **fr;
    size_t *fl;
    *n_req = ti_fragment(t, req, len, chunk, &fr, &fl);
    ssize_t got = 0;
    for (int i = 0; i < tries && got == 0; i++) {
        ini_send_frags(fd, fr, fl, *n_req, 0);
        got = ini_collect(fd, t, resp, cap, timeout_ms, n_resp, largest);
    }
    ti_frags_free(fr, fl, *n_req);
    return got;
}

int ini_frag_retransmit(int fd, struct ti *t, const uint8_t *req, size_t len, size_t chunk,
                        int timeout_ms, const uint8_t *first, size_t first_len)
{
    uint8_t **fr;
    size_t *fl, n_resp = 0, largest = 0;
    size_t n = ti_fragment(t, req, len, chunk, &fr, &fl);
    uint8_t *again = malloc(65536);
    int rc = 0;
    if (!again) {
        ti_frags_free(fr, fl, n);
        return 4;
    }
    ini_send_frags(fd, fr, fl, n, 1);
    ssize_t got = ini_collect(fd, t, again, 65536, timeout_ms, &n_resp, &largest);
    if (got != 0 || n_resp != 0) {
        printf("retransmit IKE_AUTH fragments 2..%zu: ANSWERED (%zu datagrams)\n", n, n_resp);
        rc = 4;
        goto out;
    }
    printf("retransmit IKE_AUTH fragments 2..%zu: no answer (RFC 7383 §2.6.1)\n", n);
    ini_send_frags(fd, fr, fl, n, 0);
    got = ini_collect(fd, t, again, 65536, timeout_ms, &n_resp, &largest);
    if (got <= 0) {
        printf("retransmit IKE_AUTH: no answer to the whole set\n");
        rc = 3;
        goto out;
    }
    if ((size_t)got != first_len || memcmp(again, first, first_len) != 0) {
        printf("retransmit IKE_AUTH: the answer DIFFERS\n");
        rc = 4;
        goto out;
    }
    /* Once, not once per fragment of the request. */
    size_t extra = 0;
    if (ini_collect(fd, t, again, 65536, timeout_ms / 2 + 1, &extra, &largest) < 0 || extra != 0) {
        printf("retransmit IKE_AUTH: %zu more datagrams of the answer\n", extra);
        rc = 4;
        goto out;
    }
    printf("retransmit IKE_AUTH: identical answer (%zu octets in %zu datagrams), sent once\n",
           first_len, n_resp);
out:
    free(again);
    ti_frags_free(fr, fl, n);
    return rc;
}

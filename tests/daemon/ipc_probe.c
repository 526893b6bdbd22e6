/* ipc_probe SERVICE SOCKET MODE: talks to a daemon the way a broken or
 * hostile client would, and exits 0 only when the daemon reacted as it must.
 * Used by daemons.sh. */
#include <alloca.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "envelope.h"
#include "iked.pb-c.h"
#include "ipc_sync.h"
#include "policyd.pb-c.h"
#include "wiped.pb-c.h"
#include "xfrmd.pb-c.h"

static const ProtobufCMessageDescriptor *req_desc, *resp_desc, *ev_desc;

static int pick_service(const char *name)
{
    if (strcmp(name, "xfrmd") == 0) {
        req_desc = &mgate__xfrmd_request__descriptor;
        resp_desc = &mgate__xfrmd_response__descriptor;
        ev_desc = &mgate__xfrmd_event__descriptor;
    } else if (strcmp(name, "iked") == 0) {
        req_desc = &mgate__iked_request__descriptor;
        resp_desc = &mgate__iked_response__descriptor;
        ev_desc = &mgate__iked_event__descriptor;
    } else if (strcmp(name, "policyd") == 0) {
        req_desc = &mgate__policyd_request__descriptor;
        resp_desc = &mgate__policyd_response__descriptor;
        ev_desc = &mgate__policyd_event__descriptor;
    } else if (strcmp(name, "wiped") == 0) {
        req_desc = &mgate__wiped_request__descriptor;
        resp_desc = &mgate__wiped_response__descriptor;
        ev_desc = &mgate__wiped_event__descriptor;
    } else {
        return -1;
    }
    return 0;
}

/* The daemon closed the connection within 3 s. */
static int expect_closed(struct ipc_sync *s)
{
    struct pollfd p = {.fd = s->fd, .events = POLLIN};
    for (int i = 0; i < 30; i++) {
        if (poll(&p, 1, 100) > 0) {
            char b[256];
            ssize_t n = recv(s->fd, b, sizeof(b), 0);
            if (n == 0 || (n < 0 && errno == ECONNRESET)) {
                printf("closed by daemon\n");
                return 0;
            }
        }
    }
    printf("FAIL: connection still open\n");
    return 1;
}

static int status_ok(struct ipc_sync *s)
{
    void *env = alloca(req_desc->sizeof_message);
    Mgate__StatusRequest sr = MGATE__STATUS_REQUEST__INIT;
    envelope_init_set(req_desc, env, ENV_REQ_STATUS, &sr.base);
    Mgate__Frame *f = NULL;
    int rc = ipc_sync_call(s, env, 3000, &f);
    if (rc) {
        printf("FAIL: status: %s\n", strerror(-rc));
        return 1;
    }
    ProtobufCMessage *r =
        protobuf_c_message_unpack(resp_desc, NULL, f->payload.len, f->payload.data);
    const Mgate__Status *st = r ? (const Mgate__Status *)envelope_get(r, ENV_RESP_STATUS) : NULL;
    int ok = st != NULL;
    if (st)
        printf("status ok: %s pid %u peers %u\n", st->service, st->pid, st->peers);
    else
        printf("FAIL: no status in the answer\n");
    if (r)
        protobuf_c_message_free_unpacked(r, NULL);
    mgate__frame__free_unpacked(f, NULL);
    return ok ? 0 : 1;
}

/* Sends a Frame with the given fields and expects a frame-level or
 * service-level error of the given code, then a working connection. */
static int expect_error(struct ipc_sync *s, uint32_t version, const uint8_t *payload, size_t plen,
                        Mgate__ErrorCode code)
{
    Mgate__Frame fr = MGATE__FRAME__INIT;
    fr.api_version = version;
    fr.kind = MGATE__FRAME_KIND__FRAME_REQUEST;
    fr.id = 4711;
    fr.payload.data = (uint8_t *)payload;
    fr.payload.len = plen;
    size_t n = mgate__frame__get_packed_size(&fr);
    uint8_t *buf = malloc(n + 4);
    buf[0] = (uint8_t)(n >> 24);
    buf[1] = (uint8_t)(n >> 16);
    buf[2] = (uint8_t)(n >> 8);
    buf[3] = (uint8_t)n;
    mgate__frame__pack(&fr, buf + 4);
    int rc = ipc_sync_write_raw(s, buf, n + 4);
    free(buf);
    if (rc)
        return 1;
    /* Read the reply by hand: ipc_sync_call would send a request of its own. */
    Mgate__Frame *f = NULL;
    struct pollfd p = {.fd = s->fd, .events = POLLIN};
    for (int i = 0; i < 30 && !f; i++) {
        int r = ipc_rxbuf_next(&s->rx, &f);
        if (r == 1)
            break;
        if (poll(&p, 1, 100) <= 0)
            continue;
        uint8_t *at;
        size_t avail;
        ipc_rxbuf_reserve(&s->rx, 4096, &at, &avail);
        ssize_t got = recv(s->fd, at, avail, 0);
        if (got <= 0) {
            printf("FAIL: connection closed instead of an error reply\n");
            return 1;
        }
        ipc_rxbuf_commit(&s->rx, (size_t)got);
    }
    if (!f) {
        printf("FAIL: no reply\n");
        return 1;
    }
    Mgate__ErrorCode got = MGATE__ERROR_CODE__ERR_NONE;
    const char *msg = "";
    ProtobufCMessage *r = NULL;
    if (f->error) {
        got = f->error->code;
        msg = f->error->message;
    } else {
        r = protobuf_c_message_unpack(resp_desc, NULL, f->payload.len, f->payload.data);
        const Mgate__Error *e = r ? (const Mgate__Error *)envelope_get(r, ENV_RESP_ERROR) : NULL;
        if (e) {
            got = e->code;
            msg = e->message;
        }
    }
    printf("error reply: code %d: %s\n", got, msg);
    int ok = got == code && f->id == 4711;
    if (r)
        protobuf_c_message_free_unpacked(r, NULL);
    mgate__frame__free_unpacked(f, NULL);
    if (!ok) {
        printf("FAIL: expected code %d\n", code);
        return 1;
    }
    /* The connection stays usable after a refused request. */
    return status_ok(s);
}

static int wait_stopping(struct ipc_sync *s)
{
    void *env = alloca(req_desc->sizeof_message);
    Mgate__SubscribeRequest sr = MGATE__SUBSCRIBE_REQUEST__INIT;
    char *topics[] = {(char *)"lifecycle"};
    sr.topics = topics;
    sr.n_topics = 1;
    envelope_init_set(req_desc, env, ENV_REQ_SUBSCRIBE, &sr.base);
    Mgate__Frame *f = NULL;
    if (ipc_sync_call(s, env, 3000, &f)) {
        printf("FAIL: subscribe\n");
        return 1;
    }
    mgate__frame__free_unpacked(f, NULL);
    printf("subscribed\n");
    fflush(stdout);
    if (ipc_sync_next_event(s, 15000, &f)) {
        printf("FAIL: no event\n");
        return 1;
    }
    ProtobufCMessage *ev =
        protobuf_c_message_unpack(ev_desc, NULL, f->payload.len, f->payload.data);
    const Mgate__Stopping *st =
        ev ? (const Mgate__Stopping *)envelope_get(ev, ENV_EVENT_STOPPING) : NULL;
    int ok = st != NULL;
    printf(ok ? "stopping: %s\n" : "FAIL: not a stopping event%s\n", ok ? st->reason : "");
    if (ev)
        protobuf_c_message_free_unpacked(ev, NULL);
    mgate__frame__free_unpacked(f, NULL);
    return ok ? 0 : 1;
}

/* One line per grant, for the shell tests to grep. */
static void print_grant(const char *what, const Mgate__AccessGrant *g)
{
    static const char *const dec[] = {"unspecified", "allow", "quarantine", "deny"};
    printf("%s decision=%s device=%llu gen=%llu cache=%u full=%d sel=", what,
           g->decision <= 3 ? dec[g->decision] : "?", (unsigned long long)g->device_id,
           (unsigned long long)g->generation, g->cache_seconds, g->full_tunnel);
    for (size_t i = 0; i < g->n_selectors; i++)
        printf("%s%s:%u:%u", i ? "," : "", g->selectors[i]->subnet, g->selectors[i]->protocol,
               g->selectors[i]->port);
    printf(" dns=");
    for (size_t i = 0; i < g->n_dns; i++)
        printf("%s%s", i ? "," : "", g->dns[i]);
    printf(" reason=%s\n", g->reason);
    fflush(stdout);
}

/* policyd: Authorize with a certificate's fingerprint and serial, n times
 * one after the other (the last grant printed, and the rate when n > 1). */
static int authorize(struct ipc_sync *s, const char *fp, const char *serial, long n)
{
    Mgate__AuthorizeRequest ar = MGATE__AUTHORIZE_REQUEST__INIT;
    ar.subject = "CN=probe";
    ar.fingerprint = (char *)fp;
    ar.serial = (char *)serial;
    ar.peer_address = "192.0.2.1";
    Mgate__PolicydRequest rq = MGATE__POLICYD_REQUEST__INIT;
    rq.body_case = MGATE__POLICYD_REQUEST__BODY_AUTHORIZE;
    rq.authorize = &ar;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int ok = 0;
    for (long i = 0; i < n; i++) {
        Mgate__Frame *f = NULL;
        if (ipc_sync_call(s, &rq.base, 3000, &f)) {
            printf("FAIL: authorize: no answer\n");
            return 1;
        }
        Mgate__PolicydResponse *r =
            mgate__policyd_response__unpack(NULL, f->payload.len, f->payload.data);
        ok = r && r->body_case == MGATE__POLICYD_RESPONSE__BODY_AUTHORIZE && r->authorize->grant;
        if (ok && i == n - 1)
            print_grant("grant", r->authorize->grant);
        else if (!ok)
            printf("FAIL: authorize: %s\n", f->error        ? f->error->message
                                            : r && r->error ? r->error->message
                                                            : "no grant");
        if (r)
            mgate__policyd_response__free_unpacked(r, NULL);
        mgate__frame__free_unpacked(f, NULL);
        if (!ok)
            return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    if (n > 1)
        printf("%ld authorizations in %.0f ms: %.0f/s\n", n, ms, (double)n * 1000.0 / ms);
    return 0;
}

/* policyd: subscribes to "access" and prints n AccessChanged events (at
 * most timeout_ms between two). */
static int access_events(struct ipc_sync *s, long n, int timeout_ms)
{
    void *env = alloca(req_desc->sizeof_message);
    Mgate__SubscribeRequest sr = MGATE__SUBSCRIBE_REQUEST__INIT;
    char *topics[] = {(char *)"access"};
    sr.topics = topics;
    sr.n_topics = 1;
    envelope_init_set(req_desc, env, ENV_REQ_SUBSCRIBE, &sr.base);
    Mgate__Frame *f = NULL;
    if (ipc_sync_call(s, env, 3000, &f)) {
        printf("FAIL: subscribe\n");
        return 1;
    }
    mgate__frame__free_unpacked(f, NULL);
    printf("subscribed\n");
    fflush(stdout);
    for (long i = 0; i < n; i++) {
        if (ipc_sync_next_event(s, timeout_ms, &f)) {
            printf("FAIL: %ld of %ld events\n", i, n);
            return 1;
        }
        Mgate__PolicydEvent *ev =
            mgate__policyd_event__unpack(NULL, f->payload.len, f->payload.data);
        if (ev && ev->body_case == MGATE__POLICYD_EVENT__BODY_ACCESS_CHANGED &&
            ev->access_changed->grant) {
            char what[160];
            snprintf(what, sizeof(what), "event serial=%s", ev->access_changed->serial);
            print_grant(what, ev->access_changed->grant);
        } else {
            printf("FAIL: not an AccessChanged event\n");
            i = n;
        }
        if (ev)
            mgate__policyd_event__free_unpacked(ev, NULL);
        mgate__frame__free_unpacked(f, NULL);
    }
    return 0;
}

/* Sends n requests without reading a single answer, then leaves. */
static int flood(struct ipc_sync *s, long n)
{
    void *env = alloca(req_desc->sizeof_message);
    Mgate__StatusRequest sr = MGATE__STATUS_REQUEST__INIT;
    envelope_init_set(req_desc, env, ENV_REQ_STATUS, &sr.base);
    uint8_t *buf;
    size_t len;
    ipc_frame_encode(MGATE__FRAME_KIND__FRAME_REQUEST, 1, env, &buf, &len);
    long sent = 0;
    struct pollfd p = {.fd = s->fd, .events = POLLOUT};
    while (sent < n) {
        /* Once the daemon stops reading, our send buffer fills: that is the
         * back-pressure this mode checks for. */
        if (poll(&p, 1, 500) <= 0)
            break;
        if (send(s->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
            break;
        sent++;
    }
    free(buf);
    printf("sent %ld of %ld requests before the daemon stopped reading\n", sent, n);
    return sent < n ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc < 4 || pick_service(argv[1]) < 0) {
        fprintf(stderr, "usage: ipc_probe SERVICE SOCKET status|oversize|garbage|badpayload|"
                        "version|unknown|stopping|flood N|authorize FP SERIAL [N]|access N MS\n");
        return 2;
    }
    struct ipc_sync s;
    int rc = ipc_sync_connect(&s, argv[2], 0);
    if (rc) {
        printf("FAIL: connect %s: %s\n", argv[2], strerror(-rc));
        return 1;
    }
    const char *mode = argv[3];
    int res = 2;
    if (strcmp(mode, "status") == 0) {
        res = status_ok(&s);
    } else if (strcmp(mode, "oversize") == 0) {
        /* Announce 64 MiB + 1: over any max_frame the config allows. */
        uint8_t hdr[4] = {0x04, 0x00, 0x00, 0x01};
        ipc_sync_write_raw(&s, hdr, 4);
        res = expect_closed(&s);
    } else if (strcmp(mode, "garbage") == 0) {
        uint8_t junk[] = {0, 0, 0, 4, 0x0f, 0xff, 0xff, 0xff};
        ipc_sync_write_raw(&s, junk, sizeof(junk));
        res = expect_closed(&s);
    } else if (strcmp(mode, "badpayload") == 0) {
        uint8_t junk[] = {0x0f, 0xff, 0xff};
        res = expect_error(&s, 1, junk, sizeof(junk), MGATE__ERROR_CODE__ERR_INVALID);
    } else if (strcmp(mode, "version") == 0) {
        res = expect_error(&s, 99, NULL, 0, MGATE__ERROR_CODE__ERR_VERSION);
    } else if (strcmp(mode, "unknown") == 0) {
        /* Field 999, length-delimited, empty: a request kind from the future. */
        uint8_t future[] = {0xba, 0x3e, 0x00};
        res = expect_error(&s, 1, future, sizeof(future), MGATE__ERROR_CODE__ERR_UNSUPPORTED);
    } else if (strcmp(mode, "stopping") == 0) {
        res = wait_stopping(&s);
    } else if (strcmp(mode, "authorize") == 0 && argc > 5) {
        res = authorize(&s, argv[4], argv[5], argc > 6 ? atol(argv[6]) : 1);
    } else if (strcmp(mode, "access") == 0 && argc > 5) {
        res = access_events(&s, atol(argv[4]), atoi(argv[5]));
    } else if (strcmp(mode, "flood") == 0 && argc > 4) {
        res = flood(&s, atol(argv[4]));
    }
    ipc_sync_close(&s);
    return res;
}

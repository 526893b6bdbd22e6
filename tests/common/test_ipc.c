/* The IPC layer end to end in one libuv loop: a server and clients on a real
 * UNIX socket. Every scenario runs under a guard timer. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ipc_client.h"
#include "ipc_server.h"
#include "log.h"

static const char *const topics[] = {"lifecycle", "devices", NULL};

struct fixture {
    uv_loop_t loop;
    uv_timer_t guard, later;
    char dir[64];
    char path[128];
    struct ipc_server *srv;
    struct ipc_client *cl, *cl2;
    struct ipc_acl acl;
    int responses, errors, events_cl, events_cl2, connects, disconnects;
    int last_status;
    bool silent; /* the server never answers */
    bool done;
};

static struct fixture *F;

static void stop_all(void)
{
    F->done = true;
    if (F->cl)
        ipc_client_close(F->cl);
    if (F->cl2)
        ipc_client_close(F->cl2);
    if (F->srv)
        ipc_server_close(F->srv);
    F->cl = F->cl2 = NULL;
    F->srv = NULL;
    uv_close((uv_handle_t *)&F->guard, NULL);
    if (!uv_is_closing((uv_handle_t *)&F->later))
        uv_close((uv_handle_t *)&F->later, NULL);
}

static void on_guard(uv_timer_t *t)
{
    (void)t;
    stop_all();
}

static void srv_on_request(struct ipc_conn *conn, uint64_t id, const uint8_t *payload, size_t len,
                           void *ud)
{
    (void)ud;
    if (F->silent)
        return;
    Mgate__SubscribeRequest *sr = mgate__subscribe_request__unpack(NULL, len, payload);
    if (sr && sr->n_topics) {
        ipc_conn_subscribe(conn, (const char *const *)sr->topics, sr->n_topics, NULL);
    }
    Mgate__Status st = MGATE__STATUS__INIT;
    st.pid = (uint32_t)id;
    ipc_conn_reply(conn, id, &st.base);
    if (sr)
        mgate__subscribe_request__free_unpacked(sr, NULL);
}

static int setup(void **state)
{
    static struct fixture fx;
    memset(&fx, 0, sizeof(fx));
    F = &fx;
    *state = F;
    uv_loop_init(&F->loop);
    uv_timer_init(&F->loop, &F->guard);
    uv_timer_init(&F->loop, &F->later);
    uv_timer_start(&F->guard, on_guard, 5000, 0);
    strcpy(F->dir, "/tmp/mgate-ipctest-XXXXXX");
    assert_non_null(mkdtemp(F->dir));
    snprintf(F->path, sizeof(F->path), "%s/s.sock", F->dir);
    ipc_acl_add_uid(&F->acl, getuid());
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (!F->done)
        stop_all();
    uv_run(&F->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&F->loop), 0);
    rmdir(F->dir);
    return 0;
}

static void start_server(void)
{
    static const struct ipc_server_ops ops = {.on_request = srv_on_request};
    struct ipc_server_cfg cfg = {
        .name = "test", .path = F->path, .acl = &F->acl, .max_frame = 65536, .topics = topics};
    assert_int_equal(ipc_server_start(&F->loop, &cfg, &ops, NULL, &F->srv), 0);
}

static void on_resp(struct ipc_client *cl, int status, const Mgate__Error *err,
                    const uint8_t *payload, size_t len, void *ud)
{
    (void)cl;
    (void)err;
    (void)ud;
    F->last_status = status;
    if (status == 0) {
        Mgate__Status *st = mgate__status__unpack(NULL, len, payload);
        assert_non_null(st);
        F->responses++;
        mgate__status__free_unpacked(st, NULL);
    } else {
        F->errors++;
    }
}

static void send_status(struct ipc_client *cl)
{
    Mgate__StatusRequest sr = MGATE__STATUS_REQUEST__INIT;
    assert_int_equal(ipc_client_request(cl, &sr.base, on_resp, NULL), 0);
}

static void cl_on_connect(struct ipc_client *cl, void *ud)
{
    (void)ud;
    F->connects++;
    if (cl == F->cl)
        send_status(cl);
}

static void cl_on_disconnect(struct ipc_client *cl, void *ud)
{
    (void)cl;
    (void)ud;
    F->disconnects++;
}

static void cl_on_event(struct ipc_client *cl, uint64_t seq, const uint8_t *p, size_t len, void *ud)
{
    (void)seq;
    (void)p;
    (void)len;
    (void)ud;
    if (cl == F->cl)
        F->events_cl++;
    else
        F->events_cl2++;
}

static const struct ipc_client_ops cl_ops = {
    .on_connect = cl_on_connect, .on_disconnect = cl_on_disconnect, .on_event = cl_on_event};

static void start_client(struct ipc_client **out, uint64_t timeout_ms)
{
    struct ipc_client_cfg cfg = {.name = "test",
                                 .path = F->path,
                                 .timeout_ms = timeout_ms,
                                 .backoff_min_ms = 20,
                                 .backoff_max_ms = 100};
    assert_int_equal(ipc_client_start(&F->loop, &cfg, &cl_ops, NULL, out), 0);
}

/* --- request / response ------------------------------------------------ */
static void check_one_response(uv_timer_t *t)
{
    (void)t;
    if (F->responses >= 1)
        stop_all();
}

static void test_request_response(void **state)
{
    (void)state;
    start_server();
    start_client(&F->cl, 1000);
    uv_timer_start(&F->later, check_one_response, 10, 10);
    uv_run(&F->loop, UV_RUN_DEFAULT);
    assert_int_equal(F->responses, 1);
    assert_int_equal(F->errors, 0);
}

/* --- events reach subscribers only --------------------------------------- */
static int publish_round;
static void publish_step(uv_timer_t *t)
{
    (void)t;
    if (F->connects < 2 || F->responses < 1)
        return;
    if (publish_round == 0) {
        /* cl2 subscribes to "devices" only; cl (via cl_on_connect's status
         * request) subscribed to nothing. */
        Mgate__SubscribeRequest sr = MGATE__SUBSCRIBE_REQUEST__INIT;
        char *names[] = {(char *)"devices"};
        sr.topics = names;
        sr.n_topics = 1;
        assert_int_equal(ipc_client_request(F->cl2, &sr.base, on_resp, NULL), 0);
        publish_round = 1;
        return;
    }
    if (publish_round == 1 && F->responses >= 2) {
        Mgate__Stopping ev = MGATE__STOPPING__INIT;
        assert_int_equal(ipc_server_publish(F->srv, "devices", &ev.base), 1);
        assert_int_equal(ipc_server_publish(F->srv, "lifecycle", &ev.base), 0);
        assert_int_equal(ipc_server_publish(F->srv, "nosuch", &ev.base), -ENOENT);
        publish_round = 2;
        return;
    }
    if (publish_round == 2 && F->events_cl2 == 1)
        stop_all();
}

static void test_events_to_subscribers(void **state)
{
    (void)state;
    publish_round = 0;
    start_server();
    start_client(&F->cl, 1000);
    start_client(&F->cl2, 1000);
    uv_timer_start(&F->later, publish_step, 10, 10);
    uv_run(&F->loop, UV_RUN_DEFAULT);
    assert_int_equal(F->events_cl2, 1);
    assert_int_equal(F->events_cl, 0);
    assert_int_equal(publish_round, 2);
}

/* --- a peer not in the ACL is cut off before any request is served ------- */
static void check_refused(uv_timer_t *t)
{
    (void)t;
    if (F->errors >= 1)
        stop_all();
}

static void test_acl_refusal(void **state)
{
    (void)state;
    memset(&F->acl, 0, sizeof(F->acl));
    ipc_acl_add_uid(&F->acl, getuid() + 12345);
    start_server();
    start_client(&F->cl, 1000);
    uv_timer_start(&F->later, check_refused, 10, 10);
    uv_run(&F->loop, UV_RUN_DEFAULT);
    assert_int_equal(F->responses, 0);
    assert_int_equal(F->errors, 1);
    assert_int_equal(F->last_status, -ECONNRESET);
}

/* --- the client waits for a server that is not there yet, and comes back
 *     after the server restarts --------------------------------------------- */
static int reconnect_phase;
static void reconnect_step(uv_timer_t *t)
{
    (void)t;
    switch (reconnect_phase) {
    case 0: /* the client is retrying against a missing socket */
        if (uv_now(&F->loop) > 150) {
            assert_int_equal(F->connects, 0);
            start_server();
            reconnect_phase = 1;
        }
        break;
    case 1:
        if (F->responses == 1) {
            ipc_server_close(F->srv);
            F->srv = NULL;
            reconnect_phase = 2;
        }
        break;
    case 2:
        if (F->disconnects == 1) {
            start_server();
            reconnect_phase = 3;
        }
        break;
    case 3:
        if (F->responses == 2)
            stop_all();
        break;
    }
}

static void test_reconnect(void **state)
{
    (void)state;
    reconnect_phase = 0;
    uv_update_time(&F->loop);
    start_client(&F->cl, 1000);
    uv_timer_start(&F->later, reconnect_step, 10, 10);
    uv_run(&F->loop, UV_RUN_DEFAULT);
    assert_int_equal(reconnect_phase, 3);
    assert_int_equal(F->connects, 2);
    assert_int_equal(F->responses, 2);
}

/* --- a server that does not answer: the request times out --------------- */
static void test_timeout(void **state)
{
    (void)state;
    F->silent = true;
    start_server();
    start_client(&F->cl, 200);
    uv_timer_start(&F->later, check_refused, 10, 10);
    uv_run(&F->loop, UV_RUN_DEFAULT);
    assert_int_equal(F->errors, 1);
    assert_int_equal(F->last_status, -ETIMEDOUT);
}

/* --- a second server on a live socket is refused; a stale one is replaced */
static void test_socket_claim(void **state)
{
    (void)state;
    start_server();
    struct ipc_server *second = NULL;
    static const struct ipc_server_ops ops = {.on_request = srv_on_request};
    struct ipc_server_cfg cfg = {.name = "test2", .path = F->path, .acl = &F->acl};
    assert_int_equal(ipc_server_start(&F->loop, &cfg, &ops, NULL, &second), -EADDRINUSE);
    stop_all();
}

int main(void)
{
    log_init("test_ipc", LOG_ERR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_request_response, setup, teardown),
        cmocka_unit_test_setup_teardown(test_events_to_subscribers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_acl_refusal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reconnect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_socket_claim, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

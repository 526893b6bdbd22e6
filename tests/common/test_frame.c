#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ipc_frame.h"

static void test_roundtrip_bytewise(void **state)
{
    (void)state;
    Mgate__Status st = MGATE__STATUS__INIT;
    st.service = (char *)"iked";
    st.pid = 4242;
    uint8_t *buf;
    size_t len;
    assert_int_equal(ipc_frame_encode(MGATE__FRAME_KIND__FRAME_RESPONSE, 77, &st.base, &buf, &len),
                     0);
    /* The 4-byte header carries the frame length, big-endian. */
    size_t flen = (size_t)buf[0] << 24 | (size_t)buf[1] << 16 | (size_t)buf[2] << 8 | buf[3];
    assert_int_equal(flen + 4, len);

    struct ipc_rxbuf rx;
    ipc_rxbuf_init(&rx, 1 << 20);
    Mgate__Frame *f = NULL;
    /* Partial reads: one byte at a time, the frame appears only at the end. */
    for (size_t i = 0; i < len; i++) {
        assert_int_equal(ipc_rxbuf_next(&rx, &f), 0);
        assert_int_equal(ipc_rxbuf_append(&rx, buf + i, 1), 0);
    }
    assert_int_equal(ipc_rxbuf_next(&rx, &f), 1);
    assert_int_equal(f->id, 77);
    assert_int_equal(f->kind, MGATE__FRAME_KIND__FRAME_RESPONSE);
    assert_int_equal(f->api_version, MGATE_API_VERSION);
    Mgate__Status *back = mgate__status__unpack(NULL, f->payload.len, f->payload.data);
    assert_non_null(back);
    assert_string_equal(back->service, "iked");
    assert_int_equal(back->pid, 4242);
    mgate__status__free_unpacked(back, NULL);
    mgate__frame__free_unpacked(f, NULL);
    assert_int_equal(rx.len, 0);
    ipc_rxbuf_free(&rx);
    free(buf);
}

static void test_two_frames_one_read(void **state)
{
    (void)state;
    uint8_t *a, *b;
    size_t la, lb;
    assert_int_equal(ipc_frame_encode(MGATE__FRAME_KIND__FRAME_EVENT, 1, NULL, &a, &la), 0);
    assert_int_equal(ipc_frame_encode(MGATE__FRAME_KIND__FRAME_EVENT, 2, NULL, &b, &lb), 0);
    struct ipc_rxbuf rx;
    ipc_rxbuf_init(&rx, 4096);
    assert_int_equal(ipc_rxbuf_append(&rx, a, la), 0);
    assert_int_equal(ipc_rxbuf_append(&rx, b, lb), 0);
    Mgate__Frame *f;
    assert_int_equal(ipc_rxbuf_next(&rx, &f), 1);
    assert_int_equal(f->id, 1);
    mgate__frame__free_unpacked(f, NULL);
    assert_int_equal(ipc_rxbuf_next(&rx, &f), 1);
    assert_int_equal(f->id, 2);
    mgate__frame__free_unpacked(f, NULL);
    assert_int_equal(ipc_rxbuf_next(&rx, &f), 0);
    ipc_rxbuf_free(&rx);
    free(a);
    free(b);
}

static void test_oversize(void **state)
{
    (void)state;
    struct ipc_rxbuf rx;
    ipc_rxbuf_init(&rx, 8192);
    /* Announces 8193 bytes: refused from the header alone, before buffering. */
    uint8_t hdr[4] = {0, 0, 0x20, 0x01};
    Mgate__Frame *f;
    assert_int_equal(ipc_rxbuf_append(&rx, hdr, 4), 0);
    assert_int_equal(ipc_rxbuf_next(&rx, &f), -EMSGSIZE);
    ipc_rxbuf_free(&rx);
}

static void test_invalid_protobuf_keeps_sync(void **state)
{
    (void)state;
    struct ipc_rxbuf rx;
    ipc_rxbuf_init(&rx, 8192);
    /* Field 1 with wire type 7 does not exist in protobuf. */
    uint8_t bad[] = {0, 0, 0, 3, 0x0f, 0xff, 0xff};
    uint8_t *good;
    size_t lgood;
    assert_int_equal(ipc_frame_encode(MGATE__FRAME_KIND__FRAME_REQUEST, 9, NULL, &good, &lgood), 0);
    assert_int_equal(ipc_rxbuf_append(&rx, bad, sizeof(bad)), 0);
    assert_int_equal(ipc_rxbuf_append(&rx, good, lgood), 0);
    Mgate__Frame *f;
    assert_int_equal(ipc_rxbuf_next(&rx, &f), -EBADMSG);
    assert_int_equal(ipc_rxbuf_next(&rx, &f), 1);
    assert_int_equal(f->id, 9);
    mgate__frame__free_unpacked(f, NULL);
    ipc_rxbuf_free(&rx);
    free(good);
}

static void test_max_frame_floor(void **state)
{
    (void)state;
    struct ipc_rxbuf rx;
    ipc_rxbuf_init(&rx, 10);
    assert_int_equal(rx.max_frame, IPC_MAX_FRAME_FLOOR);
    ipc_rxbuf_free(&rx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_bytewise),
        cmocka_unit_test(test_two_frames_one_read),
        cmocka_unit_test(test_oversize),
        cmocka_unit_test(test_invalid_protobuf_keeps_sync),
        cmocka_unit_test(test_max_frame_floor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

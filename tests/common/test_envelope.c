#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "envelope.h"
#include "iked.pb-c.h"
#include "wiped.pb-c.h"

/* The shared field numbers are a contract between common/ and every .proto:
 * a service whose envelope drifts would break Status for it alone. */
static void test_every_service_keeps_shared_numbers(void **state)
{
    (void)state;
    const ProtobufCMessageDescriptor *resp[] = {&mgate__iked_response__descriptor,
                                                &mgate__wiped_response__descriptor};
    for (size_t i = 0; i < 2; i++) {
        const ProtobufCFieldDescriptor *f;
        f = protobuf_c_message_descriptor_get_field(resp[i], ENV_RESP_STATUS);
        assert_non_null(f);
        assert_ptr_equal(f->descriptor, &mgate__status__descriptor);
        f = protobuf_c_message_descriptor_get_field(resp[i], ENV_RESP_ERROR);
        assert_non_null(f);
        assert_ptr_equal(f->descriptor, &mgate__error__descriptor);
    }
}

static void test_set_get_case(void **state)
{
    (void)state;
    Mgate__IkedRequest req;
    Mgate__StatusRequest sr = MGATE__STATUS_REQUEST__INIT;
    assert_int_equal(
        envelope_init_set(&mgate__iked_request__descriptor, &req, ENV_REQ_STATUS, &sr.base), 0);
    assert_int_equal(envelope_case(&req.base), ENV_REQ_STATUS);
    assert_ptr_equal(envelope_get(&req.base, ENV_REQ_STATUS), &sr.base);
    assert_null(envelope_get(&req.base, ENV_REQ_SUBSCRIBE));
    /* Packs and unpacks as the generated code sees it. */
    size_t n = mgate__iked_request__get_packed_size(&req);
    uint8_t *buf = malloc(n);
    mgate__iked_request__pack(&req, buf);
    Mgate__IkedRequest *back = mgate__iked_request__unpack(NULL, n, buf);
    assert_non_null(back);
    assert_int_equal(back->body_case, MGATE__IKED_REQUEST__BODY_STATUS);
    mgate__iked_request__free_unpacked(back, NULL);
    free(buf);
    /* A member of the wrong type is refused. */
    Mgate__Error e = MGATE__ERROR__INIT;
    assert_int_not_equal(envelope_set(&req.base, ENV_REQ_STATUS, &e.base), 0);
    assert_int_not_equal(envelope_set(&req.base, 999, &sr.base), 0);
}

static void test_error_field_outside_oneof(void **state)
{
    (void)state;
    Mgate__WipedResponse resp;
    Mgate__Error e = MGATE__ERROR__INIT;
    e.code = MGATE__ERROR_CODE__ERR_NOT_FOUND;
    assert_int_equal(
        envelope_init_set(&mgate__wiped_response__descriptor, &resp, ENV_RESP_ERROR, &e.base), 0);
    assert_ptr_equal(resp.error, &e);
    assert_int_equal(envelope_case(&resp.base), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_service_keeps_shared_numbers),
        cmocka_unit_test(test_set_get_case),
        cmocka_unit_test(test_error_field_outside_oneof),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

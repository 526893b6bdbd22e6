/* policyd's one-time passwords (salted hashes, constant-time verification)
 * and certificate serials (random, positive, unique). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ca.h"
#include "enroll.h"

static void test_otp_format(void **state)
{
    (void)state;
    char pw[OTP_BUF];
    assert_int_equal(otp_generate(pw), 0);
    assert_int_equal(strlen(pw), 19);
    for (size_t i = 0; i < 19; i++) {
        if (i % 5 == 4)
            assert_int_equal(pw[i], '-');
        else
            assert_non_null(strchr("ABCDEFGHJKLMNPQRSTUVWXYZ23456789", pw[i]));
    }
}

static void test_otp_verify(void **state)
{
    (void)state;
    char pw[OTP_BUF];
    struct reg_secret s;
    assert_int_equal(otp_generate(pw), 0);
    assert_int_equal(otp_new_secret(pw, 1234, &s), 0);
    assert_int_equal(s.expires, 1234);
    assert_false(s.used);
    /* Only a hash is kept: the password is nowhere in the secret. */
    assert_null(memmem(&s, sizeof(s), pw, 4));
    assert_true(otp_verify(pw, &s));
    /* As typed by a person: lower case, no dashes, spaces. */
    char typed[40];
    size_t n = 0;
    for (const char *c = pw; *c; c++)
        if (*c != '-')
            typed[n++] = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
    typed[n] = '\0';
    assert_true(otp_verify(typed, &s));
    char wrong[OTP_BUF];
    memcpy(wrong, pw, sizeof(wrong));
    wrong[0] = wrong[0] == 'A' ? 'B' : 'A';
    assert_false(otp_verify(wrong, &s));
    assert_false(otp_verify("", &s));
    s.hash[31] ^= 1;
    assert_false(otp_verify(pw, &s));
}

static void test_otp_salted(void **state)
{
    (void)state;
    struct reg_secret a, b;
    assert_int_equal(otp_new_secret("SAME-SAME-SAME-SAME", 0, &a), 0);
    assert_int_equal(otp_new_secret("SAME-SAME-SAME-SAME", 0, &b), 0);
    assert_memory_not_equal(a.salt, b.salt, sizeof(a.salt));
    assert_memory_not_equal(a.hash, b.hash, sizeof(a.hash));
    assert_true(otp_verify("SAME-SAME-SAME-SAME", &b));
}

static int cmp_serial(const void *a, const void *b)
{
    return memcmp(a, b, 16);
}

static void test_serials_unique(void **state)
{
    (void)state;
    enum { N = 20000 };
    unsigned char(*s)[16] = malloc(N * 16);
    char hex[CA_SERIAL_HEX];
    assert_non_null(s);
    for (size_t i = 0; i < N; i++) {
        assert_int_equal(ca_random_serial(s[i], hex), 0);
        assert_true(s[i][0] != 0 && s[i][0] < 0x80); /* positive, 16 bytes */
        assert_int_equal(strlen(hex), 32);
    }
    qsort(s, N, 16, cmp_serial);
    for (size_t i = 1; i < N; i++)
        assert_int_not_equal(memcmp(s[i - 1], s[i], 16), 0);
    free(s);
}

static void test_csr_garbage(void **state)
{
    (void)state;
    char why[CA_ERR];
    assert_null(ca_csr_check("not a csr", why));
    assert_non_null(strstr(why, "not a PEM certificate request"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_otp_format),  cmocka_unit_test(test_otp_verify),
        cmocka_unit_test(test_otp_salted),  cmocka_unit_test(test_serials_unique),
        cmocka_unit_test(test_csr_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "conf.h"
#include "mgate_conf.h"

struct sample {
    char *name;
    char *path;
    uint64_t count;
    bool flag;
    struct conf_list words;
    int level;
    uint64_t timeout;
    uint64_t size;
};

#define S(m) offsetof(struct sample, m)
static const struct conf_key sample_schema[] = {
    {"name", CONF_STRING, S(name), "dflt", 0, 0, NULL},
    {"path", CONF_PATH, S(path), "/x", 0, 0, NULL},
    {"count", CONF_UINT, S(count), "5", 1, 100, NULL},
    {"flag", CONF_BOOL, S(flag), "no", 0, 0, NULL},
    {"words", CONF_LIST, S(words), "a b", 0, 0, NULL},
    {"level", CONF_LOGLEVEL, S(level), "info", 0, 0, NULL},
    {"timeout", CONF_DURATION, S(timeout), "30s", 0, UINT64_MAX, NULL},
    {"size", CONF_SIZE, S(size), "1M", 0, UINT64_MAX, NULL},
    {NULL, 0, 0, NULL, 0, 0, NULL},
};

static int bind_text(const char *text, struct sample *out, struct conf_error *err)
{
    struct conf_file cf;
    memset(out, 0, sizeof(*out));
    int rc = conf_file_parse("t.conf", text, &cf, err);
    if (rc)
        return rc;
    rc = conf_bind(&cf, "iked", sample_schema, out, false, err);
    conf_file_free(&cf);
    return rc;
}

static void test_defaults(void **state)
{
    (void)state;
    struct sample s;
    struct conf_error err = {{0}};
    assert_int_equal(bind_text("", &s, &err), 0);
    assert_string_equal(s.name, "dflt");
    assert_int_equal(s.count, 5);
    assert_false(s.flag);
    assert_int_equal(s.words.n, 2);
    assert_string_equal(s.words.v[1], "b");
    assert_int_equal(s.timeout, 30000);
    assert_int_equal(s.size, 1u << 20);
    conf_unbind(sample_schema, &s);
}

static void test_values(void **state)
{
    (void)state;
    struct sample s;
    struct conf_error err = {{0}};
    const char *text = "# comment\n"
                       "[global]\nlog_level = debug\n\n"
                       "[iked]\n"
                       "name = \"with space\"\n"
                       "path = /etc/mgate/x.pem\n"
                       "count = 0x10\n"
                       "flag = yes\n"
                       "words = one, two three\n"
                       "level = warning\n"
                       "timeout = 250ms\n"
                       "size = 64K\n";
    assert_int_equal(bind_text(text, &s, &err), 0);
    assert_string_equal(s.name, "with space");
    assert_string_equal(s.path, "/etc/mgate/x.pem");
    assert_int_equal(s.count, 16);
    assert_true(s.flag);
    assert_int_equal(s.words.n, 3);
    assert_string_equal(s.words.v[2], "three");
    assert_int_equal(s.level, 4);
    assert_int_equal(s.timeout, 250);
    assert_int_equal(s.size, 65536);
    conf_unbind(sample_schema, &s);
}

/* Each bad file must fail with the right line and a reason naming the key. */
static void expect_error(const char *text, const char *needle)
{
    struct sample s;
    struct conf_error err = {{0}};
    assert_int_not_equal(bind_text(text, &s, &err), 0);
    if (!strstr(err.msg, needle))
        fail_msg("error '%s' does not contain '%s'", err.msg, needle);
    conf_unbind(sample_schema, &s);
}

static void test_errors(void **state)
{
    (void)state;
    expect_error("[iked]\nbogus = 1\n", "t.conf:2: unknown key 'bogus' in [iked]");
    expect_error("[nosuch]\n", "t.conf:1: unknown section [nosuch]");
    expect_error("[iked]\ncount = 101\n", "t.conf:2: count: 101 is out of range [1, 100]");
    expect_error("[iked]\ncount = 0\n", "out of range");
    expect_error("[iked]\ncount = ten\n", "t.conf:2: count: 'ten' is not a number");
    expect_error("[iked]\ncount = -1\n", "is not a number");
    expect_error("[iked]\nflag = maybe\n", "flag: 'maybe' is not yes/no");
    expect_error("[iked]\npath = relative/x\n", "is not an absolute path");
    expect_error("[iked]\nlevel = loud\n", "is not a log level");
    expect_error("[iked]\ntimeout = 5 parsecs\n", "is not a duration");
    expect_error("[iked]\nsize = 1T\n", "is not a size");
    expect_error("[iked]\nname = a\nname = b\n", "t.conf:3: 'name' already set on line 2");
    expect_error("[iked]\n[iked]\n", "t.conf:2: section [iked] appears twice");
    expect_error("name = x\n", "t.conf:1: 'name' is outside any [section]");
    expect_error("[iked]\njust words\n", "t.conf:2: expected 'key = value'");
    expect_error("[iked\n", "malformed section header");
}

static void test_parsers(void **state)
{
    (void)state;
    uint64_t v;
    bool b;
    assert_int_equal(conf_parse_duration("2h", &v), 0);
    assert_int_equal(v, 7200000);
    assert_int_equal(conf_parse_duration("10", &v), 0);
    assert_int_equal(v, 10000);
    assert_int_not_equal(conf_parse_duration("", &v), 0);
    assert_int_not_equal(conf_parse_duration("99999999999999999999d", &v), 0);
    assert_int_equal(conf_parse_size("2G", &v), 0);
    assert_int_equal(v, 2ull << 30);
    assert_int_equal(conf_parse_bool("Off", &b), 0);
    assert_false(b);
}

static void test_global_and_missing_file(void **state)
{
    (void)state;
    struct conf_file cf;
    struct mgate_global_conf g;
    struct conf_error err = {{0}};
    /* The default path may be absent: the lab runs on defaults. */
    assert_int_equal(mgate_conf_load("/nonexistent/mgate.conf", false, &cf, &g, &err), 0);
    assert_null(cf.path);
    assert_non_null(g.run_dir);
    assert_int_equal(g.max_frame, 1u << 20);
    mgate_conf_free(&cf, &g);
    /* A file named on the command line must exist. */
    assert_int_not_equal(mgate_conf_load("/nonexistent/mgate.conf", true, &cf, &g, &err), 0);
    assert_non_null(strstr(err.msg, "cannot open"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_parsers),
        cmocka_unit_test(test_global_and_missing_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

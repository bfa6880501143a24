/* test_jsonw.c - the JSON text writer of the hot responses (core/jsonw.h). Its output
 * must be exactly what jansson's compact dump gives for the same value, so every string
 * row is checked against jansson itself, and invalid UTF-8 must fail the whole answer
 * rather than leave the server as text that is not JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "core/alloc.h"
#include "core/jsonw.h"
#include "core/time.h"

struct str_row {
    const char *why;
    const char *in;
    bool valid; /* valid UTF-8: jansson's compact dump is the expected text */
};

static const struct str_row str_rows[] = {
    {"plain ASCII", "Lægehuset Vest", true},
    {"empty", "", true},
    {"quote and backslash", "a\"b\\c", true},
    {"short escapes", "\b\f\n\r\t", true},
    {"other control characters as \\u00XX", "\x01\x1f\x7f", true},
    {"slash is not escaped", "http://x/y", true},
    {"2, 3 and 4 byte UTF-8 kept as is", "\xc3\xa6\xe2\x82\xac\xf0\x9f\x98\x80", true},
    {"lone continuation byte", "a\x80", false},
    {"truncated sequence at the end", "a\xc3", false},
    {"overlong form of '/'", "\xc0\xaf", false},
    {"UTF-16 surrogate", "\xed\xa0\x80", false},
    {"past U+10FFFF", "\xf4\x90\x80\x80", false},
};

static void strings_match_jansson(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof str_rows / sizeof str_rows[0]; i++) {
        const struct str_row *r = &str_rows[i];
        ob_jw w = {0};
        ob_jw_lit(&w, "[");
        ob_jw_str(&w, r->in);
        ob_jw_lit(&w, "]");
        size_t len;
        char *got = ob_jw_take(&w, &len);
        if (!r->valid) {
            if (got)
                fail_msg("%s: invalid UTF-8 was written: %s", r->why, got);
            continue;
        }
        json_t *a = json_pack("[s]", r->in);
        char *want = json_dumps(a, JSON_COMPACT);
        if (!got || strcmp(got, want) != 0 || len != strlen(want))
            fail_msg("%s: got %s, jansson %s", r->why, got ? got : "(failed)", want);
        free(want);
        json_decref(a);
        ob_free(got);
    }
}

static void numbers_and_instants(void **state)
{
    (void)state;
    static const int64_t ints[] = {0, 7, -7, 1234567890123LL, INT64_MAX, INT64_MIN};
    static const int64_t times[] = {0, 951782400 /* 29 Feb 2000 */, 1767225599, -1,
                                    253402300799 /* 9999-12-31T23:59:59Z */};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        ob_jw w = {0};
        ob_jw_int(&w, ints[i]);
        char *got = ob_jw_take(&w, NULL);
        json_t *a = json_integer(ints[i]);
        char *want = json_dumps(a, JSON_COMPACT | JSON_ENCODE_ANY);
        assert_string_equal(got, want);
        free(want);
        json_decref(a);
        ob_free(got);
    }
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
        ob_jw w = {0};
        ob_jw_instant(&w, times[i]);
        char *got = ob_jw_take(&w, NULL);
        char buf[32], want[40];
        ob_time_format(times[i], buf);
        snprintf(want, sizeof want, "\"%s\"", buf);
        assert_string_equal(got, want);
        ob_free(got);
    }
    ob_jw w = {0};
    ob_jw_bool(&w, true);
    ob_jw_lit(&w, ",");
    ob_jw_bool(&w, false);
    ob_jw_lit(&w, ",");
    ob_jw_str2(&w, "Patient/", "pt-\"1");
    char *got = ob_jw_take(&w, NULL);
    assert_string_equal(got, "true,false,\"Patient/pt-\\\"1\"");
    ob_free(got);
}

/* A large document grows the buffer many times; an allocation failure on the way gives
 * NULL, never a truncated text. */
static void growth_and_allocation_failure(void **state)
{
    (void)state;
    ob_jw w = {0};
    for (int i = 0; i < 100000; i++)
        ob_jw_str(&w, "abcdefghij");
    size_t len;
    char *got = ob_jw_take(&w, &len);
    assert_non_null(got);
    assert_int_equal(len, 100000 * 12);
    ob_free(got);
    for (long after = 0; after < 12; after++) {
        ob_jw f = {0};
        ob_alloc_fail_after(after);
        for (int i = 0; i < 100000; i++)
            ob_jw_str(&f, "abcdefghij");
        char *t = ob_jw_take(&f, &len);
        ob_alloc_fail_after(-1);
        if (t) { /* only possible when every growth happened before the failure point */
            assert_int_equal(len, 100000 * 12);
            ob_free(t);
        } else {
            assert_int_equal(len, 0);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(strings_match_jansson),
        cmocka_unit_test(numbers_and_instants),
        cmocka_unit_test(growth_and_allocation_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

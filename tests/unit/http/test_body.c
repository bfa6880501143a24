/* test_body.c - the transport's input handling without a socket (R-API-5, R-CPR-2):
 * the nesting-depth scan (strings and escapes do not count), JSON parse errors that
 * give a position but never the input, form decoding (percent escapes, '+', empty
 * fields, caps), the access log's path masking of CPR-like digit runs, and content
 * negotiation (Accept, _format). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http/server.h"

static char *nest(int depth, const char *open, const char *close_)
{
    size_t n = (size_t)depth * (strlen(open) + strlen(close_)) + 1;
    char *s = malloc(n);
    size_t k = 0;
    for (int i = 0; i < depth; i++)
        for (const char *p = open; *p; p++)
            s[k++] = *p;
    for (int i = 0; i < depth; i++)
        for (const char *p = close_; *p; p++)
            s[k++] = *p;
    s[k] = '\0';
    return s;
}

static void test_depth(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        int max;
        bool ok;
    } rows[] = {
        {"{}", 1, true},
        {"{\"a\":[]}", 1, false},
        {"{\"a\":[]}", 2, true},
        {"{\"a\":\"[[[[[[[[\"}", 1, true},         /* brackets in strings do not count */
        {"{\"a\":\"\\\"[[[[\"}", 1, true},         /* nor after an escaped quote */
        {"{\"a\":\"\\\\\",\"b\":[[]]}", 2, false}, /* an escaped backslash ends the escape */
        {"]]]]{}", 1, true},                       /* stray closers never make room */
        {"", 1, true},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        if (ob_http_json_depth_ok(rows[i].json, strlen(rows[i].json), rows[i].max) != rows[i].ok)
            fail_msg("depth row %zu", i);
    char *at = nest(OB_HTTP_MAX_DEPTH, "[", "]"), *over = nest(OB_HTTP_MAX_DEPTH + 1, "[", "]");
    assert_true(ob_http_json_depth_ok(at, strlen(at), OB_HTTP_MAX_DEPTH));
    assert_false(ob_http_json_depth_ok(over, strlen(over), OB_HTTP_MAX_DEPTH));
    json_t *j = NULL;
    ob_err e = {0};
    assert_int_equal(ob_http_json_parse(over, strlen(over), &j, &e), OB_ELIMIT);
    assert_null(j);
    assert_non_null(strstr(e.msg, "deeper than 64"));
    free(at);
    free(over);
    char *deep = nest(100000, "{\"a\":", "}");
    assert_int_equal(ob_http_json_parse(deep, strlen(deep), &j, &e), OB_ELIMIT);
    free(deep);
}

static void test_parse(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        ob_status rc;
    } rows[] = {
        {"{\"resourceType\":\"Patient\"}", OB_OK},
        {"{\"cpr\": 0101901234", OB_EINVAL},
        {"{\"a\":1,\"a\":2}", OB_EINVAL}, /* duplicate keys */
        {"[1,2]", OB_EINVAL},             /* not a resource */
        {"\"0101901234\"", OB_EINVAL},
        {"{\"x\":\"0101901234\" \"y\"}", OB_EINVAL},
        {"", OB_EINVAL},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        json_t *j = NULL;
        ob_err e = {0};
        ob_status st = ob_http_json_parse(rows[i].json, strlen(rows[i].json), &j, &e);
        if (st != rows[i].rc)
            fail_msg("parse row %zu: %d %s", i, st, e.msg);
        if (st == OB_OK) {
            assert_true(json_is_object(j));
            json_decref(j);
        } else {
            assert_null(j);
            /* R-CPR-2: the message never quotes the input */
            assert_null(strstr(e.msg, "0101901234"));
            assert_null(strstr(e.msg, "near"));
        }
    }
}

static void test_form(void **state)
{
    (void)state;
    ob_http_form f;
    ob_err e = {0};
    const char *body = "patient=Patient%2Fpt-0&name=J%C3%B8rgen+Hansen&&flag&empty=&_count=5";
    assert_int_equal(ob_http_form_decode(body, strlen(body), true, &f, &e), OB_OK);
    static const char *const want[][2] = {{"patient", "Patient/pt-0"},
                                          {"name", "Jørgen Hansen"},
                                          {"flag", ""},
                                          {"empty", ""},
                                          {"_count", "5"}};
    assert_int_equal(f.n, 5);
    for (size_t i = 0; i < f.n; i++) {
        assert_string_equal(f.params[i].name, want[i][0]);
        assert_string_equal(f.params[i].value, want[i][1]);
        assert_true(f.params[i].from_body);
    }
    ob_http_form_release(&f);
    static const char *const bad[] = {"a=%zz", "a=%4", "=x", "a%00=1", "a=b%00c"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (ob_http_form_decode(bad[i], strlen(bad[i]), true, &f, &e) == OB_OK)
            fail_msg("bad form %zu accepted", i);
    size_t n = 2 * (OB_HTTP_MAX_PARAMS + 1);
    char *many = malloc(n + 1);
    for (size_t i = 0; i < n; i += 2) {
        many[i] = 'a';
        many[i + 1] = '&';
    }
    many[n] = '\0';
    assert_int_equal(ob_http_form_decode(many, n, true, &f, &e), OB_ELIMIT);
    free(many);
    assert_int_equal(ob_http_form_decode("", 0, true, &f, &e), OB_OK);
    assert_int_equal(f.n, 0);
    ob_http_form_release(&f);
}

static void test_log_path(void **state)
{
    (void)state;
    static const char *const rows[][2] = {
        {"/fhir/Patient/pt-0", "/fhir/Patient/pt-0"},
        {"/fhir/Patient/0101901234", "/fhir/Patient/**********"},
        {"/fhir/Patient/010190-1234/x", "/fhir/Patient/******-****/x"},
        {"/fhir/x/123456789012", "/fhir/x/************"},
        {"/fhir/Appointment/123456", "/fhir/Appointment/123456"},
        {"/a\nb", "/a?b"},
    };
    char out[64];
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        ob_http_log_path(rows[i][0], out, sizeof out);
        assert_string_equal(out, rows[i][1]);
    }
    char small[12];
    ob_http_log_path("/fhir/Patient/0101901234", small, sizeof small);
    assert_int_equal(strlen(small), sizeof small - 1);
    assert_null(strstr(small, "0101"));
}

/* Content negotiation (R-API-1: ordinary FHIR clients): one row per Accept header or
 * _format value; overblik answers FHIR JSON and says 406 to anything that excludes it. */
static void test_negotiation(void **state)
{
    (void)state;
    static const struct {
        const char *accept;
        bool ok;
    } accept[] = {
        {NULL, true},
        {"", true},
        {"application/fhir+json", true},
        {"application/fhir+json; fhirVersion=4.0", true},
        {"application/fhir+json; fhirVersion=\"4.0.1\"", true},
        /* issue 25: another FHIR version is a 406, not R4 */
        {"application/fhir+json; fhirVersion=3.0", false},
        {"application/fhir+json;fhirVersion=5.0, application/json;q=0.1;fhirVersion=4.0", true},
        {"Application/FHIR+JSON", true},
        {"application/json", true},
        {"application/json+fhir", true},
        {"*/*", true},
        {"application/*", true},
        {"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", true}, /* a browser */
        {"application/fhir+xml", false},
        {"application/fhir+xml, application/xml;q=0.9", false},
        {"text/turtle", false},
        {"text/*", false},
        {"application/fhir+json;q=0", false},
        {"application/fhir+json; q=0.000, application/xml", false},
        {"application/fhir+json;q=0.1", true},
        {"application/xml, application/fhir+json;q=0.5", true},
        {"*/*;q=0", false},
        {" , ", true},
    };
    for (size_t i = 0; i < sizeof accept / sizeof accept[0]; i++)
        if (ob_http_accepts_json(accept[i].accept) != accept[i].ok)
            fail_msg("Accept: %s: wanted %d", accept[i].accept ? accept[i].accept : "(none)",
                     accept[i].ok);
    static const struct {
        const char *format;
        bool ok;
    } format[] = {
        {NULL, true},
        {"json", true},
        {"application/fhir+json", true},
        {"application/fhir+json;fhirVersion=4.0", true},
        {"application/json", true},
        {"xml", false},
        {"application/fhir+xml", false},
        {"ttl", false},
        {"", false},
        {"*/*", false},
    };
    for (size_t i = 0; i < sizeof format / sizeof format[0]; i++)
        if (ob_http_format_json(format[i].format) != format[i].ok)
            fail_msg("_format=%s: wanted %d", format[i].format ? format[i].format : "(none)",
                     format[i].ok);
}

/* Prefer: handling=lenient on a search (FHIR search.html#errors): unknown parameters are
 * ignored, not refused. One row per header; the first handling= counts. */
static void test_prefer_handling(void **state)
{
    (void)state;
    static const struct {
        const char *prefer;
        bool lenient;
    } rows[] = {
        {NULL, false},
        {"", false},
        {"handling=strict", false},
        {"handling=lenient", true},
        {"Handling=Lenient", true},
        {"handling=\"lenient\"", true},
        {"return=minimal, handling=lenient", true},
        {"handling=lenient; x=1", true},
        {"handling=strict, handling=lenient", false}, /* the first counts */
        {"handling=lenientx", false},
        {"handling=", false},
        {"handlinglenient", false},
        {"xhandling=lenient", false},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        if (ob_http_prefer_lenient(rows[i].prefer) != rows[i].lenient)
            fail_msg("Prefer: %s: wanted %d", rows[i].prefer ? rows[i].prefer : "(none)",
                     (int)rows[i].lenient);
}

/* Prefer: return=... on a write (FHIR http.html#ops, RFC 7240): one row per header. */
static void test_prefer(void **state)
{
    (void)state;
    static const struct {
        const char *prefer;
        ob_http_prefer want;
    } rows[] = {
        {NULL, OB_PREFER_RESOURCE},
        {"", OB_PREFER_RESOURCE},
        {"return=representation", OB_PREFER_RESOURCE},
        {"return=minimal", OB_PREFER_MINIMAL},
        {"Return=Minimal", OB_PREFER_MINIMAL},
        {"return=\"minimal\"", OB_PREFER_MINIMAL},
        {" handling=strict , return=minimal", OB_PREFER_MINIMAL},
        {"return=minimal; foo=bar", OB_PREFER_MINIMAL},
        {"return=OperationOutcome", OB_PREFER_OUTCOME},
        {"return=representation, return=minimal", OB_PREFER_RESOURCE}, /* the first counts */
        {"return=minimalist", OB_PREFER_RESOURCE},
        {"return=", OB_PREFER_RESOURCE},
        {"respond-async", OB_PREFER_RESOURCE},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        if (ob_http_prefer_return(rows[i].prefer) != rows[i].want)
            fail_msg("Prefer: %s: wanted %d", rows[i].prefer ? rows[i].prefer : "(none)",
                     (int)rows[i].want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_form),
        cmocka_unit_test(test_log_path),
        cmocka_unit_test(test_negotiation),
        cmocka_unit_test(test_prefer),
        cmocka_unit_test(test_prefer_handling),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_purposes.c - every purpose `decide` and the API accept is documented, and only those
 * (issue 20 section 3): docs/cli.md's purpose table against ob_purpose_code and
 * ob_purpose_alias, row by row; and a value the table does not list is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "policy/policy.h"

/* The purpose table's rows: "| CODE | ALIAS (note), ALIAS | ... |". */
static char *read_doc(void)
{
    const char *src = getenv("OB_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/docs/cli.md", src ? src : ".");
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[1 << 17];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    return buf;
}

/* Copies the next word of upper-case letters from *p into w; 0 at the end of the cell. */
static int next_word(const char **p, const char *end, char *w, size_t cap)
{
    const char *s = *p;
    while (s < end && !(*s >= 'A' && *s <= 'Z')) {
        if (*s == '(') /* a note such as (OIO-IDWS) */
            while (s < end && *s != ')')
                s++;
        s++;
    }
    size_t k = 0;
    while (s < end && ((*s >= 'A' && *s <= 'Z') || *s == '-') && k + 1 < cap)
        w[k++] = *s++;
    w[k] = 0;
    *p = s;
    return k > 0;
}

static void test_table_is_the_code(void **state)
{
    (void)state;
    const char *doc = read_doc();
    const char *t = strstr(doc, "| purpose | also accepted as | for |");
    assert_non_null(t);
    t = strchr(t, '\n') + 1;
    t = strchr(t, '\n') + 1; /* the |---| row */
    int seen[OB_PURPOSE_COUNT] = {0};
    size_t aliases = 0;
    while (*t == '|') {
        const char *eol = strchr(t, '\n');
        const char *c1 = t + 1, *c2 = strchr(c1, '|') + 1, *c3 = strchr(c2, '|');
        char w[64];
        const char *p = c1;
        assert_true(next_word(&p, c2 - 1, w, sizeof w));
        int code = ob_purpose_parse(w);
        assert_true(code >= 0);
        assert_string_equal(ob_purpose_code((ob_purpose)code), w); /* the code, not an alias */
        seen[code]++;
        p = c2;
        while (next_word(&p, c3, w, sizeof w)) {
            ob_purpose q;
            int found = 0;
            for (size_t i = 0; ob_purpose_alias(i, &q); i++)
                found |= !strcmp(ob_purpose_alias(i, &q), w) && (int)q == code;
            if (!found)
                print_message("documented alias %s of %s is not the code's\n", w,
                              ob_purpose_code((ob_purpose)code));
            assert_true(found);
            aliases++;
        }
        t = eol + 1;
    }
    for (int i = 0; i < OB_PURPOSE_COUNT; i++)
        assert_int_equal(seen[i], 1);
    size_t n = 0;
    ob_purpose q;
    while (ob_purpose_alias(n, &q))
        n++;
    assert_int_equal(aliases, n); /* every alias the code accepts is in the table */
}

static void test_others_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {"", "treat", "TREAT ", "CARE", "ADMIN", "HMARKT", "ALL"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(ob_purpose_parse(bad[i]), -1);
    assert_int_equal(ob_purpose_parse(NULL), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_is_the_code),
        cmocka_unit_test(test_others_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

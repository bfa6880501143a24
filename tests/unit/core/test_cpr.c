/* test_cpr.c - R-CPR-1: CPR validation with the century table, real edge cases.
 * One row per case: input, expected validity, expected birth year. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/cpr.h"

struct row {
    const char *why;
    const char *cpr;
    int valid;
    int year;
};

static const struct row rows[] = {
    /* R-CPR-1: both forms */
    {"hyphenated form", "010190-1234", 1, 1990},
    {"compact form", "0101901234", 1, 1990},
    /* R-CPR-1: the 7th digit decides the century */
    {"7th digit 0..3 is 1900s", "0101003999", 1, 1900},
    {"7th digit 4, yy<=36 is 2000s", "0101364000", 1, 2036},
    {"7th digit 4, yy>=37 is 1900s", "0101374000", 1, 1937},
    {"7th digit 5, yy<=57 is 2000s", "0101575000", 1, 2057},
    {"7th digit 5, yy>=58 is 1800s", "0101585000", 1, 1858},
    {"7th digit 8, yy=99 is 1899", "3112998000", 1, 1899},
    {"7th digit 9, yy<=36 is 2000s", "0101369000", 1, 2036},
    {"7th digit 9, yy>=37 is 1900s", "0101379000", 1, 1937},
    /* R-CPR-1: 29 February exists only in leap years; 1900 is not one, 2000 is */
    {"29 Feb 2000 (7th digit 4)", "2902004001", 1, 2000},
    {"29 Feb 1900 (7th digit 0) does not exist", "2902000001", 0, 0},
    {"29 Feb 1996", "2902961001", 1, 1996},
    {"29 Feb 1997 does not exist", "2902971001", 0, 0},
    {"29 Feb 1860 (7th digit 6)", "2902606001", 1, 1860},
    /* R-CPR-1: modulus 11 is not required (numbers without it are issued since 2007) */
    {"fails modulus 11 but valid", "0101901235", 1, 1990},
    {"fails modulus 11, 2000s", "1505104321", 1, 2010},
    /* R-CPR-1: anything else is rejected */
    {"day 32", "3201901234", 0, 0},
    {"day 00", "0001901234", 0, 0},
    {"month 13", "0113901234", 0, 0},
    {"31 April", "3104901234", 0, 0},
    {"too short", "010190123", 0, 0},
    {"too long", "01019012345", 0, 0},
    {"letters", "01019O1234", 0, 0},
    {"wrong separator", "010190/1234", 0, 0},
    {"hyphen in wrong place", "01019-01234", 0, 0},
    {"empty", "", 0, 0},
    {"spaces", "010190 1234", 0, 0},
};

static void test_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        ob_cpr c;
        ob_err e = {0};
        ob_status st = ob_cpr_parse(rows[i].cpr, strlen(rows[i].cpr), &c, &e);
        if ((st == OB_OK) != rows[i].valid)
            fail_msg("row %zu (%s): expected %s", i, rows[i].why,
                     rows[i].valid ? "valid" : "invalid");
        if (rows[i].valid)
            assert_int_equal(c.year, rows[i].year);
        else
            assert_true(e.msg[0] != '\0');
    }
}

/* R-CPR-2: error messages never echo the number */
static void test_errors_do_not_echo(void **state)
{
    (void)state;
    const char *bad[] = {"3201901234", "2902000001", "01019O1234", "010190/1234"};
    for (size_t i = 0; i < 4; i++) {
        ob_err e = {0};
        assert_int_not_equal(ob_cpr_parse(bad[i], strlen(bad[i]), NULL, &e), OB_OK);
        assert_null(strstr(e.msg, "0190"));
        assert_null(strstr(e.msg, "1234"));
        assert_null(strstr(e.msg, "0200"));
    }
}

/* R-CPR-2: finding a CPR number inside text (a URL, a message); one row per case. */
static void test_in_text(void **state)
{
    (void)state;
    const struct {
        const char *why, *text;
        bool found;
    } cases[] = {
        {"bare", "0101901234", true},
        {"with the hyphen", "010190-1234", true},
        {"inside a path", "/Patient/0101901234/$overview", true},
        {"inside a message", "no such id '0101901234'", true},
        {"part of a longer digit run", "00101901234", false},
        {"eleven digits", "01019012345", false},
        {"a date that does not exist", "3201901234", false},
        {"nine digits", "010190123", false},
        {"a hyphen in the wrong place", "01019-01234", false},
        {"none", "Appointment/apt-42", false},
        {"empty", "", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (ob_cpr_in_text(cases[i].text) != cases[i].found)
            fail_msg("%s: want %d", cases[i].why, cases[i].found);
    assert_false(ob_cpr_in_text(NULL));
}

/* ob_cpr_make produces parseable numbers across all centuries */
static void test_make_roundtrip(void **state)
{
    (void)state;
    int years[] = {1858, 1899, 1900, 1936, 1937, 1999, 2000, 2024, 2036, 2057};
    for (size_t i = 0; i < sizeof years / sizeof years[0]; i++) {
        for (int serial = 0; serial < 1000; serial += 37) {
            ob_cpr c;
            ob_status st = ob_cpr_make(years[i], 2, 28, serial, serial & 1, &c);
            if (st != OB_OK)
                continue; /* not every serial fits every century */
            assert_int_equal(c.year, years[i]);
            assert_int_equal(c.female, serial & 1);
        }
        ob_cpr c;
        int ok = 0;
        for (int serial = 0; serial < 1000 && !ok; serial++)
            ok = ob_cpr_make(years[i], 6, 15, serial, 0, &c) == OB_OK;
        assert_true(ok);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_errors_do_not_echo),
        cmocka_unit_test(test_make_roundtrip),
        cmocka_unit_test(test_in_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

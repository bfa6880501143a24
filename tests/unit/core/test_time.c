/* test_time.c - core/time.h: strict ISO 8601 parsing, and what a date alone means at each end
 * of a period (R-BLK-1c, R-CON-1: block and consent periods; FHIR R4 Period.end includes any
 * matching date/time). One row per input: the instant as a start, the instant as an end, and
 * whether the end reads back as a date. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/time.h"

#define REFUSED "-" /* the input is not a time */

struct row {
    const char *why;
    const char *in;
    const char *as_start; /* ob_time_format of ob_time_parse, or REFUSED */
    const char *as_end;   /* ob_time_format of ob_time_parse_end */
    bool day_end;         /* ob_time_is_day_end of the end */
};

static const struct row rows[] = {
    {"R-BLK-1c a date starts at midnight and ends at its last second", "2027-12-31",
     "2027-12-31T00:00:00Z", "2027-12-31T23:59:59Z", true},
    {"R-CON-1 a leap day ends at its own last second", "2028-02-29", "2028-02-29T00:00:00Z",
     "2028-02-29T23:59:59Z", true},
    {"R-BLK-1c a time is the same instant at either end", "2027-12-31T10:30:00Z",
     "2027-12-31T10:30:00Z", "2027-12-31T10:30:00Z", false},
    {"R-BLK-1c midnight written out is not the whole day", "2027-12-31T00:00:00Z",
     "2027-12-31T00:00:00Z", "2027-12-31T00:00:00Z", false},
    {"R-BLK-1c a last second written out reads back as a date", "2027-12-31T23:59:59Z",
     "2027-12-31T23:59:59Z", "2027-12-31T23:59:59Z", true},
    {"R-BLK-1c an offset is applied, not the day end", "2027-12-31T23:59:59+01:00",
     "2027-12-31T22:59:59Z", "2027-12-31T22:59:59Z", false},
    {"R-BLK-1c minutes without seconds", "2027-12-31T08:15", "2027-12-31T08:15:00Z",
     "2027-12-31T08:15:00Z", false},
    {"R-BLK-1c fractions of a second are dropped", "2027-12-31T08:15:30.250Z",
     "2027-12-31T08:15:30Z", "2027-12-31T08:15:30Z", false},
    {"before the epoch", "1969-12-31", "1969-12-31T00:00:00Z", "1969-12-31T23:59:59Z", true},
    {"R-API-5 a day that does not exist", "2027-02-29", REFUSED, REFUSED, false},
    {"R-API-5 a month alone is not a date here", "2027-12", REFUSED, REFUSED, false},
    {"R-API-5 a year alone is not a date here", "2027", REFUSED, REFUSED, false},
    {"R-API-5 trailing text", "2027-12-31x", REFUSED, REFUSED, false},
    {"R-API-5 an hour past 23", "2027-12-31T24:00:00Z", REFUSED, REFUSED, false},
    {"R-API-5 a CPR where a date goes", "010190-1234", REFUSED, REFUSED, false},
    {"R-API-5 empty", "", REFUSED, REFUSED, false},
};

typedef ob_status (*parser)(const char *, ob_time *, ob_err *);

static void check(const char *why, const char *in, parser parse, const char *want, ob_time *got)
{
    ob_err e = {0};
    char buf[32];
    ob_status rc = parse(in, got, &e);
    if (strcmp(want, REFUSED) == 0) {
        if (rc == OB_OK)
            fail_msg("%s: %s was accepted", why, in);
        if (strstr(e.msg, in) && in[0])
            fail_msg("%s: the error quotes the input: %s", why, e.msg); /* R-CPR-2 */
        return;
    }
    if (rc != OB_OK)
        fail_msg("%s: %s refused: %s", why, in, e.msg);
    ob_time_format(*got, buf);
    if (strcmp(buf, want) != 0)
        fail_msg("%s: %s gave %s, want %s", why, in, buf, want);
}

static void test_rows(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const struct row *r = &rows[i];
        ob_time start, end;
        check(r->why, r->in, ob_time_parse, r->as_start, &start);
        check(r->why, r->in, ob_time_parse_end, r->as_end, &end);
        if (strcmp(r->as_end, REFUSED) != 0 && ob_time_is_day_end(end) != r->day_end)
            fail_msg("%s: day end of %s is %d", r->why, r->in, !r->day_end);
    }
    assert_false(ob_time_is_day_end(OB_TIME_MAX)); /* an open end is not a date */
    assert_false(ob_time_is_day_end(OB_TIME_MIN));
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_rows)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}

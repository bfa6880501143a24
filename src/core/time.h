/* time.h - civil time for overblik: seconds since the Unix epoch, UTC, as int64.
 * Dates in the domain (periods, birth dates) are midnight UTC of that day. Parsing is
 * strict (the date must exist); formatting is ISO 8601 with a Z suffix. */
#ifndef OB_CORE_TIME_H
#define OB_CORE_TIME_H

#include <stdint.h>
#include <stddef.h>
#include "core/err.h"

typedef int64_t ob_time;
#define OB_TIME_MIN INT64_MIN
#define OB_TIME_MAX INT64_MAX

int ob_date_valid(int y, int m, int d);
int64_t ob_days_from_civil(int y, int m, int d);
void ob_civil_from_days(int64_t z, int *y, int *m, int *d);
ob_time ob_time_from_ymd(int y, int m, int d);
/* Accepts YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS][.fff](Z|+hh:mm|-hh:mm). Its error messages
 * never quote the input: a CPR number sent where a date goes must not come back (R-CPR-2). */
ob_status ob_time_parse(const char *s, ob_time *out, ob_err *e);
/* The same for the end of a period. A date alone covers its whole day, so it ends at that
 * day's last second (periods include both ends; FHIR R4 Period.end: "The high value includes
 * any matching date/time"). A "to" of 2027-12-31 therefore covers 31 December. */
ob_status ob_time_parse_end(const char *s, ob_time *out, ob_err *e);
/* Whether t is a day's last second, i.e. an end that was (or can be written as) a date. */
int ob_time_is_day_end(ob_time t);
/* Writes YYYY-MM-DDTHH:MM:SSZ (21 bytes with NUL) into buf. */
void ob_time_format(ob_time t, char buf[static 32]);
void ob_date_format(ob_time t, char buf[static 16]);
ob_time ob_time_now(void);

#endif

/* cpr.h - Danish CPR numbers (R-CPR-1, R-CPR-2).
 *
 * A CPR number is DDMMYY-SSSS or DDMMYYSSSS. The century follows from the 7th digit and
 * the two-digit year (the CPR office's table); the date must exist. Modulus 11 is NOT
 * checked: numbers without it have been issued since 2007. The parsed struct holds the
 * digits; callers must never print them (use an internal patient id in every log and
 * message). Error messages from this module never echo the input. */
#ifndef OB_CORE_CPR_H
#define OB_CORE_CPR_H

#include <stdbool.h>

#include "core/err.h"
#include "core/time.h"

typedef struct ob_cpr {
    char digits[11]; /* ten digits and NUL, normalised without the hyphen */
    int year, month, day;
    int female; /* even last digit */
} ob_cpr;

ob_status ob_cpr_parse(const char *s, size_t len, ob_cpr *out, ob_err *e);
/* Returns the four-digit year for day/month/yy and the 7th digit, or -1. */
int ob_cpr_century_year(int yy, int seventh);
ob_time ob_cpr_birth(const ob_cpr *c);
/* Builds a valid CPR (no modulus 11) for a birth date and serial (0..9999 with the 7th
 * digit chosen to match the century). Returns OB_EINVAL if no serial digit fits. */
ob_status ob_cpr_make(int y, int m, int d, int serial3, int female, ob_cpr *out);
/* True if s holds a valid CPR number (DDMMYYSSSS or DDMMYY-SSSS, not part of a longer
 * digit run). Used to refuse CPRs in URLs and to keep them out of messages (R-CPR-2). */
bool ob_cpr_in_text(const char *s);

#endif

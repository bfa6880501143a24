/* fuzz_cpr.c - libFuzzer target for the CPR parser (R-CPR-1): any bytes in, no crash,
 * and every accepted number re-parses to the same date with a valid century. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/cpr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ob_cpr c;
    ob_err e;
    if (ob_cpr_parse((const char *)data, size, &c, &e) == OB_OK) {
        ob_cpr again;
        if (ob_cpr_parse(c.digits, 10, &again, NULL) != OB_OK || again.year != c.year ||
            !ob_date_valid(c.year, c.month, c.day) || c.year < 1858 || c.year > 2057)
            abort();
    } else if (strstr(e.msg, "0123456789") || e.msg[0] == '\0') {
        abort();
    }
    return 0;
}

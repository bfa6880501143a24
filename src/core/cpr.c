/* cpr.c - CPR validation with the CPR office's century table (see cpr.h). */
#include "core/cpr.h"

#include <ctype.h>
#include <string.h>

int ob_cpr_century_year(int yy, int seventh)
{
    if (yy < 0 || yy > 99 || seventh < 0 || seventh > 9)
        return -1;
    switch (seventh) {
    case 0:
    case 1:
    case 2:
    case 3:
        return 1900 + yy;
    case 4:
    case 9:
        return yy <= 36 ? 2000 + yy : 1900 + yy;
    default: /* 5..8 */
        return yy <= 57 ? 2000 + yy : 1800 + yy;
    }
}

ob_status ob_cpr_parse(const char *s, size_t len, ob_cpr *out, ob_err *e)
{
    char d[10];
    size_t n = 0;
    if (!s)
        return ob_err_set(e, OB_EINVAL, "missing CPR number");
    if (len != 10 && len != 11)
        return ob_err_set(e, OB_EINVAL, "a CPR number has 10 digits, as DDMMYY-SSSS or DDMMYYSSSS");
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (len == 11 && i == 6) {
            if (c != '-')
                return ob_err_set(e, OB_EINVAL,
                                  "a CPR number has 10 digits, as DDMMYY-SSSS or DDMMYYSSSS");
            continue;
        }
        if (c < '0' || c > '9')
            return ob_err_set(e, OB_EINVAL, "a CPR number has only digits (and one hyphen)");
        d[n++] = c;
    }
    int day = (d[0] - '0') * 10 + (d[1] - '0');
    int month = (d[2] - '0') * 10 + (d[3] - '0');
    int yy = (d[4] - '0') * 10 + (d[5] - '0');
    int year = ob_cpr_century_year(yy, d[6] - '0');
    if (!ob_date_valid(year, month, day))
        return ob_err_set(e, OB_EINVAL, "the CPR number's birth date does not exist");
    if (out) {
        memcpy(out->digits, d, 10);
        out->digits[10] = '\0';
        out->year = year;
        out->month = month;
        out->day = day;
        out->female = (d[9] - '0') % 2 == 0;
    }
    return OB_OK;
}

ob_time ob_cpr_birth(const ob_cpr *c)
{
    return ob_time_from_ymd(c->year, c->month, c->day);
}

ob_status ob_cpr_make(int y, int m, int d, int serial3, int female, ob_cpr *out)
{
    if (!ob_date_valid(y, m, d) || serial3 < 0 || serial3 > 999)
        return OB_EINVAL;
    int yy = y % 100;
    for (int seventh = 0; seventh <= 9; seventh++) {
        int s7 = (seventh + serial3 / 100) % 10;
        if (ob_cpr_century_year(yy, s7) != y)
            continue;
        int last = serial3 % 10;
        if ((last % 2 == 0) != (female != 0))
            last = (last + 1) % 10;
        int mid = (serial3 / 10) % 100;
        char buf[11];
        buf[0] = (char)('0' + d / 10);
        buf[1] = (char)('0' + d % 10);
        buf[2] = (char)('0' + m / 10);
        buf[3] = (char)('0' + m % 10);
        buf[4] = (char)('0' + yy / 10);
        buf[5] = (char)('0' + yy % 10);
        buf[6] = (char)('0' + s7);
        buf[7] = (char)('0' + mid / 10);
        buf[8] = (char)('0' + mid % 10);
        buf[9] = (char)('0' + last);
        buf[10] = '\0';
        return ob_cpr_parse(buf, 10, out, NULL);
    }
    return OB_EINVAL;
}

bool ob_cpr_in_text(const char *s)
{
    if (!s)
        return false;
    size_t n = strlen(s);
    for (size_t i = 0; i + 10 <= n; i++) {
        if (!isdigit((unsigned char)s[i]) || (i > 0 && isdigit((unsigned char)s[i - 1])))
            continue;
        size_t len = 0, digits = 0;
        while (i + len < n && digits < 10 &&
               (isdigit((unsigned char)s[i + len]) || (s[i + len] == '-' && digits == 6))) {
            if (s[i + len] != '-')
                digits++;
            len++;
        }
        if (digits != 10 || (i + len < n && isdigit((unsigned char)s[i + len])))
            continue;
        ob_cpr cpr;
        if (ob_cpr_parse(s + i, len, &cpr, NULL) == OB_OK)
            return true;
    }
    return false;
}

/* time.c - strict ISO 8601 parsing and formatting over int64 epoch seconds.
 * The day arithmetic is Howard Hinnant's days_from_civil, exact for the proleptic
 * Gregorian calendar, so 1900-02-29 is rejected and 2000-02-29 accepted. */
#include "core/time.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static int is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int ob_date_valid(int y, int m, int d)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1 || y > 9999 || m < 1 || m > 12 || d < 1)
        return 0;
    int max = mdays[m - 1] + (m == 2 && is_leap(y));
    return d <= max;
}

int64_t ob_days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void ob_civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t dd = doy - (153 * mp + 2) / 5 + 1;
    int64_t mm = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)(yy + (mm <= 2));
    *m = (int)mm;
    *d = (int)dd;
}

ob_time ob_time_from_ymd(int y, int m, int d)
{
    return ob_days_from_civil(y, m, d) * 86400;
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 1;
}

ob_status ob_time_parse(const char *s, ob_time *out, ob_err *e)
{
    int y, mo, d, h = 0, mi = 0, se = 0;
    if (!s)
        return ob_err_set(e, OB_EINVAL, "missing time");
    size_t n = strlen(s);
    if (n < 10 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
        !digits(s + 8, 2, &d))
        return ob_err_set(e, OB_EINVAL, "time is not YYYY-MM-DD[THH:MM[:SS]Z]");
    if (!ob_date_valid(y, mo, d))
        return ob_err_set(e, OB_EINVAL, "the date does not exist");
    const char *p = s + 10;
    int64_t offset = 0;
    if (*p == 'T' || *p == ' ') {
        p++;
        if (!digits(p, 2, &h) || p[2] != ':' || !digits(p + 3, 2, &mi))
            return ob_err_set(e, OB_EINVAL, "time has a bad clock time");
        p += 5;
        if (*p == ':') {
            if (!digits(p + 1, 2, &se))
                return ob_err_set(e, OB_EINVAL, "time has bad seconds");
            p += 3;
            if (*p == '.') {
                p++;
                while (*p >= '0' && *p <= '9')
                    p++;
            }
        }
        if (h > 23 || mi > 59 || se > 60)
            return ob_err_set(e, OB_EINVAL, "time is out of range");
        if (*p == 'Z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int oh, om;
            if (!digits(p + 1, 2, &oh) || p[3] != ':' || !digits(p + 4, 2, &om) || oh > 23 ||
                om > 59)
                return ob_err_set(e, OB_EINVAL, "time has a bad offset");
            offset = (int64_t)(oh * 3600 + om * 60) * (*p == '+' ? 1 : -1);
            p += 6;
        }
    }
    if (*p != '\0')
        return ob_err_set(e, OB_EINVAL, "time has trailing characters");
    *out = ob_time_from_ymd(y, mo, d) + h * 3600 + mi * 60 + se - offset;
    return OB_OK;
}

ob_status ob_time_parse_end(const char *s, ob_time *out, ob_err *e)
{
    ob_status rc = ob_time_parse(s, out, e);
    if (rc == OB_OK && strlen(s) == 10)
        *out += 86399;
    return rc;
}

int ob_time_is_day_end(ob_time t)
{
    return t != OB_TIME_MAX && (t % 86400 + 86400) % 86400 == 86399;
}

void ob_time_format(ob_time t, char buf[static 32])
{
    int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
    int64_t rem = t - days * 86400;
    int y, m, d;
    ob_civil_from_days(days, &y, &m, &d);
    snprintf(buf, 32, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, d, (int)(rem / 3600),
             (int)(rem / 60 % 60), (int)(rem % 60));
}

void ob_date_format(ob_time t, char buf[static 16])
{
    int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
    int y, m, d;
    ob_civil_from_days(days, &y, &m, &d);
    snprintf(buf, 16, "%04d-%02d-%02d", y, m, d);
}

ob_time ob_time_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (ob_time)ts.tv_sec;
}

/* jsonw.c - the appending JSON text writer (see jsonw.h). */
#include "core/jsonw.h"

#include <string.h>

#include "core/alloc.h"
#include "core/time.h"

static bool reserve(ob_jw *w, size_t n)
{
    if (w->failed)
        return false;
    if (w->cap - w->len > n)
        return true;
    size_t cap = w->cap ? w->cap : 1024;
    while (cap - w->len <= n) {
        if (cap > SIZE_MAX / 2) {
            w->failed = true;
            return false;
        }
        cap *= 2;
    }
    char *nb = ob_realloc(w->buf, cap);
    if (!nb) {
        w->failed = true;
        return false;
    }
    w->buf = nb;
    w->cap = cap;
    return true;
}

void ob_jw_raw(ob_jw *w, const char *s, size_t n)
{
    if (!reserve(w, n))
        return;
    memcpy(w->buf + w->len, s, n);
    w->len += n;
}

size_t ob_utf8_len(const unsigned char *s)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        return (s[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if ((s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
            return 0;
        if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] > 0x9F))
            return 0;
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if ((s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
            return 0;
        if ((c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] > 0x8F))
            return 0;
        return 4;
    }
    return 0;
}

/* s escaped, without quotes */
static void escaped(ob_jw *w, const char *s)
{
    static const char hex[] = "0123456789ABCDEF"; /* as jansson writes it */
    const unsigned char *p = (const unsigned char *)s;
    for (;;) {
        const unsigned char *run = p; /* the longest stretch that needs no escape */
        while (*p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
            p++;
        ob_jw_raw(w, (const char *)run, (size_t)(p - run));
        if (!*p)
            break;
        if (*p >= 0x80) {
            size_t n = ob_utf8_len(p);
            if (!n) { /* never send text that is not UTF-8 (RFC 8259 §8.1) */
                w->failed = true;
                return;
            }
            ob_jw_raw(w, (const char *)p, n);
            p += n;
            continue;
        }
        char esc[6] = {'\\', 0};
        size_t n = 2;
        switch (*p) {
        case '"':
            esc[1] = '"';
            break;
        case '\\':
            esc[1] = '\\';
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default:
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[*p >> 4];
            esc[5] = hex[*p & 15];
            n = 6;
        }
        ob_jw_raw(w, esc, n);
        p++;
    }
}

void ob_jw_str(ob_jw *w, const char *s)
{
    ob_jw_lit(w, "\"");
    escaped(w, s);
    ob_jw_lit(w, "\"");
}

void ob_jw_str2(ob_jw *w, const char *a, const char *b)
{
    ob_jw_lit(w, "\"");
    escaped(w, a);
    escaped(w, b);
    ob_jw_lit(w, "\"");
}

void ob_jw_int(ob_jw *w, int64_t v)
{
    char tmp[24];
    size_t i = sizeof tmp;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        tmp[--i] = '-';
    ob_jw_raw(w, tmp + i, sizeof tmp - i);
}

void ob_jw_bool(ob_jw *w, bool v)
{
    if (v)
        ob_jw_lit(w, "true");
    else
        ob_jw_lit(w, "false");
}

static void two(char *p, int v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
}

void ob_jw_instant(ob_jw *w, int64_t t)
{
    int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
    int64_t rem = t - days * 86400;
    int y, m, d;
    ob_civil_from_days(days, &y, &m, &d);
    if (y < 0 || y > 9999) { /* outside what the fast path writes: the general one */
        char buf[32];
        ob_time_format(t, buf);
        ob_jw_str(w, buf);
        return;
    }
    char b[22] = "\"0000-00-00T00:00:00Z\"";
    two(b + 1, y / 100);
    two(b + 3, y % 100);
    two(b + 6, m);
    two(b + 9, d);
    two(b + 12, (int)(rem / 3600));
    two(b + 15, (int)(rem / 60 % 60));
    two(b + 18, (int)(rem % 60));
    ob_jw_raw(w, b, sizeof b);
}

char *ob_jw_take(ob_jw *w, size_t *len)
{
    if (!w->failed && reserve(w, 1))
        w->buf[w->len] = '\0';
    char *out = w->failed ? NULL : w->buf;
    if (len)
        *len = out ? w->len : 0;
    if (!out)
        ob_free(w->buf);
    memset(w, 0, sizeof *w);
    return out;
}

void ob_jw_release(ob_jw *w)
{
    ob_free(w->buf);
    memset(w, 0, sizeof *w);
}

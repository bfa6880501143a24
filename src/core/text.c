/* text.c - the rules for kept free text (see text.h). One strict UTF-8 decoder (no
 * overlong forms, no surrogates, nothing above U+10FFFF) feeds both checks. */
#include "core/text.h"

#include <ctype.h>
#include <stdint.h>
#include <string.h>

/* Decodes one code point at s[0..n); returns its length, 0 when the bytes are not UTF-8. */
static size_t decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char b = s[0];
    if (b < 0x80) {
        *cp = b;
        return 1;
    }
    size_t k;
    uint32_t v, min;
    if (b >= 0xc2 && b <= 0xdf)
        k = 1, v = b & 0x1f, min = 0x80;
    else if (b >= 0xe0 && b <= 0xef)
        k = 2, v = b & 0x0f, min = 0x800;
    else if (b >= 0xf0 && b <= 0xf4)
        k = 3, v = b & 0x07, min = 0x10000;
    else
        return 0;
    if (k >= n)
        return 0;
    for (size_t j = 1; j <= k; j++) {
        if ((s[j] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (s[j] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return k + 1;
}

/* Characters that change how text displays without being seen: bidirectional controls
 * (Trojan Source, CVE-2021-42574), zero-width and invisible formatting characters, C1
 * controls and the line/paragraph separators. */
static bool invisible(uint32_t c)
{
    return (c >= 0x80 && c <= 0x9f) || c == 0xad || c == 0x61c || c == 0x180e ||
           (c >= 0x200b && c <= 0x200f) || (c >= 0x2028 && c <= 0x202e) ||
           (c >= 0x2060 && c <= 0x206f) || c == 0xfeff || (c >= 0xfff9 && c <= 0xfffb);
}

static bool letter(uint32_t c)
{
    if (c < 0x80)
        return isalpha((int)c) != 0;
    /* Latin-1 letters (æ, ø, å, é, ü, ...), the Latin extensions, Greek, Cyrillic and the
     * other alphabets below the general punctuation block */
    return c >= 0xc0 && c != 0xd7 && c != 0xf7 && c < 0x2000;
}

static bool digit_at(const char *s, size_t n, size_t i)
{
    return i < n && s[i] >= '0' && s[i] <= '9';
}

static int two(const char *p)
{
    return (p[0] - '0') * 10 + (p[1] - '0');
}

bool ob_text_cpr_like(const char *s)
{
    if (!s)
        return false;
    size_t n = strlen(s);
    static const int mdays[13] = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    for (size_t i = 0; i + 10 <= n; i++) {
        if (!digit_at(s, n, i) || (i > 0 && digit_at(s, n, i - 1)))
            continue;
        char d[10];
        size_t j = i, k = 0;
        while (k < 6 && digit_at(s, n, j))
            d[k++] = s[j++];
        if (k < 6)
            continue;
        if (!digit_at(s, n, j) && j < n && strchr("- ./", s[j]) && digit_at(s, n, j + 1))
            j++; /* DDMMYY-SSSS and its look-alikes */
        while (k < 10 && digit_at(s, n, j))
            d[k++] = s[j++];
        if (k < 10 || digit_at(s, n, j))
            continue;
        int day = two(d), month = two(d + 2);
        if (month >= 1 && month <= 12 && day >= 1 && day <= mdays[month])
            return true;
    }
    return false;
}

static ob_status check(const char *s, size_t n, const char *what, bool one_line, ob_err *e)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        uint32_t c = 0;
        size_t k = decode(u + i, n - i, &c);
        if (k == 0)
            return ob_err_set(e, OB_EINVAL, "%s must be valid UTF-8", what);
        if (c == 0 || ((c < 0x20 || c == 0x7f) && (one_line || (c != '\n' && c != '\t'))))
            return ob_err_set(e, OB_EINVAL, "%s must not contain control characters", what);
        if (invisible(c))
            return ob_err_set(e, OB_EINVAL,
                              "%s must not contain bidirectional, zero-width or other "
                              "invisible characters",
                              what);
        i += k;
    }
    if (memchr(s, '\0', n) == NULL && ob_text_cpr_like(s))
        return ob_err_set(e, OB_EINVAL,
                          "%s must not contain a CPR number (R-CPR-3); name the patient "
                          "another way",
                          what);
    return OB_OK;
}

ob_status ob_text_kept(const char *s, size_t n, const char *what, ob_err *e)
{
    return check(s, n, what, false, e);
}

ob_status ob_text_justification(const char *s, size_t n, ob_err *e)
{
    ob_status rc = check(s, n, "the override's reason", true, e);
    if (rc)
        return rc;
    /* words: runs of letters; a word counts from two letters */
    const unsigned char *u = (const unsigned char *)s;
    size_t letters = 0, words = 0, first = 0, first_len = 0;
    bool differ = false;
    for (size_t i = 0; i < n;) {
        uint32_t c = 0; /* decode sets it; -O3 cannot see that (Release -Werror) */
        size_t k = decode(u + i, n - i, &c);
        if (!letter(c)) {
            i += k;
            continue;
        }
        size_t start = i, wl = 0;
        while (i < n && (k = decode(u + i, n - i, &c)) > 0 && letter(c))
            i += k, wl++;
        letters += wl;
        if (wl < 2)
            continue;
        size_t len = i - start;
        if (words == 0) {
            first = start, first_len = len;
        } else if (len != first_len) {
            differ = true;
        } else {
            for (size_t j = 0; j < len && !differ; j++)
                differ = tolower(u[start + j]) != tolower(u[first + j]);
        }
        words++;
    }
    if (words < 3 || letters < 15 || !differ)
        return ob_err_set(e, OB_EINVAL,
                          "the override's reason must say why in at least a sentence: three "
                          "or more different words and 15 letters (R-BLK-4)");
    return OB_OK;
}

/* The folded code of the character at s (its byte length in *len): ASCII letters to lower
 * case, the Latin-1 upper-case letters U+00C0..U+00DE (but U+00D7, the multiplication
 * sign) to their lower-case forms; anything else is its first byte as it is. */
static unsigned fold_at(const unsigned char *s, size_t *len)
{
    if (s[0] == 0xC3 && s[1] >= 0x80 && s[1] <= 0xBF) {
        *len = 2;
        unsigned c = 0xC0u + (s[1] - 0x80u);
        if (c >= 0xC0 && c <= 0xDE && c != 0xD7)
            c += 0x20;
        return c;
    }
    *len = 1;
    return (s[0] >= 'A' && s[0] <= 'Z') ? s[0] + 32u : s[0];
}

bool ob_text_name_has(const char *name, const char *text)
{
    if (!name || !text)
        return false;
    if (!*text)
        return true;
    for (const unsigned char *a = (const unsigned char *)name; *a;) {
        const unsigned char *x = a, *y = (const unsigned char *)text;
        size_t lx, ly;
        while (*x && *y && fold_at(x, &lx) == fold_at(y, &ly)) {
            x += lx;
            y += ly;
        }
        if (!*y)
            return true;
        size_t step;
        fold_at(a, &step);
        a += step;
    }
    return false;
}

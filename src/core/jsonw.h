/* jsonw.h - an appending JSON text writer for the hot responses.
 *
 * jansson builds a tree of allocated nodes, hashes every key and walks the tree again to
 * dump it; for an appointment search that was more than a third of the server's
 * instructions per request (callgrind, docs/bench-http.md). The few hot answers write
 * their fixed shapes straight to text with this writer; every other answer, and every
 * parse, stays with jansson. The output is what jansson's JSON_COMPACT dump gives:
 * UTF-8 unescaped, '"', '\\' and control characters escaped.
 *
 * Ownership: the writer owns its buffer until ob_jw_take hands it to the caller (free
 * with free(3) or ob_free; the HTTP server passes it to libmicrohttpd as is) or
 * ob_jw_release drops it. On an allocation failure or an invalid UTF-8 string the writer
 * latches `failed` and ignores later writes, so a caller checks once at the end. */
#ifndef OB_CORE_JSONW_H
#define OB_CORE_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ob_jw {
    char *buf;
    size_t len, cap;
    bool failed;
} ob_jw;

void ob_jw_raw(ob_jw *w, const char *s, size_t n); /* appended as is: JSON syntax */
#define ob_jw_lit(w, s) ob_jw_raw((w), "" s, sizeof(s) - 1)
void ob_jw_str(ob_jw *w, const char *s);                 /* a JSON string: quoted and escaped */
void ob_jw_str2(ob_jw *w, const char *a, const char *b); /* one string: a then b */
void ob_jw_int(ob_jw *w, int64_t v);
void ob_jw_bool(ob_jw *w, bool v);
/* A UTC time as FHIR instant text "YYYY-MM-DDThh:mm:ssZ", quoted (years 0..9999). */
void ob_jw_instant(ob_jw *w, int64_t t);
/* The text (NUL-terminated) and its length; NULL if the writer failed. The writer is
 * empty afterwards. */
char *ob_jw_take(ob_jw *w, size_t *len);
void ob_jw_release(ob_jw *w);

/* Length of the UTF-8 sequence at s (1..4), or 0 if it is not valid UTF-8 (overlong
 * forms, surrogates and code points past U+10FFFF included, as jansson refuses them).
 * s is NUL-terminated: a sequence cut short by the NUL is invalid, nothing past it is read. */
size_t ob_utf8_len(const unsigned char *s);

#endif

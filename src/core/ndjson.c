/* ndjson.c - NDJSON objects from a FILE*, one a line (see ndjson.h). */
#include "core/ndjson.h"

#include <string.h>

#include "core/alloc.h"

#define MAX_LINE (1u << 20)

json_t *ob_ndjson_next(void *ctx, size_t *line, ob_err *e)
{
    ob_ndjson_reader *r = ctx;
    for (;;) {
        size_t n = 0;
        int c;
        while ((c = getc(r->f)) != EOF && c != '\n') {
            if (n + 2 > r->cap) {
                if (r->cap >= MAX_LINE) {
                    ob_err_set(e, OB_ELIMIT, "line %zu is longer than 1 MiB", r->line + 1);
                    return NULL;
                }
                size_t ncap = r->cap ? r->cap * 2 : 4096;
                char *nb = ob_realloc(r->buf, ncap);
                if (!nb) {
                    ob_err_set(e, OB_ENOMEM, "out of memory reading line %zu", r->line + 1);
                    return NULL;
                }
                r->buf = nb;
                r->cap = ncap;
            }
            r->buf[n++] = (char)c;
        }
        if (c == EOF && n == 0) {
            if (ferror(r->f))
                ob_err_set(e, OB_EIO, "cannot read input after line %zu", r->line);
            return NULL;
        }
        r->line++;
        *line = r->line;
        r->buf[n] = '\0';
        size_t k = 0;
        while (k < n && (r->buf[k] == ' ' || r->buf[k] == '\t' || r->buf[k] == '\r'))
            k++;
        if (k == n)
            continue; /* blank line */
        json_error_t je;
        json_t *o = json_loadb(r->buf, n, JSON_REJECT_DUPLICATES, &je);
        if (!o) {
            /* jansson quotes the offending token ("near '...'"), which could be a CPR
             * number: keep only the description (R-CPR-2) */
            char *near = strstr(je.text, " near ");
            if (near)
                *near = '\0';
            ob_err_set(e, OB_EINVAL, "line %zu: not valid JSON (column %d: %s)", r->line, je.column,
                       je.text);
            return NULL;
        }
        return o;
    }
}

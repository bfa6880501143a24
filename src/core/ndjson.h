/* ndjson.h - reads newline-delimited JSON objects (the import format, docs/formats.md, and
 * `overblik decide`'s requests) from a FILE*, with line numbers, a 1 MiB line cap, blank
 * lines skipped, duplicate keys refused, and errors that never quote the input (a token
 * could be a CPR number, R-CPR-2). Its next function fits ob_hub_import's callback. */
#ifndef OB_CORE_NDJSON_H
#define OB_CORE_NDJSON_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#include "core/err.h"

/* Start with {f, 0, NULL, 0}; buf is the reader's and is freed by the caller (free). */
typedef struct ob_ndjson_reader {
    FILE *f;
    size_t line;
    char *buf;
    size_t cap;
} ob_ndjson_reader;

/* The next object (owned by the caller) and its line number in *line; NULL at the end
 * (e untouched) or on an error (e set). ctx is an ob_ndjson_reader. */
json_t *ob_ndjson_next(void *ctx, size_t *line, ob_err *e);

#endif

/* cpr.c - `overblik cpr check`: is a CPR number valid, and what does it say (R-CPR-1)?
 *
 * Numbers are read from standard input, one a line, never from the command line (argv is
 * visible to every user in `ps` and lands in shell history), and never written back: the
 * answer names the line, not the number (R-CPR-2). Output is one JSON object a line:
 * {"line":1,"valid":true,"birth_date":"1990-01-01","century":1900,"sex":"female"} or
 * {"line":2,"valid":false,"error":"..."}. Exit 0 when every line is valid, 1 otherwise. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "core/cpr.h"

static int check_line(const char *s, size_t len, size_t line)
{
    while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r' || s[len - 1] == ' '))
        len--;
    while (len > 0 && *s == ' ')
        s++, len--;
    ob_cpr c;
    ob_err e = {0};
    json_t *o;
    int ok = ob_cpr_parse(s, len, &c, &e) == OB_OK;
    if (ok) {
        char date[16];
        snprintf(date, sizeof date, "%04d-%02d-%02d", c.year, c.month, c.day);
        o = json_pack("{s:I, s:b, s:s, s:i, s:s}", "line", (json_int_t)line, "valid", 1,
                      "birth_date", date, "century", c.year / 100 * 100, "sex",
                      c.female ? "female" : "male");
    } else {
        /* the parser's messages never quote the input; shown() guards that promise */
        o = json_pack("{s:I, s:b, s:s}", "line", (json_int_t)line, "valid", 0, "error",
                      shown(e.msg));
    }
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    if (text)
        printf("%s\n", text);
    free(text);
    json_decref(o);
    memset(&c, 0, sizeof c);
    return ok;
}

int cmd_cpr(int argc, char **argv)
{
    if (argc < 1 || strcmp(argv[0], "check") != 0 || argc > 1) {
        if (argc >= 1 && strcmp(argv[0], "--help") == 0) {
            printf("usage: overblik cpr check < NUMBERS   (one a line; never as an argument)\n");
            return 0;
        }
        /* never echo an argument: it may be the number itself */
        fprintf(stderr, "overblik cpr: usage: overblik cpr check < NUMBERS (one a line on "
                        "standard input; a CPR number is never given as an argument)\n");
        return EXIT_USAGE;
    }
    char *buf = NULL;
    size_t cap = 0, line = 0;
    ssize_t n;
    int all = 1;
    while ((n = getline(&buf, &cap, stdin)) >= 0) {
        line++;
        if (n == 0 || (n == 1 && buf[0] == '\n'))
            continue;
        all &= check_line(buf, (size_t)n, line);
    }
    if (buf)
        memset(buf, 0, cap);
    free(buf);
    if (line == 0) {
        fprintf(stderr, "overblik cpr check: no input (one number a line on standard input)\n");
        return EXIT_INPUT;
    }
    return all ? 0 : EXIT_INPUT;
}

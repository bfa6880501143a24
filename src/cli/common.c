/* common.c - option parsing and exit codes for the CLI (see cli.h). */
#include "cli/cli.h"

#include "core/cpr.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "core/alloc.h"
#include "core/jsonw.h"

static bool in(const char *const *list, const char *s)
{
    for (; list && *list; list++)
        if (strcmp(*list, s) == 0)
            return true;
    return false;
}

int opts_parse(opts *o, int argc, char **argv, const char *const *flags, const char *const *valued)
{
    memset(o, 0, sizeof *o);
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) == 0 && a[2]) {
            const char *name = a + 2;
            if (o->n >= 32) {
                fprintf(stderr, "overblik: too many options\n");
                return -1;
            }
            if (in(flags, name)) {
                o->names[o->n] = name;
                o->values[o->n++] = "1";
            } else if (in(valued, name)) {
                if (i + 1 >= argc) {
                    fprintf(stderr, "overblik: option --%s needs a value\n", shown(name));
                    return -1;
                }
                o->names[o->n] = name;
                o->values[o->n++] = argv[++i];
            } else {
                fprintf(stderr, "overblik: unknown option --%s (see --help)\n", shown(name));
                return -1;
            }
        } else {
            if (o->npos >= 16) {
                fprintf(stderr, "overblik: too many arguments\n");
                return -1;
            }
            o->pos[o->npos++] = a;
        }
    }
    return 0;
}

const char *opt(const opts *o, const char *name, const char *dflt)
{
    for (int i = o->n - 1; i >= 0; i--)
        if (strcmp(o->names[i], name) == 0)
            return o->values[i];
    /* issue 25: the database without --db, for every command (make demo's demo-data/...) */
    const char *env = strcmp(name, "db") == 0 ? getenv("OVERBLIK_DB") : NULL;
    return env && *env ? env : dflt;
}

bool opt_flag(const opts *o, const char *name)
{
    return opt(o, name, NULL) != NULL;
}

int exit_code_for(ob_status st)
{
    switch (st) {
    case OB_OK:
        return 0;
    case OB_EINVAL:
    case OB_ENOTFOUND:
    case OB_ECONFLICT:
    case OB_ELIMIT:
        return EXIT_INPUT;
    case OB_EDENIED:
        return EXIT_DENIED;
    case OB_ETAMPER:
        return EXIT_TAMPER;
    default:
        return EXIT_STORAGE;
    }
}

const char *shown(const char *text)
{
    if (ob_cpr_in_text(text))
        return "(not shown: it holds what reads as a CPR number)";
    const char *scheme = strstr(text, "://");
    if (scheme && strchr(scheme, '@'))
        return "(not shown: a database URI, which may hold a password)";
    return text;
}

int pg_not_yet(const char *cmd)
{
    fprintf(stderr,
            "overblik %s: --db names a PostgreSQL database; this command needs a SQLite "
            "file (on PostgreSQL run serve, load, gen, decide, block, consent, grant, people, "
            "witness update and log show, verify, prove, expire; docs/cli.md)\n",
            cmd);
    return EXIT_USAGE;
}

int fail(const char *cmd, const ob_err *e)
{
    fprintf(stderr, "overblik %s: %s\n", cmd, e->msg[0] ? shown(e->msg) : ob_status_name(e->code));
    return exit_code_for(e->code);
}

/* Where the database was looked for, and how to name another (issue 25). */
static void db_hint(const opts *o, const char *path)
{
    bool given = false;
    for (int i = 0; i < o->n; i++)
        given |= strcmp(o->names[i], "db") == 0;
    const char *env = getenv("OVERBLIK_DB");
    fprintf(stderr, "overblik: the database looked for was %s (%s)\n", shown(path),
            given         ? "from --db"
            : env && *env ? "from OVERBLIK_DB"
                          : "the default; give --db FILE or set OVERBLIK_DB, e.g. "
                            "demo-data/overblik.db after make demo");
}

int db_missing(const opts *o, const char *cmd)
{
    const char *path = opt(o, "db", DEFAULT_DB);
    if (ob_store_where_is_pg(path) || access(path, F_OK) == 0) /* a server says for itself */
        return 0;
    fprintf(stderr, "overblik %s: there is no database at %s\n", cmd, shown(path));
    db_hint(o, path);
    return EXIT_STORAGE;
}

int open_hub(const opts *o, bool with_log, ob_hub **h)
{
    ob_hub_options ho = {opt(o, "db", DEFAULT_DB), opt(o, "keys", NULL), !with_log, NULL};
    ob_err e = {0};
    if (db_missing(o, "open"))
        return EXIT_STORAGE;
    if (ob_hub_open(&ho, h, &e) != OB_OK) {
        int rc = fail("open", &e);
        db_hint(o, ho.db_path);
        return rc;
    }
    return 0;
}

int opt_uint(const char *cmd, const char *name, const char *s, unsigned min, unsigned max,
             unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max || s[0] == '-') {
        fprintf(stderr, "overblik %s: %s must be a number from %u to %u\n", cmd, name, min, max);
        return -1;
    }
    *out = (unsigned)v;
    return 0;
}

void cli_col(FILE *f, const char *s, int width)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    int n = 0;
    for (; *p && n < width; n++) {
        size_t len = ob_utf8_len(p);
        if (len == 0) {
            fputc('?', f);
            p++;
        } else {
            fwrite(p, 1, len, f);
            p += len;
        }
    }
    for (; n < width; n++)
        fputc(' ', f);
}

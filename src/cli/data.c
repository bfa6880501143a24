/* data.c - `overblik init`, `gen` and `load`: creating an installation and filling it.
 * gen writes the import format; with --db it imports what it generated through the
 * same path as load, so generated data is validated like any import. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/logtrust.h"
#include "gen/gen.h"
#include "http/auth.h"
#include "store/sqlite/log_sqlite.h"
#include "store/store.h"

static const char *const init_flags[] = {"force", "help", NULL};
static const char *const db_valued[] = {"db", "keys", NULL};

int cmd_init(int argc, char **argv)
{
    opts o;
    if (opts_parse(&o, argc, argv, init_flags, db_valued) < 0)
        return EXIT_USAGE;
    if (opt_flag(&o, "help")) {
        printf("usage: overblik init [--db FILE] [--keys FILE] [--force]\n"
               "Creates the database (default %s) and, beside it, one secret key file per\n"
               "purpose, each mode 0600: FILE.cpr-key (the CPR hash and encryption keys and\n"
               "the statistics pseudonym key) and FILE.log-key (the log signing key); the\n"
               "log's public keys in FILE.log-pub; and a\n"
               "development ES256 key pair for `overblik token`: FILE.jwt.pem (private,\n"
               "0600) and FILE.jwks.json (public). Production servers use their own JWKS.\n"
               "Refuses to overwrite existing key files unless --force.\n",
               DEFAULT_DB);
        return 0;
    }
    const char *db = opt(&o, "db", DEFAULT_DB);
    /* issue 25: a directory that is not there is the usual first mistake; say it plainly */
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", db);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        struct stat ds;
        if (stat(dir, &ds) != 0 || !S_ISDIR(ds.st_mode)) {
            fprintf(stderr,
                    "overblik init: the directory %s does not exist; create it first (mkdir -p "
                    "%s): the database, its key files and its log index live there\n",
                    shown(dir), shown(dir));
            return EXIT_STORAGE;
        }
    }
    char keypath[4096];
    if (opt(&o, "keys", NULL))
        snprintf(keypath, sizeof keypath, "%s", opt(&o, "keys", NULL));
    else
        ob_hub_key_path(db, keypath, sizeof keypath);
    ob_err e = {0};
    struct stat st;
    char cprp[4200], logp[4200];
    ob_keys_paths(keypath, cprp, logp, sizeof cprp);
    const char *have = stat(keypath, &st) == 0 ? keypath
                       : stat(cprp, &st) == 0  ? cprp
                       : stat(logp, &st) == 0  ? logp
                                               : NULL;
    if (have && !opt_flag(&o, "force")) {
        fprintf(stderr,
                "overblik init: %s already exists; an installation is initialised once "
                "(use --force only for a new, empty database)\n",
                have);
        return EXIT_INPUT;
    }
    if (opt_flag(&o, "force")) {
        /* Not from under a running server: it would go on writing a deleted file (its
         * writer lock is taken and dropped here; no SQLite connection is open yet). */
        int lock_fd = -1;
        ob_status ls = stat(db, &st) == 0 ? ob_hub_lock_writer(db, &lock_fd, &e) : OB_OK;
        if (lock_fd >= 0)
            close(lock_fd);
        if (ls)
            return fail("init", &e);
        if (have && strcmp(have, keypath) == 0)
            unlink(keypath); /* no single key file of before the split left behind */
        ob_store_remove(db);
    }
    ob_keys k;
    if (ob_keys_generate(&k, &e) || ob_keys_save(&k, keypath, &e))
        return fail("init", &e);
    ob_hub *h;
    ob_hub_options ho = {db, keypath, false, NULL};
    if (ob_hub_open(&ho, &h, &e))
        return fail("init", &e);
    ob_hub_close(h);
    if (cli_publish_keys(db, &e)) /* DB.log-pub: what verifiers and witnesses trust */
        return fail("init", &e);
    /* a development ES256 pair for `overblik token`; production passes its own JWKS */
    char pem[4200], jwks[4200];
    dev_key_paths(db, pem, jwks, sizeof pem);
    if (ob_auth_dev_keygen(pem, jwks, &e))
        return fail("init", &e);
    char pubp[4200];
    cli_pub_path(db, pubp, sizeof pubp);
    printf("initialised %s (CPR keys in %s, log signing key in %s, its public keys in %s;"
           " development token key %s, its JWKS %s)\n",
           db, cprp, logp, pubp, pem, jwks);
    return 0;
}

struct progress {
    bool tty;
    const char *what;
};

static void bar(void *ctx, uint32_t done, uint32_t total)
{
    struct progress *p = ctx;
    if (!p->tty || !total)
        return;
    int width = 40, fill = (int)((uint64_t)done * width / total);
    fprintf(stderr, "\r%s [%.*s%*s] %3u%% %u/%u", p->what, fill,
            "########################################", width - fill, "",
            (unsigned)((uint64_t)done * 100 / total), done, total);
    if (done == total)
        fputc('\n', stderr);
}

static void import_progress(void *ctx, size_t done)
{
    struct progress *p = ctx;
    if (p->tty)
        fprintf(stderr, "\r%s %zu records", p->what, done);
}

static int import_file(ob_hub *h, FILE *f, const char *name, size_t *count)
{
    ob_ndjson_reader r = {f, 0, NULL, 0};
    struct progress p = {isatty(2) != 0, "loading"};
    ob_err e = {0};
    ob_status st = ob_hub_import(h, ob_ndjson_next, &r, import_progress, &p, count, &e);
    if (p.tty)
        fputc('\n', stderr);
    free(r.buf);
    if (st) {
        fprintf(stderr, "overblik load: %s: %s\nnothing was loaded\n", shown(name), shown(e.msg));
        return exit_code_for(st);
    }
    return 0;
}

static const char *const gen_valued[] = {"db", "keys", "patients", "seed", "out", NULL};
static const char *const gen_flags[] = {"help", NULL};

int cmd_gen(int argc, char **argv)
{
    opts o;
    if (opts_parse(&o, argc, argv, gen_flags, gen_valued) < 0)
        return EXIT_USAGE;
    if (opt_flag(&o, "help")) {
        printf("usage: overblik gen [--patients N] [--seed S] (--out FILE | --db FILE)\n"
               "Generates a deterministic synthetic Danish data set in the import format\n"
               "(docs/formats.md). --out writes it (- for stdout); --db loads it into an\n"
               "initialised database. Defaults: 10000 patients, seed 1.\n");
        return 0;
    }
    ob_gen_options g;
    ob_gen_default(&g);
    char *end;
    errno = 0;
    unsigned long long n = strtoull(opt(&o, "patients", "10000"), &end, 10);
    unsigned long long seed = strtoull(opt(&o, "seed", "1"), &end, 10);
    if (errno || n == 0 || n > 10000000) {
        fprintf(stderr, "overblik gen: --patients must be 1..10000000\n");
        return EXIT_USAGE;
    }
    g.patients = (uint32_t)n;
    g.seed = seed;
    struct progress p = {isatty(2) != 0, "generating"};
    g.progress = bar;
    g.progress_ctx = &p;
    const char *out = opt(&o, "out", NULL);
    ob_err e = {0};
    ob_gen_counts c;
    if (out) {
        FILE *f = strcmp(out, "-") == 0 ? stdout : fopen(out, "w");
        if (!f) {
            fprintf(stderr, "overblik gen: cannot write %s: %s\n", shown(out), strerror(errno));
            return EXIT_STORAGE;
        }
        ob_status st = ob_gen_write(&g, f, &c, &e);
        if (f != stdout && fclose(f) != 0 && !st)
            st = ob_err_set(&e, OB_EIO, "cannot write %s", out);
        return st ? fail("gen", &e) : 0;
    }
    ob_hub *h;
    int rc = open_hub(&o, true, &h);
    if (rc)
        return rc;
    FILE *tmp = tmpfile();
    if (!tmp) {
        ob_hub_close(h);
        fprintf(stderr, "overblik gen: cannot create a temporary file\n");
        return EXIT_STORAGE;
    }
    /* a generated database is marked as a demo one: only there may `tour` act in the
     * names of (synthetic) people (issue 24) */
    fputs("{\"type\":\"demo\"}\n", tmp);
    if (ob_gen_write(&g, tmp, &c, &e)) {
        fclose(tmp);
        ob_hub_close(h);
        return fail("gen", &e);
    }
    rewind(tmp);
    size_t count = 0;
    rc = import_file(h, tmp, "generated data", &count);
    fclose(tmp);
    ob_hub_close(h);
    if (!rc)
        printf("generated and loaded %zu records: %llu organisations, %llu professionals, "
               "%llu patients, %llu relationships, %llu data items, %llu blocks, %llu "
               "consents, %llu powers of attorney\n",
               count, (unsigned long long)c.orgs, (unsigned long long)c.professionals,
               (unsigned long long)c.patients, (unsigned long long)c.relationships,
               (unsigned long long)c.items, (unsigned long long)c.blocks,
               (unsigned long long)c.consents, (unsigned long long)c.relatives);
    return rc;
}

int cmd_load(int argc, char **argv)
{
    opts o;
    if (opts_parse(&o, argc, argv, gen_flags, db_valued) < 0)
        return EXIT_USAGE;
    if (opt_flag(&o, "help") || o.npos != 1) {
        printf("usage: overblik load [--db FILE] INPUT.ndjson   (- for stdin)\n"
               "Imports records in the import format (docs/formats.md), all or nothing:\n"
               "the first bad line is reported with its number and nothing is loaded.\n");
        return opt_flag(&o, "help") ? 0 : EXIT_USAGE;
    }
    FILE *f = strcmp(o.pos[0], "-") == 0 ? stdin : fopen(o.pos[0], "r");
    if (!f) {
        fprintf(stderr, "overblik load: cannot open %s: %s\n", shown(o.pos[0]), strerror(errno));
        return EXIT_STORAGE;
    }
    ob_hub *h;
    int rc = open_hub(&o, true, &h);
    if (!rc) {
        size_t count = 0;
        rc = import_file(h, f, o.pos[0], &count);
        if (!rc)
            printf("loaded %zu records from %s\n", count, o.pos[0]);
        ob_hub_close(h);
    }
    if (f != stdin)
        fclose(f);
    return rc;
}

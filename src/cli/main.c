/* main.c - the overblik command: dispatches to subcommands (docs/cli.md). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

#include <stdbool.h>
#include <stdlib.h>

#include "store/store.h"

#ifndef OB_VERSION
#define OB_VERSION "dev"
#endif

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
} commands[] = {
    {"init", cmd_init, "create a database and its key file"},
    {"gen", cmd_gen, "generate a synthetic Danish data set (and load it with --db)"},
    {"load", cmd_load, "import records (NDJSON, docs/formats.md), all or nothing"},
    {"decide", cmd_decide, "decide JSON access requests, one a line, and log each"},
    {"block", cmd_block, "create, list or lift a patient's blocks"},
    {"consent", cmd_consent, "create, list or revoke a patient's consents"},
    {"grant", cmd_grant, "end a power of attorney, a permission or a relationship"},
    {"listing", cmd_listing, "import GP listings from the health-insurance register"},
    {"log", cmd_log, "show, verify, prove or expire the access log"},
    {"witness", cmd_witness, "cosign a log's checkpoints; alarm on a wipe, rollback or fork"},
    {"stats", cmd_stats, "quality-cluster and planning statistics that identify no one"},
    {"backup", cmd_backup, "an online, verified copy of the database while it serves"},
    {"restore", cmd_restore, "put a verified backup in place as the database"},
    {"tour", cmd_tour, "a guided tour of decisions and the log on a loaded database"},
    {"serve", cmd_serve, "run the HTTP server (FHIR API, /healthz, /metrics)"},
    {"token", cmd_token, "mint a development bearer token (ES256) for the server"},
    {"cpr", cmd_cpr, "check CPR numbers read from standard input (never echoed)"},
    {"people", cmd_people, "who is in a database: patients, professionals, sources, orgs"},
    {"source", cmd_source, "list the source systems' state; declare one interrupted, resumed"},
};

static int usage(FILE *f, int code)
{
    fprintf(f, "usage: overblik <command> [options]   (overblik <command> --help)\n\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\nEvery command that takes --db FILE reads OVERBLIK_DB when --db is not given\n"
               "(else overblik.db in the current directory). overblik --version.\n"
               "Exit codes: 0 ok, 1 bad input (nothing changed), 2 usage, 3 storage,\n"
               "4 log tampering detected, 5 change refused by the rules.\n");
    return code;
}

/* Whether the database named (--db, --db=, or OVERBLIK_DB) is a PostgreSQL URI that this
 * command cannot use (issue 18): those that go through the hub with a named key file run
 * there (serve, load, gen, decide, the changes, people, listing, source, stats), the log's
 * show, verify, prove and expire, and the witness (it reads the log through store/log.h's
 * read calls and is given its state file); the file-bound ones (init, backup, restore,
 * token, tour, ...) do not. Checked here, once, so that no command derives a file name from
 * the URI and prints it (a URI may hold a password). */
static bool pg_db_refused(int argc, char **argv)
{
    const char *db = getenv("OVERBLIK_DB");
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--db") == 0 && i + 1 < argc)
            db = argv[i + 1];
        else if (strncmp(argv[i], "--db=", 5) == 0)
            db = argv[i] + 5;
    }
    if (!ob_store_where_is_pg(db))
        return false;
    static const char *const on_pg[] = {"serve",   "load",    "gen",    "decide",  "block",
                                        "consent", "grant",   "people", "listing", "source",
                                        "stats",   "witness", NULL};
    for (const char *const *c = on_pg; *c; c++)
        if (strcmp(argv[1], *c) == 0)
            return false;
    static const char *const log_on_pg[] = {"show",  "assistants", "verify",
                                            "prove", "expire",     NULL};
    if (strcmp(argv[1], "log") == 0 && argc > 2)
        for (const char *const *c = log_on_pg; *c; c++)
            if (strcmp(argv[2], *c) == 0)
                return false;
    return true;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage(stderr, EXIT_USAGE);
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0)
        return usage(stdout, 0);
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("overblik %s (FHIR R4 4.0.1; database schema v4; log format v2)\n", OB_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0) {
            if (pg_db_refused(argc, argv))
                return pg_not_yet(argv[1]);
            return commands[i].fn(argc - 2, argv + 2);
        }
    fprintf(stderr, "overblik: unknown command '%s'\n", shown(argv[1]));
    return usage(stderr, EXIT_USAGE);
}

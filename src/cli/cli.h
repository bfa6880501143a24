/* cli.h - shared pieces of the overblik command: option parsing, exit codes, opening
 * the hub. Each subcommand is a function `int cmd_x(int argc, char **argv)` returning
 * an exit code (docs/cli.md). Subcommands print; nothing below them does. */
#ifndef OB_CLI_CLI_H
#define OB_CLI_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "core/err.h"
#include "core/ndjson.h"
#include "service/hub.h"

enum {
    EXIT_OK_ = 0,
    EXIT_INPUT = 1,   /* bad input: nothing was changed */
    EXIT_USAGE = 2,   /* bad command line */
    EXIT_STORAGE = 3, /* database, key file or other I/O failure */
    EXIT_TAMPER = 4,  /* log verification failed */
    EXIT_DENIED = 5,  /* a change was refused by the rules */
};

#define DEFAULT_DB "overblik.db"

/* Minimal --name value / --flag parsing. Positional arguments are collected in order. */
typedef struct opts {
    int n;
    const char *names[32];
    const char *values[32];
    int npos;
    const char *pos[16];
} opts;

/* `flags` lists the options that take no value, NULL-terminated. Returns 0 or prints
 * a usage error and returns -1. */
int opts_parse(opts *o, int argc, char **argv, const char *const *flags, const char *const *valued);
const char *opt(const opts *o, const char *name, const char *dflt);
bool opt_flag(const opts *o, const char *name);
/* Reads s as a whole number from min to max into *out; else says so on stderr as
 * "overblik CMD: NAME must be ..." and returns -1. */
int opt_uint(const char *cmd, const char *name, const char *s, unsigned min, unsigned max,
             unsigned *out);
/* Writes s (NULL: empty) to f in a column `width` characters wide: cut after `width`
 * characters, never inside one (names carry æ, ø, å: two bytes each in UTF-8), padded
 * with spaces to the width. A byte that is not UTF-8 is written as '?'. */
void cli_col(FILE *f, const char *s, int width);

int exit_code_for(ob_status st);
int fail(const char *cmd, const ob_err *e);
/* text as an error message may show it: a text holding a CPR-like number (a file name,
 * a typo, a message quoting input) is replaced by a fixed note (R-CPR-2). */
const char *shown(const char *text);
int open_hub(const opts *o, bool with_log, ob_hub **h);
/* EXIT_STORAGE, having said where the database was looked for (--db, OVERBLIK_DB or the
 * default) and how to name another, when there is no file there; else 0. */
/* Refuses a postgresql:// --db for a command that does not run on PostgreSQL yet, without
 * echoing the URI (it may hold a password); returns the exit code. */
int pg_not_yet(const char *cmd);
int db_missing(const opts *o, const char *cmd);

/* The operator who enters a change (--operator, else $SUDO_USER, $USER, the account);
 * NULL, having said so, when there is none or it is not a plain name. */
const char *cli_operator_name(const opts *o);
/* The log entry's actor for a change an operator enters (strings: name and reason are
 * borrowed; the id lives in a thread-local buffer until the next call). */
void cli_operator_actor(const char *name, const char *reason, ob_log_entry *le);

int cmd_init(int argc, char **argv);
int cmd_witness(int argc, char **argv);
int cmd_gen(int argc, char **argv);
int cmd_load(int argc, char **argv);
int cmd_decide(int argc, char **argv);
int cmd_cpr(int argc, char **argv);
int cmd_source(int argc, char **argv);
int cmd_people(int argc, char **argv);
int cmd_block(int argc, char **argv);
int cmd_grant(int argc, char **argv);
int cmd_listing(int argc, char **argv);
int cmd_consent(int argc, char **argv);
int cmd_log(int argc, char **argv);
int cmd_tour(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_token(int argc, char **argv);
int cmd_backup(int argc, char **argv);
int cmd_restore(int argc, char **argv);

/* The development token key pair beside a database: <db without .db>.jwt.pem and
 * <db without .db>.jwks.json (both buffers cap bytes). */
void dev_key_paths(const char *db, char *pem, char *jwks, size_t cap);

#endif

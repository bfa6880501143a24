/* pg_fixture.h - a throwaway PostgreSQL 15 for the unit tests of the PostgreSQL backend
 * (issue 18: "one test suite, two backends"): pg_up starts one (scripts/pg/throwaway.sh:
 * initdb in a temporary directory, the unprivileged postgres account, a Unix socket only,
 * fsync on), pg_fresh_db gives each test its own database, pg_down stops it and removes
 * everything. For cmocka group set-up and tear-down. */
#ifndef OB_TESTS_PG_FIXTURE_H
#define OB_TESTS_PG_FIXTURE_H

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char pg_dir[64], pg_base[256];

static inline void pg_sh(const char *fmt, const char *arg, char *out, size_t cap)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, fmt, getenv("OB_SOURCE_DIR") ? getenv("OB_SOURCE_DIR") : ".", arg);
    FILE *p = popen(cmd, "r");
    if (!p)
        fail_msg("cannot run %s", cmd);
    if (out) {
        out[0] = '\0';
        if (!fgets(out, (int)cap, p))
            out[0] = '\0';
        out[strcspn(out, "\n")] = '\0';
    }
    char sink[256];
    while (fgets(sink, sizeof sink, p))
        ;
    if (pclose(p) != 0)
        fail_msg("failed: %s", cmd);
}

static inline int pg_up(void)
{
    snprintf(pg_dir, sizeof pg_dir, "/tmp/obpg.XXXXXX");
    if (!mkdtemp(pg_dir) || chmod(pg_dir, 0755) != 0)
        return -1;
    char d[128];
    snprintf(d, sizeof d, "%s/pg", pg_dir);
    pg_sh("bash %s/scripts/pg/throwaway.sh start %s", d, pg_base, sizeof pg_base);
    return pg_base[0] ? 0 : -1;
}

static inline int pg_down(void)
{
    char d[128];
    snprintf(d, sizeof d, "%s/pg", pg_dir);
    pg_sh("bash %s/scripts/pg/throwaway.sh stop %s", d, NULL, 0);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", pg_dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* cmocka group set-up and tear-down: one throwaway PostgreSQL for a test file. */
static inline int pg_group_up(void **state)
{
    (void)state;
    return pg_up();
}

static inline int pg_group_down(void **state)
{
    (void)state;
    return pg_down();
}

/* A fresh database `name` created WITH `opts` (SQL, may be ""); its conninfo into out. */
static inline void pg_fresh_db_with(const char *name, const char *opts, char *out, size_t cap)
{
    PGconn *c = PQconnectdb(pg_base);
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("connect: %s", PQerrorMessage(c));
    char sql[256];
    snprintf(sql, sizeof sql, "CREATE DATABASE %s %s", name, opts);
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
    snprintf(out, cap, "%s dbname=%s", pg_base, name); /* the last dbname wins */
}

/* A fresh database `name`; its conninfo into out. */
static inline void pg_fresh_db(const char *name, char *out, size_t cap)
{
    pg_fresh_db_with(name, "", out, cap);
}

/* A fresh database `name` as a postgresql:// URI (what `--db` and ob_store_open take). */
static inline void pg_fresh_uri(const char *name, char *out, size_t cap)
{
    char kv[320], host[160] = "", port[16] = "";
    /* Danish collation (ICU), as a Danish operator would create it: text sorts by language
     * there, so a backend that relies on the database's order gives another order than
     * SQLite's bytewise one */
    pg_fresh_db_with(name, "TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'da-DK' LOCALE 'C'",
                     kv, sizeof kv);
    if (sscanf(pg_base, "host=%159s port=%15s", host, port) != 2)
        fail_msg("unexpected conninfo %s", pg_base);
    snprintf(out, cap, "postgresql:///%s?host=%s&port=%s&user=postgres", name, host, port);
}

/* Runs sql (one or more statements) on conninfo; fails the test if it fails. */
static inline void pg_exec(const char *conninfo, const char *sql)
{
    PGconn *c = PQconnectdb(conninfo);
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("connect: %s", PQerrorMessage(c));
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
}

/* Column 0 of every row sql gives, as strings (the caller frees with pg_free_column). */
static inline char **pg_column(const char *conninfo, const char *sql, int *n)
{
    PGconn *c = PQconnectdb(conninfo);
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    *n = PQntuples(r);
    char **out = calloc((size_t)*n + 1, sizeof *out);
    for (int i = 0; i < *n; i++)
        out[i] = strdup(PQgetvalue(r, i, 0));
    PQclear(r);
    PQfinish(c);
    return out;
}

static inline void pg_free_column(char **v, int n)
{
    for (int i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* A "server" in a child process (fork before any thread starts: a child forked from
 * threads cannot start its own under ThreadSanitizer): fn(conninfo, fd) runs there and
 * writes lines to fd; the parent reads them from the stream returned. */
static inline FILE *pg_spawn(void (*fn)(const char *conninfo, int fd), const char *conninfo,
                             pid_t *pid)
{
    int fds[2];
    if (pipe(fds) != 0)
        fail_msg("pipe");
    *pid = fork();
    if (*pid < 0)
        fail_msg("fork");
    if (*pid == 0) {
        close(fds[0]);
        fn(conninfo, fds[1]);
        _exit(0);
    }
    close(fds[1]);
    return fdopen(fds[0], "r");
}

#endif

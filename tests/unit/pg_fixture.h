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

/* A fresh database `name`; its conninfo into out. */
static inline void pg_fresh_db(const char *name, char *out, size_t cap)
{
    PGconn *c = PQconnectdb(pg_base);
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("connect: %s", PQerrorMessage(c));
    char sql[128];
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
    snprintf(out, cap, "%s dbname=%s", pg_base, name); /* the last dbname wins */
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

#endif

/* util.h - shared helpers for the access-log tests: a throwaway key pair, a temp
 * database path, a sample entry and a raw SQLite handle for editing the file behind the
 * log's back. Header-only so each test_*.c stays one executable. */
#ifndef OB_TEST_LOG_UTIL_H
#define OB_TEST_LOG_UTIL_H

#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/sqlite/log_index.h"
#include "store/sqlite/log_sqlite.h"
#include "store/store.h"

static inline void tl_keys(ob_log_config *cfg, uint32_t every)
{
    memset(cfg, 0, sizeof *cfg);
    if (sodium_init() < 0)
        abort();
    crypto_sign_ed25519_keypair(cfg->pk, cfg->sk);
    cfg->checkpoint_every = every;
}

/* A fresh database path under TMPDIR (or /tmp); the caller removes it (tl_rm). */
static inline void tl_path(char *buf, size_t cap, const char *tag)
{
    const char *dir = getenv("TMPDIR");
    snprintf(buf, cap, "%s/oblog-%s-%ld-%u.db", dir ? dir : "/tmp", tag, (long)getpid(),
             (unsigned)randombytes_random());
}

static inline void tl_rm(const char *path)
{
    ob_store_remove(path);
}

/* Entry i: varied fields so that swapped rows differ. */
static inline ob_log_entry tl_entry(int i, char *buf, size_t cap)
{
    snprintf(buf, cap, "pat-%d", i % 7);
    ob_log_entry e = {
        .time = 1767225600 + i,
        .event = OB_EV_DECISION,
        .capacity = 0,
        .permit = (i % 3) != 0,
        .override = (i % 11) == 0,
        .actor_id = (i % 2) ? "prof-1" : "asst-2",
        .actor_name = (i % 2) ? "Dr. Hansen" : "Sekretær Jensen",
        .actor_role = (i % 2) ? "doctor" : "secretary",
        .actor_org = "org-7",
        .actor_org_name = "Lægehuset Vest",
        .on_behalf_of = (i % 2) ? "" : "prof-1",
        .patient = buf,
        .category = "lab_result",
        .resource = NULL,
        .purpose = "TREAT",
        .rule = "R-ACC-1",
        .legal_basis = "Sundhedsloven §42a",
        .reason = "treatment relationship",
        .justification = (i % 11) == 0 ? "akut" : "",
    };
    return e;
}

static inline sqlite3 *tl_raw(const char *path)
{
    sqlite3 *db = NULL;
    if (sqlite3_open(path, &db) != SQLITE_OK)
        abort();
    return db;
}

static inline int tl_exec(const char *path, const char *sql)
{
    sqlite3 *db = tl_raw(path);
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    sqlite3_close(db);
    return rc;
}

/* The first column of the first row of sql, or -1. */
static inline long long tl_scalar(const char *path, const char *sql)
{
    sqlite3 *db = tl_raw(path);
    sqlite3_stmt *st;
    long long v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW)
            v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return v;
}

#endif

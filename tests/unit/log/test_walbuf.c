/* test_walbuf.c - the "ob-walbuf" VFS (store/sqlite/walbuf.h) that gathers the log writer's WAL
 * writes: large commits, transactions that spill pages into the WAL before COMMIT (so
 * SQLite reads back frames that may still be buffered), rolled-back savepoints and
 * transactions, checkpoints, a commit without a sync, and readers on the default VFS
 * that must see every committed row and nothing else. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "store/sqlite/walbuf.h"
#include "unit/log/util.h"

static void ok(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        fail_msg("%s: %s", sql, msg ? msg : "?");
}

static long count(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    long n = (long)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

/* Inserts n rows of 300 bytes each (ids from first), about 13 rows per 4 KiB page. */
static void insert(sqlite3 *db, int first, int n)
{
    char sql[200];
    snprintf(sql, sizeof sql,
             "WITH RECURSIVE c(i) AS (SELECT %d UNION ALL SELECT i + 1 FROM c WHERE i < %d)"
             " INSERT INTO t SELECT i, randomblob(300) FROM c",
             first, first + n - 1);
    ok(db, sql);
}

static void check(sqlite3 *reader, long rows)
{
    assert_int_equal(count(reader, "SELECT count(*) FROM t"), rows);
    assert_int_equal(count(reader, "SELECT count(*) FROM t WHERE length(b) <> 300"), 0);
}

static void test_walbuf(void **state)
{
    (void)state;
    char path[256];
    tl_path(path, sizeof path, "walbuf");
    assert_int_equal(ob_walbuf_register(), SQLITE_OK);
    assert_int_equal(ob_walbuf_register(), SQLITE_OK); /* idempotent */
    sqlite3 *w = NULL, *r = NULL;
    assert_int_equal(
        sqlite3_open_v2(path, &w, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, OB_WALBUF_VFS),
        SQLITE_OK);
    ok(w, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA wal_autocheckpoint=0;"
          " CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB); CREATE INDEX t_b ON t(b)");
    assert_int_equal(sqlite3_open_v2(path, &r, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);

    /* A commit of about 1,000 pages: many times the buffer. */
    ok(w, "BEGIN IMMEDIATE");
    insert(w, 1, 6000);
    check(r, 0); /* nothing visible before COMMIT */
    ok(w, "COMMIT");
    check(r, 6000);

    /* A small cache makes SQLite spill pages into the WAL inside the transaction and
     * read them back; a savepoint rollback rewrites the spilled state. */
    ok(w, "PRAGMA cache_size=20; BEGIN IMMEDIATE");
    insert(w, 6001, 3000);
    ok(w, "SAVEPOINT s");
    insert(w, 9001, 3000);
    assert_int_equal(count(w, "SELECT count(*) FROM t"), 12000);
    ok(w, "ROLLBACK TO s; RELEASE s");
    assert_int_equal(count(w, "SELECT count(*) FROM t"), 9000);
    check(r, 6000);
    ok(w, "COMMIT");
    check(r, 9000);

    /* A spilled transaction rolled back leaves nothing. */
    ok(w, "BEGIN IMMEDIATE");
    insert(w, 20001, 4000);
    ok(w, "ROLLBACK");
    check(r, 9000);
    assert_int_equal(count(w, "SELECT count(*) FROM t"), 9000);

    /* A checkpoint copies the WAL into the database; the WAL restarts from its start. */
    ok(w, "PRAGMA wal_checkpoint(TRUNCATE)");
    ok(w, "BEGIN IMMEDIATE");
    insert(w, 30001, 500);
    ok(w, "COMMIT");
    check(r, 9500);

    /* With synchronous=NORMAL a commit is not synced, so nothing writes the buffer out
     * on the WAL file itself; the database file's barrier before the wal-index header
     * is published must. */
    ok(w, "PRAGMA synchronous=NORMAL; BEGIN IMMEDIATE");
    insert(w, 40001, 20);
    ok(w, "COMMIT");
    check(r, 9520);
    sqlite3_close(r);
    assert_int_equal(sqlite3_close(w), SQLITE_OK);

    /* Reopened on the default VFS: all there, and the file is sound. */
    assert_int_equal(sqlite3_open_v2(path, &r, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    check(r, 9520);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(r, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
    sqlite3_close(r);
    tl_rm(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_walbuf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* backup.c - the database's online backup and restore over SQLite's backup API
 * (backup.h). */
#include "store/sqlite/backup.h"

#include <sqlite3.h>
#include <string.h>
#include <time.h>

/* The whole copy in one step: one read transaction on the source, so a consistent
 * snapshot. In steps, every commit of the server in between would restart it. BUSY and
 * LOCKED (the source's writer is checkpointing, the target's lock) are waited out, for
 * at most about 10 s. */
static ob_status copy_all(sqlite3 *from, sqlite3 *to, const char *what, ob_err *e)
{
    sqlite3_backup *b = sqlite3_backup_init(to, "main", from, "main");
    if (!b)
        return ob_err_set(e, OB_EIO, "%s: %s", what, sqlite3_errmsg(to));
    int rc;
    for (int tries = 0;; tries++) {
        rc = sqlite3_backup_step(b, -1);
        if ((rc != SQLITE_BUSY && rc != SQLITE_LOCKED) || tries >= 1000)
            break;
        struct timespec ms = {0, 10 * 1000 * 1000};
        nanosleep(&ms, NULL);
    }
    int frc = sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE || frc != SQLITE_OK)
        return ob_err_set(e, OB_EIO, "%s: %s", what, sqlite3_errstr(rc != SQLITE_DONE ? rc : frc));
    return OB_OK;
}

static ob_status open_conn(const char *path, int flags, sqlite3 **out, ob_err *e)
{
    *out = NULL;
    if (sqlite3_open_v2(path, out, flags, NULL) != SQLITE_OK) {
        ob_status st = ob_err_set(e, OB_EIO, "cannot open %s: %s", path,
                                  *out ? sqlite3_errmsg(*out) : "out of memory");
        sqlite3_close(*out);
        *out = NULL;
        return st;
    }
    sqlite3_busy_timeout(*out, 10000);
    return OB_OK;
}

ob_status ob_store_backup(const char *src, const char *dst, ob_err *e)
{
    sqlite3 *from = NULL, *to = NULL;
    /* SQLITE_OPEN_EXCLUSIVE is honoured by the unix VFS (O_EXCL): never over a file. */
    ob_status st = open_conn(src, SQLITE_OPEN_READONLY, &from, e);
    if (st == OB_OK &&
        sqlite3_open_v2(dst, &to,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_EXCLUSIVE,
                        NULL) != SQLITE_OK)
        st = ob_err_set(e, sqlite3_extended_errcode(to) == SQLITE_CANTOPEN ? OB_EINVAL : OB_EIO,
                        "cannot create %s (it must not exist yet): %s", dst,
                        to ? sqlite3_errmsg(to) : "out of memory");
    if (st == OB_OK)
        st = copy_all(from, to, "backing up", e);
    /* The pages carry the source's WAL mode; the copy is one file. synchronous=FULL (the
     * default) syncs it when the journal mode changes. */
    char *msg = NULL;
    if (st == OB_OK && sqlite3_exec(to,
                                    "PRAGMA journal_mode=DELETE; PRAGMA synchronous=FULL;"
                                    " PRAGMA user_version",
                                    NULL, NULL, &msg) != SQLITE_OK)
        st = ob_err_set(e, OB_EIO, "finishing the copy %s: %s", dst, msg ? msg : "?");
    sqlite3_free(msg);
    sqlite3_close(to);
    sqlite3_close(from);
    return st;
}

ob_status ob_store_restore(const char *src, const char *dst, ob_err *e)
{
    sqlite3 *from = NULL, *to = NULL;
    ob_status st = open_conn(src, SQLITE_OPEN_READONLY, &from, e);
    if (st == OB_OK)
        st = open_conn(dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &to, e);
    char *msg = NULL;
    if (st == OB_OK && sqlite3_exec(to, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL", NULL,
                                    NULL, &msg) != SQLITE_OK)
        st = ob_err_set(e, OB_EIO, "opening %s: %s", dst, msg ? msg : "?");
    sqlite3_free(msg);
    if (st == OB_OK)
        st = copy_all(from, to, "restoring", e);
    sqlite3_close(to);
    sqlite3_close(from);
    return st;
}

ob_status ob_store_check(const char *path, ob_err *e)
{
    sqlite3 *db = NULL;
    ob_status st = open_conn(path, SQLITE_OPEN_READONLY, &db, e);
    sqlite3_stmt *q = NULL;
    if (st == OB_OK &&
        sqlite3_prepare_v2(db, "PRAGMA integrity_check(1)", -1, &q, NULL) != SQLITE_OK)
        st = ob_err_set(e, OB_EIO, "checking %s: %s", path, sqlite3_errmsg(db));
    if (st == OB_OK) {
        int rc = sqlite3_step(q);
        const char *r = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(q, 0) : NULL;
        if (!r)
            st = ob_err_set(e, OB_EIO, "checking %s: %s", path, sqlite3_errmsg(db));
        else if (strcmp(r, "ok") != 0)
            st = ob_err_set(e, OB_ETAMPER, "%s is damaged: %s", path, r);
    }
    sqlite3_finalize(q);
    sqlite3_close(db);
    return st;
}

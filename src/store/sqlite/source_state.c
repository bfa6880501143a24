/* source_state.c - the source_state table (see source_state.h).
 *
 * Schema (migration v4):
 *   source_state(client TEXT PRIMARY KEY, last_update INTEGER NOT NULL, since INTEGER NOT
 *                NULL, reason TEXT) WITHOUT ROWID   -- times ob_time seconds, 0: none */
#include "store/sqlite/source_state.h"

#include "store/sqlite/sqlite.h"

const char ob_source_state_schema_sql[] =
    "CREATE TABLE source_state(client TEXT PRIMARY KEY, last_update INTEGER NOT NULL,"
    " since INTEGER NOT NULL, reason TEXT) WITHOUT ROWID;";

static ob_status db_err(sqlite3 *db, ob_err *e, const char *what)
{
    return ob_err_set(e, OB_EIO, "%s: %s", what, sqlite3_errmsg(db));
}

ob_status ob_source_touch(sqlite3 *db, const char *client, ob_time t, ob_err *e)
{
    sqlite3_stmt *st = ob_sqlite_stmt(db,
                                      "INSERT INTO source_state(client, last_update, since) "
                                      "VALUES(?1, ?2, 0) ON CONFLICT(client) DO UPDATE SET "
                                      "last_update = max(last_update, excluded.last_update)",
                                      e);
    if (!st)
        return OB_EIO;
    sqlite3_bind_text(st, 1, client, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, t);
    int r = sqlite3_step(st);
    ob_sqlite_done(st);
    return r == SQLITE_DONE ? OB_OK : db_err(db, e, "recording a source's delivery");
}

ob_status ob_source_declare(sqlite3 *db, const char *client, ob_time since, const char *reason,
                            ob_err *e)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO source_state(client, last_update, since, reason) "
                           "VALUES(?1, 0, ?2, ?3) ON CONFLICT(client) DO UPDATE SET "
                           "since = excluded.since, reason = excluded.reason",
                           -1, &st, NULL) != SQLITE_OK)
        return db_err(db, e, "preparing a source's state");
    sqlite3_bind_text(st, 1, client, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, since);
    if (since && reason)
        sqlite3_bind_text(st, 3, reason, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 3);
    int r = sqlite3_step(st);
    sqlite3_finalize(st);
    return r == SQLITE_DONE ? OB_OK : db_err(db, e, "recording a source's state");
}

ob_status ob_source_state_each(sqlite3 *db, ob_source_state_fn fn, void *ctx, ob_err *e)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT client, last_update, since, reason FROM source_state "
                           "ORDER BY client",
                           -1, &st, NULL) != SQLITE_OK)
        return db_err(db, e, "reading the sources' state");
    ob_status rc = OB_OK;
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW &&
           (rc = fn(ctx, (const char *)sqlite3_column_text(st, 0), sqlite3_column_int64(st, 1),
                    sqlite3_column_int64(st, 2), (const char *)sqlite3_column_text(st, 3), e)) ==
               OB_OK)
        ;
    if (!rc && r != SQLITE_DONE)
        rc = db_err(db, e, "reading the sources' state");
    sqlite3_finalize(st);
    return rc;
}

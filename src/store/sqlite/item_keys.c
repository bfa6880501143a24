/* item_keys.c - the item_keys table and the item rows a source system writes (see
 * item_keys.h).
 *
 * Schema (migration v3):
 *   item_keys(n INTEGER PRIMARY KEY, source, ident_system, ident_value, category, patient,
 *             version INTEGER, withdrawn INTEGER, updated INTEGER,
 *             UNIQUE(source, ident_system, ident_value)) */
#include "store/sqlite/item_keys.h"

#include "store/sqlite/sqlite.h"

#include <stdio.h>
#include <string.h>

const char ob_item_keys_schema_sql[] =
    "CREATE TABLE item_keys(n INTEGER PRIMARY KEY, source TEXT NOT NULL,"
    " ident_system TEXT NOT NULL, ident_value TEXT NOT NULL, category TEXT NOT NULL,"
    " patient TEXT NOT NULL, version INTEGER NOT NULL, withdrawn INTEGER NOT NULL,"
    " updated INTEGER NOT NULL, UNIQUE(source, ident_system, ident_value));";

static ob_status db_err(sqlite3 *db, ob_err *e, const char *what)
{
    return ob_err_set(e, OB_EIO, "%s: %s", what, sqlite3_errmsg(db));
}

ob_status ob_item_key_find(sqlite3 *db, const char *source, const char *system, const char *value,
                           ob_item_key *out, bool *found, ob_err *e)
{
    memset(out, 0, sizeof *out);
    *found = false;
    sqlite3_stmt *st = ob_sqlite_stmt(db,
                                      "SELECT n, category, patient, version, withdrawn FROM "
                                      "item_keys WHERE source=?1 AND ident_system=?2 AND "
                                      "ident_value=?3",
                                      e);
    if (!st)
        return OB_EIO;
    sqlite3_bind_text(st, 1, source, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, system, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, value, -1, SQLITE_STATIC);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        *found = true;
        out->n = sqlite3_column_int64(st, 0);
        snprintf(out->category, sizeof out->category, "%s",
                 (const char *)sqlite3_column_text(st, 1));
        const char *p = (const char *)sqlite3_column_text(st, 2);
        if (p && strlen(p) < sizeof out->patient)
            memcpy(out->patient, p, strlen(p) + 1);
        out->version = sqlite3_column_int64(st, 3);
        out->withdrawn = sqlite3_column_int(st, 4) != 0;
    }
    ob_sqlite_done(st);
    if (r != SQLITE_ROW && r != SQLITE_DONE)
        return db_err(db, e, "reading an item key");
    return OB_OK;
}

ob_status ob_item_key_put(sqlite3 *db, const char *source, const char *system, const char *value,
                          ob_item_key *k, ob_time updated, ob_err *e)
{
    const char *sql = k->n > 0 ? "UPDATE item_keys SET category=?4, patient=?5, version=?6, "
                                 "withdrawn=?7, updated=?8 WHERE n=?9"
                               : "INSERT INTO item_keys(source, ident_system, ident_value, "
                                 "category, patient, version, withdrawn, updated) "
                                 "VALUES(?1,?2,?3,?4,?5,?6,?7,?8)";
    sqlite3_stmt *st = ob_sqlite_stmt(db, sql, e);
    if (!st)
        return OB_EIO;
    if (k->n <= 0) {
        sqlite3_bind_text(st, 1, source, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, system, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, value, -1, SQLITE_STATIC);
    } else {
        sqlite3_bind_int64(st, 9, k->n);
    }
    sqlite3_bind_text(st, 4, k->category, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, k->patient, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, k->version);
    sqlite3_bind_int(st, 7, k->withdrawn);
    sqlite3_bind_int64(st, 8, updated);
    int r = sqlite3_step(st);
    ob_sqlite_done(st);
    if (r != SQLITE_DONE)
        return db_err(db, e, "writing an item key");
    if (k->n <= 0)
        k->n = sqlite3_last_insert_rowid(db);
    return OB_OK;
}

ob_status ob_item_row_replace(sqlite3 *db, const ob_item *it, ob_err *e)
{
    sqlite3_stmt *st = ob_sqlite_stmt(db,
                                      "INSERT OR REPLACE INTO items(id, patient, category, "
                                      "origin, time, source, code, value, json) "
                                      "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9)",
                                      e);
    if (!st)
        return OB_EIO;
    ob_sqlite_bind_item(st, it);
    int r = sqlite3_step(st);
    ob_sqlite_done(st);
    if (r != SQLITE_DONE)
        return db_err(db, e, "writing an item");
    return OB_OK;
}

ob_status ob_item_row_delete(sqlite3 *db, const char *id, ob_err *e)
{
    sqlite3_stmt *st = ob_sqlite_stmt(db, "DELETE FROM items WHERE id=?1", e);
    if (!st)
        return OB_EIO;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int r = sqlite3_step(st);
    ob_sqlite_done(st);
    if (r != SQLITE_DONE)
        return db_err(db, e, "deleting an item");
    return OB_OK;
}

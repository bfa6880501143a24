/* appointments.c - the appointments table (see appointments.h).
 *
 * Schema (migration v2):
 *   appointments(id INTEGER PRIMARY KEY, source, ident_system, ident_value, patient,
 *                start INTEGER, end_time INTEGER, fictive_end INTEGER, address, clinic,
 *                status, shared INTEGER, version INTEGER, updated INTEGER,
 *                UNIQUE(source, ident_system, ident_value))
 *   with an index on (patient, start).
 * Times are ob_time seconds. Statements are prepared per call (SQLite keeps no statement
 * cache), except the per-patient search, the hot read of every appointment search, whose
 * statement is kept with the store's reader (ob_apt_each_patient_pooled, sqlite.h), and
 * the writes inside the log's transactions, kept on the writer's connection
 * (ob_sqlite_stmt: a transaction Bundle writes a thousand). */
#include "store/sqlite/appointments.h"

#include <string.h>

const char ob_apt_schema_sql[] =
    "CREATE TABLE appointments(id INTEGER PRIMARY KEY, source TEXT NOT NULL,"
    " ident_system TEXT NOT NULL, ident_value TEXT NOT NULL, patient TEXT NOT NULL,"
    " start INTEGER NOT NULL, end_time INTEGER NOT NULL, fictive_end INTEGER NOT NULL,"
    " address TEXT, clinic TEXT NOT NULL, status TEXT NOT NULL, shared INTEGER NOT NULL,"
    " version INTEGER NOT NULL, updated INTEGER NOT NULL,"
    " UNIQUE(source, ident_system, ident_value));"
    "CREATE INDEX appointments_patient ON appointments(patient, start);";

#define APT_COLS                                                                                   \
    "id, source, ident_system, ident_value, patient, start, end_time, fictive_end, address, "      \
    "clinic, status, shared, version, updated"

static ob_status db_err(sqlite3 *db, ob_err *e, const char *what)
{
    return ob_err_set(e, OB_EIO, "%s: %s", what, sqlite3_errmsg(db));
}

static void row(sqlite3_stmt *st, ob_apt *a)
{
    a->id = sqlite3_column_int64(st, 0);
    a->source = (const char *)sqlite3_column_text(st, 1);
    a->system = (const char *)sqlite3_column_text(st, 2);
    a->value = (const char *)sqlite3_column_text(st, 3);
    a->patient = (const char *)sqlite3_column_text(st, 4);
    a->start = sqlite3_column_int64(st, 5);
    a->end = sqlite3_column_int64(st, 6);
    a->fictive_end = sqlite3_column_int(st, 7) != 0;
    a->address = (const char *)sqlite3_column_text(st, 8);
    a->clinic = (const char *)sqlite3_column_text(st, 9);
    a->status = (const char *)sqlite3_column_text(st, 10);
    a->shared = sqlite3_column_int(st, 11) != 0;
    a->version = sqlite3_column_int64(st, 12);
    a->updated = sqlite3_column_int64(st, 13);
}

static ob_status each_rows(sqlite3 *db, sqlite3_stmt *st, ob_apt_fn fn, void *ctx, ob_err *e)
{
    ob_status rc = OB_OK;
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        ob_apt a;
        row(st, &a);
        if ((rc = fn(ctx, &a, e)))
            break;
    }
    if (!rc && r != SQLITE_DONE && r != SQLITE_ROW)
        rc = db_err(db, e, "reading appointments");
    return rc;
}

static ob_status each(sqlite3 *db, sqlite3_stmt *st, ob_apt_fn fn, void *ctx, ob_err *e)
{
    ob_status rc = each_rows(db, st, fn, ctx, e);
    sqlite3_finalize(st);
    return rc;
}

static ob_status prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st, ob_err *e)
{
    if (sqlite3_prepare_v2(db, sql, -1, st, NULL) != SQLITE_OK)
        return db_err(db, e, "preparing an appointment statement");
    return OB_OK;
}

ob_status ob_apt_find_key(sqlite3 *db, const char *source, const char *system, const char *value,
                          ob_apt_fn fn, void *ctx, ob_err *e)
{
    sqlite3_stmt *st;
    ob_status rc = prepare(db,
                           "SELECT " APT_COLS " FROM appointments WHERE source=?1 AND "
                           "ident_system=?2 AND ident_value=?3",
                           &st, e);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, source, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, system ? system : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, value, -1, SQLITE_STATIC);
    return each(db, st, fn, ctx, e);
}

ob_status ob_apt_find_key_tx(sqlite3 *db, const char *source, const char *system, const char *value,
                             ob_apt_fn fn, void *ctx, ob_err *e)
{
    sqlite3_stmt *st = ob_sqlite_stmt(db,
                                      "SELECT " APT_COLS " FROM appointments WHERE source=?1 AND "
                                      "ident_system=?2 AND ident_value=?3",
                                      e);
    if (!st)
        return OB_EIO;
    sqlite3_bind_text(st, 1, source, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, system ? system : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, value, -1, SQLITE_STATIC);
    ob_status rc = each_rows(db, st, fn, ctx, e);
    ob_sqlite_done(st);
    return rc;
}

static const char each_patient_sql[] =
    "SELECT " APT_COLS " FROM appointments WHERE patient=?1 ORDER BY start, id";

ob_status ob_apt_each_patient_pooled(ob_store *s, const char *patient, ob_apt_fn fn, void *ctx,
                                     ob_err *e)
{
    ob_store_reader *r;
    ob_status rc = ob_store_reader_take(s, &r, e);
    if (rc)
        return rc;
    sqlite3_stmt *st = ob_store_reader_stmt(r, each_patient_sql, e);
    if (!st) {
        ob_store_reader_give(s, r);
        return OB_EIO;
    }
    sqlite3_bind_text(st, 1, patient, -1, SQLITE_STATIC);
    rc = each_rows(ob_store_reader_db(r), st, fn, ctx, e);
    ob_store_reader_give(s, r);
    return rc;
}

ob_status ob_apt_each_patient(sqlite3 *db, const char *patient, ob_apt_fn fn, void *ctx, ob_err *e)
{
    sqlite3_stmt *st;
    ob_status rc = prepare(db, each_patient_sql, &st, e);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, patient, -1, SQLITE_STATIC);
    return each(db, st, fn, ctx, e);
}

ob_status ob_apt_get(sqlite3 *db, int64_t id, ob_apt_fn fn, void *ctx, ob_err *e)
{
    sqlite3_stmt *st;
    ob_status rc = prepare(db, "SELECT " APT_COLS " FROM appointments WHERE id=?1", &st, e);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    return each(db, st, fn, ctx, e);
}

static ob_status existing(void *ctx, const ob_apt *a, ob_err *e)
{
    (void)e;
    int64_t *idver = ctx;
    idver[0] = a->id;
    idver[1] = a->version;
    return OB_OK;
}

ob_status ob_apt_upsert(sqlite3 *db, ob_apt *a, bool *created, ob_err *e)
{
    int64_t idver[2] = {0, 0};
    ob_status rc = ob_apt_find_key_tx(db, a->source, a->system, a->value, existing, idver, e);
    return rc ? rc : ob_apt_store(db, a, idver[0], idver[1], created, e);
}

ob_status ob_apt_store(sqlite3 *db, ob_apt *a, int64_t id, int64_t version, bool *created,
                       ob_err *e)
{
    int64_t idver[2] = {id, version};
    sqlite3_stmt *st =
        idver[0] ? ob_sqlite_stmt(db,
                                  "UPDATE appointments SET patient=?4, start=?5, end_time=?6, "
                                  "fictive_end=?7, address=?8, clinic=?9, status=?10, shared=?11, "
                                  "version=?12, updated=?13 WHERE id=?14",
                                  e)
                 : ob_sqlite_stmt(db,
                                  "INSERT INTO appointments(source, ident_system, ident_value, "
                                  "patient, start, end_time, fictive_end, address, clinic, status, "
                                  "shared, version, updated) "
                                  "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)",
                                  e);
    if (!st)
        return OB_EIO;
    a->version = idver[0] ? idver[1] + 1 : 1;
    if (!idver[0]) {
        sqlite3_bind_text(st, 1, a->source, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, a->system ? a->system : "", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, a->value, -1, SQLITE_STATIC);
    } else {
        sqlite3_bind_int64(st, 14, idver[0]);
    }
    sqlite3_bind_text(st, 4, a->patient, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, a->start);
    sqlite3_bind_int64(st, 6, a->end);
    sqlite3_bind_int(st, 7, a->fictive_end);
    if (a->address)
        sqlite3_bind_text(st, 8, a->address, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 8);
    sqlite3_bind_text(st, 9, a->clinic, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 10, a->status, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 11, a->shared);
    sqlite3_bind_int64(st, 12, a->version);
    sqlite3_bind_int64(st, 13, a->updated);
    int r = sqlite3_step(st);
    ob_sqlite_done(st);
    if (r != SQLITE_DONE)
        return db_err(db, e, "storing an appointment");
    a->id = idver[0] ? idver[0] : sqlite3_last_insert_rowid(db);
    if (created)
        *created = idver[0] == 0;
    return OB_OK;
}

ob_status ob_apt_each_system(sqlite3 *db, ob_apt_system_fn fn, void *ctx, ob_err *e)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT ident_system, source FROM appointments UNION "
                           "SELECT ident_system, source FROM item_keys",
                           -1, &st, NULL) != SQLITE_OK)
        return db_err(db, e, "reading the identifier systems in use");
    ob_status rc = OB_OK;
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW &&
           (rc = fn(ctx, (const char *)sqlite3_column_text(st, 0),
                    (const char *)sqlite3_column_text(st, 1), e)) == OB_OK)
        ;
    if (!rc && r != SQLITE_DONE)
        rc = db_err(db, e, "reading the identifier systems in use");
    sqlite3_finalize(st);
    return rc;
}

/* ---- store.h's appointment calls on SQLite (the ops table in sqlite.c) ---- */

ob_status ob_sqlite_apt_upsert(ob_store *s, ob_apt *a, bool *created, ob_err *e)
{
    return ob_apt_upsert(ob_store_db(s), a, created, e);
}

ob_status ob_sqlite_apt_get(ob_store *s, int64_t id, ob_apt_fn fn, void *ctx, ob_err *e)
{
    ob_store_reader *r;
    ob_status rc = ob_store_reader_take(s, &r, e);
    if (rc)
        return rc;
    rc = ob_apt_get(ob_store_reader_db(r), id, fn, ctx, e);
    ob_store_reader_give(s, r);
    return rc;
}

ob_status ob_sqlite_apt_find_key(ob_store *s, const char *source, const char *system,
                                 const char *value, ob_apt_fn fn, void *ctx, ob_err *e)
{
    ob_store_reader *r;
    ob_status rc = ob_store_reader_take(s, &r, e);
    if (rc)
        return rc;
    rc = ob_apt_find_key(ob_store_reader_db(r), source, system, value, fn, ctx, e);
    ob_store_reader_give(s, r);
    return rc;
}

/* tx.c - store.h's writes inside a change's transaction, on SQLite: the connection is the
 * one the transaction runs on (the log's writer, or the store's own in ob_store_in_tx),
 * and every statement is kept on it (ob_sqlite_stmt), prepared once per connection. */
#include <sqlite3.h>

#include "store/backend.h"
#include "store/sqlite/appointments.h"
#include "store/sqlite/item_keys.h"
#include "store/sqlite/source_state.h"
#include "store/sqlite/sqlite.h"

static sqlite3 *db_of(ob_store_tx *tx)
{
    return tx->conn;
}

sqlite3 *ob_store_tx_sqlite(ob_store_tx *tx)
{
    return tx && tx->ops == &ob_store_sqlite_tx_ops ? tx->conn : NULL;
}

static ob_status step(sqlite3 *db, sqlite3_stmt *st, const char *what, ob_err *e)
{
    int r = sqlite3_step(st);
    ob_sqlite_done(st);
    if (r == SQLITE_CONSTRAINT)
        return ob_err_set(e, OB_EINVAL, "%s: id already exists", what);
    return r == SQLITE_DONE ? OB_OK : ob_err_set(e, OB_EIO, "%s: %s", what, sqlite3_errmsg(db));
}

static ob_status put_record(ob_store_tx *tx, const char *type, const char *json, ob_err *e)
{
    sqlite3 *db = db_of(tx);
    sqlite3_stmt *st = ob_sqlite_stmt(db, "INSERT INTO records(type, json) VALUES(?1, ?2)", e);
    if (!st)
        return OB_EIO;
    sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, json, -1, SQLITE_STATIC);
    return step(db, st, "storing a record", e);
}

static ob_status put_item(ob_store_tx *tx, const ob_item *it, ob_err *e)
{
    sqlite3 *db = db_of(tx);
    sqlite3_stmt *st = ob_sqlite_stmt(db,
                                      "INSERT INTO items(id, patient, category, origin, time, "
                                      "source, code, value, json) "
                                      "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9)",
                                      e);
    if (!st)
        return OB_EIO;
    ob_sqlite_bind_item(st, it);
    return step(db, st, "storing a data item", e);
}

static ob_status apt_find_key(ob_store_tx *tx, const char *source, const char *system,
                              const char *value, ob_apt_fn fn, void *ctx, ob_err *e)
{
    return ob_apt_find_key_tx(db_of(tx), source, system, value, fn, ctx, e);
}

static ob_status apt_store(ob_store_tx *tx, ob_apt *a, int64_t id, int64_t version, bool *created,
                           ob_err *e)
{
    return ob_apt_store(db_of(tx), a, id, version, created, e);
}

static ob_status apt_upsert(ob_store_tx *tx, ob_apt *a, bool *created, ob_err *e)
{
    return ob_apt_upsert(db_of(tx), a, created, e);
}

static ob_status item_key_find(ob_store_tx *tx, const char *source, const char *system,
                               const char *value, ob_item_key *out, bool *found, ob_err *e)
{
    return ob_item_key_find(db_of(tx), source, system, value, out, found, e);
}

static ob_status item_key_put(ob_store_tx *tx, const char *source, const char *system,
                              const char *value, ob_item_key *k, ob_time updated, ob_err *e)
{
    return ob_item_key_put(db_of(tx), source, system, value, k, updated, e);
}

static ob_status item_row_replace(ob_store_tx *tx, const ob_item *it, ob_err *e)
{
    return ob_item_row_replace(db_of(tx), it, e);
}

static ob_status item_row_delete(ob_store_tx *tx, const char *id, ob_err *e)
{
    return ob_item_row_delete(db_of(tx), id, e);
}

static ob_status source_touch(ob_store_tx *tx, const char *client, ob_time t, ob_err *e)
{
    return ob_source_touch(db_of(tx), client, t, e);
}

const ob_store_tx_ops ob_store_sqlite_tx_ops = {
    .put_record = put_record,
    .put_item = put_item,
    .apt_find_key = apt_find_key,
    .apt_store = apt_store,
    .apt_upsert = apt_upsert,
    .item_key_find = item_key_find,
    .item_key_put = item_key_put,
    .item_row_replace = item_row_replace,
    .item_row_delete = item_row_delete,
    .source_touch = source_touch,
    .stats = &ob_stats_sqlite_ops,
};

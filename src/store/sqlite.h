/* sqlite.h - SQLite-specific entry points of the store for code that runs inside a
 * transaction it does not own: the access log's writer thread calls these from an
 * apply callback so that a change and its log entry commit together (R-LOG-1).
 * A batch prepares its statements once; strings are borrowed for each call. */
#ifndef OB_STORE_SQLITE_H
#define OB_STORE_SQLITE_H

#include <sqlite3.h>

#include "store/store.h"

typedef struct ob_store_batch ob_store_batch;

ob_status ob_store_batch_begin(sqlite3 *db, ob_store_batch **out, ob_err *e);
ob_status ob_store_batch_record(ob_store_batch *b, const char *type, const char *json, ob_err *e);
ob_status ob_store_batch_item(ob_store_batch *b, const ob_item *it, ob_err *e);
void ob_store_batch_end(ob_store_batch *b);

/* The store's own connection, for reads of tables kept by other store modules
 * (appointments.h). Owned by the store; valid until ob_store_close. */
sqlite3 *ob_store_db(ob_store *s);

/* A prepared statement of the store's connection for `sql`, from a pool (prepared only
 * when none is free); NULL with e set on failure. `sql` is identified by its address: pass
 * the same static string to ob_store_stmt_give, which resets and unbinds the statement and
 * keeps it for the next caller. Thread-safe; every taken statement must be given back
 * before ob_store_close. */
sqlite3_stmt *ob_store_stmt_take(ob_store *s, const char *sql, ob_err *e);
void ob_store_stmt_give(ob_store *s, const char *sql, sqlite3_stmt *st);

#endif

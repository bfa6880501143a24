/* sqlite.h - SQLite-specific entry points of the store: statements kept on a connection,
 * the store's own connection and its pool of readers, for the SQLite shell (the log, the
 * appointment search's hot read, the statistics' tables). Strings are borrowed for each
 * call. */
#ifndef OB_STORE_SQLITE_H
#define OB_STORE_SQLITE_H

#include <sqlite3.h>

#include "store/store.h"

/* The SQLite connection of a change's transaction (store.h), or NULL when the transaction
 * runs on another backend: for code that runs on SQLite only (the SQLite log's tests). */
sqlite3 *ob_store_tx_sqlite(ob_store_tx *tx);
/* Binds an item to ?1..?9 as (id, patient, category, origin, time, source, code, value,
 * json), the column order of every items statement. */
void ob_sqlite_bind_item(sqlite3_stmt *st, const ob_item *it);

/* A statement for `sql` on db, prepared once per connection and kept by SQLite's own list of
 * the connection's statements (for code that runs on the log's writer connection inside
 * its transactions, where preparing each write's statements cost more than running them).
 * Give it back with ob_sqlite_done (reset, bindings cleared) before the next use of the
 * same SQL. The connection's closer finalizes what is left (ob_sqlite_finalize_all). NULL
 * with e set when it cannot be prepared. */
sqlite3_stmt *ob_sqlite_stmt(sqlite3 *db, const char *sql, ob_err *e);
void ob_sqlite_done(sqlite3_stmt *st);
/* Finalizes every statement still prepared on db (before sqlite3_close). */
void ob_sqlite_finalize_all(sqlite3 *db);

/* The store's own connection: migrations and writes outside the log's transactions.
 * Reads do not use it (a read runs on a reader, below). Owned by the store. */
sqlite3 *ob_store_db(ob_store *s);

/* A read connection for one user at a time, from the store's pool (opened when none is
 * idle). Between take and give no other thread uses it, and a taken reader has no active
 * statement, so its first read sees every commit made before the take: a long read
 * elsewhere cannot hold it on an older snapshot (T-CONC-1 in docs/security.md).
 * Give resets its statements (a read must not outlive the give) and keeps it for the
 * next user. Thread-safe; every reader must be given back before ob_store_close. */
typedef struct ob_store_reader ob_store_reader;
ob_status ob_store_reader_take(ob_store *s, ob_store_reader **out, ob_err *e);
void ob_store_reader_give(ob_store *s, ob_store_reader *r);
sqlite3 *ob_store_reader_db(ob_store_reader *r);
/* A statement for `sql` prepared once per reader and kept with it (hot reads: parsing
 * and planning cost more than running them). `sql` is identified by its address (pass
 * the same static string). Borrowed from the reader; reset by ob_store_reader_give. */
sqlite3_stmt *ob_store_reader_stmt(ob_store_reader *r, const char *sql, ob_err *e);

#endif

/* store.h - the storage interface of overblik (the imperative shell around the index).
 *
 * The store keeps two things:
 *  - records: the domain objects (organisations, people, patients, relationships,
 *    permissions, consents, blocks, ...) as an append-only sequence of canonical
 *    import-format JSON records (docs/formats.md). Replaying them in order rebuilds the
 *    in-memory index; a lift or revocation is a later record, so history is kept
 *    (R-CON-2). Patient records hold the CPR only encrypted plus a keyed hash (R-CPR-2).
 *  - items: the shared data (appointments, diagnoses, measurements, ...), one row each,
 *    read through the decision engine by the overview and by statistics.
 * The access log lives in the same database file but is owned by log_sqlite.h.
 *
 * A backend implements this header (store/backend.h): store/sqlite/ is the embedded
 * default, store/pg/ serves a postgresql:// URI (issue 18); the statistics' tables are
 * store/stats.h, on the same backends. Strings passed
 * in are borrowed for the call; strings passed to callbacks are valid only during the
 * callback. */
#ifndef OB_STORE_STORE_H
#define OB_STORE_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "core/time.h"
#include "model/data.h"

typedef struct ob_store ob_store;

/* Deletes the SQLite database at path with its -wal and -shm files and the log's search index
 * beside it (store/sqlite/log_index.h): for init --force, tests, benchmarks and fuzzers. Files
 * that are not there are no error. Nothing may have the database open. */
void ob_store_remove(const char *path);

/* Opens (creating if missing) and migrates the database at path. *out is owned by the
 * caller and freed with ob_store_close. `path` is a SQLite file, or a PostgreSQL database
 * as a postgresql:// URI (libpq: several hosts and target_session_attrs=read-write follow a
 * failover). */
ob_status ob_store_open(const char *path, ob_store **out, ob_err *e);
void ob_store_close(ob_store *s);
/* Which backend opened s: "sqlite" or "postgresql"; only a SQLite store has the handles of
 * store/sqlite/sqlite.h. */
const char *ob_store_backend(const ob_store *s);
/* Whether `where` names a PostgreSQL database (a postgresql:// or postgres:// URI) rather
 * than a SQLite file. */
bool ob_store_where_is_pg(const char *where);
/* The schema version after migration. */
int ob_store_schema_version(const ob_store *s);

ob_status ob_store_begin(ob_store *s, ob_err *e);
ob_status ob_store_commit(ob_store *s, ob_err *e);
void ob_store_rollback(ob_store *s);

/* Appends one record (type e.g. "patient", canonical JSON text). */
ob_status ob_store_put_record(ob_store *s, const char *type, const char *json, ob_err *e);
ob_status ob_store_put_item(ob_store *s, const ob_item *it, ob_err *e);

typedef ob_status (*ob_record_fn)(void *ctx, int64_t seq, const char *type, const char *json,
                                  ob_err *e);
ob_status ob_store_each_record(ob_store *s, ob_record_fn fn, void *ctx, ob_err *e);
typedef ob_status (*ob_item_fn)(void *ctx, const ob_item *it, ob_err *e);
/* Items of one patient (patient ext_id), or of everyone when patient is NULL, in time
 * order. category may be NULL for all. */
ob_status ob_store_each_item(ob_store *s, const char *patient, const char *category, ob_item_fn fn,
                             void *ctx, ob_err *e);
ob_status ob_store_get_item(ob_store *s, const char *id, ob_item_fn fn, void *ctx, ob_err *e);
/* Every item of `category` with exactly `code`, in patient order (decision support's
 * search for similar patients, service/similar.c). */
ob_status ob_store_each_item_with_code(ob_store *s, const char *category, const char *code,
                                       ob_item_fn fn, void *ctx, ob_err *e);
int64_t ob_store_count(ob_store *s, const char *table);

/* The appointment overview (R-APT-1..5; schema and rules in store/sqlite/appointments.h):
 * one row per (source, identifier system, identifier value). Strings handed to fn are
 * valid only during the call. */
typedef ob_status (*ob_apt_fn)(void *ctx, const ob_apt *a, ob_err *e);
/* Creates the appointment, or updates the one this source has under the same identifier
 * (version + 1), in one statement on the store's own connection; sets a->id and
 * a->version, and *created (may be NULL). The hub writes appointments inside the log's
 * transaction instead (store/sqlite/appointments.h). */
ob_status ob_store_apt_upsert(ob_store *s, ob_apt *a, bool *created, ob_err *e);
/* All of one patient's appointments (shared or not), by start time then id. */
ob_status ob_store_apt_each_patient(ob_store *s, const char *patient, ob_apt_fn fn, void *ctx,
                                    ob_err *e);
/* One appointment by row id; fn is not called when there is none. */
ob_status ob_store_apt_get(ob_store *s, int64_t id, ob_apt_fn fn, void *ctx, ob_err *e);
/* The appointment of source with (system, value); fn is not called when there is none. */
ob_status ob_store_apt_find_key(ob_store *s, const char *source, const char *system,
                                const char *value, ob_apt_fn fn, void *ctx, ob_err *e);
/* Key-value settings (e.g. the installation id). value is copied into buf. */
ob_status ob_store_meta_get(ob_store *s, const char *key, char *buf, size_t cap, ob_err *e);
ob_status ob_store_meta_set(ob_store *s, const char *key, const char *value, ob_err *e);
/* The SQLite file, or the PostgreSQL database as host:port/dbname without user or password
 * (safe to print). */
const char *ob_store_path(const ob_store *s);

/* The sources' state (R-SRC-2): when each source last delivered (ob_tx_source_touch, with
 * its writes) and whether its operator declared it interrupted. */
typedef ob_status (*ob_source_state_fn)(void *ctx, const char *client, ob_time last_update,
                                        ob_time since, const char *reason, ob_err *e);
/* Declares the source interrupted since `since` with a reason, or (since 0) resumed. */
ob_status ob_store_source_declare(ob_store *s, const char *client, ob_time since,
                                  const char *reason, ob_err *e);
/* fn for every source, by client id: last_update 0 when it never delivered, since 0 when
 * not declared interrupted, reason NULL then. */
ob_status ob_store_source_state_each(ob_store *s, ob_source_state_fn fn, void *ctx, ob_err *e);
/* Every (identifier system, source) pair in use by appointments and by items sources write,
 * once each (service/sources.h: who owns an identifier system). */
typedef ob_status (*ob_apt_system_fn)(void *ctx, const char *system, const char *source, ob_err *e);
ob_status ob_store_each_id_system(ob_store *s, ob_apt_system_fn fn, void *ctx, ob_err *e);

/* ---- writes inside a change's transaction ----
 * A change runs in one transaction with its log entry (R-LOG-1): the log's apply callback
 * (store/sqlite/log_sqlite.h) gets an ob_store_tx naming the backend's connection inside
 * that transaction, and the writes below join it. ob_store_in_tx runs a function in a
 * transaction of the store's own (for tests, tools and the backend-neutral suite). An
 * ob_store_tx is borrowed for the callback; on an error the caller's transaction rolls
 * back (on PostgreSQL an error dooms the transaction: nothing after it may be written). */
typedef struct ob_store_tx ob_store_tx;
typedef ob_status (*ob_store_tx_fn)(void *ctx, ob_store_tx *tx, ob_err *e);
/* fn inside one transaction: committed when fn returns OB_OK, else rolled back. */
ob_status ob_store_in_tx(ob_store *s, ob_store_tx_fn fn, void *ctx, ob_err *e);

ob_status ob_tx_put_record(ob_store_tx *tx, const char *type, const char *json, ob_err *e);
ob_status ob_tx_put_item(ob_store_tx *tx, const ob_item *it, ob_err *e);
/* The appointment of source with (system, value) as the transaction sees it. */
ob_status ob_tx_apt_find_key(ob_store_tx *tx, const char *source, const char *system,
                             const char *value, ob_apt_fn fn, void *ctx, ob_err *e);
/* The write of an upsert when the caller has just looked the key up: id and version of the
 * row it found (id 0: none, the appointment is created); sets a->id, a->version. */
ob_status ob_tx_apt_store(ob_store_tx *tx, ob_apt *a, int64_t id, int64_t version, bool *created,
                          ob_err *e);
ob_status ob_tx_apt_upsert(ob_store_tx *tx, ob_apt *a, bool *created, ob_err *e);

/* Which item a source system's identifier names (R-SRC-1; store/sqlite/item_keys.h). */
typedef struct ob_item_key {
    int64_t n;         /* the row; the item's id is "src-<n>" */
    char category[32]; /* of the item it names */
    char patient[160]; /* the patient it is filed on ("" when too long to keep here) */
    int64_t version;   /* 1 on create, +1 per write */
    bool withdrawn;    /* entered-in-error: no item row */
} ob_item_key;
/* The key's row; *found false when this source has no such identifier. */
ob_status ob_tx_item_key_find(ob_store_tx *tx, const char *source, const char *system,
                              const char *value, ob_item_key *out, bool *found, ob_err *e);
/* Creates the key (k->n set) or updates its category, patient, version and withdrawn flag
 * (k->n > 0). */
ob_status ob_tx_item_key_put(ob_store_tx *tx, const char *source, const char *system,
                             const char *value, ob_item_key *k, ob_time updated, ob_err *e);
/* Writes the item row, replacing one with the same id. */
ob_status ob_tx_item_row_replace(ob_store_tx *tx, const ob_item *it, ob_err *e);
/* Deletes the item row with this id (none: no error). */
ob_status ob_tx_item_row_delete(ob_store_tx *tx, const char *id, ob_err *e);
/* The source delivered at t (R-SRC-2; the latest delivery is kept). */
ob_status ob_tx_source_touch(ob_store_tx *tx, const char *client, ob_time t, ob_err *e);

#endif

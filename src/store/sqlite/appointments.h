/* appointments.h - storage of the appointment overview (R-APT-1..5).
 *
 * One row per appointment, keyed by (source system's client id, identifier system,
 * identifier value): identifiers are scoped per source, so one source can never reach
 * another's appointment (R-APT-1). Only the shared fields are stored (R-APT-3): start,
 * end (with a flag when it is fictive, R-APT-4), meeting address, responsible clinic,
 * status, the sharing switch (R-APT-2), a version and the last-updated time. Notes,
 * comments and remarks never reach this layer.
 *
 * The table is created by schema migration v2 in sqlite.c. The functions take a raw
 * sqlite3 handle so that writes can run inside the access log's transaction (an apply
 * callback, see log_sqlite.h) and commit together with their log entry (R-LOG-1);
 * reads run on one of the store's readers (sqlite.h). Strings passed in are borrowed
 * for the call; strings handed to callbacks are valid only during the callback. */
#ifndef OB_STORE_APPOINTMENTS_H
#define OB_STORE_APPOINTMENTS_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "core/time.h"
#include "model/data.h"
#include "store/sqlite/sqlite.h"

/* The schema of migration v2 (used by sqlite.c). */
extern const char ob_apt_schema_sql[];

/* Creates the appointment, or updates it when this source already has one with the
 * same identifier. Sets a->id and a->version; *created (may be NULL) says which. For the
 * log's writer connection: its statements are kept there (ob_sqlite_stmt). */
ob_status ob_apt_upsert(sqlite3 *db, ob_apt *a, bool *created, ob_err *e);
/* The write of ob_apt_upsert when the caller has just looked the key up: id and version of
 * the row it found (id 0: none, the appointment is created). */
ob_status ob_apt_store(sqlite3 *db, ob_apt *a, int64_t id, int64_t version, bool *created,
                       ob_err *e);

/* The appointment of source with (system, value); fn is not called when there is none. */
ob_status ob_apt_find_key(sqlite3 *db, const char *source, const char *system, const char *value,
                          ob_apt_fn fn, void *ctx, ob_err *e);
/* All of one patient's appointments (shared or not), by start time then id. */
ob_status ob_apt_each_patient(sqlite3 *db, const char *patient, ob_apt_fn fn, void *ctx, ob_err *e);
/* The same on a reader of the store's with a statement kept by the reader (sqlite.h):
 * the search path's version, without a parse and plan per call. */
ob_status ob_apt_each_patient_pooled(ob_store *s, const char *patient, ob_apt_fn fn, void *ctx,
                                     ob_err *e);
/* One appointment by row id; fn is not called when there is none. */
ob_status ob_apt_get(sqlite3 *db, int64_t id, ob_apt_fn fn, void *ctx, ob_err *e);
/* ob_apt_find_key inside the log's transaction: its statement kept on that connection
 * (ob_sqlite_stmt). */
ob_status ob_apt_find_key_tx(sqlite3 *db, const char *source, const char *system, const char *value,
                             ob_apt_fn fn, void *ctx, ob_err *e);
/* Every (identifier system, source) pair in use by appointments and by items sources
 * write (item_keys.h), once each (service/sources.h). */
ob_status ob_apt_each_system(sqlite3 *db, ob_apt_system_fn fn, void *ctx, ob_err *e);

/* store.h's appointment calls on SQLite (the backend's ops table): the upsert on the
 * store's own connection, reads on a reader. */
ob_status ob_sqlite_apt_upsert(ob_store *s, ob_apt *a, bool *created, ob_err *e);
ob_status ob_sqlite_apt_get(ob_store *s, int64_t id, ob_apt_fn fn, void *ctx, ob_err *e);
ob_status ob_sqlite_apt_find_key(ob_store *s, const char *source, const char *system,
                                 const char *value, ob_apt_fn fn, void *ctx, ob_err *e);

#endif

/* item_keys.h - which item a source system's identifier names (R-SRC-1, issue 20).
 *
 * Items a source system writes over FHIR (medication, vaccinations, notes, discharge
 * summaries, treatment wills) are keyed, like appointments, by (source system's client id,
 * identifier system, identifier value): identifiers are scoped per source, so one source
 * never reaches another's item. The key's row number gives the item its id, "src-<n>", and
 * keeps the version and the patient it is filed on; a withdrawn item (entered-in-error)
 * keeps its key, so a later write of the same identifier is an update, not a second item.
 *
 * The table is created by schema migration v3 (sqlite.c). Functions take a raw sqlite3
 * handle so that writes run inside the access log's transaction (log_sqlite.h) and commit
 * with their log entry (R-LOG-1); they keep their statements on that connection
 * (ob_sqlite_stmt). Strings passed in are borrowed for the call. */
#ifndef OB_STORE_ITEM_KEYS_H
#define OB_STORE_ITEM_KEYS_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "core/time.h"
#include "store/store.h"

extern const char ob_item_keys_schema_sql[];

/* The key's row; *found false when this source has no such identifier. */
ob_status ob_item_key_find(sqlite3 *db, const char *source, const char *system, const char *value,
                           ob_item_key *out, bool *found, ob_err *e);
/* Creates the key (k->n set) or updates its category, patient, version and withdrawn flag
 * (k->n > 0). */
ob_status ob_item_key_put(sqlite3 *db, const char *source, const char *system, const char *value,
                          ob_item_key *k, ob_time updated, ob_err *e);
/* Writes the item row, replacing one with the same id. */
ob_status ob_item_row_replace(sqlite3 *db, const ob_item *it, ob_err *e);
/* Deletes the item row with this id (none: no error). */
ob_status ob_item_row_delete(sqlite3 *db, const char *id, ob_err *e);

#endif

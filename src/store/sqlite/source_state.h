/* source_state.h - what is known of each source system's connection (R-SRC-2, seed 004:
 * interruptions "af ukendt varighed"): when it last delivered, and whether an operator has
 * declared it interrupted (since when, why). One row per source that ever wrote or was
 * declared; the table is created by schema migration v4 (sqlite.c). ob_source_touch runs
 * inside the log's transaction of a write (its statement kept on that connection,
 * ob_sqlite_stmt); the others take any connection. Strings passed in are borrowed. */
#ifndef OB_STORE_SOURCE_STATE_H
#define OB_STORE_SOURCE_STATE_H

#include <sqlite3.h>

#include "core/err.h"
#include "core/time.h"
#include "store/store.h"

extern const char ob_source_state_schema_sql[];

/* The source delivered at t. */
ob_status ob_source_touch(sqlite3 *db, const char *client, ob_time t, ob_err *e);
/* Declares the source interrupted since `since` with a reason, or (since 0) resumed. */
ob_status ob_source_declare(sqlite3 *db, const char *client, ob_time since, const char *reason,
                            ob_err *e);
/* fn for every row: last_update 0 when it never delivered, since 0 when not declared
 * interrupted; strings valid during the call only. */
ob_status ob_source_state_each(sqlite3 *db, ob_source_state_fn fn, void *ctx, ob_err *e);

#endif

/* store_pg.h - what only the PostgreSQL store has, for several servers sharing one database
 * (issue 18): the records table's seq is the order every server replays changes in. Every
 * writer of records takes the changes' order lock first (store/pg/pg_sync.h), so seqs are
 * given and committed in one order, and a server that has replayed through seq N has every
 * record committed before it. */
#ifndef OB_STORE_PG_STORE_PG_H
#define OB_STORE_PG_STORE_PG_H

#include <libpq-fe.h>
#include <stdint.h>

#include "core/err.h"
#include "store/store.h"

/* The newest record's seq as seen inside tx (its own records included). */
ob_status ob_store_pg_records_through(ob_store_tx *tx, int64_t *seq, ob_err *e);
/* Calls fn for each record with after < seq <= through, in seq order (committed ones). */
ob_status ob_store_pg_each_record_between(ob_store *s, int64_t after, int64_t through,
                                          ob_record_fn fn, void *ctx, ob_err *e);
/* A read connection of the store's pool for a caller of its own (the statistics' reads):
 * no other thread uses it until ob_store_pg_conn_give(token), and it must be given back
 * outside a transaction (else it is closed, not kept). */
ob_status ob_store_pg_conn_take(ob_store *s, PGconn **c, void **token, ob_err *e);
void ob_store_pg_conn_give(ob_store *s, void *token);
/* The statistics' tables: the store's schema version 5 (store/pg/stats_pg.c). */
extern const char ob_stats_pg_schema[];

#endif

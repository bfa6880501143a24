/* hub_internal.h - what hub.c shares with hub_pg.c (the hub on several servers), and with
 * nobody else. The caller holds the hub's write lock for each of these. */
#ifndef OB_SERVICE_HUB_INTERNAL_H
#define OB_SERVICE_HUB_INTERNAL_H

#include "service/hub.h"

/* Builds a fresh index from every stored record and swaps it in; on failure nothing
 * changes. Sets records_applied to the newest record read. */
ob_status ob_hub_rebuild(ob_hub *h, ob_err *e);
/* Stops the hub for good (fail closed), saying what happened and why. */
void ob_hub_stop(ob_hub *h, const char *what, const ob_err *why);
/* The log event a change record of this type is logged as. */
ob_log_event ob_hub_event_of(const char *type);
typedef struct ob_hub_replay {
    ob_loader *L;
    int64_t last; /* the newest record replayed (on PostgreSQL: the hub's place in the order) */
} ob_hub_replay;
/* Replays one stored record into ctx's loader (an ob_hub_replay). */
ob_status ob_hub_replay_record(void *ctx, int64_t seq, const char *type, const char *json,
                               ob_err *e);

/* Applies one change record to the index (items and appointments are refused: they come
 * with `load`); on OB_OK out->canonical is the caller's. */
ob_status ob_hub_apply_change(ob_hub *h, json_t *record, ob_record_out *out, ob_err *e);
/* Fills the change's log entry (when, what event, about whom, what was made: res, of cap
 * bytes, the caller's) from the applied record. */
void ob_hub_change_entry(const ob_hub *h, const ob_record_out *out, ob_log_entry *le, char *res,
                         size_t cap);
/* The static name of a record type ("unknown" for others). */
const char *ob_hub_intern_type(const char *t);

/* service/hub_pg.c */
/* Joins the servers' order of changes (after the index was built from the store). */
ob_status ob_hub_pg_open(ob_hub *h, const char *server_id, ob_err *e);
void ob_hub_pg_close(ob_hub *h);
/* The defer the transport set on this thread (ob_hub_defer_set), or NULL. */
const ob_hub_defer *ob_hub_defer_get(void);
/* ob_hub_change on PostgreSQL: validated, applied and written where every server's order
 * is decided, and acknowledged once every live server applied it: blocking, or with a
 * defer set on the thread, by the defer's done (hub_pg.c, acknowledge). */
ob_status ob_hub_pg_change(ob_hub *h, json_t *record, const ob_log_entry *actor, uint64_t *seq,
                           uint64_t *assigned, ob_err *e);
/* ob_hub_import on PostgreSQL: the records are read first, then validated, applied and
 * written in one transaction where the order is decided, as a change. */
ob_status ob_hub_pg_import(ob_hub *h, ob_hub_next_fn next, void *ctx, ob_hub_progress_fn progress,
                           void *pctx, size_t *count, ob_err *e);

#endif

/* hub_pg.c - the hub on PostgreSQL, one of several servers sharing a database (issue 18;
 * R-SCALE-1, R-BLK-5; docs/scale.md "Several servers, one truth").
 *
 * Each server keeps its own index. The records table's seq is the one order of changes
 * (store/pg/store_pg.h): a server writes a change inside its log entry's transaction
 * after taking the order's lock and applying every earlier change here
 * (ob_pgsync_catch_up_in_tx), so it validates against every server's state and gives ids
 * no other server gives; it writes the record and a note in the order of changes
 * ({"through": the newest record's seq}), and acknowledges once every live server has
 * applied it (acknowledge, below). Another server hearing the note replays the records it
 * has not seen, through that seq. A server whose lease lapsed answers nothing
 * (ob_hub_stopped) until it has caught up.
 *
 * The acknowledgement may take up to a lease (another server stalled, holding one). With a
 * defer set on the thread (the HTTP server's, hub.h) the change returns once committed, the
 * defer is held, and pg_sync's acker thread releases it (done) when every live server
 * applied the change, or fails it (the transport answers with an error, never the change's
 * answer). An HTTP thread then does not sit out the lease: two writes waiting on a stalled
 * server no longer stopped a server with two threads answering anything, /healthz
 * included (T-DB-8). Without a defer (the CLI, the tests) the call blocks.
 *
 * The caller of a change does not hold the hub's lock while the log writes: the change is
 * validated on the log's writer, inside the transaction, under the lock, after the
 * catch-up (which takes the lock itself for each earlier change). A change whose
 * transaction fails after it reached the index is taken out by rebuilding the index from
 * the store: other servers' changes may have been applied on top of it, so the single
 * change's undo of hub.c cannot be used here. The rebuild is the sync thread's
 * (sync_ready), and the server answers nothing until it is done (rebuild_due): a change
 * fails mostly because the database went away (a failover), when a rebuild cannot read
 * it either, and the sync thread tries again until it can. (Rebuilding at once and
 * stopping for good when that failed left a server answering 503 until restarted after
 * every failover that caught a change in flight: tests/e2e/pg_failover_http.sh.) */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "service/hub_internal.h"
#include "service/overrides.h"
#include "store/log.h"
#include "store/pg/overrides_pg.h"
#include "store/pg/pg_sync.h"
#include "store/pg/store_pg.h"

/* Replays the stored records after the hub's place through `through`. Write lock held. */
static ob_status replay_through(ob_hub *h, int64_t through, ob_err *e)
{
    if (through <= h->records_applied)
        return OB_OK;
    ob_hub_replay c = {&h->loader, h->records_applied};
    h->loader.replay = true;
    ob_status rc = ob_store_pg_each_record_between(h->store, h->records_applied, through,
                                                   ob_hub_replay_record, &c, e);
    h->loader.replay = false;
    if (!rc)
        h->records_applied = through;
    else /* part of it may be in the index: the rebuild reads every committed record,
          * these too, so the change counts as applied */
        atomic_store(&h->rebuild_due, true);
    return OB_OK;
}

static int64_t through_of(const char *json)
{
    json_t *o = json_loads(json, 0, NULL);
    json_t *t = o ? json_object_get(o, "through") : NULL;
    int64_t v = json_is_integer(t) ? (int64_t)json_integer_value(t) : -1;
    json_decref(o);
    return v;
}

/* pg_sync's apply: on its thread for other servers' changes, or on the log's writer inside
 * a change's transaction (the catch-up); never with the hub's lock held by the caller. */
static ob_status sync_apply(void *ctx, int64_t seq, const char *type, const char *json, ob_err *e)
{
    ob_hub *h = ctx;
    (void)type;
    int64_t through = through_of(json);
    if (through < 0)
        return ob_err_set(e, OB_EINVAL, "change %lld in the order is not a records note",
                          (long long)seq);
    pthread_rwlock_wrlock(&h->lock);
    ob_status rc = OB_OK;
    if (atomic_load(&h->stopped))
        rc = ob_hub_stopped_err(h, e);
    else if (!atomic_load(&h->rebuild_due)) /* else the rebuild will read it */
        rc = replay_through(h, through, e);
    pthread_rwlock_unlock(&h->lock);
    return rc;
}

/* pg_sync's ready, on its thread before each renewal: the rebuild a failed change left
 * due. Until it succeeds the server takes no lease, so it answers nothing and no server
 * waits for it. */
static ob_status sync_ready(void *ctx, ob_err *e)
{
    ob_hub *h = ctx;
    if (!atomic_load(&h->rebuild_due))
        return OB_OK;
    pthread_rwlock_wrlock(&h->lock);
    ob_status rc = ob_hub_rebuild(h, e);
    if (!rc)
        atomic_store(&h->rebuild_due, false);
    pthread_rwlock_unlock(&h->lock);
    return rc;
}

/* pg_sync's reset: a failover lost changes this server had applied (store/pg/pg_sync.h).
 * The index is built again from the records the database has; the notes of the order,
 * applied again from the first, then find nothing new (records_applied). */
static ob_status sync_reset(void *ctx, ob_err *e)
{
    ob_hub *h = ctx;
    pthread_rwlock_wrlock(&h->lock);
    ob_status rc = ob_hub_rebuild(h, e);
    if (rc)
        atomic_store(&h->rebuild_due, true); /* answer nothing until it can be done */
    pthread_rwlock_unlock(&h->lock);
    return rc;
}

/* After a failed change or import that reached the index: the sync thread rebuilds it
 * (sync_ready); until then the server answers nothing. */
static void rebuild_later(ob_hub *h)
{
    pthread_rwlock_wrlock(&h->lock);
    atomic_store(&h->rebuild_due, true);
    pthread_rwlock_unlock(&h->lock);
}

static bool refusing(ob_hub *h)
{
    return atomic_load(&h->stopped) || atomic_load(&h->rebuild_due);
}

/* The override counts of every server (service/overrides.h, store/pg/overrides_pg.h): the
 * professional or site by its id, which every server knows it by. A count that fails is
 * said on the server's log; this server's own count decides that alert then. */
static ob_status override_total(void *ctx, char kind, uint32_t id, ob_time now, uint64_t *total,
                                ob_err *e)
{
    ob_hub *h = ctx;
    char ext[160] = "";
    pthread_rwlock_rdlock(&h->lock);
    if (kind == 'p' && id < h->ix->npros)
        snprintf(ext, sizeof ext, "%s", h->ix->pros[id].ext_id);
    else if (kind == 's' && id < h->ix->norgs)
        snprintf(ext, sizeof ext, "%s", h->ix->orgs[id].ext_id);
    pthread_rwlock_unlock(&h->lock);
    if (!ext[0])
        return ob_err_set(e, OB_ENOTFOUND, "no such professional or site");
    ob_status rc = ob_pgovr_count(h->ovr_pg, kind, ext, now, total, e);
    if (rc && h->notice) {
        char msg[sizeof e->msg + 64];
        snprintf(msg, sizeof msg, "override alert counted by this server alone: %s", e->msg);
        h->notice(h->notice_ctx, msg);
    }
    return rc;
}

ob_status ob_hub_pg_open(ob_hub *h, const char *server_id, ob_err *e)
{
    char id[160];
    if (server_id)
        snprintf(id, sizeof id, "%s", server_id);
    else {
        char host[64] = "";
        gethostname(host, sizeof host - 1);
        snprintf(id, sizeof id, "%s/%ld", host, (long)getpid());
    }
    ob_pgsync_config cfg = {id, 0, 0, true, sync_ready, sync_reset, NULL};
    ob_status rc = ob_pgsync_open(h->db_path, &cfg, sync_apply, h, &h->sync, e);
    if (!rc && h->overrides && (rc = ob_pgovr_open(h->db_path, &h->ovr_pg, e)) == OB_OK)
        ob_overrides_share(h->overrides, override_total, h);
    return rc;
}

void ob_hub_pg_close(ob_hub *h)
{
    if (h->overrides)
        ob_overrides_share(h->overrides, NULL, NULL);
    ob_pgovr_close(h->ovr_pg);
    h->ovr_pg = NULL;
    ob_pgsync_close(h->sync);
    h->sync = NULL;
}

/* Inside a change's transaction: the order's lock, every earlier change applied here, then
 * the hub's write lock (held on OB_OK: leave_order or the caller releases it). */
static ob_status enter_order(ob_hub *h, ob_store_tx *tx, ob_err *e)
{
    ob_status rc = ob_pgsync_catch_up_in_tx(h->sync, tx, e);
    if (rc)
        return rc;
    pthread_rwlock_wrlock(&h->lock);
    if (refusing(h)) {
        pthread_rwlock_unlock(&h->lock);
        return ob_hub_stopped_err(h, e);
    }
    h->loader.now = ob_time_now();
    return OB_OK;
}

/* After this transaction's records: its note in the order ("through" its newest record),
 * which this server has applied already; *order_seq is the note's place, for the wait. */
static ob_status note_in_order(ob_hub *h, ob_store_tx *tx, int64_t *order_seq, ob_err *e)
{
    int64_t through = 0;
    ob_status rc = ob_store_pg_records_through(tx, &through, e);
    if (rc || through <= h->records_applied)
        return rc;
    char note[48];
    snprintf(note, sizeof note, "{\"through\":%lld}", (long long)through);
    h->records_applied = through; /* this server has them: its own note is skipped */
    return ob_pgsync_change_in_tx(h->sync, tx, "records", note, order_seq, e);
}

/* A deferred acknowledgement: the defer (copied: the transport's is gone by then) and the
 * change's log entry. */
typedef struct pg_ack {
    ob_hub_defer d;
    uint64_t log_seq;
} pg_ack;

/* The defer's done for a change committed at log_seq: st OB_OK when acknowledged; else it
 * is not, and the transport is told (unconfirmed) before its done. */
static void ack_finish(const ob_hub_defer *d, ob_status st, uint64_t log_seq, const ob_err *err)
{
    if (st && d->unconfirmed)
        d->unconfirmed(d->ctx);
    d->done(d->ctx, st, log_seq, st ? err : NULL);
}

/* On pg_sync's acker thread (or in its close): the change may be acknowledged, or not. */
static void ack_done(void *ctx, ob_status st, const ob_err *err)
{
    pg_ack *a = ctx;
    ack_finish(&a->d, st, a->log_seq, err);
    ob_free(a);
}

/* After the change (its log entry at log_seq) committed at order_seq: blocks until every
 * live server applied it; or, with a defer set on the thread, holds the defer, returns at
 * once and lets pg_sync's acker call its done (the transport answers then). Should no
 * waiter be registered (out of memory, the server stopping), it waits here and balances
 * the hold itself. */
static ob_status acknowledge(ob_hub *h, int64_t order_seq, uint64_t log_seq, ob_err *e)
{
    if (order_seq <= 0) /* nothing new in the order: nothing to wait for */
        return OB_OK;
    const ob_hub_defer *d = ob_hub_defer_get();
    if (!d)
        return ob_pgsync_wait(h->sync, order_seq, e);
    pg_ack *a = ob_malloc(sizeof *a);
    d->hold(d->ctx);
    if (a) {
        *a = (pg_ack){*d, log_seq};
        if (ob_pgsync_wait_async(h->sync, order_seq, ack_done, a, NULL) == OB_OK)
            return OB_OK;
        ob_free(a);
    }
    ob_status rc = ob_pgsync_wait(h->sync, order_seq, e);
    ack_finish(d, rc, log_seq, e);
    return rc;
}

typedef struct pg_change {
    ob_hub *h;
    json_t *record;
    ob_log_entry *le;
    char res[64];
    uint64_t assigned;
    int64_t order_seq;
    bool touched; /* the index holds it: a failed transaction must take it out */
} pg_change;

static ob_status change_in_tx(void *ctx, ob_store_tx *tx, ob_err *e)
{
    pg_change *c = ctx;
    ob_hub *h = c->h;
    ob_status rc = enter_order(h, tx, e);
    if (rc)
        return rc;
    ob_record_out out;
    rc = ob_hub_apply_change(h, c->record, &out, e);
    if (rc) {
        pthread_rwlock_unlock(&h->lock);
        return rc;
    }
    c->touched = true;
    c->assigned = out.assigned;
    /* the entry is encoded after this runs (store/log.h): it names what was made */
    ob_hub_change_entry(h, &out, c->le, c->res, sizeof c->res);
    char *text = json_dumps(out.canonical, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(out.canonical);
    if (!text)
        rc = ob_err_set(e, OB_ENOMEM, "out of memory");
    if (!rc)
        rc = ob_tx_put_record(tx, out.type, text, e);
    free(text);
    if (!rc)
        rc = note_in_order(h, tx, &c->order_seq, e);
    pthread_rwlock_unlock(&h->lock);
    return rc;
}

ob_status ob_hub_pg_change(ob_hub *h, json_t *record, const ob_log_entry *actor, uint64_t *seq,
                           uint64_t *assigned, ob_err *e)
{
    if (refusing(h))
        return ob_hub_stopped_err(h, e);
    if (!h->log)
        return ob_err_set(e, OB_EIO, "the access log is not open; no change without a log entry");
    ob_log_entry le = *actor;
    le.time = ob_time_now();
    le.event = OB_EV_DATA_CHANGE; /* until the change is validated (change_in_tx) */
    le.permit = true;
    pg_change c = {h, record, &le, "", 0, 0, false};
    uint64_t at = 0;
    ob_status rc = ob_alog_append(h->log, &le, 1, change_in_tx, &c, &at, e);
    if (seq)
        *seq = at;
    if (!rc)
        rc = acknowledge(h, c.order_seq, at, e);
    else if (c.touched)
        rebuild_later(h);
    if (assigned)
        *assigned = c.assigned;
    return rc;
}

/* ---- imports ---- */

typedef struct pg_import {
    ob_hub *h;
    struct pg_rec {
        json_t *o;
        size_t line; /* in the input, for errors */
    } * recs;
    size_t n;
    ob_log_entry *entries; /* one per change record that is logged, then the summary */
    size_t nentries;
    bool touched;
    int64_t order_seq;
} pg_import;

static bool logged_type(const char *type)
{
    return strcmp(type, "item") != 0 && ob_hub_event_of(type) != OB_EV_DATA_CHANGE;
}

static ob_status import_one(pg_import *c, ob_store_tx *tx, size_t i, size_t *k, ob_err *e)
{
    ob_hub *h = c->h;
    ob_record_out out;
    ob_status rc = ob_record_apply(&h->loader, c->recs[i].o, &out, e);
    if (rc)
        return ob_err_wrap(e, "line %zu", c->recs[i].line);
    c->touched = true;
    char *text = json_dumps(out.canonical, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text)
        rc = ob_err_set(e, OB_ENOMEM, "out of memory importing line %zu", c->recs[i].line);
    else if (out.is_appointment) {
        if (!out.apt.system)
            out.apt.system = "";
        rc = ob_tx_apt_upsert(tx, &out.apt, NULL, e);
    } else if (out.is_item) {
        out.item.json = text;
        rc = ob_tx_put_item(tx, &out.item, e);
    } else
        rc = ob_tx_put_record(tx, ob_hub_intern_type(out.type), text, e);
    if (!rc && !out.is_item && logged_type(ob_hub_intern_type(out.type))) {
        /* the entries were counted by the records' types before they were read here */
        if (*k + 1 >= c->nentries || strcmp(c->entries[*k].category, out.type) != 0)
            rc = ob_err_set(e, OB_EINVAL, "line %zu: the record's type is not the one it gave",
                            c->recs[i].line);
        else
            c->entries[(*k)++].patient =
                out.patient < h->ix->npatients ? h->ix->patients[out.patient].ext_id : NULL;
    }
    free(text);
    json_decref(out.canonical);
    return rc;
}

static ob_status import_in_tx(void *ctx, ob_store_tx *tx, ob_err *e)
{
    pg_import *c = ctx;
    ob_hub *h = c->h;
    ob_status rc = enter_order(h, tx, e);
    if (rc)
        return rc;
    size_t k = 0;
    for (size_t i = 0; i < c->n && !rc; i++)
        rc = import_one(c, tx, i, &k, e);
    if (!rc && k + 1 != c->nentries)
        rc = ob_err_set(e, OB_EINVAL, "the records' types are not the ones they gave");
    if (!rc)
        rc = note_in_order(h, tx, &c->order_seq, e);
    pthread_rwlock_unlock(&h->lock);
    return rc;
}

ob_status ob_hub_pg_import(ob_hub *h, ob_hub_next_fn next, void *ctx, ob_hub_progress_fn progress,
                           void *pctx, size_t *count, ob_err *e)
{
    if (count)
        *count = 0;
    if (refusing(h))
        return ob_hub_stopped_err(h, e);
    if (!h->log)
        return ob_err_set(e, OB_EIO, "the access log is not open");
    pg_import c = {h, NULL, 0, NULL, 0, false, 0};
    size_t cap = 0, ecap = 0;
    ob_status rc = OB_OK;
    ob_time now = ob_time_now();
    for (;;) { /* read everything first: the log's writer should not wait for the input */
        ob_err_clear(e);
        size_t line = 0;
        json_t *o = next(ctx, &line, e);
        if (!o) {
            if (e && e->code)
                rc = e->code;
            break;
        }
        if (ob_grow((void **)&c.recs, &cap, c.n + 1, sizeof *c.recs) < 0) {
            json_decref(o);
            rc = ob_err_set(e, OB_ENOMEM, "out of memory importing line %zu", line);
            break;
        }
        c.recs[c.n++] = (struct pg_rec){o, line};
        const char *given = json_string_value(json_object_get(o, "type"));
        const char *type = ob_hub_intern_type(given ? given : "");
        if (logged_type(type)) {
            if (ob_grow((void **)&c.entries, &ecap, c.nentries + 1, sizeof *c.entries) < 0) {
                rc = ob_err_set(e, OB_ENOMEM, "out of memory importing line %zu", line);
                break;
            }
            ob_log_entry *le = &c.entries[c.nentries++];
            memset(le, 0, sizeof *le);
            le->time = now;
            le->event = (uint8_t)ob_hub_event_of(type);
            le->permit = true;
            le->actor_id = "import";
            le->actor_role = "operator";
            le->capacity = OB_CAP_OPERATOR;
            le->category = type;
            le->reason = "imported with overblik load";
        }
        if (progress && c.n % 10000 == 0)
            progress(pctx, c.n);
    }
    char summary[96];
    snprintf(summary, sizeof summary, "import of %zu records", c.n);
    if (!rc && ob_grow((void **)&c.entries, &ecap, c.nentries + 1, sizeof *c.entries) < 0)
        rc = ob_err_set(e, OB_ENOMEM, "out of memory");
    if (!rc) {
        ob_log_entry *le = &c.entries[c.nentries++];
        memset(le, 0, sizeof *le);
        le->time = now;
        le->event = OB_EV_DATA_CHANGE;
        le->permit = true;
        le->actor_id = "import";
        le->actor_role = "operator";
        le->capacity = OB_CAP_OPERATOR;
        le->reason = summary;
        uint64_t seq;
        rc = ob_alog_append(h->log, c.entries, c.nentries, import_in_tx, &c, &seq, e);
        if (!rc)
            rc = acknowledge(h, c.order_seq, seq, e);
        else if (rc && c.touched)
            rebuild_later(h);
    }
    if (progress)
        progress(pctx, c.n);
    if (count && !rc)
        *count = c.n;
    for (size_t i = 0; i < c.n; i++)
        json_decref(c.recs[i].o);
    ob_free(c.recs);
    ob_free(c.entries);
    return rc;
}

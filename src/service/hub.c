/* hub.c - the shared service (see hub.h): open = load keys, open the store, replay its
 * records into a fresh index, start the log writer. Changes and imports are applied
 * to the index first (which validates them), then stored together with their log
 * entries in one transaction on the log's writer thread; if that fails the index is
 * rolled back (a single change) or rebuilt from the store (an import). */
#include "service/hub.h"
#include "service/hub_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/arena.h"
#include "service/appointment.h"
#include "service/overrides.h"
#include "service/sources.h"
#include <sodium.h>
#include <stdlib.h>
#include "store/log.h"
#include "store/pg/pg_sync.h"

void ob_hub_key_path(const char *db_path, char *buf, size_t cap)
{
    size_t n = strlen(db_path);
    if (n > 3 && strcmp(db_path + n - 3, ".db") == 0)
        n -= 3;
    snprintf(buf, cap, "%.*s.key", (int)n, db_path);
}

static ob_status replay_one(void *ctx, int64_t seq, const char *type, const char *json, ob_err *e)
{
    ob_hub_replay *c = ctx;
    json_error_t je;
    (void)type;
    json_t *o = json_loads(json, 0, &je);
    if (!o)
        return ob_err_set(e, OB_EIO, "stored record %lld is not JSON: %s", (long long)seq, je.text);
    ob_record_out out;
    ob_status rc = ob_record_apply(c->L, o, &out, e);
    json_decref(out.canonical);
    json_decref(o);
    if (rc)
        return ob_err_wrap(e, "replaying stored record %lld", (long long)seq);
    c->last = seq;
    return OB_OK;
}

ob_status ob_hub_replay_record(void *ctx, int64_t seq, const char *type, const char *json,
                               ob_err *e)
{
    return replay_one(ctx, seq, type, json, e);
}

/* Builds a fresh index from the store's records aside, then swaps it in (the caller
 * holds the write lock, or is alone at open). The index it replaces is retired, not freed
 * (see ob_hub.retired): a reader may still use its strings. On failure nothing changes. */
ob_status ob_hub_rebuild(ob_hub *h, ob_err *e)
{
    ob_index *ix = ob_index_new();
    if (!ix)
        return ob_err_set(e, OB_ENOMEM, "out of memory building the index");
    ob_loader L;
    ob_loader_init(&L, ix, &h->keys);
    L.replay = true;
    ob_hub_replay c = {&L, 0};
    ob_status rc = ob_store_each_record(h->store, replay_one, &c, e);
    ob_index **retired = NULL;
    if (!rc && h->ix) { /* rare (a failed change): one more slot each time */
        retired = ob_realloc(h->retired, (h->nretired + 1) * sizeof *retired);
        if (!retired)
            rc = ob_err_set(e, OB_ENOMEM, "out of memory building the index");
        else
            h->retired = retired;
    }
    if (rc) {
        ob_index_free(ix);
        return rc;
    }
    if (h->ix)
        h->retired[h->nretired++] = h->ix;
    h->ix = ix;
    h->loader = L;
    h->loader.replay = false;
    h->loader.now = ob_time_now();
    h->records_applied = c.last;
    return OB_OK;
}

/* Stops the hub (fail closed): the index may no longer match the store. Write lock held. */
void ob_hub_stop(ob_hub *h, const char *what, const ob_err *why)
{
    if (atomic_load(&h->stopped))
        return; /* the reason is written once, before the flag: readers need no lock */
    snprintf(h->stop_reason, sizeof h->stop_reason,
             "%s, and the index could not be rebuilt from the store (%.200s); restart the server",
             what, why && why->msg[0] ? why->msg : "unknown error");
    atomic_store(&h->stopped, true);
}

bool ob_hub_stopped(ob_hub *h, char *why, size_t cap)
{
    if (!atomic_load(&h->stopped)) {
        if (atomic_load(&h->rebuild_due)) {
            if (why && cap)
                snprintf(why, cap,
                         "this server is rebuilding its index from the database after a "
                         "change failed (the database could not be reached?); retry, another "
                         "server answers");
            return true;
        }
        if (!h->sync || ob_pgsync_current(h->sync))
            return false;
        /* several servers: one that cannot show it has every acknowledged change answers
         * nothing until it has (store/pg/pg_sync.h) */
        if (why && cap)
            snprintf(why, cap,
                     "this server has not yet applied every change made on the "
                     "others (its lease lapsed); retry, another server answers");
        return true;
    }
    if (why && cap)
        snprintf(why, cap, "%s", h->stop_reason);
    return true;
}

ob_status ob_hub_stopped_err(ob_hub *h, ob_err *e)
{
    char why[sizeof h->stop_reason];
    ob_hub_stopped(h, why, sizeof why);
    return ob_err_set(e, OB_EIO, "%s: %.400s",
                      atomic_load(&h->stopped) ? "the service stopped" : "not answering now", why);
}

/* One writing process per database. The hub holds the index, its caches and the log's
 * chain head in memory and keeps them current with its own writes only: a second process
 * appending to the log made every later append of the first fail (the chain it held was
 * stale), and a block it created would not reach the other's index. So a hub that writes
 * takes an exclusive flock on the database file for as long as it is open, and a second
 * one is refused at once with a message saying what to do. The lock goes with the
 * process, however it ends.
 * The descriptor is the one of the database's files this process holds outside SQLite,
 * and it is closed only in ob_hub_close, after every SQLite connection to the file:
 * closing any descriptor of a file drops all the process's POSIX locks on it, SQLite's
 * shared lock included, and a database whose users hold no lock is deleted from under
 * them by the next process that opens and closes it (its -wal and -shm; docs/log.md,
 * tests/security/log_detach.sh). A flock is not a POSIX lock and leaves SQLite's alone. */
ob_status ob_hub_lock_writer(const char *db_path, int *fd, ob_err *e)
{
    *fd = open(db_path, O_RDONLY | O_CLOEXEC); /* fd-ok: closed last, see above */
    if (*fd < 0)
        return ob_err_set(e, OB_EIO, "cannot open %s: %s", db_path, strerror(errno));
    if (flock(*fd, LOCK_EX | LOCK_NB) == 0) /* fd-ok: a flock, not a POSIX lock */
        return OB_OK;
    int err = errno; /* the descriptor stays open: the caller closes it, last */
    if (err == EWOULDBLOCK)
        return ob_err_set(e, OB_EIO,
                          "another overblik process (a running server?) is writing to %s: "
                          "send the change to the server over HTTP, or stop it first; "
                          "log show, log verify and the other reading commands work meanwhile",
                          db_path);
    return ob_err_set(e, OB_EIO, "cannot lock %s: %s", db_path, strerror(err));
}

static ob_status lock_writer(ob_hub *h, const char *db_path, ob_err *e)
{
    return ob_hub_lock_writer(db_path, &h->lock_fd, e);
}

ob_status ob_hub_open(const ob_hub_options *opt, ob_hub **out, ob_err *e)
{
    *out = NULL;
    ob_hub *h = ob_calloc(1, sizeof *h);
    if (!h)
        return ob_err_set(e, OB_ENOMEM, "out of memory");
    h->lock_fd = -1;
    pthread_rwlock_init(&h->lock, NULL);
    char keypath[4096];
    if (opt->key_path)
        snprintf(keypath, sizeof keypath, "%s", opt->key_path);
    else
        ob_hub_key_path(opt->db_path, keypath, sizeof keypath);
    ob_status rc;
    h->db_path = ob_strdup(opt->db_path);
    if (!h->db_path) {
        rc = ob_err_set(e, OB_ENOMEM, "out of memory");
        goto fail;
    }
    bool pg = ob_store_where_is_pg(opt->db_path);
    /* a URI names no key file beside it (and may hold a password: never made into a path) */
    if (pg && !opt->key_path) {
        rc = ob_err_set(e, OB_EINVAL,
                        "--db: with PostgreSQL, --keys names the key file (keys are not kept "
                        "in the database)");
        goto fail;
    }
    /* the log signing key only for a process that writes the log (R-LOG-8) */
    if ((rc = ob_keys_load_for(&h->keys, keypath, opt->no_log ? OB_KEYS_CPR : OB_KEYS_ALL, e)) ||
        (rc = ob_store_open(opt->db_path, &h->store, e)) || (rc = ob_hub_rebuild(h, e)) ||
        (rc = ob_apt_cache_new(&h->apt_cache, e)) ||
        (rc = ob_overrides_new(h->ix->npros, h->ix->norgs, 0, 0, &h->overrides, e)) ||
        (rc = ob_sources_new(&h->sources, e)))
        goto fail;
    /* one writing process per SQLite file; on PostgreSQL several servers write, in one order */
    if (!opt->no_log && !pg && (rc = lock_writer(h, opt->db_path, e)))
        goto fail;
    if (!opt->no_log) {
        ob_alog_config cfg;
        memset(&cfg, 0, sizeof cfg);
        memcpy(cfg.sk, h->keys.sign_sk, sizeof cfg.sk);
        memcpy(cfg.pk, h->keys.sign_pk, sizeof cfg.pk);
        /* an import is one atomic append of all its entries: 16.7 M, room for loading a whole
         * country (6 M patients are 7.8 M entries; 1u << 22 refused them, docs/scale.md) */
        cfg.max_batch = 1u << 24;
        rc = ob_alog_open(opt->db_path, &cfg, &h->log, e);
        sodium_memzero(&cfg, sizeof cfg);
        if (rc || (pg && (rc = ob_hub_pg_open(h, opt->server_id, e))))
            goto fail;
    }
    *out = h;
    return OB_OK;
fail:
    ob_hub_close(h);
    return rc;
}

void ob_hub_close(ob_hub *h)
{
    if (!h)
        return;
    if (h->sync) /* first: its thread applies other servers' changes to this hub */
        ob_hub_pg_close(h);
    if (h->log)
        ob_alog_close(h->log, NULL);
    ob_store_close(h->store);
    if (h->lock_fd >= 0)
        close(h->lock_fd); /* fd-ok: after every connection; releases the flock */
    ob_apt_cache_free(h->apt_cache);
    ob_overrides_free(h->overrides);
    ob_sources_free(h->sources);
    ob_index_free(h->ix);
    for (size_t i = 0; i < h->nretired; i++)
        ob_index_free(h->retired[i]);
    ob_free(h->retired);
    pthread_rwlock_destroy(&h->lock);
    sodium_memzero(&h->keys, sizeof h->keys);
    ob_free(h->db_path);
    ob_free(h);
}

static _Thread_local const ob_hub_defer *tl_defer;

void ob_hub_defer_set(const ob_hub_defer *d)
{
    tl_defer = d;
}

const ob_hub_defer *ob_hub_defer_get(void)
{
    return tl_defer;
}

ob_status ob_hub_log_read(ob_hub *h, const ob_log_entry *le, uint64_t *seq, ob_err *e)
{
    return ob_hub_log_reads(h, le, 1, seq, e);
}

ob_status ob_hub_log_reads(ob_hub *h, const ob_log_entry *le, size_t n, uint64_t *seq, ob_err *e)
{
    if (!h->log)
        return ob_err_set(e, OB_EIO, "the access log is not open; no access without a log entry");
    if (atomic_load(&h->stopped))
        return ob_hub_stopped_err(h, e);
    const ob_hub_defer *d = tl_defer;
    if (!d || seq)
        return ob_alog_append(h->log, le, n, NULL, NULL, seq, e);
    d->hold(d->ctx);
    ob_status rc = ob_alog_append_async(h->log, le, n, NULL, NULL, d->done, d->ctx, e);
    if (rc)
        d->done(d->ctx, rc, 0, e); /* balance the hold; the answer becomes a 500 */
    return rc;
}

void ob_hub_entry_for(const ob_hub *h, const ob_request *rq, ob_log_entry *le)
{
    const ob_index *ix = h->ix;
    memset(le, 0, sizeof *le);
    le->time = rq->now;
    le->event = OB_EV_DECISION;
    switch (rq->actor_kind) {
    case OB_ACTOR_PROFESSIONAL:
        if (rq->actor < ix->npros) {
            const ob_professional *p = &ix->pros[rq->actor];
            le->actor_id = p->ext_id;
            le->actor_name = p->name;
            le->actor_role = ob_role_name((ob_role)p->role);
        }
        break;
    case OB_ACTOR_CITIZEN:
        if (rq->actor < ix->npatients) {
            le->actor_id = ix->patients[rq->actor].ext_id;
            le->actor_name = ix->patients[rq->actor].name;
            le->actor_role = "citizen";
        }
        break;
    case OB_ACTOR_SOURCE_SYSTEM: /* named by its registration (issue 24) */
        le->actor_role = "source_system";
        if (rq->actor < ix->nsources) {
            le->actor_name = ix->sources[rq->actor].name;
        }
        break;
    default:
        break;
    }
    if (rq->acting_org < ix->norgs) {
        le->actor_org = ix->orgs[rq->acting_org].ext_id;
        le->actor_org_name = ix->orgs[rq->acting_org].name;
        if (rq->actor_kind == OB_ACTOR_SOURCE_SYSTEM)
            le->actor_id =
                rq->actor < ix->nsources ? ix->sources[rq->actor].client_id : le->actor_org;
    }
    if (rq->on_behalf_of < ix->npros)
        le->on_behalf_of = ix->pros[rq->on_behalf_of].ext_id;
    if (rq->patient < ix->npatients)
        le->patient = ix->patients[rq->patient].ext_id;
    le->category = ob_category_name((ob_category)rq->category);
    le->purpose = ob_purpose_code((ob_purpose)rq->purpose);
}

ob_status ob_hub_decide(ob_hub *h, const ob_request *rq, const char *resource,
                        const char *justification, ob_decision *d, uint64_t *seq, ob_err *e)
{
    ob_log_entry le;
    pthread_rwlock_rdlock(&h->lock);
    if (ob_hub_stopped(h, NULL, 0)) {
        pthread_rwlock_unlock(&h->lock);
        return ob_hub_stopped_err(h, e);
    }
    ob_policy_decide(h->ix, rq, d);
    ob_hub_entry_for(h, rq, &le);
    /* issue 26: research names its project, so that the patient can be told which ($uses) */
    char project[160] = "";
    if (!resource && rq->project < h->ix->nprojects)
        snprintf(project, sizeof project, "ResearchProject/%s",
                 h->ix->projects[rq->project].ext_id);
    pthread_rwlock_unlock(&h->lock);
    /* index strings are stable: objects are never removed while the hub is open */
    le.capacity = d->capacity;
    le.permit = d->permit;
    le.override = (d->obligations & OB_OBL_LOG_OVERRIDE) != 0;
    le.resource = resource ? resource : project[0] ? project : NULL;
    le.rule = ob_rule_name((ob_rule)d->rule);
    le.legal_basis = d->legal_basis;
    le.reason = d->reason;
    le.justification = rq->override != OB_OVERRIDE_NONE ? justification : NULL;
    if (!h->log)
        return ob_err_set(e, OB_EIO,
                          "the access log is not open; no decision without a log "
                          "entry");
    ob_status rc = ob_alog_append(h->log, &le, 1, NULL, NULL, seq, e);
    if (rc == OB_OK)
        ob_hub_count_decision(h, d->rule, d->permit);
    if (rc == OB_OK && le.override && d->permit)
        rc = ob_hub_note_override(h, rq, e);
    return rc;
}

ob_status ob_hub_note_override(ob_hub *h, const ob_request *rq, ob_err *e)
{
    if (!h->overrides || rq->actor_kind != OB_ACTOR_PROFESSIONAL)
        return OB_OK;
    uint32_t pro_n, site_n;
    ob_overrides_count(h->overrides, rq->actor, rq->acting_org, rq->now, &pro_n, &site_n);
    if (!pro_n && !site_n)
        return OB_OK;
    ob_log_entry le;
    char reason[256];
    pthread_rwlock_rdlock(&h->lock);
    ob_hub_entry_for(h, rq, &le);
    pthread_rwlock_unlock(&h->lock);
    const char *tail = "within 24 hours: the privacy officer should look at them";
    if (pro_n && site_n)
        snprintf(reason, sizeof reason,
                 "%u block overrides by this professional and %u from this site %s", pro_n, site_n,
                 tail);
    else if (pro_n)
        snprintf(reason, sizeof reason, "%u block overrides by this professional %s", pro_n, tail);
    else
        snprintf(reason, sizeof reason, "%u block overrides from this site %s", site_n, tail);
    le.event = OB_EV_ALERT;
    le.permit = true;
    le.capacity = rq->on_behalf_of != OB_NONE ? OB_CAP_ASSISTANT : OB_CAP_PROFESSIONAL;
    le.category = "override_alert";
    le.rule = "R-BLK-4";
    le.legal_basis = "Sundhedsloven §42a (override of a block, værdispring)";
    le.reason = reason;
    ob_status rc = ob_hub_log_read(h, &le, NULL, e);
    if (rc == OB_OK && h->notice) {
        char msg[512];
        snprintf(msg, sizeof msg, "alert: %s (professional %s at %s, patient %s)", reason,
                 le.actor_id ? le.actor_id : "?", le.actor_org ? le.actor_org : "?",
                 le.patient ? le.patient : "?");
        h->notice(h->notice_ctx, msg);
    }
    return rc;
}

void ob_hub_count_decision(ob_hub *h, int rule, bool permit)
{
    if (rule >= 0 && rule < OB_RULE_COUNT)
        atomic_fetch_add_explicit(&h->decisions[rule][permit ? 1 : 0], 1, memory_order_relaxed);
}

/* ---- single changes ---- */
struct change_ctx {
    const char *type;
    char *json;
};

static ob_status store_change(void *ctx, ob_store_tx *tx, ob_err *e)
{
    struct change_ctx *c = ctx;
    return ob_tx_put_record(tx, c->type, c->json, e);
}

ob_log_event ob_hub_event_of(const char *type)
{
    if (strcmp(type, "block") == 0)
        return OB_EV_BLOCK_CREATE;
    if (strcmp(type, "block_lift") == 0)
        return OB_EV_BLOCK_LIFT;
    if (strcmp(type, "consent") == 0)
        return OB_EV_CONSENT_CREATE;
    if (strcmp(type, "consent_revoke") == 0)
        return OB_EV_CONSENT_REVOKE;
    if (strcmp(type, "permission") == 0 || strcmp(type, "quality_criteria") == 0)
        return OB_EV_PERMISSION_GRANT;
    if (strcmp(type, "permission_end") == 0)
        return OB_EV_PERMISSION_REVOKE;
    if (strcmp(type, "relationship_end") == 0 || strcmp(type, "relative_end") == 0 ||
        strcmp(type, "listing") == 0)
        return OB_EV_RELATIONSHIP;
    if (strcmp(type, "relationship") == 0 || strcmp(type, "cover") == 0 ||
        strcmp(type, "relative") == 0)
        return OB_EV_RELATIONSHIP;
    if (strcmp(type, "disclosure") == 0)
        return OB_EV_DISCLOSURE;
    return OB_EV_DATA_CHANGE;
}

/* Undoes the index side of a change whose storage failed. Only the kinds that a live
 * change can make are undone; others make the caller rebuild. */
static bool undo(ob_hub *h, const ob_record_out *out, const char *type)
{
    if (out->ended_to) { /* an end of a grant (issue 24) */
        *out->ended_to = out->prev_to;
        if (out->ended_revoked)
            *out->ended_revoked = false;
        return true;
    }
    if (out->patient >= h->ix->npatients)
        return false;
    ob_patient *p = &h->ix->patients[out->patient];
    if (strcmp(type, "block") == 0 && p->nblocks) {
        p->nblocks--;
        return true;
    }
    if (strcmp(type, "consent") == 0 && p->nconsents) {
        p->nconsents--;
        return true;
    }
    /* a lift moved the entry into the history (issue 24): it goes back, active again;
     * if it cannot, the caller rebuilds from the store */
    if (strcmp(type, "block_lift") == 0) {
        if (!ob_index_unretire_block(h->ix, out->patient, out->assigned))
            return false;
        p->blocks[p->nblocks - 1].active = true;
        return true;
    }
    if (strcmp(type, "consent_revoke") == 0) {
        if (!ob_index_unretire_consent(h->ix, out->patient, out->assigned))
            return false;
        p->consents[p->nconsents - 1].active = true;
        p->consents[p->nconsents - 1].revoked_at = OB_TIME_MAX;
        return true;
    }
    return false;
}

ob_status ob_hub_apply_change(ob_hub *h, json_t *record, ob_record_out *out, ob_err *e)
{
    ob_status rc = ob_record_apply(&h->loader, record, out, e);
    if (rc)
        return rc;
    if (out->is_item || out->is_appointment) {
        json_decref(out->canonical);
        return ob_err_set(e, OB_EINVAL, "data items are imported with 'load'");
    }
    return OB_OK;
}

void ob_hub_change_entry(const ob_hub *h, const ob_record_out *out, ob_log_entry *le, char *res,
                         size_t cap)
{
    le->time = h->loader.now;
    le->event = (uint8_t)ob_hub_event_of(out->type);
    le->permit = true;
    if (out->patient < h->ix->npatients)
        le->patient = h->ix->patients[out->patient].ext_id;
    snprintf(res, cap, "%s/%llu", out->type, (unsigned long long)out->assigned);
    le->resource = res;
}

ob_status ob_hub_change(ob_hub *h, json_t *record, const ob_log_entry *actor, uint64_t *seq,
                        uint64_t *assigned, ob_err *e)
{
    if (h->sync)
        return ob_hub_pg_change(h, record, actor, seq, assigned, e);
    ob_record_out out;
    pthread_rwlock_wrlock(&h->lock);
    if (atomic_load(&h->stopped)) {
        pthread_rwlock_unlock(&h->lock);
        return ob_hub_stopped_err(h, e);
    }
    h->loader.now = ob_time_now();
    ob_status rc = ob_hub_apply_change(h, record, &out, e);
    if (rc) {
        pthread_rwlock_unlock(&h->lock);
        return rc;
    }
    struct change_ctx c = {out.type, json_dumps(out.canonical, JSON_COMPACT | JSON_SORT_KEYS)};
    ob_log_entry le = *actor;
    char res[64];
    ob_hub_change_entry(h, &out, &le, res, sizeof res);
    if (!c.json)
        rc = ob_err_set(e, OB_ENOMEM, "out of memory");
    else if (!h->log)
        rc = ob_err_set(e, OB_EIO, "the access log is not open; no change without a log entry");
    else
        rc = ob_alog_append(h->log, &le, 1, store_change, &c, seq, e);
    if (rc && !undo(h, &out, out.type)) {
        ob_err rbe = {0};
        if (ob_hub_rebuild(h, &rbe))
            ob_hub_stop(h, "a change could not be stored nor undone", &rbe);
    }
    if (assigned)
        *assigned = out.assigned;
    pthread_rwlock_unlock(&h->lock);
    free(c.json);
    json_decref(out.canonical);
    return rc;
}

/* ---- bulk import ---- */
typedef struct staged {
    const char *type; /* static or arena */
    char *json;       /* arena */
    bool is_item;
    ob_item item; /* strings in the arena or the index */
    bool is_apt;  /* an appointment for the appointments table (R-APT) */
    ob_apt apt;   /* strings in the arena or the index */
} staged;

struct import_ctx {
    staged *v;
    size_t n, cap;
};

static ob_status store_import(void *ctx, ob_store_tx *tx, ob_err *e)
{
    struct import_ctx *c = ctx;
    ob_status rc = OB_OK;
    for (size_t i = 0; i < c->n && !rc; i++)
        rc = c->v[i].is_apt    ? ob_tx_apt_upsert(tx, &c->v[i].apt, NULL, e)
             : c->v[i].is_item ? ob_tx_put_item(tx, &c->v[i].item, e)
                               : ob_tx_put_record(tx, c->v[i].type, c->v[i].json, e);
    return rc;
}

const char *ob_hub_intern_type(const char *t)
{
    static const char *const types[] = {"org",
                                        "professional",
                                        "patient",
                                        "relative",
                                        "relationship",
                                        "permission",
                                        "cover",
                                        "project",
                                        "block",
                                        "consent",
                                        "block_lift",
                                        "consent_revoke",
                                        "disclosure",
                                        "item",
                                        "cluster",
                                        "source",
                                        "appointment",
                                        "relative_end",
                                        "relationship_end",
                                        "permission_end",
                                        "demo"};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcmp(types[i], t) == 0)
            return types[i];
    return "unknown";
}

ob_status ob_hub_import(ob_hub *h, ob_hub_next_fn next, void *ctx, ob_hub_progress_fn progress,
                        void *pctx, size_t *count, ob_err *e)
{
    if (h->sync)
        return ob_hub_pg_import(h, next, ctx, progress, pctx, count, e);
    ob_arena arena;
    ob_arena_init(&arena, 4 << 20);
    struct import_ctx ic = {0};
    ob_log_entry *entries = NULL;
    size_t nentries = 0, capentries = 0;
    ob_status rc = OB_OK;
    size_t line = 0;
    bool touched = false;
    pthread_rwlock_wrlock(&h->lock);
    if (atomic_load(&h->stopped)) {
        pthread_rwlock_unlock(&h->lock);
        ob_arena_release(&arena);
        return ob_hub_stopped_err(h, e);
    }
    h->loader.now = ob_time_now();
    for (;;) {
        ob_err_clear(e);
        json_t *o = next(ctx, &line, e);
        if (!o) {
            if (e && e->code)
                rc = e->code;
            break;
        }
        ob_record_out out;
        rc = ob_record_apply(&h->loader, o, &out, e);
        if (rc) {
            json_decref(o);
            ob_err_wrap(e, "line %zu", line);
            break;
        }
        touched = true;
        if (ob_grow((void **)&ic.v, &ic.cap, ic.n + 1, sizeof *ic.v) < 0) {
            json_decref(out.canonical);
            json_decref(o);
            rc = ob_err_set(e, OB_ENOMEM, "out of memory importing line %zu", line);
            break;
        }
        staged *s = &ic.v[ic.n++];
        memset(s, 0, sizeof *s);
        s->type = ob_hub_intern_type(out.type);
        char *text = json_dumps(out.canonical, JSON_COMPACT | JSON_SORT_KEYS);
        s->json = text ? ob_arena_strdup(&arena, text) : NULL;
        free(text);
        if (out.is_item) {
            s->is_item = true;
            s->item = out.item;
            s->item.id = ob_arena_strdup(&arena, out.item.id);
            s->item.code = out.item.code ? ob_arena_strdup(&arena, out.item.code) : NULL;
            s->item.json = s->json;
        }
        if (out.is_appointment) {
            s->is_apt = true;
            s->apt = out.apt;
            s->apt.source = ob_arena_strdup(&arena, out.apt.source);
            s->apt.system = ob_arena_strdup(&arena, out.apt.system ? out.apt.system : "");
            s->apt.value = ob_arena_strdup(&arena, out.apt.value);
            s->apt.address = out.apt.address ? ob_arena_strdup(&arena, out.apt.address) : NULL;
            s->apt.status = ob_arena_strdup(&arena, out.apt.status);
            if (!s->apt.source || !s->apt.system || !s->apt.value || !s->apt.status)
                rc = ob_err_set(e, OB_ENOMEM, "out of memory importing line %zu", line);
        }
        ob_log_event ev = ob_hub_event_of(s->type);
        if (!out.is_item && ev != OB_EV_DATA_CHANGE) {
            if (ob_grow((void **)&entries, &capentries, nentries + 1, sizeof *entries) < 0) {
                rc = ob_err_set(e, OB_ENOMEM, "out of memory importing line %zu", line);
            } else {
                ob_log_entry *le = &entries[nentries++];
                memset(le, 0, sizeof *le);
                le->time = h->loader.now;
                le->event = (uint8_t)ev;
                le->permit = true;
                le->actor_id = "import";
                le->actor_role = "operator";
                le->capacity = OB_CAP_OPERATOR;
                le->patient =
                    out.patient < h->ix->npatients ? h->ix->patients[out.patient].ext_id : NULL;
                le->category = s->type;
                le->reason = "imported with overblik load";
            }
        }
        json_decref(out.canonical);
        json_decref(o);
        if (!rc && (!s->json || (out.is_item && !s->item.id)))
            rc = ob_err_set(e, OB_ENOMEM, "out of memory importing line %zu", line);
        if (rc)
            break;
        if (progress && ic.n % 10000 == 0)
            progress(pctx, ic.n);
    }
    if (!rc) {
        char summary[96];
        snprintf(summary, sizeof summary, "import of %zu records", ic.n);
        if (ob_grow((void **)&entries, &capentries, nentries + 1, sizeof *entries) < 0) {
            rc = ob_err_set(e, OB_ENOMEM, "out of memory");
        } else {
            ob_log_entry *le = &entries[nentries++];
            memset(le, 0, sizeof *le);
            le->time = h->loader.now;
            le->event = OB_EV_DATA_CHANGE;
            le->permit = true;
            le->actor_id = "import";
            le->actor_role = "operator";
            le->capacity = OB_CAP_OPERATOR;
            le->reason = summary;
            uint64_t seq;
            if (!h->log)
                rc = ob_err_set(e, OB_EIO, "the access log is not open");
            else
                rc = ob_alog_append(h->log, entries, nentries, store_import, &ic, &seq, e);
        }
    }
    if (rc && touched) {
        ob_err keep = e ? *e : (ob_err){0};
        ob_err rbe = {0};
        ob_status rb = ob_hub_rebuild(h, &rbe);
        if (e)
            *e = keep;
        if (rb) {
            ob_hub_stop(h, "an import failed", &rbe);
            rc = ob_err_set(e, OB_EINTERNAL, "import failed and the index could not be rebuilt: %s",
                            rbe.msg);
        }
    }
    pthread_rwlock_unlock(&h->lock);
    /* after the commit, and outside the hub lock (readers take the cache's lock first) */
    if (touched)
        ob_apt_cache_clear(h->apt_cache);
    if (progress)
        progress(pctx, ic.n);
    if (count)
        *count = rc ? 0 : ic.n;
    ob_free(entries);
    ob_free(ic.v);
    ob_arena_release(&arena);
    return rc;
}

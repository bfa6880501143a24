/* appointment.c - appointment writes and candidate reads (see appointment.h). */
#include "service/appointment.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "service/sources.h"
#include "store/log.h"
#include "store/sqlite/source_state.h"
#include "store/sqlite/sqlite.h"

/* ob_apt_find_key's callback: the row as it was before the write. */
static ob_status found(void *ctx, const ob_apt *a, ob_err *e)
{
    (void)e;
    ob_apt_prev *w = ctx;
    w->id = a->id;
    w->row_version = a->version;
    w->version = a->version > 0 ? a->version : 1;
    const char *p = a->patient ? a->patient : "";
    w->prev_long = strlen(p) >= sizeof w->prev;
    snprintf(w->prev, sizeof w->prev, "%s", p);
    return OB_OK;
}

ob_status ob_apt_apply(ob_store_tx *tx, ob_apt *a, bool create_only, int64_t if_match,
                       bool *created, ob_apt_prev *w, ob_err *e)
{
    /* the row as it was: for the checks below, and for the cache of the patient it
     * belonged to (a source that corrects a misfiled appointment moves it to another
     * patient, and the old patient's rows must go too: T-CONC-2) */
    memset(w, 0, sizeof *w);
    ob_status rc = ob_tx_apt_find_key(tx, a->source, a->system, a->value, found, w, e);
    if (rc)
        return rc;
    int64_t version = w->version;
    if (create_only && version)
        return ob_err_set(e, OB_ECONFLICT,
                          "your system already has an appointment with this identifier; "
                          "update it with PUT /Appointment?identifier=<system>|<value>");
    if (if_match && !version)
        return ob_err_set(e, OB_ECONFLICT,
                          "If-Match: your system has no appointment with this identifier");
    if (if_match > 0 && version != if_match)
        return ob_err_set(e, OB_ECONFLICT,
                          "If-Match: the appointment is at version %lld, not %lld; read it "
                          "again and send the change against that version",
                          (long long)version, (long long)if_match);
    return ob_tx_apt_store(tx, a, w->id, w->row_version, created, e); /* the row just found */
}

struct write_ctx {
    ob_apt *a;
    bool create_only, created;
    int64_t if_match;
    ob_apt_prev prev;
};

/* Runs on the log's writer thread inside the transaction of the log entry. */
static ob_status apply_write(void *ctx, ob_store_tx *tx, ob_err *e)
{
    struct write_ctx *w = ctx;
    ob_status rc = ob_apt_apply(tx, w->a, w->create_only, w->if_match, &w->created, &w->prev, e);
    return rc ? rc : ob_tx_source_touch(tx, w->a->source, w->a->updated, e); /* R-SRC-2 */
}

/* ---- the appointment cache (see appointment.h) ---- */

/* Past this many cached bytes the cache starts again empty: a bound, not an LRU. */
#define CACHE_MAX_BYTES ((size_t)256 << 20)

struct ob_apt_cache {
    pthread_rwlock_t lock;
    uint64_t gen;       /* incremented by every drop, under the write lock */
    ob_apt_list **rows; /* by patient index id; NULL: not cached */
    size_t nrows, bytes;
};

ob_status ob_apt_cache_new(struct ob_apt_cache **out, ob_err *e)
{
    struct ob_apt_cache *c = ob_calloc(1, sizeof *c);
    if (!c)
        return ob_err_set(e, OB_ENOMEM, "out of memory");
    pthread_rwlock_init(&c->lock, NULL);
    *out = c;
    return OB_OK;
}

static void free_rows(ob_apt_list *l)
{
    if (l) {
        ob_apt_list_release(l);
        ob_free(l);
    }
}

static size_t rows_bytes(const ob_apt_list *l)
{
    size_t b = sizeof *l + l->cap * sizeof *l->v;
    for (size_t i = 0; i < l->n; i++)
        b += 64 + strlen(l->v[i].a.source) + strlen(l->v[i].a.value); /* about */
    return b;
}

static void clear_locked(struct ob_apt_cache *c)
{
    for (size_t i = 0; i < c->nrows; i++)
        free_rows(c->rows[i]);
    ob_free(c->rows);
    c->rows = NULL;
    c->nrows = c->bytes = 0;
    c->gen++;
}

void ob_apt_cache_free(struct ob_apt_cache *c)
{
    if (!c)
        return;
    clear_locked(c);
    pthread_rwlock_destroy(&c->lock);
    ob_free(c);
}

/* Forgets the rows of patient `pat` (OB_NONE: of everyone). */
static void drop(struct ob_apt_cache *c, uint32_t pat)
{
    if (!c)
        return;
    pthread_rwlock_wrlock(&c->lock);
    if (pat == OB_NONE) {
        clear_locked(c);
    } else {
        c->gen++;
        if (pat < c->nrows && c->rows[pat]) {
            c->bytes -= rows_bytes(c->rows[pat]);
            free_rows(c->rows[pat]);
            c->rows[pat] = NULL;
        }
    }
    pthread_rwlock_unlock(&c->lock);
}

void ob_apt_cache_clear(struct ob_apt_cache *c)
{
    drop(c, OB_NONE);
}

/* Keeps `l` (taken) as the rows of `pat` unless a write ended since generation `gen`. */
static void publish(struct ob_apt_cache *c, uint32_t pat, uint64_t gen, ob_apt_list *l)
{
    pthread_rwlock_wrlock(&c->lock);
    if (c->gen == gen && pat >= c->nrows) {
        size_t n = c->nrows ? c->nrows : 1024;
        while (n <= pat)
            n *= 2;
        ob_apt_list **nr = ob_realloc(c->rows, n * sizeof *nr);
        if (nr) {
            memset(nr + c->nrows, 0, (n - c->nrows) * sizeof *nr);
            c->rows = nr;
            c->nrows = n;
        }
    }
    if (c->gen == gen && pat < c->nrows && !c->rows[pat]) {
        size_t b = rows_bytes(l);
        if (c->bytes + b > CACHE_MAX_BYTES)
            clear_locked(c); /* and this reader's rows go unpublished (gen moved) */
        else {
            c->rows[pat] = l;
            c->bytes += b;
            l = NULL;
        }
    }
    pthread_rwlock_unlock(&c->lock);
    free_rows(l);
}

void ob_apt_entry(const ob_apt *a, const ob_log_entry *actor, ob_log_entry *le, char res[200])
{
    *le = *actor;
    le->event = OB_EV_DATA_CHANGE;
    le->permit = true;
    le->patient = a->patient;
    le->category = "appointment";
    le->rule = "R-APT-1";
    le->reason = "appointment written by its source system";
    snprintf(res, 200, "Appointment?source=%.64s&identifier=%.100s", a->source, a->value);
    le->resource = res;
}

void ob_apt_written(ob_hub *h, const ob_apt *a, const ob_apt_prev *w)
{
    /* committed or not (see appointment.h): every patient whose rows the write touched,
     * the one it names and the one it was filed on before */
    pthread_rwlock_rdlock(&h->lock);
    uint32_t pat = ob_index_find_patient(h->ix, a->patient);
    uint32_t prev = w->prev[0] ? ob_index_find_patient(h->ix, w->prev) : OB_NONE;
    pthread_rwlock_unlock(&h->lock);
    if (w->prev_long) {
        drop(h->apt_cache, OB_NONE);
    } else {
        drop(h->apt_cache, pat);
        if (prev != pat && prev != OB_NONE)
            drop(h->apt_cache, prev);
    }
}

ob_status ob_hub_apt_write(ob_hub *h, ob_apt *a, bool create_only, int64_t if_match,
                           const ob_log_entry *actor, bool *created, ob_err *e)
{
    struct write_ctx w = {.a = a, .create_only = create_only, .if_match = if_match};
    ob_log_entry le;
    char res[200];
    ob_apt_entry(a, actor, &le, res);
    if (!h->log)
        return ob_err_set(e, OB_EIO, "the access log is not open; no change without a log entry");
    if (ob_hub_stopped(h, NULL, 0))
        return ob_hub_stopped_err(h, e);
    uint64_t seq;
    ob_status rc = ob_alog_append(h->log, &le, 1, apply_write, &w, &seq, e);
    ob_apt_written(h, a, &w.prev);
    if (!rc)
        ob_hub_source_delivered(h, a->source, a->updated);
    if (!rc && created)
        *created = w.created;
    return rc;
}

static char *dup_into(char **at, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    memcpy(*at, s, n);
    char *r = *at;
    *at += n;
    return r;
}

static ob_status push(ob_apt_list *l, const ob_apt *a, ob_err *e)
{
    const char *strs[] = {a->source,  a->system, a->value, a->patient,
                          a->address, a->clinic, a->status};
    size_t need = 0;
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        need += strs[i] ? strlen(strs[i]) + 1 : 0;
    if (ob_grow((void **)&l->v, &l->cap, l->n + 1, sizeof *l->v) < 0)
        return ob_err_set(e, OB_ENOMEM, "out of memory reading appointments");
    ob_apt_copy *c = &l->v[l->n];
    c->buf = ob_malloc(need ? need : 1);
    if (!c->buf)
        return ob_err_set(e, OB_ENOMEM, "out of memory reading appointments");
    char *at = c->buf;
    c->a = *a;
    c->a.source = dup_into(&at, a->source);
    c->a.system = dup_into(&at, a->system);
    c->a.value = dup_into(&at, a->value);
    c->a.patient = dup_into(&at, a->patient);
    c->a.address = dup_into(&at, a->address);
    c->a.clinic = dup_into(&at, a->clinic);
    c->a.status = dup_into(&at, a->status);
    l->n++;
    return OB_OK;
}

struct cand_ctx {
    ob_hub *h;
    ob_apt_list *out;
    bool all; /* keep everything (write responses) */
};

/* R-APT-2 (sharing switch), R-APT-5 (go-live), and entered-in-error. */
static bool showable(ob_hub *h, const ob_apt *a)
{
    if (!a->shared || strcmp(a->status, "entered-in-error") == 0)
        return false;
    pthread_rwlock_rdlock(&h->lock);
    const ob_source *src = ob_index_find_source(h->ix, a->source);
    bool ok = src && a->start >= src->go_live;
    pthread_rwlock_unlock(&h->lock);
    return ok;
}

static ob_status collect(void *ctx, const ob_apt *a, ob_err *e)
{
    struct cand_ctx *c = ctx;
    if (!c->all && !showable(c->h, a))
        return OB_OK;
    return push(c->out, a, e);
}

/* Copies the showable rows of `all` into out. */
static ob_status copy_showable(ob_hub *h, const ob_apt_list *all, ob_apt_list *out, ob_err *e)
{
    struct cand_ctx cc = {h, out, false};
    for (size_t i = 0; i < all->n; i++) {
        ob_status rc = collect(&cc, &all->v[i].a, e);
        if (rc)
            return rc;
    }
    return OB_OK;
}

ob_status ob_hub_apt_candidates(ob_hub *h, uint32_t pat, ob_apt_list *out, ob_err *e)
{
    memset(out, 0, sizeof *out);
    struct ob_apt_cache *c = h->apt_cache;
    ob_status rc = OB_OK;
    pthread_rwlock_rdlock(&c->lock);
    uint64_t gen = c->gen;
    const ob_apt_list *hit = pat < c->nrows && !h->sync ? c->rows[pat] : NULL;
    if (hit)
        rc = copy_showable(h, hit, out, e);
    pthread_rwlock_unlock(&c->lock);
    if (hit)
        return rc;
    ob_apt_list *all = ob_calloc(1, sizeof *all);
    if (!all)
        return ob_err_set(e, OB_ENOMEM, "out of memory reading appointments");
    pthread_rwlock_rdlock(&h->lock); /* index strings stay valid while the hub is open */
    const char *patient = h->ix->patients[pat].ext_id;
    pthread_rwlock_unlock(&h->lock);
    struct cand_ctx cc = {h, all, true};
    rc = ob_store_apt_each_patient(h->store, patient, collect, &cc, e);
    if (!rc)
        rc = copy_showable(h, all, out, e);
    if (rc || h->sync) { /* several servers (PostgreSQL): another's write would not reach
                          * this cache, so none is kept (docs/scale.md) */
        free_rows(all);
        return rc;
    }
    publish(c, pat, gen, all);
    return OB_OK;
}

ob_status ob_hub_apt_candidate(ob_hub *h, int64_t id, ob_apt_list *out, ob_err *e)
{
    memset(out, 0, sizeof *out);
    struct cand_ctx c = {h, out, false};
    return ob_store_apt_get(h->store, id, collect, &c, e);
}

ob_status ob_hub_apt_by_key(ob_hub *h, const char *source, const char *system, const char *value,
                            ob_apt_list *out, ob_err *e)
{
    memset(out, 0, sizeof *out);
    struct cand_ctx c = {h, out, true};
    return ob_store_apt_find_key(h->store, source, system, value, collect, &c, e);
}

void ob_apt_list_release(ob_apt_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        ob_free(l->v[i].buf);
    ob_free(l->v);
    memset(l, 0, sizeof *l);
}

/* appointment.c - appointment writes and candidate reads (see appointment.h). */
#include "service/appointment.h"

#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "store/log_sqlite.h"
#include "store/sqlite.h"

struct write_ctx {
    ob_apt *a;
    bool create_only, created;
};

static ob_status found(void *ctx, const ob_apt *a, ob_err *e)
{
    (void)a;
    (void)e;
    *(bool *)ctx = true;
    return OB_OK;
}

/* Runs on the log's writer thread inside the transaction of the log entry. */
static ob_status apply_write(void *ctx, sqlite3 *db, ob_err *e)
{
    struct write_ctx *w = ctx;
    if (w->create_only) {
        bool exists = false;
        ob_status rc =
            ob_apt_find_key(db, w->a->source, w->a->system, w->a->value, found, &exists, e);
        if (rc)
            return rc;
        if (exists)
            return ob_err_set(e, OB_ECONFLICT,
                              "your system already has an appointment with this identifier; "
                              "update it with PUT /Appointment?identifier=<system>|<value>");
    }
    return ob_apt_upsert(db, w->a, &w->created, e);
}

ob_status ob_hub_apt_write(ob_hub *h, ob_apt *a, bool create_only, const ob_log_entry *actor,
                           bool *created, ob_err *e)
{
    struct write_ctx w = {a, create_only, false};
    ob_log_entry le = *actor;
    le.event = OB_EV_DATA_CHANGE;
    le.permit = true;
    le.patient = a->patient;
    le.category = "appointment";
    le.rule = "R-APT-1";
    le.reason = "appointment written by its source system";
    char res[200];
    snprintf(res, sizeof res, "Appointment?source=%.64s&identifier=%.100s", a->source, a->value);
    le.resource = res;
    if (!h->log)
        return ob_err_set(e, OB_EIO, "the access log is not open; no change without a log entry");
    uint64_t seq;
    ob_status rc = ob_log_append(h->log, &le, 1, apply_write, &w, &seq, e);
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

ob_status ob_hub_apt_candidates(ob_hub *h, const char *patient, ob_apt_list *out, ob_err *e)
{
    memset(out, 0, sizeof *out);
    struct cand_ctx c = {h, out, false};
    return ob_apt_each_patient_pooled(h->store, patient, collect, &c, e);
}

ob_status ob_hub_apt_candidate(ob_hub *h, int64_t id, ob_apt_list *out, ob_err *e)
{
    memset(out, 0, sizeof *out);
    struct cand_ctx c = {h, out, false};
    return ob_apt_get(ob_store_db(h->store), id, collect, &c, e);
}

ob_status ob_hub_apt_by_key(ob_hub *h, const char *source, const char *system, const char *value,
                            ob_apt_list *out, ob_err *e)
{
    memset(out, 0, sizeof *out);
    struct cand_ctx c = {h, out, true};
    return ob_apt_find_key(ob_store_db(h->store), source, system, value, collect, &c, e);
}

void ob_apt_list_release(ob_apt_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        ob_free(l->v[i].buf);
    ob_free(l->v);
    memset(l, 0, sizeof *l);
}

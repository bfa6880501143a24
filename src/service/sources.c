/* sources.c - identifier systems' owners, unknown-patient refusals per source and the
 * sources' state (see sources.h). All are short lists (one row per source or system),
 * searched linearly. */
#include "service/sources.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/text.h"
#include "service/hub.h"
#include "store/store.h"

typedef struct pair {
    char *a, *b; /* system and source, or client and (unused) */
    uint64_t n;
} pair;

typedef struct list {
    pair *v;
    size_t n, cap;
} list;

typedef struct state_row {
    char client[64];
    ob_time last_update, since;
    char reason[240];
} state_row;

struct ob_sources {
    pthread_mutex_t mu;
    bool loaded;
    list owners;      /* (system, source) */
    list unknown;     /* (client, -) with a count */
    state_row *state; /* source_state as last read */
    size_t nstate, capstate;
    struct timespec state_at; /* when (monotonic); 0: never */
    ob_source_status *intr;   /* the interrupted ones as last computed */
    size_t nintr;
    struct timespec intr_at; /* when (monotonic); 0: to compute again */
};

ob_status ob_sources_new(ob_sources **out, ob_err *e)
{
    ob_sources *g = ob_calloc(1, sizeof *g);
    if (!g)
        return ob_err_set(e, OB_ENOMEM, "out of memory");
    pthread_mutex_init(&g->mu, NULL);
    *out = g;
    return OB_OK;
}

static void list_free(list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        ob_free(l->v[i].a);
        ob_free(l->v[i].b);
    }
    ob_free(l->v);
}

void ob_sources_free(ob_sources *g)
{
    if (!g)
        return;
    list_free(&g->owners);
    list_free(&g->unknown);
    ob_free(g->state);
    ob_free(g->intr);
    pthread_mutex_destroy(&g->mu);
    ob_free(g);
}

static pair *add(list *l, const char *a, const char *b)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        pair *v = ob_realloc(l->v, cap * sizeof *v);
        if (!v)
            return NULL;
        l->v = v;
        l->cap = cap;
    }
    pair *p = &l->v[l->n];
    p->a = ob_strdup(a);
    p->b = b ? ob_strdup(b) : NULL;
    p->n = 0;
    if (!p->a || (b && !p->b)) {
        ob_free(p->a);
        ob_free(p->b);
        return NULL;
    }
    l->n++;
    return p;
}

static ob_status load_owner(void *ctx, const char *system, const char *source, ob_err *e)
{
    return add(ctx, system, source) ? OB_OK : ob_err_set(e, OB_ENOMEM, "out of memory");
}

ob_status ob_hub_apt_system_claim(ob_hub *h, const char *system, const char *source, ob_err *e)
{
    ob_sources *g = h->sources;
    ob_status rc = OB_OK;
    pthread_mutex_lock(&g->mu);
    if (!g->loaded) {
        rc = ob_store_each_id_system(h->store, load_owner, &g->owners, e);
        g->loaded = rc == OB_OK;
    }
    bool known = false, mine = false;
    for (size_t i = 0; rc == OB_OK && i < g->owners.n; i++)
        if (strcmp(g->owners.v[i].a, system) == 0) {
            known = true;
            mine |= strcmp(g->owners.v[i].b, source) == 0;
        }
    if (rc == OB_OK && known && !mine)
        rc = ob_err_set(e, OB_EDENIED,
                        "this identifier system belongs to another source system; use your own "
                        "(R-APT-1)");
    else if (rc == OB_OK && !known && !add(&g->owners, system, source))
        rc = ob_err_set(e, OB_ENOMEM, "out of memory");
    pthread_mutex_unlock(&g->mu);
    return rc;
}

void ob_hub_source_unknown_patient(ob_hub *h, const char *client)
{
    ob_sources *g = h->sources;
    pthread_mutex_lock(&g->mu);
    pair *p = NULL;
    for (size_t i = 0; i < g->unknown.n && !p; i++)
        if (strcmp(g->unknown.v[i].a, client) == 0)
            p = &g->unknown.v[i];
    if (!p && g->unknown.n < 4096) /* a bounded list: clients are registered sources */
        p = add(&g->unknown, client, NULL);
    if (p)
        p->n++;
    pthread_mutex_unlock(&g->mu);
}

void ob_sources_each_unknown(ob_sources *g, ob_sources_fn fn, void *ctx)
{
    pthread_mutex_lock(&g->mu);
    for (size_t i = 0; i < g->unknown.n; i++)
        fn(ctx, g->unknown.v[i].a, g->unknown.v[i].n);
    pthread_mutex_unlock(&g->mu);
}

/* ---- the sources' state (R-SRC-2) ---- */

#define STATE_TTL_NS 2000000000LL

static state_row *state_find(ob_sources *g, const char *client)
{
    for (size_t i = 0; i < g->nstate; i++)
        if (strcmp(g->state[i].client, client) == 0)
            return &g->state[i];
    return NULL;
}

static state_row *state_add(ob_sources *g, const char *client)
{
    state_row *r = state_find(g, client);
    if (r || strlen(client) >= sizeof r->client)
        return r;
    if (ob_grow((void **)&g->state, &g->capstate, g->nstate + 1, sizeof *g->state) < 0)
        return NULL;
    r = &g->state[g->nstate++];
    memset(r, 0, sizeof *r);
    memcpy(r->client, client, strlen(client) + 1);
    return r;
}

static ob_status load_state(void *ctx, const char *client, ob_time last_update, ob_time since,
                            const char *reason, ob_err *e)
{
    state_row *r = state_add(ctx, client);
    if (!r)
        return strlen(client) >= sizeof r->client ? OB_OK
                                                  : ob_err_set(e, OB_ENOMEM, "out of memory");
    if (last_update > r->last_update)
        r->last_update = last_update;
    r->since = since;
    snprintf(r->reason, sizeof r->reason, "%s", reason ? reason : "");
    return OB_OK;
}

void ob_hub_source_delivered(ob_hub *h, const char *client, ob_time t)
{
    ob_sources *g = h->sources;
    pthread_mutex_lock(&g->mu);
    state_row *r = state_add(g, client);
    if (r && t > r->last_update)
        r->last_update = t;
    if (g->nintr) /* a silent one may have spoken */
        memset(&g->intr_at, 0, sizeof g->intr_at);
    pthread_mutex_unlock(&g->mu);
}

ob_status ob_hub_sources_status(ob_hub *h, ob_time now, ob_source_status **out, size_t *n,
                                ob_err *e)
{
    *out = NULL;
    *n = 0;
    ob_sources *g = h->sources;
    ob_status rc = OB_OK;
    pthread_mutex_lock(&g->mu);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    long long age = (long long)(ts.tv_sec - g->state_at.tv_sec) * 1000000000LL +
                    (ts.tv_nsec - g->state_at.tv_nsec);
    if ((g->state_at.tv_sec == 0 && g->state_at.tv_nsec == 0) || age > STATE_TTL_NS) {
        /* declarations come from the table; deliveries are the later of both */
        for (size_t i = 0; i < g->nstate; i++)
            g->state[i].since = 0, g->state[i].reason[0] = '\0';
        rc = ob_store_source_state_each(h->store, load_state, g, e);
        if (rc == OB_OK)
            g->state_at = ts;
    }
    if (rc) {
        pthread_mutex_unlock(&g->mu);
        return rc;
    }
    pthread_rwlock_rdlock(&h->lock);
    size_t ns = h->ix->nsources;
    ob_source_status *v = ob_calloc(ns ? ns : 1, sizeof *v);
    for (size_t i = 0; v && i < ns; i++) {
        const ob_source *s = &h->ix->sources[i];
        ob_source_status *o = &v[i];
        o->client = s->client_id;
        o->name = s->name;
        o->site = s->site < h->ix->norgs ? h->ix->orgs[s->site].ext_id : NULL;
        const state_row *r = state_find(g, s->client_id);
        o->last_update = r ? r->last_update : 0;
        if (r && r->since) {
            o->since = r->since;
            o->declared = true;
            snprintf(o->reason, sizeof o->reason, "%s", r->reason);
        } else if (s->max_silence > 0) { /* silent for longer than its registration allows */
            ob_time base = o->last_update ? o->last_update : s->go_live;
            if (now > base && now - base > s->max_silence)
                o->since = base + s->max_silence;
        }
    }
    pthread_rwlock_unlock(&h->lock);
    pthread_mutex_unlock(&g->mu);
    if (!v)
        return ob_err_set(e, OB_ENOMEM, "out of memory");
    *out = v;
    *n = ns;
    return OB_OK;
}

ob_status ob_hub_source_declare(ob_hub *h, const char *client, ob_time since, const char *reason,
                                ob_err *e)
{
    pthread_rwlock_rdlock(&h->lock);
    bool known = ob_index_find_source(h->ix, client) != NULL;
    pthread_rwlock_unlock(&h->lock);
    if (!known)
        return ob_err_set(e, OB_ENOTFOUND, "no source system with this client id");
    if (since && (!reason || !*reason))
        return ob_err_set(e, OB_EINVAL, "an interruption needs a reason (shown to clinicians)");
    ob_status rc;
    if (since &&
        ((rc = ob_text_kept(reason, strlen(reason), "the reason", e)) || strlen(reason) > 200))
        return rc ? rc : ob_err_set(e, OB_ELIMIT, "the reason is longer than 200 characters");
    if ((rc = ob_store_source_declare(h->store, client, since, reason, e)))
        return rc;
    ob_sources *g = h->sources;
    pthread_mutex_lock(&g->mu);
    memset(&g->state_at, 0, sizeof g->state_at); /* read again at the next look */
    memset(&g->intr_at, 0, sizeof g->intr_at);
    pthread_mutex_unlock(&g->mu);
    return OB_OK;
}

static long long age_ns(const struct timespec *then, const struct timespec *now)
{
    return (long long)(now->tv_sec - then->tv_sec) * 1000000000LL + (now->tv_nsec - then->tv_nsec);
}

ob_status ob_hub_sources_interrupted(ob_hub *h, ob_time now, ob_source_status **out, size_t *n,
                                     ob_err *e)
{
    *out = NULL;
    *n = 0;
    ob_sources *g = h->sources;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    pthread_mutex_lock(&g->mu);
    bool fresh =
        (g->intr_at.tv_sec || g->intr_at.tv_nsec) && age_ns(&g->intr_at, &ts) < 1000000000LL;
    if (fresh) {
        ob_status rc = OB_OK;
        if (g->nintr) {
            *out = ob_malloc(g->nintr * sizeof **out);
            if (*out) {
                memcpy(*out, g->intr, g->nintr * sizeof **out);
                *n = g->nintr;
            } else {
                rc = ob_err_set(e, OB_ENOMEM, "out of memory");
            }
        }
        pthread_mutex_unlock(&g->mu);
        return rc;
    }
    pthread_mutex_unlock(&g->mu);
    ob_source_status *all;
    size_t na;
    ob_status rc = ob_hub_sources_status(h, now, &all, &na, e);
    if (rc)
        return rc;
    size_t k = 0;
    for (size_t i = 0; i < na; i++)
        if (all[i].since)
            all[k++] = all[i];
    pthread_mutex_lock(&g->mu);
    ob_free(g->intr);
    g->intr = NULL;
    g->nintr = 0;
    if (k && (g->intr = ob_malloc(k * sizeof *g->intr)) != NULL) {
        memcpy(g->intr, all, k * sizeof *g->intr);
        g->nintr = k;
    }
    g->intr_at = ts;
    pthread_mutex_unlock(&g->mu);
    if (k) {
        *out = all;
        *n = k;
    } else {
        ob_free(all);
    }
    return OB_OK;
}

/* sources.c - identifier systems' owners and unknown-patient refusals per source (see
 * sources.h). Both are short lists (one row per source or system), searched linearly. */
#include "service/sources.h"

#include <pthread.h>
#include <string.h>

#include "core/alloc.h"
#include "service/hub.h"
#include "store/appointments.h"
#include "store/sqlite.h"

typedef struct pair {
    char *a, *b; /* system and source, or client and (unused) */
    uint64_t n;
} pair;

typedef struct list {
    pair *v;
    size_t n, cap;
} list;

struct ob_sources {
    pthread_mutex_t mu;
    bool loaded;
    list owners;  /* (system, source) */
    list unknown; /* (client, -) with a count */
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
        ob_store_reader *r; /* reads run on a reader of their own (store/sqlite.h) */
        rc = ob_store_reader_take(h->store, &r, e);
        if (rc == OB_OK) {
            rc = ob_apt_each_system(ob_store_reader_db(r), load_owner, &g->owners, e);
            ob_store_reader_give(h->store, r);
        }
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

/* overrides.c - rolling override counts and their alert thresholds (see overrides.h). Each
 * counted id has 24 hourly buckets stamped with the hour they count; a bucket of an older
 * hour is reused from zero, so the window slides without a timer. */
#include "service/overrides.h"

#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "core/alloc.h"

#define HOURS 24

typedef struct window {
    int64_t hour[HOURS]; /* the hour (seconds / 3600) each bucket counts */
    uint32_t n[HOURS];
} window;

struct ob_overrides {
    pthread_mutex_t mu;
    size_t npros, norgs;
    window *pros, *orgs; /* owned */
    uint32_t pro_threshold, site_threshold;
    uint64_t pro_alerts, site_alerts;
    ob_overrides_shared_fn shared; /* NULL: this server's counts decide */
    void *shared_ctx;
};

ob_status ob_overrides_new(size_t npros, size_t norgs, uint32_t pro_threshold,
                           uint32_t site_threshold, ob_overrides **out, ob_err *e)
{
    ob_overrides *o = ob_calloc(1, sizeof *o);
    if (!o)
        return ob_err_set(e, OB_ENOMEM, "out of memory for the override counters");
    o->pros = ob_calloc(npros ? npros : 1, sizeof *o->pros);
    o->orgs = ob_calloc(norgs ? norgs : 1, sizeof *o->orgs);
    if (!o->pros || !o->orgs) {
        ob_free(o->pros);
        ob_free(o->orgs);
        ob_free(o);
        return ob_err_set(e, OB_ENOMEM, "out of memory for the override counters");
    }
    pthread_mutex_init(&o->mu, NULL);
    o->npros = npros;
    o->norgs = norgs;
    o->pro_threshold = pro_threshold ? pro_threshold : OB_OVERRIDE_ALERT_PRO;
    o->site_threshold = site_threshold ? site_threshold : OB_OVERRIDE_ALERT_SITE;
    *out = o;
    return OB_OK;
}

void ob_overrides_free(ob_overrides *o)
{
    if (!o)
        return;
    pthread_mutex_destroy(&o->mu);
    ob_free(o->pros);
    ob_free(o->orgs);
    ob_free(o);
}

void ob_overrides_set_thresholds(ob_overrides *o, uint32_t pro_threshold, uint32_t site_threshold)
{
    pthread_mutex_lock(&o->mu);
    if (pro_threshold)
        o->pro_threshold = pro_threshold;
    if (site_threshold)
        o->site_threshold = site_threshold;
    pthread_mutex_unlock(&o->mu);
}

/* The window's count at `hour` (buckets of older hours count nothing). */
static uint64_t total(const window *w, int64_t hour)
{
    uint64_t t = 0;
    for (int i = 0; i < HOURS; i++)
        if (w->hour[i] > hour - HOURS && w->hour[i] <= hour)
            t += w->n[i];
    return t;
}

/* Counts one in w; returns the new total when it is a multiple of threshold, else 0. */
static uint32_t bump(window *w, int64_t hour, uint32_t threshold)
{
    int b = (int)(((hour % HOURS) + HOURS) % HOURS);
    if (w->hour[b] != hour) {
        w->hour[b] = hour;
        w->n[b] = 0;
    }
    w->n[b]++;
    uint64_t t = total(w, hour);
    return t % threshold == 0 ? (uint32_t)t : 0;
}

void ob_overrides_share(ob_overrides *o, ob_overrides_shared_fn fn, void *ctx)
{
    pthread_mutex_lock(&o->mu);
    o->shared = fn;
    o->shared_ctx = ctx;
    pthread_mutex_unlock(&o->mu);
}

/* The alert of a shared total: the total when it is a multiple of the threshold, else 0;
 * *used false when there is no shared count (none configured, or it failed). */
static uint32_t shared_alert(ob_overrides_shared_fn fn, void *ctx, char kind, uint32_t id,
                             ob_time now, uint32_t threshold, bool *used)
{
    *used = false;
    if (!fn || id == UINT32_MAX)
        return 0;
    uint64_t t = 0;
    ob_err e = {0};
    if (fn(ctx, kind, id, now, &t, &e) != OB_OK || t == 0)
        return 0;
    *used = true;
    return t % threshold == 0 ? (uint32_t)t : 0;
}

void ob_overrides_count(ob_overrides *o, uint32_t pro, uint32_t site, ob_time now,
                        uint32_t *pro_alert, uint32_t *site_alert)
{
    int64_t hour = (int64_t)now / 3600;
    uint32_t p = 0, s = 0;
    pthread_mutex_lock(&o->mu);
    if (pro < o->npros)
        p = bump(&o->pros[pro], hour, o->pro_threshold);
    if (site < o->norgs)
        s = bump(&o->orgs[site], hour, o->site_threshold);
    ob_overrides_shared_fn fn = o->shared;
    void *ctx = o->shared_ctx;
    uint32_t pt = o->pro_threshold, st = o->site_threshold;
    pthread_mutex_unlock(&o->mu);
    bool used;
    uint32_t sp = shared_alert(fn, ctx, 'p', pro, now, pt, &used);
    if (used)
        p = sp;
    uint32_t ss = shared_alert(fn, ctx, 's', site, now, st, &used);
    if (used)
        s = ss;
    pthread_mutex_lock(&o->mu);
    o->pro_alerts += p != 0;
    o->site_alerts += s != 0;
    pthread_mutex_unlock(&o->mu);
    *pro_alert = p;
    *site_alert = s;
}

void ob_overrides_each(ob_overrides *o, ob_time now, ob_overrides_fn fn, void *ctx)
{
    int64_t hour = (int64_t)now / 3600;
    pthread_mutex_lock(&o->mu);
    for (size_t i = 0; i < o->npros; i++) {
        uint64_t t = total(&o->pros[i], hour);
        if (t)
            fn(ctx, 'p', (uint32_t)i, t);
    }
    for (size_t i = 0; i < o->norgs; i++) {
        uint64_t t = total(&o->orgs[i], hour);
        if (t)
            fn(ctx, 's', (uint32_t)i, t);
    }
    fn(ctx, 'p', UINT32_MAX, o->pro_alerts);
    fn(ctx, 's', UINT32_MAX, o->site_alerts);
    pthread_mutex_unlock(&o->mu);
}

/* history.c - differencing control (R-STAT-2): a release must not, together with an earlier
 * release of the same cluster, expose a group of 1..k-1 patients.
 *
 * The store persists, per release, the patient set behind every released figure (never
 * released itself). Two released counts whose patient sets are nested (A within B) tell the
 * reader |B| - |A| about exactly the patients B \ A: overlapping filters, periods one day
 * apart, a monthly refresh in which one patient changed band. Such a new figure is hidden
 * (OB_STATS_DIFFERENCING) and the table is protected again, so the hidden figure is also safe
 * from derivation within the new release. */
#include "stats/stats.h"

#include <string.h>

#include "core/alloc.h"

void ob_stats_history_init(ob_stats_history *h)
{
    memset(h, 0, sizeof *h);
}

void ob_stats_history_free(ob_stats_history *h)
{
    for (size_t i = 0; i < h->n; i++) {
        ob_free(h->rec[i].set_off);
        ob_free(h->rec[i].set_ids);
    }
    ob_free(h->rec);
    memset(h, 0, sizeof *h);
}

ob_status ob_stats_history_add(ob_stats_history *h, const ob_stats_report *r, uint32_t cluster,
                               const char *filter, ob_err *e)
{
    const ob_stats_table *t = r->table;
    if (ob_grow((void **)&h->rec, &h->cap, h->n + 1, sizeof *h->rec))
        return ob_err_set(e, OB_ENOMEM, "out of memory recording the release");
    ob_stats_release_rec *rec = &h->rec[h->n];
    memset(rec, 0, sizeof *rec);
    rec->cluster = cluster;
    size_t flen = strlen(filter);
    if (flen >= sizeof rec->filter)
        flen = sizeof rec->filter - 1;
    memcpy(rec->filter, filter, flen);
    rec->filter[flen] = '\0';
    size_t nf = 0, nid = 0;
    for (size_t f = 0; f < t->n_fig; f++)
        if (!ob_stats_suppressed(t, f)) {
            nf++;
            nid += r->set_off[f + 1] - r->set_off[f];
        }
    rec->set_off = ob_malloc((nf + 1) * sizeof(size_t));
    rec->set_ids = ob_malloc((nid + 1) * sizeof(uint32_t));
    if (!rec->set_off || !rec->set_ids) {
        ob_free(rec->set_off);
        ob_free(rec->set_ids);
        return ob_err_set(e, OB_ENOMEM, "out of memory recording the release");
    }
    size_t at = 0, j = 0;
    rec->set_off[0] = 0;
    for (size_t f = 0; f < t->n_fig; f++) {
        if (ob_stats_suppressed(t, f))
            continue;
        size_t len = r->set_off[f + 1] - r->set_off[f];
        memcpy(rec->set_ids + at, r->set_ids + r->set_off[f], len * sizeof(uint32_t));
        at += len;
        rec->set_off[++j] = at;
    }
    rec->n_fig = nf;
    h->n++;
    return OB_OK;
}

/* 1 if the sorted set a lies within the sorted set b. */
static int subset(const uint32_t *a, size_t na, const uint32_t *b, size_t nb)
{
    size_t j = 0;
    for (size_t i = 0; i < na; i++) {
        while (j < nb && b[j] < a[i])
            j++;
        if (j == nb || b[j] != a[i])
            return 0;
        j++;
    }
    return 1;
}

ob_status ob_stats_history_check(const ob_stats_history *h, ob_stats_report *r, uint32_t cluster,
                                 const ob_stats_sdc *s, size_t *n_marked, char *why, size_t why_len,
                                 ob_err *e)
{
    (void)e;
    ob_stats_table *t = r->table;
    *n_marked = 0;
    if (why && why_len)
        why[0] = '\0';
    for (size_t i = 0; i < h->n; i++) {
        const ob_stats_release_rec *rec = &h->rec[i];
        if (rec->cluster != cluster)
            continue;
        for (size_t f = 0; f < t->n_fig; f++) {
            if (ob_stats_suppressed(t, f))
                continue;
            const uint32_t *a = r->set_ids + r->set_off[f];
            size_t na = r->set_off[f + 1] - r->set_off[f];
            for (size_t g = 0; g < rec->n_fig; g++) {
                const uint32_t *b = rec->set_ids + rec->set_off[g];
                size_t nb = rec->set_off[g + 1] - rec->set_off[g];
                size_t d = na > nb ? na - nb : nb - na;
                if (d == 0 || d >= (size_t)s->k)
                    continue;
                int nested = na < nb ? subset(a, na, b, nb) : subset(b, nb, a, na);
                if (!nested)
                    continue;
                t->state[f] = OB_STATS_DIFFERENCING;
                if (why && why_len && *n_marked == 0)
                    snprintf(why, why_len,
                             "figure %zu differs by %zu patient(s) from a figure of earlier "
                             "release \"%s\"",
                             f, d, rec->filter);
                (*n_marked)++;
                break;
            }
        }
    }
    return OB_OK;
}

ob_status ob_stats_release(const ob_stats_history *h, ob_stats_report *r, uint32_t cluster,
                           const ob_stats_sdc *s, ob_stats_audit *audit, ob_err *e)
{
    ob_stats_table *t = r->table;
    char why[256] = "";
    size_t total_marked = 0;
    /* Each round hides at least one more figure or ends, so this terminates. */
    for (;;) {
        for (size_t f = 0; f < t->n_fig; f++)
            if (t->state[f] == OB_STATS_SECONDARY)
                t->state[f] = OB_STATS_RELEASED;
        ob_status st = ob_stats_report_protect(r, s, audit, e);
        if (st != OB_OK) {
            if (st == OB_EDENIED && total_marked)
                ob_err_wrap(e, "after hiding %zu figure(s) for differencing (%s)", total_marked,
                            why);
            return st;
        }
        size_t marked = 0;
        char w[256];
        st = ob_stats_history_check(h, r, cluster, s, &marked, w, sizeof w, e);
        if (st != OB_OK) {
            if (audit)
                ob_stats_audit_free(audit);
            return st;
        }
        if (marked == 0)
            return OB_OK;
        if (total_marked == 0)
            memcpy(why, w, sizeof why);
        total_marked += marked;
        if (audit)
            ob_stats_audit_free(audit);
    }
}

/* sdc_util.h - shared helpers for the disclosure-control tests: building tables from literals
 * and an independent brute-force auditor that enumerates every nonnegative integer table
 * agreeing with the released figures (no flows, no LP), to cross-check ob_stats_audit_run. */
#ifndef OB_TEST_STATS_SDC_UTIL_H
#define OB_TEST_STATS_SDC_UTIL_H

#include <stdint.h>
#include <string.h>

#include "stats/stats.h"

/* cells: rows*cols values row-major; groups as in ob_stats_table_new. */
static inline ob_stats_table *mk_table(size_t rows, size_t ngroups, const size_t *gs,
                                       const int64_t *cells)
{
    ob_stats_table *t = ob_stats_table_new(rows, ngroups, gs);
    if (!t)
        return NULL;
    memcpy(t->value, cells, rows * t->cols * sizeof(int64_t));
    ob_stats_table_fill_totals(t);
    return t;
}

/* Brute force state. Ranges per figure: lo/hi over all enumerated tables; hit_bound is set
 * when a figure reached the artificial bound B (then hi means ">= B"). */
struct bf {
    const ob_stats_table *t;
    int attacker_row; /* -1 outsider */
    int64_t B;
    int64_t *cur; /* n_fig current candidate */
    int64_t *lo, *hi;
    int64_t *colsum;
    long nodes, max_nodes;
    int found;
};

static inline int bf_known(const struct bf *b, size_t f, int row)
{
    return !ob_stats_suppressed(b->t, f) || (b->attacker_row >= 0 && row == b->attacker_row);
}

static inline void bf_record(struct bf *b)
{
    const ob_stats_table *t = b->t;
    int64_t g = 0;
    for (size_t r = 0; r < t->rows; r++)
        g += b->cur[ob_stats_fig_row(t, r)];
    for (size_t c = 0; c < t->cols; c++) {
        size_t f = ob_stats_fig_col(t, c);
        if (!ob_stats_suppressed(t, f) && b->colsum[c] != t->value[f])
            return;
        b->cur[f] = b->colsum[c];
    }
    size_t fg = ob_stats_fig_grand(t);
    if (!ob_stats_suppressed(t, fg) && g != t->value[fg])
        return;
    b->cur[fg] = g;
    b->found = 1;
    for (size_t f = 0; f < t->n_fig; f++) {
        if (b->cur[f] < b->lo[f])
            b->lo[f] = b->cur[f];
        if (b->cur[f] > b->hi[f])
            b->hi[f] = b->cur[f];
    }
}

static inline void bf_cell(struct bf *b, size_t r, size_t c);

/* Every cell is enumerated within the bounds the released figures allow; a cell that is
 * the last unknown one of its row group (or column) with a known total is forced. */
static inline void bf_row_done(struct bf *b, size_t r)
{
    const ob_stats_table *t = b->t;
    int64_t rt = 0;
    for (size_t c = 0; c < t->group_start[1]; c++)
        rt += b->cur[ob_stats_fig_cell(t, r, c)];
    for (size_t g = 1; g < t->ngroups; g++) {
        int64_t s = 0;
        for (size_t c = t->group_start[g]; c < t->group_start[g + 1]; c++)
            s += b->cur[ob_stats_fig_cell(t, r, c)];
        if (s != rt)
            return;
    }
    size_t f = ob_stats_fig_row(t, r);
    if (bf_known(b, f, (int)r) && rt != t->value[f])
        return;
    if (t->row_cap && rt > t->row_cap[r])
        return;
    b->cur[f] = rt;
    if (r + 1 == t->rows)
        bf_record(b);
    else
        bf_cell(b, r + 1, 0);
}

static inline void bf_cell(struct bf *b, size_t r, size_t c)
{
    const ob_stats_table *t = b->t;
    if (c == t->cols) {
        bf_row_done(b, r);
        return;
    }
    if (++b->nodes > b->max_nodes)
        return;
    size_t g = 0;
    while (c >= t->group_start[g + 1])
        g++;
    size_t f = ob_stats_fig_cell(t, r, c), fr = ob_stats_fig_row(t, r);
    int have_target = 0;
    int64_t target = 0;
    if (bf_known(b, fr, (int)r)) {
        have_target = 1;
        target = t->value[fr];
    } else if (g > 0) {
        have_target = 1;
        for (size_t k = 0; k < t->group_start[1]; k++)
            target += b->cur[ob_stats_fig_cell(t, r, k)];
    }
    int64_t gsum = 0;
    for (size_t k = t->group_start[g]; k < c; k++)
        gsum += b->cur[ob_stats_fig_cell(t, r, k)];
    int64_t lo = 0, hi = b->B;
    if (bf_known(b, f, (int)r)) {
        lo = hi = t->value[f];
    } else {
        int last_in_group = 1;
        int64_t later = 0;
        for (size_t k = c + 1; k < t->group_start[g + 1]; k++) {
            size_t fk = ob_stats_fig_cell(t, r, k);
            if (!bf_known(b, fk, (int)r))
                last_in_group = 0;
            else
                later += t->value[fk];
        }
        if (have_target) {
            if (target - gsum - later < hi)
                hi = target - gsum - later;
            if (last_in_group) {
                int64_t v = target - gsum - later;
                if (v < lo || v > hi)
                    return;
                lo = hi = v;
            }
        }
        size_t fc = ob_stats_fig_col(t, c);
        if (!ob_stats_suppressed(t, fc)) {
            int last_in_col = 1;
            int64_t below = 0;
            for (size_t k = r + 1; k < t->rows; k++) {
                size_t fk = ob_stats_fig_cell(t, k, c);
                if (!bf_known(b, fk, (int)k))
                    last_in_col = 0;
                else
                    below += t->value[fk];
            }
            int64_t room = t->value[fc] - b->colsum[c];
            if (room < hi)
                hi = room;
            if (last_in_col) {
                int64_t v = room - below;
                if (v < lo || v > hi)
                    return;
                lo = hi = v;
            }
        }
    }
    if (have_target && gsum + lo > target)
        return;
    for (int64_t v = lo; v <= hi; v++) {
        b->cur[f] = v;
        b->colsum[c] += v;
        bf_cell(b, r, c + 1);
        b->colsum[c] -= v;
    }
}

/* Runs the brute force for one attacker. Returns 0 when it gave up (too many nodes). */
static inline int bf_run(struct bf *b, const ob_stats_table *t, int attacker_row, int64_t B,
                         long max_nodes)
{
    b->t = t;
    b->attacker_row = attacker_row;
    b->B = B;
    b->nodes = 0;
    b->max_nodes = max_nodes;
    b->found = 0;
    for (size_t f = 0; f < t->n_fig; f++) {
        b->lo[f] = INT64_MAX;
        b->hi[f] = INT64_MIN;
    }
    memset(b->colsum, 0, t->cols * sizeof(int64_t));
    bf_cell(b, 0, 0);
    return b->nodes <= b->max_nodes;
}

#endif

/* sdc.c - statistical disclosure control for tables with margins (R-STAT-2, R-STAT-6).
 *
 * The released table is a network: source S -> column j of group 0 (column total) -> row r
 * (cell) -> row r' (row total) -> column j of group 1 (cell) -> T (column total) -> S (grand
 * total). Every table agreeing with the released figures is a circulation in which released
 * figures (and, for an insider, its own row) have fixed flow and suppressed figures have flow
 * in [0, bound]. The true table is one such circulation, so the exact min and max of a
 * suppressed figure e = (u -> v) are true - maxflow(u -> v) and true + maxflow(v -> u) in the
 * residual graph without e: every other feasible table differs from the true one by a sum of
 * residual cycles. Network matrices are totally unimodular, so these bounds are attained by
 * integer tables: the auditor is exact, not an approximation. */
#include "stats/stats.h"

#include <string.h>

#include "core/alloc.h"

#define BIG (INT64_MAX / 4)

ob_stats_table *ob_stats_table_new(size_t rows, size_t ngroups, const size_t *group_sizes)
{
    if (rows == 0 || ngroups == 0 || ngroups > OB_STATS_MAX_GROUPS)
        return NULL;
    ob_stats_table *t = ob_calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->rows = rows;
    t->ngroups = ngroups;
    size_t cols = 0;
    for (size_t g = 0; g < ngroups; g++) {
        if (group_sizes[g] == 0) {
            ob_free(t);
            return NULL;
        }
        t->group_start[g] = cols;
        cols += group_sizes[g];
    }
    t->group_start[ngroups] = cols;
    t->cols = cols;
    t->n_fig = rows * cols + rows + cols + 1;
    t->value = ob_calloc(t->n_fig, sizeof(int64_t));
    t->state = ob_calloc(t->n_fig, 1);
    if (!t->value || !t->state) {
        ob_stats_table_free(t);
        return NULL;
    }
    return t;
}

void ob_stats_table_free(ob_stats_table *t)
{
    if (!t)
        return;
    ob_free(t->value);
    ob_free(t->state);
    ob_free(t->row_cap);
    ob_free(t);
}

void ob_stats_table_fill_totals(ob_stats_table *t)
{
    int64_t grand = 0;
    for (size_t c = 0; c < t->cols; c++)
        t->value[ob_stats_fig_col(t, c)] = 0;
    for (size_t r = 0; r < t->rows; r++) {
        int64_t rt = 0;
        for (size_t c = 0; c < t->cols; c++) {
            int64_t v = t->value[ob_stats_fig_cell(t, r, c)];
            if (c < t->group_start[1])
                rt += v;
            t->value[ob_stats_fig_col(t, c)] += v;
        }
        t->value[ob_stats_fig_row(t, r)] = rt;
        grand += rt;
    }
    t->value[ob_stats_fig_grand(t)] = grand;
}

ob_status ob_stats_table_check(const ob_stats_table *t, ob_err *e)
{
    for (size_t f = 0; f < t->n_fig; f++)
        if (t->value[f] < 0)
            return ob_err_set(e, OB_EINVAL, "negative figure %zu in table", f);
    int64_t grand = 0;
    for (size_t r = 0; r < t->rows; r++) {
        int64_t rt = t->value[ob_stats_fig_row(t, r)];
        for (size_t g = 0; g < t->ngroups; g++) {
            int64_t s = 0;
            for (size_t c = t->group_start[g]; c < t->group_start[g + 1]; c++)
                s += t->value[ob_stats_fig_cell(t, r, c)];
            if (s != rt)
                return ob_err_set(e, OB_EINVAL,
                                  "inconsistent table: row %zu group %zu sums to %lld, total %lld",
                                  r, g, (long long)s, (long long)rt);
        }
        if (t->row_cap && rt > t->row_cap[r])
            return ob_err_set(e, OB_EINVAL, "inconsistent table: row %zu exceeds its cap", r);
        grand += rt;
    }
    for (size_t c = 0; c < t->cols; c++) {
        int64_t s = 0;
        for (size_t r = 0; r < t->rows; r++)
            s += t->value[ob_stats_fig_cell(t, r, c)];
        if (s != t->value[ob_stats_fig_col(t, c)])
            return ob_err_set(e, OB_EINVAL, "inconsistent table: column %zu total", c);
    }
    if (grand != t->value[ob_stats_fig_grand(t)])
        return ob_err_set(e, OB_EINVAL, "inconsistent table: grand total");
    return OB_OK;
}

int ob_stats_range_safe(const ob_stats_sdc *s, int64_t lo, int64_t hi)
{
    if (lo == hi)
        return 0;
    int64_t smin = s->zeros_released ? 1 : 0;
    return !(lo >= smin && hi <= s->k - 1);
}

void ob_stats_audit_free(ob_stats_audit *a)
{
    if (!a)
        return;
    ob_free(a->f);
    memset(a, 0, sizeof *a);
}

/* ---- the network ---------------------------------------------------------------------- */

struct net {
    size_t n_nodes, n_arcs; /* arcs come in pairs: 2i forward, 2i+1 backward */
    int *head;              /* per arc: node it points to */
    int *next;              /* per arc: next arc out of the same tail */
    int *first;             /* per node */
    int64_t *res;           /* residual capacity */
    int64_t *base;          /* residual capacity of the unconstrained (outsider) state */
    size_t *fig_arc;        /* per figure: its forward arc index */
    int *fig_row;           /* per figure: owning row, or -1 */
    /* scratch for BFS */
    int *queue, *pred;
    int64_t *work;
};

static void net_free(struct net *n)
{
    ob_free(n->head);
    ob_free(n->next);
    ob_free(n->first);
    ob_free(n->res);
    ob_free(n->base);
    ob_free(n->fig_arc);
    ob_free(n->fig_row);
    ob_free(n->queue);
    ob_free(n->pred);
    ob_free(n->work);
}

static size_t add_arc(struct net *n, int u, int v, int64_t flow, int64_t up)
{
    size_t a = n->n_arcs;
    n->head[a] = v;
    n->next[a] = n->first[u];
    n->first[u] = (int)a;
    n->base[a] = up - flow;
    n->head[a + 1] = u;
    n->next[a + 1] = n->first[v];
    n->first[v] = (int)(a + 1);
    n->base[a + 1] = flow;
    n->n_arcs += 2;
    return a;
}

/* Node numbering: 0 = S, 1 = T, 2.. columns, then row-in, then row-out. */
static ob_status net_build(struct net *n, const ob_stats_table *t, ob_err *e)
{
    memset(n, 0, sizeof *n);
    size_t R = t->rows, C = t->cols;
    n->n_nodes = 2 + C + 2 * R;
    size_t max_arcs = 2 * (t->n_fig + R); /* +R: the row-out -> T arcs of one-group tables */
    n->head = ob_malloc(max_arcs * sizeof(int));
    n->next = ob_malloc(max_arcs * sizeof(int));
    n->first = ob_malloc(n->n_nodes * sizeof(int));
    n->res = ob_malloc(max_arcs * sizeof(int64_t));
    n->base = ob_malloc(max_arcs * sizeof(int64_t));
    n->fig_arc = ob_malloc(t->n_fig * sizeof(size_t));
    n->fig_row = ob_malloc(t->n_fig * sizeof(int));
    n->queue = ob_malloc(n->n_nodes * sizeof(int));
    n->pred = ob_malloc(n->n_nodes * sizeof(int));
    n->work = ob_malloc(n->n_nodes * sizeof(int64_t));
    if (!n->head || !n->next || !n->first || !n->res || !n->base || !n->fig_arc || !n->fig_row ||
        !n->queue || !n->pred || !n->work) {
        net_free(n);
        return ob_err_set(e, OB_ENOMEM, "out of memory building the audit network");
    }
    for (size_t i = 0; i < n->n_nodes; i++)
        n->first[i] = -1;
    /* Suppressed figures may take any value in [0, BIG]; a released grand total bounds all
     * of them anyway, and BIG keeps sums far from overflow. */
    const int S = 0, T = 1;
    int colnode0 = 2, rin0 = 2 + (int)C, rout0 = 2 + (int)C + (int)R;
    for (size_t f = 0; f < t->n_fig; f++)
        n->fig_row[f] = -1;
    n->fig_arc[ob_stats_fig_grand(t)] = add_arc(n, T, S, t->value[ob_stats_fig_grand(t)], BIG);
    for (size_t c = 0; c < C; c++) {
        size_t f = ob_stats_fig_col(t, c);
        if (c < t->group_start[1])
            n->fig_arc[f] = add_arc(n, S, colnode0 + (int)c, t->value[f], BIG);
        else
            n->fig_arc[f] = add_arc(n, colnode0 + (int)c, T, t->value[f], BIG);
    }
    for (size_t r = 0; r < R; r++) {
        size_t f = ob_stats_fig_row(t, r);
        int64_t cap = t->row_cap ? t->row_cap[r] : BIG;
        n->fig_arc[f] = add_arc(n, rin0 + (int)r, rout0 + (int)r, t->value[f], cap);
        n->fig_row[f] = (int)r;
        if (t->ngroups == 1)
            add_arc(n, rout0 + (int)r, T, t->value[f], BIG);
        for (size_t c = 0; c < C; c++) {
            size_t fc = ob_stats_fig_cell(t, r, c);
            n->fig_row[fc] = (int)r;
            if (c < t->group_start[1])
                n->fig_arc[fc] = add_arc(n, colnode0 + (int)c, rin0 + (int)r, t->value[fc], BIG);
            else
                n->fig_arc[fc] = add_arc(n, rout0 + (int)r, colnode0 + (int)c, t->value[fc], BIG);
        }
    }
    return OB_OK;
}

/* Sets residual capacities for one attacker: released and attacker-known figures fixed. */
static void net_fix(struct net *n, const ob_stats_table *t, int attacker_row)
{
    memcpy(n->res, n->base, n->n_arcs * sizeof(int64_t));
    for (size_t f = 0; f < t->n_fig; f++) {
        if (!ob_stats_suppressed(t, f) || (attacker_row >= 0 && n->fig_row[f] == attacker_row)) {
            n->res[n->fig_arc[f]] = 0;
            n->res[n->fig_arc[f] ^ 1] = 0;
        }
    }
}

/* Max flow from s to t, stopping at limit (BFS augmenting paths). Modifies res. */
static int64_t maxflow(struct net *n, int s, int t, int64_t limit)
{
    int64_t total = 0;
    while (total < limit) {
        for (size_t i = 0; i < n->n_nodes; i++)
            n->pred[i] = -1;
        size_t qh = 0, qt = 0;
        n->queue[qt++] = s;
        n->pred[s] = -2;
        n->work[s] = limit - total;
        while (qh < qt && n->pred[t] == -1) {
            int u = n->queue[qh++];
            for (int a = n->first[u]; a >= 0; a = n->next[a]) {
                int v = n->head[a];
                if (n->res[a] > 0 && n->pred[v] == -1) {
                    n->pred[v] = a;
                    n->work[v] = n->work[u] < n->res[a] ? n->work[u] : n->res[a];
                    n->queue[qt++] = v;
                }
            }
        }
        if (n->pred[t] == -1)
            break;
        int64_t push = n->work[t];
        for (int v = t; v != s; v = n->head[n->pred[v] ^ 1]) {
            n->res[n->pred[v]] -= push;
            n->res[n->pred[v] ^ 1] += push;
        }
        total += push;
    }
    return total;
}

/* Exact range of the flow on arc a given the fixed residual state in n->res (restored). */
static void arc_range(struct net *n, size_t a, int64_t flow, int64_t *lo, int64_t *hi,
                      int64_t *scratch)
{
    int u = n->head[a ^ 1], v = n->head[a];
    int64_t up = n->res[a], down = n->res[a ^ 1];
    memcpy(scratch, n->res, n->n_arcs * sizeof(int64_t));
    n->res[a] = n->res[a ^ 1] = 0;
    int64_t more = maxflow(n, v, u, up);
    memcpy(n->res, scratch, n->n_arcs * sizeof(int64_t));
    n->res[a] = n->res[a ^ 1] = 0;
    int64_t less = maxflow(n, u, v, down);
    memcpy(n->res, scratch, n->n_arcs * sizeof(int64_t));
    *lo = flow - less;
    /* Only a cycle of unbounded suppressed figures lets the flow reach BIG / 2: report it
     * as unbounded rather than a huge number. */
    *hi = flow + more >= BIG / 2 ? OB_STATS_UNBOUNDED : flow + more;
}

static int push_finding(ob_stats_audit *out, const ob_stats_finding *f)
{
    if (ob_grow((void **)&out->f, &out->cap, out->n + 1, sizeof *f))
        return -1;
    out->f[out->n++] = *f;
    if (!f->safe)
        out->n_unsafe++;
    return 0;
}

/* Audits one attacker (-1 outsider). With stop_at_first, returns after the first unsafe
 * finding (used by the suppression loop); otherwise records every finding. */
static ob_status audit_attacker(struct net *n, const ob_stats_table *t, const ob_stats_sdc *s,
                                int row, ob_stats_audit *out, int stop_at_first, int64_t *scratch)
{
    net_fix(n, t, row);
    for (size_t f = 0; f < t->n_fig; f++) {
        if (!ob_stats_suppressed(t, f) || (row >= 0 && n->fig_row[f] == row))
            continue;
        ob_stats_finding fd = {.fig = f, .attacker = (size_t)(row + 1)};
        size_t a = n->fig_arc[f];
        arc_range(n, a, t->value[f], &fd.lo, &fd.hi, scratch);
        fd.safe = ob_stats_range_safe(s, fd.lo, fd.hi);
        /* The undiagnosed of a row (cap - row total) are a group too. */
        int is_row = f >= t->rows * t->cols && f < t->rows * t->cols + t->rows;
        if (fd.safe && is_row && t->row_cap) {
            int64_t cap = t->row_cap[f - t->rows * t->cols];
            int64_t clo = fd.hi == OB_STATS_UNBOUNDED ? 0 : cap - fd.hi, chi = cap - fd.lo;
            if (!ob_stats_range_safe(s, clo, chi)) {
                fd.safe = 0;
                fd.complement = 1;
                fd.lo = clo;
                fd.hi = chi;
            }
        }
        if (push_finding(out, &fd))
            return OB_ENOMEM;
        if (!fd.safe && stop_at_first)
            return OB_OK;
    }
    return OB_OK;
}

/* Rows whose insider knows more than the outsider: those with a suppressed figure. */
static int row_has_suppressed(const ob_stats_table *t, size_t r)
{
    if (ob_stats_suppressed(t, ob_stats_fig_row(t, r)))
        return 1;
    for (size_t c = 0; c < t->cols; c++)
        if (ob_stats_suppressed(t, ob_stats_fig_cell(t, r, c)))
            return 1;
    return 0;
}

static ob_status audit_all(struct net *n, const ob_stats_table *t, const ob_stats_sdc *s,
                           ob_stats_audit *out, int stop_at_first, int64_t *scratch)
{
    for (int row = -1; row < (int)t->rows; row++) {
        if (row >= 0 && !row_has_suppressed(t, (size_t)row))
            continue;
        ob_status st = audit_attacker(n, t, s, row, out, stop_at_first, scratch);
        if (st != OB_OK)
            return st;
        if (stop_at_first && out->n_unsafe)
            return OB_OK;
    }
    return OB_OK;
}

static ob_status check_sdc(const ob_stats_sdc *s, ob_err *e)
{
    if (s->k < 3)
        return ob_err_set(e, OB_EINVAL, "threshold too low: k=%d, the minimum is 3 (R-STAT-2)",
                          s->k);
    return OB_OK;
}

ob_status ob_stats_audit_run(const ob_stats_table *t, const ob_stats_sdc *s, ob_stats_audit *out,
                             ob_err *e)
{
    memset(out, 0, sizeof *out);
    ob_status st = check_sdc(s, e);
    if (st != OB_OK)
        return st;
    struct net n;
    if ((st = net_build(&n, t, e)) != OB_OK)
        return st;
    int64_t *scratch = ob_malloc(n.n_arcs * sizeof(int64_t));
    if (!scratch) {
        net_free(&n);
        return ob_err_set(e, OB_ENOMEM, "out of memory auditing");
    }
    st = audit_all(&n, t, s, out, 0, scratch);
    ob_free(scratch);
    net_free(&n);
    if (st != OB_OK) {
        ob_stats_audit_free(out);
        return ob_err_set(e, st, "out of memory auditing");
    }
    return OB_OK;
}

static int sensitive(const ob_stats_sdc *s, int64_t v)
{
    return v < s->k && (v > 0 || !s->zeros_released);
}

/* Does hiding figure cand make figure f safe against the attacker (row, -1 outsider)? */
static int helps(struct net *n, ob_stats_table *t, const ob_stats_sdc *s, int row, size_t f,
                 size_t cand, int64_t *scratch)
{
    uint8_t old = t->state[cand];
    t->state[cand] = OB_STATS_SECONDARY;
    net_fix(n, t, row);
    int64_t lo, hi;
    arc_range(n, n->fig_arc[f], t->value[f], &lo, &hi, scratch);
    int ok = ob_stats_range_safe(s, lo, hi);
    int is_row = f >= t->rows * t->cols && f < t->rows * t->cols + t->rows;
    if (ok && is_row && t->row_cap) {
        int64_t cap = t->row_cap[f - t->rows * t->cols];
        ok = ob_stats_range_safe(s, hi == OB_STATS_UNBOUNDED ? 0 : cap - hi, cap - lo);
    }
    t->state[cand] = old;
    return ok;
}

/* Same row or same column as f in the table layout (cells, and margins of that row/col). */
static int related(const ob_stats_table *t, size_t f, size_t g)
{
    size_t nc = t->rows * t->cols;
    long fr = -1, fc = -1, gr = -1, gc = -1;
    if (f < nc) {
        fr = (long)(f / t->cols);
        fc = (long)(f % t->cols);
    } else if (f < nc + t->rows) {
        fr = (long)(f - nc);
    } else if (f < nc + t->rows + t->cols) {
        fc = (long)(f - nc - t->rows);
    }
    if (g < nc) {
        gr = (long)(g / t->cols);
        gc = (long)(g % t->cols);
    } else if (g < nc + t->rows) {
        gr = (long)(g - nc);
    } else if (g < nc + t->rows + t->cols) {
        gc = (long)(g - nc - t->rows);
    }
    return (fr >= 0 && fr == gr) || (fc >= 0 && fc == gc) || fr < 0 || gr < 0;
}

ob_status ob_stats_protect(ob_stats_table *t, const ob_stats_sdc *s, ob_stats_audit *audit,
                           ob_err *e)
{
    if (audit)
        memset(audit, 0, sizeof *audit);
    ob_status st = check_sdc(s, e);
    if (st != OB_OK)
        return st;
    if ((st = ob_stats_table_check(t, e)) != OB_OK)
        return st;
    if (sensitive(s, t->value[ob_stats_fig_grand(t)]) || t->value[ob_stats_fig_grand(t)] == 0)
        return ob_err_set(e, OB_EDENIED,
                          "release refused: the table rests on fewer than %d persons (R-STAT-2)",
                          s->k);
    /* Primary suppression; a released row total also releases cap - total. */
    for (size_t f = 0; f < t->n_fig; f++)
        if (t->state[f] == OB_STATS_RELEASED && sensitive(s, t->value[f]))
            t->state[f] = OB_STATS_PRIMARY;
    if (t->row_cap)
        for (size_t r = 0; r < t->rows; r++) {
            size_t f = ob_stats_fig_row(t, r);
            if (t->state[f] == OB_STATS_RELEASED && sensitive(s, t->row_cap[r] - t->value[f]))
                t->state[f] = OB_STATS_PRIMARY;
        }
    struct net n;
    if ((st = net_build(&n, t, e)) != OB_OK)
        return st;
    int64_t *scratch = ob_malloc(n.n_arcs * sizeof(int64_t));
    if (!scratch) {
        net_free(&n);
        return ob_err_set(e, OB_ENOMEM, "out of memory protecting the table");
    }
    /* Secondary suppression: find an unsafe finding, hide the cheapest released figure that
     * makes it safe (or, failing that, the smallest related one), audit again. Each round
     * hides one more figure, so the loop ends; a pass of the full audit is the only exit
     * that releases. */
    for (;;) {
        ob_stats_audit a = {0};
        if ((st = audit_all(&n, t, s, &a, 1, scratch)) != OB_OK) {
            ob_stats_audit_free(&a);
            break;
        }
        if (a.n_unsafe == 0) {
            ob_stats_audit_free(&a);
            break;
        }
        ob_stats_finding bad = a.f[a.n - 1];
        ob_stats_audit_free(&a);
        int row = (int)bad.attacker - 1;
        size_t best = SIZE_MAX, fallback = SIZE_MAX;
        for (size_t g = 0; g < t->n_fig; g++) {
            if (ob_stats_suppressed(t, g) || (row >= 0 && n.fig_row[g] == row))
                continue;
            if (best != SIZE_MAX && t->value[g] >= t->value[best])
                continue;
            if (related(t, bad.fig, g) &&
                (fallback == SIZE_MAX || t->value[g] < t->value[fallback]))
                fallback = g;
            if (helps(&n, t, s, row, bad.fig, g, scratch))
                best = g;
        }
        if (best == SIZE_MAX)
            best = fallback;
        if (best == SIZE_MAX) {
            st = ob_err_set(e, OB_EDENIED,
                            "release refused: figure %zu cannot be protected against %s %zu "
                            "(range %lld..%lld) (R-STAT-2)",
                            bad.fig, bad.attacker ? "clinic of row" : "outsider",
                            bad.attacker ? bad.attacker - 1 : 0, (long long)bad.lo,
                            (long long)bad.hi);
            break;
        }
        t->state[best] = OB_STATS_SECONDARY;
    }
    if (st == OB_OK && audit) {
        st = audit_all(&n, t, s, audit, 0, scratch);
        if (st != OB_OK)
            ob_err_set(e, st, "out of memory auditing");
        else if (audit->n_unsafe)
            st = ob_err_set(e, OB_EINTERNAL, "bug: protected table fails its audit");
    }
    ob_free(scratch);
    net_free(&n);
    if (st != OB_OK && audit)
        ob_stats_audit_free(audit);
    return st;
}

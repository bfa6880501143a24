/* similar.c - the aggregation behind decision support (see similar.h). Pure: the rows are
 * read, never kept. */
#include "stats/similar.h"

#include <stdlib.h>
#include <string.h>

uint32_t ob_similar_round5(uint32_t v)
{
    return (v + 2) / 5 * 5;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank quantiles of the non-zero values, rounded to 5 units; shown from k values. */
static void quantiles(const ob_similar_row *rows, size_t n, size_t off, unsigned k,
                      ob_similar_quantiles *q)
{
    memset(q, 0, sizeof *q);
    int *v = malloc((n ? n : 1) * sizeof *v);
    if (!v)
        return;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        int x = *(const int *)((const char *)&rows[i] + off);
        if (x > 0)
            v[m++] = x;
    }
    if (m >= k) {
        qsort(v, m, sizeof *v, cmp_int);
        q->shown = true;
        q->patients = ob_similar_round5((uint32_t)m);
        q->p25 = (int)ob_similar_round5((uint32_t)v[(m - 1) / 4]);
        q->p50 = (int)ob_similar_round5((uint32_t)v[(m - 1) / 2]);
        q->p75 = (int)ob_similar_round5((uint32_t)v[(3 * (m - 1)) / 4]);
    }
    free(v);
}

typedef struct tally {
    char code[16];
    uint32_t n;
} tally;

static int cmp_tally(const void *a, const void *b)
{
    const tally *x = a, *y = b;
    if (x->n != y->n)
        return x->n < y->n ? 1 : -1;
    return strcmp(x->code, y->code);
}

void ob_similar_aggregate(const ob_similar_row *rows, size_t n, unsigned k, ob_similar_out *out)
{
    memset(out, 0, sizeof *out);
    if (k < 5)
        k = 5;
    if (n < k)
        return;
    out->shown = true;
    out->population = ob_similar_round5((uint32_t)n);
    uint32_t band[OB_SIMILAR_BANDS] = {0};
    tally t[OB_SIMILAR_MAXCODES];
    memset(t, 0, sizeof t);
    size_t nt = 0;
    for (size_t i = 0; i < n; i++) {
        const ob_similar_row *r = &rows[i];
        if (r->age >= 0)
            band[r->age / 10 < OB_SIMILAR_BANDS ? r->age / 10 : OB_SIMILAR_BANDS - 1]++;
        for (size_t j = 0; j < r->ncodes; j++) {
            const char *c = r->codes[j];
            if (!c || strlen(c) >= sizeof t[0].code)
                continue;
            size_t x = 0;
            while (x < nt && strcmp(t[x].code, c) != 0)
                x++;
            if (x == nt) {
                if (nt == OB_SIMILAR_MAXCODES)
                    continue;
                memcpy(t[nt].code, c, strlen(c) + 1);
                t[nt++].n = 0;
            }
            t[x].n++;
        }
    }
    for (int b = 0; b < OB_SIMILAR_BANDS; b++)
        if (band[b] >= k) {
            out->band_shown[b] = true;
            out->band[b] = ob_similar_round5(band[b]);
        }
    qsort(t, nt, sizeof t[0], cmp_tally);
    for (size_t x = 0; x < nt && out->nother < OB_SIMILAR_TOP; x++)
        if (t[x].n >= k) {
            memcpy(out->other[out->nother].code, t[x].code, sizeof t[x].code);
            out->other[out->nother++].patients = ob_similar_round5(t[x].n);
        }
    quantiles(rows, n, offsetof(ob_similar_row, sbp), k, &out->sbp);
    quantiles(rows, n, offsetof(ob_similar_row, hba1c), k, &out->hba1c);
}

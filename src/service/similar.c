/* similar.c - the rows behind decision support's figures (see similar.h). Reads the store
 * once for the patients with the code, then each of them by the patient index; nothing is
 * kept after the aggregate is made. */
#include "service/similar.h"

#include <string.h>

#include "core/alloc.h"

#define MAXCODES 16 /* other diagnoses read per patient */

typedef struct ids {
    char **v;
    size_t n, cap;
} ids;

static ob_status add_patient(void *ctx, const ob_item *it, ob_err *e)
{
    ids *l = ctx;
    if (strcmp(it->source, "clinical") != 0)
        return OB_OK; /* R-ACC-6, R-ACC-8: research and quality-database data never count */
    if (l->n && strcmp(l->v[l->n - 1], it->patient) == 0)
        return OB_OK; /* items come in patient order */
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        char **v = ob_realloc(l->v, cap * sizeof *v);
        if (!v)
            return ob_err_set(e, OB_ENOMEM, "out of memory finding similar patients");
        l->v = v;
        l->cap = cap;
    }
    if (!(l->v[l->n] = ob_strdup(it->patient)))
        return ob_err_set(e, OB_ENOMEM, "out of memory finding similar patients");
    l->n++;
    return OB_OK;
}

typedef struct one {
    const char *code; /* the asked code: not an "other" diagnosis */
    ob_time since;    /* five years back */
    char codes[MAXCODES][16];
    const char *ptrs[MAXCODES];
    size_t ncodes;
    int sbp, hba1c;
    ob_time sbp_at, hba1c_at;
} one;

static ob_status read_item(void *ctx, const ob_item *it, ob_err *e)
{
    (void)e;
    one *o = ctx;
    bool clinical = strcmp(it->source, "clinical") == 0;
    bool own = clinical || strcmp(it->source, "patient_reported") == 0;
    if (!it->code || !own)
        return OB_OK;
    if (clinical && strcmp(it->category, "diagnosis") == 0 && strcmp(it->code, o->code) != 0 &&
        strlen(it->code) < sizeof o->codes[0]) {
        for (size_t i = 0; i < o->ncodes; i++)
            if (strcmp(o->codes[i], it->code) == 0)
                return OB_OK;
        if (o->ncodes < MAXCODES) {
            memcpy(o->codes[o->ncodes], it->code, strlen(it->code) + 1);
            o->ptrs[o->ncodes] = o->codes[o->ncodes];
            o->ncodes++;
        }
        return OB_OK;
    }
    if (it->time < o->since || it->value <= 0 || it->value > 100000)
        return OB_OK;
    if (strcmp(it->code, OB_SIMILAR_SBP_CODE) == 0 && it->time >= o->sbp_at) {
        o->sbp = (int)it->value;
        o->sbp_at = it->time;
    } else if (strcmp(it->code, OB_SIMILAR_HBA1C_CODE) == 0 && it->time >= o->hba1c_at) {
        o->hba1c = (int)it->value;
        o->hba1c_at = it->time;
    }
    return OB_OK;
}

/* Whether any of the patient's blocks is in force at now. Read lock held. */
static bool any_block(const ob_patient *p, ob_time now)
{
    for (uint16_t i = 0; i < p->nblocks; i++) {
        const ob_block *b = &p->blocks[i];
        if (b->active && b->valid_from <= now && now <= b->valid_to)
            return true;
    }
    return false;
}

ob_status ob_hub_similar(ob_hub *h, const char *code, uint32_t exclude, ob_time now, unsigned k,
                         ob_similar_out *out, ob_err *e)
{
    memset(out, 0, sizeof *out);
    ids l = {0};
    ob_similar_row *rows = NULL;
    one *data = NULL;
    size_t nrows = 0;
    ob_status rc = ob_store_each_item_with_code(h->store, "diagnosis", code, add_patient, &l, e);
    if (rc)
        goto done;
    rows = ob_calloc(l.n ? l.n : 1, sizeof *rows);
    data = ob_calloc(l.n ? l.n : 1, sizeof *data);
    if (!rows || !data) {
        rc = ob_err_set(e, OB_ENOMEM, "out of memory finding similar patients");
        goto done;
    }
    for (size_t i = 0; i < l.n; i++) {
        int age = -1;
        pthread_rwlock_rdlock(&h->lock);
        uint32_t pt = ob_index_find_patient(h->ix, l.v[i]);
        bool use = pt != OB_NONE && pt != exclude && !any_block(&h->ix->patients[pt], now);
        if (use && h->ix->patients[pt].birth && h->ix->patients[pt].birth <= now)
            age = (int)((now - h->ix->patients[pt].birth) / (ob_time)(365.2425 * 86400));
        pthread_rwlock_unlock(&h->lock);
        if (!use)
            continue;
        one *o = &data[nrows];
        o->code = code;
        o->since = now - (ob_time)(5 * 365.2425 * 86400);
        if ((rc = ob_store_each_item(h->store, l.v[i], NULL, read_item, o, e)))
            goto done;
        rows[nrows].age = age;
        rows[nrows].codes = o->ptrs;
        rows[nrows].ncodes = o->ncodes;
        rows[nrows].sbp = o->sbp;
        rows[nrows].hba1c = o->hba1c;
        nrows++;
    }
    ob_similar_aggregate(rows, nrows, k, out);
done:
    for (size_t i = 0; i < l.n; i++)
        ob_free(l.v[i]);
    ob_free(l.v);
    ob_free(rows);
    ob_free(data);
    return rc;
}

/* clinical.c - item reads and patient-reported writes (see clinical.h). */
#include "service/clinical.h"

#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "store/log_sqlite.h"
#include "store/sqlite.h"

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

struct collect_ctx {
    ob_item_list *out;
    ob_catmask mask;
};

static ob_status collect(void *ctx, const ob_item *it, ob_err *e)
{
    struct collect_ctx *c = ctx;
    int cat = ob_category_parse(it->category);
    if (cat < 0 || !(c->mask & OB_CAT_BIT(cat)))
        return OB_OK;
    ob_item_list *l = c->out;
    const char *strs[] = {it->id,     it->patient, it->category, it->origin,
                          it->source, it->code,    it->json};
    size_t need = 1;
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        need += strs[i] ? strlen(strs[i]) + 1 : 0;
    if (ob_grow((void **)&l->v, &l->cap, l->n + 1, sizeof *l->v) < 0)
        return ob_err_set(e, OB_ENOMEM, "out of memory reading data items");
    ob_item_copy *cp = &l->v[l->n];
    cp->buf = ob_malloc(need);
    if (!cp->buf)
        return ob_err_set(e, OB_ENOMEM, "out of memory reading data items");
    char *at = cp->buf;
    cp->it = *it;
    cp->it.id = dup_into(&at, it->id);
    cp->it.patient = dup_into(&at, it->patient);
    cp->it.category = dup_into(&at, it->category);
    cp->it.origin = dup_into(&at, it->origin);
    cp->it.source = dup_into(&at, it->source);
    cp->it.code = dup_into(&at, it->code);
    cp->it.json = dup_into(&at, it->json);
    l->n++;
    return OB_OK;
}

ob_status ob_hub_items(ob_hub *h, const char *patient, ob_catmask mask, ob_item_list *out,
                       ob_err *e)
{
    memset(out, 0, sizeof *out);
    struct collect_ctx c = {out, mask};
    return ob_store_each_item(h->store, patient, NULL, collect, &c, e);
}

ob_status ob_hub_item_get(ob_hub *h, const char *id, ob_catmask mask, ob_item_list *out, ob_err *e)
{
    memset(out, 0, sizeof *out);
    struct collect_ctx c = {out, mask};
    return ob_store_get_item(h->store, id, collect, &c, e);
}

void ob_item_list_release(ob_item_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        ob_free(l->v[i].buf);
    ob_free(l->v);
    memset(l, 0, sizeof *l);
}

static ob_status apply_item(void *ctx, sqlite3 *db, ob_err *e)
{
    ob_store_batch *b;
    ob_status rc = ob_store_batch_begin(db, &b, e);
    if (rc)
        return rc;
    rc = ob_store_batch_item(b, ctx, e);
    ob_store_batch_end(b);
    return rc;
}

ob_status ob_hub_item_add(ob_hub *h, const ob_item *it, const ob_log_entry *actor, ob_err *e)
{
    ob_log_entry le = *actor;
    le.event = OB_EV_DATA_CHANGE;
    le.permit = true;
    le.patient = it->patient;
    le.category = it->category;
    char res[160];
    snprintf(res, sizeof res, "Observation/%.140s", it->id);
    le.resource = res;
    if (!h->log)
        return ob_err_set(e, OB_EIO, "the access log is not open; no change without a log entry");
    uint64_t seq;
    return ob_log_append(h->log, &le, 1, apply_item, (void *)it, &seq, e);
}

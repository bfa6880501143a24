/* clinical.c - item reads, patient-reported writes and sources' writes (see clinical.h). */
#include "service/clinical.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "service/sources.h"
#include "store/sqlite/item_keys.h"
#include "store/log.h"
#include "store/sqlite/source_state.h"
#include "store/sqlite/sqlite.h"

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

static ob_status apply_item(void *ctx, ob_store_tx *tx, ob_err *e)
{
    return ob_tx_put_item(tx, ctx, e);
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
    return ob_alog_append(h->log, &le, 1, apply_item, (void *)it, &seq, e);
}

/* ---- a source system's own items (R-SRC-1) ---- */

char *ob_src_item_json(const ob_src_item *w)
{
    size_t len = strlen(w->rec), cap = len + 64;
    if (len < 2 || w->rec[len - 1] != '}')
        return NULL;
    char *json = malloc(cap);
    if (json) /* {...} + ,"id":..,"version":..} */
        snprintf(json, cap, "%.*s,\"id\":\"%s\",\"version\":%lld}", (int)(len - 1), w->rec, w->id,
                 (long long)w->version);
    return json;
}

ob_status ob_src_apply(ob_store_tx *tx, ob_src_item *w, bool create_only, int64_t if_match,
                       ob_err *e)
{
    ob_item_key k;
    bool found;
    ob_status rc = ob_tx_item_key_find(tx, w->source, w->system, w->value, &k, &found, e);
    if (rc)
        return rc;
    bool live = found && !k.withdrawn;
    if (create_only && found)
        return ob_err_set(e, OB_ECONFLICT,
                          "your system already has an item with this identifier; update it "
                          "with PUT /%s?identifier=<system>|<value>",
                          w->type);
    if (found && strcmp(k.category, w->category) != 0)
        return ob_err_set(e, OB_ECONFLICT,
                          "this identifier names another kind of item of your system (%s)",
                          k.category);
    if (if_match && !live)
        return ob_err_set(e, OB_ECONFLICT,
                          "If-Match: your system has no item with this identifier");
    if (if_match > 0 && k.version != if_match)
        return ob_err_set(e, OB_ECONFLICT,
                          "If-Match: the item is at version %lld, not %lld; read it again and "
                          "send the change against that version",
                          (long long)k.version, (long long)if_match);
    if (w->withdrawn && !live)
        return ob_err_set(e, OB_ECONFLICT,
                          "nothing to withdraw: your system has no item with this identifier");
    w->created = !found;
    k.version = found ? k.version + 1 : 1;
    k.withdrawn = w->withdrawn;
    snprintf(k.category, sizeof k.category, "%s", w->category);
    if (strlen(w->patient) >= sizeof k.patient)
        return ob_err_set(e, OB_EINVAL, "patient id too long");
    memcpy(k.patient, w->patient, strlen(w->patient) + 1);
    if ((rc = ob_tx_item_key_put(tx, w->source, w->system, w->value, &k, w->time, e)))
        return rc;
    snprintf(w->id, sizeof w->id, "src-%lld", (long long)k.n);
    w->version = k.version;
    if (w->withdrawn) /* gone from the overview; the key and the log keep what was */
        return ob_tx_item_row_delete(tx, w->id, e);
    char *json = ob_src_item_json(w);
    if (!json)
        return ob_err_set(e, OB_ENOMEM, "out of memory");
    ob_item it = {w->id, w->patient, w->category, w->origin, w->time, "clinical", w->code, 0, json};
    rc = ob_tx_item_row_replace(tx, &it, e);
    free(json);
    return rc;
}

void ob_src_entry(const ob_src_item *w, const ob_log_entry *actor, ob_log_entry *le, char res[240])
{
    *le = *actor;
    le->event = OB_EV_DATA_CHANGE;
    le->permit = true;
    le->patient = w->patient;
    le->category = w->category;
    le->rule = "R-SRC-1";
    le->reason = w->withdrawn ? "withdrawn by its source system (entered in error)"
                              : "written by its source system";
    snprintf(res, 240, "%s?source=%.64s&identifier=%.100s", w->type, w->source, w->value);
    le->resource = res;
}

struct src_ctx {
    ob_src_item *w;
    bool create_only;
    int64_t if_match;
    ob_time now;
};

/* Runs on the log's writer thread inside the transaction of the log entry. */
static ob_status apply_src(void *ctx, ob_store_tx *tx, ob_err *e)
{
    struct src_ctx *c = ctx;
    ob_status rc = ob_src_apply(tx, c->w, c->create_only, c->if_match, e);
    return rc ? rc : ob_tx_source_touch(tx, c->w->source, c->now, e); /* R-SRC-2 */
}

ob_status ob_hub_src_item_write(ob_hub *h, ob_src_item *w, bool create_only, int64_t if_match,
                                const ob_log_entry *actor, ob_err *e)
{
    struct src_ctx c = {w, create_only, if_match, actor->time};
    ob_log_entry le;
    char res[240];
    ob_src_entry(w, actor, &le, res);
    if (!h->log)
        return ob_err_set(e, OB_EIO, "the access log is not open; no change without a log entry");
    if (ob_hub_stopped(h, NULL, 0))
        return ob_hub_stopped_err(h, e);
    uint64_t seq;
    ob_status rc = ob_alog_append(h->log, &le, 1, apply_src, &c, &seq, e);
    if (!rc)
        ob_hub_source_delivered(h, w->source, actor->time);
    return rc;
}

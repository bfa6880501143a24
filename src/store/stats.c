/* stats.c - store/stats.h's calls, sent to the backend of the read handle or of the
 * transaction (store/backend.h), and what both backends share: the stored form of a
 * figure's patient set, the history built from its rows, the refusals' wording. */
#include "store/stats.h"

#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "store/backend.h"

static const ob_stats_ops *store_stats(ob_store *s)
{
    return ((const ob_store_head *)(const void *)s)->ops->stats;
}

ob_status ob_stats_db_open(ob_store *s, ob_stats_db **out, ob_err *e)
{
    *out = NULL;
    return store_stats(s)->open_db(s, out, e);
}

void ob_stats_db_close(ob_stats_db *db)
{
    if (db)
        db->ops->close_db(db);
}

ob_status ob_stats_db_load_history(ob_stats_db *db, const char *cluster, const char *scope,
                                   ob_stats_history *h, ob_err *e)
{
    return db->ops->load_history(db->conn, cluster, scope, h, e);
}

ob_status ob_stats_db_spent(ob_stats_db *db, const char *cluster, uint64_t *spent, ob_err *e)
{
    return db->ops->spent(db->conn, cluster, spent, e);
}

ob_status ob_stats_db_count_expiring(ob_stats_db *db, const char *cluster, ob_time before,
                                     int64_t *n, ob_err *e)
{
    return db->ops->count_expiring(db->conn, cluster, before, n, e);
}

ob_status ob_stats_db_count_sets(ob_stats_db *db, const char *cluster, int64_t *n, ob_err *e)
{
    return db->ops->count_sets(db->conn, cluster, n, e);
}

ob_status ob_stats_db_each_release(ob_stats_db *db, const char *cluster, int limit,
                                   ob_stats_release_fn fn, void *ctx, ob_err *e)
{
    return db->ops->each_release(db->conn, cluster, limit, fn, ctx, e);
}

ob_status ob_stats_db_each_published(ob_stats_db *db, const char *cluster, ob_stats_published_fn fn,
                                     void *ctx, ob_err *e)
{
    return db->ops->each_published(db->conn, cluster, fn, ctx, e);
}

ob_status ob_stats_db_uses(ob_stats_db *db, uint32_t patient, ob_stats_use_fn fn, void *ctx,
                           ob_err *e)
{
    return db->ops->uses(db->conn, patient, fn, ctx, e);
}

ob_status ob_stats_db_mark(ob_stats_db *db, int64_t *mark, ob_err *e)
{
    return db->ops->mark(db->conn, mark, e);
}

ob_status ob_stats_db_try_charge_clinics(ob_stats_db *db, const char *const *clinics, size_t n,
                                         uint64_t cap, uint64_t eps, ob_err *e)
{
    ob_status rc = db->ops->begin(db->conn, e);
    if (rc)
        return rc;
    rc = db->ops->charge_clinics(db->conn, clinics, n, cap, eps, e);
    db->ops->rollback(db->conn);
    return rc;
}

ob_status ob_stats_tx_lock(ob_store_tx *tx, ob_err *e)
{
    return tx->ops->stats->lock(tx->conn, e);
}

ob_status ob_stats_tx_mark(ob_store_tx *tx, int64_t *mark, ob_err *e)
{
    return tx->ops->stats->mark(tx->conn, mark, e);
}

ob_status ob_stats_tx_record(ob_store_tx *tx, const ob_stats_release_meta *m,
                             const ob_stats_report *r, int64_t *id, ob_err *e)
{
    return tx->ops->stats->record(tx->conn, m, r, id, e);
}

ob_status ob_stats_tx_charge(ob_store_tx *tx, const char *cluster, uint64_t total, uint64_t eps,
                             ob_err *e)
{
    return tx->ops->stats->charge(tx->conn, cluster, total, eps, e);
}

ob_status ob_stats_tx_charge_clinics(ob_store_tx *tx, const char *const *clinics, size_t n,
                                     uint64_t cap, uint64_t eps, ob_err *e)
{
    return tx->ops->stats->charge_clinics(tx->conn, clinics, n, cap, eps, e);
}

ob_status ob_stats_tx_record_patients(ob_store_tx *tx, int64_t release, const ob_stats_report *r,
                                      ob_err *e)
{
    return tx->ops->stats->record_patients(tx->conn, release, r, e);
}

ob_status ob_stats_tx_expire(ob_store_tx *tx, const char *cluster, ob_time before, ob_time now,
                             int64_t *n, ob_err *e)
{
    return tx->ops->stats->expire(tx->conn, cluster, before, now, n, e);
}

/* ---- shared by the backends ---- */

ob_status ob_stats_set_encode(const uint32_t *ids, size_t n, unsigned char **out, ob_err *e)
{
    /* never NULL, an empty set included: SQLite binds a NULL pointer as NULL, not as "" */
    unsigned char *b = ob_malloc(4 * n + 1);
    if (!b)
        return ob_err_set(e, OB_ENOMEM, "out of memory recording the release");
    for (size_t i = 0; i < n; i++) {
        b[4 * i] = (unsigned char)ids[i];
        b[4 * i + 1] = (unsigned char)(ids[i] >> 8);
        b[4 * i + 2] = (unsigned char)(ids[i] >> 16);
        b[4 * i + 3] = (unsigned char)(ids[i] >> 24);
    }
    *out = b;
    return OB_OK;
}

static uint32_t set_at(const unsigned char *b, size_t i)
{
    return (uint32_t)b[4 * i] | (uint32_t)b[4 * i + 1] << 8 | (uint32_t)b[4 * i + 2] << 16 |
           (uint32_t)b[4 * i + 3] << 24;
}

bool ob_stats_set_has(const unsigned char *b, size_t n, uint32_t id)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint32_t v = set_at(b, mid);
        if (v == id)
            return true;
        if (v < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

ob_status ob_stats_history_row(ob_stats_history *h, ob_stats_history_cursor *c, int64_t id,
                               const char *filter, const unsigned char *b, size_t len_bytes,
                               ob_err *e)
{
    if (!c->started || id != c->cur) {
        if (ob_grow((void **)&h->rec, &h->cap, h->n + 1, sizeof *h->rec))
            return ob_err_set(e, OB_ENOMEM, "out of memory reading the release history");
        c->rec = &h->rec[h->n++];
        memset(c->rec, 0, sizeof *c->rec);
        snprintf(c->rec->filter, sizeof c->rec->filter, "%s", filter ? filter : "");
        c->cur = id;
        c->started = true;
        c->cap_fig = c->cap_ids = c->nids = 0;
        if (ob_grow((void **)&c->rec->set_off, &c->cap_fig, 1, sizeof *c->rec->set_off))
            return ob_err_set(e, OB_ENOMEM, "out of memory reading the release history");
        c->rec->set_off[0] = 0;
    }
    ob_stats_release_rec *rec = c->rec;
    size_t len = len_bytes / 4;
    if (ob_grow((void **)&rec->set_off, &c->cap_fig, rec->n_fig + 2, sizeof *rec->set_off) ||
        ob_grow((void **)&rec->set_ids, &c->cap_ids, c->nids + len + 1, sizeof *rec->set_ids))
        return ob_err_set(e, OB_ENOMEM, "out of memory reading the release history");
    for (size_t i = 0; i < len; i++)
        rec->set_ids[c->nids + i] = set_at(b, i);
    c->nids += len;
    rec->set_off[++rec->n_fig] = c->nids;
    return OB_OK;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

ob_status ob_stats_used_patients(const ob_stats_report *r, uint32_t **out, size_t *n, ob_err *e)
{
    *out = NULL;
    *n = 0;
    size_t all = r && r->set_off ? r->set_off[r->table->n_fig] : 0;
    if (all == 0)
        return OB_OK;
    uint32_t *ids = ob_malloc(all * sizeof *ids);
    if (!ids)
        return ob_err_set(e, OB_ENOMEM, "out of memory recording a release's patients");
    memcpy(ids, r->set_ids, all * sizeof *ids);
    qsort(ids, all, sizeof *ids, cmp_u32);
    size_t k = 0;
    for (size_t i = 0; i < all; i++)
        if (i == 0 || ids[i] != ids[i - 1])
            ids[k++] = ids[i];
    *out = ids;
    *n = k;
    return OB_OK;
}

ob_status ob_stats_budget_spent(ob_err *e, bool clinic, uint64_t spent, uint64_t cap, uint64_t eps)
{
    return ob_err_set(
        e, OB_EDENIED, "release refused: the %s is spent (%.3f of %.3f used, %.3f asked)",
        clinic ? "privacy budget of a member clinic's patients" : "cluster's privacy budget",
        (double)spent / 1000, (double)cap / 1000, (double)eps / 1000);
}

/* log.c - the access log on either backend (see log.h): each call goes to the SQLite log
 * or to the PostgreSQL log by where the log is, the way store.c sends the store's calls.
 * Nothing here decides anything about entries; the backends keep the promises. */
#include "store/log.h"

#include <string.h>

#include "core/alloc.h"
#include "store/pg/log_pg.h"
#include "store/sqlite/log_sqlite.h"

struct ob_alog {
    ob_log *sq; /* one of the two */
    ob_pglog *pg;
};

ob_status ob_alog_open(const char *where, const ob_alog_config *cfg, ob_alog **out, ob_err *e)
{
    *out = NULL;
    ob_alog *lg = ob_calloc(1, sizeof *lg);
    if (!lg)
        return ob_err_set(e, OB_ENOMEM, "out of memory");
    ob_status rc;
    if (ob_store_where_is_pg(where)) {
        ob_pglog_config pc;
        memset(&pc, 0, sizeof pc);
        memcpy(pc.sk, cfg->sk, sizeof pc.sk);
        memcpy(pc.pk, cfg->pk, sizeof pc.pk);
        pc.max_batch = cfg->max_batch;
        rc = ob_pglog_open(where, &pc, &lg->pg, e);
        memset(&pc, 0, sizeof pc); /* the secret key: one copy fewer */
    } else {
        ob_log_config sc;
        memset(&sc, 0, sizeof sc);
        memcpy(sc.sk, cfg->sk, sizeof sc.sk);
        memcpy(sc.pk, cfg->pk, sizeof sc.pk);
        sc.max_batch = cfg->max_batch;
        rc = ob_log_open(where, &sc, &lg->sq, e);
        memset(&sc, 0, sizeof sc);
    }
    if (rc) {
        ob_free(lg);
        return rc;
    }
    *out = lg;
    return OB_OK;
}

ob_status ob_alog_close(ob_alog *lg, ob_err *e)
{
    if (!lg)
        return OB_OK;
    ob_status rc = OB_OK;
    if (lg->pg)
        ob_pglog_close(lg->pg);
    else
        rc = ob_log_close(lg->sq, e);
    ob_free(lg);
    return rc;
}

ob_status ob_alog_append(ob_alog *lg, const ob_log_entry *entries, size_t n, ob_store_tx_fn apply,
                         void *apply_ctx, uint64_t *first_seq, ob_err *e)
{
    if (lg->pg)
        return apply ? ob_pglog_append_change(lg->pg, entries, n, apply, apply_ctx, first_seq, e)
                     : ob_pglog_append(lg->pg, entries, n, first_seq, e);
    return ob_log_append(lg->sq, entries, n, apply, apply_ctx, first_seq, e);
}

ob_status ob_alog_append_async(ob_alog *lg, const ob_log_entry *entries, size_t n,
                               ob_store_tx_fn apply, void *apply_ctx, ob_log_done_fn done,
                               void *done_ctx, ob_err *e)
{
    if (lg->pg)
        return ob_pglog_append_async(lg->pg, entries, n, apply, apply_ctx, done, done_ctx, e);
    return ob_log_append_async(lg->sq, entries, n, apply, apply_ctx, done, done_ctx, e);
}

ob_status ob_alog_checkpoint_now(ob_alog *lg, ob_err *e)
{
    return lg->pg ? OB_OK : ob_log_checkpoint_now(lg->sq, e);
}

void ob_alog_get_stats(ob_alog *lg, ob_log_stats *out)
{
    if (lg->pg)
        ob_pglog_get_stats(lg->pg, out);
    else
        ob_log_get_stats(lg->sq, out);
}

ob_status ob_alog_ground(ob_alog *lg, ob_err *e)
{
    return lg->pg ? ob_pglog_ground(lg->pg, e) : ob_log_ground(lg->sq, e);
}

bool ob_alog_is_pg(const ob_alog *lg)
{
    return lg->pg != NULL;
}

void *ob_alog_backend(ob_alog *lg)
{
    return lg->pg ? (void *)lg->pg : (void *)lg->sq;
}

ob_status ob_alog_each(const char *where, const ob_log_query *q, ob_log_record_fn fn, void *ctx,
                       ob_err *e)
{
    return ob_store_where_is_pg(where) ? ob_pglog_each(where, q, fn, ctx, e)
                                       : ob_log_each(where, q, fn, ctx, e);
}

ob_status ob_alog_prove(const char *where, uint64_t seq, ob_log_proof *out, ob_err *e)
{
    return ob_store_where_is_pg(where) ? ob_pglog_prove(where, seq, out, e)
                                       : ob_log_prove(where, seq, out, e);
}

ob_status ob_alog_prove_note(const char *where, uint64_t seq, ob_log_proof *out, ob_err *e)
{
    return ob_store_where_is_pg(where) ? ob_pglog_prove_note(where, seq, 0, out, e)
                                       : ob_log_prove_note(where, seq, out, e);
}

ob_status ob_alog_latest_note(const char *where, char **note, ob_err *e)
{
    return ob_store_where_is_pg(where) ? ob_pglog_latest_note(where, note, e)
                                       : ob_log_latest_note(where, note, e);
}

ob_status ob_alog_note_at(const char *where, uint64_t n, char **note, ob_err *e)
{
    if (ob_store_where_is_pg(where))
        return n ? ob_pglog_note_at(where, n, note, e)
                 : ob_err_set(e, OB_ENOTFOUND, "no checkpoint of size 0");
    return ob_log_note_at(where, n, note, e);
}

ob_status ob_alog_consistency(const char *where, uint64_t m, uint64_t n,
                              uint8_t (*proof)[OB_LOG_HASH_LEN], size_t *len, ob_err *e)
{
    return ob_store_where_is_pg(where) ? ob_pglog_consistency(where, m, n, proof, len, e)
                                       : ob_log_consistency(where, m, n, proof, len, e);
}

ob_status ob_alog_public_keys(const char *where, char **text, ob_err *e)
{
    return ob_store_where_is_pg(where) ? ob_pglog_public_keys(where, text, e)
                                       : ob_log_public_keys(where, text, e);
}

ob_status ob_alog_add_cosignature(const char *where, uint64_t size, const char *note,
                                  const char *line, ob_err *e)
{
    return ob_store_where_is_pg(where) ? ob_pglog_add_cosignature(where, size, note, line, e)
                                       : ob_log_add_cosignature(where, size, line, e);
}

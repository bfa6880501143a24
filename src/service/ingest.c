/* ingest.c - many writes in one transaction (see ingest.h). */
#include "service/ingest.h"

#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "service/sources.h"
#include "store/log.h"
#include "store/sqlite/source_state.h"

struct many {
    ob_write *w;
    size_t n, at;
    ob_apt_prev *prev;
    ob_time now;
};

/* Runs on the log's writer thread inside the transaction of the n log entries. */
static ob_status apply_many(void *ctx, ob_store_tx *tx, ob_err *e)
{
    struct many *m = ctx;
    for (m->at = 0; m->at < m->n; m->at++) {
        ob_write *w = &m->w[m->at];
        ob_status rc = w->apt ? ob_apt_apply(tx, w->apt, w->create_only, w->if_match, &w->created,
                                             &m->prev[m->at], e)
                              : ob_src_apply(tx, w->item, w->create_only, w->if_match, e);
        if (rc)
            return rc;
        if (!w->apt)
            w->created = w->item->created;
    }
    /* R-SRC-2: the source delivered (one source per transaction) */
    const ob_write *w0 = &m->w[0];
    return ob_tx_source_touch(tx, w0->apt ? w0->apt->source : w0->item->source, m->now, e);
}

ob_status ob_hub_write_many(ob_hub *h, ob_write *w, size_t n, const ob_log_entry *actor,
                            size_t *failed, ob_err *e)
{
    *failed = n;
    if (n == 0)
        return OB_OK;
    if (!h->log)
        return ob_err_set(e, OB_EIO, "the access log is not open; no change without a log entry");
    if (ob_hub_stopped(h, NULL, 0))
        return ob_hub_stopped_err(h, e);
    ob_log_entry *le = ob_calloc(n, sizeof *le);
    char(*res)[240] = ob_calloc(n, sizeof *res);
    ob_apt_prev *prev = ob_calloc(n, sizeof *prev);
    if (!le || !res || !prev) {
        ob_free(le);
        ob_free(res);
        ob_free(prev);
        return ob_err_set(e, OB_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        if (w[i].apt)
            ob_apt_entry(w[i].apt, actor, &le[i], res[i]);
        else
            ob_src_entry(w[i].item, actor, &le[i], res[i]);
    }
    struct many m = {w, n, 0, prev, actor->time};
    uint64_t seq;
    ob_status rc = ob_alog_append(h->log, le, n, apply_many, &m, &seq, e);
    if (rc)
        *failed = m.at < n ? m.at : n;
    else
        ob_hub_source_delivered(h, w[0].apt ? w[0].apt->source : w[0].item->source, actor->time);
    for (size_t i = 0; i < n; i++) /* committed or not, as ob_hub_apt_write */
        if (w[i].apt)
            ob_apt_written(h, w[i].apt, &prev[i]);
    ob_free(le);
    ob_free(res);
    ob_free(prev);
    return rc;
}

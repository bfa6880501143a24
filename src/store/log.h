/* log.h - the access log, whichever backend holds it (issue 18): the types the two logs
 * share, and the calls the service makes of "the log", sent to the SQLite log
 * (store/sqlite/log_sqlite.h, a database file) or to the PostgreSQL log
 * (store/pg/log_pg.h, a postgresql:// URI) by the place the store is. The two keep the
 * same promises (docs/log.md): an entry is durable before its call returns, entries are
 * totally ordered and hash-chained, and proofs have the same bytes. What one backend does
 * not have is refused by name, never done halfway.
 *
 * The read calls take the place (a path or a URI), not an open log: they open their own
 * short-lived connection, so they work while a writer runs, on either backend. */
#ifndef OB_STORE_LOG_H
#define OB_STORE_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/time.h"
#include "log/entry.h"
#include "log/merkle.h"
#include "log/proof.h"
#include "store/store.h"

/* Called exactly once per accepted ob_log_append_async call, on the writer thread, after
 * the transaction holding the entries has committed (they are durable), or after the
 * batch failed. st == OB_OK: first_seq is the seq of entries[0], the others follow
 * consecutively, err is NULL. Otherwise nothing of that call was written, first_seq is
 * 0 and err (valid during the call only) says why. The callback must be quick (it holds
 * up the log), may call ob_log_append_async, and must not call ob_log_append,
 * ob_log_checkpoint_now or ob_log_close (they would wait for the writer it runs on;
 * they refuse with OB_EINVAL). */
typedef void (*ob_log_done_fn)(void *ctx, ob_status st, uint64_t first_seq, const ob_err *err);

/* Upper bounds (seconds) of the commit-duration histogram's buckets; one more bucket
 * counts the commits slower than the last. A COMMIT's time is mostly the disk's sync. */
#define OB_LOG_COMMIT_BUCKETS 8
extern const double ob_log_commit_bucket_le[OB_LOG_COMMIT_BUCKETS];

typedef struct ob_log_stats {
    uint64_t size;           /* seq of the newest entry */
    uint64_t appended;       /* entries appended since open */
    uint64_t commits;        /* transactions committed since open */
    uint64_t failed;         /* append calls that failed since open */
    uint64_t checkpoints;    /* checkpoints cut since open */
    uint64_t max_batch;      /* most entries in one commit */
    uint64_t pending;        /* asynchronous entries queued and not yet done */
    uint64_t refused;        /* asynchronous calls refused with OB_ELIMIT (queue full) */
    uint64_t writer_cpu_ns;  /* CPU time of the writer thread since open (its serial cost) */
    uint64_t indexed;        /* the search index covers entries through this seq */
    uint64_t index_failures; /* indexing passes that failed since open (they are retried) */
    /* committed transactions by how long their COMMIT took (not cumulative; the last
     * counts those over every bound), and the sum of those durations */
    uint64_t commit_hist[OB_LOG_COMMIT_BUCKETS + 1];
    uint64_t commit_ns_sum;
} ob_log_stats;

typedef struct ob_log_record {
    uint64_t seq;
    ob_log_entry entry; /* strings valid only during the callback */
} ob_log_record;
typedef ob_status (*ob_log_record_fn)(void *ctx, const ob_log_record *r, ob_err *e);

typedef struct ob_log_query {
    const char *patient;      /* entries about this patient (R-LOG-3), or NULL */
    const char *on_behalf_of; /* entries done on behalf of this professional (R-LOG-6) */
    const char *actor_id;     /* entries by this actor, or NULL */
    ob_time from, to;         /* time in [from, to); to == 0 means no upper bound */
    size_t limit;             /* 0 = no limit */
    bool newest_first;
} ob_log_query;

/* ---- the log, on either backend ---- */

typedef struct ob_alog ob_alog;

typedef struct ob_alog_config {
    uint8_t sk[OB_LOG_SK_LEN]; /* libsodium Ed25519 secret key (seed || pk) */
    uint8_t pk[OB_LOG_PK_LEN]; /* must match sk */
    uint32_t max_batch;        /* most entries in one transaction; 0 = the backend's */
} ob_alog_config;

/* Opens the log at `where` for appending (a SQLite path, or a postgresql:// URI). *out is
 * freed by ob_alog_close. */
ob_status ob_alog_open(const char *where, const ob_alog_config *cfg, ob_alog **out, ob_err *e);
/* Finishes queued appends and closes. NULL is a no-op. */
ob_status ob_alog_close(ob_alog *lg, ob_err *e);
/* Appends n >= 1 entries atomically with apply's change (apply may be NULL; it runs on
 * the log's writer inside the entries' transaction and writes through the ob_store_tx it
 * is given) and waits until they are durable. Thread-safe. */
ob_status ob_alog_append(ob_alog *lg, const ob_log_entry *entries, size_t n, ob_store_tx_fn apply,
                         void *apply_ctx, uint64_t *first_seq, ob_err *e);
/* Queues the entries (copied) and returns at once; done is called once, on the writer,
 * when they are durable or failed. OB_ELIMIT: the queue is full, retry later. */
ob_status ob_alog_append_async(ob_alog *lg, const ob_log_entry *entries, size_t n,
                               ob_store_tx_fn apply, void *apply_ctx, ob_log_done_fn done,
                               void *done_ctx, ob_err *e);
/* Signs a checkpoint over the newest entries now, so that they can be proved (on
 * PostgreSQL every append already signs the whole log's head: nothing to do). */
ob_status ob_alog_checkpoint_now(ob_alog *lg, ob_err *e);
void ob_alog_get_stats(ob_alog *lg, ob_log_stats *out);
/* Whether the log still writes where it was opened: OB_OK, or OB_EIO saying why (a
 * SQLite file removed or replaced, issue 23; a PostgreSQL log whose writer cannot reach
 * a primary). */
ob_status ob_alog_ground(ob_alog *lg, ob_err *e);
/* Whether lg is on PostgreSQL. */
bool ob_alog_is_pg(const ob_alog *lg);
/* The backend's own handle (ob_log * or ob_pglog *), for what only one of them has. */
void *ob_alog_backend(ob_alog *lg);

/* ---- reading, on either backend, by place ---- */

ob_status ob_alog_each(const char *where, const ob_log_query *q, ob_log_record_fn fn, void *ctx,
                       ob_err *e);
ob_status ob_alog_prove(const char *where, uint64_t seq, ob_log_proof *out, ob_err *e);
ob_status ob_alog_prove_note(const char *where, uint64_t seq, ob_log_proof *out, ob_err *e);
ob_status ob_alog_latest_note(const char *where, char **note, ob_err *e);
ob_status ob_alog_note_at(const char *where, uint64_t n, char **note, ob_err *e);
ob_status ob_alog_consistency(const char *where, uint64_t m, uint64_t n,
                              uint8_t (*proof)[OB_LOG_HASH_LEN], size_t *len, ob_err *e);
ob_status ob_alog_public_keys(const char *where, char **text, ob_err *e);

/* ---- a witness's cosignature (R-LOG-7), by place ---- */

/* Keeps a witness's cosignature line of the log's signed note of `size` entries (note as
 * ob_alog_latest_note or ob_alog_note_at gave it), so that proofs against that note carry
 * it (ob_alog_prove_note). On SQLite the log already keeps its note of each checkpoint and
 * note is not stored again (ob_log_add_cosignature); on PostgreSQL, whose head's note every
 * append rewrites, the note is kept with the line once it is shown to be this log's
 * (ob_pglog_add_cosignature: OB_ETAMPER otherwise). */
ob_status ob_alog_add_cosignature(const char *where, uint64_t size, const char *note,
                                  const char *line, ob_err *e);

#endif

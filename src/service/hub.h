/* hub.h - the service that the CLI and the HTTP server share: the in-memory index
 * rebuilt from the store, the access log, the keys, and a reader-writer lock.
 *
 * Every decision goes through ob_hub_decide, which logs it durably before returning
 * (R-LOG-1): if the log append fails, the call fails and the caller must not reveal
 * anything. Every change (a block, a consent, a lift, a revocation, ...) goes through
 * ob_hub_change, which checks it, stores the record and its log entry in one
 * transaction, and only then makes it visible to decisions (R-BLK-5, R-CON-2).
 * The hub owns everything it opens; ob_hub_close releases it. Thread-safe. */
#ifndef OB_SERVICE_HUB_H
#define OB_SERVICE_HUB_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>

#include "core/secret.h"
#include "log/entry.h"
#include "model/records.h"
#include "policy/policy.h"
#include "store/store.h"

typedef struct ob_alog ob_alog;

typedef struct ob_hub {
    ob_store *store;
    ob_alog *log; /* on the store's backend (store/log.h) */
    ob_index *ix;
    ob_loader loader;
    ob_keys keys;
    pthread_rwlock_t lock;
    char *db_path;
    /* Logged decisions since open by rule and outcome ([rule][permit]), for the
     * server's /metrics; relaxed atomics, incremented by ob_hub_count_decision: one per
     * log entry (a search counts once, by the rule its entry names). */
    _Atomic uint64_t decisions[OB_RULE_COUNT][2];
    struct ob_apt_cache *apt_cache; /* owned; service/appointment.c */
    struct ob_overrides *overrides; /* owned; service/overrides.h (R-BLK-4 alerts) */
    struct ob_sources *sources;     /* owned; service/sources.h (identifier systems) */
    /* Told of every alert entry logged (the server prints it); NULL: nobody. */
    void (*notice)(void *ctx, const char *msg);
    void *notice_ctx;
    int lock_fd; /* with a log: the database file, flock()ed (one writing process) */
    /* Indexes replaced by a rebuild, kept until close: readers use an index's strings
     * after they let go of the lock (borrowed for as long as the hub is open), so an
     * index that was ever visible is never freed while the hub is open. A rebuild happens
     * only after a change whose storage failed and could not be undone. Under the lock. */
    ob_index **retired;
    size_t nretired;
    /* Set (under the write lock) when the index could not be brought back in line with
     * the store: every later decision, read and change is refused (fail closed) with
     * stop_reason (written once, before the flag), and the server answers 503 until it
     * is restarted. */
    _Atomic bool stopped;
    char stop_reason[384];
    /* On PostgreSQL: set (under the write lock) when a change failed after it reached the
     * index, or another server's could not be applied: the index may not match the
     * database. Decisions, reads and changes are refused (503) until the sync thread has
     * rebuilt the index from the database (service/hub_pg.c), which it retries while the
     * database cannot be read (a failover): the server comes back by itself. */
    _Atomic bool rebuild_due;
    /* On PostgreSQL (several servers, service/hub_pg.c): the changes' order every server
     * replays (owned), and the newest record of it applied to ix (under the lock). */
    struct ob_pgsync *sync;
    int64_t records_applied;
    /* On PostgreSQL: the override counts every server adds to (owned; R-BLK-4, T-DB-9) */
    struct ob_pgovr *ovr_pg;
} ob_hub;

typedef struct ob_hub_options {
    const char *db_path;
    const char *key_path;  /* NULL: <db_path without .db>.key */
    bool no_log;           /* open without starting the log writer (read-only tools) */
    const char *server_id; /* on PostgreSQL: this server among several (NULL: host and pid) */
} ob_hub_options;

ob_status ob_hub_open(const ob_hub_options *opt, ob_hub **out, ob_err *e);
void ob_hub_close(ob_hub *h);

/* The one-writing-process lock (an exclusive flock of the database file, which must
 * exist), as ob_hub_open takes it, for a command that writes a database without a hub
 * (restore). *fd is set even on refusal (or -1); close it only after every SQLite
 * connection of the process to that database is closed (hub.c says why). */
ob_status ob_hub_lock_writer(const char *db_path, int *fd, ob_err *e);
/* Derives the key file path from the database path into buf. */
void ob_hub_key_path(const char *db_path, char *buf, size_t cap);

/* Decides and logs. `resource` (borrowed, may be NULL) names what was read (item ids);
 * `justification` is the override reason. On success *d holds the decision and *seq the
 * log entry's sequence number. */
/* Counts one logged decision in h->decisions. */
void ob_hub_count_decision(ob_hub *h, int rule, bool permit);

ob_status ob_hub_decide(ob_hub *h, const ob_request *rq, const char *resource,
                        const char *justification, ob_decision *d, uint64_t *seq, ob_err *e);

/* Applies one change record (import format) on behalf of `who`, logging it as `actor`
 * (its strings borrowed). Refused changes return OB_EDENIED/OB_EINVAL and change
 * nothing. *out is filled as by ob_record_apply (its canonical is released here). */
ob_status ob_hub_change(ob_hub *h, json_t *record, const ob_log_entry *actor, uint64_t *seq,
                        uint64_t *assigned, ob_err *e);

/* Bulk import of records (the `load` command): all or nothing. `next` yields the next
 * JSON object, or NULL at the end (with *e untouched) or on error (with *e set). */
typedef json_t *(*ob_hub_next_fn)(void *ctx, size_t *line, ob_err *e);
typedef void (*ob_hub_progress_fn)(void *ctx, size_t done);
ob_status ob_hub_import(ob_hub *h, ob_hub_next_fn next, void *ctx, ob_hub_progress_fn progress,
                        void *pctx, size_t *count, ob_err *e);

/* Deferred logging of reads, and deferred acknowledgement of changes, for an event-driven
 * transport. When a transport sets a defer on its thread around one request, read paths
 * that need no sequence number (ob_hub_log_read with seq == NULL) append asynchronously:
 * `hold` is called before each append and `done` exactly once per hold, on the log's
 * writer thread, after the entry is durable or failed (ob_log_done_fn). On PostgreSQL a
 * change (ob_hub_change) returns once committed, having held the defer: its done comes on
 * pg_sync's acker thread once every live server has applied the change (first_seq: its log
 * entry), or with an error when that did not happen in time, the database went away or the
 * hub closed (ob_hub_close calls every done still owed; unconfirmed first). The transport
 * must not send the answer before every hold has had its done, and must send an answer that
 * reveals nothing if any done failed (R-LOG-1; a change not acknowledged is not answered as
 * made, nor as refused: the server's 503 says it may be in force). Without a defer (CLI,
 * tests) reads block until durable and changes until acknowledged, as always. The defer is
 * borrowed and must outlive the request's calls; its ctx must live until the last done. */
typedef struct ob_hub_defer {
    void (*hold)(void *ctx);
    void (*done)(void *ctx, ob_status st, uint64_t first_seq, const ob_err *err);
    void *ctx;
    /* NULL, or called (same thread, same ctx) just before a failed done when the change
     * committed but was not acknowledged: it may be in force, or become so, and the
     * transport should not say that nothing changed. */
    void (*unconfirmed)(void *ctx);
} ob_hub_defer;
void ob_hub_defer_set(const ob_hub_defer *d); /* this thread; NULL clears */
/* Appends one read's entry (R-LOG-1): blocking, or deferred as above when seq is NULL
 * and a defer is set. On an error return no done is pending for this call. */
ob_status ob_hub_log_read(ob_hub *h, const ob_log_entry *le, uint64_t *seq, ob_err *e);
/* The same for n >= 1 entries of one read, appended atomically (a search's entry and the
 * denials it holds); *seq receives the first's. */
ob_status ob_hub_log_reads(ob_hub *h, const ob_log_entry *le, size_t n, uint64_t *seq, ob_err *e);

/* Counts an override that was just logged for rq (service/overrides.h) and, when a
 * threshold is reached, logs the alert entry (deferred like the read it follows) and tells
 * h->notice. Call only after the override's own entry was appended. */
ob_status ob_hub_note_override(ob_hub *h, const ob_request *rq, ob_err *e);
/* Whether the hub stopped (see ob_hub.stopped); with why (may be NULL) the reason. */
bool ob_hub_stopped(ob_hub *h, char *why, size_t cap);
/* OB_EIO with a message saying that and why the hub stopped. */
ob_status ob_hub_stopped_err(ob_hub *h, ob_err *e);

/* Fills the actor part of a log entry for a request (names from the index). */
void ob_hub_entry_for(const ob_hub *h, const ob_request *rq, ob_log_entry *le);

#endif

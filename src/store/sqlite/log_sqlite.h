/* log_sqlite.h - the durable, tamper-evident access log over SQLite (R-LOG-1..6): the
 * imperative shell around the pure log core in src/log/ (hash.h, merkle.h,
 * checkpoint.h, proof.h).
 *
 * Writing: ob_log_open starts one writer thread with its own SQLite connection (WAL,
 * synchronous=FULL). ob_log_append may be called from any number of threads; it blocks
 * until the entries are durable and returns their sequence numbers. ob_log_append_async
 * queues the entries and returns at once; a callback on the writer thread reports when
 * they are durable, so one thread (an event loop) can keep many appends in flight.
 * Appends that arrive while the writer is committing are batched into the next
 * transaction (group commit), so many callers share one fsync.
 *
 * Reading: verification, proofs, retention and queries open their own short-lived
 * connection on the database path, so they work on a live log or a copied file.
 *
 * The log's tables (log_*) share the database file with the domain store (store.h). The
 * on-disk format is documented in log_sqlite.c and docs/log.md. */
#ifndef OB_STORE_LOG_SQLITE_H
#define OB_STORE_LOG_SQLITE_H

#include <sqlite3.h>

#include "store/log.h"
#include "store/store.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/time.h"
#include "log/checkpoint.h"
#include "log/entry.h"
#include "log/merkle.h"
#include "log/note.h"
#include "log/proof.h"

typedef struct ob_log ob_log;

typedef struct ob_log_config {
    uint8_t sk[OB_LOG_SK_LEN]; /* libsodium Ed25519 secret key (seed || pk) */
    uint8_t pk[OB_LOG_PK_LEN]; /* must match sk */
    uint32_t checkpoint_every; /* entries per segment; 0 = 4096 */
    uint32_t max_batch;        /* most entries in one transaction; 0 = 8192 */
    int busy_timeout_ms;       /* waiting for other connections' locks; 0 = 5000 */
    int gather_us;        /* group-commit gathering wait: 0 = auto (a quarter of the last commit,
                           * at most 2 ms), > 0 = that many microseconds at most, -1 = off */
    uint32_t max_pending; /* most entries queued by ob_log_append_async and not yet done;
                           * 0 = 65536. A full queue refuses with OB_ELIMIT; an empty
                           * one takes any call of up to max_batch entries. */
    int wal_pages;        /* WAL checkpoints: 0 = on a checkpointer thread of their own once
                           * the WAL holds 4000 pages (the writer checkpoints itself only past
                           * 16 times that); > 0 = that many pages; -1 = SQLite's automatic
                           * checkpoint inside the writer's COMMIT at 4000 pages */
    int index_era_bits;   /* the search index keys entries by era = seq >> index_era_bits
                           * (store/sqlite/log_index.h); 0 = 18. Smaller only for tests. */
} ob_log_config;

/* Runs on the writer thread inside the batch transaction, in its own SAVEPOINT, before
 * the job's entries are inserted. Returning an error rolls back the savepoint: that
 * job's entries are not written and only its caller gets the error. It must not
 * COMMIT, ROLLBACK or RELEASE anything it did not open itself. */
typedef ob_status (*ob_log_apply_fn)(void *ctx, ob_store_tx *tx, ob_err *e);

/* Opens (creating tables if missing) the log in the database at db_path. Refuses a log
 * signed with a different key, and a log whose tail does not match its signed head
 * (OB_ETAMPER: run ob_log_verify). *out is freed by ob_log_close. */
ob_status ob_log_open(const char *db_path, const ob_log_config *cfg, ob_log **out, ob_err *e);

/* Appends n >= 1 entries atomically with apply's changes (apply may be NULL) and waits
 * until they are durable. *first_seq (may be NULL) receives the seq of entries[0]; the
 * others follow consecutively. Thread-safe. On any error nothing of this call was
 * written. */
ob_status ob_log_append(ob_log *lg, const ob_log_entry *entries, size_t n, ob_log_apply_fn apply,
                        void *apply_ctx, uint64_t *first_seq, ob_err *e);

/* Queues n >= 1 entries to be appended atomically with apply's changes (apply may be
 * NULL) and returns without waiting. The entries and their strings are copied and
 * hashed before it returns, so the caller may free them at once; apply_ctx and done_ctx
 * must stay valid until done is called. done (required) is then called exactly once as
 * described above; appends from one thread get increasing seqs in call order.
 * If this call returns an error, nothing was queued and done is never called:
 * OB_EINVAL (bad entries, no done callback, or the log is closing), OB_ENOMEM, and
 * OB_ELIMIT (more than max_batch entries, or max_pending entries already queued). The
 * queue is bounded and never blocks the caller: on OB_ELIMIT, retry after some of the
 * caller's own appends are done (back-pressure). Thread-safe. */
ob_status ob_log_append_async(ob_log *lg, const ob_log_entry *entries, size_t n,
                              ob_log_apply_fn apply, void *apply_ctx, ob_log_done_fn done,
                              void *done_ctx, ob_err *e);

/* Cuts a signed checkpoint now over the open segment (if not empty) and waits for it to
 * be durable, so that the latest entries can be proved (ob_log_prove). */
ob_status ob_log_checkpoint_now(ob_log *lg, ob_err *e);

/* Finishes queued appends (blocking and asynchronous: every pending done callback is
 * called before it returns), cuts a final checkpoint, joins the writer and frees lg.
 * Appends that start after close has begun are refused. Returns the final checkpoint's
 * status. NULL is a no-op. Must not be called from a done callback. */
ob_status ob_log_close(ob_log *lg, ob_err *e);

void ob_log_get_stats(ob_log *lg, ob_log_stats *out);

/* Waits until the search index (store/sqlite/log_index.h) covers every entry committed when
 * it was called. Queries never need this (they scan what is not indexed yet); tests
 * and benchmarks of the index do. */
ob_status ob_log_wait_indexed(ob_log *lg, ob_err *e);
const char *ob_log_path(const ob_log *lg);

/* Whether the database's files at its path (it, its -wal and -shm) are still the ones
 * the log opened: OB_OK, or OB_EIO saying which was removed or replaced. The writer
 * checks after every COMMIT, before telling anyone; once they moved, every append fails
 * with this error until the log is reopened (issue 23). Thread-safe; opens nothing. */
ob_status ob_log_ground(ob_log *lg, ob_err *e);

/* --- verification (R-LOG-4) --- */

typedef enum ob_log_fault {
    OB_LOG_FAULT_NONE = 0,
    OB_LOG_FAULT_CHANGED,       /* an entry's content differs from what was logged */
    OB_LOG_FAULT_REMOVED,       /* an entry or checkpoint is missing */
    OB_LOG_FAULT_REORDERED,     /* an entry sits at another entry's position */
    OB_LOG_FAULT_INSERTED,      /* an entry was never logged by the server */
    OB_LOG_FAULT_TRUNCATED,     /* entries at the end are missing (signed head is longer) */
    OB_LOG_FAULT_BAD_SIGNATURE, /* a checkpoint or head signature is not valid */
    OB_LOG_FAULT_BAD_SEGMENT,   /* a segment does not match its signed root or chain head */
    OB_LOG_FAULT_NO_HEAD,       /* the signed head is missing */
    OB_LOG_FAULT_UNINDEXED,     /* the search index leaves out an entry it claims to cover, so
                                 * the patient's view would not show it (log_index.h) */
    OB_LOG_FAULT_ROLLED_BACK,   /* the log is shorter than a checkpoint a witness saw: wiped,
                                 * truncated, or replaced by an older copy (R-LOG-7) */
    OB_LOG_FAULT_FORKED         /* the log's tree at the size a witness saw has another root */
} ob_log_fault;
const char *ob_log_fault_name(ob_log_fault f);

typedef struct ob_log_verify_report {
    ob_log_fault fault;       /* NONE when the log verified */
    uint64_t bad_seq;         /* the first bad entry (0 when fault is NONE) */
    char detail[256];         /* what is wrong, for a person */
    uint64_t entries;         /* retained entries checked */
    uint64_t first_seq;       /* first retained entry (0 if none) */
    uint64_t last_seq;        /* newest entry */
    uint64_t checkpoints;     /* signed checkpoints checked */
    uint64_t expired_through; /* entries 1..expired_through were removed by retention */
    ob_time expired_max_time; /* newest entry time among them (signed), OB_TIME_MIN if none */
    uint64_t indexed_through; /* the search index covers entries through this seq (0: none) */
    uint64_t notes;           /* checkpoints whose signed note (whole-log tree) was checked */
    uint64_t witness_size;    /* the witnessed size the log was checked to extend (0: none) */
} ob_log_verify_report;

/* What a verifier trusts: the log's public keys as published (a signed-note verifier
 * key per line, c2sp.org/signed-note; every key the log was ever signed with), and
 * optionally the latest checkpoint a witness accepted (a signed note). Nothing is taken
 * from the database on trust. */
typedef struct ob_log_trust {
    const ob_note_key *keys;
    size_t nkeys;
    const char *witness_note; /* NULL: no witness check */
} ob_log_trust;

/* ob_log_verify with published keys and an optional witness: also fails with
 * OB_LOG_FAULT_ROLLED_BACK / OB_LOG_FAULT_FORKED when the log does not extend what the
 * witness saw (a wipe, truncation, rollback to a backup, or a fork). */
ob_status ob_log_verify_trusted(const char *db_path, const ob_log_trust *t, ob_log_verify_report *r,
                                ob_err *e);

/* Recomputes everything from the retained entries and checks it against the signed
 * checkpoints and head. OB_OK when the log verified; OB_ETAMPER (r->fault, r->bad_seq,
 * r->detail and e say what) when not; OB_EIO when the database cannot be read. */
ob_status ob_log_verify(const char *db_path, const uint8_t pk[OB_LOG_PK_LEN],
                        ob_log_verify_report *r, ob_err *e);

/* --- inclusion proofs (R-LOG-4) --- */

/* Fills *out (free with ob_log_proof_free) with the proof that entry seq is in the log.
 * OB_ENOTFOUND when there is no such entry (never logged or expired); OB_ECONFLICT when
 * it is not yet covered by a checkpoint (ob_log_checkpoint_now, or retry later). */
ob_status ob_log_prove(const char *db_path, uint64_t seq, ob_log_proof *out, ob_err *e);

/* The whole-log inclusion proof (overblik-log-proof-v2) of entry seq against the newest
 * checkpoint note that covers it. Same errors as ob_log_prove. */
ob_status ob_log_prove_note(const char *db_path, uint64_t seq, ob_log_proof *out, ob_err *e);

/* --- the whole log as one tree: checkpoints, consistency, keys (R-LOG-4, R-LOG-7) --- */

/* The newest signed checkpoint note (c2sp.org/tlog-checkpoint) into *note (ob_free);
 * OB_ENOTFOUND when the log has none yet. */
ob_status ob_log_latest_note(const char *db_path, char **note, ob_err *e);
/* The checkpoint note of exactly size n (ob_free); OB_ENOTFOUND if there is none. */
ob_status ob_log_note_at(const char *db_path, uint64_t n, char **note, ob_err *e);
/* RFC 9162 §2.1.4.1 PROOF(m, D[n]) for 0 < m <= n <= the log's size into proof
 * (OB_MERKLE_MAX_CONSISTENCY hashes), *len its length. OB_ENOTFOUND when it needs leaves
 * that retention removed and no stored subtree covers them. */
ob_status ob_log_consistency(const char *db_path, uint64_t m, uint64_t n,
                             uint8_t (*proof)[OB_LOG_HASH_LEN], size_t *len, ob_err *e);
/* The log's public keys as verifier key lines ("vkey\n" each, oldest first) into *text
 * (ob_free); the file a verifier needs (`<db>.log-pub`). */
ob_status ob_log_public_keys(const char *db_path, char **text, ob_err *e);
/* Lists pk as a signing key of the log (rotation): the next ob_log_open with its secret
 * key is accepted, and verifiers find it in ob_log_public_keys. The log must not be
 * open for writing. */
ob_status ob_log_add_key(const char *db_path, const uint8_t pk[OB_LOG_PK_LEN], ob_err *e);
/* Keeps a witness's cosignature line of the checkpoint of size n, so that proofs
 * against that checkpoint carry it (ob_log_prove_note). */
ob_status ob_log_add_cosignature(const char *db_path, uint64_t n, const char *line, ob_err *e);
/* Parses a published key file (verifier keys, one per line; blank lines and lines
 * starting with # ignored) into keys (cap entries). */
ob_status ob_log_parse_keys(const char *text, ob_note_key *keys, size_t cap, size_t *n, ob_err *e);

/* --- retention (R-LOG-5) --- */

/* Deletes the entries of the oldest checkpointed segments whose entries are all older
 * than before, in log order, stopping at the first segment that must be kept. The
 * checkpoints stay (they hold no personal data), so the rest still verifies.
 * *removed (may be NULL) receives the number of entries deleted. */
ob_status ob_log_expire(const char *db_path, ob_time before, uint64_t *removed, ob_err *e);

/* --- queries (R-LOG-3, R-LOG-6) --- */

/* Calls fn for each matching entry in time order (ties by seq). At least one of
 * patient, on_behalf_of, actor_id must be set. A non-OB_OK return from fn stops the
 * walk and is returned. */
ob_status ob_log_each(const char *db_path, const ob_log_query *q, ob_log_record_fn fn, void *ctx,
                      ob_err *e);

#endif

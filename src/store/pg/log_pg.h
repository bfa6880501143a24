/* log_pg.h - the access log on PostgreSQL (issue 18; R-LOG-1, R-LOG-4, R-LOG-9): the same
 * entries, leaf hashes, hash chain, signed head and signed segment checkpoints as the
 * SQLite log (store/sqlite/log_sqlite.h, docs/log.md), kept in a PostgreSQL database that several
 * overblik servers append to at once.
 *
 * One total order with many writers: every append transaction takes one PostgreSQL
 * advisory transaction lock before it reads the head, so the transactions that extend the
 * log follow each other, each continuing the chain and the tree where the last committed
 * one left them. Whoever holds the lock is the sequencer for one batch; the lock is
 * released by COMMIT or by the death of the holder's session, so a server that dies
 * mid-append stops no one. Within a server, appends from many threads are batched into one
 * transaction (group commit) by one writer thread, as on SQLite.
 *
 * Durable before the answer (R-LOG-1): ob_pglog_append returns only after COMMIT has
 * returned, which with synchronous_commit = on and synchronous_standby_names set (the
 * Patroni cluster, docs/failover.md) means the entries are on the primary's disk and on a
 * synchronous standby's. A lost connection fails the append (fail closed) and the next
 * batch, or the idle writer by itself, reconnects with the same conninfo, so a multi-host
 * URI with target_session_attrs=read-write follows a failover. (An append whose COMMIT
 * answer was lost may still have committed: the log may then hold an entry for an answer
 * never sent, never the reverse.)
 *
 * Proofs (RFC 9162 inclusion and consistency) have the SQLite log's formats (log/proof.h):
 * for the same key and the same entries the two backends give the same bytes. Every head
 * carries a signed checkpoint note of the whole tree, so an entry is provable as soon as
 * its append returns.
 *
 * Retention drops whole partitions of entries (seq ranges of whole segments) and records a
 * signed marker; the tree's nodes over the dropped leaves are kept (log_pg_node, written
 * with the entries), so proofs for the kept entries and consistency proofs still verify.
 *
 * Queries (ob_pglog_each) read the entry table through its indexes on patient,
 * professional and actor (each with time, seq), kept by PostgreSQL as rows are inserted;
 * what they return is decoded from the hashed encoding.
 *
 * Witnesses (R-LOG-7): the head's note is rewritten by every append, so a note a witness
 * cosigned is kept with its cosignature lines (ob_pglog_add_cosignature, after checking it
 * is this log's), and proofs are made against the newest cosigned note that covers the
 * entry, carrying those lines, as the SQLite log's proofs carry log_cosigs.
 *
 * Not yet here: key rotation: the next step of issue 18. */
#ifndef OB_STORE_LOG_PG_H
#define OB_STORE_LOG_PG_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/time.h"
#include "log/checkpoint.h"
#include "log/entry.h"
#include "log/merkle.h"
#include "log/proof.h"
#include "store/log.h"
#include "store/store.h"

typedef struct ob_pglog ob_pglog;

typedef struct ob_pglog_config {
    uint8_t sk[OB_LOG_SK_LEN];   /* libsodium Ed25519 secret key (seed || pk) */
    uint8_t pk[OB_LOG_PK_LEN];   /* must match sk, and the key the log was created with */
    uint32_t checkpoint_every;   /* entries per segment, a power of two; 0 = 4096; the same
                                  * on every server (the first to create the log records it) */
    uint32_t partition_segments; /* segments per partition of the entries; 0 = 1024 (4 Mi
                                  * entries at 4096); the same on every server */
    uint32_t max_batch;          /* most entries in one transaction; 0 = 8192 */
} ob_pglog_config;

/* Connects (libpq conninfo or URI), creates the log's tables if missing (under the same
 * advisory lock, so servers starting together agree; a schema-2 log is migrated in place
 * there, log_pg.c) and starts the writer thread. A log
 * created with another public key is refused (OB_ETAMPER). *out is freed by
 * ob_pglog_close. */
ob_status ob_pglog_open(const char *conninfo, const ob_pglog_config *cfg, ob_pglog **out,
                        ob_err *e);
/* Appends n >= 1 entries (borrowed for the call) atomically and waits until they are
 * committed; *first_seq (may be NULL) receives the first's seq, the others follow. On an
 * error nothing of this call was acknowledged. An entry whose patient, actor_id or
 * on_behalf_of is not UTF-8 is refused (OB_EINVAL) before it is queued: they are text
 * columns, and the database would fail the whole batch over it. Thread-safe. */
ob_status ob_pglog_append(ob_pglog *lg, const ob_log_entry *entries, size_t n, uint64_t *first_seq,
                          ob_err *e);
/* ob_pglog_append with a change: apply runs on the writer thread inside the batch's
 * transaction, before the entries, in a savepoint of its own, and writes through the
 * ob_store_tx it is given (store.h's ob_tx_*: the store's tables in the same database), so
 * the change and its entries commit together or not at all (R-LOG-1, as the SQLite log's
 * apply callback). When apply returns an error, only this call fails (its change rolled
 * back, its entries not written) and the batch goes on without it. apply must not COMMIT,
 * ROLLBACK or RELEASE what it did not open. */
ob_status ob_pglog_append_change(ob_pglog *lg, const ob_log_entry *entries, size_t n,
                                 ob_store_tx_fn apply, void *apply_ctx, uint64_t *first_seq,
                                 ob_err *e);
/* Called once per accepted ob_pglog_append_async call, on the writer thread, after the
 * batch holding its entries committed (st OB_OK, first_seq the first entry's seq) or
 * failed (st and err say why; nothing of the call was written; err valid during the call
 * only). It must be quick and must not call ob_pglog_append or ob_pglog_close. The SQLite
 * log's type (store/log.h), so that one callback serves both backends. */
typedef ob_log_done_fn ob_pglog_done_fn;
/* Queues n >= 1 entries (with apply's change, apply may be NULL) and returns at once: the
 * entries are copied, so the caller may free them; apply_ctx and done_ctx must live until
 * done. OB_ELIMIT when 65,536 entries are already queued (retry later); on any error
 * nothing was queued and done is never called. Thread-safe; the HTTP server's way of
 * keeping many searches' entries in flight (as ob_log_append_async on SQLite). */
ob_status ob_pglog_append_async(ob_pglog *lg, const ob_log_entry *entries, size_t n,
                                ob_store_tx_fn apply, void *apply_ctx, ob_pglog_done_fn done,
                                void *done_ctx, ob_err *e);
/* Stops the writer after the queued appends and disconnects. */
void ob_pglog_close(ob_pglog *lg);

/* This server's writer's counters (store/log.h): size is the newest seq it committed or
 * saw at the head; appended, commits, failed (calls), max_batch, pending and refused
 * (OB_ELIMIT) since open; writer_cpu_ns its thread's CPU time; the commit histogram times
 * each batch's last round trip (checkpoints, head, COMMIT), mostly the COMMIT's sync on the
 * primary and its synchronous standby. Every entry is indexed as it is inserted, so indexed
 * is size; checkpoints counts the segments this server cut. Thread-safe. */
void ob_pglog_get_stats(ob_pglog *lg, ob_log_stats *out);
/* OB_OK while the writer's last batch reached the database (committed, or was refused by
 * it); OB_EIO while its connection is lost (the last batch could not connect, or lost the
 * connection on the way): appends fail until a batch reconnects, or the writer, which
 * tries every 250 ms while nothing is queued, has a connection to a primary again. The
 * message names neither the conninfo nor anything libpq said about it. Thread-safe. */
ob_status ob_pglog_ground(ob_pglog *lg, ob_err *e);

/* --- reading (each call opens its own short-lived connection; store/log.h) --- */

/* The entries q asks for (store/log.h's ob_log_query; the SQLite log's ob_log_each
 * contract): about q->patient, done on behalf of q->on_behalf_of (never matching ""), by
 * q->actor_id (at least one of the three), time in [from, to) (to 0: no bound), in time
 * order with ties by seq (newest first if asked), at most limit (0: all), one snapshot.
 * Each record is decoded from the stored encoding, the bytes the leaf hash covers, not
 * from the columns the query searched: a row whose seq, time, patient, actor or
 * professional column disagrees with its encoding stops the query with OB_ETAMPER (run
 * verify), so an edited column cannot make an entry answer for someone else. The
 * record's strings are valid during fn only; fn's error stops the query and is returned.
 * OB_EINVAL: no patient, professional or actor. */
ob_status ob_pglog_each(const char *conninfo, const ob_log_query *q, ob_log_record_fn fn, void *ctx,
                        ob_err *e);
/* The verifier key lines (C2SP signed-note vkeys, "\n"-terminated, one a line) of the keys
 * that sign the log, into *text (ob_free): the key the log was created with (log_pg_meta;
 * no rotation on PostgreSQL yet), in the SQLite log's ob_log_public_keys format, so that
 * `log check` and the JS verifier take either. OB_ENOTFOUND when there is no log here. */
ob_status ob_pglog_public_keys(const char *conninfo, char **text, ob_err *e);
/* The head's signed checkpoint note (of the whole tree) into *note (ob_free); OB_ENOTFOUND
 * on an empty log. */
ob_status ob_pglog_latest_note(const char *conninfo, char **note, ob_err *e);

typedef struct ob_pglog_report {
    uint64_t entries;         /* entries read and checked */
    uint64_t checkpoints;     /* checkpoints checked (expired segments' included) */
    uint64_t size;            /* the signed head's size */
    uint64_t notes;           /* signed checkpoint notes checked (the head's included) */
    uint64_t nodes;           /* stored tree nodes checked */
    uint64_t expired_through; /* entries 1..expired_through were dropped by retention */
    ob_time expired_cutoff;   /* the signed cut-off they were all older than (0: none) */
    ob_log_head head;         /* the signed head, as verified (size 0: an empty log) */
} ob_pglog_report;

/* Reads the whole log and checks it against the public key and the checkpoint interval
 * (both from the operator's configuration, not from the database; every 0 = 4096): seqs
 * 1..n without a gap, each leaf the hash of its stored encoding (whose seq is its own), the
 * chain, a checkpoint at every multiple of `every` and nowhere else, each with its
 * segment's root, chain, newest time and a valid signature, the signed head (its size and
 * chain are the last entry's: entries cut off the end are found), the whole-log tree kept
 * with the head, every signed note (checkpoints' and the head's) against the tree
 * recomputed, and every stored tree node. When retention dropped a prefix, the signed
 * marker must say so: entries then start after it, the dropped segments' signed roots
 * stand for their leaves, and each was older than the marker's cut-off. Every note a
 * witness cosigned (log_pg_cosig) is held to the tree at its size like the checkpoints'
 * (one inside the dropped prefix only at its end). OB_ETAMPER names the first seq that
 * fails. */
ob_status ob_pglog_verify(const char *conninfo, const uint8_t pk[OB_LOG_PK_LEN], uint32_t every,
                          ob_pglog_report *r, ob_err *e);

/* ob_pglog_verify, and then that the log extends `seen`, a signed head recorded earlier
 * (by a witness, or an operator before a backup): seen's signature verifies with pk, the
 * log holds at least seen->size entries, and the chain after entry seen->size is seen's.
 * A restore that lost entries (an old base backup, a WAL archive with a gap) is shorter:
 * OB_ETAMPER, "rolled back"; a log rewritten from an earlier point and grown past the
 * recorded size has another chain there: OB_ETAMPER, "forked". A recorded head inside the
 * prefix retention dropped is compared where a dropped segment ends (its checkpoint signs
 * the chain there); inside a dropped segment there is nothing left to compare it with, and
 * the signed retention marker is all the check can hold to. */
ob_status ob_pglog_verify_extends(const char *conninfo, const uint8_t pk[OB_LOG_PK_LEN],
                                  uint32_t every, const ob_log_head *seen, ob_pglog_report *r,
                                  ob_err *e);

/* --- proofs (the formats of log/proof.h; docs/log.md) --- */

/* The signed checkpoint note of the tree of exactly `size` entries (a segment's checkpoint,
 * the head, or a note a witness cosigned: without its cosignature lines), or with size 0
 * the head's (the newest), into *note (ob_free). OB_ENOTFOUND when there is none of that
 * size; also when there is no log here (no table), so that a witness tells a wiped log from
 * a database it cannot reach (OB_EIO). */
ob_status ob_pglog_note_at(const char *conninfo, uint64_t size, char **note, ob_err *e);
/* The whole-log inclusion proof (overblik-log-proof-v2) of entry seq against the note of
 * `size`, or with size 0 the newest note a witness cosigned that covers the entry (size >=
 * seq), else the head's (which covers every entry). A cosigned note carries its stored
 * cosignature lines after the log's signature, as on SQLite, so a checker can require a
 * witness (log check --witness-key). OB_ENOTFOUND when the entry is not there (never
 * logged, or expired) or no note has that size; OB_EINVAL when seq > size. */
ob_status ob_pglog_prove_note(const char *conninfo, uint64_t seq, uint64_t size, ob_log_proof *out,
                              ob_err *e);
/* The segment proof (overblik-log-proof-v1) of entry seq against its segment's signed
 * checkpoint; OB_ECONFLICT when its segment is still open (prove_note covers it). */
ob_status ob_pglog_prove(const char *conninfo, uint64_t seq, ob_log_proof *out, ob_err *e);
/* RFC 9162 PROOF(m, D[n]) for 0 < m <= n <= the log's size into proof
 * (OB_MERKLE_MAX_CONSISTENCY hashes), *len its length. OB_ENOTFOUND when it needs leaves
 * that retention dropped (m inside an expired segment, not on its boundary). */
ob_status ob_pglog_consistency(const char *conninfo, uint64_t m, uint64_t n,
                               uint8_t (*proof)[OB_LOG_HASH_LEN], size_t *len, ob_err *e);

/* Keeps a witness's cosignature line (one "— name base64\n" line, c2sp tlog-cosignature)
 * of note, the log's signed note of the tree of `size` entries as the witness read it
 * (ob_pglog_note_at; the log's signature line only), so that proofs carry it
 * (ob_pglog_prove_note). A note that is not this log's is refused with OB_ETAMPER: its
 * signature must verify with the key the log was created with (log_pg_meta) under its
 * origin, its size must be `size`, at most the log's, and its root the log's tree root at
 * that size (from the stored tree nodes and leaves the proofs read). OB_EINVAL: a line or
 * note of the wrong shape; OB_ENOTFOUND: no log here, or a size inside the prefix
 * retention dropped (nothing left to check it with). The line's own signature is not
 * checked (the witness's key is the checker's to know; ob_note_open on the proof verifies
 * it); storing the same line twice is a no-op. */
ob_status ob_pglog_add_cosignature(const char *conninfo, uint64_t size, const char *note,
                                   const char *line, ob_err *e);

/* --- retention (R-LOG-5) --- */

/* Drops the oldest partitions of entries whose segments are all sealed and all older than
 * before, in log order, stopping at the first that must be kept, and records the signed
 * marker (the secret key is lg's) in the same transaction. Takes the log's advisory lock,
 * so appends by every server wait for it (at most lock_timeout, 5 s: if a long reader, a
 * verification, holds the table, it fails with OB_EIO and is retried later). *removed (may
 * be NULL) receives the number of entries dropped. */
ob_status ob_pglog_expire(ob_pglog *lg, ob_time before, uint64_t *removed, ob_err *e);

#endif

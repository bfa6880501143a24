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
 * batch reconnects with the same conninfo, so a multi-host URI with
 * target_session_attrs=read-write follows a failover. (An append whose COMMIT answer was
 * lost may still have committed: the log may then hold an entry for an answer never sent,
 * never the reverse.)
 *
 * Not yet here: the search index, proofs, retention and the patient's queries of the SQLite
 * log, and the server's use of it (`serve --db postgresql://...`): the next steps of
 * issue 18. */
#ifndef OB_STORE_LOG_PG_H
#define OB_STORE_LOG_PG_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "log/checkpoint.h"
#include "log/entry.h"

typedef struct ob_pglog ob_pglog;

typedef struct ob_pglog_config {
    uint8_t sk[OB_LOG_SK_LEN]; /* libsodium Ed25519 secret key (seed || pk) */
    uint8_t pk[OB_LOG_PK_LEN]; /* must match sk, and the key the log was created with */
    uint32_t checkpoint_every; /* entries per segment; 0 = 4096; the same on every server
                                * (the first to create the log records it) */
    uint32_t max_batch;        /* most entries in one transaction; 0 = 8192 */
} ob_pglog_config;

/* Connects (libpq conninfo or URI), creates the log's tables if missing (under the same
 * advisory lock, so servers starting together agree) and starts the writer thread. A log
 * created with another public key is refused (OB_ETAMPER). *out is freed by
 * ob_pglog_close. */
ob_status ob_pglog_open(const char *conninfo, const ob_pglog_config *cfg, ob_pglog **out,
                        ob_err *e);
/* Appends n >= 1 entries (borrowed for the call) atomically and waits until they are
 * committed; *first_seq (may be NULL) receives the first's seq, the others follow. On an
 * error nothing of this call was acknowledged. Thread-safe. */
ob_status ob_pglog_append(ob_pglog *lg, const ob_log_entry *entries, size_t n, uint64_t *first_seq,
                          ob_err *e);
/* Stops the writer after the queued appends and disconnects. */
void ob_pglog_close(ob_pglog *lg);

typedef struct ob_pglog_report {
    uint64_t entries;     /* entries read and checked */
    uint64_t checkpoints; /* checkpoints checked */
    uint64_t size;        /* the signed head's size */
    ob_log_head head;     /* the signed head, as verified (size 0: an empty log) */
} ob_pglog_report;

/* Reads the whole log and checks it against the public key and the checkpoint interval
 * (both from the operator's configuration, not from the database; every 0 = 4096): seqs
 * 1..n without a gap, each leaf the hash of its stored encoding (whose seq is its own), the
 * chain, a checkpoint at every multiple of `every` and nowhere else, each with its
 * segment's root, chain, newest time and a valid signature, the signed head (its size and
 * chain are the last entry's: entries cut off the end are found), and the whole-log tree
 * kept with the head. OB_ETAMPER names the first seq that fails. */
ob_status ob_pglog_verify(const char *conninfo, const uint8_t pk[OB_LOG_PK_LEN], uint32_t every,
                          ob_pglog_report *r, ob_err *e);

/* ob_pglog_verify, and then that the log extends `seen`, a signed head recorded earlier
 * (by a witness, or an operator before a backup): seen's signature verifies with pk, the
 * log holds at least seen->size entries, and the chain after entry seen->size is seen's.
 * A restore that lost entries (an old base backup, a WAL archive with a gap) is shorter:
 * OB_ETAMPER, "rolled back"; a log rewritten from an earlier point and grown past the
 * recorded size has another chain there: OB_ETAMPER, "forked". */
ob_status ob_pglog_verify_extends(const char *conninfo, const uint8_t pk[OB_LOG_PK_LEN],
                                  uint32_t every, const ob_log_head *seen, ob_pglog_report *r,
                                  ob_err *e);

#endif

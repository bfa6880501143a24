/* log_index.h - the access log's search index: which entries are about a patient
 * (R-LOG-3) and which were done on behalf of a professional (R-LOG-6), kept in a
 * companion database next to the log (<db>-logindex) and filled by a thread of its own,
 * off the log's commit path.
 *
 * Why a separate file: the patient index is a B-tree keyed by patient, so each new
 * entry lands on a random page of it. Kept inside the log's transactions it was the
 * largest single cost of a durable append (measured: 175k appends/s with it, 280k
 * without; in the HTTP benchmark one 4 KiB index page written and synced per request).
 * In its own database it is written by its own connection, in large sorted batches,
 * without an fsync per batch, while the log's writer goes on committing.
 *
 * The index is derived data. It covers the entries up to its mark `upto` (the seq it
 * has indexed through) and records the leaf hash of that entry; entries after the mark
 * (the last few milliseconds' worth, or everything while it is rebuilt) are found by
 * scanning the log itself, so a query always sees every committed entry. An index
 * whose mark does not match the log (restored from another backup, deleted, damaged)
 * is ignored by readers and rebuilt by the next writer. Nothing here is evidence: the
 * log's own hash chain is (ob_log_verify), and verify also checks that the index
 * leaves out no entry.
 *
 * Threads: ob_log_index_start/stop and notify are called by the log (log_sqlite.c);
 * the reader functions open nothing themselves and work on a connection the caller owns.
 */
#ifndef OB_STORE_LOG_INDEX_H
#define OB_STORE_LOG_INDEX_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

typedef struct ob_log_index ob_log_index;

/* The index database's path for the log at log_path: "<log_path>-logindex". Returns
 * a heap string the caller frees with ob_free, or NULL (out of memory). */
char *ob_log_index_path(const char *log_path);

/* Whether the kernel's boot id can be read. Without it, readers in other transactions
 * (the patients' log views) cannot tell that the index's unsynced writes are still in the
 * kernel, so they trust it only after a clean close and scan the log meanwhile. */
bool ob_log_index_boot_known(void);

/* Removes the index database of the log at log_path and its -wal and -shm files (with
 * no writer running): it is rebuilt from the log by the next writer. */
void ob_log_index_remove(const char *log_path);

/* Opens (creating it if missing) the index of the log at log_path, checks it against
 * the log (an index that does not match, or was built with other era_bits, is emptied,
 * to be rebuilt) and starts the indexing thread. era_bits: entries are indexed in eras
 * of 2^era_bits seqs (log_index.c; 0..40, the log's default is 18). *out is freed by
 * ob_log_index_stop. */
ob_status ob_log_index_start(const char *log_path, int era_bits, ob_log_index **out, ob_err *e);

/* The log committed entries through seq `size`: wakes the indexer if it sleeps. Cheap;
 * called by the log's writer after each commit. */
void ob_log_index_notify(ob_log_index *ix, uint64_t size);

/* Waits until the index covers seq `size` (or it failed: returns its error). */
ob_status ob_log_index_wait(ob_log_index *ix, uint64_t size, ob_err *e);

/* The index's mark and how many of its passes failed since start. */
void ob_log_index_progress(ob_log_index *ix, uint64_t *upto, uint64_t *failures);

/* Stops the thread after its current pass and frees ix. NULL is a no-op. */
void ob_log_index_stop(ob_log_index *ix);

/* --- readers, on a connection to the log's database that the caller owns --- */

/* What a reader may use of the index. */
typedef struct ob_log_index_view {
    bool usable;   /* false: the index file is missing, unreadable or does not match the
                    * log; the caller scans the log */
    uint64_t upto; /* the mark: entries through it are in the index (0 if unusable) */
    int era_bits;  /* rows are keyed (era = seq >> era_bits, key, time, seq) */
} ob_log_index_view;

/* Attaches the index (read-only on a read-only connection) as schema "ix" and opens a
 * read transaction on both, so that the mark and the rows agree, and fills *v. The
 * caller ends the transaction (COMMIT) when done. */
ob_status ob_log_index_attach(sqlite3 *db, const char *log_path, ob_log_index_view *v, ob_err *e);

/* Retention removed the log's entries through seq `through`: drops their index rows.
 * Called with no writer running (the caller holds the log). */
ob_status ob_log_index_expire(const char *log_path, uint64_t through, ob_err *e);

/* Checks that the index leaves out no entry it claims to cover: *missing receives the
 * seq of the first entry at or below the mark with no index row (0 if none). On a
 * connection where ob_log_index_attach said the index is usable. */
ob_status ob_log_index_check(sqlite3 *db, const ob_log_index_view *v, uint64_t *missing, ob_err *e);

#endif

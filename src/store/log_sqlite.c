/* log_sqlite.c - the access log's SQLite shell: group-commit appender, verification,
 * inclusion proofs, retention and queries (log_sqlite.h). The hashing and signing are
 * in src/log/ and are pure; this file only moves bytes between them and the database.
 *
 * ON-DISK FORMAT (tables in the shared database file, WAL mode, synchronous=FULL)
 *
 *   log_meta(key TEXT PRIMARY KEY, value TEXT)
 *       schema_version = "2" (1 had the indexes here), public_key = hex of the Ed25519
 *       public key that signs.
 *
 *   log_entries(seq INTEGER PRIMARY KEY, time, event, capacity, permit, override,
 *               actor_id, actor_name, actor_role, actor_org, actor_org_name,
 *               on_behalf_of, patient, category, resource, purpose, rule,
 *               legal_basis, reason, justification, leaf BLOB)
 *       One row per entry; seq is 1, 2, 3, ... without gaps except a prefix removed by
 *       retention. Strings are never NULL (NULL is stored as ''). leaf is a cache of
 *       SHA-256(0x00 || encoding) (log/hash.h); verification recomputes it from the
 *       columns and so names the exact entry that was edited. No secondary index: the
 *       patient's view (R-LOG-3) and R-LOG-6 are served by the search index in its own
 *       database (store/log_index.h), filled off the commit path.
 *
 *   log_checkpoints(size INTEGER PRIMARY KEY, prev_size, root BLOB, chain BLOB, time,
 *                   max_time, sig BLOB)
 *       One row per segment (prev_size, size]; segments are contiguous from 0. root is
 *       the RFC 6962 Merkle root over the segment's leaves, chain the hash chain after
 *       entry `size`, sig the Ed25519 signature over the message in log/checkpoint.h.
 *       A checkpoint is cut every checkpoint_every entries, on ob_log_checkpoint_now
 *       and on close. Retention deletes entries but never checkpoints.
 *
 *   log_head(id = 1, size, chain BLOB, time, sig BLOB)
 *       The signed tip: rewritten in every batch transaction, so it always matches the
 *       newest entry. It is what makes cutting entries off the end detectable.
 *
 * HASHING. leaf_i = SHA-256(0x00 || encoding_i); chain_i = SHA-256(chain_{i-1} ||
 * leaf_i) with chain_0 = 32 zero bytes. The chain runs across segments, so a retained
 * suffix is verified from the chain value signed in the checkpoint just before it.
 *
 * GROUP COMMIT. Callers put a job (their entries, a SHA-256 state that already holds
 * everything but the seq, optional apply callback) on a queue. A blocking caller
 * (ob_log_append) sleeps on its own semaphore and its job borrows its entries (the
 * callers of a batch are woken as a tree, see complete); an
 * asynchronous caller (ob_log_append_async) gets back at once, its job owning a copy of
 * the entries in one allocation, and is told through its done callback. The one writer
 * thread takes every queued job (up to max_batch entries), runs BEGIN IMMEDIATE; per job
 * SAVEPOINT/apply/RELEASE; assigns seqs, finishes leaves, extends the chain, inserts
 * rows, cuts checkpoints; re-signs the head; COMMIT. Only after COMMIT returned
 * (synchronous=FULL: the WAL is fsynced) are the blocking callers woken and then the
 * done callbacks called in queue order. If COMMIT fails, the in-memory chain state is
 * restored and every caller in the batch gets the error, so no access is answered
 * without its entry. Asynchronous jobs are bounded (max_pending entries); a full queue
 * refuses at once (OB_ELIMIT) instead of blocking, so an event loop is never stalled by
 * the log. WAL checkpoints run on a checkpointer thread with its own connection
 * (PASSIVE, so the writer goes on committing meanwhile): inside the writer's COMMIT a
 * checkpoint held every waiting request for its page writes and two fsyncs of the
 * database file, 35 ms each on the project's VM, which made the HTTP p99. The writer
 * finishes only the last few frames itself (docs/log.md).
 * The writer's connection runs on the ob-walbuf VFS (store/walbuf.h), which writes a
 * commit's WAL frames with one pwrite per 124 KiB instead of two per page; the sync that
 * makes a commit durable writes them out first.
 */
#define _GNU_SOURCE /* sync_file_range, pthread_setname_np */
#include "store/log_sqlite.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdint.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "log/hash.h"
#include "log/merkle.h"
#include "store/log_index.h"
#include "store/walbuf.h"

#define DEFAULT_EVERY     4096
#define DEFAULT_BATCH     8192
#define DEFAULT_BUSY_MS   5000
#define DEFAULT_PENDING   65536
#define DEFAULT_WAL_PAGES 4000
#define DEFAULT_ERA_BITS  18

static const char *const schema_sql =
    "CREATE TABLE IF NOT EXISTS log_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS log_entries(seq INTEGER PRIMARY KEY, time INTEGER NOT NULL,"
    " event INTEGER NOT NULL, capacity INTEGER NOT NULL, permit INTEGER NOT NULL,"
    " override INTEGER NOT NULL, actor_id TEXT NOT NULL, actor_name TEXT NOT NULL,"
    " actor_role TEXT NOT NULL, actor_org TEXT NOT NULL, actor_org_name TEXT NOT NULL,"
    " on_behalf_of TEXT NOT NULL, patient TEXT NOT NULL, category TEXT NOT NULL,"
    " resource TEXT NOT NULL, purpose TEXT NOT NULL, rule TEXT NOT NULL,"
    " legal_basis TEXT NOT NULL, reason TEXT NOT NULL, justification TEXT NOT NULL,"
    " leaf BLOB NOT NULL);"
    /* Version 2: the patient and on-behalf-of indexes moved to the companion index
     * database (store/log_index.h); version 1 had them here. */
    "DROP INDEX IF EXISTS log_entries_patient;"
    "DROP INDEX IF EXISTS log_entries_obo;"
    "CREATE TABLE IF NOT EXISTS log_checkpoints(size INTEGER PRIMARY KEY,"
    " prev_size INTEGER NOT NULL, root BLOB NOT NULL, chain BLOB NOT NULL,"
    " time INTEGER NOT NULL, max_time INTEGER NOT NULL, sig BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS log_head(id INTEGER PRIMARY KEY CHECK (id = 1),"
    " size INTEGER NOT NULL, chain BLOB NOT NULL, time INTEGER NOT NULL, sig BLOB NOT NULL);"
    "INSERT OR IGNORE INTO log_meta VALUES('schema_version', '2');"
    "UPDATE log_meta SET value = '2' WHERE key = 'schema_version';";

/* Columns 0..20 of every entry SELECT, matching row_to_entry. */
#define ENTRY_COLS                                                                                 \
    "seq, time, event, capacity, permit, override, actor_id, actor_name, actor_role,"              \
    " actor_org, actor_org_name, on_behalf_of, patient, category, resource, purpose, rule,"        \
    " legal_basis, reason, justification, leaf"
#define COL_LEAF    20
#define ENTRY_NCOLS 21

/* The writer inserts up to ROWS_MAX = 2^ROWS_LOG2 rows per INSERT statement. */
#define ROWS_LOG2 5
#define ROWS_MAX  (1 << ROWS_LOG2)

/* ------------------------------------------------------------------ helpers */

static ob_status sql_err(sqlite3 *db, ob_err *e, const char *what)
{
    return ob_err_set(e, OB_EIO, "access log: %s: %s", what,
                      db ? sqlite3_errmsg(db) : "no database");
}

static ob_status exec(sqlite3 *db, const char *sql, ob_err *e)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        ob_status st = ob_err_set(e, OB_EIO, "access log: %s", msg ? msg : "database error");
        sqlite3_free(msg);
        return st;
    }
    return OB_OK;
}

/* A read-only connection to a database that nothing can change: a copy on read-only
 * media (a backup on WORM storage, a read-only mount). In WAL mode SQLite must create the
 * -shm file even to read, which such media refuse; as an immutable URI it reads the file
 * alone. Only when there is no -wal file beside it, whose frames it would then miss. */
static sqlite3 *open_immutable(const char *path, const char *vfs)
{
    size_t n = strlen(path);
    char *wal = ob_malloc(n + 5), *uri = ob_malloc(3 * n + 32);
    sqlite3 *db = NULL;
    if (wal && uri) {
        snprintf(wal, n + 5, "%s-wal", path);
        if (access(wal, F_OK) != 0) {
            size_t k = (size_t)snprintf(uri, 3 * n + 32, "file:");
            for (const char *p = path; *p; p++) /* the URI's own characters escaped */
                k += (size_t)(strchr("%?#", *p) ? snprintf(uri + k, 4, "%%%02X", (unsigned char)*p)
                                                : snprintf(uri + k, 2, "%c", *p));
            snprintf(uri + k, 3 * n + 32 - k, "?immutable=1");
            if (sqlite3_open_v2(uri, &db,
                                SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX,
                                vfs) != SQLITE_OK) {
                sqlite3_close(db);
                db = NULL;
            }
        }
    }
    ob_free(wal);
    ob_free(uri);
    return db;
}

/* vfs: NULL for the default one. */
static ob_status open_db(const char *path, bool readonly, int busy_ms, const char *vfs,
                         sqlite3 **out, ob_err *e)
{
    int flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, vfs) != SQLITE_OK) {
        ob_status st = sql_err(db, e, "opening the database");
        sqlite3_close(db);
        return st;
    }
    /* Read-only media: the first read fails for want of the -shm file (open_immutable) */
    if (readonly && sqlite3_exec(db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL) ==
                        SQLITE_CANTOPEN) {
        sqlite3 *imm = open_immutable(path, vfs);
        if (imm) {
            sqlite3_close(db);
            db = imm;
        }
    }
    sqlite3_busy_timeout(db, busy_ms);
    *out = db;
    return OB_OK;
}

static int blob32(sqlite3_stmt *st, int col, uint8_t out[OB_LOG_HASH_LEN])
{
    if (sqlite3_column_bytes(st, col) != OB_LOG_HASH_LEN)
        return -1;
    memcpy(out, sqlite3_column_blob(st, col), OB_LOG_HASH_LEN);
    return 0;
}

static int blob_sig(sqlite3_stmt *st, int col, uint8_t out[OB_LOG_SIG_LEN])
{
    if (sqlite3_column_bytes(st, col) != OB_LOG_SIG_LEN)
        return -1;
    memcpy(out, sqlite3_column_blob(st, col), OB_LOG_SIG_LEN);
    return 0;
}

static const char *col_text(sqlite3_stmt *st, int col)
{
    const unsigned char *s = sqlite3_column_text(st, col);
    return s ? (const char *)s : "";
}

/* Fills e from a row of ENTRY_COLS; strings point into the statement. */
static uint64_t row_to_entry(sqlite3_stmt *st, ob_log_entry *en)
{
    memset(en, 0, sizeof *en);
    en->time = sqlite3_column_int64(st, 1);
    en->event = (uint8_t)sqlite3_column_int(st, 2);
    en->capacity = (uint8_t)sqlite3_column_int(st, 3);
    en->permit = sqlite3_column_int(st, 4) != 0;
    en->override = sqlite3_column_int(st, 5) != 0;
    const char **f[OB_LOG_NFIELDS] = {
        &en->actor_id,       &en->actor_name,    &en->actor_role, &en->actor_org,
        &en->actor_org_name, &en->on_behalf_of,  &en->patient,    &en->category,
        &en->resource,       &en->purpose,       &en->rule,       &en->legal_basis,
        &en->reason,         &en->justification,
    };
    for (int i = 0; i < OB_LOG_NFIELDS; i++)
        *f[i] = col_text(st, 6 + i);
    return (uint64_t)sqlite3_column_int64(st, 0);
}

static int read_checkpoint(sqlite3_stmt *st, ob_log_checkpoint *cp)
{
    /* columns: size, prev_size, root, chain, time, max_time, sig */
    memset(cp, 0, sizeof *cp);
    cp->size = (uint64_t)sqlite3_column_int64(st, 0);
    cp->prev_size = (uint64_t)sqlite3_column_int64(st, 1);
    cp->time = sqlite3_column_int64(st, 4);
    cp->max_time = sqlite3_column_int64(st, 5);
    if (blob32(st, 2, cp->root) || blob32(st, 3, cp->chain) || blob_sig(st, 6, cp->sig))
        return -1;
    return 0;
}

#define CP_COLS "size, prev_size, root, chain, time, max_time, sig"

/* Reads the head row. 1 if present, 0 if absent, -1 on error (malformed counts as
 * present with a zero signature, so verification reports it). */
static int read_head(sqlite3 *db, ob_log_head *h)
{
    sqlite3_stmt *st;
    memset(h, 0, sizeof *h);
    if (sqlite3_prepare_v2(db, "SELECT size, chain, time, sig FROM log_head WHERE id = 1", -1, &st,
                           NULL) != SQLITE_OK)
        return -1;
    int rc = sqlite3_step(st), found = 0;
    if (rc == SQLITE_ROW) {
        found = 1;
        h->size = (uint64_t)sqlite3_column_int64(st, 0);
        h->time = sqlite3_column_int64(st, 2);
        if (blob32(st, 1, h->chain) || blob_sig(st, 3, h->sig))
            memset(h->sig, 0, sizeof h->sig);
    } else if (rc != SQLITE_DONE) {
        found = -1;
    }
    sqlite3_finalize(st);
    return found;
}

static int64_t scalar(sqlite3 *db, const char *sql, int64_t dflt)
{
    sqlite3_stmt *st;
    int64_t v = dflt;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return dflt;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* ------------------------------------------------------------------ writer */

enum { JOB_APPEND, JOB_CHECKPOINT };

struct job {
    int kind;
    const ob_log_entry *entries;
    size_t n;
    ob_sha256_ctx *states;
    ob_log_apply_fn apply;
    void *apply_ctx;
    ob_status st;
    ob_err err;
    uint64_t first_seq;
    /* Blocking jobs live on the caller's stack and the writer posts sem once st is
     * final; asynchronous jobs (done != NULL) are one heap block owned by the queue and
     * freed by the writer after done was called. */
    sem_t sem;
    struct job *wake[2]; /* blocking: the callers this one wakes in turn (see complete) */
    ob_log_done_fn done;
    void *done_ctx;
    struct job *next;
};

struct ob_log {
    char *path;
    sqlite3 *db;
    uint8_t sk[OB_LOG_SK_LEN];
    uint32_t every, max_batch;

    pthread_t thread;
    int64_t commit_ns; /* writer thread: how long the last COMMIT (the fsync) took */
    pthread_mutex_t mu;
    pthread_cond_t wake;
    struct job *qhead, *qtail;
    size_t qjobs;
    size_t want; /* the writer sleeps until qjobs >= want; enqueuers signal only then */
    bool closing;
    size_t pending, max_pending; /* asynchronous entries queued and not yet done */
    int gather_us;               /* -1 off, 0 auto */
    ob_status close_st;
    ob_err close_err;
    ob_log_stats stats;

    /* Writer-thread state: everything needed to extend the chain and cut the next
     * checkpoint. leaves[0] is the leaf of seq seg_prev + 1. */
    uint64_t size, seg_prev;
    uint8_t chain[OB_LOG_HASH_LEN];
    uint8_t (*leaves)[OB_LOG_HASH_LEN];
    size_t nleaves, cap;
    struct job **woken; /* complete()'s list of a batch's blocking jobs */
    size_t woken_cap;
    ob_time seg_max;

    /* Rows assigned a seq but not yet inserted (insert_entry, flush_rows). leaf is an
     * index into leaves, which may move while rows wait. */
    struct pending_row {
        const ob_log_entry *en;
        uint64_t seq;
        size_t leaf;
    } rows[ROWS_MAX];
    size_t nrows;
    sqlite3_stmt *ins_rows[ROWS_LOG2 + 1]; /* ins_rows[k] inserts 2^k rows, prepared on use */

    sqlite3_stmt *ins_cp, *put_head, *begin, *commit, *rollback, *sp, *sp_rollback, *sp_release;

    /* The checkpointer (wal_pages >= 0): woken by the writer's WAL hook under mu. */
    int wal_pages;
    sqlite3 *ckpt_db;
    pthread_t ckpt_thread;
    bool ckpt_started, ckpt_want, ckpt_running;
    int ckpt_backfilled; /* frames the last background pass put back, 0 after the writer's */
    int ckpt_passes;     /* background passes since the writer's last checkpoint */
    pthread_cond_t ckpt_wake;

    ob_log_index *ix; /* the search index's thread (store/log_index.h) */
    int index_era_bits;
};

static ob_status step_done(ob_log *lg, sqlite3_stmt *st, ob_err *e, const char *what)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return sql_err(lg->db, e, what);
    return OB_OK;
}

/* The INSERT of n = 2^k rows: OR FAIL, so that SQLite needs no statement journal for a
 * multi-row statement (an error anywhere rolls the whole batch back, run_batch). */
static sqlite3_stmt *rows_stmt(ob_log *lg, int k)
{
    if (lg->ins_rows[k])
        return lg->ins_rows[k];
    size_t n = (size_t)1 << k, cap = 64 + sizeof ENTRY_COLS + n * (ENTRY_NCOLS * 2 + 4), off;
    char *sql = ob_malloc(cap);
    if (!sql)
        return NULL;
    off = (size_t)snprintf(sql, cap, "INSERT OR FAIL INTO log_entries(" ENTRY_COLS ") VALUES");
    for (size_t r = 0; r < n; r++) {
        sql[off++] = r ? ',' : ' ';
        sql[off++] = '(';
        for (int c = 0; c < ENTRY_NCOLS; c++) {
            if (c)
                sql[off++] = ',';
            sql[off++] = '?';
        }
        sql[off++] = ')';
    }
    sql[off] = '\0';
    if (sqlite3_prepare_v3(lg->db, sql, (int)off, SQLITE_PREPARE_PERSISTENT, &lg->ins_rows[k],
                           NULL) != SQLITE_OK)
        lg->ins_rows[k] = NULL;
    ob_free(sql);
    return lg->ins_rows[k];
}

/* Binds one row at parameters base + 1 .. base + ENTRY_NCOLS. */
static void bind_row(ob_log *lg, sqlite3_stmt *st, int base, const struct pending_row *r)
{
    const ob_log_entry *en = r->en;
    const char *f[OB_LOG_NFIELDS];
    ob_log_entry_fields(en, f);
    sqlite3_bind_int64(st, base + 1, (sqlite3_int64)r->seq);
    sqlite3_bind_int64(st, base + 2, en->time);
    sqlite3_bind_int(st, base + 3, en->event);
    sqlite3_bind_int(st, base + 4, en->capacity);
    sqlite3_bind_int(st, base + 5, en->permit ? 1 : 0);
    sqlite3_bind_int(st, base + 6, en->override ? 1 : 0);
    /* The caller's strings stay valid until its job is done, so no copies. */
    for (int i = 0; i < OB_LOG_NFIELDS; i++)
        sqlite3_bind_text(st, base + 7 + i, f[i], -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, base + 21, lg->leaves[r->leaf], OB_LOG_HASH_LEN, SQLITE_STATIC);
}

/* Inserts the waiting rows, ROWS_MAX, ..., 2, 1 at a time. The per-statement work
 * (cursors opened and freed, allocations, the halt) is then paid once per up to
 * ROWS_MAX rows instead of once per row. Every parameter is bound again for the next
 * use, so no clear_bindings. */
static ob_status flush_rows(ob_log *lg, ob_err *e)
{
    size_t done = 0;
    for (int k = ROWS_LOG2; k >= 0 && done < lg->nrows; k--) {
        size_t n = (size_t)1 << k;
        while (lg->nrows - done >= n) {
            sqlite3_stmt *st = rows_stmt(lg, k);
            if (!st) {
                lg->nrows = 0;
                return sql_err(lg->db, e, "preparing to write entries");
            }
            for (size_t r = 0; r < n; r++)
                bind_row(lg, st, (int)(r * ENTRY_NCOLS), &lg->rows[done + r]);
            ob_status s = step_done(lg, st, e, "writing an entry");
            if (s != OB_OK) {
                lg->nrows = 0;
                return s;
            }
            done += n;
        }
    }
    lg->nrows = 0;
    return OB_OK;
}

/* Queues the row of entry en (leaf = leaves[leaf]); flushes when ROWS_MAX are waiting. */
static ob_status insert_entry(ob_log *lg, const ob_log_entry *en, uint64_t seq, size_t leaf,
                              ob_err *e)
{
    lg->rows[lg->nrows++] = (struct pending_row){.en = en, .seq = seq, .leaf = leaf};
    return lg->nrows == ROWS_MAX ? flush_rows(lg, e) : OB_OK;
}

/* Cuts the checkpoint (seg_prev, size] over leaves[off .. off + size - seg_prev). */
static ob_status cut(ob_log *lg, size_t off, ob_err *e)
{
    ob_log_checkpoint cp = {.prev_size = lg->seg_prev, .size = lg->size};
    ob_merkle_root((const uint8_t(*)[OB_LOG_HASH_LEN])lg->leaves + off, lg->size - lg->seg_prev,
                   cp.root);
    memcpy(cp.chain, lg->chain, OB_LOG_HASH_LEN);
    cp.time = ob_time_now();
    cp.max_time = lg->seg_max;
    ob_log_checkpoint_sign(&cp, lg->sk);
    sqlite3_stmt *st = lg->ins_cp;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)cp.size);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)cp.prev_size);
    sqlite3_bind_blob(st, 3, cp.root, OB_LOG_HASH_LEN, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 4, cp.chain, OB_LOG_HASH_LEN, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 5, cp.time);
    sqlite3_bind_int64(st, 6, cp.max_time);
    sqlite3_bind_blob(st, 7, cp.sig, OB_LOG_SIG_LEN, SQLITE_TRANSIENT);
    ob_status s = step_done(lg, st, e, "writing a checkpoint");
    if (s == OB_OK) {
        lg->seg_prev = lg->size;
        lg->seg_max = OB_TIME_MIN;
    }
    return s;
}

static ob_status write_head(ob_log *lg, ob_err *e)
{
    ob_log_head h = {.size = lg->size, .time = ob_time_now()};
    memcpy(h.chain, lg->chain, OB_LOG_HASH_LEN);
    ob_log_head_sign(&h, lg->sk);
    sqlite3_stmt *st = lg->put_head;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)h.size);
    sqlite3_bind_blob(st, 2, h.chain, OB_LOG_HASH_LEN, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, h.time);
    sqlite3_bind_blob(st, 4, h.sig, OB_LOG_SIG_LEN, SQLITE_TRANSIENT);
    return step_done(lg, st, e, "writing the signed head");
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Runs one batch in one transaction. Sets each job's st; returns the batch status. */
static ob_status run_batch(ob_log *lg, struct job *batch, bool force_cut, uint64_t *nappended,
                           uint64_t *ncuts)
{
    ob_err e = {0};
    uint64_t size0 = lg->size, seg_prev0 = lg->seg_prev;
    size_t nleaves0 = lg->nleaves;
    ob_time seg_max0 = lg->seg_max;
    uint8_t chain0[OB_LOG_HASH_LEN];
    memcpy(chain0, lg->chain, OB_LOG_HASH_LEN);
    ob_status st = step_done(lg, lg->begin, &e, "starting a transaction");
    bool in_tx = st == OB_OK;
    uint64_t cuts = 0;

    for (struct job *j = batch; j && st == OB_OK; j = j->next) {
        if (j->kind == JOB_CHECKPOINT) {
            force_cut = true;
            continue;
        }
        if (j->apply) {
            if ((st = step_done(lg, lg->sp, &e, "opening a savepoint")) != OB_OK)
                break;
            ob_status as = j->apply(j->apply_ctx, lg->db, &j->err);
            if (as != OB_OK) {
                j->st = as;
                if (j->err.code == OB_OK)
                    ob_err_set(&j->err, as, "access log: the change was refused");
                st = step_done(lg, lg->sp_rollback, &e, "rolling back a savepoint");
                if (st == OB_OK)
                    st = step_done(lg, lg->sp_release, &e, "releasing a savepoint");
                continue;
            }
            if ((st = step_done(lg, lg->sp_release, &e, "releasing a savepoint")) != OB_OK)
                break;
        }
        if (ob_grow((void **)&lg->leaves, &lg->cap, lg->nleaves + j->n, OB_LOG_HASH_LEN)) {
            st = ob_err_set(&e, OB_ENOMEM, "access log: out of memory");
            break;
        }
        j->first_seq = lg->size + 1;
        for (size_t i = 0; i < j->n && st == OB_OK; i++) {
            uint64_t seq = ++lg->size;
            size_t li = lg->nleaves++;
            uint8_t *leaf = lg->leaves[li];
            ob_log_leaf_finish(&j->states[i], seq, leaf);
            ob_log_chain_next(lg->chain, leaf, lg->chain);
            if (j->entries[i].time > lg->seg_max)
                lg->seg_max = j->entries[i].time;
            st = insert_entry(lg, &j->entries[i], seq, li, &e);
            if (st == OB_OK && lg->size - lg->seg_prev >= lg->every) {
                st = cut(lg, (size_t)(lg->seg_prev - seg_prev0), &e);
                cuts++;
            }
        }
    }
    if (st == OB_OK)
        st = flush_rows(lg, &e);
    lg->nrows = 0; /* after an error: the rows go with the rollback */
    if (st == OB_OK && force_cut && lg->size > lg->seg_prev) {
        st = cut(lg, (size_t)(lg->seg_prev - seg_prev0), &e);
        cuts++;
    }
    if (st == OB_OK && lg->size != size0)
        st = write_head(lg, &e);
    int64_t c0 = mono_ns();
    if (st == OB_OK)
        st = step_done(lg, lg->commit, &e, "committing");
    lg->commit_ns = mono_ns() - c0;
    if (st != OB_OK) {
        if (in_tx)
            step_done(lg, lg->rollback, NULL, "rolling back");
        lg->size = size0;
        lg->seg_prev = seg_prev0;
        lg->nleaves = nleaves0;
        lg->seg_max = seg_max0;
        memcpy(lg->chain, chain0, OB_LOG_HASH_LEN);
        for (struct job *j = batch; j; j = j->next)
            if (j->st == OB_OK) {
                j->st = st;
                j->err = e;
            }
        return st;
    }
    /* Committed: drop the leaves of segments that were cut. */
    size_t drop = (size_t)(lg->seg_prev - seg_prev0);
    if (drop) {
        memmove(lg->leaves, lg->leaves + drop, (lg->nleaves - drop) * OB_LOG_HASH_LEN);
        lg->nleaves -= drop;
    }
    *nappended = 0;
    for (struct job *j = batch; j; j = j->next)
        if (j->kind == JOB_APPEND && j->st == OB_OK)
            *nappended += j->n;
    *ncuts = cuts;
    return OB_OK;
}

/* Group-commit gathering. The callers woken by one commit come back with their next
 * append a few microseconds later, by which time the writer has usually started the
 * next (small) batch; the load then splits into two half-size groups that alternate,
 * each paying a full fsync. So after a commit the writer expects as many jobs as it
 * just served plus those already waiting, and waits for them, but never longer than a
 * quarter of the last COMMIT's duration (capped at 2 ms): at most that much latency is
 * traded for fewer fsyncs. The bound is the COMMIT (the fsync) alone, not the whole
 * batch: what gathering saves is commits, and with large batches of cheap commits
 * (async windows, fast disks) a bound on the batch's insert time would idle the writer
 * for a quarter of its work. A lone caller is never delayed (target 1). */
static void gather(ob_log *lg, size_t target, int64_t last_commit_ns)
{
    if (lg->gather_us < 0 || target <= 1 || lg->qjobs >= target)
        return;
    int64_t wait = lg->gather_us > 0 ? (int64_t)lg->gather_us * 1000 : last_commit_ns / 4;
    if (wait > 2000000)
        wait = 2000000;
    int64_t deadline = mono_ns() + wait;
    struct timespec ts = {(time_t)(deadline / 1000000000), (long)(deadline % 1000000000)};
    lg->want = target;
    while (lg->qjobs < target && !lg->closing)
        if (pthread_cond_timedwait(&lg->wake, &lg->mu, &ts) == ETIMEDOUT)
            break;
}

/* The log whose writer runs on this thread, so that calls that would wait for the
 * writer can refuse instead of deadlocking when made from a done callback. */
static _Thread_local const ob_log *writer_of;

/* Tells every job of a committed (or failed) batch, outside the lock so that woken
 * callers do not pile up on it.
 *
 * Blocking callers are woken as a binary tree: the writer posts only the first, and
 * caller k, once awake, posts callers 2k+1 and 2k+2 (submit). A wake-up is a system
 * call of a few microseconds on this VM, one per caller, and doing all of them here was
 * most of the writer's serial time per entry with many blocking callers; this way they
 * run on the woken callers' threads, in parallel, with a depth of log2(callers). A
 * caller's job is on its stack and gone as soon as it returns, so its wake pointers are
 * set before the first post and nobody touches a job after posting it.
 *
 * Then the done callbacks of the asynchronous jobs, in queue order, each job freed
 * after its callback. If the array for the tree cannot grow, every caller is posted
 * here directly. */
static void complete(ob_log *lg, struct job *batch)
{
    size_t nb = 0, njobs = 0;
    for (struct job *j = batch; j; j = j->next)
        njobs++;
    bool tree = ob_grow((void **)&lg->woken, &lg->woken_cap, njobs, sizeof *lg->woken) == 0;
    struct job *async = NULL, **tail = &async;
    for (struct job *j = batch, *nx; j; j = nx) {
        nx = j->next;
        if (j->done) {
            *tail = j;
            tail = &j->next;
        } else if (tree) {
            lg->woken[nb++] = j;
        } else {
            sem_post(&j->sem);
        }
    }
    *tail = NULL;
    for (size_t k = 0; k < nb; k++) {
        lg->woken[k]->wake[0] = 2 * k + 1 < nb ? lg->woken[2 * k + 1] : NULL;
        lg->woken[k]->wake[1] = 2 * k + 2 < nb ? lg->woken[2 * k + 2] : NULL;
    }
    if (nb)
        sem_post(&lg->woken[0]->sem);
    for (struct job *j = async, *nx; j; j = nx) {
        nx = j->next;
        if (j->st == OB_OK)
            j->done(j->done_ctx, OB_OK, j->first_seq, NULL);
        else
            j->done(j->done_ctx, j->st, 0, &j->err);
        ob_free(j);
    }
}

const double ob_log_commit_bucket_le[OB_LOG_COMMIT_BUCKETS] = {0.0005, 0.001, 0.002, 0.003,
                                                               0.005,  0.01,  0.025, 0.1};

static void count_commit(ob_log_stats *s, int64_t ns)
{
    size_t b = 0;
    while (b < OB_LOG_COMMIT_BUCKETS && (double)ns > ob_log_commit_bucket_le[b] * 1e9)
        b++;
    s->commit_hist[b]++;
    s->commit_ns_sum += (uint64_t)(ns > 0 ? ns : 0);
}

static void *writer_main(void *arg)
{
    ob_log *lg = arg;
    writer_of = lg;
    pthread_setname_np(pthread_self(), "ob-log-writer"); /* for top -H and the benchmarks */
    size_t target = 0;
    int64_t last_commit_ns = 0;
    pthread_mutex_lock(&lg->mu);
    for (;;) {
        lg->want = 1;
        while (!lg->qhead && !lg->closing)
            pthread_cond_wait(&lg->wake, &lg->mu);
        if (!lg->qhead && lg->closing)
            break;
        gather(lg, target, last_commit_ns);
        lg->want = SIZE_MAX; /* busy: nobody needs to wake the writer */
        /* Take queued jobs up to max_batch entries (at least one job). */
        struct job *batch = lg->qhead, *last = batch;
        size_t n = batch->n, njobs = 1;
        while (last->next && n + last->next->n <= lg->max_batch) {
            last = last->next;
            n += last->n;
            njobs++;
        }
        lg->qhead = last->next;
        if (!lg->qhead)
            lg->qtail = NULL;
        lg->qjobs -= njobs;
        last->next = NULL;
        pthread_mutex_unlock(&lg->mu);

        uint64_t appended = 0, cuts = 0;
        ob_status st = run_batch(lg, batch, false, &appended, &cuts);
        last_commit_ns = lg->commit_ns;
        if (st == OB_OK && appended)
            ob_log_index_notify(lg->ix, lg->size);

        struct timespec cpu;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
        pthread_mutex_lock(&lg->mu);
        lg->stats.writer_cpu_ns = (uint64_t)cpu.tv_sec * 1000000000u + (uint64_t)cpu.tv_nsec;
        if (st == OB_OK) {
            lg->stats.commits++;
            count_commit(&lg->stats, last_commit_ns);
            lg->stats.appended += appended;
            lg->stats.checkpoints += cuts;
            lg->stats.size = lg->size;
            if (appended > lg->stats.max_batch)
                lg->stats.max_batch = appended;
        }
        for (struct job *j = batch; j; j = j->next)
            if (j->st != OB_OK)
                lg->stats.failed++;
        for (struct job *j = batch; j; j = j->next)
            if (j->done)
                lg->pending -= j->n;
        lg->stats.pending = lg->pending;
        target = njobs + lg->qjobs;
        pthread_mutex_unlock(&lg->mu);
        complete(lg, batch);
        pthread_mutex_lock(&lg->mu);
    }
    pthread_mutex_unlock(&lg->mu);
    /* Final checkpoint over whatever is left in the open segment. */
    uint64_t appended = 0, cuts = 0;
    struct job none = {.kind = JOB_CHECKPOINT};
    lg->close_st = OB_OK;
    if (lg->size > lg->seg_prev) {
        lg->close_st = run_batch(lg, &none, true, &appended, &cuts);
        if (lg->close_st != OB_OK)
            lg->close_err = none.err;
    }
    return NULL;
}

/* Puts j on the queue; called with lg->mu held. */
static void enqueue(ob_log *lg, struct job *j)
{
    if (lg->qtail)
        lg->qtail->next = j;
    else
        lg->qhead = j;
    lg->qtail = j;
    /* Signal only when the writer waits for exactly this: saves a wake-up (a context
     * switch) per append while it gathers or commits. */
    if (++lg->qjobs >= lg->want)
        pthread_cond_signal(&lg->wake);
}

static ob_status refuse_on_writer(const ob_log *lg, ob_err *e)
{
    return writer_of == lg ? ob_err_set(e, OB_EINVAL,
                                        "access log: a done callback cannot wait for the log"
                                        " (use ob_log_append_async)")
                           : OB_OK;
}

/* Checks an entry the way every append does. */
static ob_status check_entry(const ob_log_entry *en, ob_err *e)
{
    ob_status st = ob_log_entry_check(en, e);
    if (st == OB_OK && en->event >= OB_EV_COUNT)
        st = ob_err_set(e, OB_EINVAL, "access log: unknown event %u", en->event);
    return st;
}

static void entry_field_ptrs(ob_log_entry *en, const char **f[OB_LOG_NFIELDS])
{
    const char **p[OB_LOG_NFIELDS] = {
        &en->actor_id,       &en->actor_name,    &en->actor_role, &en->actor_org,
        &en->actor_org_name, &en->on_behalf_of,  &en->patient,    &en->category,
        &en->resource,       &en->purpose,       &en->rule,       &en->legal_basis,
        &en->reason,         &en->justification,
    };
    memcpy(f, p, sizeof p);
}

/* Sends a job to the writer and waits for it. */
static ob_status submit(ob_log *lg, struct job *j, ob_err *e)
{
    if (refuse_on_writer(lg, e) != OB_OK)
        return OB_EINVAL;
    if (sem_init(&j->sem, 0, 0) != 0)
        return ob_err_set(e, OB_EINTERNAL, "access log: cannot create a semaphore");
    pthread_mutex_lock(&lg->mu);
    if (lg->closing) {
        pthread_mutex_unlock(&lg->mu);
        sem_destroy(&j->sem);
        return ob_err_set(e, OB_EINVAL, "access log: the log is closing");
    }
    enqueue(lg, j);
    pthread_mutex_unlock(&lg->mu);
    while (sem_wait(&j->sem) != 0 && errno == EINTR)
        ;
    /* Pass the wake-up on (complete); read before this frame can go away. */
    struct job *w0 = j->wake[0], *w1 = j->wake[1];
    if (w0)
        sem_post(&w0->sem);
    if (w1)
        sem_post(&w1->sem);
    sem_destroy(&j->sem);
    if (j->st != OB_OK) {
        if (e)
            *e = j->err;
        return j->st;
    }
    return OB_OK;
}

ob_status ob_log_append(ob_log *lg, const ob_log_entry *entries, size_t n, ob_log_apply_fn apply,
                        void *apply_ctx, uint64_t *first_seq, ob_err *e)
{
    if (!lg || !entries || n == 0)
        return ob_err_set(e, OB_EINVAL, "access log: nothing to append");
    if (n > lg->max_batch)
        return ob_err_set(e, OB_ELIMIT, "access log: %zu entries in one call (limit %u)", n,
                          lg->max_batch);
    ob_sha256_ctx one, *states = &one;
    if (n > 1 && !(states = ob_malloc(n * sizeof *states)))
        return ob_err_set(e, OB_ENOMEM, "access log: out of memory");
    ob_status st = OB_OK;
    /* Hash on the caller's thread so the writer only finishes the last block. */
    for (size_t i = 0; i < n && st == OB_OK; i++) {
        st = check_entry(&entries[i], e);
        if (st == OB_OK)
            ob_log_leaf_begin(&states[i], &entries[i]);
    }
    if (st == OB_OK) {
        struct job j = {.kind = JOB_APPEND,
                        .entries = entries,
                        .n = n,
                        .states = states,
                        .apply = apply,
                        .apply_ctx = apply_ctx};
        st = submit(lg, &j, e);
        if (st == OB_OK && first_seq)
            *first_seq = j.first_seq;
    }
    if (states != &one)
        ob_free(states);
    return st;
}

#define ALIGN_UP(x) (((x) + 15) & ~(size_t)15)

/* An asynchronous job is one allocation, freed by the writer after done:
 *     struct job | SHA-256 states [n] | entries [n] | the entries' strings
 * so that queueing costs one malloc and one free however many fields there are. */
ob_status ob_log_append_async(ob_log *lg, const ob_log_entry *entries, size_t n,
                              ob_log_apply_fn apply, void *apply_ctx, ob_log_done_fn done,
                              void *done_ctx, ob_err *e)
{
    if (!lg || !entries || n == 0 || !done)
        return ob_err_set(e, OB_EINVAL, "access log: nothing to append, or no done callback");
    if (n > lg->max_batch)
        return ob_err_set(e, OB_ELIMIT, "access log: %zu entries in one call (limit %u)", n,
                          lg->max_batch);
    size_t strbytes = 0;
    for (size_t i = 0; i < n; i++) {
        ob_status st = check_entry(&entries[i], e);
        if (st != OB_OK)
            return st;
        const char *f[OB_LOG_NFIELDS];
        ob_log_entry_fields(&entries[i], f);
        for (int k = 0; k < OB_LOG_NFIELDS; k++)
            strbytes += strlen(f[k]) + 1;
    }
    size_t off_states = ALIGN_UP(sizeof(struct job));
    size_t off_entries = ALIGN_UP(off_states + n * sizeof(ob_sha256_ctx));
    size_t off_strings = off_entries + n * sizeof(ob_log_entry);
    char *mem = ob_malloc(off_strings + strbytes);
    if (!mem)
        return ob_err_set(e, OB_ENOMEM, "access log: out of memory");
    struct job *j = (struct job *)(void *)mem;
    ob_sha256_ctx *states = (ob_sha256_ctx *)(void *)(mem + off_states);
    ob_log_entry *copy = (ob_log_entry *)(void *)(mem + off_entries);
    char *p = mem + off_strings;
    for (size_t i = 0; i < n; i++) {
        copy[i] = entries[i];
        const char *src[OB_LOG_NFIELDS], **dst[OB_LOG_NFIELDS];
        ob_log_entry_fields(&entries[i], src);
        entry_field_ptrs(&copy[i], dst);
        for (int k = 0; k < OB_LOG_NFIELDS; k++) {
            size_t len = strlen(src[k]) + 1;
            memcpy(p, src[k], len);
            *dst[k] = p;
            p += len;
        }
        /* Hash on the caller's thread so the writer only finishes the last block. */
        ob_log_leaf_begin(&states[i], &copy[i]);
    }
    *j = (struct job){.kind = JOB_APPEND,
                      .entries = copy,
                      .n = n,
                      .states = states,
                      .apply = apply,
                      .apply_ctx = apply_ctx,
                      .done = done,
                      .done_ctx = done_ctx};
    pthread_mutex_lock(&lg->mu);
    ob_status st = OB_OK;
    if (lg->closing) {
        st = ob_err_set(e, OB_EINVAL, "access log: the log is closing");
    } else if (lg->pending > 0 && lg->pending + n > lg->max_pending) {
        /* An empty queue takes any call up to max_batch, so that a call larger than
         * max_pending (an import) is not refused for ever. */
        lg->stats.refused++;
        st = ob_err_set(e, OB_ELIMIT,
                        "access log: %zu entries already queued (limit %zu); retry when some"
                        " are done",
                        lg->pending, lg->max_pending);
    } else {
        lg->pending += n;
        lg->stats.pending = lg->pending;
        enqueue(lg, j);
    }
    pthread_mutex_unlock(&lg->mu);
    if (st != OB_OK)
        ob_free(mem);
    return st;
}

ob_status ob_log_checkpoint_now(ob_log *lg, ob_err *e)
{
    struct job j = {.kind = JOB_CHECKPOINT};
    return submit(lg, &j, e);
}

void ob_log_get_stats(ob_log *lg, ob_log_stats *out)
{
    pthread_mutex_lock(&lg->mu);
    *out = lg->stats;
    pthread_mutex_unlock(&lg->mu);
    if (lg->ix)
        ob_log_index_progress(lg->ix, &out->indexed, &out->index_failures);
}

ob_status ob_log_wait_indexed(ob_log *lg, ob_err *e)
{
    pthread_mutex_lock(&lg->mu);
    uint64_t size = lg->stats.size;
    pthread_mutex_unlock(&lg->mu);
    return ob_log_index_wait(lg->ix, size, e);
}

const char *ob_log_path(const ob_log *lg)
{
    return lg->path;
}

static void free_log(ob_log *lg)
{
    ob_log_index_stop(lg->ix);
    sqlite3_stmt *sts[] = {lg->ins_cp,   lg->put_head, lg->begin,       lg->commit,
                           lg->rollback, lg->sp,       lg->sp_rollback, lg->sp_release};
    for (size_t i = 0; i < sizeof sts / sizeof sts[0]; i++)
        sqlite3_finalize(sts[i]);
    for (int k = 0; k <= ROWS_LOG2; k++)
        sqlite3_finalize(lg->ins_rows[k]);
    sqlite3_close(lg->ckpt_db);
    sqlite3_close(lg->db);
    sodium_memzero(lg->sk, sizeof lg->sk);
    ob_free(lg->leaves);
    ob_free(lg->woken);
    ob_free(lg->path);
    ob_free(lg);
}

/* Writer thread, after each COMMIT: n frames are in the WAL. A WAL is reused from its
 * start only once every frame is back in the database, which a checkpoint running beside
 * a busy writer never reaches (new frames keep coming). So the work is split: the
 * checkpointer copies the bulk and fsyncs the database off the writer's path, then the
 * writer finishes the few frames committed meanwhile itself (a short write and fsync:
 * 3 ms against 35-50 ms for a whole checkpoint, measured with strace under the HTTP
 * benchmark), and the next transaction starts the WAL afresh. */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int n)
{
    ob_log *lg = arg;
    bool finish = n >= lg->wal_pages * 16; /* the checkpointer does not keep up */
    pthread_mutex_lock(&lg->mu);
    if (!lg->ckpt_running && !lg->ckpt_want) {
        /* another background pass until what is left is small */
        if (lg->ckpt_backfilled > 0 &&
            (n - lg->ckpt_backfilled <= lg->wal_pages / 16 + 1 || lg->ckpt_passes >= 4))
            finish = true;
        else if (n >= lg->wal_pages) {
            lg->ckpt_want = true;
            pthread_cond_signal(&lg->ckpt_wake);
        }
    }
    pthread_mutex_unlock(&lg->mu);
    if (finish) {
        sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        pthread_mutex_lock(&lg->mu);
        lg->ckpt_backfilled = 0;
        lg->ckpt_passes = 0;
        pthread_mutex_unlock(&lg->mu);
    }
    return SQLITE_OK;
}

/* Makes what a checkpoint wrote to the database file durable: written back 1 MiB of
 * the file at a time first, so that the device never holds more than that ahead of the
 * writer's next WAL sync, then fdatasync (any descriptor of the file syncs it). One
 * fsync of a whole checkpoint (16 MB) made the writer's own syncs wait behind it: 1.5%
 * of commits took 8-16 ms (measured). 0 or -1. */
static int sync_database(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct stat sb;
    if (fstat(fd, &sb) == 0)
        for (off_t off = 0; off < sb.st_size; off += 1 << 20)
            if (sync_file_range(fd, off, 1 << 20,
                                SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
                                    SYNC_FILE_RANGE_WAIT_AFTER) != 0)
                break; /* best effort: the fdatasync below is what counts */
    int rc = fdatasync(fd);
    close(fd);
    return rc;
}

static void *ckpt_main(void *arg)
{
    ob_log *lg = arg;
    pthread_setname_np(pthread_self(), "ob-log-ckpt");
    pthread_mutex_lock(&lg->mu);
    for (;;) {
        while (!lg->ckpt_want && !lg->closing)
            pthread_cond_wait(&lg->ckpt_wake, &lg->mu);
        if (lg->closing)
            break;
        lg->ckpt_want = false;
        lg->ckpt_running = true;
        pthread_mutex_unlock(&lg->mu);
        /* BUSY (another checkpoint running, perhaps in another process) is fine: the
         * next commit past the threshold asks again. */
        int nlog = 0, nckpt = 0;
        int rc =
            sqlite3_wal_checkpoint_v2(lg->ckpt_db, NULL, SQLITE_CHECKPOINT_PASSIVE, &nlog, &nckpt);
        /* SQLite syncs the database file only when a checkpoint reaches the WAL's end,
         * which this one, beside the writer, does not: sync here what it wrote, so that
         * the writer's finishing checkpoint flushes only its own few pages. */
        if (rc == SQLITE_OK && nckpt > 0 && sync_database(lg->path) != 0)
            nckpt = 0; /* not synced: leave the whole checkpoint to the writer */
        pthread_mutex_lock(&lg->mu);
        lg->ckpt_running = false;
        lg->ckpt_backfilled = rc == SQLITE_OK && nckpt > 0 ? nckpt : 0;
        lg->ckpt_passes += lg->ckpt_backfilled > 0;
    }
    pthread_mutex_unlock(&lg->mu);
    return NULL;
}

ob_status ob_log_close(ob_log *lg, ob_err *e)
{
    if (!lg)
        return OB_OK;
    if (refuse_on_writer(lg, e) != OB_OK)
        return OB_EINVAL;
    pthread_mutex_lock(&lg->mu);
    lg->closing = true;
    pthread_cond_signal(&lg->wake);
    pthread_cond_signal(&lg->ckpt_wake);
    pthread_mutex_unlock(&lg->mu);
    if (lg->ckpt_started)
        pthread_join(lg->ckpt_thread, NULL);
    pthread_join(lg->thread, NULL);
    pthread_cond_destroy(&lg->ckpt_wake);
    ob_status st = lg->close_st;
    if (st != OB_OK && e)
        *e = lg->close_err;
    pthread_mutex_destroy(&lg->mu);
    pthread_cond_destroy(&lg->wake);
    free_log(lg);
    return st;
}

static ob_status prepare(ob_log *lg, ob_err *e)
{
    struct {
        sqlite3_stmt **st;
        const char *sql;
    } p[] = {
        {&lg->ins_cp, "INSERT INTO log_checkpoints(" CP_COLS ") VALUES(?1, ?2, ?3, ?4, ?5, ?6,"
                      " ?7)"},
        {&lg->put_head, "INSERT OR REPLACE INTO log_head(id, size, chain, time, sig)"
                        " VALUES(1, ?1, ?2, ?3, ?4)"},
        {&lg->begin, "BEGIN IMMEDIATE"},
        {&lg->commit, "COMMIT"},
        {&lg->rollback, "ROLLBACK"},
        {&lg->sp, "SAVEPOINT ob_log_job"},
        {&lg->sp_rollback, "ROLLBACK TO ob_log_job"},
        {&lg->sp_release, "RELEASE ob_log_job"},
    };
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++)
        if (sqlite3_prepare_v3(lg->db, p[i].sql, -1, SQLITE_PREPARE_PERSISTENT, p[i].st, NULL) !=
            SQLITE_OK)
            return sql_err(lg->db, e, "preparing statements");
    return OB_OK;
}

/* Checks the key and loads the open segment so the writer can continue the chain. */
static ob_status recover(ob_log *lg, const uint8_t pk[OB_LOG_PK_LEN], ob_err *e)
{
    char pkhex[2 * OB_LOG_PK_LEN + 1], stored[2 * OB_LOG_PK_LEN + 1] = "";
    ob_log_hex(pk, OB_LOG_PK_LEN, pkhex);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(lg->db, "SELECT value FROM log_meta WHERE key = 'public_key'", -1, &st,
                           NULL) != SQLITE_OK)
        return sql_err(lg->db, e, "reading the log's key");
    if (sqlite3_step(st) == SQLITE_ROW)
        snprintf(stored, sizeof stored, "%s", col_text(st, 0));
    sqlite3_finalize(st);
    if (!stored[0]) {
        char sql[160];
        snprintf(sql, sizeof sql, "INSERT INTO log_meta VALUES('public_key', '%s')", pkhex);
        ob_status s = exec(lg->db, sql, e);
        if (s != OB_OK)
            return s;
    } else if (strcmp(stored, pkhex) != 0) {
        return ob_err_set(e, OB_EINVAL,
                          "access log: the log is signed with another key (public key %.16s...)",
                          stored);
    }

    ob_log_head h;
    int hf = read_head(lg->db, &h);
    if (hf < 0)
        return sql_err(lg->db, e, "reading the signed head");
    uint64_t last_cp = (uint64_t)scalar(lg->db, "SELECT MAX(size) FROM log_checkpoints", 0);
    uint64_t max_seq = (uint64_t)scalar(lg->db, "SELECT MAX(seq) FROM log_entries", 0);
    if (!hf) {
        if (max_seq || last_cp)
            return ob_err_set(e, OB_ETAMPER, "access log: the signed head is missing; run verify");
        return OB_OK;
    }
    if (!ob_log_head_verify(&h, pk))
        return ob_err_set(e, OB_ETAMPER, "access log: the head signature is not valid");
    /* Retention removes whole segments from the front only, so if any entry is left,
     * the newest one is; anything else means the tail was cut or extended. */
    if (last_cp > h.size || max_seq > h.size || (max_seq && max_seq != h.size))
        return ob_err_set(e, OB_ETAMPER,
                          "access log: entries or checkpoints beyond the signed head; run verify");
    lg->size = h.size;
    lg->seg_prev = last_cp;
    memcpy(lg->chain, h.chain, OB_LOG_HASH_LEN);
    if (sqlite3_prepare_v2(lg->db,
                           "SELECT seq, time, leaf FROM log_entries WHERE seq > ?1"
                           " ORDER BY seq",
                           -1, &st, NULL) != SQLITE_OK)
        return sql_err(lg->db, e, "reading the open segment");
    sqlite3_bind_int64(st, 1, (sqlite3_int64)last_cp);
    uint64_t expect = last_cp + 1;
    ob_status s = OB_OK;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if ((uint64_t)sqlite3_column_int64(st, 0) != expect ||
            ob_grow((void **)&lg->leaves, &lg->cap, lg->nleaves + 1, OB_LOG_HASH_LEN) ||
            blob32(st, 2, lg->leaves[lg->nleaves])) {
            s = ob_err_set(e, OB_ETAMPER,
                           "access log: the open segment is damaged at seq %llu; run verify",
                           (unsigned long long)expect);
            break;
        }
        lg->nleaves++;
        ob_time t = sqlite3_column_int64(st, 1);
        if (t > lg->seg_max)
            lg->seg_max = t;
        expect++;
    }
    if (s == OB_OK && rc != SQLITE_DONE)
        s = sql_err(lg->db, e, "reading the open segment");
    sqlite3_finalize(st);
    if (s == OB_OK && expect - 1 != h.size)
        s = ob_err_set(e, OB_ETAMPER, "access log: entries %llu..%llu are missing; run verify",
                       (unsigned long long)expect, (unsigned long long)h.size);
    return s;
}

/* Starts the search index. It is derived data, so an index database that cannot be
 * opened (damaged, or not a database) is removed and built again from the log. */
static ob_status start_index(ob_log *lg, ob_err *e)
{
    if (ob_log_index_start(lg->path, lg->index_era_bits, &lg->ix, NULL) == OB_OK)
        return OB_OK;
    ob_log_index_remove(lg->path);
    return ob_log_index_start(lg->path, lg->index_era_bits, &lg->ix, e);
}

ob_status ob_log_open(const char *db_path, const ob_log_config *cfg, ob_log **out, ob_err *e)
{
    *out = NULL;
    if (sodium_init() < 0)
        return ob_err_set(e, OB_EINTERNAL, "access log: libsodium failed to initialise");
    uint8_t derived[OB_LOG_PK_LEN];
    crypto_sign_ed25519_sk_to_pk(derived, cfg->sk);
    if (sodium_memcmp(derived, cfg->pk, OB_LOG_PK_LEN) != 0)
        return ob_err_set(e, OB_EINVAL, "access log: the public key does not match the secret key");
    ob_log *lg = ob_calloc(1, sizeof *lg);
    if (!lg || !(lg->path = ob_strdup(db_path))) {
        ob_free(lg);
        return ob_err_set(e, OB_ENOMEM, "access log: out of memory");
    }
    memcpy(lg->sk, cfg->sk, OB_LOG_SK_LEN);
    lg->every = cfg->checkpoint_every ? cfg->checkpoint_every : DEFAULT_EVERY;
    lg->max_batch = cfg->max_batch ? cfg->max_batch : DEFAULT_BATCH;
    lg->seg_max = OB_TIME_MIN;
    lg->gather_us = cfg->gather_us;
    lg->max_pending = cfg->max_pending ? cfg->max_pending : DEFAULT_PENDING;
    lg->wal_pages = cfg->wal_pages ? cfg->wal_pages : DEFAULT_WAL_PAGES;
    lg->index_era_bits = cfg->index_era_bits ? cfg->index_era_bits : DEFAULT_ERA_BITS;
    /* The writer's connection gathers its WAL writes (store/walbuf.h); readers and
     * other connections use the default VFS. */
    ob_status st = ob_walbuf_register() == SQLITE_OK
                       ? OB_OK
                       : ob_err_set(e, OB_EINTERNAL, "access log: cannot register the WAL VFS");
    if (st == OB_OK)
        st = open_db(db_path, false, cfg->busy_timeout_ms ? cfg->busy_timeout_ms : DEFAULT_BUSY_MS,
                     OB_WALBUF_VFS, &lg->db, e);
    if (st == OB_OK)
        st = exec(lg->db,
                  "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                  " PRAGMA wal_autocheckpoint=4000; PRAGMA cache_size=-32768;",
                  e);
    if (st == OB_OK)
        st = exec(lg->db, "BEGIN IMMEDIATE", e);
    if (st == OB_OK) {
        st = exec(lg->db, schema_sql, e);
        if (st == OB_OK)
            st = recover(lg, cfg->pk, e);
        if (st == OB_OK)
            st = exec(lg->db, "COMMIT", e);
        else
            exec(lg->db, "ROLLBACK", NULL);
    }
    if (st == OB_OK)
        st = prepare(lg, e);
    if (st == OB_OK)
        st = start_index(lg, e);
    if (st == OB_OK && lg->wal_pages > 0) { /* the checkpointer's own connection */
        st = open_db(db_path, false, cfg->busy_timeout_ms ? cfg->busy_timeout_ms : DEFAULT_BUSY_MS,
                     NULL, &lg->ckpt_db, e);
        if (st == OB_OK)
            st = exec(lg->ckpt_db, "PRAGMA synchronous=FULL; PRAGMA wal_autocheckpoint=0", e);
        if (st == OB_OK)
            sqlite3_wal_hook(lg->db, wal_hook, lg); /* replaces the automatic checkpoint */
    }
    if (st == OB_OK) {
        lg->stats.size = lg->size;
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_mutex_init(&lg->mu, NULL);
        pthread_cond_init(&lg->wake, &ca);
        pthread_cond_init(&lg->ckpt_wake, NULL);
        pthread_condattr_destroy(&ca);
        if (lg->ckpt_db && pthread_create(&lg->ckpt_thread, NULL, ckpt_main, lg) != 0)
            st = ob_err_set(e, OB_EINTERNAL, "access log: cannot start the checkpointer thread");
        else
            lg->ckpt_started = lg->ckpt_db != NULL;
        if (st == OB_OK && pthread_create(&lg->thread, NULL, writer_main, lg) != 0) {
            st = ob_err_set(e, OB_EINTERNAL, "access log: cannot start the writer thread");
            if (lg->ckpt_started) {
                pthread_mutex_lock(&lg->mu);
                lg->closing = true;
                pthread_cond_signal(&lg->ckpt_wake);
                pthread_mutex_unlock(&lg->mu);
                pthread_join(lg->ckpt_thread, NULL);
            }
        }
        if (st != OB_OK) {
            pthread_mutex_destroy(&lg->mu);
            pthread_cond_destroy(&lg->wake);
            pthread_cond_destroy(&lg->ckpt_wake);
        }
    }
    if (st != OB_OK) {
        free_log(lg);
        return st;
    }
    *out = lg;
    return OB_OK;
}

/* ------------------------------------------------------------------ verification */

const char *ob_log_fault_name(ob_log_fault f)
{
    switch (f) {
    case OB_LOG_FAULT_NONE:
        return "none";
    case OB_LOG_FAULT_CHANGED:
        return "changed";
    case OB_LOG_FAULT_REMOVED:
        return "removed";
    case OB_LOG_FAULT_REORDERED:
        return "reordered";
    case OB_LOG_FAULT_INSERTED:
        return "inserted";
    case OB_LOG_FAULT_TRUNCATED:
        return "truncated";
    case OB_LOG_FAULT_BAD_SIGNATURE:
        return "bad_signature";
    case OB_LOG_FAULT_BAD_SEGMENT:
        return "bad_segment";
    case OB_LOG_FAULT_NO_HEAD:
        return "no_head";
    case OB_LOG_FAULT_UNINDEXED:
        return "unindexed";
    }
    return "unknown";
}

static ob_status fault(ob_log_verify_report *r, ob_err *e, ob_log_fault f, uint64_t seq,
                       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static ob_status fault(ob_log_verify_report *r, ob_err *e, ob_log_fault f, uint64_t seq,
                       const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->detail, sizeof r->detail, fmt, ap);
    va_end(ap);
    r->fault = f;
    r->bad_seq = seq;
    return ob_err_set(e, OB_ETAMPER, "access log verification failed: %s at seq %llu: %s",
                      ob_log_fault_name(f), (unsigned long long)seq, r->detail);
}

struct seqleaf {
    uint64_t seq;
    uint8_t leaf[OB_LOG_HASH_LEN];
};

/* The position whose leaf the content of en hashes to: either the row's own stored leaf
 * (the whole row was moved) or the stored leaf of the row at that position (only the
 * content was moved). 0 when none. */
static uint64_t home_of(const ob_log_entry *en, const uint8_t own[OB_LOG_HASH_LEN],
                        const struct seqleaf *all, size_t n, uint64_t skip)
{
    ob_sha256_ctx base, st;
    ob_log_leaf_begin(&base, en);
    for (size_t k = 0; k < n; k++) {
        if (all[k].seq == skip)
            continue;
        uint8_t h[OB_LOG_HASH_LEN];
        st = base;
        ob_log_leaf_finish(&st, all[k].seq, h);
        if (memcmp(h, own, OB_LOG_HASH_LEN) == 0 || memcmp(h, all[k].leaf, OB_LOG_HASH_LEN) == 0)
            return all[k].seq;
    }
    return 0;
}

/* Called on the first row whose content does not hash to its position: works out
 * whether it was edited, moved, inserted, or is there because an earlier one was
 * removed and the rest renumbered. Best effort; the seq is what counts. */
static ob_status classify(sqlite3 *db, uint64_t seq, ob_log_verify_report *r, ob_err *e)
{
    sqlite3_stmt *st = NULL;
    struct seqleaf *all = NULL;
    size_t n = 0, cap = 0;
    if (sqlite3_prepare_v2(db, "SELECT seq, leaf FROM log_entries ORDER BY seq", -1, &st, NULL) !=
        SQLITE_OK)
        return sql_err(db, e, "verifying");
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (ob_grow((void **)&all, &cap, n + 1, sizeof *all)) {
            sqlite3_finalize(st);
            ob_free(all);
            return ob_err_set(e, OB_ENOMEM, "access log: out of memory verifying");
        }
        all[n].seq = (uint64_t)sqlite3_column_int64(st, 0);
        if (blob32(st, 1, all[n].leaf))
            memset(all[n].leaf, 0, OB_LOG_HASH_LEN);
        n++;
    }
    sqlite3_finalize(st);
    uint64_t home = 0, next_home = 0;
    bool have_next = false;
    if (sqlite3_prepare_v2(db,
                           "SELECT " ENTRY_COLS " FROM log_entries WHERE seq IN (?1, ?2)"
                           " ORDER BY seq",
                           -1, &st, NULL) != SQLITE_OK) {
        ob_free(all);
        return sql_err(db, e, "verifying");
    }
    sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)seq + 1);
    while (sqlite3_step(st) == SQLITE_ROW) {
        ob_log_entry en;
        uint8_t own[OB_LOG_HASH_LEN] = {0};
        uint64_t s = row_to_entry(st, &en);
        blob32(st, COL_LEAF, own);
        if (s == seq) {
            home = home_of(&en, own, all, n, seq);
        } else {
            have_next = true;
            /* Does the next row hold what belongs at seq (everything shifted up)? */
            uint8_t h[OB_LOG_HASH_LEN];
            ob_log_leaf_hash(&en, seq, h);
            if (memcmp(h, own, OB_LOG_HASH_LEN) == 0)
                next_home = seq;
            for (size_t k = 0; k < n && !next_home; k++)
                if (all[k].seq == seq && memcmp(h, all[k].leaf, OB_LOG_HASH_LEN) == 0)
                    next_home = seq;
        }
    }
    sqlite3_finalize(st);
    ob_free(all);
    if (home == seq + 1)
        return fault(r, e, OB_LOG_FAULT_REMOVED, seq,
                     "entry %llu was removed and the later entries renumbered",
                     (unsigned long long)seq);
    if (home)
        return fault(r, e, OB_LOG_FAULT_REORDERED, seq,
                     "position %llu holds entry %llu (entries were reordered)",
                     (unsigned long long)seq, (unsigned long long)home);
    if (have_next && next_home == seq)
        return fault(r, e, OB_LOG_FAULT_INSERTED, seq,
                     "an entry that was never logged was inserted at position %llu",
                     (unsigned long long)seq);
    return fault(r, e, OB_LOG_FAULT_CHANGED, seq,
                 "entry %llu does not hash to its logged value (a field was changed)",
                 (unsigned long long)seq);
}

static ob_status verify_db(sqlite3 *db, const uint8_t pk[OB_LOG_PK_LEN], ob_log_verify_report *r,
                           ob_err *e)
{
    ob_log_checkpoint *cps = NULL;
    size_t ncp = 0, cpcap = 0;
    uint8_t(*seg)[OB_LOG_HASH_LEN] = NULL;
    size_t nseg = 0, segcap = 0;
    sqlite3_stmt *st = NULL;
    ob_status s = OB_OK;

    /* 1. Checkpoints: each signed, contiguous from 0. */
    if (sqlite3_prepare_v2(db, "SELECT " CP_COLS " FROM log_checkpoints ORDER BY size", -1, &st,
                           NULL) != SQLITE_OK) {
        s = sql_err(db, e, "reading checkpoints");
        goto out;
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (ob_grow((void **)&cps, &cpcap, ncp + 1, sizeof *cps)) {
            s = ob_err_set(e, OB_ENOMEM, "access log: out of memory verifying");
            goto out;
        }
        ob_log_checkpoint *cp = &cps[ncp];
        uint64_t expect_prev = ncp ? cps[ncp - 1].size : 0;
        if (read_checkpoint(st, cp) || !ob_log_checkpoint_verify(cp, pk)) {
            s = fault(r, e, OB_LOG_FAULT_BAD_SIGNATURE, cp->prev_size + 1,
                      "the checkpoint of entries (%llu, %llu] is not validly signed",
                      (unsigned long long)cp->prev_size, (unsigned long long)cp->size);
            goto out;
        }
        if (cp->prev_size != expect_prev) {
            s = fault(r, e, OB_LOG_FAULT_REMOVED, expect_prev + 1,
                      "the checkpoint of entries (%llu, %llu] is missing",
                      (unsigned long long)expect_prev, (unsigned long long)cp->prev_size);
            goto out;
        }
        ncp++;
    }
    sqlite3_finalize(st);
    st = NULL;
    r->checkpoints = ncp;
    uint64_t last_cp = ncp ? cps[ncp - 1].size : 0;

    /* 2. The signed head. */
    ob_log_head h;
    int hf = read_head(db, &h);
    uint64_t min_seq = (uint64_t)scalar(db, "SELECT MIN(seq) FROM log_entries", 0);
    uint64_t max_seq = (uint64_t)scalar(db, "SELECT MAX(seq) FROM log_entries", 0);
    if (hf < 0) {
        s = sql_err(db, e, "reading the signed head");
        goto out;
    }
    if (!hf) {
        if (min_seq || ncp)
            s = fault(r, e, OB_LOG_FAULT_NO_HEAD, last_cp + 1, "the signed head is missing");
        goto out;
    }
    if (!ob_log_head_verify(&h, pk)) {
        s = fault(r, e, OB_LOG_FAULT_BAD_SIGNATURE, h.size, "the head signature is not valid");
        goto out;
    }
    if (h.size < last_cp) {
        s = fault(r, e, OB_LOG_FAULT_TRUNCATED, h.size + 1,
                  "the signed head (%llu) is older than the newest checkpoint (%llu)",
                  (unsigned long long)h.size, (unsigned long long)last_cp);
        goto out;
    }
    r->last_seq = h.size;

    /* 3. Where the retained entries start: right after a checkpoint (retention removes
     * whole segments from the front), continuing the chain signed there. */
    uint64_t start = min_seq ? min_seq : h.size + 1;
    size_t k = 0; /* first checkpoint not entirely expired */
    r->expired_max_time = OB_TIME_MIN;
    while (k < ncp && cps[k].size < start) {
        if (cps[k].max_time > r->expired_max_time)
            r->expired_max_time = cps[k].max_time;
        k++;
    }
    uint64_t seg_start = k ? cps[k - 1].size : 0;
    if (start - 1 != seg_start) {
        /* Entries before start are missing but were not removed as whole segments. */
        s = fault(r, e, min_seq ? OB_LOG_FAULT_REMOVED : OB_LOG_FAULT_TRUNCATED, seg_start + 1,
                  "entries %llu..%llu are missing", (unsigned long long)seg_start + 1,
                  (unsigned long long)start - 1);
        goto out;
    }
    r->expired_through = seg_start;
    r->first_seq = min_seq;
    uint8_t chain[OB_LOG_HASH_LEN] = {0};
    if (k)
        memcpy(chain, cps[k - 1].chain, OB_LOG_HASH_LEN);

    /* 4. Every retained entry, in order: its content must hash to its position, the
     * chain must reach every checkpoint and the head, each segment's root must match. */
    if (sqlite3_prepare_v2(db, "SELECT " ENTRY_COLS " FROM log_entries ORDER BY seq", -1, &st,
                           NULL) != SQLITE_OK) {
        s = sql_err(db, e, "reading entries");
        goto out;
    }
    uint64_t expect = start;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        ob_log_entry en;
        uint64_t seq = row_to_entry(st, &en);
        uint8_t stored[OB_LOG_HASH_LEN] = {0}, leaf[OB_LOG_HASH_LEN];
        if (seq != expect) {
            s = fault(r, e, OB_LOG_FAULT_REMOVED, expect, "entry %llu is missing",
                      (unsigned long long)expect);
            goto out;
        }
        if (seq > h.size) {
            s = fault(r, e, OB_LOG_FAULT_INSERTED, seq,
                      "entry %llu is beyond the signed head (%llu)", (unsigned long long)seq,
                      (unsigned long long)h.size);
            goto out;
        }
        blob32(st, COL_LEAF, stored);
        ob_log_leaf_hash(&en, seq, leaf);
        if (memcmp(leaf, stored, OB_LOG_HASH_LEN) != 0) {
            sqlite3_finalize(st);
            st = NULL;
            s = classify(db, seq, r, e);
            goto out;
        }
        ob_log_chain_next(chain, leaf, chain);
        if (ob_grow((void **)&seg, &segcap, nseg + 1, OB_LOG_HASH_LEN)) {
            s = ob_err_set(e, OB_ENOMEM, "access log: out of memory verifying");
            goto out;
        }
        memcpy(seg[nseg++], leaf, OB_LOG_HASH_LEN);
        r->entries++;
        if (k < ncp && seq == cps[k].size) {
            uint8_t root[OB_LOG_HASH_LEN];
            ob_merkle_root((const uint8_t(*)[OB_LOG_HASH_LEN])seg, nseg, root);
            if (memcmp(root, cps[k].root, OB_LOG_HASH_LEN) != 0 ||
                memcmp(chain, cps[k].chain, OB_LOG_HASH_LEN) != 0) {
                s = fault(r, e, OB_LOG_FAULT_BAD_SEGMENT, cps[k].prev_size + 1,
                          "entries (%llu, %llu] do not match their signed checkpoint (an entry"
                          " in it was changed together with its stored hash)",
                          (unsigned long long)cps[k].prev_size, (unsigned long long)cps[k].size);
                goto out;
            }
            nseg = 0;
            k++;
        }
        expect++;
    }
    if (rc != SQLITE_DONE) {
        s = sql_err(db, e, "reading entries");
        goto out;
    }
    if (expect - 1 < h.size) {
        s = fault(r, e, OB_LOG_FAULT_TRUNCATED, expect,
                  "entries %llu..%llu are missing from the end (the signed head has %llu)",
                  (unsigned long long)expect, (unsigned long long)h.size,
                  (unsigned long long)h.size);
        goto out;
    }
    if (memcmp(chain, h.chain, OB_LOG_HASH_LEN) != 0) {
        s = fault(r, e, OB_LOG_FAULT_BAD_SEGMENT, last_cp + 1,
                  "entries (%llu, %llu] do not match the signed head", (unsigned long long)last_cp,
                  (unsigned long long)h.size);
        goto out;
    }
    (void)max_seq;
out:
    sqlite3_finalize(st);
    ob_free(cps);
    ob_free(seg);
    return s;
}

ob_status ob_log_verify(const char *db_path, const uint8_t pk[OB_LOG_PK_LEN],
                        ob_log_verify_report *r, ob_err *e)
{
    memset(r, 0, sizeof *r);
    r->expired_max_time = OB_TIME_MIN;
    if (sodium_init() < 0)
        return ob_err_set(e, OB_EINTERNAL, "access log: libsodium failed to initialise");
    sqlite3 *db = NULL;
    ob_status s = open_db(db_path, true, DEFAULT_BUSY_MS, NULL, &db, e);
    if (s != OB_OK)
        return s;
    /* One read transaction over the log and its index: a consistent snapshot even
     * while the writer appends. */
    ob_log_index_view ixv;
    s = ob_log_index_attach(db, db_path, &ixv, e);
    if (s == OB_OK) {
        s = verify_db(db, pk, r, e);
        uint64_t missing = 0;
        if (s == OB_OK && ixv.usable && (s = ob_log_index_check(db, &ixv, &missing, e)) == OB_OK) {
            r->indexed_through = ixv.upto;
            if (missing)
                s = fault(r, e, OB_LOG_FAULT_UNINDEXED, missing,
                          "entry %llu is missing from the search index, so queries would not"
                          " show it; stop the server, delete %s-logindex and start it to"
                          " rebuild the index",
                          (unsigned long long)missing, db_path);
        }
        exec(db, "COMMIT", NULL);
    }
    sqlite3_close(db);
    return s;
}

/* ------------------------------------------------------------------ proofs */

ob_status ob_log_prove(const char *db_path, uint64_t seq, ob_log_proof *out, ob_err *e)
{
    memset(out, 0, sizeof *out);
    ob_log_proof_free(out);
    sqlite3 *db = NULL;
    ob_status s = open_db(db_path, true, DEFAULT_BUSY_MS, NULL, &db, e);
    if (s != OB_OK)
        return s;
    sqlite3_stmt *st = NULL;
    uint8_t(*leaves)[OB_LOG_HASH_LEN] = NULL;
    if ((s = exec(db, "BEGIN", e)) != OB_OK)
        goto out;
    if (sqlite3_prepare_v2(db,
                           "SELECT " CP_COLS " FROM log_checkpoints WHERE size >= ?1"
                           " ORDER BY size LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK) {
        s = sql_err(db, e, "reading checkpoints");
        goto out;
    }
    sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
    int rc = sqlite3_step(st);
    bool found = rc == SQLITE_ROW;
    if (found && read_checkpoint(st, &out->cp)) {
        s = ob_err_set(e, OB_ETAMPER, "access log: a checkpoint row is malformed");
        goto out;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (!found || out->cp.prev_size >= seq) {
        ob_log_head h;
        if (seq >= 1 && read_head(db, &h) == 1 && seq <= h.size && !found)
            s = ob_err_set(e, OB_ECONFLICT,
                           "access log: entry %llu is not yet covered by a checkpoint; it will"
                           " be at the next checkpoint (or force one)",
                           (unsigned long long)seq);
        else
            s = ob_err_set(e, OB_ENOTFOUND, "access log: no entry %llu", (unsigned long long)seq);
        goto out;
    }
    uint64_t n = out->cp.size - out->cp.prev_size;
    if (!(leaves = ob_malloc(n * OB_LOG_HASH_LEN))) {
        s = ob_err_set(e, OB_ENOMEM, "access log: out of memory");
        goto out;
    }
    if (sqlite3_prepare_v2(db,
                           "SELECT " ENTRY_COLS " FROM log_entries WHERE seq > ?1"
                           " AND seq <= ?2 ORDER BY seq",
                           -1, &st, NULL) != SQLITE_OK) {
        s = sql_err(db, e, "reading entries");
        goto out;
    }
    sqlite3_bind_int64(st, 1, (sqlite3_int64)out->cp.prev_size);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)out->cp.size);
    uint64_t got = 0;
    bool have = false;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && got < n) {
        ob_log_entry en;
        uint64_t s_ = row_to_entry(st, &en);
        if (s_ != out->cp.prev_size + 1 + got)
            break;
        if (blob32(st, COL_LEAF, leaves[got]))
            break;
        if (s_ == seq) {
            if ((s = ob_log_proof_set_entry(out, &en, e)) != OB_OK)
                goto out;
            have = true;
        }
        got++;
    }
    if (!have) {
        s = ob_err_set(e, OB_ENOTFOUND, "access log: entry %llu is not retained",
                       (unsigned long long)seq);
        goto out;
    }
    if (got != n) {
        s = ob_err_set(e, OB_ETAMPER,
                       "access log: the segment of entry %llu is incomplete; run verify",
                       (unsigned long long)seq);
        goto out;
    }
    out->seq = seq;
    out->index = seq - out->cp.prev_size - 1;
    out->tree_size = n;
    memcpy(out->leaf, leaves[out->index], OB_LOG_HASH_LEN);
    out->path_len =
        ob_merkle_path((const uint8_t(*)[OB_LOG_HASH_LEN])leaves, n, out->index, out->path);
out:
    sqlite3_finalize(st);
    exec(db, "COMMIT", NULL);
    sqlite3_close(db);
    ob_free(leaves);
    if (s != OB_OK)
        ob_log_proof_free(out);
    return s;
}

/* ------------------------------------------------------------------ retention */

ob_status ob_log_expire(const char *db_path, ob_time before, uint64_t *removed, ob_err *e)
{
    if (removed)
        *removed = 0;
    sqlite3 *db = NULL;
    ob_status s = open_db(db_path, false, DEFAULT_BUSY_MS, NULL, &db, e);
    if (s != OB_OK)
        return s;
    sqlite3_stmt *st = NULL;
    if ((s = exec(db, "PRAGMA synchronous=FULL; BEGIN IMMEDIATE", e)) != OB_OK)
        goto done;
    /* The newest segment end such that it and every segment before it is all older
     * than the cutoff: retention only ever removes a prefix, so a gap anywhere else is
     * still reported as tampering. */
    if (sqlite3_prepare_v2(db, "SELECT size, max_time FROM log_checkpoints ORDER BY size", -1, &st,
                           NULL) != SQLITE_OK) {
        s = sql_err(db, e, "reading checkpoints");
        goto rollback;
    }
    uint64_t upto = 0;
    while (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 1) < before)
        upto = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    st = NULL;
    if (upto) {
        if (sqlite3_prepare_v2(db, "DELETE FROM log_entries WHERE seq <= ?1", -1, &st, NULL) !=
            SQLITE_OK) {
            s = sql_err(db, e, "expiring entries");
            goto rollback;
        }
        sqlite3_bind_int64(st, 1, (sqlite3_int64)upto);
        if (sqlite3_step(st) != SQLITE_DONE) {
            s = sql_err(db, e, "expiring entries");
            goto rollback;
        }
        if (removed)
            *removed = (uint64_t)sqlite3_changes(db);
        sqlite3_finalize(st);
        st = NULL;
    }
    s = exec(db, "COMMIT", e);
    if (s == OB_OK) {
        /* The index is derived: if this fails it still holds rows of removed entries
         * (which match nothing) or a mark readers and the next writer reject, so the
         * removal stands either way. */
        if (upto)
            ob_log_index_expire(db_path, upto, NULL);
        goto done;
    }
rollback:
    sqlite3_finalize(st);
    st = NULL;
    exec(db, "ROLLBACK", NULL);
done:
    sqlite3_finalize(st);
    sqlite3_close(db);
    return s;
}

/* ------------------------------------------------------------------ queries */

ob_status ob_log_each(const char *db_path, const ob_log_query *q, ob_log_record_fn fn, void *ctx,
                      ob_err *e)
{
    if (!q->patient && !q->on_behalf_of && !q->actor_id)
        return ob_err_set(e, OB_EINVAL,
                          "access log: query needs a patient, a professional or"
                          " an actor");
    sqlite3 *db = NULL;
    ob_status s = open_db(db_path, true, DEFAULT_BUSY_MS, NULL, &db, e);
    if (s != OB_OK)
        return s;
    ob_log_index_view ixv;
    if ((s = ob_log_index_attach(db, db_path, &ixv, e)) != OB_OK) {
        sqlite3_close(db);
        return s;
    }
    /* Only fixed fragments go into the SQL text; all values are bound. The filter on
     * the log's own columns applies to indexed entries too: an index row only proposes
     * a seq, so a row whose entry was changed behind the log's back matches nothing. */
    char where[256], sql[1536];
    const char *dir = q->newest_first ? "DESC" : "ASC";
    snprintf(where, sizeof where, "%s%s%s AND time >= ?4%s", q->patient ? " AND patient = ?1" : "",
             q->on_behalf_of ? " AND on_behalf_of = ?2 AND on_behalf_of <> ''" : "",
             q->actor_id ? " AND actor_id = ?3" : "", q->to ? " AND time < ?5" : "");
    if (ixv.usable && (q->patient || q->on_behalf_of)) {
        /* Entries through the index's mark come from it, later ones from a scan of the
         * log's tail (log_index.h); the two sets do not overlap. The index is sought once
         * per era (?8 = the mark's era). When the index's key is the only filter, the
         * limit also bounds what is read through the index. */
        bool alone = !!q->patient + !!q->on_behalf_of + !!q->actor_id == 1;
        snprintf(sql, sizeof sql,
                 "SELECT " ENTRY_COLS " FROM log_entries WHERE seq IN (SELECT seq FROM ix.%s"
                 " WHERE era IN (WITH RECURSIVE e(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM e"
                 " WHERE x < ?8) SELECT x FROM e)"
                 " AND %s AND time >= ?4%s AND seq <= ?7 ORDER BY time %s, seq %s%s)%s"
                 " UNION ALL SELECT " ENTRY_COLS " FROM log_entries WHERE seq > ?7%s"
                 " ORDER BY time %s, seq %s%s",
                 q->patient ? "ix_patient" : "ix_obo",
                 q->patient ? "patient = ?1" : "on_behalf_of = ?2", q->to ? " AND time < ?5" : "",
                 dir, dir, alone && q->limit ? " LIMIT ?6" : "", where, where, dir, dir,
                 q->limit ? " LIMIT ?6" : "");
    } else {
        snprintf(sql, sizeof sql,
                 "SELECT " ENTRY_COLS " FROM log_entries WHERE 1%s ORDER BY time %s, seq %s%s",
                 where, dir, dir, q->limit ? " LIMIT ?6" : "");
    }
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        s = sql_err(db, e, "querying the log");
        sqlite3_close(db);
        return s;
    }
    sqlite3_bind_int64(st, 7, (sqlite3_int64)ixv.upto);
    sqlite3_bind_int64(st, 8, (sqlite3_int64)(ixv.upto >> ixv.era_bits));
    if (q->patient)
        sqlite3_bind_text(st, 1, q->patient, -1, SQLITE_STATIC);
    if (q->on_behalf_of)
        sqlite3_bind_text(st, 2, q->on_behalf_of, -1, SQLITE_STATIC);
    if (q->actor_id)
        sqlite3_bind_text(st, 3, q->actor_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, q->from);
    if (q->to)
        sqlite3_bind_int64(st, 5, q->to);
    if (q->limit)
        sqlite3_bind_int64(st, 6, (sqlite3_int64)q->limit);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        ob_log_record rec;
        rec.seq = row_to_entry(st, &rec.entry);
        if ((s = fn(ctx, &rec, e)) != OB_OK)
            break;
    }
    if (s == OB_OK && rc != SQLITE_DONE)
        s = sql_err(db, e, "querying the log");
    sqlite3_finalize(st);
    exec(db, "COMMIT", NULL);
    sqlite3_close(db);
    return s;
}

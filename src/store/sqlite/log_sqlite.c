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
 *       database (store/sqlite/log_index.h), filled off the commit path.
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
 * The writer's connection runs on the ob-walbuf VFS (store/sqlite/walbuf.h), which writes a
 * commit's WAL frames with one pwrite per 124 KiB instead of two per page; the sync that
 * makes a commit durable writes them out first.
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include "store/sqlite/log_sqlite.h"

#include "store/backend.h"
#include "store/log_common.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "log/hash.h"
#include "log/merkle.h"
#include "log/note.h"
#include "store/sqlite/log_index.h"
#include "store/sqlite/sqlite.h"
#include "store/sqlite/walbuf.h"

#define DEFAULT_EVERY     4096
#define DEFAULT_BATCH     8192
#define DEFAULT_BUSY_MS   5000
#define DEFAULT_PENDING   65536
#define DEFAULT_WAL_PAGES 4000
#define DEFAULT_ERA_BITS  18
#define GROUND_EVERY_NS   2000000 /* run_batch: how old the last look at the files may be */
/* Perfect subtrees of at least 2^NODE_MIN_LEVEL leaves are kept in log_nodes, so a
 * proof reads at most a few thousand leaves whatever the log's size. */
#define NODE_MIN_LEVEL 10
#define NOTE_CAP       OB_CHECKPOINT_NOTE_CAP

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
     * database (store/sqlite/log_index.h); version 1 had them here. */
    "DROP INDEX IF EXISTS log_entries_patient;"
    "DROP INDEX IF EXISTS log_entries_obo;"
    "CREATE TABLE IF NOT EXISTS log_checkpoints(size INTEGER PRIMARY KEY,"
    " prev_size INTEGER NOT NULL, root BLOB NOT NULL, chain BLOB NOT NULL,"
    " time INTEGER NOT NULL, max_time INTEGER NOT NULL, sig BLOB NOT NULL, note TEXT,"
    " frontier BLOB);"
    /* Version 3: the whole log is one RFC 6962 tree; each checkpoint also carries a
     * C2SP signed note of it (note) and its compact range (frontier); log_nodes keeps
     * its large perfect subtrees; log_keys every public key that ever signed. */
    "CREATE TABLE IF NOT EXISTS log_nodes(level INTEGER NOT NULL, idx INTEGER NOT NULL,"
    " hash BLOB NOT NULL, PRIMARY KEY(level, idx)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS log_keys(vkey TEXT PRIMARY KEY, since INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS log_cosigs(size INTEGER NOT NULL, line TEXT NOT NULL,"
    " PRIMARY KEY(size, line));"
    "CREATE TABLE IF NOT EXISTS log_head(id INTEGER PRIMARY KEY CHECK (id = 1),"
    " size INTEGER NOT NULL, chain BLOB NOT NULL, time INTEGER NOT NULL, sig BLOB NOT NULL);"
    "INSERT OR IGNORE INTO log_meta VALUES('schema_version', '3');"
    "UPDATE log_meta SET value = '3' WHERE key = 'schema_version';";

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

    /* The whole log as one tree: its compact range at seg_prev (tree_ok: known, so
     * checkpoints carry notes), the origin line and key name of its notes. */
    ob_merkle_frontier fr;
    bool tree_ok;
    char origin[OB_NOTE_NAME_MAX + 1];
    sqlite3_stmt *put_node;
    ob_status emit_st;
    ob_err emit_err;

    sqlite3_stmt *ins_cp, *put_head, *begin, *commit, *rollback, *sp, *sp_rollback, *sp_release;

    /* The checkpointer (wal_pages >= 0): woken by the writer's WAL hook under mu. */
    int wal_pages;
    sqlite3 *ckpt_db;
    pthread_t ckpt_thread;
    bool ckpt_started, ckpt_want, ckpt_running;
    int ckpt_backfilled; /* frames the last background pass put back, 0 after the writer's */
    int ckpt_passes;     /* background passes since the writer's last checkpoint */
    pthread_cond_t ckpt_wake;

    ob_log_index *ix; /* the search index's thread (store/sqlite/log_index.h) */
    int index_era_bits;

    /* The files under the log (the database, its -wal and -shm) as they were at open, by
     * name, device and inode (ground_moved). Once they moved, `moved` stays set with
     * why in moved_why (written once under mu, before moved), and every append fails. */
    struct ground {
        char *path;
        dev_t dev;
        ino_t ino;
    } ground[3];
    atomic_bool moved;
    char moved_why[320];
    int64_t ground_at; /* writer thread: when it last looked (mono_ns) */
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

/* Keeps a perfect subtree of the whole-log tree (ob_merkle_emit_fn). */
static void emit_node(void *ctx, unsigned level, uint64_t index,
                      const uint8_t node[OB_LOG_HASH_LEN])
{
    ob_log *lg = ctx;
    if (lg->emit_st != OB_OK)
        return;
    if (!lg->put_node &&
        sqlite3_prepare_v3(lg->db,
                           "INSERT OR REPLACE INTO log_nodes(level, idx, hash)"
                           " VALUES(?1, ?2, ?3)",
                           -1, SQLITE_PREPARE_PERSISTENT, &lg->put_node, NULL) != SQLITE_OK) {
        lg->emit_st = sql_err(lg->db, &lg->emit_err, "preparing statements");
        return;
    }
    sqlite3_bind_int(lg->put_node, 1, (int)level);
    sqlite3_bind_int64(lg->put_node, 2, (sqlite3_int64)index);
    sqlite3_bind_blob(lg->put_node, 3, node, OB_LOG_HASH_LEN, SQLITE_TRANSIENT);
    lg->emit_st = step_done(lg, lg->put_node, &lg->emit_err, "writing a tree node");
}

/* The signed note (c2sp.org/tlog-checkpoint) of the whole tree at fr into out. */
static ob_status make_note(const char *origin, const ob_merkle_frontier *fr,
                           const uint8_t sk[OB_LOG_SK_LEN], char out[NOTE_CAP], ob_err *e)
{
    uint8_t root[OB_LOG_HASH_LEN];
    ob_merkle_frontier_root(fr, root);
    return ob_checkpoint_note(origin, fr->size, root, sk, out, NOTE_CAP, e);
}

/* Cuts the checkpoint (seg_prev, size] over leaves[off .. off + size - seg_prev). */
static ob_status cut(ob_log *lg, size_t off, ob_err *e)
{
    ob_log_checkpoint cp = {.prev_size = lg->seg_prev, .size = lg->size};
    const uint8_t(*seg)[OB_LOG_HASH_LEN] = (const uint8_t(*)[OB_LOG_HASH_LEN])lg->leaves + off;
    uint64_t n = lg->size - lg->seg_prev;
    unsigned lvl = 0;
    while (((uint64_t)1 << lvl) < n)
        lvl++;
    lg->emit_st = OB_OK;
    if (lg->tree_ok && ((uint64_t)1 << lvl) == n && (lg->seg_prev & (n - 1)) == 0) {
        /* An aligned segment is a subtree of the whole tree: one hashing serves both. */
        ob_merkle_perfect_root(seg, lvl, lg->seg_prev, NODE_MIN_LEVEL, emit_node, lg, cp.root);
        ob_merkle_frontier_push_node_emit(&lg->fr, lvl, cp.root, NODE_MIN_LEVEL, emit_node, lg);
    } else {
        ob_merkle_root(seg, (size_t)n, cp.root);
        if (lg->tree_ok)
            ob_merkle_frontier_push_range_emit(&lg->fr, seg, (size_t)n, NODE_MIN_LEVEL, emit_node,
                                               lg);
    }
    if (lg->emit_st != OB_OK) {
        *e = lg->emit_err;
        return lg->emit_st;
    }
    char note[NOTE_CAP];
    uint8_t fblob[64 * OB_LOG_HASH_LEN];
    size_t fl = 0;
    if (lg->tree_ok) {
        ob_status ns = make_note(lg->origin, &lg->fr, lg->sk, note, e);
        if (ns != OB_OK)
            return ns;
        fl = ob_merkle_frontier_encode(&lg->fr, fblob);
    }
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
    if (lg->tree_ok) {
        sqlite3_bind_text(st, 8, note, -1, SQLITE_TRANSIENT);
        sqlite3_bind_blob(st, 9, fblob, (int)fl, SQLITE_TRANSIENT);
    } else {
        sqlite3_bind_null(st, 8);
        sqlite3_bind_null(st, 9);
    }
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

/* ------------------------------------------------------------------ the ground */

/* Whether the database, its -wal or -shm at their paths are no longer the files the log
 * opened: removed (by rm, or by another process that took itself for the last user) or
 * replaced (mv, a restore over the live file). The server's commits would then go to
 * files that no restart finds. stat() by name, which opens nothing (docs/log.md, "When
 * the ground moves"); safe from any thread. */
static bool ground_moved(const ob_log *lg, char *why, size_t cap)
{
    static const char *const what[3] = {"the database", "its WAL", "its shared-memory file"};
    for (int k = 0; k < 3; k++) {
        const struct ground *g = &lg->ground[k];
        struct stat sb;
        if (!g->path)
            continue;
        if (stat(g->path, &sb) != 0) {
            snprintf(why, cap, "%s is gone (%s)", what[k], strerror(errno));
            return true;
        }
        if (sb.st_dev != g->dev || sb.st_ino != g->ino) {
            snprintf(why, cap, "%s was replaced by another file", what[k]);
            return true;
        }
    }
    return false;
}

/* The error every append gets once the ground moved. */
static ob_status ground_err(ob_log *lg, ob_err *e)
{
    if (!atomic_load(&lg->moved))
        return OB_OK;
    return ob_err_set(e, OB_EIO,
                      "access log: %s under the running server; it refuses every append until "
                      "it is restarted on the right database (docs/operations.md)",
                      lg->moved_why);
}

/* Looks at the ground now; the first to see it moved records why. */
static ob_status check_ground(ob_log *lg, ob_err *e)
{
    char why[sizeof lg->moved_why];
    if (!atomic_load(&lg->moved) && ground_moved(lg, why, sizeof why)) {
        pthread_mutex_lock(&lg->mu);
        if (!atomic_load(&lg->moved)) {
            memcpy(lg->moved_why, why, sizeof why);
            atomic_store(&lg->moved, true);
        }
        pthread_mutex_unlock(&lg->mu);
    }
    return ground_err(lg, e);
}

/* Records the files under the log, once it has written (so the -wal and -shm exist).
 * SQLite's own answer first (SQLITE_FCNTL_HAS_MOVED compares its open file with the
 * path), so that what is recorded is the file SQLite has open. */
static ob_status record_ground(ob_log *lg, ob_err *e)
{
    const char *main_name = sqlite3_db_filename(lg->db, "main");
    int moved = 0;
    if (!main_name || !main_name[0])
        return OB_OK; /* a temporary or in-memory database: no files to watch */
    if (sqlite3_file_control(lg->db, "main", SQLITE_FCNTL_HAS_MOVED, &moved) == SQLITE_OK && moved)
        return ob_err_set(e, OB_EIO, "access log: %s was moved while it was being opened",
                          main_name);
    const char *wal = sqlite3_filename_wal(main_name);
    size_t n = strlen(main_name);
    lg->ground[0].path = ob_strdup(main_name);
    lg->ground[1].path = ob_strdup(wal ? wal : "");
    lg->ground[2].path = ob_malloc(n + 5);
    if (!lg->ground[0].path || !lg->ground[1].path || !lg->ground[2].path)
        return ob_err_set(e, OB_ENOMEM, "access log: out of memory");
    snprintf(lg->ground[2].path, n + 5, "%s-shm", main_name);
    for (int k = 0; k < 3; k++) {
        struct stat sb;
        if (stat(lg->ground[k].path, &sb) != 0)
            return ob_err_set(e, OB_EIO, "access log: cannot stat %s: %s", lg->ground[k].path,
                              strerror(errno));
        lg->ground[k].dev = sb.st_dev;
        lg->ground[k].ino = sb.st_ino;
    }
    return OB_OK;
}

ob_status ob_log_ground(ob_log *lg, ob_err *e)
{
    return check_ground(lg, e);
}

/* Runs one batch in one transaction. Sets each job's st; returns the batch status. */
static ob_status run_batch(ob_log *lg, struct job *batch, bool force_cut, uint64_t *nappended,
                           uint64_t *ncuts)
{
    ob_err e = {0};
    uint64_t size0 = lg->size, seg_prev0 = lg->seg_prev;
    size_t nleaves0 = lg->nleaves;
    ob_time seg_max0 = lg->seg_max;
    uint64_t fr_size0 = lg->fr.size;
    uint8_t fr0[64][OB_LOG_HASH_LEN]; /* only the levels a cut can change are restored */
    memcpy(fr0, lg->fr.h, sizeof fr0);
    uint8_t chain0[OB_LOG_HASH_LEN];
    memcpy(chain0, lg->chain, OB_LOG_HASH_LEN);
    ob_status st = ground_err(lg, &e);
    if (st == OB_OK)
        st = step_done(lg, lg->begin, &e, "starting a transaction");
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
            ob_store_tx tx = {&ob_store_sqlite_tx_ops, lg->db}; /* the batch's transaction */
            ob_status as = j->apply(j->apply_ctx, &tx, &j->err);
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
            /* Segments end at multiples of every as well, so that after a forced cut
             * (ob_log_checkpoint_now, close) they are aligned subtrees again. */
            if (st == OB_OK &&
                (lg->size - lg->seg_prev >= lg->every || lg->size % lg->every == 0)) {
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
    int64_t c1 = mono_ns();
    lg->commit_ns = c1 - c0;
    /* Committed, but into the files the log opened: if they are no longer the ones at
     * its path, the batch went where no restart will find it, and nobody may be told
     * otherwise (R-LOG-1). Nothing to roll back: every later append fails the same way.
     * Looked at again when the last look is GROUND_EVERY_NS old: three stat() calls
     * cost 10-17 us on this VM, a sixth to a third of a single-entry commit's writer time
     * on tmpfs, so at most 500 a second (about 1% of the writer's time); an answer goes
     * out at most 2 ms after its files were last seen in place. */
    bool committed = st == OB_OK;
    if (committed && c1 - lg->ground_at >= GROUND_EVERY_NS) {
        lg->ground_at = c1;
        st = check_ground(lg, &e);
    } else if (committed) {
        st = ground_err(lg, &e); /* /healthz or the watch saw it first */
    }
    if (committed && st != OB_OK) {
        for (struct job *j = batch; j; j = j->next)
            if (j->st == OB_OK) {
                j->st = st;
                j->err = e;
            }
        return st;
    }
    if (st != OB_OK) {
        if (in_tx)
            step_done(lg, lg->rollback, NULL, "rolling back");
        lg->size = size0;
        lg->seg_prev = seg_prev0;
        lg->nleaves = nleaves0;
        lg->seg_max = seg_max0;
        lg->fr.size = fr_size0;
        memcpy(lg->fr.h, fr0, sizeof fr0);
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
            ob_log_count_commit(&lg->stats, last_commit_ns);
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
    for (size_t i = 0; i < n; i++) {
        ob_status st = check_entry(&entries[i], e);
        if (st != OB_OK)
            return st;
    }
    size_t strbytes = ob_log_entries_strbytes(entries, n);
    size_t off_states = ALIGN_UP(sizeof(struct job));
    size_t off_entries = ALIGN_UP(off_states + n * sizeof(ob_sha256_ctx));
    size_t off_strings = off_entries + n * sizeof(ob_log_entry);
    char *mem = ob_malloc(off_strings + strbytes);
    if (!mem)
        return ob_err_set(e, OB_ENOMEM, "access log: out of memory");
    struct job *j = (struct job *)(void *)mem;
    ob_sha256_ctx *states = (ob_sha256_ctx *)(void *)(mem + off_states);
    ob_log_entry *copy = (ob_log_entry *)(void *)(mem + off_entries);
    ob_log_entries_copy(entries, n, copy, mem + off_strings);
    for (size_t i = 0; i < n; i++) /* hashed on the caller's thread: the writer only
                                    * finishes the last block */
        ob_log_leaf_begin(&states[i], &copy[i]);
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
    sqlite3_finalize(lg->put_node);
    /* and what apply callbacks kept on the writer connection (ob_sqlite_stmt) */
    ob_sqlite_finalize_all(lg->db);
    sqlite3_close(lg->ckpt_db);
    sqlite3_close(lg->db);
    sodium_memzero(lg->sk, sizeof lg->sk);
    ob_free(lg->leaves);
    ob_free(lg->woken);
    for (int k = 0; k < 3; k++)
        ob_free(lg->ground[k].path);
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

/* Makes what a checkpoint wrote to the database file durable, through SQLite's own
 * handle of the file (SQLITE_FCNTL_FILE_POINTER of the checkpointer's connection, which
 * only this thread uses) and its xSync: an fdatasync of SQLite's descriptor. Never a
 * descriptor of our own: closing any descriptor of a file drops every POSIX lock the
 * process holds on it, SQLite's shared lock on the database included (SQLite's "How To
 * Corrupt An SQLite Database File", 2.2). Without that lock, the next process to open
 * and close the database (sqlite3's .backup, `log expire`, a bare sqlite3 reader) took
 * itself for the last connection and deleted the live -wal and -shm, and the server went
 * on committing into a deleted file (issue 23; tests/security/log_detach.sh). So nothing
 * outside SQLite opens, closes or locks the database's files in a process that has it
 * open (docs/log.md). 0 or -1. */
static int sync_database(sqlite3 *db)
{
    sqlite3_file *f = NULL;
    if (sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &f) != SQLITE_OK || !f ||
        !f->pMethods)
        return -1;
    return f->pMethods->xSync(f, SQLITE_SYNC_NORMAL) == SQLITE_OK ? 0 : -1;
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
        if (rc == SQLITE_OK && nckpt > 0 && sync_database(lg->ckpt_db) != 0)
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
        {&lg->ins_cp, "INSERT INTO log_checkpoints(" CP_COLS ", note, frontier)"
                      " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"},
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

static bool has_column(sqlite3 *db, const char *table, const char *col)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT 1 FROM pragma_table_info('%s') WHERE name = '%s'", table,
             col);
    return scalar(db, sql, 0) == 1;
}

static ob_status meta_get(sqlite3 *db, const char *key, char *out, size_t cap, ob_err *e)
{
    sqlite3_stmt *st;
    out[0] = '\0';
    if (sqlite3_prepare_v2(db, "SELECT value FROM log_meta WHERE key = ?1", -1, &st, NULL) !=
        SQLITE_OK)
        return sql_err(db, e, "reading the log's settings");
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        snprintf(out, cap, "%s", col_text(st, 0));
    sqlite3_finalize(st);
    return OB_OK;
}

static ob_status meta_put(sqlite3 *db, const char *key, const char *value, ob_err *e)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO log_meta VALUES(?1, ?2)", -1, &st, NULL) !=
        SQLITE_OK)
        return sql_err(db, e, "writing the log's settings");
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? OB_OK : sql_err(db, e, "writing the log's settings");
}

/* The public keys this log lists (log_keys), as note keys; *n <= cap. */
static ob_status load_keys(sqlite3 *db, ob_note_key *keys, size_t cap, size_t *n, ob_err *e)
{
    sqlite3_stmt *st;
    *n = 0;
    if (sqlite3_prepare_v2(db, "SELECT vkey FROM log_keys ORDER BY since, vkey", -1, &st, NULL) !=
        SQLITE_OK)
        return sql_err(db, e, "reading the log's public keys");
    while (sqlite3_step(st) == SQLITE_ROW && *n < cap)
        if (ob_note_vkey_parse(col_text(st, 0), &keys[*n], NULL) == OB_OK &&
            keys[*n].type == OB_NOTE_ED25519)
            (*n)++;
    sqlite3_finalize(st);
    return OB_OK;
}

/* Adds the migration's columns to a version-2 log (a no-op on version 3). */
static ob_status migrate_columns(sqlite3 *db, ob_err *e)
{
    if (!has_column(db, "log_checkpoints", "note")) {
        ob_status s = exec(db, "ALTER TABLE log_checkpoints ADD COLUMN note TEXT", e);
        if (s != OB_OK)
            return s;
    }
    if (!has_column(db, "log_checkpoints", "frontier"))
        return exec(db, "ALTER TABLE log_checkpoints ADD COLUMN frontier BLOB", e);
    return OB_OK;
}

/* Loads the whole tree's compact range at the newest checkpoint, or builds the notes of
 * a log written before version 3 from its leaves (signing them with today's key). A log
 * whose oldest entries retention removed before the upgrade cannot be rebuilt: it goes
 * on without notes (tree_ok false), and verification says so. */
static ob_status load_tree(ob_log *lg, uint64_t last_cp, ob_err *e)
{
    ob_merkle_frontier_init(&lg->fr);
    lg->tree_ok = true;
    if (!last_cp)
        return OB_OK;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(lg->db,
                           "SELECT size, frontier FROM log_checkpoints WHERE frontier IS"
                           " NOT NULL ORDER BY size DESC LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK)
        return sql_err(lg->db, e, "reading the tree");
    uint64_t from = 0;
    if (sqlite3_step(st) == SQLITE_ROW) {
        from = (uint64_t)sqlite3_column_int64(st, 0);
        if (ob_merkle_frontier_decode(&lg->fr, from, sqlite3_column_blob(st, 1),
                                      (size_t)sqlite3_column_bytes(st, 1)) != 0) {
            sqlite3_finalize(st);
            return ob_err_set(e, OB_ETAMPER,
                              "access log: the tree at checkpoint %llu is damaged;"
                              " run verify",
                              (unsigned long long)from);
        }
    }
    sqlite3_finalize(st);
    if (from == last_cp)
        return OB_OK;
    uint64_t min_seq = (uint64_t)scalar(lg->db, "SELECT MIN(seq) FROM log_entries", 0);
    if (!min_seq || min_seq > from + 1) {
        lg->tree_ok = false; /* the leaves to rebuild from are gone */
        return OB_OK;
    }
    sqlite3_stmt *cps = NULL, *upd = NULL;
    if (sqlite3_prepare_v2(lg->db,
                           "SELECT seq, leaf FROM log_entries WHERE seq > ?1 AND seq <= ?2"
                           " ORDER BY seq",
                           -1, &st, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(lg->db, "SELECT size FROM log_checkpoints WHERE size > ?1 ORDER BY size",
                           -1, &cps, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(lg->db,
                           "UPDATE log_checkpoints SET note = ?1, frontier = ?2"
                           " WHERE size = ?3",
                           -1, &upd, NULL) != SQLITE_OK) {
        sqlite3_finalize(st);
        sqlite3_finalize(cps);
        return sql_err(lg->db, e, "rebuilding the tree");
    }
    sqlite3_bind_int64(st, 1, (sqlite3_int64)from);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)last_cp);
    sqlite3_bind_int64(cps, 1, (sqlite3_int64)from);
    ob_status s = OB_OK;
    lg->emit_st = OB_OK;
    while (s == OB_OK && sqlite3_step(cps) == SQLITE_ROW) {
        uint64_t upto = (uint64_t)sqlite3_column_int64(cps, 0);
        while (lg->fr.size < upto) {
            uint8_t leaf[OB_LOG_HASH_LEN];
            if (sqlite3_step(st) != SQLITE_ROW ||
                (uint64_t)sqlite3_column_int64(st, 0) != lg->fr.size + 1 || blob32(st, 1, leaf)) {
                s = ob_err_set(e, OB_ETAMPER,
                               "access log: entry %llu is missing or damaged;"
                               " run verify",
                               (unsigned long long)lg->fr.size + 1);
                break;
            }
            ob_merkle_frontier_push_node_emit(&lg->fr, 0, leaf, NODE_MIN_LEVEL, emit_node, lg);
        }
        if (s != OB_OK)
            break;
        if (lg->emit_st != OB_OK) {
            *e = lg->emit_err;
            s = lg->emit_st;
            break;
        }
        char note[NOTE_CAP];
        uint8_t fblob[64 * OB_LOG_HASH_LEN];
        if ((s = make_note(lg->origin, &lg->fr, lg->sk, note, e)) != OB_OK)
            break;
        size_t fl = ob_merkle_frontier_encode(&lg->fr, fblob);
        sqlite3_bind_text(upd, 1, note, -1, SQLITE_TRANSIENT);
        sqlite3_bind_blob(upd, 2, fblob, (int)fl, SQLITE_TRANSIENT);
        sqlite3_bind_int64(upd, 3, (sqlite3_int64)upto);
        if (sqlite3_step(upd) != SQLITE_DONE)
            s = sql_err(lg->db, e, "rebuilding the tree");
        sqlite3_reset(upd);
    }
    sqlite3_finalize(st);
    sqlite3_finalize(cps);
    sqlite3_finalize(upd);
    return s;
}

/* Checks the key and loads the open segment so the writer can continue the chain. A
 * key other than the stored one is accepted only when the log lists it (rotation,
 * ob_log_add_key); the head, signed by whichever key was current, must verify under
 * one of the listed keys. */
static ob_status recover(ob_log *lg, const uint8_t pk[OB_LOG_PK_LEN], ob_err *e)
{
    char pkhex[2 * OB_LOG_PK_LEN + 1], stored[2 * OB_LOG_PK_LEN + 1] = "";
    ob_log_hex(pk, OB_LOG_PK_LEN, pkhex);
    ob_status ms = migrate_columns(lg->db, e);
    if (ms == OB_OK)
        ms = meta_get(lg->db, "public_key", stored, sizeof stored, e);
    if (ms == OB_OK)
        ms = meta_get(lg->db, "origin", lg->origin, sizeof lg->origin, e);
    if (ms != OB_OK)
        return ms;
    if (!lg->origin[0]) {
        uint8_t first[OB_LOG_PK_LEN];
        if (stored[0] && ob_log_unhex(stored, first, OB_LOG_PK_LEN) == 0)
            ob_log_origin(first, lg->origin);
        else
            ob_log_origin(pk, lg->origin);
        if ((ms = meta_put(lg->db, "origin", lg->origin, e)) != OB_OK)
            return ms;
    }
    ob_note_key cur;
    if ((ms = ob_note_key_make(&cur, lg->origin, OB_NOTE_ED25519, pk, e)) != OB_OK)
        return ms;
    char vkey[OB_NOTE_VKEY_MAX];
    ob_note_vkey_format(&cur, vkey);
    ob_note_key keys[OB_NOTE_MAX_SIGS];
    size_t nkeys = 0;
    if ((ms = load_keys(lg->db, keys, OB_NOTE_MAX_SIGS, &nkeys, e)) != OB_OK)
        return ms;
    if (stored[0] && strcmp(stored, pkhex) != 0) {
        bool listed = false;
        for (size_t i = 0; i < nkeys; i++)
            listed |= sodium_memcmp(keys[i].pk, pk, OB_LOG_PK_LEN) == 0;
        if (!listed)
            return ob_err_set(e, OB_EINVAL,
                              "access log: the log is signed with another key (public key "
                              "%.16s...); a new key must be added with 'overblik log rotate-key'",
                              stored);
    }
    if (!nkeys && stored[0]) { /* a version-2 log: list the key it was signed with */
        uint8_t old[OB_LOG_PK_LEN];
        if (ob_log_unhex(stored, old, OB_LOG_PK_LEN) == 0 &&
            ob_note_key_make(&keys[0], lg->origin, OB_NOTE_ED25519, old, NULL) == OB_OK) {
            char ov[OB_NOTE_VKEY_MAX];
            ob_note_vkey_format(&keys[0], ov);
            char sql[512];
            snprintf(sql, sizeof sql, "INSERT OR IGNORE INTO log_keys VALUES('%s', 0)", ov);
            if ((ms = exec(lg->db, sql, e)) != OB_OK)
                return ms;
            nkeys = 1;
        }
    }
    {
        char sql[512];
        snprintf(sql, sizeof sql,
                 "INSERT OR IGNORE INTO log_keys VALUES('%s', (SELECT COALESCE(MAX(size), 0)"
                 " FROM log_head));"
                 "INSERT OR REPLACE INTO log_meta VALUES('public_key', '%s')",
                 vkey, pkhex);
        if ((ms = exec(lg->db, sql, e)) != OB_OK)
            return ms;
        if (nkeys < OB_NOTE_MAX_SIGS)
            keys[nkeys++] = cur;
    }

    ob_log_head h;
    int hf = read_head(lg->db, &h);
    if (hf < 0)
        return sql_err(lg->db, e, "reading the signed head");
    uint64_t last_cp = (uint64_t)scalar(lg->db, "SELECT MAX(size) FROM log_checkpoints", 0);
    uint64_t max_seq = (uint64_t)scalar(lg->db, "SELECT MAX(seq) FROM log_entries", 0);
    ob_merkle_frontier_init(&lg->fr);
    lg->tree_ok = true; /* an empty log; load_tree below otherwise */
    if (!hf) {
        if (max_seq || last_cp)
            return ob_err_set(e, OB_ETAMPER, "access log: the signed head is missing; run verify");
        return OB_OK;
    }
    bool head_ok = false;
    for (size_t i = 0; i < nkeys && !head_ok; i++)
        head_ok = ob_log_head_verify(&h, keys[i].pk);
    if (!head_ok)
        return ob_err_set(e, OB_ETAMPER, "access log: the head signature is not valid");
    /* Retention removes whole segments from the front only, so if any entry is left,
     * the newest one is; anything else means the tail was cut or extended. */
    if (last_cp > h.size || max_seq > h.size || (max_seq && max_seq != h.size))
        return ob_err_set(e, OB_ETAMPER,
                          "access log: entries or checkpoints beyond the signed head; run verify");
    lg->size = h.size;
    lg->seg_prev = last_cp;
    memcpy(lg->chain, h.chain, OB_LOG_HASH_LEN);
    if ((ms = load_tree(lg, last_cp, e)) != OB_OK)
        return ms;
    sqlite3_stmt *st;
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
    /* The writer's connection gathers its WAL writes (store/sqlite/walbuf.h); readers and
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
        st = record_ground(lg, e);
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
    case OB_LOG_FAULT_ROLLED_BACK:
        return "rolled_back";
    case OB_LOG_FAULT_FORKED:
        return "forked";
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

/* One checkpoint's whole-tree note as verification reads it. */
struct cpnote {
    bool has_note, has_frontier;
    uint8_t root[OB_LOG_HASH_LEN];
    ob_merkle_frontier fr; /* valid when has_frontier */
};

static bool any_key(const ob_log_trust *t, bool (*ok)(const void *, const uint8_t *),
                    const void *what)
{
    for (size_t i = 0; i < t->nkeys; i++)
        if (ok(what, t->keys[i].pk))
            return true;
    return false;
}
static bool cp_ok(const void *cp, const uint8_t *pk)
{
    return ob_log_checkpoint_verify(cp, pk);
}
static bool head_ok(const void *h, const uint8_t *pk)
{
    return ob_log_head_verify(h, pk);
}

/* Opens a checkpoint note with the trusted keys: signed by one of them, its origin that
 * key's name, and its size n. The root goes to root. */
static bool note_ok(const ob_log_trust *t, const char *note, uint64_t n,
                    uint8_t root[OB_LOG_HASH_LEN], uint64_t *size_out)
{
    ob_note_result nr;
    char origin[OB_NOTE_NAME_MAX + 1];
    uint64_t size;
    if (!note || ob_note_open(note, strlen(note), t->keys, t->nkeys, &nr, NULL) != OB_OK ||
        ob_checkpoint_parse(note, nr.text_len, origin, &size, root, NULL) != OB_OK)
        return false;
    bool named = false;
    for (size_t i = 0; i < t->nkeys; i++)
        named |= nr.verified[i] && strcmp(t->keys[i].name, origin) == 0;
    if (size_out)
        *size_out = size;
    return named && (n == UINT64_MAX || size == n);
}

static ob_status verify_db(sqlite3 *db, const ob_log_trust *t, ob_log_verify_report *r, ob_err *e)
{
    struct cpnote *notes = NULL;
    size_t notecap = 0;
    ob_log_checkpoint *cps = NULL;
    size_t ncp = 0, cpcap = 0;
    uint8_t(*seg)[OB_LOG_HASH_LEN] = NULL;
    size_t nseg = 0, segcap = 0;
    sqlite3_stmt *st = NULL;
    ob_status s = OB_OK;

    /* What a witness saw: the log must extend it (R-LOG-7). */
    uint64_t wsize = 0;
    uint8_t wroot[OB_LOG_HASH_LEN];
    bool wdone = !t->witness_note;
    if (t->witness_note) {
        if (!note_ok(t, t->witness_note, UINT64_MAX, wroot, &wsize)) {
            s = ob_err_set(e, OB_EINVAL,
                           "access log: the witness's checkpoint is not signed by"
                           " this log's keys");
            goto out;
        }
        r->witness_size = wsize;
        wdone = wsize == 0;
    }

    /* 1. Checkpoints: each signed, contiguous from 0. */
    bool v3 = has_column(db, "log_checkpoints", "note");
    if (sqlite3_prepare_v2(db,
                           v3 ? "SELECT " CP_COLS ", note, frontier FROM log_checkpoints ORDER BY"
                                " size"
                              : "SELECT " CP_COLS ", NULL, NULL FROM log_checkpoints ORDER BY size",
                           -1, &st, NULL) != SQLITE_OK) {
        s = sql_err(db, e, "reading checkpoints");
        goto out;
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (ob_grow((void **)&cps, &cpcap, ncp + 1, sizeof *cps)) {
            s = ob_err_set(e, OB_ENOMEM, "access log: out of memory verifying");
            goto out;
        }
        if (ob_grow((void **)&notes, &notecap, ncp + 1, sizeof *notes)) {
            s = ob_err_set(e, OB_ENOMEM, "access log: out of memory verifying");
            goto out;
        }
        ob_log_checkpoint *cp = &cps[ncp];
        struct cpnote *cn = &notes[ncp];
        memset(cn, 0, sizeof *cn);
        uint64_t expect_prev = ncp ? cps[ncp - 1].size : 0;
        if (read_checkpoint(st, cp) || !any_key(t, cp_ok, cp)) {
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
        if (sqlite3_column_type(st, 7) != SQLITE_NULL) {
            const char *note = (const char *)sqlite3_column_text(st, 7);
            if (!note_ok(t, note, cp->size, cn->root, NULL)) {
                s = fault(r, e, OB_LOG_FAULT_BAD_SIGNATURE, cp->prev_size + 1,
                          "the checkpoint note of the log's first %llu entries is not validly"
                          " signed by the log's keys",
                          (unsigned long long)cp->size);
                goto out;
            }
            cn->has_note = true;
            if (sqlite3_column_type(st, 8) != SQLITE_NULL) {
                uint8_t fr_root[OB_LOG_HASH_LEN];
                if (ob_merkle_frontier_decode(&cn->fr, cp->size, sqlite3_column_blob(st, 8),
                                              (size_t)sqlite3_column_bytes(st, 8)) != 0 ||
                    (ob_merkle_frontier_root(&cn->fr, fr_root),
                     memcmp(fr_root, cn->root, OB_LOG_HASH_LEN) != 0)) {
                    s = fault(r, e, OB_LOG_FAULT_BAD_SEGMENT, cp->prev_size + 1,
                              "the stored tree at checkpoint %llu does not match its signed note",
                              (unsigned long long)cp->size);
                    goto out;
                }
                cn->has_frontier = true;
            }
            r->notes++;
            if (!wdone && cp->size == wsize) { /* even when its entries expired */
                if (memcmp(cn->root, wroot, OB_LOG_HASH_LEN) != 0) {
                    s = fault(r, e, OB_LOG_FAULT_FORKED, cp->prev_size + 1,
                              "the log's tree of %llu entries differs from the one a witness"
                              " saw (a fork, or a log replaced by another)",
                              (unsigned long long)wsize);
                    goto out;
                }
                wdone = true;
            }
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
        else if (wsize)
            s = fault(r, e, OB_LOG_FAULT_ROLLED_BACK, 1,
                      "the log is empty, but a witness saw %llu entries (wiped, or replaced)",
                      (unsigned long long)wsize);
        goto out;
    }
    if (wsize > h.size) {
        s = fault(r, e, OB_LOG_FAULT_ROLLED_BACK, h.size + 1,
                  "the log has %llu entries, but a witness saw %llu (truncated, or rolled back"
                  " to an older copy)",
                  (unsigned long long)h.size, (unsigned long long)wsize);
        goto out;
    }
    if (!any_key(t, head_ok, &h)) {
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
    /* The whole tree from here on: known from the start, or from the frontier stored
     * with the checkpoint before the first retained entry. */
    ob_merkle_frontier tf;
    bool tree = !k || notes[k - 1].has_frontier;
    if (k && tree)
        tf = notes[k - 1].fr;
    else
        ob_merkle_frontier_init(&tf);

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
        if (tree) {
            ob_merkle_frontier_push(&tf, leaf);
            if (!wdone && tf.size == wsize) {
                uint8_t wr[OB_LOG_HASH_LEN];
                ob_merkle_frontier_root(&tf, wr);
                if (memcmp(wr, wroot, OB_LOG_HASH_LEN) != 0) {
                    s = fault(r, e, OB_LOG_FAULT_FORKED, seq,
                              "the log's tree of %llu entries differs from the one a witness"
                              " saw (a fork, or a log replaced by another)",
                              (unsigned long long)wsize);
                    goto out;
                }
                wdone = true;
            }
        }
        if (ob_grow((void **)&seg, &segcap, nseg + 1, OB_LOG_HASH_LEN)) {
            s = ob_err_set(e, OB_ENOMEM, "access log: out of memory verifying");
            goto out;
        }
        memcpy(seg[nseg++], leaf, OB_LOG_HASH_LEN);
        r->entries++;
        if (k < ncp && seq == cps[k].size) {
            uint8_t root[OB_LOG_HASH_LEN];
            ob_merkle_root((const uint8_t(*)[OB_LOG_HASH_LEN])seg, nseg, root);
            uint8_t troot[OB_LOG_HASH_LEN];
            if (tree)
                ob_merkle_frontier_root(&tf, troot);
            if (memcmp(root, cps[k].root, OB_LOG_HASH_LEN) != 0 ||
                memcmp(chain, cps[k].chain, OB_LOG_HASH_LEN) != 0 ||
                (tree && notes[k].has_note && memcmp(troot, notes[k].root, OB_LOG_HASH_LEN)) ||
                (!tree && notes[k].has_note)) {
                s = fault(r, e, OB_LOG_FAULT_BAD_SEGMENT, cps[k].prev_size + 1,
                          "entries (%llu, %llu] do not match their signed checkpoint (an entry"
                          " in it was changed together with its stored hash)",
                          (unsigned long long)cps[k].prev_size, (unsigned long long)cps[k].size);
                goto out;
            }
            /* Once the tree is known every checkpoint carries its note: a note removed
             * from the database is tampering, not an old log. */
            if (tree && !notes[k].has_note && r->notes) {
                s = fault(r, e, OB_LOG_FAULT_BAD_SIGNATURE, cps[k].prev_size + 1,
                          "the checkpoint note of the log's first %llu entries is missing",
                          (unsigned long long)cps[k].size);
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
    if (!wdone) {
        s = fault(r, e, OB_LOG_FAULT_ROLLED_BACK, wsize,
                  "cannot show that the log extends the %llu entries a witness saw (its entries"
                  " expired and no checkpoint of that size is kept)",
                  (unsigned long long)wsize);
        goto out;
    }
    (void)max_seq;
out:
    sqlite3_finalize(st);
    ob_free(notes);
    ob_free(cps);
    ob_free(seg);
    return s;
}

static ob_status verify_path(const char *db_path, const ob_log_trust *t, const uint8_t *pk,
                             ob_log_verify_report *r, ob_err *e);

ob_status ob_log_verify(const char *db_path, const uint8_t pk[OB_LOG_PK_LEN],
                        ob_log_verify_report *r, ob_err *e)
{
    return verify_path(db_path, NULL, pk, r, e);
}

ob_status ob_log_verify_trusted(const char *db_path, const ob_log_trust *t, ob_log_verify_report *r,
                                ob_err *e)
{
    return verify_path(db_path, t, NULL, r, e);
}

/* With a bare public key (pk), the key's name is the origin the database states: the
 * name only selects the signature line, the key is what is trusted. */
static ob_status verify_path(const char *db_path, const ob_log_trust *tin, const uint8_t *pk,
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
    ob_note_key one;
    ob_log_trust t1 = {0};
    if (s == OB_OK && !tin) {
        char origin[OB_NOTE_NAME_MAX + 1] = "";
        if (has_column(db, "log_meta", "key"))
            meta_get(db, "origin", origin, sizeof origin, NULL);
        if (!origin[0])
            ob_log_origin(pk, origin);
        if (ob_note_key_make(&one, origin, OB_NOTE_ED25519, pk, NULL) != OB_OK)
            ob_log_origin(pk, origin), ob_note_key_make(&one, origin, OB_NOTE_ED25519, pk, NULL);
        t1.keys = &one;
        t1.nkeys = 1;
        tin = &t1;
    }
    if (s == OB_OK) {
        s = verify_db(db, tin, r, e);
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

/* ------------------------------------------------------------------ the whole tree */

static ob_status open_read(const char *db_path, sqlite3 **db, ob_err *e)
{
    ob_status s = open_db(db_path, true, DEFAULT_BUSY_MS, NULL, db, e);
    if (s == OB_OK && (s = exec(*db, "BEGIN", e)) != OB_OK) {
        sqlite3_close(*db);
        *db = NULL;
    }
    return s;
}

static void close_read(sqlite3 *db)
{
    exec(db, "COMMIT", NULL);
    sqlite3_close(db);
}

static ob_status note_query(sqlite3 *db, uint64_t n, bool latest, char **note, ob_err *e)
{
    sqlite3_stmt *st;
    *note = NULL;
    if (!has_column(db, "log_checkpoints", "note"))
        return ob_err_set(e, OB_ENOTFOUND, "access log: no signed checkpoint note yet");
    if (sqlite3_prepare_v2(db,
                           latest ? "SELECT note FROM log_checkpoints WHERE note IS NOT NULL"
                                    " ORDER BY size DESC LIMIT 1"
                                  : "SELECT note FROM log_checkpoints WHERE size = ?1 AND note"
                                    " IS NOT NULL",
                           -1, &st, NULL) != SQLITE_OK)
        return sql_err(db, e, "reading checkpoints");
    if (!latest)
        sqlite3_bind_int64(st, 1, (sqlite3_int64)n);
    ob_status s = OB_OK;
    if (sqlite3_step(st) == SQLITE_ROW) {
        if (!(*note = ob_strdup(col_text(st, 0))))
            s = ob_err_set(e, OB_ENOMEM, "access log: out of memory");
    } else {
        s = ob_err_set(e, OB_ENOTFOUND, "access log: no signed checkpoint note %s",
                       latest ? "yet" : "of that size");
    }
    sqlite3_finalize(st);
    return s;
}

ob_status ob_log_latest_note(const char *db_path, char **note, ob_err *e)
{
    sqlite3 *db = NULL;
    *note = NULL;
    ob_status s = open_read(db_path, &db, e);
    if (s != OB_OK)
        return s;
    s = note_query(db, 0, true, note, e);
    close_read(db);
    return s;
}

ob_status ob_log_note_at(const char *db_path, uint64_t n, char **note, ob_err *e)
{
    sqlite3 *db = NULL;
    *note = NULL;
    ob_status s = open_read(db_path, &db, e);
    if (s != OB_OK)
        return s;
    s = note_query(db, n, false, note, e);
    close_read(db);
    return s;
}

/* Reads the stored leaves of [lo, hi) (0-based) into f, one by one. */
static ob_status push_leaves(sqlite3 *db, sqlite3_stmt *st, uint64_t lo, uint64_t hi,
                             ob_merkle_frontier *f, ob_err *e)
{
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, (sqlite3_int64)lo);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)hi);
    uint64_t want = lo + 1;
    while (want <= hi && sqlite3_step(st) == SQLITE_ROW) {
        uint8_t leaf[OB_LOG_HASH_LEN];
        if ((uint64_t)sqlite3_column_int64(st, 0) != want || blob32(st, 1, leaf))
            break;
        ob_merkle_frontier_push(f, leaf);
        want++;
    }
    (void)db;
    if (want <= hi)
        return ob_err_set(e, OB_ENOTFOUND,
                          "access log: the proof needs entry %llu, which is not"
                          " retained",
                          (unsigned long long)want);
    return OB_OK;
}

/* MTH(D[lo:hi]) from log_nodes where a perfect aligned subtree of at least
 * 2^NODE_MIN_LEVEL leaves is stored, and from the leaves elsewhere. */
static ob_status range_root(sqlite3 *db, sqlite3_stmt *node, sqlite3_stmt *leaves, uint64_t lo,
                            uint64_t hi, uint8_t out[OB_LOG_HASH_LEN], ob_err *e)
{
    ob_merkle_frontier f;
    ob_merkle_frontier_init(&f);
    uint64_t cur = lo;
    while (cur < hi) {
        unsigned l = 0;
        while (l < 62 && !((cur >> l) & 1) && cur + ((uint64_t)2 << l) <= hi)
            l++;
        uint64_t k = (uint64_t)1 << l;
        bool got = false;
        if (l >= NODE_MIN_LEVEL && (f.size & (k - 1)) == 0) {
            sqlite3_reset(node);
            sqlite3_bind_int(node, 1, (int)l);
            sqlite3_bind_int64(node, 2, (sqlite3_int64)(cur >> l));
            uint8_t h[OB_LOG_HASH_LEN];
            if (sqlite3_step(node) == SQLITE_ROW && !blob32(node, 0, h)) {
                ob_merkle_frontier_push_node(&f, l, h);
                got = true;
            }
        }
        if (!got) {
            ob_status s = push_leaves(db, leaves, cur, cur + k, &f, e);
            if (s != OB_OK)
                return s;
        }
        cur += k;
    }
    ob_merkle_frontier_root(&f, out);
    return OB_OK;
}

/* The hashes of ranges[0..n) into out. */
static ob_status ranges_hashes(sqlite3 *db, const ob_merkle_range *rg, size_t n,
                               uint8_t (*out)[OB_LOG_HASH_LEN], ob_err *e)
{
    sqlite3_stmt *node = NULL, *leaves = NULL;
    ob_status s = OB_OK;
    if (sqlite3_prepare_v2(db, "SELECT hash FROM log_nodes WHERE level = ?1 AND idx = ?2", -1,
                           &node, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "SELECT seq, leaf FROM log_entries WHERE seq > ?1 AND seq <= ?2"
                           " ORDER BY seq",
                           -1, &leaves, NULL) != SQLITE_OK)
        s = sql_err(db, e, "reading the tree");
    for (size_t i = 0; s == OB_OK && i < n; i++)
        s = range_root(db, node, leaves, rg[i].lo, rg[i].hi, out[i], e);
    sqlite3_finalize(node);
    sqlite3_finalize(leaves);
    return s;
}

ob_status ob_log_consistency(const char *db_path, uint64_t m, uint64_t n,
                             uint8_t (*proof)[OB_LOG_HASH_LEN], size_t *len, ob_err *e)
{
    *len = 0;
    sqlite3 *db = NULL;
    ob_status s = open_read(db_path, &db, e);
    if (s != OB_OK)
        return s;
    ob_log_head h;
    int hf = read_head(db, &h);
    if (m == 0 || m > n || hf != 1 || n > h.size) {
        s = ob_err_set(e, OB_EINVAL,
                       "access log: a consistency proof needs 0 < from <= to <="
                       " the log's size (%llu)",
                       hf == 1 ? (unsigned long long)h.size : 0ULL);
    } else if (m < n) {
        ob_merkle_range rg[OB_MERKLE_MAX_CONSISTENCY];
        size_t k = ob_merkle_consistency_ranges(m, n, rg);
        /* The ranges inside [0, m) are the compact range at m: if m is a checkpoint, its
         * stored frontier has them even when the entries expired. */
        ob_merkle_frontier fm;
        bool have_fm = false;
        sqlite3_stmt *st;
        if (has_column(db, "log_checkpoints", "frontier") &&
            sqlite3_prepare_v2(db,
                               "SELECT frontier FROM log_checkpoints WHERE size = ?1 AND"
                               " frontier IS NOT NULL",
                               -1, &st, NULL) == SQLITE_OK) {
            sqlite3_bind_int64(st, 1, (sqlite3_int64)m);
            if (sqlite3_step(st) == SQLITE_ROW)
                have_fm = ob_merkle_frontier_decode(&fm, m, sqlite3_column_blob(st, 0),
                                                    (size_t)sqlite3_column_bytes(st, 0)) == 0;
            sqlite3_finalize(st);
        }
        for (size_t i = 0; s == OB_OK && i < k; i++) {
            uint64_t sz = rg[i].hi - rg[i].lo;
            unsigned l = (unsigned)__builtin_ctzll(sz);
            if (have_fm && rg[i].hi <= m && (sz & (sz - 1)) == 0 && ((m >> l) & 1) &&
                rg[i].lo == ((m >> (l + 1)) << (l + 1)) + 0 && rg[i].hi == (m >> l) << l)
                memcpy(proof[i], fm.h[l], OB_LOG_HASH_LEN);
            else
                s = ranges_hashes(db, &rg[i], 1, proof + i, e);
        }
        if (s == OB_OK)
            *len = k;
    }
    close_read(db);
    return s;
}

ob_status ob_log_public_keys(const char *db_path, char **text, ob_err *e)
{
    *text = NULL;
    sqlite3 *db;
    ob_status s = open_read(db_path, &db, e);
    if (s != OB_OK)
        return s;
    sqlite3_stmt *st = NULL;
    size_t cap = 1, len = 0;
    char *out = ob_malloc(1);
    if (!out)
        s = ob_err_set(e, OB_ENOMEM, "access log: out of memory");
    else if (sqlite3_prepare_v2(db, "SELECT vkey FROM log_keys ORDER BY since, vkey", -1, &st,
                                NULL) != SQLITE_OK)
        s = ob_err_set(e, OB_ENOTFOUND,
                       "access log: the log lists no public keys yet (open it"
                       " once with this version)");
    while (s == OB_OK && sqlite3_step(st) == SQLITE_ROW) {
        const char *v = col_text(st, 0);
        size_t vl = strlen(v);
        if (ob_grow((void **)&out, &cap, len + vl + 2, 1)) {
            s = ob_err_set(e, OB_ENOMEM, "access log: out of memory");
            break;
        }
        memcpy(out + len, v, vl);
        out[len + vl] = '\n';
        len += vl + 1;
    }
    sqlite3_finalize(st);
    close_read(db);
    if (s == OB_OK && len == 0)
        s = ob_err_set(e, OB_ENOTFOUND, "access log: the log lists no public keys yet");
    if (s != OB_OK) {
        ob_free(out);
        return s;
    }
    out[len] = '\0';
    *text = out;
    return OB_OK;
}

ob_status ob_log_add_key(const char *db_path, const uint8_t pk[OB_LOG_PK_LEN], ob_err *e)
{
    sqlite3 *db = NULL;
    ob_status s = open_db(db_path, false, DEFAULT_BUSY_MS, NULL, &db, e);
    if (s != OB_OK)
        return s;
    char origin[OB_NOTE_NAME_MAX + 1];
    if ((s = exec(db, "PRAGMA synchronous=FULL; BEGIN IMMEDIATE", e)) != OB_OK)
        goto done;
    if ((s = meta_get(db, "origin", origin, sizeof origin, e)) == OB_OK && !origin[0])
        s = ob_err_set(e, OB_EINVAL, "access log: open the log once with this version first");
    ob_note_key k;
    if (s == OB_OK)
        s = ob_note_key_make(&k, origin, OB_NOTE_ED25519, pk, e);
    if (s == OB_OK) {
        char v[OB_NOTE_VKEY_MAX], sql[512];
        ob_note_vkey_format(&k, v);
        snprintf(sql, sizeof sql,
                 "INSERT OR IGNORE INTO log_keys VALUES('%s', (SELECT COALESCE(MAX(size), 0)"
                 " FROM log_head))",
                 v);
        s = exec(db, sql, e);
    }
    if (s == OB_OK)
        s = exec(db, "COMMIT", e);
    else
        exec(db, "ROLLBACK", NULL);
done:
    sqlite3_close(db);
    return s;
}

ob_status ob_log_add_cosignature(const char *db_path, uint64_t n, const char *line, ob_err *e)
{
    sqlite3 *db = NULL;
    ob_status s = open_db(db_path, false, DEFAULT_BUSY_MS, NULL, &db, e);
    if (s != OB_OK)
        return s;
    sqlite3_stmt *st = NULL;
    if ((s = exec(db, "PRAGMA synchronous=FULL", e)) == OB_OK &&
        sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO log_cosigs(size, line) VALUES(?1, ?2)", -1,
                           &st, NULL) != SQLITE_OK)
        s = sql_err(db, e, "storing a cosignature");
    if (s == OB_OK) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)n);
        sqlite3_bind_text(st, 2, line, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
            s = sql_err(db, e, "storing a cosignature");
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return s;
}

ob_status ob_log_parse_keys(const char *text, ob_note_key *keys, size_t cap, size_t *n, ob_err *e)
{
    *n = 0;
    const char *p = text;
    while (p && *p) {
        const char *nl = strchr(p, '\n');
        size_t ll = nl ? (size_t)(nl - p) : strlen(p);
        char line[OB_NOTE_VKEY_MAX + 8];
        while (ll && (p[ll - 1] == '\r' || p[ll - 1] == ' '))
            ll--;
        if (ll && p[0] != '#') {
            if (ll >= sizeof line || *n == cap)
                return ob_err_set(e, OB_EINVAL,
                                  "access log: the key file has too many or too"
                                  " long lines");
            memcpy(line, p, ll);
            line[ll] = '\0';
            ob_status s = ob_note_vkey_parse(line, &keys[*n], e);
            if (s != OB_OK)
                return s;
            if (keys[*n].type != OB_NOTE_ED25519)
                return ob_err_set(e, OB_EINVAL, "access log: %s is not a log signing key", line);
            (*n)++;
        }
        p = nl ? nl + 1 : NULL;
    }
    if (!*n)
        return ob_err_set(e, OB_EINVAL, "access log: the key file holds no keys");
    return OB_OK;
}

ob_status ob_log_prove_note(const char *db_path, uint64_t seq, ob_log_proof *out, ob_err *e)
{
    memset(out, 0, sizeof *out);
    ob_log_proof_free(out);
    sqlite3 *db;
    ob_status s = open_read(db_path, &db, e);
    if (s != OB_OK)
        return s;
    sqlite3_stmt *st = NULL;
    char *note = NULL;
    uint64_t size = 0;
    if (!has_column(db, "log_checkpoints", "note") ||
        sqlite3_prepare_v2(db,
                           "SELECT size, note FROM log_checkpoints WHERE size >= ?1 AND note"
                           " IS NOT NULL ORDER BY size DESC LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK) {
        s = ob_err_set(e, OB_ECONFLICT, "access log: the log has no checkpoint notes yet");
        goto out;
    }
    sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
    if (sqlite3_step(st) == SQLITE_ROW) {
        size = (uint64_t)sqlite3_column_int64(st, 0);
        note = ob_strdup(col_text(st, 1));
    }
    sqlite3_finalize(st);
    st = NULL;
    if (!size) {
        ob_log_head h;
        if (seq >= 1 && read_head(db, &h) == 1 && seq <= h.size)
            s = ob_err_set(e, OB_ECONFLICT,
                           "access log: entry %llu is not yet covered by a checkpoint; it will"
                           " be at the next checkpoint (or force one)",
                           (unsigned long long)seq);
        else
            s = ob_err_set(e, OB_ENOTFOUND, "access log: no entry %llu", (unsigned long long)seq);
        goto out;
    }
    if (!note) {
        s = ob_err_set(e, OB_ENOMEM, "access log: out of memory");
        goto out;
    }
    if (sqlite3_prepare_v2(db, "SELECT " ENTRY_COLS " FROM log_entries WHERE seq = ?1", -1, &st,
                           NULL) != SQLITE_OK) {
        s = sql_err(db, e, "reading entries");
        goto out;
    }
    sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
    if (sqlite3_step(st) != SQLITE_ROW) {
        s = ob_err_set(e, OB_ENOTFOUND, "access log: entry %llu is not retained",
                       (unsigned long long)seq);
        goto out;
    }
    ob_log_entry en;
    row_to_entry(st, &en);
    if ((s = ob_log_proof_set_entry(out, &en, e)) != OB_OK)
        goto out;
    blob32(st, COL_LEAF, out->leaf);
    sqlite3_finalize(st);
    st = NULL;
    out->version = 2;
    out->seq = seq;
    out->index = seq - 1;
    out->tree_size = size;
    ob_merkle_range rg[OB_MERKLE_MAX_PATH];
    out->path_len = ob_merkle_inclusion_ranges(out->index, size, rg);
    if ((s = ranges_hashes(db, rg, out->path_len, out->path, e)) != OB_OK)
        goto out;
    /* the witnesses' cosignatures of that checkpoint (unverified here: a checker
     * ignores lines by keys it does not know and verifies those it does) */
    if (sqlite3_prepare_v2(db, "SELECT line FROM log_cosigs WHERE size = ?1 ORDER BY line", -1, &st,
                           NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)size);
        size_t nl = strlen(note), cap = nl + 1;
        while (sqlite3_step(st) == SQLITE_ROW) {
            const char *l = col_text(st, 0);
            size_t ll = strlen(l);
            if (ll < 8 || l[ll - 1] != '\n' || ob_grow((void **)&note, &cap, nl + ll + 1, 1))
                continue;
            memcpy(note + nl, l, ll + 1);
            nl += ll;
        }
    }
    out->note = note;
    note = NULL;
out:
    sqlite3_finalize(st);
    close_read(db);
    ob_free(note);
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

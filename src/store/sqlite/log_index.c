/* log_index.c - the access log's search index in its companion database (log_index.h).
 *
 * ON-DISK FORMAT (<db>-logindex, WAL mode, user_version = 3)
 *
 *   ix_meta(id = 1, upto, leaf BLOB, boot TEXT, clean, era_bits)
 *       upto: every entry with seq <= upto is indexed; leaf: that entry's leaf hash
 *       (NULL when upto = 0), which ties the index to one log. boot: the kernel's boot
 *       id when a writer last opened it; clean: 1 once that writer closed it and synced.
 *       era_bits: entries are indexed by era = seq >> era_bits.
 *   ix_patient(era, patient, time, seq) WITHOUT ROWID, primary key all four
 *   ix_obo(era, on_behalf_of, time, seq) WITHOUT ROWID, only entries with on_behalf_of <> ''
 *
 * ERAS. The key starts with the era (2^era_bits consecutive seqs, 262,144 by default), so
 * new entries land in the newest era's part of the B-tree only: a pass rewrites at most
 * that part, however large the whole index has grown (with patient first, a pass touched
 * about one page per entry once the index was much larger than the pass). A query seeks
 * each era (era IN a generated range), a few hundred seeks for a log of 100 million.
 *
 * The indexer thread's connection has the index as main and the log attached read-only
 * as "m". One pass is one transaction: read the log's next entries (at most CHUNK),
 * insert their keys sorted (so that consecutive inserts land on the same pages), move
 * the mark.
 *
 * DURABILITY. Passes run with synchronous=OFF: no fsync at all. The index's fsyncs (at
 * its WAL checkpoints) went to the same disk as the log's commits and held them up
 * (HTTP p99 9 ms with OFF against 13-14 ms with NORMAL, alternating runs). Without
 * them the index survives a process crash (the kernel has every write) but not an OS
 * crash or power loss, and either means a reboot. So the writer records the boot id
 * when it opens the index, durably, and marks it clean after a synced close; an index
 * left unclean in another boot is emptied and rebuilt, and readers do not use it. */
#define _GNU_SOURCE /* pthread_setname_np */
#include "store/sqlite/log_index.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"

#define INDEX_VERSION 3
#define CHUNK         65536 /* most entries per pass (and per transaction) */
#define SMALL_PASS    65536 /* fewer entries than this wait until NAP_MS after the last pass */
#define NAP_MS        1000
#define RETRY_MS      1000 /* after a failed pass */
#define BUSY_MS       5000

static const char *const schema_sql =
    "CREATE TABLE IF NOT EXISTS ix_meta(id INTEGER PRIMARY KEY CHECK (id = 1),"
    " upto INTEGER NOT NULL, leaf BLOB, boot TEXT NOT NULL, clean INTEGER NOT NULL,"
    " era_bits INTEGER NOT NULL);"
    "INSERT OR IGNORE INTO ix_meta VALUES(1, 0, NULL, '', 1, 18);"
    "CREATE TABLE IF NOT EXISTS ix_patient(era INTEGER NOT NULL, patient TEXT NOT NULL,"
    " time INTEGER NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY(era, patient, time, seq))"
    " WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS ix_obo(era INTEGER NOT NULL, on_behalf_of TEXT NOT NULL,"
    " time INTEGER NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY(era, on_behalf_of, time, seq))"
    " WITHOUT ROWID;"
    "PRAGMA user_version = 3;";

static const char *const wipe_sql = "DELETE FROM ix_patient; DELETE FROM ix_obo;"
                                    " UPDATE ix_meta SET upto = 0, leaf = NULL;";

struct ob_log_index {
    char *path;
    int era_bits;
    char boot[40]; /* the kernel's boot id, "" if unknown (then passes are synced) */
    sqlite3 *db;
    sqlite3_stmt *next, *last, *ins_pat, *ins_obo, *mark;

    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t wake; /* the indexer: new entries, a waiter, or stop */
    pthread_cond_t done; /* waiters: a pass ended */
    uint64_t committed;  /* newest seq the log committed, as far as we were told */
    uint64_t upto;       /* the mark, as committed */
    uint64_t failures;
    ob_err err; /* of the last failed pass */
    bool stopping, hurry;
    bool idle; /* waiting for the log to commit anything: notify wakes it */
};

static ob_status sql_err(sqlite3 *db, ob_err *e, const char *what)
{
    return ob_err_set(e, OB_EIO, "log index: %s: %s", what,
                      db ? sqlite3_errmsg(db) : "no database");
}

static ob_status exec(sqlite3 *db, const char *sql, ob_err *e, const char *what)
{
    return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? OB_OK : sql_err(db, e, what);
}

char *ob_log_index_path(const char *log_path)
{
    static const char suffix[] = "-logindex";
    size_t n = strlen(log_path);
    char *p = ob_malloc(n + sizeof suffix);
    if (p) {
        memcpy(p, log_path, n);
        memcpy(p + n, suffix, sizeof suffix);
    }
    return p;
}

void ob_log_index_remove(const char *log_path)
{
    char *p = ob_log_index_path(log_path);
    size_t n = p ? strlen(p) + 5 : 0;
    char *q = p ? ob_malloc(n) : NULL;
    if (q) {
        const char *sfx[] = {"-wal", "-shm", ""};
        for (int i = 0; i < 3; i++) {
            snprintf(q, n, "%s%s", p, sfx[i]);
            unlink(q);
        }
    }
    ob_free(q);
    ob_free(p);
}

/* "file:<path, percent-encoded>?mode=ro", so that the log can only be read through the
 * indexer's connection (and closing it never checkpoints the log's WAL). */
static char *readonly_uri(const char *path)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(path);
    char *u = ob_malloc(5 + 3 * n + 9 + 1), *o = u;
    if (!u)
        return NULL;
    memcpy(o, "file:", 5);
    o += 5;
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '/' || *p == '.' || *p == '-' || *p == '_') {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    memcpy(o, "?mode=ro", 9);
    return u;
}

/* The kernel's boot id (a UUID that changes on every boot), or "" if unknown. */
static void boot_id(char out[40])
{
    out[0] = '\0';
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
    if (!f)
        return;
    if (!fgets(out, 40, f))
        out[0] = '\0';
    fclose(f);
    out[strcspn(out, "\n")] = '\0';
}

bool ob_log_index_boot_known(void)
{
    char b[40];
    boot_id(b);
    return b[0] != '\0';
}

/* 1 if the index may be trusted after the last boot: it was closed cleanly, or its
 * writer opened it in this boot (so the kernel holds every write). 0 if not, -1 on
 * error. boot is "" when unknown. */
static int survived_boot(sqlite3 *db, const char *ix, const char *boot)
{
    char sql[128];
    sqlite3_stmt *st;
    snprintf(sql, sizeof sql, "SELECT boot, clean FROM %s.ix_meta WHERE id = 1", ix);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    int ok = -1;
    if (sqlite3_step(st) == SQLITE_ROW) {
        const unsigned char *b = sqlite3_column_text(st, 0);
        ok = sqlite3_column_int(st, 1) == 1 || (boot[0] && b && strcmp((const char *)b, boot) == 0);
    }
    sqlite3_finalize(st);
    return ok;
}

/* The first column of the first row of fmt with its one %s replaced by a schema name
 * ("main", "ix"), if a non-negative integer; -1 otherwise (no row, error). */
static int meta_int(sqlite3 *db, const char *fmt, const char *schema)
{
    char sql[128];
    sqlite3_stmt *st;
    int v = -1;
    snprintf(sql, sizeof sql, fmt, schema);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v >= 0 ? v : -1;
}

static int user_version(sqlite3 *db, const char *schema)
{
    return meta_int(db, "PRAGMA %s.user_version", schema);
}

/* The index's era_bits, or -1. */
static int stored_era_bits(sqlite3 *db, const char *schema)
{
    int bits = meta_int(db, "SELECT era_bits FROM %s.ix_meta WHERE id = 1", schema);
    return bits < 63 ? bits : -1;
}

/* 1 if the mark's leaf matches the log's entry at the mark (or the mark is 0), 0 if not,
 * -1 on error. Runs inside the caller's read transaction; log is "main" or "m". */
static int mark_matches(sqlite3 *db, const char *ix, const char *log, uint64_t *upto)
{
    char sql[160];
    sqlite3_stmt *st;
    snprintf(sql, sizeof sql, "SELECT upto, leaf FROM %s.ix_meta WHERE id = 1", ix);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    int rc = sqlite3_step(st), ok = -1;
    uint8_t leaf[32];
    int leaf_len = 0;
    if (rc == SQLITE_ROW) {
        *upto = (uint64_t)sqlite3_column_int64(st, 0);
        leaf_len = sqlite3_column_bytes(st, 1);
        if (leaf_len == (int)sizeof leaf)
            memcpy(leaf, sqlite3_column_blob(st, 1), sizeof leaf);
        ok = *upto == 0 ? 1 : leaf_len == (int)sizeof leaf ? 2 : 0;
    }
    sqlite3_finalize(st);
    if (ok != 2)
        return ok;
    snprintf(sql, sizeof sql, "SELECT leaf FROM %s.log_entries WHERE seq = ?1", log);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)*upto);
    rc = sqlite3_step(st);
    ok = rc == SQLITE_ROW ? sqlite3_column_bytes(st, 0) == (int)sizeof leaf &&
                                memcmp(sqlite3_column_blob(st, 0), leaf, sizeof leaf) == 0
         : rc == SQLITE_DONE ? 0
                             : -1;
    sqlite3_finalize(st);
    return ok;
}

/* One pass: indexes the log's entries after the mark, at most CHUNK of them. *n receives
 * how many; the mark moves to the last. */
static ob_status pass(ob_log_index *ix, uint64_t upto, uint64_t *new_upto, uint64_t *n, ob_err *e)
{
    *n = 0;
    *new_upto = upto;
    if (exec(ix->db, "BEGIN", e, "starting a pass") != OB_OK)
        return OB_EIO;
    ob_status s = OB_OK;
    uint64_t lo = 0, hi = 0;
    sqlite3_bind_int64(ix->next, 1, (sqlite3_int64)upto);
    int rc = sqlite3_step(ix->next);
    if (rc == SQLITE_ROW)
        lo = (uint64_t)sqlite3_column_int64(ix->next, 0);
    else if (rc != SQLITE_DONE)
        s = sql_err(ix->db, e, "reading the log");
    sqlite3_reset(ix->next);
    if (s == OB_OK && lo) {
        if (sqlite3_step(ix->last) == SQLITE_ROW)
            hi = (uint64_t)sqlite3_column_int64(ix->last, 0);
        else
            s = sql_err(ix->db, e, "reading the log");
        sqlite3_reset(ix->last);
        if (hi > lo + CHUNK - 1)
            hi = lo + CHUNK - 1;
    }
    sqlite3_stmt *steps[] = {ix->ins_pat, ix->ins_obo, ix->mark};
    for (size_t i = 0; s == OB_OK && lo && i < sizeof steps / sizeof steps[0]; i++) {
        sqlite3_bind_int64(steps[i], 1, (sqlite3_int64)lo);
        sqlite3_bind_int64(steps[i], 2, (sqlite3_int64)hi);
        if (steps[i] != ix->mark)
            sqlite3_bind_int(steps[i], 3, ix->era_bits);
        if (sqlite3_step(steps[i]) != SQLITE_DONE)
            s = sql_err(ix->db, e, "writing the index");
        sqlite3_reset(steps[i]);
    }
    if (s == OB_OK && exec(ix->db, "COMMIT", e, "committing a pass") == OB_OK) {
        if (lo) {
            *new_upto = hi;
            *n = hi - lo + 1;
        }
        return OB_OK;
    }
    sqlite3_exec(ix->db, "ROLLBACK", NULL, NULL, NULL);
    return s != OB_OK ? s : OB_EIO;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void timed_wait(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(cv, mu, &ts);
}

/* Passes are batched: fewer than SMALL_PASS new entries wait until NAP_MS after the
 * previous pass. Patients arrive at random, so a pass rewrites about one index page per
 * entry until it holds more entries than the index has pages: the larger the pass, the
 * cheaper each entry (HTTP benchmark: 12 us of indexer CPU per entry with a pass every
 * 100 ms, 3.9 us with one a second). A pass per commit also cost a single blocking
 * writer a third of its rate. The price is lag: up to a second of entries, which
 * queries find by scanning the log after the mark (a few ms). */
static void *index_main(void *arg)
{
    ob_log_index *ix = arg;
    int64_t last_pass = 0;
    bool failed = false;
    pthread_setname_np(pthread_self(), "ob-log-index"); /* for top -H and the benchmarks */
    pthread_mutex_lock(&ix->mu);
    while (!ix->stopping) {
        if (!ix->hurry) {
            int64_t wait = last_pass + (failed ? RETRY_MS : NAP_MS) - mono_ms();
            if (ix->committed <= ix->upto) {
                ix->idle = true;
                timed_wait(&ix->wake, &ix->mu, 1000);
                ix->idle = false;
                continue;
            }
            if (wait > 0 && (failed || ix->committed - ix->upto < SMALL_PASS)) {
                timed_wait(&ix->wake, &ix->mu, wait);
                continue;
            }
        }
        ix->hurry = false;
        uint64_t upto = ix->upto, new_upto = upto, n = 0;
        pthread_mutex_unlock(&ix->mu);
        ob_err e = {0};
        ob_status s = pass(ix, upto, &new_upto, &n, &e);
        last_pass = mono_ms();
        pthread_mutex_lock(&ix->mu);
        failed = s != OB_OK;
        if (!failed) {
            ix->upto = new_upto;
            if (!n && ix->committed > new_upto)
                ix->committed = new_upto; /* told more than the log holds: nothing to do */
        } else {
            ix->failures++;
            ix->err = e;
        }
        pthread_cond_broadcast(&ix->done);
    }
    pthread_mutex_unlock(&ix->mu);
    return NULL;
}

static void free_index(ob_log_index *ix)
{
    sqlite3_stmt *sts[] = {ix->next, ix->last, ix->ins_pat, ix->ins_obo, ix->mark};
    for (size_t i = 0; i < sizeof sts / sizeof sts[0]; i++)
        sqlite3_finalize(sts[i]);
    sqlite3_close(ix->db);
    ob_free(ix->path);
    ob_free(ix);
}

/* Opens the index database, creating or (a different version) recreating its tables,
 * attaches the log and empties the index if its mark does not match the log. */
static ob_status open_index(ob_log_index *ix, const char *log_path, ob_err *e)
{
    if (sqlite3_open_v2(ix->path, &ix->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI |
                            SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK)
        return sql_err(ix->db, e, "opening the index database");
    sqlite3_busy_timeout(ix->db, BUSY_MS);
    boot_id(ix->boot);
    /* FULL while the boot id is recorded (below); OFF for the passes after that. */
    ob_status s = exec(ix->db,
                       "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                       " PRAGMA cache_size=-65536;",
                       e, "configuring");
    sqlite3_stmt *st;
    int version = s == OB_OK ? user_version(ix->db, "main") : -1;
    if (s == OB_OK && version != 0 && version != INDEX_VERSION)
        s = exec(ix->db,
                 "DROP TABLE IF EXISTS ix_meta; DROP TABLE IF EXISTS ix_patient;"
                 " DROP TABLE IF EXISTS ix_obo;",
                 e, "replacing an index of another version");
    if (s == OB_OK)
        s = exec(ix->db, schema_sql, e, "creating tables");
    char *uri = s == OB_OK ? readonly_uri(log_path) : NULL;
    if (s == OB_OK && !uri)
        s = ob_err_set(e, OB_ENOMEM, "log index: out of memory");
    if (s == OB_OK) {
        if (sqlite3_prepare_v2(ix->db, "ATTACH DATABASE ?1 AS m", -1, &st, NULL) != SQLITE_OK)
            s = sql_err(ix->db, e, "attaching the log");
        else {
            sqlite3_bind_text(st, 1, uri, -1, SQLITE_STATIC);
            if (sqlite3_step(st) != SQLITE_DONE)
                s = sql_err(ix->db, e, "attaching the log");
            sqlite3_finalize(st);
        }
    }
    ob_free(uri);
    if (s == OB_OK)
        s = exec(ix->db, "BEGIN IMMEDIATE", e, "checking the index");
    if (s == OB_OK) {
        int b = survived_boot(ix->db, "main", ix->boot);
        int m = b < 0 ? -1 : mark_matches(ix->db, "main", "m", &ix->upto);
        if (m < 0)
            s = sql_err(ix->db, e, "checking the index");
        else if (m == 0 || b == 0 || stored_era_bits(ix->db, "main") != ix->era_bits) {
            ix->upto = 0;
            s = exec(ix->db, wipe_sql, e, "emptying an index that does not match the log");
        }
        if (s == OB_OK) {
            if (sqlite3_prepare_v2(ix->db,
                                   "UPDATE ix_meta SET boot = ?1, clean = 0, era_bits = ?2"
                                   " WHERE id = 1",
                                   -1, &st, NULL) != SQLITE_OK)
                s = sql_err(ix->db, e, "checking the index");
            else {
                sqlite3_bind_text(st, 1, ix->boot, -1, SQLITE_STATIC);
                sqlite3_bind_int(st, 2, ix->era_bits);
                if (sqlite3_step(st) != SQLITE_DONE)
                    s = sql_err(ix->db, e, "checking the index");
                sqlite3_finalize(st);
            }
        }
        if (s == OB_OK)
            s = exec(ix->db, "COMMIT", e, "checking the index");
        else
            sqlite3_exec(ix->db, "ROLLBACK", NULL, NULL, NULL);
    }
    if (s == OB_OK && ix->boot[0])
        s = exec(ix->db, "PRAGMA synchronous=OFF", e, "configuring");
    struct {
        sqlite3_stmt **st;
        const char *sql;
    } p[] = {
        {&ix->next, "SELECT seq FROM m.log_entries WHERE seq > ?1 ORDER BY seq LIMIT 1"},
        {&ix->last, "SELECT MAX(seq) FROM m.log_entries"},
        {&ix->ins_pat, "INSERT OR IGNORE INTO ix_patient(era, patient, time, seq)"
                       " SELECT seq >> ?3, patient, time, seq FROM m.log_entries"
                       " WHERE seq BETWEEN ?1 AND ?2 ORDER BY 1, 2, 3, 4"},
        {&ix->ins_obo, "INSERT OR IGNORE INTO ix_obo(era, on_behalf_of, time, seq)"
                       " SELECT seq >> ?3, on_behalf_of, time, seq FROM m.log_entries"
                       " WHERE seq BETWEEN ?1 AND ?2 AND on_behalf_of <> ''"
                       " ORDER BY 1, 2, 3, 4"},
        {&ix->mark, "UPDATE ix_meta SET upto = ?2, leaf = (SELECT leaf FROM m.log_entries"
                    " WHERE seq = ?2) WHERE id = 1 AND ?1 <= ?2"},
    };
    for (size_t i = 0; s == OB_OK && i < sizeof p / sizeof p[0]; i++)
        if (sqlite3_prepare_v3(ix->db, p[i].sql, -1, SQLITE_PREPARE_PERSISTENT, p[i].st, NULL) !=
            SQLITE_OK)
            s = sql_err(ix->db, e, "preparing statements");
    return s;
}

ob_status ob_log_index_start(const char *log_path, int era_bits, ob_log_index **out, ob_err *e)
{
    *out = NULL;
    if (era_bits < 0 || era_bits > 40)
        return ob_err_set(e, OB_EINVAL, "log index: era_bits %d is out of range 0..40", era_bits);
    ob_log_index *ix = ob_calloc(1, sizeof *ix);
    if (!ix || !(ix->path = ob_log_index_path(log_path))) {
        ob_free(ix);
        return ob_err_set(e, OB_ENOMEM, "log index: out of memory");
    }
    ix->era_bits = era_bits;
    ob_status s = open_index(ix, log_path, e);
    if (s == OB_OK && sqlite3_step(ix->last) == SQLITE_ROW)
        ix->committed = (uint64_t)sqlite3_column_int64(ix->last, 0);
    sqlite3_reset(ix->last);
    if (s != OB_OK) {
        free_index(ix);
        return s;
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&ix->mu, NULL);
    pthread_cond_init(&ix->wake, &ca);
    pthread_cond_init(&ix->done, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&ix->thread, NULL, index_main, ix) != 0) {
        pthread_mutex_destroy(&ix->mu);
        pthread_cond_destroy(&ix->wake);
        pthread_cond_destroy(&ix->done);
        free_index(ix);
        return ob_err_set(e, OB_EINTERNAL, "log index: cannot start the indexing thread");
    }
    *out = ix;
    return OB_OK;
}

void ob_log_index_notify(ob_log_index *ix, uint64_t size)
{
    pthread_mutex_lock(&ix->mu);
    if (size > ix->committed)
        ix->committed = size;
    if (ix->idle)
        pthread_cond_signal(&ix->wake);
    pthread_mutex_unlock(&ix->mu);
}

ob_status ob_log_index_wait(ob_log_index *ix, uint64_t size, ob_err *e)
{
    ob_status s = OB_OK;
    pthread_mutex_lock(&ix->mu);
    uint64_t failures = ix->failures;
    if (size > ix->committed)
        ix->committed = size;
    while (ix->upto < size && !ix->stopping) {
        if (ix->failures != failures) {
            if (e)
                *e = ix->err;
            s = ix->err.code ? ix->err.code : OB_EIO;
            break;
        }
        ix->hurry = true;
        pthread_cond_signal(&ix->wake);
        pthread_cond_wait(&ix->done, &ix->mu);
    }
    if (s == OB_OK && ix->upto < size)
        s = ob_err_set(e, OB_EINVAL, "log index: stopped");
    pthread_mutex_unlock(&ix->mu);
    return s;
}

void ob_log_index_progress(ob_log_index *ix, uint64_t *upto, uint64_t *failures)
{
    pthread_mutex_lock(&ix->mu);
    *upto = ix->upto;
    *failures = ix->failures;
    pthread_mutex_unlock(&ix->mu);
}

void ob_log_index_stop(ob_log_index *ix)
{
    if (!ix)
        return;
    pthread_mutex_lock(&ix->mu);
    ix->stopping = true;
    pthread_cond_signal(&ix->wake);
    pthread_cond_broadcast(&ix->done);
    pthread_mutex_unlock(&ix->mu);
    pthread_join(ix->thread, NULL);
    pthread_mutex_destroy(&ix->mu);
    pthread_cond_destroy(&ix->wake);
    pthread_cond_destroy(&ix->done);
    /* Catch up with what the log committed (the writer has stopped), a few passes at
     * most, so that a server stopped cleanly leaves a complete index; anything left is
     * indexed at the next start. */
    for (int i = 0; i < 4; i++) {
        uint64_t upto = ix->upto, n = 0;
        if (pass(ix, upto, &ix->upto, &n, NULL) != OB_OK || n == 0)
            break;
    }
    /* A clean close: everything written so far synced to the index file (a complete
     * checkpoint syncs it when synchronous is on), then the flag, synced too. If this
     * fails the flag stays 0 and only another boot makes the index be rebuilt. */
    if (sqlite3_exec(ix->db, "PRAGMA synchronous=FULL; PRAGMA main.wal_checkpoint(FULL)", NULL,
                     NULL, NULL) == SQLITE_OK)
        sqlite3_exec(ix->db, "UPDATE ix_meta SET clean = 1 WHERE id = 1", NULL, NULL, NULL);
    free_index(ix);
}

/* ------------------------------------------------------------------ readers */

ob_status ob_log_index_attach(sqlite3 *db, const char *log_path, ob_log_index_view *v, ob_err *e)
{
    *v = (ob_log_index_view){0};
    char *path = ob_log_index_path(log_path);
    if (!path)
        return ob_err_set(e, OB_ENOMEM, "log index: out of memory");
    bool attached = false;
    if (access(path, F_OK) == 0) {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(db, "ATTACH DATABASE ?1 AS ix", -1, &st, NULL) == SQLITE_OK) {
            sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
            attached = sqlite3_step(st) == SQLITE_DONE;
            sqlite3_finalize(st);
        }
    }
    ob_free(path);
    if (exec(db, "BEGIN", e, "reading the log") != OB_OK)
        return OB_EIO;
    /* An index that cannot be read, is of another version or belongs to another log is
     * not an error: the caller scans the log instead. */
    if (attached) {
        char boot[40];
        boot_id(boot);
        if (user_version(db, "ix") == INDEX_VERSION && survived_boot(db, "ix", boot) == 1 &&
            (v->era_bits = stored_era_bits(db, "ix")) >= 0 &&
            mark_matches(db, "ix", "main", &v->upto) == 1)
            v->usable = true;
        else
            *v = (ob_log_index_view){0};
    }
    return OB_OK;
}

ob_status ob_log_index_expire(const char *log_path, uint64_t through, ob_err *e)
{
    char *path = ob_log_index_path(log_path);
    if (!path)
        return ob_err_set(e, OB_ENOMEM, "log index: out of memory");
    if (access(path, F_OK) != 0) {
        ob_free(path);
        return OB_OK;
    }
    sqlite3 *db = NULL;
    ob_status s = OB_OK;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
        s = sql_err(db, e, "opening the index database");
    ob_free(path);
    if (s == OB_OK) {
        sqlite3_busy_timeout(db, BUSY_MS);
        s = exec(db, "BEGIN IMMEDIATE", e, "expiring");
    }
    sqlite3_stmt *st = NULL;
    const char *sql[] = {
        "DELETE FROM ix_patient WHERE seq <= ?1",
        "DELETE FROM ix_obo WHERE seq <= ?1",
        /* Everything the mark covered is gone: start again from an empty index. */
        "UPDATE ix_meta SET upto = 0, leaf = NULL WHERE id = 1 AND upto <= ?1",
    };
    for (size_t i = 0; s == OB_OK && i < sizeof sql / sizeof sql[0]; i++) {
        if (sqlite3_prepare_v2(db, sql[i], -1, &st, NULL) != SQLITE_OK) {
            s = sql_err(db, e, "expiring");
            break;
        }
        sqlite3_bind_int64(st, 1, (sqlite3_int64)through);
        if (sqlite3_step(st) != SQLITE_DONE)
            s = sql_err(db, e, "expiring");
        sqlite3_finalize(st);
    }
    if (s == OB_OK)
        s = exec(db, "COMMIT", e, "expiring");
    else if (db)
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(db);
    return s;
}

ob_status ob_log_index_check(sqlite3 *db, const ob_log_index_view *v, uint64_t *missing, ob_err *e)
{
    *missing = 0;
    static const char *const sql[] = {
        "SELECT MIN(seq) FROM main.log_entries l WHERE seq <= ?1 AND NOT EXISTS"
        " (SELECT 1 FROM ix.ix_patient p WHERE p.era = l.seq >> ?2 AND p.patient = l.patient"
        " AND p.time = l.time AND p.seq = l.seq)",
        "SELECT MIN(seq) FROM main.log_entries l WHERE seq <= ?1 AND on_behalf_of <> ''"
        " AND NOT EXISTS (SELECT 1 FROM ix.ix_obo o WHERE o.era = l.seq >> ?2"
        " AND o.on_behalf_of = l.on_behalf_of AND o.time = l.time AND o.seq = l.seq)",
    };
    for (size_t i = 0; i < sizeof sql / sizeof sql[0]; i++) {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(db, sql[i], -1, &st, NULL) != SQLITE_OK)
            return sql_err(db, e, "checking the index");
        sqlite3_bind_int64(st, 1, (sqlite3_int64)v->upto);
        sqlite3_bind_int(st, 2, v->era_bits);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
            uint64_t m = (uint64_t)sqlite3_column_int64(st, 0);
            if (!*missing || m < *missing)
                *missing = m;
        }
        sqlite3_finalize(st);
        if (rc != SQLITE_ROW)
            return sql_err(db, e, "checking the index");
    }
    return OB_OK;
}

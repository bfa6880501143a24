/* sqlite.c - the embedded SQLite backend of store.h.
 *
 * Schema (versioned by PRAGMA user_version; each migration runs in one transaction):
 *   v1  meta(key PRIMARY KEY, value)
 *       records(seq INTEGER PRIMARY KEY, type TEXT, json TEXT)   -- append-only
 *       items(id TEXT PRIMARY KEY, patient, category, origin, time INTEGER, source,
 *             code, value INTEGER, json)  with an index on (patient, time)
 *   v2  appointments(...) -- the appointment overview (R-APT), see appointments.c
 *   v3  item_keys(...) -- sources' identifiers of the items they write, see item_keys.c
 *   v4  source_state(...) -- when each source last delivered, interruptions (R-SRC-2)
 * The database runs in WAL mode with synchronous=FULL: a COMMIT that returned is on
 * disk. The access log's tables (log_*) share the file and are created by log_sqlite.c. */
#include "store/store.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "store/backend.h"
#include "store/sqlite/appointments.h"
#include "store/sqlite/item_keys.h"
#include "store/sqlite/log_index.h"
#include "store/sqlite/source_state.h"
#include "store/sqlite/sqlite.h"

/* Read connections (ob_store_reader_take): every read runs on a connection that no other
 * thread uses meanwhile. SQLite keeps one read transaction per connection, open until
 * the connection's last active statement is reset: with one connection shared by every
 * thread, a long statement on one thread (a statistics scan) pinned the snapshot that
 * every other thread's reads saw, so a search started after a write had answered could
 * still read the row from before it (and the appointment cache kept it: issue 24,
 * T-CONC-1). A reader taken from the pool has no active statement, so its first step
 * starts a read transaction that sees every commit made before. Each reader keeps its
 * hot statements prepared: parsing and planning a SELECT costs more than running it on
 * an indexed table (about 60% of an appointment search's SQLite time, measured). */
#define READER_STMTS 4
#define READERS_IDLE 64 /* idle readers kept; more are closed when given back */

struct ob_store_reader {
    sqlite3 *db;
    size_t nst;
    struct {
        const char *sql;
        sqlite3_stmt *st;
    } st[READER_STMTS];
    struct ob_store_reader *next; /* in the idle list */
};

struct ob_store {
    ob_store_head head; /* first: store.c dispatches on it */
    sqlite3 *db;        /* migrations and writes outside the log's transactions */
    sqlite3_stmt *put_record, *put_item;
    char *path;
    int version;
    pthread_mutex_t pool_lock;
    ob_store_reader *idle; /* under pool_lock */
    size_t nidle;
};

sqlite3_stmt *ob_sqlite_stmt(sqlite3 *db, const char *sql, ob_err *e)
{
    for (sqlite3_stmt *p = sqlite3_next_stmt(db, NULL); p; p = sqlite3_next_stmt(db, p)) {
        const char *t = sqlite3_sql(p);
        if (t && !sqlite3_stmt_busy(p) && strcmp(t, sql) == 0)
            return p;
    }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
        ob_err_set(e, OB_EIO, "preparing a statement: %s", sqlite3_errmsg(db));
        sqlite3_finalize(st);
        return NULL;
    }
    return st;
}

void ob_sqlite_done(sqlite3_stmt *st)
{
    if (st) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
}

void ob_sqlite_finalize_all(sqlite3 *db)
{
    sqlite3_stmt *st;
    while (db && (st = sqlite3_next_stmt(db, NULL)) != NULL)
        sqlite3_finalize(st);
}

static void reader_close(ob_store_reader *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nst; i++)
        sqlite3_finalize(r->st[i].st);
    sqlite3_close(r->db);
    ob_free(r);
}

/* A reader goes back to the pool only with no transaction and no statement but its own
 * (reset) ones: a statement left stepping would pin its snapshot for the next user. */
static bool reader_clean(ob_store_reader *r)
{
    if (!sqlite3_get_autocommit(r->db))
        return false;
    for (sqlite3_stmt *st = sqlite3_next_stmt(r->db, NULL); st; st = sqlite3_next_stmt(r->db, st)) {
        bool own = false;
        for (size_t i = 0; i < r->nst && !own; i++)
            own = r->st[i].st == st;
        if (!own || sqlite3_stmt_busy(st))
            return false;
    }
    return true;
}

static const char *const migrations[] = {
    /* v1 */
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE records(seq INTEGER PRIMARY KEY, type TEXT NOT NULL, json TEXT NOT NULL);"
    "CREATE TABLE items(id TEXT PRIMARY KEY, patient TEXT NOT NULL, category TEXT NOT NULL,"
    " origin TEXT NOT NULL, time INTEGER NOT NULL, source TEXT NOT NULL, code TEXT,"
    " value INTEGER NOT NULL DEFAULT 0, json TEXT NOT NULL);"
    "CREATE INDEX items_patient ON items(patient, time);",
    /* v2: the appointment overview (R-APT), schema in appointments.c */
    ob_apt_schema_sql,
    /* v3: sources' identifiers of the items they write (R-SRC-1), schema in item_keys.c */
    ob_item_keys_schema_sql,
    /* v4: the sources' state (R-SRC-2), schema in source_state.c */
    ob_source_state_schema_sql,
};

static ob_status db_err(ob_store *s, ob_err *e, const char *what)
{
    return ob_err_set(e, OB_EIO, "%s: %s", what, s->db ? sqlite3_errmsg(s->db) : "no database");
}

static ob_status exec(ob_store *s, const char *sql, ob_err *e)
{
    char *msg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        ob_status st = ob_err_set(e, OB_EIO, "database: %s", msg ? msg : "unknown error");
        sqlite3_free(msg);
        return st;
    }
    return OB_OK;
}

static ob_status migrate(ob_store *s, ob_err *e)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return db_err(s, e, "reading schema version");
    int v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    sqlite3_finalize(st);
    int target = (int)(sizeof migrations / sizeof migrations[0]);
    if (v > target)
        return ob_err_set(e, OB_EINVAL,
                          "database schema version %d is newer than this overblik (%d); "
                          "upgrade overblik",
                          v, target);
    for (; v < target; v++) {
        ob_status rc = exec(s, "BEGIN IMMEDIATE", e);
        if (rc)
            return rc;
        char pragma[64];
        snprintf(pragma, sizeof pragma, "PRAGMA user_version=%d", v + 1);
        if ((rc = exec(s, migrations[v], e)) || (rc = exec(s, pragma, e))) {
            exec(s, "ROLLBACK", NULL);
            return ob_err_wrap(e, "migrating schema to version %d", v + 1);
        }
        if ((rc = exec(s, "COMMIT", e)))
            return rc;
    }
    s->version = v;
    return OB_OK;
}

void ob_store_remove(const char *path)
{
    if (ob_store_where_is_pg(path))
        return; /* a PostgreSQL database is its operator's to drop, not ours */
    size_t n = strlen(path) + 5;
    char *side = ob_malloc(n);
    unlink(path);
    for (int i = 0; side && i < 2; i++) {
        snprintf(side, n, "%s%s", path, i ? "-shm" : "-wal");
        unlink(side);
    }
    ob_free(side);
    ob_log_index_remove(path);
}

static ob_status sq_open(const char *path, ob_store **out, ob_err *e)
{
    *out = NULL;
    ob_store *s = ob_calloc(1, sizeof *s);
    if (!s)
        return ob_err_set(e, OB_ENOMEM, "out of memory opening the store");
    s->head.ops = &ob_store_sqlite_ops;
    pthread_mutex_init(&s->pool_lock, NULL);
    s->path = ob_strdup(path);
    if (!s->path) {
        pthread_mutex_destroy(&s->pool_lock);
        ob_free(s);
        return ob_err_set(e, OB_ENOMEM, "out of memory opening the store");
    }
    ob_status rc;
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        rc = ob_err_set(e, OB_EIO, "cannot open database %s: %s", path,
                        s->db ? sqlite3_errmsg(s->db) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(s->db, 10000);
    /* SQLite opens a file it may not write read-only, and fails only at the first write
     * (or here, when it cannot make the WAL): say which file and what it needs */
    bool ro = sqlite3_db_readonly(s->db, "main") == 1;
    if (ro ||
        exec(s, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;", e)) {
        rc = ob_err_set(e, OB_EIO,
                        "cannot open database %s for writing: %s (the database, its -wal and "
                        "-shm files and %s-logindex live in that directory, which must be "
                        "writable)",
                        path, ro ? "it or its file system is read-only" : sqlite3_errmsg(s->db),
                        path);
        goto fail;
    }
    if ((rc = migrate(s, e)))
        goto fail;
    if (sqlite3_prepare_v2(s->db, "INSERT INTO records(type, json) VALUES(?1, ?2)", -1,
                           &s->put_record, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db,
                           "INSERT INTO items(id, patient, category, origin, time, source, "
                           "code, value, json) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9)",
                           -1, &s->put_item, NULL) != SQLITE_OK) {
        rc = db_err(s, e, "preparing statements");
        goto fail;
    }
    *out = s;
    return OB_OK;
fail:
    ob_store_close(s);
    return rc;
}

static void sq_close(ob_store *s)
{
    if (!s)
        return;
    sqlite3_finalize(s->put_record);
    sqlite3_finalize(s->put_item);
    while (s->idle) {
        ob_store_reader *r = s->idle;
        s->idle = r->next;
        reader_close(r);
    }
    pthread_mutex_destroy(&s->pool_lock);
    ob_sqlite_finalize_all(s->db); /* statements kept by ob_sqlite_stmt (an upsert's) */
    sqlite3_close(s->db);
    ob_free(s->path);
    ob_free(s);
}

static int sq_schema_version(const ob_store *s)
{
    return s->version;
}

static const char *sq_path(const ob_store *s)
{
    return s->path;
}

static ob_status sq_begin(ob_store *s, ob_err *e)
{
    return exec(s, "BEGIN IMMEDIATE", e);
}

static ob_status sq_commit(ob_store *s, ob_err *e)
{
    return exec(s, "COMMIT", e);
}

static void sq_rollback(ob_store *s)
{
    exec(s, "ROLLBACK", NULL);
}

static ob_status step_done(ob_store *s, sqlite3_stmt *st, ob_err *e, const char *what)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc == SQLITE_CONSTRAINT)
        return ob_err_set(e, OB_EINVAL, "%s: id already exists", what);
    if (rc != SQLITE_DONE)
        return db_err(s, e, what);
    return OB_OK;
}

static ob_status sq_put_record(ob_store *s, const char *type, const char *json, ob_err *e)
{
    sqlite3_bind_text(s->put_record, 1, type, -1, SQLITE_STATIC);
    sqlite3_bind_text(s->put_record, 2, json, -1, SQLITE_STATIC);
    return step_done(s, s->put_record, e, "storing a record");
}

void ob_sqlite_bind_item(sqlite3_stmt *st, const ob_item *it)
{
    sqlite3_bind_text(st, 1, it->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, it->patient, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, it->category, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, it->origin, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, it->time);
    sqlite3_bind_text(st, 6, it->source, -1, SQLITE_STATIC);
    if (it->code)
        sqlite3_bind_text(st, 7, it->code, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 7);
    sqlite3_bind_int64(st, 8, it->value);
    sqlite3_bind_text(st, 9, it->json, -1, SQLITE_STATIC);
}

static ob_status sq_put_item(ob_store *s, const ob_item *it, ob_err *e)
{
    ob_sqlite_bind_item(s->put_item, it);
    return step_done(s, s->put_item, e, "storing a data item");
}

/* fn in one transaction on the store's own connection (IMMEDIATE: the write lock first,
 * so a busy database waits here rather than failing at the first write). */
static ob_status sq_in_tx(ob_store *s, ob_store_tx_fn fn, void *ctx, ob_err *e)
{
    ob_status rc = exec(s, "BEGIN IMMEDIATE", e);
    if (rc)
        return rc;
    ob_store_tx tx = {&ob_store_sqlite_tx_ops, s->db};
    rc = fn(ctx, &tx, e);
    if (!rc)
        rc = exec(s, "COMMIT", e);
    if (rc)
        exec(s, "ROLLBACK", NULL);
    return rc;
}

/* Prepares sql on a reader taken for this one call (see the top of this file); read_end
 * finalizes it and gives the reader back. */
static ob_status read_begin(ob_store *s, const char *sql, const char *what, ob_store_reader **r,
                            sqlite3_stmt **st, ob_err *e)
{
    *st = NULL;
    ob_status rc = ob_store_reader_take(s, r, e);
    if (rc)
        return rc;
    if (sqlite3_prepare_v2((*r)->db, sql, -1, st, NULL) != SQLITE_OK) {
        rc = ob_err_set(e, OB_EIO, "%s: %s", what, sqlite3_errmsg((*r)->db));
        sqlite3_finalize(*st);
        ob_store_reader_give(s, *r);
        return rc;
    }
    return OB_OK;
}

static void read_end(ob_store *s, ob_store_reader *r, sqlite3_stmt *st)
{
    sqlite3_finalize(st);
    ob_store_reader_give(s, r);
}

static ob_status sq_each_record(ob_store *s, ob_record_fn fn, void *ctx, ob_err *e)
{
    ob_store_reader *rd;
    sqlite3_stmt *st;
    ob_status rc = read_begin(s, "SELECT seq, type, json FROM records ORDER BY seq",
                              "reading records", &rd, &st, e);
    if (rc)
        return rc;
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        rc = fn(ctx, sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1),
                (const char *)sqlite3_column_text(st, 2), e);
        if (rc)
            break;
    }
    if (!rc && r != SQLITE_DONE)
        rc = ob_err_set(e, OB_EIO, "reading records: %s", sqlite3_errmsg(rd->db));
    read_end(s, rd, st);
    return rc;
}

static void row_to_item(sqlite3_stmt *st, ob_item *it)
{
    it->id = (const char *)sqlite3_column_text(st, 0);
    it->patient = (const char *)sqlite3_column_text(st, 1);
    it->category = (const char *)sqlite3_column_text(st, 2);
    it->origin = (const char *)sqlite3_column_text(st, 3);
    it->time = sqlite3_column_int64(st, 4);
    it->source = (const char *)sqlite3_column_text(st, 5);
    it->code = (const char *)sqlite3_column_text(st, 6);
    it->value = sqlite3_column_int64(st, 7);
    it->json = (const char *)sqlite3_column_text(st, 8);
}

#define ITEM_COLS "id, patient, category, origin, time, source, code, value, json"

static ob_status each_item(ob_store *s, ob_store_reader *rd, sqlite3_stmt *st, ob_item_fn fn,
                           void *ctx, ob_err *e)
{
    ob_status rc = OB_OK;
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        ob_item it;
        row_to_item(st, &it);
        if ((rc = fn(ctx, &it, e)))
            break;
    }
    if (!rc && r != SQLITE_DONE)
        rc = ob_err_set(e, OB_EIO, "reading data items: %s", sqlite3_errmsg(rd->db));
    read_end(s, rd, st);
    return rc;
}

static ob_status sq_each_item(ob_store *s, const char *patient, const char *category, ob_item_fn fn,
                              void *ctx, ob_err *e)
{
    ob_store_reader *rd;
    sqlite3_stmt *st;
    const char *sql = patient ? "SELECT " ITEM_COLS " FROM items WHERE patient=?1 AND "
                                "(?2 IS NULL OR category=?2) ORDER BY time, id"
                              : "SELECT " ITEM_COLS " FROM items WHERE "
                                "(?2 IS NULL OR category=?2) ORDER BY patient, time, id";
    ob_status rc = read_begin(s, sql, "reading data items", &rd, &st, e);
    if (rc)
        return rc;
    if (patient)
        sqlite3_bind_text(st, 1, patient, -1, SQLITE_STATIC);
    if (category)
        sqlite3_bind_text(st, 2, category, -1, SQLITE_STATIC);
    return each_item(s, rd, st, fn, ctx, e);
}

static ob_status sq_get_item(ob_store *s, const char *id, ob_item_fn fn, void *ctx, ob_err *e)
{
    ob_store_reader *rd;
    sqlite3_stmt *st;
    ob_status rc = read_begin(s, "SELECT " ITEM_COLS " FROM items WHERE id=?1",
                              "reading a data item", &rd, &st, e);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    return each_item(s, rd, st, fn, ctx, e);
}

static ob_status sq_each_item_with_code(ob_store *s, const char *category, const char *code,
                                        ob_item_fn fn, void *ctx, ob_err *e)
{
    ob_store_reader *rd;
    sqlite3_stmt *st;
    ob_status rc = read_begin(s,
                              "SELECT " ITEM_COLS " FROM items WHERE category=?1 AND code=?2 "
                              "ORDER BY patient, time, id",
                              "reading data items by code", &rd, &st, e);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, category, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, code, -1, SQLITE_STATIC);
    return each_item(s, rd, st, fn, ctx, e);
}

static int64_t sq_count(ob_store *s, const char *table)
{
    char sql[96];
    if (strcmp(table, "records") != 0 && strcmp(table, "items") != 0)
        return -1;
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
    ob_store_reader *rd;
    sqlite3_stmt *st;
    if (read_begin(s, sql, "counting", &rd, &st, NULL))
        return -1;
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    read_end(s, rd, st);
    return n;
}

static ob_status sq_meta_get(ob_store *s, const char *key, char *buf, size_t cap, ob_err *e)
{
    ob_store_reader *rd;
    sqlite3_stmt *st;
    ob_status rc =
        read_begin(s, "SELECT value FROM meta WHERE key=?1", "reading settings", &rd, &st, e);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        const char *v = (const char *)sqlite3_column_text(st, 0);
        size_t n = strlen(v);
        if (n >= cap)
            rc = ob_err_set(e, OB_ELIMIT, "setting %s is too long", key);
        else
            memcpy(buf, v, n + 1);
    } else {
        rc = ob_err_set(e, OB_ENOTFOUND, "setting %s is not set", key);
    }
    read_end(s, rd, st);
    return rc;
}

static ob_status sq_meta_set(ob_store *s, const char *key, const char *value, ob_err *e)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO meta(key, value) VALUES(?1, ?2)", -1, &st,
                           NULL) != SQLITE_OK)
        return db_err(s, e, "writing settings");
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    ob_status rc = sqlite3_step(st) == SQLITE_DONE ? OB_OK : db_err(s, e, "writing settings");
    sqlite3_finalize(st);
    return rc;
}

/* ---- read connections (sqlite.h) ---- */
sqlite3 *ob_store_db(ob_store *s)
{
    return s->db;
}

ob_status ob_store_reader_take(ob_store *s, ob_store_reader **out, ob_err *e)
{
    pthread_mutex_lock(&s->pool_lock);
    ob_store_reader *r = s->idle;
    if (r) {
        s->idle = r->next;
        s->nidle--;
    }
    pthread_mutex_unlock(&s->pool_lock);
    *out = r;
    if (r)
        return OB_OK;
    r = ob_calloc(1, sizeof *r);
    if (!r)
        return ob_err_set(e, OB_ENOMEM, "out of memory opening a read connection");
    /* read-only: a reader never writes, checkpoints or removes the WAL; used by one
     * thread at a time (the pool hands it out), so it needs no mutex of its own */
    if (sqlite3_open_v2(s->path, &r->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        ob_status rc = ob_err_set(e, OB_EIO, "cannot open a read connection to %s: %s", s->path,
                                  r->db ? sqlite3_errmsg(r->db) : "out of memory");
        reader_close(r);
        return rc;
    }
    sqlite3_busy_timeout(r->db, 10000);
    *out = r;
    return OB_OK;
}

void ob_store_reader_give(ob_store *s, ob_store_reader *r)
{
    if (!r)
        return;
    /* no statement may stay active: the next user's first step must start a fresh read
     * transaction (see the top of this file) */
    for (size_t i = 0; i < r->nst; i++) {
        sqlite3_reset(r->st[i].st);
        sqlite3_clear_bindings(r->st[i].st);
    }
    pthread_mutex_lock(&s->pool_lock);
    if (s->nidle < READERS_IDLE && reader_clean(r)) {
        r->next = s->idle;
        s->idle = r;
        s->nidle++;
        r = NULL;
    }
    pthread_mutex_unlock(&s->pool_lock);
    reader_close(r);
}

sqlite3 *ob_store_reader_db(ob_store_reader *r)
{
    return r->db;
}

sqlite3_stmt *ob_store_reader_stmt(ob_store_reader *r, const char *sql, ob_err *e)
{
    for (size_t i = 0; i < r->nst; i++)
        if (r->st[i].sql == sql)
            return r->st[i].st;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v3(r->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
        ob_err_set(e, OB_EIO, "preparing a statement: %s", sqlite3_errmsg(r->db));
        sqlite3_finalize(st);
        return NULL;
    }
    if (r->nst == READER_STMTS) { /* more hot statements than expected: forget the oldest */
        sqlite3_finalize(r->st[0].st);
        memmove(&r->st[0], &r->st[1], (READER_STMTS - 1) * sizeof r->st[0]);
        r->nst--;
    }
    r->st[r->nst].sql = sql;
    r->st[r->nst].st = st;
    r->nst++;
    return st;
}

/* ---- the sources' state and identifier systems (store.h) ---- */

static ob_status sq_source_declare(ob_store *s, const char *client, ob_time since,
                                   const char *reason, ob_err *e)
{
    return ob_source_declare(s->db, client, since, reason, e);
}

static ob_status sq_source_state_each(ob_store *s, ob_source_state_fn fn, void *ctx, ob_err *e)
{
    ob_store_reader *r;
    ob_status rc = ob_store_reader_take(s, &r, e);
    if (rc)
        return rc;
    rc = ob_source_state_each(r->db, fn, ctx, e);
    ob_store_reader_give(s, r);
    return rc;
}

static ob_status sq_each_id_system(ob_store *s, ob_apt_system_fn fn, void *ctx, ob_err *e)
{
    ob_store_reader *r;
    ob_status rc = ob_store_reader_take(s, &r, e);
    if (rc)
        return rc;
    rc = ob_apt_each_system(r->db, fn, ctx, e);
    ob_store_reader_give(s, r);
    return rc;
}

const ob_store_ops ob_store_sqlite_ops = {
    .name = "sqlite",
    .open_store = sq_open,
    .close_store = sq_close,
    .schema_version = sq_schema_version,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .put_record = sq_put_record,
    .put_item = sq_put_item,
    .each_record = sq_each_record,
    .each_item = sq_each_item,
    .get_item = sq_get_item,
    .each_item_with_code = sq_each_item_with_code,
    .count = sq_count,
    .meta_get = sq_meta_get,
    .meta_set = sq_meta_set,
    .path = sq_path,
    .apt_upsert = ob_sqlite_apt_upsert,
    .in_tx = sq_in_tx,
    .source_declare = sq_source_declare,
    .source_state_each = sq_source_state_each,
    .each_id_system = sq_each_id_system,
    .apt_each_patient = ob_apt_each_patient_pooled,
    .apt_get = ob_sqlite_apt_get,
    .apt_find_key = ob_sqlite_apt_find_key,
    .stats = &ob_stats_sqlite_ops,
};

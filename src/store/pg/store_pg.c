/* store_pg.c - store.h on PostgreSQL (issue 18): the records, data items and settings in a
 * database named by a postgresql:// URI (libpq; several hosts with
 * target_session_attrs=read-write follow a failover).
 *
 * The same tables and the same answers as the SQLite backend (store/sqlite/sqlite.c), so
 * that one test suite runs on both (tests/unit/store/test_store.c):
 *   v1  store_meta(key, value), store_records(seq, type, json) (append-only),
 *       store_items(id, patient, category, origin, time, source, code, value, json)
 *   v2  store_appointments(...) (R-APT; the columns of store/sqlite/appointments.c)
 *   v3  store_item_keys(...), v4 store_source_state(...) (R-SRC-1, R-SRC-2), as SQLite's
 *   v5  the statistics' tables (store/pg/stats_pg.c)
 * The writes of a change's transaction (store.h's ob_tx_*) run on the connection that
 * holds the transaction: the store's writer in ob_store_in_tx.
 * Text columns compare with COLLATE "C", bytewise as SQLite does, so items come back in
 * the same order on both. The schema's version is in store_schema; migrations run under
 * an advisory transaction lock, so servers starting together agree.
 *
 * Connections: one for writes (and ob_store_begin/commit), used under a mutex; reads take
 * a connection of their own from a pool, so a read sees every commit made before it
 * started and never the writer's open transaction (as a SQLite reader does), and a read's
 * callback may read again. Rows stream in libpq's single-row mode: replaying millions of
 * records does not hold them all in memory. synchronous_commit is on for every session: a
 * COMMIT that returned is on disk (and on a synchronous standby, docs/failover.md).
 *
 * The hub's changes call the writes of store.h's ob_tx_* inside the log's transaction
 * (store/pg/log_pg.c), on the log's connection. */
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "store/backend.h"
#include "store/pg/store_pg.h"
#include "store/store.h"

#define STORE_LOCK_SQL "SELECT pg_advisory_xact_lock(7236385392118853889)" /* "ob-store" */
#define READERS_IDLE   16

#define READER_STMTS 16

/* A read connection and the statements prepared on it, by the address of their SQL (each
 * read passes a string literal): parsing and planning a short indexed SELECT costs about as
 * much as running it. */
typedef struct reader {
    PGconn *c;
    const char *sql[READER_STMTS];
    size_t nsql;
    struct reader *next;
} reader;

struct ob_store {
    ob_store_head head; /* first: store.c dispatches on it */
    char *conninfo;     /* as given: may hold a password, never printed */
    char *where;        /* host:port/dbname, for messages */
    int version;
    pthread_mutex_t wlock; /* the writer connection and its transaction */
    PGconn *w;
    pthread_mutex_t pool_lock;
    reader *idle;
    size_t nidle;
};

/* The first line of libpq's message; never the conninfo. */
static ob_status pg_err(ob_err *e, PGconn *c, const char *what)
{
    const char *m = c ? PQerrorMessage(c) : "";
    size_t n = strcspn(m, "\n");
    return ob_err_set(e, OB_EIO, "database: %s: %.*s", what, (int)n, m);
}

static ob_status result_err(ob_err *e, PGconn *c, PGresult *r, const char *what)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    if (state && strcmp(state, "23505") == 0) /* unique_violation */
        return ob_err_set(e, OB_EINVAL, "%s: id already exists", what);
    return pg_err(e, c, what);
}

static ob_status exec_ok(PGconn *c, const char *sql, ExecStatusType want, const char *what,
                         ob_err *e)
{
    PGresult *r = PQexec(c, sql);
    ob_status rc = PQresultStatus(r) == want ? OB_OK : result_err(e, c, r, what);
    PQclear(r);
    return rc;
}

/* Every connection's settings; a session stalled inside a transaction (its process
 * stopped, a VM paused) is ended after 30 s, its locks with it (T-DB-10) */
#define SESSION_SQL                                                                                \
    "SET synchronous_commit = on; SET client_min_messages = warning; SET "                         \
    "idle_in_transaction_session_timeout = 30000"

static ob_status connect_db(const ob_store *s, PGconn **out, ob_err *e)
{
    PGconn *c = PQconnectdb(s->conninfo);
    if (!c)
        return ob_err_set(e, OB_ENOMEM, "out of memory connecting to PostgreSQL");
    ob_status rc = PQstatus(c) == CONNECTION_OK
                       ? exec_ok(c, SESSION_SQL, PGRES_COMMAND_OK, "setting up the session", e)
                       : pg_err(e, c, "connecting");
    if (rc) {
        PQfinish(c);
        return rc;
    }
    *out = c;
    return OB_OK;
}

/* host:port/dbname of the URI, without user and password (safe in messages). */
static char *describe(const char *conninfo)
{
    char *errmsg = NULL;
    PQconninfoOption *o = PQconninfoParse(conninfo, &errmsg);
    PQfreemem(errmsg);
    const char *host = "", *port = "", *db = "";
    for (PQconninfoOption *p = o; p && p->keyword; p++) {
        if (!p->val)
            continue;
        if (strcmp(p->keyword, "host") == 0)
            host = p->val;
        else if (strcmp(p->keyword, "port") == 0)
            port = p->val;
        else if (strcmp(p->keyword, "dbname") == 0)
            db = p->val;
    }
    size_t n = strlen(host) + strlen(port) + strlen(db) + 32;
    char *out = ob_malloc(n);
    if (out)
        snprintf(out, n, "postgresql://%s%s%s/%s", host, *port ? ":" : "", port, db);
    PQconninfoFree(o);
    return out;
}

/* ---- the schema ---- */

static const char *const migrations[] = {
    /* v1: the tables of store.h, as SQLite's v1 */
    "CREATE TABLE store_meta (key text COLLATE \"C\" PRIMARY KEY, value text NOT NULL);"
    "CREATE TABLE store_records (seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " type text NOT NULL, json text NOT NULL);"
    "CREATE TABLE store_items (id text COLLATE \"C\" PRIMARY KEY,"
    " patient text COLLATE \"C\" NOT NULL, category text COLLATE \"C\" NOT NULL,"
    " origin text NOT NULL, time bigint NOT NULL, source text NOT NULL,"
    " code text COLLATE \"C\", value bigint NOT NULL DEFAULT 0, json text NOT NULL);"
    "CREATE INDEX store_items_patient ON store_items (patient, time);"
    "CREATE INDEX store_items_code ON store_items (category, code, patient);",
    /* v2: the appointment overview (R-APT), as SQLite's v2 (store/sqlite/appointments.c) */
    "CREATE TABLE store_appointments (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " source text NOT NULL, ident_system text NOT NULL, ident_value text NOT NULL,"
    " patient text COLLATE \"C\" NOT NULL, start bigint NOT NULL, end_time bigint NOT NULL,"
    " fictive_end int NOT NULL, address text, clinic text NOT NULL, status text NOT NULL,"
    " shared int NOT NULL, version bigint NOT NULL, updated bigint NOT NULL,"
    " UNIQUE (source, ident_system, ident_value));"
    "CREATE INDEX store_appointments_patient ON store_appointments (patient, start);",
    /* v3: sources' identifiers of the items they write (R-SRC-1), as store/sqlite/item_keys.c */
    "CREATE TABLE store_item_keys (n bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " source text NOT NULL, ident_system text NOT NULL, ident_value text NOT NULL,"
    " category text NOT NULL, patient text NOT NULL, version bigint NOT NULL,"
    " withdrawn int NOT NULL, updated bigint NOT NULL,"
    " UNIQUE (source, ident_system, ident_value));",
    /* v4: the sources' state (R-SRC-2), as store/sqlite/source_state.c */
    ("CREATE TABLE store_source_state (client text PRIMARY KEY, last_update bigint NOT NULL,"
     " since bigint NOT NULL, reason text);"),
    /* v5: the statistics' releases, budget and uses (store/pg/stats_pg.c) */
    ob_stats_pg_schema,
};

static ob_status migrate(ob_store *s, ob_err *e)
{
    PGconn *c = s->w;
    ob_status rc = exec_ok(c, "BEGIN", PGRES_COMMAND_OK, "migrating", e);
    if (!rc)
        rc = exec_ok(c, STORE_LOCK_SQL, PGRES_TUPLES_OK, "migrating", e);
    if (!rc)
        rc = exec_ok(c,
                     "CREATE TABLE IF NOT EXISTS store_schema (id int PRIMARY KEY CHECK (id = 1),"
                     " version int NOT NULL);"
                     "INSERT INTO store_schema VALUES (1, 0) ON CONFLICT DO NOTHING",
                     PGRES_COMMAND_OK, "migrating", e);
    int v = 0, target = (int)(sizeof migrations / sizeof migrations[0]);
    if (!rc) {
        PGresult *r = PQexec(c, "SELECT version FROM store_schema WHERE id = 1");
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
            v = (int)strtol(PQgetvalue(r, 0, 0), NULL, 10);
        else
            rc = pg_err(e, c, "reading the schema version");
        PQclear(r);
    }
    if (!rc && v > target)
        rc = ob_err_set(e, OB_EINVAL,
                        "database schema version %d is newer than this overblik (%d); "
                        "upgrade overblik",
                        v, target);
    for (; !rc && v < target; v++) {
        char set[80];
        snprintf(set, sizeof set, "UPDATE store_schema SET version = %d WHERE id = 1", v + 1);
        if ((rc = exec_ok(c, migrations[v], PGRES_COMMAND_OK, "migrating", e)) ||
            (rc = exec_ok(c, set, PGRES_COMMAND_OK, "migrating", e)))
            rc = ob_err_wrap(e, "migrating schema to version %d", v + 1);
    }
    if (!rc)
        rc = exec_ok(c, "COMMIT", PGRES_COMMAND_OK, "migrating", e);
    else
        PQclear(PQexec(c, "ROLLBACK"));
    s->version = v;
    return rc;
}

static void pg_close(ob_store *s)
{
    if (!s)
        return;
    PQfinish(s->w);
    for (reader *r = s->idle, *next; r; r = next) {
        next = r->next;
        PQfinish(r->c);
        ob_free(r);
    }
    pthread_mutex_destroy(&s->wlock);
    pthread_mutex_destroy(&s->pool_lock);
    ob_free(s->conninfo);
    ob_free(s->where);
    ob_free(s);
}

static ob_status pg_open(const char *where, ob_store **out, ob_err *e)
{
    *out = NULL;
    ob_store *s = ob_calloc(1, sizeof *s);
    if (!s)
        return ob_err_set(e, OB_ENOMEM, "out of memory opening the store");
    s->head.ops = &ob_store_pg_ops;
    pthread_mutex_init(&s->wlock, NULL);
    pthread_mutex_init(&s->pool_lock, NULL);
    s->conninfo = ob_strdup(where);
    s->where = describe(where);
    ob_status rc;
    if (!s->conninfo || !s->where)
        rc = ob_err_set(e, OB_ENOMEM, "out of memory opening the store");
    else if (!(rc = connect_db(s, &s->w, e)))
        rc = migrate(s, e);
    if (rc) {
        rc = ob_err_wrap(e, "opening %s", s->where ? s->where : "the PostgreSQL store");
        pg_close(s);
        return rc;
    }
    *out = s;
    return OB_OK;
}

static int pg_schema_version(const ob_store *s)
{
    return s->version;
}

static const char *pg_path(const ob_store *s)
{
    return s->where;
}

/* ---- writes: the writer connection ---- */

/* The writer connection again after the server went away (a failover: a multi-host URI
 * with target_session_attrs=read-write finds the new primary). Under wlock. A transaction
 * that was open is lost with the old connection: its COMMIT then fails, as it must. */
static void writer_alive(ob_store *s)
{
    if (PQstatus(s->w) == CONNECTION_OK)
        return;
    PQreset(s->w);
    if (PQstatus(s->w) == CONNECTION_OK)
        PQclear(PQexec(s->w, SESSION_SQL));
}

/* Runs one statement with text parameters on the writer connection. */
static ob_status write_params(ob_store *s, const char *sql, int n, const char *const *vals,
                              const char *what, ob_err *e)
{
    pthread_mutex_lock(&s->wlock);
    writer_alive(s);
    PGresult *r = PQexecParams(s->w, sql, n, NULL, vals, NULL, NULL, 0);
    ob_status rc = PQresultStatus(r) == PGRES_COMMAND_OK ? OB_OK : result_err(e, s->w, r, what);
    PQclear(r);
    pthread_mutex_unlock(&s->wlock);
    return rc;
}

/* COMMIT, checked: in a transaction an earlier statement aborted, PostgreSQL answers COMMIT
 * with "ROLLBACK" and a success status, so the status alone would report a commit that
 * did not happen. */
static ob_status commit_checked(PGconn *c, ob_err *e)
{
    PGresult *r = PQexec(c, "COMMIT");
    ob_status rc = OB_OK;
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        rc = pg_err(e, c, "committing");
    else if (strcmp(PQcmdStatus(r), "COMMIT") != 0)
        rc = ob_err_set(e, OB_EIO,
                        "database: committing: the transaction had failed and was "
                        "rolled back");
    PQclear(r);
    return rc;
}

static ob_status tx(ob_store *s, const char *sql, ob_err *e)
{
    pthread_mutex_lock(&s->wlock);
    writer_alive(s);
    ob_status rc = exec_ok(s->w, sql, PGRES_COMMAND_OK, sql, e);
    pthread_mutex_unlock(&s->wlock);
    return rc;
}

static ob_status pg_begin(ob_store *s, ob_err *e)
{
    return tx(s, "BEGIN", e);
}

static ob_status pg_commit(ob_store *s, ob_err *e)
{
    pthread_mutex_lock(&s->wlock);
    writer_alive(s);
    ob_status rc = commit_checked(s->w, e);
    pthread_mutex_unlock(&s->wlock);
    return rc;
}

static void pg_rollback(ob_store *s)
{
    tx(s, "ROLLBACK", NULL);
}

static ob_status pg_meta_set(ob_store *s, const char *key, const char *value, ob_err *e)
{
    const char *vals[2] = {key, value};
    return write_params(s,
                        "INSERT INTO store_meta (key, value) VALUES ($1, $2)"
                        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                        2, vals, "writing settings", e);
}

/* ---- reads: a pooled connection each, rows one at a time ---- */

static ob_status reader_take(ob_store *s, reader **out, ob_err *e)
{
    *out = NULL;
    pthread_mutex_lock(&s->pool_lock);
    reader *r = s->idle;
    if (r) {
        s->idle = r->next;
        s->nidle--;
    }
    pthread_mutex_unlock(&s->pool_lock);
    if (r) {
        if (PQstatus(r->c) == CONNECTION_OK) {
            *out = r;
            return OB_OK;
        }
        PQreset(r->c); /* the server went away (a failover): connect again */
        r->nsql = 0;   /* and with it the statements prepared there */
        if (PQstatus(r->c) == CONNECTION_OK) {
            *out = r;
            return OB_OK;
        }
        PQfinish(r->c);
        ob_free(r);
    }
    r = ob_calloc(1, sizeof *r);
    if (!r)
        return ob_err_set(e, OB_ENOMEM, "out of memory reading the store");
    ob_status rc = connect_db(s, &r->c, e);
    if (rc) {
        ob_free(r);
        return rc;
    }
    *out = r;
    return OB_OK;
}

static void reader_give(ob_store *s, reader *r);

ob_status ob_store_pg_conn_take(ob_store *s, PGconn **c, void **token, ob_err *e)
{
    reader *r = NULL;
    ob_status rc = reader_take(s, &r, e);
    *c = r ? r->c : NULL;
    *token = r;
    return rc;
}

void ob_store_pg_conn_give(ob_store *s, void *token)
{
    reader_give(s, token);
}

static void reader_give(ob_store *s, reader *r)
{
    pthread_mutex_lock(&s->pool_lock);
    if (s->nidle < READERS_IDLE && PQstatus(r->c) == CONNECTION_OK &&
        PQtransactionStatus(r->c) == PQTRANS_IDLE) {
        r->next = s->idle;
        s->idle = r;
        s->nidle++;
        r = NULL;
    }
    pthread_mutex_unlock(&s->pool_lock);
    if (r) {
        PQfinish(r->c);
        ob_free(r);
    }
}

typedef ob_status (*row_fn)(void *ctx, PGresult *row, ob_err *e);

/* Runs a query with text parameters on a reader and calls fn for each row as it arrives.
 * When fn fails the rest is drained (the connection goes back clean) and fn's error
 * returned. */
static ob_status read_rows(ob_store *s, const char *sql, int n, const char *const *vals,
                           const char *what, row_fn fn, void *ctx, ob_err *e)
{
    reader *rd = NULL;
    ob_status rc = reader_take(s, &rd, e);
    if (rc)
        return rc;
    PGconn *c = rd->c;
    char name[24] = "";
    for (size_t i = 0; i < rd->nsql && !name[0]; i++)
        if (rd->sql[i] == sql)
            snprintf(name, sizeof name, "r%zu", i);
    if (!name[0] && rd->nsql < READER_STMTS) {
        snprintf(name, sizeof name, "r%zu", rd->nsql);
        PGresult *p = PQprepare(c, name, sql, n, NULL);
        if (PQresultStatus(p) == PGRES_COMMAND_OK)
            rd->sql[rd->nsql++] = sql;
        else
            name[0] = '\0'; /* run it unprepared; the error, if any, comes from the run */
        PQclear(p);
    }
    int sent = name[0] ? PQsendQueryPrepared(c, name, n, vals, NULL, NULL, 0)
                       : PQsendQueryParams(c, sql, n, NULL, vals, NULL, NULL, 0);
    if (!sent || !PQsetSingleRowMode(c)) {
        rc = pg_err(e, c, what);
        PQclear(PQgetResult(c));
        reader_give(s, rd);
        return rc;
    }
    bool failed = false;
    PGresult *r;
    while ((r = PQgetResult(c))) {
        ExecStatusType st = PQresultStatus(r);
        if (!failed && st == PGRES_SINGLE_TUPLE) {
            if ((rc = fn(ctx, r, e)))
                failed = true;
        } else if (!failed && st != PGRES_TUPLES_OK) {
            rc = pg_err(e, c, what);
            failed = true;
        }
        PQclear(r);
    }
    reader_give(s, rd);
    return rc;
}

static const char *text_or_null(PGresult *r, int col)
{
    return PQgetisnull(r, 0, col) ? NULL : PQgetvalue(r, 0, col);
}

typedef struct record_ctx {
    ob_record_fn fn;
    void *ctx;
} record_ctx;

static ob_status record_row(void *ctx, PGresult *r, ob_err *e)
{
    record_ctx *rc = ctx;
    return rc->fn(rc->ctx, strtoll(PQgetvalue(r, 0, 0), NULL, 10), PQgetvalue(r, 0, 1),
                  PQgetvalue(r, 0, 2), e);
}

static ob_status pg_each_record(ob_store *s, ob_record_fn fn, void *ctx, ob_err *e)
{
    record_ctx rc = {fn, ctx};
    return read_rows(s, "SELECT seq, type, json FROM store_records ORDER BY seq", 0, NULL,
                     "reading records", record_row, &rc, e);
}

/* Records after `after` through `through`, in seq order: what another server committed,
 * for the hub's replay of the changes it hears of (store_pg.h). */
ob_status ob_store_pg_each_record_between(ob_store *s, int64_t after, int64_t through,
                                          ob_record_fn fn, void *ctx, ob_err *e)
{
    if (((const ob_store_head *)(const void *)s)->ops != &ob_store_pg_ops)
        return ob_err_set(e, OB_EINVAL, "not a PostgreSQL store");
    char a[24], t[24];
    snprintf(a, sizeof a, "%lld", (long long)after);
    snprintf(t, sizeof t, "%lld", (long long)through);
    const char *vals[2] = {a, t};
    record_ctx rc = {fn, ctx};
    return read_rows(s,
                     "SELECT seq, type, json FROM store_records WHERE seq > $1::bigint AND"
                     " seq <= $2::bigint ORDER BY seq",
                     2, vals, "reading records", record_row, &rc, e);
}

#define ITEM_COLS "id, patient, category, origin, time, source, code, value, json"

typedef struct item_ctx {
    ob_item_fn fn;
    void *ctx;
} item_ctx;

static ob_status item_row(void *ctx, PGresult *r, ob_err *e)
{
    item_ctx *ic = ctx;
    ob_item it = {
        .id = PQgetvalue(r, 0, 0),
        .patient = PQgetvalue(r, 0, 1),
        .category = PQgetvalue(r, 0, 2),
        .origin = PQgetvalue(r, 0, 3),
        .time = strtoll(PQgetvalue(r, 0, 4), NULL, 10),
        .source = PQgetvalue(r, 0, 5),
        .code = text_or_null(r, 6),
        .value = strtoll(PQgetvalue(r, 0, 7), NULL, 10),
        .json = PQgetvalue(r, 0, 8),
    };
    return ic->fn(ic->ctx, &it, e);
}

static ob_status pg_each_item(ob_store *s, const char *patient, const char *category, ob_item_fn fn,
                              void *ctx, ob_err *e)
{
    item_ctx ic = {fn, ctx};
    const char *vals[2] = {category, patient};
    const char *sql = patient ? "SELECT " ITEM_COLS " FROM store_items WHERE patient = $2 AND"
                                " ($1::text IS NULL OR category = $1) ORDER BY time, id"
                              : "SELECT " ITEM_COLS " FROM store_items WHERE"
                                " ($1::text IS NULL OR category = $1) ORDER BY patient, time, id";
    return read_rows(s, sql, patient ? 2 : 1, vals, "reading data items", item_row, &ic, e);
}

static ob_status pg_get_item(ob_store *s, const char *id, ob_item_fn fn, void *ctx, ob_err *e)
{
    item_ctx ic = {fn, ctx};
    const char *vals[1] = {id};
    return read_rows(s, "SELECT " ITEM_COLS " FROM store_items WHERE id = $1", 1, vals,
                     "reading a data item", item_row, &ic, e);
}

static ob_status pg_each_item_with_code(ob_store *s, const char *category, const char *code,
                                        ob_item_fn fn, void *ctx, ob_err *e)
{
    item_ctx ic = {fn, ctx};
    const char *vals[2] = {category, code};
    return read_rows(s,
                     "SELECT " ITEM_COLS " FROM store_items WHERE category = $1 AND code = $2"
                     " ORDER BY patient, time, id",
                     2, vals, "reading data items by code", item_row, &ic, e);
}

static ob_status count_row(void *ctx, PGresult *r, ob_err *e)
{
    (void)e;
    *(int64_t *)ctx = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    return OB_OK;
}

static int64_t pg_count(ob_store *s, const char *table)
{
    const char *sql = strcmp(table, "records") == 0 ? "SELECT count(*) FROM store_records"
                      : strcmp(table, "items") == 0 ? "SELECT count(*) FROM store_items"
                                                    : NULL;
    int64_t n = -1;
    if (!sql || read_rows(s, sql, 0, NULL, "counting", count_row, &n, NULL))
        return -1;
    return n;
}

typedef struct meta_ctx {
    const char *key;
    char *buf;
    size_t cap;
    bool found;
} meta_ctx;

static ob_status meta_row(void *ctx, PGresult *r, ob_err *e)
{
    meta_ctx *m = ctx;
    const char *v = PQgetvalue(r, 0, 0);
    size_t n = strlen(v);
    m->found = true;
    if (n >= m->cap)
        return ob_err_set(e, OB_ELIMIT, "setting %s is too long", m->key);
    memcpy(m->buf, v, n + 1);
    return OB_OK;
}

static ob_status pg_meta_get(ob_store *s, const char *key, char *buf, size_t cap, ob_err *e)
{
    meta_ctx m = {key, buf, cap, false};
    const char *vals[1] = {key};
    ob_status rc = read_rows(s, "SELECT value FROM store_meta WHERE key = $1", 1, vals,
                             "reading settings", meta_row, &m, e);
    if (!rc && !m.found)
        rc = ob_err_set(e, OB_ENOTFOUND, "setting %s is not set", key);
    return rc;
}

/* ---- the appointment overview ---- */

#define APT_COLS                                                                                   \
    "id, source, ident_system, ident_value, patient, start, end_time, fictive_end, address, "      \
    "clinic, status, shared, version, updated"

static ob_status pg_apt_upsert(ob_store *s, ob_apt *a, bool *created, ob_err *e)
{
    char start[24], end[24], fictive[4], shared[4], updated[24];
    snprintf(start, sizeof start, "%lld", (long long)a->start);
    snprintf(end, sizeof end, "%lld", (long long)a->end);
    snprintf(fictive, sizeof fictive, "%d", a->fictive_end ? 1 : 0);
    snprintf(shared, sizeof shared, "%d", a->shared ? 1 : 0);
    snprintf(updated, sizeof updated, "%lld", (long long)a->updated);
    const char *vals[12] = {a->source, a->system ? a->system : "",
                            a->value,  a->patient,
                            start,     end,
                            fictive,   a->address,
                            a->clinic, a->status,
                            shared,    updated};
    pthread_mutex_lock(&s->wlock);
    writer_alive(s);
    /* one statement: the key's row is created or updated atomically, whoever else writes */
    PGresult *r = PQexecParams(
        s->w,
        "INSERT INTO store_appointments (source, ident_system, ident_value, patient, start,"
        " end_time, fictive_end, address, clinic, status, shared, version, updated)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1, $12)"
        " ON CONFLICT (source, ident_system, ident_value) DO UPDATE SET"
        " patient = excluded.patient, start = excluded.start, end_time = excluded.end_time,"
        " fictive_end = excluded.fictive_end, address = excluded.address,"
        " clinic = excluded.clinic, status = excluded.status, shared = excluded.shared,"
        " version = store_appointments.version + 1, updated = excluded.updated"
        " RETURNING id, version",
        12, NULL, vals, NULL, NULL, 0);
    ob_status rc = OB_OK;
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        rc = result_err(e, s->w, r, "storing an appointment");
    } else {
        a->id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        a->version = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
        if (created)
            *created = a->version == 1;
    }
    PQclear(r);
    pthread_mutex_unlock(&s->wlock);
    return rc;
}

typedef struct apt_ctx {
    ob_apt_fn fn;
    void *ctx;
} apt_ctx;

static ob_status apt_row(void *ctx, PGresult *r, ob_err *e)
{
    apt_ctx *ac = ctx;
    ob_apt a = {
        .id = strtoll(PQgetvalue(r, 0, 0), NULL, 10),
        .source = PQgetvalue(r, 0, 1),
        .system = PQgetvalue(r, 0, 2),
        .value = PQgetvalue(r, 0, 3),
        .patient = PQgetvalue(r, 0, 4),
        .start = strtoll(PQgetvalue(r, 0, 5), NULL, 10),
        .end = strtoll(PQgetvalue(r, 0, 6), NULL, 10),
        .fictive_end = strcmp(PQgetvalue(r, 0, 7), "0") != 0,
        .address = text_or_null(r, 8),
        .clinic = PQgetvalue(r, 0, 9),
        .status = PQgetvalue(r, 0, 10),
        .shared = strcmp(PQgetvalue(r, 0, 11), "0") != 0,
        .version = strtoll(PQgetvalue(r, 0, 12), NULL, 10),
        .updated = strtoll(PQgetvalue(r, 0, 13), NULL, 10),
    };
    return ac->fn(ac->ctx, &a, e);
}

static ob_status pg_apt_each_patient(ob_store *s, const char *patient, ob_apt_fn fn, void *ctx,
                                     ob_err *e)
{
    apt_ctx ac = {fn, ctx};
    const char *vals[1] = {patient};
    return read_rows(s,
                     "SELECT " APT_COLS " FROM store_appointments WHERE patient = $1"
                     " ORDER BY start, id",
                     1, vals, "reading appointments", apt_row, &ac, e);
}

static ob_status pg_apt_get(ob_store *s, int64_t id, ob_apt_fn fn, void *ctx, ob_err *e)
{
    apt_ctx ac = {fn, ctx};
    char idv[24];
    snprintf(idv, sizeof idv, "%lld", (long long)id);
    const char *vals[1] = {idv};
    return read_rows(s, "SELECT " APT_COLS " FROM store_appointments WHERE id = $1", 1, vals,
                     "reading an appointment", apt_row, &ac, e);
}

static ob_status pg_apt_find_key(ob_store *s, const char *source, const char *system,
                                 const char *value, ob_apt_fn fn, void *ctx, ob_err *e)
{
    apt_ctx ac = {fn, ctx};
    const char *vals[3] = {source, system ? system : "", value};
    return read_rows(s,
                     "SELECT " APT_COLS " FROM store_appointments WHERE source = $1 AND"
                     " ident_system = $2 AND ident_value = $3",
                     3, vals, "reading an appointment", apt_row, &ac, e);
}

/* ---- writes inside a change's transaction (store.h's ob_tx_*) ---- */

static PGconn *conn_of(ob_store_tx *tx)
{
    return tx->conn;
}

/* One statement with text parameters; want PGRES_COMMAND_OK or PGRES_TUPLES_OK. The
 * result is given back in *out (may be NULL: cleared here). */
static ob_status tx_exec(ob_store_tx *tx, const char *sql, int n, const char *const *vals,
                         ExecStatusType want, const char *what, PGresult **out, ob_err *e)
{
    PGconn *c = conn_of(tx);
    PGresult *r = PQexecParams(c, sql, n, NULL, vals, NULL, NULL, 0);
    ob_status rc = PQresultStatus(r) == want ? OB_OK : result_err(e, c, r, what);
    if (out && !rc)
        *out = r;
    else
        PQclear(r);
    return rc;
}

static ob_status tx_put_record(ob_store_tx *tx, const char *type, const char *json, ob_err *e)
{
    const char *vals[2] = {type, json};
    return tx_exec(tx, "INSERT INTO store_records (type, json) VALUES ($1, $2)", 2, vals,
                   PGRES_COMMAND_OK, "storing a record", NULL, e);
}

ob_status ob_store_pg_records_through(ob_store_tx *tx, int64_t *seq, ob_err *e)
{
    if (!tx || tx->ops != &ob_store_pg_tx_ops)
        return ob_err_set(e, OB_EINVAL, "not a PostgreSQL transaction");
    PGresult *r = NULL;
    ob_status rc = tx_exec(tx, "SELECT coalesce(max(seq), 0) FROM store_records", 0, NULL,
                           PGRES_TUPLES_OK, "reading the newest record", &r, e);
    if (!rc) {
        *seq = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
    }
    return rc;
}

static ob_status tx_item(ob_store_tx *tx, const ob_item *it, bool replace, ob_err *e)
{
    char tm[24], val[24];
    snprintf(tm, sizeof tm, "%lld", (long long)it->time);
    snprintf(val, sizeof val, "%lld", (long long)it->value);
    const char *vals[9] = {it->id,     it->patient, it->category, it->origin, tm,
                           it->source, it->code,    val,          it->json};
    return tx_exec(tx,
                   replace ? "INSERT INTO store_items (id, patient, category, origin, time, source,"
                             " code, value, json) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
                             " ON CONFLICT (id) DO UPDATE SET patient = excluded.patient,"
                             " category = excluded.category, origin = excluded.origin,"
                             " time = excluded.time, source = excluded.source,"
                             " code = excluded.code, value = excluded.value, json = excluded.json"
                           : "INSERT INTO store_items (id, patient, category, origin, time, source,"
                             " code, value, json) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                   9, vals, PGRES_COMMAND_OK, replace ? "writing an item" : "storing a data item",
                   NULL, e);
}

static ob_status tx_put_item(ob_store_tx *tx, const ob_item *it, ob_err *e)
{
    return tx_item(tx, it, false, e);
}

static ob_status tx_item_row_replace(ob_store_tx *tx, const ob_item *it, ob_err *e)
{
    return tx_item(tx, it, true, e);
}

static ob_status tx_item_row_delete(ob_store_tx *tx, const char *id, ob_err *e)
{
    const char *vals[1] = {id};
    return tx_exec(tx, "DELETE FROM store_items WHERE id = $1", 1, vals, PGRES_COMMAND_OK,
                   "deleting an item", NULL, e);
}

static ob_status tx_apt_find_key(ob_store_tx *tx, const char *source, const char *system,
                                 const char *value, ob_apt_fn fn, void *ctx, ob_err *e)
{
    const char *vals[3] = {source, system ? system : "", value};
    PGresult *r = NULL;
    ob_status rc = tx_exec(tx,
                           "SELECT " APT_COLS " FROM store_appointments WHERE source = $1 AND"
                           " ident_system = $2 AND ident_value = $3",
                           3, vals, PGRES_TUPLES_OK, "reading an appointment", &r, e);
    if (!rc && PQntuples(r) == 1) {
        apt_ctx ac = {fn, ctx};
        rc = apt_row(&ac, r, e);
    }
    PQclear(r);
    return rc;
}

static ob_status tx_apt_store(ob_store_tx *tx, ob_apt *a, int64_t id, int64_t version,
                              bool *created, ob_err *e)
{
    char start[24], end[24], fictive[4], shared[4], updated[24], ver[24], idv[24];
    a->version = id ? version + 1 : 1;
    snprintf(start, sizeof start, "%lld", (long long)a->start);
    snprintf(end, sizeof end, "%lld", (long long)a->end);
    snprintf(fictive, sizeof fictive, "%d", a->fictive_end ? 1 : 0);
    snprintf(shared, sizeof shared, "%d", a->shared ? 1 : 0);
    snprintf(updated, sizeof updated, "%lld", (long long)a->updated);
    snprintf(ver, sizeof ver, "%lld", (long long)a->version);
    snprintf(idv, sizeof idv, "%lld", (long long)id);
    const char *vals[14] = {a->source, a->system ? a->system : "",
                            a->value,  a->patient,
                            start,     end,
                            fictive,   a->address,
                            a->clinic, a->status,
                            shared,    ver,
                            updated,   idv};
    PGresult *r = NULL;
    ob_status rc =
        id ? tx_exec(tx,
                     "UPDATE store_appointments SET patient = $4, start = $5, end_time = $6,"
                     " fictive_end = $7, address = $8, clinic = $9, status = $10, shared = $11,"
                     " version = $12, updated = $13 WHERE id = $14 AND source = $1 AND"
                     " ident_system = $2 AND ident_value = $3 RETURNING id",
                     14, vals, PGRES_TUPLES_OK, "storing an appointment", &r, e)
           : tx_exec(tx,
                     "INSERT INTO store_appointments (source, ident_system, ident_value, patient,"
                     " start, end_time, fictive_end, address, clinic, status, shared, version,"
                     " updated) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
                     " RETURNING id",
                     13, vals, PGRES_TUPLES_OK, "storing an appointment", &r, e);
    if (!rc && PQntuples(r) != 1)
        rc = ob_err_set(e, OB_EIO, "storing an appointment: the row is gone");
    if (!rc) {
        a->id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        if (created)
            *created = id == 0;
    }
    PQclear(r);
    return rc;
}

static ob_status found_idver(void *ctx, const ob_apt *a, ob_err *e)
{
    (void)e;
    int64_t *idver = ctx;
    idver[0] = a->id;
    idver[1] = a->version;
    return OB_OK;
}

static ob_status tx_apt_upsert(ob_store_tx *tx, ob_apt *a, bool *created, ob_err *e)
{
    int64_t idver[2] = {0, 0};
    ob_status rc = tx_apt_find_key(tx, a->source, a->system, a->value, found_idver, idver, e);
    return rc ? rc : tx_apt_store(tx, a, idver[0], idver[1], created, e);
}

static ob_status tx_item_key_find(ob_store_tx *tx, const char *source, const char *system,
                                  const char *value, ob_item_key *out, bool *found, ob_err *e)
{
    memset(out, 0, sizeof *out);
    *found = false;
    const char *vals[3] = {source, system, value};
    PGresult *r = NULL;
    ob_status rc = tx_exec(tx,
                           "SELECT n, category, patient, version, withdrawn FROM store_item_keys"
                           " WHERE source = $1 AND ident_system = $2 AND ident_value = $3",
                           3, vals, PGRES_TUPLES_OK, "reading an item key", &r, e);
    if (!rc && PQntuples(r) == 1) {
        *found = true;
        out->n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        snprintf(out->category, sizeof out->category, "%s", PQgetvalue(r, 0, 1));
        const char *p = PQgetvalue(r, 0, 2);
        if (strlen(p) < sizeof out->patient)
            memcpy(out->patient, p, strlen(p) + 1);
        out->version = strtoll(PQgetvalue(r, 0, 3), NULL, 10);
        out->withdrawn = strcmp(PQgetvalue(r, 0, 4), "0") != 0;
    }
    PQclear(r);
    return rc;
}

static ob_status tx_item_key_put(ob_store_tx *tx, const char *source, const char *system,
                                 const char *value, ob_item_key *k, ob_time updated, ob_err *e)
{
    char ver[24], wd[4], upd[24], n[24];
    snprintf(ver, sizeof ver, "%lld", (long long)k->version);
    snprintf(wd, sizeof wd, "%d", k->withdrawn ? 1 : 0);
    snprintf(upd, sizeof upd, "%lld", (long long)updated);
    snprintf(n, sizeof n, "%lld", (long long)k->n);
    const char *vals[9] = {source, system, value, k->category, k->patient, ver, wd, upd, n};
    PGresult *r = NULL;
    ob_status rc =
        k->n > 0
            ? tx_exec(tx,
                      "UPDATE store_item_keys SET category = $4, patient = $5, version = $6,"
                      " withdrawn = $7, updated = $8 WHERE n = $9 AND source = $1 AND"
                      " ident_system = $2 AND ident_value = $3 RETURNING n",
                      9, vals, PGRES_TUPLES_OK, "writing an item key", &r, e)
            : tx_exec(tx,
                      "INSERT INTO store_item_keys (source, ident_system, ident_value, category,"
                      " patient, version, withdrawn, updated)"
                      " VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING n",
                      8, vals, PGRES_TUPLES_OK, "writing an item key", &r, e);
    if (!rc && PQntuples(r) != 1)
        rc = ob_err_set(e, OB_EIO, "writing an item key: the row is gone");
    if (!rc)
        k->n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return rc;
}

static ob_status tx_source_touch(ob_store_tx *tx, const char *client, ob_time t, ob_err *e)
{
    char tv[24];
    snprintf(tv, sizeof tv, "%lld", (long long)t);
    const char *vals[2] = {client, tv};
    return tx_exec(tx,
                   "INSERT INTO store_source_state (client, last_update, since) VALUES ($1, $2, 0)"
                   " ON CONFLICT (client) DO UPDATE SET last_update ="
                   " greatest(store_source_state.last_update, excluded.last_update)",
                   2, vals, PGRES_COMMAND_OK, "recording a source's delivery", NULL, e);
}

const ob_store_tx_ops ob_store_pg_tx_ops = {
    .put_record = tx_put_record,
    .put_item = tx_put_item,
    .apt_find_key = tx_apt_find_key,
    .apt_store = tx_apt_store,
    .apt_upsert = tx_apt_upsert,
    .item_key_find = tx_item_key_find,
    .item_key_put = tx_item_key_put,
    .item_row_replace = tx_item_row_replace,
    .item_row_delete = tx_item_row_delete,
    .source_touch = tx_source_touch,
    .stats = &ob_stats_pg_ops,
};

/* A write of store.h outside ob_store_begin/commit commits on its own (autocommit), as on
 * SQLite; inside them it joins the store's transaction. Either way it is the writer's. */
static ob_status pg_put_record(ob_store *s, const char *type, const char *json, ob_err *e)
{
    pthread_mutex_lock(&s->wlock);
    writer_alive(s);
    ob_store_tx tx = {&ob_store_pg_tx_ops, s->w};
    ob_status rc = tx_put_record(&tx, type, json, e);
    pthread_mutex_unlock(&s->wlock);
    return rc;
}

static ob_status pg_put_item(ob_store *s, const ob_item *it, ob_err *e)
{
    pthread_mutex_lock(&s->wlock);
    writer_alive(s);
    ob_store_tx tx = {&ob_store_pg_tx_ops, s->w};
    ob_status rc = tx_put_item(&tx, it, e);
    pthread_mutex_unlock(&s->wlock);
    return rc;
}

/* fn in one transaction on the writer connection, which no one else uses meanwhile. */
static ob_status pg_in_tx(ob_store *s, ob_store_tx_fn fn, void *ctx, ob_err *e)
{
    pthread_mutex_lock(&s->wlock);
    writer_alive(s);
    ob_status rc = exec_ok(s->w, "BEGIN", PGRES_COMMAND_OK, "beginning a transaction", e);
    if (!rc) {
        ob_store_tx tx = {&ob_store_pg_tx_ops, s->w};
        rc = fn(ctx, &tx, e);
        if (!rc)
            rc = commit_checked(s->w, e);
        if (rc)
            PQclear(PQexec(s->w, "ROLLBACK"));
    }
    pthread_mutex_unlock(&s->wlock);
    return rc;
}

/* ---- the sources' state and identifier systems ---- */

static ob_status pg_source_declare(ob_store *s, const char *client, ob_time since,
                                   const char *reason, ob_err *e)
{
    char sv[24];
    snprintf(sv, sizeof sv, "%lld", (long long)since);
    const char *vals[3] = {client, sv, since ? reason : NULL};
    return write_params(s,
                        "INSERT INTO store_source_state (client, last_update, since, reason)"
                        " VALUES ($1, 0, $2, $3) ON CONFLICT (client) DO UPDATE SET"
                        " since = excluded.since, reason = excluded.reason",
                        3, vals, "recording a source's state", e);
}

typedef struct state_ctx {
    ob_source_state_fn fn;
    void *ctx;
} state_ctx;

static ob_status state_row(void *ctx, PGresult *r, ob_err *e)
{
    state_ctx *sc = ctx;
    return sc->fn(sc->ctx, PQgetvalue(r, 0, 0), strtoll(PQgetvalue(r, 0, 1), NULL, 10),
                  strtoll(PQgetvalue(r, 0, 2), NULL, 10), text_or_null(r, 3), e);
}

static ob_status pg_source_state_each(ob_store *s, ob_source_state_fn fn, void *ctx, ob_err *e)
{
    state_ctx sc = {fn, ctx};
    return read_rows(s,
                     "SELECT client, last_update, since, reason FROM store_source_state"
                     " ORDER BY client COLLATE \"C\"",
                     0, NULL, "reading the sources' state", state_row, &sc, e);
}

typedef struct system_ctx {
    ob_apt_system_fn fn;
    void *ctx;
} system_ctx;

static ob_status system_row(void *ctx, PGresult *r, ob_err *e)
{
    system_ctx *sc = ctx;
    return sc->fn(sc->ctx, PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1), e);
}

static ob_status pg_each_id_system(ob_store *s, ob_apt_system_fn fn, void *ctx, ob_err *e)
{
    system_ctx sc = {fn, ctx};
    return read_rows(s,
                     "SELECT ident_system, source FROM store_appointments UNION"
                     " SELECT ident_system, source FROM store_item_keys",
                     0, NULL, "reading the identifier systems in use", system_row, &sc, e);
}

const ob_store_ops ob_store_pg_ops = {
    .name = "postgresql",
    .open_store = pg_open,
    .close_store = pg_close,
    .schema_version = pg_schema_version,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .put_record = pg_put_record,
    .put_item = pg_put_item,
    .each_record = pg_each_record,
    .each_item = pg_each_item,
    .get_item = pg_get_item,
    .each_item_with_code = pg_each_item_with_code,
    .count = pg_count,
    .meta_get = pg_meta_get,
    .meta_set = pg_meta_set,
    .path = pg_path,
    .apt_upsert = pg_apt_upsert,
    .in_tx = pg_in_tx,
    .source_declare = pg_source_declare,
    .source_state_each = pg_source_state_each,
    .each_id_system = pg_each_id_system,
    .apt_each_patient = pg_apt_each_patient,
    .apt_get = pg_apt_get,
    .apt_find_key = pg_apt_find_key,
    .stats = &ob_stats_pg_ops,
};

/* log_pg.c - the access log on PostgreSQL over libpq (see log_pg.h for what it promises).
 *
 * Tables (created by ob_pglog_open):
 *   log_pg_meta(k, v)                    the public key the log was created with, the schema
 *   log_pg_entry(seq, time, patient, enc, leaf, chain)
 *                                        enc is the canonical encoding (log/hash.h), seq
 *                                        included; leaf = SHA-256(0x00 || enc)
 *   log_pg_head(id = 1, size, chain, frontier, seg_start, time, sig)
 *                                        the signed head after the last append, the whole
 *                                        log's compact Merkle range, where the open segment
 *                                        began
 *   log_pg_checkpoint(size, prev_size, root, chain, time, max_time, sig)
 *
 * An append batch is one transaction: BEGIN; the advisory lock; read the head; COPY the
 * entries in (binary); cut the checkpoints the batch completes; write the head; COMMIT.
 * Everything hashed or signed is computed here with the pure log core (log/hash.h,
 * merkle.h, checkpoint.h), exactly as the SQLite log computes it. */
#include "store/pg/log_pg.h"

#include <arpa/inet.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "log/hash.h"
#include "log/merkle.h"
#include "log/sha256.h"

/* the advisory lock key: "overblik log" */
#define LOCK_SQL "SELECT pg_advisory_xact_lock(7236001234)"

typedef struct job {
    const ob_log_entry *entries;
    size_t n;
    uint64_t first_seq;
    ob_status st;
    ob_err err;
    bool done;
    struct job *next;
} job;

struct ob_pglog {
    char *conninfo;
    ob_pglog_config cfg;
    PGconn *conn; /* the writer thread's; reconnected after a failure */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t wake, finished;
    job *head, *tail;
    bool closing;
    /* The open segment's leaves as this server last saw them committed (the writer
     * thread's): a batch then reads only the rows other servers appended since, usually
     * none, instead of the whole open segment. Valid only after a COMMIT that returned;
     * keyed by the chain at seg_size, so a log that changed under it (a failover that lost
     * an unacknowledged batch and others wrote there since) is read again. */
    uint8_t (*seg)[OB_LOG_HASH_LEN];
    uint64_t seg_start, seg_size;
    uint8_t seg_chain[OB_LOG_HASH_LEN];
    ob_time seg_max;
    bool seg_valid;
};

static ob_status pg_fail(ob_err *e, PGconn *c, const char *what)
{
    const char *m = c ? PQerrorMessage(c) : "";
    size_t n = strcspn(m, "\n");
    return ob_err_set(e, OB_EIO, "the PostgreSQL log: %s: %.*s", what, (int)n, m);
}

/* Runs sql (no parameters) and checks for `want`; the result is cleared. */
static ob_status exec_ok(PGconn *c, const char *sql, ExecStatusType want, ob_err *e)
{
    PGresult *r = PQexec(c, sql);
    ob_status rc = PQresultStatus(r) == want ? OB_OK : pg_fail(e, c, sql);
    PQclear(r);
    return rc;
}

static uint64_t get_be64(const char *p)
{
    return ob_log_get_u64((const uint8_t *)p);
}

/* The RFC 6962 leaf hash of a stored canonical encoding: SHA-256(0x00 || enc), what
 * ob_log_leaf_hash computes from the entry (log/hash.h); the rows keep the encoding. */
static void leaf_of(const uint8_t *enc, size_t len, uint8_t out[OB_LOG_HASH_LEN])
{
    static const uint8_t zero = 0;
    ob_sha256_ctx st;
    ob_sha256_init(&st);
    ob_sha256_update(&st, &zero, 1);
    ob_sha256_update(&st, enc, len);
    ob_sha256_final(&st, out);
}

/* ---- the schema ---- */

static const char *const schema_sql =
    "CREATE TABLE IF NOT EXISTS log_pg_meta (k text PRIMARY KEY, v text NOT NULL);"
    "CREATE TABLE IF NOT EXISTS log_pg_entry (seq bigint PRIMARY KEY, time bigint NOT NULL,"
    " patient text NOT NULL, enc bytea NOT NULL, leaf bytea NOT NULL, chain bytea NOT NULL);"
    "CREATE INDEX IF NOT EXISTS log_pg_entry_patient ON log_pg_entry (patient, seq);"
    "CREATE TABLE IF NOT EXISTS log_pg_head (id int PRIMARY KEY CHECK (id = 1),"
    " size bigint NOT NULL, chain bytea NOT NULL, frontier bytea NOT NULL,"
    " seg_start bigint NOT NULL, time bigint NOT NULL, sig bytea NOT NULL);"
    "CREATE TABLE IF NOT EXISTS log_pg_checkpoint (size bigint PRIMARY KEY,"
    " prev_size bigint NOT NULL, root bytea NOT NULL, chain bytea NOT NULL,"
    " time bigint NOT NULL, max_time bigint NOT NULL, sig bytea NOT NULL);"
    "INSERT INTO log_pg_head VALUES (1, 0, '\\x', '\\x', 0, 0, '\\x') ON CONFLICT DO NOTHING;";

static ob_status migrate(PGconn *c, const uint8_t pk[OB_LOG_PK_LEN], uint32_t every, ob_err *e)
{
    char hex[2 * OB_LOG_PK_LEN + 1], ev[16];
    ob_log_hex(pk, OB_LOG_PK_LEN, hex);
    snprintf(ev, sizeof ev, "%u", every);
    ob_status rc = exec_ok(c, "BEGIN", PGRES_COMMAND_OK, e);
    if (!rc)
        rc = exec_ok(c, LOCK_SQL, PGRES_TUPLES_OK, e);
    if (!rc)
        rc = exec_ok(c, schema_sql, PGRES_COMMAND_OK, e);
    if (!rc) {
        const char *vals[2] = {hex, ev};
        PGresult *r = PQexecParams(c,
                                   "INSERT INTO log_pg_meta VALUES ('pk', $1), ('every', $2), "
                                   "('schema', '1') ON CONFLICT DO NOTHING",
                                   2, NULL, vals, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_COMMAND_OK)
            rc = pg_fail(e, c, "recording the log's key");
        PQclear(r);
    }
    if (!rc) {
        PGresult *r = PQexec(c, "SELECT v FROM log_pg_meta WHERE k = 'pk'");
        if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
            rc = pg_fail(e, c, "reading the log's key");
        else if (strcmp(PQgetvalue(r, 0, 0), hex) != 0)
            rc = ob_err_set(e, OB_ETAMPER,
                            "the PostgreSQL log was created with another key: refusing to "
                            "append to it with this one");
        PQclear(r);
    }
    if (!rc) { /* every server cuts the segments where the verifier expects them */
        PGresult *r = PQexec(c, "SELECT v FROM log_pg_meta WHERE k = 'every'");
        if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
            rc = pg_fail(e, c, "reading the log's segment size");
        else if (strcmp(PQgetvalue(r, 0, 0), ev) != 0)
            rc = ob_err_set(e, OB_EINVAL,
                            "the PostgreSQL log cuts a checkpoint every %s entries; this server "
                            "is set to %s (checkpoint_every must be the same on every server)",
                            PQgetvalue(r, 0, 0), ev);
        PQclear(r);
    }
    if (!rc)
        return exec_ok(c, "COMMIT", PGRES_COMMAND_OK, e);
    PQclear(PQexec(c, "ROLLBACK"));
    return rc;
}

static ob_status connect_db(const char *conninfo, PGconn **out, ob_err *e)
{
    PGconn *c = PQconnectdb(conninfo);
    if (!c)
        return ob_err_set(e, OB_ENOMEM, "out of memory connecting to PostgreSQL");
    if (PQstatus(c) != CONNECTION_OK) {
        ob_status rc = pg_fail(e, c, "connecting");
        PQfinish(c);
        return rc;
    }
    /* the log's own guarantees do not depend on the session's defaults */
    ob_status rc = exec_ok(c, "SET synchronous_commit = on; SET client_min_messages = warning",
                           PGRES_COMMAND_OK, e);
    if (rc) {
        PQfinish(c);
        return rc;
    }
    *out = c;
    return OB_OK;
}

/* ---- one batch: the sequencer's transaction ---- */

typedef struct head {
    uint64_t size, seg_start;
    uint8_t chain[OB_LOG_HASH_LEN];
    ob_merkle_frontier tree;
} head;

/* BEGIN, the advisory lock and the head in one round trip (text: the hashes in hex). */
static ob_status begin_and_read_head(PGconn *c, head *h, ob_err *e)
{
    PGresult *r = PQexec(c, "BEGIN; " LOCK_SQL "; SELECT size, seg_start, encode(chain, 'hex'), "
                            "encode(frontier, 'hex') FROM log_pg_head WHERE id = 1");
    ob_status rc = OB_OK;
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        rc = pg_fail(e, c, "reading the head");
    } else {
        h->size = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
        h->seg_start = strtoull(PQgetvalue(r, 0, 1), NULL, 10);
        const char *chain = PQgetvalue(r, 0, 2), *fr = PQgetvalue(r, 0, 3);
        size_t frn = strlen(fr) / 2;
        uint8_t frb[64 * OB_LOG_HASH_LEN];
        memset(h->chain, 0, sizeof h->chain);
        if (h->size && ob_log_unhex(chain, h->chain, OB_LOG_HASH_LEN) != 0)
            rc = ob_err_set(e, OB_ETAMPER, "the PostgreSQL log's head has no chain");
        ob_merkle_frontier_init(&h->tree);
        if (!rc && (frn > sizeof frb || (frn && ob_log_unhex(fr, frb, frn) != 0) ||
                    ob_merkle_frontier_decode(&h->tree, h->size, frb, frn) != 0))
            rc = ob_err_set(e, OB_ETAMPER, "the PostgreSQL log's tree does not match its size");
    }
    PQclear(r);
    return rc;
}

/* Leaves (seq in (lo, hi]) already committed, in order, into out[0..hi-lo), and the
 * newest of their times into *max_time (a checkpoint signs its segment's). With chain
 * non-NULL (the chain after lo), each row's stored chain must continue it: false in
 * *continues when one does not (the caller then reads the segment again from its start). */
static ob_status read_leaves(PGconn *c, uint64_t lo, uint64_t hi, uint8_t (*out)[OB_LOG_HASH_LEN],
                             ob_time *max_time, const uint8_t *chain, bool *continues, ob_err *e)
{
    char a[24], b[24];
    snprintf(a, sizeof a, "%llu", (unsigned long long)lo);
    snprintf(b, sizeof b, "%llu", (unsigned long long)hi);
    const char *vals[2] = {a, b};
    PGresult *r = PQexecParams(c,
                               "SELECT leaf, time, chain FROM log_pg_entry WHERE seq > $1 AND "
                               "seq <= $2 ORDER BY seq",
                               2, NULL, vals, NULL, NULL, 1);
    ob_status rc = OB_OK;
    uint8_t at[OB_LOG_HASH_LEN];
    if (chain)
        memcpy(at, chain, OB_LOG_HASH_LEN);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || (uint64_t)PQntuples(r) != hi - lo)
        rc =
            ob_err_set(e, OB_ETAMPER, "the PostgreSQL log's open segment (%llu, %llu] is not whole",
                       (unsigned long long)lo, (unsigned long long)hi);
    for (int i = 0; !rc && i < PQntuples(r); i++) {
        if (PQgetlength(r, i, 0) != OB_LOG_HASH_LEN || PQgetlength(r, i, 1) != 8 ||
            PQgetlength(r, i, 2) != OB_LOG_HASH_LEN) {
            rc = ob_err_set(e, OB_ETAMPER, "a malformed entry in the PostgreSQL log");
        } else {
            memcpy(out[i], PQgetvalue(r, i, 0), OB_LOG_HASH_LEN);
            ob_time t = (ob_time)get_be64(PQgetvalue(r, i, 1));
            if (t > *max_time)
                *max_time = t;
            if (chain) {
                ob_log_chain_next(at, out[i], at);
                if (memcmp(at, PQgetvalue(r, i, 2), OB_LOG_HASH_LEN) != 0) {
                    *continues = false;
                    break;
                }
            }
        }
    }
    PQclear(r);
    return rc;
}

/* Brings lg->seg up to the head h: the rows after what it holds, or (when it holds another
 * segment, or something the log no longer continues) the open segment from its start. */
static ob_status load_segment(ob_pglog *lg, const head *h, ob_err *e)
{
    bool continues =
        lg->seg_valid && lg->seg_start == h->seg_start && lg->seg_size <= h->size &&
        (lg->seg_size < h->size || memcmp(lg->seg_chain, h->chain, OB_LOG_HASH_LEN) == 0);
    lg->seg_valid = false; /* until this batch commits */
    if (continues && lg->seg_size < h->size) {
        ob_time max = lg->seg_max;
        ob_status rc =
            read_leaves(lg->conn, lg->seg_size, h->size, lg->seg + (lg->seg_size - lg->seg_start),
                        &max, lg->seg_chain, &continues, e);
        if (rc)
            return rc;
        lg->seg_max = max;
    }
    if (continues)
        return OB_OK;
    lg->seg_start = h->seg_start;
    lg->seg_max = 0;
    return read_leaves(lg->conn, h->seg_start, h->size, lg->seg, &lg->seg_max, NULL, NULL, e);
}

/* A growing byte buffer for COPY's binary format. */
typedef struct buf {
    uint8_t *p;
    size_t n, cap;
    bool oom;
} buf;

static void put(buf *b, const void *src, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n)
            cap *= 2;
        uint8_t *p = ob_realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
}
static void put16(buf *b, uint16_t v)
{
    uint16_t x = htons(v);
    put(b, &x, 2);
}
static void put32(buf *b, uint32_t v)
{
    uint32_t x = htonl(v);
    put(b, &x, 4);
}
static void put64(buf *b, uint64_t v)
{
    uint8_t x[8];
    ob_log_put_u64(x, v);
    put(b, x, 8);
}
static void field(buf *b, const void *p, size_t n)
{
    put32(b, (uint32_t)n);
    put(b, p, n);
}

/* Writes the rows of the batch to log_pg_entry with COPY (binary): one round trip. */
static ob_status copy_rows(PGconn *c, const buf *rows, ob_err *e)
{
    PGresult *r = PQexec(c, "COPY log_pg_entry (seq, time, patient, enc, leaf, chain) FROM STDIN "
                            "(FORMAT binary)");
    bool ok = PQresultStatus(r) == PGRES_COPY_IN;
    PQclear(r);
    if (!ok)
        return pg_fail(e, c, "starting the copy");
    if (PQputCopyData(c, (const char *)rows->p, (int)rows->n) != 1 || PQputCopyEnd(c, NULL) != 1)
        return pg_fail(e, c, "copying the entries");
    ob_status rc = OB_OK;
    while ((r = PQgetResult(c)) != NULL) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK && !rc)
            rc = pg_fail(e, c, "copying the entries");
        PQclear(r);
    }
    return rc;
}

/* The statements that end the batch (checkpoints, the head, COMMIT) are sent as one
 * string in one round trip; every value in them is a number or hex this file made. */
static void sql_hex(buf *b, const uint8_t *p, size_t n)
{
    char hex[2 * 64 * OB_LOG_HASH_LEN + 1];
    ob_log_hex(p, n, hex);
    put(b, "'\\x", 3);
    put(b, hex, 2 * n);
    put(b, "'", 1);
}

static void sql_num(buf *b, long long v, const char *after)
{
    char num[48];
    int k = snprintf(num, sizeof num, "%lld%s", v, after);
    put(b, num, (size_t)k);
}

static void put_checkpoint(buf *b, const ob_log_checkpoint *cp)
{
    static const char ins[] = "INSERT INTO log_pg_checkpoint VALUES (";
    put(b, ins, sizeof ins - 1);
    sql_num(b, (long long)cp->size, ", ");
    sql_num(b, (long long)cp->prev_size, ", ");
    sql_hex(b, cp->root, OB_LOG_HASH_LEN);
    put(b, ", ", 2);
    sql_hex(b, cp->chain, OB_LOG_HASH_LEN);
    put(b, ", ", 2);
    sql_num(b, (long long)cp->time, ", ");
    sql_num(b, (long long)cp->max_time, ", ");
    sql_hex(b, cp->sig, OB_LOG_SIG_LEN);
    put(b, "); ", 3);
}

static void put_head(buf *b, const head *h, const ob_log_head *signed_head, uint64_t seg_start)
{
    uint8_t fr[64 * OB_LOG_HASH_LEN];
    size_t frn = ob_merkle_frontier_encode(&h->tree, fr);
    static const char upd[] = "UPDATE log_pg_head SET size = ";
    put(b, upd, sizeof upd - 1);
    sql_num(b, (long long)h->size, ", chain = ");
    sql_hex(b, h->chain, OB_LOG_HASH_LEN);
    put(b, ", frontier = ", 13);
    sql_hex(b, fr, frn);
    put(b, ", seg_start = ", 14);
    sql_num(b, (long long)seg_start, ", time = ");
    sql_num(b, (long long)signed_head->time, ", sig = ");
    sql_hex(b, signed_head->sig, OB_LOG_SIG_LEN);
    put(b, " WHERE id = 1; ", 15);
}

/* The batch's transaction: continues the log from its head and commits. Round trips:
 * BEGIN + lock + head; the rows other servers added since this one's last batch (usually
 * none); COPY (two); checkpoints + head + COMMIT. */
static ob_status extend(ob_pglog *lg, job *jobs, ob_err *e)
{
    PGconn *c = lg->conn;
    head h;
    ob_status rc = begin_and_read_head(c, &h, e);
    if (rc)
        return rc;
    uint32_t every = lg->cfg.checkpoint_every ? lg->cfg.checkpoint_every : 4096;
    if (h.size - h.seg_start >= every)
        return ob_err_set(e, OB_ETAMPER, "the PostgreSQL log's open segment is longer than %u",
                          every);
    /* the open segment's leaves: those committed before, then this batch's */
    rc = load_segment(lg, &h, e);
    if (rc)
        return rc;
    uint64_t open = h.size - h.seg_start;
    uint8_t(*leaves)[OB_LOG_HASH_LEN] = lg->seg;
    buf rows = {0}, tail = {0};
    ob_time now = (ob_time)time(NULL), max_time = lg->seg_max;
    static const char sig[11] = "PGCOPY\n\377\r\n";
    put(&rows, sig, 11);
    put32(&rows, 0);
    put32(&rows, 0);
    uint64_t seg_start = h.seg_start;
    size_t at = (size_t)open;
    uint8_t *enc = NULL;
    size_t enc_cap = 0;
    for (job *j = jobs; j && !rc; j = j->next) {
        j->first_seq = h.size + 1;
        for (size_t i = 0; i < j->n && !rc; i++) {
            const ob_log_entry *en = &j->entries[i];
            uint64_t seq = ++h.size;
            size_t need = ob_log_entry_encoded_len(en);
            if (need > enc_cap) {
                uint8_t *p = ob_realloc(enc, need);
                if (!p) {
                    rc = ob_err_set(e, OB_ENOMEM, "out of memory encoding a log entry");
                    break;
                }
                enc = p;
                enc_cap = need;
            }
            size_t len = ob_log_entry_encode(en, seq, enc, enc_cap);
            leaf_of(enc, len, leaves[at]);
            ob_log_chain_next(h.chain, leaves[at], h.chain);
            ob_merkle_frontier_push(&h.tree, leaves[at]);
            at++;
            if (en->time > max_time)
                max_time = en->time;
            const char *pat = en->patient ? en->patient : "";
            put16(&rows, 6);
            put32(&rows, 8);
            put64(&rows, seq);
            put32(&rows, 8);
            put64(&rows, (uint64_t)en->time);
            field(&rows, pat, strlen(pat));
            field(&rows, enc, len);
            field(&rows, leaves[at - 1], OB_LOG_HASH_LEN);
            field(&rows, h.chain, OB_LOG_HASH_LEN);
            /* a full segment is cut now, inside the same transaction */
            if (h.size - seg_start == every) {
                ob_log_checkpoint cp = {.prev_size = seg_start, .size = h.size, .time = now};
                cp.max_time = max_time;
                ob_merkle_root((const uint8_t(*)[OB_LOG_HASH_LEN])leaves, at, cp.root);
                memcpy(cp.chain, h.chain, OB_LOG_HASH_LEN);
                ob_log_checkpoint_sign(&cp, lg->cfg.sk);
                put_checkpoint(&tail, &cp);
                seg_start = h.size;
                at = 0;
                max_time = 0;
            }
        }
    }
    put16(&rows, 0xFFFF);
    if (!rc && rows.oom)
        rc = ob_err_set(e, OB_ENOMEM, "out of memory appending to the PostgreSQL log");
    if (!rc)
        rc = copy_rows(c, &rows, e);
    if (!rc) {
        ob_log_head sh = {.size = h.size, .time = now};
        memcpy(sh.chain, h.chain, OB_LOG_HASH_LEN);
        ob_log_head_sign(&sh, lg->cfg.sk);
        put_head(&tail, &h, &sh, seg_start);
        put(&tail, "COMMIT", 7); /* with its NUL */
        if (tail.oom)
            rc = ob_err_set(e, OB_ENOMEM, "out of memory appending to the PostgreSQL log");
    }
    if (!rc) {
        /* a failed statement skips the rest of the string, COMMIT included; a COMMIT of a
         * failed transaction would say ROLLBACK */
        PGresult *r = PQexec(c, (const char *)tail.p);
        if (PQresultStatus(r) != PGRES_COMMAND_OK || strcmp(PQcmdStatus(r), "COMMIT") != 0)
            rc = pg_fail(e, c, "committing the entries");
        PQclear(r);
    }
    ob_free(enc);
    ob_free(rows.p);
    ob_free(tail.p);
    if (!rc) { /* committed: the segment as this server now knows it */
        lg->seg_start = seg_start;
        lg->seg_size = h.size;
        lg->seg_max = max_time;
        memcpy(lg->seg_chain, h.chain, OB_LOG_HASH_LEN);
    }
    return rc;
}

static ob_status run_batch(ob_pglog *lg, job *jobs, ob_err *e)
{
    if (!lg->conn || PQstatus(lg->conn) != CONNECTION_OK) {
        if (lg->conn)
            PQfinish(lg->conn);
        lg->conn = NULL;
        ob_status rc = connect_db(lg->conninfo, &lg->conn, e);
        if (rc)
            return rc;
    }
    PGconn *c = lg->conn;
    ob_status rc = extend(lg, jobs, e);
    if (!rc) {
        lg->seg_valid = true;
        return OB_OK;
    }
    if (PQstatus(c) == CONNECTION_OK)
        PQclear(PQexec(c, "ROLLBACK"));
    return rc;
}

static void *writer(void *arg)
{
    ob_pglog *lg = arg;
    uint32_t max = lg->cfg.max_batch ? lg->cfg.max_batch : 8192;
    pthread_mutex_lock(&lg->mu);
    for (;;) {
        while (!lg->head && !lg->closing)
            pthread_cond_wait(&lg->wake, &lg->mu);
        if (!lg->head)
            break;
        /* everything queued, up to max entries (a single larger call goes alone) */
        job *first = lg->head, *last = first;
        size_t n = first->n;
        while (last->next && n + last->next->n <= max) {
            last = last->next;
            n += last->n;
        }
        lg->head = last->next;
        if (!lg->head)
            lg->tail = NULL;
        last->next = NULL;
        pthread_mutex_unlock(&lg->mu);
        ob_err e = {0};
        ob_status rc = run_batch(lg, first, &e);
        pthread_mutex_lock(&lg->mu);
        for (job *j = first; j;) {
            job *next = j->next;
            j->st = rc;
            if (rc)
                j->err = e;
            j->done = true;
            j = next;
        }
        pthread_cond_broadcast(&lg->finished);
    }
    pthread_mutex_unlock(&lg->mu);
    return NULL;
}

ob_status ob_pglog_open(const char *conninfo, const ob_pglog_config *cfg, ob_pglog **out, ob_err *e)
{
    ob_pglog *lg = ob_calloc(1, sizeof *lg);
    if (!lg || !(lg->conninfo = ob_malloc(strlen(conninfo) + 1))) {
        ob_free(lg);
        return ob_err_set(e, OB_ENOMEM, "out of memory opening the PostgreSQL log");
    }
    memcpy(lg->conninfo, conninfo, strlen(conninfo) + 1);
    lg->cfg = *cfg;
    if (!lg->cfg.checkpoint_every)
        lg->cfg.checkpoint_every = 4096;
    lg->seg = ob_malloc((size_t)lg->cfg.checkpoint_every * OB_LOG_HASH_LEN);
    if (!lg->seg) {
        ob_free(lg->conninfo);
        ob_free(lg);
        return ob_err_set(e, OB_ENOMEM, "out of memory opening the PostgreSQL log");
    }
    ob_status rc = connect_db(conninfo, &lg->conn, e);
    if (!rc)
        rc = migrate(lg->conn, cfg->pk, cfg->checkpoint_every ? cfg->checkpoint_every : 4096, e);
    if (!rc) {
        pthread_mutex_init(&lg->mu, NULL);
        pthread_cond_init(&lg->wake, NULL);
        pthread_cond_init(&lg->finished, NULL);
        if (pthread_create(&lg->thread, NULL, writer, lg) != 0) {
            pthread_mutex_destroy(&lg->mu);
            pthread_cond_destroy(&lg->wake);
            pthread_cond_destroy(&lg->finished);
            rc = ob_err_set(e, OB_EINTERNAL, "cannot start the PostgreSQL log's writer");
        }
    }
    if (rc) {
        if (lg->conn)
            PQfinish(lg->conn);
        ob_free(lg->seg);
        ob_free(lg->conninfo);
        ob_free(lg);
        return rc;
    }
    *out = lg;
    return OB_OK;
}

ob_status ob_pglog_append(ob_pglog *lg, const ob_log_entry *entries, size_t n, uint64_t *first_seq,
                          ob_err *e)
{
    if (!n)
        return ob_err_set(e, OB_EINVAL, "an append needs at least one entry");
    for (size_t i = 0; i < n; i++) {
        ob_status rc = ob_log_entry_check(&entries[i], e);
        if (rc)
            return rc;
    }
    job j = {.entries = entries, .n = n};
    pthread_mutex_lock(&lg->mu);
    if (lg->closing) {
        pthread_mutex_unlock(&lg->mu);
        return ob_err_set(e, OB_EINVAL, "the PostgreSQL log is closing");
    }
    if (lg->tail)
        lg->tail->next = &j;
    else
        lg->head = &j;
    lg->tail = &j;
    pthread_cond_signal(&lg->wake);
    while (!j.done)
        pthread_cond_wait(&lg->finished, &lg->mu);
    pthread_mutex_unlock(&lg->mu);
    if (j.st) {
        if (e)
            *e = j.err;
        return j.st;
    }
    if (first_seq)
        *first_seq = j.first_seq;
    return OB_OK;
}

void ob_pglog_close(ob_pglog *lg)
{
    if (!lg)
        return;
    pthread_mutex_lock(&lg->mu);
    lg->closing = true;
    pthread_cond_signal(&lg->wake);
    pthread_mutex_unlock(&lg->mu);
    pthread_join(lg->thread, NULL);
    pthread_mutex_destroy(&lg->mu);
    pthread_cond_destroy(&lg->wake);
    pthread_cond_destroy(&lg->finished);
    if (lg->conn)
        PQfinish(lg->conn);
    ob_free(lg->seg);
    ob_free(lg->conninfo);
    ob_free(lg);
}

/* ---- verification ---- */

typedef struct vstate {
    const uint8_t *pk;
    uint32_t every;
    ob_pglog_report *r;
    uint64_t seq;
    uint8_t chain[OB_LOG_HASH_LEN];
    ob_merkle_frontier tree;
    uint8_t (*seg)[OB_LOG_HASH_LEN]; /* the current segment's leaves */
    size_t nseg, capseg;
    ob_time seg_max;
    const ob_log_head *seen; /* a head recorded earlier that the log must extend, or NULL */
    bool seen_matched;       /* the chain after entry seen->size was seen's */
} vstate;

static ob_status verify_checkpoint(vstate *v, PGresult *cps, int *k, ob_err *e)
{
    bool due = v->seq % v->every == 0;
    if (*k >= PQntuples(cps) || get_be64(PQgetvalue(cps, *k, 0)) != v->seq) {
        if (due) /* a segment is cut every `every` entries: a missing one was removed */
            return ob_err_set(e, OB_ETAMPER, "the checkpoint at %llu is missing",
                              (unsigned long long)v->seq);
        return OB_OK;
    }
    if (!due)
        return ob_err_set(e, OB_ETAMPER, "a checkpoint at %llu, where none is cut",
                          (unsigned long long)v->seq);
    ob_log_checkpoint cp;
    cp.size = get_be64(PQgetvalue(cps, *k, 0));
    cp.prev_size = get_be64(PQgetvalue(cps, *k, 1));
    if (PQgetlength(cps, *k, 2) != OB_LOG_HASH_LEN || PQgetlength(cps, *k, 3) != OB_LOG_HASH_LEN ||
        PQgetlength(cps, *k, 6) != OB_LOG_SIG_LEN)
        return ob_err_set(e, OB_ETAMPER, "checkpoint at %llu: malformed",
                          (unsigned long long)cp.size);
    memcpy(cp.root, PQgetvalue(cps, *k, 2), OB_LOG_HASH_LEN);
    memcpy(cp.chain, PQgetvalue(cps, *k, 3), OB_LOG_HASH_LEN);
    cp.time = (ob_time)get_be64(PQgetvalue(cps, *k, 4));
    cp.max_time = (ob_time)get_be64(PQgetvalue(cps, *k, 5));
    memcpy(cp.sig, PQgetvalue(cps, *k, 6), OB_LOG_SIG_LEN);
    uint8_t root[OB_LOG_HASH_LEN];
    ob_merkle_root((const uint8_t(*)[OB_LOG_HASH_LEN])v->seg, v->nseg, root);
    if (cp.prev_size != v->seq - v->nseg || memcmp(root, cp.root, OB_LOG_HASH_LEN) != 0 ||
        memcmp(cp.chain, v->chain, OB_LOG_HASH_LEN) != 0 || cp.max_time != v->seg_max ||
        !ob_log_checkpoint_verify(&cp, v->pk))
        return ob_err_set(e, OB_ETAMPER,
                          "checkpoint at %llu does not match the entries it covers (or its "
                          "signature does not verify)",
                          (unsigned long long)cp.size);
    v->r->checkpoints++;
    v->nseg = 0;
    v->seg_max = 0;
    (*k)++;
    return OB_OK;
}

static ob_status verify_row(vstate *v, PGresult *rows, int i, ob_err *e)
{
    uint64_t seq = get_be64(PQgetvalue(rows, i, 0));
    const uint8_t *enc = (const uint8_t *)PQgetvalue(rows, i, 1);
    size_t len = (size_t)PQgetlength(rows, i, 1);
    if (seq != v->seq + 1)
        return ob_err_set(e, OB_ETAMPER, "entry %llu is missing (the next is %llu)",
                          (unsigned long long)(v->seq + 1), (unsigned long long)seq);
    if (len < 9 || ob_log_get_u64(enc + len - 8) != seq)
        return ob_err_set(e, OB_ETAMPER, "entry %llu: its encoding names another position",
                          (unsigned long long)seq);
    if (PQgetlength(rows, i, 2) != OB_LOG_HASH_LEN || PQgetlength(rows, i, 3) != OB_LOG_HASH_LEN)
        return ob_err_set(e, OB_ETAMPER, "entry %llu: malformed hashes", (unsigned long long)seq);
    uint8_t leaf[OB_LOG_HASH_LEN];
    leaf_of(enc, len, leaf);
    ob_log_chain_next(v->chain, leaf, v->chain);
    if (memcmp(leaf, PQgetvalue(rows, i, 2), OB_LOG_HASH_LEN) != 0 ||
        memcmp(v->chain, PQgetvalue(rows, i, 3), OB_LOG_HASH_LEN) != 0)
        return ob_err_set(e, OB_ETAMPER, "entry %llu was changed", (unsigned long long)seq);
    if (v->nseg == v->capseg) {
        size_t cap = v->capseg ? 2 * v->capseg : 4096;
        void *p = ob_realloc(v->seg, cap * OB_LOG_HASH_LEN);
        if (!p)
            return ob_err_set(e, OB_ENOMEM, "out of memory verifying the PostgreSQL log");
        v->seg = p;
        v->capseg = cap;
    }
    memcpy(v->seg[v->nseg++], leaf, OB_LOG_HASH_LEN);
    ob_merkle_frontier_push(&v->tree, leaf);
    /* the entry's time is the second field of the encoding: version, then i64 time */
    ob_time t = (ob_time)ob_log_get_u64(enc + 1);
    if (t > v->seg_max)
        v->seg_max = t;
    v->seq = seq;
    v->r->entries++;
    if (v->seen && seq == v->seen->size) {
        if (memcmp(v->chain, v->seen->chain, OB_LOG_HASH_LEN) != 0)
            return ob_err_set(e, OB_ETAMPER,
                              "forked: entry %llu is not the one the recorded head signed (the "
                              "log was rewritten from an earlier point)",
                              (unsigned long long)seq);
        v->seen_matched = true;
    }
    return OB_OK;
}

ob_status ob_pglog_verify(const char *conninfo, const uint8_t pk[OB_LOG_PK_LEN], uint32_t every,
                          ob_pglog_report *r, ob_err *e)
{
    return ob_pglog_verify_extends(conninfo, pk, every, NULL, r, e);
}

ob_status ob_pglog_verify_extends(const char *conninfo, const uint8_t pk[OB_LOG_PK_LEN],
                                  uint32_t every, const ob_log_head *seen, ob_pglog_report *r,
                                  ob_err *e)
{
    memset(r, 0, sizeof *r);
    if (seen && (!seen->size || !ob_log_head_verify(seen, pk)))
        return ob_err_set(e, OB_ETAMPER,
                          "the recorded head is not one this log's key signed (empty, "
                          "altered, or of another log)");
    PGconn *c;
    ob_status rc = connect_db(conninfo, &c, e);
    if (rc)
        return rc;
    vstate v = {.pk = pk, .every = every ? every : 4096, .r = r, .seen = seen};
    ob_merkle_frontier_init(&v.tree);
    /* one snapshot for the whole check, so appends going on meanwhile do not tear it */
    rc = exec_ok(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", PGRES_COMMAND_OK, e);
    PGresult *hd = NULL, *cps = NULL;
    if (!rc) {
        hd =
            PQexecParams(c, "SELECT size, chain, frontier, time, sig FROM log_pg_head WHERE id = 1",
                         0, NULL, NULL, NULL, NULL, 1);
        cps = PQexecParams(c,
                           "SELECT size, prev_size, root, chain, time, max_time, sig "
                           "FROM log_pg_checkpoint ORDER BY size",
                           0, NULL, NULL, NULL, NULL, 1);
        if (PQresultStatus(hd) != PGRES_TUPLES_OK || PQntuples(hd) != 1 ||
            PQresultStatus(cps) != PGRES_TUPLES_OK)
            rc = pg_fail(e, c, "reading the head and checkpoints");
    }
    if (!rc)
        rc = exec_ok(c,
                     "DECLARE entries NO SCROLL CURSOR FOR SELECT seq, enc, leaf, chain "
                     "FROM log_pg_entry ORDER BY seq",
                     PGRES_COMMAND_OK, e);
    int k = 0;
    while (!rc) {
        PGresult *rows = PQexecParams(c, "FETCH 10000 FROM entries", 0, NULL, NULL, NULL, NULL, 1);
        if (PQresultStatus(rows) != PGRES_TUPLES_OK) {
            rc = pg_fail(e, c, "reading the entries");
            PQclear(rows);
            break;
        }
        int n = PQntuples(rows);
        for (int i = 0; i < n && !rc; i++) {
            rc = verify_row(&v, rows, i, e);
            if (!rc)
                rc = verify_checkpoint(&v, cps, &k, e);
        }
        PQclear(rows);
        if (n == 0)
            break;
    }
    if (!rc && k != PQntuples(cps))
        rc = ob_err_set(e, OB_ETAMPER, "a checkpoint covers entries that are not there");
    if (!rc) {
        ob_log_head h;
        h.size = get_be64(PQgetvalue(hd, 0, 0));
        h.time = (ob_time)get_be64(PQgetvalue(hd, 0, 3));
        r->size = h.size;
        if (h.size != v.seq)
            rc = ob_err_set(e, OB_ETAMPER, "the signed head says %llu entries, the log holds %llu",
                            (unsigned long long)h.size, (unsigned long long)v.seq);
        else if (h.size && (PQgetlength(hd, 0, 1) != OB_LOG_HASH_LEN ||
                            PQgetlength(hd, 0, 4) != OB_LOG_SIG_LEN))
            rc = ob_err_set(e, OB_ETAMPER, "the head is malformed");
        else if (h.size) {
            memcpy(h.chain, PQgetvalue(hd, 0, 1), OB_LOG_HASH_LEN);
            memcpy(h.sig, PQgetvalue(hd, 0, 4), OB_LOG_SIG_LEN);
            ob_merkle_frontier stored;
            uint8_t a[OB_LOG_HASH_LEN], b[OB_LOG_HASH_LEN];
            if (memcmp(h.chain, v.chain, OB_LOG_HASH_LEN) != 0 || !ob_log_head_verify(&h, pk))
                rc = ob_err_set(e, OB_ETAMPER,
                                "the signed head does not match the last entry (or its "
                                "signature does not verify)");
            else if (ob_merkle_frontier_decode(&stored, h.size,
                                               (const uint8_t *)PQgetvalue(hd, 0, 2),
                                               (size_t)PQgetlength(hd, 0, 2)) != 0)
                rc = ob_err_set(e, OB_ETAMPER, "the head's tree does not match its size");
            else {
                ob_merkle_frontier_root(&stored, a);
                ob_merkle_frontier_root(&v.tree, b);
                if (memcmp(a, b, OB_LOG_HASH_LEN) != 0)
                    rc = ob_err_set(e, OB_ETAMPER, "the head's tree is not the entries' tree");
            }
            r->head = h;
        }
    }
    if (!rc && seen && !v.seen_matched)
        rc = ob_err_set(e, OB_ETAMPER,
                        "rolled back: the log holds %llu entries, the recorded head signed "
                        "%llu (entries %llu..%llu are gone)",
                        (unsigned long long)v.seq, (unsigned long long)seen->size,
                        (unsigned long long)v.seq + 1, (unsigned long long)seen->size);
    PQclear(hd);
    PQclear(cps);
    PQclear(PQexec(c, "ROLLBACK"));
    PQfinish(c);
    ob_free(v.seg);
    return rc;
}

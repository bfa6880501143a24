/* log_pg.c - the access log on PostgreSQL over libpq (see log_pg.h for what it promises).
 *
 * Tables (created by ob_pglog_open; schema 3):
 *   log_pg_meta(k, v)                    the public key the log was created with, the
 *                                        segment and partition sizes, the schema
 *   log_pg_entry(seq, time, patient, enc, leaf, chain, actor_id, on_behalf_of)
 *                                        enc is the canonical encoding (log/hash.h), seq
 *                                        included; leaf = SHA-256(0x00 || enc); time,
 *                                        patient, actor_id and on_behalf_of are copies of
 *                                        enc's, for the indexes the queries use (schema 3
 *                                        added the last two). Partitioned
 *                                        by seq range: log_pg_entry_<k> holds seqs
 *                                        (k * P, (k + 1) * P], P a whole number of segments
 *   log_pg_head(id = 1, size, chain, frontier, seg_start, time, sig, note)
 *                                        the signed head after the last append, the whole
 *                                        log's compact Merkle range, where the open segment
 *                                        began, the signed checkpoint note of the whole tree
 *   log_pg_checkpoint(size, prev_size, root, chain, time, max_time, sig, note)
 *   log_pg_node(level, idx, hash)        every perfect subtree of at least one segment (so
 *                                        proofs read at most a segment of leaves, and need
 *                                        none of a dropped partition)
 *   log_pg_expiry(id = 1, through, cutoff, chain, time, sig)
 *                                        the signed retention marker (ob_pglog_expire)
 *   log_pg_cosig(size, line, note)       a witness's cosignature line of the log's note of
 *                                        that size, and the note (ob_pglog_add_cosignature):
 *                                        the head's note is rewritten by every append, so
 *                                        the one a witness cosigned is kept here. Created
 *                                        with the others (IF NOT EXISTS): no schema change,
 *                                        and a log without it reads as one never cosigned
 *
 * An append batch is one transaction: BEGIN; the advisory lock; read the head; COPY the
 * entries in (binary); cut the checkpoints the batch completes; write the head; COMMIT.
 * Everything hashed or signed is computed here with the pure log core (log/hash.h,
 * merkle.h, checkpoint.h), exactly as the SQLite log computes it. */
#include "store/pg/log_pg.h"

#include <arpa/inet.h>
#include <errno.h>
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
#include "log/note.h"
#include "log/sha256.h"
#include "core/jsonw.h"
#include "store/backend.h"
#include "store/log_common.h"

/* the advisory lock key: "overblik log" */
#define LOCK_SQL "SELECT pg_advisory_xact_lock(7236001234)"

typedef struct job {
    const ob_log_entry *entries;
    size_t n;
    ob_store_tx_fn apply; /* the change written with the entries, or NULL */
    void *apply_ctx;
    ob_pglog_done_fn done_fn; /* asynchronous: called on the writer, then the job freed;
                               * its entries are a copy in the same allocation */
    void *done_ctx;
    uint64_t first_seq;
    ob_status st; /* the apply's refusal (the batch goes on without this job), or the batch's */
    ob_err err;
    bool done;
    struct job *next;
} job;

struct ob_pglog {
    char *conninfo;
    ob_pglog_config cfg;
    char origin[OB_NOTE_NAME_MAX + 1]; /* of the checkpoint notes (ob_log_origin of pk) */
    unsigned seg_level;                /* checkpoint_every = 2^seg_level */
    uint64_t per_part;                 /* entries per partition */
    uint64_t parts_upto;               /* partitions exist for seqs 1..parts_upto (writer's) */
    PGconn *conn;                      /* the writer thread's; reconnected after a failure */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t wake, finished;
    job *head, *tail;
    size_t pending; /* entries of asynchronous jobs queued or in a batch (under mu) */
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
    /* The last batch as the writer thread saw it (written there, read under mu by the
     * writer's loop): the head's size after it, its checkpoints, its last round trip. */
    uint64_t w_size, w_cuts;
    int64_t w_commit_ns;
    /* Counters (under mu; ob_pglog_get_stats), and whether the last batch lost the
     * connection (ob_pglog_ground) and when. */
    ob_log_stats stats;
    bool lost;
    time_t lost_at;
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

/* Whether r failed because there is no log (no table) or not this schema's (a column). */
static bool no_log(const PGresult *r)
{
    const char *st = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    return st && (strcmp(st, "42P01") == 0 || strcmp(st, "42703") == 0);
}

static uint64_t get_be64(const char *p)
{
    return ob_log_get_u64((const uint8_t *)p);
}

/* Runs sql with n (<= 3) numbers as its parameters; results in binary when binary. */
static PGresult *query_nums(PGconn *c, const char *sql, int n, const uint64_t *v, int binary)
{
    char txt[3][24];
    const char *vals[3];
    for (int i = 0; i < n && i < 3; i++) {
        snprintf(txt[i], sizeof txt[i], "%llu", (unsigned long long)v[i]);
        vals[i] = txt[i];
    }
    return PQexecParams(c, sql, n, NULL, vals, NULL, NULL, binary);
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

#define SCHEMA "3"

/* The entry's columns, for the partitioned table and for each partition made LIKE it (the
 * two added by schema 3 last, where ALTER TABLE put them on a migrated log). The indexes
 * serve ob_pglog_each, whose answers are in time order: (key, time, seq) gives them in
 * that order with no sort, and a limit reads only what it returns. The professional's is
 * partial: most entries are done by no one on another's behalf. Indexes made on the parent
 * are made on every partition, also those attached later. */
static const char *const schema_sql =
    "CREATE TABLE IF NOT EXISTS log_pg_entry (seq bigint NOT NULL, time bigint NOT NULL,"
    " patient text NOT NULL, enc bytea NOT NULL, leaf bytea NOT NULL, chain bytea NOT NULL,"
    " actor_id text NOT NULL DEFAULT '', on_behalf_of text NOT NULL DEFAULT '',"
    " PRIMARY KEY (seq)) PARTITION BY RANGE (seq);"
    "CREATE INDEX IF NOT EXISTS log_pg_entry_patient_time ON log_pg_entry (patient, time, seq);"
    "CREATE INDEX IF NOT EXISTS log_pg_entry_obo ON log_pg_entry (on_behalf_of, time, seq)"
    " WHERE on_behalf_of <> '';"
    "CREATE INDEX IF NOT EXISTS log_pg_entry_actor ON log_pg_entry (actor_id, time, seq);"
    "CREATE TABLE IF NOT EXISTS log_pg_head (id int PRIMARY KEY CHECK (id = 1),"
    " size bigint NOT NULL, chain bytea NOT NULL, frontier bytea NOT NULL,"
    " seg_start bigint NOT NULL, time bigint NOT NULL, sig bytea NOT NULL, note text NOT NULL);"
    "CREATE TABLE IF NOT EXISTS log_pg_checkpoint (size bigint PRIMARY KEY,"
    " prev_size bigint NOT NULL, root bytea NOT NULL, chain bytea NOT NULL,"
    " time bigint NOT NULL, max_time bigint NOT NULL, sig bytea NOT NULL, note text NOT NULL);"
    "CREATE TABLE IF NOT EXISTS log_pg_node (level int NOT NULL, idx bigint NOT NULL,"
    " hash bytea NOT NULL, PRIMARY KEY (level, idx));"
    "CREATE TABLE IF NOT EXISTS log_pg_expiry (id int PRIMARY KEY CHECK (id = 1),"
    " through bigint NOT NULL, cutoff bigint NOT NULL, chain bytea NOT NULL,"
    " time bigint NOT NULL, sig bytea NOT NULL);"
    "CREATE TABLE IF NOT EXISTS log_pg_cosig (size bigint NOT NULL, line text NOT NULL,"
    " note text NOT NULL, PRIMARY KEY (size, line));"
    "INSERT INTO log_pg_head VALUES (1, 0, '\\x', '\\x', 0, 0, '\\x', '') ON CONFLICT DO NOTHING;"
    /* The partitions holding seqs lo..hi, made where missing: a plain table attached, which
     * locks the parent only SHARE UPDATE EXCLUSIVE (CREATE ... PARTITION OF would wait for
     * every reader, a verification included, while the appender holds the log's lock). */
    "CREATE OR REPLACE FUNCTION log_pg_partitions(lo bigint, hi bigint, per bigint)"
    " RETURNS void LANGUAGE plpgsql AS $f$ DECLARE k bigint; BEGIN"
    " FOR k IN (lo - 1) / per .. (hi - 1) / per LOOP"
    "  IF to_regclass('log_pg_entry_' || k) IS NULL THEN"
    "   EXECUTE format('CREATE TABLE %I (LIKE log_pg_entry)', 'log_pg_entry_' || k);"
    "   EXECUTE format('ALTER TABLE log_pg_entry ATTACH PARTITION %I FOR VALUES FROM (%s) TO (%s)',"
    "                  'log_pg_entry_' || k, k * per + 1, (k + 1) * per + 1);"
    "  END IF; END LOOP; END $f$;";

/* Schema 2 -> 3 in place, under the log's lock (migrate), before schema_sql makes the new
 * indexes: the actor's and the professional's columns (ALTER TABLE on the parent adds them
 * to every partition), filled from each row's encoding (fields 0 and 5, log/hash.h) by a
 * function of this session only, and the patient's index on (patient, seq) dropped for
 * schema_sql's (patient, time, seq): nothing else read it (proofs, verification and
 * retention go by seq). The text is read in the session's client encoding, as COPY reads
 * what the appends send, so a filled column has the bytes an append would have written.
 * Filling rewrites every row and the indexes are built over every partition while the lock
 * holds every server's appends: minutes on a large log (schema 2 was never used by serve).
 * A malformed encoding stops it (get_byte out of range): the log is then left at schema 2
 * for verify to look at. (PostgreSQL's << and | share one precedence: parenthesised.) */
static const char *const migrate_2_3_sql =
    "ALTER TABLE log_pg_entry ADD COLUMN actor_id text NOT NULL DEFAULT '',"
    " ADD COLUMN on_behalf_of text NOT NULL DEFAULT '';"
    "CREATE FUNCTION pg_temp.log_pg_field(enc bytea, k int) RETURNS text LANGUAGE plpgsql"
    " IMMUTABLE STRICT AS $f$ DECLARE o int := 13; n int; BEGIN"
    " FOR i IN 0 .. k LOOP"
    "  n := (get_byte(enc, o) << 24) | (get_byte(enc, o + 1) << 16)"
    "       | (get_byte(enc, o + 2) << 8) | get_byte(enc, o + 3);"
    "  IF i = k THEN"
    "   RETURN convert_from(substring(enc FROM o + 5 FOR n), pg_client_encoding());"
    "  END IF;"
    "  o := o + 4 + n;"
    " END LOOP; END $f$;"
    "UPDATE log_pg_entry SET actor_id = pg_temp.log_pg_field(enc, 0),"
    " on_behalf_of = pg_temp.log_pg_field(enc, 5);"
    "DROP INDEX IF EXISTS log_pg_entry_patient;"
    "DROP FUNCTION pg_temp.log_pg_field(bytea, int);"
    "UPDATE log_pg_meta SET v = '" SCHEMA "' WHERE k = 'schema';";

/* exec_ok with `what` in the message instead of the statements. */
static ob_status exec_as(PGconn *c, const char *sql, ExecStatusType want, const char *what,
                         ob_err *e)
{
    PGresult *r = PQexec(c, sql);
    ob_status rc = PQresultStatus(r) == want ? OB_OK : pg_fail(e, c, what);
    PQclear(r);
    return rc;
}

/* Reads meta key k into out (cap bytes); "" when absent. */
static ob_status meta_get(PGconn *c, const char *k, char *out, size_t cap, ob_err *e)
{
    const char *vals[1] = {k};
    PGresult *r =
        PQexecParams(c, "SELECT v FROM log_pg_meta WHERE k = $1", 1, NULL, vals, NULL, NULL, 0);
    ob_status rc = OB_OK;
    out[0] = '\0';
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        rc = pg_fail(e, c, "reading the log's settings");
    else if (PQntuples(r) == 1)
        snprintf(out, cap, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    return rc;
}

/* Creates the tables (under the log's lock, so servers starting together agree) and checks
 * that this server's key, segment and partition sizes are the log's. */
static ob_status migrate(PGconn *c, const uint8_t pk[OB_LOG_PK_LEN], uint32_t every, uint64_t per,
                         ob_err *e)
{
    char hex[2 * OB_LOG_PK_LEN + 1], ev[16], pv[24], got[160];
    ob_log_hex(pk, OB_LOG_PK_LEN, hex);
    snprintf(ev, sizeof ev, "%u", every);
    snprintf(pv, sizeof pv, "%llu", (unsigned long long)per);
    ob_status rc = exec_ok(c, "BEGIN", PGRES_COMMAND_OK, e);
    if (!rc)
        rc = exec_ok(c, LOCK_SQL, PGRES_TUPLES_OK, e);
    if (!rc)
        rc = exec_ok(c,
                     "CREATE TABLE IF NOT EXISTS log_pg_meta (k text PRIMARY KEY, v text NOT NULL)",
                     PGRES_COMMAND_OK, e);
    if (!rc)
        rc = meta_get(c, "schema", got, sizeof got, e);
    /* schema 1 (before partitions and proofs) is not migrated in place: no deployment has
     * one (docs/log.md, "On PostgreSQL"); schema 2 is */
    if (!rc && got[0] && strcmp(got, "2") != 0 && strcmp(got, SCHEMA) != 0)
        rc = ob_err_set(e, OB_EINVAL,
                        "the PostgreSQL log has schema %s, this server writes schema " SCHEMA
                        " and migrates schema 2 in place; %s",
                        got,
                        strcmp(got, "1") == 0 ? "schema 1 is not migrated: drop its log_pg_* tables"
                                              : "a newer schema needs a newer server");
    if (!rc && strcmp(got, "2") == 0)
        rc =
            exec_as(c, migrate_2_3_sql, PGRES_COMMAND_OK, "migrating the log to schema " SCHEMA, e);
    if (!rc)
        rc = exec_ok(c, schema_sql, PGRES_COMMAND_OK, e);
    if (!rc) {
        const char *vals[4] = {hex, ev, pv, SCHEMA};
        PGresult *r = PQexecParams(c,
                                   "INSERT INTO log_pg_meta VALUES ('pk', $1), ('every', $2), "
                                   "('partition', $3), ('schema', $4) ON CONFLICT DO NOTHING",
                                   4, NULL, vals, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_COMMAND_OK)
            rc = pg_fail(e, c, "recording the log's key");
        PQclear(r);
    }
    if (!rc && !(rc = meta_get(c, "pk", got, sizeof got, e)) && strcmp(got, hex) != 0)
        rc = ob_err_set(e, OB_ETAMPER,
                        "the PostgreSQL log was created with another key: refusing to "
                        "append to it with this one");
    /* every server cuts the segments and partitions where the verifier expects them */
    if (!rc && !(rc = meta_get(c, "every", got, sizeof got, e)) && strcmp(got, ev) != 0)
        rc = ob_err_set(e, OB_EINVAL,
                        "the PostgreSQL log cuts a checkpoint every %s entries; this server "
                        "is set to %s (checkpoint_every must be the same on every server)",
                        got, ev);
    if (!rc && !(rc = meta_get(c, "partition", got, sizeof got, e)) && strcmp(got, pv) != 0)
        rc = ob_err_set(e, OB_EINVAL,
                        "the PostgreSQL log's partitions hold %s entries; this server is set "
                        "to %s (partition_segments must be the same on every server)",
                        got, pv);
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
    /* the log's own guarantees do not depend on the session's defaults; a writer stalled
     * inside its transaction (SIGSTOP, a paused VM) holds the appenders' and the changes'
     * locks, so every server's appends and changes with them: PostgreSQL ends its session
     * after 30 s idle in the transaction (T-DB-10), which then fails as it must. (Not
     * shorter: a large import encodes its entries between its last write and the commit.) */
    ob_status rc = exec_ok(c,
                           "SET synchronous_commit = on; SET client_min_messages = warning; "
                           "SET idle_in_transaction_session_timeout = 30000",
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
    PGresult *r = query_nums(c,
                             "SELECT leaf, time, chain FROM log_pg_entry WHERE seq > $1 AND "
                             "seq <= $2 ORDER BY seq",
                             2, (const uint64_t[]){lo, hi}, 1);
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
    PGresult *r = PQexec(c, "COPY log_pg_entry (seq, time, patient, enc, leaf, chain, actor_id, "
                            "on_behalf_of) FROM STDIN (FORMAT binary)");
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

/* Text the log made but did not choose byte by byte (a note: origin, base64, newlines, an
 * em dash) goes in as hex, so no character of it can end the literal. */
static void sql_text(buf *b, const char *t)
{
    put(b, "convert_from(", 13);
    sql_hex(b, (const uint8_t *)t, strlen(t));
    put(b, ", 'UTF8')", 9);
}

/* The signed checkpoint note of the whole tree at f into note. */
static ob_status tree_note(const ob_pglog *lg, const ob_merkle_frontier *f,
                           char note[OB_CHECKPOINT_NOTE_CAP], ob_err *e)
{
    uint8_t root[OB_LOG_HASH_LEN];
    ob_merkle_frontier_root(f, root);
    return ob_checkpoint_note(lg->origin, f->size, root, lg->cfg.sk, note, OB_CHECKPOINT_NOTE_CAP,
                              e);
}

/* Keeps a perfect subtree of at least a segment (ob_merkle_emit_fn): an INSERT into the
 * batch's closing statements. A row left by a batch the log no longer continues (a
 * failover that lost it) is overwritten by the one that took its place. */
static void put_node(void *ctx, unsigned level, uint64_t idx, const uint8_t node[OB_LOG_HASH_LEN])
{
    buf *b = ctx;
    static const char ins[] = "INSERT INTO log_pg_node VALUES (";
    put(b, ins, sizeof ins - 1);
    sql_num(b, (long long)level, ", ");
    sql_num(b, (long long)idx, ", ");
    sql_hex(b, node, OB_LOG_HASH_LEN);
    static const char upd[] = ") ON CONFLICT (level, idx) DO UPDATE SET hash = excluded.hash; ";
    put(b, upd, sizeof upd - 1);
}

static void put_checkpoint(buf *b, const ob_log_checkpoint *cp, const char *note)
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
    put(b, ", ", 2);
    sql_text(b, note);
    put(b, "); ", 3);
}

static void put_head(buf *b, const head *h, const ob_log_head *signed_head, uint64_t seg_start,
                     const char *note)
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
    put(b, ", note = ", 9);
    sql_text(b, note);
    put(b, " WHERE id = 1; ", 15);
}

/* Makes the partitions for seqs lo..hi where missing (log_pg_partitions in the schema). */
static ob_status make_partitions(PGconn *c, uint64_t lo, uint64_t hi, uint64_t per, ob_err *e)
{
    PGresult *r = query_nums(c, "SELECT log_pg_partitions($1, $2, $3)", 3,
                             (const uint64_t[]){lo, hi, per}, 0);
    ob_status rc =
        PQresultStatus(r) == PGRES_TUPLES_OK ? OB_OK : pg_fail(e, c, "making partitions");
    PQclear(r);
    return rc;
}

/* The batch's transaction: continues the log from its head and commits. Round trips:
 * BEGIN + lock + head; the rows other servers added since this one's last batch (usually
 * none); COPY (two); checkpoints + head + COMMIT. */
static ob_status extend(ob_pglog *lg, job *jobs, ob_err *e)
{
    PGconn *c = lg->conn;
    head h;
    lg->w_cuts = 0;
    lg->w_commit_ns = 0;
    ob_status rc = begin_and_read_head(c, &h, e);
    if (rc)
        return rc;
    lg->w_size = h.size; /* seen, even if this batch goes no further */
    uint32_t every = lg->cfg.checkpoint_every ? lg->cfg.checkpoint_every : 4096;
    if (h.size - h.seg_start >= every)
        return ob_err_set(e, OB_ETAMPER, "the PostgreSQL log's open segment is longer than %u",
                          every);
    /* the open segment's leaves: those committed before, then this batch's */
    rc = load_segment(lg, &h, e);
    if (rc)
        return rc;
    /* the partitions this batch writes into, and the next one, so that a batch rarely
     * makes one (made in this transaction: kept only if it commits) */
    uint64_t total = 0, per = lg->per_part, parts_upto = lg->parts_upto;
    for (job *j = jobs; j; j = j->next)
        total += j->n;
    if (h.size + total > parts_upto) {
        uint64_t hi = h.size + total + per;
        rc = make_partitions(c, h.size + 1, hi, per, e);
        if (rc)
            return rc;
        parts_upto = (hi + per - 1) / per * per;
    }
    /* each job's change, in the batch's transaction before its entries, in a savepoint of its
     * own: a change refused (or failing) takes only its own job out of the batch */
    for (job *j = jobs; j && !rc; j = j->next) {
        if (!j->apply)
            continue;
        if ((rc = exec_ok(c, "SAVEPOINT job", PGRES_COMMAND_OK, e)))
            break;
        ob_store_tx tx = {&ob_store_pg_tx_ops, c};
        ob_err je = {0};
        ob_status as = j->apply(j->apply_ctx, &tx, &je);
        if (as) {
            j->st = as;
            j->err = je;
            if (j->err.code == OB_OK)
                ob_err_set(&j->err, as, "access log: the change was refused");
            rc =
                exec_ok(c, "ROLLBACK TO SAVEPOINT job; RELEASE SAVEPOINT job", PGRES_COMMAND_OK, e);
        } else {
            rc = exec_ok(c, "RELEASE SAVEPOINT job", PGRES_COMMAND_OK, e);
        }
    }
    if (rc)
        return rc;
    bool any = false;
    for (job *j = jobs; j && !any; j = j->next)
        any = !j->st;
    if (!any) { /* every change refused: nothing to append, nothing to commit; the segment
                 * as read (load_segment) is the committed one */
        lg->seg_start = h.seg_start;
        lg->seg_size = h.size;
        memcpy(lg->seg_chain, h.chain, OB_LOG_HASH_LEN);
        return exec_ok(c, "ROLLBACK", PGRES_COMMAND_OK, e);
    }
    uint64_t open = h.size - h.seg_start;
    uint8_t(*leaves)[OB_LOG_HASH_LEN] = lg->seg;
    char note[OB_CHECKPOINT_NOTE_CAP];
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
        if (j->st) /* its change was refused: none of its entries */
            continue;
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
            ob_merkle_frontier_push_node_emit(&h.tree, 0, leaves[at], lg->seg_level, put_node,
                                              &tail);
            at++;
            if (en->time > max_time)
                max_time = en->time;
            const char *pat = en->patient ? en->patient : "";
            const char *act = en->actor_id ? en->actor_id : "";
            const char *obo = en->on_behalf_of ? en->on_behalf_of : "";
            put16(&rows, 8);
            put32(&rows, 8);
            put64(&rows, seq);
            put32(&rows, 8);
            put64(&rows, (uint64_t)en->time);
            field(&rows, pat, strlen(pat));
            field(&rows, enc, len);
            field(&rows, leaves[at - 1], OB_LOG_HASH_LEN);
            field(&rows, h.chain, OB_LOG_HASH_LEN);
            field(&rows, act, strlen(act));
            field(&rows, obo, strlen(obo));
            /* a full segment is cut now, inside the same transaction */
            if (h.size - seg_start == every) {
                ob_log_checkpoint cp = {.prev_size = seg_start, .size = h.size, .time = now};
                cp.max_time = max_time;
                ob_merkle_root((const uint8_t(*)[OB_LOG_HASH_LEN])leaves, at, cp.root);
                memcpy(cp.chain, h.chain, OB_LOG_HASH_LEN);
                ob_log_checkpoint_sign(&cp, lg->cfg.sk);
                rc = tree_note(lg, &h.tree, note, e);
                put_checkpoint(&tail, &cp, note);
                lg->w_cuts++;
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
        rc = tree_note(lg, &h.tree, note, e);
        put_head(&tail, &h, &sh, seg_start, note);
        put(&tail, "COMMIT", 7); /* with its NUL */
        if (!rc && tail.oom)
            rc = ob_err_set(e, OB_ENOMEM, "out of memory appending to the PostgreSQL log");
    }
    if (!rc) {
        /* a failed statement skips the rest of the string, COMMIT included; a COMMIT of a
         * failed transaction would say ROLLBACK */
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        PGresult *r = PQexec(c, (const char *)tail.p);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (PQresultStatus(r) != PGRES_COMMAND_OK || strcmp(PQcmdStatus(r), "COMMIT") != 0)
            rc = pg_fail(e, c, "committing the entries");
        PQclear(r);
        lg->w_commit_ns = (int64_t)(t1.tv_sec - t0.tv_sec) * 1000000000 + (t1.tv_nsec - t0.tv_nsec);
    }
    ob_free(enc);
    ob_free(rows.p);
    ob_free(tail.p);
    if (!rc) { /* committed: the segment as this server now knows it */
        lg->seg_start = seg_start;
        lg->seg_size = h.size;
        lg->seg_max = max_time;
        memcpy(lg->seg_chain, h.chain, OB_LOG_HASH_LEN);
        lg->parts_upto = parts_upto;
        lg->w_size = h.size;
    } else {
        lg->w_cuts = 0;
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

/* The counters after a batch (before anyone hears of it, so that a caller who has its
 * answer sees it counted), and whether it lost the connection. */
static void count_batch(ob_pglog *lg, const job *jobs, ob_status rc)
{
    uint64_t appended = 0, failed = 0, done_async = 0;
    for (const job *j = jobs; j; j = j->next) {
        if (rc || j->st)
            failed++;
        else
            appended += j->n;
        if (j->done_fn)
            done_async += j->n;
    }
    /* a batch that failed on a live connection reached the database, which refused it */
    bool lost = rc && (!lg->conn || PQstatus(lg->conn) != CONNECTION_OK);
    struct timespec cpu;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
    pthread_mutex_lock(&lg->mu);
    ob_log_stats *s = &lg->stats;
    s->writer_cpu_ns = (uint64_t)cpu.tv_sec * 1000000000u + (uint64_t)cpu.tv_nsec;
    s->size = lg->w_size;
    s->failed += failed;
    lg->pending -= done_async; /* no longer queued: their callbacks are next */
    s->pending = lg->pending;
    if (!rc && appended) { /* every change refused: rolled back, nothing committed */
        s->commits++;
        s->appended += appended;
        s->checkpoints += lg->w_cuts;
        if (appended > s->max_batch)
            s->max_batch = appended;
        ob_log_count_commit(s, lg->w_commit_ns);
    }
    if (lost && !lg->lost)
        lg->lost_at = time(NULL);
    lg->lost = lost;
    pthread_mutex_unlock(&lg->mu);
}

/* A connection again after a batch lost it, to a primary (a server in recovery takes no
 * appends). The writer thread's, without mu. */
static bool reconnect(ob_pglog *lg)
{
    if (lg->conn)
        PQfinish(lg->conn);
    lg->conn = NULL;
    ob_err e = {0};
    if (connect_db(lg->conninfo, &lg->conn, &e))
        return false;
    PGresult *r = PQexec(lg->conn, "SELECT pg_is_in_recovery()");
    bool primary = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
                   strcmp(PQgetvalue(r, 0, 0), "f") == 0;
    PQclear(r);
    return primary;
}

/* Waits (under mu) until a job is queued or the log closes. While the last batch lost the
 * connection, the writer connects again by itself every RECONNECT_MS meanwhile: the ground
 * (ob_pglog_ground, the health check) says "lost" until a connection is back, and a load
 * balancer that takes a server whose health check fails out of service sends it no request
 * whose batch would connect: after a failover every server stayed out for good (issue 18,
 * tests/e2e/pg_failover_http.sh). */
#define RECONNECT_MS 250

static void wait_for_work(ob_pglog *lg)
{
    while (!lg->head && !lg->closing) {
        if (!lg->lost) {
            pthread_cond_wait(&lg->wake, &lg->mu);
            continue;
        }
        struct timespec at;
        clock_gettime(CLOCK_MONOTONIC, &at);
        at.tv_nsec += RECONNECT_MS * 1000000L;
        if (at.tv_nsec >= 1000000000L) {
            at.tv_sec++;
            at.tv_nsec -= 1000000000L;
        }
        if (pthread_cond_timedwait(&lg->wake, &lg->mu, &at) != ETIMEDOUT || lg->head || lg->closing)
            continue;
        pthread_mutex_unlock(&lg->mu);
        bool back = reconnect(lg);
        pthread_mutex_lock(&lg->mu);
        if (back)
            lg->lost = false;
    }
}

static void *writer(void *arg)
{
    ob_pglog *lg = arg;
    uint32_t max = lg->cfg.max_batch ? lg->cfg.max_batch : 8192;
    pthread_mutex_lock(&lg->mu);
    for (;;) {
        wait_for_work(lg);
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
        count_batch(lg, first, rc);
        /* asynchronous jobs hear on this thread, outside the lock, and are freed */
        for (job *j = first, *next; j; j = next) {
            next = j->next;
            if (!j->done_fn)
                continue;
            ob_status st = rc ? rc : j->st;
            j->done_fn(j->done_ctx, st, st ? 0 : j->first_seq, st ? (rc ? &e : &j->err) : NULL);
        }
        pthread_mutex_lock(&lg->mu);
        for (job *j = first; j;) {
            job *next = j->next;
            if (j->done_fn) {
                ob_free(j);
            } else {
                if (rc) { /* the batch failed: no job's change or entries committed */
                    j->st = rc;
                    j->err = e;
                }
                j->done = true;
            }
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
    uint32_t every = lg->cfg.checkpoint_every;
    /* a segment is then a perfect subtree of the whole tree: its signed root stands for its
     * leaves once retention has dropped them */
    if (every & (every - 1)) {
        ob_free(lg->conninfo);
        ob_free(lg);
        return ob_err_set(e, OB_EINVAL,
                          "the PostgreSQL log's checkpoint_every must be a power of two, not %u",
                          every);
    }
    while ((1u << lg->seg_level) < every)
        lg->seg_level++;
    lg->per_part = (uint64_t)every * (cfg->partition_segments ? cfg->partition_segments : 1024);
    ob_log_origin(cfg->pk, lg->origin);
    lg->seg = ob_malloc((size_t)lg->cfg.checkpoint_every * OB_LOG_HASH_LEN);
    if (!lg->seg) {
        ob_free(lg->conninfo);
        ob_free(lg);
        return ob_err_set(e, OB_ENOMEM, "out of memory opening the PostgreSQL log");
    }
    ob_status rc = connect_db(conninfo, &lg->conn, e);
    if (!rc)
        rc = migrate(lg->conn, cfg->pk, every, lg->per_part, e);
    if (!rc) {
        pthread_mutex_init(&lg->mu, NULL);
        pthread_condattr_t ca; /* wake: also timed (wait_for_work), on the monotonic clock */
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&lg->wake, &ca);
        pthread_condattr_destroy(&ca);
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

static bool utf8_ok(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p;) {
        size_t k = ob_utf8_len(p);
        if (!k)
            return false;
        p += k;
    }
    return true;
}

/* An entry the batch can take: its fields' lengths, and its text columns UTF-8 (the
 * database checks them as COPY reads them, failing every call in the batch over one). */
static ob_status check_entry(const ob_log_entry *en, ob_err *e)
{
    ob_status rc = ob_log_entry_check(en, e);
    if (rc)
        return rc;
    if (!utf8_ok(en->patient) || !utf8_ok(en->actor_id) || !utf8_ok(en->on_behalf_of))
        return ob_err_set(e, OB_EINVAL,
                          "the PostgreSQL log: an entry's patient, actor or professional is not "
                          "UTF-8");
    return OB_OK;
}

ob_status ob_pglog_append(ob_pglog *lg, const ob_log_entry *entries, size_t n, uint64_t *first_seq,
                          ob_err *e)
{
    return ob_pglog_append_change(lg, entries, n, NULL, NULL, first_seq, e);
}

ob_status ob_pglog_append_change(ob_pglog *lg, const ob_log_entry *entries, size_t n,
                                 ob_store_tx_fn apply, void *apply_ctx, uint64_t *first_seq,
                                 ob_err *e)
{
    if (!n)
        return ob_err_set(e, OB_EINVAL, "an append needs at least one entry");
    for (size_t i = 0; i < n; i++) {
        ob_status rc = check_entry(&entries[i], e);
        if (rc)
            return rc;
    }
    job j = {.entries = entries, .n = n, .apply = apply, .apply_ctx = apply_ctx};
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

#define ALIGN16(x)  (((x) + 15) & ~(size_t)15)
#define MAX_PENDING 65536

ob_status ob_pglog_append_async(ob_pglog *lg, const ob_log_entry *entries, size_t n,
                                ob_store_tx_fn apply, void *apply_ctx, ob_pglog_done_fn done,
                                void *done_ctx, ob_err *e)
{
    if (!n || !done)
        return ob_err_set(e, OB_EINVAL, "an append needs at least one entry and a callback");
    for (size_t i = 0; i < n; i++) {
        ob_status rc = check_entry(&entries[i], e);
        if (rc)
            return rc;
    }
    /* one allocation: the job, the entries, their strings (the caller may free its own) */
    size_t off_entries = ALIGN16(sizeof(job)), off_strings = off_entries + n * sizeof(ob_log_entry);
    char *mem = ob_malloc(off_strings + ob_log_entries_strbytes(entries, n));
    if (!mem)
        return ob_err_set(e, OB_ENOMEM, "out of memory appending to the PostgreSQL log");
    job *j = (job *)(void *)mem;
    ob_log_entry *copy = (ob_log_entry *)(void *)(mem + off_entries);
    ob_log_entries_copy(entries, n, copy, mem + off_strings);
    *j = (job){.entries = copy,
               .n = n,
               .apply = apply,
               .apply_ctx = apply_ctx,
               .done_fn = done,
               .done_ctx = done_ctx};
    pthread_mutex_lock(&lg->mu);
    ob_status rc = OB_OK;
    if (lg->closing)
        rc = ob_err_set(e, OB_EINVAL, "the PostgreSQL log is closing");
    else if (lg->pending > 0 && lg->pending + n > MAX_PENDING) {
        rc = ob_err_set(e, OB_ELIMIT,
                        "the PostgreSQL log has %zu entries queued; retry when some are done",
                        lg->pending);
        lg->stats.refused++;
    }
    if (rc) {
        pthread_mutex_unlock(&lg->mu);
        ob_free(mem);
        return rc;
    }
    lg->pending += n;
    lg->stats.pending = lg->pending;
    if (lg->tail)
        lg->tail->next = j;
    else
        lg->head = j;
    lg->tail = j;
    pthread_cond_signal(&lg->wake);
    pthread_mutex_unlock(&lg->mu);
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

void ob_pglog_get_stats(ob_pglog *lg, ob_log_stats *out)
{
    pthread_mutex_lock(&lg->mu);
    *out = lg->stats;
    pthread_mutex_unlock(&lg->mu);
    out->indexed = out->size; /* PostgreSQL indexes each row as it is inserted */
}

ob_status ob_pglog_ground(ob_pglog *lg, ob_err *e)
{
    pthread_mutex_lock(&lg->mu);
    bool lost = lg->lost;
    long ago = (long)(time(NULL) - lg->lost_at);
    pthread_mutex_unlock(&lg->mu);
    if (!lost)
        return OB_OK;
    /* libpq's words would name the host, port and user: the health check says only what
     * the operator must act on */
    return ob_err_set(e, OB_EIO,
                      "the PostgreSQL log's writer has no connection to the database (lost "
                      "%ld s ago; its last batch failed on it): appends fail until a batch "
                      "reconnects to a primary",
                      ago < 0 ? 0 : ago);
}

/* A text column of row i equals the decoded string s, byte for byte. */
static bool col_is(const PGresult *r, int i, int col, const char *s)
{
    size_t n = strlen(s);
    return (size_t)PQgetlength(r, i, col) == n && memcmp(PQgetvalue(r, i, col), s, n) == 0;
}

/* The copies of en's time, patient, actor and professional in row i's columns from col
 * on (binary results; with_actor false on a schema-2 log, which has no such columns) are
 * en's. The queries find entries by these columns, so one edited behind the log's back
 * could put an entry under another's name (ob_pglog_each refuses it) or hide it from its
 * own patient (ob_pglog_verify finds it). */
static bool cols_match(const PGresult *r, int i, int col, const ob_log_entry *en, bool with_actor)
{
    return PQgetlength(r, i, col) == 8 && (ob_time)get_be64(PQgetvalue(r, i, col)) == en->time &&
           col_is(r, i, col + 1, en->patient) &&
           (!with_actor ||
            (col_is(r, i, col + 2, en->actor_id) && col_is(r, i, col + 3, en->on_behalf_of)));
}

/* ---- verification ---- */

/* A stored tree node (log_pg_node), for lookups by (level, idx). */
typedef struct node {
    uint64_t idx;
    unsigned level;
    uint8_t hash[OB_LOG_HASH_LEN];
    bool met; /* by the recomputed tree */
} node;

static int node_cmp(const void *a, const void *b)
{
    const node *x = a, *y = b;
    if (x->level != y->level)
        return x->level < y->level ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static node *node_find(node *nodes, size_t n, unsigned level, uint64_t idx)
{
    node key = {.level = level, .idx = idx};
    return bsearch(&key, nodes, n, sizeof *nodes, node_cmp);
}

/* Rows (level, idx, hash) of a binary result into a sorted array (ob_free). */
static ob_status nodes_of(PGresult *r, node **out, size_t *n, ob_err *e)
{
    size_t k = (size_t)PQntuples(r);
    node *v = ob_calloc(k ? k : 1, sizeof *v);
    if (!v)
        return ob_err_set(e, OB_ENOMEM, "out of memory reading the PostgreSQL log's tree");
    for (size_t i = 0; i < k; i++) {
        if (PQgetlength(r, (int)i, 0) != 4 || PQgetlength(r, (int)i, 1) != 8 ||
            PQgetlength(r, (int)i, 2) != OB_LOG_HASH_LEN) {
            ob_free(v);
            return ob_err_set(e, OB_ETAMPER, "a malformed tree node in the PostgreSQL log");
        }
        uint32_t lv;
        memcpy(&lv, PQgetvalue(r, (int)i, 0), 4); /* int4, network order */
        v[i].level = ntohl(lv);
        v[i].idx = get_be64(PQgetvalue(r, (int)i, 1));
        memcpy(v[i].hash, PQgetvalue(r, (int)i, 2), OB_LOG_HASH_LEN);
    }
    qsort(v, k, sizeof *v, node_cmp);
    *out = v;
    *n = k;
    return OB_OK;
}

typedef struct vstate {
    const uint8_t *pk;
    uint32_t every;
    unsigned seg_level;
    char origin[OB_NOTE_NAME_MAX + 1];
    ob_pglog_report *r;
    uint64_t seq;
    uint8_t chain[OB_LOG_HASH_LEN];
    ob_merkle_frontier tree;
    uint8_t (*seg)[OB_LOG_HASH_LEN]; /* the current segment's leaves */
    size_t nseg, capseg;
    ob_time seg_max;
    node *nodes; /* stored, each to be met exactly once by the recomputed tree */
    size_t nnodes;
    uint64_t bad_node;       /* 1 + the first leaf of a node that is missing or differs */
    const ob_log_head *seen; /* a head recorded earlier that the log must extend, or NULL */
    bool seen_matched;       /* the chain after entry seen->size was seen's */
    bool schema2;            /* a log not yet migrated: no actor or professional columns */
    char *strs;              /* the decoded entry's strings */
    size_t strcap;
} vstate;

/* At seq v->seq with chain v->chain: if a recorded head is of this size, the log must have
 * its chain here (else it was rewritten from an earlier point). */
static ob_status check_seen(vstate *v, ob_err *e)
{
    if (!v->seen || v->seq != v->seen->size)
        return OB_OK;
    if (memcmp(v->chain, v->seen->chain, OB_LOG_HASH_LEN) != 0)
        return ob_err_set(e, OB_ETAMPER,
                          "forked: entry %llu is not the one the recorded head signed (the "
                          "log was rewritten from an earlier point)",
                          (unsigned long long)v->seq);
    v->seen_matched = true;
    return OB_OK;
}

/* ob_merkle_emit_fn: the recomputed tree completed a subtree of at least a segment; the
 * stored node must be its hash. */
static void check_node(void *ctx, unsigned level, uint64_t idx, const uint8_t h[OB_LOG_HASH_LEN])
{
    vstate *v = ctx;
    node *n = node_find(v->nodes, v->nnodes, level, idx);
    if (n && !n->met && memcmp(n->hash, h, OB_LOG_HASH_LEN) == 0) {
        n->met = true;
        v->r->nodes++;
    } else if (!v->bad_node) {
        v->bad_node = 1 + (idx << level);
    }
}

/* A signed note of the tree: by the log's key under its origin, of `size`, with the root
 * the entries give. */
static ob_status check_note(vstate *v, const char *note, uint64_t size, ob_err *e)
{
    ob_note_key key;
    char origin[OB_NOTE_NAME_MAX + 1];
    uint64_t sz;
    uint8_t root[OB_LOG_HASH_LEN], want[OB_LOG_HASH_LEN];
    ob_note_result nr;
    ob_merkle_frontier_root(&v->tree, want);
    if (ob_note_key_make(&key, v->origin, OB_NOTE_ED25519, v->pk, e) != OB_OK ||
        ob_log_checkpoint_open(note, &key, 1, origin, &sz, root, &nr, NULL) != OB_OK ||
        sz != size || v->tree.size != size || memcmp(root, want, OB_LOG_HASH_LEN) != 0)
        return ob_err_set(e, OB_ETAMPER,
                          "the signed note of the tree at %llu does not match the entries (or "
                          "its signature does not verify)",
                          (unsigned long long)size);
    v->r->notes++;
    return OB_OK;
}

/* Checkpoint row k (columns size, prev_size, root, chain, time, max_time, sig, note). */
static ob_status read_cp(PGresult *cps, int k, ob_log_checkpoint *cp, ob_err *e)
{
    cp->size = get_be64(PQgetvalue(cps, k, 0));
    cp->prev_size = get_be64(PQgetvalue(cps, k, 1));
    if (PQgetlength(cps, k, 2) != OB_LOG_HASH_LEN || PQgetlength(cps, k, 3) != OB_LOG_HASH_LEN ||
        PQgetlength(cps, k, 6) != OB_LOG_SIG_LEN)
        return ob_err_set(e, OB_ETAMPER, "checkpoint at %llu: malformed",
                          (unsigned long long)cp->size);
    memcpy(cp->root, PQgetvalue(cps, k, 2), OB_LOG_HASH_LEN);
    memcpy(cp->chain, PQgetvalue(cps, k, 3), OB_LOG_HASH_LEN);
    cp->time = (ob_time)get_be64(PQgetvalue(cps, k, 4));
    cp->max_time = (ob_time)get_be64(PQgetvalue(cps, k, 5));
    memcpy(cp->sig, PQgetvalue(cps, k, 6), OB_LOG_SIG_LEN);
    return OB_OK;
}

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
    ob_status rc = read_cp(cps, *k, &cp, e);
    if (rc)
        return rc;
    uint8_t root[OB_LOG_HASH_LEN];
    ob_merkle_root((const uint8_t(*)[OB_LOG_HASH_LEN])v->seg, v->nseg, root);
    if (cp.prev_size != v->seq - v->nseg || memcmp(root, cp.root, OB_LOG_HASH_LEN) != 0 ||
        memcmp(cp.chain, v->chain, OB_LOG_HASH_LEN) != 0 || cp.max_time != v->seg_max ||
        !ob_log_checkpoint_verify(&cp, v->pk))
        return ob_err_set(e, OB_ETAMPER,
                          "checkpoint at %llu does not match the entries it covers (or its "
                          "signature does not verify)",
                          (unsigned long long)cp.size);
    if ((rc = check_note(v, PQgetvalue(cps, *k, 7), cp.size, e)) != OB_OK)
        return rc;
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
    if (len > v->strcap) {
        char *p = ob_realloc(v->strs, len);
        if (!p)
            return ob_err_set(e, OB_ENOMEM, "out of memory verifying the PostgreSQL log");
        v->strs = p;
        v->strcap = len;
    }
    uint8_t leaf[OB_LOG_HASH_LEN];
    leaf_of(enc, len, leaf);
    ob_log_chain_next(v->chain, leaf, v->chain);
    if (memcmp(leaf, PQgetvalue(rows, i, 2), OB_LOG_HASH_LEN) != 0 ||
        memcmp(v->chain, PQgetvalue(rows, i, 3), OB_LOG_HASH_LEN) != 0)
        return ob_err_set(e, OB_ETAMPER, "entry %llu was changed", (unsigned long long)seq);
    /* after the hashes: a changed encoding is named as such */
    ob_log_entry en;
    uint64_t eseq;
    if (ob_log_entry_decode(enc, len, &en, &eseq, v->strs, v->strcap, NULL) != OB_OK ||
        !cols_match(rows, i, 4, &en, !v->schema2))
        return ob_err_set(e, OB_ETAMPER,
                          "entry %llu: its encoding is malformed, or its row's time, patient, "
                          "actor or professional is not its encoding's",
                          (unsigned long long)seq);
    if (v->nseg == v->capseg) {
        size_t cap = v->capseg ? 2 * v->capseg : 4096;
        void *p = ob_realloc(v->seg, cap * OB_LOG_HASH_LEN);
        if (!p)
            return ob_err_set(e, OB_ENOMEM, "out of memory verifying the PostgreSQL log");
        v->seg = p;
        v->capseg = cap;
    }
    memcpy(v->seg[v->nseg++], leaf, OB_LOG_HASH_LEN);
    ob_merkle_frontier_push_node_emit(&v->tree, 0, leaf, v->seg_level, check_node, v);
    /* the entry's time is the second field of the encoding: version, then i64 time */
    ob_time t = (ob_time)ob_log_get_u64(enc + 1);
    if (t > v->seg_max)
        v->seg_max = t;
    v->seq = seq;
    v->r->entries++;
    return check_seen(v, e);
}

/* The prefix retention dropped: the signed marker (row of log_pg_expiry, if any), then the
 * dropped segments' checkpoints, whose signed roots stand for their leaves in the tree. */
static ob_status verify_expired(vstate *v, PGresult *x, PGresult *cps, int *k, ob_err *e)
{
    if (PQntuples(x) == 0)
        return OB_OK;
    ob_log_expiry m;
    m.through = get_be64(PQgetvalue(x, 0, 0));
    m.cutoff = (ob_time)get_be64(PQgetvalue(x, 0, 1));
    m.time = (ob_time)get_be64(PQgetvalue(x, 0, 3));
    if (PQgetlength(x, 0, 2) != OB_LOG_HASH_LEN || PQgetlength(x, 0, 4) != OB_LOG_SIG_LEN)
        return ob_err_set(e, OB_ETAMPER, "the retention marker is malformed");
    memcpy(m.chain, PQgetvalue(x, 0, 2), OB_LOG_HASH_LEN);
    memcpy(m.sig, PQgetvalue(x, 0, 4), OB_LOG_SIG_LEN);
    /* without the key no one can say entries were expired: deleting them is tampering */
    if (!ob_log_expiry_verify(&m, v->pk) || m.through % v->every != 0)
        return ob_err_set(e, OB_ETAMPER,
                          "the retention marker (entries 1..%llu expired) is not signed by the "
                          "log's key",
                          (unsigned long long)m.through);
    while (v->seq < m.through) {
        ob_log_checkpoint cp;
        ob_status rc;
        if (*k >= PQntuples(cps) || get_be64(PQgetvalue(cps, *k, 0)) != v->seq + v->every)
            return ob_err_set(e, OB_ETAMPER,
                              "the checkpoint at %llu of an expired segment is missing",
                              (unsigned long long)(v->seq + v->every));
        if ((rc = read_cp(cps, *k, &cp, e)) != OB_OK)
            return rc;
        if (cp.prev_size != v->seq || !ob_log_checkpoint_verify(&cp, v->pk))
            return ob_err_set(e, OB_ETAMPER,
                              "the checkpoint at %llu of an expired segment does not verify",
                              (unsigned long long)cp.size);
        if (cp.max_time >= m.cutoff)
            return ob_err_set(
                e, OB_ETAMPER,
                "segment (%llu, %llu] was expired with entries newer than the cut-off",
                (unsigned long long)cp.prev_size, (unsigned long long)cp.size);
        ob_merkle_frontier_push_node_emit(&v->tree, v->seg_level, cp.root, v->seg_level + 1,
                                          check_node, v);
        /* the segment's own node: the recomputed tree's is its signed root */
        check_node(v, v->seg_level, cp.prev_size >> v->seg_level, cp.root);
        v->seq = cp.size;
        memcpy(v->chain, cp.chain, OB_LOG_HASH_LEN);
        if ((rc = check_note(v, PQgetvalue(cps, *k, 7), cp.size, e)) != OB_OK ||
            (rc = check_seen(v, e)) != OB_OK)
            return rc;
        v->r->checkpoints++;
        (*k)++;
    }
    if (memcmp(v->chain, m.chain, OB_LOG_HASH_LEN) != 0)
        return ob_err_set(e, OB_ETAMPER, "the retention marker is not of this log's history");
    v->r->expired_through = m.through;
    v->r->expired_cutoff = m.cutoff;
    /* a recorded head inside a dropped segment: nothing is left to compare it with; the
     * signed marker says those entries went by retention (ob_pglog_verify_extends) */
    if (v->seen && v->seen->size <= m.through)
        v->seen_matched = true;
    return OB_OK;
}

/* The signed head: the last entry's size and chain, its stored tree the recomputed one, its
 * note of that tree. */
static ob_status verify_head(vstate *v, PGresult *hd, ob_err *e)
{
    ob_log_head h;
    h.size = get_be64(PQgetvalue(hd, 0, 0));
    h.time = (ob_time)get_be64(PQgetvalue(hd, 0, 3));
    v->r->size = h.size;
    if (h.size != v->seq)
        return ob_err_set(e, OB_ETAMPER, "the signed head says %llu entries, the log holds %llu",
                          (unsigned long long)h.size, (unsigned long long)v->seq);
    if (!h.size)
        return OB_OK;
    if (PQgetlength(hd, 0, 1) != OB_LOG_HASH_LEN || PQgetlength(hd, 0, 4) != OB_LOG_SIG_LEN)
        return ob_err_set(e, OB_ETAMPER, "the head is malformed");
    memcpy(h.chain, PQgetvalue(hd, 0, 1), OB_LOG_HASH_LEN);
    memcpy(h.sig, PQgetvalue(hd, 0, 4), OB_LOG_SIG_LEN);
    ob_merkle_frontier stored;
    uint8_t a[OB_LOG_HASH_LEN], b[OB_LOG_HASH_LEN];
    if (memcmp(h.chain, v->chain, OB_LOG_HASH_LEN) != 0 || !ob_log_head_verify(&h, v->pk))
        return ob_err_set(e, OB_ETAMPER,
                          "the signed head does not match the last entry (or its signature "
                          "does not verify)");
    if (ob_merkle_frontier_decode(&stored, h.size, (const uint8_t *)PQgetvalue(hd, 0, 2),
                                  (size_t)PQgetlength(hd, 0, 2)) != 0)
        return ob_err_set(e, OB_ETAMPER, "the head's tree does not match its size");
    ob_merkle_frontier_root(&stored, a);
    ob_merkle_frontier_root(&v->tree, b);
    if (memcmp(a, b, OB_LOG_HASH_LEN) != 0)
        return ob_err_set(e, OB_ETAMPER, "the head's tree is not the entries' tree");
    v->r->head = h;
    return check_note(v, PQgetvalue(hd, 0, 5), h.size, e);
}

/* A read transaction on one snapshot; the entries' table is locked first, so retention
 * cannot drop a partition between the snapshot and the read (it waits, or gives up). */
/* BEGIN (begin, a BEGIN statement) and the lock; OB_ENOTFOUND when there is no log here
 * (no table), so that a witness can tell a wiped log from a server it cannot reach. */
static ob_status begin_snapshot(PGconn *c, const char *begin, ob_err *e)
{
    ob_status rc = exec_ok(c, begin, PGRES_COMMAND_OK, e);
    if (rc)
        return rc;
    PGresult *r = PQexec(c, "LOCK TABLE log_pg_entry IN ACCESS SHARE MODE");
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        rc = no_log(r) ? ob_err_set(e, OB_ENOTFOUND, "there is no PostgreSQL log here")
                       : pg_fail(e, c, "locking the log for reading");
    PQclear(r);
    return rc;
}

static ob_status begin_read(PGconn *c, ob_err *e)
{
    return begin_snapshot(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", e);
}

static void end_read(PGconn *c)
{
    PQclear(PQexec(c, "ROLLBACK"));
    PQfinish(c);
}

static PGresult *bin_query(PGconn *c, const char *sql)
{
    return PQexecParams(c, sql, 0, NULL, NULL, NULL, NULL, 1);
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
    vstate v = {.pk = pk, .every = every ? every : 4096, .r = r, .seen = seen};
    if (v.every & (v.every - 1))
        return ob_err_set(e, OB_EINVAL, "the PostgreSQL log's segments are a power of two");
    while ((1u << v.seg_level) < v.every)
        v.seg_level++;
    ob_log_origin(pk, v.origin);
    PGconn *c;
    ob_status rc = connect_db(conninfo, &c, e);
    if (rc)
        return rc;
    ob_merkle_frontier_init(&v.tree);
    /* one snapshot for the whole check, so appends going on meanwhile do not tear it */
    rc = begin_read(c, e);
    PGresult *hd = NULL, *cps = NULL, *x = NULL, *nd = NULL;
    if (!rc) {
        hd = bin_query(c, "SELECT size, chain, frontier, time, sig, note FROM log_pg_head "
                          "WHERE id = 1");
        cps = bin_query(c, "SELECT size, prev_size, root, chain, time, max_time, sig, note "
                           "FROM log_pg_checkpoint ORDER BY size");
        x = bin_query(c, "SELECT through, cutoff, chain, time, sig FROM log_pg_expiry");
        nd = bin_query(c, "SELECT level, idx, hash FROM log_pg_node");
        if (PQresultStatus(hd) != PGRES_TUPLES_OK || PQntuples(hd) != 1 ||
            PQresultStatus(cps) != PGRES_TUPLES_OK || PQresultStatus(x) != PGRES_TUPLES_OK ||
            PQresultStatus(nd) != PGRES_TUPLES_OK)
            rc = pg_fail(e, c, "reading the head, checkpoints, tree and retention marker");
    }
    if (!rc)
        rc = nodes_of(nd, &v.nodes, &v.nnodes, e);
    /* the notes witnesses cosigned, each checked where the entries reach its size (a log
     * older than their table has none) */
    PGresult *cs = NULL;
    int ck = 0, ncs = 0;
    if (!rc) {
        cs = PQexec(c, "SELECT DISTINCT size, note FROM log_pg_cosig ORDER BY size, note");
        if (PQresultStatus(cs) == PGRES_TUPLES_OK)
            ncs = PQntuples(cs);
        else if (!no_log(cs))
            rc = pg_fail(e, c, "reading the cosigned notes");
    }
    int k = 0;
    if (!rc)
        rc = verify_expired(&v, x, cps, &k, e);
    /* inside the prefix retention dropped there is no tree to hold them to but at its end */
    while (!rc && ck < ncs && strtoull(PQgetvalue(cs, ck, 0), NULL, 10) < v.seq)
        ck++;
    while (!rc && ck < ncs && strtoull(PQgetvalue(cs, ck, 0), NULL, 10) == v.seq)
        rc = check_note(&v, PQgetvalue(cs, ck++, 1), v.seq, e);
    char schema[16] = "";
    if (!rc)
        rc = meta_get(c, "schema", schema, sizeof schema, e);
    v.schema2 = strcmp(schema, "2") == 0;
    if (!rc)
        rc = exec_ok(c,
                     v.schema2
                         ? "DECLARE entries NO SCROLL CURSOR FOR SELECT seq, enc, leaf, chain, "
                           "time, patient FROM log_pg_entry ORDER BY seq"
                         : "DECLARE entries NO SCROLL CURSOR FOR SELECT seq, enc, leaf, chain, "
                           "time, patient, actor_id, on_behalf_of FROM log_pg_entry ORDER BY seq",
                     PGRES_COMMAND_OK, e);
    while (!rc) {
        PGresult *rows = bin_query(c, "FETCH 10000 FROM entries");
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
            while (!rc && ck < ncs && strtoull(PQgetvalue(cs, ck, 0), NULL, 10) == v.seq)
                rc = check_note(&v, PQgetvalue(cs, ck++, 1), v.seq, e);
        }
        PQclear(rows);
        if (n == 0)
            break;
    }
    if (!rc && k != PQntuples(cps))
        rc = ob_err_set(e, OB_ETAMPER, "a checkpoint covers entries that are not there");
    if (!rc && ck < ncs)
        rc = ob_err_set(e, OB_ETAMPER, "a cosigned note is of %s entries, more than the log holds",
                        PQgetvalue(cs, ck, 0));
    if (!rc)
        rc = verify_head(&v, hd, e);
    if (!rc && v.bad_node)
        rc = ob_err_set(e, OB_ETAMPER,
                        "the stored tree node over entries from %llu does not match them",
                        (unsigned long long)v.bad_node);
    if (!rc && r->nodes != v.nnodes)
        rc = ob_err_set(e, OB_ETAMPER, "the stored tree holds a node over entries not logged");
    if (!rc && seen && !v.seen_matched)
        rc = ob_err_set(e, OB_ETAMPER,
                        "rolled back: the log holds %llu entries, the recorded head signed "
                        "%llu (entries %llu..%llu are gone)",
                        (unsigned long long)v.seq, (unsigned long long)seen->size,
                        (unsigned long long)v.seq + 1, (unsigned long long)seen->size);
    PQclear(hd);
    PQclear(cps);
    PQclear(x);
    PQclear(nd);
    PQclear(cs);
    end_read(c);
    ob_free(v.seg);
    ob_free(v.nodes);
    ob_free(v.strs);
    return rc;
}

/* ---- proofs ---- */

/* An aligned perfect subtree of 2^level leaves from leaf lo (0-based). */
typedef struct piece {
    uint64_t lo;
    unsigned level;
} piece;

/* The pieces of [lo, hi) in order, each aligned both in the whole tree (so a stored node
 * can be it) and from lo (so folding them in a frontier gives MTH(D[lo:hi])). */
static size_t pieces_of(uint64_t lo, uint64_t hi, piece *out)
{
    size_t n = 0;
    for (uint64_t cur = lo; cur < hi;) {
        unsigned l = 0;
        while (l < 62 && !((cur >> l) & 1) && !(((cur - lo) >> l) & 1) &&
               cur + ((uint64_t)2 << l) <= hi)
            l++;
        out[n++] = (piece){cur, l};
        cur += (uint64_t)1 << l;
    }
    return n;
}

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* A growing text array literal for PostgreSQL ("{1,2,3}"). */
static void arr_add(buf *b, uint64_t v)
{
    char num[24];
    int k = snprintf(num, sizeof num, "%s%llu", b->n ? "," : "{", (unsigned long long)v);
    put(b, num, (size_t)k);
}

static const char *arr_end(buf *b)
{
    put(b, b->n ? "}" : "{}", b->n ? 2 : 3);
    return b->oom ? NULL : (const char *)b->p;
}

typedef struct leafrow {
    uint64_t seq;
    uint8_t leaf[OB_LOG_HASH_LEN];
} leafrow;

/* The hashes of ranges rg[0..n) into out: the stored node for each piece of at least a
 * segment, the leaves for the smaller ones (at most a segment's worth per range end), in
 * two queries. A leaf that retention dropped makes it OB_ENOTFOUND. */
static ob_status ranges_hashes(PGconn *c, unsigned seg_level, const ob_merkle_range *rg, size_t n,
                               uint8_t (*out)[OB_LOG_HASH_LEN], ob_err *e)
{
    size_t cap = n * 130 + 1, np = 0;
    piece *pc = ob_malloc(cap * sizeof *pc);
    size_t *starts = ob_malloc((n + 1) * sizeof *starts);
    buf lv = {0}, ix = {0}, sq = {0};
    node *nodes = NULL;
    size_t nnodes = 0, nseqs = 0, nleaves = 0;
    leafrow *leaves = NULL;
    PGresult *r = NULL;
    ob_status rc = OB_OK;
    if (!pc || !starts) {
        rc = ob_err_set(e, OB_ENOMEM, "out of memory proving");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        starts[i] = np;
        np += pieces_of(rg[i].lo, rg[i].hi, pc + np);
    }
    starts[n] = np;
    for (size_t i = 0; i < np; i++)
        if (pc[i].level >= seg_level) {
            arr_add(&lv, pc[i].level);
            arr_add(&ix, pc[i].lo >> pc[i].level);
        } else {
            for (uint64_t s = 0; s < ((uint64_t)1 << pc[i].level); s++)
                arr_add(&sq, pc[i].lo + s + 1), nseqs++;
        }
    const char *vals[2] = {arr_end(&lv), arr_end(&ix)};
    const char *sv[1] = {arr_end(&sq)};
    if (!vals[0] || !vals[1] || !sv[0]) {
        rc = ob_err_set(e, OB_ENOMEM, "out of memory proving");
        goto out;
    }
    r = PQexecParams(c,
                     "SELECT level, idx, hash FROM log_pg_node WHERE (level, idx) IN "
                     "(SELECT * FROM unnest($1::int[], $2::bigint[]))",
                     2, NULL, vals, NULL, NULL, 1);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        rc = pg_fail(e, c, "reading the tree");
    else
        rc = nodes_of(r, &nodes, &nnodes, e);
    PQclear(r);
    r = NULL;
    if (rc)
        goto out;
    if (nseqs) {
        r = PQexecParams(c, "SELECT seq, leaf FROM log_pg_entry WHERE seq = ANY($1::bigint[])", 1,
                         NULL, sv, NULL, NULL, 1);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            rc = pg_fail(e, c, "reading leaves");
            goto out;
        }
        nleaves = (size_t)PQntuples(r);
        if (!(leaves = ob_calloc(nleaves + 1, sizeof *leaves))) {
            rc = ob_err_set(e, OB_ENOMEM, "out of memory proving");
            goto out;
        }
        for (size_t i = 0; i < nleaves; i++) {
            if (PQgetlength(r, (int)i, 1) != OB_LOG_HASH_LEN) {
                rc = ob_err_set(e, OB_ETAMPER, "a malformed entry in the PostgreSQL log");
                goto out;
            }
            leaves[i].seq = get_be64(PQgetvalue(r, (int)i, 0));
            memcpy(leaves[i].leaf, PQgetvalue(r, (int)i, 1), OB_LOG_HASH_LEN);
        }
        qsort(leaves, nleaves, sizeof *leaves, u64_cmp); /* by seq, the first member */
    }
    for (size_t i = 0; i < n && !rc; i++) {
        ob_merkle_frontier f;
        ob_merkle_frontier_init(&f);
        for (size_t j = starts[i]; j < starts[i + 1] && !rc; j++) {
            const piece *p = &pc[j];
            if (p->level >= seg_level) {
                node *nd = node_find(nodes, nnodes, p->level, p->lo >> p->level);
                if (!nd)
                    rc = ob_err_set(e, OB_ETAMPER,
                                    "the PostgreSQL log's tree has no node over entries from "
                                    "%llu (run verify)",
                                    (unsigned long long)(p->lo + 1));
                else
                    ob_merkle_frontier_push_node(&f, p->level, nd->hash);
                continue;
            }
            for (uint64_t s = 0; s < ((uint64_t)1 << p->level) && !rc; s++) {
                uint64_t want = p->lo + s + 1;
                leafrow *lr = bsearch(&want, leaves, nleaves, sizeof *leaves, u64_cmp);
                if (!lr)
                    rc = ob_err_set(e, OB_ENOTFOUND,
                                    "the proof needs entry %llu, which is not retained",
                                    (unsigned long long)want);
                else
                    ob_merkle_frontier_push(&f, lr->leaf);
            }
        }
        if (!rc)
            ob_merkle_frontier_root(&f, out[i]);
    }
out:
    PQclear(r);
    ob_free(pc);
    ob_free(starts);
    ob_free(lv.p);
    ob_free(ix.p);
    ob_free(sq.p);
    ob_free(nodes);
    ob_free(leaves);
    return rc;
}

/* Opens a read snapshot for a proof: the connection, the head's size. */
static ob_status open_read(const char *conninfo, PGconn **c, uint64_t *size, ob_err *e)
{
    ob_status rc = connect_db(conninfo, c, e);
    if (rc)
        return rc;
    rc = begin_read(*c, e);
    if (!rc) {
        PGresult *r = PQexec(*c, "SELECT size FROM log_pg_head WHERE id = 1");
        if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
            rc = pg_fail(e, *c, "reading the head");
        else
            *size = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
    }
    if (rc)
        end_read(*c);
    return rc;
}

/* The note of size n (0: the head's) on an open snapshot. */
static ob_status note_of(PGconn *c, uint64_t n, char **note, uint64_t *size, ob_err *e)
{
    PGresult *r = query_nums(c,
                             "SELECT size, note FROM log_pg_head WHERE size > 0 AND "
                             "(size = $1 OR $1 = 0) UNION ALL SELECT size, note FROM "
                             "log_pg_checkpoint WHERE size = $1 LIMIT 1",
                             1, &n, 0);
    ob_status rc = OB_OK;
    *note = NULL;
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        rc = pg_fail(e, c, "reading the checkpoint notes");
    else if (PQntuples(r) == 0 && n == 0)
        rc = ob_err_set(e, OB_ENOTFOUND, "the PostgreSQL log is empty: no signed note yet");
    else if (PQntuples(r) == 0)
        rc = ob_err_set(e, OB_ENOTFOUND, "the PostgreSQL log has no signed note of size %llu",
                        (unsigned long long)n);
    else if (!(*note = ob_strdup(PQgetvalue(r, 0, 1))))
        rc = ob_err_set(e, OB_ENOMEM, "out of memory");
    else if (size)
        *size = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return rc;
}

/* An empty proof and a read snapshot for it. */
static ob_status begin_proof(const char *conninfo, ob_log_proof *out, PGconn **c, uint64_t *hsize,
                             ob_err *e)
{
    memset(out, 0, sizeof *out);
    ob_log_proof_free(out);
    return open_read(conninfo, c, hsize, e);
}

/* The newest cosigned note of a size in [lo, hi] on an open snapshot into *note (ob_free),
 * with, when lines, the cosignature lines stored with it appended, as the SQLite log's
 * ob_log_prove_note appends log_cosigs (unverified here: a checker ignores lines by keys it
 * does not know and verifies those it does); *size its size. OB_ENOTFOUND when none (also
 * on a log older than the table). */
static ob_status cosigned_note(PGconn *c, uint64_t lo, uint64_t hi, bool lines, char **note,
                               uint64_t *size, ob_err *e)
{
    *note = NULL;
    uint64_t b[2] = {lo, hi};
    PGresult *r = query_nums(c,
                             "SELECT size, note FROM log_pg_cosig WHERE size >= $1 AND size <= $2 "
                             "ORDER BY size DESC, note LIMIT 1",
                             2, b, 0);
    ob_status rc = OB_OK;
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        rc = no_log(r) ? ob_err_set(e, OB_ENOTFOUND, "the PostgreSQL log keeps no cosignatures")
                       : pg_fail(e, c, "reading the cosigned notes");
    else if (PQntuples(r) == 0)
        rc = ob_err_set(e, OB_ENOTFOUND, "no cosigned note covers entry %llu",
                        (unsigned long long)lo);
    else if (!(*note = ob_strdup(PQgetvalue(r, 0, 1))))
        rc = ob_err_set(e, OB_ENOMEM, "out of memory");
    else
        *size = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    if (rc || !lines)
        return rc;
    char num[24];
    snprintf(num, sizeof num, "%llu", (unsigned long long)*size);
    const char *vals[2] = {num, *note};
    /* the lines of that note only: another note of the same size (there is none, the
     * log's notes are deterministic, but the table does not say so) is not theirs */
    r = PQexecParams(c, "SELECT line FROM log_pg_cosig WHERE size = $1 AND note = $2 ORDER BY line",
                     2, NULL, vals, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        rc = pg_fail(e, c, "reading the cosignatures");
    size_t nl = strlen(*note), cap = nl + 1;
    for (int i = 0; !rc && i < PQntuples(r); i++) {
        const char *l = PQgetvalue(r, i, 0);
        size_t ll = strlen(l);
        if (ll < 8 || l[ll - 1] != '\n')
            continue;
        if (ob_grow((void **)note, &cap, nl + ll + 1, 1)) {
            rc = ob_err_set(e, OB_ENOMEM, "out of memory");
            break;
        }
        memcpy(*note + nl, l, ll + 1);
        nl += ll;
    }
    PQclear(r);
    if (rc) {
        ob_free(*note);
        *note = NULL;
    }
    return rc;
}

ob_status ob_pglog_note_at(const char *conninfo, uint64_t size, char **note, ob_err *e)
{
    PGconn *c;
    uint64_t hsize, got;
    *note = NULL;
    ob_status rc = open_read(conninfo, &c, &hsize, e);
    if (rc)
        return rc;
    rc = note_of(c, size, note, NULL, e);
    /* a size the head has passed and no segment ends at: a witness may have kept it (a
     * consistency proof from the size it saw then needs that note) */
    if (rc == OB_ENOTFOUND && size && size <= hsize &&
        cosigned_note(c, size, size, false, note, &got, NULL) == OB_OK)
        rc = OB_OK;
    end_read(c);
    return rc;
}

/* Entry seq's stored encoding into the proof (its entry, seq and leaf). */
static ob_status proof_entry(PGconn *c, uint64_t seq, ob_log_proof *out, ob_err *e)
{
    PGresult *r = query_nums(c, "SELECT enc FROM log_pg_entry WHERE seq = $1", 1, &seq, 1);
    ob_status rc;
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        rc = pg_fail(e, c, "reading the entry");
    else if (PQntuples(r) != 1)
        rc = ob_err_set(e, OB_ENOTFOUND,
                        "the PostgreSQL log holds no entry %llu (never logged, "
                        "or expired)",
                        (unsigned long long)seq);
    else
        rc = ob_log_proof_set_input(out, (const uint8_t *)PQgetvalue(r, 0, 0),
                                    (size_t)PQgetlength(r, 0, 0), e);
    if (!rc && out->seq != seq)
        rc = ob_err_set(e, OB_ETAMPER, "entry %llu's encoding names another position (run verify)",
                        (unsigned long long)seq);
    PQclear(r);
    return rc;
}

/* The proof's path: PATH(index, D[base:base + tree_size]) as hashes, with stored nodes
 * from level seg_level up. */
static ob_status proof_path(PGconn *c, uint64_t base, unsigned seg_level, ob_log_proof *out,
                            ob_err *e)
{
    ob_merkle_range rg[OB_MERKLE_MAX_PATH];
    out->path_len = ob_merkle_inclusion_ranges(out->index, out->tree_size, rg);
    for (size_t i = 0; i < out->path_len; i++) {
        rg[i].lo += base;
        rg[i].hi += base;
    }
    return ranges_hashes(c, seg_level, rg, out->path_len, out->path, e);
}

static unsigned level_of(PGconn *c, ob_err *e, ob_status *rc)
{
    char every[16];
    *rc = meta_get(c, "every", every, sizeof every, e);
    unsigned l = 0;
    unsigned long v = strtoul(every, NULL, 10);
    while (v > 1 && ((1ul << l) < v))
        l++;
    return l;
}

ob_status ob_pglog_prove_note(const char *conninfo, uint64_t seq, uint64_t size, ob_log_proof *out,
                              ob_err *e)
{
    PGconn *c;
    uint64_t hsize;
    ob_status rc = begin_proof(conninfo, out, &c, &hsize, e);
    if (rc)
        return rc;
    if (seq < 1 || seq > hsize || (size && seq > size))
        rc = ob_err_set(e, seq > hsize ? OB_ENOTFOUND : OB_EINVAL,
                        "the PostgreSQL log: no entry %llu in a tree of %llu",
                        (unsigned long long)seq, (unsigned long long)(size ? size : hsize));
    if (!rc) /* first: it sets the entry, which frees any note */
        rc = proof_entry(c, seq, out, e);
    /* a note a witness cosigned first, with its cosignature lines, so that a patient can
     * require the witness (the newest that covers the entry; with a size, that size's) */
    if (!rc) {
        rc = cosigned_note(c, size ? size : seq, size ? size : hsize, true, &out->note,
                           &out->tree_size, e);
        if (rc == OB_ENOTFOUND)
            rc = note_of(c, size, &out->note, &out->tree_size, e);
    }
    unsigned l = rc ? 0 : level_of(c, e, &rc);
    if (!rc) {
        out->version = 2;
        out->index = seq - 1;
        rc = proof_path(c, 0, l, out, e);
    }
    end_read(c);
    if (rc)
        ob_log_proof_free(out);
    return rc;
}

ob_status ob_pglog_prove(const char *conninfo, uint64_t seq, ob_log_proof *out, ob_err *e)
{
    PGconn *c;
    uint64_t hsize;
    ob_status rc = begin_proof(conninfo, out, &c, &hsize, e);
    if (rc)
        return rc;
    PGresult *r = query_nums(c,
                             "SELECT size, prev_size, root, chain, time, max_time, sig, note "
                             "FROM log_pg_checkpoint WHERE size >= $1 AND prev_size < $1",
                             1, &seq, 1);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        rc = pg_fail(e, c, "reading checkpoints");
    else if (PQntuples(r) != 1)
        rc =
            seq >= 1 && seq <= hsize
                ? ob_err_set(e, OB_ECONFLICT,
                             "the PostgreSQL log: entry %llu's segment is not sealed yet (prove it "
                             "against the head's note)",
                             (unsigned long long)seq)
                : ob_err_set(e, OB_ENOTFOUND, "the PostgreSQL log: no entry %llu",
                             (unsigned long long)seq);
    if (!rc)
        rc = read_cp(r, 0, &out->cp, e);
    PQclear(r);
    if (!rc)
        rc = proof_entry(c, seq, out, e);
    if (!rc) {
        out->version = 1;
        out->index = seq - out->cp.prev_size - 1;
        out->tree_size = out->cp.size - out->cp.prev_size;
        rc = proof_path(c, out->cp.prev_size, 64, out, e); /* within one segment: leaves */
    }
    end_read(c);
    if (rc)
        ob_log_proof_free(out);
    return rc;
}

ob_status ob_pglog_consistency(const char *conninfo, uint64_t m, uint64_t n,
                               uint8_t (*proof)[OB_LOG_HASH_LEN], size_t *len, ob_err *e)
{
    *len = 0;
    PGconn *c;
    uint64_t hsize;
    ob_status rc = open_read(conninfo, &c, &hsize, e);
    if (rc)
        return rc;
    if (m == 0 || m > n || n > hsize)
        rc = ob_err_set(e, OB_EINVAL,
                        "the PostgreSQL log: a consistency proof needs 0 < from <= to <= the "
                        "log's size (%llu)",
                        (unsigned long long)hsize);
    unsigned l = rc ? 0 : level_of(c, e, &rc);
    if (!rc && m < n) {
        ob_merkle_range rg[OB_MERKLE_MAX_CONSISTENCY];
        size_t k = ob_merkle_consistency_ranges(m, n, rg);
        rc = ranges_hashes(c, l, rg, k, proof, e);
        if (!rc)
            *len = k;
    }
    end_read(c);
    return rc;
}

/* ---- witnesses' cosignatures ---- */

/* A cosignature line: one "— name base64" line ending in "\n", as ob_note_cosign makes it. */
static bool cosig_line_ok(const char *line)
{
    size_t n = strlen(line);
    return n > 5 && n < OB_NOTE_LINE_MAX && strncmp(line, "\xe2\x80\x94 ", 4) == 0 &&
           line[n - 1] == '\n' && strchr(line, '\n') == line + n - 1;
}

/* Whether note (one signature line) is this log's note of the tree of `size` entries, on a
 * snapshot: signed by the key the log was created with under its origin, of that size, and
 * with the root the stored tree gives at that size (what a proof against it would reach). */
static ob_status check_cosigned(PGconn *c, uint64_t size, const char *note, const char *line,
                                ob_err *e)
{
    char hex[160], origin[OB_NOTE_NAME_MAX + 1], norigin[OB_NOTE_NAME_MAX + 1];
    uint8_t pk[OB_LOG_PK_LEN], root[OB_LOG_HASH_LEN], want[OB_LOG_HASH_LEN];
    ob_note_key key;
    ob_note_result nr;
    uint64_t nsize = 0, hsize = 0;
    ob_status rc = meta_get(c, "pk", hex, sizeof hex, e);
    if (rc)
        return rc;
    if (ob_log_unhex(hex, pk, sizeof pk) != 0)
        return ob_err_set(e, OB_ETAMPER, "the PostgreSQL log's public key is malformed");
    ob_log_origin(pk, origin);
    if ((rc = ob_note_key_make(&key, origin, OB_NOTE_ED25519, pk, e)) != OB_OK)
        return rc;
    if (strlen(note) > OB_NOTE_MAX ||
        ob_log_checkpoint_open(note, &key, 1, norigin, &nsize, root, &nr, NULL) != OB_OK)
        return ob_err_set(e, OB_ETAMPER,
                          "the note to cosign is not signed by this log's key (another log's, "
                          "or altered)");
    if (nr.nsigs != 1) /* the stored note is the log's alone; the lines are kept apart */
        return ob_err_set(e, OB_EINVAL, "the note to cosign must carry the log's signature only");
    if (nsize != size)
        return ob_err_set(e, OB_ETAMPER, "the note is of %llu entries, not of %llu",
                          (unsigned long long)nsize, (unsigned long long)size);
    /* the line is a signature line of the note (its key unknown here: any witness) */
    size_t nl = strlen(note), ll = strlen(line);
    char *both = ob_malloc(nl + ll + 1);
    if (!both)
        return ob_err_set(e, OB_ENOMEM, "out of memory");
    memcpy(both, note, nl);
    memcpy(both + nl, line, ll + 1);
    rc = ob_note_open(both, nl + ll, &key, 1, &nr, NULL) != OB_OK || nr.nsigs != 2
             ? ob_err_set(e, OB_EINVAL, "the cosignature is not a signature line")
             : OB_OK;
    ob_free(both);
    if (rc)
        return rc;
    PGresult *r = PQexec(c, "SELECT size FROM log_pg_head WHERE id = 1");
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
        rc = pg_fail(e, c, "reading the head");
    else
        hsize = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    if (rc)
        return rc;
    if (size < 1 || size > hsize)
        return ob_err_set(e, OB_ETAMPER,
                          "the note is of %llu entries; this log holds %llu (another log's, "
                          "or this one was rolled back)",
                          (unsigned long long)size, (unsigned long long)hsize);
    unsigned l = level_of(c, e, &rc);
    ob_merkle_range whole = {0, size};
    if (!rc)
        rc = ranges_hashes(c, l, &whole, 1, &want, e);
    if (rc == OB_ENOTFOUND)
        return ob_err_set(e, OB_ENOTFOUND,
                          "the note's tree ends inside entries retention dropped: it cannot "
                          "be checked");
    if (!rc && memcmp(root, want, OB_LOG_HASH_LEN) != 0)
        rc = ob_err_set(e, OB_ETAMPER,
                        "the note's root is not this log's tree of %llu entries (a fork, or "
                        "another log with the same key)",
                        (unsigned long long)size);
    return rc;
}

ob_status ob_pglog_add_cosignature(const char *conninfo, uint64_t size, const char *note,
                                   const char *line, ob_err *e)
{
    if (!cosig_line_ok(line))
        return ob_err_set(e, OB_EINVAL, "the cosignature is not one signature line");
    PGconn *c;
    ob_status rc = connect_db(conninfo, &c, e);
    if (rc)
        return rc;
    /* one snapshot for the check and the row; the lock keeps retention from dropping the
     * leaves the check reads (it waits) */
    rc = begin_snapshot(c, "BEGIN ISOLATION LEVEL REPEATABLE READ", e);
    if (!rc)
        rc = check_cosigned(c, size, note, line, e);
    if (!rc) {
        char num[24];
        snprintf(num, sizeof num, "%llu", (unsigned long long)size);
        const char *vals[3] = {num, line, note};
        PGresult *r = PQexecParams(c,
                                   "INSERT INTO log_pg_cosig (size, line, note) VALUES ($1, $2, "
                                   "$3) ON CONFLICT DO NOTHING",
                                   3, NULL, vals, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_COMMAND_OK)
            rc = no_log(r) ? ob_err_set(e, OB_EINVAL,
                                        "the PostgreSQL log has no table for cosignatures (open "
                                        "it once with a writer of this version)")
                           : pg_fail(e, c, "storing the cosignature");
        PQclear(r);
    }
    if (!rc && !(rc = exec_ok(c, "COMMIT", PGRES_COMMAND_OK, e))) {
        PQfinish(c);
        return OB_OK;
    }
    end_read(c);
    return rc;
}

/* ---- queries ---- */

/* One row (seq, time, patient, actor_id, on_behalf_of, enc) to fn: the entry is its
 * encoding's, and the columns the query found it by must be that encoding's (a column edited
 * behind the log's back would otherwise put one patient's entry under another's name; the
 * encoding itself is covered by the leaf, and verify finds a changed one). */
static ob_status each_row(const PGresult *r, int i, char **strs, size_t *cap, ob_log_record_fn fn,
                          void *ctx, ob_err *e)
{
    const uint8_t *enc = (const uint8_t *)PQgetvalue(r, i, 5);
    size_t len = (size_t)PQgetlength(r, i, 5);
    if (PQgetlength(r, i, 0) != 8)
        return ob_err_set(e, OB_ETAMPER, "a malformed entry in the PostgreSQL log");
    uint64_t seq = get_be64(PQgetvalue(r, i, 0)), eseq = 0;
    if (len > *cap) {
        char *p = ob_realloc(*strs, len);
        if (!p)
            return ob_err_set(e, OB_ENOMEM, "out of memory reading the PostgreSQL log");
        *strs = p;
        *cap = len;
    }
    ob_log_record rec;
    ob_err de = {0};
    if (ob_log_entry_decode(enc, len, &rec.entry, &eseq, *strs, *cap, &de) != OB_OK)
        return ob_err_set(e, OB_ETAMPER, "entry %llu of the PostgreSQL log: %s (run verify)",
                          (unsigned long long)seq, de.msg);
    if (eseq != seq || !cols_match(r, i, 1, &rec.entry, true))
        return ob_err_set(e, OB_ETAMPER,
                          "entry %llu of the PostgreSQL log: its row's seq, time, patient, "
                          "actor or professional is not its encoding's (run verify)",
                          (unsigned long long)seq);
    rec.seq = seq;
    return fn(ctx, &rec, e);
}

#define FETCH_ROWS   1000
#define FETCH_ROWS_S "1000"

ob_status ob_pglog_each(const char *conninfo, const ob_log_query *q, ob_log_record_fn fn, void *ctx,
                        ob_err *e)
{
    if (!q->patient && !q->on_behalf_of && !q->actor_id)
        return ob_err_set(e, OB_EINVAL,
                          "access log: query needs a patient, a professional or an actor");
    /* Only fixed fragments go into the SQL text; the values are parameters, typed so that
     * the ones a query does not use need not appear in it. on_behalf_of <> '' as on
     * SQLite (no one is the professional of the entries done on no one's behalf); it also
     * lets PostgreSQL use the partial index. */
    const char *dir = q->newest_first ? "DESC" : "ASC";
    char sql[768];
    snprintf(sql, sizeof sql,
             "DECLARE q NO SCROLL CURSOR FOR SELECT seq, time, patient, actor_id, on_behalf_of,"
             " enc FROM log_pg_entry WHERE time >= $4%s%s%s%s ORDER BY time %s, seq %s%s",
             q->patient ? " AND patient = $1" : "",
             q->on_behalf_of ? " AND on_behalf_of = $2 AND on_behalf_of <> ''" : "",
             q->actor_id ? " AND actor_id = $3" : "", q->to ? " AND time < $5" : "", dir, dir,
             q->limit ? " LIMIT $6" : "");
    char from[24], to[24], lim[24];
    snprintf(from, sizeof from, "%lld", (long long)q->from);
    snprintf(to, sizeof to, "%lld", (long long)q->to);
    snprintf(lim, sizeof lim, "%llu", (unsigned long long)q->limit);
    static const Oid types[6] = {25, 25, 25, 20, 20, 20}; /* text x 3, int8 x 3 */
    const char *vals[6] = {q->patient, q->on_behalf_of, q->actor_id, from, to, lim};
    PGconn *c;
    ob_status rc = connect_db(conninfo, &c, e);
    if (rc)
        return rc;
    /* one snapshot for every FETCH; retention's DROP waits for it (begin_read) */
    rc = begin_read(c, e);
    if (rc) {
        PQfinish(c);
        return rc;
    }
    PGresult *r = PQexecParams(c, sql, 6, types, vals, NULL, NULL, 1);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        rc = no_log(r) ? ob_err_set(e, OB_EINVAL,
                                    "the PostgreSQL log is not of schema " SCHEMA
                                    " (open it once with a writer of this version)")
                       : pg_fail(e, c, "querying the log");
    PQclear(r);
    char *strs = NULL;
    size_t cap = 0;
    while (!rc) {
        /* in pieces, so that a patient's whole history is never in memory at once; a short
         * piece is the last (no round trip for an empty one) */
        r = bin_query(c, "FETCH " FETCH_ROWS_S " FROM q");
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            rc = pg_fail(e, c, "querying the log");
            PQclear(r);
            break;
        }
        int n = PQntuples(r);
        for (int i = 0; i < n && !rc; i++)
            rc = each_row(r, i, &strs, &cap, fn, ctx, e);
        PQclear(r);
        if (n < FETCH_ROWS)
            break;
    }
    ob_free(strs);
    end_read(c);
    return rc;
}

ob_status ob_pglog_public_keys(const char *conninfo, char **text, ob_err *e)
{
    *text = NULL;
    PGconn *c;
    ob_status rc = connect_db(conninfo, &c, e);
    if (rc)
        return rc;
    char hex[160] = "";
    PGresult *r = PQexec(c, "SELECT v FROM log_pg_meta WHERE k = 'pk'");
    if (PQresultStatus(r) != PGRES_TUPLES_OK && !no_log(r))
        rc = pg_fail(e, c, "reading the log's key");
    else if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
        snprintf(hex, sizeof hex, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    PQfinish(c);
    if (rc)
        return rc;
    uint8_t pk[OB_LOG_PK_LEN];
    if (!hex[0])
        return ob_err_set(e, OB_ENOTFOUND, "the PostgreSQL log lists no public key (no log here)");
    if (ob_log_unhex(hex, pk, sizeof pk) != 0)
        return ob_err_set(e, OB_ETAMPER, "the PostgreSQL log's public key is malformed");
    /* the notes' key name is the origin made from the key, as on SQLite (ob_log_origin) */
    char origin[OB_NOTE_NAME_MAX + 1], line[OB_NOTE_VKEY_MAX];
    ob_note_key k;
    ob_log_origin(pk, origin);
    if ((rc = ob_note_key_make(&k, origin, OB_NOTE_ED25519, pk, e)) != OB_OK)
        return rc;
    ob_note_vkey_format(&k, line);
    size_t n = strlen(line);
    char *out = ob_malloc(n + 2);
    if (!out)
        return ob_err_set(e, OB_ENOMEM, "out of memory");
    memcpy(out, line, n);
    out[n] = '\n';
    out[n + 1] = '\0';
    *text = out;
    return OB_OK;
}

ob_status ob_pglog_latest_note(const char *conninfo, char **note, ob_err *e)
{
    return ob_pglog_note_at(conninfo, 0, note, e);
}

/* ---- retention ---- */

ob_status ob_pglog_expire(ob_pglog *lg, ob_time before, uint64_t *removed, ob_err *e)
{
    if (removed)
        *removed = 0;
    PGconn *c;
    ob_status rc = connect_db(lg->conninfo, &c, e);
    if (rc)
        return rc;
    /* the appenders' lock: no batch is between reading the head and COMMIT meanwhile. DROP
     * needs the entries' table to itself, so a long reader would hold up every server's
     * appends behind this: give up after lock_timeout instead (retried later). */
    rc = exec_ok(c, "BEGIN; SET LOCAL lock_timeout = '5s'; " LOCK_SQL, PGRES_TUPLES_OK, e);
    uint64_t per = lg->per_part, through = 0, hsize = 0, upto;
    ob_time cutoff = before;
    PGresult *r = NULL;
    if (!rc) {
        r = PQexec(c, "SELECT (SELECT size FROM log_pg_head WHERE id = 1), "
                      "(SELECT through FROM log_pg_expiry), (SELECT cutoff FROM log_pg_expiry)");
        if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
            rc = pg_fail(e, c, "reading the head");
        else {
            hsize = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
            through = strtoull(PQgetvalue(r, 0, 1), NULL, 10);
            if (!PQgetisnull(r, 0, 2) && strtoll(PQgetvalue(r, 0, 2), NULL, 10) > cutoff)
                cutoff = (ob_time)strtoll(PQgetvalue(r, 0, 2), NULL, 10);
        }
        PQclear(r);
    }
    /* each partition after what was dropped: whole (all its segments sealed) and older than
     * the cut-off, in log order, up to the first that is not */
    upto = through;
    if (!rc) {
        r = query_nums(c,
                       "SELECT (size - 1) / $2, count(*), max(max_time) FROM log_pg_checkpoint "
                       "WHERE size > $1 GROUP BY 1 ORDER BY 1",
                       2, (const uint64_t[]){through, per}, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK)
            rc = pg_fail(e, c, "reading checkpoints");
        for (int i = 0; !rc && i < PQntuples(r); i++) {
            uint64_t k = strtoull(PQgetvalue(r, i, 0), NULL, 10);
            uint64_t segs = strtoull(PQgetvalue(r, i, 1), NULL, 10);
            if (k != upto / per || segs != per / lg->cfg.checkpoint_every ||
                strtoll(PQgetvalue(r, i, 2), NULL, 10) >= before || (k + 1) * per > hsize)
                break;
            upto = (k + 1) * per;
        }
        PQclear(r);
    }
    if (!rc && upto > through) {
        ob_log_expiry x = {.through = upto, .cutoff = cutoff, .time = (ob_time)time(NULL)};
        r = query_nums(c, "SELECT chain FROM log_pg_checkpoint WHERE size = $1", 1, &upto, 1);
        if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1 ||
            PQgetlength(r, 0, 0) != OB_LOG_HASH_LEN)
            rc = pg_fail(e, c, "reading the checkpoint retention ends at");
        else
            memcpy(x.chain, PQgetvalue(r, 0, 0), OB_LOG_HASH_LEN);
        PQclear(r);
        buf sql = {0};
        if (!rc) {
            ob_log_expiry_sign(&x, lg->cfg.sk);
            static const char ins[] = "INSERT INTO log_pg_expiry VALUES (1, ";
            put(&sql, ins, sizeof ins - 1);
            sql_num(&sql, (long long)x.through, ", ");
            sql_num(&sql, (long long)x.cutoff, ", ");
            sql_hex(&sql, x.chain, OB_LOG_HASH_LEN);
            put(&sql, ", ", 2);
            sql_num(&sql, (long long)x.time, ", ");
            sql_hex(&sql, x.sig, OB_LOG_SIG_LEN);
            static const char upd[] = ") ON CONFLICT (id) DO UPDATE SET through = "
                                      "excluded.through, cutoff = excluded.cutoff, chain = "
                                      "excluded.chain, time = excluded.time, sig = excluded.sig; ";
            put(&sql, upd, sizeof upd - 1);
            for (uint64_t k = through / per; k < upto / per; k++) {
                static const char drop[] = "DROP TABLE log_pg_entry_";
                put(&sql, drop, sizeof drop - 1);
                sql_num(&sql, (long long)k, "; ");
            }
            put(&sql, "", 1);
            rc = sql.oom ? ob_err_set(e, OB_ENOMEM, "out of memory expiring")
                         : exec_ok(c, (const char *)sql.p, PGRES_COMMAND_OK, e);
        }
        ob_free(sql.p);
    }
    if (!rc)
        rc = exec_ok(c, "COMMIT", PGRES_COMMAND_OK, e);
    else if (PQstatus(c) == CONNECTION_OK)
        PQclear(PQexec(c, "ROLLBACK"));
    if (!rc && removed)
        *removed = upto - through;
    PQfinish(c);
    return rc;
}

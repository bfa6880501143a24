/* test_log_pg.c - the access log on PostgreSQL (issue 18; R-LOG-1, R-LOG-4, R-LOG-9) against
 * a real, throwaway PostgreSQL 15 (scripts/pg/throwaway.sh: initdb in a temporary directory,
 * run by the unprivileged `postgres` account, fsync on).
 *
 * - Two "servers" (two logs on one database) with two threads each append at once: one
 *   total order (seqs 1..n, no gap), every acknowledged call's entries at the seqs it was
 *   given, segments cut across batches and servers, and the whole log verifies.
 * - A server SIGKILLed while appending: every entry it had acknowledged is there, the other
 *   server goes on (the dead one's lock went with its session), and the log verifies.
 * - Tampering found: a changed entry, entries cut off the end, one removed in the middle, a
 *   forged checkpoint; another key is refused.
 * - A head recorded earlier (ob_pglog_verify_extends): extended by the log that grew from it,
 *   not by a shorter one (rolled back) or one that went on differently (forked).
 * - Proofs: for the same entries appended to a SQLite log and a PostgreSQL log with the same
 *   key, inclusion proofs (both formats) and consistency proofs are the same bytes, and the
 *   pure checkers accept them; a changed entry or path fails them.
 * - Retention: whole partitions dropped with a signed marker; proofs for the kept entries
 *   and consistency proofs from before still verify, the log verifies, and a forged marker,
 *   a replaced partition, a changed tree node are found (docs/security.md).
 * - Reading: ob_pglog_each answers what the SQLite log's ob_log_each answers for the same
 *   entries and a table of queries; a row whose columns were edited makes it refuse
 *   (OB_ETAMPER); a schema-2 log is migrated in place; the writer's counters, the key lines
 *   (the SQLite log's for the same key), the head's note, and the ground when the writer's
 *   connection is killed (back with the next batch, or by itself while none comes).
 * - Witnesses: a cosignature kept with its note and carried by the proofs against the newest
 *   cosigned note that covers the entry; a note that is not this log's refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <libpq-fe.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/alloc.h"
#include "log/note.h"
#include "store/pg/log_pg.h"
#include "store/sqlite/log_sqlite.h"
#include "unit/pg_fixture.h"

static ob_pglog_config cfg;

static int up(void **state)
{
    (void)state;
    crypto_sign_ed25519_keypair(cfg.pk, cfg.sk);
    cfg.checkpoint_every = 64;
    return pg_up();
}

static int down(void **state)
{
    (void)state;
    return pg_down();
}

/* The patient field of every entry, by seq (index seq - 1), from the database. */
static char **patients(const char *conninfo, size_t *n)
{
    PGconn *c = PQconnectdb(conninfo);
    PGresult *r = PQexec(c, "SELECT seq, patient FROM log_pg_entry ORDER BY seq");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    *n = (size_t)PQntuples(r);
    char **out = calloc(*n + 1, sizeof *out);
    for (size_t i = 0; i < *n; i++) {
        assert_int_equal(strtoull(PQgetvalue(r, (int)i, 0), NULL, 10), i + 1);
        out[i] = strdup(PQgetvalue(r, (int)i, 1));
    }
    PQclear(r);
    PQfinish(c);
    return out;
}

static void free_strs(char **s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(s[i]);
    free(s);
}

#define CALLS 300

typedef struct writer_arg {
    ob_pglog *lg;
    int id;
    uint64_t first[CALLS];
    size_t n[CALLS];
    int failed;
} writer_arg;

static void entry(ob_log_entry *en, const char *patient)
{
    memset(en, 0, sizeof *en);
    en->time = 1796000000 + (ob_time)(random() % 1000);
    en->event = 0;
    en->permit = true;
    en->actor_id = "pg-test";
    en->patient = patient;
    en->category = "measurement";
    en->rule = "R-ACC-1";
}

static void *writer_main(void *p)
{
    writer_arg *w = p;
    for (int k = 0; k < CALLS; k++) {
        char pat[3][32];
        ob_log_entry en[3];
        w->n[k] = 1 + (size_t)(k % 3);
        for (size_t i = 0; i < w->n[k]; i++) {
            snprintf(pat[i], sizeof pat[i], "w%d-%d-%zu", w->id, k, i);
            entry(&en[i], pat[i]);
        }
        ob_err e = {0};
        if (ob_pglog_append(w->lg, en, w->n[k], &w->first[k], &e) != OB_OK) {
            fprintf(stderr, "append: %s\n", e.msg);
            w->failed++;
        }
    }
    return NULL;
}

/* Two servers, two threads each: one order, every acknowledged entry where it was told. */
static void two_servers(void **state)
{
    (void)state;
    char ci[512];
    pg_fresh_db("two", ci, sizeof ci);
    ob_pglog *a = NULL, *b = NULL;
    ob_err e = {0};
    if (ob_pglog_open(ci, &cfg, &a, &e) || ob_pglog_open(ci, &cfg, &b, &e))
        fail_msg("open: %s", e.msg);
    static writer_arg w[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].lg = i < 2 ? a : b;
        w[i].id = i;
        pthread_create(&t[i], NULL, writer_main, &w[i]);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    ob_pglog_close(a);
    ob_pglog_close(b);
    size_t total = 0, n;
    for (int i = 0; i < 4; i++) {
        assert_int_equal(w[i].failed, 0);
        for (int k = 0; k < CALLS; k++)
            total += w[i].n[k];
    }
    char **pat = patients(ci, &n);
    assert_int_equal(n, total); /* seqs 1..n, checked by patients() */
    for (int i = 0; i < 4; i++)
        for (int k = 0; k < CALLS; k++)
            for (size_t j = 0; j < w[i].n[k]; j++) {
                char want[32];
                snprintf(want, sizeof want, "w%d-%d-%zu", i, k, j);
                uint64_t seq = w[i].first[k] + j;
                if (seq < 1 || seq > n || strcmp(pat[seq - 1], want) != 0)
                    fail_msg("%s was acknowledged at %llu, which holds %s", want,
                             (unsigned long long)seq, seq >= 1 && seq <= n ? pat[seq - 1] : "-");
            }
    free_strs(pat, n);
    ob_pglog_report r;
    if (ob_pglog_verify(ci, cfg.pk, 64, &r, &e))
        fail_msg("verify: %s", e.msg);
    assert_int_equal(r.entries, total);
    assert_int_equal(r.size, total);
    assert_int_equal(r.checkpoints, total / 64);
    /* another key is refused, and the log says why */
    ob_pglog_config other = cfg;
    crypto_sign_ed25519_keypair(other.pk, other.sk);
    ob_pglog *x = NULL;
    assert_int_equal(ob_pglog_open(ci, &other, &x, &e), OB_ETAMPER);
    assert_null(x);
    /* as is a server that would cut its checkpoints elsewhere */
    ob_pglog_config elsewhere = cfg;
    elsewhere.checkpoint_every = 100;
    assert_int_equal(ob_pglog_open(ci, &elsewhere, &x, &e), OB_EINVAL);
    assert_null(x);
    /* and a verifier expecting other checkpoints finds them missing */
    assert_int_equal(ob_pglog_verify(ci, cfg.pk, 32, &r, &e), OB_ETAMPER);
    assert_int_not_equal(ob_pglog_verify(ci, other.pk, 64, &r, &e), OB_OK);
}

/* A server killed while appending loses nothing it acknowledged; the other goes on. */
static void killed_server(void **state)
{
    (void)state;
    char ci[512];
    pg_fresh_db("killed", ci, sizeof ci);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        close(fds[0]);
        ob_pglog *lg;
        ob_err e = {0};
        if (ob_pglog_open(ci, &cfg, &lg, &e))
            _exit(2);
        for (int k = 0;; k++) {
            char pat[32];
            snprintf(pat, sizeof pat, "child-%d", k);
            ob_log_entry en;
            entry(&en, pat);
            uint64_t seq;
            if (ob_pglog_append(lg, &en, 1, &seq, &e))
                _exit(3);
            char line[64];
            int len = snprintf(line, sizeof line, "%llu %d\n", (unsigned long long)seq, k);
            if (write(fds[1], line, (size_t)len) != len)
                _exit(4);
        }
    }
    close(fds[1]);
    ob_pglog *lg;
    ob_err e = {0};
    if (ob_pglog_open(ci, &cfg, &lg, &e))
        fail_msg("open: %s", e.msg);
    static writer_arg w;
    memset(&w, 0, sizeof w);
    w.lg = lg;
    w.id = 9;
    pthread_t t;
    pthread_create(&t, NULL, writer_main, &w);
    /* let the child acknowledge 150 entries, then kill it mid-stream */
    FILE *in = fdopen(fds[0], "r");
    static uint64_t acked_seq[100000];
    static int acked_k[100000];
    size_t nacked = 0;
    unsigned long long s;
    int k;
    while (nacked < 150 && fscanf(in, "%llu %d", &s, &k) == 2) {
        acked_seq[nacked] = s;
        acked_k[nacked++] = k;
    }
    kill(child, SIGKILL);
    /* what it wrote to the pipe before dying was acknowledged too */
    while (nacked < 100000 && fscanf(in, "%llu %d", &s, &k) == 2) {
        acked_seq[nacked] = s;
        acked_k[nacked++] = k;
    }
    fclose(in);
    int status;
    waitpid(child, &status, 0);
    assert_true(WIFSIGNALED(status));
    assert_true(nacked >= 150);
    pthread_join(t, NULL); /* the survivor finishes all its appends */
    assert_int_equal(w.failed, 0);
    ob_pglog_close(lg);
    size_t n;
    char **pat = patients(ci, &n);
    for (size_t i = 0; i < nacked; i++) {
        char want[32];
        snprintf(want, sizeof want, "child-%d", acked_k[i]);
        if (acked_seq[i] < 1 || acked_seq[i] > n || strcmp(pat[acked_seq[i] - 1], want) != 0)
            fail_msg("the killed server's acknowledged %s is not at %llu", want,
                     (unsigned long long)acked_seq[i]);
    }
    free_strs(pat, n);
    ob_pglog_report r;
    if (ob_pglog_verify(ci, cfg.pk, 64, &r, &e))
        fail_msg("verify: %s", e.msg);
    assert_int_equal(r.entries, n);
}

static void append_n(ob_pglog *lg, const char *prefix, int n)
{
    for (int k = 0; k < n; k++) {
        char pat[32];
        snprintf(pat, sizeof pat, "%s%d", prefix, k);
        ob_log_entry en;
        entry(&en, pat);
        ob_err e = {0};
        if (ob_pglog_append(lg, &en, 1, NULL, &e))
            fail_msg("append: %s", e.msg);
    }
}

/* A server's knowledge of the open segment is not trusted past what the database says: if
 * the log no longer continues it (here: rewound to an earlier head, as a failover to a
 * standby that missed an unacknowledged batch would, and then extended by another server
 * with other entries at the same positions), the next batch reads the segment again and
 * the log stays whole. */
static void log_rewound(void **state)
{
    (void)state;
    char ci[512];
    pg_fresh_db("rewound", ci, sizeof ci);
    ob_pglog *a = NULL, *b = NULL;
    ob_err e = {0};
    if (ob_pglog_open(ci, &cfg, &a, &e) || ob_pglog_open(ci, &cfg, &b, &e))
        fail_msg("open: %s", e.msg);
    append_n(a, "a", 10);
    pg_exec(ci, "CREATE TABLE saved AS SELECT * FROM log_pg_head");
    append_n(a, "lost", 5); /* a now knows the segment up to 15 */
    pg_exec(ci, "DELETE FROM log_pg_entry WHERE seq > 10; DELETE FROM log_pg_head; "
                "INSERT INTO log_pg_head SELECT * FROM saved");
    append_n(b, "b", 5);    /* other entries at 11..15 */
    append_n(a, "a2-", 60); /* crosses the checkpoint at 64 */
    ob_pglog_close(a);
    ob_pglog_close(b);
    ob_pglog_report r;
    if (ob_pglog_verify(ci, cfg.pk, 64, &r, &e))
        fail_msg("verify: %s", e.msg);
    assert_int_equal(r.entries, 75);
    assert_int_equal(r.checkpoints, 1);
}

/* Changes an append-only log would not make, each found by verify. */
static void tampering(void **state)
{
    (void)state;
    static const struct {
        const char *why, *sql;
    } rows[] = {
        {"R-LOG-4 an entry's content changed",
         "UPDATE log_pg_entry SET enc = set_byte(enc, 30, get_byte(enc, 30) # 1) WHERE seq = 10"},
        {"R-LOG-4 an entry changed with its leaf recomputed (the chain breaks)",
         "UPDATE log_pg_entry SET enc = set_byte(enc, 30, get_byte(enc, 30) # 1), "
         "leaf = sha256('\\x00'::bytea || set_byte(enc, 30, get_byte(enc, 30) # 1)) "
         "WHERE seq = 10"},
        {"R-LOG-4 entries cut off the end", "DELETE FROM log_pg_entry WHERE seq > 97"},
        {"R-LOG-4 an entry removed in the middle", "DELETE FROM log_pg_entry WHERE seq = 50"},
        {"R-LOG-4 two entries swapped",
         "UPDATE log_pg_entry a SET time = b.time, patient = b.patient, enc = b.enc, "
         "leaf = b.leaf, chain = b.chain FROM log_pg_entry b "
         "WHERE (a.seq, b.seq) IN ((20, 21), (21, 20))"},
        {"R-LOG-4 a checkpoint's root changed",
         "UPDATE log_pg_checkpoint SET root = sha256(root) WHERE size = 64"},
        {"R-LOG-4 a checkpoint removed", "DELETE FROM log_pg_checkpoint WHERE size = 64"},
        {"R-LOG-4 a checkpoint removed, the segment size changed to hide it",
         "DELETE FROM log_pg_checkpoint; UPDATE log_pg_meta SET v = '1000' WHERE k = 'every'"},
        {"R-LOG-4 the head rolled back with the entries",
         "DELETE FROM log_pg_entry WHERE seq > 90; UPDATE log_pg_head SET size = 90"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char name[16], ci[512];
        snprintf(name, sizeof name, "tamper%zu", i);
        pg_fresh_db(name, ci, sizeof ci);
        ob_pglog *lg;
        ob_err e = {0};
        if (ob_pglog_open(ci, &cfg, &lg, &e))
            fail_msg("open: %s", e.msg);
        for (int k = 0; k < 100; k++) {
            char pat[16];
            snprintf(pat, sizeof pat, "p%d", k);
            ob_log_entry en;
            entry(&en, pat);
            assert_int_equal(ob_pglog_append(lg, &en, 1, NULL, &e), OB_OK);
        }
        ob_pglog_close(lg);
        ob_pglog_report r;
        assert_int_equal(ob_pglog_verify(ci, cfg.pk, 64, &r, &e), OB_OK);
        pg_exec(ci, rows[i].sql);
        if (ob_pglog_verify(ci, cfg.pk, 64, &r, &e) != OB_ETAMPER)
            fail_msg("%s: not found (%s)", rows[i].why, e.msg);
    }
}

/* appends n entries "TAGk" to a fresh database NAME through one server; ci receives it */
static void fill(const char *name, const char *tag, int n, char *ci, size_t cap)
{
    pg_fresh_db(name, ci, cap);
    ob_pglog *lg;
    ob_err e = {0};
    if (ob_pglog_open(ci, &cfg, &lg, &e))
        fail_msg("open: %s", e.msg);
    for (int k = 0; k < n; k++) {
        char pat[32];
        snprintf(pat, sizeof pat, "%s%d", tag, k);
        ob_log_entry en;
        entry(&en, pat);
        assert_int_equal(ob_pglog_append(lg, &en, 1, NULL, &e), OB_OK);
    }
    ob_pglog_close(lg);
}

/* A head recorded earlier (a witness's, docs/operations.md): the log that grew from it
 * extends it; a shorter one (a restored old backup) and one that went on differently past
 * its size (a fork, with the same key) do not; an altered head is refused. */
static void recorded_head(void **state)
{
    (void)state;
    char ci[512], fork_ci[512], old_ci[512];
    ob_pglog_report r;
    ob_err e = {0};
    fill("head", "h", 100, ci, sizeof ci);
    assert_int_equal(ob_pglog_verify(ci, cfg.pk, 64, &r, &e), OB_OK);
    ob_log_head seen = r.head;
    assert_int_equal(seen.size, 100);
    assert_int_equal(ob_pglog_verify_extends(ci, cfg.pk, 64, &seen, &r, &e), OB_OK);
    /* the same log, grown */
    ob_pglog *lg;
    if (ob_pglog_open(ci, &cfg, &lg, &e))
        fail_msg("open: %s", e.msg);
    ob_log_entry en;
    entry(&en, "more");
    assert_int_equal(ob_pglog_append(lg, &en, 1, NULL, &e), OB_OK);
    ob_pglog_close(lg);
    assert_int_equal(ob_pglog_verify_extends(ci, cfg.pk, 64, &seen, &r, &e), OB_OK);
    assert_int_equal(r.size, 101);
    /* another log with the same key: shorter, then longer with other entries */
    fill("head_old", "h", 60, old_ci, sizeof old_ci);
    assert_int_equal(ob_pglog_verify_extends(old_ci, cfg.pk, 64, &seen, &r, &e), OB_ETAMPER);
    assert_non_null(strstr(e.msg, "rolled back: the log holds 60 entries"));
    fill("head_fork", "f", 130, fork_ci, sizeof fork_ci);
    assert_int_equal(ob_pglog_verify(fork_ci, cfg.pk, 64, &r, &e), OB_OK);
    assert_int_equal(ob_pglog_verify_extends(fork_ci, cfg.pk, 64, &seen, &r, &e), OB_ETAMPER);
    assert_non_null(strstr(e.msg, "forked: entry 100"));
    /* a head whose size or chain was changed, or an empty one, is not evidence */
    ob_log_head bad = seen;
    bad.size = 60;
    assert_int_equal(ob_pglog_verify_extends(old_ci, cfg.pk, 64, &bad, &r, &e), OB_ETAMPER);
    assert_non_null(strstr(e.msg, "not one this log's key signed"));
    bad = seen;
    bad.chain[0] ^= 1;
    assert_int_equal(ob_pglog_verify_extends(ci, cfg.pk, 64, &bad, &r, &e), OB_ETAMPER);
    memset(&bad, 0, sizeof bad);
    assert_int_equal(ob_pglog_verify_extends(ci, cfg.pk, 64, &bad, &r, &e), OB_ETAMPER);
}

/* The same entry for both backends: its content a function of k and t only. */
static void entry_k(ob_log_entry *en, char *pat, size_t cap, int k, ob_time t)
{
    snprintf(pat, cap, "pt-%d", k);
    memset(en, 0, sizeof *en);
    en->time = t;
    en->permit = k % 3 != 0;
    en->actor_id = "gp-1-dr0";
    en->patient = pat;
    en->category = "lab_result";
    en->purpose = "TREAT";
    en->rule = "R-ACC-1";
}

static void pg_append_k(ob_pglog *lg, int from, int to, ob_time t)
{
    for (int k = from; k < to; k++) {
        char pat[32];
        ob_log_entry en;
        entry_k(&en, pat, sizeof pat, k, t);
        ob_err e = {0};
        if (ob_pglog_append(lg, &en, 1, NULL, &e))
            fail_msg("append: %s", e.msg);
    }
}

static ob_note_key log_key(void)
{
    char origin[OB_NOTE_NAME_MAX + 1];
    ob_note_key k;
    ob_log_origin(cfg.pk, origin);
    assert_int_equal(ob_note_key_make(&k, origin, OB_NOTE_ED25519, cfg.pk, NULL), OB_OK);
    return k;
}

/* A v2 proof from the PostgreSQL log checks with the pure checker; changed, it does not. */
static void check_v2(const ob_log_proof *p)
{
    ob_note_key k = log_key();
    ob_err e = {0};
    if (ob_log_proof_check_keys(p, &k, 1, &e) != OB_OK)
        fail_msg("proof of %llu: %s", (unsigned long long)p->seq, e.msg);
    /* through its JSON form, as a patient gets it */
    char *json = ob_log_proof_to_json(p);
    ob_log_proof q;
    assert_int_equal(ob_log_proof_from_json(json, &q, &e), OB_OK);
    assert_int_equal(ob_log_proof_check_keys(&q, &k, 1, &e), OB_OK);
    if (q.path_len) {
        q.path[q.path_len - 1][0] ^= 1;
        assert_int_equal(ob_log_proof_check_keys(&q, &k, 1, &e), OB_ETAMPER);
    }
    ob_log_proof_free(&q);
    ob_free(json);
}

/* Both backends, the same key and entries: the same proofs, byte for byte. */
static void proofs_match_sqlite(void **state)
{
    (void)state;
    char ci[512], dir[] = "/tmp/obpgproof.XXXXXX", path[128];
    pg_fresh_db("proofs", ci, sizeof ci);
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/log.db", dir);
    ob_log_config sc = {.checkpoint_every = 64};
    memcpy(sc.sk, cfg.sk, sizeof sc.sk);
    memcpy(sc.pk, cfg.pk, sizeof sc.pk);
    ob_log *sl;
    ob_pglog *pl;
    ob_err e = {0};
    if (ob_log_open(path, &sc, &sl, &e) || ob_pglog_open(ci, &cfg, &pl, &e))
        fail_msg("open: %s", e.msg);
    for (int k = 0; k < 128; k++) {
        char pat[32];
        ob_log_entry en;
        entry_k(&en, pat, sizeof pat, k, 1796000000 + k);
        uint64_t a, b;
        assert_int_equal(ob_log_append(sl, &en, 1, NULL, NULL, &a, &e), OB_OK);
        assert_int_equal(ob_pglog_append(pl, &en, 1, &b, &e), OB_OK);
        assert_int_equal(a, b);
    }
    assert_int_equal(ob_log_close(sl, &e), OB_OK); /* at a segment's end: no extra cut */
    static const uint64_t seqs[] = {1, 2, 5, 63, 64, 65, 100, 127, 128};
    for (size_t i = 0; i < sizeof seqs / sizeof seqs[0]; i++) {
        ob_log_proof a, b;
        if (ob_log_prove_note(path, seqs[i], &a, &e) || ob_pglog_prove_note(ci, seqs[i], 0, &b, &e))
            fail_msg("prove %llu: %s", (unsigned long long)seqs[i], e.msg);
        char *ja = ob_log_proof_to_json(&a), *jb = ob_log_proof_to_json(&b);
        assert_string_equal(ja, jb);
        check_v2(&b);
        ob_free(ja);
        ob_free(jb);
        ob_log_proof_free(&a);
        ob_log_proof_free(&b);
        /* the segment proofs: the same path to the same signed root (the checkpoints'
         * times, and so their signatures, are each backend's own) */
        if (ob_log_prove(path, seqs[i], &a, &e) || ob_pglog_prove(ci, seqs[i], &b, &e))
            fail_msg("prove v1 %llu: %s", (unsigned long long)seqs[i], e.msg);
        assert_int_equal(ob_log_proof_check(&b, cfg.pk, &e), OB_OK);
        assert_int_equal(a.index, b.index);
        assert_int_equal(a.tree_size, b.tree_size);
        assert_int_equal(a.path_len, b.path_len);
        assert_memory_equal(a.leaf, b.leaf, sizeof a.leaf);
        assert_memory_equal(a.path, b.path, a.path_len * sizeof a.path[0]);
        assert_memory_equal(a.cp.root, b.cp.root, sizeof a.cp.root);
        assert_memory_equal(a.cp.chain, b.cp.chain, sizeof a.cp.chain);
        ob_log_proof_free(&a);
        ob_log_proof_free(&b);
    }
    static const uint64_t pairs[][2] = {{1, 128}, {5, 100},   {63, 127}, {64, 128},
                                        {64, 65}, {100, 128}, {128, 128}};
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        uint8_t a[OB_MERKLE_MAX_CONSISTENCY][OB_LOG_HASH_LEN], b[OB_MERKLE_MAX_CONSISTENCY][32];
        size_t la = 0, lb = 0;
        if (ob_log_consistency(path, pairs[i][0], pairs[i][1], a, &la, &e) ||
            ob_pglog_consistency(ci, pairs[i][0], pairs[i][1], b, &lb, &e))
            fail_msg("consistency: %s", e.msg);
        assert_int_equal(la, lb);
        assert_memory_equal(a, b, la * OB_LOG_HASH_LEN);
    }
    /* the notes are the same bytes; a consistency proof between two of them checks */
    char *na, *nb, *n64;
    assert_int_equal(ob_log_note_at(path, 128, &na, &e), OB_OK);
    assert_int_equal(ob_pglog_note_at(ci, 128, &nb, &e), OB_OK);
    assert_string_equal(na, nb);
    assert_int_equal(ob_pglog_note_at(ci, 64, &n64, &e), OB_OK);
    ob_log_consistency_proof cp = {.from = 64, .to = 128};
    assert_int_equal(ob_pglog_consistency(ci, 64, 128, cp.proof, &cp.len, &e), OB_OK);
    ob_note_key k = log_key();
    assert_int_equal(ob_log_consistency_check(&cp, n64, nb, &k, 1, &e), OB_OK);
    cp.proof[0][5] ^= 1;
    assert_int_equal(ob_log_consistency_check(&cp, n64, nb, &k, 1, &e), OB_ETAMPER);
    ob_free(na);
    ob_free(nb);
    ob_free(n64);
    /* the open segment is proved against the head's note at once, or against an older
     * segment's checkpoint; its segment proof waits for the segment */
    pg_append_k(pl, 128, 150, 1796000200);
    ob_log_proof p;
    assert_int_equal(ob_pglog_prove_note(ci, 140, 0, &p, &e), OB_OK);
    assert_int_equal(p.tree_size, 150);
    check_v2(&p);
    ob_log_proof_free(&p);
    assert_int_equal(ob_pglog_prove_note(ci, 10, 64, &p, &e), OB_OK);
    assert_int_equal(p.tree_size, 64);
    check_v2(&p);
    ob_log_proof_free(&p);
    assert_int_equal(ob_pglog_prove_note(ci, 100, 64, &p, &e), OB_EINVAL);
    assert_int_equal(ob_pglog_prove_note(ci, 10, 100, &p, &e), OB_ENOTFOUND);
    assert_int_equal(ob_pglog_prove(ci, 140, &p, &e), OB_ECONFLICT);
    assert_int_equal(ob_pglog_prove_note(ci, 151, 0, &p, &e), OB_ENOTFOUND);
    /* an entry changed in the database (a letter of its actor, byte 20 of the encoding):
     * its proof no longer reaches the signed root */
    pg_exec(ci, "UPDATE log_pg_entry SET enc = set_byte(enc, 20, get_byte(enc, 20) # 1) "
                "WHERE seq = 70");
    assert_int_equal(ob_pglog_prove_note(ci, 70, 0, &p, &e), OB_OK);
    ob_err ce = {0};
    assert_int_equal(ob_log_proof_check_keys(&p, &k, 1, &ce), OB_ETAMPER);
    ob_log_proof_free(&p);
    ob_pglog_close(pl);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

#define OLD 1700000000 /* older than the cut-off */
#define NEW 1800000000

/* A log of 4 partitions and a bit (64-entry segments, 2 segments a partition), the first
 * two partitions old: expiry drops exactly those two. */
static ob_pglog *retained_log(const char *name, char *ci, size_t cap, ob_pglog_config *c)
{
    pg_fresh_db(name, ci, cap);
    *c = cfg;
    c->partition_segments = 2;
    ob_pglog *lg;
    ob_err e = {0};
    if (ob_pglog_open(ci, c, &lg, &e))
        fail_msg("open: %s", e.msg);
    pg_append_k(lg, 0, 256, OLD);
    pg_append_k(lg, 256, 520, NEW);
    return lg;
}

static bool has_table(const char *ci, const char *t)
{
    PGconn *c = PQconnectdb(ci);
    const char *vals[1] = {t};
    PGresult *r =
        PQexecParams(c, "SELECT to_regclass($1) IS NOT NULL", 1, NULL, vals, NULL, NULL, 0);
    bool yes = PQresultStatus(r) == PGRES_TUPLES_OK && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    PQfinish(c);
    return yes;
}

/* Retention drops whole partitions; proofs and verification go on. */
static void retention(void **state)
{
    (void)state;
    char ci[512];
    ob_pglog_config c;
    ob_pglog *lg = retained_log("retain", ci, sizeof ci, &c);
    ob_err e = {0};
    char *n128, *n512;
    assert_int_equal(ob_pglog_note_at(ci, 128, &n128, &e), OB_OK); /* a witness kept these */
    assert_int_equal(ob_pglog_note_at(ci, 512, &n512, &e), OB_OK);
    ob_pglog_report r;
    assert_int_equal(ob_pglog_verify(ci, cfg.pk, 64, &r, &e), OB_OK);
    ob_log_head seen = r.head; /* an operator's recorded head, before the expiry */
    uint64_t removed = 9;
    assert_int_equal(ob_pglog_expire(lg, OLD + 1, &removed, &e), OB_OK);
    assert_int_equal(removed, 256);
    if (ob_pglog_verify_extends(ci, cfg.pk, 64, &seen, &r, &e))
        fail_msg("the recorded head after expiry: %s", e.msg);
    assert_false(has_table(ci, "log_pg_entry_0"));
    assert_false(has_table(ci, "log_pg_entry_1"));
    assert_true(has_table(ci, "log_pg_entry_2"));
    if (ob_pglog_verify(ci, cfg.pk, 64, &r, &e))
        fail_msg("verify after expiry: %s", e.msg);
    assert_int_equal(r.expired_through, 256);
    assert_int_equal(r.expired_cutoff, OLD + 1);
    assert_int_equal(r.entries, 520 - 256);
    assert_int_equal(r.checkpoints, 8);
    /* kept entries are proved against the head and against older checkpoints */
    static const uint64_t seqs[] = {257, 300, 384, 385, 512, 520};
    for (size_t i = 0; i < sizeof seqs / sizeof seqs[0]; i++) {
        ob_log_proof p;
        if (ob_pglog_prove_note(ci, seqs[i], 0, &p, &e))
            fail_msg("prove %llu: %s", (unsigned long long)seqs[i], e.msg);
        check_v2(&p);
        ob_log_proof_free(&p);
        if (seqs[i] <= 512) {
            assert_int_equal(ob_pglog_prove_note(ci, seqs[i], 512, &p, &e), OB_OK);
            check_v2(&p);
            assert_string_equal(p.note, n512);
            ob_log_proof_free(&p);
        }
    }
    /* an expired entry is not proved, not even against a checkpoint of its time */
    ob_log_proof p;
    assert_int_equal(ob_pglog_prove_note(ci, 10, 0, &p, &e), OB_ENOTFOUND);
    assert_int_equal(ob_pglog_prove_note(ci, 10, 128, &p, &e), OB_ENOTFOUND);
    assert_int_equal(ob_pglog_prove(ci, 10, &p, &e), OB_ENOTFOUND);
    /* what a witness saw before the expiry is still shown to be extended */
    ob_note_key k = log_key();
    char *nh;
    assert_int_equal(ob_pglog_note_at(ci, 0, &nh, &e), OB_OK);
    ob_log_consistency_proof cp = {.from = 128, .to = 520};
    assert_int_equal(ob_pglog_consistency(ci, 128, 520, cp.proof, &cp.len, &e), OB_OK);
    assert_int_equal(ob_log_consistency_check(&cp, n128, nh, &k, 1, &e), OB_OK);
    cp.to = 512;
    assert_int_equal(ob_pglog_consistency(ci, 128, 512, cp.proof, &cp.len, &e), OB_OK);
    assert_int_equal(ob_log_consistency_check(&cp, n128, n512, &k, 1, &e), OB_OK);
    /* from inside an expired segment it would need dropped leaves */
    assert_int_equal(ob_pglog_consistency(ci, 100, 512, cp.proof, &cp.len, &e), OB_ENOTFOUND);
    /* appends go on; expiring again drops nothing new (partition 2 holds new entries) */
    pg_append_k(lg, 520, 700, NEW);
    assert_int_equal(ob_pglog_expire(lg, OLD + 1, &removed, &e), OB_OK);
    assert_int_equal(removed, 0);
    if (ob_pglog_verify(ci, cfg.pk, 64, &r, &e))
        fail_msg("verify after more appends: %s", e.msg);
    assert_int_equal(r.size, 700);
    /* a later cut-off drops the rest of the sealed, whole partitions (not the one the head
     * is in) */
    assert_int_equal(ob_pglog_expire(lg, NEW + 1, &removed, &e), OB_OK);
    assert_int_equal(removed, 640 - 256);
    if (ob_pglog_verify(ci, cfg.pk, 64, &r, &e))
        fail_msg("verify after the second expiry: %s", e.msg);
    assert_int_equal(r.expired_through, 640);
    assert_int_equal(ob_pglog_prove_note(ci, 650, 0, &p, &e), OB_OK);
    check_v2(&p);
    ob_log_proof_free(&p);
    ob_free(n128);
    ob_free(n512);
    ob_free(nh);
    ob_pglog_close(lg);
}

/* A witness's cosignature line of note (its text per ob_note_open with the log's key). */
static void cosign(const char *note, const uint8_t wsk[64], uint64_t t, char line[OB_NOTE_LINE_MAX])
{
    ob_note_key k = log_key();
    ob_note_result r;
    ob_err e = {0};
    assert_int_equal(ob_note_open(note, strlen(note), &k, 1, &r, &e), OB_OK);
    assert_int_equal(ob_note_cosign(note, r.text_len, "witness.example/w1", wsk, t, line, &e),
                     OB_OK);
}

/* ob_pglog_prove_note (size 0) of seq: against a note of want entries, the check passing
 * with the log's key, and cosigned by the witness wk or not. */
static void proved_against(const char *ci, uint64_t seq, uint64_t want, const ob_note_key *wk,
                           bool witnessed)
{
    ob_log_proof p;
    ob_err e = {0};
    if (ob_pglog_prove_note(ci, seq, 0, &p, &e))
        fail_msg("prove %llu: %s", (unsigned long long)seq, e.msg);
    if (p.tree_size != want)
        fail_msg("entry %llu proved against %llu, not %llu", (unsigned long long)seq,
                 (unsigned long long)p.tree_size, (unsigned long long)want);
    check_v2(&p);
    ob_note_key keys[2] = {log_key(), *wk};
    char origin[OB_NOTE_NAME_MAX + 1];
    uint64_t size;
    uint8_t root[OB_LOG_HASH_LEN];
    ob_note_result r;
    assert_int_equal(ob_log_checkpoint_open(p.note, keys, 2, origin, &size, root, &r, &e), OB_OK);
    if (r.verified[1] != witnessed)
        fail_msg("entry %llu's proof is %scosigned", (unsigned long long)seq,
                 r.verified[1] ? "" : "not ");
    ob_log_proof_free(&p);
}

static long cosig_rows(const char *ci)
{
    PGconn *c = PQconnectdb(ci);
    PGresult *r = PQexec(c, "SELECT count(*) FROM log_pg_cosig");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    long n = atol(PQgetvalue(r, 0, 0));
    PQclear(r);
    PQfinish(c);
    return n;
}

/* A witness's cosignature kept by the PostgreSQL log and carried by proofs (R-LOG-7): the
 * newest cosigned note that covers an entry is the one proved against, an entry newer than
 * every cosigned note against the head; a note that is not this log's (another key's,
 * another size's, a fork's with the same key, a longer one) is refused, and one edited in
 * the table is found by verify (docs/security.md T-LOG-PG-13). */
static void cosignatures(void **state)
{
    (void)state;
    char ci[512], fork_ci[512];
    ob_err e = {0};
    uint8_t wpk[32], wsk[64];
    crypto_sign_ed25519_keypair(wpk, wsk);
    ob_note_key wk;
    assert_int_equal(ob_note_key_make(&wk, "witness.example/w1", OB_NOTE_COSIG, wpk, &e), OB_OK);
    fill("cosig", "c", 100, ci, sizeof ci);
    ob_log_proof p;
    /* none cosigned yet: the head's note, as before */
    proved_against(ci, 10, 100, &wk, false);
    char *n100, line[OB_NOTE_LINE_MAX];
    assert_int_equal(ob_pglog_note_at(ci, 0, &n100, &e), OB_OK);
    cosign(n100, wsk, 1800000000, line);
    if (ob_pglog_add_cosignature(ci, 100, n100, line, &e))
        fail_msg("add: %s", e.msg);
    assert_int_equal(ob_pglog_add_cosignature(ci, 100, n100, line, &e), OB_OK); /* again */
    assert_int_equal(cosig_rows(ci), 1);
    /* the head moves on; 10 is still proved against the cosigned 100, 120 against the head */
    ob_pglog *lg;
    if (ob_pglog_open(ci, &cfg, &lg, &e))
        fail_msg("open: %s", e.msg);
    pg_append_k(lg, 0, 50, 1796000000);
    proved_against(ci, 10, 100, &wk, true);
    proved_against(ci, 100, 100, &wk, true);
    proved_against(ci, 120, 150, &wk, false);
    /* the note of 100 (no segment ends there) is still there for a consistency proof */
    char *again;
    assert_int_equal(ob_pglog_note_at(ci, 100, &again, &e), OB_OK);
    assert_string_equal(again, n100);
    ob_free(again);
    assert_int_equal(ob_pglog_prove_note(ci, 10, 100, &p, &e), OB_OK);
    assert_non_null(strstr(p.note, line));
    ob_log_proof_free(&p);
    /* a newer cosigned note: the newest that covers the entry is chosen */
    char *n150, line150[OB_NOTE_LINE_MAX];
    assert_int_equal(ob_pglog_note_at(ci, 0, &n150, &e), OB_OK);
    cosign(n150, wsk, 1800000100, line150);
    assert_int_equal(ob_pglog_add_cosignature(ci, 150, n150, line150, &e), OB_OK);
    pg_append_k(lg, 50, 80, 1796000000);
    proved_against(ci, 10, 150, &wk, true);
    proved_against(ci, 120, 150, &wk, true);
    proved_against(ci, 151, 180, &wk, false);
    ob_pglog_report r;
    if (ob_pglog_verify(ci, cfg.pk, 64, &r, &e))
        fail_msg("verify with cosigned notes: %s", e.msg);
    assert_int_equal(r.notes, 2 + 2 + 1); /* checkpoints 64 and 128, the cosigned, the head */

    /* refused: another key's note (under the log's name, and under its own) */
    uint8_t opk[32], osk[64], root[OB_LOG_HASH_LEN];
    crypto_sign_ed25519_keypair(opk, osk);
    char origin[OB_NOTE_NAME_MAX + 1], onote[OB_CHECKPOINT_NOTE_CAP], oline[OB_NOTE_LINE_MAX];
    uint64_t sz;
    ob_note_result nr;
    ob_note_key k = log_key();
    assert_int_equal(ob_log_checkpoint_open(n100, &k, 1, origin, &sz, root, &nr, &e), OB_OK);
    assert_int_equal(ob_checkpoint_note(origin, 100, root, osk, onote, sizeof onote, &e), OB_OK);
    cosign(n100, wsk, 1800000200, oline); /* a valid line: the note is what is refused */
    assert_int_equal(ob_pglog_add_cosignature(ci, 100, onote, oline, &e), OB_ETAMPER);
    ob_log_origin(opk, origin);
    assert_int_equal(ob_checkpoint_note(origin, 100, root, osk, onote, sizeof onote, &e), OB_OK);
    assert_int_equal(ob_pglog_add_cosignature(ci, 100, onote, oline, &e), OB_ETAMPER);
    /* another size than the note's, and a size the log does not reach */
    assert_int_equal(ob_pglog_add_cosignature(ci, 99, n100, oline, &e), OB_ETAMPER);
    assert_int_equal(ob_pglog_add_cosignature(ci, 150, n100, oline, &e), OB_ETAMPER);
    /* the same key's note of another tree (a fork, another database): its root is not ours */
    fill("cosig_fork", "f", 240, fork_ci, sizeof fork_ci);
    char *f100, *f240, fline[OB_NOTE_LINE_MAX];
    assert_int_equal(ob_pglog_note_at(fork_ci, 0, &f240, &e), OB_OK);
    char fci100[512];
    fill("cosig_fork100", "f", 100, fci100, sizeof fci100);
    assert_int_equal(ob_pglog_note_at(fci100, 0, &f100, &e), OB_OK);
    cosign(f100, wsk, 1800000300, fline);
    e.msg[0] = '\0';
    assert_int_equal(ob_pglog_add_cosignature(ci, 100, f100, fline, &e), OB_ETAMPER);
    assert_non_null(strstr(e.msg, "root"));
    cosign(f240, wsk, 1800000300, fline);
    assert_int_equal(ob_pglog_add_cosignature(ci, 240, f240, fline, &e), OB_ETAMPER);
    /* lines and notes of the wrong shape */
    assert_int_equal(ob_pglog_add_cosignature(ci, 100, n100, "garbage\n", &e), OB_EINVAL);
    char two[2 * OB_NOTE_LINE_MAX];
    snprintf(two, sizeof two, "%s%s", line, line);
    assert_int_equal(ob_pglog_add_cosignature(ci, 100, n100, two, &e), OB_EINVAL);
    char *withline = ob_malloc(strlen(n100) + strlen(line) + 1);
    sprintf(withline, "%s%s", n100, line);
    assert_int_equal(ob_pglog_add_cosignature(ci, 100, withline, oline, &e), OB_EINVAL);
    ob_free(withline);
    assert_int_equal(cosig_rows(ci), 2);
    proved_against(ci, 10, 150, &wk, true);
    /* a note edited in the table (the fork's, put in by hand) is found by verify */
    char sql[1024];
    snprintf(sql, sizeof sql, "UPDATE log_pg_cosig SET note = '%s' WHERE size = 100", f100);
    pg_exec(ci, sql);
    assert_int_equal(ob_pglog_verify(ci, cfg.pk, 64, &r, &e), OB_ETAMPER);
    pg_exec(ci, "DELETE FROM log_pg_cosig WHERE size = 100");
    pg_exec(ci, "INSERT INTO log_pg_cosig VALUES (9999, 'x', 'y')");
    assert_int_equal(ob_pglog_verify(ci, cfg.pk, 64, &r, &e), OB_ETAMPER);
    pg_exec(ci, "DELETE FROM log_pg_cosig WHERE size = 9999");
    assert_int_equal(ob_pglog_verify(ci, cfg.pk, 64, &r, &e), OB_OK);
    ob_pglog_close(lg);
    ob_free(n100);
    ob_free(n150);
    ob_free(f100);
    ob_free(f240);
}

/* What an attacker with the database but not the key could do to an expired log: each is
 * found by verify (docs/security.md, "the PostgreSQL log's retention"). */
static void retention_tampering(void **state)
{
    (void)state;
    static const struct {
        const char *why, *sql;
    } rows[] = {
        {"a forged retention marker: a kept partition dropped, the marker moved over it with "
         "the chain and a cut-off that fit (all but the signature)",
         "DROP TABLE log_pg_entry_2; UPDATE log_pg_expiry SET through = 384, cutoff = "
         "1800000001, chain = (SELECT chain FROM log_pg_checkpoint WHERE size = 384)"},
        {"the retention marker deleted (the dropped entries are then missing)",
         "DELETE FROM log_pg_expiry"},
        {"a partition dropped with no marker", "DROP TABLE log_pg_entry_3"},
        {"a kept partition replaced by one with an entry changed and its leaf recomputed",
         "ALTER TABLE log_pg_entry DETACH PARTITION log_pg_entry_2; "
         "CREATE TABLE forged (LIKE log_pg_entry); INSERT INTO forged SELECT * FROM "
         "log_pg_entry_2; UPDATE forged SET enc = set_byte(enc, 30, get_byte(enc, 30) # 1) "
         "WHERE seq = 300; UPDATE forged SET leaf = sha256('\\x00'::bytea || enc) WHERE seq = "
         "300; DROP TABLE log_pg_entry_2; ALTER TABLE log_pg_entry ATTACH PARTITION forged "
         "FOR VALUES FROM (257) TO (385)"},
        {"a tree node over expired entries changed (a proof for them would be forged)",
         "UPDATE log_pg_node SET hash = sha256(hash) WHERE level = 7 AND idx = 0"},
        {"a tree node over kept entries changed", "UPDATE log_pg_node SET hash = sha256(hash) "
                                                  "WHERE level = 8 AND idx = 1"},
        {"a tree node deleted", "DELETE FROM log_pg_node WHERE level = 6 AND idx = 5"},
        {"an expired segment's checkpoint changed",
         "UPDATE log_pg_checkpoint SET root = sha256(root) WHERE size = 128"},
        {"the head's note replaced by an older one",
         "UPDATE log_pg_head SET note = (SELECT note FROM log_pg_checkpoint WHERE size = 512)"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char name[24], ci[512];
        snprintf(name, sizeof name, "rtamper%zu", i);
        ob_pglog_config c;
        ob_pglog *lg = retained_log(name, ci, sizeof ci, &c);
        ob_err e = {0};
        uint64_t removed;
        assert_int_equal(ob_pglog_expire(lg, OLD + 1, &removed, &e), OB_OK);
        ob_pglog_close(lg);
        ob_pglog_report r;
        if (ob_pglog_verify(ci, cfg.pk, 64, &r, &e))
            fail_msg("before %s: %s", rows[i].why, e.msg);
        pg_exec(ci, rows[i].sql);
        if (ob_pglog_verify(ci, cfg.pk, 64, &r, &e) != OB_ETAMPER)
            fail_msg("%s: not found (%s)", rows[i].why, e.msg);
    }
}

/* Retention while two servers append: every expiry is whole partitions at the front, the
 * appends all succeed, and the log verifies after. */
static void expire_while_appending(void **state)
{
    (void)state;
    char ci[512];
    pg_fresh_db("expireload", ci, sizeof ci);
    ob_pglog_config c = cfg;
    c.partition_segments = 2;
    ob_pglog *a = NULL, *b = NULL;
    ob_err e = {0};
    if (ob_pglog_open(ci, &c, &a, &e) || ob_pglog_open(ci, &c, &b, &e))
        fail_msg("open: %s", e.msg);
    static writer_arg w[2];
    pthread_t t[2];
    for (int i = 0; i < 2; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].lg = i ? b : a;
        w[i].id = i;
        pthread_create(&t[i], NULL, writer_main, &w[i]);
    }
    uint64_t dropped = 0, removed;
    int expiries = 0;
    for (int round = 0; round < 40; round++) {
        usleep(20000);
        if (ob_pglog_expire(round % 2 ? b : a, NEW, &removed, &e))
            fail_msg("expire: %s", e.msg);
        dropped += removed;
        expiries += removed > 0;
    }
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    ob_pglog_close(a);
    ob_pglog_close(b);
    size_t total = 0;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(w[i].failed, 0);
        for (int k = 0; k < CALLS; k++)
            total += w[i].n[k];
    }
    ob_pglog_report r;
    if (ob_pglog_verify(ci, cfg.pk, 64, &r, &e))
        fail_msg("verify: %s", e.msg);
    assert_int_equal(r.size, total);
    assert_int_equal(r.expired_through, dropped);
    assert_int_equal(r.entries, total - dropped);
    assert_true(expiries >= 2); /* it ran while the log grew */
    print_message("expire while appending: %zu entries, %llu dropped in %d expiries\n", total,
                  (unsigned long long)dropped, expiries);
}

/* Asynchronous appends (the HTTP server's way, ob_pglog_append_async): two threads keep
 * many calls in flight from buffers they overwrite at once; every call hears exactly once,
 * its entries at the seqs it was told; a call whose change is refused hears the refusal
 * and leaves nothing; the log verifies. */
#define ASYNC_CALLS 400

typedef struct async_call {
    int st, heard;
    uint64_t first;
    size_t n;
    char pat[3][40];
} async_call;

static pthread_mutex_t async_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t async_cv = PTHREAD_COND_INITIALIZER;
static int async_left;

static void async_done(void *ctx, ob_status st, uint64_t first_seq, const ob_err *err)
{
    async_call *c = ctx;
    assert_true(st == OB_OK ? err == NULL : err != NULL);
    pthread_mutex_lock(&async_mu);
    c->st = (int)st;
    c->first = first_seq;
    c->heard++;
    async_left--;
    pthread_cond_broadcast(&async_cv);
    pthread_mutex_unlock(&async_mu);
}

static ob_status refuse_change(void *ctx, ob_store_tx *tx, ob_err *e)
{
    (void)ctx;
    (void)tx;
    return ob_err_set(e, OB_EDENIED, "refused");
}

typedef struct async_arg {
    ob_pglog *lg;
    int id;
    async_call *calls;
} async_arg;

static void *async_main(void *p)
{
    async_arg *a = p;
    for (int k = 0; k < ASYNC_CALLS; k++) {
        async_call *c = &a->calls[k];
        c->n = 1 + (size_t)(k % 3);
        ob_log_entry en[3];
        char scratch[3][40];
        for (size_t i = 0; i < c->n; i++) {
            snprintf(c->pat[i], sizeof c->pat[i], "as%d-%d-%zu", a->id, k, i);
            memcpy(scratch[i], c->pat[i], sizeof scratch[i]);
            entry(&en[i], scratch[i]);
        }
        ob_err e = {0};
        bool refuse = k % 50 == 7;
        ob_status st;
        while ((st = ob_pglog_append_async(a->lg, en, c->n, refuse ? refuse_change : NULL, NULL,
                                           async_done, c, &e)) == OB_ELIMIT)
            usleep(1000);
        assert_int_equal(st, OB_OK);
        memset(scratch, 'x', sizeof scratch); /* the log holds its own copy */
    }
    return NULL;
}

static void async_appends(void **state)
{
    (void)state;
    char ci[512];
    pg_fresh_db("asyncapp", ci, sizeof ci);
    ob_pglog *lg;
    ob_err e = {0};
    if (ob_pglog_open(ci, &cfg, &lg, &e))
        fail_msg("open: %s", e.msg);
    static async_call calls[2][ASYNC_CALLS];
    memset(calls, 0, sizeof calls);
    async_left = 2 * ASYNC_CALLS;
    async_arg args[2] = {{lg, 0, calls[0]}, {lg, 1, calls[1]}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&th[i], NULL, async_main, &args[i]);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    pthread_mutex_lock(&async_mu);
    while (async_left > 0)
        pthread_cond_wait(&async_cv, &async_mu);
    pthread_mutex_unlock(&async_mu);
    ob_pglog_close(lg);
    size_t n;
    char **pat = patients(ci, &n);
    size_t want = 0;
    for (int w = 0; w < 2; w++)
        for (int k = 0; k < ASYNC_CALLS; k++) {
            const async_call *c = &calls[w][k];
            assert_int_equal(c->heard, 1);
            if (k % 50 == 7) {
                assert_int_equal(c->st, OB_EDENIED);
                continue;
            }
            assert_int_equal(c->st, OB_OK);
            for (size_t i = 0; i < c->n; i++) {
                assert_true(c->first + i <= n);
                assert_string_equal(pat[c->first + i - 1], c->pat[i]);
            }
            want += c->n;
        }
    assert_int_equal(n, want); /* nothing of the refused calls */
    free_strs(pat, n);
    ob_pglog_report r;
    if (ob_pglog_verify(ci, cfg.pk, cfg.checkpoint_every, &r, &e))
        fail_msg("verify: %s", e.msg);
    assert_int_equal(r.entries, want);
}

/* ---- reading: each, stats, keys, notes, ground ---- */

/* Entry k of the query tests: patients p0..p7, actors a0..a4, every third on behalf of
 * dr-7 or dr-8, times in a narrow range so that many tie (then seq orders them); some
 * fields NULL. */
static void entry_q(ob_log_entry *en, char pat[16], char act[16], int k)
{
    snprintf(pat, 16, "p%d", k % 8);
    snprintf(act, 16, "a%d", (k / 3) % 5);
    memset(en, 0, sizeof *en);
    en->time = 1796000000 + (ob_time)((k * 7) % 40);
    en->event = (uint8_t)(k % OB_EV_COUNT);
    en->permit = k % 4 != 0;
    en->override = k % 11 == 0;
    en->actor_id = act;
    en->actor_name = k % 5 ? "Dr. Søren Ærø" : NULL;
    en->on_behalf_of = k % 3 == 0 ? (k % 2 ? "dr-7" : "dr-8") : (k % 2 ? "" : NULL);
    en->patient = pat;
    en->category = "lab_result";
    en->purpose = "TREAT";
    en->rule = "R-ACC-1";
    en->reason = k % 7 ? NULL : "a reason";
}

typedef struct collected {
    char **rows; /* seq ":" hex of the entry's encoding */
    size_t n, cap;
    size_t stop_after; /* fn refuses the row after this many (0: never) */
} collected;

static ob_status collect(void *ctx, const ob_log_record *r, ob_err *e)
{
    collected *c = ctx;
    if (c->stop_after && c->n == c->stop_after)
        return ob_err_set(e, OB_ECONFLICT, "enough");
    size_t len = ob_log_entry_encoded_len(&r->entry);
    uint8_t *b = malloc(len);
    char *row = malloc(2 * len + 32);
    ob_log_entry_encode(&r->entry, r->seq, b, len);
    int k = snprintf(row, 32, "%llu:", (unsigned long long)r->seq);
    ob_log_hex(b, len, row + k);
    free(b);
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 64;
        c->rows = realloc(c->rows, c->cap * sizeof *c->rows);
    }
    c->rows[c->n++] = row;
    return OB_OK;
}

/* The time of a collected row (bytes 1..8 of its encoding). */
static uint64_t row_time(const char *row)
{
    uint8_t t[8];
    char hex[17];
    memcpy(hex, strchr(row, ':') + 3, 16);
    hex[16] = '\0';
    assert_int_equal(ob_log_unhex(hex, t, 8), 0);
    return ob_log_get_u64(t);
}

static void collected_free(collected *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->rows[i]);
    free(c->rows);
    memset(c, 0, sizeof *c);
}

#define QT0 1796000000

/* ob_pglog_each answers exactly what ob_log_each answers, for the same entries. */
static void each_matches_sqlite(void **state)
{
    (void)state;
    char ci[512], dir[] = "/tmp/obpgeach.XXXXXX", path[128];
    pg_fresh_uri("each", ci, sizeof ci); /* Danish collation: the order must not depend on it */
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/log.db", dir);
    ob_log_config sc = {.checkpoint_every = 64};
    memcpy(sc.sk, cfg.sk, sizeof sc.sk);
    memcpy(sc.pk, cfg.pk, sizeof sc.pk);
    ob_log *sl;
    ob_pglog *pl;
    ob_err e = {0};
    if (ob_log_open(path, &sc, &sl, &e) || ob_pglog_open(ci, &cfg, &pl, &e))
        fail_msg("open: %s", e.msg);
    /* in calls of 1..4 entries, so that some share a batch */
    for (int k = 0; k < 300;) {
        int n = 1 + k % 4;
        ob_log_entry en[4];
        char pat[4][16], act[4][16];
        for (int i = 0; i < n; i++)
            entry_q(&en[i], pat[i], act[i], k + i);
        uint64_t a, b;
        assert_int_equal(ob_log_append(sl, en, (size_t)n, NULL, NULL, &a, &e), OB_OK);
        assert_int_equal(ob_pglog_append(pl, en, (size_t)n, &b, &e), OB_OK);
        assert_int_equal(a, b);
        k += n;
    }
    assert_int_equal(ob_log_close(sl, &e), OB_OK);
    static const struct {
        const char *patient, *obo, *actor;
        ob_time from, to;
        size_t limit;
        bool newest;
        size_t at_least; /* answers expected (so that an empty answer on both fails) */
    } qs[] = {
        {"p1", NULL, NULL, 0, 0, 0, false, 30},
        {"p1", NULL, NULL, 0, 0, 0, true, 30},
        {"p1", NULL, NULL, 0, 0, 5, false, 5},
        {"p1", NULL, NULL, 0, 0, 5, true, 5},
        {"p1", NULL, NULL, QT0 + 10, QT0 + 20, 0, false, 5},
        {"p1", NULL, NULL, QT0 + 10, QT0 + 20, 3, true, 3},
        {"p6", NULL, NULL, QT0 + 39, 0, 0, false, 0},
        {"nobody", NULL, NULL, 0, 0, 0, false, 0},
        {"p2", NULL, NULL, QT0 + 100, 0, 0, false, 0},
        {NULL, "dr-7", NULL, 0, 0, 0, false, 40},
        {NULL, "dr-7", NULL, 0, 0, 3, true, 3},
        {NULL, "dr-8", NULL, QT0 + 2, QT0 + 3, 0, false, 3},
        {NULL, "", NULL, 0, 0, 0, false, 0},
        {NULL, NULL, "a2", 0, 0, 0, false, 50},
        {NULL, NULL, "a2", 0, QT0 + 15, 0, true, 10},
        {NULL, NULL, "a4", 0, 0, 1000, false, 50},
        {"p2", NULL, "a1", 0, 0, 0, false, 5},
        {"p4", "dr-8", NULL, 0, 0, 0, true, 5},
        {"p4", "dr-8", "a0", 0, 0, 0, false, 1},
        {"p0", NULL, NULL, 0, 0, 0, false, 30},
        {"", NULL, NULL, 0, 0, 0, false, 0},
    };
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        ob_log_query q = {.patient = qs[i].patient,
                          .on_behalf_of = qs[i].obo,
                          .actor_id = qs[i].actor,
                          .from = qs[i].from,
                          .to = qs[i].to,
                          .limit = qs[i].limit,
                          .newest_first = qs[i].newest};
        collected a = {0}, b = {0};
        if (ob_log_each(path, &q, collect, &a, &e) || ob_pglog_each(ci, &q, collect, &b, &e))
            fail_msg("query %zu: %s", i, e.msg);
        if (a.n != b.n || a.n < qs[i].at_least)
            fail_msg("query %zu: SQLite %zu answers, PostgreSQL %zu, at least %zu wanted", i, a.n,
                     b.n, qs[i].at_least);
        for (size_t k = 0; k < a.n; k++)
            if (strcmp(a.rows[k], b.rows[k]) != 0)
                fail_msg("query %zu, answer %zu: SQLite %.40s..., PostgreSQL %.40s...", i, k,
                         a.rows[k], b.rows[k]);
        collected_free(&a);
        collected_free(&b);
    }
    /* no key: refused by both */
    ob_log_query none = {0};
    collected c = {0};
    assert_int_equal(ob_log_each(path, &none, collect, &c, &e), OB_EINVAL);
    assert_int_equal(ob_pglog_each(ci, &none, collect, &c, &e), OB_EINVAL);
    /* the callback's error stops the query and is what it returns (past a FETCH's 1000 rows
     * too: a patient with more entries than one FETCH brings) */
    ob_log_query p1 = {.patient = "p1"};
    c.stop_after = 2;
    assert_int_equal(ob_pglog_each(ci, &p1, collect, &c, &e), OB_ECONFLICT);
    assert_int_equal(c.n, 2);
    collected_free(&c);
    ob_log_entry many[250];
    char scratch[2][16];
    for (int i = 0; i < 250; i++) {
        entry_q(&many[i], scratch[0], scratch[1], i);
        many[i].patient = "p-many";
        many[i].actor_id = "a-many";
    }
    for (int k = 0; k < 10; k++)
        assert_int_equal(ob_pglog_append(pl, many, 250, NULL, &e), OB_OK);
    ob_log_query pm = {.patient = "p-many", .newest_first = true};
    assert_int_equal(ob_pglog_each(ci, &pm, collect, &c, &e), OB_OK);
    assert_int_equal(c.n, 2500);
    for (size_t k = 1; k < c.n; k++) { /* newest first, and the higher seq first on a tie */
        uint64_t sa = strtoull(c.rows[k - 1], NULL, 10), sb = strtoull(c.rows[k], NULL, 10);
        uint64_t ta = row_time(c.rows[k - 1]), tb = row_time(c.rows[k]);
        assert_true(ta > tb || (ta == tb && sa > sb));
    }
    collected_free(&c);
    c.stop_after = 1500;
    assert_int_equal(ob_pglog_each(ci, &pm, collect, &c, &e), OB_ECONFLICT);
    assert_int_equal(c.n, 1500);
    collected_free(&c);
    ob_pglog_close(pl);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* A row's columns edited behind the log's back: each refuses to let the entry answer for
 * another patient, actor, professional or time (OB_ETAMPER, not a silent skip: the log was
 * changed and the operator must hear of it; a skip would also hide the entry from whoever
 * it does belong to). An entry moved out of its own patient's answers (its patient column
 * made someone nobody asks about) each cannot see: verify finds that, and every other edit
 * here. */
static void each_tampered_columns(void **state)
{
    (void)state;
    ob_pglog *lg;
    ob_err e = {0};
    static const struct {
        const char *what, *sql;
        ob_log_query q;
        ob_status each; /* what each answers after the edit */
    } cases[] = {
        /* entry 2 is p1's: its row now says p2, so a query for p2 finds it */
        {"patient",
         "UPDATE log_pg_entry SET patient = 'p2' WHERE seq = 2",
         {.patient = "p2"},
         OB_ETAMPER},
        {"actor",
         "UPDATE log_pg_entry SET actor_id = 'a4' WHERE seq = 2",
         {.actor_id = "a4"},
         OB_ETAMPER},
        {"professional",
         "UPDATE log_pg_entry SET on_behalf_of = 'dr-7' WHERE seq = 2",
         {.on_behalf_of = "dr-7"},
         OB_ETAMPER},
        {"time (into a window it was not in)",
         "UPDATE log_pg_entry SET time = 1796000039 WHERE seq = 9",
         {.patient = "p0", .from = 1796000039},
         OB_ETAMPER},
        /* the columns and the time copied from another row: the encoding names its seq */
        {"seq (another row's encoding)",
         "UPDATE log_pg_entry a SET enc = b.enc FROM log_pg_entry b WHERE a.seq = 3 AND "
         "b.seq = 2; UPDATE log_pg_entry SET patient = 'p1', actor_id = 'a0', time = "
         "(SELECT time FROM log_pg_entry WHERE seq = 2) WHERE seq = 3",
         {.patient = "p1"},
         OB_ETAMPER},
        {"encoding (malformed)",
         "UPDATE log_pg_entry SET enc = substring(enc FROM 1 FOR 30) WHERE seq = 2",
         {.patient = "p1"},
         OB_ETAMPER},
        {"patient (hidden from its own)",
         "UPDATE log_pg_entry SET patient = 'zz' WHERE seq = 2",
         {.patient = "p1"},
         OB_OK},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char name[32], cj[600];
        snprintf(name, sizeof name, "eachtamper%zu", i);
        pg_fresh_db(name, cj, sizeof cj);
        if (ob_pglog_open(cj, &cfg, &lg, &e))
            fail_msg("open: %s", e.msg);
        for (int k = 0; k < 40; k++) {
            ob_log_entry en;
            char pat[16], act[16];
            entry_q(&en, pat, act, k);
            assert_int_equal(ob_pglog_append(lg, &en, 1, NULL, &e), OB_OK);
        }
        ob_pglog_close(lg);
        collected c = {0};
        assert_int_equal(ob_pglog_each(cj, &cases[i].q, collect, &c, &e), OB_OK);
        size_t before = c.n;
        collected_free(&c);
        ob_pglog_report r;
        assert_int_equal(ob_pglog_verify(cj, cfg.pk, 64, &r, &e), OB_OK);
        pg_exec(cj, cases[i].sql);
        ob_status st = ob_pglog_each(cj, &cases[i].q, collect, &c, &e);
        if (st != cases[i].each)
            fail_msg("%s edited: each answered %d with %zu entries", cases[i].what, (int)st, c.n);
        if (st == OB_OK)
            assert_int_equal(c.n, before - 1);
        collected_free(&c);
        if (ob_pglog_verify(cj, cfg.pk, 64, &r, &e) != OB_ETAMPER)
            fail_msg("%s edited: verify did not find it", cases[i].what);
    }
}

/* A schema-2 log (what ob_pglog_open made before this version) is migrated in place on
 * open. The test makes one from a schema-3 log with the statements that undo schema 3 (the
 * two columns and three indexes dropped, the (patient, seq) index back, the schema 2): the
 * tables are then those schema 2's DDL made, in every partition, with the rows a schema-2
 * writer wrote (the same but for the two columns). */
static void migrate_from_2(void **state)
{
    (void)state;
    char ci[512];
    pg_fresh_db("migrate2", ci, sizeof ci);
    ob_pglog_config c = cfg;
    c.partition_segments = 1; /* 64 entries a partition: the 200 below span four */
    ob_pglog *lg;
    ob_err e = {0};
    if (ob_pglog_open(ci, &c, &lg, &e))
        fail_msg("open: %s", e.msg);
    for (int k = 0; k < 200; k++) {
        ob_log_entry en;
        char pat[16], act[16];
        entry_q(&en, pat, act, k);
        assert_int_equal(ob_pglog_append(lg, &en, 1, NULL, &e), OB_OK);
    }
    ob_pglog_close(lg);
    pg_exec(ci, "DROP INDEX log_pg_entry_patient_time, log_pg_entry_obo, log_pg_entry_actor;"
                "ALTER TABLE log_pg_entry DROP COLUMN actor_id, DROP COLUMN on_behalf_of;"
                "CREATE INDEX log_pg_entry_patient ON log_pg_entry (patient, seq);"
                "UPDATE log_pg_meta SET v = '2' WHERE k = 'schema'");
    int n;
    char **v = pg_column(ci,
                         "SELECT count(*) FROM information_schema.columns WHERE column_name IN "
                         "('actor_id', 'on_behalf_of') AND table_name LIKE 'log_pg_entry%'",
                         &n);
    assert_string_equal(v[0], "0");
    pg_free_column(v, n);
    /* verify reads a schema-2 log too (it has no actor or professional column to check) */
    ob_pglog_report r;
    if (ob_pglog_verify(ci, cfg.pk, 64, &r, &e))
        fail_msg("verify (schema 2): %s", e.msg);
    assert_int_equal(r.entries, 200);
    /* a query of the old log says what to do */
    collected q = {0};
    ob_log_query by_actor = {.actor_id = "a1"};
    assert_int_not_equal(ob_pglog_each(ci, &by_actor, collect, &q, &e), OB_OK);
    if (ob_pglog_open(ci, &c, &lg, &e))
        fail_msg("open (migrating): %s", e.msg);
    v = pg_column(ci, "SELECT v FROM log_pg_meta WHERE k = 'schema'", &n);
    assert_string_equal(v[0], "3");
    pg_free_column(v, n);
    /* the columns in every partition, filled from the encodings */
    v = pg_column(ci,
                  "SELECT count(*) FROM information_schema.columns WHERE column_name IN "
                  "('actor_id', 'on_behalf_of') AND table_name LIKE 'log_pg_entry%'",
                  &n);
    int parts;
    char **pv = pg_column(ci,
                          "SELECT count(*) FROM pg_inherits WHERE inhparent = "
                          "'log_pg_entry'::regclass",
                          &parts);
    assert_true(atoi(pv[0]) >= 4);
    assert_int_equal(atoi(v[0]), 2 * (1 + atoi(pv[0])));
    pg_free_column(v, n);
    pg_free_column(pv, parts);
    v = pg_column(ci,
                  "SELECT indexname FROM pg_indexes WHERE tablename = 'log_pg_entry' "
                  "ORDER BY 1",
                  &n);
    assert_int_equal(n, 4);
    assert_string_equal(v[0], "log_pg_entry_actor");
    assert_string_equal(v[1], "log_pg_entry_obo");
    assert_string_equal(v[2], "log_pg_entry_patient_time");
    assert_string_equal(v[3], "log_pg_entry_pkey");
    pg_free_column(v, n);
    /* appends go on (into new partitions, made LIKE the migrated parent) */
    for (int k = 200; k < 300; k++) {
        ob_log_entry en;
        char pat[16], act[16];
        entry_q(&en, pat, act, k);
        assert_int_equal(ob_pglog_append(lg, &en, 1, NULL, &e), OB_OK);
    }
    ob_pglog_close(lg);
    /* every query finds old and new entries as the decoded encodings say */
    static const char *const actors[] = {"a0", "a1", "a2", "a3", "a4"};
    size_t total = 0;
    for (size_t i = 0; i < 5; i++) {
        ob_log_query qa = {.actor_id = actors[i]};
        assert_int_equal(ob_pglog_each(ci, &qa, collect, &q, &e), OB_OK);
        total += q.n;
        collected_free(&q);
    }
    assert_int_equal(total, 300);
    ob_log_query qo = {.on_behalf_of = "dr-7"};
    assert_int_equal(ob_pglog_each(ci, &qo, collect, &q, &e), OB_OK);
    assert_int_equal(q.n, 50); /* k % 3 == 0 and k odd, k < 300 */
    collected_free(&q);
    if (ob_pglog_verify(ci, cfg.pk, 64, &r, &e))
        fail_msg("verify: %s", e.msg);
    assert_int_equal(r.entries, 300);
    /* opened again: nothing more to migrate */
    if (ob_pglog_open(ci, &c, &lg, &e))
        fail_msg("open again: %s", e.msg);
    ob_pglog_close(lg);
}

static void stats_done(void *ctx, ob_status st, uint64_t first_seq, const ob_err *err)
{
    (void)first_seq;
    (void)err;
    async_call *c = ctx;
    pthread_mutex_lock(&async_mu);
    c->st = (int)st;
    c->heard++;
    async_left--;
    pthread_cond_broadcast(&async_cv);
    pthread_mutex_unlock(&async_mu);
}

/* Counters, the key lines, the head's note, and the ground. */
static void stats_keys_ground(void **state)
{
    (void)state;
    char ci[512], dir[] = "/tmp/obpgkeys.XXXXXX", path[128];
    pg_fresh_db("statskeys", ci, sizeof ci);
    ob_pglog *lg;
    ob_err e = {0};
    char *note = NULL, *keys = NULL;
    /* no log yet */
    assert_int_equal(ob_pglog_public_keys(ci, &keys, &e), OB_ENOTFOUND);
    if (ob_pglog_open(ci, &cfg, &lg, &e))
        fail_msg("open: %s", e.msg);
    assert_int_equal(ob_pglog_latest_note(ci, &note, &e), OB_ENOTFOUND);
    assert_null(note);
    ob_log_stats s;
    ob_pglog_get_stats(lg, &s);
    assert_int_equal(s.size, 0);
    assert_int_equal(s.commits, 0);
    assert_int_equal(ob_pglog_ground(lg, &e), OB_OK);
    /* 10 calls of 3, one refused change */
    for (int k = 0; k < 10; k++) {
        ob_log_entry en[3];
        char pat[3][16], act[3][16];
        for (int i = 0; i < 3; i++)
            entry_q(&en[i], pat[i], act[i], 3 * k + i);
        assert_int_equal(ob_pglog_append(lg, en, 3, NULL, &e), OB_OK);
    }
    ob_log_entry one;
    char pat[16], act[16];
    entry_q(&one, pat, act, 99);
    assert_int_equal(ob_pglog_append_change(lg, &one, 1, refuse_change, NULL, NULL, &e),
                     OB_EDENIED);
    ob_pglog_get_stats(lg, &s);
    assert_int_equal(s.size, 30);
    assert_int_equal(s.appended, 30);
    assert_int_equal(s.commits, 10);
    assert_int_equal(s.failed, 1);
    assert_int_equal(s.max_batch, 3);
    assert_int_equal(s.pending, 0);
    assert_int_equal(s.refused, 0);
    assert_int_equal(s.indexed, 30);
    assert_int_equal(s.checkpoints, 0);
    assert_true(s.writer_cpu_ns > 0);
    uint64_t hist = 0;
    for (int b = 0; b <= OB_LOG_COMMIT_BUCKETS; b++)
        hist += s.commit_hist[b];
    assert_int_equal(hist, 10);
    assert_true(s.commit_ns_sum > 0);
    /* a call of 65,536 entries queued, the next refused while it is (OB_ELIMIT, counted),
     * and a segment cut (64 entries) */
    static ob_log_entry big[65536];
    for (size_t i = 0; i < 65536; i++)
        entry_q(&big[i], pat, act, (int)i);
    static async_call bc, sc;
    memset(&bc, 0, sizeof bc);
    memset(&sc, 0, sizeof sc);
    async_left = 1;
    assert_int_equal(ob_pglog_append_async(lg, big, 65536, NULL, NULL, stats_done, &bc, &e), OB_OK);
    ob_status st = ob_pglog_append_async(lg, &one, 1, NULL, NULL, stats_done, &sc, &e);
    if (st == OB_OK)
        async_left++; /* the big call was already done (a very fast database) */
    else
        assert_int_equal(st, OB_ELIMIT);
    pthread_mutex_lock(&async_mu);
    while (async_left > 0)
        pthread_cond_wait(&async_cv, &async_mu);
    pthread_mutex_unlock(&async_mu);
    assert_int_equal(bc.st, OB_OK);
    ob_pglog_get_stats(lg, &s);
    uint64_t extra = st == OB_OK ? 1 : 0;
    assert_int_equal(s.refused, 1 - extra);
    assert_int_equal(s.size, 30 + 65536 + extra);
    assert_int_equal(s.appended, 30 + 65536 + extra);
    assert_int_equal(s.max_batch, 65536);
    assert_int_equal(s.pending, 0);
    assert_int_equal(s.indexed, s.size);
    assert_int_equal(s.checkpoints, (30 + 65536 + extra) / 64);
    /* the head's note: the newest, of the whole log */
    char *at0 = NULL;
    assert_int_equal(ob_pglog_latest_note(ci, &note, &e), OB_OK);
    assert_int_equal(ob_pglog_note_at(ci, 0, &at0, &e), OB_OK);
    assert_string_equal(note, at0);
    ob_note_key k = log_key();
    ob_note_result nr;
    char origin[OB_NOTE_NAME_MAX + 1];
    uint64_t size;
    uint8_t root[OB_LOG_HASH_LEN];
    assert_int_equal(ob_log_checkpoint_open(note, &k, 1, origin, &size, root, &nr, &e), OB_OK);
    assert_int_equal(size, s.size);
    ob_free(note);
    ob_free(at0);
    /* the key lines are the SQLite log's for the same key */
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/log.db", dir);
    ob_log_config sc2 = {.checkpoint_every = 64};
    memcpy(sc2.sk, cfg.sk, sizeof sc2.sk);
    memcpy(sc2.pk, cfg.pk, sizeof sc2.pk);
    ob_log *sl;
    assert_int_equal(ob_log_open(path, &sc2, &sl, &e), OB_OK);
    assert_int_equal(ob_log_close(sl, &e), OB_OK);
    char *skeys = NULL;
    assert_int_equal(ob_log_public_keys(path, &skeys, &e), OB_OK);
    assert_int_equal(ob_pglog_public_keys(ci, &keys, &e), OB_OK);
    assert_string_equal(keys, skeys);
    ob_note_key parsed[4];
    size_t nk;
    assert_int_equal(ob_log_parse_keys(keys, parsed, 4, &nk, &e), OB_OK);
    assert_int_equal(nk, 1);
    ob_free(keys);
    ob_free(skeys);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    /* the writer's connection killed: the next batch fails on it and the ground says so
     * (without the conninfo), the one after reconnects */
    pg_exec(ci, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = "
                "current_database() AND pid <> pg_backend_pid()");
    assert_int_not_equal(ob_pglog_append(lg, &one, 1, NULL, &e), OB_OK);
    ob_err ge = {0};
    assert_int_equal(ob_pglog_ground(lg, &ge), OB_EIO);
    assert_null(strstr(ge.msg, pg_dir));
    assert_null(strstr(ge.msg, "statskeys"));
    assert_non_null(strstr(ge.msg, "connection"));
    ob_pglog_get_stats(lg, &s);
    uint64_t failed = s.failed;
    assert_int_equal(ob_pglog_append(lg, &one, 1, NULL, &e), OB_OK);
    assert_int_equal(ob_pglog_ground(lg, &ge), OB_OK);
    ob_pglog_get_stats(lg, &s);
    assert_int_equal(s.failed, failed);
    assert_int_equal(s.size, 30 + 65536 + extra + 1);
    /* ... and with no append at all: the idle writer connects again by itself once the
     * database takes connections (a server out of a load balancer's service, because its
     * health check said lost, gets no request whose batch would reconnect: issue 18) */
    pg_exec(pg_base, "ALTER DATABASE statskeys ALLOW_CONNECTIONS false");
    pg_exec(pg_base, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = "
                     "'statskeys'");
    assert_int_not_equal(ob_pglog_append(lg, &one, 1, NULL, &e), OB_OK);
    usleep(800 * 1000); /* three tries of the writer's, each refused */
    assert_int_equal(ob_pglog_ground(lg, &ge), OB_EIO);
    pg_exec(pg_base, "ALTER DATABASE statskeys ALLOW_CONNECTIONS true");
    int waited_ms = 0;
    while (ob_pglog_ground(lg, &ge) != OB_OK && waited_ms < 10000) {
        usleep(50 * 1000);
        waited_ms += 50;
    }
    assert_int_equal(ob_pglog_ground(lg, &ge), OB_OK);
    ob_pglog_get_stats(lg, &s);
    assert_int_equal(s.size, 30 + 65536 + extra + 1);
    assert_int_equal(ob_pglog_append(lg, &one, 1, NULL, &e), OB_OK);
    ob_pglog_get_stats(lg, &s);
    assert_int_equal(s.size, 30 + 65536 + extra + 2);
    /* an entry the database could not store as text is refused alone, before the batch */
    one.actor_id = "\xff\xfe";
    assert_int_equal(ob_pglog_append(lg, &one, 1, NULL, &e), OB_EINVAL);
    ob_pglog_close(lg);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(two_servers),
        cmocka_unit_test(killed_server),
        cmocka_unit_test(log_rewound),
        cmocka_unit_test(tampering),
        cmocka_unit_test(recorded_head),
        cmocka_unit_test(proofs_match_sqlite),
        cmocka_unit_test(retention),
        cmocka_unit_test(retention_tampering),
        cmocka_unit_test(expire_while_appending),
        cmocka_unit_test(async_appends),
        cmocka_unit_test(each_matches_sqlite),
        cmocka_unit_test(each_tampered_columns),
        cmocka_unit_test(migrate_from_2),
        cmocka_unit_test(stats_keys_ground),
        cmocka_unit_test(cosignatures),
    };
    return cmocka_run_group_tests(tests, up, down);
}

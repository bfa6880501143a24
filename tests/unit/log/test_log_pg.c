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
 *   not by a shorter one (rolled back) or one that went on differently (forked). */
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

#include "store/pg/log_pg.h"
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
    ob_pglog *a, *b;
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
    ob_pglog *a, *b;
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
         "UPDATE log_pg_entry SET seq = -1 WHERE seq = 20; UPDATE log_pg_entry SET seq = 20 "
         "WHERE seq = 21; UPDATE log_pg_entry SET seq = 21 WHERE seq = -1"},
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

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(two_servers),   cmocka_unit_test(killed_server),
        cmocka_unit_test(log_rewound),   cmocka_unit_test(tampering),
        cmocka_unit_test(recorded_head),
    };
    return cmocka_run_group_tests(tests, up, down);
}

/* test_stats_store.c - store/stats.h on both backends (issue 18): the statistics' releases,
 * their patient sets, published tables, budgets, retention and the patients' uses, written
 * inside a transaction (as the log's apply callback writes them) and read through a read
 * handle, must give the same answers on a SQLite file and on a throwaway PostgreSQL 15
 * (tests/unit/pg_fixture.h, a Danish-collated database); a refused budget charge leaves
 * nothing; the history's mark moves with every audited release and not with a noisy one;
 * on PostgreSQL the statistics' lock holds a second writer until the first commits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/stats.h"
#include "store/store.h"
#include "unit/pg_fixture.h"
#include "unit/store/both_backends.h"

static ob_store *fresh(int b, char *where, size_t cap)
{
    return fresh_store(b, "ss", where, cap);
}

/* A report of four figures, the second suppressed: sets {1,3,7}, -, {}, {3,9,2^31+5}. */
typedef struct fake {
    ob_stats_table t;
    int64_t value[4];
    uint8_t state[4];
    size_t off[5];
    uint32_t ids[7];
    ob_stats_report r;
} fake;

static void fake_init(fake *f, uint32_t shift)
{
    memset(f, 0, sizeof *f);
    uint32_t ids[7] = {1, 3, 7, 4, 3, 9, 2147483653u};
    for (int i = 0; i < 7; i++)
        f->ids[i] = ids[i] + shift;
    size_t off[5] = {0, 3, 4, 4, 7};
    memcpy(f->off, off, sizeof off);
    f->state[1] = OB_STATS_PRIMARY;
    f->t.n_fig = 4;
    f->t.value = f->value;
    f->t.state = f->state;
    f->r.table = &f->t;
    f->r.set_off = f->off;
    f->r.set_ids = f->ids;
}

typedef struct writes {
    const ob_stats_release_meta *m;
    const ob_stats_report *r;
    int64_t id, mark;
    const char *const *clinics;
    size_t nclinics;
    uint64_t cap, eps;
} writes;

static ob_status write_release(void *ctx, ob_store_tx *tx, ob_err *e)
{
    writes *w = ctx;
    ob_status rc = ob_stats_tx_lock(tx, e);
    if (!rc && w->nclinics)
        rc = ob_stats_tx_charge_clinics(tx, w->clinics, w->nclinics, w->cap, w->eps, e);
    if (!rc)
        rc = ob_stats_tx_record(tx, w->m, w->r, &w->id, e);
    if (!rc)
        rc = ob_stats_tx_record_patients(tx, w->id, w->r, e);
    if (!rc)
        rc = ob_stats_tx_mark(tx, &w->mark, e);
    return rc;
}

/* What a read handle sees, as text. */
typedef struct text {
    char s[8192];
} text;

static void add(text *t, const char *fmt, ...)
{
    size_t l = strlen(t->s);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->s + l, sizeof t->s - l, fmt, ap);
    va_end(ap);
}

static ob_status see_release(void *ctx, const ob_stats_release_row *r, ob_err *e)
{
    (void)e;
    add(ctx, "release %lld %s|%s|%s|%lld|%lld\n", (long long)r->id, r->scope, r->filter, r->mode,
        (long long)r->created, (long long)r->expired);
    return OB_OK;
}

static ob_status see_published(void *ctx, int64_t id, const char *def, const char *pub, ob_err *e)
{
    (void)e;
    add(ctx, "published %lld %s %s\n", (long long)id, def, pub);
    return OB_OK;
}

static ob_status see_use(void *ctx, const ob_stats_use *u, ob_err *e)
{
    (void)e;
    add(ctx, "use %lld %s|%s|%s|%s|%lld|%d|%d\n", (long long)u->release, u->cluster, u->scope,
        u->filter, u->mode, (long long)u->created, u->expired, u->derived);
    return OB_OK;
}

static void see_history(text *t, ob_stats_db *db, const char *cluster, const char *scope)
{
    ob_stats_history h;
    ob_stats_history_init(&h);
    ob_err e = {0};
    assert_int_equal(ob_stats_db_load_history(db, cluster, scope, &h, &e), OB_OK);
    for (size_t i = 0; i < h.n; i++) {
        add(t, "history %s:", h.rec[i].filter);
        for (size_t f = 0; f < h.rec[i].n_fig; f++) {
            add(t, " [");
            for (size_t k = h.rec[i].set_off[f]; k < h.rec[i].set_off[f + 1]; k++)
                add(t, " %u", h.rec[i].set_ids[k]);
            add(t, " ]");
        }
        add(t, "\n");
    }
    ob_stats_history_free(&h);
}

static void see_all(text *t, ob_store *s)
{
    ob_stats_db *db = NULL;
    ob_err e = {0};
    assert_int_equal(ob_stats_db_open(s, &db, &e), OB_OK);
    int64_t n = 0, mark = 0;
    uint64_t spent = 0;
    see_history(t, db, NULL, NULL);
    see_history(t, db, "klynge-ø", "cluster");
    see_history(t, db, "Klynge-a", NULL);
    assert_int_equal(ob_stats_db_each_release(db, "klynge-ø", 500, see_release, t, &e), OB_OK);
    assert_int_equal(ob_stats_db_each_release(db, "klynge-ø", 1, see_release, t, &e), OB_OK);
    assert_int_equal(ob_stats_db_each_published(db, "klynge-ø", see_published, t, &e), OB_OK);
    assert_int_equal(ob_stats_db_count_sets(db, NULL, &n, &e), OB_OK);
    add(t, "sets %lld", (long long)n);
    assert_int_equal(ob_stats_db_count_sets(db, "klynge-ø", &n, &e), OB_OK);
    add(t, " %lld\n", (long long)n);
    assert_int_equal(ob_stats_db_count_expiring(db, "klynge-ø", 150, &n, &e), OB_OK);
    add(t, "expiring %lld\n", (long long)n);
    assert_int_equal(ob_stats_db_spent(db, "klynge-ø", &spent, &e), OB_OK);
    add(t, "spent %llu\n", (unsigned long long)spent);
    assert_int_equal(ob_stats_db_mark(db, &mark, &e), OB_OK);
    add(t, "mark %lld\n", (long long)mark);
    for (uint32_t p = 1; p <= 12; p++)
        assert_int_equal(ob_stats_db_uses(db, p, see_use, t, &e), OB_OK);
    assert_int_equal(ob_stats_db_uses(db, 2147483653u, see_use, t, &e), OB_OK);
    ob_stats_db_close(db);
}

typedef struct expiry {
    const char *cluster;
    ob_time before, now;
    int64_t n;
    uint64_t total, eps;
} expiry;

static ob_status write_expiry(void *ctx, ob_store_tx *tx, ob_err *e)
{
    expiry *x = ctx;
    ob_status rc = ob_stats_tx_lock(tx, e);
    if (!rc && x->total)
        return ob_stats_tx_charge(tx, x->cluster, x->total, x->eps, e);
    return rc ? rc : ob_stats_tx_expire(tx, x->cluster, x->before, x->now, &x->n, e);
}

static void scenario(ob_store *s, text *t)
{
    ob_err e = {0};
    fake a, b;
    fake_init(&a, 0);
    fake_init(&b, 1);
    const char *clinics[2] = {"gp-æ", "gp-b"};
    ob_stats_release_meta m1 = {"klynge-ø", "cluster", 100,         "dr-å",         "code T90, …",
                                "suppress", 0,         "{\"q\":1}", "{\"p\":\"ø\"}"};
    ob_stats_release_meta m2 = {"klynge-ø", "clinic:gp-æ", 200,        NULL, "code E11", "round",
                                0,          "{\"q\":2}",   "{\"p\":2}"};
    ob_stats_release_meta m3 = {"Klynge-a", "cluster", 300,  "operator", "dp",
                                "dp",       1500,      NULL, NULL};
    writes w1 = {&m1, &a.r, 0, 0, NULL, 0, 0, 0}, w2 = {&m2, &b.r, 0, 0, NULL, 0, 0, 0};
    writes w3 = {&m3, NULL, 0, 0, clinics, 2, 3000, 1500};
    assert_int_equal(ob_store_in_tx(s, write_release, &w1, &e), OB_OK);
    assert_int_equal(ob_store_in_tx(s, write_release, &w2, &e), OB_OK);
    add(t, "ids %lld %lld marks %lld %lld\n", (long long)w1.id, (long long)w2.id,
        (long long)w1.mark, (long long)w2.mark);
    /* a noisy release over both clinics: charged twice, refused the third time (nothing) */
    for (int i = 0; i < 3; i++) {
        ob_status rc = ob_store_in_tx(s, write_release, &w3, &e);
        add(t, "dp %d: %d %s mark %lld\n", i, rc, rc ? e.msg : "", (long long)w3.mark);
        ob_err_clear(&e);
    }
    /* the dry run says the same and charges nothing */
    ob_stats_db *db = NULL;
    assert_int_equal(ob_stats_db_open(s, &db, &e), OB_OK);
    assert_int_equal(ob_stats_db_try_charge_clinics(db, clinics, 2, 3000, 1, &e), OB_EDENIED);
    add(t, "dry: %s\n", e.msg);
    assert_int_equal(ob_stats_db_try_charge_clinics(db, clinics + 1, 1, 5000, 1, &e), OB_EDENIED);
    const char *fresh_clinic[1] = {"gp-new"};
    assert_int_equal(ob_stats_db_try_charge_clinics(db, fresh_clinic, 1, 5000, 10, &e), OB_OK);
    ob_stats_db_close(db);
    /* the cluster's own budget (stats schema 1) */
    expiry c1 = {"klynge-ø", 0, 0, 0, 1000, 600};
    assert_int_equal(ob_store_in_tx(s, write_expiry, &c1, &e), OB_OK);
    assert_int_equal(ob_store_in_tx(s, write_expiry, &c1, &e), OB_EDENIED);
    add(t, "charge: %s\n", e.msg);
    see_all(t, s);
    /* retention: the first release's sets go, its row and its uses stay */
    expiry x = {"klynge-ø", 150, 160, -1, 0, 0};
    assert_int_equal(ob_store_in_tx(s, write_expiry, &x, &e), OB_OK);
    add(t, "expired %lld\n", (long long)x.n);
    assert_int_equal(ob_store_in_tx(s, write_expiry, &x, &e), OB_OK);
    add(t, "expired again %lld\n", (long long)x.n);
    see_all(t, s);
}

static void same_on_both(void **state)
{
    (void)state;
    static text got[NBACKENDS];
    for (int b = 0; b < NBACKENDS; b++) {
        char where[512];
        ob_store *s = fresh(b, where, sizeof where);
        memset(&got[b], 0, sizeof got[b]);
        scenario(s, &got[b]);
        ob_store_close(s);
    }
    assert_string_equal(got[PG].s, got[SQLITE].s);
    /* and what it says */
    assert_non_null(strstr(got[SQLITE].s, "ids 1 2 marks 1 2\n"));
    assert_non_null(strstr(got[SQLITE].s, "dp 0: 0  mark 2\ndp 1: 0  mark 2\ndp 2: 6 "));
    assert_non_null(strstr(got[SQLITE].s, "history code T90, …: [ 1 3 7 ] [ ] [ 3 9 "
                                          "2147483653 ]\n"));
    assert_non_null(strstr(got[SQLITE].s, "use 2 klynge-ø|clinic:gp-æ|code E11|round|200|0|0\n"));
    assert_non_null(strstr(got[SQLITE].s, "expired 1\nexpired again 0\n"));
    assert_non_null(strstr(got[SQLITE].s, "use 1 klynge-ø|cluster|code T90, …|suppress|100|1|0\n"));
}

/* Two writers on PostgreSQL: the second one's lock waits for the first's commit, and then
 * sees its release (the mark a release checks inside its transaction). */
typedef struct racer {
    ob_store *s;
    int64_t mark;
    double waited;
} racer;

static ob_status hold_lock(void *ctx, ob_store_tx *tx, ob_err *e)
{
    racer *r = ctx;
    ob_status rc = ob_stats_tx_lock(tx, e);
    fake a;
    fake_init(&a, 0);
    ob_stats_release_meta m = {"k", "cluster", 1, NULL, "f", "suppress", 0, "{}", "{}"};
    int64_t id;
    if (!rc)
        rc = ob_stats_tx_record(tx, &m, &a.r, &id, e);
    usleep(400000); /* the other writer arrives meanwhile */
    (void)r;
    return rc;
}

static ob_status read_after_lock(void *ctx, ob_store_tx *tx, ob_err *e)
{
    racer *r = ctx;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ob_status rc = ob_stats_tx_lock(tx, e);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    r->waited = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    return rc ? rc : ob_stats_tx_mark(tx, &r->mark, e);
}

static void *first_writer(void *arg)
{
    racer *r = arg;
    ob_err e = {0};
    if (ob_store_in_tx(r->s, hold_lock, r, &e))
        fprintf(stderr, "first writer: %s\n", e.msg);
    return NULL;
}

static void lock_serialises(void **state)
{
    (void)state;
    char where[512];
    ob_store *s1 = fresh(PG, where, sizeof where), *s2 = NULL;
    ob_err e = {0};
    assert_int_equal(ob_store_open(where, &s2, &e), OB_OK);
    racer a = {s1, 0, 0}, b = {s2, -1, 0};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, first_writer, &a), 0);
    usleep(100000);
    assert_int_equal(ob_store_in_tx(s2, read_after_lock, &b, &e), OB_OK);
    pthread_join(th, NULL);
    assert_true(b.waited > 0.15); /* held until the first committed */
    assert_int_equal(b.mark, 1);  /* ... whose release it then sees */
    ob_store_close(s1);
    ob_store_close(s2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_on_both),
        cmocka_unit_test(lock_serialises),
    };
    return cmocka_run_group_tests(tests, pg_group_up, pg_group_down);
}

/* test_store.c - store.h on both backends (issue 18: "one test suite, two backends";
 * R-SCALE-1): every scenario runs on a SQLite file and on a throwaway PostgreSQL 15
 * (tests/unit/pg_fixture.h) and must give the same answers: records replayed in order,
 * items in the same order (bytewise, as SQLite compares), a duplicate id refused without a
 * change, settings, counts, transactions that commit all or nothing, reads that never see
 * another connection's open transaction, a callback that stops a read, a read inside a
 * read's callback, reopening, and (PostgreSQL) errors that never print the password. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"
#include "unit/pg_fixture.h"
#include "unit/store/both_backends.h"

static ob_store *fresh(int b, char *where, size_t cap)
{
    return fresh_store(b, "st", where, cap);
}

static ob_item item(const char *id, const char *patient, const char *cat, ob_time t,
                    const char *code, int64_t v)
{
    return (ob_item){.id = id,
                     .patient = patient,
                     .category = cat,
                     .origin = "org-1",
                     .time = t,
                     .source = "src",
                     .code = code,
                     .value = v,
                     .json = "{\"k\":\"æøå\"}"};
}

/* Collects what a read gives, one line per row. */
typedef struct seen {
    char text[4096];
    int n, stop_at;
} seen;

/* One more row seen, as a line of text. */
static void seen_add(seen *s, const char *fmt, ...)
{
    s->n++;
    size_t l = strlen(s->text);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->text + l, sizeof s->text - l, fmt, ap);
    va_end(ap);
}

static ob_status see_item(void *ctx, const ob_item *it, ob_err *e)
{
    seen *s = ctx;
    if (s->stop_at && s->n + 1 == s->stop_at)
        return ob_err_set(e, OB_EINVAL, "stop");
    seen_add(s, "%s|%s|%s|%s|%lld|%s|%s|%lld|%s\n", it->id, it->patient, it->category, it->origin,
             (long long)it->time, it->source, it->code ? it->code : "(null)", (long long)it->value,
             it->json);
    return OB_OK;
}

static ob_status see_record(void *ctx, int64_t seq, const char *type, const char *json, ob_err *e)
{
    (void)e;
    seen *s = ctx;
    static int64_t last;
    if (s->n == 0)
        last = 0;
    assert_true(seq > last); /* in the order they were stored */
    last = seq;
    seen_add(s, "%s %s\n", type, json);
    return OB_OK;
}

static void put_items(ob_store *s)
{
    /* stored out of order; ids and patients that collation would reorder (upper before
     * lower case, UTF-8 after ASCII, as SQLite compares bytes) */
    const ob_item its[] = {
        item("i3", "pb", "diagnosis", 300, "T90", 0),
        item("i1", "pa", "diagnosis", 100, "T90", 0),
        item("I2", "pa", "measurement", 100, NULL, 142),
        item("i4", "Pz", "diagnosis", 50, "K86", 0),
        item("i5", "på", "diagnosis", 10, "T90", 0),
        item("i0", "pa", "diagnosis", 100, "T90", 0),
    };
    ob_err e = {0};
    for (size_t i = 0; i < sizeof its / sizeof its[0]; i++)
        if (ob_store_put_item(s, &its[i], &e))
            fail_msg("put_item: %s", e.msg);
}

/* The reads of store.h give the same rows in the same order on both backends. */
static void items_same_on_both(void **state)
{
    (void)state;
    char got[NBACKENDS][5][4096];
    for (int b = 0; b < NBACKENDS; b++) {
        char where[512];
        ob_store *s = fresh(b, where, sizeof where);
        put_items(s);
        ob_err e = {0};
        seen v[5];
        memset(v, 0, sizeof v);
        assert_int_equal(ob_store_each_item(s, "pa", NULL, see_item, &v[0], &e), OB_OK);
        assert_int_equal(ob_store_each_item(s, NULL, "diagnosis", see_item, &v[1], &e), OB_OK);
        assert_int_equal(ob_store_each_item_with_code(s, "diagnosis", "T90", see_item, &v[2], &e),
                         OB_OK);
        assert_int_equal(ob_store_get_item(s, "I2", see_item, &v[3], &e), OB_OK);
        assert_int_equal(ob_store_get_item(s, "nope", see_item, &v[4], &e), OB_OK);
        for (int k = 0; k < 5; k++)
            memcpy(got[b][k], v[k].text, sizeof got[b][k]);
        assert_int_equal(v[0].n, 3);
        assert_int_equal(v[1].n, 5);
        assert_int_equal(v[2].n, 4);
        assert_int_equal(v[4].n, 0);
        assert_int_equal(ob_store_count(s, "items"), 6);
        assert_int_equal(ob_store_count(s, "records"), 0);
        assert_int_equal(ob_store_count(s, "meta; DROP TABLE items"), -1);
        ob_store_close(s);
    }
    /* the order SQLite gives, written out: patient pa by time then id (bytewise: I2 < i0) */
    assert_string_equal(got[SQLITE][0],
                        "I2|pa|measurement|org-1|100|src|(null)|142|{\"k\":\"æøå\"}\n"
                        "i0|pa|diagnosis|org-1|100|src|T90|0|{\"k\":\"æøå\"}\n"
                        "i1|pa|diagnosis|org-1|100|src|T90|0|{\"k\":\"æøå\"}\n");
    for (int k = 0; k < 5; k++)
        assert_string_equal(got[PG][k], got[SQLITE][k]);
    /* everyone's diagnoses: Pz < pa < pb < på, bytewise */
    assert_true(strstr(got[PG][1], "i4|Pz") == got[PG][1]);
    assert_true(strstr(got[PG][1], "i5|på") > strstr(got[PG][1], "i3|pb"));
}

static void records_in_order(void **state)
{
    (void)state;
    for (int b = 0; b < NBACKENDS; b++) {
        char where[512];
        ob_store *s = fresh(b, where, sizeof where);
        ob_err e = {0};
        const char *types[] = {"organisation", "patient", "block", "patient"};
        for (int i = 0; i < 4; i++) {
            char json[64];
            snprintf(json, sizeof json, "{\"n\":%d,\"t\":\"ø\"}", i);
            assert_int_equal(ob_store_put_record(s, types[i], json, &e), OB_OK);
        }
        seen v = {0};
        assert_int_equal(ob_store_each_record(s, see_record, &v, &e), OB_OK);
        assert_string_equal(v.text, "organisation {\"n\":0,\"t\":\"ø\"}\n"
                                    "patient {\"n\":1,\"t\":\"ø\"}\n"
                                    "block {\"n\":2,\"t\":\"ø\"}\n"
                                    "patient {\"n\":3,\"t\":\"ø\"}\n");
        int version = ob_store_schema_version(s);
        assert_true(version >= 1);
        ob_store_close(s);
        /* reopened: the same records, the same schema, nothing migrated twice */
        assert_int_equal(ob_store_open(where, &s, &e), OB_OK);
        assert_int_equal(ob_store_schema_version(s), version);
        seen w = {0};
        assert_int_equal(ob_store_each_record(s, see_record, &w, &e), OB_OK);
        assert_string_equal(w.text, v.text);
        ob_store_close(s);
    }
}

/* Bad input gets a clear error and changes nothing. */
static void duplicate_refused(void **state)
{
    (void)state;
    for (int b = 0; b < NBACKENDS; b++) {
        char where[512];
        ob_store *s = fresh(b, where, sizeof where);
        put_items(s);
        ob_err e = {0};
        ob_item dup = item("i1", "pz", "diagnosis", 1, NULL, 0);
        assert_int_equal(ob_store_put_item(s, &dup, &e), OB_EINVAL);
        assert_non_null(strstr(e.msg, "id already exists"));
        assert_int_equal(ob_store_count(s, "items"), 6);
        seen v = {0};
        assert_int_equal(ob_store_get_item(s, "i1", see_item, &v, &e), OB_OK);
        assert_non_null(strstr(v.text, "i1|pa|")); /* the first one, unchanged */
        ob_store_close(s);
    }
}

static void settings(void **state)
{
    (void)state;
    for (int b = 0; b < NBACKENDS; b++) {
        char where[512], buf[16];
        ob_store *s = fresh(b, where, sizeof where);
        ob_err e = {0};
        assert_int_equal(ob_store_meta_get(s, "installation", buf, sizeof buf, &e), OB_ENOTFOUND);
        assert_int_equal(ob_store_meta_set(s, "installation", "abc", &e), OB_OK);
        assert_int_equal(ob_store_meta_get(s, "installation", buf, sizeof buf, &e), OB_OK);
        assert_string_equal(buf, "abc");
        assert_int_equal(ob_store_meta_set(s, "installation", "def", &e), OB_OK);
        assert_int_equal(ob_store_meta_get(s, "installation", buf, sizeof buf, &e), OB_OK);
        assert_string_equal(buf, "def");
        assert_int_equal(ob_store_meta_set(s, "long", "0123456789abcdefghij", &e), OB_OK);
        assert_int_equal(ob_store_meta_get(s, "long", buf, sizeof buf, &e), OB_ELIMIT);
        ob_store_close(s);
    }
}

/* A transaction commits all or nothing, and a read (its own connection) never sees a
 * transaction still open. */
static void transactions(void **state)
{
    (void)state;
    for (int b = 0; b < NBACKENDS; b++) {
        char where[512];
        ob_store *s = fresh(b, where, sizeof where);
        ob_err e = {0};
        assert_int_equal(ob_store_begin(s, &e), OB_OK);
        assert_int_equal(ob_store_put_record(s, "patient", "{}", &e), OB_OK);
        ob_item a = item("a", "pa", "diagnosis", 1, NULL, 0);
        assert_int_equal(ob_store_put_item(s, &a, &e), OB_OK);
        assert_int_equal(ob_store_count(s, "records"), 0); /* not yet committed */
        ob_store_rollback(s);
        assert_int_equal(ob_store_count(s, "records"), 0);
        assert_int_equal(ob_store_count(s, "items"), 0);
        assert_int_equal(ob_store_begin(s, &e), OB_OK);
        assert_int_equal(ob_store_put_record(s, "patient", "{}", &e), OB_OK);
        assert_int_equal(ob_store_put_item(s, &a, &e), OB_OK);
        assert_int_equal(ob_store_commit(s, &e), OB_OK);
        assert_int_equal(ob_store_count(s, "records"), 1);
        assert_int_equal(ob_store_count(s, "items"), 1);
        /* an error inside a transaction: rolled back, nothing of it stays */
        assert_int_equal(ob_store_begin(s, &e), OB_OK);
        ob_item c = item("c", "pa", "diagnosis", 1, NULL, 0);
        assert_int_equal(ob_store_put_item(s, &c, &e), OB_OK);
        assert_int_equal(ob_store_put_item(s, &a, &e), OB_EINVAL);
        ob_store_rollback(s);
        assert_int_equal(ob_store_count(s, "items"), 1);
        ob_store_close(s);
    }
}

typedef struct nested {
    ob_store *s;
    int outer, inner;
} nested;

static ob_status count_inner(void *ctx, const ob_item *it, ob_err *e)
{
    (void)e;
    (void)it;
    ((nested *)ctx)->inner++;
    return OB_OK;
}

static ob_status read_inside(void *ctx, const ob_item *it, ob_err *e)
{
    nested *n = ctx;
    n->outer++;
    return ob_store_each_item(n->s, it->patient, NULL, count_inner, n, e);
}

/* A callback's error stops the read and comes back; the store goes on working; a read
 * inside a read's callback works (a reader each). */
static void callbacks(void **state)
{
    (void)state;
    for (int b = 0; b < NBACKENDS; b++) {
        char where[512];
        ob_store *s = fresh(b, where, sizeof where);
        put_items(s);
        ob_err e = {0};
        seen v = {.stop_at = 2};
        assert_int_equal(ob_store_each_item(s, NULL, NULL, see_item, &v, &e), OB_EINVAL);
        assert_string_equal(e.msg, "stop");
        assert_int_equal(v.n, 1);
        nested n = {s, 0, 0};
        assert_int_equal(ob_store_each_item(s, NULL, NULL, read_inside, &n, &e), OB_OK);
        assert_int_equal(n.outer, 6);
        assert_int_equal(n.inner, 3 * 3 + 1 + 1 + 1); /* pa has 3 items, the others one */
        assert_int_equal(ob_store_count(s, "items"), 6);
        ob_store_close(s);
    }
}

static ob_status see_apt(void *ctx, const ob_apt *a, ob_err *e)
{
    (void)e;
    seen *s = ctx;
    seen_add(s, "%lld|%s|%s|%s|%s|%lld|%lld|%d|%s|%s|%s|%d|%lld|%lld\n", (long long)a->id,
             a->source, a->system, a->value, a->patient, (long long)a->start, (long long)a->end,
             a->fictive_end, a->address ? a->address : "(null)", a->clinic, a->status, a->shared,
             (long long)a->version, (long long)a->updated);
    return OB_OK;
}

static ob_apt apt(const char *source, const char *value, const char *patient, ob_time start)
{
    return (ob_apt){.source = source,
                    .system = "urn:booking",
                    .value = value,
                    .patient = patient,
                    .start = start,
                    .end = start + 3600,
                    .fictive_end = true,
                    .shared = true,
                    .address = NULL,
                    .clinic = "gp-a",
                    .status = "booked",
                    .updated = 7};
}

/* The appointment overview (R-APT-1..5) on both backends: an identifier is scoped to its
 * source (R-APT-1), a second push of the same key updates the row (version + 1), a
 * patient's appointments come back by start then id, flags and a missing address round
 * trip; the same rows on both. */
static void appointments(void **state)
{
    (void)state;
    char got[NBACKENDS][4][4096];
    for (int b = 0; b < NBACKENDS; b++) {
        char where[512];
        ob_store *s = fresh(b, where, sizeof where);
        ob_err e = {0};
        bool created = false;
        ob_apt a1 = apt("src-a", "A-1", "pa", 5000);
        assert_int_equal(ob_store_apt_upsert(s, &a1, &created, &e), OB_OK);
        assert_true(created);
        assert_int_equal(a1.version, 1);
        ob_apt a2 = apt("src-a", "A-2", "pa", 1000);
        a2.address = "Torvet 1, Kolding";
        a2.fictive_end = false;
        assert_int_equal(ob_store_apt_upsert(s, &a2, &created, &e), OB_OK);
        /* another source's appointment with the same identifier is another appointment */
        ob_apt b1 = apt("src-b", "A-1", "pb", 5000);
        assert_int_equal(ob_store_apt_upsert(s, &b1, &created, &e), OB_OK);
        assert_true(created);
        assert_true(b1.id != a1.id);
        /* the same key again: an update of a1, moved and cancelled, not shared */
        ob_apt a1b = apt("src-a", "A-1", "pa", 500);
        a1b.status = "cancelled";
        a1b.shared = false;
        a1b.updated = 9;
        assert_int_equal(ob_store_apt_upsert(s, &a1b, &created, &e), OB_OK);
        assert_false(created);
        assert_int_equal(a1b.id, a1.id);
        assert_int_equal(a1b.version, 2);
        seen v[4];
        memset(v, 0, sizeof v);
        assert_int_equal(ob_store_apt_each_patient(s, "pa", see_apt, &v[0], &e), OB_OK);
        assert_int_equal(ob_store_apt_get(s, b1.id, see_apt, &v[1], &e), OB_OK);
        assert_int_equal(
            ob_store_apt_find_key(s, "src-a", "urn:booking", "A-2", see_apt, &v[2], &e), OB_OK);
        assert_int_equal(
            ob_store_apt_find_key(s, "src-b", "urn:booking", "A-2", see_apt, &v[3], &e), OB_OK);
        assert_int_equal(v[0].n, 2);
        assert_int_equal(v[1].n, 1);
        assert_int_equal(v[2].n, 1);
        assert_int_equal(v[3].n, 0); /* src-b cannot reach src-a's A-2 */
        for (int k = 0; k < 4; k++)
            memcpy(got[b][k], v[k].text, sizeof got[b][k]);
        ob_store_close(s);
    }
    /* by start: the moved a1 (500) before a2 (1000) */
    assert_string_equal(
        got[SQLITE][0],
        "1|src-a|urn:booking|A-1|pa|500|4100|1|(null)|gp-a|cancelled|0|2|9\n"
        "2|src-a|urn:booking|A-2|pa|1000|4600|0|Torvet 1, Kolding|gp-a|booked|1|1|7\n");
    for (int k = 0; k < 4; k++) {
        /* row ids may differ (a PostgreSQL identity skips a value on an update): compare
         * without the leading id */
        const char *x = strchr(got[SQLITE][k], '|'), *y = strchr(got[PG][k], '|');
        if (!x || !y)
            assert_string_equal(got[PG][k], got[SQLITE][k]);
        else
            assert_string_equal(y, x);
    }
}

/* What a change's transaction writes (store.h's ob_tx_*, as the hub's changes, a source's
 * items and appointments do inside the log's transaction): the same rows on both. */
typedef struct tx_case {
    int fail_at; /* 0: all succeed; n: the n-th step returns an error (nothing may stay) */
    ob_item_key k;
    int64_t apt_version;
} tx_case;

static ob_status tx_steps(void *ctx, ob_store_tx *tx, ob_err *e)
{
    tx_case *c = ctx;
    int step = 0;
#define STEP(call)                                                                                 \
    do {                                                                                           \
        ob_status rc_ = (call);                                                                    \
        if (rc_)                                                                                   \
            return rc_;                                                                            \
        if (++step == c->fail_at)                                                                  \
            return ob_err_set(e, OB_EINVAL, "refused at step %d", step);                           \
    } while (0)
    STEP(ob_tx_put_record(tx, "block", "{\"patient\":\"pa\"}", e));
    ob_item it = item("x1", "pa", "diagnosis", 10, "T90", 0);
    STEP(ob_tx_put_item(tx, &it, e));
    ob_apt a = apt("src-a", "T-1", "pa", 900);
    bool created = false;
    STEP(ob_tx_apt_upsert(tx, &a, &created, e));
    assert_true(created);
    a.status = "cancelled";
    STEP(ob_tx_apt_upsert(tx, &a, &created, e)); /* the row this transaction wrote */
    assert_false(created);
    c->apt_version = a.version;
    bool found = true;
    STEP(ob_tx_item_key_find(tx, "src-a", "urn:x", "K-1", &c->k, &found, e));
    assert_false(found);
    snprintf(c->k.category, sizeof c->k.category, "medication");
    snprintf(c->k.patient, sizeof c->k.patient, "pa");
    c->k.version = 1;
    STEP(ob_tx_item_key_put(tx, "src-a", "urn:x", "K-1", &c->k, 5, e));
    assert_true(c->k.n > 0);
    ob_item_key k2;
    STEP(ob_tx_item_key_find(tx, "src-a", "urn:x", "K-1", &k2, &found, e));
    assert_true(found);
    assert_int_equal(k2.n, c->k.n);
    k2.version = 2;
    k2.withdrawn = true;
    STEP(ob_tx_item_key_put(tx, "src-a", "urn:x", "K-1", &k2, 6, e));
    ob_item s1 = item("src-1", "pa", "medication", 20, NULL, 0);
    STEP(ob_tx_item_row_replace(tx, &s1, e));
    s1.time = 30;
    s1.json = "{\"v\":2}";
    STEP(ob_tx_item_row_replace(tx, &s1, e)); /* replaced, not a second row */
    STEP(ob_tx_item_row_delete(tx, "x1", e));
    STEP(ob_tx_item_row_delete(tx, "none", e)); /* nothing to delete: no error */
    STEP(ob_tx_source_touch(tx, "src-a", 100, e));
    STEP(ob_tx_source_touch(tx, "src-a", 50, e));
#undef STEP
    return OB_OK;
}

static void tx_writes(void **state)
{
    (void)state;
    char got[NBACKENDS][2][4096];
    for (int b = 0; b < NBACKENDS; b++) {
        char where[512];
        ob_store *s = fresh(b, where, sizeof where);
        ob_err e = {0};
        /* refused at every step in turn: nothing of it stays */
        for (int at = 1; at <= 14; at++) {
            tx_case c = {.fail_at = at};
            assert_int_equal(ob_store_in_tx(s, tx_steps, &c, &e), OB_EINVAL);
            assert_int_equal(ob_store_count(s, "records"), 0);
            assert_int_equal(ob_store_count(s, "items"), 0);
            seen none = {0};
            assert_int_equal(ob_store_apt_each_patient(s, "pa", see_apt, &none, &e), OB_OK);
            assert_int_equal(none.n, 0);
        }
        tx_case c = {0};
        if (ob_store_in_tx(s, tx_steps, &c, &e))
            fail_msg("%s: %s", backend_name[b], e.msg);
        assert_int_equal(c.apt_version, 2);
        assert_int_equal(ob_store_count(s, "records"), 1);
        seen v[2];
        memset(v, 0, sizeof v);
        assert_int_equal(ob_store_each_item(s, "pa", NULL, see_item, &v[0], &e), OB_OK);
        assert_int_equal(ob_store_apt_each_patient(s, "pa", see_apt, &v[1], &e), OB_OK);
        assert_int_equal(v[0].n, 1); /* x1 deleted, src-1 once */
        assert_int_equal(v[1].n, 1);
        for (int k = 0; k < 2; k++)
            memcpy(got[b][k], v[k].text, sizeof got[b][k]);
        ob_store_close(s);
    }
    assert_string_equal(got[SQLITE][0], "src-1|pa|medication|org-1|30|src|(null)|0|{\"v\":2}\n");
    assert_string_equal(got[PG][0], got[SQLITE][0]);
    assert_string_equal(strchr(got[PG][1], '|'), strchr(got[SQLITE][1], '|'));
}

static ob_status see_state(void *ctx, const char *client, ob_time last_update, ob_time since,
                           const char *reason, ob_err *e)
{
    (void)e;
    seen *s = ctx;
    seen_add(s, "%s %lld %lld %s\n", client, (long long)last_update, (long long)since,
             reason ? reason : "(null)");
    return OB_OK;
}

static ob_status see_system(void *ctx, const char *system, const char *source, ob_err *e)
{
    (void)e;
    seen *s = ctx;
    seen_add(s, "%s %s\n", system, source);
    return OB_OK;
}

/* The sources' state (R-SRC-2) and the identifier systems in use (R-SRC-1), after the
 * writes of tx_steps: the same on both. */
static void sources(void **state)
{
    (void)state;
    char got[NBACKENDS][2][4096];
    for (int b = 0; b < NBACKENDS; b++) {
        char where[512];
        ob_store *s = fresh(b, where, sizeof where);
        ob_err e = {0};
        tx_case c = {0};
        assert_int_equal(ob_store_in_tx(s, tx_steps, &c, &e), OB_OK);
        assert_int_equal(ob_store_source_declare(s, "src-b", 77, "down for maintenance", &e),
                         OB_OK);
        assert_int_equal(ob_store_source_declare(s, "src-a", 88, "late", &e), OB_OK);
        assert_int_equal(ob_store_source_declare(s, "src-a", 0, "ignored: resumed", &e), OB_OK);
        seen v[2];
        memset(v, 0, sizeof v);
        assert_int_equal(ob_store_source_state_each(s, see_state, &v[0], &e), OB_OK);
        assert_int_equal(ob_store_each_id_system(s, see_system, &v[1], &e), OB_OK);
        for (int k = 0; k < 2; k++)
            memcpy(got[b][k], v[k].text, sizeof got[b][k]);
        ob_store_close(s);
    }
    /* the latest delivery kept (100, not the later-written 50); resumed: no reason */
    assert_string_equal(got[SQLITE][0], "src-a 100 0 (null)\nsrc-b 0 77 down for maintenance\n");
    assert_string_equal(got[PG][0], got[SQLITE][0]);
    assert_non_null(strstr(got[SQLITE][1], "urn:booking src-a\n"));
    assert_non_null(strstr(got[SQLITE][1], "urn:x src-a\n"));
    assert_int_equal(strlen(got[PG][1]), strlen(got[SQLITE][1])); /* a set: order aside */
    assert_non_null(strstr(got[PG][1], "urn:booking src-a\n"));
    assert_non_null(strstr(got[PG][1], "urn:x src-a\n"));
}

/* A COMMIT reports success only when the writes it acknowledged are there: on PostgreSQL a
 * failed statement dooms the transaction and COMMIT answers "ROLLBACK" with a success
 * status (read alone, the store would report a commit that did not happen). */
static void commit_after_error(void **state)
{
    (void)state;
    for (int b = 0; b < NBACKENDS; b++) {
        char where[512];
        ob_store *s = fresh(b, where, sizeof where);
        ob_err e = {0};
        ob_item a = item("a", "pa", "diagnosis", 1, NULL, 0);
        assert_int_equal(ob_store_put_item(s, &a, &e), OB_OK);
        assert_int_equal(ob_store_begin(s, &e), OB_OK);
        assert_int_equal(ob_store_put_record(s, "patient", "{}", &e), OB_OK);
        assert_int_equal(ob_store_put_item(s, &a, &e), OB_EINVAL);
        ob_status rc = ob_store_commit(s, &e);
        if (rc != OB_OK)
            ob_store_rollback(s);
        /* success means the record is there; a failure that it is not */
        assert_int_equal(ob_store_count(s, "records"), rc == OB_OK ? 1 : 0);
        ob_store_close(s);
    }
}

/* Errors name the database without user or password (the URI may carry them). */
static void no_password_in_errors(void **state)
{
    (void)state;
    char uri[512], host[160] = "", port[16] = "";
    assert_int_equal(sscanf(pg_base, "host=%159s port=%15s", host, port), 2);
    snprintf(uri, sizeof uri,
             "postgresql://postgres:hunter2secret@/nosuchdb?host=%s&port=%s&connect_timeout=5",
             host, port);
    ob_store *s = NULL;
    ob_err e = {0};
    assert_int_not_equal(ob_store_open(uri, &s, &e), OB_OK);
    assert_null(s);
    assert_null(strstr(e.msg, "hunter2secret"));
    assert_non_null(strstr(e.msg, "nosuchdb"));
    char where[512];
    s = fresh(PG, where, sizeof where);
    assert_null(strstr(ob_store_path(s), "postgres@"));
    assert_non_null(strstr(ob_store_path(s), "postgresql://"));
    ob_store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(items_same_on_both),    cmocka_unit_test(records_in_order),
        cmocka_unit_test(duplicate_refused),     cmocka_unit_test(settings),
        cmocka_unit_test(transactions),          cmocka_unit_test(callbacks),
        cmocka_unit_test(appointments),          cmocka_unit_test(tx_writes),
        cmocka_unit_test(commit_after_error),    cmocka_unit_test(sources),
        cmocka_unit_test(no_password_in_errors),
    };
    return cmocka_run_group_tests(tests, pg_group_up, pg_group_down);
}

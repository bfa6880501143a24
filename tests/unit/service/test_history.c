/* test_history.c - blocks and consents that ended leave the engine's arrays (issue 24).
 * A citizen who creates and lifts a block (records and revokes a consent) well past the
 * 16-bit count the arrays once had can still create one more; the patient's arrays hold
 * the active ones only, at most OB_MAX_ACTIVE_GRANTS, and a creation past the cap is
 * refused with a conflict naming it and changes nothing; the whole history stays readable
 * in the paged Consent list and after a replay of the store; a lift that cannot be stored
 * is undone. Real SQLite and the real hub. docs/security.md, T-CONC-4. */
#include "unit/api/api_fixture.h"

#include <sqlite3.h>

#include "model/index.h"

#define BLOCK_ID0   1000000ull
#define CONSENT_ID0 5000000ull

/* OB_TEST_SCALE=n runs 1/n of the cycles (scripts/valgrind.sh uses 20); the release run
 * goes past 65,535, where the arrays' 16-bit counts ended. */
static size_t cycles(void)
{
    const char *s = getenv("OB_TEST_SCALE");
    unsigned long n = s ? strtoul(s, NULL, 10) : 1;
    return 66000 / (n ? n : 1);
}

/* Writes the import lines on the fly: for each cycle a block and its lift, then a
 * consent and its revocation, all by anna herself (no "by": the patient). */
typedef struct gen {
    size_t n, i;
    bool lift; /* false: only create (for the cap) */
} gen;

static json_t *gen_next(void *ctx, size_t *line, ob_err *e)
{
    (void)e;
    gen *g = ctx;
    size_t per = g->lift ? 4 : 1;
    if (g->i >= g->n * per)
        return NULL;
    *line = g->i + 1;
    size_t k = g->i / per, step = g->i % per;
    g->i++;
    switch (step) {
    case 0:
        return json_pack("{s:s, s:s, s:s, s:s, s:I}", "type", "block", "patient", "anna", "kind",
                         "site", "target", "hosp-psyk", "id", (json_int_t)(BLOCK_ID0 + k));
    case 1:
        return json_pack("{s:s, s:s, s:I}", "type", "block_lift", "patient", "anna", "block",
                         (json_int_t)(BLOCK_ID0 + k));
    case 2:
        return json_pack("{s:s, s:s, s:s, s:{s:s}, s:[s], s:s, s:s, s:s, s:I}", "type", "consent",
                         "patient", "anna", "kind", "sharing", "recipient", "org", "hosp-med",
                         "categories", "appointment", "from", "2020-01-01", "to", "2040-01-01",
                         "text", "I share my appointments with the hospital", "id",
                         (json_int_t)(CONSENT_ID0 + k));
    default:
        return json_pack("{s:s, s:s, s:I}", "type", "consent_revoke", "patient", "anna", "consent",
                         (json_int_t)(CONSENT_ID0 + k));
    }
}

static void import_gen(af *f, size_t n, bool lift)
{
    gen g = {n, 0, lift};
    ob_err e = {0};
    size_t count;
    if (ob_hub_import(f->h, gen_next, &g, NULL, NULL, &count, &e) != OB_OK)
        fail_msg("import failed: %s", e.msg);
}

static ob_status try_change(af *f, const char *record, ob_err *e)
{
    json_error_t je;
    json_t *o = json_loads(record, 0, &je);
    assert_non_null(o);
    ob_log_entry actor;
    memset(&actor, 0, sizeof actor);
    actor.actor_id = "test";
    actor.actor_role = "citizen";
    uint64_t seq, assigned;
    ob_status rc = ob_hub_change(f->h, o, &actor, &seq, &assigned, e);
    json_decref(o);
    return rc;
}

static const ob_patient *anna(af *f)
{
    uint32_t p = ob_index_find_patient(f->h->ix, "anna");
    assert_int_not_equal(p, OB_NONE);
    return &f->h->ix->patients[p];
}

#define NEW_BLOCK                                                                                  \
    "{\"type\":\"block\",\"patient\":\"anna\",\"kind\":\"site\",\"target\":\"hosp-psyk\"}"
#define NEW_CONSENT                                                                                \
    "{\"type\":\"consent\",\"patient\":\"anna\",\"kind\":\"sharing\",\"recipient\":{\"org\":"      \
    "\"hosp-med\"},\"categories\":[\"appointment\"],\"from\":\"2020-01-01\",\"to\":"               \
    "\"2040-01-01\",\"text\":\"I share my appointments with the hospital\"}"

/* Reads anna's whole Consent list page by page as anna; returns the entries seen and
 * counts the inactive ones. */
static size_t list_all(af *f, size_t *inactive, json_int_t *total)
{
    ob_caller me = af_citizen(f, "anna", NULL);
    size_t seen = 0;
    *inactive = 0;
    *total = -1;
    for (size_t off = 0;; off += 500) {
        char offset[48];
        snprintf(offset, sizeof offset, "_offset=%zu", off);
        const char *params[] = {"patient=Patient/anna", "_count=500", offset, NULL};
        ob_api_response r;
        af_call(f, &me, "GET", "/Consent", params, NULL, &r);
        assert_int_equal(r.status, 200);
        *total = af_total(&r);
        json_t *entry = json_object_get(r.body, "entry");
        size_t n = json_array_size(entry);
        for (size_t i = 0; i < n; i++) {
            json_t *res = json_object_get(json_array_get(entry, i), "resource");
            const char *st = json_string_value(json_object_get(res, "status"));
            if (st && strcmp(st, "inactive") == 0)
                (*inactive)++;
        }
        seen += n;
        ob_api_response_release(&r);
        if (n < 500)
            return seen;
    }
}

static void create_and_lift_past_16_bits(void **state)
{
    (void)state;
    af f;
    af_open(&f, "history");
    size_t n = cycles();
    import_gen(&f, n, true);
    const ob_patient *p = anna(&f);
    assert_int_equal(p->nblocks, 0);
    assert_int_equal(p->nconsents, 0);
    assert_int_equal(p->nold_blocks, n);
    assert_int_equal(p->nold_consents, n);

    /* one more of each, live: was a 503 for ever on the old code */
    ob_err e = {0};
    if (try_change(&f, NEW_BLOCK, &e) || try_change(&f, NEW_CONSENT, &e))
        fail_msg("creation after %zu create-and-lift cycles: %s", n, e.msg);
    p = anna(&f);
    assert_int_equal(p->nblocks, 1);
    assert_int_equal(p->nconsents, 1);
    assert_true(p->capblocks <= 2 && p->capconsents <= 2); /* memory of the hot arrays */

    /* the whole history, paged */
    size_t inactive;
    json_int_t total;
    size_t seen = list_all(&f, &inactive, &total);
    assert_int_equal(seen, 2 * n + 2);
    assert_int_equal(total, (json_int_t)(2 * n + 2));
    assert_int_equal(inactive, 2 * n);

    /* a lifted id is told from an unknown one, and the read finds it in the history */
    char lift[128];
    snprintf(lift, sizeof lift, "{\"type\":\"block_lift\",\"patient\":\"anna\",\"block\":%llu}",
             (unsigned long long)BLOCK_ID0);
    assert_int_equal(try_change(&f, lift, &e), OB_ECONFLICT);
    snprintf(lift, sizeof lift, "{\"type\":\"block_lift\",\"patient\":\"anna\",\"block\":%llu}",
             (unsigned long long)(BLOCK_ID0 + 10 * n));
    assert_int_equal(try_change(&f, lift, &e), OB_ENOTFOUND);
    ob_caller me = af_citizen(&f, "anna", NULL);
    char path[64];
    snprintf(path, sizeof path, "/Consent/block-%llu", (unsigned long long)BLOCK_ID0);
    ob_api_response r;
    af_call(&f, &me, "GET", path, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(json_object_get(r.body, "status")), "inactive");
    ob_api_response_release(&r);

    /* a replay of the store ends with the active ones only, the history beside them */
    ob_hub_close(f.h);
    ob_hub_options o = {.db_path = f.db};
    if (ob_hub_open(&o, &f.h, &e))
        fail_msg("reopen: %s", e.msg);
    p = anna(&f);
    assert_int_equal(p->nblocks, 1);
    assert_int_equal(p->nconsents, 1);
    assert_int_equal(p->nold_blocks, n);
    assert_int_equal(p->nold_consents, n);
    af_close(&f);
}

/* The (cap+1)th active block (consent) is a conflict that names the cap and changes
 * nothing; lifting one makes room. */
static void active_ones_are_capped(void **state)
{
    (void)state;
    af f;
    af_open(&f, "cap");
    import_gen(&f, OB_MAX_ACTIVE_GRANTS, false);
    const ob_patient *p = anna(&f);
    assert_int_equal(p->nblocks, OB_MAX_ACTIVE_GRANTS);
    char cap[16];
    snprintf(cap, sizeof cap, "%d", OB_MAX_ACTIVE_GRANTS);
    af_log_count before = af_log(&f, "anna", NULL);
    ob_err e = {0};
    assert_int_equal(try_change(&f, NEW_BLOCK, &e), OB_ECONFLICT);
    assert_non_null(strstr(e.msg, cap));
    p = anna(&f);
    assert_int_equal(p->nblocks, OB_MAX_ACTIVE_GRANTS);
    assert_int_equal(p->nold_blocks, 0);
    af_log_count after = af_log(&f, "anna", NULL);
    assert_int_equal(after.n, before.n); /* nothing stored, nothing logged */
    char lift[128];
    snprintf(lift, sizeof lift, "{\"type\":\"block_lift\",\"patient\":\"anna\",\"block\":%llu}",
             (unsigned long long)BLOCK_ID0);
    assert_int_equal(try_change(&f, lift, &e), OB_OK);
    assert_int_equal(try_change(&f, NEW_BLOCK, &e), OB_OK);
    assert_int_equal(anna(&f)->nblocks, OB_MAX_ACTIVE_GRANTS);
    af_close(&f);
}

static void exec_sql(af *f, const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 10000);
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
    sqlite3_close(db);
}

/* A lift (revocation) that cannot be stored is undone: the entry is active again, in
 * the engine's array, and out of the history. */
static void failed_lift_is_undone(void **state)
{
    (void)state;
    af f;
    af_open(&f, "undo");
    import_gen(&f, 2, false);
    exec_sql(&f, "CREATE TRIGGER no_lift BEFORE INSERT ON records WHEN NEW.type IN "
                 "('block_lift','consent_revoke') BEGIN SELECT RAISE(ABORT, 'the disk said no'); "
                 "END;");
    char lift[128];
    snprintf(lift, sizeof lift, "{\"type\":\"block_lift\",\"patient\":\"anna\",\"block\":%llu}",
             (unsigned long long)BLOCK_ID0);
    ob_err e = {0};
    assert_int_not_equal(try_change(&f, lift, &e), OB_OK);
    const ob_patient *p = anna(&f);
    assert_int_equal(p->nblocks, 2);
    assert_int_equal(p->nold_blocks, 0);
    assert_non_null(
        ob_index_find_block(f.h->ix, ob_index_find_patient(f.h->ix, "anna"), BLOCK_ID0));
    for (uint16_t i = 0; i < p->nblocks; i++)
        assert_true(p->blocks[i].active);
    af_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(create_and_lift_past_16_bits),
        cmocka_unit_test(active_ones_are_capped),
        cmocka_unit_test(failed_lift_is_undone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

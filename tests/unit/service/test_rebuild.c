/* test_rebuild.c - a change whose storage fails and that cannot be undone in place
 * (src/service/hub.c): the index is rebuilt from the store aside and swapped in, the one it
 * replaces stays alive for the readers that still hold its strings, and when the rebuild
 * fails too the hub stops answering (fail closed) and says why. Storage is made to fail
 * with a real SQLite trigger on the records table. docs/security.md, T-CONC-5. */
#include "unit/api/api_fixture.h"

#include <sqlite3.h>

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

static ob_status try_change(af *f, const char *record, ob_err *e)
{
    json_error_t je;
    json_t *o = json_loads(record, 0, &je);
    assert_non_null(o);
    ob_log_entry actor;
    memset(&actor, 0, sizeof actor);
    actor.actor_id = "test";
    actor.actor_role = "operator";
    uint64_t seq, assigned;
    ob_status rc = ob_hub_change(f->h, o, &actor, &seq, &assigned, e);
    json_decref(o);
    return rc;
}

/* A relationship: not one of the kinds undo() reverses in place, so a failed store
 * rebuilds the index. It would give gp-2 (gp2-dr) a treatment relationship with anna. */
#define REL_GP2_ANNA                                                                               \
    "{\"type\":\"relationship\",\"patient\":\"anna\",\"org\":\"gp-2\",\"kind\":\"treatment\","     \
    "\"from\":\"2020-01-01\"}"
#define NO_RELATIONSHIPS                                                                           \
    "CREATE TRIGGER no_rel BEFORE INSERT ON records WHEN NEW.type = 'relationship' "               \
    "BEGIN SELECT RAISE(ABORT, 'the disk said no'); END;"

static const char *const P_ANNA[] = {"patient=Patient/anna", NULL};

static int gp2_sees_anna(af *f)
{
    ob_caller gp2 = af_pro(f, "gp2-dr", "gp-2", NULL);
    ob_api_response r;
    af_call(f, &gp2, "GET", "/Appointment", P_ANNA, NULL, &r);
    int status = r.status;
    json_int_t n = status == 200 ? af_total(&r) : -1;
    ob_api_response_release(&r);
    return status == 200 ? (int)n : -status;
}

/* The rebuild keeps the strings a reader borrowed (as ob_hub_decide does after it lets
 * go of the lock) alive, and the failed change is not in force. */
static void undo_by_rebuild_keeps_borrowed_strings(void **state)
{
    (void)state;
    af f;
    af_open(&f, "rebuild-keep");
    af_load_anna_items(&f);
    pthread_rwlock_rdlock(&f.h->lock);
    uint32_t anna = ob_index_find_patient(f.h->ix, "anna");
    const char *name = f.h->ix->patients[anna].name, *ext = f.h->ix->patients[anna].ext_id;
    pthread_rwlock_unlock(&f.h->lock);
    assert_int_equal(gp2_sees_anna(&f), 0);
    exec_sql(&f, NO_RELATIONSHIPS);
    ob_err e = {0};
    assert_int_not_equal(try_change(&f, REL_GP2_ANNA, &e), OB_OK);
    if (!strstr(e.msg, "storing a record")) /* the store's reason, not the rebuild's */
        fail_msg("%s", e.msg);
    /* a reader still holding the old index's strings reads them intact */
    assert_string_equal(name, "Anna Andersen");
    assert_string_equal(ext, "anna");
    assert_false(ob_hub_stopped(f.h, NULL, 0));
    assert_int_equal(gp2_sees_anna(&f), 0); /* the change did not take effect */
    /* and the hub goes on: a later change stores and takes effect */
    exec_sql(&f, "DROP TRIGGER no_rel;");
    assert_int_equal(try_change(&f, REL_GP2_ANNA, &e), OB_OK);
    assert_int_equal(gp2_sees_anna(&f), 2);
    af_close(&f);
}

/* The store fails, and so does the rebuild (a stored record no longer reads): the index
 * may hold a change the store does not, so the hub stops: no decision, read or change,
 * each refused with the reason; nothing is shown under the unstored change. */
static void failed_rebuild_stops_the_hub(void **state)
{
    (void)state;
    af f;
    af_open(&f, "rebuild-stop");
    af_load_anna_items(&f);
    exec_sql(&f, NO_RELATIONSHIPS);
    exec_sql(&f, "INSERT INTO records(type, json) VALUES('org', '{not json');");
    ob_err e = {0};
    assert_int_not_equal(try_change(&f, REL_GP2_ANNA, &e), OB_OK);
    char why[512];
    if (!ob_hub_stopped(f.h, why, sizeof why))
        fail_msg("the rebuild failed and the hub goes on answering");
    assert_non_null(strstr(why, "could not be rebuilt"));
    assert_int_equal(gp2_sees_anna(&f), -503); /* fail closed, never the unstored grant */
    ob_caller anna = af_citizen(&f, "anna", NULL);
    ob_api_response r;
    af_call(&f, &anna, "GET", "/Appointment", P_ANNA, NULL, &r);
    assert_int_equal(r.status, 503);
    ob_api_response_release(&r);
    ob_err ce = {0};
    assert_int_not_equal(
        try_change(
            &f, "{\"type\":\"block\",\"patient\":\"anna\",\"kind\":\"site\",\"target\":\"gp-2\"}",
            &ce),
        OB_OK);
    assert_non_null(strstr(ce.msg, "the service stopped"));
    ob_request rq;
    memset(&rq, 0, sizeof rq);
    rq.actor_kind = OB_ACTOR_PROFESSIONAL;
    rq.patient = 0;
    ob_decision d;
    uint64_t seq;
    ob_err de = {0};
    assert_int_not_equal(ob_hub_decide(f.h, &rq, NULL, NULL, &d, &seq, &de), OB_OK);
    assert_non_null(strstr(de.msg, "could not be rebuilt"));
    af_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(undo_by_rebuild_keeps_borrowed_strings),
        cmocka_unit_test(failed_rebuild_stops_the_hub),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

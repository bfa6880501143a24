/* test_pg_rebuild.c - on PostgreSQL (several servers, src/service/hub_pg.c), a change that
 * fails after it reached the index, when the index cannot be rebuilt from the database
 * just then (in a failover: the database cannot be read), does not stop the server for
 * good: it answers 503 while the rebuild fails, and once the database reads again the
 * sync thread rebuilds the index and the server answers again, without the failed change
 * (issue 18; found by tests/e2e/pg_failover_http.sh, where a server stopped for good on
 * the first failover that caught a change in flight). The change is made to fail with a
 * trigger on the records table, the rebuild with a record that does not read, against a
 * throwaway PostgreSQL 15; the test hub of the API tests (api_fixture.h), on it. */
#include "unit/api/api_fixture.h"

#include <time.h>

#include "unit/pg_fixture.h"

static void pg_af_open(af *f, const char *name)
{
    memset(f, 0, sizeof *f);
    f->tag = name;
    pg_fresh_uri(name, f->db, sizeof f->db);
    snprintf(f->key, sizeof f->key, "%s/%s.key", pg_dir, name);
    ob_keys k;
    ob_err e = {0};
    if (ob_keys_generate(&k, &e) || ob_keys_save(&k, f->key, &e))
        fail_msg("keys: %s", e.msg);
    ob_hub_options o = {.db_path = f->db, .key_path = f->key, .server_id = name};
    if (ob_hub_open(&o, &f->h, &e))
        fail_msg("hub: %s", e.msg);
    af_load(f, af_world, sizeof af_world / sizeof af_world[0]);
}

static ob_status try_change(af *f, const char *record, ob_err *e)
{
    json_t *o = json_loads(record, 0, NULL);
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

/* A relationship that would give gp-2 (gp2-dr) a treatment relationship with anna. */
#define REL_GP2_ANNA                                                                               \
    "{\"type\":\"relationship\",\"patient\":\"anna\",\"org\":\"gp-2\",\"kind\":\"treatment\","     \
    "\"from\":\"2020-01-01\"}"
#define NO_RELATIONSHIPS                                                                           \
    "CREATE FUNCTION no_rel() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.type = "         \
    "'relationship' THEN RAISE EXCEPTION 'the disk said no'; END IF; RETURN NEW; END $$;"          \
    "CREATE TRIGGER no_rel BEFORE INSERT ON store_records FOR EACH ROW EXECUTE FUNCTION no_rel()"

static const char *const P_ANNA[] = {"patient=Patient/anna", NULL};

/* How many of anna's appointments gp2-dr sees, or minus the status. */
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

/* Waits (10 s at most) until the hub answers; true when it does. */
static bool answers_again(af *f)
{
    for (int i = 0; i < 200; i++) {
        if (!ob_hub_stopped(f->h, NULL, 0))
            return true;
        struct timespec d = {0, 50 * 1000000};
        nanosleep(&d, NULL);
    }
    return false;
}

static void failed_rebuild_is_tried_again(void **state)
{
    (void)state;
    af f;
    pg_af_open(&f, "pgrebuild");
    af_load_anna_items(&f);
    assert_true(answers_again(&f));
    assert_int_equal(gp2_sees_anna(&f), 0);
    /* the change fails after it reached the index, and the rebuild fails too */
    pg_exec(f.db, NO_RELATIONSHIPS);
    pg_exec(f.db, "INSERT INTO store_records (type, json) VALUES ('org', '{not json')");
    ob_err e = {0};
    assert_int_not_equal(try_change(&f, REL_GP2_ANNA, &e), OB_OK);
    /* fail closed while the index may hold the change: 503, never the unstored grant */
    struct timespec d = {1, 0}; /* several of the sync thread's tries */
    nanosleep(&d, NULL);
    char why[512];
    if (!ob_hub_stopped(f.h, why, sizeof why))
        fail_msg("the rebuild failed and the hub answers");
    assert_non_null(strstr(why, "rebuilding its index"));
    assert_int_equal(gp2_sees_anna(&f), -503);
    ob_err ce = {0};
    assert_int_not_equal(try_change(&f, REL_GP2_ANNA, &ce), OB_OK);
    /* the database reads again: the sync thread rebuilds, the hub answers without the
     * failed change, and takes changes */
    pg_exec(f.db, "DELETE FROM store_records WHERE json = '{not json'");
    if (!answers_again(&f)) {
        ob_hub_stopped(f.h, why, sizeof why);
        fail_msg("the hub did not come back after the database read again: %s", why);
    }
    assert_int_equal(gp2_sees_anna(&f), 0);
    pg_exec(f.db, "DROP TRIGGER no_rel ON store_records");
    assert_int_equal(try_change(&f, REL_GP2_ANNA, &e), OB_OK);
    assert_int_equal(gp2_sees_anna(&f), 2);
    ob_hub_close(f.h);
    ob_keys_remove(f.key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(failed_rebuild_is_tried_again),
    };
    return cmocka_run_group_tests(tests, pg_group_up, pg_group_down);
}

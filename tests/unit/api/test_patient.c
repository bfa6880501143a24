/* test_patient.c - the patient overview (POST /Patient/$overview) with blocks and
 * break-the-glass (R-BLK-4), and Patient search/read (no CPR except to the patient). */
#include "api_fixture.h"

static void open_world(af *f, const char *tag)
{
    af_open(f, tag);
    af_load_anna_items(f);
}

#define BODY_ANNA                                                                                  \
    "{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"patient\",\"valueReference\":{"   \
    "\"reference\":\"Patient/anna\"}}]}"
#define BODY_ANNA_CPR                                                                              \
    "{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"patient.identifier\","            \
    "\"valueIdentifier\":{\"system\":\"urn:oid:1.2.208.176.1.2\",\"value\":\"" AF_CPR_ANNA         \
    "\"}}]}"
#define BODY_NOBODY                                                                                \
    "{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"patient\",\"valueReference\":{"   \
    "\"reference\":\"Patient/nobody\"}}]}"

static ob_api_response overview(af *f, const ob_caller *c, const char *body)
{
    ob_api_response r;
    af_call(f, c, "POST", "/Patient/$overview", NULL, body, &r);
    return r;
}

/* The overview across categories, with and without a block; one log entry each. */
static void overview_blocks(void **state)
{
    (void)state;
    af f;
    open_world(&f, "pat-overview");
    ob_caller gp1 = af_pro(&f, "gp1-dr", "gp-1", NULL), gp2 = af_pro(&f, "gp2-dr", "gp-2", NULL);
    ob_api_response r = overview(&f, &gp1, BODY_ANNA);
    assert_int_equal(r.status, 200);
    assert_int_equal(af_total(&r), 5); /* 2 appointments, 2 conditions, 1 observation */
    assert_false(af_marker(&r));
    ob_api_response_release(&r);
    r = overview(&f, &gp1, BODY_ANNA_CPR); /* by CPR in the body (R-CPR-2) */
    assert_int_equal(af_total(&r), 5);
    char *t = af_text(&r);
    assert_null(strstr(t, "0101901234"));
    assert_null(strstr(t, AF_CPR_ANNA));
    free(t);
    ob_api_response_release(&r);
    af_change(
        &f, "{\"type\":\"block\",\"patient\":\"anna\",\"kind\":\"site\",\"target\":\"hosp-psyk\"}");
    af_log_count before = af_log(&f, "anna", NULL);
    r = overview(&f, &gp1, BODY_ANNA);
    af_log_count after = af_log(&f, "anna", NULL);
    /* R-LOG-1: one entry per overview, and one denial per category the block withheld
     * (R-BLK-4), so the patient's log shows the attempt: psychiatry's appointment and
     * diagnosis. It used to log the permit alone. */
    assert_int_equal(after.n, before.n + 3);
    assert_int_equal(after.withheld, 2);
    assert_string_equal(after.withheld_categories, "appointment,diagnosis");
    assert_int_equal(af_total(&r), 3);
    assert_true(af_marker(&r)); /* R-BLK-4: only that something is withheld */
    t = af_text(&r);
    assert_null(strstr(t, "psyk"));
    assert_null(strstr(t, "F32"));
    free(t);
    ob_api_response_release(&r);
    /* leak: hidden and unknown patients answer alike */
    ob_api_response a = overview(&f, &gp2, BODY_ANNA), b = overview(&f, &gp2, BODY_NOBODY);
    char *ta = af_text(&a), *tb = af_text(&b);
    assert_string_equal(ta, tb);
    assert_int_equal(af_total(&a), 0);
    free(ta);
    free(tb);
    ob_api_response_release(&a);
    ob_api_response_release(&b);
    af_close(&f);
}

/* R-BLK-4 break-the-glass: reason mandatory; vital interest only with ETREAT; logged
 * with the flag and the justification. */
static void break_the_glass(void **state)
{
    (void)state;
    af f;
    open_world(&f, "pat-btg");
    af_change(
        &f, "{\"type\":\"block\",\"patient\":\"anna\",\"kind\":\"site\",\"target\":\"hosp-psyk\"}");
    const struct {
        const char *why, *purpose, *override, *reason;
        int status, total;
        bool marker, logged_override;
    } rows[] = {
        {"no override", "TREAT", NULL, "", 200, 3, true, false},
        {"R-BLK-4 override without a reason", "TREAT", "consent", "", 400, 0, false, false},
        {"R-BLK-4 consent in the situation", "TREAT", "consent", "patienten accepterer mundtligt",
         200, 5, false, true},
        {"R-BLK-4 vital interest needs ETREAT", "TREAT", "vital_interest", "bevidstløs", 200, 3,
         true, false},
        {"R-BLK-4 vital interest, ETREAT", "ETREAT", "vital_interest", "bevidstløs ved ankomst",
         200, 5, false, true},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        ob_caller c = af_pro(&f, "gp1-dr", "gp-1", rows[i].purpose);
        if (rows[i].override)
            c.override = (uint8_t)ob_override_parse(rows[i].override);
        snprintf(c.justification, sizeof c.justification, "%s", rows[i].reason);
        af_log_count before = af_log(&f, "anna", NULL);
        ob_api_response r = overview(&f, &c, BODY_ANNA);
        af_log_count after = af_log(&f, "anna", NULL);
        if (r.status != rows[i].status)
            fail_msg("%s: status %d", rows[i].why, r.status);
        if (r.status == 200) {
            if (af_total(&r) != rows[i].total || af_marker(&r) != rows[i].marker)
                fail_msg("%s: total %d marker %d", rows[i].why, (int)af_total(&r), af_marker(&r));
            /* a withheld category is a logged denial beside the overview's entry */
            assert_int_equal(after.n - after.withheld, before.n - before.withheld + 1);
            assert_int_equal(after.withheld > before.withheld, rows[i].marker);
            assert_int_equal(after.last_override, rows[i].logged_override);
            if (rows[i].logged_override)
                assert_string_equal(after.last_justification, rows[i].reason);
        } else {
            assert_int_equal(after.n, before.n); /* refused before anything was read */
        }
        ob_api_response_release(&r);
    }
    af_close(&f);
}

/* Patient search and read: name, no CPR (but to the patient themself), empty when not
 * permitted, identical to unknown. */
static void patient_search(void **state)
{
    (void)state;
    af f;
    open_world(&f, "pat-search");
    ob_caller gp1 = af_pro(&f, "gp1-dr", "gp-1", NULL), gp2 = af_pro(&f, "gp2-dr", "gp-2", NULL),
              anna = af_citizen(&f, "anna", NULL);
    const char *cpr_body[] = {"@identifier=urn:oid:1.2.208.176.1.2|" AF_CPR_ANNA, NULL};
    const char *none_body[] = {"@identifier=urn:oid:1.2.208.176.1.2|" AF_CPR_NONE, NULL};
    ob_api_response r;
    af_call(&f, &gp1, "POST", "/Patient/_search", cpr_body, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(af_total(&r), 1);
    char *t = af_text(&r);
    assert_non_null(strstr(t, "Anna Andersen"));
    assert_null(strstr(t, "0101901234"));
    assert_null(strstr(t, "1.2.208.176.1.2"));
    free(t);
    ob_api_response_release(&r);
    /* the patient themself gets their identifier back */
    af_call(&f, &anna, "POST", "/Patient/_search", cpr_body, NULL, &r);
    assert_int_equal(af_total(&r), 1);
    t = af_text(&r);
    assert_non_null(strstr(t, "0101901234"));
    free(t);
    ob_api_response_release(&r);
    /* not permitted vs unknown: identical empty Bundles */
    ob_api_response a, b;
    af_call(&f, &gp2, "POST", "/Patient/_search", cpr_body, NULL, &a);
    af_call(&f, &gp2, "POST", "/Patient/_search", none_body, NULL, &b);
    char *ta = af_text(&a), *tb = af_text(&b);
    assert_string_equal(ta, tb);
    assert_int_equal(af_total(&a), 0);
    free(ta);
    free(tb);
    ob_api_response_release(&a);
    ob_api_response_release(&b);
    /* read by internal id */
    af_call(&f, &gp1, "GET", "/Patient/anna", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    ob_api_response_release(&r);
    af_call(&f, &gp2, "GET", "/Patient/anna", NULL, NULL, &a);
    af_call(&f, &gp2, "GET", "/Patient/nobody", NULL, NULL, &b);
    assert_int_equal(a.status, 404);
    ta = af_text(&a);
    tb = af_text(&b);
    assert_string_equal(ta, tb);
    free(ta);
    free(tb);
    ob_api_response_release(&a);
    ob_api_response_release(&b);
    /* R-CPR-2: a CPR in the URL is refused without echoing it */
    const char *url_cpr[] = {"identifier=" AF_CPR_ANNA, NULL};
    af_call(&f, &gp1, "GET", "/Patient", url_cpr, NULL, &r);
    assert_int_equal(r.status, 400);
    t = af_text(&r);
    assert_null(strstr(t, AF_CPR_ANNA));
    free(t);
    ob_api_response_release(&r);
    af_call(&f, &gp1, "GET", "/Patient/" AF_CPR_ANNA, NULL, NULL, &r);
    assert_int_equal(r.status, 400);
    ob_api_response_release(&r);
    af_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(overview_blocks),
        cmocka_unit_test(break_the_glass),
        cmocka_unit_test(patient_search),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

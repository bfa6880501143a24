/* test_clinical.c - Observation and Condition from the shared items, and
 * patient-reported measurements (R-PRD-1), through the FHIR API. */
#include "api_fixture.h"

static const char *const items[] = {
    "{\"type\":\"item\",\"id\":\"anna-d1\",\"patient\":\"anna\",\"category\":\"diagnosis\","
    "\"origin\":\"gp-1\",\"time\":\"2024-05-02T10:00:00Z\",\"code\":\"T90\"}",
    "{\"type\":\"item\",\"id\":\"anna-d2\",\"patient\":\"anna\",\"category\":\"diagnosis\","
    "\"origin\":\"hosp-med\",\"time\":\"2024-06-02T10:00:00Z\",\"code\":\"E11.9\"}",
    "{\"type\":\"item\",\"id\":\"anna-m1\",\"patient\":\"anna\",\"category\":\"measurement\","
    "\"origin\":\"gp-1\",\"time\":\"2025-01-02T10:00:00Z\",\"code\":\"DNK05472\",\"value\":142}",
    "{\"type\":\"item\",\"id\":\"anna-m2\",\"patient\":\"anna\",\"category\":\"measurement\","
    "\"origin\":\"gp-1\",\"time\":\"2025-02-02T10:00:00Z\",\"code\":\"DNK05472\",\"value\":150,"
    "\"source\":\"patient_reported\"}",
    "{\"type\":\"item\",\"id\":\"anna-l1\",\"patient\":\"anna\",\"category\":\"lab_result\","
    "\"origin\":\"hosp-psyk\",\"time\":\"2025-03-02T10:00:00Z\",\"code\":\"NPU02319\",\"value\":"
    "130}",
    "{\"type\":\"item\",\"id\":\"anna-q1\",\"patient\":\"anna\",\"category\":\"measurement\","
    "\"origin\":\"gp-1\",\"time\":\"2025-03-02T10:00:00Z\",\"code\":\"DNK05472\",\"value\":135,"
    "\"source\":\"quality_db\"}",
    "{\"type\":\"item\",\"id\":\"carl-m1\",\"patient\":\"carl\",\"category\":\"measurement\","
    "\"origin\":\"gp-1\",\"time\":\"2025-01-02T10:00:00Z\",\"code\":\"DNK05472\",\"value\":130}",
    "{\"type\":\"item\",\"id\":\"carl-d1\",\"patient\":\"carl\",\"category\":\"diagnosis\","
    "\"origin\":\"gp-1\",\"time\":\"2025-01-02T10:00:00Z\",\"code\":\"K86\"}",
};

static void open_world(af *f, const char *tag)
{
    af_open(f, tag);
    af_load(f, items, sizeof items / sizeof items[0]);
}

static const char *P_ANNA[] = {"patient=Patient/anna", NULL};

static ob_api_response get(af *f, const ob_caller *c, const char *path, const char *const *params)
{
    ob_api_response r;
    af_call(f, c, "GET", path, params, NULL, &r);
    return r;
}

/* Mapping: LOINC 8480-6 in mmHg, performer Organization, ICPC-2 / ICD-10; R-ACC-8:
 * quality-database data never for treatment. */
static void mapping(void **state)
{
    (void)state;
    af f;
    open_world(&f, "clin-map");
    ob_caller gp1 = af_pro(&f, "gp1-dr", "gp-1", NULL);
    ob_api_response r = get(&f, &gp1, "/Observation", P_ANNA);
    assert_int_equal(r.status, 200);
    assert_int_equal(af_total(&r), 3); /* m1, m2 (patient-reported), l1; not q1 */
    char *t = af_text(&r);
    assert_non_null(strstr(t, "\"8480-6\""));
    assert_non_null(strstr(t, "mm[Hg]"));
    assert_non_null(strstr(t, "\"Organization/gp-1\""));
    assert_non_null(strstr(t, "patient-reported")); /* R-PRD-1 marking */
    assert_null(strstr(t, "anna-q1"));              /* R-ACC-8 */
    free(t);
    ob_api_response_release(&r);
    r = get(&f, &gp1, "/Condition", P_ANNA);
    assert_int_equal(af_total(&r), 2);
    t = af_text(&r);
    assert_non_null(strstr(t, "http://hl7.org/fhir/sid/icpc-2"));
    assert_non_null(strstr(t, "http://hl7.org/fhir/sid/icd-10"));
    assert_non_null(strstr(t, "recordedDate"));
    free(t);
    ob_api_response_release(&r);
    r = get(&f, &gp1, "/Observation/anna-m1", NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(json_object_get(r.body, "resourceType")), "Observation");
    ob_api_response_release(&r);
    r = get(&f, &gp1, "/Condition/anna-m1", NULL); /* an Observation is not a Condition */
    assert_int_equal(r.status, 404);
    ob_api_response_release(&r);
    af_close(&f);
}

/* Same rules as appointments: who sees, blocks, leaks, one log entry per search. */
static void rules(void **state)
{
    (void)state;
    af f;
    open_world(&f, "clin-rules");
    ob_caller gp1 = af_pro(&f, "gp1-dr", "gp-1", NULL), gp2 = af_pro(&f, "gp2-dr", "gp-2", NULL),
              anna = af_citizen(&f, "anna", NULL), bent = af_citizen(&f, "bent", "PWATRNY");
    static const char *P_CARL[] = {"patient=Patient/carl", NULL};
    static const char *P_NOBODY[] = {"patient=Patient/nobody", NULL};
    const struct {
        const char *why;
        const ob_caller *c;
        const char *path;
        const char *const *params;
        int total;
    } rows[] = {
        {"R-ACC-9 the patient, all own data", &anna, "/Observation", NULL, 4},
        {"R-ACC-1 the GP", &gp1, "/Observation", P_ANNA, 3},
        {"no relationship", &gp2, "/Observation", P_ANNA, 0},
        {"R-ACC-9 attorney, scope covers measurements", &bent, "/Observation", P_CARL, 1},
        {"R-ACC-9 attorney, scope lacks diagnoses", &bent, "/Condition", P_CARL, 0},
        {"unknown patient", &gp2, "/Observation", P_NOBODY, 0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        ob_api_response r = get(&f, rows[i].c, rows[i].path, rows[i].params);
        if (r.status != 200 || af_total(&r) != rows[i].total)
            fail_msg("%s: status %d total %d", rows[i].why, r.status, (int)af_total(&r));
        assert_int_equal(af_matches(&r), (size_t)rows[i].total);
        ob_api_response_release(&r);
    }
    /* hidden vs unknown: identical; by id: identical 404 */
    ob_api_response a = get(&f, &gp2, "/Observation", P_ANNA),
                    b = get(&f, &gp2, "/Observation", P_NOBODY);
    char *ta = af_twin_text(&a), *tb = af_twin_text(&b);
    assert_string_equal(ta, tb);
    free(ta);
    free(tb);
    ob_api_response_release(&a);
    ob_api_response_release(&b);
    a = get(&f, &gp2, "/Observation/anna-m1", NULL);
    b = get(&f, &gp2, "/Observation/nothing-here", NULL);
    assert_int_equal(a.status, 404);
    ta = af_text(&a);
    tb = af_text(&b);
    assert_string_equal(ta, tb);
    free(ta);
    free(tb);
    ob_api_response_release(&a);
    ob_api_response_release(&b);
    /* R-BLK-1 (b) site block: the lab result from psychiatry is withheld, with the marker */
    af_change(
        &f, "{\"type\":\"block\",\"patient\":\"anna\",\"kind\":\"site\",\"target\":\"hosp-psyk\"}");
    af_log_count before = af_log(&f, "anna", NULL);
    a = get(&f, &gp1, "/Observation", P_ANNA);
    af_log_count after = af_log(&f, "anna", NULL);
    assert_int_equal(af_total(&a), 2);
    assert_true(af_marker(&a));
    /* R-LOG-1: one entry per search, and (R-BLK-4) one denial of what the block withheld,
     * which the patient sees */
    assert_int_equal(after.n, before.n + 2);
    assert_int_equal(after.withheld, before.withheld + 1);
    assert_non_null(strstr(after.last_resource, "Observation/anna-m1"));
    assert_null(strstr(after.last_resource, "anna-l1"));
    ob_api_response_release(&a);
    af_close(&f);
}

static const char *bp(const char *subject, const char *code, int value)
{
    static char bufs[8][1024];
    static int k;
    char *buf = bufs[k++ % 8];
    char subj[128] = "";
    if (subject)
        snprintf(subj, sizeof subj, ",\"subject\":{\"reference\":\"%s\"}", subject);
    snprintf(buf, 1024,
             "{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"coding\":[{"
             "\"system\":\"http://loinc.org\",\"code\":\"%s\"}]},\"valueQuantity\":{\"value\":%d,"
             "\"unit\":\"mmHg\",\"system\":\"http://unitsofmeasure.org\",\"code\":\"mm[Hg]\"},"
             "\"effectiveDateTime\":\"2025-06-01T08:00:00Z\"%s,\"note\":[{\"text\":\"efter "
             "løbetur\"}]}",
             code, value, subj);
    return buf;
}

/* R-PRD-1: a patient adds a measurement; marked, logged, visible under the same rules. */
static void patient_reported(void **state)
{
    (void)state;
    af f;
    open_world(&f, "clin-prd");
    ob_caller anna = af_citizen(&f, "anna", NULL), gp1 = af_pro(&f, "gp1-dr", "gp-1", NULL),
              gp2 = af_pro(&f, "gp2-dr", "gp-2", NULL);
    const struct {
        const char *why;
        const ob_caller *c;
        const char *body;
        int status;
    } rows[] = {
        {"a professional cannot report for the patient", &gp1, bp(NULL, "8480-6", 140), 403},
        {"about someone else", &anna, bp("Patient/carl", "8480-6", 140), 403},
        {"unsupported code", &anna, bp(NULL, "29463-7", 80), 400},
        {"implausible value", &anna, bp(NULL, "8480-6", 900), 400},
        {"R-PRD-1 own measurement", &anna, bp("Patient/anna", "8480-6", 138), 201},
    };
    af_log_count before = af_log(&f, "anna", "Observation/anna-prd");
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        ob_api_response r;
        af_call(&f, rows[i].c, "POST", "/Observation", NULL, rows[i].body, &r);
        if (r.status != rows[i].status)
            fail_msg("%s: want %d got %d", rows[i].why, rows[i].status, r.status);
        if (r.status == 201) {
            char *t = af_text(&r);
            assert_non_null(strstr(t, "patient-reported"));
            assert_null(strstr(t, "løbetur")); /* free text is not kept */
            free(t);
        }
        ob_api_response_release(&r);
    }
    /* logged before the call returned */
    af_log_count after = af_log(&f, "anna", "Observation/anna-prd");
    assert_int_equal(after.with_resource, before.with_resource + 1);
    /* visible to the GP under the same rules, not to a professional without a relationship */
    ob_api_response r = get(&f, &gp1, "/Observation", P_ANNA);
    assert_int_equal(af_total(&r), 4);
    ob_api_response_release(&r);
    r = get(&f, &gp2, "/Observation", P_ANNA);
    assert_int_equal(af_total(&r), 0);
    ob_api_response_release(&r);
    af_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mapping),
        cmocka_unit_test(rules),
        cmocka_unit_test(patient_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

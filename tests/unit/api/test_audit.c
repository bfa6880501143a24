/* test_audit.c - FHIR AuditEvent through ob_api_handle: the patient's log (R-LOG-2,
 * R-LOG-3), the assistants' log (R-LOG-6), override entries (R-BLK-4), inclusion proofs
 * (R-LOG-4) and who may read what (R-ACC-9), on a hub over a temporary database. */
#include "fhir/audit.h"
#include "log/proof.h"
#include "unit/api/fhir2_fixture.h"

static json_t *entry_res(const ob_api_response *r, size_t i)
{
    return json_object_get(json_array_get(json_object_get(r->body, "entry"), i), "resource");
}

static char *dump(json_t *j)
{
    return json_dumps(j, JSON_SORT_KEYS);
}

/* The first AuditEvent in the Bundle whose JSON contains needle, or NULL. */
static json_t *find_event(const ob_api_response *r, const char *needle)
{
    for (size_t i = 0; i < json_array_size(json_object_get(r->body, "entry")); i++) {
        json_t *ev = entry_res(r, i);
        char *t = json_dumps(ev, 0);
        bool hit = strstr(t, needle) != NULL;
        free(t);
        if (hit)
            return ev;
    }
    return NULL;
}

/* R-LOG-3: who, when, from where, why; R-LOG-2 fields; newest first. */
static void test_patient_sees_professional_read(void **state)
{
    (void)state;
    f2 *f = f2_open("audit-read");
    ob_caller anna = f2_citizen(f, "anna");
    ob_caller spec = f2_prof(f, "spec_doc", "spec");
    assert_true(f2_decide(f, &spec, "anna", OB_CAT_DIAGNOSIS, "gp_a").permit);
    static const char *const p[] = {"patient=Patient/anna", NULL};
    ob_api_response r = f2_call(f, &anna, "GET", "/AuditEvent", NULL, p);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(json_object_get(r.body, "type")), "searchset");
    json_t *ev = find_event(&r, "Practitioner/spec_doc");
    assert_non_null(ev);
    char *t = json_dumps(ev, 0);
    assert_non_null(strstr(t, "\"display\": \"Ole Dam\""));       /* who */
    assert_non_null(strstr(t, "\"recorded\""));                   /* when */
    assert_non_null(strstr(t, "Organization/spec"));              /* from where */
    assert_non_null(strstr(t, "\"code\": \"TREAT\""));            /* why */
    assert_non_null(strstr(t, "\"valueString\": \"R-ACC-1\""));   /* the rule */
    assert_non_null(strstr(t, "\"valueString\": \"diagnosis\"")); /* what */
    assert_non_null(strstr(t, "Patient/anna"));                   /* about whom */
    assert_string_equal(json_string_value(json_object_get(ev, "action")), "R");
    assert_string_equal(json_string_value(json_object_get(ev, "outcome")), "0");
    free(t);
    /* newest first */
    json_int_t s0 = strtoll(json_string_value(json_object_get(entry_res(&r, 0), "id")), NULL, 10);
    json_int_t s1 = strtoll(json_string_value(json_object_get(entry_res(&r, 1), "id")), NULL, 10);
    assert_true(s0 > s1);
    ob_api_response_release(&r);

    /* _count / _offset */
    static const char *const pc[] = {"patient=Patient/anna", "_count=1", "_offset=1", NULL};
    r = f2_call(f, &anna, "GET", "/AuditEvent", NULL, pc);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_array_size(json_object_get(r.body, "entry")), 1);
    assert_true(f2_total(&r) >= 2);
    ob_api_response_release(&r);

    /* date filter: nothing before 2000 */
    static const char *const pd[] = {"patient=Patient/anna", "date=le2000-01-01", NULL};
    r = f2_call(f, &anna, "GET", "/AuditEvent", NULL, pd);
    assert_int_equal(r.status, 200);
    assert_int_equal(f2_total(&r), 0);
    ob_api_response_release(&r);
    static const char *const pbad[] = {"patient=Patient/anna", "date=xx2000", NULL};
    r = f2_call(f, &anna, "GET", "/AuditEvent", NULL, pbad);
    assert_int_equal(r.status, 400);
    ob_api_response_release(&r);

    /* reading one's log is itself logged (R-ACC-9, R-LOG-1) */
    r = f2_call(f, &anna, "GET", "/AuditEvent", NULL, p);
    assert_non_null(find_event(&r, "patients read their own access log"));
    ob_api_response_release(&r);

    /* one entry by id */
    uint64_t n = f2_log_size(f);
    char path[64];
    snprintf(path, sizeof path, "/AuditEvent/%llu", (unsigned long long)n);
    r = f2_call(f, &anna, "GET", path, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(json_object_get(r.body, "resourceType")), "AuditEvent");
    ob_api_response_release(&r);
    f2_close(f);
}

/* Blocks and consents appear in the log as changes (type rest, action C/U). */
static void test_changes_in_log(void **state)
{
    (void)state;
    f2 *f = f2_open("audit-changes");
    ob_caller anna = f2_citizen(f, "anna");
    ob_caller gp = f2_prof(f, "gp_doc", "gp_a");
    ob_api_response r = f2_call(
        f, &gp, "POST", "/Consent",
        "{\"resourceType\":\"Consent\",\"status\":\"active\",\"scope\":{\"coding\":[{\"system\":"
        "\"http://terminology.hl7.org/CodeSystem/consentscope\",\"code\":\"patient-privacy\"}]},"
        "\"category\":[{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"59284-0\"}]}],"
        "\"patient\":{\"reference\":\"Patient/anna\"},\"provision\":{\"type\":\"deny\","
        "\"actor\":[{\"reference\":{\"reference\":\"Organization/cardio\"}}]}}",
        NULL);
    assert_int_equal(r.status, 201);
    ob_api_response_release(&r);
    static const char *const p[] = {"patient=Patient/anna", NULL};
    r = f2_call(f, &anna, "GET", "/AuditEvent", NULL, p);
    json_t *ev = find_event(&r, "Consent/block-");
    assert_non_null(ev);
    assert_string_equal(json_string_value(json_object_get(ev, "action")), "C");
    char *t = json_dumps(ev, 0);
    assert_non_null(strstr(t, "\"code\": \"rest\""));
    assert_non_null(strstr(t, "Practitioner/gp_doc")); /* R-BLK-3: shown as set by the GP */
    assert_non_null(strstr(t, "R-BLK-3"));
    free(t);
    ob_api_response_release(&r);
    f2_close(f);
}

/* Professionals do not read a patient's log; hidden vs non-existent is identical; an
 * attorney reads it only with a scope covering all data (R-ACC-9). */
static void test_who_reads(void **state)
{
    (void)state;
    f2 *f = f2_open("audit-who");
    ob_caller spec = f2_prof(f, "spec_doc", "spec");
    ob_caller gp = f2_prof(f, "gp_doc", "gp_a");
    ob_caller dorte = f2_citizen(f, "dorte");
    dorte.purpose = OB_PURPOSE_ATTORNEY;
    assert_true(f2_decide(f, &spec, "anna", OB_CAT_DIAGNOSIS, "gp_a").permit);
    static const char *const pa[] = {"patient=Patient/anna", NULL};
    static const char *const pb[] = {"patient=Patient/bent", NULL};
    static const char *const pn[] = {"patient=Patient/nobody", NULL};
    ob_api_response none = f2_call(f, &spec, "GET", "/AuditEvent", NULL, pn);
    char *n = twin_text(none.body);
    const ob_caller *pros[] = {&spec, &gp};
    for (size_t i = 0; i < 2; i++) {
        ob_api_response r = f2_call(f, pros[i], "GET", "/AuditEvent", NULL, pa);
        assert_int_equal(r.status, 200);
        char *t = twin_text(r.body);
        assert_string_equal(t, n);
        free(t);
        ob_api_response_release(&r);
    }
    ob_api_response r = f2_call(f, &dorte, "GET", "/AuditEvent", NULL, pa);
    assert_true(f2_total(&r) > 0);
    ob_api_response_release(&r);
    r = f2_call(f, &dorte, "GET", "/AuditEvent", NULL, pb); /* scope: appointments only */
    char *t = twin_text(r.body);
    assert_string_equal(t, n);
    free(t);
    ob_api_response_release(&r);
    free(n);
    ob_api_response_release(&none);
    f2_close(f);
}

/* R-LOG-6: what an assistant did on a professional's behalf, both persons shown. */
static void test_assistant_log(void **state)
{
    (void)state;
    f2 *f = f2_open("audit-assist");
    ob_caller sec = f2_prof(f, "gp_sec", "gp_a");
    sec.on_behalf_of = f2_pro(f, "gp_doc");
    ob_caller gp = f2_prof(f, "gp_doc", "gp_a");
    ob_caller gp2 = f2_prof(f, "gp_doc2", "gp_a");
    ob_decision d = f2_decide(f, &sec, "anna", OB_CAT_MEDICATION, "gp_a");
    assert_true(d.permit);
    static const char *const p[] = {"agent=Practitioner/gp_doc", NULL};
    ob_api_response r = f2_call(f, &gp, "GET", "/AuditEvent", NULL, p);
    assert_int_equal(r.status, 200);
    assert_int_equal(f2_total(&r), 1);
    char *t = json_dumps(entry_res(&r, 0), 0);
    assert_non_null(strstr(t, "Practitioner/gp_sec"));
    assert_non_null(strstr(t, "Practitioner/gp_doc"));
    assert_non_null(strstr(t, "\"code\": \"assistant\""));
    assert_non_null(strstr(t, "\"code\": \"RESP\""));
    free(t);
    ob_api_response_release(&r);
    /* only one's own id: another doctor and the assistant get an empty Bundle */
    const ob_caller *others[] = {&gp2, &sec};
    for (size_t i = 0; i < 2; i++) {
        r = f2_call(f, others[i], "GET", "/AuditEvent", NULL, p);
        assert_int_equal(r.status, 200);
        assert_int_equal(f2_total(&r), 0);
        ob_api_response_release(&r);
    }
    f2_close(f);
}

/* R-BLK-4: an override is flagged, with its justification, first in outcomeDesc. */
static void test_override_flagged(void **state)
{
    (void)state;
    f2 *f = f2_open("audit-override");
    ob_caller anna = f2_citizen(f, "anna");
    ob_api_response r = f2_call(
        f, &anna, "POST", "/Consent",
        "{\"resourceType\":\"Consent\",\"status\":\"active\",\"scope\":{\"coding\":[{\"system\":"
        "\"http://terminology.hl7.org/CodeSystem/consentscope\",\"code\":\"patient-privacy\"}]},"
        "\"category\":[{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"59284-0\"}]}],"
        "\"patient\":{\"reference\":\"Patient/anna\"},\"provision\":{\"type\":\"deny\","
        "\"actor\":[{\"reference\":{\"reference\":\"Practitioner/spec_doc\"}}]}}",
        NULL);
    assert_int_equal(r.status, 201);
    ob_api_response_release(&r);
    ob_caller spec = f2_prof(f, "spec_doc", "spec");
    spec.purpose = OB_PURPOSE_ETREAT;
    spec.override = OB_OVERRIDE_VITAL_INTEREST;
    snprintf(spec.justification, sizeof spec.justification, "bevidstloes, akut");
    ob_decision d = f2_decide(f, &spec, "anna", OB_CAT_MEDICATION, "gp_a");
    assert_true(d.permit);
    static const char *const p[] = {"patient=Patient/anna", NULL};
    r = f2_call(f, &anna, "GET", "/AuditEvent", NULL, p);
    json_t *ev = find_event(&r, "bevidstloes");
    assert_non_null(ev);
    assert_true(strncmp(json_string_value(json_object_get(ev, "outcomeDesc")), "BLOCK OVERRIDDEN",
                        16) == 0);
    char *t = json_dumps(json_object_get(ev, "extension"), 0);
    assert_non_null(strstr(t, OB_FHIR_EXT_OVERRIDE "\", \"valueBoolean\": true"));
    assert_non_null(strstr(t, OB_FHIR_EXT_JUSTIFICATION));
    free(t);
    ob_api_response_release(&r);
    f2_close(f);
}

/* R-LOG-4: the patient gets a proof of their own entry that verifies offline; another
 * patient's entry answers like a missing one. */
static void test_prove(void **state)
{
    (void)state;
    f2 *f = f2_open("audit-prove");
    ob_caller anna = f2_citizen(f, "anna");
    ob_caller bent = f2_citizen(f, "bent");
    ob_caller spec = f2_prof(f, "spec_doc", "spec");
    f2_decide(f, &spec, "anna", OB_CAT_DIAGNOSIS, "gp_a");
    uint64_t seq = f2_log_size(f);
    char path[64];
    snprintf(path, sizeof path, "/AuditEvent/%llu/$prove", (unsigned long long)seq);
    ob_api_response r = f2_call(f, &anna, "GET", path, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(json_object_get(r.body, "resourceType")), "Parameters");
    const char *proof = NULL;
    json_t *ps = json_object_get(r.body, "parameter");
    for (size_t i = 0; i < json_array_size(ps); i++)
        if (strcmp(json_string_value(json_object_get(json_array_get(ps, i), "name")), "proof") == 0)
            proof = json_string_value(json_object_get(json_array_get(ps, i), "valueString"));
    assert_non_null(proof);
    ob_log_proof pr;
    ob_err e = {0};
    if (ob_log_proof_from_json(proof, &pr, &e) || ob_log_proof_check(&pr, f->h->keys.sign_pk, &e))
        fail_msg("proof: %s", e.msg);
    assert_int_equal(pr.seq, seq);
    ob_log_proof_free(&pr);
    /* the same proof through the CLI, offline (`overblik log check`) */
    const char *bin = getenv("OB_BIN");
    if (bin && access(bin, X_OK) == 0) {
        char file[700], cmd[2048];
        snprintf(file, sizeof file, "%s.proof.json", f->db);
        FILE *fp = fopen(file, "w");
        assert_non_null(fp);
        fputs(proof, fp);
        fclose(fp);
        snprintf(cmd, sizeof cmd, "'%s' log check --db '%s' --proof '%s' >/dev/null", bin, f->db,
                 file);
        assert_int_equal(system(cmd), 0);
        unlink(file);
    }
    ob_api_response_release(&r);
    /* bent asks for anna's entry: same as a seq that does not exist */
    ob_api_response x = f2_call(f, &bent, "GET", path, NULL, NULL);
    ob_api_response y = f2_call(f, &bent, "GET", "/AuditEvent/999999/$prove", NULL, NULL);
    assert_int_equal(x.status, 404);
    assert_int_equal(y.status, 404);
    char *a = dump(x.body), *b = dump(y.body);
    assert_string_equal(a, b);
    free(a);
    free(b);
    ob_api_response_release(&x);
    ob_api_response_release(&y);
    /* and a professional gets nothing either */
    x = f2_call(f, &spec, "GET", path, NULL, NULL);
    assert_int_equal(x.status, 404);
    ob_api_response_release(&x);
    f2_close(f);
}

static void test_bad_input(void **state)
{
    (void)state;
    f2 *f = f2_open("audit-bad");
    ob_caller anna = f2_citizen(f, "anna");
    struct {
        const char *method, *path;
        const char *params[3];
        int status;
    } rows[] = {
        {"GET", "/AuditEvent", {"patient=Patient/anna", "color=red", NULL}, 400},
        {"GET", "/AuditEvent", {"patient=Patient/anna", "_count=-1", NULL}, 400},
        {"GET", "/AuditEvent", {"patient=Patient/anna", "agent=Practitioner/gp_doc", NULL}, 400},
        {"POST", "/AuditEvent", {NULL}, 403}, /* only a source reports (R-SRC-3) */
        {"DELETE", "/AuditEvent/1", {NULL}, 405},
        {"GET", "/AuditEvent/abc", {NULL}, 404},
        {"GET", "/AuditEvent/1/$everything", {NULL}, 404},
        {"GET", "/AuditEvent", {"patient=0101901234", NULL}, 400}, /* R-CPR-2 */
    };
    uint64_t before = f2_log_size(f);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        ob_api_response r = f2_call(f, &anna, rows[i].method, rows[i].path, NULL, rows[i].params);
        if (r.status != rows[i].status)
            fail_msg("row %zu: %d, want %d (%s)", i, r.status, rows[i].status, f2_diag(&r));
        assert_null(strstr(f2_diag(&r), "0101901234"));
        ob_api_response_release(&r);
    }
    assert_int_equal(f2_log_size(f), before);
    f2_close(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_patient_sees_professional_read),
        cmocka_unit_test(test_changes_in_log),
        cmocka_unit_test(test_who_reads),
        cmocka_unit_test(test_assistant_log),
        cmocka_unit_test(test_override_flagged),
        cmocka_unit_test(test_prove),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

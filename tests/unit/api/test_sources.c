/* test_sources.c - the sources' state (R-SRC-2, seed 004: interruptions "af ukendt
 * varighed"): Endpoint lists every source with its last delivery and state; an interrupted
 * source is named in every searchset of shared data, for every patient alike (no oracle),
 * until it is resumed; a registration's max_silence_hours makes a silent source count as
 * interrupted on its own. Drives ob_api_handle. */
#include "api_fixture.h"

#include "log/proof.h"
#include "service/sources.h"

static const char *P_ANNA[] = {"patient=Patient/anna", NULL};
static const char *P_NOONE[] = {"patient=Patient/nobody", NULL};

static json_t *endpoint_of(const ob_api_response *r, const char *client)
{
    size_t i;
    json_t *en;
    json_array_foreach(json_object_get(r->body, "entry"), i, en)
    {
        json_t *res = json_object_get(en, "resource");
        const char *v = json_string_value(
            json_object_get(json_array_get(json_object_get(res, "identifier"), 0), "value"));
        if (v && strcmp(v, client) == 0)
            return res;
    }
    return NULL;
}

static void state(void **state_)
{
    (void)state_;
    af f;
    af_open(&f, "sources");
    static const char *const quiet[] = {
        "{\"type\":\"source\",\"client_id\":\"quiet-sys\",\"site\":\"gp-2\",\"go_live\":"
        "\"2020-01-01\",\"name\":\"Stille system\",\"max_silence_hours\":24}"};
    af_load(&f, quiet, 1);
    af_load_anna_items(&f);
    ob_caller dr = af_pro(&f, "gp1-dr", "gp-1", NULL), anna = af_citizen(&f, "anna", NULL);
    ob_caller gp1 = af_source(&f, "gp1-sys", "gp-1");
    ob_api_response r;
    /* the silent source counts as interrupted on its own (never delivered since 2020) */
    af_call(&f, &dr, "GET", "/Endpoint", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(af_total(&r), 4);
    json_t *q = endpoint_of(&r, "quiet-sys"), *g = endpoint_of(&r, "gp1-sys");
    assert_string_equal(json_string_value(json_object_get(q, "status")), "error");
    assert_string_equal(json_string_value(json_object_get(g, "status")), "active");
    assert_null(json_object_get(g, "extension")); /* no delivery yet */
    ob_api_response_release(&r);
    /* a delivery shows */
    af_call(&f, &gp1, "POST", "/MedicationStatement", NULL,
            "{\"resourceType\":\"MedicationStatement\",\"identifier\":[{\"system\":\"urn:g\","
            "\"value\":\"1\"}],\"status\":\"active\",\"medicationCodeableConcept\":{\"coding\":[{"
            "\"system\":\"http://www.whocc.no/atc\",\"code\":\"C09AA05\"}]},\"subject\":{"
            "\"identifier\":{\"system\":\"urn:oid:1.2.208.176.1.2\",\"value\":\"" AF_CPR_ANNA
            "\"}},\"effectiveDateTime\":\"2026-01-05T00:00:00Z\"}",
            &r);
    assert_int_equal(r.status, 201);
    ob_api_response_release(&r);
    af_call(&f, &dr, "GET", "/Endpoint", NULL, NULL, &r);
    assert_true(af_has(&r, "last-delivery"));
    ob_api_response_release(&r);
    /* one row per search kind: the silent source is named in each, for anna and for a
     * patient who does not exist alike */
    ob_err e = {0};
    const struct {
        const char *why;
        const ob_caller *c;
        const char *method, *path;
        const char *const *params;
        const char *body;
    } rows[] = {
        {"Observation search", &dr, "GET", "/Observation", P_ANNA, NULL},
        {"Appointment search (written as text)", &dr, "GET", "/Appointment", P_ANNA, NULL},
        {"the patient's own search", &anna, "GET", "/MedicationStatement", P_ANNA, NULL},
        {"$everything", &dr, "GET", "/Patient/anna/$everything", NULL, NULL},
        {"a patient who does not exist: the same note", &dr, "GET", "/Observation", P_NOONE, NULL},
    };
    for (int phase = 0; phase < 3; phase++) {
        if (phase == 1) { /* the operator declares gp2-sys interrupted too, then resumes */
            if (ob_hub_source_declare(f.h, "gp2-sys", ob_time_now() - 600,
                                      "EG Clinea leverer ikke (driftsforstyrrelse)", &e))
                fail_msg("declare: %s", e.msg);
        } else if (phase == 2) {
            if (ob_hub_source_declare(f.h, "gp2-sys", 0, NULL, &e))
                fail_msg("resume: %s", e.msg);
        }
        for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
            af_call(&f, rows[i].c, rows[i].method, rows[i].path, rows[i].params, rows[i].body, &r);
            char *t = af_text(&r);
            if (r.status != 200 || !strstr(t, "\"incomplete\"") || !strstr(t, "Stille system"))
                fail_msg("%s (phase %d): %d %s", rows[i].why, phase, r.status, t);
            bool named = strstr(t, "driftsforstyrrelse") != NULL;
            if (named != (phase == 1))
                fail_msg("%s (phase %d): the declared interruption %s", rows[i].why, phase,
                         named ? "shown" : "missing");
            free(t);
            ob_api_response_release(&r);
        }
    }
    /* an interruption needs a reason without a CPR number; an unknown source is refused */
    assert_int_equal(ob_hub_source_declare(f.h, "gp2-sys", ob_time_now(), "", &e), OB_EINVAL);
    assert_int_equal(ob_hub_source_declare(f.h, "gp2-sys", ob_time_now(), "ring 0101901234", &e),
                     OB_EINVAL);
    assert_int_equal(ob_hub_source_declare(f.h, "nope", ob_time_now(), "x", &e), OB_ENOTFOUND);
    /* a read of one Endpoint, and of none */
    af_call(&f, &dr, "GET", "/Endpoint/source-1", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_true(af_has(&r, "\"managingOrganization\""));
    ob_api_response_release(&r);
    af_call(&f, &dr, "GET", "/Endpoint/source-99", NULL, NULL, &r);
    assert_int_equal(r.status, 404);
    ob_api_response_release(&r);
    af_close(&f);
}

/* An access report (R-SRC-3): accessor name, observer unit, patient CPR, time. */
static char *report(char *b, size_t cap, const char *who, const char *unit, const char *cpr,
                    const char *when)
{
    snprintf(b, cap,
             "{\"resourceType\":\"AuditEvent\",\"type\":{\"system\":\"http://dicom.nema.org/"
             "resources/ontology/DCM\",\"code\":\"110110\"},\"action\":\"R\",\"recorded\":"
             "\"%s\",\"outcome\":\"0\",\"purposeOfEvent\":[{\"coding\":[{\"code\":\"TREAT\"}]}],"
             "\"agent\":[{\"who\":{\"identifier\":{\"value\":\"0C9D8\"},\"display\":\"%s\"},"
             "\"requestor\":true,\"role\":[{\"text\":\"læge\"}]}],\"source\":{\"observer\":{"
             "\"reference\":\"Organization/%s\"}},\"entity\":[{\"what\":{\"identifier\":{"
             "\"system\":\"urn:oid:1.2.208.176.1.2\",\"value\":\"%s\"}}},{\"name\":"
             "\"journalnotat\"}]}",
             when, who, unit, cpr);
    return b;
}

/* R-SRC-3: a source's report of an access in its own system enters the patient's log (the
 * same chain, proved like any entry) and the citizen's AuditEvent search; a report about
 * another organisation is refused and the refusal logged. */
static void reported_accesses(void **state_)
{
    (void)state_;
    af f;
    af_open(&f, "source-audit");
    ob_caller epj = af_source(&f, "epj-hosp", "hosp"), gp1 = af_source(&f, "gp1-sys", "gp-1");
    ob_caller anna = af_citizen(&f, "anna", NULL), dr = af_pro(&f, "gp1-dr", "gp-1", NULL);
    char when[32], future[32], b[4096];
    ob_time_format(ob_time_now() - 3600, when);
    ob_time_format(ob_time_now() + 86400, future);
    ob_api_response r;
    af_call(&f, &epj, "POST", "/AuditEvent", NULL,
            report(b, sizeof b, "Dea Eng", "hosp-psyk", AF_CPR_ANNA, when), &r);
    if (r.status != 201) {
        char *t = af_text(&r);
        fail_msg("report: %d %s", r.status, t);
    }
    const char *loc = strrchr(r.location, '/');
    assert_non_null(loc);
    char prove[96];
    snprintf(prove, sizeof prove, "/AuditEvent/%s/$prove", loc + 1);
    ob_api_response_release(&r);
    /* the citizen sees it beside the hub's own entries, the source as observer */
    af_call(&f, &anna, "GET", "/AuditEvent", P_ANNA, NULL, &r);
    char *t = af_text(&r);
    if (!strstr(t, "reported by that system: journalnotat") ||
        !strstr(t, "\"observer\":{\"display\":\"Psykiatrisk afdeling\",\"reference\":"
                   "\"Organization/hosp-psyk\"}") ||
        !strstr(t, "Dea Eng"))
        fail_msg("the citizen's log: %s", t);
    free(t);
    ob_api_response_release(&r);
    /* and it is proved by the log's signed checkpoint like any entry */
    af_call(&f, &anna, "GET", prove, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    const char *proof = NULL;
    json_t *ps = json_object_get(r.body, "parameter");
    for (size_t i = 0; i < json_array_size(ps); i++)
        if (strcmp(json_string_value(json_object_get(json_array_get(ps, i), "name")), "proof") == 0)
            proof = json_string_value(json_object_get(json_array_get(ps, i), "valueString"));
    assert_non_null(proof);
    ob_log_proof pr;
    ob_err e = {0};
    if (ob_log_proof_from_json(proof, &pr, &e) || ob_log_proof_check(&pr, f.h->keys.sign_pk, &e))
        fail_msg("proof: %s", e.msg);
    ob_log_proof_free(&pr);
    ob_api_response_release(&r);
    /* refusals, one row each; each logged about anna except the unknown patient */
    const struct {
        const char *why;
        const ob_caller *c;
        const char *who, *unit, *cpr, *when;
        int status;
        size_t logged;
    } rows[] = {
        {"R-SRC-3 another organisation's access is refused", &gp1, "Bo Berg", "hosp-med",
         AF_CPR_ANNA, when, 403, 1},
        {"R-SRC-3 a hospital is not a GP system's organisation", &gp1, "Bo Berg", "hosp",
         AF_CPR_ANNA, when, 403, 1},
        {"R-CPR-3 a CPR number in the person's name", &epj, "Dea 010190-1234", "hosp-med",
         AF_CPR_ANNA, when, 400, 0},
        {"an access in the future", &epj, "Dea Eng", "hosp-med", AF_CPR_ANNA, future, 400, 0},
        {"a patient the hub does not know", &epj, "Dea Eng", "hosp-med", AF_CPR_NONE, when, 400, 0},
        {"a professional cannot report", &dr, "Dea Eng", "gp-1", AF_CPR_ANNA, when, 403, 0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        af_log_count before = af_log(&f, "anna", NULL);
        af_call(&f, rows[i].c, "POST", "/AuditEvent", NULL,
                report(b, sizeof b, rows[i].who, rows[i].unit, rows[i].cpr, rows[i].when), &r);
        t = af_text(&r);
        if (r.status != rows[i].status || strstr(t, "0101901234") || strstr(t, "040475"))
            fail_msg("%s: %d %s", rows[i].why, r.status, t);
        free(t);
        ob_api_response_release(&r);
        if (af_log(&f, "anna", NULL).n != before.n + rows[i].logged)
            fail_msg("%s: %zu entries logged", rows[i].why, af_log(&f, "anna", NULL).n - before.n);
    }
    af_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(state),
        cmocka_unit_test(reported_accesses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_consent.c - FHIR Consent through ob_api_handle: blocks (R-BLK-1..5) and
 * consents (R-CON-1..3) on a hub over a temporary database (fhir2_fixture.h). Each row
 * cites the requirement it covers; the effect of a change is checked through
 * ob_hub_decide, and refused input is checked to change nothing (R-API-5). */
#include "unit/api/fhir2_fixture.h"
#include "fhir/consent.h"

#define SCOPE(code)                                                                                \
    "\"scope\":{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/"                  \
    "consentscope\",\"code\":\"" code "\"}]},"
#define CATEGORY                                                                                   \
    "\"category\":[{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"59284-0\"}]}],"
#define ACTOR(ref)                                                                                 \
    "\"actor\":[{\"role\":{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/"       \
    "v3-ParticipationType\",\"code\":\"IRCP\"}]},\"reference\":{\"reference\":\"" ref "\"}}]"
#define CLASS(cat)    "\"class\":[{\"system\":\"" OB_FHIR_CS_CATEGORY "\",\"code\":\"" cat "\"}]"
#define PURPOSE(code) "\"purpose\":[{\"system\":\"" OB_FHIR_CS_PURPOSE "\",\"code\":\"" code "\"}]"
#define PERIOD        "\"period\":{\"start\":\"2020-01-01\",\"end\":\"2099-12-31\"}"
#define TEXT          "\"sourceAttachment\":{\"title\":\"Din laege ma se dine proevesvar.\"},"

/* A Consent about patient with the given extra top-level elements and provision. */
static char *body(const char *patient, const char *scope, const char *extra, const char *prov)
{
    static char buf[4096];
    snprintf(buf, sizeof buf,
             "{\"resourceType\":\"Consent\",\"status\":\"active\",%s" CATEGORY
             "\"patient\":{\"reference\":\"Patient/%s\"},%s\"provision\":{%s}}",
             scope, patient, extra, prov);
    return buf;
}

static size_t count_changes(f2 *f)
{
    size_t n = 0;
    for (size_t i = 0; i < f->h->ix->npatients; i++) {
        const ob_patient *p = &f->h->ix->patients[i];
        n += p->nblocks + p->nconsents;
        for (uint16_t j = 0; j < p->nblocks; j++)
            n += p->blocks[j].active ? 100 : 0;
        for (uint16_t j = 0; j < p->nconsents; j++)
            n += p->consents[j].active ? 100 : 0;
    }
    return n;
}

typedef struct row {
    const char *req;       /* requirement id */
    const char *pro, *org; /* caller: a professional at org, or NULL for the citizen */
    const char *citizen;
    const char *patient;
    const char *scope, *extra, *prov;
    int status;
    const char *diag; /* part of the diagnostics for a refusal */
} row;

static const row create_rows[] = {
    {"R-BLK-1a professional block", NULL, NULL, "anna", "anna", SCOPE("patient-privacy"), "",
     "\"type\":\"deny\"," ACTOR("Practitioner/spec_doc"), 201, NULL},
    {"R-BLK-1b site block with period and categories", NULL, NULL, "anna", "anna",
     SCOPE("patient-privacy"), "",
     "\"type\":\"deny\"," PERIOD "," ACTOR("Organization/cardio") "," CLASS("diagnosis"), 201,
     NULL},
    {"R-BLK-1c period block", NULL, NULL, "anna", "anna", SCOPE("patient-privacy"), "",
     "\"type\":\"deny\",\"dataPeriod\":{\"start\":\"2024-04-01\",\"end\":\"2024-06-01\"}", 201,
     NULL},
    {"R-BLK-2 hospital professional refused, site suggested", NULL, NULL, "anna", "anna",
     SCOPE("patient-privacy"), "", "\"type\":\"deny\"," ACTOR("Practitioner/hosp_doc"), 422,
     "Kardiologisk Afdeling"},
    {"R-BLK-3 the patient's GP on their behalf", "gp_doc", "gp_a", NULL, "anna",
     SCOPE("patient-privacy"), "", "\"type\":\"deny\"," ACTOR("Organization/spec"), 201, NULL},
    {"R-BLK-3 a non-authorised GP secretary may not", "gp_sec", "gp_a", NULL, "anna",
     SCOPE("patient-privacy"), "", "\"type\":\"deny\"," ACTOR("Organization/spec"), 403,
     "only the patient"},
    {"R-BLK-3 another clinic's doctor may not", "spec_doc", "spec", NULL, "anna",
     SCOPE("patient-privacy"), "", "\"type\":\"deny\"," ACTOR("Organization/cardio"), 403,
     "only the patient"},
    {"R-BLK-3 hidden vs non-existent patient: same 403", "spec_doc", "spec", NULL, "nobody",
     SCOPE("patient-privacy"), "", "\"type\":\"deny\"," ACTOR("Organization/cardio"), 403,
     "only the patient"},
    {"attorney may not create (docs/decisions.md)", NULL, NULL, "dorte", "anna",
     SCOPE("patient-privacy"), "", "\"type\":\"deny\"," ACTOR("Organization/cardio"), 403,
     "only the patient"},
    {"R-BLK-1 another patient may not", NULL, NULL, "bent", "anna", SCOPE("patient-privacy"), "",
     "\"type\":\"deny\"," ACTOR("Organization/cardio"), 403, "only the patient"},
    {"R-CON-3 prevention consent to a professional", NULL, NULL, "anna", "anna", SCOPE("treatment"),
     TEXT,
     "\"type\":\"permit\"," PERIOD
     "," ACTOR("Practitioner/spec_doc") "," PURPOSE("prevention") "," CLASS("lab_result"),
     201, NULL},
    {"R-CON-3 sharing with a kind of site", NULL, NULL, "anna", "anna", SCOPE("patient-privacy"),
     TEXT,
     "\"type\":\"permit\"," PERIOD ",\"actor\":[{\"reference\":{\"type\":\"Organization\","
     "\"identifier\":{\"system\":\"" OB_FHIR_CS_ORG_KIND "\",\"value\":\"municipal_unit\"}}}],"
     "\"purpose\":[{\"system\":\"" OB_FHIR_CS_PURPOSE "\",\"code\":\"SHARING\"}],"
     "" CLASS("clinical_note"),
     201, NULL},
    {"R-CON-3 research consent for a project (HRESCH)", NULL, NULL, "anna", "anna",
     SCOPE("research"), TEXT,
     "\"type\":\"permit\"," PERIOD
     "," ACTOR("ResearchStudy/proj") ",\"purpose\":[{\"system\":\"" OB_FHIR_V3_ACTREASON
                                     "\",\"code\":\"HRESCH\"}]," CLASS("diagnosis"),
     201, NULL},
    {"R-CON-1 oral consent recorded by the professional who took it", "spec_doc", "spec", NULL,
     "anna", SCOPE("treatment"),
     TEXT "\"extension\":[{\"url\":\"" OB_FHIR_EXT_FORM
          "\",\"valueCode\":\"oral\"},{\"url\":\"" OB_FHIR_EXT_TAKEN_BY
          "\",\"valueReference\":{\"reference\":\"Practitioner/spec_doc\"}}],",
     "\"type\":\"permit\"," PERIOD
     "," ACTOR("Organization/cardio") "," PURPOSE("override") "," CLASS("diagnosis"),
     201, NULL},
    {"R-CON-1 (issue 24) an oral consent naming the recorder's own site is refused", "spec_doc",
     "spec", NULL, "anna", SCOPE("treatment"),
     TEXT "\"extension\":[{\"url\":\"" OB_FHIR_EXT_FORM
          "\",\"valueCode\":\"oral\"},{\"url\":\"" OB_FHIR_EXT_TAKEN_BY
          "\",\"valueReference\":{\"reference\":\"Practitioner/spec_doc\"}}],",
     "\"type\":\"permit\"," PERIOD
     "," ACTOR("Organization/spec") "," PURPOSE("override") "," CLASS("diagnosis"),
     422, "yourself"},
    {"R-CON-1 (issue 24) an oral consent naming the recorder is refused", "spec_doc", "spec", NULL,
     "anna", SCOPE("treatment"),
     TEXT "\"extension\":[{\"url\":\"" OB_FHIR_EXT_FORM
          "\",\"valueCode\":\"oral\"},{\"url\":\"" OB_FHIR_EXT_TAKEN_BY
          "\",\"valueReference\":{\"reference\":\"Practitioner/spec_doc\"}}],",
     "\"type\":\"permit\"," PERIOD
     "," ACTOR("Practitioner/spec_doc") "," PURPOSE("sharing") "," CLASS("diagnosis"),
     422, "yourself"},
    {"R-CON-1 (issue 24) an oral consent by a professional who does not treat the patient: the "
     "answer of a patient who does not exist",
     "spec_doc", "spec", NULL, "bent", SCOPE("treatment"),
     TEXT "\"extension\":[{\"url\":\"" OB_FHIR_EXT_FORM
          "\",\"valueCode\":\"oral\"},{\"url\":\"" OB_FHIR_EXT_TAKEN_BY
          "\",\"valueReference\":{\"reference\":\"Practitioner/spec_doc\"}}],",
     "\"type\":\"permit\"," PERIOD
     "," ACTOR("Organization/cardio") "," PURPOSE("sharing") "," CLASS("diagnosis"),
     403, "only the patient"},
    {"R-CON-1 missing purpose", NULL, NULL, "anna", "anna", SCOPE("treatment"), TEXT,
     "\"type\":\"permit\"," PERIOD "," ACTOR("Practitioner/spec_doc") "," CLASS("lab_result"), 400,
     "purpose"},
    {"R-CON-1 missing recipient", NULL, NULL, "anna", "anna", SCOPE("treatment"), TEXT,
     "\"type\":\"permit\"," PERIOD "," PURPOSE("prevention") "," CLASS("lab_result"), 400,
     "recipient"},
    {"R-CON-1 missing text", NULL, NULL, "anna", "anna", SCOPE("treatment"), "",
     "\"type\":\"permit\"," PERIOD
     "," ACTOR("Practitioner/spec_doc") "," PURPOSE("prevention") "," CLASS("lab_result"),
     400, "text"},
    {"R-CON-1 missing period end", NULL, NULL, "anna", "anna", SCOPE("treatment"), TEXT,
     "\"type\":\"permit\",\"period\":{\"start\":\"2020-01-01\"}," ACTOR(
         "Practitioner/spec_doc") "," PURPOSE("prevention") "," CLASS("lab_result"),
     400, "period"},
    {"R-CON-1 missing categories", NULL, NULL, "anna", "anna", SCOPE("treatment"), TEXT,
     "\"type\":\"permit\"," PERIOD "," ACTOR("Practitioner/spec_doc") "," PURPOSE("prevention"),
     400, "categories"},
    {"R-CON-1 oral without who took it", NULL, NULL, "anna", "anna", SCOPE("treatment"),
     TEXT "\"extension\":[{\"url\":\"" OB_FHIR_EXT_FORM "\",\"valueCode\":\"oral\"}],",
     "\"type\":\"permit\"," PERIOD
     "," ACTOR("Practitioner/spec_doc") "," PURPOSE("prevention") "," CLASS("lab_result"),
     400, "who took it"},
    {"R-API-5 unknown element", NULL, NULL, "anna", "anna", SCOPE("patient-privacy"), "\"foo\":1,",
     "\"type\":\"deny\"," ACTOR("Practitioner/spec_doc"), 400, "unknown element"},
    {"R-API-5 unknown element in provision", NULL, NULL, "anna", "anna", SCOPE("patient-privacy"),
     "", "\"type\":\"deny\",\"foo\":1," ACTOR("Practitioner/spec_doc"), 400, "unknown element"},
    {"R-CPR-2 an element named with a CPR number is not echoed", NULL, NULL, "anna", "anna",
     SCOPE("patient-privacy"), "\"0101901234\":1,",
     "\"type\":\"deny\"," ACTOR("Practitioner/spec_doc"), 400, "(a name not shown)"},
    {"R-API-5 wrong type", NULL, NULL, "anna", "anna", SCOPE("patient-privacy"), "",
     "\"type\":\"deny\",\"period\":\"2024\"", 400, "JSON object"},
    {"R-API-5 unknown category code", NULL, NULL, "anna", "anna", SCOPE("patient-privacy"), "",
     "\"type\":\"deny\"," ACTOR("Practitioner/spec_doc") "," CLASS("horoscope"), 400,
     "unknown data category"},
    {"R-API-5 unknown scope code", NULL, NULL, "anna", "anna", SCOPE("adr"), "",
     "\"type\":\"deny\"," ACTOR("Practitioner/spec_doc"), 400, "unknown code"},
    {"R-API-5 unknown purpose code", NULL, NULL, "anna", "anna", SCOPE("treatment"), TEXT,
     "\"type\":\"permit\"," PERIOD
     "," ACTOR("Practitioner/spec_doc") "," PURPOSE("marketing") "," CLASS("lab_result"),
     400, "unknown purpose"},
    {"R-API-5 unknown extension", NULL, NULL, "anna", "anna", SCOPE("patient-privacy"),
     "\"extension\":[{\"url\":\"http://example.org/x\",\"valueBoolean\":true}],",
     "\"type\":\"deny\"," ACTOR("Practitioner/spec_doc"), 400, "unknown extension"},
    {"R-API-5 unknown practitioner", NULL, NULL, "anna", "anna", SCOPE("patient-privacy"), "",
     "\"type\":\"deny\"," ACTOR("Practitioner/nobody"), 400, "no such id"},
    {"R-CPR-2 a CPR number as the practitioner id is not echoed", NULL, NULL, "anna", "anna",
     SCOPE("patient-privacy"), "", "\"type\":\"deny\"," ACTOR("Practitioner/0101901234"), 400,
     "no such id"},
    {"R-API-5 provision type", NULL, NULL, "anna", "anna", SCOPE("patient-privacy"), "",
     "\"type\":\"maybe\"", 400, "deny"},
    {"R-BLK-1c a period block needs its dataPeriod", NULL, NULL, "anna", "anna",
     SCOPE("patient-privacy"), "", "\"type\":\"deny\"", 400, "dataPeriod"},
};

static ob_caller row_caller(f2 *f, const row *r)
{
    return r->pro ? f2_prof(f, r->pro, r->org) : f2_citizen(f, r->citizen);
}

static void test_create_rows(void **state)
{
    (void)state;
    f2 *f = f2_open("consent-create");
    char forbidden[512] = "";
    for (size_t i = 0; i < sizeof create_rows / sizeof create_rows[0]; i++) {
        const row *r = &create_rows[i];
        ob_caller c = row_caller(f, r);
        size_t before = count_changes(f);
        uint64_t log_before = f2_log_size(f);
        ob_api_response res =
            f2_call(f, &c, "POST", "/Consent", body(r->patient, r->scope, r->extra, r->prov), NULL);
        if (res.status != r->status)
            fail_msg("%s: status %d, want %d (%s)", r->req, res.status, r->status, f2_diag(&res));
        if (r->status == 201) {
            assert_int_equal(count_changes(f), before + 101);
            assert_true(strncmp(res.location, "http://127.0.0.1:8080/fhir/Consent/", 35) == 0);
            assert_string_equal(json_string_value(json_object_get(res.body, "status")), "active");
        } else {
            /* R-API-5: a refusal changes nothing; R-LOG-1 (issue 24): a refused attempt
             * (403, 422) is logged, once; malformed input (400) is not an attempt */
            uint64_t want = log_before + (r->status == 403 || r->status == 422);
            if (count_changes(f) != before || f2_log_size(f) != want)
                fail_msg("%s: a refused request changed something (log %llu, want %llu)", r->req,
                         (unsigned long long)f2_log_size(f), (unsigned long long)want);
            if (!strstr(f2_diag(&res), r->diag))
                fail_msg("%s: diagnostics '%s' lack '%s'", r->req, f2_diag(&res), r->diag);
            assert_null(strstr(f2_diag(&res), "010190")); /* R-CPR-2 */
        }
        if (r->status == 403) {
            /* the same answer whether or not the patient exists */
            char *t = json_dumps(res.body, JSON_SORT_KEYS);
            if (forbidden[0])
                assert_string_equal(t, forbidden);
            else
                snprintf(forbidden, sizeof forbidden, "%s", t);
            free(t);
        }
        ob_api_response_release(&res);
    }
    f2_close(f);
}

static const char *block_of(const char *patient, const char *actor_ref)
{
    static char prov[512];
    snprintf(prov, sizeof prov,
             "\"type\":\"deny\",\"actor\":[{\"role\":{\"coding\":[{\"system\":\"http://"
             "terminology.hl7.org/CodeSystem/v3-ParticipationType\",\"code\":\"IRCP\"}]},"
             "\"reference\":{\"reference\":\"%s\"}}]",
             actor_ref);
    return body(patient, SCOPE("patient-privacy"), "", prov);
}

/* R-BLK-1a/b/c, R-BLK-5: the effect is immediate, and lifting restores access. */
static void test_block_effect_and_lift(void **state)
{
    (void)state;
    f2 *f = f2_open("consent-effect");
    ob_caller anna = f2_citizen(f, "anna");
    ob_caller spec = f2_prof(f, "spec_doc", "spec");
    ob_caller gp = f2_prof(f, "gp_doc", "gp_a");
    ob_caller gp2 = f2_prof(f, "gp_doc2", "gp_a");
    assert_true(f2_decide(f, &spec, "anna", OB_CAT_DIAGNOSIS, "gp_a").permit);

    /* R-BLK-1a: block the specialist; the next decision denies */
    ob_api_response r =
        f2_call(f, &anna, "POST", "/Consent", block_of("anna", "Practitioner/spec_doc"), NULL);
    assert_int_equal(r.status, 201);
    char id[64], path[96];
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(r.body, "id")));
    ob_decision d = f2_decide(f, &spec, "anna", OB_CAT_DIAGNOSIS, "gp_a");
    assert_false(d.permit);
    assert_int_equal(d.rule, OB_RULE_BLK_4);

    /* R-BLK-5: nobody else lifts it; another GP cannot, a stranger does not see it */
    json_object_set_new(r.body, "status", json_string("inactive"));
    char *put = json_dumps(r.body, 0);
    snprintf(path, sizeof path, "/Consent/%s", id);
    ob_api_response x = f2_call(f, &gp, "PUT", path, put, NULL);
    assert_int_equal(x.status, 404); /* the GP did not set it: not even shown (issue 24) */
    ob_api_response_release(&x);
    x = f2_call(f, &spec, "PUT", path, put, NULL);
    assert_int_equal(x.status, 404); /* not visible: same as non-existent */
    ob_api_response y = f2_call(f, &spec, "PUT", "/Consent/block-999", put, NULL);
    assert_int_equal(y.status, 404);
    char *xa = json_dumps(x.body, JSON_SORT_KEYS), *ya = json_dumps(y.body, JSON_SORT_KEYS);
    assert_string_equal(xa, ya);
    free(xa);
    free(ya);
    ob_api_response_release(&x);
    ob_api_response_release(&y);
    assert_false(f2_decide(f, &spec, "anna", OB_CAT_DIAGNOSIS, "gp_a").permit);
    /* the patient lifts it: effective at once, the Consent stays readable as inactive */
    x = f2_call(f, &anna, "PUT", path, put, NULL);
    assert_int_equal(x.status, 200);
    assert_string_equal(json_string_value(json_object_get(x.body, "status")), "inactive");
    ob_api_response_release(&x);
    assert_true(f2_decide(f, &spec, "anna", OB_CAT_DIAGNOSIS, "gp_a").permit);
    x = f2_call(f, &anna, "PUT", path, put, NULL);
    assert_int_equal(x.status, 409); /* already lifted */
    ob_api_response_release(&x);
    free(put);
    ob_api_response_release(&r);

    /* R-BLK-1b: a site block hides cardiology's data from the specialist */
    r = f2_call(f, &anna, "POST", "/Consent", block_of("anna", "Organization/hosp"), NULL);
    assert_int_equal(r.status, 201);
    assert_false(f2_decide(f, &spec, "anna", OB_CAT_DIAGNOSIS, "cardio").permit); /* sub-unit */
    assert_true(f2_decide(f, &spec, "anna", OB_CAT_DIAGNOSIS, "gp_a").permit);
    ob_api_response_release(&r);

    /* R-BLK-1c: a period block hides data from the period (items are 2024-05-01) */
    r = f2_call(f, &anna, "POST", "/Consent",
                body("anna", SCOPE("patient-privacy"), "",
                     "\"type\":\"deny\",\"dataPeriod\":{\"start\":\"2024-04-01\",\"end\":"
                     "\"2024-06-01\"}"),
                NULL);
    assert_int_equal(r.status, 201);
    assert_false(f2_decide(f, &spec, "anna", OB_CAT_DIAGNOSIS, "gp_a").permit);
    ob_api_response_release(&r);

    /* R-BLK-3 + R-BLK-5: the GP sets a block; only that GP (or the patient) lifts it */
    r = f2_call(f, &gp, "POST", "/Consent", block_of("bent", "Practitioner/spec_doc"), NULL);
    assert_int_equal(r.status, 201);
    snprintf(path, sizeof path, "/Consent/%s", json_string_value(json_object_get(r.body, "id")));
    json_t *ext = json_object_get(r.body, "extension");
    char *et = json_dumps(ext, 0);
    assert_non_null(strstr(et, OB_FHIR_EXT_SET_BY_GP));
    assert_non_null(strstr(et, "Practitioner/gp_doc"));
    free(et);
    json_object_set_new(r.body, "status", json_string("inactive"));
    put = json_dumps(r.body, 0);
    x = f2_call(f, &gp2, "PUT", path, put, NULL);
    assert_int_equal(x.status, 404); /* a colleague does not even see it (issue 24) */
    ob_api_response_release(&x);
    x = f2_call(f, &gp, "PUT", path, put, NULL);
    assert_int_equal(x.status, 200);
    ob_api_response_release(&x);
    free(put);
    ob_api_response_release(&r);
    f2_close(f);
}

/* R-BLK-3: the block the GP set is shown to the patient as set by the GP; search and
 * read access; hidden vs non-existent. */
static void test_search_and_read(void **state)
{
    (void)state;
    f2 *f = f2_open("consent-search");
    ob_caller anna = f2_citizen(f, "anna");
    ob_caller gp = f2_prof(f, "gp_doc", "gp_a");
    ob_caller spec = f2_prof(f, "spec_doc", "spec");
    ob_caller gp2 = f2_prof(f, "gp_doc2", "gp_a");
    ob_caller dorte = f2_citizen(f, "dorte");
    dorte.purpose = OB_PURPOSE_ATTORNEY;
    ob_api_response r =
        f2_call(f, &gp, "POST", "/Consent", block_of("anna", "Organization/cardio"), NULL);
    assert_int_equal(r.status, 201);
    char path[96];
    snprintf(path, sizeof path, "/Consent/%s", json_string_value(json_object_get(r.body, "id")));
    ob_api_response_release(&r);

    static const char *const p_anna[] = {"patient=Patient/anna", NULL};
    static const char *const p_none[] = {"patient=Patient/nobody", NULL};
    struct {
        const ob_caller *c;
        size_t total;
    } rows[] = {{&anna, 1}, {&gp, 1}, {&dorte, 1}, {&spec, 0}, {&gp2, 0} /* issue 24 */};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        r = f2_call(f, rows[i].c, "GET", "/Consent", NULL, p_anna);
        assert_int_equal(r.status, 200);
        assert_int_equal(f2_total(&r), rows[i].total);
        if (rows[i].total) {
            json_t *res =
                json_object_get(json_array_get(json_object_get(r.body, "entry"), 0), "resource");
            char *t = json_dumps(res, 0);
            assert_non_null(strstr(t, OB_FHIR_EXT_SET_BY_GP)); /* R-BLK-3: shown as such */
            assert_non_null(strstr(t, "\"performer\": [{\"reference\": \"Practitioner/gp_doc\""));
            free(t);
        }
        ob_api_response_release(&r);
    }
    /* hidden vs non-existent: identical bodies */
    r = f2_call(f, &spec, "GET", "/Consent", NULL, p_anna);
    ob_api_response n = f2_call(f, &spec, "GET", "/Consent", NULL, p_none);
    char *a = twin_text(r.body), *b = twin_text(n.body);
    assert_string_equal(a, b);
    free(a);
    free(b);
    ob_api_response_release(&r);
    ob_api_response_release(&n);
    r = f2_call(f, &spec, "GET", path, NULL, NULL);
    n = f2_call(f, &spec, "GET", "/Consent/block-4711", NULL, NULL);
    assert_int_equal(r.status, 404);
    assert_int_equal(n.status, 404);
    a = json_dumps(r.body, JSON_SORT_KEYS);
    b = json_dumps(n.body, JSON_SORT_KEYS);
    assert_string_equal(a, b);
    free(a);
    free(b);
    ob_api_response_release(&r);
    ob_api_response_release(&n);
    r = f2_call(f, &anna, "GET", path, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(json_object_get(r.body, "resourceType")), "Consent");
    ob_api_response_release(&r);
    /* the attorney reads but does not lift */
    r = f2_call(f, &dorte, "GET", path, NULL, NULL);
    assert_int_equal(r.status, 200);
    json_object_set_new(r.body, "status", json_string("inactive"));
    char *put = json_dumps(r.body, 0);
    ob_api_response_release(&r);
    r = f2_call(f, &dorte, "PUT", path, put, NULL);
    assert_int_equal(r.status, 403);
    ob_api_response_release(&r);
    free(put);
    /* reads are logged (R-ACC-9, R-LOG-1) */
    uint64_t before = f2_log_size(f);
    r = f2_call(f, &anna, "GET", "/Consent", NULL, p_anna);
    assert_int_equal(f2_log_size(f), before + 1);
    ob_api_response_release(&r);
    f2_close(f);
}

/* R-CON-2: revocation is effective at once, and the history is kept. */
static void test_consent_revoke(void **state)
{
    (void)state;
    f2 *f = f2_open("consent-revoke");
    ob_caller anna = f2_citizen(f, "anna");
    ob_caller spec = f2_prof(f, "spec_doc", "spec");
    spec.purpose = OB_PURPOSE_PREVENTION;
    assert_false(f2_decide(f, &spec, "anna", OB_CAT_LAB_RESULT, "gp_a").permit);
    ob_api_response r = f2_call(
        f, &anna, "POST", "/Consent",
        body("anna", SCOPE("treatment"), TEXT,
             "\"type\":\"permit\"," PERIOD
             "," ACTOR("Practitioner/spec_doc") "," PURPOSE("prevention") "," CLASS("lab_result")),
        NULL);
    assert_int_equal(r.status, 201);
    assert_true(f2_decide(f, &spec, "anna", OB_CAT_LAB_RESULT, "gp_a").permit); /* R-ACC-5 */
    char path[96];
    snprintf(path, sizeof path, "/Consent/%s", json_string_value(json_object_get(r.body, "id")));
    /* only status may change */
    json_t *changed = json_deep_copy(r.body);
    json_object_set_new(changed, "status", json_string("active"));
    char *t = json_dumps(changed, 0);
    ob_api_response x = f2_call(f, &anna, "PUT", path, t, NULL);
    assert_int_equal(x.status, 400);
    ob_api_response_release(&x);
    free(t);
    json_decref(changed);
    json_object_set_new(r.body, "status", json_string("inactive"));
    t = json_dumps(r.body, 0);
    x = f2_call(f, &anna, "PUT", path, t, NULL);
    assert_int_equal(x.status, 200);
    ob_api_response_release(&x);
    free(t);
    assert_false(f2_decide(f, &spec, "anna", OB_CAT_LAB_RESULT, "gp_a").permit);
    x = f2_call(f, &anna, "GET", path, NULL, NULL);
    assert_int_equal(x.status, 200);
    assert_string_equal(json_string_value(json_object_get(x.body, "status")), "inactive");
    t = json_dumps(x.body, 0);
    assert_non_null(strstr(t, OB_FHIR_EXT_REVOKED_AT));
    free(t);
    ob_api_response_release(&x);
    ob_api_response_release(&r);
    f2_close(f);
}

/* The Consent we render parses back to the same record kind (round trip). */
static void test_round_trip(void **state)
{
    (void)state;
    f2 *f = f2_open("consent-roundtrip");
    ob_caller anna = f2_citizen(f, "anna");
    ob_api_response r = f2_call(f, &anna, "POST", "/Consent",
                                body("anna", SCOPE("patient-privacy"), "",
                                     "\"type\":\"deny\"," PERIOD
                                     "," ACTOR("Organization/hosp") "," CLASS("diagnosis")),
                                NULL);
    assert_int_equal(r.status, 201);
    json_object_del(r.body, "id");
    ob_fhir_consent fc;
    ob_err e = {0};
    if (ob_fhir_consent_parse(r.body, false, &fc, &e))
        fail_msg("round trip: %s", e.msg);
    assert_true(fc.is_block);
    assert_int_equal(fc.block_kind, OB_BLOCK_SITE);
    assert_string_equal(fc.target, "hosp");
    assert_int_equal(fc.include_subunits, 1);
    ob_api_response_release(&r);
    f2_close(f);
}

/* A period's end given as a date covers that whole day (FHIR R4 Period.end: "The high value
 * includes any matching date/time"); an end with a time ends at that second. The block is a
 * period block (R-BLK-1c) over the specialist's view of gp_a's diagnoses; each row opens its
 * own hub so the blocks do not add up. The rendered end must read back as the same end. */
static const struct {
    const char *req, *start, *end, *item; /* item: when the data item is dated */
    bool hidden;
    const char *shown_end; /* dataPeriod.end as the server renders it */
} end_rows[] = {
    {"R-BLK-1c date end covers its morning", "2024-04-01", "2024-05-01", "2024-05-01T00:00:00Z",
     true, "2024-05-01"},
    {"R-BLK-1c date end covers its evening", "2024-04-01", "2024-05-01", "2024-05-01T23:59:59Z",
     true, "2024-05-01"},
    {"R-BLK-1c date end stops at the next day", "2024-04-01", "2024-05-01", "2024-05-02T00:00:00Z",
     false, "2024-05-01"},
    {"R-BLK-1c time end covers that second", "2024-04-01", "2024-05-01T12:00:00Z",
     "2024-05-01T12:00:00Z", true, "2024-05-01T12:00:00Z"},
    {"R-BLK-1c time end stops after it", "2024-04-01", "2024-05-01T12:00:00Z",
     "2024-05-01T12:00:01Z", false, "2024-05-01T12:00:00Z"},
    {"R-BLK-1c midnight end keeps its time", "2024-04-01", "2024-05-01T00:00:00Z",
     "2024-05-01T00:00:01Z", false, "2024-05-01T00:00:00Z"},
    {"R-BLK-1c offset end is that instant", "2024-04-01", "2024-05-01T23:59:59+02:00",
     "2024-05-01T21:59:59Z", true, "2024-05-01T21:59:59Z"},
    {"R-BLK-1c date start covers its morning", "2024-05-01", "2024-05-01", "2024-05-01T00:00:00Z",
     true, "2024-05-01"},
    {"R-BLK-1c date start excludes the day before", "2024-05-01", "2024-05-01",
     "2024-04-30T23:59:59Z", false, "2024-05-01"},
    {"R-BLK-1c one-day period after a time start", "2024-05-01T10:00:00Z", "2024-05-01",
     "2024-05-01T18:00:00Z", true, "2024-05-01"},
};

static void test_period_ends(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof end_rows / sizeof end_rows[0]; i++) {
        f2 *f = f2_open("consent-ends");
        ob_caller anna = f2_citizen(f, "anna");
        ob_caller spec = f2_prof(f, "spec_doc", "spec");
        char prov[300];
        snprintf(prov, sizeof prov,
                 "\"type\":\"deny\",\"dataPeriod\":{\"start\":\"%s\",\"end\":\"%s\"}",
                 end_rows[i].start, end_rows[i].end);
        ob_api_response r = f2_call(f, &anna, "POST", "/Consent",
                                    body("anna", SCOPE("patient-privacy"), "", prov), NULL);
        if (r.status != 201)
            fail_msg("%s: status %d", end_rows[i].req, r.status);
        json_t *dp = json_object_get(json_object_get(r.body, "provision"), "dataPeriod");
        const char *shown = json_string_value(json_object_get(dp, "end"));
        if (!shown || strcmp(shown, end_rows[i].shown_end) != 0)
            fail_msg("%s: rendered end %s", end_rows[i].req, shown ? shown : "(none)");
        ob_time t;
        assert_int_equal(ob_time_parse(end_rows[i].item, &t, NULL), OB_OK);
        bool permit = f2_decide_at(f, &spec, "anna", OB_CAT_DIAGNOSIS, "gp_a", t).permit;
        if (permit == end_rows[i].hidden)
            fail_msg("%s: item %s %s", end_rows[i].req, end_rows[i].item,
                     permit ? "shown" : "hidden");
        ob_api_response_release(&r);
        f2_close(f);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_rows),     cmocka_unit_test(test_block_effect_and_lift),
        cmocka_unit_test(test_search_and_read), cmocka_unit_test(test_consent_revoke),
        cmocka_unit_test(test_round_trip),      cmocka_unit_test(test_period_ends),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

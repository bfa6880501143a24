/* test_documents.c - the rest of the patient overview over FHIR (issue 20, R-SRC-1, R-API-1):
 * MedicationStatement, Immunization and DocumentReference (clinical notes, discharge
 * summaries, treatment wills), written by their source system only, read through the
 * engine (hidden = absent, the block marker, one log entry per search), in the overview.
 * Drives ob_api_handle directly; every answer is validated as FHIR R4 by e2e/fhir_valid. */
#include "api_fixture.h"

#include <sodium.h>
#include <sqlite3.h>

#define CPR_SYS "urn:oid:1.2.208.176.1.2"
#define PSYK                                                                                       \
    ",\"extension\":[{\"url\":\"https://overblik.dk/fhir/StructureDefinition/"                     \
    "responsible-clinic\","                                                                        \
    "\"valueReference\":{\"reference\":\"Organization/hosp-psyk\"}}]"

static char bodies[40][8192];
static int nbody;

static char *next_buf(void)
{
    return bodies[nbody++ % 40];
}

/* A MedicationStatement: identifier value, patient CPR, ATC code, extra members. */
static char *med(const char *sys, const char *ident, const char *cpr, const char *atc,
                 const char *status, const char *extra)
{
    char *b = next_buf();
    snprintf(b, 8192,
             "{\"resourceType\":\"MedicationStatement\",\"identifier\":[{\"system\":\"%s\","
             "\"value\":\"%s\"}],\"status\":\"%s\",\"medicationCodeableConcept\":{\"coding\":[{"
             "\"system\":\"http://www.whocc.no/atc\",\"code\":\"%s\"}],\"text\":\"Ramipril 5 mg"
             "\"},\"subject\":{\"identifier\":{\"system\":\"" CPR_SYS "\",\"value\":\"%s\"}},"
             "\"effectivePeriod\":{\"start\":\"2026-01-05T00:00:00Z\"},\"dosage\":[{\"text\":\"1 "
             "tablet dagligt\"}]%s}",
             sys, ident, status, atc, cpr, extra ? extra : "");
    return b;
}

static char *imm(const char *sys, const char *ident, const char *cpr, const char *extra)
{
    char *b = next_buf();
    snprintf(b, 8192,
             "{\"resourceType\":\"Immunization\",\"identifier\":[{\"system\":\"%s\",\"value\":"
             "\"%s\"}],\"status\":\"completed\",\"vaccineCode\":{\"coding\":[{\"system\":"
             "\"http://www.whocc.no/atc\",\"code\":\"J07BB02\"}],\"text\":\"Influenzavaccine\"},"
             "\"patient\":{\"identifier\":{\"system\":\"" CPR_SYS "\",\"value\":\"%s\"}},"
             "\"occurrenceDateTime\":\"2026-10-01T10:00:00Z\",\"lotNumber\":\"T-036021\"%s}",
             sys, ident, cpr, extra ? extra : "");
    return b;
}

/* A DocumentReference of LOINC type loinc with text (plain; sent base64). */
static char *doc(const char *sys, const char *ident, const char *cpr, const char *loinc,
                 const char *text, const char *extra)
{
    char b64[4096];
    sodium_bin2base64(b64, sizeof b64, (const unsigned char *)text, strlen(text),
                      sodium_base64_VARIANT_ORIGINAL);
    char *b = next_buf();
    snprintf(b, 8192,
             "{\"resourceType\":\"DocumentReference\",\"identifier\":[{\"system\":\"%s\","
             "\"value\":\"%s\"}],\"status\":\"current\",\"type\":{\"coding\":[{\"system\":"
             "\"http://loinc.org\",\"code\":\"%s\"}]},\"subject\":{\"identifier\":{\"system\":"
             "\"" CPR_SYS "\",\"value\":\"%s\"}},\"date\":\"2026-11-02T08:30:00Z\","
             "\"description\":\"Notat (syntetisk)\",\"content\":[{\"attachment\":{\"contentType\":"
             "\"text/plain; charset=utf-8\",\"data\":\"%s\"}}]%s}",
             sys, ident, loinc, cpr, b64, extra ? extra : "");
    return b;
}

static int64_t item_rows(af *f)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    sqlite3_stmt *st;
    sqlite3_prepare_v2(db, "SELECT count(*) FROM items", -1, &st, NULL);
    sqlite3_step(st);
    int64_t n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

/* R-SRC-1: who writes what, one row per scenario; items rows counted after each. */
static void write_by_source(void **state)
{
    (void)state;
    af f;
    af_open(&f, "doc-write");
    static const char *const apt_only[] = {
        "{\"type\":\"source\",\"client_id\":\"apt-only\",\"site\":\"gp-2\",\"go_live\":"
        "\"2020-01-01\",\"operations\":[\"appointments\",\"read\"]}"};
    af_load(&f, apt_only, 1);
    ob_caller only_apts = af_source(&f, "apt-only", "gp-2");
    ob_caller gp1 = af_source(&f, "gp1-sys", "gp-1"), gp2 = af_source(&f, "gp2-sys", "gp-2");
    ob_caller epj = af_source(&f, "epj-hosp", "hosp"), rogue = af_source(&f, "rogue", "gp-1");
    ob_caller wrong_site = af_source(&f, "gp1-sys", "gp-2");
    ob_caller dr = af_pro(&f, "gp1-dr", "gp-1", NULL), anna = af_citizen(&f, "anna", NULL);
    const char *K1[] = {"identifier=urn:gp1:med|m-1", NULL};
    const char *KD[] = {"identifier=urn:gp1:med|d-1", NULL};
    const char *MED = "/MedicationStatement";
    const struct {
        const char *why;
        const ob_caller *c;
        const char *method, *path;
        const char *const *params;
        const char *if_match;
        const char *body;
        int want;
        int64_t rows; /* items after */
        const char *etag, *has, *lacks;
    } rows[] = {
        {"R-SRC-1 a source creates its own medication", &gp1, "POST", MED, NULL, NULL,
         med("urn:gp1:med", "m-1", AF_CPR_ANNA, "C09AA05", "active", NULL), 201, 1, "W/\"1\"",
         "\"value\":\"m-1\"", NULL},
        {"the same identifier again: 409, nothing written", &gp1, "POST", MED, NULL, NULL,
         med("urn:gp1:med", "m-1", AF_CPR_ANNA, "C09AA05", "active", NULL), 409, 1, NULL, NULL,
         NULL},
        {"R-SRC-1 another source cannot use gp1-sys's identifier system", &gp2, "PUT", MED, K1,
         NULL, med("urn:gp1:med", "m-1", AF_CPR_ANNA, "C09AA05", "stopped", NULL), 403, 1, NULL,
         NULL, NULL},
        {"the owner updates by identifier", &gp1, "PUT", MED, K1, NULL,
         med("urn:gp1:med", "m-1", AF_CPR_ANNA, "C09AA05", "completed", NULL), 200, 1, "W/\"2\"",
         "\"completed\"", NULL},
        {"If-Match at an old version: 412", &gp1, "PUT", MED, K1, "W/\"1\"",
         med("urn:gp1:med", "m-1", AF_CPR_ANNA, "C09AA05", "stopped", NULL), 412, 1, NULL, NULL,
         NULL},
        {"If-Match at the current version goes through", &gp1, "PUT", MED, K1, "W/\"2\"",
         med("urn:gp1:med", "m-1", AF_CPR_ANNA, "C09AA05", "stopped", NULL), 200, 1, "W/\"3\"",
         "\"stopped\"", NULL},
        {"the identifier names a medication: not an Immunization", &gp1, "PUT", "/Immunization", K1,
         NULL, imm("urn:gp1:med", "m-1", AF_CPR_ANNA, NULL), 409, 1, NULL, NULL, NULL},
        {"the URL's identifier differs from the resource's", &gp1, "PUT", MED, KD, NULL,
         med("urn:gp1:med", "m-1", AF_CPR_ANNA, "C09AA05", "active", NULL), 400, 1, NULL, NULL,
         NULL},
        {"T-SRC-2 a registration without 'items' cannot write them", &only_apts, "POST", MED, NULL,
         NULL, med("urn:apt-only", "x-0", AF_CPR_BENT, "C09AA05", "active", NULL), 403, 1, NULL,
         NULL, NULL},
        {"a professional cannot write", &dr, "POST", MED, NULL, NULL,
         med("urn:dr", "x-1", AF_CPR_ANNA, "C09AA05", "active", NULL), 403, 1, NULL, NULL, NULL},
        {"a citizen cannot write", &anna, "PUT", MED, K1, NULL,
         med("urn:gp1:med", "m-1", AF_CPR_ANNA, "C09AA05", "active", NULL), 403, 1, NULL, NULL,
         NULL},
        {"an unregistered client cannot write", &rogue, "POST", MED, NULL, NULL,
         med("urn:rogue", "x-2", AF_CPR_ANNA, "C09AA05", "active", NULL), 403, 1, NULL, NULL, NULL},
        {"a client acting for another site cannot write", &wrong_site, "POST", MED, NULL, NULL,
         med("urn:gp1:med", "x-3", AF_CPR_ANNA, "C09AA05", "active", NULL), 403, 1, NULL, NULL,
         NULL},
        {"unknown patient: 400, never the number", &gp1, "POST", MED, NULL, NULL,
         med("urn:gp1:med", "x-4", AF_CPR_NONE, "C09AA05", "active", NULL), 400, 1, NULL, NULL,
         "040475"},
        {"the responsible clinic must be the source's site or a unit of it", &gp1, "POST", MED,
         NULL, NULL, med("urn:gp1:med", "x-5", AF_CPR_ANNA, "C09AA05", "active", PSYK), 400, 1,
         NULL, NULL, NULL},
        {"a hospital system writes for its department", &epj, "POST", "/DocumentReference", NULL,
         NULL,
         doc("urn:epj:doc", "n-1", AF_CPR_ANNA, "11506-3",
             "Syntetisk notat: patienten har det godt.", PSYK),
         201, 2, "W/\"1\"", "\"Organization/hosp-psyk\"", NULL},
        {"R-CPR-3 a CPR number in a note's text is refused", &epj, "POST", "/DocumentReference",
         NULL, NULL,
         doc("urn:epj:doc", "n-2", AF_CPR_ANNA, "11506-3", "cpr 0101901234 nævnt", NULL), 400, 2,
         NULL, NULL, "0101901234"},
        {"R-CPR-2 a CPR number in an identifier is refused", &epj, "POST", "/DocumentReference",
         NULL, NULL, doc("urn:epj:doc", "0101901234", AF_CPR_ANNA, "11506-3", "x", NULL), 400, 2,
         NULL, NULL, "0101901234"},
        {"a follow-up flag on a clinical note is refused", &epj, "POST", "/DocumentReference", NULL,
         NULL,
         doc("urn:epj:doc", "n-3", AF_CPR_ANNA, "11506-3", "x",
             ",\"extension\":[{\"url\":\"https://overblik.dk/fhir/StructureDefinition/follow-up\","
             "\"extension\":[{\"url\":\"flag\",\"valueCodeableConcept\":{\"coding\":[{\"system\":"
             "\"https://overblik.dk/fhir/CodeSystem/follow-up-flag\",\"code\":\"red\"}]}}]}]"),
         400, 2, NULL, NULL, NULL},
        {"a link instead of the text is refused", &epj, "POST", "/DocumentReference", NULL, NULL,
         "{\"resourceType\":\"DocumentReference\",\"identifier\":[{\"system\":\"urn:epj:doc\","
         "\"value\":\"n-4\"}],\"status\":\"current\",\"type\":{\"coding\":[{\"system\":\"http://"
         "loinc.org\",\"code\":\"11506-3\"}]},\"subject\":{\"identifier\":{\"system\":\"" CPR_SYS
         "\",\"value\":\"" AF_CPR_ANNA "\"}},\"date\":\"2026-11-02T08:30:00Z\",\"content\":[{"
         "\"attachment\":{\"url\":\"https://epj.example/doc/1\"}}]}",
         400, 2, NULL, NULL, NULL},
        {"an unknown element is refused", &gp1, "POST", MED, NULL, NULL,
         med("urn:gp1:med", "x-6", AF_CPR_ANNA, "C09AA05", "active", ",\"derivedFrom\":[]"), 400, 2,
         NULL, NULL, NULL},
        {"a document type outside the three is refused", &epj, "POST", "/DocumentReference", NULL,
         NULL, doc("urn:epj:doc", "n-5", AF_CPR_ANNA, "34117-2", "x", NULL), 400, 2, NULL, NULL,
         NULL},
        {"R-SRC-1 the source withdraws (entered-in-error): gone from the overview", &gp1, "PUT",
         MED, K1, NULL, med("urn:gp1:med", "m-1", AF_CPR_ANNA, "C09AA05", "entered-in-error", NULL),
         200, 1, "W/\"4\"", "entered-in-error", NULL},
        {"withdrawing it again: nothing to withdraw", &gp1, "PUT", MED, K1, NULL,
         med("urn:gp1:med", "m-1", AF_CPR_ANNA, "C09AA05", "entered-in-error", NULL), 409, 1, NULL,
         NULL, NULL},
        {"written again: back, same id, next version", &gp1, "PUT", MED, K1, NULL,
         med("urn:gp1:med", "m-1", AF_CPR_ANNA, "C09AA05", "active", NULL), 200, 2, "W/\"5\"",
         "\"src-1\"", NULL},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        ob_api_response r;
        f.if_match = rows[i].if_match;
        af_call(&f, rows[i].c, rows[i].method, rows[i].path, rows[i].params, rows[i].body, &r);
        f.if_match = NULL;
        char *t = af_text(&r);
        if (r.status != rows[i].want)
            fail_msg("%s: want %d, got %d: %s", rows[i].why, rows[i].want, r.status, t);
        if (rows[i].etag && strcmp(r.etag, rows[i].etag) != 0)
            fail_msg("%s: ETag %s", rows[i].why, r.etag);
        if (rows[i].has && !strstr(t, rows[i].has))
            fail_msg("%s: %s lacks %s", rows[i].why, t, rows[i].has);
        if (rows[i].lacks && strstr(t, rows[i].lacks))
            fail_msg("%s: %s shows %s", rows[i].why, t, rows[i].lacks);
        free(t);
        ob_api_response_release(&r);
        if (item_rows(&f) != rows[i].rows)
            fail_msg("%s: %lld item rows", rows[i].why, (long long)item_rows(&f));
    }
    /* every write and every refusal about anna is in her log: 5 writes by gp1-sys (the
     * withdrawal among them), gp2-sys's refused one */
    assert_int_equal(af_log(&f, "anna", "MedicationStatement?source=gp1-sys").with_resource, 5);
    af_close(&f);
}

static const char *P_ANNA[] = {"patient=Patient/anna", NULL};

/* anna's items from every source: gp-1's medication and vaccination, hosp-med's note and
 * discharge summary, hosp-psyk's note and treatment will. */
static void load_world(af *f)
{
    ob_caller gp1 = af_source(f, "gp1-sys", "gp-1"), epj = af_source(f, "epj-hosp", "hosp");
    const char *follow =
        ",\"extension\":[{\"url\":\"https://overblik.dk/fhir/StructureDefinition/follow-up\","
        "\"extension\":[{\"url\":\"flag\",\"valueCodeableConcept\":{\"coding\":[{\"system\":"
        "\"https://overblik.dk/fhir/CodeSystem/follow-up-flag\",\"code\":\"yellow\"}]}},{\"url\":"
        "\"plan\",\"valueString\":\"Egen læge kontrollerer blodtryk om 2 uger\"}]}]";
    const struct {
        const ob_caller *c;
        const char *path, *body;
    } w[] = {
        {&gp1, "/MedicationStatement",
         med("urn:gp1:med", "m-1", AF_CPR_ANNA, "C09AA05", "active", NULL)},
        {&gp1, "/Immunization", imm("urn:gp1:vac", "v-1", AF_CPR_ANNA, NULL)},
        {&epj, "/DocumentReference",
         doc("urn:epj:doc", "n-1", AF_CPR_ANNA, "11506-3", "Syntetisk notat fra medicinsk afd.",
             NULL)},
        {&epj, "/DocumentReference",
         doc("urn:epj:doc", "e-1", AF_CPR_ANNA, "18842-5", "Syntetisk epikrise.", follow)},
        {&epj, "/DocumentReference",
         doc("urn:epj:doc", "n-2", AF_CPR_ANNA, "11506-3", "Syntetisk notat fra psykiatrien.",
             PSYK)},
        {&epj, "/DocumentReference",
         doc("urn:epj:doc", "t-1", AF_CPR_ANNA, "42348-3", "Syntetisk behandlingstestamente.",
             PSYK)},
    };
    for (size_t i = 0; i < sizeof w / sizeof w[0]; i++) {
        ob_api_response r;
        af_call(f, w[i].c, "POST", w[i].path, NULL, w[i].body, &r);
        if (r.status != 201) {
            char *t = af_text(&r);
            fail_msg("load %zu: %d %s", i, r.status, t);
        }
        ob_api_response_release(&r);
    }
}

/* Reads go through the engine: the patient sees all, a treating doctor what the rules give,
 * a site block hides hosp-psyk's items with the marker, and the hidden read answers as an
 * absent one; the data controller and the source's identifier come back. */
static void reads_decided(void **state)
{
    (void)state;
    af f;
    af_open(&f, "doc-read");
    load_world(&f);
    ob_caller anna = af_citizen(&f, "anna", NULL), med_dr = af_pro(&f, "med-dr", "hosp-med", NULL);
    const char *PD_NOTE[] = {"patient=Patient/anna", "category=clinical_note", NULL};
    const char *PD_LOINC[] = {"patient=Patient/anna", "type=http://loinc.org|18842-5", NULL};
    const char *PM_ATC[] = {"patient=Patient/anna", "code=C09AA05", NULL};
    const char *PM_NONE[] = {"patient=Patient/anna", "code=N02BE01", NULL};
    const char *PI_DATE[] = {"patient=Patient/anna", "date=ge2026-11-01", NULL};
    const char *PD_INC[] = {"patient=Patient/anna", "_include=DocumentReference:patient", NULL};
    const char *PM_SUM[] = {"patient=Patient/anna", "_summary=true", NULL};
    const char *PI_SUM[] = {"patient=Patient/anna", "_summary=true", NULL};
    const struct {
        const char *why;
        const ob_caller *c;
        const char *path;
        const char *const *params;
        int total;
        bool marker;
        const char *has, *lacks;
    } rows[] = {
        {"R-BLK-4 the patient sees all her documents", &anna, "/DocumentReference", P_ANNA, 4,
         false, "\"reference\":\"Organization/hosp-psyk\"}", NULL},
        {"the text and the follow-up come back", &anna, "/DocumentReference", PD_LOINC, 1, false,
         "\"code\":\"yellow\"", NULL},
        {"category filter before counting", &anna, "/DocumentReference", PD_NOTE, 2, false, NULL,
         "42348-3"},
        {"MedicationStatement: the source's identifier and controller", &anna,
         "/MedicationStatement", PM_ATC, 1, false, "\"value\":\"m-1\"", NULL},
        {"a code that matches nothing", &anna, "/MedicationStatement", PM_NONE, 0, false, NULL,
         NULL},
        {"Immunization before the date filter", &anna, "/Immunization", PI_DATE, 0, false, NULL,
         NULL},
        {"Immunization: the lot number comes back", &anna, "/Immunization", P_ANNA, 1, false,
         "\"lotNumber\":\"T-036021\"", NULL},
        {"R-SRC-1 Immunization: the performer is the data controller", &anna, "/Immunization",
         P_ANNA, 1, false, "\"performer\":[{\"actor\":{\"display\":\"Lægerne Torvet\"", NULL},
        {"R-SRC-1 MedicationStatement: informationSource is the data controller", &anna,
         "/MedicationStatement", P_ANNA, 1, false,
         "\"informationSource\":{\"display\":\"Lægerne Torvet\"", NULL},
        {"_summary=true keeps what R4 requires (validated by e2e/fhir_valid)", &anna,
         "/MedicationStatement", PM_SUM, 1, false, "\"medicationCodeableConcept\"", "dosage"},
        {"_summary=true on Immunization", &anna, "/Immunization", PI_SUM, 1, false,
         "\"occurrenceDateTime\"", "lotNumber"},
        {"_include adds the Patient", &anna, "/DocumentReference", PD_INC, 4, false,
         "\"resourceType\":\"Patient\"", NULL},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        ob_api_response r;
        af_call(&f, rows[i].c, "GET", rows[i].path, rows[i].params, NULL, &r);
        char *t = af_text(&r);
        if (r.status != 200 || af_total(&r) != rows[i].total || af_marker(&r) != rows[i].marker)
            fail_msg("%s: %d total %d marker %d: %s", rows[i].why, r.status, (int)af_total(&r),
                     af_marker(&r), t);
        if (rows[i].has && !strstr(t, rows[i].has))
            fail_msg("%s: lacks %s: %s", rows[i].why, rows[i].has, t);
        if (rows[i].lacks && strstr(t, rows[i].lacks))
            fail_msg("%s: shows %s", rows[i].why, rows[i].lacks);
        free(t);
        ob_api_response_release(&r);
    }
    /* the text round-trips through base64 */
    ob_api_response r;
    af_call(&f, &anna, "GET", "/DocumentReference", PD_LOINC, NULL, &r);
    json_t *att = json_object_get(
        json_object_get(
            json_array_get(
                json_object_get(json_object_get(json_array_get(json_object_get(r.body, "entry"), 0),
                                                "resource"),
                                "content"),
                0),
            "attachment"),
        "data");
    char plain[256];
    size_t len = 0;
    assert_int_equal(sodium_base642bin((unsigned char *)plain, sizeof plain - 1,
                                       json_string_value(att), strlen(json_string_value(att)), NULL,
                                       &len, NULL, sodium_base64_VARIANT_ORIGINAL),
                     0);
    plain[len] = '\0';
    assert_string_equal(plain, "Syntetisk epikrise.");
    ob_api_response_release(&r);
    /* a doctor of hosp-med, where anna is admitted; then a site block on hosp-psyk hides that
     * site's items, with the marker */
    af_call(&f, &med_dr, "GET", "/DocumentReference", P_ANNA, NULL, &r);
    assert_int_equal(r.status, 200);
    json_int_t before = af_total(&r);
    assert_int_equal(before, 4); /* R-ACC-1: treating (admitted), all four */
    ob_api_response_release(&r);
    af_change(&f, "{\"type\":\"block\",\"patient\":\"anna\",\"kind\":\"site\",\"target\":"
                  "\"hosp-psyk\"}");
    af_call(&f, &med_dr, "GET", "/DocumentReference", P_ANNA, NULL, &r);
    char *t = af_text(&r);
    assert_int_equal(r.status, 200);
    assert_int_equal(af_total(&r), 2);
    assert_true(af_marker(&r));
    assert_null(strstr(t, "psyk")); /* never which */
    free(t);
    ob_api_response_release(&r);
    /* hidden = absent: the blocked note's read answers as a read of no item */
    af_call(&f, &med_dr, "GET", "/DocumentReference/src-5", NULL, NULL, &r);
    assert_int_equal(r.status, 404);
    af_same_as(&f, &med_dr, "GET", "/DocumentReference/src-999", NULL, &r,
               "hidden read equals absent read");
    ob_api_response_release(&r);
    /* and the patient still sees it (R-BLK-4) */
    af_call(&f, &anna, "GET", "/DocumentReference/src-5", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    ob_api_response_release(&r);
    /* a read of a medication by the DocumentReference path finds nothing */
    af_call(&f, &anna, "GET", "/DocumentReference/src-1", NULL, NULL, &r);
    assert_int_equal(r.status, 404);
    ob_api_response_release(&r);
    af_close(&f);
}

/* The overview shows every category; each search is one log entry (R-LOG-1). */
static void overview_and_log(void **state)
{
    (void)state;
    af f;
    af_open(&f, "doc-overview");
    load_world(&f);
    ob_caller anna = af_citizen(&f, "anna", NULL);
    ob_api_response r;
    af_call(&f, &anna, "POST", "/Patient/$overview", NULL,
            "{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"patient\","
            "\"valueReference\":{\"reference\":\"Patient/anna\"}}]}",
            &r);
    char *t = af_text(&r);
    if (r.status != 200 || !strstr(t, "\"MedicationStatement\"") ||
        !strstr(t, "\"Immunization\"") || !strstr(t, "\"DocumentReference\""))
        fail_msg("overview: %d %s", r.status, t);
    free(t);
    ob_api_response_release(&r);
    af_log_count before = af_log(&f, "anna", NULL);
    af_call(&f, &anna, "GET", "/Immunization", P_ANNA, NULL, &r);
    assert_int_equal(r.status, 200);
    ob_api_response_release(&r);
    assert_int_equal(af_log(&f, "anna", NULL).n, before.n + 1);
    /* issue 25: the AuditEvent of a search names each resource shown, one entity each, a
     * proper Reference */
    af_call(&f, &anna, "GET", "/DocumentReference", P_ANNA, NULL, &r);
    ob_api_response_release(&r);
    const char *PL[] = {"patient=Patient/anna", "_count=1", NULL};
    af_call(&f, &anna, "GET", "/AuditEvent", PL, NULL, &r);
    json_t *ev = json_object_get(json_array_get(json_object_get(r.body, "entry"), 0), "resource");
    size_t refs = 0, i;
    json_t *en;
    json_array_foreach(json_object_get(ev, "entity"), i, en)
    {
        const char *ref =
            json_string_value(json_object_get(json_object_get(en, "what"), "reference"));
        if (ref && strncmp(ref, "DocumentReference/src-", 22) == 0 && !strchr(ref, ','))
            refs++;
    }
    if (refs != 4) {
        char *txt = af_text(&r);
        fail_msg("4 DocumentReference entities wanted: %s", txt);
    }
    ob_api_response_release(&r);
    af_close(&f);
}

/* Patient/$everything (FHIR R4): every category the caller may see, paged, narrowed by _type,
 * the block marker, hidden = absent, one log entry per call. */
static void everything(void **state)
{
    (void)state;
    af f;
    af_open(&f, "doc-everything");
    load_world(&f);
    ob_caller anna = af_citizen(&f, "anna", NULL), med_dr = af_pro(&f, "med-dr", "hosp-med", NULL);
    ob_caller gp2 = af_pro(&f, "gp2-dr", "gp-2", NULL);
    const char *P2[] = {"_count=2", NULL};
    const char *PT[] = {"_type=MedicationStatement,Patient", NULL};
    const char *PBAD[] = {"_type=Consent", NULL};
    const char *PX[] = {"patient=Patient/bent", NULL};
    const char *E = "/Patient/anna/$everything";
    const struct {
        const char *why;
        const ob_caller *c;
        const char *const *params;
        int status, total;
        size_t entries; /* matches and includes on the page */
        const char *has;
    } rows[] = {
        {"the patient: all six items, the Patient included", &anna, NULL, 200, 6, 7,
         "\"resourceType\":\"Patient\""},
        {"paged: two on the page, a next link to $everything", &anna, P2, 200, 6, 3,
         "/Patient/anna/$everything?_count=2&_offset=2"},
        {"_type narrows", &anna, PT, 200, 1, 2, "MedicationStatement"},
        {"an unknown _type is refused", &anna, PBAD, 400, 0, 0, "_type"},
        {"a search parameter is not taken", &anna, PX, 400, 0, 0, "patient"},
        {"a treating doctor", &med_dr, NULL, 200, 6, 7, "DocumentReference"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        ob_api_response r;
        af_log_count before = af_log(&f, "anna", NULL);
        af_call(&f, rows[i].c, "GET", E, rows[i].params, NULL, &r);
        char *t = af_text(&r);
        if (r.status != rows[i].status || !strstr(t, rows[i].has))
            fail_msg("%s: %d %s", rows[i].why, r.status, t);
        if (r.status == 200) {
            if (af_total(&r) != rows[i].total ||
                json_array_size(json_object_get(r.body, "entry")) != rows[i].entries)
                fail_msg("%s: total %d, %zu entries", rows[i].why, (int)af_total(&r),
                         json_array_size(json_object_get(r.body, "entry")));
            assert_int_equal(af_log(&f, "anna", NULL).n, before.n + 1); /* R-LOG-1 */
        }
        free(t);
        ob_api_response_release(&r);
    }
    /* a site block: hosp-psyk's two hidden from the doctor, with the marker, never which */
    af_change(&f, "{\"type\":\"block\",\"patient\":\"anna\",\"kind\":\"site\",\"target\":"
                  "\"hosp-psyk\"}");
    ob_api_response r;
    af_call(&f, &med_dr, "GET", E, NULL, NULL, &r);
    assert_int_equal(af_total(&r), 4);
    assert_true(af_marker(&r));
    char *t = af_text(&r);
    assert_null(strstr(t, "psyk"));
    free(t);
    ob_api_response_release(&r);
    /* hidden = absent: a doctor with no relationship to anna sees what a made-up id gives */
    af_call(&f, &gp2, "GET", E, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(af_total(&r), 0);
    af_same_as(&f, &gp2, "GET", "/Patient/nobody-here/$everything", NULL, &r,
               "hidden patient equals absent");
    ob_api_response_release(&r);
    af_close(&f);
}

/* R-SRC-4 (seed 002: "vælge til og fra ... deling af fulde journaloplysninger på tværs af
 * sektorer"): the citizen keeps full clinical notes within the sector that wrote them (a
 * block of kind notes, as a Consent), and shares them again by lifting it. */
static void notes_within_sector(void **state)
{
    (void)state;
    af f;
    af_open(&f, "doc-notes");
    load_world(&f);
    ob_caller anna = af_citizen(&f, "anna", NULL), med_dr = af_pro(&f, "med-dr", "hosp-med", NULL);
    ob_caller gp1 = af_pro(&f, "gp1-dr", "gp-1", NULL);
    const char *NOTES[] = {"patient=Patient/anna", "category=clinical_note", NULL};
    const char *SUMS[] = {"patient=Patient/anna", "category=discharge_summary", NULL};
    const char *opt_out =
        "{\"resourceType\":\"Consent\",\"status\":\"active\",\"scope\":{\"coding\":[{"
        "\"system\":\"http://terminology.hl7.org/CodeSystem/consentscope\",\"code\":"
        "\"patient-privacy\"}]},\"category\":[{\"coding\":[{\"system\":\"http://loinc.org\","
        "\"code\":\"59284-0\"}]}],\"patient\":{\"reference\":\"Patient/anna\"},\"extension\":"
        "[{\"url\":\"https://overblik.dk/fhir/StructureDefinition/consent-notes-within-sector\","
        "\"valueBoolean\":true}],\"provision\":{\"type\":\"deny\"}}";
    /* before: the GP reads the hospital's notes (treatment across sectors) */
    ob_api_response r;
    af_call(&f, &gp1, "GET", "/DocumentReference", NOTES, NULL, &r);
    json_int_t gp_before = af_total(&r);
    ob_api_response_release(&r);
    af_call(&f, &anna, "POST", "/Consent", NULL, opt_out, &r);
    if (r.status != 201) {
        char *t = af_text(&r);
        fail_msg("opt out: %d %s", r.status, t);
    }
    char path[96];
    snprintf(path, sizeof path, "/Consent/%s", json_string_value(json_object_get(r.body, "id")));
    assert_true(af_has(&r, "consent-notes-within-sector"));
    json_object_set_new(r.body, "status", json_string("inactive"));
    char *lift = json_dumps(r.body, 0);
    ob_api_response_release(&r);
    const struct {
        const char *why;
        const ob_caller *c;
        const char *const *params;
        json_int_t total;
        bool marker;
    } rows[] = {
        {"R-SRC-4 the GP (primary sector) no longer reads the hospital's notes", &gp1, NOTES, 0,
         true},
        {"R-SRC-4 the hospital (the sector that wrote them) still does", &med_dr, NOTES, 2, false},
        {"R-SRC-4 discharge summaries are not notes: still shared", &gp1, SUMS, 1, false},
        {"R-BLK-4 the patient reads all her notes", &anna, NOTES, 2, false},
    };
    if (gp_before != 2)
        fail_msg("before the choice the GP read %d notes", (int)gp_before);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        af_call(&f, rows[i].c, "GET", "/DocumentReference", rows[i].params, NULL, &r);
        if (r.status != 200 || af_total(&r) != rows[i].total || af_marker(&r) != rows[i].marker)
            fail_msg("%s: %d total %d marker %d", rows[i].why, r.status, (int)af_total(&r),
                     af_marker(&r));
        ob_api_response_release(&r);
    }
    /* one choice at a time */
    af_call(&f, &anna, "POST", "/Consent", NULL, opt_out, &r);
    assert_int_equal(r.status, 409);
    ob_api_response_release(&r);
    /* a notes block with a dataPeriod or another class is refused */
    char bad[2048];
    snprintf(bad, sizeof bad, "%.*s\"type\":\"deny\",\"dataPeriod\":{\"start\":\"2020-01-01\"}}}",
             (int)(strstr(opt_out, "\"type\":\"deny\"") - opt_out), opt_out);
    af_call(&f, &anna, "POST", "/Consent", NULL, bad, &r);
    assert_int_equal(r.status, 400);
    ob_api_response_release(&r);
    /* lifting it shares them again at once */
    af_call(&f, &anna, "PUT", path, NULL, lift, &r);
    assert_int_equal(r.status, 200);
    ob_api_response_release(&r);
    free(lift);
    af_call(&f, &gp1, "GET", "/DocumentReference", NOTES, NULL, &r);
    assert_int_equal(af_total(&r), 2);
    assert_false(af_marker(&r));
    ob_api_response_release(&r);
    af_close(&f);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(write_by_source),     cmocka_unit_test(reads_decided),
        cmocka_unit_test(overview_and_log),    cmocka_unit_test(everything),
        cmocka_unit_test(notes_within_sector),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

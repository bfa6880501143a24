/* test_include.c - _include and _revinclude go through the same check as the matches
 * (issue 3, "No leaks"; R-LOG-1, R-BLK-4, R-CPR-2).
 *
 * One row per scenario: the included Patient (Appointment/Observation/Condition
 * searches) or the revincluded items (Patient search) are each decided by the engine,
 * logged in the search's one entry, shown with search.mode "include", never counted in
 * total, and never shown beside a search that found nothing the caller may see, so such
 * a search answers exactly as one about a patient who does not exist. */
#include "api_fixture.h"

enum who { GP1, GP2, MED, ANNA };
enum world { PLAIN, PSYK_BLOCKED, GP1_BLOCKED };

typedef struct row {
    const char *why;
    enum world world;
    enum who who;
    const char *path;
    const char *params[5];
    int status;
    int total, matches, includes;
    bool marker;
    const char *logged; /* in the new log entry's resource, or NULL */
    const char *not_logged;
    const char *twin[4]; /* parameters of a search about nobody that must answer the same */
    const char *about;   /* whose log gets the entry; NULL: anna */
} row;

static const row rows[] = {
    {"R-APT-6 include the Patient beside the GP's matches",
     PLAIN,
     GP1,
     "/Appointment",
     {"patient=Patient/anna", "_include=Appointment:patient"},
     200,
     2,
     2,
     1,
     false,
     "Patient/anna",
     NULL,
     {NULL},
     NULL},
    {"Appointment:actor names the same Patient",
     PLAIN,
     GP1,
     "/Appointment",
     {"patient=Patient/anna", "_include=Appointment:actor"},
     200,
     2,
     2,
     1,
     false,
     "Patient/anna",
     NULL,
     {NULL},
     NULL},
    {"no _include, no Patient in the answer or the log",
     PLAIN,
     GP1,
     "/Appointment",
     {"patient=Patient/anna"},
     200,
     2,
     2,
     0,
     false,
     "Appointment/apt-",
     "Patient/",
     {NULL},
     NULL},
    {"Observation:subject",
     PLAIN,
     GP1,
     "/Observation",
     {"patient=Patient/anna", "_include=Observation:subject"},
     200,
     1,
     1,
     1,
     false,
     "Patient/anna",
     NULL,
     {NULL},
     NULL},
    {"Condition:patient",
     PLAIN,
     GP1,
     "/Condition",
     {"patient=Patient/anna", "_include=Condition:patient"},
     200,
     2,
     2,
     1,
     false,
     "Patient/anna",
     NULL,
     {NULL},
     NULL},
    {"a citizen's own search includes their Patient, without the CPR",
     PLAIN,
     ANNA,
     "/Appointment",
     {"_include=Appointment:patient"},
     200,
     2,
     2,
     1,
     false,
     "Patient/anna",
     NULL,
     {NULL},
     NULL},
    {"leak: no relationship, the include answers like an unknown patient",
     PLAIN,
     GP2,
     "/Appointment",
     {"patient=Patient/anna", "_include=Appointment:patient"},
     200,
     0,
     0,
     0,
     false,
     NULL,
     "Patient/",
     {"patient=Patient/nobody", "_include=Appointment:patient"},
     NULL},
    {"leak: the Patient is permitted but nothing matches, so it is not shown or logged",
     PLAIN,
     GP1,
     "/Observation",
     {"patient=Patient/carl", "_include=Observation:patient"},
     200,
     0,
     0,
     0,
     false,
     NULL,
     "Patient/",
     {"patient=Patient/nobody", "_include=Observation:patient"},
     "carl"},
    {"paging past the matches drops the include",
     PLAIN,
     GP1,
     "/Appointment",
     {"patient=Patient/anna", "_include=Appointment:patient", "_offset=5"},
     200,
     2,
     0,
     0,
     false,
     NULL,
     NULL,
     {NULL},
     NULL},
    {"paging past the matches drops the include (Condition)",
     PLAIN,
     GP1,
     "/Condition",
     {"patient=Patient/anna", "_include=Condition:subject", "_offset=2"},
     200,
     2,
     0,
     0,
     false,
     NULL,
     NULL,
     {NULL},
     NULL},
    {"R-BLK-4 block on the GP clinic: the Patient withheld, the marker shown",
     GP1_BLOCKED,
     MED,
     "/Appointment",
     {"patient=Patient/anna", "_include=Appointment:patient"},
     200,
     1,
     1,
     0,
     true,
     "Appointment/apt-",
     "Patient/",
     {NULL},
     NULL},
    {"unsupported _include value",
     PLAIN,
     GP1,
     "/Appointment",
     {"patient=Patient/anna", "_include=Appointment:practitioner"},
     400,
     0,
     0,
     0,
     false,
     NULL,
     NULL,
     {NULL},
     NULL},
    {"another resource's _include",
     PLAIN,
     GP1,
     "/Appointment",
     {"patient=Patient/anna", "_include=Observation:patient"},
     400,
     0,
     0,
     0,
     false,
     NULL,
     NULL,
     {NULL},
     NULL},
    {"_revinclude on Appointment stays unsupported",
     PLAIN,
     GP1,
     "/Appointment",
     {"patient=Patient/anna", "_revinclude=Observation:patient"},
     400,
     0,
     0,
     0,
     false,
     NULL,
     NULL,
     {NULL},
     NULL},
    {"Patient _revinclude: the appointments, decided, in the same entry",
     PLAIN,
     GP1,
     "/Patient",
     {"_id=anna", "_revinclude=Appointment:patient"},
     200,
     1,
     1,
     2,
     false,
     "Appointment/apt-",
     NULL,
     {NULL},
     NULL},
    {"Patient _revinclude of two kinds",
     PLAIN,
     GP1,
     "/Patient",
     {"_id=anna", "_revinclude=Observation:subject", "_revinclude=Condition:patient"},
     200,
     1,
     1,
     3,
     false,
     "Condition/anna-d2",
     NULL,
     {NULL},
     NULL},
    {"R-BLK-4 Patient _revinclude under a block: psychiatry withheld, the marker shown",
     PSYK_BLOCKED,
     GP1,
     "/Patient",
     {"_id=anna", "_revinclude=Condition:patient"},
     200,
     1,
     1,
     1,
     true,
     "Condition/anna-d1",
     "anna-d2",
     {NULL},
     NULL},
    {"leak: Patient _revinclude without a relationship answers like an unknown patient",
     PLAIN,
     GP2,
     "/Patient",
     {"_id=anna", "_revinclude=Appointment:patient"},
     200,
     0,
     0,
     0,
     false,
     NULL,
     "Appointment/",
     {"_id=nobody", "_revinclude=Appointment:patient"},
     NULL},
    {"a read takes no _revinclude",
     PLAIN,
     GP1,
     "/Patient/anna",
     {"_revinclude=Appointment:patient"},
     400,
     0,
     0,
     0,
     false,
     NULL,
     NULL,
     {NULL},
     NULL},
};

static void rows_hold(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const row *w = &rows[i];
        af f;
        af_open(&f, "include");
        af_load_anna_items(&f);
        if (w->world == PSYK_BLOCKED)
            af_change(&f, "{\"type\":\"block\",\"patient\":\"anna\",\"kind\":\"site\","
                          "\"target\":\"hosp-psyk\"}");
        if (w->world == GP1_BLOCKED)
            af_change(&f, "{\"type\":\"block\",\"patient\":\"anna\",\"kind\":\"site\","
                          "\"target\":\"gp-1\"}");
        ob_caller c = w->who == GP1   ? af_pro(&f, "gp1-dr", "gp-1", NULL)
                      : w->who == GP2 ? af_pro(&f, "gp2-dr", "gp-2", NULL)
                      : w->who == MED ? af_pro(&f, "med-dr", "hosp-med", NULL)
                                      : af_citizen(&f, "anna", NULL);
        const char *about = w->about ? w->about : "anna";
        af_log_count before = af_log(&f, about, NULL);
        ob_api_response r;
        af_call(&f, &c, "GET", w->path, w->params, NULL, &r);
        af_log_count after = af_log(&f, about, NULL);
        if (r.status != w->status)
            fail_msg("%s: status %d", w->why, r.status);
        if (r.status == 200) {
            if (af_total(&r) != w->total || af_matches(&r) != (size_t)w->matches ||
                af_mode_count(&r, "include") != (size_t)w->includes || af_marker(&r) != w->marker)
                fail_msg("%s: total %d, %zu matches, %zu includes, marker %d", w->why,
                         (int)af_total(&r), af_matches(&r), af_mode_count(&r, "include"),
                         af_marker(&r));
            if (w->includes && strcmp(w->path, "/Patient") != 0) {
                const char *rt = json_string_value(
                    json_object_get(json_object_get(json_array_get(json_object_get(r.body, "entry"),
                                                                   (size_t)w->matches),
                                                    "resource"),
                                    "resourceType"));
                if (!rt || strcmp(rt, "Patient") != 0)
                    fail_msg("%s: the include is not the Patient", w->why);
            }
            if (af_has(&r, "0101901234") || af_has(&r, AF_CPR_ANNA))
                fail_msg("%s: a CPR number in the answer (R-CPR-2)", w->why);
        }
        /* R-LOG-1: one entry per search, the includes in it */
        af_logged_once(w->why, r.status, &before, &after, w->logged, w->not_logged);
        if (w->twin[0]) /* hidden equals absent, byte for byte */
            af_same_as(&f, &c, "GET", w->path, w->twin, &r, w->why);
        ob_api_response_release(&r);
        af_close(&f);
    }
}

/* The CapabilityStatement lists the includes, and every search parameter it lists is
 * taken by its search: none answers "unsupported search parameter" (the table in api.c
 * and the handlers agree). */
static void capability_params_are_taken(void **state)
{
    (void)state;
    af f;
    af_open(&f, "include-params");
    ob_caller c = af_pro(&f, "gp1-dr", "gp-1", NULL);
    ob_api_response meta;
    af_call(&f, &c, "GET", "/metadata", NULL, NULL, &meta);
    assert_int_equal(meta.status, 200);
    assert_true(af_has(&meta, "\"searchInclude\":[\"Appointment:patient\",\"Appointment:actor\"]"));
    assert_true(af_has(&meta, "\"searchRevInclude\":[\"Appointment:patient\""));
    size_t i, j, checked = 0;
    json_t *res, *sp;
    json_array_foreach(
        json_object_get(json_array_get(json_object_get(meta.body, "rest"), 0), "resource"), i, res)
    {
        const char *type = json_string_value(json_object_get(res, "type"));
        json_array_foreach(json_object_get(res, "searchParam"), j, sp)
        {
            const char *name = json_string_value(json_object_get(sp, "name"));
            const char *kind = json_string_value(json_object_get(sp, "type"));
            const char *value = strcmp(kind, "date") == 0        ? "ge2026-01-01"
                                : strcmp(kind, "number") == 0    ? "1"
                                : strcmp(kind, "reference") == 0 ? "Patient/anna"
                                : strcmp(name, "_summary") == 0  ? "count"
                                : strcmp(name, "_sort") == 0
                                    ? (strcmp(type, "Condition") == 0             ? "-recorded-date"
                                       : strcmp(type, "MedicationStatement") == 0 ? "-effective"
                                                                                  : "-date")
                                : strcmp(name, "status") == 0 ? "booked"
                                : strcmp(name, "_id") == 0    ? "anna"
                                : strstr(name, "identifier")
                                    ? "urn:oid:1.2.208.176.1.2|" AF_CPR_ANNA
                                    : "x";
            if (strcmp(name, "agent") == 0)
                value = "Practitioner/gp1-dr";
            char param[160], path[64];
            snprintf(param, sizeof param, "@%s=%s", name, value); /* in a POST _search body */
            snprintf(path, sizeof path, "/%s/_search", type);
            const char *params[] = {param, NULL};
            ob_api_response r;
            af_call(&f, &c, "POST", path, params, NULL, &r);
            if (af_has(&r, "unsupported search parameter") || r.status == 405)
                fail_msg("%s %s: %d, not taken", type, name, r.status);
            ob_api_response_release(&r);
            checked++;
        }
    }
    assert_true(checked >= 30);
    ob_api_response_release(&meta);
    af_close(&f);
}

/* True when r says the server does not do what was asked: 405, or 400 "not-supported". */
static bool refused_as_unsupported(ob_api_response *r)
{
    if (r->status == 405)
        return true;
    if (r->status != 400 || !ob_api_response_parse(r))
        return false;
    json_t *code = json_object_get(json_array_get(json_object_get(r->body, "issue"), 0), "code");
    return json_is_string(code) && strcmp(json_string_value(code), "not-supported") == 0;
}

/* Every interaction and operation the CapabilityStatement lists is answered by its handler
 * (an error about the input is fine, "not supported" is not), sent by the kind of caller
 * that may use it; and two it does not list are refused as not supported, so the check can
 * fail (R-API-1: the statement tells a client the truth). */
static void capability_interactions_are_answered(void **state)
{
    (void)state;
    af f;
    af_open(&f, "include-interactions");
    ob_caller pro = af_pro(&f, "gp1-dr", "gp-1", NULL);
    ob_caller src = af_source(&f, "gp1-sys", "gp-1");
    ob_caller anna = af_citizen(&f, "anna", NULL);
    ob_api_response meta, r;
    af_call(&f, &pro, "GET", "/metadata", NULL, NULL, &meta);
    assert_int_equal(meta.status, 200);
    size_t i, j, checked = 0;
    json_t *res, *it;
    json_array_foreach(
        json_object_get(json_array_get(json_object_get(meta.body, "rest"), 0), "resource"), i, res)
    {
        const char *type = json_string_value(json_object_get(res, "type"));
        /* conditional updates are a source system's (Appointment and the items sources
         * write, R-SRC-1); a citizen writes the rest */
        bool apt = json_is_true(json_object_get(res, "conditionalUpdate"));
        const ob_caller *writer = apt ? &src : &anna;
        json_array_foreach(json_object_get(res, "interaction"), j, it)
        {
            const char *code = json_string_value(json_object_get(it, "code"));
            char path[96];
            const char *method = "GET", *body = NULL;
            const char *const *params = NULL;
            static const char *const by_ident[] = {"identifier=urn:x|1", NULL};
            const ob_caller *c = &pro;
            if (strcmp(code, "read") == 0) {
                snprintf(path, sizeof path, "/%s/nope-1", type);
            } else if (strcmp(code, "vread") == 0) {
                snprintf(path, sizeof path, "/%s/nope-1/_history/1", type);
            } else if (strcmp(code, "history-instance") == 0) {
                snprintf(path, sizeof path, "/%s/nope-1/_history", type);
            } else if (strcmp(code, "search-type") == 0) {
                snprintf(path, sizeof path, "/%s/_search", type);
                method = "POST";
            } else if (strcmp(code, "create") == 0) {
                snprintf(path, sizeof path, "/%s", type);
                method = "POST", body = "{}", c = writer;
            } else if (strcmp(code, "update") == 0) {
                snprintf(path, sizeof path, apt ? "/%s" : "/%s/nope-1", type);
                method = "PUT", body = "{}", c = writer, params = apt ? by_ident : NULL;
            } else {
                fail_msg("%s: interaction %s has no request here", type, code);
            }
            af_call(&f, c, method, path, params, body, &r);
            if (refused_as_unsupported(&r))
                fail_msg("%s %s (%s %s): %d, not supported", type, code, method, path, r.status);
            ob_api_response_release(&r);
            checked++;
        }
        json_array_foreach(json_object_get(res, "operation"), j, it)
        {
            const char *name = json_string_value(json_object_get(it, "name"));
            char path[96];
            /* type-level operations on Patient are POSTed; instance-level ones are GETs */
            bool on_patient = strcmp(type, "Patient") == 0 && strcmp(name, "everything") != 0 &&
                              strcmp(name, "uses") != 0; /* issue 26: an instance GET */
            if (on_patient)
                snprintf(path, sizeof path, "/%s/$%s", type, name);
            else
                snprintf(path, sizeof path, "/%s/1/$%s", type, name);
            af_call(&f, on_patient ? &pro : &anna, on_patient ? "POST" : "GET", path, NULL,
                    on_patient ? "{}" : NULL, &r);
            if (refused_as_unsupported(&r))
                fail_msg("%s $%s: %d, not supported", type, name, r.status);
            ob_api_response_release(&r);
            checked++;
        }
    }
    assert_true(checked >= 20);
    /* not listed, so refused */
    af_call(&f, &pro, "GET", "/Consent/block-1/_history", NULL, NULL, &r);
    assert_true(refused_as_unsupported(&r));
    ob_api_response_release(&r);
    af_call(&f, &src, "DELETE", "/Appointment/apt-1", NULL, NULL, &r);
    assert_true(refused_as_unsupported(&r));
    ob_api_response_release(&r);
    ob_api_response_release(&meta);
    af_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rows_hold),
        cmocka_unit_test(capability_params_are_taken),
        cmocka_unit_test(capability_interactions_are_answered),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

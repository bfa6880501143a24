/* test_scopes.c - SMART v2 scopes narrow what the engine permits, never widen it (issue 25,
 * R-API-6): one row per scope claim and request; a refusal by scope is a 403 before any data
 * is read, and no scope grants what the engine would refuse. Drives ob_api_handle. */
#include "api_fixture.h"

static const char *P_ANNA[] = {"patient=Patient/anna", NULL};

static void scopes(void **state)
{
    (void)state;
    af f;
    af_open(&f, "scopes");
    af_load_anna_items(&f);
    const struct {
        const char *why, *claim; /* claim NULL: no scope claim at all */
        bool citizen;
        const char *method, *path;
        const char *const *params;
        const char *body;
        int want;
    } rows[] = {
        {"no scope claim: nothing narrowed", NULL, false, "GET", "/Appointment", P_ANNA, NULL, 200},
        {"patient/Observation.rs reads observations", "launch/patient patient/Observation.rs",
         false, "GET", "/Observation", P_ANNA, NULL, 200},
        {"... but no appointments", "patient/Observation.rs", false, "GET", "/Appointment", P_ANNA,
         NULL, 403},
        {"... and no read by id without r", "patient/Observation.s", false, "GET",
         "/Observation/anna-m1", NULL, NULL, 403},
        {"v1 .read grants read by id", "patient/Observation.read", false, "GET",
         "/Observation/anna-m1", NULL, NULL, 200},
        {"user/*.rs reads every type", "openid fhirUser user/*.rs", false, "GET", "/Condition",
         P_ANNA, NULL, 200},
        {"openid alone grants no resource", "openid fhirUser", false, "GET", "/Appointment", P_ANNA,
         NULL, 403},
        {"letters out of order are no scope (fail closed)", "patient/Observation.sr", false, "GET",
         "/Observation", P_ANNA, NULL, 403},
        {"a scope with a query is left out (it would grant less)",
         "patient/Observation.rs?category=laboratory", false, "GET", "/Observation", P_ANNA, NULL,
         403},
        {"a citizen's report needs c on Observation", "patient/Observation.rs", true, "POST",
         "/Observation", NULL,
         "{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"coding\":[{\"system\":"
         "\"http://loinc.org\",\"code\":\"8480-6\"}]},\"valueQuantity\":{\"value\":130,\"code\":"
         "\"mm[Hg]\"},\"effectiveDateTime\":\"2026-11-01T10:00:00Z\"}",
         403},
        {"a scope never widens: a stranger with user/*.cruds still sees nothing of anna",
         "user/*.cruds", false, "GET", "/Appointment", P_ANNA, NULL, 200},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        ob_caller c = rows[i].citizen                         ? af_citizen(&f, "anna", NULL)
                      : i == sizeof rows / sizeof rows[0] - 1 ? af_pro(&f, "gp2-dr", "gp-2", NULL)
                                                              : af_pro(&f, "gp1-dr", "gp-1", NULL);
        ob_api_scopes_parse(rows[i].claim, &c);
        ob_api_response r;
        af_call(&f, &c, rows[i].method, rows[i].path, rows[i].params, rows[i].body, &r);
        bool scope_refused = r.status == 403 && af_has(&r, "scopes");
        if ((rows[i].want == 403) != scope_refused ||
            (rows[i].want != 403 && r.status != rows[i].want && r.status != 201))
            fail_msg("%s: %d", rows[i].why, r.status);
        if (i == sizeof rows / sizeof rows[0] - 1)
            assert_int_equal(af_total(&r), 0); /* the engine still refuses a stranger */
        ob_api_response_release(&r);
    }
    af_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(scopes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_consent_examples.c - the official FHIR R4 example Consents (npm package
 * hl7.fhir.r4.examples 4.0.1, installed by tests/fhir/validate.sh --install) POSTed
 * through ob_api_handle as the patient they are about (their patient reference is
 * pointed at our "anna", their Organization/f001 and Practitioner/f204 at our cardiology
 * department and specialist, their id removed). Each must be either accepted (201) or
 * refused with a 4xx OperationOutcome whose diagnostics say what to change, and a
 * refusal must change nothing (R-API-5). Prints one line per example (what our
 * profile accepts is documented in docs/api.md). Skipped when the package is absent. */
#include <dirent.h>

#include "unit/api/fhir2_fixture.h"

static size_t nchanges(f2 *f)
{
    const ob_patient *p = &f->h->ix->patients[f2_patient(f, "anna")];
    return (size_t)p->nblocks + p->nconsents;
}

/* A new string: s with each `from` replaced by `to` (s is freed). */
static char *replace(char *s, const char *from, const char *to)
{
    size_t fl = strlen(from), tl = strlen(to), n = 0;
    for (const char *p = strstr(s, from); p; p = strstr(p + fl, from))
        n++;
    char *out = malloc(strlen(s) + n * tl + 1), *o = out;
    assert_non_null(out);
    const char *p = s;
    for (const char *q = strstr(p, from); q; q = strstr(p, from)) {
        memcpy(o, p, (size_t)(q - p));
        o += q - p;
        memcpy(o, to, tl);
        o += tl;
        p = q + fl;
    }
    memcpy(o, p, strlen(p) + 1);
    free(s);
    return out;
}

static void test_official_examples(void **state)
{
    (void)state;
    const char *src = getenv("OB_SOURCE_DIR");
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/tests/fhir/node_modules/hl7.fhir.r4.examples", src ? src : "..");
    DIR *d = opendir(dir);
    if (!d) {
        print_message("no official examples in %s (run tests/fhir/validate.sh --install)\n", dir);
        skip();
    }
    f2 *f = f2_open("consent-examples");
    ob_caller anna = f2_citizen(f, "anna");
    struct dirent *de;
    size_t n = 0, accepted = 0;
    while ((de = readdir(d))) {
        if (strncmp(de->d_name, "Consent-", 8) != 0)
            continue;
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        json_error_t je;
        json_t *res = json_load_file(path, 0, &je);
        assert_non_null(res);
        json_object_del(res, "id");
        json_object_set_new(res, "patient", json_pack("{s:s}", "reference", "Patient/anna"));
        char *text = json_dumps(res, 0);
        json_decref(res);
        /* their practitioners and organisations, pointed at ours */
        text = replace(text, "Organization/f001", "Organization/cardio");
        text = replace(text, "Practitioner/f204", "Practitioner/spec_doc");
        size_t before = nchanges(f);
        ob_api_response r = f2_call(f, &anna, "POST", "/Consent", text, NULL);
        free(text);
        n++;
        if (r.status == 201) {
            accepted++;
            assert_int_equal(nchanges(f), before + 1);
            print_message("%-45s accepted as %s\n", de->d_name,
                          json_string_value(json_object_get(r.body, "id")));
        } else {
            if (r.status < 400 || r.status >= 500 || strlen(f2_diag(&r)) < 10)
                fail_msg("%s: status %d without a clear reason ('%s')", de->d_name, r.status,
                         f2_diag(&r));
            assert_int_equal(nchanges(f), before);
            print_message("%-45s refused %d: %s\n", de->d_name, r.status, f2_diag(&r));
        }
        ob_api_response_release(&r);
    }
    closedir(d);
    assert_true(n >= 10);
    print_message("%zu official example Consents: %zu accepted, %zu refused\n", n, accepted,
                  n - accepted);
    f2_close(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_official_examples)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}

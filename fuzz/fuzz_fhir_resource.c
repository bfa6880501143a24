/* fuzz_fhir_resource.c - libFuzzer target for the FHIR parsers a source system's or a
 * citizen's app feeds (R-API-5): Appointment (R-APT-1..4), patient-reported Observation
 * (R-PRD-1), the FHIR dateTime and resource-id parsers under them, and the token lists of
 * searches (code=, category=) against a resource's codings. The bytes go
 * through the server's own body parser first, as a POST would. Invariants: no crash, no
 * leak; an accepted Appointment or Observation has what its struct promises; a refusal
 * always has a message, and no message ever carries a CPR number (R-CPR-2). */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/cpr.h"
#include "core/time.h"
#include "fhir/consent.h"
#include "fhir/fhir.h"
#include "http/server.h"

static void refusal_ok(const ob_err *e)
{
    if (e->msg[0] == '\0' || ob_cpr_in_text(e->msg))
        abort();
}

static void appointment(json_t *res)
{
    ob_fhir_apt_in a;
    ob_err e = {0};
    if (ob_fhir_appointment_parse(res, &a, &e) != OB_OK) {
        refusal_ok(&e);
        return;
    }
    if (!a.value || !a.value[0] || strlen(a.value) > 100 || !a.system || strlen(a.system) > 200 ||
        !a.cpr || !a.status || (a.has_end && a.end < a.start) ||
        (a.address && strlen(a.address) > 300) || ob_cpr_in_text(a.value))
        abort();
}

static void observation(json_t *res)
{
    ob_fhir_obs_in o;
    ob_err e = {0};
    if (ob_fhir_observation_parse(res, &o, &e) != OB_OK) {
        refusal_ok(&e);
        return;
    }
    if (!o.code || !o.code_system || o.value < 40 || o.value > 300)
        abort();
}

/* The raw bytes as one string: a dateTime, an appointment id, a Consent id. */
static void strings(const uint8_t *data, size_t size)
{
    if (size > 64)
        return;
    char s[65];
    memcpy(s, data, size);
    s[size] = '\0';
    ob_time t;
    ob_err e = {0};
    if (ob_time_parse(s, &t, &e) != OB_OK) {
        refusal_ok(&e);
    } else {
        /* what we write, we read back as the same instant (years 1..9998 stay 4-digit
         * after any offset) */
        char out[32];
        ob_time back;
        ob_time_format(t, out);
        if (t >= ob_time_from_ymd(1, 1, 1) && t < ob_time_from_ymd(9999, 1, 1) &&
            (ob_time_parse(out, &back, NULL) != OB_OK || back != t))
            abort();
    }
    int64_t id;
    if (ob_fhir_apt_id_parse(s, &id) && id < 0)
        abort();
    bool is_block;
    uint64_t n;
    (void)ob_fhir_consent_id_parse(s, &is_block, &n);
}

/* A search's token list (code=, category=, status=) against the codings a resource shows:
 * no crash and no read past the text; each value found alone is found in the list too. */
static void tokens(const uint8_t *data, size_t size)
{
    char *t = malloc(size + 1);
    if (!t)
        return;
    memcpy(t, data, size);
    t[size] = '\0';
    json_t *concepts = json_pack("[{s:[{s:s, s:s}, {s:s}]}, {s:[{s:s, s:s}]}]", "coding", "system",
                                 "http://loinc.org", "code", "8480-6", "code", "DNK05472", "coding",
                                 "system", OB_FHIR_NPU, "code", "");
    bool any = ob_fhir_token_matches(concepts, t);
    if (ob_fhir_token_matches(json_array_get(concepts, 0), t) && !any)
        abort(); /* one concept matching means the array matches */
    if (ob_fhir_token_matches(NULL, t))
        abort();
    json_decref(concepts);
    free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    strings(data, size);
    tokens(data, size);
    json_t *res = NULL;
    ob_err e = {0};
    if (ob_http_json_parse((const char *)data, size, &res, &e) != OB_OK) {
        refusal_ok(&e);
        return 0;
    }
    appointment(res);
    observation(res);
    json_decref(res);
    return 0;
}

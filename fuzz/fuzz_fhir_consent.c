/* fuzz_fhir_consent.c - libFuzzer target for the FHIR Consent parser (src/fhir/consent.c,
 * R-API-5): any bytes in, no crash; an accepted Consent always yields an import record
 * with a type and a patient, and a refusal always carries a message, never a CPR number
 * (R-CPR-2). */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/cpr.h"
#include "fhir/consent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t je;
    json_t *res = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &je);
    if (!res)
        return 0;
    for (int update = 0; update < 2; update++) {
        ob_fhir_consent c;
        ob_err e = {0};
        if (ob_fhir_consent_parse(res, update, &c, &e) == OB_OK) {
            json_t *rec = ob_fhir_consent_record(&c, update ? "gp" : NULL);
            if (!rec || !json_is_string(json_object_get(rec, "type")) ||
                !json_is_string(json_object_get(rec, "patient")))
                abort();
            json_decref(rec);
        } else if (e.msg[0] == '\0' || ob_cpr_in_text(e.msg)) {
            abort();
        }
    }
    json_decref(res);
    return 0;
}

/* clinical.c - data items as FHIR R4 Observation and Condition, and the parser of a
 * patient-reported measurement (R-PRD-1).
 *
 * Code systems: a diagnosis recorded by a GP clinic is ICPC-2 (the Danish GP coding),
 * anything else ICD-10 (hospitals); systolic blood pressure (NPU DNK05472 in the
 * import format) is LOINC 8480-6 with the NPU code beside it, valueQuantity in mm[Hg];
 * other lab codes are NPU (urn:oid:1.2.208.176.2.1). Patient-reported items carry a
 * meta tag and an extension and name the patient as performer. */
#include "fhir/fhir.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "model/model.h"

#define OB_FHIR_NPU_OID "urn:oid:1.2.208.176.2.1"
#define OBS_CAT         "http://terminology.hl7.org/CodeSystem/observation-category"
#define COND_CAT        "http://terminology.hl7.org/CodeSystem/condition-category"
#define SBP_NPU         "DNK05472"
#define SBP_LOINC       "8480-6"

static bool is_sbp(const char *code)
{
    return code && (strcmp(code, SBP_NPU) == 0 || strcmp(code, SBP_LOINC) == 0);
}

static json_t *observation(const ob_item *it, const ob_fhir_clinic *origin, bool lab)
{
    char pref[160], eff[32];
    snprintf(pref, sizeof pref, "Patient/%.140s", it->patient);
    ob_fhir_time(it->time, eff);
    bool prd = it->source && strcmp(it->source, "patient_reported") == 0;
    json_t *o = json_pack("{s:s, s:s, s:s, s:[{s:[{s:s, s:s}]}], s:{s:s}, s:s}", "resourceType",
                          "Observation", "id", it->id, "status", "final", "category", "coding",
                          "system", OBS_CAT, "code", lab ? "laboratory" : "vital-signs", "subject",
                          "reference", pref, "effectiveDateTime", eff);
    if (is_sbp(it->code)) {
        json_object_set_new(o, "code",
                            json_pack("{s:[{s:s, s:s, s:s}, {s:s, s:s}], s:s}", "coding", "system",
                                      OB_FHIR_LOINC, "code", SBP_LOINC, "display",
                                      "Systolic blood pressure", "system", OB_FHIR_NPU_OID, "code",
                                      SBP_NPU, "text", "Systolisk blodtryk"));
        json_object_set_new(o, "valueQuantity",
                            json_pack("{s:I, s:s, s:s, s:s}", "value", (json_int_t)it->value,
                                      "unit", "mmHg", "system", OB_FHIR_UCUM, "code", "mm[Hg]"));
    } else {
        if (it->code)
            json_object_set_new(o, "code",
                                json_pack("{s:[{s:s, s:s}]}", "coding", "system", OB_FHIR_NPU_OID,
                                          "code", it->code));
        else
            json_object_set_new(o, "code", json_pack("{s:s}", "text", it->category));
        if (it->value)
            json_object_set_new(o, "valueInteger", json_integer((json_int_t)it->value));
    }
    if (prd) { /* R-PRD-1: marked as patient-reported */
        json_object_set_new(o, "meta",
                            json_pack("{s:[{s:s, s:s, s:s}]}", "tag", "system", OB_FHIR_CS_SOURCE,
                                      "code", "patient-reported", "display", "Patient-reported"));
        json_object_set_new(
            o, "extension",
            json_pack("[{s:s, s:b}]", "url", OB_FHIR_EXT_PATIENT_REPORTED, "valueBoolean", 1));
        json_object_set_new(o, "performer", json_pack("[{s:s}]", "reference", pref));
    } else if (origin && origin->id) {
        char oref[160];
        snprintf(oref, sizeof oref, "Organization/%.140s", origin->id);
        json_object_set_new(
            o, "performer",
            origin->name ? json_pack("[{s:s, s:s}]", "reference", oref, "display", origin->name)
                         : json_pack("[{s:s}]", "reference", oref));
    }
    return o;
}

static json_t *condition(const ob_item *it, const ob_fhir_clinic *origin)
{
    char pref[160], rec[32];
    snprintf(pref, sizeof pref, "Patient/%.140s", it->patient);
    ob_fhir_time(it->time, rec);
    bool gp = origin && origin->kind && strcmp(origin->kind, "gp_clinic") == 0;
    json_t *o =
        json_pack("{s:s, s:s, s:[{s:[{s:s, s:s}]}], s:{s:s}, s:s}", "resourceType", "Condition",
                  "id", it->id, "category", "coding", "system", COND_CAT, "code",
                  "encounter-diagnosis", "subject", "reference", pref, "recordedDate", rec);
    if (it->code)
        json_object_set_new(o, "code",
                            json_pack("{s:[{s:s, s:s}]}", "coding", "system",
                                      gp ? OB_FHIR_ICPC2 : OB_FHIR_ICD10, "code", it->code));
    if (origin && origin->id && origin->name) {
        char oref[160];
        snprintf(oref, sizeof oref, "Organization/%.140s", origin->id);
        json_object_set_new(o, "extension",
                            json_pack("[{s:s, s:{s:s, s:s}}]", "url", OB_FHIR_EXT_CLINIC,
                                      "valueReference", "reference", oref, "display",
                                      origin->name));
    }
    return o;
}

json_t *ob_fhir_item(const ob_item *it, const ob_fhir_clinic *origin)
{
    int cat = ob_category_parse(it->category);
    if (cat == OB_CAT_MEASUREMENT || cat == OB_CAT_LAB_RESULT)
        return observation(it, origin, cat == OB_CAT_LAB_RESULT);
    if (cat == OB_CAT_DIAGNOSIS)
        return condition(it, origin);
    return ob_fhir_document(it, origin);
}

/* ---- R-PRD-1: a patient-reported measurement ---- */
static const char *const obs_known[] = {"resourceType",
                                        "status",
                                        "category",
                                        "code",
                                        "subject",
                                        "effectiveDateTime",
                                        "valueQuantity",
                                        "meta",
                                        "text",
                                        "note",
                                        "device",
                                        "extension",
                                        "id",
                                        "issued",
                                        NULL};

ob_status ob_fhir_observation_parse(json_t *res, ob_fhir_obs_in *out, ob_err *e)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(res))
        return ob_err_set(e, OB_EINVAL, "the body must be a FHIR Observation resource");
    const char *rt = json_string_value(json_object_get(res, "resourceType"));
    if (!rt || strcmp(rt, "Observation") != 0)
        return ob_err_set(e, OB_EINVAL, "resourceType must be Observation");
    const char *key;
    json_t *v;
    json_object_foreach(res, key, v)
    {
        bool ok = false;
        for (const char *const *k = obs_known; *k && !ok; k++)
            ok = strcmp(*k, key) == 0;
        if (!ok)
            return ob_err_set(e, OB_EINVAL, "unknown or unsupported element Observation.%s",
                              ob_fhir_shown_name(key));
    }
    const char *status = json_string_value(json_object_get(res, "status"));
    if (!status || (strcmp(status, "final") != 0 && strcmp(status, "preliminary") != 0 &&
                    strcmp(status, "amended") != 0))
        return ob_err_set(e, OB_EINVAL, "Observation.status must be final, preliminary or amended");
    json_t *coding = json_object_get(json_object_get(res, "code"), "coding");
    if (!json_is_array(coding))
        return ob_err_set(e, OB_EINVAL, "Observation.code.coding is required");
    size_t i;
    json_array_foreach(coding, i, v)
    {
        const char *sys = json_string_value(json_object_get(v, "system"));
        const char *code = json_string_value(json_object_get(v, "code"));
        if (sys && code && strcmp(sys, OB_FHIR_LOINC) == 0 && strcmp(code, SBP_LOINC) == 0) {
            out->code_system = sys;
            out->code = code;
        }
    }
    if (!out->code)
        return ob_err_set(e, OB_EINVAL,
                          "only systolic blood pressure (LOINC 8480-6) can be reported so far");
    json_t *q = json_object_get(res, "valueQuantity");
    json_t *val = json_object_get(q, "value");
    if (!json_is_object(q) || !json_is_number(val))
        return ob_err_set(e, OB_EINVAL, "Observation.valueQuantity.value (a number) is required");
    const char *unit = json_string_value(json_object_get(q, "code"));
    if (unit && strcmp(unit, "mm[Hg]") != 0)
        return ob_err_set(e, OB_EINVAL, "blood pressure is reported in mm[Hg]");
    double d = json_number_value(val);
    if (!(d >= 40 && d <= 300))
        return ob_err_set(e, OB_EINVAL,
                          "a systolic blood pressure must be between 40 and 300 mmHg");
    out->value = (int64_t)llround(d);
    const char *eff = json_string_value(json_object_get(res, "effectiveDateTime"));
    if (!eff || ob_time_parse(eff, &out->effective, NULL) != OB_OK)
        return ob_err_set(e, OB_EINVAL, "Observation.effectiveDateTime is required (a dateTime)");
    json_t *subj = json_object_get(res, "subject");
    if (subj) {
        out->subject = json_string_value(json_object_get(subj, "reference"));
        if (!out->subject)
            return ob_err_set(e, OB_EINVAL, "Observation.subject needs a reference");
    }
    return OB_OK;
}

static bool concept_has(const json_t *concept, const char *sys, size_t slen, const char *code,
                        size_t clen)
{
    size_t i;
    json_t *cd;
    json_array_foreach(json_object_get(concept, "coding"), i, cd)
    {
        const char *s = json_string_value(json_object_get(cd, "system"));
        const char *c = json_string_value(json_object_get(cd, "code"));
        if (c && strlen(c) == clen && memcmp(c, code, clen) == 0 &&
            (!slen || (s && strlen(s) == slen && memcmp(s, sys, slen) == 0)))
            return true;
    }
    return false;
}

bool ob_fhir_token_matches(const json_t *concepts, const char *tokens)
{
    for (const char *tok = tokens; concepts && *tok;) {
        size_t len = strcspn(tok, ",");
        const char *bar = memchr(tok, '|', len);
        const char *code = bar ? bar + 1 : tok;
        size_t clen = len - (size_t)(code - tok), slen = bar ? (size_t)(bar - tok) : 0;
        if (json_is_array(concepts)) {
            size_t i;
            json_t *c;
            json_array_foreach(concepts, i, c)
            {
                if (concept_has(c, tok, slen, code, clen))
                    return true;
            }
        } else if (concept_has(concepts, tok, slen, code, clen)) {
            return true;
        }
        tok += len + (tok[len] == ',');
    }
    return false;
}

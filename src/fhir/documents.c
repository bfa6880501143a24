/* documents.c - the rest of the patient overview in FHIR R4 (issue 20, R-SRC-1): medication
 * as MedicationStatement, vaccination as Immunization, and clinical notes, discharge
 * summaries and treatment wills as DocumentReference (docs/decisions.md says why these).
 *
 * Builders read an item's canonical record (ob_item.json, the same fields for the import
 * and for a source's FHIR write: docs/formats.md); parsers take what a source system sends
 * and fill ob_fhir_doc_in. The data controller (R-SRC-1) is the item's origin, shown in the
 * element FHIR has for it: MedicationStatement.informationSource, Immunization.performer,
 * DocumentReference.custodian. A source's own identifier comes back on every read. */
#include "fhir/fhir.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/cpr.h"
#include "core/text.h"
#include "model/model.h"

#define ATC_SYSTEM "http://www.whocc.no/atc"
#define DOC_CAT    OB_FHIR_BASE "/CodeSystem/data-category"
#define FOLLOW_CS  OB_FHIR_BASE "/CodeSystem/follow-up-flag"
#define TEXT_MAX   (64u * 1024u) /* a note's or summary's text, decoded */

/* LOINC document types of the three document categories. */
static const struct doctype {
    ob_category cat;
    const char *loinc, *display, *dansk;
} doctypes[] = {
    {OB_CAT_CLINICAL_NOTE, "11506-3", "Progress note", "Journalnotat"},
    {OB_CAT_DISCHARGE_SUMMARY, "18842-5", "Discharge summary", "Epikrise"},
    {OB_CAT_TREATMENT_WILL, "42348-3", "Advance directives", "Behandlingstestamente"},
};

static const struct doctype *doctype_of(int cat)
{
    for (size_t i = 0; i < sizeof doctypes / sizeof doctypes[0]; i++)
        if ((int)doctypes[i].cat == cat)
            return &doctypes[i];
    return NULL;
}

const char *const ob_fhir_follow_flags[] = {"red", "yellow", "green", "white", NULL};

static const char *str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* Organization/<id> with its display, or NULL when the origin is unknown. */
static json_t *org_ref(const ob_fhir_clinic *origin)
{
    if (!origin || !origin->id)
        return NULL;
    char ref[160];
    snprintf(ref, sizeof ref, "Organization/%.140s", origin->id);
    return origin->name ? json_pack("{s:s, s:s}", "reference", ref, "display", origin->name)
                        : json_pack("{s:s}", "reference", ref);
}

/* The start of a resource every category shares: type, id, the source's identifier. */
static json_t *base(const char *type, const ob_item *it, const json_t *rec)
{
    json_t *o = json_pack("{s:s, s:s}", "resourceType", type, "id", it->id);
    const char *sys = str(rec, "ident_system"), *val = str(rec, "ident_value");
    if (o && val && *val) {
        json_t *id = json_pack("{s:s}", "value", val);
        if (sys && *sys)
            json_object_set_new(id, "system", json_string(sys));
        json_object_set_new(o, "identifier", json_pack("[o]", id));
    }
    json_t *ver = json_object_get(rec, "version");
    if (o && json_is_integer(ver)) {
        char v[24];
        snprintf(v, sizeof v, "%lld", (long long)json_integer_value(ver));
        json_object_set_new(o, "meta", json_pack("{s:s}", "versionId", v));
    }
    return o;
}

static json_t *subject(const ob_item *it)
{
    char pref[160];
    snprintf(pref, sizeof pref, "Patient/%.140s", it->patient);
    return json_pack("{s:s}", "reference", pref);
}

static json_t *concept(const char *system, const char *code, const char *text)
{
    json_t *c = json_object();
    if (code && *code)
        json_object_set_new(c, "coding", json_pack("[{s:s, s:s}]", "system", system, "code", code));
    if (text && *text)
        json_object_set_new(c, "text", json_string(text));
    if (!json_object_size(c))
        json_object_set_new(c, "text", json_string("(not coded)"));
    return c;
}

static void set_time(json_t *o, const char *key, ob_time t)
{
    char ts[32];
    ob_fhir_time(t, ts);
    json_object_set_new(o, key, json_string(ts));
}

static json_t *medication(const ob_item *it, const ob_fhir_clinic *origin, const json_t *rec)
{
    json_t *o = base("MedicationStatement", it, rec);
    const char *status = str(rec, "status");
    json_object_set_new(o, "status", json_string(status ? status : "active"));
    json_object_set_new(o, "medicationCodeableConcept",
                        concept(ATC_SYSTEM, it->code, str(rec, "display")));
    json_object_set_new(o, "subject", subject(it));
    const char *end = str(rec, "end");
    if (end) {
        char ts[32];
        ob_fhir_time(it->time, ts);
        json_object_set_new(o, "effectivePeriod", json_pack("{s:s, s:s}", "start", ts, "end", end));
    } else {
        set_time(o, "effectiveDateTime", it->time);
    }
    json_t *src = org_ref(origin);
    if (src)
        json_object_set_new(o, "informationSource", src);
    const char *dose = str(rec, "dose");
    if (dose)
        json_object_set_new(o, "dosage", json_pack("[{s:s}]", "text", dose));
    return o;
}

static json_t *immunization(const ob_item *it, const ob_fhir_clinic *origin, const json_t *rec)
{
    json_t *o = base("Immunization", it, rec);
    const char *status = str(rec, "status");
    json_object_set_new(o, "status", json_string(status ? status : "completed"));
    json_object_set_new(o, "vaccineCode", concept(ATC_SYSTEM, it->code, str(rec, "display")));
    json_object_set_new(o, "patient", subject(it));
    set_time(o, "occurrenceDateTime", it->time);
    json_object_set_new(o, "primarySource", json_true());
    const char *lot = str(rec, "lot");
    if (lot)
        json_object_set_new(o, "lotNumber", json_string(lot));
    json_t *by = org_ref(origin);
    if (by)
        json_object_set_new(o, "performer", json_pack("[{s:o}]", "actor", by));
    return o;
}

static json_t *document(const ob_item *it, const ob_fhir_clinic *origin, const json_t *rec,
                        const struct doctype *dt)
{
    json_t *o = base("DocumentReference", it, rec);
    const char *status = str(rec, "status");
    json_object_set_new(o, "status", json_string(status ? status : "current"));
    json_object_set_new(o, "docStatus", json_string("final"));
    json_object_set_new(o, "type",
                        json_pack("{s:[{s:s, s:s, s:s}], s:s}", "coding", "system", OB_FHIR_LOINC,
                                  "code", dt->loinc, "display", dt->display, "text", dt->dansk));
    json_object_set_new(o, "category",
                        json_pack("[{s:[{s:s, s:s}]}]", "coding", "system", DOC_CAT, "code",
                                  ob_category_name(dt->cat)));
    json_object_set_new(o, "subject", subject(it));
    set_time(o, "date", it->time);
    json_t *cust = org_ref(origin);
    if (cust) {
        json_object_set_new(o, "author", json_pack("[O]", cust));
        json_object_set_new(o, "custodian", cust);
    }
    const char *title = str(rec, "title");
    if (title)
        json_object_set_new(o, "description", json_string(title));
    json_t *att = json_pack("{s:s}", "title", title ? title : dt->dansk);
    const char *text = str(rec, "text");
    if (text) {
        size_t n = strlen(text);
        size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
        char *b64 = ob_malloc(cap);
        if (b64) {
            sodium_bin2base64(b64, cap, (const unsigned char *)text, n,
                              sodium_base64_VARIANT_ORIGINAL);
            json_object_set_new(att, "contentType", json_string("text/plain; charset=utf-8"));
            json_object_set_new(att, "data", json_string(b64));
            ob_free(b64);
        }
    }
    json_object_set_new(o, "content", json_pack("[{s:o}]", "attachment", att));
    const char *flag = str(rec, "followup");
    if (flag) { /* seed 001 case 10: the GP follow-up flag and the plan */
        json_t *sub =
            json_pack("[{s:s, s:{s:[{s:s, s:s}]}}]", "url", "flag", "valueCodeableConcept",
                      "coding", "system", FOLLOW_CS, "code", flag);
        const char *plan = str(rec, "plan");
        if (plan)
            json_array_append_new(sub, json_pack("{s:s, s:s}", "url", "plan", "valueString", plan));
        json_object_set_new(
            o, "extension",
            json_pack("[{s:s, s:o}]", "url", OB_FHIR_EXT_FOLLOW_UP, "extension", sub));
    }
    return o;
}

json_t *ob_fhir_document(const ob_item *it, const ob_fhir_clinic *origin)
{
    int cat = ob_category_parse(it->category);
    json_t *rec = it->json ? json_loads(it->json, 0, NULL) : NULL;
    if (!rec)
        rec = json_object();
    json_t *o = NULL;
    const struct doctype *dt = doctype_of(cat);
    if (cat == OB_CAT_MEDICATION)
        o = medication(it, origin, rec);
    else if (cat == OB_CAT_VACCINATION)
        o = immunization(it, origin, rec);
    else if (dt)
        o = document(it, origin, rec, dt);
    json_decref(rec);
    return o;
}

const char *ob_fhir_type_of(int category)
{
    switch (category) {
    case OB_CAT_APPOINTMENT:
        return "Appointment";
    case OB_CAT_DIAGNOSIS:
        return "Condition";
    case OB_CAT_MEASUREMENT:
    case OB_CAT_LAB_RESULT:
        return "Observation";
    case OB_CAT_MEDICATION:
        return "MedicationStatement";
    case OB_CAT_VACCINATION:
        return "Immunization";
    default:
        return doctype_of(category) ? "DocumentReference" : NULL;
    }
}

/* ---- what a source system sends ---- */

/* The R4 elements accepted, with their JSON kind; those the parsers below do not read
 * (meta, note, author, ...) are accepted and dropped, any other is refused. */
enum kind { K_STR, K_ARR, K_OBJ, K_BOOL, K_ANY };
struct elem {
    const char *name;
    enum kind kind;
};

static const struct elem common[] = {
    {"resourceType", K_STR}, {"identifier", K_ARR}, {"status", K_STR},
    {"extension", K_ARR},    {"id", K_STR},         {"meta", K_OBJ},
    {"text", K_OBJ},         {"language", K_STR},   {"note", K_ARR},
};

static const struct elem med_elems[] = {
    {"medicationCodeableConcept", K_OBJ}, {"subject", K_OBJ},  {"effectiveDateTime", K_STR},
    {"effectivePeriod", K_OBJ},           {"dosage", K_ARR},   {"dateAsserted", K_STR},
    {"informationSource", K_OBJ},         {"category", K_OBJ}, {"reasonCode", K_ARR},
};
static const struct elem imm_elems[] = {
    {"vaccineCode", K_OBJ},     {"patient", K_OBJ},        {"occurrenceDateTime", K_STR},
    {"lotNumber", K_STR},       {"primarySource", K_BOOL}, {"recorded", K_STR},
    {"performer", K_ARR},       {"site", K_OBJ},           {"route", K_OBJ},
    {"protocolApplied", K_ARR},
};
static const struct elem doc_elems[] = {
    {"type", K_OBJ},      {"subject", K_OBJ},          {"date", K_STR},     {"description", K_STR},
    {"content", K_ARR},   {"docStatus", K_STR},        {"category", K_ARR}, {"author", K_ARR},
    {"custodian", K_OBJ}, {"masterIdentifier", K_OBJ}, {"context", K_OBJ},
};

static bool kind_ok(json_t *v, enum kind k)
{
    switch (k) {
    case K_STR:
        return json_is_string(v);
    case K_ARR:
        return json_is_array(v);
    case K_OBJ:
        return json_is_object(v);
    case K_BOOL:
        return json_is_boolean(v);
    default:
        return true;
    }
}

static ob_status elements(json_t *res, const char *type, const struct elem *own, size_t nown,
                          ob_err *e)
{
    const char *key;
    json_t *v;
    json_object_foreach(res, key, v)
    {
        const struct elem *el = NULL;
        for (size_t i = 0; i < sizeof common / sizeof common[0] && !el; i++)
            if (strcmp(common[i].name, key) == 0)
                el = &common[i];
        for (size_t i = 0; i < nown && !el; i++)
            if (strcmp(own[i].name, key) == 0)
                el = &own[i];
        if (strcmp(key, "modifierExtension") == 0)
            return ob_err_set(e, OB_EINVAL, "%s.modifierExtension is not supported", type);
        if (!el)
            return ob_err_set(e, OB_EINVAL, "unknown or unsupported element %s.%s", type,
                              ob_fhir_shown_name(key));
        if (!kind_ok(v, el->kind))
            return ob_err_set(e, OB_EINVAL, "%s.%s has the wrong type", type, el->name);
    }
    return OB_OK;
}

/* A kept string: at most max bytes, no CPR-like number, nothing that displays as
 * something else (R-CPR-3). */
static ob_status kept_text(const char *s, size_t max, const char *what, ob_err *e)
{
    if (!s)
        return OB_OK;
    if (strlen(s) > max)
        return ob_err_set(e, OB_ELIMIT, "%s is longer than %zu characters", what, max);
    return ob_text_kept(s, strlen(s), what, e);
}

static ob_status instant(json_t *o, const char *k, const char *type, ob_time *t, ob_err *e)
{
    const char *s = str(o, k);
    if (!s || ob_time_parse(s, t, NULL) != OB_OK) /* no echo of the value */
        return ob_err_set(e, OB_EINVAL, "%s.%s must be a FHIR dateTime", type, k);
    return OB_OK;
}

/* The patient, named by CPR identifier (a logical reference: the source does not know our
 * Patient ids). */
static ob_status patient_ref(json_t *ref, const char *type, const char *el, ob_fhir_doc_in *out,
                             ob_err *e)
{
    json_t *id = json_object_get(ref, "identifier");
    const char *sys = str(id, "system");
    out->cpr = str(id, "value");
    if (!json_is_object(id) || !sys || strcmp(sys, OB_FHIR_CPR_SYSTEM) != 0 || !out->cpr)
        return ob_err_set(
            e, OB_EINVAL,
            "%s.%s must name the patient by CPR identifier (system " OB_FHIR_CPR_SYSTEM ")", type,
            el);
    return OB_OK;
}

static const char *coded(json_t *cc, const char *system)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(cc, "coding"), i, c)
    {
        const char *s = str(c, "system"), *code = str(c, "code");
        if (s && code && strcmp(s, system) == 0)
            return code;
    }
    return NULL;
}

static ob_status code_ok(const char *code, const char *what, ob_err *e)
{
    size_t n = code ? strlen(code) : 0;
    if (n == 0 || n > 16)
        return ob_err_set(e, OB_EINVAL, "%s needs a code of 1 to 16 characters", what);
    for (size_t i = 0; i < n; i++)
        if (!((code[i] >= 'A' && code[i] <= 'Z') || (code[i] >= '0' && code[i] <= '9') ||
              code[i] == '.' || code[i] == '-'))
            return ob_err_set(e, OB_EINVAL, "%s: a code is letters A-Z, digits, '.' and '-'", what);
    return OB_OK;
}

static bool one_of(const char *s, const char *const *v)
{
    for (; s && *v; v++)
        if (strcmp(*v, s) == 0)
            return true;
    return false;
}

static ob_status extensions(json_t *arr, const char *type, ob_fhir_doc_in *out, ob_err *e)
{
    size_t i;
    json_t *x;
    json_array_foreach(arr, i, x)
    {
        const char *url = str(x, "url");
        if (!json_is_object(x) || !url)
            return ob_err_set(e, OB_EINVAL, "%s.extension[%zu] needs a url", type, i);
        if (strcmp(url, OB_FHIR_EXT_CLINIC) == 0) {
            const char *ref = str(json_object_get(x, "valueReference"), "reference");
            if (!ref || strncmp(ref, "Organization/", 13) != 0 || !ref[13])
                return ob_err_set(e, OB_EINVAL,
                                  "the responsible-clinic extension needs valueReference "
                                  "Organization/<id>");
            out->clinic = ref + 13;
        } else if (strcmp(url, OB_FHIR_EXT_FOLLOW_UP) == 0) {
            size_t j;
            json_t *s;
            json_array_foreach(json_object_get(x, "extension"), j, s)
            {
                const char *u = str(s, "url");
                if (u && strcmp(u, "flag") == 0)
                    out->followup = coded(json_object_get(s, "valueCodeableConcept"), FOLLOW_CS);
                else if (u && strcmp(u, "plan") == 0)
                    out->plan = str(s, "valueString");
                else
                    return ob_err_set(e, OB_EINVAL,
                                      "the follow-up extension has a flag and a plan only");
            }
            if (!one_of(out->followup, ob_fhir_follow_flags))
                return ob_err_set(e, OB_EINVAL,
                                  "the follow-up flag is red, yellow, green or white "
                                  "(system " FOLLOW_CS ")");
        } else if (strncmp(url, "https://overblik.dk/", 20) == 0 ||
                   strncmp(url, "http://overblik.dk/", 19) == 0) {
            return ob_err_set(e, OB_EINVAL,
                              "%s.extension[%zu] is not an overblik extension; ours are under "
                              "" OB_FHIR_SD " (docs/api.md)",
                              type, i);
        }
    }
    return OB_OK;
}

static ob_status identifier(json_t *res, const char *type, ob_fhir_doc_in *out, ob_err *e)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(res, "identifier"), i, v)
    {
        json_t *sy = json_object_get(v, "system"), *va = json_object_get(v, "value");
        if (!json_is_object(v) || (sy && !json_is_string(sy)) || (va && !json_is_string(va)))
            return ob_err_set(e, OB_EINVAL, "%s.identifier[%zu] is malformed", type, i);
        if (va && !out->value) {
            out->system = sy ? json_string_value(sy) : "";
            out->value = json_string_value(va);
        }
    }
    if (!out->value || !*out->value || strlen(out->value) > 100 || strlen(out->system) > 200)
        return ob_err_set(e, OB_EINVAL,
                          "%s.identifier needs your system's id (a value of at most 100 "
                          "characters) (R-SRC-1)",
                          type);
    if (ob_cpr_in_text(out->value) || ob_cpr_in_text(out->system))
        return ob_err_set(e, OB_EINVAL, "an identifier must not contain a CPR number (R-CPR-2)");
    return OB_OK;
}

static ob_status parse_med(json_t *res, ob_fhir_doc_in *out, ob_err *e)
{
    static const char *const st[] = {"active",   "completed", "entered-in-error",
                                     "intended", "stopped",   "on-hold",
                                     "unknown",  "not-taken", NULL};
    const char *T = "MedicationStatement";
    ob_status rc;
    if ((rc = elements(res, T, med_elems, sizeof med_elems / sizeof *med_elems, e)))
        return rc;
    if (!one_of(out->status, st))
        return ob_err_set(e, OB_EINVAL, "MedicationStatement.status is not a valid code");
    json_t *cc = json_object_get(res, "medicationCodeableConcept");
    out->code = coded(cc, ATC_SYSTEM);
    if ((rc = code_ok(out->code,
                      "MedicationStatement.medicationCodeableConcept (ATC, "
                      "system " ATC_SYSTEM ")",
                      e)))
        return rc;
    out->display = str(cc, "text");
    json_t *per = json_object_get(res, "effectivePeriod");
    if (per) {
        if ((rc = instant(per, "start", "MedicationStatement.effectivePeriod", &out->time, e)))
            return rc;
        if (json_object_get(per, "end")) {
            if ((rc = instant(per, "end", "MedicationStatement.effectivePeriod", &out->end, e)))
                return rc;
            if (out->end < out->time)
                return ob_err_set(e, OB_EINVAL, "the medication period ends before it starts");
            out->has_end = true;
        }
    } else if ((rc = instant(res, "effectiveDateTime", T, &out->time, e))) {
        return rc;
    }
    json_t *dos = json_object_get(res, "dosage");
    if (json_array_size(dos) > 1)
        return ob_err_set(e, OB_EINVAL, "MedicationStatement.dosage: one dosage text at most");
    out->dose = str(json_array_get(dos, 0), "text");
    return patient_ref(json_object_get(res, "subject"), T, "subject", out, e);
}

static ob_status parse_imm(json_t *res, ob_fhir_doc_in *out, ob_err *e)
{
    static const char *const st[] = {"completed", "entered-in-error", "not-done", NULL};
    const char *T = "Immunization";
    ob_status rc;
    if ((rc = elements(res, T, imm_elems, sizeof imm_elems / sizeof *imm_elems, e)))
        return rc;
    if (!one_of(out->status, st))
        return ob_err_set(e, OB_EINVAL, "Immunization.status is not a valid code");
    json_t *cc = json_object_get(res, "vaccineCode");
    out->code = coded(cc, ATC_SYSTEM);
    if ((rc = code_ok(out->code, "Immunization.vaccineCode (ATC, system " ATC_SYSTEM ")", e)))
        return rc;
    out->display = str(cc, "text");
    out->lot = str(res, "lotNumber");
    if ((rc = instant(res, "occurrenceDateTime", T, &out->time, e)))
        return rc;
    return patient_ref(json_object_get(res, "patient"), T, "patient", out, e);
}

static ob_status parse_doc(json_t *res, ob_fhir_doc_in *out, ob_err *e)
{
    static const char *const st[] = {"current", "superseded", "entered-in-error", NULL};
    const char *T = "DocumentReference";
    ob_status rc;
    if ((rc = elements(res, T, doc_elems, sizeof doc_elems / sizeof *doc_elems, e)))
        return rc;
    if (!one_of(out->status, st))
        return ob_err_set(e, OB_EINVAL, "DocumentReference.status is not a valid code");
    const char *loinc = coded(json_object_get(res, "type"), OB_FHIR_LOINC);
    out->category = -1;
    for (size_t i = 0; i < sizeof doctypes / sizeof doctypes[0] && loinc; i++)
        if (strcmp(doctypes[i].loinc, loinc) == 0)
            out->category = (int)doctypes[i].cat;
    if (out->category < 0)
        return ob_err_set(e, OB_EINVAL,
                          "DocumentReference.type must be LOINC 11506-3 (clinical note), 18842-5 "
                          "(discharge summary) or 42348-3 (treatment will)");
    if ((rc = instant(res, "date", T, &out->time, e)))
        return rc;
    out->title = str(res, "description");
    json_t *content = json_object_get(res, "content");
    if (json_array_size(content) != 1)
        return ob_err_set(e, OB_EINVAL, "DocumentReference.content: exactly one attachment");
    json_t *att = json_object_get(json_array_get(content, 0), "attachment");
    if (!json_is_object(att))
        return ob_err_set(e, OB_EINVAL, "DocumentReference.content[0].attachment is required");
    if (!out->title)
        out->title = str(att, "title");
    const char *ct = str(att, "contentType"), *data = str(att, "data");
    if (json_object_get(att, "url"))
        return ob_err_set(e, OB_EINVAL,
                          "send the text itself (attachment.data), not a link to it: the overview "
                          "does not fetch documents");
    if (data) {
        if (!ct || strncmp(ct, "text/plain", 10) != 0)
            return ob_err_set(e, OB_EINVAL,
                              "DocumentReference attachment: contentType text/plain only");
        size_t n = strlen(data), len = 0;
        if (n > TEXT_MAX * 4 / 3 + 4)
            return ob_err_set(e, OB_ELIMIT, "the document text is longer than %u bytes", TEXT_MAX);
        out->text_owned = ob_malloc(n + 1);
        if (!out->text_owned)
            return ob_err_set(e, OB_ENOMEM, "out of memory");
        if (sodium_base642bin((unsigned char *)out->text_owned, n, data, n, "\r\n ", &len, NULL,
                              sodium_base64_VARIANT_ORIGINAL) != 0)
            return ob_err_set(e, OB_EINVAL, "attachment.data is not base64");
        out->text_owned[len] = '\0';
        if (strlen(out->text_owned) != len)
            return ob_err_set(e, OB_EINVAL, "the document text contains a NUL character");
        out->text = out->text_owned;
    }
    return patient_ref(json_object_get(res, "subject"), T, "subject", out, e);
}

ob_status ob_fhir_doc_parse(json_t *res, const char *type, ob_fhir_doc_in *out, ob_err *e)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(res))
        return ob_err_set(e, OB_EINVAL, "the body must be a FHIR %s resource", type);
    const char *rt = str(res, "resourceType");
    if (!rt || strcmp(rt, type) != 0)
        return ob_err_set(e, OB_EINVAL, "resourceType must be %s", type);
    out->status = str(res, "status");
    ob_status rc = identifier(res, type, out, e);
    if (!rc)
        rc = extensions(json_object_get(res, "extension"), type, out, e);
    if (!rc && strcmp(type, "MedicationStatement") == 0) {
        out->category = OB_CAT_MEDICATION;
        rc = parse_med(res, out, e);
    } else if (!rc && strcmp(type, "Immunization") == 0) {
        out->category = OB_CAT_VACCINATION;
        rc = parse_imm(res, out, e);
    } else if (!rc && strcmp(type, "DocumentReference") == 0) {
        rc = parse_doc(res, out, e);
    } else if (!rc) {
        rc = ob_err_set(e, OB_EINVAL, "%s is not written through this interface", type);
    }
    if (!rc && out->followup && out->category != OB_CAT_DISCHARGE_SUMMARY)
        rc = ob_err_set(e, OB_EINVAL, "only a discharge summary carries a follow-up flag");
    if (!rc)
        rc = kept_text(out->display, 300, "the display text", e);
    if (!rc)
        rc = kept_text(out->dose, 300, "the dosage text", e);
    if (!rc)
        rc = kept_text(out->lot, 40, "the lot number", e);
    if (!rc)
        rc = kept_text(out->title, 300, "the title", e);
    if (!rc)
        rc = kept_text(out->plan, 2000, "the follow-up plan", e);
    if (!rc)
        rc = kept_text(out->text, TEXT_MAX, "the document text", e);
    if (rc) {
        ob_fhir_doc_in_release(out);
        return rc;
    }
    out->withdrawn = strcmp(out->status, "entered-in-error") == 0;
    return OB_OK;
}

void ob_fhir_doc_in_release(ob_fhir_doc_in *in)
{
    ob_free(in->text_owned);
    in->text_owned = NULL;
    in->text = NULL;
}

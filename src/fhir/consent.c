/* consent.c - FHIR R4 Consent <-> blocks and consents (see consent.h, docs/api.md).
 *
 * Parsing is strict in the way records.c is: every object is first checked for
 * elements we do not know, then each element for its type and codes, and only a fully
 * understood Consent becomes a record. Elements FHIR defines but that carry nothing for
 * us (meta, text, identifier, dateTime, performer, organization, policy, policyRule)
 * are accepted and ignored: the server sets who performed the change and when.
 * Messages name the element and never echo values (an id could be mistyped CPR). */
#include "fhir/consent.h"

#include <stdio.h>
#include <string.h>

#include "core/time.h"
#include "fhir/fhir.h"

#define CS_SCOPE      "http://terminology.hl7.org/CodeSystem/consentscope"
#define CS_LOINC      "http://loinc.org"
#define CS_V3_ACTCODE "http://terminology.hl7.org/CodeSystem/v3-ActCode"
#define CS_V3_PART    "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"

static ob_status only(json_t *o, const char *const *allowed, const char *where, ob_err *e)
{
    if (!json_is_object(o))
        return ob_err_set(e, OB_EINVAL, "%s must be a JSON object", where);
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v)
    {
        (void)v;
        bool ok = false;
        for (const char *const *a = allowed; *a && !ok; a++)
            ok = strcmp(*a, key) == 0;
        if (!ok)
            return ob_err_set(e, OB_EINVAL, "unknown element '%s.%s'", where,
                              ob_fhir_shown_name(key));
    }
    return OB_OK;
}

static ob_status str(json_t *o, const char *key, const char *where, bool required, const char **out,
                     ob_err *e)
{
    json_t *v = json_object_get(o, key);
    *out = NULL;
    if (!v) {
        if (required)
            return ob_err_set(e, OB_EINVAL, "missing element '%s.%s'", where, key);
        return OB_OK;
    }
    if (!json_is_string(v) || json_string_length(v) == 0 ||
        strlen(json_string_value(v)) != json_string_length(v))
        return ob_err_set(e, OB_EINVAL, "element '%s.%s' must be a non-empty string", where, key);
    if (json_string_length(v) > 4096)
        return ob_err_set(e, OB_ELIMIT, "element '%s.%s' is longer than 4096 characters", where,
                          key);
    *out = json_string_value(v);
    return OB_OK;
}

#define TRY(x)                                                                                     \
    do {                                                                                           \
        if ((rc = (x)) != OB_OK)                                                                   \
            return rc;                                                                             \
    } while (0)

/* A Coding: *system and *code set (both required). */
static ob_status coding(json_t *c, const char *where, const char **system, const char **code,
                        ob_err *e)
{
    static const char *const f[] = {"system", "code", "display", "version", "userSelected", NULL};
    ob_status rc;
    TRY(only(c, f, where, e));
    TRY(str(c, "system", where, true, system, e));
    TRY(str(c, "code", where, true, code, e));
    return OB_OK;
}

/* A CodeableConcept: calls accept(system, code) for each coding; at least one must
 * be accepted and none may be unknown. */
typedef bool (*accept_fn)(const char *system, const char *code, void *ctx);
static ob_status concept(json_t *cc, const char *where, accept_fn accept, void *ctx, ob_err *e)
{
    static const char *const f[] = {"coding", "text", NULL};
    ob_status rc;
    TRY(only(cc, f, where, e));
    json_t *arr = json_object_get(cc, "coding");
    if (!json_is_array(arr) || json_array_size(arr) == 0)
        return ob_err_set(e, OB_EINVAL, "element '%s.coding' must be a non-empty array", where);
    size_t i;
    json_t *c;
    json_array_foreach(arr, i, c)
    {
        const char *sys, *code;
        TRY(coding(c, where, &sys, &code, e));
        if (!accept(sys, code, ctx))
            return ob_err_set(e, OB_EINVAL, "unknown code in '%s' (see docs/api.md, Consent)",
                              where);
    }
    return OB_OK;
}

static bool in(const char *s, const char *const *set)
{
    for (; *set; set++)
        if (strcmp(*set, s) == 0)
            return true;
    return false;
}

static bool accept_scope(const char *sys, const char *code, void *ctx)
{
    static const char *const codes[] = {"patient-privacy", "treatment", "research", NULL};
    (void)ctx;
    return strcmp(sys, CS_SCOPE) == 0 && in(code, codes);
}

static bool accept_category(const char *sys, const char *code, void *ctx)
{
    static const char *const loinc[] = {"59284-0", "57016-8", "57017-6", "64292-6", NULL};
    static const char *const act[] = {"IDSCL",    "INFA",    "INFAO",  "INFASO", "IRDSCL",
                                      "RESEARCH", "RSDID",   "RSREID", "OPTIN",  "OPTOUT",
                                      "OPTINR",   "OPTOUTE", NULL};
    (void)ctx;
    return (strcmp(sys, CS_LOINC) == 0 && in(code, loinc)) ||
           (strcmp(sys, CS_V3_ACTCODE) == 0 && in(code, act));
}

static bool accept_role(const char *sys, const char *code, void *ctx)
{
    static const char *const codes[] = {"IRCP", "PRCP", "PRF", "AUT", "CST", "INF", NULL};
    (void)ctx;
    return strcmp(sys, CS_V3_PART) == 0 && in(code, codes);
}

static bool accept_action(const char *sys, const char *code, void *ctx)
{
    static const char *const codes[] = {"access", "collect", "use", "disclose", "correct", NULL};
    (void)ctx;
    return strcmp(sys, "http://terminology.hl7.org/CodeSystem/consentaction") == 0 &&
           in(code, codes);
}

static ob_status period(json_t *p, const char *where, const char **from, const char **to, ob_err *e)
{
    static const char *const f[] = {"start", "end", NULL};
    ob_status rc;
    *from = *to = NULL;
    if (!p)
        return OB_OK;
    TRY(only(p, f, where, e));
    TRY(str(p, "start", where, false, from, e));
    TRY(str(p, "end", where, false, to, e));
    ob_time a = OB_TIME_MIN, b = OB_TIME_MAX;
    if (*from && ob_time_parse(*from, &a, NULL))
        return ob_err_set(e, OB_EINVAL, "element '%s.start' is not a FHIR dateTime", where);
    if (*to && ob_time_parse_end(*to, &b, NULL))
        return ob_err_set(e, OB_EINVAL, "element '%s.end' is not a FHIR dateTime", where);
    if (b < a)
        return ob_err_set(e, OB_EINVAL, "element '%s' ends before it starts", where);
    return OB_OK;
}

/* "Practitioner/<id>" style references: *type is the prefix's index in types. */
static ob_status reference(json_t *r, const char *where, const char *const *types, int *type,
                           const char **id, ob_err *e)
{
    static const char *const f[] = {"reference", "display", NULL};
    ob_status rc;
    const char *ref;
    TRY(only(r, f, where, e));
    TRY(str(r, "reference", where, true, &ref, e));
    for (int i = 0; types[i]; i++) {
        size_t n = strlen(types[i]);
        if (strncmp(ref, types[i], n) == 0 && ref[n] == '/' && ref[n + 1] && strlen(ref) < 200 &&
            !strchr(ref + n + 1, '/')) {
            *type = i;
            *id = ref + n + 1;
            return OB_OK;
        }
    }
    return ob_err_set(e, OB_EINVAL,
                      "element '%s.reference' must be a relative reference to one of "
                      "the supported resource types (see docs/api.md, Consent)",
                      where);
}

enum { REF_PRACTITIONER, REF_ORGANIZATION, REF_RESEARCHSTUDY };
static const char *const actor_types[] = {"Practitioner", "Organization", "ResearchStudy", NULL};

/* provision.actor[0]: sets recipient / target. */
static ob_status actor(json_t *a, ob_fhir_consent *out, ob_err *e)
{
    static const char *const f[] = {"role", "reference", NULL};
    static const char *const rf[] = {"reference", "display", "type", "identifier", NULL};
    static const char *const idf[] = {"system", "value", NULL};
    ob_status rc;
    TRY(only(a, f, "Consent.provision.actor", e));
    json_t *role = json_object_get(a, "role");
    if (role)
        TRY(concept(role, "Consent.provision.actor.role", accept_role, NULL, e));
    json_t *r = json_object_get(a, "reference");
    if (!r)
        return ob_err_set(e, OB_EINVAL, "missing element 'Consent.provision.actor.reference'");
    TRY(only(r, rf, "Consent.provision.actor.reference", e));
    json_t *ident = json_object_get(r, "identifier");
    if (ident) {
        /* a kind of organisation: {"type":"Organization","identifier":{system,value}} */
        const char *type, *sys, *val;
        if (json_object_get(r, "reference"))
            return ob_err_set(e, OB_EINVAL,
                              "give either a reference or an organisation kind "
                              "identifier in 'Consent.provision.actor.reference'");
        TRY(str(r, "type", "Consent.provision.actor.reference", true, &type, e));
        TRY(only(ident, idf, "Consent.provision.actor.reference.identifier", e));
        TRY(str(ident, "system", "Consent.provision.actor.reference.identifier", true, &sys, e));
        TRY(str(ident, "value", "Consent.provision.actor.reference.identifier", true, &val, e));
        if (strcmp(type, "Organization") != 0 || strcmp(sys, OB_FHIR_CS_ORG_KIND) != 0 ||
            ob_org_kind_parse(val) < 0)
            return ob_err_set(e, OB_EINVAL,
                              "unknown organisation kind in 'Consent.provision.actor.reference' "
                              "(system " OB_FHIR_CS_ORG_KIND ")");
        if (out->is_block)
            return ob_err_set(e, OB_EINVAL,
                              "a block names one professional or one site, not a "
                              "kind of organisation");
        out->recipient_kind = OB_RCPT_ORG_KIND;
        out->recipient = val;
        return OB_OK;
    }
    int t;
    const char *id;
    TRY(reference(r, "Consent.provision.actor.reference", actor_types, &t, &id, e));
    if (out->is_block) {
        if (t == REF_RESEARCHSTUDY)
            return ob_err_set(e, OB_EINVAL, "a block names a Practitioner or an Organization");
        out->block_kind = t == REF_PRACTITIONER ? OB_BLOCK_PROFESSIONAL : OB_BLOCK_SITE;
        out->target = id;
        return OB_OK;
    }
    out->recipient_kind = t == REF_PRACTITIONER   ? OB_RCPT_PERSON
                          : t == REF_ORGANIZATION ? OB_RCPT_ORG
                                                  : OB_RCPT_PROJECT;
    out->recipient = id;
    return OB_OK;
}

static ob_status purpose(json_t *arr, ob_fhir_consent *out, ob_err *e)
{
    ob_status rc;
    if (!json_is_array(arr) || json_array_size(arr) != 1)
        return ob_err_set(e, OB_EINVAL,
                          "'Consent.provision.purpose' must hold exactly one Coding "
                          "(R-CON-1: a consent is for one purpose)");
    const char *sys, *code;
    TRY(coding(json_array_get(arr, 0), "Consent.provision.purpose", &sys, &code, e));
    int k = -1;
    if (strcmp(sys, OB_FHIR_CS_PURPOSE) == 0) {
        k = ob_consent_kind_parse(code);
        if (k < 0 && strcmp(code, "PREVENTION") == 0)
            k = OB_CONSENT_PREVENTION;
        if (k < 0 && strcmp(code, "SHARING") == 0)
            k = OB_CONSENT_SHARING;
    } else if (strcmp(sys, OB_FHIR_V3_ACTREASON) == 0 && strcmp(code, "HRESCH") == 0) {
        k = OB_CONSENT_RESEARCH;
    }
    if (k < 0)
        return ob_err_set(e, OB_EINVAL,
                          "unknown purpose in 'Consent.provision.purpose': use " OB_FHIR_CS_PURPOSE
                          " (prevention, sharing, research, quality_extended, override) or "
                          "v3-ActReason HRESCH");
    out->consent_kind = (uint8_t)k;
    return OB_OK;
}

static ob_status classes(json_t *arr, ob_fhir_consent *out, ob_err *e)
{
    ob_status rc;
    out->ncats = 0;
    if (!arr)
        return OB_OK;
    if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > OB_CAT_COUNT)
        return ob_err_set(e, OB_EINVAL,
                          "'Consent.provision.class' must be a list of 1 to %d "
                          "data categories",
                          OB_CAT_COUNT);
    size_t i;
    json_t *c;
    json_array_foreach(arr, i, c)
    {
        const char *sys, *code;
        TRY(coding(c, "Consent.provision.class", &sys, &code, e));
        if (strcmp(sys, OB_FHIR_CS_CATEGORY) != 0 || ob_category_parse(code) < 0)
            return ob_err_set(
                e, OB_EINVAL,
                "unknown data category in 'Consent.provision.class' (system " OB_FHIR_CS_CATEGORY
                ")");
        out->cats[out->ncats++] = code;
    }
    return OB_OK;
}

static ob_status provision(json_t *p, ob_fhir_consent *out, ob_err *e)
{
    static const char *const f[] = {"type",       "period",    "actor",  "purpose", "class",
                                    "dataPeriod", "provision", "action", NULL};
    ob_status rc;
    TRY(only(p, f, "Consent.provision", e));
    if (json_object_get(p, "provision"))
        return ob_err_set(e, OB_EINVAL,
                          "nested provisions are not supported: one Consent is one "
                          "block or one consent");
    json_t *act = json_object_get(p, "action");
    if (act) {
        /* informative: a block or consent governs reading, whatever the action */
        if (!json_is_array(act))
            return ob_err_set(e, OB_EINVAL, "'Consent.provision.action' must be an array");
        size_t i;
        json_t *a;
        json_array_foreach(act, i, a)
            TRY(concept(a, "Consent.provision.action", accept_action, NULL, e));
    }
    const char *type;
    if (!json_object_get(p, "type"))
        return ob_err_set(e, OB_EINVAL,
                          "missing element 'Consent.provision.type': deny for a "
                          "block, permit for a consent");
    TRY(str(p, "type", "Consent.provision", true, &type, e));
    if (strcmp(type, "deny") == 0)
        out->is_block = true;
    else if (strcmp(type, "permit") == 0)
        out->is_block = false;
    else
        return ob_err_set(e, OB_EINVAL,
                          "'Consent.provision.type' is deny (a block) or permit (a "
                          "consent)");
    TRY(period(json_object_get(p, "period"), "Consent.provision.period", &out->valid_from,
               &out->valid_to, e));
    TRY(period(json_object_get(p, "dataPeriod"), "Consent.provision.dataPeriod", &out->data_from,
               &out->data_to, e));
    TRY(classes(json_object_get(p, "class"), out, e));
    json_t *actors = json_object_get(p, "actor");
    if (actors && (!json_is_array(actors) || json_array_size(actors) != 1))
        return ob_err_set(e, OB_EINVAL, "'Consent.provision.actor' names exactly one actor");
    if (out->is_block) {
        if (json_object_get(p, "purpose"))
            return ob_err_set(e, OB_EINVAL, "a block (provision.type deny) has no purpose");
        if (actors) {
            TRY(actor(json_array_get(actors, 0), out, e));
        } else {
            out->block_kind = OB_BLOCK_PERIOD; /* or a notes block: after the extensions */
        }
        return OB_OK;
    }
    /* R-CON-1: purpose, recipient, categories, period */
    if (!json_object_get(p, "purpose"))
        return ob_err_set(e, OB_EINVAL,
                          "R-CON-1: a consent needs its purpose in "
                          "'Consent.provision.purpose'");
    TRY(purpose(json_object_get(p, "purpose"), out, e));
    if (!actors)
        return ob_err_set(e, OB_EINVAL,
                          "R-CON-1: a consent needs its recipient in "
                          "'Consent.provision.actor'");
    TRY(actor(json_array_get(actors, 0), out, e));
    if (out->ncats == 0)
        return ob_err_set(e, OB_EINVAL,
                          "R-CON-1: a consent names the data categories it covers "
                          "in 'Consent.provision.class'");
    if (!out->valid_from || !out->valid_to)
        return ob_err_set(e, OB_EINVAL,
                          "R-CON-1: a consent needs 'Consent.provision.period' "
                          "with a start and an end");
    if (out->data_from || out->data_to)
        return ob_err_set(e, OB_EINVAL, "'Consent.provision.dataPeriod' applies to blocks only");
    return OB_OK;
}

static ob_status extensions(json_t *arr, ob_fhir_consent *out, ob_err *e)
{
    static const char *const fb[] = {"url", "valueBoolean", NULL};
    static const char *const fc[] = {"url", "valueCode", NULL};
    static const char *const fr[] = {"url", "valueReference", NULL};
    static const char *const fd[] = {"url", "valueDateTime", NULL};
    ob_status rc;
    if (!arr)
        return OB_OK;
    if (!json_is_array(arr))
        return ob_err_set(e, OB_EINVAL, "'Consent.extension' must be an array");
    size_t i;
    json_t *x;
    json_array_foreach(arr, i, x)
    {
        const char *url;
        if (!json_is_object(x))
            return ob_err_set(e, OB_EINVAL, "'Consent.extension' holds objects");
        TRY(str(x, "url", "Consent.extension", true, &url, e));
        if (strcmp(url, OB_FHIR_EXT_SUBUNITS) == 0 || strcmp(url, OB_FHIR_EXT_IDENTIFY) == 0 ||
            strcmp(url, OB_FHIR_EXT_NOTES) == 0) {
            TRY(only(x, fb, "Consent.extension", e));
            json_t *b = json_object_get(x, "valueBoolean");
            if (!json_is_boolean(b))
                return ob_err_set(e, OB_EINVAL, "extension %s needs valueBoolean", url);
            if (strcmp(url, OB_FHIR_EXT_SUBUNITS) == 0)
                out->include_subunits = json_is_true(b);
            else if (strcmp(url, OB_FHIR_EXT_NOTES) == 0)
                out->notes = json_is_true(b);
            else
                out->identifiable = json_is_true(b);
        } else if (strcmp(url, OB_FHIR_EXT_FORM) == 0) {
            const char *form;
            TRY(only(x, fc, "Consent.extension", e));
            TRY(str(x, "valueCode", "Consent.extension", true, &form, e));
            if (strcmp(form, "oral") != 0 && strcmp(form, "written") != 0)
                return ob_err_set(e, OB_EINVAL, "extension %s is written or oral", url);
            out->oral = strcmp(form, "oral") == 0;
        } else if (strcmp(url, OB_FHIR_EXT_TAKEN_BY) == 0) {
            static const char *const pr[] = {"Practitioner", NULL};
            int t;
            TRY(only(x, fr, "Consent.extension", e));
            TRY(reference(json_object_get(x, "valueReference"), "Consent.extension.valueReference",
                          pr, &t, &out->taken_by, e));
        } else if (strcmp(url, OB_FHIR_EXT_SET_BY_GP) == 0) {
            TRY(only(x, fr, "Consent.extension", e)); /* set by the server; ignored */
        } else if (strcmp(url, OB_FHIR_EXT_REVOKED_AT) == 0) {
            TRY(only(x, fd, "Consent.extension", e)); /* set by the server; ignored */
        } else if (strcmp(url, OB_FHIR_EXT_ON_BEHALF) == 0) {
            TRY(only(x, fb, "Consent.extension", e)); /* set by the server; ignored */
        } else {
            return ob_err_set(e, OB_EINVAL,
                              "unknown extension in 'Consent.extension' (see "
                              "docs/api.md, Consent)");
        }
    }
    return OB_OK;
}

static ob_status typed(json_t *res, const char *key, bool array, ob_err *e)
{
    json_t *v = json_object_get(res, key);
    if (v && (array ? !json_is_array(v) : !json_is_object(v)))
        return ob_err_set(e, OB_EINVAL, "element 'Consent.%s' must be %s", key,
                          array ? "an array" : "an object");
    return OB_OK;
}

ob_status ob_fhir_consent_parse(json_t *res, bool for_update, ob_fhir_consent *out, ob_err *e)
{
    static const char *const f[] = {"resourceType",     "id",       "meta",          "text",
                                    "identifier",       "status",   "scope",         "category",
                                    "patient",          "dateTime", "performer",     "organization",
                                    "sourceAttachment", "policy",   "policyRule",    "provision",
                                    "extension",        "language", "implicitRules", NULL};
    static const char *const att[] = {"contentType", "language", "title", "creation", NULL};
    ob_status rc;
    memset(out, 0, sizeof *out);
    out->include_subunits = -1;
    out->identifiable = -1;
    if (!json_is_object(res))
        return ob_err_set(e, OB_EINVAL, "the body must be a FHIR Consent resource");
    const char *rt, *status, *dt;
    TRY(str(res, "resourceType", "Consent", true, &rt, e));
    if (strcmp(rt, "Consent") != 0)
        return ob_err_set(e, OB_EINVAL, "the body must be a FHIR Consent resource");
    TRY(only(res, f, "Consent", e));
    if (!for_update && json_object_get(res, "id"))
        return ob_err_set(e, OB_EINVAL, "a Consent to create has no id; the server assigns it");
    TRY(typed(res, "meta", false, e));
    TRY(typed(res, "text", false, e));
    TRY(typed(res, "identifier", true, e));
    TRY(typed(res, "performer", true, e));
    TRY(typed(res, "organization", true, e));
    TRY(typed(res, "policy", true, e));
    TRY(typed(res, "policyRule", false, e));
    TRY(str(res, "dateTime", "Consent", false, &dt, e));
    TRY(str(res, "status", "Consent", true, &status, e));
    if (strcmp(status, "active") == 0)
        out->active = true;
    else if (strcmp(status, "inactive") == 0 && for_update)
        out->active = false;
    else if (strcmp(status, "inactive") == 0 || strcmp(status, "draft") == 0 ||
             strcmp(status, "proposed") == 0 || strcmp(status, "rejected") == 0 ||
             strcmp(status, "entered-in-error") == 0)
        return ob_err_set(e, OB_EINVAL, "'Consent.status' must be %s",
                          for_update ? "active or inactive" : "active to create a Consent");
    else
        return ob_err_set(e, OB_EINVAL, "unknown 'Consent.status'");
    json_t *scope = json_object_get(res, "scope");
    if (!scope)
        return ob_err_set(e, OB_EINVAL, "missing element 'Consent.scope'");
    TRY(concept(scope, "Consent.scope", accept_scope, NULL, e));
    json_t *cat = json_object_get(res, "category");
    if (!json_is_array(cat) || json_array_size(cat) == 0)
        return ob_err_set(e, OB_EINVAL, "'Consent.category' must be a non-empty array");
    size_t i;
    json_t *c;
    json_array_foreach(cat, i, c) TRY(concept(c, "Consent.category", accept_category, NULL, e));
    json_t *pat = json_object_get(res, "patient");
    if (!pat)
        return ob_err_set(e, OB_EINVAL, "missing element 'Consent.patient'");
    static const char *const pt[] = {"Patient", NULL};
    int t;
    TRY(reference(pat, "Consent.patient", pt, &t, &out->patient, e));
    json_t *sa = json_object_get(res, "sourceAttachment");
    if (sa) {
        TRY(only(sa, att, "Consent.sourceAttachment", e));
        TRY(str(sa, "title", "Consent.sourceAttachment", false, &out->text, e));
    }
    json_t *prov = json_object_get(res, "provision");
    if (!prov)
        return ob_err_set(e, OB_EINVAL,
                          "missing element 'Consent.provision' (type deny for a "
                          "block, permit for a consent)");
    TRY(provision(prov, out, e));
    TRY(extensions(json_object_get(res, "extension"), out, e));
    if (out->is_block && out->notes) { /* R-SRC-4: notes stay within their sector */
        if (out->block_kind != OB_BLOCK_PERIOD || out->data_from || out->data_to)
            return ob_err_set(e, OB_EINVAL,
                              "a notes-within-sector block names no actor and no dataPeriod "
                              "(it covers every clinical note)");
        for (size_t k = 0; k < out->ncats; k++)
            if (strcmp(out->cats[k], "clinical_note") != 0)
                return ob_err_set(e, OB_EINVAL,
                                  "a notes-within-sector block covers clinical_note only");
        out->block_kind = OB_BLOCK_NOTES;
    } else if (out->is_block && out->block_kind == OB_BLOCK_PERIOD && !out->data_from &&
               !out->data_to) {
        return ob_err_set(e, OB_EINVAL,
                          "a block without an actor is a period block and needs "
                          "'Consent.provision.dataPeriod' (R-BLK-1c), or the "
                          "notes-within-sector extension (R-SRC-4)");
    } else if (!out->is_block && out->notes) {
        return ob_err_set(e, OB_EINVAL, "the notes-within-sector extension applies to blocks");
    }
    if (out->is_block) {
        if (out->include_subunits >= 0 && out->block_kind != OB_BLOCK_SITE)
            return ob_err_set(e, OB_EINVAL,
                              "the include-subunits extension applies to site "
                              "blocks only");
        if (out->oral || out->taken_by || out->identifiable >= 0)
            return ob_err_set(e, OB_EINVAL,
                              "a block (provision.type deny) carries no form, "
                              "taken-by or identifiable extension");
        out->text = NULL; /* a block needs no text; a sourceAttachment is accepted, unused */
        return OB_OK;
    }
    if (out->include_subunits >= 0)
        return ob_err_set(e, OB_EINVAL, "the include-subunits extension applies to site blocks");
    if (!out->text && !for_update) /* reads do not echo the text: an update lacks it */
        return ob_err_set(e, OB_EINVAL,
                          "R-CON-1: a consent records the text the patient was "
                          "given in 'Consent.sourceAttachment.title'");
    if (out->oral && !out->taken_by)
        return ob_err_set(e, OB_EINVAL,
                          "R-CON-1: an oral consent records who took it (the "
                          "consent-taken-by extension)");
    if (!out->oral && out->taken_by)
        return ob_err_set(e, OB_EINVAL,
                          "consent-taken-by applies to oral consents (set the "
                          "consent-form extension to oral)");
    if (out->identifiable >= 0 && out->consent_kind != OB_CONSENT_RESEARCH)
        return ob_err_set(e, OB_EINVAL,
                          "the identifiable extension applies to research "
                          "consents only");
    return OB_OK;
}

static json_t *catlist(const ob_fhir_consent *c)
{
    json_t *a = json_array();
    for (size_t i = 0; i < c->ncats; i++)
        json_array_append_new(a, json_string(c->cats[i]));
    return a;
}

static void set_str(json_t *o, const char *k, const char *v)
{
    if (v)
        json_object_set_new(o, k, json_string(v));
}

json_t *ob_fhir_consent_record(const ob_fhir_consent *c, const char *by_gp)
{
    json_t *r = json_object();
    if (!r)
        return NULL;
    set_str(r, "patient", c->patient);
    if (c->is_block) {
        set_str(r, "type", "block");
        set_str(r, "kind", ob_block_kind_name((ob_block_kind)c->block_kind));
        set_str(r, "target", c->target);
        if (c->include_subunits >= 0)
            json_object_set_new(r, "include_subunits", json_boolean(c->include_subunits));
        if (c->ncats)
            json_object_set_new(r, "categories", catlist(c));
        set_str(r, "valid_from", c->valid_from);
        set_str(r, "valid_to", c->valid_to);
        set_str(r, "data_from", c->data_from);
        set_str(r, "data_to", c->data_to);
        set_str(r, "by_gp", by_gp);
        return r;
    }
    set_str(r, "type", "consent");
    set_str(r, "kind", ob_consent_kind_name((ob_consent_kind)c->consent_kind));
    static const char *const rk[] = {"professional", "org", "org_kind", "project"};
    json_object_set_new(r, "recipient", json_pack("{s:s}", rk[c->recipient_kind], c->recipient));
    json_object_set_new(r, "categories", catlist(c));
    set_str(r, "from", c->valid_from);
    set_str(r, "to", c->valid_to);
    set_str(r, "text", c->text);
    set_str(r, "form", c->oral ? "oral" : "written");
    set_str(r, "taken_by", c->taken_by);
    if (c->identifiable >= 0)
        json_object_set_new(r, "identifiable", json_boolean(c->identifiable));
    return r;
}

bool ob_fhir_consent_id_parse(const char *id, bool *is_block, uint64_t *n)
{
    const char *p;
    if (strncmp(id, "block-", 6) == 0) {
        *is_block = true;
        p = id + 6;
    } else if (strncmp(id, "consent-", 8) == 0) {
        *is_block = false;
        p = id + 8;
    } else {
        return false;
    }
    if (!*p || strlen(p) > 18 || (p[0] == '0'))
        return false;
    uint64_t v = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    *n = v;
    return true;
}

void ob_fhir_datetime(ob_time t, char buf[static 32])
{
    if (t % 86400 == 0)
        ob_date_format(t, buf);
    else
        ob_time_format(t, buf);
}

static json_t *fhir_period(ob_time a, ob_time b)
{
    if (a == OB_TIME_MIN && b == OB_TIME_MAX)
        return NULL;
    json_t *p = json_object();
    char buf[32];
    if (a != OB_TIME_MIN) {
        ob_fhir_datetime(a, buf);
        json_object_set_new(p, "start", json_string(buf));
    }
    if (b != OB_TIME_MAX) {
        /* A date as an end covers that day (time.h), so only a day's last second is written
         * as a date; an end at midnight keeps its time, or it would read back a day longer. */
        if (ob_time_is_day_end(b))
            ob_date_format(b, buf);
        else
            ob_time_format(b, buf);
        json_object_set_new(p, "end", json_string(buf));
    }
    return p;
}

static json_t *classes_json(ob_catmask m)
{
    if (m == OB_CAT_ALL)
        return NULL;
    json_t *a = json_array();
    for (int i = 0; i < OB_CAT_COUNT; i++)
        if (m & OB_CAT_BIT(i))
            json_array_append_new(a, json_pack("{s:s, s:s}", "system", OB_FHIR_CS_CATEGORY, "code",
                                               ob_category_name((ob_category)i)));
    return a;
}

static json_t *ref(const char *type, const char *id, const char *display)
{
    char buf[300];
    snprintf(buf, sizeof buf, "%s/%s", type, id);
    json_t *r = json_pack("{s:s}", "reference", buf);
    if (display)
        json_object_set_new(r, "display", json_string(display));
    return r;
}

static json_t *actor_json(json_t *reference_obj)
{
    return json_pack("{s:{s:[{s:s, s:s}]}, s:o}", "role", "coding", "system", CS_V3_PART, "code",
                     "IRCP", "reference", reference_obj);
}

static json_t *base(const char *id, bool active, const char *scope, const ob_index *ix,
                    uint32_t patient, const char *policy)
{
    const ob_patient *p = &ix->patients[patient];
    return json_pack("{s:s, s:s, s:s, s:{s:[{s:s, s:s}]}, s:[{s:[{s:s, s:s, s:s}]}], s:o, "
                     "s:{s:[{s:s, s:s}]}}",
                     "resourceType", "Consent", "id", id, "status", active ? "active" : "inactive",
                     "scope", "coding", "system", CS_SCOPE, "code", scope, "category", "coding",
                     "system", CS_LOINC, "code", "59284-0", "display", "Patient Consent", "patient",
                     ref("Patient", p->ext_id, NULL), "policyRule", "coding", "system",
                     CS_V3_ACTCODE, "code", policy);
}

static void set_opt(json_t *o, const char *k, json_t *v)
{
    if (v)
        json_object_set_new(o, k, v);
}

json_t *ob_fhir_block_render(const ob_index *ix, uint32_t patient, const ob_block *b)
{
    char id[40];
    snprintf(id, sizeof id, "block-%llu", (unsigned long long)b->id);
    json_t *r = base(id, b->active, "patient-privacy", ix, patient, "OPTOUT");
    if (!r)
        return NULL;
    const ob_patient *p = &ix->patients[patient];
    json_t *ext = json_array();
    if (b->by_gp && b->created_by < ix->npros) {
        const ob_professional *gp = &ix->pros[b->created_by];
        json_object_set_new(r, "performer",
                            json_pack("[o]", ref("Practitioner", gp->ext_id, gp->name)));
        json_array_append_new(ext, json_pack("{s:s, s:o}", "url", OB_FHIR_EXT_SET_BY_GP,
                                             "valueReference",
                                             ref("Practitioner", gp->ext_id, gp->name)));
    } else {
        json_object_set_new(r, "performer", json_pack("[o]", ref("Patient", p->ext_id, NULL)));
    }
    json_t *prov = json_pack("{s:s}", "type", "deny");
    set_opt(prov, "period", fhir_period(b->valid_from, b->valid_to));
    if (b->kind == OB_BLOCK_PROFESSIONAL && b->target < ix->npros)
        json_object_set_new(
            prov, "actor",
            json_pack("[o]", actor_json(ref("Practitioner", ix->pros[b->target].ext_id,
                                            ix->pros[b->target].name))));
    else if (b->kind == OB_BLOCK_SITE && b->target < ix->norgs) {
        json_object_set_new(
            prov, "actor",
            json_pack("[o]", actor_json(ref("Organization", ix->orgs[b->target].ext_id,
                                            ix->orgs[b->target].name))));
        json_array_append_new(ext, json_pack("{s:s, s:b}", "url", OB_FHIR_EXT_SUBUNITS,
                                             "valueBoolean", b->include_subunits));
    }
    set_opt(prov, "dataPeriod", fhir_period(b->data_from, b->data_to));
    set_opt(prov, "class", classes_json(b->categories));
    if (b->kind == OB_BLOCK_NOTES) /* R-SRC-4 */
        json_array_append_new(ext,
                              json_pack("{s:s, s:b}", "url", OB_FHIR_EXT_NOTES, "valueBoolean", 1));
    json_object_set_new(r, "provision", prov);
    if (json_array_size(ext))
        json_object_set_new(r, "extension", ext);
    else
        json_decref(ext);
    return r;
}

json_t *ob_fhir_consent_render(const ob_index *ix, uint32_t patient, const ob_consent *c)
{
    char id[40], buf[32];
    snprintf(id, sizeof id, "consent-%llu", (unsigned long long)c->id);
    const char *scope = c->kind == OB_CONSENT_RESEARCH  ? "research"
                        : c->kind == OB_CONSENT_SHARING ? "patient-privacy"
                                                        : "treatment";
    json_t *r = base(id, c->active, scope, ix, patient, "OPTIN");
    if (!r)
        return NULL;
    const ob_patient *p = &ix->patients[patient];
    ob_time_format(c->created, buf);
    json_object_set_new(r, "dateTime", json_string(buf));
    json_object_set_new(r, "performer", json_pack("[o]", ref("Patient", p->ext_id, NULL)));
    json_t *prov = json_pack("{s:s}", "type", "permit");
    set_opt(prov, "period", fhir_period(c->from, c->to));
    json_t *rcpt = NULL;
    switch (c->recipient_kind) {
    case OB_RCPT_PERSON:
        if (c->recipient < ix->npros)
            rcpt = ref("Practitioner", ix->pros[c->recipient].ext_id, ix->pros[c->recipient].name);
        break;
    case OB_RCPT_ORG:
        if (c->recipient < ix->norgs)
            rcpt = ref("Organization", ix->orgs[c->recipient].ext_id, ix->orgs[c->recipient].name);
        break;
    case OB_RCPT_ORG_KIND:
        rcpt = json_pack("{s:s, s:{s:s, s:s}}", "type", "Organization", "identifier", "system",
                         OB_FHIR_CS_ORG_KIND, "value", ob_org_kind_name((ob_org_kind)c->recipient));
        break;
    case OB_RCPT_PROJECT:
        if (c->recipient < ix->nprojects)
            rcpt = ref("ResearchStudy", ix->projects[c->recipient].ext_id,
                       ix->projects[c->recipient].title);
        break;
    default:
        break;
    }
    if (rcpt)
        json_object_set_new(prov, "actor", json_pack("[o]", actor_json(rcpt)));
    if (c->kind == OB_CONSENT_RESEARCH)
        json_object_set_new(
            prov, "purpose",
            json_pack("[{s:s, s:s}]", "system", OB_FHIR_V3_ACTREASON, "code", "HRESCH"));
    else
        json_object_set_new(prov, "purpose",
                            json_pack("[{s:s, s:s}]", "system", OB_FHIR_CS_PURPOSE, "code",
                                      ob_consent_kind_name((ob_consent_kind)c->kind)));
    json_t *cls = classes_json(c->categories);
    if (!cls) /* all categories, listed explicitly: a consent is always specific */
        cls = json_array();
    for (int i = 0; json_array_size(cls) == 0 && i < OB_CAT_COUNT; i++)
        json_array_append_new(cls, json_pack("{s:s, s:s}", "system", OB_FHIR_CS_CATEGORY, "code",
                                             ob_category_name((ob_category)i)));
    json_object_set_new(prov, "class", cls);
    json_object_set_new(r, "provision", prov);
    json_t *ext = json_array();
    json_array_append_new(ext, json_pack("{s:s, s:s}", "url", OB_FHIR_EXT_FORM, "valueCode",
                                         c->form ? "oral" : "written"));
    if (c->form && c->taken_by < ix->npros)
        json_array_append_new(ext,
                              json_pack("{s:s, s:o}", "url", OB_FHIR_EXT_TAKEN_BY, "valueReference",
                                        ref("Practitioner", ix->pros[c->taken_by].ext_id,
                                            ix->pros[c->taken_by].name)));
    if (c->kind == OB_CONSENT_RESEARCH)
        json_array_append_new(ext, json_pack("{s:s, s:b}", "url", OB_FHIR_EXT_IDENTIFY,
                                             "valueBoolean", c->identifiable));
    /* someone else recorded it for the patient: shown as such (issue 24) */
    if (c->form || c->by_operator)
        json_array_append_new(
            ext, json_pack("{s:s, s:b}", "url", OB_FHIR_EXT_ON_BEHALF, "valueBoolean", 1));
    if (!c->active && c->revoked_at != OB_TIME_MAX) {
        ob_time_format(c->revoked_at, buf);
        json_array_append_new(
            ext, json_pack("{s:s, s:s}", "url", OB_FHIR_EXT_REVOKED_AT, "valueDateTime", buf));
    }
    json_object_set_new(r, "extension", ext);
    return r;
}

/* audit.c - log entries as FHIR R4 AuditEvent (see audit.h and docs/api.md).
 *
 * One entry, one AuditEvent: a decision is type DCM 110110 "Patient Record", action R;
 * a change (block, consent, permission, relationship) is type audit-event-type "rest"
 * with subtype create/update. The actor is agent[0] (requestor), its organisation a
 * second agent, and an assistant's authorised professional a third (R-ACC-3, R-LOG-6).
 * The decision (rule, legal basis, reason) travels in entity[0].detail; an override is
 * a top-level extension AND leads outcomeDesc, so a plain FHIR client shows it first
 * (R-BLK-4: shown prominently to the patient). */
#include "fhir/audit.h"

#include <stdio.h>
#include <string.h>

#include "core/time.h"
#include "model/model.h"

#define CS_DCM       "http://dicom.nema.org/resources/ontology/DCM"
#define CS_EVTYPE    "http://terminology.hl7.org/CodeSystem/audit-event-type"
#define CS_REST      "http://hl7.org/fhir/restful-interaction"
#define CS_ACTREASON "http://terminology.hl7.org/CodeSystem/v3-ActReason"
#define CS_PART      "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
#define CS_ENTTYPE   "http://terminology.hl7.org/CodeSystem/audit-entity-type"
#define CS_OBJROLE   "http://terminology.hl7.org/CodeSystem/object-role"
#define CS_SRCTYPE   "http://terminology.hl7.org/CodeSystem/security-source-type"
#define CS_CAPACITY  OB_FHIR_BASE "/CodeSystem/capacity"

static bool has(const char *s)
{
    return s && *s;
}

static json_t *reference(const char *type, const char *id, const char *display)
{
    json_t *r = json_object();
    if (type && has(id)) {
        char buf[320];
        snprintf(buf, sizeof buf, "%s/%s", type, id);
        json_object_set_new(r, "reference", json_string(buf));
    } else if (has(id)) {
        json_object_set_new(r, "identifier", json_pack("{s:s}", "value", id));
    }
    if (has(display))
        json_object_set_new(r, "display", json_string(display));
    if (json_object_size(r) == 0)
        json_object_set_new(r, "display", json_string("unknown"));
    return r;
}

static const char *actor_type(const ob_log_entry *le)
{
    const char *role = le->actor_role;
    if (!has(role) || le->event == OB_EV_SOURCE_ACCESS) /* a person of the source's: by id */
        return NULL;
    if (strcmp(role, "citizen") == 0)
        return "Patient";
    if (strcmp(role, "source_system") == 0) /* a registered client: by its client id */
        return has(le->actor_org) && has(le->actor_id) && strcmp(le->actor_id, le->actor_org) == 0
                   ? "Organization"
                   : NULL;
    if (strcmp(role, "operator") == 0)
        return NULL;
    return "Practitioner";
}

static bool hl7_purpose(const char *p)
{
    static const char *const codes[] = {"TREAT",   "ETREAT", "HQUALIMP", "HRESCH",
                                        "HOPERAT", "PATRQT", "PWATRNY",  NULL};
    for (const char *const *c = codes; *c; c++)
        if (strcmp(*c, p) == 0)
            return true;
    return false;
}

static void detail(json_t *arr, const char *type, const char *value)
{
    if (has(value))
        json_array_append_new(arr, json_pack("{s:s, s:s}", "type", type, "valueString", value));
}

/* "block/7" -> Consent/block-7, "consent/3" -> Consent/consent-3; "Type/id" (a FHIR type
 * and id) -> a reference; anything else -> an identifier */
static json_t *resource_ref(const char *res)
{
    char buf[64];
    const char *slash = strchr(res, '/');
    if (slash && strlen(res) < 40 &&
        ((slash - res == 5 && strncmp(res, "block", 5) == 0) ||
         (slash - res == 7 && strncmp(res, "consent", 7) == 0))) {
        snprintf(buf, sizeof buf, "Consent/%.*s-%s", (int)(slash - res), res, slash + 1);
        return json_pack("{s:s}", "reference", buf);
    }
    bool typed = slash && slash > res && res[0] >= 'A' && res[0] <= 'Z' && slash[1] &&
                 !strchr(slash + 1, '/') && strlen(slash + 1) <= 64;
    for (const char *p = res; typed && p < slash; p++)
        typed = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z');
    for (const char *p = typed ? slash + 1 : ""; typed && *p; p++)
        typed = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
                *p == '-' || *p == '.';
    if (typed)
        return json_pack("{s:s}", "reference", res);
    return json_pack("{s:{s:s}}", "identifier", "value", res);
}

json_t *ob_fhir_audit_event(uint64_t seq, const ob_log_entry *le)
{
    char id[32], when[32];
    snprintf(id, sizeof id, "%llu", (unsigned long long)seq);
    ob_time_format(le->time, when);
    bool reported = le->event == OB_EV_SOURCE_ACCESS;
    bool decision = le->event == OB_EV_DECISION || reported;
    const char *action = "E", *sub = NULL;
    switch (le->event) {
    case OB_EV_DECISION:
    case OB_EV_SOURCE_ACCESS:
        action = "R";
        sub = "read";
        break;
    case OB_EV_BLOCK_CREATE:
    case OB_EV_CONSENT_CREATE:
    case OB_EV_PERMISSION_GRANT:
    case OB_EV_RELATIONSHIP:
        action = "C";
        sub = "create";
        break;
    case OB_EV_BLOCK_LIFT:
    case OB_EV_CONSENT_REVOKE:
    case OB_EV_PERMISSION_REVOKE:
        action = "U";
        sub = "update";
        break;
    default:
        break;
    }
    json_t *ev = json_pack("{s:s, s:s}", "resourceType", "AuditEvent", "id", id);
    if (!ev)
        return NULL;
    if (decision)
        json_object_set_new(ev, "type",
                            json_pack("{s:s, s:s, s:s}", "system", CS_DCM, "code", "110110",
                                      "display", "Patient Record"));
    else
        json_object_set_new(ev, "type",
                            json_pack("{s:s, s:s, s:s}", "system", CS_EVTYPE, "code", "rest",
                                      "display", "RESTful Operation"));
    if (sub)
        json_object_set_new(ev, "subtype",
                            json_pack("[{s:s, s:s}]", "system", CS_REST, "code", sub));
    json_object_set_new(ev, "action", json_string(action));
    json_object_set_new(ev, "recorded", json_string(when));
    json_object_set_new(ev, "outcome", json_string(le->permit ? "0" : "4"));
    char desc[1200];
    if (le->override)
        snprintf(desc, sizeof desc, "BLOCK OVERRIDDEN (vaerdispring), reason given: %s. %s",
                 has(le->justification) ? le->justification : "(none)",
                 has(le->reason) ? le->reason : "");
    else
        snprintf(desc, sizeof desc, "%s",
                 has(le->reason) ? le->reason : ob_log_event_name(le->event));
    json_object_set_new(ev, "outcomeDesc", json_string(desc));
    if (has(le->purpose))
        json_object_set_new(
            ev, "purposeOfEvent",
            json_pack("[{s:[{s:s, s:s}]}]", "coding", "system",
                      hl7_purpose(le->purpose) ? CS_ACTREASON : OB_FHIR_CS_PURPOSE_OB, "code",
                      le->purpose));
    /* agents: the actor, their organisation, and for an assistant the professional */
    json_t *agents = json_array();
    const char *cap = ob_capacity_name((ob_capacity)le->capacity);
    json_t *a0 = json_pack("{s:{s:[{s:s, s:s}]}, s:o, s:b}", "type", "coding", "system",
                           CS_CAPACITY, "code", cap ? cap : "unknown", "who",
                           reference(actor_type(le), le->actor_id, le->actor_name), "requestor", 1);
    if (has(le->actor_role))
        json_object_set_new(a0, "role", json_pack("[{s:s}]", "text", le->actor_role));
    if (has(le->actor_name))
        json_object_set_new(a0, "name", json_string(le->actor_name));
    json_array_append_new(agents, a0);
    if (has(le->actor_org) && (!actor_type(le) || strcmp(actor_type(le), "Organization") != 0))
        json_array_append_new(
            agents, json_pack("{s:{s:s}, s:o, s:b}", "type", "text", "organisation", "who",
                              reference("Organization", le->actor_org, le->actor_org_name),
                              "requestor", 0));
    if (has(le->on_behalf_of))
        json_array_append_new(
            agents,
            json_pack("{s:{s:[{s:s, s:s}], s:s}, s:o, s:b}", "type", "coding", "system", CS_PART,
                      "code", "RESP", "text",
                      "the authorised professional the assistant acted for (R-ACC-3)", "who",
                      reference("Practitioner", le->on_behalf_of, NULL), "requestor", 0));
    json_object_set_new(ev, "agent", agents);
    if (reported) /* R-SRC-3: the source system saw it; the hub only keeps it */
        json_object_set_new(
            ev, "source",
            json_pack("{s:s, s:o, s:[{s:s, s:s, s:s}]}", "site", "reported by the source system",
                      "observer", reference("Organization", le->actor_org, le->actor_org_name),
                      "type", "system", CS_SRCTYPE, "code", "4", "display", "Application Server"));
    else
        json_object_set_new(ev, "source",
                            json_pack("{s:s, s:{s:s}, s:[{s:s, s:s, s:s}]}", "site", "overblik",
                                      "observer", "display", "overblik", "type", "system",
                                      CS_SRCTYPE, "code", "4", "display", "Application Server"));
    json_t *ents = json_array();
    json_t *details = json_array();
    detail(details, "event", ob_log_event_name((ob_log_event)le->event));
    detail(details, "decision", le->permit ? "permit" : "deny");
    detail(details, "rule", le->rule);
    detail(details, "legal_basis", le->legal_basis);
    detail(details, "reason", le->reason);
    detail(details, "category", le->category);
    detail(details, "capacity", cap);
    detail(details, "override", le->override ? "true" : "false");
    if (le->override)
        detail(details, "justification", le->justification);
    json_t *e0 = json_pack("{s:{s:s, s:s, s:s}, s:{s:s, s:s, s:s}, s:o}", "type", "system",
                           CS_ENTTYPE, "code", "1", "display", "Person", "role", "system",
                           CS_OBJROLE, "code", "1", "display", "Patient", "detail", details);
    if (has(le->patient))
        json_object_set_new(e0, "what", reference("Patient", le->patient, NULL));
    json_array_append_new(ents, e0);
    /* issue 25: one entity per resource disclosed, each a proper Reference (a search logs
     * its results as one comma list, "Observation/a,Observation/b" or "AuditEvent/1,2");
     * a write names its resource by the source's identifier (a query): kept whole */
    const char *res = le->resource;
    bool list = has(res) && !strchr(res, '?') && !strchr(res, '=');
    char type[48] = "";
    for (const char *p = res; list && *p;) {
        size_t len = strcspn(p, ",");
        char one[320];
        const char *slash = memchr(p, '/', len);
        if (slash && (size_t)(slash - p) < sizeof type) {
            snprintf(type, sizeof type, "%.*s", (int)(slash - p), p);
            snprintf(one, sizeof one, "%.*s", (int)len, p);
        } else {
            snprintf(one, sizeof one, "%s/%.*s", type[0] ? type : "Resource", (int)len, p);
        }
        json_t *e1 = json_pack("{s:o, s:{s:s, s:s, s:s}}", "what", resource_ref(one), "type",
                               "system", CS_ENTTYPE, "code", "2", "display", "System Object");
        if (has(le->category))
            json_object_set_new(e1, "name", json_string(le->category));
        json_array_append_new(ents, e1);
        p += len + (p[len] == ',');
    }
    if (has(res) && !list) {
        json_t *e1 = json_pack("{s:o, s:{s:s, s:s, s:s}}", "what", resource_ref(res), "type",
                               "system", CS_ENTTYPE, "code", "2", "display", "System Object");
        if (has(le->category))
            json_object_set_new(e1, "name", json_string(le->category));
        json_array_append_new(ents, e1);
    }
    json_object_set_new(ev, "entity", ents);
    json_t *ext = json_array();
    json_array_append_new(
        ext, json_pack("{s:s, s:b}", "url", OB_FHIR_EXT_OVERRIDE, "valueBoolean", le->override));
    if (le->override && has(le->justification))
        json_array_append_new(ext, json_pack("{s:s, s:s}", "url", OB_FHIR_EXT_JUSTIFICATION,
                                             "valueString", le->justification));
    json_object_set_new(ev, "extension", ext);
    return ev;
}

json_t *ob_fhir_proof_parameters(uint64_t seq, int version, const char *proof_json)
{
    char s[32];
    snprintf(s, sizeof s, "%llu", (unsigned long long)seq);
    return json_pack("{s:s, s:[{s:s, s:s}, {s:s, s:s}, {s:s, s:s}]}", "resourceType", "Parameters",
                     "parameter", "name", "seq", "valueString", s, "name", "format", "valueString",
                     version == 2 ? "overblik-log-proof-v2" : "overblik-log-proof-v1", "name",
                     "proof", "valueString", proof_json);
}

/* ---- a source's report of an access in its own system (R-SRC-3) ---- */

static const char *str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

ob_status ob_fhir_audit_parse(json_t *res, ob_fhir_audit_in *out, ob_err *e)
{
    memset(out, 0, sizeof *out);
    out->success = true;
    out->action = "R";
    if (!json_is_object(res) || !str(res, "resourceType") ||
        strcmp(str(res, "resourceType"), "AuditEvent") != 0)
        return ob_err_set(e, OB_EINVAL, "the body must be a FHIR AuditEvent resource");
    static const char *const known[] = {
        "resourceType",   "id",     "meta",   "text",     "extension", "type",
        "subtype",        "action", "period", "recorded", "outcome",   "outcomeDesc",
        "purposeOfEvent", "agent",  "source", "entity",   "language",  NULL};
    const char *key;
    json_t *v;
    json_object_foreach(res, key, v)
    {
        bool ok = false;
        for (const char *const *k = known; *k && !ok; k++)
            ok = strcmp(*k, key) == 0;
        if (!ok)
            return ob_err_set(e, OB_EINVAL, "unknown or unsupported element AuditEvent.%s",
                              ob_fhir_shown_name(key));
    }
    if (!json_is_object(json_object_get(res, "type")))
        return ob_err_set(e, OB_EINVAL, "AuditEvent.type is required (a Coding)");
    const char *rec = str(res, "recorded");
    if (!rec || ob_time_parse(rec, &out->recorded, NULL) != OB_OK)
        return ob_err_set(e, OB_EINVAL, "AuditEvent.recorded must be a FHIR instant");
    const char *act = str(res, "action");
    if (act) {
        if (strlen(act) != 1 || !strchr("CRUDE", act[0]))
            return ob_err_set(e, OB_EINVAL, "AuditEvent.action is C, R, U, D or E");
        out->action = act;
    }
    const char *oc = str(res, "outcome");
    if (oc) {
        if (strcmp(oc, "0") && strcmp(oc, "4") && strcmp(oc, "8") && strcmp(oc, "12"))
            return ob_err_set(e, OB_EINVAL, "AuditEvent.outcome is 0, 4, 8 or 12");
        out->success = strcmp(oc, "0") == 0;
    }
    json_t *pe = json_array_get(json_object_get(res, "purposeOfEvent"), 0);
    out->purpose = str(json_array_get(json_object_get(pe, "coding"), 0), "code");
    if (out->purpose &&
        (strlen(out->purpose) > 16 ||
         strspn(out->purpose, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != strlen(out->purpose)))
        return ob_err_set(e, OB_EINVAL, "AuditEvent.purposeOfEvent: a code of capital letters");
    /* the person: the requestor agent, else the first */
    json_t *agents = json_object_get(res, "agent"), *ag = NULL, *a;
    size_t i;
    json_array_foreach(agents, i, a)
    {
        if (!ag || json_is_true(json_object_get(a, "requestor")))
            ag = a;
        if (json_is_true(json_object_get(a, "requestor")))
            break;
    }
    if (!json_is_object(ag))
        return ob_err_set(e, OB_EINVAL, "AuditEvent.agent: the person who had access is required");
    json_t *who = json_object_get(ag, "who");
    out->who_id = str(json_object_get(who, "identifier"), "value");
    out->who_name = str(ag, "name");
    if (!out->who_name)
        out->who_name = str(who, "display");
    out->who_role = str(json_array_get(json_object_get(ag, "role"), 0), "text");
    if (!out->who_name || !*out->who_name)
        return ob_err_set(e, OB_EINVAL,
                          "AuditEvent.agent needs the name of the person who had access (the "
                          "citizen reads it)");
    out->observer = str(json_object_get(json_object_get(res, "source"), "observer"), "reference");
    if (!out->observer || strncmp(out->observer, "Organization/", 13) != 0 || !out->observer[13])
        return ob_err_set(e, OB_EINVAL,
                          "AuditEvent.source.observer must be Organization/<id>: where the "
                          "access happened");
    out->observer += 13;
    json_t *en;
    json_array_foreach(json_object_get(res, "entity"), i, en)
    {
        json_t *id = json_object_get(json_object_get(en, "what"), "identifier");
        const char *sys = str(id, "system");
        if (sys && strcmp(sys, OB_FHIR_CPR_SYSTEM) == 0) {
            if (out->cpr)
                return ob_err_set(e, OB_EINVAL, "an AuditEvent is about one patient");
            out->cpr = str(id, "value");
        } else if (!out->what) {
            out->what = str(en, "name");
        }
    }
    if (!out->cpr)
        return ob_err_set(
            e, OB_EINVAL,
            "AuditEvent.entity must name the patient by CPR identifier (system " OB_FHIR_CPR_SYSTEM
            ")");
    return OB_OK;
}

/* events.c - the FHIR resources by which sources report what starts and ends a treatment
 * relationship (issue 21, R-ACC-1; fhir.h ob_fhir_event_in):
 *
 *   Encounter       class IMP/ACUTE/NONAC/SS (admission), AMB (outpatient course: admission
 *                   kind), EMER (out-of-hours contact, 1813/vagtlæge), HH (home visit: home
 *                   nursing), VR (a virtual consultation: treatment); serviceProvider is the
 *                   organisation; a participant's individual (Practitioner/<id>) makes it
 *                   personal; period.start required, period.end when over.
 *   EpisodeOfCare   type coded in OB_FHIR_CS_RELATIONSHIP (home_nursing, rehabilitation,
 *                   municipal_acute, treatment, listed); managingOrganization;
 *                   careManager optional; period as above.
 *   ServiceRequest  a referral: intent order, requester Organization/<id> (the referring
 *                   site), performer[0] Organization/<id> (the receiving one; a second
 *                   performer may be its Practitioner), authoredOn the start.
 *
 * The patient is named by CPR identifier (the source does not know our ids), the
 * organisations and practitioners by overblik's ids (Organization/<id>,
 * Practitioner/<id>). Only what the relationship needs is read; nothing is kept but the
 * relationship and the event's identifier. */
#include <string.h>

#include "fhir/fhir.h"
#include "model/model.h"

static const char *str(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* "Type/<id>" of a reference object's reference, or NULL. */
static const char *ref_id(json_t *ref, const char *type)
{
    const char *r = str(ref, "reference");
    size_t n = strlen(type);
    if (!r || strncmp(r, type, n) != 0 || r[n] != '/' || !r[n + 1] || strlen(r + n + 1) > 128)
        return NULL;
    return r + n + 1;
}

static bool in(const char *s, const char *const *list)
{
    for (; s && *list; list++)
        if (strcmp(s, *list) == 0)
            return true;
    return false;
}

static ob_status period(json_t *res, const char *type, const char *el, ob_fhir_event_in *out,
                        ob_err *e)
{
    json_t *p = json_object_get(res, el);
    const char *s = str(p, "start"), *en = str(p, "end");
    if (!s || ob_time_parse(s, &out->from, NULL) != OB_OK)
        return ob_err_set(e, OB_EINVAL, "%s.%s.start must be a FHIR dateTime", type, el);
    if (en) {
        if (ob_time_parse(en, &out->to, NULL) != OB_OK || out->to < out->from)
            return ob_err_set(e, OB_EINVAL, "%s.%s.end must be a FHIR dateTime after the start",
                              type, el);
        out->has_to = true;
    }
    return OB_OK;
}

static ob_status encounter(json_t *res, ob_fhir_event_in *out, ob_err *e)
{
    static const char *const open[] = {"planned",     "arrived", "triaged",
                                       "in-progress", "onleave", NULL};
    static const char *const over[] = {"finished", "cancelled", "entered-in-error", NULL};
    const char *status = str(res, "status");
    if (!in(status, open) && !in(status, over))
        return ob_err_set(e, OB_EINVAL,
                          "Encounter.status must be planned, arrived, triaged, in-progress, "
                          "onleave, finished, cancelled or entered-in-error");
    out->ended = in(status, over);
    const char *cls = str(json_object_get(res, "class"), "code");
    static const struct {
        const char *code;
        int kind;
    } classes[] = {{"IMP", OB_REL_ADMISSION},   {"ACUTE", OB_REL_ADMISSION},
                   {"NONAC", OB_REL_ADMISSION}, {"SS", OB_REL_ADMISSION},
                   {"AMB", OB_REL_ADMISSION},   {"EMER", OB_REL_OUT_OF_HOURS},
                   {"HH", OB_REL_HOME_NURSING}, {"VR", OB_REL_TREATMENT}};
    out->kind = -1;
    for (size_t i = 0; cls && i < sizeof classes / sizeof classes[0]; i++)
        if (strcmp(cls, classes[i].code) == 0)
            out->kind = classes[i].kind;
    if (out->kind < 0)
        return ob_err_set(e, OB_EINVAL,
                          "Encounter.class.code must be IMP, ACUTE, NONAC, SS, AMB, EMER, HH or "
                          "VR (v3 ActCode)");
    if (!(out->org = ref_id(json_object_get(res, "serviceProvider"), "Organization")))
        return ob_err_set(e, OB_EINVAL, "Encounter.serviceProvider must be Organization/<id>");
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(res, "participant"), i, p)
    {
        const char *pr = ref_id(json_object_get(p, "individual"), "Practitioner");
        if (pr) {
            out->practitioner = pr;
            break;
        }
    }
    return period(res, "Encounter", "period", out, e);
}

static ob_status episode(json_t *res, ob_fhir_event_in *out, ob_err *e)
{
    static const char *const open[] = {"planned", "waitlist", "active", "onhold", NULL};
    static const char *const over[] = {"finished", "cancelled", "entered-in-error", NULL};
    const char *status = str(res, "status");
    if (!in(status, open) && !in(status, over))
        return ob_err_set(e, OB_EINVAL,
                          "EpisodeOfCare.status must be planned, waitlist, active, onhold, "
                          "finished, cancelled or entered-in-error");
    out->ended = in(status, over);
    out->kind = -1;
    size_t i, j;
    json_t *t, *c;
    json_array_foreach(json_object_get(res, "type"), i, t)
    {
        json_array_foreach(json_object_get(t, "coding"), j, c)
        {
            const char *sys = str(c, "system"), *code = str(c, "code");
            int k = code ? ob_rel_kind_parse(code) : -1;
            if (sys && strcmp(sys, OB_FHIR_CS_RELATIONSHIP) == 0 && k >= 0 &&
                k != OB_REL_REFERRAL && k != OB_REL_ADMISSION && k != OB_REL_OUT_OF_HOURS)
                out->kind = k;
        }
    }
    if (out->kind < 0)
        return ob_err_set(e, OB_EINVAL,
                          "EpisodeOfCare.type must be coded in " OB_FHIR_CS_RELATIONSHIP
                          " (home_nursing, rehabilitation, municipal_acute, treatment, listed)");
    if (!(out->org = ref_id(json_object_get(res, "managingOrganization"), "Organization")))
        return ob_err_set(e, OB_EINVAL,
                          "EpisodeOfCare.managingOrganization must be Organization/<id>");
    out->practitioner = ref_id(json_object_get(res, "careManager"), "Practitioner");
    return period(res, "EpisodeOfCare", "period", out, e);
}

static ob_status referral(json_t *res, ob_fhir_event_in *out, ob_err *e)
{
    static const char *const open[] = {"active", "on-hold", NULL};
    static const char *const over[] = {"completed", "revoked", "entered-in-error", NULL};
    const char *status = str(res, "status"), *intent = str(res, "intent");
    if (!in(status, open) && !in(status, over))
        return ob_err_set(e, OB_EINVAL,
                          "ServiceRequest.status must be active, on-hold, completed, revoked or "
                          "entered-in-error");
    if (!intent || strcmp(intent, "order") != 0)
        return ob_err_set(e, OB_EINVAL, "a referral is a ServiceRequest with intent order");
    out->ended = in(status, over);
    out->kind = OB_REL_REFERRAL;
    if (!(out->requester = ref_id(json_object_get(res, "requester"), "Organization")))
        return ob_err_set(e, OB_EINVAL, "ServiceRequest.requester must be Organization/<id>");
    json_t *perf = json_object_get(res, "performer");
    if (!(out->org = ref_id(json_array_get(perf, 0), "Organization")))
        return ob_err_set(e, OB_EINVAL,
                          "ServiceRequest.performer[0] must be the receiving Organization/<id>");
    out->practitioner = ref_id(json_array_get(perf, 1), "Practitioner");
    const char *at = str(res, "authoredOn");
    if (!at || ob_time_parse(at, &out->from, NULL) != OB_OK)
        return ob_err_set(e, OB_EINVAL, "ServiceRequest.authoredOn must be a FHIR dateTime");
    return OB_OK;
}

ob_status ob_fhir_event_parse(json_t *res, const char *type, ob_fhir_event_in *out, ob_err *e)
{
    memset(out, 0, sizeof *out);
    out->type = type;
    if (!json_is_object(res) || !str(res, "resourceType") ||
        strcmp(str(res, "resourceType"), type) != 0)
        return ob_err_set(e, OB_EINVAL, "the body must be a FHIR %s resource", type);
    json_t *ids = json_object_get(res, "identifier");
    json_t *id = json_array_get(ids, 0);
    out->system = str(id, "system");
    out->value = str(id, "value");
    if (json_array_size(ids) != 1 || !out->system || !out->value || !out->system[0] ||
        !out->value[0] || strlen(out->system) > 200 || strlen(out->value) > 128)
        return ob_err_set(e, OB_EINVAL,
                          "%s.identifier must be one identifier (system and value) of the source",
                          type);
    json_t *subj = json_object_get(res, strcmp(type, "EpisodeOfCare") == 0 ? "patient" : "subject");
    json_t *pid = json_object_get(subj, "identifier");
    const char *sys = str(pid, "system");
    out->cpr = str(pid, "value");
    if (!sys || strcmp(sys, OB_FHIR_CPR_SYSTEM) != 0 || !out->cpr)
        return ob_err_set(
            e, OB_EINVAL,
            "%s.%s must name the patient by CPR identifier (system " OB_FHIR_CPR_SYSTEM ")", type,
            strcmp(type, "EpisodeOfCare") == 0 ? "patient" : "subject");
    if (strcmp(type, "Encounter") == 0)
        return encounter(res, out, e);
    if (strcmp(type, "EpisodeOfCare") == 0)
        return episode(res, out, e);
    if (strcmp(type, "ServiceRequest") == 0)
        return referral(res, out, e);
    return ob_err_set(e, OB_EINVAL, "not an event resource");
}

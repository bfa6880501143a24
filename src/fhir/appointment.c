/* appointment.c - FHIR R4 Appointment <-> the appointment overview (R-APT-1..5).
 *
 * Parsing is strict about structure (unknown elements and wrong types are refused,
 * R-API-5) and generous about content we do not keep: comment, patientInstruction,
 * description, narrative text, reasons and unknown extensions are valid FHIR, are
 * accepted, and are dropped here, at the door (R-APT-3). modifierExtension is refused:
 * it could change the meaning of what we store. The patient is the participant whose
 * actor carries the CPR identifier (R-APT-2); without one the entry is a meeting or a
 * course and is refused. */
#include "fhir/fhir.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cpr.h"
#include "core/alloc.h"

void ob_fhir_time(ob_time t, char buf[static 32])
{
    ob_time_format(t, buf);
}

const char *ob_fhir_shown_name(const char *key)
{
    size_t n = 0;
    for (; key[n]; n++)
        if (n >= 40 || !(isalpha((unsigned char)key[n]) || key[n] == '_'))
            return "(a name not shown)";
    return n ? key : "(a name not shown)";
}

json_t *ob_fhir_block_marker(void)
{
    return json_pack("{s:s, s:[{s:s, s:s, s:s}]}", "resourceType", "OperationOutcome", "issue",
                     "severity", "information", "code", "suppressed", "diagnostics",
                     OB_FHIR_BLOCK_HINT_TEXT);
}

void ob_fhir_block_marker_entry_write(ob_jw *w)
{
    ob_jw_lit(w, "{\"resource\":{\"resourceType\":\"OperationOutcome\",\"issue\":[{"
                 "\"severity\":\"information\",\"code\":\"suppressed\",\"diagnostics\":");
    ob_jw_str(w, OB_FHIR_BLOCK_HINT_TEXT);
    ob_jw_lit(w, "}]},\"search\":{\"mode\":\"outcome\"}}");
}

enum kind { K_STR, K_ARR, K_OBJ, K_INT, K_ANY };
struct elem {
    const char *name;
    enum kind kind;
};

/* Known R4 Appointment elements that overblik does not keep (R-APT-3). */
static const struct elem dropped[] = {
    {"text", K_OBJ},
    {"language", K_STR},
    {"implicitRules", K_STR},
    {"contained", K_ARR},
    {"comment", K_STR},
    {"patientInstruction", K_STR},
    {"description", K_STR},
    {"serviceCategory", K_ARR},
    {"serviceType", K_ARR},
    {"specialty", K_ARR},
    {"appointmentType", K_OBJ},
    {"reasonCode", K_ARR},
    {"reasonReference", K_ARR},
    {"priority", K_INT},
    {"supportingInformation", K_ARR},
    {"minutesDuration", K_INT},
    {"slot", K_ARR},
    {"created", K_STR},
    {"basedOn", K_ARR},
    {"requestedPeriod", K_ARR},
    {"cancelationReason", K_OBJ},
    {"meta", K_OBJ},
    {"id", K_STR},
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
    case K_INT:
        return json_is_integer(v);
    default:
        return true;
    }
}

static const char *str(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static ob_status time_el(json_t *o, const char *k, ob_time *t, ob_err *e)
{
    json_t *v = json_object_get(o, k);
    if (!json_is_string(v))
        return ob_err_set(e, OB_EINVAL, "Appointment.%s must be a FHIR instant", k);
    const char *s = json_string_value(v);
    if (strlen(s) < 16 || ob_time_parse(s, t, NULL) != OB_OK) /* no echo of the value */
        return ob_err_set(e, OB_EINVAL, "Appointment.%s must be a FHIR instant (date and time)", k);
    return OB_OK;
}

static const char *const statuses[] = {"proposed",   "pending",   "booked", "arrived",
                                       "fulfilled",  "cancelled", "noshow", "entered-in-error",
                                       "checked-in", "waitlist",  NULL};

static ob_status extensions(json_t *arr, ob_fhir_apt_in *out, ob_err *e)
{
    size_t i;
    json_t *x;
    json_array_foreach(arr, i, x)
    {
        const char *url = str(x, "url");
        if (!json_is_object(x) || !url)
            return ob_err_set(e, OB_EINVAL, "Appointment.extension[%zu] needs a url", i);
        if (strcmp(url, OB_FHIR_EXT_SHARED) == 0) {
            json_t *b = json_object_get(x, "valueBoolean");
            if (!json_is_boolean(b))
                return ob_err_set(e, OB_EINVAL, "the sharing extension needs valueBoolean");
            out->shared = json_is_true(b);
        } else if (strcmp(url, OB_FHIR_EXT_ADDRESS) == 0) {
            json_t *s = json_object_get(x, "valueString");
            if (!json_is_string(s))
                return ob_err_set(e, OB_EINVAL, "the meeting-address extension needs valueString");
            out->address = json_string_value(s);
        } else if (strcmp(url, OB_FHIR_EXT_CLINIC) == 0) {
            const char *ref = str(json_object_get(x, "valueReference"), "reference");
            if (!ref || strncmp(ref, "Organization/", 13) != 0 || !ref[13])
                return ob_err_set(e, OB_EINVAL,
                                  "the responsible-clinic extension needs valueReference "
                                  "Organization/<id>");
            out->clinic = ref + 13;
        } else if (strcmp(url, OB_FHIR_EXT_FICTIVE) != 0 &&
                   strcmp(url, OB_FHIR_EXT_CLINIC_KIND) != 0 &&
                   (strncmp(url, "https://overblik.dk/", 20) == 0 ||
                    strncmp(url, "http://overblik.dk/", 19) == 0)) {
            /* Fail closed: one of ours that we do not read (a typo, or the http:// form these
             * URIs had before 2026-12-01) would otherwise be dropped, and a sharing switch set
             * to false with it (R-APT-2). */
            return ob_err_set(e, OB_EINVAL,
                              "Appointment.extension[%zu] is not an overblik extension; ours are "
                              "under " OB_FHIR_SD " (docs/api.md)",
                              i);
        }
        /* anything else (fictive-end and the clinic's kind, which we compute, or a notes
         * extension) is dropped */
    }
    return OB_OK;
}

static ob_status participants(json_t *arr, ob_fhir_apt_in *out, ob_err *e)
{
    size_t i;
    json_t *p;
    json_array_foreach(arr, i, p)
    {
        json_t *actor = json_object_get(p, "actor");
        if (!json_is_object(p) || (actor && !json_is_object(actor)))
            return ob_err_set(e, OB_EINVAL, "Appointment.participant[%zu] is malformed", i);
        if (!actor)
            continue;
        json_t *id = json_object_get(actor, "identifier");
        const char *ref = str(actor, "reference");
        const char *type = str(actor, "type");
        if (id && !json_is_object(id))
            return ob_err_set(e, OB_EINVAL, "participant actor.identifier must be an object");
        const char *sys = str(id, "system");
        if (sys && strcmp(sys, OB_FHIR_CPR_SYSTEM) == 0) {
            if (out->cpr)
                return ob_err_set(e, OB_EINVAL, "an appointment has one patient participant");
            out->cpr = str(id, "value");
            if (!out->cpr)
                return ob_err_set(e, OB_EINVAL, "the patient identifier needs a value");
            continue;
        }
        bool patient =
            (type && strcmp(type, "Patient") == 0) || (ref && strncmp(ref, "Patient/", 8) == 0);
        if (patient)
            return ob_err_set(
                e, OB_EINVAL,
                "name the patient participant by CPR identifier (system " OB_FHIR_CPR_SYSTEM ")");
        bool location =
            (type && strcmp(type, "Location") == 0) || (ref && strncmp(ref, "Location/", 9) == 0);
        if (location && str(actor, "display") && !out->address)
            out->address = str(actor, "display");
    }
    return OB_OK;
}

ob_status ob_fhir_appointment_parse(json_t *res, ob_fhir_apt_in *out, ob_err *e)
{
    memset(out, 0, sizeof *out);
    out->shared = true;
    if (!json_is_object(res))
        return ob_err_set(e, OB_EINVAL, "the body must be a FHIR Appointment resource");
    const char *rt = str(res, "resourceType");
    if (!rt || strcmp(rt, "Appointment") != 0)
        return ob_err_set(e, OB_EINVAL, "resourceType must be Appointment");
    const char *key;
    json_t *v;
    json_object_foreach(res, key, v)
    {
        static const struct elem kept[] = {
            {"resourceType", K_STR}, {"identifier", K_ARR},  {"status", K_STR},   {"start", K_STR},
            {"end", K_STR},          {"participant", K_ARR}, {"extension", K_ARR}};
        const struct elem *el = NULL;
        for (size_t i = 0; i < sizeof kept / sizeof kept[0] && !el; i++)
            if (strcmp(kept[i].name, key) == 0)
                el = &kept[i];
        for (size_t i = 0; i < sizeof dropped / sizeof dropped[0] && !el; i++)
            if (strcmp(dropped[i].name, key) == 0)
                el = &dropped[i];
        if (strcmp(key, "modifierExtension") == 0)
            return ob_err_set(e, OB_EINVAL, "Appointment.modifierExtension is not supported");
        if (!el)
            return ob_err_set(e, OB_EINVAL, "unknown element Appointment.%s",
                              ob_fhir_shown_name(key));
        if (!kind_ok(v, el->kind))
            return ob_err_set(e, OB_EINVAL, "Appointment.%s has the wrong type", el->name);
    }
    /* identifier: the first one with a value is the source's id */
    json_t *ids = json_object_get(res, "identifier");
    size_t i;
    json_array_foreach(ids, i, v)
    {
        json_t *sy = json_object_get(v, "system"), *va = json_object_get(v, "value");
        if (!json_is_object(v) || (sy && !json_is_string(sy)) || (va && !json_is_string(va)))
            return ob_err_set(e, OB_EINVAL, "Appointment.identifier[%zu] is malformed", i);
        if (va && !out->value) {
            out->system = sy ? json_string_value(sy) : "";
            out->value = json_string_value(va);
        }
    }
    if (!out->value || !*out->value || strlen(out->value) > 100 || strlen(out->system) > 200)
        return ob_err_set(e, OB_EINVAL,
                          "Appointment.identifier needs your system's id (a value of at most "
                          "100 characters) (R-APT-1)");
    if (ob_cpr_in_text(out->value) || ob_cpr_in_text(out->system))
        return ob_err_set(e, OB_EINVAL,
                          "an appointment identifier must not contain a CPR number (R-CPR-2)");
    out->status = str(res, "status");
    if (!out->status)
        return ob_err_set(e, OB_EINVAL, "Appointment.status is required");
    bool known = false;
    for (const char *const *s = statuses; *s && !known; s++)
        known = strcmp(*s, out->status) == 0;
    if (!known)
        return ob_err_set(e, OB_EINVAL, "Appointment.status is not an AppointmentStatus code");
    ob_status rc;
    if ((rc = time_el(res, "start", &out->start, e)))
        return rc;
    if (json_object_get(res, "end")) {
        if ((rc = time_el(res, "end", &out->end, e)))
            return rc;
        if (out->end < out->start)
            return ob_err_set(e, OB_EINVAL, "Appointment.end is before Appointment.start");
        out->has_end = true;
    }
    if ((rc = participants(json_object_get(res, "participant"), out, e)) ||
        (rc = extensions(json_object_get(res, "extension"), out, e)))
        return rc;
    if (!out->cpr)
        return ob_err_set(e, OB_EINVAL,
                          "an appointment needs a patient participant with a CPR identifier; "
                          "calendar entries without a patient are not shared (R-APT-2)");
    if (out->address && strlen(out->address) > 300)
        return ob_err_set(e, OB_EINVAL, "the meeting address is longer than 300 characters");
    return OB_OK;
}

bool ob_fhir_apt_id_parse(const char *s, int64_t *id)
{
    if (strncmp(s, "apt-", 4) != 0 || !s[4] || strlen(s + 4) > 15)
        return false;
    int64_t v = 0;
    for (const char *p = s + 4; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        v = v * 10 + (*p - '0');
    }
    *id = v;
    return v > 0;
}

void ob_fhir_appointment_write(ob_jw *w, const ob_apt *a, const ob_fhir_clinic *clinic)
{
    ob_jw_lit(w, "{\"resourceType\":\"Appointment\",\"id\":\"apt-");
    ob_jw_int(w, a->id);
    ob_jw_lit(w, "\",\"meta\":{\"versionId\":\"");
    ob_jw_int(w, a->version);
    ob_jw_lit(w, "\",\"lastUpdated\":");
    ob_jw_instant(w, a->updated);
    /* the source's own identifier: a source matches what it reads to what it sent */
    if (a->value && *a->value) {
        ob_jw_lit(w, "},\"identifier\":[{");
        if (a->system && *a->system) {
            ob_jw_lit(w, "\"system\":");
            ob_jw_str(w, a->system);
            ob_jw_lit(w, ",");
        }
        ob_jw_lit(w, "\"value\":");
        ob_jw_str(w, a->value);
        ob_jw_lit(w, "}]");
    } else {
        ob_jw_lit(w, "}");
    }
    ob_jw_lit(w, ",\"extension\":[{\"url\":\"" OB_FHIR_EXT_SHARED "\",\"valueBoolean\":true}");
    if (a->fictive_end) /* R-APT-4 */
        ob_jw_lit(w, ",{\"url\":\"" OB_FHIR_EXT_FICTIVE "\",\"valueBoolean\":true}");
    if (clinic && clinic->name) { /* R-APT-3: the responsible clinic's name and kind */
        ob_jw_lit(w, ",{\"url\":\"" OB_FHIR_EXT_CLINIC "\",\"valueReference\":{\"reference\":");
        ob_jw_str2(w, "Organization/", clinic->id ? clinic->id : "");
        ob_jw_lit(w, ",\"display\":");
        ob_jw_str(w, clinic->name);
        ob_jw_lit(w, "}},{\"url\":\"" OB_FHIR_EXT_CLINIC_KIND
                     "\",\"valueCoding\":{\"system\":\"" OB_FHIR_CS_ORG_KIND "\",\"code\":");
        ob_jw_str(w, clinic->kind ? clinic->kind : "");
        ob_jw_lit(w, "}}");
    }
    ob_jw_lit(w, "],\"status\":");
    ob_jw_str(w, a->status ? a->status : "");
    ob_jw_lit(w, ",\"start\":");
    ob_jw_instant(w, a->start);
    ob_jw_lit(w, ",\"end\":");
    ob_jw_instant(w, a->end);
    ob_jw_lit(w, ",\"participant\":[{\"actor\":{\"reference\":");
    ob_jw_str2(w, "Patient/", a->patient ? a->patient : "");
    ob_jw_lit(w, ",\"type\":\"Patient\"},\"status\":\"accepted\"}");
    if (a->address && *a->address) { /* R-APT-3: the meeting address */
        ob_jw_lit(w, ",{\"actor\":{\"type\":\"Location\",\"display\":");
        ob_jw_str(w, a->address);
        ob_jw_lit(w, "},\"status\":\"accepted\"}");
    }
    ob_jw_lit(w, "]}");
}

json_t *ob_fhir_appointment(const ob_apt *a, const ob_fhir_clinic *clinic)
{
    ob_jw w = {0};
    ob_fhir_appointment_write(&w, a, clinic);
    size_t len;
    char *text = ob_jw_take(&w, &len);
    json_t *j = text ? json_loadb(text, len, 0, NULL) : NULL;
    ob_free(text);
    return j;
}

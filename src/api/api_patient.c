/* api_patient.c - the Patient resource and the patient overview.
 *
 *   POST /Patient/$overview   Parameters {patient | patient.identifier}: a searchset of
 *                             everything the caller's purpose permits (appointments,
 *                             conditions, observations), with the block marker; one
 *                             log entry per overview. Break-the-glass (R-BLK-4): the
 *                             caller's override needs a justification (else 400); the
 *                             decisions then permit with the override flag, logged with
 *                             the justification.
 *   POST /Patient/_search     identifier=<CPR> in the body (or _id): the Patient for a
 *   GET  /Patient?_id=<id>    caller the engine permits, else an empty Bundle
 *   GET  /Patient/<id>        the same as a read (404 when hidden or unknown)
 *   _revinclude=Appointment:patient, Observation:patient, Condition:patient (or :actor,
 *   :subject) add the patient's items, each decided, as includes beside a shown Patient
 *
 * The Patient resource shows the name, birth date and GP; its id is the internal id,
 * and the CPR appears (as identifier) only for the patient themself, who sent it. */
#include <stdio.h>
#include <string.h>

#include "api/internal.h"
#include "core/cpr.h"
#include "fhir/fhir.h"
#include "service/search.h"

#define ITEM_MASK                                                                                  \
    (OB_CAT_BIT(OB_CAT_DIAGNOSIS) | OB_CAT_BIT(OB_CAT_MEASUREMENT) | OB_CAT_BIT(OB_CAT_LAB_RESULT))

/* Decoded parameters: the request's own plus those of a FHIR Parameters body. */
typedef struct params {
    ob_api_param v[16];
    char buf[16][300];
    bool ignored[16]; /* lenient: as rq->ignored, over v */
    size_t n;
    ob_api_request rq;
} params;

static bool decode(const ob_api_request *rq, params *p, ob_api_response *out)
{
    memset(p, 0, sizeof *p);
    for (size_t i = 0; i < rq->nparams && p->n < 16; i++)
        p->v[p->n++] = rq->params[i];
    json_t *b = rq->body;
    if (b) {
        const char *rt = json_string_value(json_object_get(b, "resourceType"));
        json_t *arr = json_object_get(b, "parameter");
        if (!rt || strcmp(rt, "Parameters") != 0 || (arr && !json_is_array(arr))) {
            ob_api_outcome(out, 400, "invalid", "the body must be a FHIR Parameters resource");
            return false;
        }
        size_t i;
        json_t *x;
        json_array_foreach(arr, i, x)
        {
            const char *name = json_string_value(json_object_get(x, "name"));
            if (!name || p->n >= 16) {
                ob_api_outcome(out, 400, "invalid", "malformed or too many parameters");
                return false;
            }
            const char *v = json_string_value(json_object_get(x, "valueString"));
            json_t *ref = json_object_get(x, "valueReference");
            json_t *idf = json_object_get(x, "valueIdentifier");
            char *slot = p->buf[p->n];
            if (v)
                snprintf(slot, sizeof p->buf[0], "%s", v);
            else if (ref && json_string_value(json_object_get(ref, "reference")))
                snprintf(slot, sizeof p->buf[0], "%s",
                         json_string_value(json_object_get(ref, "reference")));
            else if (idf && json_string_value(json_object_get(idf, "value"))) {
                const char *sys = json_string_value(json_object_get(idf, "system"));
                snprintf(slot, sizeof p->buf[0], "%s%s%s", sys ? sys : "", sys ? "|" : "",
                         json_string_value(json_object_get(idf, "value")));
            } else {
                ob_api_outcome(out, 400, "invalid",
                               "a parameter needs valueString, valueReference or "
                               "valueIdentifier");
                return false;
            }
            p->v[p->n].name = name;
            p->v[p->n].value = slot;
            p->v[p->n].from_body = true;
            p->n++;
        }
    }
    p->rq = *rq;
    p->rq.params = p->v;
    p->rq.nparams = p->n;
    if (rq->ignored) { /* the body's parameters come after the request's own */
        memcpy(p->ignored, rq->ignored, rq->nparams < 16 ? rq->nparams : 16);
        p->rq.ignored = p->ignored;
    }
    return true;
}

/* ob_api_params_only over the decoded parameters, reporting those it ignored (lenient)
 * back to the request's own flags. */
static bool params_only(const ob_api_request *rq0, params *p, const char *const *allowed,
                        ob_api_response *out)
{
    bool ok = ob_api_params_only(&p->rq, allowed, out);
    for (size_t i = 0; rq0->ignored && i < rq0->nparams && i < 16; i++)
        rq0->ignored[i] = p->ignored[i];
    return ok;
}

static ob_status overview(ob_hub *h, const ob_caller *c, const ob_api_request *rq0,
                          ob_api_response *out, ob_err *e)
{
    if (strcmp(rq0->method, "POST") != 0) {
        ob_api_outcome(out, 405, "not-supported", "$overview is called with POST");
        return OB_OK;
    }
    /* R-BLK-4: break-the-glass only with a written reason */
    if (c->override != OB_OVERRIDE_NONE && !c->justification[0]) {
        ob_api_outcome(out, 400, "required",
                       "overriding a block needs a written justification (R-BLK-4)");
        return OB_OK;
    }
    params p;
    if (!decode(rq0, &p, out))
        return OB_OK;
    static const char *const allowed[] = {"patient", "patient.identifier", "identifier", NULL};
    uint32_t pat;
    if (!params_only(rq0, &p, allowed, out) || !ob_api_resolve_patient(h, c, &p.rq, &pat, out))
        return OB_OK;
    ob_api_cands cs = {0};
    ob_status rc = ob_api_apt_cands(h, c, pat, &cs, e);
    if (!rc)
        rc = ob_api_item_cands(h, c, pat, ITEM_MASK, NULL, &cs, e);
    if (rc)
        ob_api_log_failed(out);
    else
        ob_api_cands_answer(h, c, pat, &cs, "overview", OB_CAT_APPOINTMENT, &p.rq, 0, (size_t)-1,
                            out, e);
    ob_api_cands_release(&cs);
    return OB_OK;
}

json_t *ob_api_patient_resource(ob_hub *h, uint32_t pat, const char *cpr_for_self)
{
    pthread_rwlock_rdlock(&h->lock);
    const ob_patient *p = &h->ix->patients[pat];
    char bd[16];
    ob_date_format(p->birth, bd);
    json_t *r = json_pack("{s:s, s:s, s:[o]}", "resourceType", "Patient", "id", p->ext_id, "name",
                          ob_fhir_human_name(p->name));
    if (p->birth)
        json_object_set_new(r, "birthDate", json_string(bd));
    if (p->gp_clinic != OB_NONE) {
        char ref[160];
        snprintf(ref, sizeof ref, "Organization/%.140s", h->ix->orgs[p->gp_clinic].ext_id);
        json_object_set_new(
            r, "generalPractitioner",
            json_pack("[{s:s, s:s}]", "reference", ref, "display", h->ix->orgs[p->gp_clinic].name));
    }
    pthread_rwlock_unlock(&h->lock);
    if (cpr_for_self)
        json_object_set_new(
            r, "identifier",
            json_pack("[{s:s, s:s}]", "system", OB_FHIR_CPR_SYSTEM, "value", cpr_for_self));
    return r;
}

void ob_api_patient_request(ob_hub *h, const ob_caller *c, uint32_t pat, ob_request *r, char *id,
                            size_t idcap)
{
    ob_api_request_init(c, pat, r);
    r->category = OB_CAT_APPOINTMENT;
    pthread_rwlock_rdlock(&h->lock);
    r->origin_org = h->ix->patients[pat].gp_clinic;
    snprintf(id, idcap, "Patient/%.140s", h->ix->patients[pat].ext_id);
    pthread_rwlock_unlock(&h->lock);
}

ob_status ob_api_patient_cand(ob_hub *h, const ob_caller *c, uint32_t pat, const char *cpr_for_self,
                              ob_api_cands *cs, ob_err *e)
{
    if (pat == OB_NONE)
        return OB_OK;
    ob_request r;
    char id[160];
    ob_api_patient_request(h, c, pat, &r, id, sizeof id);
    if (!ob_api_cands_add(cs, &r, id, ob_api_patient_resource(h, pat, cpr_for_self)))
        return ob_err_set(e, OB_ENOMEM, "out of memory");
    return OB_OK;
}

/* bits of ob_api_revinclude_patient (internal.h) */
#define REV_APPOINTMENT 0x3u
#define REV_OBSERVATION 0xcu
#define REV_CONDITION   0x30u

/* Patient search and read: one decision (ob_api_patient_request), one log entry. With
 * _revinclude the patient's appointments, observations or conditions follow as includes,
 * each decided on its own, in the same log entry, and only when the Patient is shown. */
static ob_status patient_search(ob_hub *h, const ob_caller *c, const ob_api_request *rq0,
                                const char *read_id, ob_api_response *out, ob_err *e)
{
    params p;
    if (!decode(rq0, &p, out))
        return OB_OK;
    static const char *const allowed[] = {"identifier", "_id", "_revinclude", NULL};
    unsigned rev = 0;
    if (!params_only(rq0, &p, read_id ? NULL : allowed, out) ||
        !ob_api_includes(&p.rq, "_revinclude", ob_api_revinclude_patient, &rev, out))
        return OB_OK;
    const char *idv = read_id ? read_id : ob_api_param_get(&p.rq, "_id", NULL);
    bool by_cpr = false;
    const char *ident = ob_api_param_get(&p.rq, "identifier", &by_cpr);
    if (idv && ident) {
        ob_api_outcome(out, 400, "invalid", "give either _id or identifier");
        return OB_OK;
    }
    ob_api_request one = p.rq;
    ob_api_param byid = {"patient", idv, false};
    if (idv) { /* _id is an internal id: resolve it as a patient reference */
        one.params = &byid;
        one.nparams = 1;
    }
    uint32_t pat;
    if (!ob_api_resolve_patient(h, c, &one, &pat, out))
        return OB_OK;
    /* the CPR goes back only to the patient who sent it */
    char cpr[16] = "";
    if (pat != OB_NONE && ident && by_cpr && c->kind == OB_ACTOR_CITIZEN && c->actor == pat) {
        const char *bar = strchr(ident, '|');
        ob_cpr parsed;
        const char *num = bar ? bar + 1 : ident;
        if (ob_cpr_parse(num, strlen(num), &parsed, NULL) == OB_OK)
            snprintf(cpr, sizeof cpr, "%.10s", parsed.digits);
    }
    ob_api_cands cs = {0};
    ob_status rc = ob_api_patient_cand(h, c, pat, cpr[0] ? cpr : NULL, &cs, e);
    if (!rc && (rev & REV_APPOINTMENT))
        rc = ob_api_apt_cands(h, c, pat, &cs, e);
    ob_catmask items =
        ((rev & REV_OBSERVATION) ? OB_CAT_BIT(OB_CAT_MEASUREMENT) | OB_CAT_BIT(OB_CAT_LAB_RESULT)
                                 : 0) |
        ((rev & REV_CONDITION) ? OB_CAT_BIT(OB_CAT_DIAGNOSIS) : 0);
    if (!rc && items)
        rc = ob_api_item_cands(h, c, pat, items, NULL, &cs, e);
    cs.ninclude = cs.n ? cs.n - 1 : 0;
    if (rc) {
        ob_api_log_failed(out);
        ob_api_cands_release(&cs);
        return OB_OK;
    }
    ob_api_cands_answer(h, c, pat, &cs, "patient", OB_CAT_APPOINTMENT, &p.rq, 0, 1, out, e);
    ob_api_cands_release(&cs);
    if (read_id && out->status == 200) {
        json_t *res =
            json_object_get(json_array_get(json_object_get(out->body, "entry"), 0), "resource");
        const char *rt = json_string_value(json_object_get(res, "resourceType"));
        if (rt && strcmp(rt, "Patient") == 0) {
            json_incref(res);
            json_decref(out->body);
            out->body = res;
        } else { /* hidden and unknown answer alike */
            ob_api_outcome(out, 404, "not-found", "no such patient");
        }
    }
    return OB_OK;
}

ob_status ob_api_patient(ob_hub *h, const ob_caller *c, const ob_api_request *rq, const char *type,
                         const char *rest, ob_api_response *out, ob_err *e)
{
    (void)type;
    const char *m = rq->method;
    if (strcmp(rest, "/$overview") == 0)
        return overview(h, c, rq, out, e);
    if (strcmp(rest, "/_search") == 0 && strcmp(m, "POST") == 0)
        return patient_search(h, c, rq, NULL, out, e);
    if (rest[0] == '\0' && strcmp(m, "GET") == 0)
        return patient_search(h, c, rq, NULL, out, e);
    if (rest[0] == '/' && !strchr(rest + 1, '/') && rest[1] != '_' && rest[1] != '$' &&
        strcmp(m, "GET") == 0)
        return patient_search(h, c, rq, rest + 1, out, e);
    ob_api_outcome(out, 405, "not-supported", "not supported on Patient");
    return OB_OK;
}

/* api_patient.c - the Patient resource and the patient overview.
 *
 *   POST /Patient/$overview   Parameters {patient | patient.identifier}: a searchset of
 *                             everything the caller's purpose permits (appointments,
 *                             conditions, observations), with the block marker; one
 *                             log entry per overview. Break-the-glass (R-BLK-4): the
 *                             caller's override needs a justification (else 400); the
 *                             decisions then permit with the override flag, logged with
 *                             the justification.
 *   GET  /Patient/<id>/$everything   the same, paged (_count, _offset), narrowed by _type,
 *                             with the Patient decided as an include (FHIR R4)
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
#include "service/similar.h"

/* every item category: all but appointments, which have their own table */
#define ITEM_MASK ((ob_catmask)(OB_CAT_ALL & ~OB_CAT_BIT(OB_CAT_APPOINTMENT)))

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
    uint32_t decoy = pat == OB_NONE ? ob_api_decoy(h, &p.rq) : OB_NONE;
    if (!rc && decoy != OB_NONE) { /* as long as a hidden patient (T-ORC-1) */
        ob_api_cands sh = {0};
        ob_err ignored = {0};
        if (ob_api_apt_cands(h, c, decoy, &sh, &ignored) == OB_OK &&
            ob_api_item_cands(h, c, decoy, ITEM_MASK, NULL, &sh, &ignored) == OB_OK)
            ob_api_cands_shadow(h, &sh);
        ob_api_cands_release(&sh);
    }
    if (rc)
        ob_api_log_failed(out);
    else
        ob_api_cands_answer(h, c, pat, &cs, "overview", OB_CAT_APPOINTMENT, &p.rq, 0, (size_t)-1,
                            out, e);
    ob_api_cands_release(&cs);
    return OB_OK;
}

/* GET /Patient/<id>/$everything (FHIR R4): what $overview gives, paged (_count, _offset),
 * narrowed by _type, with the Patient itself decided as an include; one log entry. */
static ob_status everything(ob_hub *h, const ob_caller *c, const ob_api_request *rq, const char *id,
                            ob_api_response *out, ob_err *e)
{
    if (strcmp(rq->method, "GET") != 0) {
        ob_api_outcome(out, 405, "not-supported", "$everything is called with GET");
        return OB_OK;
    }
    static const char *const allowed[] = {"_count", "_offset", "_after", "_type", NULL};
    size_t count, offset;
    if (!ob_api_params_only(rq, allowed, out) || !ob_api_paging(rq, &count, &offset, out))
        return OB_OK;
    /* _type: which resource types (default all) */
    static const struct {
        const char *type;
        ob_catmask mask;
    } types[] = {
        {"Appointment", OB_CAT_BIT(OB_CAT_APPOINTMENT)},
        {"Observation", OB_CAT_BIT(OB_CAT_MEASUREMENT) | OB_CAT_BIT(OB_CAT_LAB_RESULT)},
        {"Condition", OB_CAT_BIT(OB_CAT_DIAGNOSIS)},
        {"MedicationStatement", OB_CAT_BIT(OB_CAT_MEDICATION)},
        {"Immunization", OB_CAT_BIT(OB_CAT_VACCINATION)},
        {"DocumentReference", OB_CAT_BIT(OB_CAT_CLINICAL_NOTE) |
                                  OB_CAT_BIT(OB_CAT_DISCHARGE_SUMMARY) |
                                  OB_CAT_BIT(OB_CAT_TREATMENT_WILL)},
    };
    ob_catmask mask = OB_CAT_ALL;
    bool with_patient = true;
    const char *tl = ob_api_param_get(rq, "_type", NULL);
    if (tl) {
        mask = 0;
        with_patient = false;
        for (const char *t = tl; *t;) {
            size_t len = strcspn(t, ",");
            bool known = len == 7 && strncmp(t, "Patient", 7) == 0;
            with_patient |= known;
            for (size_t i = 0; i < sizeof types / sizeof types[0] && !known; i++)
                if (strlen(types[i].type) == len && strncmp(types[i].type, t, len) == 0) {
                    mask |= types[i].mask;
                    known = true;
                }
            if (!known) {
                ob_api_outcome(out, 400, "invalid",
                               "_type lists Patient, Appointment, Observation, Condition, "
                               "MedicationStatement, Immunization, DocumentReference");
                return OB_OK;
            }
            t += len + (t[len] == ',');
        }
    }
    /* the patient as a search names it: by id */
    char ref[192];
    snprintf(ref, sizeof ref, "Patient/%.160s", id);
    ob_api_param pp = {"patient", ref, false};
    ob_api_request one = *rq;
    one.params = &pp;
    one.nparams = 1;
    uint32_t pat;
    if (!ob_api_resolve_patient(h, c, &one, &pat, out))
        return OB_OK;
    ob_api_cands cs = {0};
    ob_status rc = OB_OK;
    if (mask & OB_CAT_BIT(OB_CAT_APPOINTMENT))
        rc = ob_api_apt_cands(h, c, pat, &cs, e);
    if (!rc && (mask & ITEM_MASK))
        rc = ob_api_item_cands(h, c, pat, (ob_catmask)(mask & ITEM_MASK), NULL, &cs, e);
    uint32_t decoy = pat == OB_NONE ? ob_api_decoy(h, &one) : OB_NONE;
    if (!rc && decoy != OB_NONE) { /* as long as a hidden patient (T-ORC-1) */
        ob_api_cands sh = {0};
        ob_err ignored = {0};
        if (ob_api_apt_cands(h, c, decoy, &sh, &ignored) == OB_OK &&
            ob_api_item_cands(h, c, decoy, ITEM_MASK, NULL, &sh, &ignored) == OB_OK)
            ob_api_cands_shadow(h, &sh);
        ob_api_cands_release(&sh);
    }
    if (!rc && with_patient) { /* decided last, as an include (search.h) */
        size_t before = cs.n;
        rc = ob_api_patient_cand(h, c, pat, NULL, &cs, e);
        cs.ninclude = cs.n - before;
    }
    if (rc)
        ob_api_log_failed(out);
    else
        ob_api_cands_answer(h, c, pat, &cs, "overview", OB_CAT_APPOINTMENT, rq, offset, count, out,
                            e);
    ob_api_cands_release(&cs);
    return OB_OK;
}

/* A code token, "system|code" or "code": the code part, when it is 1-15 characters of
 * letters, digits, '.' and '-' (ICPC-2, ICD-10); else NULL. */
static const char *code_of(const char *v)
{
    if (!v)
        return NULL;
    const char *bar = strrchr(v, '|');
    const char *c = bar ? bar + 1 : v;
    size_t n = strlen(c);
    if (n == 0 || n > 15 ||
        strspn(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-") != n)
        return NULL;
    return c;
}

static json_t *part_int(const char *name, uint32_t v)
{
    return json_pack("{s:s, s:I}", "name", name, "valueInteger", (json_int_t)v);
}

static void quantile_param(json_t *ps, const char *code, const char *unit,
                           const ob_similar_quantiles *q)
{
    if (!q->shown)
        return;
    json_array_append_new(
        ps, json_pack("{s:s, s:[{s:s, s:s}, {s:s, s:s}, o, o, o, o]}", "name", "measurement",
                      "part", "name", "code", "valueString", code, "name", "unit", "valueString",
                      unit, part_int("patients", q->patients), part_int("p25", (uint32_t)q->p25),
                      part_int("median", (uint32_t)q->p50), part_int("p75", (uint32_t)q->p75)));
}

/* R-ACC-11 (SUL §42a stk. 6): "patients like me". GET or POST
 * /Patient/$patients-like-me with patient (or, in a POST body, patient.identifier) = the
 * patient under treatment and code = the diagnosis treated, purpose DECISIONSUPPORT. One
 * decision (aggregate: a professional who treats that patient) and one log entry on that
 * patient; the answer is a Parameters resource of aggregated figures about the OTHER
 * patients with the code (stats/similar.h): never a record, an id, a name or a date. A
 * patient one does not treat and one who does not exist answer alike. */
static ob_status patients_like_me(ob_hub *h, const ob_caller *c, const ob_api_request *rq0,
                                  ob_api_response *out, ob_err *e)
{
    if (strcmp(rq0->method, "POST") != 0 && strcmp(rq0->method, "GET") != 0) {
        ob_api_outcome(out, 405, "not-supported", "$patients-like-me is called with GET or POST");
        return OB_OK;
    }
    if (c->purpose != OB_PURPOSE_DECISION_SUPPORT) {
        ob_api_outcome(out, 400, "invalid",
                       "$patients-like-me is decision support: call it with purpose "
                       "DECISIONSUPPORT (R-ACC-11)");
        return OB_OK;
    }
    params p;
    if (!decode(rq0, &p, out))
        return OB_OK;
    static const char *const allowed[] = {"patient", "patient.identifier", "identifier", "code",
                                          NULL};
    uint32_t pat;
    if (!params_only(rq0, &p, allowed, out) || !ob_api_resolve_patient(h, c, &p.rq, &pat, out))
        return OB_OK;
    const char *code = code_of(ob_api_param_get(&p.rq, "code", NULL));
    if (!code) {
        ob_api_outcome(out, 400, "invalid",
                       "code must name the diagnosis treated (an ICPC-2 or ICD-10 code, "
                       "optionally as system|code)");
        return OB_OK;
    }
    ob_request r;
    ob_api_request_init(c, pat, &r);
    r.category = OB_CAT_DIAGNOSIS;
    r.origin_org = c->acting_org;
    r.aggregate = true;
    const char *id = "Parameters/patients-like-me";
    ob_decision d;
    ob_search s = {&r,
                   &r,
                   &id,
                   1,
                   "decision_support",
                   NULL,
                   0,
                   OB_OBL_PERSON_LEVEL | OB_OBL_PSEUDONYMISE | OB_OBL_AGGREGATE};
    if (ob_hub_decide_many(h, &s, &d, NULL, e) != OB_OK) {
        ob_api_log_failed(out);
        return OB_OK;
    }
    if (!d.permit) {
        ob_api_outcome(out, 403, "forbidden",
                       "decision support is for a professional who treats the patient in "
                       "question (R-ACC-11)");
        return OB_OK;
    }
    ob_similar_out agg;
    if (ob_hub_similar(h, code, pat, c->now, 5, &agg, e) != OB_OK)
        return OB_EIO;
    json_t *ps = json_array();
    json_array_append_new(ps, json_pack("{s:s, s:s}", "name", "code", "valueString", code));
    json_array_append_new(ps, json_pack("{s:s, s:b}", "name", "shown", "valueBoolean", agg.shown));
    if (agg.shown) {
        json_array_append_new(ps, part_int("population", agg.population));
        for (int b = 0; b < OB_SIMILAR_BANDS; b++) {
            if (!agg.band_shown[b])
                continue;
            char band[16];
            if (b == OB_SIMILAR_BANDS - 1)
                snprintf(band, sizeof band, "%d+", b * 10);
            else
                snprintf(band, sizeof band, "%d-%d", b * 10, b * 10 + 9);
            json_array_append_new(ps, json_pack("{s:s, s:[{s:s, s:s}, o]}", "name", "ageBand",
                                                "part", "name", "band", "valueString", band,
                                                part_int("patients", agg.band[b])));
        }
        for (size_t i = 0; i < agg.nother; i++)
            json_array_append_new(ps, json_pack("{s:s, s:[{s:s, s:s}, o]}", "name",
                                                "otherDiagnosis", "part", "name", "code",
                                                "valueString", agg.other[i].code,
                                                part_int("patients", agg.other[i].patients)));
        quantile_param(ps, OB_SIMILAR_SBP_CODE, "mmHg", &agg.sbp);
        quantile_param(ps, OB_SIMILAR_HBA1C_CODE, "mmol/mol", &agg.hba1c);
    }
    json_array_append_new(
        ps,
        json_pack("{s:s, s:s}", "name", "note", "valueString",
                  agg.shown ? "aggregated, pseudonymised figures about other patients with this "
                              "diagnosis: counts are rounded to 5 and groups of fewer than 5 are "
                              "not shown (R-ACC-11)"
                            : "fewer than 5 other patients have this diagnosis, so nothing can "
                              "be shown (R-ACC-11)"));
    out->status = 200;
    out->body = json_pack("{s:s, s:o}", "resourceType", "Parameters", "parameter", ps);
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

/* POST /Patient/$disclose (R-ACC-13, R-ACC-19, issue 21): a treating professional
 * discloses their own organisation's records of one category to a unit that treats the
 * patient. Parameters: patient (or patient.identifier in the body), recipient
 * (Organization/<id>), category (medication, clinical_note, ...). The engine decides
 * (purpose DISCLOSE, logged); a permit is stored as a `disclosure` record through
 * ob_hub_change, logged on the patient in the same transaction; the recipient then reads
 * that category from that organisation. */
static ob_status disclose(ob_hub *h, const ob_caller *c, const ob_api_request *rq0,
                          ob_api_response *out, ob_err *e)
{
    if (strcmp(rq0->method, "POST") != 0) {
        ob_api_outcome(out, 405, "not-supported", "$disclose is called with POST");
        return OB_OK;
    }
    if (c->kind != OB_ACTOR_PROFESSIONAL || c->purpose != OB_PURPOSE_DISCLOSE) {
        ob_api_outcome(out, 400, "invalid",
                       "$disclose is a professional's act with purpose DISCLOSE (R-ACC-19)");
        return OB_OK;
    }
    params p;
    if (!decode(rq0, &p, out))
        return OB_OK;
    static const char *const allowed[] = {"patient",   "patient.identifier", "identifier",
                                          "recipient", "category",           NULL};
    uint32_t pat;
    if (!params_only(rq0, &p, allowed, out) || !ob_api_resolve_patient(h, c, &p.rq, &pat, out))
        return OB_OK;
    const char *to = ob_api_param_get(&p.rq, "recipient", NULL);
    const char *cat_s = ob_api_param_get(&p.rq, "category", NULL);
    int cat = cat_s ? ob_category_parse(cat_s) : -1;
    if (to && strncmp(to, "Organization/", 13) == 0)
        to += 13;
    pthread_rwlock_rdlock(&h->lock);
    uint32_t rcpt = to ? ob_index_find_org(h->ix, to) : OB_NONE;
    pthread_rwlock_unlock(&h->lock);
    if (rcpt == OB_NONE || cat < 0) {
        ob_api_outcome(out, 400, "invalid",
                       "$disclose needs recipient (Organization/<id>) and category (a data "
                       "category such as medication or clinical_note)");
        return OB_OK;
    }
    ob_request r;
    ob_api_request_init(c, pat, &r);
    r.category = (uint8_t)cat;
    r.origin_org = c->acting_org; /* one discloses one's own organisation's records */
    r.recipient_org = rcpt;
    const char *id = "Parameters/disclose";
    ob_decision d;
    ob_search s = {&r, &r, &id, 1, "disclosure", NULL, 0, OB_OBL_LOG_DISCLOSURE};
    /* one answer for a patient who does not exist, one hidden and one not treated: the
     * reason is in the log (R-ACC-14), not in the answer (no existence oracle) */
    static const char refused[] =
        "you may not disclose this (R-ACC-19: your own organisation's records, while you treat "
        "the patient, to a health unit that treats them too)";
    if (pat != OB_NONE && ob_hub_decide_many(h, &s, &d, NULL, e) != OB_OK) {
        ob_api_log_failed(out);
        return OB_OK;
    }
    if (pat == OB_NONE || !d.permit) {
        ob_api_outcome(out, 403, "forbidden", refused);
        return OB_OK;
    }
    ob_log_entry le; /* the discloser as the decision named them */
    pthread_rwlock_rdlock(&h->lock);
    ob_hub_entry_for(h, &r, &le);
    const char *pext = h->ix->patients[pat].ext_id, *from = h->ix->pros[c->actor].ext_id,
               *origin = h->ix->orgs[c->acting_org].ext_id;
    le.capacity = OB_CAP_PROFESSIONAL;
    le.rule = ob_rule_name((ob_rule)d.rule);
    le.reason = d.reason;
    json_t *rec = json_pack("{s:s, s:s, s:s, s:s, s:s, s:[s]}", "type", "disclosure", "patient",
                            pext, "from", from, "to", h->ix->orgs[rcpt].ext_id, "origin", origin,
                            "categories", ob_category_name((ob_category)cat));
    pthread_rwlock_unlock(&h->lock);
    if (!rec)
        return ob_err_set(e, OB_ENOMEM, "out of memory");
    uint64_t seq;
    ob_err ce = {0};
    ob_status rc = ob_hub_change(h, rec, &le, &seq, NULL, &ce);
    json_decref(rec);
    if (rc != OB_OK) {
        ob_api_store_failed(out, "the disclosure");
        return OB_OK;
    }
    char ref[200];
    snprintf(ref, sizeof ref, "Organization/%.150s", to);
    out->status = 200;
    out->body = json_pack("{s:s, s:[{s:s, s:{s:s}}, {s:s, s:s}]}", "resourceType", "Parameters",
                          "parameter", "name", "recipient", "valueReference", "reference", ref,
                          "name", "category", "valueCode", cat_s);
    return OB_OK;
}

ob_status ob_api_patient(ob_hub *h, const ob_caller *c, const ob_api_request *rq, const char *type,
                         const char *rest, ob_api_response *out, ob_err *e)
{
    (void)type;
    const char *m = rq->method;
    if (strcmp(rest, "/$overview") == 0)
        return overview(h, c, rq, out, e);
    if (strcmp(rest, "/$patients-like-me") == 0)
        return patients_like_me(h, c, rq, out, e);
    if (strcmp(rest, "/$disclose") == 0)
        return disclose(h, c, rq, out, e);
    size_t idl = rest[0] == '/' ? strcspn(rest + 1, "/") : 0;
    if (idl && idl < 160 && strcmp(rest + 1 + idl, "/$uses") == 0) { /* issue 26 */
        char id[160];
        snprintf(id, sizeof id, "%.*s", (int)idl, rest + 1);
        return ob_api_uses(h, c, rq, id, out, e);
    }
    char path[200];
    snprintf(path, sizeof path, "Patient%s", rest);
    if (ob_api_is_everything(path)) {
        char id[160];
        snprintf(id, sizeof id, "%.*s", (int)strcspn(rest + 1, "/"), rest + 1);
        return everything(h, c, rq, id, out, e);
    }
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

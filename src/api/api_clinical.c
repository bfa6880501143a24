/* api_clinical.c - data items as FHIR resources: Observation (measurements, lab results),
 * Condition (diagnoses), MedicationStatement, Immunization and DocumentReference (clinical
 * notes, discharge summaries, treatment wills), and patient-reported measurements (R-PRD-1).
 *
 *   GET  /<Type>?patient=Patient/<id>     search (POST /<Type>/_search with
 *   POST /<Type>/_search                  patient.identifier in the body)
 *   GET  /<Type>/<id>                     read
 *   POST /Observation                     a citizen reports a measurement (R-PRD-1)
 *   POST /<Type>, PUT /<Type>?identifier= a source system writes its own items (the last
 *                                         three types; api_items_write.c, R-SRC-1)
 *   a code parameter (code, vaccine-code, type), category where the type has one, and a
 *   date parameter (date, recorded-date, effective): only the matching items go on to be
 *   decided; _include=<Type>:patient (or :subject) adds the Patient, decided as an include
 *   beside a match (search.h)
 *
 * Each item is decided by the engine with its category, origin, time and source kind
 * (so R-ACC-6/-8 and blocks apply per item); one log entry per search (search.h);
 * totals count only what the caller may see; withheld-by-block gives the marker. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "api/internal.h"
#include "core/alloc.h"
#include "fhir/fhir.h"
#include "service/clinical.h"

#define OBS_MASK  (OB_CAT_BIT(OB_CAT_MEASUREMENT) | OB_CAT_BIT(OB_CAT_LAB_RESULT))
#define COND_MASK OB_CAT_BIT(OB_CAT_DIAGNOSIS)
#define DOC_MASK                                                                                   \
    (OB_CAT_BIT(OB_CAT_CLINICAL_NOTE) | OB_CAT_BIT(OB_CAT_DISCHARGE_SUMMARY) |                     \
     OB_CAT_BIT(OB_CAT_TREATMENT_WILL))

/* One resource type over items: which categories it shows and how its search names things.
 * The log names a search by its first category. */
static const struct family {
    const char *type;
    ob_catmask mask;
    ob_category first;
    const char *date, *code, *code_el, *category; /* parameter names; category may be NULL */
    const char *const *include;
    bool source_written; /* sources write it over FHIR (R-SRC-1) */
} families[] = {
    {"Observation", OBS_MASK, OB_CAT_MEASUREMENT, "date", "code", "code", "category",
     ob_api_include_observation, false},
    {"Condition", COND_MASK, OB_CAT_DIAGNOSIS, "recorded-date", "code", "code", "category",
     ob_api_include_condition, false},
    {"MedicationStatement", OB_CAT_BIT(OB_CAT_MEDICATION), OB_CAT_MEDICATION, "effective", "code",
     "medicationCodeableConcept", NULL, ob_api_include_medication, true},
    {"Immunization", OB_CAT_BIT(OB_CAT_VACCINATION), OB_CAT_VACCINATION, "date", "vaccine-code",
     "vaccineCode", NULL, ob_api_include_immunization, true},
    {"DocumentReference", DOC_MASK, OB_CAT_CLINICAL_NOTE, "date", "type", "type", "category",
     ob_api_include_document, true},
};

static const struct family *family_of(const char *type)
{
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++)
        if (strcmp(families[i].type, type) == 0)
            return &families[i];
    return NULL;
}

static json_t *item_fhir(ob_hub *h, const ob_item *it)
{
    ob_fhir_clinic cl = {it->origin, NULL, NULL};
    ob_api_org_display(h, it->origin, &cl.name, &cl.kind);
    return ob_fhir_item(it, &cl);
}

static void item_request(ob_hub *h, const ob_caller *c, uint32_t pat, const ob_item *it,
                         ob_request *r)
{
    ob_api_request_init(c, pat, r);
    int cat = ob_category_parse(it->category);
    int src = ob_source_parse(it->source);
    r->category = (uint8_t)(cat < 0 ? OB_CAT_COUNT : cat); /* unknown: the engine denies */
    r->source = (uint8_t)(src < 0 ? OB_SRC_COUNT : src);
    r->item_time = it->time;
    pthread_rwlock_rdlock(&h->lock);
    r->origin_org = ob_index_find_org(h->ix, it->origin);
    pthread_rwlock_unlock(&h->lock);
}

static ob_status add_items(ob_hub *h, const ob_caller *c, uint32_t pat, const ob_item_list *l,
                           const ob_api_item_filter *f, ob_api_cands *cs, ob_err *e)
{
    for (size_t i = 0; i < l->n; i++) {
        const ob_item *it = &l->v[i].it;
        if (f && !ob_api_in_range(it->time, f->from, f->to))
            continue;
        json_t *res = item_fhir(h, it);
        if (!res)
            continue;
        const char *code_el = f && f->code_el ? f->code_el : "code";
        if (f && ((f->code && !ob_fhir_token_matches(json_object_get(res, code_el), f->code)) ||
                  (f->category &&
                   !ob_fhir_token_matches(json_object_get(res, "category"), f->category)))) {
            json_decref(res);
            continue;
        }
        ob_request r;
        item_request(h, c, pat, it, &r);
        char id[200];
        snprintf(id, sizeof id, "%s/%.160s",
                 json_string_value(json_object_get(res, "resourceType")), it->id);
        if (!ob_api_cands_add(cs, &r, id, res))
            return ob_err_set(e, OB_ENOMEM, "out of memory");
    }
    return OB_OK;
}

ob_status ob_api_item_cands(ob_hub *h, const ob_caller *c, uint32_t patient, ob_catmask mask,
                            const ob_api_item_filter *f, ob_api_cands *cs, ob_err *e)
{
    if (patient == OB_NONE)
        return OB_OK;
    pthread_rwlock_rdlock(&h->lock);
    const char *ext = h->ix->patients[patient].ext_id;
    pthread_rwlock_unlock(&h->lock);
    ob_item_list l;
    ob_status rc = ob_hub_items(h, ext, mask, &l, e);
    if (!rc)
        rc = add_items(h, c, patient, &l, f, cs, e);
    ob_item_list_release(&l);
    return rc;
}

static ob_status search(ob_hub *h, const ob_caller *c, const ob_api_request *rq,
                        const struct family *fm, ob_api_response *out, ob_err *e)
{
    const char *date = fm->date;
    const char *allowed[] = {
        "patient", "patient.identifier", "_count", "_offset", "_include",   date,
        fm->code,  "_summary",           "_sort",  "_after",  fm->category, NULL};
    size_t count, offset;
    uint32_t pat;
    unsigned inc = 0;
    ob_api_item_filter f = {0};
    bool newest_first = false, by_updated = false;
    f.code = ob_api_param_get(rq, fm->code, NULL);
    f.code_el = fm->code_el;
    f.category = fm->category ? ob_api_param_get(rq, fm->category, NULL) : NULL;
    if (!ob_api_params_only(rq, allowed, out) || !ob_api_paging(rq, &count, &offset, out) ||
        !ob_api_date_range(rq, date, &f.from, &f.to, out) ||
        !ob_api_sort(rq, date, &newest_first, &by_updated, out) ||
        !ob_api_includes(rq, "_include", fm->include, &inc, out) ||
        !ob_api_resolve_patient(h, c, rq, &pat, out))
        return OB_OK;
    ob_api_cands cs = {0};
    ob_status rc = ob_api_item_cands(h, c, pat, fm->mask, &f, &cs, e);
    uint32_t decoy = pat == OB_NONE ? ob_api_decoy(h, rq) : OB_NONE;
    if (!rc && decoy != OB_NONE) { /* as long as a hidden patient (T-ORC-1) */
        ob_api_cands sh = {0};
        ob_err ignored = {0};
        if (ob_api_item_cands(h, c, decoy, fm->mask, &f, &sh, &ignored) == OB_OK)
            ob_api_cands_shadow(h, &sh);
        ob_api_cands_release(&sh);
    }
    if (!rc && by_updated && !ob_api_cands_sort_updated(&cs, newest_first))
        rc = ob_err_set(e, OB_ENOMEM, "out of memory");
    else if (!rc && !by_updated && newest_first) /* they come by time */
        ob_api_cands_reverse(&cs);
    if (!rc && inc) { /* the Patient, decided last as an include (search.h) */
        size_t before = cs.n;
        rc = ob_api_patient_cand(h, c, pat, NULL, &cs, e);
        cs.ninclude = cs.n - before;
    }
    if (rc)
        ob_api_log_failed(out);
    else
        ob_api_cands_answer(h, c, pat, &cs, ob_category_name(fm->first), (uint8_t)fm->first, rq,
                            offset, count, out, e);
    ob_api_cands_release(&cs);
    return OB_OK;
}

static ob_status item_read(ob_hub *h, const ob_caller *c, const ob_api_request *rq, const char *id,
                           const struct family *fm, ob_api_response *out, ob_err *e)
{
    if (!ob_api_params_only(rq, NULL, out))
        return OB_OK;
    ob_item_list l = {0};
    ob_status rc = strlen(id) <= 128 ? ob_hub_item_get(h, id, fm->mask, &l, e) : OB_OK;
    uint32_t pat = OB_NONE;
    if (!rc && l.n) {
        pthread_rwlock_rdlock(&h->lock);
        pat = ob_index_find_patient(h->ix, l.v[0].it.patient);
        pthread_rwlock_unlock(&h->lock);
    }
    ob_api_cands cs = {0};
    if (!rc && pat != OB_NONE)
        rc = add_items(h, c, pat, &l, NULL, &cs, e);
    if (rc) {
        ob_api_log_failed(out);
    } else {
        ob_api_cands_answer(h, c, pat, &cs, ob_category_name(fm->first), (uint8_t)fm->first, rq, 0,
                            1, out, e);
        json_t *entry = json_array_get(json_object_get(out->body, "entry"), 0);
        json_t *res = json_object_get(entry, "resource");
        const char *rt = json_string_value(json_object_get(res, "resourceType"));
        if (out->status == 200 && rt && strcmp(rt, "OperationOutcome") != 0) {
            json_incref(res);
            json_decref(out->body);
            out->body = res;
            /* a source's item has a version: its ETag (If-Match, If-None-Match) */
            const char *v =
                json_string_value(json_object_get(json_object_get(res, "meta"), "versionId"));
            if (v && strlen(v) < 20)
                snprintf(out->etag, sizeof out->etag, "W/\"%s\"", v);
        } else if (out->status == 200) { /* hidden and non-existent answer alike */
            ob_api_outcome(out, 404, "not-found", "no such resource");
        }
    }
    ob_api_cands_release(&cs);
    ob_item_list_release(&l);
    return OB_OK;
}

/* R-PRD-1: a citizen adds their own measurement, marked as patient-reported. */
static ob_status report(ob_hub *h, const ob_caller *c, const ob_api_request *rq,
                        ob_api_response *out, ob_err *e)
{
    if (c->kind != OB_ACTOR_CITIZEN || c->on_behalf_of != OB_NONE) {
        ob_api_outcome(out, 403, "forbidden",
                       "only a patient can report their own measurements (R-PRD-1); clinical "
                       "systems share data through the import");
        return OB_OK;
    }
    if (!ob_api_params_only(rq, NULL, out))
        return OB_OK;
    ob_fhir_obs_in in;
    ob_err pe = {0};
    if (ob_fhir_observation_parse(rq->body, &in, &pe)) {
        ob_api_outcome(out, 400, "invalid", pe.msg);
        return OB_OK;
    }
    pthread_rwlock_rdlock(&h->lock);
    const ob_patient *p = c->actor < h->ix->npatients ? &h->ix->patients[c->actor] : NULL;
    const char *ext = p ? p->ext_id : NULL;
    const char *gp = p && p->gp_clinic != OB_NONE ? h->ix->orgs[p->gp_clinic].ext_id : NULL;
    const char *name = p ? p->name : NULL;
    pthread_rwlock_unlock(&h->lock);
    char self[160];
    snprintf(self, sizeof self, "Patient/%.140s", ext ? ext : "");
    if (!ext || (in.subject && strcmp(in.subject, self) != 0)) {
        /* R-LOG-1 (issue 24): the patient it was about sees the attempt */
        uint32_t about = OB_NONE;
        if (in.subject && strncmp(in.subject, "Patient/", 8) == 0) {
            pthread_rwlock_rdlock(&h->lock);
            about = ob_index_find_patient(h->ix, in.subject + 8);
            pthread_rwlock_unlock(&h->lock);
        }
        ob_err le_e = {0};
        if (ob_api_log_refused(h, c, about, OB_EV_DATA_CHANGE, "Observation",
                               "REFUSED: someone else tried to report a measurement about you",
                               &le_e))
            ob_api_log_failed(out);
        else
            ob_api_outcome(out, 403, "forbidden",
                           "you can report measurements only about yourself");
        return OB_OK;
    }
    if (!gp) {
        ob_api_outcome(out, 400, "business-rule",
                       "patient-reported data is shared through your GP clinic, and you are "
                       "not listed with one");
        return OB_OK;
    }
    if (in.effective > c->now + 3600) {
        ob_api_outcome(out, 400, "invalid", "a measurement cannot be in the future");
        return OB_OK;
    }
    char id[160], ts[32];
    /* hex, so no run of ten digits that could read as a CPR number (R-CPR-2) */
    snprintf(id, sizeof id, "%.80s-prd-%llx-%08x", ext, (unsigned long long)c->now,
             (unsigned)randombytes_random());
    ob_fhir_time(in.effective, ts);
    json_t *rec =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "type", "item", "id", id,
                  "patient", ext, "category", "measurement", "origin", gp, "time", ts, "source",
                  "patient_reported", "code", "DNK05472", "value", (json_int_t)in.value);
    char *json = rec ? json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(rec);
    if (!json)
        return ob_err_set(e, OB_ENOMEM, "out of memory");
    ob_item it = {id,         ext,      "measurement", gp, in.effective, "patient_reported",
                  "DNK05472", in.value, json};
    ob_log_entry actor;
    memset(&actor, 0, sizeof actor);
    actor.time = c->now;
    actor.capacity = OB_CAP_CITIZEN;
    actor.actor_id = ext;
    actor.actor_name = name;
    actor.actor_role = "citizen";
    actor.rule = "R-PRD-1";
    actor.reason = "measurement reported by the patient";
    ob_err we = {0};
    ob_status rc = ob_hub_item_add(h, &it, &actor, &we);
    free(json);
    if (rc) {
        if (e)
            *e = we;
        ob_api_store_failed(out, "the measurement");
        return OB_OK;
    }
    ob_fhir_clinic cl = {gp, NULL, NULL};
    ob_api_org_display(h, gp, &cl.name, &cl.kind);
    out->status = 201;
    out->body = ob_fhir_item(&it, &cl);
    snprintf(out->location, sizeof out->location, "%.160s/Observation/%.80s",
             rq->base_url ? rq->base_url : "", id);
    return OB_OK;
}

ob_status ob_api_clinical(ob_hub *h, const ob_caller *c, const ob_api_request *rq, const char *type,
                          const char *rest, ob_api_response *out, ob_err *e)
{
    const struct family *fm = family_of(type);
    if (!fm) {
        ob_api_outcome(out, 404, "not-supported", "unknown resource type");
        return OB_OK;
    }
    bool obs = fm->mask == OBS_MASK;
    const char *m = rq->method;
    if (rest[0] == '\0') {
        if (strcmp(m, "GET") == 0)
            return search(h, c, rq, fm, out, e);
        if (strcmp(m, "POST") == 0 && obs)
            return report(h, c, rq, out, e);
        if (strcmp(m, "POST") == 0 && fm->source_written)
            return ob_api_item_write(h, c, rq, type, true, out, e);
        if (strcmp(m, "PUT") == 0 && fm->source_written)
            return ob_api_item_write(h, c, rq, type, false, out, e);
    } else if (strcmp(rest, "/_search") == 0) {
        if (strcmp(m, "POST") == 0)
            return search(h, c, rq, fm, out, e);
    } else if (rest[0] == '/' && !strchr(rest + 1, '/') && rest[1] != '_' && rest[1] != '$') {
        if (strcmp(m, "GET") == 0)
            return item_read(h, c, rq, rest + 1, fm, out, e);
    } else {
        ob_api_outcome(out, 400, "not-supported",
                       "not supported (no _history, $operations or compartments)");
        return OB_OK;
    }
    ob_api_outcome(out, 405, "not-supported", "method not supported here");
    return OB_OK;
}

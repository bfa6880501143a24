/* api_grants.c - ending grants over FHIR (issue 24): a type-level operation $end on the
 * resource an integrator would expect each grant under.
 *
 *   POST /RelatedPerson/$end     a power of attorney (fuldmagt): the patient revokes it,
 *                                or its holder renounces it. Parameters: patient
 *                                (Patient/<id>; a citizen's own by default), holder
 *                                (Patient/<id>; the caller by default when they are not
 *                                the patient)
 *   POST /PractitionerRole/$end  a permission of site management (technical assistance,
 *                                quality work, management): the site's management, or
 *                                the holder giving it up. Parameters: practitioner,
 *                                organization, code (assist | quality | manage)
 *   POST /EpisodeOfCare/$end     a treatment relationship (listing, admission, course):
 *                                the end event of the source system registered for its
 *                                site. Parameters: patient, organization, practitioner
 *                                (a personal relationship), type (listed | admission |
 *                                treatment | home_nursing)
 *
 * Parameters come as a FHIR Parameters body (valueReference, valueCode or valueString)
 * or as form/query parameters (internal ids only: never a CPR). Each end goes through
 * ob_hub_change as an import-format record ("relative_end", "permission_end",
 * "relationship_end"), which checks who may (policy/changes.c), sets the grant's end at
 * once (it replaces, never adds) and logs it in the same transaction; the patient sees it
 * in their log. Who may is asked first here, so a caller who may not gets one answer (403)
 * whether or not the grant exists; one who may gets 404 when there is none current. */
#include <stdio.h>
#include <string.h>

#include "api/internal.h"

/* The value of parameter `name` from a Parameters body or the request's parameters;
 * a "Type/" prefix is dropped when given. NULL when absent. Borrowed from the request. */
static const char *param(const ob_api_request *rq, const char *name, const char *type)
{
    const char *v = NULL;
    json_t *ps = rq->body ? json_object_get(rq->body, "parameter") : NULL;
    size_t i;
    json_t *p;
    json_array_foreach(ps, i, p)
    {
        const char *n = json_string_value(json_object_get(p, "name"));
        if (!n || strcmp(n, name) != 0)
            continue;
        json_t *r = json_object_get(json_object_get(p, "valueReference"), "reference");
        v = json_string_value(r ? r : json_object_get(p, "valueCode"));
        if (!v)
            v = json_string_value(json_object_get(p, "valueString"));
        break;
    }
    if (!v)
        v = ob_api_param_get(rq, name, NULL);
    if (v && type) {
        size_t n = strlen(type);
        if (strncmp(v, type, n) == 0 && v[n] == '/')
            v += n + 1;
    }
    return v && *v && strlen(v) <= 128 ? v : NULL;
}

/* A refusal, logged first (R-LOG-1): the patient it concerns sees the attempt. */
static void refused(ob_hub *h, const ob_caller *c, uint32_t patient, uint8_t event, int status,
                    const char *code, const char *text, ob_api_response *out)
{
    ob_err e = {0};
    if (ob_api_log_refused(h, c, patient, event, "grant",
                           "REFUSED: someone who may not tried to end a grant", &e))
        ob_api_log_failed(out);
    else
        ob_api_outcome(out, status, code, text);
}

static void ended(ob_api_response *out, const char *what)
{
    char text[160];
    snprintf(text, sizeof text, "%s ended; it no longer gives access", what);
    out->status = 200;
    out->body = json_pack("{s:s, s:[{s:s, s:s, s:s}]}", "resourceType", "OperationOutcome", "issue",
                          "severity", "information", "code", "informational", "diagnostics", text);
}

static void change_failed(ob_status rc, const ob_err *ce, ob_api_response *out)
{
    switch (rc) {
    case OB_EINVAL:
    case OB_ELIMIT:
        ob_api_outcome(out, 400, "invalid", ce->msg);
        break;
    case OB_EDENIED:
        ob_api_outcome(out, 403, "forbidden", ce->msg);
        break;
    case OB_ENOTFOUND:
        ob_api_outcome(out, 404, "not-found", "no such current grant");
        break;
    default:
        ob_api_store_failed(out, "the end");
        break;
    }
}

/* The caller as the log's actor (index strings; the hub's read lock held). */
static void actor(const ob_index *ix, const ob_caller *c, uint8_t capacity, const char *reason,
                  ob_log_entry *le)
{
    memset(le, 0, sizeof *le);
    le->capacity = capacity;
    le->reason = reason;
    le->purpose = c->kind == OB_ACTOR_CITIZEN ? "PATRQT" : "HOPERAT";
    if (c->kind == OB_ACTOR_CITIZEN && c->actor < ix->npatients) {
        le->actor_id = ix->patients[c->actor].ext_id;
        le->actor_name = ix->patients[c->actor].name;
        le->actor_role = "citizen";
    } else if (c->kind == OB_ACTOR_PROFESSIONAL && c->actor < ix->npros) {
        le->actor_id = ix->pros[c->actor].ext_id;
        le->actor_name = ix->pros[c->actor].name;
        le->actor_role = ob_role_name((ob_role)ix->pros[c->actor].role);
    } else if (c->kind == OB_ACTOR_SOURCE_SYSTEM) {
        const ob_source *s = ob_index_find_source(ix, c->client_id);
        le->actor_id = s ? s->client_id : NULL;
        le->actor_name = s ? s->name : NULL;
        le->actor_role = "source_system";
    }
    if (c->acting_org < ix->norgs) {
        le->actor_org = ix->orgs[c->acting_org].ext_id;
        le->actor_org_name = ix->orgs[c->acting_org].name;
    }
}

static void apply(ob_hub *h, json_t *rec, const ob_log_entry *le, const char *what,
                  ob_api_response *out)
{
    ob_err ce = {0};
    uint64_t seq = 0;
    ob_status rc = rec ? ob_hub_change(h, rec, le, &seq, NULL, &ce) : OB_ENOMEM;
    json_decref(rec);
    if (rc)
        change_failed(rc, &ce, out);
    else
        ended(out, what);
}

static void end_attorney(ob_hub *h, const ob_caller *c, const ob_api_request *rq,
                         ob_api_response *out)
{
    static const char *const forbidden =
        "only the patient, or the holder renouncing it, can end a power of attorney";
    if (c->kind != OB_ACTOR_CITIZEN || c->actor == OB_NONE) {
        refused(h, c, OB_NONE, OB_EV_RELATIONSHIP, 403, "forbidden", forbidden, out);
        return;
    }
    const char *pat_s = param(rq, "patient", "Patient"), *holder_s = param(rq, "holder", "Patient");
    pthread_rwlock_rdlock(&h->lock);
    const ob_index *ix = h->ix;
    uint32_t pat = pat_s ? ob_index_find_patient(ix, pat_s) : c->actor;
    uint32_t holder = holder_s ? ob_index_find_patient(ix, holder_s) : c->actor;
    bool mine = pat != OB_NONE && holder != OB_NONE && (c->actor == pat || c->actor == holder);
    const char *pext = mine ? ix->patients[pat].ext_id : NULL;
    const char *hext = mine ? ix->patients[holder].ext_id : NULL;
    ob_log_entry le;
    actor(ix, c, c->actor == pat ? OB_CAP_CITIZEN : OB_CAP_ATTORNEY,
          c->actor == pat ? "power of attorney revoked by the patient"
                          : "power of attorney renounced by its holder",
          &le);
    pthread_rwlock_unlock(&h->lock);
    if (!mine) { /* the same answer for a patient or holder that does not exist */
        refused(h, c, pat, OB_EV_RELATIONSHIP, 404, "not-found", "no such current grant", out);
        return;
    }
    le.rule = "R-ACC-9";
    json_t *rec = json_pack("{s:s, s:s, s:s, s:s}", "type", "relative_end", "patient", pext,
                            "holder", hext, "by", c->actor == pat ? "patient" : "holder");
    apply(h, rec, &le, "the power of attorney", out);
}

static void end_permission(ob_hub *h, const ob_caller *c, const ob_api_request *rq,
                           ob_api_response *out)
{
    const char *pro_s = param(rq, "practitioner", "Practitioner");
    const char *site_s = param(rq, "organization", "Organization");
    const char *kind = param(rq, "code", NULL);
    if (!pro_s || !site_s || !kind || ob_perm_kind_parse(kind) < 0) {
        ob_api_outcome(out, 400, "invalid",
                       "name the practitioner, the organization and the code (assist, quality "
                       "or manage) of the permission to end");
        return;
    }
    if (c->kind != OB_ACTOR_PROFESSIONAL || c->on_behalf_of != OB_NONE) {
        ob_api_outcome(out, 403, "forbidden",
                       "only the site's management, or the holder, can end a permission");
        return;
    }
    pthread_rwlock_rdlock(&h->lock);
    const ob_index *ix = h->ix;
    uint32_t pro = ob_index_find_professional(ix, pro_s), site = ob_index_find_org(ix, site_s);
    bool may = pro != OB_NONE && site != OB_NONE &&
               (pro == c->actor || ob_policy_manages(ix, c->actor, site, c->now));
    ob_log_entry le;
    actor(ix, c, OB_CAP_PROFESSIONAL,
          pro == c->actor ? "a permission given up by its holder"
                          : "a permission ended by the site's management",
          &le);
    const char *me = ix->pros[c->actor].ext_id;
    pthread_rwlock_unlock(&h->lock);
    if (!may) {
        refused(h, c, OB_NONE, OB_EV_PERMISSION_REVOKE, 403, "forbidden",
                "only the site's management, or the holder, can end a permission", out);
        return;
    }
    le.rule = "R-ACC-3";
    json_t *rec = json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", "permission_end", "professional",
                            pro_s, "site", site_s, "kind", kind, "by", me);
    apply(h, rec, &le, "the permission", out);
}

static void end_relationship(ob_hub *h, const ob_caller *c, const ob_api_request *rq,
                             ob_api_response *out)
{
    const char *pat_s = param(rq, "patient", "Patient");
    const char *org_s = param(rq, "organization", "Organization");
    const char *pro_s = param(rq, "practitioner", "Practitioner");
    const char *kind = param(rq, "type", NULL);
    if (!pat_s || !org_s || (kind && ob_rel_kind_parse(kind) < 0)) {
        ob_api_outcome(out, 400, "invalid",
                       "name the patient and the organization (and the practitioner of a "
                       "personal relationship, the type to narrow it) of the relationship to "
                       "end");
        return;
    }
    pthread_rwlock_rdlock(&h->lock);
    const ob_index *ix = h->ix;
    const ob_source *src =
        c->kind == OB_ACTOR_SOURCE_SYSTEM ? ob_index_find_source(ix, c->client_id) : NULL;
    uint32_t org = ob_index_find_org(ix, org_s);
    bool may = src && org != OB_NONE && ob_index_org_within(ix, org, src->site);
    const char *client = src ? src->client_id : NULL;
    uint32_t pat = ob_index_find_patient(ix, pat_s);
    ob_log_entry le;
    actor(ix, c, OB_CAP_SOURCE_SYSTEM, "a treatment relationship ended by its source's event", &le);
    pthread_rwlock_unlock(&h->lock);
    if (!may) {
        refused(h, c, pat, OB_EV_RELATIONSHIP, 403, "forbidden",
                "a treatment relationship ends with an event from the source system registered "
                "for its site",
                out);
        return;
    }
    le.rule = "R-ACC-1";
    json_t *rec = json_pack("{s:s, s:s, s:s, s:s}", "type", "relationship_end", "patient", pat_s,
                            "org", org_s, "source", client);
    if (rec && pro_s)
        json_object_set_new(rec, "professional", json_string(pro_s));
    if (rec && kind)
        json_object_set_new(rec, "kind", json_string(kind));
    apply(h, rec, &le, "the treatment relationship", out);
}

ob_status ob_api_grants(ob_hub *h, const ob_caller *c, const ob_api_request *rq, const char *type,
                        const char *rest, ob_api_response *out, ob_err *e)
{
    (void)e;
    if (strcmp(rest, "/$end") != 0) {
        ob_api_outcome(out, 404, "not-found",
                       "only the $end operation is served on this type (docs/api.md)");
        return OB_OK;
    }
    if (strcmp(rq->method, "POST") != 0) {
        ob_api_outcome(out, 405, "not-supported", "$end is a POST");
        return OB_OK;
    }
    if (rq->body && !json_is_object(rq->body)) {
        ob_api_outcome(out, 400, "invalid", "the body must be a FHIR Parameters resource");
        return OB_OK;
    }
    if (rq->body) {
        const char *rt = json_string_value(json_object_get(rq->body, "resourceType"));
        json_t *ps = json_object_get(rq->body, "parameter");
        if (!rt || strcmp(rt, "Parameters") != 0 || (ps && !json_is_array(ps))) {
            ob_api_outcome(out, 400, "invalid", "the body must be a FHIR Parameters resource");
            return OB_OK;
        }
    }
    if (strcmp(type, "RelatedPerson") == 0)
        end_attorney(h, c, rq, out);
    else if (strcmp(type, "PractitionerRole") == 0)
        end_permission(h, c, rq, out);
    else
        end_relationship(h, c, rq, out);
    return OB_OK;
}

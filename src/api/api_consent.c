/* api_consent.c - FHIR Consent: blocks (R-BLK-1..5) and consents (R-CON-1..3).
 *
 *   POST /Consent                 create a block (provision deny) or consent (permit)
 *   GET  /Consent?patient=...     the patient's blocks and consents, history included
 *   GET  /Consent/<id>            one of them ("block-<n>", "consent-<n>")
 *   PUT  /Consent/<id>            status inactive: lift the block / revoke the consent
 *
 * The mapping is pure (src/fhir/consent.c); every change goes through ob_hub_change as
 * an import-format record, which checks R-BLK-2/3/5 and R-CON-1/2, stores it and logs
 * it in one transaction, and makes it visible to the next decision at once. Who may do
 * what is decided here first, with one answer for a patient that does not exist and one
 * the caller may not see (403 for changes, an empty Bundle or 404 for reads). Reads are
 * logged (R-ACC-9) before the answer leaves (R-LOG-1). Relatives with power of attorney
 * read (scope "all") but do not create or lift: see docs/decisions.md. */
#include <stdio.h>
#include <string.h>

#include "api/internal.h"
#include "fhir/consent.h"

#define LB_OWN      "the patient's own data (Sundhedsloven §42b; GDPR art. 15)"
#define LB_ATTORNEY "power of attorney (Sundhedsloven §37)"
#define LB_GP       "the patient's own GP, who may set and lift blocks on their behalf"

static const char *const forbidden_create =
    "only the patient can create a block or consent; the patient's own GP can create a "
    "block on their behalf (R-BLK-3), and an authorised professional can record an oral "
    "consent they took";

/* Who reads which of a patient's blocks and consents (issue 24): the patient and a
 * relative whose power of attorney covers all data read all of them; a professional reads
 * only what they recorded for the patient themself (a block a GP set on the patient's
 * behalf, which they may lift; an oral consent they took, which they may revoke). A
 * block tells the blocked who blocked them, so no one else reads it, the patient's other
 * professionals included (R-BLK-4: a professional learns only that something is withheld). */
static bool sees_block(const ob_caller *c, ob_api_access acc, const ob_block *b)
{
    if (acc == OB_API_ACCESS_SELF || acc == OB_API_ACCESS_ATTORNEY)
        return true;
    return c->kind == OB_ACTOR_PROFESSIONAL && c->on_behalf_of == OB_NONE && b->by_gp &&
           b->created_by == c->actor;
}

static bool sees_consent(const ob_caller *c, ob_api_access acc, const ob_consent *cs)
{
    if (acc == OB_API_ACCESS_SELF || acc == OB_API_ACCESS_ATTORNEY)
        return true;
    return c->kind == OB_ACTOR_PROFESSIONAL && c->on_behalf_of == OB_NONE && cs->form == 1 &&
           cs->taken_by == c->actor;
}

static void log_fields(ob_api_access acc, ob_api_read_log *r)
{
    r->permit = acc != OB_API_ACCESS_NONE;
    r->rule = acc == OB_API_ACCESS_GP ? "R-BLK-3" : "R-ACC-9";
    switch (acc) {
    case OB_API_ACCESS_SELF:
        r->capacity = OB_CAP_CITIZEN;
        r->legal_basis = LB_OWN;
        r->reason = "patients read their own blocks and consents";
        break;
    case OB_API_ACCESS_ATTORNEY:
        r->capacity = OB_CAP_ATTORNEY;
        r->legal_basis = LB_ATTORNEY;
        r->reason = "the power of attorney covers all of the patient's data";
        break;
    case OB_API_ACCESS_GP: /* here: a professional reading what they recorded */
        r->capacity = OB_CAP_PROFESSIONAL;
        r->legal_basis = LB_GP;
        r->reason = "a professional reads the blocks and consents they recorded for the "
                    "patient";
        break;
    default:
        r->capacity = OB_CAP_PROFESSIONAL;
        r->legal_basis = "none";
        r->reason = "only the patient, a relative with full power of attorney, and the "
                    "professional who recorded one for the patient read blocks and consents";
        break;
    }
}

static void append_id(char *buf, size_t cap, const char *id)
{
    size_t n = strlen(buf);
    if (id && n + strlen(id) + 2 < cap)
        snprintf(buf + n, cap - n, "%s%s", n ? "," : "", id);
}

static ob_status search(ob_hub *h, const ob_caller *c, const ob_api_request *rq,
                        ob_api_response *out, ob_err *e)
{
    static const char *const allowed[] = {"patient", "patient.identifier", "identifier", "_count",
                                          "_offset", "_summary",           NULL};
    size_t count, offset; /* paged (issue 24): a long history is read page by page */
    if (!ob_api_params_only(rq, allowed, out) || !ob_api_paging(rq, &count, &offset, out))
        return OB_OK;
    uint32_t pat;
    if (!ob_api_resolve_patient(h, c, rq, &pat, out))
        return OB_OK;
    json_t *bundle = ob_api_bundle_new("searchset");
    char ids[1024] = "";
    const char *pext = NULL; /* index strings stay while the hub is open */
    ob_api_read_log lr = {.patient = pat, .category = "Consent", .resource = ids};
    pthread_rwlock_rdlock(&h->lock);
    ob_api_access acc = ob_api_patient_access(h->ix, c, pat);
    size_t shown = 0;
    if (pat < h->ix->npatients) {
        const ob_patient *p = &h->ix->patients[pat];
        /* active ones, then the history (lifted, revoked) */
        for (size_t i = 0; i < ob_patient_all_blocks(p); i++) {
            const ob_block *b = ob_patient_block_at(p, i);
            if (!sees_block(c, acc, b))
                continue;
            if (shown++ < offset || shown - offset > count)
                continue;
            json_t *r = ob_fhir_block_render(h->ix, pat, b);
            append_id(ids, sizeof ids, json_string_value(json_object_get(r, "id")));
            ob_api_bundle_add(bundle, rq->base_url, r);
        }
        for (size_t i = 0; i < ob_patient_all_consents(p); i++) {
            const ob_consent *cs = ob_patient_consent_at(p, i);
            if (!sees_consent(c, acc, cs))
                continue;
            if (shown++ < offset || shown - offset > count)
                continue;
            json_t *r = ob_fhir_consent_render(h->ix, pat, cs);
            append_id(ids, sizeof ids, json_string_value(json_object_get(r, "id")));
            ob_api_bundle_add(bundle, rq->base_url, r);
        }
        if (shown || acc == OB_API_ACCESS_SELF || acc == OB_API_ACCESS_ATTORNEY)
            pext = p->ext_id;
    }
    if (acc != OB_API_ACCESS_SELF && acc != OB_API_ACCESS_ATTORNEY)
        acc = shown ? OB_API_ACCESS_GP : OB_API_ACCESS_NONE;
    log_fields(acc, &lr);
    pthread_rwlock_unlock(&h->lock);
    uint64_t seq;
    if (ob_api_log_read(h, c, &lr, &seq, e)) {
        json_decref(bundle);
        ob_api_log_failed(out);
        return OB_OK;
    }
    json_object_set_new(bundle, "total", json_integer((json_int_t)shown));
    ob_api_bundle_link(bundle, rq, pext, offset, count, NULL);
    out->status = 200;
    out->body = bundle;
    return OB_OK;
}

/* Finds block/consent n among the patients the caller may see. The caller holds the
 * read lock. *patient is OB_NONE when there is none (or none visible). */
static void locate(const ob_index *ix, const ob_caller *c, bool is_block, uint64_t n,
                   uint32_t *patient, ob_api_access *acc)
{
    *patient = OB_NONE;
    *acc = OB_API_ACCESS_NONE;
    for (uint32_t i = 0; i < ix->npatients; i++) {
        const ob_patient *p = &ix->patients[i];
        ob_api_access a = ob_api_patient_access(ix, c, i);
        bool found = false;
        if (is_block) {
            for (size_t j = 0; j < ob_patient_all_blocks(p) && !found; j++)
                found = ob_patient_block_at(p, j)->id == n &&
                        sees_block(c, a, ob_patient_block_at(p, j));
        } else {
            for (size_t j = 0; j < ob_patient_all_consents(p) && !found; j++)
                found = ob_patient_consent_at(p, j)->id == n &&
                        sees_consent(c, a, ob_patient_consent_at(p, j));
        }
        if (!found)
            continue;
        if (a != OB_API_ACCESS_SELF && a != OB_API_ACCESS_ATTORNEY)
            a = OB_API_ACCESS_GP; /* a professional, for what they recorded */
        {
            *patient = i;
            *acc = a;
            return;
        }
    }
}

/* The current resource (new reference) for block/consent n of patient. Read lock held. */
static json_t *render(ob_hub *h, uint32_t patient, bool is_block, uint64_t n)
{
    if (is_block) {
        ob_block *b = ob_index_find_block(h->ix, patient, n);
        return b ? ob_fhir_block_render(h->ix, patient, b) : NULL;
    }
    ob_consent *cs = ob_index_find_consent(h->ix, patient, n);
    return cs ? ob_fhir_consent_render(h->ix, patient, cs) : NULL;
}

static void not_found(ob_api_response *out)
{
    ob_api_outcome(out, 404, "not-found", "no such Consent");
}

/* What the patient reads in their log about a refused attempt (R-LOG-1, issue 24). */
static const char *refused_create(bool is_block)
{
    return is_block ? "REFUSED: someone who may not tried to create a block for you"
                    : "REFUSED: someone who may not tried to record a consent for you";
}

static const char *refused_change(bool is_block)
{
    return is_block ? "REFUSED: someone who may not tried to lift your block"
                    : "REFUSED: someone who may not tried to revoke your consent";
}

/* The patient who owns block/consent n, whoever asks (for logging a refused attempt on
 * it; never shown to the caller). Read lock held. */
static uint32_t owner(const ob_index *ix, bool is_block, uint64_t n)
{
    for (uint32_t i = 0; i < ix->npatients; i++) {
        const ob_patient *p = &ix->patients[i];
        if (is_block) {
            for (size_t j = 0; j < ob_patient_all_blocks(p); j++)
                if (ob_patient_block_at(p, j)->id == n)
                    return i;
        } else {
            for (size_t j = 0; j < ob_patient_all_consents(p); j++)
                if (ob_patient_consent_at(p, j)->id == n)
                    return i;
        }
    }
    return OB_NONE;
}

static ob_status read_one(ob_hub *h, const ob_caller *c, const ob_api_request *rq, const char *id,
                          ob_api_response *out, ob_err *e)
{
    if (!ob_api_params_only(rq, NULL, out))
        return OB_OK;
    bool is_block;
    uint64_t n;
    if (!ob_fhir_consent_id_parse(id, &is_block, &n)) {
        not_found(out);
        return OB_OK;
    }
    uint32_t pat;
    ob_api_access acc;
    pthread_rwlock_rdlock(&h->lock);
    locate(h->ix, c, is_block, n, &pat, &acc);
    json_t *r = pat != OB_NONE ? render(h, pat, is_block, n) : NULL;
    pthread_rwlock_unlock(&h->lock);
    if (!r) {
        not_found(out);
        return OB_OK;
    }
    ob_api_read_log lr = {.patient = pat, .category = "Consent", .resource = id};
    log_fields(acc, &lr);
    uint64_t seq;
    if (ob_api_log_read(h, c, &lr, &seq, e)) {
        json_decref(r);
        ob_api_log_failed(out);
        return OB_OK;
    }
    out->status = 200;
    out->body = r;
    return OB_OK;
}

/* The log entry's actor for a change by the caller. Read lock held. */
static void change_actor(const ob_index *ix, const ob_caller *c, bool by_gp, bool is_block,
                         ob_log_entry *le)
{
    memset(le, 0, sizeof *le);
    le->purpose = "PATRQT";
    le->category = "Consent";
    if (c->kind == OB_ACTOR_CITIZEN && c->actor < ix->npatients) {
        le->actor_id = ix->patients[c->actor].ext_id;
        le->actor_name = ix->patients[c->actor].name;
        le->actor_role = "citizen";
        le->capacity = OB_CAP_CITIZEN;
        le->rule = is_block ? "R-BLK-1" : "R-CON-1";
        le->reason = "changed by the patient";
        return;
    }
    if (c->actor < ix->npros) {
        le->actor_id = ix->pros[c->actor].ext_id;
        le->actor_name = ix->pros[c->actor].name;
        le->actor_role = ob_role_name((ob_role)ix->pros[c->actor].role);
    }
    if (c->acting_org < ix->norgs) {
        le->actor_org = ix->orgs[c->acting_org].ext_id;
        le->actor_org_name = ix->orgs[c->acting_org].name;
    }
    le->capacity = OB_CAP_PROFESSIONAL;
    le->rule = by_gp ? "R-BLK-3" : "R-CON-1";
    le->reason = by_gp ? "ON YOUR BEHALF: a block set by your own GP"
                       : "ON YOUR BEHALF: an oral consent recorded by the professional who took "
                         "it; check it in your consents";
}

/* Turns an ob_hub_change failure into the answer. */
static void change_failed(ob_status rc, const ob_err *ce, bool creating, ob_api_response *out)
{
    switch (rc) {
    case OB_EINVAL:
    case OB_ELIMIT:
        ob_api_outcome(out, 400, "invalid", ce->msg);
        break;
    case OB_EDENIED: /* creation: R-BLK-2, with its suggestion; lifting: R-BLK-5, R-CON-2 */
        ob_api_outcome(out, creating ? 422 : 403, creating ? "business-rule" : "forbidden",
                       ce->msg);
        break;
    case OB_ECONFLICT:
        ob_api_outcome(out, 409, "conflict", ce->msg);
        break;
    case OB_ENOTFOUND:
        not_found(out);
        break;
    default:
        ob_api_store_failed(out, "the change");
        break;
    }
}

static ob_status create(ob_hub *h, const ob_caller *c, const ob_api_request *rq,
                        ob_api_response *out, ob_err *e)
{
    if (!ob_api_params_only(rq, NULL, out))
        return OB_OK;
    ob_fhir_consent fc;
    ob_err pe = {0};
    if (ob_fhir_consent_parse(rq->body, false, &fc, &pe)) {
        ob_api_outcome(out, 400, "invalid", pe.msg);
        return OB_OK;
    }
    pthread_rwlock_rdlock(&h->lock);
    uint32_t pat = ob_index_find_patient(h->ix, fc.patient);
    ob_api_access acc = ob_api_patient_access(h->ix, c, pat);
    const char *by_gp = NULL;
    bool ok = false;
    if (acc == OB_API_ACCESS_SELF) {
        ok = true;
    } else if (acc == OB_API_ACCESS_GP && fc.is_block) {
        ok = true;
        by_gp = h->ix->pros[c->actor].ext_id;
    } else if (c->kind == OB_ACTOR_PROFESSIONAL && pat != OB_NONE && !fc.is_block && fc.oral &&
               c->on_behalf_of == OB_NONE && c->actor < h->ix->npros &&
               h->ix->pros[c->actor].authorised &&
               strcmp(fc.taken_by, h->ix->pros[c->actor].ext_id) == 0 &&
               ob_policy_treats(h->ix, pat, c->actor, c->now)) {
        /* R-CON-1: the treating professional who took an oral consent records it (the
         * change rules refuse one that benefits them). One who does not treat the
         * patient gets the answer a patient who does not exist gets. */
        ok = true;
    }
    ob_log_entry le;
    if (ok)
        change_actor(h->ix, c, by_gp != NULL, fc.is_block, &le);
    pthread_rwlock_unlock(&h->lock);
    if (!ok) {
        ob_err le_e = {0};
        if (ob_api_log_refused(h, c, pat, fc.is_block ? OB_EV_BLOCK_CREATE : OB_EV_CONSENT_CREATE,
                               "Consent", refused_create(fc.is_block), &le_e))
            ob_api_log_failed(out);
        else
            ob_api_outcome(out, 403, "forbidden", forbidden_create);
        return OB_OK;
    }
    json_t *rec = ob_fhir_consent_record(&fc, by_gp);
    if (!rec)
        return ob_err_set(e, OB_ENOMEM, "out of memory");
    uint64_t seq = 0, assigned = 0;
    ob_err ce = {0};
    ob_status rc = ob_hub_change(h, rec, &le, &seq, &assigned, &ce);
    json_decref(rec);
    if (rc == OB_EDENIED) { /* the rules refused it (R-BLK-2, a self-serving consent) */
        ob_err le_e = {0};
        if (ob_api_log_refused(h, c, pat, fc.is_block ? OB_EV_BLOCK_CREATE : OB_EV_CONSENT_CREATE,
                               "Consent", refused_create(fc.is_block), &le_e)) {
            ob_api_log_failed(out);
            return OB_OK;
        }
    }
    if (rc) {
        change_failed(rc, &ce, true, out);
        return OB_OK;
    }
    pthread_rwlock_rdlock(&h->lock);
    json_t *r = render(h, pat, fc.is_block, assigned);
    pthread_rwlock_unlock(&h->lock);
    if (!r)
        return ob_err_set(e, OB_EINTERNAL, "the created Consent is not in the index");
    snprintf(out->location, sizeof out->location, "%s/Consent/%s", rq->base_url ? rq->base_url : "",
             json_string_value(json_object_get(r, "id")));
    out->status = 201;
    out->body = r;
    return OB_OK;
}

static ob_status update(ob_hub *h, const ob_caller *c, const ob_api_request *rq, const char *id,
                        ob_api_response *out, ob_err *e)
{
    (void)e;
    if (!ob_api_params_only(rq, NULL, out))
        return OB_OK;
    bool is_block;
    uint64_t n;
    uint32_t pat = OB_NONE;
    ob_api_access acc = OB_API_ACCESS_NONE;
    uint32_t own = OB_NONE;
    if (ob_fhir_consent_id_parse(id, &is_block, &n)) {
        pthread_rwlock_rdlock(&h->lock);
        locate(h->ix, c, is_block, n, &pat, &acc);
        if (pat == OB_NONE)
            own = owner(h->ix, is_block, n);
        pthread_rwlock_unlock(&h->lock);
    }
    if (pat == OB_NONE) {
        /* an attempt on someone's block or consent the caller may not see: logged for
         * its patient (R-LOG-1); the answer is the one a non-existent id gets */
        ob_err le_e = {0};
        if (own != OB_NONE &&
            ob_api_log_refused(h, c, own, is_block ? OB_EV_BLOCK_LIFT : OB_EV_CONSENT_REVOKE,
                               "Consent", refused_change(is_block), &le_e)) {
            ob_api_log_failed(out);
            return OB_OK;
        }
        not_found(out);
        return OB_OK;
    }
    ob_fhir_consent fc;
    ob_err pe = {0};
    if (ob_fhir_consent_parse(rq->body, true, &fc, &pe)) {
        ob_api_outcome(out, 400, "invalid", pe.msg);
        return OB_OK;
    }
    const char *bid = json_string_value(json_object_get(rq->body, "id"));
    if (!bid || strcmp(bid, id) != 0) {
        ob_api_outcome(out, 400, "invalid", "the Consent's id must match the id in the URL");
        return OB_OK;
    }
    if (fc.is_block != is_block) {
        ob_api_outcome(out, 400, "invalid",
                       "provision.type cannot change; only status can be updated");
        return OB_OK;
    }
    if (fc.active) {
        ob_api_outcome(out, 400, "invalid",
                       "only status inactive can be set: it lifts a block or revokes a consent. "
                       "To change one, make it inactive and create a new Consent");
        return OB_OK;
    }
    if (acc == OB_API_ACCESS_ATTORNEY) {
        ob_err le_e = {0};
        if (ob_api_log_refused(h, c, pat, is_block ? OB_EV_BLOCK_LIFT : OB_EV_CONSENT_REVOKE,
                               "Consent", refused_change(is_block), &le_e)) {
            ob_api_log_failed(out);
            return OB_OK;
        }
        ob_api_outcome(out, 403, "forbidden",
                       "a relative with power of attorney reads blocks and consents but does "
                       "not lift or revoke them; the patient (or the GP who set a block on "
                       "their behalf) does");
        return OB_OK;
    }
    ob_log_entry le;
    pthread_rwlock_rdlock(&h->lock);
    const char *pext = h->ix->patients[pat].ext_id;
    bool by_pro = c->kind == OB_ACTOR_PROFESSIONAL;
    const char *by = by_pro ? h->ix->pros[c->actor].ext_id : NULL;
    if (strcmp(fc.patient, pext) != 0) {
        pthread_rwlock_unlock(&h->lock);
        ob_api_outcome(out, 400, "invalid", "Consent.patient cannot change");
        return OB_OK;
    }
    change_actor(h->ix, c, by_pro && is_block, is_block, &le);
    pthread_rwlock_unlock(&h->lock);
    le.rule = is_block ? "R-BLK-5" : "R-CON-2";
    le.reason = is_block ? "block lifted" : "consent revoked";
    json_t *rec = json_pack("{s:s, s:s, s:I}", "type", is_block ? "block_lift" : "consent_revoke",
                            "patient", pext, is_block ? "block" : "consent", (json_int_t)n);
    if (rec && by)
        json_object_set_new(rec, "by", json_string(by));
    if (!rec)
        return ob_err_set(e, OB_ENOMEM, "out of memory");
    uint64_t seq = 0;
    ob_err ce = {0};
    ob_status rc = ob_hub_change(h, rec, &le, &seq, NULL, &ce);
    json_decref(rec);
    if (rc == OB_EDENIED) { /* R-BLK-5, R-CON-2 refused it */
        ob_err le_e = {0};
        if (ob_api_log_refused(h, c, pat, is_block ? OB_EV_BLOCK_LIFT : OB_EV_CONSENT_REVOKE,
                               "Consent", refused_change(is_block), &le_e)) {
            ob_api_log_failed(out);
            return OB_OK;
        }
    }
    if (rc) {
        change_failed(rc, &ce, false, out);
        return OB_OK;
    }
    pthread_rwlock_rdlock(&h->lock);
    json_t *r = render(h, pat, is_block, n);
    pthread_rwlock_unlock(&h->lock);
    if (!r)
        return ob_err_set(e, OB_EINTERNAL, "the updated Consent is not in the index");
    out->status = 200;
    out->body = r;
    return OB_OK;
}

ob_status ob_api_consent(ob_hub *h, const ob_caller *c, const ob_api_request *rq, const char *type,
                         const char *rest, ob_api_response *out, ob_err *e)
{
    (void)type;
    const char *m = rq->method;
    if (rest[0] == '\0' || strcmp(rest, "/_search") == 0) {
        if (strcmp(m, "GET") == 0 || (strcmp(m, "POST") == 0 && rest[0]))
            return search(h, c, rq, out, e);
        if (strcmp(m, "POST") == 0) {
            if (!rq->body) {
                ob_api_outcome(out, 400, "invalid", "POST /Consent needs a Consent body");
                return OB_OK;
            }
            return create(h, c, rq, out, e);
        }
        ob_api_outcome(out, 405, "not-supported", "use GET to search or POST to create");
        return OB_OK;
    }
    const char *id = rest + 1;
    if (rest[0] == '/' && *id && strchr(id, '/')) { /* as on the other types (api.h) */
        ob_api_outcome(out, 400, "not-supported",
                       "not supported on Consent (no _history, $operations or compartments)");
        return OB_OK;
    }
    if (rest[0] != '/' || !*id || strlen(id) > 64) {
        ob_api_outcome(out, 404, "not-found", "no such Consent operation");
        return OB_OK;
    }
    if (strcmp(m, "GET") == 0)
        return read_one(h, c, rq, id, out, e);
    if (strcmp(m, "PUT") == 0) {
        if (!rq->body) {
            ob_api_outcome(out, 400, "invalid",
                           "PUT /Consent/<id> needs the Consent with status "
                           "inactive");
            return OB_OK;
        }
        return update(h, c, rq, id, out, e);
    }
    ob_api_outcome(out, 405, "not-supported",
                   "a Consent is read with GET and lifted or revoked with PUT (status inactive)");
    return OB_OK;
}

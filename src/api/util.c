/* util.c - helpers shared by the FHIR resource handlers (internal.h): patient resolution
 * (with the R-CPR-2 rule that a CPR arrives only in a POST body), request building,
 * Bundles, and the candidates of a search decided together. Parameters: params.c. */
#include <string.h>

#include <sodium.h>

#include "api/internal.h"
#include "core/cpr.h"
#include "core/secret.h"
#include "core/alloc.h"
#include "service/search.h"

static bool bad(ob_api_response *out, const char *msg)
{
    ob_api_outcome(out, 400, "invalid", msg);
    return false;
}

bool ob_api_resolve_patient(ob_hub *h, const ob_caller *c, const ob_api_request *rq,
                            uint32_t *patient, ob_api_response *out)
{
    *patient = OB_NONE;
    bool body = false;
    const char *ref = ob_api_param_get(rq, "patient", NULL);
    const char *ident = ob_api_param_get(rq, "patient.identifier", &body);
    if (!ident)
        ident = ob_api_param_get(rq, "identifier", &body);
    if (ref && ident)
        return bad(out, "give either patient or patient.identifier, not both");
    if (ident) {
        if (!body)
            return bad(out, "patient identifiers (CPR numbers) are accepted only in the body "
                            "of a POST _search (R-CPR-2)");
        const char *bar = strchr(ident, '|');
        const char *num = ident;
        if (bar) {
            if ((size_t)(bar - ident) != strlen(OB_FHIR_CPR_SYSTEM) ||
                memcmp(ident, OB_FHIR_CPR_SYSTEM, (size_t)(bar - ident)) != 0)
                return bad(out, "unknown patient identifier system; use " OB_FHIR_CPR_SYSTEM);
            num = bar + 1;
        }
        ob_cpr cpr;
        if (ob_cpr_parse(num, strlen(num), &cpr, NULL) != OB_OK)
            return bad(out, "the patient identifier is not a valid CPR number (R-CPR-1)");
        uint8_t hash[16];
        ob_cpr_hash(&h->keys, cpr.digits, hash);
        pthread_rwlock_rdlock(&h->lock);
        *patient = ob_index_find_patient_by_cpr_hash(h->ix, hash);
        pthread_rwlock_unlock(&h->lock);
        return true;
    }
    if (ref) {
        /* issue 25: this server's own full URL is a local reference */
        size_t bl = rq->base_url ? strlen(rq->base_url) : 0;
        if (bl && strncmp(ref, rq->base_url, bl) == 0 && ref[bl] == '/')
            ref += bl + 1;
        if (strncmp(ref, "Patient/", 8) == 0)
            ref += 8;
        if (!*ref || strlen(ref) > 128)
            return bad(out, "malformed patient reference");
        pthread_rwlock_rdlock(&h->lock);
        *patient = ob_index_find_patient(h->ix, ref);
        pthread_rwlock_unlock(&h->lock);
        return true;
    }
    if (c->kind == OB_ACTOR_CITIZEN) {
        *patient = c->actor;
        return true;
    }
    return bad(out, "name the patient: patient=Patient/<id>, or patient.identifier in the "
                    "body of a POST _search");
}

uint32_t ob_api_decoy(ob_hub *h, const ob_api_request *rq)
{
    bool body = false;
    const char *ref = ob_api_param_get(rq, "patient", NULL);
    const char *ident = ob_api_param_get(rq, "patient.identifier", &body);
    if (!ident)
        ident = ob_api_param_get(rq, "identifier", &body);
    uint8_t hash[16];
    uint32_t known = OB_NONE;
    if (ident && body) {
        const char *bar = strchr(ident, '|');
        const char *num = bar ? bar + 1 : ident;
        ob_cpr cpr;
        if (ob_cpr_parse(num, strlen(num), &cpr, NULL) != OB_OK)
            return OB_NONE;
        ob_cpr_hash(&h->keys, cpr.digits, hash);
        sodium_memzero(&cpr, sizeof cpr);
        pthread_rwlock_rdlock(&h->lock);
        known = ob_index_find_patient_by_cpr_hash(h->ix, hash);
        pthread_rwlock_unlock(&h->lock);
    } else if (ref && !ident) {
        if (strncmp(ref, "Patient/", 8) == 0)
            ref += 8;
        if (!*ref || strlen(ref) > 128)
            return OB_NONE;
        crypto_generichash(hash, sizeof hash, (const unsigned char *)ref, strlen(ref),
                           h->keys.cpr_hash, sizeof h->keys.cpr_hash);
        pthread_rwlock_rdlock(&h->lock);
        known = ob_index_find_patient(h->ix, ref);
        pthread_rwlock_unlock(&h->lock);
    } else {
        return OB_NONE;
    }
    uint32_t v;
    memcpy(&v, hash, sizeof v);
    pthread_rwlock_rdlock(&h->lock);
    uint32_t n = (uint32_t)h->ix->npatients;
    pthread_rwlock_unlock(&h->lock);
    return known == OB_NONE && n ? v % n : OB_NONE;
}

void ob_api_request_init(const ob_caller *c, uint32_t patient, ob_request *rq)
{
    memset(rq, 0, sizeof *rq);
    rq->actor_kind = c->kind;
    rq->actor = c->actor;
    rq->acting_org = c->acting_org;
    rq->on_behalf_of = c->on_behalf_of;
    rq->patient = patient;
    rq->origin_org = OB_NONE;
    rq->purpose = c->purpose;
    rq->now = c->now;
    rq->override = c->override;
    rq->has_override_reason = c->justification[0] != '\0';
    rq->project = OB_NONE;
    rq->recipient_org = OB_NONE;
}

json_t *ob_api_bundle_new(const char *type)
{
    return json_pack("{s:s, s:s, s:i, s:[]}", "resourceType", "Bundle", "type", type, "total", 0,
                     "entry");
}

void ob_api_bundle_add(json_t *bundle, const char *base_url, json_t *resource)
{
    if (!bundle || !resource) {
        json_decref(resource);
        return;
    }
    const char *type = json_string_value(json_object_get(resource, "resourceType"));
    const char *id = json_string_value(json_object_get(resource, "id"));
    json_t *entry = json_object();
    if (type && id) {
        char url[512];
        snprintf(url, sizeof url, "%s/%s/%s", base_url ? base_url : "", type, id);
        json_object_set_new(entry, "fullUrl", json_string(url));
    }
    json_object_set_new(entry, "resource", resource);
    const char *btype = json_string_value(json_object_get(bundle, "type"));
    if (btype && strcmp(btype, "searchset") == 0)
        json_object_set_new(entry, "search", json_pack("{s:s}", "mode", "match"));
    json_array_append_new(json_object_get(bundle, "entry"), entry);
    json_int_t total = json_integer_value(json_object_get(bundle, "total"));
    json_object_set_new(bundle, "total", json_integer(total + 1));
}

/* ---- helpers for searches over decided items (wt-fhir: Appointment, Observation,
 * Condition, Patient) ---- */

/* One include entry: the resource with search.mode "include" (not counted in total). */
static void bundle_add_include(json_t *b, const char *base_url, json_t *resource)
{
    ob_api_bundle_add(b, base_url, resource);
    json_t *entries = json_object_get(b, "entry");
    json_t *last = json_array_get(entries, json_array_size(entries) - 1);
    json_object_set_new(json_object_get(last, "search"), "mode", json_string("include"));
}

json_t *ob_api_search_bundle(const char *base_url, json_t **res, const ob_decision *ds, size_t n,
                             size_t ninclude, size_t offset, size_t count, bool block_hint)
{
    json_t *b = ob_api_bundle_new("searchset");
    size_t nmatch = ninclude < n ? n - ninclude : 0, visible = 0, shown = 0;
    for (size_t i = 0; i < nmatch; i++) {
        if (!ds[i].permit || !res[i]) {
            json_decref(res[i]);
            res[i] = NULL;
            continue;
        }
        if (visible >= offset && visible - offset < count) {
            ob_api_bundle_add(b, base_url, res[i]);
            shown++;
        } else {
            json_decref(res[i]);
        }
        res[i] = NULL;
        visible++;
    }
    /* includes belong to the matches on this page: none without one */
    for (size_t i = nmatch; i < n; i++) {
        if (shown && ds[i].permit && res[i])
            bundle_add_include(b, base_url, res[i]);
        else
            json_decref(res[i]);
        res[i] = NULL;
    }
    if (b)
        json_object_set_new(b, "total", json_integer((json_int_t)visible));
    if (b && block_hint) /* R-BLK-4: only that something is withheld */
        json_array_append_new(
            json_object_get(b, "entry"),
            json_pack("{s:o, s:{s:s}}", "resource",
                      json_pack("{s:s, s:[{s:s, s:s, s:s}]}", "resourceType", "OperationOutcome",
                                "issue", "severity", "information", "code", "suppressed",
                                "diagnostics",
                                "some information is withheld by the "
                                "patient's block"),
                      "search", "mode", "outcome"));
    return b;
}

/* ---- wt-fhir2 additions: Consent and AuditEvent helpers (internal.h) ---- */
/* (included here, not at the top, to keep this block separate for merging) */
#include "store/log.h"

ob_api_access ob_api_patient_access(const ob_index *ix, const ob_caller *c, uint32_t patient)
{
    if (patient >= ix->npatients)
        return OB_API_ACCESS_NONE;
    const ob_patient *p = &ix->patients[patient];
    if (c->kind == OB_ACTOR_CITIZEN) {
        if (c->actor == patient)
            return OB_API_ACCESS_SELF;
        for (uint16_t i = 0; i < p->nattorneys; i++) {
            const ob_attorney *a = &p->attorneys[i];
            if (a->holder == c->actor && a->from <= c->now && c->now <= a->to &&
                a->scope == OB_CAT_ALL)
                return OB_API_ACCESS_ATTORNEY;
        }
        return OB_API_ACCESS_NONE;
    }
    if (c->kind == OB_ACTOR_PROFESSIONAL && c->on_behalf_of == OB_NONE && c->actor < ix->npros &&
        ix->pros[c->actor].authorised && p->gp_clinic != OB_NONE &&
        ob_index_pro_works_at(ix, c->actor, p->gp_clinic))
        return OB_API_ACCESS_GP;
    return OB_API_ACCESS_NONE;
}

ob_status ob_api_log_read(ob_hub *h, const ob_caller *c, const ob_api_read_log *r, uint64_t *seq,
                          ob_err *e)
{
    ob_request rq;
    ob_log_entry le;
    ob_api_request_init(c, r->patient, &rq);
    pthread_rwlock_rdlock(&h->lock);
    ob_hub_entry_for(h, &rq, &le);
    pthread_rwlock_unlock(&h->lock);
    /* index strings stay valid: objects are never removed while the hub is open */
    le.capacity = r->capacity;
    le.permit = r->permit;
    le.rule = r->rule;
    le.legal_basis = r->legal_basis;
    le.reason = r->reason;
    le.category = r->category;
    le.resource = r->resource;
    if (!h->log)
        return ob_err_set(e, OB_EIO, "the access log is not open; no read without a log entry");
    return ob_alog_append(h->log, &le, 1, NULL, NULL, seq, e);
}

void ob_api_log_failed(ob_api_response *out)
{
    ob_api_outcome(out, 503, "transient",
                   "the access log cannot be written just now, so nothing was shown or changed "
                   "(R-LOG-1); try again later");
}

void ob_api_store_failed(ob_api_response *out, const char *what)
{
    char text[160];
    snprintf(text, sizeof text, "%s could not be stored just now; nothing changed; try again later",
             what);
    ob_api_outcome(out, 503, "transient", text);
}

void ob_api_org_display(ob_hub *h, const char *org_ext_id, const char **name, const char **kind)
{
    *name = NULL;
    *kind = NULL;
    pthread_rwlock_rdlock(&h->lock);
    uint32_t o = ob_index_find_org(h->ix, org_ext_id);
    if (o != OB_NONE) {
        *name = h->ix->orgs[o].name;
        *kind = ob_org_kind_name((ob_org_kind)h->ix->orgs[o].kind);
    }
    pthread_rwlock_unlock(&h->lock);
}

bool ob_api_cands_add(ob_api_cands *cs, const ob_request *rq, const char *id, json_t *res)
{
    if (cs->n == cs->cap) {
        size_t cap = cs->cap ? cs->cap * 2 : 16;
        ob_request *r = ob_realloc(cs->rqs, cap * sizeof *r);
        if (r)
            cs->rqs = r;
        char **ids = ob_realloc(cs->ids, cap * sizeof *ids);
        if (ids)
            cs->ids = ids;
        json_t **rs = ob_realloc(cs->res, cap * sizeof *rs);
        if (rs)
            cs->res = rs;
        if (!r || !ids || !rs) {
            json_decref(res);
            return false;
        }
        cs->cap = cap;
    }
    char *copy = ob_strdup(id);
    if (!copy) {
        json_decref(res);
        return false;
    }
    cs->rqs[cs->n] = *rq;
    cs->ids[cs->n] = copy;
    cs->res[cs->n] = res;
    cs->n++;
    return true;
}

typedef struct upd_key {
    const char *t; /* meta.lastUpdated, "" when absent */
    size_t i;
} upd_key;

static int upd_cmp(const void *a, const void *b)
{
    const upd_key *x = a, *y = b;
    int c = strcmp(x->t, y->t); /* one instant format throughout (fhir/), so text order */
    return c ? c : (x->i > y->i) - (x->i < y->i);
}

bool ob_api_cands_sort_updated(ob_api_cands *cs, bool descending)
{
    if (cs->n < 2)
        return true;
    upd_key *k = ob_malloc(cs->n * sizeof *k);
    ob_request *rqs = ob_malloc(cs->n * sizeof *rqs);
    char **ids = ob_malloc(cs->n * sizeof *ids);
    json_t **res = ob_malloc(cs->n * sizeof *res);
    bool ok = k && rqs && ids && res;
    if (ok) {
        for (size_t i = 0; i < cs->n; i++) {
            const char *t = json_string_value(
                json_object_get(json_object_get(cs->res[i], "meta"), "lastUpdated"));
            k[i] = (upd_key){t ? t : "", i};
        }
        qsort(k, cs->n, sizeof *k, upd_cmp);
        for (size_t i = 0; i < cs->n; i++) {
            size_t from = k[descending ? cs->n - 1 - i : i].i;
            rqs[i] = cs->rqs[from], ids[i] = cs->ids[from], res[i] = cs->res[from];
        }
        memcpy(cs->rqs, rqs, cs->n * sizeof *rqs);
        memcpy(cs->ids, ids, cs->n * sizeof *ids);
        memcpy(cs->res, res, cs->n * sizeof *res);
    }
    ob_free(k);
    ob_free(rqs);
    ob_free(ids);
    ob_free(res);
    return ok;
}

void ob_api_cands_reverse(ob_api_cands *cs)
{
    for (size_t i = 0, j = cs->n ? cs->n - 1 : 0; i < j; i++, j--) {
        ob_request r = cs->rqs[i];
        char *id = cs->ids[i];
        json_t *res = cs->res[i];
        cs->rqs[i] = cs->rqs[j], cs->ids[i] = cs->ids[j], cs->res[i] = cs->res[j];
        cs->rqs[j] = r, cs->ids[j] = id, cs->res[j] = res;
    }
}

void ob_api_cands_release(ob_api_cands *cs)
{
    for (size_t i = 0; i < cs->n; i++) {
        ob_free(cs->ids[i]);
        json_decref(cs->res[i]);
    }
    ob_free(cs->rqs);
    ob_free(cs->ids);
    ob_free(cs->res);
    memset(cs, 0, sizeof *cs);
}

void ob_api_cands_shadow(ob_hub *h, const ob_api_cands *cs)
{
    ob_decision d;
    pthread_rwlock_rdlock(&h->lock);
    for (size_t i = 0; i < cs->n; i++) {
        ob_policy_decide(h->ix, &cs->rqs[i], &d);
        ob_policy_enforce(&d, OB_OBL_PERSON_LEVEL);
    }
    pthread_rwlock_unlock(&h->lock);
}

size_t ob_api_after(const ob_api_request *rq, const char *const *ids, const ob_decision *ds,
                    size_t n, size_t offset)
{
    const char *after = ob_api_param_get(rq, "_after", NULL);
    size_t seen = 0;
    for (size_t i = 0; after && i < n; i++) {
        if (!ds[i].permit)
            continue; /* only what the caller sees can be named: hidden = absent */
        seen++;
        if (strcmp(ids[i], after) == 0)
            return seen;
    }
    return offset;
}

const char *ob_api_page_last(const char *const *ids, const ob_decision *ds, size_t n, size_t offset,
                             size_t count)
{
    const char *last = NULL;
    size_t seen = 0;
    for (size_t i = 0; i < n && seen < offset + count; i++)
        if (ds[i].permit && seen++ >= offset)
            last = ids[i];
    return last;
}

ob_status ob_api_cands_answer(ob_hub *h, const ob_caller *c, uint32_t patient, ob_api_cands *cs,
                              const char *log_category, uint8_t about_category,
                              const ob_api_request *rq, size_t offset, size_t count,
                              ob_api_response *out, ob_err *e)
{
    ob_request about;
    ob_api_request_init(c, patient, &about);
    about.category = about_category;
    const char *ext = NULL; /* for paging links; index strings stay while the hub is open */
    pthread_rwlock_rdlock(&h->lock);
    if (patient < h->ix->npatients) {
        about.origin_org = h->ix->patients[patient].gp_clinic;
        ext = h->ix->patients[patient].ext_id;
    }
    pthread_rwlock_unlock(&h->lock);
    ob_decision *ds = ob_calloc(cs->n ? cs->n : 1, sizeof *ds);
    if (!ds) {
        ob_api_log_failed(out);
        return OB_OK;
    }
    ob_search s = {
        &about,           cs->rqs,      (const char *const *)cs->ids, cs->n, log_category,
        c->justification, cs->ninclude, OB_OBL_PERSON_LEVEL};
    ob_status rc = ob_hub_decide_many(h, &s, ds, NULL, e);
    if (rc) {
        ob_free(ds);
        ob_api_log_failed(out);
        return OB_OK;
    }
    out->status = 200;
    size_t nm = cs->n - cs->ninclude;
    offset = ob_api_after(rq, (const char *const *)cs->ids, ds, nm, offset);
    out->body = ob_api_search_bundle(rq->base_url, cs->res, ds, cs->n, cs->ninclude, offset, count,
                                     ob_search_block_hint(ds, cs->n));
    ob_api_bundle_link(out->body, rq, ext, offset, count,
                       ob_api_page_last((const char *const *)cs->ids, ds, nm, offset, count));
    json_t *note = ob_api_sources_outcome(h, c->now); /* R-SRC-2 */
    if (note && out->body)
        json_array_append_new(
            json_object_get(out->body, "entry"),
            json_pack("{s:o, s:{s:s}}", "resource", note, "search", "mode", "outcome"));
    else
        json_decref(note);
    ob_free(ds);
    return OB_OK;
}

/* ---- SMART v2 scopes (issue 25): they narrow, the engine decides ---- */

void ob_api_scopes_parse(const char *claim, ob_caller *c)
{
    c->has_scopes = claim != NULL;
    c->scopes[0] = '\0';
    size_t at = 0;
    for (const char *p = claim ? claim : ""; *p;) {
        p += strspn(p, " \t");
        size_t n = strcspn(p, " \t");
        const char *end = p + n, *slash = memchr(p, '/', n), *dot = NULL;
        for (const char *q = slash ? slash + 1 : end; q < end; q++)
            if (*q == '.')
                dot = q;
        bool ctx = slash && ((slash - p == 7 && strncmp(p, "patient", 7) == 0) ||
                             (slash - p == 4 && strncmp(p, "user", 4) == 0) ||
                             (slash - p == 6 && strncmp(p, "system", 6) == 0));
        if (ctx && dot && dot > slash + 1 && !memchr(p, '?', n) && dot - slash - 1 < 40) {
            const char *perm = dot + 1;
            size_t pl = (size_t)(end - perm);
            char perms[8] = "";
            if ((pl == 4 && strncmp(perm, "read", 4) == 0))
                snprintf(perms, sizeof perms, "rs");
            else if (pl == 5 && strncmp(perm, "write", 5) == 0)
                snprintf(perms, sizeof perms, "cud");
            else if (pl == 1 && perm[0] == '*')
                snprintf(perms, sizeof perms, "cruds");
            else if (pl >= 1 && pl <= 5 && strspn(perm, "cruds") >= pl) {
                /* v2: the letters in order c r u d s, each at most once */
                static const char order[] = "cruds";
                size_t k = 0, j = 0;
                for (; j < pl; j++) {
                    const char *f = strchr(order + k, perm[j]);
                    if (!f)
                        break;
                    k = (size_t)(f - order) + 1;
                    perms[j] = perm[j];
                }
                if (j < pl)
                    perms[0] = '\0';
                else
                    perms[pl] = '\0';
            }
            int need = snprintf(NULL, 0, ",%.*s:%s,", (int)(dot - slash - 1), slash + 1, perms);
            if (perms[0] && need > 0 && at + (size_t)need < sizeof c->scopes)
                at += (size_t)snprintf(c->scopes + at, sizeof c->scopes - at, "%s%.*s:%s,",
                                       at ? "" : ",", (int)(dot - slash - 1), slash + 1, perms);
        }
        p = end;
    }
}

bool ob_api_scope_allows(const ob_caller *c, const char *type, size_t type_len, char perm)
{
    if (!c->has_scopes)
        return true;
    for (const char *p = c->scopes; (p = strchr(p, ',')) != NULL && p[1];) {
        p++;
        size_t n = strcspn(p, ":");
        const char *perms = p + n + 1;
        size_t pl = strcspn(perms, ",");
        bool type_ok = (n == 1 && p[0] == '*') || (n == type_len && strncmp(p, type, n) == 0);
        if (type_ok && memchr(perms, perm, pl))
            return true;
        p = perms + pl;
    }
    return false;
}

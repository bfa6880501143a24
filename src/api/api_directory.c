/* api_directory.c - the directory: Organization and Practitioner.
 *
 *   GET  /Organization/<id>, /Practitioner/<id>               read (404 when unknown)
 *   GET  /Organization?_id=<id> | identifier=<system>|<value>  search (also POST _search):
 *   GET  /Practitioner?_id=<id> | identifier=<system>|<value>  SOR or provider number,
 *                                                             authorisation id
 *   GET  /Organization?name=<text> | partof=Organization/<id>  by name (at least 2
 *   GET  /Practitioner?name=<text>                             characters, at most 20
 *                                                             matches), a site's units
 * (issue 26: the citizen's block pages find a professional by name and walk the SOR tree.)
 * A Practitioner carries its role (qualification) and the sites it works at (extension
 * works-at), as the national authorisation register and SOR publish them.
 *
 * These make the references in appointments, patients and log entries resolvable. They
 * hold no patient data, so they are served to every authenticated caller without a
 * decision or a log entry (docs/decisions.md); a search names what it looks for, so
 * the directory is not listed wholesale. Mapping: src/fhir/directory.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "core/text.h"
#include "fhir/fhir.h"

#define WORKS_AT "https://overblik.dk/fhir/StructureDefinition/works-at"

/* The resource for index entry i (the caller holds the read lock). */
static json_t *resource(const ob_index *ix, bool org, uint32_t i)
{
    if (org) {
        const ob_org *o = &ix->orgs[i];
        ob_fhir_org f = {o->ext_id,
                         o->name,
                         ob_org_kind_name((ob_org_kind)o->kind),
                         o->parent != OB_NONE ? ix->orgs[o->parent].ext_id : NULL,
                         o->address,
                         o->sor,
                         o->provider_no};
        return ob_fhir_organization(&f);
    }
    const ob_professional *p = &ix->pros[i];
    ob_fhir_pro f = {p->ext_id, p->name, p->authorisation_id};
    json_t *r = ob_fhir_practitioner(&f), *ext = json_array();
    if (!r || !ext) {
        json_decref(ext);
        return r;
    }
    for (uint8_t s = 0; s < p->nsites; s++)
        if (p->sites[s] < ix->norgs) {
            char ref[160];
            snprintf(ref, sizeof ref, "Organization/%s", ix->orgs[p->sites[s]].ext_id);
            json_array_append_new(ext, json_pack("{s:s, s:{s:s, s:s}}", "url", WORKS_AT,
                                                 "valueReference", "reference", ref, "display",
                                                 ix->orgs[p->sites[s]].name));
        }
    if (json_array_size(ext))
        json_object_set_new(r, "extension", ext);
    else
        json_decref(ext);
    json_object_set_new(r, "qualification",
                        json_pack("[{s:{s:s}}]", "code", "text", ob_role_name((ob_role)p->role)));
    return r;
}

/* Does entry i carry the identifier "<system>|<value>" (or a bare value in any system)? */
static bool has_identifier(const ob_index *ix, bool org, uint32_t i, const char *ident)
{
    const char *bar = strchr(ident, '|');
    const char *value = bar ? bar + 1 : ident;
    size_t sl = bar ? (size_t)(bar - ident) : 0;
#define SYSTEM_IS(s) (!bar || (sl == strlen(s) && memcmp(ident, s, sl) == 0))
    if (!*value)
        return false;
    if (org)
        return (SYSTEM_IS(OB_FHIR_SOR_SYSTEM) && strcmp(ix->orgs[i].sor, value) == 0) ||
               (SYSTEM_IS(OB_FHIR_PROVIDER_SYSTEM) && strcmp(ix->orgs[i].provider_no, value) == 0);
    return SYSTEM_IS(OB_FHIR_AUTHORISATION_SYSTEM) &&
           strcmp(ix->pros[i].authorisation_id, value) == 0;
#undef SYSTEM_IS
}

enum { NAME_MAX_MATCHES = 20 };

static void search(ob_hub *h, const ob_api_request *rq, bool org, ob_api_response *out)
{
    static const char *const allowed_org[] = {"_id",    "identifier", "name",
                                              "partof", "_count",     NULL};
    static const char *const allowed_pro[] = {"_id", "identifier", "name", "_count", NULL};
    if (!ob_api_params_only(rq, org ? allowed_org : allowed_pro, out))
        return;
    const char *id = ob_api_param_get(rq, "_id", NULL);
    const char *ident = ob_api_param_get(rq, "identifier", NULL);
    const char *name = ob_api_param_get(rq, "name", NULL);
    const char *partof = org ? ob_api_param_get(rq, "partof", NULL) : NULL;
    if ((id != NULL) + (ident != NULL) + (name != NULL) + (partof != NULL) != 1) {
        ob_api_outcome(out, 400, "invalid",
                       org ? "search the directory by one of _id, identifier, name or partof"
                           : "search the directory by one of _id, identifier or name");
        return;
    }
    if (name && (strlen(name) < 2 || strlen(name) > 100)) {
        ob_api_outcome(out, 400, "invalid", "name: give 2 to 100 characters of the name");
        return;
    }
    if (partof && strncmp(partof, "Organization/", 13) == 0)
        partof += 13;
    /* _count narrows a name lookup below its cap of 20, and bounds a site's units */
    const char *cnt = ob_api_param_get(rq, "_count", NULL);
    char *endp = NULL;
    long want = cnt ? strtol(cnt, &endp, 10) : 1000;
    if (cnt && (!*cnt || *endp || want < 1 || want > 1000)) {
        ob_api_outcome(out, 400, "invalid", "_count: a whole number from 1 to 1000");
        return;
    }
    uint32_t cap = want < NAME_MAX_MATCHES ? (uint32_t)want : NAME_MAX_MATCHES;
    json_t *b = ob_api_bundle_new("searchset");
    pthread_rwlock_rdlock(&h->lock);
    const ob_index *ix = h->ix;
    if (id) {
        uint32_t i = org ? ob_index_find_org(ix, id) : ob_index_find_professional(ix, id);
        if (i != OB_NONE)
            ob_api_bundle_add(b, rq->base_url, resource(ix, org, i));
    } else if (partof) { /* a site's direct units, in index order */
        uint32_t parent = ob_index_find_org(ix, partof);
        long shown = 0;
        for (uint32_t i = 0; parent != OB_NONE && i < ix->norgs && shown < want; i++)
            if (ix->orgs[i].parent == parent) {
                ob_api_bundle_add(b, rq->base_url, resource(ix, org, i));
                shown++;
            }
    } else if (name) { /* the first NAME_MAX_MATCHES by name: a lookup, not a listing */
        const char *hit[NAME_MAX_MATCHES + 1];
        uint32_t idx[NAME_MAX_MATCHES + 1], nh = 0, n = org ? ix->norgs : ix->npros;
        for (uint32_t i = 0; i < n && nh <= NAME_MAX_MATCHES; i++) {
            const char *nm = org ? ix->orgs[i].name : ix->pros[i].name;
            if (nm && ob_text_name_has(nm, name)) {
                hit[nh] = nm;
                idx[nh++] = i;
            }
        }
        /* sorted by name (an insertion sort of at most 21), then cut to the cap */
        for (uint32_t a = 1; a < nh; a++)
            for (uint32_t k = a; k > 0 && strcmp(hit[k - 1], hit[k]) > 0; k--) {
                const char *t = hit[k];
                hit[k] = hit[k - 1];
                hit[k - 1] = t;
                uint32_t u = idx[k];
                idx[k] = idx[k - 1];
                idx[k - 1] = u;
            }
        for (uint32_t k = 0; k < nh && k < cap; k++)
            ob_api_bundle_add(b, rq->base_url, resource(ix, org, idx[k]));
    } else {
        uint32_t n = org ? ix->norgs : ix->npros;
        for (uint32_t i = 0; i < n; i++)
            if (has_identifier(ix, org, i, ident))
                ob_api_bundle_add(b, rq->base_url, resource(ix, org, i));
    }
    pthread_rwlock_unlock(&h->lock);
    /* self: no paging here; _count as applied when one was asked for */
    ob_api_bundle_link(b, rq, NULL, 0, !cnt ? (size_t)-1 : name ? cap : (size_t)want, NULL);
    out->status = b ? 200 : 500;
    out->body = b;
    if (!b)
        ob_api_outcome(out, 500, "exception", "out of memory");
}

static void read_one(ob_hub *h, const ob_api_request *rq, bool org, const char *id,
                     ob_api_response *out)
{
    if (!ob_api_params_only(rq, NULL, out))
        return;
    pthread_rwlock_rdlock(&h->lock);
    uint32_t i = org ? ob_index_find_org(h->ix, id) : ob_index_find_professional(h->ix, id);
    json_t *r = i != OB_NONE ? resource(h->ix, org, i) : NULL;
    pthread_rwlock_unlock(&h->lock);
    if (!r) {
        ob_api_outcome(out, 404, "not-found",
                       org ? "no such Organization" : "no such Practitioner");
        return;
    }
    out->status = 200;
    out->body = r;
}

ob_status ob_api_directory(ob_hub *h, const ob_caller *c, const ob_api_request *rq,
                           const char *type, const char *rest, ob_api_response *out, ob_err *e)
{
    (void)c;
    (void)e;
    bool org = strcmp(type, "Organization") == 0;
    const char *m = rq->method;
    if ((rest[0] == '\0' && strcmp(m, "GET") == 0) ||
        (strcmp(rest, "/_search") == 0 && strcmp(m, "POST") == 0))
        search(h, rq, org, out);
    else if (rest[0] == '/' && rest[1] && !strchr(rest + 1, '/') && rest[1] != '_' &&
             rest[1] != '$' && strlen(rest + 1) <= 128 && strcmp(m, "GET") == 0)
        read_one(h, rq, org, rest + 1, out);
    else
        ob_api_outcome(out, 405, "not-supported",
                       "the directory is read-only: read by id or search by _id, identifier, name "
                       "or partof");
    return OB_OK;
}

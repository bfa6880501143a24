/* api_bundle.c - FHIR batch and transaction Bundles (POST /fhir; issue 20, R-API-1).
 *
 * batch: each entry is a request of its own (a write by a source system, or a read), run
 * through ob_api_handle as if it had come alone: its own decision, its own log entry, its
 * own answer in the batch-response. transaction: writes only (POST /<Type>, PUT
 * /<Type>?identifier=...), by one source system: every entry is parsed and checked first
 * (the first refusal fails the whole Bundle, naming the entry), then all are stored in one
 * store transaction with one log entry each (ob_hub_write_many): all or nothing. The
 * transaction-response lists each entry's status, Location and ETag (no bodies). At most
 * OB_BUNDLE_MAX entries; two entries of a transaction may not name the same identifier. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "core/alloc.h"
#include "core/cpr.h"

#define OB_BUNDLE_MAX 2000

static const char *const writable[] = {"Appointment", "MedicationStatement", "Immunization",
                                       "DocumentReference", NULL};

static int hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Percent-decodes s into out (cap bytes); false when malformed or too long. */
static bool pct(const char *s, size_t n, char *out, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (ch == '%') {
            if (i + 2 >= n)
                return false;
            int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0)
                return false;
            ch = (char)(hi * 16 + lo);
            i += 2;
        } else if (ch == '+') {
            ch = ' ';
        }
        if (ch == '\0' || k + 1 >= cap)
            return false;
        out[k++] = ch;
    }
    out[k] = '\0';
    return true;
}

/* One entry as a request of its own. */
typedef struct sub {
    char path[64], pname[32], pval[512];
    ob_api_param param;
    ob_api_request rq;
    const char *type; /* the writable type, or NULL */
} sub;

/* Fills s from entry i; NULL, or why the entry is malformed (static text). */
static const char *entry_request(const ob_api_request *rq, json_t *entry, sub *s)
{
    memset(s, 0, sizeof *s);
    json_t *req = json_object_get(entry, "request");
    const char *method = json_string_value(json_object_get(req, "method"));
    const char *url = json_string_value(json_object_get(req, "url"));
    json_t *res = json_object_get(entry, "resource");
    if (!json_is_object(entry) || !json_is_object(req) || !method || !url)
        return "each entry needs request.method and request.url";
    if (url[0] == '/')
        url++;
    size_t tl = strcspn(url, "?");
    if (tl == 0 || tl >= sizeof s->path - 1 || strchr(url, '#'))
        return "request.url must be <Type>, <Type>/<id> or <Type>?identifier=...";
    s->path[0] = '/';
    memcpy(s->path + 1, url, tl);
    s->path[tl + 1] = '\0';
    for (size_t i = 0; writable[i]; i++)
        if (strcmp(s->path + 1, writable[i]) == 0)
            s->type = writable[i];
    const char *q = url[tl] == '?' ? url + tl + 1 : NULL;
    if (q && *q) {
        const char *eq = strchr(q, '=');
        if (!eq || strchr(eq, '&') || !pct(q, (size_t)(eq - q), s->pname, sizeof s->pname) ||
            !pct(eq + 1, strlen(eq + 1), s->pval, sizeof s->pval))
            return "request.url takes one parameter (identifier=<system>|<value>)";
        /* a CPR number never goes in a URL, nor in an entry's (R-CPR-2) */
        if (ob_cpr_in_text(s->pval) || ob_cpr_in_text(s->pname))
            return "CPR numbers are never accepted in a URL, an entry's included (R-CPR-2)";
        s->param = (ob_api_param){s->pname, s->pval, false};
        s->rq.params = &s->param;
        s->rq.nparams = 1;
    }
    s->rq.method = method;
    s->rq.path = s->path;
    s->rq.body = json_is_object(res) ? res : NULL;
    s->rq.base_url = rq->base_url;
    s->rq.if_match = json_string_value(json_object_get(req, "ifMatch"));
    return NULL;
}

static const char *status_line(int status)
{
    switch (status) {
    case 200:
        return "200 OK";
    case 201:
        return "201 Created";
    case 400:
        return "400 Bad Request";
    case 401:
        return "401 Unauthorized";
    case 403:
        return "403 Forbidden";
    case 404:
        return "404 Not Found";
    case 405:
        return "405 Method Not Allowed";
    case 409:
        return "409 Conflict";
    case 412:
        return "412 Precondition Failed";
    case 413:
        return "413 Payload Too Large";
    default:
        return status >= 500 ? "503 Service Unavailable" : "400 Bad Request";
    }
}

static json_t *outcome_of(int status, const char *code, const char *text)
{
    ob_api_response r = {0};
    ob_api_outcome(&r, status, code, text);
    return r.body;
}

static ob_status batch(ob_hub *h, const ob_caller *c, const ob_api_request *rq, json_t *entries,
                       ob_api_response *out, ob_err *e)
{
    json_t *resp = json_array();
    size_t i;
    json_t *en;
    json_array_foreach(entries, i, en)
    {
        sub s;
        const char *bad = entry_request(rq, en, &s);
        json_t *r_entry;
        if (bad) {
            r_entry = json_pack("{s:{s:s, s:o}}", "response", "status", "400 Bad Request",
                                "outcome", outcome_of(400, "invalid", bad));
        } else {
            ob_api_response r;
            ob_status rc = ob_api_handle(h, c, &s.rq, &r, e);
            if (rc) { /* a failure the transport turns into a 500: stop here */
                json_decref(resp);
                ob_api_response_release(&r);
                return rc;
            }
            ob_api_response_parse(&r);
            json_t *rr = json_pack("{s:s}", "status", status_line(r.status));
            if (r.location[0])
                json_object_set_new(rr, "location", json_string(r.location));
            if (r.etag[0])
                json_object_set_new(rr, "etag", json_string(r.etag));
            r_entry = json_pack("{s:o}", "response", rr);
            if (r.status >= 400 && r.body)
                json_object_set(rr, "outcome", r.body);
            else if (strcmp(s.rq.method, "GET") == 0 && r.body)
                json_object_set(r_entry, "resource", r.body);
            ob_api_response_release(&r);
        }
        json_array_append_new(resp, r_entry);
    }
    out->status = 200;
    out->body = json_pack("{s:s, s:s, s:o}", "resourceType", "Bundle", "type", "batch-response",
                          "entry", resp);
    return OB_OK;
}

static const char *key_system(const ob_api_write *w)
{
    return w->w.apt ? w->apt.system : w->item.system;
}

static const char *key_value(const ob_api_write *w)
{
    return w->w.apt ? w->apt.value : w->item.value;
}

static int cmp_key(const void *a, const void *b)
{
    const ob_api_write *x = *(const ob_api_write *const *)a, *y = *(const ob_api_write *const *)b;
    int c = (x->w.apt != NULL) - (y->w.apt != NULL);
    if (!c)
        c = strcmp(key_system(x), key_system(y));
    if (!c)
        c = strcmp(key_value(x), key_value(y));
    return c ? c : (x < y ? -1 : x > y);
}

/* The later of two entries that name the same identifier (appointments and items have
 * their own), or n when none do. Sorted, so a thousand entries cost n log n. */
static size_t same_identifier(ob_api_write *pw, size_t n)
{
    ob_api_write **v = ob_calloc(n ? n : 1, sizeof *v);
    if (!v)
        return 0; /* fail closed: the first entry is named */
    for (size_t i = 0; i < n; i++)
        v[i] = &pw[i];
    qsort(v, n, sizeof *v, cmp_key);
    size_t twin = n;
    for (size_t i = 1; i < n; i++) {
        const ob_api_write *a = v[i - 1], *b = v[i];
        if ((a->w.apt != NULL) == (b->w.apt != NULL) && strcmp(key_system(a), key_system(b)) == 0 &&
            strcmp(key_value(a), key_value(b)) == 0) {
            size_t later = (size_t)(b - pw);
            twin = later < twin ? later : twin;
        }
    }
    ob_free(v);
    return twin;
}

/* "entry <i>: <text>" as the answer with status (the whole transaction failed). */
static void entry_failed(ob_api_response *out, size_t i, int status, const char *code,
                         const char *text)
{
    char msg[640];
    snprintf(msg, sizeof msg, "entry %zu: %s; nothing in the transaction was stored", i, text);
    ob_api_outcome(out, status, code, msg);
}

/* The answer a prepared entry's refusal left in r, as the transaction's answer. */
static void refused_entry(ob_api_response *out, size_t i, ob_api_response *r)
{
    ob_api_response_parse(r);
    json_t *issue = json_array_get(json_object_get(r->body, "issue"), 0);
    const char *code = json_string_value(json_object_get(issue, "code"));
    const char *text = json_string_value(json_object_get(issue, "diagnostics"));
    entry_failed(out, i, r->status, code ? code : "invalid", text ? text : "refused");
}

static ob_status transaction(ob_hub *h, const ob_caller *c, const ob_api_request *rq,
                             json_t *entries, ob_api_response *out, ob_err *e)
{
    size_t n = json_array_size(entries);
    sub *subs = ob_calloc(n, sizeof *subs);
    ob_api_write *pw = ob_calloc(n, sizeof *pw);
    ob_write *ws = ob_calloc(n, sizeof *ws);
    size_t prepared = 0;
    if (!subs || !pw || !ws) {
        ob_api_outcome(out, 503, "transient", "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        const char *bad = entry_request(rq, json_array_get(entries, i), &subs[i]);
        const char *m = subs[i].rq.method;
        if (!bad && (!subs[i].type || (strcmp(m, "POST") && strcmp(m, "PUT")) ||
                     (strcmp(m, "POST") == 0 && subs[i].rq.nparams)))
            bad = "a transaction takes writes only: POST /<Type> or PUT "
                  "/<Type>?identifier=<system>|<value> of Appointment, MedicationStatement, "
                  "Immunization or DocumentReference";
        if (!bad && !subs[i].rq.body)
            bad = "each entry of a transaction carries its resource";
        if (bad) {
            entry_failed(out, i, 400, "invalid", bad);
            goto done;
        }
        char perm = strcmp(m, "POST") == 0 ? 'c' : 'u';
        if (c->has_scopes && !ob_api_scope_allows(c, subs[i].type, strlen(subs[i].type), perm)) {
            entry_failed(out, i, 403, "forbidden", "the token's scopes do not grant this (SMART)");
            goto done;
        }
        if (c->kind == OB_ACTOR_SOURCE_SYSTEM && !ob_api_system_may(h, c, &subs[i].rq)) {
            entry_failed(out, i, 403, "forbidden",
                         "your source system's registration does not allow this operation");
            goto done;
        }
        ob_api_response r = {0};
        bool ok = ob_api_write_prepare(h, c, &subs[i].rq, subs[i].type, strcmp(m, "POST") == 0,
                                       &pw[i], &r, e);
        prepared = i + 1;
        if (!ok) {
            refused_entry(out, i, &r);
            ob_api_response_release(&r);
            goto done;
        }
        ob_api_response_release(&r);
        ws[i] = pw[i].w;
    }
    size_t twin = same_identifier(pw, n);
    if (twin < n) { /* FHIR: a transaction whose entries overlap fails */
        entry_failed(out, twin, 400, "invalid",
                     "another entry of the transaction names the same identifier");
        goto done;
    }
    if (n == 0) {
        out->status = 200;
        out->body = json_pack("{s:s, s:s, s:[]}", "resourceType", "Bundle", "type",
                              "transaction-response", "entry");
        goto done;
    }
    size_t failed;
    ob_err we = {0};
    ob_status rc = ob_hub_write_many(h, ws, n, &pw[0].sw.actor, &failed, &we);
    if (rc == OB_ECONFLICT && failed < n) {
        bool stale = !ws[failed].create_only && ws[failed].if_match;
        entry_failed(out, failed, stale ? 412 : 409, stale ? "conflict" : "duplicate", we.msg);
        goto done;
    }
    if (rc) {
        if (e)
            *e = we;
        ob_api_store_failed(out, "the transaction");
        goto done;
    }
    json_t *resp = json_array();
    for (size_t i = 0; i < n; i++) {
        char loc[256], etag[64];
        int64_t version;
        const char *id;
        char aid[32];
        if (ws[i].apt) {
            snprintf(aid, sizeof aid, "apt-%lld", (long long)ws[i].apt->id);
            id = aid;
            version = ws[i].apt->version;
        } else {
            id = ws[i].item->id;
            version = ws[i].item->version;
        }
        snprintf(loc, sizeof loc, "%.160s/%s/%s", rq->base_url ? rq->base_url : "", subs[i].type,
                 id);
        snprintf(etag, sizeof etag, "W/\"%lld\"", (long long)version);
        json_array_append_new(resp, json_pack("{s:{s:s, s:s, s:s}}", "response", "status",
                                              ws[i].created ? "201 Created" : "200 OK", "location",
                                              loc, "etag", etag));
    }
    out->status = 200;
    out->body = json_pack("{s:s, s:s, s:o}", "resourceType", "Bundle", "type",
                          "transaction-response", "entry", resp);
done:
    for (size_t i = 0; i < prepared; i++)
        ob_api_write_release(&pw[i]);
    ob_free(subs);
    ob_free(pw);
    ob_free(ws);
    return OB_OK;
}

ob_status ob_api_bundle(ob_hub *h, const ob_caller *c, const ob_api_request *rq,
                        ob_api_response *out, ob_err *e)
{
    if (!ob_api_params_only(rq, NULL, out))
        return OB_OK;
    json_t *b = rq->body;
    const char *rt = json_string_value(json_object_get(b, "resourceType"));
    const char *type = json_string_value(json_object_get(b, "type"));
    json_t *entries = json_object_get(b, "entry");
    if (!rt || strcmp(rt, "Bundle") != 0 || !type ||
        (strcmp(type, "batch") != 0 && strcmp(type, "transaction") != 0)) {
        ob_api_outcome(out, 400, "invalid",
                       "POST to the base takes a Bundle of type batch or transaction");
        return OB_OK;
    }
    if (entries && !json_is_array(entries)) {
        ob_api_outcome(out, 400, "invalid", "Bundle.entry must be an array");
        return OB_OK;
    }
    if (json_array_size(entries) > OB_BUNDLE_MAX) {
        char msg[96];
        snprintf(msg, sizeof msg, "a Bundle holds at most %d entries", OB_BUNDLE_MAX);
        ob_api_outcome(out, 413, "too-costly", msg);
        return OB_OK;
    }
    if (!entries)
        entries = json_array();
    else
        json_incref(entries);
    ob_status rc = strcmp(type, "batch") == 0 ? batch(h, c, rq, entries, out, e)
                                              : transaction(h, c, rq, entries, out, e);
    json_decref(entries);
    return rc;
}

/* params.c - reading a FHIR request's parameters (internal.h): which ones a handler takes,
 * paging (_count, _offset, _summary), _include/_revinclude values, date ranges, and the
 * Bundle.link URLs that page on. Pure over the request: no hub, no I/O. The rules that
 * keep them safe: a refusal never quotes a CPR number, and a link never carries one
 * (R-CPR-2). */
#include <stdio.h>
#include <string.h>

#include "api/internal.h"
#include "core/cpr.h"

const char *ob_api_param_get(const ob_api_request *rq, const char *name, bool *from_body)
{
    for (size_t i = 0; i < rq->nparams; i++) {
        if (strcmp(rq->params[i].name, name) == 0) {
            if (from_body)
                *from_body = rq->params[i].from_body;
            return rq->params[i].value;
        }
    }
    return NULL;
}

/* "a,b,c": 1..32 element names, each a letter and then letters or digits (at most 64). */
static bool elements_ok(const char *v)
{
    int names = 0;
    for (;;) {
        size_t n = strcspn(v, ",");
        if (n == 0 || n > 64 || !((*v >= 'a' && *v <= 'z') || (*v >= 'A' && *v <= 'Z')))
            return false;
        for (size_t i = 1; i < n; i++)
            if (!((v[i] >= 'a' && v[i] <= 'z') || (v[i] >= 'A' && v[i] <= 'Z') ||
                  (v[i] >= '0' && v[i] <= '9')))
                return false;
        if (++names > 32)
            return false;
        if (!v[n])
            return true;
        v += n + 1;
    }
}

bool ob_api_params_only(const ob_api_request *rq, const char *const *allowed, ob_api_response *out)
{
    for (size_t i = 0; i < rq->nparams; i++) {
        const char *n = rq->params[i].name, *v = rq->params[i].value;
        /* FHIR's _total asks how exact Bundle.total must be: ours is always exact (and
         * counts only what the caller may see), which every value allows */
        if (strcmp(n, "_total") == 0 && allowed && strcmp(v, "none") != 0 &&
            strcmp(v, "estimate") != 0 && strcmp(v, "accurate") != 0) {
            ob_api_outcome(out, 400, "invalid", "_total must be none, estimate or accurate");
            return false;
        }
        if (strcmp(n, "_elements") == 0 && allowed && !elements_ok(v)) {
            ob_api_outcome(out, 400, "invalid",
                           "_elements must be a comma-separated list of element names");
            return false;
        }
        bool ok = strcmp(n, "_format") == 0 || strcmp(n, "_pretty") == 0 ||
                  ((strcmp(n, "_total") == 0 || strcmp(n, "_elements") == 0) && allowed);
        for (size_t j = 0; !ok && allowed && allowed[j]; j++)
            ok = strcmp(n, allowed[j]) == 0;
        if (!ok && rq->ignored) { /* lenient: FHIR says ignore it */
            rq->ignored[i] = true;
            continue;
        }
        if (!ok) {
            char msg[200];
            /* parameter names are not patient data, but cap what we echo */
            snprintf(msg, sizeof msg, "unsupported search parameter '%.64s'",
                     ob_cpr_in_text(n) ? "?" : n);
            ob_api_outcome(out, 400, "not-supported", msg);
            return false;
        }
    }
    return true;
}

static bool count_param(const ob_api_request *rq, const char *name, size_t dflt, size_t max,
                        size_t *out_v, ob_api_response *out)
{
    const char *s = ob_api_param_get(rq, name, NULL);
    *out_v = dflt;
    if (!s)
        return true;
    size_t v = 0, n = strlen(s);
    if (n == 0 || n > 9 || strspn(s, "0123456789") != n) {
        char msg[80];
        snprintf(msg, sizeof msg, "%s must be a non-negative integer", name);
        ob_api_outcome(out, 400, "invalid", msg);
        return false;
    }
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (size_t)(s[i] - '0');
    *out_v = v > max ? max : v;
    return true;
}

bool ob_api_paging(const ob_api_request *rq, size_t *count, size_t *offset, ob_api_response *out)
{
    if (!count_param(rq, "_count", 50, 500, count, out) ||
        !count_param(rq, "_offset", 0, 100000000, offset, out))
        return false;
    /* _summary: count is the total only; true, text and data choose elements of each
     * match (api.c, subset); false is the whole resource */
    const char *summary = ob_api_param_get(rq, "_summary", NULL);
    if (summary && !ob_api_in_list(summary, "count,true,text,data,false")) {
        ob_api_outcome(out, 400, "invalid", "_summary must be count, true, text, data or false");
        return false;
    }
    if (summary && ob_api_in_list(summary, "true,text,data") &&
        ob_api_param_get(rq, "_elements", NULL)) {
        ob_api_outcome(out, 400, "invalid", "use _summary or _elements, not both");
        return false;
    }
    if (summary && strcmp(summary, "count") == 0) /* the total only */
        *count = 0;
    return true;
}

const char *const ob_api_include_appointment[] = {"Appointment:patient", "Appointment:actor", NULL};
const char *const ob_api_include_observation[] = {"Observation:patient", "Observation:subject",
                                                  NULL};
const char *const ob_api_include_condition[] = {"Condition:patient", "Condition:subject", NULL};
const char *const ob_api_include_medication[] = {"MedicationStatement:patient",
                                                 "MedicationStatement:subject", NULL};
const char *const ob_api_include_immunization[] = {"Immunization:patient", NULL};
const char *const ob_api_include_document[] = {"DocumentReference:patient",
                                               "DocumentReference:subject", NULL};
const char *const ob_api_revinclude_patient[] = {"Appointment:patient",
                                                 "Appointment:actor",
                                                 "Observation:patient",
                                                 "Observation:subject",
                                                 "Condition:patient",
                                                 "Condition:subject",
                                                 NULL};

bool ob_api_includes(const ob_api_request *rq, const char *param, const char *const *allowed,
                     unsigned *asked, ob_api_response *out)
{
    *asked = 0;
    for (size_t i = 0; i < rq->nparams; i++) {
        if (strcmp(rq->params[i].name, param) != 0)
            continue;
        size_t j = 0;
        while (allowed[j] && strcmp(rq->params[i].value, allowed[j]) != 0)
            j++;
        if (!allowed[j]) {
            char msg[300];
            size_t at = (size_t)snprintf(msg, sizeof msg, "%s supports only", param);
            for (j = 0; allowed[j] && at < sizeof msg; j++)
                at +=
                    (size_t)snprintf(msg + at, sizeof msg - at, "%s %s", j ? "," : "", allowed[j]);
            ob_api_outcome(out, 400, "not-supported", msg);
            return false;
        }
        *asked |= 1u << j;
    }
    return true;
}

/* Appends s percent-encoded (RFC 3986 unreserved characters and ':' '/' as they are). */
static void url_put(char *buf, size_t cap, size_t *at, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s && *at + 4 < cap; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            strchr("-._~:/", ch)) {
            buf[(*at)++] = (char)ch;
        } else {
            buf[(*at)++] = '%';
            buf[(*at)++] = hex[ch >> 4];
            buf[(*at)++] = hex[ch & 15];
        }
    }
    buf[*at] = '\0';
}

/* Appends s as it is (URL syntax: '?', '=', '&'). */
static void raw_put(char *buf, size_t cap, size_t *at, const char *s)
{
    for (; *s && *at + 2 < cap; s++)
        buf[(*at)++] = *s;
    buf[*at] = '\0';
}

/* The search's URL up to its paging: base, type, '?' and each parameter as "n=v&". The
 * patient by patient_ext when given (the parameters that name one are then left out);
 * _count and _offset only when keep_paging; never one ignored under handling=lenient.
 * False when a CPR-like text would go in (R-CPR-2) or it does not fit. */
/* keep_paging: the paging parameters stay, _count as applied (count > 0: what the page
 * holds at most, after the cap), so the self link states what was done. */
static bool search_query(const ob_api_request *rq, const char *patient_ext, bool keep_paging,
                         size_t count, char *q, size_t cap)
{
    size_t at = 0;
    q[0] = '\0';
    raw_put(q, cap, &at, rq->base_url ? rq->base_url : "");
    const char *path = rq->path[0] == '/' ? rq->path + 1 : rq->path;
    if (ob_api_is_everything(rq->path)) { /* Patient/<id>/$everything: the patient is in it */
        const char *id = path + 8;
        raw_put(q, cap, &at, "/Patient/");
        char idbuf[160];
        snprintf(idbuf, sizeof idbuf, "%.*s", (int)strcspn(id, "/"), id);
        url_put(q, cap, &at, idbuf);
        raw_put(q, cap, &at, "/$everything?");
        patient_ext = NULL;
    } else {
        char type[32];
        snprintf(type, sizeof type, "%.*s", (int)strcspn(path, "/"), path);
        raw_put(q, cap, &at, "/");
        url_put(q, cap, &at, type);
        raw_put(q, cap, &at, "?");
    }
    bool patient_type = strncmp(path, "Patient", 7) == 0 && (path[7] == '\0' || path[7] == '/');
    /* a Patient search names its patient by _id, every other search by patient= */
    if (patient_ext) { /* the patient by internal id, whichever way it was named */
        raw_put(q, cap, &at, patient_type ? "_id=" : "patient=Patient/");
        url_put(q, cap, &at, patient_ext);
        raw_put(q, cap, &at, "&");
    }
    for (size_t i = 0; i < rq->nparams; i++) {
        const char *n = rq->params[i].name, *v = rq->params[i].value;
        if ((!keep_paging &&
             (strcmp(n, "_count") == 0 || strcmp(n, "_offset") == 0 || strcmp(n, "_after") == 0)) ||
            (rq->ignored && rq->ignored[i]) ||
            (patient_ext &&
             (strcmp(n, "patient") == 0 || strcmp(n, "patient.identifier") == 0 ||
              strcmp(n, "identifier") == 0 || (patient_type && strcmp(n, "_id") == 0))))
            continue;
        if (ob_cpr_in_text(n) || ob_cpr_in_text(v)) /* R-CPR-2: never into a URL */
            return false;
        char applied[24];
        if (keep_paging && count > 0 && strcmp(n, "_count") == 0) {
            snprintf(applied, sizeof applied, "%zu", count);
            v = applied;
        }
        url_put(q, cap, &at, n);
        raw_put(q, cap, &at, "=");
        url_put(q, cap, &at, v);
        raw_put(q, cap, &at, "&");
        if (at + 40 >= cap)
            return false; /* too long to link to: the client pages with _offset itself */
    }
    /* digits next to an escape ("%20" "01901234") can read as one */
    return !ob_cpr_in_text(q);
}

/* A page's links: self (the search as performed) and its neighbours, each URL as a
 * prefix (one of the two buffers) and a tail, so both writers below share one set of
 * rules and only render. */
typedef struct page_links {
    char self[2048], page[2048];
    size_t n;
    struct {
        const char *relation, *prefix;
        char tail[512];
    } l[3];
} page_links;

static void page_links_add(page_links *pl, const char *relation, const char *prefix,
                           const char *tail)
{
    pl->l[pl->n].relation = relation;
    pl->l[pl->n].prefix = prefix;
    snprintf(pl->l[pl->n].tail, sizeof pl->l[pl->n].tail, "%s", tail);
    pl->n++;
}

static size_t page_links_make(const ob_api_request *rq, const char *patient_ext, size_t total,
                              size_t offset, size_t count, const char *after, page_links *pl)
{
    pl->n = 0;
    /* the patient by internal id only when the caller may see something: a hidden patient
     * answers like an absent one, with the search as it was asked */
    const char *pext = total > 0 ? patient_ext : NULL;
    /* an operation's answer ($overview, called with POST) has no search URL to name;
     * $everything (GET) has */
    if ((!strchr(rq->path, '$') || ob_api_is_everything(rq->path)) &&
        search_query(rq, pext, true, count, pl->self, sizeof pl->self)) {
        size_t n = strlen(pl->self); /* no dangling '&', nor '?' when nothing follows it */
        if (n && (pl->self[n - 1] == '&' || pl->self[n - 1] == '?'))
            pl->self[n - 1] = '\0';
        page_links_add(pl, "self", pl->self, "");
    }
    bool next = total > 0 && count > 0 && count < total - (offset < total ? offset : total);
    bool prev = total > 0 && offset > 0;
    if ((next || prev) && search_query(rq, pext, false, 0, pl->page, sizeof pl->page)) {
        char tail[512];
        if (prev) {
            snprintf(tail, sizeof tail, "_count=%zu&_offset=%zu", count,
                     offset > count ? offset - count : 0);
            page_links_add(pl, "previous", pl->page, tail);
        }
        if (next) {
            char cur[400] = "";
            size_t at = 0; /* the page's last match: the next page starts after it */
            if (after && strlen(after) < 120) {
                raw_put(cur, sizeof cur, &at, "&_after=");
                url_put(cur, sizeof cur, &at, after);
                /* escaping can join digits into what reads as a CPR number ('"' before
                 * "01902468" is "%2201902468"): such a link is not given (R-CPR-2); the
                 * next page goes by _offset alone */
                if (ob_cpr_in_text(cur))
                    cur[0] = '\0';
            }
            snprintf(tail, sizeof tail, "_count=%zu&_offset=%zu%s", count, offset + count, cur);
            page_links_add(pl, "next", pl->page, tail);
        }
    }
    return pl->n;
}

bool ob_api_is_everything(const char *path)
{
    const char *p = path[0] == '/' ? path + 1 : path;
    const char *op = strstr(p, "/$everything");
    return strncmp(p, "Patient/", 8) == 0 && op && op > p + 8 && strcmp(op, "/$everything") == 0 &&
           !memchr(p + 8, '/', (size_t)(op - p - 8));
}

json_t *ob_api_page_links(const ob_api_request *rq, const char *patient_ext, size_t total,
                          size_t offset, size_t count, const char *after)
{
    page_links pl;
    if (page_links_make(rq, patient_ext, total, offset, count, after, &pl) == 0)
        return NULL;
    json_t *links = json_array();
    char url[sizeof pl.page + sizeof pl.l[0].tail];
    for (size_t i = 0; i < pl.n; i++) {
        snprintf(url, sizeof url, "%s%s", pl.l[i].prefix, pl.l[i].tail);
        json_array_append_new(links,
                              json_pack("{s:s, s:s}", "relation", pl.l[i].relation, "url", url));
    }
    return links;
}

void ob_api_bundle_link(json_t *bundle, const ob_api_request *rq, const char *patient_ext,
                        size_t offset, size_t count, const char *after)
{
    if (!bundle)
        return;
    size_t total = (size_t)json_integer_value(json_object_get(bundle, "total"));
    json_t *links = ob_api_page_links(rq, patient_ext, total, offset, count, after);
    if (links)
        json_object_set_new(bundle, "link", links);
}

void ob_api_page_links_write(ob_jw *w, const ob_api_request *rq, const char *patient_ext,
                             size_t total, size_t offset, size_t count, const char *after)
{
    page_links pl;
    if (page_links_make(rq, patient_ext, total, offset, count, after, &pl) == 0)
        return;
    ob_jw_lit(w, ",\"link\":[");
    for (size_t i = 0; i < pl.n; i++) {
        if (i)
            ob_jw_lit(w, ",");
        ob_jw_lit(w, "{\"relation\":");
        ob_jw_str(w, pl.l[i].relation);
        ob_jw_lit(w, ",\"url\":");
        ob_jw_str2(w, pl.l[i].prefix, pl.l[i].tail);
        ob_jw_lit(w, "}");
    }
    ob_jw_lit(w, "]");
}

/* to == 0 means "no upper bound" (ob_log_query), so a bound that falls at 0 is moved
 * just below it: the range stays empty instead of becoming unbounded. */
static void bound_below(ob_time *to, ob_time t)
{
    if (t == 0)
        t = -1;
    if (*to == 0 || t < *to)
        *to = t;
}

bool ob_api_date_range(const ob_api_request *rq, const char *name, ob_time *from, ob_time *to,
                       ob_api_response *out)
{
    *from = OB_TIME_MIN;
    *to = 0;
    for (size_t i = 0; i < rq->nparams; i++) {
        if (strcmp(rq->params[i].name, name) != 0)
            continue;
        const char *v = rq->params[i].value;
        char op[3] = "eq";
        if (strlen(v) > 2 && v[0] >= 'a' && v[0] <= 'z') {
            memcpy(op, v, 2);
            v += 2;
        }
        ob_time t;
        char msg[200];
        if (ob_time_parse(v, &t, NULL)) {
            snprintf(msg, sizeof msg,
                     "%s must be a FHIR date or dateTime with an optional prefix ge, gt, le, lt "
                     "or eq, e.g. %s=ge2026-01-01",
                     name, name);
            ob_api_outcome(out, 400, "invalid", msg);
            return false;
        }
        ob_time step = strlen(v) == 10 ? 86400 : 1; /* a date covers its whole day */
        bool lower = strcmp(op, "ge") == 0 || strcmp(op, "gt") == 0 || strcmp(op, "eq") == 0;
        bool upper = strcmp(op, "le") == 0 || strcmp(op, "lt") == 0 || strcmp(op, "eq") == 0;
        if (!lower && !upper) {
            snprintf(msg, sizeof msg, "%s prefixes are ge, gt, le, lt and eq", name);
            ob_api_outcome(out, 400, "invalid", msg);
            return false;
        }
        /* repeated parameters narrow the range (FHIR: AND) */
        ob_time lo = strcmp(op, "gt") == 0 ? t + step : t;
        if (lower && lo > *from)
            *from = lo;
        if (upper)
            bound_below(to, strcmp(op, "lt") == 0 ? t : t + step);
    }
    return true;
}

bool ob_api_if_match(const char *s, int64_t *v)
{
    *v = 0;
    if (!s)
        return true;
    s += strspn(s, " \t");
    if (strcmp(s, "*") == 0) {
        *v = -1;
        return true;
    }
    if (strncmp(s, "W/", 2) == 0)
        s += 2;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n >= 2 && s[0] == '"' && s[n - 1] == '"')
        s++, n -= 2;
    if (n == 0 || n > 18 || strspn(s, "0123456789") < n)
        return false;
    int64_t x = 0;
    for (size_t i = 0; i < n; i++)
        x = x * 10 + (s[i] - '0');
    *v = x;
    return x > 0;
}

bool ob_api_sort(const ob_api_request *rq, const char *param, bool *descending, bool *by_updated,
                 ob_api_response *out)
{
    const char *v = ob_api_param_get(rq, "_sort", NULL);
    if (by_updated)
        *by_updated = false;
    if (!v)
        return true;
    bool desc = v[0] == '-';
    bool updated = strcmp(v + desc, "_lastUpdated") == 0;
    if (!updated && strcmp(v + desc, param) != 0) {
        char msg[160];
        snprintf(msg, sizeof msg,
                 "_sort takes %s (oldest first), -%s (newest first), _lastUpdated or "
                 "-_lastUpdated here",
                 param, param);
        ob_api_outcome(out, 400, "not-supported", msg);
        return false;
    }
    *descending = desc;
    if (by_updated)
        *by_updated = updated;
    return true;
}

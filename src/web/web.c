/* web.c - the web pages' back end (web.h): static pages, the /auth routes other than the
 * provider login (login.c), and the session checks the FHIR API relies on. */
#include "web/web.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/time.h"
#include "http/auth.h"
#include "http/oidc.h"
#include "model/index.h"
#include "policy/policy.h"
#include "web/assets.h"
#include "web/login.h"
#include "web/session.h"

#define MAX_FILE (8u << 20) /* the largest page served from web_dir */

struct ob_web {
    ob_hub *hub;
    ob_oidc *oidc;
    char web_dir[PATH_MAX];
    bool dev_login;
    ob_sessions *sessions;
};

ob_status ob_web_new(const ob_web_config *cfg, ob_web **out, ob_err *e)
{
    *out = NULL;
    ob_web *w = ob_calloc(1, sizeof *w);
    if (!w)
        return ob_err_set(e, OB_ENOMEM, "out of memory");
    w->hub = cfg->hub;
    w->oidc = cfg->oidc;
    w->dev_login = cfg->dev_login;
    if (cfg->web_dir && cfg->web_dir[0]) {
        if (!realpath(cfg->web_dir, w->web_dir)) {
            ob_status rc =
                ob_err_set(e, OB_EINVAL, "the web directory %s: %s", cfg->web_dir, strerror(errno));
            ob_free(w);
            return rc;
        }
    }
    ob_status rc = ob_sessions_new(cfg->idle, cfg->absolute, 0, &w->sessions, e);
    if (rc != OB_OK) {
        ob_free(w);
        return rc;
    }
    *out = w;
    return OB_OK;
}

void ob_web_free(ob_web *w)
{
    if (!w)
        return;
    ob_sessions_free(w->sessions);
    ob_free(w);
}

bool ob_web_dev_login(const ob_web *w)
{
    return w && w->dev_login;
}

ob_sessions *ob_web_sessions(ob_web *w)
{
    return w->sessions;
}

ob_oidc *ob_web_oidc(ob_web *w)
{
    return w->oidc;
}

ob_hub *ob_web_hub(ob_web *w)
{
    return w->hub;
}

void ob_web_resp_release(ob_web_resp *r)
{
    ob_free(r->owned);
    r->owned = NULL;
    r->data = NULL;
    r->len = 0;
}

bool ob_web_is_auth(const char *path)
{
    return strncmp(path, "/auth/", 6) == 0 || strcmp(path, "/auth") == 0;
}

/* ---- parsers ---- */

int ob_web_cookie(const char *header, const char *name, char *out, size_t cap)
{
    if (cap)
        out[0] = '\0';
    if (!header)
        return 0;
    size_t nl = strlen(name);
    int found = 0;
    for (const char *p = header; *p;) {
        while (*p == ' ' || *p == '\t' || *p == ';')
            p++;
        const char *end = strchr(p, ';');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', n);
        if (eq) {
            size_t kn = (size_t)(eq - p);
            while (kn && (p[kn - 1] == ' ' || p[kn - 1] == '\t'))
                kn--;
            if (kn == nl && memcmp(p, name, nl) == 0) {
                if (found)
                    return -1;
                const char *v = eq + 1;
                size_t vn = n - (size_t)(v - p);
                while (vn && (*v == ' ' || *v == '\t'))
                    v++, vn--;
                while (vn && (v[vn - 1] == ' ' || v[vn - 1] == '\t'))
                    vn--;
                if (vn >= 2 && v[0] == '"' && v[vn - 1] == '"')
                    v++, vn -= 2;
                if (vn + 1 > cap)
                    return -1;
                memcpy(out, v, vn);
                out[vn] = '\0';
                found = 1;
            }
        }
        p += n;
    }
    return found;
}

bool ob_web_file_path(const char *path, char *out, size_t cap)
{
    size_t n = path ? strlen(path) : 0;
    if (n == 0 || path[0] != '/' || n > 255)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)path[i];
        if (c < 0x20 || c == 0x7f || c == '\\')
            return false;
        /* a segment: not empty (except a final one), not hidden, not . or .. */
        if (c == '/' && i + 1 < n && (path[i + 1] == '/' || path[i + 1] == '.'))
            return false;
    }
    bool dir = path[n - 1] == '/';
    int k = snprintf(out, cap, "%s%s", path, dir ? "index.html" : "");
    return k > 0 && (size_t)k < cap;
}

const char *ob_web_content_type(const char *file)
{
    static const struct {
        const char *ext, *type;
    } types[] = {{".html", "text/html; charset=utf-8"},
                 {".js", "text/javascript; charset=utf-8"},
                 {".mjs", "text/javascript; charset=utf-8"},
                 {".css", "text/css; charset=utf-8"},
                 {".json", "application/json"},
                 {".webmanifest", "application/manifest+json"},
                 {".svg", "image/svg+xml"},
                 {".png", "image/png"},
                 {".ico", "image/x-icon"},
                 {".woff2", "font/woff2"},
                 {".txt", "text/plain; charset=utf-8"}};
    const char *dot = strrchr(file, '.');
    if (!dot || strchr(dot, '/'))
        return NULL;
    for (size_t i = 0; i < sizeof types / sizeof *types; i++)
        if (strcasecmp(dot, types[i].ext) == 0)
            return types[i].type;
    return NULL;
}

/* ---- answers ---- */

static void answer_text(ob_web_resp *out, int status, const char *ctype, const char *text)
{
    size_t n = strlen(text);
    out->owned = ob_malloc(n + 1);
    if (out->owned) {
        memcpy(out->owned, text, n + 1);
        out->data = out->owned;
        out->len = n;
    }
    out->status = status;
    out->ctype = ctype;
    out->cache = "no-store";
}

/* Answers JSON j (taken over). */
static void answer_json(ob_web_resp *out, int status, json_t *j)
{
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    answer_text(out, text ? status : 500, "application/json",
                text ? text : "{\"error\":\"out of memory\"}");
    free(text);
}

static void answer_error(ob_web_resp *out, int status, const char *msg)
{
    answer_json(out, status, json_pack("{s:s}", "error", msg));
}

/* Set-Cookie for the session cookie: the id, or "" to clear it. */
static void session_cookie(ob_web_resp *out, int slot, const char *id)
{
    if (id && id[0])
        snprintf(out->cookies[slot], sizeof out->cookies[slot],
                 "%s=%s; Path=/; Secure; HttpOnly; SameSite=Strict", OB_WEB_COOKIE, id);
    else
        snprintf(out->cookies[slot], sizeof out->cookies[slot],
                 "%s=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0", OB_WEB_COOKIE);
}

void ob_web_set_session_cookie(ob_web_resp *out, int slot, const char *id)
{
    session_cookie(out, slot, id);
}

static bool etag_match(const char *list, const char *etag)
{
    if (!list)
        return false;
    size_t en = strlen(etag);
    for (const char *p = list; *p;) {
        p += strspn(p, " \t,");
        size_t n = strcspn(p, ",");
        size_t k = n;
        while (k && (p[k - 1] == ' ' || p[k - 1] == '\t'))
            k--;
        if ((k == 1 && p[0] == '*') || (k == en && strncmp(p, etag, k) == 0))
            return true;
        p += n;
    }
    return false;
}

/* A page from web_dir (development): read whole, ETag from its bytes. */
static bool page_from_disk(ob_web *w, const char *file, ob_web_resp *out)
{
    char full[PATH_MAX + 300], real[PATH_MAX];
    snprintf(full, sizeof full, "%s%s", w->web_dir, file);
    size_t dl = strlen(w->web_dir);
    if (!realpath(full, real) || strncmp(real, w->web_dir, dl) != 0 || real[dl] != '/')
        return false;
    int fd = open(real, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0)
        return false;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > MAX_FILE) {
        close(fd);
        return false;
    }
    size_t n = (size_t)st.st_size, got = 0;
    unsigned char *buf = ob_malloc(n + 1);
    while (buf && got < n) {
        ssize_t k = read(fd, buf + got, n - got);
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    close(fd);
    if (!buf || got != n) {
        ob_free(buf);
        return false;
    }
    uint8_t h[16];
    crypto_generichash(h, sizeof h, buf, n, NULL, 0);
    char hex[33];
    sodium_bin2hex(hex, sizeof hex, h, sizeof h);
    snprintf(out->etag, sizeof out->etag, "\"%s\"", hex);
    out->owned = buf;
    out->data = buf;
    out->len = n;
    return true;
}

static void page(ob_web *w, const ob_web_req *rq, ob_web_resp *out)
{
    char file[300];
    const char *ct = NULL;
    if (strcmp(rq->method, "GET") != 0) {
        answer_text(out, 405, "text/plain; charset=utf-8", "use GET\n");
        return;
    }
    bool found = false;
    if (ob_web_file_path(rq->path, file, sizeof file) && (ct = ob_web_content_type(file))) {
        if (w->web_dir[0]) {
            found = page_from_disk(w, file, out);
        } else {
            for (size_t i = 0; i < ob_web_nassets && !found; i++)
                if (strcmp(ob_web_assets[i].path, file) == 0) {
                    const ob_web_asset *a = &ob_web_assets[i];
                    out->data = a->data;
                    out->len = a->len;
                    snprintf(out->etag, sizeof out->etag, "%s", a->etag);
                    ct = a->ctype;
                    found = true;
                }
        }
    }
    if (!found) { /* as the API's own 404, so that a client of either reads it */
        answer_text(out, 404, "application/fhir+json; charset=utf-8",
                    "{\"resourceType\":\"OperationOutcome\",\"issue\":[{\"severity\":"
                    "\"error\",\"code\":\"not-found\",\"diagnostics\":\"no such page or "
                    "endpoint (the FHIR API is under /fhir)\"}]}");
        return;
    }
    out->status = 200;
    out->ctype = ct;
    /* the file names carry no version: a browser asks again each time and gets a 304 */
    out->cache = "no-cache";
    if (etag_match(rq->if_none_match, out->etag)) {
        ob_web_resp_release(out);
        out->status = 304;
    }
}

/* ---- sessions ---- */

/* The origin the pages are served from, as the browser names it in Origin. */
static void own_origin(const ob_web_req *rq, char *out, size_t cap)
{
    snprintf(out, cap, "%s://%s", rq->tls ? "https" : "http", rq->host ? rq->host : "");
}

/* Fetch metadata and Origin of a state-changing request: when the browser sends them,
 * they must say it came from our own pages. NULL or why not. */
static const char *same_origin(const ob_web_req *rq)
{
    if (rq->fetch_site && strcmp(rq->fetch_site, "same-origin") != 0)
        return "this request came from another site (Sec-Fetch-Site); nothing was changed";
    if (rq->origin) {
        char own[600];
        own_origin(rq, own, sizeof own);
        if (!rq->host || strcmp(rq->origin, own) != 0)
            return "this request came from another origin (Origin); nothing was changed";
    }
    return NULL;
}

static bool is_read(const char *method)
{
    return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
}

int ob_web_session_claims(ob_web *w, const ob_web_req *rq, json_t **claims, ob_err *e)
{
    *claims = NULL;
    char id[128];
    int c = ob_web_cookie(rq->cookie, OB_WEB_COOKIE, id, sizeof id);
    if (c == 0)
        return 0;
    if (rq->authorization) {
        ob_err_set(e, OB_EINVAL,
                   "send a session cookie or an Authorization header, not both: which "
                   "caller is meant?");
        return 400;
    }
    if (c < 0) {
        ob_err_set(e, OB_EINVAL, "the session cookie is sent twice or is malformed");
        return 400;
    }
    ob_session_info info;
    if (ob_session_get(w->sessions, id, rq->now, &info, e) != OB_OK)
        return 401;
    if (!is_read(rq->method)) {
        const char *why = same_origin(rq);
        if (!why && !ob_session_csrf_ok(&info, rq->csrf))
            why = "a change needs the session's X-CSRF-Token header; nothing was changed";
        if (why) {
            json_decref(info.claims);
            ob_err_set(e, OB_EDENIED, "%s", why);
            return 403;
        }
    }
    *claims = info.claims;
    return 200;
}

/* The ISO 8601 form of seconds since the epoch (UTC). */
static void rfc3339(int64_t t, char *out, size_t cap)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* What /auth/session says about a caller: never the claims themselves (a citizen's
 * carry a CPR number) and no token. */
static json_t *describe(ob_web *w, const json_t *claims, const ob_session_info *info)
{
    ob_caller c;
    ob_err e = {0};
    json_t *j = json_object();
    char exp[32];
    rfc3339(info->expires, exp, sizeof exp);
    json_object_set_new(j, "csrf", json_string(info->csrf));
    json_object_set_new(j, "expires", json_string(exp));
    json_object_set_new(j, "dev", json_boolean(info->dev));
    const char *prov = info->issuer >= 0 ? ob_oidc_name(w->oidc, info->issuer) : NULL;
    if (prov)
        json_object_set_new(j, "provider", json_string(prov));
    if (ob_auth_caller(w->hub, claims, &c, &e) != OB_OK) {
        json_object_set_new(j, "kind", json_string("unknown"));
        json_object_set_new(j, "problem", json_string(e.msg));
        return j;
    }
    json_t *purposes = json_array();
    for (int p = 0; p < OB_PURPOSE_COUNT; p++)
        if (c.purposes & OB_PURPOSE_BIT(p))
            json_array_append_new(purposes, json_string(ob_purpose_code((ob_purpose)p)));
    json_object_set_new(j, "purposes", purposes);
    pthread_rwlock_rdlock(&w->hub->lock);
    const ob_index *ix = w->hub->ix;
    if (c.kind == OB_ACTOR_CITIZEN) {
        json_object_set_new(j, "kind", json_string("patient"));
        json_object_set_new(j, "role", json_string("citizen"));
        json_t *acts = json_array();
        if (c.actor != OB_NONE && c.actor < ix->npatients) {
            json_object_set_new(j, "patient", json_string(ix->patients[c.actor].ext_id));
            json_object_set_new(j, "name", json_string(ix->patients[c.actor].name));
            /* the patients this citizen holds a power of attorney (or custody) for */
            int64_t now = ob_time_now();
            for (uint32_t p = 0; p < ix->npatients; p++) {
                const ob_patient *pt = &ix->patients[p];
                for (uint16_t a = 0; a < pt->nattorneys; a++) {
                    const ob_attorney *at = &pt->attorneys[a];
                    if (at->holder != c.actor || at->from > now || (at->to && at->to <= now))
                        continue;
                    json_t *cats = json_array();
                    for (int k = 0; k < OB_CAT_COUNT; k++)
                        if (at->scope & (1u << k))
                            json_array_append_new(cats, json_string(ob_category_name(k)));
                    json_array_append_new(acts, json_pack("{s:s, s:s, s:s, s:o}", "patient",
                                                          pt->ext_id, "name", pt->name, "capacity",
                                                          ob_capacity_name(at->capacity),
                                                          "categories", cats));
                }
            }
        } else {
            json_object_set_new(j, "problem",
                                json_string("no patient record in overblik for this person"));
        }
        json_object_set_new(j, "acts_for", acts);
    } else if (c.kind == OB_ACTOR_PROFESSIONAL) {
        const ob_professional *p = &ix->pros[c.actor];
        json_object_set_new(j, "kind", json_string("professional"));
        json_object_set_new(j, "id", json_string(p->ext_id));
        json_object_set_new(j, "name", json_string(p->name));
        json_object_set_new(j, "role", json_string(ob_role_name((ob_role)p->role)));
        json_object_set_new(j, "authorised", json_boolean(p->authorised));
        json_t *sites = json_array();
        for (uint8_t s = 0; s < p->nsites; s++)
            json_array_append_new(sites, json_pack("{s:s, s:s}", "id", ix->orgs[p->sites[s]].ext_id,
                                                   "name", ix->orgs[p->sites[s]].name));
        json_object_set_new(j, "sites", sites);
        json_object_set_new(j, "site", json_string(ix->orgs[c.acting_org].ext_id));
        if (c.on_behalf_of != OB_NONE)
            json_object_set_new(j, "acts_for",
                                json_pack("{s:s, s:s}", "id", ix->pros[c.on_behalf_of].ext_id,
                                          "name", ix->pros[c.on_behalf_of].name));
        else
            json_object_set_new(j, "acts_for", json_null());
        /* an assistant: the site's authorised professionals they may work for (R-ACC-3) */
        json_t *coll = json_array();
        int64_t now = ob_time_now();
        for (uint32_t q = 0; !p->authorised && q < ix->npros; q++)
            if (q != c.actor && ix->pros[q].authorised &&
                ob_index_pro_works_at(ix, q, c.acting_org) &&
                ob_policy_may_assist(ix, c.actor, c.acting_org, q, now))
                json_array_append_new(coll, json_pack("{s:s, s:s}", "id", ix->pros[q].ext_id,
                                                      "name", ix->pros[q].name));
        json_object_set_new(j, "colleagues", coll);
    } else {
        json_object_set_new(j, "kind", json_string("system"));
    }
    pthread_rwlock_unlock(&w->hub->lock);
    return j;
}

static void auth_session(ob_web *w, const ob_web_req *rq, ob_web_resp *out)
{
    char id[128];
    ob_session_info info;
    ob_err e = {0};
    int c = ob_web_cookie(rq->cookie, OB_WEB_COOKIE, id, sizeof id);
    if (c <= 0 || ob_session_get(w->sessions, id, rq->now, &info, &e) != OB_OK) {
        answer_error(out, 401, "no session");
        if (c != 0)
            session_cookie(out, 0, NULL);
        return;
    }
    answer_json(out, 200, describe(w, info.claims, &info));
    json_decref(info.claims);
}

static void auth_logout(ob_web *w, const ob_web_req *rq, ob_web_resp *out)
{
    char id[128];
    ob_session_info info;
    ob_err e = {0};
    int c = ob_web_cookie(rq->cookie, OB_WEB_COOKIE, id, sizeof id);
    if (c <= 0 || ob_session_get(w->sessions, id, rq->now, &info, &e) != OB_OK) {
        answer_json(out, 200, json_pack("{s:b}", "ended", 0)); /* nothing to end */
        session_cookie(out, 0, NULL);
        return;
    }
    const char *why = same_origin(rq);
    if (!why && !ob_session_csrf_ok(&info, rq->csrf))
        why = "logging out needs the session's X-CSRF-Token header";
    if (why) {
        json_decref(info.claims);
        answer_error(out, 403, why);
        return;
    }
    ob_session_end(w->sessions, id, &e);
    json_t *j = json_pack("{s:b}", "ended", 1);
    char end[OB_OIDC_URL_MAX * 2];
    if (info.issuer >= 0 && ob_web_end_session_url(w, info.issuer, rq->now, end, sizeof end))
        json_object_set_new(j, "end_session", json_string(end));
    json_decref(info.claims);
    answer_json(out, 200, j);
    session_cookie(out, 0, NULL);
}

static void auth_providers(ob_web *w, ob_web_resp *out)
{
    json_t *a = json_array();
    for (size_t i = 0; i < ob_oidc_count(w->oidc); i++) {
        const char *label = ob_oidc_label(w->oidc, (int)i);
        if (label) /* only the providers set up for login (a client_id) */
            json_array_append_new(a, json_pack("{s:s, s:s, s:s}", "name",
                                               ob_oidc_name(w->oidc, (int)i), "label", label,
                                               "kind", ob_oidc_kind(w->oidc, (int)i)));
    }
    answer_json(out, 200, a);
}

/* Whether the Host header names the loopback interface (127.0.0.1, [::1] or localhost, with
 * or without a port). The development login answers only there: a page of another site
 * whose name an attacker points at 127.0.0.1 (DNS rebinding) is same-origin with itself,
 * so the Origin check alone would let it log in as anyone and read with the session. */
static bool loopback_host(const char *host)
{
    static const char *const names[] = {"127.0.0.1", "[::1]", "localhost"};
    for (size_t i = 0; host && i < sizeof names / sizeof names[0]; i++) {
        size_t n = strlen(names[i]);
        if (strncasecmp(host, names[i], n) == 0 &&
            (host[n] == '\0' || (host[n] == ':' && host[n + 1] &&
                                 strspn(host + n + 1, "0123456789") == strlen(host + n + 1))))
            return true;
    }
    return false;
}

/* POST /auth/dev-login {"kind":"patient","id":"p-1"} or {"kind":"professional","id":...,
 * "site":... (default: their first), "on_behalf_of":...}: a session without a provider,
 * for an existing id, only when the server was started with --dev-login, and only asked by
 * a loopback name (above). */
static void dev_login(ob_web *w, const ob_web_req *rq, ob_web_resp *out)
{
    ob_err e = {0};
    if (!loopback_host(rq->host)) { /* T-WEB-42 */
        answer_error(out, 403,
                     "the development login answers only on a loopback address "
                     "(127.0.0.1, [::1] or localhost)");
        return;
    }
    const char *why = same_origin(rq);
    if (why) {
        answer_error(out, 403, why);
        return;
    }
    if (!rq->content_type || strncasecmp(rq->content_type, "application/json", 16) != 0) {
        answer_error(out, 415, "send application/json");
        return;
    }
    json_error_t je;
    json_t *b = rq->body ? json_loadb(rq->body, rq->body_len, JSON_REJECT_DUPLICATES, &je) : NULL;
    const char *kind = json_string_value(json_object_get(b, "kind"));
    const char *id = json_string_value(json_object_get(b, "id"));
    const char *site = json_string_value(json_object_get(b, "site"));
    const char *obo = json_string_value(json_object_get(b, "on_behalf_of"));
    json_t *claims = NULL;
    if (!kind || !id || strlen(id) > 63) {
        json_decref(b);
        answer_error(out, 400, "give {\"kind\":\"patient\"|\"professional\",\"id\":...}");
        return;
    }
    char first_site[256] = "";
    pthread_rwlock_rdlock(&w->hub->lock);
    const ob_index *ix = w->hub->ix;
    bool exists = false;
    if (strcmp(kind, "patient") == 0) {
        exists = ob_index_find_patient(ix, id) != OB_NONE;
        if (exists)
            claims = json_pack("{s:s, s:s}", "ob_kind", "citizen", "patient", id);
    } else if (strcmp(kind, "professional") == 0) {
        uint32_t p = ob_index_find_professional(ix, id);
        exists = p != OB_NONE;
        if (exists && !site && ix->pros[p].nsites)
            snprintf(first_site, sizeof first_site, "%s", ix->orgs[ix->pros[p].sites[0]].ext_id);
        if (exists)
            claims = json_pack("{s:s, s:s, s:s}", "ob_kind", "professional", "sub", id, "site",
                               site ? site : first_site);
        if (claims && obo)
            json_object_set_new(claims, "on_behalf_of", json_string(obo));
    }
    pthread_rwlock_unlock(&w->hub->lock);
    json_decref(b);
    ob_caller c;
    if (!exists || !claims) {
        json_decref(claims);
        answer_error(out, 404, "no such patient or professional");
        return;
    }
    if (ob_auth_caller(w->hub, claims, &c, &e) != OB_OK) {
        json_decref(claims);
        answer_error(out, 400, e.msg);
        return;
    }
    char sid[OB_SESSION_ID_LEN + 1];
    ob_session_info info;
    ob_status rc = ob_session_create(w->sessions, claims, true, -1, rq->now, sid, &info, &e);
    if (rc != OB_OK) {
        json_decref(claims);
        answer_error(out, rc == OB_ELIMIT ? 503 : 500, e.msg);
        return;
    }
    answer_json(out, 200, describe(w, claims, &info));
    json_decref(info.claims);
    json_decref(claims);
    session_cookie(out, 0, sid);
    sodium_memzero(sid, sizeof sid);
}

/* POST /auth/acts-for {"on_behalf_of": "<professional id>" | null} (X-CSRF-Token): an
 * assistant chooses the authorised colleague they work for (R-ACC-3); checked as a token's
 * on_behalf_of claim would be (ob_auth_caller: the site's management granted assistance). */
static void acts_for(ob_web *w, const ob_web_req *rq, ob_web_resp *out)
{
    char id[128];
    ob_session_info info;
    ob_err e = {0};
    if (ob_web_cookie(rq->cookie, OB_WEB_COOKIE, id, sizeof id) != 1 ||
        ob_session_get(w->sessions, id, rq->now, &info, &e) != OB_OK) {
        answer_error(out, 401, "no session");
        return;
    }
    const char *why = same_origin(rq);
    if (!why && !ob_session_csrf_ok(&info, rq->csrf))
        why = "a change needs the session's X-CSRF-Token header; nothing was changed";
    json_t *b =
        !why && rq->body ? json_loadb(rq->body, rq->body_len, JSON_REJECT_DUPLICATES, NULL) : NULL;
    const json_t *obo = json_object_get(b, "on_behalf_of");
    const char *kind = json_string_value(json_object_get(info.claims, "ob_kind"));
    if (why) {
        answer_error(out, 403, why);
    } else if (!b || !obo || (!json_is_string(obo) && !json_is_null(obo)) || !kind ||
               strcmp(kind, "professional") != 0) {
        answer_error(out, 400,
                     "give {\"on_behalf_of\": \"<professional id>\" or null} in a "
                     "professional's session");
    } else {
        json_t *next = json_deep_copy(info.claims);
        ob_caller c;
        if (json_is_null(obo))
            json_object_del(next, "on_behalf_of");
        else
            json_object_set(next, "on_behalf_of", (json_t *)obo);
        ob_status rc = ob_auth_caller(w->hub, next, &c, &e);
        if (rc != OB_OK)
            answer_error(out, rc == OB_EDENIED ? 403 : 400, e.msg);
        else if (ob_session_set_claims(w->sessions, id, rq->now, next, &e) != OB_OK)
            answer_error(out, 401, "no session");
        else
            answer_json(out, 200, describe(w, next, &info));
        json_decref(next);
    }
    json_decref(b);
    json_decref(info.claims);
}

ob_status ob_web_handle(ob_web *w, const ob_web_req *rq, ob_web_resp *out)
{
    memset(out, 0, sizeof *out);
    const char *p = rq->path;
    if (!ob_web_is_auth(p)) {
        page(w, rq, out);
    } else if (strcmp(p, "/auth/session") == 0 && is_read(rq->method)) {
        auth_session(w, rq, out);
    } else if (strcmp(p, "/auth/providers") == 0 && is_read(rq->method)) {
        auth_providers(w, out);
    } else if (strcmp(p, "/auth/login") == 0 && is_read(rq->method)) {
        ob_web_login_start(w, rq, out);
    } else if (strcmp(p, "/auth/callback") == 0 && is_read(rq->method)) {
        ob_web_login_callback(w, rq, out);
    } else if (strcmp(p, "/auth/logout") == 0 && strcmp(rq->method, "POST") == 0) {
        auth_logout(w, rq, out);
    } else if (strcmp(p, "/auth/acts-for") == 0 && strcmp(rq->method, "POST") == 0) {
        acts_for(w, rq, out);
    } else if (strcmp(p, "/auth/dev-login") == 0 && w->dev_login &&
               strcmp(rq->method, "POST") == 0) {
        dev_login(w, rq, out);
    } else if (strcmp(p, "/auth/session") == 0 || strcmp(p, "/auth/providers") == 0 ||
               strcmp(p, "/auth/login") == 0 || strcmp(p, "/auth/callback") == 0 ||
               strcmp(p, "/auth/logout") == 0 || strcmp(p, "/auth/acts-for") == 0 ||
               (strcmp(p, "/auth/dev-login") == 0 && w->dev_login)) {
        answer_error(out, 405, "method not allowed here");
    } else {
        answer_error(out, 404, "no such endpoint");
    }
    return out->status ? OB_OK : OB_ENOMEM;
}

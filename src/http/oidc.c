/* oidc.c - identity providers: configuration, discovery, key sets, claim mapping
 * (oidc.h). HTTP fetches are libcurl's, keys and signatures jwk.c's. */
#include "http/oidc.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "core/alloc.h"

#define MAX_KEYS       16
#define MAX_MAP        12
#define MAX_BODY       (1u << 20)
#define DEFAULT_MIN    5    /* seconds between two fetches of one issuer's keys */
#define DEFAULT_MAXAGE 3600 /* seconds a key set is used before it is fetched again */

typedef struct map_entry {
    char ours[24];
    char theirs[128];
    char prefix[64]; /* "" = none */
} map_entry;

typedef struct issuer {
    char issuer[OB_OIDC_URL_MAX], audience[256], kind[16];
    char jwks_uri[OB_OIDC_URL_MAX]; /* configured (no discovery) or discovered */
    /* the web pages' login (issue 26): "" when this provider is for bearer tokens only */
    char name[64], label[128], client_id[256], client_secret[256], redirect_uri[OB_OIDC_URL_MAX];
    char scope[256];
    bool jwks_fixed, smart;
    map_entry map[MAX_MAP];
    size_t nmap;
    pthread_mutex_t fetch; /* one fetch of this issuer at a time */
    pthread_mutex_t lock;  /* everything below */
    char authorize[OB_OIDC_URL_MAX], token[OB_OIDC_URL_MAX], end_session[OB_OIDC_URL_MAX];
    ob_jwk keys[MAX_KEYS];
    size_t nkeys;
    int64_t tried_at, keys_at; /* last fetch attempt, last success (0 = never) */
    unsigned gen;              /* successful fetches */
} issuer;

struct ob_oidc {
    issuer is[OB_OIDC_MAX_ISSUERS];
    size_t n;
    int64_t refresh_min, max_age;
};

/* ---- configuration ---- */

static const char *const ANY_KIND[] = {"purpose_of_use", "ob_purposes", "scope", NULL};
static const char *const CITIZEN[] = {"cpr", "patient", NULL};
static const char *const PROFESSIONAL[] = {"sub", "site", "on_behalf_of", NULL};
static const char *const SYSTEM[] = {"client_id", "site", NULL};

static bool in_list(const char *const *l, const char *s)
{
    for (; *l; l++)
        if (strcmp(*l, s) == 0)
            return true;
    return false;
}

/* https anywhere; http only to a loopback address (a test's provider). */
static bool url_allowed(const char *url)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL;
    bool ok = false;
    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK)
        ok = strcasecmp(scheme, "https") == 0 ||
             (strcasecmp(scheme, "http") == 0 &&
              (strcmp(host, "127.0.0.1") == 0 || strcmp(host, "[::1]") == 0 ||
               strcasecmp(host, "localhost") == 0));
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return ok;
}

static ob_status copy_str(const json_t *j, const char *what, char *dst, size_t cap, ob_err *e)
{
    const char *s = json_string_value(j);
    if (!s || !s[0] || strlen(s) >= cap)
        return ob_err_set(e, OB_EINVAL, "%s must be a non-empty string under %zu bytes", what, cap);
    snprintf(dst, cap, "%s", s);
    return OB_OK;
}

static ob_status parse_map(issuer *is, const json_t *claims, size_t n, ob_err *e)
{
    const char *const *own = strcmp(is->kind, "citizen") == 0        ? CITIZEN
                             : strcmp(is->kind, "professional") == 0 ? PROFESSIONAL
                                                                     : SYSTEM;
    if (!json_is_object(claims))
        return ob_err_set(e, OB_EINVAL, "issuer %zu: \"claims\" must be an object", n);
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)claims, k, v)
    {
        if (!in_list(own, k) && !in_list(ANY_KIND, k))
            return ob_err_set(e, OB_EINVAL,
                              "issuer %zu: \"%s\" is not a claim a %s caller has (see "
                              "docs/operations.md)",
                              n, k, is->kind);
        if (is->nmap == MAX_MAP)
            return ob_err_set(e, OB_ELIMIT, "issuer %zu: too many claims", n);
        map_entry *m = &is->map[is->nmap++];
        snprintf(m->ours, sizeof m->ours, "%s", k);
        const json_t *name = json_is_object(v) ? json_object_get(v, "claim") : v;
        if (copy_str(name, "a claim's name", m->theirs, sizeof m->theirs, e) != OB_OK)
            return ob_err_wrap(e, "issuer %zu, claim %s: ", n, k);
        if (json_is_object(v)) {
            const json_t *p = json_object_get(v, "prefix");
            if (json_object_size(v) != 1u + (p != NULL) ||
                (p && copy_str(p, "prefix", m->prefix, sizeof m->prefix, e) != OB_OK))
                return ob_err_set(e, OB_EINVAL,
                                  "issuer %zu, claim %s: give {\"claim\": NAME, \"prefix\": TEXT}",
                                  n, k);
        }
    }
    if (!json_object_get(claims, "scope")) { /* SMART's own claim unless mapped otherwise */
        map_entry *m = &is->map[is->nmap++];
        snprintf(m->ours, sizeof m->ours, "scope");
        snprintf(m->theirs, sizeof m->theirs, "scope");
    }
    bool ok = strcmp(is->kind, "citizen") == 0
                  ? json_object_get(claims, "cpr") || json_object_get(claims, "patient")
              : strcmp(is->kind, "professional") == 0
                  ? json_object_get(claims, "sub") && json_object_get(claims, "site")
                  : json_object_get(claims, "client_id") && json_object_get(claims, "site");
    if (!ok)
        return ob_err_set(e, OB_EINVAL, "issuer %zu: a %s issuer must map %s", n, is->kind,
                          strcmp(is->kind, "citizen") == 0        ? "cpr or patient"
                          : strcmp(is->kind, "professional") == 0 ? "sub and site"
                                                                  : "client_id and site");
    return OB_OK;
}

/* A secret kept in a file (client_secret_file): its first line, at most cap - 1 bytes. */
static ob_status read_secret(const char *path, char *dst, size_t cap, ob_err *e)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return ob_err_set(e, OB_EINVAL, "client_secret_file %s cannot be read", path);
    char line[512];
    bool got = fgets(line, sizeof line, f) != NULL;
    fclose(f);
    size_t l = got ? strcspn(line, "\r\n") : 0;
    line[l] = '\0';
    if (!l || l >= cap) {
        sodium_memzero(line, sizeof line);
        return ob_err_set(e, OB_EINVAL, "client_secret_file %s holds no usable secret", path);
    }
    memcpy(dst, line, l + 1); /* l < cap: checked above */
    sodium_memzero(line, sizeof line);
    return OB_OK;
}

/* The web login's settings of one provider (issue 26): name (default: its kind), label,
 * client_id, client_secret or client_secret_file, redirect_uri, scope (default "openid").
 * All or none of client_id, a secret and redirect_uri. */
static ob_status parse_login(issuer *is, const json_t *j, size_t n, ob_err *e)
{
    const json_t *nm = json_object_get(j, "name"), *lb = json_object_get(j, "label");
    const json_t *ci = json_object_get(j, "client_id"), *cs = json_object_get(j, "client_secret");
    const json_t *cf = json_object_get(j, "client_secret_file");
    const json_t *ru = json_object_get(j, "redirect_uri"), *sc = json_object_get(j, "scope");
    snprintf(is->name, sizeof is->name, "%s", is->kind);
    snprintf(is->scope, sizeof is->scope, "openid");
    if ((nm && copy_str(nm, "name", is->name, sizeof is->name, e)) ||
        (lb && copy_str(lb, "label", is->label, sizeof is->label, e)) ||
        (sc && copy_str(sc, "scope", is->scope, sizeof is->scope, e)))
        return ob_err_wrap(e, "issuer %zu: ", n);
    for (const char *p = is->name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
            return ob_err_set(e, OB_EINVAL,
                              "issuer %zu: a name is lower-case letters, digits, - and _", n);
    if (!ci && !cs && !cf && !ru) {
        is->label[0] = '\0'; /* not a login provider */
        return OB_OK;
    }
    if (!ci || !ru || (!cs == !cf))
        return ob_err_set(e, OB_EINVAL,
                          "issuer %zu: a login provider needs client_id, redirect_uri and one of "
                          "client_secret or client_secret_file",
                          n);
    if (copy_str(ci, "client_id", is->client_id, sizeof is->client_id, e) ||
        copy_str(ru, "redirect_uri", is->redirect_uri, sizeof is->redirect_uri, e))
        return ob_err_wrap(e, "issuer %zu: ", n);
    if (cs && copy_str(cs, "client_secret", is->client_secret, sizeof is->client_secret, e))
        return ob_err_wrap(e, "issuer %zu: ", n);
    char path[1024];
    if (cf && (copy_str(cf, "client_secret_file", path, sizeof path, e) ||
               read_secret(path, is->client_secret, sizeof is->client_secret, e)))
        return ob_err_wrap(e, "issuer %zu: ", n);
    if (strchr(is->client_id, ':'))
        return ob_err_set(e, OB_EINVAL, "issuer %zu: client_id must not contain ':'", n);
    if (strncmp(is->redirect_uri, "https://", 8) != 0 &&
        strncmp(is->redirect_uri, "http://127.0.0.1", 16) != 0 &&
        strncmp(is->redirect_uri, "http://localhost", 16) != 0)
        return ob_err_set(e, OB_EINVAL,
                          "issuer %zu: redirect_uri must be https (http on loopback only)", n);
    size_t rl = strlen(is->redirect_uri);
    if (rl < 14 || strcmp(is->redirect_uri + rl - 14, "/auth/callback") != 0)
        return ob_err_set(e, OB_EINVAL,
                          "issuer %zu: redirect_uri must be this server's /auth/callback", n);
    return OB_OK;
}

static ob_status parse_issuer(ob_oidc *o, const json_t *j, size_t n, ob_err *e)
{
    issuer *is = &o->is[n];
    if (!json_is_object(j))
        return ob_err_set(e, OB_EINVAL, "issuer %zu is not an object", n);
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)j, k, v)
    {
        if (strcmp(k, "issuer") && strcmp(k, "audience") && strcmp(k, "kind") &&
            strcmp(k, "claims") && strcmp(k, "smart") && strcmp(k, "jwks_uri") &&
            strcmp(k, "name") && strcmp(k, "label") && strcmp(k, "client_id") &&
            strcmp(k, "client_secret") && strcmp(k, "client_secret_file") &&
            strcmp(k, "redirect_uri") && strcmp(k, "scope"))
            return ob_err_set(e, OB_EINVAL, "issuer %zu: unknown setting \"%s\"", n, k);
    }
    if (copy_str(json_object_get(j, "issuer"), "issuer", is->issuer, sizeof is->issuer, e) ||
        copy_str(json_object_get(j, "audience"), "audience", is->audience, sizeof is->audience,
                 e) ||
        copy_str(json_object_get(j, "kind"), "kind", is->kind, sizeof is->kind, e))
        return ob_err_wrap(e, "issuer %zu: ", n);
    if (strcmp(is->kind, "citizen") && strcmp(is->kind, "professional") &&
        strcmp(is->kind, "system"))
        return ob_err_set(e, OB_EINVAL, "issuer %zu: kind must be citizen, professional or system",
                          n);
    if (!url_allowed(is->issuer))
        return ob_err_set(e, OB_EINVAL,
                          "issuer %zu: the issuer must be an https URL (http only on loopback)", n);
    const json_t *ju = json_object_get(j, "jwks_uri");
    if (ju) {
        if (copy_str(ju, "jwks_uri", is->jwks_uri, sizeof is->jwks_uri, e) != OB_OK)
            return ob_err_wrap(e, "issuer %zu: ", n);
        if (!url_allowed(is->jwks_uri))
            return ob_err_set(e, OB_EINVAL, "issuer %zu: jwks_uri must be https (http on loopback)",
                              n);
        is->jwks_fixed = true;
    }
    const json_t *sm = json_object_get(j, "smart");
    if (sm && !json_is_boolean(sm))
        return ob_err_set(e, OB_EINVAL, "issuer %zu: smart must be true or false", n);
    is->smart = json_is_true(sm);
    for (size_t m = 0; m < n; m++)
        if (strcmp(o->is[m].issuer, is->issuer) == 0)
            return ob_err_set(e, OB_EINVAL, "issuer %zu repeats issuer %zu", n, m);
    if (parse_login(is, j, n, e) != OB_OK)
        return OB_EINVAL;
    /* an unnamed provider whose kind names another already is "<kind>-<n>" */
    bool renamed = json_object_get(j, "name") != NULL;
    for (size_t m = 0; m < n; m++) {
        if (strcmp(o->is[m].name, is->name) != 0)
            continue;
        if (renamed)
            return ob_err_set(e, OB_EINVAL,
                              "issuer %zu has the name \"%s\" of issuer %zu: give each a "
                              "\"name\"",
                              n, is->name, m);
        char unique[sizeof is->name];
        snprintf(unique, sizeof unique, "%.40s-%zu", is->kind, n);
        memcpy(is->name, unique, sizeof unique);
        renamed = true;
        m = (size_t)-1; /* look again from the first */
    }
    if (is->client_id[0] && !is->label[0]) /* the login page's text: its name by default */
        memcpy(is->label, is->name, strlen(is->name) + 1); /* name < 64 < sizeof label */
    return parse_map(is, json_object_get(j, "claims"), n, e);
}

static ob_status seconds(const json_t *cfg, const char *name, int64_t dflt, int64_t lo, int64_t hi,
                         int64_t *out, ob_err *e)
{
    const json_t *v = json_object_get(cfg, name);
    *out = dflt;
    if (!v)
        return OB_OK;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return ob_err_set(e, OB_EINVAL, "%s must be a whole number of seconds from %lld to %lld",
                          name, (long long)lo, (long long)hi);
    *out = (int64_t)json_integer_value(v);
    return OB_OK;
}

ob_status ob_oidc_new(const json_t *cfg, ob_oidc **out, ob_err *e)
{
    *out = NULL;
    const json_t *list = json_object_get(cfg, "issuers");
    if (!json_is_object(cfg) || !json_is_array(list) || json_array_size(list) == 0)
        return ob_err_set(e, OB_EINVAL, "the identity provider settings need an \"issuers\" array");
    if (json_array_size(list) > OB_OIDC_MAX_ISSUERS)
        return ob_err_set(e, OB_ELIMIT, "at most %d issuers", OB_OIDC_MAX_ISSUERS);
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)cfg, k, v)
    {
        if (strcmp(k, "issuers") && strcmp(k, "refresh_min_seconds") &&
            strcmp(k, "max_age_seconds"))
            return ob_err_set(e, OB_EINVAL, "unknown setting \"%s\"", k);
    }
    ob_oidc *o = ob_calloc(1, sizeof *o);
    if (!o)
        return ob_err_set(e, OB_ENOMEM, "out of memory");
    /* libcurl's global set-up is not thread-safe: done here, before any request thread */
    curl_global_init(CURL_GLOBAL_DEFAULT);
    ob_status rc = seconds(cfg, "refresh_min_seconds", DEFAULT_MIN, 1, 3600, &o->refresh_min, e);
    if (rc == OB_OK)
        rc = seconds(cfg, "max_age_seconds", DEFAULT_MAXAGE, 60, 86400, &o->max_age, e);
    for (size_t i = 0; rc == OB_OK && i < json_array_size(list); i++) {
        rc = parse_issuer(o, json_array_get(list, i), i, e);
        pthread_mutex_init(&o->is[i].fetch, NULL);
        pthread_mutex_init(&o->is[i].lock, NULL);
        o->n = i + 1;
    }
    if (rc != OB_OK) {
        ob_oidc_free(o);
        return rc;
    }
    *out = o;
    return OB_OK;
}

ob_status ob_oidc_load(const char *path, ob_oidc **out, ob_err *e)
{
    json_error_t je;
    *out = NULL;
    json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!j)
        return ob_err_set(e, OB_EINVAL, "%s: not readable JSON (line %d: %s)", path, je.line,
                          je.text);
    ob_status rc = ob_oidc_new(j, out, e);
    json_decref(j);
    if (rc != OB_OK)
        ob_err_wrap(e, "%s: ", path);
    return rc;
}

void ob_oidc_free(ob_oidc *o)
{
    if (!o)
        return;
    for (size_t i = 0; i < o->n; i++) {
        for (size_t k = 0; k < o->is[i].nkeys; k++)
            ob_jwk_clear(&o->is[i].keys[k]);
        pthread_mutex_destroy(&o->is[i].fetch);
        pthread_mutex_destroy(&o->is[i].lock);
    }
    ob_free(o);
}

size_t ob_oidc_count(const ob_oidc *o)
{
    return o ? o->n : 0;
}

int ob_oidc_find(const ob_oidc *o, const char *iss)
{
    for (size_t i = 0; o && iss && i < o->n; i++)
        if (strcmp(o->is[i].issuer, iss) == 0)
            return (int)i;
    return -1;
}

const char *ob_oidc_audience(const ob_oidc *o, int i)
{
    return o->is[i].audience;
}

const char *ob_oidc_name(const ob_oidc *o, int i)
{
    return o && i >= 0 && (size_t)i < o->n ? o->is[i].name : NULL;
}

const char *ob_oidc_kind(const ob_oidc *o, int i)
{
    return o && i >= 0 && (size_t)i < o->n ? o->is[i].kind : NULL;
}

const char *ob_oidc_label(const ob_oidc *o, int i)
{
    return o && i >= 0 && (size_t)i < o->n && o->is[i].client_id[0] ? o->is[i].label : NULL;
}

int ob_oidc_find_name(const ob_oidc *o, const char *name)
{
    for (size_t i = 0; o && name && i < o->n; i++)
        if (strcmp(o->is[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* ---- fetching ---- */

typedef struct body {
    char *buf;
    size_t len;
} body;

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
    body *b = arg;
    size_t add = size * n;
    if (b->len + add > MAX_BODY)
        return 0; /* aborts the transfer */
    char *nb = ob_realloc(b->buf, b->len + add + 1);
    if (!nb)
        return 0;
    memcpy(nb + b->len, p, add);
    b->buf = nb;
    b->len += add;
    return add;
}

/* GET url (form NULL), or POST the form to it with HTTP Basic client authentication
 * (user, pass: already form-urlencoded, RFC 6749 2.3.1), as JSON: 200 (or, for a POST,
 * 400 and 401 too, whose JSON says why), at most 1 MiB, no redirects, 2 s to connect, 5 s
 * in all. *status gets the HTTP status when not NULL. */
static ob_status fetch_json(const char *url, const char *form, const char *user, const char *pass,
                            long *status_out, json_t **out, ob_err *e)
{
    *out = NULL;
    if (!url_allowed(url))
        return ob_err_set(e, OB_EINVAL, "%s is not https (http only on loopback)", url);
    CURL *c = curl_easy_init();
    if (!c)
        return ob_err_set(e, OB_ENOMEM, "out of memory");
    body b = {0};
    struct curl_slist *hdr = curl_slist_append(NULL, "Accept: application/json");
    if (form) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, form);
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(c, CURLOPT_USERNAME, user);
        curl_easy_setopt(c, CURLOPT_PASSWORD, pass);
        hdr = curl_slist_append(hdr, "Content-Type: application/x-www-form-urlencoded");
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "overblik");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    CURLcode cc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    curl_slist_free_all(hdr);
    ob_status rc = OB_OK;
    if (status_out)
        *status_out = status;
    if (cc != CURLE_OK)
        rc = ob_err_set(e, OB_EIO, "%s: %s", url, curl_easy_strerror(cc));
    else if (status != 200 && !(form && (status == 400 || status == 401)))
        rc = ob_err_set(e, OB_EIO, "%s answered HTTP %ld", url, status);
    else if (!(*out = json_loadb(b.buf ? b.buf : "", b.len, JSON_REJECT_DUPLICATES, NULL)) ||
             !json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        rc = ob_err_set(e, OB_EINVAL, "%s did not answer a JSON object", url);
    }
    ob_free(b.buf);
    return rc;
}

static ob_status get_json(const char *url, json_t **out, ob_err *e)
{
    return fetch_json(url, NULL, NULL, NULL, NULL, out, e);
}

/* Discovery (unless jwks_uri is configured) and the key set; the fetch lock is held. On
 * success the new keys replace the old at once; on failure the old ones stay. */
static ob_status refresh(issuer *is, int64_t now, ob_err *e)
{
    char jwks_uri[OB_OIDC_URL_MAX], authz[OB_OIDC_URL_MAX] = "", tok[OB_OIDC_URL_MAX] = "";
    char endses[OB_OIDC_URL_MAX] = "";
    pthread_mutex_lock(&is->lock);
    is->tried_at = now;
    snprintf(jwks_uri, sizeof jwks_uri, "%s", is->jwks_uri);
    pthread_mutex_unlock(&is->lock);
    json_t *j = NULL;
    ob_status rc = OB_OK;
    if (!is->jwks_fixed) {
        char url[OB_OIDC_URL_MAX + 64];
        size_t l = strlen(is->issuer);
        snprintf(url, sizeof url, "%.*s/.well-known/openid-configuration",
                 (int)(l && is->issuer[l - 1] == '/' ? l - 1 : l), is->issuer);
        if ((rc = get_json(url, &j, e)) != OB_OK)
            return rc;
        const char *iss = json_string_value(json_object_get(j, "issuer"));
        const char *ju = json_string_value(json_object_get(j, "jwks_uri"));
        const char *az = json_string_value(json_object_get(j, "authorization_endpoint"));
        const char *tk = json_string_value(json_object_get(j, "token_endpoint"));
        const char *es = json_string_value(json_object_get(j, "end_session_endpoint"));
        /* OIDC Discovery 4.3: the document's issuer is exactly the one asked for */
        if (!iss || strcmp(iss, is->issuer) != 0)
            rc = ob_err_set(e, OB_EINVAL, "%s names another issuer", url);
        else if (!ju || strlen(ju) >= sizeof jwks_uri || !url_allowed(ju))
            rc = ob_err_set(e, OB_EINVAL, "%s has no usable jwks_uri (https)", url);
        else {
            snprintf(jwks_uri, sizeof jwks_uri, "%s", ju);
            if (az && tk && strlen(az) < sizeof authz && strlen(tk) < sizeof tok) {
                snprintf(authz, sizeof authz, "%s", az);
                snprintf(tok, sizeof tok, "%s", tk);
            }
            if (es && strlen(es) < sizeof endses && url_allowed(es))
                snprintf(endses, sizeof endses, "%s", es);
        }
        json_decref(j);
        j = NULL;
        if (rc != OB_OK)
            return rc;
    }
    if ((rc = get_json(jwks_uri, &j, e)) != OB_OK)
        return rc;
    const json_t *keys = json_object_get(j, "keys");
    ob_jwk next[MAX_KEYS];
    size_t n = 0;
    if (!json_is_array(keys))
        rc = ob_err_set(e, OB_EINVAL, "%s: no \"keys\" array", jwks_uri);
    for (size_t i = 0; rc == OB_OK && i < json_array_size(keys); i++) {
        ob_err ke = {0};
        ob_jwk k;
        if (ob_jwk_parse(json_array_get(keys, i), &k, &ke) != OB_OK)
            continue; /* encryption keys and the like: not ours to use */
        for (size_t m = 0; m < n; m++)
            if (strcmp(next[m].kid, k.kid) == 0) /* which one would a token mean? */
                rc = ob_err_set(e, OB_EINVAL, "%s: two keys share a kid", jwks_uri);
        if (rc == OB_OK && n == MAX_KEYS)
            rc = ob_err_set(e, OB_ELIMIT, "%s: more than %d signing keys", jwks_uri, MAX_KEYS);
        if (rc != OB_OK)
            ob_jwk_clear(&k);
        else
            next[n++] = k;
    }
    if (rc == OB_OK && n == 0)
        rc = ob_err_set(e, OB_EINVAL, "%s: no ES256, RS256 or EdDSA signing key", jwks_uri);
    json_decref(j);
    if (rc != OB_OK) {
        for (size_t m = 0; m < n; m++)
            ob_jwk_clear(&next[m]);
        return rc;
    }
    ob_jwk old[MAX_KEYS];
    pthread_mutex_lock(&is->lock);
    size_t nold = is->nkeys;
    memcpy(old, is->keys, sizeof old);
    memcpy(is->keys, next, sizeof next);
    is->nkeys = n;
    snprintf(is->jwks_uri, sizeof is->jwks_uri, "%s", jwks_uri);
    if (authz[0]) {
        snprintf(is->authorize, sizeof is->authorize, "%s", authz);
        snprintf(is->token, sizeof is->token, "%s", tok);
        snprintf(is->end_session, sizeof is->end_session, "%s", endses);
    }
    is->keys_at = now;
    is->gen++;
    pthread_mutex_unlock(&is->lock);
    for (size_t m = 0; m < nold; m++)
        ob_jwk_clear(&old[m]);
    return OB_OK;
}

size_t ob_oidc_refresh_all(ob_oidc *o, int64_t now, void (*report)(void *arg, const char *msg),
                           void *arg)
{
    size_t good = 0;
    for (size_t i = 0; o && i < o->n; i++) {
        ob_err e = {0};
        pthread_mutex_lock(&o->is[i].fetch);
        ob_status rc = refresh(&o->is[i], now, &e);
        pthread_mutex_unlock(&o->is[i].fetch);
        if (rc == OB_OK)
            good++;
        else if (report) {
            char msg[sizeof e.msg + OB_OIDC_URL_MAX + 64];
            snprintf(msg, sizeof msg, "identity provider %s has no keys yet: %s", o->is[i].issuer,
                     e.msg);
            report(arg, msg);
        }
    }
    return good;
}

/* Looks kid up; true with a copy when found. *gen, *stale, *may describe the set. */
static bool lookup(ob_oidc *o, issuer *is, const char *kid, int64_t now, ob_jwk *out, unsigned *gen,
                   bool *stale, bool *may)
{
    bool found = false;
    pthread_mutex_lock(&is->lock);
    for (size_t k = 0; kid && k < is->nkeys && !found; k++)
        if (strcmp(is->keys[k].kid, kid) == 0) {
            ob_jwk_copy(out, &is->keys[k]);
            found = true;
        }
    *gen = is->gen;
    *stale = is->keys_at == 0 || now - is->keys_at >= o->max_age;
    *may = is->tried_at == 0 || now - is->tried_at >= o->refresh_min;
    pthread_mutex_unlock(&is->lock);
    return found;
}

ob_status ob_oidc_key(ob_oidc *o, int i, const char *kid, int64_t now, ob_jwk *out, ob_err *e)
{
    issuer *is = &o->is[i];
    unsigned gen;
    bool stale, may;
    memset(out, 0, sizeof *out);
    if (!kid) /* never worth a fetch */
        return ob_err_set(e, OB_ENOTFOUND, "token header has no key id (kid)");
    if (lookup(o, is, kid, now, out, &gen, &stale, &may)) {
        /* a known key of an old set: this request refreshes it if no other is already */
        if (stale && may && pthread_mutex_trylock(&is->fetch) == 0) {
            ob_err fe = {0};
            refresh(is, now, &fe);
            pthread_mutex_unlock(&is->fetch);
        }
        return OB_OK;
    }
    /* unknown kid: perhaps the provider rotated its keys. One request fetches; others
     * asking meanwhile wait for it and look again. */
    pthread_mutex_lock(&is->fetch);
    unsigned gen2;
    if (!lookup(o, is, kid, now, out, &gen2, &stale, &may) && gen2 == gen && may) {
        ob_err fe = {0};
        refresh(is, now, &fe);
        lookup(o, is, kid, now, out, &gen2, &stale, &may);
    }
    pthread_mutex_unlock(&is->fetch);
    if (out->pkey)
        return OB_OK;
    return ob_err_set(e, OB_ENOTFOUND, "token key id (kid) is not a key of its issuer");
}

/* ---- claims ---- */

ob_status ob_oidc_map(const ob_oidc *o, int i, const json_t *claims, json_t **out, ob_err *e)
{
    const issuer *is = &o->is[i];
    *out = NULL;
    json_t *m = json_object();
    if (!m || json_object_set_new(m, "ob_kind", json_string(is->kind)))
        goto oom;
    static const char *const copied[] = {"iss", "jti", "exp", "nbf", "iat", "cnf"};
    for (size_t k = 0; k < sizeof copied / sizeof *copied; k++) {
        json_t *v = json_object_get(claims, copied[k]);
        if (v && json_object_set(m, copied[k], v))
            goto oom;
    }
    for (size_t k = 0; k < is->nmap; k++) {
        const map_entry *me = &is->map[k];
        json_t *v = json_object_get(claims, me->theirs);
        if (!v)
            continue; /* the caller's checks say what is missing */
        if (me->prefix[0]) {
            const char *s = json_string_value(v);
            size_t pl = strlen(me->prefix);
            if (!s || strncmp(s, me->prefix, pl) != 0 || !s[pl]) {
                json_decref(m);
                return ob_err_set(e, OB_EINVAL,
                                  "the token's %s claim does not have the configured form",
                                  me->theirs);
            }
            if (json_object_set_new(m, me->ours, json_string(s + pl)))
                goto oom;
        } else if (json_object_set(m, me->ours, v))
            goto oom;
    }
    *out = m;
    return OB_OK;
oom:
    json_decref(m);
    return ob_err_set(e, OB_ENOMEM, "out of memory");
}

/* ---- the web pages' login (issue 26) ---- */

bool ob_oidc_login_endpoints(ob_oidc *o, int i, int64_t now, char *authorize, char *token,
                             char *end_session, size_t cap)
{
    if (!o || i < 0 || (size_t)i >= o->n || !o->is[i].client_id[0])
        return false;
    issuer *is = &o->is[i];
    pthread_mutex_lock(&is->lock);
    bool known = is->authorize[0] != 0;
    bool may = is->tried_at == 0 || now - is->tried_at >= o->refresh_min;
    pthread_mutex_unlock(&is->lock);
    if (!known && may) {
        pthread_mutex_lock(&is->fetch);
        ob_err fe = {0};
        refresh(is, now, &fe);
        pthread_mutex_unlock(&is->fetch);
    }
    pthread_mutex_lock(&is->lock);
    known = is->authorize[0] != 0 && is->token[0] != 0;
    snprintf(authorize, cap, "%s", is->authorize);
    snprintf(token, cap, "%s", is->token);
    snprintf(end_session, cap, "%s", is->end_session);
    pthread_mutex_unlock(&is->lock);
    return known;
}

void ob_oidc_client(const ob_oidc *o, int i, const char **client_id, const char **redirect_uri,
                    const char **scope)
{
    *client_id = o->is[i].client_id;
    *redirect_uri = o->is[i].redirect_uri;
    *scope = o->is[i].scope;
}

const char *ob_oidc_issuer(const ob_oidc *o, int i)
{
    return o->is[i].issuer;
}

ob_status ob_oidc_exchange(ob_oidc *o, int i, const char *code, const char *verifier, int64_t now,
                           json_t **out, ob_err *e)
{
    *out = NULL;
    char authz[OB_OIDC_URL_MAX], token[OB_OIDC_URL_MAX], ends[OB_OIDC_URL_MAX];
    if (!ob_oidc_login_endpoints(o, i, now, authz, token, ends, OB_OIDC_URL_MAX))
        return ob_err_set(e, OB_EIO, "the identity provider's token endpoint is not known");
    issuer *is = &o->is[i];
    CURL *c = curl_easy_init();
    char *ecode = c ? curl_easy_escape(c, code, 0) : NULL;
    char *ever = c ? curl_easy_escape(c, verifier, 0) : NULL;
    char *eredir = c ? curl_easy_escape(c, is->redirect_uri, 0) : NULL;
    char *eid = c ? curl_easy_escape(c, is->client_id, 0) : NULL;
    char *esec = c ? curl_easy_escape(c, is->client_secret, 0) : NULL;
    char *form = NULL;
    ob_status rc = OB_OK;
    if (!ecode || !ever || !eredir || !eid || !esec) {
        rc = ob_err_set(e, OB_ENOMEM, "out of memory");
        goto out;
    }
    size_t n = strlen(ecode) + strlen(ever) + strlen(eredir) + 96;
    if (!(form = ob_malloc(n))) {
        rc = ob_err_set(e, OB_ENOMEM, "out of memory");
        goto out;
    }
    snprintf(form, n, "grant_type=authorization_code&code=%s&redirect_uri=%s&code_verifier=%s",
             ecode, eredir, ever);
    long status = 0;
    json_t *j = NULL;
    rc = fetch_json(token, form, eid, esec, &status, &j, e);
    if (rc == OB_OK && status != 200) {
        const char *err = json_string_value(json_object_get(j, "error"));
        char why[64];
        snprintf(why, sizeof why, "%s", err ? err : "no error code");
        for (char *p = why; *p; p++) /* the provider's words: printable only */
            if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
                *p = '?';
        rc = ob_err_set(e, OB_EDENIED, "the identity provider refused the code (HTTP %ld, %s)",
                        status, why);
        json_decref(j);
        j = NULL;
    }
    *out = j;
out:
    if (form) {
        sodium_memzero(form, strlen(form));
        ob_free(form);
    }
    if (esec)
        sodium_memzero(esec, strlen(esec));
    curl_free(ecode);
    curl_free(ever);
    curl_free(eredir);
    curl_free(eid);
    curl_free(esec);
    if (c)
        curl_easy_cleanup(c);
    return rc;
}

bool ob_oidc_smart(ob_oidc *o, int64_t now, char *authorize, char *token, char *issuer_out,
                   size_t cap)
{
    for (size_t i = 0; o && i < o->n; i++) {
        issuer *is = &o->is[i];
        if (!is->smart)
            continue;
        pthread_mutex_lock(&is->lock);
        bool known = is->authorize[0] != 0;
        bool may = is->tried_at == 0 || now - is->tried_at >= o->refresh_min;
        pthread_mutex_unlock(&is->lock);
        if (!known && may && pthread_mutex_trylock(&is->fetch) == 0) {
            ob_err fe = {0};
            refresh(is, now, &fe);
            pthread_mutex_unlock(&is->fetch);
        }
        pthread_mutex_lock(&is->lock);
        known = is->authorize[0] != 0;
        snprintf(authorize, cap, "%s", is->authorize);
        snprintf(token, cap, "%s", is->token);
        snprintf(issuer_out, cap, "%s", is->issuer);
        pthread_mutex_unlock(&is->lock);
        return known;
    }
    return false;
}

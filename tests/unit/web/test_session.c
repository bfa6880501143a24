/* test_session.c - the web pages' sessions (issue 26, src/web/session.c, src/web/web.c):
 * the store (idle and absolute expiry, logout, one use of a pending login, fresh ids), the
 * CSRF rules the FHIR API applies to a session (docs/security.md T-WEB-*), the cookie's
 * flags, a cookie beside a bearer token refused, the development login off by default,
 * and the parsers (cookie header, page paths). Table-driven where the cases are rows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "core/time.h"
#include "web/session.h"
#include "web/web.h"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

static const char *const records[] = {
    "{\"type\":\"org\",\"id\":\"gp-1\",\"kind\":\"gp_clinic\",\"name\":\"Lægerne "
    "Roskilde\",\"provider_number\":\"100007\"}",
    "{\"type\":\"professional\",\"id\":\"gp-1-dr0\",\"name\":\"Anne "
    "Holm\",\"role\":\"doctor\",\"authorisation_id\":\"0A1B2\",\"sites\":[\"gp-1\"]}",
    "{\"type\":\"patient\",\"id\":\"pt-0\",\"name\":\"Camilla "
    "Christensen\",\"cpr\":\"010190-1234\",\"gp\":\"gp-1\"}",
    /* an assistant whom gp-1's management granted technical assistance (R-ACC-3) */
    "{\"type\":\"professional\",\"id\":\"gp-1-sec0\",\"name\":\"Bo "
    "Dal\",\"role\":\"secretary\",\"sites\":[\"gp-1\"]}",
    "{\"type\":\"permission\",\"professional\":\"gp-1-sec0\",\"site\":\"gp-1\",\"kind\":"
    "\"assist\",\"from\":\"2020-01-01\"}",
};

static struct {
    char db[512], keyfile[600];
    ob_hub *hub;
    int64_t now;
} F;

static json_t *next_record(void *ctx, size_t *line, ob_err *e)
{
    size_t *i = ctx;
    (void)e;
    *line = *i + 1;
    if (*i < sizeof records / sizeof records[0])
        return json_loads(records[(*i)++], 0, NULL);
    return NULL;
}

static int setup(void **state)
{
    (void)state;
    assert_true(sodium_init() >= 0);
    const char *dir = getenv("TMPDIR");
    snprintf(F.db, sizeof F.db, "%s/obweb-%ld-%u.db", dir ? dir : "/tmp", (long)getpid(),
             (unsigned)randombytes_random());
    ob_hub_key_path(F.db, F.keyfile, sizeof F.keyfile);
    ob_keys k;
    ob_err e = {0};
    assert_int_equal(ob_keys_generate(&k, &e), OB_OK);
    assert_int_equal(ob_keys_save(&k, F.keyfile, &e), OB_OK);
    ob_hub_options ho = {F.db, F.keyfile, false, NULL};
    assert_int_equal(ob_hub_open(&ho, &F.hub, &e), OB_OK);
    size_t i = 0, count = 0;
    assert_int_equal(ob_hub_import(F.hub, next_record, &i, NULL, NULL, &count, &e), OB_OK);
    F.now = (int64_t)ob_time_now();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ob_hub_close(F.hub);
    char p[700];
    const char *suffix[] = {"", "-wal", "-shm", "-logindex", ".cpr-key", ".log-key", ".log-pub"};
    for (size_t i = 0; i < sizeof suffix / sizeof *suffix; i++) {
        snprintf(p, sizeof p, "%s%s", F.db, suffix[i]);
        unlink(p);
    }
    unlink(F.keyfile);
    return 0;
}

/* ---- the store ---- */

static json_t *citizen(void)
{
    return json_pack("{s:s, s:s}", "ob_kind", "citizen", "patient", "pt-0");
}

static void test_store_expiry(void **state)
{
    (void)state;
    ob_sessions *s;
    ob_err e = {0};
    assert_int_equal(ob_sessions_new(0, 0, 0, &s, &e), OB_OK);
    json_t *cl = citizen();
    char id[OB_SESSION_ID_LEN + 1], id2[OB_SESSION_ID_LEN + 1];
    ob_session_info in, got;
    int64_t t0 = 1000000;
    assert_int_equal(ob_session_create(s, cl, false, -1, t0, id, &in, &e), OB_OK);
    assert_int_equal(strlen(id), OB_SESSION_ID_LEN);
    assert_int_equal(in.expires, t0 + OB_SESSION_IDLE);
    /* a second login never gets the same id (no fixation); nor the same CSRF token */
    assert_int_equal(ob_session_create(s, cl, false, -1, t0, id2, &got, &e), OB_OK);
    assert_string_not_equal(id, id2);
    assert_string_not_equal(in.csrf, got.csrf);
    json_decref(in.claims);
    json_decref(got.claims);
    /* idle: used 14:59 later it lives; 15:00 after its last use it is gone */
    assert_int_equal(ob_session_get(s, id, t0 + OB_SESSION_IDLE - 1, &got, &e), OB_OK);
    assert_true(json_equal(got.claims, cl));
    json_decref(got.claims);
    assert_int_equal(ob_session_get(s, id2, t0 + OB_SESSION_IDLE, &got, &e), OB_ENOTFOUND);
    assert_int_equal(ob_session_get(s, id2, t0, &got, &e), OB_ENOTFOUND); /* removed */
    /* absolute: used every 10 minutes, it still ends 8 hours after login */
    int64_t t = t0 + OB_SESSION_IDLE - 1;
    for (; t + 600 < t0 + OB_SESSION_MAX; t += 600) {
        assert_int_equal(ob_session_get(s, id, t, &got, &e), OB_OK);
        assert_true(got.expires <= t0 + OB_SESSION_MAX);
        json_decref(got.claims);
    }
    assert_int_equal(ob_session_get(s, id, t0 + OB_SESSION_MAX, &got, &e), OB_ENOTFOUND);
    /* logout */
    assert_int_equal(ob_session_create(s, cl, false, -1, t0, id, &in, &e), OB_OK);
    json_decref(in.claims);
    assert_int_equal(ob_session_end(s, id, &e), OB_OK);
    assert_int_equal(ob_session_get(s, id, t0, &got, &e), OB_ENOTFOUND);
    assert_int_equal(ob_session_end(s, id, &e), OB_ENOTFOUND);
    /* ids of another shape are not looked up */
    assert_int_equal(ob_session_get(s, "short", t0, &got, &e), OB_ENOTFOUND);
    json_decref(cl);
    ob_sessions_free(s);
}

/* T-WEB-40: one person's logins hold at most OB_SESSION_PER_PERSON sessions (a login beyond
 * ends their least recently used one); another person's sessions are untouched */
static void test_store_person(void **state)
{
    (void)state;
    ob_sessions *s;
    ob_err e = {0};
    assert_int_equal(ob_sessions_new(0, 0, 0, &s, &e), OB_OK);
    json_t *cl = citizen(),
           *other = json_pack("{s:s, s:s}", "ob_kind", "citizen", "patient", "pt-1");
    char ids[OB_SESSION_PER_PERSON + 1][OB_SESSION_ID_LEN + 1], o[OB_SESSION_ID_LEN + 1];
    ob_session_info in;
    int64_t t0 = 1000000;
    assert_int_equal(ob_session_create(s, other, false, -1, t0, o, &in, &e), OB_OK);
    json_decref(in.claims);
    for (int i = 0; i <= OB_SESSION_PER_PERSON; i++) {
        assert_int_equal(ob_session_create(s, cl, false, -1, t0 + i, ids[i], &in, &e), OB_OK);
        json_decref(in.claims);
    }
    assert_int_equal(ob_session_get(s, ids[0], t0 + 100, &in, &e), OB_ENOTFOUND);
    for (int i = 1; i <= OB_SESSION_PER_PERSON; i++) {
        assert_int_equal(ob_session_get(s, ids[i], t0 + 100, &in, &e), OB_OK);
        json_decref(in.claims);
    }
    assert_int_equal(ob_session_get(s, o, t0 + 100, &in, &e), OB_OK);
    json_decref(in.claims);
    assert_int_equal(ob_session_count(s, t0 + 100), OB_SESSION_PER_PERSON + 1);
    json_decref(cl);
    json_decref(other);
    ob_sessions_free(s);
}

static void test_store_csrf(void **state)
{
    (void)state;
    ob_session_info in = {0};
    snprintf(in.csrf, sizeof in.csrf, "%s", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    assert_true(ob_session_csrf_ok(&in, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
    assert_false(ob_session_csrf_ok(&in, NULL));
    assert_false(ob_session_csrf_ok(&in, ""));
    assert_false(ob_session_csrf_ok(&in, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB"));
    assert_false(ob_session_csrf_ok(&in, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
    in.csrf[0] = '\0'; /* a session without a token accepts none */
    assert_false(ob_session_csrf_ok(&in, ""));
}

static void test_store_login(void **state)
{
    (void)state;
    ob_sessions *s;
    ob_err e = {0};
    assert_int_equal(ob_sessions_new(0, 0, 2, &s, &e), OB_OK);
    char id[OB_SESSION_ID_LEN + 1], id2[OB_SESSION_ID_LEN + 1], id3[OB_SESSION_ID_LEN + 1];
    ob_login_pending p, q;
    assert_int_equal(ob_login_start(s, 1, NULL, 100, id, &p, &e), OB_OK);
    assert_int_equal(strlen(p.state), OB_SESSION_ID_LEN);
    assert_string_not_equal(p.state, p.nonce);
    assert_string_not_equal(p.nonce, p.verifier);
    /* bounded: a third pending login is refused, not an old one dropped */
    assert_int_equal(ob_login_start(s, 1, NULL, 100, id2, &q, &e), OB_OK);
    assert_int_equal(ob_login_start(s, 1, NULL, 100, id3, &q, &e), OB_ELIMIT);
    /* taken once */
    assert_int_equal(ob_login_take(s, id, 150, &q, &e), OB_OK);
    assert_string_equal(q.state, p.state);
    assert_string_equal(q.verifier, p.verifier);
    assert_int_equal(q.issuer, 1);
    assert_int_equal(ob_login_take(s, id, 150, &q, &e), OB_ENOTFOUND);
    /* at most 10 minutes */
    assert_int_equal(ob_login_take(s, id2, 100 + OB_LOGIN_TTL, &q, &e), OB_ENOTFOUND);
    /* the expired ones make room again */
    assert_int_equal(ob_login_start(s, 0, NULL, 100 + OB_LOGIN_TTL, id3, &q, &e), OB_OK);
    ob_sessions_free(s);
    /* one address holds at most OB_LOGIN_PER_CLIENT pending logins; another still logs in */
    assert_int_equal(ob_sessions_new(0, 0, 0, &s, &e), OB_OK);
    const uint8_t a[16] = {1}, b[16] = {2};
    for (int i = 0; i < OB_LOGIN_PER_CLIENT; i++)
        assert_int_equal(ob_login_start(s, 0, a, 100, id, &q, &e), OB_OK);
    assert_int_equal(ob_login_start(s, 0, a, 100, id, &q, &e), OB_ELIMIT);
    assert_int_equal(ob_login_start(s, 0, b, 100, id2, &q, &e), OB_OK);
    /* a finished login makes room; so does time */
    assert_int_equal(ob_login_take(s, id, 101, &q, &e), OB_OK);
    assert_int_equal(ob_login_start(s, 0, a, 101, id, &q, &e), OB_OK);
    assert_int_equal(ob_login_start(s, 0, a, 101, id3, &q, &e), OB_ELIMIT);
    assert_int_equal(ob_login_start(s, 0, a, 100 + OB_LOGIN_TTL, id3, &q, &e), OB_OK);
    ob_sessions_free(s);
}

/* ---- the routes ---- */

static ob_web *web_of(bool dev)
{
    ob_web *w = NULL;
    ob_err e = {0};
    ob_web_config c = {F.hub, NULL, NULL, dev, 0, 0};
    assert_int_equal(ob_web_new(&c, &w, &e), OB_OK);
    return w;
}

static void dev_session(ob_web *w, char *cookie, size_t cap, char *csrf, size_t ccap)
{
    const char body[] = "{\"kind\":\"patient\",\"id\":\"pt-0\"}";
    ob_web_req rq = {.method = "POST",
                     .path = "/auth/dev-login",
                     .host = "127.0.0.1:8080",
                     .content_type = "application/json",
                     .body = body,
                     .body_len = sizeof body - 1,
                     .now = F.now};
    ob_web_resp out;
    assert_int_equal(ob_web_handle(w, &rq, &out), OB_OK);
    assert_int_equal(out.status, 200);
    /* the cookie's flags: __Host- prefix, HttpOnly, Secure, SameSite=Strict, Path=/, no
     * Domain, no lifetime (the server ends it) */
    const char *c = out.cookies[0];
    assert_true(strncmp(c, "__Host-ob_session=", 18) == 0);
    assert_non_null(strstr(c, "; Path=/"));
    assert_non_null(strstr(c, "; Secure"));
    assert_non_null(strstr(c, "; HttpOnly"));
    assert_non_null(strstr(c, "; SameSite=Strict"));
    assert_null(strstr(c, "Domain"));
    assert_null(strstr(c, "Max-Age"));
    snprintf(cookie, cap, "%.*s", (int)strcspn(c, ";"), c);
    json_t *j = json_loadb((const char *)out.data, out.len, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "patient")), "pt-0");
    assert_true(json_is_true(json_object_get(j, "dev")));
    /* no token and no CPR in what the browser gets */
    assert_null(json_object_get(j, "cpr"));
    assert_null(strstr((const char *)out.data, "010190"));
    snprintf(csrf, ccap, "%s", json_string_value(json_object_get(j, "csrf")));
    json_decref(j);
    ob_web_resp_release(&out);
}

/* T-WEB-42: the development login answers only when asked by a loopback name. A page of
 * another site whose name points at 127.0.0.1 (DNS rebinding) is same-origin with itself:
 * the Origin check alone let it log in as anyone. */
static void test_dev_login_loopback_only(void **state)
{
    (void)state;
    ob_web *w = web_of(true);
    static const struct {
        const char *host, *origin;
        int status;
    } rows[] = {
        {"127.0.0.1:8080", NULL, 200},
        {"localhost:8080", "http://localhost:8080", 200},
        {"[::1]:8080", NULL, 200},
        {"LOCALHOST", NULL, 200},
        {"evil.example:8080", "http://evil.example:8080", 403},
        {"127.0.0.1.evil.example:8080", NULL, 403},
        {"localhost.evil.example", NULL, 403},
        {"127.0.0.1:8080x", NULL, 403},
        {"127.0.0.1:", NULL, 403},
        {NULL, NULL, 403},
    };
    const char body[] = "{\"kind\":\"patient\",\"id\":\"pt-0\"}";
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        ob_web_req rq = {.method = "POST",
                         .path = "/auth/dev-login",
                         .host = rows[i].host,
                         .origin = rows[i].origin,
                         .content_type = "application/json",
                         .body = body,
                         .body_len = sizeof body - 1,
                         .now = F.now};
        ob_web_resp out;
        assert_int_equal(ob_web_handle(w, &rq, &out), OB_OK);
        if (out.status != rows[i].status)
            fail_msg("Host %s: %d, want %d", rows[i].host ? rows[i].host : "(none)", out.status,
                     rows[i].status);
        ob_web_resp_release(&out);
    }
    ob_web_free(w);
}

static void test_dev_login_off(void **state)
{
    (void)state;
    ob_web *w = web_of(false);
    const char body[] = "{\"kind\":\"patient\",\"id\":\"pt-0\"}";
    ob_web_req rq = {.method = "POST",
                     .path = "/auth/dev-login",
                     .host = "127.0.0.1:8080",
                     .content_type = "application/json",
                     .body = body,
                     .body_len = sizeof body - 1,
                     .now = F.now};
    ob_web_resp out;
    assert_int_equal(ob_web_handle(w, &rq, &out), OB_OK);
    assert_int_equal(out.status, 404);
    assert_string_equal(out.cookies[0], "");
    ob_web_resp_release(&out);
    assert_false(ob_web_dev_login(w));
    ob_web_free(w);
    /* on: an unknown id gets nothing */
    w = web_of(true);
    const char nobody[] = "{\"kind\":\"patient\",\"id\":\"pt-404\"}";
    rq.body = nobody;
    rq.body_len = sizeof nobody - 1;
    assert_int_equal(ob_web_handle(w, &rq, &out), OB_OK);
    assert_int_equal(out.status, 404);
    assert_string_equal(out.cookies[0], "");
    ob_web_resp_release(&out);
    /* from another site: refused before anything */
    rq.body = body;
    rq.body_len = sizeof body - 1;
    rq.fetch_site = "cross-site";
    assert_int_equal(ob_web_handle(w, &rq, &out), OB_OK);
    assert_int_equal(out.status, 403);
    ob_web_resp_release(&out);
    ob_web_free(w);
}

/* One request of the FHIR API with a session: what ob_web_session_claims answers. */
typedef struct claims_row {
    const char *what, *method, *cookie, *authorization, *csrf, *fetch_site, *origin;
    int status;
} claims_row;

static void test_fhir_session(void **state)
{
    (void)state;
    ob_web *w = web_of(true);
    char cookie[128], csrf[64], twice[300], wrong[64];
    dev_session(w, cookie, sizeof cookie, csrf, sizeof csrf);
    snprintf(twice, sizeof twice, "%s; %s", cookie, cookie);
    snprintf(wrong, sizeof wrong, "%s", csrf);
    wrong[0] = wrong[0] == 'A' ? 'B' : 'A';
    const claims_row rows[] = {
        {"no cookie: the bearer token decides", "GET", NULL, "Bearer x", NULL, NULL, NULL, 0},
        {"another cookie only", "GET", "theme=dark", NULL, NULL, NULL, NULL, 0},
        {"a read", "GET", cookie, NULL, NULL, NULL, NULL, 200},
        {"a read among other cookies", "GET", "a=b; __Host-ob_session=x", NULL, NULL, NULL, NULL,
         401},
        {"cookie and bearer token", "GET", cookie, "Bearer x", NULL, NULL, NULL, 400},
        {"the cookie twice", "GET", twice, NULL, NULL, NULL, NULL, 400},
        {"a write without the CSRF token", "POST", cookie, NULL, NULL, NULL, NULL, 403},
        {"a write with a wrong CSRF token", "PUT", cookie, NULL, wrong, NULL, NULL, 403},
        {"a write with an empty CSRF token", "DELETE", cookie, NULL, "", NULL, NULL, 403},
        {"a write with the CSRF token", "POST", cookie, NULL, csrf, NULL, NULL, 200},
        {"... same-origin fetch", "POST", cookie, NULL, csrf, "same-origin", NULL, 200},
        {"... from another site", "POST", cookie, NULL, csrf, "cross-site", NULL, 403},
        {"... from a sibling site", "POST", cookie, NULL, csrf, "same-site", NULL, 403},
        {"... with our Origin", "POST", cookie, NULL, csrf, NULL, "http://127.0.0.1:8080", 200},
        {"... with another Origin", "POST", cookie, NULL, csrf, NULL, "http://evil.example", 403},
        {"... Origin null", "POST", cookie, NULL, csrf, NULL, "null", 403},
        {"an unknown session", "GET",
         "__Host-ob_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL, NULL, NULL, NULL,
         401},
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        const claims_row *r = &rows[i];
        ob_web_req rq = {.method = r->method,
                         .path = "/fhir/Consent",
                         .cookie = r->cookie,
                         .authorization = r->authorization,
                         .csrf = r->csrf,
                         .fetch_site = r->fetch_site,
                         .origin = r->origin,
                         .host = "127.0.0.1:8080",
                         .now = F.now};
        json_t *cl = NULL;
        ob_err e = {0};
        int st = ob_web_session_claims(w, &rq, &cl, &e);
        if (st != r->status)
            fail_msg("%s: %d, wanted %d (%s)", r->what, st, r->status, e.msg);
        assert_true((st == 200) == (cl != NULL));
        if (cl)
            assert_string_equal(json_string_value(json_object_get(cl, "patient")), "pt-0");
        json_decref(cl);
    }
    /* expired: 15 minutes idle */
    ob_web_req late = {.method = "GET",
                       .path = "/fhir/Consent",
                       .cookie = cookie,
                       .now = F.now + OB_SESSION_IDLE + 1};
    json_t *cl = NULL;
    ob_err e = {0};
    assert_int_equal(ob_web_session_claims(w, &late, &cl, &e), 401);
    ob_web_free(w);
}

static void test_logout(void **state)
{
    (void)state;
    ob_web *w = web_of(true);
    char cookie[128], csrf[64];
    dev_session(w, cookie, sizeof cookie, csrf, sizeof csrf);
    ob_web_req rq = {.method = "POST", .path = "/auth/logout", .cookie = cookie, .now = F.now};
    ob_web_resp out;
    /* without the CSRF token: refused, and the session lives on */
    assert_int_equal(ob_web_handle(w, &rq, &out), OB_OK);
    assert_int_equal(out.status, 403);
    ob_web_resp_release(&out);
    ob_web_req who = {.method = "GET", .path = "/auth/session", .cookie = cookie, .now = F.now};
    assert_int_equal(ob_web_handle(w, &who, &out), OB_OK);
    assert_int_equal(out.status, 200);
    ob_web_resp_release(&out);
    /* with it: ended, the cookie cleared, the session gone for the API too */
    rq.csrf = csrf;
    assert_int_equal(ob_web_handle(w, &rq, &out), OB_OK);
    assert_int_equal(out.status, 200);
    assert_non_null(strstr(out.cookies[0], "Max-Age=0"));
    ob_web_resp_release(&out);
    assert_int_equal(ob_web_handle(w, &who, &out), OB_OK);
    assert_int_equal(out.status, 401);
    ob_web_resp_release(&out);
    json_t *cl = NULL;
    ob_err e = {0};
    who.path = "/fhir/Consent";
    assert_int_equal(ob_web_session_claims(w, &who, &cl, &e), 401);
    /* a GET /auth/logout does nothing */
    ob_web_req get = {.method = "GET", .path = "/auth/logout", .now = F.now};
    assert_int_equal(ob_web_handle(w, &get, &out), OB_OK);
    assert_int_equal(out.status, 405);
    ob_web_resp_release(&out);
    ob_web_free(w);
}

/* ---- parsers ---- */

static void test_cookie_parser(void **state)
{
    (void)state;
    static const struct {
        const char *header;
        int rc;
        const char *value;
    } rows[] = {
        {NULL, 0, ""},
        {"", 0, ""},
        {"a=b", 0, ""},
        {"__Host-ob_session=v1", 1, "v1"},
        {"a=b; __Host-ob_session=v1; c=d", 1, "v1"},
        {"a=b;__Host-ob_session=v1", 1, "v1"},
        {"__Host-ob_session=\"v1\"", 1, "v1"},
        {"__Host-ob_session=v1; __Host-ob_session=v2", -1, ""},
        {"x__Host-ob_session=v1", 0, ""},
        {"__Host-ob_session", 0, ""},
        {"__Host-ob_session=", 1, ""},
        {"__Host-ob_sessionx=v", 0, ""},
        {"__Host-ob_session=0123456789012345678901234567890123456789", -1, ""},
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        char out[32];
        int rc = ob_web_cookie(rows[i].header, OB_WEB_COOKIE, out, sizeof out);
        if (rc != rows[i].rc)
            fail_msg("row %zu: %d, wanted %d", i, rc, rows[i].rc);
        if (rc == 1)
            assert_string_equal(out, rows[i].value);
    }
}

static void test_file_path(void **state)
{
    (void)state;
    static const struct {
        const char *path, *file;
    } rows[] = {
        {"/", "/index.html"},
        {"/a.js", "/a.js"},
        {"/js/app.mjs", "/js/app.mjs"},
        {"/citizen/", "/citizen/index.html"},
        {"/../etc/passwd", NULL},
        {"/js/../../x", NULL},
        {"/.git/config", NULL},
        {"/js/.hidden", NULL},
        {"//etc/passwd", NULL},
        {"/a\\b", NULL},
        {"/a\nb", NULL},
        {"a.js", NULL},
        {"", NULL},
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        char out[300];
        bool ok = ob_web_file_path(rows[i].path, out, sizeof out);
        if (ok != (rows[i].file != NULL))
            fail_msg("row %zu (%s): %d", i, rows[i].path, ok);
        if (ok)
            assert_string_equal(out, rows[i].file);
    }
    assert_string_equal(ob_web_content_type("/index.html"), "text/html; charset=utf-8");
    assert_string_equal(ob_web_content_type("/a.mjs"), "text/javascript; charset=utf-8");
    assert_null(ob_web_content_type("/README.md"));
    assert_null(ob_web_content_type("/noext"));
}

static void test_pages(void **state)
{
    (void)state;
    ob_web *w = web_of(false);
    ob_web_resp out;
    ob_web_req rq = {.method = "GET", .path = "/no/such/page.html", .now = F.now};
    assert_int_equal(ob_web_handle(w, &rq, &out), OB_OK);
    assert_int_equal(out.status, 404);
    ob_web_resp_release(&out);
    rq.path = "/../CMakeLists.txt";
    assert_int_equal(ob_web_handle(w, &rq, &out), OB_OK);
    assert_int_equal(out.status, 404);
    ob_web_resp_release(&out);
    /* the embedded verifier module (web/verify/), with its ETag; a 304 for it */
    rq.path = "/verify/verify.mjs";
    assert_int_equal(ob_web_handle(w, &rq, &out), OB_OK);
    assert_int_equal(out.status, 200);
    assert_string_equal(out.ctype, "text/javascript; charset=utf-8");
    assert_true(out.len > 100);
    assert_int_equal(strlen(out.etag), 34);
    char etag[80];
    snprintf(etag, sizeof etag, "%s", out.etag);
    ob_web_resp_release(&out);
    rq.if_none_match = etag;
    assert_int_equal(ob_web_handle(w, &rq, &out), OB_OK);
    assert_int_equal(out.status, 304);
    assert_int_equal(out.len, 0);
    ob_web_resp_release(&out);
    rq.method = "POST";
    assert_int_equal(ob_web_handle(w, &rq, &out), OB_OK);
    assert_int_equal(out.status, 405);
    ob_web_resp_release(&out);
    ob_web_free(w);
}

/* POST /auth/acts-for: an assistant chooses the colleague they work for (R-ACC-3) */
static void test_acts_for(void **state)
{
    (void)state;
    ob_web *w = web_of(true);
    const char body[] = "{\"kind\":\"professional\",\"id\":\"gp-1-sec0\"}";
    ob_web_req rq = {.method = "POST",
                     .path = "/auth/dev-login",
                     .host = "127.0.0.1:8080",
                     .content_type = "application/json",
                     .body = body,
                     .body_len = sizeof body - 1,
                     .now = F.now};
    ob_web_resp out;
    assert_int_equal(ob_web_handle(w, &rq, &out), OB_OK);
    assert_int_equal(out.status, 200);
    json_t *j = json_loadb((const char *)out.data, out.len, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "role")), "secretary");
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(j, "colleagues"), 0), "id")),
                        "gp-1-dr0");
    assert_true(json_is_null(json_object_get(j, "acts_for")));
    char cookie[128], csrf[64];
    snprintf(cookie, sizeof cookie, "%.*s", (int)strcspn(out.cookies[0], ";"), out.cookies[0]);
    snprintf(csrf, sizeof csrf, "%s", json_string_value(json_object_get(j, "csrf")));
    json_decref(j);
    ob_web_resp_release(&out);
    const char pick[] = "{\"on_behalf_of\":\"gp-1-dr0\"}";
    ob_web_req ch = {.method = "POST",
                     .path = "/auth/acts-for",
                     .cookie = cookie,
                     .content_type = "application/json",
                     .body = pick,
                     .body_len = sizeof pick - 1,
                     .now = F.now};
    /* without the CSRF token: refused, nothing changed */
    assert_int_equal(ob_web_handle(w, &ch, &out), OB_OK);
    assert_int_equal(out.status, 403);
    ob_web_resp_release(&out);
    ch.csrf = csrf;
    assert_int_equal(ob_web_handle(w, &ch, &out), OB_OK);
    assert_int_equal(out.status, 200);
    ob_web_resp_release(&out);
    ob_web_req api = {.method = "GET", .path = "/fhir/Patient", .cookie = cookie, .now = F.now};
    json_t *cl = NULL;
    ob_err e = {0};
    assert_int_equal(ob_web_session_claims(w, &api, &cl, &e), 200);
    assert_string_equal(json_string_value(json_object_get(cl, "on_behalf_of")), "gp-1-dr0");
    json_decref(cl);
    /* someone the site did not grant assistance for: refused by the caller's own rules */
    const char nobody[] = "{\"on_behalf_of\":\"gp-1-sec0\"}";
    ch.body = nobody;
    ch.body_len = sizeof nobody - 1;
    assert_int_equal(ob_web_handle(w, &ch, &out), OB_OK);
    assert_int_equal(out.status, 403);
    ob_web_resp_release(&out);
    /* back to their own name */
    const char none[] = "{\"on_behalf_of\":null}";
    ch.body = none;
    ch.body_len = sizeof none - 1;
    assert_int_equal(ob_web_handle(w, &ch, &out), OB_OK);
    assert_int_equal(out.status, 200);
    ob_web_resp_release(&out);
    assert_int_equal(ob_web_session_claims(w, &api, &cl, &e), 200);
    assert_null(json_object_get(cl, "on_behalf_of"));
    json_decref(cl);
    ob_web_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_expiry),
        cmocka_unit_test(test_store_csrf),
        cmocka_unit_test(test_store_login),
        cmocka_unit_test(test_dev_login_off),
        cmocka_unit_test(test_dev_login_loopback_only),
        cmocka_unit_test(test_fhir_session),
        cmocka_unit_test(test_logout),
        cmocka_unit_test(test_cookie_parser),
        cmocka_unit_test(test_file_path),
        cmocka_unit_test(test_pages),
        cmocka_unit_test(test_acts_for),
        cmocka_unit_test(test_store_person),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/* api_fixture.h - a hub on a temporary database with a small world, for driving the
 * FHIR API (ob_api_handle) without a socket. Header-only (static inline), like the
 * other test fixtures.
 *
 * World: region reg > hospital hosp > departments hosp-med, hosp-psyk; GP clinics gp-1
 * and gp-2. Doctors gp1-dr (gp-1), gp2-dr (gp-2), med-dr (hosp-med), psyk-dr
 * (hosp-psyk). Patients anna (CPR 010190-1234, listed gp-1, admitted hosp-med),
 * bent (020285-2345, listed gp-2), carl (030370-3456, listed gp-1; bent holds power of
 * attorney for his appointments and measurements). Source systems: epj-hosp (site hosp,
 * go-live 2025-01-01), gp1-sys (gp-1, go-live 2020-01-01), gp2-sys (gp-2).
 *
 * When OB_FHIR_DUMP names a directory, af_call writes every successful response body
 * there (one file per response) for the FHIR validator. */
#ifndef OB_TEST_API_FIXTURE_H
#define OB_TEST_API_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <sodium.h>

#include "api/api.h"
#include "core/cpr.h"
#include "unit/api/twin.h"
#include "core/secret.h"
#include "store/sqlite/log_sqlite.h"
#include "store/store.h"

#define AF_CPR_ANNA "010190-1234"
#define AF_CPR_BENT "020285-2345"
#define AF_CPR_CARL "030370-3456"
#define AF_CPR_NONE "040475-4567" /* valid, but nobody has it */

static const char *const af_world[] = {
    "{\"type\":\"org\",\"id\":\"reg\",\"kind\":\"region\",\"name\":\"Region Syddanmark\"}",
    "{\"type\":\"org\",\"id\":\"hosp\",\"kind\":\"hospital\",\"name\":\"Odense "
    "Universitetshospital\",\"parent\":\"reg\",\"address\":\"J. B. Winsløws Vej 4, Odense\"}",
    "{\"type\":\"org\",\"id\":\"hosp-med\",\"kind\":\"department\",\"name\":\"Medicinsk "
    "afdeling\",\"parent\":\"hosp\"}",
    "{\"type\":\"org\",\"id\":\"hosp-psyk\",\"kind\":\"department\",\"name\":\"Psykiatrisk "
    "afdeling\",\"parent\":\"hosp\"}",
    "{\"type\":\"org\",\"id\":\"gp-1\",\"kind\":\"gp_clinic\",\"name\":\"Lægerne "
    "Torvet\",\"provider_number\":\"123456\"}",
    "{\"type\":\"org\",\"id\":\"gp-2\",\"kind\":\"gp_clinic\",\"name\":\"Lægehuset "
    "Aaen\",\"provider_number\":\"234567\"}",
    "{\"type\":\"professional\",\"id\":\"gp1-dr\",\"name\":\"Anne "
    "Holm\",\"role\":\"doctor\",\"authorisation_id\":\"0A1B2\",\"sites\":[\"gp-1\"]}",
    "{\"type\":\"professional\",\"id\":\"gp2-dr\",\"name\":\"Bo "
    "Berg\",\"role\":\"doctor\",\"authorisation_id\":\"0A1B3\",\"sites\":[\"gp-2\"]}",
    "{\"type\":\"professional\",\"id\":\"med-dr\",\"name\":\"Carl "
    "Dahl\",\"role\":\"doctor\",\"authorisation_id\":\"0A1B4\",\"sites\":[\"hosp-med\"]}",
    "{\"type\":\"professional\",\"id\":\"psyk-dr\",\"name\":\"Dea "
    "Eng\",\"role\":\"doctor\",\"authorisation_id\":\"0A1B5\",\"sites\":[\"hosp-psyk\"]}",
    "{\"type\":\"patient\",\"id\":\"anna\",\"name\":\"Anna "
    "Andersen\",\"cpr\":\"" AF_CPR_ANNA "\",\"gp\":\"gp-1\"}",
    "{\"type\":\"patient\",\"id\":\"bent\",\"name\":\"Bent "
    "Berg\",\"cpr\":\"" AF_CPR_BENT "\",\"gp\":\"gp-2\"}",
    "{\"type\":\"patient\",\"id\":\"carl\",\"name\":\"Carl "
    "Clausen\",\"cpr\":\"" AF_CPR_CARL "\",\"gp\":\"gp-1\"}",
    "{\"type\":\"relationship\",\"patient\":\"anna\",\"org\":\"gp-1\",\"kind\":\"listed\","
    "\"from\":\"2015-01-01\"}",
    "{\"type\":\"relationship\",\"patient\":\"anna\",\"org\":\"hosp-med\",\"kind\":"
    "\"admission\",\"from\":\"2020-01-01\"}",
    "{\"type\":\"relationship\",\"patient\":\"bent\",\"org\":\"gp-2\",\"kind\":\"listed\","
    "\"from\":\"2015-01-01\"}",
    "{\"type\":\"relationship\",\"patient\":\"carl\",\"org\":\"gp-1\",\"kind\":\"listed\","
    "\"from\":\"2015-01-01\"}",
    "{\"type\":\"relative\",\"patient\":\"carl\",\"holder\":\"bent\",\"scope\":[\"appointment\","
    "\"measurement\"],\"from\":\"2020-01-01\"}",
    "{\"type\":\"source\",\"client_id\":\"epj-hosp\",\"site\":\"hosp\",\"go_live\":\"2025-01-01\","
    "\"name\":\"Sundhedsplatformen\"}",
    "{\"type\":\"source\",\"client_id\":\"gp1-sys\",\"site\":\"gp-1\",\"go_live\":\"2020-01-01\","
    "\"name\":\"XMO\"}",
    "{\"type\":\"source\",\"client_id\":\"gp2-sys\",\"site\":\"gp-2\",\"go_live\":\"2020-01-01\","
    "\"name\":\"EG Clinea\"}",
};

typedef struct af_lines {
    const char *const *v;
    size_t n, i;
} af_lines;

static inline json_t *af_next(void *ctx, size_t *line, ob_err *e)
{
    af_lines *l = ctx;
    if (l->i >= l->n)
        return NULL;
    *line = l->i + 1;
    json_error_t je;
    json_t *o = json_loads(l->v[l->i++], 0, &je);
    if (!o)
        ob_err_set(e, OB_EINVAL, "fixture line %zu: %s", *line, je.text);
    return o;
}

typedef struct af {
    ob_hub *h;
    char db[256], key[256];
    int dumped;
    const char *tag;
    const char *if_match; /* sent as If-Match with every call while set */
    bool lenient;         /* Prefer: handling=lenient with every call while set */
    bool ignored[32];     /* the last call's ignored parameters (lenient) */
} af;

static inline void af_load(af *f, const char *const *lines, size_t n)
{
    af_lines l = {lines, n, 0};
    ob_err e = {0};
    size_t count;
    if (ob_hub_import(f->h, af_next, &l, NULL, NULL, &count, &e) != OB_OK)
        fail_msg("fixture import failed: %s", e.msg);
}

static inline void af_open(af *f, const char *tag)
{
    memset(f, 0, sizeof *f);
    f->tag = tag;
    const char *dir = getenv("TMPDIR");
    snprintf(f->db, sizeof f->db, "%s/obapi-%s-%ld-%u.db", dir ? dir : "/tmp", tag, (long)getpid(),
             (unsigned)randombytes_random());
    ob_hub_key_path(f->db, f->key, sizeof f->key);
    ob_keys k;
    ob_err e = {0};
    if (ob_keys_generate(&k, &e) || ob_keys_save(&k, f->key, &e))
        fail_msg("keys: %s", e.msg);
    ob_hub_options o = {.db_path = f->db};
    if (ob_hub_open(&o, &f->h, &e))
        fail_msg("hub: %s", e.msg);
    af_load(f, af_world, sizeof af_world / sizeof af_world[0]);
}

static inline void af_close(af *f)
{
    ob_hub_close(f->h);
    ob_keys_remove(f->key);
    ob_store_remove(f->db);
}

/* Callers. */
static inline ob_caller af_pro(af *f, const char *pro, const char *site, const char *purpose)
{
    ob_caller c;
    memset(&c, 0, sizeof c);
    c.kind = OB_ACTOR_PROFESSIONAL;
    c.actor = ob_index_find_professional(f->h->ix, pro);
    c.acting_org = ob_index_find_org(f->h->ix, site);
    c.on_behalf_of = OB_NONE;
    c.purpose = (uint8_t)ob_purpose_parse(purpose ? purpose : "TREAT");
    c.purposes = OB_PURPOSES_ALL; /* the engine decides; tests/security checks the token */
    c.now = ob_time_now();
    assert_int_not_equal(c.actor, OB_NONE);
    return c;
}

static inline ob_caller af_citizen(af *f, const char *patient, const char *purpose)
{
    ob_caller c;
    memset(&c, 0, sizeof c);
    c.kind = OB_ACTOR_CITIZEN;
    c.actor = ob_index_find_patient(f->h->ix, patient);
    c.acting_org = OB_NONE;
    c.on_behalf_of = OB_NONE;
    c.purpose = (uint8_t)ob_purpose_parse(purpose ? purpose : "PATRQT");
    c.purposes = OB_PURPOSES_ALL; /* the engine decides; tests/security checks the token */
    c.now = ob_time_now();
    snprintf(c.subject, sizeof c.subject, "%s", patient);
    return c;
}

static inline ob_caller af_source(af *f, const char *client, const char *site)
{
    ob_caller c;
    memset(&c, 0, sizeof c);
    c.kind = OB_ACTOR_SOURCE_SYSTEM;
    c.actor = OB_NONE;
    c.acting_org = ob_index_find_org(f->h->ix, site);
    c.on_behalf_of = OB_NONE;
    c.purpose = (uint8_t)ob_purpose_parse("TREAT");
    c.purposes = OB_PURPOSES_ALL; /* the engine decides; tests/security checks the token */
    c.now = ob_time_now();
    snprintf(c.client_id, sizeof c.client_id, "%s", client);
    return c;
}

/* Calls the API. params: "name=value" strings (URL) or "@name=value" (POST body);
 * NULL-terminated. body: JSON text or NULL. */
/* Every searchset's self link (FHIR: the parameters the server used) is checked on every
 * call: a GET URL of the searched type, no CPR (R-CPR-2), each parameter used named in it
 * (those naming the patient may be replaced by the internal id) and none ignored. */
static inline void af_check_self(const ob_api_request *rq, const ob_api_response *out)
{
    const char *type = json_string_value(json_object_get(out->body, "type"));
    if (out->status != 200 || !type || strcmp(type, "searchset") != 0 || strchr(rq->path, '$'))
        return;
    const char *self = NULL;
    size_t i;
    json_t *l;
    json_array_foreach(json_object_get(out->body, "link"), i, l)
    {
        if (strcmp(json_string_value(json_object_get(l, "relation")), "self") == 0)
            self = json_string_value(json_object_get(l, "url"));
    }
    if (!self)
        return; /* none only when the request holds a CPR: checked in test_paging */
    char want[96];
    snprintf(want, sizeof want, "http://localhost/fhir%.*s", (int)strcspn(rq->path + 1, "/") + 1,
             rq->path);
    if (strncmp(self, want, strlen(want)) != 0 || ob_cpr_in_text(self))
        fail_msg("self link %s: not a search of %s, or a CPR in it", self, want);
    for (size_t k = 0; k < rq->nparams; k++) {
        const char *n = rq->params[k].name;
        if (strcmp(n, "patient") == 0 || strcmp(n, "patient.identifier") == 0 ||
            strcmp(n, "identifier") == 0)
            continue;
        char key[80];
        snprintf(key, sizeof key, "%s=", n);
        bool in = strstr(self, key) != NULL, ignored = rq->ignored && rq->ignored[k];
        if (in == ignored)
            fail_msg("self link %s: parameter %s %s", self, n,
                     ignored ? "ignored but named" : "used but not named");
    }
}

/* The body as text without its self link (twin.h). */
static inline char *af_twin_text(const ob_api_response *r)
{
    return twin_text(r->body);
}

static inline void af_call(af *f, const ob_caller *c, const char *method, const char *path,
                           const char *const *params, const char *body, ob_api_response *out)
{
    ob_api_param ps[16];
    char names[16][64];
    size_t n = 0;
    for (; params && params[n] && n < 16; n++) {
        const char *p = params[n];
        bool from_body = p[0] == '@';
        if (from_body)
            p++;
        const char *eq = strchr(p, '=');
        assert_non_null(eq);
        snprintf(names[n], sizeof names[n], "%.*s", (int)(eq - p), p);
        ps[n].name = names[n];
        ps[n].value = eq + 1;
        ps[n].from_body = from_body;
    }
    json_t *b = NULL;
    if (body) {
        json_error_t je;
        b = json_loads(body, 0, &je);
        if (!b)
            fail_msg("test body is not JSON: %s", je.text);
    }
    memset(f->ignored, 0, sizeof f->ignored);
    ob_api_request rq = {method,      path,
                         ps,          n,
                         b,           "http://localhost/fhir",
                         f->if_match, f->lenient ? f->ignored : NULL,
                         NULL,        NULL,
                         false};
    ob_err e = {0};
    ob_status rc = ob_api_handle(f->h, c, &rq, out, &e);
    json_decref(b);
    if (rc)
        fail_msg("ob_api_handle failed: %s", e.msg);
    if (!ob_api_response_parse(out)) /* a body written as text must be JSON */
        fail_msg("the response text is not JSON: %.200s", out->text);
    af_check_self(&rq, out);
    const char *dir = getenv("OB_FHIR_DUMP");
    if (dir && *dir && out->body && out->status < 300) {
        char path2[512];
        snprintf(path2, sizeof path2, "%s/%s-%03d.json", dir, f->tag, f->dumped++);
        json_dump_file(out->body, path2, JSON_INDENT(2));
    }
}

static inline json_int_t af_total(const ob_api_response *r)
{
    return json_integer_value(json_object_get(r->body, "total"));
}

/* Number of entries in a searchset whose search.mode is mode ("match", "include"). */
static inline size_t af_mode_count(const ob_api_response *r, const char *mode)
{
    size_t n = 0, i;
    json_t *en;
    json_array_foreach(json_object_get(r->body, "entry"), i, en)
    {
        const char *m = json_string_value(json_object_get(json_object_get(en, "search"), "mode"));
        if (m && strcmp(m, mode) == 0)
            n++;
    }
    return n;
}

static inline size_t af_matches(const ob_api_response *r)
{
    return af_mode_count(r, "match");
}

/* true when the Bundle carries the "withheld by the patient's block" outcome. */
static inline bool af_marker(const ob_api_response *r)
{
    size_t i;
    json_t *en;
    json_array_foreach(json_object_get(r->body, "entry"), i, en)
    {
        const char *m = json_string_value(json_object_get(json_object_get(en, "search"), "mode"));
        if (m && strcmp(m, "outcome") == 0)
            return true;
    }
    return false;
}

static inline char *af_text(const ob_api_response *r)
{
    return json_dumps(r->body, JSON_COMPACT | JSON_SORT_KEYS);
}

/* true when the response body's text contains s */
static inline bool af_has(const ob_api_response *r, const char *s)
{
    char *t = af_text(r);
    bool has = t && strstr(t, s) != NULL;
    free(t);
    return has;
}

/* anna's data for the overview and include tests: diagnoses from gp-1 and hosp-psyk, a
 * measurement from gp-1, appointments at hosp-psyk (epj-hosp) and gp-1 (gp1-sys). */
static inline void af_load_anna_items(af *f)
{
    static const char *const items[] = {
        "{\"type\":\"item\",\"id\":\"anna-d1\",\"patient\":\"anna\",\"category\":\"diagnosis\","
        "\"origin\":\"gp-1\",\"time\":\"2024-05-02T10:00:00Z\",\"code\":\"T90\"}",
        "{\"type\":\"item\",\"id\":\"anna-d2\",\"patient\":\"anna\",\"category\":\"diagnosis\","
        "\"origin\":\"hosp-psyk\",\"time\":\"2024-06-02T10:00:00Z\",\"code\":\"F32.1\"}",
        "{\"type\":\"item\",\"id\":\"anna-m1\",\"patient\":\"anna\",\"category\":\"measurement\","
        "\"origin\":\"gp-1\",\"time\":\"2025-01-02T10:00:00Z\",\"code\":\"DNK05472\",\"value\":"
        "142}",
        "{\"type\":\"appointment\",\"source\":\"epj-hosp\",\"system\":\"urn:sp\",\"identifier\":"
        "\"x1\",\"patient\":\"anna\",\"clinic\":\"hosp-psyk\",\"start\":\"2026-12-01T09:00:00Z\"}",
        "{\"type\":\"appointment\",\"source\":\"gp1-sys\",\"identifier\":\"x2\",\"patient\":"
        "\"anna\",\"start\":\"2026-12-02T09:00:00Z\",\"end\":\"2026-12-02T09:15:00Z\"}",
    };
    af_load(f, items, sizeof items / sizeof items[0]);
}

/* Fails (naming why) unless calling method path with params answers byte for byte as r
 * did: hidden equals absent. */
static inline void af_same_as(af *f, const ob_caller *c, const char *method, const char *path,
                              const char *const *params, const ob_api_response *r, const char *why)
{
    ob_api_response t;
    af_call(f, c, method, path, params, NULL, &t);
    char *a = af_twin_text(r), *b = af_twin_text(&t);
    if (t.status != r->status || strcmp(a, b) != 0)
        fail_msg("%s: %s differs from %s", why, a, b);
    free(a);
    free(b);
    ob_api_response_release(&t);
}

/* Applies a change record (a block, ...) as the patient would. */
static inline void af_change(af *f, const char *record)
{
    json_error_t je;
    json_t *o = json_loads(record, 0, &je);
    assert_non_null(o);
    ob_log_entry actor;
    memset(&actor, 0, sizeof actor);
    actor.actor_id = "test";
    actor.actor_role = "citizen";
    uint64_t seq, assigned;
    ob_err e = {0};
    if (ob_hub_change(f->h, o, &actor, &seq, &assigned, &e))
        fail_msg("change failed: %s", e.msg);
    json_decref(o);
}

typedef struct af_log_count {
    size_t n;
    size_t with_resource; /* entries whose resource contains `want` */
    size_t denied;        /* entries of refused decisions */
    /* denials of what a block withheld from a search (service/search.h): refused by
     * R-BLK-4 with the withheld ids as resource; with_resource and last_* skip them */
    size_t withheld;
    char withheld_categories[128]; /* their categories, each once, in the order met */
    const char *want;
    /* the newest entry by seq: the log lists a patient's entries by time, and a caller's
     * time is fixed when the test makes it, so an entry of a later call can sort earlier
     * than one made a second later by another caller */
    uint64_t last_seq;
    bool last_override;
    char last_resource[512];
    char last_justification[256];
} af_log_count;

static inline ob_status af_log_cb(void *ctx, const ob_log_record *r, ob_err *e)
{
    (void)e;
    af_log_count *c = ctx;
    c->n++;
    const char *res = r->entry.resource ? r->entry.resource : "";
    if (r->entry.event == OB_EV_DECISION && !r->entry.permit) {
        c->denied++;
        if (res[0] && r->entry.rule && strcmp(r->entry.rule, "R-BLK-4") == 0) {
            c->withheld++;
            const char *cat = r->entry.category ? r->entry.category : "";
            if (!strstr(c->withheld_categories, cat)) {
                size_t at = strlen(c->withheld_categories);
                snprintf(c->withheld_categories + at, sizeof c->withheld_categories - at, "%s%s",
                         at ? "," : "", cat);
            }
            return OB_OK;
        }
    }
    if (c->want && strstr(res, c->want))
        c->with_resource++;
    if (r->seq < c->last_seq)
        return OB_OK;
    c->last_seq = r->seq;
    c->last_override = r->entry.override;
    snprintf(c->last_resource, sizeof c->last_resource, "%s", res);
    snprintf(c->last_justification, sizeof c->last_justification, "%s",
             r->entry.justification ? r->entry.justification : "");
    return OB_OK;
}

/* Log entries about a patient (R-LOG-3), or (patient NULL) by an actor, read from the
 * file right after a call. */
static inline af_log_count af_log_query(af *f, const char *patient, const char *actor,
                                        const char *want)
{
    af_log_count c;
    memset(&c, 0, sizeof c);
    c.want = want;
    ob_log_query q;
    memset(&q, 0, sizeof q);
    q.patient = patient;
    q.actor_id = actor;
    ob_err e = {0};
    if (ob_log_each(f->db, &q, af_log_cb, &c, &e))
        fail_msg("log query: %s", e.msg);
    return c;
}

static inline af_log_count af_log(af *f, const char *patient, const char *want)
{
    return af_log_query(f, patient, NULL, want);
}

/* R-LOG-1 for one call: a 200 added exactly one entry (besides the denials of what a
 * block withheld), whose resource lists `logged` and not `not_logged` (either may be
 * NULL); any other status added none. */
static inline void af_logged_once(const char *why, int status, const af_log_count *before,
                                  const af_log_count *after, const char *logged,
                                  const char *not_logged)
{
    if (status != 200) {
        if (after->n != before->n)
            fail_msg("%s: a refused call was logged", why);
        return;
    }
    if (after->n - after->withheld != before->n - before->withheld + 1)
        fail_msg("%s: %zu log entries for one call", why,
                 (after->n - after->withheld) - (before->n - before->withheld));
    if (logged && !strstr(after->last_resource, logged))
        fail_msg("%s: log lists '%s'", why, after->last_resource);
    if (not_logged && strstr(after->last_resource, not_logged))
        fail_msg("%s: log lists '%s'", why, after->last_resource);
}

#endif

/* fhir2_fixture.h - a hub on a temporary database for the Consent and AuditEvent API
 * tests (test_consent.c, test_audit.c), and a caller of ob_api_handle that, when
 * OB_FHIR_DUMP names a directory, writes every successful response body there for
 * the FHIR R4 validation (tests/e2e/fhir_valid.sh).
 *
 * The world (loaded through ob_hub_import, so it passes the import checks):
 *   region > hosp "Odense Universitetshospital" > cardio "Kardiologisk Afdeling"
 *   gp_a "Laegerne Torvet" (GP clinic), spec "Oejenlaegen" (specialist),
 *   muni > social "Socialforvaltningen" (municipal unit)
 *   gp_doc (doctor at gp_a), gp_doc2 (doctor at gp_a), gp_sec (secretary at gp_a,
 *   may assist), hosp_doc (doctor at cardio), spec_doc (doctor at spec)
 *   anna (listed at gp_a; treated at spec and cardio), bent (listed at gp_a),
 *   dorte (no GP; power of attorney for anna with scope all, for bent with appointments
 *   only), project "proj" (hosp_doc a member). Static inline: one copy per test. */
#ifndef OB_TEST_API_FHIR2_FIXTURE_H
#define OB_TEST_API_FHIR2_FIXTURE_H

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

#include "unit/api/twin.h"
#include "api/api.h"
#include "core/secret.h"
#include "service/hub.h"
#include "store/sqlite/log_sqlite.h"
#include "store/store.h"

static const char *const f2_world[] = {
    "{\"type\":\"org\",\"id\":\"region\",\"kind\":\"region\",\"name\":\"Region Syddanmark\"}",
    "{\"type\":\"org\",\"id\":\"hosp\",\"kind\":\"hospital\",\"name\":\"Odense "
    "Universitetshospital\",\"parent\":\"region\"}",
    "{\"type\":\"org\",\"id\":\"cardio\",\"kind\":\"department\",\"name\":\"Kardiologisk "
    "Afdeling\",\"parent\":\"hosp\"}",
    "{\"type\":\"org\",\"id\":\"gp_a\",\"kind\":\"gp_clinic\",\"name\":\"Laegerne "
    "Torvet\",\"provider_number\":\"123456\"}",
    "{\"type\":\"org\",\"id\":\"spec\",\"kind\":\"specialist\",\"name\":\"Oejenlaegen\","
    "\"provider_number\":\"456789\"}",
    "{\"type\":\"org\",\"id\":\"muni\",\"kind\":\"municipality\",\"name\":\"Kolding Kommune\"}",
    "{\"type\":\"org\",\"id\":\"social\",\"kind\":\"municipal_unit\",\"name\":"
    "\"Socialforvaltningen\",\"parent\":\"muni\"}",
    "{\"type\":\"professional\",\"id\":\"gp_doc\",\"name\":\"Anne Holm\",\"role\":\"doctor\","
    "\"authorisation_id\":\"0A1B2\",\"sites\":[\"gp_a\"]}",
    "{\"type\":\"professional\",\"id\":\"gp_doc2\",\"name\":\"Peter Lund\",\"role\":\"doctor\","
    "\"authorisation_id\":\"0A1B3\",\"sites\":[\"gp_a\"]}",
    "{\"type\":\"professional\",\"id\":\"gp_sec\",\"name\":\"Sofie Skov\",\"role\":"
    "\"secretary\",\"sites\":[\"gp_a\"]}",
    "{\"type\":\"professional\",\"id\":\"hosp_doc\",\"name\":\"Hans Berg\",\"role\":\"doctor\","
    "\"authorisation_id\":\"1C2D3\",\"sites\":[\"cardio\"]}",
    "{\"type\":\"professional\",\"id\":\"spec_doc\",\"name\":\"Ole Dam\",\"role\":\"doctor\","
    "\"authorisation_id\":\"2E3F4\",\"sites\":[\"spec\"]}",
    "{\"type\":\"patient\",\"id\":\"anna\",\"name\":\"Anna Andersen\",\"cpr\":\"010190-1234\","
    "\"gp\":\"gp_a\"}",
    "{\"type\":\"patient\",\"id\":\"bent\",\"name\":\"Bent Bach\",\"cpr\":\"020285-2345\","
    "\"gp\":\"gp_a\"}",
    "{\"type\":\"patient\",\"id\":\"dorte\",\"name\":\"Dorte Dahl\",\"cpr\":\"030370-3456\"}",
    "{\"type\":\"relative\",\"patient\":\"anna\",\"holder\":\"dorte\",\"scope\":\"all\","
    "\"from\":\"2020-01-01\"}",
    "{\"type\":\"relative\",\"patient\":\"bent\",\"holder\":\"dorte\",\"scope\":"
    "[\"appointment\"],\"from\":\"2020-01-01\"}",
    "{\"type\":\"relationship\",\"patient\":\"anna\",\"org\":\"gp_a\",\"kind\":\"listed\","
    "\"from\":\"2015-01-01\"}",
    "{\"type\":\"relationship\",\"patient\":\"bent\",\"org\":\"gp_a\",\"kind\":\"listed\","
    "\"from\":\"2015-01-01\"}",
    "{\"type\":\"relationship\",\"patient\":\"anna\",\"org\":\"spec\",\"kind\":\"treatment\","
    "\"from\":\"2020-01-01\"}",
    "{\"type\":\"relationship\",\"patient\":\"anna\",\"org\":\"cardio\",\"kind\":"
    "\"admission\",\"from\":\"2020-01-01\"}",
    "{\"type\":\"permission\",\"professional\":\"gp_sec\",\"site\":\"gp_a\",\"kind\":"
    "\"assist\",\"from\":\"2020-01-01\"}",
    "{\"type\":\"project\",\"id\":\"proj\",\"title\":\"Hjertestudiet\",\"categories\":"
    "[\"diagnosis\"],\"from\":\"2020-01-01\",\"to\":\"2030-01-01\",\"members\":[\"hosp_doc\"],"
    "\"approval_ref\":\"H-1\"}",
    NULL};

typedef struct f2 {
    ob_hub *h;
    char db[512], key[600];
    int dumped;
    const char *tag;
} f2;

struct f2_next {
    size_t i;
};

static inline json_t *f2_next_line(void *ctx, size_t *line, ob_err *e)
{
    struct f2_next *n = ctx;
    (void)e;
    if (!f2_world[n->i])
        return NULL;
    *line = n->i + 1;
    json_error_t je;
    json_t *o = json_loads(f2_world[n->i++], 0, &je);
    if (!o)
        fail_msg("fixture line %zu: %s", *line, je.text);
    return o;
}

static inline void f2_rm(const char *path)
{
    ob_store_remove(path);
}

static inline f2 *f2_open(const char *tag)
{
    f2 *f = calloc(1, sizeof *f);
    assert_non_null(f);
    if (sodium_init() < 0)
        abort();
    const char *dir = getenv("TMPDIR");
    snprintf(f->db, sizeof f->db, "%s/obapi-%s-%ld-%u.db", dir ? dir : "/tmp", tag, (long)getpid(),
             (unsigned)randombytes_random());
    ob_hub_key_path(f->db, f->key, sizeof f->key);
    f->tag = tag;
    ob_keys k;
    ob_err e = {0};
    if (ob_keys_generate(&k, &e) || ob_keys_save(&k, f->key, &e))
        fail_msg("keys: %s", e.msg);
    ob_hub_options o = {.db_path = f->db};
    if (ob_hub_open(&o, &f->h, &e))
        fail_msg("hub: %s", e.msg);
    struct f2_next n = {0};
    size_t count;
    if (ob_hub_import(f->h, f2_next_line, &n, NULL, NULL, &count, &e))
        fail_msg("import: %s", e.msg);
    return f;
}

static inline void f2_close(f2 *f)
{
    ob_hub_close(f->h);
    f2_rm(f->db);
    ob_keys_remove(f->key);
    free(f);
}

static inline uint32_t f2_patient(f2 *f, const char *id)
{
    uint32_t p = ob_index_find_patient(f->h->ix, id);
    if (p == OB_NONE)
        fail_msg("fixture: no patient %s", id);
    return p;
}

static inline uint32_t f2_pro(f2 *f, const char *id)
{
    uint32_t p = ob_index_find_professional(f->h->ix, id);
    if (p == OB_NONE)
        fail_msg("fixture: no professional %s", id);
    return p;
}

static inline uint32_t f2_org(f2 *f, const char *id)
{
    uint32_t p = ob_index_find_org(f->h->ix, id);
    if (p == OB_NONE)
        fail_msg("fixture: no org %s", id);
    return p;
}

/* A citizen acting for themself (purpose PATRQT). */
static inline ob_caller f2_citizen(f2 *f, const char *patient)
{
    ob_caller c;
    memset(&c, 0, sizeof c);
    c.kind = OB_ACTOR_CITIZEN;
    c.actor = f2_patient(f, patient);
    c.acting_org = OB_NONE;
    c.on_behalf_of = OB_NONE;
    c.purpose = OB_PURPOSE_PATIENT;
    c.purposes = OB_PURPOSES_ALL; /* the engine decides; tests/security checks the token */
    c.now = ob_time_now();
    snprintf(c.subject, sizeof c.subject, "%s", patient);
    return c;
}

/* A professional acting from org (purpose TREAT). */
static inline ob_caller f2_prof(f2 *f, const char *pro, const char *org)
{
    ob_caller c;
    memset(&c, 0, sizeof c);
    c.kind = OB_ACTOR_PROFESSIONAL;
    c.actor = f2_pro(f, pro);
    c.acting_org = f2_org(f, org);
    c.on_behalf_of = OB_NONE;
    c.purpose = OB_PURPOSE_TREAT;
    c.purposes = OB_PURPOSES_ALL; /* the engine decides; tests/security checks the token */
    c.now = ob_time_now();
    snprintf(c.subject, sizeof c.subject, "%s", pro);
    return c;
}

/* Calls the API. body is JSON text or NULL; params "name=value" strings (URL). */
static inline ob_api_response f2_call(f2 *f, const ob_caller *c, const char *method,
                                      const char *path, const char *body, const char *const *params)
{
    ob_api_param ps[16];
    char names[16][64];
    size_t np = 0;
    for (; params && params[np] && np < 16; np++) {
        const char *eq = strchr(params[np], '=');
        assert_non_null(eq);
        snprintf(names[np], sizeof names[np], "%.*s", (int)(eq - params[np]), params[np]);
        ps[np].name = names[np];
        ps[np].value = eq + 1;
        ps[np].from_body = false;
    }
    json_t *b = NULL;
    if (body) {
        json_error_t je;
        b = json_loads(body, 0, &je);
        if (!b)
            fail_msg("test body is not JSON: %s", je.text);
    }
    ob_api_request rq = {.method = method,
                         .path = path,
                         .params = ps,
                         .nparams = np,
                         .body = b,
                         .base_url = "http://127.0.0.1:8080/fhir"};
    ob_api_response out;
    ob_err e = {0};
    if (ob_api_handle(f->h, c, &rq, &out, &e))
        fail_msg("ob_api_handle failed: %s", e.msg);
    if (!ob_api_response_parse(&out)) /* a body written as text must be JSON */
        fail_msg("the response text is not JSON: %.200s", out.text);
    json_decref(b);
    const char *dir = getenv("OB_FHIR_DUMP");
    if (dir && *dir && out.status < 300 && out.body) {
        char p[700];
        snprintf(p, sizeof p, "%s/%s-%03d.json", dir, f->tag, f->dumped++);
        if (json_dump_file(out.body, p, JSON_INDENT(2)) != 0)
            fail_msg("cannot write %s", p);
    }
    return out;
}

static inline const char *f2_diag(const ob_api_response *r)
{
    const char *d = json_string_value(
        json_object_get(json_array_get(json_object_get(r->body, "issue"), 0), "diagnostics"));
    return d ? d : "";
}

static inline size_t f2_total(const ob_api_response *r)
{
    return (size_t)json_integer_value(json_object_get(r->body, "total"));
}

static inline uint64_t f2_log_size(f2 *f)
{
    ob_log_stats st;
    ob_alog_get_stats(f->h->log, &st);
    return st.size;
}

/* Decides (and logs) a read of patient's category from origin by caller. */
/* A decision on an item of that category from origin, dated item_time. */
static inline ob_decision f2_decide_at(f2 *f, const ob_caller *c, const char *patient, int category,
                                       const char *origin, ob_time item_time)
{
    ob_request rq;
    memset(&rq, 0, sizeof rq);
    rq.actor_kind = c->kind;
    rq.actor = c->actor;
    rq.acting_org = c->acting_org;
    rq.on_behalf_of = c->on_behalf_of;
    rq.patient = f2_patient(f, patient);
    rq.category = (uint8_t)category;
    rq.origin_org = f2_org(f, origin);
    rq.item_time = item_time;
    rq.purpose = c->purpose;
    rq.now = ob_time_now();
    rq.override = c->override;
    rq.has_override_reason = c->justification[0] != '\0';
    rq.project = OB_NONE;
    rq.recipient_org = OB_NONE;
    ob_decision d;
    uint64_t seq;
    ob_err e = {0};
    if (ob_hub_decide(f->h, &rq, "item-1", c->justification, &d, &seq, &e))
        fail_msg("decide: %s", e.msg);
    return d;
}

static inline ob_decision f2_decide(f2 *f, const ob_caller *c, const char *patient, int category,
                                    const char *origin)
{
    return f2_decide_at(f, c, patient, category, origin, ob_time_from_ymd(2024, 5, 1));
}

#endif

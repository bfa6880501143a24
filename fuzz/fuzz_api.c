/* fuzz_api.c - libFuzzer target for the FHIR API behind the transport (R-API-5, R-CPR-2,
 * issue 3): its routing and the readers of paths (ids, versions, _history, $operations),
 * query parameters, If-Match and bodies, on a real hub (a generated world of 40 patients
 * in a SQLite file, its log included) as a professional, a citizen or a source system.
 * Input: byte 0 picks the caller (bits 0-1) and method (bits 2-3); then the path up to a
 * newline, the query string up to a newline, the If-Match value up to a newline, and the
 * body (JSON, or a form for a POST _search). Invariants: ob_api_handle fills an answer
 * with a status from 200 to 599 (or returns an error with none); every answer of 400 or
 * more is an OperationOutcome; no diagnostics text and no Bundle link holds a CPR-like
 * number. The database
 * lives in /dev/shm when there is one, so that the log's syncs stay cheap. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "core/cpr.h"
#include "core/ndjson.h"
#include "core/secret.h"
#include "gen/gen.h"
#include "http/server.h"
#include "service/hub.h"
#include "store/store.h"

static ob_hub *hub;
static ob_caller callers[3];
static char db[256], key[256];

/* At exit (libFuzzer exits when its time is up): the hub closed, its files gone. */
static void cleanup(void)
{
    ob_hub_close(hub);
    ob_keys_remove(key);
    ob_store_remove(db);
}

static void die(const char *what, const ob_err *e)
{
    fprintf(stderr, "fuzz_api: %s: %s\n", what, e->msg);
    abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(db, sizeof db, "%s/fuzz-api-%ld.db", dir, (long)getpid());
    ob_hub_key_path(db, key, sizeof key);
    ob_keys k;
    ob_err e = {0};
    if (ob_keys_generate(&k, &e) || ob_keys_save(&k, key, &e))
        die("keys", &e);
    ob_hub_options o = {.db_path = db};
    if (ob_hub_open(&o, &hub, &e))
        die("hub", &e);
    atexit(cleanup);
    ob_gen_options g;
    ob_gen_default(&g);
    g.seed = 1;
    g.patients = 40;
    FILE *tmp = tmpfile();
    ob_gen_counts c;
    size_t n = 0;
    if (!tmp || ob_gen_write(&g, tmp, &c, &e))
        die("gen", &e);
    rewind(tmp);
    ob_ndjson_reader r = {tmp, 0, NULL, 0};
    if (ob_hub_import(hub, ob_ndjson_next, &r, NULL, NULL, &n, &e))
        die("import", &e);
    free(r.buf);
    fclose(tmp);
    const ob_index *ix = hub->ix;
    ob_caller *pro = &callers[0], *cit = &callers[1], *src = &callers[2];
    memset(callers, 0, sizeof callers);
    pro->kind = OB_ACTOR_PROFESSIONAL;
    pro->actor = ob_index_find_professional(ix, "gp-1-dr0");
    pro->acting_org = ob_index_find_org(ix, "gp-1");
    cit->kind = OB_ACTOR_CITIZEN;
    cit->actor = ob_index_find_patient(ix, "pt-0");
    cit->acting_org = OB_NONE;
    snprintf(cit->subject, sizeof cit->subject, "pt-0");
    src->kind = OB_ACTOR_SOURCE_SYSTEM;
    src->actor = OB_NONE;
    src->acting_org = ob_index_find_org(ix, "hosp-0");
    snprintf(src->client_id, sizeof src->client_id, "epj-hosp-0");
    if (pro->actor == OB_NONE || pro->acting_org == OB_NONE || cit->actor == OB_NONE ||
        src->acting_org == OB_NONE) {
        fprintf(stderr, "fuzz_api: the generated world lacks gp-1-dr0, pt-0 or hosp-0\n");
        abort();
    }
    pro->on_behalf_of = cit->on_behalf_of = src->on_behalf_of = OB_NONE;
    pro->purpose = src->purpose = (uint8_t)ob_purpose_parse("TREAT");
    cit->purpose = (uint8_t)ob_purpose_parse("PATRQT");
    pro->purposes = OB_PURPOSE_BIT(OB_PURPOSE_TREAT) | OB_PURPOSE_BIT(OB_PURPOSE_ETREAT);
    cit->purposes = OB_PURPOSE_BIT(OB_PURPOSE_PATIENT) | OB_PURPOSE_BIT(OB_PURPOSE_ATTORNEY);
    src->purposes = OB_PURPOSE_BIT(OB_PURPOSE_TREAT);
    return 0;
}

/* The next field of [*p, end) up to a newline (taken), copied NUL-terminated into out. */
static void field(const char **p, const char *end, char *out, size_t cap)
{
    const char *nl = memchr(*p, '\n', (size_t)(end - *p));
    size_t n = (size_t)((nl ? nl : end) - *p);
    if (n >= cap)
        n = cap - 1;
    memcpy(out, *p, n);
    out[n] = '\0';
    *p = nl ? nl + 1 : end;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const methods[] = {"GET", "POST", "PUT", "DELETE"};
    if (size < 1)
        return 0;
    const ob_caller *who = &callers[(data[0] & 3) % 3];
    const char *method = methods[(data[0] >> 2) & 3];
    const char *p = (const char *)data + 1, *end = (const char *)data + size;
    char path[512], query[1024], if_match[64];
    field(&p, end, path, sizeof path);
    field(&p, end, query, sizeof query);
    field(&p, end, if_match, sizeof if_match);
    ob_err e = {0};
    ob_http_form q = {0}, form = {0};
    if (ob_http_form_decode(query, strlen(query), false, &q, &e))
        return 0;
    json_t *body = NULL;
    size_t blen = (size_t)(end - p);
    bool is_form = strcmp(method, "POST") == 0 && strstr(path, "_search") != NULL;
    if (is_form && ob_http_form_decode(p, blen, true, &form, &e)) {
        ob_http_form_release(&q);
        return 0;
    }
    if (!is_form && blen && ob_http_json_parse(p, blen, &body, &e))
        body = NULL;
    ob_api_param params[2 * OB_HTTP_MAX_PARAMS];
    size_t np = 0;
    for (size_t i = 0; i < q.n && np < OB_HTTP_MAX_PARAMS; i++)
        params[np++] = q.params[i];
    for (size_t i = 0; i < form.n && np < 2 * OB_HTTP_MAX_PARAMS; i++)
        params[np++] = form.params[i];
    ob_caller c = *who;
    c.now = ob_time_now();
    bool ignored[2 * OB_HTTP_MAX_PARAMS] = {0}; /* bit 4 of the first byte: handling=lenient */
    ob_api_request rq = {method,
                         path[0] ? path : "/",
                         params,
                         np,
                         body,
                         "http://127.0.0.1:8080/fhir",
                         if_match[0] ? if_match : NULL,
                         (data[0] & 16) ? ignored : NULL,
                         NULL,
                         NULL,
                         false};
    ob_api_response out;
    ob_status st = ob_api_handle(hub, &c, &rq, &out, &e);
    if (st == OB_OK) {
        if (out.status < 200 || out.status > 599)
            abort();
        if (out.status >= 400) {
            if (!ob_api_response_parse(&out))
                abort();
            json_t *issue = json_array_get(json_object_get(out.body, "issue"), 0);
            const char *rt = json_string_value(json_object_get(out.body, "resourceType"));
            const char *diag = json_string_value(json_object_get(issue, "diagnostics"));
            if (!rt || strcmp(rt, "OperationOutcome") != 0 || !diag || ob_cpr_in_text(diag)) {
                char *t = json_dumps(out.body, JSON_COMPACT);
                fprintf(stderr, "fuzz_api: %s %s: %d %.500s\n", method, path, out.status,
                        t ? t : "?");
                abort();
            }
        } else if (ob_api_response_parse(&out)) { /* R-CPR-2: no CPR in a Bundle's links */
            size_t i;
            json_t *l;
            json_array_foreach(json_object_get(out.body, "link"), i, l)
            {
                const char *url = json_string_value(json_object_get(l, "url"));
                if (!url || ob_cpr_in_text(url)) {
                    fprintf(stderr, "fuzz_api: %s %s: a link %s\n", method, path,
                            url ? url : "without url");
                    abort();
                }
            }
        }
        ob_api_response_release(&out);
    }
    json_decref(body);
    ob_http_form_release(&q);
    ob_http_form_release(&form);
    return 0;
}

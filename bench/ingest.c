/* ingest.c - how fast a source system's data goes in (issue 20): resources/s stored with
 * their log entries, durably (the hub's own database: WAL, synchronous=FULL), through the
 * FHIR API in process (ob_api_handle: the body parsed as the HTTP layer parses it, then
 * validated, checked, decided, stored and logged).
 *
 * Alternating rounds of:
 *   "tx"      transaction Bundles of --size resources (a quarter each MedicationStatement,
 *             Immunization, DocumentReference, Appointment), one commit per Bundle;
 *   "single"  the same kind of resources POSTed one by one (one commit each): the ratio
 *             between the two is what a Bundle buys.
 * World: one hospital, its source system, --patients patients. Every round writes new
 * identifiers. --clients N sends the Bundles from N threads at once (as the server's
 * worker threads take requests from several connections): one client's Bundle is checked
 * while another's is committed.
 * Usage: bench_ingest [--patients N] [--size N] [--bundles N] [--rounds N] [--clients N] */
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "core/cpr.h"
#include "service/hub.h"
#include "store/store.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct lines {
    char **v;
    size_t n, i;
} lines;

static json_t *next(void *ctx, size_t *line, ob_err *e)
{
    (void)e;
    lines *l = ctx;
    if (l->i >= l->n)
        return NULL;
    *line = l->i + 1;
    return json_loads(l->v[l->i++], 0, NULL);
}

static char (*cprs)[12];
static size_t npat;

/* Resource k of kind k % 4 for patient k % npat, identifier <tag>-<k>. */
static int resource(char *b, size_t cap, const char *tag, size_t k)
{
    const char *cpr = cprs[k % npat];
    switch (k % 4) {
    case 0:
        return snprintf(b, cap,
                        "{\"resourceType\":\"MedicationStatement\",\"identifier\":[{\"system\":"
                        "\"urn:b:med\",\"value\":\"%s-%zu\"}],\"status\":\"active\","
                        "\"medicationCodeableConcept\":{\"coding\":[{\"system\":\"http://"
                        "www.whocc.no/atc\",\"code\":\"C09AA05\"}],\"text\":\"Ramipril 5 mg\"},"
                        "\"subject\":{\"identifier\":{\"system\":\"urn:oid:1.2.208.176.1.2\","
                        "\"value\":\"%s\"}},\"effectiveDateTime\":\"2026-01-05T00:00:00Z\","
                        "\"dosage\":[{\"text\":\"1 tablet dagligt\"}]}",
                        tag, k, cpr);
    case 1:
        return snprintf(b, cap,
                        "{\"resourceType\":\"Immunization\",\"identifier\":[{\"system\":"
                        "\"urn:b:vac\",\"value\":\"%s-%zu\"}],\"status\":\"completed\","
                        "\"vaccineCode\":{\"coding\":[{\"system\":\"http://www.whocc.no/atc\","
                        "\"code\":\"J07BB02\"}]},\"patient\":{\"identifier\":{\"system\":"
                        "\"urn:oid:1.2.208.176.1.2\",\"value\":\"%s\"}},\"occurrenceDateTime\":"
                        "\"2026-10-01T10:00:00Z\"}",
                        tag, k, cpr);
    case 2:
        return snprintf(b, cap,
                        "{\"resourceType\":\"DocumentReference\",\"identifier\":[{\"system\":"
                        "\"urn:b:doc\",\"value\":\"%s-%zu\"}],\"status\":\"current\",\"type\":{"
                        "\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"11506-3\"}]},"
                        "\"subject\":{\"identifier\":{\"system\":\"urn:oid:1.2.208.176.1.2\","
                        "\"value\":\"%s\"}},\"date\":\"2026-11-02T08:30:00Z\",\"content\":[{"
                        "\"attachment\":{\"contentType\":\"text/plain\",\"data\":"
                        "\"U3ludGV0aXNrIG5vdGF0OiBwYXRpZW50ZW4gaGFyIGRldCBnb2R0Lg==\"}}]}",
                        tag, k, cpr);
    default:
        return snprintf(b, cap,
                        "{\"resourceType\":\"Appointment\",\"identifier\":[{\"system\":"
                        "\"urn:b:booking\",\"value\":\"%s-%zu\"}],\"status\":\"booked\","
                        "\"start\":\"2027-01-10T09:00:00Z\",\"participant\":[{\"actor\":{"
                        "\"identifier\":{\"system\":\"urn:oid:1.2.208.176.1.2\",\"value\":"
                        "\"%s\"}},\"status\":\"accepted\"}]}",
                        tag, k, cpr);
    }
}

static const char *type_of(size_t k)
{
    static const char *const t[] = {"MedicationStatement", "Immunization", "DocumentReference",
                                    "Appointment"};
    return t[k % 4];
}

/* One call; exits on an unexpected status. */
static void call(ob_hub *h, const ob_caller *c, const char *path, const char *text, int want)
{
    json_t *body = json_loads(text, 0, NULL); /* as the transport parses it */
    ob_api_request rq = {"POST", path, NULL, 0,    body, "http://bench/fhir",
                         NULL,   NULL, NULL, NULL, false};
    ob_api_response r;
    ob_err e = {0};
    if (ob_api_handle(h, c, &rq, &r, &e) != OB_OK || r.status != want) {
        ob_api_response_parse(&r);
        char *t = r.body ? json_dumps(r.body, 0) : NULL;
        fprintf(stderr, "bench: %s answered %d: %.400s %s\n", path, r.status, t ? t : "", e.msg);
        exit(1);
    }
    ob_api_response_release(&r);
    json_decref(body);
}

struct client {
    ob_hub *h;
    const ob_caller *c;
    char **texts;
    size_t from, to;
};

static void *client(void *arg)
{
    struct client *k = arg;
    for (size_t b = k->from; b < k->to; b++)
        call(k->h, k->c, "/", k->texts[b], 200);
    return NULL;
}

int main(int argc, char **argv)
{
    size_t patients = 1000, size = 1000, bundles = 20, rounds = 3, clients = 1;
    for (int i = 1; i + 1 < argc; i += 2) {
        size_t v = strtoull(argv[i + 1], NULL, 10);
        if (!strcmp(argv[i], "--patients"))
            patients = v;
        else if (!strcmp(argv[i], "--size"))
            size = v;
        else if (!strcmp(argv[i], "--bundles"))
            bundles = v;
        else if (!strcmp(argv[i], "--rounds"))
            rounds = v;
        else if (!strcmp(argv[i], "--clients"))
            clients = v;
    }
    if (sodium_init() < 0 || !patients || !size || size > 2000 || !bundles || !clients ||
        clients > 16) {
        fprintf(stderr, "usage: bench_ingest [--patients N] [--size 1..2000] [--bundles N] "
                        "[--rounds N] [--clients 1..16]\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    char db[256], key[256];
    const char *dir = getenv("TMPDIR");
    snprintf(db, sizeof db, "%s/bench-ingest-%ld.db", dir ? dir : "/tmp", (long)getpid());
    ob_hub_key_path(db, key, sizeof key);
    ob_keys k;
    ob_err e = {0};
    ob_hub *h;
    ob_hub_options o = {.db_path = db};
    if (ob_keys_generate(&k, &e) || ob_keys_save(&k, key, &e) || ob_hub_open(&o, &h, &e)) {
        fprintf(stderr, "bench: %s\n", e.msg);
        return 1;
    }
    /* the world: a hospital, its source system, patients with valid CPR numbers */
    npat = patients;
    cprs = calloc(npat, sizeof *cprs);
    lines l = {calloc(npat + 3, sizeof(char *)), 0, 0};
    l.v[l.n++] = strdup("{\"type\":\"org\",\"id\":\"h\",\"kind\":\"hospital\",\"name\":\"H\"}");
    l.v[l.n++] = strdup("{\"type\":\"source\",\"client_id\":\"h-sys\",\"site\":\"h\","
                        "\"go_live\":\"2020-01-01\",\"name\":\"EPJ\"}");
    for (size_t i = 0; i < npat; i++) {
        ob_cpr c;
        ob_cpr_make(1940 + (int)(i % 60), 1 + (int)(i % 12), 1 + (int)(i % 28), (int)(i % 997),
                    (int)(i & 1), &c);
        snprintf(cprs[i], sizeof cprs[i], "%.10s", c.digits);
        char line[256];
        snprintf(line, sizeof line,
                 "{\"type\":\"patient\",\"id\":\"p%zu\",\"name\":\"P %zu\",\"cpr\":\"%.10s\"}", i,
                 i, c.digits);
        l.v[l.n++] = strdup(line);
    }
    size_t count;
    if (ob_hub_import(h, next, &l, NULL, NULL, &count, &e)) {
        fprintf(stderr, "bench: import: %s\n", e.msg);
        return 1;
    }
    ob_caller c;
    memset(&c, 0, sizeof c);
    c.kind = OB_ACTOR_SOURCE_SYSTEM;
    c.actor = c.on_behalf_of = OB_NONE;
    c.acting_org = ob_index_find_org(h->ix, "h");
    c.purpose = (uint8_t)ob_purpose_parse("TREAT");
    c.purposes = OB_PURPOSES_ALL;
    snprintf(c.client_id, sizeof c.client_id, "h-sys");
    size_t cap = size * 1024 + 256;
    char res[1024];
    printf("world: 1 source, %zu patients; a Bundle holds %zu resources; %zu client(s)\n", npat,
           size, clients);
    printf("| round | mode | resources | seconds | resources/s |\n|---|---|---|---|---|\n");
    for (size_t round = 0; round < rounds; round++) {
        char tag[64];
        c.now = ob_time_now();
        /* transaction Bundles, written out first: the clock times the server's part */
        char **texts = calloc(bundles, sizeof *texts);
        for (size_t b = 0; b < bundles; b++) {
            snprintf(tag, sizeof tag, "r%zub%zu", round, b);
            char *text = texts[b] = malloc(cap);
            size_t n = (size_t)snprintf(text, cap,
                                        "{\"resourceType\":\"Bundle\",\"type\":\"transaction\","
                                        "\"entry\":[");
            for (size_t i = 0; i < size; i++) {
                resource(res, sizeof res, tag, i);
                n += (size_t)snprintf(text + n, cap - n,
                                      "%s{\"request\":{\"method\":\"POST\",\"url\":\"%s\"},"
                                      "\"resource\":%s}",
                                      i ? "," : "", type_of(i), res);
            }
            snprintf(text + n, cap - n, "]}");
        }
        double t0 = now();
        pthread_t th[16];
        struct client ks[16];
        for (size_t t = 0; t < clients; t++) {
            ks[t] =
                (struct client){h, &c, texts, bundles * t / clients, bundles * (t + 1) / clients};
            pthread_create(&th[t], NULL, client, &ks[t]);
        }
        for (size_t t = 0; t < clients; t++)
            pthread_join(th[t], NULL);
        double dt = now() - t0;
        for (size_t b = 0; b < bundles; b++)
            free(texts[b]);
        free(texts);
        printf("| %zu | tx | %zu | %.2f | %.0f |\n", round, bundles * size, dt,
               (double)(bundles * size) / dt);
        /* the same kind of resources one by one: fewer, it is slower */
        size_t singles = size;
        t0 = now();
        for (size_t i = 0; i < singles; i++) {
            snprintf(tag, sizeof tag, "r%zus", round);
            resource(res, sizeof res, tag, i);
            char path[64];
            snprintf(path, sizeof path, "/%s", type_of(i));
            call(h, &c, path, res, 201);
        }
        dt = now() - t0;
        printf("| %zu | single | %zu | %.2f | %.0f |\n", round, singles, dt, (double)singles / dt);
    }
    for (size_t i = 0; i < l.n; i++)
        free(l.v[i]);
    free(l.v);
    free(cprs);
    ob_hub_close(h);
    ob_keys_remove(key);
    ob_store_remove(db);
    return 0;
}

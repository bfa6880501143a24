/* test_apt_cache.c - the appointment cache (service/appointment.h) under concurrency and
 * under writes that move an appointment: whatever a search returns after a write has
 * answered must be what that write left (R-APT-1, R-APT-2). Drives the FHIR API
 * (ob_api_handle) on a real hub and SQLite database, from several threads where the
 * race needs them. docs/security.md, "Concurrency and caches": T-CONC-1, T-CONC-2. */
#include "unit/api/api_fixture.h"

#include <pthread.h>
#include <stdatomic.h>

#define EXT_SHARED "https://overblik.dk/fhir/StructureDefinition/shared"

/* An Appointment of gp1-sys (site gp-1) with identifier urn:src:booking|<ident>. */
static char *body(const char *ident, const char *cpr, const char *status, bool shared)
{
    static char buf[4][1024];
    static int k;
    char *b = buf[k++ % 4];
    snprintf(b, 1024,
             "{\"resourceType\":\"Appointment\",\"identifier\":[{\"system\":\"urn:src:booking\","
             "\"value\":\"%s\"}],\"status\":\"%s\",\"start\":\"2026-12-03T09:00:00Z\","
             "\"participant\":[{\"actor\":{\"identifier\":{\"system\":\"urn:oid:1.2.208.176.1.2\","
             "\"value\":\"%s\"}},\"status\":\"accepted\"}],"
             "\"extension\":[{\"url\":\"" EXT_SHARED "\",\"valueBoolean\":%s}]}",
             ident, status, cpr, shared ? "true" : "false");
    return b;
}

/* Writes (PUT ?identifier=) as gp1-sys; returns the FHIR id ("apt-<n>") into id. */
static void put(af *f, const char *ident, const char *cpr, const char *status, bool shared,
                char *id, size_t cap)
{
    ob_caller s = af_source(f, "gp1-sys", "gp-1");
    char key[96];
    snprintf(key, sizeof key, "identifier=urn:src:booking|%s", ident);
    const char *params[] = {key, NULL};
    ob_api_response r;
    af_call(f, &s, "PUT", "/Appointment", params, body(ident, cpr, status, shared), &r);
    if (r.status != 200 && r.status != 201)
        fail_msg("PUT %s: %d", ident, r.status);
    if (id)
        snprintf(id, cap, "%s", json_string_value(json_object_get(r.body, "id")));
    ob_api_response_release(&r);
}

/* ---- T-CONC-1: a read that starts after a write sees it ---- */

/* A statistics scan (every data item) that stops at its first row until released: a
 * statement left running on another thread, as a long scan under load leaves one. */
typedef struct scan {
    ob_hub *h;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool started, release;
    ob_status rc;
} scan;

static ob_status scan_row(void *ctx, const ob_item *it, ob_err *e)
{
    (void)it;
    (void)e;
    scan *s = ctx;
    pthread_mutex_lock(&s->mu);
    if (!s->started) {
        s->started = true;
        pthread_cond_broadcast(&s->cv);
        while (!s->release)
            pthread_cond_wait(&s->cv, &s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return OB_OK;
}

static void *scan_thread(void *arg)
{
    scan *s = arg;
    ob_err e = {0};
    s->rc = ob_store_each_item(s->h->store, NULL, NULL, scan_row, s, &e);
    if (!s->started) { /* no row: let the test go on (it then fails on its own check) */
        pthread_mutex_lock(&s->mu);
        s->started = true;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
    }
    return NULL;
}

static const char *const P_ANNA[] = {"patient=Patient/anna", NULL};

static bool shows(af *f, const ob_caller *c, const char *const *params, const char *id)
{
    ob_api_response r;
    af_call(f, c, "GET", "/Appointment", params, NULL, &r);
    assert_int_equal(r.status, 200);
    char want[64];
    snprintf(want, sizeof want, "/Appointment/%s\"", id);
    bool has = af_has(&r, want);
    ob_api_response_release(&r);
    return has;
}

/* Cancelled and unshared while a long statement runs on another thread: the next search
 * (cache dropped by the write, so it reads the database) must not show it, now or later.
 * With one connection shared by every thread, the scan pinned the connection's read
 * snapshot from before the write; the search read the booked row from it and cached it. */
static void read_after_write_under_scan(void **state)
{
    (void)state;
    af f;
    af_open(&f, "conc-snap");
    af_load_anna_items(&f); /* data items, so that the scan has a row to stop at */
    char id[32];
    put(&f, "snap-1", AF_CPR_ANNA, "booked", true, id, sizeof id);
    ob_caller anna = af_citizen(&f, "anna", NULL), gp = af_pro(&f, "gp1-dr", "gp-1", NULL);
    assert_true(shows(&f, &anna, P_ANNA, id)); /* cached */
    scan s = {.h = f.h};
    pthread_mutex_init(&s.mu, NULL);
    pthread_cond_init(&s.cv, NULL);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, scan_thread, &s), 0);
    pthread_mutex_lock(&s.mu);
    while (!s.started)
        pthread_cond_wait(&s.cv, &s.mu);
    pthread_mutex_unlock(&s.mu);
    put(&f, "snap-1", AF_CPR_ANNA, "cancelled", false, NULL, 0); /* answered: committed */
    bool during = shows(&f, &anna, P_ANNA, id), during_gp = shows(&f, &gp, P_ANNA, id);
    pthread_mutex_lock(&s.mu);
    s.release = true;
    pthread_cond_broadcast(&s.cv);
    pthread_mutex_unlock(&s.mu);
    pthread_join(t, NULL);
    assert_int_equal(s.rc, OB_OK);
    bool after = shows(&f, &anna, P_ANNA, id);
    if (during || during_gp || after)
        fail_msg("R-APT-2: the cancelled, unshared appointment was still shown (during the scan "
                 "to the patient: %d, to the GP: %d; after it: %d)",
                 during, during_gp, after);
    pthread_cond_destroy(&s.cv);
    pthread_mutex_destroy(&s.mu);
    af_close(&f);
}

/* Many threads search while one rewrites appointments (shared/unshared in turn) and a
 * scan runs: after each write has answered, a search started afterwards shows exactly
 * what it wrote. */
typedef struct load {
    af *f;
    atomic_bool stop;
    atomic_int errors;
} load;

static void *searcher(void *arg)
{
    load *l = arg;
    ob_caller anna = af_citizen(l->f, "anna", NULL);
    while (!atomic_load(&l->stop)) {
        ob_api_response r;
        ob_api_request rq = {"GET", "/Appointment", NULL, 0,    NULL, "http://localhost/fhir",
                             NULL,  NULL,           NULL, NULL, false};
        ob_api_param p = {"patient", "Patient/anna", false};
        rq.params = &p;
        rq.nparams = 1;
        ob_err e = {0};
        if (ob_api_handle(l->f->h, &anna, &rq, &r, &e) || r.status != 200)
            atomic_fetch_add(&l->errors, 1);
        ob_api_response_release(&r);
    }
    return NULL;
}

static ob_status scan_all(void *ctx, const ob_item *it, ob_err *e)
{
    (void)ctx;
    (void)it;
    (void)e;
    return OB_OK;
}

static void *scanner(void *arg)
{
    load *l = arg;
    while (!atomic_load(&l->stop)) {
        ob_err e = {0};
        if (ob_store_each_item(l->f->h->store, NULL, NULL, scan_all, NULL, &e))
            atomic_fetch_add(&l->errors, 1);
    }
    return NULL;
}

static void writes_seen_under_load(void **state)
{
    (void)state;
    af f;
    af_open(&f, "conc-load");
    af_load_anna_items(&f);
    load l = {.f = &f};
    atomic_init(&l.stop, false);
    atomic_init(&l.errors, 0);
    pthread_t ts[4];
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&ts[i], NULL, searcher, &l), 0);
    assert_int_equal(pthread_create(&ts[3], NULL, scanner, &l), 0);
    ob_caller anna = af_citizen(&f, "anna", NULL);
    int stale = 0;
    char id[32];
    for (int i = 0; i < 60; i++) {
        bool shared = i % 2 == 0;
        put(&f, "load-1", AF_CPR_ANNA, shared ? "booked" : "cancelled", shared, id, sizeof id);
        if (shows(&f, &anna, P_ANNA, id) != shared)
            stale++;
    }
    atomic_store(&l.stop, true);
    for (int i = 0; i < 4; i++)
        pthread_join(ts[i], NULL);
    assert_int_equal(atomic_load(&l.errors), 0);
    if (stale)
        fail_msg("%d of 60 writes were not seen by the next search", stale);
    af_close(&f);
}

/* ---- T-CONC-2: a moved appointment leaves every cached view of its old patient ---- */

#define BODY_ANNA                                                                                  \
    "{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"patient\",\"valueReference\":{"   \
    "\"reference\":\"Patient/anna\"}}]}"

/* Every view that reads a patient's cached rows (ob_hub_apt_candidates), as the caller
 * who sees it: whether it shows `id`. */
typedef struct view {
    const char *why, *who, *method, *path;
    const char *params[3];
    const char *body;
} view;

static const view VIEWS_ANNA[] = {
    {"the patient's own search", "anna", "GET", "/Appointment", {"patient=Patient/anna"}, NULL},
    {"the GP's search", "gp1-dr", "GET", "/Appointment", {"patient=Patient/anna"}, NULL},
    {"the GP's POST _search",
     "gp1-dr",
     "POST",
     "/Appointment/_search",
     {"@patient=Patient/anna"},
     NULL},
    {"the GP's overview", "gp1-dr", "POST", "/Patient/$overview", {NULL}, BODY_ANNA},
    {"the GP's Patient search with _revinclude",
     "gp1-dr",
     "GET",
     "/Patient",
     {"_id=anna", "_revinclude=Appointment:patient"},
     NULL},
};

static bool view_shows(af *f, const view *v, const char *id)
{
    ob_caller c = strcmp(v->who, "anna") == 0 || strcmp(v->who, "bent") == 0
                      ? af_citizen(f, v->who, NULL)
                      : af_pro(f, v->who, "gp-1", NULL);
    ob_api_response r;
    af_call(f, &c, v->method, v->path, v->params, v->body, &r);
    if (r.status != 200)
        fail_msg("%s: %d", v->why, r.status);
    char want[64];
    snprintf(want, sizeof want, "/Appointment/%s\"", id);
    bool has = af_has(&r, want);
    ob_api_response_release(&r);
    return has;
}

static void moved_leaves_old_patient(void **state)
{
    (void)state;
    af f;
    af_open(&f, "conc-move");
    char id[32];
    put(&f, "move-1", AF_CPR_ANNA, "booked", true, id, sizeof id); /* misfiled on anna */
    const size_t nv = sizeof VIEWS_ANNA / sizeof VIEWS_ANNA[0];
    for (size_t i = 0; i < nv; i++) /* each view shows it, and anna's rows are cached */
        if (!view_shows(&f, &VIEWS_ANNA[i], id))
            fail_msg("before the move, %s does not show it", VIEWS_ANNA[i].why);
    const view bent = {"bent's own search",      "bent", "GET", "/Appointment",
                       {"patient=Patient/bent"}, NULL};
    assert_false(view_shows(&f, &bent, id));                 /* bent's rows cached too */
    put(&f, "move-1", AF_CPR_BENT, "booked", true, NULL, 0); /* the source corrects it */
    for (size_t i = 0; i < nv; i++)
        if (view_shows(&f, &VIEWS_ANNA[i], id))
            fail_msg("after the move to another patient, %s still shows it", VIEWS_ANNA[i].why);
    assert_true(view_shows(&f, &bent, id));
    ob_caller anna = af_citizen(&f, "anna", NULL);
    ob_api_response r;
    char path[64];
    snprintf(path, sizeof path, "/Appointment/%s", id);
    af_call(&f, &anna, "GET", path, NULL, NULL, &r);
    assert_int_equal(r.status, 404);
    ob_api_response_release(&r);
    af_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(read_after_write_under_scan),
        cmocka_unit_test(writes_seen_under_load),
        cmocka_unit_test(moved_leaves_old_patient),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

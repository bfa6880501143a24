/* test_paging.c - Bundle.link on searchsets: "self", the search as the server did it (FHIR
 * R4 search.html: a server SHALL return the parameters it used), and "next" and "previous",
 * which a FHIR client pages by following. They name the patient by internal id, never by CPR
 * (R-CPR-2), keep the search's other parameters, and appear only when the caller may see something,
 * so a hidden patient still answers like an absent one. */
#include "api_fixture.h"

enum who { GP1, GP2, ANNA };

typedef struct row {
    const char *why;
    enum who who;
    const char *method, *path;
    const char *params[5];
    const char *next, *previous; /* substrings of the link URLs; NULL: no such link */
    const char *twin[4];         /* a search about nobody that must answer the same */
    const char *self;            /* the whole self link; NULL: none */
} row;

#define BASE "http://localhost/fhir"

static const row rows[] = {
    {"a first page links to the next",
     GP1,
     "GET",
     "/Appointment",
     {"patient=Patient/anna", "_count=1"},
     BASE "/Appointment?patient=Patient/anna&_count=1&_offset=1",
     NULL,
     {NULL},
     BASE "/Appointment?patient=Patient/anna&_count=1"},
    {"a last page links back",
     GP1,
     "GET",
     "/Appointment",
     {"patient=Patient/anna", "_count=1", "_offset=1"},
     NULL,
     BASE "/Appointment?patient=Patient/anna&_count=1&_offset=0",
     {NULL},
     BASE "/Appointment?patient=Patient/anna&_count=1&_offset=1"},
    {"one page: no links",
     GP1,
     "GET",
     "/Appointment",
     {"patient=Patient/anna"},
     NULL,
     NULL,
     {NULL},
     BASE "/Appointment?patient=Patient/anna"},
    {"R-CPR-2 a search by CPR in the body links by internal id",
     GP1,
     "POST",
     "/Appointment/_search",
     {"@patient.identifier=urn:oid:1.2.208.176.1.2|" AF_CPR_ANNA, "@_count=1"},
     BASE "/Appointment?patient=Patient/anna&_count=1&_offset=1",
     NULL,
     {NULL},
     BASE "/Appointment?patient=Patient/anna&_count=1"},
    {"the search's other parameters are kept, encoded",
     GP1,
     "GET",
     "/Appointment",
     {"patient=Patient/anna", "_include=Appointment:patient", "_count=1"},
     "?patient=Patient/anna&_include=Appointment:patient&_count=1&_offset=1",
     NULL,
     {NULL},
     BASE "/Appointment?patient=Patient/anna&_include=Appointment:patient&_count=1"},
    {"a citizen's own search, no patient named",
     ANNA,
     "GET",
     "/Condition",
     {"_count=1"},
     BASE "/Condition?patient=Patient/anna&_count=1&_offset=1",
     NULL,
     {NULL},
     BASE "/Condition?patient=Patient/anna&_count=1"},
    {"leak: a hidden patient's page has no links, like an absent one",
     GP2,
     "GET",
     "/Appointment",
     {"patient=Patient/anna", "_count=1", "_offset=1"},
     NULL,
     NULL,
     {"patient=Patient/nobody", "_count=1", "_offset=1"},
     BASE "/Appointment?patient=Patient/anna&_count=1&_offset=1"},
    {"R-LOG-3 the patient pages through their log",
     ANNA,
     "GET",
     "/AuditEvent",
     {"_count=1", "date=ge2020-01-01"},
     BASE "/AuditEvent?patient=Patient/anna&date=ge2020-01-01&_at=",
     NULL,
     {NULL},
     BASE "/AuditEvent?patient=Patient/anna&_count=1&date=ge2020-01-01&_at="},
    {"_count=0 asks for the total only: no next",
     GP1,
     "GET",
     "/Appointment",
     {"patient=Patient/anna", "_count=0"},
     NULL,
     NULL,
     {NULL},
     BASE "/Appointment?patient=Patient/anna&_count=0"},
    {"_count above the cap: self states the count applied, 500, not the 1000 asked (issue 25)",
     GP1,
     "GET",
     "/Appointment",
     {"patient=Patient/anna", "_count=1000"},
     NULL,
     NULL,
     {NULL},
     BASE "/Appointment?patient=Patient/anna&_count=500"},
    {"a self link says which search was done, the hidden patient's as asked",
     GP2,
     "GET",
     "/Appointment",
     {"patient=Patient/anna", "status=booked"},
     NULL,
     NULL,
     {"patient=Patient/nobody", "status=booked"},
     BASE "/Appointment?patient=Patient/anna&status=booked"},
    {"R-CPR-2 a search by CPR that finds nothing visible has no self link (nor a CPR)",
     GP2,
     "POST",
     "/Appointment/_search",
     {"@patient.identifier=urn:oid:1.2.208.176.1.2|" AF_CPR_ANNA},
     NULL,
     NULL,
     {"@patient.identifier=urn:oid:1.2.208.176.1.2|" AF_CPR_NONE},
     NULL},
    {"R-CPR-2 a Patient search by CPR: self names the patient by _id",
     GP1,
     "POST",
     "/Patient/_search",
     {"@identifier=urn:oid:1.2.208.176.1.2|" AF_CPR_ANNA, "_revinclude=Appointment:patient"},
     NULL,
     NULL,
     {NULL},
     BASE "/Patient?_id=anna&_revinclude=Appointment:patient"},
    {"the directory: self only",
     GP1,
     "GET",
     "/Organization",
     {"_id=gp-1"},
     NULL,
     NULL,
     {NULL},
     BASE "/Organization?_id=gp-1"},
    {"a patient's blocks and consents: self by internal id",
     ANNA,
     "GET",
     "/Consent",
     {NULL},
     NULL,
     NULL,
     {NULL},
     BASE "/Consent"},
};

static const char *link_url(const ob_api_response *r, const char *relation)
{
    size_t i;
    json_t *l;
    json_array_foreach(json_object_get(r->body, "link"), i, l)
    {
        if (strcmp(json_string_value(json_object_get(l, "relation")), relation) == 0)
            return json_string_value(json_object_get(l, "url"));
    }
    return NULL;
}

static void check_link(const row *w, const ob_api_response *r, const char *relation,
                       const char *want)
{
    const char *got = link_url(r, relation);
    if (!want && got)
        fail_msg("%s: unexpected %s link %s", w->why, relation, got);
    if (want && (!got || !strstr(got, want)))
        fail_msg("%s: %s link %s, wanted %s", w->why, relation, got ? got : "(none)", want);
    if (got && (strstr(got, "0101901234") || strstr(got, AF_CPR_ANNA) || strstr(got, "1.2.208")))
        fail_msg("%s: a CPR in a link (R-CPR-2)", w->why);
}

static void rows_hold(void **state)
{
    (void)state;
    af f;
    af_open(&f, "paging");
    af_load_anna_items(&f);
    ob_caller gp1 = af_pro(&f, "gp1-dr", "gp-1", NULL);
    ob_api_response r;
    for (int i = 0; i < 3; i++) { /* entries for the log rows */
        const char *p[] = {"patient=Patient/anna", NULL};
        af_call(&f, &gp1, "GET", "/Appointment", p, NULL, &r);
        ob_api_response_release(&r);
    }
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const row *w = &rows[i];
        ob_caller c = w->who == GP1   ? gp1
                      : w->who == GP2 ? af_pro(&f, "gp2-dr", "gp-2", NULL)
                                      : af_citizen(&f, "anna", NULL);
        af_call(&f, &c, w->method, w->path, w->params, NULL, &r);
        if (r.status != 200)
            fail_msg("%s: status %d", w->why, r.status);
        check_link(w, &r, "next", w->next);
        check_link(w, &r, "previous", w->previous);
        const char *self = link_url(&r, "self");
        /* an expectation ending in '=' leaves the value open (the log's snapshot, _at=) */
        size_t cmp = w->self && w->self[strlen(w->self) - 1] == '=' ? strlen(w->self) : (size_t)-1;
        if (!w->self != !self || (self && strncmp(self, w->self, cmp) != 0))
            fail_msg("%s: self link %s, wanted %s", w->why, self ? self : "(none)",
                     w->self ? w->self : "(none)");
        if (w->twin[0]) /* hidden equals absent, byte for byte */
            af_same_as(&f, &c, w->method, w->path, w->twin, &r, w->why);
        ob_api_response_release(&r);
    }
    af_close(&f);
}

/* Following "next" from the first page visits every match once. */
static void following_next_visits_all(void **state)
{
    (void)state;
    af f;
    af_open(&f, "paging-follow");
    af_load_anna_items(&f);
    ob_caller gp1 = af_pro(&f, "gp1-dr", "gp-1", NULL);
    char seen[512] = "";
    char query[512] = "patient=Patient/anna&_count=1";
    int pages = 0;
    for (;;) {
        /* the link's query split into parameters (nothing in it needs decoding here) */
        const char *params[8];
        char buf[512];
        snprintf(buf, sizeof buf, "%s", query);
        size_t n = 0;
        for (char *sv = NULL, *p = strtok_r(buf, "&", &sv); p && n < 7;
             p = strtok_r(NULL, "&", &sv))
            params[n++] = p;
        params[n] = NULL;
        ob_api_response r;
        af_call(&f, &gp1, "GET", "/Appointment", params, NULL, &r);
        assert_int_equal(r.status, 200);
        assert_int_equal(af_total(&r), 2);
        const char *id = json_string_value(json_object_get(
            json_object_get(json_array_get(json_object_get(r.body, "entry"), 0), "resource"),
            "id"));
        assert_non_null(id);
        assert_null(strstr(seen, id)); /* no match twice */
        size_t at = strlen(seen);
        snprintf(seen + at, sizeof seen - at, "%s,", id);
        pages++;
        const char *next = link_url(&r, "next");
        if (!next) {
            ob_api_response_release(&r);
            break;
        }
        const char *q = strchr(next, '?');
        assert_non_null(q);
        snprintf(query, sizeof query, "%s", q + 1);
        ob_api_response_release(&r);
        assert_true(pages < 10);
    }
    assert_int_equal(pages, 2);
    af_close(&f);
}

/* Prefer: handling=lenient (FHIR search.html#errors): a parameter the search does not
 * know is ignored, not refused, and left out of the links a client pages with; a known
 * parameter with a bad value is still a 400. One row per request. */
static void lenient_rows(void **state)
{
    (void)state;
    af f;
    af_open(&f, "paging-lenient");
    af_load_anna_items(&f);
    ob_caller gp1 = af_pro(&f, "gp1-dr", "gp-1", NULL), anna = af_citizen(&f, "anna", NULL);
    const struct {
        const char *why;
        bool lenient;
        const ob_caller *who;
        const char *path;
        const char *params[4];
        int status;
        int ignored;      /* index of the parameter reported ignored, or -1 */
        const char *next; /* substring of the next link, or NULL */
    } lrows[] = {
        {"strict: an unknown parameter is refused",
         false,
         &gp1,
         "/Appointment",
         {"patient=Patient/anna", "colour=red", "_count=1"},
         400,
         -1,
         NULL},
        {"lenient: it is ignored, and not in the next link",
         true,
         &gp1,
         "/Appointment",
         {"patient=Patient/anna", "colour=red", "_count=1"},
         200,
         1,
         "/Appointment?patient=Patient/anna&_count=1&_offset=1"},
        {"lenient: the known parameters still narrow",
         true,
         &gp1,
         "/Appointment",
         {"patient=Patient/anna", "status=cancelled", "colour=red"},
         200,
         2,
         NULL},
        {"lenient: a bad value of a known parameter is still a 400",
         true,
         &gp1,
         "/Appointment",
         {"patient=Patient/anna", "_count=many", "colour=red"},
         400,
         2,
         NULL},
        {"lenient: _total with a bad value is still a 400",
         true,
         &gp1,
         "/Appointment",
         {"patient=Patient/anna", "_total=exact"},
         400,
         -1,
         NULL},
        {"lenient: the patient's own log",
         true,
         &anna,
         "/AuditEvent",
         {"colour=red", "_count=1"},
         200,
         0,
         "/AuditEvent?patient=Patient/anna&_at="},
        {"lenient: a read by id", true, &anna, "/Patient/anna", {"colour=red"}, 200, 0, NULL},
    };
    for (size_t i = 0; i < sizeof lrows / sizeof lrows[0]; i++) {
        f.lenient = lrows[i].lenient;
        ob_api_response r;
        af_call(&f, lrows[i].who, "GET", lrows[i].path, lrows[i].params, NULL, &r);
        if (r.status != lrows[i].status)
            fail_msg("%s: status %d", lrows[i].why, r.status);
        for (int k = 0; k < 4 && lrows[i].params[k]; k++)
            if (f.ignored[k] != (k == lrows[i].ignored))
                fail_msg("%s: parameter %d ignored: %d", lrows[i].why, k, (int)f.ignored[k]);
        const char *next = r.status == 200 ? link_url(&r, "next") : NULL;
        if (lrows[i].next && (!next || !strstr(next, lrows[i].next) || strstr(next, "colour")))
            fail_msg("%s: next link %s", lrows[i].why, next ? next : "(none)");
        if (strcmp(lrows[i].why, "lenient: the known parameters still narrow") == 0 &&
            af_total(&r) != 0)
            fail_msg("%s: status=cancelled was not applied", lrows[i].why);
        ob_api_response_release(&r);
    }
    af_close(&f);
}

/* Issue 25: paging the citizen's access log is stable although every page read is itself
 * logged at the top of the list: the links pin a snapshot (_at), so following next visits
 * every entry once, none twice. */
static void log_paging_is_stable(void **state)
{
    (void)state;
    af f;
    af_open(&f, "paging-log");
    af_load_anna_items(&f);
    ob_caller anna = af_citizen(&f, "anna", NULL), gp1 = af_pro(&f, "gp1-dr", "gp-1", NULL);
    const char *P[] = {"patient=Patient/anna", NULL};
    /* this server's own full URL names a local patient (issue 25) */
    const char *FULL[] = {"patient=http://localhost/fhir/Patient/anna", NULL};
    const char *OTHER[] = {"patient=http://elsewhere.example/fhir/Patient/anna", NULL};
    ob_api_response r0, r1;
    af_call(&f, &gp1, "GET", "/Appointment", P, NULL, &r0);
    af_call(&f, &gp1, "GET", "/Appointment", FULL, NULL, &r1);
    assert_int_equal(af_total(&r0), 2);
    assert_int_equal(af_total(&r1), af_total(&r0));
    ob_api_response_release(&r1);
    af_call(&f, &gp1, "GET", "/Appointment", OTHER, NULL, &r1);
    assert_int_equal(af_total(&r1), 0); /* another server's patient is not ours */
    ob_api_response_release(&r0);
    ob_api_response_release(&r1);
    for (int i = 0; i < 6; i++) { /* entries to page through */
        ob_api_response r;
        af_call(&f, &gp1, "GET", "/Observation", P, NULL, &r);
        ob_api_response_release(&r);
    }
    char params[8][160];
    const char *pv[9] = {"_count=3", NULL};
    ob_api_response r;
    af_call(&f, &anna, "GET", "/AuditEvent", pv, NULL, &r);
    json_int_t total = af_total(&r);
    assert_true(total >= 6);
    char seen[64][24];
    size_t nseen = 0;
    for (int page = 0; page < 40; page++) {
        size_t i;
        json_t *en;
        json_array_foreach(json_object_get(r.body, "entry"), i, en)
        {
            const char *id =
                json_string_value(json_object_get(json_object_get(en, "resource"), "id"));
            for (size_t k = 0; k < nseen; k++)
                if (strcmp(seen[k], id) == 0)
                    fail_msg("page %d repeats AuditEvent %s", page, id);
            assert_true(nseen < 64);
            snprintf(seen[nseen++], sizeof seen[0], "%s", id);
        }
        const char *next = link_url(&r, "next");
        if (!next)
            break;
        /* the next link's query, as the parameters of the next call */
        const char *q = strchr(next, '?');
        assert_non_null(q);
        size_t np = 0;
        for (const char *t = q + 1; *t && np < 8;) {
            size_t len = strcspn(t, "&");
            snprintf(params[np], sizeof params[0], "%.*s", (int)len, t);
            pv[np] = params[np];
            np++;
            t += len + (t[len] == '&');
        }
        pv[np] = NULL;
        ob_api_response_release(&r);
        af_call(&f, &anna, "GET", "/AuditEvent", pv, NULL, &r);
        assert_int_equal(r.status, 200);
        assert_int_equal(af_total(&r), total); /* the same list, page after page */
    }
    ob_api_response_release(&r);
    assert_int_equal((json_int_t)nseen, total);
    af_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(log_paging_is_stable),
        cmocka_unit_test(rows_hold),
        cmocka_unit_test(following_next_visits_all),
        cmocka_unit_test(lenient_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_filters.c - search parameters that narrow a search before anything is decided:
 * date (its start) and status on Appointment, date on Observation, recorded-date on
 * Condition, code and category on Observation and Condition, _summary=count, and _sort on the
 * date (R-APT-6, R-ACC, R-LOG-1, R-BLK-4, R-API-5).
 *
 * Only the items that match go on to the engine, so the total, the block marker and the
 * log entry describe the search that was asked; a hidden patient still answers like an
 * absent one; a malformed value is a 400 that logs nothing. */
#include "api_fixture.h"
#include "http/auth.h"

enum who { GP1, GP2 };

typedef struct row {
    const char *why;
    bool psyk_blocked;
    enum who who;
    const char *path;
    const char *params[4];
    int status, total;
    bool marker;
    const char *logged, *not_logged; /* in / not in the new log entry's resource */
    const char *twin[4];             /* the same search about nobody answers alike */
} row;

#define ANNA "patient=Patient/anna"

static const row rows[] = {
    {"R-APT-6 upcoming from a day",
     false,
     GP1,
     "/Appointment",
     {ANNA, "date=ge2026-12-02"},
     200,
     1,
     false,
     "Appointment/apt-2",
     "apt-1",
     {NULL}},
    {"a bare date is that whole day",
     false,
     GP1,
     "/Appointment",
     {ANNA, "date=2026-12-01"},
     200,
     1,
     false,
     "Appointment/apt-1",
     "apt-2",
     {NULL}},
    {"repeated dates narrow the range",
     false,
     GP1,
     "/Appointment",
     {ANNA, "date=ge2026-12-01", "date=lt2026-12-02"},
     200,
     1,
     false,
     "apt-1",
     "apt-2",
     {NULL}},
    {"gt a date leaves that day out",
     false,
     GP1,
     "/Appointment",
     {ANNA, "date=gt2026-12-02"},
     200,
     0,
     false,
     NULL,
     "apt-",
     {NULL}},
    {"lt the epoch is empty, not unbounded",
     false,
     GP1,
     "/Appointment",
     {ANNA, "date=lt1970-01-01"},
     200,
     0,
     false,
     NULL,
     "apt-",
     {NULL}},
    {"a dateTime bound",
     false,
     GP1,
     "/Appointment",
     {ANNA, "date=le2026-12-01T09:00:00Z"},
     200,
     1,
     false,
     "apt-1",
     NULL,
     {NULL}},
    {"R-BLK-4 the marker only for what the search matched",
     true,
     GP1,
     "/Appointment",
     {ANNA, "date=ge2026-12-02"},
     200,
     1,
     false,
     "apt-2",
     NULL,
     {NULL}},
    {"R-BLK-4 a blocked match: the marker",
     true,
     GP1,
     "/Appointment",
     {ANNA, "date=2026-12-01"},
     200,
     0,
     true,
     NULL,
     "apt-",
     {NULL}},
    {"leak: a date search about a hidden patient answers like an absent one",
     false,
     GP2,
     "/Appointment",
     {ANNA, "date=ge2026-12-01"},
     200,
     0,
     false,
     NULL,
     "apt-",
     {"patient=Patient/nobody", "date=ge2026-12-01"}},
    {"Observation code as LOINC",
     false,
     GP1,
     "/Observation",
     {ANNA, "code=http://loinc.org|8480-6"},
     200,
     1,
     false,
     "Observation/anna-m1",
     NULL,
     {NULL}},
    {"Observation code as NPU, in any system",
     false,
     GP1,
     "/Observation",
     {ANNA, "code=DNK05472"},
     200,
     1,
     false,
     "anna-m1",
     NULL,
     {NULL}},
    {"a code in the wrong system matches nothing",
     false,
     GP1,
     "/Observation",
     {ANNA, "code=http://loinc.org|DNK05472"},
     200,
     0,
     false,
     NULL,
     "anna-m1",
     {NULL}},
    {"Observation date",
     false,
     GP1,
     "/Observation",
     {ANNA, "date=lt2025-01-01"},
     200,
     0,
     false,
     NULL,
     "anna-m1",
     {NULL}},
    {"Condition codes, either of two",
     false,
     GP1,
     "/Condition",
     {ANNA, "code=T90,F32.1"},
     200,
     2,
     false,
     "Condition/anna-d2",
     NULL,
     {NULL}},
    {"Condition code with its system (ICD-10 from a hospital)",
     false,
     GP1,
     "/Condition",
     {ANNA, "code=http://hl7.org/fhir/sid/icd-10|F32.1"},
     200,
     1,
     false,
     "anna-d2",
     "anna-d1",
     {NULL}},
    {"ICPC-2 for a GP's diagnosis",
     false,
     GP1,
     "/Condition",
     {ANNA, "code=http://hl7.org/fhir/sid/icpc-2|T90"},
     200,
     1,
     false,
     "anna-d1",
     "anna-d2",
     {NULL}},
    {"Condition recorded-date",
     false,
     GP1,
     "/Condition",
     {ANNA, "recorded-date=ge2024-06-01"},
     200,
     1,
     false,
     "anna-d2",
     "anna-d1",
     {NULL}},
    {"Observation category",
     false,
     GP1,
     "/Observation",
     {ANNA, "category=vital-signs"},
     200,
     1,
     false,
     "anna-m1",
     NULL,
     {NULL}},
    {"Observation category with its system",
     false,
     GP1,
     "/Observation",
     {ANNA, "category=http://terminology.hl7.org/CodeSystem/observation-category|vital-signs"},
     200,
     1,
     false,
     "anna-m1",
     NULL,
     {NULL}},
    {"a category nothing has",
     false,
     GP1,
     "/Observation",
     {ANNA, "category=laboratory"},
     200,
     0,
     false,
     NULL,
     "anna-m1",
     {NULL}},
    {"Condition category",
     false,
     GP1,
     "/Condition",
     {ANNA, "category=encounter-diagnosis"},
     200,
     2,
     false,
     "anna-d1",
     NULL,
     {NULL}},
    {"R-API-5 Condition has no date parameter",
     false,
     GP1,
     "/Condition",
     {ANNA, "date=ge2024-01-01"},
     400,
     0,
     false,
     NULL,
     NULL,
     {NULL}},
    {"R-API-5 a malformed date",
     false,
     GP1,
     "/Appointment",
     {ANNA, "date=ge2026-13-01"},
     400,
     0,
     false,
     NULL,
     NULL,
     {NULL}},
    {"R-API-5 an unknown prefix",
     false,
     GP1,
     "/Observation",
     {ANNA, "date=sa2025-01-01"},
     400,
     0,
     false,
     NULL,
     NULL,
     {NULL}},
};

static void rows_hold(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const row *w = &rows[i];
        af f;
        af_open(&f, "filters");
        af_load_anna_items(&f);
        if (w->psyk_blocked)
            af_change(&f, "{\"type\":\"block\",\"patient\":\"anna\",\"kind\":\"site\","
                          "\"target\":\"hosp-psyk\"}");
        ob_caller c =
            w->who == GP1 ? af_pro(&f, "gp1-dr", "gp-1", NULL) : af_pro(&f, "gp2-dr", "gp-2", NULL);
        af_log_count before = af_log(&f, "anna", NULL);
        ob_api_response r;
        af_call(&f, &c, "GET", w->path, w->params, NULL, &r);
        af_log_count after = af_log(&f, "anna", NULL);
        if (r.status != w->status)
            fail_msg("%s: status %d", w->why, r.status);
        if (r.status == 200) {
            if (af_total(&r) != w->total || af_marker(&r) != w->marker)
                fail_msg("%s: total %d, marker %d", w->why, (int)af_total(&r), af_marker(&r));
        }
        af_logged_once(w->why, r.status, &before, &after, w->logged, w->not_logged);
        if (w->twin[0]) /* hidden equals absent, byte for byte */
            af_same_as(&f, &c, "GET", w->path, w->twin, &r, w->why);
        ob_api_response_release(&r);
        af_close(&f);
    }
}

/* status on Appointment: a patient's app leaves out cancelled ones (R-APT-1: a cancelled
 * appointment stays visible as cancelled unless asked otherwise). */
static void status_rows(void **state)
{
    (void)state;
    af f;
    af_open(&f, "filters-status");
    af_load_anna_items(&f);
    static const char *const cancel[] = {
        "{\"type\":\"appointment\",\"source\":\"gp1-sys\",\"identifier\":\"x2\",\"patient\":"
        "\"anna\",\"start\":\"2026-12-02T09:00:00Z\",\"end\":\"2026-12-02T09:15:00Z\","
        "\"status\":\"cancelled\"}"};
    af_load(&f, cancel, 1);
    ob_caller anna = af_citizen(&f, "anna", NULL);
    const struct {
        const char *why, *status;
        int total;
        const char *has;
    } srows[] = {
        {"no status: both, the cancelled one as cancelled", NULL, 2, "\"status\":\"cancelled\""},
        {"booked only", "status=booked", 1, "\"status\":\"booked\""},
        {"cancelled only", "status=cancelled", 1, "\"id\":\"apt-2\""},
        {"either", "status=booked,cancelled", 2, NULL},
        {"a status nothing has", "status=proposed", 0, NULL},
    };
    for (size_t i = 0; i < sizeof srows / sizeof srows[0]; i++) {
        const char *p[] = {srows[i].status, NULL};
        ob_api_response r;
        af_call(&f, &anna, "GET", "/Appointment", srows[i].status ? p : NULL, NULL, &r);
        if (r.status != 200 || af_total(&r) != srows[i].total)
            fail_msg("%s: status %d, total %d", srows[i].why, r.status, (int)af_total(&r));
        if (srows[i].has && !af_has(&r, srows[i].has))
            fail_msg("%s: no %s", srows[i].why, srows[i].has);
        if (srows[i].status && strcmp(srows[i].status, "status=booked") == 0 &&
            af_has(&r, "cancelled"))
            fail_msg("%s: a cancelled one shown", srows[i].why);
        ob_api_response_release(&r);
    }
    af_close(&f);
}

/* _summary=count: the total only, over what the caller may see; nothing else is taken. */
static void summary_count(void **state)
{
    (void)state;
    af f;
    af_open(&f, "filters-summary");
    af_load_anna_items(&f);
    ob_caller gp1 = af_pro(&f, "gp1-dr", "gp-1", NULL), anna = af_citizen(&f, "anna", NULL);
    const struct {
        const char *path;
        const ob_caller *who;
        const char *summary;
        int status, total;
    } srows[] = {
        {"/Appointment", &gp1, "_summary=count", 200, 2},
        {"/Condition", &gp1, "_summary=count", 200, 2},
        {"/Observation", &gp1, "_summary=count", 200, 1},
        {"/AuditEvent", &anna, "_summary=count", 200, -1},
        {"/Appointment", &gp1, "_summary=full", 400, 0},
    };
    for (size_t i = 0; i < sizeof srows / sizeof srows[0]; i++) {
        const char *p[] = {srows[i].summary, srows[i].who == &gp1 ? ANNA : NULL, NULL};
        ob_api_response r;
        af_call(&f, srows[i].who, "GET", srows[i].path, p, NULL, &r);
        if (r.status != srows[i].status)
            fail_msg("%s %s: status %d", srows[i].path, srows[i].summary, r.status);
        if (r.status == 200 && ((srows[i].total >= 0 && af_total(&r) != srows[i].total) ||
                                af_total(&r) == 0 || af_matches(&r) != 0))
            fail_msg("%s: total %d, %zu matches", srows[i].path, (int)af_total(&r), af_matches(&r));
        ob_api_response_release(&r);
    }
    af_close(&f);
}

/* FHIR's _total (none, estimate, accurate) on every search: Bundle.total is always exact
 * and counts only what the caller may see, which each value allows, so all three answer
 * the same total; another value is a 400, and a read by id takes no _total. */
static void total_rows(void **state)
{
    (void)state;
    af f;
    af_open(&f, "filters-total");
    af_load_anna_items(&f);
    ob_caller gp1 = af_pro(&f, "gp1-dr", "gp-1", NULL), anna = af_citizen(&f, "anna", NULL);
    const struct {
        const char *path;
        const ob_caller *who;
        const char *total;
        int status;
    } trows[] = {
        {"/Appointment", &gp1, "_total=accurate", 200},
        {"/Appointment", &gp1, "_total=estimate", 200},
        {"/Appointment", &gp1, "_total=none", 200},
        {"/Condition", &gp1, "_total=accurate", 200},
        {"/Observation", &gp1, "_total=none", 200},
        {"/AuditEvent", &anna, "_total=accurate", 200},
        {"/Consent", &anna, "_total=estimate", 200},
        {"/Appointment", &gp1, "_total=exact", 400},
        {"/Appointment", &gp1, "_total=", 400},
    };
    for (size_t i = 0; i < sizeof trows / sizeof trows[0]; i++) {
        const char *anna_p = trows[i].who == &gp1 ? ANNA : NULL;
        const char *p0[] = {anna_p, NULL}, *p1[] = {trows[i].total, anna_p, NULL};
        ob_api_response r0, r;
        af_call(&f, trows[i].who, "GET", trows[i].path, anna_p ? p0 : NULL, NULL, &r0);
        af_call(&f, trows[i].who, "GET", trows[i].path, p1, NULL, &r);
        if (r.status != trows[i].status)
            fail_msg("%s %s: status %d", trows[i].path, trows[i].total, r.status);
        if (r.status == 200 && strcmp(trows[i].path, "/AuditEvent") != 0 &&
            af_total(&r) != af_total(&r0)) /* (reading the log adds to it) */
            fail_msg("%s %s: total %d, without it %d", trows[i].path, trows[i].total,
                     (int)af_total(&r), (int)af_total(&r0));
        ob_api_response_release(&r0);
        ob_api_response_release(&r);
    }
    const char *by_id[] = {"_total=accurate", NULL};
    ob_api_response r;
    af_call(&f, &anna, "GET", "/Patient/anna", by_id, NULL, &r);
    assert_int_equal(r.status, 400);
    ob_api_response_release(&r);
    af_close(&f);
}

/* FHIR _summary=true|text|data|false on every search that pages: each match keeps what the
 * mode names (R4's isSummary elements; the narrative; all but the narrative) with
 * resourceType, id, meta and the mandatory elements, and is tagged SUBSETTED; false
 * changes nothing; the total and the includes are as without it. One row per request. */
static void summary_rows(void **state)
{
    (void)state;
    af f;
    af_open(&f, "filters-summary-modes");
    af_load_anna_items(&f);
    ob_caller gp1 = af_pro(&f, "gp1-dr", "gp-1", NULL), anna = af_citizen(&f, "anna", NULL);
    const struct {
        const char *path;
        const ob_caller *who;
        const char *summary, *extra;
        int status;
        const char *allowed;  /* ",a,b,": the keys a match may keep (NULL: any) */
        const char *required; /* ",a,b,": keys every match keeps */
        bool subsetted;
    } mrows[] = {
        {"/Appointment", &gp1, "_summary=true", NULL, 200,
         ",resourceType,id,meta,identifier,status,participant,start,end,extension,",
         ",status,participant,start,extension,", true},
        {"/Appointment", &gp1, "_summary=true", "_include=Appointment:patient", 200,
         ",resourceType,id,meta,identifier,status,participant,start,end,extension,", ",start,",
         true},
        {"/Observation", &gp1, "_summary=true", NULL, 200,
         ",resourceType,id,meta,status,code,subject,effectiveDateTime,valueQuantity,performer,"
         "extension,",
         ",status,code,effectiveDateTime,valueQuantity,", true},
        {"/Condition", &gp1, "_summary=true", NULL, 200,
         ",resourceType,id,meta,subject,code,recordedDate,extension,", ",subject,code,", true},
        {"/AuditEvent", &anna, "_summary=true", NULL, 200,
         ",resourceType,id,meta,type,subtype,action,recorded,outcome,outcomeDesc,"
         "purposeOfEvent,agent,source,extension,",
         ",type,recorded,agent,source,", true},
        {"/Appointment", &gp1, "_summary=text", NULL, 200,
         ",resourceType,id,meta,status,participant,text,", ",status,participant,", true},
        {"/Appointment", &gp1, "_summary=data", NULL, 200, NULL, ",start,end,extension,", true},
        {"/Observation", &gp1, "_summary=false", NULL, 200, NULL, ",category,performer,", false},
        {"/Appointment", &gp1, "_summary=true", "_elements=start", 400, NULL, NULL, false},
        {"/Appointment", &gp1, "_summary=TRUE", NULL, 400, NULL, NULL, false},
        {"/Appointment", &gp1, "_summary=", NULL, 400, NULL, NULL, false},
    };
    for (size_t i = 0; i < sizeof mrows / sizeof mrows[0]; i++) {
        const char *pat = mrows[i].who == &gp1 ? ANNA : mrows[i].extra;
        const char *p0[] = {pat, mrows[i].who == &gp1 ? mrows[i].extra : NULL, NULL};
        const char *p1[] = {mrows[i].summary, p0[0], p0[1], NULL};
        ob_api_response r0, r;
        af_log_count before = af_log(&f, "anna", NULL);
        af_call(&f, mrows[i].who, "GET", mrows[i].path, p1, NULL, &r);
        af_log_count after = af_log(&f, "anna", NULL);
        if (r.status != mrows[i].status)
            fail_msg("%s %s: status %d", mrows[i].path, mrows[i].summary, r.status);
        if (r.status != 200) {
            if (after.n != before.n)
                fail_msg("%s %s: refused but logged", mrows[i].path, mrows[i].summary);
            ob_api_response_release(&r);
            continue;
        }
        af_call(&f, mrows[i].who, "GET", mrows[i].path, p0, NULL, &r0);
        if (strcmp(mrows[i].path, "/AuditEvent") != 0 && af_total(&r) != af_total(&r0))
            fail_msg("%s: total %d, without _summary %d", mrows[i].path, (int)af_total(&r),
                     (int)af_total(&r0));
        size_t k, matches = 0;
        json_t *en;
        json_array_foreach(json_object_get(r.body, "entry"), k, en)
        {
            const char *mode =
                json_string_value(json_object_get(json_object_get(en, "search"), "mode"));
            json_t *res = json_object_get(en, "resource");
            char *all = json_dumps(res, 0);
            bool tagged = all && strstr(all, "\"SUBSETTED\"");
            if (mode && strcmp(mode, "include") == 0) {
                if (tagged || !json_object_get(res, "name"))
                    fail_msg("%s %s: an include was subsetted", mrows[i].path, mrows[i].summary);
                free(all);
                continue;
            }
            free(all);
            if (!mode || strcmp(mode, "match") != 0)
                continue;
            matches++;
            if (tagged != mrows[i].subsetted)
                fail_msg("%s %s: SUBSETTED tag %s", mrows[i].path, mrows[i].summary,
                         tagged ? "set" : "missing");
            const char *key;
            json_t *v;
            char kk[80];
            json_object_foreach(res, key, v)
            {
                snprintf(kk, sizeof kk, ",%s,", key);
                if (mrows[i].allowed && !strstr(mrows[i].allowed, kk))
                    fail_msg("%s %s: element %s kept", mrows[i].path, mrows[i].summary, key);
                if (mrows[i].summary && strcmp(mrows[i].summary, "_summary=data") == 0 &&
                    strcmp(key, "text") == 0)
                    fail_msg("%s: text kept under _summary=data", mrows[i].path);
            }
            for (const char *q = mrows[i].required + 1; *q;) {
                size_t n = strcspn(q, ",");
                snprintf(kk, sizeof kk, "%.*s", (int)n, q);
                if (!json_object_get(res, kk))
                    fail_msg("%s %s: %s missing", mrows[i].path, mrows[i].summary, kk);
                q += n + 1;
            }
        }
        if (matches == 0)
            fail_msg("%s %s: no match to look at", mrows[i].path, mrows[i].summary);
        ob_api_response_release(&r0);
        ob_api_response_release(&r);
    }
    af_close(&f);
}

/* FHIR _elements on every search: each match keeps resourceType, id, meta and the elements
 * named, tagged SUBSETTED; includes stay whole; the total is the same. A bad list is a 400,
 * and a read by id takes none. */
static void elements_rows(void **state)
{
    (void)state;
    af f;
    af_open(&f, "filters-elements");
    af_load_anna_items(&f);
    ob_caller gp1 = af_pro(&f, "gp1-dr", "gp-1", NULL), anna = af_citizen(&f, "anna", NULL);
    const struct {
        const char *path;
        const ob_caller *who;
        const char *elements, *extra;
        int status;
        const char *kept; /* the element named, besides resourceType, id and meta */
        const char *must; /* the type's mandatory elements, always kept */
    } erows[] = {
        {"/Appointment", &gp1, "_elements=status", NULL, 200, "status", ",status,participant,"},
        {"/Appointment", &gp1, "_elements=start", "_include=Appointment:patient", 200, "start",
         ",status,participant,"},
        {"/Condition", &gp1, "_elements=code", NULL, 200, "code", ",subject,"},
        {"/Observation", &gp1, "_elements=valueQuantity", NULL, 200, "valueQuantity",
         ",status,code,"},
        {"/AuditEvent", &anna, "_elements=outcome", NULL, 200, "outcome",
         ",type,recorded,agent,source,"},
        {"/Appointment", &gp1, "_elements=", NULL, 400, NULL, NULL},
        {"/Appointment", &gp1, "_elements=status,,start", NULL, 400, NULL, NULL},
        {"/Appointment", &gp1, "_elements=1status", NULL, 400, NULL, NULL},
        {"/Appointment", &gp1, "_elements=sta-tus", NULL, 400, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof erows / sizeof erows[0]; i++) {
        const char *anna_p = erows[i].who == &gp1 ? ANNA : NULL;
        const char *p0[] = {anna_p, erows[i].extra, NULL};
        const char *p1[] = {erows[i].elements, anna_p, erows[i].extra, NULL};
        if (!anna_p) /* no patient parameter: shift the rest down */
            p0[0] = erows[i].extra, p0[1] = NULL, p1[1] = erows[i].extra, p1[2] = NULL;
        ob_api_response r0, r;
        af_call(&f, erows[i].who, "GET", erows[i].path, p0, NULL, &r0);
        af_call(&f, erows[i].who, "GET", erows[i].path, p1, NULL, &r);
        if (r.status != erows[i].status)
            fail_msg("%s %s: status %d", erows[i].path, erows[i].elements, r.status);
        if (r.status != 200) {
            ob_api_response_release(&r0);
            ob_api_response_release(&r);
            continue;
        }
        assert_true(ob_api_response_parse(&r));
        if (strcmp(erows[i].path, "/AuditEvent") != 0 && af_total(&r) != af_total(&r0))
            fail_msg("%s: total %d, without _elements %d", erows[i].path, (int)af_total(&r),
                     (int)af_total(&r0));
        size_t k, matches = 0, includes = 0;
        json_t *en;
        json_array_foreach(json_object_get(r.body, "entry"), k, en)
        {
            const char *mode =
                json_string_value(json_object_get(json_object_get(en, "search"), "mode"));
            json_t *res = json_object_get(en, "resource");
            if (mode && strcmp(mode, "include") == 0) {
                includes++;
                char *all = json_dumps(res, 0);
                if (!all || strstr(all, "SUBSETTED") || !json_object_get(res, "name"))
                    fail_msg("%s: an include was subsetted", erows[i].path);
                free(all);
                continue;
            }
            matches++;
            const char *key;
            json_t *v;
            json_object_foreach(res, key, v)
            {
                char kk[80];
                snprintf(kk, sizeof kk, ",%s,", key);
                if (strcmp(key, "resourceType") && strcmp(key, "id") && strcmp(key, "meta") &&
                    strcmp(key, erows[i].kept) && !strstr(erows[i].must, kk))
                    fail_msg("%s %s: element %s kept", erows[i].path, erows[i].elements, key);
            }
            if (!json_object_get(res, erows[i].kept) || !json_object_get(res, "id"))
                fail_msg("%s: %s or id missing", erows[i].path, erows[i].kept);
            char *tags = json_dumps(json_object_get(json_object_get(res, "meta"), "tag"), 0);
            if (!tags || !strstr(tags, "\"SUBSETTED\""))
                fail_msg("%s: no SUBSETTED tag (%s)", erows[i].path, tags ? tags : "none");
            free(tags);
        }
        if (matches == 0 || (erows[i].extra && includes == 0))
            fail_msg("%s: %zu matches, %zu includes", erows[i].path, matches, includes);
        ob_api_response_release(&r0);
        ob_api_response_release(&r);
    }
    const char *by_id[] = {"_elements=name", NULL};
    ob_api_response r;
    af_call(&f, &anna, "GET", "/Patient/anna", by_id, NULL, &r);
    assert_int_equal(r.status, 400);
    ob_api_response_release(&r);
    af_close(&f);
}

/* The matches' ids in answer order, joined with ',' into buf. */
static const char *order(ob_api_response *r, char *buf, size_t cap)
{
    size_t i, k = 0;
    json_t *en;
    buf[0] = '\0';
    assert_true(ob_api_response_parse(r));
    json_array_foreach(json_object_get(r->body, "entry"), i, en)
    {
        const char *mode =
            json_string_value(json_object_get(json_object_get(en, "search"), "mode"));
        const char *id = json_string_value(json_object_get(json_object_get(en, "resource"), "id"));
        if (mode && strcmp(mode, "match") == 0 && id)
            k += (size_t)snprintf(buf + k, cap - k, "%s%s", k ? "," : "", id);
    }
    return buf;
}

/* _sort on each search's date: ascending or descending (-), paging over that order; any
 * other key is a 400 that logs nothing. A patient's app lists the newest first. */
static void sort_rows(void **state)
{
    (void)state;
    af f;
    af_open(&f, "filters-sort");
    af_load_anna_items(&f);
    ob_caller gp1 = af_pro(&f, "gp1-dr", "gp-1", NULL), anna = af_citizen(&f, "anna", NULL);
    char dflt[256], asc[256], desc[256], buf[256];
    const struct {
        const char *path, *key;
        const ob_caller *who;
        bool newest_by_default;
    } srows[] = {
        {"/Appointment", "date", &gp1, false},
        {"/Condition", "recorded-date", &gp1, false},
        {"/AuditEvent", "date", &anna, true},
    };
    for (size_t i = 0; i < sizeof srows / sizeof srows[0]; i++) {
        const char *anna_p = srows[i].who == &gp1 ? ANNA : NULL;
        char up[64], down[64], wrong[64];
        snprintf(up, sizeof up, "_sort=%s", srows[i].key);
        snprintf(down, sizeof down, "_sort=-%s", srows[i].key);
        snprintf(wrong, sizeof wrong, "_sort=%s", strcmp(srows[i].key, "date") ? "date" : "start");
        const char *p0[] = {anna_p, NULL}, *p1[] = {up, anna_p, NULL}, *p2[] = {down, anna_p, NULL},
                   *p3[] = {wrong, anna_p, NULL};
        ob_api_response r;
        af_call(&f, srows[i].who, "GET", srows[i].path, anna_p ? p0 : NULL, NULL, &r);
        order(&r, dflt, sizeof dflt);
        ob_api_response_release(&r);
        af_call(&f, srows[i].who, "GET", srows[i].path, p1, NULL, &r);
        order(&r, asc, sizeof asc);
        ob_api_response_release(&r);
        af_call(&f, srows[i].who, "GET", srows[i].path, p2, NULL, &r);
        order(&r, desc, sizeof desc);
        ob_api_response_release(&r);
        if (!strchr(asc, ',') || strcmp(asc, desc) == 0)
            fail_msg("%s: two or more matches in two orders (%s / %s)", srows[i].path, asc, desc);
        if (strcmp(srows[i].path, "/AuditEvent") == 0) {
            /* every read of the log is logged, so each answer holds more: compare seqs */
            if (atol(asc) >= atol(strrchr(asc, ',') + 1) ||
                atol(desc) <= atol(strrchr(desc, ',') + 1) ||
                atol(dflt) <= atol(strrchr(dflt, ',') + 1))
                fail_msg("AuditEvent: %s / %s / default %s", asc, desc, dflt);
        } else {
            if (strcmp(dflt, srows[i].newest_by_default ? desc : asc) != 0)
                fail_msg("%s: the default order %s", srows[i].path, dflt);
            const char *last = strrchr(asc, ',') + 1; /* descending starts where asc ends */
            if (strncmp(desc, last, strlen(last)) != 0)
                fail_msg("%s: %s is not %s reversed", srows[i].path, desc, asc);
        }
        /* a page of one follows the order, and its next link keeps it */
        const char *p4[] = {down, "_count=1", anna_p, NULL};
        af_call(&f, srows[i].who, "GET", srows[i].path, p4, NULL, &r);
        order(&r, buf, sizeof buf);
        bool audit = strcmp(srows[i].path, "/AuditEvent") == 0; /* the newest is this read */
        if ((!audit && strncmp(desc, buf, strlen(buf)) != 0) ||
            (audit && atol(buf) <= atol(desc)) || !af_has(&r, down))
            fail_msg("%s: the first page of -date is %s", srows[i].path, buf);
        ob_api_response_release(&r);
        af_log_count before = af_log(&f, "anna", NULL);
        af_call(&f, srows[i].who, "GET", srows[i].path, p3, NULL, &r);
        af_log_count after = af_log(&f, "anna", NULL);
        if (r.status != 400 || after.n != before.n)
            fail_msg("%s %s: status %d, %zu entries logged", srows[i].path, wrong, r.status,
                     (size_t)(after.n - before.n));
        ob_api_response_release(&r);
    }
    af_close(&f);
}

/* Issue 25: _sort=_lastUpdated (the last write, then the order of writing) and
 * Appointment's actor=Patient/<id> as patient=, as standard clients ask. Two appointments
 * written later-start first, so the two orders differ; before, both were a 400. */
static void lastupdated_and_actor_rows(void **state)
{
    (void)state;
    af f;
    af_open(&f, "filters-updated");
    static const char *const apts[] = {
        "{\"type\":\"appointment\",\"source\":\"gp1-sys\",\"identifier\":\"late\",\"patient\":"
        "\"anna\",\"start\":\"2026-12-20T09:00:00Z\"}",
        "{\"type\":\"appointment\",\"source\":\"gp1-sys\",\"identifier\":\"early\",\"patient\":"
        "\"anna\",\"start\":\"2026-12-10T09:00:00Z\"}",
    };
    af_load(&f, apts, 2);
    ob_caller gp1 = af_pro(&f, "gp1-dr", "gp-1", NULL);
    char by_date[128], up[128], down[128], actor[128], buf[128];
    const struct {
        const char *const *params;
        char *into;
        int status;
    } urows[] = {
        {(const char *[]){ANNA, "_sort=date", NULL}, by_date, 200},
        {(const char *[]){ANNA, "_sort=_lastUpdated", NULL}, up, 200},
        {(const char *[]){ANNA, "_sort=-_lastUpdated", NULL}, down, 200},
        {(const char *[]){"actor=Patient/anna", NULL}, actor, 200},
        {(const char *[]){"actor=Practitioner/gp1-dr", NULL}, buf, 400},
        {(const char *[]){"actor=Patient/anna", ANNA, NULL}, buf, 400},
    };
    for (size_t i = 0; i < sizeof urows / sizeof urows[0]; i++) {
        ob_api_response r;
        af_call(&f, &gp1, "GET", "/Appointment", urows[i].params, NULL, &r);
        if (r.status != urows[i].status)
            fail_msg("row %zu: status %d, wanted %d", i, r.status, urows[i].status);
        if (r.status == 200)
            order(&r, urows[i].into, 128);
        ob_api_response_release(&r);
    }
    if (!strchr(by_date, ',') || strcmp(by_date, up) == 0 || strcmp(by_date, down) != 0)
        fail_msg("by date %s, by last update %s / %s", by_date, up, down);
    if (strcmp(actor, by_date) != 0)
        fail_msg("actor=Patient/anna found %s, patient= %s", actor, by_date);
    /* Condition by last update: meta.lastUpdated never goes down */
    af_load_anna_items(&f);
    ob_api_response r;
    af_call(&f, &gp1, "GET", "/Condition", (const char *[]){ANNA, "_sort=_lastUpdated", NULL}, NULL,
            &r);
    assert_int_equal(r.status, 200);
    assert_true(af_matches(&r) >= 1);
    ob_api_response_release(&r);
    af_close(&f);
}

/* The next link's query as af_call parameters (percent-decoded into buf). */
static size_t next_params(ob_api_response *r, char *buf, size_t cap, const char **ps, size_t max)
{
    size_t i, n = 0, at = 0;
    json_t *l;
    json_array_foreach(json_object_get(r->body, "link"), i, l)
    {
        const char *rel = json_string_value(json_object_get(l, "relation"));
        const char *url = json_string_value(json_object_get(l, "url"));
        if (!rel || strcmp(rel, "next") != 0 || !strchr(url, '?'))
            continue;
        for (const char *q = strchr(url, '?') + 1; *q && n + 1 < max;) {
            size_t len = strcspn(q, "&");
            long d = ob_http_pct_decode(q, len, buf + at, cap - at, true);
            assert_true(d >= 0);
            ps[n++] = buf + at;
            at += (size_t)d + 1;
            q += len + (q[len] == '&');
        }
    }
    ps[n] = NULL;
    return n;
}

/* Issue 25, stable paging: a client reads page 1 (one match), a source writes a match that
 * sorts before it, the client follows the next link. With _after (the page's last match,
 * in the link) page 2 is the second match; the same page by _offset alone repeats the
 * first, which is what the test shows too, so it cannot pass by accident. */
static void stable_paging_rows(void **state)
{
    (void)state;
    const struct {
        const char *path, *first, *second, *earlier;
    } prow[] = {
        {"/Condition", "anna-d1", "anna-d2",
         "{\"type\":\"item\",\"id\":\"anna-d0\",\"patient\":\"anna\",\"category\":"
         "\"diagnosis\",\"origin\":\"gp-1\",\"time\":\"2024-01-02T10:00:00Z\",\"code\":\"T90\"}"},
        {"/Appointment", NULL, NULL,
         "{\"type\":\"appointment\",\"source\":\"gp1-sys\",\"identifier\":\"x0\",\"patient\":"
         "\"anna\",\"start\":\"2026-11-01T09:00:00Z\"}"},
    };
    for (size_t k = 0; k < sizeof prow / sizeof prow[0]; k++) {
        af f;
        af_open(&f, "filters-after");
        af_load_anna_items(&f);
        ob_caller gp1 = af_pro(&f, "gp1-dr", "gp-1", NULL);
        ob_api_response r;
        char first[128], second[128], again[128], all[256], buf[1024];
        const char *ps[16];
        af_call(&f, &gp1, "GET", prow[k].path, (const char *[]){ANNA, NULL}, NULL, &r);
        order(&r, all, sizeof all);
        ob_api_response_release(&r);
        af_call(&f, &gp1, "GET", prow[k].path, (const char *[]){ANNA, "_count=1", NULL}, NULL, &r);
        order(&r, first, sizeof first);
        assert_true(next_params(&r, buf, sizeof buf, ps, 16) > 0);
        ob_api_response_release(&r);
        af_load(&f, &prow[k].earlier, 1);
        af_call(&f, &gp1, "GET", prow[k].path, ps, NULL, &r);
        order(&r, second, sizeof second);
        ob_api_response_release(&r);
        af_call(&f, &gp1, "GET", prow[k].path,
                (const char *[]){ANNA, "_count=1", "_offset=1", NULL}, NULL, &r);
        order(&r, again, sizeof again);
        ob_api_response_release(&r);
        /* all = "first,second": page 2 must be its second id, not the first again */
        const char *want2 = strchr(all, ',') + 1;
        if (strcmp(all, prow[k].first ? "anna-d1,anna-d2" : all) != 0 ||
            strncmp(all, first, strlen(first)) != 0 || strcmp(second, want2) != 0)
            fail_msg("%s: all %s, page 1 %s, page 2 %s", prow[k].path, all, first, second);
        if (strcmp(again, first) != 0)
            fail_msg("%s: by offset the page after a new earlier match should repeat %s, got %s",
                     prow[k].path, first, again);
        af_close(&f);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rows_hold),          cmocka_unit_test(status_rows),
        cmocka_unit_test(summary_count),      cmocka_unit_test(sort_rows),
        cmocka_unit_test(total_rows),         cmocka_unit_test(elements_rows),
        cmocka_unit_test(summary_rows),       cmocka_unit_test(lastupdated_and_actor_rows),
        cmocka_unit_test(stable_paging_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

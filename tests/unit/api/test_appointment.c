/* test_appointment.c - the appointment overview through the FHIR API (R-APT-1..7),
 * with the log (R-LOG-1), leak and paging cases. Drives ob_api_handle directly. */
#include "api_fixture.h"

#include <sqlite3.h>

#define CPR_SYS "urn:oid:1.2.208.176.1.2"

/* An Appointment body: identifier value, patient CPR (NULL: no patient participant),
 * start, end (NULL: none), extra members (",..." or ""). Carries notes that must be
 * dropped at the door (R-APT-3). */
static char *apt(const char *ident, const char *cpr, const char *start, const char *end,
                 const char *extra)
{
    static char buf[4][2048];
    static int k;
    char *b = buf[k++ % 4];
    char endm[64] = "", part[256];
    if (end)
        snprintf(endm, sizeof endm, ",\"end\":\"%s\"", end);
    if (cpr)
        snprintf(part, sizeof part,
                 "{\"actor\":{\"identifier\":{\"system\":\"" CPR_SYS "\",\"value\":\"%s\"}},"
                 "\"status\":\"accepted\"},",
                 cpr);
    else
        part[0] = '\0';
    snprintf(b, 2048,
             "{\"resourceType\":\"Appointment\",\"identifier\":[{\"system\":\"urn:src:booking\","
             "\"value\":\"%s\"}],\"status\":\"booked\",\"start\":\"%s\"%s,"
             "\"comment\":\"NOTE-SECRET husk fastende\",\"description\":\"NOTE-SECRET psykiatri\","
             "\"patientInstruction\":\"NOTE-SECRET mød op\",\"participant\":[%s"
             "{\"actor\":{\"type\":\"Location\",\"display\":\"Indgang 20, Odense\"},"
             "\"status\":\"accepted\"}]%s}",
             ident, start, endm, part, extra ? extra : "");
    return b;
}

static const char *P_ANNA[] = {"patient=Patient/anna", NULL};

/* POSTs body as client; a client other than gp1-sys writes with its own identifier system
 * (urn:src:<client>), since urn:src:booking is gp1-sys's (R-APT-1). */
static void post(af *f, const char *client, const char *site, const char *body, int want)
{
    ob_caller s = af_source(f, client, site);
    ob_api_response r;
    char own[2200];
    const char *at = strstr(body, "urn:src:booking");
    if (strcmp(client, "gp1-sys") != 0 && at) {
        snprintf(own, sizeof own, "%.*surn:src:%s%s", (int)(at - body), body, client,
                 at + strlen("urn:src:booking"));
        body = own;
    }
    af_call(f, &s, "POST", "/Appointment", NULL, body, &r);
    if (r.status != want) {
        char *t = af_text(&r);
        fail_msg("POST: want %d, got %d: %s", want, r.status, t);
    }
    ob_api_response_release(&r);
}

static int64_t count_rows(af *f)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    sqlite3_stmt *st;
    sqlite3_prepare_v2(db, "SELECT count(*) FROM appointments", -1, &st, NULL);
    sqlite3_step(st);
    int64_t n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

/* R-APT-1, R-APT-3, R-APT-4: create, read back, notes dropped, fictive end. */
static void create_and_show(void **state)
{
    (void)state;
    af f;
    af_open(&f, "apt-create");
    ob_caller s = af_source(&f, "gp1-sys", "gp-1");
    ob_api_response r;
    af_call(&f, &s, "POST", "/Appointment", NULL,
            apt("b-1", AF_CPR_ANNA, "2026-12-01T09:00:00Z", NULL, ""), &r);
    assert_int_equal(r.status, 201);
    char *t = af_text(&r);
    assert_null(strstr(t, "NOTE-SECRET")); /* R-APT-3 */
    assert_null(strstr(t, "0101901234"));  /* R-CPR-2 */
    assert_null(strstr(t, "010190-1234"));
    assert_non_null(strstr(t, "fictive-end"));          /* R-APT-4 */
    assert_non_null(strstr(t, "2026-12-01T10:00:00Z")); /* start + 1 hour */
    assert_non_null(strstr(t, "Lægerne Torvet"));       /* the clinic's name (R-APT-3) */
    assert_non_null(strstr(t, "Indgang 20, Odense"));   /* the meeting address */
    assert_true(r.location[0] && r.etag[0]);
    free(t);
    ob_api_response_release(&r);
    /* the stored row holds no note anywhere in the database file's table (R-APT-3) */
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f.db, &db), SQLITE_OK);
    sqlite3_stmt *st;
    sqlite3_prepare_v2(db,
                       "SELECT count(*) FROM appointments WHERE address LIKE '%NOTE%' OR "
                       "status LIKE '%NOTE%' OR ident_value LIKE '%NOTE%'",
                       -1, &st, NULL);
    sqlite3_step(st);
    assert_int_equal(sqlite3_column_int(st, 0), 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    /* the patient sees it (R-APT-6) */
    ob_caller anna = af_citizen(&f, "anna", NULL);
    af_call(&f, &anna, "GET", "/Appointment", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(af_total(&r), 1);
    assert_int_equal(af_matches(&r), 1);
    ob_api_response_release(&r);
    /* with an end time: no fictive flag */
    post(&f, "gp1-sys", "gp-1",
         apt("b-2", AF_CPR_ANNA, "2026-12-02T09:00:00Z", "2026-12-02T09:20:00Z", ""), 201);
    af_call(&f, &anna, "GET", "/Appointment/apt-2", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    t = af_text(&r);
    assert_null(strstr(t, "fictive-end"));
    free(t);
    ob_api_response_release(&r);
    af_close(&f);
}

/* R-APT-4 (seed 004): every appointment of a specialist practice is shown ending one hour
 * after its start, marked fictive, even when the source sent an end; both ways in. */
static void specialist_fictive_end(void **state)
{
    (void)state;
    af f;
    af_open(&f, "apt-specialist");
    static const char *const spec[] = {
        "{\"type\":\"org\",\"id\":\"spec-1\",\"kind\":\"specialist\",\"name\":\"\u00d8jenl\u00e6ge "
        "Lund\",\"provider_number\":\"345678\"}",
        "{\"type\":\"source\",\"client_id\":\"spec-sys\",\"site\":\"spec-1\",\"go_live\":"
        "\"2020-01-01\",\"name\":\"Speciallaegesystem\"}",
        "{\"type\":\"appointment\",\"source\":\"spec-sys\",\"identifier\":\"s1\",\"patient\":"
        "\"anna\",\"start\":\"2026-12-03T09:00:00Z\",\"end\":\"2026-12-03T09:10:00Z\"}",
    };
    af_load(&f, spec, sizeof spec / sizeof spec[0]);
    post(&f, "spec-sys", "spec-1",
         apt("s-2", AF_CPR_ANNA, "2026-12-04T09:00:00Z", "2026-12-04T09:20:00Z", ""), 201);
    /* a GP's appointment with an end keeps it (the rule is the practice's kind) */
    post(&f, "gp1-sys", "gp-1",
         apt("g-1", AF_CPR_ANNA, "2026-12-05T09:00:00Z", "2026-12-05T09:20:00Z", ""), 201);
    ob_caller anna = af_citizen(&f, "anna", NULL);
    ob_api_response r;
    af_call(&f, &anna, "GET", "/Appointment", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    char *t = af_text(&r);
    assert_non_null(strstr(t, "2026-12-03T10:00:00Z")); /* loaded: start + 1 hour */
    assert_null(strstr(t, "2026-12-03T09:10:00Z"));
    assert_non_null(strstr(t, "2026-12-04T10:00:00Z")); /* posted: start + 1 hour */
    assert_null(strstr(t, "2026-12-04T09:20:00Z"));
    assert_non_null(strstr(t, "2026-12-05T09:20:00Z")); /* the GP's own end */
    const char *p = t;
    int fictive = 0;
    while ((p = strstr(p, "fictive-end")) != NULL)
        fictive++, p++;
    assert_int_equal(fictive, 2);
    free(t);
    ob_api_response_release(&r);
    af_close(&f);
}

/* R-APT-1: only the source changes or cancels; identifiers are scoped per source;
 * everyone else is read-only. */
static void only_source_writes(void **state)
{
    (void)state;
    af f;
    af_open(&f, "apt-owner");
    post(&f, "gp1-sys", "gp-1", apt("same-id", AF_CPR_ANNA, "2026-12-01T09:00:00Z", NULL, ""), 201);
    /* POST again with the same identifier: conflict, nothing changes */
    post(&f, "gp1-sys", "gp-1", apt("same-id", AF_CPR_ANNA, "2026-12-05T09:00:00Z", NULL, ""), 409);
    /* another source cannot write with our identifier system at all (R-APT-1, issue 19):
     * 403, logged, nothing written */
    ob_caller s2 = af_source(&f, "gp2-sys", "gp-2");
    const char *key[] = {"identifier=urn:src:booking|same-id", NULL};
    ob_api_response r;
    af_log_count before = af_log(&f, "anna", NULL);
    af_call(&f, &s2, "PUT", "/Appointment", key,
            apt("same-id", AF_CPR_ANNA, "2026-12-09T09:00:00Z", NULL, ""), &r);
    assert_int_equal(r.status, 403);
    ob_api_response_release(&r);
    assert_int_equal(af_log(&f, "anna", NULL).n, before.n + 1);
    assert_int_equal(count_rows(&f), 1);
    /* the owner updates (version 2) and cancels (version 3) */
    ob_caller s1 = af_source(&f, "gp1-sys", "gp-1");
    af_call(&f, &s1, "PUT", "/Appointment", key,
            apt("same-id", AF_CPR_ANNA, "2026-12-03T09:00:00Z", NULL, ""), &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.etag, "W/\"2\"");
    ob_api_response_release(&r);
    /* issue 20: the source reads back its own identifier (round trip) */
    af_call(&f, &s1, "GET", "/Appointment", P_ANNA, NULL, &r);
    assert_true(
        af_has(&r, "\"identifier\":[{\"system\":\"urn:src:booking\",\"value\":\"same-id\"}]"));
    ob_api_response_release(&r);
    char cancel[2048];
    snprintf(cancel, sizeof cancel, "%s",
             apt("same-id", AF_CPR_ANNA, "2026-12-03T09:00:00Z", NULL, ""));
    char *st = strstr(cancel, "\"booked\"");
    memmove(st + 11, st + 8, strlen(st + 8) + 1);
    memcpy(st, "\"cancelled\"", 11);
    af_call(&f, &s1, "PUT", "/Appointment", key, cancel, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(json_object_get(r.body, "status")), "cancelled");
    ob_api_response_release(&r);
    assert_int_equal(count_rows(&f), 1);
    /* professionals and citizens: 403, nothing changes */
    ob_caller dr = af_pro(&f, "gp1-dr", "gp-1", NULL);
    ob_caller anna = af_citizen(&f, "anna", NULL);
    const struct {
        const ob_caller *c;
        const char *method;
        const char *path;
    } rows[] = {
        {&dr, "POST", "/Appointment"},      {&dr, "PUT", "/Appointment"},
        {&anna, "POST", "/Appointment"},    {&anna, "PUT", "/Appointment"},
        {&dr, "PUT", "/Appointment/apt-1"}, {&anna, "DELETE", "/Appointment/apt-1"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        af_call(&f, rows[i].c, rows[i].method, rows[i].path, key,
                apt("same-id", AF_CPR_ANNA, "2026-12-04T09:00:00Z", NULL, ""), &r);
        /* DELETE is supported for no one: 405 (issue 25), the rest 403 */
        assert_int_equal(r.status, strcmp(rows[i].method, "DELETE") == 0 ? 405 : 403);
        ob_api_response_release(&r);
    }
    assert_int_equal(count_rows(&f), 1);
    /* an unregistered client: 403 */
    post(&f, "rogue", "gp-1", apt("x", AF_CPR_ANNA, "2026-12-01T09:00:00Z", NULL, ""), 403);
    /* a registered client acting for another site: 403 */
    post(&f, "gp1-sys", "gp-2", apt("y", AF_CPR_ANNA, "2026-12-01T09:00:00Z", NULL, ""), 403);
    /* each write is a logged change (OB_EV_DATA_CHANGE) about the patient */
    af_log_count lc = af_log(&f, "anna", "source=gp1-sys");
    assert_int_equal(lc.with_resource, 3);
    af_close(&f);
}

/* R-CPR-2: every error passes ob_api_outcome, which lets no CPR number out, whatever a
 * layer below quoted; other messages pass unchanged. */
static void outcome_never_quotes_cpr(void **state)
{
    (void)state;
    const struct {
        const char *text;
        bool kept;
    } rows[] = {
        {"field 'actor': no such id '0101901234'", false},
        {"no such id '010190-1234' here", false},
        {"no such id '01019012345' (eleven digits)", true},
        {"no such id '3201901234' (no such date)", true},
        {"Appointment.start must be a FHIR instant", true},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        ob_api_response r = {0};
        ob_api_outcome(&r, 400, "invalid", rows[i].text);
        const char *d = json_string_value(
            json_object_get(json_array_get(json_object_get(r.body, "issue"), 0), "diagnostics"));
        assert_non_null(d);
        if (rows[i].kept)
            assert_string_equal(d, rows[i].text);
        else
            assert_null(strstr(d, "0101"));
        assert_int_equal(r.status, 400);
        ob_api_response_release(&r);
    }
}

/* R-APT-2: valid CPR, a patient participant, the sharing switch; R-API-5: bad input
 * changes nothing. */
static void input_rules(void **state)
{
    (void)state;
    af f;
    af_open(&f, "apt-input");
    const struct {
        const char *why, *body;
        int status;
    } rows[] = {
        {"R-APT-2 invalid CPR", apt("i1", "320190-1234", "2026-12-01T09:00:00Z", NULL, ""), 400},
        {"R-APT-2 no patient (a meeting)", apt("i2", NULL, "2026-12-01T09:00:00Z", NULL, ""), 400},
        {"unknown patient", apt("i3", AF_CPR_NONE, "2026-12-01T09:00:00Z", NULL, ""), 400},
        {"R-API-5 unknown element",
         apt("i4", AF_CPR_ANNA, "2026-12-01T09:00:00Z", NULL, ",\"colour\":\"red\""), 400},
        {"R-API-5 wrong type",
         apt("i5", AF_CPR_ANNA, "2026-12-01T09:00:00Z", NULL, ",\"minutesDuration\":\"ten\""), 400},
        {"R-API-5 bad start", apt("i6", AF_CPR_ANNA, "tomorrow", NULL, ""), 400},
        {"end before start",
         apt("i7", AF_CPR_ANNA, "2026-12-01T09:00:00Z", "2026-12-01T08:00:00Z", ""), 400},
        {"modifierExtension",
         apt("i8", AF_CPR_ANNA, "2026-12-01T09:00:00Z", NULL, ",\"modifierExtension\":[]"), 400},
        {"clinic outside the source's site",
         apt("i9", AF_CPR_ANNA, "2026-12-01T09:00:00Z", NULL,
             ",\"extension\":[{\"url\":\"https://overblik.dk/fhir/StructureDefinition/"
             "responsible-clinic\","
             "\"valueReference\":{\"reference\":\"Organization/gp-2\"}}]"),
         400},
        {"CPR-like identifier", apt("0101901234", AF_CPR_ANNA, "2026-12-01T09:00:00Z", NULL, ""),
         400},
        {"R-APT-2 the sharing switch under an old or misspelt URI is refused, not dropped",
         apt("i12", AF_CPR_ANNA, "2026-12-01T09:00:00Z", NULL,
             ",\"extension\":[{\"url\":\"http://overblik.dk/fhir/StructureDefinition/shared\","
             "\"valueBoolean\":false}]"),
         400},
        {"R-CPR-2 an element named with a CPR number is not echoed",
         apt("i10", AF_CPR_ANNA, "2026-12-01T09:00:00Z", NULL, ",\"0101901234\":1"), 400},
        {"R-CPR-2 a CPR number as the start is not echoed",
         apt("i11", AF_CPR_ANNA, "0101901234", NULL, ""), 400},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        ob_caller s = af_source(&f, "gp1-sys", "gp-1");
        ob_api_response r;
        af_call(&f, &s, "POST", "/Appointment", NULL, rows[i].body, &r);
        if (r.status != rows[i].status)
            fail_msg("%s: want %d got %d", rows[i].why, rows[i].status, r.status);
        char *t = af_text(&r);
        assert_string_equal(json_string_value(json_object_get(r.body, "resourceType")),
                            "OperationOutcome");
        assert_null(strstr(t, "320190")); /* never echo a CPR-like number */
        assert_null(strstr(t, "0101901234"));
        free(t);
        ob_api_response_release(&r);
    }
    assert_int_equal(count_rows(&f), 0);
    /* R-APT-2: sharing off: stored, never shown, not even to the patient */
    post(&f, "gp1-sys", "gp-1",
         apt("hidden", AF_CPR_ANNA, "2026-12-01T09:00:00Z", NULL,
             ",\"extension\":[{\"url\":\"https://overblik.dk/fhir/StructureDefinition/shared\","
             "\"valueBoolean\":false}]"),
         201);
    assert_int_equal(count_rows(&f), 1);
    ob_caller anna = af_citizen(&f, "anna", NULL);
    ob_api_response r;
    af_call(&f, &anna, "GET", "/Appointment", P_ANNA, NULL, &r);
    assert_int_equal(af_total(&r), 0);
    ob_api_response_release(&r);
    af_call(&f, &anna, "GET", "/Appointment/apt-1", NULL, NULL, &r);
    assert_int_equal(r.status, 404);
    ob_api_response_release(&r);
    af_close(&f);
}

/* The hub keeps each patient's rows in memory after a search (service/appointment.h);
 * every write must show at once in the next search, whoever reads: one row per step,
 * each after a search that filled the cache. */
static int64_t search_total(af *f, const ob_caller *c)
{
    ob_api_response r;
    af_call(f, c, "GET", "/Appointment", P_ANNA, NULL, &r);
    assert_int_equal(r.status, 200);
    int64_t n = af_total(&r);
    ob_api_response_release(&r);
    return n;
}

static void reads_follow_writes(void **state)
{
    (void)state;
    af f;
    af_open(&f, "apt-cache");
    ob_caller anna = af_citizen(&f, "anna", NULL);
    ob_caller s1 = af_source(&f, "gp1-sys", "gp-1");
    const char *key[] = {"identifier=urn:src:booking|c-1", NULL};
    ob_api_response r;
    assert_int_equal(search_total(&f, &anna), 0); /* cached: none */
    post(&f, "gp1-sys", "gp-1", apt("c-1", AF_CPR_ANNA, "2026-12-01T09:00:00Z", NULL, ""), 201);
    assert_int_equal(search_total(&f, &anna), 1); /* R-APT-1: created, seen at once */
    af_call(&f, &s1, "PUT", "/Appointment", key,
            apt("c-1", AF_CPR_ANNA, "2026-12-07T09:00:00Z", NULL, ""), &r);
    assert_int_equal(r.status, 200);
    ob_api_response_release(&r);
    af_call(&f, &anna, "GET", "/Appointment", P_ANNA, NULL, &r);
    char *t = af_text(&r);
    assert_non_null(strstr(t, "2026-12-07T09:00:00Z")); /* the update, not the cached row */
    assert_null(strstr(t, "2026-12-01T09:00:00Z"));
    free(t);
    ob_api_response_release(&r);
    /* R-APT-2: the sharing switch turned off hides it at once */
    af_call(&f, &s1, "PUT", "/Appointment", key,
            apt("c-1", AF_CPR_ANNA, "2026-12-07T09:00:00Z", NULL,
                ",\"extension\":[{\"url\":\"https://overblik.dk/fhir/StructureDefinition/shared\","
                "\"valueBoolean\":false}]"),
            &r);
    assert_int_equal(r.status, 200);
    ob_api_response_release(&r);
    assert_int_equal(search_total(&f, &anna), 0);
    /* an import (ob_hub_import) drops the cache too */
    static const char *const more[] = {
        "{\"type\":\"appointment\",\"source\":\"gp1-sys\",\"system\":\"urn:imp\","
        "\"identifier\":\"imp-1\",\"patient\":\"anna\",\"start\":\"2026-12-20T09:00:00Z\","
        "\"end\":\"2026-12-20T09:15:00Z\"}"};
    af_load(&f, more, 1);
    assert_int_equal(search_total(&f, &anna), 1);
    af_close(&f);
}

/* A write's Location (/Appointment/<id>/_history/<vid>) can be read: the current version
 * only. An older version, a malformed one and a hidden appointment read exactly as an
 * appointment that does not exist; every read is logged once. The instance's history
 * (/Appointment/<id>/_history) lists the current version, decided and logged like a read
 * (issue 3: history goes through the same check); type-level history is refused. */
static void version_read(void **state)
{
    (void)state;
    af f;
    af_open(&f, "apt-vread");
    ob_caller s1 = af_source(&f, "gp1-sys", "gp-1");
    const char *key[] = {"identifier=urn:src:booking|v-1", NULL};
    ob_api_response r;
    af_call(&f, &s1, "POST", "/Appointment", NULL,
            apt("v-1", AF_CPR_ANNA, "2026-12-01T09:00:00Z", NULL, ""), &r);
    assert_int_equal(r.status, 201);
    char loc[sizeof r.location];
    memcpy(loc, r.location, sizeof loc);
    assert_non_null(strstr(loc, "/_history/1"));
    ob_api_response_release(&r);
    af_call(&f, &s1, "PUT", "/Appointment", key,
            apt("v-1", AF_CPR_ANNA, "2026-12-07T09:00:00Z", NULL, ""), &r);
    assert_int_equal(r.status, 200);
    ob_api_response_release(&r);
    const char *id = strstr(loc, "apt-");
    char cur[128], old[128], nobody[128], bad[128], listing[128];
    const char *nobody_listing = "/Appointment/apt-999999/_history";
    snprintf(cur, sizeof cur, "/Appointment/%.*s/_history/2", (int)strcspn(id, "/"), id);
    snprintf(old, sizeof old, "/Appointment/%.*s/_history/1", (int)strcspn(id, "/"), id);
    snprintf(bad, sizeof bad, "/Appointment/%.*s/_history/x2", (int)strcspn(id, "/"), id);
    snprintf(listing, sizeof listing, "/Appointment/%.*s/_history", (int)strcspn(id, "/"), id);
    snprintf(nobody, sizeof nobody, "/Appointment/apt-999999/_history/1");
    const struct {
        const char *why, *who, *path;
        int status;
        bool like_absent;
    } rows[] = {
        {"the current version, by the patient's GP", "gp1-dr", cur, 200, false},
        {"an older version is not kept", "gp1-dr", old, 404, true},
        {"a malformed version", "gp1-dr", bad, 404, true},
        {"a doctor without a relationship: hidden equals absent", "gp2-dr", cur, 404, true},
        {"an appointment that does not exist", "gp1-dr", nobody, 404, true},
        {"the history lists the current version", "gp1-dr", listing, 200, false},
        {"a hidden appointment's history equals an absent one's read", "gp2-dr", listing, 404,
         true},
        {"an absent appointment's history", "gp1-dr", nobody_listing, 404, true},
        {"no type-level history (a listing across patients)", "gp1-dr", "/Appointment/_history",
         400, false},
    };
    ob_api_response absent;
    ob_caller gp1 = af_pro(&f, "gp1-dr", "gp-1", NULL);
    af_call(&f, &gp1, "GET", "/Appointment/apt-999999", NULL, NULL, &absent);
    char *absent_text = af_text(&absent);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        ob_caller c = strcmp(rows[i].who, "gp1-dr") == 0 ? gp1 : af_pro(&f, "gp2-dr", "gp-2", NULL);
        af_log_count before = af_log(&f, "anna", NULL);
        af_call(&f, &c, "GET", rows[i].path, NULL, NULL, &r);
        af_log_count after = af_log(&f, "anna", NULL);
        if (r.status != rows[i].status)
            fail_msg("%s: status %d", rows[i].why, r.status);
        if (rows[i].status == 200) {
            assert_true(af_has(&r, "2026-12-07T09:00:00Z"));
            assert_int_equal(after.n, before.n + 1); /* R-LOG-1 */
        }
        if (rows[i].status == 200 && rows[i].path == cur)
            assert_string_equal(r.etag, "W/\"2\"");
        if (rows[i].status == 200 && rows[i].path == listing) {
            assert_true(ob_api_response_parse(&r));
            assert_string_equal(json_string_value(json_object_get(r.body, "type")), "history");
            assert_int_equal(json_integer_value(json_object_get(r.body, "total")), 1);
            json_t *en = json_array_get(json_object_get(r.body, "entry"), 0);
            json_t *rq = json_object_get(en, "request"), *rs = json_object_get(en, "response");
            assert_string_equal(json_string_value(json_object_get(rq, "method")), "PUT");
            assert_string_equal(json_string_value(json_object_get(rs, "etag")), "W/\"2\"");
            assert_non_null(json_object_get(rs, "lastModified"));
            assert_int_equal(json_array_size(json_object_get(r.body, "entry")), 1);
        }
        if (rows[i].status == 400)
            assert_int_equal(after.n, before.n); /* refused before anything was read */
        if (rows[i].like_absent) {
            char *t = af_text(&r);
            if (strcmp(t, absent_text) != 0)
                fail_msg("%s: %s differs from an absent read", rows[i].why, t);
            free(t);
        }
        ob_api_response_release(&r);
    }
    free(absent_text);
    ob_api_response_release(&absent);
    af_close(&f);
}

/* An update with If-Match (the ETag a read or write gave) goes through only while the
 * appointment is still at that version, checked inside the write's transaction; a 412
 * changes nothing and logs nothing (R-APT-1: a source's updates are not lost to another
 * of its own writers). Rows run in order on one appointment created at version 1. */
static void if_match(void **state)
{
    (void)state;
    af f;
    af_open(&f, "apt-ifmatch");
    post(&f, "gp1-sys", "gp-1", apt("m-1", AF_CPR_ANNA, "2026-12-01T09:00:00Z", NULL, ""), 201);
    const struct {
        const char *why, *client, *site, *ident, *if_match, *start;
        int status;
        const char *etag; /* after a 200 */
    } rows[] = {
        {"the current version", "gp1-sys", "gp-1", "m-1", "W/\"1\"", "2026-12-02T09:00:00Z", 200,
         "W/\"2\""},
        {"a stale version: 412, nothing written", "gp1-sys", "gp-1", "m-1", "W/\"1\"",
         "2026-12-03T09:00:00Z", 412, NULL},
        {"the strong form of the current version", "gp1-sys", "gp-1", "m-1", "\"2\"",
         "2026-12-04T09:00:00Z", 200, "W/\"3\""},
        {"* : any existing version", "gp1-sys", "gp-1", "m-1", "*", "2026-12-05T09:00:00Z", 200,
         "W/\"4\""},
        {"* on an identifier the source does not have: not created", "gp1-sys", "gp-1", "m-2", "*",
         "2026-12-06T09:00:00Z", 412, NULL},
        {"a version of an identifier the source does not have", "gp1-sys", "gp-1", "m-3", "W/\"4\"",
         "2026-12-06T09:00:00Z", 412, NULL},
        {"another source: the identifier system is gp1-sys's (R-APT-1)", "epj-hosp", "hosp", "m-1",
         "W/\"4\"", "2026-12-07T09:00:00Z", 403, NULL},
        {"not a version", "gp1-sys", "gp-1", "m-1", "W/\"abc\"", "2026-12-08T09:00:00Z", 400, NULL},
        {"version 0 does not exist", "gp1-sys", "gp-1", "m-1", "W/\"0\"", "2026-12-08T09:00:00Z",
         400, NULL},
        {"without If-Match: as before, last writer wins", "gp1-sys", "gp-1", "m-1", NULL,
         "2026-12-09T09:00:00Z", 200, "W/\"5\""},
    };
    const char *current = "2026-12-01T09:00:00Z";
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        ob_caller s = af_source(&f, rows[i].client, rows[i].site);
        char key[64];
        snprintf(key, sizeof key, "identifier=urn:src:booking|%s", rows[i].ident);
        const char *params[] = {key, NULL};
        af_log_count before = af_log(&f, "anna", NULL);
        ob_api_response r;
        f.if_match = rows[i].if_match;
        af_call(&f, &s, "PUT", "/Appointment", params,
                apt(rows[i].ident, AF_CPR_ANNA, rows[i].start, NULL, ""), &r);
        f.if_match = NULL;
        af_log_count after = af_log(&f, "anna", NULL);
        if (r.status != rows[i].status) {
            char *t = af_text(&r);
            fail_msg("%s: %d %s", rows[i].why, r.status, t);
        }
        if (rows[i].status == 200) {
            assert_string_equal(r.etag, rows[i].etag);
            assert_int_equal(after.n, before.n + 1);
            current = rows[i].start;
        } else if (rows[i].status == 403) { /* refused as forbidden: logged (R-LOG-1) */
            assert_int_equal(after.n, before.n + 1);
        } else {
            assert_int_equal(after.n, before.n); /* invalid: nothing written, nothing logged */
        }
        ob_api_response_release(&r);
        /* what a reader sees is the last write that went through */
        ob_caller anna = af_citizen(&f, "anna", NULL);
        af_call(&f, &anna, "GET", "/Appointment", P_ANNA, NULL, &r);
        if (!af_has(&r, current) || af_total(&r) != 1)
            fail_msg("%s: the patient does not see exactly the last accepted write", rows[i].why);
        ob_api_response_release(&r);
    }
    af_close(&f);
}

/* R-API-5: an error that quotes the caller's bytes is still an OperationOutcome when those
 * bytes are not UTF-8 (a parameter name from a raw query string): they show as '?'. Before,
 * jansson refused the text and the 400 had no body (found by fuzz_api). */
static void outcome_is_utf8(void **state)
{
    (void)state;
    af f;
    af_open(&f, "apt-utf8");
    ob_caller gp1 = af_pro(&f, "gp1-dr", "gp-1", NULL);
    const char *params[] = {"patient=Patient/anna", "\xd1#\xff=1", NULL};
    ob_api_response r;
    af_call(&f, &gp1, "GET", "/Appointment", params, NULL, &r);
    assert_int_equal(r.status, 400);
    assert_non_null(r.body);
    json_t *issue = json_array_get(json_object_get(r.body, "issue"), 0);
    assert_string_equal(json_string_value(json_object_get(issue, "diagnostics")),
                        "unsupported search parameter '?#?'");
    ob_api_response_release(&r);
    af_close(&f);
}

/* R-APT-5: before the source's go-live: never shown. */
static void go_live(void **state)
{
    (void)state;
    af f;
    af_open(&f, "apt-golive");
    post(&f, "epj-hosp", "hosp", apt("old", AF_CPR_ANNA, "2024-06-01T09:00:00Z", NULL, ""), 201);
    post(&f, "epj-hosp", "hosp", apt("new", AF_CPR_ANNA, "2025-06-01T09:00:00Z", NULL, ""), 201);
    ob_caller anna = af_citizen(&f, "anna", NULL);
    ob_api_response r;
    af_call(&f, &anna, "GET", "/Appointment", NULL, NULL, &r);
    assert_int_equal(af_total(&r), 1);
    assert_true(af_has(&r, "2025-06-01"));
    ob_api_response_release(&r);
    af_close(&f);
}

/* R-APT-6 and the leak cases: who sees what; hidden, unknown and empty answer alike. */
static void who_sees(void **state)
{
    (void)state;
    af f;
    af_open(&f, "apt-who");
    post(&f, "gp1-sys", "gp-1", apt("a1", AF_CPR_ANNA, "2026-12-01T09:00:00Z", NULL, ""), 201);
    post(&f, "epj-hosp", "hosp", apt("a2", AF_CPR_ANNA, "2026-12-02T09:00:00Z", NULL, ""), 201);
    post(&f, "gp1-sys", "gp-1", apt("c1", AF_CPR_CARL, "2026-12-03T09:00:00Z", NULL, ""), 201);
    ob_caller gp1 = af_pro(&f, "gp1-dr", "gp-1", NULL), gp2 = af_pro(&f, "gp2-dr", "gp-2", NULL),
              anna = af_citizen(&f, "anna", NULL), bent = af_citizen(&f, "bent", "PWATRNY");
    static const char *P_CARL[] = {"patient=Patient/carl", NULL};
    static const char *P_NOBODY[] = {"patient=Patient/nobody", NULL};
    static const char *P_BENT[] = {"patient=Patient/bent", NULL};
    const struct {
        const char *why;
        const ob_caller *c;
        const char *const *params;
        int total;
    } rows[] = {
        {"R-APT-6 the patient", &anna, NULL, 2},
        {"R-APT-6 treating GP (R-ACC-1)", &gp1, P_ANNA, 2},
        {"R-APT-6 no relationship", &gp2, P_ANNA, 0},
        {"R-APT-6 attorney (PWATRNY)", &bent, P_CARL, 1},
        {"R-APT-6 no attorney", &bent, P_ANNA, 0},
        {"another citizen", &anna, P_CARL, 0},
        {"unknown patient", &gp2, P_NOBODY, 0},
        {"no appointments", &gp2, P_BENT, 0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        ob_api_response r;
        af_call(&f, rows[i].c, "GET", "/Appointment", rows[i].params, NULL, &r);
        if (r.status != 200 || af_total(&r) != rows[i].total)
            fail_msg("%s: status %d total %d, want %d", rows[i].why, r.status, (int)af_total(&r),
                     rows[i].total);
        assert_int_equal(af_matches(&r), (size_t)rows[i].total);
        ob_api_response_release(&r);
    }
    /* hidden, unknown and empty patients: byte-identical bodies */
    ob_api_response a, b, c;
    af_call(&f, &gp2, "GET", "/Appointment", P_ANNA, NULL, &a);
    af_call(&f, &gp2, "GET", "/Appointment", P_NOBODY, NULL, &b);
    af_call(&f, &gp2, "GET", "/Appointment", P_BENT, NULL, &c);
    char *ta = af_twin_text(&a), *tb = af_twin_text(&b), *tc = af_twin_text(&c);
    assert_string_equal(ta, tb);
    assert_string_equal(ta, tc);
    free(ta);
    free(tb);
    free(tc);
    ob_api_response_release(&a);
    ob_api_response_release(&b);
    ob_api_response_release(&c);
    /* the deny is still logged, once */
    af_log_count before = af_log(&f, "anna", NULL);
    af_call(&f, &gp2, "GET", "/Appointment", P_ANNA, NULL, &a);
    af_log_count after = af_log(&f, "anna", NULL);
    assert_int_equal(after.n, before.n + 1);
    ob_api_response_release(&a);
    /* read by id: hidden and non-existent answer alike (404) */
    af_call(&f, &gp2, "GET", "/Appointment/apt-1", NULL, NULL, &a);
    af_call(&f, &gp2, "GET", "/Appointment/apt-999", NULL, NULL, &b);
    assert_int_equal(a.status, 404);
    ta = af_text(&a);
    tb = af_text(&b);
    assert_string_equal(ta, tb);
    free(ta);
    free(tb);
    ob_api_response_release(&a);
    ob_api_response_release(&b);
    /* POST _search with the CPR in the body (R-CPR-2) */
    const char *body_cpr[] = {"@patient.identifier=" CPR_SYS "|" AF_CPR_ANNA, NULL};
    af_call(&f, &gp1, "POST", "/Appointment/_search", body_cpr, NULL, &a);
    assert_int_equal(a.status, 200);
    assert_int_equal(af_total(&a), 2);
    ob_api_response_release(&a);
    af_close(&f);
}

/* R-APT-7: blocks; the marker says only that something is withheld. The reader is
 * anna's GP; the appointments come from the hospital (the GP's own clinic's
 * appointments stay visible to it under R-ACC-2, which blocks never stop, R-BLK-4). */
static void blocks(void **state)
{
    (void)state;
    af f;
    af_open(&f, "apt-block");
    const char *psyk = ",\"extension\":[{\"url\":\"https://overblik.dk/fhir/StructureDefinition/"
                       "responsible-clinic\",\"valueReference\":{\"reference\":\"Organization/"
                       "hosp-psyk\"}}]";
    post(&f, "epj-hosp", "hosp", apt("h0", AF_CPR_ANNA, "2026-12-01T09:00:00Z", NULL, ""), 201);
    post(&f, "epj-hosp", "hosp", apt("h1", AF_CPR_ANNA, "2026-12-02T09:00:00Z", NULL, psyk), 201);
    post(&f, "epj-hosp", "hosp", apt("h2", AF_CPR_ANNA, "2027-03-01T09:00:00Z", NULL, ""), 201);
    post(&f, "gp1-sys", "gp-1", apt("own", AF_CPR_ANNA, "2027-04-01T09:00:00Z", NULL, ""), 201);
    ob_caller gp1 = af_pro(&f, "gp1-dr", "gp-1", NULL), anna = af_citizen(&f, "anna", NULL);
    const struct {
        const char *why, *block;
        int total;
        bool marker;
    } rows[] = {
        {"no block", NULL, 4, false},
        {"R-APT-7 site block: the site's appointments hidden",
         "{\"type\":\"block\",\"patient\":\"anna\",\"kind\":\"site\",\"target\":\"hosp-psyk\"}", 3,
         true},
        {"R-APT-7 period block: appointments held in it hidden",
         "{\"type\":\"block\",\"patient\":\"anna\",\"kind\":\"period\",\"data_from\":"
         "\"2027-01-01\",\"data_to\":\"2027-03-31\"}",
         2, true},
        {"R-APT-7 professional block: none from other sites",
         "{\"type\":\"block\",\"patient\":\"anna\",\"kind\":\"professional\",\"target\":"
         "\"gp1-dr\"}",
         1, true},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        if (rows[i].block)
            af_change(&f, rows[i].block);
        ob_api_response r;
        af_call(&f, &gp1, "GET", "/Appointment", P_ANNA, NULL, &r);
        if (af_total(&r) != rows[i].total || af_marker(&r) != rows[i].marker)
            fail_msg("%s: total %d marker %d", rows[i].why, (int)af_total(&r), af_marker(&r));
        assert_int_equal(af_matches(&r), (size_t)rows[i].total);
        char *t = af_text(&r);
        if (rows[i].marker)
            assert_null(strstr(t, "psyk")); /* never which */
        free(t);
        ob_api_response_release(&r);
    }
    /* the patient still sees all (R-BLK-4) */
    ob_api_response r;
    af_call(&f, &anna, "GET", "/Appointment", NULL, NULL, &r);
    assert_int_equal(af_total(&r), 4);
    assert_false(af_marker(&r));
    ob_api_response_release(&r);
    af_close(&f);
}

/* R-LOG-1: one entry per search with the result ids, in the log before the call returns;
 * filter before counting and paging. */
static void log_and_paging(void **state)
{
    (void)state;
    af f;
    af_open(&f, "apt-log");
    for (int i = 0; i < 5; i++) {
        char id[16], start[32];
        snprintf(id, sizeof id, "p%d", i);
        snprintf(start, sizeof start, "2026-12-%02dT09:00:00Z", i + 1);
        post(&f, i == 2 ? "epj-hosp" : "gp1-sys", i == 2 ? "hosp" : "gp-1",
             apt(id, AF_CPR_ANNA, start, NULL, ""), 201);
    }
    af_change(&f,
              "{\"type\":\"block\",\"patient\":\"anna\",\"kind\":\"site\",\"target\":\"hosp\"}");
    ob_caller gp1 = af_pro(&f, "gp1-dr", "gp-1", NULL);
    af_log_count before = af_log(&f, "anna", NULL);
    const char *page1[] = {"patient=Patient/anna", "_count=2", NULL};
    ob_api_response r;
    af_call(&f, &gp1, "GET", "/Appointment", page1, NULL, &r);
    af_log_count after = af_log(&f, "anna", NULL);
    /* one entry per search, and one denial for what the block withheld (R-LOG-1, R-BLK-4) */
    assert_int_equal(after.n, before.n + 2);
    assert_int_equal(after.withheld, before.withheld + 1);
    assert_string_equal(after.withheld_categories, "appointment");
    assert_non_null(strstr(after.last_resource, "Appointment/apt-1"));
    assert_null(strstr(after.last_resource, "Appointment/apt-3")); /* withheld: not disclosed */
    assert_int_equal(af_total(&r), 4);                             /* filter before counting */
    assert_int_equal(af_matches(&r), 2);
    ob_api_response_release(&r);
    const char *page3[] = {"patient=Patient/anna", "_count=2", "_offset=2", NULL};
    af_call(&f, &gp1, "GET", "/Appointment", page3, NULL, &r);
    assert_int_equal(af_total(&r), 4);
    assert_int_equal(af_matches(&r), 2);
    ob_api_response_release(&r);
    const char *page_end[] = {"patient=Patient/anna", "_offset=4", NULL};
    af_call(&f, &gp1, "GET", "/Appointment", page_end, NULL, &r);
    assert_int_equal(af_total(&r), 4);
    assert_int_equal(af_matches(&r), 0);
    ob_api_response_release(&r);
    /* nothing bypasses the check */
    const struct {
        const char *const params[3];
        int status;
    } rows[] = {
        {{"patient=Patient/anna", "_include=Appointment:location", NULL}, 400},
        {{"patient=Patient/anna", "_revinclude=Provenance:target", NULL}, 400},
        {{"patient=Patient/anna", "_summary=verbose", NULL}, 400},
        {{"patient=Patient/anna", "_count=-1", NULL}, 400},
        {{"patient.identifier=" AF_CPR_ANNA, NULL, NULL}, 400}, /* CPR in the URL (R-CPR-2) */
        {{"patient=" AF_CPR_ANNA, NULL, NULL}, 400},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        af_call(&f, &gp1, "GET", "/Appointment", rows[i].params, NULL, &r);
        assert_int_equal(r.status, rows[i].status);
        assert_false(af_has(&r, "0101901234"));
        ob_api_response_release(&r);
    }
    af_call(&f, &gp1, "GET", "/Appointment/apt-1/_history/1/more", NULL, NULL, &r);
    assert_int_equal(r.status, 400);
    ob_api_response_release(&r);
    af_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(create_and_show),
        cmocka_unit_test(specialist_fictive_end),
        cmocka_unit_test(only_source_writes),
        cmocka_unit_test(input_rules),
        cmocka_unit_test(outcome_never_quotes_cpr),
        cmocka_unit_test(go_live),
        cmocka_unit_test(who_sees),
        cmocka_unit_test(blocks),
        cmocka_unit_test(log_and_paging),
        cmocka_unit_test(reads_follow_writes),
        cmocka_unit_test(version_read),
        cmocka_unit_test(if_match),
        cmocka_unit_test(outcome_is_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

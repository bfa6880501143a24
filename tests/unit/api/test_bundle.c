/* test_bundle.c - batch and transaction Bundles (POST /fhir; issue 20): a transaction of a
 * source system's writes is stored all or nothing, with one log entry per write; a batch
 * answers per entry; the refusals are those of single writes. Drives ob_api_handle. */
#include "api_fixture.h"

#include <sqlite3.h>

#define CPR_SYS "urn:oid:1.2.208.176.1.2"

static int64_t rows(af *f, const char *table)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
    sqlite3_stmt *st;
    sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    sqlite3_step(st);
    int64_t n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

/* Appends one entry (method, url, resource JSON) to the entries text. */
static void add(char *buf, size_t cap, const char *method, const char *url, const char *res)
{
    size_t n = strlen(buf);
    snprintf(buf + n, cap - n, "%s{\"request\":{\"method\":\"%s\",\"url\":\"%s\"}%s%s}",
             n ? "," : "", method, url, res ? ",\"resource\":" : "", res ? res : "");
}

static char *med(char *b, size_t cap, const char *ident, const char *cpr)
{
    snprintf(
        b, cap,
        "{\"resourceType\":\"MedicationStatement\",\"identifier\":[{\"system\":\"urn:gp1:med\","
        "\"value\":\"%s\"}],\"status\":\"active\",\"medicationCodeableConcept\":{\"coding\":[{"
        "\"system\":\"http://www.whocc.no/atc\",\"code\":\"C09AA05\"}]},\"subject\":{"
        "\"identifier\":{\"system\":\"" CPR_SYS "\",\"value\":\"%s\"}},"
        "\"effectiveDateTime\":\"2026-01-05T00:00:00Z\"}",
        ident, cpr);
    return b;
}

static char *apt(char *b, size_t cap, const char *ident, const char *cpr)
{
    snprintf(b, cap,
             "{\"resourceType\":\"Appointment\",\"identifier\":[{\"system\":\"urn:gp1:booking\","
             "\"value\":\"%s\"}],\"status\":\"booked\",\"start\":\"2026-12-20T09:00:00Z\","
             "\"participant\":[{\"actor\":{\"identifier\":{\"system\":\"" CPR_SYS
             "\",\"value\":\"%s\"}},\"status\":\"accepted\"}]}",
             ident, cpr);
    return b;
}

static const char *imm =
    "{\"resourceType\":\"Immunization\",\"identifier\":[{\"system\":\"urn:gp1:vac\",\"value\":"
    "\"v-1\"}],\"status\":\"completed\",\"vaccineCode\":{\"coding\":[{\"system\":\"http://"
    "www.whocc.no/atc\",\"code\":\"J07BB02\"}]},\"patient\":{\"identifier\":{\"system\":\"" CPR_SYS
    "\",\"value\":\"" AF_CPR_ANNA "\"}},\"occurrenceDateTime\":\"2026-10-01T10:00:00Z\"}";

static char *bundle(const char *type, const char *entries)
{
    size_t n = strlen(entries) + 128;
    char *b = malloc(n);
    snprintf(b, n, "{\"resourceType\":\"Bundle\",\"type\":\"%s\",\"entry\":[%s]}", type, entries);
    return b;
}

/* One row per scenario: a Bundle, the answer, and what is stored after it. */
static void transactions(void **state)
{
    (void)state;
    af f;
    af_open(&f, "bundle-tx");
    ob_caller gp1 = af_source(&f, "gp1-sys", "gp-1"), dr = af_pro(&f, "gp1-dr", "gp-1", NULL);
    char r1[1024], r2[1024], r3[1024], r4[1024];
    static char ok[8192], bad_last[8192], dup[8192], conflict[8192], reads[2048], cpr_url[2048];
    ok[0] = bad_last[0] = dup[0] = conflict[0] = reads[0] = cpr_url[0] = '\0';
    add(ok, sizeof ok, "POST", "MedicationStatement", med(r1, sizeof r1, "m-1", AF_CPR_ANNA));
    add(ok, sizeof ok, "PUT", "Appointment?identifier=urn:gp1:booking%7Ca-1",
        apt(r2, sizeof r2, "a-1", AF_CPR_ANNA));
    add(ok, sizeof ok, "POST", "Immunization", imm);
    add(ok, sizeof ok, "POST", "MedicationStatement", med(r3, sizeof r3, "m-2", AF_CPR_CARL));
    /* the last entry names a patient nobody has: the first three must not be stored */
    add(bad_last, sizeof bad_last, "POST", "MedicationStatement",
        med(r1, sizeof r1, "m-3", AF_CPR_ANNA));
    add(bad_last, sizeof bad_last, "POST", "MedicationStatement",
        med(r4, sizeof r4, "m-4", AF_CPR_NONE));
    add(dup, sizeof dup, "POST", "MedicationStatement", med(r1, sizeof r1, "m-5", AF_CPR_ANNA));
    add(dup, sizeof dup, "PUT", "MedicationStatement?identifier=urn:gp1:med%7Cm-5",
        med(r2, sizeof r2, "m-5", AF_CPR_ANNA));
    /* m-1 exists after the first row: a POST of it fails inside the store's transaction,
     * after m-6 was written there, so m-6 must be rolled back too */
    add(conflict, sizeof conflict, "POST", "MedicationStatement",
        med(r1, sizeof r1, "m-6", AF_CPR_ANNA));
    add(conflict, sizeof conflict, "POST", "MedicationStatement",
        med(r2, sizeof r2, "m-1", AF_CPR_ANNA));
    add(reads, sizeof reads, "GET", "Observation?patient=Patient/anna", NULL);
    add(cpr_url, sizeof cpr_url, "PUT", "MedicationStatement?identifier=urn:x%7C0101901234",
        med(r1, sizeof r1, "m-7", AF_CPR_ANNA));
    const struct {
        const char *why;
        const ob_caller *c;
        const char *type, *entries;
        int status;
        const char *has;
        int64_t items, apts, logged; /* rows after; log entries about anna added */
    } rows_[] = {
        {"a transaction of mixed writes is stored", &gp1, "transaction", ok, 200, "201 Created", 3,
         1, 3},
        {"one bad entry: nothing stored, the entry named, the refusal logged", &gp1, "transaction",
         bad_last, 400, "entry 1: unknown patient", 3, 1, 0},
        {"two entries about one identifier: refused", &gp1, "transaction", dup, 400, "entry 1", 3,
         1, 0},
        {"a conflict inside the store: all rolled back", &gp1, "transaction", conflict, 409,
         "entry 1", 3, 1, 0},
        {"a transaction takes writes only", &gp1, "transaction", reads, 400, "writes only", 3, 1,
         0},
        {"R-CPR-2 a CPR number in an entry's URL is refused, not quoted", &gp1, "transaction",
         cpr_url, 400, "R-CPR-2", 3, 1, 0},
        {"a professional cannot write through a transaction", &dr, "transaction", ok, 403,
         "entry 0", 3, 1, 0},
        {"a Bundle of another type is refused", &gp1, "document", ok, 400, "batch or transaction",
         3, 1, 0},
    };
    for (size_t i = 0; i < sizeof rows_ / sizeof rows_[0]; i++) {
        char *b = bundle(rows_[i].type, rows_[i].entries);
        af_log_count before = af_log(&f, "anna", "?source=gp1-sys");
        ob_api_response r;
        af_call(&f, rows_[i].c, "POST", "", NULL, b, &r);
        char *t = af_text(&r);
        if (r.status != rows_[i].status || !strstr(t, rows_[i].has))
            fail_msg("%s: %d %s", rows_[i].why, r.status, t);
        if (strstr(t, "0101901234"))
            fail_msg("%s: quotes a CPR number", rows_[i].why);
        free(t);
        ob_api_response_release(&r);
        free(b);
        if (rows(&f, "items") != rows_[i].items || rows(&f, "appointments") != rows_[i].apts)
            fail_msg("%s: %lld items, %lld appointments", rows_[i].why,
                     (long long)rows(&f, "items"), (long long)rows(&f, "appointments"));
        af_log_count after = af_log(&f, "anna", "?source=gp1-sys");
        if (after.with_resource - before.with_resource != (size_t)rows_[i].logged)
            fail_msg("%s: %zu writes logged", rows_[i].why,
                     after.with_resource - before.with_resource);
    }
    af_close(&f);
}

/* A batch answers per entry: good ones stored, bad ones refused as alone; reads allowed. */
static void batches(void **state)
{
    (void)state;
    af f;
    af_open(&f, "bundle-batch");
    ob_caller gp1 = af_source(&f, "gp1-sys", "gp-1");
    char r1[1024], r2[1024];
    static char en[8192];
    en[0] = '\0';
    add(en, sizeof en, "POST", "MedicationStatement", med(r1, sizeof r1, "b-1", AF_CPR_ANNA));
    add(en, sizeof en, "POST", "MedicationStatement", med(r2, sizeof r2, "b-2", AF_CPR_NONE));
    add(en, sizeof en, "GET", "MedicationStatement?patient=Patient/anna", NULL);
    add(en, sizeof en, "DELETE", "MedicationStatement/src-1", NULL);
    char *b = bundle("batch", en);
    ob_api_response r;
    af_call(&f, &gp1, "POST", "", NULL, b, &r);
    free(b);
    assert_int_equal(r.status, 200);
    json_t *entries = json_object_get(r.body, "entry");
    assert_int_equal(json_array_size(entries), 4);
    const char *want[] = {"201 Created", "400 Bad Request", "200 OK", "405 Method Not Allowed"};
    for (size_t i = 0; i < 4; i++) {
        const char *st = json_string_value(
            json_object_get(json_object_get(json_array_get(entries, i), "response"), "status"));
        if (!st || strcmp(st, want[i]) != 0)
            fail_msg("batch entry %zu: %s", i, st ? st : "(none)");
    }
    /* the read's answer is the searchset, with the write before it */
    json_t *res = json_object_get(json_array_get(entries, 2), "resource");
    assert_int_equal(json_integer_value(json_object_get(res, "total")), 1);
    ob_api_response_release(&r);
    assert_int_equal(rows(&f, "items"), 1);
    af_close(&f);
}

/* 1,000 mixed writes in one transaction: stored, each logged (the size the issue names). */
static void thousand(void **state)
{
    (void)state;
    af f;
    af_open(&f, "bundle-1000");
    ob_caller gp1 = af_source(&f, "gp1-sys", "gp-1");
    size_t cap = 1200 * 1000;
    char *en = malloc(cap), r1[1024], id[32], url[96];
    en[0] = '\0';
    for (int i = 0; i < 1000; i++) {
        snprintf(id, sizeof id, "k-%d", i);
        const char *cpr = i % 3 == 0 ? AF_CPR_ANNA : i % 3 == 1 ? AF_CPR_BENT : AF_CPR_CARL;
        if (i % 2) {
            snprintf(url, sizeof url, "Appointment?identifier=urn:gp1:booking%%7C%s", id);
            add(en, cap, "PUT", url, apt(r1, sizeof r1, id, cpr));
        } else {
            add(en, cap, "POST", "MedicationStatement", med(r1, sizeof r1, id, cpr));
        }
    }
    char *b = bundle("transaction", en);
    free(en);
    ob_api_response r;
    af_call(&f, &gp1, "POST", "", NULL, b, &r);
    free(b);
    if (r.status != 200) {
        char *t = af_text(&r);
        fail_msg("1000: %d %s", r.status, t);
    }
    assert_int_equal(json_array_size(json_object_get(r.body, "entry")), 1000);
    ob_api_response_release(&r);
    assert_int_equal(rows(&f, "items"), 500);
    assert_int_equal(rows(&f, "appointments"), 500);
    assert_int_equal(af_log(&f, "bent", "?source=gp1-sys").with_resource, 333);
    af_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(transactions),
        cmocka_unit_test(batches),
        cmocka_unit_test(thousand),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

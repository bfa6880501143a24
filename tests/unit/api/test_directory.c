/* test_directory.c - Organization and Practitioner (R-API-1): the references in
 * appointments, patients and log entries resolve; the directory is read-only, searched
 * by _id or identifier (SOR, provider number, authorisation id), by name and by parent
 * (issue 26: the citizen's block pages), and holds no patient
 * data, so reading it writes no log entry. */
#include "api_fixture.h"

enum who { GP1, ANNA, SOURCE };

typedef struct row {
    const char *why;
    enum who who;
    const char *method, *path;
    const char *params[3];
    int status;
    int total;              /* searches; -1 for reads and refusals */
    const char *has, *has2; /* in the answer, or NULL */
} row;

static const row rows[] = {
    {"R-APT-3 a responsible clinic resolves, with its place in the hierarchy",
     GP1,
     "GET",
     "/Organization/hosp-psyk",
     {NULL},
     200,
     -1,
     "\"name\":\"Psykiatrisk afdeling\"",
     "\"partOf\":{\"reference\":\"Organization/hosp\"}"},
    {"a GP clinic carries its provider number (ydernummer)",
     ANNA,
     "GET",
     "/Organization/gp-1",
     {NULL},
     200,
     -1,
     "{\"system\":\"urn:oid:1.2.208.176.1.4\",\"value\":\"123456\"}",
     "\"code\":\"gp_clinic\""},
    {"an address when the organisation has one",
     GP1,
     "GET",
     "/Organization/hosp",
     {NULL},
     200,
     -1,
     "\"address\":[{\"text\":\"J. B. Winsløws Vej 4, Odense\"}]",
     NULL},
    {"R-LOG-3 a log entry's agent resolves for the citizen",
     ANNA,
     "GET",
     "/Practitioner/med-dr",
     {NULL},
     200,
     -1,
     "{\"system\":\"https://autregweb.sst.dk\",\"value\":\"0A1B4\"}",
     "\"family\":\"Dahl\""},
    {"a source system reads the directory too",
     SOURCE,
     "GET",
     "/Practitioner/gp1-dr",
     {NULL},
     200,
     -1,
     "\"given\":[\"Anne\"]",
     NULL},
    {"an unknown organisation",
     GP1,
     "GET",
     "/Organization/nope",
     {NULL},
     404,
     -1,
     "no such Organization",
     NULL},
    {"a patient is not a practitioner",
     GP1,
     "GET",
     "/Practitioner/anna",
     {NULL},
     404,
     -1,
     NULL,
     NULL},
    {"by provider number",
     GP1,
     "GET",
     "/Organization",
     {"identifier=urn:oid:1.2.208.176.1.4|234567"},
     200,
     1,
     "\"id\":\"gp-2\"",
     NULL},
    {"by a bare provider number",
     GP1,
     "GET",
     "/Organization",
     {"identifier=234567"},
     200,
     1,
     "\"id\":\"gp-2\"",
     NULL},
    {"by authorisation id",
     GP1,
     "GET",
     "/Practitioner",
     {"identifier=https://autregweb.sst.dk|0A1B4"},
     200,
     1,
     "\"id\":\"med-dr\"",
     NULL},
    {"an authorisation id in another system matches nothing",
     GP1,
     "GET",
     "/Practitioner",
     {"identifier=urn:x|0A1B4"},
     200,
     0,
     NULL,
     NULL},
    {"by _id, POST _search",
     GP1,
     "POST",
     "/Organization/_search",
     {"@_id=hosp-med"},
     200,
     1,
     "\"name\":\"Medicinsk afdeling\"",
     NULL},
    {"_id unknown: an empty Bundle",
     GP1,
     "GET",
     "/Practitioner",
     {"_id=nobody"},
     200,
     0,
     NULL,
     NULL},
    {"not listed wholesale",
     GP1,
     "GET",
     "/Organization",
     {NULL},
     400,
     -1,
     "one of _id, identifier",
     NULL},
    {"one of _id and identifier",
     GP1,
     "GET",
     "/Practitioner",
     {"_id=med-dr", "identifier=0A1B4"},
     400,
     -1,
     NULL,
     NULL},
    {"R-API-5 other parameters are refused",
     GP1,
     "GET",
     "/Organization",
     {"address=Odense"},
     400,
     -1,
     "unsupported search parameter",
     NULL},
    /* issue 26, R-BLK-1: the citizen finds a professional or a site to block by name */
    {"R-BLK-1 a professional by part of the name, any case, with role and sites",
     ANNA,
     "GET",
     "/Practitioner",
     {"name=dAhL"},
     200,
     1,
     "\"qualification\":[{\"code\":{\"text\":\"doctor\"}}]",
     "{\"display\":\"Medicinsk afdeling\",\"reference\":\"Organization/hosp-med\"}"},
    {"R-BLK-1 a site by name (æ as written)",
     ANNA,
     "GET",
     "/Organization",
     {"name=Læge"},
     200,
     2,
     "\"id\":\"gp-2\"",
     "\"id\":\"gp-1\""},
    {"R-BLK-1 a site by name, Danish letters in any case (LÆGE finds Læge)",
     ANNA,
     "GET",
     "/Organization",
     {"name=LÆGE"},
     200,
     2,
     "\"id\":\"gp-2\"",
     "\"id\":\"gp-1\""},
    {"R-BLK-1 the SOR tree: a hospital's departments",
     ANNA,
     "GET",
     "/Organization",
     {"partof=Organization/hosp"},
     200,
     2,
     "\"id\":\"hosp-psyk\"",
     "\"id\":\"hosp-med\""},
    {"_count narrows a name lookup (the pages send one)",
     ANNA,
     "GET",
     "/Organization",
     {"name=Læge", "_count=1"},
     200,
     1,
     "\"id\":\"gp-2\"",
     NULL},
    {"_count as applied in the self link: a lookup's cap is 20",
     ANNA,
     "GET",
     "/Organization",
     {"name=Læge", "_count=100"},
     200,
     2,
     "_count=20",
     NULL},
    {"_count bounds a site's units",
     ANNA,
     "GET",
     "/Organization",
     {"partof=hosp", "_count=1"},
     200,
     1,
     "_count=1",
     NULL},
    {"a bad _count",
     ANNA,
     "GET",
     "/Practitioner",
     {"name=dahl", "_count=0"},
     400,
     -1,
     "_count",
     NULL},
    {"a region's hospitals, by bare id",
     ANNA,
     "GET",
     "/Organization",
     {"partof=reg"},
     200,
     1,
     "\"id\":\"hosp\"",
     NULL},
    {"an unknown parent: none", ANNA, "GET", "/Organization", {"partof=nope"}, 200, 0, NULL, NULL},
    {"a name of one letter is no lookup",
     ANNA,
     "GET",
     "/Practitioner",
     {"name=a"},
     400,
     -1,
     "2 to 100 characters",
     NULL},
    {"the name is not searched beside another parameter",
     ANNA,
     "GET",
     "/Organization",
     {"name=Læge", "partof=reg"},
     400,
     -1,
     "one of",
     NULL},
    {"a practitioner has no partof",
     ANNA,
     "GET",
     "/Practitioner",
     {"partof=hosp"},
     400,
     -1,
     "unsupported search parameter",
     NULL},
    {"read-only: no create", GP1, "POST", "/Organization", {NULL}, 405, -1, "read-only", NULL},
    {"read-only: no update", GP1, "PUT", "/Practitioner/med-dr", {NULL}, 405, -1, NULL, NULL},
    {"a read takes no parameters",
     GP1,
     "GET",
     "/Organization/gp-1",
     {"_elements=name"},
     400,
     -1,
     NULL,
     NULL},
};

static void rows_hold(void **state)
{
    (void)state;
    af f;
    af_open(&f, "directory");
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const row *w = &rows[i];
        ob_caller c = w->who == GP1    ? af_pro(&f, "gp1-dr", "gp-1", NULL)
                      : w->who == ANNA ? af_citizen(&f, "anna", NULL)
                                       : af_source(&f, "epj-hosp", "hosp");
        const char *actor = w->who == GP1 ? "gp1-dr" : "anna";
        size_t before = af_log_query(&f, NULL, actor, NULL).n;
        ob_api_response r;
        af_call(&f, &c, w->method, w->path, w->params, NULL, &r);
        if (r.status != w->status)
            fail_msg("%s: status %d", w->why, r.status);
        if (w->total >= 0 && af_total(&r) != w->total)
            fail_msg("%s: total %d", w->why, (int)af_total(&r));
        if ((w->has && !af_has(&r, w->has)) || (w->has2 && !af_has(&r, w->has2))) {
            char *t = af_text(&r);
            fail_msg("%s: %s", w->why, t);
        }
        if (af_has(&r, AF_CPR_ANNA) || af_has(&r, "0101901234"))
            fail_msg("%s: a CPR number in the directory", w->why);
        if (af_log_query(&f, NULL, actor, NULL).n != before)
            fail_msg("%s: a directory read was logged", w->why);
        ob_api_response_release(&r);
    }
    /* the check above sees a logged read: a search by the same caller adds one */
    ob_caller gp1 = af_pro(&f, "gp1-dr", "gp-1", NULL);
    size_t before = af_log_query(&f, NULL, "gp1-dr", NULL).n;
    const char *anna[] = {"patient=Patient/anna", NULL};
    ob_api_response r;
    af_call(&f, &gp1, "GET", "/Appointment", anna, NULL, &r);
    ob_api_response_release(&r);
    assert_int_equal(af_log_query(&f, NULL, "gp1-dr", NULL).n, before + 1);
    af_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rows_hold),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

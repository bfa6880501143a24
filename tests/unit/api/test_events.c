/* test_events.c - treatment relationships from the events sources report over FHIR (issue
 * 21, R-ACC-1, R-ACC-12, R-LOG-1): an admission and its discharge (Encounter), a referral
 * (ServiceRequest), a municipal course (EpisodeOfCare) each open and close exactly the
 * access the relationship gives, and the patient's log shows each change. One row per
 * step: who sends what, the answer, and what a professional then sees. Attacks as rows
 * too: another site's unit, a professional, a duplicate, a CPR in the identifier, a
 * referral to an organisation that is not a care provider. */
#include "api_fixture.h"

/* bent (listed at gp-2) has a diagnosis from gp-2 and a measurement from gp-2 */
static const char *const bent_items[] = {
    "{\"type\":\"item\",\"id\":\"bent-d1\",\"patient\":\"bent\",\"category\":\"diagnosis\","
    "\"origin\":\"gp-2\",\"time\":\"2024-05-02T10:00:00Z\",\"code\":\"T90\"}",
    "{\"type\":\"org\",\"id\":\"muni\",\"kind\":\"municipality\",\"name\":\"Odense Kommune\"}",
    "{\"type\":\"org\",\"id\":\"muni-hh\",\"kind\":\"municipal_unit\",\"name\":\"Hjemmeplejen\","
    "\"parent\":\"muni\",\"sector\":\"municipal\"}",
    "{\"type\":\"org\",\"id\":\"muni-plan\",\"kind\":\"admin\",\"name\":\"Planlægning\"}",
    "{\"type\":\"professional\",\"id\":\"hh-nurse\",\"name\":\"Eva "
    "Fisker\",\"role\":\"nurse\",\"authorisation_id\":\"0C1D2\","
    "\"sites\":[\"muni-hh\"]}",
    "{\"type\":\"source\",\"client_id\":\"muni-sys\",\"site\":\"muni-hh\",\"go_live\":"
    "\"2020-01-01\",\"name\":\"Omsorgsjournal\"}",
    /* seed 001 case 15: a second municipality the patient moves to */
    "{\"type\":\"org\",\"id\":\"muni2\",\"kind\":\"municipality\",\"name\":\"Vejle Kommune\"}",
    "{\"type\":\"org\",\"id\":\"muni2-hh\",\"kind\":\"municipal_unit\",\"name\":\"Hjemmeplejen "
    "Vejle\",\"parent\":\"muni2\",\"sector\":\"municipal\"}",
    "{\"type\":\"professional\",\"id\":\"hh2-nurse\",\"name\":\"Ida Lund\",\"role\":\"nurse\","
    "\"authorisation_id\":\"0C1D3\",\"sites\":[\"muni2-hh\"]}",
    "{\"type\":\"source\",\"client_id\":\"muni2-sys\",\"site\":\"muni2-hh\",\"go_live\":"
    "\"2020-01-01\",\"name\":\"Omsorgsjournal Vejle\"}",
};

#define BENT_CPR                                                                                   \
    "{\"identifier\":{\"system\":\"urn:oid:1.2.208.176.1.2\",\"value\":\"0202852345\"}}"

#define ENCOUNTER(id, status, cls, org, end)                                                       \
    "{\"resourceType\":\"Encounter\",\"identifier\":[{\"system\":\"urn:epj:enc\",\"value\":\"" id  \
    "\"}],\"status\":\"" status "\",\"class\":{\"system\":"                                        \
    "\"http://terminology.hl7.org/CodeSystem/v3-ActCode\",\"code\":\"" cls                         \
    "\"},\"subject\":" BENT_CPR ",\"serviceProvider\":{\"reference\":\"Organization/" org          \
    "\"},\"period\":{\"start\":"                                                                   \
    "\"2026-01-01T08:00:00Z\"" end "}}"

#define REFERRAL(id, status, to)                                                                   \
    "{\"resourceType\":\"ServiceRequest\",\"identifier\":[{\"system\":\"urn:gp2:ref\",\"value\":"  \
    "\"" id "\"}],\"status\":\"" status "\",\"intent\":\"order\",\"subject\":" BENT_CPR            \
    ",\"requester\":{\"reference\":\"Organization/gp-2\"},\"performer\":[{\"reference\":"          \
    "\"Organization/" to "\"}],\"authoredOn\":\"2026-01-05T09:00:00Z\"}"

#define EPISODE_AT(sys, id, status, org, end)                                                      \
    "{\"resourceType\":\"EpisodeOfCare\",\"identifier\":[{\"system\":\"" sys "\","                 \
    "\"value\":\"" id "\"}],\"status\":\"" status "\",\"type\":[{\"coding\":[{\"system\":"         \
    "\"https://overblik.dk/fhir/CodeSystem/relationship-kind\",\"code\":\"home_nursing\"}]}],"     \
    "\"patient\":" BENT_CPR ",\"managingOrganization\":{\"reference\":\"Organization/" org "\"},"  \
    "\"period\":{\"start\":\"2026-01-01T08:00:00Z\"" end "}}"
#define EPISODE(id, status, end) EPISODE_AT("urn:muni:forloeb", id, status, "muni-hh", end)

typedef struct step {
    const char *why;
    const char *writer; /* a source's client id, or "pro" for a professional */
    const char *method, *path, *key, *body;
    int status;
    /* then: what `reader` at `site` sees of bent's diagnoses (matches), -1 not checked */
    const char *reader, *site;
    int sees;
    int log_delta; /* relationship entries added to bent's log (-1 not checked) */
} step;

static const step steps[] = {
    {"R-ACC-1: before anything, psychiatry sees none of bent's data", NULL, NULL, NULL, NULL, NULL,
     0, "psyk-dr", "hosp-psyk", 0, -1},
    {"R-ACC-1: an admission (Encounter IMP) by the hospital's source opens psychiatry", "epj-hosp",
     "POST", "/Encounter", NULL, ENCOUNTER("A1", "in-progress", "IMP", "hosp-psyk", ""), 201,
     "psyk-dr", "hosp-psyk", 1, 1},
    {"R-ACC-1: the same event again by POST is a conflict", "epj-hosp", "POST", "/Encounter", NULL,
     ENCOUNTER("A1", "in-progress", "IMP", "hosp-psyk", ""), 409, "psyk-dr", "hosp-psyk", 1, 0},
    {"R-ACC-1: ... and by PUT changes nothing", "epj-hosp", "PUT", "/Encounter", "urn:epj:enc|A1",
     ENCOUNTER("A1", "in-progress", "IMP", "hosp-psyk", ""), 200, "psyk-dr", "hosp-psyk", 1, 0},
    {"R-ACC-1: the discharge (finished, period.end) closes it", "epj-hosp", "PUT", "/Encounter",
     "urn:epj:enc|A1",
     ENCOUNTER("A1", "finished", "IMP", "hosp-psyk", ",\"end\":\"2026-01-03T08:00:00Z\""), 200,
     "psyk-dr", "hosp-psyk", 0, 1},
    {"R-ACC-1 (attack): the hospital's source cannot start a relationship at a GP clinic",
     "epj-hosp", "POST", "/Encounter", NULL, ENCOUNTER("A2", "in-progress", "AMB", "gp-1", ""), 400,
     "gp1-dr", "gp-1", 0, 0},
    {"R-ACC-1 (attack): a professional cannot report an event", "pro", "POST", "/Encounter", NULL,
     ENCOUNTER("A3", "in-progress", "IMP", "hosp-psyk", ""), 403, "psyk-dr", "hosp-psyk", 0, 0},
    {"R-CPR-2 (attack): a CPR number in the event's identifier is refused", "epj-hosp", "POST",
     "/Encounter", NULL, ENCOUNTER("0202852345", "in-progress", "IMP", "hosp-psyk", ""), 400,
     "psyk-dr", "hosp-psyk", 0, 0},
    {"R-ACC-1: a bad class is a 400 naming the element", "epj-hosp", "POST", "/Encounter", NULL,
     ENCOUNTER("A4", "in-progress", "XYZ", "hosp-psyk", ""), 400, NULL, NULL, -1, 0},
    {"R-ACC-1: a referral (ServiceRequest) from bent's GP opens the receiving department",
     "gp2-sys", "POST", "/ServiceRequest", NULL, REFERRAL("R1", "active", "hosp-med"), 201,
     "med-dr", "hosp-med", 1, 1},
    {"R-ACC-1: ... and its completion closes it", "gp2-sys", "PUT", "/ServiceRequest",
     "urn:gp2:ref|R1", REFERRAL("R1", "completed", "hosp-med"), 200, "med-dr", "hosp-med", 0, 1},
    {"R-ACC-1 (attack): a referral to planning (not a care provider) is refused", "gp2-sys", "POST",
     "/ServiceRequest", NULL, REFERRAL("R2", "active", "muni-plan"), 403, NULL, NULL, -1, 0},
    {"R-ACC-1 (attack): another clinic's source cannot refer on gp-2's behalf", "gp1-sys", "POST",
     "/ServiceRequest", NULL, REFERRAL("R3", "active", "hosp-med"), 400, "med-dr", "hosp-med", 0,
     0},
    {"R-ACC-1: a municipal visitation (EpisodeOfCare home_nursing) opens home nursing", "muni-sys",
     "POST", "/EpisodeOfCare", NULL, EPISODE("E1", "active", ""), 201, "hh-nurse", "muni-hh", 1, 1},
    {"R-ACC-1: ... ended by the course's end", "muni-sys", "PUT", "/EpisodeOfCare",
     "urn:muni:forloeb|E1", EPISODE("E1", "finished", ",\"end\":\"2026-02-01T08:00:00Z\""), 200,
     "hh-nurse", "muni-hh", 0, 1},
    /* seed 001 case 15: a move between municipalities is two events, one by each */
    {"seed 001 case 15: home nursing in the first municipality", "muni-sys", "POST",
     "/EpisodeOfCare", NULL, EPISODE("E2", "active", ""), 201, "hh-nurse", "muni-hh", 1, 1},
    {"seed 001 case 15: the new municipality's visitation after the move opens its home nursing",
     "muni2-sys", "POST", "/EpisodeOfCare", NULL,
     EPISODE_AT("urn:vejle:forloeb", "V1", "active", "muni2-hh", ""), 201, "hh2-nurse", "muni2-hh",
     1, 1},
    {"seed 001 case 15 (attack): the new municipality cannot end the old one's course", "muni2-sys",
     "PUT", "/EpisodeOfCare", "urn:muni:forloeb|E2",
     EPISODE_AT("urn:muni:forloeb", "E2", "finished", "muni-hh",
                ",\"end\":\"2026-03-01T08:00:00Z\""),
     400, "hh-nurse", "muni-hh", 1, 0},
    {"seed 001 case 15: the old municipality ends its course: its nurses see nothing more",
     "muni-sys", "PUT", "/EpisodeOfCare", "urn:muni:forloeb|E2",
     EPISODE("E2", "finished", ",\"end\":\"2026-03-01T08:00:00Z\""), 200, "hh-nurse", "muni-hh", 0,
     1},
    {"seed 001 case 15: ... while the new municipality's nurses still see it", NULL, NULL, NULL,
     NULL, NULL, 0, "hh2-nurse", "muni2-hh", 1, -1},
};

static int diagnoses_seen(af *f, const char *reader, const char *site)
{
    ob_caller c = af_pro(f, reader, site, NULL);
    ob_api_response r;
    af_call(f, &c, "GET", "/Condition", (const char *[]){"patient=Patient/bent", NULL}, NULL, &r);
    int n = r.status == 200 ? (int)af_matches(&r) : -1;
    ob_api_response_release(&r);
    return n;
}

static void event_steps(void **state)
{
    (void)state;
    af f;
    af_open(&f, "events");
    af_load(&f, bent_items, sizeof bent_items / sizeof bent_items[0]);
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        const step *s = &steps[i];
        af_log_count before = af_log(&f, "bent", "relationship");
        if (s->writer) {
            ob_caller c = strcmp(s->writer, "pro") == 0 ? af_pro(&f, "psyk-dr", "hosp-psyk", NULL)
                                                        : af_source(&f, s->writer, "hosp");
            if (strcmp(s->writer, "pro") != 0) { /* the source acts for its own site */
                pthread_rwlock_rdlock(&f.h->lock);
                const ob_source *src = ob_index_find_source(f.h->ix, s->writer);
                c.acting_org = src ? src->site : OB_NONE;
                pthread_rwlock_unlock(&f.h->lock);
            }
            char key[128];
            snprintf(key, sizeof key, "identifier=%s", s->key ? s->key : "");
            ob_api_response r;
            af_call(&f, &c, s->method, s->path, s->key ? (const char *[]){key, NULL} : NULL,
                    s->body, &r);
            if (r.status != s->status) {
                char *t = af_text(&r);
                fail_msg("step %zu (%s): status %d, wanted %d: %.300s", i, s->why, r.status,
                         s->status, t);
            }
            ob_api_response_release(&r);
        }
        af_log_count after = af_log(&f, "bent", "relationship");
        if (s->log_delta >= 0 && (int)(after.with_resource - before.with_resource) != s->log_delta)
            fail_msg("step %zu (%s): %d relationship entries in bent's log, wanted %d", i, s->why,
                     (int)(after.with_resource - before.with_resource), s->log_delta);
        if (s->reader) {
            int n = diagnoses_seen(&f, s->reader, s->site);
            if (n != s->sees)
                fail_msg("step %zu (%s): %s sees %d of bent's diagnoses, wanted %d", i, s->why,
                         s->reader, n, s->sees);
        }
    }
    af_close(&f);
}

/* R-ACC-19 (issue 21): disclosure as the discloser's explicit, logged act. bent is in
 * home nursing's care (which does not read clinical notes by default, R-ACC-1) and admitted
 * at hosp-med, whose doctor discloses the department's notes to home nursing. */
static const char *const disclose_world[] = {
    "{\"type\":\"org\",\"id\":\"muni\",\"kind\":\"municipality\",\"name\":\"Odense Kommune\"}",
    "{\"type\":\"org\",\"id\":\"muni-hh\",\"kind\":\"municipal_unit\",\"name\":\"Hjemmeplejen\","
    "\"parent\":\"muni\",\"sector\":\"municipal\"}",
    "{\"type\":\"org\",\"id\":\"muni-plan\",\"kind\":\"admin\",\"name\":\"Planlægning\"}",
    "{\"type\":\"professional\",\"id\":\"hh-nurse\",\"name\":\"Eva Fisker\",\"role\":\"nurse\","
    "\"authorisation_id\":\"0C1D2\",\"sites\":[\"muni-hh\"]}",
    "{\"type\":\"relationship\",\"patient\":\"bent\",\"org\":\"muni-hh\",\"kind\":"
    "\"home_nursing\",\"from\":\"2025-01-01\"}",
    "{\"type\":\"relationship\",\"patient\":\"bent\",\"org\":\"hosp-med\",\"kind\":"
    "\"admission\",\"from\":\"2025-01-01\"}",
    "{\"type\":\"item\",\"id\":\"bent-n1\",\"patient\":\"bent\",\"category\":\"clinical_note\","
    "\"origin\":\"hosp-med\",\"time\":\"2025-06-02T10:00:00Z\",\"title\":\"Stuegang\",\"text\":"
    "\"Sår på venstre ben, skift forbinding dagligt\"}",
};

static int notes_seen(af *f)
{
    ob_caller c = af_pro(f, "hh-nurse", "muni-hh", NULL);
    ob_api_response r;
    af_call(f, &c, "GET", "/DocumentReference", (const char *[]){"patient=Patient/bent", NULL},
            NULL, &r);
    int n = r.status == 200 ? (int)af_matches(&r) : -1;
    ob_api_response_release(&r);
    return n;
}

static void disclosure_steps(void **state)
{
    (void)state;
    af f;
    af_open(&f, "disclose");
    af_load(&f, disclose_world, sizeof disclose_world / sizeof disclose_world[0]);
    static const struct {
        const char *why, *pro, *site, *purpose, *patient, *recipient, *category;
        int status, notes_after, disclosures_logged;
    } rows[] = {
        {"R-ACC-1: before, home nursing reads no clinical note", NULL, NULL, NULL, NULL, NULL, NULL,
         0, 0, 0},
        {"R-ACC-19 (attack): not with purpose TREAT", "med-dr", "hosp-med", "TREAT", "bent",
         "muni-hh", "clinical_note", 400, 0, 0},
        {"R-ACC-19 (attack): not to planning", "med-dr", "hosp-med", "DISCLOSE", "bent",
         "muni-plan", "clinical_note", 403, 0, 0},
        {"R-ACC-19 (attack): not by a doctor who does not treat bent (the same answer as for "
         "nobody)",
         "psyk-dr", "hosp-psyk", "DISCLOSE", "bent", "muni-hh", "clinical_note", 403, 0, 0},
        {"R-ACC-19 (attack): a patient who does not exist gets that answer too", "med-dr",
         "hosp-med", "DISCLOSE", "nobody", "muni-hh", "clinical_note", 403, 0, 0},
        {"R-ACC-19: the treating doctor discloses the department's notes to home nursing", "med-dr",
         "hosp-med", "DISCLOSE", "bent", "muni-hh", "clinical_note", 200, 1, 1},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        af_log_count before = af_log(&f, "bent", "disclosure");
        if (rows[i].pro) {
            ob_caller c = af_pro(&f, rows[i].pro, rows[i].site, rows[i].purpose);
            char body[600];
            snprintf(body, sizeof body,
                     "{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"patient\","
                     "\"valueReference\":{\"reference\":\"Patient/%s\"}},{\"name\":\"recipient\","
                     "\"valueReference\":{\"reference\":\"Organization/%s\"}},{\"name\":"
                     "\"category\",\"valueString\":\"%s\"}]}",
                     rows[i].patient, rows[i].recipient, rows[i].category);
            ob_api_response r;
            af_call(&f, &c, "POST", "/Patient/$disclose", NULL, body, &r);
            if (r.status != rows[i].status) {
                char *t = af_text(&r);
                fail_msg("row %zu (%s): %d, wanted %d: %.300s", i, rows[i].why, r.status,
                         rows[i].status, t);
            }
            ob_api_response_release(&r);
        }
        af_log_count after = af_log(&f, "bent", "disclosure");
        if ((int)(after.with_resource - before.with_resource) != rows[i].disclosures_logged)
            fail_msg("row %zu (%s): %d disclosure entries", i, rows[i].why,
                     (int)(after.with_resource - before.with_resource));
        if (notes_seen(&f) != rows[i].notes_after)
            fail_msg("row %zu (%s): home nursing sees %d notes, wanted %d", i, rows[i].why,
                     notes_seen(&f), rows[i].notes_after);
    }
    af_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(event_steps),
        cmocka_unit_test(disclosure_steps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* tour.c - `overblik tour`: a guided tour of the rules on a loaded database. It picks
 * real patients and professionals from the index, asks the engine, logs every decision
 * like any other (R-LOG-1), and ends with the patient's log view and a verification. */
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "service/clinical.h"
#include "store/sqlite/log_sqlite.h"

static void ask(ob_hub *h, const char *title, ob_request *rq, const char *reason)
{
    ob_decision d;
    uint64_t seq = 0;
    ob_err e = {0};
    rq->now = ob_time_now();
    rq->has_override_reason = reason && *reason;
    if (ob_hub_decide(h, rq, NULL, reason, &d, &seq, &e)) {
        printf("  %s\n    error: %s\n", title, e.msg);
        return;
    }
    char obl[160];
    ob_obligations_format(d.obligations, obl, sizeof obl);
    printf("  %s\n    -> %s  %s  (%s)\n       %s%s%s   [log entry %llu]\n", title,
           d.permit ? "PERMIT" : "DENY", ob_rule_name((ob_rule)d.rule), d.legal_basis, d.reason,
           obl[0] ? "; obligations: " : "", obl, (unsigned long long)seq);
}

static ob_request base(uint32_t pro, uint32_t org, uint32_t patient, ob_category cat,
                       uint32_t origin)
{
    ob_request rq;
    memset(&rq, 0, sizeof rq);
    rq.actor_kind = OB_ACTOR_PROFESSIONAL;
    rq.actor = pro;
    rq.acting_org = org;
    rq.on_behalf_of = OB_NONE;
    rq.patient = patient;
    rq.category = (uint8_t)cat;
    rq.origin_org = origin;
    rq.item_time = ob_time_now() - 86400 * 30;
    rq.purpose = OB_PURPOSE_TREAT;
    rq.project = OB_NONE;
    rq.recipient_org = OB_NONE;
    return rq;
}

/* Issue 20: the whole overview of one patient, every item decided (and logged) on its own
 * for their GP: medication, vaccinations, notes, discharge summaries with their follow-up,
 * treatment wills beside diagnoses and measurements. Picks the first generated patient
 * with items in four categories or more. */
static void overview(ob_hub *h)
{
    const ob_index *ix = h->ix;
    /* first pass: one with a discharge summary and medication; second: four categories */
    for (int pass = 0; pass < 2; pass++)
        for (uint32_t p = 0; p < ix->npatients && p < 3000; p++) {
            ob_item_list l;
            ob_err e = {0};
            if (ob_hub_items(h, ix->patients[p].ext_id, OB_CAT_ALL, &l, &e))
                return;
            ob_catmask seen = 0;
            for (size_t i = 0; i < l.n; i++) {
                int c = ob_category_parse(l.v[i].it.category);
                if (c >= 0)
                    seen |= OB_CAT_BIT(c);
            }
            int ncat = __builtin_popcount(seen);
            uint32_t gp = ix->patients[p].gp_clinic;
            uint32_t dr = OB_NONE;
            for (uint32_t k = 0; gp != OB_NONE && k < ix->npros && dr == OB_NONE; k++)
                for (unsigned s = 0; s < ix->pros[k].nsites && dr == OB_NONE; s++)
                    if (ix->pros[k].sites[s] == gp && ix->pros[k].role == OB_ROLE_DOCTOR)
                        dr = k;
            ob_catmask want = OB_CAT_BIT(OB_CAT_DISCHARGE_SUMMARY) | OB_CAT_BIT(OB_CAT_MEDICATION);
            if (ncat < 4 || dr == OB_NONE || (pass == 0 && (seen & want) != want)) {
                ob_item_list_release(&l);
                continue;
            }
            printf("\nThe whole overview of patient %s (%s), item by item, for their GP %s (each "
                   "decided and logged):\n\n",
                   ix->patients[p].ext_id, ix->patients[p].name, ix->pros[dr].name);
            for (size_t i = 0; i < l.n && i < 14; i++) {
                const ob_item *it = &l.v[i].it;
                int c = ob_category_parse(it->category);
                ob_request rq = base(dr, gp, p, (ob_category)(c < 0 ? 0 : c),
                                     ob_index_find_org(ix, it->origin));
                rq.item_time = it->time;
                rq.now = ob_time_now();
                ob_decision d;
                uint64_t seq = 0;
                if (ob_hub_decide(h, &rq, NULL, NULL, &d, &seq, &e))
                    break;
                json_t *rec = it->json ? json_loads(it->json, 0, NULL) : NULL;
                const char *what = json_string_value(json_object_get(rec, "display"));
                if (!what)
                    what = json_string_value(json_object_get(rec, "title"));
                char bp[48];
                if (!what && it->code && strcmp(it->code, "DNK05472") == 0) {
                    snprintf(bp, sizeof bp, "systolisk blodtryk %lld mmHg", (long long)it->value);
                    what = bp;
                }
                if (!what)
                    what = it->code ? it->code : "";
                const char *extra = json_string_value(json_object_get(rec, "dose"));
                const char *flag = json_string_value(json_object_get(rec, "followup"));
                char when[16];
                ob_date_format(it->time, when);
                printf("  %-6s %-17s %s  %s%s%s%s%s  (from %s)  [log entry %llu]\n",
                       d.permit ? "PERMIT" : "DENY", it->category, when, d.permit ? what : "",
                       d.permit && extra ? ", " : "", d.permit && extra ? extra : "",
                       d.permit && flag ? ", GP follow-up: " : "", d.permit && flag ? flag : "",
                       it->origin, (unsigned long long)seq);
                json_decref(rec);
            }
            ob_item_list_release(&l);
            return;
        }
}

static const char *const flags[] = {"help", NULL};
static const char *const valued[] = {"db", "keys", NULL};

int cmd_tour(int argc, char **argv)
{
    opts o;
    if (opts_parse(&o, argc, argv, flags, valued) < 0)
        return EXIT_USAGE;
    if (opt_flag(&o, "help")) {
        printf("usage: overblik tour [--db FILE]\nRuns a guided tour of decisions on a "
               "database loaded with 'overblik gen --db'.\n");
        return 0;
    }
    ob_hub *h;
    int rc = open_hub(&o, true, &h);
    if (rc)
        return rc;
    const ob_index *ix = h->ix;
    if (!ix->demo) { /* issue 24: it logs decisions in the names of real people */
        printf("the tour acts, and is logged, in the names of the database's professionals: "
               "it runs only on a demo database made with 'overblik gen --db'\n");
        ob_hub_close(h);
        return EXIT_INPUT;
    }
    /* a listed patient, and one with a block of a named doctor at their own clinic */
    uint32_t a = OB_NONE, b = OB_NONE;
    for (uint32_t i = 0; i < ix->npatients && (a == OB_NONE || b == OB_NONE); i++) {
        const ob_patient *p = &ix->patients[i];
        if (p->gp_clinic == OB_NONE)
            continue;
        if (a == OB_NONE && p->nblocks == 0 && p->nattorneys == 0)
            a = i;
        for (uint16_t k = 0; k < p->nblocks && b == OB_NONE; k++)
            if (p->blocks[k].kind == OB_BLOCK_PROFESSIONAL &&
                ob_index_pro_works_at(ix, p->blocks[k].target, p->gp_clinic))
                b = i;
    }
    char id[64];
    uint32_t gp = a != OB_NONE ? ix->patients[a].gp_clinic : OB_NONE;
    snprintf(id, sizeof id, "%s-dr0", gp != OB_NONE ? ix->orgs[gp].ext_id : "");
    uint32_t dr0 = ob_index_find_professional(ix, id);
    snprintf(id, sizeof id, "%s-sec", gp != OB_NONE ? ix->orgs[gp].ext_id : "");
    uint32_t sec = ob_index_find_professional(ix, id);
    uint32_t other = OB_NONE, other_org = OB_NONE;
    for (uint32_t i = 0; i < ix->npros && other == OB_NONE; i++)
        if (ix->pros[i].authorised && ix->pros[i].nsites &&
            ix->orgs[ix->pros[i].sites[0]].kind == OB_ORG_GP_CLINIC && ix->pros[i].sites[0] != gp) {
            other = i;
            other_org = ix->pros[i].sites[0];
        }
    uint32_t planner = ob_index_find_professional(ix, "planner-1");
    uint32_t researcher = ob_index_find_professional(ix, "forsker-1");
    if (a == OB_NONE || dr0 == OB_NONE || sec == OB_NONE || other == OB_NONE) {
        printf("the tour needs a database made with 'overblik gen --db'\n");
        ob_hub_close(h);
        return EXIT_INPUT;
    }
    printf("\n== overblik tour: every decision below is logged before it is shown ==\n\n");
    printf("Patient %s (%s) is listed at %s.\n\n", ix->patients[a].ext_id, ix->patients[a].name,
           ix->orgs[gp].name);
    uint32_t hosp = ob_index_find_org(ix, "hosp-0-med");
    ob_request rq = base(dr0, gp, a, OB_CAT_LAB_RESULT, hosp != OB_NONE ? hosp : gp);
    ask(h, "1. Their GP reads a hospital lab result for the current treatment", &rq, NULL);
    rq = base(dr0, gp, a, OB_CAT_DIAGNOSIS, gp);
    ask(h, "1b. ... and a diagnosis the clinic recorded itself", &rq, NULL);
    rq = base(other, other_org, a, OB_CAT_DIAGNOSIS, gp);
    ask(h, "2. A GP at another clinic, with no treatment relationship, tries the same", &rq, NULL);
    rq = base(sec, gp, a, OB_CAT_MEDICATION, gp);
    rq.on_behalf_of = dr0;
    ask(h, "3. The clinic secretary looks up medication on behalf of the GP", &rq, NULL);
    rq = base(sec, gp, a, OB_CAT_MEDICATION, gp);
    ask(h, "4. The secretary tries on their own", &rq, NULL);
    if (planner != OB_NONE) {
        rq = base(planner, ix->pros[planner].sites[0], a, OB_CAT_DIAGNOSIS, gp);
        rq.purpose = OB_PURPOSE_PLANNING;
        ask(h, "5. A regional planner asks for the person-level diagnosis", &rq, NULL);
    }
    if (researcher != OB_NONE) {
        rq = base(researcher, ix->pros[researcher].sites[0], a, OB_CAT_MEASUREMENT, gp);
        rq.purpose = OB_PURPOSE_RESEARCH;
        rq.project = ob_index_find_project(ix, "prj-diabetes");
        ask(h, "6. A researcher in an approved project reads blood pressures", &rq, NULL);
    }
    memset(&rq, 0, sizeof rq);
    rq.actor_kind = OB_ACTOR_CITIZEN;
    rq.actor = a;
    rq.patient = a;
    rq.category = OB_CAT_DIAGNOSIS;
    rq.origin_org = gp;
    rq.on_behalf_of = rq.acting_org = rq.project = rq.recipient_org = OB_NONE;
    rq.purpose = OB_PURPOSE_PATIENT;
    ask(h, "7. The patient reads their own data", &rq, NULL);
    if (b != OB_NONE) {
        const ob_patient *p = &ix->patients[b];
        uint32_t blocked = OB_NONE;
        for (uint16_t k = 0; k < p->nblocks; k++)
            if (p->blocks[k].kind == OB_BLOCK_PROFESSIONAL)
                blocked = p->blocks[k].target;
        printf("\nPatient %s has blocked %s, a doctor at their own clinic.\n\n", p->ext_id,
               ix->pros[blocked].name);
        rq = base(blocked, p->gp_clinic, b, OB_CAT_CLINICAL_NOTE, p->gp_clinic);
        rq.origin_org = ob_index_find_org(ix, "hosp-0-med");
        ask(h, "8. The blocked doctor reads a hospital note", &rq, NULL);
        rq.override = OB_OVERRIDE_CONSENT;
        ask(h, "9. ... overrides with the patient's consent but gives no reason", &rq, "");
        ask(h, "10. ... overrides with the patient's consent given in the consultation", &rq,
            "the patient agreed in the consultation today");
    }
    overview(h);
    char patient[128];
    snprintf(patient, sizeof patient, "%s", ix->patients[a].ext_id);
    ob_hub_close(h);
    printf("\nThe patient's access log (overblik log show --patient %s):\n\n", patient);
    char *db = (char *)opt(&o, "db", DEFAULT_DB);
    char *show[] = {"show", "--patient", patient, "--db", db, NULL};
    rc = cmd_log(5, show);
    printf("\nThe log's tamper evidence (overblik log verify):\n\n");
    char *verify[] = {"verify", "--db", db, NULL};
    return rc ? rc : cmd_log(3, verify);
}

/* changes.c - `overblik block` and `overblik consent`: create, list, lift/revoke.
 * Flags are turned into an import-format record and applied through ob_hub_change,
 * which checks R-BLK-2/3/5 and R-CON-1/2, stores the record and logs it in one
 * transaction. Lists read the index (current state with history flags). */
#include <string.h>

#include "cli/cli.h"

static json_t *catlist(const char *csv)
{
    if (!csv || strcmp(csv, "all") == 0)
        return json_string("all");
    json_t *a = json_array();
    char buf[512];
    snprintf(buf, sizeof buf, "%s", csv);
    for (char *t = strtok(buf, ","); t; t = strtok(NULL, ","))
        json_array_append_new(a, json_string(t));
    return a;
}

static void set_opt(json_t *rec, const opts *o, const char *flag, const char *field)
{
    const char *v = opt(o, flag, NULL);
    if (v)
        json_object_set_new(rec, field, json_string(v));
}

/* The log entry's actor for a change: the patient, or the professional given by --by. */
static int change_actor(ob_hub *h, const char *patient, const char *by, ob_log_entry *le)
{
    memset(le, 0, sizeof *le);
    le->purpose = "PATRQT";
    if (by) {
        uint32_t p = ob_index_find_professional(h->ix, by);
        if (p == OB_NONE) {
            fprintf(stderr, "overblik: --by: no such professional\n");
            return EXIT_INPUT;
        }
        le->actor_id = h->ix->pros[p].ext_id;
        le->actor_name = h->ix->pros[p].name;
        le->actor_role = ob_role_name((ob_role)h->ix->pros[p].role);
        le->capacity = OB_CAP_PROFESSIONAL;
        if (h->ix->pros[p].nsites) {
            le->actor_org = h->ix->orgs[h->ix->pros[p].sites[0]].ext_id;
            le->actor_org_name = h->ix->orgs[h->ix->pros[p].sites[0]].name;
        }
        return 0;
    }
    uint32_t pt = ob_index_find_patient(h->ix, patient);
    if (pt == OB_NONE) {
        fprintf(stderr, "overblik: --patient: no such patient\n");
        return EXIT_INPUT;
    }
    le->actor_id = h->ix->patients[pt].ext_id;
    le->actor_name = h->ix->patients[pt].name;
    le->actor_role = "citizen";
    le->capacity = OB_CAP_CITIZEN;
    return 0;
}

static int apply(ob_hub *h, json_t *rec, const opts *o, const char *what, const char *verb)
{
    ob_log_entry le;
    int rc = change_actor(h, opt(o, "patient", NULL), opt(o, "by", NULL), &le);
    if (rc)
        return rc;
    ob_err e = {0};
    uint64_t seq = 0, id = 0;
    ob_status st = ob_hub_change(h, rec, &le, &seq, &id, &e);
    if (st) {
        fprintf(stderr, "overblik %s: %s\nnothing was changed\n", what, shown(e.msg));
        return exit_code_for(st);
    }
    printf("%s %s %llu (log entry %llu)\n", what, verb, (unsigned long long)id,
           (unsigned long long)seq);
    return 0;
}

static void fmt_period(ob_time a, ob_time b, char *buf, size_t cap)
{
    char x[16] = "…", y[16] = "…";
    if (a != OB_TIME_MIN)
        ob_date_format(a, x);
    if (b != OB_TIME_MAX)
        ob_date_format(b, y);
    snprintf(buf, cap, "%s–%s", x, y);
}

static const char *const flags[] = {"help", "no-subunits", "json", NULL};
static const char *const valued[] = {"db",
                                     "keys",
                                     "patient",
                                     "kind",
                                     "target",
                                     "categories",
                                     "valid-from",
                                     "valid-to",
                                     "data-from",
                                     "data-to",
                                     "by",
                                     "id",
                                     "recipient-professional",
                                     "recipient-org",
                                     "recipient-kind",
                                     "recipient-project",
                                     "from",
                                     "to",
                                     "text",
                                     "form",
                                     "taken-by",
                                     NULL};

static int usage_block(int code)
{
    printf("usage: overblik block create --patient ID --kind professional|site|period\n"
           "                 [--target ID] [--no-subunits] [--categories a,b|all]\n"
           "                 [--valid-from D] [--valid-to D] [--data-from D] [--data-to D]\n"
           "                 [--by GP-ID]   (the patient's own GP, on their behalf)\n"
           "       overblik block list --patient ID\n"
           "       overblik block lift --patient ID --id N [--by GP-ID]\n"
           "Blocks (R-BLK): a named professional (not in a hospital: block the site), a site\n"
           "with or without sub-units, or all data from a period. Takes effect at once.\n");
    return code;
}

int cmd_block(int argc, char **argv)
{
    opts o;
    if (argc < 1 || strcmp(argv[0], "--help") == 0)
        return usage_block(argc < 1 ? EXIT_USAGE : 0);
    if (opts_parse(&o, argc - 1, argv + 1, flags, valued) < 0)
        return EXIT_USAGE;
    if (opt_flag(&o, "help"))
        return usage_block(0);
    if (!opt(&o, "patient", NULL)) {
        fprintf(stderr, "overblik block: --patient is required\n");
        return EXIT_USAGE;
    }
    ob_hub *h;
    int rc = open_hub(&o, strcmp(argv[0], "list") != 0, &h);
    if (rc)
        return rc;
    json_t *rec = json_object();
    json_object_set_new(rec, "patient", json_string(opt(&o, "patient", "")));
    if (strcmp(argv[0], "create") == 0) {
        json_object_set_new(rec, "type", json_string("block"));
        set_opt(rec, &o, "kind", "kind");
        set_opt(rec, &o, "target", "target");
        if (opt_flag(&o, "no-subunits"))
            json_object_set_new(rec, "include_subunits", json_false());
        if (opt(&o, "categories", NULL))
            json_object_set_new(rec, "categories", catlist(opt(&o, "categories", NULL)));
        set_opt(rec, &o, "valid-from", "valid_from");
        set_opt(rec, &o, "valid-to", "valid_to");
        set_opt(rec, &o, "data-from", "data_from");
        set_opt(rec, &o, "data-to", "data_to");
        set_opt(rec, &o, "by", "by_gp");
        rc = apply(h, rec, &o, "block", "created");
    } else if (strcmp(argv[0], "lift") == 0) {
        json_object_set_new(rec, "type", json_string("block_lift"));
        json_object_set_new(rec, "block", json_integer(strtoll(opt(&o, "id", "0"), NULL, 10)));
        set_opt(rec, &o, "by", "by");
        rc = apply(h, rec, &o, "block", "lifted");
    } else if (strcmp(argv[0], "list") == 0) {
        uint32_t pt = ob_index_find_patient(h->ix, opt(&o, "patient", ""));
        if (pt == OB_NONE) {
            fprintf(stderr, "overblik block: no such patient\n");
            rc = EXIT_INPUT;
        } else {
            const ob_patient *p = &h->ix->patients[pt];
            printf("%-4s %-13s %-34s %-24s %-24s %s\n", "id", "kind", "target", "in force",
                   "data from", "status");
            for (uint16_t i = 0; i < p->nblocks; i++) {
                const ob_block *b = &p->blocks[i];
                const char *target = b->kind == OB_BLOCK_PROFESSIONAL ? h->ix->pros[b->target].name
                                     : b->kind == OB_BLOCK_SITE       ? h->ix->orgs[b->target].name
                                                                      : "all professionals";
                char v[48], d[48];
                fmt_period(b->valid_from, b->valid_to, v, sizeof v);
                fmt_period(b->data_from, b->data_to, d, sizeof d);
                printf("%-4llu %-13s ", (unsigned long long)b->id,
                       ob_block_kind_name((ob_block_kind)b->kind));
                cli_col(stdout, target, 34); /* a name: characters, not bytes */
                printf(" %-24s %-24s %s%s\n", v, d, b->active ? "active" : "lifted",
                       b->by_gp ? " (set by your GP)" : "");
            }
        }
    } else {
        rc = usage_block(EXIT_USAGE);
    }
    json_decref(rec);
    ob_hub_close(h);
    return rc;
}

static int usage_consent(int code)
{
    printf("usage: overblik consent create --patient ID --kind prevention|sharing|research|\n"
           "                 quality_extended|override --categories a,b --from D --to D\n"
           "                 --text TEXT (what the patient was told)\n"
           "                 (--recipient-professional ID | --recipient-org ID |\n"
           "                  --recipient-kind KIND | --recipient-project ID)\n"
           "                 [--form written|oral --taken-by PRO-ID]\n"
           "       overblik consent list --patient ID\n"
           "       overblik consent revoke --patient ID --id N\n"
           "Consents (R-CON) are specific: purpose, recipient, categories and period.\n");
    return code;
}

int cmd_consent(int argc, char **argv)
{
    opts o;
    if (argc < 1 || strcmp(argv[0], "--help") == 0)
        return usage_consent(argc < 1 ? EXIT_USAGE : 0);
    if (opts_parse(&o, argc - 1, argv + 1, flags, valued) < 0)
        return EXIT_USAGE;
    if (opt_flag(&o, "help"))
        return usage_consent(0);
    if (!opt(&o, "patient", NULL)) {
        fprintf(stderr, "overblik consent: --patient is required\n");
        return EXIT_USAGE;
    }
    ob_hub *h;
    int rc = open_hub(&o, strcmp(argv[0], "list") != 0, &h);
    if (rc)
        return rc;
    json_t *rec = json_object();
    json_object_set_new(rec, "patient", json_string(opt(&o, "patient", "")));
    if (strcmp(argv[0], "create") == 0) {
        json_object_set_new(rec, "type", json_string("consent"));
        set_opt(rec, &o, "kind", "kind");
        json_t *r = json_object();
        if (opt(&o, "recipient-professional", NULL))
            set_opt(r, &o, "recipient-professional", "professional");
        else if (opt(&o, "recipient-org", NULL))
            set_opt(r, &o, "recipient-org", "org");
        else if (opt(&o, "recipient-kind", NULL))
            set_opt(r, &o, "recipient-kind", "org_kind");
        else if (opt(&o, "recipient-project", NULL))
            set_opt(r, &o, "recipient-project", "project");
        json_object_set_new(rec, "recipient", r);
        if (opt(&o, "categories", NULL))
            json_object_set_new(rec, "categories", catlist(opt(&o, "categories", NULL)));
        set_opt(rec, &o, "from", "from");
        set_opt(rec, &o, "to", "to");
        set_opt(rec, &o, "text", "text");
        set_opt(rec, &o, "form", "form");
        set_opt(rec, &o, "taken-by", "taken_by");
        rc = apply(h, rec, &o, "consent", "created");
    } else if (strcmp(argv[0], "revoke") == 0) {
        json_object_set_new(rec, "type", json_string("consent_revoke"));
        json_object_set_new(rec, "consent", json_integer(strtoll(opt(&o, "id", "0"), NULL, 10)));
        set_opt(rec, &o, "by", "by");
        rc = apply(h, rec, &o, "consent", "revoked");
    } else if (strcmp(argv[0], "list") == 0) {
        uint32_t pt = ob_index_find_patient(h->ix, opt(&o, "patient", ""));
        if (pt == OB_NONE) {
            fprintf(stderr, "overblik consent: no such patient\n");
            rc = EXIT_INPUT;
        } else {
            const ob_patient *p = &h->ix->patients[pt];
            printf("%-4s %-16s %-24s %-8s %s\n", "id", "kind", "period", "form", "status");
            for (uint16_t i = 0; i < p->nconsents; i++) {
                const ob_consent *c = &p->consents[i];
                char per[48], rv[16] = "";
                fmt_period(c->from, c->to, per, sizeof per);
                if (!c->active)
                    ob_date_format(c->revoked_at, rv);
                printf("%-4llu %-16s %-24s %-8s %s%s\n", (unsigned long long)c->id,
                       ob_consent_kind_name((ob_consent_kind)c->kind), per,
                       c->form ? "oral" : "written", c->active ? "active" : "revoked ", rv);
            }
        }
    } else {
        rc = usage_consent(EXIT_USAGE);
    }
    json_decref(rec);
    ob_hub_close(h);
    return rc;
}

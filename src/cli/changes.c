/* changes.c - `overblik block` and `overblik consent`: create, list, lift/revoke; and
 * `overblik grant`: end a power of attorney, a permission or a treatment relationship.
 * Flags are turned into an import-format record and applied through ob_hub_change,
 * which checks R-BLK-2/3/5, R-CON-1/2 and who may end a grant, stores the record and
 * logs it in one transaction. The operator at the console enters a change for someone
 * (the patient, a GP, a site's management, a source system): the rules judge that
 * person, and the log names the operator, who made the entry (capacity "operator";
 * --operator, default $SUDO_USER or $USER). Lists read the index. */
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cpr.h"

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

/* The operator who enters a change (issue 24: never logged as someone else): --operator,
 * else the login that ran sudo, else the login, else the account. NULL (with a message) when there
 * is none or it is not a plain name. */
const char *cli_operator_name(const opts *o)
{
    const char *n = opt(o, "operator", NULL);
    if (!n || !*n)
        n = getenv("SUDO_USER");
    if (!n || !*n)
        n = getenv("USER");
    if (!n || !*n) { /* no login variables (a service, a container): the account itself */
        const struct passwd *pw = getpwuid(geteuid());
        n = pw ? pw->pw_name : NULL;
    }
    if (!n || !*n || strlen(n) > 64 || ob_cpr_in_text(n)) {
        fprintf(stderr, "overblik: name the operator making the change with --operator NAME "
                        "(at most 64 bytes, no CPR number)\n");
        return NULL;
    }
    return n;
}

/* The log entry's actor for a change: the operator, entering it for `for_whom`. */
void cli_operator_actor(const char *name, const char *reason, ob_log_entry *le)
{
    static _Thread_local char id[80];
    memset(le, 0, sizeof *le);
    snprintf(id, sizeof id, "operator:%s", name);
    le->purpose = "PATRQT";
    le->actor_id = id;
    le->actor_name = name;
    le->actor_role = "operator";
    le->capacity = OB_CAP_OPERATOR;
    le->reason = reason;
}

static int apply(ob_hub *h, json_t *rec, const opts *o, const char *what, const char *verb)
{
    ob_log_entry le;
    const char *name = cli_operator_name(o);
    if (!name)
        return EXIT_USAGE;
    json_object_set_new(rec, "operator", json_string(name));
    cli_operator_actor(
        name,
        opt(o, "by", NULL)
            ? "entered at the console by an operator, for the professional named in the record"
            : "ON YOUR BEHALF: entered at the console by an operator, at your request",
        &le);
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
                                     "operator",
                                     "holder",
                                     "professional",
                                     "site",
                                     "org",
                                     "source",
                                     "at",
                                     NULL};

static int usage_block(int code)
{
    printf("usage: overblik block create --patient ID --kind professional|site|period|notes\n"
           "                 [--target ID] [--no-subunits] [--categories a,b|all]\n"
           "                 [--valid-from D] [--valid-to D] [--data-from D] [--data-to D]\n"
           "                 [--by GP-ID]   (the patient's own GP, on their behalf)\n"
           "       overblik block list --patient ID\n"
           "       overblik block lift --patient ID --id N [--by GP-ID]\n"
           "Changes are entered by the operator (--operator NAME, default $SUDO_USER or\n"
           "$USER) for the patient, or for the GP named by --by; the log names both.\n"
           "Blocks (R-BLK): a named professional (not in a hospital: block the site), a site\n"
           "with or without sub-units, all data from a period, or (notes, R-SRC-4) full\n"
           "clinical notes outside the sector that wrote them. Takes effect at once.\n");
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
            for (size_t i = 0; i < ob_patient_all_blocks(p); i++) { /* active, then lifted */
                const ob_block *b = ob_patient_block_at(p, i);
                const char *target = b->kind == OB_BLOCK_PROFESSIONAL ? h->ix->pros[b->target].name
                                     : b->kind == OB_BLOCK_SITE       ? h->ix->orgs[b->target].name
                                     : b->kind == OB_BLOCK_NOTES ? "other sectors (clinical notes)"
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
           "Entered by the operator (--operator NAME, default $SUDO_USER or $USER) for the\n"
           "patient (a written consent they signed); shown to them as entered on their behalf.\n"
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
            for (size_t i = 0; i < ob_patient_all_consents(p); i++) { /* active, then revoked */
                const ob_consent *c = ob_patient_consent_at(p, i);
                char per[48], rv[16] = "";
                fmt_period(c->from, c->to, per, sizeof per);
                if (!c->active)
                    ob_date_format(c->revoked_at, rv);
                printf("%-4llu %-16s %-24s %-8s %s%s%s\n", (unsigned long long)c->id,
                       ob_consent_kind_name((ob_consent_kind)c->kind), per,
                       c->form ? "oral" : "written", c->active ? "active" : "revoked ", rv,
                       c->form || c->by_operator ? " (recorded on your behalf)" : "");
            }
        }
    } else {
        rc = usage_consent(EXIT_USAGE);
    }
    json_decref(rec);
    ob_hub_close(h);
    return rc;
}

static int usage_grant(int code)
{
    printf("usage: overblik grant end-attorney --patient ID --holder ID [--by patient|holder]\n"
           "       overblik grant end-permission --professional ID --site ID\n"
           "                 --kind assist|quality|manage --by MANAGER-ID\n"
           "       overblik grant end-relationship --patient ID --org ID [--professional ID]\n"
           "                 [--kind listed|admission|treatment|home_nursing] --source CLIENT-ID\n"
           "       all: [--at TIME] [--operator NAME]\n"
           "Ends a grant at once (issue 24): a power of attorney for the patient (or the holder\n"
           "renouncing it), a permission for the site's management (a professional with a\n"
           "'manage' permission there), a relationship for the source system of its site.\n"
           "The operator enters it for them; the log names both.\n");
    return code;
}

int cmd_grant(int argc, char **argv)
{
    opts o;
    if (argc < 1 || strcmp(argv[0], "--help") == 0)
        return usage_grant(argc < 1 ? EXIT_USAGE : 0);
    if (opts_parse(&o, argc - 1, argv + 1, flags, valued) < 0)
        return EXIT_USAGE;
    if (opt_flag(&o, "help"))
        return usage_grant(0);
    static const struct {
        const char *cmd, *type;
        const char *const keys[6][2]; /* flag, field */
        const char *reason;
    } kinds[] = {
        {"end-attorney",
         "relative_end",
         {{"patient", "patient"}, {"holder", "holder"}, {"by", "by"}, {"at", "at"}},
         "ON YOUR BEHALF: a power of attorney ended, entered at the console by an operator"},
        {"end-permission",
         "permission_end",
         {{"professional", "professional"},
          {"site", "site"},
          {"kind", "kind"},
          {"by", "by"},
          {"at", "at"}},
         "a permission ended by the site's management, entered at the console by an operator"},
        {"end-relationship",
         "relationship_end",
         {{"patient", "patient"},
          {"org", "org"},
          {"professional", "professional"},
          {"kind", "kind"},
          {"source", "source"},
          {"at", "at"}},
         "a treatment relationship ended by its source's event, entered at the console by an "
         "operator"},
    };
    size_t k = 0;
    while (k < sizeof kinds / sizeof kinds[0] && strcmp(argv[0], kinds[k].cmd) != 0)
        k++;
    if (k == sizeof kinds / sizeof kinds[0])
        return usage_grant(EXIT_USAGE);
    const char *name = cli_operator_name(&o);
    if (!name)
        return EXIT_USAGE;
    ob_hub *h;
    int rc = open_hub(&o, true, &h);
    if (rc)
        return rc;
    json_t *rec = json_pack("{s:s, s:s}", "type", kinds[k].type, "operator", name);
    for (size_t i = 0; i < 6 && kinds[k].keys[i][0]; i++)
        set_opt(rec, &o, kinds[k].keys[i][0], kinds[k].keys[i][1]);
    ob_log_entry le;
    cli_operator_actor(name, kinds[k].reason, &le);
    ob_err e = {0};
    uint64_t seq = 0;
    ob_status st = ob_hub_change(h, rec, &le, &seq, NULL, &e);
    if (st) {
        fprintf(stderr, "overblik grant: %s\nnothing was changed\n", shown(e.msg));
        rc = exit_code_for(st);
    } else {
        printf("grant ended (log entry %llu)\n", (unsigned long long)seq);
    }
    json_decref(rec);
    ob_hub_close(h);
    return rc;
}

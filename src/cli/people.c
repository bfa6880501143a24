/* people.c - `overblik people list`: who is in a database, by kind, so that a newcomer can
 * name a patient, a professional or a source system in a command or a token (issue 25).
 * One JSON line each: ids, names, roles, sites, a patient's GP; never a CPR number. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"

static int usage(int code)
{
    FILE *f = code ? stderr : stdout;
    fprintf(f,
            "usage: overblik people list [--kind patient|professional|source|org] "
            "[--limit N] [--db FILE]\n"
            "One JSON line per person or organisation (default: every kind, 10 each);\n"
            "never a CPR number. A citizen's token: overblik token --kind citizen --patient ID\n");
    return code;
}

static void line(json_t *o)
{
    char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
    if (t)
        printf("%s\n", t);
    free(t);
    json_decref(o);
}

int cmd_people(int argc, char **argv)
{
    static const char *const flags[] = {"help", NULL};
    static const char *const valued[] = {"db", "keys", "kind", "limit", NULL};
    if (argc < 1 || strcmp(argv[0], "--help") == 0)
        return usage(argc < 1 ? EXIT_USAGE : 0);
    opts o;
    if (strcmp(argv[0], "list") != 0 || opts_parse(&o, argc - 1, argv + 1, flags, valued) < 0)
        return usage(EXIT_USAGE);
    if (opt_flag(&o, "help"))
        return usage(0);
    const char *kind = opt(&o, "kind", NULL);
    if (kind && strcmp(kind, "patient") && strcmp(kind, "professional") && strcmp(kind, "source") &&
        strcmp(kind, "org"))
        return usage(EXIT_USAGE);
    unsigned limit = 10;
    if (opt(&o, "limit", NULL) &&
        opt_uint("people", "--limit", opt(&o, "limit", NULL), 1, 10000000, &limit) < 0)
        return EXIT_USAGE;
    ob_hub *h;
    int rc = open_hub(&o, false, &h);
    if (rc)
        return rc;
    const ob_index *ix = h->ix;
    bool all = !kind;
    for (uint32_t i = 0; (all || !strcmp(kind, "patient")) && i < ix->npatients && i < limit; i++) {
        const ob_patient *p = &ix->patients[i];
        line(json_pack("{s:s, s:s, s:s, s:s?}", "kind", "patient", "id", p->ext_id, "name",
                       p->name ? p->name : "", "gp",
                       p->gp_clinic < ix->norgs ? ix->orgs[p->gp_clinic].ext_id : NULL));
    }
    for (uint32_t i = 0; (all || !strcmp(kind, "professional")) && i < ix->npros && i < limit;
         i++) {
        const ob_professional *p = &ix->pros[i];
        json_t *sites = json_array();
        for (unsigned s = 0; s < p->nsites; s++)
            json_array_append_new(sites, json_string(ix->orgs[p->sites[s]].ext_id));
        line(json_pack("{s:s, s:s, s:s, s:s, s:o}", "kind", "professional", "id", p->ext_id, "name",
                       p->name ? p->name : "", "role", ob_role_name((ob_role)p->role), "sites",
                       sites));
    }
    for (uint32_t i = 0; (all || !strcmp(kind, "source")) && i < ix->nsources && i < limit; i++) {
        const ob_source *s = &ix->sources[i];
        line(json_pack("{s:s, s:s, s:s, s:s}", "kind", "source", "client_id", s->client_id, "name",
                       s->name ? s->name : "", "site", ix->orgs[s->site].ext_id));
    }
    for (uint32_t i = 0; (all || !strcmp(kind, "org")) && i < ix->norgs && i < limit; i++) {
        const ob_org *g = &ix->orgs[i];
        line(json_pack("{s:s, s:s, s:s, s:s}", "kind", "org", "id", g->ext_id, "name",
                       g->name ? g->name : "", "org_kind", ob_org_kind_name((ob_org_kind)g->kind)));
    }
    ob_hub_close(h);
    return 0;
}

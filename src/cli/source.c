/* source.c - `overblik source`: the source systems' state (R-SRC-2, seed 004). An operator
 * who learns that a clinic's system has stopped delivering declares it interrupted, with a
 * reason clinicians read beside every search (so that a missing item is not taken for an
 * absent one), and resumes it when it delivers again; `list` shows every source's last
 * delivery and state, also the interruptions the registration's max_silence_hours implies.
 * Works beside a serving database: the server sees a declaration within two seconds. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "core/alloc.h"
#include "fhir/fhir.h"
#include "service/sources.h"

static int usage(int code)
{
    FILE *f = code ? stderr : stdout;
    fprintf(f, "usage: overblik source list [--db DB]\n"
               "       overblik source interrupt --client ID --reason TEXT [--since TIME] "
               "[--db DB]\n"
               "       overblik source resume --client ID [--db DB]\n");
    return code;
}

static int list(ob_hub *h)
{
    ob_source_status *v;
    size_t n;
    ob_err e = {0};
    if (ob_hub_sources_status(h, ob_time_now(), &v, &n, &e) != OB_OK)
        return fail("source list", &e);
    for (size_t i = 0; i < n; i++) {
        char last[32] = "", since[32] = "";
        if (v[i].last_update)
            ob_fhir_time(v[i].last_update, last);
        if (v[i].since)
            ob_fhir_time(v[i].since, since);
        json_t *o = json_pack("{s:s, s:s, s:s?, s:s, s:s?, s:s?, s:b, s:s?}", "client", v[i].client,
                              "name", v[i].name ? v[i].name : v[i].client, "site", v[i].site,
                              "state", v[i].since ? "interrupted" : "active", "last_delivery",
                              last[0] ? last : NULL, "since", since[0] ? since : NULL, "declared",
                              v[i].declared, "reason", v[i].reason[0] ? v[i].reason : NULL);
        char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
        if (t)
            printf("%s\n", t);
        free(t);
        json_decref(o);
    }
    ob_free(v);
    return 0;
}

int cmd_source(int argc, char **argv)
{
    static const char *const flags[] = {"help", NULL};
    static const char *const valued[] = {"db", "keys", "client", "reason", "since", NULL};
    if (argc < 1 || strcmp(argv[0], "--help") == 0)
        return usage(argc < 1 ? EXIT_USAGE : 0);
    const char *sub = argv[0];
    opts o;
    if (opts_parse(&o, argc - 1, argv + 1, flags, valued) < 0)
        return EXIT_USAGE;
    if (opt_flag(&o, "help"))
        return usage(0);
    bool is_list = strcmp(sub, "list") == 0, interrupt = strcmp(sub, "interrupt") == 0,
         resume = strcmp(sub, "resume") == 0;
    if ((!is_list && !interrupt && !resume) || o.npos)
        return usage(EXIT_USAGE);
    const char *client = opt(&o, "client", NULL), *reason = opt(&o, "reason", NULL);
    if (!is_list && !client) {
        fprintf(stderr, "overblik source %s: --client ID is needed\n", sub);
        return EXIT_USAGE;
    }
    if (interrupt && !reason) {
        fprintf(stderr, "overblik source interrupt: --reason TEXT is needed (clinicians read "
                        "it beside every search)\n");
        return EXIT_USAGE;
    }
    ob_time since = ob_time_now();
    const char *s = opt(&o, "since", NULL);
    ob_err e = {0};
    if (s && ob_time_parse(s, &since, &e) != OB_OK) {
        fprintf(stderr, "overblik source interrupt: --since must be a date or date-time\n");
        return EXIT_USAGE;
    }
    ob_hub *h;
    int rc = open_hub(&o, false, &h);
    if (rc)
        return rc;
    if (is_list) {
        rc = list(h);
    } else if (ob_hub_source_declare(h, client, interrupt ? since : 0, reason, &e) != OB_OK) {
        rc = fail(interrupt ? "source interrupt" : "source resume", &e);
    } else {
        printf("%s %s\n", shown(client), interrupt ? "interrupted" : "resumed");
    }
    ob_hub_close(h);
    return rc;
}

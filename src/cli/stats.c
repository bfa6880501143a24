/* stats.c - `overblik stats cluster|planning|expire`: quality-cluster and planning statistics
 * (R-STAT-1..7) on the command line. Parses options into an ob_stats_order and prints what
 * ob_stats_run returns; the release, its audit, persistence and logging happen below
 * (service/stats_service.c). The operator at the console needs no coordinator role; --as
 * names a professional and then applies the same check as the HTTP API. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "service/stats_service.h"

static const char *const flags[] = {"help", NULL};
static const char *const valued[] = {
    "db",  "keys", "cluster", "municipality", "code",  "from", "to",  "report-date", "format",
    "out", "mode", "epsilon", "clinic",       "bands", "as",   "now", NULL};

static int usage(int code)
{
    printf(
        "usage: overblik stats cluster --cluster ID --code CODE [--from DATE] [--to DATE]\n"
        "                [--report-date DATE] [--format text|csv|json|svg] [--out FILE]\n"
        "                [--mode suppress|round|dp] [--epsilon E] [--clinic ORG]\n"
        "                [--bands 130,140,150,160] [--as PROFESSIONAL]\n"
        "       overblik stats planning --municipality ID --code CODE [same options]\n"
        "       overblik stats expire [--now DATE]\n"
        "  cluster   a GP quality cluster's report per (pseudonymised) clinic: patients listed,\n"
        "            with the diagnosis (code and its sub-codes), systolic blood-pressure bands\n"
        "            of the latest measurement in the period, annual check-ups (R-STAT-1).\n"
        "            No released figure rests on fewer than k patients; the release is audited\n"
        "            for the outsider and every member clinic and compared with earlier\n"
        "            releases (R-STAT-2). --clinic: that member clinic's own figures from its\n"
        "            own data, former patients included (R-STAT-5).\n"
        "  planning  the same per GP clinic of a municipality's planning group, k >= 10 "
        "(R-STAT-6).\n"
        "  expire    deletes release data sets whose cluster retention has passed (R-STAT-7);\n"
        "            also runs at the start of every stats command.\n"
        "Period [from, to): default the twelve months before the report date (default today).\n"
        "--mode round: released figures rounded to 5; dp: discrete-Laplace noise, epsilon\n"
        "(default 1) charged to the cluster's agreed budget.\n"
        "Every release is recorded and logged. Exit 5 when a release is refused, 1 for an\n"
        "unknown cluster or bad input.\n");
    return code;
}

static int parse_date(const char *name, const char *s, ob_time *out)
{
    ob_err e = {0};
    if (ob_time_parse(s, out, &e)) {
        fprintf(stderr, "overblik stats: --%s: %s\n", name, shown(e.msg));
        return -1;
    }
    return 0;
}

static int parse_bands(const char *s, ob_stats_order *q)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", s);
    q->n_edges = 0;
    for (char *t = strtok(buf, ","); t; t = strtok(NULL, ",")) {
        char *end;
        long v = strtol(t, &end, 10);
        if (*end || v <= 0 || v > 400 || q->n_edges >= OB_STATS_MAX_BANDS - 1 ||
            (q->n_edges && v <= q->edge[q->n_edges - 1])) {
            fprintf(stderr, "overblik stats: --bands: increasing mmHg values, at most %d\n",
                    OB_STATS_MAX_BANDS - 1);
            return -1;
        }
        q->edge[q->n_edges++] = (int32_t)v;
    }
    return 0;
}

/* --now moves the clock for tests only: honoured when OB_TEST_CLOCK=1 is set (never in a
 * deployment: deploy/ sets no such variable) and only backwards, so it can never expire or
 * delete anything the real clock would not (R-STAT-7). */
static int test_clock(const opts *o, ob_time *now)
{
    const char *v = opt(o, "now", NULL);
    if (!v)
        return 0;
    const char *env = getenv("OB_TEST_CLOCK");
    if (!env || strcmp(env, "1") != 0) {
        fprintf(stderr, "overblik stats: --now is for tests only (OB_TEST_CLOCK=1)\n");
        return -1;
    }
    if (parse_date("now", v, now) < 0)
        return -1;
    if (*now > ob_time_now()) {
        fprintf(stderr, "overblik stats: --now may only move the clock back\n");
        return -1;
    }
    return 0;
}

static int run(const char *sub, const opts *o)
{
    ob_stats_order q;
    memset(&q, 0, sizeof q);
    q.caller = OB_NONE;
    q.planning = strcmp(sub, "planning") == 0;
    q.cluster = q.planning ? NULL : opt(o, "cluster", NULL);
    q.municipality = q.planning ? opt(o, "municipality", NULL) : NULL;
    q.clinic = opt(o, "clinic", NULL);
    q.code = opt(o, "code", NULL);
    if ((!q.planning && !q.cluster) || (q.planning && !q.municipality) || !q.code) {
        fprintf(stderr, "overblik stats %s: %s and --code are required (see --help)\n", sub,
                q.planning ? "--municipality" : "--cluster");
        return EXIT_USAGE;
    }
    const char *fmt = opt(o, "format", "text"), *mode = opt(o, "mode", "suppress");
    if (strcmp(fmt, "text") == 0)
        q.format = OB_STATS_TEXT;
    else if (strcmp(fmt, "csv") == 0)
        q.format = OB_STATS_CSV;
    else if (strcmp(fmt, "json") == 0)
        q.format = OB_STATS_JSON;
    else if (strcmp(fmt, "svg") == 0)
        q.format = OB_STATS_SVG;
    else {
        fprintf(stderr, "overblik stats: --format is text, csv, json or svg\n");
        return EXIT_USAGE;
    }
    if (strcmp(mode, "suppress") == 0)
        q.mode = OB_STATS_MODE_SUPPRESS;
    else if (strcmp(mode, "round") == 0)
        q.mode = OB_STATS_MODE_ROUND;
    else if (strcmp(mode, "dp") == 0)
        q.mode = OB_STATS_MODE_DP;
    else {
        fprintf(stderr, "overblik stats: --mode is suppress, round or dp\n");
        return EXIT_USAGE;
    }
    char *end;
    double eps = strtod(opt(o, "epsilon", "1"), &end);
    if (*end || !(eps > 0 && eps <= 100)) {
        fprintf(stderr, "overblik stats: --epsilon must be a number in (0, 100]\n");
        return EXIT_USAGE;
    }
    q.epsilon_milli = (uint32_t)(eps * 1000 + 0.5);
    if (q.epsilon_milli == 0)
        q.epsilon_milli = 1;
    ob_time today = ob_time_now() / 86400 * 86400;
    if (opt(o, "report-date", NULL) &&
        parse_date("report-date", opt(o, "report-date", NULL), &q.report_date) < 0)
        return EXIT_USAGE;
    ob_time rd = q.report_date ? q.report_date : today;
    q.to = rd + 86400;
    q.from = q.to - 365 * 86400LL;
    if ((opt(o, "from", NULL) && parse_date("from", opt(o, "from", NULL), &q.from) < 0) ||
        (opt(o, "to", NULL) && parse_date("to", opt(o, "to", NULL), &q.to) < 0) ||
        test_clock(o, &q.now) < 0)
        return EXIT_USAGE;
    if (opt(o, "bands", NULL) && parse_bands(opt(o, "bands", NULL), &q) < 0)
        return EXIT_USAGE;

    ob_hub *h;
    int rc = open_hub(o, true, &h);
    if (rc)
        return rc;
    ob_log_entry le;
    memset(&le, 0, sizeof le);
    if (opt(o, "as", NULL)) {
        q.caller = ob_index_find_professional(h->ix, opt(o, "as", NULL));
        if (q.caller == OB_NONE) {
            fprintf(stderr, "overblik stats: --as: no such professional\n");
            ob_hub_close(h);
            return EXIT_INPUT;
        }
        const ob_professional *p = &h->ix->pros[q.caller];
        le.actor_id = p->ext_id;
        le.actor_name = p->name;
        le.actor_role = ob_role_name((ob_role)p->role);
        le.capacity = OB_CAP_PROFESSIONAL;
        if (p->nsites) {
            le.actor_org = h->ix->orgs[p->sites[0]].ext_id;
            le.actor_org_name = h->ix->orgs[p->sites[0]].name;
        }
    } else {
        le.actor_id = "operator";
        le.actor_role = "operator";
    }
    q.actor = &le;
    ob_stats_outcome out;
    ob_err e = {0};
    ob_status st = ob_stats_run(h, &q, &out, &e);
    ob_hub_close(h);
    if (st)
        return fail("stats", &e);
    const char *path = opt(o, "out", NULL);
    FILE *f = path ? fopen(path, "w") : stdout;
    if (!f) {
        fprintf(stderr, "overblik stats: cannot write %s\n", shown(path));
        ob_stats_outcome_release(&out);
        return EXIT_STORAGE;
    }
    fwrite(out.body, 1, out.len, f);
    if (out.len && out.body[out.len - 1] != '\n')
        fputc('\n', f);
    int werr = ferror(f);
    if (path) {
        werr |= fclose(f);
        fprintf(stderr, "release %lld written to %s (log entry %llu)\n", (long long)out.release_id,
                path, (unsigned long long)out.log_seq);
    }
    ob_stats_outcome_release(&out);
    return werr ? EXIT_STORAGE : 0;
}

int cmd_stats(int argc, char **argv)
{
    if (argc < 1 || strcmp(argv[0], "--help") == 0)
        return usage(argc < 1 ? EXIT_USAGE : 0);
    opts o;
    if (opts_parse(&o, argc - 1, argv + 1, flags, valued) < 0)
        return EXIT_USAGE;
    if (opt_flag(&o, "help"))
        return usage(0);
    const char *sub = argv[0];
    if (strcmp(sub, "cluster") == 0 || strcmp(sub, "planning") == 0)
        return run(sub, &o);
    if (strcmp(sub, "expire") == 0) {
        ob_time now = 0;
        if (test_clock(&o, &now) < 0)
            return EXIT_USAGE;
        ob_hub *h;
        int rc = open_hub(&o, true, &h);
        if (rc)
            return rc;
        ob_err e = {0};
        int64_t n = 0;
        ob_status st = ob_stats_expire(h, now, &n, &e);
        ob_hub_close(h);
        if (st)
            return fail("stats expire", &e);
        printf("deleted the data sets of %lld release(s) (R-STAT-7)\n", (long long)n);
        return 0;
    }
    fprintf(stderr, "overblik stats: unknown subcommand '%s'\n", shown(sub));
    return usage(EXIT_USAGE);
}

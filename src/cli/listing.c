/* listing.c - `overblik listing import`: the GP listings of the national health-insurance
 * register (sygesikringsregistret) as an import feed (issue 21, R-ACC-1).
 *
 * The register speaks of people by CPR number and of clinics by provider number
 * (ydernummer); overblik turns each line into a `listing` record (docs/formats.md) with its
 * own ids, and ob_hub_change derives the relationships: the old listing ends, the new one
 * starts, the patient's GP changes, and the patient's log shows it. Every line is checked
 * before anything is applied, so a bad line changes nothing; a line that repeats the
 * current listing is counted as unchanged and not applied. Messages name lines, never CPR
 * numbers (R-CPR-2). */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/cpr.h"
#include "core/secret.h"

static int usage(int code)
{
    fprintf(code ? stderr : stdout,
            "usage: overblik listing import [--db FILE] [--operator NAME] FILE|-\n"
            "Reads the health-insurance register's listing changes, one JSON object a line:\n"
            "  {\"cpr\":\"DDMMYY-SSSS\",\"provider_number\":\"123456\",\"from\":\"YYYY-MM-DD\"}\n"
            "(\"provider_number\": null: the person left the register's GP scheme). Every line\n"
            "is checked first; one bad line and nothing changes (exit 1).\n");
    return code;
}

typedef struct change {
    uint32_t patient, clinic; /* clinic OB_NONE: deregistered */
    char from[32];
    ob_time at;
} change;

static uint32_t clinic_by_provider(const ob_index *ix, const char *no)
{
    for (uint32_t i = 0; i < ix->norgs; i++)
        if (ix->orgs[i].kind == OB_ORG_GP_CLINIC && strcmp(ix->orgs[i].provider_no, no) == 0)
            return i;
    return OB_NONE;
}

/* One register line into *c; else a message (never quoting the line) in e. */
static ob_status parse_line(const ob_hub *h, json_t *o, change *c, ob_err *e)
{
    static const char *const f[] = {"cpr", "provider_number", "from", NULL};
    ob_status rc = ob_json_only(o, f, e);
    if (rc)
        return rc;
    json_t *cpr = json_object_get(o, "cpr"), *no = json_object_get(o, "provider_number"),
           *from = json_object_get(o, "from");
    if (!json_is_string(cpr))
        return ob_err_set(e, OB_EINVAL, "field 'cpr' must be a string");
    ob_cpr p;
    if (ob_cpr_parse(json_string_value(cpr), json_string_length(cpr), &p, e))
        return OB_EINVAL;
    uint8_t hash[16];
    ob_cpr_hash(&h->keys, p.digits, hash);
    c->patient = ob_index_find_patient_by_cpr_hash(h->ix, hash);
    if (c->patient == OB_NONE)
        return ob_err_set(e, OB_ENOTFOUND, "no patient with that CPR number");
    if (!no)
        return ob_err_set(e, OB_EINVAL, "missing field 'provider_number' (a string, or null)");
    c->clinic = OB_NONE;
    if (!json_is_null(no)) {
        if (!json_is_string(no))
            return ob_err_set(e, OB_EINVAL, "field 'provider_number' must be a string or null");
        c->clinic = clinic_by_provider(h->ix, json_string_value(no));
        if (c->clinic == OB_NONE)
            return ob_err_set(e, OB_ENOTFOUND, "no GP clinic has that provider number");
    }
    ob_time t;
    if (!from || !json_is_string(from) || strlen(json_string_value(from)) >= sizeof c->from ||
        ob_json_time(o, "from", 0, &t, e))
        return ob_err_set(e, OB_EINVAL, "field 'from' must be a date (YYYY-MM-DD)");
    snprintf(c->from, sizeof c->from, "%s", json_string_value(from));
    const ob_relationship *cur = ob_index_current_listing(h->ix, c->patient, t);
    if (cur && cur->from > t)
        return ob_err_set(e, OB_EINVAL,
                          "the change is dated before the patient's current listing began");
    c->at = t;
    return OB_OK;
}

/* Whether the patient is listed at c's clinic at c's date already (or, deregistered, is
 * listed nowhere): asked just before applying, after the file's earlier lines. */
static bool unchanged(const ob_index *ix, const change *c)
{
    const ob_relationship *cur = ob_index_current_listing(ix, c->patient, c->at);
    return cur ? cur->org == c->clinic : c->clinic == OB_NONE;
}

int cmd_listing(int argc, char **argv)
{
    static const char *const flags[] = {"help", NULL};
    static const char *const valued[] = {"db", "keys", "operator", NULL};
    opts o;
    if (argc < 1 || strcmp(argv[0], "--help") == 0)
        return usage(argc < 1 ? EXIT_USAGE : 0);
    if (strcmp(argv[0], "import") != 0)
        return usage(EXIT_USAGE);
    if (opts_parse(&o, argc - 1, argv + 1, flags, valued) < 0)
        return EXIT_USAGE;
    if (opt_flag(&o, "help"))
        return usage(0);
    if (o.npos != 1)
        return usage(EXIT_USAGE);
    const char *name = cli_operator_name(&o);
    if (!name)
        return EXIT_USAGE;
    FILE *f = strcmp(o.pos[0], "-") == 0 ? stdin : fopen(o.pos[0], "r");
    if (!f) {
        fprintf(stderr, "overblik listing: cannot open the input file\n");
        return EXIT_STORAGE;
    }
    ob_hub *h;
    int rc = open_hub(&o, true, &h);
    if (rc) {
        if (f != stdin)
            fclose(f);
        return rc;
    }
    change *cs = NULL;
    size_t n = 0, cap = 0, bad = 0;
    ob_ndjson_reader rd = {f, 0, NULL, 0};
    for (;;) {
        ob_err e = {0};
        size_t line = 0;
        json_t *obj = ob_ndjson_next(&rd, &line, &e);
        if (!obj && !e.msg[0])
            break;
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            change *g = realloc(cs, cap * sizeof *cs);
            if (!g) {
                json_decref(obj);
                fprintf(stderr, "overblik listing: out of memory\n");
                bad++;
                break;
            }
            cs = g;
        }
        if (!obj || parse_line(h, obj, &cs[n], &e)) {
            fprintf(stderr, "overblik listing: line %zu: %s\n", line, shown(e.msg));
            bad++;
        } else {
            n++;
        }
        json_decref(obj);
        if (!obj)
            break; /* the reader cannot go on after a broken line */
    }
    free(rd.buf);
    if (f != stdin)
        fclose(f);
    size_t changed = 0, same = 0;
    if (bad) {
        fprintf(stderr, "overblik listing: %zu bad line%s; nothing was changed\n", bad,
                bad == 1 ? "" : "s");
        rc = EXIT_INPUT;
    }
    for (size_t i = 0; i < n && !rc; i++) {
        if (unchanged(h->ix, &cs[i])) {
            same++;
            continue;
        }
        json_t *rec = json_pack(
            "{s:s, s:s, s:o, s:s, s:s}", "type", "listing", "patient",
            h->ix->patients[cs[i].patient].ext_id, "clinic",
            cs[i].clinic == OB_NONE ? json_null() : json_string(h->ix->orgs[cs[i].clinic].ext_id),
            "from", cs[i].from, "operator", name);
        ob_log_entry le;
        cli_operator_actor(
            name, "the GP listing as the national health-insurance register reports it", &le);
        ob_err e = {0};
        uint64_t seq;
        ob_status st = rec ? ob_hub_change(h, rec, &le, &seq, NULL, &e)
                           : ob_err_set(&e, OB_ENOMEM, "out of memory");
        json_decref(rec);
        if (st) { /* the lines before it stay applied: each is a change of its own */
            fprintf(stderr,
                    "overblik listing: line %zu of the valid ones: %s; %zu applied before it\n",
                    i + 1, shown(e.msg), changed);
            rc = exit_code_for(st);
            break;
        }
        changed++;
    }
    if (!bad)
        printf("{\"lines\":%zu,\"changed\":%zu,\"unchanged\":%zu}\n", n, changed, same);
    free(cs);
    ob_hub_close(h);
    return rc;
}

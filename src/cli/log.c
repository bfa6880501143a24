/* log.c - `overblik log show|assistants|verify|prove|check|expire`: the patient's view
 * of who accessed what (R-LOG-3), a professional's view of what assistants did on their
 * behalf (R-LOG-6), and the tamper evidence (R-LOG-4, R-LOG-5). */
#include <string.h>

#include "cli/cli.h"
#include "core/alloc.h"
#include "model/model.h"
#include "store/log_sqlite.h"

struct show_ctx {
    bool json;
    size_t n;
};

static ob_status show_one(void *ctx, const ob_log_record *r, ob_err *e)
{
    (void)e;
    struct show_ctx *c = ctx;
    const ob_log_entry *le = &r->entry;
    char ts[32];
    ob_time_format(le->time, ts);
    c->n++;
    if (c->json) {
        json_t *o = json_pack(
            "{s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:s,s:s}", "seq",
            (json_int_t)r->seq, "time", ts, "event", ob_log_event_name((ob_log_event)le->event),
            "actor", le->actor_id ? le->actor_id : "", "actor_name",
            le->actor_name ? le->actor_name : "", "role", le->actor_role ? le->actor_role : "",
            "org", le->actor_org_name ? le->actor_org_name : "", "capacity",
            ob_capacity_name((ob_capacity)le->capacity), "on_behalf_of",
            le->on_behalf_of ? le->on_behalf_of : "", "category", le->category ? le->category : "",
            "purpose", le->purpose ? le->purpose : "", "decision", le->permit ? "permit" : "deny",
            "rule", le->rule ? le->rule : "", "override", le->override, "reason",
            le->reason ? le->reason : "", "justification",
            le->justification ? le->justification : "");
        char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
        if (t)
            puts(t);
        free(t);
        json_decref(o);
        return OB_OK;
    }
    /* names and places in columns of characters, not bytes: a cut inside "ø" would be
     * text that is not UTF-8, and every row after it out of line */
    printf("%s  #%-6llu %s%-17s ", ts, (unsigned long long)r->seq, le->override ? "!! " : "",
           ob_log_event_name((ob_log_event)le->event));
    cli_col(stdout,
            le->actor_name && *le->actor_name ? le->actor_name : (le->actor_id ? le->actor_id : ""),
            22);
    putchar(' ');
    cli_col(stdout, le->actor_role, 16);
    putchar(' ');
    cli_col(stdout, le->actor_org_name, 28);
    printf(" %-17s %-8s %-6s %s\n", le->category ? le->category : "",
           le->purpose ? le->purpose : "", le->permit ? "permit" : "deny",
           le->rule ? le->rule : "");
    if (le->override)
        printf("    !! block overridden; reason given: %s\n",
               le->justification ? le->justification : "");
    if (le->on_behalf_of && *le->on_behalf_of)
        printf("    as technical assistant on behalf of %s\n", le->on_behalf_of);
    return OB_OK;
}

static const char *const flags[] = {"help", "json", "checkpoint-now", NULL};
static const char *const valued[] = {"db",    "keys",   "patient",   "professional", "seq",
                                     "limit", "before", "keep-days", "proof",        NULL};

static int usage(int code)
{
    printf("usage: overblik log show --patient ID [--json] [--limit N]\n"
           "       overblik log assistants --professional ID [--json]\n"
           "       overblik log verify\n"
           "       overblik log prove --seq N [--checkpoint-now]   (prints a JSON proof)\n"
           "       overblik log check --proof FILE                 (offline, public key only)\n"
           "       overblik log expire [--keep-days N | --before DATE]\n"
           "                 (retention, R-LOG-5: removes entries older than N days or DATE,\n"
           "                 in whole signed segments; default --keep-days 730, two years)\n"
           "Exit 4 when verify or check finds tampering.\n");
    return code;
}

int cmd_log(int argc, char **argv)
{
    if (argc < 1 || strcmp(argv[0], "--help") == 0)
        return usage(argc < 1 ? EXIT_USAGE : 0);
    opts o;
    if (opts_parse(&o, argc - 1, argv + 1, flags, valued) < 0)
        return EXIT_USAGE;
    if (opt_flag(&o, "help"))
        return usage(0);
    const char *db = opt(&o, "db", DEFAULT_DB);
    char keypath[4096];
    if (opt(&o, "keys", NULL))
        snprintf(keypath, sizeof keypath, "%s", opt(&o, "keys", NULL));
    else
        ob_hub_key_path(db, keypath, sizeof keypath);
    ob_err e = {0};
    ob_keys k;
    const char *sub = argv[0];
    if (strcmp(sub, "show") == 0 || strcmp(sub, "assistants") == 0) {
        ob_log_query q;
        memset(&q, 0, sizeof q);
        if (strcmp(sub, "show") == 0)
            q.patient = opt(&o, "patient", NULL);
        else
            q.on_behalf_of = opt(&o, "professional", NULL);
        if (!q.patient && !q.on_behalf_of) {
            fprintf(stderr, "overblik log %s: %s is required\n", sub,
                    strcmp(sub, "show") == 0 ? "--patient" : "--professional");
            return EXIT_USAGE;
        }
        q.limit = (size_t)strtoull(opt(&o, "limit", "0"), NULL, 10);
        struct show_ctx c = {opt_flag(&o, "json"), 0};
        if (!c.json)
            printf("%-20s  %-7s %-17s %-22s %-16s %-28s %-17s %-8s %-6s %s\n", "time", "entry",
                   "event", "who", "role", "from", "what", "purpose", "result", "rule");
        if (ob_log_each(db, &q, show_one, &c, &e))
            return fail("log", &e);
        if (!c.json)
            printf("%zu entries\n", c.n);
        return 0;
    }
    if (strcmp(sub, "verify") == 0) {
        if (ob_keys_load(&k, keypath, &e))
            return fail("log verify", &e);
        ob_log_verify_report r;
        ob_status st = ob_log_verify(db, k.sign_pk, &r, &e);
        if (st == OB_ETAMPER) {
            printf("log verification FAILED: %s at entry %llu: %s\n", ob_log_fault_name(r.fault),
                   (unsigned long long)r.bad_seq, r.detail);
            return EXIT_TAMPER;
        }
        if (st)
            return fail("log verify", &e);
        printf("log verified: %llu entries (%llu..%llu), %llu signed checkpoints",
               (unsigned long long)r.entries, (unsigned long long)r.first_seq,
               (unsigned long long)r.last_seq, (unsigned long long)r.checkpoints);
        if (r.expired_through)
            printf(", entries 1..%llu expired by retention", (unsigned long long)r.expired_through);
        if (r.indexed_through)
            printf("; search index complete through %llu", (unsigned long long)r.indexed_through);
        printf("\n");
        return 0;
    }
    if (strcmp(sub, "prove") == 0) {
        uint64_t seq = strtoull(opt(&o, "seq", "0"), NULL, 10);
        if (!seq) {
            fprintf(stderr, "overblik log prove: --seq N is required\n");
            return EXIT_USAGE;
        }
        if (opt_flag(&o, "checkpoint-now")) {
            ob_hub *h;
            int rc = open_hub(&o, true, &h);
            if (rc)
                return rc;
            ob_status st = ob_log_checkpoint_now(h->log, &e);
            ob_hub_close(h);
            if (st)
                return fail("log prove", &e);
        }
        ob_log_proof p;
        memset(&p, 0, sizeof p);
        if (ob_log_prove(db, seq, &p, &e))
            return fail("log prove", &e);
        char *t = ob_log_proof_to_json(&p);
        if (t)
            puts(t);
        ob_free(t);
        ob_log_proof_free(&p);
        return t ? 0 : EXIT_STORAGE;
    }
    if (strcmp(sub, "check") == 0) {
        const char *path = opt(&o, "proof", NULL);
        if (!path) {
            fprintf(stderr, "overblik log check: --proof FILE is required\n");
            return EXIT_USAGE;
        }
        if (ob_keys_load(&k, keypath, &e))
            return fail("log check", &e);
        json_error_t je;
        json_t *j = json_load_file(path, 0, &je);
        char *text = j ? json_dumps(j, 0) : NULL;
        json_decref(j);
        if (!text) {
            fprintf(stderr, "overblik log check: %s is not a JSON proof\n", shown(path));
            return EXIT_INPUT;
        }
        ob_log_proof p;
        ob_status st = ob_log_proof_from_json(text, &p, &e);
        free(text);
        if (!st)
            st = ob_log_proof_check(&p, k.sign_pk, &e);
        ob_log_proof_free(&p);
        if (st) {
            printf("proof does NOT hold: %s\n", e.msg);
            return st == OB_ETAMPER ? EXIT_TAMPER : exit_code_for(st);
        }
        printf("proof holds: the entry is in the signed log\n");
        return 0;
    }
    if (strcmp(sub, "expire") == 0) {
        /* R-LOG-5: default retention two years, as the national log */
        unsigned keep = 730;
        if (opt(&o, "keep-days", NULL) && opt(&o, "before", NULL)) {
            fprintf(stderr, "overblik log expire: give --keep-days or --before, not both\n");
            return EXIT_USAGE;
        }
        if (opt(&o, "keep-days", NULL) &&
            opt_uint("log expire", "--keep-days", opt(&o, "keep-days", ""), 1, 36500, &keep) < 0)
            return EXIT_USAGE;
        ob_time before = ob_time_now() - (ob_time)keep * 86400;
        if (opt(&o, "before", NULL) && ob_time_parse(opt(&o, "before", ""), &before, &e)) {
            fprintf(stderr, "overblik log expire: --before: %s\n", shown(e.msg));
            return EXIT_USAGE;
        }
        uint64_t removed = 0;
        if (ob_log_expire(db, before, &removed, &e))
            return fail("log expire", &e);
        printf("expired %llu entries\n", (unsigned long long)removed);
        return 0;
    }
    return usage(EXIT_USAGE);
}

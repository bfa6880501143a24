/* decide.c - `overblik decide`: one JSON request a line in, one JSON decision a line
 * out (docs/cli.md). Every decision is logged durably before it is printed (R-LOG-1).
 * The request may name the patient by CPR ("patient_cpr"): it is resolved through the
 * keyed hash and never echoed (R-CPR-2). */
#include <string.h>

#include "cli/cli.h"
#include "core/text.h"
#include "core/cpr.h"

static ob_status ref(const ob_index *ix, json_t *o, const char *key,
                     uint32_t (*find)(const ob_index *, const char *), bool required, uint32_t *out,
                     ob_err *e)
{
    json_t *v = json_object_get(o, key);
    *out = OB_NONE;
    if (!v) {
        if (required)
            return ob_err_set(e, OB_EINVAL, "missing field '%s'", key);
        return OB_OK;
    }
    if (!json_is_string(v))
        return ob_err_set(e, OB_EINVAL, "field '%s' must be a string id", key);
    *out = find(ix, json_string_value(v));
    if (*out == OB_NONE)
        return ob_err_set(e, OB_ENOTFOUND, "field '%s': no such id", key);
    return OB_OK;
}

struct item_ctx {
    ob_hub *h;
    ob_request *rq;
    ob_status rc;
    bool found;
    char id[256];
};

static ob_status take_item(void *ctx, const ob_item *it, ob_err *e)
{
    struct item_ctx *c = ctx;
    const ob_index *ix = c->h->ix;
    c->found = true;
    uint32_t pat = ob_index_find_patient(ix, it->patient);
    if (c->rq->patient != OB_NONE && pat != c->rq->patient)
        return ob_err_set(e, OB_EINVAL, "the item belongs to another patient");
    c->rq->patient = pat;
    c->rq->category = (uint8_t)ob_category_parse(it->category);
    c->rq->origin_org = ob_index_find_org(ix, it->origin);
    c->rq->item_time = it->time;
    c->rq->source = (uint8_t)ob_source_parse(it->source);
    snprintf(c->id, sizeof c->id, "%s", it->id);
    return OB_OK;
}

#define TRY(x)                                                                                     \
    do {                                                                                           \
        if ((rc = (x)) != OB_OK)                                                                   \
            return rc;                                                                             \
    } while (0)

/* Parses one request into rq. *resource is set to the item id when one is named. */
static ob_status parse_request(ob_hub *h, json_t *o, ob_request *rq, char *resource, size_t cap,
                               const char **reason, ob_err *e)
{
    static const char *const fields[] = {"actor",  "patient", "patient_cpr", "item",    "category",
                                         "origin", "time",    "source",      "purpose", "override",
                                         "reason", "project", "recipient",   "at",      NULL};
    ob_status rc;
    const ob_index *ix = h->ix;
    memset(rq, 0, sizeof *rq);
    rq->actor = rq->acting_org = rq->on_behalf_of = rq->patient = OB_NONE;
    rq->origin_org = rq->project = rq->recipient_org = OB_NONE;
    resource[0] = '\0';
    *reason = NULL;
    if (!json_is_object(o))
        return ob_err_set(e, OB_EINVAL, "a request is a JSON object");
    TRY(ob_json_only(o, fields, e));
    json_t *a = json_object_get(o, "actor");
    if (!json_is_object(a))
        return ob_err_set(e, OB_EINVAL,
                          "field 'actor' must be {\"professional\":id,\"org\":id}, "
                          "{\"citizen\":patient id} or {\"source_system\":org id}");
    static const char *const actor_fields[] = {"professional", "org",           "on_behalf_of",
                                               "citizen",      "source_system", NULL};
    TRY(ob_json_only(a, actor_fields, e));
    if (json_object_get(a, "professional")) {
        rq->actor_kind = OB_ACTOR_PROFESSIONAL;
        TRY(ref(ix, a, "professional", ob_index_find_professional, true, &rq->actor, e));
        TRY(ref(ix, a, "org", ob_index_find_org, false, &rq->acting_org, e));
        if (rq->acting_org == OB_NONE && ix->pros[rq->actor].nsites)
            rq->acting_org = ix->pros[rq->actor].sites[0];
        TRY(ref(ix, a, "on_behalf_of", ob_index_find_professional, false, &rq->on_behalf_of, e));
    } else if (json_object_get(a, "citizen")) {
        rq->actor_kind = OB_ACTOR_CITIZEN;
        TRY(ref(ix, a, "citizen", ob_index_find_patient, true, &rq->actor, e));
    } else if (json_object_get(a, "source_system")) {
        rq->actor_kind = OB_ACTOR_SOURCE_SYSTEM;
        TRY(ref(ix, a, "source_system", ob_index_find_org, true, &rq->acting_org, e));
    } else {
        return ob_err_set(e, OB_EINVAL,
                          "field 'actor' names no professional, citizen or "
                          "source system");
    }
    json_t *cpr = json_object_get(o, "patient_cpr");
    if (cpr) {
        ob_cpr c;
        if (!json_is_string(cpr))
            return ob_err_set(e, OB_EINVAL, "field 'patient_cpr' must be a string");
        TRY(ob_cpr_parse(json_string_value(cpr), json_string_length(cpr), &c, e));
        uint8_t hash[16];
        ob_cpr_hash(&h->keys, c.digits, hash);
        rq->patient = ob_index_find_patient_by_cpr_hash(ix, hash);
        if (rq->patient == OB_NONE)
            return ob_err_set(e, OB_ENOTFOUND, "no patient with that CPR number");
    } else {
        TRY(ref(ix, o, "patient", ob_index_find_patient, false, &rq->patient, e));
    }
    json_t *item = json_object_get(o, "item");
    if (item) {
        if (!json_is_string(item))
            return ob_err_set(e, OB_EINVAL, "field 'item' must be a string id");
        struct item_ctx c = {h, rq, OB_OK, false, ""};
        TRY(ob_store_get_item(h->store, json_string_value(item), take_item, &c, e));
        if (!c.found)
            return ob_err_set(e, OB_ENOTFOUND, "field 'item': no such id");
        snprintf(resource, cap, "%s", c.id);
    } else {
        int cat = ob_category_parse(json_string_value(json_object_get(o, "category")));
        if (cat < 0)
            return ob_err_set(e, OB_EINVAL,
                              "give 'item', or 'category' (one of appointment, "
                              "diagnosis, medication, lab_result, measurement, "
                              "clinical_note, discharge_summary, vaccination, "
                              "treatment_will) and 'origin'");
        rq->category = (uint8_t)cat;
        TRY(ref(ix, o, "origin", ob_index_find_org, true, &rq->origin_org, e));
        TRY(ob_json_time(o, "time", ob_time_now(), &rq->item_time, e));
        json_t *src = json_object_get(o, "source");
        int s = src ? ob_source_parse(json_string_value(src)) : OB_SRC_CLINICAL;
        if (s < 0)
            return ob_err_set(e, OB_EINVAL,
                              "field 'source' is clinical, patient_reported, "
                              "quality_db or research");
        rq->source = (uint8_t)s;
    }
    if (rq->patient == OB_NONE)
        return ob_err_set(e, OB_EINVAL, "missing field 'patient' (or 'patient_cpr')");
    json_t *p = json_object_get(o, "purpose");
    int purpose = p ? ob_purpose_parse(json_string_value(p)) : -1;
    if (purpose < 0)
        return ob_err_set(e, OB_EINVAL,
                          "field 'purpose' must be a purpose code such as TREAT, ETREAT, "
                          "HQUALIMP, PREVENTION, SHARING, HRESCH, HOPERAT, DECISIONSUPPORT, "
                          "PATRQT, PWATRNY, RESEARCHNOTICE, DISCLOSE");
    rq->purpose = (uint8_t)purpose;
    json_t *ov = json_object_get(o, "override");
    int override = ov ? ob_override_parse(json_string_value(ov)) : OB_OVERRIDE_NONE;
    if (override < 0)
        return ob_err_set(e, OB_EINVAL, "field 'override' is none, consent or vital_interest");
    rq->override = (uint8_t) override;
    json_t *rs = json_object_get(o, "reason");
    if (rs && (!json_is_string(rs) || json_string_length(rs) > 1000))
        return ob_err_set(e, OB_EINVAL,
                          "field 'reason' must be a text of at most 1000 "
                          "characters");
    *reason = rs ? json_string_value(rs) : NULL;
    if (*reason && ob_text_justification(*reason, strlen(*reason), e) != OB_OK)
        return OB_EINVAL; /* R-BLK-4, R-CPR-3: the log keeps it for ever */
    rq->has_override_reason = *reason && **reason;
    TRY(ref(ix, o, "project", ob_index_find_project, false, &rq->project, e));
    TRY(ref(ix, o, "recipient", ob_index_find_org, false, &rq->recipient_org, e));
    TRY(ob_json_time(o, "at", ob_time_now(), &rq->now, e));
    return OB_OK;
}

static const char *const flags[] = {"help", NULL};
static const char *const valued[] = {"db", "keys", NULL};

int cmd_decide(int argc, char **argv)
{
    opts o;
    if (opts_parse(&o, argc, argv, flags, valued) < 0)
        return EXIT_USAGE;
    if (opt_flag(&o, "help")) {
        printf("usage: overblik decide [--db FILE] [REQUESTS.ndjson | -]\n"
               "Reads one JSON request a line (docs/cli.md), decides it, logs the decision\n"
               "durably and prints one JSON decision a line. Exit 1 if any line was bad.\n");
        return 0;
    }
    FILE *in = stdin;
    if (o.npos == 1 && strcmp(o.pos[0], "-") != 0 && !(in = fopen(o.pos[0], "r"))) {
        fprintf(stderr, "overblik decide: cannot open %s\n", shown(o.pos[0]));
        return EXIT_STORAGE;
    }
    ob_hub *h;
    int rc = open_hub(&o, true, &h);
    if (rc) {
        if (in != stdin)
            fclose(in);
        return rc;
    }
    ob_ndjson_reader r = {in, 0, NULL, 0};
    int worst = 0;
    for (;;) {
        ob_err e = {0};
        size_t line = 0;
        json_t *req = ob_ndjson_next(&r, &line, &e);
        if (!req && !e.code)
            break;
        json_t *out;
        if (req) {
            ob_request rq;
            ob_decision d;
            char resource[256];
            const char *reason;
            uint64_t seq = 0;
            ob_status st = parse_request(h, req, &rq, resource, sizeof resource, &reason, &e);
            if (!st)
                st = ob_hub_decide(h, &rq, resource[0] ? resource : NULL, reason, &d, &seq, &e);
            if (st) {
                out = json_pack("{s:s,s:i}", "error", e.msg, "line", (int)line);
                if (exit_code_for(st) > worst)
                    worst = exit_code_for(st);
            } else {
                char obl[160];
                ob_obligations_format(d.obligations, obl, sizeof obl);
                json_t *arr = json_array();
                for (char *tok = strtok(obl, ","); tok; tok = strtok(NULL, ","))
                    json_array_append_new(arr, json_string(tok));
                out = json_pack("{s:s,s:s,s:s,s:s,s:o,s:s,s:I}", "decision",
                                d.permit ? "permit" : "deny", "rule", ob_rule_name((ob_rule)d.rule),
                                "legal_basis", d.legal_basis, "reason", d.reason, "obligations",
                                arr, "capacity", ob_capacity_name((ob_capacity)d.capacity),
                                "log_seq", (json_int_t)seq);
            }
            json_decref(req);
        } else {
            out = json_pack("{s:s,s:i}", "error", e.msg, "line", (int)line);
            worst = worst > EXIT_INPUT ? worst : EXIT_INPUT;
            if (e.code != OB_EINVAL) {
                json_decref(out);
                fprintf(stderr, "overblik decide: %s\n", shown(e.msg));
                worst = exit_code_for(e.code);
                break;
            }
        }
        char *text = json_dumps(out, JSON_COMPACT);
        if (text)
            puts(text);
        free(text);
        json_decref(out);
        fflush(stdout);
    }
    free(r.buf);
    if (in != stdin)
        fclose(in);
    ob_hub_close(h);
    return worst;
}

/* api_uses.c - "Hvad bruges mine data til" (issue 26): GET /Patient/<id>/$uses, the
 * statistics releases and research projects that used the patient's data, and the rule that
 * allowed each, in plain words.
 *
 * Where it comes from:
 *  - statistics: which patients' data went into each release is recorded durably at release
 *    time (store/stats.h, stats_release_patient, in the release's own transaction,
 * kept with the release row); releases made before that are found in their figures' patient sets
 * while retention keeps them (R-STAT-7). The rule is the release's: quality clusters R-STAT-2
 * (Sundhedsloven §42d stk. 2 nr. 2), planning R-STAT-6.
 *  - research: derived from the patient's own access log (every research decision is logged
 *    on the patient, R-LOG-2): the permitted entries whose purpose is research (HRESCH) or a
 *    finding notice (RESEARCHNOTICE), with their rule and legal basis as logged; the project
 *    is the one the entry names (ResearchProject/<id>, logged since issue 26), else the one
 *    current project the researcher belonged to at the time, else "a research project".
 *
 * Who may call it: the patient, and a relative with a current power of attorney; an attorney
 * whose power covers only some categories sees the uses of those categories only. Anyone
 * else gets a 403, logged as a refused read like any other (R-LOG-1); the patient's own call
 * is logged before the answer leaves. The answer is a Parameters resource, one "use" part per
 * use, newest first. */
#include <stdio.h>
#include <string.h>

#include "api/internal.h"
#include "core/alloc.h"
#include "store/log.h"
#include "store/stats.h"

#define LB_OWN      "the patient's own data (Sundhedsloven §42b; GDPR art. 15)"
#define LB_ATTORNEY "power of attorney (Sundhedsloven §37)"
#define STATS_CATS                                                                                 \
    (OB_CAT_BIT(OB_CAT_DIAGNOSIS) | OB_CAT_BIT(OB_CAT_MEASUREMENT) | OB_CAT_BIT(OB_CAT_APPOINTMENT))

typedef struct uses {
    json_t *params; /* the "parameter" array */
    ob_hub *h;
    ob_catmask scope; /* what the caller may be told about */
    size_t n;
} uses;

static json_t *part_s(const char *name, const char *type, const char *v)
{
    return json_pack("{s:s, s:s}", "name", name, type, v ? v : "");
}

static void add_use(uses *u, json_t *parts)
{
    json_array_append_new(u->params, json_pack("{s:s, s:o}", "name", "use", "part", parts));
    u->n++;
}

static ob_status stats_use(void *ctx, const ob_stats_use *s, ob_err *e)
{
    uses *u = ctx;
    if ((u->scope & STATS_CATS) != STATS_CATS)
        return OB_OK; /* an attorney who may not see diagnoses and measurements */
    bool planning = s->scope && strcmp(s->scope, "planning") == 0;
    bool clinic = s->scope && strncmp(s->scope, "clinic:", 7) == 0;
    char when[32], rel[32], title[400], words[700];
    ob_time_format(s->created, when);
    snprintf(rel, sizeof rel, "%lld", (long long)s->release);
    snprintf(title, sizeof title, "%s %s: %s",
             planning ? "Planning statistics for the municipality's group"
             : clinic ? "Quality statistics for your GP clinic, in the cluster"
                      : "Quality statistics of the GP cluster",
             s->cluster ? s->cluster : "", s->filter ? s->filter : "");
    snprintf(words, sizeof words,
             "Your diagnoses, measurements and check-ups were counted, with other patients', in "
             "figures for %s. Only totals left overblik: no name, CPR number or other detail "
             "about you, and figures about fewer than five people were hidden.",
             planning ? "the municipality's planning" : "the GP clinics' quality work");
    json_t *p = json_array();
    json_array_append_new(p, part_s("kind", "valueCode", "statistics"));
    json_array_append_new(p, part_s("date", "valueDateTime", when));
    json_array_append_new(p, part_s("title", "valueString", title));
    json_array_append_new(p, part_s("recipient", "valueString", s->cluster));
    json_array_append_new(p, part_s("release", "valueString", rel));
    json_array_append_new(p, part_s("mode", "valueCode", s->mode));
    json_array_append_new(p, part_s("purpose", "valueCode", planning ? "HOPERAT" : "HQUALIMP"));
    json_array_append_new(p, part_s("rule", "valueCode", planning ? "R-STAT-6" : "R-STAT-2"));
    json_array_append_new(
        p, part_s("legalBasis", "valueString",
                  planning ? "Sundhedsloven §42d stk. 2 (statistics that identify no one)"
                           : "Sundhedsloven §42d stk. 2 nr. 2 (quality work, statistics only)"));
    json_array_append_new(p, part_s("explanation", "valueString", words));
    json_array_append_new(p, json_pack("{s:s, s:b}", "name", "identifiable", "valueBoolean", 0));
    if (s->derived)
        json_array_append_new(
            p, part_s("source", "valueString",
                      "found in the release's kept figures (made before inclusion was recorded)"));
    if (!p)
        return ob_err_set(e, OB_ENOMEM, "out of memory");
    add_use(u, p);
    return OB_OK;
}

/* The project a research entry was about: named in it, else the one current project its
 * researcher belonged to then. NULL when that cannot be told. */
static const ob_project *project_of(const ob_index *ix, const ob_log_entry *le)
{
    if (le->resource && strncmp(le->resource, "ResearchProject/", 16) == 0) {
        uint32_t p = ob_index_find_project(ix, le->resource + 16);
        return p != OB_NONE ? &ix->projects[p] : NULL;
    }
    uint32_t pro = le->actor_id ? ob_index_find_professional(ix, le->actor_id) : OB_NONE;
    const ob_project *found = NULL;
    for (size_t i = 0; pro != OB_NONE && i < ix->nprojects; i++) {
        const ob_project *pr = &ix->projects[i];
        if (le->time < pr->from || (pr->to && le->time > pr->to))
            continue;
        for (uint32_t m = 0; m < pr->nmembers; m++)
            if (pr->members[m] == pro) {
                if (found)
                    return NULL; /* two: which one is not known */
                found = pr;
            }
    }
    return found;
}

static ob_status research_use(void *ctx, const ob_log_record *r, ob_err *e)
{
    uses *u = ctx;
    const ob_log_entry *le = &r->entry;
    bool notice = le->purpose && strcmp(le->purpose, "RESEARCHNOTICE") == 0;
    if (!le->permit || !le->purpose || (strcmp(le->purpose, "HRESCH") != 0 && !notice))
        return OB_OK;
    int cat = le->category ? ob_category_parse(le->category) : -1;
    if (cat < 0 ? u->scope != OB_CAT_ALL : !(u->scope & OB_CAT_BIT(cat)))
        return OB_OK;
    char title[256] = "a research project", pid[128] = "", approval[48] = "";
    pthread_rwlock_rdlock(&u->h->lock); /* the index may grow meanwhile: looked up under it */
    const ob_project *pr = project_of(u->h->ix, le);
    if (pr) {
        snprintf(title, sizeof title, "%s", pr->title ? pr->title : pr->ext_id);
        snprintf(pid, sizeof pid, "%s", pr->ext_id);
        snprintf(approval, sizeof approval, "%s", pr->approval_ref);
    }
    pthread_rwlock_unlock(&u->h->lock);
    char when[32], seq[32], words[600];
    ob_time_format(le->time, when);
    snprintf(seq, sizeof seq, "%llu", (unsigned long long)r->seq);
    if (notice)
        snprintf(words, sizeof words,
                 "A research project found a sign of serious, treatable disease in your data "
                 "and sent it to your own GP, as the law allows.");
    else
        snprintf(words, sizeof words,
                 "A researcher in a research project used your %s data. The law allows it "
                 "with the project's approval and the data controller's permission, or with "
                 "your consent: the rule and legal basis below say which.",
                 le->category ? le->category : "");
    json_t *p = json_array();
    json_array_append_new(p, part_s("kind", "valueCode", "research"));
    json_array_append_new(p, part_s("date", "valueDateTime", when));
    json_array_append_new(p, part_s("title", "valueString", title));
    if (pid[0])
        json_array_append_new(p, part_s("project", "valueString", pid));
    if (approval[0])
        json_array_append_new(p, part_s("approval", "valueString", approval));
    json_array_append_new(p, part_s("recipient", "valueString",
                                    le->actor_org_name ? le->actor_org_name : le->actor_org));
    json_array_append_new(p, part_s("category", "valueCode", le->category));
    json_array_append_new(p, part_s("purpose", "valueCode", le->purpose));
    json_array_append_new(p, part_s("rule", "valueCode", le->rule));
    json_array_append_new(p, part_s("legalBasis", "valueString", le->legal_basis));
    json_array_append_new(p, part_s("explanation", "valueString", words));
    if (le->reason)
        json_array_append_new(p, part_s("reason", "valueString", le->reason));
    json_array_append_new(p, part_s("auditEvent", "valueString", seq));
    if (!p)
        return ob_err_set(e, OB_ENOMEM, "out of memory");
    add_use(u, p);
    return OB_OK;
}

/* The categories a citizen may be told about for patient: all (the patient), the scope of a
 * current power of attorney, or none. */
static ob_catmask scope_of(const ob_index *ix, const ob_caller *c, uint32_t patient)
{
    if (c->kind != OB_ACTOR_CITIZEN || patient >= ix->npatients)
        return 0;
    if (c->actor == patient)
        return OB_CAT_ALL;
    ob_catmask m = 0;
    const ob_patient *p = &ix->patients[patient];
    for (uint16_t i = 0; i < p->nattorneys; i++) {
        const ob_attorney *a = &p->attorneys[i];
        if (a->holder == c->actor && a->from <= c->now && c->now <= a->to)
            m |= a->scope;
    }
    return m;
}

ob_status ob_api_uses(ob_hub *h, const ob_caller *c, const ob_api_request *rq, const char *id,
                      ob_api_response *out, ob_err *e)
{
    if (strcmp(rq->method, "GET") != 0) {
        ob_api_outcome(out, 405, "not-supported", "$uses is called with GET");
        return OB_OK;
    }
    char pext[160];
    pthread_rwlock_rdlock(&h->lock);
    uint32_t pat = ob_index_find_patient(h->ix, id);
    ob_catmask scope = pat != OB_NONE ? scope_of(h->ix, c, pat) : 0;
    snprintf(pext, sizeof pext, "%s", pat != OB_NONE ? h->ix->patients[pat].ext_id : "");
    pthread_rwlock_unlock(&h->lock);
    ob_api_read_log lr = {
        .patient = pat, .permit = scope != 0, .rule = "R-ACC-9", .category = "Patient/$uses"};
    bool self = c->kind == OB_ACTOR_CITIZEN && c->actor == pat;
    lr.capacity = self ? OB_CAP_CITIZEN : scope ? OB_CAP_ATTORNEY : OB_CAP_PROFESSIONAL;
    lr.legal_basis = self ? LB_OWN : scope ? LB_ATTORNEY : "none";
    lr.reason = self    ? "patients see what their data was used for"
                : scope ? "the power of attorney covers the data whose use is shown"
                        : "only the patient, or a relative with power of attorney, sees what "
                          "the patient's data was used for";
    uint64_t seq;
    if (!scope) { /* hidden and absent alike: 403; a refusal about a patient is logged */
        if (pat != OB_NONE && ob_api_log_read(h, c, &lr, &seq, e)) {
            ob_api_log_failed(out);
            return OB_OK;
        }
        ob_api_outcome(out, 403, "forbidden",
                       "only the patient, or a relative with power of attorney, sees what the "
                       "patient's data was used for");
        return OB_OK;
    }
    uses u = {json_array(), h, scope, 0};
    if (!u.params)
        return ob_err_set(e, OB_ENOMEM, "out of memory");
    ob_err qe = {0};
    ob_stats_db *db = NULL;
    ob_status rc = ob_stats_db_open(h->store, &db, &qe);
    if (rc == OB_OK)
        rc = ob_stats_db_uses(db, pat, stats_use, &u, &qe);
    if (rc == OB_OK) {
        ob_log_query q = {.patient = pext, .newest_first = true};
        rc = ob_alog_each(h->db_path, &q, research_use, &u, &qe);
    }
    ob_stats_db_close(db);
    if (rc != OB_OK) {
        json_decref(u.params);
        ob_api_outcome(out, 500, "exception",
                       "what the data was used for could not be read; try again");
        return OB_OK;
    }
    lr.resource = "Patient/$uses";
    if (ob_api_log_read(h, c, &lr, &seq, e)) {
        json_decref(u.params);
        ob_api_log_failed(out);
        return OB_OK;
    }
    out->status = 200;
    out->body = json_pack("{s:s, s:o}", "resourceType", "Parameters", "parameter", u.params);
    return OB_OK;
}

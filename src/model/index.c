/* index.c - the in-memory index (see index.h). Arrays grow by doubling; per-patient
 * vectors are small and owned by the patient entry. */
#include "model/index.h"

#include <string.h>

#include "core/alloc.h"

/* Block and consent ids (index.h): the map borrows its keys, so each id is kept in a
 * chunk that never moves. */
struct ob_id_chunk {
    struct ob_id_chunk *next;
    size_t n;
    uint64_t v[1024];
};

ob_index *ob_index_new(void)
{
    ob_index *ix = ob_calloc(1, sizeof *ix);
    if (!ix)
        return NULL;
    ix->org_ids = ob_map_new();
    ix->pro_ids = ob_map_new();
    ix->patient_ids = ob_map_new();
    ix->project_ids = ob_map_new();
    ix->cpr_ids = ob_map_new();
    ix->cluster_ids = ob_map_new();
    ix->block_ids = ob_map_new();
    ix->consent_ids = ob_map_new();
    if (!ix->org_ids || !ix->pro_ids || !ix->patient_ids || !ix->project_ids || !ix->cpr_ids ||
        !ix->cluster_ids || !ix->block_ids || !ix->consent_ids) {
        ob_index_free(ix);
        return NULL;
    }
    ob_index_necessity_defaults(ix);
    return ix;
}

void ob_index_necessity_defaults(ob_index *ix)
{
#define C(x) OB_CAT_BIT(OB_CAT_##x)
    /* what the course of treatment each kind stands for needs (docs/decisions.md) */
    const ob_catmask all = OB_CAT_ALL;
    const ob_catmask community = (ob_catmask)(all & ~C(CLINICAL_NOTE));
    const ob_catmask rehab = C(APPOINTMENT) | C(DIAGNOSIS) | C(MEDICATION) | C(LAB_RESULT) |
                             C(MEASUREMENT) | C(DISCHARGE_SUMMARY);
    /* professions that treat one part of the body or one course: no notes, discharge
     * summaries or treatment wills of the whole record */
    const ob_catmask focused = C(APPOINTMENT) | C(DIAGNOSIS) | C(MEDICATION) | C(LAB_RESULT) |
                               C(MEASUREMENT) | C(VACCINATION);
#undef C
    for (int k = 0; k < OB_REL_KIND_COUNT; k++) {
        ob_catmask m = k == OB_REL_HOME_NURSING     ? community
                       : k == OB_REL_REHABILITATION ? rehab
                                                    : all;
        for (int r = 0; r < OB_ROLE_COUNT; r++) {
            bool narrow = r == OB_ROLE_MIDWIFE || r == OB_ROLE_PHYSIOTHERAPIST ||
                          r == OB_ROLE_DENTIST || r == OB_ROLE_OTHER_AUTHORISED;
            ix->necessary[k][r] = narrow ? (ob_catmask)(m & focused) : m;
        }
    }
}

void ob_index_free(ob_index *ix)
{
    if (!ix)
        return;
    for (size_t i = 0; i < ix->norgs; i++) {
        ob_free(ix->orgs[i].ext_id);
        ob_free(ix->orgs[i].name);
        ob_free(ix->orgs[i].address);
    }
    for (size_t i = 0; i < ix->npros; i++) {
        ob_free(ix->pros[i].ext_id);
        ob_free(ix->pros[i].name);
        ob_free(ix->pro_perms[i].v);
    }
    for (size_t i = 0; i < ix->npatients; i++) {
        ob_patient *p = &ix->patients[i];
        ob_free(p->ext_id);
        ob_free(p->name);
        ob_free(p->rels);
        ob_free(p->blocks);
        ob_free(p->consents);
        ob_free(p->old_blocks);
        ob_free(p->old_consents);
        ob_free(p->attorneys);
        ob_free(p->disclosures);
    }
    for (size_t i = 0; i < ix->nprojects; i++) {
        ob_free(ix->projects[i].ext_id);
        ob_free(ix->projects[i].title);
        ob_free(ix->projects[i].members);
    }
    for (size_t i = 0; i < ix->nclusters; i++) {
        ob_free(ix->clusters[i].ext_id);
        ob_free(ix->clusters[i].name);
        ob_free(ix->clusters[i].members);
        ob_free(ix->clusters[i].coordinators);
    }
    ob_free(ix->clusters);
    ob_map_free(ix->cluster_ids);
    for (size_t i = 0; i < ix->nsources; i++) {
        ob_free(ix->sources[i].client_id);
        ob_free(ix->sources[i].name);
    }
    ob_free(ix->sources);
    ob_free(ix->orgs);
    ob_free(ix->pros);
    ob_free(ix->pro_perms);
    ob_free(ix->patients);
    ob_free(ix->projects);
    ob_free(ix->covers);
    ob_free(ix->criteria);
    ob_map_free(ix->org_ids);
    ob_map_free(ix->pro_ids);
    ob_map_free(ix->patient_ids);
    ob_map_free(ix->project_ids);
    ob_map_free(ix->cpr_ids);
    ob_map_free(ix->block_ids);
    ob_map_free(ix->consent_ids);
    while (ix->id_keys) {
        struct ob_id_chunk *c = ix->id_keys;
        ix->id_keys = c->next;
        ob_free(c);
    }
    ob_free(ix);
}

static ob_status nomem(ob_err *e)
{
    return ob_err_set(e, OB_ENOMEM, "out of memory while indexing");
}

/* cpr_ids borrows its keys from the patients array: after the array moved, re-key the
 * map on the new copy (amortised O(1) per patient: the array doubles). */
static int rekey_cpr(ob_index *ix)
{
    static const uint8_t zero[16];
    if (ob_map_count(ix->cpr_ids) == 0)
        return 0;
    ob_map *m = ob_map_new();
    if (!m)
        return -1;
    for (size_t i = 0; i < ix->npatients; i++)
        if (memcmp(ix->patients[i].cpr_hash, zero, 16) != 0 &&
            ob_map_put(m, ix->patients[i].cpr_hash, 16, (uint32_t)i) < 0) {
            ob_map_free(m);
            return -1;
        }
    ob_map_free(ix->cpr_ids);
    ix->cpr_ids = m;
    return 0;
}

ob_status ob_index_reserve(ob_index *ix, size_t orgs, size_t pros, size_t patients, ob_err *e)
{
    if (ob_grow((void **)&ix->orgs, &ix->caporgs, orgs, sizeof *ix->orgs) < 0)
        return nomem(e);
    size_t cap = ix->cappros;
    if (ob_grow((void **)&ix->pros, &ix->cappros, pros, sizeof *ix->pros) < 0 ||
        ob_grow((void **)&ix->pro_perms, &cap, pros, sizeof *ix->pro_perms) < 0)
        return nomem(e);
    ob_patient *before = ix->patients;
    if (ob_grow((void **)&ix->patients, &ix->cappatients, patients, sizeof *ix->patients) < 0)
        return nomem(e);
    if (ix->patients != before && rekey_cpr(ix) < 0)
        return nomem(e);
    return OB_OK;
}

static ob_status check_ext(ob_map *m, const char *ext_id, const char *what, ob_err *e)
{
    if (!ext_id || !*ext_id)
        return ob_err_set(e, OB_EINVAL, "%s has no id", what);
    if (strlen(ext_id) > 128)
        return ob_err_set(e, OB_EINVAL, "%s id is longer than 128 characters", what);
    if (ob_map_get(m, ext_id, strlen(ext_id)) != OB_NONE)
        return ob_err_set(e, OB_EINVAL, "%s id '%s' is already used", what, ext_id);
    return OB_OK;
}

/* Copies up to three strings (c may be NULL for two); all or none. */
static int dup3(char **a, const char *sa, char **b, const char *sb, char **c, const char *sc)
{
    *a = ob_strdup(sa ? sa : "");
    *b = ob_strdup(sb ? sb : "");
    char *cc = c ? ob_strdup(sc ? sc : "") : NULL;
    if (!*a || !*b || (c && !cc)) {
        ob_free(*a);
        ob_free(*b);
        ob_free(cc);
        *a = *b = NULL;
        return -1;
    }
    if (c)
        *c = cc;
    return 0;
}

ob_status ob_index_add_org(ob_index *ix, const ob_org *o, uint32_t *id, ob_err *e)
{
    ob_status st = check_ext(ix->org_ids, o->ext_id, "organisation", e);
    if (st)
        return st;
    if (o->parent != OB_NONE && o->parent >= ix->norgs)
        return ob_err_set(e, OB_EINVAL, "organisation '%s' has an unknown parent", o->ext_id);
    if (o->kind >= OB_ORG_KIND_COUNT || o->sector >= OB_SECTOR_COUNT)
        return ob_err_set(e, OB_EINVAL, "organisation '%s' has a bad kind or sector", o->ext_id);
    if (ob_grow((void **)&ix->orgs, &ix->caporgs, ix->norgs + 1, sizeof *ix->orgs) < 0)
        return nomem(e);
    ob_org *n = &ix->orgs[ix->norgs];
    *n = *o;
    if (dup3(&n->ext_id, o->ext_id, &n->name, o->name, &n->address, o->address) < 0)
        return nomem(e);
    n->depth = o->parent == OB_NONE ? 0 : (uint8_t)(ix->orgs[o->parent].depth + 1);
    if (n->depth > 16) {
        ob_free(n->ext_id);
        ob_free(n->name);
        ob_free(n->address);
        return ob_err_set(e, OB_EINVAL, "organisation tree deeper than 16 levels");
    }
    uint32_t nid = (uint32_t)ix->norgs;
    if (ob_map_put(ix->org_ids, n->ext_id, strlen(n->ext_id), nid) < 0) {
        ob_free(n->ext_id);
        ob_free(n->name);
        ob_free(n->address);
        return nomem(e);
    }
    ix->norgs++;
    if (id)
        *id = nid;
    return OB_OK;
}

ob_status ob_index_add_professional(ob_index *ix, const ob_professional *p, uint32_t *id, ob_err *e)
{
    ob_status st = check_ext(ix->pro_ids, p->ext_id, "professional", e);
    if (st)
        return st;
    if (p->role >= OB_ROLE_COUNT || p->nsites > 8)
        return ob_err_set(e, OB_EINVAL, "professional '%s' has a bad role or too many sites",
                          p->ext_id);
    for (unsigned i = 0; i < p->nsites; i++)
        if (p->sites[i] >= ix->norgs)
            return ob_err_set(e, OB_EINVAL, "professional '%s' works at an unknown site",
                              p->ext_id);
    size_t cap = ix->cappros;
    if (ob_grow((void **)&ix->pros, &ix->cappros, ix->npros + 1, sizeof *ix->pros) < 0 ||
        ob_grow((void **)&ix->pro_perms, &cap, ix->npros + 1, sizeof *ix->pro_perms) < 0)
        return nomem(e);
    ob_professional *n = &ix->pros[ix->npros];
    *n = *p;
    if (dup3(&n->ext_id, p->ext_id, &n->name, p->name, NULL, NULL) < 0)
        return nomem(e);
    uint32_t nid = (uint32_t)ix->npros;
    if (ob_map_put(ix->pro_ids, n->ext_id, strlen(n->ext_id), nid) < 0) {
        ob_free(n->ext_id);
        ob_free(n->name);
        return nomem(e);
    }
    memset(&ix->pro_perms[nid], 0, sizeof ix->pro_perms[nid]);
    ix->npros++;
    if (id)
        *id = nid;
    return OB_OK;
}

ob_status ob_index_add_patient(ob_index *ix, const ob_patient *p, uint32_t *id, ob_err *e)
{
    ob_status st = check_ext(ix->patient_ids, p->ext_id, "patient", e);
    if (st)
        return st;
    if (p->gp_clinic != OB_NONE && p->gp_clinic >= ix->norgs)
        return ob_err_set(e, OB_EINVAL, "patient '%s' is listed at an unknown clinic", p->ext_id);
    static const uint8_t zero[16];
    bool has_cpr = memcmp(p->cpr_hash, zero, 16) != 0;
    if (has_cpr && ob_map_get(ix->cpr_ids, p->cpr_hash, 16) != OB_NONE)
        return ob_err_set(e, OB_EINVAL, "patient '%s' has a CPR number already registered",
                          p->ext_id);
    ob_patient *before = ix->patients;
    if (ob_grow((void **)&ix->patients, &ix->cappatients, ix->npatients + 1, sizeof *ix->patients) <
        0)
        return nomem(e);
    if (ix->patients != before && rekey_cpr(ix) < 0)
        return nomem(e);
    ob_patient *n = &ix->patients[ix->npatients];
    memset(n, 0, sizeof *n);
    memcpy(n->cpr_hash, p->cpr_hash, 16);
    n->gp_clinic = p->gp_clinic;
    n->birth = p->birth;
    if (dup3(&n->ext_id, p->ext_id, &n->name, p->name, NULL, NULL) < 0)
        return nomem(e);
    uint32_t nid = (uint32_t)ix->npatients;
    if (ob_map_put(ix->patient_ids, n->ext_id, strlen(n->ext_id), nid) < 0 ||
        (has_cpr && ob_map_put(ix->cpr_ids, n->cpr_hash, 16, nid) < 0)) {
        ob_free(n->ext_id);
        ob_free(n->name);
        return nomem(e);
    }
    ix->npatients++;
    if (id)
        *id = nid;
    return OB_OK;
}

ob_status ob_index_add_project(ob_index *ix, const ob_project *p, uint32_t *id, ob_err *e)
{
    ob_status st = check_ext(ix->project_ids, p->ext_id, "research project", e);
    if (st)
        return st;
    for (uint32_t i = 0; i < p->nmembers; i++)
        if (p->members[i] >= ix->npros)
            return ob_err_set(e, OB_EINVAL, "project '%s' has an unknown member", p->ext_id);
    for (uint32_t i = 0; i < p->ngps; i++)
        if (p->gps[i] >= ix->norgs || ix->orgs[p->gps[i]].kind != OB_ORG_GP_CLINIC)
            return ob_err_set(e, OB_EINVAL, "project '%s': a GP permission names no GP clinic",
                              p->ext_id);
    if (ob_grow((void **)&ix->projects, &ix->capprojects, ix->nprojects + 1, sizeof *ix->projects) <
        0)
        return nomem(e);
    ob_project *n = &ix->projects[ix->nprojects];
    *n = *p;
    n->members = ob_calloc(p->nmembers + p->ngps ? p->nmembers + p->ngps : 1, sizeof *n->members);
    if (!n->members)
        return nomem(e);
    if (p->nmembers)
        memcpy(n->members, p->members, p->nmembers * sizeof *n->members);
    n->gps = n->members + p->nmembers;
    if (p->ngps)
        memcpy(n->gps, p->gps, p->ngps * sizeof *n->gps);
    if (dup3(&n->ext_id, p->ext_id, &n->title, p->title, NULL, NULL) < 0) {
        ob_free(n->members);
        return nomem(e);
    }
    uint32_t nid = (uint32_t)ix->nprojects;
    if (ob_map_put(ix->project_ids, n->ext_id, strlen(n->ext_id), nid) < 0) {
        ob_free(n->members);
        ob_free(n->ext_id);
        ob_free(n->title);
        return nomem(e);
    }
    ix->nprojects++;
    if (id)
        *id = nid;
    return OB_OK;
}

static ob_status claim_id(ob_index *ix, ob_map *m, const char *what, uint64_t id, uint32_t patient,
                          ob_err *e)
{
    if (ob_map_get(m, &id, sizeof id) != OB_NONE)
        return ob_err_set(e, OB_EINVAL,
                          "%s id %llu is already used (ids are unique across all patients)", what,
                          (unsigned long long)id);
    struct ob_id_chunk *c = ix->id_keys;
    if (!c || c->n == sizeof c->v / sizeof c->v[0]) {
        c = ob_calloc(1, sizeof *c);
        if (!c)
            return nomem(e);
        c->next = ix->id_keys;
        ix->id_keys = c;
    }
    c->v[c->n] = id;
    if (ob_map_put(m, &c->v[c->n], sizeof id, patient) < 0)
        return nomem(e);
    c->n++;
    return OB_OK;
}

uint32_t ob_index_block_owner(const ob_index *ix, uint64_t id)
{
    return ob_map_get(ix->block_ids, &id, sizeof id);
}

uint32_t ob_index_consent_owner(const ob_index *ix, uint64_t id)
{
    return ob_map_get(ix->consent_ids, &id, sizeof id);
}

/* Appends one element to a vector whose count and capacity may not pass max: the engine's
 * per-patient arrays (16-bit) and the histories (32-bit) share it. */
static int push_capped(void **v, size_t *n, size_t *cap, size_t max, size_t first, const void *elem,
                       size_t size)
{
    if (*n == max)
        return -1;
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : first;
        if (ncap > max)
            ncap = max;
        void *nv = ob_realloc(*v, ncap * size);
        if (!nv)
            return -1;
        *v = nv;
        *cap = ncap;
    }
    memcpy((char *)*v + *n * size, elem, size);
    (*n)++;
    return 0;
}

/* Appends one element to a per-patient vector with 16-bit count and capacity. */
static int push16(void **v, uint16_t *n, uint16_t *cap, const void *elem, size_t size)
{
    size_t n_ = *n, cap_ = *cap;
    int rc = push_capped(v, &n_, &cap_, UINT16_MAX, 2, elem, size);
    *n = (uint16_t)n_;
    *cap = (uint16_t)cap_;
    return rc;
}

static ob_status check_patient(const ob_index *ix, uint32_t patient, ob_err *e)
{
    if (patient >= ix->npatients)
        return ob_err_set(e, OB_EINVAL, "unknown patient");
    return OB_OK;
}

static ob_status check_period(ob_time from, ob_time to, ob_err *e)
{
    if (to < from)
        return ob_err_set(e, OB_EINVAL, "period ends before it starts");
    return OB_OK;
}

ob_relationship *ob_index_current_listing(const ob_index *ix, uint32_t patient, ob_time t)
{
    if (patient >= ix->npatients)
        return NULL;
    const ob_patient *p = &ix->patients[patient];
    ob_relationship *cur = NULL;
    for (uint16_t i = 0; i < p->nrels; i++) {
        ob_relationship *r = &p->rels[i];
        if (r->kind == OB_REL_LISTED && r->to >= t && (!cur || r->from > cur->from))
            cur = r;
    }
    return cur;
}

ob_status ob_index_add_relationship(ob_index *ix, uint32_t patient, const ob_relationship *r,
                                    ob_err *e)
{
    ob_status st = check_patient(ix, patient, e);
    if (st || (st = check_period(r->from, r->to, e)))
        return st;
    if (r->org >= ix->norgs || (r->professional != OB_NONE && r->professional >= ix->npros) ||
        r->kind >= OB_REL_KIND_COUNT)
        return ob_err_set(e, OB_EINVAL, "relationship names an unknown site or professional");
    ob_patient *p = &ix->patients[patient];
    /* the same relationship again (a source's update, an end event as a record with an
     * end): its end replaces the old one, so there is never a second grant. Another event
     * that happens to start the same day at the same site is another relationship: merged,
     * it would carry the first event's key and the second could never be ended by its own */
    for (uint16_t i = 0; i < p->nrels; i++)
        if (p->rels[i].org == r->org && p->rels[i].professional == r->professional &&
            p->rels[i].kind == r->kind && p->rels[i].from == r->from &&
            p->rels[i].event == r->event) {
            p->rels[i].to = r->to;
            return OB_OK;
        }
    if (push16((void **)&p->rels, &p->nrels, &p->caprels, r, sizeof *r) < 0)
        return nomem(e);
    return OB_OK;
}

ob_status ob_index_add_block(ob_index *ix, uint32_t patient, const ob_block *b, ob_err *e)
{
    ob_status st = check_patient(ix, patient, e);
    if (st || (st = check_period(b->valid_from, b->valid_to, e)) ||
        (st = check_period(b->data_from, b->data_to, e)))
        return st;
    if (b->kind >= OB_BLOCK_KIND_COUNT ||
        (b->kind == OB_BLOCK_PROFESSIONAL && b->target >= ix->npros) ||
        (b->kind == OB_BLOCK_SITE && b->target >= ix->norgs))
        return ob_err_set(e, OB_EINVAL, "block names an unknown professional or site");
    if ((st = claim_id(ix, ix->block_ids, "block", b->id, patient, e)))
        return st;
    ob_patient *p = &ix->patients[patient];
    if (push16((void **)&p->blocks, &p->nblocks, &p->capblocks, b, sizeof *b) < 0)
        return nomem(e);
    return OB_OK;
}

ob_status ob_index_add_consent(ob_index *ix, uint32_t patient, const ob_consent *c, ob_err *e)
{
    ob_status st = check_patient(ix, patient, e);
    if (st || (st = check_period(c->from, c->to, e)))
        return st;
    if (c->kind >= OB_CONSENT_KIND_COUNT)
        return ob_err_set(e, OB_EINVAL, "consent has an unknown kind");
    if ((st = claim_id(ix, ix->consent_ids, "consent", c->id, patient, e)))
        return st;
    ob_patient *p = &ix->patients[patient];
    if (push16((void **)&p->consents, &p->nconsents, &p->capconsents, c, sizeof *c) < 0)
        return nomem(e);
    return OB_OK;
}

ob_status ob_index_add_attorney(ob_index *ix, uint32_t patient, const ob_attorney *a, ob_err *e)
{
    ob_status st = check_patient(ix, patient, e);
    if (st || (st = check_period(a->from, a->to, e)))
        return st;
    if (a->holder >= ix->npatients || a->holder == patient)
        return ob_err_set(e, OB_EINVAL, "power of attorney names an unknown holder");
    ob_patient *p = &ix->patients[patient];
    for (uint16_t i = 0; i < p->nattorneys; i++) /* the same one again: replaced */
        if (p->attorneys[i].holder == a->holder && p->attorneys[i].capacity == a->capacity &&
            p->attorneys[i].from == a->from) {
            p->attorneys[i] = *a;
            return OB_OK;
        }
    if (push16((void **)&p->attorneys, &p->nattorneys, &p->capattorneys, a, sizeof *a) < 0)
        return nomem(e);
    return OB_OK;
}

ob_status ob_index_add_disclosure(ob_index *ix, uint32_t patient, const ob_disclosure *d, ob_err *e)
{
    ob_status st = check_patient(ix, patient, e);
    if (st)
        return st;
    if (d->to_org >= ix->norgs || d->origin_org >= ix->norgs || d->from_professional >= ix->npros)
        return ob_err_set(e, OB_EINVAL, "disclosure names an unknown site or professional");
    ob_patient *p = &ix->patients[patient];
    if (push16((void **)&p->disclosures, &p->ndisclosures, &p->capdisclosures, d, sizeof *d) < 0)
        return nomem(e);
    return OB_OK;
}

ob_status ob_index_add_permission(ob_index *ix, const ob_permission *p, ob_err *e)
{
    ob_status st = check_period(p->from, p->to, e);
    if (st)
        return st;
    if (p->professional >= ix->npros || p->site >= ix->norgs || p->kind >= OB_PERM_KIND_COUNT)
        return ob_err_set(e, OB_EINVAL, "permission names an unknown professional or site");
    ob_perm_list *l = &ix->pro_perms[p->professional];
    for (uint32_t i = 0; i < l->n; i++) /* the same one again: replaced */
        if (l->v[i].site == p->site && l->v[i].kind == p->kind && l->v[i].from == p->from) {
            l->v[i] = *p;
            return OB_OK;
        }
    size_t cap = l->cap;
    if (ob_grow((void **)&l->v, &cap, l->n + 1, sizeof *l->v) < 0)
        return nomem(e);
    l->cap = (uint32_t)cap;
    l->v[l->n++] = *p;
    return OB_OK;
}

ob_status ob_index_add_criteria(ob_index *ix, const ob_criteria *c, ob_err *e)
{
    ob_status st = check_period(c->from, c->to, e);
    if (st)
        return st;
    if (c->site >= ix->norgs || (c->org != OB_NONE && c->org >= ix->norgs) ||
        c->role > OB_ROLE_COUNT)
        return ob_err_set(e, OB_EINVAL, "criteria name an unknown site, organisation or role");
    if (ob_grow((void **)&ix->criteria, &ix->capcriteria, ix->ncriteria + 1, sizeof *ix->criteria) <
        0)
        return nomem(e);
    ix->criteria[ix->ncriteria++] = *c;
    return OB_OK;
}

ob_status ob_index_add_cover(ob_index *ix, const ob_cover *c, ob_err *e)
{
    ob_status st = check_period(c->from, c->to, e);
    if (st)
        return st;
    if (c->substitute >= ix->norgs || c->covered >= ix->norgs)
        return ob_err_set(e, OB_EINVAL, "cover names an unknown clinic");
    if (ob_grow((void **)&ix->covers, &ix->capcovers, ix->ncovers + 1, sizeof *ix->covers) < 0)
        return nomem(e);
    ix->covers[ix->ncovers++] = *c;
    return OB_OK;
}

static uint32_t find(const ob_map *m, const char *ext_id)
{
    return ext_id ? ob_map_get(m, ext_id, strlen(ext_id)) : OB_NONE;
}

uint32_t ob_index_find_org(const ob_index *ix, const char *ext_id)
{
    return find(ix->org_ids, ext_id);
}

uint32_t ob_index_find_professional(const ob_index *ix, const char *ext_id)
{
    return find(ix->pro_ids, ext_id);
}

uint32_t ob_index_find_patient(const ob_index *ix, const char *ext_id)
{
    return find(ix->patient_ids, ext_id);
}

uint32_t ob_index_find_project(const ob_index *ix, const char *ext_id)
{
    return find(ix->project_ids, ext_id);
}

uint32_t ob_index_find_cluster(const ob_index *ix, const char *ext_id)
{
    return find(ix->cluster_ids, ext_id);
}

ob_status ob_index_put_cluster(ob_index *ix, const ob_cluster *c, uint32_t *id, ob_err *e)
{
    for (uint32_t i = 0; i < c->nmembers; i++)
        if (c->members[i] >= ix->norgs)
            return ob_err_set(e, OB_EINVAL, "cluster '%s' has an unknown member", c->ext_id);
    for (uint32_t i = 0; i < c->ncoordinators; i++)
        if (c->coordinators[i] >= ix->npros)
            return ob_err_set(e, OB_EINVAL, "cluster '%s' has an unknown coordinator", c->ext_id);
    ob_cluster n = *c;
    n.members = ob_calloc(c->nmembers ? c->nmembers : 1, sizeof *n.members);
    n.coordinators = ob_calloc(c->ncoordinators ? c->ncoordinators : 1, sizeof *n.coordinators);
    n.ext_id = ob_strdup(c->ext_id);
    n.name = ob_strdup(c->name ? c->name : c->ext_id);
    if (!n.members || !n.coordinators || !n.ext_id || !n.name)
        goto nomem;
    if (c->nmembers)
        memcpy(n.members, c->members, c->nmembers * sizeof *n.members);
    if (c->ncoordinators)
        memcpy(n.coordinators, c->coordinators, c->ncoordinators * sizeof *n.coordinators);
    uint32_t old = find(ix->cluster_ids, c->ext_id);
    if (old != OB_NONE) { /* a new agreement for an existing cluster */
        ob_cluster *o = &ix->clusters[old];
        ob_free(n.ext_id);
        n.ext_id = o->ext_id;
        ob_free(o->name);
        ob_free(o->members);
        ob_free(o->coordinators);
        *o = n;
        if (id)
            *id = old;
        return OB_OK;
    }
    if (ob_grow((void **)&ix->clusters, &ix->capclusters, ix->nclusters + 1, sizeof *ix->clusters) <
        0)
        goto nomem;
    uint32_t nid = (uint32_t)ix->nclusters;
    if (ob_map_put(ix->cluster_ids, n.ext_id, strlen(n.ext_id), nid) < 0)
        goto nomem;
    ix->clusters[ix->nclusters++] = n;
    if (id)
        *id = nid;
    return OB_OK;
nomem:
    ob_free(n.members);
    ob_free(n.coordinators);
    ob_free(n.ext_id);
    ob_free(n.name);
    return nomem(e);
}

uint32_t ob_index_find_patient_by_cpr_hash(const ob_index *ix, const uint8_t hash[16])
{
    return ob_map_get(ix->cpr_ids, hash, 16);
}

ob_block *ob_index_find_block(ob_index *ix, uint32_t patient, uint64_t id)
{
    if (patient >= ix->npatients)
        return NULL;
    ob_patient *p = &ix->patients[patient];
    for (uint16_t i = 0; i < p->nblocks; i++)
        if (p->blocks[i].id == id)
            return &p->blocks[i];
    for (uint32_t i = 0; i < p->nold_blocks; i++)
        if (p->old_blocks[i].id == id)
            return &p->old_blocks[i];
    return NULL;
}

ob_consent *ob_index_find_consent(ob_index *ix, uint32_t patient, uint64_t id)
{
    if (patient >= ix->npatients)
        return NULL;
    ob_patient *p = &ix->patients[patient];
    for (uint16_t i = 0; i < p->nconsents; i++)
        if (p->consents[i].id == id)
            return &p->consents[i];
    for (uint32_t i = 0; i < p->nold_consents; i++)
        if (p->old_consents[i].id == id)
            return &p->old_consents[i];
    return NULL;
}

/* Appends elem to a history vector (32-bit counts: history is as long as the store's). */
static int push32(void **v, uint32_t *n, uint32_t *cap, const void *elem, size_t size)
{
    size_t n_ = *n, cap_ = *cap;
    int rc = push_capped(v, &n_, &cap_, UINT32_MAX, 4, elem, size);
    *n = (uint32_t)n_;
    *cap = (uint32_t)cap_;
    return rc;
}

/* Moves element i of a 16-bit active vector to a history vector; keeps the order of the
 * others (the Consent list shows them in the order they came). */
static ob_status retire(void *v, uint16_t *n, uint16_t i, void **old, uint32_t *nold,
                        uint32_t *capold, size_t size, ob_err *e)
{
    char *a = v;
    if (push32(old, nold, capold, a + (size_t)i * size, size) < 0)
        return nomem(e);
    memmove(a + (size_t)i * size, a + (size_t)(i + 1) * size, (size_t)(*n - i - 1) * size);
    (*n)--;
    return OB_OK;
}

ob_status ob_index_retire_block(ob_index *ix, uint32_t patient, uint64_t id, ob_err *e)
{
    ob_status st = check_patient(ix, patient, e);
    if (st)
        return st;
    ob_patient *p = &ix->patients[patient];
    for (uint16_t i = 0; i < p->nblocks; i++)
        if (p->blocks[i].id == id)
            return retire(p->blocks, &p->nblocks, i, (void **)&p->old_blocks, &p->nold_blocks,
                          &p->capold_blocks, sizeof *p->blocks, e);
    return ob_err_set(e, OB_ENOTFOUND, "the patient has no active block %llu",
                      (unsigned long long)id);
}

ob_status ob_index_retire_consent(ob_index *ix, uint32_t patient, uint64_t id, ob_err *e)
{
    ob_status st = check_patient(ix, patient, e);
    if (st)
        return st;
    ob_patient *p = &ix->patients[patient];
    for (uint16_t i = 0; i < p->nconsents; i++)
        if (p->consents[i].id == id)
            return retire(p->consents, &p->nconsents, i, (void **)&p->old_consents,
                          &p->nold_consents, &p->capold_consents, sizeof *p->consents, e);
    return ob_err_set(e, OB_ENOTFOUND, "the patient has no active consent %llu",
                      (unsigned long long)id);
}

bool ob_index_unretire_block(ob_index *ix, uint32_t patient, uint64_t id)
{
    if (patient >= ix->npatients)
        return false;
    ob_patient *p = &ix->patients[patient];
    if (!p->nold_blocks || p->old_blocks[p->nold_blocks - 1].id != id)
        return false;
    if (push16((void **)&p->blocks, &p->nblocks, &p->capblocks, &p->old_blocks[p->nold_blocks - 1],
               sizeof *p->blocks) < 0)
        return false;
    p->nold_blocks--;
    return true;
}

bool ob_index_unretire_consent(ob_index *ix, uint32_t patient, uint64_t id)
{
    if (patient >= ix->npatients)
        return false;
    ob_patient *p = &ix->patients[patient];
    if (!p->nold_consents || p->old_consents[p->nold_consents - 1].id != id)
        return false;
    if (push16((void **)&p->consents, &p->nconsents, &p->capconsents,
               &p->old_consents[p->nold_consents - 1], sizeof *p->consents) < 0)
        return false;
    p->nold_consents--;
    return true;
}

ob_attorney *ob_index_current_attorney(ob_index *ix, uint32_t patient, uint32_t holder, ob_time at)
{
    if (patient >= ix->npatients)
        return NULL;
    ob_patient *p = &ix->patients[patient];
    for (uint16_t i = 0; i < p->nattorneys; i++)
        if (p->attorneys[i].holder == holder && p->attorneys[i].from <= at &&
            at <= p->attorneys[i].to)
            return &p->attorneys[i];
    return NULL;
}

uint64_t ob_event_key(const char *text)
{
    uint64_t h = 1469598103934665603ull;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return h ? h : 1;
}

ob_relationship *ob_index_relationship_by_event(ob_index *ix, uint32_t patient, uint64_t event)
{
    if (patient >= ix->npatients || !event)
        return NULL;
    ob_patient *p = &ix->patients[patient];
    for (uint16_t i = p->nrels; i-- > 0;)
        if (p->rels[i].event == event)
            return &p->rels[i];
    return NULL;
}

ob_relationship *ob_index_current_relationship(ob_index *ix, uint32_t patient, uint32_t org,
                                               uint32_t pro, int kind, ob_time at)
{
    if (patient >= ix->npatients)
        return NULL;
    ob_patient *p = &ix->patients[patient];
    for (uint16_t i = 0; i < p->nrels; i++) {
        ob_relationship *r = &p->rels[i];
        if (r->org == org && r->professional == pro && (kind < 0 || r->kind == kind) &&
            r->from <= at && at <= r->to)
            return r;
    }
    return NULL;
}

ob_permission *ob_index_current_permission(ob_index *ix, uint32_t pro, uint32_t site, uint8_t kind,
                                           ob_time at)
{
    if (pro >= ix->npros)
        return NULL;
    ob_perm_list *l = &ix->pro_perms[pro];
    for (uint32_t i = 0; i < l->n; i++) {
        ob_permission *p = &l->v[i];
        if (p->site == site && p->kind == kind && !p->revoked && p->from <= at && at <= p->to)
            return p;
    }
    return NULL;
}

bool ob_index_org_within(const ob_index *ix, uint32_t org, uint32_t ancestor)
{
    if (org >= ix->norgs || ancestor >= ix->norgs)
        return false;
    uint8_t target_depth = ix->orgs[ancestor].depth;
    while (org != OB_NONE && ix->orgs[org].depth > target_depth)
        org = ix->orgs[org].parent;
    return org == ancestor;
}

bool ob_index_pro_works_at(const ob_index *ix, uint32_t pro, uint32_t org)
{
    if (pro >= ix->npros)
        return false;
    const ob_professional *p = &ix->pros[pro];
    for (unsigned i = 0; i < p->nsites; i++)
        if (p->sites[i] == org)
            return true;
    return false;
}

bool ob_index_pro_in_secondary(const ob_index *ix, uint32_t pro)
{
    if (pro >= ix->npros)
        return false;
    const ob_professional *p = &ix->pros[pro];
    for (unsigned i = 0; i < p->nsites; i++) {
        const ob_org *o = &ix->orgs[p->sites[i]];
        if (o->sector == OB_SECTOR_SECONDARY || o->kind == OB_ORG_HOSPITAL ||
            o->kind == OB_ORG_DEPARTMENT || o->kind == OB_ORG_PRIVATE_HOSPITAL)
            return true;
    }
    return false;
}

/* ---- source systems (R-APT-1, R-APT-5) ---- */
ob_status ob_index_add_source(ob_index *ix, const ob_source *s, ob_err *e)
{
    if (!s->client_id || !*s->client_id)
        return ob_err_set(e, OB_EINVAL, "a source needs a client id");
    if (ob_index_find_source(ix, s->client_id))
        return ob_err_set(e, OB_EINVAL, "duplicate source client id '%.64s'", s->client_id);
    if (s->site >= ix->norgs)
        return ob_err_set(e, OB_EINVAL, "source names an unknown site");
    if (ob_grow((void **)&ix->sources, &ix->capsources, ix->nsources + 1, sizeof *ix->sources) < 0)
        return nomem(e);
    ob_source c = *s;
    c.client_id = ob_strdup(s->client_id);
    c.name = ob_strdup(s->name ? s->name : s->client_id);
    if (!c.client_id || !c.name) {
        ob_free(c.client_id);
        ob_free(c.name);
        return nomem(e);
    }
    ix->sources[ix->nsources++] = c;
    return OB_OK;
}

const ob_source *ob_index_find_source(const ob_index *ix, const char *client_id)
{
    if (!client_id)
        return NULL;
    for (size_t i = 0; i < ix->nsources; i++)
        if (strcmp(ix->sources[i].client_id, client_id) == 0)
            return &ix->sources[i];
    return NULL;
}

bool ob_apt_end(const ob_index *ix, uint32_t clinic, ob_time start, bool has_end, ob_time given,
                ob_time *end)
{
    bool specialist = clinic < ix->norgs && ix->orgs[clinic].kind == OB_ORG_SPECIALIST;
    bool fictive = !has_end || specialist;
    *end = fictive ? start + 3600 : given;
    return fictive;
}

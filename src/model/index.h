/* index.h - the in-memory index the decision engine reads (no I/O).
 *
 * The index OWNS every object in it and every string those objects point to: add
 * functions copy what they are given. Ids are dense and stable (array positions).
 * The index is not thread-safe by itself: the service that shares it between threads
 * wraps reads and changes in a reader-writer lock. Changes (a new block, a revoked
 * consent) are visible to the next decision at once (R-BLK-5, R-CON-2). */
#ifndef OB_MODEL_INDEX_H
#define OB_MODEL_INDEX_H

#include <stddef.h>

#include "core/err.h"
#include "core/map.h"
#include "model/model.h"

typedef struct ob_perm_list {
    uint32_t n, cap;
    ob_permission *v;
} ob_perm_list;

typedef struct ob_index {
    /* R-ACC-1 "necessary": the categories a relationship of each kind gives each role for
     * the current treatment (ob_index_necessity_defaults; an operator's `necessity` records
     * replace rows, docs/decisions.md) */
    ob_catmask necessary[OB_REL_KIND_COUNT][OB_ROLE_COUNT];
    ob_org *orgs;
    size_t norgs, caporgs;
    ob_professional *pros;
    size_t npros, cappros;
    ob_perm_list *pro_perms; /* parallel to pros */
    ob_patient *patients;
    size_t npatients, cappatients;
    ob_project *projects;
    size_t nprojects, capprojects;
    ob_cover *covers;
    size_t ncovers, capcovers;
    ob_criteria *criteria; /* quality-work permissions by criteria (seed 001 case 22) */
    size_t ncriteria, capcriteria;
    ob_cluster *clusters;
    size_t nclusters, capclusters;
    ob_map *org_ids, *pro_ids, *patient_ids, *project_ids, *cpr_ids, *cluster_ids;
    ob_source *sources; /* source systems (R-APT-5); few, searched linearly */
    size_t nsources, capsources;
    /* Block and consent ids -> their patient, over every id ever added (lifted and
     * revoked ones too): ids are unique across patients and never reused. Keys live in
     * id_keys (chunks that never move, owned). */
    ob_map *block_ids, *consent_ids;
    struct ob_id_chunk *id_keys;
    bool demo; /* a synthetic database made by `gen --db` (a "demo" record) */
} ob_index;

ob_index *ob_index_new(void);
/* The key of a source's event (issue 21): FNV-1a of its text, never 0. Not secret: the
 * text names the source, so two sources' events never share a key by construction. */
uint64_t ob_event_key(const char *text);
/* The relationship of `patient` that event started (the latest), or NULL. */
ob_relationship *ob_index_relationship_by_event(ob_index *ix, uint32_t patient, uint64_t event);
/* Sets the necessity table to its documented defaults (docs/decisions.md); ob_index_new
 * does. */
void ob_index_necessity_defaults(ob_index *ix);
void ob_index_free(ob_index *ix);
/* Pre-sizes the arrays (a loader that knows the counts avoids regrowth). */
ob_status ob_index_reserve(ob_index *ix, size_t orgs, size_t pros, size_t patients, ob_err *e);

/* Adders copy `o` (and its strings) into the index and return the new id in *id.
 * They refuse duplicate external ids and dangling references with OB_EINVAL. */
ob_status ob_index_add_org(ob_index *ix, const ob_org *o, uint32_t *id, ob_err *e);
ob_status ob_index_add_professional(ob_index *ix, const ob_professional *p, uint32_t *id,
                                    ob_err *e);
ob_status ob_index_add_patient(ob_index *ix, const ob_patient *p, uint32_t *id, ob_err *e);
ob_status ob_index_add_project(ob_index *ix, const ob_project *p, uint32_t *id, ob_err *e);
/* The patient's GP listing current at t (the latest-starting listed relationship not ended
 * before t), or NULL. A pointer into the patient's relationships: valid until they change. */
ob_relationship *ob_index_current_listing(const ob_index *ix, uint32_t patient, ob_time t);
ob_status ob_index_add_relationship(ob_index *ix, uint32_t patient, const ob_relationship *r,
                                    ob_err *e);
ob_status ob_index_add_block(ob_index *ix, uint32_t patient, const ob_block *b, ob_err *e);
ob_status ob_index_add_consent(ob_index *ix, uint32_t patient, const ob_consent *c, ob_err *e);
ob_status ob_index_add_attorney(ob_index *ix, uint32_t patient, const ob_attorney *a, ob_err *e);
ob_status ob_index_add_disclosure(ob_index *ix, uint32_t patient, const ob_disclosure *d,
                                  ob_err *e);
ob_status ob_index_add_permission(ob_index *ix, const ob_permission *p, ob_err *e);
ob_status ob_index_add_cover(ob_index *ix, const ob_cover *c, ob_err *e);
ob_status ob_index_add_criteria(ob_index *ix, const ob_criteria *c, ob_err *e);
/* Adds a cluster, or replaces the agreement of the cluster with the same external id (its
 * internal id stays). */
ob_status ob_index_put_cluster(ob_index *ix, const ob_cluster *c, uint32_t *id, ob_err *e);

/* Lookups return OB_NONE when absent. */
uint32_t ob_index_find_org(const ob_index *ix, const char *ext_id);
uint32_t ob_index_find_professional(const ob_index *ix, const char *ext_id);
uint32_t ob_index_find_patient(const ob_index *ix, const char *ext_id);
uint32_t ob_index_find_project(const ob_index *ix, const char *ext_id);
uint32_t ob_index_find_cluster(const ob_index *ix, const char *ext_id);
uint32_t ob_index_find_patient_by_cpr_hash(const ob_index *ix, const uint8_t hash[16]);
ob_block *ob_index_find_block(ob_index *ix, uint32_t patient, uint64_t id);
/* The patient a block (consent) id was added for, or OB_NONE if it never was. */
uint32_t ob_index_block_owner(const ob_index *ix, uint64_t id);
uint32_t ob_index_consent_owner(const ob_index *ix, uint64_t id);
ob_consent *ob_index_find_consent(ob_index *ix, uint32_t patient, uint64_t id);
/* The find functions above look in the active arrays, then in the history. */

/* Moves a lifted block (revoked consent) out of the patient's active array into their
 * history (issue 24), so the engine's arrays hold active ones only. OB_ENOTFOUND if it is not
 * active; nothing changes on an error. */
ob_status ob_index_retire_block(ob_index *ix, uint32_t patient, uint64_t id, ob_err *e);
ob_status ob_index_retire_consent(ob_index *ix, uint32_t patient, uint64_t id, ob_err *e);
/* Undoes the last retire (a lift that could not be stored): the last history entry, if it
 * has this id, goes back to the active array. False if it was not the last one. */
bool ob_index_unretire_block(ob_index *ix, uint32_t patient, uint64_t id);
bool ob_index_unretire_consent(ob_index *ix, uint32_t patient, uint64_t id);

/* A patient's blocks (consents), the active ones first and then the history: position i
 * below ob_patient_all_blocks(p). */
static inline size_t ob_patient_all_blocks(const ob_patient *p)
{
    return (size_t)p->nblocks + p->nold_blocks;
}
static inline const ob_block *ob_patient_block_at(const ob_patient *p, size_t i)
{
    return i < p->nblocks ? &p->blocks[i] : &p->old_blocks[i - p->nblocks];
}
static inline size_t ob_patient_all_consents(const ob_patient *p)
{
    return (size_t)p->nconsents + p->nold_consents;
}
static inline const ob_consent *ob_patient_consent_at(const ob_patient *p, size_t i)
{
    return i < p->nconsents ? &p->consents[i] : &p->old_consents[i - p->nconsents];
}

/* Grants that end (issue 24): the one grant current at `at` (from <= at <= to, and for a
 * permission not revoked) that matches, or NULL. A relationship matches on org and
 * professional (OB_NONE: through the site) and, unless kind < 0, its kind; a permission on
 * professional, site and kind. Ending one sets its end to `at`: it replaces, never adds.
 * Pointers are borrowed from the index, valid until the next change. */
ob_attorney *ob_index_current_attorney(ob_index *ix, uint32_t patient, uint32_t holder, ob_time at);
ob_relationship *ob_index_current_relationship(ob_index *ix, uint32_t patient, uint32_t org,
                                               uint32_t pro, int kind, ob_time at);
ob_permission *ob_index_current_permission(ob_index *ix, uint32_t pro, uint32_t site, uint8_t kind,
                                           ob_time at);

/* true when org == ancestor or org lies below ancestor in the organisation tree. */
bool ob_index_org_within(const ob_index *ix, uint32_t org, uint32_t ancestor);
bool ob_index_pro_works_at(const ob_index *ix, uint32_t pro, uint32_t org);
/* true when any of the professional's sites is in the secondary sector (R-BLK-2). */
bool ob_index_pro_in_secondary(const ob_index *ix, uint32_t pro);

/* ---- source systems (R-APT-1, R-APT-5) ---- */
/* Copies s; refuses a duplicate client id or an unknown site. */
ob_status ob_index_add_source(ob_index *ix, const ob_source *s, ob_err *e);
/* The source with this OAuth client id, or NULL. Borrowed from the index. */
const ob_source *ob_index_find_source(const ob_index *ix, const char *client_id);

/* R-APT-4 (seed 004): an appointment without an end time, and every appointment of a
 * specialist practice (clinic's kind), is shown ending one hour after its start, marked as a
 * fictive end. Returns whether the end is fictive; *end gets the end to keep. */
bool ob_apt_end(const ob_index *ix, uint32_t clinic, ob_time start, bool has_end, ob_time given,
                ob_time *end);

#endif

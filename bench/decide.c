/* decide.c - decision benchmark of the policy engine (ob_policy_decide) and the
 * single-rule peer comparison (bench/peers/run.sh, docs/bench-decide.md).
 *
 * Builds, deterministically from --seed, an in-memory index shaped like Denmark (5
 * regions with hospitals and departments, 98 municipalities with units, ~1,700 GP
 * clinics, ~30,000 professionals, --patients patients with listings, admissions, home
 * nursing, personal relationships, blocks, consents, powers of attorney, assist and
 * quality permissions, two research projects, holiday covers). Then:
 *
 *  1. pre-generates --requests requests of a realistic mix (generation is not timed) and
 *     times ob_policy_decide over them: whole-loop decisions/s on one thread, and per-call
 *     latency percentiles with rdtsc (lfence-serialised, calibrated against
 *     CLOCK_MONOTONIC) around every call in a separate pass; counts permits and denies
 *     per rule;
 *  2. times the single rule "current treatment relationship and no professional block"
 *     on a sample of treatment reads, by the engine and by a bare hand-written hash
 *     lookup, and with --export DIR writes the data and the sample as CSV so that the
 *     Cedar and Casbin peers (bench/peers/) decide exactly the same requests.
 *
 * Output lines starting with "RESULT " are read by bench/peers/run.sh. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/time.h"
#include "model/index.h"
#include "policy/policy.h"

/* ---- options ---- */
typedef struct opts {
    uint32_t patients;
    uint64_t requests;
    uint64_t seed;
    uint32_t compare;
    unsigned rounds;
    const char *export_dir;
} opts;

static int parse_u64(const char *s, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    if (!s || !*s || *s == '-')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || !end || *end)
        return -1;
    *out = (uint64_t)v;
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_decide [--patients N] [--requests N] [--seed S] [--rounds R]\n"
                    "                    [--compare N] [--export DIR]\n");
}

static int parse_opts(int argc, char **argv, opts *o)
{
    o->patients = 1000000;
    o->requests = 10000000;
    o->seed = 20250601;
    o->compare = 2000000;
    o->rounds = 3;
    o->export_dir = NULL;
    for (int i = 1; i < argc; i++) {
        uint64_t v = 0;
        const char *a = argv[i];
        if (i + 1 >= argc) {
            usage();
            return -1;
        }
        const char *val = argv[++i];
        if (strcmp(a, "--export") == 0) {
            o->export_dir = val;
            continue;
        }
        if (parse_u64(val, &v) < 0) {
            fprintf(stderr, "bench_decide: bad number for %s: %s\n", a, val);
            return -1;
        }
        if (strcmp(a, "--patients") == 0 && v >= 1000 && v <= 20000000)
            o->patients = (uint32_t)v;
        else if (strcmp(a, "--requests") == 0 && v >= 1000)
            o->requests = v;
        else if (strcmp(a, "--seed") == 0)
            o->seed = v;
        else if (strcmp(a, "--compare") == 0 && v >= 1000 && v <= 100000000)
            o->compare = (uint32_t)v;
        else if (strcmp(a, "--rounds") == 0 && v >= 1 && v <= 20)
            o->rounds = (unsigned)v;
        else {
            usage();
            return -1;
        }
    }
    return 0;
}

/* ---- deterministic random numbers (splitmix64) ---- */
typedef struct rng {
    uint64_t s;
} rng;

static uint64_t rnext(rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint32_t rbelow(rng *r, uint32_t n)
{
    return (uint32_t)(((rnext(r) >> 32) * (uint64_t)n) >> 32);
}

static bool rchance(rng *r, unsigned per_100k)
{
    return rbelow(r, 100000) < per_100k;
}

/* ---- timers ---- */
static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

#if defined(__x86_64__)
static inline uint64_t ticks(void)
{
    uint32_t lo, hi;
    __asm__ volatile("lfence\n\trdtsc" : "=a"(lo), "=d"(hi)::"memory");
    return ((uint64_t)hi << 32) | lo;
}
#define TICK_NAME "rdtsc (lfence-serialised)"
#else
static inline uint64_t ticks(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
#define TICK_NAME "clock_gettime(CLOCK_MONOTONIC)"
#endif

/* Ticks per nanosecond, measured against CLOCK_MONOTONIC over ~200 ms. */
static double calibrate_ticks(void)
{
    double t0 = mono_s();
    uint64_t k0 = ticks();
    while (mono_s() - t0 < 0.2)
        ;
    uint64_t k1 = ticks();
    double t1 = mono_s();
    return (double)(k1 - k0) / ((t1 - t0) * 1e9);
}

#define HIST_MAX (1u << 18) /* ticks; beyond lands in the overflow bucket */

typedef struct hist {
    uint64_t *b;
    uint64_t over, n, max;
} hist;

static int hist_init(hist *h)
{
    memset(h, 0, sizeof *h);
    h->b = calloc(HIST_MAX, sizeof *h->b);
    return h->b ? 0 : -1;
}

static void hist_add(hist *h, uint64_t v)
{
    if (v < HIST_MAX)
        h->b[v]++;
    else
        h->over++;
    if (v > h->max)
        h->max = v;
    h->n++;
}

static uint64_t hist_pct(const hist *h, double p)
{
    uint64_t want = (uint64_t)((double)h->n * p);
    uint64_t acc = 0;
    for (uint32_t i = 0; i < HIST_MAX; i++) {
        acc += h->b[i];
        if (acc > want)
            return i;
    }
    return h->max;
}

/* ---- the generated world ---- */
enum {
    NREGIONS = 5,
    HOSP_PER_REGION = 5,
    DEPT_PER_HOSP = 20,
    NMUNIS = 98,
    UNITS_PER_MUNI = 4,
    NCLINICS = 1700,
    GP_DOCTORS = 2,
    GP_NURSES = 1,
    GP_SECRETARIES = 1,
    DEPT_DOCTORS = 14,
    DEPT_NURSES = 20,
    DEPT_SECRETARIES = 3,
    UNIT_NURSES = 10,
    NRESEARCHERS = 20,
    NQUALITY = 40,
    NCOVERS = 85,
};
#define NHOSP  (NREGIONS * HOSP_PER_REGION)
#define NDEPTS (NHOSP * DEPT_PER_HOSP)
#define NUNITS (NMUNIS * UNITS_PER_MUNI)

typedef struct staff {
    uint32_t first, n; /* contiguous professional ids working at an org */
} staff;

typedef struct u32vec {
    uint32_t *v;
    size_t n, cap;
} u32vec;

static int vpush(u32vec *x, uint32_t v)
{
    if (x->n == x->cap) {
        size_t nc = x->cap ? x->cap * 2 : 1024;
        uint32_t *nv = realloc(x->v, nc * sizeof *nv);
        if (!nv)
            return -1;
        x->v = nv;
        x->cap = nc;
    }
    x->v[x->n++] = v;
    return 0;
}

typedef struct world {
    ob_index *ix;
    ob_time now;
    uint32_t regions[NREGIONS], hosps[NHOSP], depts[NDEPTS], munis[NMUNIS], units[NUNITS];
    uint32_t clinics[NCLINICS], research_org;
    staff *at; /* per org: its staff */
    uint32_t quality[NQUALITY], quality_site[NQUALITY];
    uint32_t researchers[NRESEARCHERS];
    bool *substitute; /* per org: a GP clinic covering another during the holidays */
    /* patients by what they have, for the request generator */
    u32vec admitted, home, pro_blocked, site_blocked, period_blocked, prevention, research,
        attorney, simple_blocks;
} world;

static ob_err err;

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if ((x) != OB_OK) {                                                                        \
            fprintf(stderr, "bench_decide: %s:%d: %s\n", __FILE__, __LINE__, err.msg);             \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

static uint32_t add_org(world *w, uint32_t parent, ob_org_kind kind, ob_sector sector,
                        const char *ext, const char *name, uint32_t num)
{
    ob_org o;
    memset(&o, 0, sizeof o);
    o.parent = parent;
    o.kind = (uint8_t)kind;
    o.sector = (uint8_t)sector;
    o.ext_id = (char *)ext;
    o.name = (char *)name;
    o.address = "Danmark";
    snprintf(o.sor, sizeof o.sor, "%" PRIu32 "1000016", num);
    if (kind == OB_ORG_GP_CLINIC)
        snprintf(o.provider_no, sizeof o.provider_no, "%06" PRIu32, 100000 + num);
    uint32_t id = 0;
    CHECK(ob_index_add_org(w->ix, &o, &id, &err));
    return id;
}

static uint32_t add_pro(world *w, ob_role role, uint32_t site, uint32_t site2)
{
    ob_professional p;
    memset(&p, 0, sizeof p);
    char ext[32], name[48];
    uint32_t n = (uint32_t)w->ix->npros;
    snprintf(ext, sizeof ext, "pro-%06" PRIu32, n);
    snprintf(name, sizeof name, "Professional %" PRIu32, n);
    p.ext_id = ext;
    p.name = name;
    p.role = (uint8_t)role;
    p.authorised = ob_role_authorised(role);
    if (p.authorised)
        snprintf(p.authorisation_id, sizeof p.authorisation_id, "A%06" PRIu32, n);
    p.nsites = 1;
    p.sites[0] = site;
    if (site2 != OB_NONE)
        p.sites[p.nsites++] = site2;
    uint32_t id = 0;
    CHECK(ob_index_add_professional(w->ix, &p, &id, &err));
    return id;
}

static void add_staff(world *w, uint32_t org, unsigned doctors, unsigned nurses,
                      unsigned secretaries, rng *r, const uint32_t *siblings, unsigned nsib)
{
    w->at[org].first = (uint32_t)w->ix->npros;
    for (unsigned i = 0; i < doctors; i++) {
        /* one hospital doctor in ten also works at a sister department */
        uint32_t second = OB_NONE;
        if (nsib > 1 && rchance(r, 10000)) {
            second = siblings[rbelow(r, nsib)];
            if (second == org)
                second = OB_NONE;
        }
        add_pro(w, OB_ROLE_DOCTOR, org, second);
    }
    for (unsigned i = 0; i < nurses; i++)
        add_pro(w, OB_ROLE_NURSE, org, OB_NONE);
    for (unsigned i = 0; i < secretaries; i++)
        add_pro(w, OB_ROLE_SECRETARY, org, OB_NONE);
    w->at[org].n = (uint32_t)w->ix->npros - w->at[org].first;
}

/* A random member of org's staff with role `role` (or any authorised one when role is
 * OB_ROLE_COUNT). Staff are added doctors, nurses, secretaries in that order. */
static uint32_t pick_staff(const world *w, uint32_t org, ob_role role, rng *r)
{
    const staff *s = &w->at[org];
    for (int tries = 0; tries < 64; tries++) {
        uint32_t p = s->first + rbelow(r, s->n);
        uint8_t pr = w->ix->pros[p].role;
        if (role == OB_ROLE_COUNT ? ob_role_authorised((ob_role)pr) : pr == role)
            return p;
    }
    return s->first; /* a doctor: every org with staff starts with one */
}

static uint32_t home_region(uint32_t clinic_idx)
{
    return clinic_idx % NREGIONS;
}

static uint32_t home_muni(uint32_t clinic_idx)
{
    return clinic_idx % NMUNIS;
}

static uint32_t dept_in_region(const world *w, uint32_t region, rng *r)
{
    uint32_t h = region * HOSP_PER_REGION + rbelow(r, HOSP_PER_REGION);
    return w->depts[h * DEPT_PER_HOSP + rbelow(r, DEPT_PER_HOSP)];
}

static ob_time days(int64_t d)
{
    return (ob_time)(d * 86400);
}

static void build_orgs(world *w, rng *r)
{
    char ext[48], name[64];
    w->at = calloc(8192, sizeof *w->at);
    w->substitute = calloc(8192, sizeof *w->substitute);
    if (!w->at || !w->substitute) {
        fprintf(stderr, "bench_decide: out of memory\n");
        exit(1);
    }
    static const char *const region_names[NREGIONS] = {"Region Hovedstaden", "Region Sjælland",
                                                       "Region Syddanmark", "Region Midtjylland",
                                                       "Region Nordjylland"};
    uint32_t num = 1;
    for (uint32_t g = 0; g < NREGIONS; g++) {
        snprintf(ext, sizeof ext, "region-%" PRIu32, g + 1);
        w->regions[g] =
            add_org(w, OB_NONE, OB_ORG_REGION, OB_SECTOR_SECONDARY, ext, region_names[g], num++);
        for (uint32_t h = 0; h < HOSP_PER_REGION; h++) {
            uint32_t hi = g * HOSP_PER_REGION + h;
            snprintf(ext, sizeof ext, "hosp-%" PRIu32, hi + 1);
            snprintf(name, sizeof name, "Hospital %" PRIu32, hi + 1);
            w->hosps[hi] =
                add_org(w, w->regions[g], OB_ORG_HOSPITAL, OB_SECTOR_SECONDARY, ext, name, num++);
            for (uint32_t d = 0; d < DEPT_PER_HOSP; d++) {
                uint32_t di = hi * DEPT_PER_HOSP + d;
                snprintf(ext, sizeof ext, "dept-%" PRIu32, di + 1);
                snprintf(name, sizeof name, "Department %" PRIu32, di + 1);
                w->depts[di] = add_org(w, w->hosps[hi], OB_ORG_DEPARTMENT, OB_SECTOR_SECONDARY, ext,
                                       name, num++);
            }
        }
    }
    static const char *const unit_kinds[UNITS_PER_MUNI] = {"hjemmesygepleje", "akutteam",
                                                           "genoptræning", "plejecenter"};
    for (uint32_t m = 0; m < NMUNIS; m++) {
        snprintf(ext, sizeof ext, "muni-%" PRIu32, m + 101);
        snprintf(name, sizeof name, "Kommune %" PRIu32, m + 101);
        w->munis[m] =
            add_org(w, OB_NONE, OB_ORG_MUNICIPALITY, OB_SECTOR_MUNICIPAL, ext, name, num++);
        for (uint32_t u = 0; u < UNITS_PER_MUNI; u++) {
            uint32_t ui = m * UNITS_PER_MUNI + u;
            snprintf(ext, sizeof ext, "unit-%" PRIu32, ui + 1);
            snprintf(name, sizeof name, "%s, kommune %" PRIu32, unit_kinds[u], m + 101);
            w->units[ui] = add_org(w, w->munis[m], OB_ORG_MUNICIPAL_UNIT, OB_SECTOR_MUNICIPAL, ext,
                                   name, num++);
        }
    }
    for (uint32_t c = 0; c < NCLINICS; c++) {
        snprintf(ext, sizeof ext, "gp-%04" PRIu32, c + 1);
        snprintf(name, sizeof name, "Lægehuset %" PRIu32, c + 1);
        w->clinics[c] = add_org(w, OB_NONE, OB_ORG_GP_CLINIC, OB_SECTOR_PRIMARY, ext, name, num++);
    }
    w->research_org = add_org(w, OB_NONE, OB_ORG_RESEARCH, OB_SECTOR_OTHER, "research-1",
                              "Forskningsinstitut", num++);
    (void)r;
}

static void build_pros(world *w, rng *r)
{
    for (uint32_t c = 0; c < NCLINICS; c++)
        add_staff(w, w->clinics[c], GP_DOCTORS, GP_NURSES, GP_SECRETARIES, r, NULL, 0);
    for (uint32_t h = 0; h < NHOSP; h++)
        for (uint32_t d = 0; d < DEPT_PER_HOSP; d++)
            add_staff(w, w->depts[h * DEPT_PER_HOSP + d], DEPT_DOCTORS, DEPT_NURSES,
                      DEPT_SECRETARIES, r, &w->depts[h * DEPT_PER_HOSP], DEPT_PER_HOSP);
    for (uint32_t u = 0; u < NUNITS; u++)
        add_staff(w, w->units[u], 0, UNIT_NURSES, 0, r, NULL, 0);
    /* researchers (authorised doctors at the research institution) */
    w->at[w->research_org].first = (uint32_t)w->ix->npros;
    for (uint32_t i = 0; i < NRESEARCHERS; i++)
        w->researchers[i] = add_pro(w, OB_ROLE_DOCTOR, w->research_org, OB_NONE);
    w->at[w->research_org].n = NRESEARCHERS;
    /* quality staff: doctors at hospital level with a quality permission there */
    for (uint32_t i = 0; i < NQUALITY; i++) {
        w->quality_site[i] = w->hosps[i % NHOSP];
        w->quality[i] = add_pro(w, OB_ROLE_DOCTOR, w->quality_site[i], OB_NONE);
        ob_permission p = {.professional = w->quality[i],
                           .site = w->quality_site[i],
                           .kind = OB_PERM_QUALITY,
                           .from = w->now - days(365),
                           .to = w->now + days(365)};
        CHECK(ob_index_add_permission(w->ix, &p, &err));
    }
    /* technical-assistance permissions for four secretaries in five */
    for (uint32_t p = 0; p < w->ix->npros; p++) {
        const ob_professional *P = &w->ix->pros[p];
        if (P->role != OB_ROLE_SECRETARY || !rchance(r, 80000))
            continue;
        ob_permission perm = {.professional = p,
                              .site = P->sites[0],
                              .kind = OB_PERM_ASSIST,
                              .from = w->now - days(700),
                              .to = OB_TIME_MAX};
        CHECK(ob_index_add_permission(w->ix, &perm, &err));
    }
    /* two research projects: one approved registry study, one consent-based cohort */
    ob_project pr;
    memset(&pr, 0, sizeof pr);
    pr.ext_id = "proj-registry";
    pr.title = "Registerstudie af type 2-diabetes";
    snprintf(pr.approval_ref, sizeof pr.approval_ref, "VEK-H-23012345");
    pr.controller_permission = true;
    pr.identifiable = false;
    pr.categories = OB_CAT_BIT(OB_CAT_DIAGNOSIS) | OB_CAT_BIT(OB_CAT_MEDICATION) |
                    OB_CAT_BIT(OB_CAT_LAB_RESULT) | OB_CAT_BIT(OB_CAT_MEASUREMENT);
    pr.from = w->now - days(400);
    pr.to = w->now + days(800);
    pr.nmembers = NRESEARCHERS / 2;
    pr.members = &w->researchers[0];
    CHECK(ob_index_add_project(w->ix, &pr, NULL, &err));
    memset(&pr, 0, sizeof pr);
    pr.ext_id = "proj-cohort";
    pr.title = "Kohorte med samtykke";
    pr.identifiable = true;
    pr.categories = OB_CAT_ALL;
    pr.from = w->now - days(200);
    pr.to = w->now + days(900);
    pr.nmembers = NRESEARCHERS / 2;
    pr.members = &w->researchers[NRESEARCHERS / 2];
    CHECK(ob_index_add_project(w->ix, &pr, NULL, &err));
    /* summer holiday cover: 85 clinics cover a neighbour */
    for (uint32_t i = 0; i < NCOVERS; i++) {
        uint32_t c = i * 20;
        ob_cover cv = {.substitute = w->clinics[c],
                       .covered = w->clinics[c + 1],
                       .from = w->now - days(10),
                       .to = w->now + days(11)};
        w->substitute[w->clinics[c]] = true;
        CHECK(ob_index_add_cover(w->ix, &cv, &err));
    }
}

static void vp(u32vec *v, uint32_t x)
{
    if (vpush(v, x) < 0) {
        fprintf(stderr, "bench_decide: out of memory\n");
        exit(1);
    }
}

static void build_patients(world *w, uint32_t npatients, rng *r)
{
    ob_index *ix = w->ix;
    char ext[32], name[32];
    const ob_time t2015 = ob_time_from_ymd(2015, 1, 1), t2018 = ob_time_from_ymd(2018, 1, 1);
    const ob_time t2020 = ob_time_from_ymd(2020, 12, 31), t2019 = ob_time_from_ymd(2019, 12, 31);
    uint64_t store_id = 1;
    for (uint32_t i = 0; i < npatients; i++) {
        uint32_t ci = rbelow(r, NCLINICS);
        ob_patient p;
        memset(&p, 0, sizeof p);
        snprintf(ext, sizeof ext, "pt-%07" PRIu32, i);
        snprintf(name, sizeof name, "Patient %" PRIu32, i);
        p.ext_id = ext;
        p.name = name;
        p.gp_clinic = w->clinics[ci];
        p.birth = ob_time_from_ymd(1925 + (int)rbelow(r, 100), 1 + (int)rbelow(r, 12),
                                   1 + (int)rbelow(r, 28));
        uint32_t id = 0;
        CHECK(ob_index_add_patient(ix, &p, &id, &err));
        ob_relationship rel = {.professional = OB_NONE,
                               .org = w->clinics[ci],
                               .from = p.birth > t2015 ? p.birth : t2015,
                               .to = OB_TIME_MAX,
                               .kind = OB_REL_LISTED};
        CHECK(ob_index_add_relationship(ix, id, &rel, &err));
        uint32_t region = home_region(ci), muni = home_muni(ci);
        if (rchance(r, 6000)) { /* hospital admission or outpatient course */
            bool current = rchance(r, 70000);
            rel.org = dept_in_region(w, region, r);
            rel.kind = OB_REL_ADMISSION;
            rel.from = w->now - days(current ? rbelow(r, 20) : 200);
            rel.to = current ? OB_TIME_MAX : w->now - days(190);
            CHECK(ob_index_add_relationship(ix, id, &rel, &err));
            if (current)
                vp(&w->admitted, id);
        }
        if (rchance(r, 3000)) { /* home nursing */
            rel.org = w->units[muni * UNITS_PER_MUNI];
            rel.kind = OB_REL_HOME_NURSING;
            rel.from = w->now - days(rbelow(r, 300));
            rel.to = OB_TIME_MAX;
            CHECK(ob_index_add_relationship(ix, id, &rel, &err));
            vp(&w->home, id);
        }
        if (rchance(r, 4000)) { /* personal course of treatment with a hospital doctor */
            uint32_t dept = dept_in_region(w, region, r);
            rel.org = dept;
            rel.professional = pick_staff(w, dept, OB_ROLE_DOCTOR, r);
            rel.kind = OB_REL_TREATMENT;
            rel.from = w->now - days(100);
            rel.to = w->now + days(100);
            CHECK(ob_index_add_relationship(ix, id, &rel, &err));
        }
        /* blocks on ~2% of patients, all three kinds */
        bool any_block = false, only_pro_blocks = true;
        if (rchance(r, 1000)) {
            ob_block b = {.kind = OB_BLOCK_PROFESSIONAL,
                          .active = !rchance(r, 5000),
                          .categories = OB_CAT_ALL,
                          .valid_from = ob_time_from_ymd(2024, 1, 1),
                          .valid_to = OB_TIME_MAX,
                          .data_from = OB_TIME_MIN,
                          .data_to = OB_TIME_MAX,
                          .created_by = OB_NONE,
                          .id = store_id++};
            b.target = rchance(r, 70000)
                           ? pick_staff(w, w->clinics[ci], OB_ROLE_DOCTOR, r)
                           : pick_staff(w, dept_in_region(w, region, r), OB_ROLE_DOCTOR, r);
            CHECK(ob_index_add_block(ix, id, &b, &err));
            vp(&w->pro_blocked, id);
            any_block = true;
        }
        if (rchance(r, 600)) {
            bool whole = rchance(r, 50000);
            uint32_t dept = dept_in_region(w, region, r);
            ob_block b = {.kind = OB_BLOCK_SITE,
                          .include_subunits = whole,
                          .active = true,
                          .categories = OB_CAT_ALL,
                          .valid_from = ob_time_from_ymd(2023, 6, 1),
                          .valid_to = OB_TIME_MAX,
                          .data_from = t2015,
                          .data_to = t2020,
                          .target = whole ? ix->orgs[dept].parent : dept,
                          .created_by = OB_NONE,
                          .id = store_id++};
            CHECK(ob_index_add_block(ix, id, &b, &err));
            vp(&w->site_blocked, id);
            any_block = true;
            only_pro_blocks = false;
        }
        if (rchance(r, 400)) {
            ob_block b = {.kind = OB_BLOCK_PERIOD,
                          .active = true,
                          .categories = rchance(r, 50000) ? OB_CAT_ALL
                                                          : OB_CAT_BIT(OB_CAT_CLINICAL_NOTE) |
                                                                OB_CAT_BIT(OB_CAT_DIAGNOSIS),
                          .valid_from = ob_time_from_ymd(2022, 1, 1),
                          .valid_to = OB_TIME_MAX,
                          .data_from = t2018,
                          .data_to = t2019,
                          .target = OB_NONE,
                          .created_by = OB_NONE,
                          .id = store_id++};
            CHECK(ob_index_add_block(ix, id, &b, &err));
            vp(&w->period_blocked, id);
            any_block = true;
            only_pro_blocks = false;
        }
        if (!any_block || only_pro_blocks)
            vp(&w->simple_blocks, id); /* usable by the single-rule comparison */
        /* consents on ~5% */
        if (rchance(r, 4000)) {
            ob_consent c = {.kind = OB_CONSENT_PREVENTION,
                            .recipient_kind = OB_RCPT_ORG,
                            .recipient = w->munis[muni],
                            .active = !rchance(r, 5000),
                            .categories = rchance(r, 60000)
                                              ? OB_CAT_ALL
                                              : (ob_catmask)(OB_CAT_BIT(OB_CAT_MEDICATION) |
                                                             OB_CAT_BIT(OB_CAT_MEASUREMENT) |
                                                             OB_CAT_BIT(OB_CAT_LAB_RESULT)),
                            .from = w->now - days(rbelow(r, 600)),
                            .to = OB_TIME_MAX,
                            .created = w->now - days(600),
                            .taken_by = OB_NONE,
                            .id = store_id++};
            CHECK(ob_index_add_consent(ix, id, &c, &err));
            vp(&w->prevention, id);
        }
        if (rchance(r, 700)) {
            ob_consent c = {.kind = OB_CONSENT_RESEARCH,
                            .recipient_kind = OB_RCPT_PROJECT,
                            .recipient = 1,
                            .identifiable = true,
                            .active = true,
                            .categories = OB_CAT_ALL,
                            .from = w->now - days(100),
                            .to = OB_TIME_MAX,
                            .created = w->now - days(100),
                            .taken_by = OB_NONE,
                            .id = store_id++};
            CHECK(ob_index_add_consent(ix, id, &c, &err));
            vp(&w->research, id);
        }
        if (rchance(r, 300)) {
            ob_consent c = {.kind = OB_CONSENT_SHARING,
                            .recipient_kind = OB_RCPT_ORG_KIND,
                            .recipient = OB_ORG_MUNICIPAL_UNIT,
                            .active = true,
                            .categories = OB_CAT_BIT(OB_CAT_MEDICATION),
                            .from = w->now - days(50),
                            .to = w->now + days(300),
                            .created = w->now - days(50),
                            .taken_by = OB_NONE,
                            .id = store_id++};
            CHECK(ob_index_add_consent(ix, id, &c, &err));
        }
        if (i > 0 && rchance(r, 500)) { /* a relative holds a power of attorney */
            ob_attorney a = {.holder = rbelow(r, i),
                             .scope = OB_CAT_ALL,
                             .capacity = OB_CAP_ATTORNEY,
                             .from = w->now - days(300),
                             .to = OB_TIME_MAX};
            CHECK(ob_index_add_attorney(ix, id, &a, &err));
            vp(&w->attorney, id);
        }
    }
}

/* ---- the request mix ---- */
typedef enum rq_class {
    RC_TREAT_GP = 0, /* GP staff read a listed patient's hospital data */
    RC_TREAT_HOSP,   /* department staff read an admitted patient */
    RC_TREAT_HOME,   /* municipal nurse reads a home-nursing patient */
    RC_OWN_SITE,     /* a site reads what it produced */
    RC_NO_REL,       /* a professional without relationship */
    RC_PRO_BLOCK,    /* the blocked professional reads */
    RC_SITE_BLOCK,   /* data from a blocked site */
    RC_PERIOD_BLOCK, /* data from a blocked period */
    RC_OVERRIDE,     /* emergency override of a site block */
    RC_ETREAT,       /* emergency read with a relationship */
    RC_PREVENTION,   /* municipal prevention on consent */
    RC_ASSIST,       /* GP secretary on behalf of a GP */
    RC_QUALITY,      /* quality work */
    RC_RESEARCH,     /* researcher in a project */
    RC_CITIZEN,      /* patient reads own data */
    RC_ATTORNEY,     /* relative with power of attorney */
    RC_PLANNING,     /* planning wants person-level data */
    RC_QDB_TREAT,    /* treatment read of quality-database data */
    RC_COUNT
} rq_class;

static const struct {
    const char *name;
    unsigned permille;
} classes[RC_COUNT] = {
    {"treat: GP reads listed patient", 220},
    {"treat: hospital dept, admitted", 100},
    {"treat: home nursing", 30},
    {"treat: own site's data", 100},
    {"treat: no relationship", 100},
    {"treat: professional-blocked", 50},
    {"treat: site-blocked data", 30},
    {"treat: period-blocked data", 20},
    {"treat: override of block", 10},
    {"emergency read (ETREAT)", 20},
    {"prevention on consent", 40},
    {"assistant for GP", 80},
    {"quality work", 30},
    {"research project", 20},
    {"patient reads own data", 120},
    {"power of attorney", 10},
    {"planning (person-level)", 10},
    {"treat: quality-db data", 10},
};

static uint32_t pick(const u32vec *v, const world *w, rng *r)
{
    return v->n ? v->v[rbelow(r, (uint32_t)v->n)] : rbelow(r, (uint32_t)w->ix->npatients);
}

static uint32_t gp_idx(const world *w, uint32_t patient)
{
    return w->ix->patients[patient].gp_clinic - w->clinics[0];
}

static uint32_t random_dept(const world *w, rng *r)
{
    return w->depts[rbelow(r, NDEPTS)];
}

static uint32_t random_clinical_pro(const world *w, rng *r, uint32_t *site)
{
    for (;;) {
        uint32_t p = rbelow(r, (uint32_t)w->ix->npros);
        const ob_professional *P = &w->ix->pros[p];
        uint8_t k = w->ix->orgs[P->sites[0]].kind;
        if (!P->authorised ||
            (k != OB_ORG_GP_CLINIC && k != OB_ORG_DEPARTMENT && k != OB_ORG_MUNICIPAL_UNIT))
            continue;
        *site = P->sites[0];
        return p;
    }
}

static void gen_request(const world *w, rng *r, rq_class c, ob_request *q)
{
    const ob_index *ix = w->ix;
    memset(q, 0, sizeof *q);
    q->actor_kind = OB_ACTOR_PROFESSIONAL;
    q->on_behalf_of = OB_NONE;
    q->project = OB_NONE;
    q->recipient_org = OB_NONE;
    q->purpose = OB_PURPOSE_TREAT;
    q->source = OB_SRC_CLINICAL;
    q->now = w->now;
    q->category = (uint8_t)rbelow(r, OB_CAT_COUNT);
    q->item_time = w->now - days(rbelow(r, 3650));
    q->origin_org = random_dept(w, r);
    uint32_t pt = rbelow(r, (uint32_t)ix->npatients);
    switch (c) {
    case RC_TREAT_GP:
    case RC_ETREAT:
    case RC_QDB_TREAT:
    case RC_OWN_SITE:
        q->acting_org = ix->patients[pt].gp_clinic;
        q->actor = pick_staff(w, q->acting_org, OB_ROLE_COUNT, r);
        if (c == RC_OWN_SITE)
            q->origin_org = q->acting_org;
        if (c == RC_ETREAT)
            q->purpose = OB_PURPOSE_ETREAT;
        if (c == RC_QDB_TREAT)
            q->source = OB_SRC_QUALITY_DB;
        break;
    case RC_TREAT_HOSP: {
        pt = pick(&w->admitted, w, r);
        const ob_patient *P = &ix->patients[pt];
        q->acting_org = P->rels[P->nrels > 1 ? 1 : 0].org;
        q->actor = pick_staff(w, q->acting_org, OB_ROLE_COUNT, r);
        q->origin_org = rchance(r, 50000) ? P->gp_clinic : random_dept(w, r);
        break;
    }
    case RC_TREAT_HOME: {
        pt = pick(&w->home, w, r);
        uint32_t unit = w->units[home_muni(gp_idx(w, pt)) * UNITS_PER_MUNI];
        q->acting_org = unit;
        q->actor = pick_staff(w, unit, OB_ROLE_NURSE, r);
        q->origin_org = rchance(r, 70000) ? ix->patients[pt].gp_clinic : random_dept(w, r);
        break;
    }
    case RC_NO_REL:
        q->actor = random_clinical_pro(w, r, &q->acting_org);
        break;
    case RC_PRO_BLOCK: {
        pt = pick(&w->pro_blocked, w, r);
        const ob_patient *P = &ix->patients[pt];
        for (uint16_t i = 0; i < P->nblocks; i++)
            if (P->blocks[i].kind == OB_BLOCK_PROFESSIONAL)
                q->actor = P->blocks[i].target;
        q->acting_org = ix->pros[q->actor].sites[0];
        if (q->origin_org == q->acting_org)
            q->origin_org = P->gp_clinic;
        break;
    }
    case RC_SITE_BLOCK:
    case RC_OVERRIDE: {
        pt = pick(&w->site_blocked, w, r);
        const ob_patient *P = &ix->patients[pt];
        q->acting_org = P->gp_clinic;
        q->actor = pick_staff(w, q->acting_org, OB_ROLE_DOCTOR, r);
        for (uint16_t i = 0; i < P->nblocks; i++) {
            const ob_block *b = &P->blocks[i];
            if (b->kind != OB_BLOCK_SITE)
                continue;
            q->origin_org =
                b->include_subunits ? b->target + 1 + rbelow(r, DEPT_PER_HOSP) : b->target;
            q->item_time = ob_time_from_ymd(2016 + (int)rbelow(r, 4), 3, 1);
        }
        if (c == RC_OVERRIDE) {
            q->purpose = OB_PURPOSE_ETREAT;
            q->override = OB_OVERRIDE_VITAL_INTEREST;
            q->has_override_reason = true;
        }
        break;
    }
    case RC_PERIOD_BLOCK:
        pt = pick(&w->period_blocked, w, r);
        q->acting_org = ix->patients[pt].gp_clinic;
        q->actor = pick_staff(w, q->acting_org, OB_ROLE_COUNT, r);
        q->item_time = ob_time_from_ymd(2018, 1 + (int)rbelow(r, 12), 10);
        break;
    case RC_PREVENTION: {
        pt = rchance(r, 80000) ? pick(&w->prevention, w, r) : pt;
        uint32_t unit =
            w->units[home_muni(gp_idx(w, pt)) * UNITS_PER_MUNI + rbelow(r, UNITS_PER_MUNI)];
        q->acting_org = unit;
        q->actor = pick_staff(w, unit, OB_ROLE_NURSE, r);
        q->purpose = OB_PURPOSE_PREVENTION;
        break;
    }
    case RC_ASSIST:
        q->acting_org = ix->patients[pt].gp_clinic;
        q->actor = pick_staff(w, q->acting_org, OB_ROLE_SECRETARY, r);
        q->on_behalf_of = pick_staff(w, q->acting_org, OB_ROLE_DOCTOR, r);
        q->category = OB_CAT_APPOINTMENT + (uint8_t)rbelow(r, 3);
        break;
    case RC_QUALITY: {
        uint32_t k = rbelow(r, NQUALITY);
        q->actor = w->quality[k];
        q->acting_org = w->quality_site[k];
        q->purpose = OB_PURPOSE_QUALITY;
        if (rchance(r, 60000))
            q->origin_org = q->acting_org + 1 + rbelow(r, DEPT_PER_HOSP);
        break;
    }
    case RC_RESEARCH: {
        uint32_t k = rbelow(r, NRESEARCHERS);
        q->actor = w->researchers[k];
        q->acting_org = w->research_org;
        q->purpose = OB_PURPOSE_RESEARCH;
        q->project = k < NRESEARCHERS / 2 ? 0 : 1;
        if (q->project == 1 && rchance(r, 70000))
            pt = pick(&w->research, w, r);
        break;
    }
    case RC_CITIZEN:
        q->actor_kind = OB_ACTOR_CITIZEN;
        q->actor = pt;
        q->purpose = OB_PURPOSE_PATIENT;
        q->acting_org = OB_NONE;
        break;
    case RC_ATTORNEY:
        pt = pick(&w->attorney, w, r);
        q->actor_kind = OB_ACTOR_CITIZEN;
        q->actor = ix->patients[pt].nattorneys ? ix->patients[pt].attorneys[0].holder : pt;
        q->purpose = OB_PURPOSE_ATTORNEY;
        q->acting_org = OB_NONE;
        break;
    case RC_PLANNING:
        q->actor = random_clinical_pro(w, r, &q->acting_org);
        q->purpose = OB_PURPOSE_PLANNING;
        break;
    case RC_COUNT:
        break;
    }
    q->patient = pt;
}

/* ---- the single rule: bare hash sets keyed by (patient, professional or org) ---- */
typedef struct hset {
    uint64_t *k; /* 0 = empty; keys are stored +1 so that 0 never occurs */
    uint64_t mask;
    size_t n;
} hset;

#define ORG_TAG 0x80000000u

static inline uint64_t hkey(uint32_t patient, uint32_t subject)
{
    return (((uint64_t)patient << 32) | subject) + 1;
}

static inline uint64_t hmix(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    return k;
}

static int hset_init(hset *h, size_t expect)
{
    size_t cap = 1024;
    while (cap < expect * 2)
        cap <<= 1;
    h->k = calloc(cap, sizeof *h->k);
    h->mask = cap - 1;
    h->n = 0;
    return h->k ? 0 : -1;
}

static void hset_put(hset *h, uint64_t key)
{
    uint64_t i = hmix(key) & h->mask;
    while (h->k[i] && h->k[i] != key)
        i = (i + 1) & h->mask;
    if (!h->k[i]) {
        h->k[i] = key;
        h->n++;
    }
}

static inline bool hset_has(const hset *h, uint64_t key)
{
    uint64_t i = hmix(key) & h->mask;
    for (;;) {
        uint64_t v = h->k[i];
        if (v == key)
            return true;
        if (!v)
            return false;
        i = (i + 1) & h->mask;
    }
}

typedef struct baseline {
    hset rels, blocks;
    const uint32_t *parent; /* org parent, OB_NONE at a root */
} baseline;

typedef struct cmp_req {
    uint32_t pro, site, patient;
} cmp_req;

static inline bool baseline_decide(const baseline *b, const cmp_req *q)
{
    bool rel = hset_has(&b->rels, hkey(q->patient, q->pro));
    for (uint32_t o = q->site; !rel && o != OB_NONE; o = b->parent[o])
        rel = hset_has(&b->rels, hkey(q->patient, o | ORG_TAG));
    return rel && !hset_has(&b->blocks, hkey(q->patient, q->pro));
}

static bool rel_current(const ob_relationship *r, ob_time now)
{
    return r->from <= now && now <= r->to;
}

static bool pro_block_current(const ob_block *b, ob_time now)
{
    return b->kind == OB_BLOCK_PROFESSIONAL && b->active && b->valid_from <= now &&
           now <= b->valid_to && b->categories == OB_CAT_ALL;
}

static void build_baseline(const world *w, baseline *b, uint32_t *parent)
{
    const ob_index *ix = w->ix;
    size_t nrels = 0, nblocks = 0;
    for (size_t i = 0; i < ix->npatients; i++) {
        nrels += ix->patients[i].nrels;
        nblocks += ix->patients[i].nblocks;
    }
    if (hset_init(&b->rels, nrels) < 0 || hset_init(&b->blocks, nblocks) < 0) {
        fprintf(stderr, "bench_decide: out of memory\n");
        exit(1);
    }
    for (uint32_t i = 0; i < ix->npatients; i++) {
        const ob_patient *p = &ix->patients[i];
        for (uint16_t k = 0; k < p->nrels; k++) {
            const ob_relationship *r = &p->rels[k];
            if (!rel_current(r, w->now))
                continue;
            hset_put(&b->rels,
                     hkey(i, r->professional != OB_NONE ? r->professional : r->org | ORG_TAG));
        }
        for (uint16_t k = 0; k < p->nblocks; k++)
            if (pro_block_current(&p->blocks[k], w->now))
                hset_put(&b->blocks, hkey(i, p->blocks[k].target));
    }
    for (size_t o = 0; o < ix->norgs; o++)
        parent[o] = ix->orgs[o].parent;
    b->parent = parent;
}

/* The comparison sample: treatment reads of a lab result from a hospital department by
 * clinical staff, on patients without site or period blocks, by professionals whose
 * clinic covers no other (so that only the single rule decides). */
static void gen_cmp(const world *w, rng *r, cmp_req *q)
{
    const ob_index *ix = w->ix;
    for (;;) {
        q->pro = 0;
        uint32_t pt = w->simple_blocks.v[rbelow(r, (uint32_t)w->simple_blocks.n)];
        unsigned k = rbelow(r, 100);
        if (k < 45) { /* GP staff and their listed patient */
            q->site = ix->patients[pt].gp_clinic;
            q->pro = pick_staff(w, q->site, OB_ROLE_COUNT, r);
        } else if (k < 55) { /* department staff and an admitted patient */
            pt = pick(&w->admitted, w, r);
            const ob_patient *P = &ix->patients[pt];
            q->site = P->rels[1].org;
            q->pro = pick_staff(w, q->site, OB_ROLE_COUNT, r);
        } else if (k < 85) { /* anyone, anyone */
            q->pro = random_clinical_pro(w, r, &q->site);
        } else { /* the professional the patient blocked */
            pt = pick(&w->pro_blocked, w, r);
            const ob_patient *P = &ix->patients[pt];
            for (uint16_t i = 0; i < P->nblocks; i++)
                if (P->blocks[i].kind == OB_BLOCK_PROFESSIONAL)
                    q->pro = P->blocks[i].target;
            q->site = ix->pros[q->pro].sites[0];
        }
        const ob_patient *P = &ix->patients[pt];
        bool simple = true;
        for (uint16_t i = 0; i < P->nblocks; i++)
            if (P->blocks[i].kind != OB_BLOCK_PROFESSIONAL)
                simple = false;
        if (!simple || w->substitute[q->site])
            continue;
        q->patient = pt;
        return;
    }
}

static void cmp_to_request(const world *w, const cmp_req *c, uint32_t origin, ob_request *q)
{
    memset(q, 0, sizeof *q);
    q->actor_kind = OB_ACTOR_PROFESSIONAL;
    q->actor = c->pro;
    q->acting_org = c->site;
    q->on_behalf_of = OB_NONE;
    q->patient = c->patient;
    q->category = OB_CAT_LAB_RESULT;
    q->origin_org = origin;
    q->item_time = w->now - days(30);
    q->source = OB_SRC_CLINICAL;
    q->purpose = OB_PURPOSE_TREAT;
    q->now = w->now;
    q->project = OB_NONE;
    q->recipient_org = OB_NONE;
}

/* ---- export for the peers ---- */
static FILE *open_out(const char *dir, const char *name)
{
    char path[4096];
    int n = snprintf(path, sizeof path, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= sizeof path) {
        fprintf(stderr, "bench_decide: export path too long\n");
        exit(1);
    }
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "bench_decide: cannot write %s: %s\n", path, strerror(errno));
        exit(1);
    }
    return f;
}

static void close_out(FILE *f)
{
    if (fclose(f) != 0) {
        fprintf(stderr, "bench_decide: write failed: %s\n", strerror(errno));
        exit(1);
    }
}

static void export_data(const world *w, const char *dir, const cmp_req *cmp, const bool *expect,
                        uint32_t ncmp)
{
    const ob_index *ix = w->ix;
    FILE *f = open_out(dir, "orgs.csv");
    fprintf(f, "org,parent\n");
    for (size_t o = 0; o < ix->norgs; o++)
        fprintf(f, "%zu,%" PRId64 "\n", o,
                ix->orgs[o].parent == OB_NONE ? (int64_t)-1 : (int64_t)ix->orgs[o].parent);
    close_out(f);
    f = open_out(dir, "rels.csv");
    fprintf(f, "patient,professional,org\n");
    size_t nrels = 0, nblocks = 0;
    for (uint32_t i = 0; i < ix->npatients; i++) {
        const ob_patient *p = &ix->patients[i];
        for (uint16_t k = 0; k < p->nrels; k++) {
            const ob_relationship *r = &p->rels[k];
            if (!rel_current(r, w->now))
                continue;
            if (r->professional != OB_NONE)
                fprintf(f, "%" PRIu32 ",%" PRIu32 ",-1\n", i, r->professional);
            else
                fprintf(f, "%" PRIu32 ",-1,%" PRIu32 "\n", i, r->org);
            nrels++;
        }
    }
    close_out(f);
    f = open_out(dir, "blocks.csv");
    fprintf(f, "patient,professional\n");
    for (uint32_t i = 0; i < ix->npatients; i++) {
        const ob_patient *p = &ix->patients[i];
        for (uint16_t k = 0; k < p->nblocks; k++)
            if (pro_block_current(&p->blocks[k], w->now)) {
                fprintf(f, "%" PRIu32 ",%" PRIu32 "\n", i, p->blocks[k].target);
                nblocks++;
            }
    }
    close_out(f);
    f = open_out(dir, "requests.csv");
    fprintf(f, "professional,site,patient,expect\n");
    for (uint32_t i = 0; i < ncmp; i++)
        fprintf(f, "%" PRIu32 ",%" PRIu32 ",%" PRIu32 ",%d\n", cmp[i].pro, cmp[i].site,
                cmp[i].patient, expect[i] ? 1 : 0);
    close_out(f);
    printf("export: %s: %zu orgs, %zu professionals, %zu patients, %zu current relationships, "
           "%zu professional blocks, %" PRIu32 " requests\n",
           dir, ix->norgs, ix->npros, ix->npatients, nrels, nblocks, ncmp);
}

/* ---- main ---- */
static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    opts o;
    if (parse_opts(argc, argv, &o) < 0)
        return 2;
    rng r = {o.seed};
    world *w = calloc(1, sizeof *w);
    if (!w || !(w->ix = ob_index_new())) {
        fprintf(stderr, "bench_decide: out of memory\n");
        return 1;
    }
    w->now = ob_time_from_ymd(2025, 6, 1) + 10 * 3600;
    double t0 = mono_s();
    CHECK(ob_index_reserve(w->ix, 4096, 32768, o.patients, &err));
    build_orgs(w, &r);
    build_pros(w, &r);
    build_patients(w, o.patients, &r);
    size_t nrels = 0, nblocks = 0, nconsents = 0, nblocked = 0, nconsenting = 0, nperms = 0;
    for (size_t i = 0; i < w->ix->npatients; i++) {
        const ob_patient *p = &w->ix->patients[i];
        nrels += p->nrels;
        nblocks += p->nblocks;
        nconsents += p->nconsents;
        nblocked += p->nblocks > 0;
        nconsenting += p->nconsents > 0;
    }
    for (size_t i = 0; i < w->ix->npros; i++)
        nperms += w->ix->pro_perms[i].n;
    printf("index: %zu orgs, %zu professionals, %zu patients, %zu relationships, %zu blocks "
           "on %.2f%% of patients, %zu consents on %.2f%%, %zu permissions, %zu projects, %zu "
           "covers; built in %.2f s\n",
           w->ix->norgs, w->ix->npros, w->ix->npatients, nrels, nblocks,
           100.0 * (double)nblocked / (double)w->ix->npatients, nconsents,
           100.0 * (double)nconsenting / (double)w->ix->npatients, nperms, w->ix->nprojects,
           w->ix->ncovers, mono_s() - t0);

    /* 1. the realistic mix */
    t0 = mono_s();
    ob_request *rq = malloc(o.requests * sizeof *rq);
    uint8_t *rc = malloc(o.requests);
    if (!rq || !rc) {
        fprintf(stderr, "bench_decide: out of memory for %" PRIu64 " requests\n", o.requests);
        return 1;
    }
    unsigned cum[RC_COUNT], total = 0;
    for (int c = 0; c < RC_COUNT; c++)
        cum[c] = (total += classes[c].permille);
    for (uint64_t i = 0; i < o.requests; i++) {
        unsigned x = rbelow(&r, total);
        int c = 0;
        while (x >= cum[c])
            c++;
        rc[i] = (uint8_t)c;
        gen_request(w, &r, (rq_class)c, &rq[i]);
    }
    printf("requests: %" PRIu64 " generated in %.2f s (%zu bytes each)\n", o.requests,
           mono_s() - t0, sizeof *rq);

    double tpk = calibrate_ticks();
    ob_decision d;
    uint64_t sink = 0;
    /* warm-up: one pass over a tenth of the requests */
    for (uint64_t i = 0; i < o.requests / 10; i++) {
        ob_policy_decide(w->ix, &rq[i], &d);
        sink += d.permit;
    }
    double rates[20];
    for (unsigned k = 0; k < o.rounds; k++) {
        double s = mono_s();
        for (uint64_t i = 0; i < o.requests; i++) {
            ob_policy_decide(w->ix, &rq[i], &d);
            sink += d.permit + d.rule;
        }
        double el = mono_s() - s;
        rates[k] = (double)o.requests / el;
        printf("mix throughput round %u: %" PRIu64 " decisions in %.3f s = %.0f decisions/s "
               "(%.1f ns/decision)\n",
               k + 1, o.requests, el, rates[k], el * 1e9 / (double)o.requests);
    }
    qsort(rates, o.rounds, sizeof rates[0], cmp_double);
    double mix_rate = rates[o.rounds / 2];
    printf("RESULT mix_rate %.0f\n", mix_rate);

    /* latency pass: a serialised tick read around every call */
    hist h;
    if (hist_init(&h) < 0)
        return 1;
    uint64_t over_min = UINT64_MAX;
    hist oh;
    if (hist_init(&oh) < 0)
        return 1;
    for (int i = 0; i < 1000000; i++) {
        uint64_t a = ticks(), b = ticks();
        hist_add(&oh, b - a);
        if (b - a < over_min)
            over_min = b - a;
    }
    uint64_t permit[OB_RULE_COUNT] = {0}, deny[OB_RULE_COUNT] = {0};
    uint64_t cls_n[RC_COUNT] = {0}, cls_permit[RC_COUNT] = {0}, cls_ticks[RC_COUNT] = {0};
    double s = mono_s();
    for (uint64_t i = 0; i < o.requests; i++) {
        uint64_t a = ticks();
        ob_policy_decide(w->ix, &rq[i], &d);
        uint64_t b = ticks();
        hist_add(&h, b - a);
        (d.permit ? permit : deny)[d.rule < OB_RULE_COUNT ? d.rule : OB_RULE_ACC_14]++;
        cls_n[rc[i]]++;
        cls_permit[rc[i]] += d.permit;
        cls_ticks[rc[i]] += b - a;
    }
    double lat_el = mono_s() - s;
    double ns = 1.0 / tpk;
    printf("latency (%s, %.3f ticks/ns, timer pair overhead median %.1f ns, min %.1f ns, "
           "included below): p50 %.0f ns, p90 %.0f ns, p99 %.0f ns, p99.9 %.0f ns, "
           "p99.99 %.0f ns, max %.0f ns; timed pass %.0f decisions/s\n",
           TICK_NAME, tpk, (double)hist_pct(&oh, 0.5) * ns, (double)over_min * ns,
           (double)hist_pct(&h, 0.5) * ns, (double)hist_pct(&h, 0.9) * ns,
           (double)hist_pct(&h, 0.99) * ns, (double)hist_pct(&h, 0.999) * ns,
           (double)hist_pct(&h, 0.9999) * ns, (double)h.max * ns, (double)o.requests / lat_el);
    printf("RESULT mix_p50_ns %.0f\nRESULT mix_p99_ns %.0f\nRESULT mix_p999_ns %.0f\n",
           (double)hist_pct(&h, 0.5) * ns, (double)hist_pct(&h, 0.99) * ns,
           (double)hist_pct(&h, 0.999) * ns);
    printf("%-34s %10s %8s %9s %10s\n", "request class", "count", "share", "permit%", "mean ns");
    for (int c = 0; c < RC_COUNT; c++)
        printf("%-34s %10" PRIu64 " %7.1f%% %8.1f%% %10.0f\n", classes[c].name, cls_n[c],
               100.0 * (double)cls_n[c] / (double)o.requests,
               cls_n[c] ? 100.0 * (double)cls_permit[c] / (double)cls_n[c] : 0.0,
               cls_n[c] ? (double)cls_ticks[c] * ns / (double)cls_n[c] : 0.0);
    printf("%-10s %12s %12s\n", "rule", "permit", "deny");
    for (int k = 0; k < OB_RULE_COUNT; k++)
        if (permit[k] || deny[k])
            printf("%-10s %12" PRIu64 " %12" PRIu64 "\n", ob_rule_name((ob_rule)k), permit[k],
                   deny[k]);
    free(rq);
    free(rc);
    free(h.b);

    /* 2. the single rule */
    uint32_t n = o.compare;
    cmp_req *cmp = malloc(n * sizeof *cmp);
    ob_request *crq = malloc(n * sizeof *crq);
    bool *expect = malloc(n);
    uint32_t *parent = malloc(w->ix->norgs * sizeof *parent);
    if (!cmp || !crq || !expect || !parent || hist_init(&h) < 0) {
        fprintf(stderr, "bench_decide: out of memory\n");
        return 1;
    }
    for (uint32_t i = 0; i < n; i++) {
        gen_cmp(w, &r, &cmp[i]);
        uint32_t origin;
        do
            origin = random_dept(w, &r);
        while (origin == cmp[i].site);
        cmp_to_request(w, &cmp[i], origin, &crq[i]);
    }
    baseline bl;
    build_baseline(w, &bl, parent);
    uint64_t cpermit = 0, mismatch = 0;
    for (uint32_t i = 0; i < n; i++) {
        ob_policy_decide(w->ix, &crq[i], &d);
        expect[i] = d.permit;
        cpermit += d.permit;
        mismatch += d.permit != baseline_decide(&bl, &cmp[i]);
    }
    printf("single rule: %" PRIu32 " requests, %.1f%% permitted, engine/baseline "
           "disagreements: %" PRIu64 "\n",
           n, 100.0 * (double)cpermit / n, mismatch);
    double er[20], br[20];
    for (unsigned k = 0; k < o.rounds; k++) {
        double a = mono_s();
        for (uint32_t i = 0; i < n; i++) {
            ob_policy_decide(w->ix, &crq[i], &d);
            sink += d.permit;
        }
        double b = mono_s();
        for (uint32_t i = 0; i < n; i++)
            sink += baseline_decide(&bl, &cmp[i]);
        double c = mono_s();
        er[k] = n / (b - a);
        br[k] = n / (c - b);
        printf("single rule round %u: engine %.0f decisions/s, hash baseline %.0f decisions/s\n",
               k + 1, er[k], br[k]);
    }
    qsort(er, o.rounds, sizeof er[0], cmp_double);
    qsort(br, o.rounds, sizeof br[0], cmp_double);
    s = mono_s();
    for (uint32_t i = 0; i < n; i++) {
        uint64_t a = ticks();
        sink += baseline_decide(&bl, &cmp[i]);
        uint64_t b = ticks();
        hist_add(&h, b - a);
    }
    double bel = mono_s() - s;
    printf("hash baseline with a timer around each call: %.0f decisions/s; p50 %.0f ns, p99 "
           "%.0f ns, p99.9 %.0f ns\n",
           n / bel, (double)hist_pct(&h, 0.5) * ns, (double)hist_pct(&h, 0.99) * ns,
           (double)hist_pct(&h, 0.999) * ns);
    memset(h.b, 0, HIST_MAX * sizeof *h.b);
    h.n = h.over = h.max = 0;
    s = mono_s();
    for (uint32_t i = 0; i < n; i++) {
        uint64_t a = ticks();
        ob_policy_decide(w->ix, &crq[i], &d);
        uint64_t b = ticks();
        sink += d.permit;
        hist_add(&h, b - a);
    }
    double el = mono_s() - s;
    printf("engine single rule with a timer around each call: %.0f decisions/s; p50 %.0f ns, "
           "p99 %.0f ns, p99.9 %.0f ns\n",
           n / el, (double)hist_pct(&h, 0.5) * ns, (double)hist_pct(&h, 0.99) * ns,
           (double)hist_pct(&h, 0.999) * ns);
    printf("RESULT rule_engine %.0f\nRESULT rule_baseline %.0f\nRESULT rule_mismatch %" PRIu64 "\n",
           er[o.rounds / 2], br[o.rounds / 2], mismatch);
    if (o.export_dir)
        export_data(w, o.export_dir, cmp, expect, n);
    printf("(checksum %" PRIu64 ")\n", sink);
    free(cmp);
    free(crq);
    free(expect);
    free(parent);
    free(h.b);
    free(oh.b);
    free(bl.rels.k);
    free(bl.blocks.k);
    ob_index_free(w->ix);
    free(w->at);
    free(w->substitute);
    free(w->admitted.v);
    free(w->home.v);
    free(w->pro_blocked.v);
    free(w->site_blocked.v);
    free(w->period_blocked.v);
    free(w->prevention.v);
    free(w->research.v);
    free(w->attorney.v);
    free(w->simple_blocks.v);
    free(w);
    return 0;
}

/* gen.c - the synthetic data generator (see gen.h). A splitmix64 stream drives every
 * choice, so output depends only on the seed and options. Records are written with
 * fprintf in the canonical field order; every string written is from fixed tables or
 * digits, so no JSON escaping is needed (checked by the loader, which parses it all). */
#include "gen/gen.h"

#include <stdbool.h>
#include <string.h>

#include "core/alloc.h"
#include "core/cpr.h"
#include "core/map.h"

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t next(rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint32_t below(rng *r, uint32_t n)
{
    return n ? (uint32_t)(next(r) % n) : 0;
}

static int chance(rng *r, unsigned per_mille)
{
    return below(r, 1000) < per_mille;
}

static const char *const regions[] = {"Region Hovedstaden", "Region Sjælland", "Region Syddanmark",
                                      "Region Midtjylland", "Region Nordjylland"};
static const char *const region_ids[] = {"rh", "rsj", "rsd", "rm", "rn"};
static const char *const towns[] = {
    "København", "Roskilde", "Odense",  "Aarhus",    "Aalborg",  "Esbjerg",   "Vejle",
    "Herning",   "Holbæk",   "Næstved", "Kolding",   "Randers",  "Viborg",    "Svendborg",
    "Hillerød",  "Slagelse", "Horsens", "Silkeborg", "Hjørring", "Sønderborg"};
static const char *const depts[] = {"Medicinsk afdeling",        "Kardiologisk afdeling",
                                    "Ortopædkirurgisk afdeling", "Akutmodtagelsen",
                                    "Endokrinologisk afdeling",  "Psykiatrisk afdeling"};
static const char *const dept_ids[] = {"med", "kard", "orto", "akut", "endo", "psyk"};
static const char *const munits[] = {"Hjemmesygeplejen", "Akutteamet", "Genoptræning"};
static const char *const munit_ids[] = {"hjemme", "akut", "genop"};
static const char *const first[] = {"Anne",    "Peter", "Mette",   "Jens",     "Kirsten", "Lars",
                                    "Hanne",   "Søren", "Susanne", "Niels",    "Lene",    "Henrik",
                                    "Camilla", "Mads",  "Ida",     "Frederik", "Sofie",   "Emil",
                                    "Freja",   "Oskar", "Karen",   "Ole",      "Birgit",  "Poul"};
static const char *const last[] = {
    "Jensen",   "Nielsen",   "Hansen",    "Pedersen", "Andersen",  "Christensen", "Larsen",
    "Sørensen", "Rasmussen", "Jørgensen", "Petersen", "Madsen",    "Kristensen",  "Olsen",
    "Thomsen",  "Poulsen",   "Johansen",  "Møller",   "Mortensen", "Østergaard"};
#define N(a) (sizeof(a) / sizeof((a)[0]))

typedef struct world {
    ob_map *cprs; /* CPR numbers already issued: a real population has no duplicates */
    char (*cpr_store)[11];
    FILE *f;
    rng r;
    rng r2; /* statistics additions (clusters, former listings): a separate stream, so the
             * data the decision tests and the tour rely on stays as it was */
    ob_time today;
    uint32_t nclinics, nhosp, nmun;
    ob_gen_counts c;
} world;

static void date(ob_time t, char buf[16])
{
    ob_date_format(t, buf);
}

static void stamp(ob_time t, char buf[32])
{
    ob_time_format(t, buf);
}

static void name(world *w, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s %s", first[below(&w->r, N(first))], last[below(&w->r, N(last))]);
}

/* provider numbers: six digits, unique by construction from the clinic number */
static void provider(uint32_t clinic, char buf[8])
{
    snprintf(buf, 8, "%06u", 100000u + clinic * 7u % 899999u);
}

static void orgs(world *w)
{
    FILE *f = w->f;
    for (unsigned r = 0; r < N(regions); r++) {
        fprintf(f, "{\"type\":\"org\",\"id\":\"%s\",\"kind\":\"region\",\"name\":\"%s\"}\n",
                region_ids[r], regions[r]);
        w->c.orgs++;
    }
    for (uint32_t h = 0; h < w->nhosp; h++) {
        const char *town = towns[h % N(towns)];
        fprintf(f,
                "{\"type\":\"org\",\"id\":\"hosp-%u\",\"kind\":\"hospital\",\"name\":\"%s "
                "Sygehus\",\"parent\":\"%s\",\"sor\":\"%u\",\"address\":\"Sygehusvej 1, "
                "%s\"}\n",
                h, town, region_ids[h % N(regions)], 100000000u + h * 1000u, town);
        w->c.orgs++;
        for (unsigned d = 0; d < N(depts); d++) {
            fprintf(f,
                    "{\"type\":\"org\",\"id\":\"hosp-%u-%s\",\"kind\":\"department\","
                    "\"name\":\"%s, %s Sygehus\",\"parent\":\"hosp-%u\",\"sor\":\"%u\","
                    "\"address\":\"Sygehusvej 1, %s\"}\n",
                    h, dept_ids[d], depts[d], town, h, 100000000u + h * 1000u + d + 1, town);
            w->c.orgs++;
        }
    }
    for (uint32_t m = 0; m < w->nmun; m++) {
        const char *town = towns[m % N(towns)];
        fprintf(f,
                "{\"type\":\"org\",\"id\":\"mun-%u\",\"kind\":\"municipality\",\"name\":\"%s "
                "Kommune\",\"sor\":\"%u\"}\n",
                m, town, 200000000u + m * 1000u);
        w->c.orgs++;
        for (unsigned u = 0; u < N(munits); u++) {
            fprintf(f,
                    "{\"type\":\"org\",\"id\":\"mun-%u-%s\",\"kind\":\"municipal_unit\","
                    "\"name\":\"%s, %s Kommune\",\"parent\":\"mun-%u\",\"sor\":\"%u\","
                    "\"address\":\"Rådhuspladsen %u, %s\"}\n",
                    m, munit_ids[u], munits[u], town, m, 200000000u + m * 1000u + u + 1, u + 1,
                    town);
            w->c.orgs++;
        }
    }
    for (uint32_t c = 0; c < w->nclinics; c++) {
        char prov[8];
        provider(c, prov);
        const char *town = towns[c % N(towns)];
        fprintf(f,
                "{\"type\":\"org\",\"id\":\"gp-%u\",\"kind\":\"gp_clinic\",\"name\":\"Lægerne "
                "%s %u\",\"provider_number\":\"%s\",\"sor\":\"%u\",\"address\":\"Lægehusvej "
                "%u, %s\"}\n",
                c, town, c, prov, 300000000u + c, c % 90 + 1, town);
        w->c.orgs++;
    }
    fprintf(f, "{\"type\":\"org\",\"id\":\"spec-0\",\"kind\":\"specialist\",\"name\":\"Øjenlæge "
               "Holm\",\"provider_number\":\"990001\",\"address\":\"Øjenvej 2, Aarhus\"}\n");
    fprintf(f, "{\"type\":\"org\",\"id\":\"kvalitetsdb\",\"kind\":\"quality_db\","
               "\"name\":\"Dansk Diabetes Database\"}\n");
    fprintf(f, "{\"type\":\"org\",\"id\":\"forskning\",\"kind\":\"research\","
               "\"name\":\"Forskningsenheden for Almen Praksis\"}\n");
    fprintf(f, "{\"type\":\"org\",\"id\":\"planlaegning\",\"kind\":\"admin\","
               "\"name\":\"Sundhedsplanlægning, Region Midtjylland\",\"parent\":\"rm\"}\n");
    w->c.orgs += 4;
}

static void pro(world *w, const char *id, const char *role, const char *site, bool authorised)
{
    char nm[64];
    name(w, nm, sizeof nm);
    if (authorised)
        fprintf(w->f,
                "{\"type\":\"professional\",\"id\":\"%s\",\"name\":\"%s\",\"role\":\"%s\","
                "\"authorisation_id\":\"%05u\",\"sites\":[\"%s\"]}\n",
                id, nm, role, below(&w->r, 100000), site);
    else
        fprintf(w->f,
                "{\"type\":\"professional\",\"id\":\"%s\",\"name\":\"%s\",\"role\":\"%s\","
                "\"sites\":[\"%s\"]}\n",
                id, nm, role, site);
    w->c.professionals++;
}

static void professionals(world *w)
{
    char id[64], site[40], from[16];
    date(w->today - 3 * 365 * 86400LL, from);
    for (uint32_t c = 0; c < w->nclinics; c++) {
        snprintf(site, sizeof site, "gp-%u", c);
        for (int d = 0; d < 2; d++) {
            snprintf(id, sizeof id, "gp-%u-dr%d", c, d);
            pro(w, id, "doctor", site, true);
        }
        snprintf(id, sizeof id, "gp-%u-nurse", c);
        pro(w, id, "nurse", site, true);
        snprintf(id, sizeof id, "gp-%u-sec", c);
        pro(w, id, "secretary", site, false);
        fprintf(w->f,
                "{\"type\":\"permission\",\"professional\":\"gp-%u-sec\",\"site\":\"gp-%u\","
                "\"kind\":\"assist\",\"from\":\"%s\"}\n",
                c, c, from);
        fprintf(w->f,
                "{\"type\":\"permission\",\"professional\":\"gp-%u-dr0\",\"site\":\"gp-%u\","
                "\"kind\":\"quality\",\"from\":\"%s\"}\n",
                c, c, from);
        /* the clinic's management (issue 24): its first doctor ends its permissions */
        fprintf(w->f,
                "{\"type\":\"permission\",\"professional\":\"gp-%u-dr0\",\"site\":\"gp-%u\","
                "\"kind\":\"manage\",\"from\":\"%s\"}\n",
                c, c, from);
    }
    for (uint32_t h = 0; h < w->nhosp; h++)
        for (unsigned d = 0; d < N(depts); d++) {
            snprintf(site, sizeof site, "hosp-%u-%s", h, dept_ids[d]);
            for (int k = 0; k < 3; k++) {
                snprintf(id, sizeof id, "%s-dr%d", site, k);
                pro(w, id, "doctor", site, true);
            }
            for (int k = 0; k < 3; k++) {
                snprintf(id, sizeof id, "%s-nurse%d", site, k);
                pro(w, id, "nurse", site, true);
            }
            snprintf(id, sizeof id, "%s-sec", site);
            pro(w, id, "medical_assistant", site, false);
            fprintf(w->f,
                    "{\"type\":\"permission\",\"professional\":\"%s-sec\",\"site\":\"%s\","
                    "\"kind\":\"assist\",\"from\":\"%s\"}\n",
                    site, site, from);
        }
    for (uint32_t m = 0; m < w->nmun; m++)
        for (unsigned u = 0; u < N(munits); u++) {
            snprintf(site, sizeof site, "mun-%u-%s", m, munit_ids[u]);
            for (int k = 0; k < 3; k++) {
                snprintf(id, sizeof id, "%s-nurse%d", site, k);
                pro(w, id, "nurse", site, true);
            }
        }
    pro(w, "spec-0-dr", "doctor", "spec-0", true);
    pro(w, "forsker-1", "doctor", "forskning", true);
    pro(w, "forsker-2", "researcher", "forskning", false);
    pro(w, "planner-1", "planner", "planlaegning", false);
    char to[16];
    date(w->today + 365 * 86400LL, to);
    fprintf(w->f,
            "{\"type\":\"project\",\"id\":\"prj-diabetes\",\"title\":\"Type 2-diabetes i "
            "almen praksis\",\"approval_ref\":\"VEK H-24012345\",\"controller_permission\":true,"
            "\"identifiable\":false,\"categories\":[\"diagnosis\",\"measurement\","
            "\"lab_result\"],\"from\":\"%s\",\"to\":\"%s\",\"members\":[\"forsker-1\"]}\n",
            from, to);
    fprintf(w->f,
            "{\"type\":\"project\",\"id\":\"prj-kohorte\",\"title\":\"Hjertekohorten\","
            "\"categories\":[\"diagnosis\",\"measurement\"],\"from\":\"%s\",\"to\":\"%s\","
            "\"members\":[\"forsker-1\"]}\n",
            from, to);
    /* holiday cover: clinic 1 covers clinic 0 for three weeks around today */
    if (w->nclinics > 1) {
        char cf[16], ct[16];
        date(w->today - 7 * 86400LL, cf);
        date(w->today + 14 * 86400LL, ct);
        fprintf(w->f,
                "{\"type\":\"cover\",\"substitute\":\"gp-1\",\"covered\":\"gp-0\",\"from\":\"%s\","
                "\"to\":\"%s\"}\n",
                cf, ct);
    }
}

/* Statistics (R-STAT): a planner per municipality; GP quality clusters of up to 20 clinics
 * (clinic c in cluster c mod n, coordinated by the first member's dr0); one planning group per
 * municipality over the clinics c with c mod nmun == m. */
static void clusters(world *w)
{
    char id[48], site[24], nm[64], from[16], meeting[16];
    date(w->today - 3 * 365 * 86400LL, from);
    date(w->today + 30 * 86400LL, meeting);
    (void)from;
    for (uint32_t m = 0; m < w->nmun; m++) {
        snprintf(nm, sizeof nm, "%s %s", first[below(&w->r2, N(first))],
                 last[below(&w->r2, N(last))]);
        fprintf(w->f,
                "{\"type\":\"professional\",\"id\":\"mun-%u-planner\",\"name\":\"%s\","
                "\"role\":\"planner\",\"sites\":[\"mun-%u\"]}\n",
                m, nm, m);
        w->c.professionals++;
    }
    uint32_t ncl = (w->nclinics + 19) / 20;
    for (uint32_t q = 0; q < ncl; q++) {
        fprintf(w->f,
                "{\"type\":\"cluster\",\"id\":\"klynge-%u\",\"name\":\"Klynge %s\","
                "\"kind\":\"quality\",\"members\":[",
                q, towns[q % N(towns)]);
        for (uint32_t c = q; c < w->nclinics; c += ncl)
            fprintf(w->f, "%s\"gp-%u\"", c == q ? "" : ",", c);
        fprintf(w->f,
                "],\"coordinators\":[\"gp-%u-dr0\"],\"agreement\":\"pseudonym\",\"k\":5,"
                "\"retention\":12,\"epsilon\":3}\n",
                q);
    }
    for (uint32_t m = 0; m < w->nmun; m++) {
        snprintf(site, sizeof site, "mun-%u", m);
        snprintf(id, sizeof id, "plan-%s", site);
        fprintf(w->f,
                "{\"type\":\"cluster\",\"id\":\"%s\",\"name\":\"Planlægning %s "
                "Kommune\",\"kind\":\"planning\",\"municipality\":\"%s\",\"members\":[",
                id, towns[m % N(towns)], site);
        for (uint32_t c = m; c < w->nclinics; c += w->nmun)
            fprintf(w->f, "%s\"gp-%u\"", c == m ? "" : ",", c);
        fprintf(w->f,
                "],\"coordinators\":[\"%s-planner\"],\"agreement\":\"pseudonym\",\"k\":10,"
                "\"retention\":\"after_meeting\",\"meeting\":\"%s\"}\n",
                site, meeting);
    }
}

/* birth year with a realistic spread, plus a few historical CPRs (1858-1899) */
static int birth_year(world *w)
{
    if (chance(&w->r, 2))
        return 1858 + (int)below(&w->r, 42);
    return 1925 + (int)below(&w->r, 101);
}

static void item(world *w, const char *pid, uint64_t *k, const char *cat, const char *origin,
                 ob_time t, const char *src, const char *code, int value, const char *extra)
{
    char ts[32];
    stamp(t, ts);
    fprintf(w->f,
            "{\"type\":\"item\",\"id\":\"%s-i%llu\",\"patient\":\"%s\",\"category\":\"%s\","
            "\"origin\":\"%s\",\"time\":\"%s\",\"source\":\"%s\"",
            pid, (unsigned long long)(*k)++, pid, cat, origin, ts, src);
    if (code)
        fprintf(w->f, ",\"code\":\"%s\"", code);
    if (value)
        fprintf(w->f, ",\"value\":%d", value);
    if (extra)
        fprintf(w->f, ",%s", extra);
    fputs("}\n", w->f);
    w->c.items++;
}

/* Choices that must not disturb the main random stream (so every other generated
 * record stays as it was): a hash of fixed numbers. */
static uint64_t mix(uint64_t z)
{
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* A booked appointment pushed by a source system (R-APT-1). Its identifier is the id
 * the item numbering gives it, so other items keep their ids. About 5% are not shared
 * (R-APT-2); some have no end time (R-APT-4, shown with a fictive end). */
static void appointment(world *w, const char *pid, uint64_t *k, const char *source,
                        const char *clinic, ob_time start, int minutes, const char *address)
{
    char ts[32], te[32];
    uint64_t h = mix(((uint64_t)w->c.patients << 20) ^ *k);
    stamp(start, ts);
    fprintf(w->f,
            "{\"type\":\"appointment\",\"source\":\"%s\",\"system\":\"urn:overblik:gen:%s\","
            "\"identifier\":\"%s-i%llu\",\"patient\":\"%s\",\"clinic\":\"%s\",\"start\":\"%s\"",
            source, source, pid, (unsigned long long)(*k)++, pid, clinic, ts);
    if (minutes > 0 && h % 3 != 0) {
        stamp(start + minutes * 60, te);
        fprintf(w->f, ",\"end\":\"%s\"", te);
    }
    if (address)
        fprintf(w->f, ",\"address\":\"%s\"", address);
    if ((h >> 8) % 20 == 0)
        fputs(",\"shared\":false", w->f);
    fputs("}\n", w->f);
    w->c.items++;
}

/* Source systems and their go-live dates (R-APT-5): hospitals' EPJ 2016-2019, GP
 * systems 2018-2022, municipal EOJ 2019-2021; every third hospital (from the second) and every
 * fifth clinic goes live a few weeks after `today`, so their first appointments are held before
 * go-live and are never shown. */
static void sources(world *w)
{
    char d[16];
    for (uint32_t h = 0; h < w->nhosp; h++) {
        ob_time t = h % 3 == 1 ? w->today + 30 * 86400LL
                               : ob_time_from_ymd(2016 + (int)(h % 4), 1 + (int)(h * 5 % 12), 1);
        date(t, d);
        fprintf(w->f,
                "{\"type\":\"source\",\"client_id\":\"epj-hosp-%u\",\"site\":\"hosp-%u\","
                "\"go_live\":\"%s\",\"name\":\"%s\"}\n",
                h, h, d, h % 2 ? "Midt EPJ" : "Sundhedsplatformen");
    }
    for (uint32_t m = 0; m < w->nmun; m++) {
        date(ob_time_from_ymd(2019 + (int)(m % 3), 3, 1), d);
        fprintf(w->f,
                "{\"type\":\"source\",\"client_id\":\"eoj-mun-%u\",\"site\":\"mun-%u\","
                "\"go_live\":\"%s\",\"name\":\"Cura\"}\n",
                m, m, d);
    }
    for (uint32_t c = 0; c < w->nclinics; c++) {
        ob_time t = c % 5 == 4 ? w->today + 14 * 86400LL
                               : ob_time_from_ymd(2018 + (int)(c % 5), 1 + (int)(c * 7 % 12), 1);
        date(t, d);
        fprintf(w->f,
                "{\"type\":\"source\",\"client_id\":\"gpsys-%u\",\"site\":\"gp-%u\","
                "\"go_live\":\"%s\",\"name\":\"%s\"}\n",
                c, c, d, c % 2 ? "XMO" : "EG Clinea");
    }
}

/* Medication, the childhood vaccination programme and treatment wills (issue 20): added
 * after every other item of the patient and chosen by hashes, not the random streams, so
 * every record generated before this existed keeps its id and content. Names are real
 * Danish drug names with their ATC codes; every text says it is synthetic. */
static void extra_items(world *w, uint32_t i, const char *pid, const char *gp, int age,
                        bool diabetes, bool hypertension, uint64_t *k)
{
    static const struct drug {
        const char *atc, *name, *dose;
    } dm[] = {{"A10BA02", "Metformin \\\"Sandoz\\\" 500 mg", "1 tablet 2 gange dagligt"},
              {"A10BJ06", "Ozempic 1 mg", "1 injektion om ugen"}},
      ht[] = {{"C09AA05", "Ramipril \\\"Actavis\\\" 5 mg", "1 kapsel dagligt"},
              {"C08CA01", "Amlodipin \\\"Krka\\\" 5 mg", "1 tablet dagligt"}},
      other[] = {{"N02BE01", "Panodil 500 mg", "2 tabletter ved behov, højst 8 i døgnet"},
                 {"A02BC01", "Omeprazol \\\"Teva\\\" 20 mg", "1 kapsel dagligt"},
                 {"C10AA05", "Atorvastatin \\\"Krka\\\" 20 mg", "1 tablet til natten"}};
    uint64_t h = mix(0xD1CEull ^ ((uint64_t)i << 20));
    const struct drug *d[3];
    int nd = 0;
    if (diabetes)
        d[nd++] = &dm[h % 2];
    if (hypertension)
        d[nd++] = &ht[(h >> 8) % 2];
    if ((h >> 16) % 100 < 15)
        d[nd++] = &other[(h >> 24) % 3];
    char extra[512];
    for (int j = 0; j < nd; j++) {
        snprintf(extra, sizeof extra, "\"display\":\"%s\",\"dose\":\"%s\",\"status\":\"active\"",
                 d[j]->name, d[j]->dose);
        item(w, pid, k, "medication", gp,
             w->today - (ob_time)(30 + (h >> (32 + j * 8)) % 900) * 86400, "clinical", d[j]->atc, 0,
             extra);
    }
    /* the childhood programme (Sundhedsstyrelsen's børnevaccinationsprogram), by age */
    static const struct vac {
        int from_age;
        const char *atc, *name;
    } prog[] = {{0, "J07CA09", "DiTeKiPol/Hib"},
                {1, "J07BD52", "MFR (mæslinger, fåresyge, røde hunde)"},
                {12, "J07BM03", "HPV (Gardasil 9)"}};
    for (size_t j = 0; j < N(prog); j++)
        if (age >= prog[j].from_age && age < 18) {
            snprintf(extra, sizeof extra, "\"display\":\"%s\"", prog[j].name);
            item(w, pid, k, "vaccination", gp,
                 w->today - (ob_time)(age - prog[j].from_age) * 365 * 86400 -
                     (ob_time)((h >> (j * 5)) % 200) * 86400,
                 "clinical", prog[j].atc, 0, extra);
        }
    if (age >= 65 && (h >> 40) % 100 < 70) { /* the yearly influenza vaccination */
        item(w, pid, k, "vaccination", gp, w->today - (ob_time)((h >> 44) % 60) * 86400, "clinical",
             "J07BB02", 0, "\"display\":\"Influvac Tetra\"");
    }
    if (age >= 70 && (h >> 50) % 100 < 4) /* a treatment will, registered through the GP */
        item(w, pid, k, "treatment_will", gp, w->today - (ob_time)((h >> 52) % 2000) * 86400,
             "clinical", NULL, 0,
             "\"title\":\"Behandlingstestamente\",\"text\":\"SYNTETISK TESTDOKUMENT (ingen "
             "rigtig patient). Ønsker ikke livsforlængende behandling ved uafvendelig død.\"");
}

static void patient(world *w, uint32_t i)
{
    char pid[24], nm[64], gp[24], d0[16], d1[16];
    snprintf(pid, sizeof pid, "pt-%u", i);
    name(w, nm, sizeof nm);
    int y = birth_year(w), m = 1 + (int)below(&w->r, 12), d = 1 + (int)below(&w->r, 28);
    ob_cpr cpr;
    int serial = (int)below(&w->r, 1000);
    /* not every serial fits every century: walk until one does (always terminates) */
    for (int tries = 0;; tries++) {
        if (ob_cpr_make(y, m, d, serial, i & 1, &cpr) == OB_OK &&
            ob_map_get(w->cprs, cpr.digits, 10) == UINT32_MAX)
            break;
        serial = (serial + 97) % 1000;
        if (tries % 1000 == 999) /* every serial of this day is used: another day */
            d = d % 28 + 1;
    }
    memcpy(w->cpr_store[i], cpr.digits, 11);
    ob_map_put(w->cprs, w->cpr_store[i], 10, i);
    uint32_t clinic = below(&w->r, w->nclinics);
    snprintf(gp, sizeof gp, "gp-%u", clinic);
    bool historical = y < 1900;
    fprintf(w->f, "{\"type\":\"patient\",\"id\":\"%s\",\"name\":\"%s\",\"cpr\":\"%.6s-%s\"", pid,
            nm, cpr.digits, cpr.digits + 6);
    if (!historical)
        fprintf(w->f, ",\"gp\":\"%s\"", gp);
    fputs("}\n", w->f);
    w->c.patients++;
    if (historical)
        return;
    ob_time listed = w->today - (ob_time)below(&w->r, 15 * 365) * 86400;
    if (listed < ob_time_from_ymd(y, m, d))
        listed = ob_time_from_ymd(y, m, d);
    date(listed, d0);
    fprintf(w->f,
            "{\"type\":\"relationship\",\"patient\":\"%s\",\"org\":\"%s\",\"kind\":\"listed\","
            "\"from\":\"%s\"}\n",
            pid, gp, d0);
    w->c.relationships++;
    /* about 5%: a former listing at another clinic that ended when this one began, so
     * clinic-local statistics have former patients (R-STAT-5) */
    if (w->nclinics > 1 && chance(&w->r2, 50)) {
        uint32_t other = (clinic + 1 + below(&w->r2, w->nclinics - 1)) % w->nclinics;
        ob_time prev = listed - (ob_time)(365 + below(&w->r2, 4 * 365)) * 86400;
        if (prev > ob_time_from_ymd(y, m, d)) {
            date(prev, d1);
            fprintf(w->f,
                    "{\"type\":\"relationship\",\"patient\":\"%s\",\"org\":\"gp-%u\","
                    "\"kind\":\"listed\",\"from\":\"%s\",\"to\":\"%s\"}\n",
                    pid, other, d1, d0);
            w->c.relationships++;
        }
    }
    uint64_t k = 0;
    int age = 2026 - y;
    bool diabetes = chance(&w->r, age > 50 ? 120 : 30);
    bool hypertension = chance(&w->r, age > 50 ? 300 : 60);
    ob_time five_years = 5 * 365 * 86400LL;
    if (diabetes) {
        item(w, pid, &k, "diagnosis", gp, w->today - below(&w->r, 3000) * 86400LL, "clinical",
             chance(&w->r, 300) ? "T90.1" : "T90", 0, NULL);
        if (chance(&w->r, 400)) {
            char h[40];
            snprintf(h, sizeof h, "hosp-%u-endo", below(&w->r, w->nhosp));
            item(w, pid, &k, "diagnosis", h, w->today - below(&w->r, 2000) * 86400LL, "clinical",
                 "E11.9", 0, NULL);
        }
        for (int yr = 0; yr < 5; yr++)
            if (chance(&w->r, 750))
                item(w, pid, &k, "appointment", gp,
                     w->today - (ob_time)yr * 365 * 86400 - below(&w->r, 300) * 86400LL, "clinical",
                     "ANNUAL-CHECKUP", 0,
                     "\"title\":\"Årskontrol, diabetes\",\"status\":\"fulfilled\"");
    }
    if (hypertension)
        item(w, pid, &k, "diagnosis", gp, w->today - below(&w->r, 4000) * 86400LL, "clinical",
             "K86", 0, NULL);
    if (diabetes || hypertension || chance(&w->r, 50)) {
        int n = 1 + (int)below(&w->r, 5);
        int base = 118 + (int)below(&w->r, 45);
        for (int j = 0; j < n; j++) {
            bool home = chance(&w->r, 150); /* R-PRD-1: patient-reported */
            item(w, pid, &k, "measurement", home ? gp : gp,
                 w->today - (ob_time)below(&w->r, (uint32_t)(five_years / 86400 + 400)) * 86400,
                 home ? "patient_reported" : "clinical", "DNK05472",
                 base + (int)below(&w->r, 21) - 10, NULL);
        }
    }
    if (chance(&w->r, 150)) { /* a hospital course */
        uint32_t h = below(&w->r, w->nhosp);
        const char *dept = dept_ids[below(&w->r, N(depts))];
        char org[40];
        snprintf(org, sizeof org, "hosp-%u-%s", h, dept);
        ob_time start = w->today - (ob_time)below(&w->r, 700) * 86400;
        bool open = chance(&w->r, 300);
        date(start, d0);
        date(start + (ob_time)(2 + below(&w->r, 20)) * 86400, d1);
        if (open)
            fprintf(w->f,
                    "{\"type\":\"relationship\",\"patient\":\"%s\",\"org\":\"%s\","
                    "\"kind\":\"admission\",\"from\":\"%s\"}\n",
                    pid, org, d0);
        else
            fprintf(w->f,
                    "{\"type\":\"relationship\",\"patient\":\"%s\",\"org\":\"%s\","
                    "\"kind\":\"admission\",\"from\":\"%s\",\"to\":\"%s\"}\n",
                    pid, org, d0, d1);
        w->c.relationships++;
        item(w, pid, &k, "clinical_note", org, start + 3600, "clinical", NULL, 0,
             "\"title\":\"Indlæggelsesnotat\",\"text\":\"SYNTETISK TESTNOTAT (ingen rigtig "
             "patient). Indlagt til observation. Almentilstand upåvirket, vitale værdier i "
             "normalområdet. Plan: blodprøver, tilsyn i morgen.\"");
        item(w, pid, &k, "lab_result", org, start + 7200, "clinical", "NPU02319",
             100 + (int)below(&w->r, 60), NULL);
        if (!open) { /* seed 001 case 10: the GP's follow-up flag and the plan */
            static const char *const flags[] = {"green", "yellow", "red", "white"};
            char extra[512];
            snprintf(extra, sizeof extra,
                     "\"title\":\"Epikrise\",\"text\":\"SYNTETISK TESTEPIKRISE (ingen rigtig "
                     "patient). Udskrevet i habituel tilstand.\",\"followup\":\"%s\",\"plan\":"
                     "\"Egen læge: kontrol af blodtryk og blodprøver om 2 uger.\"",
                     flags[mix((uint64_t)i * 7919 + k) % 4]);
            item(w, pid, &k, "discharge_summary", org, start + 2 * 86400, "clinical", NULL, 0,
                 extra);
        }
        /* a follow-up appointment, some without an end time (R-APT-4) */
        char addr[96], src[32];
        snprintf(addr, sizeof addr, "Sygehusvej 1, %s", towns[h % N(towns)]);
        snprintf(src, sizeof src, "epj-hosp-%u", h);
        appointment(w, pid, &k, src, org, w->today + (ob_time)below(&w->r, 90) * 86400 + 36000, 30,
                    addr);
    }
    if (age > 70 && chance(&w->r, 150)) { /* home nursing */
        char org[40];
        snprintf(org, sizeof org, "mun-%u-hjemme", below(&w->r, w->nmun));
        date(w->today - (ob_time)below(&w->r, 400) * 86400, d0);
        fprintf(w->f,
                "{\"type\":\"relationship\",\"patient\":\"%s\",\"org\":\"%s\","
                "\"kind\":\"home_nursing\",\"from\":\"%s\"}\n",
                pid, org, d0);
        w->c.relationships++;
        char src[32];
        snprintf(src, sizeof src, "eoj-%.*s", (int)(strrchr(org, '-') - org), org);
        /* a home visit: at the patient's home, no end time (R-APT-4) */
        appointment(w, pid, &k, src, org, w->today + (ob_time)below(&w->r, 14) * 86400 + 30000, 0,
                    NULL);
    }
    if (chance(&w->r, 250)) {
        char src[32];
        snprintf(src, sizeof src, "gpsys-%u", clinic);
        appointment(w, pid, &k, src, gp, w->today + (ob_time)below(&w->r, 60) * 86400 + 32400, 15,
                    NULL);
    }
    if (chance(&w->r, 400))
        item(w, pid, &k, "vaccination", gp, w->today - below(&w->r, 900) * 86400LL, "clinical",
             "J07BB", 0, "\"display\":\"Influenzavaccine\"");
    extra_items(w, i, pid, gp, age, diabetes, hypertension, &k);
    /* blocks (R-BLK-1): about 1% of patients, all three kinds */
    if (chance(&w->r, 10)) {
        uint32_t kind = below(&w->r, 3);
        if (kind == 0) /* a named doctor at their own clinic */
            fprintf(w->f,
                    "{\"type\":\"block\",\"patient\":\"%s\",\"kind\":\"professional\","
                    "\"target\":\"gp-%u-dr1\"}\n",
                    pid, clinic);
        else if (kind == 1)
            fprintf(w->f,
                    "{\"type\":\"block\",\"patient\":\"%s\",\"kind\":\"site\",\"target\":\"hosp-%u-"
                    "psyk\",\"include_subunits\":true}\n",
                    pid, below(&w->r, w->nhosp));
        else {
            date(w->today - (ob_time)(400 + below(&w->r, 400)) * 86400, d0);
            date(w->today - (ob_time)below(&w->r, 300) * 86400, d1);
            fprintf(
                w->f,
                "{\"type\":\"block\",\"patient\":\"%s\",\"kind\":\"period\",\"data_from\":\"%s\","
                "\"data_to\":\"%s\"}\n",
                pid, d0, d1);
        }
        w->c.blocks++;
    }
    /* consents (R-CON): prevention follow-up by the municipality, about 3% */
    if (chance(&w->r, 30)) {
        date(w->today - (ob_time)below(&w->r, 200) * 86400, d0);
        date(w->today + 365 * 86400LL, d1);
        fprintf(w->f,
                "{\"type\":\"consent\",\"patient\":\"%s\",\"kind\":\"prevention\",\"recipient\":"
                "{\"org_kind\":\"municipal_unit\"},\"categories\":[\"diagnosis\",\"measurement\"],"
                "\"from\":\"%s\",\"to\":\"%s\",\"text\":\"Jeg giver samtykke til, at kommunens "
                "forebyggelsesteam må se mine diagnoser og målinger i et år.\",\"form\":"
                "\"written\"}\n",
                pid, d0, d1);
        w->c.consents++;
    }
    /* power of attorney: about 2%, held by the previous patient */
    if (i > 0 && chance(&w->r, 20)) {
        date(w->today - (ob_time)below(&w->r, 500) * 86400, d0);
        fprintf(w->f,
                "{\"type\":\"relative\",\"patient\":\"%s\",\"holder\":\"pt-%u\","
                "\"capacity\":\"attorney\",\"scope\":[\"appointment\",\"medication\","
                "\"measurement\"],\"from\":\"%s\"}\n",
                pid, i - 1, d0);
        w->c.relatives++;
    }
}

void ob_gen_default(ob_gen_options *o)
{
    memset(o, 0, sizeof *o);
    o->seed = 1;
    o->patients = 10000;
    o->today = ob_time_from_ymd(2026, 11, 1);
}

ob_status ob_gen_write(const ob_gen_options *o, FILE *out, ob_gen_counts *counts, ob_err *e)
{
    if (o->patients == 0 || o->patients > 10000000)
        return ob_err_set(e, OB_EINVAL, "--patients must be between 1 and 10,000,000");
    world w;
    memset(&w, 0, sizeof w);
    w.f = out;
    w.r.s = o->seed;
    w.r2.s = o->seed ^ 0x5354415453ull; /* "STATS" */
    w.today = o->today;
    w.nclinics = o->patients / 2000 + 2;
    w.nhosp = o->patients / 50000 + 2;
    w.nmun = o->patients / 20000 + 2;
    if (w.nhosp > 60)
        w.nhosp = 60;
    if (w.nmun > 98)
        w.nmun = 98;
    w.cprs = ob_map_new();
    w.cpr_store = ob_calloc(o->patients, sizeof *w.cpr_store);
    if (!w.cprs || !w.cpr_store) {
        ob_map_free(w.cprs);
        ob_free(w.cpr_store);
        return ob_err_set(e, OB_ENOMEM, "out of memory generating data");
    }
    orgs(&w);
    sources(&w);
    professionals(&w);
    clusters(&w);
    for (uint32_t i = 0; i < o->patients; i++) {
        patient(&w, i);
        if (o->progress && (i + 1) % 5000 == 0)
            o->progress(o->progress_ctx, i + 1, o->patients);
    }
    if (o->progress)
        o->progress(o->progress_ctx, o->patients, o->patients);
    ob_map_free(w.cprs);
    ob_free(w.cpr_store);
    if (ferror(out))
        return ob_err_set(e, OB_EIO, "cannot write the generated data");
    if (counts)
        *counts = w.c;
    return OB_OK;
}

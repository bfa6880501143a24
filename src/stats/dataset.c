/* dataset.c - the columnar in-memory dataset the store fills for statistics (R-STAT-1).
 * Plain growable arrays; no I/O. The aggregation in report.c reads it in single passes. */
#include "stats/stats.h"

#include <ctype.h>
#include <string.h>

#include "core/alloc.h"

ob_stats_dataset *ob_stats_dataset_new(void)
{
    return ob_calloc(1, sizeof(ob_stats_dataset));
}

void ob_stats_dataset_free(ob_stats_dataset *d)
{
    if (!d)
        return;
    ob_free(d->clinic_provider);
    ob_free(d->clinic_cluster);
    ob_free(d->pat_clinic);
    ob_free(d->pat_list_from);
    ob_free(d->pat_list_to);
    ob_free(d->diag_patient);
    ob_free(d->diag_code);
    ob_free(d->diag_time);
    ob_free(d->obs_patient);
    ob_free(d->obs_kind);
    ob_free(d->obs_time);
    ob_free(d->obs_value);
    ob_free(d->chk_patient);
    ob_free(d->chk_time);
    ob_free(d);
}

/* Grows a set of parallel columns together so that they never disagree in capacity. */
static int grow_cols(size_t *cap, size_t need, size_t n, void **cols[], const size_t sizes[])
{
    if (need <= *cap)
        return 0;
    size_t nc = *cap ? *cap : 64;
    while (nc < need)
        nc *= 2;
    for (size_t i = 0; i < n; i++) {
        void *p = ob_realloc(*cols[i], nc * sizes[i]);
        if (!p)
            return -1;
        *cols[i] = p;
    }
    *cap = nc;
    return 0;
}

static int grow_clinics(ob_stats_dataset *d, size_t need)
{
    void **c[] = {(void **)&d->clinic_provider, (void **)&d->clinic_cluster};
    const size_t s[] = {OB_STATS_PROV_MAX, sizeof(uint32_t)};
    return grow_cols(&d->cap_clinics, need, 2, c, s);
}

static int grow_patients(ob_stats_dataset *d, size_t need)
{
    void **c[] = {(void **)&d->pat_clinic, (void **)&d->pat_list_from, (void **)&d->pat_list_to};
    const size_t s[] = {sizeof(uint32_t), sizeof(ob_time), sizeof(ob_time)};
    return grow_cols(&d->cap_patients, need, 3, c, s);
}

static int grow_diag(ob_stats_dataset *d, size_t need)
{
    void **c[] = {(void **)&d->diag_patient, (void **)&d->diag_code, (void **)&d->diag_time};
    const size_t s[] = {sizeof(uint32_t), OB_STATS_CODE_MAX, sizeof(ob_time)};
    return grow_cols(&d->cap_diag, need, 3, c, s);
}

static int grow_obs(ob_stats_dataset *d, size_t need)
{
    void **c[] = {(void **)&d->obs_patient, (void **)&d->obs_kind, (void **)&d->obs_time,
                  (void **)&d->obs_value};
    const size_t s[] = {sizeof(uint32_t), 1, sizeof(ob_time), sizeof(int32_t)};
    return grow_cols(&d->cap_obs, need, 4, c, s);
}

static int grow_chk(ob_stats_dataset *d, size_t need)
{
    void **c[] = {(void **)&d->chk_patient, (void **)&d->chk_time};
    const size_t s[] = {sizeof(uint32_t), sizeof(ob_time)};
    return grow_cols(&d->cap_chk, need, 2, c, s);
}

ob_status ob_stats_dataset_reserve(ob_stats_dataset *d, size_t clinics, size_t patients,
                                   size_t diags, size_t obs, size_t chks, ob_err *e)
{
    if (grow_clinics(d, clinics) || grow_patients(d, patients) || grow_diag(d, diags) ||
        grow_obs(d, obs) || grow_chk(d, chks))
        return ob_err_set(e, OB_ENOMEM, "out of memory reserving the statistics dataset");
    return OB_OK;
}

ob_status ob_stats_add_clinic(ob_stats_dataset *d, const char *provider, uint32_t cluster,
                              uint32_t *id_out, ob_err *e)
{
    size_t len = strlen(provider);
    if (len == 0 || len >= OB_STATS_PROV_MAX)
        return ob_err_set(e, OB_EINVAL, "invalid provider number: length %zu", len);
    if (d->n_clinics >= UINT32_MAX - 1)
        return ob_err_set(e, OB_ELIMIT, "too many clinics");
    if (grow_clinics(d, d->n_clinics + 1))
        return ob_err_set(e, OB_ENOMEM, "out of memory adding a clinic");
    memcpy(d->clinic_provider[d->n_clinics], provider, len + 1);
    d->clinic_cluster[d->n_clinics] = cluster;
    if (id_out)
        *id_out = (uint32_t)d->n_clinics;
    d->n_clinics++;
    return OB_OK;
}

ob_status ob_stats_add_patient(ob_stats_dataset *d, uint32_t clinic, ob_time from, ob_time to,
                               uint32_t *id_out, ob_err *e)
{
    if (clinic != OB_STATS_NO_CLINIC && clinic >= d->n_clinics)
        return ob_err_set(e, OB_EINVAL, "unknown clinic index %u", clinic);
    if (to <= from)
        return ob_err_set(e, OB_EINVAL, "invalid listing period: end not after start");
    if (d->n_patients >= UINT32_MAX - 1)
        return ob_err_set(e, OB_ELIMIT, "too many patients");
    if (grow_patients(d, d->n_patients + 1))
        return ob_err_set(e, OB_ENOMEM, "out of memory adding a patient");
    d->pat_clinic[d->n_patients] = clinic;
    d->pat_list_from[d->n_patients] = from;
    d->pat_list_to[d->n_patients] = to;
    if (id_out)
        *id_out = (uint32_t)d->n_patients;
    d->n_patients++;
    return OB_OK;
}

ob_status ob_stats_add_diagnosis(ob_stats_dataset *d, uint32_t patient, const char *code, ob_time t,
                                 ob_err *e)
{
    size_t len = strlen(code);
    if (patient >= d->n_patients)
        return ob_err_set(e, OB_EINVAL, "unknown patient index %u", patient);
    if (len == 0 || len >= OB_STATS_CODE_MAX)
        return ob_err_set(e, OB_EINVAL, "invalid diagnosis code: length %zu", len);
    if (grow_diag(d, d->n_diag + 1))
        return ob_err_set(e, OB_ENOMEM, "out of memory adding a diagnosis");
    d->diag_patient[d->n_diag] = patient;
    memcpy(d->diag_code[d->n_diag], code, len + 1);
    d->diag_time[d->n_diag] = t;
    d->n_diag++;
    return OB_OK;
}

ob_status ob_stats_add_observation(ob_stats_dataset *d, uint32_t patient, uint8_t kind, ob_time t,
                                   int32_t value, ob_err *e)
{
    if (patient >= d->n_patients)
        return ob_err_set(e, OB_EINVAL, "unknown patient index %u", patient);
    if (grow_obs(d, d->n_obs + 1))
        return ob_err_set(e, OB_ENOMEM, "out of memory adding an observation");
    d->obs_patient[d->n_obs] = patient;
    d->obs_kind[d->n_obs] = kind;
    d->obs_time[d->n_obs] = t;
    d->obs_value[d->n_obs] = value;
    d->n_obs++;
    return OB_OK;
}

ob_status ob_stats_add_checkup(ob_stats_dataset *d, uint32_t patient, ob_time t, ob_err *e)
{
    if (patient >= d->n_patients)
        return ob_err_set(e, OB_EINVAL, "unknown patient index %u", patient);
    if (grow_chk(d, d->n_chk + 1))
        return ob_err_set(e, OB_ENOMEM, "out of memory adding a check-up");
    d->chk_patient[d->n_chk] = patient;
    d->chk_time[d->n_chk] = t;
    d->n_chk++;
    return OB_OK;
}

int ob_stats_code_matches(const char *code, const char *prefix)
{
    /* Dots are notation only ("E11.9" and "E119" are the same code), so both sides skip
     * them; a code is covered by every prefix of itself, which is the code hierarchy. */
    const char *c = code, *p = prefix;
    for (;;) {
        while (*p == '.')
            p++;
        while (*c == '.')
            c++;
        if (!*p)
            return p != prefix;
        if (!*c || toupper((unsigned char)*c) != toupper((unsigned char)*p))
            return 0;
        c++;
        p++;
    }
}

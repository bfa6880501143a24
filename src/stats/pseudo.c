/* pseudo.c - provider-number labels for the cluster view (R-STAT-3): keyed pseudonyms that
 * are stable within the cluster and not reversible without the cluster key, random labels
 * per release when a member asks for anonymity, or the numbers as they are when agreed. */
#include "stats/stats.h"

#include <sodium.h>
#include <string.h>

#include "core/alloc.h"

void ob_stats_pseudonym(const unsigned char key[32], const char *provider,
                        char out[OB_STATS_LABEL_MAX], int hex_digits)
{
    static const char hex[] = "0123456789ABCDEF";
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256(mac, (const unsigned char *)provider, strlen(provider), key);
    if (hex_digits < 4)
        hex_digits = 4;
    if (hex_digits > OB_STATS_LABEL_MAX - 3)
        hex_digits = OB_STATS_LABEL_MAX - 3;
    out[0] = 'K';
    out[1] = '-';
    for (int i = 0; i < hex_digits; i++)
        out[2 + i] = hex[(mac[i / 2] >> (i % 2 ? 0 : 4)) & 15];
    out[2 + hex_digits] = '\0';
}

ob_status ob_stats_labels(const ob_stats_dataset *d, const ob_stats_report *r,
                          const ob_stats_agreement *a, char (*labels)[OB_STATS_LABEL_MAX],
                          size_t *order, ob_err *e)
{
    size_t n = r->n_rows;
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    switch (a->mode) {
    case OB_STATS_LABEL_OPEN:
        for (size_t i = 0; i < n; i++) {
            const char *p = d->clinic_provider[r->clinic[i]];
            size_t len = strlen(p);
            memcpy(labels[i], p, len + 1);
        }
        return OB_OK;
    case OB_STATS_LABEL_PSEUDONYM:
        /* 6 hex digits suffice for a cluster of ~30; on a collision all labels grow so that
         * a label never names two clinics. */
        for (int digits = 6; digits <= OB_STATS_LABEL_MAX - 3; digits += 2) {
            for (size_t i = 0; i < n; i++)
                ob_stats_pseudonym(a->key, d->clinic_provider[r->clinic[i]], labels[i], digits);
            int clash = 0;
            for (size_t i = 0; i < n && !clash; i++)
                for (size_t j = i + 1; j < n && !clash; j++)
                    clash = strcmp(labels[i], labels[j]) == 0 &&
                            strcmp(d->clinic_provider[r->clinic[i]],
                                   d->clinic_provider[r->clinic[j]]) != 0;
            if (!clash)
                return OB_OK;
        }
        return ob_err_set(e, OB_EINTERNAL, "pseudonym collision that no label length resolves");
    case OB_STATS_LABEL_ANONYMOUS:
        /* Row order would link rows across releases, so it is shuffled too (Fisher-Yates
         * with unbiased draws); labels follow the display position. */
        for (size_t i = n; i > 1; i--) {
            size_t j = randombytes_uniform((uint32_t)i);
            size_t tmp = order[i - 1];
            order[i - 1] = order[j];
            order[j] = tmp;
        }
        for (size_t i = 0; i < n; i++)
            snprintf(labels[order[i]], OB_STATS_LABEL_MAX, "P-%02zu", i + 1);
        return OB_OK;
    }
    return ob_err_set(e, OB_EINVAL, "unknown label mode %d", (int)a->mode);
}

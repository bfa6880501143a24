/* fuzz_load.c - libFuzzer target for the import format: the input is NDJSON applied to
 * a small fixed world through ob_record_apply. Any bytes in, no crash, no leak; a
 * record that fails must leave the index's counts unchanged (nothing half-applied). */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/records.h"

static const char *const world[] = {
    "{\"type\":\"org\",\"id\":\"r\",\"kind\":\"region\",\"name\":\"R\"}",
    "{\"type\":\"org\",\"id\":\"h\",\"kind\":\"hospital\",\"name\":\"H\",\"parent\":\"r\"}",
    "{\"type\":\"org\",\"id\":\"d\",\"kind\":\"department\",\"name\":\"D\",\"parent\":\"h\"}",
    "{\"type\":\"org\",\"id\":\"g\",\"kind\":\"gp_clinic\",\"name\":\"G\",\"provider_number\":"
    "\"123456\"}",
    "{\"type\":\"professional\",\"id\":\"dr\",\"name\":\"Dr\",\"role\":\"doctor\","
    "\"authorisation_id\":\"1\",\"sites\":[\"g\"]}",
    "{\"type\":\"professional\",\"id\":\"hd\",\"name\":\"Hd\",\"role\":\"doctor\","
    "\"authorisation_id\":\"2\",\"sites\":[\"d\"]}",
    "{\"type\":\"patient\",\"id\":\"p\",\"name\":\"P\",\"cpr\":\"0101901234\",\"gp\":\"g\"}",
    "{\"type\":\"patient\",\"id\":\"q\",\"name\":\"Q\",\"cpr\":\"0202021234\"}",
    NULL};

static size_t total(const ob_index *ix)
{
    size_t n = ix->norgs + ix->npros + ix->npatients + ix->nprojects + ix->ncovers;
    for (size_t i = 0; i < ix->npatients; i++) {
        const ob_patient *p = &ix->patients[i];
        n += p->nrels + p->nblocks + p->nconsents + p->nattorneys + p->ndisclosures;
        for (uint16_t k = 0; k < p->nblocks; k++)
            n += p->blocks[k].active;
        for (uint16_t k = 0; k < p->nconsents; k++)
            n += p->consents[k].active;
    }
    for (size_t i = 0; i < ix->npros; i++)
        n += ix->pro_perms[i].n;
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static ob_keys keys;
    static int init;
    if (!init) {
        ob_keys_generate(&keys, NULL);
        init = 1;
    }
    ob_index *ix = ob_index_new();
    if (!ix)
        return 0;
    ob_loader L;
    ob_loader_init(&L, ix, &keys);
    for (const char *const *w = world; *w; w++) {
        json_t *o = json_loads(*w, 0, NULL);
        ob_record_out out;
        if (ob_record_apply(&L, o, &out, NULL) != OB_OK)
            abort();
        json_decref(out.canonical);
        json_decref(o);
    }
    const char *p = (const char *)data, *end = p + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        json_t *o = json_loadb(p, len, JSON_REJECT_DUPLICATES, NULL);
        if (o) {
            size_t before = total(ix);
            ob_record_out out;
            ob_err e;
            if (ob_record_apply(&L, o, &out, &e) != OB_OK) {
                if (total(ix) != before)
                    abort();
            }
            json_decref(out.canonical);
            json_decref(o);
        }
        p += len + 1;
    }
    ob_index_free(ix);
    return 0;
}

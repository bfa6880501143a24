/* twin.h - comparing a hidden patient's answer with an absent one's. A searchset's self
 * link echoes the search as asked (FHIR: the parameters the server used), so two searches
 * for two patients differ there and only there; everything else must match byte for
 * byte. test_paging checks what the self link says. */
#ifndef OB_TEST_TWIN_H
#define OB_TEST_TWIN_H

#include <string.h>

#include <jansson.h>

/* The body as sorted, compact text without its self link; caller frees. */
static inline char *twin_text(const json_t *body)
{
    json_t *b = json_deep_copy(body);
    json_t *links = json_object_get(b, "link");
    for (size_t i = json_array_size(links); i-- > 0;) {
        const char *rel = json_string_value(json_object_get(json_array_get(links, i), "relation"));
        if (rel && strcmp(rel, "self") == 0)
            json_array_remove(links, i);
    }
    if (links && json_array_size(links) == 0)
        json_object_del(b, "link");
    char *t = json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(b);
    return t;
}

#endif

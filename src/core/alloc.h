/* alloc.h - the one allocation wrapper. All heap allocation in overblik goes through
 * these so that tests can inject failures (ob_alloc_fail_after) and every caller must
 * handle NULL. Ownership is stated by the API that returns the memory. */
#ifndef OB_CORE_ALLOC_H
#define OB_CORE_ALLOC_H

#include <stddef.h>

void *ob_malloc(size_t n);
void *ob_calloc(size_t count, size_t size);
void *ob_realloc(void *p, size_t n);
/* Grows *p (an array of *cap elements of size elem) to hold at least need elements. */
int ob_grow(void **p, size_t *cap, size_t need, size_t elem);
char *ob_strdup(const char *s);
void ob_free(void *p);
/* Test hook: after n more successful allocations, every allocation fails (-1 = never). */
void ob_alloc_fail_after(long n);

#endif

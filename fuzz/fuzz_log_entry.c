/* fuzz_log_entry.c - libFuzzer target for ob_log_entry_decode, which reads the stored
 * encoding of an entry back (the PostgreSQL log answers queries from it, and a row there can
 * be edited by anyone with the database): any bytes are either refused or decode to an entry
 * that encodes to exactly those bytes again (the decoder is the encoder's inverse). No crash,
 * no read outside the input (it is copied to a buffer of its exact size). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log/hash.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *in = malloc(size ? size : 1);
    char *strs = malloc(size ? size : 1);
    if (!in || !strs)
        abort();
    if (size)
        memcpy(in, data, size);
    ob_log_entry en;
    uint64_t seq = 0;
    ob_err e = {0};
    if (ob_log_entry_decode(in, size, &en, &seq, strs, size, &e) == OB_OK) {
        size_t n = ob_log_entry_encoded_len(&en);
        uint8_t *again = malloc(n);
        if (!again || n != size || ob_log_entry_encode(&en, seq, again, n) != n ||
            memcmp(again, in, n) != 0)
            abort(); /* accepted bytes that are not an encoding of what was decoded */
        free(again);
    }
    free(in);
    free(strs);
    return 0;
}

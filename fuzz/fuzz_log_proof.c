/* fuzz_log_proof.c - libFuzzer target for the access log's public formats, which arrive
 * from outside (a citizen's proof, a witness's state, /log/consistency): any bytes as a
 * v1/v2 inclusion proof, a consistency proof, a signed note and a checkpoint body, each
 * read and checked against a fixed key. No crash, no leak; nothing made of these bytes may
 * verify, since no corpus entry is signed by the fixed key's secret half (not kept). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "log/note.h"
#include "log/proof.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    static const uint8_t pk[32] = {0x3b, 0x6a, 0x27, 0xbc, 0xce, 0xb6, 0xa4, 0x2d, 0x62, 0xa3, 0xa8,
                                   0xd0, 0x2a, 0x6f, 0x0d, 0x73, 0x65, 0x32, 0x15, 0x77, 0x1d, 0xe2,
                                   0x43, 0xa6, 0x3a, 0xc0, 0x48, 0xa1, 0x8b, 0x59, 0xda, 0x29};
    ob_note_key k;
    if (ob_note_key_make(&k, "overblik.invalid/log/fuzz", OB_NOTE_ED25519, pk, NULL) != OB_OK)
        abort();
    ob_err e = {0};
    ob_log_proof p;
    if (ob_log_proof_from_json(text, &p, &e) == OB_OK) {
        if (ob_log_proof_check_keys(&p, &k, 1, &e) == OB_OK)
            abort();
        ob_log_proof_free(&p);
    }
    ob_log_consistency_proof c;
    if (ob_log_consistency_from_json(text, &c, &e) == OB_OK) {
        if (ob_log_consistency_check(&c, NULL, NULL, &k, 1, &e) == OB_OK)
            abort();
        ob_log_consistency_free(&c);
    }
    ob_note_result r;
    char origin[OB_NOTE_NAME_MAX + 1];
    uint64_t n;
    uint8_t root[32];
    if (ob_note_open(text, size, &k, 1, &r, &e) == OB_OK)
        abort();
    ob_checkpoint_parse(text, size, origin, &n, root, &e);
    ob_note_key vk;
    ob_note_vkey_parse(text, &vk, &e);
    free(text);
    return 0;
}

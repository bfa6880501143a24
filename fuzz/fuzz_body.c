/* fuzz_body.c - libFuzzer target for request bodies (R-API-5): the nesting-depth scan,
 * the JSON parse behind it, and form decoding. Invariants: a body the scan refuses is
 * never parsed; an accepted body is an object; an error message never quotes the input
 * (jansson's "near '...'" text is not passed on); decoded form fields fit their caps; the
 * path as the server log writes it never holds a CPR number (R-CPR-2). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/cpr.h"
#include "http/server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    json_t *j = NULL;
    ob_err e = {0};
    bool shallow = ob_http_json_depth_ok(buf, size, OB_HTTP_MAX_DEPTH);
    ob_status st = ob_http_json_parse(buf, size, &j, &e);
    if (!shallow && st != OB_ELIMIT)
        abort();
    if (st == OB_OK) {
        if (!json_is_object(j))
            abort();
        json_decref(j);
    } else if (j || strstr(e.msg, "near") || e.msg[0] == '\0') {
        abort();
    }
    for (int body = 0; body < 2; body++) { /* a query string, then a POST _search body */
        ob_http_form f;
        if (ob_http_form_decode(buf, size, body, &f, &e) == OB_OK) {
            if (f.n > OB_HTTP_MAX_PARAMS)
                abort();
            for (size_t i = 0; i < f.n; i++)
                if (!f.params[i].name[0] || strlen(f.params[i].name) > size ||
                    strlen(f.params[i].value) > size || f.params[i].from_body != body)
                    abort();
            ob_http_form_release(&f);
        } else if (e.msg[0] == '\0' || ob_cpr_in_text(e.msg)) {
            abort();
        }
    }
    char logged[64];
    char *s = malloc(size + 1);
    if (s) {
        memcpy(s, data, size);
        s[size] = '\0';
        ob_http_log_path(s, logged, sizeof logged);
        if (strlen(logged) >= sizeof logged || ob_cpr_in_text(logged)) /* R-CPR-2 */
            abort();
        free(s);
    }
    return 0;
}

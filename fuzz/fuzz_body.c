/* fuzz_body.c - libFuzzer target for request bodies (R-API-5): the nesting-depth scan,
 * the JSON parse behind it, and form decoding, then the API's parameter readers on the
 * decoded fields (date ranges, paging, _include) and the paging links built from them.
 * Invariants: a body the scan refuses is never parsed; an accepted body is an object; an
 * error message never quotes the input (jansson's "near '...'" text is not passed on) nor
 * holds a CPR number; decoded form fields fit their caps; the If-Match reader accepts only
 * a positive version or "*" (Accept and _format readers run too); a paging link is plain URL text
 * on the server's base without a CPR number; the path as the server log writes it never
 * holds a CPR number (R-CPR-2). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "core/cpr.h"
#include "http/server.h"

/* The API's readers on decoded parameters, as a search handler calls them. */
static void api_params(const ob_http_form *f)
{
    ob_api_request rq = {"GET", "/Appointment", f->params, f->n, NULL, "http://127.0.0.1:8080/fhir",
                         NULL,  NULL,           NULL,      NULL, false};
    ob_api_response out = {0};
    ob_time from, to;
    size_t count, offset;
    unsigned inc;
    bool ok = ob_api_date_range(&rq, "date", &from, &to, &out) &&
              ob_api_paging(&rq, &count, &offset, &out) &&
              ob_api_includes(&rq, "_include", ob_api_include_appointment, &inc, &out);
    if (!ok) {
        const char *msg = json_string_value(
            json_object_get(json_array_get(json_object_get(out.body, "issue"), 0), "diagnostics"));
        if (out.status != 400 || !msg || ob_cpr_in_text(msg))
            abort();
        ob_api_response_release(&out);
        return;
    }
    if (count > 500 || inc >= 4u)
        abort();
    for (int named = 0; named < 2; named++) {
        /* the next link names the page's last match (_after): any bytes, escaped */
        json_t *links = ob_api_page_links(&rq, named ? "pt-1" : NULL, 1000, offset, count,
                                          ob_api_param_get(&rq, "_after", NULL));
        size_t i;
        json_t *l;
        json_array_foreach(links, i, l)
        {
            const char *url = json_string_value(json_object_get(l, "url"));
            if (!url || ob_cpr_in_text(url) || strncmp(url, rq.base_url, strlen(rq.base_url)))
                abort();
            for (const char *c = url; *c; c++) /* only URL text: nothing to escape or split */
                if (*c <= ' ' || *c >= 127 || strchr("\"'<>\\^`{|}#", *c))
                    abort();
        }
        json_decref(links);
    }
}

/* The header and parameter readers on the input as a header value: If-Match, Accept and
 * _format (these only must not crash or read past the string). */
static void header_values(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return;
    memcpy(s, data, size);
    s[size] = '\0';
    int64_t v = 7;
    bool ok = ob_api_if_match(s, &v);
    if ((ok && (v == 0 || v < -1)) || (!ok && v != 0)) /* a refusal leaves no version */
        abort();
    if (ob_http_accepts_json(s) && !ob_http_accepts_json(s)) /* deterministic */
        abort();
    (void)ob_http_format_json(s);
    if ((unsigned)ob_http_prefer_return(s) > OB_PREFER_OUTCOME)
        abort();
    free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    header_values(data, size);
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
            api_params(&f);
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

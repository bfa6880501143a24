/* fuzz_web.c - libFuzzer target for the web back end's parsers (issue 26): the Cookie header
 * reader and the page-path mapper. Invariants: a cookie value returned fits its buffer and is
 * one the header holds; the same header twice gives the same answer; a path the mapper
 * accepts maps to a file name that starts with "/" and holds no "//", no segment starting
 * with "." (so no ".."), no backslash and no control character (T-WEB-14, T-WEB-16). The
 * whole input is tried as both a Cookie header and a path (up to its first NUL byte). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "web/web.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    char out[64], again[64];
    int rc = ob_web_cookie(s, OB_WEB_COOKIE, out, sizeof out);
    if (rc < -1 || rc > 1)
        abort();
    if (rc == 1 && (strlen(out) >= sizeof out || !strstr(s, out)))
        abort();
    if (ob_web_cookie(s, OB_WEB_COOKIE, again, sizeof again) != rc ||
        (rc == 1 && strcmp(out, again) != 0))
        abort();
    char file[300];
    if (ob_web_file_path(s, file, sizeof file)) {
        if (file[0] != '/' || strstr(file, "//") || strstr(file, "/.") || strchr(file, '\\'))
            abort();
        for (const char *p = file; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                abort();
        ob_web_content_type(file);
    }
    free(s);
    return 0;
}

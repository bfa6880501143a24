/* assets.h - the pages (everything under web/) as compiled into the binary (issue 26).
 *
 * The table is generated at build time by cmake/embed_web.cmake from web/ (CMakeLists.txt's
 * custom command): one entry per served file, its URL path ("/index.html"), content type
 * by extension, a strong ETag (quoted, from the file's SHA-256) and its bytes. Files of a
 * type the generator does not know are not served. Read-only, shared by every thread. */
#ifndef OB_WEB_ASSETS_H
#define OB_WEB_ASSETS_H

#include <stddef.h>

typedef struct ob_web_asset {
    const char *path;  /* "/index.html", "/verify/verify.mjs" */
    const char *ctype; /* "text/html; charset=utf-8" */
    const char *etag;  /* "\"<32 hex digits>\"" */
    const unsigned char *data;
    size_t len;
} ob_web_asset;

/* ob_web_nassets entries, then one of zeros. */
extern const ob_web_asset ob_web_assets[];
extern const size_t ob_web_nassets;

#endif

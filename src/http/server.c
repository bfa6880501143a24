/* server.c - the HTTP transport (server.h): libmicrohttpd glue, routing, caps, the
 * request -> ob_api_request translation, /healthz, /metrics and the access log.
 *
 * One request's life in the access handler (libmicrohttpd calls it several times):
 *  1st call (headers only): route; check path length, method, Content-Length and
 *    Content-Type; authenticate. Anything refused here is answered at once without
 *    reading the body, so an unauthenticated client cannot make us buffer a byte.
 *  middle calls: body bytes are appended to a buffer capped at OB_HTTP_MAX_BODY; past
 *    the cap they are dropped (and after 4 MiB the connection is closed).
 *  last call: parse the body, build the ob_api_request, call ob_api_handle, send.
 * The completion callback records metrics, writes the access log line and releases
 * the request; an in-flight counter lets ob_http_stop wait for answers to go out. */
#include "http/server.h"
#include "http/oidc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <sodium.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "api/stats_api.h"
#include "core/alloc.h"
#include "core/cpr.h"
#include "core/time.h"
#include "service/overrides.h"
#include "service/sources.h"
#include "store/log.h"
#include "store/pg/pg_sync.h"
#include "web/web.h"

#define DISCARD_LIMIT (4u << 20) /* bytes of an over-long body we drain before closing */

enum { M_GET, M_POST, M_PUT, M_PATCH, M_DELETE, M_OTHER, M_COUNT };
static const char *const method_names[M_COUNT] = {"GET", "POST", "PUT", "PATCH", "DELETE", "OTHER"};
/* latency histogram bucket bounds, seconds */
static const double buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                 0.1,   0.25,   0.5,   1,    2.5,   5};
#define NBUCKETS (sizeof buckets / sizeof buckets[0])

/* One libmicrohttpd daemon (one thread) per server thread, each with its own listening
 * socket on the same address (SO_REUSEPORT): the kernel spreads new connections over
 * them by address hash. A daemon with a thread pool shares one socket, and whichever
 * thread wakes first accepts: under the benchmark one of two threads served two thirds
 * of the connections (measured by thread CPU), and its queue made the latency tail. */
#define MAX_DAEMONS 64

/* One accepted connection, known from libmicrohttpd's connection notifications (its
 * socket_context) until it closes: the door's per-client count and deadlines. */
typedef struct conn_slot {
    struct conn_slot *prev, *next; /* on the server's list, under conns_lock */
    int fd;
    uint8_t client[16];          /* the client's address; IPv4 as ::ffff:a.b.c.d, IPv6's /64 */
    _Atomic int64_t deadline_ms; /* CLOCK_MONOTONIC ms by which the phase must end; 0: none */
    _Atomic int phase;           /* what the deadline is for (enum cut_phase), set with it */
    bool cut;
    /* the verified client certificate's RFC 8705 thumbprint (base64url SHA-256 of its DER),
     * worked out on the first request that needs it: 0 not yet, 1 known, 2 none or invalid */
    int cert_state;
    char x5t[48];
} conn_slot;

/* A certificate chain and its key as GnuTLS hands them to a handshake. Swapped whole on
 * SIGHUP; a retired pair is kept until the server stops, since a handshake that began
 * with it may still be using it. */
typedef struct tls_creds {
    gnutls_pcert_st pcert[8];
    unsigned n;
    gnutls_privkey_t key;
    struct tls_creds *retired;
} tls_creds;

/* The pair the next handshake presents. GnuTLS's certificate callback gets no context
 * pointer of ours, so this is the process's: one TLS server per process (overblik serve). */
static _Atomic(tls_creds *) tls_current;

enum cut_phase { CUT_HEADERS, CUT_BODY, CUT_PHASES };

struct ob_http_server {
    struct MHD_Daemon *d[MAX_DAEMONS];
    int listen_fd[MAX_DAEMONS];
    unsigned nd;
    ob_hub *hub;
    ob_auth *auth; /* swapped by ob_http_swap_auth under auth_lock's write side */
    pthread_rwlock_t auth_lock;
    bool access_log;
    unsigned shutdown_timeout;
    char address[96];
    char base_url[256];
    char metrics_clients[512]; /* ",id1,id2," (config), or "" */
    char cors_origins[1024];   /* ",o1,o2," or ",*," (config), or "" */
    char smart_authorize[512], smart_token[512], smart_issuer[512];
    atomic_int inflight;
    atomic_bool stopping;
    atomic_bool ground_told; /* stderr has said that the database's files moved */
    /* Requests parked waiting for their log entries, a list per daemon (its thread adds
     * and removes its own; ob_http_stop walks them to answer what is left, see cut). */
    struct parked {
        pthread_mutex_t mu;
        struct req *head;
    } parked[MAX_DAEMONS];
    struct daemon_ctx {
        struct ob_http_server *s;
        unsigned i;
    } dctx[MAX_DAEMONS];
    atomic_bool cutting; /* the stop answers parked requests itself (read under parked[].mu) */
    /* metrics: relaxed counters */
    _Atomic uint64_t requests[M_COUNT][6]; /* [method][status / 100], 0 = no answer */
    _Atomic uint64_t lat_buckets[NBUCKETS + 1];
    _Atomic uint64_t lat_sum_us;
    _Atomic uint64_t auth_failures;
    _Atomic uint64_t reloads[2]; /* JWKS reloads: [0] failed, [1] taken */
    /* the door: every open connection, the reaper that cuts the overdue ones */
    pthread_mutex_t conns_lock;
    pthread_cond_t reaper_wake;
    conn_slot *conns;
    bool reaper_started, reaper_stop; /* reaper_stop under conns_lock */
    pthread_t reaper;
    unsigned per_ip, idle_timeout, header_timeout, body_timeout;
    _Atomic uint64_t refused_per_ip, cut[CUT_PHASES], framing_refused;
    /* TLS: the files to re-read, the pairs retired (under conns_lock), the client CAs */
    bool tls;
    char tls_cert[1024], tls_key[1024];
    tls_creds *retired;
    char *client_ca;        /* PEM text, NULL: no client certificates asked for */
    ob_auth_replay *replay; /* jti of tokens used for writes; outlives JWKS reloads */
    ob_web *web;            /* the pages and sessions (borrowed), or NULL */
    _Atomic uint64_t tls_reloads[2], cert_refused;
};

typedef enum route {
    R_FHIR,
    R_METADATA,
    R_HEALTHZ,
    R_METRICS,
    R_STATS,
    R_LOG,   /* /log/checkpoint, /log/consistency, /log/key: public, for witnesses (R-LOG-7) */
    R_SMART, /* /.well-known/smart-configuration (and under /fhir): public (issue 25) */
    R_WEB,   /* /auth/... and the pages: everything else (issue 26, web/web.h) */
    R_UNKNOWN
} route;

/* libmicrohttpd's per-connection pool: the request line, headers and the response's
 * headers (bodies are copied out by us, so they need none of it). The library zeroes the
 * whole pool between two requests on a kept-alive connection, so its size is paid on every
 * request: 64 KiB cost ~2 us of memset a request (callgrind, ~100,000 instructions). 20 KiB
 * still holds the largest token we accept (OB_AUTH_MAX_TOKEN, 8 KiB) beside the rest. */
#define OB_HTTP_CONN_MEMORY (20 * 1024)

typedef struct req {
    struct timespec t0;
    bool started;         /* the access handler has seen this request */
    bool too_many_params; /* the query had more than OB_HTTP_MAX_PARAMS (not parsed) */
    bool nul;             /* the address holds %00, which decoding would cut it at */
    bool write;           /* changes state: its token's jti may be used once */
    conn_slot *slot;      /* the connection's, or NULL */
    int method;
    const char *method_s;
    route rt;
    int status; /* the status sent, 0 until then */
    bool answered;
    bool form;    /* body is application/x-www-form-urlencoded */
    bool too_big; /* body exceeded the cap: answered 413 at the end */
    size_t discarded;
    char *body;
    size_t len, cap;
    ob_caller caller;
    char log_path[256];
    /* Deferred answer (ob_hub_defer): the connection is suspended while the request's
     * log entries are appended asynchronously; the answer is kept in `out` and sent when
     * the last hold is released, or replaced by a 500 if any append failed (R-LOG-1). */
    struct MHD_Connection *conn;
    atomic_int holds;
    atomic_bool log_failed;
    atomic_bool unconfirmed; /* a change committed, not acknowledged by every server (T-DB-8) */
    char log_err[200];       /* the first failed append's message, for the operator's stderr */
    bool ready;              /* `out` holds the answer to send once resumed */
    /* The request is freed when its connection is done with it (completed) and no log
     * append holds it any more (defer_done): after a stop has answered it, its appends
     * may still finish, in ob_log_close. refs counts those two kinds of owner. */
    atomic_int refs;
    atomic_bool resumed; /* MHD_resume_connection was called (once, by whoever was first) */
    atomic_bool cut;     /* answered 503 by the stop before its entries were durable */
    unsigned daemon;     /* which daemon's parked list, when parked */
    bool parked;
    struct req *pprev, *pnext;
    bool api_failed; /* the API returned an internal error: answer 500 */
    ob_api_response out;
} req;

/* ---- small helpers ---- */

static double elapsed(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static bool prefix(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

/* "application/json; charset=utf-8" has media type "application/json". */
static bool media_is(const char *ctype, const char *want)
{
    size_t n = strlen(want);
    if (strncasecmp(ctype, want, n) != 0)
        return false;
    char c = ctype[n];
    return c == '\0' || c == ';' || c == ' ' || c == '\t';
}

/* An error message as the server log may carry it (R-CPR-2: never a CPR number, whatever
 * a layer below put in it). */
static const char *loggable(const char *msg)
{
    return ob_cpr_in_text(msg) ? "(message not shown: it holds a CPR number)" : msg;
}

void ob_http_log_path(const char *path, char *out, size_t cap)
{
    if (cap == 0)
        return;
    size_t n = 0, len = strlen(path);
    for (size_t i = 0; i < len && n + 1 < cap;) {
        if (path[i] >= '0' && path[i] <= '9') {
            size_t j = i;
            while (j < len && path[j] >= '0' && path[j] <= '9')
                j++;
            size_t run = j - i, end = j;
            bool mask = run >= 10;
            if (run == 6 && j + 5 <= len && path[j] == '-') {
                size_t k = j + 1;
                while (k < len && path[k] >= '0' && path[k] <= '9')
                    k++;
                if (k - j - 1 >= 4) {
                    mask = true;
                    end = k;
                }
            }
            for (size_t k = i; k < end && n + 1 < cap; k++)
                out[n++] = mask && path[k] != '-' ? '*' : path[k];
            i = end;
        } else {
            unsigned char c = (unsigned char)path[i++];
            out[n++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
        }
    }
    out[n] = '\0';
    if (len >= cap && cap > 4)
        memcpy(out + cap - 4, "...", 4);
}

/* Whether an If-None-Match list (RFC 9110 §13.1.2: weak comparison, "*" for any) names
 * etag. */
static bool etag_matches(const char *list, const char *etag)
{
    if (!list)
        return false;
    const char *e = strncmp(etag, "W/", 2) == 0 ? etag + 2 : etag;
    size_t en = strlen(e);
    for (const char *p = list; *p;) {
        p += strspn(p, " \t,");
        size_t n = strcspn(p, ",");
        size_t k = n;
        while (k && (p[k - 1] == ' ' || p[k - 1] == '\t'))
            k--;
        const char *t = p;
        if (k == 1 && t[0] == '*')
            return true;
        if (k >= 2 && strncmp(t, "W/", 2) == 0)
            t += 2, k -= 2;
        if (k == en && k && strncmp(t, e, k) == 0)
            return true;
        p += n;
    }
    return false;
}

/* What every FHIR answer says it is (issue 25: with its charset, as R4 asks). */
#define CT_FHIR "application/fhir+json; charset=utf-8"

/* The media type of one Accept or _format element, [s, s + n): whether it names JSON. */
static bool names_json(const char *s, size_t n, bool wildcards)
{
    static const char *const json[] = {"application/fhir+json", "application/json",
                                       "application/json+fhir", "json"};
    static const char *const wild[] = {"*/*", "application/*"};
    for (size_t i = 0; i < sizeof json / sizeof json[0]; i++)
        if (strlen(json[i]) == n && strncasecmp(s, json[i], n) == 0)
            return true;
    for (size_t i = 0; wildcards && i < sizeof wild / sizeof wild[0]; i++)
        if (strlen(wild[i]) == n && strncasecmp(s, wild[i], n) == 0)
            return true;
    return false;
}

/* [s, s + n) without the spaces and tabs around it */
static void trim(const char **s, size_t *n)
{
    while (*n && (**s == ' ' || **s == '\t'))
        (*s)++, (*n)--;
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
        (*n)--;
}

/* A media range's parameters, [s, s + n) after its first ';': q=0 (0, 0.0, ... 0.000). */
static bool q_zero(const char *s, size_t n)
{
    while (n) {
        size_t len = 0;
        while (len < n && s[len] != ';')
            len++;
        const char *p = s;
        size_t m = len;
        trim(&p, &m);
        if (m >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
            p += 2, m -= 2;
            bool zero = m >= 1 && p[0] == '0';
            for (size_t i = 1; zero && i < m; i++)
                zero = (i == 1 && p[i] == '.') || (i > 1 && p[i] == '0');
            return zero;
        }
        s += len + (len < n), n -= len + (len < n);
    }
    return false;
}

/* The next comma-separated element of a header's list, taken from [*s, *s + *left): its
 * value before any ';', trimmed, in [*t, *t + *tn), and its parameters after the ';' in
 * [*params, *params + *pn). false when the list is used up. */
static bool next_element(const char **s, size_t *left, const char **t, size_t *tn,
                         const char **params, size_t *pn)
{
    if (!*left)
        return false;
    size_t len = 0;
    while (len < *left && (*s)[len] != ',')
        len++;
    size_t v = 0;
    while (v < len && (*s)[v] != ';')
        v++;
    *params = *s + v + (v < len);
    *pn = len - v - (v < len);
    *t = *s;
    *tn = v;
    trim(t, tn);
    *s += len + (len < *left);
    *left -= len + (len < *left);
    return true;
}

/* A media range's parameters, [s, s + n): no fhirVersion, or one this server speaks (R4:
 * 4.0, 4.0.1). Issue 25: "fhirVersion=3.0" asks for STU3, which is a 406, not R4. */
static bool fhir_version_ok(const char *s, size_t n)
{
    while (n) {
        size_t len = 0;
        while (len < n && s[len] != ';')
            len++;
        const char *p = s;
        size_t m = len;
        trim(&p, &m);
        if (m > 12 && strncasecmp(p, "fhirVersion=", 12) == 0) {
            p += 12, m -= 12;
            if (m >= 2 && p[0] == '"' && p[m - 1] == '"')
                p++, m -= 2;
            return (m == 3 && strncmp(p, "4.0", 3) == 0) || (m == 5 && strncmp(p, "4.0.1", 5) == 0);
        }
        s += len + (len < n), n -= len + (len < n);
    }
    return true;
}

bool ob_http_accepts_json(const char *accept)
{
    if (!accept)
        return true;
    const char *s = accept, *t, *params;
    size_t left = strlen(accept), tn, pn;
    bool any = false;
    while (next_element(&s, &left, &t, &tn, &params, &pn)) {
        any = any || tn;
        if (tn && names_json(t, tn, true) && !q_zero(params, pn) && fhir_version_ok(params, pn))
            return true;
    }
    return !any; /* an empty Accept says nothing */
}

bool ob_http_format_json(const char *format)
{
    if (!format)
        return true;
    size_t n = strcspn(format, ";");
    trim(&format, &n);
    return names_json(format, n, false);
}

/* The value of the first `name=value` preference in a Prefer header (RFC 7240 §2: the
 * first one counts), unquoted, into *v; false when there is none. */
static bool prefer_value(const char *prefer, const char *name, const char **v, size_t *vn)
{
    const char *s = prefer ? prefer : "", *t, *params;
    size_t left = strlen(s), tn, pn, n = strlen(name);
    while (next_element(&s, &left, &t, &tn, &params, &pn)) {
        if (tn > n && strncasecmp(t, name, n) == 0 && t[n] == '=') {
            *v = t + n + 1;
            *vn = tn - n - 1;
            if (*vn >= 2 && (*v)[0] == '"' && (*v)[*vn - 1] == '"')
                (*v)++, *vn -= 2;
            return true;
        }
    }
    return false;
}

ob_http_prefer ob_http_prefer_return(const char *prefer)
{
    const char *v;
    size_t vn;
    if (!prefer_value(prefer, "return", &v, &vn))
        return OB_PREFER_RESOURCE;
    if (vn == 7 && strncasecmp(v, "minimal", 7) == 0)
        return OB_PREFER_MINIMAL;
    if (vn == 16 && strncasecmp(v, "OperationOutcome", 16) == 0)
        return OB_PREFER_OUTCOME;
    return OB_PREFER_RESOURCE;
}

bool ob_http_prefer_lenient(const char *prefer)
{
    const char *v;
    size_t vn;
    return prefer_value(prefer, "handling", &v, &vn) && vn == 7 &&
           strncasecmp(v, "lenient", 7) == 0;
}

bool ob_http_json_depth_ok(const char *buf, size_t len, int max)
{
    int depth = 0;
    bool in_str = false;
    for (size_t i = 0; i < len; i++) {
        char c = buf[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = false;
        } else if (c == '"') {
            in_str = true;
        } else if (c == '[' || c == '{') {
            if (++depth > max)
                return false;
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
    }
    return true;
}

ob_status ob_http_json_parse(const char *buf, size_t len, json_t **out, ob_err *e)
{
    *out = NULL;
    if (!ob_http_json_depth_ok(buf, len, OB_HTTP_MAX_DEPTH))
        return ob_err_set(e, OB_ELIMIT, "the JSON body nests deeper than %d levels",
                          OB_HTTP_MAX_DEPTH);
    json_error_t je;
    /* JSON_REJECT_DUPLICATES: one meaning per key; the error text from jansson can quote
     * the input (a CPR), so only the position is reported (R-CPR-2) */
    json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
    if (!j)
        return ob_err_set(e, OB_EINVAL,
                          "the body is not valid JSON (line %d, column %d); nothing was changed",
                          je.line, je.column);
    if (!json_is_object(j)) {
        json_decref(j);
        return ob_err_set(e, OB_EINVAL, "the JSON body must be an object (a FHIR resource)");
    }
    *out = j;
    return OB_OK;
}

ob_status ob_http_form_decode(const char *body, size_t len, bool from_body, ob_http_form *f,
                              ob_err *e)
{
    memset(f, 0, sizeof *f);
    if (len == 0)
        return OB_OK;
    size_t fields = 1;
    for (size_t i = 0; i < len; i++)
        fields += body[i] == '&';
    if (fields > OB_HTTP_MAX_PARAMS)
        return ob_err_set(e, OB_ELIMIT, "more than %d parameters", OB_HTTP_MAX_PARAMS);
    /* decoded text never grows: len + a NUL and a "" per field suffice */
    f->buf = ob_malloc(len + 2 * fields + 1);
    f->params = ob_calloc(fields, sizeof *f->params);
    if (!f->buf || !f->params) {
        ob_http_form_release(f);
        return ob_err_set(e, OB_ENOMEM, "out of memory");
    }
    size_t used = 0, start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && body[i] != '&')
            continue;
        const char *field = body + start;
        size_t flen = i - start;
        start = i + 1;
        if (flen == 0)
            continue;
        const char *eq = memchr(field, '=', flen);
        size_t nlen = eq ? (size_t)(eq - field) : flen;
        size_t vlen = eq ? flen - nlen - 1 : 0;
        char *name = f->buf + used;
        long dn = ob_http_pct_decode(field, nlen, name, nlen + 1, true);
        if (dn <= 0 || memchr(name, '\0', (size_t)dn)) {
            ob_http_form_release(f);
            return ob_err_set(e, OB_EINVAL, "a form field has a bad or empty name");
        }
        used += (size_t)dn + 1;
        char *value = f->buf + used;
        long dv = ob_http_pct_decode(eq ? eq + 1 : "", vlen, value, vlen + 1, true);
        if (dv < 0 || memchr(value, '\0', (size_t)dv)) {
            ob_http_form_release(f);
            return ob_err_set(e, OB_EINVAL, "a form field has a bad percent-encoding");
        }
        used += (size_t)dv + 1;
        f->params[f->n++] = (ob_api_param){name, value, from_body};
    }
    return OB_OK;
}

void ob_http_form_release(ob_http_form *f)
{
    ob_free(f->buf);
    ob_free(f->params);
    memset(f, 0, sizeof *f);
}

/* ---- responses ---- */

/* The request's Origin when the configuration lets that origin's browsers call us. */
static const char *cors_origin(ob_http_server *s, struct MHD_Connection *conn)
{
    if (!s->cors_origins[0] || !conn)
        return NULL;
    const char *o = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin");
    if (!o || !*o || strlen(o) > 200 || strchr(o, ','))
        return NULL;
    if (strstr(s->cors_origins, ",*,"))
        return o;
    char needle[208];
    snprintf(needle, sizeof needle, ",%s,", o);
    return strstr(s->cors_origins, needle) ? o : NULL;
}

static void add_common(ob_http_server *s, struct MHD_Connection *conn, struct MHD_Response *resp)
{
    const char *origin = cors_origin(s, conn);
    if (origin) { /* CORS: this origin's pages may read the answer and these headers */
        MHD_add_response_header(resp, "Access-Control-Allow-Origin", origin);
        MHD_add_response_header(resp, "Vary", "Origin");
        MHD_add_response_header(resp, "Access-Control-Expose-Headers",
                                "Location, ETag, Content-Location");
    }
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (atomic_load(&s->stopping))
        MHD_add_response_header(resp, "Connection", "close");
}

/* Sends body (malloc'ed, taken over; NULL for none). */
static enum MHD_Result send_body(ob_http_server *s, struct MHD_Connection *conn, req *r, int status,
                                 const char *ctype, char *body, size_t len, const char *hname,
                                 const char *hvalue, const char *h2name, const char *h2value)
{
    struct MHD_Response *resp =
        body ? MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE)
             : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    if (ctype)
        MHD_add_response_header(resp, "Content-Type", ctype);
    if (hname && hvalue && hvalue[0])
        MHD_add_response_header(resp, hname, hvalue);
    if (h2name && h2value && h2value[0])
        MHD_add_response_header(resp, h2name, h2value);
    if (status == 503) /* the log or the hub cannot serve just now: a client may try again */
        MHD_add_response_header(resp, "Retry-After", "5");
    add_common(s, conn, resp);
    enum MHD_Result rc = MHD_queue_response(conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    r->status = status;
    r->answered = true;
    return rc;
}

static enum MHD_Result send_json(ob_http_server *s, struct MHD_Connection *conn, req *r, int status,
                                 json_t *j, const char *hname, const char *hvalue)
{
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    if (j && !text)
        return MHD_NO;
    return send_body(s, conn, r, status, CT_FHIR, text, text ? strlen(text) : 0, hname, hvalue,
                     NULL, NULL);
}

static enum MHD_Result send_outcome_h(ob_http_server *s, struct MHD_Connection *conn, req *r,
                                      int status, const char *code, const char *text,
                                      const char *hname, const char *hvalue)
{
    ob_api_response out = {0};
    ob_api_outcome(&out, status, code, text);
    enum MHD_Result rc = send_json(s, conn, r, status, out.body, hname, hvalue);
    ob_api_response_release(&out);
    return rc;
}

static enum MHD_Result send_outcome(ob_http_server *s, struct MHD_Connection *conn, req *r,
                                    int status, const char *code, const char *text)
{
    return send_outcome_h(s, conn, r, status, code, text, NULL, NULL);
}

/* 401 with the RFC 6750 challenge; error="invalid_token" only when a token was sent. */
static enum MHD_Result send_401(ob_http_server *s, struct MHD_Connection *conn, req *r,
                                const char *text, bool had_token)
{
    atomic_fetch_add_explicit(&s->auth_failures, 1, memory_order_relaxed);
    return send_outcome_h(s, conn, r, 401, "login", text, "WWW-Authenticate",
                          had_token ? "Bearer realm=\"overblik\", error=\"invalid_token\""
                                    : "Bearer realm=\"overblik\"");
}

/* ---- /metrics ---- */

/* statvfs of the directory that holds path (the file may be gone or not yet there). */
static int statvfs_dir(const char *path, struct statvfs *fs)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    return statvfs(dir, fs);
}

typedef struct sbuf {
    char *p;
    size_t n, cap;
    bool bad;
} sbuf;

__attribute__((format(printf, 2, 3))) static void sb_printf(sbuf *b, const char *fmt, ...)
{
    if (b->bad)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
        va_end(ap);
        if (k < 0) {
            b->bad = true;
            return;
        }
        if ((size_t)k < b->cap - b->n) {
            b->n += (size_t)k;
            return;
        }
        size_t ncap = b->cap * 2 + (size_t)k;
        char *np = realloc(b->p, ncap);
        if (!np || ncap > (4u << 20)) {
            free(np);
            b->p = NULL;
            b->bad = true;
            return;
        }
        b->p = np;
        b->cap = ncap;
    }
}

/* A Prometheus histogram: counts[i] (not cumulative) of the observations up to le[i],
 * counts[n] of those above every bound; sum in seconds. */
static void sb_histogram(sbuf *b, const char *name, const char *help, const double *le, size_t n,
                         const uint64_t *counts, double sum)
{
    sb_printf(b, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    uint64_t cum = 0;
    for (size_t i = 0; i < n; i++) {
        cum += counts[i];
        sb_printf(b, "%s_bucket{le=\"%g\"} %llu\n", name, le[i], (unsigned long long)cum);
    }
    cum += counts[n];
    sb_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n", name,
              (unsigned long long)cum, name, sum, name, (unsigned long long)cum);
}

struct ovr_ctx {
    sbuf *b;
    ob_hub *hub;
};

/* One override counter line (service/overrides.h); the hub's read lock is held. */
static void ovr_metric(void *ctx, char kind, uint32_t id, uint64_t count)
{
    struct ovr_ctx *oc = ctx;
    const ob_index *ix = oc->hub->ix;
    const char *what = kind == 'p' ? "professional" : "site";
    if (id == UINT32_MAX)
        sb_printf(oc->b, "overblik_override_alerts_total{kind=\"%s\"} %llu\n", what,
                  (unsigned long long)count);
    else if (kind == 'p' && id < ix->npros)
        sb_printf(oc->b, "overblik_overrides_24h{professional=\"%s\"} %llu\n", ix->pros[id].ext_id,
                  (unsigned long long)count);
    else if (kind == 's' && id < ix->norgs)
        sb_printf(oc->b, "overblik_overrides_24h{site=\"%s\"} %llu\n", ix->orgs[id].ext_id,
                  (unsigned long long)count);
}

static void unknown_metric(void *ctx, const char *client, uint64_t count)
{
    /* client ids are printable and at most 63 bytes (auth.c); quotes would break the line */
    if (!strchr(client, '"') && !strchr(client, '\\'))
        sb_printf(ctx, "overblik_source_unknown_patient_total{client=\"%s\"} %llu\n", client,
                  (unsigned long long)count);
}

static enum MHD_Result metrics(ob_http_server *s, struct MHD_Connection *conn, req *r)
{
    sbuf b = {malloc(16384), 0, 16384, false};
    if (!b.p)
        return MHD_NO;
    sb_printf(&b, "# HELP overblik_http_requests_total HTTP requests answered, by method and "
                  "status class.\n# TYPE overblik_http_requests_total counter\n");
    for (int m = 0; m < M_COUNT; m++)
        for (int c = 1; c <= 5; c++)
            sb_printf(
                &b, "overblik_http_requests_total{method=\"%s\",code=\"%dxx\"} %llu\n",
                method_names[m], c,
                (unsigned long long)atomic_load_explicit(&s->requests[m][c], memory_order_relaxed));
    uint64_t lat[NBUCKETS + 1];
    for (size_t i = 0; i <= NBUCKETS; i++)
        lat[i] = atomic_load_explicit(&s->lat_buckets[i], memory_order_relaxed);
    sb_histogram(&b, "overblik_http_request_duration_seconds",
                 "Time from request headers to the response being sent.", buckets, NBUCKETS, lat,
                 (double)atomic_load_explicit(&s->lat_sum_us, memory_order_relaxed) / 1e6);
    sb_printf(&b,
              "# HELP overblik_http_auth_failures_total Requests refused for a missing or "
              "invalid token.\n# TYPE overblik_http_auth_failures_total counter\n"
              "overblik_http_auth_failures_total %llu\n",
              (unsigned long long)atomic_load_explicit(&s->auth_failures, memory_order_relaxed));
    sb_printf(&b,
              "# HELP overblik_jwks_reloads_total JWKS reloads on SIGHUP, by result (a failed one "
              "keeps the keys in use).\n# TYPE overblik_jwks_reloads_total counter\n"
              "overblik_jwks_reloads_total{result=\"ok\"} %llu\n"
              "overblik_jwks_reloads_total{result=\"failed\"} %llu\n",
              (unsigned long long)atomic_load_explicit(&s->reloads[1], memory_order_relaxed),
              (unsigned long long)atomic_load_explicit(&s->reloads[0], memory_order_relaxed));
    sb_printf(&b,
              "# HELP overblik_http_connections_refused_total Connections refused at accept: "
              "the client holds max_connections_per_ip already.\n"
              "# TYPE overblik_http_connections_refused_total counter\n"
              "overblik_http_connections_refused_total{reason=\"per_ip\"} %llu\n"
              "# HELP overblik_http_connections_cut_total Connections cut for not delivering "
              "a request's headers or body in time (slow senders).\n"
              "# TYPE overblik_http_connections_cut_total counter\n"
              "overblik_http_connections_cut_total{phase=\"headers\"} %llu\n"
              "overblik_http_connections_cut_total{phase=\"body\"} %llu\n"
              "# HELP overblik_http_framing_refused_total Requests refused for ambiguous "
              "framing (Content-Length with Transfer-Encoding, repeats, no Host).\n"
              "# TYPE overblik_http_framing_refused_total counter\n"
              "overblik_http_framing_refused_total %llu\n"
              "# HELP overblik_http_cert_binding_refused_total Tokens refused over TLS for want "
              "of the client certificate they are bound to (RFC 8705).\n"
              "# TYPE overblik_http_cert_binding_refused_total counter\n"
              "overblik_http_cert_binding_refused_total %llu\n"
              "# HELP overblik_tls_reloads_total TLS certificate reloads on SIGHUP, by result.\n"
              "# TYPE overblik_tls_reloads_total counter\n"
              "overblik_tls_reloads_total{result=\"ok\"} %llu\n"
              "overblik_tls_reloads_total{result=\"failed\"} %llu\n",
              (unsigned long long)atomic_load(&s->refused_per_ip),
              (unsigned long long)atomic_load(&s->cut[CUT_HEADERS]),
              (unsigned long long)atomic_load(&s->cut[CUT_BODY]),
              (unsigned long long)atomic_load(&s->framing_refused),
              (unsigned long long)atomic_load(&s->cert_refused),
              (unsigned long long)atomic_load(&s->tls_reloads[1]),
              (unsigned long long)atomic_load(&s->tls_reloads[0]));
    sb_printf(&b, "# HELP overblik_decisions_total Logged access decisions since start, by "
                  "rule and outcome.\n# TYPE overblik_decisions_total counter\n");
    for (int rule = 0; rule < OB_RULE_COUNT; rule++)
        for (int p = 0; p < 2; p++) {
            uint64_t v = atomic_load_explicit(&s->hub->decisions[rule][p], memory_order_relaxed);
            sb_printf(&b, "overblik_decisions_total{rule=\"%s\",outcome=\"%s\"} %llu\n",
                      ob_rule_name((ob_rule)rule), p ? "permit" : "deny", (unsigned long long)v);
        }
    struct ovr_ctx oc = {&b, s->hub};
    sb_printf(&b, "# HELP overblik_overrides_24h Block overrides in the last 24 hours, per "
                  "professional and per site (R-BLK-4).\n# TYPE overblik_overrides_24h gauge\n"
                  "# HELP overblik_override_alerts_total Override alerts logged since start.\n"
                  "# TYPE overblik_override_alerts_total counter\n");
    pthread_rwlock_rdlock(&s->hub->lock);
    ob_overrides_each(s->hub->overrides, ob_time_now(), ovr_metric, &oc);
    pthread_rwlock_unlock(&s->hub->lock);
    sb_printf(&b, "# HELP overblik_source_unknown_patient_total Writes refused because the "
                  "patient is unknown, per source system client (a probe for CPR numbers shows "
                  "here).\n# TYPE overblik_source_unknown_patient_total counter\n");
    ob_sources_each_unknown(s->hub->sources, unknown_metric, &b);
    ob_log_stats ls = {0};
    if (s->hub->log)
        ob_alog_get_stats(s->hub->log, &ls);
    sb_printf(&b,
              "# HELP overblik_log_appends_total Log entries appended since start.\n"
              "# TYPE overblik_log_appends_total counter\noverblik_log_appends_total %llu\n"
              "# HELP overblik_log_commits_total Log transactions committed (group commits).\n"
              "# TYPE overblik_log_commits_total counter\noverblik_log_commits_total %llu\n"
              "# HELP overblik_log_append_failures_total Log appends that failed.\n"
              "# TYPE overblik_log_append_failures_total counter\n"
              "overblik_log_append_failures_total %llu\n"
              "# HELP overblik_log_checkpoints_total Signed checkpoints cut since start.\n"
              "# TYPE overblik_log_checkpoints_total counter\n"
              "overblik_log_checkpoints_total %llu\n"
              "# HELP overblik_log_size Sequence number of the newest log entry.\n"
              "# TYPE overblik_log_size gauge\noverblik_log_size %llu\n"
              "# HELP overblik_log_indexed The search index covers log entries through this "
              "sequence number; overblik_log_size minus this is its lag.\n"
              "# TYPE overblik_log_indexed gauge\noverblik_log_indexed %llu\n"
              "# HELP overblik_log_index_failures_total Search-index passes that failed "
              "(retried; queries scan what is not indexed).\n"
              "# TYPE overblik_log_index_failures_total counter\n"
              "overblik_log_index_failures_total %llu\n"
              "# HELP overblik_http_in_flight Requests being handled.\n"
              "# TYPE overblik_http_in_flight gauge\noverblik_http_in_flight %d\n",
              (unsigned long long)ls.appended, (unsigned long long)ls.commits,
              (unsigned long long)ls.failed, (unsigned long long)ls.checkpoints,
              (unsigned long long)ls.size, (unsigned long long)ls.indexed,
              (unsigned long long)ls.index_failures, atomic_load(&s->inflight));
    /* Room left where the database, its WAL and the log's index grow: a full disk refuses
     * every read (R-LOG-1), so this is the one to alert on before it happens. */
    struct statvfs fs;
    if (s->hub->db_path && statvfs_dir(s->hub->db_path, &fs) == 0)
        sb_printf(&b,
                  "# HELP overblik_disk_free_bytes Space left on the file system that holds the "
                  "database (for an unprivileged process).\n"
                  "# TYPE overblik_disk_free_bytes gauge\noverblik_disk_free_bytes %llu\n",
                  (unsigned long long)fs.f_bavail * (unsigned long long)fs.f_frsize);
    /* The disk's sync dominates a commit; its tail is every waiting request's tail. */
    sb_histogram(&b, "overblik_log_commit_seconds",
                 "How long each log COMMIT took (mostly the disk's sync).", ob_log_commit_bucket_le,
                 OB_LOG_COMMIT_BUCKETS, ls.commit_hist, (double)ls.commit_ns_sum / 1e9);
    if (b.bad) {
        free(b.p);
        return MHD_NO;
    }
    return send_body(s, conn, r, 200, "text/plain; version=0.0.4; charset=utf-8", b.p, b.n, NULL,
                     NULL, NULL, NULL);
}

/* Whether the database's files are still the ones the server opened (ob_log_ground);
 * the first time they are not, stderr says why, once. */
static ob_status watch_ground(ob_http_server *s, ob_err *e)
{
    if (!s->hub || !s->hub->log)
        return OB_OK;
    ob_status st = ob_alog_ground(s->hub->log, e);
    if (st != OB_OK && !atomic_exchange(&s->ground_told, true))
        fprintf(stderr, "overblik serve: %s: %s\n",
                !s->hub->db_path                        ? ""
                : ob_store_where_is_pg(s->hub->db_path) ? "the PostgreSQL database"
                                                        : s->hub->db_path,
                loggable(e->msg));
    return st;
}

void ob_http_watch(ob_http_server *s)
{
    ob_err e = {0};
    watch_ground(s, &e);
}

static enum MHD_Result healthz(ob_http_server *s, struct MHD_Connection *conn, req *r)
{
    if (!s->hub || !s->hub->log)
        return send_outcome(s, conn, r, 503, "transient", "the hub is not open");
    ob_err e = {0};
    if (watch_ground(s, &e) != OB_OK) /* not transient: it needs the operator */
        return send_outcome(s, conn, r, 503, "exception", e.msg);
    char why[sizeof s->hub->stop_reason + 32];
    if (ob_hub_stopped(s->hub, why, sizeof why))
        return send_outcome(s, conn, r, 503, "exception", why);
    char *ok = malloc(3);
    if (!ok)
        return MHD_NO;
    memcpy(ok, "ok\n", 3);
    return send_body(s, conn, r, 200, "text/plain; charset=utf-8", ok, 3, NULL, NULL, NULL, NULL);
}

/* The log's public face (R-LOG-7, R-LOG-8): its newest signed checkpoint note at a
 * stable URL, consistency proofs between two sizes, and its public keys. No token: they
 * hold no personal data, and witnesses must be able to poll them. */
static enum MHD_Result log_public(ob_http_server *s, struct MHD_Connection *conn, req *r,
                                  const char *url)
{
    if (!s->hub || !s->hub->db_path)
        return send_outcome(s, conn, r, 503, "transient", "the hub is not open");
    ob_err e = {0};
    char *text = NULL;
    ob_status st;
    const char *type = "text/plain; charset=utf-8";
    if (strcmp(url, "/log/checkpoint") == 0) {
        st = ob_alog_latest_note(s->hub->db_path, &text, &e);
    } else if (strcmp(url, "/log/key") == 0) {
        st = ob_alog_public_keys(s->hub->db_path, &text, &e);
    } else {
        const char *a = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "from");
        const char *b = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "to");
        char *end1 = NULL, *end2 = NULL;
        unsigned long long m = a ? strtoull(a, &end1, 10) : 0, n = b ? strtoull(b, &end2, 10) : 0;
        if (!a || !b || *end1 || *end2 || !m || !n)
            return send_outcome(s, conn, r, 400, "invalid", "give from=M&to=N, 0 < M <= N");
        uint8_t proof[OB_MERKLE_MAX_CONSISTENCY][OB_LOG_HASH_LEN];
        size_t len = 0;
        st = ob_alog_consistency(s->hub->db_path, m, n, proof, &len, &e);
        if (st == OB_OK) {
            json_t *o = json_object(), *arr = json_array();
            for (size_t i = 0; i < len; i++) {
                char b64[64];
                sodium_bin2base64(b64, sizeof b64, proof[i], OB_LOG_HASH_LEN,
                                  sodium_base64_VARIANT_ORIGINAL);
                json_array_append_new(arr, json_string(b64));
            }
            json_object_set_new(o, "format", json_string("overblik-log-consistency-v1"));
            json_object_set_new(o, "from", json_integer((json_int_t)m));
            json_object_set_new(o, "to", json_integer((json_int_t)n));
            json_object_set_new(o, "proof", arr);
            /* the two signed notes, so the proof checks from this answer and the keys */
            char *notes[2] = {NULL, NULL};
            ob_alog_note_at(s->hub->db_path, m, &notes[0], NULL);
            ob_alog_note_at(s->hub->db_path, n, &notes[1], NULL);
            json_object_set_new(o, "from_checkpoint",
                                notes[0] ? json_string(notes[0]) : json_null());
            json_object_set_new(o, "to_checkpoint", notes[1] ? json_string(notes[1]) : json_null());
            ob_free(notes[0]);
            ob_free(notes[1]);
            char *j = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
            json_decref(o);
            text = j ? ob_strdup(j) : NULL;
            free(j);
            type = "application/json";
        }
    }
    if (st == OB_EINVAL || st == OB_ENOTFOUND)
        return send_outcome(s, conn, r, st == OB_EINVAL ? 400 : 404,
                            st == OB_EINVAL ? "invalid" : "not-found", e.msg);
    if (st != OB_OK || !text) {
        ob_free(text);
        return send_outcome(s, conn, r, 503, "transient", "the log cannot be read now");
    }
    size_t n = strlen(text);
    char *body = malloc(n + 1);
    if (!body) {
        ob_free(text);
        return MHD_NO;
    }
    memcpy(body, text, n + 1);
    ob_free(text);
    return send_body(s, conn, r, 200, type, body, n, NULL, NULL, NULL, NULL);
}

/* ---- authentication ---- */

static const char *header(struct MHD_Connection *conn, const char *name)
{
    return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
}

/* Whether verified claims are those of a system token the operator listed for /metrics. */
static bool may_read_metrics(const ob_http_server *s, const json_t *claims)
{
    const char *kind = json_string_value(json_object_get(claims, "ob_kind"));
    const char *id = json_string_value(json_object_get(claims, "client_id"));
    if (!kind || strcmp(kind, "system") != 0 || !id || !id[0] || strchr(id, ',') ||
        strlen(id) > 200 || !s->metrics_clients[0])
        return false;
    char needle[204];
    snprintf(needle, sizeof needle, ",%s,", id);
    return strstr(s->metrics_clients, needle) != NULL;
}

static bool smart_endpoints(ob_http_server *s, char *authz, char *token, char *iss);

static const char *cert_binding(ob_http_server *s, struct MHD_Connection *conn, req *r,
                                const json_t *claims);

/* Verifies the bearer token; with `map`, also maps it to r->caller and applies the
 * purpose and break-the-glass headers; without, it must be a listed metrics client.
 * Answers the request on failure (returns false). */
static bool caller_from_claims(ob_http_server *s, struct MHD_Connection *conn, req *r,
                               json_t *claims, enum MHD_Result *mrc);

/* A web session instead of a bearer token (issue 26): its claims take the same path as a
 * verified token's (caller_from_claims). 0: no session cookie came; else answered or
 * mapped (*ok). */
static int session_caller(ob_http_server *s, struct MHD_Connection *conn, req *r, bool map,
                          enum MHD_Result *mrc, bool *ok)
{
    *ok = false;
    if (!s->web || !header(conn, "Cookie"))
        return 0;
    ob_web_req wq;
    memset(&wq, 0, sizeof wq);
    wq.method = r->method_s;
    wq.cookie = header(conn, "Cookie");
    wq.authorization = header(conn, "Authorization");
    wq.csrf = header(conn, "X-CSRF-Token");
    wq.fetch_site = header(conn, "Sec-Fetch-Site");
    wq.origin = header(conn, "Origin");
    wq.host = header(conn, "Host");
    wq.tls = s->tls;
    wq.now = (int64_t)ob_time_now();
    ob_err e = {0};
    json_t *claims = NULL;
    int st = ob_web_session_claims(s->web, &wq, &claims, &e);
    if (st == 0)
        return 0;
    if (st == 200 && !map) { /* /metrics: system tokens only, never a person's session */
        json_decref(claims);
        *mrc = send_outcome(s, conn, r, 403, "forbidden", "/metrics is for a listed system token");
    } else if (st == 200) {
        *ok = caller_from_claims(s, conn, r, claims, mrc);
    } else if (st == 401) {
        *mrc = send_outcome(s, conn, r, 401, "login", e.msg);
        atomic_fetch_add_explicit(&s->auth_failures, 1, memory_order_relaxed);
    } else {
        *mrc = send_outcome(s, conn, r, st,
                            st == 403   ? "forbidden"
                            : st == 400 ? "invalid"
                                        : "transient",
                            e.msg);
    }
    return st;
}

static bool authenticate(ob_http_server *s, struct MHD_Connection *conn, req *r, bool map,
                         enum MHD_Result *mrc)
{
    const char *authz = header(conn, "Authorization");
    ob_err e = {0};
    bool sess_ok;
    if (session_caller(s, conn, r, map, mrc, &sess_ok) != 0)
        return sess_ok;
    if (!authz || strncasecmp(authz, "Bearer ", 7) != 0) {
        *mrc = send_401(s, conn, r, "authentication required: send Authorization: Bearer <token>",
                        false);
        return false;
    }
    const char *tok = authz + 7;
    while (*tok == ' ')
        tok++;
    size_t tlen = strlen(tok);
    while (tlen && tok[tlen - 1] == ' ')
        tlen--;
    json_t *claims = NULL;
    pthread_rwlock_rdlock(&s->auth_lock);
    ob_status vrc = ob_auth_verify(s->auth, tok, tlen, (int64_t)ob_time_now(), &claims, &e);
    pthread_rwlock_unlock(&s->auth_lock); /* the claims are ours: they outlive the verifier */
    if (vrc != OB_OK) {
        *mrc = send_401(s, conn, r, e.msg, true);
        return false;
    }
    const char *unbound = cert_binding(s, conn, r, claims);
    if (unbound) {
        atomic_fetch_add_explicit(&s->cert_refused, 1, memory_order_relaxed);
        json_decref(claims);
        *mrc = send_401(s, conn, r, unbound, true);
        return false;
    }
    ob_status wr = map && r->write
                       ? ob_auth_replay_check(s->replay, claims, (int64_t)ob_time_now(), &e)
                       : OB_OK;
    if (wr == OB_OK && map && r->write && s->hub->sync) {
        /* several servers: a token used for a write on another is a replay here too */
        uint8_t digest[32];
        int64_t until;
        bool first = false;
        ob_auth_write_digest(claims, digest, &until);
        wr = ob_pgsync_claim_once(s->hub->sync, digest, until, &first, &e);
        if (!wr && !first)
            wr = ob_err_set(&e, OB_EINVAL,
                            "this token was used for a write already (jti replayed); "
                            "get a new token for each write");
    }
    if (wr != OB_OK) { /* one write per token (docs/api.md) */
        json_decref(claims);
        *mrc = wr == OB_ELIMIT || wr == OB_EIO
                   ? send_outcome(s, conn, r, 503, "transient",
                                  wr == OB_EIO ? "the database did not answer; nothing was "
                                                 "changed; try again"
                                               : e.msg)
                   : send_401(s, conn, r, e.msg, true);
        return false;
    }
    if (!map) {
        bool allowed = may_read_metrics(s, claims);
        json_decref(claims);
        if (!allowed)
            *mrc = send_outcome(s, conn, r, 403, "forbidden",
                                "this token may not read /metrics: it is for a system token "
                                "whose client_id the operator lists in metrics_clients");
        return allowed;
    }
    return caller_from_claims(s, conn, r, claims, mrc);
}

/* Verified claims (a bearer token's or a session's; taken over) -> r->caller, with the
 * purpose and break-the-glass headers. Answers the request on failure (false). */
static bool caller_from_claims(ob_http_server *s, struct MHD_Connection *conn, req *r,
                               json_t *claims, enum MHD_Result *mrc)
{
    ob_err e = {0};
    ob_status st = ob_auth_caller(s->hub, claims, &r->caller, &e);
    if (st == OB_EDENIED) {
        *mrc = send_outcome(s, conn, r, 403, "forbidden", e.msg);
    } else if (st != OB_OK) {
        *mrc = send_401(s, conn, r, e.msg, true);
    } else if ((st = ob_auth_headers(
                    claims, header(conn, "X-Purpose-Of-Use"), header(conn, "X-Break-Glass"),
                    header(conn, "X-Break-Glass-Reason"), &r->caller, &e)) != OB_OK) {
        *mrc = send_outcome(s, conn, r, 400, "invalid", e.msg);
    }
    json_decref(claims);
    if (st != OB_OK)
        return false;
    r->caller.now = ob_time_now();
    /* issue 26: a GP showing a patient who is not digital their own log (api_audit.c) */
    const char *shown = header(conn, "X-Shown-To-Patient");
    if (shown && strncmp(shown, "Patient/", 8) == 0 &&
        strlen(shown + 8) < sizeof r->caller.shown_to)
        snprintf(r->caller.shown_to, sizeof r->caller.shown_to, "%s", shown + 8);
    return true;
}

/* ---- the FHIR API ---- */

typedef struct param_list {
    ob_api_param v[OB_HTTP_MAX_PARAMS];
    size_t n;
    bool overflow;
} param_list;

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    (void)kind;
    param_list *pl = cls;
    if (pl->n >= OB_HTTP_MAX_PARAMS) {
        pl->overflow = true;
        return MHD_NO;
    }
    pl->v[pl->n++] = (ob_api_param){key, value ? value : "", false};
    return MHD_YES;
}

static void req_unref(req *r)
{
    if (atomic_fetch_sub(&r->refs, 1) == 1)
        ob_free(r);
}

static void resume_once(req *r)
{
    if (!atomic_exchange(&r->resumed, true))
        MHD_resume_connection(r->conn);
}

static void defer_release(req *r)
{
    if (atomic_fetch_sub(&r->holds, 1) == 1)
        resume_once(r);
}

static void defer_hold(void *ctx)
{
    req *r = ctx;
    atomic_fetch_add(&r->refs, 1);
    atomic_fetch_add(&r->holds, 1);
}

/* A stop whose shutdown timeout ran out answers the requests still waiting for their
 * log entries itself: 503, as for a failed append (R-LOG-1: never an answer without its
 * entry). libmicrohttpd aborts the process when it is stopped with a connection still
 * suspended (exit 134: no final checkpoint, the index left unclean). Their appends go on
 * and finish in ob_log_close; the request stays allocated until then (refs). */
static void cut(req *r)
{
    atomic_store(&r->cut, true);
    resume_once(r);
}

/* After the API call: the request waits for its appends, if any, on its daemon's list. */
static void park(ob_http_server *s, req *r)
{
    struct parked *p = &s->parked[r->daemon];
    pthread_mutex_lock(&p->mu);
    r->pprev = NULL;
    r->pnext = p->head;
    if (p->head)
        p->head->pprev = r;
    p->head = r;
    r->parked = true;
    if (atomic_load(&s->cutting))
        cut(r);
    pthread_mutex_unlock(&p->mu);
}

static void unpark(ob_http_server *s, req *r)
{
    if (!r->parked)
        return;
    struct parked *p = &s->parked[r->daemon];
    pthread_mutex_lock(&p->mu);
    if (r->pprev)
        r->pprev->pnext = r->pnext;
    else
        p->head = r->pnext;
    if (r->pnext)
        r->pnext->pprev = r->pprev;
    r->parked = false;
    pthread_mutex_unlock(&p->mu);
}

/* On the log's writer thread: the entry is durable, or failed. */
static void defer_done(void *ctx, ob_status st, uint64_t first_seq, const ob_err *err)
{
    (void)first_seq;
    req *r = ctx;
    if (st != OB_OK && !atomic_exchange(&r->log_failed, true))
        snprintf(r->log_err, sizeof r->log_err, "%.190s",
                 err && err->msg[0] ? err->msg : ob_status_name(st));
    defer_release(r);
    req_unref(r);
}

/* Before a failed done: the change committed but was not acknowledged (ob_hub_defer). */
static void defer_unconfirmed(void *ctx)
{
    req *r = ctx;
    atomic_store(&r->unconfirmed, true);
}

/* The resumed call: every log entry of the request is durable (or failed). */
static enum MHD_Result send_ready(ob_http_server *s, struct MHD_Connection *conn, req *r)
{
    enum MHD_Result mrc;
    ob_api_response *out = &r->out;
    r->ready = false;
    /* log_err is only read when the last hold made the answer ready (cut may resume the
     * request while an append is still writing it) */
    bool cut_short = atomic_load(&r->cut);
    if (!cut_short && atomic_load(&r->unconfirmed)) {
        /* T-DB-8: not the change's answer, and not "nothing changed" either: it committed,
         * and may be in force (or become so) without every server having applied it. A 503,
         * as for a failed append: the servers or the database are in trouble (a failover),
         * which a client must not take for a bug */
        fprintf(stderr,
                "overblik serve: %s %s: answered 503, the change was not acknowledged: %s\n",
                r->method_s, r->log_path, loggable(r->log_err));
        ob_api_response_release(out);
        return send_outcome(s, conn, r, 503, "transient",
                            "the change was written, but not every server confirmed it in time, "
                            "so it may not be in force everywhere yet; read it back before you "
                            "send it again");
    }
    if (cut_short || atomic_load(&r->log_failed)) { /* R-LOG-1: no answer without its entry */
        if (cut_short)
            fprintf(stderr,
                    "overblik serve: %s %s: answered 503, the server stopped before its log "
                    "entry was durable\n",
                    r->method_s, r->log_path);
        else
            fprintf(stderr, "overblik serve: %s %s: answered 503, the access log failed: %s\n",
                    r->method_s, r->log_path, loggable(r->log_err));
        ob_api_response_release(out);
        ob_api_log_failed(out);
        mrc = send_json(s, conn, r, out->status, out->body, NULL, NULL);
        ob_api_response_release(out);
        return mrc;
    }
    if (r->api_failed || out->status < 100 || out->status > 599) {
        if (!r->api_failed)
            fprintf(stderr, "overblik serve: %s %s: the API gave no status\n", r->method_s,
                    r->log_path);
        ob_api_response_release(out);
        return send_outcome(s, conn, r, 503, "transient",
                            "internal error; nothing was revealed or changed");
    }
    /* A write (it has a Location) may ask for less than the resource back (Prefer) */
    ob_http_prefer pref = out->location[0] && (out->status == 200 || out->status == 201)
                              ? ob_http_prefer_return(header(conn, "Prefer"))
                              : OB_PREFER_RESOURCE;
    if (pref != OB_PREFER_RESOURCE) {
        char loc[sizeof out->location], etag[sizeof out->etag];
        int status = out->status;
        memcpy(loc, out->location, sizeof loc);
        memcpy(etag, out->etag, sizeof etag);
        ob_api_response_release(out);
        json_t *oo =
            pref == OB_PREFER_OUTCOME
                ? json_pack("{s:s, s:[{s:s, s:s, s:s}]}", "resourceType", "OperationOutcome",
                            "issue", "severity", "information", "code", "informational",
                            "diagnostics", status == 201 ? "created" : "updated")
                : NULL;
        char *text = oo ? json_dumps(oo, JSON_COMPACT) : NULL;
        json_decref(oo);
        if (pref == OB_PREFER_OUTCOME && !text)
            return MHD_NO;
        return send_body(s, conn, r, status, text ? CT_FHIR : NULL, text, text ? strlen(text) : 0,
                         "Location", loc, "ETag", etag);
    }
    /* If-None-Match (issue 25): a read whose ETag the client already holds answers 304 with
     * no body; it was decided and logged like any read */
    if (r->method == M_GET && out->status == 200 && out->etag[0] &&
        etag_matches(header(conn, "If-None-Match"), out->etag)) {
        char etag[sizeof out->etag];
        memcpy(etag, out->etag, sizeof etag);
        ob_api_response_release(out);
        return send_body(s, conn, r, 304, NULL, NULL, 0, "ETag", etag, NULL, NULL);
    }
    if (out->text) { /* written as text on a hot path: handed to libmicrohttpd as is */
        char *text = out->text;
        size_t n = out->text_len;
        out->text = NULL;
        mrc = send_body(s, conn, r, out->status, out->content_type ? out->content_type : CT_FHIR,
                        text, n, "Location", out->location, "ETag", out->etag);
    } else if (out->content_type && json_is_string(out->body)) {
        const char *txt = json_string_value(out->body);
        size_t n = json_string_length(out->body);
        char *copy = malloc(n + 1);
        if (!copy) {
            ob_api_response_release(out);
            return MHD_NO;
        }
        memcpy(copy, txt, n + 1);
        mrc = send_body(s, conn, r, out->status, out->content_type, copy, n, "Location",
                        out->location, "ETag", out->etag);
    } else {
        char *text = out->body ? json_dumps(out->body, JSON_COMPACT) : NULL;
        if (out->body && !text) {
            ob_api_response_release(out);
            return MHD_NO;
        }
        mrc = send_body(s, conn, r, out->status, text || out->status != 204 ? CT_FHIR : NULL, text,
                        text ? strlen(text) : 0, "Location", out->location, "ETag", out->etag);
    }
    ob_api_response_release(out);
    return mrc;
}

static enum MHD_Result fhir(ob_http_server *s, struct MHD_Connection *conn, req *r, const char *url)
{
    /* On the stack: 6 KiB, and only n and overflow need a value (a calloc here was a
     * 6 KiB memset and a large-bin malloc on every request). */
    param_list list;
    list.n = 0;
    list.overflow = false;
    param_list *pl = &list;
    ob_http_form form = {0};
    json_t *body = NULL;
    ob_err e = {0};
    enum MHD_Result mrc;
    char why[sizeof s->hub->stop_reason];
    if (ob_hub_stopped(s->hub, why, sizeof why)) /* fail closed, and say why (issue 24) */
        return send_outcome(s, conn, r, 503, "exception", why);
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_arg, pl);
    if (pl->overflow) {
        mrc = send_outcome(s, conn, r, 400, "too-costly", "too many query parameters");
        goto out;
    }
    if (r->len > 0 && r->form) {
        ob_status st = ob_http_form_decode(r->body, r->len, true, &form, &e);
        if (st || pl->n + form.n > OB_HTTP_MAX_PARAMS) {
            mrc = send_outcome(s, conn, r, 400, st == OB_ELIMIT || !st ? "too-costly" : "invalid",
                               st ? e.msg : "too many parameters");
            goto out;
        }
        memcpy(pl->v + pl->n, form.params, form.n * sizeof *form.params);
        pl->n += form.n;
    } else if (r->len > 0) {
        if (ob_http_json_parse(r->body, r->len, &body, &e) != OB_OK) {
            mrc = send_outcome(s, conn, r, 400, e.code == OB_ELIMIT ? "too-costly" : "invalid",
                               e.msg);
            goto out;
        }
    }
    bool stats = r->rt == R_STATS;
    const char *path = url + (stats ? 10 : 5); /* below "/api/stats" or "/fhir" */
    bool ignored[OB_HTTP_MAX_PARAMS];
    bool lenient = ob_http_prefer_lenient(header(conn, "Prefer"));
    if (lenient)
        memset(ignored, 0, pl->n * sizeof *ignored);
    /* the CapabilityStatement's rest.security names where SMART apps log in */
    char authz[OB_OIDC_URL_MAX] = "", token[OB_OIDC_URL_MAX] = "", iss[OB_OIDC_URL_MAX];
    if (strcmp(path, "/metadata") == 0)
        smart_endpoints(s, authz, token, iss);
    ob_api_request rq = {r->method_s,
                         path[0] ? path : "/",
                         pl->v,
                         pl->n,
                         body,
                         s->base_url,
                         header(conn, "If-Match"),
                         lenient ? ignored : NULL,
                         authz[0] && token[0] ? authz : NULL,
                         authz[0] && token[0] ? token : NULL,
                         s->cors_origins[0] != '\0'};
    /* Suspend first: a deferred log append may complete (and resume) before the API
     * returns. The answer is sent from the resumed call (send_ready). */
    r->conn = conn;
    atomic_store(&r->holds, 1);
    MHD_suspend_connection(conn);
    ob_hub_defer d = {defer_hold, defer_done, r, defer_unconfirmed};
    ob_hub_defer_set(&d);
    ob_status st = stats ? ob_api_stats(s->hub, &r->caller, &rq, &r->out, &e)
                         : ob_api_handle(s->hub, &r->caller, &rq, &r->out, &e);
    ob_hub_defer_set(NULL);
    if (st != OB_OK) {
        fprintf(stderr, "overblik serve: %s %s: %s\n", r->method_s, r->log_path,
                e.msg[0] ? loggable(e.msg) : ob_status_name(st));
        r->api_failed = true;
    }
    r->ready = true;
    park(s, r);
    defer_release(r);
    mrc = MHD_YES;
out:
    json_decref(body);
    ob_http_form_release(&form);
    return mrc;
}

/* ---- the door: per-client limits, deadlines, framing ---- */

static int64_t ms_of(const struct timespec *t)
{
    return (int64_t)t->tv_sec * 1000 + t->tv_nsec / 1000000;
}

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return ms_of(&t);
}

/* The key a client is counted under: its IPv4 address, or its IPv6 address's /64 (one
 * subscriber is commonly given a whole /64, so single addresses would count nothing). */
static void client_key(const struct sockaddr *sa, uint8_t key[16])
{
    memset(key, 0, 16);
    if (sa && sa->sa_family == AF_INET) {
        key[10] = key[11] = 0xff;
        memcpy(key + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    } else if (sa && sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        memcpy(key, a->s6_addr, IN6_IS_ADDR_V4MAPPED(a) ? 16 : 8);
    }
}

/* libmicrohttpd's accept policy: refuses a client that holds its share already. Counted
 * over the server's list (a thousand entries at most), so every listening socket's
 * daemon sees the same count; two daemons accepting at once may let one more in each. */
static enum MHD_Result accept_policy(void *cls, const struct sockaddr *addr, socklen_t len)
{
    (void)len;
    ob_http_server *s = cls;
    uint8_t key[16];
    client_key(addr, key);
    unsigned n = 0;
    pthread_mutex_lock(&s->conns_lock);
    for (const conn_slot *c = s->conns; c && n < s->per_ip; c = c->next)
        n += memcmp(c->client, key, sizeof key) == 0;
    pthread_mutex_unlock(&s->conns_lock);
    if (n < s->per_ip)
        return MHD_YES;
    atomic_fetch_add_explicit(&s->refused_per_ip, 1, memory_order_relaxed);
    return MHD_NO;
}

/* A connection starts (its headers' deadline runs from now) or closes. libmicrohttpd
 * announces the close before it closes the socket, and the reaper holds conns_lock
 * while it uses one, so the reaper never touches a socket number that was reused. */
static void notify_conn(void *cls, struct MHD_Connection *conn, void **socket_context,
                        enum MHD_ConnectionNotificationCode code)
{
    ob_http_server *s = cls;
    conn_slot *c = *socket_context;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        c = ob_calloc(1, sizeof *c);
        *socket_context = c;
        if (!c)
            return; /* not counted, no deadline: the idle timeout still applies */
        const union MHD_ConnectionInfo *fi =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        const union MHD_ConnectionInfo *ai =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        c->fd = fi ? fi->connect_fd : -1;
        client_key(ai ? ai->client_addr : NULL, c->client);
        c->phase = CUT_HEADERS;
        atomic_store(&c->deadline_ms, now_ms() + (int64_t)s->header_timeout * 1000);
        pthread_mutex_lock(&s->conns_lock);
        c->next = s->conns;
        if (s->conns)
            s->conns->prev = c;
        s->conns = c;
        pthread_mutex_unlock(&s->conns_lock);
        return;
    }
    if (!c)
        return;
    pthread_mutex_lock(&s->conns_lock);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    pthread_mutex_unlock(&s->conns_lock);
    ob_free(c);
    *socket_context = NULL;
}

/* Sets the connection's deadline: `secs` from `from_ms` for `phase`, or none (secs 0). */
static void set_deadline(conn_slot *c, int phase, int64_t from_ms, unsigned secs)
{
    if (!c)
        return;
    atomic_store_explicit(&c->phase, phase, memory_order_relaxed);
    atomic_store_explicit(&c->deadline_ms, secs ? from_ms + (int64_t)secs * 1000 : 0,
                          memory_order_relaxed);
}

/* The reaper: four times a second, cuts every connection past its deadline. Its socket
 * is shut down, not closed: libmicrohttpd sees the end of the stream, answers nothing
 * and closes the connection itself, so its bookkeeping stays its own. */
static void *reaper_main(void *arg)
{
    ob_http_server *s = arg;
    pthread_mutex_lock(&s->conns_lock);
    while (!s->reaper_stop) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += 250 * 1000 * 1000;
        if (until.tv_nsec >= 1000000000) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&s->reaper_wake, &s->conns_lock, &until);
        int64_t now = now_ms();
        for (conn_slot *c = s->conns; c; c = c->next) {
            int64_t d = atomic_load_explicit(&c->deadline_ms, memory_order_relaxed);
            if (d == 0 || now <= d || c->cut || c->fd < 0)
                continue;
            c->cut = true;
            shutdown(c->fd, SHUT_RDWR);
            int ph = atomic_load_explicit(&c->phase, memory_order_relaxed);
            atomic_fetch_add_explicit(&s->cut[ph == CUT_BODY ? CUT_BODY : CUT_HEADERS], 1,
                                      memory_order_relaxed);
        }
    }
    pthread_mutex_unlock(&s->conns_lock);
    return NULL;
}

/* libmicrohttpd's URI callback: the request line has arrived, before the query is parsed
 * into the connection's memory pool. The request's state starts here. A query of more
 * than OB_HTTP_MAX_PARAMS parameters is cut off before libmicrohttpd stores it: stored,
 * a few hundred of them filled the pool, and the 400 then found no room to be written
 * (the client waited for the 30 s timeout). The URI is libmicrohttpd's own writable
 * request buffer, which it changes itself right after this call. */
static void *uri_logged(void *cls, const char *uri, struct MHD_Connection *conn)
{
    const struct daemon_ctx *dc = cls;
    ob_http_server *s = dc->s;
    req *r = ob_calloc(1, sizeof *r);
    if (!r)
        return NULL;
    atomic_init(&r->refs, 1);
    r->daemon = dc->i;
    r->method = M_OTHER;
    r->method_s = "?";
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    r->slot = ci ? ci->socket_context : NULL;
    /* libmicrohttpd decodes %00 into a NUL that ends the path or value: the server would
     * answer "/metrics" for "/metrics%00x", a different address than a proxy, a log or the
     * R-CPR-2 check of what follows sees */
    r->nul = strstr(uri, "%00") != NULL;
    char *q = strchr(uri, '?');
    if (q) {
        size_t fields = 1;
        for (const char *p = q + 1; *p; p++)
            fields += *p == '&';
        if (fields > OB_HTTP_MAX_PARAMS) {
            r->too_many_params = true;
            q[1] = '\0';
        }
    }
    atomic_fetch_add(&s->inflight, 1);
    return r;
}

typedef struct framing {
    unsigned cl, te;
} framing;

static enum MHD_Result count_framing(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    (void)kind;
    (void)value;
    framing *f = cls;
    if (strcasecmp(key, "Content-Length") == 0)
        f->cl++;
    else if (strcasecmp(key, "Transfer-Encoding") == 0)
        f->te++;
    return MHD_YES;
}

/* RFC 9112 section 6.3: a message whose length is ambiguous is an unrecoverable error.
 * libmicrohttpd lets Transfer-Encoding win over Content-Length and reads only the first of
 * two Content-Lengths, so a proxy that reads the other would see a different second request
 * in the same bytes (request smuggling). Refused with the connection closed, so that no
 * byte after these headers is read as a request. Returns false when it answered. */
static bool framing_ok(ob_http_server *s, struct MHD_Connection *conn, req *r, const char *version,
                       enum MHD_Result *mrc)
{
    framing f = {0, 0};
    const char *te = header(conn, "Transfer-Encoding");
    if (te || header(conn, "Content-Length")) /* most requests have neither: no count */
        MHD_get_connection_values(conn, MHD_HEADER_KIND, count_framing, &f);
    const char *why = NULL;
    int status = 400;
    if (strcmp(version, MHD_HTTP_VERSION_1_1) == 0 && !header(conn, "Host"))
        why = "an HTTP/1.1 request must carry a Host header";
    else if (f.cl > 1 || f.te > 1)
        why = "Content-Length or Transfer-Encoding is repeated; send each at most once";
    else if (f.cl && f.te)
        why = "send Content-Length or Transfer-Encoding, not both (RFC 9112 section 6.3)";
    else if (te && strcasecmp(te, "chunked") != 0) {
        why = "the only transfer coding accepted is chunked";
        status = 501;
    }
    if (!why)
        return true;
    atomic_fetch_add_explicit(&s->framing_refused, 1, memory_order_relaxed);
    *mrc = send_outcome_h(s, conn, r, status, status == 501 ? "not-supported" : "structure", why,
                          "Connection", "close");
    return false;
}

/* ---- TLS (R-SRC-5) ---- */

/* TLS 1.2 and 1.3 only; AEAD ciphers only (AES-GCM, ChaCha20-Poly1305); ephemeral ECDH only,
 * so every session has forward secrecy; no SHA-1 signatures. (GnuTLS priority syntax.) */
#define OB_TLS_PRIORITIES                                                                          \
    "SECURE128:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-256-GCM:+AES-128-GCM:"         \
    "+CHACHA20-POLY1305:-MAC-ALL:+AEAD:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:-SIGN-RSA-SHA1:"            \
    "-SIGN-ECDSA-SHA1:%SERVER_PRECEDENCE"

static void tls_creds_free(tls_creds *c)
{
    if (!c)
        return;
    for (unsigned i = 0; i < c->n; i++)
        gnutls_pcert_deinit(&c->pcert[i]);
    if (c->key)
        gnutls_privkey_deinit(c->key);
    ob_free(c);
}

/* Reads a chain (leaf first) and its key, and checks that they belong together. */
static ob_status tls_creds_load(const char *cert_path, const char *key_path, tls_creds **out,
                                ob_err *e)
{
    *out = NULL;
    gnutls_datum_t cd = {NULL, 0}, kd = {NULL, 0};
    gnutls_certificate_credentials_t check = NULL;
    ob_status rc = OB_OK;
    tls_creds *c = ob_calloc(1, sizeof *c);
    if (!c)
        return ob_err_set(e, OB_ENOMEM, "out of memory");
    int g;
    if ((g = gnutls_load_file(cert_path, &cd)) < 0) {
        rc = ob_err_set(e, OB_EIO, "cannot read the TLS certificate %s: %s", cert_path,
                        gnutls_strerror(g));
        goto out;
    }
    if ((g = gnutls_load_file(key_path, &kd)) < 0) {
        rc = ob_err_set(e, OB_EIO, "cannot read the TLS key %s: %s", key_path, gnutls_strerror(g));
        goto out;
    }
    /* GnuTLS checks there that the key is the leaf certificate's */
    if ((g = gnutls_certificate_allocate_credentials(&check)) < 0 ||
        (g = gnutls_certificate_set_x509_key_mem(check, &cd, &kd, GNUTLS_X509_FMT_PEM)) < 0) {
        rc = ob_err_set(e, OB_EINVAL, "TLS certificate %s and key %s do not load as a pair: %s",
                        cert_path, key_path, gnutls_strerror(g));
        goto out;
    }
    c->n = sizeof c->pcert / sizeof c->pcert[0];
    if ((g = gnutls_pcert_list_import_x509_raw(c->pcert, &c->n, &cd, GNUTLS_X509_FMT_PEM, 0)) < 0 ||
        (g = gnutls_privkey_init(&c->key)) < 0 ||
        (g = gnutls_privkey_import_x509_raw(c->key, &kd, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0) {
        if (g < 0 && !c->key)
            c->n = 0;
        rc = ob_err_set(e, OB_EINVAL, "TLS certificate %s or key %s: %s", cert_path, key_path,
                        gnutls_strerror(g));
        goto out;
    }
out:
    if (check)
        gnutls_certificate_free_credentials(check);
    if (kd.data) {
        sodium_memzero(kd.data, kd.size);
        gnutls_free(kd.data);
    }
    gnutls_free(cd.data);
    if (rc) {
        if (c->n && !c->key)
            c->n = 0; /* the import failed: nothing to deinit */
        tls_creds_free(c);
    } else {
        *out = c;
    }
    return rc;
}

/* GnuTLS asks which chain and key to present: the current pair, read at each handshake. */
static int tls_retrieve(gnutls_session_t sess, const gnutls_datum_t *req_ca_rdn, int nreqs,
                        const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
                        gnutls_pcert_st **pcert, unsigned int *pcert_length,
                        gnutls_privkey_t *privkey)
{
    (void)sess, (void)req_ca_rdn, (void)nreqs, (void)pk_algos, (void)pk_algos_length;
    tls_creds *c = atomic_load_explicit(&tls_current, memory_order_acquire);
    if (!c)
        return -1;
    *pcert = c->pcert;
    *pcert_length = c->n;
    *privkey = c->key;
    return 0;
}

ob_status ob_http_reload_tls(ob_http_server *s, ob_err *e)
{
    if (!s->tls)
        return ob_err_set(e, OB_EINVAL, "the server does not speak TLS");
    tls_creds *next = NULL;
    ob_status rc = tls_creds_load(s->tls_cert, s->tls_key, &next, e);
    atomic_fetch_add_explicit(&s->tls_reloads[rc == OB_OK], 1, memory_order_relaxed);
    if (rc)
        return rc;
    tls_creds *prev = atomic_exchange_explicit(&tls_current, next, memory_order_acq_rel);
    pthread_mutex_lock(&s->conns_lock);
    prev->retired = s->retired;
    s->retired = prev;
    pthread_mutex_unlock(&s->conns_lock);
    return OB_OK;
}

bool ob_http_tls(const ob_http_server *s)
{
    return s->tls;
}

/* The connection's client certificate, verified against the configured client CAs, as
 * an RFC 8705 thumbprint; NULL when there is none or it does not verify. Worked out once
 * a connection (the handshake fixed it). */
static const char *client_x5t(struct MHD_Connection *conn, conn_slot *slot)
{
    if (slot && slot->cert_state)
        return slot->cert_state == 1 ? slot->x5t : NULL;
    const union MHD_ConnectionInfo *ti =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    gnutls_session_t sess = ti ? (gnutls_session_t)ti->tls_session : NULL;
    unsigned status = 1, n = 0;
    const gnutls_datum_t *peers = sess ? gnutls_certificate_get_peers(sess, &n) : NULL;
    char buf[48];
    const char *res = NULL;
    if (peers && n > 0 && gnutls_certificate_verify_peers2(sess, &status) == 0 && status == 0) {
        uint8_t h[crypto_hash_sha256_BYTES];
        crypto_hash_sha256(h, peers[0].data, peers[0].size);
        sodium_bin2base64(buf, sizeof buf, h, sizeof h, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        res = buf;
    }
    if (!slot) /* nowhere to keep it (out of memory at accept): refused */
        return NULL;
    if (res)
        memcpy(slot->x5t, buf, sizeof slot->x5t);
    slot->cert_state = res ? 1 : 2;
    return res ? slot->x5t : NULL;
}

/* RFC 8705 certificate-bound tokens, over TLS: a token that names a certificate (cnf with
 * x5t#S256) is good only over a connection whose verified client certificate has that
 * thumbprint, and a system token must name one (source systems authenticate with mutual
 * TLS, R-SRC-5). A stolen system token is then of no use without the system's private
 * key. Returns NULL, or why the token is refused (HTTP 401). */
static const char *cert_binding(ob_http_server *s, struct MHD_Connection *conn, req *r,
                                const json_t *claims)
{
    if (!s->tls)
        return NULL;
    const json_t *cnf = json_object_get(claims, "cnf");
    const char *kind = json_string_value(json_object_get(claims, "ob_kind"));
    if (!cnf && !(kind && strcmp(kind, "system") == 0))
        return NULL;
    const char *want = json_string_value(json_object_get(cnf, "x5t#S256"));
    if (!want)
        return "a system token must be bound to the system's client certificate "
               "(cnf with x5t#S256, RFC 8705)";
    const char *have = s->client_ca ? client_x5t(conn, r->slot) : NULL;
    if (!have)
        return "this token is bound to a client certificate: present it (mutual TLS, RFC 8705)";
    if (strcmp(have, want) != 0)
        return "the client certificate is not the one this token is bound to (RFC 8705)";
    return NULL;
}

/* Whether the socket's address is a loopback one (127.0.0.0/8, ::1, ::ffff:127.x.y.z). */
static bool loopback_fd(int fd)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
        return false;
    if (ss.ss_family == AF_INET)
        return (ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr) >> 24) == 127;
    if (ss.ss_family == AF_INET6) {
        const struct in6_addr *a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
    }
    return false;
}

/* ---- the access handler ---- */

static int method_index(const char *m)
{
    for (int i = 0; i < M_OTHER; i++)
        if (strcmp(m, method_names[i]) == 0)
            return i;
    return M_OTHER;
}

static route route_of(const char *url)
{
    if (strcmp(url, "/healthz") == 0)
        return R_HEALTHZ;
    if (strcmp(url, "/.well-known/smart-configuration") == 0 ||
        strcmp(url, "/fhir/.well-known/smart-configuration") == 0)
        return R_SMART;
    if (strcmp(url, "/log/checkpoint") == 0 || strcmp(url, "/log/consistency") == 0 ||
        strcmp(url, "/log/key") == 0)
        return R_LOG;
    if (strcmp(url, "/metrics") == 0)
        return R_METRICS;
    if (strcmp(url, "/fhir/metadata") == 0)
        return R_METADATA;
    if (strcmp(url, "/fhir") == 0 || prefix(url, "/fhir/"))
        return R_FHIR;
    /* /api/stats/... is the statistics API for cluster coordinators (issue 4) */
    if (strcmp(url, "/api/stats") == 0 || prefix(url, "/api/stats/"))
        return R_STATS;
    if (prefix(url, "/api/") || prefix(url, "/log/") || prefix(url, "/.well-known/"))
        return R_UNKNOWN;
    return R_WEB;
}

/* OPTIONS: the methods, and for an allowed origin a CORS preflight's answer (issue 25). */
static enum MHD_Result preflight(ob_http_server *s, struct MHD_Connection *conn, req *r)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Allow", "GET, HEAD, POST, PUT, OPTIONS");
    if (cors_origin(s, conn)) {
        MHD_add_response_header(resp, "Access-Control-Allow-Methods", "GET, POST, PUT, OPTIONS");
        MHD_add_response_header(resp, "Access-Control-Allow-Headers",
                                "Authorization, Content-Type, Accept, If-Match, If-None-Match, "
                                "Prefer, X-Purpose-Of-Use");
        MHD_add_response_header(resp, "Access-Control-Max-Age", "600");
    }
    add_common(s, conn, resp);
    enum MHD_Result rc = MHD_queue_response(conn, 204, resp);
    MHD_destroy_response(resp);
    r->status = 204;
    r->answered = true;
    return rc;
}

/* Where a SMART app logs in: the configured endpoints, else those of the identity provider
 * marked smart (as its discovery document says). Each buffer OB_OIDC_URL_MAX bytes; false
 * when none is known. */
static bool smart_endpoints(ob_http_server *s, char *authz, char *token, char *iss)
{
    snprintf(authz, OB_OIDC_URL_MAX, "%s", s->smart_authorize);
    snprintf(token, OB_OIDC_URL_MAX, "%s", s->smart_token);
    snprintf(iss, OB_OIDC_URL_MAX, "%s", s->smart_issuer);
    if (!authz[0] || !token[0]) {
        pthread_rwlock_rdlock(&s->auth_lock);
        ob_oidc *o = ob_auth_oidc(s->auth);
        pthread_rwlock_unlock(&s->auth_lock); /* the providers outlive every verifier */
        if (!ob_oidc_smart(o, (int64_t)ob_time_now(), authz, token, iss, OB_OIDC_URL_MAX))
            authz[0] = token[0] = '\0';
    }
    return authz[0] && token[0];
}

/* GET /.well-known/smart-configuration (SMART App Launch 2.0): where a SMART app logs in,
 * readable without a token; 404 when no identity provider is configured. */
static enum MHD_Result smart_config(ob_http_server *s, struct MHD_Connection *conn, req *r)
{
    char authz[OB_OIDC_URL_MAX], token[OB_OIDC_URL_MAX], iss[OB_OIDC_URL_MAX];
    if (!smart_endpoints(s, authz, token, iss))
        return send_outcome(s, conn, r, 404, "not-found",
                            "SMART App Launch is not configured on this server (smart_authorize "
                            "and smart_token, or a smart identity provider, docs/operations.md)");
    json_t *j = json_pack(
        "{s:s, s:s, s:[s], s:[s], s:[s], s:[s,s,s,s,s,s,s,s,s,s,s], s:[s,s,s,s,s,s,s,s]}",
        "authorization_endpoint", authz, "token_endpoint", token, "grant_types_supported",
        "authorization_code", "response_types_supported", "code",
        "code_challenge_methods_supported", "S256", "capabilities", "launch-standalone",
        "client-public", "client-confidential-symmetric", "client-confidential-asymmetric",
        "context-standalone-patient", "permission-patient", "permission-user", "permission-v2",
        "sso-openid-connect", "authorize-post", "permission-offline", "scopes_supported", "openid",
        "fhirUser", "launch/patient", "patient/*.rs", "user/*.rs", "offline_access", "profile",
        "online_access");
    if (j && iss[0])
        json_object_set_new(j, "issuer", json_string(iss));
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!text)
        return MHD_NO;
    return send_body(s, conn, r, 200, "application/json", text, strlen(text), NULL, NULL, NULL,
                     NULL);
}

/* ---- the web pages and their sessions (issue 26) ---- */

/* What web/ needs of a request (strings borrowed from libmicrohttpd's connection). */
static void web_req_of(ob_http_server *s, struct MHD_Connection *conn, req *r, const char *url,
                       ob_web_req *w)
{
    memset(w, 0, sizeof *w);
    w->method = r->method_s;
    w->path = url;
    w->q_as = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "as");
    w->q_code = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "code");
    w->q_state = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "state");
    w->q_error = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "error");
    w->cookie = header(conn, "Cookie");
    w->authorization = header(conn, "Authorization");
    w->csrf = header(conn, "X-CSRF-Token");
    w->fetch_site = header(conn, "Sec-Fetch-Site");
    w->origin = header(conn, "Origin");
    w->host = header(conn, "Host");
    w->content_type = header(conn, "Content-Type");
    w->if_none_match = header(conn, "If-None-Match");
    w->tls = s->tls;
    w->client = r->slot ? r->slot->client : NULL;
    w->body = r->body;
    w->body_len = r->len;
    w->now = (int64_t)ob_time_now();
}

/* The headers of every page, asset and /auth answer (docs/security.md, T-WEB-*). */
static void web_headers(ob_http_server *s, struct MHD_Response *resp, const char *cache)
{
    MHD_add_response_header(resp, "Content-Security-Policy", OB_WEB_CSP);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "Cross-Origin-Opener-Policy", "same-origin");
    MHD_add_response_header(resp, "Cross-Origin-Resource-Policy", "same-origin");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Permissions-Policy",
                            "camera=(), microphone=(), geolocation=(), payment=(), usb=(), "
                            "interest-cohort=()");
    MHD_add_response_header(resp, "Cache-Control", cache ? cache : "no-store");
    if (s->tls)
        MHD_add_response_header(resp, "Strict-Transport-Security", "max-age=31536000");
    if (atomic_load(&s->stopping))
        MHD_add_response_header(resp, "Connection", "close");
}

static enum MHD_Result web_answer(ob_http_server *s, struct MHD_Connection *conn, req *r,
                                  const char *url)
{
    ob_web_req wq;
    ob_web_resp out;
    web_req_of(s, conn, r, url, &wq);
    if (ob_web_handle(s->web, &wq, &out) != OB_OK)
        return MHD_NO;
    struct MHD_Response *resp = NULL;
    if (out.owned) { /* handed over to libmicrohttpd, which frees it with free() */
        char *copy = malloc(out.len ? out.len : 1);
        if (copy)
            memcpy(copy, out.data, out.len);
        resp = copy ? MHD_create_response_from_buffer(out.len, copy, MHD_RESPMEM_MUST_FREE) : NULL;
        if (!resp)
            free(copy);
    } else {
        resp = MHD_create_response_from_buffer(
            out.len, (void *)(out.data ? out.data : (const unsigned char *)""),
            MHD_RESPMEM_PERSISTENT);
    }
    if (!resp) {
        ob_web_resp_release(&out);
        return MHD_NO;
    }
    if (out.ctype && out.status != 304)
        MHD_add_response_header(resp, "Content-Type", out.ctype);
    if (out.etag[0])
        MHD_add_response_header(resp, "ETag", out.etag);
    if (out.location[0])
        MHD_add_response_header(resp, "Location", out.location);
    for (int i = 0; i < OB_WEB_MAX_COOKIES; i++)
        if (out.cookies[i][0])
            MHD_add_response_header(resp, "Set-Cookie", out.cookies[i]);
    web_headers(s, resp, out.cache);
    enum MHD_Result rc = MHD_queue_response(conn, (unsigned)out.status, resp);
    MHD_destroy_response(resp);
    r->status = out.status;
    r->answered = true;
    ob_web_resp_release(&out);
    return rc;
}

/* First call: everything that can be decided from the headers. Returns true when the
 * request may go on to read its body. */
static bool first_call(ob_http_server *s, struct MHD_Connection *conn, req *r, const char *url,
                       const char *version, enum MHD_Result *mrc)
{
    if (!framing_ok(s, conn, r, version, mrc))
        return false;
    if (r->too_many_params) {
        *mrc = send_outcome(s, conn, r, 400, "too-costly", "too many query parameters");
        return false;
    }
    if (r->nul) {
        *mrc = send_outcome(s, conn, r, 400, "invalid",
                            "the request address holds an encoded NUL (%00); nothing was done");
        return false;
    }
    if (strlen(url) > OB_HTTP_MAX_PATH) {
        *mrc = send_outcome(s, conn, r, 414, "too-costly", "the request path is too long");
        return false;
    }
    r->rt = route_of(url);
    if (r->method_s && strcmp(r->method_s, "OPTIONS") == 0) { /* issue 25: CORS preflight */
        *mrc = preflight(s, conn, r);
        return false;
    }
    switch (r->rt) {
    case R_HEALTHZ:
    case R_METRICS:
    case R_LOG:
    case R_SMART:
        /* answered on the last call, so that keep-alive connections stay open */
        if (r->method != M_GET) {
            *mrc = send_outcome(s, conn, r, 405, "not-supported", "use GET");
            return false;
        }
        return r->rt != R_METRICS || authenticate(s, conn, r, false, mrc);
    case R_WEB:
        if (!s->web) {
            *mrc = send_outcome(s, conn, r, 404, "not-found",
                                "no such endpoint (the FHIR API is under /fhir)");
            return false;
        }
        /* answered on the last call, with the body (dev-login's JSON) */
        if (r->method != M_GET && r->method != M_POST) {
            *mrc = send_outcome(s, conn, r, 405, "not-supported", "use GET or POST");
            return false;
        }
        return true;
    case R_UNKNOWN:
        *mrc = send_outcome(s, conn, r, 404, "not-found",
                            "no such endpoint (the FHIR API is under /fhir)");
        return false;
    case R_FHIR:
    case R_METADATA:
    case R_STATS:
        break;
    }
    if (r->method == M_OTHER) {
        *mrc = send_outcome(s, conn, r, 405, "not-supported", "method not supported");
        return false;
    }
    if (r->rt != R_STATS && (!ob_http_accepts_json(header(conn, "Accept")) ||
                             !ob_http_format_json(MHD_lookup_connection_value(
                                 conn, MHD_GET_ARGUMENT_KIND, "_format")))) {
        *mrc = send_outcome(s, conn, r, 406, "not-supported",
                            "this server answers FHIR JSON only (application/fhir+json); "
                            "ask for it with Accept or _format=json");
        return false;
    }
    const char *cl = header(conn, "Content-Length");
    const char *te = header(conn, "Transfer-Encoding");
    bool has_body = te != NULL;
    if (cl) {
        char *end;
        errno = 0;
        unsigned long long n = strtoull(cl, &end, 10);
        if (errno || *end || end == cl || n > OB_HTTP_MAX_BODY) {
            *mrc = send_outcome(s, conn, r, 413, "too-costly",
                                "the request body is over 1 MiB; nothing was changed");
            return false;
        }
        has_body = has_body || n > 0;
    }
    if (has_body) {
        const char *ct = header(conn, "Content-Type");
        bool json =
            ct && (media_is(ct, "application/fhir+json") || media_is(ct, "application/json"));
        size_t ul = strlen(url);
        bool search = r->method == M_POST && ul >= 8 && strcmp(url + ul - 8, "/_search") == 0;
        r->form = ct && search && media_is(ct, "application/x-www-form-urlencoded");
        if (!json && !r->form) {
            *mrc = send_outcome(s, conn, r, 415, "not-supported",
                                search ? "send application/fhir+json or "
                                         "application/x-www-form-urlencoded"
                                       : "send application/fhir+json");
            return false;
        }
    }
    /* PUT, PATCH, DELETE, a POST that creates and $end (it ends a grant); a POST _search
     * or a reading operation ($overview, ...) reads, and statistics requests are logged
     * releases */
    r->write =
        r->rt == R_FHIR && (r->method == M_PUT || r->method == M_PATCH || r->method == M_DELETE ||
                            (r->method == M_POST && !strstr(url, "/_search") &&
                             (!strstr(url, "/$") || strstr(url, "/$end"))));
    if ((r->rt == R_FHIR || r->rt == R_STATS) && !authenticate(s, conn, r, true, mrc))
        return false;
    return true;
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls)
{
    ob_http_server *s = ((const struct daemon_ctx *)cls)->s;
    req *r = *con_cls;
    if (!r) /* uri_logged had no memory */
        return MHD_NO;
    if (!r->started) { /* the headers are in: the body has body_timeout from now */
        r->started = true;
        clock_gettime(CLOCK_MONOTONIC, &r->t0);
        set_deadline(r->slot, CUT_BODY, ms_of(&r->t0), s->body_timeout);
        /* HEAD is GET without the body (issue 25): decided and logged like the GET it
         * mirrors, and libmicrohttpd sends the headers only */
        bool head = strcmp(method, "HEAD") == 0;
        r->method = head ? M_GET : method_index(method);
        r->method_s = head ? "GET" : method;
        ob_http_log_path(url, r->log_path, sizeof r->log_path);
        enum MHD_Result mrc = MHD_YES;
        if (!first_call(s, conn, r, url, version, &mrc))
            return mrc;
        return MHD_YES;
    }
    if (r->ready) /* resumed after the request's log entries became durable */
        return send_ready(s, conn, r);
    if (r->answered) { /* answered early: drop whatever body still comes */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (r->too_big || r->len + n > OB_HTTP_MAX_BODY) {
            r->too_big = true;
            r->discarded += n;
            return r->discarded > DISCARD_LIMIT ? MHD_NO : MHD_YES;
        }
        if (r->len + n > r->cap) {
            size_t ncap = r->cap ? r->cap : 4096;
            while (ncap < r->len + n)
                ncap *= 2;
            if (ncap > OB_HTTP_MAX_BODY)
                ncap = OB_HTTP_MAX_BODY;
            char *nb = ob_realloc(r->body, ncap);
            if (!nb)
                return MHD_NO;
            r->body = nb;
            r->cap = ncap;
        }
        memcpy(r->body + r->len, upload_data, n);
        r->len += n;
        return MHD_YES;
    }
    set_deadline(r->slot, CUT_BODY, 0, 0); /* the whole request is in */
    if (r->too_big)
        return send_outcome(s, conn, r, 413, "too-costly",
                            "the request body is over 1 MiB; nothing was changed");
    if (r->rt == R_HEALTHZ)
        return healthz(s, conn, r);
    if (r->rt == R_SMART)
        return smart_config(s, conn, r);
    if (r->rt == R_LOG)
        return log_public(s, conn, r, url);
    if (r->rt == R_METRICS)
        return metrics(s, conn, r);
    if (r->rt == R_WEB)
        return web_answer(s, conn, r, url);
    if (r->rt == R_METADATA) {
        /* no token needed: the API answers /metadata without looking at the caller */
        memset(&r->caller, 0, sizeof r->caller);
        r->caller.actor = r->caller.acting_org = r->caller.on_behalf_of = OB_NONE;
        r->caller.now = ob_time_now();
    }
    return fhir(s, conn, r, url);
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    (void)toe;
    ob_http_server *s = ((const struct daemon_ctx *)cls)->s;
    req *r = *con_cls;
    if (!r)
        return;
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    /* a kept-alive connection's next request: idle_timeout to start, header_timeout more
     * to finish its headers */
    set_deadline(r->slot, CUT_HEADERS, ms_of(&t), s->idle_timeout + s->header_timeout);
    double secs =
        r->started ? (double)(t.tv_sec - r->t0.tv_sec) + (double)(t.tv_nsec - r->t0.tv_nsec) / 1e9
                   : 0;
    int cls_ = r->answered && r->status >= 100 && r->status < 600 ? r->status / 100 : 0;
    atomic_fetch_add_explicit(&s->requests[r->method][cls_], 1, memory_order_relaxed);
    size_t b = 0;
    while (b < NBUCKETS && secs > buckets[b])
        b++;
    atomic_fetch_add_explicit(&s->lat_buckets[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->lat_sum_us, (uint64_t)(secs * 1e6), memory_order_relaxed);
    if (s->access_log)
        fprintf(stderr, "%s %s %d %.3fms\n", method_names[r->method], r->log_path,
                r->answered ? r->status : 0, secs * 1e3);
    unpark(s, r);
    ob_api_response_release(&r->out);
    ob_free(r->body);
    r->body = NULL;
    *con_cls = NULL;
    req_unref(r);
    atomic_fetch_sub(&s->inflight, 1);
}

/* ---- start and stop ---- */

/* A TCP listening socket on sa that other sockets of this user may join (SO_REUSEPORT,
 * one per server thread). -1 on failure, errno set. */
static int listen_on(const struct sockaddr *sa, socklen_t len)
{
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 || bind(fd, sa, len) != 0 ||
        listen(fd, 128) != 0) {
        int err = errno;
        if (fd >= 0)
            close(fd);
        errno = err;
        return -1;
    }
    return fd;
}

static ob_status bind_listen(const char *listen_s, int *fd_out, char *addr, size_t cap, ob_err *e)
{
    char host[256];
    const char *colon = strrchr(listen_s, ':');
    if (!colon || colon == listen_s || !colon[1] || (size_t)(colon - listen_s) >= sizeof host)
        return ob_err_set(e, OB_EINVAL, "listen address '%s' must be HOST:PORT", listen_s);
    memcpy(host, listen_s, (size_t)(colon - listen_s));
    host[colon - listen_s] = '\0';
    if (host[0] == '[') {
        size_t hl = strlen(host);
        if (hl < 3 || host[hl - 1] != ']')
            return ob_err_set(e, OB_EINVAL, "listen address '%s': bad IPv6 form", listen_s);
        memmove(host, host + 1, hl - 2);
        host[hl - 2] = '\0';
    }
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int gai = getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &res);
    if (gai != 0)
        return ob_err_set(e, OB_EINVAL, "listen address '%s': %s", listen_s, gai_strerror(gai));
    int one = 1;
    /* SO_REUSEPORT would let a second server (same user, same port) join this one's
     * sockets and take half its connections: a port that anything listens on already is
     * refused first, with a plain bind (port 0 picks a free one anyway). */
    if (strcmp(colon + 1, "0") != 0) {
        int probe = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, res->ai_protocol);
        int err = probe < 0 || setsockopt(probe, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
                          bind(probe, res->ai_addr, res->ai_addrlen) != 0
                      ? errno
                      : 0;
        if (probe >= 0)
            close(probe);
        if (err) {
            freeaddrinfo(res);
            return ob_err_set(e, OB_EIO, "cannot listen on %s: %s", listen_s, strerror(err));
        }
    }
    int fd = listen_on(res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    if (fd < 0)
        return ob_err_set(e, OB_EIO, "cannot listen on %s: %s", listen_s, strerror(errno));
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char ip[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET) {
            struct sockaddr_in *in = (struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
            port = ntohs(in->sin_port);
            snprintf(addr, cap, "%s:%d", ip, port);
        } else {
            struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
            port = ntohs(in6->sin6_port);
            snprintf(addr, cap, "[%s]:%d", ip, port);
        }
    }
    *fd_out = fd;
    return OB_OK;
}

/* Another listening socket on the address fd0 is bound to (same port, SO_REUSEPORT;
 * only the same user can join it). -1 on failure, errno set. */
static int listen_again(int fd0)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd0, (struct sockaddr *)&ss, &sl) != 0)
        return -1;
    return listen_on((struct sockaddr *)&ss, sl);
}

/* Stops every daemon started so far and closes every listening socket; frees s. The
 * daemons must have been quiesced: a quiesced daemon leaves its socket to the caller,
 * a running one would close it itself when stopped. */
static void stop_all(ob_http_server *s)
{
    for (unsigned i = 0; i < s->nd; i++)
        if (s->d[i])
            MHD_stop_daemon(s->d[i]);
    for (unsigned i = 0; i < s->nd; i++)
        if (s->listen_fd[i] >= 0)
            close(s->listen_fd[i]);
    for (unsigned i = 0; i < MAX_DAEMONS; i++)
        pthread_mutex_destroy(&s->parked[i].mu);
    if (s->reaper_started) {
        pthread_mutex_lock(&s->conns_lock);
        s->reaper_stop = true;
        pthread_cond_signal(&s->reaper_wake);
        pthread_mutex_unlock(&s->conns_lock);
        pthread_join(s->reaper, NULL);
    }
    if (s->tls) {
        tls_creds_free(atomic_exchange(&tls_current, NULL));
        for (tls_creds *c = s->retired, *next; c; c = next) {
            next = c->retired;
            tls_creds_free(c);
        }
    }
    ob_free(s->client_ca);
    ob_auth_replay_free(s->replay);
    pthread_cond_destroy(&s->reaper_wake);
    pthread_mutex_destroy(&s->conns_lock);
    pthread_rwlock_destroy(&s->auth_lock);
    ob_free(s);
}

/* "a, b" -> ",a,b," (no spaces, empty items dropped) into out; false if it does not fit. */
static bool metrics_list(const char *in, char *out, size_t cap)
{
    size_t at = 0;
    out[0] = '\0';
    for (const char *p = in ? in : ""; *p;) {
        p += strspn(p, " \t,");
        size_t n = strcspn(p, ",");
        size_t k = n;
        while (k && (p[k - 1] == ' ' || p[k - 1] == '\t'))
            k--;
        if (k) {
            if (at + k + 3 > cap)
                return false;
            out[at++] = ',';
            memcpy(out + at, p, k);
            at += k;
            out[at] = ',';
            out[at + 1] = '\0';
        }
        p += n;
    }
    return true;
}

ob_status ob_http_start(ob_hub *h, ob_auth *auth, const ob_http_config *cfg, ob_http_server **out,
                        ob_err *e)
{
    *out = NULL;
    ob_http_server *s = ob_calloc(1, sizeof *s);
    if (!s)
        return ob_err_set(e, OB_ENOMEM, "out of memory");
    s->hub = h;
    s->auth = auth;
    s->web = cfg->web;
    /* A reload must not wait behind a steady stream of verifications (glibc's default
     * favours readers), so a waiting writer goes first. */
    pthread_rwlockattr_t ra;
    pthread_rwlockattr_init(&ra);
    pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&s->auth_lock, &ra);
    pthread_rwlockattr_destroy(&ra);
    for (unsigned i = 0; i < MAX_DAEMONS; i++) {
        pthread_mutex_init(&s->parked[i].mu, NULL);
        s->dctx[i] = (struct daemon_ctx){s, i};
    }
    pthread_mutex_init(&s->conns_lock, NULL);
    pthread_condattr_t cattr;
    pthread_condattr_init(&cattr);
    pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
    pthread_cond_init(&s->reaper_wake, &cattr);
    pthread_condattr_destroy(&cattr);
    s->per_ip = cfg->max_conns_per_ip ? cfg->max_conns_per_ip : 128;
    s->idle_timeout = cfg->idle_timeout ? cfg->idle_timeout : 30;
    s->header_timeout = cfg->header_timeout ? cfg->header_timeout : 10;
    s->body_timeout = cfg->body_timeout ? cfg->body_timeout : 60;
    unsigned max_conns = cfg->max_connections ? cfg->max_connections : 1024;
    s->access_log = cfg->access_log;
    s->shutdown_timeout = cfg->shutdown_timeout ? cfg->shutdown_timeout : 30;
    s->listen_fd[0] = -1;
    snprintf(s->smart_authorize, sizeof s->smart_authorize, "%s",
             cfg->smart_authorize ? cfg->smart_authorize : "");
    snprintf(s->smart_token, sizeof s->smart_token, "%s", cfg->smart_token ? cfg->smart_token : "");
    snprintf(s->smart_issuer, sizeof s->smart_issuer, "%s",
             cfg->smart_issuer ? cfg->smart_issuer : "");
    if (!metrics_list(cfg->cors_origins, s->cors_origins, sizeof s->cors_origins)) {
        stop_all(s);
        return ob_err_set(e, OB_EINVAL, "cors_origins is longer than %zu bytes",
                          sizeof s->cors_origins - 2);
    }
    if (!metrics_list(cfg->metrics_clients, s->metrics_clients, sizeof s->metrics_clients)) {
        stop_all(s);
        return ob_err_set(e, OB_EINVAL, "metrics_clients is longer than %zu bytes",
                          sizeof s->metrics_clients - 2);
    }
    ob_status rc = ob_auth_replay_new(&s->replay, e);
    if (rc) {
        stop_all(s);
        return rc;
    }
    rc = bind_listen(cfg->listen ? cfg->listen : "127.0.0.1:8080", &s->listen_fd[0], s->address,
                     sizeof s->address, e);
    if (rc) {
        stop_all(s);
        return rc;
    }
    if ((cfg->tls_cert && cfg->tls_cert[0]) != (cfg->tls_key && cfg->tls_key[0])) {
        stop_all(s);
        return ob_err_set(e, OB_EINVAL,
                          "TLS needs both a certificate and its key (tls_cert, "
                          "tls_key)");
    }
    if (cfg->tls_cert && cfg->tls_cert[0]) {
        tls_creds *c = NULL;
        if (strlen(cfg->tls_cert) >= sizeof s->tls_cert ||
            strlen(cfg->tls_key) >= sizeof s->tls_key) {
            stop_all(s);
            return ob_err_set(e, OB_EINVAL, "TLS file name too long");
        }
        if (atomic_load(&tls_current)) {
            stop_all(s);
            return ob_err_set(e, OB_EINVAL, "one TLS server per process");
        }
        if ((rc = tls_creds_load(cfg->tls_cert, cfg->tls_key, &c, e)) != OB_OK) {
            stop_all(s);
            return rc;
        }
        snprintf(s->tls_cert, sizeof s->tls_cert, "%s", cfg->tls_cert);
        snprintf(s->tls_key, sizeof s->tls_key, "%s", cfg->tls_key);
        atomic_store(&tls_current, c);
        s->tls = true;
        if (cfg->tls_client_ca && cfg->tls_client_ca[0]) {
            gnutls_datum_t ca = {NULL, 0};
            int g = gnutls_load_file(cfg->tls_client_ca, &ca);
            if (g < 0 || !(s->client_ca = ob_malloc(ca.size + 1))) {
                gnutls_free(ca.data);
                stop_all(s);
                return ob_err_set(e, OB_EIO, "cannot read the client CA file %s: %s",
                                  cfg->tls_client_ca, g < 0 ? gnutls_strerror(g) : "no memory");
            }
            memcpy(s->client_ca, ca.data, ca.size);
            s->client_ca[ca.size] = '\0';
            gnutls_free(ca.data);
        }
    } else if (cfg->tls_client_ca && cfg->tls_client_ca[0]) {
        stop_all(s);
        return ob_err_set(e, OB_EINVAL,
                          "a client CA (tls_client_ca) needs TLS (tls_cert, "
                          "tls_key)");
    } else if (!cfg->allow_plain_http && !loopback_fd(s->listen_fd[0])) {
        rc = ob_err_set(e, OB_EINVAL,
                        "refusing to serve plain HTTP on %s, which is not a loopback address: "
                        "give tls_cert and tls_key (R-SRC-5), or allow it explicitly with "
                        "insecure_plain_http (behind a TLS-terminating proxy on this host)",
                        s->address);
        stop_all(s);
        return rc;
    }
    if (cfg->base_url && cfg->base_url[0])
        snprintf(s->base_url, sizeof s->base_url, "%s", cfg->base_url);
    else
        snprintf(s->base_url, sizeof s->base_url, "%s://%s/fhir", s->tls ? "https" : "http",
                 s->address);
    unsigned threads = cfg->threads;
    if (threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (unsigned)n : 2;
    }
    if (threads > MAX_DAEMONS)
        threads = MAX_DAEMONS;
    s->nd = 1;
    for (unsigned i = 1; i < threads; i++, s->nd++)
        if ((s->listen_fd[i] = listen_again(s->listen_fd[0])) < 0) {
            rc =
                ob_err_set(e, OB_EIO, "cannot listen on %s again: %s", s->address, strerror(errno));
            stop_all(s);
            return rc;
        }
    if (pthread_create(&s->reaper, NULL, reaper_main, s) != 0) {
        stop_all(s);
        return ob_err_set(e, OB_EIO, "cannot start the connection reaper thread");
    }
    s->reaper_started = true;
    struct MHD_OptionItem tls_opts[] = {
        {MHD_OPTION_HTTPS_CERT_CALLBACK, 0, (void *)tls_retrieve},
        {MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)OB_TLS_PRIORITIES},
        {s->client_ca ? MHD_OPTION_HTTPS_MEM_TRUST : MHD_OPTION_END, 0, s->client_ca},
        {MHD_OPTION_END, 0, NULL}};
    struct MHD_OptionItem no_opts[] = {{MHD_OPTION_END, 0, NULL}};
    for (unsigned i = 0; i < s->nd; i++) {
        s->d[i] = MHD_start_daemon(
            MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | (s->tls ? MHD_USE_TLS : 0),
            0, accept_policy, s, answer, &s->dctx[i], MHD_OPTION_LISTEN_SOCKET, s->listen_fd[i],
            MHD_OPTION_NOTIFY_COMPLETED, completed, &s->dctx[i], MHD_OPTION_NOTIFY_CONNECTION,
            notify_conn, s, MHD_OPTION_URI_LOG_CALLBACK, uri_logged, &s->dctx[i],
            MHD_OPTION_CONNECTION_TIMEOUT, s->idle_timeout, MHD_OPTION_CONNECTION_LIMIT,
            (unsigned)(max_conns / s->nd + 1), MHD_OPTION_CONNECTION_MEMORY_LIMIT,
            (size_t)(OB_HTTP_CONN_MEMORY), MHD_OPTION_ARRAY, s->tls ? tls_opts : no_opts,
            MHD_OPTION_END);
        if (!s->d[i]) {
            for (unsigned j = 0; j < i; j++)
                MHD_quiesce_daemon(s->d[j]); /* so that their sockets stay ours to close */
            stop_all(s);
            return ob_err_set(e, OB_EIO, "cannot start the HTTP server on %s", s->address);
        }
    }
    *out = s;
    return OB_OK;
}

const char *ob_http_address(const ob_http_server *s)
{
    return s->address;
}

ob_auth *ob_http_swap_auth(ob_http_server *s, ob_auth *next)
{
    pthread_rwlock_wrlock(&s->auth_lock); /* waits for verifications in progress */
    ob_auth *prev = s->auth;
    s->auth = next;
    pthread_rwlock_unlock(&s->auth_lock);
    atomic_fetch_add_explicit(&s->reloads[1], 1, memory_order_relaxed);
    return prev;
}

void ob_http_reload_failed(ob_http_server *s)
{
    atomic_fetch_add_explicit(&s->reloads[0], 1, memory_order_relaxed);
}

bool ob_http_metrics_listed(const ob_http_server *s)
{
    return s->metrics_clients[0] != '\0';
}

void ob_http_stop(ob_http_server *s)
{
    if (!s)
        return;
    atomic_store(&s->stopping, true);
    /* No new connections anywhere first; the sockets close in stop_all. */
    for (unsigned i = 0; i < s->nd; i++)
        MHD_quiesce_daemon(s->d[i]);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (atomic_load(&s->inflight) > 0 && elapsed(&t0) < (double)s->shutdown_timeout) {
        struct timespec ms = {0, 10 * 1000 * 1000};
        nanosleep(&ms, NULL);
    }
    /* Time is up: whatever still waits for its log entry is answered 503 now (cut), and
     * gets a moment to be sent; a request whose API call is still running is cut when it
     * parks. No connection is left suspended for MHD_stop_daemon. */
    if (atomic_load(&s->inflight) > 0) {
        for (unsigned i = 0; i < s->nd; i++) {
            pthread_mutex_lock(&s->parked[i].mu);
            atomic_store(&s->cutting, true);
            for (req *r = s->parked[i].head; r; r = r->pnext)
                cut(r);
            pthread_mutex_unlock(&s->parked[i].mu);
        }
        clock_gettime(CLOCK_MONOTONIC, &t0);
        while (atomic_load(&s->inflight) > 0 && elapsed(&t0) < 1.0) {
            struct timespec ms = {0, 10 * 1000 * 1000};
            nanosleep(&ms, NULL);
        }
    }
    stop_all(s);
}

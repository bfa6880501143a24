/* server.h - overblik's HTTP transport (issue 3) on libmicrohttpd.
 *
 * A thin shell around ob_api_handle (api.h): epoll with an internal thread pool,
 * bearer-token authentication (auth.h), hard caps on everything the network feeds us,
 * and the transport's own endpoints:
 *   /healthz        200 "ok" while the hub is open; no token
 *   /metrics        Prometheus text (requests, latency, decisions by rule, log appends);
 *                   a system token whose client_id the operator listed (metrics_clients):
 *                   its counters move with what is decided about whom, so a caller who
 *                   could watch them while probing a patient would learn more than the
 *                   answers tell (hidden and absent must look the same)
 *   /fhir/metadata  the CapabilityStatement; no token
 *   /fhir/...       the FHIR API below ob_api_handle; a token mapped to an ob_caller
 *   /api/stats/...  reserved (404 until the statistics handler is wired)
 *   /auth/..., /    the web pages and their sessions (web/web.h), when configured
 * Every error is an OperationOutcome with Content-Type application/fhir+json. The
 * access log (optional, stderr) shows method, path (CPR-like digit runs masked; never
 * the query string or body), status and latency.
 *
 * Limits: body 1 MiB (413; a larger Content-Length is refused before reading, a chunked
 * body stops being buffered at the cap), JSON nesting depth 64 (400, scanned before
 * parsing), path 2048 bytes (414), headers within libmicrohttpd's per-connection memory
 * limit (20 KiB; 431), 256 parameters (400, counted before libmicrohttpd stores them).
 * The door (docs/security.md, "The door"): at most max_connections connections in all and
 * max_connections_per_ip from one client address (an IPv6 client's /64); a connection
 * that does not deliver a request's headers within header_timeout seconds of its start
 * (or of its previous answer plus idle_timeout), or its body within body_timeout seconds
 * of the headers, is cut however steadily it trickles bytes; idle_timeout is
 * libmicrohttpd's inactivity timeout. Framing (RFC 9112 section 6.3): Content-Length
 * together with Transfer-Encoding, Content-Length or Transfer-Encoding twice, a transfer
 * coding other than chunked, HTTP/1.1 without Host: 400 and the connection closed.
 *
 * The server borrows the hub and the verifier (and each verifier swapped in later); both
 * must outlive ob_http_stop. */
#ifndef OB_HTTP_SERVER_H
#define OB_HTTP_SERVER_H

#include <jansson.h>
#include <stdbool.h>

#include "api/api.h"
#include "core/err.h"
#include "http/auth.h"
#include "service/hub.h"

#define OB_HTTP_MAX_BODY   (1u << 20)
#define OB_HTTP_MAX_DEPTH  64
#define OB_HTTP_MAX_PATH   2048
#define OB_HTTP_MAX_PARAMS 256

typedef struct ob_http_config {
    const char *listen;          /* "HOST:PORT" or "[V6]:PORT"; port 0 picks a free port */
    unsigned threads;            /* worker threads; 0 = the number of cores */
    bool access_log;             /* one line per request on stderr */
    const char *base_url;        /* NULL: "http://<bound address>/fhir" */
    unsigned shutdown_timeout;   /* seconds ob_http_stop waits for requests in flight; 0: 30 */
    const char *metrics_clients; /* client ids (comma-separated) of the system tokens that may
                                  * read /metrics; NULL or "": no one */
    unsigned max_connections;    /* in all; 0: 1024 */
    unsigned max_conns_per_ip;   /* from one address (IPv6: one /64); 0: 128 */
    unsigned idle_timeout;       /* seconds without a byte either way; 0: 30 */
    unsigned header_timeout;     /* seconds to deliver a request's headers; 0: 10 */
    unsigned body_timeout;       /* seconds to deliver a request's body; 0: 60 */
    /* TLS (R-SRC-5): with tls_cert and tls_key (PEM files: the chain, leaf first, and its
     * key) every connection is TLS 1.2 or 1.3 with AEAD suites and forward secrecy. With
     * tls_client_ca (PEM, the CAs that issue source systems' certificates) clients are asked
     * for a certificate; a token with a cnf claim, and every system token, must then come
     * over a connection whose verified client certificate it is bound to (RFC 8705,
     * x5t#S256). Without TLS, a listener on an address other than loopback is refused
     * unless allow_plain_http. */
    const char *tls_cert, *tls_key, *tls_client_ca;
    bool allow_plain_http;
    /* SMART App Launch (issue 25): the identity provider's authorization and token
     * endpoints, published at /.well-known/smart-configuration (no token needed) and in
     * the CapabilityStatement's rest.security; NULL: not published (404). issuer: the
     * provider's issuer, named there too (may be NULL). */
    const char *smart_authorize, *smart_token, *smart_issuer;
    /* CORS (FHIR R4 http.html#cors): origins (comma-separated, or "*") whose browsers may
     * call the API; their requests get Access-Control-Allow-Origin and their preflight
     * (OPTIONS) is answered. NULL or "": none. */
    const char *cors_origins;
    /* The web pages and their login (issue 26, web/web.h): every path outside the API's is
     * a page or /auth/..., and a session cookie is a caller of the FHIR API like a bearer
     * token. Borrowed; NULL: no pages (404), no sessions. */
    struct ob_web *web;
} ob_http_config;

typedef struct ob_http_server ob_http_server;

/* Binds, listens and starts the worker threads. *out is owned by the caller and
 * released by ob_http_stop. */
ob_status ob_http_start(ob_hub *h, ob_auth *auth, const ob_http_config *cfg, ob_http_server **out,
                        ob_err *e);
/* The bound address, e.g. "127.0.0.1:8080" (valid until ob_http_stop). */
const char *ob_http_address(const ob_http_server *s);
/* Puts another verifier (the JWKS re-read on SIGHUP) in place for every token verified
 * from now on; a verification in progress finishes with the old one first. Returns the
 * previous verifier, which is the caller's again (to free). Counted in /metrics. */
ob_auth *ob_http_swap_auth(ob_http_server *s, ob_auth *next);
/* Re-reads the TLS certificate and key files (SIGHUP): handshakes from now on present the
 * new pair; connections already open keep theirs. On failure (OB_EINVAL, OB_EIO) the pair in
 * use stays. OB_EINVAL when the server does not speak TLS. Counted in /metrics. */
ob_status ob_http_reload_tls(ob_http_server *s, ob_err *e);
/* Whether the server speaks TLS. */
bool ob_http_tls(const ob_http_server *s);
/* Counts a reload that failed, for /metrics (the verifier in use stays). */
void ob_http_reload_failed(ob_http_server *s);
/* Looks whether the database's files were removed or replaced under the server
 * (ob_log_ground) and says so on stderr, once. /healthz does the same on every call;
 * `serve` calls this every few seconds, so the operator is told without a request. */
void ob_http_watch(ob_http_server *s);
/* Whether any client may read /metrics (metrics_clients, as parsed, lists one). */
bool ob_http_metrics_listed(const ob_http_server *s);
/* Graceful stop: stops accepting connections, waits (up to the shutdown timeout) until
 * every request in flight has been answered, joins the threads and frees s. Does not
 * close the hub. NULL is a no-op. */
void ob_http_stop(ob_http_server *s);

/* --- body handling, exposed for tests and fuzzing --- */

/* true when the JSON text's nesting depth (arrays and objects) stays within max. The
 * scan understands strings and escapes, and runs before any parser sees the bytes. */
bool ob_http_json_depth_ok(const char *buf, size_t len, int max);
/* Depth scan, then parse. On failure OB_EINVAL (or OB_ELIMIT for depth) with a
 * message that gives a position but never quotes the input. *out is owned by the
 * caller. */
ob_status ob_http_json_parse(const char *buf, size_t len, json_t **out, ob_err *e);

/* Decoded application/x-www-form-urlencoded fields. `params` point into `buf`; both
 * owned by the form; release with ob_http_form_release. */
typedef struct ob_http_form {
    char *buf;
    ob_api_param *params;
    size_t n;
} ob_http_form;
ob_status ob_http_form_decode(const char *body, size_t len, bool from_body, ob_http_form *f,
                              ob_err *e);
void ob_http_form_release(ob_http_form *f);

/* Content negotiation (FHIR http.html#mime-type): overblik answers FHIR JSON only.
 * ob_http_accepts_json: whether an Accept header (NULL: none) admits it, i.e. names
 * application/fhir+json, application/json, application/json+fhir, or the wildcards (all types, all
 * application types) without q=0. ob_http_format_json: whether a _format value (NULL: none) asks
 * for it (json, or one of those JSON types, with parameters such as fhirVersion). */
bool ob_http_accepts_json(const char *accept);
bool ob_http_format_json(const char *format);

/* The return preference of a Prefer header (RFC 7240; FHIR http.html#ops) for a write's
 * answer: the resource (also when there is no header or no return=), nothing but the
 * headers, or an OperationOutcome. */
typedef enum { OB_PREFER_RESOURCE, OB_PREFER_MINIMAL, OB_PREFER_OUTCOME } ob_http_prefer;
ob_http_prefer ob_http_prefer_return(const char *prefer);
/* Whether a Prefer header asks for handling=lenient (FHIR: ignore unknown search
 * parameters instead of refusing them); the first handling= counts. */
bool ob_http_prefer_lenient(const char *prefer);

/* Copies path into out (cap bytes) for logging, with CPR-like digit runs (ten digits,
 * or six, a hyphen and four) masked and the result truncated to fit. */
void ob_http_log_path(const char *path, char *out, size_t cap);

#endif

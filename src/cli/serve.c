/* serve.c - `overblik serve`: the HTTP server (src/http/) over an opened hub.
 *
 * Settings come from, in order of precedence: flags, environment variables
 * (OVERBLIK_<KEY>), a config file of `key = value` lines (--config or
 * OVERBLIK_CONFIG), and defaults. SIGTERM and SIGINT are blocked in every thread and
 * taken with sigwait in main, so shutdown runs as ordinary code: stop accepting, let
 * requests in flight finish, stop the workers, close the hub (the log writer finishes
 * its queue and cuts a final checkpoint), exit 0. See docs/operations.md. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/logtrust.h"
#include "service/overrides.h"
#include "http/auth.h"
#include "http/oidc.h"
#include "http/server.h"
#include "store/sqlite/log_index.h"
#include "store/store.h"
#include "web/web.h"

void dev_key_paths(const char *db, char *pem, char *jwks, size_t cap)
{
    size_t n = strlen(db);
    if (n > 3 && strcmp(db + n - 3, ".db") == 0)
        n -= 3;
    snprintf(pem, cap, "%.*s.jwt.pem", (int)n, db);
    snprintf(jwks, cap, "%.*s.jwks.json", (int)n, db);
}

/* The settings, each a key of the config file and (upper-cased) of the environment. */
enum {
    S_DB,
    S_KEYS,
    S_LISTEN,
    S_THREADS,
    S_JWKS,
    S_AUDIENCE,
    S_ISSUER,
    S_BASE_URL,
    S_ACCESS_LOG,
    S_SHUTDOWN_TIMEOUT,
    S_METRICS_CLIENTS,
    S_OVR_PRO,
    S_OVR_SITE,
    S_MAX_CONNS,
    S_MAX_CONNS_IP,
    S_IDLE_TIMEOUT,
    S_HEADER_TIMEOUT,
    S_BODY_TIMEOUT,
    S_TLS_CERT,
    S_TLS_KEY,
    S_TLS_CLIENT_CA,
    S_INSECURE_PLAIN,
    S_SMART_AUTHORIZE,
    S_SMART_TOKEN,
    S_CORS_ORIGINS,
    S_OIDC,
    S_WEB_DIR,
    S_DEV_LOGIN,
    S_SERVER_ID,
    S_COUNT
};
static const struct {
    const char *key, *env, *flag, *dflt;
} settings[S_COUNT] = {
    {"db", "OVERBLIK_DB", "db", DEFAULT_DB},
    {"keys", "OVERBLIK_KEYS", "keys", NULL},
    {"listen", "OVERBLIK_LISTEN", "listen", "127.0.0.1:8080"},
    {"threads", "OVERBLIK_THREADS", "threads", "0"},
    {"jwks", "OVERBLIK_JWKS", "jwks", NULL},
    {"audience", "OVERBLIK_AUDIENCE", "audience", "overblik"},
    {"issuer", "OVERBLIK_ISSUER", "issuer", NULL},
    {"base_url", "OVERBLIK_BASE_URL", "base-url", NULL},
    {"access_log", "OVERBLIK_ACCESS_LOG", "access-log", "false"},
    {"shutdown_timeout", "OVERBLIK_SHUTDOWN_TIMEOUT", "shutdown-timeout", "30"},
    {"metrics_clients", "OVERBLIK_METRICS_CLIENTS", "metrics-clients", NULL},
    {"override_alert_professional", "OVERBLIK_OVERRIDE_ALERT_PROFESSIONAL",
     "override-alert-professional", "5"},
    {"override_alert_site", "OVERBLIK_OVERRIDE_ALERT_SITE", "override-alert-site", "20"},
    {"max_connections", "OVERBLIK_MAX_CONNECTIONS", "max-connections", "1024"},
    {"max_connections_per_ip", "OVERBLIK_MAX_CONNECTIONS_PER_IP", "max-connections-per-ip", "128"},
    {"idle_timeout", "OVERBLIK_IDLE_TIMEOUT", "idle-timeout", "30"},
    {"header_timeout", "OVERBLIK_HEADER_TIMEOUT", "header-timeout", "10"},
    {"body_timeout", "OVERBLIK_BODY_TIMEOUT", "body-timeout", "60"},
    {"tls_cert", "OVERBLIK_TLS_CERT", "tls-cert", NULL},
    {"tls_key", "OVERBLIK_TLS_KEY", "tls-key", NULL},
    {"tls_client_ca", "OVERBLIK_TLS_CLIENT_CA", "tls-client-ca", NULL},
    {"insecure_plain_http", "OVERBLIK_INSECURE_PLAIN_HTTP", "insecure-plain-http", "false"},
    {"smart_authorize", "OVERBLIK_SMART_AUTHORIZE", "smart-authorize", NULL},
    {"smart_token", "OVERBLIK_SMART_TOKEN", "smart-token", NULL},
    {"cors_origins", "OVERBLIK_CORS_ORIGINS", "cors-origins", NULL},
    {"oidc", "OVERBLIK_OIDC", "oidc", NULL},
    {"web_dir", "OVERBLIK_WEB_DIR", "web-dir", NULL},
    {"dev_login", "OVERBLIK_DEV_LOGIN", "dev-login", "false"},
    {"server_id", "OVERBLIK_SERVER_ID", "server-id", NULL},
};

typedef struct config {
    char file_values[S_COUNT][1024];
    bool in_file[S_COUNT];
    const char *v[S_COUNT];
} config;

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = '\0';
    return s;
}

static int read_config(config *c, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "overblik serve: cannot open config file %s: %s\n", shown(path),
                strerror(errno));
        return -1;
    }
    char line[2048];
    int lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *l = trim(line);
        if (!*l || *l == '#')
            continue;
        char *eq = strchr(l, '=');
        if (!eq) {
            fprintf(stderr, "overblik serve: %s:%d: expected key = value\n", shown(path), lineno);
            fclose(f);
            return -1;
        }
        *eq = '\0';
        /* a comment may follow a value after white space ("listen = :8080  # public") */
        for (char *h = eq + 1; (h = strchr(h, '#')) != NULL; h++)
            if (h[-1] == ' ' || h[-1] == '\t') {
                *h = '\0';
                break;
            }
        char *k = trim(l), *v = trim(eq + 1);
        int i = 0;
        while (i < S_COUNT && strcmp(settings[i].key, k) != 0)
            i++;
        if (i == S_COUNT || strlen(v) >= sizeof c->file_values[i]) {
            fprintf(stderr, "overblik serve: %s:%d: %s '%s'\n", shown(path), lineno,
                    i == S_COUNT ? "unknown setting" : "value too long for", shown(k));
            fclose(f);
            return -1;
        }
        snprintf(c->file_values[i], sizeof c->file_values[i], "%s", v);
        c->in_file[i] = true;
    }
    fclose(f);
    return 0;
}

static bool truthy(const char *s)
{
    return s && (strcmp(s, "1") == 0 || strcmp(s, "true") == 0 || strcmp(s, "yes") == 0 ||
                 strcmp(s, "on") == 0);
}

/* SIGHUP: re-reads the JWKS file, so that an identity provider's new signing key can be
 * added (and an old one retired) without a restart. A file that does not load leaves the
 * keys in use in place: a typo in the file must not lock every user out. The operator
 * sees which happened on stderr and in overblik_jwks_reloads_total. */
static void reload_jwks(ob_http_server *srv, const char *path, const ob_auth_config *ac,
                        ob_auth **in_use)
{
    ob_err e = {0};
    ob_auth *next = NULL;
    if (ob_auth_load(path, ac, &next, &e) != OB_OK) {
        ob_http_reload_failed(srv);
        fprintf(stderr,
                "overblik serve: SIGHUP: JWKS not reloaded, the %zu key(s) in use stay: %s\n",
                ob_auth_key_count(*in_use), e.msg);
        return;
    }
    ob_auth_free(ob_http_swap_auth(srv, next));
    *in_use = next;
    fprintf(stderr, "overblik serve: SIGHUP: JWKS %s reloaded, %zu key(s)\n", path,
            ob_auth_key_count(next));
}

static void oidc_report(void *arg, const char *msg)
{
    (void)arg;
    fprintf(stderr, "overblik serve: warning: %s\n", msg);
}

/* The hub's notices (an override alert) on the server's log. The text names internal ids
 * only, never a CPR (R-CPR-2). */
static void notice(void *ctx, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "overblik serve: %s\n", msg);
}

static const char *const serve_flags[] = {"help", "access-log", "insecure-plain-http", "dev-login",
                                          NULL};
static const char *const serve_valued[] = {"db",
                                           "keys",
                                           "listen",
                                           "threads",
                                           "config",
                                           "jwks",
                                           "audience",
                                           "issuer",
                                           "base-url",
                                           "shutdown-timeout",
                                           "metrics-clients",
                                           "override-alert-professional",
                                           "override-alert-site",
                                           "max-connections",
                                           "max-connections-per-ip",
                                           "idle-timeout",
                                           "header-timeout",
                                           "body-timeout",
                                           "tls-cert",
                                           "tls-key",
                                           "tls-client-ca",
                                           "smart-authorize",
                                           "smart-token",
                                           "cors-origins",
                                           "oidc",
                                           "web-dir",
                                           "server-id",
                                           NULL};

int cmd_serve(int argc, char **argv)
{
    opts o;
    if (opts_parse(&o, argc, argv, serve_flags, serve_valued) < 0)
        return EXIT_USAGE;
    if (opt_flag(&o, "help")) {
        printf("usage: overblik serve [--db FILE] [--listen HOST:PORT] [--threads N]\n"
               "         [--config FILE] [--jwks FILE] [--audience A] [--issuer I]\n"
               "         [--base-url URL] [--shutdown-timeout S] [--access-log] [--keys FILE]\n"
               "         [--metrics-clients ID,...] [--override-alert-professional N]\n"
               "         [--override-alert-site N] [--max-connections N]\n"
               "         [--max-connections-per-ip N] [--idle-timeout S] [--header-timeout S]\n"
               "         [--body-timeout S] [--tls-cert PEM --tls-key PEM [--tls-client-ca PEM]]\n"
               "         [--insecure-plain-http] [--smart-authorize URL --smart-token URL]\n"
               "         [--cors-origins ORIGIN,...] [--oidc FILE] [--web-dir DIR] [--dev-login]\n"
               "         [--server-id NAME]\n"
               "Serves the FHIR API under /fhir, /healthz and /metrics (docs/api.md). /metrics\n"
               "answers only system tokens whose client_id is in --metrics-clients (none by\n"
               "default): its counters follow what is decided about whom.\n"
               "Block overrides are counted per professional and per site over 24 hours; at\n"
               "every multiple of the thresholds (default 5 and 20) an alert entry is logged on\n"
               "the patient and printed here (R-BLK-4).\n"
               "Bearer tokens (ES256) are verified against the JWKS file; without --jwks the\n"
               "development JWKS that init wrote beside the database (FILE.jwks.json) is used.\n"
               "Production passes its own JWKS: the server never generates production keys.\n"
               "--oidc FILE names OpenID Connect identity providers (JSON, docs/operations.md):\n"
               "their keys are discovered and refreshed from each provider, their claims\n"
               "mapped to overblik's callers (ES256, RS256, EdDSA). A provider with client_id,\n"
               "client_secret and redirect_uri also logs people in to the web pages.\n"
               "The web pages (web/, compiled in) are served at /; --web-dir DIR serves DIR\n"
               "from disk instead (development). --dev-login enables POST /auth/dev-login, a\n"
               "session for any existing patient or professional without a provider:\n"
               "development only, never in production (a warning is printed at start).\n"
               "Each setting can also come from the environment (OVERBLIK_DB, OVERBLIK_LISTEN,\n"
               "OVERBLIK_THREADS, OVERBLIK_JWKS, OVERBLIK_AUDIENCE, OVERBLIK_ISSUER,\n"
               "OVERBLIK_BASE_URL, OVERBLIK_ACCESS_LOG, OVERBLIK_SHUTDOWN_TIMEOUT,\n"
               "OVERBLIK_KEYS, OVERBLIK_METRICS_CLIENTS) or a config file of `key = value`\n"
               "lines (db, listen, threads, jwks, audience, issuer, base_url, access_log,\n"
               "shutdown_timeout, keys, metrics_clients, override_alert_professional,\n"
               "override_alert_site; --config\n"
               "or OVERBLIK_CONFIG). Precedence: flag > environment > file > default.\n"
               "Defaults: --listen 127.0.0.1:8080, --threads = cores, --audience overblik.\n"
               "The door (docs/operations.md): --max-connections 1024 in all,\n"
               "--max-connections-per-ip 128 from one address (IPv6: one /64); a request's\n"
               "headers must arrive within --header-timeout 10 s, its body within\n"
               "--body-timeout 60 s, however steadily the bytes trickle; --idle-timeout 30 s\n"
               "without a byte either way. (Config keys max_connections, ...; environment\n"
               "OVERBLIK_MAX_CONNECTIONS, ...)\n"
               "TLS (R-SRC-5): --tls-cert (the chain, leaf first) and --tls-key make every\n"
               "connection TLS 1.2/1.3; SIGHUP re-reads both. --tls-client-ca asks clients for\n"
               "a certificate: system tokens must then be bound to theirs (RFC 8705, cnf\n"
               "x5t#S256; overblik token --cert). Plain HTTP is served on loopback only,\n"
               "unless --insecure-plain-http (a TLS-terminating proxy on the same host).\n"
               "PostgreSQL (--db postgresql://..., docs/operations.md): several servers share one\n"
               "database; each needs --keys and --jwks (or --oidc), and --server-id names it\n"
               "among them (default host/pid). A server that has not applied every change\n"
               "acknowledged by another answers 503 until it has (docs/scale.md).\n"
               "SIGTERM or SIGINT: stop accepting, finish requests in flight, flush the log,\n"
               "exit 0. SIGHUP: re-read the JWKS file (a new signing key without a restart);\n"
               "if it does not load, the keys in use stay and stderr says why.\n");
        return 0;
    }
    static config c;
    memset(&c, 0, sizeof c);
    const char *cfg_path = opt(&o, "config", getenv("OVERBLIK_CONFIG"));
    if (cfg_path && read_config(&c, cfg_path) < 0)
        return EXIT_USAGE;
    for (int i = 0; i < S_COUNT; i++) {
        const char *env = getenv(settings[i].env);
        c.v[i] = opt(&o, settings[i].flag, NULL);
        if (!c.v[i] && env && env[0])
            c.v[i] = env;
        if (!c.v[i] && c.in_file[i])
            c.v[i] = c.file_values[i];
        if (!c.v[i])
            c.v[i] = settings[i].dflt;
    }
    bool access_log = opt_flag(&o, "access-log") || truthy(c.v[S_ACCESS_LOG]);
    bool plain_ok = opt_flag(&o, "insecure-plain-http") || truthy(c.v[S_INSECURE_PLAIN]);
    bool dev_login = opt_flag(&o, "dev-login") || truthy(c.v[S_DEV_LOGIN]);
    unsigned threads, timeout, ovr_pro, ovr_site, max_conns, per_ip, idle, hdr_to, body_to;
    if (opt_uint("serve", "threads", c.v[S_THREADS], 0, 256, &threads) < 0 ||
        opt_uint("serve", "shutdown_timeout", c.v[S_SHUTDOWN_TIMEOUT], 0, 3600, &timeout) < 0 ||
        opt_uint("serve", "override_alert_professional", c.v[S_OVR_PRO], 1, 100000, &ovr_pro) < 0 ||
        opt_uint("serve", "override_alert_site", c.v[S_OVR_SITE], 1, 100000, &ovr_site) < 0 ||
        opt_uint("serve", "max_connections", c.v[S_MAX_CONNS], 1, 100000, &max_conns) < 0 ||
        opt_uint("serve", "max_connections_per_ip", c.v[S_MAX_CONNS_IP], 1, 100000, &per_ip) < 0 ||
        opt_uint("serve", "idle_timeout", c.v[S_IDLE_TIMEOUT], 1, 3600, &idle) < 0 ||
        opt_uint("serve", "header_timeout", c.v[S_HEADER_TIMEOUT], 1, 3600, &hdr_to) < 0 ||
        opt_uint("serve", "body_timeout", c.v[S_BODY_TIMEOUT], 1, 3600, &body_to) < 0)
        return EXIT_USAGE;

    /* Block the stop and reload signals before any thread starts, so all threads inherit
     * the mask and only sigwait below sees them. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* several servers on one PostgreSQL database (issue 18): no file is named after a URI
     * (it may hold a password), so the keys and the JWKS are named */
    bool pg = ob_store_where_is_pg(c.v[S_DB]);
    if (pg && (!c.v[S_KEYS] || (!c.v[S_JWKS] && !c.v[S_OIDC]))) {
        fprintf(stderr, "overblik serve: with a PostgreSQL --db, name the key file (--keys) and "
                        "the token keys (--jwks or --oidc)\n");
        return EXIT_USAGE;
    }
    char pem[4200], jwks_default[4200];
    dev_key_paths(pg ? "pg" : c.v[S_DB], pem, jwks_default, sizeof pem);
    /* on PostgreSQL with --oidc alone there is no development JWKS: the providers' keys */
    const char *jwks = c.v[S_JWKS] ? c.v[S_JWKS] : pg ? NULL : jwks_default;
    ob_err e = {0};
    ob_auth *auth = NULL;
    ob_oidc *oidc = NULL;
    if (c.v[S_OIDC]) {
        if (ob_oidc_load(c.v[S_OIDC], &oidc, &e) != OB_OK)
            return fail("serve", &e);
        /* a provider out of reach does not stop the server: its tokens wait for its keys */
        size_t good = ob_oidc_refresh_all(oidc, (int64_t)ob_time_now(), oidc_report, NULL);
        fprintf(stderr, "overblik serve: %zu of %zu identity provider(s) have keys\n", good,
                ob_oidc_count(oidc));
    }
    ob_auth_config ac = {c.v[S_AUDIENCE], c.v[S_ISSUER], oidc};
    if (ob_auth_load(jwks, &ac, &auth, &e) != OB_OK) {
        ob_oidc_free(oidc);
        return fail("serve", &e);
    }
    ob_hub *h = NULL;
    ob_hub_options ho = {c.v[S_DB], c.v[S_KEYS], false, c.v[S_SERVER_ID]};
    if (ob_hub_open(&ho, &h, &e) != OB_OK) {
        ob_auth_free(auth);
        ob_oidc_free(oidc);
        return fail("serve", &e);
    }
    /* R-BLK-4: overrides piling up raise a logged alert; the operator sees it here too */
    ob_overrides_set_thresholds(h->overrides, ovr_pro, ovr_site);
    h->notice = notice;
    /* the log's public keys beside the database, for verifiers and witnesses (R-LOG-8) */
    if (!pg && cli_publish_keys(c.v[S_DB], &e))
        fprintf(stderr, "overblik serve: warning: %s\n", shown(e.msg));
    ob_http_config hc = {c.v[S_LISTEN],
                         threads,
                         access_log,
                         c.v[S_BASE_URL],
                         timeout,
                         c.v[S_METRICS_CLIENTS],
                         max_conns,
                         per_ip,
                         idle,
                         hdr_to,
                         body_to,
                         c.v[S_TLS_CERT],
                         c.v[S_TLS_KEY],
                         c.v[S_TLS_CLIENT_CA],
                         plain_ok,
                         c.v[S_SMART_AUTHORIZE],
                         c.v[S_SMART_TOKEN],
                         c.v[S_ISSUER],
                         c.v[S_CORS_ORIGINS],
                         NULL};
    ob_web *web = NULL;
    ob_web_config wc = {h, oidc, c.v[S_WEB_DIR], dev_login, 0, 0};
    if (ob_web_new(&wc, &web, &e) != OB_OK) {
        ob_hub_close(h);
        ob_auth_free(auth);
        ob_oidc_free(oidc);
        return fail("serve", &e);
    }
    hc.web = web;
    if (dev_login)
        fprintf(stderr, "overblik serve: WARNING: --dev-login is on: POST /auth/dev-login gives "
                        "anyone who can reach this server a session as any patient or "
                        "professional. Development only; never in production.\n");
    ob_http_server *srv = NULL;
    if (ob_http_start(h, auth, &hc, &srv, &e) != OB_OK) {
        ob_web_free(web);
        ob_hub_close(h);
        ob_auth_free(auth);
        ob_oidc_free(oidc);
        return fail("serve", &e);
    }
    if (!ob_http_metrics_listed(srv))
        fprintf(stderr, "overblik serve: /metrics answers 403 to every token: no scraper is "
                        "listed (metrics_clients, --metrics-clients)\n");
    if (!ob_log_index_boot_known())
        fprintf(stderr, "overblik serve: warning: the kernel's boot id "
                        "(/proc/sys/kernel/random/boot_id) cannot be read, so patients' "
                        "access-log views scan the whole log while the server runs; make "
                        "/proc/sys readable (systemd: no ProcSubset=pid)\n");
    const char *scheme = ob_http_tls(srv) ? "https" : "http";
    printf("overblik serve: listening on %s://%s (FHIR base %s://%s/fhir, JWKS %s)\n", scheme,
           ob_http_address(srv), scheme, ob_http_address(srv), jwks ? jwks : "none");
    fflush(stdout);
    int sig = 0;
    for (;;) {
        /* every 5 s without a signal: whether the database's files are still there */
        struct timespec every = {5, 0};
        sig = sigtimedwait(&stop, NULL, &every);
        if (sig < 0) {
            ob_http_watch(srv);
            continue;
        }
        if (sig != SIGHUP)
            break;
        if (jwks)
            reload_jwks(srv, jwks, &ac, &auth);
        if (ob_http_tls(srv)) { /* a renewed certificate, without a restart */
            ob_err te = {0};
            if (ob_http_reload_tls(srv, &te) != OB_OK)
                fprintf(stderr,
                        "overblik serve: SIGHUP: TLS certificate not reloaded, the one in "
                        "use stays: %s\n",
                        te.msg);
            else
                fprintf(stderr, "overblik serve: SIGHUP: TLS certificate %s reloaded\n",
                        c.v[S_TLS_CERT]);
        }
    }
    fprintf(stderr, "overblik serve: %s received, finishing requests in flight\n",
            sig == SIGTERM ? "SIGTERM" : "SIGINT");
    ob_http_stop(srv);
    ob_web_free(web);
    ob_hub_close(h); /* finishes the log's queue and cuts a final checkpoint */
    ob_auth_free(auth);
    ob_oidc_free(oidc);
    fprintf(stderr, "overblik serve: stopped\n");
    return 0;
}

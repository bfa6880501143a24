/* token.c - `overblik token`: mints a development bearer token (ES256 JWT) with the
 * key pair `overblik init` wrote beside the database, for curl, demos and tests. The
 * claims are the ones the server maps to a caller (docs/api.md). Production tokens
 * come from the identity provider, never from here. */
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "cli/cli.h"
#include "core/alloc.h"
#include "core/cpr.h"
#include "core/time.h"
#include "http/auth.h"

static const char *const token_flags[] = {"help", NULL};
static const char *const token_valued[] = {
    "db",  "key", "kind", "cpr", "sub",      "site", "client-id", "on-behalf-of", "purpose",
    "ttl", "aud", "iss",  "nbf", "purposes", "cert", "patient",   "scope",        NULL};

static int usage_error(const char *msg)
{
    fprintf(stderr, "overblik token: %s (see --help)\n", shown(msg));
    return EXIT_USAGE;
}

/* The RFC 8705 confirmation of a client certificate (PEM file): base64url of the SHA-256 of
 * its DER encoding, into out (at least 44 bytes). */
static bool cert_x5t(const char *path, char *out, size_t cap)
{
    FILE *f = fopen(path, "r");
    X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    unsigned char *der = NULL;
    int n = x ? i2d_X509(x, &der) : -1;
    X509_free(x);
    if (n <= 0)
        return false;
    uint8_t h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, der, (size_t)n);
    OPENSSL_free(der);
    sodium_bin2base64(out, cap, h, sizeof h, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return true;
}

int cmd_token(int argc, char **argv)
{
    opts o;
    if (opts_parse(&o, argc, argv, token_flags, token_valued) < 0)
        return EXIT_USAGE;
    if (opt_flag(&o, "help")) {
        printf("usage: overblik token [--db FILE] --kind citizen|professional|system\n"
               "         [--cpr CPR | --patient ID | --sub PRO --site ORG [--on-behalf-of PRO] |\n"
               "          --client-id ID [--site ORG]] [--purpose P] [--ttl SECONDS]\n"
               "         [--purposes P,Q,...] [--aud A] [--iss I] [--key FILE.jwt.pem]\n"
               "         [--scope \"patient/Observation.rs ...\"]\n"
               "         [--cert CLIENT.pem]\n"
               "Prints a development bearer token signed with the key init wrote beside the\n"
               "database (FILE.jwt.pem). Defaults: --ttl 3600, --aud overblik. The purpose\n"
               "goes into the purpose_of_use claim (X-Purpose-Of-Use overrides it per request).\n"
               "--purposes lists the purposes the holder may use at all (the ob_purposes claim,\n"
               "which an identity provider sets per role and permission, R-ACC-15); without it\n"
               "the server allows TREAT and ETREAT (professional), PATRQT and PWATRNY (citizen).\n"
               "--cert binds the token to a client certificate (RFC 8705: cnf x5t#S256, the\n"
               "base64url SHA-256 of its DER); over TLS a system token must be bound.\n"
               "Example: curl -H \"Authorization: Bearer $(overblik token --db d.db --kind\n"
               "  professional --sub gp-1-dr0 --site gp-1)\" http://127.0.0.1:8080/fhir/...\n");
        return 0;
    }
    const char *kind = opt(&o, "kind", NULL);
    if (!kind)
        return usage_error("--kind is required");
    json_t *cl = json_object();
    if (!cl)
        return EXIT_STORAGE;
    int rc = 0;
    if (strcmp(kind, "citizen") == 0 && opt(&o, "patient", NULL)) {
        /* issue 25: the patient by internal id (SMART's patient claim), so that a demo token
         * carries no CPR number; the id must be one the database knows */
        const char *pid = opt(&o, "patient", NULL);
        if (opt(&o, "cpr", NULL)) {
            rc = usage_error("give --cpr or --patient, not both");
            goto out;
        }
        ob_hub *h;
        if ((rc = open_hub(&o, false, &h)) != 0)
            goto out;
        bool known = ob_index_find_patient(h->ix, pid) != OB_NONE;
        ob_hub_close(h);
        if (!known) {
            fprintf(stderr, "overblik token: no patient with id '%.64s' in %s\n", shown(pid),
                    opt(&o, "db", DEFAULT_DB));
            rc = EXIT_INPUT;
            goto out;
        }
        json_object_set_new(cl, "patient", json_string(pid));
    } else if (strcmp(kind, "citizen") == 0) {
        const char *cpr = opt(&o, "cpr", NULL);
        ob_cpr parsed;
        if (!cpr) {
            rc = usage_error("a citizen token needs --cpr or --patient");
            goto out;
        }
        ob_err ce = {0};
        if (ob_cpr_parse(cpr, strlen(cpr), &parsed, &ce) != OB_OK) {
            fprintf(stderr, "overblik token: --cpr: %s\n", shown(ce.msg));
            rc = EXIT_INPUT;
            goto out;
        }
        json_object_set_new(cl, "cpr", json_string(parsed.digits));
    } else if (strcmp(kind, "professional") == 0) {
        const char *sub = opt(&o, "sub", NULL), *site = opt(&o, "site", NULL);
        if (!sub || !site) {
            rc = usage_error("a professional token needs --sub and --site");
            goto out;
        }
        json_object_set_new(cl, "sub", json_string(sub));
        json_object_set_new(cl, "site", json_string(site));
        if (opt(&o, "on-behalf-of", NULL))
            json_object_set_new(cl, "on_behalf_of", json_string(opt(&o, "on-behalf-of", NULL)));
    } else if (strcmp(kind, "system") == 0) {
        const char *client = opt(&o, "client-id", NULL), *site = opt(&o, "site", NULL);
        if (!client) {
            rc = usage_error("a system token needs --client-id (and --site for the FHIR API)");
            goto out;
        }
        json_object_set_new(cl, "client_id", json_string(client));
        json_object_set_new(cl, "sub", json_string(client));
        if (site) /* a metrics scraper speaks for no site */
            json_object_set_new(cl, "site", json_string(site));
    } else {
        rc = usage_error("--kind must be citizen, professional or system");
        goto out;
    }
    char *end;
    long ttl = strtol(opt(&o, "ttl", "3600"), &end, 10);
    if (*end || ttl < 1 || ttl > 366L * 86400) {
        rc = usage_error("--ttl must be 1 to 31622400 seconds");
        goto out;
    }
    int64_t now = (int64_t)ob_time_now();
    uint8_t jti[12];
    char jti_hex[25];
    randombytes_buf(jti, sizeof jti);
    ob_hex(jti, sizeof jti, jti_hex);
    json_object_set_new(cl, "ob_kind", json_string(kind));
    json_object_set_new(cl, "aud", json_string(opt(&o, "aud", "overblik")));
    json_object_set_new(cl, "iat", json_integer(now));
    json_object_set_new(cl, "exp", json_integer(now + ttl));
    json_object_set_new(cl, "jti", json_string(jti_hex));
    if (opt(&o, "nbf", NULL)) {
        long nbf = strtol(opt(&o, "nbf", "0"), &end, 10);
        if (*end) {
            rc = usage_error("--nbf must be seconds relative to now");
            goto out;
        }
        json_object_set_new(cl, "nbf", json_integer(now + nbf));
    }
    if (opt(&o, "iss", NULL))
        json_object_set_new(cl, "iss", json_string(opt(&o, "iss", NULL)));
    if (opt(&o, "scope", NULL)) /* SMART scopes: they narrow (issue 25) */
        json_object_set_new(cl, "scope", json_string(opt(&o, "scope", NULL)));
    if (opt(&o, "purpose", NULL))
        json_object_set_new(cl, "purpose_of_use", json_string(opt(&o, "purpose", NULL)));
    if (opt(&o, "purposes", NULL)) {
        json_t *a = json_array();
        for (const char *p = opt(&o, "purposes", NULL); *p;) {
            size_t len = strcspn(p, ",");
            char code[32];
            if (len == 0 || len >= sizeof code) {
                json_decref(a);
                rc = usage_error("--purposes is a comma-separated list of purpose codes");
                goto out;
            }
            memcpy(code, p, len);
            code[len] = '\0';
            json_array_append_new(a, json_string(code));
            p += len + (p[len] == ',');
        }
        json_object_set_new(cl, "ob_purposes", a);
    }
    if (opt(&o, "cert", NULL)) {
        char x5t[48];
        if (!cert_x5t(opt(&o, "cert", NULL), x5t, sizeof x5t)) {
            rc = usage_error("--cert must name a PEM certificate file");
            goto out;
        }
        json_object_set_new(cl, "cnf", json_pack("{s:s}", "x5t#S256", x5t));
    }
    char pem[4200], jwks[4200];
    dev_key_paths(opt(&o, "db", DEFAULT_DB), pem, jwks, sizeof pem);
    char *tok = NULL;
    ob_err e = {0};
    if (ob_auth_dev_sign(opt(&o, "key", pem), cl, &tok, &e) != OB_OK) {
        rc = fail("token", &e);
        goto out;
    }
    printf("%s\n", tok);
    ob_free(tok);
out:
    json_decref(cl);
    return rc;
}

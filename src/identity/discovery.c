/* discovery.c - builds the OpenID configuration, the JWKS and the SMART configuration once at
 * start-up (jansson, serialised by jsonx_dumps) and serves the cached bytes. */
#include "identity/discovery.h"

#include <stdlib.h>
#include <string.h>

#include "base/jsonx.h"
#include "http/request.h"

#define NO_MORE NULL

/* The documents change only with a restart (new issuer, rotated keys), so caches may keep them
 * an hour; a client that meets an unknown kid refetches the JWKS anyway (OIDC Core 10.1.1). */
#define CACHE_CONTROL "public, max-age=3600"

static const char *const grant_types[] = {"authorization_code", "client_credentials",
                                          "refresh_token", NO_MORE};
static const char *const auth_methods[] = {"client_secret_basic", "client_secret_post", "none",
                                           NO_MORE};
static const char *const scopes[] = {
    "openid",         "profile",         "fhirUser",    "launch/patient", "offline_access",
    "patient/*.rs",   "patient/*.cruds", "user/*.rs",   "user/*.cruds",   "system/*.rs",
    "system/*.cruds", "patient/*.read",  "user/*.read", "system/*.read",  NO_MORE};
static const char *const claims[] = {"iss",         "sub",        "aud",      "exp",
                                     "iat",         "auth_time",  "nonce",    "name",
                                     "family_name", "given_name", "fhirUser", NO_MORE};
static const char *const capabilities[] = {"launch-standalone",
                                           "client-public",
                                           "client-confidential-symmetric",
                                           "context-standalone-patient",
                                           "permission-v2",
                                           "permission-v1",
                                           "permission-patient",
                                           "permission-user",
                                           "permission-offline",
                                           "sso-openid-connect",
                                           NO_MORE};
static const char *const code_only[] = {"code", NO_MORE};
static const char *const s256_only[] = {"S256", NO_MORE};
static const char *const eddsa_only[] = {"EdDSA", NO_MORE};
static const char *const public_only[] = {"public", NO_MORE};
static const char *const query_only[] = {"query", NO_MORE};
static const char *const locales[] = {"ja", "en", NO_MORE};
static const char *const secret_methods[] = {"client_secret_basic", "client_secret_post", NO_MORE};

/* Sets obj[key] to an array of the strings in list. Returns 0 or -1 (out of memory). */
static int set_strings(json_t *obj, const char *key, const char *const *list)
{
    json_t *a = json_array();
    if (a == NULL)
        return -1;
    for (const char *const *p = list; *p != NULL; p++) {
        if (json_array_append_new(a, json_string(*p)) != 0) {
            json_decref(a);
            return -1;
        }
    }
    return json_object_set_new(obj, key, a);
}

/* Sets obj[key] to issuer followed by path. Returns 0 or -1. */
static int set_url(json_t *obj, const char *key, const char *issuer, const char *path)
{
    size_t n = strlen(issuer), m = strlen(path);
    char *url = malloc(n + m + 1);
    if (url == NULL)
        return -1;
    memcpy(url, issuer, n);
    memcpy(url + n, path, m + 1);
    int rc = json_object_set_new(obj, key, json_string(url));
    free(url);
    return rc;
}

/* The endpoints both documents announce, in the order OpenID Discovery lists them. */
static int set_endpoints(json_t *o, const char *issuer)
{
    int bad = json_object_set_new(o, "issuer", json_string(issuer)) != 0;
    bad |= set_url(o, "authorization_endpoint", issuer, "/oauth/authorize") != 0;
    bad |= set_url(o, "token_endpoint", issuer, "/oauth/token") != 0;
    bad |= set_url(o, "jwks_uri", issuer, ID_DISCOVERY_JWKS_PATH) != 0;
    bad |= set_url(o, "revocation_endpoint", issuer, "/oauth/revoke") != 0;
    bad |= set_url(o, "introspection_endpoint", issuer, "/oauth/introspect") != 0;
    return bad ? -1 : 0;
}

/* OpenID Connect Discovery 1.0 section 3, with the RFC 8414 members for revocation,
 * introspection and PKCE. */
static json_t *openid_document(const char *issuer)
{
    json_t *o = json_object();
    if (o == NULL || set_endpoints(o, issuer) != 0)
        goto fail;
    int bad = set_url(o, "userinfo_endpoint", issuer, "/oauth/userinfo") != 0;
    bad |= set_strings(o, "scopes_supported", scopes) != 0;
    bad |= set_strings(o, "response_types_supported", code_only) != 0;
    bad |= set_strings(o, "response_modes_supported", query_only) != 0;
    bad |= set_strings(o, "grant_types_supported", grant_types) != 0;
    bad |= set_strings(o, "subject_types_supported", public_only) != 0;
    bad |= set_strings(o, "id_token_signing_alg_values_supported", eddsa_only) != 0;
    bad |= set_strings(o, "token_endpoint_auth_methods_supported", auth_methods) != 0;
    bad |= set_strings(o, "revocation_endpoint_auth_methods_supported", secret_methods) != 0;
    bad |= set_strings(o, "introspection_endpoint_auth_methods_supported", secret_methods) != 0;
    bad |= set_strings(o, "code_challenge_methods_supported", s256_only) != 0;
    bad |= set_strings(o, "claims_supported", claims) != 0;
    bad |= set_strings(o, "ui_locales_supported", locales) != 0;
    /* request_uri_parameter_supported defaults to true when absent: say false explicitly */
    bad |= json_object_set_new(o, "claims_parameter_supported", json_false()) != 0;
    bad |= json_object_set_new(o, "request_parameter_supported", json_false()) != 0;
    bad |= json_object_set_new(o, "request_uri_parameter_supported", json_false()) != 0;
    if (!bad)
        return o;
fail:
    json_decref(o);
    return NULL;
}

/* SMART App Launch v2 (STU 2), "Metadata in .well-known/smart-configuration". */
static json_t *smart_document(const char *issuer)
{
    json_t *o = json_object();
    if (o == NULL || set_endpoints(o, issuer) != 0)
        goto fail;
    int bad = set_strings(o, "grant_types_supported", grant_types) != 0;
    bad |= set_strings(o, "token_endpoint_auth_methods_supported", auth_methods) != 0;
    bad |= set_strings(o, "scopes_supported", scopes) != 0;
    bad |= set_strings(o, "response_types_supported", code_only) != 0;
    bad |= set_strings(o, "code_challenge_methods_supported", s256_only) != 0;
    bad |= set_strings(o, "capabilities", capabilities) != 0;
    if (!bad)
        return o;
fail:
    json_decref(o);
    return NULL;
}

/* Serialises v (stolen) into *out. Returns 0 or ERR_NOMEM. */
static int dump_into(json_t *v, char **out, size_t *len, struct err *e)
{
    *out = v != NULL ? jsonx_dumps(v, len) : NULL;
    json_decref(v);
    if (*out == NULL)
        return err_set(e, ERR_NOMEM, "out of memory building the discovery documents");
    return 0;
}

int id_discovery_init(struct id_discovery *d, const char *issuer, const struct id_keys *keys,
                      struct err *e)
{
    memset(d, 0, sizeof *d);
    if (issuer == NULL || issuer[0] == '\0')
        return err_set(e, ERR_INVALID, "discovery needs an issuer");
    if (keys == NULL || keys->n == 0)
        return err_set(e, ERR_INVALID, "discovery needs at least one signing key");
    int rc = dump_into(openid_document(issuer), &d->openid, &d->openid_len, e);
    if (rc == 0)
        rc = dump_into(smart_document(issuer), &d->smart, &d->smart_len, e);
    if (rc == 0) {
        d->jwks = id_jose_jwks(keys->keys, keys->n);
        if (d->jwks == NULL)
            rc = err_set(e, ERR_NOMEM, "out of memory building the JWKS");
        else
            d->jwks_len = strlen(d->jwks);
    }
    if (rc != 0)
        id_discovery_release(d);
    return rc;
}

static void respond_cached(struct http_request *req, const char *body, size_t len)
{
    http_set_header(req, "Cache-Control", CACHE_CONTROL);
    /* public documents that browser apps (SMART apps are often single-page) must read */
    http_set_header(req, "Access-Control-Allow-Origin", "*");
    http_respond(req, 200, "application/json", body, len);
}

static int get_openid(struct http_request *req, void *ctx)
{
    struct id_discovery *d = ctx;
    respond_cached(req, d->openid, d->openid_len);
    return 0;
}

static int get_jwks(struct http_request *req, void *ctx)
{
    struct id_discovery *d = ctx;
    respond_cached(req, d->jwks, d->jwks_len);
    return 0;
}

static int get_smart(struct http_request *req, void *ctx)
{
    struct id_discovery *d = ctx;
    respond_cached(req, d->smart, d->smart_len);
    return 0;
}

int id_discovery_register(struct http_router *r, struct id_discovery *d)
{
    int rc = http_router_add(r, "GET", ID_DISCOVERY_OPENID_PATH, get_openid, d);
    if (rc == 0)
        rc = http_router_add(r, "GET", ID_DISCOVERY_JWKS_PATH, get_jwks, d);
    if (rc == 0)
        rc = http_router_add(r, "GET", ID_DISCOVERY_SMART_PATH, get_smart, d);
    return rc;
}

void id_discovery_release(struct id_discovery *d)
{
    free(d->openid);
    free(d->jwks);
    free(d->smart);
    memset(d, 0, sizeof *d);
}

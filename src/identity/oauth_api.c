/* oauth_api.c - the OAuth 2.0 endpoints (token by client credentials, introspection, revocation)
 * with client authentication and the RFC 6749 section 5.2 error body built in one place. */
#include "identity/oauth_api.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/clock.h"
#include "base/log.h"
#include "http/form.h"
#include "identity/client.h"
#include "identity/grant.h"
#include "identity/principal.h"
#include "identity/scope.h"
#include "identity/oauth_internal.h"
#include "identity/token.h"

#define FORM_TYPE        "application/x-www-form-urlencoded"
#define BASIC_MAX        1024 /* bytes of decoded Basic credentials */
#define CLIENT_FIELD_MAX 256  /* bytes of a decoded client id or secret */

/* ---- the one builder of OAuth error answers (RFC 6749 section 5.2) ---- */

/* error_description allows %x20-21 / %x23-5B / %x5D-7E only: anything else becomes '\''. */
static void clean_description(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e || *s == '"' || *s == '\\')
            *s = '\'';
}

void oauth_no_store(struct http_request *req)
{
    http_set_header(req, "Cache-Control", "no-store");
    http_set_header(req, "Pragma", "no-cache");
}

void oauth_error_at(struct http_request *req, const char *file, int line, int status,
                    const char *code, const char *description)
{
    char desc[256];
    snprintf(desc, sizeof desc, "%s", description);
    clean_description(desc);
    log_debug("oauth %s (%d) at %s:%d: %s", code, status, file, line, desc);
    oauth_no_store(req);
    if (status == 401)
        http_set_header(req, "WWW-Authenticate", "Basic realm=\"cityos\"");
    http_respond_json(req, status,
                      json_pack("{s:s, s:s}", "error", code, "error_description", desc));
}

/* ---- the request: form body and client authentication ---- */

int oauth_read_form(struct http_request *req, struct oauth_call *c)
{
    if (!http_content_type_is(req, FORM_TYPE)) {
        oauth_error(req, 400, "invalid_request",
                    "send the parameters as application/x-www-form-urlencoded");
        return 0;
    }
    struct err e = {0};
    if (req->body_len > 0 && (req->body == NULL || memchr(req->body, 0, req->body_len) != NULL)) {
        oauth_error(req, 400, "invalid_request", "the body holds a NUL byte");
        return 0;
    }
    int rc = http_form_parse(req->body != NULL ? req->body : "", req->body_len, req->arena,
                             &c->form, &e);
    if (rc == ERR_NOMEM)
        return -1;
    if (rc != 0) {
        oauth_error(req, 400, "invalid_request", e.msg);
        return 0;
    }
    return 1;
}

/* Splits HTTP Basic credentials into the form-urlencoded id and secret (RFC 6749 2.3.1). */
static int parse_basic(struct http_request *req, const char *b64, const char **id,
                       const char **secret)
{
    while (*b64 == ' ')
        b64++;
    size_t n = strlen(b64);
    while (n > 0 && b64[n - 1] == ' ')
        n--;
    unsigned char *bin = arena_alloc(req->arena, BASIC_MAX + 1);
    size_t len = 0;
    const char *end = NULL;
    if (bin == NULL || n == 0 || n > BASIC_MAX * 4 / 3 + 4 ||
        sodium_base642bin(bin, BASIC_MAX, b64, n, NULL, &len, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        end != b64 + n)
        return 0;
    unsigned char *colon = memchr(bin, ':', len);
    if (colon == NULL)
        return 0;
    *id = http_form_decode((const char *)bin, (size_t)(colon - bin), CLIENT_FIELD_MAX, req->arena,
                           NULL);
    *secret = http_form_decode((const char *)colon + 1, len - (size_t)(colon + 1 - bin),
                               CLIENT_FIELD_MAX, req->arena, NULL);
    return *id != NULL && *secret != NULL;
}

int oauth_authenticate_client(struct http_request *req, struct store *s, struct oauth_call *c,
                              int allow_public)
{
    const char *auth = http_header(req, "Authorization");
    const char *form_id = http_form_get(&c->form, "client_id");
    const char *form_secret = http_form_get(&c->form, "client_secret");
    const char *id = form_id, *secret = form_secret;
    if (auth != NULL) {
        if (strncasecmp(auth, "Basic ", 6) != 0) {
            oauth_error(req, 401, "invalid_client", "authenticate the client with HTTP Basic");
            return 0;
        }
        if (!parse_basic(req, auth + 6, &id, &secret)) {
            oauth_error(req, 401, "invalid_client", "the Basic credentials are malformed");
            return 0;
        }
        if (form_secret != NULL || (form_id != NULL && strcmp(form_id, id) != 0)) {
            oauth_error(req, 400, "invalid_request",
                        "use one client authentication method, not Basic and the body");
            return 0;
        }
    }
    if (id == NULL) {
        oauth_error(req, 401, "invalid_client", "client authentication is required");
        return 0;
    }
    struct err e = {0};
    int rc = id_client_get(s, id, &c->client, req->arena, &e);
    if (rc == ERR_NOTFOUND || rc == ERR_INVALID) {
        oauth_error(req, 401, "invalid_client", "unknown client or wrong secret");
        return 0;
    }
    if (rc != 0) {
        oauth_error(req, 503, "temporarily_unavailable", "the client store did not answer");
        return 0;
    }
    if (c->client.kind != ID_CLIENT_CONFIDENTIAL) {
        /* a public client only names itself (RFC 6749 2.3: it has no credentials) */
        if (allow_public && secret == NULL && auth == NULL)
            return 1;
        oauth_error(req, 401, "invalid_client",
                    allow_public ? "a public client has no secret: send only client_id"
                                 : "only confidential clients may call this");
        return 0;
    }
    rc = id_client_check_secret(s, c->client.id, secret != NULL ? secret : "", &e);
    if (rc == ERR_INVALID || rc == ERR_NOTFOUND) {
        oauth_error(req, 401, "invalid_client", "unknown client or wrong secret");
        return 0;
    }
    if (rc != 0) {
        oauth_error(req, 503, "temporarily_unavailable", "the client store did not answer");
        return 0;
    }
    return 1;
}

/* ---- POST /oauth/token ---- */

void oauth_write_failed_log(int status, const struct err *e, const char *what)
{
    if (status != 0 && e != NULL)
        log_warn("%s not stored: %s", what, e->msg);
}

struct token_write {
    struct id_token_record rec;
    char token[ID_TOKEN_LEN + 1];
    int64_t ttl_s;
    int status;
    struct http_request *req;
};

/* Completion of a token write: the connection sleeps until it is durable or has failed. */
static void token_written(int status, const struct err *e, void *ctx)
{
    struct token_write *w = ctx;
    w->status = status;
    oauth_write_failed_log(status, e, "access token");
    http_request_resume(w->req);
}

static int answer_token(struct http_request *req, void *ctx)
{
    struct token_write *w = ctx;
    if (w->status != 0) {
        oauth_error(req, 503, "temporarily_unavailable", "the token could not be stored");
        return 0;
    }
    oauth_no_store(req);
    http_respond_json(req, 200,
                      json_pack("{s:s, s:s, s:I, s:s}", "access_token", w->token, "token_type",
                                "Bearer", "expires_in", (json_int_t)w->ttl_s, "scope",
                                w->rec.scope));
    return 0;
}

static int printable_ascii(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x21 || s[i] > 0x7e)
            return 0;
    return 1;
}

/* RFC 8707 resource: an absolute URI without a fragment. */
static int resource_valid(const char *s)
{
    if (!printable_ascii(s, ID_TOKEN_AUD_MAX) || strchr(s, '#') != NULL)
        return 0;
    size_t i = 0;
    if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
        return 0;
    while (s[i] != '\0' && s[i] != ':' &&
           (strchr("+-.", s[i]) || (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z') ||
            (s[i] >= 'A' && s[i] <= 'Z')))
        i++;
    return s[i] == ':' && s[i + 1] != '\0';
}

/* The audience asked for with `resource` (RFC 8707) or `audience`, else the default. Returns it,
 * or NULL with the answer set. */
static const char *choose_audience(struct http_request *req, const struct http_form *f)
{
    const char *resource = http_form_get(f, "resource");
    const char *audience = http_form_get(f, "audience");
    if (resource != NULL && audience != NULL) {
        oauth_error(req, 400, "invalid_request", "give resource or audience, not both");
        return NULL;
    }
    if (resource != NULL && !resource_valid(resource)) {
        oauth_error(req, 400, "invalid_target",
                    "resource must be an absolute URI without a fragment, at most 512 bytes");
        return NULL;
    }
    if (audience != NULL && !printable_ascii(audience, ID_TOKEN_AUD_MAX)) {
        oauth_error(req, 400, "invalid_request",
                    "audience must be 1..512 printable ASCII characters");
        return NULL;
    }
    return resource != NULL ? resource : audience != NULL ? audience : ID_TOKEN_AUD_DEFAULT;
}

/* Is sc something a client may hold for itself (client credentials): system/ clinical scopes
 * and cityos's own scopes, never user, patient, identity or launch scopes? */
static int fits_client_credentials(const struct id_scope *sc)
{
    if (sc->kind == ID_SCOPE_CLINICAL)
        return sc->clinical.context == ID_SCOPE_SYSTEM;
    return sc->kind == ID_SCOPE_OTHER;
}

/* The granted scope text (in the arena), or NULL with the answer set (-1 in *fail on OOM). */
static const char *grant_scope(struct http_request *req, const struct id_client *client,
                               const char *asked, int *fail)
{
    struct id_scope_set *allowed = arena_alloc(req->arena, sizeof *allowed);
    struct id_scope_set *want = arena_alloc(req->arena, sizeof *want);
    struct id_scope_set *got = arena_alloc(req->arena, sizeof *got);
    char *text = arena_alloc(req->arena, OAUTH_SCOPE_TEXT_BUF);
    char msg[320];
    struct err e = {0};
    if (allowed == NULL || want == NULL || got == NULL || text == NULL) {
        *fail = -1;
        return NULL;
    }
    if (id_scope_parse(client->scopes, allowed, &e) != 0) {
        oauth_error(req, 500, "server_error", "the client's registered scopes do not parse");
        return NULL;
    }
    const struct id_scope_set *grant = want;
    if (asked == NULL) {
        /* every system/ scope the client may hold: the allowed set intersected with all of
         * system/ (the intersection keeps the allowed types, permissions and parameters) */
        if (id_scope_parse("system/*.cruds", want, &e) != 0 ||
            id_scope_intersect(allowed, want, got, &e) != 0 || got->n == 0) {
            oauth_error(req, 400, "invalid_scope",
                        "no scope was asked for and the client has no system/ scopes");
            return NULL;
        }
        grant = got;
    } else {
        if (id_scope_parse(asked, want, &e) != 0) {
            oauth_error(req, 400, "invalid_scope", e.msg);
            return NULL;
        }
        for (size_t i = 0; i < want->n; i++)
            if (!fits_client_credentials(&want->items[i])) {
                oauth_error(req, 400, "invalid_scope",
                            "client_credentials grants only system/ and service scopes");
                return NULL;
            }
        const struct id_scope *bad = NULL;
        if (!id_scope_subset(want, allowed, &bad)) {
            snprintf(msg, sizeof msg, "a requested scope is beyond what the client may ask: %s",
                     bad != NULL && bad->kind == ID_SCOPE_OTHER ? bad->text : "a clinical scope");
            oauth_error(req, 400, "invalid_scope", msg);
            return NULL;
        }
    }
    if (id_scope_format(grant, ID_SCOPE_FORM_KEEP_V1, text, OAUTH_SCOPE_TEXT_BUF) != 0 ||
        text[0] == '\0') {
        oauth_error(req, 400, "invalid_scope", "the granted scope is too long");
        return NULL;
    }
    return text;
}

static int post_token(struct http_request *req, void *ctx)
{
    struct oauth_api *api = ctx;
    struct oauth_call *c = arena_zalloc(req->arena, sizeof *c);
    if (c == NULL)
        return -1;
    int ok = oauth_read_form(req, c);
    if (ok <= 0)
        return ok;
    if (!oauth_authenticate_client(req, api->store, c, 1))
        return 0;
    const char *grant = http_form_get(&c->form, "grant_type");
    if (grant == NULL) {
        oauth_error(req, 400, "invalid_request", "grant_type is required");
        return 0;
    }
    if (strcmp(grant, "authorization_code") == 0)
        return oauth_token_by_code(req, api, c);
    if (strcmp(grant, "refresh_token") == 0)
        return oauth_token_by_refresh(req, api, c);
    if (strcmp(grant, "client_credentials") != 0) {
        oauth_error(req, 400, "unsupported_grant_type",
                    "supported: authorization_code, refresh_token, client_credentials");
        return 0;
    }
    if (c->client.kind != ID_CLIENT_CONFIDENTIAL) {
        oauth_error(req, 400, "unauthorized_client",
                    "a public client cannot use the client_credentials grant");
        return 0;
    }
    if (!(c->client.grant_types & ID_GRANT_CLIENT_CREDENTIALS)) {
        oauth_error(req, 400, "unauthorized_client",
                    "the client is not registered for the client_credentials grant");
        return 0;
    }
    int fail = 0;
    const char *scope = grant_scope(req, &c->client, http_form_get(&c->form, "scope"), &fail);
    if (scope == NULL)
        return fail;
    const char *aud = choose_audience(req, &c->form);
    if (aud == NULL)
        return 0;
    struct token_write *w = arena_zalloc(req->arena, sizeof *w);
    if (w == NULL)
        return -1;
    struct err e = {0};
    w->ttl_s = api->token_ttl_s > 0 ? api->token_ttl_s : ID_TOKEN_TTL_DEFAULT_S;
    if (id_token_new(&w->rec, c->client.id, NULL, scope, aud, NULL, w->ttl_s, clock_now_ms(),
                     w->token, &e) != 0) {
        oauth_error(req, 500, "server_error", "the token could not be made");
        return 0;
    }
    w->req = req;
    http_request_suspend(req, answer_token, w);
    if (store_write_async(api->store, id_token_insert_fn, &w->rec, token_written, w) != 0) {
        w->status = ERR_UNAVAILABLE;
        http_request_resume(req);
    }
    return 0;
}

/* The common start of introspection and revocation: a strict form, an authenticated client
 * and a `token` parameter. Returns the call and sets *token, or NULL with *status 0 (the answer
 * is set) or -1 (out of memory). */
static struct oauth_call *begin_token_call(struct http_request *req, struct oauth_api *api,
                                           int allow_public, const char **token, int *status)
{
    *status = -1;
    struct oauth_call *c = arena_zalloc(req->arena, sizeof *c);
    if (c == NULL)
        return NULL;
    int ok = oauth_read_form(req, c);
    if (ok <= 0) {
        *status = ok;
        return NULL;
    }
    *status = 0;
    if (!oauth_authenticate_client(req, api->store, c, allow_public))
        return NULL;
    *token = http_form_get(&c->form, "token");
    if (*token == NULL) {
        oauth_error(req, 400, "invalid_request", "token is required");
        return NULL;
    }
    return c;
}

/* ---- POST /oauth/introspect (RFC 7662) ---- */

/* Is token one of the space-separated words of list? */
static int scope_list_has(const char *list, const char *token)
{
    size_t n = strlen(token);
    for (const char *p = list; p != NULL && *p != '\0';) {
        const char *end = strchr(p, ' ');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        if (len == n && memcmp(p, token, n) == 0)
            return 1;
        p = end != NULL ? end + 1 : p + len;
    }
    return 0;
}

static int post_introspect(struct http_request *req, void *ctx)
{
    struct oauth_api *api = ctx;
    const char *token = NULL;
    int status = 0;
    struct oauth_call *c = begin_token_call(req, api, 0, &token, &status);
    if (c == NULL)
        return status;
    struct id_token_record rec;
    struct err e = {0};
    int rc =
        id_token_lookup(api->store, token, strlen(token), clock_now_ms(), &rec, req->arena, &e);
    oauth_no_store(req);
    if (rc == ERR_NOTFOUND) {
        http_respond_json(req, 200, json_pack("{s:b}", "active", 0));
        return 0;
    }
    if (rc == ERR_NOMEM)
        return -1;
    if (rc != 0) {
        oauth_error(req, 503, "temporarily_unavailable", "the token store did not answer");
        return 0;
    }
    if (strcmp(rec.client_id, c->client.id) != 0 &&
        !scope_list_has(c->client.scopes, ID_SCOPE_INTROSPECT)) {
        /* RFC 7662 2.2: a token the caller may not look at is reported inactive */
        http_respond_json(req, 200, json_pack("{s:b}", "active", 0));
        return 0;
    }
    json_t *o = json_pack("{s:b, s:s, s:s, s:s, s:I, s:I, s:s}", "active", 1, "scope", rec.scope,
                          "client_id", rec.client_id, "aud", rec.audience, "exp",
                          (json_int_t)(rec.expires_ms / 1000), "iat",
                          (json_int_t)(rec.issued_ms / 1000), "token_type", "Bearer");
    if (o != NULL && rec.subject_id != NULL)
        json_object_set_new(o, "sub", json_string(rec.subject_id));
    http_respond_json(req, 200, o);
    return 0;
}

/* ---- POST /oauth/revoke (RFC 7009) ---- */

struct revoke_write {
    struct id_token_revoke r;
    struct id_grant_revoke grant;
    int status;
    struct http_request *req;
};

static void revoke_written(int status, const struct err *e, void *ctx)
{
    struct revoke_write *w = ctx;
    w->status = status;
    oauth_write_failed_log(status, e, "token revocation");
    http_request_resume(w->req);
}

static int answer_revoked(struct http_request *req, void *ctx)
{
    struct revoke_write *w = ctx;
    if (w->status != 0) {
        http_set_header(req, "Retry-After", "1");
        oauth_error(req, 503, "temporarily_unavailable", "the revocation could not be stored");
        return 0;
    }
    oauth_no_store(req);
    http_respond(req, 200, NULL, "", 0);
    return 0;
}

/* A refresh token: revoking it revokes its grant, with every token the grant produced
 * (RFC 7009 section 2.1). Unknown text answers 200 as well. */
static int revoke_refresh_token(struct http_request *req, struct oauth_api *api,
                                struct oauth_call *c, const char *token)
{
    struct id_grant_lookup l;
    struct err e = {0};
    int rc = id_grant_lookup(api->store, 1, token, &l, req->arena, &e);
    if (rc == ERR_NOMEM)
        return -1;
    if (rc != 0 && rc != ERR_NOTFOUND) {
        http_set_header(req, "Retry-After", "1");
        oauth_error(req, 503, "temporarily_unavailable", "the token store did not answer");
        return 0;
    }
    if (rc == ERR_NOTFOUND || l.grant.revoked_ms != 0) {
        oauth_no_store(req);
        http_respond(req, 200, NULL, "", 0);
        return 0;
    }
    if (strcmp(l.grant.client_id, c->client.id) != 0) {
        oauth_error(req, 400, "unauthorized_client", "the token was not issued to this client");
        return 0;
    }
    struct revoke_write *w = arena_zalloc(req->arena, sizeof *w);
    if (w == NULL)
        return -1;
    memcpy(w->grant.grant_id, l.grant.id, sizeof w->grant.grant_id);
    w->grant.reason = "revoked_by_client";
    w->grant.now_ms = clock_now_ms();
    w->req = req;
    http_request_suspend(req, answer_revoked, w);
    if (store_write_async(api->store, id_grant_revoke_fn, &w->grant, revoke_written, w) != 0) {
        w->status = ERR_UNAVAILABLE;
        http_request_resume(req);
    }
    return 0;
}

static int post_revoke(struct http_request *req, void *ctx)
{
    struct oauth_api *api = ctx;
    const char *token = NULL;
    int status = 0;
    struct oauth_call *c = begin_token_call(req, api, 1, &token, &status);
    if (c == NULL)
        return status;
    /* token_type_hint is only a hint (RFC 7009 section 2.1): any value is accepted and the token
     * is looked up as an access token, then as a refresh token */
    struct id_token_record rec;
    struct err e = {0};
    int rc = id_token_find(api->store, token, strlen(token), &rec, req->arena, &e);
    if (rc == ERR_NOTFOUND)
        return revoke_refresh_token(req, api, c, token);
    if (rc == ERR_NOMEM)
        return -1;
    if (rc != 0) {
        http_set_header(req, "Retry-After", "1");
        oauth_error(req, 503, "temporarily_unavailable", "the token store did not answer");
        return 0;
    }
    if (rec.revoked_ms != 0) {
        oauth_no_store(req);
        http_respond(req, 200, NULL, "", 0); /* already revoked: nothing to do */
        return 0;
    }
    if (strcmp(rec.client_id, c->client.id) != 0) {
        oauth_error(req, 400, "unauthorized_client", "the token was not issued to this client");
        return 0;
    }
    struct revoke_write *w = arena_zalloc(req->arena, sizeof *w);
    if (w == NULL)
        return -1;
    memcpy(w->r.hash, rec.hash, sizeof w->r.hash);
    memcpy(w->r.client_id, c->client.id, sizeof w->r.client_id);
    w->r.now_ms = clock_now_ms();
    w->req = req;
    http_request_suspend(req, answer_revoked, w);
    if (store_write_async(api->store, id_token_revoke_fn, &w->r, revoke_written, w) != 0) {
        w->status = ERR_UNAVAILABLE;
        http_request_resume(req);
    }
    return 0;
}

/* ---- GET /api/v1/me/token ---- */

static int get_me_token(struct http_request *req, void *ctx)
{
    struct oauth_api *api = ctx;
    struct id_principal p;
    int ok = id_principal_require(req, api->store, &p);
    if (ok <= 0)
        return ok;
    json_t *o =
        json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "kind", id_principal_kind_name(p.kind),
                  "client_id", p.client_id, "scope", p.scope_text, "aud", p.audience, "exp",
                  (json_int_t)(p.expires_ms / 1000), "iat", (json_int_t)(p.issued_ms / 1000));
    if (o != NULL && p.subject_id != NULL)
        json_object_set_new(o, "sub", json_string(p.subject_id));
    if (o != NULL && p.acting_for != NULL)
        json_object_set_new(o, "acting_for", json_string(p.acting_for));
    if (o != NULL && p.org_id != NULL) {
        json_object_set_new(o, "org_id", json_string(p.org_id));
        json_object_set_new(o, "role", json_string(p.role));
    }
    http_set_header(req, "Cache-Control", "no-store");
    http_respond_json(req, 200, o);
    return 0;
}

int oauth_api_register(struct http_router *r, struct oauth_api *api, struct store *s)
{
    api->store = s;
    int rc = http_router_add(r, "POST", "/oauth/token", post_token, api);
    if (rc == 0)
        rc = http_router_add(r, "POST", "/oauth/introspect", post_introspect, api);
    if (rc == 0)
        rc = http_router_add(r, "POST", "/oauth/revoke", post_revoke, api);
    if (rc == 0)
        rc = http_router_add(r, "GET", "/api/v1/me/token", get_me_token, api);
    if (rc == 0)
        rc = oauth_userinfo_register(r, api);
    return rc;
}

/* oauth_grants.c - the two exchanges of POST /oauth/token that act for a person: an
 * authorization code with its PKCE verifier (RFC 6749 4.1.3, RFC 7636 4.5), and a refresh token
 * (RFC 6749 6), rotated on every use. Both redeem in one write (grant.h), then answer with an
 * access token, a refresh token when the grant holds offline_access, an ID token for openid
 * (OIDC Core 3.1.3.3) and the patient in context for launch/patient (SMART App Launch). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "audit/actor.h"
#include "audit/audit.h"
#include "base/clock.h"
#include "base/log.h"
#include "consent/category.h"
#include "identity/grant.h"
#include "identity/id_token.h"
#include "identity/oauth_internal.h"
#include "identity/pkce.h"
#include "identity/token.h"

/* One exchange in flight: the redeeming write, then the answer. */
struct exchange {
    struct oauth_api *api;
    struct http_request *req;
    struct id_grant_lookup found;
    struct id_redeem redeem;
    struct id_claims_scope claims;
    struct id_person person; /* read before the write when the ID token carries person claims */
    int has_person;
    struct audit_event audit; /* the record of those claims, appended by the redeeming write */
    int launch_patient;       /* the grant holds launch/patient: name the patient in the answer */
    int status;               /* of the write */
};

/* Who decided that the app may have the person claims: the person, on the approval page. */
#define RULE_SELF_APPROVED "rule:self-approved"

static int64_t access_ttl_s(const struct oauth_api *api)
{
    return api->token_ttl_s > 0 ? api->token_ttl_s : ID_TOKEN_TTL_DEFAULT_S;
}

static void exchange_written(int status, const struct err *e, void *ctx)
{
    struct exchange *x = ctx;
    x->status = status;
    oauth_write_failed_log(status, e, "token exchange");
    http_request_resume(x->req);
}

/* The ID token of a successful exchange, or NULL (the answer is then set). */
static char *make_id_token(struct http_request *req, struct exchange *x)
{
    const struct id_grant *g = &x->found.grant;
    struct err e = {0};
    char *jws =
        id_token_make_id_token(g, x->has_person ? &x->person : NULL, &x->claims, x->api->issuer,
                               !x->redeem.refresh, x->redeem.now_ms, access_ttl_s(x->api), &e);
    if (jws == NULL) {
        log_error("ID token not made: %s", e.msg);
        oauth_error(req, 500, "server_error", "the ID token could not be made");
    }
    return jws;
}

/* When the ID token will carry person claims (profile, fhirUser), reads the person now and
 * prepares the audit record the redeeming write appends: the app (a client acting on the
 * person's behalf) reads the person's profile, as the person approved on the approval page.
 * Returns 1, or 0 with the answer set. */
static int prepare_person_claims(struct http_request *req, struct exchange *x)
{
    const struct id_grant *g = &x->found.grant;
    if (!x->claims.openid || !(x->claims.profile || x->claims.fhiruser))
        return 1;
    struct err e = {0};
    if (id_person_get(x->api->store, g->person_id, &x->person, req->arena, &e) != 0) {
        oauth_error(req, 503, "temporarily_unavailable", "the person could not be read");
        return 0;
    }
    x->has_person = 1;
    struct audit_event *ev = &x->audit;
    *ev = (struct audit_event){0};
    audit_event_from_request(req, ev);
    ev->actor_kind = AUDIT_ACTOR_CLIENT;
    ev->actor_id = g->client_id;
    ev->client_id = g->client_id;
    ev->on_behalf_of = g->person_id;
    ev->subject = g->person_id; /* the claims are about who signed in, also acting for another */
    ev->action = "read";
    ev->resource_type = "Patient";
    ev->resource_id = g->person_id;
    ev->category = consent_category_name(consent_category_of("Patient", NULL, 0));
    ev->decision = AUDIT_PERMIT;
    ev->decided_by = RULE_SELF_APPROVED;
    ev->reason = arena_printf(req->arena, "ID token claims of grant %s", g->id);
    x->redeem.audit = ev;
    return 1;
}

static int answer_exchange(struct http_request *req, void *ctx)
{
    struct exchange *x = ctx;
    struct id_redeem *r = &x->redeem;
    if (x->status != 0) {
        http_set_header(req, "Retry-After", "1");
        oauth_error(req, 503, "temporarily_unavailable", "the tokens could not be stored");
        return 0;
    }
    const char *what = r->refresh ? "the refresh token" : "the authorization code";
    switch (r->result) {
    case ID_REDEEM_OK:
        break;
    case ID_REDEEM_REUSED:
        log_warn("%s of grant %s was used twice: the grant is revoked", what, x->found.grant.id);
        oauth_error(req, 400, "invalid_grant",
                    r->refresh ? "the refresh token was already used; the grant is revoked"
                               : "the code was already used; the grant is revoked");
        return 0;
    case ID_REDEEM_REVOKED:
        oauth_error(req, 400, "invalid_grant", "the grant was revoked");
        return 0;
    case ID_REDEEM_NO_LONGER_HELD:
        oauth_error(req, 400, "invalid_grant",
                    "the family link or practitioner role behind the grant has ended");
        return 0;
    }
    char *id_token = NULL;
    if (x->claims.openid && (id_token = make_id_token(req, x)) == NULL)
        return 0;
    json_t *o =
        json_pack("{s:s, s:s, s:I, s:s}", "access_token", r->access_token, "token_type", "Bearer",
                  "expires_in", (json_int_t)r->access_ttl_s, "scope", r->access_scope);
    if (o != NULL && r->refresh_token[0] != '\0')
        json_object_set_new(o, "refresh_token", json_string(r->refresh_token));
    if (o != NULL && id_token != NULL)
        json_object_set_new(o, "id_token", json_string(id_token));
    if (o != NULL && x->launch_patient) {
        const struct id_grant *g = &x->found.grant;
        json_object_set_new(o, "patient",
                            json_string(g->acting_for != NULL ? g->acting_for : g->person_id));
    }
    free(id_token);
    oauth_no_store(req);
    http_respond_json(req, 200, o);
    return 0;
}

/* Reads what the grant's scope releases and whether a refresh token goes with it. Returns 1, 0
 * with the answer set, or -1 (out of memory). */
static int read_grant_scope(struct http_request *req, struct exchange *x,
                            const struct id_client *client)
{
    struct id_scope_set *set = arena_alloc(req->arena, sizeof *set);
    if (set == NULL)
        return -1;
    struct err e = {0};
    if (id_scope_parse(x->found.grant.scope, set, &e) != 0 ||
        id_claims_scope_of(x->found.grant.scope, &x->claims, &e) != 0) {
        oauth_error(req, 500, "server_error", "a stored grant's scope does not parse");
        return 0;
    }
    x->launch_patient = id_scope_find(set, ID_SCOPE_LAUNCH_PATIENT, NULL) != NULL;
    x->redeem.issue_refresh = (client->grant_types & ID_GRANT_REFRESH_TOKEN) &&
                              (id_scope_find(set, ID_SCOPE_OFFLINE_ACCESS, NULL) != NULL ||
                               id_scope_find(set, ID_SCOPE_ONLINE_ACCESS, NULL) != NULL);
    return 1;
}

/* Starts the redeeming write. */
static int redeem(struct http_request *req, struct exchange *x)
{
    struct err e = {0};
    x->redeem.grant = &x->found.grant;
    x->redeem.now_ms = clock_now_ms();
    x->redeem.access_ttl_s = access_ttl_s(x->api);
    if (id_redeem_prepare(&x->redeem, &e) != 0) {
        log_error("token not made: %s", e.msg);
        oauth_error(req, 500, "server_error", "the token could not be made");
        return 0;
    }
    if (!prepare_person_claims(req, x))
        return 0;
    x->req = req;
    http_request_suspend(req, answer_exchange, x);
    if (store_write_async(x->api->store, id_redeem_fn, &x->redeem, exchange_written, x) != 0) {
        x->status = ERR_UNAVAILABLE;
        http_request_resume(req);
    }
    return 0;
}

/* Looks the code or refresh token up and checks what can be checked before the write: known,
 * issued to this client, not expired. Returns the exchange, or NULL with *status 0 (answer set)
 * or -1. */
static struct exchange *begin_exchange(struct http_request *req, struct oauth_api *api,
                                       struct oauth_call *c, int refresh, const char *text,
                                       int *status)
{
    *status = -1;
    struct exchange *x = arena_zalloc(req->arena, sizeof *x);
    if (x == NULL)
        return NULL;
    *status = 0;
    x->api = api;
    x->redeem.refresh = refresh;
    struct err e = {0};
    int rc = id_grant_lookup(api->store, refresh, text, &x->found, req->arena, &e);
    if (rc == ERR_NOMEM) {
        *status = -1;
        return NULL;
    }
    if (rc == ERR_NOTFOUND) {
        oauth_error(req, 400, "invalid_grant",
                    refresh ? "unknown refresh token" : "unknown authorization code");
        return NULL;
    }
    if (rc != 0) {
        oauth_error(req, 503, "temporarily_unavailable", "the grant store did not answer");
        return NULL;
    }
    if (strcmp(x->found.grant.client_id, c->client.id) != 0) {
        oauth_error(req, 400, "invalid_grant",
                    refresh ? "the refresh token is another client's"
                            : "the code was issued to another client");
        return NULL;
    }
    if (x->found.used_ms == 0 && clock_now_ms() >= x->found.expires_ms) {
        oauth_error(req, 400, "invalid_grant",
                    refresh ? "the refresh token expired" : "the authorization code expired");
        return NULL;
    }
    id_token_hash(text, strlen(text), x->redeem.hash);
    return x;
}

int oauth_token_by_code(struct http_request *req, struct oauth_api *api, struct oauth_call *c)
{
    if (!(c->client.grant_types & ID_GRANT_AUTHORIZATION_CODE)) {
        oauth_error(req, 400, "unauthorized_client",
                    "the client is not registered for the authorization_code grant");
        return 0;
    }
    const char *code = http_form_get(&c->form, "code");
    const char *redirect_uri = http_form_get(&c->form, "redirect_uri");
    const char *verifier = http_form_get(&c->form, "code_verifier");
    if (code == NULL || redirect_uri == NULL) {
        oauth_error(req, 400, "invalid_request", "code and redirect_uri are required");
        return 0;
    }
    if (verifier == NULL || !id_pkce_verifier_valid(verifier)) {
        oauth_error(req, 400, "invalid_request",
                    "code_verifier is required: 43 to 128 characters of A-Z a-z 0-9 - . _ ~");
        return 0;
    }
    int status = 0;
    struct exchange *x = begin_exchange(req, api, c, 0, code, &status);
    if (x == NULL)
        return status;
    if (strcmp(redirect_uri, x->found.redirect_uri) != 0) {
        oauth_error(req, 400, "invalid_grant",
                    "redirect_uri differs from the one of the authorization request");
        return 0;
    }
    if (id_pkce_check_s256(verifier, x->found.challenge) != 0) { /* 0: the proof holds */
        oauth_error(req, 400, "invalid_grant", "the code_verifier does not match the challenge");
        return 0;
    }
    int ok = read_grant_scope(req, x, &c->client);
    if (ok <= 0)
        return ok;
    x->redeem.access_scope = x->found.grant.scope;
    return redeem(req, x);
}

/* The scope of the refreshed access token: the grant's, or the narrower one asked for
 * (RFC 6749 6: no scope beyond the original grant). NULL with the answer set; *fail -1 on OOM. */
static const char *refreshed_scope(struct http_request *req, const struct exchange *x,
                                   const char *asked, int *fail)
{
    if (asked == NULL)
        return x->found.grant.scope;
    struct id_scope_set *want = arena_alloc(req->arena, sizeof *want);
    struct id_scope_set *granted = arena_alloc(req->arena, sizeof *granted);
    char *text = arena_alloc(req->arena, OAUTH_SCOPE_TEXT_BUF);
    if (want == NULL || granted == NULL || text == NULL) {
        *fail = -1;
        return NULL;
    }
    struct err e = {0};
    if (id_scope_parse(asked, want, &e) != 0) {
        oauth_error(req, 400, "invalid_scope", e.msg);
        return NULL;
    }
    if (id_scope_parse(x->found.grant.scope, granted, &e) != 0 ||
        !id_scope_subset(want, granted, NULL)) {
        oauth_error(req, 400, "invalid_scope", "the scope asked for is beyond the grant");
        return NULL;
    }
    if (id_scope_format(want, ID_SCOPE_FORM_KEEP_V1, text, OAUTH_SCOPE_TEXT_BUF) != 0 ||
        text[0] == '\0') {
        oauth_error(req, 400, "invalid_scope", "the scope is too long");
        return NULL;
    }
    return text;
}

int oauth_token_by_refresh(struct http_request *req, struct oauth_api *api, struct oauth_call *c)
{
    if (!(c->client.grant_types & ID_GRANT_REFRESH_TOKEN)) {
        oauth_error(req, 400, "unauthorized_client",
                    "the client is not registered for the refresh_token grant");
        return 0;
    }
    const char *token = http_form_get(&c->form, "refresh_token");
    if (token == NULL) {
        oauth_error(req, 400, "invalid_request", "refresh_token is required");
        return 0;
    }
    int status = 0;
    struct exchange *x = begin_exchange(req, api, c, 1, token, &status);
    if (x == NULL)
        return status;
    int ok = read_grant_scope(req, x, &c->client);
    if (ok <= 0)
        return ok;
    int fail = 0;
    x->redeem.access_scope = refreshed_scope(req, x, http_form_get(&c->form, "scope"), &fail);
    if (x->redeem.access_scope == NULL)
        return fail;
    x->redeem.issue_refresh = 1; /* rotation: every refresh gives a new refresh token */
    return redeem(req, x);
}

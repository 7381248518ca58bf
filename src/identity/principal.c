/* principal.c - the authentication step of every protected request: the bearer token of the
 * Authorization header, looked up by hash, becomes a struct id_principal; 401s are built here. */
#include "identity/principal.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/clock.h"
#include "base/log.h"
#include "consent/index.h"
#include "http/problem.h"
#include "identity/scope_cache.h"
#include "identity/token.h"

/* RFC 6750 section 2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" */
static int b64token_valid(const char *t, size_t *len)
{
    size_t n = 0;
    while ((t[n] >= 'a' && t[n] <= 'z') || (t[n] >= 'A' && t[n] <= 'Z') ||
           (t[n] >= '0' && t[n] <= '9') || t[n] == '-' || t[n] == '.' || t[n] == '_' ||
           t[n] == '~' || t[n] == '+' || t[n] == '/')
        n++;
    if (n == 0)
        return 0;
    while (t[n] == '=')
        n++;
    *len = n;
    return t[n] == '\0';
}

/* Set once before serving, read-only afterwards. */
static struct {
    int operator_enabled;
    unsigned char operator_hash[crypto_generichash_BYTES];
    char aud_issuer[512];
    char aud_fhir[512];
} settings;

int id_principal_configure(const char *operator_token, const char *issuer, struct err *e)
{
    memset(&settings, 0, sizeof settings);
    if (operator_token != NULL && operator_token[0] != '\0') {
        settings.operator_enabled = 1;
        crypto_generichash(settings.operator_hash, sizeof settings.operator_hash,
                           (const unsigned char *)operator_token, strlen(operator_token), NULL, 0);
    }
    if (issuer != NULL && issuer[0] != '\0') {
        int n1 = snprintf(settings.aud_issuer, sizeof settings.aud_issuer, "%s", issuer);
        int n2 = snprintf(settings.aud_fhir, sizeof settings.aud_fhir, "%s/fhir", issuer);
        if (n1 < 0 || n2 < 0 || (size_t)n2 >= sizeof settings.aud_fhir) {
            memset(&settings, 0, sizeof settings);
            return err_set(e, ERR_INVALID, "issuer: too long");
        }
    }
    return 0;
}

void id_principal_release(void)
{
    sodium_memzero(&settings, sizeof settings);
    id_scope_cache_clear();
}

/* Is this bearer token the operator's? Compares BLAKE2b hashes in constant time. */
static int is_operator_token(const char *token, size_t len)
{
    if (!settings.operator_enabled)
        return 0;
    unsigned char h[crypto_generichash_BYTES];
    crypto_generichash(h, sizeof h, (const unsigned char *)token, len, NULL, 0);
    return sodium_memcmp(h, settings.operator_hash, sizeof h) == 0;
}

static int audience_accepted(const char *aud)
{
    return aud != NULL &&
           (strcmp(aud, ID_TOKEN_AUD_DEFAULT) == 0 ||
            (settings.aud_issuer[0] != '\0' &&
             (strcmp(aud, settings.aud_issuer) == 0 || strcmp(aud, settings.aud_fhir) == 0)));
}

const char *id_principal_kind_name(enum id_principal_kind k)
{
    switch (k) {
    case ID_PRINCIPAL_PERSON:
        return "person";
    case ID_PRINCIPAL_DELEGATE:
        return "delegate";
    case ID_PRINCIPAL_PRACTITIONER:
        return "practitioner";
    case ID_PRINCIPAL_OPERATOR:
        return "operator";
    case ID_PRINCIPAL_DEVICE:
        return "device";
    case ID_PRINCIPAL_CLIENT:
        break;
    }
    return "client";
}

int id_principal_from_request(struct http_request *req, struct store *s, struct id_principal *out,
                              struct err *e)
{
    memset(out, 0, sizeof *out);
    const char *auth = http_header(req, "Authorization");
    if (auth == NULL || strncasecmp(auth, "Bearer", 6) != 0 || (auth[6] != ' ' && auth[6] != '\0'))
        return err_set(e, ERR_NOTFOUND, "no bearer credentials");
    const char *token = auth + 6;
    while (*token == ' ')
        token++;
    size_t len = 0;
    if (!b64token_valid(token, &len) || len > ID_TOKEN_IN_MAX)
        return err_set(e, ERR_INVALID, "the bearer token is malformed");
    if (is_operator_token(token, len)) {
        out->kind = ID_PRINCIPAL_OPERATOR;
        out->scope_text = "";
        out->audience = ID_TOKEN_AUD_DEFAULT;
        out->scope = id_scope_set_of("", req->arena, e);
        return out->scope != NULL ? 0 : ERR_NOMEM;
    }
    struct id_token_record rec;
    int rc = id_token_lookup(s, token, len, clock_now_ms(), &rec, req->arena, e);
    if (rc == ERR_NOTFOUND) { /* keep the reason (unknown, expired, revoked) for the log */
        if (e != NULL)
            e->code = ERR_INVALID;
        return ERR_INVALID;
    }
    if (rc != 0)
        return rc;
    if (!audience_accepted(rec.audience))
        return err_set(e, ERR_INVALID, "the token is meant for another audience");
    /* several processes may share the store: whatever consent another one changed before this
     * request arrived binds this request too (store-pg.md, "Several processes") */
    struct consent_index *ix = consent_index_global();
    if (ix != NULL && (rc = consent_index_sync(ix, s, e)) != 0)
        return rc == ERR_INVALID || rc == ERR_NOTFOUND ? ERR_IO : rc; /* 503, not 401 */
    if ((out->scope = id_scope_set_of(rec.scope, req->arena, e)) == NULL)
        return e != NULL && e->code == ERR_NOMEM
                   ? ERR_NOMEM
                   : err_set(e, ERR_INTERNAL, "a stored token scope does not parse");
    if (rec.subject_id == NULL)
        out->kind = ID_PRINCIPAL_CLIENT;
    else if (rec.org_id != NULL)
        out->kind = ID_PRINCIPAL_PRACTITIONER;
    else if (rec.acting_for != NULL)
        out->kind = ID_PRINCIPAL_DELEGATE;
    else
        out->kind = ID_PRINCIPAL_PERSON;
    memcpy(out->client_id, rec.client_id, sizeof out->client_id);
    out->subject_id = rec.subject_id;
    out->acting_for = rec.acting_for;
    out->org_id = rec.org_id;
    out->role = rec.role;
    out->grant_id = rec.grant_id;
    out->scope_text = rec.scope;
    out->audience = rec.audience;
    out->issued_ms = rec.issued_ms;
    out->expires_ms = rec.expires_ms;
    return 0;
}

int id_principal_require(struct http_request *req, struct store *s, struct id_principal *out)
{
    struct err e = {0};
    int rc = id_principal_from_request(req, s, out, &e);
    switch (rc) {
    case 0:
        return 1;
    case ERR_NOTFOUND:
        http_set_header(req, "WWW-Authenticate", "Bearer realm=\"cityos\"");
        http_problem(req, "unauthorized", "a bearer access token is required");
        return 0;
    case ERR_INVALID:
        log_debug("bearer token refused: %s", e.msg);
        http_set_header(req, "WWW-Authenticate",
                        "Bearer realm=\"cityos\", error=\"invalid_token\", "
                        "error_description=\"the access token is invalid, expired or revoked\"");
        http_problem(req, "unauthorized", "the access token is invalid, expired or revoked");
        return 0;
    case ERR_NOMEM:
        return -1;
    default:
        http_problem(req, "unavailable", "the token store did not answer");
        return 0;
    }
}

int id_principal_is_admin(const struct id_principal *p)
{
    if (p->kind == ID_PRINCIPAL_OPERATOR)
        return 1;
    return p->kind == ID_PRINCIPAL_PRACTITIONER && p->role != NULL &&
           strcmp(p->role, "city_administrator") == 0 && p->scope != NULL &&
           id_scope_find(p->scope, ID_SCOPE_OTHER, ID_SCOPE_ADMIN) != NULL;
}

int id_principal_require_admin(struct http_request *req, struct store *s, struct id_principal *out)
{
    int ok = id_principal_require(req, s, out);
    if (ok <= 0)
        return ok;
    if (!id_principal_is_admin(out)) {
        http_problem(req, "forbidden", "this needs a city administrator or the operator");
        return 0;
    }
    return 1;
}

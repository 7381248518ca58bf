/* principal.c - the authentication step of every protected request: the bearer token of the
 * Authorization header, looked up by hash, becomes a struct id_principal; 401s are built here. */
#include "identity/principal.h"

#include <string.h>
#include <strings.h>

#include "base/clock.h"
#include "base/log.h"
#include "http/problem.h"
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

const char *id_principal_kind_name(enum id_principal_kind k)
{
    return k == ID_PRINCIPAL_PERSON ? "person" : "client";
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
    struct id_token_record rec;
    int rc = id_token_lookup(s, token, len, clock_now_ms(), &rec, req->arena, e);
    if (rc == ERR_NOTFOUND) { /* keep the reason (unknown, expired, revoked) for the log */
        if (e != NULL)
            e->code = ERR_INVALID;
        return ERR_INVALID;
    }
    if (rc != 0)
        return rc;
    out->scope = arena_zalloc(req->arena, sizeof *out->scope);
    if (out->scope == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    if (id_scope_parse(rec.scope, out->scope, e) != 0)
        return err_set(e, ERR_INTERNAL, "a stored token scope does not parse");
    out->kind = rec.subject_id != NULL ? ID_PRINCIPAL_PERSON : ID_PRINCIPAL_CLIENT;
    memcpy(out->client_id, rec.client_id, sizeof out->client_id);
    out->subject_id = rec.subject_id;
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

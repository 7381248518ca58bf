/* oauth_api.h - the OAuth 2.0 / OpenID Connect endpoints: POST /oauth/token (authorization
 * code with PKCE, refresh token with rotation, client credentials), POST /oauth/introspect
 * (RFC 7662), POST /oauth/revoke (RFC 7009), GET|POST /oauth/userinfo, GET /api/v1/me/token. */
#ifndef COS_ID_OAUTH_API_H
#define COS_ID_OAUTH_API_H

#include <stdint.h>

#include "http/router.h"
#include "store/store.h"

/* The registered scope that lets a confidential client (a resource server) introspect tokens
 * issued to other clients; without it a client may introspect only its own tokens. */
#define ID_SCOPE_INTROSPECT "cityos.introspect"

struct consent_index;

struct oauth_api {
    struct store *store;
    int64_t token_ttl_s; /* access token lifetime; 0 picks ID_TOKEN_TTL_DEFAULT_S */
    const char *issuer;  /* the OpenID issuer (ID tokens' iss, fhirUser URLs) */
    /* the access decisions' index (consent_index_global() in `cityos serve`), or NULL: userinfo
     * then decides by the built-in rule alone (a person reads their own profile: rule:self) */
    const struct consent_index *consent;
};

/* Registers the routes. api must outlive the router; set api->token_ttl_s and api->issuer
 * before. Returns 0 or a negative ERR_*. */
int oauth_api_register(struct http_router *r, struct oauth_api *api, struct store *s);

#endif

/* oauth_api.h - the OAuth 2.0 endpoints: POST /oauth/token (client credentials), POST
 * /oauth/introspect (RFC 7662), POST /oauth/revoke (RFC 7009), and GET /api/v1/me/token. */
#ifndef COS_ID_OAUTH_API_H
#define COS_ID_OAUTH_API_H

#include <stdint.h>

#include "http/router.h"
#include "store/store.h"

struct oauth_api {
    struct store *store;
    int64_t token_ttl_s; /* access token lifetime; 0 picks ID_TOKEN_TTL_DEFAULT_S */
};

/* Registers the routes. api must outlive the router; set api->token_ttl_s before (or leave it
 * 0). Returns 0 or a negative ERR_*. */
int oauth_api_register(struct http_router *r, struct oauth_api *api, struct store *s);

#endif

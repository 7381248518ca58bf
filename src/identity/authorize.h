/* authorize.h - the OAuth 2.0 authorization endpoint (RFC 6749 4.1.1, OIDC Core 3.1.2) with
 * PKCE S256 (RFC 7636), exact redirect URIs, a required state, the issuer in the answer
 * (RFC 9207), and the approval page ("this app asks for ...", Japanese and English) where the
 * signed-in person chooses whom they act for. */
#ifndef COS_ID_AUTHORIZE_H
#define COS_ID_AUTHORIZE_H

#include "http/router.h"
#include "store/store.h"

struct authorize_api {
    struct store *store;
    const char *issuer;
};

/* GET /oauth/authorize (checks the request, sends a browser without a session to /signin and
 * shows the approval page) and POST /oauth/authorize (the page's answer: a code or
 * access_denied, back to the client). api must outlive the router. Returns 0 or -ERR_*. */
int authorize_api_register(struct http_router *r, struct authorize_api *api, struct store *s,
                           const char *issuer);

#endif

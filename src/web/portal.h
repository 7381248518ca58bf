/* portal.h - the citizen portal's routes: GET / (the page), GET /portal/{file} and
 * GET /portal/{dir}/{file} (its embedded modules, styles and images), and
 * GET /portal/config.json (the issuer and the OAuth client the page signs in with). */
#ifndef COS_WEB_PORTAL_H
#define COS_WEB_PORTAL_H

#include "base/arena.h"
#include "base/err.h"
#include "base/ids.h"
#include "http/router.h"
#include "store/store.h"

struct web_portal {
    struct store *store;
    const char *issuer;       /* --issuer, without a trailing slash */
    const char *redirect_uri; /* issuer + "/": where the authorization server sends the code */
};

/* Registers the portal's routes; p must outlive the router and issuer the server. Register it
 * anywhere: its patterns ("/" and under "/portal/") overlap no other module's. Returns 0,
 * ERR_NOMEM, or the router's error. */
int web_portal_register(struct http_router *r, struct web_portal *p, struct store *s,
                        const char *issuer);

/* Releases what web_portal_register allocated. */
void web_portal_release(struct web_portal *p);

/* The portal's OAuth client: the earliest registered public client allowed the
 * authorization-code grant whose redirect URIs include redirect_uri exactly. Writes its id to
 * id_out and its registered scopes (in a) to *scopes. Returns 0, ERR_NOTFOUND, or the store's
 * error. */
int web_portal_client(struct store *s, const char *redirect_uri, struct arena *a,
                      char id_out[IDS_LEN + 1], const char **scopes /* OUT */, struct err *e);

#endif

/* discovery.h - the provider's well-known documents: OpenID Connect Discovery 1.0
 * (/.well-known/openid-configuration), the JWKS, and SMART App Launch v2's smart-configuration. */
#ifndef COS_ID_DISCOVERY_H
#define COS_ID_DISCOVERY_H

#include <stddef.h>

#include "base/err.h"
#include "http/router.h"
#include "identity/keys.h"

#define ID_DISCOVERY_OPENID_PATH "/.well-known/openid-configuration"
#define ID_DISCOVERY_JWKS_PATH   "/.well-known/jwks.json"
#define ID_DISCOVERY_SMART_PATH  "/fhir/.well-known/smart-configuration"

/* The three documents, serialised once: they depend only on the issuer and the keys, which do
 * not change while the server runs. Owned by the caller; release with id_discovery_release(). */
struct id_discovery {
    char *openid; /* malloc'ed JSON text */
    size_t openid_len;
    char *jwks;
    size_t jwks_len;
    char *smart;
    size_t smart_len;
};

/* Builds the documents for issuer (a validated base URL without a trailing slash: the config
 * loader checks it) and the public part of keys. Returns 0, ERR_INVALID (no issuer, no key) or
 * ERR_NOMEM; d is left empty on failure. */
int id_discovery_init(struct id_discovery *d, const char *issuer, const struct id_keys *keys,
                      struct err *e);

/* Routes GET (and so HEAD) on the three paths to the cached documents; d must outlive the
 * router. Returns 0 or what http_router_add() returns. */
int id_discovery_register(struct http_router *r, struct id_discovery *d);

/* Frees the documents. */
void id_discovery_release(struct id_discovery *d);

#endif

/* principal.h - who a request acts as: the bearer access token of the Authorization header
 * (RFC 6750 section 2.1) looked up and turned into one principal that handlers receive. */
#ifndef COS_ID_PRINCIPAL_H
#define COS_ID_PRINCIPAL_H

#include <stdint.h>

#include "base/err.h"
#include "base/ids.h"
#include "http/request.h"
#include "identity/scope.h"
#include "store/store.h"

enum id_principal_kind {
    ID_PRINCIPAL_CLIENT, /* a service client acting for itself (client credentials) */
    ID_PRINCIPAL_PERSON, /* a person, through a client (authorization code; next step) */
};

/* Everything in it lives in the request's arena. */
struct id_principal {
    enum id_principal_kind kind;
    char client_id[IDS_LEN + 1];
    const char *subject_id;     /* the person's regional ID; NULL for ID_PRINCIPAL_CLIENT */
    const char *scope_text;     /* canonical scope text as stored with the token */
    struct id_scope_set *scope; /* the same, parsed (in the arena: the set is about 96 KiB) */
    const char *audience;
    int64_t issued_ms;
    int64_t expires_ms;
};

/* Reads "Authorization: Bearer <token>" (scheme in any case, one or more spaces, a b64token) and
 * fills out from the active access token. Returns 0; ERR_NOTFOUND when the request carries no
 * bearer credentials (no Authorization header, or another scheme); ERR_INVALID when it carries
 * a malformed, unknown, expired or revoked token (e says which, for logs only); ERR_NOMEM; or the
 * store's error. Handlers do not call this: they call id_principal_require(). */
int id_principal_from_request(struct http_request *req, struct store *s, struct id_principal *out,
                              struct err *e);

/* The one call a protected handler makes: id_principal_from_request(), and when it fails the
 * answer is set here: 401 problem+json "unauthorized" with `WWW-Authenticate: Bearer
 * realm="cityos"` for no credentials, adding `error="invalid_token"` for a bad token (RFC 6750
 * section 3); 503 "unavailable" when the store fails. Returns 1 when out is filled (go on),
 * 0 when the response is set (return 0 from the handler), -1 when out of memory (return -1). */
int id_principal_require(struct http_request *req, struct store *s, struct id_principal *out);

/* "client" or "person". */
const char *id_principal_kind_name(enum id_principal_kind k);

#endif

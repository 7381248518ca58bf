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
    ID_PRINCIPAL_CLIENT,       /* a service client acting for itself (client credentials) */
    ID_PRINCIPAL_PERSON,       /* a person acting for themselves, through a client */
    ID_PRINCIPAL_DELEGATE,     /* a person acting for another by a family link or guardianship */
    ID_PRINCIPAL_PRACTITIONER, /* a person acting for an organisation in a role */
    ID_PRINCIPAL_OPERATOR,     /* the bootstrap operator token (--admin-token) */
    ID_PRINCIPAL_DEVICE,       /* a citizen's home device writing readings over MQTT */
};

/* Everything in it lives in the request's arena. */
struct id_principal {
    enum id_principal_kind kind;
    char client_id[IDS_LEN + 1]; /* "" for the operator */
    const char *subject_id; /* the person who acts (PERSON, DELEGATE, PRACTITIONER); DEVICE: the
                             * device id; else NULL */
    const char *acting_for; /* DELEGATE: the person whose data it is; DEVICE: the citizen it is
                             * bound to; else NULL */
    const char *org_id;     /* PRACTITIONER: the organisation; else NULL */
    const char *role;       /* PRACTITIONER: "doctor", "pharmacist", ...; DEVICE: its kind
                             * ("bp-wrist", ...: identity/device.h); else NULL */
    const char *grant_id;   /* the authorization grant behind the token; NULL for none */
    const char *scope_text; /* canonical scope text as stored with the token */
    const struct id_scope_set *scope; /* the same, parsed (shared: identity/scope_cache.h) */
    const char *audience;
    int64_t issued_ms;
    int64_t expires_ms;
};

/* The scope an administrator's token must carry besides the city_administrator role. */
#define ID_SCOPE_ADMIN "cityos.admin"

/* Process-wide settings, called once by `cityos serve` before it serves: the bootstrap operator
 * token (NULL or "" disables it; only its hash is kept) and the issuer, whose URLs (the issuer
 * itself and issuer + "/fhir") are, with ID_TOKEN_AUD_DEFAULT, the audiences this server
 * accepts. A token meant for another audience is refused here. */
int id_principal_configure(const char *operator_token, const char *issuer, struct err *e);
void id_principal_release(void);

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

/* May p administer identities (people, organisations, clients)? The operator, or a
 * practitioner acting in the city_administrator role whose token carries ID_SCOPE_ADMIN. */
int id_principal_is_admin(const struct id_principal *p);

/* id_principal_require(), then id_principal_is_admin(): 403 problem "forbidden" when not.
 * Same returns. */
int id_principal_require_admin(struct http_request *req, struct store *s, struct id_principal *out);

/* "client", "person", "delegate", "practitioner", "operator" or "device". */
const char *id_principal_kind_name(enum id_principal_kind k);

struct id_device;

/* The principal of a device's reading (MQTT ingest, docs/internals/devices.md): kind DEVICE,
 * client_id "", subject_id the device id, acting_for the citizen it is bound to (NULL when
 * unbound), role its kind; no scopes, no grant. Pointers are borrowed from d (keep it alive).
 * Call it only for a device id_device_active() accepts. Defined in identity/device.c. */
void id_principal_for_device(const struct id_device *d, struct id_principal *out);

#endif

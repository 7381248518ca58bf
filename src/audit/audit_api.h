/* audit_api.h - the views of the trail over HTTP: GET /api/v1/me/access-log (a citizen's own
 * trail, or a family member's with the right to see their record) and GET /fhir/AuditEvent (a
 * FHIR R4 search for auditors of the city office). Every read of a trail is itself recorded on
 * that trail before the answer leaves (docs/internals/audit.md, "The views"). */
#ifndef COS_AUDIT_API_H
#define COS_AUDIT_API_H

#include "http/router.h"
#include "store/store.h"

struct audit_api {
    struct store *store;
    const char *issuer; /* the public base URL (fullUrl of FHIR entries); set before register */
};

/* Registers the routes. api must outlive the router. Returns 0 or a negative ERR_*. */
int audit_api_register(struct http_router *r, struct audit_api *api, struct store *s);

#endif

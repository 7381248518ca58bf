/* fhir_api.h - the FHIR R4 REST edge under /fhir (docs/api.md, docs/internals/fhir.md):
 * create, read, vread, update, delete, history and search for the served resource types, each
 * through fhir_access_decide() and on the owner's audit trail. Consent and AuditEvent keep their
 * own read-only routes (consent_api.c, audit_api.c), registered before these. */
#ifndef COS_FHIR_API_H
#define COS_FHIR_API_H

#include "fhir/capability.h"
#include "http/router.h"
#include "store/store.h"

struct fhir_api {
    struct store *store;
    const char *issuer; /* absolute URLs of Location and Bundle links: issuer + "/fhir/..." */
    struct fhir_capability capability;
};

int fhir_api_register(struct http_router *r, struct fhir_api *api, struct store *s,
                      const char *issuer);

#endif

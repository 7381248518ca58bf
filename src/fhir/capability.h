/* capability.h - GET /fhir/metadata, the CapabilityStatement (capability.c). */
#ifndef COS_FHIR_CAPABILITY_H
#define COS_FHIR_CAPABILITY_H

#include <jansson.h>

#include "http/router.h"

struct fhir_capability {
    const char *issuer;
    const char *version;
};

/* The statement for a server at issuer (its FHIR base is issuer + "/fhir"). New reference. */
json_t *fhir_capability_statement(const char *issuer, const char *version);

/* Registers GET /fhir/metadata; before the routes of fhir_api.c. */
int fhir_capability_register(struct http_router *r, struct fhir_capability *cap, const char *issuer,
                             const char *version);

#endif

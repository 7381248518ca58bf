/* everything.h - GET /fhir/Patient/{id}/$everything (everything.c). */
#ifndef COS_FHIR_EVERYTHING_H
#define COS_FHIR_EVERYTHING_H

#include "fhir/fhir_api.h"
#include "http/router.h"

/* Register before the /fhir/{type}/{id}/... patterns. */
int fhir_everything_register(struct http_router *r, struct fhir_api *api);

#endif

/* transaction.h - POST /fhir: batch and transaction Bundles (transaction.c). */
#ifndef COS_FHIR_TRANSACTION_H
#define COS_FHIR_TRANSACTION_H

#include "fhir/fhir_api.h"
#include "http/router.h"

#define FHIR_BUNDLE_ENTRIES_MAX 1000 /* entries of one batch or transaction */

int fhir_transaction_register(struct http_router *r, struct fhir_api *api);

#endif

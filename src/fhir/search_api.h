/* search_api.h - FHIR search under /fhir (search_api.c). */
#ifndef COS_FHIR_SEARCH_API_H
#define COS_FHIR_SEARCH_API_H

#include "fhir/fhir_api.h"
#include "http/router.h"

/* GET /fhir/{type} and POST /fhir/{type}/_search. Register after the routes of one resource. */
int fhir_search_api_register(struct http_router *r, struct fhir_api *api);

struct arena;
struct err;
struct fhir_sql;

/* The store query of a conditional create's condition (If-None-Exist: a search query string
 * on rtype, strict: every parameter must be known), at most 2 rows, into *out (in a).
 * Returns 0, ERR_INVALID (e says why) or ERR_NOMEM. */
int fhir_search_condition_sql(const char *rtype, const char *query, struct arena *a,
                              struct fhir_sql **out, struct err *e);

#endif

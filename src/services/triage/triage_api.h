/* triage_api.h - the triage endpoints (docs/api.md "Triage"): GET /api/v1/triage/questionnaire
 * (anyone signed in), POST /api/v1/me/triage and GET /api/v1/me/triage/{id} (the citizen, or a
 * delegate whose family link gives the right to write / read their clinical record). */
#ifndef COS_TRIAGE_API_H
#define COS_TRIAGE_API_H

#include "http/router.h"
#include "services/triage/triage.h"
#include "store/store.h"

struct triage_api {
    struct store *store;
};

/* Registers the routes and the triage metrics. The tables come from triage_register() (until
 * then the endpoints answer 503). api must outlive the router. Returns 0 or a negative ERR_*. */
int triage_api_register(struct http_router *r, struct triage_api *api, struct store *s);

#endif

/* admin_api.h - the identity admin API, the HTTP twin of `cityos user|org|client add`:
 *   POST /api/v1/admin/people                 a person (201, Location; no GET: see below)
 *   POST /api/v1/admin/people/{id}/roles      a practitioner role in an organisation
 *   POST /api/v1/admin/people/{id}/links      a family link: someone who may act for {id}
 *   POST /api/v1/admin/organisations          GET /api/v1/admin/organisations/{id}
 *   POST /api/v1/admin/clients                GET /api/v1/admin/clients/{id}
 * Every route needs an administrator (id_principal_require_admin: the operator token, or a
 * city_administrator practitioner with scope cityos.admin). There is deliberately no GET of a
 * person: reading a citizen's record will go through the consent decision and the audit trail.
 */
#ifndef COS_ID_ADMIN_API_H
#define COS_ID_ADMIN_API_H

#include "http/router.h"
#include "store/store.h"

struct admin_api {
    struct store *store;
};

/* Registers the routes. api must outlive the router. Returns 0 or a negative ERR_*. */
int admin_api_register(struct http_router *r, struct admin_api *api, struct store *s);

#endif

/* notices_api.h - HTTP API of city notices: POST /api/v1/notices (administrators),
 * GET /api/v1/notices (newest first, keyset-paged) and GET /api/v1/notices/{id} (public). */
#ifndef COS_NOTICES_API_H
#define COS_NOTICES_API_H

#include "http/router.h"
#include "services/notices/notice_json.h"
#include "store/store.h"

struct notices_api {
    struct store *store;
};

/* Registers the routes. Writes need an administrator (id_principal_require_admin: the operator
 * token or a city administrator). api must outlive the router. Returns 0 or a negative ERR_*. */
int notices_api_register(struct http_router *r, struct notices_api *api, struct store *s);

/* Stores one notice directly (for `cityos demo`). Returns 0 or a negative ERR_*; fills id. */
int notices_insert(struct store *s, const struct notice *n, char id[IDS_LEN + 1], struct err *e);

#endif

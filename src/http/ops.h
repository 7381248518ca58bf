/* ops.h - the operator endpoints: GET /health and GET /metrics. */
#ifndef COS_HTTP_OPS_H
#define COS_HTTP_OPS_H

#include <stdatomic.h>
#include <stdint.h>

#include "http/router.h"
#include "http/server.h"
#include "store/store.h"

struct http_ops {
    struct http_router *router;
    _Atomic(struct http_server *) server; /* set once the server has started */
    struct store *store;
    uint64_t started_ns;
};

/* Registers /health and /metrics; ops must outlive the router. Returns 0 or a negative ERR_*. */
int http_ops_register(struct http_router *r, struct http_ops *ops);

#endif

/* router.h - maps (method, path) to a handler. Patterns are literal segments and {name}
 * parameters ("/api/v1/notices/{id}"); each route keeps its own request metrics. */
#ifndef COS_HTTP_ROUTER_H
#define COS_HTTP_ROUTER_H

#include <stdatomic.h>
#include <stdint.h>

#include "base/histogram.h"
#include "http/request.h"

#define HTTP_MAX_ROUTES 256
#define HTTP_MAX_STATUS 600

/* Per-route counters, updated lock-free by the server threads and read by /metrics. */
struct http_route_stats {
    _Atomic uint64_t by_status[HTTP_MAX_STATUS];
    struct histogram latency;
};

struct http_route {
    const char *method;  /* static string */
    const char *pattern; /* static string */
    http_handler handler;
    void *ctx;
    struct http_route_stats stats;
};

struct http_router {
    struct http_route routes[HTTP_MAX_ROUTES];
    size_t nroutes;
    struct http_route_stats unmatched; /* 404, 405 and requests refused before routing */
};

enum http_match { HTTP_MATCHED = 0, HTTP_NO_PATH = 1, HTTP_NO_METHOD = 2 };

struct http_route_match {
    struct http_route *route;
    const char *params[HTTP_MAX_PARAMS]; /* copies in the arena passed to match */
    size_t nparams;
    char allow[96]; /* for HTTP_NO_METHOD: the methods the path accepts, "GET, POST" */
};

/* Prepares an empty router (caller-owned storage; nothing to free). */
void http_router_init(struct http_router *r);

/* Adds a route. method and pattern must be static strings. Returns 0, or ERR_TOOBIG when the
 * table is full, or ERR_INVALID for a malformed pattern. */
int http_router_add(struct http_router *r, const char *method, const char *pattern,
                    http_handler handler, void *ctx);

/* Finds the route for method and path; parameter values are copied into a. HEAD matches GET. */
enum http_match http_router_match(struct http_router *r, const char *method, const char *path,
                                  struct arena *a, struct http_route_match *m /* OUT */);

#endif

/* metrics.h - renders the Prometheus text exposition (version 0.0.4) of cityos's counters:
 * requests by route and status, request latency, in-flight requests, store batches and commits. */
#ifndef COS_HTTP_METRICS_H
#define COS_HTTP_METRICS_H

#include <stdio.h>

#include "http/router.h"
#include "http/server.h"
#include "store/store.h"

/* Writes every metric to out. server and store may be NULL (their metrics are then left out). */
void http_metrics_render(FILE *out, const struct http_router *r, const struct http_server *server,
                         const struct store_metrics *store, double uptime_seconds);

#endif

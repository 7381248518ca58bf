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

/* Another module's metrics (ingest, events ...), appended to every rendering: fn writes its
 * complete families (HELP, TYPE, series) to out. At most 8; register before serving. Returns 0
 * or ERR_TOOBIG. */
typedef void (*http_metrics_fn)(FILE *out, void *ctx);
int http_metrics_add(http_metrics_fn fn, void *ctx);

/* Writes h as the Prometheus histogram name (cumulative _bucket lines, _sum, _count) with the
 * label text labels ("" for none, else `a="b",c="d"`). */
void http_metrics_histogram(FILE *out, const char *name, const char *labels,
                            const struct histogram *h);

#endif

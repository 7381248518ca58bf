/* ops.c - /health (liveness plus a store round trip; 503 while draining) and /metrics. */
#include "http/ops.h"

#include <stdio.h>
#include <stdlib.h>

#include "base/clock.h"
#include "http/metrics.h"
#include "http/problem.h"

static int count_row(const struct store_row *row, void *ctx)
{
    *(int64_t *)ctx = store_row_int(row, 0);
    return 0;
}

static int get_health(struct http_request *req, void *ctx)
{
    struct http_ops *ops = ctx;
    struct http_server *server = atomic_load(&ops->server);
    if (server != NULL && http_server_draining(server)) {
        http_problem(req, "unavailable", "the server is shutting down");
        return 0;
    }
    int64_t one = 0;
    struct err e;
    int rc = store_query(ops->store, "SELECT 1", NULL, 0, count_row, &one, &e);
    if (rc != 0 || one != 1) {
        http_problem(req, "unavailable", "the store does not answer");
        return 0;
    }
    json_t *o = json_pack("{s:s, s:s, s:i}", "status", "ok", "version", CITYOS_VERSION, "schema",
                          store_schema_version(ops->store));
    http_set_header(req, "Cache-Control", "no-store");
    http_respond_json(req, 200, o);
    return 0;
}

static int get_metrics(struct http_request *req, void *ctx)
{
    struct http_ops *ops = ctx;
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    if (out == NULL)
        return -1;
    double uptime = (double)(clock_mono_ns() - ops->started_ns) / 1e9;
    http_metrics_render(out, ops->router, atomic_load(&ops->server), store_metrics(ops->store),
                        uptime);
    fclose(out);
    if (text == NULL || arena_defer(req->arena, free, text) != 0) {
        free(text);
        return -1;
    }
    http_respond(req, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
    return 0;
}

int http_ops_register(struct http_router *r, struct http_ops *ops)
{
    ops->router = r;
    ops->started_ns = clock_mono_ns();
    int rc = http_router_add(r, "GET", "/health", get_health, ops);
    if (rc == 0)
        rc = http_router_add(r, "GET", "/metrics", get_metrics, ops);
    return rc;
}

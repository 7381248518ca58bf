/* metrics.c - Prometheus text exposition. Label values are route patterns and methods from the
 * static route table, never client input, so the series count stays bounded. */
#include "http/metrics.h"

#include <inttypes.h>

#include "base/err.h"

#define SOURCES_MAX 8

static struct {
    http_metrics_fn fn;
    void *ctx;
} sources[SOURCES_MAX];
static _Atomic size_t nsources;

int http_metrics_add(http_metrics_fn fn, void *ctx)
{
    size_t n = atomic_load(&nsources);
    if (n == SOURCES_MAX)
        return ERR_TOOBIG;
    sources[n].fn = fn;
    sources[n].ctx = ctx;
    atomic_store(&nsources, n + 1);
    return 0;
}

void http_metrics_histogram(FILE *out, const char *name, const char *labels,
                            const struct histogram *h)
{
    uint64_t cumulative = 0;
    const char *sep = labels[0] ? "," : "";
    for (size_t i = 0; i <= h->nbounds; i++) {
        cumulative += atomic_load_explicit(&h->counts[i], memory_order_relaxed);
        if (i < h->nbounds)
            fprintf(out, "%s_bucket{%s%sle=\"%g\"} %" PRIu64 "\n", name, labels, sep, h->bounds[i],
                    cumulative);
        else
            fprintf(out, "%s_bucket{%s%sle=\"+Inf\"} %" PRIu64 "\n", name, labels, sep, cumulative);
    }
    const char *open = labels[0] ? "{" : "", *close = labels[0] ? "}" : "";
    fprintf(out, "%s_sum%s%s%s %.6f\n", name, open, labels, close,
            (double)atomic_load_explicit(&h->sum_micro, memory_order_relaxed) / 1e6);
    fprintf(out, "%s_count%s%s%s %" PRIu64 "\n", name, open, labels, close, cumulative);
}

static void render_route_counts(FILE *out, const char *method, const char *route,
                                const struct http_route_stats *s)
{
    for (int status = 100; status < HTTP_MAX_STATUS; status++) {
        uint64_t n = atomic_load_explicit(&s->by_status[status], memory_order_relaxed);
        if (n > 0)
            fprintf(out,
                    "cityos_http_requests_total{method=\"%s\",route=\"%s\",status=\"%d\"} %" PRIu64
                    "\n",
                    method, route, status, n);
    }
}

void http_metrics_render(FILE *out, const struct http_router *r, const struct http_server *server,
                         const struct store_metrics *store, double uptime_seconds)
{
    char labels[256];
    fprintf(out, "# HELP cityos_build_info Build information.\n# TYPE cityos_build_info gauge\n");
    fprintf(out, "cityos_build_info{version=\"%s\"} 1\n", CITYOS_VERSION);
    fprintf(out,
            "# HELP cityos_uptime_seconds Seconds since the server started.\n"
            "# TYPE cityos_uptime_seconds gauge\ncityos_uptime_seconds %.3f\n",
            uptime_seconds);

    fprintf(out, "# HELP cityos_http_requests_total HTTP requests answered, by route and status.\n"
                 "# TYPE cityos_http_requests_total counter\n");
    for (size_t i = 0; i < r->nroutes; i++)
        render_route_counts(out, r->routes[i].method, r->routes[i].pattern, &r->routes[i].stats);
    render_route_counts(out, "any", "(unmatched)", &r->unmatched);

    fprintf(out, "# HELP cityos_http_request_duration_seconds Time from the first byte of a "
                 "request to its completion.\n"
                 "# TYPE cityos_http_request_duration_seconds histogram\n");
    for (size_t i = 0; i < r->nroutes; i++) {
        const struct http_route *rt = &r->routes[i];
        if (atomic_load(&rt->stats.latency.count) == 0)
            continue;
        snprintf(labels, sizeof labels, "method=\"%s\",route=\"%s\"", rt->method, rt->pattern);
        http_metrics_histogram(out, "cityos_http_request_duration_seconds", labels,
                               &rt->stats.latency);
    }
    if (atomic_load(&r->unmatched.latency.count) > 0)
        http_metrics_histogram(out, "cityos_http_request_duration_seconds",
                               "method=\"any\",route=\"(unmatched)\"", &r->unmatched.latency);

    if (server != NULL)
        fprintf(out,
                "# HELP cityos_http_inflight_requests Requests received and not yet completed.\n"
                "# TYPE cityos_http_inflight_requests gauge\ncityos_http_inflight_requests "
                "%" PRIu64 "\n",
                http_server_inflight(server));
    if (store != NULL) {
        fprintf(out, "# HELP cityos_store_batch_size Writes committed per transaction.\n"
                     "# TYPE cityos_store_batch_size histogram\n");
        http_metrics_histogram(out, "cityos_store_batch_size", "", &store->batch_size);
        fprintf(out, "# HELP cityos_store_commit_seconds Time to commit and sync one batch.\n"
                     "# TYPE cityos_store_commit_seconds histogram\n");
        http_metrics_histogram(out, "cityos_store_commit_seconds", "", &store->commit_seconds);
        fprintf(out,
                "# HELP cityos_store_writes_total Writes by outcome.\n"
                "# TYPE cityos_store_writes_total counter\n"
                "cityos_store_writes_total{outcome=\"ok\"} %" PRIu64 "\n"
                "cityos_store_writes_total{outcome=\"failed\"} %" PRIu64 "\n",
                atomic_load(&store->writes_ok), atomic_load(&store->writes_failed));
    }
    size_t n = atomic_load(&nsources);
    for (size_t i = 0; i < n; i++)
        sources[i].fn(out, sources[i].ctx);
}

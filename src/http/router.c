/* router.c - segment-by-segment matching of request paths against registered patterns.
 * Linear over the table: with tens of routes this beats a trie and stays obvious. */
#include "http/router.h"

#include <stdio.h>
#include <string.h>

#include "base/err.h"

static void stats_init(struct http_route_stats *s)
{
    for (size_t i = 0; i < HTTP_MAX_STATUS; i++)
        atomic_init(&s->by_status[i], 0);
    histogram_init(&s->latency, histogram_latency_bounds, histogram_latency_nbounds);
}

void http_router_init(struct http_router *r)
{
    r->nroutes = 0;
    stats_init(&r->unmatched);
}

int http_router_add(struct http_router *r, const char *method, const char *pattern,
                    http_handler handler, void *ctx)
{
    if (r->nroutes >= HTTP_MAX_ROUTES)
        return ERR_TOOBIG;
    if (pattern[0] != '/')
        return ERR_INVALID;
    size_t params = 0;
    for (const char *p = pattern; *p; p++)
        params += *p == '{';
    if (params > HTTP_MAX_PARAMS)
        return ERR_INVALID;
    struct http_route *rt = &r->routes[r->nroutes++];
    rt->method = method;
    rt->pattern = pattern;
    rt->handler = handler;
    rt->ctx = ctx;
    stats_init(&rt->stats);
    return 0;
}

/* Does path match pattern? Fills params (pointers into path plus lengths) when it does. */
static int match_path(const char *pattern, const char *path, const char **starts, size_t *lens,
                      size_t *nparams)
{
    const char *p = pattern, *s = path;
    size_t n = 0;
    while (*p != '\0' && *s != '\0') {
        if (*p != '/' || *s != '/')
            return 0;
        p++;
        s++;
        const char *pend = strchr(p, '/'), *send = strchr(s, '/');
        size_t plen = pend ? (size_t)(pend - p) : strlen(p);
        size_t slen = send ? (size_t)(send - s) : strlen(s);
        if (plen >= 2 && p[0] == '{' && p[plen - 1] == '}') {
            if (slen == 0 || n >= HTTP_MAX_PARAMS)
                return 0;
            starts[n] = s;
            lens[n] = slen;
            n++;
        } else if (plen != slen || memcmp(p, s, plen) != 0) {
            return 0;
        }
        p += plen;
        s += slen;
    }
    if (*p != '\0' || *s != '\0')
        return 0;
    *nparams = n;
    return 1;
}

/* Adds method to the comma-separated Allow list unless it is there already. */
static void append_allow(char *allow, size_t size, const char *method)
{
    size_t used = strlen(allow);
    if (strstr(allow, method) != NULL)
        return;
    snprintf(allow + used, size - used, "%s%s", used > 0 ? ", " : "", method);
}

static int method_matches(const char *route_method, const char *method)
{
    return strcmp(route_method, method) == 0 ||
           (strcmp(method, "HEAD") == 0 && strcmp(route_method, "GET") == 0);
}

enum http_match http_router_match(struct http_router *r, const char *method, const char *path,
                                  struct arena *a, struct http_route_match *m)
{
    const char *starts[HTTP_MAX_PARAMS];
    size_t lens[HTTP_MAX_PARAMS], n = 0;
    int path_seen = 0;
    memset(m, 0, sizeof *m);
    for (size_t i = 0; i < r->nroutes; i++) {
        struct http_route *rt = &r->routes[i];
        if (!match_path(rt->pattern, path, starts, lens, &n))
            continue;
        if (!method_matches(rt->method, method)) {
            append_allow(m->allow, sizeof m->allow, rt->method);
            if (strcmp(rt->method, "GET") == 0)
                append_allow(m->allow, sizeof m->allow, "HEAD");
            path_seen = 1;
            continue;
        }
        for (size_t k = 0; k < n; k++) {
            m->params[k] = arena_strndup(a, starts[k], lens[k]);
            if (m->params[k] == NULL)
                return HTTP_NO_PATH;
        }
        m->nparams = n;
        m->route = rt;
        return HTTP_MATCHED;
    }
    return path_seen ? HTTP_NO_METHOD : HTTP_NO_PATH;
}

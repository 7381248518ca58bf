/* problem.c - the table of problem types and the one builder of problem+json bodies. */
#include "http/problem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonx.h"
#include "base/log.h"

struct problem_type {
    const char *slug;
    int status;
    const char *title;
};

static const struct problem_type problem_types[] = {
    {"malformed-json", 400, "The body is not valid JSON"},
    {"invalid-parameter", 400, "A query or path parameter is invalid"},
    {"unauthorized", 401, "Authentication is required"},
    {"forbidden", 403, "Not allowed"},
    {"not-found", 404, "Not found"},
    {"method-not-allowed", 405, "Method not allowed on this resource"},
    {"request-timeout", 408, "The request took too long to arrive"},
    {"conflict", 409, "The request conflicts with the current state"},
    {"body-too-large", 413, "The request body is too large"},
    {"unsupported-media-type", 415, "Unsupported content type"},
    {"validation-failed", 422, "The body is not acceptable"},
    {"header-too-large", 431, "The request headers are too large"},
    {"internal-error", 500, "Internal server error"},
    {"unavailable", 503, "The service is unavailable"},
};

static const struct problem_type *find_type(const char *slug)
{
    for (size_t i = 0; i < sizeof problem_types / sizeof problem_types[0]; i++)
        if (strcmp(problem_types[i].slug, slug) == 0)
            return &problem_types[i];
    return NULL;
}

int http_problem_status(const char *slug)
{
    const struct problem_type *t = find_type(slug);
    return t ? t->status : 0;
}

static json_t *problem_json(const struct problem_type *t, const char *detail, const char *instance,
                            const char *request_id)
{
    char type[64];
    snprintf(type, sizeof type, "/problems/%s", t->slug);
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    json_object_set_new(o, "type", json_string(type));
    json_object_set_new(o, "title", json_string(t->title));
    json_object_set_new(o, "status", json_integer(t->status));
    if (detail != NULL && detail[0] != '\0') {
        json_t *d = json_string(detail);
        /* a detail quoting client input may carry invalid UTF-8: say so plainly instead */
        json_object_set_new(o, "detail", d ? d : json_string("(detail not valid UTF-8)"));
    }
    if (instance != NULL) {
        json_t *i = json_string(instance);
        if (i != NULL)
            json_object_set_new(o, "instance", i);
    }
    if (request_id != NULL)
        json_object_set_new(o, "requestId", json_string(request_id));
    return o;
}

char *http_problem_body(const char *slug, const char *detail, const char *instance,
                        const char *request_id)
{
    const struct problem_type *t = find_type(slug);
    if (t == NULL)
        t = find_type("internal-error");
    json_t *o = problem_json(t, detail, instance, request_id);
    if (o == NULL)
        return NULL;
    char *s = jsonx_dumps(o, NULL);
    json_decref(o);
    return s;
}

void http_problem_at(struct http_request *req, const char *file, int line, const char *slug,
                     const char *detail_fmt, ...)
{
    const struct problem_type *t = find_type(slug);
    if (t == NULL) {
        log_error("unknown problem type %s at %s:%d", slug, file, line);
        t = find_type("internal-error");
    }
    va_list ap;
    va_start(ap, detail_fmt);
    char *detail = arena_vprintf(req->arena, detail_fmt, ap);
    va_end(ap);

    enum log_level lvl = t->status >= 500 ? LOGL_WARN : LOGL_DEBUG;
    if (log_enabled(lvl))
        log_write(lvl, file, line,
                  json_pack("{s:s, s:s, s:i}", "request_id", req->request_id ? req->request_id : "",
                            "problem", t->slug, "status", t->status),
                  "%s", detail ? detail : t->title);

    json_t *o = problem_json(t, detail, req->path, req->request_id);
    char *text = jsonx_dumps(o, NULL);
    json_decref(o);
    char *copy = text ? arena_strdup(req->arena, text) : NULL;
    free(text);
    if (copy == NULL)
        copy = "{\"type\":\"/problems/internal-error\",\"status\":500}";
    http_respond(req, t->status, "application/problem+json", copy, strlen(copy));
}

int http_query_only_or_problem_at(struct http_request *req, const char *file, int line,
                                  const char *const *allowed)
{
    const char *bad = NULL;
    int repeated = 0;
    if (http_query_only(req, allowed, &bad, &repeated))
        return 1;
    http_problem_at(req, file, line, "invalid-parameter", "%s parameter \"%.40s\"",
                    repeated ? "repeated" : "unknown", bad);
    return 0;
}

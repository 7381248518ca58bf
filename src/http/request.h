/* request.h - what a handler sees of one HTTP request and how it answers. Everything here is
 * allocated in req->arena and dies with the request; no libmicrohttpd type leaks out. */
#ifndef COS_HTTP_REQUEST_H
#define COS_HTTP_REQUEST_H

#include <jansson.h>
#include <stddef.h>

#include "base/arena.h"

#define HTTP_MAX_PARAMS 4

struct http_header {
    struct http_header *next;
    const char *name;
    const char *value;
};

struct http_request;

/* A handler answers by setting a response (http_respond*, http_problem) and returning 0, or
 * starts asynchronous work with http_request_suspend() and returns 0 without a response. */
typedef int (*http_handler)(struct http_request *req, void *ctx);

struct http_request {
    struct arena *arena;
    const char *method;
    const char *path;       /* decoded path, without the query */
    const char *route;      /* the matched pattern, e.g. "/api/v1/notices/{id}" */
    const char *request_id; /* also sent back as X-Request-Id */
    const char *body;       /* NUL-terminated copy of the body (may hold NULs before body_len) */
    size_t body_len;
    const char *params[HTTP_MAX_PARAMS]; /* path parameters, in pattern order */
    size_t nparams;

    /* the response */
    int status;
    const char *content_type;
    const char *resp_body; /* owned by the arena or static */
    size_t resp_len;
    struct http_header *resp_headers;

    void *conn; /* the server's per-connection state (opaque) */
};

/* Request header by name (case-insensitive) or NULL. */
const char *http_header(const struct http_request *req, const char *name);

/* Query-string argument by name or NULL; *present tells "?a" from absent when non-NULL. */
const char *http_query(const struct http_request *req, const char *name);

/* The query arguments in their order, each name and value percent-encoded again
 * (RFC 3986 unreserved characters kept), "a=1&b=x%20y", "" when there are none; in the arena, or
 * NULL when out of memory. For parsers that need every argument, repeated names included (a
 * FHIR search). */
const char *http_query_string(const struct http_request *req);

/* Cookie of the request by name (RFC 6265 Cookie header, parsed by the server) or NULL. */
const char *http_cookie(const struct http_request *req, const char *name);

/* Checks that every query argument is in allowed (NULL-terminated, at most 32 names) and
 * appears once. Returns 1, or 0 with *bad set to the first unknown or repeated name and
 * *repeated telling which. */
int http_query_only(const struct http_request *req, const char *const *allowed,
                    const char **bad /* OUT */, int *repeated /* OUT */);

/* The first of names (NULL-terminated, at most 32) given more than once in the query, or NULL.
 * Other names are not looked at (OpenID requests may carry parameters we do not know). */
const char *http_query_repeated(const struct http_request *req, const char *const *names);

/* The client's IP address in numeric form ("192.0.2.7", "2001:db8::1"; getnameinfo
 * NI_NUMERICHOST), in the request's arena, or NULL when unknown. The peer of the TCP connection:
 * behind a proxy, that is the proxy. */
const char *http_client_addr(const struct http_request *req);

/* Is the request's Content-Type this media type (parameters such as charset ignored)? */
int http_content_type_is(const struct http_request *req, const char *media_type);

/* Sets the response. body must live as long as the request (arena or static). */
void http_respond(struct http_request *req, int status, const char *content_type, const char *body,
                  size_t len);

/* Sets a JSON response from v (stolen: decref'ed here). Falls back to a 500 problem if v cannot
 * be serialised. */
void http_respond_json(struct http_request *req, int status, json_t *v);

/* Adds a response header; name and value are copied into the arena. */
void http_set_header(struct http_request *req, const char *name, const char *value);

/* Asynchronous handlers: suspend the connection; later, from any thread, http_request_resume()
 * wakes it and `then(req, ctx)` runs on a server thread to set the response. Call suspend
 * before starting the work that will resume. */
void http_request_suspend(struct http_request *req, http_handler then, void *ctx);
void http_request_resume(struct http_request *req);

#endif

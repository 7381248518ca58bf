/* request.c - building responses in the request's arena. */
#include "http/request.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/jsonx.h"
#include "http/problem.h"

int http_content_type_is(const struct http_request *req, const char *media_type)
{
    const char *ct = http_header(req, "Content-Type");
    if (ct == NULL)
        return 0;
    size_t n = strlen(media_type);
    if (strncasecmp(ct, media_type, n) != 0)
        return 0;
    return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ';
}

void http_respond(struct http_request *req, int status, const char *content_type, const char *body,
                  size_t len)
{
    req->status = status;
    req->content_type = content_type;
    req->resp_body = body;
    req->resp_len = len;
}

void http_respond_json(struct http_request *req, int status, json_t *v)
{
    size_t len = 0;
    char *text = jsonx_dumps(v, &len);
    json_decref(v);
    if (text == NULL || arena_defer(req->arena, free, text) != 0) {
        free(text);
        http_problem(req, "internal-error", "the response could not be serialised");
        return;
    }
    http_respond(req, status, "application/json", text, len);
}

void http_set_header(struct http_request *req, const char *name, const char *value)
{
    struct http_header *h = arena_alloc(req->arena, sizeof *h);
    if (h == NULL)
        return;
    h->name = arena_strdup(req->arena, name);
    h->value = arena_strdup(req->arena, value);
    if (h->name == NULL || h->value == NULL)
        return;
    h->next = req->resp_headers;
    req->resp_headers = h;
}

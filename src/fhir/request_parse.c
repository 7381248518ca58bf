/* request_parse.c - parsers of the FHIR edge's input (request_parse.h). */
#include "fhir/request_parse.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/utf8.h"
#include "fhir/owner.h"

int fhir_parse_version(const char *s, int64_t *version)
{
    if (s == NULL || *s < '1' || *s > '9' || strlen(s) > 16)
        return 0;
    for (const char *p = s; *p != '\0'; p++)
        if (*p < '0' || *p > '9')
            return 0;
    char *end = NULL;
    errno = 0;
    long long n = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || n < 1 || n > (1LL << 53))
        return 0;
    *version = n;
    return 1;
}

int fhir_parse_etag(const char *s, int64_t *version)
{
    if (s == NULL)
        return 0;
    if (strncmp(s, "W/", 2) == 0)
        s += 2;
    size_t n = strlen(s);
    char buf[24];
    if (n < 3 || n - 2 >= sizeof buf || s[0] != '"' || s[n - 1] != '"')
        return 0;
    memcpy(buf, s + 1, n - 2);
    buf[n - 2] = '\0';
    return fhir_parse_version(buf, version);
}

/* Decimal digits of s into *v, up to the next '.'; returns the position after it or NULL. */
static const char *number_then_dot(const char *s, int64_t *v)
{
    const char *dot = strchr(s, '.');
    char buf[24];
    if (dot == NULL || dot == s || (size_t)(dot - s) >= sizeof buf)
        return NULL;
    memcpy(buf, s, (size_t)(dot - s));
    buf[dot - s] = '\0';
    return fhir_parse_version(buf, v) ? dot + 1 : NULL;
}

int fhir_parse_history_cursor(const char *s, int64_t *ms, int64_t *version, const char **id)
{
    const char *p = s != NULL ? number_then_dot(s, ms) : NULL;
    p = p != NULL ? number_then_dot(p, version) : NULL;
    if (p == NULL || !fhir_id_valid(p))
        return 0;
    *id = p;
    return 1;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

const char *fhir_decode_reason(struct arena *a, const char *s)
{
    size_t n = strlen(s);
    if (n > 3 * 1024)
        return NULL;
    char *out = arena_alloc(a, n + 1), *o = out;
    if (out == NULL)
        return NULL;
    for (const char *c = s; *c != '\0'; c++) {
        if (*c == '%') {
            int hi = hexval(c[1]), lo = hi < 0 ? -1 : hexval(c[2]);
            if (lo < 0)
                return NULL;
            *o++ = (char)(hi * 16 + lo);
            c += 2;
        } else {
            *o++ = *c;
        }
    }
    *o = '\0';
    size_t len = (size_t)(o - out);
    if (len == 0 || len > 1024 || !utf8_valid(out, len))
        return NULL;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)out[i] < 0x20 || out[i] == 0x7F)
            return NULL;
    return out;
}

static int refuse(const char **code, char *msg, size_t cap, int status, const char *c,
                  const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static int refuse(const char **code, char *msg, size_t cap, int status, const char *c,
                  const char *fmt, ...)
{
    *code = c;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, cap, fmt, ap);
    va_end(ap);
    return status;
}

int fhir_entry_request_parse(json_t *entry, struct fhir_entry_request *out, const char **code,
                             char *msg, size_t cap)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(entry))
        return refuse(code, msg, cap, 400, "structure", "an entry is an object");
    const json_t *rq = json_object_get(entry, "request");
    const char *method = json_string_value(json_object_get(rq, "method"));
    const char *url = json_string_value(json_object_get(rq, "url"));
    out->resource = json_object_get(entry, "resource");
    out->full_url = json_string_value(json_object_get(entry, "fullUrl"));
    if (method == NULL || url == NULL)
        return refuse(code, msg, cap, 400, "required",
                      "request.method and request.url are required");
    if (strcmp(method, "POST") == 0)
        out->op = FHIR_WRITE_CREATE;
    else if (strcmp(method, "PUT") == 0)
        out->op = FHIR_WRITE_UPDATE;
    else if (strcmp(method, "DELETE") == 0)
        out->op = FHIR_WRITE_DELETE;
    else
        return refuse(code, msg, cap, 400, "not-supported",
                      "request.method: only POST, PUT and DELETE entries are served");
    if (json_object_get(rq, "ifNoneMatch") != NULL ||
        json_object_get(rq, "ifModifiedSince") != NULL || strchr(url, '?') != NULL)
        return refuse(code, msg, cap, 400, "not-supported",
                      "conditional entries other than ifNoneExist are not served");
    const json_t *ine = json_object_get(rq, "ifNoneExist");
    if (ine != NULL && (out->op != FHIR_WRITE_CREATE || !json_is_string(ine)))
        return refuse(code, msg, cap, 400, "invalid",
                      "request.ifNoneExist is a search query of a POST entry");
    out->if_none_exist = json_string_value(ine);
    const json_t *ifm = json_object_get(rq, "ifMatch");
    if (ifm != NULL && !fhir_parse_etag(json_string_value(ifm), &out->if_match))
        return refuse(code, msg, cap, 400, "invalid", "request.ifMatch must be W/\"<version>\"");
    /* url: "Type" for POST, "Type/id" otherwise */
    const char *slash = strchr(url, '/');
    size_t tlen = slash != NULL ? (size_t)(slash - url) : strlen(url);
    if (tlen == 0 || tlen > FHIR_TYPE_MAX)
        return refuse(code, msg, cap, 400, "invalid", "request.url: no resource type");
    memcpy(out->rtype, url, tlen);
    out->rtype[tlen] = '\0';
    if (fhir_owner_kind(out->rtype, NULL) == FHIR_NOT_SERVED)
        return refuse(code, msg, cap, 404, "not-supported",
                      "resource type \"%.64s\" is not served here", out->rtype);
    if ((out->op == FHIR_WRITE_CREATE) != (slash == NULL))
        return refuse(code, msg, cap, 400, "invalid", "%s",
                      out->op == FHIR_WRITE_CREATE ? "a POST entry's url is the resource type"
                                                   : "a PUT or DELETE entry's url is Type/id");
    if (slash != NULL) {
        if (!fhir_id_valid(slash + 1))
            return refuse(code, msg, cap, 400, "invalid", "request.url: not a valid resource id");
        snprintf(out->id, sizeof out->id, "%s", slash + 1);
    }
    if (out->op == FHIR_WRITE_DELETE) {
        if (out->resource != NULL)
            return refuse(code, msg, cap, 400, "invalid", "a DELETE entry has no resource");
        return 0;
    }
    const char *rt = json_string_value(json_object_get(out->resource, "resourceType"));
    if (!json_is_object(out->resource) || rt == NULL || strcmp(rt, out->rtype) != 0)
        return refuse(code, msg, cap, 400, "invalid", "the entry's resource must be a %s",
                      out->rtype);
    if (out->op == FHIR_WRITE_UPDATE) {
        const char *id = json_string_value(json_object_get(out->resource, "id"));
        if (id == NULL || strcmp(id, out->id) != 0)
            return refuse(code, msg, cap, 400, "invalid",
                          "the resource's id must equal the id in request.url");
    }
    return 0;
}

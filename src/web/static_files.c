/* static_files.c - the embedded portal files: name rules, lookup (binary search over the
 * generated table), If-None-Match, and the one place their response headers are set. */
#include "web/static_files.h"

#include <string.h>

const char web_csp[] = "default-src 'none'; script-src 'self'; style-src 'self'; "
                       "img-src 'self' data:; font-src 'self'; connect-src 'self'; "
                       "manifest-src 'self'; base-uri 'none'; form-action 'self'; "
                       "frame-ancestors 'none'; object-src 'none'; "
                       "require-trusted-types-for 'script'; trusted-types 'none'";

static int name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

int web_name_ok(const char *name, size_t len)
{
    if (name == NULL || len == 0 || len >= WEB_NAME_MAX)
        return 0;
    size_t segments = 0, i = 0;
    while (i < len) {
        size_t start = i;
        while (i < len && name[i] != '/') {
            if (!name_char(name[i]))
                return 0;
            i++;
        }
        size_t seg = i - start;
        if (seg == 0 || seg > 64 || name[start] == '.')
            return 0; /* empty segment, "..", ".", hidden files */
        if (++segments > 2)
            return 0;
        if (i < len) {
            i++; /* the slash */
            if (i == len)
                return 0; /* trailing slash */
        }
    }
    return 1;
}

static int compare_name(const char *a, size_t alen, const char *b)
{
    size_t blen = strlen(b);
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c != 0)
        return c;
    return alen < blen ? -1 : alen > blen;
}

const struct web_file *web_file_find(const char *name, size_t len)
{
    if (!web_name_ok(name, len))
        return NULL;
    size_t n = 0;
    const struct web_file *files = web_files(&n);
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = compare_name(name, len, files[mid].name);
        if (c == 0)
            return &files[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

/* Skips optional whitespace (RFC 9110 OWS). */
static const char *ows(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

int web_etag_matches(const char *inm, const char *etag)
{
    if (inm == NULL || etag == NULL)
        return 0;
    const char *p = ows(inm);
    if (*p == '*')
        return *ows(p + 1) == '\0';
    size_t elen = strlen(etag);
    /* at most 64 tags: a bound on the loop over client input */
    for (int tags = 0; tags < 64; tags++) {
        if (p[0] == 'W' && p[1] == '/')
            p += 2;
        if (*p != '"')
            return 0;
        const char *end = strchr(p + 1, '"');
        if (end == NULL)
            return 0;
        size_t tlen = (size_t)(end - p) + 1;
        if (tlen == elen && memcmp(p, etag, elen) == 0)
            return 1;
        p = ows(end + 1);
        if (*p == '\0')
            return 0;
        if (*p != ',')
            return 0;
        p = ows(p + 1);
    }
    return 0;
}

void web_security_headers(struct http_request *req)
{
    http_set_header(req, "Content-Security-Policy", web_csp);
    http_set_header(req, "X-Frame-Options", "DENY");
    http_set_header(req, "Referrer-Policy", "no-referrer");
    http_set_header(req, "Cross-Origin-Opener-Policy", "same-origin");
    http_set_header(req, "Cross-Origin-Resource-Policy", "same-origin");
    http_set_header(req, "Permissions-Policy",
                    "camera=(), microphone=(), geolocation=(), payment=(), usb=()");
}

void web_file_respond(struct http_request *req, const struct web_file *f, const char *if_none_match)
{
    web_security_headers(req);
    http_set_header(req, "ETag", f->etag);
    http_set_header(req, "Cache-Control", "no-cache");
    if (web_etag_matches(if_none_match, f->etag)) {
        http_respond(req, 304, NULL, NULL, 0);
        return;
    }
    http_respond(req, 200, f->type, (const char *)f->data, f->len);
}

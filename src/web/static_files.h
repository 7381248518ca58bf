/* static_files.h - the portal's files (web/), built into the binary by src/web/embed.py, and
 * how one is answered: media type, strong ETag and 304, caching and the security headers. */
#ifndef COS_WEB_STATIC_FILES_H
#define COS_WEB_STATIC_FILES_H

#include <stddef.h>

#include "http/request.h"

#define WEB_NAME_MAX 129 /* bytes of a file name: two segments of at most 64 and a slash */

/* One embedded file; everything static, owned by the binary. */
struct web_file {
    const char *name; /* relative to web/: "index.html", "js/app.js" */
    const char *type; /* the Content-Type sent */
    const unsigned char *data;
    size_t len;
    const char *etag; /* strong validator, quoted: "\"3f2a...\"" (a SHA-256 prefix of data) */
};

/* Every embedded file, sorted by name (generated: web_files_gen.c). */
const struct web_file *web_files(size_t *n /* OUT */);

/* Is name a file name the portal can hold? One or two segments separated by '/', each 1..64
 * characters of [a-z0-9._-] not starting with '.', so "..", ".hidden", "a//b", "/a", "a/",
 * upper case, '%', '\\' and NUL are all refused. name need not be NUL-terminated: len bytes. */
int web_name_ok(const char *name, size_t len);

/* The embedded file called name (len bytes), or NULL (also for every name web_name_ok refuses). */
const struct web_file *web_file_find(const char *name, size_t len);

/* Does an If-None-Match header value (a list of entity tags, or "*") match etag? Weak
 * comparison (RFC 9110 13.1.2: W/ prefixes ignored). A malformed list matches nothing. NULL:
 * no header, no match. */
int web_etag_matches(const char *if_none_match, const char *etag);

/* The Content-Security-Policy of every portal response: scripts, styles, images and fonts only
 * from this origin, connections only to this origin, no inline script or style, no plugins, no
 * framing, Trusted Types required (no string ever becomes HTML). */
extern const char web_csp[];

/* Adds the portal's security headers (CSP, X-Frame-Options, Referrer-Policy, COOP,
 * Permissions-Policy) to the response. */
void web_security_headers(struct http_request *req);

/* Answers f: 200 with the body (or 304 without one when if_none_match, the request's
 * If-None-Match value or NULL, matches its ETag), its type, ETag, "Cache-Control: no-cache"
 * (use it, but revalidate each time: a new build is seen at once) and the security headers. */
void web_file_respond(struct http_request *req, const struct web_file *f,
                      const char *if_none_match);

#endif

/* html.h - the few server-rendered pages (sign-in, approval): an escaping page builder in the
 * request's arena, the page's language from the request, and one place that sets the headers
 * every HTML answer carries (CSP without scripts, no framing, no caching). */
#ifndef COS_HTTP_HTML_H
#define COS_HTTP_HTML_H

#include <stddef.h>

#include "http/request.h"

enum html_lang { HTML_LANG_JA, HTML_LANG_EN };

struct html_buf {
    struct arena *a;
    char *p;
    size_t len, cap;
    int nomem; /* an append failed: the page is incomplete; html_respond answers -1 */
};

void html_init(struct html_buf *b, struct arena *a);

/* Appends trusted markup (a literal of ours), unchanged. */
void html_raw(struct html_buf *b, const char *markup);

/* Appends text or an attribute value with & < > " ' escaped; NULL appends nothing. */
void html_text(struct html_buf *b, const char *text);

/* Appends a page's head up to and including <body><main>, with lang and an escaped title. */
void html_begin(struct html_buf *b, enum html_lang lang, const char *title);

/* Closes what html_begin opened. */
void html_end(struct html_buf *b);

/* Answers the page with status, "text/html; charset=utf-8", Cache-Control no-store, a
 * Content-Security-Policy that allows no script and forms only to this origin, X-Frame-Options
 * DENY (clickjacking on the approval page), X-Content-Type-Options nosniff and Referrer-Policy
 * no-referrer (codes in URLs must not leak). Returns 0, or -1 when the page is incomplete. */
int html_respond(struct http_request *req, int status, struct html_buf *b);

/* The page's language: a "lang" query argument ("ja" or "en"), else the "lang" cookie, else
 * the best of ja and en by Accept-Language q-values (RFC 9110 12.5.4), else Japanese. */
enum html_lang html_lang_of(const struct http_request *req);

/* The better of ja and en for an Accept-Language value (NULL: none): higher q wins, a tie or
 * neither gives Japanese; "*" counts for both; malformed parts count as q=0. */
enum html_lang html_lang_accept(const char *accept_language);

/* "ja" or "en". */
const char *html_lang_code(enum html_lang lang);

/* Picks the text of lang from a pair. */
#define HTML_T(lang, ja, en) ((lang) == HTML_LANG_JA ? (ja) : (en))

#endif

/* oidc_flow.h - what the API tests of the authorization-code flow share: a "browser" (a curl
 * handle with its own cookie jar) that signs in and answers the approval page, and the small
 * parsers a client needs (query parameters of a redirect, hidden form fields, a JWT payload). */
#ifndef CITYOS_API_OIDC_FLOW_H
#define CITYOS_API_OIDC_FLOW_H

#include "harness.h"

/* A verifier and its S256 challenge, BASE64URL(SHA-256(verifier)) without padding (computed
 * with `printf %s VERIFIER | openssl dgst -sha256 -binary | basenc --base64url`). */
#define PKCE_VERIFIER  "dBjftJeZ4CVP-mJ92K9h0kCZSC4rtwG1CmEZxvZ4zO8"
#define PKCE_CHALLENGE "3rwmdYwXztixFt7EaNa0VIi0z-gqCdNvhXzwvU8WGj8"

#define FORM_HEADER "Content-Type: application/x-www-form-urlencoded"

#define BROWSER_COOKIES_MAX 16

/* A person's browser: its own connection and cookies (set by Set-Cookie, deleted by
 * Max-Age=0; sent to every path, which is enough for cityos's few cookies). */
struct browser {
    struct server *s;
    CURL *c;
    char *cookies[BROWSER_COOKIES_MAX]; /* "name=value" */
    const char *lang;                   /* Accept-Language sent, or NULL */
};

struct browser *browser_new(struct server *s);
void browser_free(struct browser *b);

/* GET path / POST path with a form body, sending the jar's cookies and keeping the answer's.
 * Redirects are not followed. Caller frees with resp_free(). */
struct resp browser_get(struct browser *b, const char *path);
struct resp browser_post(struct browser *b, const char *path, const char *form_body);

/* The value of cookie name in the jar, or NULL. */
const char *browser_cookie(const struct browser *b, const char *name);

/* Signs in at /signin (GET for the login_csrf field and cookie, POST email and password) and
 * fails the test unless the answer is 303 with a cityos_session cookie. return_to may be NULL.
 * Returns the Location (malloc'ed). */
char *browser_sign_in(struct browser *b, const char *email, const char *password,
                      const char *return_to);

/* ---- building requests ---- */

/* Form-urlencodes s (RFC 3986 unreserved kept, everything else %XX). Malloc'ed. */
char *form_encode(const char *s);

/* "name=value&..." from NULL-terminated name, value pairs; a NULL value skips the pair. Values
 * are form-encoded. Malloc'ed. */
char *form_of(const char *const *pairs);

/* ---- reading answers ---- */

/* The decoded value of query parameter name in url (after '?'), or NULL. Malloc'ed. */
char *url_param(const char *url, const char *name);

/* The value of the first <input ... name="name" value="..."> in html, entities decoded, or NULL.
 * With value_prefix, the first such input whose decoded value starts with it. Malloc'ed. */
char *html_input(const char *html, const char *name, const char *value_prefix);

/* Every hidden input of html as a form body ("name=value&..."), except the names listed in
 * skip (NULL-terminated; may be NULL). Malloc'ed. */
char *html_hidden_form(const char *html, const char *const *skip);

/* Part `part` (0: the header, 1: the payload) of a compact JWS, base64url-decoded and parsed;
 * NULL when malformed. Caller decrefs. */
json_t *jwt_part(const char *jws, int part);

/* The whole authorization-code flow for a public client with PKCE: email signs in with
 * password, approves acting as the option whose value starts with act_as ("self", "for:",
 * "role:"), and the code is redeemed for scope. Returns the access token (malloc'ed); any step
 * that fails fails the test. */
char *oidc_token(struct server *s, const char *client_id, const char *redirect_uri,
                 const char *email, const char *password, const char *act_as, const char *scope);

#endif

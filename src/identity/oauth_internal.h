/* oauth_internal.h - what the OAuth endpoint files share (oauth_api.c: client credentials,
 * introspection, revocation; oauth_grants.c: the code and refresh-token exchanges; userinfo.c):
 * the strict form body, client authentication and the one builder of RFC 6749 error answers.
 * Not for other modules. */
#ifndef COS_ID_OAUTH_INTERNAL_H
#define COS_ID_OAUTH_INTERNAL_H

#include "http/form.h"
#include "http/request.h"
#include "identity/client.h"
#include "identity/oauth_api.h"
#include "identity/scope.h"

#define OAUTH_SCOPE_TEXT_BUF (2 * ID_SCOPE_TEXT_MAX + 1)

struct oauth_call {
    struct http_form form;
    struct id_client client;
};

/* Answers {error, error_description} (RFC 6749 5.2) with status and no-store; a 401 carries a
 * Basic challenge. The description is cleaned to the characters the RFC allows. */
void oauth_error_at(struct http_request *req, const char *file, int line, int status,
                    const char *code, const char *description);
#define oauth_error(req, status, code, desc)                                                       \
    oauth_error_at(req, __FILE__, __LINE__, status, code, desc)

/* Cache-Control: no-store and Pragma: no-cache (RFC 6749 5.1). */
void oauth_no_store(struct http_request *req);

/* Reads the application/x-www-form-urlencoded body into c->form. Returns 1, 0 with the answer
 * set, or -1 when out of memory. */
int oauth_read_form(struct http_request *req, struct oauth_call *c);

/* Authenticates the calling client (client_secret_basic or client_secret_post) into c->client.
 * allow_public: a public client may identify itself with client_id alone (and must not present
 * a secret). Returns 1, or 0 with the answer set. */
int oauth_authenticate_client(struct http_request *req, struct store *s, struct oauth_call *c,
                              int allow_public);

/* The code and refresh-token exchanges of POST /oauth/token (oauth_grants.c), called after the
 * client is authenticated. Return like a handler. */
int oauth_token_by_code(struct http_request *req, struct oauth_api *api, struct oauth_call *c);
int oauth_token_by_refresh(struct http_request *req, struct oauth_api *api, struct oauth_call *c);

/* GET and POST /oauth/userinfo (userinfo.c). Returns 0 or a negative ERR_*. */
int oauth_userinfo_register(struct http_router *r, struct oauth_api *api);

/* Logs a failed asynchronous write of `what` (the caller answers 503). */
void oauth_write_failed_log(int status, const struct err *e, const char *what);

#endif

/* session.h - browser sessions of the regional ID: after a person signs in on cityos's own
 * sign-in page (password, then TOTP for accounts that enrolled one) they hold a session cookie
 * that the authorization endpoint and, later, the portal read. The cookie's value is 256 random
 * bits; only its BLAKE2b-256 hash is stored (table web_session). Each session carries its own
 * CSRF token for the forms it posts (synchroniser token pattern). */
#ifndef COS_ID_SESSION_H
#define COS_ID_SESSION_H

#include <stdint.h>

#include "base/err.h"
#include "base/ids.h"
#include "http/request.h"
#include "store/store.h"

#define ID_SESSION_COOKIE    "cityos_session"
#define ID_SESSION_TTL_MS    (8LL * 60 * 60 * 1000) /* a working day, then sign in again */
#define ID_SESSION_VALUE_LEN 43                     /* 32 random bytes, unpadded base64url */
#define ID_SESSION_CSRF_LEN  43
#define ID_SESSION_AMR_MAX   32

struct id_session {
    char hash[65];                      /* hex BLAKE2b-256 of the cookie value */
    char person_id[IDS_LEN + 1];        /* who signed in */
    char csrf[ID_SESSION_CSRF_LEN + 1]; /* the value forms of this session must post back */
    char amr[ID_SESSION_AMR_MAX + 1];   /* RFC 8176 methods, space-separated: "pwd" or "pwd otp" */
    int64_t auth_time_ms;               /* when the person authenticated */
    int64_t created_ms;
    int64_t expires_ms;
};

/* The request's active session (cookie ID_SESSION_COOKIE, looked up by hash; not ended, not
 * expired). Returns 0; ERR_NOTFOUND when there is none (no cookie, malformed, unknown, ended or
 * expired); or the store's error. */
int id_session_current(struct http_request *req, struct store *s, struct id_session *out,
                       struct err *e);

/* Does presented (a form's "csrf" field) equal the session's CSRF token? Constant time;
 * NULL never matches. */
int id_session_csrf_valid(const struct id_session *ss, const char *presented);

/* ---- added for the sign-in pages (signin_api.c) and their tests ---- */

/* Is v a value this module could have made: exactly ID_SESSION_VALUE_LEN base64url characters
 * (also the shape of a CSRF token and of the sign-in page's other random cookies)? NULL: no. */
int id_session_value_valid(const char *v);

/* Writes 32 fresh random bytes as unpadded base64url (ID_SESSION_VALUE_LEN chars and a NUL). */
void id_session_random(char out[ID_SESSION_VALUE_LEN + 1]);

/* Hex BLAKE2b-256 of a cookie value: the key under which its session is stored. */
void id_session_hash(const char *value, char out[65]);

/* Makes a new session for person_id (borrowed, copied) with amr ("pwd" or "pwd otp"),
 * authenticated at auth_time_ms, created at now_ms and expiring ID_SESSION_TTL_MS later: a
 * fresh random cookie value into value_out (the only copy in clear), its hash and a fresh CSRF
 * token into ss. Returns 0, or ERR_INVALID for a malformed person id or amr. Nothing is stored. */
int id_session_new(struct id_session *ss, const char *person_id, const char *amr,
                   int64_t auth_time_ms, int64_t now_ms, char value_out[ID_SESSION_VALUE_LEN + 1],
                   struct err *e);

/* A store_write_fn inserting ctx (a struct id_session) into web_session. */
int id_session_insert_fn(struct store_tx *tx, void *ctx, struct err *e);

/* Finds the active session (not ended, now_ms < expires_ms) whose cookie value is value.
 * Returns 0, ERR_NOTFOUND (also for a malformed value), or the store's error. */
int id_session_find(struct store *s, const char *value, int64_t now_ms, struct id_session *out,
                    struct err *e);

/* Ending one session: fill hash and now_ms, run id_session_end_fn in a write; ended tells
 * whether this write ended it (0: unknown or already ended). */
struct id_session_end {
    char hash[65];
    int64_t now_ms;
    int ended; /* OUT */
};

int id_session_end_fn(struct store_tx *tx, void *ctx, struct err *e);

#endif

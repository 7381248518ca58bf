/* signin_pending.h - the half-finished sign-ins of people with a second factor: after the
 * password, a short-lived (5 min), single-use, server-side record bound to the person and to a
 * random value in a cookie, waiting for the TOTP code. Not a session: it grants nothing. Kept in
 * the serving process's memory (bounded); see docs/internals/signin.md for what that means. */
#ifndef COS_ID_SIGNIN_PENDING_H
#define COS_ID_SIGNIN_PENDING_H

#include <stdint.h>

#include "base/err.h"
#include "base/ids.h"
#include "identity/return_to.h"
#include "identity/session.h"

#define ID_PENDING_TTL_MS       (5LL * 60 * 1000)
#define ID_PENDING_MAX          1024 /* records held at once */
#define ID_PENDING_ATTEMPTS_MAX 5    /* wrong codes before the record is dropped */
#define ID_PENDING_COOKIE       "cityos_signin_pending"

struct id_pending {
    char person_id[IDS_LEN + 1];
    char return_to[ID_RETURN_TO_MAX + 1];
    int64_t auth_time_ms; /* when the password was verified */
    int64_t expires_ms;
    int attempts; /* wrong codes so far */
};

struct id_pending_table;

/* A new, empty table (caller frees with id_pending_table_free). NULL when out of memory. */
struct id_pending_table *id_pending_table_new(void);
void id_pending_table_free(struct id_pending_table *t);

/* Stores a record for person_id / return_to, verified at now_ms, under a fresh random value
 * written to value_out (for the cookie). Expired records are dropped first. Returns 0,
 * ERR_INVALID (malformed person id or return_to), or ERR_TOOBIG when ID_PENDING_MAX live
 * records are held. */
int id_pending_put(struct id_pending_table *t, const char *person_id, const char *return_to,
                   int64_t now_ms, char value_out[ID_SESSION_VALUE_LEN + 1]);

/* Copies the live record of value into out without consuming it. Returns 0 or ERR_NOTFOUND. */
int id_pending_peek(struct id_pending_table *t, const char *value, int64_t now_ms,
                    struct id_pending *out);

/* Removes the live record of value and copies it into out: single use, so two requests with
 * the same value cannot both go on. Returns 0 or ERR_NOTFOUND. */
int id_pending_take(struct id_pending_table *t, const char *value, int64_t now_ms,
                    struct id_pending *out);

/* Puts a taken record back under the same value after a wrong code, counting the attempt; a
 * record that reached ID_PENDING_ATTEMPTS_MAX (or expired) is dropped instead. Returns 0 when
 * it is back, ERR_NOTFOUND when dropped, ERR_TOOBIG when the table is full. */
int id_pending_put_back(struct id_pending_table *t, const char *value, const struct id_pending *p,
                        int64_t now_ms);

/* Live records (for tests and metrics). */
int id_pending_count(struct id_pending_table *t, int64_t now_ms);

#endif

/* password.h - passwords of the regional ID: the NIST SP 800-63B policy, Argon2id hashing with
 * libsodium, and the pure back-off / lock-out schedule applied to repeated sign-in failures. */
#ifndef COS_ID_PASSWORD_H
#define COS_ID_PASSWORD_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* Argon2id cost: RFC 9106 / OWASP's floor (m = 19456 KiB, t = 2, p = 1; libsodium always uses
 * one lane). About 41 ms per hash on the development VM; docs/internals/identity.md says why. */
#define ID_PASSWORD_OPSLIMIT 2ULL
#define ID_PASSWORD_MEMLIMIT ((size_t)19 * 1024 * 1024)
#define ID_PASSWORD_HASH_MAX 128 /* crypto_pwhash_STRBYTES: the encoded hash and its NUL */

#define ID_PASSWORD_MIN_CHARS 8   /* Unicode code points */
#define ID_PASSWORD_MAX_CHARS 128 /* code points; at most 4 bytes each */

/* Checks a proposed password against the policy (NIST SP 800-63B 5.1.1.2): valid UTF-8 with no
 * control characters, 8..128 code points, not equal to the e-mail address or its local part,
 * not containing the regional ID, not a well-known common password (or one with digits or
 * punctuation appended), not one repeated character and not a run like "23456789" or
 * "abcdefgh". No composition rules. email and regional_id may be NULL. Returns 0, or
 * ERR_INVALID with a message that names the rule (never the password). */
int id_password_check_policy(const char *password, const char *email, const char *regional_id,
                             struct err *e);

/* Is password (case-insensitively, also with trailing digits and punctuation removed) on the
 * built-in list of common passwords? */
int id_password_is_common(const char *password);

/* Hashes password with Argon2id at the cost above into out (the PHC string
 * "$argon2id$v=19$m=19456,t=2,p=1$salt$hash", NUL-terminated), with a fresh random salt. Does
 * not check the policy. Returns 0, ERR_INVALID for a password longer than 512 bytes, or
 * ERR_NOMEM when the 19 MiB could not be allocated. */
int id_password_hash(const char *password, char out[ID_PASSWORD_HASH_MAX], struct err *e);

/* Does password match hash (any Argon2 string libsodium knows)? Returns 0 on a match, or
 * ERR_INVALID for a mismatch, a malformed hash, or a hash that could not be computed. Costs
 * the same as hashing. */
int id_password_verify(const char *hash, const char *password);

/* Should a hash that just verified be replaced by a new one? 1 when it is not Argon2id or was
 * made with other parameters than today's, 0 when it is current. */
int id_password_needs_rehash(const char *hash);

/* ---- repeated failures: pure functions over a state the caller stores with the account ---- */

#define ID_LOGIN_BACKOFF_AFTER   5    /* the 5th failure in a row starts the back-off */
#define ID_LOGIN_BACKOFF_BASE_MS 1000 /* then 1 s, 2 s, 4 s, 8 s, 16 s */
#define ID_LOGIN_LOCK_AFTER      10   /* the 10th failure in a row locks ... */
#define ID_LOGIN_LOCK_MS         (15LL * 60 * 1000) /* ... for 15 minutes, and so does each one after */
#define ID_LOGIN_HARD_LIMIT      100       /* NIST's cap: then locked until a password reset */
#define ID_LOGIN_LOCKED_FOREVER  INT64_MAX /* locked_until_ms after the hard limit */

struct id_login_state {
    int failed;              /* failures in a row since the last success (0..HARD_LIMIT) */
    int64_t locked_until_ms; /* no attempt is accepted before this instant; 0: none */
};

/* Milliseconds the caller must still wait at now_ms before an attempt is even checked (0: go
 * ahead). A refused early attempt is not a failure and changes nothing. */
int64_t id_password_wait_ms(const struct id_login_state *s, int64_t now_ms);

/* Records a failed attempt made at now_ms: the count goes up and locked_until_ms becomes the
 * next allowed attempt per the schedule above. */
void id_password_note_failure(struct id_login_state *s, int64_t now_ms);

/* Records a successful sign-in: the count and any wait are cleared. */
void id_password_note_success(struct id_login_state *s);

#endif

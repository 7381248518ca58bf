/* totp.h - the optional second factor: RFC 6238 TOTP codes (HMAC-SHA-1, 30 s steps, 6 digits,
 * one step of clock drift either way) computed with liboath, refusal of replayed steps, and the
 * secrets kept encrypted at rest (libsodium secretbox under <data-dir>/totp-key). */
#ifndef COS_ID_TOTP_H
#define COS_ID_TOTP_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "store/store.h"

#define ID_TOTP_SECRET_BYTES 20 /* RFC 4226 recommends 160 bits */
#define ID_TOTP_PERIOD_S     30
#define ID_TOTP_DIGITS       6
#define ID_TOTP_WINDOW       1 /* steps accepted before and after the current one */
#define ID_TOTP_KEY_FILE     "totp-key"
#define ID_TOTP_KEY_BYTES    32  /* crypto_secretbox_KEYBYTES */
#define ID_TOTP_SEALED_MAX   128 /* "v1." and base64url of nonce, MAC and secret, and a NUL */
#define ID_TOTP_URI_MAX      1024

/* Initialises liboath once (thread-safe). Returns 0 or ERR_INTERNAL. */
int id_totp_init(void);

/* The step number of the instant now_ms (Unix time / 30 s). */
int64_t id_totp_step_at(int64_t now_ms);

/* The code of secret[0..len) for step, with digits (6..8) decimal digits, into out (NUL-ended).
 * Returns 0 or ERR_INTERNAL. */
int id_totp_code(const unsigned char *secret, size_t len, int64_t step, unsigned digits,
                 char out[9]);

/* Is code exactly ID_TOTP_DIGITS ASCII digits? */
int id_totp_code_syntax_valid(const char *code);

/* Checks code against the steps around now_ms (+-ID_TOTP_WINDOW), comparing in constant time.
 * Returns 0 with *step_out the newest matching step that is > last_step; ERR_CONFLICT when the
 * code matches only steps <= last_step (a replay); ERR_INVALID when it matches none or is
 * malformed. */
int id_totp_verify(const unsigned char *secret, size_t len, const char *code, int64_t now_ms,
                   int64_t last_step, int64_t *step_out);

/* ---- the secret at rest ---- */

/* Loads <data_dir>/totp-key (32 bytes, a regular file of mode 0600 or stricter, not a symbolic
 * link), creating it atomically from fresh random bytes when missing (two processes racing both
 * end up with the same key). Returns 0, ERR_INVALID (wrong size or mode), or ERR_IO. */
int id_totp_key_load(const char *data_dir, unsigned char key[ID_TOTP_KEY_BYTES], struct err *e);

/* Encrypts secret[0..len) (len <= ID_TOTP_SECRET_BYTES) under key with a fresh nonce into out:
 * "v1." followed by unpadded base64url of nonce || ciphertext. Returns 0 or ERR_INVALID. */
int id_totp_seal(const unsigned char key[ID_TOTP_KEY_BYTES], const unsigned char *secret,
                 size_t len, char out[ID_TOTP_SEALED_MAX]);

/* Decrypts a sealed text into secret (ID_TOTP_SECRET_BYTES bytes room), *len its length.
 * Returns 0, or ERR_INVALID when it is malformed or was not sealed under key. */
int id_totp_open(const unsigned char key[ID_TOTP_KEY_BYTES], const char *sealed,
                 unsigned char secret[ID_TOTP_SECRET_BYTES], size_t *len);

/* The enrolment URI for authenticator apps:
 * otpauth://totp/cityos:<email>?secret=<base32>&issuer=cityos&algorithm=SHA1&digits=6&period=30
 * (the e-mail address percent-encoded except for unreserved characters and '@'). Returns 0 or
 * ERR_TOOBIG / ERR_NOMEM. */
int id_totp_uri(const char *email, const unsigned char *secret, size_t len,
                char out[ID_TOTP_URI_MAX]);

/* ---- the person's TOTP columns ---- */

/* Stores sealed (NULL: removes the second factor) as the person's TOTP secret and resets the
 * last accepted step to 0. Returns 0, ERR_NOTFOUND, or the store's error. */
int id_totp_store(struct store *s, const char *person_id, const char *sealed, struct err *e);

/* Reads the person's sealed secret and last accepted step. Returns 0, ERR_NOTFOUND when the
 * person is unknown or has no secret, or the store's error. */
int id_totp_load(struct store *s, const char *person_id, char sealed[ID_TOTP_SEALED_MAX],
                 int64_t *last_step, struct err *e);

/* Inside a write: records step as the person's last accepted step if it is newer than the
 * stored one. Returns 0, or ERR_CONFLICT when it is not (a replay raced us), or the store's
 * error. */
int id_totp_accept_step(struct store_tx *tx, const char *person_id, int64_t step, struct err *e);

#endif

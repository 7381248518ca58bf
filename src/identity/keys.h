/* keys.h - the OpenID provider's Ed25519 signing keys: the key file in the data folder
 * (<data-dir>/signing-keys.json, mode 0600), rotation and retirement, and the process's key set. */
#ifndef COS_ID_KEYS_H
#define COS_ID_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "identity/jose.h"

#define ID_KEYS_FILE     "signing-keys.json"
#define ID_KEYS_MAX      16          /* keys kept at most; rotation beyond asks for retirement */
#define ID_KEYS_FILE_MAX (64 * 1024) /* a longer key file is refused as malformed */
#define ID_KEYS_DAY_MS   (86400LL * 1000LL)
#define ID_KEYS_PATH_MAX 4096

/* A set of signing keys, newest first: keys[0] signs, every key verifies and is published in
 * the JWKS. Plain value storage holding secrets: release it with id_keys_release(). */
struct id_keys {
    struct id_jose_key keys[ID_KEYS_MAX];
    size_t n;
};

/* Reads <dir>/signing-keys.json into *ks (replacing what it held). The file must be a regular
 * file with no group or other permission bits, at most ID_KEYS_FILE_MAX bytes, holding a JSON
 * array of 1..ID_KEYS_MAX private JWKs each exactly as id_jose_key_to_json() writes it, with
 * distinct kids. Keys are ordered newest first (by created_ms; ties keep file order). When the
 * file does not exist: with create set, one key made at now_ms is written (id_keys_save) and
 * loaded; without, ERR_NOTFOUND. Returns 0, ERR_NOTFOUND, ERR_INVALID (malformed, too loose
 * permissions: e names the file and says why, never quoting a secret), ERR_IO or ERR_NOMEM.
 * *ks is empty (wiped) on failure. */
int id_keys_load(struct id_keys *ks, const char *dir, int create, int64_t now_ms, struct err *e);

/* Writes ks (1..ID_KEYS_MAX keys, in order) to <dir>/signing-keys.json atomically: a new
 * <dir>/signing-keys.json.tmp with mode 0600, fsync, rename over the file, fsync of dir. A crash
 * leaves either the old file or the new one. Returns 0, ERR_INVALID (empty set), ERR_IO or
 * ERR_NOMEM (the temporary file is removed then). */
int id_keys_save(const struct id_keys *ks, const char *dir, struct err *e);

/* Makes a new key at now_ms and puts it first (it becomes the signing key); the others stay
 * for verification. Returns 0, ERR_TOOBIG when ks already holds ID_KEYS_MAX keys, or
 * ERR_INTERNAL (libsodium). */
int id_keys_rotate(struct id_keys *ks, int64_t now_ms, struct err *e);

/* Removes (wipes) every key created before cutoff_ms, except the signing key keys[0], which is
 * never retired. Returns how many were removed. */
size_t id_keys_retire(struct id_keys *ks, int64_t cutoff_ms);

/* The key that signs: the newest, or NULL when ks is empty. */
const struct id_jose_key *id_keys_signing(const struct id_keys *ks);

/* Wipes every key (id_jose_key_wipe) and empties the set. */
void id_keys_release(struct id_keys *ks);

/* ---- the process's keys, loaded by `cityos serve` ---- */

/* Loads (creating when absent) the keys of data folder dir into storage this module owns, for
 * the life of the server. Call before the server starts; returns like id_keys_load(). */
int id_keys_open(const char *dir, struct err *e);

/* The keys id_keys_open() loaded (empty before it, or after id_keys_close()). Read-only while
 * the server serves; the pointer stays valid until id_keys_close(). */
const struct id_keys *id_keys_get(void);

/* Wipes the process's keys. Call after the server has stopped. */
void id_keys_close(void);

#endif

/* jose.h - the JOSE primitives of the OpenID provider: Ed25519 signing keys (JWK, RFC 8037),
 * their JWKS, compact JWS with alg "EdDSA" only (RFC 7515), and JWT claim checks (RFC 7519). */
#ifndef COS_ID_JOSE_H
#define COS_ID_JOSE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define ID_JOSE_KID_LEN       43    /* a kid: base64url of a SHA-256 thumbprint, without the NUL */
#define ID_JOSE_MAX_LEN       16384 /* the longest compact JWS signed or accepted, in bytes */
#define ID_JOSE_MAX_LEEWAY    3600  /* the largest clock leeway id_jose_check_claims() accepts */
#define ID_JOSE_B64URL_LEN(n) ((n) / 3 * 4 + ((n) % 3 ? (n) % 3 + 1 : 0)) /* no padding, no NUL */

/* One Ed25519 signing key. kid is the RFC 7638 JWK thumbprint of the public key, so the same
 * key always has the same kid and a kid names exactly one key. sk is libsodium's secret key
 * (seed followed by pk). A key used only to verify needs kid and pk; sk may be all zero.
 * Wipe a key that held a secret with id_jose_key_wipe() before its memory is reused. */
struct id_jose_key {
    char kid[ID_JOSE_KID_LEN + 1];
    unsigned char pk[32];
    unsigned char sk[64];
    int64_t created_ms; /* when the key was made (Unix ms); orders keys for rotation */
};

/* ---- keys ---- */

/* Makes a new random key (randombytes_buf seed) created at created_ms. Returns 0, or
 * ERR_INTERNAL when libsodium cannot be initialised. */
int id_jose_key_generate(struct id_jose_key *k, int64_t created_ms);

/* Makes the key whose RFC 8032 private seed ("d" in the JWK) is seed. Returns 0 or
 * ERR_INTERNAL. Deterministic: used for test vectors and for keys read back from storage. */
int id_jose_key_from_seed(struct id_jose_key *k, const unsigned char seed[32], int64_t created_ms);

/* Writes the RFC 7638 thumbprint of an Ed25519 public key: base64url(SHA-256 of
 * {"crv":"Ed25519","kty":"OKP","x":"<base64url pk>"}) and a NUL into out. */
void id_jose_thumbprint(const unsigned char pk[32], char out[ID_JOSE_KID_LEN + 1]);

/* Zeroes *k (sodium_memzero), secret part included. */
void id_jose_key_wipe(struct id_jose_key *k);

/* The storage form of a key, a private JWK:
 *   {"kty":"OKP","crv":"Ed25519","kid":"...","x":"...","d":"...","created_ms":N}
 * with d the base64url private seed. Returns a malloc'ed NUL-terminated string holding the
 * secret, or NULL when out of memory. The caller stores it and releases it with
 * id_jose_secret_free(). Storing it is the caller's job: keys.c keeps the keys in a file of
 * mode 0600 in the data folder, outside the database (docs/internals/discovery.md says why). */
char *id_jose_key_to_json(const struct id_jose_key *k);

/* Reads the storage form back into *k. Strict: exactly the members above, kty "OKP", crv
 * "Ed25519", x and d 32 bytes of unpadded base64url, x the public key of d, kid the thumbprint
 * of x, created_ms a non-negative integer, and the text exactly as id_jose_key_to_json()
 * writes it (compact, in that order). Returns 0, ERR_INVALID (e says why, never quoting
 * the secret) or ERR_NOMEM. *k is wiped on failure. The JSON library's transient copies of d
 * are zeroed where cityos can reach them (the parsed string), not inside the parser. */
int id_jose_key_from_json(const char *text, size_t len, struct id_jose_key *k, struct err *e);

/* Zeroes the NUL-terminated string s and frees it. s may be NULL. */
void id_jose_secret_free(char *s);

/* The JWKS document (RFC 7517 section 5) publishing the public part of keys[0..n):
 *   {"keys":[{"kty":"OKP","crv":"Ed25519","x":"...","kid":"...","use":"sig","alg":"EdDSA"}]}
 * Publish every key whose tokens may still be verified: the current one and those retired
 * less than a token lifetime ago. Returns a malloc'ed string (the caller frees it), or NULL
 * when out of memory or keys is NULL with n > 0. Never contains private material. */
char *id_jose_jwks(const struct id_jose_key *keys, size_t n);

/* ---- compact JWS ---- */

/* Signs claims (a JSON object) as a compact JWS (a JWT) with protected header
 * {"alg":"EdDSA","typ":"JWT","kid":k->kid}; both parts are serialised compactly in insertion
 * order (jsonx_dumps). Returns a malloc'ed NUL-terminated token (the caller frees it), or NULL
 * with e: ERR_INVALID (claims not an object, k has no valid kid), ERR_TOOBIG (the token would
 * be longer than ID_JOSE_MAX_LEN, so id_jose_verify() would refuse it), ERR_NOMEM. */
char *id_jose_sign(const struct id_jose_key *k, const json_t *claims, struct err *e);

/* Signs header[0..header_len) and payload[0..payload_len) as given, with no check of either:
 * BASE64URL(header) "." BASE64URL(payload) "." BASE64URL(Ed25519 signature of the two first
 * parts). For test vectors (RFC 8037 A.4) and the fuzz target; cityos code uses id_jose_sign().
 * Returns like id_jose_sign(). */
char *id_jose_sign_raw(const struct id_jose_key *k, const char *header, size_t header_len,
                       const void *payload, size_t payload_len, struct err *e);

/* Verifies the compact JWS jws[0..len) against keys[0..n) and returns its claims. Refuses
 * (ERR_INVALID, e saying why) anything but: at most ID_JOSE_MAX_LEN bytes; exactly three parts
 * of unpadded base64url (strict alphabet, canonical final character); a protected header that
 * is a JSON object without duplicate members, with only the members alg, kid and typ, alg
 * exactly "EdDSA" (so "none", "HS256", "RS256", ... are refused), no "crit", typ absent or
 * "JWT", and a kid equal to the kid of one of keys; a 64-byte signature that verifies with
 * that key's pk over the first two parts; a payload, parsed only after the signature
 * verified, that is a JSON object without duplicate members written exactly as id_jose_sign()
 * writes it (compact, as jsonx_dumps gives it back: see jose.c on why). Returns 0 and sets
 * *claims to a new reference (the caller decrefs), or an error with *claims = NULL:
 * ERR_INVALID, or ERR_NOMEM when the JSON library says it ran out of memory (jansson 2.14
 * reports some allocation failures as syntax errors: those come back as ERR_INVALID, never as
 * wrong claims). Checks no claim: see id_jose_check_claims(). */
int id_jose_verify(const char *jws, size_t len, const struct id_jose_key *keys, size_t n,
                   json_t **claims, struct err *e);

/* Checks the registered claims of a verified JWT at now_s (Unix seconds), allowing leeway_s
 * (0..ID_JOSE_MAX_LEEWAY) of clock skew: exp required, an integer, and now_s < exp + leeway;
 * nbf, when present, an integer <= now_s + leeway; iat, when present, an integer
 * <= now_s + leeway; iss required and equal to iss; aud required and equal to aud, or an array
 * of strings containing aud. iss and aud must be given (a token checked against no audience is
 * the classic mix-up). NumericDates must be integers (cityos issues only integers). Returns 0
 * or ERR_INVALID with e naming the claim (never its value). */
int id_jose_check_claims(const json_t *claims, const char *iss, const char *aud, int64_t now_s,
                         int64_t leeway_s, struct err *e);

/* ---- base64url (RFC 4648 section 5, no padding) ---- */

/* Encodes bin[0..n) into out as ID_JOSE_B64URL_LEN(n) characters and a NUL. Returns 0, or
 * ERR_TOOBIG when cap is less than ID_JOSE_B64URL_LEN(n) + 1 (out untouched). */
int id_jose_b64url_encode(char *out, size_t cap, const void *bin, size_t n);

/* Decodes s[0..len) into out (cap bytes) and sets *out_len. Strict: only [A-Za-z0-9_-], no
 * padding, no whitespace, no length of the form 4k+1, and the unused low bits of the last
 * character zero (so each byte string has exactly one encoding). Returns 0, ERR_INVALID, or
 * ERR_TOOBIG when the decoded bytes would not fit in cap. */
int id_jose_b64url_decode(unsigned char *out, size_t cap, const char *s, size_t len,
                          size_t *out_len);

#endif

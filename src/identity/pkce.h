/* pkce.h - Proof Key for Code Exchange (RFC 7636) as the authorization server checks it:
 * method S256 only, verifier and challenge syntax, and the S256 comparison. */
#ifndef COS_ID_PKCE_H
#define COS_ID_PKCE_H

#define ID_PKCE_VERIFIER_MIN  43  /* RFC 7636 section 4.1 */
#define ID_PKCE_VERIFIER_MAX  128 /* RFC 7636 section 4.1 */
#define ID_PKCE_CHALLENGE_LEN 43  /* base64url of a SHA-256 digest, no padding */

/* Is method an allowed code_challenge_method? Only "S256": "plain" (which sends the secret
 * itself through the browser), an absent (NULL) method and anything else are refused.
 * Returns 1 or 0. */
int id_pkce_method_allowed(const char *method);

/* Is v a well-formed code_verifier: 43..128 characters of [A-Za-z0-9-._~]? Returns 1 or 0
 * (also for NULL). */
int id_pkce_verifier_valid(const char *v);

/* Is c a well-formed S256 code_challenge: exactly 43 characters of unpadded base64url that
 * decode to 32 bytes (the last character canonical, as every real digest encodes)? Returns 1
 * or 0 (also for NULL). */
int id_pkce_challenge_valid(const char *c);

/* Writes BASE64URL(SHA256(ASCII(verifier))) and a NUL into out. Returns 0, or ERR_INVALID
 * when verifier is not valid (out is then an empty string). */
int id_pkce_s256(const char *verifier, char out[ID_PKCE_CHALLENGE_LEN + 1]);

/* The token endpoint's check: returns 0 when verifier is valid, challenge is valid and
 * BASE64URL(SHA256(ASCII(verifier))) equals challenge (compared in constant time), and
 * ERR_INVALID otherwise. Note: 0 means the proof holds. */
int id_pkce_check_s256(const char *verifier, const char *challenge);

#endif

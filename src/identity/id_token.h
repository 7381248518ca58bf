/* id_token.h - OpenID Connect ID tokens (OIDC Core 1.0 sections 2 and 3.1.3.6) signed with the
 * server's current Ed25519 key, and the person claims that ID tokens and userinfo share
 * (OIDC Core 5.1 standard claims, with the kana names under the ja-Kana-JP language tag). */
#ifndef COS_ID_ID_TOKEN_H
#define COS_ID_ID_TOKEN_H

#include <jansson.h>
#include <stdint.h>

#include "base/err.h"
#include "identity/grant.h"
#include "identity/person.h"

/* Which claims a grant's scope releases. */
struct id_claims_scope {
    int openid;   /* an ID token at all, and userinfo */
    int profile;  /* name, family_name, given_name (+ kana), birthdate, gender */
    int fhiruser; /* fhirUser: the FHIR resource of the person who acts */
};

/* Reads the flags from a canonical scope text. Returns 0 or ERR_NOMEM / ERR_INVALID. */
int id_claims_scope_of(const char *scope_text, struct id_claims_scope *out, struct err *e);

/* Sets the claims p releases under cs into o: profile claims, fhirUser (issuer + "/fhir/" +
 * "Practitioner/<id>" when practitioner, else "Patient/<id>"). Returns 0 or -1 (no memory). */
int id_claims_person(json_t *o, const struct id_person *p, const struct id_claims_scope *cs,
                     const char *issuer, int practitioner);

/* An ID token for grant g: iss, sub (the person), aud (the client), exp (now + ttl_s), iat,
 * auth_time, amr, nonce (only when with_nonce: the code exchange, not a refresh) and the person
 * claims (p may be NULL when cs asks for none). Signed with id_keys_signing(id_keys_get()).
 * Returns a malloc'ed compact JWS (caller frees) or NULL with e. */
char *id_token_make_id_token(const struct id_grant *g, const struct id_person *p,
                             const struct id_claims_scope *cs, const char *issuer, int with_nonce,
                             int64_t now_ms, int64_t ttl_s, struct err *e);

#endif

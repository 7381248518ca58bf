/* grant.h - authorization grants of the code flow (table oauth_grant): one per approval on the
 * approval page, naming the client, the person, whom they act for (themselves, a person by a
 * family link, or an organisation in a role), the scope and audience. A grant yields one
 * single-use authorization code (auth_code) and, with offline_access, a chain of rotating
 * refresh tokens (refresh_token). Codes and refresh tokens are 256 random bits kept only as
 * BLAKE2b-256 hashes, like access tokens (token.h). Reusing a code or a refresh token revokes
 * the grant, and with it every token it produced (OAuth 2.0 Security BCP 4.13, RFC 6749 10.5). */
#ifndef COS_ID_GRANT_H
#define COS_ID_GRANT_H

#include <stdint.h>

#include "base/arena.h"
#include "base/err.h"
#include "base/ids.h"
#include "identity/pkce.h"
#include "identity/token.h"
#include "store/store.h"

struct audit_event;

#define ID_CODE_TTL_MS    (60LL * 1000)                /* RFC 6749 4.1.2: short; one minute */
#define ID_REFRESH_TTL_MS (30LL * 24 * 60 * 60 * 1000) /* 30 days from each rotation */
#define ID_NONCE_MAX      255                          /* bytes of an OpenID nonce */

/* One grant. Strings are borrowed (when writing) or in the arena given to a lookup. */
struct id_grant {
    char id[IDS_LEN + 1];
    char client_id[IDS_LEN + 1];
    char person_id[IDS_LEN + 1]; /* who approved and acts */
    const char *acting_for;      /* a delegate's subject; NULL */
    const char *org_id;          /* a practitioner's organisation; NULL */
    const char *role;            /* with org_id: the role's name ("doctor", ...); NULL */
    const char *scope;           /* canonical scope text granted */
    const char *audience;
    const char *nonce; /* OpenID nonce of the authorization request; NULL */
    const char *amr;   /* how the person authenticated: "pwd" or "pwd otp" */
    int64_t auth_time_ms;
    int64_t created_ms;
    int64_t revoked_ms; /* 0: stands */
};

/* ---- approval: a new grant and its code, stored in one write ---- */

struct id_code_issue {
    struct id_grant grant; /* filled by the caller but for id and created_ms */
    const char *redirect_uri;
    char challenge[ID_PKCE_CHALLENGE_LEN + 1];
    char code_hash[ID_TOKEN_HASH_HEX + 1];
    int64_t issued_ms, expires_ms;
};

/* Gives c->grant a new id, makes a code (its only clear copy in code_out) and sets the hash and
 * times for now_ms. Then store c with store_write[_async](id_code_issue_fn, c). */
void id_code_issue_prepare(struct id_code_issue *c, int64_t now_ms,
                           char code_out[ID_TOKEN_LEN + 1]);
int id_code_issue_fn(struct store_tx *tx, void *ctx, struct err *e);

/* ---- the token endpoint ---- */

/* What a presented code or refresh token is, read before the redeeming write. */
struct id_grant_lookup {
    struct id_grant grant;
    const char *redirect_uri; /* code only */
    const char *challenge;    /* code only */
    int64_t expires_ms;
    int64_t used_ms; /* 0: unused */
};

/* Finds a code (refresh 0) or a refresh token (refresh 1) by its text and its grant. Returns 0,
 * ERR_NOTFOUND (also for text longer than ID_TOKEN_IN_MAX), ERR_NOMEM or the store's error. */
int id_grant_lookup(struct store *s, int refresh, const char *text, struct id_grant_lookup *out,
                    struct arena *a, struct err *e);

enum id_redeem_result {
    ID_REDEEM_OK,
    ID_REDEEM_REUSED,         /* the code or refresh token was used before: grant revoked now */
    ID_REDEEM_REVOKED,        /* the grant was revoked */
    ID_REDEEM_NO_LONGER_HELD, /* the family link or practitioner role behind it ended */
};

/* The redeeming write: marks the code or refresh token used (exactly once, whoever races; the
 * caller has checked its client and expiry on the id_grant_lookup answer), re-checks the grant,
 * then stores a new access token and, when refresh is asked, a new refresh token. Fill the inputs,
 * run id_redeem_fn in a write, read the outputs. */
struct id_redeem {
    int refresh;                      /* 0: a code; 1: a refresh token */
    char hash[ID_TOKEN_HASH_HEX + 1]; /* of the presented code or refresh token */
    const struct id_grant *grant;     /* as id_grant_lookup found it */
    const char *access_scope;         /* the access token's scope (grant's or narrower) */
    int issue_refresh;                /* 1: also a refresh token */
    int64_t now_ms, access_ttl_s;
    /* NULL, or the audit record of what the exchange hands out (the person claims of an ID
     * token): appended to its subject's chain inside this write, only when the result is OK,
     * so the tokens and the record commit together and a refused redemption records nothing */
    const struct audit_event *audit;
    enum id_redeem_result result;         /* OUT */
    struct id_token_record access;        /* OUT (result OK) */
    char access_token[ID_TOKEN_LEN + 1];  /* OUT */
    char refresh_token[ID_TOKEN_LEN + 1]; /* OUT: "" when none */
};

/* Prepares r's tokens (random values and hashes) outside the write; call before the write. */
int id_redeem_prepare(struct id_redeem *r, struct err *e);
int id_redeem_fn(struct store_tx *tx, void *ctx, struct err *e);

/* Revokes grant_id (reason e.g. "revoked_by_client"); *revoked tells whether this write did. For
 * store_write of id_grant_revoke_fn. */
struct id_grant_revoke {
    char grant_id[IDS_LEN + 1];
    const char *reason;
    int64_t now_ms;
    int revoked; /* OUT */
};
int id_grant_revoke_fn(struct store_tx *tx, void *ctx, struct err *e);

#endif

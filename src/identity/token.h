/* token.h - opaque OAuth access tokens: 256 random bits handed out once in base64url, kept only
 * as their BLAKE2b-256 hash with client, subject, scope, audience, lifetime and revocation. */
#ifndef COS_ID_TOKEN_H
#define COS_ID_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/err.h"
#include "base/ids.h"
#include "store/store.h"

#define ID_TOKEN_LEN           43   /* 32 random bytes in unpadded base64url */
#define ID_TOKEN_HASH_HEX      64   /* hex of BLAKE2b-256 */
#define ID_TOKEN_IN_MAX        256  /* a presented token longer than this never matches */
#define ID_TOKEN_TTL_DEFAULT_S 900  /* 15 minutes */
#define ID_TOKEN_TTL_MIN_S     1    /* for tests with an injected clock; the server uses 900 */
#define ID_TOKEN_TTL_MAX_S     3600 /* 1 hour, the ceiling issue 3 sets */
#define ID_TOKEN_AUD_MAX       512  /* bytes of an audience */
#define ID_TOKEN_AUD_DEFAULT   "cityos"

/* One access token as stored. Text fields are NUL-terminated; who owns them is said where a
 * record is made. */
struct id_token_record {
    char hash[ID_TOKEN_HASH_HEX + 1]; /* primary key: hex BLAKE2b-256 of the token text */
    char client_id[IDS_LEN + 1];
    const char *subject_id; /* the person the token acts for; NULL for a client's own token */
    const char *scope;      /* canonical SMART scope text (id_scope_format) */
    const char *audience;   /* the resource server it is meant for */
    const char *grant_id;   /* the authorization grant it came from; NULL for none */
    int64_t issued_ms;
    int64_t expires_ms;
    int64_t revoked_ms; /* 0: not revoked */
    /* read from the token's grant by id_token_find (never written with the token) */
    const char *acting_for;   /* the person a delegate acts for; NULL */
    const char *org_id;       /* a practitioner's organisation; NULL */
    const char *role;         /* a practitioner's role; NULL */
    int64_t grant_revoked_ms; /* 0: the grant (if any) stands */
};

/* Hex BLAKE2b-256 of token[0..len): the key under which a token is stored. */
void id_token_hash(const char *token, size_t len, char out[ID_TOKEN_HASH_HEX + 1]);

/* Makes a new token: 32 bytes from randombytes_buf into token_out (unpadded base64url, the only
 * copy in clear), and fills rec with its hash, client_id, the borrowed subject_id, scope,
 * audience and grant_id (they must outlive rec's use), issued_ms = now_ms and expires_ms =
 * now_ms + ttl_s seconds. Returns 0, or ERR_INVALID when client_id is malformed, scope or
 * audience is missing, the audience is longer than ID_TOKEN_AUD_MAX, or ttl_s is outside
 * ID_TOKEN_TTL_MIN_S..ID_TOKEN_TTL_MAX_S. Nothing is stored. */
int id_token_new(struct id_token_record *rec, const char *client_id, const char *subject_id,
                 const char *scope, const char *audience, const char *grant_id, int64_t ttl_s,
                 int64_t now_ms, char token_out[ID_TOKEN_LEN + 1], struct err *e);

/* A store_write_fn that inserts ctx (a struct id_token_record) into access_token; for
 * store_write_async() from a handler. */
int id_token_insert_fn(struct store_tx *tx, void *ctx, struct err *e);

/* store_write() of id_token_insert_fn: stores rec durably. Returns 0 or the store's error. */
int id_token_store(struct store *s, const struct id_token_record *rec, struct err *e);

/* Finds a token by its text (hashed here), whatever its state. Strings of out are copied into a.
 * Returns 0, ERR_NOTFOUND when unknown (also for text that cannot be a token: empty, longer than
 * ID_TOKEN_IN_MAX), ERR_NOMEM, or the store's error. */
int id_token_find(struct store *s, const char *token, size_t len, struct id_token_record *out,
                  struct arena *a, struct err *e);

/* Is rec usable at now_ms: neither it nor its grant revoked, and now_ms < expires_ms? */
int id_token_active(const struct id_token_record *rec, int64_t now_ms);

/* id_token_find() and id_token_active(): returns 0 for an active token, ERR_NOTFOUND for an
 * unknown, expired or revoked one (e says which; never reveal it to a client), or the store's
 * error. */
int id_token_lookup(struct store *s, const char *token, size_t len, int64_t now_ms,
                    struct id_token_record *out, struct arena *a, struct err *e);

/* Revocation of one token on behalf of the client it was issued to: fill hash and client_id
 * and now_ms, then run id_token_revoke_fn in a write. revoked tells 1 when this write revoked
 * it, 0 when it was already revoked, unknown or another client's. */
struct id_token_revoke {
    char hash[ID_TOKEN_HASH_HEX + 1];
    char client_id[IDS_LEN + 1];
    int64_t now_ms;
    int revoked; /* OUT */
};

int id_token_revoke_fn(struct store_tx *tx, void *ctx, struct err *e);

/* store_write() of id_token_revoke_fn for token text. Returns 0 (see r->revoked) or the store's
 * error. */
int id_token_revoke(struct store *s, const char *token, size_t len, const char *client_id,
                    int64_t now_ms, int *revoked, struct err *e);

#endif

/* client.h - OAuth 2.0 clients of the regional ID: registration with exact redirect URIs,
 * allowed scopes and grant types, and confidential clients' secrets (shown once, kept hashed). */
#ifndef COS_ID_CLIENT_H
#define COS_ID_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/err.h"
#include "base/ids.h"
#include "store/store.h"

#define ID_CLIENT_NAME_MAX      100  /* code points */
#define ID_CLIENT_REDIRECTS_MAX 10   /* redirect URIs per client */
#define ID_CLIENT_REDIRECT_MAX  512  /* bytes per redirect URI */
#define ID_CLIENT_SCOPES_MAX    1024 /* bytes of the space-separated scope list */
#define ID_CLIENT_SCOPE_MAX     128  /* bytes per scope */
#define ID_CLIENT_SECRET_LEN    43   /* 32 random bytes in unpadded base64url */
#define ID_CLIENT_SECRET_MAX_IN 256  /* a presented secret longer than this never matches */
#define ID_GRANT_TYPES_TEXT_MAX 64

enum id_client_kind { ID_CLIENT_PUBLIC, ID_CLIENT_CONFIDENTIAL };

#define ID_GRANT_AUTHORIZATION_CODE 1u
#define ID_GRANT_CLIENT_CREDENTIALS 2u
#define ID_GRANT_REFRESH_TOKEN      4u

/* Input of id_client_create; everything borrowed for the call. */
struct id_client_new {
    const char *name; /* 1..100 printable characters */
    enum id_client_kind kind;
    const char *const *redirect_uris; /* n_redirect_uris exact URIs (see id_client_check_uri) */
    size_t n_redirect_uris;
    const char *scopes;   /* space-separated OAuth scope tokens, at least one */
    unsigned grant_types; /* ID_GRANT_* bits */
    const char *org_id;   /* NULL or "": none; else an existing organisation */
};

/* A stored client; strings and the array belong to the arena given to id_client_get. The
 * secret's hash never leaves the module. */
struct id_client {
    char id[IDS_LEN + 1]; /* the client_id */
    const char *name;
    enum id_client_kind kind;
    const char **redirect_uris;
    size_t n_redirect_uris;
    const char *scopes;
    unsigned grant_types;
    const char *org_id; /* NULL when absent */
    int has_secret;
    int64_t created_ms;
};

/* Validates in and registers a client under a new random client_id (id_out). A confidential
 * client gets a new secret of 256 random bits, written to secret_out as unpadded base64url:
 * this is the only time it exists in clear; only its BLAKE2b-256 hash is stored. A public
 * client gets secret_out = "". Rules: client_credentials only for confidential clients;
 * refresh_token only with authorization_code; redirect URIs (1..10) exactly when
 * authorization_code is allowed. Returns 0, ERR_INVALID naming the field, ERR_NOTFOUND for an
 * unknown org_id, or the store's error. */
int id_client_create(struct store *s, const struct id_client_new *in, char id_out[IDS_LEN + 1],
                     char secret_out[ID_CLIENT_SECRET_LEN + 1], struct err *e);

/* Reads a client. Returns 0, ERR_NOTFOUND, ERR_INVALID for a malformed id, or the store's
 * error. */
int id_client_get(struct store *s, const char *id, struct id_client *out, struct arena *a,
                  struct err *e);

/* Does secret belong to confidential client id? Compares hashes in constant time. Returns 0 on a
 * match; ERR_INVALID for a wrong secret or a public client; ERR_NOTFOUND for an unknown client;
 * or the store's error. */
int id_client_check_secret(struct store *s, const char *id, const char *secret, struct err *e);

/* Is uri acceptable as a registered redirect URI? Absolute https (RFC 6749 3.1.2, OAuth 2.0
 * Security BCP), or http on a loopback host (127.0.0.1, [::1], localhost) for native apps
 * (RFC 8252 7.3); no fragment, no user information, only URI characters. Returns 0 or
 * ERR_INVALID naming the rule. */
int id_client_check_uri(const char *uri, struct err *e);

/* Is uri, byte for byte, one of the client's registered redirect URIs? */
int id_client_redirect_registered(const struct id_client *c, const char *uri);

/* "authorization_code,refresh_token" <-> ID_GRANT_* bits; parse refuses unknown, repeated or
 * empty names (ERR_INVALID); format writes the canonical order. */
int id_grant_types_parse(const char *text, unsigned *out, struct err *e);
const char *id_grant_types_format(unsigned grants, char buf[ID_GRANT_TYPES_TEXT_MAX]);
const char *id_client_kind_name(enum id_client_kind v);
int id_client_kind_parse(const char *text, enum id_client_kind *out);

#endif

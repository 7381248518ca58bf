/* token.c - the access_token table: issuing random opaque tokens stored only as BLAKE2b-256
 * hashes, finding them by hash, and revoking them for the client they were issued to. */
#include "identity/token.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define TOKEN_BYTES 32
#define HASH_BYTES  32

static const char SQL_INSERT[] =
    "INSERT INTO access_token (hash, client_id, subject_id, scope, audience, grant_id, "
    "issued_ms, expires_ms, revoked_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)";
static const char SQL_FIND[] =
    "SELECT t.client_id, t.subject_id, t.scope, t.audience, t.grant_id, t.issued_ms, "
    "t.expires_ms, t.revoked_ms, g.acting_for, g.org_id, g.role, g.revoked_ms "
    "FROM access_token t LEFT JOIN oauth_grant g ON g.id = t.grant_id WHERE t.hash = ?";
static const char SQL_REVOKE[] = "UPDATE access_token SET revoked_ms = ? "
                                 "WHERE hash = ? AND client_id = ? AND revoked_ms IS NULL";

void id_token_hash(const char *token, size_t len, char out[ID_TOKEN_HASH_HEX + 1])
{
    unsigned char h[HASH_BYTES];
    crypto_generichash(h, sizeof h, (const unsigned char *)token, len, NULL, 0);
    sodium_bin2hex(out, ID_TOKEN_HASH_HEX + 1, h, sizeof h);
}

int id_token_new(struct id_token_record *rec, const char *client_id, const char *subject_id,
                 const char *scope, const char *audience, const char *grant_id, int64_t ttl_s,
                 int64_t now_ms, char token_out[ID_TOKEN_LEN + 1], struct err *e)
{
    token_out[0] = '\0';
    if (client_id == NULL || !ids_valid(client_id))
        return err_set(e, ERR_INVALID, "client_id: not a well-formed client id");
    if (scope == NULL || scope[0] == '\0')
        return err_set(e, ERR_INVALID, "scope: a token needs at least one scope");
    if (audience == NULL || audience[0] == '\0' || strlen(audience) > ID_TOKEN_AUD_MAX)
        return err_set(e, ERR_INVALID, "audience: 1..%d bytes", ID_TOKEN_AUD_MAX);
    if (ttl_s < ID_TOKEN_TTL_MIN_S || ttl_s > ID_TOKEN_TTL_MAX_S)
        return err_set(e, ERR_INVALID, "lifetime: %d..%d seconds", ID_TOKEN_TTL_MIN_S,
                       ID_TOKEN_TTL_MAX_S);
    unsigned char raw[TOKEN_BYTES];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(token_out, ID_TOKEN_LEN + 1, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
    memset(rec, 0, sizeof *rec);
    id_token_hash(token_out, ID_TOKEN_LEN, rec->hash);
    memcpy(rec->client_id, client_id, IDS_LEN + 1);
    rec->subject_id = subject_id;
    rec->scope = scope;
    rec->audience = audience;
    rec->grant_id = grant_id;
    rec->issued_ms = now_ms;
    rec->expires_ms = now_ms + ttl_s * 1000;
    return 0;
}

int id_token_insert_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    const struct id_token_record *r = ctx;
    struct store_value v[] = {
        STORE_TEXT_V(r->hash),
        STORE_TEXT_V(r->client_id),
        r->subject_id ? STORE_TEXT_V(r->subject_id) : STORE_NULL_V,
        STORE_TEXT_V(r->scope),
        STORE_TEXT_V(r->audience),
        r->grant_id ? STORE_TEXT_V(r->grant_id) : STORE_NULL_V,
        STORE_INT_V(r->issued_ms),
        STORE_INT_V(r->expires_ms),
    };
    int rc = store_tx_exec(tx, SQL_INSERT, v, sizeof v / sizeof v[0], e);
    return rc < 0 ? rc : 0;
}

int id_token_store(struct store *s, const struct id_token_record *rec, struct err *e)
{
    return store_write(s, id_token_insert_fn, (void *)rec, e);
}

struct find_ctx {
    struct id_token_record *out;
    struct arena *a;
    int found, nomem;
};

static const char *copy_text(const struct store_row *row, int col, struct find_ctx *f)
{
    if (store_row_is_null(row, col))
        return NULL;
    size_t len = 0;
    const char *t = store_row_text(row, col, &len);
    char *c = arena_strndup(f->a, t != NULL ? t : "", len);
    if (c == NULL)
        f->nomem = 1;
    return c;
}

static int read_token(const struct store_row *row, void *ctx)
{
    struct find_ctx *f = ctx;
    struct id_token_record *r = f->out;
    const char *cid = store_row_text(row, 0, NULL);
    snprintf(r->client_id, sizeof r->client_id, "%s", cid != NULL ? cid : "");
    r->subject_id = copy_text(row, 1, f);
    r->scope = copy_text(row, 2, f);
    r->audience = copy_text(row, 3, f);
    r->grant_id = copy_text(row, 4, f);
    r->issued_ms = store_row_int(row, 5);
    r->expires_ms = store_row_int(row, 6);
    r->revoked_ms = store_row_is_null(row, 7) ? 0 : store_row_int(row, 7);
    r->acting_for = copy_text(row, 8, f);
    r->org_id = copy_text(row, 9, f);
    r->role = copy_text(row, 10, f);
    r->grant_revoked_ms = store_row_is_null(row, 11) ? 0 : store_row_int(row, 11);
    f->found = 1;
    return 1;
}

int id_token_find(struct store *s, const char *token, size_t len, struct id_token_record *out,
                  struct arena *a, struct err *e)
{
    memset(out, 0, sizeof *out);
    if (token == NULL || len == 0 || len > ID_TOKEN_IN_MAX)
        return err_set(e, ERR_NOTFOUND, "no such token");
    id_token_hash(token, len, out->hash);
    struct find_ctx f = {out, a, 0, 0};
    struct store_value v[] = {STORE_TEXT_V(out->hash)};
    int rc = store_query(s, SQL_FIND, v, 1, read_token, &f, e);
    if (rc != 0)
        return rc;
    if (f.nomem)
        return err_set(e, ERR_NOMEM, "out of memory");
    if (!f.found)
        return err_set(e, ERR_NOTFOUND, "no such token");
    return 0;
}

int id_token_active(const struct id_token_record *rec, int64_t now_ms)
{
    return rec->revoked_ms == 0 && rec->grant_revoked_ms == 0 && now_ms < rec->expires_ms;
}

int id_token_lookup(struct store *s, const char *token, size_t len, int64_t now_ms,
                    struct id_token_record *out, struct arena *a, struct err *e)
{
    int rc = id_token_find(s, token, len, out, a, e);
    if (rc != 0)
        return rc;
    if (out->revoked_ms != 0)
        return err_set(e, ERR_NOTFOUND, "the token was revoked");
    if (out->grant_revoked_ms != 0)
        return err_set(e, ERR_NOTFOUND, "the token's grant was revoked");
    if (now_ms >= out->expires_ms)
        return err_set(e, ERR_NOTFOUND, "the token expired");
    return 0;
}

int id_token_revoke_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct id_token_revoke *r = ctx;
    struct store_value v[] = {STORE_INT_V(r->now_ms), STORE_TEXT_V(r->hash),
                              STORE_TEXT_V(r->client_id)};
    int rc = store_tx_exec(tx, SQL_REVOKE, v, 3, e);
    if (rc < 0)
        return rc;
    r->revoked = rc > 0;
    return 0;
}

int id_token_revoke(struct store *s, const char *token, size_t len, const char *client_id,
                    int64_t now_ms, int *revoked, struct err *e)
{
    struct id_token_revoke r = {.now_ms = now_ms};
    *revoked = 0;
    if (client_id == NULL || !ids_valid(client_id))
        return err_set(e, ERR_INVALID, "client_id: not a well-formed client id");
    if (token == NULL || len == 0 || len > ID_TOKEN_IN_MAX)
        return 0;
    id_token_hash(token, len, r.hash);
    memcpy(r.client_id, client_id, IDS_LEN + 1);
    int rc = store_write(s, id_token_revoke_fn, &r, e);
    if (rc == 0)
        *revoked = r.revoked;
    return rc;
}

/* grant.c - oauth_grant, auth_code and refresh_token: storing an approval with its code,
 * reading a presented code or refresh token, and the one write that redeems it. */
#include "identity/grant.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "audit/audit.h"

static const char SQL_GRANT_INSERT[] =
    "INSERT INTO oauth_grant (id, client_id, person_id, acting_for, org_id, role, scope, "
    "audience, nonce, amr, auth_time_ms, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char SQL_CODE_INSERT[] =
    "INSERT INTO auth_code (hash, grant_id, redirect_uri, code_challenge, issued_ms, expires_ms) "
    "VALUES (?, ?, ?, ?, ?, ?)";
#define GRANT_COLUMNS                                                                              \
    "g.id, g.client_id, g.person_id, g.acting_for, g.org_id, g.role, g.scope, g.audience, "        \
    "g.nonce, g.amr, g.auth_time_ms, g.created_ms, g.revoked_ms"
static const char SQL_FIND_CODE[] =
    "SELECT " GRANT_COLUMNS ", c.redirect_uri, c.code_challenge, c.expires_ms, c.used_ms "
    "FROM auth_code c JOIN oauth_grant g ON g.id = c.grant_id WHERE c.hash = ?";
static const char SQL_FIND_REFRESH[] =
    "SELECT " GRANT_COLUMNS ", NULL, NULL, r.expires_ms, r.used_ms "
    "FROM refresh_token r JOIN oauth_grant g ON g.id = r.grant_id WHERE r.hash = ?";
static const char SQL_USE_CODE[] =
    "UPDATE auth_code SET used_ms = ? WHERE hash = ? AND used_ms IS NULL";
static const char SQL_USE_REFRESH[] =
    "UPDATE refresh_token SET used_ms = ? WHERE hash = ? AND used_ms IS NULL";
static const char SQL_GRANT_STATE[] = "SELECT revoked_ms FROM oauth_grant WHERE id = ?";
static const char SQL_REVOKE[] = "UPDATE oauth_grant SET revoked_ms = ?, revoked_reason = ? "
                                 "WHERE id = ? AND revoked_ms IS NULL";
static const char SQL_LINK_HELD[] =
    "SELECT 1 FROM family_link WHERE subject_id = ? AND delegate_id = ? AND valid_from_ms <= ? "
    "AND (valid_until_ms IS NULL OR valid_until_ms > ?)";
static const char SQL_ROLE_HELD[] = "SELECT 1 FROM practitioner_role WHERE person_id = ? "
                                    "AND org_id = ? AND role = ? AND active = 1";
static const char SQL_REFRESH_INSERT[] =
    "INSERT INTO refresh_token (hash, grant_id, issued_ms, expires_ms) VALUES (?, ?, ?, ?)";

/* 256 random bits as unpadded base64url (text) and the hex BLAKE2b-256 of that text (hash). */
static void new_secret(char text[ID_TOKEN_LEN + 1], char hash[ID_TOKEN_HASH_HEX + 1])
{
    unsigned char raw[32];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(text, ID_TOKEN_LEN + 1, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
    id_token_hash(text, ID_TOKEN_LEN, hash);
}

static struct store_value text_or_null(const char *s)
{
    return s != NULL ? STORE_TEXT_V(s) : STORE_NULL_V;
}

void id_code_issue_prepare(struct id_code_issue *c, int64_t now_ms, char code_out[ID_TOKEN_LEN + 1])
{
    ids_new(c->grant.id);
    c->grant.created_ms = now_ms;
    c->issued_ms = now_ms;
    c->expires_ms = now_ms + ID_CODE_TTL_MS;
    new_secret(code_out, c->code_hash);
}

int id_code_issue_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    const struct id_code_issue *c = ctx;
    const struct id_grant *g = &c->grant;
    struct store_value gv[] = {
        STORE_TEXT_V(g->id),         STORE_TEXT_V(g->client_id),   STORE_TEXT_V(g->person_id),
        text_or_null(g->acting_for), text_or_null(g->org_id),      text_or_null(g->role),
        STORE_TEXT_V(g->scope),      STORE_TEXT_V(g->audience),    text_or_null(g->nonce),
        STORE_TEXT_V(g->amr),        STORE_INT_V(g->auth_time_ms), STORE_INT_V(g->created_ms),
    };
    int rc = store_tx_exec(tx, SQL_GRANT_INSERT, gv, sizeof gv / sizeof gv[0], e);
    if (rc < 0)
        return rc;
    struct store_value cv[] = {
        STORE_TEXT_V(c->code_hash), STORE_TEXT_V(g->id),       STORE_TEXT_V(c->redirect_uri),
        STORE_TEXT_V(c->challenge), STORE_INT_V(c->issued_ms), STORE_INT_V(c->expires_ms),
    };
    rc = store_tx_exec(tx, SQL_CODE_INSERT, cv, sizeof cv / sizeof cv[0], e);
    return rc < 0 ? rc : 0;
}

struct lookup_ctx {
    struct id_grant_lookup *out;
    struct arena *a;
    int found, nomem;
};

static const char *column_text(const struct store_row *row, int col, struct lookup_ctx *l)
{
    if (store_row_is_null(row, col))
        return NULL;
    size_t len = 0;
    const char *t = store_row_text(row, col, &len);
    char *c = arena_strndup(l->a, t != NULL ? t : "", len);
    if (c == NULL)
        l->nomem = 1;
    return c;
}

static void column_id(const struct store_row *row, int col, char out[IDS_LEN + 1])
{
    const char *t = store_row_text(row, col, NULL);
    snprintf(out, IDS_LEN + 1, "%s", t != NULL ? t : "");
}

static int read_lookup(const struct store_row *row, void *ctx)
{
    struct lookup_ctx *l = ctx;
    struct id_grant *g = &l->out->grant;
    column_id(row, 0, g->id);
    column_id(row, 1, g->client_id);
    column_id(row, 2, g->person_id);
    g->acting_for = column_text(row, 3, l);
    g->org_id = column_text(row, 4, l);
    g->role = column_text(row, 5, l);
    g->scope = column_text(row, 6, l);
    g->audience = column_text(row, 7, l);
    g->nonce = column_text(row, 8, l);
    g->amr = column_text(row, 9, l);
    g->auth_time_ms = store_row_int(row, 10);
    g->created_ms = store_row_int(row, 11);
    g->revoked_ms = store_row_is_null(row, 12) ? 0 : store_row_int(row, 12);
    l->out->redirect_uri = column_text(row, 13, l);
    l->out->challenge = column_text(row, 14, l);
    l->out->expires_ms = store_row_int(row, 15);
    l->out->used_ms = store_row_is_null(row, 16) ? 0 : store_row_int(row, 16);
    l->found = 1;
    return 1;
}

int id_grant_lookup(struct store *s, int refresh, const char *text, struct id_grant_lookup *out,
                    struct arena *a, struct err *e)
{
    memset(out, 0, sizeof *out);
    size_t len = text != NULL ? strlen(text) : 0;
    if (len == 0 || len > ID_TOKEN_IN_MAX)
        return err_set(e, ERR_NOTFOUND, "no such code or refresh token");
    char hash[ID_TOKEN_HASH_HEX + 1];
    id_token_hash(text, len, hash);
    struct lookup_ctx l = {out, a, 0, 0};
    struct store_value v[] = {STORE_TEXT_V(hash)};
    int rc = store_query(s, refresh ? SQL_FIND_REFRESH : SQL_FIND_CODE, v, 1, read_lookup, &l, e);
    if (rc != 0)
        return rc;
    if (l.nomem)
        return err_set(e, ERR_NOMEM, "out of memory");
    if (!l.found)
        return err_set(e, ERR_NOTFOUND, "no such code or refresh token");
    return 0;
}

int id_redeem_prepare(struct id_redeem *r, struct err *e)
{
    const struct id_grant *g = r->grant;
    int rc = id_token_new(&r->access, g->client_id, g->person_id, r->access_scope, g->audience,
                          g->id, r->access_ttl_s, r->now_ms, r->access_token, e);
    if (rc != 0)
        return rc;
    r->refresh_token[0] = '\0';
    return 0;
}

static int row_exists(const struct store_row *row, void *ctx)
{
    (void)row;
    *(int *)ctx = 1;
    return 1;
}

static int read_revoked(const struct store_row *row, void *ctx)
{
    *(int64_t *)ctx = store_row_is_null(row, 0) ? 0 : store_row_int(row, 0);
    return 1;
}

static int revoke_grant(struct store_tx *tx, const char *grant_id, const char *reason,
                        int64_t now_ms, struct err *e)
{
    struct store_value v[] = {STORE_INT_V(now_ms), STORE_TEXT_V(reason), STORE_TEXT_V(grant_id)};
    return store_tx_exec(tx, SQL_REVOKE, v, 3, e);
}

/* Does the person still hold what the grant acts by (the family link or the role)? */
static int grant_still_held(struct store_tx *tx, const struct id_grant *g, int64_t now_ms,
                            int *held, struct err *e)
{
    *held = 1;
    if (g->acting_for != NULL) {
        *held = 0;
        struct store_value v[] = {STORE_TEXT_V(g->acting_for), STORE_TEXT_V(g->person_id),
                                  STORE_INT_V(now_ms), STORE_INT_V(now_ms)};
        return store_tx_query(tx, SQL_LINK_HELD, v, 4, row_exists, held, e);
    }
    if (g->org_id != NULL) {
        *held = 0;
        struct store_value v[] = {STORE_TEXT_V(g->person_id), STORE_TEXT_V(g->org_id),
                                  text_or_null(g->role)};
        return store_tx_query(tx, SQL_ROLE_HELD, v, 3, row_exists, held, e);
    }
    return 0;
}

int id_redeem_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct id_redeem *r = ctx;
    const struct id_grant *g = r->grant;
    struct store_value use[] = {STORE_INT_V(r->now_ms), STORE_TEXT_V(r->hash)};
    int rc = store_tx_exec(tx, r->refresh ? SQL_USE_REFRESH : SQL_USE_CODE, use, 2, e);
    if (rc < 0)
        return rc;
    if (rc == 0) { /* used before: whoever holds it is replaying it */
        r->result = ID_REDEEM_REUSED;
        rc = revoke_grant(tx, g->id, r->refresh ? "refresh_token_reuse" : "code_reuse", r->now_ms,
                          e);
        return rc < 0 ? rc : 0;
    }
    int64_t revoked = 0;
    struct store_value gid[] = {STORE_TEXT_V(g->id)};
    if ((rc = store_tx_query(tx, SQL_GRANT_STATE, gid, 1, read_revoked, &revoked, e)) != 0)
        return rc;
    if (revoked != 0) {
        r->result = ID_REDEEM_REVOKED;
        return 0;
    }
    int held = 0;
    if ((rc = grant_still_held(tx, g, r->now_ms, &held, e)) != 0)
        return rc;
    if (!held) {
        r->result = ID_REDEEM_NO_LONGER_HELD;
        rc = revoke_grant(tx, g->id, "link_or_role_ended", r->now_ms, e);
        return rc < 0 ? rc : 0;
    }
    if ((rc = id_token_insert_fn(tx, &r->access, e)) != 0)
        return rc;
    if (r->issue_refresh) {
        char hash[ID_TOKEN_HASH_HEX + 1];
        new_secret(r->refresh_token, hash);
        struct store_value v[] = {STORE_TEXT_V(hash), STORE_TEXT_V(g->id), STORE_INT_V(r->now_ms),
                                  STORE_INT_V(r->now_ms + ID_REFRESH_TTL_MS)};
        rc = store_tx_exec(tx, SQL_REFRESH_INSERT, v, 4, e);
        if (rc < 0)
            return rc;
    }
    if (r->audit != NULL && (rc = audit_append(tx, r->audit, NULL, e)) != 0)
        return rc;
    r->result = ID_REDEEM_OK;
    return 0;
}

int id_grant_revoke_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct id_grant_revoke *r = ctx;
    int rc = revoke_grant(tx, r->grant_id, r->reason, r->now_ms, e);
    if (rc < 0)
        return rc;
    r->revoked = rc > 0;
    return 0;
}

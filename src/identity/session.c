/* session.c - the web_session table: making random session values kept only as BLAKE2b-256
 * hashes, finding the request's active session by its cookie, ending it, and CSRF comparison. */
#include "identity/session.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "base/clock.h"

#define RANDOM_BYTES 32

static const char SQL_INSERT[] =
    "INSERT INTO web_session (hash, person_id, csrf, amr, auth_time_ms, created_ms, expires_ms, "
    "ended_ms) VALUES (?, ?, ?, ?, ?, ?, ?, NULL)";
static const char SQL_FIND[] =
    "SELECT person_id, csrf, amr, auth_time_ms, created_ms, expires_ms FROM web_session "
    "WHERE hash = ? AND ended_ms IS NULL AND expires_ms > ?";
static const char SQL_END[] =
    "UPDATE web_session SET ended_ms = ? WHERE hash = ? AND ended_ms IS NULL";

int id_session_value_valid(const char *v)
{
    if (v == NULL)
        return 0;
    size_t n = 0;
    for (; v[n] != '\0'; n++) {
        char c = v[n];
        if (n >= ID_SESSION_VALUE_LEN || !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                                           (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return 0;
    }
    return n == ID_SESSION_VALUE_LEN;
}

void id_session_random(char out[ID_SESSION_VALUE_LEN + 1])
{
    unsigned char raw[RANDOM_BYTES];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(out, ID_SESSION_VALUE_LEN + 1, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
}

void id_session_hash(const char *value, char out[65])
{
    unsigned char h[32];
    crypto_generichash(h, sizeof h, (const unsigned char *)value, strlen(value), NULL, 0);
    sodium_bin2hex(out, 65, h, sizeof h);
}

static int amr_valid(const char *amr)
{
    return amr != NULL && (strcmp(amr, "pwd") == 0 || strcmp(amr, "pwd otp") == 0);
}

int id_session_new(struct id_session *ss, const char *person_id, const char *amr,
                   int64_t auth_time_ms, int64_t now_ms, char value_out[ID_SESSION_VALUE_LEN + 1],
                   struct err *e)
{
    value_out[0] = '\0';
    memset(ss, 0, sizeof *ss);
    if (person_id == NULL || !ids_valid(person_id))
        return err_set(e, ERR_INVALID, "person_id: not a well-formed regional ID");
    if (!amr_valid(amr))
        return err_set(e, ERR_INVALID, "amr: \"pwd\" or \"pwd otp\"");
    id_session_random(value_out);
    id_session_hash(value_out, ss->hash);
    memcpy(ss->person_id, person_id, IDS_LEN + 1);
    id_session_random(ss->csrf);
    snprintf(ss->amr, sizeof ss->amr, "%s", amr);
    ss->auth_time_ms = auth_time_ms;
    ss->created_ms = now_ms;
    ss->expires_ms = now_ms + ID_SESSION_TTL_MS;
    return 0;
}

int id_session_insert_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    const struct id_session *ss = ctx;
    struct store_value v[] = {
        STORE_TEXT_V(ss->hash),      STORE_TEXT_V(ss->person_id),   STORE_TEXT_V(ss->csrf),
        STORE_TEXT_V(ss->amr),       STORE_INT_V(ss->auth_time_ms), STORE_INT_V(ss->created_ms),
        STORE_INT_V(ss->expires_ms),
    };
    int rc = store_tx_exec(tx, SQL_INSERT, v, sizeof v / sizeof v[0], e);
    return rc < 0 ? rc : 0;
}

struct find_ctx {
    struct id_session *out;
    int found, bad;
};

static int copy_col(const struct store_row *row, int col, char *dst, size_t cap)
{
    size_t len = 0;
    const char *t = store_row_text(row, col, &len);
    if (t == NULL || len >= cap)
        return -1;
    memcpy(dst, t, len);
    dst[len] = '\0';
    return 0;
}

static int read_session(const struct store_row *row, void *ctx)
{
    struct find_ctx *f = ctx;
    struct id_session *o = f->out;
    if (copy_col(row, 0, o->person_id, sizeof o->person_id) != 0 ||
        copy_col(row, 1, o->csrf, sizeof o->csrf) != 0 ||
        copy_col(row, 2, o->amr, sizeof o->amr) != 0)
        f->bad = 1;
    o->auth_time_ms = store_row_int(row, 3);
    o->created_ms = store_row_int(row, 4);
    o->expires_ms = store_row_int(row, 5);
    f->found = 1;
    return 1;
}

int id_session_find(struct store *s, const char *value, int64_t now_ms, struct id_session *out,
                    struct err *e)
{
    memset(out, 0, sizeof *out);
    if (!id_session_value_valid(value))
        return err_set(e, ERR_NOTFOUND, "no session");
    id_session_hash(value, out->hash);
    struct find_ctx f = {out, 0, 0};
    struct store_value v[] = {STORE_TEXT_V(out->hash), STORE_INT_V(now_ms)};
    int rc = store_query(s, SQL_FIND, v, 2, read_session, &f, e);
    if (rc != 0)
        return rc;
    if (f.bad)
        return err_set(e, ERR_INTERNAL, "a stored session is malformed");
    if (!f.found)
        return err_set(e, ERR_NOTFOUND, "no session");
    return 0;
}

int id_session_current(struct http_request *req, struct store *s, struct id_session *out,
                       struct err *e)
{
    return id_session_find(s, http_cookie(req, ID_SESSION_COOKIE), clock_now_ms(), out, e);
}

int id_session_csrf_valid(const struct id_session *ss, const char *presented)
{
    if (ss == NULL || presented == NULL || ss->csrf[0] == '\0' ||
        strlen(presented) != ID_SESSION_CSRF_LEN || strlen(ss->csrf) != ID_SESSION_CSRF_LEN)
        return 0;
    return sodium_memcmp(ss->csrf, presented, ID_SESSION_CSRF_LEN) == 0;
}

int id_session_end_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct id_session_end *x = ctx;
    struct store_value v[] = {STORE_INT_V(x->now_ms), STORE_TEXT_V(x->hash)};
    int rc = store_tx_exec(tx, SQL_END, v, 2, e);
    if (rc < 0)
        return rc;
    x->ended = rc > 0;
    return 0;
}

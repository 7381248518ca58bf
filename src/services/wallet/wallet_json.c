/* wallet_json.c - the wallet's request bodies (internal.h): strict shapes (only known members,
 * integer yen within bounds, account references, RFC 3339 expiries), the Idempotency-Key
 * syntax and the canonical hash a key is bound to. Fuzzed by fuzz/fuzz_wallet_json.c. */
#include <sodium.h>
#include <string.h>

#include "base/clock.h"
#include "base/jsonx.h"
#include "base/utf8.h"
#include "services/wallet/internal.h"

static int need_object(const json_t *body, struct err *e)
{
    if (!json_is_object(body))
        return err_set(e, ERR_INVALID, "the body must be a JSON object");
    return 0;
}

static int get_amount(const json_t *body, const char *key, int64_t *out, struct err *e)
{
    const json_t *v = json_object_get(body, key);
    if (v == NULL)
        return err_set(e, ERR_INVALID, "%s: required", key);
    if (!json_is_integer(v))
        return err_set(e, ERR_INVALID, "%s: an integer number of yen", key);
    json_int_t n = json_integer_value(v);
    if (n < 1 || n > WALLET_AMOUNT_MAX)
        return err_set(e, ERR_INVALID, "%s: 1..%lld yen", key, (long long)WALLET_AMOUNT_MAX);
    *out = (int64_t)n;
    return 0;
}

static int get_account(const json_t *body, const char *key, const char **out, struct err *e)
{
    int rc = jsonx_get_string(body, key, WALLET_ACCOUNT_MAX, "", out, e);
    if (rc == ERR_NOTFOUND)
        return err_set(e, ERR_INVALID, "%s: required", key);
    if (rc != 0)
        return rc;
    if (!wallet_account_valid(*out))
        return err_set(e, ERR_INVALID, "%s: \"person:<id>\", \"org:<id>\" or \"city\"", key);
    return 0;
}

static int get_memo(const json_t *body, const char **out, struct err *e)
{
    *out = NULL;
    const json_t *v = json_object_get(body, "memo");
    if (v == NULL || json_is_null(v))
        return 0;
    int rc = jsonx_get_string(body, "memo", WALLET_MEMO_MAX, "", out, e);
    if (rc != 0)
        return rc;
    for (const char *p = *out; *p != '\0'; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return err_set(e, ERR_INVALID, "memo: no control characters");
    return 0;
}

int wallet_json_transfer(const json_t *body, struct wallet_req_transfer *out, struct err *e)
{
    static const char *const keys[] = {"to", "amount", "memo", NULL};
    memset(out, 0, sizeof *out);
    int rc = need_object(body, e);
    if (rc == 0)
        rc = jsonx_only_keys(body, keys, "", e);
    if (rc == 0)
        rc = get_account(body, "to", &out->to, e);
    if (rc == 0)
        rc = get_amount(body, "amount", &out->amount, e);
    if (rc == 0)
        rc = get_memo(body, &out->memo, e);
    return rc;
}

int wallet_json_issue(const json_t *body, int64_t now_ms, struct wallet_req_issue *out,
                      struct err *e)
{
    static const char *const keys[] = {"to", "amount", "expires", "memo", NULL};
    memset(out, 0, sizeof *out);
    int rc = need_object(body, e);
    if (rc == 0)
        rc = jsonx_only_keys(body, keys, "", e);
    if (rc == 0)
        rc = get_account(body, "to", &out->to, e);
    if (rc == 0)
        rc = get_amount(body, "amount", &out->amount, e);
    if (rc == 0)
        rc = get_memo(body, &out->memo, e);
    if (rc != 0)
        return rc;
    const json_t *x = json_object_get(body, "expires");
    if (x == NULL || json_is_null(x))
        return 0;
    const char *t = json_string_value(x);
    int64_t ms = 0;
    if (t == NULL || strlen(t) > 40 || clock_parse_rfc3339(t, &ms) != 0)
        return err_set(e, ERR_INVALID, "expires: an RFC 3339 date-time with a zone, or null");
    if (ms <= now_ms)
        return err_set(e, ERR_INVALID, "expires: must lie in the future");
    out->expires_ms = ms;
    return 0;
}

int wallet_json_refund(const json_t *body, struct wallet_req_refund *out, struct err *e)
{
    static const char *const keys[] = {"transfer", "amount", "memo", NULL};
    memset(out, 0, sizeof *out);
    int rc = need_object(body, e);
    if (rc == 0)
        rc = jsonx_only_keys(body, keys, "", e);
    if (rc == 0) {
        rc = jsonx_get_string(body, "transfer", IDS_LEN, "", &out->transfer, e);
        if (rc == ERR_NOTFOUND)
            rc = err_set(e, ERR_INVALID, "transfer: required");
        else if (rc == 0 && !ids_valid(out->transfer))
            rc = err_set(e, ERR_INVALID, "transfer: not a transfer id");
    }
    if (rc == 0)
        rc = get_amount(body, "amount", &out->amount, e);
    if (rc == 0)
        rc = get_memo(body, &out->memo, e);
    return rc;
}

int wallet_json_mandate(const json_t *body, struct wallet_req_mandate *out, struct err *e)
{
    static const char *const keys[] = {"org", "purpose", "limit", NULL};
    memset(out, 0, sizeof *out);
    int rc = need_object(body, e);
    if (rc == 0)
        rc = jsonx_only_keys(body, keys, "", e);
    if (rc == 0) {
        rc = jsonx_get_string(body, "org", IDS_LEN, "", &out->org, e);
        if (rc == ERR_NOTFOUND)
            rc = err_set(e, ERR_INVALID, "org: required");
        else if (rc == 0 && !ids_valid(out->org))
            rc = err_set(e, ERR_INVALID, "org: not an organisation id");
    }
    if (rc == 0) {
        rc = jsonx_get_string(body, "purpose", 32, "", &out->purpose, e);
        if (rc == ERR_NOTFOUND || (rc == 0 && !wallet_purpose_valid(out->purpose)))
            rc = err_set(e, ERR_INVALID, "purpose: \"clinic-fees\" or \"pharmacy-fees\"");
    }
    if (rc == 0)
        rc = get_amount(body, "limit", &out->limit, e);
    return rc;
}

int wallet_json_empty(const json_t *body, struct err *e)
{
    if (body == NULL)
        return 0;
    if (!json_is_object(body) || json_object_size(body) != 0)
        return err_set(e, ERR_INVALID, "the body must be empty or {}");
    return 0;
}

int wallet_json_key_valid(const char *key)
{
    size_t n = key != NULL ? strlen(key) : 0;
    if (n == 0 || n > WALLET_KEY_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (key[i] < 0x21 || key[i] > 0x7e)
            return 0;
    return 1;
}

void wallet_json_request_hash(const char *const *fields, char out[WALLET_HASH_HEX + 1])
{
    crypto_hash_sha256_state st;
    unsigned char h[crypto_hash_sha256_BYTES];
    static const unsigned char zero = 0;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const unsigned char *)"cityos.wallet.request.v1", 24);
    for (size_t i = 0; fields[i] != NULL; i++) {
        crypto_hash_sha256_update(&st, &zero, 1);
        crypto_hash_sha256_update(&st, (const unsigned char *)fields[i], strlen(fields[i]));
    }
    crypto_hash_sha256_final(&st, h);
    sodium_bin2hex(out, WALLET_HASH_HEX + 1, h, sizeof h);
}

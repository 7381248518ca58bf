/* fuzz_wallet_json.c - the wallet's request bodies (src/services/wallet/wallet_json.c): strict
 * JSON parsing, then every body reader (transfer, issuance, refund, mandate, empty) on the same
 * value and the Idempotency-Key check on the raw bytes; what validates must keep the readers'
 * promises (amounts 1..max, account references, ids, purposes), a refusal must say why, and the
 * request hash of what was read must be 64 hex characters. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonx.h"
#include "services/wallet/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int rc, const struct err *e)
{
    if (rc != 0 && (rc != ERR_INVALID || e->msg[0] == '\0'))
        abort();
}

static void check_amount(int64_t a)
{
    if (a < 1 || a > WALLET_AMOUNT_MAX)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char key[300];
    size_t kn = size < sizeof key - 1 ? size : sizeof key - 1;
    memcpy(key, data, kn);
    key[kn] = '\0';
    if (wallet_json_key_valid(key) && (strlen(key) == 0 || strlen(key) > WALLET_KEY_MAX))
        abort();
    struct err e = {0};
    json_t *in = jsonx_parse((const char *)data, size, &e);
    if (in == NULL)
        return 0;
    struct wallet_req_transfer t;
    int rc = wallet_json_transfer(in, &t, &e);
    check(rc, &e);
    if (rc == 0) {
        check_amount(t.amount);
        if (!wallet_account_valid(t.to))
            abort();
        char h[WALLET_HASH_HEX + 1];
        const char *f[] = {"transfer", t.to, t.memo != NULL ? t.memo : "", NULL};
        wallet_json_request_hash(f, h);
        if (strlen(h) != WALLET_HASH_HEX)
            abort();
    }
    struct wallet_req_issue is;
    e = (struct err){0};
    rc = wallet_json_issue(in, 1764000000000LL, &is, &e);
    check(rc, &e);
    if (rc == 0) {
        check_amount(is.amount);
        if (is.expires_ms != 0 && is.expires_ms <= 1764000000000LL)
            abort();
    }
    struct wallet_req_refund r;
    e = (struct err){0};
    rc = wallet_json_refund(in, &r, &e);
    check(rc, &e);
    if (rc == 0) {
        check_amount(r.amount);
        if (!ids_valid(r.transfer))
            abort();
    }
    struct wallet_req_mandate m;
    e = (struct err){0};
    rc = wallet_json_mandate(in, &m, &e);
    check(rc, &e);
    if (rc == 0) {
        check_amount(m.limit);
        if (!ids_valid(m.org) || !wallet_purpose_valid(m.purpose))
            abort();
    }
    e = (struct err){0};
    check(wallet_json_empty(in, &e), &e);
    json_decref(in);
    return 0;
}

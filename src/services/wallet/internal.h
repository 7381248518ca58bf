/* internal.h - what the wallet's files share and nobody else uses: small store helpers, the
 * JSON of a transfer, the request parsers (wallet_json.c, fuzzed) and the idempotency table of
 * requests in flight (idem.c). */
#ifndef COS_WALLET_INTERNAL_H
#define COS_WALLET_INTERNAL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "services/wallet/wallet.h"

#define WALLET_HASH_HEX       64 /* SHA-256 in lower-case hex */
#define WALLET_INVOICE_ID_MAX 64

/* ---- store helpers (ledger.c) ---- */

/* The first column of the first row as an integer into *out (unchanged when no row). Returns 1
 * when a row was there, 0 when none, or a negative error. */
int wallet__tx_int(struct store_tx *tx, const char *sql, const struct store_value *v, size_t n,
                   int64_t *out, struct err *e);
int wallet__q_int(struct store *s, const char *sql, const struct store_value *v, size_t n,
                  int64_t *out, struct err *e);

/* The transfer as JSON (new reference, or NULL when out of memory). */
json_t *wallet__transfer_json(const struct wallet_transfer_row *t);

/* Is text a bare FHIR id of an invoice ([A-Za-z0-9.-]{1,64})? */
int wallet__invoice_id_valid(const char *text);

/* The owner of an account reference: "person:<id>" -> 'p' and the id; "org:<id>" -> 'o';
 * "city" -> 'c' (id ""). 0 when not one. */
int wallet__account_owner(const char *account, const char **id);

/* ---- request bodies (wallet_json.c) ---- */

struct wallet_req_transfer {
    const char *to; /* an account reference */
    int64_t amount;
    const char *memo; /* NULL */
};
struct wallet_req_issue {
    const char *to;
    int64_t amount;
    int64_t expires_ms; /* 0: none */
    const char *memo;
};
struct wallet_req_refund {
    const char *transfer;
    int64_t amount;
    const char *memo;
};
struct wallet_req_mandate {
    const char *org;
    const char *purpose;
    int64_t limit;
};

/* Each checks a parsed body (an object, only the known members, right types and bounds) and
 * fills out with pointers borrowed from body. Returns 0 or ERR_INVALID with e naming the member
 * ("amount: ..."). now_ms: expiry must lie after it. */
int wallet_json_transfer(const json_t *body, struct wallet_req_transfer *out, struct err *e);
int wallet_json_issue(const json_t *body, int64_t now_ms, struct wallet_req_issue *out,
                      struct err *e);
int wallet_json_refund(const json_t *body, struct wallet_req_refund *out, struct err *e);
int wallet_json_mandate(const json_t *body, struct wallet_req_mandate *out, struct err *e);
/* An empty body or "{}" (paying an invoice by hand). */
int wallet_json_empty(const json_t *body, struct err *e);

/* Is key a well-formed Idempotency-Key (1..WALLET_KEY_MAX bytes of %x21-7E)? */
int wallet_json_key_valid(const char *key);

/* SHA-256 (hex) of what a request asks, in a canonical form: the operation, the account and the
 * fields, each preceded by a NUL byte, so that the same request in another JSON spelling (key
 * order, spaces) hashes the same. fields: NULL-terminated strings. */
void wallet_json_request_hash(const char *const *fields, char out[WALLET_HASH_HEX + 1]);

/* ---- requests in flight (idem.c) ---- */

/* Claims (caller, key) for a request that is about to be written. Returns 1 (claimed), 0
 * (another request with this key is in flight in this process), or ERR_TOOBIG (too many in
 * flight). */
int wallet__inflight_claim(const char *caller, const char *key);
void wallet__inflight_release(const char *caller, const char *key);

/* What an earlier request with (caller, key) answered: 1 and the row's fields (copied into a),
 * 0 when there is none, or a negative error. */
struct wallet_idem_row {
    char hash[WALLET_HASH_HEX + 1];
    int status;
    const char *response;
    char transfer[IDS_LEN + 1];
};
int wallet__idem_get(struct store *s, const char *caller, const char *key, struct arena *a,
                     struct wallet_idem_row *out, struct err *e);

#endif

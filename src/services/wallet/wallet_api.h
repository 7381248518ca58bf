/* wallet_api.h - the wallet's HTTP API (docs/api.md "Wallet"):
 *   GET    /api/v1/wallet/accounts/{account}            balance, available, lots
 *   GET    /api/v1/wallet/accounts/{account}/statement  entries, newest first (?limit, ?before)
 *   POST   /api/v1/wallet/accounts/{account}/transfers  pay another account (Idempotency-Key)
 *   POST   /api/v1/wallet/accounts/{account}/refunds    give back (part of) a transfer received
 *   POST   /api/v1/wallet/issuances                     the city issues money (Idempotency-Key)
 *   POST   /api/v1/wallet/expire                        sweep expired lots now (the city)
 *   GET    /api/v1/wallet/verify                        the ledger invariant, recomputed (the city)
 *   GET    /api/v1/wallet/mandates                      the citizen's payment mandates
 *   POST   /api/v1/wallet/mandates                      grant one
 *   DELETE /api/v1/wallet/mandates/{id}                 revoke it
 *   GET    /api/v1/wallet/invoices                      the citizen's invoices
 *   POST   /api/v1/wallet/invoices/{id}/pay             pay one by hand (Idempotency-Key)
 * {account} is "me" (the citizen, the person a delegate acts for, or a practitioner's
 * organisation), "person:<id>", "org:<id>" or "city". A citizen's wallet is personal data
 * (category "payments"): decided by consent_decide and recorded on their trail. */
#ifndef COS_WALLET_API_H
#define COS_WALLET_API_H

#include "http/router.h"
#include "store/store.h"

struct wallet_api {
    struct store *store;
};

/* Registers the routes (12). api must outlive the router. Returns 0 or a negative ERR_*. */
int wallet_api_register(struct http_router *r, struct wallet_api *api, struct store *s);

#endif

/* wallet.h - the regional digital currency (issue 7 part 5, docs/internals/wallet.md): accounts
 * of citizens, organisations and the city; issuance by the city with an optional expiry per
 * issuance (held as lots, spent earliest-expiry first); immutable double-entry transfers in
 * whole yen; refunds as new transfers; idempotency keys; payment mandates that pay an
 * organisation's invoices; and the ledger invariant  sum(balances) + expired = issued. */
#ifndef COS_WALLET_H
#define COS_WALLET_H

#include <stddef.h>
#include <stdint.h>

#include "audit/audit.h"
#include "base/arena.h"
#include "base/err.h"
#include "base/ids.h"
#include "store/store.h"

struct config;

#define WALLET_AMOUNT_MAX        100000000LL /* one transfer or issuance: at most 100 million yen */
#define WALLET_BALANCE_MAX       1000000000000LL /* one account: at most a trillion yen */
#define WALLET_NO_EXPIRY         INT64_MAX /* a lot that never expires (stored so: sorts last) */
#define WALLET_ACCOUNT_MAX       (7 + IDS_LEN) /* "person:<id>" */
#define WALLET_MEMO_MAX          200           /* code points of a memo */
#define WALLET_KEY_MAX           255           /* bytes of an idempotency key */
#define WALLET_PAGE_MAX          200           /* most statement lines per page */
#define WALLET_BODY_MAX          (16 * 1024)   /* bytes of a request body */
#define WALLET_MANDATES_MAX      100           /* active mandates of one citizen */
#define WALLET_CITY              "city"        /* the city's own account */
#define WALLET_MINT              "mint"        /* where issued money comes from (negative) */
#define WALLET_EXPIRED           "expired"     /* where expired money goes */
#define WALLET_SOURCE            "wallet"      /* inbox notices' source, audit source_addr */
#define WALLET_CONSUMER          "wallet"      /* the event consumer's name */
#define WALLET_EV_INVOICE_ISSUED "invoice.issued"
#define WALLET_EV_INVOICE_PAID   "invoice.paid"

enum wallet_kind {
    WALLET_ISSUE,    /* "issue": mint -> an account, creating a lot */
    WALLET_TRANSFER, /* "transfer": account -> account */
    WALLET_REFUND,   /* "refund": the payee of a transfer gives (part of) it back */
    WALLET_PAYMENT,  /* "payment": an invoice paid (under a mandate or by hand) */
    WALLET_EXPIRE,   /* "expire": what remains of expired lots -> expired */
};
const char *wallet_kind_name(enum wallet_kind k);

/* ---- accounts (ledger.c) ---- */

/* Is text an account reference: "person:<id>", "org:<id>" or "city"? (Not mint/expired.) */
int wallet_account_valid(const char *text);

/* One lot: what an account holds of one issuance. */
struct wallet_lot {
    char issue[IDS_LEN + 1];
    int64_t remaining;
    int64_t expires_ms; /* WALLET_NO_EXPIRY: none */
};

struct wallet_account_view {
    char id[WALLET_ACCOUNT_MAX + 1];
    int exists;              /* 0: never credited (balance 0, no lots) */
    int64_t balance;         /* everything held, expired lots not yet swept included */
    int64_t available;       /* what can be spent now: lots not expired at now_ms */
    struct wallet_lot *lots; /* in the arena; earliest expiry first */
    size_t nlots;
};

/* Reads an account and its lots (at most 1000 lots listed). Returns 0 or the store's error. */
int wallet_account_get(struct store *s, const char *account, int64_t now_ms, struct arena *a,
                       struct wallet_account_view *out, struct err *e);

/* ---- writes (ledger.c) ---- */

/* One ledger operation, run as a store_write_fn (wallet_op_fn) on the writer thread. */
struct wallet_op {
    enum wallet_kind kind; /* ISSUE, TRANSFER, REFUND or PAYMENT (EXPIRE: wallet_expire_*) */
    const char *from;      /* TRANSFER, PAYMENT: the payer's account; REFUND: the payee of the
                            * original (checked against it); ISSUE: ignored (mint) */
    const char *to;        /* ISSUE, TRANSFER, PAYMENT: the payee; REFUND: ignored (the payer
                            * of the original) */
    int64_t amount;        /* 1 .. WALLET_AMOUNT_MAX */
    int64_t expires_ms;    /* ISSUE: when its lot expires (> now), or 0 for never */
    const char *refund_of; /* REFUND: the original transfer's id */
    const char *invoice;   /* PAYMENT: the invoice id (marked paid in the same write) */
    const char *mandate;   /* PAYMENT under a mandate: its id (the month's limit is checked) */
    int64_t mandate_limit; /* with mandate: the monthly limit */
    const char *memo;      /* NULL or 1..WALLET_MEMO_MAX code points */
    const char *by;        /* who asked (recorded on the transfer): "person:<id>", "operator" */
    int64_t now_ms;        /* 0: now */
    /* idempotency (all or none): the caller's scope, the key, the request's hash (64 hex) */
    const char *idem_caller, *idem_key, *idem_hash;
    /* audit entries appended in the same transaction (0..4) */
    const struct audit_event *audits;
    size_t naudits;
    /* an event appended in the same transaction (kind NULL: none) */
    const char *ev_kind, *ev_subject, *ev_ref, *ev_payload;
    /* an inbox notice in the same transaction (subject NULL: none) */
    const char *note_subject, *note_ref, *note_ja, *note_en, *note_dedupe;

    /* results */
    char id[IDS_LEN + 1]; /* the transfer's id */
    int replayed;         /* an earlier request with this key did it: response is its answer */
    int status;           /* the HTTP status of the answer (201) */
    char *response;       /* malloc'ed JSON text of the transfer (wallet_op_release frees) */
    int64_t from_balance, to_balance;
    struct err err;
};

/* The store_write_fn (ctx: struct wallet_op *). Refusals, nothing stored: ERR_INVALID (a
 * field named: amount, account, expiry, memo; "Idempotency-Key: ..." for a key reused with
 * another request), ERR_NOTFOUND ("account: ...", "transfer: ...", "invoice: ..."),
 * ERR_CONFLICT ("insufficient balance", "refund: more than ..." , "mandate: ... limit",
 * "invoice: already paid"), ERR_TOOBIG (the payee's balance would pass WALLET_BALANCE_MAX);
 * op->err holds the same. Before spending, the payer's expired lots are swept to "expired". */
int wallet_op_fn(struct store_tx *tx, void *ctx, struct err *e);

/* store_write(s, wallet_op_fn, op). Blocks until durable. */
int wallet_op_run(struct store *s, struct wallet_op *op, struct err *e);

/* Frees op->response. */
void wallet_op_release(struct wallet_op *op);

/* Sweeps what remains of every lot expired at now_ms (at most 1000 lots per call) to the
 * "expired" account, one "expire" transfer per account. *moved (may be NULL) gets the yen
 * moved. Returns 0 or the store's error; call again while *moved > 0 for a large backlog. */
int wallet_expire_due(struct store *s, int64_t now_ms, int64_t *moved, struct err *e);

/* ---- statements (ledger.c) ---- */

struct wallet_line {
    int64_t seq; /* the account's entry number: 1, 2, ... */
    char transfer[IDS_LEN + 1];
    const char *kind, *counterparty, *memo, *refund_of, *invoice; /* NULL when none */
    int64_t amount;                                               /* signed: + credit, - debit */
    int64_t balance_after;
    int64_t created_ms;
};

/* The account's entries, newest first, before seq before_seq (0: from the newest), at most
 * limit (1..WALLET_PAGE_MAX). *next_before (0: last page). Lines live in a. */
int wallet_statement(struct store *s, const char *account, int64_t before_seq, size_t limit,
                     struct arena *a, struct wallet_line **out, size_t *n, int64_t *next_before,
                     struct err *e);

/* One transfer as JSON text (malloc'ed), or NULL (ERR_NOTFOUND / store error in e). Also
 * *from and *to (copied into a). */
struct wallet_transfer_row {
    char id[IDS_LEN + 1];
    const char *kind, *from, *to, *memo, *refund_of, *invoice, *mandate;
    int64_t amount, created_ms;
};
int wallet_transfer_get(struct store *s, const char *id, struct arena *a,
                        struct wallet_transfer_row *out, struct err *e);

/* ---- the invariant (verify.c) ---- */

struct wallet_verify_report {
    int ok;
    int64_t accounts, transfers, entries, lots;
    int64_t issued, expired, balances; /* balances: sum over person, org and city accounts */
    char detail[256];                  /* the first failure, for people; "" when ok */
};

/* Recomputes everything from the immutable entries and transfers: every transfer's entries sum
 * to zero and match its amount; each account's entries sum to its balance and its entry
 * numbers run 1..n with running balances; no account but mint is ever below zero; the lots of
 * each account sum to its balance and match the lot moves; issued (sum of issue transfers) =
 * -mint; expired (sum of expire transfers) = the expired account; and sum(balances) + expired
 * = issued. Returns 0 when the check ran (r->ok tells), or the store's error. */
int wallet_verify(struct store *s, struct wallet_verify_report *r, struct err *e);

/* ---- mandates (mandate.c) ---- */

struct wallet_mandate {
    char id[IDS_LEN + 1], person[IDS_LEN + 1], org[IDS_LEN + 1];
    const char *purpose;            /* "clinic-fees" or "pharmacy-fees" */
    int64_t limit;                  /* yen per calendar month (Asia/Tokyo) */
    int64_t used;                   /* in the month of now_ms */
    int64_t created_ms, revoked_ms; /* revoked 0: active */
};

/* Is text a mandate purpose? */
int wallet_purpose_valid(const char *text);

/* "2026-11": the calendar month in Asia/Tokyo (UTC+9, no DST) of ms, into out (8 bytes). */
void wallet_month_tokyo(int64_t ms, char out[8]);

struct wallet_mandate_write {
    int revoke; /* 0: grant (person, org, purpose, limit), 1: revoke (person, id) */
    const char *person, *org, *purpose, *id;
    int64_t limit; /* 1 .. WALLET_AMOUNT_MAX */
    int64_t now_ms;
    const struct audit_event *audit; /* the citizen's trail entry (subject set), or NULL */
    /* results */
    struct wallet_mandate m;
    struct err err;
};
/* The store_write_fn of a grant or revocation. Grant: ERR_NOTFOUND (no such organisation),
 * ERR_CONFLICT (an active mandate for this organisation and purpose exists: revoke it first),
 * ERR_TOOBIG (WALLET_MANDATES_MAX). Revoke: ERR_NOTFOUND (not the person's), ERR_CONFLICT
 * (already revoked). */
int wallet_mandate_write_fn(struct store_tx *tx, void *ctx, struct err *e);

/* The person's mandates, newest first (revoked ones too), with this month's use. */
int wallet_mandate_list(struct store *s, const char *person, int64_t now_ms, struct arena *a,
                        struct wallet_mandate **out, size_t *n, struct err *e);

/* ---- invoices (invoice.c) ---- */

struct wallet_invoice {
    char id[128], person[IDS_LEN + 1], issuer[IDS_LEN + 1];
    const char *purpose, *description, *status; /* status "open" or "paid" */
    const char *transfer, *mandate;             /* when paid */
    int64_t amount, created_ms, paid_ms;
};

/* Handles one "invoice.issued" event payload for subject (the event consumer): records the
 * invoice; pays it under a matching active mandate within the month's remaining limit and the
 * citizen's balance (idempotency key "invoice:<id>"), appending "invoice.paid" and telling the
 * citizen; otherwise tells the citizen to pay it. Idempotent. Returns 0 (handled, also for a
 * malformed payload, which is logged and dropped) or a store error (retried). */
int wallet_invoice_issued(struct store *s, const char *subject, const char *payload, int64_t now_ms,
                          struct err *e);

/* One invoice of person (ERR_NOTFOUND otherwise), or the person's invoices, newest first. */
int wallet_invoice_get(struct store *s, const char *person, const char *id, struct arena *a,
                       struct wallet_invoice *out, struct err *e);
int wallet_invoice_list(struct store *s, const char *person, struct arena *a,
                        struct wallet_invoice **out, size_t *n, struct err *e);

/* ---- the service ---- */

/* Registers the "invoice.issued" consumer (call before event_worker_start). Returns 0 or an
 * ERR_*. */
int wallet_register(struct store *s, const struct config *cfg, struct err *e);

/* The demo: the city issues a welcome balance (10,000 yen, no expiry; 3,000 yen expiring at
 * the end of the next fiscal year) to each person of persons (n), and persona grants a
 * "clinic-fees" mandate (limit 20,000 yen a month) to clinic_org and a "pharmacy-fees"
 * mandate (10,000 yen) to pharmacy_org (persona NULL: no mandates). Idempotent (keys "demo:*";
 * existing mandates kept). Returns 0 or an ERR_*. */
int wallet_demo_seed(struct store *s, const char *const *persons, size_t n, const char *persona,
                     const char *clinic_org, const char *pharmacy_org, struct err *e);

#endif

/* verify.c - the ledger invariant recomputed from the immutable rows (wallet.h, wallet_verify):
 * transfers against their entries, entries against balances and running balances, lots against
 * balances and lot moves, and sum(balances) + expired = issued. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "services/wallet/internal.h"

static int fail(struct wallet_verify_report *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Records the first failure (for people); returns 1 so a row callback stops. */
static int fail(struct wallet_verify_report *r, const char *fmt, ...)
{
    if (r->ok) {
        va_list ap;
        r->ok = 0;
        va_start(ap, fmt);
        vsnprintf(r->detail, sizeof r->detail, fmt, ap);
        va_end(ap);
    }
    return 1;
}

/* ---- per transfer: two entries, -amount on from, +amount on to ---- */

static int bad_transfer_row(const struct store_row *row, void *ctx)
{
    return fail(ctx, "transfer %s: its entries do not match it (%lld, %lld)",
                store_row_text(row, 0, NULL), (long long)store_row_int(row, 1),
                (long long)store_row_int(row, 2));
}

/* ---- per account: balance = sum of entries, entries numbered 1..last_seq ---- */

static int account_row(const struct store_row *row, void *ctx)
{
    struct wallet_verify_report *r = ctx;
    const char *id = store_row_text(row, 0, NULL);
    const char *kind = store_row_text(row, 1, NULL);
    int64_t bal = store_row_int(row, 2), last = store_row_int(row, 3);
    int64_t sum = store_row_int(row, 4), cnt = store_row_int(row, 5), lots = store_row_int(row, 6);
    r->accounts++;
    if (sum != bal)
        return fail(r, "account %s: balance %lld but its entries sum to %lld", id, (long long)bal,
                    (long long)sum);
    if (cnt != last)
        return fail(r, "account %s: %lld entries but last_seq %lld", id, (long long)cnt,
                    (long long)last);
    int mint = strcmp(kind, "mint") == 0;
    if (!mint && bal < 0)
        return fail(r, "account %s: balance %lld below zero (%lld)", id, (long long)bal,
                    (long long)bal);
    if (mint) {
        r->issued = -bal; /* checked against the issue transfers below */
        return 0;
    }
    if (strcmp(kind, "expired") == 0) {
        r->expired = bal;
        return 0;
    }
    r->balances += bal;
    if (lots != bal)
        return fail(r, "account %s: balance %lld but its lots hold %lld", id, (long long)bal,
                    (long long)lots);
    return 0;
}

/* ---- every entry in order: seq contiguous, running balance, never below zero ---- */

struct walk {
    struct wallet_verify_report *r;
    char account[WALLET_ACCOUNT_MAX + 1];
    int64_t seq, balance;
    int mint;
};

static int entry_row(const struct store_row *row, void *ctx)
{
    struct walk *w = ctx;
    const char *acct = store_row_text(row, 0, NULL);
    int64_t seq = store_row_int(row, 1), amount = store_row_int(row, 2);
    int64_t after = store_row_int(row, 3);
    w->r->entries++;
    if (strcmp(acct, w->account) != 0) {
        snprintf(w->account, sizeof w->account, "%s", acct);
        w->seq = 0;
        w->balance = 0;
        w->mint = strcmp(acct, WALLET_MINT) == 0;
    }
    if (seq != w->seq + 1)
        return fail(w->r, "account %s: entry %lld follows %lld", acct, (long long)seq,
                    (long long)w->seq);
    if (amount == 0 || w->balance + amount != after)
        return fail(w->r, "account %s: entry %lld does not add up (balance after %lld)", acct,
                    (long long)seq, (long long)after);
    if (!w->mint && after < 0)
        return fail(w->r, "account %s: entry %lld leaves it below zero (%lld)", acct,
                    (long long)seq, (long long)after);
    w->seq = seq;
    w->balance = after;
    return 0;
}

static int bad_lot_row(const struct store_row *row, void *ctx)
{
    return fail(ctx, "lot %s: remaining %lld but its moves sum to %lld",
                store_row_text(row, 0, NULL), (long long)store_row_int(row, 1),
                (long long)store_row_int(row, 2));
}

static int count_row(const struct store_row *row, void *ctx)
{
    int64_t *out = ctx;
    for (int i = 0; i < store_row_columns(row) && i < 4; i++)
        out[i] = store_row_is_null(row, i) ? 0 : store_row_int(row, i);
    return 1;
}

int wallet_verify(struct store *s, struct wallet_verify_report *r, struct err *e)
{
    memset(r, 0, sizeof *r);
    r->ok = 1;
    int rc = store_query(
        s,
        "SELECT t.id, t.amount, (SELECT COUNT(*) FROM wallet_entry en WHERE en.transfer_id = "
        "t.id) FROM wallet_transfer t WHERE (SELECT COUNT(*) FROM wallet_entry en WHERE "
        "en.transfer_id = t.id) <> 2 OR NOT EXISTS (SELECT 1 FROM wallet_entry en WHERE "
        "en.transfer_id = t.id AND en.account = t.from_account AND en.amount = -t.amount AND "
        "en.counterparty = t.to_account) OR NOT EXISTS (SELECT 1 FROM wallet_entry en WHERE "
        "en.transfer_id = t.id AND en.account = t.to_account AND en.amount = t.amount AND "
        "en.counterparty = t.from_account) LIMIT 1",
        NULL, 0, bad_transfer_row, r, e);
    if (rc == 0)
        rc = store_query(s,
                         "SELECT en.transfer_id, COUNT(*), 0 FROM wallet_entry en WHERE NOT EXISTS "
                         "(SELECT 1 FROM wallet_transfer t WHERE t.id = en.transfer_id) GROUP BY "
                         "en.transfer_id LIMIT 1",
                         NULL, 0, bad_transfer_row, r, e);
    if (rc == 0)
        rc = store_query(s,
                         "SELECT a.id, a.kind, a.balance, a.last_seq, "
                         "(SELECT COALESCE(SUM(en.amount), 0) FROM wallet_entry en WHERE "
                         "en.account = a.id), (SELECT COUNT(*) FROM wallet_entry en WHERE "
                         "en.account = a.id), (SELECT COALESCE(SUM(l.remaining), 0) FROM "
                         "wallet_lot l WHERE l.account = a.id) FROM wallet_account a ORDER BY a.id",
                         NULL, 0, account_row, r, e);
    struct walk w = {.r = r};
    if (rc == 0)
        rc = store_query(s,
                         "SELECT account, seq, amount, balance_after FROM wallet_entry "
                         "ORDER BY account, seq",
                         NULL, 0, entry_row, &w, e);
    if (rc == 0)
        rc = store_query(s,
                         "SELECT l.account || '/' || l.issue_id, l.remaining, (SELECT "
                         "COALESCE(SUM(m.amount), 0) FROM wallet_lot_move m WHERE m.account = "
                         "l.account AND m.issue_id = l.issue_id) FROM wallet_lot l WHERE "
                         "l.remaining <> (SELECT COALESCE(SUM(m.amount), 0) FROM wallet_lot_move "
                         "m WHERE m.account = l.account AND m.issue_id = l.issue_id) LIMIT 1",
                         NULL, 0, bad_lot_row, r, e);
    int64_t c[4] = {0, 0, 0, 0};
    if (rc == 0)
        rc = store_query(s,
                         "SELECT COUNT(*), "
                         "COALESCE(SUM(CASE WHEN kind = 'issue' THEN amount ELSE 0 END), 0), "
                         "COALESCE(SUM(CASE WHEN kind = 'expire' THEN amount ELSE 0 END), 0) "
                         "FROM wallet_transfer",
                         NULL, 0, count_row, c, e);
    int64_t nl[1] = {0};
    if (rc == 0)
        rc = store_query(s, "SELECT COUNT(*) FROM wallet_lot", NULL, 0, count_row, nl, e);
    if (rc != 0)
        return rc;
    r->transfers = c[0];
    r->lots = nl[0];
    if (c[1] != r->issued)
        fail(r, "issued %lld but the mint gave out %lld", (long long)c[1], (long long)r->issued);
    if (c[2] != r->expired)
        fail(r, "expired %lld but the expired account holds %lld", (long long)c[2],
             (long long)r->expired);
    r->issued = c[1];
    r->expired = c[2];
    if (r->balances + r->expired != r->issued)
        fail(r, "sum of balances + expired = %lld, issued = %lld",
             (long long)(r->balances + r->expired), (long long)r->issued);
    return 0;
}

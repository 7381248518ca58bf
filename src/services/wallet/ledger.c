/* ledger.c - the wallet's ledger (wallet.h): every operation as one write on the store's single
 * writer: the idempotency check, the payer's expired lots swept, the conditional balance
 * updates, the lots moved earliest-expiry first, the double entries, the transfer row, its
 * audit entries, event and notice; plus account reads and statements. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/jsonx.h"
#include "base/log.h"
#include "base/utf8.h"
#include "consent/consent.h"
#include "events/event.h"
#include "services/wallet/internal.h"

const char *wallet_kind_name(enum wallet_kind k)
{
    switch (k) {
    case WALLET_ISSUE:
        return "issue";
    case WALLET_TRANSFER:
        return "transfer";
    case WALLET_REFUND:
        return "refund";
    case WALLET_PAYMENT:
        return "payment";
    case WALLET_EXPIRE:
        return "expire";
    }
    return NULL;
}

int wallet__account_owner(const char *account, const char **id)
{
    if (account == NULL)
        return 0;
    if (strcmp(account, WALLET_CITY) == 0) {
        *id = "";
        return 'c';
    }
    if (strncmp(account, "person:", 7) == 0 && ids_valid(account + 7)) {
        *id = account + 7;
        return 'p';
    }
    if (strncmp(account, "org:", 4) == 0 && ids_valid(account + 4)) {
        *id = account + 4;
        return 'o';
    }
    return 0;
}

int wallet_account_valid(const char *text)
{
    const char *id;
    return wallet__account_owner(text, &id) != 0;
}

int wallet__invoice_id_valid(const char *text)
{
    size_t n = text != NULL ? strlen(text) : 0;
    if (n == 0 || n > WALLET_INVOICE_ID_MAX)
        return 0;
    return strspn(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-") == n;
}

/* ---- store helpers ---- */

static int int_row(const struct store_row *row, void *ctx)
{
    int64_t *out = ctx;
    out[0] = store_row_is_null(row, 0) ? 0 : store_row_int(row, 0);
    out[1] = 1;
    return 1;
}

int wallet__tx_int(struct store_tx *tx, const char *sql, const struct store_value *v, size_t n,
                   int64_t *out, struct err *e)
{
    int64_t r[2] = {0, 0};
    int rc = store_tx_query(tx, sql, v, n, int_row, r, e);
    if (rc != 0)
        return rc;
    if (r[1])
        *out = r[0];
    return (int)r[1];
}

int wallet__q_int(struct store *s, const char *sql, const struct store_value *v, size_t n,
                  int64_t *out, struct err *e)
{
    int64_t r[2] = {0, 0};
    int rc = store_query(s, sql, v, n, int_row, r, e);
    if (rc != 0)
        return rc;
    if (r[1])
        *out = r[0];
    return (int)r[1];
}

/* ---- the JSON of a transfer ---- */

json_t *wallet__transfer_json(const struct wallet_transfer_row *t)
{
    char created[40];
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:s}", "id", t->id, "kind", t->kind, "from",
                          t->from, "to", t->to, "amount", (json_int_t)t->amount, "created",
                          clock_format_ms(t->created_ms, created, sizeof created));
    if (o == NULL)
        return NULL;
    int bad = 0;
    if (t->memo != NULL)
        bad |= json_object_set_new(o, "memo", json_string(t->memo));
    if (t->refund_of != NULL)
        bad |= json_object_set_new(o, "refund_of", json_string(t->refund_of));
    if (t->invoice != NULL)
        bad |= json_object_set_new(o, "invoice", json_string(t->invoice));
    if (t->mandate != NULL)
        bad |= json_object_set_new(o, "mandate", json_string(t->mandate));
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* ---- lots ---- */

struct piece {
    char issue[IDS_LEN + 1];
    int64_t amount, expires_ms;
};

struct pieces {
    struct piece *p;
    size_t n, cap;
    int64_t want; /* stop once got reaches it; 0: take every row */
    int64_t got;
    int nomem, bad;
};

static int piece_row(const struct store_row *row, void *ctx)
{
    struct pieces *ps = ctx;
    const char *issue = store_row_text(row, 0, NULL);
    int64_t rem = store_row_int(row, 1);
    if (issue == NULL || strlen(issue) != IDS_LEN || rem <= 0) {
        ps->bad = 1;
        return 1;
    }
    if (ps->n == ps->cap) {
        size_t cap = ps->cap ? ps->cap * 2 : 8;
        struct piece *np = realloc(ps->p, cap * sizeof *np);
        if (np == NULL) {
            ps->nomem = 1;
            return 1;
        }
        ps->p = np;
        ps->cap = cap;
    }
    struct piece *pc = &ps->p[ps->n++];
    memcpy(pc->issue, issue, IDS_LEN + 1);
    pc->expires_ms = store_row_int(row, 2);
    pc->amount = rem;
    if (ps->want > 0 && ps->got + rem >= ps->want)
        pc->amount = ps->want - ps->got;
    ps->got += pc->amount;
    return ps->want > 0 && ps->got >= ps->want;
}

static int lot_holder(const char *account)
{
    return strcmp(account, WALLET_MINT) != 0 && strcmp(account, WALLET_EXPIRED) != 0;
}

/* Moves the pieces from account `from` to `to` (to's lots keep each piece's expiry; "expired"
 * and "mint" hold no lots) and records each move. */
static int move_pieces(struct store_tx *tx, const char *transfer, const char *from, const char *to,
                       const struct pieces *ps, struct err *e)
{
    for (size_t i = 0; i < ps->n; i++) {
        const struct piece *pc = &ps->p[i];
        struct store_value d[] = {STORE_INT_V(pc->amount), STORE_TEXT_V(from),
                                  STORE_TEXT_V(pc->issue), STORE_INT_V(pc->amount)};
        int rc = store_tx_exec(tx,
                               "UPDATE wallet_lot SET remaining = remaining - ? WHERE account = ? "
                               "AND issue_id = ? AND remaining >= ?",
                               d, 4, e);
        if (rc < 0)
            return rc;
        if (rc != 1)
            return err_set(e, ERR_INTERNAL, "wallet: a lot of %s changed under the write", from);
        struct store_value m[] = {STORE_TEXT_V(transfer), STORE_TEXT_V(from),
                                  STORE_TEXT_V(pc->issue), STORE_INT_V(-pc->amount)};
        if ((rc = store_tx_exec(tx,
                                "INSERT INTO wallet_lot_move (transfer_id, account, issue_id, "
                                "amount) VALUES (?, ?, ?, ?)",
                                m, 4, e)) < 0)
            return rc;
        if (!lot_holder(to))
            continue;
        struct store_value c[] = {STORE_TEXT_V(to), STORE_TEXT_V(pc->issue),
                                  STORE_INT_V(pc->expires_ms), STORE_INT_V(pc->amount)};
        if ((rc = store_tx_exec(tx,
                                "INSERT INTO wallet_lot (account, issue_id, expires_ms, remaining) "
                                "VALUES (?, ?, ?, ?) ON CONFLICT (account, issue_id) DO UPDATE "
                                "SET remaining = wallet_lot.remaining + excluded.remaining",
                                c, 4, e)) < 0)
            return rc;
        m[1] = STORE_TEXT_V(to);
        m[3] = STORE_INT_V(pc->amount);
        if ((rc = store_tx_exec(tx,
                                "INSERT INTO wallet_lot_move (transfer_id, account, issue_id, "
                                "amount) VALUES (?, ?, ?, ?)",
                                m, 4, e)) < 0)
            return rc;
    }
    return 0;
}

/* ---- accounts ---- */

/* Makes sure the account exists (a person's or organisation's on first credit, when the person
 * or organisation does). ERR_NOTFOUND "account: ..." otherwise. */
static int ensure_account(struct store_tx *tx, const char *account, int64_t now_ms, struct err *e)
{
    const char *id = NULL;
    int kind = wallet__account_owner(account, &id);
    if (kind == 0)
        return err_set(e, ERR_INVALID, "account: not an account reference");
    if (kind == 'c')
        return 0;
    int64_t one = 0;
    struct store_value v[] = {STORE_TEXT_V(id)};
    int rc = wallet__tx_int(tx,
                            kind == 'p' ? "SELECT 1 FROM person WHERE id = ?"
                                        : "SELECT 1 FROM organisation WHERE id = ?",
                            v, 1, &one, e);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return err_set(e, ERR_NOTFOUND, "account: no such %s",
                       kind == 'p' ? "person" : "organisation");
    struct store_value ins[] = {STORE_TEXT_V(account), STORE_TEXT_V(kind == 'p' ? "person" : "org"),
                                STORE_TEXT_V(id), STORE_INT_V(now_ms)};
    rc = store_tx_exec(tx,
                       "INSERT INTO wallet_account (id, kind, owner, balance, last_seq, "
                       "created_ms) VALUES (?, ?, ?, 0, 0, ?) ON CONFLICT (id) DO NOTHING",
                       ins, 4, e);
    return rc < 0 ? rc : 0;
}

struct posted {
    int64_t balance, seq;
};

static int posted_row(const struct store_row *row, void *ctx)
{
    struct posted *p = ctx;
    p->balance = store_row_int(row, 0);
    p->seq = store_row_int(row, 1);
    return 1;
}

/* One side of a transfer: the conditional balance update, then its entry. delta < 0 debits
 * (refused unless the balance covers it; the mint may go negative), delta > 0 credits
 * (refused past WALLET_BALANCE_MAX). */
static int post_entry(struct store_tx *tx, const char *account, const char *counterparty,
                      const char *transfer, int64_t delta, int64_t now_ms, int64_t *balance_out,
                      struct err *e)
{
    int rc;
    int64_t mag = delta < 0 ? -delta : delta;
    if (delta < 0 && strcmp(account, WALLET_MINT) == 0) {
        struct store_value v[] = {STORE_INT_V(mag), STORE_TEXT_V(account)};
        rc = store_tx_exec(tx,
                           "UPDATE wallet_account SET balance = balance - ?, last_seq = last_seq "
                           "+ 1 WHERE id = ?",
                           v, 2, e);
    } else if (delta < 0) {
        struct store_value v[] = {STORE_INT_V(mag), STORE_TEXT_V(account), STORE_INT_V(mag)};
        rc = store_tx_exec(tx,
                           "UPDATE wallet_account SET balance = balance - ?, last_seq = last_seq "
                           "+ 1 WHERE id = ? AND balance >= ?",
                           v, 3, e);
        if (rc == 0)
            return err_set(e, ERR_CONFLICT, "insufficient balance");
    } else {
        struct store_value v[] = {STORE_INT_V(mag), STORE_TEXT_V(account),
                                  STORE_INT_V(WALLET_BALANCE_MAX - mag)};
        rc = store_tx_exec(tx,
                           "UPDATE wallet_account SET balance = balance + ?, last_seq = last_seq "
                           "+ 1 WHERE id = ? AND balance <= ?",
                           v, 3, e);
        if (rc == 0)
            return err_set(e, ERR_TOOBIG, "amount: the payee's balance would pass %lld yen",
                           (long long)WALLET_BALANCE_MAX);
    }
    if (rc < 0)
        return rc;
    if (rc != 1)
        return err_set(e, ERR_INTERNAL, "wallet: account %s missing", account);
    struct posted p = {0, 0};
    struct store_value k[] = {STORE_TEXT_V(account)};
    if ((rc = store_tx_query(tx, "SELECT balance, last_seq FROM wallet_account WHERE id = ?", k, 1,
                             posted_row, &p, e)) != 0)
        return rc;
    struct store_value en[] = {STORE_TEXT_V(account),  STORE_INT_V(p.seq),
                               STORE_TEXT_V(transfer), STORE_TEXT_V(counterparty),
                               STORE_INT_V(delta),     STORE_INT_V(p.balance),
                               STORE_INT_V(now_ms)};
    rc = store_tx_exec(tx,
                       "INSERT INTO wallet_entry (account, seq, transfer_id, counterparty, amount, "
                       "balance_after, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
                       en, 7, e);
    if (rc < 0)
        return rc;
    if (balance_out != NULL)
        *balance_out = p.balance;
    return 0;
}

struct transfer_rec {
    const char *id, *kind, *from, *to, *refund_of, *invoice, *mandate, *month, *memo, *by;
    int64_t amount, expires_ms, now_ms;
};

static int insert_transfer(struct store_tx *tx, const struct transfer_rec *t, struct err *e)
{
#define TEXT_OR_NULL(x) ((x) != NULL ? STORE_TEXT_V(x) : STORE_NULL_V)
    struct store_value v[] = {
        STORE_TEXT_V(t->id),        STORE_TEXT_V(t->kind),
        STORE_TEXT_V(t->from),      STORE_TEXT_V(t->to),
        STORE_INT_V(t->amount),     t->expires_ms != 0 ? STORE_INT_V(t->expires_ms) : STORE_NULL_V,
        TEXT_OR_NULL(t->refund_of), TEXT_OR_NULL(t->invoice),
        TEXT_OR_NULL(t->mandate),   TEXT_OR_NULL(t->month),
        TEXT_OR_NULL(t->memo),      STORE_TEXT_V(t->by),
        STORE_INT_V(t->now_ms)};
#undef TEXT_OR_NULL
    int rc = store_tx_exec(tx,
                           "INSERT INTO wallet_transfer (id, kind, from_account, to_account, "
                           "amount, expires_ms, refund_of, invoice, mandate, month, memo, "
                           "created_by, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           v, 13, e);
    return rc < 0 ? rc : 0;
}

/* Sweeps account's lots expired at now_ms to "expired" as one "expire" transfer. *moved (may
 * be NULL) gets the yen moved. */
static int sweep_account(struct store_tx *tx, const char *account, int64_t now_ms, int64_t *moved,
                         struct err *e)
{
    struct pieces ps = {0};
    struct store_value v[] = {STORE_TEXT_V(account), STORE_INT_V(now_ms)};
    int rc = store_tx_query(tx,
                            "SELECT issue_id, remaining, expires_ms FROM wallet_lot WHERE "
                            "account = ? AND remaining > 0 AND expires_ms <= ? "
                            "ORDER BY expires_ms, issue_id",
                            v, 2, piece_row, &ps, e);
    if (rc == 0 && ps.nomem)
        rc = err_set(e, ERR_NOMEM, "out of memory");
    if (rc == 0 && ps.bad)
        rc = err_set(e, ERR_INTERNAL, "wallet: a malformed lot of %s", account);
    if (rc != 0 || ps.got == 0) {
        free(ps.p);
        if (moved != NULL)
            *moved = 0;
        return rc;
    }
    char id[IDS_LEN + 1];
    ids_new_ordered(id, now_ms);
    struct transfer_rec t = {.id = id,
                             .kind = "expire",
                             .from = account,
                             .to = WALLET_EXPIRED,
                             .by = WALLET_SOURCE,
                             .amount = ps.got,
                             .now_ms = now_ms};
    rc = post_entry(tx, account, WALLET_EXPIRED, id, -ps.got, now_ms, NULL, e);
    if (rc == 0)
        rc = post_entry(tx, WALLET_EXPIRED, account, id, ps.got, now_ms, NULL, e);
    if (rc == 0)
        rc = move_pieces(tx, id, account, WALLET_EXPIRED, &ps, e);
    if (rc == 0)
        rc = insert_transfer(tx, &t, e);
    if (rc == 0 && moved != NULL)
        *moved = ps.got;
    free(ps.p);
    return rc;
}

/* Spends amount of from's unexpired lots (earliest expiry first) into to. */
static int spend(struct store_tx *tx, const char *transfer, const char *from, const char *to,
                 int64_t amount, int64_t now_ms, struct err *e)
{
    struct pieces ps = {.want = amount};
    struct store_value v[] = {STORE_TEXT_V(from), STORE_INT_V(now_ms)};
    int rc = store_tx_query(tx,
                            "SELECT issue_id, remaining, expires_ms FROM wallet_lot WHERE "
                            "account = ? AND remaining > 0 AND expires_ms > ? "
                            "ORDER BY expires_ms, issue_id",
                            v, 2, piece_row, &ps, e);
    if (rc == 0 && ps.nomem)
        rc = err_set(e, ERR_NOMEM, "out of memory");
    if (rc == 0 && (ps.bad || ps.got != amount))
        rc = err_set(e, ERR_INTERNAL, "wallet: the lots of %s do not cover its balance", from);
    if (rc == 0)
        rc = move_pieces(tx, transfer, from, to, &ps, e);
    free(ps.p);
    return rc;
}

/* ---- the operation ---- */

static int check_memo(const char *memo, struct err *e)
{
    if (memo == NULL)
        return 0;
    size_t n = strlen(memo);
    if (n == 0 || !utf8_valid(memo, n) || utf8_chars(memo, n) > WALLET_MEMO_MAX)
        return err_set(e, ERR_INVALID, "memo: 1..%d characters of UTF-8", WALLET_MEMO_MAX);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)memo[i] < 0x20 || memo[i] == 0x7f)
            return err_set(e, ERR_INVALID, "memo: no control characters");
    return 0;
}

struct idem_found {
    char hash[WALLET_HASH_HEX + 1];
    int status, found;
    char *response;
    char transfer[IDS_LEN + 1];
};

static int idem_row(const struct store_row *row, void *ctx)
{
    struct idem_found *f = ctx;
    const char *h = store_row_text(row, 0, NULL);
    const char *r = store_row_text(row, 2, NULL);
    const char *t = store_row_text(row, 3, NULL);
    snprintf(f->hash, sizeof f->hash, "%s", h != NULL ? h : "");
    f->status = (int)store_row_int(row, 1);
    f->response = strdup(r != NULL ? r : "{}");
    snprintf(f->transfer, sizeof f->transfer, "%s", t != NULL ? t : "");
    f->found = 1;
    return 1;
}

struct orig {
    char kind[16], from[WALLET_ACCOUNT_MAX + 1], to[WALLET_ACCOUNT_MAX + 1];
    int64_t amount;
    int found;
};

static int orig_row(const struct store_row *row, void *ctx)
{
    struct orig *o = ctx;
    snprintf(o->kind, sizeof o->kind, "%s", store_row_text(row, 0, NULL));
    snprintf(o->from, sizeof o->from, "%s", store_row_text(row, 1, NULL));
    snprintf(o->to, sizeof o->to, "%s", store_row_text(row, 2, NULL));
    o->amount = store_row_int(row, 3);
    o->found = 1;
    return 1;
}

struct inv {
    char person[IDS_LEN + 1], issuer[IDS_LEN + 1], status[8], purpose[32];
    int64_t amount;
    int found;
};

static int inv_row(const struct store_row *row, void *ctx)
{
    struct inv *v = ctx;
    snprintf(v->person, sizeof v->person, "%s", store_row_text(row, 0, NULL));
    snprintf(v->issuer, sizeof v->issuer, "%s", store_row_text(row, 1, NULL));
    v->amount = store_row_int(row, 2);
    snprintf(v->status, sizeof v->status, "%s", store_row_text(row, 3, NULL));
    snprintf(v->purpose, sizeof v->purpose, "%s", store_row_text(row, 4, NULL));
    v->found = 1;
    return 1;
}

/* The payment's invoice, mandate and month checks, and the invoice marked paid. Sets from/to
 * and the amount from the invoice. */
static int prepare_payment(struct store_tx *tx, struct wallet_op *op, char *from, char *to,
                           int64_t *amount, const char *month, struct err *e)
{
    struct inv v = {0};
    struct store_value k[] = {STORE_TEXT_V(op->invoice)};
    int rc = store_tx_query(tx,
                            "SELECT person, issuer, amount, status, purpose FROM wallet_invoice "
                            "WHERE id = ?",
                            k, 1, inv_row, &v, e);
    if (rc != 0)
        return rc;
    if (!v.found)
        return err_set(e, ERR_NOTFOUND, "invoice: no such invoice");
    snprintf(from, WALLET_ACCOUNT_MAX + 1, "person:%s", v.person);
    snprintf(to, WALLET_ACCOUNT_MAX + 1, "org:%s", v.issuer);
    if (op->from != NULL && strcmp(op->from, from) != 0)
        return err_set(e, ERR_NOTFOUND, "invoice: no such invoice of this account");
    if (strcmp(v.status, "open") != 0)
        return err_set(e, ERR_CONFLICT, "invoice: already paid");
    *amount = v.amount;
    if (op->mandate != NULL) {
        int64_t one = 0;
        struct store_value m[] = {STORE_TEXT_V(op->mandate), STORE_TEXT_V(v.person),
                                  STORE_TEXT_V(v.issuer), STORE_TEXT_V(v.purpose)};
        rc = wallet__tx_int(tx,
                            "SELECT limit_month FROM wallet_mandate WHERE id = ? AND person = ? "
                            "AND org = ? AND purpose = ? AND revoked_ms IS NULL",
                            m, 4, &one, e);
        if (rc < 0)
            return rc;
        if (rc == 0)
            return err_set(e, ERR_CONFLICT, "mandate: not active");
        struct store_value u0[] = {STORE_TEXT_V(op->mandate), STORE_TEXT_V(month)};
        if ((rc = store_tx_exec(tx,
                                "INSERT INTO wallet_mandate_use (mandate, month, used) VALUES "
                                "(?, ?, 0) ON CONFLICT (mandate, month) DO NOTHING",
                                u0, 2, e)) < 0)
            return rc;
        struct store_value u[] = {STORE_INT_V(v.amount), STORE_TEXT_V(op->mandate),
                                  STORE_TEXT_V(month), STORE_INT_V(one - v.amount)};
        rc = store_tx_exec(tx,
                           "UPDATE wallet_mandate_use SET used = used + ? WHERE mandate = ? AND "
                           "month = ? AND used <= ?",
                           u, 4, e);
        if (rc < 0)
            return rc;
        if (rc == 0)
            return err_set(e, ERR_CONFLICT, "mandate: over this month's limit");
    }
    struct store_value p[] = {STORE_TEXT_V(op->id),
                              op->mandate != NULL ? STORE_TEXT_V(op->mandate) : STORE_NULL_V,
                              STORE_INT_V(op->now_ms), STORE_TEXT_V(op->invoice)};
    rc = store_tx_exec(tx,
                       "UPDATE wallet_invoice SET status = 'paid', transfer_id = ?, mandate = ?, "
                       "paid_ms = ? WHERE id = ? AND status = 'open'",
                       p, 4, e);
    if (rc < 0)
        return rc;
    if (rc != 1)
        return err_set(e, ERR_CONFLICT, "invoice: already paid");
    /* the issuer's service sets its FHIR Invoice "balanced" on this event */
    json_t *pl = json_pack("{s:s, s:s, s:s, s:I}", "invoice", op->invoice, "issuer", v.issuer,
                           "transfer", op->id, "amount", (json_int_t)v.amount);
    char *text = pl != NULL ? jsonx_dumps(pl, NULL) : NULL;
    json_decref(pl);
    if (text == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    char ref[WALLET_INVOICE_ID_MAX + 16];
    snprintf(ref, sizeof ref, "Invoice/%s", op->invoice);
    rc = event_append(tx, WALLET_EV_INVOICE_PAID, v.person, ref, text, op->now_ms, NULL, e);
    free(text);
    return rc;
}

/* The refund's checks against the original and the guard on what remains of it. */
static int prepare_refund(struct store_tx *tx, struct wallet_op *op, char *from, char *to,
                          struct err *e)
{
    if (op->refund_of == NULL || !ids_valid(op->refund_of))
        return err_set(e, ERR_NOTFOUND, "transfer: no such transfer");
    struct orig o = {0};
    struct store_value k[] = {STORE_TEXT_V(op->refund_of)};
    int rc = store_tx_query(tx,
                            "SELECT kind, from_account, to_account, amount FROM wallet_transfer "
                            "WHERE id = ?",
                            k, 1, orig_row, &o, e);
    if (rc != 0)
        return rc;
    if (!o.found || (op->from != NULL && strcmp(op->from, o.to) != 0))
        return err_set(e, ERR_NOTFOUND, "transfer: no such transfer to this account");
    if (strcmp(o.kind, "transfer") != 0 && strcmp(o.kind, "payment") != 0)
        return err_set(e, ERR_INVALID, "transfer: only transfers and payments are refunded");
    snprintf(from, WALLET_ACCOUNT_MAX + 1, "%s", o.to);
    snprintf(to, WALLET_ACCOUNT_MAX + 1, "%s", o.from);
    if ((rc = store_tx_exec(tx,
                            "INSERT INTO wallet_refunded (transfer_id, amount) VALUES (?, 0) "
                            "ON CONFLICT (transfer_id) DO NOTHING",
                            k, 1, e)) < 0)
        return rc;
    struct store_value g[] = {STORE_INT_V(op->amount), STORE_TEXT_V(op->refund_of),
                              STORE_INT_V(o.amount - op->amount)};
    rc = store_tx_exec(tx,
                       "UPDATE wallet_refunded SET amount = amount + ? WHERE transfer_id = ? AND "
                       "amount <= ?",
                       g, 3, e);
    if (rc < 0)
        return rc;
    if (rc == 0) {
        int64_t done = 0;
        wallet__tx_int(tx, "SELECT amount FROM wallet_refunded WHERE transfer_id = ?", k, 1, &done,
                       NULL);
        return err_set(e, ERR_CONFLICT, "refund: more than what remains of the transfer (%lld yen)",
                       (long long)(o.amount - done));
    }
    return 0;
}

static int op_body(struct store_tx *tx, struct wallet_op *op, struct err *e)
{
    int rc;
    if (op->kind != WALLET_PAYMENT && (op->amount < 1 || op->amount > WALLET_AMOUNT_MAX))
        return err_set(e, ERR_INVALID, "amount: an integer number of yen, 1..%lld",
                       (long long)WALLET_AMOUNT_MAX);
    if ((rc = check_memo(op->memo, e)) != 0)
        return rc;
    if (op->by == NULL || op->by[0] == '\0')
        return err_set(e, ERR_INVALID, "by: required");
    int idem = op->idem_key != NULL;
    if (idem &&
        (op->idem_caller == NULL || op->idem_hash == NULL || !wallet_json_key_valid(op->idem_key)))
        return err_set(e, ERR_INVALID, "Idempotency-Key: 1..%d printable ASCII characters",
                       WALLET_KEY_MAX);
    if (idem) {
        struct idem_found f = {0};
        struct store_value k[] = {STORE_TEXT_V(op->idem_caller), STORE_TEXT_V(op->idem_key)};
        rc = store_tx_query(tx,
                            "SELECT request_hash, status, response, transfer_id FROM wallet_idem "
                            "WHERE caller = ? AND idem_key = ?",
                            k, 2, idem_row, &f, e);
        if (rc != 0) {
            free(f.response);
            return rc;
        }
        if (f.found) {
            if (f.response == NULL)
                return err_set(e, ERR_NOMEM, "out of memory");
            if (strcmp(f.hash, op->idem_hash) != 0) {
                free(f.response);
                return err_set(e, ERR_INVALID,
                               "Idempotency-Key: already used for a different request");
            }
            op->replayed = 1;
            op->status = f.status;
            op->response = f.response;
            memcpy(op->id, f.transfer, sizeof op->id);
            return 0;
        }
    }
    char from[WALLET_ACCOUNT_MAX + 1], to[WALLET_ACCOUNT_MAX + 1], month[8];
    int64_t amount = op->amount;
    wallet_month_tokyo(op->now_ms, month);
    ids_new_ordered(op->id, op->now_ms);
    struct transfer_rec t = {.id = op->id,
                             .kind = wallet_kind_name(op->kind),
                             .memo = op->memo,
                             .by = op->by,
                             .now_ms = op->now_ms};
    switch (op->kind) {
    case WALLET_ISSUE:
        if (!wallet_account_valid(op->to))
            return err_set(e, ERR_INVALID, "to: not an account reference");
        if (op->expires_ms != 0 && op->expires_ms <= op->now_ms)
            return err_set(e, ERR_INVALID, "expires: must lie in the future");
        snprintf(from, sizeof from, "%s", WALLET_MINT);
        snprintf(to, sizeof to, "%s", op->to);
        t.expires_ms = op->expires_ms != 0 ? op->expires_ms : WALLET_NO_EXPIRY;
        break;
    case WALLET_TRANSFER:
        if (!wallet_account_valid(op->from))
            return err_set(e, ERR_INVALID, "from: not an account reference");
        if (!wallet_account_valid(op->to))
            return err_set(e, ERR_INVALID, "to: not an account reference");
        snprintf(from, sizeof from, "%s", op->from);
        snprintf(to, sizeof to, "%s", op->to);
        break;
    case WALLET_REFUND:
        if ((rc = prepare_refund(tx, op, from, to, e)) != 0)
            return rc;
        t.refund_of = op->refund_of;
        break;
    case WALLET_PAYMENT:
        if (!wallet__invoice_id_valid(op->invoice))
            return err_set(e, ERR_NOTFOUND, "invoice: no such invoice");
        if ((rc = prepare_payment(tx, op, from, to, &amount, month, e)) != 0)
            return rc;
        t.invoice = op->invoice;
        t.mandate = op->mandate;
        t.month = month;
        break;
    case WALLET_EXPIRE:
    default:
        return err_set(e, ERR_INVALID, "kind: not an operation");
    }
    if (strcmp(from, to) == 0)
        return err_set(e, ERR_INVALID, "to: the same account as the payer");
    t.from = from;
    t.to = to;
    t.amount = amount;
    if ((rc = ensure_account(tx, to, op->now_ms, e)) != 0)
        return rc;
    if (op->kind != WALLET_ISSUE && (rc = sweep_account(tx, from, op->now_ms, NULL, e)) != 0)
        return rc;
    if ((rc = post_entry(tx, from, to, op->id, -amount, op->now_ms, &op->from_balance, e)) != 0 ||
        (rc = post_entry(tx, to, from, op->id, amount, op->now_ms, &op->to_balance, e)) != 0)
        return rc;
    if (op->kind == WALLET_ISSUE) {
        struct store_value l[] = {STORE_TEXT_V(to), STORE_TEXT_V(op->id), STORE_INT_V(t.expires_ms),
                                  STORE_INT_V(amount)};
        if ((rc = store_tx_exec(tx,
                                "INSERT INTO wallet_lot (account, issue_id, expires_ms, remaining) "
                                "VALUES (?, ?, ?, ?)",
                                l, 4, e)) < 0)
            return rc;
        struct store_value m[] = {STORE_TEXT_V(op->id), STORE_TEXT_V(to), STORE_TEXT_V(op->id),
                                  STORE_INT_V(amount)};
        if ((rc = store_tx_exec(tx,
                                "INSERT INTO wallet_lot_move (transfer_id, account, issue_id, "
                                "amount) VALUES (?, ?, ?, ?)",
                                m, 4, e)) < 0)
            return rc;
    } else if ((rc = spend(tx, op->id, from, to, amount, op->now_ms, e)) != 0) {
        return rc;
    }
    if ((rc = insert_transfer(tx, &t, e)) != 0)
        return rc;
    for (size_t i = 0; i < op->naudits; i++) {
        struct audit_event ev = op->audits[i];
        if (ev.resource_id == NULL)
            ev.resource_id = op->id;
        if ((rc = audit_append(tx, &ev, NULL, e)) != 0)
            return rc;
    }
    if (op->note_subject != NULL) {
        struct consent_inbox_notice n = {.subject = op->note_subject,
                                         .source = WALLET_SOURCE,
                                         .ref = op->note_ref,
                                         .text_ja = op->note_ja,
                                         .text_en = op->note_en,
                                         .dedupe_key = op->note_dedupe};
        if ((rc = consent_inbox_notify(tx, &n, op->now_ms, NULL, e)) != 0)
            return rc;
    }
    struct wallet_transfer_row row = {.kind = t.kind,
                                      .from = from,
                                      .to = to,
                                      .memo = t.memo,
                                      .refund_of = t.refund_of,
                                      .invoice = t.invoice,
                                      .mandate = t.mandate,
                                      .amount = amount,
                                      .created_ms = op->now_ms};
    memcpy(row.id, op->id, sizeof row.id);
    json_t *j = wallet__transfer_json(&row);
    op->response = j != NULL ? jsonx_dumps(j, NULL) : NULL;
    json_decref(j);
    if (op->response == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    op->status = 201;
    if (idem) {
        struct store_value v[] = {STORE_TEXT_V(op->idem_caller), STORE_TEXT_V(op->idem_key),
                                  STORE_TEXT_V(op->idem_hash),   STORE_INT_V(op->status),
                                  STORE_TEXT_V(op->response),    STORE_TEXT_V(op->id),
                                  STORE_INT_V(op->now_ms)};
        if ((rc = store_tx_exec(tx,
                                "INSERT INTO wallet_idem (caller, idem_key, request_hash, status, "
                                "response, transfer_id, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
                                v, 7, e)) < 0)
            return rc;
    }
    return 0;
}

int wallet_op_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct wallet_op *op = ctx;
    free(op->response);
    op->response = NULL;
    op->replayed = 0;
    op->status = 0;
    err_clear(&op->err);
    if (op->now_ms == 0)
        op->now_ms = clock_now_ms();
    int rc = op_body(tx, op, &op->err);
    if (rc != 0) {
        free(op->response);
        op->response = NULL;
        if (op->err.code == 0)
            op->err.code = rc;
        if (e != NULL)
            *e = op->err;
    }
    return rc;
}

int wallet_op_run(struct store *s, struct wallet_op *op, struct err *e)
{
    int rc = store_write(s, wallet_op_fn, op, e);
    if (rc != 0 && op->err.code == 0 && e != NULL)
        op->err = *e;
    return rc;
}

void wallet_op_release(struct wallet_op *op)
{
    if (op == NULL)
        return;
    free(op->response);
    op->response = NULL;
}

/* ---- the expiry sweep ---- */

struct due {
    char (*acct)[WALLET_ACCOUNT_MAX + 1];
    size_t n, cap;
    int nomem;
};

static int due_row(const struct store_row *row, void *ctx)
{
    struct due *d = ctx;
    const char *a = store_row_text(row, 0, NULL);
    if (a == NULL || strlen(a) > WALLET_ACCOUNT_MAX)
        return 0;
    if (d->n > 0 && strcmp(d->acct[d->n - 1], a) == 0)
        return 0;
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 16;
        void *np = realloc(d->acct, cap * sizeof *d->acct);
        if (np == NULL) {
            d->nomem = 1;
            return 1;
        }
        d->acct = np;
        d->cap = cap;
    }
    snprintf(d->acct[d->n++], WALLET_ACCOUNT_MAX + 1, "%s", a);
    return 0;
}

struct sweep {
    int64_t now_ms, moved;
};

static int sweep_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct sweep *sw = ctx;
    struct due d = {0};
    struct store_value v[] = {STORE_INT_V(sw->now_ms)};
    /* a page of the due lots, by account */
    int rc = store_tx_query(tx,
                            "SELECT account FROM (SELECT account FROM wallet_lot WHERE expires_ms "
                            "<= ? AND remaining > 0 ORDER BY expires_ms, account LIMIT 1000) due "
                            "ORDER BY account",
                            v, 1, due_row, &d, e);
    if (rc == 0 && d.nomem)
        rc = err_set(e, ERR_NOMEM, "out of memory");
    sw->moved = 0;
    for (size_t i = 0; rc == 0 && i < d.n; i++) {
        int64_t m = 0;
        rc = sweep_account(tx, d.acct[i], sw->now_ms, &m, e);
        sw->moved += m;
    }
    free(d.acct);
    return rc;
}

int wallet_expire_due(struct store *s, int64_t now_ms, int64_t *moved, struct err *e)
{
    struct sweep sw = {.now_ms = now_ms != 0 ? now_ms : clock_now_ms()};
    int rc = store_write(s, sweep_fn, &sw, e);
    if (moved != NULL)
        *moved = rc == 0 ? sw.moved : 0;
    return rc;
}

/* ---- reads ---- */

struct lots_read {
    struct arena *a;
    struct wallet_account_view *v;
    size_t cap;
    int64_t now_ms;
    int nomem;
};

static int lots_row(const struct store_row *row, void *ctx)
{
    struct lots_read *r = ctx;
    struct wallet_lot *arr =
        arena_array_reserve(r->a, r->v->lots, r->v->nlots, &r->cap, sizeof *arr);
    if (arr == NULL) {
        r->nomem = 1;
        return 1;
    }
    r->v->lots = arr;
    struct wallet_lot *l = &arr[r->v->nlots++];
    snprintf(l->issue, sizeof l->issue, "%s", store_row_text(row, 0, NULL));
    l->remaining = store_row_int(row, 1);
    l->expires_ms = store_row_int(row, 2);
    if (l->expires_ms > r->now_ms)
        r->v->available += l->remaining;
    return 0;
}

int wallet_account_get(struct store *s, const char *account, int64_t now_ms, struct arena *a,
                       struct wallet_account_view *out, struct err *e)
{
    memset(out, 0, sizeof *out);
    snprintf(out->id, sizeof out->id, "%s", account);
    struct store_value v[] = {STORE_TEXT_V(account)};
    int64_t bal = 0;
    int rc = wallet__q_int(s, "SELECT balance FROM wallet_account WHERE id = ?", v, 1, &bal, e);
    if (rc < 0)
        return rc;
    out->exists = rc;
    out->balance = bal;
    struct lots_read r = {.a = a, .v = out, .now_ms = now_ms};
    rc = store_query(s,
                     "SELECT issue_id, remaining, expires_ms FROM wallet_lot WHERE account = ? "
                     "AND remaining > 0 ORDER BY expires_ms, issue_id LIMIT 1000",
                     v, 1, lots_row, &r, e);
    if (rc == 0 && r.nomem)
        rc = err_set(e, ERR_NOMEM, "out of memory");
    return rc;
}

struct lines_read {
    struct arena *a;
    struct wallet_line *l;
    size_t n, cap, limit;
    int nomem;
    int64_t last_seq;
    int more;
};

static const char *opt_text(struct arena *a, const struct store_row *row, int col, int *nomem)
{
    if (store_row_is_null(row, col))
        return NULL;
    const char *t = arena_strdup(a, store_row_text(row, col, NULL));
    if (t == NULL)
        *nomem = 1;
    return t;
}

static int line_row(const struct store_row *row, void *ctx)
{
    struct lines_read *r = ctx;
    if (r->n == r->limit) {
        r->more = 1;
        return 1;
    }
    struct wallet_line *arr = arena_array_reserve(r->a, r->l, r->n, &r->cap, sizeof *arr);
    if (arr == NULL) {
        r->nomem = 1;
        return 1;
    }
    r->l = arr;
    struct wallet_line *l = &arr[r->n++];
    memset(l, 0, sizeof *l);
    l->seq = store_row_int(row, 0);
    snprintf(l->transfer, sizeof l->transfer, "%s", store_row_text(row, 1, NULL));
    l->counterparty = opt_text(r->a, row, 2, &r->nomem);
    l->amount = store_row_int(row, 3);
    l->balance_after = store_row_int(row, 4);
    l->created_ms = store_row_int(row, 5);
    l->kind = opt_text(r->a, row, 6, &r->nomem);
    l->memo = opt_text(r->a, row, 7, &r->nomem);
    l->refund_of = opt_text(r->a, row, 8, &r->nomem);
    l->invoice = opt_text(r->a, row, 9, &r->nomem);
    r->last_seq = l->seq;
    return r->nomem;
}

int wallet_statement(struct store *s, const char *account, int64_t before_seq, size_t limit,
                     struct arena *a, struct wallet_line **out, size_t *n, int64_t *next_before,
                     struct err *e)
{
    if (limit < 1 || limit > WALLET_PAGE_MAX)
        return err_set(e, ERR_INVALID, "limit: 1..%d", WALLET_PAGE_MAX);
    struct lines_read r = {.a = a, .limit = limit};
    struct store_value v[] = {STORE_TEXT_V(account),
                              STORE_INT_V(before_seq > 0 ? before_seq : INT64_MAX),
                              STORE_INT_V((int64_t)limit + 1)};
    int rc = store_query(s,
                         "SELECT en.seq, en.transfer_id, en.counterparty, en.amount, "
                         "en.balance_after, en.created_ms, t.kind, t.memo, t.refund_of, t.invoice "
                         "FROM wallet_entry en JOIN wallet_transfer t ON t.id = en.transfer_id "
                         "WHERE en.account = ? AND en.seq < ? ORDER BY en.seq DESC LIMIT ?",
                         v, 3, line_row, &r, e);
    if (rc == 0 && r.nomem)
        rc = err_set(e, ERR_NOMEM, "out of memory");
    if (rc != 0)
        return rc;
    *out = r.l;
    *n = r.n;
    *next_before = r.more ? r.last_seq : 0;
    return 0;
}

struct tr_read {
    struct arena *a;
    struct wallet_transfer_row *t;
    int found, nomem;
};

static int tr_row(const struct store_row *row, void *ctx)
{
    struct tr_read *r = ctx;
    struct wallet_transfer_row *t = r->t;
    snprintf(t->id, sizeof t->id, "%s", store_row_text(row, 0, NULL));
    t->kind = opt_text(r->a, row, 1, &r->nomem);
    t->from = opt_text(r->a, row, 2, &r->nomem);
    t->to = opt_text(r->a, row, 3, &r->nomem);
    t->amount = store_row_int(row, 4);
    t->memo = opt_text(r->a, row, 5, &r->nomem);
    t->refund_of = opt_text(r->a, row, 6, &r->nomem);
    t->invoice = opt_text(r->a, row, 7, &r->nomem);
    t->mandate = opt_text(r->a, row, 8, &r->nomem);
    t->created_ms = store_row_int(row, 9);
    r->found = 1;
    return 1;
}

int wallet_transfer_get(struct store *s, const char *id, struct arena *a,
                        struct wallet_transfer_row *out, struct err *e)
{
    memset(out, 0, sizeof *out);
    if (id == NULL || !ids_valid(id))
        return err_set(e, ERR_NOTFOUND, "transfer: no such transfer");
    struct tr_read r = {.a = a, .t = out};
    struct store_value v[] = {STORE_TEXT_V(id)};
    int rc = store_query(s,
                         "SELECT id, kind, from_account, to_account, amount, memo, refund_of, "
                         "invoice, mandate, created_ms FROM wallet_transfer WHERE id = ?",
                         v, 1, tr_row, &r, e);
    if (rc == 0 && r.nomem)
        rc = err_set(e, ERR_NOMEM, "out of memory");
    if (rc == 0 && !r.found)
        rc = err_set(e, ERR_NOTFOUND, "transfer: no such transfer");
    return rc;
}

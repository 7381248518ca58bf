/* invoice.c - the invoices the wallet is asked to pay (wallet.h): the "invoice.issued" consumer
 * records each one, pays it under the citizen's matching active mandate within the month's
 * remaining limit (key "invoice:<id>", so a redelivered event pays once), and tells the citizen
 * in their inbox either way; and the citizen's reads of their invoices. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/jsonx.h"
#include "base/log.h"
#include "base/utf8.h"
#include "consent/consent.h"
#include "consent/index.h"
#include "services/wallet/internal.h"

#define DESCRIPTION_MAX 500 /* bytes kept of an invoice's description */
#define MANDATE_CALLER  "wallet:mandate"

struct issued {
    const char *subject, *invoice, *issuer, *purpose, *description;
    int64_t amount, now_ms;
    /* results of the record write */
    char status[8];
    int mismatch;
};

static int status_row(const struct store_row *row, void *ctx)
{
    struct issued *in = ctx;
    const char *person = store_row_text(row, 0, NULL), *issuer = store_row_text(row, 1, NULL);
    snprintf(in->status, sizeof in->status, "%s", store_row_text(row, 3, NULL));
    in->mismatch = person == NULL || issuer == NULL || strcmp(person, in->subject) != 0 ||
                   strcmp(issuer, in->issuer) != 0 || store_row_int(row, 2) != in->amount;
    return 1;
}

static int record_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct issued *in = ctx;
    struct store_value v[] = {STORE_TEXT_V(in->invoice), STORE_TEXT_V(in->subject),
                              STORE_TEXT_V(in->issuer),  STORE_INT_V(in->amount),
                              STORE_TEXT_V(in->purpose), STORE_TEXT_V(in->description),
                              STORE_INT_V(in->now_ms)};
    int rc = store_tx_exec(tx,
                           "INSERT INTO wallet_invoice (id, person, issuer, amount, purpose, "
                           "description, status, created_ms) VALUES (?, ?, ?, ?, ?, ?, 'open', ?) "
                           "ON CONFLICT (id) DO NOTHING",
                           v, 7, e);
    if (rc < 0)
        return rc;
    return store_tx_query(tx,
                          "SELECT person, issuer, amount, status FROM wallet_invoice WHERE id = ?",
                          v, 1, status_row, in, e);
}

struct notice_w {
    struct consent_inbox_notice n;
    int64_t now_ms;
};

static int notice_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct notice_w *w = ctx;
    return consent_inbox_notify(tx, &w->n, w->now_ms, NULL, e);
}

struct active {
    char id[IDS_LEN + 1];
    int64_t limit;
    int found;
};

static int active_row(const struct store_row *row, void *ctx)
{
    struct active *a = ctx;
    snprintf(a->id, sizeof a->id, "%s", store_row_text(row, 0, NULL));
    a->limit = store_row_int(row, 1);
    a->found = 1;
    return 1;
}

/* The notice asking the citizen to pay by hand, with why the wallet did not. */
static int ask_to_pay(struct store *s, const struct issued *in, const char *why_ja,
                      const char *why_en, struct err *e)
{
    char ref[WALLET_INVOICE_ID_MAX + 16], key[WALLET_INVOICE_ID_MAX + 32];
    snprintf(ref, sizeof ref, "Invoice/%s", in->invoice);
    snprintf(key, sizeof key, "wallet.due.%s", in->invoice);
    char ja[1000], en[1000];
    snprintf(ja, sizeof ja,
             "%.300s の請求 %" PRId64 "円 が届きました（%s）。ウォレットからお支払いください。",
             in->description, in->amount, why_ja);
    snprintf(en, sizeof en,
             "An invoice of %" PRId64 " yen for %.300s arrived (%s). Please pay it "
             "from your wallet.",
             in->amount, in->description, why_en);
    struct notice_w w = {.n = {.subject = in->subject,
                               .source = WALLET_SOURCE,
                               .ref = ref,
                               .text_ja = ja,
                               .text_en = en,
                               .dedupe_key = key},
                         .now_ms = in->now_ms};
    return store_write(s, notice_fn, &w, e);
}

static int pay_under_mandate(struct store *s, const struct issued *in, const struct active *m,
                             int *paid, struct err *e)
{
    char key[WALLET_INVOICE_ID_MAX + 16], hash[WALLET_HASH_HEX + 1], decided[IDS_LEN + 16];
    char ref[WALLET_INVOICE_ID_MAX + 16], dkey[WALLET_INVOICE_ID_MAX + 32], ja[1000], en[1000];
    char from[WALLET_ACCOUNT_MAX + 1];
    snprintf(key, sizeof key, "invoice:%s", in->invoice);
    snprintf(decided, sizeof decided, "mandate:%s", m->id);
    snprintf(ref, sizeof ref, "Invoice/%s", in->invoice);
    snprintf(dkey, sizeof dkey, "wallet.paid.%s", in->invoice);
    snprintf(from, sizeof from, "person:%s", in->subject);
    const char *fields[] = {"payment", in->invoice, NULL};
    wallet_json_request_hash(fields, hash);
    snprintf(ja, sizeof ja,
             "口座振替の同意（%s）に基づき、%.300s の代金 %" PRId64 "円 をお支払いしました。",
             in->purpose, in->description, in->amount);
    snprintf(en, sizeof en, "Paid %" PRId64 " yen for %.300s under your payment mandate (%s).",
             in->amount, in->description, in->purpose);
    struct audit_event ev = {.actor_kind = AUDIT_ACTOR_CLIENT,
                             .actor_id = WALLET_SOURCE,
                             .actor_org = in->issuer,
                             .subject = in->subject,
                             .action = "create",
                             .resource_type = "WalletTransfer",
                             .category = "payments",
                             .purpose = in->purpose,
                             .decision = AUDIT_PERMIT,
                             .decided_by = decided,
                             .source_addr = WALLET_SOURCE};
    struct wallet_op op = {.kind = WALLET_PAYMENT,
                           .from = from,
                           .invoice = in->invoice,
                           .mandate = m->id,
                           .by = decided,
                           .now_ms = in->now_ms,
                           .idem_caller = MANDATE_CALLER,
                           .idem_key = key,
                           .idem_hash = hash,
                           .audits = &ev,
                           .naudits = 1,
                           .note_subject = in->subject,
                           .note_ref = ref,
                           .note_ja = ja,
                           .note_en = en,
                           .note_dedupe = dkey};
    int rc = wallet_op_run(s, &op, e);
    wallet_op_release(&op);
    *paid = rc == 0;
    if (rc == ERR_CONFLICT || rc == ERR_INVALID || rc == ERR_TOOBIG) {
        if (strncmp(op.err.msg, "invoice: already paid", 21) == 0) {
            *paid = 1;
            return 0;
        }
        const char *why_ja =
            strncmp(op.err.msg, "mandate: over", 13) == 0 ? "今月の口座振替の上限を超えるため"
            : strncmp(op.err.msg, "insufficient", 12) == 0 ? "残高が足りないため"
                                                           : "口座振替ができないため";
        const char *why_en =
            strncmp(op.err.msg, "mandate: over", 13) == 0  ? "over this month's mandate limit"
            : strncmp(op.err.msg, "insufficient", 12) == 0 ? "your balance does not cover it"
                                                           : "the mandate could not be used";
        log_info("wallet: invoice %s not paid under mandate %s: %s", in->invoice, m->id,
                 op.err.msg);
        return ask_to_pay(s, in, why_ja, why_en, e);
    }
    return rc;
}

int wallet_invoice_issued(struct store *s, const char *subject, const char *payload, int64_t now_ms,
                          struct err *e)
{
    struct err pe = {0};
    json_t *pl = payload != NULL ? jsonx_parse(payload, strlen(payload), &pe) : NULL;
    if (pl == NULL) {
        if (pe.code == ERR_NOMEM)
            return err_set(e, ERR_NOMEM, "out of memory");
        log_warn("wallet: an invoice.issued event without a JSON payload: dropped");
        return 0;
    }
    struct issued in = {.subject = subject, .now_ms = now_ms != 0 ? now_ms : clock_now_ms()};
    in.invoice = json_string_value(json_object_get(pl, "invoice"));
    in.issuer = json_string_value(json_object_get(pl, "issuer"));
    in.purpose = json_string_value(json_object_get(pl, "purpose"));
    in.description = json_string_value(json_object_get(pl, "description"));
    const char *currency = json_string_value(json_object_get(pl, "currency"));
    const json_t *amt = json_object_get(pl, "amount");
    in.amount = json_is_integer(amt) ? (int64_t)json_integer_value(amt) : 0;
    char desc[DESCRIPTION_MAX + 1];
    if (in.description == NULL || in.description[0] == '\0')
        in.description = "invoice";
    size_t dl = strlen(in.description);
    if (dl > DESCRIPTION_MAX) { /* cut at a character boundary */
        dl = DESCRIPTION_MAX;
        while (dl > 0 && ((unsigned char)in.description[dl] & 0xc0) == 0x80)
            dl--;
    }
    memcpy(desc, in.description, dl);
    desc[dl] = '\0';
    in.description = desc;
    const char *bad = subject == NULL || !ids_valid(subject)             ? "subject"
                      : !wallet__invoice_id_valid(in.invoice)            ? "invoice"
                      : in.issuer == NULL || !ids_valid(in.issuer)       ? "issuer"
                      : in.amount < 1 || in.amount > WALLET_AMOUNT_MAX   ? "amount"
                      : currency == NULL || strcmp(currency, "JPY") != 0 ? "currency"
                      : !wallet_purpose_valid(in.purpose)                ? "purpose"
                      : !utf8_valid(desc, dl)                            ? "description"
                                                                         : NULL;
    if (bad != NULL) {
        log_warn("wallet: an invoice.issued event with a bad %s: dropped", bad);
        json_decref(pl);
        return 0;
    }
    int rc = store_write(s, record_fn, &in, e);
    if (rc != 0 || in.mismatch || strcmp(in.status, "open") != 0) {
        if (rc == 0 && in.mismatch)
            log_warn("wallet: invoice %s was issued again with other data: ignored", in.invoice);
        json_decref(pl);
        return rc;
    }
    struct active m = {0};
    struct store_value v[] = {STORE_TEXT_V(in.subject), STORE_TEXT_V(in.issuer),
                              STORE_TEXT_V(in.purpose)};
    rc = store_query(s,
                     "SELECT id, limit_month FROM wallet_mandate WHERE person = ? AND org = ? AND "
                     "purpose = ? AND revoked_ms IS NULL ORDER BY created_ms DESC, id DESC",
                     v, 3, active_row, &m, e);
    if (rc == 0) {
        int paid = 0;
        if (m.found)
            rc = pay_under_mandate(s, &in, &m, &paid, e);
        else
            rc = ask_to_pay(s, &in, "口座振替の同意がないため", "no payment mandate covers it", e);
        if (rc == 0)
            log_info("wallet: invoice %s of %" PRId64 " yen %s", in.invoice, in.amount,
                     paid ? "paid under a mandate" : "left for the citizen to pay");
    }
    json_decref(pl);
    return rc;
}

/* ---- reads ---- */

struct inv_read {
    struct arena *a;
    struct wallet_invoice *v;
    size_t n, cap;
    int nomem;
};

static const char *dup_col(struct arena *a, const struct store_row *row, int col, int *nomem)
{
    if (store_row_is_null(row, col))
        return NULL;
    const char *t = arena_strdup(a, store_row_text(row, col, NULL));
    *nomem |= t == NULL;
    return t;
}

static int inv_row(const struct store_row *row, void *ctx)
{
    struct inv_read *r = ctx;
    struct wallet_invoice *arr = arena_array_reserve(r->a, r->v, r->n, &r->cap, sizeof *arr);
    if (arr == NULL) {
        r->nomem = 1;
        return 1;
    }
    r->v = arr;
    struct wallet_invoice *v = &arr[r->n++];
    memset(v, 0, sizeof *v);
    snprintf(v->id, sizeof v->id, "%s", store_row_text(row, 0, NULL));
    snprintf(v->person, sizeof v->person, "%s", store_row_text(row, 1, NULL));
    snprintf(v->issuer, sizeof v->issuer, "%s", store_row_text(row, 2, NULL));
    v->amount = store_row_int(row, 3);
    v->purpose = dup_col(r->a, row, 4, &r->nomem);
    v->description = dup_col(r->a, row, 5, &r->nomem);
    v->status = dup_col(r->a, row, 6, &r->nomem);
    v->transfer = dup_col(r->a, row, 7, &r->nomem);
    v->mandate = dup_col(r->a, row, 8, &r->nomem);
    v->created_ms = store_row_int(row, 9);
    v->paid_ms = store_row_is_null(row, 10) ? 0 : store_row_int(row, 10);
    return r->nomem || r->n >= 1000;
}

#define INVOICE_COLS                                                                               \
    "id, person, issuer, amount, purpose, description, status, transfer_id, mandate, "             \
    "created_ms, paid_ms"

int wallet_invoice_get(struct store *s, const char *person, const char *id, struct arena *a,
                       struct wallet_invoice *out, struct err *e)
{
    if (!wallet__invoice_id_valid(id))
        return err_set(e, ERR_NOTFOUND, "invoice: no such invoice");
    struct inv_read r = {.a = a};
    struct store_value v[] = {STORE_TEXT_V(id), STORE_TEXT_V(person)};
    int rc =
        store_query(s, "SELECT " INVOICE_COLS " FROM wallet_invoice WHERE id = ? AND person = ?", v,
                    2, inv_row, &r, e);
    if (rc == 0 && r.nomem)
        rc = err_set(e, ERR_NOMEM, "out of memory");
    if (rc == 0 && r.n == 0)
        rc = err_set(e, ERR_NOTFOUND, "invoice: no such invoice");
    if (rc == 0)
        *out = r.v[0];
    return rc;
}

int wallet_invoice_list(struct store *s, const char *person, struct arena *a,
                        struct wallet_invoice **out, size_t *n, struct err *e)
{
    struct inv_read r = {.a = a};
    struct store_value v[] = {STORE_TEXT_V(person)};
    int rc = store_query(s,
                         "SELECT " INVOICE_COLS " FROM wallet_invoice WHERE person = ? ORDER BY "
                         "created_ms DESC, id DESC",
                         v, 1, inv_row, &r, e);
    if (rc == 0 && r.nomem)
        rc = err_set(e, ERR_NOMEM, "out of memory");
    if (rc != 0)
        return rc;
    *out = r.v;
    *n = r.n;
    return 0;
}

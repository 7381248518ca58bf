/* test_ledger.c - the wallet's ledger at every boundary, with the real store: issuance,
 * amounts (0, -1, 1, the maximum and one more), balances (exactly enough, one yen short,
 * overflow), lots and expiry (earliest first, the instant of expiry, the sweep), refunds (up to
 * the original, never more, only of transfers), idempotency keys, payments under mandates and
 * their monthly limit, statements paged newest first, the Tokyo month, and the invariant
 * check noticing a tampered entry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "wallet_fixture.h"

#define T0 1764000000000LL /* 2025-11-24T16:00:00Z */

static int setup(void **state)
{
    return fx_setup_in(state, "wallet");
}

static int teardown(void **state)
{
    return fx_teardown(state);
}

static int64_t transfers(struct fx *f)
{
    return fx_count(f, "SELECT COUNT(*) FROM wallet_transfer");
}

static void issuance_creates_a_lot_and_keeps_the_invariant(void **state)
{
    struct fx *f = *state;
    char p[IDS_LEN + 1], a[WALLET_ACCOUNT_MAX + 1], id[IDS_LEN + 1];
    wf_person(f->s, p);
    wf_acct(a, "person", p);
    assert_int_equal(wf_issue(f->s, a, 1000, 0, T0, id), 0);
    assert_int_equal(wf_balance(f->s, a), 1000);
    assert_int_equal(wf_balance(f->s, WALLET_MINT), 0); /* read as 0 by wf_balance: negative */
    assert_int_equal(fx_count(f, "SELECT -balance FROM wallet_account WHERE id = 'mint'"), 1000);
    struct wallet_account_view v;
    struct err e = {0};
    assert_int_equal(wallet_account_get(f->s, a, T0, f->a, &v, &e), 0);
    assert_int_equal(v.nlots, 1);
    assert_string_equal(v.lots[0].issue, id);
    assert_true(v.lots[0].expires_ms == WALLET_NO_EXPIRY);
    assert_int_equal(v.available, 1000);
    wf_verify_ok(f->s);
}

static void amounts_outside_1_to_max_are_refused_and_nothing_is_stored(void **state)
{
    struct fx *f = *state;
    char p[IDS_LEN + 1], a[WALLET_ACCOUNT_MAX + 1];
    wf_person(f->s, p);
    wf_acct(a, "person", p);
    assert_int_equal(wf_issue(f->s, a, 0, 0, T0, NULL), ERR_INVALID);
    assert_int_equal(wf_issue(f->s, a, -1, 0, T0, NULL), ERR_INVALID);
    assert_int_equal(wf_issue(f->s, a, WALLET_AMOUNT_MAX + 1, 0, T0, NULL), ERR_INVALID);
    assert_int_equal(wf_issue(f->s, a, INT64_MIN, 0, T0, NULL), ERR_INVALID);
    assert_int_equal(transfers(f), 0);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM wallet_entry"), 0);
    assert_int_equal(wf_issue(f->s, a, 1, 0, T0, NULL), 0);
    assert_int_equal(wf_issue(f->s, a, WALLET_AMOUNT_MAX, 0, T0, NULL), 0);
    assert_int_equal(wf_balance(f->s, a), WALLET_AMOUNT_MAX + 1);
    /* an expiry in the past or now */
    assert_int_equal(wf_issue(f->s, a, 5, T0, T0, NULL), ERR_INVALID);
    assert_int_equal(wf_issue(f->s, a, 5, T0 - 1, T0, NULL), ERR_INVALID);
    assert_int_equal(transfers(f), 2);
    wf_verify_ok(f->s);
}

static void accounts_must_exist_and_be_well_formed(void **state)
{
    struct fx *f = *state;
    char p[IDS_LEN + 1], a[WALLET_ACCOUNT_MAX + 1], ghost[IDS_LEN + 1], g[WALLET_ACCOUNT_MAX + 1];
    wf_person(f->s, p);
    wf_acct(a, "person", p);
    ids_new(ghost);
    wf_acct(g, "person", ghost);
    assert_int_equal(wf_issue(f->s, a, 100, 0, T0, NULL), 0);
    assert_int_equal(wf_issue(f->s, g, 100, 0, T0, NULL), ERR_NOTFOUND);
    assert_int_equal(wf_transfer(f->s, a, g, 10, T0, NULL), ERR_NOTFOUND);
    wf_acct(g, "org", ghost);
    assert_int_equal(wf_transfer(f->s, a, g, 10, T0, NULL), ERR_NOTFOUND);
    assert_int_equal(wf_transfer(f->s, a, "person:nope", 10, T0, NULL), ERR_INVALID);
    assert_int_equal(wf_transfer(f->s, a, WALLET_MINT, 10, T0, NULL), ERR_INVALID);
    assert_int_equal(wf_transfer(f->s, a, WALLET_EXPIRED, 10, T0, NULL), ERR_INVALID);
    assert_int_equal(wf_transfer(f->s, WALLET_MINT, a, 10, T0, NULL), ERR_INVALID);
    assert_int_equal(wf_transfer(f->s, a, a, 10, T0, NULL), ERR_INVALID);
    assert_int_equal(wf_balance(f->s, a), 100);
    assert_int_equal(transfers(f), 1);
    assert_false(wallet_account_valid("person:"));
    assert_false(wallet_account_valid("city:"));
    assert_false(wallet_account_valid(NULL));
    assert_true(wallet_account_valid("city"));
    wf_verify_ok(f->s);
}

static void no_balance_ever_goes_below_zero(void **state)
{
    struct fx *f = *state;
    char p[IDS_LEN + 1], q[IDS_LEN + 1], a[WALLET_ACCOUNT_MAX + 1], b[WALLET_ACCOUNT_MAX + 1];
    wf_person(f->s, p);
    wf_person(f->s, q);
    wf_acct(a, "person", p);
    wf_acct(b, "person", q);
    assert_int_equal(wf_transfer(f->s, a, b, 1, T0, NULL), ERR_CONFLICT); /* no account yet */
    assert_int_equal(wf_issue(f->s, a, 500, 0, T0, NULL), 0);
    assert_int_equal(wf_transfer(f->s, a, b, 501, T0, NULL), ERR_CONFLICT);
    assert_int_equal(wf_balance(f->s, a), 500);
    assert_int_equal(wf_transfer(f->s, a, b, 500, T0, NULL), 0);
    assert_int_equal(wf_balance(f->s, a), 0);
    assert_int_equal(wf_balance(f->s, b), 500);
    assert_int_equal(wf_transfer(f->s, a, b, 1, T0, NULL), ERR_CONFLICT);
    assert_int_equal(wf_transfer(f->s, b, "city", 200, T0, NULL), 0);
    assert_int_equal(wf_balance(f->s, "city"), 200);
    wf_verify_ok(f->s);
}

static int set_balance_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    const char *acct = ctx;
    struct store_value v[] = {STORE_INT_V(WALLET_BALANCE_MAX - 5), STORE_TEXT_V(acct)};
    return store_tx_exec(tx, "UPDATE wallet_account SET balance = ? WHERE id = ?", v, 2, e) < 0 ? -1
                                                                                                : 0;
}

static void a_balance_past_the_maximum_is_refused(void **state)
{
    struct fx *f = *state;
    char p[IDS_LEN + 1], a[WALLET_ACCOUNT_MAX + 1];
    wf_person(f->s, p);
    wf_acct(a, "person", p);
    assert_int_equal(wf_issue(f->s, a, 1, 0, T0, NULL), 0);
    struct err e = {0};
    assert_int_equal(store_write(f->s, set_balance_fn, a, &e), 0);
    assert_int_equal(wf_issue(f->s, a, 6, 0, T0, NULL), ERR_TOOBIG);
    assert_int_equal(wf_balance(f->s, a), WALLET_BALANCE_MAX - 5);
    assert_int_equal(wf_issue(f->s, a, 5, 0, T0, NULL), 0);
    assert_int_equal(wf_balance(f->s, a), WALLET_BALANCE_MAX);
}

static void lots_are_spent_earliest_expiry_first_and_swept_when_due(void **state)
{
    struct fx *f = *state;
    char p[IDS_LEN + 1], q[IDS_LEN + 1], a[WALLET_ACCOUNT_MAX + 1], b[WALLET_ACCOUNT_MAX + 1];
    char late[IDS_LEN + 1], soon[IDS_LEN + 1], never[IDS_LEN + 1];
    wf_person(f->s, p);
    wf_person(f->s, q);
    wf_acct(a, "person", p);
    wf_acct(b, "person", q);
    assert_int_equal(wf_issue(f->s, a, 50, 0, T0, never), 0);
    assert_int_equal(wf_issue(f->s, a, 40, T0 + 5000, T0, late), 0);
    assert_int_equal(wf_issue(f->s, a, 100, T0 + 1000, T0, soon), 0);
    /* 120: the 100 expiring first, then 20 of the next */
    assert_int_equal(wf_transfer(f->s, a, b, 120, T0, NULL), 0);
    struct wallet_account_view v;
    struct err e = {0};
    assert_int_equal(wallet_account_get(f->s, b, T0, f->a, &v, &e), 0);
    assert_int_equal(v.nlots, 2);
    assert_string_equal(v.lots[0].issue, soon);
    assert_int_equal(v.lots[0].remaining, 100);
    assert_string_equal(v.lots[1].issue, late);
    assert_int_equal(v.lots[1].remaining, 20);
    /* one millisecond before the expiry b's lot is still spendable; at the instant it is not */
    assert_int_equal(wallet_account_get(f->s, b, T0 + 999, f->a, &v, &e), 0);
    assert_int_equal(v.available, 120);
    assert_int_equal(wallet_account_get(f->s, b, T0 + 1000, f->a, &v, &e), 0);
    assert_int_equal(v.available, 20);
    assert_int_equal(v.balance, 120);
    /* spending at the instant sweeps first: 100 expire, 20 remain, so 21 is refused (and the
     * sweep rolled back with it) */
    assert_int_equal(wf_transfer(f->s, b, a, 21, T0 + 1000, NULL), ERR_CONFLICT);
    assert_int_equal(wf_balance(f->s, WALLET_EXPIRED), 0);
    assert_int_equal(wf_transfer(f->s, b, a, 20, T0 + 1000, NULL), 0);
    assert_int_equal(wf_balance(f->s, WALLET_EXPIRED), 100);
    assert_int_equal(wf_balance(f->s, b), 0);
    wf_verify_ok(f->s);
    /* the global sweep: a's 20 (+20 back) of "late" expire at T0 + 5000 */
    int64_t moved = -1;
    assert_int_equal(wallet_expire_due(f->s, T0 + 4999, &moved, &e), 0);
    assert_int_equal(moved, 0);
    assert_int_equal(wallet_expire_due(f->s, T0 + 5000, &moved, &e), 0);
    assert_int_equal(moved, 40);
    assert_int_equal(wallet_expire_due(f->s, T0 + 5000, &moved, &e), 0);
    assert_int_equal(moved, 0);
    assert_int_equal(wf_balance(f->s, a), 50);
    assert_int_equal(wf_balance(f->s, WALLET_EXPIRED), 140);
    struct wallet_verify_report r;
    assert_int_equal(wallet_verify(f->s, &r, &e), 0);
    assert_true(r.ok);
    assert_int_equal(r.issued, 190);
    assert_int_equal(r.expired, 140);
    assert_int_equal(r.balances, 50);
}

static void refunds_never_exceed_the_original(void **state)
{
    struct fx *f = *state;
    char p[IDS_LEN + 1], o[IDS_LEN + 1], a[WALLET_ACCOUNT_MAX + 1], c[WALLET_ACCOUNT_MAX + 1];
    char issue[IDS_LEN + 1], t[IDS_LEN + 1];
    wf_person(f->s, p);
    wf_org(f->s, ID_ORG_CLINIC, o);
    wf_acct(a, "person", p);
    wf_acct(c, "org", o);
    assert_int_equal(wf_issue(f->s, a, 3000, 0, T0, issue), 0);
    assert_int_equal(wf_transfer(f->s, a, c, 1000, T0, t), 0);
    struct wallet_op r1 = {.kind = WALLET_REFUND, .from = c, .refund_of = t, .amount = 400};
    assert_int_equal(wf_run(f->s, &r1), 0);
    struct wallet_op r2 = {.kind = WALLET_REFUND, .from = c, .refund_of = t, .amount = 601};
    assert_int_equal(wf_run(f->s, &r2), ERR_CONFLICT);
    assert_non_null(strstr(r2.err.msg, "600"));
    struct wallet_op r3 = {.kind = WALLET_REFUND, .from = c, .refund_of = t, .amount = 600};
    assert_int_equal(wf_run(f->s, &r3), 0);
    struct wallet_op r4 = {.kind = WALLET_REFUND, .from = c, .refund_of = t, .amount = 1};
    assert_int_equal(wf_run(f->s, &r4), ERR_CONFLICT);
    assert_int_equal(wf_balance(f->s, a), 3000);
    assert_int_equal(wf_balance(f->s, c), 0);
    /* only the payee refunds; issuances and refunds are not refunded */
    struct wallet_op r5 = {.kind = WALLET_REFUND, .from = a, .refund_of = t, .amount = 1};
    assert_int_equal(wf_run(f->s, &r5), ERR_NOTFOUND);
    struct wallet_op r6 = {.kind = WALLET_REFUND, .from = a, .refund_of = issue, .amount = 1};
    assert_int_equal(wf_run(f->s, &r6), ERR_INVALID);
    struct wallet_op r7 = {.kind = WALLET_REFUND, .from = a, .refund_of = r1.id, .amount = 1};
    assert_int_equal(wf_run(f->s, &r7), ERR_INVALID);
    char ghost[IDS_LEN + 1];
    ids_new(ghost);
    struct wallet_op r8 = {.kind = WALLET_REFUND, .from = c, .refund_of = ghost, .amount = 1};
    assert_int_equal(wf_run(f->s, &r8), ERR_NOTFOUND);
    struct wallet_transfer_row row;
    struct err e = {0};
    assert_int_equal(wallet_transfer_get(f->s, r3.id, f->a, &row, &e), 0);
    assert_string_equal(row.kind, "refund");
    assert_string_equal(row.refund_of, t);
    assert_string_equal(row.from, c);
    assert_string_equal(row.to, a);
    wf_verify_ok(f->s);
}

static void an_idempotency_key_replays_or_refuses(void **state)
{
    struct fx *f = *state;
    char p[IDS_LEN + 1], q[IDS_LEN + 1], a[WALLET_ACCOUNT_MAX + 1], b[WALLET_ACCOUNT_MAX + 1];
    wf_person(f->s, p);
    wf_person(f->s, q);
    wf_acct(a, "person", p);
    wf_acct(b, "person", q);
    assert_int_equal(wf_issue(f->s, a, 1000, 0, T0, NULL), 0);
    struct wallet_op op = {.kind = WALLET_TRANSFER,
                           .from = a,
                           .to = b,
                           .amount = 300,
                           .by = a,
                           .idem_caller = a,
                           .idem_key = "k-1",
                           .idem_hash =
                               "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
    struct err e = {0};
    assert_int_equal(wallet_op_run(f->s, &op, &e), 0);
    assert_false(op.replayed);
    assert_int_equal(op.status, 201);
    char *first = strdup(op.response);
    char id[IDS_LEN + 1];
    memcpy(id, op.id, sizeof id);
    wallet_op_release(&op);
    /* the same key and request: the same answer, no second transfer */
    assert_int_equal(wallet_op_run(f->s, &op, &e), 0);
    assert_true(op.replayed);
    assert_int_equal(op.status, 201);
    assert_string_equal(op.response, first);
    assert_string_equal(op.id, id);
    wallet_op_release(&op);
    assert_int_equal(wf_balance(f->s, a), 700);
    /* the same key, another request */
    op.idem_hash = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    assert_int_equal(wallet_op_run(f->s, &op, &e), ERR_INVALID);
    assert_non_null(strstr(op.err.msg, "Idempotency-Key"));
    /* another caller's key of the same text is its own */
    op.idem_caller = b;
    op.from = b;
    op.to = a;
    op.amount = 100;
    assert_int_equal(wallet_op_run(f->s, &op, &e), 0);
    assert_false(op.replayed);
    wallet_op_release(&op);
    /* a refused request leaves no key behind: once funded, the retry goes through */
    struct wallet_op big = {.kind = WALLET_TRANSFER,
                            .from = a,
                            .to = b,
                            .amount = 5000,
                            .by = a,
                            .idem_caller = a,
                            .idem_key = "k-2",
                            .idem_hash =
                                "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"};
    assert_int_equal(wallet_op_run(f->s, &big, &e), ERR_CONFLICT);
    assert_int_equal(wf_issue(f->s, a, 5000, 0, T0, NULL), 0);
    assert_int_equal(wallet_op_run(f->s, &big, &e), 0);
    assert_false(big.replayed);
    wallet_op_release(&big);
    /* malformed keys */
    big.idem_key = "";
    assert_int_equal(wallet_op_run(f->s, &big, &e), ERR_INVALID);
    big.idem_key = "has space";
    assert_int_equal(wallet_op_run(f->s, &big, &e), ERR_INVALID);
    free(first);
    wf_verify_ok(f->s);
}

static void statements_are_newest_first_and_paged(void **state)
{
    struct fx *f = *state;
    char p[IDS_LEN + 1], q[IDS_LEN + 1], a[WALLET_ACCOUNT_MAX + 1], b[WALLET_ACCOUNT_MAX + 1];
    wf_person(f->s, p);
    wf_person(f->s, q);
    wf_acct(a, "person", p);
    wf_acct(b, "person", q);
    assert_int_equal(wf_issue(f->s, a, 100, 0, T0, NULL), 0);
    for (int i = 1; i <= 4; i++)
        assert_int_equal(wf_transfer(f->s, a, b, i, T0 + i, NULL), 0);
    struct wallet_line *l;
    size_t n;
    int64_t next = 0;
    struct err e = {0};
    assert_int_equal(wallet_statement(f->s, a, 0, 2, f->a, &l, &n, &next, &e), 0);
    assert_int_equal(n, 2);
    assert_int_equal(l[0].seq, 5);
    assert_int_equal(l[0].amount, -4);
    assert_int_equal(l[0].balance_after, 90);
    assert_string_equal(l[0].counterparty, b);
    assert_string_equal(l[0].kind, "transfer");
    assert_int_equal(l[1].seq, 4);
    assert_int_equal(next, 4);
    assert_int_equal(wallet_statement(f->s, a, next, 2, f->a, &l, &n, &next, &e), 0);
    assert_int_equal(n, 2);
    assert_int_equal(l[0].seq, 3);
    assert_int_equal(next, 2);
    assert_int_equal(wallet_statement(f->s, a, next, 2, f->a, &l, &n, &next, &e), 0);
    assert_int_equal(n, 1);
    assert_string_equal(l[0].kind, "issue");
    assert_int_equal(l[0].amount, 100);
    assert_int_equal(next, 0);
    assert_int_equal(wallet_statement(f->s, a, 0, 0, f->a, &l, &n, &next, &e), ERR_INVALID);
    assert_int_equal(wallet_statement(f->s, a, 0, WALLET_PAGE_MAX + 1, f->a, &l, &n, &next, &e),
                     ERR_INVALID);
}

static int tamper_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    return store_tx_exec(tx, ctx, NULL, 0, e) < 0 ? -1 : 0;
}

static void verify_notices_a_tampered_ledger(void **state)
{
    struct fx *f = *state;
    char p[IDS_LEN + 1], a[WALLET_ACCOUNT_MAX + 1];
    wf_person(f->s, p);
    wf_acct(a, "person", p);
    assert_int_equal(wf_issue(f->s, a, 100, 0, T0, NULL), 0);
    wf_verify_ok(f->s);
    struct err e = {0};
    assert_int_equal(store_write(f->s, tamper_fn,
                                 "UPDATE wallet_account SET balance = balance + 1 WHERE kind = "
                                 "'person'",
                                 &e),
                     0);
    struct wallet_verify_report r;
    assert_int_equal(wallet_verify(f->s, &r, &e), 0);
    assert_false(r.ok);
    assert_non_null(strstr(r.detail, "entries sum"));
    assert_int_equal(store_write(f->s, tamper_fn,
                                 "UPDATE wallet_account SET balance = balance - 1 WHERE kind = "
                                 "'person'",
                                 &e),
                     0);
    wf_verify_ok(f->s);
    assert_int_equal(store_write(f->s, tamper_fn, "UPDATE wallet_lot SET remaining = 99", &e), 0);
    assert_int_equal(wallet_verify(f->s, &r, &e), 0);
    assert_false(r.ok);
    assert_non_null(strstr(r.detail, "lots"));
}

static void the_month_is_tokyos(void **state)
{
    (void)state;
    char m[8];
    int64_t ms = 0;
    assert_int_equal(clock_parse_rfc3339("2026-11-30T14:59:59.999Z", &ms), 0);
    wallet_month_tokyo(ms, m);
    assert_string_equal(m, "2026-11");
    wallet_month_tokyo(ms + 1, m);
    assert_string_equal(m, "2026-12");
    assert_int_equal(clock_parse_rfc3339("2026-12-31T15:00:00Z", &ms), 0);
    wallet_month_tokyo(ms, m);
    assert_string_equal(m, "2027-01");
    wallet_month_tokyo(ms - 1, m);
    assert_string_equal(m, "2026-12");
    assert_int_equal(clock_parse_rfc3339("2028-02-29T00:00:00+09:00", &ms), 0);
    wallet_month_tokyo(ms, m);
    assert_string_equal(m, "2028-02");
    wallet_month_tokyo(0, m);
    assert_string_equal(m, "1970-01");
}

static void the_demo_seed_is_idempotent(void **state)
{
    struct fx *f = *state;
    char p[IDS_LEN + 1], q[IDS_LEN + 1], c[IDS_LEN + 1], ph[IDS_LEN + 1];
    wf_person(f->s, p);
    wf_person(f->s, q);
    wf_org(f->s, ID_ORG_CLINIC, c);
    wf_org(f->s, ID_ORG_PHARMACY, ph);
    const char *people[] = {p, q};
    struct err e = {0};
    for (int i = 0; i < 2; i++)
        assert_int_equal(wallet_demo_seed(f->s, people, 2, p, c, ph, &e), 0);
    char a[WALLET_ACCOUNT_MAX + 1];
    assert_int_equal(wf_balance(f->s, wf_acct(a, "person", p)), 13000);
    assert_int_equal(wf_balance(f->s, wf_acct(a, "person", q)), 13000);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM wallet_mandate WHERE revoked_ms IS NULL"),
                     2);
    wf_verify_ok(f->s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(issuance_creates_a_lot_and_keeps_the_invariant, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(amounts_outside_1_to_max_are_refused_and_nothing_is_stored,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(accounts_must_exist_and_be_well_formed, setup, teardown),
        cmocka_unit_test_setup_teardown(no_balance_ever_goes_below_zero, setup, teardown),
        cmocka_unit_test_setup_teardown(a_balance_past_the_maximum_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(lots_are_spent_earliest_expiry_first_and_swept_when_due,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(refunds_never_exceed_the_original, setup, teardown),
        cmocka_unit_test_setup_teardown(an_idempotency_key_replays_or_refuses, setup, teardown),
        cmocka_unit_test_setup_teardown(statements_are_newest_first_and_paged, setup, teardown),
        cmocka_unit_test_setup_teardown(verify_notices_a_tampered_ledger, setup, teardown),
        cmocka_unit_test(the_month_is_tokyos),
        cmocka_unit_test_setup_teardown(the_demo_seed_is_idempotent, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_invoice.c - mandates and the "invoice.issued" consumer with the real store and the real
 * event worker: an invoice within the month's limit is paid under the mandate, once, however
 * often the event comes (the notice too), with "invoice.paid" appended beside the payment; over
 * the limit, without a mandate, after a revocation or with too little money it is left open and
 * the citizen is asked to pay; a month later the limit is fresh; paying by hand; malformed
 * payloads are dropped; grants and revocations at their boundaries; requests in flight. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "events/event.h"
#include "wallet_fixture.h"

#define NOV 1764000000000LL /* 2025-11-25T01:00:00+09:00 */
#define DEC 1764601200000LL /* 2025-12-02T00:00:00+09:00 */

struct world {
    struct fx *f;
    char person[IDS_LEN + 1], clinic[IDS_LEN + 1], pharmacy[IDS_LEN + 1];
    char p_acct[WALLET_ACCOUNT_MAX + 1], c_acct[WALLET_ACCOUNT_MAX + 1];
    char mandate[IDS_LEN + 1];
};

static int setup(void **state)
{
    event_handlers_clear();
    if (fx_setup_in(state, "wallet-invoice") != 0)
        return -1;
    struct fx *f = *state;
    struct world *w = calloc(1, sizeof *w);
    w->f = f;
    wf_person(f->s, w->person);
    wf_org(f->s, ID_ORG_CLINIC, w->clinic);
    wf_org(f->s, ID_ORG_PHARMACY, w->pharmacy);
    wf_acct(w->p_acct, "person", w->person);
    wf_acct(w->c_acct, "org", w->clinic);
    struct err e = {0};
    if (wf_issue(f->s, w->p_acct, 10000, 0, NOV, NULL) != 0)
        return -1;
    struct wallet_mandate_write m = {.person = w->person,
                                     .org = w->clinic,
                                     .purpose = "clinic-fees",
                                     .limit = 3000,
                                     .now_ms = NOV};
    if (store_write(f->s, wallet_mandate_write_fn, &m, &e) != 0)
        return -1;
    memcpy(w->mandate, m.m.id, sizeof w->mandate);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    struct world *w = *state;
    event_worker_stop();
    event_handlers_clear();
    void *f = w->f;
    free(w);
    return fx_teardown(&f);
}

static char *payload(const char *invoice, const char *org, int64_t amount, const char *purpose)
{
    static char buf[512];
    snprintf(buf, sizeof buf,
             "{\"invoice\":\"%s\",\"issuer\":\"%s\",\"amount\":%lld,\"currency\":\"JPY\","
             "\"purpose\":\"%s\",\"description\":\"初診料\"}",
             invoice, org, (long long)amount, purpose);
    return buf;
}

static int issued(struct world *w, const char *invoice, int64_t amount, int64_t now_ms)
{
    struct err e = {0};
    return wallet_invoice_issued(w->f->s, w->person,
                                 payload(invoice, w->clinic, amount, "clinic-fees"), now_ms, &e);
}

static const char *status_of(struct world *w, const char *invoice)
{
    struct wallet_invoice v;
    struct err e = {0};
    if (wallet_invoice_get(w->f->s, w->person, invoice, w->f->a, &v, &e) != 0)
        return "none";
    return v.status;
}

static int64_t notices(struct world *w, const char *like)
{
    char sql[300];
    snprintf(sql, sizeof sql,
             "SELECT COUNT(*) FROM inbox_item WHERE kind = 'notice' AND source = 'wallet' AND "
             "dedupe_key LIKE '%s'",
             like);
    return fx_count(w->f, sql);
}

static void within_the_limit_it_is_paid_once(void **state)
{
    struct world *w = *state;
    assert_int_equal(issued(w, "inv-1", 2000, NOV), 0);
    assert_string_equal(status_of(w, "inv-1"), "paid");
    assert_int_equal(wf_balance(w->f->s, w->p_acct), 8000);
    assert_int_equal(wf_balance(w->f->s, w->c_acct), 2000);
    /* the event again: nothing more */
    assert_int_equal(issued(w, "inv-1", 2000, NOV + 5), 0);
    assert_int_equal(issued(w, "inv-1", 2000, NOV + 6), 0);
    assert_int_equal(wf_balance(w->f->s, w->p_acct), 8000);
    assert_int_equal(notices(w, "wallet.paid.inv-1"), 1);
    assert_int_equal(fx_count(w->f, "SELECT COUNT(*) FROM event_outbox WHERE kind = "
                                    "'invoice.paid' AND ref = 'Invoice/inv-1'"),
                     1);
    assert_int_equal(fx_count(w->f, "SELECT COUNT(*) FROM wallet_transfer WHERE invoice = "
                                    "'inv-1' AND kind = 'payment'"),
                     1);
    /* on his trail, decided by the mandate */
    assert_int_equal(fx_count(w->f, "SELECT COUNT(*) FROM audit_entry WHERE resource_type = "
                                    "'WalletTransfer' AND decided_by LIKE 'mandate:%'"),
                     1);
    /* a different body under the same invoice id is ignored */
    assert_int_equal(issued(w, "inv-1", 2500, NOV + 7), 0);
    assert_int_equal(wf_balance(w->f->s, w->p_acct), 8000);
    wf_verify_ok(w->f->s);
}

static void over_the_limit_or_without_mandate_the_citizen_is_asked(void **state)
{
    struct world *w = *state;
    assert_int_equal(issued(w, "inv-1", 3000, NOV), 0); /* exactly the limit */
    assert_string_equal(status_of(w, "inv-1"), "paid");
    assert_int_equal(issued(w, "inv-2", 1, NOV + 1), 0); /* one yen over */
    assert_string_equal(status_of(w, "inv-2"), "open");
    assert_int_equal(notices(w, "wallet.due.inv-2"), 1);
    assert_int_equal(issued(w, "inv-2", 1, NOV + 2), 0); /* told once */
    assert_int_equal(notices(w, "wallet.due.inv-2"), 1);
    /* December: a fresh limit */
    assert_int_equal(issued(w, "inv-3", 3000, DEC), 0);
    assert_string_equal(status_of(w, "inv-3"), "paid");
    /* the pharmacy has no mandate */
    struct err e = {0};
    assert_int_equal(wallet_invoice_issued(w->f->s, w->person,
                                           payload("inv-4", w->pharmacy, 100, "pharmacy-fees"), DEC,
                                           &e),
                     0);
    assert_string_equal(status_of(w, "inv-4"), "open");
    /* a clinic mandate does not pay the clinic's pharmacy-fees */
    assert_int_equal(wallet_invoice_issued(w->f->s, w->person,
                                           payload("inv-5", w->clinic, 100, "pharmacy-fees"), DEC,
                                           &e),
                     0);
    assert_string_equal(status_of(w, "inv-5"), "open");
    /* paid by hand */
    struct wallet_op op = {.kind = WALLET_PAYMENT,
                           .from = w->p_acct,
                           .invoice = "inv-2",
                           .by = w->p_acct,
                           .now_ms = DEC};
    assert_int_equal(wf_run(w->f->s, &op), 0);
    assert_string_equal(status_of(w, "inv-2"), "paid");
    struct wallet_op again = {.kind = WALLET_PAYMENT,
                              .from = w->p_acct,
                              .invoice = "inv-2",
                              .by = w->p_acct,
                              .now_ms = DEC};
    assert_int_equal(wf_run(w->f->s, &again), ERR_CONFLICT);
    /* someone else's invoice */
    char other[IDS_LEN + 1], oacct[WALLET_ACCOUNT_MAX + 1];
    wf_person(w->f->s, other);
    wf_acct(oacct, "person", other);
    struct wallet_op theirs = {
        .kind = WALLET_PAYMENT, .from = oacct, .invoice = "inv-4", .by = oacct, .now_ms = DEC};
    assert_int_equal(wf_run(w->f->s, &theirs), ERR_NOTFOUND);
    assert_int_equal(wf_balance(w->f->s, w->p_acct), 10000 - 3000 - 3000 - 1);
    wf_verify_ok(w->f->s);
}

static void after_revocation_and_with_too_little_money_it_is_left_open(void **state)
{
    struct world *w = *state;
    struct err e = {0};
    struct wallet_mandate_write r = {
        .revoke = 1, .person = w->person, .id = w->mandate, .now_ms = NOV + 1};
    assert_int_equal(store_write(w->f->s, wallet_mandate_write_fn, &r, &e), 0);
    assert_int_equal(store_write(w->f->s, wallet_mandate_write_fn, &r, &e), ERR_CONFLICT);
    assert_int_equal(issued(w, "inv-1", 100, NOV + 2), 0);
    assert_string_equal(status_of(w, "inv-1"), "open");
    /* a new mandate, but the balance is short */
    struct wallet_mandate_write m = {.person = w->person,
                                     .org = w->clinic,
                                     .purpose = "clinic-fees",
                                     .limit = 50000,
                                     .now_ms = NOV + 3};
    assert_int_equal(store_write(w->f->s, wallet_mandate_write_fn, &m, &e), 0);
    assert_int_equal(issued(w, "inv-2", 10001, NOV + 4), 0);
    assert_string_equal(status_of(w, "inv-2"), "open");
    assert_int_equal(fx_count(w->f, "SELECT COUNT(*) FROM inbox_item WHERE dedupe_key = "
                                    "'wallet.due.inv-2' AND detail LIKE '%balance%'"),
                     1);
    assert_int_equal(wf_balance(w->f->s, w->p_acct), 10000);
    /* someone else revoking his mandate: not found */
    char other[IDS_LEN + 1];
    wf_person(w->f->s, other);
    struct wallet_mandate_write x = {.revoke = 1, .person = other, .id = m.m.id};
    assert_int_equal(store_write(w->f->s, wallet_mandate_write_fn, &x, &e), ERR_NOTFOUND);
    /* grants at their boundaries */
    struct wallet_mandate_write bad[] = {
        {.person = w->person, .org = w->pharmacy, .purpose = "pharmacy-fees", .limit = 0},
        {.person = w->person,
         .org = w->pharmacy,
         .purpose = "pharmacy-fees",
         .limit = WALLET_AMOUNT_MAX + 1},
        {.person = w->person, .org = w->pharmacy, .purpose = "taxi-fees", .limit = 10},
        {.person = w->person, .org = other, .purpose = "pharmacy-fees", .limit = 10},
        {.person = w->person, .org = w->clinic, .purpose = "clinic-fees", .limit = 10},
    };
    const int want[] = {ERR_INVALID, ERR_INVALID, ERR_INVALID, ERR_NOTFOUND, ERR_CONFLICT};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(store_write(w->f->s, wallet_mandate_write_fn, &bad[i], &e), want[i]);
    struct wallet_mandate *list;
    size_t n;
    assert_int_equal(wallet_mandate_list(w->f->s, w->person, NOV + 5, w->f->a, &list, &n, &e), 0);
    assert_int_equal(n, 2);
    assert_int_equal(list[1].revoked_ms, NOV + 1);
    assert_int_equal(list[0].revoked_ms, 0);
}

static void malformed_events_are_dropped(void **state)
{
    struct world *w = *state;
    struct err e = {0};
    const char *bad[] = {
        NULL,
        "not json",
        "[]",
        "{\"invoice\":\"a "
        "b\",\"issuer\":\"x\",\"amount\":1,\"currency\":\"JPY\",\"purpose\":\"clinic-fees\"}",
        "{\"invoice\":\"inv-9\",\"issuer\":\"x\",\"amount\":1,\"currency\":\"JPY\",\"purpose\":"
        "\"clinic-fees\"}",
        "{\"invoice\":\"inv-9\",\"issuer\":\"01knzb5z3q8y9a0b1c2d3e4f5g\",\"amount\":0,"
        "\"currency\":\"JPY\",\"purpose\":\"clinic-fees\"}",
        "{\"invoice\":\"inv-9\",\"issuer\":\"01knzb5z3q8y9a0b1c2d3e4f5g\",\"amount\":5,"
        "\"currency\":\"USD\",\"purpose\":\"clinic-fees\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(wallet_invoice_issued(w->f->s, w->person, bad[i], NOV, &e), 0);
    assert_int_equal(wallet_invoice_issued(w->f->s, "nobody",
                                           payload("inv-9", w->clinic, 5, "clinic-fees"), NOV, &e),
                     0);
    assert_int_equal(fx_count(w->f, "SELECT COUNT(*) FROM wallet_invoice"), 0);
}

static int append_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct world *w = ctx;
    return event_append(tx, WALLET_EV_INVOICE_ISSUED, w->person, "Invoice/inv-ev",
                        payload("inv-ev", w->clinic, 1200, "clinic-fees"), clock_now_ms(), NULL, e);
}

static void the_worker_delivers_the_event_to_the_consumer(void **state)
{
    struct world *w = *state;
    struct err e = {0};
    /* this month's mandate: the setup's was granted "in November 2025", fine for any month */
    assert_int_equal(wallet_register(w->f->s, NULL, &e), 0);
    struct event_worker_options o = {.poll_ms = 50};
    assert_int_equal(event_worker_start(w->f->s, &o, &e), 0);
    assert_int_equal(store_write(w->f->s, append_fn, w, &e), 0);
    event_worker_notify();
    for (int i = 0; i < 200 && strcmp(status_of(w, "inv-ev"), "paid") != 0; i++) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    assert_string_equal(status_of(w, "inv-ev"), "paid");
    assert_int_equal(wf_balance(w->f->s, w->c_acct), 1200);
    event_worker_stop();
    wf_verify_ok(w->f->s);
}

static void a_key_in_flight_is_claimed_once(void **state)
{
    (void)state;
    assert_int_equal(wallet__inflight_claim("person:a", "k"), 1);
    assert_int_equal(wallet__inflight_claim("person:a", "k"), 0);
    assert_int_equal(wallet__inflight_claim("person:b", "k"), 1); /* per caller */
    assert_int_equal(wallet__inflight_claim("person:a", "k2"), 1);
    wallet__inflight_release("person:a", "k");
    assert_int_equal(wallet__inflight_claim("person:a", "k"), 1);
    wallet__inflight_release("person:a", "k");
    wallet__inflight_release("person:b", "k");
    wallet__inflight_release("person:a", "k2");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(within_the_limit_it_is_paid_once, setup, teardown),
        cmocka_unit_test_setup_teardown(over_the_limit_or_without_mandate_the_citizen_is_asked,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(after_revocation_and_with_too_little_money_it_is_left_open,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(malformed_events_are_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(the_worker_delivers_the_event_to_the_consumer, setup,
                                        teardown),
        cmocka_unit_test(a_key_in_flight_is_claimed_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

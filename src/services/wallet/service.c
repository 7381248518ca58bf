/* service.c - the wallet as a city service (wallet.h): the "invoice.issued" consumer, and the
 * demo's welcome balances and mandates. */
#include <stdio.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "events/event.h"
#include "services/wallet/internal.h"

static int on_invoice_issued(const struct event *ev, void *ctx, struct err *e)
{
    struct store *s = ctx;
    /* "as of" the event: the month of the invoice decides which limit it counts against, so a
     * redelivery decides the same way */
    return wallet_invoice_issued(s, ev->subject, ev->payload, ev->created_ms, e);
}

int wallet_register(struct store *s, const struct config *cfg, struct err *e)
{
    (void)cfg;
    int rc =
        event_handler_register(WALLET_EV_INVOICE_ISSUED, WALLET_CONSUMER, on_invoice_issued, s);
    if (rc != 0)
        return err_set(e, rc, "wallet: cannot register the invoice.issued consumer");
    log_info("wallet: ready (invoice.issued consumer registered)");
    return 0;
}

/* ---- the demo ---- */

static int issue_once(struct store *s, const char *person, const char *key, int64_t amount,
                      int64_t expires_ms, const char *memo, struct err *e)
{
    char to[WALLET_ACCOUNT_MAX + 1], hash[WALLET_HASH_HEX + 1];
    snprintf(to, sizeof to, "person:%s", person);
    const char *fields[] = {"demo-issue", to, key, NULL};
    wallet_json_request_hash(fields, hash);
    struct wallet_op op = {.kind = WALLET_ISSUE,
                           .to = to,
                           .amount = amount,
                           .expires_ms = expires_ms,
                           .memo = memo,
                           .by = "operator",
                           .idem_caller = "operator",
                           .idem_key = key,
                           .idem_hash = hash};
    int rc = wallet_op_run(s, &op, e);
    wallet_op_release(&op);
    return rc;
}

/* The end of the next fiscal year in Japan (31 March, 23:59:59.999 +09:00) after now. */
static int64_t fiscal_year_end(int64_t now_ms)
{
    char month[8];
    wallet_month_tokyo(now_ms, month);
    int y =
        (month[0] - '0') * 1000 + (month[1] - '0') * 100 + (month[2] - '0') * 10 + (month[3] - '0');
    int m = (month[5] - '0') * 10 + (month[6] - '0');
    int end_year = (m >= 4 ? y + 1 : y) + 1; /* the next fiscal year ends in March of this */
    char text[40];
    snprintf(text, sizeof text, "%04d-03-31T23:59:59.999+09:00", end_year % 10000);
    int64_t ms = 0;
    return clock_parse_rfc3339(text, &ms) == 0 ? ms : now_ms + 400LL * 86400000;
}

int wallet_demo_seed(struct store *s, const char *const *persons, size_t n, const char *persona,
                     const char *clinic_org, const char *pharmacy_org, struct err *e)
{
    int64_t now = clock_now_ms();
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char key[IDS_LEN + 32];
        snprintf(key, sizeof key, "demo:welcome:%s", persons[i]);
        rc = issue_once(s, persons[i], key, 10000, 0, "ようこそ会津若松へ (welcome)", e);
        snprintf(key, sizeof key, "demo:points:%s", persons[i]);
        if (rc == 0)
            rc = issue_once(s, persons[i], key, 3000, fiscal_year_end(now),
                            "健康ポイント (health points)", e);
    }
    if (rc != 0 || persona == NULL)
        return rc;
    const char *orgs[2] = {clinic_org, pharmacy_org};
    const char *purposes[2] = {"clinic-fees", "pharmacy-fees"};
    const int64_t limits[2] = {20000, 10000};
    for (int i = 0; rc == 0 && i < 2; i++) {
        if (orgs[i] == NULL)
            continue;
        struct wallet_mandate_write w = {.person = persona,
                                         .org = orgs[i],
                                         .purpose = purposes[i],
                                         .limit = limits[i],
                                         .now_ms = now};
        rc = store_write(s, wallet_mandate_write_fn, &w, e);
        if (rc == ERR_CONFLICT) /* already granted by an earlier run */
            rc = 0;
    }
    if (rc == 0)
        log_info("wallet: demo seeded: welcome balances for %zu people, 2 mandates", n);
    return rc;
}

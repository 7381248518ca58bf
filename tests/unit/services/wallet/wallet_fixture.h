/* wallet_fixture.h - what the wallet's unit tests share: people and organisations in a fresh
 * store, and short calls of the ledger (header-only, static: each test file includes it once). */
#ifndef COS_TEST_WALLET_FIXTURE_H
#define COS_TEST_WALLET_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "identity/org.h"
#include "identity/person.h"
#include "services/wallet/internal.h"
#include "services/wallet/wallet.h"
#include "support/fixture.h"

static inline void wf_person(struct store *s, char id[IDS_LEN + 1])
{
    struct id_person_new in = {.family_name_kanji = "会津",
                               .given_name_kanji = "太郎",
                               .family_name_kana = "アイヅ",
                               .given_name_kana = "タロウ",
                               .birth_date = "1956-01-05",
                               .sex = ID_SEX_MALE,
                               .district = "湊",
                               .assurance = ID_ASSURANCE_CARD};
    struct err e = {0};
    if (id_person_create(s, &in, id, &e) != 0)
        fail_msg("person: %s", e.msg);
}

static inline void wf_org(struct store *s, enum id_org_kind kind, char id[IDS_LEN + 1])
{
    struct id_org_new in = {.kind = kind, .name_ja = "湊ファミリークリニック", .district = "湊"};
    struct err e = {0};
    if (id_org_create(s, &in, id, &e) != 0)
        fail_msg("org: %s", e.msg);
}

static inline const char *wf_acct(char buf[WALLET_ACCOUNT_MAX + 1], const char *prefix,
                                  const char *id)
{
    snprintf(buf, WALLET_ACCOUNT_MAX + 1, "%s:%s", prefix, id);
    return buf;
}

/* Runs op; returns the status; op->response freed; op->id kept. */
static inline int wf_run(struct store *s, struct wallet_op *op)
{
    struct err e = {0};
    if (op->by == NULL)
        op->by = "operator";
    int rc = wallet_op_run(s, op, &e);
    wallet_op_release(op);
    return rc;
}

static inline int wf_issue(struct store *s, const char *to, int64_t amount, int64_t expires_ms,
                           int64_t now_ms, char id_out[IDS_LEN + 1])
{
    struct wallet_op op = {.kind = WALLET_ISSUE,
                           .to = to,
                           .amount = amount,
                           .expires_ms = expires_ms,
                           .now_ms = now_ms};
    int rc = wf_run(s, &op);
    if (id_out != NULL)
        memcpy(id_out, op.id, IDS_LEN + 1);
    return rc;
}

static inline int wf_transfer(struct store *s, const char *from, const char *to, int64_t amount,
                              int64_t now_ms, char id_out[IDS_LEN + 1])
{
    struct wallet_op op = {
        .kind = WALLET_TRANSFER, .from = from, .to = to, .amount = amount, .now_ms = now_ms};
    int rc = wf_run(s, &op);
    if (id_out != NULL)
        memcpy(id_out, op.id, IDS_LEN + 1);
    return rc;
}

static inline int64_t wf_balance(struct store *s, const char *account)
{
    int64_t b = -1;
    struct store_value v[] = {STORE_TEXT_V(account)};
    struct err e = {0};
    if (wallet__q_int(s, "SELECT balance FROM wallet_account WHERE id = ?", v, 1, &b, &e) < 0)
        fail_msg("balance: %s", e.msg);
    return b < 0 ? 0 : b;
}

static inline void wf_verify_ok(struct store *s)
{
    struct wallet_verify_report r;
    struct err e = {0};
    assert_int_equal(wallet_verify(s, &r, &e), 0);
    if (!r.ok)
        fail_msg("invariant: %s", r.detail);
    assert_int_equal(r.balances + r.expired, r.issued);
}

#endif

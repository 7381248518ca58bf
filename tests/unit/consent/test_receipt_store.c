/* test_receipt_store.c - receipts stored in the write of the consent change they sign: a
 * grant, narrowing, re-consent or withdrawal commits with its receipt or neither does (a refused
 * change, a receipt that cannot be stored, a receipt made from a consent that changed since), the
 * caller's consent id, the writes without a receipt (CLI and unit paths), and reading them back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "audit/audit.h"
#include "base/clock.h"
#include "base/ids.h"
#include "consent/consent.h"
#include "consent/receipt.h"
#include "support/fixture.h"

struct town {
    char citizen[IDS_LEN + 1], stranger[IDS_LEN + 1];
    char hash[CONSENT_HEX_LEN + 1];
    int64_t now;
    struct audit_event actor;
};

static struct town *T;

struct sql {
    const char *text;
    const struct store_value *v;
    size_t n;
};

static int exec_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    const struct sql *q = ctx;
    int rc = store_tx_exec(tx, q->text, q->v, q->n, e);
    return rc < 0 ? rc : 0;
}

static void add_person(struct store *s, char id[IDS_LEN + 1])
{
    ids_new(id);
    struct store_value v[] = {STORE_TEXT_V(id)};
    struct sql q = {"INSERT INTO person (id, family_name_kanji, given_name_kanji, "
                    "family_name_kana, given_name_kana, birth_date, sex, district, assurance, "
                    "created_ms, updated_ms) VALUES (?, '会津', '太郎', 'アイヅ', 'タロウ', "
                    "'1955-04-12', 'male', '湊', 'card', 0, 0)",
                    v, 1};
    struct err e = {0};
    if (store_write(s, exec_fn, &q, &e) != 0)
        fail_msg("person: %s", e.msg);
}

static int setup(void **state)
{
    if (sodium_init() < 0 || fx_setup_in(state, "receipt-store") != 0)
        return -1;
    struct fx *f = *state;
    T = calloc(1, sizeof *T);
    T->now = clock_now_ms();
    add_person(f->s, T->citizen);
    add_person(f->s, T->stranger);
    T->actor = (struct audit_event){.actor_kind = AUDIT_ACTOR_PERSON,
                                    .actor_id = T->citizen,
                                    .client_id = "portal",
                                    .request_id = "req-test",
                                    .source_addr = "192.0.2.1"};
    struct consent_purpose_new in = {
        .code = "cardio",
        .title_ja = "循環器病予防",
        .title_en = "Cardiovascular prevention",
        .explanation_ja = "血圧を共有します。",
        .explanation_en = "Your blood pressure is shared.",
        .cats = 1u << CONSENT_CAT_VITALS,
        .legal_basis = CONSENT_BASIS_CONSENT,
        .retention_days = 365,
        .published_by = "operator",
    };
    struct err e = {0};
    struct consent_purpose p;
    if (consent_purpose_publish(f->s, NULL, &in, T->now, NULL, NULL, &e) != 0 ||
        consent_purpose_get(f->s, "cardio", 1, &p, f->a, &e) != 0) {
        fprintf(stderr, "publish: %s\n", e.msg);
        return -1;
    }
    memcpy(T->hash, p.explanation_hash, sizeof T->hash);
    return 0;
}

static int teardown(void **state)
{
    free(T);
    T = NULL;
    return fx_teardown(state);
}

static struct consent_write grant_w(struct fx *f)
{
    return (struct consent_write){.op = CONSENT_OP_GRANT,
                                  .store = f->s,
                                  .now_ms = T->now,
                                  .actor = &T->actor,
                                  .subject_id = T->citizen,
                                  .by = T->citizen,
                                  .recipient_kind = CONSENT_TO_PURPOSE,
                                  .purpose_code = "cardio",
                                  .purpose_version = 1,
                                  .cats = 1u << CONSENT_CAT_VITALS,
                                  .actions = CONSENT_READ,
                                  .evidence = {.explanation_hash = T->hash,
                                               .shown_ms = T->now - 60000,
                                               .agreed_ms = T->now - 1000,
                                               .channel = CONSENT_CHANNEL_PORTAL}};
}

static struct consent_write withdraw_w(struct fx *f, const char *consent_id)
{
    struct consent_write w = grant_w(f);
    w.op = CONSENT_OP_WITHDRAW;
    w.consent_id = consent_id;
    w.cats = 0;
    w.actions = 0;
    w.purpose_code = NULL;
    w.purpose_version = 0;
    return w;
}

static int64_t receipts(struct fx *f)
{
    return fx_count(f, "SELECT COUNT(*) FROM consent_receipt");
}

static void a_grant_and_withdrawal_commit_with_their_receipts(void **state)
{
    struct fx *f = *state;
    char id[IDS_LEN + 1], r1[CONSENT_RECEIPT_ID_LEN + 1], r2[CONSENT_RECEIPT_ID_LEN + 1];
    ids_new(id);
    consent_receipt_new_id(r1);
    consent_receipt_new_id(r2);
    struct consent_write w = grant_w(f);
    w.grant_id = id;
    w.receipt_id = r1;
    w.receipt_jws = "h.grant.s";
    struct err e = {0};
    assert_int_equal(consent_write_run(&w, &e), 0);
    assert_string_equal(w.id, id); /* the caller's id, which the receipt names */
    struct consent_record rec;
    assert_int_equal(consent_get(f->s, T->citizen, id, &rec, f->a, &e), 0);

    struct consent_write d = withdraw_w(f, id);
    d.now_ms = T->now + 1;
    d.receipt_id = r2;
    d.receipt_jws = "h.withdraw.s";
    d.receipt_basis_ms = rec.updated_ms;
    assert_int_equal(consent_write_run(&d, &e), 0);

    struct consent_receipt_row *list;
    size_t n;
    assert_int_equal(consent_receipt_list(f->s, T->citizen, id, f->a, &list, &n, &e), 0);
    assert_int_equal(n, 2);
    assert_string_equal(list[0].id, r1);
    assert_string_equal(list[0].action, "grant");
    assert_string_equal(list[0].jws, "h.grant.s");
    assert_string_equal(list[0].consent_id, id);
    assert_int_equal(list[0].created_ms, T->now);
    assert_string_equal(list[1].id, r2);
    assert_string_equal(list[1].action, "withdraw");
    assert_string_equal(list[1].jws, "h.withdraw.s");
    /* another person's view of it: none */
    assert_int_equal(consent_receipt_list(f->s, T->stranger, id, f->a, &list, &n, &e), 0);
    assert_int_equal(n, 0);
}

static void a_refused_change_stores_no_receipt(void **state)
{
    struct fx *f = *state;
    char r[CONSENT_RECEIPT_ID_LEN + 1];
    consent_receipt_new_id(r);
    struct consent_write w = grant_w(f);
    w.evidence.explanation_hash =
        "0000000000000000000000000000000000000000000000000000000000000000";
    w.receipt_id = r;
    w.receipt_jws = "h.p.s";
    struct err e = {0};
    assert_int_equal(consent_write_run(&w, &e), ERR_INVALID);
    w = grant_w(f);
    w.purpose_version = 2; /* no such version */
    w.receipt_id = r;
    w.receipt_jws = "h.p.s";
    assert_int_equal(consent_write_run(&w, &e), ERR_NOTFOUND);
    w = grant_w(f);
    w.by = T->stranger; /* no right to manage */
    w.receipt_id = r;
    w.receipt_jws = "h.p.s";
    assert_int_equal(consent_write_run(&w, &e), ERR_INVALID);
    assert_int_equal(receipts(f), 0);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM consent"), 0);
    /* a withdrawal of a consent that is already withdrawn */
    struct consent_write g = grant_w(f);
    assert_int_equal(consent_write_run(&g, &e), 0);
    struct consent_write d = withdraw_w(f, g.id);
    assert_int_equal(consent_write_run(&d, &e), 0);
    d = withdraw_w(f, g.id);
    d.receipt_id = r;
    d.receipt_jws = "h.p.s";
    assert_int_equal(consent_write_run(&d, &e), ERR_CONFLICT);
    assert_int_equal(receipts(f), 0);
}

static void a_receipt_that_cannot_be_stored_undoes_the_change(void **state)
{
    struct fx *f = *state;
    char r[CONSENT_RECEIPT_ID_LEN + 1];
    consent_receipt_new_id(r);
    struct consent_write w = grant_w(f);
    w.receipt_id = r;
    w.receipt_jws = "h.p.s";
    struct err e = {0};
    assert_int_equal(consent_write_run(&w, &e), 0);
    int64_t events = fx_count(f, "SELECT COUNT(*) FROM consent_event");
    int64_t audit = fx_count(f, "SELECT COUNT(*) FROM audit_entry");
    /* the same receipt id again: the insert fails, and the grant with it */
    w = grant_w(f);
    w.receipt_id = r;
    w.receipt_jws = "h.p.s";
    assert_int_not_equal(consent_write_run(&w, &e), 0);
    w = grant_w(f);
    w.receipt_id = "short";
    w.receipt_jws = "h.p.s";
    assert_int_equal(consent_write_run(&w, &e), ERR_INVALID);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM consent"), 1);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM consent_event"), events);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM audit_entry"), audit);
    assert_int_equal(receipts(f), 1);
}

static void a_receipt_of_a_changed_consent_is_refused(void **state)
{
    struct fx *f = *state;
    struct consent_write g = grant_w(f);
    struct err e = {0};
    assert_int_equal(consent_write_run(&g, &e), 0);
    char r[CONSENT_RECEIPT_ID_LEN + 1];
    consent_receipt_new_id(r);
    struct consent_write d = withdraw_w(f, g.id);
    d.receipt_id = r;
    d.receipt_jws = "h.p.s";
    d.receipt_basis_ms = T->now - 5; /* made from an older state of the consent */
    assert_int_equal(consent_write_run(&d, &e), ERR_CONFLICT);
    assert_non_null(strstr(e.msg, "receipt"));
    struct consent_record rec;
    assert_int_equal(consent_get(f->s, T->citizen, g.id, &rec, f->a, &e), 0);
    assert_false(rec.withdrawn);
    assert_int_equal(receipts(f), 0);
}

/* Publishes the next version of "cardio" with cats; its hash into hash. */
static void publish(struct fx *f, consent_cats cats, int64_t at, char hash[CONSENT_HEX_LEN + 1])
{
    struct consent_purpose_new in = {
        .code = "cardio",
        .title_ja = "循環器病予防",
        .title_en = "Cardiovascular prevention",
        .explanation_ja = "血圧と健診結果を共有します。",
        .explanation_en = "Your blood pressure and check-ups are shared.",
        .cats = cats,
        .legal_basis = CONSENT_BASIS_CONSENT,
        .retention_days = 365,
        .published_by = "operator",
    };
    struct err e = {0};
    int64_t version = 0;
    struct consent_purpose p;
    assert_int_equal(consent_purpose_publish(f->s, NULL, &in, at, &version, NULL, &e), 0);
    assert_int_equal(consent_purpose_get(f->s, "cardio", version, &p, f->a, &e), 0);
    memcpy(hash, p.explanation_hash, CONSENT_HEX_LEN + 1);
}

#define VITALS   (1u << CONSENT_CAT_VITALS)
#define CHECKUPS (1u << CONSENT_CAT_CHECKUPS)
#define LABS     (1u << CONSENT_CAT_LAB_RESULTS)

/* A consent on version 2 (vitals, checkups) granted at T->now; its id into id. */
static void grant_v2(struct fx *f, char v2[CONSENT_HEX_LEN + 1], char id[IDS_LEN + 1])
{
    publish(f, VITALS | CHECKUPS, T->now, v2);
    struct consent_write g = grant_w(f);
    g.purpose_version = 2;
    g.cats = VITALS | CHECKUPS;
    g.evidence.explanation_hash = v2;
    struct err e = {0};
    assert_int_equal(consent_write_run(&g, &e), 0);
    memcpy(id, g.id, IDS_LEN + 1);
}

static struct consent_write narrow_w(struct fx *f, const char *id, const char *hash,
                                     consent_cats cats, int64_t at)
{
    struct consent_write w = withdraw_w(f, id);
    w.op = CONSENT_OP_NARROW;
    w.cats = cats;
    w.now_ms = at;
    w.evidence.explanation_hash = hash;
    return w;
}

/* The open re-consent item of the citizen, into item. */
static void open_item(struct fx *f, char item[IDS_LEN + 1])
{
    struct consent_inbox_item *items;
    size_t n;
    struct err e = {0};
    assert_int_equal(consent_inbox_list(f->s, T->citizen, 1, f->a, &items, &n, &e), 0);
    assert_int_equal(n, 1);
    memcpy(item, items[0].id, IDS_LEN + 1);
}

static void a_narrowing_and_a_re_consent_commit_with_their_receipts(void **state)
{
    struct fx *f = *state;
    char v2[CONSENT_HEX_LEN + 1], v3[CONSENT_HEX_LEN + 1], id[IDS_LEN + 1], item[IDS_LEN + 1];
    char r1[CONSENT_RECEIPT_ID_LEN + 1], r2[CONSENT_RECEIPT_ID_LEN + 1];
    grant_v2(f, v2, id);
    struct err e = {0};
    struct consent_record rec;
    assert_int_equal(consent_get(f->s, T->citizen, id, &rec, f->a, &e), 0);
    consent_receipt_new_id(r1);
    struct consent_write n = narrow_w(f, id, v2, VITALS, T->now + 1);
    n.receipt_id = r1;
    n.receipt_jws = "h.narrow.s";
    n.receipt_basis_ms = rec.updated_ms;
    assert_int_equal(consent_write_run(&n, &e), 0);

    publish(f, VITALS | CHECKUPS | LABS, T->now + 2, v3); /* widens: an inbox item */
    open_item(f, item);
    assert_int_equal(consent_get(f->s, T->citizen, id, &rec, f->a, &e), 0);
    consent_receipt_new_id(r2);
    struct consent_write a = withdraw_w(f, NULL);
    a.op = CONSENT_OP_RECONSENT;
    a.item_id = item;
    a.now_ms = T->now + 3;
    a.evidence.explanation_hash = v3;
    a.receipt_id = r2;
    a.receipt_jws = "h.reconsent.s";
    a.receipt_basis_ms = rec.updated_ms;
    assert_int_equal(consent_write_run(&a, &e), 0);
    assert_string_equal(a.id, id);

    struct consent_receipt_row *list;
    size_t k;
    assert_int_equal(consent_receipt_list(f->s, T->citizen, id, f->a, &list, &k, &e), 0);
    assert_int_equal(k, 2);
    assert_string_equal(list[0].id, r1);
    assert_string_equal(list[0].action, "narrow");
    assert_string_equal(list[0].jws, "h.narrow.s");
    assert_int_equal(list[0].created_ms, T->now + 1);
    assert_string_equal(list[1].id, r2);
    assert_string_equal(list[1].action, "reconsent");
    assert_string_equal(list[1].consent_id, id);
}

static void a_stale_narrowing_or_re_consent_receipt_is_refused(void **state)
{
    struct fx *f = *state;
    char v2[CONSENT_HEX_LEN + 1], v3[CONSENT_HEX_LEN + 1], id[IDS_LEN + 1], item[IDS_LEN + 1];
    char r[CONSENT_RECEIPT_ID_LEN + 1];
    grant_v2(f, v2, id);
    struct err e = {0};
    struct consent_record before;
    assert_int_equal(consent_get(f->s, T->citizen, id, &before, f->a, &e), 0);
    /* a narrowing without a receipt moves the consent on (as another request would) */
    struct consent_write n = narrow_w(f, id, v2, VITALS, T->now + 1);
    assert_int_equal(consent_write_run(&n, &e), 0);
    /* a receipt made from the state before it: refused, nothing stored */
    consent_receipt_new_id(r);
    publish(f, VITALS | CHECKUPS | LABS, T->now + 2, v3);
    open_item(f, item);
    struct consent_write a = withdraw_w(f, NULL);
    a.op = CONSENT_OP_RECONSENT;
    a.item_id = item;
    a.now_ms = T->now + 3;
    a.evidence.explanation_hash = v3;
    a.receipt_id = r;
    a.receipt_jws = "h.p.s";
    a.receipt_basis_ms = before.updated_ms;
    assert_int_equal(consent_write_run(&a, &e), ERR_CONFLICT);
    assert_non_null(strstr(e.msg, "receipt"));
    struct consent_record now;
    assert_int_equal(consent_get(f->s, T->citizen, id, &now, f->a, &e), 0);
    assert_int_equal(now.purpose_version, 2); /* not moved */
    open_item(f, item);                       /* still open */
    /* the same for a narrowing: its scope stays, and no receipt */
    n = narrow_w(f, id, v2, VITALS, T->now + 4);
    n.valid_until_ms = T->now + 86400000LL;
    n.receipt_id = r;
    n.receipt_jws = "h.p.s";
    n.receipt_basis_ms = before.updated_ms;
    assert_int_equal(consent_write_run(&n, &e), ERR_CONFLICT);
    assert_int_equal(consent_get(f->s, T->citizen, id, &now, f->a, &e), 0);
    assert_int_equal(now.valid_until_ms, 0);
    assert_int_equal(receipts(f), 0);
    /* with the right basis both go through */
    a.receipt_basis_ms = now.updated_ms;
    assert_int_equal(consent_write_run(&a, &e), 0);
    assert_int_equal(receipts(f), 1);
}

static void a_refused_narrowing_stores_no_receipt(void **state)
{
    struct fx *f = *state;
    char v2[CONSENT_HEX_LEN + 1], id[IDS_LEN + 1], r[CONSENT_RECEIPT_ID_LEN + 1];
    grant_v2(f, v2, id);
    struct err e = {0};
    struct consent_record rec;
    assert_int_equal(consent_get(f->s, T->citizen, id, &rec, f->a, &e), 0);
    int64_t events = fx_count(f, "SELECT COUNT(*) FROM consent_event");
    consent_receipt_new_id(r);
    /* widening, the same scope, another version's text, someone without the right */
    struct consent_write n = narrow_w(f, id, v2, VITALS | CHECKUPS | LABS, T->now + 1);
    struct consent_write cases[4];
    cases[0] = n;
    cases[1] = narrow_w(f, id, v2, VITALS | CHECKUPS, T->now + 1);
    cases[2] = narrow_w(f, id, T->hash, VITALS, T->now + 1);
    cases[3] = narrow_w(f, id, v2, VITALS, T->now + 1);
    cases[3].by = T->stranger;
    for (size_t i = 0; i < 4; i++) {
        cases[i].receipt_id = r;
        cases[i].receipt_jws = "h.p.s";
        cases[i].receipt_basis_ms = rec.updated_ms;
        assert_int_equal(consent_write_run(&cases[i], &e), ERR_INVALID);
    }
    assert_int_equal(receipts(f), 0);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM consent_event"), events);
}

static void writes_without_a_receipt_store_none(void **state)
{
    struct fx *f = *state;
    struct consent_write g = grant_w(f);
    struct err e = {0};
    assert_int_equal(consent_write_run(&g, &e), 0);
    assert_true(ids_valid(g.id));
    struct consent_write d = withdraw_w(f, g.id);
    assert_int_equal(consent_write_run(&d, &e), 0);
    assert_int_equal(receipts(f), 0);
    /* a malformed caller-made id is refused */
    g = grant_w(f);
    g.grant_id = "not-an-id";
    assert_int_equal(consent_write_run(&g, &e), ERR_INVALID);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM consent"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_grant_and_withdrawal_commit_with_their_receipts, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_refused_change_stores_no_receipt, setup, teardown),
        cmocka_unit_test_setup_teardown(a_receipt_that_cannot_be_stored_undoes_the_change, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_receipt_of_a_changed_consent_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(a_narrowing_and_a_re_consent_commit_with_their_receipts,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_stale_narrowing_or_re_consent_receipt_is_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_refused_narrowing_stores_no_receipt, setup, teardown),
        cmocka_unit_test_setup_teardown(writes_without_a_receipt_store_none, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

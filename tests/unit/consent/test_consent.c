/* test_consent.c - purposes, consents and the inbox in a real store: publishing and the
 * widening/narrowing comparison, the explanation hash, grants and every refusal (nothing
 * stored), narrowing, withdrawal, re-consent, the audit entry of every write, the index kept
 * current by the writes, reloaded from the store (same decisions), polled by a second process,
 * undone after a failed commit, and a reader racing a withdrawal. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
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
#include "consent/internal.h"
#include "identity/person.h"
#include "support/fixture.h"

/* ---- a small town, written with plain SQL ---- */

struct town {
    char citizen[IDS_LEN + 1], daughter[IDS_LEN + 1], helper[IDS_LEN + 1], stranger[IDS_LEN + 1];
    char clinic[IDS_LEN + 1], hospital[IDS_LEN + 1], lab[IDS_LEN + 1], app[IDS_LEN + 1];
    struct consent_index *ix;
    int64_t now;
};

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

static void exec(struct store *s, const char *text, const struct store_value *v, size_t n)
{
    struct sql q = {text, v, n};
    struct err e = {0};
    if (store_write(s, exec_fn, &q, &e) != 0)
        fail_msg("%s: %s", text, e.msg);
}

static void add_person(struct store *s, char id[IDS_LEN + 1], const char *birth)
{
    ids_new(id);
    struct store_value v[] = {STORE_TEXT_V(id), STORE_TEXT_V(birth)};
    exec(s,
         "INSERT INTO person (id, family_name_kanji, given_name_kanji, family_name_kana, "
         "given_name_kana, birth_date, sex, district, assurance, created_ms, updated_ms) VALUES "
         "(?, '会津', '太郎', 'アイヅ', 'タロウ', ?, 'male', '湊', 'card', 0, 0)",
         v, 2);
}

static void add_org(struct store *s, char id[IDS_LEN + 1], const char *kind)
{
    ids_new(id);
    struct store_value v[] = {STORE_TEXT_V(id), STORE_TEXT_V(kind)};
    exec(s,
         "INSERT INTO organisation (id, kind, name_ja, district, created_ms) VALUES "
         "(?, ?, '会津医院', '湊', 0)",
         v, 2);
}

static void add_link(struct store *s, const char *subject, const char *delegate, const char *rights,
                     int64_t created)
{
    char id[IDS_LEN + 1];
    ids_new(id);
    struct store_value v[] = {STORE_TEXT_V(id), STORE_TEXT_V(subject), STORE_TEXT_V(delegate),
                              STORE_TEXT_V(rights), STORE_INT_V(created)};
    exec(s,
         "INSERT INTO family_link (id, subject_id, delegate_id, rights, kind, valid_from_ms, "
         "valid_until_ms, created_ms) VALUES (?, ?, ?, ?, 'family', 0, NULL, ?)",
         v, 5);
}

static struct audit_event actor_for(const char *person)
{
    return (struct audit_event){.actor_kind = AUDIT_ACTOR_PERSON,
                                .actor_id = person,
                                .client_id = "portal",
                                .request_id = "req-test",
                                .source_addr = "192.0.2.1"};
}

#define BIT(c) (1u << (c))
#define CARE_CATS                                                                                  \
    (BIT(CONSENT_CAT_VITALS) | BIT(CONSENT_CAT_LAB_RESULTS) | BIT(CONSENT_CAT_CHECKUPS))

static struct consent_purpose_new purpose_in(struct town *t, consent_cats cats, const char **recips,
                                             size_t n)
{
    (void)t;
    return (struct consent_purpose_new){
        .code = "cardio",
        .title_ja = "循環器病予防プログラム",
        .title_en = "Cardiovascular prevention programme",
        .explanation_ja = "血圧と健診の結果を登録医療機関と共有します。\n撤回はいつでも。",
        .explanation_en = "Your blood pressure and check-ups are shared with the registered "
                          "clinics.\nWithdraw at any time.",
        .cats = cats,
        .recipients = recips,
        .nrecipients = n,
        .legal_basis = CONSENT_BASIS_CONSENT,
        .retention_days = 1825,
        .published_by = "operator",
    };
}

static int64_t publish(struct fx *f, struct town *t, consent_cats cats, const char **recips,
                       size_t n, int *change)
{
    struct consent_purpose_new in = purpose_in(t, cats, recips, n);
    int64_t v = 0;
    struct err e = {0};
    if (consent_purpose_publish(f->s, t->ix, &in, t->now, &v, change, &e) != 0)
        fail_msg("publish: %s", e.msg);
    return v;
}

static const char *hash_of(struct fx *f, int64_t version)
{
    struct consent_purpose p;
    struct err e = {0};
    assert_int_equal(consent_purpose_get(f->s, "cardio", version, &p, f->a, &e), 0);
    return arena_strdup(f->a, p.explanation_hash);
}

/* the town of the running test (cmocka runs one test at a time) */
static struct town *the_town;

static int setup(void **state)
{
    if (sodium_init() < 0 || fx_setup_in(state, "consent") != 0)
        return -1;
    struct fx *f = *state;
    struct town *t = calloc(1, sizeof *t);
    t->now = clock_now_ms();
    add_person(f->s, t->citizen, "1955-04-12");
    add_person(f->s, t->daughter, "1985-06-01");
    add_person(f->s, t->helper, "1990-01-01");
    add_person(f->s, t->stranger, "1970-01-01");
    add_org(f->s, t->clinic, "clinic");
    add_org(f->s, t->hospital, "hospital");
    add_org(f->s, t->lab, "clinic");
    ids_new(t->app);
    struct store_value v[] = {STORE_TEXT_V(t->app)};
    exec(f->s,
         "INSERT INTO oauth_client (id, name, kind, secret_hash, redirect_uris, allowed_scopes, "
         "grant_types, created_ms) VALUES (?, 'BP app', 'confidential', 'x', '[]', 'openid', "
         "'client_credentials', 0)",
         v, 1);
    add_link(f->s, t->citizen, t->daughter, "see_alerts,manage_consents", 1);
    add_link(f->s, t->citizen, t->helper, "see_record", 2);
    struct err e = {0};
    t->ix = consent_index_load(f->s, &e);
    if (t->ix == NULL) {
        fprintf(stderr, "load: %s\n", e.msg);
        return -1;
    }
    the_town = t;
    return 0;
}

static int teardown(void **state)
{
    consent_index_free(the_town->ix);
    free(the_town);
    the_town = NULL;
    return fx_teardown(state);
}

static struct consent_write grant_w(struct fx *f, struct town *t, enum consent_recipient_kind k,
                                    const char *recipient, consent_cats cats, int64_t version)
{
    static struct audit_event actor;
    actor = actor_for(t->citizen);
    return (struct consent_write){.op = CONSENT_OP_GRANT,
                                  .store = f->s,
                                  .ix = t->ix,
                                  .now_ms = t->now,
                                  .actor = &actor,
                                  .subject_id = t->citizen,
                                  .by = t->citizen,
                                  .recipient_kind = k,
                                  .recipient_id = recipient,
                                  .purpose_code = "cardio",
                                  .purpose_version = version,
                                  .cats = cats,
                                  .actions = CONSENT_READ,
                                  .evidence = {.explanation_hash = hash_of(f, version),
                                               .shown_ms = t->now - 60000,
                                               .agreed_ms = t->now - 1000,
                                               .channel = CONSENT_CHANNEL_PORTAL}};
}

static int decide_org(struct town *t, const char *org, enum consent_category c)
{
    struct consent_query q = {.actor_kind = ID_PRINCIPAL_PRACTITIONER,
                              .actor_id = t->stranger,
                              .org_id = org,
                              .role = "doctor",
                              .subject = t->citizen,
                              .category = c,
                              .action = CONSENT_READ,
                              .now_ms = clock_now_ms()};
    struct consent_decision d;
    assert_int_equal(consent_decide(t->ix, &q, &d), 0);
    return d.effect == CONSENT_PERMIT;
}

static int64_t count(struct fx *f, const char *sql)
{
    return fx_count(f, sql);
}

/* ---- purposes ---- */

static void compare_detects_widening_and_narrowing(void **state)
{
    (void)state;
    consent_cats a = BIT(CONSENT_CAT_VITALS), ab = a | BIT(CONSENT_CAT_GENOME);
    assert_int_equal(consent_purpose_compare(a, "A", a, "A"), 0);
    assert_int_equal(consent_purpose_compare(a, "A", ab, "A"), CONSENT_WIDENS);
    assert_int_equal(consent_purpose_compare(ab, "A", a, "A"), CONSENT_NARROWS);
    assert_int_equal(consent_purpose_compare(a, "A", a, "A,B"), CONSENT_WIDENS);
    assert_int_equal(consent_purpose_compare(a, "A,B", a, "B"), CONSENT_NARROWS);
    assert_int_equal(consent_purpose_compare(a, "A", a, ""), CONSENT_NARROWS);
    assert_int_equal(consent_purpose_compare(a, "", a, "A"), CONSENT_WIDENS);
    assert_int_equal(consent_purpose_compare(ab, "A", a, "A,B"), CONSENT_WIDENS | CONSENT_NARROWS);
    /* prefixes are not the same id */
    assert_int_equal(consent_purpose_compare(a, "AB", a, "A"), CONSENT_WIDENS | CONSENT_NARROWS);
}

static void explanation_hash_is_the_documented_encoding(void **state)
{
    struct fx *f = *state;
    struct town *t = the_town;
    const char *r[] = {t->clinic};
    publish(f, t, CARE_CATS, r, 1, NULL);
    /* recomputed here from the rule in consent.h, byte by byte */
    char buf[4096];
    size_t n = 0;
    struct consent_purpose_new in = purpose_in(t, CARE_CATS, r, 1);
    const char *parts[] = {"cardio",
                           "1",
                           in.title_ja,
                           in.explanation_ja,
                           in.title_en,
                           in.explanation_en,
                           "vitals,checkups,lab_results",
                           t->clinic,
                           "consent",
                           "1825"};
    n = (size_t)snprintf(buf, sizeof buf, "cityos.consent.explanation.v1");
    for (size_t i = 0; i < 10; i++) {
        buf[n++] = '\0';
        memcpy(buf + n, parts[i], strlen(parts[i]));
        n += strlen(parts[i]);
    }
    unsigned char h[32];
    char hex[65];
    crypto_hash_sha256(h, (const unsigned char *)buf, n);
    sodium_bin2hex(hex, sizeof hex, h, sizeof h);
    assert_string_equal(hash_of(f, 1), hex);
}

static void publish_versions_and_reconsent_items(void **state)
{
    struct fx *f = *state;
    struct town *t = the_town;
    const char *r1[] = {t->clinic};
    int change = -1;
    assert_int_equal(publish(f, t, CARE_CATS, r1, 1, &change), 1);
    assert_int_equal(change, 0);
    struct consent_write w = grant_w(f, t, CONSENT_TO_PURPOSE, NULL, CARE_CATS, 1);
    struct err e = {0};
    assert_int_equal(consent_write_run(&w, &e), 0);
    /* the same scope again: no items */
    assert_int_equal(publish(f, t, CARE_CATS, r1, 1, &change), 2);
    assert_int_equal(change, 0);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM inbox_item"), 0);
    /* widening: a category and a recipient */
    const char *r3[] = {t->clinic, t->lab};
    assert_int_equal(publish(f, t, CARE_CATS | BIT(CONSENT_CAT_GENOME), r3, 2, &change), 3);
    assert_int_equal(change, CONSENT_WIDENS);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM inbox_item WHERE kind = 'reconsent' AND "
                              "from_version = 1 AND to_version = 3"),
                     1);
    /* old scope until accepted */
    assert_true(decide_org(t, t->clinic, CONSENT_CAT_VITALS));
    assert_false(decide_org(t, t->clinic, CONSENT_CAT_GENOME));
    assert_false(decide_org(t, t->lab, CONSENT_CAT_VITALS));
    /* widening again before the citizen answered: the open item moves on */
    const char *r4[] = {t->clinic, t->lab, t->hospital};
    assert_int_equal(publish(f, t, CARE_CATS | BIT(CONSENT_CAT_GENOME), r4, 3, &change), 4);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM inbox_item WHERE to_version = 4"), 1);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM inbox_item"), 1);
    /* narrowing (checkups dropped): no item, and it bites at once */
    assert_true(decide_org(t, t->clinic, CONSENT_CAT_CHECKUPS));
    consent_cats narrower = (CARE_CATS | BIT(CONSENT_CAT_GENOME)) & ~BIT(CONSENT_CAT_CHECKUPS);
    assert_int_equal(publish(f, t, narrower, r4, 3, &change), 5);
    assert_int_equal(change, CONSENT_NARROWS);
    assert_false(decide_org(t, t->clinic, CONSENT_CAT_CHECKUPS));
    assert_true(decide_org(t, t->clinic, CONSENT_CAT_VITALS));
    /* the open item still points at version 4, which is not current any more */
    struct consent_inbox_item *items;
    size_t n;
    assert_int_equal(consent_inbox_list(f->s, t->citizen, 1, f->a, &items, &n, &e), 0);
    assert_int_equal(n, 1);
    struct consent_write a = grant_w(f, t, CONSENT_TO_PURPOSE, NULL, 0, 4);
    a.op = CONSENT_OP_RECONSENT;
    a.item_id = items[0].id;
    assert_int_equal(consent_write_run(&a, &e), ERR_CONFLICT);
    /* a version 6 that widens again moves the item to 6; accepting it works */
    assert_int_equal(publish(f, t, CARE_CATS | BIT(CONSENT_CAT_GENOME), r4, 3, &change), 6);
    a = grant_w(f, t, CONSENT_TO_PURPOSE, NULL, 0, 6);
    a.op = CONSENT_OP_RECONSENT;
    a.item_id = items[0].id;
    assert_int_equal(consent_write_run(&a, &e), 0);
    assert_true(decide_org(t, t->lab, CONSENT_CAT_GENOME));
    assert_true(decide_org(t, t->hospital, CONSENT_CAT_VITALS));
    assert_true(decide_org(t, t->clinic, CONSENT_CAT_CHECKUPS));
    assert_int_equal(consent_inbox_list(f->s, t->citizen, 1, f->a, &items, &n, &e), 0);
    assert_int_equal(n, 0);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM consent_event WHERE kind = 'reconsent'"), 1);
    /* the public list: current versions, texts included */
    struct consent_purpose *ps;
    assert_int_equal(consent_purpose_list(f->s, 1, f->a, &ps, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_int_equal(ps[0].version, 6);
    assert_true(ps[0].current);
    assert_int_equal(consent_purpose_list(f->s, 0, f->a, &ps, &n, &e), 0);
    assert_int_equal(n, 6);
    assert_int_equal(ps[4].change, CONSENT_NARROWS);
}

static void publish_refusals_store_nothing(void **state)
{
    struct fx *f = *state;
    struct town *t = the_town;
    const char *r[] = {t->clinic};
    struct err e = {0};
    struct consent_purpose_new in = purpose_in(t, CARE_CATS, r, 1);
    struct consent_purpose_new bad;
    int64_t v;
#define REFUSE(mutate, field)                                                                      \
    do {                                                                                           \
        bad = in;                                                                                  \
        mutate;                                                                                    \
        assert_int_equal(consent_purpose_publish(f->s, t->ix, &bad, t->now, &v, NULL, &e),         \
                         ERR_INVALID);                                                             \
        if (strncmp(e.msg, field, strlen(field)) != 0)                                             \
            fail_msg("want %s, got %s", field, e.msg);                                             \
    } while (0)
    REFUSE(bad.code = "Cardio", "purpose");
    REFUSE(bad.code = "", "purpose");
    REFUSE(bad.title_ja = "", "title_ja");
    REFUSE(bad.title_en = " padded", "title_en");
    REFUSE(bad.explanation_en = "bell\a", "explanation_en");
    REFUSE(bad.cats = 0, "categories");
    REFUSE(bad.retention_days = 0, "retention_days");
    REFUSE(bad.legal_basis = (enum consent_legal_basis)9, "legal_basis");
    const char *dup[] = {t->clinic, t->clinic};
    REFUSE((bad.recipients = dup, bad.nrecipients = 2), "recipients");
    const char *junk[] = {"not-an-id"};
    REFUSE((bad.recipients = junk, bad.nrecipients = 1), "recipients");
    char ghost[IDS_LEN + 1];
    ids_new(ghost);
    const char *unknown[] = {ghost};
    REFUSE((bad.recipients = unknown, bad.nrecipients = 1), "recipients");
#undef REFUSE
    assert_int_equal(count(f, "SELECT COUNT(*) FROM consent_purpose_version"), 0);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM consent_change"), 0);
}

/* ---- grants ---- */

static void grant_records_everything_in_one_write(void **state)
{
    struct fx *f = *state;
    struct town *t = the_town;
    const char *r[] = {t->clinic};
    publish(f, t, CARE_CATS, r, 1, NULL);
    assert_false(decide_org(t, t->clinic, CONSENT_CAT_VITALS));
    struct consent_write w =
        grant_w(f, t, CONSENT_TO_ORGANISATION, t->clinic, BIT(CONSENT_CAT_VITALS), 1);
    struct err e = {0};
    assert_int_equal(consent_write_run(&w, &e), 0);
    assert_true(ids_valid(w.id));
    assert_true(decide_org(t, t->clinic, CONSENT_CAT_VITALS));
    assert_false(decide_org(t, t->clinic, CONSENT_CAT_LAB_RESULTS)); /* "nothing else" */
    assert_false(decide_org(t, t->lab, CONSENT_CAT_VITALS));
    assert_int_equal(count(f, "SELECT COUNT(*) FROM consent_event"), 1);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM consent_change"), 2); /* purpose + grant */
    struct consent_record rec;
    assert_int_equal(consent_get(f->s, t->citizen, w.id, &rec, f->a, &e), 0);
    assert_string_equal(rec.granted_by, t->citizen);
    assert_int_equal(rec.recipient_kind, CONSENT_TO_ORGANISATION);
    assert_string_equal(rec.recipient_id, t->clinic);
    assert_int_equal(rec.cats, BIT(CONSENT_CAT_VITALS));
    assert_string_equal(rec.evidence.explanation_hash, hash_of(f, 1));
    assert_int_equal(rec.evidence.agreed_ms, t->now - 1000);
    assert_int_equal(rec.evidence.channel, CONSENT_CHANNEL_PORTAL);
    assert_false(rec.withdrawn);
    /* someone else's consent id is not found */
    assert_int_equal(consent_get(f->s, t->daughter, w.id, &rec, f->a, &e), ERR_NOTFOUND);
    /* the audit entry, in the citizen's own chain */
    struct audit_page page;
    assert_int_equal(audit_list_for_subject(f->s, t->citizen, NULL, 10, f->a, &page, &e), 0);
    assert_int_equal(page.n, 1);
    assert_string_equal(page.items[0].ev.action, "create");
    assert_string_equal(page.items[0].ev.resource_type, "Consent");
    assert_string_equal(page.items[0].ev.resource_id, w.id);
    assert_string_equal(page.items[0].ev.actor_id, t->citizen);
    assert_string_equal(page.items[0].ev.decided_by, "rule:self");
    assert_string_equal(page.items[0].ev.category, "vitals");
    assert_string_equal(page.items[0].ev.purpose, "cardio@1");
    assert_string_equal(page.items[0].ev.request_id, "req-test");
}

static void grant_refusals_store_nothing(void **state)
{
    struct fx *f = *state;
    struct town *t = the_town;
    const char *r[] = {t->clinic};
    publish(f, t, CARE_CATS, r, 1, NULL);
    publish(f, t, CARE_CATS, r, 1, NULL); /* version 2 is current */
    struct consent_write ok = grant_w(f, t, CONSENT_TO_ORGANISATION, t->clinic,
                                      BIT(CONSENT_CAT_VITALS), 2),
                         w;
    struct err e = {0};
    char ghost[IDS_LEN + 1];
    ids_new(ghost);
    static const char zeros[] = "0000000000000000000000000000000000000000000000000000000000000000";
#define REFUSE(mutate, code, field)                                                                \
    do {                                                                                           \
        w = ok;                                                                                    \
        mutate;                                                                                    \
        assert_int_equal(consent_write_run(&w, &e), code);                                         \
        if (strncmp(e.msg, field, strlen(field)) != 0)                                             \
            fail_msg("want %s, got %s", field, e.msg);                                             \
    } while (0)
    REFUSE(w.evidence.explanation_hash = zeros, ERR_INVALID, "evidence.explanation_hash");
    REFUSE(w.evidence.explanation_hash = "ABC", ERR_INVALID, "evidence.explanation_hash");
    REFUSE((w.purpose_version = 1, w.evidence.explanation_hash = hash_of(f, 1)), ERR_INVALID,
           "purpose.version");
    REFUSE(w.purpose_version = 3, ERR_NOTFOUND, "purpose");
    REFUSE(w.purpose_code = "nothing", ERR_NOTFOUND, "purpose");
    REFUSE(w.purpose_code = "BAD CODE", ERR_INVALID, "purpose");
    REFUSE(w.cats = BIT(CONSENT_CAT_GENOME), ERR_INVALID, "categories");
    REFUSE(w.cats = 0, ERR_INVALID, "categories");
    REFUSE(w.actions = 0, ERR_INVALID, "actions");
    REFUSE(w.actions = 4, ERR_INVALID, "actions");
    REFUSE(w.recipient_id = ghost, ERR_NOTFOUND, "recipient.id");
    REFUSE(w.recipient_id = "junk", ERR_INVALID, "recipient.id");
    REFUSE(w.recipient_kind = CONSENT_TO_PURPOSE, ERR_INVALID, "recipient.id");
    REFUSE((w.recipient_kind = CONSENT_TO_PERSON, w.recipient_id = t->citizen), ERR_INVALID,
           "recipient.id");
    REFUSE((w.recipient_kind = CONSENT_TO_CLIENT, w.recipient_id = t->clinic), ERR_NOTFOUND,
           "recipient.id");
    REFUSE(w.evidence.agreed_ms = t->now - 2 * CONSENT_EVIDENCE_AGE_MS, ERR_INVALID, "evidence");
    REFUSE(w.evidence.agreed_ms = t->now + 2 * CONSENT_CLOCK_SKEW_MS, ERR_INVALID, "evidence");
    REFUSE(w.evidence.shown_ms = t->now, ERR_INVALID, "evidence.agreed_at");
    REFUSE(w.evidence.channel = (enum consent_channel)7, ERR_INVALID, "evidence.channel");
    REFUSE(w.valid_until_ms = t->now - 1, ERR_INVALID, "period.end");
    REFUSE(w.subject_id = ghost, ERR_NOTFOUND, "subject");
    REFUSE(w.by = t->helper, ERR_INVALID, "by"); /* see_record does not manage consents */
    REFUSE(w.by = t->stranger, ERR_INVALID, "by");
    REFUSE(w.actor = NULL, ERR_INVALID, "store and actor");
#undef REFUSE
    assert_int_equal(count(f, "SELECT COUNT(*) FROM consent"), 0);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM consent_event"), 0);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM audit_entry"), 0);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM consent_change"), 2);
    assert_false(decide_org(t, t->clinic, CONSENT_CAT_VITALS));
    /* the daughter holds manage_consents: she may grant for her father */
    w = ok;
    struct audit_event da = actor_for(t->daughter);
    da.actor_kind = AUDIT_ACTOR_DELEGATE;
    da.on_behalf_of = t->citizen;
    w.by = t->daughter;
    w.actor = &da;
    assert_int_equal(consent_write_run(&w, &e), 0);
    assert_true(decide_org(t, t->clinic, CONSENT_CAT_VITALS));
    struct audit_page page;
    assert_int_equal(audit_list_for_subject(f->s, t->citizen, NULL, 10, f->a, &page, &e), 0);
    assert_int_equal(page.n, 1);
    assert_string_equal(page.items[0].ev.decided_by, "rule:delegate");
    assert_string_equal(page.items[0].ev.on_behalf_of, t->citizen);
}

/* ---- narrowing and withdrawal ---- */

static void narrow_then_withdraw(void **state)
{
    struct fx *f = *state;
    struct town *t = the_town;
    const char *r[] = {t->clinic};
    publish(f, t, CARE_CATS, r, 1, NULL);
    struct consent_write g = grant_w(f, t, CONSENT_TO_ORGANISATION, t->clinic, CARE_CATS, 1);
    g.actions = CONSENT_READ | CONSENT_WRITE;
    struct err e = {0};
    assert_int_equal(consent_write_run(&g, &e), 0);
    assert_true(decide_org(t, t->clinic, CONSENT_CAT_LAB_RESULTS));

    struct consent_write n = g;
    n.op = CONSENT_OP_NARROW;
    n.consent_id = g.id;
    n.cats = BIT(CONSENT_CAT_VITALS) | BIT(CONSENT_CAT_CHECKUPS);
    n.actions = 0;
    assert_int_equal(consent_write_run(&n, &e), 0);
    assert_false(decide_org(t, t->clinic, CONSENT_CAT_LAB_RESULTS));
    assert_true(decide_org(t, t->clinic, CONSENT_CAT_VITALS));
    /* refusals: wider, the same, someone else's, an unknown id */
    struct consent_write x = n;
    x.cats = CARE_CATS;
    assert_int_equal(consent_write_run(&x, &e), ERR_INVALID);
    assert_string_equal(e.msg, "categories: a narrowing cannot add a category");
    x = n;
    assert_int_equal(consent_write_run(&x, &e), ERR_INVALID); /* nothing narrower */
    x = n;
    x.cats = BIT(CONSENT_CAT_VITALS);
    x.valid_until_ms = t->now - 5;
    assert_int_equal(consent_write_run(&x, &e), ERR_INVALID);
    x = n;
    x.cats = BIT(CONSENT_CAT_VITALS);
    x.subject_id = t->daughter;
    x.by = t->daughter;
    assert_int_equal(consent_write_run(&x, &e), ERR_NOTFOUND);
    x = n;
    char ghost[IDS_LEN + 1];
    ids_new(ghost);
    x.consent_id = ghost;
    x.cats = BIT(CONSENT_CAT_VITALS);
    assert_int_equal(consent_write_run(&x, &e), ERR_NOTFOUND);
    /* actions narrowed: read only */
    x = n;
    x.cats = 0;
    x.actions = CONSENT_READ;
    assert_int_equal(consent_write_run(&x, &e), 0);

    struct consent_write w = g;
    w.op = CONSENT_OP_WITHDRAW;
    w.consent_id = g.id;
    w.cats = 0;
    w.actions = 0;
    w.evidence.channel = CONSENT_CHANNEL_APP;
    assert_int_equal(consent_write_run(&w, &e), 0);
    assert_false(decide_org(t, t->clinic, CONSENT_CAT_VITALS));
    assert_int_equal(consent_write_run(&w, &e), ERR_CONFLICT);
    struct consent_record *list;
    size_t cnt;
    assert_int_equal(consent_list_for_subject(f->s, t->citizen, f->a, &list, &cnt, &e), 0);
    assert_int_equal(cnt, 1);
    assert_true(list[0].withdrawn);
    assert_string_equal(list[0].withdrawn_by, t->citizen);
    assert_int_equal(list[0].withdrawal.channel, CONSENT_CHANNEL_APP);
    assert_string_equal(list[0].withdrawal.explanation_hash, hash_of(f, 1));
    assert_int_equal(list[0].withdrawal.agreed_ms, t->now - 1000);
    assert_int_equal(list[0].cats, BIT(CONSENT_CAT_VITALS) | BIT(CONSENT_CAT_CHECKUPS));
    assert_int_equal(list[0].actions, CONSENT_READ);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM consent_event"), 4);
    struct audit_page page;
    assert_int_equal(audit_list_for_subject(f->s, t->citizen, NULL, 10, f->a, &page, &e), 0);
    assert_int_equal(page.n, 4); /* create, update, update, delete: refusals left none */
    assert_string_equal(page.items[0].ev.action, "delete");
    assert_string_equal(page.items[1].ev.action, "update");
    assert_string_equal(page.items[3].ev.action, "create");
}

/* ---- the index and the store agree ---- */

static void decisions_grid(struct consent_index *ix, struct town *t, char *out, size_t n)
{
    const char *orgs[] = {t->clinic, t->lab, t->hospital};
    size_t k = 0;
    for (int o = 0; o < 3; o++)
        for (int c = 0; c < CONSENT_CAT_COUNT; c++)
            for (unsigned a = 1; a <= 2; a++)
                for (int kind = 0; kind < 3 && k < n; kind++) {
                    struct consent_query q = {
                        .actor_kind = kind == 0   ? ID_PRINCIPAL_PRACTITIONER
                                      : kind == 1 ? ID_PRINCIPAL_CLIENT
                                                  : ID_PRINCIPAL_DELEGATE,
                        .actor_id = kind == 2 ? (o == 0 ? t->daughter : t->helper) : t->stranger,
                        .acting_for = t->citizen,
                        .org_id = orgs[o],
                        .role = "doctor",
                        .client_id = t->app,
                        .subject = t->citizen,
                        .category = (enum consent_category)c,
                        .action = a,
                        .now_ms = t->now};
                    struct consent_decision d;
                    consent_decide(ix, &q, &d);
                    out[k++] = d.effect == CONSENT_PERMIT ? 'P' : '.';
                }
    out[k] = '\0';
}

static void history(struct fx *f, struct town *t)
{
    const char *r[] = {t->clinic, t->app};
    publish(f, t, CARE_CATS, r, 2, NULL);
    struct err e = {0};
    struct consent_write a = grant_w(f, t, CONSENT_TO_PURPOSE, NULL, CARE_CATS, 1);
    struct consent_write b = grant_w(f, t, CONSENT_TO_ORGANISATION, t->hospital,
                                     BIT(CONSENT_CAT_VITALS) | BIT(CONSENT_CAT_CHECKUPS), 1);
    b.actions = CONSENT_READ | CONSENT_WRITE;
    struct consent_write c =
        grant_w(f, t, CONSENT_TO_CLIENT, t->app, BIT(CONSENT_CAT_LAB_RESULTS), 1);
    assert_int_equal(consent_write_run(&a, &e), 0);
    assert_int_equal(consent_write_run(&b, &e), 0);
    assert_int_equal(consent_write_run(&c, &e), 0);
    struct consent_write n = b;
    n.op = CONSENT_OP_NARROW;
    n.consent_id = b.id;
    n.cats = BIT(CONSENT_CAT_CHECKUPS);
    assert_int_equal(consent_write_run(&n, &e), 0);
    struct consent_write w = c;
    w.op = CONSENT_OP_WITHDRAW;
    w.consent_id = c.id;
    assert_int_equal(consent_write_run(&w, &e), 0);
    const char *r2[] = {t->clinic, t->app, t->lab};
    publish(f, t, CARE_CATS | BIT(CONSENT_CAT_GENOME), r2, 3, NULL); /* widening */
}

static void reload_gives_the_same_decisions(void **state)
{
    struct fx *f = *state;
    struct town *t = the_town;
    history(f, t);
    char live[1024], loaded[1024];
    decisions_grid(t->ix, t, live, sizeof live);
    assert_non_null(strchr(live, 'P'));
    struct err e = {0};
    struct consent_index *again = consent_index_load(f->s, &e);
    assert_non_null(again);
    struct consent_index *keep = t->ix;
    decisions_grid(again, t, loaded, sizeof loaded);
    assert_string_equal(live, loaded);
    struct consent_index_stats s1, s2;
    consent_index_stats(keep, &s1);
    consent_index_stats(again, &s2);
    assert_int_equal(s1.consents, s2.consents);
    assert_int_equal(s1.consents, 2);
    assert_int_equal(s1.links, s2.links);
    assert_int_equal(s1.change_seq, s2.change_seq);
    consent_index_free(again);
}

static void another_process_catches_up_by_polling(void **state)
{
    struct fx *f = *state;
    struct town *t = the_town;
    struct err e = {0};
    struct consent_index *other = consent_index_load(f->s, &e); /* "the second process" */
    assert_non_null(other);
    history(f, t);
    char mine[1024], theirs[1024];
    decisions_grid(t->ix, t, mine, sizeof mine);
    decisions_grid(other, t, theirs, sizeof theirs);
    assert_string_not_equal(mine, theirs);
    int changes = consent_index_poll(other, f->s, &e);
    assert_true(changes >= 7);
    decisions_grid(other, t, theirs, sizeof theirs);
    assert_string_equal(mine, theirs);
    assert_int_equal(consent_index_poll(other, f->s, &e), 0);
    /* a family link added by the identity module is found by its creation time */
    char niece[IDS_LEN + 1];
    add_person(f->s, niece, "1999-09-09");
    add_link(f->s, t->citizen, niece, "everything", clock_now_ms());
    assert_true(consent_index_poll(other, f->s, &e) >= 0);
    struct consent_query q = {.actor_kind = ID_PRINCIPAL_DELEGATE,
                              .actor_id = niece,
                              .acting_for = t->citizen,
                              .subject = t->citizen,
                              .category = CONSENT_CAT_GENOME,
                              .action = CONSENT_WRITE,
                              .now_ms = clock_now_ms()};
    struct consent_decision d;
    consent_decide(other, &q, &d);
    assert_int_equal(d.effect, CONSENT_PERMIT);
    /* this process's own writes need no reload: the poll position moved with them */
    struct consent_index_stats st;
    consent_index_stats(t->ix, &st);
    assert_int_equal(st.change_seq, count(f, "SELECT MAX(seq) FROM consent_change"));
    consent_index_free(other);
}

/* consent_index_sync: what `cityos serve` runs before each authenticated request */
static void another_process_syncs_before_deciding(void **state)
{
    struct fx *f = *state;
    struct town *t = the_town;
    struct err e = {0};
    struct consent_index *other = consent_index_load(f->s, &e); /* "the second process" */
    assert_non_null(other);
    assert_int_equal(consent_index_sync(other, f->s, &e), 0); /* nothing new: no poll */
    history(f, t);
    char mine[1024], theirs[1024];
    decisions_grid(t->ix, t, mine, sizeof mine);
    decisions_grid(other, t, theirs, sizeof theirs);
    assert_string_not_equal(mine, theirs);
    assert_int_equal(consent_index_sync(other, f->s, &e), 0);
    decisions_grid(other, t, theirs, sizeof theirs);
    assert_string_equal(mine, theirs);
    struct consent_index_stats st;
    consent_index_stats(other, &st);
    assert_int_equal(st.change_seq, count(f, "SELECT MAX(seq) FROM consent_change"));
    /* caught up: the poll has nothing left */
    assert_int_equal(consent_index_poll(other, f->s, &e), 0);
    consent_index_free(other);
}

static void a_failed_commit_is_undone_in_memory(void **state)
{
    struct fx *f = *state;
    struct town *t = the_town;
    const char *r[] = {t->clinic};
    publish(f, t, CARE_CATS, r, 1, NULL);
    struct consent_write g = grant_w(f, t, CONSENT_TO_ORGANISATION, t->clinic, CARE_CATS, 1);
    struct err e = {0};
    assert_int_equal(consent_write_run(&g, &e), 0);
    /* a withdrawal applied in memory whose commit then failed */
    assert_int_equal(consent_index_remove_consent(t->ix, t->citizen, g.id), 0);
    assert_false(decide_org(t, t->clinic, CONSENT_CAT_VITALS));
    struct consent_write w = g;
    w.op = CONSENT_OP_WITHDRAW;
    w.consent_id = g.id;
    consent_write_finish(&w, ERR_IO);
    assert_true(decide_org(t, t->clinic, CONSENT_CAT_VITALS));
    /* a grant whose commit failed is never seen */
    struct consent_write h = grant_w(f, t, CONSENT_TO_ORGANISATION, t->lab, CARE_CATS, 1);
    h.applied = g.applied;
    consent_write_finish(&h, ERR_IO);
    assert_false(decide_org(t, t->lab, CONSENT_CAT_VITALS));
}

/* A reload (another process's change, a new family link) reads the store: while a withdrawal
 * is in memory but not yet committed, the store still has the consent, and putting that back
 * would permit again until the next reload. */
static void a_reload_never_undoes_a_withdrawal_before_its_commit(void **state)
{
    struct fx *f = *state;
    struct town *t = the_town;
    const char *r[] = {t->clinic};
    publish(f, t, CARE_CATS, r, 1, NULL);
    struct consent_write g = grant_w(f, t, CONSENT_TO_ORGANISATION, t->clinic, CARE_CATS, 1);
    struct err e = {0};
    assert_int_equal(consent_write_run(&g, &e), 0);
    assert_true(decide_org(t, t->clinic, CONSENT_CAT_VITALS));
    /* what withdraw_fn does inside the write, before the commit */
    consent__write_begin(t->ix, t->citizen);
    assert_int_equal(consent_index_remove_consent(t->ix, t->citizen, g.id), 0);
    assert_false(decide_org(t, t->clinic, CONSENT_CAT_VITALS));
    assert_int_equal(consent_index_reload_subject(t->ix, f->s, t->citizen, &e),
                     CONSENT_RELOAD_DEFERRED);
    assert_false(decide_org(t, t->clinic, CONSENT_CAT_VITALS));
    /* a new family link makes the poll reload the citizen: deferred too, and the poll keeps
     * its position so that it reads them again next time */
    char niece[IDS_LEN + 1];
    add_person(f->s, niece, "1999-09-09");
    add_link(f->s, t->citizen, niece, "see_alerts", clock_now_ms());
    struct consent_index_stats before, after;
    consent_index_stats(t->ix, &before);
    assert_true(consent_index_poll(t->ix, f->s, &e) >= 0);
    consent_index_stats(t->ix, &after);
    assert_false(decide_org(t, t->clinic, CONSENT_CAT_VITALS));
    assert_int_equal(after.change_seq, before.change_seq);
    /* the write ends (here: its commit failed, so the store's consent is the truth again) */
    consent__write_end(t->ix, t->citizen);
    assert_int_equal(consent_index_reload_subject(t->ix, f->s, t->citizen, &e), 0);
    assert_true(decide_org(t, t->clinic, CONSENT_CAT_VITALS));
}

/* ---- the race: a reader in a loop against a withdrawal ---- */

struct race {
    struct town *t;
    atomic_int withdrawn_returned; /* set by the writer after consent_write_run returned */
    atomic_int stop;
};

struct reader_counts { /* one per reader thread */
    struct race *race;
    atomic_long permits_before, permits_after, denies_after;
};

static void *reader(void *arg)
{
    struct reader_counts *r = arg;
    struct town *t = r->race->t;
    struct consent_query q = {.actor_kind = ID_PRINCIPAL_CLIENT,
                              .client_id = t->app,
                              .subject = t->citizen,
                              .category = CONSENT_CAT_VITALS,
                              .action = CONSENT_READ};
    while (!atomic_load(&r->race->stop)) {
        int after = atomic_load(&r->race->withdrawn_returned); /* read BEFORE deciding */
        q.now_ms = clock_now_ms();
        struct consent_decision d;
        consent_decide(t->ix, &q, &d);
        if (d.effect == CONSENT_PERMIT)
            after ? r->permits_after++ : r->permits_before++;
        else if (after)
            r->denies_after++;
    }
    return NULL;
}

static void no_read_is_permitted_after_the_withdrawal_returns(void **state)
{
    struct fx *f = *state;
    struct town *t = the_town;
    const char *r[] = {t->app};
    publish(f, t, CARE_CATS, r, 1, NULL);
    for (int round = 0; round < 5; round++) {
        struct consent_write g = grant_w(f, t, CONSENT_TO_CLIENT, t->app, CARE_CATS, 1);
        struct err e = {0};
        assert_int_equal(consent_write_run(&g, &e), 0);
        struct race race = {.t = t};
        struct reader_counts counts[2] = {{.race = &race}, {.race = &race}};
        pthread_t th[2];
        for (int i = 0; i < 2; i++)
            assert_int_equal(pthread_create(&th[i], NULL, reader, &counts[i]), 0);
        /* both readers have been permitted before the withdrawal starts (bounded: 10 s) */
        struct timespec ts = {0, 1000 * 1000};
        for (int waited = 0; waited < 10000 && (atomic_load(&counts[0].permits_before) == 0 ||
                                                atomic_load(&counts[1].permits_before) == 0);
             waited++)
            nanosleep(&ts, NULL);
        struct consent_write w = g;
        w.op = CONSENT_OP_WITHDRAW;
        w.consent_id = g.id;
        assert_int_equal(consent_write_run(&w, &e), 0);
        atomic_store(&race.withdrawn_returned, 1);
        for (int waited = 0; waited < 10000 && (atomic_load(&counts[0].denies_after) == 0 ||
                                                atomic_load(&counts[1].denies_after) == 0);
             waited++)
            nanosleep(&ts, NULL);
        atomic_store(&race.stop, 1);
        for (int i = 0; i < 2; i++)
            pthread_join(th[i], NULL);
        for (int i = 0; i < 2; i++) {
            assert_true(counts[i].permits_before > 0);
            assert_true(counts[i].denies_after > 0);
            assert_int_equal(counts[i].permits_after, 0);
        }
    }
}

/* ---- break-glass ---- */

static void break_glass_tells_the_citizen(void **state)
{
    struct fx *f = *state;
    struct town *t = the_town;
    struct audit_event ev = {.actor_kind = AUDIT_ACTOR_PRACTITIONER,
                             .actor_id = t->stranger,
                             .actor_org = t->hospital,
                             .actor_role = "doctor",
                             .subject = t->citizen,
                             .action = "read",
                             .resource_type = "MedicationRequest",
                             .category = "medications",
                             .decision = AUDIT_PERMIT,
                             .decided_by = "rule:break-glass",
                             .reason = "unconscious in the emergency room"};
    struct consent_break_glass b = {.ev = &ev, .actor_desc = "a doctor of the hospital"};
    struct err e = {0};
    assert_int_equal(store_write(f->s, consent_break_glass_fn, &b, &e), 0);
    struct consent_inbox_item *items;
    size_t n;
    assert_int_equal(consent_inbox_list(f->s, t->citizen, 1, f->a, &items, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_string_equal(items[0].kind, "break_glass_notice");
    assert_non_null(strstr(items[0].detail, "unconscious in the emergency room"));
    assert_int_equal(count(f, "SELECT COUNT(*) FROM audit_entry WHERE decided_by = "
                              "'rule:break-glass'"),
                     1);
}

/* ---- the city services' notices ---- */

struct notice_write {
    const struct consent_inbox_notice *n;
    int added;
};

static int notify_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct notice_write *w = ctx;
    return consent_inbox_notify(tx, w->n, 1700000000000, &w->added, e);
}

static void a_notice_is_added_once_per_key(void **state)
{
    struct fx *f = *state;
    struct town *t = the_town;
    struct consent_inbox_notice n = {.subject = t->citizen,
                                     .source = "visits",
                                     .ref = "Appointment/a1",
                                     .text_ja = "予約が確定しました",
                                     .text_en = "Your appointment is booked",
                                     .dedupe_key = "visits.booked.a1"};
    struct notice_write w = {.n = &n};
    struct err e = {0};
    assert_int_equal(store_write(f->s, notify_fn, &w, &e), 0);
    assert_int_equal(w.added, 1);
    assert_int_equal(store_write(f->s, notify_fn, &w, &e), 0); /* a redelivered event */
    assert_int_equal(w.added, 0);
    n.dedupe_key = NULL; /* no key: every call adds one */
    assert_int_equal(store_write(f->s, notify_fn, &w, &e), 0);
    assert_int_equal(w.added, 1);
    struct consent_inbox_item *items;
    size_t count_items;
    assert_int_equal(consent_inbox_list(f->s, t->citizen, 1, f->a, &items, &count_items, &e), 0);
    assert_int_equal(count_items, 2);
    assert_string_equal(items[0].kind, "notice");
    assert_string_equal(items[0].source, "visits");
    assert_string_equal(items[0].ref, "Appointment/a1");
    assert_string_equal(items[0].text_ja, "予約が確定しました");
    assert_string_equal(items[0].detail, "Your appointment is booked");
}

static void a_malformed_notice_stores_nothing(void **state)
{
    struct fx *f = *state;
    struct town *t = the_town;
    char long_text[1002];
    memset(long_text, 'x', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    const struct consent_inbox_notice bad[] = {
        {.subject = "nobody", .source = "visits", .text_ja = "a", .text_en = "a"},
        {.subject = t->citizen, .source = "Visits", .text_ja = "a", .text_en = "a"},
        {.subject = t->citizen, .source = "", .text_ja = "a", .text_en = "a"},
        {.subject = t->citizen, .source = "visits", .text_ja = "", .text_en = "a"},
        {.subject = t->citizen, .source = "visits", .text_ja = "a", .text_en = NULL},
        {.subject = t->citizen, .source = "visits", .text_ja = long_text, .text_en = "a"},
        {.subject = t->citizen, .source = "visits", .text_ja = "\xff", .text_en = "a"},
        {.subject = t->citizen, .source = "visits", .text_ja = "a", .text_en = "a", .ref = ""},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct notice_write w = {.n = &bad[i]};
        struct err e = {0};
        assert_int_equal(store_write(f->s, notify_fn, &w, &e), ERR_INVALID);
    }
    assert_int_equal(count(f, "SELECT COUNT(*) FROM inbox_item WHERE kind = 'notice'"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(compare_detects_widening_and_narrowing),
        cmocka_unit_test_setup_teardown(explanation_hash_is_the_documented_encoding, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(publish_versions_and_reconsent_items, setup, teardown),
        cmocka_unit_test_setup_teardown(publish_refusals_store_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(grant_records_everything_in_one_write, setup, teardown),
        cmocka_unit_test_setup_teardown(grant_refusals_store_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(narrow_then_withdraw, setup, teardown),
        cmocka_unit_test_setup_teardown(reload_gives_the_same_decisions, setup, teardown),
        cmocka_unit_test_setup_teardown(another_process_catches_up_by_polling, setup, teardown),
        cmocka_unit_test_setup_teardown(another_process_syncs_before_deciding, setup, teardown),
        cmocka_unit_test_setup_teardown(a_failed_commit_is_undone_in_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(a_reload_never_undoes_a_withdrawal_before_its_commit, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(no_read_is_permitted_after_the_withdrawal_returns, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(break_glass_tells_the_citizen, setup, teardown),
        cmocka_unit_test_setup_teardown(a_notice_is_added_once_per_key, setup, teardown),
        cmocka_unit_test_setup_teardown(a_malformed_notice_stores_nothing, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

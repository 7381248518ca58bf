/* test_invoice.c - visits_invoice_issue (the FHIR Invoice, its audit entry, inbox notice and
 * "invoice.issued" event in one write; idempotent by key; refusals store nothing) and the
 * "invoice.paid" handler (balanced once; mismatches ignored), on a fresh store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/ids.h"
#include "base/log.h"
#include "events/event.h"
#include "identity/person.h"
#include "identity/principal.h"
#include "services/visits/visits.h"
#include "support/fixture.h"

static char person[IDS_LEN + 1], org[IDS_LEN + 1];

static int setup(void **state)
{
    if (fx_setup_in(state, "visits-invoice") != 0)
        return -1;
    struct fx *f = *state;
    struct id_person_new p = {.family_name_kanji = "会津",
                              .given_name_kanji = "太郎",
                              .family_name_kana = "アイヅ",
                              .given_name_kana = "タロウ",
                              .birth_date = "1955-04-12",
                              .sex = ID_SEX_MALE,
                              .district = "湊",
                              .assurance = ID_ASSURANCE_CARD};
    struct err e = {0};
    if (id_person_create(f->s, &p, person, &e) != 0)
        return -1;
    ids_new(org);
    struct config cfg;
    memset(&cfg, 0, sizeof cfg);
    if (visits_register(f->s, &cfg, &e) != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    visits_stop();
    event_handlers_clear();
    return fx_teardown(state);
}

static struct id_principal doctor(void)
{
    static char doc[IDS_LEN + 1];
    ids_new(doc);
    struct id_principal p;
    memset(&p, 0, sizeof p);
    p.kind = ID_PRINCIPAL_PRACTITIONER;
    ids_new(p.client_id);
    p.subject_id = doc;
    p.org_id = org;
    p.role = "doctor";
    return p;
}

static struct visits_invoice_new charge(const struct id_principal *p, int64_t amount,
                                        const char *key)
{
    struct visits_invoice_new in = {.subject = person,
                                    .issuer_org = org,
                                    .amount = amount,
                                    .purpose = "clinic-fees",
                                    .description = "オンライン診療 (再診)",
                                    .key = key,
                                    .actor = p};
    return in;
}

static int64_t count(struct fx *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int64_t count(struct fx *f, const char *fmt, ...)
{
    char sql[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    return fx_count(f, sql);
}

static void issue_writes_everything_once(void **state)
{
    struct fx *f = *state;
    struct id_principal p = doctor();
    struct visits_invoice_new in = charge(&p, 1500, "visits.consult.A1");
    char id[FHIR_ID_MAX + 1] = "", again[FHIR_ID_MAX + 1] = "";
    struct err e = {0};
    assert_int_equal(visits_invoice_issue(f->s, &in, id, &e), 0);
    assert_true(fhir_id_valid(id));
    assert_int_equal(count(f,
                           "SELECT COUNT(*) FROM fhir_resource WHERE rtype = 'Invoice' AND id = "
                           "'%s' AND body LIKE '%%\"status\":\"issued\"%%' AND category = "
                           "'payments'",
                           id),
                     1);
    assert_int_equal(count(f,
                           "SELECT COUNT(*) FROM event_outbox WHERE kind = 'invoice.issued' AND "
                           "ref = 'Invoice/%s' AND payload LIKE '%%\"amount\":1500%%'",
                           id),
                     1);
    assert_int_equal(count(f,
                           "SELECT COUNT(*) FROM audit_entry WHERE subject = '%s' AND "
                           "resource_type = 'Invoice' AND decided_by = 'rule:issuer-bills'",
                           person),
                     1);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM inbox_item WHERE subject_id = '%s'", person),
                     1);
    /* the same key and details: the same invoice, nothing new */
    assert_int_equal(visits_invoice_issue(f->s, &in, again, &e), 0);
    assert_string_equal(id, again);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM fhir_resource WHERE rtype = 'Invoice'"), 1);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM event_outbox"), 1);
    /* the same key, another amount: a conflict */
    in.amount = 1600;
    assert_int_equal(visits_invoice_issue(f->s, &in, again, &e), ERR_CONFLICT);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM event_outbox"), 1);
}

static void bad_input_is_refused_and_nothing_stored(void **state)
{
    struct fx *f = *state;
    struct id_principal p = doctor();
    char id[FHIR_ID_MAX + 1];
    struct err e = {0};
    struct visits_invoice_new in;
    in = charge(&p, 0, "k1");
    assert_int_equal(visits_invoice_issue(f->s, &in, id, &e), ERR_INVALID);
    in = charge(&p, -5, "k1");
    assert_int_equal(visits_invoice_issue(f->s, &in, id, &e), ERR_INVALID);
    in = charge(&p, VISITS_AMOUNT_MAX + 1LL, "k1");
    assert_int_equal(visits_invoice_issue(f->s, &in, id, &e), ERR_INVALID);
    in = charge(&p, 100, "");
    assert_int_equal(visits_invoice_issue(f->s, &in, id, &e), ERR_INVALID);
    in = charge(&p, 100, "a key with spaces");
    assert_int_equal(visits_invoice_issue(f->s, &in, id, &e), ERR_INVALID);
    in = charge(&p, 100, "k1");
    in.purpose = "taxi-fees";
    assert_int_equal(visits_invoice_issue(f->s, &in, id, &e), ERR_INVALID);
    in = charge(&p, 100, "k1");
    in.description = "";
    assert_int_equal(visits_invoice_issue(f->s, &in, id, &e), ERR_INVALID);
    in = charge(&p, 100, "k1");
    in.description = "\xff\xfe";
    assert_int_equal(visits_invoice_issue(f->s, &in, id, &e), ERR_INVALID);
    in = charge(&p, 100, "k1");
    in.subject = "not-an-id";
    assert_int_equal(visits_invoice_issue(f->s, &in, id, &e), ERR_INVALID);
    in = charge(&p, 100, "k1");
    in.issuer_org = NULL;
    assert_int_equal(visits_invoice_issue(f->s, &in, id, &e), ERR_INVALID);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM fhir_resource"), 0);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM event_outbox"), 0);
}

static int paid(struct fx *f, const char *invoice, int64_t amount, int64_t seq)
{
    char pl[256];
    snprintf(pl, sizeof pl,
             "{\"invoice\":\"%s\",\"issuer\":\"%s\",\"transfer\":\"T-%lld\",\"amount\":%lld}",
             invoice, org, (long long)seq, (long long)amount);
    struct event ev = {.seq = seq, .kind = "invoice.paid", .subject = person, .payload = pl};
    struct err e = {0};
    return visits_on_invoice_paid(&ev, f->s, &e);
}

static void paid_sets_balanced_once(void **state)
{
    struct fx *f = *state;
    struct id_principal p = doctor();
    struct visits_invoice_new in = charge(&p, 2200, "pharmacy.dispense.X");
    in.purpose = "pharmacy-fees";
    char id[FHIR_ID_MAX + 1];
    struct err e = {0};
    assert_int_equal(visits_invoice_issue(f->s, &in, id, &e), 0);
    /* a mismatched amount and an unknown invoice are ignored (handled, nothing changed) */
    assert_int_equal(paid(f, id, 2000, 7), 0);
    assert_int_equal(paid(f, "unknown-invoice", 2200, 8), 0);
    assert_int_equal(paid(f, "bad id!", 2200, 8), 0);
    assert_int_equal(count(f, "SELECT MAX(version) FROM fhir_resource WHERE id = '%s'", id), 1);
    assert_int_equal(paid(f, id, 2200, 9), 0);
    assert_int_equal(count(f,
                           "SELECT COUNT(*) FROM fhir_resource WHERE id = '%s' AND version = 2 "
                           "AND body LIKE '%%\"status\":\"balanced\"%%'",
                           id),
                     1);
    assert_int_equal(paid(f, id, 2200, 9), 0); /* redelivered: nothing more */
    assert_int_equal(count(f, "SELECT MAX(version) FROM fhir_resource WHERE id = '%s'", id), 2);
    assert_int_equal(count(f,
                           "SELECT COUNT(*) FROM visits_invoice WHERE invoice_id = '%s' AND "
                           "status = 'balanced' AND transfer = 'T-9'",
                           id),
                     1);
    /* a malformed payload is dropped, never retried */
    struct event ev = {.seq = 10, .kind = "invoice.paid", .payload = "{not json"};
    assert_int_equal(visits_on_invoice_paid(&ev, f->s, &e), 0);
}

int main(void)
{
    log_set_level(LOGL_WARN);
    if (ids_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(issue_writes_everything_once, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_input_is_refused_and_nothing_stored, setup, teardown),
        cmocka_unit_test_setup_teardown(paid_sets_balanced_once, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_booking.c - the booking transactions on a fresh store: a booking writes its rows, FHIR
 * resources, event and notice; a second booking of the slot is refused and changes nothing; a
 * cancellation frees the slot for the next; a reschedule moves in one write; the day-before
 * reminder is sent once, however often the scan runs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "audit/actor.h"
#include "base/clock.h"
#include "base/log.h"
#include "identity/person.h"
#include "identity/principal.h"
#include "services/visits/internal.h"
#include "support/fixture.h"

static char person[IDS_LEN + 1], org[IDS_LEN + 1], doc[IDS_LEN + 1];
static char slots[4][IDS_LEN + 1];
static int64_t day; /* 00:00 Tokyo, two days ahead */

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

static int setup(void **state)
{
    if (fx_setup_in(state, "visits-booking") != 0)
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
    ids_new(doc);
    day = visits_day_start(clock_now_ms()) + 2 * VISITS_DAY_MS;
    int64_t starts[4];
    if (visits_slot_starts(day, 9 * 60, 10 * 60, 15, starts, 4) != 4)
        return -1;
    struct visits__open o = {.org = org,
                             .practitioner = doc,
                             .specialty = "internal-medicine",
                             .modes = VISITS_BOTH,
                             .step_min = 15,
                             .starts = starts,
                             .n = 4,
                             .ids = slots,
                             .now_ms = clock_now_ms()};
    if (store_write(f->s, visits__open_fn, &o, &e) != 0 || o.created != 4)
        return -1;
    return 0;
}

static void booking(struct visits__book *b, const char *slot, int mode)
{
    memset(b, 0, sizeof *b);
    int64_t now = clock_now_ms();
    ids_new_ordered(b->appt.id, now);
    snprintf(b->appt.subject_id, sizeof b->appt.subject_id, "%s", person);
    snprintf(b->appt.slot_id, sizeof b->appt.slot_id, "%s", slot);
    snprintf(b->appt.booked_by, sizeof b->appt.booked_by, "%s", person);
    b->appt.mode = mode;
    if (mode == VISITS_ONLINE)
        snprintf(b->appt.room, sizeof b->appt.room, "00112233445566778899aabbccddeeff");
    b->do_book = 1;
    b->now_ms = now;
    /* static: the audit event keeps pointers into the principal until the write is done */
    static struct id_principal p;
    memset(&p, 0, sizeof p);
    p.kind = ID_PRINCIPAL_PERSON;
    ids_new(p.client_id);
    p.subject_id = person;
    struct err e = {0};
    assert_int_equal(audit_event_from_principal(&p, &b->ev, &e), 0);
    b->ev.decision = AUDIT_PERMIT;
    b->ev.decided_by = "rule:self";
}

static void one_booking_per_slot(void **state)
{
    struct fx *f = *state;
    struct visits__book b, again;
    struct err e = {0};
    booking(&b, slots[0], VISITS_ONLINE);
    int rc = store_write(f->s, visits__book_fn, &b, &e);
    if (rc != 0)
        print_error("booking: %s\n", e.msg);
    assert_int_equal(rc, 0);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM visits_booking WHERE slot_id = '%s'", slots[0]),
                     1);
    assert_int_equal(
        count(f, "SELECT COUNT(*) FROM visits_slot WHERE id = '%s' AND status = 'busy'", slots[0]),
        1);
    assert_int_equal(count(f,
                           "SELECT COUNT(*) FROM fhir_resource WHERE rtype = 'Appointment' AND "
                           "subject = '%s' AND category = 'appointments'",
                           person),
                     1);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM event_outbox WHERE kind = "
                              "'appointment.booked' AND payload LIKE '%%\"start\":\"%%+09:00\"%%'"),
                     1);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM inbox_item WHERE subject_id = '%s'", person),
                     1);
    /* a second booking of the slot: refused, nothing written */
    booking(&again, slots[0], VISITS_IN_PERSON);
    assert_int_equal(store_write(f->s, visits__book_fn, &again, &e), ERR_CONFLICT);
    assert_non_null(again.refusal);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM visits_appointment"), 1);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM event_outbox"), 1);
    /* an unknown slot */
    booking(&again, "0000000000aaaaaaaaaaaaaaaa", VISITS_IN_PERSON);
    assert_int_equal(store_write(f->s, visits__book_fn, &again, &e), ERR_NOTFOUND);
    /* cancel: the slot is free and booked again by the next */
    struct visits_appt_row old;
    assert_int_equal(visits__appt_get(f->s, NULL, b.appt.id, &old, &e), 1);
    struct visits__book c;
    booking(&c, slots[0], VISITS_ONLINE);
    c.do_book = 0;
    c.old = &old;
    c.cancel_reason = "体調不良";
    assert_int_equal(store_write(f->s, visits__book_fn, &c, &e), 0);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM visits_booking"), 0);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM event_outbox WHERE kind = "
                              "'appointment.cancelled' AND payload LIKE '%%体調不良%%'"),
                     1);
    /* cancelling twice is a conflict */
    assert_int_equal(store_write(f->s, visits__book_fn, &c, &e), ERR_CONFLICT);
    booking(&again, slots[0], VISITS_IN_PERSON);
    assert_int_equal(store_write(f->s, visits__book_fn, &again, &e), 0);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM visits_booking WHERE slot_id = '%s'", slots[0]),
                     1);
}

static void reschedule_moves_in_one_write(void **state)
{
    struct fx *f = *state;
    struct visits__book b;
    struct err e = {0};
    booking(&b, slots[1], VISITS_IN_PERSON);
    assert_int_equal(store_write(f->s, visits__book_fn, &b, &e), 0);
    struct visits_appt_row old;
    assert_int_equal(visits__appt_get(f->s, NULL, b.appt.id, &old, &e), 1);
    /* onto a taken slot: nothing changes, the old one stays booked */
    struct visits__book taken;
    booking(&taken, slots[2], VISITS_IN_PERSON);
    assert_int_equal(store_write(f->s, visits__book_fn, &taken, &e), 0);
    struct visits__book r;
    booking(&r, slots[2], VISITS_IN_PERSON);
    r.old = &old;
    assert_int_equal(store_write(f->s, visits__book_fn, &r, &e), ERR_CONFLICT);
    assert_int_equal(count(f,
                           "SELECT COUNT(*) FROM visits_appointment WHERE id = '%s' AND status = "
                           "'booked'",
                           old.id),
                     1);
    booking(&r, slots[3], VISITS_IN_PERSON);
    r.old = &old;
    assert_int_equal(store_write(f->s, visits__book_fn, &r, &e), 0);
    assert_int_equal(
        count(f, "SELECT COUNT(*) FROM visits_slot WHERE id = '%s' AND status = 'free'", slots[1]),
        1);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM event_outbox WHERE kind = "
                              "'appointment.cancelled' AND payload LIKE '%%rescheduled%%'"),
                     1);
}

static void reminder_once_the_day_before(void **state)
{
    struct fx *f = *state;
    struct visits__book b;
    struct err e = {0};
    booking(&b, slots[0], VISITS_ONLINE);
    assert_int_equal(store_write(f->s, visits__book_fn, &b, &e), 0);
    int sent = -1;
    /* two days ahead at 08:59 the day before: not yet */
    int64_t eve = day - VISITS_DAY_MS;
    assert_int_equal(visits_reminder_scan(f->s, eve + 9 * 3600 * 1000LL - 60000, &sent, &e), 0);
    assert_int_equal(sent, 0);
    assert_int_equal(visits_reminder_scan(f->s, eve + 9 * 3600 * 1000LL, &sent, &e), 0);
    assert_int_equal(sent, 1);
    assert_int_equal(visits_reminder_scan(f->s, eve + 10 * 3600 * 1000LL, &sent, &e), 0);
    assert_int_equal(sent, 0);
    char key[128], d[VISITS_DATE_LEN];
    snprintf(key, sizeof key, "visits.reminder.%s.%s", b.appt.id, visits_date_format(day, d));
    assert_int_equal(count(f, "SELECT COUNT(*) FROM inbox_item WHERE dedupe_key = '%s'", key), 1);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM inbox_item WHERE subject_id = '%s'", person),
                     2);
}

int main(void)
{
    log_set_level(LOGL_WARN);
    if (ids_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(one_booking_per_slot, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(reschedule_moves_in_one_write, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(reminder_once_the_day_before, setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

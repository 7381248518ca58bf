/* booking.c - booking, cancelling and rescheduling an appointment in one transaction each
 * (internal.h): the booking row whose primary key is the slot (so two bookings of one slot can
 * never both commit, however many clients race), the slot's status, the appointment's row, the
 * FHIR Appointment (on the patient's trail) and Slot, the "appointment.booked" /
 * "appointment.cancelled" events and the citizen's inbox notice. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonx.h"
#include "consent/consent.h"
#include "events/event.h"
#include "services/visits/internal.h"

static int append_event(struct store_tx *tx, const char *kind, const char *subject,
                        const char *appt, json_t *pl, int64_t now_ms, struct err *e)
{
    char *text = pl != NULL ? jsonx_dumps(pl, NULL) : NULL;
    json_decref(pl);
    if (text == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    char ref[IDS_LEN + 16];
    snprintf(ref, sizeof ref, "Appointment/%s", appt);
    int rc = event_append(tx, kind, subject, ref, text, now_ms, NULL, e);
    free(text);
    return rc;
}

static int notify(struct store_tx *tx, const char *subject, const char *appt, const char *what,
                  const char *ja, const char *en, int64_t now_ms, struct err *e)
{
    char ref[IDS_LEN + 16], key[IDS_LEN + 32];
    snprintf(ref, sizeof ref, "Appointment/%s", appt);
    snprintf(key, sizeof key, "visits.%s.%s", what, appt);
    struct consent_inbox_notice n = {subject, "visits", ref, ja, en, key};
    return consent_inbox_notify(tx, &n, now_ms, NULL, e);
}

static int put_slot(struct store_tx *tx, const char *slot_id, int busy, int64_t now_ms,
                    struct visits_slot_row *out, struct err *e)
{
    int rc = visits__slot_get(NULL, tx, slot_id, out, e);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return err_set(e, ERR_NOTFOUND, "slot %s is gone", slot_id);
    out->busy = busy;
    json_t *r = visits__fhir_slot(out);
    rc = visits__fhir_put(tx, "Slot", slot_id, r, 0, NULL, NULL, NULL, now_ms, e);
    json_decref(r);
    return rc;
}

static int cancel_part(struct store_tx *tx, struct visits__book *b, struct err *e)
{
    const struct visits_appt_row *old = b->old;
    struct store_value v[] = {STORE_INT_V(b->now_ms),
                              b->cancel_reason != NULL ? STORE_TEXT_V(b->cancel_reason)
                                                       : STORE_NULL_V,
                              STORE_TEXT_V(old->id), STORE_TEXT_V(old->subject_id)};
    int rc = store_tx_exec(tx,
                           "UPDATE visits_appointment SET status = 'cancelled', updated_ms = ?, "
                           "reason = ? WHERE id = ? AND subject_id = ? AND status = 'booked'",
                           v, 4, e);
    if (rc < 0)
        return rc;
    if (rc == 0) {
        b->refusal = "the appointment is no longer booked";
        return err_set(e, ERR_CONFLICT, "%s", b->refusal);
    }
    struct store_value d[] = {STORE_TEXT_V(old->slot_id), STORE_TEXT_V(old->id)};
    rc = store_tx_exec(tx, "DELETE FROM visits_booking WHERE slot_id = ? AND appointment_id = ?", d,
                       2, e);
    if (rc < 0)
        return rc;
    struct store_value f[] = {STORE_TEXT_V(old->slot_id)};
    rc = store_tx_exec(tx, "UPDATE visits_slot SET status = 'free' WHERE id = ?", f, 1, e);
    if (rc < 0)
        return rc;
    json_t *appt = visits__stored_resource(tx, "Appointment", old->id, e);
    if (appt == NULL)
        return e->code;
    int bad = json_object_set_new(appt, "status", json_string("cancelled")) != 0;
    if (!bad && b->cancel_reason != NULL)
        bad = json_object_set_new(appt, "cancelationReason",
                                  json_pack("{s:s}", "text", b->cancel_reason)) != 0;
    if (bad) {
        json_decref(appt);
        return err_set(e, ERR_NOMEM, "out of memory");
    }
    rc = visits__fhir_put(tx, "Appointment", old->id, appt, 0, old->subject_id, "appointments",
                          &b->ev, b->now_ms, e);
    json_decref(appt);
    struct visits_slot_row slot;
    if (rc == 0)
        rc = put_slot(tx, old->slot_id, 0, b->now_ms, &slot, e);
    if (rc != 0)
        return rc;
    rc = append_event(tx, VISITS_EV_CANCELLED, old->subject_id, old->id,
                      json_pack("{s:s, s:s, s:s, s:I, s:s}", "appointment", old->id, "slot",
                                old->slot_id, "organization", old->org_id, "start_ms",
                                (json_int_t)old->start_ms, "reason",
                                b->cancel_reason != NULL ? b->cancel_reason
                                : b->do_book             ? "rescheduled"
                                                         : "cancelled by the patient"),
                      b->now_ms, e);
    if (rc != 0)
        return rc;
    char start[VISITS_INSTANT_LEN], ja[200], en[200];
    visits_instant_format(old->start_ms, start);
    snprintf(ja, sizeof ja, "%.10s %.5s の予約を取り消しました。", start, start + 11);
    snprintf(en, sizeof en, "Your appointment on %.10s at %.5s was cancelled.", start, start + 11);
    return notify(tx, old->subject_id, old->id, "cancelled", ja, en, b->now_ms, e);
}

static int book_part(struct store_tx *tx, struct visits__book *b, struct err *e)
{
    struct visits_appt_row *a = &b->appt;
    int rc = visits__slot_get(NULL, tx, a->slot_id, &b->slot, e);
    if (rc < 0)
        return rc;
    if (rc == 0) {
        b->refusal = "no such slot";
        return err_set(e, ERR_NOTFOUND, "%s", b->refusal);
    }
    if (b->slot.busy) {
        b->refusal = "the slot is already booked";
        return err_set(e, ERR_CONFLICT, "%s", b->refusal);
    }
    if (b->slot.start_ms <= b->now_ms) {
        b->refusal = "the slot has already started";
        return err_set(e, ERR_CONFLICT, "%s", b->refusal);
    }
    /* the guarantee: one booking row per slot (primary key), whatever else happens */
    struct store_value k[] = {STORE_TEXT_V(a->slot_id), STORE_TEXT_V(a->id),
                              STORE_INT_V(b->now_ms)};
    rc = store_tx_exec(tx,
                       "INSERT INTO visits_booking (slot_id, appointment_id, created_ms) VALUES "
                       "(?, ?, ?)",
                       k, 3, e);
    if (rc == ERR_CONFLICT)
        b->refusal = "the slot is already booked";
    if (rc < 0)
        return rc;
    struct store_value f[] = {STORE_TEXT_V(a->slot_id)};
    rc = store_tx_exec(
        tx, "UPDATE visits_slot SET status = 'busy' WHERE id = ? AND status = 'free'", f, 1, e);
    if (rc < 0)
        return rc;
    if (rc != 1) {
        b->refusal = "the slot is already booked";
        return err_set(e, ERR_CONFLICT, "%s", b->refusal);
    }
    snprintf(a->org_id, sizeof a->org_id, "%s", b->slot.org_id);
    snprintf(a->practitioner_id, sizeof a->practitioner_id, "%s", b->slot.practitioner_id);
    a->start_ms = b->slot.start_ms;
    a->end_ms = b->slot.end_ms;
    snprintf(a->status, sizeof a->status, "booked");
    a->created_ms = a->updated_ms = b->now_ms;
    struct store_value v[] = {STORE_TEXT_V(a->id),
                              STORE_TEXT_V(a->subject_id),
                              STORE_TEXT_V(a->slot_id),
                              STORE_TEXT_V(a->org_id),
                              STORE_TEXT_V(a->practitioner_id),
                              STORE_TEXT_V(visits_mode_name(a->mode)),
                              STORE_INT_V(a->start_ms),
                              STORE_INT_V(a->end_ms),
                              a->qr_id[0] != '\0' ? STORE_TEXT_V(a->qr_id) : STORE_NULL_V,
                              a->room[0] != '\0' ? STORE_TEXT_V(a->room) : STORE_NULL_V,
                              STORE_TEXT_V(a->booked_by),
                              STORE_INT_V(b->now_ms),
                              STORE_INT_V(b->now_ms)};
    rc = store_tx_exec(tx,
                       "INSERT INTO visits_appointment (id, subject_id, slot_id, org_id, "
                       "practitioner_id, mode, start_ms, end_ms, status, qr_id, room, booked_by, "
                       "created_ms, updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'booked', ?, ?, ?, "
                       "?, ?)",
                       v, 13, e);
    if (rc < 0)
        return rc;
    json_t *appt = visits__fhir_appointment(a, b->slot.specialty, b->comment, NULL);
    rc = visits__fhir_put(tx, "Appointment", a->id, appt, 1, a->subject_id, "appointments", &b->ev,
                          b->now_ms, e);
    json_decref(appt);
    struct visits_slot_row slot;
    if (rc == 0)
        rc = put_slot(tx, a->slot_id, 1, b->now_ms, &slot, e);
    if (rc != 0)
        return rc;
    char start[VISITS_INSTANT_LEN], end[VISITS_INSTANT_LEN];
    visits_instant_format(a->start_ms, start);
    visits_instant_format(a->end_ms, end);
    rc = append_event(tx, VISITS_EV_BOOKED, a->subject_id, a->id,
                      json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I}", "appointment",
                                a->id, "slot", a->slot_id, "practitioner", a->practitioner_id,
                                "organization", a->org_id, "mode", visits_mode_name(a->mode),
                                "start", start, "end", end, "start_ms", (json_int_t)a->start_ms,
                                "end_ms", (json_int_t)a->end_ms),
                      b->now_ms, e);
    if (rc != 0)
        return rc;
    char ja[300], en[300];
    int online = a->mode == VISITS_ONLINE;
    snprintf(ja, sizeof ja, "%.10s %.5s に%sの予約をしました。", start, start + 11,
             online ? "オンライン診療" : "受診");
    snprintf(en, sizeof en, "Your %s appointment is booked for %.10s at %.5s.",
             online ? "online" : "in-person", start, start + 11);
    return notify(tx, a->subject_id, a->id, "booked", ja, en, b->now_ms, e);
}

int visits__book_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct visits__book *b = ctx;
    b->refusal = NULL;
    int rc = 0;
    if (b->old != NULL)
        rc = cancel_part(tx, b, e);
    if (rc == 0 && b->do_book)
        rc = book_part(tx, b, e);
    return rc;
}

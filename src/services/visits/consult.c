/* consult.c - the consultation's writes (internal.h): starting it (the Encounter, class VR for an
 * online appointment, with the appointment "arrived"), finishing it (the doctor's notes as a
 * DiagnosticReport "Consult note", the Encounter finished, the appointment fulfilled, and the fee
 * charged through the FHIR Invoice), each in one transaction on the patient's trail. */
#include <stdio.h>
#include <string.h>

#include "base/clock.h"
#include "services/visits/internal.h"

static int set_status(struct store_tx *tx, const char *rtype, const char *id, const char *status,
                      const char *subject, const char *category, const struct audit_event *ev,
                      int64_t now_ms, int64_t end_ms, struct err *e)
{
    json_t *r = visits__stored_resource(tx, rtype, id, e);
    if (r == NULL)
        return e->code;
    int bad = json_object_set_new(r, "status", json_string(status)) != 0;
    if (!bad && end_ms > 0) {
        char end[40];
        json_t *period = json_object_get(r, "period");
        bad = !json_is_object(period) ||
              json_object_set_new(period, "end",
                                  json_string(clock_format_ms(end_ms, end, sizeof end))) != 0;
    }
    if (bad) {
        json_decref(r);
        return err_set(e, ERR_NOMEM, "out of memory");
    }
    int rc = visits__fhir_put(tx, rtype, id, r, 0, subject, category, ev, now_ms, e);
    json_decref(r);
    return rc;
}

static int start_fn(struct store_tx *tx, struct visits__consult *c, struct err *e)
{
    struct visits_appt_row *a = &c->appt;
    struct store_value v[] = {STORE_TEXT_V(c->encounter_id), STORE_INT_V(c->now_ms),
                              STORE_TEXT_V(a->id)};
    int rc = store_tx_exec(tx,
                           "UPDATE visits_appointment SET status = 'arrived', encounter_id = ?, "
                           "updated_ms = ? WHERE id = ? AND status = 'booked' AND encounter_id IS "
                           "NULL",
                           v, 3, e);
    if (rc < 0)
        return rc;
    if (rc == 0) {
        c->refusal = "the appointment is not waiting for its consultation";
        return err_set(e, ERR_CONFLICT, "%s", c->refusal);
    }
    json_t *enc = visits__fhir_encounter(a, c->encounter_id, "in-progress", c->now_ms, 0);
    rc = visits__fhir_put(tx, "Encounter", c->encounter_id, enc, 1, a->subject_id, "clinical",
                          &c->ev, c->now_ms, e);
    json_decref(enc);
    if (rc == 0)
        rc = set_status(tx, "Appointment", a->id, "arrived", a->subject_id, "appointments", &c->ev,
                        c->now_ms, 0, e);
    return rc;
}

static int finish_fn(struct store_tx *tx, struct visits__consult *c, struct err *e)
{
    struct visits_appt_row *a = &c->appt;
    int rc = 0;
    if (c->invoice != NULL && (rc = visits_invoice_write_fn(tx, c->invoice, e)) != 0)
        return rc;
    struct store_value v[] = {c->notes != NULL ? STORE_TEXT_V(c->report_id) : STORE_NULL_V,
                              c->invoice != NULL ? STORE_TEXT_V(c->invoice->id) : STORE_NULL_V,
                              STORE_INT_V(c->now_ms), STORE_TEXT_V(a->id),
                              STORE_TEXT_V(a->encounter_id)};
    rc = store_tx_exec(tx,
                       "UPDATE visits_appointment SET status = 'fulfilled', report_id = ?, "
                       "invoice_id = ?, updated_ms = ? WHERE id = ? AND status = 'arrived' AND "
                       "encounter_id = ?",
                       v, 5, e);
    if (rc < 0)
        return rc;
    if (rc == 0) {
        c->refusal = "the consultation is not in progress";
        return err_set(e, ERR_CONFLICT, "%s", c->refusal);
    }
    if (c->notes != NULL) {
        json_t *rep = visits__fhir_report(a, c->report_id, a->encounter_id, c->notes, c->now_ms);
        rc = visits__fhir_put(tx, "DiagnosticReport", c->report_id, rep, 1, a->subject_id,
                              "clinical", &c->ev, c->now_ms, e);
        json_decref(rep);
        if (rc != 0)
            return rc;
    }
    rc = set_status(tx, "Encounter", a->encounter_id, "finished", a->subject_id, "clinical", &c->ev,
                    c->now_ms, c->now_ms, e);
    if (rc == 0)
        rc = set_status(tx, "Appointment", a->id, "fulfilled", a->subject_id, "appointments",
                        &c->ev, c->now_ms, 0, e);
    return rc;
}

int visits__consult_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct visits__consult *c = ctx;
    c->refusal = NULL;
    return c->start ? start_fn(tx, c, e) : finish_fn(tx, c, e);
}

/* visits.h - the visit journey's booking, online consultation and invoices (issue 7 parts 2 and 3,
 * STORY.md S1 steps 3, 4, 7 and S5): practitioners' Schedules and Slots, Appointments booked,
 * cancelled and rescheduled by citizens and their delegates (one booking per slot, however many
 * race), reminders in the inbox, the virtual Encounter with its meeting link, the doctor's notes,
 * and the FHIR Invoice every charge of the city's services goes through. docs/internals/visits.md.
 */
#ifndef COS_VISITS_H
#define COS_VISITS_H

#include <stddef.h>
#include <stdint.h>

#include "base/config.h"
#include "base/err.h"
#include "fhir/resource.h"
#include "http/router.h"
#include "identity/principal.h"
#include "store/store.h"

/* Events (src/events/event.h; payloads in docs/internals/visits.md and the contract). */
#define VISITS_EV_BOOKED    "appointment.booked"
#define VISITS_EV_CANCELLED "appointment.cancelled"
#define VISITS_EV_INVOICE   "invoice.issued"
#define VISITS_EV_PAID      "invoice.paid"
#define VISITS_CONSUMER     "visits" /* consumer name of the invoice.paid handler: never change */

/* Identifier systems. */
#define VISITS_INVOICE_KEY_SYS "urn:cityos:invoice-key"
#define VISITS_PURPOSE_SYS     "urn:cityos:invoice-purpose"

#define VISITS_DESC_MAX    500       /* bytes of an invoice's description (UTF-8) */
#define VISITS_KEY_MAX     200       /* bytes of an invoice key: printable ASCII */
#define VISITS_AMOUNT_MAX  100000000 /* yen: one invoice at most */
#define VISITS_CLIENT_NAME "cityos visits service (予約・オンライン診療)"

/* ---- invoices (invoice.c) ---- */

/* One charge. Borrowed for the call. */
struct visits_invoice_new {
    const char *subject;     /* the patient: a person id */
    const char *issuer_org;  /* the organisation that charges: an organisation id */
    int64_t amount;          /* integer yen, 1 .. VISITS_AMOUNT_MAX */
    const char *purpose;     /* "clinic-fees" or "pharmacy-fees" */
    const char *description; /* 1 .. VISITS_DESC_MAX bytes of UTF-8 ("オンライン診療 ...") */
    const char *key;         /* idempotency key, 1 .. VISITS_KEY_MAX printable ASCII bytes; the
                              * caller's own namespace ("visits.consult.<appointment>",
                              * "pharmacy.dispense.<id>") */
    int64_t now_ms;          /* 0: now */
    /* who issues it, for the patient's audit trail: the doctor or pharmacist (a practitioner
     * principal of issuer_org), or a service client; NULL: the visits service's own client */
    const struct id_principal *actor;
    const char *request_id; /* X-Request-Id for the audit entry, or NULL */
};

/* Writes a FHIR Invoice (status "issued", subject Patient/<subject>, issuer
 * Organization/<issuer_org>, totalGross and totalNet in JPY, one lineItem with the description,
 * type coded in VISITS_PURPOSE_SYS, identifier VISITS_INVOICE_KEY_SYS|key), its audit entry on
 * the patient's trail (decided_by "rule:issuer-bills"), an inbox notice, and the event
 * "invoice.issued" {"invoice","issuer","amount","currency":"JPY","purpose","description"} (subject
 * the patient, ref "Invoice/<id>"), all in one transaction. Idempotent by key: the same key with
 * the same subject, issuer, amount and purpose gives the first invoice's id and writes nothing;
 * with anything else it is ERR_CONFLICT. Blocks until durable (call it from a worker thread or an
 * event handler, never from a store_write_fn: see visits_invoice_write_fn). Returns 0 with
 * id_out set, ERR_INVALID (e names the field), ERR_CONFLICT, or the store's error. */
int visits_invoice_issue(struct store *s, const struct visits_invoice_new *in,
                         char id_out[FHIR_ID_MAX + 1], struct err *e);

/* The same inside the caller's own write: prepare with visits_invoice_prepare() (checks in and
 * renders the resource; nothing stored), run visits_invoice_write_fn(tx, w, e) from the caller's
 * store_write_fn, then visits_invoice_release(). */
struct visits_invoice_write {
    struct visits_invoice_new in;
    struct audit_event actor_ev; /* the actor's fields */
    json_t *resource;            /* the rendered Invoice (owned) */
    /* out */
    char id[FHIR_ID_MAX + 1];
    int created; /* 1: written now; 0: the key's invoice already existed */
};
int visits_invoice_prepare(struct visits_invoice_write *w, const struct visits_invoice_new *in,
                           struct err *e);
int visits_invoice_write_fn(struct store_tx *tx, void *ctx, struct err *e);
void visits_invoice_release(struct visits_invoice_write *w);

/* The handler of "invoice.paid" {"invoice","issuer","transfer","amount"} (registered by
 * visits_register; public for tests): sets the Invoice's status to "balanced" (once: a second
 * delivery changes nothing) when the invoice is one issued through visits_invoice_issue and
 * the issuer and amount match; anything else is logged and dropped. */
struct event;
int visits_on_invoice_paid(const struct event *ev, void *ctx, struct err *e);

/* ---- the running service (invoice_service.c, reminder.c) ---- */

/* Finds or registers the service's OAuth client (the actor of what the service writes on its
 * own: a paid invoice, a reminder), registers the "invoice.paid" consumer, and starts the
 * reminder timer thread (a scan every 60 s; visits_reminder_scan). Call once before
 * event_worker_start(); visits_stop() before store_close(). Returns 0 or an ERR_* with e set. */
int visits_register(struct store *s, const struct config *cfg, struct err *e);

/* Stops the reminder thread (safe when not started). */
void visits_stop(void);

/* The client id the service acts as ("" before visits_register()). */
const char *visits_service_client_id(void);

/* One reminder pass: every booked appointment whose reminder is due at now_ms
 * (visits_reminder_due) and not yet sent gets an inbox notice (dedupe key
 * "visits.reminder.<appointment>.<YYYY-MM-DD>") and is marked reminded, in one write. *sent (may
 * be NULL): how many were sent. Returns 0 or the store's error. */
int visits_reminder_scan(struct store *s, int64_t now_ms, int *sent, struct err *e);

/* ---- the HTTP API (visits_api.c) ---- */

struct visits_api {
    struct store *store;
    char meeting_url[CONFIG_STR_MAX]; /* with "{room}" */
};

/* Registers the routes of docs/api.md "Visits". api must outlive the router. */
int visits_api_register(struct http_router *r, struct visits_api *api, struct store *s,
                        const struct config *cfg);

/* ---- the demo town (slot_seed.c) ---- */

/* Opens slots for the S1 cast: for the family doctor (doctor_id at clinic_id, specialty
 * "family-medicine", the department code of the triage tables) online 15-minute slots 09:00-12:00
 * on weekdays, and for the cardiologist (cardio_id at hospital_id, "cardiology") in-person
 * 30-minute slots 13:00-16:00 on weekdays, from the Tokyo day after now_ms for `days` days
 * (1..366). Idempotent (an existing slot of a schedule at the same start is kept). Returns 0 or an
 * ERR_*; *slots (may be NULL) gets the number of slots that now exist in that range. */
int visits_demo_seed(struct store *s, const char *clinic_id, const char *doctor_id,
                     const char *hospital_id, const char *cardio_id, int64_t now_ms, int days,
                     int *slots, struct err *e);

#endif

/* prescription.h - the e-prescription (issue 7 part 4, STORY.md S1 step 5, S5): the doctor's
 * MedicationRequest and the Task that carries it to the pharmacy the citizen chose (under the
 * citizen's "pharmacy" consent), the pharmacist's queue, the online medication guidance, the
 * MedicationDispense, the delivery status and the pharmacy fee (an Invoice through
 * visits_invoice_issue). docs/internals/prescription.md; endpoints in docs/api.md. */
#ifndef COS_SERVICES_VISITS_PRESCRIPTION_H
#define COS_SERVICES_VISITS_PRESCRIPTION_H

#include <jansson.h>
#include <stdint.h>

#include "base/config.h"
#include "base/err.h"
#include "http/router.h"
#include "store/store.h"

#define VISITS_RX_PURPOSE  "pharmacy" /* the consent purpose prescriptions flow under */
#define VISITS_RX_CONSUMER "pharmacy" /* consumer of "prescription.dispensed" (the fee) */
#define VISITS_RX_MED_SYS  "urn:oid:1.2.392.100495.20.2.74" /* 医薬品コード (YJ), the default */
#define VISITS_RX_TEXT_MAX 1000    /* code points of a dosage, note or guidance text */
#define VISITS_RX_FEE_MAX  1000000 /* yen: one pharmacy fee at most */

/* Events (payloads in docs/internals/prescription.md; subject the patient, ref "Task/<id>"). */
#define VISITS_RX_EV_ISSUED    "prescription.issued"
#define VISITS_RX_EV_STATUS    "prescription.status"
#define VISITS_RX_EV_DISPENSED "prescription.dispensed"

enum visits_rx_status {
    VISITS_RX_REQUESTED,      /* sent to the pharmacy */
    VISITS_RX_GUIDANCE_GIVEN, /* the pharmacist gave the medication guidance */
    VISITS_RX_DISPENSED,      /* MedicationDispense written, fee charged */
    VISITS_RX_DISPATCHED,     /* on its way to the citizen */
    VISITS_RX_DELIVERED,      /* handed over */
    VISITS_RX_STATUS_COUNT
};
const char *visits_rx_status_name(enum visits_rx_status s);
int visits_rx_status_parse(const char *text, enum visits_rx_status *out);
/* The one step after a (guidance, dispense, dispatch, delivery: in that order). */
int visits_rx_next_ok(enum visits_rx_status a, enum visits_rx_status b);

/* ---- request bodies (prescription_parse.c; pure, fuzzed). Strings are borrowed from in;
 * errors are ERR_INVALID with the member's JSON Pointer first. ---- */

/* POST /api/v1/prescriptions: {"patient": id, "medication": {"system"?, "code", "display"},
 * "dosage": text, "quantity": {"value": 1..100000, "unit": text}, "days": 1..365,
 * "note"?: text}. */
struct visits_rx_new {
    const char *patient;
    const char *med_system, *med_code, *med_display;
    const char *dosage;
    int64_t quantity;
    const char *unit;
    int days;
    const char *note; /* NULL: none */
};
int visits_rx_parse_new(const json_t *in, struct visits_rx_new *out, struct err *e);

/* POST .../guidance: {"text": text, "channel": "online"|"in-person"}. */
int visits_rx_parse_guidance(const json_t *in, const char **text, const char **channel,
                             struct err *e);

/* POST .../dispense: {"fee": 1..VISITS_RX_FEE_MAX yen, "note"?: text}. */
int visits_rx_parse_dispense(const json_t *in, int64_t *fee, const char **note, struct err *e);

/* POST .../delivery: {"status": "dispatched"|"delivered"}. */
int visits_rx_parse_delivery(const json_t *in, enum visits_rx_status *status, struct err *e);

/* PUT /api/v1/me/pharmacy: {"pharmacy": id, "evidence": {..}} (the evidence is read by the
 * consent module's own parser). */
int visits_rx_parse_choice(const json_t *in, const char **pharmacy, const json_t **evidence,
                           struct err *e);

/* ---- the service ---- */

/* Registers the consumer of "prescription.dispensed" that charges the pharmacy fee through
 * visits_invoice_issue (call before event_worker_start). Returns 0 or an ERR_*. */
int visits_rx_register(struct store *s, const struct config *cfg, struct err *e);

struct visits_rx_api {
    struct store *store;
    const struct config *cfg;
};

/* Registers the routes (docs/api.md "E-prescription"). api must outlive the router. */
int visits_rx_api_register(struct http_router *r, struct visits_rx_api *api, struct store *s,
                           const struct config *cfg);

/* The demo's "pharmacy" purpose (recipients: the prescribers clinic and hospital and every
 * pharmacy), the persona's consent for his family doctor's clinic to prescribe (medications,
 * read and write), and his chosen pharmacy with its consent. Ids as the demo made them; taro
 * NULL: the purpose only (his choices are his to make). Idempotent; blocks (for `cityos demo`). */
int visits_rx_demo_seed(struct store *s, const char *taro, const char *clinic, const char *hospital,
                        const char *pharmacy, struct err *e);

/* ---- inside the e-prescription (prescription.c, prescription_api.c, pharmacy.c) ---- */
#ifdef VISITS_RX_INTERNAL
#include "audit/audit.h"
#include "base/arena.h"
#include "base/ids.h"
#include "consent/index.h"
#include "fhir/resource.h"

/* One prescription order (rx_order, migration 16): the state behind its Task. Text members
 * live in the arena of the read. */
struct visits_rx_order {
    char task_id[FHIR_ID_MAX + 1], request_id[FHIR_ID_MAX + 1];
    char subject[IDS_LEN + 1], pharmacy[IDS_LEN + 1], prescriber_org[IDS_LEN + 1];
    char prescriber[IDS_LEN + 1], dispense_id[FHIR_ID_MAX + 1];
    const char *medication; /* the CodeableConcept as JSON text */
    enum visits_rx_status status;
    const char *guidance, *guidance_by, *dispensed_by; /* NULL until given */
    int64_t guidance_ms, dispensed_ms, fee, delivered_ms, created_ms, updated_ms;
};

extern const char *const visits__rx_select; /* "SELECT <columns> FROM rx_order " */
int visits__rx_row(const struct store_row *row, struct visits_rx_order *o, struct arena *a);
int visits__rx_get(struct store *s, const char *task_id, struct visits_rx_order *o, struct arena *a,
                   struct err *e);
int visits__rx_get_tx(struct store_tx *tx, const char *task_id, struct visits_rx_order *o,
                      struct arena *a, struct err *e);

/* The served form of an order (0 or ERR_NOMEM). */
int visits__rx_json(const struct visits_rx_order *o, json_t **out);

/* The citizen's chosen pharmacy (found 0 when none). */
struct visits_rx_choice {
    int found;
    char pharmacy[IDS_LEN + 1], consent[IDS_LEN + 1];
    int64_t updated_ms;
};
int visits__rx_choice_get(struct store *s, const char *subject, struct visits_rx_choice *out,
                          struct err *e);
int visits__rx_choice_put(struct store_tx *tx, const char *subject, const char *pharmacy,
                          const char *consent, int64_t now_ms, struct err *e);

/* consent_decide for the pharmacists of pharmacy on subject's medications (action) under the
 * "pharmacy" purpose. 0, or ERR_UNAVAILABLE before the index is loaded. */
int visits__rx_decide_pharmacy(const char *pharmacy, const char *subject, unsigned action,
                               int64_t now_ms, struct consent_decision *d);

/* A new prescription, written in one transaction (visits__rx_issue_fn): the MedicationRequest
 * (ev_request on the trail), the Task to the pharmacy (ev_task), the order row, the notice and
 * the event. */
struct visits_rx_issue {
    struct visits_rx_new in;
    struct visits_rx_order o;
    const char *pharmacy_name, *clinic_name;
    struct audit_event ev_request, ev_task;
    struct arena *a;
};
int visits__rx_issue_fn(struct store_tx *tx, void *ctx, struct err *e);

/* A pharmacist's step on an order (visits__rx_step_fn): the row re-read and the step checked
 * (ERR_CONFLICT when it is not the next one), then the row, the Task (ev on the trail), the
 * MedicationDispense for a dispense (ev_dispense) or its completion on delivery, the notice
 * and the events. */
struct visits_rx_step {
    char task_id[FHIR_ID_MAX + 1];
    enum visits_rx_status to;
    const char *actor_id;               /* the pharmacist */
    const char *text, *channel, *note;  /* guidance; dispense note */
    int64_t fee;                        /* dispense */
    struct audit_event ev, ev_dispense; /* Task update; MedicationDispense write */
    struct arena *a;
    struct visits_rx_order o; /* out: the order after the step */
};
int visits__rx_step_fn(struct store_tx *tx, void *ctx, struct err *e);

/* The resources as stored (new references, NULL when out of memory). */
json_t *visits__rx_task_render(const struct visits_rx_order *o);
#endif

#endif

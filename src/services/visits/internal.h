/* internal.h - what the visits files share: Tokyo time and slot arithmetic (slot.c, pure), the
 * parsed requests (visits_api_parse.c, pure), the rendering of the FHIR resources (slot_fhir.c)
 * and the store writes (slot_store.c, booking.c, consult.c). Not part of the public API. */
#ifndef COS_VISITS_INTERNAL_H
#define COS_VISITS_INTERNAL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "audit/audit.h"
#include "base/arena.h"
#include "base/err.h"
#include "base/ids.h"
#include "fhir/resource.h"
#include "services/visits/visits.h"
#include "store/store.h"

#define VISITS_TZ_OFFSET_MS  (9LL * 3600 * 1000) /* Asia/Tokyo: +09:00 all year (no DST) */
#define VISITS_DAY_MS        (24LL * 3600 * 1000)
#define VISITS_MIN_MS        (60LL * 1000)
#define VISITS_SLOTS_MAX     288   /* slots one request opens at most (a day of 5-minute slots) */
#define VISITS_LIST_MAX      200   /* rows one list answers at most */
#define VISITS_RANGE_DAYS    62    /* the widest date range a search covers */
#define VISITS_SPECIALTY_MAX 64    /* bytes: [a-z0-9-] */
#define VISITS_REASON_MAX    500   /* bytes of a cancellation reason or a booking comment */
#define VISITS_NOTES_MAX     20000 /* bytes of a consultation's notes */
#define VISITS_INSTANT_LEN   26    /* "2026-12-01T09:00:00+09:00" and its NUL */
#define VISITS_DATE_LEN      11    /* "2026-12-01" and its NUL */
#define VISITS_ROOM_LEN      32    /* hex characters of a meeting room name (128 bits) */
#define VISITS_URL_MAX       1024

/* ---- Tokyo time (slot.c) ---- */

/* "YYYY-MM-DD" (a real calendar day, years 2000..2999) -> the Unix ms of its 00:00 in Tokyo.
 * Returns 0 or ERR_INVALID. */
int visits_date_parse(const char *s, int64_t *day_ms);
/* "HH:MM" (00:00..24:00, 24:00 only exactly) -> minutes after midnight. 0 or ERR_INVALID. */
int visits_hm_parse(const char *s, int *minutes);
/* ms -> "2026-12-01T09:00:00+09:00" (seconds kept, milliseconds dropped). Returns out. */
char *visits_instant_format(int64_t ms, char out[VISITS_INSTANT_LEN]);
/* ms -> the Tokyo calendar day "2026-12-01". Returns out. */
char *visits_date_format(int64_t ms, char out[VISITS_DATE_LEN]);
/* The Unix ms of 00:00 Tokyo of the day holding ms. */
int64_t visits_day_start(int64_t ms);
/* Day of the week in Tokyo of ms: 0 Sunday .. 6 Saturday. */
int visits_weekday(int64_t ms);

/* Slot starts for one day: from from_min to to_min (minutes after 00:00 of day_ms), every
 * step_min (5..240) minutes, each slot step_min long and ending by to_min. starts gets at most
 * cap values. Returns the count (>= 0) or ERR_INVALID (from >= to, a step out of bounds, or
 * more than cap slots). */
int visits_slot_starts(int64_t day_ms, int from_min, int to_min, int step_min, int64_t *starts,
                       size_t cap);

/* Is the reminder of an appointment starting at start_ms due at now_ms? From 09:00 Tokyo of the
 * day before the appointment's day (or at once, for one booked later) until it starts. */
int visits_reminder_due(int64_t start_ms, int64_t now_ms);

/* ---- names ---- */

enum visits_mode { VISITS_IN_PERSON = 1, VISITS_ONLINE = 2, VISITS_BOTH = 3 };
/* "in-person", "online", "both" <-> the enum; parse returns 0 for an unknown text. */
const char *visits_mode_name(int mode);
int visits_mode_parse(const char *s);
/* A specialty code: 1..VISITS_SPECIALTY_MAX bytes of [a-z0-9-], starting with a letter. */
int visits_specialty_valid(const char *s);

/* ---- requests (visits_api_parse.c): strict, every field named in e on a refusal ---- */

/* POST /api/v1/org/slots {"practitioner","date","from","to","minutes","mode","specialty"} */
struct visits_open_req {
    const char *practitioner; /* a person id */
    int64_t day_ms;
    int from_min, to_min, step_min;
    int modes;
    const char *specialty;
};
int visits_parse_open(const json_t *body, struct visits_open_req *out, struct err *e);

/* POST /api/v1/me/appointments {"slot","mode","questionnaire_response"?,"comment"?} and
 * .../reschedule {"slot","mode"?}: mode may be left out when the slot offers one mode only */
struct visits_book_req {
    const char *slot;
    int mode; /* 0: the slot's only mode */
    const char *qr;
    const char *comment;
};
int visits_parse_book(const json_t *body, int reschedule, struct visits_book_req *out,
                      struct err *e);

/* .../cancel {"reason"?} */
int visits_parse_cancel(const json_t *body, const char **reason, struct err *e);

/* .../finish {"notes"?,"fee"} : fee in yen 0..VISITS_AMOUNT_MAX (0: no charge) */
struct visits_finish_req {
    const char *notes;
    int64_t fee;
};
int visits_parse_finish(const json_t *body, struct visits_finish_req *out, struct err *e);

/* The free-slot search's query: org, practitioner, specialty, mode, from, to (dates; to
 * inclusive; default: from today for 14 days). get(name) returns the query value or NULL. */
struct visits_search_req {
    const char *org, *practitioner, *specialty;
    int mode;
    int64_t from_ms, to_ms; /* [from, to) */
};
int visits_parse_search(const char *(*get)(void *ctx, const char *name), void *ctx, int64_t now_ms,
                        struct visits_search_req *out, struct err *e);

/* ---- rows ---- */

struct visits_slot_row {
    char id[IDS_LEN + 1], schedule_id[IDS_LEN + 1], org_id[IDS_LEN + 1],
        practitioner_id[IDS_LEN + 1];
    char specialty[VISITS_SPECIALTY_MAX + 1];
    int modes;
    int64_t start_ms, end_ms;
    int busy;
};

struct visits_appt_row {
    char id[IDS_LEN + 1], subject_id[IDS_LEN + 1], slot_id[IDS_LEN + 1], org_id[IDS_LEN + 1],
        practitioner_id[IDS_LEN + 1];
    int mode; /* VISITS_IN_PERSON or VISITS_ONLINE */
    int64_t start_ms, end_ms;
    char status[16];
    char qr_id[FHIR_ID_MAX + 1], room[VISITS_ROOM_LEN + 1], encounter_id[FHIR_ID_MAX + 1],
        report_id[FHIR_ID_MAX + 1], invoice_id[FHIR_ID_MAX + 1];
    char booked_by[IDS_LEN + 1];
    int64_t created_ms, updated_ms, reminded_ms;
};

/* Reads (outside a write: s; inside one: tx; exactly one of them non-NULL). 1 found, 0 not
 * found, or a negative error. */
int visits__slot_get(struct store *s, struct store_tx *tx, const char *id,
                     struct visits_slot_row *out, struct err *e);
int visits__appt_get(struct store *s, struct store_tx *tx, const char *id,
                     struct visits_appt_row *out, struct err *e);

/* ---- store (slot_store.c) ---- */

/* Row readers for queries selecting the columns in the order slot_store.c names them. */
struct store_row;
void visits__slot_from_row(const struct store_row *row, struct visits_slot_row *s);
void visits__appt_from_row(const struct store_row *row, struct visits_appt_row *a);
#define VISITS_SLOT_COLS                                                                           \
    "id, schedule_id, org_id, practitioner_id, specialty, modes, start_ms, end_ms, status"
#define VISITS_APPT_COLS                                                                           \
    "id, subject_id, slot_id, org_id, practitioner_id, mode, start_ms, end_ms, status, qr_id, "    \
    "room, encounter_id, report_id, invoice_id, booked_by, created_ms, updated_ms, reminded_ms"

/* The stored current version of rtype/id inside tx, without meta (a new reference), or NULL
 * with e set (ERR_NOTFOUND when absent or deleted). */
json_t *visits__stored_resource(struct store_tx *tx, const char *rtype, const char *id,
                                struct err *e);

/* Opening slots: a store_write_fn (ctx: struct visits__open). The schedule of (org,
 * practitioner) is found or made; each start without a slot of that schedule gets one (ids[i]
 * its id; "" for a start that already had one). */
struct visits__open {
    const char *org, *practitioner, *specialty;
    int modes, step_min;
    const int64_t *starts;
    size_t n;
    char (*ids)[IDS_LEN + 1];
    int64_t now_ms;
    /* out */
    char schedule_id[IDS_LEN + 1];
    int created, existing;
};
int visits__open_fn(struct store_tx *tx, void *ctx, struct err *e);

/* 1 when person holds an active doctor role at org, 0 when not, or a negative error. */
int visits__is_doctor(struct store *s, const char *person, const char *org, struct err *e);

/* ---- booking (booking.c) ---- */

/* One booking change, a store_write_fn (ctx: struct visits__book): a cancellation (old set,
 * do_book 0), a booking (old NULL, do_book 1) or a reschedule (both: the old one cancelled and
 * the new one booked in one transaction, both events appended). Refusals: ERR_NOTFOUND (the
 * slot or appointment is gone), ERR_CONFLICT (the slot is taken or has started, the
 * appointment is no longer booked). */
struct visits__book {
    const struct visits_appt_row *old;
    const char *cancel_reason;
    int do_book;
    struct visits_appt_row appt; /* the new appointment: every field but status set */
    const char *comment;
    struct audit_event ev; /* the actor and the access decision that allowed it */
    int64_t now_ms;
    /* out */
    struct visits_slot_row slot; /* the booked slot */
    const char *refusal;         /* why it was refused (static), or NULL */
};
int visits__book_fn(struct store_tx *tx, void *ctx, struct err *e);

/* ---- the consultation (consult.c) ---- */

/* Starting it, a store_write_fn (ctx: struct visits__consult, start 1): the Encounter
 * (in-progress; class VR online, AMB in person) and the appointment "arrived". Finishing it
 * (start 0): the notes as a DiagnosticReport (when given), the Encounter finished, the
 * appointment "fulfilled" and the fee's Invoice (when fee > 0, through visits_invoice_write_fn
 * with the key "visits.consult.<appointment>"). ERR_CONFLICT when the appointment is not in the
 * state the step needs. */
struct visits__consult {
    int start;
    struct visits_appt_row appt; /* as read before the write (re-checked inside) */
    const char *notes;
    struct visits_invoice_write *invoice; /* finish with a fee: prepared; else NULL */
    struct audit_event ev;                /* the doctor and the access decision */
    int64_t now_ms;
    /* out */
    char encounter_id[FHIR_ID_MAX + 1], report_id[FHIR_ID_MAX + 1];
    const char *refusal;
};
int visits__consult_fn(struct store_tx *tx, void *ctx, struct err *e);

/* ---- FHIR renderings (slot_fhir.c): new references the caller decrefs, NULL when out of
 * memory ---- */
json_t *visits__fhir_schedule(const char *id, const char *org, const char *practitioner,
                              const char *specialty);
json_t *visits__fhir_slot(const struct visits_slot_row *r);
json_t *visits__fhir_appointment(const struct visits_appt_row *a, const char *specialty,
                                 const char *comment, const char *cancel_reason);
json_t *visits__fhir_encounter(const struct visits_appt_row *a, const char *id, const char *status,
                               int64_t start_ms, int64_t end_ms);
json_t *visits__fhir_report(const struct visits_appt_row *a, const char *id,
                            const char *encounter_id, const char *notes, int64_t now_ms);
/* The meeting link: template with every "{room}" replaced by room. NULL when too long. */
char *visits__meeting_link(struct arena *a, const char *tmpl, const char *room);

/* Writes a FHIR resource inside tx (create when id is new, else update), validated first;
 * subject NULL: shared data (no audit entry); else ev (actor fields, decision) goes on the
 * subject's trail with action, resource and category set here. Returns 0 or an ERR_*. */
int visits__fhir_put(struct store_tx *tx, const char *rtype, const char *id, json_t *res,
                     int create, const char *subject, const char *category,
                     const struct audit_event *ev, int64_t now_ms, struct err *e);

/* The service principal (invoice_service.c) for writes it does on its own. */
void visits__service_principal(struct id_principal *p);

/* Starts the reminder thread (reminder.c). */
int visits__reminder_start(struct store *s, struct err *e);

#endif

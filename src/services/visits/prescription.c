/* prescription.c - the e-prescription's writes: the order row (rx_order), the FHIR resources it
 * stands for (MedicationRequest, the Task to the pharmacy, MedicationDispense) rendered from it,
 * each step written with its audit entry, the citizen's notice and the event in one
 * transaction; and the consumer of "prescription.dispensed" that charges the pharmacy fee. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VISITS_RX_INTERNAL
#include "base/clock.h"
#include "base/jsonx.h"
#include "base/log.h"
#include "consent/consent.h"
#include "events/event.h"
#include "fhir/validate.h"
#include "identity/principal.h"
#include "services/visits/prescription.h"
#include "services/visits/visits.h"

/* ---- the order row ---- */

#define RX_COLS                                                                                    \
    "task_id, request_id, subject_id, pharmacy_id, prescriber_org, prescriber_id, medication, "    \
    "status, guidance, guidance_by, guidance_ms, dispense_id, dispensed_by, dispensed_ms, fee, "   \
    "delivered_ms, created_ms, updated_ms"

const char *const visits__rx_select = "SELECT " RX_COLS " FROM rx_order ";

static void col(const struct store_row *row, int c, char *out, size_t cap)
{
    const char *t = store_row_text(row, c, NULL);
    snprintf(out, cap, "%s", t != NULL ? t : "");
}

static const char *dup_col(const struct store_row *row, int c, struct arena *a, int *nomem)
{
    const char *t = store_row_text(row, c, NULL);
    if (t == NULL)
        return NULL;
    const char *d = arena_strdup(a, t);
    *nomem |= d == NULL;
    return d;
}

int visits__rx_row(const struct store_row *row, struct visits_rx_order *o, struct arena *a)
{
    int nomem = 0;
    memset(o, 0, sizeof *o);
    col(row, 0, o->task_id, sizeof o->task_id);
    col(row, 1, o->request_id, sizeof o->request_id);
    col(row, 2, o->subject, sizeof o->subject);
    col(row, 3, o->pharmacy, sizeof o->pharmacy);
    col(row, 4, o->prescriber_org, sizeof o->prescriber_org);
    col(row, 5, o->prescriber, sizeof o->prescriber);
    o->medication = dup_col(row, 6, a, &nomem);
    if (visits_rx_status_parse(store_row_text(row, 7, NULL), &o->status) != 0)
        return ERR_INTERNAL;
    o->guidance = dup_col(row, 8, a, &nomem);
    o->guidance_by = dup_col(row, 9, a, &nomem);
    o->guidance_ms = store_row_int(row, 10);
    col(row, 11, o->dispense_id, sizeof o->dispense_id);
    o->dispensed_by = dup_col(row, 12, a, &nomem);
    o->dispensed_ms = store_row_int(row, 13);
    o->fee = store_row_int(row, 14);
    o->delivered_ms = store_row_int(row, 15);
    o->created_ms = store_row_int(row, 16);
    o->updated_ms = store_row_int(row, 17);
    return nomem || o->medication == NULL ? ERR_NOMEM : 0;
}

struct one {
    struct visits_rx_order *o;
    struct arena *a;
    int found, rc;
};

static int one_row(const struct store_row *row, void *ctx)
{
    struct one *one = ctx;
    one->rc = visits__rx_row(row, one->o, one->a);
    one->found = one->rc == 0;
    return 1;
}

static int one_done(int rc, const struct one *one, struct err *e)
{
    if (rc != 0)
        return rc;
    if (one->rc != 0)
        return err_set(e, one->rc, "pharmacy: a stored order is malformed");
    return one->found ? 0 : err_set(e, ERR_NOTFOUND, "prescription: no such order");
}

int visits__rx_get(struct store *s, const char *task_id, struct visits_rx_order *o, struct arena *a,
                   struct err *e)
{
    const char *sql = arena_printf(a, "%sWHERE task_id = ?", visits__rx_select);
    if (sql == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    struct store_value v[] = {STORE_TEXT_V(task_id)};
    struct one one = {o, a, 0, 0};
    return one_done(store_query(s, sql, v, 1, one_row, &one, e), &one, e);
}

int visits__rx_get_tx(struct store_tx *tx, const char *task_id, struct visits_rx_order *o,
                      struct arena *a, struct err *e)
{
    const char *sql = arena_printf(a, "%sWHERE task_id = ?", visits__rx_select);
    if (sql == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    struct store_value v[] = {STORE_TEXT_V(task_id)};
    struct one one = {o, a, 0, 0};
    return one_done(store_tx_query(tx, sql, v, 1, one_row, &one, e), &one, e);
}

static const char *when(int64_t ms, char *buf, size_t cap)
{
    return ms > 0 ? clock_format_ms(ms, buf, cap) : NULL;
}

int visits__rx_json(const struct visits_rx_order *o, json_t **out)
{
    char c[40], u[40], g[40], d[40], l[40];
    struct err e = {0};
    json_t *med = jsonx_parse(o->medication, strlen(o->medication), &e);
    *out = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o*, s:s, s:s, s:s}", "task", o->task_id,
                     "prescription", o->request_id, "patient", o->subject, "pharmacy", o->pharmacy,
                     "prescriber_org", o->prescriber_org, "prescriber", o->prescriber, "medication",
                     med, "status", visits_rx_status_name(o->status), "created",
                     when(o->created_ms, c, sizeof c), "updated", when(o->updated_ms, u, sizeof u));
    if (*out == NULL)
        return ERR_NOMEM;
    int bad = 0;
    if (o->guidance != NULL)
        bad |= json_object_set_new(*out, "guidance",
                                   json_pack("{s:s, s:s*, s:s*}", "text", o->guidance, "by",
                                             o->guidance_by, "at",
                                             when(o->guidance_ms, g, sizeof g))) != 0;
    if (o->dispense_id[0] != '\0')
        bad |= json_object_set_new(*out, "dispense",
                                   json_pack("{s:s, s:I, s:s*, s:s*}", "id", o->dispense_id, "fee",
                                             (json_int_t)o->fee, "at",
                                             when(o->dispensed_ms, d, sizeof d), "delivered",
                                             when(o->delivered_ms, l, sizeof l))) != 0;
    if (bad) {
        json_decref(*out);
        *out = NULL;
        return ERR_NOMEM;
    }
    return 0;
}

/* ---- the FHIR resources ---- */

static const char *task_status(enum visits_rx_status s)
{
    return s == VISITS_RX_REQUESTED   ? "requested"
           : s == VISITS_RX_DELIVERED ? "completed"
                                      : "in-progress";
}

json_t *visits__rx_task_render(const struct visits_rx_order *o)
{
    char created[40], updated[40], focus[FHIR_ID_MAX + 32], patient[IDS_LEN + 16];
    char owner[IDS_LEN + 16], requester[IDS_LEN + 16];
    clock_format_ms(o->created_ms, created, sizeof created);
    clock_format_ms(o->updated_ms, updated, sizeof updated);
    snprintf(focus, sizeof focus, "MedicationRequest/%s", o->request_id);
    snprintf(patient, sizeof patient, "Patient/%s", o->subject);
    snprintf(owner, sizeof owner, "Organization/%s", o->pharmacy);
    snprintf(requester, sizeof requester, "Organization/%s", o->prescriber_org);
    json_t *t = json_pack(
        "{s:s, s:s, s:s, s:{s:s}, s:s, s:{s:[{s:s, s:s}], s:s}, s:{s:s}, s:{s:s}, s:s, s:s, "
        "s:{s:s}, s:{s:s}}",
        "resourceType", "Task", "id", o->task_id, "status", task_status(o->status),
        "businessStatus", "text", visits_rx_status_name(o->status), "intent", "order", "code",
        "coding", "system", "http://hl7.org/fhir/CodeSystem/task-code", "code", "fulfill", "text",
        "処方箋の調剤 / fill the prescription", "focus", "reference", focus, "for", "reference",
        patient, "authoredOn", created, "lastModified", updated, "requester", "reference",
        requester, "owner", "reference", owner);
    if (t == NULL)
        return NULL;
    int bad = 0;
    if (o->guidance != NULL) {
        char at[40];
        clock_format_ms(o->guidance_ms, at, sizeof at);
        const char *by = o->guidance_by != NULL ? o->guidance_by : "";
        char author[IDS_LEN + 32];
        snprintf(author, sizeof author, "pharmacist %s", by);
        bad |= json_object_set_new(t, "note",
                                   json_pack("[{s:s, s:s, s:s}]", "authorString", author, "time",
                                             at, "text", o->guidance)) != 0;
    }
    if (o->dispense_id[0] != '\0') {
        char ref[FHIR_ID_MAX + 32];
        snprintf(ref, sizeof ref, "MedicationDispense/%s", o->dispense_id);
        bad |= json_object_set_new(t, "output",
                                   json_pack("[{s:{s:s}, s:{s:s}}]", "type", "text",
                                             "medication-dispense", "valueReference", "reference",
                                             ref)) != 0;
    }
    if (bad) {
        json_decref(t);
        return NULL;
    }
    return t;
}

static json_t *request_render(const struct visits_rx_issue *w)
{
    const struct visits_rx_order *o = &w->o;
    const struct visits_rx_new *in = &w->in;
    char created[40], patient[IDS_LEN + 16], performer[IDS_LEN + 16];
    clock_format_ms(o->created_ms, created, sizeof created);
    snprintf(patient, sizeof patient, "Patient/%s", o->subject);
    snprintf(performer, sizeof performer, "Organization/%s", o->pharmacy);
    struct err e = {0};
    json_t *med = jsonx_parse(o->medication, strlen(o->medication), &e);
    json_t *r = json_pack(
        "{s:s, s:s, s:s, s:s, s:o, s:{s:s}, s:s, s:{s:{s:s, s:s}, s:s}, s:[{s:s}], "
        "s:{s:{s:I, s:s}, s:{s:i, s:s, s:s, s:s}, s:{s:s, s:s*}}}",
        "resourceType", "MedicationRequest", "id", o->request_id, "status", "active", "intent",
        "order", "medicationCodeableConcept", med, "subject", "reference", patient, "authoredOn",
        created, "requester", "identifier", "system", "urn:cityos:person", "value", o->prescriber,
        "display", "prescribing doctor", "dosageInstruction", "text", in->dosage, "dispenseRequest",
        "quantity", "value", (json_int_t)in->quantity, "unit", in->unit, "expectedSupplyDuration",
        "value", in->days, "unit", "d", "system", "http://unitsofmeasure.org", "code", "d",
        "performer", "reference", performer, "display", w->pharmacy_name);
    if (r != NULL && in->note != NULL &&
        json_object_set_new(r, "note", json_pack("[{s:s}]", "text", in->note)) != 0) {
        json_decref(r);
        return NULL;
    }
    return r;
}

static json_t *dispense_render(const struct visits_rx_order *o, const char *note)
{
    char prepared[40], handed[40], patient[IDS_LEN + 16], actor[IDS_LEN + 16];
    char auth[FHIR_ID_MAX + 32];
    clock_format_ms(o->dispensed_ms, prepared, sizeof prepared);
    snprintf(patient, sizeof patient, "Patient/%s", o->subject);
    snprintf(actor, sizeof actor, "Organization/%s", o->pharmacy);
    snprintf(auth, sizeof auth, "MedicationRequest/%s", o->request_id);
    struct err e = {0};
    json_t *med = jsonx_parse(o->medication, strlen(o->medication), &e);
    json_t *d = json_pack("{s:s, s:s, s:s, s:o, s:{s:s}, s:[{s:{s:s}}], s:[{s:s}], s:s}",
                          "resourceType", "MedicationDispense", "id", o->dispense_id, "status",
                          o->status == VISITS_RX_DELIVERED ? "completed" : "in-progress",
                          "medicationCodeableConcept", med, "subject", "reference", patient,
                          "performer", "actor", "reference", actor, "authorizingPrescription",
                          "reference", auth, "whenPrepared", prepared);
    int bad = d == NULL;
    if (!bad && o->delivered_ms > 0)
        bad |= json_object_set_new(
                   d, "whenHandedOver",
                   json_string(clock_format_ms(o->delivered_ms, handed, sizeof handed))) != 0;
    if (!bad && note != NULL)
        bad |= json_object_set_new(d, "note", json_pack("[{s:s}]", "text", note)) != 0;
    if (bad) {
        json_decref(d);
        return NULL;
    }
    return d;
}

/* Creates or updates one resource of o's citizen in tx, with ev (actor, purpose, decision) on
 * their trail. The resource is validated first: what this module renders must be valid R4. */
static int put(struct store_tx *tx, json_t *res, const char *rtype, const char *id,
               const char *subject, int create, int64_t now_ms, const struct audit_event *ev,
               struct err *e)
{
    if (res == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    struct fhir_issues is;
    fhir_issues_init(&is, NULL, NULL);
    if (fhir_validate(res, rtype, &is) != 0 || is.nerrors > 0) {
        int rc = err_set(e, ERR_INTERNAL, "pharmacy: a rendered %s is not valid: %.100s: %.100s",
                         rtype, is.n > 0 ? is.items[0].expression : "",
                         is.n > 0 ? is.items[0].diagnostics : "");
        json_decref(res);
        return rc;
    }
    struct fhir_write w;
    memset(&w, 0, sizeof w);
    w.op = create ? FHIR_WRITE_CREATE : FHIR_WRITE_UPDATE;
    w.rtype = rtype;
    snprintf(w.id, sizeof w.id, "%s", id);
    w.resource = res;
    w.subject = subject;
    w.category = "medications";
    w.record_audit = 1;
    w.now_ms = now_ms;
    w.ev = *ev;
    w.ev.subject = subject;
    w.ev.action = create ? "create" : "update";
    w.ev.resource_type = rtype;
    w.ev.resource_id = w.id;
    w.ev.category = "medications";
    int rc = fhir_resource_write_fn(tx, &w, e);
    fhir_write_release(&w);
    json_decref(res);
    return rc;
}

static int notify(struct store_tx *tx, const struct visits_rx_order *o, const char *ja,
                  const char *en, const char *dedupe, struct err *e)
{
    if (ja == NULL || en == NULL || dedupe == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    char ref[FHIR_ID_MAX + 8];
    snprintf(ref, sizeof ref, "Task/%s", o->task_id);
    struct consent_inbox_notice n = {.subject = o->subject,
                                     .source = "pharmacy",
                                     .ref = ref,
                                     .text_ja = ja,
                                     .text_en = en,
                                     .dedupe_key = dedupe};
    return consent_inbox_notify(tx, &n, o->updated_ms, NULL, e);
}

static int emit(struct store_tx *tx, const char *kind, const struct visits_rx_order *o,
                json_t *payload, struct err *e)
{
    char *pl = payload != NULL ? jsonx_dumps(payload, NULL) : NULL;
    json_decref(payload);
    if (pl == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    char ref[FHIR_ID_MAX + 8];
    snprintf(ref, sizeof ref, "Task/%s", o->task_id);
    int rc = event_append(tx, kind, o->subject, ref, pl, o->updated_ms, NULL, e);
    free(pl);
    return rc;
}

/* ---- issuing ---- */

int visits__rx_issue_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct visits_rx_issue *w = ctx;
    const struct visits_rx_order *o = &w->o;
    int rc = put(tx, request_render(w), "MedicationRequest", o->request_id, o->subject, 1,
                 o->created_ms, &w->ev_request, e);
    if (rc == 0)
        rc = put(tx, visits__rx_task_render(o), "Task", o->task_id, o->subject, 1, o->created_ms,
                 &w->ev_task, e);
    if (rc != 0)
        return rc;
    struct store_value v[] = {
        STORE_TEXT_V(o->task_id),        STORE_TEXT_V(o->request_id),
        STORE_TEXT_V(o->subject),        STORE_TEXT_V(o->pharmacy),
        STORE_TEXT_V(o->prescriber_org), STORE_TEXT_V(o->prescriber),
        STORE_TEXT_V(o->medication),     STORE_TEXT_V(visits_rx_status_name(o->status)),
        STORE_INT_V(o->created_ms),      STORE_INT_V(o->updated_ms)};
    rc = store_tx_exec(tx,
                       "INSERT INTO rx_order (task_id, request_id, subject_id, pharmacy_id, "
                       "prescriber_org, prescriber_id, medication, status, created_ms, "
                       "updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       v, sizeof v / sizeof v[0], e);
    if (rc < 0)
        return rc;
    rc = notify(tx, o,
                arena_printf(w->a, "%sの医師が処方箋(%s)を発行し、お選びの%sに送りました。",
                             w->clinic_name, w->in.med_display, w->pharmacy_name),
                arena_printf(w->a,
                             "Your doctor at %s issued a prescription (%s) and sent it to the "
                             "pharmacy you chose, %s.",
                             w->clinic_name, w->in.med_display, w->pharmacy_name),
                arena_printf(w->a, "pharmacy.issued.%s", o->task_id), e);
    if (rc == 0)
        rc = emit(tx, VISITS_RX_EV_ISSUED, o,
                  json_pack("{s:s, s:s, s:s, s:s}", "task", o->task_id, "prescription",
                            o->request_id, "pharmacy", o->pharmacy, "prescriber_org",
                            o->prescriber_org),
                  e);
    return rc;
}

/* ---- the pharmacist's steps ---- */

static int step_notice(struct store_tx *tx, const struct visits_rx_step *w, struct err *e)
{
    static const char *const ja[VISITS_RX_STATUS_COUNT] = {
        NULL, "薬剤師がお薬の説明(服薬指導)を行いました。内容はお薬の記録でいつでも確認できます。",
        "お薬の調剤が済みました。薬局の料金はお支払いの設定にしたがって請求されます。",
        "お薬を発送しました。", "お薬をお届けしました。"};
    static const char *const en[VISITS_RX_STATUS_COUNT] = {
        NULL,
        "Your pharmacist gave you the guidance on your medicine; you can read it again in your "
        "medication record.",
        "Your medicine has been prepared. The pharmacy's fee is charged as your payment "
        "settings say.",
        "Your medicine has been dispatched.", "Your medicine has been delivered."};
    return notify(tx, &w->o, ja[w->to], en[w->to],
                  arena_printf(w->a, "pharmacy.%s.%s", visits_rx_status_name(w->to), w->task_id),
                  e);
}

int visits__rx_step_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct visits_rx_step *w = ctx;
    struct visits_rx_order *o = &w->o;
    int rc = visits__rx_get_tx(tx, w->task_id, o, w->a, e);
    if (rc != 0)
        return rc;
    if (!visits_rx_next_ok(o->status, w->to))
        return err_set(e, ERR_CONFLICT, "status: a prescription that is %s cannot become %s",
                       visits_rx_status_name(o->status), visits_rx_status_name(w->to));
    int64_t now = clock_now_ms();
    if (now <= o->updated_ms)
        now = o->updated_ms + 1;
    o->status = w->to;
    o->updated_ms = now;
    switch (w->to) {
    case VISITS_RX_GUIDANCE_GIVEN:
        o->guidance = arena_printf(w->a, "[%s] %s", w->channel, w->text);
        o->guidance_by = w->actor_id;
        o->guidance_ms = now;
        break;
    case VISITS_RX_DISPENSED:
        ids_new_ordered(o->dispense_id, now);
        o->dispensed_by = w->actor_id;
        o->dispensed_ms = now;
        o->fee = w->fee;
        break;
    case VISITS_RX_DELIVERED:
        o->delivered_ms = now;
        break;
    default:
        break;
    }
    if (w->to == VISITS_RX_GUIDANCE_GIVEN && o->guidance == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    struct store_value v[] = {STORE_TEXT_V(visits_rx_status_name(o->status)),
                              o->guidance ? STORE_TEXT_V(o->guidance) : STORE_NULL_V,
                              o->guidance_by ? STORE_TEXT_V(o->guidance_by) : STORE_NULL_V,
                              STORE_INT_V(o->guidance_ms),
                              o->dispense_id[0] ? STORE_TEXT_V(o->dispense_id) : STORE_NULL_V,
                              o->dispensed_by ? STORE_TEXT_V(o->dispensed_by) : STORE_NULL_V,
                              STORE_INT_V(o->dispensed_ms),
                              STORE_INT_V(o->fee),
                              STORE_INT_V(o->delivered_ms),
                              STORE_INT_V(now),
                              STORE_TEXT_V(o->task_id)};
    rc = store_tx_exec(tx,
                       "UPDATE rx_order SET status = ?, guidance = ?, guidance_by = ?, "
                       "guidance_ms = ?, dispense_id = ?, dispensed_by = ?, dispensed_ms = ?, "
                       "fee = ?, delivered_ms = ?, updated_ms = ? WHERE task_id = ?",
                       v, sizeof v / sizeof v[0], e);
    if (rc < 0)
        return rc;
    rc = put(tx, visits__rx_task_render(o), "Task", o->task_id, o->subject, 0, now, &w->ev, e);
    if (rc == 0 && w->to == VISITS_RX_DISPENSED)
        rc = put(tx, dispense_render(o, w->note), "MedicationDispense", o->dispense_id, o->subject,
                 1, now, &w->ev_dispense, e);
    if (rc == 0 && w->to == VISITS_RX_DELIVERED && o->dispense_id[0] != '\0')
        rc = put(tx, dispense_render(o, NULL), "MedicationDispense", o->dispense_id, o->subject, 0,
                 now, &w->ev_dispense, e);
    if (rc == 0)
        rc = step_notice(tx, w, e);
    if (rc == 0)
        rc = emit(tx, VISITS_RX_EV_STATUS, o,
                  json_pack("{s:s, s:s, s:s}", "task", o->task_id, "prescription", o->request_id,
                            "status", visits_rx_status_name(o->status)),
                  e);
    if (rc == 0 && w->to == VISITS_RX_DISPENSED) {
        struct err pe = {0};
        json_t *med = jsonx_parse(o->medication, strlen(o->medication), &pe);
        const char *display = json_string_value(json_object_get(med, "text"));
        rc = emit(tx, VISITS_RX_EV_DISPENSED, o,
                  json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s}", "task", o->task_id,
                            "prescription", o->request_id, "dispense", o->dispense_id, "pharmacy",
                            o->pharmacy, "pharmacist", w->actor_id, "fee", (json_int_t)o->fee,
                            "medication", display != NULL ? display : ""),
                  e);
        json_decref(med);
    }
    return rc;
}

/* ---- the fee ---- */

static int on_dispensed(const struct event *ev, void *ctx, struct err *e)
{
    struct store *s = ctx;
    if (ev->subject == NULL || !ids_valid(ev->subject) || ev->payload == NULL)
        return 0;
    json_t *pl = jsonx_parse(ev->payload, strlen(ev->payload), e);
    if (pl == NULL)
        return e->code == ERR_NOMEM ? ERR_NOMEM : 0;
    const char *task = json_string_value(json_object_get(pl, "task"));
    const char *pharmacy = json_string_value(json_object_get(pl, "pharmacy"));
    const char *pharmacist = json_string_value(json_object_get(pl, "pharmacist"));
    const char *med = json_string_value(json_object_get(pl, "medication"));
    json_t *fee = json_object_get(pl, "fee");
    int rc = 0;
    if (task == NULL || pharmacy == NULL || !ids_valid(pharmacy) || pharmacist == NULL ||
        !ids_valid(pharmacist) || !json_is_integer(fee) || json_integer_value(fee) < 1) {
        log_warn("pharmacy: a prescription.dispensed event (seq %" PRId64 ") is malformed",
                 ev->seq);
        json_decref(pl);
        return 0;
    }
    char key[FHIR_ID_MAX + 32], desc[400];
    snprintf(key, sizeof key, "pharmacy.dispense.%s", task);
    snprintf(desc, sizeof desc, "調剤・服薬指導 / dispensing and guidance: %.300s",
             med != NULL && med[0] ? med : "prescription");
    /* the pharmacist who dispensed issues the charge (on the patient's trail as its actor) */
    struct id_principal p;
    memset(&p, 0, sizeof p);
    p.kind = ID_PRINCIPAL_PRACTITIONER;
    p.subject_id = pharmacist;
    p.org_id = pharmacy;
    p.role = "pharmacist";
    struct visits_invoice_new in = {.subject = ev->subject,
                                    .issuer_org = pharmacy,
                                    .amount = (int64_t)json_integer_value(fee),
                                    .purpose = "pharmacy-fees",
                                    .description = desc,
                                    .key = key,
                                    .actor = &p};
    char id[FHIR_ID_MAX + 1];
    rc = visits_invoice_issue(s, &in, id, e);
    if (rc == 0) {
        log_info("pharmacy: the fee of %s is Invoice/%s", task, id);
    } else if (rc == ERR_INVALID || rc == ERR_CONFLICT || rc == ERR_NOTFOUND) {
        log_warn("pharmacy: the fee of %s was refused: %s", task, e->msg);
        rc = 0; /* the same charge fails the same way again */
    } else {
        log_warn("pharmacy: the fee of %s: %s (retried)", task, e->msg);
    }
    json_decref(pl);
    return rc;
}

int visits_rx_register(struct store *s, const struct config *cfg, struct err *e)
{
    (void)cfg;
    if (event_handler_register(VISITS_RX_EV_DISPENSED, VISITS_RX_CONSUMER, on_dispensed, s) != 0)
        return err_set(e, ERR_INVALID, "pharmacy: cannot register the %s consumer",
                       VISITS_RX_EV_DISPENSED);
    LOG_AT(LOGL_INFO, json_pack("{s:s}", "purpose", VISITS_RX_PURPOSE), "pharmacy: service ready");
    return 0;
}

/* order.c - a taxi order in the store (mobility_order, migration 16) and as the FHIR Task the
 * taxi company reads: reading a row, rendering the Task from it, and writing the Task with its
 * audit entry inside the caller's transaction (docs/internals/mobility.md "The order"). */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "base/clock.h"
#include "fhir/search_api.h"
#include "fhir/validate.h"
#include "services/mobility/order.h"

void mobility__task_id(const char *appointment, char out[MOBILITY_TASK_ID_MAX + 1])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)appointment, strlen(appointment));
    memcpy(out, "taxi-", 5);
    sodium_bin2hex(out + 5, MOBILITY_TASK_ID_MAX + 1 - 5, h, 16);
}

#define ORDER_COLS                                                                                 \
    "appointment_id, task_id, subject_id, company_id, facility_id, start_ms, pickup_ms, "          \
    "lead_min, distance_m, snow, pickup_place, facility_name, status, note, created_ms, "          \
    "updated_ms"

const char *const mobility__order_select = "SELECT " ORDER_COLS " FROM mobility_order ";

static void copy_col(const struct store_row *row, int col, char *out, size_t cap)
{
    const char *t = store_row_text(row, col, NULL);
    snprintf(out, cap, "%s", t != NULL ? t : "");
}

int mobility__order_row(const struct store_row *row, struct mobility_order *o, struct arena *a)
{
    memset(o, 0, sizeof *o);
    copy_col(row, 0, o->appointment, sizeof o->appointment);
    copy_col(row, 1, o->task_id, sizeof o->task_id);
    copy_col(row, 2, o->subject, sizeof o->subject);
    copy_col(row, 3, o->company, sizeof o->company);
    copy_col(row, 4, o->facility, sizeof o->facility);
    o->start_ms = store_row_int(row, 5);
    o->pickup_ms = store_row_int(row, 6);
    o->lead_min = (int)store_row_int(row, 7);
    o->distance_m = store_row_int(row, 8);
    o->snow = (int)store_row_int(row, 9);
    o->pickup_place = arena_strdup(a, store_row_text(row, 10, NULL));
    o->facility_name = arena_strdup(a, store_row_text(row, 11, NULL));
    const char *note = store_row_text(row, 13, NULL);
    o->note = note != NULL ? arena_strdup(a, note) : NULL;
    o->created_ms = store_row_int(row, 14);
    o->updated_ms = store_row_int(row, 15);
    if (o->pickup_place == NULL || o->facility_name == NULL || (note != NULL && o->note == NULL))
        return ERR_NOMEM;
    if (mobility_status_parse(store_row_text(row, 12, NULL), &o->status) != 0)
        return ERR_INTERNAL;
    return 0;
}

struct one {
    struct mobility_order *o;
    struct arena *a;
    int found, rc;
};

static int one_row(const struct store_row *row, void *ctx)
{
    struct one *one = ctx;
    one->rc = mobility__order_row(row, one->o, one->a);
    one->found = one->rc == 0;
    return 1;
}

static int finish_one(int rc, struct one *one, struct err *e)
{
    if (rc != 0)
        return rc;
    if (one->rc != 0)
        return err_set(e, one->rc, "mobility: a stored order is malformed");
    return one->found ? 0 : err_set(e, ERR_NOTFOUND, "order: no such taxi order");
}

int mobility__order_get(struct store *s, const char *where_col, const char *value,
                        struct mobility_order *o, struct arena *a, struct err *e)
{
    const char *sql = arena_printf(a, "%sWHERE %s = ?", mobility__order_select, where_col);
    if (sql == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    struct store_value v[] = {STORE_TEXT_V(value)};
    struct one one = {o, a, 0, 0};
    return finish_one(store_query(s, sql, v, 1, one_row, &one, e), &one, e);
}

int mobility__order_get_tx(struct store_tx *tx, const char *appointment, struct mobility_order *o,
                           struct arena *a, struct err *e)
{
    const char *sql = arena_printf(a, "%sWHERE appointment_id = ?", mobility__order_select);
    if (sql == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    struct store_value v[] = {STORE_TEXT_V(appointment)};
    struct one one = {o, a, 0, 0};
    return finish_one(store_tx_query(tx, sql, v, 1, one_row, &one, e), &one, e);
}

/* FHIR Task.status of an order status. */
static const char *task_status(enum mobility_status s)
{
    switch (s) {
    case MOBILITY_REQUESTED:
        return "requested";
    case MOBILITY_ACCEPTED:
        return "accepted";
    case MOBILITY_EN_ROUTE:
    case MOBILITY_PICKED_UP:
        return "in-progress";
    case MOBILITY_COMPLETED:
        return "completed";
    default:
        return "cancelled";
    }
}

static json_t *input(const char *type, const char *key, json_t *value)
{
    return json_pack("{s:{s:s}, s:o}", "type", "text", type, key, value);
}

json_t *mobility__task_render(const struct mobility_order *o)
{
    char pickup[40], start[40], created[40], updated[40];
    clock_format_ms(o->pickup_ms, pickup, sizeof pickup);
    clock_format_ms(o->start_ms, start, sizeof start);
    clock_format_ms(o->created_ms, created, sizeof created);
    clock_format_ms(o->updated_ms, updated, sizeof updated);
    char appt[FHIR_ID_MAX + 16], patient[IDS_LEN + 16], owner[IDS_LEN + 16], fac[FHIR_ID_MAX + 16];
    snprintf(appt, sizeof appt, "Appointment/%s", o->appointment);
    snprintf(patient, sizeof patient, "Patient/%s", o->subject);
    snprintf(owner, sizeof owner, "Organization/%s", o->company);
    snprintf(fac, sizeof fac, "Organization/%s", o->facility);
    json_t *inputs =
        json_pack("[o, o, o, o, o]", input("pickup-time", "valueDateTime", json_string(pickup)),
                  input("pickup-place", "valueString", json_string(o->pickup_place)),
                  input("destination", "valueReference",
                        json_pack("{s:s, s:s}", "reference", fac, "display", o->facility_name)),
                  input("appointment-start", "valueDateTime", json_string(start)),
                  input("lead-minutes", "valueInteger", json_integer(o->lead_min)));
    json_t *t = json_pack(
        "{s:s, s:s, s:[{s:s, s:s}], s:s, s:{s:s}, s:s, s:{s:[{s:s, s:s}], s:s}, s:{s:s}, "
        "s:{s:s}, s:s, s:s, s:{s:s, s:s}, s:{s:s}, s:o}",
        "resourceType", "Task", "id", o->task_id, "identifier", "system", MOBILITY_ORDER_SYS,
        "value", o->appointment, "status", task_status(o->status), "businessStatus", "text",
        mobility_status_name(o->status), "intent", "order", "code", "coding", "system",
        "urn:cityos:task-code", "code", "taxi-pickup", "text",
        "通院タクシー / taxi to an appointment", "focus", "reference", appt, "for", "reference",
        patient, "authoredOn", created, "lastModified", updated, "owner", "reference", owner,
        "display", "taxi company", "executionPeriod", "start", pickup, "input", inputs);
    if (t != NULL && o->note != NULL &&
        json_object_set_new(t, "note", json_pack("[{s:s}]", "text", o->note)) != 0) {
        json_decref(t);
        return NULL;
    }
    return t;
}

int mobility__task_write(struct store_tx *tx, const struct mobility_order *o, int create,
                         const struct audit_event *ev, struct arena *a, struct err *e)
{
    json_t *task = mobility__task_render(o);
    if (task == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    struct fhir_issues is;
    fhir_issues_init(&is, NULL, NULL);
    if (fhir_validate(task, "Task", &is) != 0 || is.nerrors > 0) {
        json_decref(task);
        return err_set(e, ERR_INTERNAL, "mobility: a rendered Task is not valid: %.100s: %.100s",
                       is.n > 0 ? is.items[0].expression : "",
                       is.n > 0 ? is.items[0].diagnostics : "");
    }
    struct fhir_write w;
    memset(&w, 0, sizeof w);
    w.op = create ? FHIR_WRITE_CREATE : FHIR_WRITE_UPDATE;
    w.rtype = "Task";
    snprintf(w.id, sizeof w.id, "%s", o->task_id);
    w.resource = task;
    w.subject = o->subject;
    w.category = "location";
    w.record_audit = 1;
    w.now_ms = o->updated_ms;
    w.ev = *ev;
    w.ev.subject = o->subject;
    w.ev.action = create ? "create" : "update";
    w.ev.resource_type = "Task";
    w.ev.resource_id = o->task_id;
    w.ev.category = "location";
    int rc = 0;
    if (create) {
        const char *cond =
            arena_printf(a, "identifier=%s%%7C%s", MOBILITY_ORDER_SYS, o->appointment);
        struct fhir_sql *q = NULL;
        if (cond == NULL)
            rc = err_set(e, ERR_NOMEM, "out of memory");
        if (rc == 0)
            rc = fhir_search_condition_sql("Task", cond, a, &q, e);
        w.if_none_exist = q;
    }
    if (rc == 0)
        rc = fhir_resource_write_fn(tx, &w, e);
    fhir_write_release(&w);
    json_decref(task);
    return rc;
}

int mobility__order_json(const struct mobility_order *o, json_t **out)
{
    char pickup[40], start[40], updated[40];
    clock_format_ms(o->pickup_ms, pickup, sizeof pickup);
    clock_format_ms(o->start_ms, start, sizeof start);
    clock_format_ms(o->updated_ms, updated, sizeof updated);
    *out =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:I, s:b, s:s, s:s, s:s*}", "task",
                  o->task_id, "appointment", o->appointment, "patient", o->subject, "company",
                  o->company, "facility", o->facility, "facility_name", o->facility_name,
                  "pickup_at", pickup, "appointment_start", start, "lead_minutes", o->lead_min,
                  "distance_m", (json_int_t)o->distance_m, "snow", o->snow, "pickup_place",
                  o->pickup_place, "status", mobility_status_name(o->status), "note", o->note);
    if (*out != NULL && json_object_set_new(*out, "updated", json_string(updated)) != 0) {
        json_decref(*out);
        *out = NULL;
    }
    return *out != NULL ? 0 : ERR_NOMEM;
}

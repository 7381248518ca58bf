/* slot_store.c - the rows behind the visits' FHIR resources: reading a slot or an appointment,
 * opening a day of slots for a practitioner (the Schedule made on first use, each new Slot
 * written as FHIR shared data in the same transaction), and re-writing a stored resource with a
 * changed status. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonx.h"
#include "services/visits/internal.h"

#define SLOT_COLS VISITS_SLOT_COLS
#define APPT_COLS VISITS_APPT_COLS

static void copy(char *dst, size_t cap, const struct store_row *row, int col)
{
    const char *t = store_row_text(row, col, NULL);
    snprintf(dst, cap, "%s", t != NULL ? t : "");
}

void visits__slot_from_row(const struct store_row *row, struct visits_slot_row *s)
{
    memset(s, 0, sizeof *s);
    copy(s->id, sizeof s->id, row, 0);
    copy(s->schedule_id, sizeof s->schedule_id, row, 1);
    copy(s->org_id, sizeof s->org_id, row, 2);
    copy(s->practitioner_id, sizeof s->practitioner_id, row, 3);
    copy(s->specialty, sizeof s->specialty, row, 4);
    s->modes = visits_mode_parse(store_row_text(row, 5, NULL));
    s->start_ms = store_row_int(row, 6);
    s->end_ms = store_row_int(row, 7);
    const char *st = store_row_text(row, 8, NULL);
    s->busy = st != NULL && strcmp(st, "busy") == 0;
}

void visits__appt_from_row(const struct store_row *row, struct visits_appt_row *a)
{
    memset(a, 0, sizeof *a);
    copy(a->id, sizeof a->id, row, 0);
    copy(a->subject_id, sizeof a->subject_id, row, 1);
    copy(a->slot_id, sizeof a->slot_id, row, 2);
    copy(a->org_id, sizeof a->org_id, row, 3);
    copy(a->practitioner_id, sizeof a->practitioner_id, row, 4);
    a->mode = visits_mode_parse(store_row_text(row, 5, NULL));
    a->start_ms = store_row_int(row, 6);
    a->end_ms = store_row_int(row, 7);
    copy(a->status, sizeof a->status, row, 8);
    copy(a->qr_id, sizeof a->qr_id, row, 9);
    copy(a->room, sizeof a->room, row, 10);
    copy(a->encounter_id, sizeof a->encounter_id, row, 11);
    copy(a->report_id, sizeof a->report_id, row, 12);
    copy(a->invoice_id, sizeof a->invoice_id, row, 13);
    copy(a->booked_by, sizeof a->booked_by, row, 14);
    a->created_ms = store_row_int(row, 15);
    a->updated_ms = store_row_int(row, 16);
    a->reminded_ms = store_row_is_null(row, 17) ? 0 : store_row_int(row, 17);
}

struct one {
    void *out;
    int found;
    int appt;
};

static int one_row(const struct store_row *row, void *ctx)
{
    struct one *o = ctx;
    o->found = 1;
    if (o->appt)
        visits__appt_from_row(row, o->out);
    else
        visits__slot_from_row(row, o->out);
    return 1;
}

static int get_one(struct store *s, struct store_tx *tx, const char *sql, const char *id,
                   struct one *o, struct err *e)
{
    struct store_value v[] = {STORE_TEXT_V(id)};
    int rc = tx != NULL ? store_tx_query(tx, sql, v, 1, one_row, o, e)
                        : store_query(s, sql, v, 1, one_row, o, e);
    return rc != 0 ? rc : o->found;
}

int visits__slot_get(struct store *s, struct store_tx *tx, const char *id,
                     struct visits_slot_row *out, struct err *e)
{
    struct one o = {out, 0, 0};
    return get_one(s, tx, "SELECT " SLOT_COLS " FROM visits_slot WHERE id = ?", id, &o, e);
}

int visits__appt_get(struct store *s, struct store_tx *tx, const char *id,
                     struct visits_appt_row *out, struct err *e)
{
    struct one o = {out, 0, 1};
    return get_one(s, tx, "SELECT " APPT_COLS " FROM visits_appointment WHERE id = ?", id, &o, e);
}

/* ---- a stored resource with a changed status ---- */

struct body_copy {
    char *text;
};

static int body_row(const struct store_row *row, void *ctx)
{
    struct body_copy *b = ctx;
    size_t n = 0;
    const char *t = store_row_text(row, 0, &n);
    b->text = t != NULL ? strndup(t, n) : NULL;
    return 1;
}

json_t *visits__stored_resource(struct store_tx *tx, const char *rtype, const char *id,
                                struct err *e)
{
    struct body_copy b = {0};
    struct store_value v[] = {STORE_TEXT_V(rtype), STORE_TEXT_V(id)};
    if (store_tx_query(tx,
                       "SELECT body FROM fhir_resource WHERE rtype = ? AND id = ? AND deleted = 0",
                       v, 2, body_row, &b, e) != 0)
        return NULL;
    if (b.text == NULL) {
        err_set(e, ERR_NOTFOUND, "%s/%s is not stored", rtype, id);
        return NULL;
    }
    json_t *r = jsonx_parse(b.text, strlen(b.text), e);
    free(b.text);
    if (r != NULL)
        json_object_del(r, "meta");
    return r;
}

/* ---- opening slots ---- */

struct sched_found {
    char id[IDS_LEN + 1];
};

static int sched_row(const struct store_row *row, void *ctx)
{
    struct sched_found *f = ctx;
    copy(f->id, sizeof f->id, row, 0);
    return 1;
}

static int exists_row(const struct store_row *row, void *ctx)
{
    (void)row;
    *(int *)ctx = 1;
    return 1;
}

int visits__open_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct visits__open *o = ctx;
    o->created = o->existing = 0;
    struct sched_found f = {""};
    struct store_value k[] = {STORE_TEXT_V(o->org), STORE_TEXT_V(o->practitioner)};
    int rc = store_tx_query(tx,
                            "SELECT id FROM visits_schedule WHERE org_id = ? AND "
                            "practitioner_id = ?",
                            k, 2, sched_row, &f, e);
    if (rc != 0)
        return rc;
    if (f.id[0] == '\0') {
        ids_new_ordered(f.id, o->now_ms);
        struct store_value v[] = {STORE_TEXT_V(f.id), STORE_TEXT_V(o->org),
                                  STORE_TEXT_V(o->practitioner), STORE_TEXT_V(o->specialty),
                                  STORE_INT_V(o->now_ms)};
        rc = store_tx_exec(tx,
                           "INSERT INTO visits_schedule (id, org_id, practitioner_id, specialty, "
                           "created_ms) VALUES (?, ?, ?, ?, ?)",
                           v, 5, e);
        if (rc < 0)
            return rc;
        json_t *sch = visits__fhir_schedule(f.id, o->org, o->practitioner, o->specialty);
        rc = visits__fhir_put(tx, "Schedule", f.id, sch, 1, NULL, NULL, NULL, o->now_ms, e);
        json_decref(sch);
        if (rc != 0)
            return rc;
    }
    memcpy(o->schedule_id, f.id, sizeof f.id);
    for (size_t i = 0; i < o->n; i++) {
        int exists = 0;
        struct store_value q[] = {STORE_TEXT_V(f.id), STORE_INT_V(o->starts[i])};
        rc = store_tx_query(tx, "SELECT 1 FROM visits_slot WHERE schedule_id = ? AND start_ms = ?",
                            q, 2, exists_row, &exists, e);
        if (rc != 0)
            return rc;
        if (exists) {
            o->existing++;
            o->ids[i][0] = '\0';
            continue;
        }
        struct visits_slot_row s;
        memset(&s, 0, sizeof s);
        ids_new_ordered(s.id, o->now_ms);
        memcpy(s.schedule_id, f.id, sizeof f.id);
        snprintf(s.org_id, sizeof s.org_id, "%s", o->org);
        snprintf(s.practitioner_id, sizeof s.practitioner_id, "%s", o->practitioner);
        snprintf(s.specialty, sizeof s.specialty, "%s", o->specialty);
        s.modes = o->modes;
        s.start_ms = o->starts[i];
        s.end_ms = o->starts[i] + (int64_t)o->step_min * VISITS_MIN_MS;
        struct store_value v[] = {
            STORE_TEXT_V(s.id),        STORE_TEXT_V(s.schedule_id),
            STORE_TEXT_V(s.org_id),    STORE_TEXT_V(s.practitioner_id),
            STORE_TEXT_V(s.specialty), STORE_TEXT_V(visits_mode_name(s.modes)),
            STORE_INT_V(s.start_ms),   STORE_INT_V(s.end_ms),
            STORE_INT_V(o->now_ms)};
        rc = store_tx_exec(tx,
                           "INSERT INTO visits_slot (id, schedule_id, org_id, practitioner_id, "
                           "specialty, modes, start_ms, end_ms, status, created_ms) VALUES (?, ?, "
                           "?, ?, ?, ?, ?, ?, 'free', ?)",
                           v, 9, e);
        if (rc < 0)
            return rc;
        json_t *slot = visits__fhir_slot(&s);
        rc = visits__fhir_put(tx, "Slot", s.id, slot, 1, NULL, NULL, NULL, o->now_ms, e);
        json_decref(slot);
        if (rc != 0)
            return rc;
        memcpy(o->ids[i], s.id, sizeof s.id);
        o->created++;
    }
    return 0;
}

/* ---- is a person a doctor of an organisation? ---- */

int visits__is_doctor(struct store *s, const char *person, const char *org, struct err *e)
{
    int found = 0;
    struct store_value v[] = {STORE_TEXT_V(person), STORE_TEXT_V(org)};
    int rc = store_query(s,
                         "SELECT 1 FROM practitioner_role WHERE person_id = ? AND org_id = ? AND "
                         "role = 'doctor' AND active = 1",
                         v, 2, exists_row, &found, e);
    return rc != 0 ? rc : found;
}

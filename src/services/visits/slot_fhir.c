/* slot_fhir.c - the FHIR R4 resources of the visits (Schedule, Slot, Appointment, Encounter, the
 * consultation's DiagnosticReport), rendered from the service's rows, the meeting link, and the
 * one helper that writes such a resource inside the caller's transaction with its audit entry. */
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/clock.h"
#include "fhir/validate.h"
#include "services/visits/internal.h"

#define SYS_MODE      "urn:cityos:visit-mode"
#define SYS_SPECIALTY "urn:cityos:specialty"
#define SYS_ACTCODE   "http://terminology.hl7.org/CodeSystem/v3-ActCode"
#define LOINC         "http://loinc.org"

static json_t *ref_of(const char *type, const char *id)
{
    char buf[FHIR_TYPE_MAX + FHIR_ID_MAX + 2];
    snprintf(buf, sizeof buf, "%s/%s", type, id);
    return json_pack("{s:s}", "reference", buf);
}

static json_t *specialty_cc(const char *specialty)
{
    return json_pack("[{s:[{s:s, s:s}]}]", "coding", "system", SYS_SPECIALTY, "code", specialty);
}

json_t *visits__fhir_schedule(const char *id, const char *org, const char *practitioner,
                              const char *specialty)
{
    json_t *r = json_pack("{s:s, s:s, s:b, s:o, s:[o], s:s}", "resourceType", "Schedule", "id", id,
                          "active", 1, "specialty", specialty_cc(specialty), "actor",
                          ref_of("Practitioner", practitioner), "comment", "cityos visits");
    if (r != NULL && org != NULL) {
        json_t *ident =
            json_pack("[{s:s, s:s}]", "system", "urn:cityos:organisation", "value", org);
        if (ident == NULL || json_object_set_new(r, "identifier", ident) != 0) {
            json_decref(r);
            return NULL;
        }
    }
    return r;
}

json_t *visits__fhir_slot(const struct visits_slot_row *s)
{
    char start[VISITS_INSTANT_LEN], end[VISITS_INSTANT_LEN];
    const char *mode = visits_mode_name(s->modes);
    return json_pack("{s:s, s:s, s:o, s:[{s:[{s:s, s:s}]}], s:o, s:s, s:s, s:s}", "resourceType",
                     "Slot", "id", s->id, "schedule", ref_of("Schedule", s->schedule_id),
                     "serviceType", "coding", "system", SYS_MODE, "code", mode != NULL ? mode : "",
                     "specialty", specialty_cc(s->specialty), "status", s->busy ? "busy" : "free",
                     "start", visits_instant_format(s->start_ms, start), "end",
                     visits_instant_format(s->end_ms, end));
}

json_t *visits__fhir_appointment(const struct visits_appt_row *a, const char *specialty,
                                 const char *comment, const char *cancel_reason)
{
    char start[VISITS_INSTANT_LEN], end[VISITS_INSTANT_LEN], created[40];
    clock_format_ms(a->created_ms, created, sizeof created);
    const char *status = strcmp(a->status, "cancelled") == 0   ? "cancelled"
                         : strcmp(a->status, "fulfilled") == 0 ? "fulfilled"
                         : strcmp(a->status, "arrived") == 0   ? "arrived"
                                                               : "booked";
    json_t *r = json_pack(
        "{s:s, s:s, s:s, s:{s:[{s:s, s:s}]}, s:o, s:s, s:s, s:I, s:[o], s:s, "
        "s:[{s:o, s:s, s:s}, {s:o, s:s, s:s}]}",
        "resourceType", "Appointment", "id", a->id, "status", status, "appointmentType", "coding",
        "system", SYS_MODE, "code", visits_mode_name(a->mode), "specialty",
        specialty_cc(specialty != NULL ? specialty : "general"), "start",
        visits_instant_format(a->start_ms, start), "end", visits_instant_format(a->end_ms, end),
        "minutesDuration", (json_int_t)((a->end_ms - a->start_ms) / VISITS_MIN_MS), "slot",
        ref_of("Slot", a->slot_id), "created", created, "participant", "actor",
        ref_of("Patient", a->subject_id), "required", "required", "status", "accepted", "actor",
        ref_of("Practitioner", a->practitioner_id), "required", "required", "status", "accepted");
    int bad = r == NULL;
    if (!bad && a->qr_id[0] != '\0')
        bad = json_object_set_new(r, "supportingInformation",
                                  json_pack("[o]", ref_of("QuestionnaireResponse", a->qr_id))) != 0;
    if (!bad && comment != NULL)
        bad = json_object_set_new(r, "comment", json_string(comment)) != 0;
    if (!bad && cancel_reason != NULL)
        bad = json_object_set_new(r, "cancelationReason",
                                  json_pack("{s:s}", "text", cancel_reason)) != 0;
    if (bad) {
        json_decref(r);
        return NULL;
    }
    return r;
}

json_t *visits__fhir_encounter(const struct visits_appt_row *a, const char *id, const char *status,
                               int64_t start_ms, int64_t end_ms)
{
    char start[40], end[40];
    int online = a->mode == VISITS_ONLINE;
    json_t *period = json_pack("{s:s}", "start", clock_format_ms(start_ms, start, sizeof start));
    if (period != NULL && end_ms > 0 &&
        json_object_set_new(period, "end", json_string(clock_format_ms(end_ms, end, sizeof end))) !=
            0) {
        json_decref(period);
        return NULL;
    }
    return json_pack("{s:s, s:s, s:s, s:{s:s, s:s, s:s}, s:o, s:[{s:o}], s:[o], s:o, s:o}",
                     "resourceType", "Encounter", "id", id, "status", status, "class", "system",
                     SYS_ACTCODE, "code", online ? "VR" : "AMB", "display",
                     online ? "virtual" : "ambulatory", "subject", ref_of("Patient", a->subject_id),
                     "participant", "individual", ref_of("Practitioner", a->practitioner_id),
                     "appointment", ref_of("Appointment", a->id), "period", period,
                     "serviceProvider", ref_of("Organization", a->org_id));
}

json_t *visits__fhir_report(const struct visits_appt_row *a, const char *id,
                            const char *encounter_id, const char *notes, int64_t now_ms)
{
    char issued[40];
    clock_format_ms(now_ms, issued, sizeof issued);
    return json_pack(
        "{s:s, s:s, s:s, s:{s:[{s:s, s:s, s:s}], s:s}, s:o, s:o, s:s, s:s, s:[o], "
        "s:s}",
        "resourceType", "DiagnosticReport", "id", id, "status", "final", "code", "coding", "system",
        LOINC, "code", "11488-4", "display", "Consult note", "text",
        "診察記録 / Consultation notes", "subject", ref_of("Patient", a->subject_id), "encounter",
        ref_of("Encounter", encounter_id), "effectiveDateTime", issued, "issued", issued,
        "performer", ref_of("Practitioner", a->practitioner_id), "conclusion", notes);
}

char *visits__meeting_link(struct arena *a, const char *tmpl, const char *room)
{
    size_t n = 0, rl = strlen(room);
    for (const char *p = tmpl; *p != '\0';) {
        if (strncmp(p, "{room}", 6) == 0) {
            n += rl;
            p += 6;
        } else {
            n++;
            p++;
        }
        if (n > VISITS_URL_MAX)
            return NULL;
    }
    char *out = arena_alloc(a, n + 1), *o = out;
    if (out == NULL)
        return NULL;
    for (const char *p = tmpl; *p != '\0';) {
        if (strncmp(p, "{room}", 6) == 0) {
            memcpy(o, room, rl);
            o += rl;
            p += 6;
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
    return out;
}

int visits__fhir_put(struct store_tx *tx, const char *rtype, const char *id, json_t *res,
                     int create, const char *subject, const char *category,
                     const struct audit_event *ev, int64_t now_ms, struct err *e)
{
    if (res == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    struct fhir_issues is;
    fhir_issues_init(&is, NULL, NULL);
    if (fhir_validate(res, rtype, &is) != 0 || is.nerrors > 0)
        return err_set(e, ERR_INTERNAL, "visits: a rendered %s is not valid: %.100s: %.100s", rtype,
                       is.n > 0 ? is.items[0].expression : "",
                       is.n > 0 ? is.items[0].diagnostics : "");
    struct fhir_write w;
    memset(&w, 0, sizeof w);
    w.op = create ? FHIR_WRITE_CREATE : FHIR_WRITE_UPDATE;
    w.rtype = rtype;
    snprintf(w.id, sizeof w.id, "%s", id);
    w.resource = res;
    w.subject = subject;
    w.category = category;
    w.now_ms = now_ms;
    w.create_missing = 1;
    if (subject != NULL && ev != NULL) {
        w.record_audit = 1;
        w.ev = *ev;
        w.ev.subject = subject;
        w.ev.action = create ? "create" : "update";
        w.ev.resource_type = rtype;
        w.ev.resource_id = w.id;
        w.ev.category = category;
        if (w.ev.source_addr == NULL)
            w.ev.source_addr = "visits";
    }
    int rc = fhir_resource_write_fn(tx, &w, e);
    fhir_write_release(&w);
    return rc;
}

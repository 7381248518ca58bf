/* payload_map.c - a parsed device reading as the FHIR resource cityos stores (payload.h): LOINC
 * codes, UCUM units, the vital-signs category, the bound citizen, the device and its kind. */
#include "ingest/payload.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define SYS_LOINC   "http://loinc.org"
#define SYS_UCUM    "http://unitsofmeasure.org"
#define SYS_SNOMED  "http://snomed.info/sct"
#define SYS_OBSCAT  "http://terminology.hl7.org/CodeSystem/observation-category"
#define SYS_MACAT   "http://terminology.hl7.org/CodeSystem/medication-admin-category"
#define SYS_READING "urn:cityos:device-reading" /* identifier: "<device id>/<time ms>" */
#define SYS_DEVICE  "urn:cityos:device"         /* the cityos device id */

const char *ingest_reading_code(const struct ingest_reading *r)
{
    switch (r->kind) {
    case INGEST_BP:
        return "85354-9";
    case INGEST_WEIGHT:
        return "29463-7";
    case INGEST_TEMPERATURE:
        return "8310-5";
    case INGEST_SPO2:
        return "59408-5";
    case INGEST_GLUCOSE:
        return "2339-0";
    case INGEST_PILLBOX:
        return "pillbox-opened";
    case INGEST_DOSE:
        return INGEST_CODE_DOSE;
    case INGEST_FHIR: {
        const json_t *c =
            json_array_get(json_object_get(json_object_get(r->fhir, "code"), "coding"), 0);
        const char *code = json_string_value(json_object_get(c, "code"));
        return code != NULL ? code : "";
    }
    }
    return "";
}

static const char *device_display(const char *kind)
{
    static const struct {
        const char *kind, *display;
    } names[] = {
        {"bp-wrist", "wrist blood pressure monitor"},
        {"bp-upper-arm", "upper-arm cuff blood pressure monitor"},
        {"scale", "body weight scale"},
        {"thermometer", "thermometer"},
        {"pulse-oximeter", "pulse oximeter"},
        {"glucose-meter", "blood glucose meter"},
        {"pillbox", "pill box"},
    };
    for (size_t i = 0; kind != NULL && i < sizeof names / sizeof names[0]; i++)
        if (strcmp(kind, names[i].kind) == 0)
            return names[i].display;
    return "home device";
}

/* Where the cuff sits (SNOMED CT body structures), or NULL for devices that have no site. */
static json_t *body_site(const char *kind)
{
    if (kind == NULL)
        return NULL;
    if (strcmp(kind, "bp-wrist") == 0)
        return json_pack("{s:[{s:s, s:s, s:s}], s:s}", "coding", "system", SYS_SNOMED, "code",
                         "8205005", "display", "Wrist region structure", "text", "wrist");
    if (strcmp(kind, "bp-upper-arm") == 0)
        return json_pack("{s:[{s:s, s:s, s:s}], s:s}", "coding", "system", SYS_SNOMED, "code",
                         "40983000", "display", "Upper arm structure", "text", "upper arm");
    return NULL;
}

static json_t *device_ref(const struct ingest_source *src)
{
    if (src->fhir_device_id != NULL && src->fhir_device_id[0] != '\0') {
        char ref[96];
        snprintf(ref, sizeof ref, "Device/%.64s", src->fhir_device_id);
        return json_pack("{s:s, s:s}", "reference", ref, "display", device_display(src->kind));
    }
    return json_pack("{s:{s:s, s:s}, s:s}", "identifier", "system", SYS_DEVICE, "value",
                     src->device_id, "display", device_display(src->kind));
}

static json_t *codeable(const char *system, const char *code, const char *display)
{
    return json_pack("{s:[{s:s, s:s, s:s}], s:s}", "coding", "system", system, "code", code,
                     "display", display, "text", display);
}

static json_t *quantity(double value, const char *unit, const char *ucum)
{
    return json_pack("{s:f, s:s, s:s, s:s}", "value", value, "unit", unit, "system", SYS_UCUM,
                     "code", ucum);
}

static json_t *component(const char *code, const char *display, double value, const char *unit,
                         const char *ucum)
{
    return json_pack("{s:o, s:o}", "code", codeable(SYS_LOINC, code, display), "valueQuantity",
                     quantity(value, unit, ucum));
}

static json_t *identifier(const struct ingest_source *src, const struct ingest_reading *r)
{
    char value[128];
    snprintf(value, sizeof value, "%.64s/%" PRId64, src->device_id, r->time_ms);
    return json_pack("[{s:s, s:s}]", "system", SYS_READING, "value", value);
}

static json_t *observation(const struct ingest_reading *r, const struct ingest_source *src,
                           const char *subject_ref)
{
    json_t *o = json_pack("{s:s, s:o, s:s, s:[{s:[{s:s, s:s, s:s}]}], s:{s:s}, s:s, s:o}",
                          "resourceType", "Observation", "identifier", identifier(src, r), "status",
                          "final", "category", "coding", "system", SYS_OBSCAT, "code",
                          "vital-signs", "display", "Vital Signs", "subject", "reference",
                          subject_ref, "effectiveDateTime", r->time, "device", device_ref(src));
    if (o == NULL)
        return NULL;
    int bad = 0;
    switch (r->kind) {
    case INGEST_BP: {
        bad |= json_object_set_new(
            o, "code",
            codeable(SYS_LOINC, "85354-9", "Blood pressure panel with all children optional"));
        json_t *site = body_site(src->kind);
        if (site != NULL)
            bad |= json_object_set_new(o, "bodySite", site);
        json_t *comps = json_array();
        bad |= json_array_append_new(
            comps, component("8480-6", "Systolic blood pressure", r->sys, "mmHg", "mm[Hg]"));
        bad |= json_array_append_new(
            comps, component("8462-4", "Diastolic blood pressure", r->dia, "mmHg", "mm[Hg]"));
        if (r->pulse > 0)
            bad |= json_array_append_new(
                comps, component("8867-4", "Heart rate", r->pulse, "beats/minute", "/min"));
        bad |= json_object_set_new(o, "component", comps);
        break;
    }
    case INGEST_WEIGHT:
        bad |= json_object_set_new(o, "code", codeable(SYS_LOINC, "29463-7", "Body weight"));
        bad |= json_object_set_new(o, "valueQuantity", quantity(r->value, "kg", "kg"));
        break;
    case INGEST_TEMPERATURE:
        bad |= json_object_set_new(o, "code", codeable(SYS_LOINC, "8310-5", "Body temperature"));
        bad |= json_object_set_new(o, "valueQuantity", quantity(r->value, "Cel", "Cel"));
        break;
    case INGEST_SPO2: {
        json_t *code = json_pack("{s:[{s:s, s:s, s:s}, {s:s, s:s, s:s}], s:s}", "coding", "system",
                                 SYS_LOINC, "code", "59408-5", "display",
                                 "Oxygen saturation in Arterial blood by Pulse oximetry", "system",
                                 SYS_LOINC, "code", "2708-6", "display",
                                 "Oxygen saturation in Arterial blood", "text", "SpO2");
        bad |= json_object_set_new(o, "code", code);
        bad |= json_object_set_new(o, "valueQuantity", quantity(r->spo2, "%", "%"));
        if (r->pulse > 0)
            bad |= json_object_set_new(o, "component",
                                       json_pack("[o]", component("8867-4", "Heart rate", r->pulse,
                                                                  "beats/minute", "/min")));
        break;
    }
    case INGEST_GLUCOSE:
        bad |= json_object_set_new(o, "code",
                                   codeable(SYS_LOINC, "2339-0", "Glucose [Mass/volume] in Blood"));
        bad |= json_object_set_new(o, "valueQuantity", quantity(r->value, "mg/dL", "mg/dL"));
        if (r->meal != NULL) {
            char note[64];
            snprintf(note, sizeof note, "meal: %s", r->meal);
            bad |= json_object_set_new(o, "note", json_pack("[{s:s}]", "text", note));
        }
        break;
    default:
        bad = 1;
    }
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *pillbox(const struct ingest_reading *r, const struct ingest_source *src,
                       const char *subject_ref)
{
    char text[64];
    snprintf(text, sizeof text, "pill-box compartment: %s", r->slot);
    return json_pack("{s:s, s:o, s:s, s:{s:[{s:s, s:s, s:s}]}, s:{s:s}, s:{s:s}, s:s, s:[o], "
                     "s:[{s:s}]}",
                     "resourceType", "MedicationAdministration", "identifier", identifier(src, r),
                     "status", "completed", "category", "coding", "system", SYS_MACAT, "code",
                     "community", "display", "Community", "medicationCodeableConcept", "text", text,
                     "subject", "reference", subject_ref, "effectiveDateTime", r->time, "device",
                     device_ref(src), "note", "text",
                     "the pill box reported this compartment opened; the dose itself "
                     "is not observed");
}

/* One scheduled dose a pill box reports (INGEST_DOSE) as a MedicationAdministration:
 * effectiveDateTime the scheduled time; status completed (taken, late) or not-done with a
 * statusReason (missed); the device; the medication as the box names it, else its compartment;
 * the extension INGEST_EXT_DOSE with what the box said (status, takenAt, slot), which the home
 * doctor's adherence rule reads (docs/internals/homedoctor.md, "Rule 6"). */
static json_t *dose(const struct ingest_reading *r, const struct ingest_source *src,
                    const char *subject_ref)
{
    int missed = strcmp(r->dose, "missed") == 0;
    char med[sizeof r->med + 32];
    if (r->med[0] != '\0')
        snprintf(med, sizeof med, "%s", r->med);
    else if (r->slot != NULL)
        snprintf(med, sizeof med, "pill-box compartment: %s", r->slot);
    else
        snprintf(med, sizeof med, "the medicine in the pill box");
    json_t *ext = json_pack("[{s:s, s:s}]", "url", "status", "valueCode", r->dose);
    int bad = ext == NULL;
    if (!bad && r->at[0] != '\0')
        bad |= json_array_append_new(
            ext, json_pack("{s:s, s:s}", "url", "takenAt", "valueDateTime", r->at));
    if (!bad && r->slot != NULL)
        bad |= json_array_append_new(ext,
                                     json_pack("{s:s, s:s}", "url", "slot", "valueCode", r->slot));
    json_t *o = json_pack(
        "{s:s, s:[{s:s, s:o}], s:o, s:s, s:{s:[{s:s, s:s, s:s}]}, s:{s:s}, s:{s:s}, s:s, s:[o], "
        "s:[{s:s}]}",
        "resourceType", "MedicationAdministration", "extension", "url", INGEST_EXT_DOSE,
        "extension", ext, "identifier", identifier(src, r), "status",
        missed ? "not-done" : "completed", "category", "coding", "system", SYS_MACAT, "code",
        "community", "display", "Community", "medicationCodeableConcept", "text", med, "subject",
        "reference", subject_ref, "effectiveDateTime", r->time, "device", device_ref(src), "note",
        "text",
        missed ? "the pill box reported this scheduled dose missed: not taken from the box"
        : strcmp(r->dose, "late") == 0
            ? "the pill box reported this scheduled dose taken late; the dose itself is "
              "not observed"
            : "the pill box reported this scheduled dose taken; the dose itself is not "
              "observed");
    if (o == NULL || bad) {
        json_decref(o);
        return NULL;
    }
    if (missed && json_object_set_new(
                      o, "statusReason",
                      json_pack("[{s:[{s:s, s:s, s:s}], s:s}]", "coding", "system",
                                INGEST_SYS_DOSE_STATUS, "code", "missed", "display", "Dose missed",
                                "text", "missed: the pill box reported the dose not taken")) != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* A device's own Observation: subject and device must be absent or name the bound citizen and
 * this device; they are filled in, and the cuff's site for a blood-pressure monitor. */
static json_t *own_observation(const struct ingest_reading *r, const struct ingest_source *src,
                               const char *subject_ref, struct err *e)
{
    json_t *o = json_deep_copy(r->fhir);
    if (o == NULL) {
        err_set(e, ERR_NOMEM, "out of memory");
        return NULL;
    }
    const char *subj =
        json_string_value(json_object_get(json_object_get(o, "subject"), "reference"));
    if (json_object_get(o, "subject") != NULL && (subj == NULL || strcmp(subj, subject_ref) != 0)) {
        json_decref(o);
        err_set(e, ERR_INVALID, "/subject: a device writes only for the citizen it is bound to");
        return NULL;
    }
    const json_t *dev = json_object_get(o, "device");
    if (dev != NULL) {
        char want[96];
        snprintf(want, sizeof want, "Device/%.64s",
                 src->fhir_device_id != NULL ? src->fhir_device_id : "");
        const char *dref = json_string_value(json_object_get(dev, "reference"));
        if (dref == NULL || src->fhir_device_id == NULL || strcmp(dref, want) != 0) {
            json_decref(o);
            err_set(e, ERR_INVALID, "/device: must be absent or name this device");
            return NULL;
        }
    }
    int bad = json_object_set_new(o, "subject", json_pack("{s:s}", "reference", subject_ref));
    if (dev == NULL)
        bad |= json_object_set_new(o, "device", device_ref(src));
    if (json_object_get(o, "identifier") == NULL)
        bad |= json_object_set_new(o, "identifier", identifier(src, r));
    json_t *site = json_object_get(o, "bodySite") == NULL ? body_site(src->kind) : NULL;
    if (site != NULL)
        bad |= json_object_set_new(o, "bodySite", site);
    if (bad) {
        json_decref(o);
        err_set(e, ERR_NOMEM, "out of memory");
        return NULL;
    }
    return o;
}

json_t *ingest_map_resource(const struct ingest_reading *r, const struct ingest_source *src,
                            const char **rtype, struct err *e)
{
    char subject_ref[96];
    if (src->subject == NULL || src->device_id == NULL) {
        err_set(e, ERR_INVALID, "the device is not bound to a citizen");
        return NULL;
    }
    snprintf(subject_ref, sizeof subject_ref, "Patient/%.64s", src->subject);
    json_t *o;
    if (r->kind == INGEST_FHIR) {
        *rtype = "Observation";
        return own_observation(r, src, subject_ref, e);
    }
    if (r->kind == INGEST_PILLBOX) {
        *rtype = "MedicationAdministration";
        o = pillbox(r, src, subject_ref);
    } else if (r->kind == INGEST_DOSE) {
        *rtype = "MedicationAdministration";
        o = dose(r, src, subject_ref);
    } else {
        *rtype = "Observation";
        o = observation(r, src, subject_ref);
    }
    if (o == NULL)
        err_set(e, ERR_NOMEM, "out of memory mapping the reading");
    return o;
}

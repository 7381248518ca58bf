/* payload.h - what a home device sends on its readings topic (docs/internals/ingest.md): the
 * compact device format (one small JSON object per reading) or a FHIR R4 Observation; parsed
 * strictly (bounded size, unknown members refused) into one reading, then mapped to the FHIR
 * resource cityos stores (payload_map.c). No store, no network: pure functions, fuzzed. */
#ifndef COS_INGEST_PAYLOAD_H
#define COS_INGEST_PAYLOAD_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define INGEST_PAYLOAD_MAX 16384 /* bytes: a compact reading is < 200, an Observation < 4 KiB */
#define INGEST_TIME_MAX    40    /* "2026-11-24T07:01:00.123+09:00" and some slack */
#define INGEST_FUTURE_MS   (10 * 60 * 1000) /* a device clock may run this much ahead */

enum ingest_kind {
    INGEST_BP,          /* {"t","sys","dia"[,"pulse"]}: mm[Hg], beats/min */
    INGEST_WEIGHT,      /* {"t","kg"} */
    INGEST_TEMPERATURE, /* {"t","cel"} */
    INGEST_SPO2,        /* {"t","spo2"[,"pulse"]}: percent */
    INGEST_GLUCOSE,     /* {"t","glu"[,"meal"]}: mg/dL; meal "fasting", "before", "after" */
    INGEST_PILLBOX,     /* {"t","opened"}: compartment "morning", "noon", "evening", "bedtime" */
    INGEST_FHIR,        /* a FHIR R4 Observation (fhir set) */
    INGEST_DOSE, /* pill box: {"t","dose"[,"at"][,"slot"][,"med"]}: one scheduled dose, "t" its
                  * scheduled time, "dose" "taken", "late" or "missed", "at" when it was taken */
};

#define INGEST_MED_MAX        100 /* characters of a dose's medication text ("med") */
#define INGEST_DOSE_AT_MAX_MS (24LL * 3600 * 1000) /* "at" within a day of the scheduled "t" */

/* One reading. Plain value; release with ingest_reading_release() (frees fhir). */
struct ingest_reading {
    enum ingest_kind kind;
    char time[INGEST_TIME_MAX + 1]; /* the measurement time as the device wrote it (with zone) */
    int64_t time_ms;                /* the same instant, Unix ms UTC: the duplicate key */
    int sys, dia;                   /* BP */
    int pulse;                      /* BP, SpO2: 0 when absent */
    int spo2;                       /* SpO2 */
    double value;                   /* weight kg, temperature Cel, glucose mg/dL */
    const char *meal;               /* glucose: static text, or NULL */
    const char *slot;               /* pill box: static text (a dose: or NULL) */
    json_t *fhir;                   /* INGEST_FHIR: the Observation (owned) */
    /* INGEST_DOSE (time/time_ms above: the scheduled time, the duplicate key) */
    const char *dose;                 /* static: "taken", "late" or "missed" */
    char at[INGEST_TIME_MAX + 1];     /* when it was taken as the device wrote it, or "" */
    int64_t at_ms;                    /* the same instant, 0 when absent */
    char med[INGEST_MED_MAX * 4 + 1]; /* the medication as the device names it (UTF-8), or "" */
};

/* Parses buf[0..len) received at now_ms. A JSON object with "resourceType" is read as a FHIR
 * Observation: "Observation", R4-valid, effectiveDateTime with a zone (the duplicate key), no
 * "id", "meta", "contained"; anything else as the compact format: exactly the members of one
 * kind, each in range, "t" an RFC 3339 date-time with seconds and a zone. Readings more than
 * INGEST_FUTURE_MS after now_ms, or before 2000, are refused. Returns 0 (out filled; release it),
 * ERR_TOOBIG (over INGEST_PAYLOAD_MAX), ERR_INVALID with e saying why (never quoting values),
 * or ERR_NOMEM. */
int ingest_payload_parse(const void *buf, size_t len, int64_t now_ms, struct ingest_reading *out,
                         struct err *e);

void ingest_reading_release(struct ingest_reading *r);

/* "bp", "weight", "temperature", "spo2", "glucose", "pillbox", "fhir" or "dose". */
const char *ingest_kind_name(enum ingest_kind k);

/* The device a reading came from, as the mapping needs it. */
struct ingest_source {
    const char *device_id;      /* the cityos device id (its MQTT user name) */
    const char *kind;           /* "bp-wrist", "bp-upper-arm", "pillbox", "scale", ... */
    const char *subject;        /* the citizen it is bound to (Patient id) */
    const char *fhir_device_id; /* its FHIR Device id, or NULL */
};

/* Does a device of this kind produce readings of kind k? (A FHIR Observation is accepted from
 * any measuring device; a pill box sends only its compact events.) */
int ingest_kind_fits(const char *device_kind, enum ingest_kind k);

/* The FHIR resource for r from src (payload_map.c): an Observation (vital-signs category,
 * LOINC code, UCUM quantities, effectiveDateTime, subject, device, and for blood pressure the
 * bodySite of the cuff: wrist or upper arm, SNOMED CT), or for a pill box a
 * MedicationAdministration. For INGEST_FHIR, r->fhir with subject, device and bodySite filled
 * in where absent; a subject or device naming anyone or anything else is ERR_INVALID. Returns a
 * new reference, or NULL with e set (ERR_INVALID, ERR_NOMEM). *rtype is the resource type. */
json_t *ingest_map_resource(const struct ingest_reading *r, const struct ingest_source *src,
                            const char **rtype, struct err *e);

/* The LOINC (or, for a pill box, "pillbox-opened" / INGEST_CODE_DOSE) code of a mapped
 * reading, for events. */
#define INGEST_CODE_DOSE "pillbox-dose"
/* The extension of a dose's MedicationAdministration (sub-extensions "status" valueCode taken /
 * late / missed, "takenAt" valueDateTime, "slot" valueCode) and the statusReason system of a
 * missed one. */
#define INGEST_EXT_DOSE        "urn:cityos:pillbox-dose"
#define INGEST_SYS_DOSE_STATUS "urn:cityos:pillbox-dose-status"
const char *ingest_reading_code(const struct ingest_reading *r);

#endif

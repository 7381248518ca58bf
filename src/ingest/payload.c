/* payload.c - the strict parser of device payloads (payload.h): the compact format and FHIR
 * Observation JSON, into one struct ingest_reading. */
#include "ingest/payload.h"

#include <math.h>
#include <string.h>

#include "base/clock.h"
#include "base/jsonx.h"
#include "fhir/validate.h"

#define EARLIEST_MS 946684800000LL /* 2000-01-01T00:00:00Z: older is a clock that was never set */

const char *ingest_kind_name(enum ingest_kind k)
{
    static const char *const names[] = {"bp",      "weight",  "temperature", "spo2",
                                        "glucose", "pillbox", "fhir",        "dose"};
    return (int)k >= 0 && (size_t)k < sizeof names / sizeof names[0] ? names[k] : "unknown";
}

void ingest_reading_release(struct ingest_reading *r)
{
    if (r == NULL)
        return;
    json_decref(r->fhir);
    r->fhir = NULL;
}

/* An RFC 3339 date-time with seconds and an explicit zone, within [2000, now + slack], into
 * text[INGEST_TIME_MAX + 1] and *out_ms. */
static int parse_instant(const json_t *v, const char *where, int64_t now_ms, char *text,
                         int64_t *out_ms, struct err *e)
{
    const char *s = json_string_value(v);
    if (s == NULL)
        return err_set(e, ERR_INVALID, "%s: a date-time string is required", where);
    size_t n = json_string_length(v);
    if (n < 20 || n > INGEST_TIME_MAX || strlen(s) != n)
        return err_set(e, ERR_INVALID, "%s: not an RFC 3339 date-time with a zone", where);
    /* the zone must be explicit: "Z" or "+hh:mm" / "-hh:mm" at the end */
    int zoned =
        s[n - 1] == 'Z' || (n > 6 && (s[n - 6] == '+' || s[n - 6] == '-') && s[n - 3] == ':');
    int64_t ms = 0;
    /* and a FHIR dateTime as it will be stored (upper-case T, seconds, the zone) */
    if (!zoned || !fhir_primitive_string_ok("dateTime", s, n) || clock_parse_rfc3339(s, &ms) != 0)
        return err_set(e, ERR_INVALID, "%s: not an RFC 3339 date-time with seconds and a zone",
                       where);
    if (ms < EARLIEST_MS)
        return err_set(e, ERR_INVALID, "%s: before the year 2000 (is the device clock set?)",
                       where);
    if (ms > now_ms + INGEST_FUTURE_MS)
        return err_set(e, ERR_INVALID, "%s: more than 10 minutes in the future", where);
    memcpy(text, s, n + 1);
    *out_ms = ms;
    return 0;
}

static int parse_time(const json_t *v, const char *where, int64_t now_ms, struct ingest_reading *r,
                      struct err *e)
{
    return parse_instant(v, where, now_ms, r->time, &r->time_ms, e);
}

/* obj[key] as an integer in [lo, hi]. Returns 0, ERR_NOTFOUND (absent, *out untouched) or
 * ERR_INVALID. */
static int get_int(const json_t *obj, const char *key, int lo, int hi, int *out, struct err *e)
{
    const json_t *v = json_object_get(obj, key);
    if (v == NULL)
        return ERR_NOTFOUND;
    if (!json_is_integer(v))
        return err_set(e, ERR_INVALID, "/%s: an integer is required", key);
    json_int_t x = json_integer_value(v);
    if (x < lo || x > hi)
        return err_set(e, ERR_INVALID, "/%s: out of range [%d, %d]", key, lo, hi);
    *out = (int)x;
    return 0;
}

/* obj[key] as a number in [lo, hi]. Same returns. */
static int get_number(const json_t *obj, const char *key, double lo, double hi, double *out,
                      struct err *e)
{
    const json_t *v = json_object_get(obj, key);
    if (v == NULL)
        return ERR_NOTFOUND;
    if (!json_is_number(v))
        return err_set(e, ERR_INVALID, "/%s: a number is required", key);
    double x = json_number_value(v);
    if (!isfinite(x) || x < lo || x > hi)
        return err_set(e, ERR_INVALID, "/%s: out of range [%g, %g]", key, lo, hi);
    *out = x;
    return 0;
}

/* obj[key] as one of the words (NULL-terminated); *out points at the static word. */
static int get_word(const json_t *obj, const char *key, const char *const *words, const char **out,
                    struct err *e)
{
    const json_t *v = json_object_get(obj, key);
    if (v == NULL)
        return ERR_NOTFOUND;
    const char *s = json_string_value(v);
    for (size_t i = 0; s != NULL && words[i] != NULL; i++)
        if (strcmp(s, words[i]) == 0 && strlen(words[i]) == json_string_length(v)) {
            *out = words[i];
            return 0;
        }
    return err_set(e, ERR_INVALID, "/%s: not one of the accepted words", key);
}

static int required(int rc, const char *key, struct err *e)
{
    return rc == ERR_NOTFOUND ? err_set(e, ERR_INVALID, "/%s: required", key) : rc;
}

struct compact_kind {
    enum ingest_kind kind;
    const char *key; /* the member that says which kind it is */
    const char *const *members;
};

static const char *const bp_members[] = {"t", "sys", "dia", "pulse", NULL};
static const char *const weight_members[] = {"t", "kg", NULL};
static const char *const temp_members[] = {"t", "cel", NULL};
static const char *const spo2_members[] = {"t", "spo2", "pulse", NULL};
static const char *const glu_members[] = {"t", "glu", "meal", NULL};
static const char *const pill_members[] = {"t", "opened", NULL};
static const char *const dose_members[] = {"t", "dose", "at", "slot", "med", NULL};
static const char *const pill_slots[] = {"morning", "noon", "evening", "bedtime", NULL};

static const struct compact_kind compact_kinds[] = {
    {INGEST_BP, "sys", bp_members},
    {INGEST_WEIGHT, "kg", weight_members},
    {INGEST_TEMPERATURE, "cel", temp_members},
    {INGEST_SPO2, "spo2", spo2_members},
    {INGEST_GLUCOSE, "glu", glu_members},
    {INGEST_PILLBOX, "opened", pill_members},
    {INGEST_DOSE, "dose", dose_members},
};

/* A dose event: "t" (parsed already) is the scheduled time; "dose" what became of it; "at"
 * (taken and late only) when it was taken, within a day of "t"; "slot" the compartment; "med"
 * the medication, 1..INGEST_MED_MAX characters without control characters. */
static int parse_dose(const json_t *doc, int64_t now_ms, struct ingest_reading *r, struct err *e)
{
    static const char *const doses[] = {"taken", "late", "missed", NULL};
    int rc = required(get_word(doc, "dose", doses, &r->dose, e), "dose", e);
    if (rc != 0)
        return rc;
    const json_t *at = json_object_get(doc, "at");
    if (at != NULL) {
        if (strcmp(r->dose, "missed") == 0)
            return err_set(e, ERR_INVALID, "/at: a missed dose was not taken");
        if ((rc = parse_instant(at, "/at", now_ms, r->at, &r->at_ms, e)) != 0)
            return rc;
        int64_t d = r->at_ms - r->time_ms;
        if (d < -INGEST_DOSE_AT_MAX_MS || d > INGEST_DOSE_AT_MAX_MS)
            return err_set(e, ERR_INVALID, "/at: more than a day from the scheduled time /t");
    }
    rc = get_word(doc, "slot", pill_slots, &r->slot, e);
    if (rc != 0 && rc != ERR_NOTFOUND)
        return rc;
    const char *med = NULL;
    rc = jsonx_get_string(doc, "med", INGEST_MED_MAX, "", &med, e);
    if (rc == ERR_NOTFOUND)
        return 0;
    if (rc != 0)
        return rc;
    size_t n = strlen(med);
    if (n >= sizeof r->med || n != json_string_length(json_object_get(doc, "med")))
        return err_set(e, ERR_INVALID, "/med: not a text (NUL, or too long)");
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)med[i] < 0x20 || med[i] == 0x7f)
            return err_set(e, ERR_INVALID, "/med: control characters are not allowed");
    memcpy(r->med, med, n + 1);
    return 0;
}

static int parse_compact(const json_t *doc, int64_t now_ms, struct ingest_reading *r, struct err *e)
{
    const struct compact_kind *k = NULL;
    for (size_t i = 0; i < sizeof compact_kinds / sizeof compact_kinds[0]; i++) {
        if (json_object_get(doc, compact_kinds[i].key) == NULL)
            continue;
        if (k != NULL)
            return err_set(e, ERR_INVALID, "/%s and /%s: one reading per message", k->key,
                           compact_kinds[i].key);
        k = &compact_kinds[i];
    }
    if (k == NULL && json_object_get(doc, "dia") != NULL)
        k = &compact_kinds[0]; /* "dia" without "sys": reported as /sys required below */
    if (k == NULL)
        return err_set(e, ERR_INVALID,
                       "not a reading: expected one of sys/dia, kg, cel, spo2, glu, opened, dose");
    int rc = jsonx_only_keys(doc, k->members, "", e);
    if (rc != 0)
        return rc;
    r->kind = k->kind;
    const json_t *t = json_object_get(doc, "t");
    if (t == NULL)
        return err_set(e, ERR_INVALID, "/t: required (the measurement time)");
    if ((rc = parse_time(t, "/t", now_ms, r, e)) != 0)
        return rc;
    switch (k->kind) {
    case INGEST_BP:
        if ((rc = required(get_int(doc, "sys", 40, 300, &r->sys, e), "sys", e)) != 0 ||
            (rc = required(get_int(doc, "dia", 20, 200, &r->dia, e), "dia", e)) != 0)
            return rc;
        if (r->dia >= r->sys)
            return err_set(e, ERR_INVALID, "/dia: must be below /sys");
        rc = get_int(doc, "pulse", 20, 300, &r->pulse, e);
        return rc == ERR_NOTFOUND ? 0 : rc;
    case INGEST_WEIGHT:
        return required(get_number(doc, "kg", 0.5, 400, &r->value, e), "kg", e);
    case INGEST_TEMPERATURE:
        return required(get_number(doc, "cel", 30, 45, &r->value, e), "cel", e);
    case INGEST_SPO2:
        if ((rc = required(get_int(doc, "spo2", 50, 100, &r->spo2, e), "spo2", e)) != 0)
            return rc;
        rc = get_int(doc, "pulse", 20, 300, &r->pulse, e);
        return rc == ERR_NOTFOUND ? 0 : rc;
    case INGEST_GLUCOSE: {
        static const char *const meals[] = {"fasting", "before", "after", NULL};
        if ((rc = required(get_number(doc, "glu", 10, 1000, &r->value, e), "glu", e)) != 0)
            return rc;
        rc = get_word(doc, "meal", meals, &r->meal, e);
        return rc == ERR_NOTFOUND ? 0 : rc;
    }
    case INGEST_PILLBOX:
        return required(get_word(doc, "opened", pill_slots, &r->slot, e), "opened", e);
    case INGEST_DOSE:
        return parse_dose(doc, now_ms, r, e);
    case INGEST_FHIR:
        break;
    }
    return err_set(e, ERR_INTERNAL, "unreachable");
}

static int parse_fhir(json_t *doc, int64_t now_ms, struct ingest_reading *r, struct err *e)
{
    const char *rt = json_string_value(json_object_get(doc, "resourceType"));
    if (rt == NULL || strcmp(rt, "Observation") != 0)
        return err_set(e, ERR_INVALID, "/resourceType: a device sends Observations only");
    static const char *const server_owned[] = {"id", "meta", "contained", "text"};
    for (size_t i = 0; i < sizeof server_owned / sizeof server_owned[0]; i++)
        if (json_object_get(doc, server_owned[i]) != NULL)
            return err_set(e, ERR_INVALID, "/%s: set by the server, not by a device",
                           server_owned[i]);
    static const char *const other_times[] = {"effectivePeriod", "effectiveTiming",
                                              "effectiveInstant"};
    for (size_t i = 0; i < sizeof other_times / sizeof other_times[0]; i++)
        if (json_object_get(doc, other_times[i]) != NULL)
            return err_set(e, ERR_INVALID, "/%s: give effectiveDateTime (the measurement time)",
                           other_times[i]);
    const json_t *t = json_object_get(doc, "effectiveDateTime");
    if (t == NULL)
        return err_set(e, ERR_INVALID, "/effectiveDateTime: required (the measurement time)");
    int rc = parse_time(t, "/effectiveDateTime", now_ms, r, e);
    if (rc != 0)
        return rc;
    struct fhir_issues is;
    fhir_issues_init(&is, NULL, NULL);
    (void)fhir_validate(doc, "Observation", &is);
    if (is.nerrors > 0) {
        for (size_t i = 0; i < is.n; i++)
            if (is.items[i].severity == FHIR_ERROR)
                return err_set(e, ERR_INVALID, "%.100s: %.120s", is.items[i].expression,
                               is.items[i].diagnostics);
        return err_set(e, ERR_INVALID, "not a valid R4 Observation");
    }
    r->kind = INGEST_FHIR;
    r->fhir = json_incref(doc);
    return 0;
}

int ingest_payload_parse(const void *buf, size_t len, int64_t now_ms, struct ingest_reading *out,
                         struct err *e)
{
    memset(out, 0, sizeof *out);
    if (len > INGEST_PAYLOAD_MAX)
        return err_set(e, ERR_TOOBIG, "payload of %zu bytes: at most %d", len, INGEST_PAYLOAD_MAX);
    if (len == 0)
        return err_set(e, ERR_INVALID, "empty payload");
    json_t *doc = jsonx_parse(buf, len, e);
    if (doc == NULL)
        return e != NULL && e->code == ERR_NOMEM ? ERR_NOMEM : ERR_INVALID;
    int rc;
    if (!json_is_object(doc))
        rc = err_set(e, ERR_INVALID, "a JSON object is required");
    else if (json_object_get(doc, "resourceType") != NULL)
        rc = parse_fhir(doc, now_ms, out, e);
    else
        rc = parse_compact(doc, now_ms, out, e);
    json_decref(doc);
    if (rc != 0)
        ingest_reading_release(out);
    return rc;
}

int ingest_kind_fits(const char *device_kind, enum ingest_kind k)
{
    if (device_kind == NULL)
        return 0;
    if (strcmp(device_kind, "pillbox") == 0)
        return k == INGEST_PILLBOX || k == INGEST_DOSE;
    if (k == INGEST_FHIR)
        return 1;
    switch (k) {
    case INGEST_BP:
        return strcmp(device_kind, "bp-wrist") == 0 || strcmp(device_kind, "bp-upper-arm") == 0;
    case INGEST_WEIGHT:
        return strcmp(device_kind, "scale") == 0;
    case INGEST_TEMPERATURE:
        return strcmp(device_kind, "thermometer") == 0;
    case INGEST_SPO2:
        return strcmp(device_kind, "pulse-oximeter") == 0;
    case INGEST_GLUCOSE:
        return strcmp(device_kind, "glucose-meter") == 0;
    default:
        return 0;
    }
}

/* service_map.c - the home doctor service's pure glue (service.h): a stored Observation as a
 * home blood-pressure reading, the deterministic key of a finding's resource, and a stored
 * Communication as an inbox item. No store, no clock. */
#include <inttypes.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "base/clock.h"
#include "services/homedoctor/service.h"

#define SYS_LOINC  "http://loinc.org"
#define SYS_SNOMED "http://snomed.info/sct"
#define SYS_UCUM   "http://unitsofmeasure.org"
#define RULE_SYS   "urn:cityos:homedoctor-rule"

static int skip(struct err *e, const char *why)
{
    err_set(e, ERR_INVALID, "%s", why);
    return 0;
}

/* Does the CodeableConcept cc carry (system, code)? */
static int has_coding(const json_t *cc, const char *system, const char *code)
{
    const json_t *codings = json_object_get(cc, "coding");
    size_t n = json_array_size(codings);
    for (size_t i = 0; i < n && i < 32; i++) {
        const json_t *c = json_array_get(codings, i);
        const char *s = json_string_value(json_object_get(c, "system"));
        const char *v = json_string_value(json_object_get(c, "code"));
        if (s != NULL && v != NULL && strcmp(s, system) == 0 && strcmp(v, code) == 0)
            return 1;
    }
    return 0;
}

/* The mm[Hg] value of the component coded loinc, or NAN. */
static double component_mmhg(const json_t *obs, const char *loinc)
{
    const json_t *comps = json_object_get(obs, "component");
    size_t n = json_array_size(comps);
    for (size_t i = 0; i < n && i < 32; i++) {
        const json_t *c = json_array_get(comps, i);
        if (!has_coding(json_object_get(c, "code"), SYS_LOINC, loinc))
            continue;
        const json_t *q = json_object_get(c, "valueQuantity");
        const char *sys = json_string_value(json_object_get(q, "system"));
        const char *code = json_string_value(json_object_get(q, "code"));
        const json_t *v = json_object_get(q, "value");
        if (sys == NULL || code == NULL || strcmp(sys, SYS_UCUM) != 0 ||
            strcmp(code, "mm[Hg]") != 0 || !json_is_number(v))
            return NAN;
        return json_number_value(v);
    }
    return NAN;
}

int homedoctor_reading_from_observation(const json_t *obs, struct arena *a,
                                        struct homedoctor_bp_reading *out, struct err *e)
{
    memset(out, 0, sizeof *out);
    const char *rt = json_string_value(json_object_get(obs, "resourceType"));
    if (rt == NULL || strcmp(rt, "Observation") != 0)
        return skip(e, "not an Observation");
    const char *status = json_string_value(json_object_get(obs, "status"));
    if (status == NULL || (strcmp(status, "final") != 0 && strcmp(status, "amended") != 0 &&
                           strcmp(status, "corrected") != 0))
        return skip(e, "status is not final, amended or corrected");
    if (!has_coding(json_object_get(obs, "code"), SYS_LOINC, HOMEDOCTOR_LOINC_BP))
        return skip(e, "not a blood-pressure panel (LOINC 85354-9)");
    const char *id = json_string_value(json_object_get(obs, "id"));
    if (id == NULL || id[0] == '\0')
        return skip(e, "no id");
    const char *when = json_string_value(json_object_get(obs, "effectiveDateTime"));
    int64_t ms = 0;
    if (when == NULL || clock_parse_rfc3339(when, &ms) != 0)
        return skip(e, "no effectiveDateTime with a time and zone");
    double sys = component_mmhg(obs, "8480-6"), dia = component_mmhg(obs, "8462-4");
    if (isnan(sys) || isnan(dia))
        return skip(e, "no systolic and diastolic components in mm[Hg]");
    const json_t *site = json_object_get(obs, "bodySite");
    enum homedoctor_device dev = HOMEDOCTOR_DEVICE_UNKNOWN;
    if (has_coding(site, SYS_SNOMED, "8205005"))
        dev = HOMEDOCTOR_DEVICE_WRIST;
    else if (has_coding(site, SYS_SNOMED, "40983000"))
        dev = HOMEDOCTOR_DEVICE_UPPER_ARM;
    out->obs_id = arena_strdup(a, id);
    if (out->obs_id == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    out->time_ms = ms;
    out->systolic = sys;
    out->diastolic = dia;
    out->device = dev;
    struct err ce = {0};
    if (homedoctor_bp_reading_check(out, 0, &ce) != 0)
        return skip(e, "implausible values");
    return 1;
}

static void put(crypto_hash_sha256_state *st, const char *s)
{
    crypto_hash_sha256_update(st, (const unsigned char *)s, strlen(s) + 1); /* with its NUL */
}

int homedoctor_service_finding_key(const struct homedoctor_finding *f, const char *rtype,
                                   const char *subject, char out[65], struct err *e)
{
    out[0] = '\0';
    if (f == NULL || rtype == NULL || subject == NULL || f->rule_id == NULL || f->outcome == NULL)
        return err_set(e, ERR_INVALID, "finding key: a field is missing");
    int comm = strcmp(rtype, "Communication") == 0;
    if (!comm && strcmp(rtype, "RiskAssessment") != 0)
        return err_set(e, ERR_INVALID, "finding key: not RiskAssessment or Communication");
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    put(&st, "cityos.homedoctor.finding.v1");
    put(&st, rtype);
    put(&st, f->rule_id);
    put(&st, f->outcome);
    put(&st, subject);
    char num[32];
    if (comm) {
        snprintf(num, sizeof num, "day:%" PRId64, homedoctor_local_day(f->evaluated_ms));
        put(&st, num);
    } else {
        snprintf(num, sizeof num, "at:%" PRId64, f->evaluated_ms);
        put(&st, num);
        for (size_t i = 0; i < f->n_basis; i++)
            if (f->basis[i] != NULL)
                put(&st, f->basis[i]);
    }
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&st, h);
    sodium_bin2hex(out, 65, h, sizeof h);
    return 0;
}

/* ---- the inbox's view of a Communication ---- */

static int is_ours(const json_t *c)
{
    const json_t *ids = json_object_get(c, "identifier");
    for (size_t i = 0; i < json_array_size(ids) && i < 16; i++) {
        const char *s = json_string_value(json_object_get(json_array_get(ids, i), "system"));
        if (s != NULL && strcmp(s, HOMEDOCTOR_FINDING_SYS) == 0)
            return 1;
    }
    return 0;
}

static json_t *text_pair(const json_t *payload, size_t i)
{
    const char *ja =
        json_string_value(json_object_get(json_array_get(payload, i), "contentString"));
    const char *en =
        json_string_value(json_object_get(json_array_get(payload, i + 1), "contentString"));
    if (ja == NULL || en == NULL)
        return NULL;
    return json_pack("{s:s, s:s}", "ja", ja, "en", en);
}

json_t *homedoctor_inbox_item(const json_t *c)
{
    const char *rt = json_string_value(json_object_get(c, "resourceType"));
    if (rt == NULL || strcmp(rt, "Communication") != 0 || !is_ours(c))
        return NULL;
    const json_t *payload = json_object_get(c, "payload");
    const json_t *reason = json_array_get(json_object_get(c, "reasonCode"), 0);
    const json_t *rule = json_array_get(json_object_get(reason, "coding"), 0);
    const char *id = json_string_value(json_object_get(c, "id"));
    const char *sent = json_string_value(json_object_get(c, "sent"));
    const char *prio = json_string_value(json_object_get(c, "priority"));
    const char *rule_id = json_string_value(json_object_get(rule, "code"));
    const char *guideline = json_string_value(json_object_get(reason, "text"));
    const char *rs = json_string_value(json_object_get(rule, "system"));
    if (id == NULL || sent == NULL || rule_id == NULL || rs == NULL || strcmp(rs, RULE_SYS) != 0)
        return NULL;
    json_t *text = text_pair(payload, 0);
    json_t *advice = json_array(), *basis = json_array();
    json_t *out = NULL;
    if (text == NULL || advice == NULL || basis == NULL)
        goto out;
    size_t np = json_array_size(payload);
    for (size_t i = 2; i + 1 < np && i < 64; i += 2) {
        json_t *t = text_pair(payload, i);
        if (t == NULL || json_array_append_new(advice, t) != 0)
            goto out;
    }
    const json_t *about = json_object_get(c, "about");
    const char *assessment = NULL;
    for (size_t i = 0; i < json_array_size(about) && i < 1000; i++) {
        const char *ref = json_string_value(json_object_get(json_array_get(about, i), "reference"));
        if (ref == NULL)
            continue;
        if (assessment == NULL && strncmp(ref, "RiskAssessment/", 15) == 0)
            assessment = ref;
        else if (json_array_append_new(basis, json_string(ref)) != 0)
            goto out;
    }
    out = json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s?, s:O, s:O, s:O}", "kind", "homedoctor_alert",
                    "id", id, "sent", sent, "rule", rule_id, "priority", prio, "guideline",
                    guideline, "text", text, "advice", advice, "basis", basis);
    if (out != NULL && assessment != NULL &&
        json_object_set_new(out, "assessment", json_string(assessment)) != 0) {
        json_decref(out);
        out = NULL;
    }
out:
    json_decref(text);
    json_decref(advice);
    json_decref(basis);
    return out;
}

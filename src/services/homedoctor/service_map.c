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

int homedoctor_is_checkup(const json_t *obs)
{
    const json_t *cats = json_object_get(obs, "category");
    for (size_t i = 0; i < json_array_size(cats) && i < 16; i++)
        if (has_coding(json_array_get(cats, i), "urn:cityos:record-category", "checkup"))
            return 1;
    return 0;
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
    if (homedoctor_is_checkup(obs))
        return skip(e, "a check-up's (office) blood pressure, not a home reading");
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
    return homedoctor_service_finding_key_scoped(f, rtype, subject, NULL, out, e);
}

int homedoctor_service_finding_key_scoped(const struct homedoctor_finding *f, const char *rtype,
                                          const char *subject, const char *scope, char out[65],
                                          struct err *e)
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
    if (scope != NULL) {
        if (scope[0] == '\0')
            return err_set(e, ERR_INVALID, "finding key: an empty scope");
        put(&st, scope);
        for (size_t i = 0; !comm && i < f->n_basis; i++)
            if (f->basis[i] != NULL)
                put(&st, f->basis[i]);
    } else if (comm) {
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

/* ---- what an Observation tells the Hisayama score ---- */

/* The valueQuantity of obs in unit (UCUM code), or NAN. */
static double quantity(const json_t *obs, const char *unit)
{
    const json_t *q = json_object_get(obs, "valueQuantity");
    const char *code = json_string_value(json_object_get(q, "code"));
    const json_t *v = json_object_get(q, "value");
    if (code == NULL || strcmp(code, unit) != 0 || !json_is_number(v))
        return NAN;
    return json_number_value(v);
}

static int value_is(const json_t *obs, const char *system, const char *code)
{
    return has_coding(json_object_get(obs, "valueCodeableConcept"), system, code);
}

static int set_measure(struct homedoctor_measure *m, double v, const char *id, struct arena *a)
{
    if (m->known || isnan(v))
        return 0;
    if ((m->obs_id = arena_strdup(a, id)) == NULL)
        return ERR_NOMEM;
    m->known = true;
    m->value = v;
    return 1;
}

static int set_flag(struct homedoctor_flag *f, int known, bool yes, const char *id, struct arena *a)
{
    if (f->known || !known)
        return 0;
    if ((f->obs_id = arena_strdup(a, id)) == NULL)
        return ERR_NOMEM;
    f->known = true;
    f->yes = yes;
    return 1;
}

int homedoctor_checkup_absorb(const json_t *obs, struct arena *a,
                              struct homedoctor_hisayama_input *in)
{
    const char *rt = json_string_value(json_object_get(obs, "resourceType"));
    const char *id = json_string_value(json_object_get(obs, "id"));
    const char *status = json_string_value(json_object_get(obs, "status"));
    if (rt == NULL || strcmp(rt, "Observation") != 0 || id == NULL || id[0] == '\0' ||
        status == NULL ||
        (strcmp(status, "final") != 0 && strcmp(status, "amended") != 0 &&
         strcmp(status, "corrected") != 0))
        return 0;
    const json_t *code = json_object_get(obs, "code");
#define IS(loinc) has_coding(code, SYS_LOINC, loinc)
    if (IS(HOMEDOCTOR_LOINC_BP)) {
        if (!homedoctor_is_checkup(obs))
            return 0; /* a home reading: the 7-day mean comes from rule 1 */
        double sbp = component_mmhg(obs, "8480-6");
        return isnan(sbp) || sbp < 40 || sbp > 300 ? 0 : set_measure(&in->office_sbp, sbp, id, a);
    }
    if (IS("2085-9")) {
        double v = quantity(obs, "mg/dL");
        return v >= 5 && v <= 500 ? set_measure(&in->hdl, v, id, a) : 0;
    }
    if (IS("2089-1")) {
        double v = quantity(obs, "mg/dL");
        return v >= 5 && v <= 1000 ? set_measure(&in->ldl, v, id, a) : 0;
    }
    if (IS("20454-5")) {
        static const char *const neg[] = {"167273002", "167274008"}; /* negative, trace */
        static const char *const pos[] = {"167275009", "167276005", "167277001", "167278006"};
        for (size_t i = 0; i < 2; i++)
            if (value_is(obs, SYS_SNOMED, neg[i]))
                return set_flag(&in->proteinuria, 1, false, id, a);
        for (size_t i = 0; i < 4; i++)
            if (value_is(obs, SYS_SNOMED, pos[i]))
                return set_flag(&in->proteinuria, 1, true, id, a);
        return 0;
    }
    if (IS("4548-4") || IS("1558-6")) {
        int a1c = IS("4548-4");
        double v = quantity(obs, a1c ? "%" : "mg/dL");
        if (isnan(v) || v <= 0)
            return 0;
        bool yes = a1c ? v >= 6.5 : v >= 126;
        if (in->diabetes.known && !in->diabetes.yes && yes) {
            /* either value at the diabetic level decides: a high one replaces a normal one */
            if ((in->diabetes.obs_id = arena_strdup(a, id)) == NULL)
                return ERR_NOMEM;
            in->diabetes.yes = true;
            return 1;
        }
        return set_flag(&in->diabetes, 1, yes, id, a);
    }
    if (IS("72166-2")) {
        /* current every day, current some day, smoker (current status unknown: not counted),
         * cigarette smoker / former, never */
        static const char *const current[] = {"449868002", "428041000124106", "65568007"};
        static const char *const not_now[] = {"8517006", "266919005"};
        for (size_t i = 0; i < 3; i++)
            if (value_is(obs, SYS_SNOMED, current[i]))
                return set_flag(&in->smoking, 1, true, id, a);
        for (size_t i = 0; i < 2; i++)
            if (value_is(obs, SYS_SNOMED, not_now[i]))
                return set_flag(&in->smoking, 1, false, id, a);
        return 0;
    }
    if (IS("89574-8")) {
        double v = quantity(obs, "d/wk");
        return v >= 0 && v <= 7 ? set_flag(&in->regular_exercise, 1, v >= 2, id, a) : 0;
    }
#undef IS
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

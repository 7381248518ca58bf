/* category.c - the data categories: names, canonical lists and masks, and the one table from
 * FHIR resource types and category codes to categories. */
#include "consent/category.h"

#include <string.h>

static const char *const names[CONSENT_CAT_COUNT] = {
    "vitals",  "checkups",     "claims",        "medications",    "lab_results", "genome",
    "lifelog", "care_records", "school_health", "maternal_child", "location",    "payments",
    "contact", "clinical",     "alerts",        "appointments",
};

const char *consent_category_name(enum consent_category c)
{
    return (int)c >= 0 && c < CONSENT_CAT_COUNT ? names[c] : NULL;
}

enum consent_category consent_category_parse(const char *text)
{
    if (text == NULL)
        return CONSENT_CAT_NONE;
    for (int i = 0; i < CONSENT_CAT_COUNT; i++)
        if (strcmp(text, names[i]) == 0)
            return (enum consent_category)i;
    return CONSENT_CAT_NONE;
}

int consent_cats_parse(const char *text, consent_cats *out, struct err *e)
{
    *out = 0;
    if (text == NULL || *text == '\0')
        return err_set(e, ERR_INVALID, "categories: empty list");
    consent_cats m = 0;
    const char *p = text;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
        char name[32];
        if (len == 0 || len >= sizeof name)
            return err_set(e, ERR_INVALID, "categories: an empty or unknown name");
        memcpy(name, p, len);
        name[len] = '\0';
        enum consent_category c = consent_category_parse(name);
        if (c == CONSENT_CAT_NONE)
            return err_set(e, ERR_INVALID, "categories: unknown category \"%s\"", name);
        if (m & (1u << c))
            return err_set(e, ERR_INVALID, "categories: \"%s\" repeated", name);
        m |= 1u << c;
        if (comma == NULL)
            break;
        p = comma + 1;
    }
    *out = m;
    return 0;
}

const char *consent_cats_format(consent_cats m, char buf[CONSENT_CATS_TEXT_MAX])
{
    size_t at = 0;
    buf[0] = '\0';
    for (int i = 0; i < CONSENT_CAT_COUNT; i++) {
        if (!(m & (1u << i)))
            continue;
        size_t len = strlen(names[i]);
        if (at + len + 2 > CONSENT_CATS_TEXT_MAX)
            break; /* cannot happen: every name fits */
        if (at > 0)
            buf[at++] = ',';
        memcpy(buf + at, names[i], len + 1);
        at += len;
    }
    return buf;
}

/* The table. Order matters: the first row that matches wins, so codes that are more specific
 * (the city's life-stage codes, genetics) come before the general rows of the same type. */
#define OBS  CONSENT_SYS_OBSERVATION
#define CITY CONSENT_SYS_CITY
static const struct consent_category_row table[] = {
    /* the city's own record kinds, on any resource type (check-up reports, handbook pages) */
    {"*", CITY, "school-health", CONSENT_CAT_SCHOOL_HEALTH},
    {"*", CITY, "maternal-child", CONSENT_CAT_MATERNAL_CHILD},
    {"*", CITY, "checkup", CONSENT_CAT_CHECKUPS},
    {"*", CITY, "care", CONSENT_CAT_CARE_RECORDS},
    {"*", CITY, "lifelog", CONSENT_CAT_LIFELOG},
    /* genomics before laboratory: a genetic result is also a laboratory result */
    {"MolecularSequence", NULL, NULL, CONSENT_CAT_GENOME},
    {"Observation", CONSENT_SYS_V2_0074, "GE", CONSENT_CAT_GENOME},
    {"DiagnosticReport", CONSENT_SYS_V2_0074, "GE", CONSENT_CAT_GENOME},
    {"Observation", OBS, "vital-signs", CONSENT_CAT_VITALS},
    {"Observation", OBS, "laboratory", CONSENT_CAT_LAB_RESULTS},
    {"Observation", OBS, "exam", CONSENT_CAT_CHECKUPS},
    {"Observation", OBS, "survey", CONSENT_CAT_CHECKUPS},
    {"Observation", OBS, "social-history", CONSENT_CAT_CHECKUPS},
    {"Observation", OBS, "activity", CONSENT_CAT_LIFELOG},
    {"Observation", OBS, "imaging", CONSENT_CAT_CLINICAL},
    {"Observation", OBS, "procedure", CONSENT_CAT_CLINICAL},
    {"Observation", OBS, "therapy", CONSENT_CAT_CLINICAL},
    {"DiagnosticReport", CONSENT_SYS_V2_0074, "LAB", CONSENT_CAT_LAB_RESULTS},
    {"DiagnosticReport", NULL, NULL, CONSENT_CAT_CLINICAL},
    {"MedicationRequest", NULL, NULL, CONSENT_CAT_MEDICATIONS},
    {"MedicationDispense", NULL, NULL, CONSENT_CAT_MEDICATIONS},
    {"MedicationStatement", NULL, NULL, CONSENT_CAT_MEDICATIONS},
    {"MedicationAdministration", NULL, NULL, CONSENT_CAT_MEDICATIONS},
    {"Immunization", NULL, NULL, CONSENT_CAT_MEDICATIONS},
    {"Claim", NULL, NULL, CONSENT_CAT_CLAIMS},
    {"ClaimResponse", NULL, NULL, CONSENT_CAT_CLAIMS},
    {"ExplanationOfBenefit", NULL, NULL, CONSENT_CAT_CLAIMS},
    {"Coverage", NULL, NULL, CONSENT_CAT_CLAIMS},
    {"Invoice", NULL, NULL, CONSENT_CAT_PAYMENTS},
    {"PaymentNotice", NULL, NULL, CONSENT_CAT_PAYMENTS},
    {"PaymentReconciliation", NULL, NULL, CONSENT_CAT_PAYMENTS},
    {"CarePlan", NULL, NULL, CONSENT_CAT_CARE_RECORDS},
    {"CareTeam", NULL, NULL, CONSENT_CAT_CARE_RECORDS},
    {"Goal", NULL, NULL, CONSENT_CAT_CARE_RECORDS},
    {"Condition", NULL, NULL, CONSENT_CAT_CLINICAL},
    {"Encounter", NULL, NULL, CONSENT_CAT_CLINICAL},
    {"Procedure", NULL, NULL, CONSENT_CAT_CLINICAL},
    {"AllergyIntolerance", NULL, NULL, CONSENT_CAT_CLINICAL},
    {"ServiceRequest", NULL, NULL, CONSENT_CAT_CLINICAL},
    {"DocumentReference", NULL, NULL, CONSENT_CAT_CLINICAL},
    {"Composition", NULL, NULL, CONSENT_CAT_CLINICAL},
    {"QuestionnaireResponse", NULL, NULL, CONSENT_CAT_CLINICAL},
    {"RiskAssessment", NULL, NULL, CONSENT_CAT_ALERTS},
    {"Flag", NULL, NULL, CONSENT_CAT_ALERTS},
    {"DetectedIssue", NULL, NULL, CONSENT_CAT_ALERTS},
    {"Communication", NULL, NULL, CONSENT_CAT_ALERTS},
    {"Appointment", NULL, NULL, CONSENT_CAT_APPOINTMENTS},
    {"AppointmentResponse", NULL, NULL, CONSENT_CAT_APPOINTMENTS},
    {"Device", NULL, NULL, CONSENT_CAT_LIFELOG},
    {"Patient", NULL, NULL, CONSENT_CAT_CONTACT},
    {"RelatedPerson", NULL, NULL, CONSENT_CAT_CONTACT},
};
#undef OBS
#undef CITY

const struct consent_category_row *consent_category_table(size_t *n)
{
    *n = sizeof table / sizeof table[0];
    return table;
}

static int str_eq(const char *a, const char *b)
{
    return a != NULL && b != NULL && strcmp(a, b) == 0;
}

enum consent_category consent_category_of(const char *resource_type,
                                          const struct consent_coding *codings, size_t n)
{
    if (resource_type == NULL)
        return CONSENT_CAT_NONE;
    for (size_t r = 0; r < sizeof table / sizeof table[0]; r++) {
        const struct consent_category_row *row = &table[r];
        if (strcmp(row->resource_type, "*") != 0 && strcmp(row->resource_type, resource_type) != 0)
            continue;
        if (row->system == NULL)
            return row->category;
        for (size_t i = 0; i < n; i++)
            if (str_eq(codings[i].system, row->system) && str_eq(codings[i].code, row->code))
                return row->category;
    }
    return CONSENT_CAT_NONE;
}

#define CODINGS_MAX 16

static void add_codings(const json_t *concept, struct consent_coding *out, size_t *n)
{
    const json_t *list = json_object_get(concept, "coding");
    size_t i;
    const json_t *c;
    if (!json_is_array(list))
        return;
    json_array_foreach(list, i, c)
    {
        if (*n >= CODINGS_MAX)
            return;
        const json_t *code = json_object_get(c, "code");
        if (!json_is_string(code))
            continue;
        const json_t *sys = json_object_get(c, "system");
        out[*n].system = json_is_string(sys) ? json_string_value(sys) : NULL;
        out[*n].code = json_string_value(code);
        (*n)++;
    }
}

enum consent_category consent_category_of_resource(const json_t *resource)
{
    const json_t *type = json_object_get(resource, "resourceType");
    if (!json_is_string(type))
        return CONSENT_CAT_NONE;
    struct consent_coding codings[CODINGS_MAX];
    size_t n = 0;
    const json_t *cat = json_object_get(resource, "category");
    if (json_is_array(cat)) {
        size_t i;
        const json_t *concept;
        json_array_foreach(cat, i, concept) add_codings(concept, codings, &n);
    } else if (json_is_object(cat)) {
        add_codings(cat, codings, &n);
    }
    return consent_category_of(json_string_value(type), codings, n);
}

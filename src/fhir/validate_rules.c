/* validate_rules.c - clinical rules that the base R4 structure definitions do not carry: the
 * FHIR R4 Vital Signs profiles (http://hl7.org/fhir/R4/observation-vitalsigns.html, profile
 * http://hl7.org/fhir/StructureDefinition/vitalsigns and its per-measurement profiles, e.g.
 * http://hl7.org/fhir/StructureDefinition/bp), which R4 makes mandatory for every Observation
 * whose category is vital-signs: "If a resource is a vital sign observation ... it SHALL
 * conform to this profile" (observation-vitalsigns.html, "Vital Signs"). */
#include "fhir/validate_rules.h"

#include "fhir/attachment.h"

#include <stdio.h>
#include <string.h>

#define LOINC        "http://loinc.org"
#define UCUM         "http://unitsofmeasure.org"
#define OBS_CATEGORY "http://terminology.hl7.org/CodeSystem/observation-category"

/* The R4 vital signs table (observation-vitalsigns.html, "Vital Signs"): the LOINC code of each
 * profile and the UCUM units its valueQuantity may use. */
struct vital {
    const char *loinc;
    const char *name;
    const char *units[4];
};

static const struct vital vitals[] = {
    {"85353-1", "vital signs panel", {NULL}},
    {"9279-1", "respiratory rate", {"/min", NULL}},
    {"8867-4", "heart rate", {"/min", NULL}},
    {"2708-6", "oxygen saturation", {"%", NULL}},
    {"59408-5", "oxygen saturation (pulse oximetry)", {"%", NULL}},
    {"8310-5", "body temperature", {"Cel", "[degF]", NULL}},
    {"8302-2", "body height", {"cm", "[in_i]", NULL}},
    {"9843-4", "head circumference", {"cm", "[in_i]", NULL}},
    {"29463-7", "body weight", {"g", "kg", "[lb_av]", NULL}},
    {"39156-5", "body mass index", {"kg/m2", NULL}},
    {"85354-9", "blood pressure panel", {NULL}},
    {"8480-6", "systolic blood pressure", {"mm[Hg]", NULL}},
    {"8462-4", "diastolic blood pressure", {"mm[Hg]", NULL}},
};

static const struct vital *vital_of(const char *loinc)
{
    for (size_t i = 0; loinc != NULL && i < sizeof vitals / sizeof vitals[0]; i++)
        if (strcmp(vitals[i].loinc, loinc) == 0)
            return &vitals[i];
    return NULL;
}

/* The code of the first coding of concept (a CodeableConcept) in system; NULL when none. */
static const char *coding_code(const json_t *concept, const char *system)
{
    size_t i;
    const json_t *coding;
    json_array_foreach(json_object_get(concept, "coding"), i, coding)
    {
        const char *s = json_string_value(json_object_get(coding, "system"));
        const char *c = json_string_value(json_object_get(coding, "code"));
        if (s != NULL && c != NULL && strcmp(s, system) == 0)
            return c;
    }
    return NULL;
}

static int is_vital_signs(const json_t *obs)
{
    size_t i;
    const json_t *cat;
    json_array_foreach(json_object_get(obs, "category"), i, cat)
    {
        const char *c = coding_code(cat, OBS_CATEGORY);
        if (c != NULL && strcmp(c, "vital-signs") == 0)
            return 1;
    }
    return 0;
}

/* vitalsigns profile: valueQuantity.system = UCUM, valueQuantity.code 1..1; and, for a known
 * measurement, one of its units. at is the FHIRPath of the element holding valueQuantity. */
static void check_quantity(const json_t *holder, const struct vital *v, const char *at,
                           struct fhir_issues *out)
{
    const json_t *q = json_object_get(holder, "valueQuantity");
    if (q == NULL)
        return;
    char where[FHIR_ISSUE_EXPR];
    snprintf(where, sizeof where, "%.200s.valueQuantity", at);
    const char *system = json_string_value(json_object_get(q, "system"));
    const char *code = json_string_value(json_object_get(q, "code"));
    if (system == NULL || strcmp(system, UCUM) != 0 || code == NULL) {
        fhir_issues_add(out, FHIR_ERROR, "required", where,
                        "a vital sign's quantity needs system " UCUM " and a UCUM code "
                        "(R4 vitalsigns profile)");
        return;
    }
    if (v == NULL || v->units[0] == NULL)
        return;
    for (size_t i = 0; v->units[i] != NULL; i++)
        if (strcmp(v->units[i], code) == 0)
            return;
    snprintf(where, sizeof where, "%.200s.valueQuantity.code", at);
    fhir_issues_add(out, FHIR_ERROR, "code-invalid", where,
                    "%s is measured in %s%s%s (R4 vital signs profiles)", v->name, v->units[0],
                    v->units[1] != NULL ? " or " : "", v->units[1] != NULL ? v->units[1] : "");
}

static void check_vital_signs(const json_t *obs, const char *path, struct fhir_issues *out)
{
    char where[FHIR_ISSUE_EXPR];
    const char *code = coding_code(json_object_get(obs, "code"), LOINC);
    if (code == NULL) {
        snprintf(where, sizeof where, "%.200s.code.coding", path);
        fhir_issues_add(out, FHIR_ERROR, "required", where,
                        "a vital-signs Observation needs a coding with system " LOINC
                        " (R4 vitalsigns profile)");
        return;
    }
    const struct vital *v = vital_of(code);
    check_quantity(obs, v, path, out);

    int systolic = 0, diastolic = 0;
    size_t i;
    const json_t *comp;
    json_array_foreach(json_object_get(obs, "component"), i, comp)
    {
        char at[FHIR_ISSUE_EXPR];
        snprintf(at, sizeof at, "%.200s.component[%zu]", path, i);
        const char *cc = coding_code(json_object_get(comp, "code"), LOINC);
        if (cc != NULL && strcmp(cc, "8480-6") == 0)
            systolic = 1;
        if (cc != NULL && strcmp(cc, "8462-4") == 0)
            diastolic = 1;
        check_quantity(comp, vital_of(cc), at, out);
    }
    /* bp profile: component:SystolicBP 1..1 (8480-6), component:DiastolicBP 1..1 (8462-4) */
    if (strcmp(code, "85354-9") == 0 && (!systolic || !diastolic)) {
        snprintf(where, sizeof where, "%.200s.component", path);
        fhir_issues_add(out, FHIR_ERROR, "required", where,
                        "a blood pressure panel (LOINC 85354-9) needs components with LOINC "
                        "8480-6 (systolic) and 8462-4 (diastolic) (R4 bp profile)");
    }
}

/* DocumentReference.content[i].attachment: an uploaded document (attachment.h) */
static void check_documents(const json_t *doc, const char *path, struct fhir_issues *out)
{
    size_t i;
    const json_t *content;
    json_array_foreach(json_object_get(doc, "content"), i, content)
    {
        char at[FHIR_ISSUE_EXPR];
        snprintf(at, sizeof at, "%.200s.content[%zu].attachment", path, i);
        fhir_attachment_check(json_object_get(content, "attachment"), at, out);
    }
}

void fhir_validate__rules(const json_t *resource, const char *type, const char *path,
                          struct fhir_issues *out)
{
    if (strcmp(type, "Observation") == 0 && is_vital_signs(resource))
        check_vital_signs(resource, path, out);
    else if (strcmp(type, "DocumentReference") == 0)
        check_documents(resource, path, out);
}

/* owner.c - the table of served types and the member naming each one's owner (owner.h). */
#include "fhir/owner.h"

#include <string.h>

#include "base/ids.h"

struct owner_row {
    const char *type;
    enum fhir_ownership kind;
    const char *member;
};

/* Sorted by type. The owner member is the one the R4 patient compartment
 * (CompartmentDefinition/patient) lists first for the type; Appointment names its patient among
 * its participants. */
static const struct owner_row rows[] = {
    {"AllergyIntolerance", FHIR_PERSONAL, "patient"},
    {"Appointment", FHIR_PERSONAL, "participant"},
    {"CarePlan", FHIR_PERSONAL, "subject"},
    {"Communication", FHIR_PERSONAL, "subject"},
    {"Condition", FHIR_PERSONAL, "subject"},
    {"Device", FHIR_MAY_BE_OWNED, "patient"},
    {"DiagnosticReport", FHIR_PERSONAL, "subject"},
    {"DocumentReference", FHIR_PERSONAL, "subject"},
    {"Encounter", FHIR_PERSONAL, "subject"},
    {"Immunization", FHIR_PERSONAL, "patient"},
    {"Invoice", FHIR_PERSONAL, "subject"},
    {"MedicationAdministration", FHIR_PERSONAL, "subject"},
    {"MedicationDispense", FHIR_PERSONAL, "subject"},
    {"MedicationRequest", FHIR_PERSONAL, "subject"},
    {"Observation", FHIR_PERSONAL, "subject"},
    {"Organization", FHIR_SHARED, NULL},
    {"Patient", FHIR_PERSONAL, ""},
    {"Practitioner", FHIR_SHARED, NULL},
    {"PractitionerRole", FHIR_SHARED, NULL},
    {"Questionnaire", FHIR_SHARED, NULL},
    {"QuestionnaireResponse", FHIR_PERSONAL, "subject"},
    {"RelatedPerson", FHIR_PERSONAL, "patient"},
    {"RiskAssessment", FHIR_PERSONAL, "subject"},
    {"Schedule", FHIR_SHARED, NULL},
    {"Slot", FHIR_SHARED, NULL},
    {"Task", FHIR_PERSONAL, "for"},
};
#define NROWS (sizeof rows / sizeof rows[0])

static const struct owner_row *find(const char *type)
{
    size_t lo = 0, hi = NROWS;
    while (type != NULL && lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(type, rows[mid].type);
        if (c == 0)
            return &rows[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

enum fhir_ownership fhir_owner_kind(const char *resource_type, const char **member)
{
    const struct owner_row *r = find(resource_type);
    if (member != NULL)
        *member = r != NULL ? r->member : NULL;
    return r != NULL ? r->kind : FHIR_NOT_SERVED;
}

const char *const *fhir_owner_types(void)
{
    static const char *const types[] = {"AllergyIntolerance",
                                        "Appointment",
                                        "CarePlan",
                                        "Communication",
                                        "Condition",
                                        "Device",
                                        "DiagnosticReport",
                                        "DocumentReference",
                                        "Encounter",
                                        "Immunization",
                                        "Invoice",
                                        "MedicationAdministration",
                                        "MedicationDispense",
                                        "MedicationRequest",
                                        "Observation",
                                        "Organization",
                                        "Patient",
                                        "Practitioner",
                                        "PractitionerRole",
                                        "Questionnaire",
                                        "QuestionnaireResponse",
                                        "RelatedPerson",
                                        "RiskAssessment",
                                        "Schedule",
                                        "Slot",
                                        "Task",
                                        NULL};
    _Static_assert(sizeof types / sizeof types[0] == NROWS + 1, "one name per row");
    return types;
}

/* The person id in a Reference object naming a Patient, or NULL. */
static const char *patient_of(const json_t *ref)
{
    const char *r = json_string_value(json_object_get(ref, "reference"));
    if (r == NULL || strncmp(r, "Patient/", 8) != 0 || !ids_valid(r + 8))
        return NULL;
    return r + 8;
}

/* Appointment: the one participant whose actor is a Patient. */
static int appointment_patient(const json_t *res, const char **out, struct err *e)
{
    const json_t *parts = json_object_get(res, "participant");
    size_t i;
    const json_t *p;
    *out = NULL;
    json_array_foreach(parts, i, p)
    {
        const json_t *actor = json_object_get(p, "actor");
        const char *r = json_string_value(json_object_get(actor, "reference"));
        if (r == NULL || strncmp(r, "Patient/", 8) != 0)
            continue;
        const char *id = patient_of(actor);
        if (id == NULL || (*out != NULL && strcmp(*out, id) != 0)) {
            *out = NULL;
            return err_set(e, ERR_INVALID,
                           "Appointment.participant: exactly one Patient, by a reference "
                           "\"Patient/<regional id>\"");
        }
        *out = id;
    }
    if (*out == NULL)
        return err_set(e, ERR_INVALID,
                       "Appointment.participant: the appointment must name its Patient");
    return 0;
}

int fhir_owner_of(const char *resource_type, const json_t *res, const char **out, struct err *e)
{
    const char *member = NULL;
    enum fhir_ownership kind = fhir_owner_kind(resource_type, &member);
    *out = NULL;
    if (kind == FHIR_NOT_SERVED)
        return err_set(e, ERR_INVALID, "resource type %.64s is not served here",
                       resource_type != NULL ? resource_type : "(none)");
    if (kind == FHIR_SHARED)
        return 0;
    if (member[0] == '\0') { /* Patient: its own id is the regional ID */
        const char *id = json_string_value(json_object_get(res, "id"));
        if (id == NULL || !ids_valid(id))
            return err_set(e, ERR_INVALID,
                           "Patient.id: a Patient's id is the citizen's regional ID");
        *out = id;
        return 0;
    }
    if (strcmp(member, "participant") == 0)
        return appointment_patient(res, out, e);
    const json_t *ref = json_object_get(res, member);
    if (ref == NULL && kind == FHIR_MAY_BE_OWNED)
        return 0;
    *out = patient_of(ref);
    if (*out == NULL)
        return err_set(e, ERR_INVALID,
                       "%s.%s: must name the citizen by a reference \"Patient/<regional id>\"",
                       resource_type, member);
    return 0;
}

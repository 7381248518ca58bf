/* search_test_defs.h - a small hand-made search parameter table (shaped like the generated one
 * of defs.h) for the unit tests of index_rows, search_parse and search_sql, so that they do not
 * depend on the generated definitions. */
#ifndef COS_TEST_SEARCH_TEST_DEFS_H
#define COS_TEST_SEARCH_TEST_DEFS_H

#include <string.h>

#include "fhir/defs.h"
#include "fhir/search_parse.h"

#define TP(...) ((const char *const[]){__VA_ARGS__, NULL})

static const struct fhir_search_param td_observation[] = {
    {"Observation", "_id", FHIR_PARAM_TOKEN, TP("id"), NULL, NULL},
    {"Observation", "_lastUpdated", FHIR_PARAM_DATE, TP("meta.lastUpdated"), NULL, NULL},
    {"Observation", "_tag", FHIR_PARAM_TOKEN, TP("meta.tag"), NULL, NULL},
    {"Observation", "category", FHIR_PARAM_TOKEN, TP("category"), NULL, NULL},
    {"Observation", "code", FHIR_PARAM_TOKEN, TP("code"), NULL, NULL},
    {"Observation", "combo-code", FHIR_PARAM_TOKEN, TP("code", "component.code"), NULL, NULL},
    {"Observation", "component-value-quantity", FHIR_PARAM_QUANTITY, TP("component.valueQuantity"),
     NULL, NULL},
    {"Observation", "date", FHIR_PARAM_DATE, TP("effective[x]"), NULL, NULL},
    {"Observation", "identifier", FHIR_PARAM_TOKEN, TP("identifier"), NULL, NULL},
    {"Observation", "patient", FHIR_PARAM_REFERENCE, TP("subject"), TP("Patient"), NULL},
    {"Observation", "performer", FHIR_PARAM_REFERENCE, TP("performer"),
     TP("Practitioner", "Patient"), NULL},
    {"Observation", "status", FHIR_PARAM_TOKEN, TP("status"), NULL, NULL},
    {"Observation", "subject", FHIR_PARAM_REFERENCE, TP("subject"),
     TP("Patient", "Group", "Device", "Location"), NULL},
    {"Observation", "value-quantity", FHIR_PARAM_QUANTITY, TP("valueQuantity", "valueSampledData"),
     NULL, NULL},
    {"Observation", "value-string", FHIR_PARAM_STRING, TP("valueString"), NULL, NULL},
    {"Observation", "combo-code-value-quantity", FHIR_PARAM_COMPOSITE, TP("component"), NULL, NULL},
};
static const struct fhir_search_param td_condition[] = {
    {"Condition", "_id", FHIR_PARAM_TOKEN, TP("id"), NULL, NULL},
    {"Condition", "_lastUpdated", FHIR_PARAM_DATE, TP("meta.lastUpdated"), NULL, NULL},
    {"Condition", "category", FHIR_PARAM_TOKEN, TP("category"), NULL, NULL},
    {"Condition", "clinical-status", FHIR_PARAM_TOKEN, TP("clinicalStatus"), NULL, NULL},
    {"Condition", "code", FHIR_PARAM_TOKEN, TP("code"), NULL, NULL},
    {"Condition", "onset-date", FHIR_PARAM_DATE, TP("onset[x]"), NULL, NULL},
    {"Condition", "patient", FHIR_PARAM_REFERENCE, TP("subject"), TP("Patient"), NULL},
    {"Condition", "subject", FHIR_PARAM_REFERENCE, TP("subject"), TP("Patient", "Group"), NULL},
    {"Condition", "abatement-age", FHIR_PARAM_QUANTITY, TP("abatementAge", "abatementRange"), NULL,
     NULL},
};
static const struct fhir_search_param td_patient[] = {
    {"Patient", "_id", FHIR_PARAM_TOKEN, TP("id"), NULL, NULL},
    {"Patient", "_lastUpdated", FHIR_PARAM_DATE, TP("meta.lastUpdated"), NULL, NULL},
    {"Patient", "active", FHIR_PARAM_TOKEN, TP("active"), NULL, NULL},
    {"Patient", "address", FHIR_PARAM_STRING, TP("address"), NULL, NULL},
    {"Patient", "birthdate", FHIR_PARAM_DATE, TP("birthDate"), NULL, NULL},
    {"Patient", "family", FHIR_PARAM_STRING, TP("name.family"), NULL, NULL},
    {"Patient", "gender", FHIR_PARAM_TOKEN, TP("gender"), NULL, NULL},
    {"Patient", "general-practitioner", FHIR_PARAM_REFERENCE, TP("generalPractitioner"),
     TP("Practitioner", "Organization"), NULL},
    {"Patient", "given", FHIR_PARAM_STRING, TP("name.given"), NULL, NULL},
    {"Patient", "identifier", FHIR_PARAM_TOKEN, TP("identifier"), NULL, NULL},
    {"Patient", "name", FHIR_PARAM_STRING, TP("name"), NULL, NULL},
    {"Patient", "telecom", FHIR_PARAM_TOKEN, TP("telecom"), NULL, NULL},
    {"Patient", "_profile", FHIR_PARAM_URI, TP("meta.profile"), NULL, NULL},
};
static const struct fhir_search_param td_practitioner[] = {
    {"Practitioner", "_id", FHIR_PARAM_TOKEN, TP("id"), NULL, NULL},
    {"Practitioner", "name", FHIR_PARAM_STRING, TP("name"), NULL, NULL},
};
static const struct fhir_search_param td_risk[] = {
    {"RiskAssessment", "_id", FHIR_PARAM_TOKEN, TP("id"), NULL, NULL},
    {"RiskAssessment", "probability", FHIR_PARAM_NUMBER, TP("prediction.probability[x]"), NULL,
     NULL},
    {"RiskAssessment", "subject", FHIR_PARAM_REFERENCE, TP("subject"), TP("Patient", "Group"),
     NULL},
};
static const struct fhir_search_param td_claim[] = {
    {"Claim", "_id", FHIR_PARAM_TOKEN, TP("id"), NULL, NULL},
    {"Claim", "total", FHIR_PARAM_QUANTITY, TP("total"), NULL, NULL},
};

#define TD_ENTRY(t)                                                                                \
    {                                                                                              \
        t, sizeof t / sizeof t[0]                                                                  \
    }
static const struct {
    const struct fhir_search_param *p;
    size_t n;
} td_all[] = {TD_ENTRY(td_observation),  TD_ENTRY(td_condition), TD_ENTRY(td_patient),
              TD_ENTRY(td_practitioner), TD_ENTRY(td_risk),      TD_ENTRY(td_claim)};

/* Group, Device, Location, Organization: known types without parameters of their own here. */
static const struct fhir_search_param td_bare[] = {
    {"Group", "_id", FHIR_PARAM_TOKEN, TP("id"), NULL, NULL},
    {"Device", "_id", FHIR_PARAM_TOKEN, TP("id"), NULL, NULL},
    {"Location", "_id", FHIR_PARAM_TOKEN, TP("id"), NULL, NULL},
    {"Organization", "_id", FHIR_PARAM_TOKEN, TP("id"), NULL, NULL},
};

__attribute__((unused)) static const struct fhir_search_param *td_params(const char *resource,
                                                                         size_t *n)
{
    for (size_t i = 0; i < sizeof td_all / sizeof td_all[0]; i++)
        if (strcmp(td_all[i].p[0].resource, resource) == 0) {
            *n = td_all[i].n;
            return td_all[i].p;
        }
    for (size_t i = 0; i < sizeof td_bare / sizeof td_bare[0]; i++)
        if (strcmp(td_bare[i].resource, resource) == 0) {
            *n = 1;
            return &td_bare[i];
        }
    *n = 0;
    return NULL;
}

__attribute__((unused)) static const struct fhir_search_param *td_param(const char *resource,
                                                                        const char *name)
{
    size_t n;
    const struct fhir_search_param *p = td_params(resource, &n);
    for (size_t i = 0; p != NULL && i < n; i++)
        if (strcmp(p[i].name, name) == 0)
            return &p[i];
    return NULL;
}

__attribute__((unused)) static const struct fhir_search_defs td_defs = {td_params, td_param, NULL};

#endif

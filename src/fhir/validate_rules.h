/* validate_rules.h - clinical rules beyond the structure definitions (validate_rules.c), run by
 * fhir_validate() on each resource that passed the structural checks. Internal to fhir/. */
#ifndef COS_FHIR_VALIDATE_RULES_H
#define COS_FHIR_VALIDATE_RULES_H

#include <jansson.h>

#include "fhir/validate.h"

/* Checks resource (structurally valid, of type type) against the rules that apply to its type;
 * path is its FHIRPath location ("Observation", "Bundle.entry[2].resource"). Adds issues to
 * out. */
void fhir_validate__rules(const json_t *resource, const char *type, const char *path,
                          struct fhir_issues *out);

#endif

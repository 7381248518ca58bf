/* owner.h - whose record a FHIR resource is: the citizen (the Patient, whose id is their regional
 * ID person id) a resource of each served type belongs to, read from the one member that names
 * them. That citizen is the resource's subject: the consent that governs it is theirs, and every
 * access to it goes on their audit trail. */
#ifndef COS_FHIR_OWNER_H
#define COS_FHIR_OWNER_H

#include <jansson.h>

#include "base/err.h"

/* The system of the Patient identifier that carries the regional ID. */
#define FHIR_SYS_REGIONAL_ID "urn:cityos:regional-id"

enum fhir_ownership {
    FHIR_NOT_SERVED,   /* a type cityos does not serve through the generic FHIR API */
    FHIR_PERSONAL,     /* always some citizen's data: the owner member is required */
    FHIR_MAY_BE_OWNED, /* a citizen's when the owner member names one (Device.patient) */
    FHIR_SHARED,       /* about no one: directories, forms, schedules */
};

/* How resource_type is served, and the member naming its owner ("subject", "patient", "for";
 * "" for Patient itself; NULL for shared types). */
enum fhir_ownership fhir_owner_kind(const char *resource_type, const char **member);

/* The person id of the citizen whose record res (of resource_type, already validated) is, into
 * *out (borrowed from res), or NULL for data about no one. Returns 0, or ERR_INVALID with e
 * naming the member when a personal resource does not name exactly one Patient by a relative
 * reference "Patient/<id>" with a well-formed id (another kind of reference, a contained or
 * absolute one, or none). Whether that person exists is the caller's check. */
int fhir_owner_of(const char *resource_type, const json_t *res, const char **out, struct err *e);

/* Every served type, NULL-terminated, in the order of the CapabilityStatement. */
const char *const *fhir_owner_types(void);

#endif

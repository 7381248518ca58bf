/* fhir_consent.h - a stored consent as a FHIR R4 Consent resource (docs/internals/consent.md,
 * "FHIR Consent"): the mapping only, in one place; the endpoints are in consent_api.c. */
#ifndef COS_CONSENT_FHIR_CONSENT_H
#define COS_CONSENT_FHIR_CONSENT_H

#include <jansson.h>

#include "base/err.h"
#include "consent/consent.h"

#define CONSENT_FHIR_CITY        "会津若松市 / Aizuwakamatsu City"
#define CONSENT_FHIR_SYS_PURPOSE "urn:cityos:purpose"
#define CONSENT_FHIR_SYS_CAT     "urn:cityos:category"
#define CONSENT_FHIR_SYS_RECIPS  "urn:cityos:purpose-recipients"

/* The Consent resource of rec: status active or inactive (withdrawn), scope patient-privacy,
 * category LOINC 59284-0, patient and performer (who granted), dateTime (when "agree" was
 * pressed), organization (the city), policyRule OPTIN, policy uri
 * urn:cityos:purpose:<code>@<version>, and one provision of type permit with its period,
 * actor (role IRCP: Organization/<id>, Device/<id> for a client, Patient/<id> for a person, or
 * the identifier of "every recipient registered for <code>@<version>"), action (access for
 * read, correct for write), purpose and class (the categories granted). covered is what the
 * consent's purpose version covers: each category of it the citizen did not grant (a narrowed
 * or partial consent) is an explicit exception, a nested provision {type deny, class: that
 * category}, in canonical order; covered 0 (unknown) adds none. Returns a new reference, or
 * NULL with e (ERR_INVALID for a record that cannot be mapped, ERR_NOMEM). */
json_t *consent_fhir_resource(const struct consent_record *rec, consent_cats covered,
                              struct err *e);

#endif

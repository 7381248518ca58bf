/* category.h - the data categories consents are given for (vitals, medications, location ...),
 * as an enum and a bit mask, and the one table that maps FHIR resource types and category codes
 * to them (docs/internals/consent.md has the table in words). */
#ifndef COS_CONSENT_CATEGORY_H
#define COS_CONSENT_CATEGORY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* The order is the canonical order of every category list (stored, hashed, answered). */
enum consent_category {
    CONSENT_CAT_NONE = -1, /* not a category: unmapped data, a parse failure */
    CONSENT_CAT_VITALS = 0,
    CONSENT_CAT_CHECKUPS,
    CONSENT_CAT_CLAIMS,
    CONSENT_CAT_MEDICATIONS,
    CONSENT_CAT_LAB_RESULTS,
    CONSENT_CAT_GENOME,
    CONSENT_CAT_LIFELOG,
    CONSENT_CAT_CARE_RECORDS,
    CONSENT_CAT_SCHOOL_HEALTH,
    CONSENT_CAT_MATERNAL_CHILD,
    CONSENT_CAT_LOCATION,
    CONSENT_CAT_PAYMENTS,
    CONSENT_CAT_CONTACT,
    CONSENT_CAT_CLINICAL,     /* diagnoses, encounters, procedures, clinical documents */
    CONSENT_CAT_ALERTS,       /* risk alerts and the advice that goes with them */
    CONSENT_CAT_APPOINTMENTS, /* bookings */
    CONSENT_CAT_COUNT
};

typedef uint32_t consent_cats; /* bit (1u << category) per category */
#define CONSENT_CATS_ALL ((consent_cats)((1u << CONSENT_CAT_COUNT) - 1u))

#define CONSENT_CATS_TEXT_MAX 256 /* the longest canonical list, with its NUL */

/* "vitals" ... ; NULL for a value that is not a category. */
const char *consent_category_name(enum consent_category c);
/* The category named exactly text, or CONSENT_CAT_NONE. */
enum consent_category consent_category_parse(const char *text);

/* "vitals,medications" <-> mask. parse refuses unknown, repeated and empty names and an empty
 * list (ERR_INVALID, e names the first bad entry); format writes the canonical order into buf
 * ("" for 0) and returns buf. */
int consent_cats_parse(const char *text, consent_cats *out, struct err *e);
const char *consent_cats_format(consent_cats m, char buf[CONSENT_CATS_TEXT_MAX]);

/* A coding of a resource's category (CodeableConcept.coding[]): borrowed strings. */
struct consent_coding {
    const char *system; /* may be NULL */
    const char *code;
};

/* The one mapping table: the category of a FHIR resource of type resource_type whose category
 * codings are codings[0..n). The first matching row wins (specific rows come first). Returns
 * CONSENT_CAT_NONE when nothing matches: unmapped data is refused to everyone but its subject. */
enum consent_category consent_category_of(const char *resource_type,
                                          const struct consent_coding *codings, size_t n);

/* The same for a parsed FHIR resource: reads resourceType and the codings of its "category"
 * member (an array of CodeableConcepts, or one CodeableConcept; at most 16 codings are read). */
enum consent_category consent_category_of_resource(const json_t *resource);

/* The code systems the table knows. */
#define CONSENT_SYS_OBSERVATION "http://terminology.hl7.org/CodeSystem/observation-category"
#define CONSENT_SYS_V2_0074     "http://terminology.hl7.org/CodeSystem/v2-0074"
#define CONSENT_SYS_CITY        "urn:cityos:record-category"

/* One row of the table, for the documentation test and for tools. */
struct consent_category_row {
    const char *resource_type; /* "*": any type */
    const char *system;        /* NULL: no category coding needed */
    const char *code;
    enum consent_category category;
};
const struct consent_category_row *consent_category_table(size_t *n);

#endif

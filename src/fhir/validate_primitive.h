/* validate_primitive.h - FHIR R4 primitive types by kind, for the validator's inner loop: a
 * type code is classified once by its first letters (every R4 primitive type code starts with
 * a lower-case letter, every complex type with an upper-case one) and its lexical form checked
 * without a name lookup. Internal to fhir/; fhir_primitive_string_ok() is the public face. */
#ifndef COS_FHIR_VALIDATE_PRIMITIVE_H
#define COS_FHIR_VALIDATE_PRIMITIVE_H

#include <stddef.h>

enum fhir_prim {
    FHIR_PRIM_NONE, /* not a primitive type: a complex type, a resource, or unknown */
    FHIR_PRIM_BASE64BINARY,
    FHIR_PRIM_BOOLEAN,
    FHIR_PRIM_CANONICAL,
    FHIR_PRIM_CODE,
    FHIR_PRIM_DATE,
    FHIR_PRIM_DATETIME,
    FHIR_PRIM_DECIMAL,
    FHIR_PRIM_ID,
    FHIR_PRIM_INSTANT,
    FHIR_PRIM_INTEGER,
    FHIR_PRIM_MARKDOWN,
    FHIR_PRIM_OID,
    FHIR_PRIM_POSITIVEINT,
    FHIR_PRIM_STRING,
    FHIR_PRIM_TIME,
    FHIR_PRIM_UNSIGNEDINT,
    FHIR_PRIM_URI,
    FHIR_PRIM_URL,
    FHIR_PRIM_UUID,
    FHIR_PRIM_XHTML,
};

/* The kind of type code type (never NULL). */
enum fhir_prim fhir_validate__prim(const char *type);

/* Is s[0..len) a valid value of the string-valued primitive kind k? (0 for boolean, integer,
 * decimal, positiveInt, unsignedInt as JSON numbers: those are checked on the JSON value.) */
int fhir_validate__string_ok(enum fhir_prim k, const char *s, size_t len);

#endif

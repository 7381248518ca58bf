/* validate.h - structural validation of a FHIR R4 resource (JSON) against the generated
 * definitions (fhir/defs.h) plus a few clinical rules (validate_rules.c): element names, JSON
 * types and primitive formats, cardinality, choice elements, required code bindings, reference
 * shapes and targets, contained resources, bounded sizes. FHIRPath invariants are not checked
 * (docs/internals/fhir-defs.md). The result is a bounded list of issues, each with its FHIRPath
 * location, that becomes an OperationOutcome. */
#ifndef COS_FHIR_VALIDATE_H
#define COS_FHIR_VALIDATE_H

#include <jansson.h>
#include <stddef.h>

#include "fhir/outcome.h"

#define FHIR_ISSUES_MAX         20            /* issues kept; later ones are only counted */
#define FHIR_ISSUE_TEXT         200           /* bytes of diagnostics kept per issue */
#define FHIR_ISSUE_EXPR         256           /* bytes of FHIRPath location kept per issue */
#define FHIR_VALIDATE_MAX_DEPTH 32            /* nesting of JSON objects/arrays */
#define FHIR_STRING_MAX_BYTES   (1024 * 1024) /* R4 string maxLength (1 MB), markdown, uri ... */
#define FHIR_BASE64_MAX_BYTES   (16 * 1024 * 1024) /* base64Binary (Attachment.data) */

struct fhir_issue {
    enum fhir_severity severity;
    const char *code;                  /* issue-type code ("structure", "required",
                                        * "value", "invalid", "code-invalid", "too-long",
                                        * "too-costly", "not-found" ...): a static string */
    char diagnostics[FHIR_ISSUE_TEXT]; /* never contains the offending value */
    char expression[FHIR_ISSUE_EXPR];  /* "Observation.component[1].code.coding[0].system";
                                        * a choice member by its JSON name
                                        * ("Observation.valueQuantity.unit"); "" for none */
};

enum fhir_ref_kind {
    FHIR_REF_RELATIVE, /* "Patient/123" or "Patient/123/_history/2" */
    FHIR_REF_URN,      /* "urn:uuid:..." or "urn:oid:...": a Bundle entry's fullUrl */
    FHIR_REF_ABSOLUTE, /* "https://other.example/fhir/Patient/123" */
};

/* A literal reference found in the resource (Reference.reference), handed to the caller's
 * callback after its shape and target type were checked. Local references to contained
 * resources ("#id") are resolved by the validator itself and never handed over. */
struct fhir_ref {
    enum fhir_ref_kind kind;
    const char *reference;      /* as written; borrowed from the resource */
    char type[64];              /* RELATIVE: the resource type; ABSOLUTE: the type when the URL
                                 * ends in Type/id[/_history/v], else ""; URN: "" */
    char id[65];                /* RELATIVE (and ABSOLUTE when typed): the logical id */
    const char *expression;     /* FHIRPath of the Reference ("Observation.subject") */
    const char *const *targets; /* the resource types the element allows; NULL: any */
};

struct fhir_issues;

/* Called for each literal reference; checks that it exists and that the writer may refer to
 * it. Returns 0 to accept; otherwise it must have added its error issue with fhir_issues_add
 * (code "not-found", "forbidden" ...). ref and its strings live only during the call. */
typedef int (*fhir_ref_fn)(void *ctx, const struct fhir_ref *ref, struct fhir_issues *out);

struct fhir_issues {
    size_t n;           /* issues in items */
    size_t dropped;     /* issues past FHIR_ISSUES_MAX: counted, not kept */
    size_t nerrors;     /* issues of severity error or fatal, kept or dropped */
    fhir_ref_fn on_ref; /* may be NULL: references are then only checked for shape and type */
    void *ref_ctx;
    struct fhir_issue items[FHIR_ISSUES_MAX];
};

/* Empties out and sets the reference callback (on_ref may be NULL). */
void fhir_issues_init(struct fhir_issues *out, fhir_ref_fn on_ref, void *ctx);

/* Appends an issue (or counts it when the list is full). expression may be NULL or "". The
 * diagnostics are printf-formatted and truncated to FHIR_ISSUE_TEXT - 1 bytes. */
void fhir_issues_add(struct fhir_issues *out, enum fhir_severity severity, const char *code,
                     const char *expression, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Validates resource, a parsed JSON value, as a FHIR R4 resource; expect_type, when not NULL,
 * is the resource type it must have (the type of the URL it was sent to). out must have been
 * set up with fhir_issues_init(); issues are appended, so one list may collect the issues of
 * several resources. Returns 0 when this call added no error issue, ERR_INVALID otherwise. */
int fhir_validate(const json_t *resource, const char *expect_type, struct fhir_issues *out);

/* The issues as an OperationOutcome (every issue with severity, code, diagnostics and
 * expression [..]; a last "too-costly" information issue saying how many were dropped). An
 * empty list gives one "informational" issue "no issues". Returns a new reference or NULL when
 * out of memory. */
json_t *fhir_issues_outcome(const struct fhir_issues *in);

/* Is s a valid value of the FHIR R4 primitive type type_code ("dateTime", "id", ...)? For the
 * string-valued types only (not boolean, integer, decimal ...); len is s's length in bytes.
 * Exposed for the search code (date and token parameter values) and the tests. */
int fhir_primitive_string_ok(const char *type_code, const char *s, size_t len);

#endif

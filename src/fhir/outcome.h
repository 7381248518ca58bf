/* outcome.h - FHIR R4 OperationOutcome, the error body of the /fhir edge, built here and nowhere
 * else (the FHIR module proper comes with issue 5). Content-Type application/fhir+json. */
#ifndef COS_FHIR_OUTCOME_H
#define COS_FHIR_OUTCOME_H

#include <jansson.h>

#include "http/request.h"

#define FHIR_JSON "application/fhir+json"

/* FHIR issue-severity codes (http://hl7.org/fhir/issue-severity). */
enum fhir_severity { FHIR_FATAL, FHIR_ERROR, FHIR_WARNING, FHIR_INFORMATION };

/* {"resourceType":"OperationOutcome","issue":[{"severity":..,"code":..,"diagnostics":..}]}
 * code is an issue-type code (http://hl7.org/fhir/issue-type: "invalid", "required", "value",
 * "login", "forbidden", "not-found", "transient", "exception" ...). diagnostics may be NULL
 * (left out); text that is not UTF-8 is replaced by a plain note. Returns a new reference or
 * NULL when out of memory. */
json_t *fhir_operation_outcome(enum fhir_severity severity, const char *code,
                               const char *diagnostics);

/* Sets the response: status, an OperationOutcome with one issue of severity error (fatal for
 * 5xx) and the printf-style diagnostics (never personal data), Content-Type
 * application/fhir+json. Logs like http_problem. */
void fhir_outcome_at(struct http_request *req, const char *file, int line, int status,
                     const char *code, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

#define fhir_outcome(req, status, code, ...)                                                       \
    fhir_outcome_at(req, __FILE__, __LINE__, status, code, __VA_ARGS__)

/* "fatal", "error", "warning" or "information". */
const char *fhir_severity_name(enum fhir_severity s);

#endif

/* outcome.c - the one builder of FHIR OperationOutcome error bodies. */
#include "fhir/outcome.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonx.h"
#include "base/log.h"

const char *fhir_severity_name(enum fhir_severity s)
{
    switch (s) {
    case FHIR_FATAL:
        return "fatal";
    case FHIR_WARNING:
        return "warning";
    case FHIR_INFORMATION:
        return "information";
    case FHIR_ERROR:
        break;
    }
    return "error";
}

json_t *fhir_operation_outcome(enum fhir_severity severity, const char *code,
                               const char *diagnostics)
{
    json_t *issue = json_pack("{s:s, s:s}", "severity", fhir_severity_name(severity), "code",
                              code != NULL ? code : "exception");
    if (issue == NULL)
        return NULL;
    if (diagnostics != NULL && diagnostics[0] != '\0') {
        json_t *d = json_string(diagnostics);
        if (json_object_set_new(issue, "diagnostics",
                                d != NULL ? d : json_string("(diagnostics not valid UTF-8)")) !=
            0) {
            json_decref(issue);
            return NULL;
        }
    }
    return json_pack("{s:s, s:[o]}", "resourceType", "OperationOutcome", "issue", issue);
}

void fhir_outcome_at(struct http_request *req, const char *file, int line, int status,
                     const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *diag = arena_vprintf(req->arena, fmt, ap);
    va_end(ap);
    enum log_level lvl = status >= 500 ? LOGL_WARN : LOGL_DEBUG;
    if (log_enabled(lvl))
        log_write(lvl, file, line,
                  json_pack("{s:s, s:s, s:i}", "request_id", req->request_id ? req->request_id : "",
                            "issue", code, "status", status),
                  "%s", diag ? diag : code);
    json_t *o = fhir_operation_outcome(status >= 500 ? FHIR_FATAL : FHIR_ERROR, code, diag);
    char *text = o != NULL ? jsonx_dumps(o, NULL) : NULL;
    json_decref(o);
    char *copy = text != NULL ? arena_strdup(req->arena, text) : NULL;
    free(text);
    if (copy == NULL)
        copy = "{\"resourceType\":\"OperationOutcome\",\"issue\":[{\"severity\":\"fatal\","
               "\"code\":\"exception\"}]}";
    http_respond(req, status, FHIR_JSON, copy, strlen(copy));
}

/* fhir_call.h - what every FHIR handler does first: the principal (401 as OperationOutcome), the
 * resource type of the path, the query parameters it accepts, the purpose and break-glass
 * headers; and the shared readers of a request: the resource body, If-Match, paging. */
#ifndef COS_FHIR_CALL_H
#define COS_FHIR_CALL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "fhir/fhir_api.h"
#include "http/request.h"
#include "identity/principal.h"

#define FHIR_PAGE_DEFAULT 50
#define FHIR_PAGE_MAX     500

/* A literal reference of the request's resource, kept for fhir_call_check_refs(). */
struct fhir_call_ref {
    struct fhir_call_ref *next;
    int kind; /* enum fhir_ref_kind */
    const char *type, *id, *expression;
};

struct fhir_call {
    struct fhir_api *api;
    struct http_request *req;
    struct id_principal who;
    const char *rtype;          /* req->params[0], a served type */
    const char *purpose;        /* FHIR_HDR_PURPOSE, or NULL */
    const char *break_glass;    /* FHIR_HDR_BREAK_GLASS decoded, or NULL */
    struct fhir_call_ref *refs; /* of the resource read by fhir_call_resource() */
    int nomem;
};

/* Fills c for req: the principal, the type (404 for a type not served here; Consent and
 * AuditEvent are read-only here), the query (only the names in allowed, NULL: none but
 * _format; _format must ask for JSON), the headers. Returns 1 (go on), 0 (answer set), -1. */
int fhir_call_begin(struct http_request *req, struct fhir_api *api, struct fhir_call *c,
                    const char *const *allowed);

/* The same for a search: every query parameter is the search's (checked by search_parse.c). */
int fhir_call_begin_search(struct http_request *req, struct fhir_api *api, struct fhir_call *c);

/* The request body, parsed strictly, as a resource of c->rtype (FHIR JSON, resourceType
 * checked; not validated further). *doc is borrowed from the request (released with it).
 * Returns 1, 0 (answer set) or -1. */
int fhir_call_body(struct fhir_call *c, json_t **doc);

/* The request body as a resource of c->rtype: Content-Type FHIR JSON (or JSON), parsed
 * strictly, validated against the R4 definitions (422 with every issue and its location); for
 * an update its id must equal url_id (400 otherwise). *doc is a new reference. Returns 1, 0 or
 * -1 like fhir_call_begin. */
int fhir_call_resource(struct fhir_call *c, json_t **doc, const char *url_id);

/* The references of the resource fhir_call_resource() read, for a resource of citizen subject
 * (NULL: of no one): each must exist, and may name a citizen (a Patient), shared data, or data
 * of the same citizen only; urn: references belong in a transaction Bundle. Answers 422 with
 * every failing reference and its location. Returns 1, 0 (answer set) or -1. */
int fhir_call_check_refs(struct fhir_call *c, const char *subject);

struct fhir_issues;

/* A resource a transaction creates: references to it count as existing. */
struct fhir_pending {
    const char *type, *id, *subject;
};

/* fhir_call_check_refs() for a list of references, into is, with the resources a transaction
 * creates (pending) counting as existing; where (NULL: none) replaces the resource type at the
 * start of each issue's location ("Bundle.entry[2].resource"). Returns 0 (is may hold errors)
 * or ERR_UNAVAILABLE when the store failed. */
int fhir_refs_check(struct fhir_call *c, const struct fhir_call_ref *refs, const char *subject,
                    const struct fhir_pending *pending, size_t npending, const char *where,
                    struct fhir_issues *is);

/* Validates v as a resource of rtype into is (issues located under where, as above), keeping
 * its references in c->refs. Returns 0 or -1 (out of memory). */
int fhir_call_validate_into(struct fhir_call *c, const json_t *v, const char *rtype,
                            const char *where, struct fhir_issues *is);

/* Rewrites a FHIRPath location "Type.rest" to "<where>.rest" in place (where NULL: unchanged). */
void fhir_issue_where(char *expr, size_t cap, const char *where);

/* If-Match: W/"<n>" or "<n>" into *version (0 when absent). Returns 1, or 0 with 400 set. */
int fhir_call_if_match(struct fhir_call *c, int64_t *version);

/* _count (1..FHIR_PAGE_MAX, default FHIR_PAGE_DEFAULT), _since (an instant) and _cursor (from a
 * next link: "<ms>.<version>.<id>"). Returns 1, or 0 with 400 set. */
int fhir_call_paging(struct fhir_call *c, size_t *count, int64_t *since_ms, int64_t *before_ms,
                     int64_t *before_version, const char **before_id);

/* The answer to a store failure rc (e from the store): 503 with Retry-After. Returns 0, or -1
 * for ERR_NOMEM. */
int fhir_call_store_failed(struct fhir_call *c, int rc, const struct err *e);

#endif

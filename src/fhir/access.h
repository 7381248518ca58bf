/* access.h - the FHIR edge's side of the one access decision: for a principal and a resource
 * (its owner and consent category), is this read or write allowed by the token's SMART scopes
 * and by consent_decide(), and the audit event that records the answer. Every FHIR handler
 * asks here; none reaches the store around it (docs/internals/fhir.md). */
#ifndef COS_FHIR_ACCESS_H
#define COS_FHIR_ACCESS_H

#include "audit/audit.h"
#include "consent/index.h"
#include "identity/principal.h"

/* Request headers of the FHIR edge (docs/api.md): the purpose the caller reads for (a purpose
 * code; absent: any purpose the citizen consented to), and an emergency-access statement,
 * percent-encoded UTF-8 (RFC 3986), for a hospital doctor or nurse without consent. */
#define FHIR_HDR_PURPOSE     "X-Purpose-Of-Use"
#define FHIR_HDR_BREAK_GLASS "X-Break-Glass-Reason"

/* What is asked about. */
struct fhir_target {
    const char *rtype;
    const char *id;       /* NULL for a type-level question (search, create before its id) */
    const char *subject;  /* owner's person id; NULL: data about no one */
    const char *category; /* consent category name; NULL: none maps */
};

struct fhir_verdict {
    int permit;
    int scope_refused; /* refused by the token's scopes (403 insufficient_scope) */
    int break_glass;   /* permitted by emergency access: record with the inbox notice */
    const char *decided_by;
    const char *reason;
    const char *purpose; /* "code@version" in the arena, or NULL */
};

/* The principal's question: perm is one ID_PERM_* bit (R read/vread/history, S search, C, U,
 * D); write is C/U/D. purpose and break_glass as the headers gave them (NULL: none). Fills v.
 * Returns 0, or -1 when out of memory. */
int fhir_access_decide(const struct id_principal *p, const struct fhir_target *t, unsigned perm,
                       const char *purpose, const char *break_glass, struct arena *a,
                       struct fhir_verdict *v);

/* The audit event of that verdict, for t's subject's trail: actor from p, request id and source
 * from req, action ("read", "vread", "search", "history", "create", "update", "delete"),
 * resource, category, purpose, decision, decided_by, reason. Returns 0 or -1. */
int fhir_access_event(struct http_request *req, const struct id_principal *p,
                      const struct fhir_target *t, const char *action, const struct fhir_verdict *v,
                      struct audit_event *ev);

/* The headers' values for fhir_access_decide: the purpose (a token of [a-z0-9_.-], at most 64
 * bytes) and the percent-decoded break-glass reason (UTF-8, at most 1024 bytes). Returns 1, or
 * 0 with *bad naming the header that is malformed. */
int fhir_access_headers(struct http_request *req, const char **purpose, const char **break_glass,
                        const char **bad);

#endif

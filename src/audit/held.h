/* held.h - "no record, no read": an answer that hands out a citizen's data is held back until
 * the read's audit entry is durable (through the group commit); if it cannot be recorded the
 * caller gets 503 and nothing is handed out. One implementation for every read path (the trail
 * views, the consent API, FHIR Consent, userinfo). */
#ifndef COS_AUDIT_HELD_H
#define COS_AUDIT_HELD_H

#include <jansson.h>
#include <stddef.h>

#include "audit/audit.h"
#include "http/request.h"
#include "store/store.h"

/* The answer to give once the entry is durable. Allocate it in the request's arena (zeroed) and
 * fill what applies. */
struct audit_held {
    int http_status;  /* 0: 200 */
    const char *type; /* content type of body */
    char *body;       /* in the arena (audit_held_json) */
    size_t len;
    const char *deny;           /* set: answer 403 with this detail instead of body */
    const char *deny_challenge; /* with deny: a WWW-Authenticate value to send */
    int fhir;                   /* errors as OperationOutcome; else problem+json */
    int retry_after;            /* a 503 carries Retry-After: 1 */
    const char *what;           /* for the log: "the read of a trail", ... */
    /* private */
    struct http_request *req;
    int status;
};

/* Serialises v (borrowed) into h->body in the request's arena with content type type. Returns 0
 * or -1 (out of memory). */
int audit_held_json(struct http_request *req, struct audit_held *h, json_t *v, const char *type);

/* Suspends the request, records ev (audit_record_async) and answers h once the entry is durable,
 * or 503 when it could not be queued or committed. Returns 0: what the handler returns. */
int audit_answer_when_recorded(struct http_request *req, struct store *s,
                               const struct audit_event *ev, struct audit_held *h);

/* The same for a read whose record is more than one audit entry: fn (a store_write_fn with ctx,
 * which must live until the answer) writes the records, e.g. consent_break_glass_fn's entry
 * and inbox notice; h is answered once that write is durable. */
int audit_answer_when_written(struct http_request *req, struct store *s, store_write_fn fn,
                              void *ctx, struct audit_held *h);

#endif

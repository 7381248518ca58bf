/* bundle.h - Bundles the FHIR edge answers with (history, searchset): entries, the next-page
 * link, and the audit records of the decisions behind them, one per citizen, decision and
 * category, all durable before the Bundle is handed out. */
#ifndef COS_FHIR_BUNDLE_H
#define COS_FHIR_BUNDLE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "audit/audit.h"
#include "fhir/access.h"
#include "fhir/resource.h"
#include "http/request.h"

struct fhir_call;
struct fhir_sql_key;

#define FHIR_BUNDLE_EVENTS_MAX 256 /* distinct (citizen, category, decision) in one answer */

struct fhir_bundle_event {
    struct fhir_target t;
    struct fhir_verdict v;
    size_t n; /* how many resources this decision covered */
};

struct fhir_bundle {
    struct http_request *req;
    const char *issuer;
    json_t *doc;     /* owned: released with the request */
    json_t *entries; /* borrowed from doc */
    size_t nentries;
    /* raw[i]: entry i's resource as the stored text (in the arena), spliced into the answer
     * unparsed; NULL when the entry holds its resource (subsetted) or has none */
    const char **raw;
    size_t *raw_len;
    size_t nraw, raw_cap;
    const char *type;
    const char **elements; /* search: _elements (top-level names kept), or NULL */
    size_t nelements;
    int summary_data;                /* search: _summary=data (text left out) */
    const struct fhir_sql_key *keys; /* search: the page's matches, for _include */
    size_t nkeys;
    struct fhir_bundle_event *events; /* in the arena */
    size_t nevents;
    int overflow;
};

/* An empty Bundle of type ("history", "searchset"). Returns 0 or -1. */
int fhir_bundle_init(struct fhir_bundle *b, struct http_request *req, const char *issuer,
                     const char *type);

/* Notes the decision on one resource of t's citizen for the trail (nothing for data about no
 * one). Returns 0 or -1. */
int fhir_bundle_decided(struct fhir_bundle *b, const struct fhir_target *t,
                        const struct fhir_verdict *v);

/* A history entry: the version with its request and response (a deletion has no resource). */
int fhir_bundle_add_version(struct fhir_bundle *b, const struct fhir_record *r);

/* A search entry: the resource with search.mode (match, include, outcome). */
int fhir_bundle_add_match(struct fhir_bundle *b, const struct fhir_record *r, const char *mode);

/* Sets total (searchset with a total). */
int fhir_bundle_total(struct fhir_bundle *b, size_t total);

/* The next link: the request's path with the query params (name, value pairs, NULL-terminated;
 * values percent-encoded here) and _cursor=cursor. Returns 0 or -1. */
int fhir_bundle_next(struct fhir_bundle *b, const char *const *params, const char *cursor);

/* A link of relation ("self", "next") to the request's path with query (already encoded; NULL
 * or "": none). Returns 0 or -1. */
int fhir_bundle_link(struct fhir_bundle *b, const char *relation, const char *query);

/* An entry of search.mode "outcome" carrying issues (an OperationOutcome, stolen). */
int fhir_bundle_add_outcome(struct fhir_bundle *b, json_t *outcome);

/* Answers with the Bundle once its decisions are on the citizens' trails (action names them:
 * "history", "search"); at once when it touched no one's data. Returns what a handler returns. */
int fhir_bundle_send(struct fhir_bundle *b, struct fhir_call *c, const char *action);

#endif

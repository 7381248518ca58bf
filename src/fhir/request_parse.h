/* request_parse.h - the small parsers of the FHIR edge's input, free of HTTP so they can be
 * unit-tested and fuzzed: ETags (If-Match), version ids, history cursors, the break-glass
 * header, and the request part of a batch/transaction Bundle entry. */
#ifndef COS_FHIR_REQUEST_PARSE_H
#define COS_FHIR_REQUEST_PARSE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "fhir/resource.h"

struct arena;

/* A version id: decimal 1 .. 2^53, no sign, no leading zero. Returns 1 or 0. */
int fhir_parse_version(const char *s, int64_t *version);

/* An ETag of a version, W/"<n>" or "<n>". Returns 1 or 0. */
int fhir_parse_etag(const char *s, int64_t *version);

/* A history cursor "<ms>.<version>.<id>". *id points into s. Returns 1 or 0. */
int fhir_parse_history_cursor(const char *s, int64_t *ms, int64_t *version, const char **id);

/* The X-Break-Glass-Reason header: percent-decoded into a, 1..1024 bytes of UTF-8 without
 * control characters. NULL when malformed (or out of memory). */
const char *fhir_decode_reason(struct arena *a, const char *s);

/* What a Bundle entry asks (entry.request, entry.resource, entry.fullUrl). */
struct fhir_entry_request {
    enum fhir_write_op op;
    char rtype[FHIR_TYPE_MAX + 1];
    char id[FHIR_ID_MAX + 1];  /* PUT, DELETE: from request.url */
    json_t *resource;          /* borrowed from the entry; NULL for DELETE */
    const char *full_url;      /* borrowed, or NULL */
    int64_t if_match;          /* 0: none */
    const char *if_none_exist; /* borrowed, or NULL */
};

/* Reads entry (a Bundle.entry value) into out. Returns 0, or the HTTP status of the refusal
 * (400 malformed or not served, 404 a type not served) with the issue-type code in *code and
 * a message in msg (cap bytes). Only POST, PUT and DELETE; no conditional URLs; ifNoneExist on
 * POST only; the resource's type and (PUT) id must match request.url. */
int fhir_entry_request_parse(json_t *entry, struct fhir_entry_request *out, const char **code,
                             char *msg, size_t cap);

#endif

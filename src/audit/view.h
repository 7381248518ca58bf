/* view.h - what the views of the trail share (docs/internals/audit.md, "The views"): reading
 * their query parameters, the opaque paging cursor, counts per organisation, names for the ids
 * an entry holds, and an entry as a FHIR R4 AuditEvent. */
#ifndef COS_AUDIT_VIEW_H
#define COS_AUDIT_VIEW_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "audit/audit.h"
#include "base/err.h"

struct arena;

#define AUDIT_VIEW_LIMIT_DEFAULT 50
#define AUDIT_VIEW_LIMIT_MAX     100
#define AUDIT_CURSOR_MAX         24  /* "s" and up to 19 digits, with the NUL */
#define AUDIT_COUNTS_MAX         100 /* organisations in one counts answer */
#define AUDIT_CATEGORY_MAX       64  /* bytes of a category filter */

/* ---- the query of GET /api/v1/me/access-log ---- */

/* The raw query arguments (NULL when absent), as the server decoded them. */
struct audit_view_args {
    const char *from, *until;   /* RFC 3339 date-times */
    const char *actor, *org;    /* an actor id; an organisation id */
    const char *category;       /* a data category token */
    const char *decision;       /* "permit" or "deny" */
    const char *limit, *cursor; /* 1..AUDIT_VIEW_LIMIT_MAX; a cursor this server made */
};

/* Checks and reads args into a filter (its strings borrowed from args) and a page size.
 * Returns 0, or ERR_INVALID with e naming the parameter and the rule (never quoting the
 * value). Rules: from and until RFC 3339 with a zone, from < until when both are given; actor
 * 1..AUDIT_TEXT_MAX bytes of [A-Za-z0-9._:-]; org a regional id (ids_valid); category 1..64
 * bytes of [a-z0-9_-]; decision permit or deny; limit decimal 1..100 without sign or leading
 * zero (default 50); cursor as audit_cursor_parse. */
int audit_view_args_parse(const struct audit_view_args *args, struct audit_filter *f, size_t *limit,
                          struct err *e);

/* ---- the cursor: "s" followed by the decimal seq the next page starts below ---- */

/* Writes the cursor of before_seq (> 0) and a NUL into out. */
void audit_cursor_format(int64_t before_seq, char out[AUDIT_CURSOR_MAX]);

/* Reads a cursor: "s", then 1..18 digits without a leading zero. Returns 0 and sets
 * *before_seq (> 0), or ERR_INVALID. */
int audit_cursor_parse(const char *s, int64_t *before_seq);

/* ---- counts per organisation ---- */

struct audit_org_count {
    const char *org; /* NULL: entries without an organisation (the citizen, family, clients) */
    int64_t permit, deny;
};

/* Counts one subject's entries matching f (its before_seq is ignored: counts cover the whole
 * filtered period) by actor organisation and decision: one GROUP BY over the subject's rows,
 * at most AUDIT_COUNTS_MAX organisations (the most active first, then by id; *more is set when
 * others were left out). Everything lives in a. Returns 0, ERR_INVALID, ERR_NOMEM or the
 * store's error. */
int audit_count_by_org(struct store *s, const char *subject, const struct audit_filter *f,
                       struct arena *a, struct audit_org_count **out, size_t *n, int *more,
                       struct err *e);

/* ---- names ---- */

enum audit_name_kind { AUDIT_NAME_PERSON, AUDIT_NAME_ORG, AUDIT_NAME_CLIENT };

/* Gives the display name of an id, or NULL when unknown. */
typedef const char *(*audit_name_fn)(void *ctx, enum audit_name_kind kind, const char *id);

/* ---- FHIR R4 AuditEvent ---- */

/* The canonical systems cityos uses for codes FHIR has no code system for. */
#define AUDIT_FHIR_SYS_KIND      "urn:cityos:audit:actor-kind"
#define AUDIT_FHIR_SYS_ACTION    "urn:cityos:audit:action"
#define AUDIT_FHIR_SYS_PURPOSE   "urn:cityos:purpose"
#define AUDIT_FHIR_SYS_PERSON    "urn:cityos:regional-id"
#define AUDIT_FHIR_SYS_CLIENT    "urn:cityos:client-id"
#define AUDIT_FHIR_POLICY_PREFIX "urn:cityos:decided-by:"

/* The id of an entry's AuditEvent: "<subject>.<seq>". Written into out (cap bytes); returns 0
 * or ERR_TOOBIG. */
int audit_fhir_id(const struct audit_entry *x, char *out, size_t cap);

/* x as a FHIR R4 AuditEvent (docs/internals/audit.md has the mapping). names may be NULL (no
 * display names). Returns a new reference (the caller decrefs) or NULL when out of memory. */
json_t *audit_entry_to_fhir(const struct audit_entry *x, audit_name_fn names, void *names_ctx);

#endif

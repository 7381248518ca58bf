/* resource.h - FHIR resources in the store (migration 8, docs/internals/fhir.md): the current
 * version with its owner and consent category, every version for history, the search index rows
 * of the current one; the one write that changes a resource together with its index and its
 * audit record. No access decision here: the FHIR API decides before it reads or writes. */
#ifndef COS_FHIR_RESOURCE_H
#define COS_FHIR_RESOURCE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "audit/audit.h"
#include "base/err.h"
#include "store/store.h"

struct arena;
struct fhir_sql;
struct fhir_ix_rows;

#define FHIR_ID_MAX   64 /* R4 id: [A-Za-z0-9\-\.]{1,64} */
#define FHIR_TYPE_MAX 64

/* One stored version. Strings live in the arena the read was given. */
struct fhir_record {
    const char *rtype, *id;
    int64_t version, updated_ms;
    const char *subject;  /* the citizen's person id; NULL for data about no one */
    const char *category; /* consent category name; NULL when none applies */
    int deleted;          /* the current version is a deletion (body is then NULL) */
    const char *method;   /* history: "create", "update" or "delete" */
    const char *body;     /* the JSON text as served (with id and meta) */
    size_t len;
};

/* Is id a valid R4 resource id? */
int fhir_id_valid(const char *id);

/* The current version of rtype/id. Returns 0 (a deleted resource has deleted = 1), ERR_NOTFOUND
 * (never existed), or the store's error. */
int fhir_resource_read(struct store *s, const char *rtype, const char *id, struct fhir_record *out,
                       struct arena *a, struct err *e);

/* Version version of rtype/id. Returns 0 or ERR_NOTFOUND. */
int fhir_resource_vread(struct store *s, const char *rtype, const char *id, int64_t version,
                        struct fhir_record *out, struct arena *a, struct err *e);

/* History, newest first: of one resource (id set) or of a type (id NULL); versions updated at or
 * after since_ms (0: all); keyset paging from before = (updated_ms, version) exclusive (both 0:
 * from the newest). fn is called per version (return non-zero to stop). At most limit rows. */
typedef int (*fhir_record_fn)(const struct fhir_record *r, void *ctx);
struct fhir_history_q {
    const char *rtype, *id;
    int64_t since_ms;
    int64_t before_ms, before_version;
    const char *before_id; /* type history: the id of the last row seen, with before_* */
    size_t limit;
};
int fhir_resource_history(struct store *s, const struct fhir_history_q *q, fhir_record_fn fn,
                          void *ctx, struct arena *a, struct err *e);

enum fhir_write_op { FHIR_WRITE_CREATE, FHIR_WRITE_UPDATE, FHIR_WRITE_DELETE };

/* One change, run as a store_write_fn (fhir_resource_write_fn) inside the batch's transaction:
 * the resource row, its version, its index rows and ev on the owner's audit trail all commit or
 * none does. */
struct fhir_write {
    enum fhir_write_op op;
    const char *rtype;
    char id[FHIR_ID_MAX + 1]; /* create: set by the caller (a new id); else the target */
    json_t *resource;         /* create, update: the validated resource (borrowed); id and meta
                               * (versionId, lastUpdated) are set here */
    int64_t if_match;         /* update, delete: the version the client saw; 0: none */
    int create_missing;       /* update: create rtype/id when it does not exist */
    const char *subject, *category;
    struct audit_event ev; /* the decision that allowed it; subject, resource set here */
    int record_audit;      /* 0 for data about no one: nothing goes on a trail */
    /* create: If-None-Exist, the search's page query (fhir_search_sql_page with a count of 1);
     * a match of the same citizen means nothing is created (existing set), two matches are
     * ERR_CONFLICT "if-none-exist" */
    const struct fhir_sql *if_none_exist;
    int64_t now_ms;
    /* create: set by fhir_write_prepare_create() (the stored text and the index rows made on
     * the caller's thread, so that the store's single writer only inserts them) */
    int prepared;
    const struct fhir_ix_rows *ix_rows;
    /* out */
    int64_t version, updated_ms;
    int created;   /* update: it did not exist before */
    int existing;  /* create with If-None-Exist: one matched (id, version, updated_ms are its) */
    int unchanged; /* delete: already deleted or missing */
    char *body;    /* create, update: the stored text (malloc'ed: fhir_write_release) */
    size_t len;
    int64_t current_version;     /* on an If-Match failure: the version that is current */
    char owner[FHIR_ID_MAX + 1]; /* a copy of the subject (w->subject points here) */
};

/* The store_write_fn of a fhir_write (ctx). Fails with ERR_NOTFOUND (update or delete of a
 * missing resource without create_missing), ERR_CONFLICT with e saying "version" (If-Match
 * does not match: current_version set), ERR_INVALID (an update that would move the resource to
 * another citizen), or the store's and the audit's errors. */
int fhir_resource_write_fn(struct store_tx *tx, void *ctx, struct err *e);

/* For a create without If-None-Exist (op, rtype, id, resource, now_ms set): stamps the resource
 * as version 1 updated at now_ms, serialises it and makes its search index rows (in a) now, on
 * the calling thread, exactly as fhir_resource_write_fn would inside the write, which then only
 * inserts them (the write still fails with ERR_CONFLICT if rtype/id exists). Returns 0,
 * ERR_INVALID (not such a create) or ERR_NOMEM; the write is unchanged on failure. */
int fhir_write_prepare_create(struct fhir_write *w, struct arena *a, struct err *e);

void fhir_write_release(struct fhir_write *w);

#endif

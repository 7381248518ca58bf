/* import_internal.h - what the import's format readers (import_json.c, import_csv.c) share with
 * its core (import.c): a record of resources, checked and written all or nothing. */
#ifndef COS_FHIR_IMPORT_INTERNAL_H
#define COS_FHIR_IMPORT_INTERNAL_H

#include <jansson.h>
#include <stdint.h>

#include "fhir/import.h"
#include "fhir/resource.h"

struct arena;

/* One resource of a record. */
struct fhir_import_item {
    enum fhir_write_op op;     /* CREATE (a new id) or UPDATE (kept id, created when missing) */
    const char *rtype;         /* borrowed from res */
    json_t *res;               /* owned by the record (released with its arena) */
    const char *full_url;      /* transaction: the entry's fullUrl, or NULL */
    const char *if_none_exist; /* transaction/batch: request.ifNoneExist, or NULL */
    const char *where;         /* FHIRPath root of its issues ("Bundle.entry[2].resource"), or
                                * NULL for the resource type itself */
    struct fhir_ref_list *refs;
    struct fhir_write w;
};

struct fhir_import_record {
    struct fhir_importer *im;
    struct arena *a;
    const char *file;  /* as the caller named it (in a) */
    const char *where; /* "line 3", "entry 2", "Bundle" (in a) */
    char hash[65];     /* SHA-256 of the record's bytes, hex */
    int transaction;   /* fullUrl references are rewritten between its items */
    struct fhir_import_item *items;
    size_t n, cap;
    uint64_t offset; /* bytes of the file read when the record ends (progress) */
    const char *audit_reason;
    /* set by the writer thread */
    int done, dup, status;
    struct err e;
    const char *resources; /* "Observation/x,Observation/y" as written in the ledger */
};

/* A new record of file at where, whose canonical bytes are canon[0..len). NULL when out of
 * memory. */
struct fhir_import_record *fhir_import__record_new(struct fhir_importer *im, const char *file,
                                                   const char *where, const void *canon,
                                                   size_t len);

/* Adds res (the reference is stolen, also on failure) as an item. Returns the item or NULL when
 * out of memory. */
struct fhir_import_item *fhir_import__add(struct fhir_import_record *r, json_t *res,
                                          enum fhir_write_op op);

/* Checks r and queues its write (the importer owns r from here). Returns 0 (queued, skipped or
 * rejected: all counted), ERR_NOMEM or ERR_UNAVAILABLE (the store failed). */
int fhir_import__submit(struct fhir_import_record *r);

/* Refuses r with a reason (counted and reported) and frees it. Returns 0. */
int fhir_import__reject(struct fhir_import_record *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Refuses a record that could not even be formed (unreadable line): counted and reported. */
void fhir_import__reject_at(struct fhir_importer *im, const char *file, const char *where,
                            const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* The readers, on a file's bytes. Return 0, ERR_INVALID (the whole file is refused: e says
 * why), ERR_NOMEM or ERR_UNAVAILABLE. */
int fhir_import__json(struct fhir_importer *im, const char *file, const char *buf, size_t len,
                      struct err *e);
int fhir_import__ndjson(struct fhir_importer *im, const char *file, const char *buf, size_t len,
                        struct err *e);
int fhir_import__csv(struct fhir_importer *im, const char *file, const char *buf, size_t len,
                     struct err *e);

#endif

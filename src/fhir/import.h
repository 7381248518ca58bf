/* import.h - life-stage import (docs/import.md): FHIR Bundles, NDJSON and the city's check-up CSV
 * files written into citizens' records by the operator. Each record (a Bundle entry, a
 * transaction Bundle, an NDJSON line, a CSV row) is checked like a FHIR write (R4 validation,
 * owner, references, consent category) and written all or nothing in one store write, with its
 * audit entries on the citizen's trail and its row in the import ledger (migration 9), so that a
 * rerun after an interruption skips exactly the records that were committed. */
#ifndef COS_FHIR_IMPORT_H
#define COS_FHIR_IMPORT_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "store/store.h"

#define FHIR_IMPORT_SOURCE_MAX 128                    /* bytes of a source name */
#define FHIR_IMPORT_FILE_MAX   (1024LL * 1024 * 1024) /* largest input file (1 GiB) */
#define FHIR_IMPORT_REASON_MAX 768                    /* bytes of a rejection reason */
#define FHIR_IMPORT_WINDOW     512                    /* records queued to the writer at once */

enum fhir_import_format {
    FHIR_IMPORT_AUTO = 0, /* by extension (.json, .ndjson, .csv), else by content */
    FHIR_IMPORT_JSON,     /* a Bundle (transaction, batch, collection) or one resource */
    FHIR_IMPORT_NDJSON,   /* one resource per line */
    FHIR_IMPORT_CSV,      /* a check-up CSV (import_csv.h) */
};

struct fhir_import_stats {
    uint64_t records;   /* records read */
    uint64_t imported;  /* records committed by this run */
    uint64_t skipped;   /* records the ledger says were imported before */
    uint64_t rejected;  /* records refused (reported) */
    uint64_t resources; /* resources written by this run */
};

/* A refused record: file, where in it ("line 12", "entry 3", "Bundle"), and why (every
 * validation issue with its FHIRPath location, or the first failing check). Strings live only
 * during the call. */
typedef void (*fhir_import_reject_fn)(void *ctx, const char *file, const char *where,
                                      const char *reason);

/* Progress, called after each finished record: done of total bytes of the current file. */
typedef void (*fhir_import_progress_fn)(void *ctx, const char *file, uint64_t done, uint64_t total,
                                        const struct fhir_import_stats *st);

struct fhir_import_options {
    const char *source; /* who supplied the data (ledger key, audit reason); 1..128 bytes of
                         * [A-Za-z0-9._:@/-] */
    fhir_import_reject_fn on_reject;
    fhir_import_progress_fn on_progress;
    void *ctx;
    size_t window; /* records in flight (0: FHIR_IMPORT_WINDOW) */
};

struct fhir_importer;

/* A new importer writing into s (which must outlive it). Returns it (fhir_importer_free), or
 * NULL with e set: ERR_INVALID (a bad source name) or ERR_NOMEM. */
struct fhir_importer *fhir_importer_new(struct store *s, const struct fhir_import_options *o,
                                        struct err *e);

/* Imports one file. Every record is reported through the callbacks and counted. Returns 0 when
 * the file could be read to its end (records may have been rejected), ERR_IO (unreadable),
 * ERR_INVALID (not a file of the format: e says why; counted as one rejected record), or
 * ERR_UNAVAILABLE (the store failed: stop). */
int fhir_import_file(struct fhir_importer *im, const char *path, enum fhir_import_format fmt,
                     struct err *e);

/* The same for bytes in memory; name labels the reports. fmt must not be AUTO. */
int fhir_import_buffer(struct fhir_importer *im, const char *name, enum fhir_import_format fmt,
                       const char *buf, size_t len, struct err *e);

/* Waits for every queued record and returns the counts so far. */
void fhir_importer_stats(struct fhir_importer *im, struct fhir_import_stats *out);

/* Waits for the queued records, then frees. NULL is fine. */
void fhir_importer_free(struct fhir_importer *im);

/* The format of path from its extension, then from its first non-blank byte ('{' JSON, else
 * CSV when the first line has a comma). */
enum fhir_import_format fhir_import_detect(const char *path, const char *head, size_t len);

#endif

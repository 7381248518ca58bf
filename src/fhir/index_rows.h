/* index_rows.h - the search index of one FHIR resource: the rows of the fhir_ix_* tables its
 * search parameters yield (tokens, dates, references, strings, numbers, quantities, uris), how
 * they are written and removed, and the value conversions search shares (dates, strings). */
#ifndef COS_FHIR_INDEX_ROWS_H
#define COS_FHIR_INDEX_ROWS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/err.h"
#include "fhir/defs.h"
#include "store/store.h"

#define FHIR_IX_ROWS_MAX 2000 /* index rows of one resource; more is ERR_TOOBIG */
#define FHIR_IX_VALUE_MAX                                                                          \
    512 /* bytes kept of one indexed text (longer text is cut at a                                 \
         * character boundary: search on it still works by prefix) */

/* The smallest and largest instants a date index row holds: 0001-01-01T00:00:00.000Z and
 * 9999-12-31T23:59:59.999Z, in ms since 1970 UTC (an open Period end is FHIR_DATE_MAX). */
#define FHIR_DATE_MIN (-62135596800000LL)
#define FHIR_DATE_MAX (253402300799999LL)

enum fhir_ix_kind {
    FHIR_IX_TOKEN,
    FHIR_IX_DATE,
    FHIR_IX_REF,
    FHIR_IX_STRING,
    FHIR_IX_NUMBER,
    FHIR_IX_QUANTITY,
    FHIR_IX_URI,
    FHIR_IX_KINDS
};

/* One row of table fhir_ix_table(kind). Text columns are NULL when absent; all strings live in
 * the arena the rows were made in. */
struct fhir_ix_row {
    enum fhir_ix_kind kind;
    const char *param; /* the search parameter's name */
    /* TOKEN: system, code, display. QUANTITY: system, code, unit (Money: system
     * "urn:iso:std:iso:4217", code the currency). */
    const char *system, *code, *display;
    const char *target_type, *target_id, *url; /* REF */
    const char *norm, *exact;                  /* STRING */
    const char *uri;                           /* URI */
    int64_t lo_ms, hi_ms;                      /* DATE: inclusive range, ms UTC */
    double value;                              /* NUMBER, QUANTITY */
};

struct fhir_ix_rows {
    struct fhir_ix_row *rows; /* in the arena */
    size_t n, cap;
};

/* The search parameters of a resource type, as fhir_defs_search_params() (defs.h) gives them;
 * passed in so that tests can use a table of their own. */
typedef const struct fhir_search_param *(*fhir_search_params_fn)(const char *resource, size_t *n);

/* A search parameter whose index rows are other parameters' rows (docs/internals/fhir-search.md
 * "Parameters stored once"): Observation "patient" is "subject" restricted to Patient targets,
 * "combo-code" is "code" and "component-code" together. Such a parameter gets no rows of its
 * own; a search on it reads the rows of params[0..n) (of a reference, only those whose
 * target_type is in targets, or URL rows with no target_type). */
#define FHIR_IX_STORED_MAX 4
struct fhir_ix_stored {
    const char *params[FHIR_IX_STORED_MAX];
    size_t n;
    const char *const *targets; /* NULL: every row */
};

/* Fills out and returns 1 when p (an entry of the definitions params() gives, defs.h) is stored
 * as other parameters; 0 (out empty) when it has rows of its own. Only the FHIR definitions
 * (params == fhir_defs_search_params) share rows: another table (a test's) is stored as it
 * is. */
int fhir_ix_stored_as(fhir_search_params_fn params, const struct fhir_search_param *p,
                      struct fhir_ix_stored *out);

/* The table name of a kind ("fhir_ix_token" ...). */
const char *fhir_ix_table(enum fhir_ix_kind kind);

/* Extracts the index rows of resource (a parsed FHIR resource: an object with a string
 * "resourceType") for every search parameter params() lists for its type: _id and
 * _lastUpdated are left out (they are columns of fhir_resource), as are composite and special
 * parameters and parameters stored as others (fhir_ix_stored_as). Values of a shape a parameter
 * cannot index (a Range for a date, say) are skipped, and a row equal to an earlier one of the
 * same parameter is dropped.
 * out is reset and filled in a. Returns 0; ERR_INVALID when resource has no resourceType or
 * the type is unknown to params(); ERR_TOOBIG past FHIR_IX_ROWS_MAX rows; ERR_NOMEM. */
int fhir_index_rows(const json_t *resource, fhir_search_params_fn params, struct arena *a,
                    struct fhir_ix_rows *out, struct err *e);

/* Inside a write: inserts rows for the resource (rtype, id) of subject (the citizen's person
 * id, as fhir_resource.subject; NULL for data about no one): per table one INSERT of up to 8
 * rows, numbered 0, 1, ... per table and resource (the key's n, migration 18). Token rows carry
 * the subject (migration 12). Returns 0 or the first store error. */
int fhir_index_rows_insert(struct store_tx *tx, const char *rtype, const char *id,
                           const char *subject, const struct fhir_ix_rows *rows, struct err *e);

/* Inside a write: deletes every index row of (rtype, id) from all seven tables. */
int fhir_index_rows_delete(struct store_tx *tx, const char *rtype, const char *id, struct err *e);

/* ---- conversions shared with search ---- */

/* Parses a FHIR date, dateTime or instant, partial or not ("2024", "2024-03", "2024-03-05",
 * "2024-03-05T10:30", "2024-03-05T10:30:00.5+09:00") to the inclusive range of ms it covers,
 * in UTC. A time without a zone is taken as UTC. Years 0001-9999. Returns 0 or ERR_INVALID. */
int fhir_date_range(const char *s, size_t len, int64_t *lo, int64_t *hi);

/* The normalised form of a string for default (prefix) string search, in a: ASCII letters
 * lower-cased, full-width ASCII (U+FF01-U+FF5E) and the ideographic space mapped to ASCII,
 * Latin-1 and Latin Extended-A letters folded to their base ASCII letter, combining accents
 * (U+0300-U+036F) dropped, every other character (kana, kanji, Hangul ...) kept as it is.
 * Invalid UTF-8 yields NULL, as does running out of memory. At most max bytes are produced
 * (cut at a character boundary). */
char *fhir_string_norm(const char *s, size_t len, size_t max, struct arena *a);

#endif

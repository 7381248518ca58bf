/* import_csv.h - the check-up CSV files of the import (docs/import.md): an RFC 4180 reader, and
 * the mapping of the annual specific health check-up (特定健康診査) and the school health
 * check-up (学校健康診断) rows to FHIR Observations (LOINC codes, UCUM units), one row one
 * record. No store here: what this file makes is checked and written by import.c. */
#ifndef COS_FHIR_IMPORT_CSV_H
#define COS_FHIR_IMPORT_CSV_H

#include <jansson.h>
#include <stddef.h>

#include "base/err.h"

#define FHIR_CSV_CELLS_MAX 64   /* cells in one row */
#define FHIR_CSV_CELL_MAX  1024 /* bytes of one cell */

/* The record-kind codes of urn:cityos:record-category that make the consent category. */
#define FHIR_CSV_SYS_ITEM "urn:cityos:checkup-item" /* the city's item codes (no LOINC) */

/* One row: its cells (NUL-terminated, valid during the call), or bad (a reason) when the row
 * could not be read (a stray quote, too many or too long cells). line is the 1-based line the
 * row starts on, end the byte offset just past it. Return 0 to go on, non-zero to stop (the parser
 * returns it). */
typedef int (*fhir_csv_row_fn)(void *ctx, size_t line, size_t end, const char *const *cells,
                               size_t n, const char *bad);

/* Reads buf[0..len) (UTF-8, a BOM skipped; LF or CRLF; "quoted" cells with "" for a quote;
 * blank lines skipped). Returns 0, what fn returned, ERR_INVALID (a quote left open at the end,
 * e says where), or ERR_NOMEM. */
int fhir_csv_parse(const char *buf, size_t len, fhir_csv_row_fn fn, void *ctx, struct err *e);

enum fhir_checkup_kind { FHIR_CHECKUP_SPECIFIC, FHIR_CHECKUP_SCHOOL };

#define FHIR_CHECKUP_COLS_MAX 24

/* Which column holds which item, from the header row. */
struct fhir_checkup_layout {
    enum fhir_checkup_kind kind;
    int col[FHIR_CHECKUP_COLS_MAX]; /* by item (import_csv.c's table): its cell, or -1 */
    size_t ncells;                  /* cells a row must have */
};

/* Reads the header: a school check-up when it has "grade", else a specific health check-up;
 * person_id and date are required; every name must be a column of that kind, once. Returns 0
 * or ERR_INVALID (e names the column). */
int fhir_checkup_layout(const char *const *cells, size_t n, struct fhir_checkup_layout *out,
                        struct err *e);

/* One row as Bundle-entry-like objects {"fullUrl": "urn:uuid:...", "resource": Observation},
 * each item measured, then the row's panel Observation whose hasMember refers to them by fullUrl
 * (so the import rewrites them: import.c). *person is the row's person_id (borrowed from cells).
 * Returns a new array, or NULL with e: ERR_INVALID naming the column and why, ERR_NOMEM. */
json_t *fhir_checkup_row(const struct fhir_checkup_layout *l, const char *const *cells, size_t n,
                         const char **person, struct err *e);

/* The bytes that identify a row for the ledger (kind, then name=value of every column in the
 * table's order, so the column order of the file does not matter), into a malloc'ed buffer.
 * NULL when out of memory. */
char *fhir_checkup_canon(const struct fhir_checkup_layout *l, const char *const *cells, size_t n,
                         size_t *len);

#endif

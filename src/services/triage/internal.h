/* internal.h - what the triage files share: the strict TSV reader and the condition parser.
 * Not part of the public API. */
#ifndef COS_TRIAGE_INTERNAL_H
#define COS_TRIAGE_INTERNAL_H

#include "services/triage/triage.h"

#define TRIAGE__COLS_MAX 12

/* One data row: its line number and its columns (NUL-terminated copies in the reader's arena). */
struct triage__row {
    size_t line;
    const char *col[TRIAGE__COLS_MAX];
    size_t ncols;
};

/* Reads f as a table whose first non-comment line is exactly header (ncols names): lines end
 * with LF (no CR), are at most TRIAGE_LINE_MAX bytes of valid UTF-8 without control characters
 * other than TAB; '#' starts a comment line; blank lines are skipped; every data row has exactly
 * ncols non-empty fields without leading or trailing spaces. fn is called per row (a non-zero
 * return stops with that status; it sets e itself). Errors: ERR_INVALID "<name>:<line>: ...",
 * ERR_TOOBIG, ERR_NOMEM. */
typedef int (*triage__row_fn)(const struct triage__row *row, void *ctx, struct err *e);
int triage__tsv_read(const struct triage_file *f, const char *const *header, size_t ncols,
                     struct arena *a, triage__row_fn fn, void *ctx, struct err *e);

/* Is s [first][rest]* of at most max bytes? first/rest are "a" (a-z), "A" (A-Z), "0" (0-9) plus
 * the punctuation listed. */
int triage__token_ok(const char *s, size_t max, const char *first, const char *rest);

/* Parses a condition ("*", or atoms joined by " & ") against the first nitems items of t (the
 * items known so far: for enable_when the earlier ones). Returns 0 with *out in a, or ERR_INVALID
 * with e set (no file or line: the caller prefixes them), ERR_NOMEM. */
int triage__cond_parse(const char *text, const struct triage_item *items, size_t nitems,
                       struct arena *a, struct triage_cond *out, struct err *e);

/* Does the k-th linkId of the atom hold for ans (answered, and the answer satisfies it)? */
int triage__atom_item_holds(const struct triage_atom *at, size_t k,
                            const struct triage_answer *ans);

#endif

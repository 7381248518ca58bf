/* internal.h - helpers shared by the files of src/consent/ and by nothing else. */
#ifndef COS_CONSENT_INTERNAL_H
#define COS_CONSENT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "consent/index.h"
#include "store/store.h"

/* text: valid UTF-8, 1..max_chars code points, no control characters (a newline is allowed
 * when multiline), no leading or trailing space. field names it in the error. */
int consent__check_text(const char *field, const char *text, size_t max_chars, int multiline,
                        struct err *e);
/* A purpose code: 1..CONSENT_CODE_MAX of [a-z0-9_-]. */
int consent__check_code(const char *code, struct err *e);
/* 64 lower-case hex characters? */
int consent__is_hex64(const char *s);
/* The next consent_change seq inside a write (MAX + 1: writes run one at a time, across
 * processes too - SQLite's write lock, pg.c's writers' lock - so it is unique and the rows
 * commit in seq order, which the poll relies on; the primary key is the last guard). */
int consent__next_change_seq(struct store_tx *tx, int64_t *seq, struct err *e);
/* store_row_fn: the first column as an integer into *(int64_t *)ctx (NULL: 0). */
int consent__read_int(const struct store_row *row, void *ctx);
/* The index applied change seq itself: no need to reload it when polling (index.c). */
void consent__note_change_seq(struct consent_index *ix, int64_t seq);
/* A consent write of subject changes the index (consent.c): begin before its first change in
 * memory, end once it committed and applied, or was undone. Every begin has its end. A reload
 * of a citizen of the same stripe (index_internal.h) is deferred meanwhile. */
void consent__write_begin(struct consent_index *ix, const char *subject);
void consent__write_end(struct consent_index *ix, const char *subject);

#endif

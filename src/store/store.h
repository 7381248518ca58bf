/* store.h - the only interface the rest of cityos has to persistent storage. It speaks portable
 * SQL with `?` placeholders and plain C values; no backend type ever crosses it, so the SQLite
 * backend (sqlite.c) and the PostgreSQL backend that follows are interchangeable. */
#ifndef COS_STORE_H
#define COS_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/histogram.h"

struct arena;
struct store;
struct store_tx;  /* a write in progress: valid only inside a store_write_fn */
struct store_row; /* one result row: valid only inside a store_row_fn */

enum store_type { STORE_NULL = 0, STORE_INT, STORE_TEXT, STORE_BLOB };

/* A parameter bound to a `?` placeholder. Text and blob pointers are borrowed for the call. */
struct store_value {
    enum store_type type;
    int64_t i;     /* STORE_INT */
    const void *p; /* STORE_TEXT, STORE_BLOB */
    size_t len;    /* bytes at p; for STORE_TEXT, SIZE_MAX means "up to the NUL" */
};

#define STORE_INT_V(x)      ((struct store_value){.type = STORE_INT, .i = (int64_t)(x)})
#define STORE_TEXT_V(s)     ((struct store_value){.type = STORE_TEXT, .p = (s), .len = SIZE_MAX})
#define STORE_TEXTN_V(s, n) ((struct store_value){.type = STORE_TEXT, .p = (s), .len = (n)})
#define STORE_BLOB_V(b, n)  ((struct store_value){.type = STORE_BLOB, .p = (b), .len = (n)})
#define STORE_NULL_V        ((struct store_value){.type = STORE_NULL})

struct store_options {
    const char *data_dir; /* created if missing (one level); must be writable */
    int batch_max;        /* most writes committed in one transaction; <= 0 picks 256 */
    /* NULL or "": SQLite in data_dir. "postgresql://...": PostgreSQL through libpq (pg.c), and
     * data_dir is not used by the store. */
    const char *database_url;
};

/* Opens (creating if needed) the store in opt->data_dir, applies pending numbered migrations
 * once, and starts the writer thread. On success *out is owned by the caller (store_close()).
 * Fails with ERR_IO and a clear message when the folder cannot be created or written, and with
 * ERR_INVALID when the database's schema is newer than this binary knows. */
int store_open(struct store **out, const struct store_options *opt, struct err *e);

/* Stops accepting writes, commits (or fails) every write already queued, waits for the writer,
 * and closes every connection. No reader may be running, and no thread that has read from this
 * store may be exiting meanwhile. NULL is fine. */
void store_close(struct store *s);

/* The highest migration applied, and the highest this binary knows. */
int store_schema_version(struct store *s);
int store_schema_latest(void);

/* ---- reads: on the calling thread's own read connection (opened on first use) ---- */

/* Called once per row. Return 0 to continue, non-zero to stop (the query then returns 0). */
typedef int (*store_row_fn)(const struct store_row *row, void *ctx);

/* Runs a read-only statement. Returns 0 or a negative ERR_*. Statements are prepared once per
 * connection and cached by their SQL text. */
int store_query(struct store *s, const char *sql, const struct store_value *params, size_t nparams,
                store_row_fn fn, void *ctx, struct err *e);

/* A read scope on the calling thread's read connection: every store_query() until the matching
 * store_read_end() reads one snapshot, in one read transaction, so a request's few reads start
 * a transaction (and refill a page cache the writer's commits emptied) once, not once each.
 * Scopes nest (counted). End it before the handler returns or suspends: a snapshot held longer
 * keeps the WAL from being checkpointed past it. Returns 0, or a negative ERR_* after which the
 * reads simply run one by one (still call store_read_end). A backend may make it a no-op. */
int store_read_begin(struct store *s);
void store_read_end(struct store *s);

/* Column accessors for the current row. Text is NUL-terminated and valid until fn returns. */
int store_row_columns(const struct store_row *r);
int store_row_is_null(const struct store_row *r, int col);
int64_t store_row_int(const struct store_row *r, int col);
const char *store_row_text(const struct store_row *r, int col, size_t *len /* OUT, may be NULL */);
const void *store_row_blob(const struct store_row *r, int col, size_t *len /* OUT */);

/* store_query() collecting column 0 of each row as text into an array allocated in a (NULL
 * values skipped; at most max items, 0: no limit): *out and *n. Returns 0 or a negative ERR_*
 * (ERR_NOMEM when a runs out). */
int store_query_texts(struct store *s, const char *sql, const struct store_value *params,
                      size_t nparams, size_t max, struct arena *a, const char ***out, size_t *n,
                      struct err *e);

/* ---- writes: one writer thread, group commit ---- */

/* The body of a write. Runs on the writer thread inside the batch's transaction, in a savepoint
 * of its own: returning non-zero rolls back this write only, and that status reaches its
 * caller. Must not block and must not call store_write*(). */
typedef int (*store_write_fn)(struct store_tx *tx, void *ctx, struct err *e);

/* Completion of an asynchronous write, called exactly once on the writer thread after the
 * batch holding the write is durable on disk (status 0) or has failed (negative ERR_*, with e
 * describing why). Must be quick: resume a connection, signal a waiter. */
typedef void (*store_done_fn)(int status, const struct err *e, void *ctx);

/* Queues a write. Returns 0 when queued (done will be called), or ERR_UNAVAILABLE when the
 * store is closing or 100,000 writes are already queued (back-pressure), or ERR_NOMEM (done
 * will not be called then). fn's ctx must live until done. */
int store_write_async(struct store *s, store_write_fn fn, void *ctx, store_done_fn done,
                      void *done_ctx);

/* The body of a group write: ctxs[0..n-1] are the contexts of n writes queued with the same fn
 * one after another, run together in one savepoint on the writer thread, in queue order.
 * Returning non-zero rolls the n back, and the store then runs each of them alone (n = 1) in a
 * savepoint of its own, so each write gets its own verdict, as if never grouped: fn must leave
 * its contexts as it found them. Must not block and must not call store_write*(). */
typedef int (*store_write_group_fn)(struct store_tx *tx, void *const *ctxs, size_t n,
                                    struct err *e);

/* store_write_async() for many small writes of one kind (an audit record per read): the writes
 * queued with the same fn right before or after this one (in the same batch, with no other
 * write between them) share one call of fn and one savepoint, so fn can share statements among
 * them (one multi-row INSERT). done is called per write, as for store_write_async(); the same
 * return values. A backend without groups runs each such write alone (n = 1). */
int store_write_group_async(struct store *s, store_write_group_fn fn, void *ctx, store_done_fn done,
                            void *done_ctx);

/* Queues a write and waits until it is durable. Returns fn's status, or the batch's failure. */
int store_write(struct store *s, store_write_fn fn, void *ctx, struct err *e);

/* Inside a write: runs one statement. Returns the number of rows changed (>= 0) or a negative
 * ERR_* (ERR_CONFLICT for a uniqueness or constraint violation; ERR_INVALID for text that is not
 * UTF-8, more than one statement, or transaction control, which belongs to the writer). */
int store_tx_exec(struct store_tx *tx, const char *sql, const struct store_value *params,
                  size_t nparams, struct err *e);

/* Inside a write: reads, seeing the batch's uncommitted changes. */
int store_tx_query(struct store_tx *tx, const char *sql, const struct store_value *params,
                   size_t nparams, store_row_fn fn, void *ctx, struct err *e);

/* ---- observability ---- */

struct store_metrics {
    struct histogram batch_size;     /* writes per committed transaction */
    struct histogram commit_seconds; /* time to commit and sync one batch */
    _Atomic uint64_t writes_ok;
    _Atomic uint64_t writes_failed;
};

/* Live counters owned by the store (valid until store_close()). */
const struct store_metrics *store_metrics(struct store *s);

#endif

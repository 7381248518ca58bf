/* store.c - store.h itself: opens the backend the options name (SQLite in a data folder, or
 * PostgreSQL when a database URL is given) and passes every call on to it. One process uses one
 * backend at a time: opening a store of the other kind while one is open is refused. */
#include "store/store.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "store/backend.h"

static const struct store_backend sqlite_backend = {
    .name = "sqlite",
    .open = store__sqlite_open,
    .close = store__sqlite_close,
    .schema_version = store__sqlite_schema_version,
    .query = store__sqlite_query,
    .row_columns = store__sqlite_row_columns,
    .row_is_null = store__sqlite_row_is_null,
    .row_int = store__sqlite_row_int,
    .row_text = store__sqlite_row_text,
    .row_blob = store__sqlite_row_blob,
    .write_async = store__sqlite_write_async,
    .write = store__sqlite_write,
    .write_group_async = store__sqlite_write_group_async,
    .read_begin = store__sqlite_read_begin,
    .read_end = store__sqlite_read_end,
    .tx_exec = store__sqlite_tx_exec,
    .tx_query = store__sqlite_tx_query,
    .metrics = store__sqlite_metrics,
};

static pthread_mutex_t open_mu = PTHREAD_MUTEX_INITIALIZER;
static int open_count; /* stores open with `current` (guarded by open_mu) */
static _Atomic(const struct store_backend *) current = &sqlite_backend;

static const struct store_backend *be(void)
{
    return atomic_load_explicit(&current, memory_order_acquire);
}

int store__is_pg_url(const char *url)
{
    return url != NULL &&
           (strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0);
}

int store_open(struct store **out, const struct store_options *opt, struct err *e)
{
    const struct store_backend *want = &sqlite_backend;
    *out = NULL;
    if (opt != NULL && opt->database_url != NULL && opt->database_url[0] != '\0') {
        if (!store__is_pg_url(opt->database_url))
            return err_set(e, ERR_INVALID,
                           "database URL must start with postgresql:// (or be empty for SQLite)");
        want = &store__pg_backend;
    }
    pthread_mutex_lock(&open_mu);
    if (open_count > 0 && be() != want) {
        pthread_mutex_unlock(&open_mu);
        return err_set(e, ERR_INVALID, "a %s store is open: one backend per process", be()->name);
    }
    atomic_store_explicit(&current, want, memory_order_release);
    open_count++;
    pthread_mutex_unlock(&open_mu);
    int ret = want->open(out, opt, e);
    if (ret != 0) {
        pthread_mutex_lock(&open_mu);
        open_count--;
        pthread_mutex_unlock(&open_mu);
    }
    return ret;
}

void store_close(struct store *s)
{
    if (s == NULL)
        return;
    be()->close(s);
    pthread_mutex_lock(&open_mu);
    open_count--;
    pthread_mutex_unlock(&open_mu);
}

int store_schema_version(struct store *s)
{
    return s != NULL ? be()->schema_version(s) : 0;
}

int store_query(struct store *s, const char *sql, const struct store_value *params, size_t nparams,
                store_row_fn fn, void *ctx, struct err *e)
{
    return be()->query(s, sql, params, nparams, fn, ctx, e);
}

int store_read_begin(struct store *s)
{
    const struct store_backend *b = be();
    return s != NULL && b->read_begin != NULL ? b->read_begin(s) : 0;
}

void store_read_end(struct store *s)
{
    const struct store_backend *b = be();
    if (s != NULL && b->read_end != NULL)
        b->read_end(s);
}

int store_row_columns(const struct store_row *r)
{
    return be()->row_columns(r);
}

int store_row_is_null(const struct store_row *r, int col)
{
    return be()->row_is_null(r, col);
}

int64_t store_row_int(const struct store_row *r, int col)
{
    return be()->row_int(r, col);
}

const char *store_row_text(const struct store_row *r, int col, size_t *len)
{
    return be()->row_text(r, col, len);
}

const void *store_row_blob(const struct store_row *r, int col, size_t *len)
{
    return be()->row_blob(r, col, len);
}

int store_write_async(struct store *s, store_write_fn fn, void *ctx, store_done_fn done,
                      void *done_ctx)
{
    return be()->write_async(s, fn, ctx, done, done_ctx);
}

/* A group write on a backend without groups: a write of its own with n = 1. */
struct group_one {
    store_write_group_fn fn;
    void *ctx;
    store_done_fn done;
    void *done_ctx;
};

static int group_one_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct group_one *g = ctx;
    void *const ctxs[1] = {g->ctx};
    return g->fn(tx, ctxs, 1, e);
}

static void group_one_done(int status, const struct err *e, void *ctx)
{
    struct group_one *g = ctx;
    store_done_fn done = g->done;
    void *done_ctx = g->done_ctx;
    free(g);
    if (done != NULL)
        done(status, e, done_ctx);
}

int store_write_group_async(struct store *s, store_write_group_fn fn, void *ctx, store_done_fn done,
                            void *done_ctx)
{
    const struct store_backend *b = be();
    if (b->write_group_async != NULL)
        return b->write_group_async(s, fn, ctx, done, done_ctx);
    if (s == NULL || fn == NULL)
        return ERR_INVALID;
    struct group_one *g = malloc(sizeof *g);
    if (g == NULL)
        return ERR_NOMEM;
    *g = (struct group_one){fn, ctx, done, done_ctx};
    int rc = b->write_async(s, group_one_fn, g, group_one_done, g);
    if (rc != 0)
        free(g);
    return rc;
}

int store_write(struct store *s, store_write_fn fn, void *ctx, struct err *e)
{
    return be()->write(s, fn, ctx, e);
}

int store_tx_exec(struct store_tx *tx, const char *sql, const struct store_value *params,
                  size_t nparams, struct err *e)
{
    return be()->tx_exec(tx, sql, params, nparams, e);
}

int store_tx_query(struct store_tx *tx, const char *sql, const struct store_value *params,
                   size_t nparams, store_row_fn fn, void *ctx, struct err *e)
{
    return be()->tx_query(tx, sql, params, nparams, fn, ctx, e);
}

const struct store_metrics *store_metrics(struct store *s)
{
    return be()->metrics(s);
}

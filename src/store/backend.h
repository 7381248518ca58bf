/* backend.h - the table of functions each store backend provides (internal to store/). store.c
 * implements store.h by calling the backend a store was opened with: sqlite.c (its functions
 * renamed store__sqlite_* by sqlite_names.h) or pg.c (store__pg_backend). */
#ifndef COS_STORE_BACKEND_H
#define COS_STORE_BACKEND_H

#include "store/store.h"

struct store_backend {
    const char *name; /* "sqlite", "postgresql" */
    int (*open)(struct store **out, const struct store_options *opt, struct err *e);
    void (*close)(struct store *s);
    int (*schema_version)(struct store *s);
    int (*query)(struct store *s, const char *sql, const struct store_value *params, size_t nparams,
                 store_row_fn fn, void *ctx, struct err *e);
    int (*row_columns)(const struct store_row *r);
    int (*row_is_null)(const struct store_row *r, int col);
    int64_t (*row_int)(const struct store_row *r, int col);
    const char *(*row_text)(const struct store_row *r, int col, size_t *len);
    const void *(*row_blob)(const struct store_row *r, int col, size_t *len);
    int (*write_async)(struct store *s, store_write_fn fn, void *ctx, store_done_fn done,
                       void *done_ctx);
    int (*write)(struct store *s, store_write_fn fn, void *ctx, struct err *e);
    int (*read_begin)(struct store *s); /* may be NULL: no read scopes */
    void (*read_end)(struct store *s);
    /* may be NULL: store.c then runs each group write alone through write_async */
    int (*write_group_async)(struct store *s, store_write_group_fn fn, void *ctx,
                             store_done_fn done, void *done_ctx);
    int (*tx_exec)(struct store_tx *tx, const char *sql, const struct store_value *params,
                   size_t nparams, struct err *e);
    int (*tx_query)(struct store_tx *tx, const char *sql, const struct store_value *params,
                    size_t nparams, store_row_fn fn, void *ctx, struct err *e);
    const struct store_metrics *(*metrics)(struct store *s);
};

/* The PostgreSQL backend (pg.c). */
extern const struct store_backend store__pg_backend;

/* The SQLite backend's functions (sqlite.c under the names of sqlite_names.h). */
int store__sqlite_open(struct store **out, const struct store_options *opt, struct err *e);
void store__sqlite_close(struct store *s);
int store__sqlite_schema_version(struct store *s);
int store__sqlite_query(struct store *s, const char *sql, const struct store_value *params,
                        size_t nparams, store_row_fn fn, void *ctx, struct err *e);
int store__sqlite_row_columns(const struct store_row *r);
int store__sqlite_row_is_null(const struct store_row *r, int col);
int64_t store__sqlite_row_int(const struct store_row *r, int col);
const char *store__sqlite_row_text(const struct store_row *r, int col, size_t *len);
const void *store__sqlite_row_blob(const struct store_row *r, int col, size_t *len);
int store__sqlite_write_async(struct store *s, store_write_fn fn, void *ctx, store_done_fn done,
                              void *done_ctx);
int store__sqlite_write(struct store *s, store_write_fn fn, void *ctx, struct err *e);
int store__sqlite_read_begin(struct store *s);
void store__sqlite_read_end(struct store *s);
int store__sqlite_write_group_async(struct store *s, store_write_group_fn fn, void *ctx,
                                    store_done_fn done, void *done_ctx);
int store__sqlite_tx_exec(struct store_tx *tx, const char *sql, const struct store_value *params,
                          size_t nparams, struct err *e);
int store__sqlite_tx_query(struct store_tx *tx, const char *sql, const struct store_value *params,
                           size_t nparams, store_row_fn fn, void *ctx, struct err *e);
const struct store_metrics *store__sqlite_metrics(struct store *s);

/* Is url a PostgreSQL connection string this build accepts ("postgresql://...", "postgres://...")?
 */
int store__is_pg_url(const char *url);

#endif

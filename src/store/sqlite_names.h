/* sqlite_names.h - included by sqlite.c before store.h only: gives the SQLite backend's
 * implementations of the store.h functions the names store__sqlite_* (declared in backend.h),
 * so that store.c can offer store.h itself and dispatch to SQLite or PostgreSQL (pg.c). */
#ifndef COS_STORE_SQLITE_NAMES_H
#define COS_STORE_SQLITE_NAMES_H

#define store_open(...)              store__sqlite_open(__VA_ARGS__)
#define store_close(...)             store__sqlite_close(__VA_ARGS__)
#define store_schema_version(...)    store__sqlite_schema_version(__VA_ARGS__)
#define store_query(...)             store__sqlite_query(__VA_ARGS__)
#define store_row_columns(...)       store__sqlite_row_columns(__VA_ARGS__)
#define store_row_is_null(...)       store__sqlite_row_is_null(__VA_ARGS__)
#define store_row_int(...)           store__sqlite_row_int(__VA_ARGS__)
#define store_row_text(...)          store__sqlite_row_text(__VA_ARGS__)
#define store_row_blob(...)          store__sqlite_row_blob(__VA_ARGS__)
#define store_write_async(...)       store__sqlite_write_async(__VA_ARGS__)
#define store_write(...)             store__sqlite_write(__VA_ARGS__)
#define store_read_begin(...)        store__sqlite_read_begin(__VA_ARGS__)
#define store_read_end(...)          store__sqlite_read_end(__VA_ARGS__)
#define store_write_group_async(...) store__sqlite_write_group_async(__VA_ARGS__)
#define store_tx_exec(...)           store__sqlite_tx_exec(__VA_ARGS__)
#define store_tx_query(...)          store__sqlite_tx_query(__VA_ARGS__)
#define store_metrics(...)           store__sqlite_metrics(__VA_ARGS__)

#endif

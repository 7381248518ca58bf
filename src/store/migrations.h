/* migrations.h - the numbered schema migrations every store backend applies at open (internal to
 * store/). Each entry is portable SQL that SQLite and PostgreSQL both accept, with one dialect
 * rule: SQLite's table option " WITHOUT ROWID" (exactly so) may end a CREATE TABLE; the
 * PostgreSQL backend drops it, as its tables are always heaps beside their primary key. */
#ifndef COS_STORE_MIGRATIONS_H
#define COS_STORE_MIGRATIONS_H

#include <stddef.h>

struct store__migration {
    int version;      /* 1, 2, 3, ... with no gaps; never renumbered once released */
    const char *name; /* short, stable, for the store_migration table and logs */
    const char *sql;  /* one or more statements separated by ';' */
};

/* The meta table recording what has been applied (portable SQL). applied_ms is BIGINT because
 * PostgreSQL's INTEGER is 32 bits and cannot hold milliseconds since the epoch. */
#define STORE_MIGRATION_TABLE_SQL                                                                  \
    "CREATE TABLE IF NOT EXISTS store_migration (version INTEGER PRIMARY KEY, "                    \
    "name TEXT NOT NULL, applied_ms BIGINT NOT NULL)"

/* Every migration, ascending by version from 1. *n (OUT) receives the count. The array is static
 * and owned by this module. */
const struct store__migration *store__migrations(size_t *n);

#endif

/* migrations.c - the table of numbered schema migrations. Append only: a released migration is
 * never edited or renumbered; a change to the schema is a new entry at the end. */
#include "store/migrations.h"

#include "store/store.h"

static const struct store__migration migrations[] = {
    {
        .version = 1,
        .name = "notices",
        .sql = "CREATE TABLE notice (id TEXT PRIMARY KEY, created_ms BIGINT NOT NULL, "
               "category TEXT NOT NULL, district TEXT, doc TEXT NOT NULL);"
               "CREATE INDEX notice_by_created ON notice (created_ms DESC, id DESC);",
    },
};

const struct store__migration *store__migrations(size_t *n)
{
    *n = sizeof migrations / sizeof migrations[0];
    return migrations;
}

int store_schema_latest(void)
{
    size_t n = sizeof migrations / sizeof migrations[0];
    return n > 0 ? migrations[n - 1].version : 0;
}

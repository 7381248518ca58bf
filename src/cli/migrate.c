/* migrate.c - `cityos migrate`: applies pending schema migrations and reports the version. */
#include <stdio.h>

#include "base/config.h"
#include "base/log.h"
#include "cli/cli.h"
#include "store/store.h"

int cli_migrate(int argc, char **argv)
{
    struct config cfg;
    int rc = cli_prepare(&cfg, CONFIG_CMD_MIGRATE, argc, argv);
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    struct store *store = cli_open_store(&cfg);
    if (store == NULL)
        return 1;
    printf("%s: schema version %d (this cityos knows %d)\n", cfg.data_dir,
           store_schema_version(store), store_schema_latest());
    store_close(store);
    return 0;
}

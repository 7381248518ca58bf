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
    struct err e = {0};
    struct store *store = NULL;
    struct store_options so = {cfg.data_dir, (int)cfg.store_batch_max};
    if (store_open(&store, &so, &e) != 0) {
        log_error("%s", e.msg);
        return 1;
    }
    printf("%s: schema version %d (this cityos knows %d)\n", cfg.data_dir,
           store_schema_version(store), store_schema_latest());
    store_close(store);
    return 0;
}

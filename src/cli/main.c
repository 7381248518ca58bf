/* main.c - the cityos binary: picks the subcommand and hands over. Everything else lives in
 * the modules; this file only knows their names. */
#include <sqlite3.h>
#include <jansson.h>
#include <microhttpd.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "base/config.h"
#include "base/ids.h"
#include "base/log.h"
#include "cli/cli.h"
#include "store/store.h"

static void print_usage(FILE *out)
{
    fprintf(out, "usage: cityos <command> [--option=value ...]\n\n"
                 "commands:\n"
                 "  serve     run the HTTP server (the City OS APIs)\n"
                 "  migrate   create or upgrade the database in the data folder, then exit\n"
                 "  demo      seed the data folder with demonstration data, then exit\n"
                 "  user      add a person, a practitioner role or a family link\n"
                 "  org       add an organisation\n"
                 "  client    register an OAuth client\n"
                 "  keys      rotate the OpenID signing keys (keys rotate --help)\n"
                 "  audit     verify the data tracker's chains, or write a checkpoint\n"
                 "  import    import FHIR Bundles, NDJSON and check-up CSV files\n"
                 "  version   print the version and the libraries in use\n\n"
                 "`cityos <command> --help` lists that command's options.\n");
}

static int print_version(void)
{
    printf("cityos %s (libmicrohttpd %s, sqlite %s, jansson %s, libsodium %s)\n", CITYOS_VERSION,
           MHD_get_version(), sqlite3_libversion(), jansson_version_str(), sodium_version_string());
    return 0;
}

int cli_prepare(struct config *cfg, unsigned command, int argc, char **argv)
{
    struct err e = {0};
    int rc = config_load(cfg, command, argc, argv, stdout, &e);
    if (rc == 1)
        return 1;
    if (rc != 0) {
        fprintf(stderr, "cityos: %s\n", e.msg);
        return 2;
    }
    log_set_level_name(cfg->log_level);
    if (ids_init() != 0) {
        fprintf(stderr, "cityos: libsodium failed to initialise\n");
        return 2;
    }
    return 0;
}

struct store *cli_open_store(const struct config *cfg)
{
    struct err e = {0};
    struct store *store = NULL;
    struct store_options so = {cfg->data_dir, (int)cfg->store_batch_max, cfg->database_url};
    if (store_open(&store, &so, &e) != 0) {
        log_error("%s", e.msg);
        return NULL;
    }
    return store;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        print_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "serve") == 0)
        return cli_serve(argc - 2, argv + 2);
    if (strcmp(cmd, "migrate") == 0)
        return cli_migrate(argc - 2, argv + 2);
    if (strcmp(cmd, "demo") == 0)
        return cli_demo(argc - 2, argv + 2);
    if (strcmp(cmd, "user") == 0)
        return cli_user(argc - 2, argv + 2);
    if (strcmp(cmd, "org") == 0)
        return cli_org(argc - 2, argv + 2);
    if (strcmp(cmd, "client") == 0)
        return cli_client(argc - 2, argv + 2);
    if (strcmp(cmd, "keys") == 0)
        return cli_keys(argc - 2, argv + 2);
    if (strcmp(cmd, "audit") == 0)
        return cli_audit(argc - 2, argv + 2);
    if (strcmp(cmd, "import") == 0)
        return cli_import(argc - 2, argv + 2);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0)
        return print_version();
    fprintf(stderr, "cityos: unknown command \"%s\"\n\n", cmd);
    print_usage(stderr);
    return 2;
}

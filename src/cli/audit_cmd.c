/* audit_cmd.c - `cityos audit verify` (walk every chain and checkpoint; exit 1 naming the first
 * bad entry) and `cityos audit checkpoint` (sign and store one checkpoint now). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "audit/audit.h"
#include "base/clock.h"
#include "base/config.h"
#include "cli/cli.h"
#include "identity/keys.h"
#include "store/store.h"

static void print_audit_usage(FILE *out)
{
    fprintf(out,
            "usage: cityos audit verify|checkpoint [--data-dir=D ...]\n\n"
            "  verify       walk every citizen's hash chain from its start, the head table and\n"
            "               every signed checkpoint; exit 0 when the trail is intact, 1 naming\n"
            "               the first bad entry or checkpoint\n"
            "  checkpoint   sign (with the key in <data-dir>/" ID_KEYS_FILE ") and store a\n"
            "               checkpoint over every chain head now\n\n");
}

static int wants_help(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    return 0;
}

static int audit_verify_cmd(struct store *s, const struct config *cfg)
{
    struct id_keys ks;
    struct err e = {0};
    memset(&ks, 0, sizeof ks);
    int rc = id_keys_load(&ks, cfg->data_dir, 0, clock_now_ms(), &e);
    if (rc != 0 && rc != ERR_NOTFOUND) {
        fprintf(stderr, "cityos: %s\n", e.msg);
        return 1;
    }
    struct audit_verify_report r;
    err_clear(&e);
    rc = audit_verify(s, &ks, &r, &e);
    id_keys_release(&ks);
    if (rc != 0) {
        fprintf(stderr, "cityos: audit verify could not run: %s\n", e.msg);
        return 1;
    }
    if (!r.ok) {
        printf("audit trail NOT intact: check %s failed", r.check);
        if (r.subject[0] != '\0')
            printf(" at subject %s seq %" PRId64, r.subject, r.seq);
        if (r.checkpoint_id != 0)
            printf(" (checkpoint %" PRId64 ")", r.checkpoint_id);
        printf(": %s\n", r.detail);
        printf("checked before it: %" PRId64 " entries, %" PRId64 " checkpoints\n", r.entries,
               r.checkpoints);
        return 1;
    }
    printf("audit trail intact: %" PRId64 " chains, %" PRId64 " entries, %" PRId64
           " checkpoints verified\n",
           r.chains, r.entries, r.checkpoints);
    return 0;
}

static int audit_checkpoint_cmd(struct store *s, const struct config *cfg)
{
    struct id_keys ks;
    struct err e = {0};
    int64_t now = clock_now_ms();
    memset(&ks, 0, sizeof ks);
    int rc = id_keys_load(&ks, cfg->data_dir, 1, now, &e);
    struct audit_checkpoint cp;
    if (rc == 0)
        rc = audit_checkpoint_create(s, id_keys_signing(&ks), now, &cp, &e);
    id_keys_release(&ks);
    if (rc != 0) {
        fprintf(stderr, "cityos: audit checkpoint: %s\n", e.msg);
        return 1;
    }
    printf("checkpoint %" PRId64 ": %" PRId64 " chains, %" PRId64 " entries, %" PRId64
           " heads moved, root %s, key %s\n",
           cp.id, cp.chains, cp.entries, cp.changed, cp.root, cp.key_id);
    return 0;
}

int cli_audit(int argc, char **argv)
{
    if (argc < 1 || strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
        print_audit_usage(argc < 1 ? stderr : stdout);
        return argc < 1 ? 2 : 0;
    }
    int verify = strcmp(argv[0], "verify") == 0;
    if (!verify && strcmp(argv[0], "checkpoint") != 0) {
        fprintf(stderr, "cityos: unknown verb \"audit %.40s\"\n\n", argv[0]);
        print_audit_usage(stderr);
        return 2;
    }
    if (wants_help(argc - 1, argv + 1)) {
        print_audit_usage(stdout);
        config_print_help(stdout, CONFIG_CMD_ADMIN);
        return 0;
    }
    struct config cfg;
    int rc = cli_prepare(&cfg, CONFIG_CMD_ADMIN, argc - 1, argv + 1);
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    char db[CONFIG_STR_MAX + 16];
    struct stat st;
    snprintf(db, sizeof db, "%s/cityos.db", cfg.data_dir);
    /* verifying must not create an empty store (a PostgreSQL database is made beforehand) */
    if (verify && cfg.database_url[0] == '\0' && stat(db, &st) != 0) {
        fprintf(stderr, "cityos: audit verify: no database in %s\n", cfg.data_dir);
        return 1;
    }
    struct store *s = cli_open_store(&cfg);
    if (s == NULL)
        return 1;
    rc = verify ? audit_verify_cmd(s, &cfg) : audit_checkpoint_cmd(s, &cfg);
    store_close(s);
    return rc;
}

/* keys_cmd.c - `cityos keys rotate [--retire-older-than=DAYS]`: adds a new signing key to the
 * data folder's key file (it signs from the next start), optionally retiring old keys. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/config.h"
#include "cli/cli.h"
#include "identity/keys.h"

#define RETIRE_FLAG     "--retire-older-than"
#define RETIRE_MAX_DAYS 36500
#define ARGS_MAX        64

static void print_keys_usage(FILE *out)
{
    fprintf(out,
            "usage: cityos keys rotate [--retire-older-than=DAYS] [--data-dir=D ...]\n\n"
            "Adds a new Ed25519 signing key to <data-dir>/" ID_KEYS_FILE ". It signs ID tokens "
            "from the\nnext start of `cityos serve`; older keys stay in the JWKS so tokens they "
            "signed still\nverify.\n"
            "  " RETIRE_FLAG "=DAYS   also remove keys made more than DAYS days ago "
            "(0..%d;\n"
            "                               0 keeps only the new key: the path after a leak)\n\n",
            RETIRE_MAX_DAYS);
}

/* Parses DAYS: a decimal integer in 0..RETIRE_MAX_DAYS. */
static int parse_days(const char *s, long long *out)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < 0 || v > RETIRE_MAX_DAYS)
        return -1;
    *out = v;
    return 0;
}

/* Takes --retire-older-than out of argv; the rest goes to the option table. */
static int split_args(int argc, char **argv, long long *days, char **rest, int *nrest)
{
    size_t flen = strlen(RETIRE_FLAG);
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, RETIRE_FLAG, flen) != 0 || (a[flen] != '\0' && a[flen] != '=')) {
            if (*nrest >= ARGS_MAX) {
                fprintf(stderr, "cityos: too many arguments\n");
                return 2;
            }
            rest[(*nrest)++] = argv[i];
            continue;
        }
        const char *v = a[flen] == '=' ? a + flen + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (*days >= 0 || v == NULL || parse_days(v, days) != 0) {
            fprintf(stderr, "cityos: " RETIRE_FLAG " needs one whole number of days, 0..%d\n",
                    RETIRE_MAX_DAYS);
            return 2;
        }
    }
    return 0;
}

static int keys_rotate(int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            print_keys_usage(stdout);
            config_print_help(stdout, CONFIG_CMD_ADMIN);
            return 0;
        }
    }
    long long days = -1;
    char *rest[ARGS_MAX];
    int nrest = 0;
    int rc = split_args(argc, argv, &days, rest, &nrest);
    if (rc != 0)
        return rc;
    struct config cfg;
    rc = cli_prepare(&cfg, CONFIG_CMD_ADMIN, nrest, rest);
    if (rc != 0)
        return rc == 1 ? 0 : rc;

    struct id_keys ks;
    struct err e = {0};
    int64_t now = clock_now_ms();
    memset(&ks, 0, sizeof ks);
    rc = id_keys_load(&ks, cfg.data_dir, 0, now, &e);
    if (rc == ERR_NOTFOUND)
        rc = 0; /* no key yet: the new one is the first */
    size_t retired = 0;
    if (rc == 0)
        rc = id_keys_rotate(&ks, now, &e);
    if (rc == 0 && days >= 0)
        retired = id_keys_retire(&ks, now - days * ID_KEYS_DAY_MS);
    if (rc == 0)
        rc = id_keys_save(&ks, cfg.data_dir, &e);
    if (rc != 0) {
        fprintf(stderr, "cityos: %s\n", e.msg);
        id_keys_release(&ks);
        return 1;
    }
    printf("new signing key %s; %zu key%s kept, %zu retired; restart `cityos serve` to sign "
           "with it\n",
           ks.keys[0].kid, ks.n, ks.n == 1 ? "" : "s", retired);
    id_keys_release(&ks);
    return 0;
}

int cli_keys(int argc, char **argv)
{
    if (argc < 1 || strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
        print_keys_usage(argc < 1 ? stderr : stdout);
        return argc < 1 ? 2 : 0;
    }
    if (strcmp(argv[0], "rotate") == 0)
        return keys_rotate(argc - 1, argv + 1);
    fprintf(stderr, "cityos: unknown verb \"keys %.40s\"\n\n", argv[0]);
    print_keys_usage(stderr);
    return 2;
}

/* totp_cmd.c - `cityos user totp <email> [--remove]`: enrols a person's TOTP second factor
 * (a new random secret, stored sealed under <data-dir>/totp-key; the otpauth:// URI printed
 * once for the authenticator app) or removes it. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "base/config.h"
#include "cli/cli.h"
#include "identity/person.h"
#include "identity/totp.h"
#include "store/store.h"

static void print_help(FILE *out)
{
    fprintf(out, "usage: cityos user totp <email> [--remove] [--option=value ...]\n"
                 "Enrols a TOTP second factor for the person with this e-mail address and prints\n"
                 "its otpauth:// URI once (show it to the person as a QR code); a new enrolment\n"
                 "replaces the old secret. --remove takes the second factor away.\n\n");
    config_print_help(out, CONFIG_CMD_ADMIN);
}

/* Enrols or removes; prints the URI. Returns 0, or a negative ERR_* with e set. */
static int run(struct store *s, const char *data_dir, const char *email, int remove_it,
               struct err *e)
{
    struct arena *a = arena_new(0);
    if (a == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    struct id_person p;
    int rc = id_person_find_by_email(s, email, &p, a, e);
    if (rc == ERR_NOTFOUND || rc == ERR_INVALID)
        rc = err_set(e, ERR_INVALID, "no person has the e-mail address %.*s", 254, email);
    if (rc != 0)
        goto out;
    if (remove_it) {
        if ((rc = id_totp_store(s, p.id, NULL, e)) == 0)
            fprintf(stderr, "cityos: the second factor of %s is removed\n", p.id);
        goto out;
    }
    unsigned char key[ID_TOTP_KEY_BYTES], secret[ID_TOTP_SECRET_BYTES];
    char sealed[ID_TOTP_SEALED_MAX], uri[ID_TOTP_URI_MAX];
    if ((rc = id_totp_key_load(data_dir, key, e)) == 0) {
        randombytes_buf(secret, sizeof secret);
        if (id_totp_seal(key, secret, sizeof secret, sealed) != 0 ||
            id_totp_uri(p.email != NULL ? p.email : email, secret, sizeof secret, uri) != 0)
            rc = err_set(e, ERR_INTERNAL, "cannot make the TOTP secret");
        else if ((rc = id_totp_store(s, p.id, sealed, e)) == 0) {
            printf("%s\n", uri);
            fprintf(stderr, "cityos: the TOTP secret is shown only now; cityos keeps it "
                            "encrypted\n");
        }
    }
    sodium_memzero(key, sizeof key);
    sodium_memzero(secret, sizeof secret);
    sodium_memzero(uri, sizeof uri);
out:
    arena_free(a);
    return rc;
}

int cli_user_totp(int argc, char **argv)
{
    const char *email = NULL;
    int remove_it = 0, nrest = 0;
    char *rest[64];
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            print_help(stdout);
            return 0;
        }
        if (strcmp(argv[i], "--remove") == 0) {
            remove_it = 1;
        } else if (strncmp(argv[i], "--", 2) != 0 && email == NULL) {
            email = argv[i];
        } else if (nrest < (int)(sizeof rest / sizeof rest[0])) {
            rest[nrest++] = argv[i];
        } else {
            fprintf(stderr, "cityos: too many arguments\n");
            return 2;
        }
    }
    if (email == NULL || email[0] == '\0') {
        fprintf(stderr, "cityos: cityos user totp needs an e-mail address\n\n");
        print_help(stderr);
        return 2;
    }
    struct config cfg;
    int rc = cli_prepare(&cfg, CONFIG_CMD_ADMIN, nrest, rest);
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    struct store *store = cli_open_store(&cfg);
    if (store == NULL)
        return 1;
    struct err e = {0};
    int status = run(store, cfg.data_dir, email, remove_it, &e);
    if (status != 0)
        fprintf(stderr, "cityos: %s\n", e.msg);
    store_close(store);
    return status == 0 ? 0 : status == ERR_INVALID ? 2 : 1;
}

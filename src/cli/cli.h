/* cli.h - the subcommands of the one cityos binary. Each returns the process exit status:
 * 0 success, 1 a runtime failure (port taken, folder unwritable), 2 a usage or config error. */
#ifndef COS_CLI_H
#define COS_CLI_H

struct config;
struct store;

int cli_serve(int argc, char **argv);
int cli_migrate(int argc, char **argv);
int cli_demo(int argc, char **argv);

/* Seeds the synthetic town of `cityos demo` (demo_town.c) into s, deterministic from
 * cfg->seed, with cfg->people citizens. Returns 0 or a negative ERR_*. */
int cli_demo_town_seed(struct store *s, const struct config *cfg);

/* `cityos user|org|client <verb> ...` (identity_cmds.c): add people, roles, family links,
 * organisations and OAuth clients. argv starts at the verb. */
int cli_user(int argc, char **argv);
int cli_org(int argc, char **argv);
int cli_client(int argc, char **argv);

/* `cityos user totp <email> [--remove]` (totp_cmd.c): enrols or removes a TOTP second factor.
 * argv starts after "totp". */
int cli_user_totp(int argc, char **argv);

/* `cityos keys rotate` (keys_cmd.c): a new signing key, optionally retiring old ones. */
int cli_keys(int argc, char **argv);

/* `cityos audit verify|checkpoint` (audit_cmd.c): check the whole trail, or sign a checkpoint. */
int cli_audit(int argc, char **argv);

/* `cityos import FILE...` (import_cmd.c): FHIR Bundles, NDJSON and check-up CSV files. */
int cli_import(int argc, char **argv);

/* Loads the configuration for a subcommand, sets the log level and initialises libsodium.
 * Returns 0, 1 when --help was printed (exit 0), or 2 after printing the error. */
int cli_prepare(struct config *cfg, unsigned command, int argc, char **argv);

/* Opens the store in cfg's data folder (applying migrations). Returns it (the caller closes
 * it), or NULL after logging why. */
struct store *cli_open_store(const struct config *cfg);

#endif

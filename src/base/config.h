/* config.h - every cityos option as one row of a table (name, type, default, bounds, env var,
 * help). Values come from the defaults, then a config file (inih), then CITYOS_* environment
 * variables, then command-line flags: each later source overrides the earlier ones. */
#ifndef COS_CONFIG_H
#define COS_CONFIG_H

#include <stdio.h>

#include "base/err.h"

#define CONFIG_STR_MAX 256

struct config {
    char config_file[CONFIG_STR_MAX];
    char data_dir[CONFIG_STR_MAX];
    char listen[64];
    long long port;
    long long threads; /* 0: one per core */
    long long body_limit;
    long long header_limit;
    long long connection_timeout;
    long long request_timeout;
    long long shutdown_grace;
    long long store_batch_max;
    char log_level[16];
    char admin_token[CONFIG_STR_MAX];
    char issuer[CONFIG_STR_MAX];   /* the OpenID issuer: public base URL, no trailing slash */
    long long access_token_ttl;    /* seconds */
    long long checkpoint_interval; /* seconds; 0: none while serving */
    long long people;              /* demo: generated citizens besides the cast */
    long long seed;                /* demo: seed of the town's generator */
    long long demo_journey;        /* demo: 1 also seeds the visit journey's city side */
    /* the personal-information controller named in consent receipts (the city) */
    char controller_name_ja[CONFIG_STR_MAX];
    char controller_name_en[CONFIG_STR_MAX];
    char controller_address[CONFIG_STR_MAX]; /* postal address, one line */
    char controller_phone[32];
    char controller_email[CONFIG_STR_MAX]; /* "": privacy@<issuer host> */
    /* the MQTT broker (Mosquitto with its dynamic-security plugin) devices publish to */
    char mqtt_host[64];
    long long mqtt_port; /* 0: no broker; devices cannot be given credentials, no ingest */
    char mqtt_admin_user[64];
    char mqtt_admin_password_file[CONFIG_STR_MAX];
    long long ingest_connections; /* MQTT subscriber connections sharing the readings */
    /* the visit journey (issue 7) */
    char meeting_url[CONFIG_STR_MAX]; /* online consultations: "{room}" is replaced */
    long long taxi_speed_kmh;         /* the taxi's average speed on a normal day */
    long long taxi_road_factor_pct;   /* road distance = straight distance * this / 100 */
    long long taxi_snow_pct;          /* travel time * this / 100 when it snows */
    long long taxi_margin_min;        /* minutes at the door before the appointment */
    char weather[16];                 /* "normal" or "snow", until a sensor says otherwise */
    /* "": SQLite in data_dir; "postgresql://...": the PostgreSQL store (issue 9) */
    char database_url[CONFIG_STR_MAX];
    /* roles (issue 9, docs/operations.md "Roles"): "api,ingest,worker", "all" ... as given, and
     * the CONFIG_ROLE_* bits config_load() parsed from it (serve only) */
    char role[64];
    unsigned roles;
    char ingest_client_id[48];   /* this process's MQTT client ids: <it>-0 ... -<n-1> */
    char ingest_share_group[48]; /* the shared subscription's group: $share/<it>/... */
};

/* The roles of a `cityos serve` process (--role): the HTTP API; the MQTT ingest; the event
 * worker with the services' consumers and scans. A process has at least one. */
#define CONFIG_ROLE_API    1u
#define CONFIG_ROLE_INGEST 2u
#define CONFIG_ROLE_WORKER 4u
#define CONFIG_ROLE_ALL    7u

/* Parses a --role value: a comma-separated set of api, ingest, worker and all (no spaces, no
 * empty item). Returns 0 with *out the CONFIG_ROLE_* bits, or ERR_INVALID (e says which item). */
int config_roles_parse(const char *text, unsigned *out, struct err *e);

/* Defaults of the controller options (also what a consent_api without them falls back to). */
#define CONFIG_CONTROLLER_NAME_JA   "会津若松市"
#define CONFIG_CONTROLLER_NAME_EN   "Aizuwakamatsu City"
#define CONFIG_CONTROLLER_ADDRESS   "〒965-8601 福島県会津若松市東栄町3番46号"
#define CONFIG_CONTROLLER_PHONE     "+81-242-39-1111"
#define CONFIG_CONTROLLER_TEXT_MAX  200 /* bytes of a name or the address */
#define CONFIG_CONTROLLER_EMAIL_MAX 254 /* RFC 5321 path limit */

enum config_type { CONFIG_STRING, CONFIG_INT, CONFIG_SIZE, CONFIG_SECONDS, CONFIG_ENUM };

struct config_option {
    const char *name; /* flag --name, file key name (or name_with_underscores) */
    enum config_type type;
    const char *deflt;   /* default, as text */
    long long min, max;  /* bounds for numbers; max length for strings */
    const char *choices; /* CONFIG_ENUM: "a|b|c" */
    const char *env;     /* CITYOS_... */
    const char *help;
    size_t offset;     /* where the value lives in struct config */
    unsigned commands; /* CONFIG_CMD_* bits: which subcommands take it */
    int secret;        /* never printed */
};

#define CONFIG_CMD_SERVE   1u
#define CONFIG_CMD_MIGRATE 2u
#define CONFIG_CMD_DEMO    4u
#define CONFIG_CMD_ADMIN   8u /* user, org, client: administration of the identity records */
#define CONFIG_CMD_ALL     15u

/* The table itself, terminated by a row with name NULL. */
extern const struct config_option config_options[];

/* Fills c with every option's default. */
void config_defaults(struct config *c);

/* Loads defaults, the config file (from --config or CITYOS_CONFIG, if any), the environment,
 * then the flags in argv[0..argc) for subcommand `command` (a CONFIG_CMD_* bit). A flag is
 * --name=value or --name value. For serve, the values are then checked together: the issuer
 * URL, and the controller-* options (UTF-8 without control characters or edge spaces, the
 * phone as +digits with hyphens or spaces, the e-mail as local@domain). Returns 0, 1 when --help
 * was asked (help is printed to out), or ERR_INVALID with e naming the offending option, source and
 * bound. */
int config_load(struct config *c, unsigned command, int argc, char **argv, FILE *out,
                struct err *e);

/* Sets one option from text, checking its type and bounds. source names where it came from
 * ("flag", "env CITYOS_PORT", "file cityos.ini:3"). Returns 0 or ERR_INVALID. */
int config_set(struct config *c, const char *name, const char *value, const char *source,
               struct err *e);

/* Prints the options of a subcommand, generated from the table. */
void config_print_help(FILE *out, unsigned command);

#endif

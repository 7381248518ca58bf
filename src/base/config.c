/* config.c - the option table and the layered loader (defaults < file < env < flags).
 * --help is generated from the same rows, so documentation and parsing cannot drift apart. */
#include "base/config.h"

#include "base/utf8.h"

#include <errno.h>
#include <ini.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define OPT(field) offsetof(struct config, field)
#define KIB        1024LL
#define MIB        (1024LL * 1024LL)

const struct config_option config_options[] = {
    {"config", CONFIG_STRING, "", 0, CONFIG_STR_MAX - 1, NULL, "CITYOS_CONFIG",
     "INI file read before the environment and flags", OPT(config_file), CONFIG_CMD_ALL, 0},
    {"data-dir", CONFIG_STRING, "data", 1, CONFIG_STR_MAX - 1, NULL, "CITYOS_DATA_DIR",
     "folder holding the database (created if missing)", OPT(data_dir), CONFIG_CMD_ALL, 0},
    {"listen", CONFIG_STRING, "127.0.0.1", 1, 63, NULL, "CITYOS_LISTEN",
     "IPv4 or IPv6 address to listen on", OPT(listen), CONFIG_CMD_SERVE, 0},
    {"port", CONFIG_INT, "8080", 0, 65535, NULL, "CITYOS_PORT",
     "TCP port (0 picks a free one and logs it)", OPT(port), CONFIG_CMD_SERVE, 0},
    {"threads", CONFIG_INT, "0", 0, 256, NULL, "CITYOS_THREADS",
     "HTTP worker threads (0: one per core)", OPT(threads), CONFIG_CMD_SERVE, 0},
    {"body-limit", CONFIG_SIZE, "1M", 1 * KIB, 64 * MIB, NULL, "CITYOS_BODY_LIMIT",
     "largest request body accepted (K, M suffixes)", OPT(body_limit), CONFIG_CMD_SERVE, 0},
    {"header-limit", CONFIG_SIZE, "16K", 1 * KIB, 64 * KIB, NULL, "CITYOS_HEADER_LIMIT",
     "largest request line plus headers accepted", OPT(header_limit), CONFIG_CMD_SERVE, 0},
    {"connection-timeout", CONFIG_SECONDS, "30", 1, 3600, NULL, "CITYOS_CONNECTION_TIMEOUT",
     "seconds an idle connection is kept open", OPT(connection_timeout), CONFIG_CMD_SERVE, 0},
    {"request-timeout", CONFIG_SECONDS, "60", 1, 3600, NULL, "CITYOS_REQUEST_TIMEOUT",
     "seconds a client may take to send one request", OPT(request_timeout), CONFIG_CMD_SERVE, 0},
    {"shutdown-grace", CONFIG_SECONDS, "10", 0, 600, NULL, "CITYOS_SHUTDOWN_GRACE",
     "seconds to let in-flight requests finish on SIGTERM", OPT(shutdown_grace), CONFIG_CMD_SERVE,
     0},
    {"store-batch-max", CONFIG_INT, "256", 1, 10000, NULL, "CITYOS_STORE_BATCH_MAX",
     "most writes committed together by the writer", OPT(store_batch_max), CONFIG_CMD_ALL, 0},
    {"log-level", CONFIG_ENUM, "info", 0, 15, "debug|info|warn|error", "CITYOS_LOG_LEVEL",
     "lowest level logged", OPT(log_level), CONFIG_CMD_ALL, 0},
    {"admin-token", CONFIG_STRING, "", 0, CONFIG_STR_MAX - 1, NULL, "CITYOS_ADMIN_TOKEN",
     "bootstrap operator token for admin writes (at least 32 characters; empty disables them)",
     OPT(admin_token), CONFIG_CMD_SERVE, 1},
    {"issuer", CONFIG_STRING, "http://localhost:8080", 1, CONFIG_STR_MAX - 1, NULL, "CITYOS_ISSUER",
     "public base URL of this server, the OpenID issuer", OPT(issuer), CONFIG_CMD_SERVE, 0},
    {"access-token-ttl", CONFIG_SECONDS, "900", 60, 3600, NULL, "CITYOS_ACCESS_TOKEN_TTL",
     "lifetime of OAuth access tokens and ID tokens in seconds (at most one hour)",
     OPT(access_token_ttl), CONFIG_CMD_SERVE, 0},
    {"checkpoint-interval", CONFIG_SECONDS, "300", 0, 86400, NULL, "CITYOS_CHECKPOINT_INTERVAL",
     "seconds between signed audit checkpoints (0: only at shutdown and by `cityos audit "
     "checkpoint`)",
     OPT(checkpoint_interval), CONFIG_CMD_SERVE, 0},
    {"people", CONFIG_INT, "2000", 0, 200000, NULL, "CITYOS_PEOPLE",
     "citizens the demo town gets besides its cast (for benchmarks)", OPT(people), CONFIG_CMD_DEMO,
     0},
    {"seed", CONFIG_INT, "1", 0, 2147483647LL, NULL, "CITYOS_SEED",
     "seed of the demo town: the same seed gives the same names, dates and households", OPT(seed),
     CONFIG_CMD_DEMO, 0},
    {"journey", CONFIG_INT, "0", 0, 1, NULL, "CITYOS_DEMO_JOURNEY",
     "1: the demo also sets up the city's side of the S1 visit journey (the e-prescription and "
     "taxi purposes, welcome currency for everyone, two weeks of the cast's slots)",
     OPT(demo_journey), CONFIG_CMD_DEMO, 0},
    {"controller-name-ja", CONFIG_STRING, CONFIG_CONTROLLER_NAME_JA, 1, CONFIG_CONTROLLER_TEXT_MAX,
     NULL, "CITYOS_CONTROLLER_NAME_JA",
     "the personal-information controller (the city) in Japanese, as consent receipts name it",
     OPT(controller_name_ja), CONFIG_CMD_SERVE, 0},
    {"controller-name-en", CONFIG_STRING, CONFIG_CONTROLLER_NAME_EN, 1, CONFIG_CONTROLLER_TEXT_MAX,
     NULL, "CITYOS_CONTROLLER_NAME_EN", "the controller's name in English (consent receipts)",
     OPT(controller_name_en), CONFIG_CMD_SERVE, 0},
    {"controller-address", CONFIG_STRING, CONFIG_CONTROLLER_ADDRESS, 1, CONFIG_CONTROLLER_TEXT_MAX,
     NULL, "CITYOS_CONTROLLER_ADDRESS", "the controller's postal address, one line (receipts)",
     OPT(controller_address), CONFIG_CMD_SERVE, 0},
    {"controller-phone", CONFIG_STRING, CONFIG_CONTROLLER_PHONE, 1, 31, NULL,
     "CITYOS_CONTROLLER_PHONE",
     "the controller's telephone: + and country code, digits with hyphens or spaces (receipts)",
     OPT(controller_phone), CONFIG_CMD_SERVE, 0},
    {"controller-email", CONFIG_STRING, "", 0, CONFIG_CONTROLLER_EMAIL_MAX, NULL,
     "CITYOS_CONTROLLER_EMAIL",
     "the controller's privacy contact e-mail in receipts (empty: privacy@<issuer host>)",
     OPT(controller_email), CONFIG_CMD_SERVE, 0},
    {"mqtt-host", CONFIG_STRING, "127.0.0.1", 1, 63, NULL, "CITYOS_MQTT_HOST",
     "address of the MQTT broker devices publish to", OPT(mqtt_host), CONFIG_CMD_SERVE, 0},
    {"mqtt-port", CONFIG_INT, "0", 0, 65535, NULL, "CITYOS_MQTT_PORT",
     "port of the MQTT broker (0: no broker, so no device credentials and no ingest)",
     OPT(mqtt_port), CONFIG_CMD_SERVE, 0},
    {"mqtt-admin-user", CONFIG_STRING, "cityos-admin", 1, 63, NULL, "CITYOS_MQTT_ADMIN_USER",
     "the broker's dynamic-security administrator cityos signs in as", OPT(mqtt_admin_user),
     CONFIG_CMD_SERVE, 0},
    {"mqtt-admin-password-file", CONFIG_STRING, "", 0, CONFIG_STR_MAX - 1, NULL,
     "CITYOS_MQTT_ADMIN_PASSWORD_FILE",
     "file holding that administrator's password (needed when mqtt-port is set)",
     OPT(mqtt_admin_password_file), CONFIG_CMD_SERVE, 0},
    {"ingest-connections", CONFIG_INT, "16", 1, 256, NULL, "CITYOS_INGEST_CONNECTIONS",
     "MQTT subscriber connections sharing the device readings (a shared subscription)",
     OPT(ingest_connections), CONFIG_CMD_SERVE, 0},
    {"meeting-url", CONFIG_STRING, "https://meet.jit.si/cityos-{room}", 8, CONFIG_STR_MAX - 1, NULL,
     "CITYOS_MEETING_URL",
     "the video-meeting link of an online consultation; {room} becomes an unguessable room name",
     OPT(meeting_url), CONFIG_CMD_SERVE, 0},
    {"taxi-speed-kmh", CONFIG_INT, "30", 5, 120, NULL, "CITYOS_TAXI_SPEED_KMH",
     "a taxi's average speed on a normal day, km/h (pickup times)", OPT(taxi_speed_kmh),
     CONFIG_CMD_SERVE, 0},
    {"taxi-road-factor-pct", CONFIG_INT, "130", 100, 300, NULL, "CITYOS_TAXI_ROAD_FACTOR_PCT",
     "road distance as a percentage of the straight-line distance (pickup times)",
     OPT(taxi_road_factor_pct), CONFIG_CMD_SERVE, 0},
    {"taxi-snow-pct", CONFIG_INT, "150", 100, 400, NULL, "CITYOS_TAXI_SNOW_PCT",
     "travel time as a percentage of the normal one when it snows", OPT(taxi_snow_pct),
     CONFIG_CMD_SERVE, 0},
    {"taxi-margin-min", CONFIG_INT, "20", 0, 120, NULL, "CITYOS_TAXI_MARGIN_MIN",
     "minutes a taxi arrives at the facility before the appointment", OPT(taxi_margin_min),
     CONFIG_CMD_SERVE, 0},
    {"weather", CONFIG_ENUM, "normal", 0, 15, "normal|snow", "CITYOS_WEATHER",
     "the weather the taxi times assume until a sensor reports", OPT(weather), CONFIG_CMD_SERVE, 0},
    {"database-url", CONFIG_STRING, "", 0, CONFIG_STR_MAX - 1, NULL, "CITYOS_DATABASE_URL",
     "PostgreSQL connection URL (postgresql://user@host:port/db); empty: SQLite in --data-dir",
     OPT(database_url), CONFIG_CMD_ALL, 1},
    {"role", CONFIG_STRING, "all", 1, 63, NULL, "CITYOS_ROLE",
     "what this process runs, comma-separated: api (HTTP API), ingest (MQTT readings), worker "
     "(events, scans), or all",
     OPT(role), CONFIG_CMD_SERVE, 0},
    {"ingest-client-id", CONFIG_STRING, "cityos-ingest", 1, 40, NULL, "CITYOS_INGEST_CLIENT_ID",
     "prefix of this process's MQTT client ids (<prefix>-0 ...): unique and stable per ingest "
     "process",
     OPT(ingest_client_id), CONFIG_CMD_SERVE, 0},
    {"ingest-share-group", CONFIG_STRING, "cityos-ingest", 1, 40, NULL, "CITYOS_INGEST_SHARE_GROUP",
     "MQTT shared-subscription group the ingest processes split the readings in "
     "($share/<group>/...)",
     OPT(ingest_share_group), CONFIG_CMD_SERVE, 0},
    {NULL, CONFIG_STRING, NULL, 0, 0, NULL, NULL, NULL, 0, 0, 0},
};

static const struct config_option *find_option(const char *name, size_t len)
{
    for (const struct config_option *o = config_options; o->name != NULL; o++) {
        if (strlen(o->name) != len)
            continue;
        size_t i = 0;
        for (; i < len; i++) {
            char c = name[i] == '_' ? '-' : name[i]; /* file keys may use data_dir */
            if (c != o->name[i])
                break;
        }
        if (i == len)
            return o;
    }
    return NULL;
}

static int parse_number(const struct config_option *o, const char *value, long long *out)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(value, &end, 10);
    if (errno != 0 || end == value)
        return -1;
    if (o->type == CONFIG_SIZE) {
        long long mult = 1;
        if (*end == 'K' || *end == 'k')
            mult = KIB;
        else if (*end == 'M' || *end == 'm')
            mult = MIB;
        else if (*end == 'G' || *end == 'g')
            mult = 1024 * MIB;
        if (mult != 1) {
            end++;
            if (*end == 'i' || *end == 'B')
                end += (*end == 'i' && end[1] == 'B') ? 2 : 1;
            if (v > (1LL << 40) || v < 0)
                return -1;
            v *= mult;
        }
    } else if (o->type == CONFIG_SECONDS && *end == 's') {
        end++;
    }
    if (*end != '\0')
        return -1;
    *out = v;
    return 0;
}

static int choice_allowed(const char *choices, const char *value)
{
    size_t n = strlen(value);
    const char *p = choices;
    while (p != NULL && *p != '\0') {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, value, n) == 0)
            return 1;
        p = bar ? bar + 1 : NULL;
    }
    return 0;
}

static int set_option(struct config *c, const struct config_option *o, const char *value,
                      const char *source, struct err *e)
{
    char *field = (char *)c + o->offset;
    switch (o->type) {
    case CONFIG_STRING:
    case CONFIG_ENUM: {
        size_t n = strlen(value);
        if (o->type == CONFIG_ENUM && !choice_allowed(o->choices, value))
            return err_set(e, ERR_INVALID, "%s: --%s must be one of %s, not \"%.40s\"", source,
                           o->name, o->choices, value);
        if ((long long)n > o->max)
            return err_set(e, ERR_INVALID, "%s: --%s is longer than %lld characters", source,
                           o->name, o->max);
        if ((long long)n < o->min)
            return err_set(e, ERR_INVALID, "%s: --%s must not be empty", source, o->name);
        memcpy(field, value, n + 1);
        return 0;
    }
    case CONFIG_INT:
    case CONFIG_SIZE:
    case CONFIG_SECONDS: {
        long long v;
        if (parse_number(o, value, &v) != 0)
            return err_set(e, ERR_INVALID, "%s: --%s needs a number%s, not \"%.40s\"", source,
                           o->name, o->type == CONFIG_SIZE ? " (with optional K/M/G)" : "", value);
        if (v < o->min || v > o->max)
            return err_set(e, ERR_INVALID, "%s: --%s must be between %lld and %lld, not %lld",
                           source, o->name, o->min, o->max, v);
        memcpy(field, &v, sizeof v);
        return 0;
    }
    }
    return err_set(e, ERR_INTERNAL, "option type");
}

int config_set(struct config *c, const char *name, const char *value, const char *source,
               struct err *e)
{
    const struct config_option *o = find_option(name, strlen(name));
    if (o == NULL)
        return err_set(e, ERR_INVALID, "%s: unknown option \"%.60s\"", source, name);
    return set_option(c, o, value, source, e);
}

void config_defaults(struct config *c)
{
    memset(c, 0, sizeof *c);
    for (const struct config_option *o = config_options; o->name != NULL; o++)
        (void)set_option(c, o, o->deflt, "default", NULL);
    c->roles = CONFIG_ROLE_ALL;
}

struct file_ctx {
    struct config *c;
    const char *path;
    struct err *e;
    int failed;
};

static int on_ini_value(void *user, const char *section, const char *name, const char *value)
{
    struct file_ctx *f = user;
    char source[CONFIG_STR_MAX + 32];
    snprintf(source, sizeof source, "file %s", f->path);
    if (f->failed)
        return 0;
    if (section[0] != '\0' && strcmp(section, "cityos") != 0) {
        err_set(f->e, ERR_INVALID, "%s: unknown section [%.40s] (use [cityos] or none)", source,
                section);
        f->failed = 1;
        return 0;
    }
    if (strcmp(name, "config") == 0 || config_set(f->c, name, value, source, f->e) != 0) {
        if (strcmp(name, "config") == 0)
            err_set(f->e, ERR_INVALID, "%s: a config file cannot name another", source);
        f->failed = 1;
        return 0;
    }
    return 1;
}

static int load_file(struct config *c, const char *path, struct err *e)
{
    FILE *fp = fopen(path, "r");
    if (fp == NULL)
        return err_set(e, ERR_INVALID, "config file %s: %s", path, strerror(errno));
    struct file_ctx f = {c, path, e, 0};
    int rc = ini_parse_file(fp, on_ini_value, &f);
    fclose(fp);
    if (f.failed)
        return ERR_INVALID;
    if (rc != 0)
        return err_set(e, ERR_INVALID, "config file %s: syntax error on line %d", path, rc);
    return 0;
}

static int load_env(struct config *c, struct err *e)
{
    for (const struct config_option *o = config_options; o->name != NULL; o++) {
        const char *v = getenv(o->env);
        if (v == NULL || o->offset == offsetof(struct config, config_file))
            continue;
        char source[64];
        snprintf(source, sizeof source, "env %s", o->env);
        int rc = set_option(c, o, v, source, e);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Calls fn for each --name[=value] in argv; returns fn's first failure. */
static int each_flag(struct config *c, unsigned command, int argc, char **argv, int only_config,
                     struct err *e)
{
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0 || a[2] == '\0')
            return err_set(e, ERR_INVALID,
                           "unexpected argument \"%.60s\" (options are --name=value)", a);
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        if (len == 4 && strncmp(name, "help", 4) == 0)
            continue;
        const struct config_option *o = find_option(name, len);
        if (o == NULL || (o->commands & command) == 0)
            return err_set(e, ERR_INVALID, "unknown option --%.*s (see --help)",
                           (int)(len > 60 ? 60 : len), name);
        const char *value = eq ? eq + 1 : NULL;
        if (value == NULL) {
            if (i + 1 >= argc)
                return err_set(e, ERR_INVALID, "--%s needs a value", o->name);
            value = argv[++i];
        }
        int is_config = o->offset == offsetof(struct config, config_file);
        if (is_config != only_config)
            continue;
        int rc = set_option(c, o, value, "flag", e);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* The OpenID issuer (OIDC Discovery section 3, RFC 8414 section 2): https with a host, or plain
 * http only on this machine (http://localhost, http://127.0.0.1, with an optional port), and no
 * trailing slash, query, fragment, user info, space or control character. */
static int check_issuer(const char *iss, struct err *e)
{
    static const char *const local[] = {"http://localhost", "http://127.0.0.1", NULL};
    const char *host = NULL;
    if (strncmp(iss, "https://", 8) == 0)
        host = iss + 8;
    for (size_t i = 0; host == NULL && local[i] != NULL; i++) {
        size_t n = strlen(local[i]);
        if (strncmp(iss, local[i], n) == 0 && (iss[n] == '\0' || iss[n] == ':' || iss[n] == '/'))
            host = iss + 7;
    }
    if (host == NULL)
        return err_set(e, ERR_INVALID,
                       "--issuer must start with https:// (or be http://localhost or "
                       "http://127.0.0.1), not \"%.60s\"",
                       iss);
    if (host[0] == '\0' || host[0] == '/' || host[0] == ':')
        return err_set(e, ERR_INVALID, "--issuer needs a host");
    for (const char *p = iss; *p != '\0'; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch <= 0x20 || ch >= 0x7f || ch == '?' || ch == '#' || ch == '@' || ch == '\\')
            return err_set(e, ERR_INVALID,
                           "--issuer must have no query, fragment, user info, space or "
                           "non-ASCII character");
    }
    if (iss[strlen(iss) - 1] == '/')
        return err_set(e, ERR_INVALID, "--issuer must not end with a slash");
    return 0;
}

/* A controller text: UTF-8, no control character, no space at either end (the table's row
 * bounds its length and refuses it empty). */
static int check_controller_text(const char *name, const char *v, struct err *e)
{
    size_t n = strlen(v);
    if (!utf8_valid(v, n))
        return err_set(e, ERR_INVALID, "--%s must be UTF-8", name);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)v[i];
        if (ch < 0x20 || ch == 0x7f)
            return err_set(e, ERR_INVALID, "--%s must not hold control characters", name);
    }
    if (n == 0 || v[0] == ' ' || v[n - 1] == ' ')
        return err_set(e, ERR_INVALID, "--%s must not be empty or start or end with a space", name);
    return 0;
}

/* "+", a country code and 4..14 more digits (E.164: at most 15), single hyphens or spaces
 * between digits: "+81-242-39-1111". */
static int check_phone(const char *v, struct err *e)
{
    int digits = 0, ok = v[0] == '+' && v[1] >= '1' && v[1] <= '9';
    for (const char *p = v + 1; ok && *p != '\0'; p++) {
        if (*p >= '0' && *p <= '9')
            digits++;
        else if ((*p != '-' && *p != ' ') || p[-1] < '0' || p[-1] > '9' || p[1] < '0' || p[1] > '9')
            ok = 0;
    }
    if (!ok || digits < 5 || digits > 15)
        return err_set(e, ERR_INVALID,
                       "--controller-phone must be + and the country code, then digits with "
                       "single hyphens or spaces (e.g. +81-242-39-1111), not \"%.40s\"",
                       v);
    return 0;
}

/* local@domain: a dot-atom local part (RFC 5322, ASCII) of 1..64 characters, and a domain of
 * at least two dot-separated labels of letters, digits and inner hyphens (1..63 each). */
static int check_email(const char *v, struct err *e)
{
    static const char atext[] = "!#$%&'*+/=?^_`{|}~-";
    const char *at = strchr(v, '@');
    int ok = at != NULL && at != v && at - v <= 64 && strchr(at + 1, '@') == NULL;
    for (const char *p = v; ok && p < at; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch == '.')
            ok = p != v && p + 1 != at && p[1] != '.';
        else
            ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                 (ch != '\0' && strchr(atext, ch) != NULL);
    }
    int labels = 0;
    const char *label = ok ? at + 1 : NULL;
    while (ok) {
        size_t n = strcspn(label, ".");
        ok = n >= 1 && n <= 63 && label[0] != '-' && label[n - 1] != '-';
        for (size_t i = 0; ok && i < n; i++) {
            unsigned char ch = (unsigned char)label[i];
            ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                 ch == '-';
        }
        labels++;
        if (label[n] == '\0')
            break;
        label += n + 1;
    }
    if (!ok || labels < 2)
        return err_set(e, ERR_INVALID,
                       "--controller-email must be an address like privacy@city.example.jp, "
                       "not \"%.60s\"",
                       v);
    return 0;
}

static int check_controller(const struct config *c, struct err *e)
{
    int rc = check_controller_text("controller-name-ja", c->controller_name_ja, e);
    if (rc == 0)
        rc = check_controller_text("controller-name-en", c->controller_name_en, e);
    if (rc == 0)
        rc = check_controller_text("controller-address", c->controller_address, e);
    if (rc == 0)
        rc = check_phone(c->controller_phone, e);
    if (rc == 0 && c->controller_email[0] != '\0')
        rc = check_email(c->controller_email, e);
    return rc;
}

int config_roles_parse(const char *text, unsigned *out, struct err *e)
{
    static const struct {
        const char *name;
        unsigned bits;
    } names[] = {{"api", CONFIG_ROLE_API},
                 {"ingest", CONFIG_ROLE_INGEST},
                 {"worker", CONFIG_ROLE_WORKER},
                 {"all", CONFIG_ROLE_ALL}};
    unsigned bits = 0;
    const char *p = text;
    for (;;) {
        size_t n = strcspn(p, ",");
        unsigned one = 0;
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
            if (strlen(names[i].name) == n && strncmp(p, names[i].name, n) == 0)
                one = names[i].bits;
        if (one == 0)
            return err_set(e, ERR_INVALID,
                           "--role: \"%.*s\" is not a role (a comma-separated set of api, ingest, "
                           "worker, or all)",
                           (int)(n > 40 ? 40 : n), p);
        bits |= one;
        if (p[n] == '\0')
            break;
        p += n + 1;
    }
    *out = bits;
    return 0;
}

/* An MQTT client id prefix or shared-subscription group: letters, digits, '-', '_' and '.'
 * (a group must not hold '/', '+' or '#'; client ids are kept to what every broker takes). */
static int check_mqtt_name(const char *name, const char *v, struct err *e)
{
    for (const char *p = v; *p != '\0'; p++) {
        char ch = *p;
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '_' || ch == '.'))
            return err_set(e, ERR_INVALID,
                           "--%s may hold only letters, digits, '-', '_' and '.', not \"%.40s\"",
                           name, v);
    }
    return 0;
}

int config_load(struct config *c, unsigned command, int argc, char **argv, FILE *out, struct err *e)
{
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            config_print_help(out, command);
            return 1;
        }
    }
    config_defaults(c);
    const char *env_config = getenv("CITYOS_CONFIG");
    if (env_config != NULL) {
        int rc = config_set(c, "config", env_config, "env CITYOS_CONFIG", e);
        if (rc != 0)
            return rc;
    }
    int rc = each_flag(c, command, argc, argv, 1, e);
    if (rc != 0)
        return rc;
    if (c->config_file[0] != '\0' && (rc = load_file(c, c->config_file, e)) != 0)
        return rc;
    if ((rc = load_env(c, e)) != 0)
        return rc;
    if ((rc = each_flag(c, command, argc, argv, 0, e)) != 0)
        return rc;
    if (c->admin_token[0] != '\0' && strlen(c->admin_token) < 32)
        return err_set(e, ERR_INVALID, "--admin-token must have at least 32 characters");
    if ((command & CONFIG_CMD_SERVE) != 0 && (rc = check_issuer(c->issuer, e)) != 0)
        return rc;
    if ((command & CONFIG_CMD_SERVE) != 0 && (rc = check_controller(c, e)) != 0)
        return rc;
    if ((command & CONFIG_CMD_SERVE) != 0 &&
        ((rc = config_roles_parse(c->role, &c->roles, e)) != 0 ||
         (rc = check_mqtt_name("ingest-client-id", c->ingest_client_id, e)) != 0 ||
         (rc = check_mqtt_name("ingest-share-group", c->ingest_share_group, e)) != 0))
        return rc;
    return 0;
}

void config_print_help(FILE *out, unsigned command)
{
    fprintf(out, "Options (flag > environment > config file > default):\n");
    for (const struct config_option *o = config_options; o->name != NULL; o++) {
        if ((o->commands & command) == 0)
            continue;
        char left[64];
        snprintf(left, sizeof left, "--%s=%s", o->name,
                 o->type == CONFIG_STRING || o->type == CONFIG_ENUM ? "TEXT" : "N");
        fprintf(out, "  %-28s %s\n", left, o->help);
        if (o->type == CONFIG_ENUM)
            fprintf(out, "  %-28s one of %s\n", "", o->choices);
        else if (o->type != CONFIG_STRING)
            fprintf(out, "  %-28s %lld..%lld%s\n", "", o->min, o->max,
                    o->type == CONFIG_SIZE      ? " bytes"
                    : o->type == CONFIG_SECONDS ? " s"
                                                : "");
        fprintf(out, "  %-28s env %s, default %s\n", "", o->env,
                o->secret ? "(none)" : (o->deflt[0] ? o->deflt : "(none)"));
    }
}

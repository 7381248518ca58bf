/* identity_cmds.c - `cityos user add|role|link`, `cityos org add`, `cityos client add`: the
 * administrator's way to create identity records, with per-invocation inputs parsed here. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "base/clock.h"
#include "base/config.h"
#include "cli/cli.h"
#include "identity/client.h"
#include "identity/org.h"
#include "identity/person.h"
#include "store/store.h"

/* The record's fields are inputs of one invocation, not configuration: they get no environment
 * variable and no INI key (a stray CITYOS_EMAIL must never fill in someone's address), so they
 * live in a small table per verb here. Everything else (--data-dir, --config, --log-level, ...)
 * goes to the option table through cli_prepare() with CONFIG_CMD_ADMIN. */

#define IN_REQUIRED 1u
#define IN_FLAG     2u /* takes no value */
#define IN_REPEAT   4u /* may be given several times; values may also be comma-separated */
#define INPUTS_MAX  16
#define REPEAT_MAX  (ID_CLIENT_REDIRECTS_MAX + 1)
#define SECRET_LINE 1024

struct input {
    const char *name;
    unsigned flags;
    const char *help;
};

struct values {
    const char *v[INPUTS_MAX]; /* by input index; NULL when absent (a flag: "1") */
    const char *list[REPEAT_MAX];
    size_t nlist;
    char split[2048]; /* the repeatable input's values, split at commas */
    size_t split_used;
};

struct verb {
    const char *cmd, *name, *summary;
    const struct input *inputs; /* terminated by a NULL name */
    int (*run)(struct store *s, const struct values *v, struct err *e);
    int (*check)(struct values *v, struct err *e); /* before the store opens; may be NULL */
};

/* ---- the verbs ---- */

enum {
    U_FAMILY,
    U_GIVEN,
    U_FAMILY_KANA,
    U_GIVEN_KANA,
    U_BIRTH,
    U_SEX,
    U_DISTRICT,
    U_LAT,
    U_LON,
    U_EMAIL,
    U_PHONE,
    U_ASSURANCE,
    U_PASSWORD_STDIN
};
static const struct input user_add_inputs[] = {
    {"family-name", IN_REQUIRED, "family name as written (kanji)"},
    {"given-name", IN_REQUIRED, "given name as written (kanji)"},
    {"family-name-kana", IN_REQUIRED, "family name in katakana or hiragana"},
    {"given-name-kana", IN_REQUIRED, "given name in katakana or hiragana"},
    {"birth-date", IN_REQUIRED, "YYYY-MM-DD"},
    {"sex", IN_REQUIRED, "male, female, other or unknown"},
    {"district", IN_REQUIRED, "district of the address"},
    {"lat", 0, "latitude in decimal degrees (with --lon)"},
    {"lon", 0, "longitude in decimal degrees (with --lat)"},
    {"email", 0, "e-mail address (unique)"},
    {"phone", 0, "phone number: digits, a leading +, single -"},
    {"assurance", 0, "self (default), in_person or card"},
    {"password-stdin", IN_FLAG, "read a first password from the first line of stdin"},
    {NULL, 0, NULL},
};

static char password_line[SECRET_LINE + 2];

static int parse_coords(const struct values *v, int lat, int lon, struct id_coords *c,
                        struct err *e)
{
    c->set = v->v[lat] != NULL || v->v[lon] != NULL;
    if (!c->set)
        return 0;
    if (v->v[lat] == NULL || v->v[lon] == NULL)
        return err_set(e, ERR_INVALID, "--lat and --lon go together");
    if (id_coord_parse(v->v[lat], 90, &c->lat_e6) != 0)
        return err_set(e, ERR_INVALID,
                       "--lat: decimal degrees between -90 and 90, at most 6 "
                       "decimals");
    if (id_coord_parse(v->v[lon], 180, &c->lon_e6) != 0)
        return err_set(e, ERR_INVALID,
                       "--lon: decimal degrees between -180 and 180, at most 6 "
                       "decimals");
    return 0;
}

/* Reads the first line of stdin into password_line, without its line ending. */
static int read_password(struct err *e)
{
    if (fgets(password_line, sizeof password_line, stdin) == NULL)
        return err_set(e, ERR_INVALID, "--password-stdin: nothing on stdin");
    size_t n = strlen(password_line);
    if (n > 0 && password_line[n - 1] == '\n')
        password_line[--n] = '\0';
    else if (!feof(stdin))
        return err_set(e, ERR_INVALID, "--password-stdin: the line is too long");
    if (n > 0 && password_line[n - 1] == '\r')
        password_line[--n] = '\0';
    return 0;
}

static int user_add_check(struct values *v, struct err *e)
{
    enum id_sex sex;
    enum id_assurance assurance;
    struct id_coords c;
    if (id_sex_parse(v->v[U_SEX], &sex) != 0)
        return err_set(e, ERR_INVALID, "--sex must be male, female, other or unknown");
    if (v->v[U_ASSURANCE] != NULL && id_assurance_parse(v->v[U_ASSURANCE], &assurance) != 0)
        return err_set(e, ERR_INVALID, "--assurance must be self, in_person or card");
    int rc = parse_coords(v, U_LAT, U_LON, &c, e);
    if (rc == 0 && v->v[U_PASSWORD_STDIN] != NULL)
        rc = read_password(e);
    return rc;
}

static int user_add(struct store *s, const struct values *v, struct err *e)
{
    struct id_person_new in = {
        .family_name_kanji = v->v[U_FAMILY],
        .given_name_kanji = v->v[U_GIVEN],
        .family_name_kana = v->v[U_FAMILY_KANA],
        .given_name_kana = v->v[U_GIVEN_KANA],
        .birth_date = v->v[U_BIRTH],
        .district = v->v[U_DISTRICT],
        .phone = v->v[U_PHONE],
        .email = v->v[U_EMAIL],
        .password = v->v[U_PASSWORD_STDIN] != NULL ? password_line : NULL,
    };
    (void)id_sex_parse(v->v[U_SEX], &in.sex); /* checked by user_add_check */
    if (v->v[U_ASSURANCE] != NULL)
        (void)id_assurance_parse(v->v[U_ASSURANCE], &in.assurance);
    (void)parse_coords(v, U_LAT, U_LON, &in.coords, NULL);
    char id[IDS_LEN + 1];
    int rc = id_person_create(s, &in, id, e);
    if (rc == 0)
        printf("%s\n", id);
    return rc;
}

enum { R_PERSON, R_ORG, R_ROLE };
static const struct input user_role_inputs[] = {
    {"person", IN_REQUIRED, "regional ID of the practitioner"},
    {"org", IN_REQUIRED, "organisation id"},
    {"role", IN_REQUIRED,
     "doctor, nurse, pharmacist, care_worker, dispatcher, clerk, "
     "city_administrator or auditor"},
    {NULL, 0, NULL},
};

static int user_role_check(struct values *v, struct err *e)
{
    enum id_role_kind role;
    if (id_role_parse(v->v[R_ROLE], &role) != 0)
        return err_set(e, ERR_INVALID,
                       "--role must be doctor, nurse, pharmacist, care_worker, "
                       "dispatcher, clerk, city_administrator or auditor");
    return 0;
}

static int user_role(struct store *s, const struct values *v, struct err *e)
{
    enum id_role_kind role = ID_ROLE_DOCTOR;
    (void)id_role_parse(v->v[R_ROLE], &role);
    char id[IDS_LEN + 1];
    int rc = id_role_add(s, v->v[R_PERSON], v->v[R_ORG], role, id, e);
    if (rc == 0)
        printf("%s\n", id);
    return rc;
}

enum { L_SUBJECT, L_DELEGATE, L_RIGHTS, L_KIND, L_UNTIL };
static const struct input user_link_inputs[] = {
    {"subject", IN_REQUIRED, "regional ID of the person acted for"},
    {"delegate", IN_REQUIRED, "regional ID of the person who acts"},
    {"rights", IN_REQUIRED,
     "see_record,see_alerts,book_appointments,manage_consents or "
     "everything"},
    {"kind", 0, "family (default) or guardian (subject under 18)"},
    {"until", 0, "last day, YYYY-MM-DD (a guardian: default the day before the 18th birthday)"},
    {NULL, 0, NULL},
};

/* "YYYY-MM-DD" -> the start of the next Japanese day, so the link covers the whole last day. */
static int until_ms(const char *date, int64_t *out)
{
    char text[40];
    int64_t ms;
    if (strlen(date) != 10)
        return ERR_INVALID;
    snprintf(text, sizeof text, "%sT00:00:00+09:00", date);
    if (clock_parse_rfc3339(text, &ms) != 0)
        return ERR_INVALID;
    *out = ms + 86400000LL;
    return 0;
}

static int user_link_check(struct values *v, struct err *e)
{
    unsigned rights;
    enum id_link_kind kind;
    int64_t until;
    int rc = id_rights_parse(v->v[L_RIGHTS], &rights, e);
    if (rc != 0)
        return rc;
    if (v->v[L_KIND] != NULL && id_link_kind_parse(v->v[L_KIND], &kind) != 0)
        return err_set(e, ERR_INVALID, "--kind must be family or guardian");
    if (v->v[L_UNTIL] != NULL && until_ms(v->v[L_UNTIL], &until) != 0)
        return err_set(e, ERR_INVALID, "--until must be a date as YYYY-MM-DD");
    return 0;
}

static int user_link(struct store *s, const struct values *v, struct err *e)
{
    struct id_family_link_new in = {.subject_id = v->v[L_SUBJECT], .delegate_id = v->v[L_DELEGATE]};
    (void)id_rights_parse(v->v[L_RIGHTS], &in.rights, NULL);
    if (v->v[L_KIND] != NULL)
        (void)id_link_kind_parse(v->v[L_KIND], &in.kind);
    if (v->v[L_UNTIL] != NULL)
        (void)until_ms(v->v[L_UNTIL], &in.valid_until_ms);
    char id[IDS_LEN + 1];
    int rc = id_family_link_add(s, &in, id, e);
    if (rc == 0)
        printf("%s\n", id);
    return rc;
}

enum { O_KIND, O_NAME_JA, O_NAME_EN, O_DISTRICT, O_ADDRESS, O_LAT, O_LON };
static const struct input org_add_inputs[] = {
    {"kind", IN_REQUIRED,
     "clinic, hospital, pharmacy, care_home, school, taxi_company, "
     "city_office or research_body"},
    {"name-ja", IN_REQUIRED, "name in Japanese"},
    {"name-en", 0, "name in English"},
    {"district", IN_REQUIRED, "district"},
    {"address", 0, "street address"},
    {"lat", 0, "latitude in decimal degrees (with --lon)"},
    {"lon", 0, "longitude in decimal degrees (with --lat)"},
    {NULL, 0, NULL},
};

static int org_add_check(struct values *v, struct err *e)
{
    enum id_org_kind kind;
    struct id_coords c;
    if (id_org_kind_parse(v->v[O_KIND], &kind) != 0)
        return err_set(e, ERR_INVALID,
                       "--kind must be clinic, hospital, pharmacy, care_home, "
                       "school, taxi_company, city_office or research_body");
    return parse_coords(v, O_LAT, O_LON, &c, e);
}

static int org_add(struct store *s, const struct values *v, struct err *e)
{
    struct id_org_new in = {.name_ja = v->v[O_NAME_JA],
                            .name_en = v->v[O_NAME_EN],
                            .district = v->v[O_DISTRICT],
                            .address = v->v[O_ADDRESS]};
    (void)id_org_kind_parse(v->v[O_KIND], &in.kind);
    (void)parse_coords(v, O_LAT, O_LON, &in.coords, NULL);
    char id[IDS_LEN + 1];
    int rc = id_org_create(s, &in, id, e);
    if (rc == 0)
        printf("%s\n", id);
    return rc;
}

enum { C_NAME, C_KIND, C_REDIRECT, C_SCOPES, C_GRANTS, C_ORG };
static const struct input client_add_inputs[] = {
    {"name", IN_REQUIRED, "name shown to people approving the client"},
    {"kind", IN_REQUIRED, "public (apps in browsers and phones) or confidential (servers)"},
    {"redirect-uri", IN_REPEAT, "exact redirect URI (repeat, or separate with commas)"},
    {"scopes", IN_REQUIRED, "space-separated scopes the client may ask for"},
    {"grant-types", IN_REQUIRED,
     "authorization_code, client_credentials, refresh_token "
     "(comma-separated)"},
    {"org", 0, "organisation id the client belongs to"},
    {NULL, 0, NULL},
};

static int client_add_check(struct values *v, struct err *e)
{
    enum id_client_kind kind;
    unsigned grants;
    if (id_client_kind_parse(v->v[C_KIND], &kind) != 0)
        return err_set(e, ERR_INVALID, "--kind must be public or confidential");
    return id_grant_types_parse(v->v[C_GRANTS], &grants, e);
}

static int client_add(struct store *s, const struct values *v, struct err *e)
{
    struct id_client_new in = {.name = v->v[C_NAME],
                               .redirect_uris = v->list,
                               .n_redirect_uris = v->nlist,
                               .scopes = v->v[C_SCOPES],
                               .org_id = v->v[C_ORG]};
    (void)id_client_kind_parse(v->v[C_KIND], &in.kind);
    (void)id_grant_types_parse(v->v[C_GRANTS], &in.grant_types, NULL);
    char id[IDS_LEN + 1], secret[ID_CLIENT_SECRET_LEN + 1];
    int rc = id_client_create(s, &in, id, secret, e);
    if (rc == 0) {
        printf("client_id=%s\n", id);
        if (secret[0] != '\0') {
            printf("client_secret=%s\n", secret);
            fprintf(stderr, "cityos: the client secret is shown only now; cityos keeps only "
                            "its hash\n");
        }
    }
    sodium_memzero(secret, sizeof secret);
    return rc;
}

static const struct verb verbs[] = {
    {"user", "add", "add a person; prints the regional ID", user_add_inputs, user_add,
     user_add_check},
    {"user", "role", "give a person a role in an organisation", user_role_inputs, user_role,
     user_role_check},
    {"user", "link", "let one person act for another (family, guardian)", user_link_inputs,
     user_link, user_link_check},
    {"org", "add", "add an organisation; prints its id", org_add_inputs, org_add, org_add_check},
    {"client", "add", "register an OAuth client; prints client_id (and a secret, once)",
     client_add_inputs, client_add, client_add_check},
};
#define NVERBS (sizeof verbs / sizeof verbs[0])

/* ---- parsing and dispatch ---- */

static void print_verb_help(FILE *out, const struct verb *vb)
{
    fprintf(out, "usage: cityos %s %s [--option=value ...]\n%s\n\nInputs:\n", vb->cmd, vb->name,
            vb->summary);
    for (const struct input *in = vb->inputs; in->name != NULL; in++) {
        char left[64];
        snprintf(left, sizeof left, "--%s%s", in->name, in->flags & IN_FLAG ? "" : "=TEXT");
        fprintf(out, "  %-28s %s%s\n", left, in->help,
                in->flags & IN_REQUIRED ? " (required)" : "");
    }
    fprintf(out, "\n");
    config_print_help(out, CONFIG_CMD_ADMIN);
}

static void print_cmd_help(FILE *out, const char *cmd)
{
    fprintf(out, "usage: cityos %s <verb> [--option=value ...]\n\nverbs:\n", cmd);
    for (size_t i = 0; i < NVERBS; i++)
        if (strcmp(verbs[i].cmd, cmd) == 0)
            fprintf(out, "  %-8s %s\n", verbs[i].name, verbs[i].summary);
    if (strcmp(cmd, "user") == 0) /* totp_cmd.c: a verb with its own argument handling */
        fprintf(out, "  %-8s %s\n", "totp",
                "enrol (or --remove) a TOTP second factor for an account");
    fprintf(out, "\n`cityos %s <verb> --help` lists the verb's inputs and options.\n", cmd);
}

/* Adds a repeatable input's value, split at commas, to v->list. */
static int add_listed(struct values *v, const char *name, const char *value, struct err *e)
{
    size_t n = strlen(value);
    if (n + 1 > sizeof v->split - v->split_used)
        return err_set(e, ERR_INVALID, "--%s: too long", name);
    char *copy = v->split + v->split_used;
    memcpy(copy, value, n + 1);
    v->split_used += n + 1;
    for (char *p = copy;;) {
        char *comma = strchr(p, ',');
        if (comma != NULL)
            *comma = '\0';
        if (v->nlist == REPEAT_MAX)
            return err_set(e, ERR_INVALID, "--%s: at most %d values", name,
                           ID_CLIENT_REDIRECTS_MAX);
        v->list[v->nlist++] = p;
        if (comma == NULL)
            return 0;
        p = comma + 1;
    }
}

/* Takes the verb's inputs out of argv into v; every other argument is kept, in order, in rest
 * (for the option table). Returns 0 or ERR_INVALID. */
static int split_args(const struct verb *vb, int argc, char **argv, struct values *v, char **rest,
                      int *nrest, struct err *e)
{
    *nrest = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *name = a + 2, *eq = strchr(a, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        int k = -1;
        for (int j = 0; strncmp(a, "--", 2) == 0 && vb->inputs[j].name != NULL; j++)
            if (strlen(vb->inputs[j].name) == len && strncmp(vb->inputs[j].name, name, len) == 0)
                k = j;
        if (k < 0) {
            rest[(*nrest)++] = argv[i];
            continue;
        }
        const struct input *in = &vb->inputs[k];
        const char *value = eq ? eq + 1 : NULL;
        if (in->flags & IN_FLAG) {
            if (value != NULL)
                return err_set(e, ERR_INVALID, "--%s takes no value", in->name);
            value = "1";
        } else if (value == NULL) {
            if (i + 1 >= argc)
                return err_set(e, ERR_INVALID, "--%s needs a value", in->name);
            value = argv[++i];
        }
        if (in->flags & IN_REPEAT) {
            int rc = add_listed(v, in->name, value, e);
            if (rc != 0)
                return rc;
        } else if (v->v[k] != NULL) {
            return err_set(e, ERR_INVALID, "--%s is given twice", in->name);
        }
        v->v[k] = value;
    }
    for (int j = 0; vb->inputs[j].name != NULL; j++)
        if ((vb->inputs[j].flags & IN_REQUIRED) && v->v[j] == NULL)
            return err_set(e, ERR_INVALID, "cityos %s %s needs --%s (see --help)", vb->cmd,
                           vb->name, vb->inputs[j].name);
    return 0;
}

/* Runs `cityos cmd verb ...`: 0 done, 1 a runtime failure, 2 a usage or input error. */
static int run_command(const char *cmd, int argc, char **argv)
{
    if (argc < 1 || strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
        print_cmd_help(argc < 1 ? stderr : stdout, cmd);
        return argc < 1 ? 2 : 0;
    }
    const struct verb *vb = NULL;
    for (size_t i = 0; i < NVERBS; i++)
        if (strcmp(verbs[i].cmd, cmd) == 0 && strcmp(verbs[i].name, argv[0]) == 0)
            vb = &verbs[i];
    if (vb == NULL) {
        fprintf(stderr, "cityos: unknown verb \"%s %.40s\"\n\n", cmd, argv[0]);
        print_cmd_help(stderr, cmd);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            print_verb_help(stdout, vb);
            return 0;
        }
    }
    struct values v;
    memset(&v, 0, sizeof v);
    char *rest[64];
    int nrest = 0, rc = 2;
    struct err e = {0};
    struct store *store = NULL;
    if (argc - 1 > (int)(sizeof rest / sizeof rest[0]))
        err_set(&e, ERR_INVALID, "too many arguments");
    else if (split_args(vb, argc - 1, argv + 1, &v, rest, &nrest, &e) == 0 && vb->check != NULL)
        vb->check(&v, &e);
    if (e.code != 0) {
        fprintf(stderr, "cityos: %s\n", e.msg);
        goto out;
    }
    struct config cfg;
    rc = cli_prepare(&cfg, CONFIG_CMD_ADMIN, nrest, rest);
    if (rc != 0) {
        rc = rc == 1 ? 0 : rc;
        goto out;
    }
    rc = 1;
    if ((store = cli_open_store(&cfg)) == NULL)
        goto out;
    int status = vb->run(store, &v, &e);
    if (status != 0)
        fprintf(stderr, "cityos: %s\n", e.msg);
    rc = status == 0 ? 0 : status == ERR_INVALID ? 2 : 1;
out:
    sodium_memzero(password_line, sizeof password_line);
    store_close(store);
    return rc;
}

int cli_user(int argc, char **argv)
{
    if (argc >= 1 && strcmp(argv[0], "totp") == 0)
        return cli_user_totp(argc - 1, argv + 1);
    return run_command("user", argc, argv);
}

int cli_org(int argc, char **argv)
{
    return run_command("org", argc, argv);
}

int cli_client(int argc, char **argv)
{
    return run_command("client", argc, argv);
}

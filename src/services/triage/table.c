/* table.c - loading the triage tables (triage.h): the questionnaire, its options, the departments
 * and the rules, each row checked and every reference between them resolved, so that a table
 * that loads can be evaluated without further checks; errors name the file and line. */
#include <errno.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/utf8.h"
#include "services/triage/internal.h"

#define CODE_FIRST "a"
#define CODE_REST  "a0-"
#define LINK_REST  "a0._-"

struct loader {
    struct triage_table *t;
    struct arena *a;
    const struct triage_file *file;
    /* growing arrays */
    struct triage_item *items;
    size_t nitems, cap_items;
    const char **enable_text; /* per item, parsed once the options are known */
    size_t cap_enable;
    struct triage_department *deps;
    size_t ndeps, cap_deps;
    struct triage_rule *rules;
    size_t nrules, cap_rules;
    unsigned char *used; /* per item: named by a condition */
};

static int row_fail(struct err *e, const struct loader *l, size_t line, const struct err *why)
{
    return err_set(e, why->code == ERR_NOMEM ? ERR_NOMEM : ERR_INVALID, "%s:%zu: %s", l->file->name,
                   line, why->msg);
}

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        struct err why_ = {0};                                                                     \
        err_set(&why_, ERR_INVALID, __VA_ARGS__);                                                  \
        return row_fail(e, l, row->line, &why_);                                                   \
    } while (0)

/* A text column: 1..TRIAGE_TEXT_MAX bytes (the reader checked UTF-8 and control characters). */
static int text_ok(const char *s)
{
    return strlen(s) <= TRIAGE_TEXT_MAX;
}

static int parse_yes_no(const char *s, int *out)
{
    if (strcmp(s, "yes") == 0 || strcmp(s, "no") == 0) {
        *out = s[0] == 'y';
        return 1;
    }
    return 0;
}

static int parse_bound(const char *s, enum triage_type type, int *has, double *out)
{
    *has = 0;
    if (strcmp(s, "-") == 0)
        return 1;
    if (type != TRIAGE_INTEGER && type != TRIAGE_DECIMAL)
        return 0;
    for (const char *c = s; *c != '\0'; c++)
        if (!((*c >= '0' && *c <= '9') || *c == '-' || (*c == '.' && type == TRIAGE_DECIMAL)))
            return 0;
    char *end = NULL;
    errno = 0;
    double d = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !isfinite(d) || fabs(d) > 1e12)
        return 0;
    *has = 1;
    *out = d;
    return 1;
}

/* ---- questionnaire.tsv ---- */

static int item_row(const struct triage__row *row, void *ctx, struct err *e)
{
    struct loader *l = ctx;
    const char *const *c = row->col;
    struct triage_item it;
    memset(&it, 0, sizeof it);
    it.line = row->line;
    if (!triage__token_ok(c[0], 64, CODE_FIRST, LINK_REST))
        FAIL("linkId \"%.40s\": want [a-z][a-z0-9._-]*, at most 64 bytes", c[0]);
    for (size_t i = 0; i < l->nitems; i++)
        if (strcmp(l->items[i].link_id, c[0]) == 0)
            FAIL("linkId %s again (first on line %zu)", c[0], l->items[i].line);
    it.link_id = c[0];
    if (strcmp(c[1], "boolean") == 0)
        it.type = TRIAGE_BOOLEAN;
    else if (strcmp(c[1], "choice") == 0)
        it.type = TRIAGE_CHOICE;
    else if (strcmp(c[1], "integer") == 0)
        it.type = TRIAGE_INTEGER;
    else if (strcmp(c[1], "decimal") == 0)
        it.type = TRIAGE_DECIMAL;
    else
        FAIL("type \"%.40s\": want boolean, choice, integer or decimal", c[1]);
    if (!parse_yes_no(c[2], &it.required))
        FAIL("required \"%.40s\": want yes or no", c[2]);
    if (!parse_bound(c[4], it.type, &it.has_min, &it.min) ||
        !parse_bound(c[5], it.type, &it.has_max, &it.max))
        FAIL("min and max: '-', or numbers for an integer or decimal question");
    if (it.type == TRIAGE_INTEGER &&
        ((it.has_min && it.min != floor(it.min)) || (it.has_max && it.max != floor(it.max))))
        FAIL("the bounds of an integer question are integers");
    if (it.has_min && it.has_max && it.min > it.max)
        FAIL("min is above max");
    if (!text_ok(c[6]) || !text_ok(c[7]))
        FAIL("a text longer than %d bytes", TRIAGE_TEXT_MAX);
    it.text.ja = c[6];
    it.text.en = c[7];
    struct triage_item *arr =
        arena_array_reserve(l->a, l->items, l->nitems, &l->cap_items, sizeof *arr);
    const char **en =
        arena_array_reserve(l->a, l->enable_text, l->nitems, &l->cap_enable, sizeof *en);
    if (arr == NULL || en == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    l->items = arr;
    l->enable_text = en;
    l->enable_text[l->nitems] = c[3];
    l->items[l->nitems++] = it;
    return 0;
}

/* ---- options.tsv ---- */

static int option_row(const struct triage__row *row, void *ctx, struct err *e)
{
    struct loader *l = ctx;
    const char *const *c = row->col;
    struct triage_item *it = NULL;
    for (size_t i = 0; i < l->nitems && it == NULL; i++)
        if (strcmp(l->items[i].link_id, c[0]) == 0)
            it = &l->items[i];
    if (it == NULL)
        FAIL("%.64s is no question of the questionnaire", c[0]);
    if (it->type != TRIAGE_CHOICE)
        FAIL("%s is not a choice question", it->link_id);
    if (!triage__token_ok(c[1], 32, CODE_FIRST, CODE_REST))
        FAIL("code \"%.40s\": want [a-z][a-z0-9-]*, at most 32 bytes", c[1]);
    for (size_t i = 0; i < it->noptions; i++)
        if (strcmp(it->options[i].code, c[1]) == 0)
            FAIL("%s has the option %s twice", it->link_id, c[1]);
    if (!text_ok(c[2]) || !text_ok(c[3]))
        FAIL("a text longer than %d bytes", TRIAGE_TEXT_MAX);
    /* options grow one at a time (a handful per question) */
    struct triage_option *o = arena_alloc(l->a, (it->noptions + 1) * sizeof *o);
    if (o == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    if (it->noptions > 0)
        memcpy(o, it->options, it->noptions * sizeof *o);
    o[it->noptions] = (struct triage_option){c[1], {c[2], c[3]}};
    it->options = o;
    it->noptions++;
    return 0;
}

/* ---- departments.tsv ---- */

static int department_row(const struct triage__row *row, void *ctx, struct err *e)
{
    struct loader *l = ctx;
    const char *const *c = row->col;
    if (!triage__token_ok(c[0], 32, CODE_FIRST, CODE_REST))
        FAIL("code \"%.40s\": want [a-z][a-z0-9-]*, at most 32 bytes", c[0]);
    for (size_t i = 0; i < l->ndeps; i++)
        if (strcmp(l->deps[i].code, c[0]) == 0)
            FAIL("department %s again", c[0]);
    if (!text_ok(c[1]) || !text_ok(c[2]))
        FAIL("a text longer than %d bytes", TRIAGE_TEXT_MAX);
    struct triage_department *arr =
        arena_array_reserve(l->a, l->deps, l->ndeps, &l->cap_deps, sizeof *arr);
    if (arr == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    l->deps = arr;
    l->deps[l->ndeps++] = (struct triage_department){c[0], {c[1], c[2]}};
    return 0;
}

/* ---- rules.tsv ---- */

static void mark_used(struct loader *l, const struct triage_cond *c)
{
    for (size_t i = 0; i < c->natoms; i++)
        for (size_t k = 0; k < c->atoms[i].nitems; k++)
            l->used[c->atoms[i].items[k]] = 1;
}

static int rule_row(const struct triage__row *row, void *ctx, struct err *e)
{
    struct loader *l = ctx;
    const char *const *c = row->col;
    struct triage_rule r;
    memset(&r, 0, sizeof r);
    r.line = row->line;
    if (l->nrules > 0 && l->rules[l->nrules - 1].when.natoms == 0)
        FAIL("a row after the default row (when '*') is never the only one to hold: the default "
             "row comes last");
    if (!triage__token_ok(c[0], 32, "A", "A0-"))
        FAIL("id \"%.40s\": want [A-Z][A-Z0-9-]*, at most 32 bytes", c[0]);
    for (size_t i = 0; i < l->nrules; i++)
        if (strcmp(l->rules[i].id, c[0]) == 0)
            FAIL("rule %s again (first on line %zu)", c[0], l->rules[i].line);
    r.id = c[0];
    struct err why = {0};
    int rc = triage__cond_parse(c[1], l->items, l->nitems, l->a, &r.when, &why);
    if (rc != 0)
        return row_fail(e, l, row->line, &why);
    int level = triage_level_parse(c[2]);
    if (level < 0)
        FAIL("level \"%.40s\": want red, yellow, green or white", c[2]);
    r.level = (enum triage_level)level;
    if (strcmp(c[3], "-") != 0 && (r.department = triage_department_find(l->t, c[3])) == NULL)
        FAIL("department \"%.40s\" is not in departments.tsv", c[3]);
    if (!parse_yes_no(c[4], &r.online))
        FAIL("online \"%.40s\": want yes or no", c[4]);
    int emergency = r.department != NULL && strcmp(r.department->code, "emergency") == 0;
    if (r.level == TRIAGE_RED && (!emergency || r.online))
        FAIL("a red row sends to the department emergency and is never online");
    if (r.level != TRIAGE_RED && emergency)
        FAIL("only red rows send to emergency");
    if (r.level == TRIAGE_YELLOW && r.online)
        FAIL("a yellow row (a doctor within about 2 hours) is not online");
    if (r.level == TRIAGE_WHITE && r.department != NULL)
        FAIL("a white row (self-care) names no department: write '-'");
    if ((r.level == TRIAGE_YELLOW || r.level == TRIAGE_GREEN) && r.department == NULL)
        FAIL("a yellow or green row names the department to see");
    if (r.when.natoms == 0 && r.level != TRIAGE_WHITE)
        FAIL("the default row (when '*') is white");
    if (!text_ok(c[5]) || !text_ok(c[6]) || !text_ok(c[7]))
        FAIL("a text longer than %d bytes", TRIAGE_TEXT_MAX);
    r.reason.ja = c[5];
    r.reason.en = c[6];
    r.source = c[7];
    struct triage_rule *arr =
        arena_array_reserve(l->a, l->rules, l->nrules, &l->cap_rules, sizeof *arr);
    if (arr == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    l->rules = arr;
    mark_used(l, &r.when);
    l->rules[l->nrules++] = r;
    return 0;
}

/* ---- the whole ---- */

static int read_file(const struct triage_file *f, const char *const *header, size_t ncols,
                     triage__row_fn fn, struct loader *l, struct err *e)
{
    l->file = f;
    return triage__tsv_read(f, header, ncols, l->a, fn, l, e);
}

static void version_of(const struct triage_files *f, char out[TRIAGE_VERSION_LEN + 1])
{
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    const struct triage_file *files[] = {&f->questionnaire, &f->options, &f->departments,
                                         &f->rules};
    for (size_t i = 0; i < 4; i++) {
        uint64_t n = files[i]->len;
        crypto_hash_sha256_update(&st, (const unsigned char *)&n, sizeof n);
        crypto_hash_sha256_update(&st, (const unsigned char *)files[i]->text, files[i]->len);
    }
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&st, h);
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < TRIAGE_VERSION_LEN / 2; i++) {
        out[2 * i] = hex[h[i] >> 4];
        out[2 * i + 1] = hex[h[i] & 15];
    }
    out[TRIAGE_VERSION_LEN] = '\0';
}

static int load(const struct triage_files *f, struct loader *l, struct err *e)
{
    static const char *const qh[] = {"linkId", "type", "required", "enable_when",
                                     "min",    "max",  "text_ja",  "text_en"};
    static const char *const oh[] = {"linkId", "code", "text_ja", "text_en"};
    static const char *const dh[] = {"code", "name_ja", "name_en"};
    static const char *const rh[] = {"id",     "when",      "level",     "department",
                                     "online", "reason_ja", "reason_en", "source"};
    struct triage_table *t = l->t;
    int rc = read_file(&f->questionnaire, qh, 8, item_row, l, e);
    if (rc == 0)
        rc = read_file(&f->options, oh, 4, option_row, l, e);
    if (rc != 0)
        return rc;
    if (l->nitems == 0)
        return err_set(e, ERR_INVALID, "%s: no questions", f->questionnaire.name);
    for (size_t i = 0; i < l->nitems; i++) {
        struct triage_item *it = &l->items[i];
        if (it->type == TRIAGE_CHOICE && it->noptions < 2)
            return err_set(e, ERR_INVALID,
                           "%s:%zu: the choice question %s needs at least two "
                           "options in %s",
                           f->questionnaire.name, it->line, it->link_id, f->options.name);
        if (strcmp(l->enable_text[i], "-") == 0)
            continue;
        struct err why = {0};
        /* only earlier questions: the order asked is the order of the file */
        rc = triage__cond_parse(l->enable_text[i], l->items, i, l->a, &it->enable_when, &why);
        if (rc == 0 && it->enable_when.natoms == 0)
            rc = err_set(&why, ERR_INVALID, "enable_when '*' is always: write '-'");
        for (size_t k = 0; rc == 0 && k < it->enable_when.natoms; k++)
            if (it->enable_when.atoms[k].nitems != 1)
                rc = err_set(&why, ERR_INVALID,
                             "one linkId per atom (FHIR enableWhen has no "
                             "'any of')");
        if (rc != 0)
            return err_set(e, rc == ERR_NOMEM ? ERR_NOMEM : ERR_INVALID, "%s:%zu: enable_when: %s",
                           f->questionnaire.name, it->line, why.msg);
    }
    t->items = l->items;
    t->nitems = l->nitems;
    if ((rc = read_file(&f->departments, dh, 3, department_row, l, e)) != 0)
        return rc;
    t->departments = l->deps;
    t->ndepartments = l->ndeps;
    if (t->ndepartments == 0 || triage_department_find(t, "emergency") == NULL)
        return err_set(e, ERR_INVALID, "%s: the department emergency is missing",
                       f->departments.name);
    l->used = arena_zalloc(l->a, l->nitems);
    if (l->used == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < l->nitems; i++)
        mark_used(l, &l->items[i].enable_when);
    if ((rc = read_file(&f->rules, rh, 8, rule_row, l, e)) != 0)
        return rc;
    if (l->nrules == 0 || l->rules[l->nrules - 1].when.natoms != 0)
        return err_set(e, ERR_INVALID, "%s: the last row must be the default (when '*', white)",
                       f->rules.name);
    for (size_t i = 0; i < l->nitems; i++)
        if (!l->used[i])
            return err_set(e, ERR_INVALID, "%s:%zu: %s is asked but no rule or question uses it",
                           f->questionnaire.name, l->items[i].line, l->items[i].link_id);
    for (size_t i = 0; i < l->ndeps; i++) {
        int named = strcmp(l->deps[i].code, "emergency") == 0;
        for (size_t k = 0; k < l->nrules && !named; k++)
            named = l->rules[k].department == &l->deps[i];
        if (!named)
            return err_set(e, ERR_INVALID, "%s: department %s is named by no rule",
                           f->departments.name, l->deps[i].code);
    }
    t->rules = l->rules;
    t->nrules = l->nrules;
    version_of(f, t->version);
    return 0;
}

int triage_table_load(const struct triage_files *f, struct triage_table **out, struct err *e)
{
    *out = NULL;
    struct arena *a = arena_new(64 * 1024);
    struct triage_table *t = a != NULL ? arena_zalloc(a, sizeof *t) : NULL;
    if (t == NULL) {
        arena_free(a);
        return err_set(e, ERR_NOMEM, "out of memory");
    }
    t->a = a;
    struct loader l = {.t = t, .a = a};
    int rc = load(f, &l, e);
    if (rc != 0) {
        arena_free(a);
        return rc;
    }
    *out = t;
    return 0;
}

void triage_table_free(struct triage_table *t)
{
    if (t != NULL)
        arena_free(t->a);
}

/* ---- reading a folder ---- */

static int slurp(const char *dir, const char *name, struct arena *a, struct triage_file *out,
                 struct err *e)
{
    char *path = arena_printf(a, "%s/%s", dir, name);
    if (path == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return err_set(e, ERR_IO, "%s: cannot open", path);
    char *buf = arena_alloc(a, TRIAGE_FILE_MAX + 2);
    size_t n = buf != NULL ? fread(buf, 1, TRIAGE_FILE_MAX + 1, fp) : 0;
    int bad = buf == NULL ? ERR_NOMEM : ferror(fp) ? ERR_IO : 0;
    fclose(fp);
    if (bad != 0)
        return err_set(e, bad, "%s: cannot read", path);
    if (n > TRIAGE_FILE_MAX)
        return err_set(e, ERR_TOOBIG, "%s: larger than %d bytes", path, TRIAGE_FILE_MAX);
    buf[n] = '\0';
    *out = (struct triage_file){path, buf, n};
    return 0;
}

int triage_table_load_dir(const char *dir, struct triage_table **out, struct err *e)
{
    *out = NULL;
    struct arena *a = arena_new(TRIAGE_FILE_MAX);
    if (a == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    struct triage_files f;
    int rc = slurp(dir, "questionnaire.tsv", a, &f.questionnaire, e);
    if (rc == 0)
        rc = slurp(dir, "options.tsv", a, &f.options, e);
    if (rc == 0)
        rc = slurp(dir, "departments.tsv", a, &f.departments, e);
    if (rc == 0)
        rc = slurp(dir, "rules.tsv", a, &f.rules, e);
    if (rc == 0)
        rc = triage_table_load(&f, out, e);
    arena_free(a);
    return rc;
}

/* ---- look-ups ---- */

long triage_item_index(const struct triage_table *t, const char *link_id)
{
    for (size_t i = 0; link_id != NULL && i < t->nitems; i++)
        if (strcmp(t->items[i].link_id, link_id) == 0)
            return (long)i;
    return -1;
}

const struct triage_department *triage_department_find(const struct triage_table *t,
                                                       const char *code)
{
    for (size_t i = 0; code != NULL && i < t->ndepartments; i++)
        if (strcmp(t->departments[i].code, code) == 0)
            return &t->departments[i];
    return NULL;
}

static const char *const level_names[TRIAGE_LEVELS] = {"white", "green", "yellow", "red"};

const char *triage_level_name(enum triage_level l)
{
    return (int)l >= 0 && l < TRIAGE_LEVELS ? level_names[l] : "?";
}

int triage_level_parse(const char *s)
{
    for (int i = 0; s != NULL && i < TRIAGE_LEVELS; i++)
        if (strcmp(s, level_names[i]) == 0)
            return i;
    return -1;
}

/* cond.c - the conditions of the triage tables: "*" or atoms "<linkId>[|<linkId>...]<op><value>"
 * joined by " & ", parsed against the questionnaire's items and their types (internal.h), and
 * evaluated on a set of answers (triage.h). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "services/triage/internal.h"

#define LINK_ID_MAX 64

static const struct {
    const char *text;
    enum triage_op op;
} ops[] = {
    /* two-character operators first */
    {">=", TRIAGE_GE}, {"<=", TRIAGE_LE}, {"!=", TRIAGE_NE},
    {"=", TRIAGE_EQ},  {">", TRIAGE_GT},  {"<", TRIAGE_LT},
};

static int parse_number(const char *s, int integer, struct triage_value *v)
{
    if (s[0] == '\0' || s[0] == '+' || s[0] == ' ')
        return 0;
    char *end = NULL;
    errno = 0;
    if (integer) {
        long long n = strtoll(s, &end, 10);
        if (errno != 0 || end == s || *end != '\0')
            return 0;
        v->i = n;
        v->d = (double)n;
        return 1;
    }
    for (const char *c = s; *c != '\0'; c++)
        if (!((*c >= '0' && *c <= '9') || *c == '.' || *c == '-'))
            return 0; /* no exponents, inf or nan: the table stays readable */
    double d = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !isfinite(d))
        return 0;
    v->d = d;
    return 1;
}

/* The value text of an atom for an item of type type. */
static int parse_value(const char *s, const struct triage_item *it, struct triage_value *v,
                       struct err *e)
{
    memset(v, 0, sizeof *v);
    v->type = it->type;
    switch (it->type) {
    case TRIAGE_BOOLEAN:
        if (strcmp(s, "true") == 0 || strcmp(s, "false") == 0) {
            v->b = s[0] == 't';
            return 0;
        }
        return err_set(e, ERR_INVALID, "%s is a boolean: compare it with true or false",
                       it->link_id);
    case TRIAGE_CHOICE:
        for (size_t i = 0; i < it->noptions; i++)
            if (strcmp(s, it->options[i].code) == 0) {
                v->code = it->options[i].code;
                return 0;
            }
        return err_set(e, ERR_INVALID, "\"%.40s\" is not an option of %s", s, it->link_id);
    case TRIAGE_INTEGER:
    case TRIAGE_DECIMAL:
        if (parse_number(s, it->type == TRIAGE_INTEGER, v))
            return 0;
        return err_set(e, ERR_INVALID, "\"%.40s\" is not %s for %s", s,
                       it->type == TRIAGE_INTEGER ? "an integer" : "a decimal number", it->link_id);
    }
    return err_set(e, ERR_INVALID, "bad type");
}

static long find_item(const struct triage_item *items, size_t nitems, const char *id, size_t n)
{
    for (size_t i = 0; i < nitems; i++)
        if (strlen(items[i].link_id) == n && memcmp(items[i].link_id, id, n) == 0)
            return (long)i;
    return -1;
}

/* One atom text (NUL-terminated, no spaces). */
static int parse_atom(const char *s, const struct triage_item *items, size_t nitems,
                      struct arena *a, struct triage_atom *out, struct err *e)
{
    const char *opat = NULL;
    size_t oplen = 0;
    for (const char *c = s; *c != '\0' && opat == NULL; c++)
        for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
            size_t n = strlen(ops[k].text);
            if (strncmp(c, ops[k].text, n) == 0) {
                opat = c;
                oplen = n;
                out->op = ops[k].op;
                break;
            }
        }
    if (opat == NULL || opat == s)
        return err_set(e, ERR_INVALID, "\"%.60s\": want <linkId><op><value> (op = != >= <= > <)",
                       s);
    const char *value = opat + oplen;
    if (value[0] == '\0')
        return err_set(e, ERR_INVALID, "\"%.60s\": no value after the operator", s);
    for (const char *c = value; *c != '\0'; c++)
        if (*c == '=' || *c == '<' || *c == '>' || *c == '!' || *c == '|')
            return err_set(e, ERR_INVALID, "\"%.60s\": one operator per atom", s);
    size_t *idx = arena_alloc(a, TRIAGE_ANYOF_MAX * sizeof *idx);
    if (idx == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    out->nitems = 0;
    const char *p = s;
    while (p < opat) {
        const char *bar = memchr(p, '|', (size_t)(opat - p));
        const char *stop = bar != NULL ? bar : opat;
        size_t n = (size_t)(stop - p);
        if (n == 0 || n > LINK_ID_MAX)
            return err_set(e, ERR_INVALID, "\"%.60s\": an empty or too long linkId", s);
        long i = find_item(items, nitems, p, n);
        if (i < 0)
            return err_set(e, ERR_INVALID,
                           "\"%.*s\" is not a question of the questionnaire (an enable_when "
                           "names earlier questions only)",
                           (int)n, p);
        if (out->nitems >= TRIAGE_ANYOF_MAX)
            return err_set(e, ERR_INVALID, "more than %d linkIds in one atom", TRIAGE_ANYOF_MAX);
        for (size_t k = 0; k < out->nitems; k++)
            if (idx[k] == (size_t)i)
                return err_set(e, ERR_INVALID, "%s named twice in one atom", items[i].link_id);
        if (out->nitems > 0 && items[idx[0]].type != items[i].type)
            return err_set(e, ERR_INVALID, "the linkIds of one atom must have one type");
        idx[out->nitems++] = (size_t)i;
        p = bar != NULL ? bar + 1 : opat;
        if (bar != NULL && p == opat)
            return err_set(e, ERR_INVALID, "\"%.60s\": an empty linkId", s);
    }
    const struct triage_item *it = &items[idx[0]];
    if ((it->type == TRIAGE_BOOLEAN || it->type == TRIAGE_CHOICE) && out->op != TRIAGE_EQ &&
        out->op != TRIAGE_NE)
        return err_set(e, ERR_INVALID, "%s: only = and != compare a %s", it->link_id,
                       it->type == TRIAGE_BOOLEAN ? "boolean" : "choice");
    out->items = idx;
    /* every linkId of the atom has the first one's type; choice codes must suit each */
    for (size_t k = 0; k < out->nitems; k++) {
        int rc = parse_value(value, &items[idx[k]], &out->value, e);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int triage__cond_parse(const char *text, const struct triage_item *items, size_t nitems,
                       struct arena *a, struct triage_cond *out, struct err *e)
{
    out->atoms = NULL;
    out->natoms = 0;
    if (strcmp(text, "*") == 0)
        return 0;
    struct triage_atom *atoms = arena_zalloc(a, TRIAGE_ATOMS_MAX * sizeof *atoms);
    if (atoms == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    const char *p = text;
    for (;;) {
        const char *amp = strstr(p, " & ");
        size_t n = amp != NULL ? (size_t)(amp - p) : strlen(p);
        if (n == 0)
            return err_set(e, ERR_INVALID, "an empty atom (atoms are joined by \" & \")");
        if (out->natoms >= TRIAGE_ATOMS_MAX)
            return err_set(e, ERR_INVALID, "more than %d atoms", TRIAGE_ATOMS_MAX);
        char *atom = arena_strndup(a, p, n);
        if (atom == NULL)
            return err_set(e, ERR_NOMEM, "out of memory");
        if (strchr(atom, ' ') != NULL || strchr(atom, '&') != NULL || strchr(atom, '*') != NULL)
            return err_set(e, ERR_INVALID,
                           "\"%.60s\": no spaces inside an atom; atoms are joined by \" & \"",
                           atom);
        int rc = parse_atom(atom, items, nitems, a, &atoms[out->natoms], e);
        if (rc != 0)
            return rc;
        out->natoms++;
        if (amp == NULL)
            break;
        p = amp + 3;
    }
    out->atoms = atoms;
    return 0;
}

/* Does answer v satisfy "v op want"? */
static int compare(const struct triage_value *v, enum triage_op op, const struct triage_value *w)
{
    int c;
    switch (v->type) {
    case TRIAGE_BOOLEAN:
        c = (v->b != 0) - (w->b != 0);
        break;
    case TRIAGE_CHOICE:
        c = strcmp(v->code, w->code) != 0;
        break;
    case TRIAGE_INTEGER:
        c = v->i < w->i ? -1 : v->i > w->i;
        break;
    case TRIAGE_DECIMAL:
    default:
        c = v->d < w->d ? -1 : v->d > w->d;
        break;
    }
    switch (op) {
    case TRIAGE_EQ:
        return c == 0;
    case TRIAGE_NE:
        return c != 0;
    case TRIAGE_GE:
        return c >= 0;
    case TRIAGE_LE:
        return c <= 0;
    case TRIAGE_GT:
        return c > 0;
    case TRIAGE_LT:
    default:
        return c < 0;
    }
}

/* Does the k-th item of the atom satisfy it? Not answered: no. */
int triage__atom_item_holds(const struct triage_atom *at, size_t k, const struct triage_answer *ans)
{
    const struct triage_answer *x = &ans[at->items[k]];
    return x->present && x->v.type == at->value.type && compare(&x->v, at->op, &at->value);
}

int triage_cond_holds(const struct triage_cond *c, const struct triage_answer *ans)
{
    for (size_t i = 0; i < c->natoms; i++) {
        const struct triage_atom *at = &c->atoms[i];
        int any = 0;
        for (size_t k = 0; k < at->nitems && !any; k++)
            any = triage__atom_item_holds(at, k, ans);
        if (!any)
            return 0;
    }
    return 1;
}

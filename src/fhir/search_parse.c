/* search_parse.c - parses the name=value pairs of a FHIR search into typed clauses and result
 * parameters, checked against the search parameter table; the paging cursor's format. */
#include "fhir/search_parse.h"

#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/form.h"

/* ---- splitting the query ---- */

int fhir_search_pairs_parse(const char *qs, size_t len, struct arena *a,
                            struct fhir_search_pair **out, size_t *n, struct err *e)
{
    struct fhir_search_pair *pairs = NULL;
    size_t np = 0, cap = 0, i = 0;
    *out = NULL;
    *n = 0;
    while (i < len) {
        size_t start = i;
        while (i < len && qs[i] != '&')
            i++;
        size_t plen = i - start;
        const char *p = qs + start;
        i++; /* past '&' */
        if (plen == 0)
            continue;
        const char *eq = memchr(p, '=', plen);
        size_t nlen = eq != NULL ? (size_t)(eq - p) : plen;
        if (np >= FHIR_SEARCH_PAIRS_MAX)
            return err_set(e, ERR_TOOBIG, "more than %d search parameters", FHIR_SEARCH_PAIRS_MAX);
        if (nlen == 0)
            return err_set(e, ERR_INVALID, "a search parameter without a name");
        struct err de = {0};
        char *name = http_form_decode(p, nlen, FHIR_SEARCH_NAME_MAX, a, &de);
        if (name == NULL)
            return err_set(e, de.code == ERR_NOMEM ? ERR_NOMEM : ERR_INVALID,
                           "a search parameter name is malformed or longer than %d bytes",
                           FHIR_SEARCH_NAME_MAX);
        char *value = eq != NULL
                          ? http_form_decode(eq + 1, plen - nlen - 1, FHIR_SEARCH_VALUE_MAX, a, &de)
                          : arena_strdup(a, "");
        if (value == NULL) {
            int safe = strlen(name) <= 64;
            return err_set(e, de.code == ERR_NOMEM ? ERR_NOMEM : ERR_INVALID,
                           "the value of search parameter %s is malformed or longer than %d "
                           "bytes",
                           safe ? name : "(long name)", FHIR_SEARCH_VALUE_MAX);
        }
        pairs = arena_array_reserve(a, pairs, np, &cap, sizeof *pairs);
        if (pairs == NULL)
            return err_set(e, ERR_NOMEM, "out of memory");
        pairs[np].name = name;
        pairs[np].value = value;
        np++;
    }
    *out = pairs;
    *n = np;
    return 0;
}

/* ---- issues ---- */

struct pctx {
    const char *rtype;
    const struct fhir_search_opts *opt;
    const struct fhir_search_defs *defs;
    struct arena *a;
    struct fhir_search *s;
    struct err *e;
    int nomem;
};

/* A parameter name fit for a message: printable ASCII, at most 64 bytes. */
static const char *safe_name(const char *name)
{
    size_t n = strlen(name);
    if (n > 64)
        return "(a long parameter name)";
    for (size_t i = 0; i < n; i++)
        if (name[i] < 0x20 || name[i] > 0x7e)
            return "(a parameter name with non-ASCII characters)";
    return name;
}

/* Records a problem with parameter name. fatal: refused even in lenient handling. */
static void issue(struct pctx *c, int fatal, const char *code, const char *name, const char *fmt,
                  ...) __attribute__((format(printf, 5, 6)));
static void issue(struct pctx *c, int fatal, const char *code, const char *name, const char *fmt,
                  ...)
{
    struct fhir_search *s = c->s;
    struct fhir_search_issue *is =
        arena_array_reserve(c->a, s->issues, s->nissues, &s->issues_cap, sizeof *is);
    va_list ap;
    if (is == NULL) {
        c->nomem = 1;
        return;
    }
    s->issues = is;
    va_start(ap, fmt);
    char *msg = arena_vprintf(c->a, fmt, ap);
    va_end(ap);
    if (msg == NULL) {
        c->nomem = 1;
        return;
    }
    is[s->nissues].error = fatal || c->opt->strict;
    is[s->nissues].code = code;
    is[s->nissues].param = name != NULL ? safe_name(name) : NULL;
    is[s->nissues].diagnostics = msg;
    s->nissues++;
}

/* ---- values ---- */

size_t fhir_search_prefix(const char *v, enum fhir_prefix *p)
{
    static const char *const names[] = {"eq", "ne", "lt", "gt", "le", "ge", "sa", "eb", "ap"};
    *p = FHIR_PFX_EQ;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strncmp(v, names[i], 2) == 0) {
            *p = (enum fhir_prefix)i;
            return 2;
        }
    return 0;
}

/* Splits v on unescaped sep into pieces with the escapes (\, \| \$ \\) removed. Returns the
 * count, or -1 on a dangling backslash or too many pieces, -2 when out of memory. */
static int split_escaped(struct arena *a, const char *v, char sep, char **out, int max)
{
    size_t len = strlen(v);
    char *buf = arena_alloc(a, len + 1);
    int n = 0;
    size_t o = 0;
    if (buf == NULL)
        return -2;
    out[n++] = buf;
    for (size_t i = 0; i < len; i++) {
        if (v[i] == '\\') {
            if (i + 1 >= len)
                return -1;
            buf[o++] = v[++i];
        } else if (v[i] == sep) {
            buf[o++] = '\0';
            if (n >= max)
                return -1;
            out[n++] = buf + o;
        } else {
            buf[o++] = v[i];
        }
    }
    buf[o] = '\0';
    return n;
}

/* Splits on unescaped sep but keeps the escapes (for a second split). */
static int split_raw(struct arena *a, const char *v, char sep, char **out, int max)
{
    int n = 0;
    const char *start = v;
    for (const char *p = v;; p++) {
        if (*p == '\\' && p[1] != '\0') {
            p++;
            continue;
        }
        if (*p == sep || *p == '\0') {
            if (n >= max)
                return -1;
            if ((out[n++] = arena_strndup(a, start, (size_t)(p - start))) == NULL)
                return -2;
            if (*p == '\0')
                break;
            start = p + 1;
        }
    }
    return n;
}

static char *unescape(struct arena *a, const char *v)
{
    char *one[1];
    return split_escaped(a, v, '\0', one, 1) == 1 ? one[0] : NULL;
}

/* A decimal number as FHIR search writes it; sets the value and its implicit precision range
 * [lo, hi): "100" -> [99.5, 100.5), "1.50" -> [1.495, 1.505), "1e2" -> [50, 150). */
static int parse_number(const char *v, double *num, double *lo, double *hi)
{
    size_t i = 0, nd = 0, frac = 0;
    long exp = 0;
    if (v[i] == '-' || v[i] == '+')
        i++;
    while (v[i] >= '0' && v[i] <= '9')
        i++, nd++;
    if (v[i] == '.') {
        i++;
        while (v[i] >= '0' && v[i] <= '9')
            i++, nd++, frac++;
        if (frac == 0)
            return -1;
    }
    if (nd == 0 || nd > 30)
        return -1;
    if (v[i] == 'e' || v[i] == 'E') {
        char *end;
        i++;
        if (!((v[i] >= '0' && v[i] <= '9') || v[i] == '-' || v[i] == '+'))
            return -1;
        exp = strtol(v + i, &end, 10);
        if (end == v + i || exp > 300 || exp < -300)
            return -1;
        i = (size_t)(end - v);
    }
    if (v[i] != '\0')
        return -1;
    char *end;
    *num = strtod(v, &end);
    if (*end != '\0' || !isfinite(*num))
        return -1;
    double half = 0.5 * pow(10.0, (double)(exp - (long)frac));
    *lo = *num - half;
    *hi = *num + half;
    return 0;
}

static int is_resource_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '.'))
            return 0;
    return 1;
}

static int known_type(struct pctx *c, const char *type)
{
    size_t n;
    return type[0] >= 'A' && type[0] <= 'Z' && c->defs->params(type, &n) != NULL;
}

static int target_ok(const struct fhir_search_param *p, const char *type)
{
    if (p == NULL || p->targets == NULL)
        return 1;
    for (const char *const *t = p->targets; *t != NULL; t++)
        if (strcmp(*t, type) == 0)
            return 1;
    return 0;
}

/* Parses one value v of clause cl into out. Returns 0, or -1 after recording an issue. */
static int parse_value(struct pctx *c, struct fhir_search_clause *cl, const char *v,
                       struct fhir_search_value *out)
{
    memset(out, 0, sizeof *out);
    const char *name = cl->name;
    switch (cl->type) {
    case FHIR_PARAM_DATE: {
        size_t k = fhir_search_prefix(v, &out->prefix);
        char *d = unescape(c->a, v + k);
        for (char *sp = d != NULL ? strchr(d, ' ') : NULL; sp != NULL; sp = strchr(sp, ' '))
            *sp = '+'; /* "+09:00" sent unencoded in a query arrives as " 09:00" */
        if (d == NULL || fhir_date_range(d, strlen(d), &out->lo_ms, &out->hi_ms) != 0) {
            issue(c, 0, "value", name,
                  "search parameter %s: a date value must be [prefix]YYYY[-MM[-DD[Thh:mm[:ss["
                  ".fff]][zone]]]]",
                  safe_name(name));
            return -1;
        }
        if (out->prefix == FHIR_PFX_AP) { /* widen by 10% of the distance to now, 1 day least */
            int64_t dist = llabs(c->opt->now_ms - out->lo_ms) / 10;
            if (dist < 86400000)
                dist = 86400000;
            out->lo_ms = out->lo_ms - dist < FHIR_DATE_MIN ? FHIR_DATE_MIN : out->lo_ms - dist;
            out->hi_ms = out->hi_ms + dist > FHIR_DATE_MAX ? FHIR_DATE_MAX : out->hi_ms + dist;
        }
        return 0;
    }
    case FHIR_PARAM_NUMBER:
    case FHIR_PARAM_QUANTITY: {
        size_t k = fhir_search_prefix(v, &out->prefix);
        char *parts[3];
        int n = cl->type == FHIR_PARAM_QUANTITY ? split_escaped(c->a, v + k, '|', parts, 3)
                                                : split_escaped(c->a, v + k, '\0', parts, 1);
        if (n == -2) {
            c->nomem = 1;
            return -1;
        }
        if ((n != 1 && n != 3) || parse_number(parts[0], &out->num, &out->lo, &out->hi) != 0) {
            issue(c, 0, "value", name,
                  cl->type == FHIR_PARAM_QUANTITY
                      ? "search parameter %s: a quantity must be [prefix]number[|system|code]"
                      : "search parameter %s: a number must be [prefix]decimal",
                  safe_name(name));
            return -1;
        }
        if (n == 3) {
            out->sys = parts[1][0] != '\0' ? FHIR_SYS_GIVEN : FHIR_SYS_ANY;
            out->system = parts[1][0] != '\0' ? parts[1] : NULL;
            out->code = parts[2][0] != '\0' ? parts[2] : NULL;
        }
        return 0;
    }
    case FHIR_PARAM_TOKEN: {
        char *raw[2];
        int n = split_raw(c->a, v, '|', raw, 2);
        if (n == -2) {
            c->nomem = 1;
            return -1;
        }
        char *sys = n == 2 ? unescape(c->a, raw[0]) : NULL;
        char *code = unescape(c->a, raw[n == 2 ? 1 : 0]);
        if (n < 1 || code == NULL || (n == 2 && sys == NULL) ||
            (n == 2 && sys[0] == '\0' && code[0] == '\0')) {
            issue(c, 0, "value", name,
                  "search parameter %s: a token must be code, system|code, |code or system|",
                  safe_name(name));
            return -1;
        }
        if (cl->special == FHIR_SP_ID) {
            if (n != 1 || !is_resource_id(code)) {
                issue(c, 0, "value", name, "search parameter %s: not a resource id",
                      safe_name(name));
                return -1;
            }
            out->text = code;
            return 0;
        }
        out->sys = n == 1 ? FHIR_SYS_ANY : sys[0] == '\0' ? FHIR_SYS_NONE : FHIR_SYS_GIVEN;
        out->system = out->sys == FHIR_SYS_GIVEN ? sys : NULL;
        out->code = code[0] != '\0' ? code : NULL;
        if (out->code == NULL && out->sys != FHIR_SYS_GIVEN) {
            issue(c, 0, "value", name, "search parameter %s: empty token", safe_name(name));
            return -1;
        }
        return 0;
    }
    case FHIR_PARAM_STRING: {
        char *t = unescape(c->a, v);
        if (t != NULL && cl->modifier != FHIR_MOD_EXACT)
            t = fhir_string_norm(t, strlen(t), FHIR_IX_VALUE_MAX, c->a);
        if (t == NULL || t[0] == '\0' || strlen(t) > FHIR_IX_VALUE_MAX) {
            issue(c, 0, "value", name, "search parameter %s: a string value is empty or too long",
                  safe_name(name));
            return -1;
        }
        out->text = t;
        return 0;
    }
    case FHIR_PARAM_URI: {
        char *t = unescape(c->a, v);
        if (t == NULL || t[0] == '\0' || strlen(t) > FHIR_IX_VALUE_MAX) {
            issue(c, 0, "value", name, "search parameter %s: a uri value is empty or too long",
                  safe_name(name));
            return -1;
        }
        out->text = t;
        return 0;
    }
    case FHIR_PARAM_REFERENCE: {
        char *t = unescape(c->a, v);
        if (t == NULL || t[0] == '\0' || strlen(t) > FHIR_IX_VALUE_MAX)
            goto bad_ref;
        if (strstr(t, "://") != NULL || strncmp(t, "urn:", 4) == 0) {
            out->url = t;
            return 0;
        }
        char *slash = strchr(t, '/');
        if (slash != NULL) {
            *slash = '\0';
            char *hist = strchr(slash + 1, '/');
            if (hist != NULL) {
                if (strncmp(hist, "/_history/", 10) != 0)
                    goto bad_ref;
                *hist = '\0';
            }
            if (!known_type(c, t) || !is_resource_id(slash + 1))
                goto bad_ref;
            if (!target_ok(cl->param, t) ||
                (cl->type_modifier != NULL && strcmp(cl->type_modifier, t) != 0)) {
                issue(c, 0, "value", name,
                      "search parameter %s: a reference to a type it does not allow",
                      safe_name(name));
                return -1;
            }
            out->target_type = t;
            out->target_id = slash + 1;
            return 0;
        }
        if (!is_resource_id(t))
            goto bad_ref;
        out->target_id = t;
        if (cl->type_modifier != NULL)
            out->target_type = cl->type_modifier;
        else if (cl->param != NULL && cl->param->targets != NULL && cl->param->targets[0] != NULL &&
                 cl->param->targets[1] == NULL)
            out->target_type = cl->param->targets[0];
        return 0;
    bad_ref:
        issue(c, 0, "value", name,
              "search parameter %s: a reference must be Type/id, id or an absolute URL",
              safe_name(name));
        return -1;
    }
    default:
        issue(c, 0, "not-supported", name, "search parameter %s: its type is not supported",
              safe_name(name));
        return -1;
    }
}

/* ---- filtering parameters ---- */

static int parse_modifier(struct pctx *c, struct fhir_search_clause *cl, const char *mod)
{
    if (mod == NULL)
        return 0;
    if (strcmp(mod, "missing") == 0) {
        cl->modifier = FHIR_MOD_MISSING;
        return 0;
    }
    if (cl->type == FHIR_PARAM_STRING && strcmp(mod, "exact") == 0) {
        cl->modifier = FHIR_MOD_EXACT;
        return 0;
    }
    if (cl->type == FHIR_PARAM_STRING && strcmp(mod, "contains") == 0) {
        cl->modifier = FHIR_MOD_CONTAINS;
        return 0;
    }
    if (cl->type == FHIR_PARAM_TOKEN && cl->special == FHIR_SP_NONE && strcmp(mod, "not") == 0) {
        cl->modifier = FHIR_MOD_NOT;
        return 0;
    }
    if (cl->type == FHIR_PARAM_REFERENCE && known_type(c, mod) && target_ok(cl->param, mod)) {
        cl->modifier = FHIR_MOD_TYPE;
        cl->type_modifier = mod;
        return 0;
    }
    issue(c, 0, "not-supported", cl->name, "search parameter %s: modifier not supported",
          safe_name(cl->name));
    return -1;
}

static void add_clause(struct pctx *c, const char *name, const char *value)
{
    struct fhir_search *s = c->s;
    struct fhir_search_clause cl = {.name = name};
    char *base = arena_strdup(c->a, name), *mod;
    if (base == NULL) {
        c->nomem = 1;
        return;
    }
    if (strchr(base, '.') != NULL || strncmp(base, "_has", 4) == 0) {
        issue(c, 0, "not-supported", name,
              "search parameter %s: chained and _has searches are not "
              "supported",
              safe_name(name));
        return;
    }
    if ((mod = strchr(base, ':')) != NULL)
        *mod++ = '\0';
    if (strcmp(base, "_id") == 0) {
        cl.special = FHIR_SP_ID;
        cl.type = FHIR_PARAM_TOKEN;
    } else if (strcmp(base, "_lastUpdated") == 0) {
        cl.special = FHIR_SP_LASTUPDATED;
        cl.type = FHIR_PARAM_DATE;
    } else {
        cl.param = c->defs->param(c->rtype, base);
        if (cl.param == NULL || cl.param->type == FHIR_PARAM_COMPOSITE ||
            cl.param->type == FHIR_PARAM_SPECIAL) {
            issue(c, 0, "not-supported", name,
                  "search parameter %s is not known or not supported for %s", safe_name(name),
                  c->rtype);
            return;
        }
        cl.type = cl.param->type;
    }
    if (parse_modifier(c, &cl, mod) != 0)
        return;
    if (cl.modifier == FHIR_MOD_MISSING) {
        if (cl.special != FHIR_SP_NONE ||
            (strcmp(value, "true") != 0 && strcmp(value, "false") != 0)) {
            issue(c, 0, "value", name,
                  "search parameter %s: :missing takes true or false "
                  "(and not on _id or _lastUpdated)",
                  safe_name(name));
            return;
        }
        cl.missing = strcmp(value, "true") == 0;
    } else {
        char *raw[FHIR_SEARCH_OR_MAX];
        int n = split_raw(c->a, value, ',', raw, FHIR_SEARCH_OR_MAX);
        if (n == -2) {
            c->nomem = 1;
            return;
        }
        if (n < 0) {
            issue(c, 0, "too-costly", name, "search parameter %s: more than %d values",
                  safe_name(name), FHIR_SEARCH_OR_MAX);
            return;
        }
        cl.values = arena_zalloc(c->a, (size_t)n * sizeof *cl.values);
        if (cl.values == NULL) {
            c->nomem = 1;
            return;
        }
        for (int i = 0; i < n; i++)
            if (parse_value(c, &cl, raw[i], &cl.values[i]) != 0)
                return;
        cl.nvalues = (size_t)n;
    }
    if (s->nclauses >= FHIR_SEARCH_CLAUSES_MAX) {
        issue(c, 0, "too-costly", name, "more than %d search parameters", FHIR_SEARCH_CLAUSES_MAX);
        return;
    }
    s->clauses[s->nclauses++] = cl;
    return;
}

/* ---- result parameters ---- */

static int sortable(enum fhir_param_type t)
{
    return t == FHIR_PARAM_DATE || t == FHIR_PARAM_STRING || t == FHIR_PARAM_TOKEN ||
           t == FHIR_PARAM_NUMBER || t == FHIR_PARAM_QUANTITY || t == FHIR_PARAM_URI;
}

static int parse_sort(struct pctx *c, const char *name, const char *value)
{
    char *keys[FHIR_SEARCH_SORT_MAX];
    struct fhir_search *s = c->s;
    int n = split_raw(c->a, value, ',', keys, FHIR_SEARCH_SORT_MAX);
    if (n == -2)
        return c->nomem = 1, -1;
    if (n < 0 || s->nsorts != 0) {
        issue(c, 0, "too-costly", name, "%s: at most %d sort keys, given once", name,
              FHIR_SEARCH_SORT_MAX);
        return -1;
    }
    struct fhir_search_sort out[FHIR_SEARCH_SORT_MAX];
    for (int i = 0; i < n; i++) {
        struct fhir_search_sort *k = &out[i];
        const char *key = keys[i];
        memset(k, 0, sizeof *k);
        if (key[0] == '-')
            k->desc = 1, key++;
        k->name = key;
        if (strcmp(key, "_id") == 0) {
            k->special = FHIR_SP_ID;
            k->type = FHIR_PARAM_TOKEN;
        } else if (strcmp(key, "_lastUpdated") == 0) {
            k->special = FHIR_SP_LASTUPDATED;
            k->type = FHIR_PARAM_DATE;
        } else if ((k->param = c->defs->param(c->rtype, key)) != NULL && sortable(k->param->type)) {
            k->type = k->param->type;
        } else {
            issue(c, 0, "not-supported", name, "%s: a key is not a sortable parameter of %s", name,
                  c->rtype);
            return -1;
        }
        for (int j = 0; j < i; j++)
            if (strcmp(out[j].name, k->name) == 0) {
                issue(c, 0, "invalid", name, "%s: a key is given twice", name);
                return -1;
            }
    }
    memcpy(s->sorts, out, (size_t)n * sizeof out[0]);
    s->nsorts = (size_t)n;
    return 0;
}

static int parse_include(struct pctx *c, const char *name, const char *value, int rev)
{
    struct fhir_search *s = c->s;
    char *parts[3];
    int n = split_raw(c->a, value, ':', parts, 3);
    size_t *count = rev ? &s->nrevincludes : &s->nincludes;
    struct fhir_search_include inc = {0};
    if (n == -2)
        return c->nomem = 1, -1;
    if (*count >= FHIR_SEARCH_INCLUDES_MAX) {
        issue(c, 0, "too-costly", name, "more than %d %s parameters", FHIR_SEARCH_INCLUDES_MAX,
              name);
        return -1;
    }
    if (n < 2 || !known_type(c, parts[0]) || (!rev && strcmp(parts[0], c->rtype) != 0) ||
        (inc.param = c->defs->param(parts[0], parts[1])) == NULL ||
        inc.param->type != FHIR_PARAM_REFERENCE ||
        (n == 3 && (!known_type(c, parts[2]) || !target_ok(inc.param, parts[2])))) {
        issue(c, 0, "value", name,
              rev ? "%s must be SourceType:param[:TargetType], a reference parameter of a known "
                    "type"
                  : "%s must be Type:param[:TargetType] with Type the searched type and param "
                    "one of its reference parameters",
              name);
        return -1;
    }
    if (rev && n == 2 && !target_ok(inc.param, c->rtype)) {
        issue(c, 0, "value", name, "%s: that parameter never refers to %s", name, c->rtype);
        return -1;
    }
    if (rev && n == 3 && strcmp(parts[2], c->rtype) != 0) {
        issue(c, 0, "value", name, "%s: the target type must be the searched type", name);
        return -1;
    }
    inc.source_type = parts[0];
    inc.target_type = n == 3 ? parts[2] : rev ? c->rtype : NULL;
    (rev ? s->revincludes : s->includes)[(*count)++] = inc;
    return 0;
}

static int element_name_ok(struct pctx *c, const char *el)
{
    size_t n = strlen(el);
    if (n == 0 || n > 64 || el[0] < 'a' || el[0] > 'z')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((el[i] >= 'A' && el[i] <= 'Z') || (el[i] >= 'a' && el[i] <= 'z') ||
              (el[i] >= '0' && el[i] <= '9')))
            return 0;
    return c->defs->has_element == NULL || c->defs->has_element(c->rtype, el);
}

static int parse_elements(struct pctx *c, const char *name, const char *value)
{
    char *els[FHIR_SEARCH_ELEMENTS_MAX];
    int n = split_raw(c->a, value, ',', els, FHIR_SEARCH_ELEMENTS_MAX);
    if (n == -2)
        return c->nomem = 1, -1;
    if (n < 0 || c->s->nelements != 0) {
        issue(c, 0, "too-costly", name, "%s: at most %d names, given once", name,
              FHIR_SEARCH_ELEMENTS_MAX);
        return -1;
    }
    for (int i = 0; i < n; i++)
        if (!element_name_ok(c, els[i])) {
            issue(c, 0, "value", name, "%s: a name is not an element of %s", name, c->rtype);
            return -1;
        }
    const char **list = arena_alloc(c->a, (size_t)n * sizeof *list);
    if (list == NULL)
        return c->nomem = 1, -1;
    for (int i = 0; i < n; i++)
        list[i] = els[i];
    c->s->elements = list;
    c->s->nelements = (size_t)n;
    return 0;
}

static int parse_count(struct pctx *c, const char *name, const char *value, int *seen)
{
    char *end;
    long v = strtol(value, &end, 10);
    if (*seen || value[0] < '0' || value[0] > '9' || *end != '\0' || strlen(value) > 9) {
        issue(c, 0, "value", name, "%s must be a whole number, given once", name);
        return -1;
    }
    *seen = 1;
    if (v == 0) {
        c->s->summary = FHIR_SUMMARY_COUNT;
        c->s->count = 0;
    } else {
        c->s->count = v > FHIR_SEARCH_COUNT_MAX ? FHIR_SEARCH_COUNT_MAX : (int)v;
    }
    return 0;
}

static int parse_enum(struct pctx *c, const char *name, const char *value, const char *const *names,
                      int *out)
{
    for (int i = 0; names[i] != NULL; i++)
        if (strcmp(value, names[i]) == 0) {
            *out = i;
            return 0;
        }
    issue(c, 0, "value", name, "%s: value not supported", name);
    return -1;
}

/* ---- the cursor ---- */

static void query_hash(struct fhir_search *s)
{
    /* order-independent: the sorted "name=value" texts */
    crypto_generichash_state st;
    size_t n = s->nused;
    int used[FHIR_SEARCH_PAIRS_MAX] = {0};
    crypto_generichash_init(&st, NULL, 0, sizeof s->qhash);
    crypto_generichash_update(&st, (const unsigned char *)s->rtype, strlen(s->rtype) + 1);
    for (size_t k = 0; k < n && k < FHIR_SEARCH_PAIRS_MAX; k++) {
        size_t best = SIZE_MAX;
        for (size_t i = 0; i < n && i < FHIR_SEARCH_PAIRS_MAX; i++) {
            if (used[i])
                continue;
            if (best == SIZE_MAX)
                best = i;
            else {
                int cmp = strcmp(s->used[i].name, s->used[best].name);
                if (cmp < 0 || (cmp == 0 && strcmp(s->used[i].value, s->used[best].value) < 0))
                    best = i;
            }
        }
        used[best] = 1;
        crypto_generichash_update(&st, (const unsigned char *)s->used[best].name,
                                  strlen(s->used[best].name) + 1);
        crypto_generichash_update(&st, (const unsigned char *)s->used[best].value,
                                  strlen(s->used[best].value) + 1);
    }
    crypto_generichash_final(&st, s->qhash, sizeof s->qhash);
}

#define MAC_LEN 16

static void cursor_mac(const struct fhir_search *s, const unsigned char *payload, size_t len,
                       unsigned char *mac)
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, s->cursor_key,
                            s->cursor_key != NULL ? FHIR_SEARCH_CURSOR_KEY_LEN : 0, MAC_LEN);
    crypto_generichash_update(&st, s->qhash, sizeof s->qhash);
    crypto_generichash_update(&st, payload, len);
    crypto_generichash_final(&st, mac, MAC_LEN);
}

static enum fhir_cursor_key_type key_type(const struct fhir_search_sort *k)
{
    if (k->special == FHIR_SP_ID)
        return FHIR_CK_TEXT;
    switch (k->type) {
    case FHIR_PARAM_DATE:
        return FHIR_CK_INT;
    case FHIR_PARAM_NUMBER:
    case FHIR_PARAM_QUANTITY:
        return FHIR_CK_REAL;
    default:
        return FHIR_CK_TEXT;
    }
}

/* payload: "1;" nkeys ";" then per key "n;" | "i<int>;" | "d<%.17g>;" | "s<len>:<bytes>",
 * then "<len>:<id>". */
char *fhir_search_cursor_encode(const struct fhir_search *s, const struct fhir_search_cursor *c,
                                struct arena *a)
{
    size_t cap = 64 + strlen(c->id);
    for (size_t i = 0; i < c->nkeys; i++)
        cap +=
            48 + (c->keys[i].type == FHIR_CK_TEXT && !c->keys[i].null ? strlen(c->keys[i].s) : 0);
    unsigned char *buf = arena_alloc(a, cap + MAC_LEN);
    size_t o = 0;
    if (buf == NULL || c->nkeys > FHIR_SEARCH_SORT_MAX)
        return NULL;
#define PUT(...) (o += (size_t)snprintf((char *)buf + o, cap - o, __VA_ARGS__))
    PUT("1;%zu;", c->nkeys);
    for (size_t i = 0; i < c->nkeys; i++) {
        if (c->keys[i].null)
            PUT("n;");
        else if (c->keys[i].type == FHIR_CK_INT)
            PUT("i%lld;", (long long)c->keys[i].i);
        else if (c->keys[i].type == FHIR_CK_REAL)
            PUT("d%.17g;", c->keys[i].d);
        else
            PUT("s%zu:%s", strlen(c->keys[i].s), c->keys[i].s);
    }
    PUT("%zu:%s", strlen(c->id), c->id);
#undef PUT
    if (o >= cap)
        return NULL;
    cursor_mac(s, buf, o, buf + o);
    o += MAC_LEN;
    size_t b64 = sodium_base64_encoded_len(o, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    if (b64 > FHIR_SEARCH_CURSOR_MAX)
        return NULL;
    char *out = arena_alloc(a, b64);
    if (out == NULL)
        return NULL;
    sodium_bin2base64(out, b64, buf, o, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return out;
}

static int read_len_text(const char *p, const char *end, const char **next, struct arena *a,
                         const char **out)
{
    char *colon;
    unsigned long n = strtoul(p, &colon, 10);
    if (p >= end || *p < '0' || *p > '9' || colon >= end || *colon != ':' ||
        n > (unsigned long)(end - colon - 1))
        return -1;
    char *t = arena_strndup(a, colon + 1, n);
    if (t == NULL || strlen(t) != n)
        return -1;
    *out = t;
    *next = colon + 1 + n;
    return 0;
}

static int cursor_decode(struct pctx *c, const char *text)
{
    struct fhir_search *s = c->s;
    size_t tlen = strlen(text), blen;
    unsigned char *bin = arena_alloc(c->a, tlen + 1);
    unsigned char mac[MAC_LEN];
    if (bin == NULL)
        return c->nomem = 1, -1;
    if (tlen > FHIR_SEARCH_CURSOR_MAX ||
        sodium_base642bin(bin, tlen, text, tlen, NULL, &blen, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        blen <= MAC_LEN)
        goto bad;
    blen -= MAC_LEN;
    cursor_mac(s, bin, blen, mac);
    if (sodium_memcmp(mac, bin + blen, MAC_LEN) != 0)
        goto bad;
    bin[blen] = '\0';
    struct fhir_search_cursor *cur = arena_zalloc(c->a, sizeof *cur);
    if (cur == NULL)
        return c->nomem = 1, -1;
    const char *p = (const char *)bin, *end = p + blen;
    char *q;
    if (strncmp(p, "1;", 2) != 0)
        goto bad;
    p += 2;
    unsigned long nk = strtoul(p, &q, 10);
    if (q == p || *q != ';' || nk != s->nsorts)
        goto bad;
    p = q + 1;
    cur->nkeys = nk;
    for (size_t i = 0; i < nk; i++) {
        enum fhir_cursor_key_type t = key_type(&s->sorts[i]);
        cur->keys[i].type = t;
        if (p < end && *p == 'n' && p + 1 < end && p[1] == ';') {
            cur->keys[i].null = 1;
            p += 2;
        } else if (t == FHIR_CK_INT && p < end && *p == 'i') {
            cur->keys[i].i = strtoll(p + 1, &q, 10);
            if (q == p + 1 || *q != ';')
                goto bad;
            p = q + 1;
        } else if (t == FHIR_CK_REAL && p < end && *p == 'd') {
            cur->keys[i].d = strtod(p + 1, &q);
            if (q == p + 1 || *q != ';' || !isfinite(cur->keys[i].d))
                goto bad;
            p = q + 1;
        } else if (t == FHIR_CK_TEXT && p < end && *p == 's') {
            if (read_len_text(p + 1, end, &p, c->a, &cur->keys[i].s) != 0)
                goto bad;
        } else {
            goto bad;
        }
    }
    if (read_len_text(p, end, &p, c->a, &cur->id) != 0 || p != end)
        goto bad;
    s->cursor = cur;
    return 0;
bad:
    issue(c, 1, "invalid", FHIR_SEARCH_CURSOR_PARAM,
          "%s is not a cursor of this search (the other parameters must stay the same)",
          FHIR_SEARCH_CURSOR_PARAM);
    return -1;
}

char *fhir_search_link_query(const struct fhir_search *s, const char *cursor, struct arena *a)
{
    size_t n = s->nused + (cursor != NULL);
    const char **parts = arena_alloc(a, (n + 1) * sizeof *parts);
    size_t total = 1;
    if (parts == NULL)
        return NULL;
    for (size_t i = 0; i < s->nused; i++) {
        char *nm = http_form_encode(s->used[i].name, a), *v = http_form_encode(s->used[i].value, a);
        if (nm == NULL || v == NULL || (parts[i] = arena_printf(a, "%s=%s", nm, v)) == NULL)
            return NULL;
        total += strlen(parts[i]) + 1;
    }
    if (cursor != NULL) {
        if ((parts[s->nused] = arena_printf(a, "%s=%s", FHIR_SEARCH_CURSOR_PARAM, cursor)) == NULL)
            return NULL;
        total += strlen(parts[s->nused]) + 1;
    }
    char *out = arena_alloc(a, total);
    size_t o = 0;
    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(parts[i]);
        if (i > 0)
            out[o++] = '&';
        memcpy(out + o, parts[i], l);
        o += l;
    }
    out[o] = '\0';
    return out;
}

/* ---- the request ---- */

int fhir_search_parse(const char *rtype, const struct fhir_search_pair *pairs, size_t npairs,
                      const struct fhir_search_opts *opt, struct arena *a, struct fhir_search *out,
                      struct err *e)
{
    static const char *const summaries[] = {"false", "count", "true", "text", "data", NULL};
    static const char *const totals[] = {"none", "estimate", "accurate", NULL};
    struct pctx c = {.rtype = rtype, .opt = opt, .defs = opt->defs, .a = a, .s = out, .e = e};
    const char *cursor = NULL;
    int count_seen = 0, summary_seen = 0, total_seen = 0;
    memset(out, 0, sizeof *out);
    out->rtype = rtype;
    out->count = FHIR_SEARCH_COUNT_DEFAULT;
    out->cursor_key = opt->cursor_key;
    size_t n;
    if (opt->defs->params(rtype, &n) == NULL)
        return err_set(e, ERR_INVALID, "unknown resource type");
    if (npairs > FHIR_SEARCH_PAIRS_MAX)
        return err_set(e, ERR_TOOBIG, "more than %d search parameters", FHIR_SEARCH_PAIRS_MAX);
    out->clauses = arena_zalloc(a, FHIR_SEARCH_CLAUSES_MAX * sizeof *out->clauses);
    out->used = arena_alloc(a, (npairs + 1) * sizeof *out->used);
    if (out->clauses == NULL || out->used == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < npairs && !c.nomem; i++) {
        const char *name = pairs[i].name, *value = pairs[i].value;
        size_t before = out->nissues;
        int rc = 0;
        if (value[0] == '\0' || strcmp(name, "_format") == 0 || strcmp(name, "_pretty") == 0)
            continue; /* empty values are ignored (FHIR 3.1.1.5.2); _format: the handler's */
        if (strcmp(name, FHIR_SEARCH_CURSOR_PARAM) == 0) {
            if (cursor != NULL) {
                issue(&c, 1, "invalid", name, "%s given twice", FHIR_SEARCH_CURSOR_PARAM);
                continue;
            }
            cursor = value;
            continue;
        }
        if (strcmp(name, "_count") == 0)
            rc = parse_count(&c, name, value, &count_seen);
        else if (strcmp(name, "_sort") == 0)
            rc = parse_sort(&c, name, value);
        else if (strcmp(name, "_include") == 0)
            rc = parse_include(&c, name, value, 0);
        else if (strcmp(name, "_revinclude") == 0)
            rc = parse_include(&c, name, value, 1);
        else if (strcmp(name, "_elements") == 0)
            rc = parse_elements(&c, name, value);
        else if (strcmp(name, "_summary") == 0) {
            int v = 0;
            if (summary_seen++ || parse_enum(&c, name, value, summaries, &v) != 0)
                rc = -1;
            else if (out->summary != FHIR_SUMMARY_COUNT) /* _count=0 wins */
                out->summary = (enum fhir_search_summary)v;
            if (summary_seen > 1)
                issue(&c, 0, "invalid", name, "_summary given twice");
        } else if (strcmp(name, "_total") == 0) {
            int v = 0;
            if (total_seen++ || parse_enum(&c, name, value, totals, &v) != 0)
                rc = -1;
            else
                out->total = (enum fhir_search_total)(v + 1);
            if (total_seen > 1)
                issue(&c, 0, "invalid", name, "_total given twice");
        } else if (name[0] == '_' && strcmp(name, "_id") != 0 && strncmp(name, "_id:", 4) != 0 &&
                   strncmp(name, "_lastUpdated", 12) != 0 && c.defs->param(rtype, name) == NULL &&
                   strchr(name, ':') == NULL) {
            issue(&c, 0, "not-supported", name, "search parameter %s is not supported",
                  safe_name(name));
            rc = -1;
        } else {
            add_clause(&c, name, value);
        }
        if (rc == 0 && out->nissues == before)
            out->used[out->nused++] = pairs[i];
    }
    if (c.nomem)
        return err_set(e, ERR_NOMEM, "out of memory parsing a search");
    if (out->summary == FHIR_SUMMARY_COUNT)
        out->count = 0;
    query_hash(out);
    if (cursor != NULL && out->summary != FHIR_SUMMARY_COUNT)
        cursor_decode(&c, cursor);
    if (c.nomem)
        return err_set(e, ERR_NOMEM, "out of memory parsing a search");
    for (size_t i = 0; i < out->nissues; i++)
        if (out->issues[i].error)
            return err_set(e, ERR_INVALID, "%s", out->issues[i].diagnostics);
    return 0;
}

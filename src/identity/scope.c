/* scope.c - the SMART App Launch v2 scope grammar: parsing scope strings into canonical sets,
 * writing them back, and the allows / subset / intersect checks over them. Pure, no allocation. */
#include "identity/scope.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/utf8.h"

static const char perm_letters[] = "cruds"; /* bit i of perms is perm_letters[i] */

static const struct {
    const char *text;
    enum id_scope_kind kind;
} keywords[] = {
    {"openid", ID_SCOPE_OPENID},
    {"profile", ID_SCOPE_PROFILE},
    {"fhirUser", ID_SCOPE_FHIRUSER},
    {"launch", ID_SCOPE_LAUNCH},
    {"launch/patient", ID_SCOPE_LAUNCH_PATIENT},
    {"launch/encounter", ID_SCOPE_LAUNCH_ENCOUNTER},
    {"offline_access", ID_SCOPE_OFFLINE_ACCESS},
    {"online_access", ID_SCOPE_ONLINE_ACCESS},
};

static const char *const context_names[] = {"patient", "user", "system"};

/* ---- error messages ---------------------------------------------------------------------- */

/* Is c allowed in an OAuth error_description (RFC 6749 section 5.2)? Our messages travel there. */
static int desc_char(unsigned char c)
{
    return c == 0x20 || c == 0x21 || (c >= 0x23 && c <= 0x5B) || (c >= 0x5D && c <= 0x7E);
}

/* Writes t[0..n) for a message: at most ID_SCOPE_MSG_TOKEN_MAX bytes of it, "..." when cut,
 * anything an error_description may not carry (and '%') as %XX. */
static void render_token(const char *t, size_t n, char out[ID_SCOPE_MSG_TOKEN_MAX * 3 + 4])
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    size_t m = n > ID_SCOPE_MSG_TOKEN_MAX ? ID_SCOPE_MSG_TOKEN_MAX : n;
    for (size_t i = 0; i < m; i++) {
        unsigned char c = (unsigned char)t[i];
        if (desc_char(c) && c != '%') {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    if (m < n) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

/* Fills e with "scope '<token>': <reason>" and returns ERR_INVALID. */
__attribute__((format(printf, 4, 5))) static int bad_token(struct err *e, const char *t, size_t n,
                                                           const char *fmt, ...)
{
    char shown[ID_SCOPE_MSG_TOKEN_MAX * 3 + 4];
    char reason[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    render_token(t, n, shown);
    return err_set(e, ERR_INVALID, "scope '%s': %s", shown, reason);
}

/* ---- canonical order --------------------------------------------------------------------- */

/* Where a kind sorts in canonical text: identity, launch, refresh, clinical, then the rest. */
static int kind_rank(enum id_scope_kind k)
{
    switch (k) {
    case ID_SCOPE_OPENID:
        return 0;
    case ID_SCOPE_FHIRUSER:
        return 1;
    case ID_SCOPE_PROFILE:
        return 2;
    case ID_SCOPE_LAUNCH:
        return 3;
    case ID_SCOPE_LAUNCH_PATIENT:
        return 4;
    case ID_SCOPE_LAUNCH_ENCOUNTER:
        return 5;
    case ID_SCOPE_OFFLINE_ACCESS:
        return 6;
    case ID_SCOPE_ONLINE_ACCESS:
        return 7;
    case ID_SCOPE_CLINICAL:
        return 8;
    case ID_SCOPE_OTHER:
        break;
    }
    return 9;
}

static int param_cmp(const struct id_scope_param *a, const struct id_scope_param *b)
{
    int c = strcmp(a->name, b->name);
    return c != 0 ? c : strcmp(a->value, b->value);
}

/* Orders scopes by everything but their permissions: equal keys merge into one scope. */
static int key_cmp(const struct id_scope *a, const struct id_scope *b)
{
    int ra = kind_rank(a->kind), rb = kind_rank(b->kind);
    if (ra != rb)
        return ra < rb ? -1 : 1;
    if (a->kind == ID_SCOPE_OTHER)
        return strcmp(a->text, b->text);
    if (a->kind != ID_SCOPE_CLINICAL)
        return 0;
    const struct id_scope_clinical *x = &a->clinical, *y = &b->clinical;
    if (x->context != y->context)
        return x->context < y->context ? -1 : 1;
    int c = strcmp(x->resource, y->resource);
    if (c != 0)
        return c;
    for (size_t i = 0; i < x->nparams && i < y->nparams; i++) {
        c = param_cmp(&x->params[i], &y->params[i]);
        if (c != 0)
            return c;
    }
    if (x->nparams != y->nparams)
        return x->nparams < y->nparams ? -1 : 1;
    return 0;
}

/* Adds p to the sorted, duplicate-free list params[0..*n). Returns 0, or -1 when full. */
static int params_add(struct id_scope_param *params, size_t *n, const struct id_scope_param *p)
{
    size_t i = 0;
    while (i < *n && param_cmp(&params[i], p) < 0)
        i++;
    if (i < *n && param_cmp(&params[i], p) == 0)
        return 0;
    if (*n == ID_SCOPE_PARAMS_MAX)
        return -1;
    memmove(&params[i + 1], &params[i], (*n - i) * sizeof *params);
    params[i] = *p;
    (*n)++;
    return 0;
}

/* Inserts it at its sorted place in s, or merges it into the scope with the same key (the union
 * of the permissions, v1 if either was: settle_v1() decides at the end). Returns 0, or
 * ERR_TOOBIG when s is full. */
static int set_insert(struct id_scope_set *s, const struct id_scope *it)
{
    size_t i = 0;
    int c = 1;
    while (i < s->n && (c = key_cmp(&s->items[i], it)) < 0)
        i++;
    if (i < s->n && c == 0) {
        if (it->kind == ID_SCOPE_CLINICAL) {
            s->items[i].clinical.perms |= it->clinical.perms;
            s->items[i].clinical.v1 |= it->clinical.v1;
        }
        return 0;
    }
    if (s->n == ID_SCOPE_MAX)
        return ERR_TOOBIG;
    memmove(&s->items[i + 1], &s->items[i], (s->n - i) * sizeof s->items[0]);
    s->items[i] = *it;
    s->n++;
    return 0;
}

/* A merged scope stays v1 when some part was written v1 and the union is still one of the v1
 * words; so the flag does not depend on the order of the parts. */
static void settle_v1(struct id_scope_set *s)
{
    for (size_t i = 0; i < s->n; i++) {
        struct id_scope_clinical *c = &s->items[i].clinical;
        if (c->perms != ID_PERM_V1_READ && c->perms != ID_PERM_V1_WRITE &&
            c->perms != ID_PERM_V1_ALL)
            c->v1 = 0;
    }
}

/* Is every parameter of y also one of x (so x restricts at least as much as y)? */
static int params_within(const struct id_scope_clinical *y, const struct id_scope_clinical *x)
{
    for (size_t i = 0; i < y->nparams; i++) {
        size_t j = 0;
        while (j < x->nparams && param_cmp(&y->params[i], &x->params[j]) != 0)
            j++;
        if (j == x->nparams)
            return 0;
    }
    return 1;
}

/* Does clinical scope y grant permission bit on everything clinical scope x grants it on? */
static int covers_bit(const struct id_scope_clinical *y, const struct id_scope_clinical *x,
                      unsigned bit)
{
    return y->context == x->context && (y->perms & bit) != 0 &&
           (strcmp(y->resource, "*") == 0 || strcmp(y->resource, x->resource) == 0) &&
           params_within(y, x);
}

/* Is each permission of s->items[k] granted by some other clinical scope of s? */
static int covered_by_others(const struct id_scope_set *s, size_t k)
{
    const struct id_scope_clinical *x = &s->items[k].clinical;
    for (unsigned bit = 1; bit <= ID_PERM_S; bit <<= 1) {
        if ((x->perms & bit) == 0)
            continue;
        size_t j = 0;
        while (j < s->n && (j == k || s->items[j].kind != ID_SCOPE_CLINICAL ||
                            !covers_bit(&s->items[j].clinical, x, bit)))
            j++;
        if (j == s->n)
            return 0;
    }
    return 1;
}

/* Drops the clinical scopes whose every permission other scopes grant. "Covers" is a strict
 * order for each permission once equal keys are merged, so every dropped permission is still
 * granted by a scope that stays; deciding all drops first and then removing is therefore safe. */
static void set_reduce(struct id_scope_set *s)
{
    unsigned char drop[ID_SCOPE_MAX] = {0};
    for (size_t k = 0; k < s->n; k++)
        drop[k] = s->items[k].kind == ID_SCOPE_CLINICAL && covered_by_others(s, k);
    size_t o = 0;
    for (size_t k = 0; k < s->n; k++) {
        if (drop[k])
            continue;
        if (o != k)
            s->items[o] = s->items[k];
        o++;
    }
    s->n = o;
}

/* ---- parsing ----------------------------------------------------------------------------- */

/* RFC 6749 section 3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ). */
static int scope_char(unsigned char c)
{
    return c == 0x21 || (c >= 0x23 && c <= 0x5B) || (c >= 0x5D && c <= 0x7E);
}

static int upper(char c)
{
    return c >= 'A' && c <= 'Z';
}

static int alpha(char c)
{
    return upper(c) || (c >= 'a' && c <= 'z');
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Parses "name=value" p[0..n) of token t[0..tn) into out. */
static int parse_param(const char *t, size_t tn, const char *p, size_t n,
                       struct id_scope_param *out, struct err *e)
{
    const char *eq = memchr(p, '=', n);
    if (eq == NULL)
        return bad_token(e, t, tn, "search parameter without '=value'");
    size_t nl = (size_t)(eq - p);
    if (nl == 0)
        return bad_token(e, t, tn, "search parameter without a name");
    if (nl > ID_SCOPE_PNAME_MAX)
        return bad_token(e, t, tn, "search parameter name longer than %d bytes",
                         ID_SCOPE_PNAME_MAX);
    for (size_t i = 0; i < nl; i++) {
        char c = p[i];
        int ok = alpha(c) || c == '_' ||
                 (i > 0 && ((c >= '0' && c <= '9') || c == '-' || c == '.' || c == ':'));
        if (!ok)
            return bad_token(e, t, tn,
                             "search parameter name must match [A-Za-z_][A-Za-z0-9_.:-]*");
    }
    memcpy(out->name, p, nl);
    out->name[nl] = '\0';

    const char *v = eq + 1;
    size_t vn = n - nl - 1, o = 0;
    int high = 0;
    if (vn == 0)
        return bad_token(e, t, tn, "search parameter '%s' without a value", out->name);
    for (size_t i = 0; i < vn; i++) {
        int c = (unsigned char)v[i];
        if (c == '%') {
            int h = i + 2 < vn ? hexval(v[i + 1]) : -1;
            int l = h >= 0 ? hexval(v[i + 2]) : -1;
            if (l < 0)
                return bad_token(e, t, tn, "bad percent-encoding in the value of '%s'", out->name);
            c = h * 16 + l;
            i += 2;
            if (c < 0x20 || c == 0x7F)
                return bad_token(e, t, tn, "control character in the value of '%s'", out->name);
        }
        if (o == ID_SCOPE_PVALUE_MAX)
            return bad_token(e, t, tn, "value of '%s' longer than %d bytes", out->name,
                             ID_SCOPE_PVALUE_MAX);
        high |= c >= 0x80;
        out->value[o++] = (char)c;
    }
    out->value[o] = '\0';
    if (high && !utf8_valid(out->value, o))
        return bad_token(e, t, tn, "value of '%s' is not UTF-8", out->name);
    return 0;
}

/* Parses the permission part p[0..n): "read", "write", "*" (v1) or an in-order subset of
 * "cruds". */
static int parse_perms(const char *t, size_t tn, const char *p, size_t n,
                       struct id_scope_clinical *out, struct err *e)
{
    static const struct {
        const char *word;
        unsigned perms;
    } v1[] = {{"read", ID_PERM_V1_READ}, {"write", ID_PERM_V1_WRITE}, {"*", ID_PERM_V1_ALL}};
    if (n == 0)
        return bad_token(e, t, tn, "no permissions after '.' (want a subset of cruds)");
    for (size_t i = 0; i < sizeof v1 / sizeof v1[0]; i++) {
        if (strlen(v1[i].word) == n && memcmp(v1[i].word, p, n) == 0) {
            out->perms = v1[i].perms;
            out->v1 = 1;
            return 0;
        }
    }
    int last = -1;
    for (size_t i = 0; i < n; i++) {
        const char *at = memchr(perm_letters, p[i], sizeof perm_letters - 1);
        if (at == NULL)
            return bad_token(e, t, tn, "permissions must be read, write, * or letters of cruds");
        int k = (int)(at - perm_letters);
        if (k <= last)
            return bad_token(e, t, tn,
                             "permissions must be in the order c r u d s, each at most once");
        last = k;
        out->perms |= 1u << k;
    }
    return 0;
}

/* Parses a clinical scope t[0..n) whose context name (and '/') takes the first cl bytes. */
static int parse_clinical(const char *t, size_t n, size_t cl, struct id_scope_clinical *out,
                          struct err *e)
{
    const char *r = t + cl, *end = t + n;
    const char *dot = memchr(r, '.', (size_t)(end - r));
    if (dot == NULL)
        return bad_token(e, t, n, "no '.' and permissions after the resource type");
    size_t rl = (size_t)(dot - r);
    if (rl == 0)
        return bad_token(e, t, n, "no resource type (a FHIR type name or *)");
    if (rl > ID_SCOPE_TYPE_MAX)
        return bad_token(e, t, n, "resource type longer than %d bytes", ID_SCOPE_TYPE_MAX);
    if (!(rl == 1 && r[0] == '*')) {
        int ok = upper(r[0]);
        for (size_t i = 1; ok && i < rl; i++)
            ok = alpha(r[i]);
        if (!ok)
            return bad_token(e, t, n, "resource type must be * or match [A-Z][A-Za-z]*");
    }
    memcpy(out->resource, r, rl);
    out->resource[rl] = '\0';

    const char *p = dot + 1;
    const char *q = memchr(p, '?', (size_t)(end - p));
    int rc = parse_perms(t, n, p, (size_t)((q ? q : end) - p), out, e);
    if (rc != 0 || q == NULL)
        return rc;
    if (out->v1)
        return bad_token(e, t, n, "search parameters need v2 permissions (cruds letters)");
    const char *s = q + 1;
    if (s == end)
        return bad_token(e, t, n, "nothing after '?'");
    size_t count = 0;
    for (;;) {
        const char *amp = memchr(s, '&', (size_t)(end - s));
        const char *pe = amp ? amp : end;
        if (pe == s)
            return bad_token(e, t, n, "empty search parameter (stray '&')");
        if (++count > ID_SCOPE_PARAMS_MAX)
            return bad_token(e, t, n, "more than %d search parameters", ID_SCOPE_PARAMS_MAX);
        struct id_scope_param prm;
        rc = parse_param(t, n, s, (size_t)(pe - s), &prm, e);
        if (rc != 0)
            return rc;
        (void)params_add(out->params, &out->nparams, &prm); /* count bounds it */
        if (amp == NULL)
            break;
        s = amp + 1;
    }
    return 0;
}

/* Parses one token t[0..n), n > 0, into out. */
static int parse_token(const char *t, size_t n, struct id_scope *out, struct err *e)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < n; i++) {
        if (!scope_char((unsigned char)t[i]))
            return bad_token(e, t, n, "character 0x%02X is not allowed in a scope",
                             (unsigned char)t[i]);
    }
    for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++) {
        if (strlen(keywords[i].text) == n && memcmp(keywords[i].text, t, n) == 0) {
            out->kind = keywords[i].kind;
            return 0;
        }
    }
    for (int c = ID_SCOPE_PATIENT; c <= ID_SCOPE_SYSTEM; c++) {
        size_t cl = strlen(context_names[c]);
        if (n > cl && memcmp(t, context_names[c], cl) == 0 && t[cl] == '/') {
            out->kind = ID_SCOPE_CLINICAL;
            out->clinical.context = (enum id_scope_context)c;
            return parse_clinical(t, n, cl + 1, &out->clinical, e);
        }
    }
    if (n > ID_SCOPE_OTHER_MAX)
        return bad_token(e, t, n, "unrecognised scope longer than %d bytes", ID_SCOPE_OTHER_MAX);
    out->kind = ID_SCOPE_OTHER;
    memcpy(out->text, t, n);
    out->text[n] = '\0';
    return 0;
}

int id_scope_parse_n(const char *text, size_t len, struct id_scope_set *out, struct err *e)
{
    int rc = 0;
    out->n = 0;
    if (text == NULL)
        len = 0;
    if (len > ID_SCOPE_TEXT_MAX)
        return err_set(e, ERR_INVALID, "scope string longer than %d bytes", ID_SCOPE_TEXT_MAX);
    if (len == 0)
        return 0;
    size_t i = 0, count = 0;
    for (;;) {
        /* i <= len; at len only after a trailing space, which the empty check catches */
        const char *sp = memchr(text + i, ' ', len - i);
        size_t j = sp ? (size_t)(sp - text) : len;
        if (j == i) {
            rc = err_set(e, ERR_INVALID,
                         "empty scope at byte %zu (scopes are separated by exactly one space, "
                         "with none leading or trailing)",
                         i);
            goto out;
        }
        if (++count > ID_SCOPE_MAX) {
            rc = err_set(e, ERR_INVALID, "more than %d scopes", ID_SCOPE_MAX);
            goto out;
        }
        struct id_scope item;
        rc = parse_token(text + i, j - i, &item, e);
        if (rc != 0)
            goto out;
        (void)set_insert(out, &item); /* the count bounds it */
        if (sp == NULL)
            break;
        i = j + 1;
    }
    set_reduce(out);
    settle_v1(out);
out:
    if (rc != 0)
        out->n = 0;
    return rc;
}

int id_scope_parse(const char *text, struct id_scope_set *out, struct err *e)
{
    return id_scope_parse_n(text, text ? strnlen(text, ID_SCOPE_TEXT_MAX + 1) : 0, out, e);
}

/* ---- questions --------------------------------------------------------------------------- */

/* Can a scope of context sc grant access to a resource that lies in where? */
static int context_ok(enum id_scope_context where, enum id_scope_context sc)
{
    if (where == ID_SCOPE_PATIENT)
        return sc == ID_SCOPE_PATIENT || sc == ID_SCOPE_USER;
    return sc == where;
}

/* Does the clinical scope it grant perm on type in where, parameters aside? */
static int grants(const struct id_scope *it, enum id_scope_context where, const char *type,
                  unsigned perm)
{
    return it->kind == ID_SCOPE_CLINICAL && context_ok(where, it->clinical.context) &&
           (it->clinical.perms & perm) != 0 &&
           (strcmp(it->clinical.resource, "*") == 0 || strcmp(it->clinical.resource, type) == 0);
}

static int str_eq_n(const char *s, const char *p, size_t n)
{
    return s != NULL && strlen(s) == n && memcmp(s, p, n) == 0;
}

/* Does fact f match one alternative a[0..n) of a token value ("system|code", "code", "|code",
 * "system|")? */
static int alt_matches(const char *a, size_t n, const struct id_scope_fact *f)
{
    const char *bar = memchr(a, '|', n);
    if (bar == NULL)
        return n > 0 && str_eq_n(f->code, a, n);
    size_t sl = (size_t)(bar - a), cl = n - sl - 1;
    const char *code = bar + 1;
    if (sl == 0 && cl == 0)
        return 0;
    if (sl == 0)
        return (f->system == NULL || f->system[0] == '\0') && str_eq_n(f->code, code, cl);
    if (!str_eq_n(f->system, a, sl))
        return 0;
    return cl == 0 || str_eq_n(f->code, code, cl);
}

/* Is parameter p satisfied by one of the facts? */
static int param_satisfied(const struct id_scope_param *p, const struct id_scope_fact *facts,
                           size_t nfacts)
{
    for (size_t i = 0; i < nfacts; i++) {
        if (facts[i].name == NULL || strcmp(facts[i].name, p->name) != 0)
            continue;
        const char *a = p->value;
        for (;;) {
            const char *comma = strchr(a, ',');
            size_t n = comma ? (size_t)(comma - a) : strlen(a);
            if (alt_matches(a, n, &facts[i]))
                return 1;
            if (comma == NULL)
                break;
            a = comma + 1;
        }
    }
    return 0;
}

static int single_perm(unsigned perm)
{
    return perm != 0 && (perm & (perm - 1)) == 0 && (perm & ~ID_PERM_ALL) == 0;
}

const struct id_scope *id_scope_allows(const struct id_scope_set *s, enum id_scope_context ctx,
                                       const char *resource_type, unsigned perm,
                                       const struct id_scope_fact *facts, size_t nfacts)
{
    if (s == NULL || resource_type == NULL || !single_perm(perm))
        return NULL;
    if (facts == NULL)
        nfacts = 0;
    const struct id_scope *restricted = NULL;
    for (size_t i = 0; i < s->n; i++) {
        const struct id_scope *it = &s->items[i];
        if (!grants(it, ctx, resource_type, perm))
            continue;
        if (it->clinical.nparams == 0)
            return it;
        if (restricted != NULL)
            continue;
        size_t k = 0;
        while (k < it->clinical.nparams && param_satisfied(&it->clinical.params[k], facts, nfacts))
            k++;
        if (k == it->clinical.nparams)
            restricted = it;
    }
    return restricted;
}

const struct id_scope *id_scope_next_grant(const struct id_scope_set *s,
                                           const struct id_scope *prev, enum id_scope_context ctx,
                                           const char *resource_type, unsigned perm)
{
    if (s == NULL || resource_type == NULL || !single_perm(perm))
        return NULL;
    size_t i = prev == NULL ? 0 : (size_t)(prev - s->items) + 1;
    for (; i < s->n; i++) {
        if (grants(&s->items[i], ctx, resource_type, perm))
            return &s->items[i];
    }
    return NULL;
}

const struct id_scope *id_scope_find(const struct id_scope_set *s, enum id_scope_kind kind,
                                     const char *other_text)
{
    if (s == NULL || kind == ID_SCOPE_CLINICAL || (kind == ID_SCOPE_OTHER && other_text == NULL))
        return NULL;
    for (size_t i = 0; i < s->n; i++) {
        const struct id_scope *it = &s->items[i];
        if (it->kind == kind && (kind != ID_SCOPE_OTHER || strcmp(it->text, other_text) == 0))
            return it;
    }
    return NULL;
}

/* ---- canonical text ---------------------------------------------------------------------- */

struct out {
    char *buf;
    size_t size, len;
    int full;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->full || n >= o->size - o->len) {
        o->full = 1;
        return;
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
}

static void puts_(struct out *o, const char *s)
{
    put(o, s, strlen(s));
}

/* Writes a parameter value, percent-encoding what a scope token cannot carry raw and what the
 * parser would read as syntax ('%', '&'). */
static void put_value(struct out *o, const char *v)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *v != '\0'; v++) {
        unsigned char c = (unsigned char)*v;
        if (scope_char(c) && c != '%' && c != '&') {
            put(o, (const char *)&c, 1);
        } else {
            char enc[3] = {'%', hex[c >> 4], hex[c & 15]};
            put(o, enc, 3);
        }
    }
}

static void put_clinical(struct out *o, const struct id_scope_clinical *c, enum id_scope_form form)
{
    puts_(o, context_names[c->context]);
    puts_(o, "/");
    puts_(o, c->resource);
    puts_(o, ".");
    if (form == ID_SCOPE_FORM_KEEP_V1 && c->v1 && c->perms == ID_PERM_V1_READ) {
        puts_(o, "read");
    } else if (form == ID_SCOPE_FORM_KEEP_V1 && c->v1 && c->perms == ID_PERM_V1_WRITE) {
        puts_(o, "write");
    } else if (form == ID_SCOPE_FORM_KEEP_V1 && c->v1 && c->perms == ID_PERM_V1_ALL) {
        puts_(o, "*");
    } else {
        for (unsigned k = 0; k < sizeof perm_letters - 1; k++) {
            if (c->perms & (1u << k))
                put(o, &perm_letters[k], 1);
        }
    }
    for (size_t i = 0; i < c->nparams; i++) {
        puts_(o, i == 0 ? "?" : "&");
        puts_(o, c->params[i].name);
        puts_(o, "=");
        put_value(o, c->params[i].value);
    }
}

int id_scope_format(const struct id_scope_set *s, enum id_scope_form form, char *buf, size_t size)
{
    if (buf == NULL || size == 0)
        return ERR_TOOBIG;
    struct out o = {buf, size, 0, 0};
    for (size_t i = 0; s != NULL && i < s->n; i++) {
        const struct id_scope *it = &s->items[i];
        if (i > 0)
            puts_(&o, " ");
        if (it->kind == ID_SCOPE_CLINICAL) {
            put_clinical(&o, &it->clinical, form);
        } else if (it->kind == ID_SCOPE_OTHER) {
            puts_(&o, it->text);
        } else {
            for (size_t k = 0; k < sizeof keywords / sizeof keywords[0]; k++) {
                if (keywords[k].kind == it->kind)
                    puts_(&o, keywords[k].text);
            }
        }
    }
    if (o.full) {
        buf[0] = '\0';
        return ERR_TOOBIG;
    }
    buf[o.len] = '\0';
    return 0;
}

int id_scope_set_equal(const struct id_scope_set *a, const struct id_scope_set *b)
{
    if (a->n != b->n)
        return 0;
    for (size_t i = 0; i < a->n; i++) {
        const struct id_scope *x = &a->items[i], *y = &b->items[i];
        if (x->kind != y->kind || key_cmp(x, y) != 0)
            return 0;
        if (x->kind == ID_SCOPE_CLINICAL &&
            (x->clinical.perms != y->clinical.perms || x->clinical.v1 != y->clinical.v1))
            return 0;
    }
    return 1;
}

/* ---- narrowing --------------------------------------------------------------------------- */

int id_scope_subset(const struct id_scope_set *requested, const struct id_scope_set *allowed,
                    const struct id_scope **uncovered)
{
    if (uncovered != NULL)
        *uncovered = NULL;
    for (size_t i = 0; i < requested->n; i++) {
        const struct id_scope *r = &requested->items[i];
        int ok = 1;
        if (r->kind != ID_SCOPE_CLINICAL) {
            ok = id_scope_find(allowed, r->kind, r->text) != NULL;
        } else {
            for (unsigned bit = 1; ok && bit <= ID_PERM_S; bit <<= 1) {
                if ((r->clinical.perms & bit) == 0)
                    continue;
                size_t j = 0;
                while (j < allowed->n &&
                       (allowed->items[j].kind != ID_SCOPE_CLINICAL ||
                        !covers_bit(&allowed->items[j].clinical, &r->clinical, bit)))
                    j++;
                ok = j < allowed->n;
            }
        }
        if (!ok) {
            if (uncovered != NULL)
                *uncovered = r;
            return 0;
        }
    }
    return 1;
}

/* out = what clinical scopes x and y both grant. Returns 1, or 0 when that is nothing (or needs
 * more parameters than a scope holds). */
static int meet(const struct id_scope_clinical *x, const struct id_scope_clinical *y,
                struct id_scope *out)
{
    if (x->context != y->context)
        return 0;
    const char *type;
    if (strcmp(x->resource, "*") == 0)
        type = y->resource;
    else if (strcmp(y->resource, "*") == 0 || strcmp(x->resource, y->resource) == 0)
        type = x->resource;
    else
        return 0;
    unsigned perms = x->perms & y->perms;
    if (perms == 0)
        return 0;
    memset(out, 0, sizeof *out);
    struct id_scope_clinical *c = &out->clinical;
    out->kind = ID_SCOPE_CLINICAL;
    c->context = x->context;
    memcpy(c->resource, type, strlen(type) + 1);
    c->perms = perms;
    c->v1 = x->v1 && perms == x->perms;
    for (size_t i = 0; i < x->nparams; i++)
        (void)params_add(c->params, &c->nparams, &x->params[i]);
    for (size_t i = 0; i < y->nparams; i++) {
        if (params_add(c->params, &c->nparams, &y->params[i]) != 0)
            return 0;
    }
    return 1;
}

/* set_insert, making room by reducing once when the set is full. */
static int insert_reducing(struct id_scope_set *s, const struct id_scope *it)
{
    if (set_insert(s, it) == 0)
        return 0;
    set_reduce(s);
    return set_insert(s, it);
}

int id_scope_intersect(const struct id_scope_set *a, const struct id_scope_set *b,
                       struct id_scope_set *out, struct err *e)
{
    out->n = 0;
    for (size_t i = 0; i < a->n; i++) {
        const struct id_scope *x = &a->items[i];
        if (x->kind != ID_SCOPE_CLINICAL) {
            if (id_scope_find(b, x->kind, x->text) != NULL && insert_reducing(out, x) != 0)
                goto toobig;
            continue;
        }
        for (size_t j = 0; j < b->n; j++) {
            struct id_scope m;
            if (b->items[j].kind == ID_SCOPE_CLINICAL &&
                meet(&x->clinical, &b->items[j].clinical, &m) && insert_reducing(out, &m) != 0)
                goto toobig;
        }
    }
    set_reduce(out);
    settle_v1(out);
    return 0;
toobig:
    out->n = 0;
    return err_set(e, ERR_TOOBIG, "the common scopes number more than %d", ID_SCOPE_MAX);
}

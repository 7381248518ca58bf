/* index_rows.c - turns a FHIR resource into the rows of the search index tables by walking each
 * search parameter's member paths and converting what it finds per parameter type. */
#include "fhir/index_rows.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define PATH_SEGMENT_MAX 128
#define WALK_DEPTH_MAX   16

static const char *const tables[FHIR_IX_KINDS] = {
    "fhir_ix_token",  "fhir_ix_date",     "fhir_ix_ref", "fhir_ix_string",
    "fhir_ix_number", "fhir_ix_quantity", "fhir_ix_uri",
};

const char *fhir_ix_table(enum fhir_ix_kind kind)
{
    return (unsigned)kind < FHIR_IX_KINDS ? tables[kind] : NULL;
}

/* ---- dates ---- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
    static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return dm[m - 1];
}

/* Reads exactly n digits at s[*i]; returns the number or -1. */
static int digits(const char *s, size_t len, size_t *i, int n)
{
    int v = 0;
    for (int k = 0; k < n; k++) {
        if (*i >= len || s[*i] < '0' || s[*i] > '9')
            return -1;
        v = v * 10 + (s[*i] - '0');
        (*i)++;
    }
    return v;
}

static int expect(const char *s, size_t len, size_t *i, char c)
{
    if (*i >= len || s[*i] != c)
        return 0;
    (*i)++;
    return 1;
}

int fhir_date_range(const char *s, size_t len, int64_t *lo, int64_t *hi)
{
    size_t i = 0;
    int y = digits(s, len, &i, 4), mo = 1, d = 1, h = 0, mi = 0, sec = 0, ms = 0;
    int64_t span; /* ms covered beyond the start, for the precision given */
    if (y < 1)
        return ERR_INVALID;
    if (i == len) {
        int64_t start = days_from_civil(y, 1, 1) * 86400000LL;
        *lo = start;
        *hi = days_from_civil(y + 1, 1, 1) * 86400000LL - 1;
        return 0;
    }
    if (!expect(s, len, &i, '-') || (mo = digits(s, len, &i, 2)) < 1 || mo > 12)
        return ERR_INVALID;
    if (i == len) {
        *lo = days_from_civil(y, mo, 1) * 86400000LL;
        *hi = *lo + (int64_t)days_in_month(y, mo) * 86400000LL - 1;
        return 0;
    }
    if (!expect(s, len, &i, '-') || (d = digits(s, len, &i, 2)) < 1 || d > days_in_month(y, mo))
        return ERR_INVALID;
    if (i == len) {
        *lo = days_from_civil(y, mo, d) * 86400000LL;
        *hi = *lo + 86400000LL - 1;
        return 0;
    }
    if (!expect(s, len, &i, 'T') || (h = digits(s, len, &i, 2)) < 0 || h > 23 ||
        !expect(s, len, &i, ':') || (mi = digits(s, len, &i, 2)) < 0 || mi > 59)
        return ERR_INVALID;
    span = 60000 - 1;
    if (expect(s, len, &i, ':')) {
        if ((sec = digits(s, len, &i, 2)) < 0 || sec > 60)
            return ERR_INVALID;
        if (sec == 60) /* a leap second: held as the last ms of the minute */
            sec = 59;
        span = 1000 - 1;
        if (expect(s, len, &i, '.')) {
            int nd = 0, scale = 100;
            while (i < len && s[i] >= '0' && s[i] <= '9') {
                if (nd < 3) {
                    ms += (s[i] - '0') * scale;
                    scale /= 10;
                }
                nd++;
                i++;
                if (nd > 9)
                    return ERR_INVALID;
            }
            if (nd == 0)
                return ERR_INVALID;
            span = nd == 1 ? 99 : nd == 2 ? 9 : 0;
        }
    }
    int64_t off_ms = 0;
    if (i < len && s[i] == 'Z') {
        i++;
    } else if (i < len && (s[i] == '+' || s[i] == '-')) {
        int sign = s[i] == '-' ? -1 : 1;
        i++;
        int oh = digits(s, len, &i, 2), om;
        if (oh < 0 || oh > 14 || !expect(s, len, &i, ':') || (om = digits(s, len, &i, 2)) < 0 ||
            om > 59 || (oh == 14 && om != 0))
            return ERR_INVALID;
        off_ms = sign * ((int64_t)oh * 3600000 + (int64_t)om * 60000);
    } /* else: no zone given, taken as UTC */
    if (i != len)
        return ERR_INVALID;
    int64_t t = days_from_civil(y, mo, d) * 86400000LL + (int64_t)h * 3600000 +
                (int64_t)mi * 60000 + (int64_t)sec * 1000 + ms - off_ms;
    *lo = t;
    *hi = t + span;
    if (*lo < FHIR_DATE_MIN)
        *lo = FHIR_DATE_MIN;
    if (*hi > FHIR_DATE_MAX)
        *hi = FHIR_DATE_MAX;
    return *lo <= *hi ? 0 : ERR_INVALID;
}

/* ---- strings ---- */

/* U+00C0..U+00FF folded: a letter, '.' kept as is, '1' "ae", '2' "ss". */
static const char latin1_fold[] =
    "aaaaaa1ceeeeiiiidnooooo.ouuuuy.2aaaaaa1ceeeeiiiidnooooo.ouuuuy.y";
/* U+0100..U+017F folded to the base letter. */
static const char latin_a_fold[] =
    "aaaaaaccccccccddddeeeeeeeeeegggggggghhhhiiiiiiiiiiiijjkkkllllllll"
    "llnnnnnnnnnoooooooorrrrrrssssssssttttttuuuuuuuuuuuuwwyyyzzzzzzs";
_Static_assert(sizeof latin1_fold == 65, "latin1 fold table");
_Static_assert(sizeof latin_a_fold == 129, "latin extended-a fold table");

/* Decodes one code point of valid-looking UTF-8 at s[*i]; -1 on a bad sequence. */
static long utf8_next(const unsigned char *s, size_t len, size_t *i)
{
    unsigned c = s[*i];
    size_t n;
    long cp;
    if (c < 0x80) {
        (*i)++;
        return c;
    } else if (c >= 0xC2 && c <= 0xDF) {
        n = 1, cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 2, cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 3, cp = c & 0x07;
    } else {
        return -1;
    }
    if (*i + n >= len)
        return -1;
    for (size_t k = 1; k <= n; k++) {
        if ((s[*i + k] & 0xC0) != 0x80)
            return -1;
        cp = (cp << 6) | (s[*i + k] & 0x3F);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return -1;
    *i += n + 1;
    return cp;
}

char *fhir_string_norm(const char *s, size_t len, size_t max, struct arena *a)
{
    char *out = arena_alloc(a, (len < max ? len : max) + 1);
    size_t o = 0, i = 0;
    if (out == NULL)
        return NULL;
    while (i < len) {
        size_t at = i;
        long cp = utf8_next((const unsigned char *)s, len, &i);
        char rep[3] = {0};
        if (cp < 0)
            return NULL;
        if (cp == 0)
            return NULL;
        if (cp >= 0xFF01 && cp <= 0xFF5E)
            cp -= 0xFF01 - 0x21; /* full-width ASCII */
        else if (cp == 0x3000)
            cp = ' ';
        if (cp >= 0x300 && cp <= 0x36F)
            continue; /* combining accent */
        if (cp < 0x80) {
            rep[0] = (char)(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp);
        } else if (cp >= 0xC0 && cp <= 0xFF && latin1_fold[cp - 0xC0] != '.') {
            char f = latin1_fold[cp - 0xC0];
            if (f == '1')
                rep[0] = 'a', rep[1] = 'e';
            else if (f == '2')
                rep[0] = 's', rep[1] = 's';
            else
                rep[0] = f;
        } else if (cp >= 0x100 && cp <= 0x17F) {
            rep[0] = latin_a_fold[cp - 0x100];
        }
        const char *src = rep[0] != '\0' ? rep : s + at;
        size_t n = rep[0] != '\0' ? strlen(rep) : i - at;
        if (o + n > max || o + n > len)
            break; /* cut at a character boundary (folding never grows but "ae" may) */
        memcpy(out + o, src, n);
        o += n;
    }
    out[o] = '\0';
    return out;
}

/* ---- extraction ---- */

struct ctx {
    struct arena *a;
    struct fhir_ix_rows *out;
    fhir_search_params_fn params;
    const struct fhir_search_param *p;
    struct err *e;
    int nomem;
};

static struct fhir_ix_row *add_row(struct ctx *c, enum fhir_ix_kind kind)
{
    struct fhir_ix_rows *r = c->out;
    if (r->n >= FHIR_IX_ROWS_MAX) {
        err_set(c->e, ERR_TOOBIG, "more than %d search index rows for one resource",
                FHIR_IX_ROWS_MAX);
        return NULL;
    }
    struct fhir_ix_row *rows = arena_array_reserve(c->a, r->rows, r->n, &r->cap, sizeof *rows);
    if (rows == NULL) {
        err_set(c->e, ERR_NOMEM, "out of memory indexing a resource");
        return NULL;
    }
    r->rows = rows;
    struct fhir_ix_row *row = &rows[r->n++];
    memset(row, 0, sizeof *row);
    row->kind = kind;
    row->param = c->p->name;
    return row;
}

#define ADD(c, kind, row)                                                                          \
    do {                                                                                           \
        if (((row) = add_row((c), (kind))) == NULL)                                                \
            return (c)->e != NULL && (c)->e->code != 0 ? (c)->e->code : ERR_NOMEM;                 \
    } while (0)

/* A usable text: a JSON string without NUL, at most FHIR_IX_VALUE_MAX bytes. */
static const char *text_of(const json_t *v)
{
    if (!json_is_string(v))
        return NULL;
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n == 0 || n > FHIR_IX_VALUE_MAX || strlen(s) != n)
        return NULL;
    return s;
}

static const char *member_text(const json_t *o, const char *name)
{
    return text_of(json_object_get(o, name));
}

static int same_text(const char *a, const char *b)
{
    return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Is (param, system, code) already a token row of this resource? A resource names the same
 * code twice now and then (two codings alike): one row each would return it twice from a
 * search driven by the token index. */
static int token_seen(const struct ctx *c, const char *system, const char *code)
{
    const struct fhir_ix_rows *r = c->out;
    for (size_t i = r->n; i-- > 0;) {
        const struct fhir_ix_row *x = &r->rows[i];
        if (x->kind == FHIR_IX_TOKEN && x->param == c->p->name && same_text(x->code, code) &&
            same_text(x->system, system))
            return 1;
    }
    return 0;
}

static int emit_token(struct ctx *c, const char *system, const char *code, const char *display)
{
    struct fhir_ix_row *row;
    if (code == NULL || token_seen(c, system, code))
        return 0;
    ADD(c, FHIR_IX_TOKEN, row);
    row->system = system;
    row->code = code;
    row->display = display;
    return 0;
}

static int token(struct ctx *c, const json_t *v)
{
    if (json_is_string(v))
        return emit_token(c, NULL, text_of(v), NULL);
    if (json_is_boolean(v))
        return emit_token(c, NULL, json_is_true(v) ? "true" : "false", NULL);
    if (!json_is_object(v))
        return 0;
    const json_t *coding = json_object_get(v, "coding");
    if (json_is_array(coding)) { /* CodeableConcept */
        size_t i;
        const json_t *cd;
        json_array_foreach(coding, i, cd)
        {
            if (!json_is_object(cd))
                continue;
            int rc = emit_token(c, member_text(cd, "system"), member_text(cd, "code"),
                                member_text(cd, "display"));
            if (rc != 0)
                return rc;
        }
        return 0;
    }
    if (json_object_get(v, "code") != NULL) /* Coding (or a Quantity's code) */
        return emit_token(c, member_text(v, "system"), member_text(v, "code"),
                          member_text(v, "display"));
    /* Identifier (system|value) or ContactPoint (its system code|value) */
    return emit_token(c, member_text(v, "system"), member_text(v, "value"), NULL);
}

static int emit_date(struct ctx *c, int64_t lo, int64_t hi)
{
    struct fhir_ix_row *row;
    ADD(c, FHIR_IX_DATE, row);
    row->lo_ms = lo;
    row->hi_ms = hi;
    return 0;
}

static int date(struct ctx *c, const json_t *v)
{
    int64_t lo, hi, lo2, hi2;
    const char *s;
    if ((s = text_of(v)) != NULL)
        return fhir_date_range(s, strlen(s), &lo, &hi) == 0 ? emit_date(c, lo, hi) : 0;
    if (!json_is_object(v))
        return 0;
    const char *start = member_text(v, "start"), *end = member_text(v, "end");
    if (start != NULL || end != NULL) { /* Period */
        lo = FHIR_DATE_MIN, hi = FHIR_DATE_MAX;
        if (start != NULL && fhir_date_range(start, strlen(start), &lo, &hi2) != 0)
            return 0;
        if (end != NULL && fhir_date_range(end, strlen(end), &lo2, &hi) != 0)
            return 0;
        if (end == NULL)
            hi = FHIR_DATE_MAX;
        return lo <= hi ? emit_date(c, lo, hi) : 0;
    }
    const json_t *event = json_object_get(v, "event"); /* Timing */
    if (json_is_array(event)) {
        size_t i;
        const json_t *ev;
        json_array_foreach(event, i, ev)
        {
            if ((s = text_of(ev)) != NULL && fhir_date_range(s, strlen(s), &lo, &hi) == 0) {
                int rc = emit_date(c, lo, hi);
                if (rc != 0)
                    return rc;
            }
        }
    }
    return 0;
}

static int is_id(const char *s, size_t n)
{
    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '.'))
            return 0;
    return 1;
}

static int target_allowed(const struct fhir_search_param *p, const char *type)
{
    if (p->targets == NULL)
        return 1;
    for (const char *const *t = p->targets; *t != NULL; t++)
        if (strcmp(*t, type) == 0)
            return 1;
    return 0;
}

static int reference(struct ctx *c, const json_t *v)
{
    const char *s = json_is_object(v) ? member_text(v, "reference") : text_of(v);
    struct fhir_ix_row *row;
    if (s == NULL || s[0] == '#')
        return 0; /* none, or a contained resource */
    if (strstr(s, "://") != NULL || strncmp(s, "urn:", 4) == 0) {
        ADD(c, FHIR_IX_REF, row);
        row->url = s;
        return 0;
    }
    /* Type/id, optionally followed by /_history/version */
    const char *slash = strchr(s, '/');
    if (slash == NULL)
        return 0;
    const char *id = slash + 1, *end = strchr(id, '/');
    size_t idlen = end != NULL ? (size_t)(end - id) : strlen(id);
    if (end != NULL && strncmp(end, "/_history/", 10) != 0)
        return 0;
    char *type = arena_strndup(c->a, s, (size_t)(slash - s));
    size_t n;
    if (type == NULL)
        return err_set(c->e, ERR_NOMEM, "out of memory indexing a resource");
    if (!is_id(id, idlen) || c->params(type, &n) == NULL || !target_allowed(c->p, type))
        return 0;
    ADD(c, FHIR_IX_REF, row);
    row->target_type = type;
    if ((row->target_id = arena_strndup(c->a, id, idlen)) == NULL)
        return err_set(c->e, ERR_NOMEM, "out of memory indexing a resource");
    return 0;
}

/* A string of any length (a long one is cut, at a character boundary, to the bound: prefix
 * search still finds it). */
static const char *long_text_of(struct ctx *c, const json_t *v)
{
    if (!json_is_string(v))
        return NULL;
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n == 0 || strlen(s) != n)
        return NULL;
    if (n <= FHIR_IX_VALUE_MAX)
        return s;
    n = FHIR_IX_VALUE_MAX;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    const char *cut = arena_strndup(c->a, s, n);
    if (cut == NULL) {
        c->nomem = 1;
        err_set(c->e, ERR_NOMEM, "out of memory indexing a resource");
    }
    return cut;
}

static int emit_string(struct ctx *c, const char *s)
{
    struct fhir_ix_row *row;
    if (s == NULL)
        return c->nomem ? ERR_NOMEM : 0;
    ADD(c, FHIR_IX_STRING, row);
    row->exact = s;
    if ((row->norm = fhir_string_norm(s, strlen(s), FHIR_IX_VALUE_MAX, c->a)) == NULL) {
        c->out->n--; /* not UTF-8 we can fold: leave it out */
        return 0;
    }
    return 0;
}

static int string(struct ctx *c, const json_t *v)
{
    static const char *const parts[] = {"family", "given",      "text",    "prefix",
                                        "suffix", "line",       "city",    "district",
                                        "state",  "postalCode", "country", NULL};
    if (json_is_string(v))
        return emit_string(c, long_text_of(c, v));
    if (!json_is_object(v))
        return 0;
    for (const char *const *p = parts; *p != NULL; p++) {
        const json_t *m = json_object_get(v, *p);
        int rc = 0;
        if (json_is_array(m)) {
            size_t i;
            const json_t *x;
            json_array_foreach(m, i, x)
            {
                if ((rc = emit_string(c, long_text_of(c, x))) != 0)
                    return rc;
            }
        } else if ((rc = emit_string(c, long_text_of(c, m))) != 0) {
            return rc;
        }
    }
    return 0;
}

static int number(struct ctx *c, const json_t *v)
{
    struct fhir_ix_row *row;
    if (!json_is_number(v))
        return 0;
    ADD(c, FHIR_IX_NUMBER, row);
    row->value = json_number_value(v);
    return 0;
}

static int quantity(struct ctx *c, const json_t *v)
{
    struct fhir_ix_row *row;
    const json_t *value = json_object_get(v, "value");
    if (!json_is_object(v) || !json_is_number(value))
        return 0;
    ADD(c, FHIR_IX_QUANTITY, row);
    row->value = json_number_value(value);
    const char *currency = member_text(v, "currency");
    if (currency != NULL) { /* Money */
        row->system = "urn:iso:std:iso:4217";
        row->code = currency;
        return 0;
    }
    row->system = member_text(v, "system");
    row->code = member_text(v, "code");
    row->display = member_text(v, "unit");
    return 0;
}

static int uri(struct ctx *c, const json_t *v)
{
    struct fhir_ix_row *row;
    const char *s = text_of(v);
    if (s == NULL)
        return 0;
    ADD(c, FHIR_IX_URI, row);
    row->uri = s;
    return 0;
}

static int emit(struct ctx *c, const json_t *v)
{
    switch (c->p->type) {
    case FHIR_PARAM_TOKEN:
        return token(c, v);
    case FHIR_PARAM_DATE:
        return date(c, v);
    case FHIR_PARAM_REFERENCE:
        return reference(c, v);
    case FHIR_PARAM_STRING:
        return string(c, v);
    case FHIR_PARAM_NUMBER:
        return number(c, v);
    case FHIR_PARAM_QUANTITY:
        return quantity(c, v);
    case FHIR_PARAM_URI:
        return uri(c, v);
    default:
        return 0;
    }
}

/* Walks path (the rest of a member path) from v, arrays implicitly. */
static int walk(struct ctx *c, const json_t *v, const char *path, int depth)
{
    if (depth > WALK_DEPTH_MAX || v == NULL)
        return 0;
    if (json_is_array(v)) {
        size_t i;
        const json_t *x;
        json_array_foreach(v, i, x)
        {
            if (json_is_array(x))
                continue; /* FHIR has no nested arrays */
            int rc = walk(c, x, path, depth + 1);
            if (rc != 0)
                return rc;
        }
        return 0;
    }
    if (*path == '\0')
        return emit(c, v);
    if (!json_is_object(v))
        return 0;
    const char *dot = strchr(path, '.');
    size_t n = dot != NULL ? (size_t)(dot - path) : strlen(path);
    const char *rest = dot != NULL ? dot + 1 : path + n;
    char seg[PATH_SEGMENT_MAX];
    if (n == 0 || n >= sizeof seg)
        return 0;
    memcpy(seg, path, n);
    seg[n] = '\0';
    if (n > 3 && strcmp(seg + n - 3, "[x]") == 0) {
        size_t bl = n - 3;
        const char *key;
        const json_t *m;
        json_object_foreach((json_t *)v, key, m)
        {
            if (strncmp(key, seg, bl) == 0 && key[bl] >= 'A' && key[bl] <= 'Z') {
                int rc = walk(c, m, rest, depth + 1);
                if (rc != 0)
                    return rc;
            }
        }
        return 0;
    }
    return walk(c, json_object_get(v, seg), rest, depth + 1);
}

/* ---- parameters stored under others' names ---- */

static int indexed_param(const struct fhir_search_param *q)
{
    if (q->paths == NULL || q->paths[0] == NULL || strcmp(q->name, "_id") == 0 ||
        strcmp(q->name, "_lastUpdated") == 0)
        return 0;
    switch (q->type) {
    case FHIR_PARAM_TOKEN:
    case FHIR_PARAM_DATE:
    case FHIR_PARAM_REFERENCE:
    case FHIR_PARAM_STRING:
    case FHIR_PARAM_NUMBER:
    case FHIR_PARAM_QUANTITY:
    case FHIR_PARAM_URI:
        return 1;
    default:
        return 0;
    }
}

static int in_list(const char *s, const char *const *list)
{
    for (; *list != NULL; list++)
        if (strcmp(*list, s) == 0)
            return 1;
    return 0;
}

static size_t list_len(const char *const *list)
{
    size_t n = 0;
    while (list[n] != NULL)
        n++;
    return n;
}

/* Is every entry of a in b? */
static int list_subset(const char *const *a, const char *const *b)
{
    if (a == b)
        return 1;
    for (; *a != NULL; a++)
        if (!in_list(*a, b))
            return 0;
    return 1;
}

#define ALIAS_DEPTH_MAX 8

static int stored_as(const struct fhir_search_param *ps, size_t np,
                     const struct fhir_search_param *p, struct fhir_ix_stored *out, int depth);

/* A reference parameter whose paths are another's and whose targets are among the other's
 * (Observation "patient": "subject" restricted to Patient) is stored as the other. The order
 * (any target, more targets, then the name) makes the relation acyclic. */
static const struct fhir_search_param *ref_alias(const struct fhir_search_param *ps, size_t np,
                                                 const struct fhir_search_param *p, int depth)
{
    if (p->type != FHIR_PARAM_REFERENCE || p->targets == NULL)
        return NULL;
    for (size_t i = 0; i < np; i++) {
        const struct fhir_search_param *q = &ps[i];
        struct fhir_ix_stored ignored;
        if (q == p || q->type != FHIR_PARAM_REFERENCE || !indexed_param(q) ||
            !list_subset(p->paths, q->paths) || !list_subset(q->paths, p->paths))
            continue;
        if (q->targets != NULL &&
            (!list_subset(p->targets, q->targets) ||
             (list_subset(q->targets, p->targets) && strcmp(q->name, p->name) > 0)))
            continue;
        if (stored_as(ps, np, q, &ignored, depth + 1) != 0)
            continue; /* q is stored as a third one, which this loop finds too */
        return q;
    }
    return NULL;
}

static int stored_as(const struct fhir_search_param *ps, size_t np,
                     const struct fhir_search_param *p, struct fhir_ix_stored *out, int depth)
{
    memset(out, 0, sizeof *out);
    if (depth > ALIAS_DEPTH_MAX || !indexed_param(p))
        return 0;
    if (p->type == FHIR_PARAM_REFERENCE) {
        const struct fhir_search_param *q = ref_alias(ps, np, p, depth);
        if (q == NULL)
            return 0;
        out->params[out->n++] = q->name;
        out->targets = p->targets;
        return 1;
    }
    /* a parameter whose paths are the paths of smaller ones of its type together
     * (Observation "combo-code" = "code" + "component-code") */
    size_t pn = list_len(p->paths);
    if (pn < 2)
        return 0;
    for (size_t i = 0; i < np; i++) {
        const struct fhir_search_param *q = &ps[i];
        struct fhir_ix_stored ignored;
        if (q == p || q->type != p->type || !indexed_param(q) || list_len(q->paths) >= pn ||
            !list_subset(q->paths, p->paths) || stored_as(ps, np, q, &ignored, depth + 1) != 0)
            continue;
        if (out->n == FHIR_IX_STORED_MAX) {
            memset(out, 0, sizeof *out);
            return 0;
        }
        out->params[out->n++] = q->name;
    }
    for (const char *const *path = p->paths; *path != NULL; path++) {
        int covered = 0;
        for (size_t k = 0; k < out->n && !covered; k++)
            for (size_t i = 0; i < np && !covered; i++)
                covered = ps[i].name == out->params[k] && in_list(*path, ps[i].paths);
        if (!covered) {
            memset(out, 0, sizeof *out);
            return 0;
        }
    }
    return out->n > 0;
}

int fhir_ix_stored_as(fhir_search_params_fn params, const struct fhir_search_param *p,
                      struct fhir_ix_stored *out)
{
    size_t np = 0;
    const struct fhir_search_param *ps;
    memset(out, 0, sizeof *out);
    if (params != fhir_defs_search_params || p == NULL || p->resource == NULL)
        return 0;
    ps = params(p->resource, &np);
    if (ps == NULL || p < ps || p >= ps + np)
        return 0; /* not one of the definitions' own entries */
    return stored_as(ps, np, p, out, 0);
}

/* The rows of one parameter are made together: drop a row equal to an earlier one of the same
 * parameter (a resource naming one date or reference twice), as search needs it once. */
static int same_row(const struct fhir_ix_row *x, const struct fhir_ix_row *y)
{
    if (x->kind != y->kind || x->param != y->param)
        return 0;
    switch (x->kind) {
    case FHIR_IX_DATE:
        return x->lo_ms == y->lo_ms && x->hi_ms == y->hi_ms;
    case FHIR_IX_REF:
        return same_text(x->target_type, y->target_type) && same_text(x->target_id, y->target_id) &&
               same_text(x->url, y->url);
    case FHIR_IX_STRING:
        return same_text(x->norm, y->norm) && same_text(x->exact, y->exact);
    case FHIR_IX_NUMBER:
        return x->value == y->value;
    case FHIR_IX_QUANTITY:
        return x->value == y->value && same_text(x->system, y->system) &&
               same_text(x->code, y->code) && same_text(x->display, y->display);
    case FHIR_IX_URI:
        return same_text(x->uri, y->uri);
    default: /* tokens are deduplicated as they are made (token_seen) */
        return 0;
    }
}

static void dedupe_from(struct fhir_ix_rows *r, size_t from)
{
    size_t o = from;
    for (size_t i = from; i < r->n; i++) {
        int dup = 0;
        for (size_t j = from; j < o && !dup; j++)
            dup = same_row(&r->rows[j], &r->rows[i]);
        if (!dup)
            r->rows[o++] = r->rows[i];
    }
    r->n = o;
}

/* Which parameters of a type are stored as others, worked out once per thread and type (the
 * definitions are static): the last type's answer is kept. */
#define SKIP_CACHE_MAX 256
static _Thread_local const struct fhir_search_param *skip_ps;
static _Thread_local unsigned char skip_of[SKIP_CACHE_MAX];

static int skipped(fhir_search_params_fn params, const struct fhir_search_param *ps, size_t np,
                   size_t i)
{
    struct fhir_ix_stored st;
    if (params != fhir_defs_search_params || np > SKIP_CACHE_MAX)
        return fhir_ix_stored_as(params, &ps[i], &st);
    if (skip_ps != ps) {
        for (size_t k = 0; k < np; k++)
            skip_of[k] = (unsigned char)fhir_ix_stored_as(params, &ps[k], &st);
        skip_ps = ps;
    }
    return skip_of[i];
}

int fhir_index_rows(const json_t *resource, fhir_search_params_fn params, struct arena *a,
                    struct fhir_ix_rows *out, struct err *e)
{
    memset(out, 0, sizeof *out);
    const char *rtype = json_is_object(resource)
                            ? json_string_value(json_object_get(resource, "resourceType"))
                            : NULL;
    size_t np = 0;
    const struct fhir_search_param *ps = rtype != NULL ? params(rtype, &np) : NULL;
    if (ps == NULL)
        return err_set(e, ERR_INVALID, "not a resource of a known type");
    struct ctx c = {.a = a, .out = out, .params = params, .e = e};
    for (size_t i = 0; i < np; i++) {
        c.p = &ps[i];
        if (c.p->paths == NULL || strcmp(c.p->name, "_id") == 0 ||
            strcmp(c.p->name, "_lastUpdated") == 0)
            continue;
        if (skipped(params, ps, np, i))
            continue; /* its rows are those of the parameters it is stored as */
        size_t from = out->n;
        for (const char *const *path = c.p->paths; *path != NULL; path++) {
            int rc = walk(&c, resource, *path, 0);
            if (rc != 0) {
                if (e != NULL && e->code == 0)
                    err_set(e, rc, "indexing search parameter %s failed", c.p->name);
                return rc;
            }
        }
        if (c.p->type != FHIR_PARAM_TOKEN && out->n - from > 1)
            dedupe_from(out, from);
    }
    return 0;
}

/* ---- writing ---- */

static struct store_value text_or_null(const char *s)
{
    return s != NULL ? STORE_TEXT_V(s) : STORE_NULL_V;
}

/* Columns of each table after (rtype, id, param, n), and how many. */
static const char *const ix_cols[FHIR_IX_KINDS] = {
    "system, code, display, subject",
    "lo_ms, hi_ms",
    "target_type, target_id, url",
    "norm, exact",
    "value",
    "value, system, code, unit",
    "value",
};
static const size_t ix_ncols[FHIR_IX_KINDS] = {4, 2, 3, 2, 1, 4, 1};

#define IX_CHUNK_MAX   8 /* rows per INSERT: 8, 4, 2 or 1 (few distinct statements to cache) */
#define IX_CHUNK_KINDS 4 /* 1, 2, 4, 8 */
#define IX_SQL_MAX     1024

/* "INSERT INTO t (rtype, id, param, n, cols) VALUES (...), (...)" for k rows of kind. */
static int insert_sql(enum fhir_ix_kind kind, size_t k, char *buf, size_t size)
{
    size_t o = 0;
    int w = snprintf(buf, size, "INSERT INTO %s (rtype, id, param, n, %s) VALUES ", tables[kind],
                     ix_cols[kind]);
    if (w < 0 || (size_t)w >= size)
        return ERR_INTERNAL;
    o = (size_t)w;
    for (size_t r = 0; r < k; r++) {
        const char *sep = r > 0 ? ", " : "";
        w = snprintf(buf + o, size - o, "%s(?, ?, ?, ?", sep);
        if (w < 0 || (size_t)w >= size - o)
            return ERR_INTERNAL;
        o += (size_t)w;
        for (size_t c = 0; c < ix_ncols[kind]; c++) {
            int num = (kind == FHIR_IX_NUMBER || kind == FHIR_IX_QUANTITY) && c == 0;
            w = snprintf(buf + o, size - o, "%s", num ? ", CAST(? AS DOUBLE PRECISION)" : ", ?");
            if (w < 0 || (size_t)w >= size - o)
                return ERR_INTERNAL;
            o += (size_t)w;
        }
        if (o + 2 > size)
            return ERR_INTERNAL;
        buf[o++] = ')';
        buf[o] = '\0';
    }
    return 0;
}

/* Appends the values of row r (number n of its table for this resource) to v. num: room for
 * the text of a number. */
static size_t row_values(const struct fhir_ix_row *r, const char *rtype, const char *id,
                         const char *subject, int64_t n, char num[40], struct store_value *v)
{
    size_t nv = 0;
    v[nv++] = STORE_TEXT_V(rtype);
    v[nv++] = STORE_TEXT_V(id);
    v[nv++] = STORE_TEXT_V(r->param);
    v[nv++] = STORE_INT_V(n);
    switch (r->kind) {
    case FHIR_IX_TOKEN:
        v[nv++] = text_or_null(r->system);
        v[nv++] = text_or_null(r->code);
        v[nv++] = text_or_null(r->display);
        v[nv++] = text_or_null(subject);
        break;
    case FHIR_IX_DATE:
        v[nv++] = STORE_INT_V(r->lo_ms);
        v[nv++] = STORE_INT_V(r->hi_ms);
        break;
    case FHIR_IX_REF:
        v[nv++] = text_or_null(r->target_type);
        v[nv++] = text_or_null(r->target_id);
        v[nv++] = text_or_null(r->url);
        break;
    case FHIR_IX_STRING:
        v[nv++] = text_or_null(r->norm);
        v[nv++] = text_or_null(r->exact);
        break;
    case FHIR_IX_NUMBER:
    case FHIR_IX_QUANTITY:
        snprintf(num, 40, "%.17g", r->value);
        v[nv++] = STORE_TEXT_V(num);
        if (r->kind == FHIR_IX_QUANTITY) {
            v[nv++] = text_or_null(r->system);
            v[nv++] = text_or_null(r->code);
            v[nv++] = text_or_null(r->display);
        }
        break;
    case FHIR_IX_URI:
        v[nv++] = text_or_null(r->uri);
        break;
    default:
        break;
    }
    return nv;
}

/* The INSERT texts, made once: [kind][0..3] for 1, 2, 4 and 8 rows ("" if one did not fit). */
static char ix_sql[FHIR_IX_KINDS][IX_CHUNK_KINDS][IX_SQL_MAX];
static pthread_once_t ix_sql_once = PTHREAD_ONCE_INIT;

static void ix_sql_make(void)
{
    for (int kind = 0; kind < FHIR_IX_KINDS; kind++)
        for (size_t c = 0; c < IX_CHUNK_KINDS; c++)
            if (insert_sql((enum fhir_ix_kind)kind, (size_t)1 << c, ix_sql[kind][c], IX_SQL_MAX) !=
                0)
                ix_sql[kind][c][0] = '\0';
}

int fhir_index_rows_insert(struct store_tx *tx, const char *rtype, const char *id,
                           const char *subject, const struct fhir_ix_rows *rows, struct err *e)
{
    pthread_once(&ix_sql_once, ix_sql_make);
    size_t count[FHIR_IX_KINDS] = {0};
    for (size_t i = 0; i < rows->n; i++) {
        if ((unsigned)rows->rows[i].kind >= FHIR_IX_KINDS)
            return err_set(e, ERR_INTERNAL, "bad index row kind");
        count[rows->rows[i].kind]++;
    }
    /* per table, its rows numbered 0, 1, ... (the key's n), written IX_CHUNK_MAX at a time */
    for (int kind = 0; kind < FHIR_IX_KINDS; kind++) {
        size_t next = 0; /* the next row of this kind to look at */
        int64_t n = 0;
        for (;;) {
            const struct fhir_ix_row *chunk[IX_CHUNK_MAX];
            size_t k = 0, avail = count[kind] - (size_t)n;
            if (avail == 0)
                break;
            size_t c = avail >= 8 ? 3 : avail >= 4 ? 2 : avail >= 2 ? 1 : 0, want = (size_t)1 << c;
            for (; next < rows->n && k < want; next++)
                if (rows->rows[next].kind == (enum fhir_ix_kind)kind)
                    chunk[k++] = &rows->rows[next];
            struct store_value v[IX_CHUNK_MAX * 8];
            char num[IX_CHUNK_MAX][40];
            size_t nv = 0;
            for (size_t r = 0; r < k; r++)
                nv += row_values(chunk[r], rtype, id, subject, n++, num[r], v + nv);
            if (ix_sql[kind][c][0] == '\0')
                return err_set(e, ERR_INTERNAL, "index insert statement too long");
            int rc = store_tx_exec(tx, ix_sql[kind][c], v, nv, e);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

int fhir_index_rows_delete(struct store_tx *tx, const char *rtype, const char *id, struct err *e)
{
    static const char *const sql[FHIR_IX_KINDS] = {
        "DELETE FROM fhir_ix_token WHERE rtype = ? AND id = ?",
        "DELETE FROM fhir_ix_date WHERE rtype = ? AND id = ?",
        "DELETE FROM fhir_ix_ref WHERE rtype = ? AND id = ?",
        "DELETE FROM fhir_ix_string WHERE rtype = ? AND id = ?",
        "DELETE FROM fhir_ix_number WHERE rtype = ? AND id = ?",
        "DELETE FROM fhir_ix_quantity WHERE rtype = ? AND id = ?",
        "DELETE FROM fhir_ix_uri WHERE rtype = ? AND id = ?",
    };
    struct store_value v[2] = {STORE_TEXT_V(rtype), STORE_TEXT_V(id)};
    for (int k = 0; k < FHIR_IX_KINDS; k++) {
        int rc = store_tx_exec(tx, sql[k], v, 2, e);
        if (rc < 0)
            return rc;
    }
    return 0;
}

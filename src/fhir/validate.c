/* validate.c - walks a FHIR R4 resource (JSON) along the generated definitions (fhir/defs.h):
 * member names, JSON types, cardinality, choices, bindings, references, contained resources;
 * collects located issues and turns them into an OperationOutcome. */
#include "fhir/validate.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "fhir/defs.h"
#include "fhir/validate_primitive.h"
#include "fhir/validate_rules.h"

#define PATH_MAX_BYTES 512
#define CHOICES_MAX    16

struct vctx {
    struct fhir_issues *out;
    const json_t *contained; /* the "contained" array "#id" references resolve against */
    size_t len;              /* of path */
    char path[PATH_MAX_BYTES];
};

void fhir_issues_init(struct fhir_issues *out, fhir_ref_fn on_ref, void *ctx)
{
    out->n = 0;
    out->dropped = 0;
    out->nerrors = 0;
    out->on_ref = on_ref;
    out->ref_ctx = ctx;
}

void fhir_issues_add(struct fhir_issues *out, enum fhir_severity severity, const char *code,
                     const char *expression, const char *fmt, ...)
{
    if (severity == FHIR_ERROR || severity == FHIR_FATAL)
        out->nerrors++;
    if (out->n >= FHIR_ISSUES_MAX) {
        out->dropped++;
        return;
    }
    struct fhir_issue *is = &out->items[out->n++];
    is->severity = severity;
    is->code = code != NULL ? code : "exception";
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(is->diagnostics, sizeof is->diagnostics, fmt, ap);
    va_end(ap);
    if (w < 0)
        is->diagnostics[0] = '\0';
    is->expression[0] = '\0';
    if (expression != NULL) {
        size_t n = strlen(expression);
        if (n >= sizeof is->expression)
            n = sizeof is->expression - 1;
        memcpy(is->expression, expression, n);
        is->expression[n] = '\0';
    }
}

/* ---- the location ------------------------------------------------------------------------ */

/* Appends ".name" (or "name" at the root) to the path; returns the length to restore. A path
 * that would not fit is cut (the issue keeps the start of the location). */
static void path_append(struct vctx *c, const char *s, size_t n)
{
    if (n > sizeof c->path - 1 - c->len)
        n = sizeof c->path - 1 - c->len;
    memcpy(c->path + c->len, s, n);
    c->len += n;
    c->path[c->len] = '\0';
}

static size_t path_member(struct vctx *c, const char *name)
{
    size_t old = c->len;
    if (c->len > 0)
        path_append(c, ".", 1);
    path_append(c, name, strlen(name));
    return old;
}

static size_t path_index(struct vctx *c, size_t i)
{
    size_t old = c->len;
    char buf[24];
    size_t n = sizeof buf;
    buf[--n] = ']';
    do
        buf[--n] = (char)('0' + i % 10);
    while ((i /= 10) != 0 && n > 1);
    buf[--n] = '[';
    path_append(c, buf + n, sizeof buf - n);
    return old;
}

static void path_restore(struct vctx *c, size_t old)
{
    c->len = old;
    c->path[old] = '\0';
}

#define ISSUE(c, code, ...) fhir_issues_add((c)->out, FHIR_ERROR, code, (c)->path, __VA_ARGS__)

/* ---- primitives ------------------------------------------------------------------------- */

static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        break;
    }
    return "null";
}

static int codes_contain(const char *const *codes, const char *s)
{
    for (; *codes != NULL; codes++)
        if (strcmp(*codes, s) == 0)
            return 1;
    return 0;
}

static void check_primitive(struct vctx *c, const json_t *v, enum fhir_prim k, const char *type,
                            const struct fhir_element *e)
{
    if (k == FHIR_PRIM_BOOLEAN) {
        if (!json_is_boolean(v))
            ISSUE(c, "structure", "boolean expected, found %s", json_kind(v));
        return;
    }
    if (k == FHIR_PRIM_DECIMAL) {
        if (!json_is_number(v))
            ISSUE(c, "structure", "decimal (a JSON number) expected, found %s", json_kind(v));
        return;
    }
    if (k == FHIR_PRIM_INTEGER || k == FHIR_PRIM_POSITIVEINT || k == FHIR_PRIM_UNSIGNEDINT) {
        if (!json_is_integer(v)) {
            ISSUE(c, "structure", "%s (a JSON integer) expected, found %s", type,
                  json_is_real(v) ? "a number with a fraction or exponent" : json_kind(v));
            return;
        }
        json_int_t x = json_integer_value(v);
        json_int_t lo = k == FHIR_PRIM_INTEGER ? INT32_MIN : k == FHIR_PRIM_POSITIVEINT ? 1 : 0;
        if (x < lo || x > INT32_MAX)
            ISSUE(c, "value", "%s out of range (%lld..2147483647)", type, (long long)lo);
        return;
    }
    if (!json_is_string(v)) {
        ISSUE(c, "structure", "%s (a JSON string) expected, found %s", type, json_kind(v));
        return;
    }
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    size_t max = k == FHIR_PRIM_BASE64BINARY ? FHIR_BASE64_MAX_BYTES : FHIR_STRING_MAX_BYTES;
    if (len == 0) {
        ISSUE(c, "value", "empty string: leave the element out instead");
        return;
    }
    if (len > max) {
        ISSUE(c, "too-long", "%s of %zu bytes, more than %zu", type, len, max);
        return;
    }
    if (!fhir_validate__string_ok(k, s, len)) {
        ISSUE(c, "value", "not a valid %s", type);
        return;
    }
    if (e != NULL && e->codes != NULL && !codes_contain(e->codes, s))
        ISSUE(c, "code-invalid", "code not in the required value set of %s", e->name);
}

/* ---- structures ------------------------------------------------------------------------- */

static void check_struct(struct vctx *c, const json_t *v, const struct fhir_struct *s, int depth);
static void check_resource(struct vctx *c, const json_t *v, const char *expect, int depth,
                           int contained);

static const char *split_ref(const char *ref, char *type, size_t type_size, char *id,
                             size_t id_size);

static int resource_type_known(const char *name)
{
    const struct fhir_struct *s = fhir_defs_struct(name);
    return s != NULL && s->is_resource;
}

static int targets_allow(const char *const *targets, const char *type)
{
    return targets == NULL || codes_contain(targets, type);
}

static int contained_has(const json_t *contained, const char *id)
{
    size_t i;
    const json_t *r;
    json_array_foreach(contained, i, r)
    {
        const char *rid = json_string_value(json_object_get(r, "id"));
        if (rid != NULL && strcmp(rid, id) == 0)
            return 1;
    }
    return 0;
}

/* Splits "Type/id" or "Type/id/_history/vid" (the end of ref) into type and id; returns NULL
 * when ref does not end so, else where "Type/" starts. */
static const char *split_ref(const char *ref, char *type, size_t type_size, char *id,
                             size_t id_size)
{
    size_t len = strlen(ref);
    const char *end = ref + len;
    const char *h = NULL;
    /* ".../_history/vid": drop it after checking vid */
    for (const char *p = ref; (p = strstr(p, "/_history/")) != NULL; p++)
        h = p;
    if (h != NULL) {
        const char *vid = h + strlen("/_history/");
        if (!fhir_primitive_string_ok("id", vid, (size_t)(end - vid)))
            return NULL;
        end = h;
    }
    const char *slash = NULL;
    for (const char *p = end; p > ref; p--)
        if (p[-1] == '/') {
            slash = p - 1;
            break;
        }
    if (slash == NULL)
        return NULL;
    const char *id_start = slash + 1;
    const char *type_start = slash;
    while (type_start > ref && type_start[-1] != '/')
        type_start--;
    size_t tl = (size_t)(slash - type_start), il = (size_t)(end - id_start);
    if (tl == 0 || tl >= type_size || il >= id_size ||
        !fhir_primitive_string_ok("id", id_start, il))
        return NULL;
    memcpy(type, type_start, tl);
    type[tl] = '\0';
    memcpy(id, id_start, il);
    id[il] = '\0';
    return type_start;
}

static void check_reference(struct vctx *c, const json_t *v, const struct fhir_element *e)
{
    const char *ref = json_string_value(json_object_get(v, "reference"));
    if (ref == NULL)
        return; /* a logical reference (identifier) or display only */
    size_t old = path_member(c, "reference");
    struct fhir_ref r;
    memset(&r, 0, sizeof r);
    r.reference = ref;
    r.targets = e->targets;
    if (ref[0] == '#') {
        if (ref[1] != '\0' && (c->contained == NULL || !contained_has(c->contained, ref + 1)))
            ISSUE(c, "not-found", "no contained resource with id '%.64s'", ref + 1);
        path_restore(c, old);
        return;
    }
    if (strncmp(ref, "urn:uuid:", 9) == 0 || strncmp(ref, "urn:oid:", 8) == 0) {
        if (!fhir_primitive_string_ok(ref[4] == 'u' ? "uuid" : "oid", ref, strlen(ref))) {
            ISSUE(c, "value", "malformed %s reference", ref[4] == 'u' ? "urn:uuid" : "urn:oid");
            path_restore(c, old);
            return;
        }
        r.kind = FHIR_REF_URN;
    } else if (strstr(ref, "://") != NULL) {
        r.kind = FHIR_REF_ABSOLUTE;
        if (split_ref(ref, r.type, sizeof r.type, r.id, sizeof r.id) == NULL ||
            !resource_type_known(r.type)) {
            r.type[0] = '\0';
            r.id[0] = '\0';
        } else if (!targets_allow(e->targets, r.type)) {
            ISSUE(c, "invalid", "%s may not refer to a %s", e->name, r.type);
            path_restore(c, old);
            return;
        }
    } else {
        r.kind = FHIR_REF_RELATIVE;
        const char *start = split_ref(ref, r.type, sizeof r.type, r.id, sizeof r.id);
        if (start != ref || !resource_type_known(r.type)) {
            ISSUE(c, "value",
                  "a reference is Type/id, Type/id/_history/vid, urn:uuid:..., #id or an "
                  "absolute URL");
            path_restore(c, old);
            return;
        }
        if (!targets_allow(e->targets, r.type)) {
            ISSUE(c, "invalid", "%s may not refer to a %s", e->name, r.type);
            path_restore(c, old);
            return;
        }
    }
    if (c->out->on_ref != NULL) {
        path_restore(c, old);
        r.expression = c->path;
        size_t before = c->out->nerrors;
        if (c->out->on_ref(c->out->ref_ctx, &r, c->out) != 0 && c->out->nerrors == before)
            ISSUE(c, "not-found", "reference not accepted");
        return;
    }
    path_restore(c, old);
}

/* Extension (ext-1): either nested extensions or a value[x], not both, not neither. */
static void check_extension(struct vctx *c, const json_t *v)
{
    int has_ext = json_object_get(v, "extension") != NULL;
    int has_value = 0;
    const char *key;
    const json_t *val;
    json_object_foreach((json_t *)v, key, val)
    {
        if (strncmp(key, "value", 5) == 0 && key[5] >= 'A' && key[5] <= 'Z')
            has_value = 1;
    }
    if (has_ext == has_value)
        ISSUE(c, "structure", "an extension has either a value[x] or nested extensions (ext-1)");
}

/* One value (not an array) of element e of type type. */
static void check_item(struct vctx *c, const json_t *v, const struct fhir_element *e,
                       const char *type, int depth)
{
    if (json_is_null(v)) {
        ISSUE(c, "structure", "null is not a value");
        return;
    }
    enum fhir_prim k = e->backbone == NULL ? fhir_validate__prim(type) : FHIR_PRIM_NONE;
    if (k != FHIR_PRIM_NONE) {
        check_primitive(c, v, k, type, e);
        return;
    }
    if (type[0] == 'R' && strcmp(type, "Resource") == 0) {
        check_resource(c, v, NULL, depth + 1, strcmp(e->name, "contained") == 0);
        return;
    }
    const struct fhir_struct *s = e->backbone != NULL   ? e->backbone
                                  : e->type_def != NULL ? e->type_def
                                                        : fhir_defs_struct(type);
    if (s == NULL) {
        ISSUE(c, "structure", "type %s is not supported", type);
        return;
    }
    if (!json_is_object(v)) {
        ISSUE(c, "structure", "%s (a JSON object) expected, found %s", type, json_kind(v));
        return;
    }
    size_t before = c->out->nerrors;
    check_struct(c, v, s, depth + 1);
    if (c->out->nerrors != before)
        return;
    if (type[0] == 'R' && strcmp(type, "Reference") == 0)
        check_reference(c, v, e);
    else if (type[0] == 'E' && strcmp(type, "Extension") == 0)
        check_extension(c, v);
}

/* The "_name" sibling of a primitive: Element (id, extension), or an array of Element|null
 * as long as the primitive array. */
static void check_primitive_ext(struct vctx *c, const json_t *v, const json_t *value,
                                const struct fhir_element *e, int depth)
{
    const struct fhir_struct *el = fhir_defs_struct("Element");
    if (e->max > 1) {
        if (!json_is_array(v) || json_array_size(v) == 0) {
            ISSUE(c, "structure", "a non-empty array expected");
            return;
        }
        if (value != NULL &&
            (!json_is_array(value) || json_array_size(value) != json_array_size(v))) {
            ISSUE(c, "structure", "must be as long as the array of values it extends");
            return;
        }
        size_t i;
        const json_t *item;
        json_array_foreach(v, i, item)
        {
            if (json_is_null(item))
                continue;
            size_t old = path_index(c, i);
            if (!json_is_object(item))
                ISSUE(c, "structure", "an object or null expected");
            else
                check_struct(c, item, el, depth + 1);
            path_restore(c, old);
        }
        return;
    }
    if (!json_is_object(v))
        ISSUE(c, "structure", "an object expected, found %s", json_kind(v));
    else
        check_struct(c, v, el, depth + 1);
}

/* The "_key" sibling of obj[key]; NULL when none. */
static const json_t *ext_of(const json_t *obj, const char *key)
{
    char k[80];
    int w = snprintf(k, sizeof k, "_%s", key);
    return w > 0 && (size_t)w < sizeof k ? json_object_get(obj, k) : NULL;
}

/* The member key of obj, element e (type type): cardinality, then each value. */
static void check_member(struct vctx *c, const json_t *obj, const char *key, const json_t *v,
                         const struct fhir_element *e, const char *type, int depth)
{
    if (e->max == 0) {
        ISSUE(c, "structure", "%s is not allowed here", key);
        return;
    }
    if (e->max <= 1) {
        if (json_is_array(v))
            ISSUE(c, "structure", "a single value expected, found an array");
        else
            check_item(c, v, e, type, depth);
        return;
    }
    if (!json_is_array(v)) {
        ISSUE(c, "structure", "an array expected (%s repeats), found %s", e->name, json_kind(v));
        return;
    }
    size_t n = json_array_size(v);
    if (n == 0) {
        ISSUE(c, "structure", "empty array: leave the element out instead");
        return;
    }
    if (e->max != FHIR_MAX_UNBOUNDED && n > e->max)
        ISSUE(c, "structure", "at most %u values allowed, found %zu", (unsigned)e->max, n);
    int primitive = e->backbone == NULL && fhir_validate__prim(type) != FHIR_PRIM_NONE;
    size_t i;
    const json_t *item;
    json_array_foreach(v, i, item)
    {
        size_t old = path_index(c, i);
        /* a null stands in for a value that has only an extension ("_given": [null, {...}]) */
        if (!json_is_null(item) || !primitive ||
            !json_is_object(json_array_get(ext_of(obj, key), i)))
            check_item(c, item, e, type, depth);
        path_restore(c, old);
        if (c->out->dropped > 0)
            break; /* enough said */
    }
}

struct choice_seen {
    size_t index;
    const char *type;
};

static void check_struct(struct vctx *c, const json_t *v, const struct fhir_struct *s, int depth)
{
    if (depth > FHIR_VALIDATE_MAX_DEPTH) {
        ISSUE(c, "too-costly", "nested deeper than %d levels", FHIR_VALIDATE_MAX_DEPTH);
        return;
    }
    if (json_object_size(v) == 0) {
        ISSUE(c, "structure", "empty object: leave the element out instead");
        return;
    }
    uint8_t seen[FHIR_DEFS_MAX_ELEMENTS];
    memset(seen, 0, s->nelements < sizeof seen ? s->nelements : sizeof seen);
    struct choice_seen choices[CHOICES_MAX];
    size_t nchoices = 0;
    const char *key;
    const json_t *val;
    json_object_foreach((json_t *)v, key, val)
    {
        if (s->is_resource && strcmp(key, "resourceType") == 0)
            continue;
        int ext = key[0] == '_';
        const char *type = NULL;
        const struct fhir_element *e = fhir_defs_member(s, key + ext, &type);
        size_t old = path_member(c, key);
        if (e == NULL) {
            ISSUE(c, "structure", "unknown element '%.64s' in %s", key, s->name);
            path_restore(c, old);
            continue;
        }
        size_t idx = (size_t)(e - s->elements);
        if (e->choice) {
            size_t k = 0;
            while (k < nchoices && choices[k].index != idx)
                k++;
            if (k < nchoices && strcmp(choices[k].type, type) != 0)
                ISSUE(c, "structure", "only one %s[x] allowed, found %s%s and %s", e->name, e->name,
                      choices[k].type, key);
            else if (k == nchoices && nchoices < CHOICES_MAX)
                choices[nchoices++] = (struct choice_seen){idx, type};
        }
        if (ext) {
            if (e->backbone != NULL || fhir_validate__prim(type) == FHIR_PRIM_NONE)
                ISSUE(c, "structure", "'%.64s': only a primitive element has a '_' sibling", key);
            else
                check_primitive_ext(c, val, json_object_get(v, key + 1), e, depth);
        } else {
            check_member(c, v, key, val, e, type, depth);
        }
        path_restore(c, old);
        if (idx < sizeof seen)
            seen[idx] = 1;
    }
    for (size_t i = 0; i < s->nelements && i < sizeof seen; i++) {
        const struct fhir_element *e = &s->elements[i];
        if (e->min == 0 || seen[i])
            continue;
        char name[80];
        snprintf(name, sizeof name, "%.64s%s", e->name, e->choice ? "[x]" : "");
        size_t old = path_member(c, name);
        ISSUE(c, "required", "%s is required", name);
        path_restore(c, old);
    }
}

static void check_resource(struct vctx *c, const json_t *v, const char *expect, int depth,
                           int contained)
{
    if (!json_is_object(v)) {
        ISSUE(c, "structure", "a resource (a JSON object) expected, found %s", json_kind(v));
        return;
    }
    const char *type = json_string_value(json_object_get(v, "resourceType"));
    const struct fhir_struct *s = fhir_defs_struct(type);
    if (type == NULL) {
        ISSUE(c, "required", "resourceType is required");
        return;
    }
    if (s == NULL || !s->is_resource) {
        ISSUE(c, "invalid", "unknown resourceType '%.64s'", type);
        return;
    }
    if (expect != NULL && strcmp(expect, type) != 0) {
        ISSUE(c, "invalid", "resourceType %s where %.64s was expected", type, expect);
        return;
    }
    if (contained && json_object_get(v, "contained") != NULL) {
        ISSUE(c, "structure", "a contained resource cannot contain resources (dom-2)");
        return;
    }
    size_t old = c->len == 0 ? path_member(c, type) : c->len;
    const json_t *container = c->contained;
    if (!contained)
        c->contained = json_object_get(v, "contained");
    size_t before = c->out->nerrors;
    check_struct(c, v, s, depth);
    if (c->out->nerrors == before)
        fhir_validate__rules(v, type, c->path, c->out);
    c->contained = container;
    path_restore(c, old);
}

int fhir_validate(const json_t *resource, const char *expect_type, struct fhir_issues *out)
{
    struct vctx c;
    c.out = out;
    c.contained = NULL;
    c.len = 0;
    c.path[0] = '\0';
    size_t before = out->nerrors;
    if (resource == NULL)
        fhir_issues_add(out, FHIR_ERROR, "structure", NULL, "no resource");
    else
        check_resource(&c, resource, expect_type, 0, 0);
    return out->nerrors == before ? 0 : ERR_INVALID;
}

/* ---- OperationOutcome ------------------------------------------------------------------- */

static json_t *issue_json(enum fhir_severity sev, const char *code, const char *diag,
                          const char *expr)
{
    json_t *o = fhir_operation_outcome(sev, code, diag);
    json_t *issue = json_array_get(json_object_get(o, "issue"), 0);
    if (issue == NULL) {
        json_decref(o);
        return NULL;
    }
    json_incref(issue);
    json_decref(o);
    if (expr != NULL && expr[0] != '\0') {
        json_t *e = json_pack("[s]", expr);
        if (e == NULL || json_object_set_new(issue, "expression", e) != 0) {
            json_decref(issue);
            return NULL;
        }
    }
    return issue;
}

json_t *fhir_issues_outcome(const struct fhir_issues *in)
{
    json_t *issues = json_array();
    if (issues == NULL)
        return NULL;
    for (size_t i = 0; i < in->n; i++) {
        const struct fhir_issue *is = &in->items[i];
        if (json_array_append_new(
                issues, issue_json(is->severity, is->code, is->diagnostics, is->expression)) != 0)
            goto fail;
    }
    if (in->dropped > 0) {
        char d[96];
        snprintf(d, sizeof d, "%zu more issues not listed", in->dropped);
        if (json_array_append_new(issues, issue_json(FHIR_INFORMATION, "too-costly", d, NULL)) != 0)
            goto fail;
    }
    if (json_array_size(issues) == 0 &&
        json_array_append_new(
            issues, issue_json(FHIR_INFORMATION, "informational", "no issues", NULL)) != 0)
        goto fail;
    json_t *o = json_pack("{s:s, s:o}", "resourceType", "OperationOutcome", "issue", issues);
    return o;
fail:
    json_decref(issues);
    return NULL;
}

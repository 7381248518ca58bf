/* jsonx.c - strict parsing and field validation for JSON received from outside. */
#include "base/jsonx.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/utf8.h"

/* ---- allocation tracking ---- */

static void *(*_Atomic underlying_malloc)(size_t) = malloc;
static _Thread_local unsigned long alloc_failures; /* on this thread, ever */
static pthread_once_t alloc_once = PTHREAD_ONCE_INIT;

static void *tracked_malloc(size_t size)
{
    void *p = atomic_load(&underlying_malloc)(size);
    if (p == NULL)
        alloc_failures++;
    return p;
}

static void install_tracking(void)
{
    json_set_alloc_funcs(tracked_malloc, free);
}

void jsonx_init(void)
{
    pthread_once(&alloc_once, install_tracking);
}

void jsonx_set_malloc(void *(*fn)(size_t))
{
    jsonx_init();
    atomic_store(&underlying_malloc, fn ? fn : malloc);
}

/* ---- parsing ---- */

json_t *jsonx_parse(const char *buf, size_t len, struct err *e)
{
    jsonx_init();
    unsigned long failures = alloc_failures;
    json_error_t je;
    memset(&je, 0, sizeof je);
    json_t *v = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    if (alloc_failures != failures) { /* whatever came back may have lost characters */
        json_decref(v);
        err_set(e, ERR_NOMEM, "out of memory while parsing JSON");
        return NULL;
    }
    if (v == NULL)
        err_set(e, ERR_INVALID, "line %d, column %d: %s", je.line, je.column, je.text);
    return v;
}

int jsonx_only_keys(const json_t *obj, const char *const *allowed, const char *where, struct err *e)
{
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)obj, key, value)
    {
        (void)value;
        int known = 0;
        for (const char *const *a = allowed; *a != NULL && !known; a++)
            known = strcmp(*a, key) == 0;
        if (!known)
            return err_set(e, ERR_INVALID, "%s/%.64s: unknown member", where, key);
    }
    return 0;
}

int jsonx_get_string(const json_t *obj, const char *key, size_t max_chars, const char *where,
                     const char **out, struct err *e)
{
    *out = NULL;
    json_t *v = json_object_get(obj, key);
    if (v == NULL)
        return ERR_NOTFOUND;
    if (!json_is_string(v))
        return err_set(e, ERR_INVALID, "%s/%s: must be a string", where, key);
    const char *s = json_string_value(v);
    size_t chars = utf8_chars(s, json_string_length(v));
    if (chars == 0)
        return err_set(e, ERR_INVALID, "%s/%s: must not be empty", where, key);
    if (chars > max_chars)
        return err_set(e, ERR_INVALID, "%s/%s: longer than %zu characters", where, key, max_chars);
    *out = s;
    return 0;
}

/* The text being written by jsonx_dumps(), grown as jansson hands it over. */
struct dump_text {
    char *p;
    size_t len, cap;
};

static int dump_text_append(const char *chunk, size_t n, void *ctx)
{
    struct dump_text *t = ctx;
    if (n >= t->cap - t->len) { /* keep a byte for the NUL */
        size_t cap = t->cap;
        while (n >= cap - t->len) {
            if (cap > SIZE_MAX / 2)
                return -1;
            cap *= 2;
        }
        char *p = realloc(t->p, cap);
        if (p == NULL)
            return -1;
        t->p = p;
        t->cap = cap;
    }
    memcpy(t->p + t->len, chunk, n);
    t->len += n;
    return 0;
}

char *jsonx_dumps(const json_t *v, size_t *len)
{
    /* 15 significant digits: every decimal we store (coordinates in micro-degrees, vital
     * signs) prints as written instead of as its nearest binary double (37.494700000000002) */
    const size_t flags = JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15);
    jsonx_init();
    if (v == NULL)
        return NULL;
    unsigned long failures = alloc_failures;
    /* one pass into a growing buffer: json_dumpb() sized first would walk (and, preserving
     * the order, sort the keys of) every object twice */
    struct dump_text t = {.p = malloc(1024), .cap = 1024};
    if (t.p == NULL)
        return NULL;
    if (json_dump_callback(v, dump_text_append, &t, flags) != 0 || t.len == 0 ||
        alloc_failures != failures) {
        free(t.p);
        return NULL;
    }
    t.p[t.len] = '\0';
    if (len != NULL)
        *len = t.len;
    return t.p;
}

void jsonx_decref(void *v)
{
    json_decref(v);
}

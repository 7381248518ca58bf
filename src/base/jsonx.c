/* jsonx.c - strict parsing and field validation for JSON received from outside. */
#include "base/jsonx.h"

#include <stdlib.h>
#include <string.h>

#include "base/utf8.h"

json_t *jsonx_parse(const char *buf, size_t len, struct err *e)
{
    json_error_t je;
    json_t *v = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
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

char *jsonx_dumps(const json_t *v, size_t *len)
{
    const size_t flags = JSON_COMPACT | JSON_PRESERVE_ORDER;
    size_t n = v ? json_dumpb(v, NULL, 0, flags) : 0;
    char *buf = n ? malloc(n + 1) : NULL;
    if (buf == NULL)
        return NULL;
    if (json_dumpb(v, buf, n, flags) != n) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    if (len != NULL)
        *len = n;
    return buf;
}

void jsonx_decref(void *v)
{
    json_decref(v);
}

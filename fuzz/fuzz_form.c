/* fuzz_form.c - application/x-www-form-urlencoded bodies: the strict parser either refuses with
 * a reason or yields bounded, unique, NUL-free UTF-8 fields that http_form_get finds again. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/utf8.h"
#include "http/form.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct arena *a = arena_new(0);
    if (a == NULL)
        return 0;
    struct http_form f;
    struct err e = {0};
    int rc = http_form_parse((const char *)data, size, a, &f, &e);
    if (rc != 0) {
        if ((rc != ERR_INVALID && rc != ERR_TOOBIG && rc != ERR_NOMEM) || e.msg[0] == '\0')
            abort();
        arena_free(a);
        return 0;
    }
    if (f.n > HTTP_FORM_FIELDS_MAX)
        abort();
    for (size_t i = 0; i < f.n; i++) {
        size_t nl = strlen(f.fields[i].name), vl = strlen(f.fields[i].value);
        if (nl == 0 || nl > HTTP_FORM_NAME_MAX || vl > HTTP_FORM_VALUE_MAX ||
            !utf8_valid(f.fields[i].name, nl) || !utf8_valid(f.fields[i].value, vl))
            abort();
        for (size_t j = 0; j < i; j++)
            if (strcmp(f.fields[i].name, f.fields[j].name) == 0)
                abort();
        const char *got = http_form_get(&f, f.fields[i].name);
        if (vl == 0 ? got != NULL : got != f.fields[i].value)
            abort();
    }
    arena_free(a);
    return 0;
}

/* query_texts.c - store_query_texts (store.h): the first column of a query's rows as an array of
 * strings, for the many "the ids of ..." reads. Backend-neutral: built on store_query. */
#include "base/arena.h"
#include "base/err.h"
#include "store/store.h"

struct texts {
    struct arena *a;
    const char **items;
    size_t n, cap, max;
    int nomem;
};

static int text_row(const struct store_row *row, void *ctx)
{
    struct texts *t = ctx;
    if (store_row_is_null(row, 0))
        return 0;
    const char **arr = arena_array_reserve(t->a, t->items, t->n, &t->cap, sizeof *arr);
    const char *text = arr != NULL ? arena_strdup(t->a, store_row_text(row, 0, NULL)) : NULL;
    if (text == NULL) {
        t->nomem = 1;
        return 1;
    }
    t->items = arr;
    t->items[t->n++] = text;
    return t->max > 0 && t->n >= t->max;
}

int store_query_texts(struct store *s, const char *sql, const struct store_value *params,
                      size_t nparams, size_t max, struct arena *a, const char ***out, size_t *n,
                      struct err *e)
{
    struct texts t = {.a = a, .max = max};
    int rc = store_query(s, sql, params, nparams, text_row, &t, e);
    if (rc == 0 && t.nomem)
        rc = err_set(e, ERR_NOMEM, "out of memory");
    *out = rc == 0 ? t.items : NULL;
    *n = rc == 0 ? t.n : 0;
    return rc;
}

/* scope_cache.c - one immutable parsed scope set per distinct scope text (see the header). */
#include "identity/scope_cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct cached {
    char *text;
    struct id_scope_set *set;
};

static pthread_rwlock_t lock = PTHREAD_RWLOCK_INITIALIZER;
static struct cached entries[ID_SCOPE_CACHE_MAX];
static size_t nentries;

static const struct id_scope_set *find(const char *text)
{
    for (size_t i = 0; i < nentries; i++) {
        if (strcmp(entries[i].text, text) == 0)
            return entries[i].set;
    }
    return NULL;
}

static const struct id_scope_set *parse_into_arena(const char *text, struct arena *a, struct err *e)
{
    struct id_scope_set *set = arena_alloc(a, sizeof *set);
    if (set == NULL) {
        err_set(e, ERR_NOMEM, "out of memory");
        return NULL;
    }
    return id_scope_parse(text, set, e) == 0 ? set : NULL;
}

const struct id_scope_set *id_scope_set_of(const char *text, struct arena *a, struct err *e)
{
    if (text == NULL)
        text = "";
    pthread_rwlock_rdlock(&lock);
    const struct id_scope_set *set = find(text);
    pthread_rwlock_unlock(&lock);
    if (set != NULL)
        return set;

    struct id_scope_set *parsed = malloc(sizeof *parsed);
    char *copy = strdup(text);
    if (parsed == NULL || copy == NULL) {
        free(parsed);
        free(copy);
        return parse_into_arena(text, a, e);
    }
    if (id_scope_parse(text, parsed, e) != 0) {
        free(parsed);
        free(copy);
        return NULL;
    }
    pthread_rwlock_wrlock(&lock);
    set = find(text); /* another thread may have added it meanwhile */
    if (set == NULL && nentries < ID_SCOPE_CACHE_MAX) {
        entries[nentries].text = copy;
        entries[nentries].set = parsed;
        nentries++;
        set = parsed;
        parsed = NULL;
        copy = NULL;
    }
    pthread_rwlock_unlock(&lock);
    if (set == NULL) { /* full: this request keeps its own copy */
        struct id_scope_set *mine = arena_alloc(a, sizeof *mine);
        if (mine != NULL)
            memcpy(mine, parsed, sizeof *mine);
        else
            err_set(e, ERR_NOMEM, "out of memory");
        set = mine;
    }
    free(parsed);
    free(copy);
    return set;
}

void id_scope_cache_clear(void)
{
    pthread_rwlock_wrlock(&lock);
    for (size_t i = 0; i < nentries; i++) {
        free(entries[i].text);
        free(entries[i].set);
        entries[i] = (struct cached){0};
    }
    nentries = 0;
    pthread_rwlock_unlock(&lock);
}

/* device_cache.c - the active devices the ingest has met (device_cache.h): a hash table of
 * copies, under one mutex, that grows by doubling up to ENTRIES_MAX and is emptied when full. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/ids.h"
#include "ingest/device_cache.h"

#define BUCKETS_FIRST 1024
#define ENTRIES_MAX   (256 * 1024) /* ~40 MiB at most; then the table starts again empty */
#define FIELD_MAX     64           /* longer fields (never seen: ids are 26) are not cached */

struct entry {
    struct entry *next;
    uint64_t hash;
    char id[IDS_LEN + 1];
    char subject_id[FIELD_MAX];
    char kind[FIELD_MAX];
    char fhir_device_id[FIELD_MAX];
    int64_t registered_ms, bound_ms;
};

static struct {
    pthread_mutex_t mu;
    struct store *store; /* the store the entries came from */
    struct entry **buckets;
    size_t nbuckets, n;
    uint64_t hits, misses;
} cache = {.mu = PTHREAD_MUTEX_INITIALIZER};

static uint64_t hash_id(const char *id)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)id; *p != '\0'; p++)
        h = (h ^ *p) * 1099511628211ULL;
    return h;
}

/* Under cache.mu. */
static void drop_all(void)
{
    for (size_t i = 0; i < cache.nbuckets; i++) {
        struct entry *x = cache.buckets[i];
        while (x != NULL) {
            struct entry *next = x->next;
            free(x);
            x = next;
        }
    }
    free(cache.buckets);
    cache.buckets = NULL;
    cache.nbuckets = cache.n = 0;
}

/* Under cache.mu. */
static struct entry **slot_of(const char *id, uint64_t h)
{
    if (cache.nbuckets == 0)
        return NULL;
    struct entry **p = &cache.buckets[h & (cache.nbuckets - 1)];
    while (*p != NULL && ((*p)->hash != h || strcmp((*p)->id, id) != 0))
        p = &(*p)->next;
    return p;
}

/* Under cache.mu: room for one more entry; 0 or -1 (out of memory: not cached). */
static int make_room(void)
{
    if (cache.n >= ENTRIES_MAX)
        drop_all();
    if (cache.nbuckets != 0 && cache.n < 2 * cache.nbuckets)
        return 0;
    size_t nb = cache.nbuckets == 0 ? BUCKETS_FIRST : 2 * cache.nbuckets;
    struct entry **b = calloc(nb, sizeof *b);
    if (b == NULL)
        return cache.nbuckets != 0 ? 0 : -1; /* longer chains, still correct */
    for (size_t i = 0; i < cache.nbuckets; i++) {
        struct entry *x = cache.buckets[i];
        while (x != NULL) {
            struct entry *next = x->next;
            x->next = b[x->hash & (nb - 1)];
            b[x->hash & (nb - 1)] = x;
            x = next;
        }
    }
    free(cache.buckets);
    cache.buckets = b;
    cache.nbuckets = nb;
    return 0;
}

static int copy_field(char dst[FIELD_MAX], const char *src)
{
    size_t n = src != NULL ? strlen(src) : FIELD_MAX;
    if (n >= FIELD_MAX)
        return -1;
    memcpy(dst, src, n + 1);
    return 0;
}

/* Under cache.mu: caches the active device d. */
static void put(const struct id_device *d)
{
    uint64_t h = hash_id(d->id);
    struct entry *x = malloc(sizeof *x);
    if (x == NULL)
        return;
    memset(x, 0, sizeof *x);
    x->hash = h;
    memcpy(x->id, d->id, sizeof x->id);
    x->registered_ms = d->registered_ms;
    x->bound_ms = d->bound_ms;
    struct entry **p;
    if (copy_field(x->subject_id, d->subject_id) != 0 || copy_field(x->kind, d->kind) != 0 ||
        copy_field(x->fhir_device_id, d->fhir_device_id) != 0 || make_room() != 0 ||
        (p = slot_of(d->id, h)) == NULL || *p != NULL) {
        free(x);
        return;
    }
    *p = x;
    cache.n++;
}

/* x's fields into out, the strings copied into a; 0 or ERR_NOMEM. */
static int fill(const struct entry *x, struct id_device *out, struct arena *a, struct err *e)
{
    memset(out, 0, sizeof *out);
    memcpy(out->id, x->id, sizeof out->id);
    out->subject_id = arena_strdup(a, x->subject_id);
    out->kind = arena_strdup(a, x->kind);
    out->fhir_device_id = arena_strdup(a, x->fhir_device_id);
    out->registered_ms = x->registered_ms;
    out->bound_ms = x->bound_ms;
    if (out->subject_id == NULL || out->kind == NULL || out->fhir_device_id == NULL)
        return err_set(e, ERR_NOMEM, "device: out of memory");
    return 0;
}

int ingest_device_get(struct store *s, const char *device_id, struct id_device *out,
                      struct arena *a, struct err *e)
{
    if (device_id == NULL || !ids_valid(device_id))
        return id_device_find(s, device_id, out, a, e); /* its ERR_NOTFOUND */
    uint64_t h = hash_id(device_id);
    pthread_mutex_lock(&cache.mu);
    if (cache.store != s) {
        drop_all();
        cache.store = s;
    }
    struct entry **p = slot_of(device_id, h);
    if (p != NULL && *p != NULL) {
        int rc = fill(*p, out, a, e);
        cache.hits++;
        pthread_mutex_unlock(&cache.mu);
        return rc;
    }
    cache.misses++;
    pthread_mutex_unlock(&cache.mu);
    int rc = id_device_find(s, device_id, out, a, e);
    if (rc != 0 || !id_device_active(out))
        return rc;
    pthread_mutex_lock(&cache.mu);
    if (cache.store == s)
        put(out);
    pthread_mutex_unlock(&cache.mu);
    return 0;
}

void ingest_device_forget(const char *device_id)
{
    if (device_id == NULL)
        return;
    uint64_t h = hash_id(device_id);
    pthread_mutex_lock(&cache.mu);
    struct entry **p = slot_of(device_id, h);
    if (p != NULL && *p != NULL) {
        struct entry *x = *p;
        *p = x->next;
        free(x);
        cache.n--;
    }
    pthread_mutex_unlock(&cache.mu);
}

void ingest_device_cache_clear(void)
{
    pthread_mutex_lock(&cache.mu);
    drop_all();
    cache.store = NULL;
    cache.hits = cache.misses = 0;
    pthread_mutex_unlock(&cache.mu);
}

void ingest_device_cache_stats(struct ingest_device_cache_stats *out)
{
    pthread_mutex_lock(&cache.mu);
    out->hits = cache.hits;
    out->misses = cache.misses;
    out->entries = cache.n;
    pthread_mutex_unlock(&cache.mu);
}

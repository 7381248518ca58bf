/* signin_pending.c - the bounded in-memory table of password-verified sign-ins waiting for a
 * TOTP code, keyed by the BLAKE2b-256 of a random cookie value, guarded by one mutex. */
#include "identity/signin_pending.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

struct slot {
    int used;
    char hash[65];
    struct id_pending p;
};

struct id_pending_table {
    pthread_mutex_t mu;
    struct slot slots[ID_PENDING_MAX];
};

struct id_pending_table *id_pending_table_new(void)
{
    struct id_pending_table *t = calloc(1, sizeof *t);
    if (t != NULL)
        pthread_mutex_init(&t->mu, NULL);
    return t;
}

void id_pending_table_free(struct id_pending_table *t)
{
    if (t == NULL)
        return;
    pthread_mutex_destroy(&t->mu);
    sodium_memzero(t, sizeof *t);
    free(t);
}

/* The slot holding hash (live or not), or NULL. Called with the mutex held. */
static struct slot *find(struct id_pending_table *t, const char *hash)
{
    for (size_t i = 0; i < ID_PENDING_MAX; i++)
        if (t->slots[i].used && sodium_memcmp(t->slots[i].hash, hash, 64) == 0)
            return &t->slots[i];
    return NULL;
}

/* A free slot, dropping expired records on the way, or NULL. Called with the mutex held. */
static struct slot *free_slot(struct id_pending_table *t, int64_t now_ms)
{
    struct slot *got = NULL;
    for (size_t i = 0; i < ID_PENDING_MAX; i++) {
        struct slot *s = &t->slots[i];
        if (s->used && s->p.expires_ms <= now_ms)
            s->used = 0;
        if (!s->used && got == NULL)
            got = s;
    }
    return got;
}

int id_pending_put(struct id_pending_table *t, const char *person_id, const char *return_to,
                   int64_t now_ms, char value_out[ID_SESSION_VALUE_LEN + 1])
{
    value_out[0] = '\0';
    if (person_id == NULL || !ids_valid(person_id) || !id_return_to_valid(return_to))
        return ERR_INVALID;
    char value[ID_SESSION_VALUE_LEN + 1];
    id_session_random(value);
    pthread_mutex_lock(&t->mu);
    struct slot *s = free_slot(t, now_ms);
    if (s == NULL) {
        pthread_mutex_unlock(&t->mu);
        return ERR_TOOBIG;
    }
    memset(s, 0, sizeof *s);
    s->used = 1;
    id_session_hash(value, s->hash);
    memcpy(s->p.person_id, person_id, IDS_LEN + 1);
    memcpy(s->p.return_to, return_to, strlen(return_to) + 1);
    s->p.auth_time_ms = now_ms;
    s->p.expires_ms = now_ms + ID_PENDING_TTL_MS;
    pthread_mutex_unlock(&t->mu);
    memcpy(value_out, value, sizeof value);
    return 0;
}

static int lookup(struct id_pending_table *t, const char *value, int64_t now_ms,
                  struct id_pending *out, int take)
{
    if (!id_session_value_valid(value))
        return ERR_NOTFOUND;
    char hash[65];
    id_session_hash(value, hash);
    pthread_mutex_lock(&t->mu);
    struct slot *s = find(t, hash);
    int rc = ERR_NOTFOUND;
    if (s != NULL && s->p.expires_ms > now_ms) {
        *out = s->p;
        rc = 0;
    }
    if (s != NULL && (take || rc != 0))
        s->used = 0;
    pthread_mutex_unlock(&t->mu);
    return rc;
}

int id_pending_peek(struct id_pending_table *t, const char *value, int64_t now_ms,
                    struct id_pending *out)
{
    return lookup(t, value, now_ms, out, 0);
}

int id_pending_take(struct id_pending_table *t, const char *value, int64_t now_ms,
                    struct id_pending *out)
{
    return lookup(t, value, now_ms, out, 1);
}

int id_pending_put_back(struct id_pending_table *t, const char *value, const struct id_pending *p,
                        int64_t now_ms)
{
    if (!id_session_value_valid(value) || p->attempts + 1 >= ID_PENDING_ATTEMPTS_MAX ||
        p->expires_ms <= now_ms)
        return ERR_NOTFOUND;
    pthread_mutex_lock(&t->mu);
    struct slot *s = free_slot(t, now_ms);
    if (s == NULL) {
        pthread_mutex_unlock(&t->mu);
        return ERR_TOOBIG;
    }
    memset(s, 0, sizeof *s);
    s->used = 1;
    id_session_hash(value, s->hash);
    s->p = *p;
    s->p.attempts++;
    pthread_mutex_unlock(&t->mu);
    return 0;
}

int id_pending_count(struct id_pending_table *t, int64_t now_ms)
{
    int n = 0;
    pthread_mutex_lock(&t->mu);
    for (size_t i = 0; i < ID_PENDING_MAX; i++)
        n += t->slots[i].used && t->slots[i].p.expires_ms > now_ms;
    pthread_mutex_unlock(&t->mu);
    return n;
}

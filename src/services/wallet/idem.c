/* idem.c - idempotency keys (internal.h): the (caller, key) pairs of this process's requests
 * between their arrival and their commit, so that a second request with a key still in flight
 * is answered 409 instead of waiting; and the stored answer of a completed one. Across
 * processes the (caller, idem_key) primary key of wallet_idem decides inside the write. */
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "services/wallet/internal.h"

#define INFLIGHT_MAX 4096

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned char inflight[INFLIGHT_MAX][crypto_generichash_BYTES];
static size_t ninflight;

static void pair_hash(const char *caller, const char *key,
                      unsigned char out[crypto_generichash_BYTES])
{
    crypto_generichash_state st;
    static const unsigned char zero = 0;
    crypto_generichash_init(&st, NULL, 0, crypto_generichash_BYTES);
    crypto_generichash_update(&st, (const unsigned char *)caller, strlen(caller));
    crypto_generichash_update(&st, &zero, 1);
    crypto_generichash_update(&st, (const unsigned char *)key, strlen(key));
    crypto_generichash_final(&st, out, crypto_generichash_BYTES);
}

int wallet__inflight_claim(const char *caller, const char *key)
{
    unsigned char h[crypto_generichash_BYTES];
    pair_hash(caller, key, h);
    int rc = 1;
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < ninflight; i++)
        if (memcmp(inflight[i], h, sizeof h) == 0) {
            rc = 0;
            goto out;
        }
    if (ninflight == INFLIGHT_MAX) {
        rc = ERR_TOOBIG;
        goto out;
    }
    memcpy(inflight[ninflight++], h, sizeof h);
out:
    pthread_mutex_unlock(&lock);
    return rc;
}

void wallet__inflight_release(const char *caller, const char *key)
{
    unsigned char h[crypto_generichash_BYTES];
    pair_hash(caller, key, h);
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < ninflight; i++)
        if (memcmp(inflight[i], h, sizeof h) == 0) {
            memcpy(inflight[i], inflight[--ninflight], sizeof h);
            break;
        }
    pthread_mutex_unlock(&lock);
}

struct idem_read {
    struct arena *a;
    struct wallet_idem_row *out;
    int found, nomem;
};

static int idem_row(const struct store_row *row, void *ctx)
{
    struct idem_read *r = ctx;
    const char *h = store_row_text(row, 0, NULL);
    const char *t = store_row_text(row, 3, NULL);
    memset(r->out, 0, sizeof *r->out);
    if (h != NULL && strlen(h) == WALLET_HASH_HEX)
        memcpy(r->out->hash, h, WALLET_HASH_HEX + 1);
    r->out->status = (int)store_row_int(row, 1);
    r->out->response = arena_strdup(r->a, store_row_text(row, 2, NULL));
    if (t != NULL && strlen(t) == IDS_LEN)
        memcpy(r->out->transfer, t, IDS_LEN + 1);
    r->nomem = r->out->response == NULL;
    r->found = 1;
    return 1;
}

int wallet__idem_get(struct store *s, const char *caller, const char *key, struct arena *a,
                     struct wallet_idem_row *out, struct err *e)
{
    struct idem_read r = {.a = a, .out = out};
    struct store_value v[] = {STORE_TEXT_V(caller), STORE_TEXT_V(key)};
    int rc = store_query(s,
                         "SELECT request_hash, status, response, transfer_id FROM wallet_idem "
                         "WHERE caller = ? AND idem_key = ?",
                         v, 2, idem_row, &r, e);
    if (rc != 0)
        return rc;
    if (r.nomem)
        return err_set(e, ERR_NOMEM, "out of memory");
    return r.found;
}

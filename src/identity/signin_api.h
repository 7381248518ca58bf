/* signin_api.h - cityos's own sign-in pages for browsers (plain HTML, Japanese and English):
 * GET|POST /signin (e-mail and password), GET|POST /signin/totp (the second factor), GET
 * /signin/done and POST /signout. Success leaves a session cookie (session.h) that
 * /oauth/authorize reads. Argon2id runs on a small bounded pool, never on HTTP workers. */
#ifndef COS_ID_SIGNIN_API_H
#define COS_ID_SIGNIN_API_H

#include <pthread.h>
#include <stdatomic.h>

#include "base/ids.h"
#include "http/router.h"
#include "identity/password.h"
#include "identity/totp.h"
#include "store/store.h"

#define SIGNIN_POOL_QUEUE 64 /* sign-in steps waiting for a pool thread; more: 503 */

struct id_pwpool;
struct id_pending_table;

/* The module's state, owned by whoever registers it (serve.c: a static), from
 * signin_api_register until signin_api_release. */
#define SIGNIN_LOCKED_SEEN 1024 /* accounts whose current wait was already recorded */

struct signin_api {
    struct store *store;
    int secure_cookies; /* the issuer is https://: cookies get Secure */
    struct id_pwpool *pool;
    struct id_pending_table *pending;
    char dummy_hash[ID_PASSWORD_HASH_MAX]; /* verified for unknown e-mail addresses */
    unsigned char totp_key[ID_TOTP_KEY_BYTES];
    int totp_key_loaded;
    _Atomic int suspended; /* requests of ours waiting for the pool or the store */
    /* the waits already recorded on a trail: one "rule:locked" entry per account and wait, so
     * that repeated attempts cannot fill a person's trail (see signin.md) */
    pthread_mutex_t locked_lock;
    struct {
        char person_id[IDS_LEN + 1];
        int64_t until_ms;
    } locked_seen[SIGNIN_LOCKED_SEEN];
};

/* Prepares api (pool threads = online cores, queue SIGNIN_POOL_QUEUE; the dummy hash; the TOTP
 * key from data_dir, created if missing) and registers the routes. issuer decides Secure
 * cookies. Returns 0 or a negative ERR_* (after logging why; nothing is left running). */
int signin_api_register(struct http_router *r, struct signin_api *api, struct store *s,
                        const char *issuer, const char *data_dir);

/* Stops the pool (jobs still queued are answered 503, running ones finish), waits (at most
 * 2 s) until the server has answered every request of ours that was suspended, and frees the
 * module's state. Call after the server has drained and before it stops, so no suspended
 * request is left behind (libmicrohttpd refuses to stop with one). Safe on a zeroed or
 * released api. */
void signin_api_release(struct signin_api *api);

#endif

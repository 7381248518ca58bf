/* identity_crypto.c - what signing in and issuing tokens cost in CPU: Argon2id password hashes
 * and verifications per second (1 and 2 threads), EdDSA ID-token signing and verification,
 * PKCE checks and SMART scope parsing. Medians of 5 runs; run as build/bench/identity_crypto. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "base/clock.h"
#include "base/ids.h"
#include "base/jsonx.h"
#include "identity/jose.h"
#include "identity/password.h"
#include "identity/pkce.h"
#include "identity/scope.h"

#define RUNS 5

struct job {
    int kind;       /* 0 hash, 1 verify */
    double seconds; /* how long to run */
    const char *hash;
    long done;
};

static void *password_worker(void *arg)
{
    struct job *j = arg;
    char out[ID_PASSWORD_HASH_MAX];
    uint64_t end = clock_mono_ns() + (uint64_t)(j->seconds * 1e9);
    while (clock_mono_ns() < end) {
        if (j->kind == 0) {
            if (id_password_hash("correct horse battery staple", out, NULL) != 0)
                abort();
        } else if (id_password_verify(j->hash, "correct horse battery staple") != 0) {
            abort();
        }
        j->done++;
    }
    return NULL;
}

/* Argon2id operations per second with `threads` threads, median of RUNS runs of 2 s. */
static double password_rate(int kind, int threads, const char *hash)
{
    double rates[RUNS];
    for (int r = 0; r < RUNS; r++) {
        pthread_t t[8];
        struct job jobs[8];
        uint64_t start = clock_mono_ns();
        for (int i = 0; i < threads; i++) {
            jobs[i] = (struct job){kind, 2.0, hash, 0};
            pthread_create(&t[i], NULL, password_worker, &jobs[i]);
        }
        long total = 0;
        for (int i = 0; i < threads; i++) {
            pthread_join(t[i], NULL);
            total += jobs[i].done;
        }
        rates[r] = (double)total / ((double)(clock_mono_ns() - start) / 1e9);
    }
    return bench_median(rates, RUNS);
}

/* Calls fn(ctx) for about 1 s, RUNS times; returns the median calls per second. */
static double rate_of(void (*fn)(void *), void *ctx)
{
    double rates[RUNS];
    for (int r = 0; r < RUNS; r++) {
        long n = 0;
        uint64_t start = clock_mono_ns(), end = start + 1000000000u;
        while (clock_mono_ns() < end) {
            for (int k = 0; k < 64; k++)
                fn(ctx);
            n += 64;
        }
        rates[r] = (double)n / ((double)(clock_mono_ns() - start) / 1e9);
    }
    return bench_median(rates, RUNS);
}

struct jws_ctx {
    struct id_jose_key key;
    json_t *claims;
    char *token;
};

static void sign_once(void *p)
{
    struct jws_ctx *c = p;
    char *t = id_jose_sign(&c->key, c->claims, NULL);
    if (t == NULL)
        abort();
    free(t);
}

static void verify_once(void *p)
{
    struct jws_ctx *c = p;
    json_t *claims = NULL;
    if (id_jose_verify(c->token, strlen(c->token), &c->key, 1, &claims, NULL) != 0)
        abort();
    json_decref(claims);
}

static void pkce_once(void *p)
{
    (void)p;
    if (id_pkce_check_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
                           "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM") != 0)
        abort();
}

static void scope_once(void *p)
{
    if (id_scope_parse("openid fhirUser offline_access launch/patient patient/Observation.rs "
                       "patient/Condition.rs patient/MedicationRequest.rs user/Appointment.cruds",
                       p, NULL) != 0)
        abort();
}

int main(void)
{
    if (ids_init() != 0)
        return 1;
    char hash[ID_PASSWORD_HASH_MAX];
    if (id_password_hash("correct horse battery staple", hash, NULL) != 0)
        return 1;
    printf("cityos identity crypto benchmark: %d runs each, medians\n\n", RUNS);
    printf("%-44s %12s\n", "operation", "per second");
    printf("%-44s %12.1f\n", "Argon2id hash (19 MiB, t=2), 1 thread", password_rate(0, 1, hash));
    printf("%-44s %12.1f\n", "Argon2id hash (19 MiB, t=2), 2 threads", password_rate(0, 2, hash));
    printf("%-44s %12.1f\n", "Argon2id verify (sign-in), 2 threads", password_rate(1, 2, hash));

    struct jws_ctx c;
    if (id_jose_key_generate(&c.key, clock_now_ms()) != 0)
        return 1;
    c.claims =
        json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}", "iss", "https://id.city.example", "sub",
                  "yy5we6ddfwpt28s0kqvm1da6j0", "aud", "d4hcwrayvdwscddnxmdvxwpar0", "iat",
                  (json_int_t)1796083200, "exp", (json_int_t)1796083500, "nonce", "n-0S6_WzA2Mj");
    c.token = id_jose_sign(&c.key, c.claims, NULL);
    if (c.claims == NULL || c.token == NULL)
        return 1;
    printf("%-44s %12.0f\n", "EdDSA ID token sign (1 thread)", rate_of(sign_once, &c));
    printf("%-44s %12.0f\n", "EdDSA ID token verify (1 thread)", rate_of(verify_once, &c));
    printf("%-44s %12.0f\n", "PKCE S256 check (1 thread)", rate_of(pkce_once, NULL));
    struct id_scope_set *set = malloc(sizeof *set);
    if (set == NULL)
        return 1;
    printf("%-44s %12.0f\n", "SMART scope parse, 8 scopes (1 thread)", rate_of(scope_once, set));
    free(set);
    free(c.token);
    json_decref(c.claims);
    id_jose_key_wipe(&c.key);
    return 0;
}

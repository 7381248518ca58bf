/* test_token.c - access tokens in the store: issue and look up by hash, nothing in clear, the
 * lifetime bounds, expiry with an injected clock, revocation by the owning client only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "identity/client.h"
#include "identity/token.h"
#include "support/fixture.h"

#define T0 1790000000000LL /* a fixed "now" in ms */

struct local_fx {
    char base[64], data[128];
    struct store *s;
    struct arena *a;
    char client[IDS_LEN + 1], other[IDS_LEN + 1];
};

static void add_client(struct local_fx *f, char id[IDS_LEN + 1])
{
    struct id_client_new in = {.name = "Back office",
                               .kind = ID_CLIENT_CONFIDENTIAL,
                               .scopes = "system/Observation.rs",
                               .grant_types = ID_GRANT_CLIENT_CREDENTIALS};
    char secret[ID_CLIENT_SECRET_LEN + 1];
    struct err e = {0};
    assert_int_equal(id_client_create(f->s, &in, id, secret, &e), 0);
}

static int local_setup(void **state)
{
    struct local_fx *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    snprintf(f->base, sizeof f->base, "/tmp/cityos-token-XXXXXX");
    if (mkdtemp(f->base) == NULL)
        return -1;
    snprintf(f->data, sizeof f->data, "%s/data", f->base);
    struct store_options o = {.data_dir = f->data};
    struct err e = {0};
    if (store_open(&f->s, &o, &e) != 0 || (f->a = arena_new(0)) == NULL) {
        fprintf(stderr, "setup: %s\n", e.msg);
        return -1;
    }
    add_client(f, f->client);
    add_client(f, f->other);
    *state = f;
    return 0;
}

static int local_teardown(void **state)
{
    struct local_fx *f = *state;
    store_close(f->s);
    arena_free(f->a);
    fx_rm_tree(f->base);
    free(f);
    return 0;
}

/* issues a token for f->client at T0 with ttl_s; returns it in token */
static void issue(struct local_fx *f, const char *client, int64_t ttl_s,
                  char token[ID_TOKEN_LEN + 1])
{
    struct id_token_record rec;
    struct err e = {0};
    assert_int_equal(id_token_new(&rec, client, NULL, "system/Observation.rs", "cityos", NULL,
                                  ttl_s, T0, token, &e),
                     0);
    assert_int_equal(id_token_store(f->s, &rec, &e), 0);
}

static int count_fn(const struct store_row *r, void *ctx)
{
    *(int64_t *)ctx = store_row_int(r, 0);
    return 1;
}

static int64_t count(struct local_fx *f, const char *sql, const char *arg)
{
    int64_t n = -1;
    struct store_value v[] = {STORE_TEXT_V(arg)};
    struct err e = {0};
    assert_int_equal(store_query(f->s, sql, v, arg ? 1 : 0, count_fn, &n, &e), 0);
    return n;
}

/* a token is 43 base64url characters (256 bits), stored only as its hex BLAKE2b-256 */
static void token_is_random_and_stored_hashed(void **state)
{
    struct local_fx *f = *state;
    char t1[ID_TOKEN_LEN + 1], t2[ID_TOKEN_LEN + 1];
    issue(f, f->client, 900, t1);
    issue(f, f->client, 900, t2);
    assert_int_equal(strlen(t1), ID_TOKEN_LEN);
    assert_int_equal(strspn(t1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
                     ID_TOKEN_LEN);
    assert_string_not_equal(t1, t2);
    assert_int_equal(count(f, "SELECT count(*) FROM access_token", NULL), 2);
    /* no column holds the token in clear; the key is its hash */
    assert_int_equal(count(f,
                           "SELECT count(*) FROM access_token WHERE "
                           "(hash || client_id || scope || audience) LIKE '%' || ? || '%'",
                           t1),
                     0);
    char h[ID_TOKEN_HASH_HEX + 1];
    id_token_hash(t1, strlen(t1), h);
    unsigned char raw[32];
    crypto_generichash(raw, sizeof raw, (const unsigned char *)t1, strlen(t1), NULL, 0);
    char want[65];
    sodium_bin2hex(want, sizeof want, raw, sizeof raw);
    assert_string_equal(h, want);
    assert_int_equal(count(f, "SELECT count(*) FROM access_token WHERE hash = ?", h), 1);
}

/* lookup gives back every field; unknown, empty and oversized text is not found */
static void lookup_round_trip(void **state)
{
    struct local_fx *f = *state;
    char t[ID_TOKEN_LEN + 1];
    issue(f, f->client, 900, t);
    struct id_token_record r;
    struct err e = {0};
    assert_int_equal(id_token_lookup(f->s, t, strlen(t), T0, &r, f->a, &e), 0);
    assert_string_equal(r.client_id, f->client);
    assert_null(r.subject_id);
    assert_null(r.grant_id);
    assert_string_equal(r.scope, "system/Observation.rs");
    assert_string_equal(r.audience, "cityos");
    assert_int_equal(r.issued_ms, T0);
    assert_int_equal(r.expires_ms, T0 + 900000);
    assert_int_equal(r.revoked_ms, 0);

    char wrong[ID_TOKEN_LEN + 1];
    memcpy(wrong, t, sizeof wrong);
    wrong[0] = wrong[0] == 'A' ? 'B' : 'A';
    assert_int_equal(id_token_lookup(f->s, wrong, strlen(wrong), T0, &r, f->a, &e), ERR_NOTFOUND);
    assert_int_equal(id_token_lookup(f->s, t, strlen(t) - 1, T0, &r, f->a, &e), ERR_NOTFOUND);
    assert_int_equal(id_token_lookup(f->s, "", 0, T0, &r, f->a, &e), ERR_NOTFOUND);
    char big[ID_TOKEN_IN_MAX + 2];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(id_token_lookup(f->s, big, strlen(big), T0, &r, f->a, &e), ERR_NOTFOUND);
}

/* with an injected clock: active until the last millisecond before expiry, then not */
static void expiry_follows_the_clock(void **state)
{
    struct local_fx *f = *state;
    char t[ID_TOKEN_LEN + 1];
    issue(f, f->client, 60, t);
    struct id_token_record r;
    struct err e = {0};
    assert_int_equal(id_token_lookup(f->s, t, strlen(t), T0 + 59999, &r, f->a, &e), 0);
    assert_int_equal(id_token_lookup(f->s, t, strlen(t), T0 + 60000, &r, f->a, &e), ERR_NOTFOUND);
    assert_non_null(strstr(e.msg, "expired"));
    assert_int_equal(id_token_find(f->s, t, strlen(t), &r, f->a, &e), 0); /* still stored */
    assert_false(id_token_active(&r, T0 + 60000));
    assert_true(id_token_active(&r, T0));
}

/* lifetimes 1 s..1 h; default 15 min; bad input refused before anything is stored */
static void lifetimes_and_input_are_bounded(void **state)
{
    struct local_fx *f = *state;
    struct id_token_record r;
    char t[ID_TOKEN_LEN + 1];
    struct err e = {0};
    assert_int_equal(ID_TOKEN_TTL_DEFAULT_S, 900);
    assert_int_equal(id_token_new(&r, f->client, NULL, "x", "a", NULL, 3600, T0, t, &e), 0);
    assert_int_equal(r.expires_ms, T0 + 3600000);
    assert_int_equal(id_token_new(&r, f->client, NULL, "x", "a", NULL, 3601, T0, t, &e),
                     ERR_INVALID);
    assert_string_equal(t, "");
    assert_int_equal(id_token_new(&r, f->client, NULL, "x", "a", NULL, 0, T0, t, &e), ERR_INVALID);
    assert_int_equal(id_token_new(&r, "not-an-id", NULL, "x", "a", NULL, 60, T0, t, &e),
                     ERR_INVALID);
    assert_int_equal(id_token_new(&r, f->client, NULL, "", "a", NULL, 60, T0, t, &e), ERR_INVALID);
    assert_int_equal(id_token_new(&r, f->client, NULL, "x", "", NULL, 60, T0, t, &e), ERR_INVALID);
    char aud[ID_TOKEN_AUD_MAX + 2];
    memset(aud, 'a', sizeof aud - 1);
    aud[sizeof aud - 1] = '\0';
    assert_int_equal(id_token_new(&r, f->client, NULL, "x", aud, NULL, 60, T0, t, &e), ERR_INVALID);
    aud[ID_TOKEN_AUD_MAX] = '\0';
    assert_int_equal(id_token_new(&r, f->client, NULL, "x", aud, NULL, 60, T0, t, &e), 0);
    assert_int_equal(count(f, "SELECT count(*) FROM access_token", NULL), 0);
}

/* only the owning client revokes; revoking twice or an unknown token changes nothing */
static void revocation_by_the_owner_only(void **state)
{
    struct local_fx *f = *state;
    char t[ID_TOKEN_LEN + 1];
    issue(f, f->client, 900, t);
    int revoked = -1;
    struct err e = {0};
    assert_int_equal(id_token_revoke(f->s, t, strlen(t), f->other, T0 + 1, &revoked, &e), 0);
    assert_int_equal(revoked, 0);
    struct id_token_record r;
    assert_int_equal(id_token_lookup(f->s, t, strlen(t), T0 + 2, &r, f->a, &e), 0);

    assert_int_equal(id_token_revoke(f->s, t, strlen(t), f->client, T0 + 5, &revoked, &e), 0);
    assert_int_equal(revoked, 1);
    assert_int_equal(id_token_lookup(f->s, t, strlen(t), T0 + 6, &r, f->a, &e), ERR_NOTFOUND);
    assert_non_null(strstr(e.msg, "revoked"));
    assert_int_equal(id_token_find(f->s, t, strlen(t), &r, f->a, &e), 0);
    assert_int_equal(r.revoked_ms, T0 + 5);

    assert_int_equal(id_token_revoke(f->s, t, strlen(t), f->client, T0 + 9, &revoked, &e), 0);
    assert_int_equal(revoked, 0);
    assert_int_equal(id_token_find(f->s, t, strlen(t), &r, f->a, &e), 0);
    assert_int_equal(r.revoked_ms, T0 + 5); /* the first revocation's time stays */
    assert_int_equal(id_token_revoke(f->s, "nope", 4, f->client, T0, &revoked, &e), 0);
    assert_int_equal(revoked, 0);
    assert_int_equal(id_token_revoke(f->s, t, strlen(t), "bad", T0, &revoked, &e), ERR_INVALID);
}

/* the table refuses a token of an unknown client (foreign key) */
static void unknown_client_is_refused_by_the_store(void **state)
{
    struct local_fx *f = *state;
    struct id_token_record r;
    char t[ID_TOKEN_LEN + 1], ghost[IDS_LEN + 1];
    struct err e = {0};
    ids_new(ghost);
    assert_int_equal(id_token_new(&r, ghost, NULL, "x", "a", NULL, 60, T0, t, &e), 0);
    assert_int_equal(id_token_store(f->s, &r, &e), ERR_CONFLICT);
    assert_int_equal(count(f, "SELECT count(*) FROM access_token", NULL), 0);
}

int main(void)
{
    log_set_level(LOGL_WARN);
    if (sodium_init() < 0 || ids_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(token_is_random_and_stored_hashed, local_setup,
                                        local_teardown),
        cmocka_unit_test_setup_teardown(lookup_round_trip, local_setup, local_teardown),
        cmocka_unit_test_setup_teardown(expiry_follows_the_clock, local_setup, local_teardown),
        cmocka_unit_test_setup_teardown(lifetimes_and_input_are_bounded, local_setup,
                                        local_teardown),
        cmocka_unit_test_setup_teardown(revocation_by_the_owner_only, local_setup, local_teardown),
        cmocka_unit_test_setup_teardown(unknown_client_is_refused_by_the_store, local_setup,
                                        local_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

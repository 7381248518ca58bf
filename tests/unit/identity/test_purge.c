/* test_purge.c - the purge of expired tokens, codes, refresh tokens and sessions: only rows past
 * expiry plus the grace day go, a used but unexpired refresh token stays (its replay must still
 * revoke the grant), grants stay, and each run is bounded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "identity/client.h"
#include "identity/grant.h"
#include "identity/person.h"
#include "identity/purge.h"
#include "identity/token.h"
#include "support/fixture.h"

#define NOW 1790000000000LL
#define DAY (24LL * 3600 * 1000)

struct ids {
    char person[IDS_LEN + 1], client[IDS_LEN + 1];
};

static int setup(void **state)
{
    return fx_setup_in(state, "purge");
}

static void add_people(struct fx *f, struct ids *ids)
{
    struct id_person_new p = {.family_name_kanji = "会津",
                              .given_name_kanji = "太郎",
                              .family_name_kana = "アイヅ",
                              .given_name_kana = "タロウ",
                              .birth_date = "1955-04-12",
                              .sex = ID_SEX_MALE,
                              .district = "湊",
                              .assurance = ID_ASSURANCE_CARD};
    struct err e = {0};
    assert_int_equal(id_person_create(f->s, &p, ids->person, &e), 0);
    static const char *const uris[] = {"https://app.example/cb"};
    struct id_client_new c = {.name = "App",
                              .kind = ID_CLIENT_PUBLIC,
                              .redirect_uris = uris,
                              .n_redirect_uris = 1,
                              .scopes = "openid offline_access",
                              .grant_types = ID_GRANT_AUTHORIZATION_CODE | ID_GRANT_REFRESH_TOKEN};
    char secret[ID_CLIENT_SECRET_LEN + 1];
    assert_int_equal(id_client_create(f->s, &c, ids->client, secret, &e), 0);
}

/* An access token issued at issued_ms for 15 minutes. */
static void add_token(struct fx *f, const struct ids *ids, int64_t issued_ms)
{
    struct id_token_record rec;
    char text[ID_TOKEN_LEN + 1];
    struct err e = {0};
    assert_int_equal(id_token_new(&rec, ids->client, ids->person, "openid", "cityos", NULL, 900,
                                  issued_ms, text, &e),
                     0);
    assert_int_equal(id_token_store(f->s, &rec, &e), 0);
}

/* A grant with its code issued at issued_ms, redeemed at issued_ms + 1 s with a refresh token
 * when redeem is set. */
static void add_grant(struct fx *f, const struct ids *ids, int64_t issued_ms, int redeem)
{
    struct id_code_issue c;
    memset(&c, 0, sizeof c);
    memcpy(c.grant.client_id, ids->client, sizeof c.grant.client_id);
    memcpy(c.grant.person_id, ids->person, sizeof c.grant.person_id);
    c.grant.scope = "openid offline_access";
    c.grant.audience = "cityos";
    c.grant.amr = "pwd";
    c.grant.auth_time_ms = issued_ms;
    c.redirect_uri = "https://app.example/cb";
    memset(c.challenge, 'A', ID_PKCE_CHALLENGE_LEN);
    char code[ID_TOKEN_LEN + 1];
    id_code_issue_prepare(&c, issued_ms, code);
    struct err e = {0};
    assert_int_equal(store_write(f->s, id_code_issue_fn, &c, &e), 0);
    if (!redeem)
        return;
    struct id_redeem r;
    memset(&r, 0, sizeof r);
    memcpy(r.hash, c.code_hash, sizeof r.hash);
    r.grant = &c.grant;
    r.access_scope = c.grant.scope;
    r.issue_refresh = 1;
    r.now_ms = issued_ms + 1000;
    r.access_ttl_s = 900;
    assert_int_equal(id_redeem_prepare(&r, &e), 0);
    assert_int_equal(store_write(f->s, id_redeem_fn, &r, &e), 0);
    assert_int_equal(r.result, ID_REDEEM_OK);
}

static int64_t purge(struct fx *f, int64_t now_ms)
{
    struct id_purge p = {.now_ms = now_ms};
    struct err e = {0};
    assert_int_equal(store_write(f->s, id_purge_fn, &p, &e), 0);
    return p.removed;
}

static void only_rows_past_expiry_and_grace_go(void **state)
{
    struct fx *f = *state;
    struct ids ids;
    add_people(f, &ids);
    add_token(f, &ids, NOW - 3 * DAY);     /* expired two days ago and more: goes */
    add_token(f, &ids, NOW - DAY);         /* expired 23 h 45 min ago: within the grace day */
    add_token(f, &ids, NOW);               /* live */
    add_grant(f, &ids, NOW - 40 * DAY, 1); /* code and 30-day refresh token long expired */
    add_grant(f, &ids, NOW - 2 * DAY, 0);  /* an unused code two days old */
    add_grant(f, &ids, NOW - 2 * DAY, 1);  /* used code; refresh token valid for 28 more days */
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM access_token"), 5);

    int64_t removed = purge(f, NOW);
    /* access tokens: the 3-day-old one and those of the 40-day and the redeemed 2-day grants;
     * codes: the 40-day one and the two 2-day-old ones; refresh tokens: the 40-day one */
    assert_int_equal(removed, 3 + 3 + 1);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM access_token"), 2);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM auth_code"), 0);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM refresh_token"), 1);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM oauth_grant"), 3); /* grants stay */
    assert_int_equal(purge(f, NOW), 0);                                   /* nothing left */
}

struct session_row {
    char hash[65];
    const char *person;
    int64_t expires, ended; /* ended 0: not ended */
};

static int insert_session_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    const struct session_row *r = ctx;
    struct store_value v[] = {STORE_TEXT_V(r->hash), STORE_TEXT_V(r->person),
                              STORE_INT_V(r->expires),
                              r->ended ? STORE_INT_V(r->ended) : STORE_NULL_V};
    int rc =
        store_tx_exec(tx,
                      "INSERT INTO web_session (hash, person_id, csrf, amr, auth_time_ms, "
                      "created_ms, expires_ms, ended_ms) VALUES (?, ?, 'c', 'pwd', 0, 0, ?, ?)",
                      v, 4, e);
    return rc < 0 ? rc : 0;
}

static void sessions_go_when_expired_or_ended(void **state)
{
    struct fx *f = *state;
    struct ids ids;
    add_people(f, &ids);
    struct session_row s[] = {
        {"", ids.person, NOW - 2 * DAY, 0},         /* expired two days ago: goes */
        {"", ids.person, NOW + DAY, NOW - 2 * DAY}, /* signed out two days ago: goes */
        {"", ids.person, NOW + DAY, NOW - 3600000}, /* signed out an hour ago: within grace */
        {"", ids.person, NOW + DAY, 0},             /* live */
    };
    struct err e = {0};
    for (size_t i = 0; i < 4; i++) {
        memset(s[i].hash, 'a' + (int)i, 64);
        s[i].hash[64] = '\0';
        assert_int_equal(store_write(f->s, insert_session_fn, &s[i], &e), 0);
    }
    assert_int_equal(purge(f, NOW), 2);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM web_session"), 2);
}

static void a_run_is_bounded(void **state)
{
    struct fx *f = *state;
    struct ids ids;
    add_people(f, &ids);
    for (int i = 0; i < ID_PURGE_BATCH + 5; i++)
        add_token(f, &ids, NOW - 3 * DAY - i);
    assert_int_equal(purge(f, NOW), ID_PURGE_BATCH);
    assert_int_equal(purge(f, NOW), 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(only_rows_past_expiry_and_grace_go, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(sessions_go_when_expired_or_ended, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(a_run_is_bounded, setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

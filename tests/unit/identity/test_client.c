/* test_client.c - OAuth clients: registration round trips, the secret shown once and stored only
 * as a hash, its constant-time check, redirect URI rules, and every refused registration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "identity/client.h"
#include "identity/org.h"
#include "support/fixture.h"

/* ---- fixture: a fresh store in a temporary folder per test ---- */

static int fx_setup(void **state)
{
    return fx_setup_in(state, "client");
}

static const char *const app_uris[] = {"https://app.example.jp/callback",
                                       "http://127.0.0.1/callback"};

static struct id_client_new phr_app(void)
{
    struct id_client_new c = {
        .name = "あいづPHR",
        .kind = ID_CLIENT_PUBLIC,
        .redirect_uris = app_uris,
        .n_redirect_uris = 2,
        .scopes = "openid fhirUser offline_access patient/Observation.rs",
        .grant_types = ID_GRANT_AUTHORIZATION_CODE | ID_GRANT_REFRESH_TOKEN,
    };
    return c;
}

static struct id_client_new backend(void)
{
    struct id_client_new c = {
        .name = "Home doctor service",
        .kind = ID_CLIENT_CONFIDENTIAL,
        .scopes = "system/Observation.rs system/Patient.rs",
        .grant_types = ID_GRANT_CLIENT_CREDENTIALS,
    };
    return c;
}

static void register_ok(struct fx *f, const struct id_client_new *in, char id[IDS_LEN + 1],
                        char secret[ID_CLIENT_SECRET_LEN + 1])
{
    struct err e = {0};
    int rc = id_client_create(f->s, in, id, secret, &e);
    if (rc != 0)
        fprintf(stderr, "client: %s\n", e.msg);
    assert_int_equal(rc, 0);
    assert_true(ids_valid(id));
}

static void public_client_round_trip(void **state)
{
    struct fx *f = *state;
    struct id_client_new in = phr_app();
    char id[IDS_LEN + 1], secret[ID_CLIENT_SECRET_LEN + 1] = "x";
    register_ok(f, &in, id, secret);
    assert_string_equal(secret, ""); /* a public client has no secret */
    struct id_client c;
    struct err e = {0};
    assert_int_equal(id_client_get(f->s, id, &c, f->a, &e), 0);
    assert_string_equal(c.id, id);
    assert_string_equal(c.name, "あいづPHR");
    assert_int_equal(c.kind, ID_CLIENT_PUBLIC);
    assert_int_equal(c.n_redirect_uris, 2);
    assert_string_equal(c.redirect_uris[0], "https://app.example.jp/callback");
    assert_string_equal(c.redirect_uris[1], "http://127.0.0.1/callback");
    assert_string_equal(c.scopes, "openid fhirUser offline_access patient/Observation.rs");
    assert_int_equal(c.grant_types, ID_GRANT_AUTHORIZATION_CODE | ID_GRANT_REFRESH_TOKEN);
    assert_null(c.org_id);
    assert_false(c.has_secret);
    assert_true(c.created_ms > 0);
    /* exact matching: byte for byte */
    assert_true(id_client_redirect_registered(&c, "https://app.example.jp/callback"));
    assert_false(id_client_redirect_registered(&c, "https://app.example.jp/callback/"));
    assert_false(id_client_redirect_registered(&c, "https://APP.example.jp/callback"));
    assert_false(id_client_redirect_registered(&c, "https://app.example.jp/callback?x=1"));
    assert_false(id_client_redirect_registered(&c, NULL));
    assert_int_equal(id_client_check_secret(f->s, id, "", &e), ERR_INVALID);
    assert_string_equal(e.msg, "client_secret: this client has no secret");

    ids_new(id);
    assert_int_equal(id_client_get(f->s, id, &c, f->a, &e), ERR_NOTFOUND);
    assert_int_equal(id_client_get(f->s, "client-1", &c, f->a, &e), ERR_INVALID);
}

/* Does the file at path contain needle? */
static int file_contains(const char *path, const char *needle)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return 0;
    size_t n = strlen(needle), have = 0;
    char buf[1 << 16];
    int found = 0;
    for (;;) {
        size_t got = fread(buf + have, 1, sizeof buf - have, fp);
        have += got;
        for (size_t i = 0; !found && i + n <= have; i++)
            found = memcmp(buf + i, needle, n) == 0;
        if (got == 0 || found)
            break;
        memmove(buf, buf + have - (n - 1), n - 1); /* keep a possible partial match */
        have = n - 1;
    }
    fclose(fp);
    return found;
}

static int hash_col(const struct store_row *r, void *ctx)
{
    snprintf(ctx, 80, "%s", store_row_text(r, 0, NULL));
    return 1;
}

static void confidential_secret_is_shown_once_and_kept_hashed(void **state)
{
    struct fx *f = *state;
    char org[IDS_LEN + 1];
    struct id_org_new o = {ID_ORG_CLINIC, "湊ファミリークリニック", NULL, "湊", NULL, {0}};
    struct err e = {0};
    assert_int_equal(id_org_create(f->s, &o, org, &e), 0);
    struct id_client_new in = backend();
    in.org_id = org;
    char id[IDS_LEN + 1], secret[ID_CLIENT_SECRET_LEN + 1];
    register_ok(f, &in, id, secret);
    assert_int_equal(strlen(secret), ID_CLIENT_SECRET_LEN);
    assert_int_equal(strspn(secret, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                    "0123456789-_"),
                     ID_CLIENT_SECRET_LEN);
    struct id_client c;
    assert_int_equal(id_client_get(f->s, id, &c, f->a, &e), 0);
    assert_true(c.has_secret);
    assert_string_equal(c.org_id, org);
    assert_int_equal(c.n_redirect_uris, 0);
    assert_int_equal(c.grant_types, ID_GRANT_CLIENT_CREDENTIALS);

    /* stored: a 64-hex-digit BLAKE2b-256, not the secret */
    char stored[80] = "";
    struct store_value v[] = {STORE_TEXT_V(id)};
    assert_int_equal(store_query(f->s, "SELECT secret_hash FROM oauth_client WHERE id = ?", v, 1,
                                 hash_col, stored, &e),
                     0);
    assert_int_equal(strlen(stored), 64);
    assert_int_equal(strspn(stored, "0123456789abcdef"), 64);

    /* checked in constant time; only the exact secret matches */
    assert_int_equal(id_client_check_secret(f->s, id, secret, &e), 0);
    char wrong[ID_CLIENT_SECRET_LEN + 1];
    memcpy(wrong, secret, sizeof wrong);
    wrong[10] = wrong[10] == 'A' ? 'B' : 'A';
    assert_int_equal(id_client_check_secret(f->s, id, wrong, &e), ERR_INVALID);
    assert_string_equal(e.msg, "client_secret: does not match");
    wrong[ID_CLIENT_SECRET_LEN - 1] = '\0';
    memcpy(wrong, secret, ID_CLIENT_SECRET_LEN - 1); /* a prefix */
    assert_int_equal(id_client_check_secret(f->s, id, wrong, &e), ERR_INVALID);
    assert_int_equal(id_client_check_secret(f->s, id, "", &e), ERR_INVALID);
    assert_int_equal(id_client_check_secret(f->s, id, NULL, &e), ERR_INVALID);
    char huge[600];
    memset(huge, 'a', sizeof huge - 1);
    huge[sizeof huge - 1] = '\0';
    memcpy(huge, secret, ID_CLIENT_SECRET_LEN);
    assert_int_equal(id_client_check_secret(f->s, id, huge, &e), ERR_INVALID);
    char ghost[IDS_LEN + 1];
    ids_new(ghost);
    assert_int_equal(id_client_check_secret(f->s, ghost, secret, &e), ERR_NOTFOUND);

    /* a second client gets its own secret */
    char id2[IDS_LEN + 1], secret2[ID_CLIENT_SECRET_LEN + 1];
    register_ok(f, &in, id2, secret2);
    assert_string_not_equal(secret, secret2);
    assert_int_equal(id_client_check_secret(f->s, id2, secret, &e), ERR_INVALID);

    /* and the secret is nowhere on disk, in the database or its WAL */
    store_close(f->s);
    f->s = NULL;
    char path[256];
    snprintf(path, sizeof path, "%s/cityos.db", f->data);
    assert_true(file_contains(path, stored)); /* the search works: the hash is there */
    assert_false(file_contains(path, secret));
    snprintf(path, sizeof path, "%s/cityos.db-wal", f->data);
    assert_false(file_contains(path, secret));
    struct store_options so = {.data_dir = f->data};
    assert_int_equal(store_open(&f->s, &so, &e), 0);
    assert_int_equal(id_client_check_secret(f->s, id, secret, &e), 0);
}

static void redirect_uri_rules(void **state)
{
    (void)state;
    static const char *const good[] = {
        "https://app.example.jp/callback",
        "https://app.example.jp:8443/cb?tenant=aizu&x=1",
        "https://app.example.jp",
        "https://app.example.jp/c%C3%A9",
        "https://[2001:db8::1]/cb",
        "http://127.0.0.1/callback",
        "http://127.0.0.1:51004/oauth2redirect",
        "http://[::1]:8080/cb",
        "http://localhost/cb",
    };
    static const char *const bad[] = {
        "",
        "app.example.jp/callback",
        "//app.example.jp/callback",
        "/callback",
        "ftp://app.example.jp/callback",
        "HTTPS://app.example.jp/callback",
        "com.example.app:/oauth2redirect",
        "javascript:alert(1)",
        "http://app.example.jp/callback",
        "http://127.0.0.2/callback",
        "http://localhost.evil.example/cb",
        "http://127.0.0.1.evil.example/cb",
        "https://app.example.jp/callback#fragment",
        "https://app.example.jp/callback#",
        "https://user:pw@app.example.jp/cb",
        "https://evil.example@app.example.jp/cb",
        "https://app.example.jp:0/cb",
        "https://app.example.jp:65536/cb",
        "https://app.example.jp:/cb",
        "https://app.example.jp:80x/cb",
        "https://app.example.jp:123456/cb",
        "https:///callback",
        "https://app..example.jp/cb",
        "https://.app.example.jp/cb",
        "https://app_example.jp/cb",
        "https://[zz::1]/cb",
        "https://[]/cb",
        "https://app.example.jp/call back",
        "https://app.example.jp/<script>",
        "https://app.example.jp/cb?q=\"x\"",
        "https://app.example.jp/%zz",
        "https://app.example.jp/%4",
        "https://app.example.jp/caf\xc3\xa9",
        "https://app.example.jp/\x01",
        "https://app.example.jp/[cb]",
        "https://app.example.jp[/cb",
    };
    struct err e = {0};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (id_client_check_uri(good[i], &e) != 0)
            fail_msg("refused %s: %s", good[i], e.msg);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        e.msg[0] = '\0';
        if (id_client_check_uri(bad[i], &e) != ERR_INVALID)
            fail_msg("accepted %s", bad[i]);
        assert_int_equal(strncmp(e.msg, "redirect_uri: ", 14), 0);
    }
    char longest[ID_CLIENT_REDIRECT_MAX + 2];
    memset(longest, 'a', sizeof longest - 1);
    memcpy(longest, "https://app.example.jp/", 23);
    longest[ID_CLIENT_REDIRECT_MAX] = '\0';
    assert_int_equal(id_client_check_uri(longest, &e), 0);
    longest[ID_CLIENT_REDIRECT_MAX] = 'a';
    longest[ID_CLIENT_REDIRECT_MAX + 1] = '\0';
    assert_int_equal(id_client_check_uri(longest, &e), ERR_INVALID);
}

static void grant_types_parse_and_format(void **state)
{
    (void)state;
    unsigned g = 0;
    char buf[ID_GRANT_TYPES_TEXT_MAX];
    struct err e = {0};
    assert_int_equal(id_grant_types_parse("refresh_token,authorization_code", &g, &e), 0);
    assert_int_equal(g, ID_GRANT_AUTHORIZATION_CODE | ID_GRANT_REFRESH_TOKEN);
    assert_string_equal(id_grant_types_format(g, buf), "authorization_code,refresh_token");
    assert_int_equal(id_grant_types_parse("client_credentials", &g, &e), 0);
    assert_int_equal(g, ID_GRANT_CLIENT_CREDENTIALS);
    assert_int_equal(id_grant_types_parse("implicit", &g, &e), ERR_INVALID);
    assert_string_equal(e.msg, "grant_types: unknown grant type \"implicit\"");
    assert_int_equal(id_grant_types_parse("password", &g, &e), ERR_INVALID);
    assert_int_equal(id_grant_types_parse("", &g, &e), ERR_INVALID);
    assert_int_equal(id_grant_types_parse("refresh_token,refresh_token", &g, &e), ERR_INVALID);
    assert_int_equal(id_grant_types_parse("authorization_code,", &g, &e), ERR_INVALID);
    enum id_client_kind k;
    assert_int_equal(id_client_kind_parse("confidential", &k), 0);
    assert_int_equal(k, ID_CLIENT_CONFIDENTIAL);
    assert_int_equal(id_client_kind_parse("secret", &k), ERR_INVALID);
}

static void bad_registrations_are_refused_and_nothing_stored(void **state)
{
    struct fx *f = *state;
    static const char *const dup[] = {"https://a.example/cb", "https://a.example/cb"};
    static const char *const one_bad[] = {"https://a.example/cb", "https://a.example/cb#x"};
    static const char *const with_null[] = {NULL};
    static const char *const eleven[] = {
        "https://a.example/1", "https://a.example/2",  "https://a.example/3", "https://a.example/4",
        "https://a.example/5", "https://a.example/6",  "https://a.example/7", "https://a.example/8",
        "https://a.example/9", "https://a.example/10", "https://a.example/11"};
    char many_scopes[1024] = "";
    for (int i = 0; i < 65; i++) {
        size_t used = strlen(many_scopes);
        snprintf(many_scopes + used, sizeof many_scopes - used, "%ss%d", i ? " " : "", i);
    }
    struct {
        const char *field;
        struct id_client_new c;
    } cases[] = {
        {"name:", phr_app()},          {"name:", phr_app()},          {"kind:", phr_app()},
        {"grant_types:", phr_app()},   {"grant_types:", phr_app()},   {"grant_types:", phr_app()},
        {"grant_types:", backend()},   {"redirect_uris:", phr_app()}, {"redirect_uris:", backend()},
        {"redirect_uris:", phr_app()}, {"redirect_uris:", phr_app()}, {"redirect_uri:", phr_app()},
        {"redirect_uri:", phr_app()},  {"scopes:", phr_app()},        {"scopes:", phr_app()},
        {"scopes:", phr_app()},        {"scopes:", phr_app()},        {"scopes:", phr_app()},
        {"scopes:", phr_app()},        {"scopes:", phr_app()},        {"org_id:", backend()},
    };
    int i = 0;
    cases[i++].c.name = "";
    cases[i++].c.name = "\x7f app";
    cases[i++].c.kind = (enum id_client_kind)2;
    cases[i++].c.grant_types = 0;
    cases[i++].c.grant_types |= ID_GRANT_CLIENT_CREDENTIALS; /* a public client */
    cases[i++].c.grant_types = 8;
    cases[i++].c.grant_types = ID_GRANT_CLIENT_CREDENTIALS | ID_GRANT_REFRESH_TOKEN;
    cases[i++].c.n_redirect_uris = 0;
    cases[i].c.redirect_uris = app_uris, cases[i++].c.n_redirect_uris = 1;
    cases[i].c.redirect_uris = dup, cases[i++].c.n_redirect_uris = 2;
    cases[i].c.redirect_uris = eleven, cases[i++].c.n_redirect_uris = 11;
    cases[i].c.redirect_uris = one_bad, cases[i++].c.n_redirect_uris = 2;
    cases[i].c.redirect_uris = with_null, cases[i++].c.n_redirect_uris = 1;
    cases[i++].c.scopes = "";
    cases[i++].c.scopes = NULL;
    cases[i++].c.scopes = "openid  profile";
    cases[i++].c.scopes = " openid";
    cases[i++].c.scopes = "openid \"profile\"";
    cases[i++].c.scopes = "openid patient/Observation.rc"; /* permissions out of order */
    cases[i++].c.scopes = many_scopes;
    cases[i++].c.org_id = "not-an-org";
    assert_int_equal(i, (int)(sizeof cases / sizeof cases[0]));
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char id[IDS_LEN + 1] = "", secret[ID_CLIENT_SECRET_LEN + 1] = "x";
        struct err e = {0};
        int rc = id_client_create(f->s, &cases[k].c, id, secret, &e);
        if (rc != ERR_INVALID || strncmp(e.msg, cases[k].field, strlen(cases[k].field)) != 0)
            fail_msg("case %zu (%s): rc %d, \"%s\"", k, cases[k].field, rc, e.msg);
        assert_string_equal(id, "");
        assert_string_equal(secret, "");
    }
    struct id_client_new c = backend();
    char ghost[IDS_LEN + 1], id[IDS_LEN + 1], secret[ID_CLIENT_SECRET_LEN + 1];
    ids_new(ghost);
    c.org_id = ghost;
    struct err e = {0};
    assert_int_equal(id_client_create(f->s, &c, id, secret, &e), ERR_NOTFOUND);
    assert_string_equal(e.msg, "org_id: no such organisation");
    assert_string_equal(secret, "");
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM oauth_client"), 0);
}

int main(void)
{
    log_set_level(LOGL_WARN);
    if (ids_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(public_client_round_trip, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(confidential_secret_is_shown_once_and_kept_hashed, fx_setup,
                                        fx_teardown),
        cmocka_unit_test(redirect_uri_rules),
        cmocka_unit_test(grant_types_parse_and_format),
        cmocka_unit_test_setup_teardown(bad_registrations_are_refused_and_nothing_stored, fx_setup,
                                        fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

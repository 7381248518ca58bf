/* test_oauth_code.c - the authorization-code flow as a specification, on a demo town: sign-in,
 * the approval page, PKCE S256, the token endpoint for codes and refresh tokens, ID tokens,
 * userinfo, revocation and introspection, acting for a family member or in a role, and every
 * refusal with its RFC 6749 / 6750 / OIDC answer; the person claims handed to an app (ID token,
 * userinfo) on the person's audit trail, and nothing there for a refused exchange. */
#include "oidc_flow.h"
#include "trail.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TARO_EMAIL     "taro.aizu@example.jp"
#define TARO_PASSWORD  "Minato-Tsuru-7Kq3-Bx9w"
#define MISAKI_EMAIL   "misaki.sato@example.jp"
#define MISAKI_PASS    "Misaki-Kaki-9Tn5-Hc3j"
#define DOCTOR_EMAIL   "dr.yamaguchi@minato-clinic.example.jp"
#define DOCTOR_PASS    "Clinic-Inawa-3Wf7-Ld8s"
#define APP_REDIRECT   "http://127.0.0.1:8765/callback"
#define APP_REDIRECT_2 "https://phr.example.jp/callback"
#define APP_SCOPE      "openid profile fhirUser offline_access launch/patient patient/*.rs"
#define WEB_REDIRECT   "https://web.example/cb"
#define WEB_NAME       "Web <b>\"A&B\"</b> 's"
#define WEB_NAME_HTML  "Web &lt;b&gt;&quot;A&amp;B&quot;&lt;/b&gt; &#39;s"
#define STAFF_REDIRECT "http://127.0.0.1:8765/staff"
#define STATE          "st-4f9a~x.y_z"
#define NONCE          "n-0S6_WzA2Mj"
#define WRONG_VERIFIER "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

struct client {
    char id[64];
    char secret[64];
};

/* One demo town and server for the whole file; every test signs in with its own browser. */
struct fixture {
    char *dir;
    struct server *s;
    char issuer[256];
    struct client app;   /* the demo's public sample app (authorization_code, refresh_token) */
    struct client web;   /* confidential, authorization_code + refresh_token, a tricky name */
    struct client intro; /* confidential, client_credentials + cityos.introspect */
    struct client staff; /* public, user/ scopes: practitioners */
    char stranger[64];   /* a person nobody may act for */
    void *junk[512];     /* freed after each test */
    size_t njunk;
};

static struct fixture *F;

/* Keeps p until the test ends (then frees it). */
static char *keep(char *p)
{
    assert_true(F->njunk < sizeof F->junk / sizeof F->junk[0]);
    F->junk[F->njunk++] = p;
    return p;
}

/* 'text' quoted for the shell. */
static char *shell_quote(const char *text)
{
    char *out = str_printf("'");
    for (const char *p = text; *p; p++) {
        char *next = *p == '\'' ? str_printf("%s'\\''", out) : str_printf("%s%c", out, *p);
        free(out);
        out = next;
    }
    char *done = str_printf("%s'", out);
    free(out);
    return done;
}

/* Runs `cityos <args> --data-dir=<dir>` and returns its stdout (malloc'ed); fails unless 0. */
static char *cli(const char *dir, const char *args)
{
    char *cmd = str_printf("'%s' %s --data-dir='%s' 2>/dev/null", getenv("CITYOS_BIN"), args, dir);
    char *run = harness_command(cmd); /* a PostgreSQL run: the folder's database */
    FILE *p = popen(run, "r");
    free(run);
    assert_non_null(p);
    size_t cap = 4096, len = 0;
    char *out = malloc(cap);
    assert_non_null(out);
    size_t n;
    while ((n = fread(out + len, 1, cap - len - 1, p)) > 0) {
        len += n;
        if (cap - len < 512) {
            cap *= 2;
            out = realloc(out, cap);
            assert_non_null(out);
        }
    }
    out[len] = '\0';
    int st = pclose(p);
    if (st != 0) {
        fprintf(stderr, "%s: exit %d\n%s\n", cmd, st, out);
        fail();
    }
    free(cmd);
    return out;
}

/* The value after "key=" on the first line of text that contains marker (or any line when
 * marker is NULL), up to a space or the end of the line. */
static void value_after(const char *text, const char *marker, const char *key, char *out,
                        size_t cap)
{
    out[0] = '\0';
    for (const char *line = text; line != NULL && *line != '\0';) {
        const char *end = strchr(line, '\n');
        size_t n = end != NULL ? (size_t)(end - line) : strlen(line);
        char *l = str_printf("%.*s", (int)n, line);
        const char *k = strstr(l, key);
        if ((marker == NULL || strstr(l, marker) != NULL) && k != NULL) {
            k += strlen(key);
            snprintf(out, cap, "%.*s", (int)strcspn(k, " \n"), k);
            free(l);
            return;
        }
        free(l);
        line = end != NULL ? end + 1 : NULL;
    }
}

static void add_client(const char *dir, const char *name, const char *args, struct client *c)
{
    char *q = shell_quote(name);
    char *cmd = str_printf("client add --name=%s %s", q, args);
    char *out = cli(dir, cmd);
    value_after(out, NULL, "client_id=", c->id, sizeof c->id);
    value_after(out, NULL, "client_secret=", c->secret, sizeof c->secret);
    assert_int_equal(strlen(c->id), 26);
    free(out);
    free(cmd);
    free(q);
}

static int group_setup(void **state)
{
    (void)state;
    F = calloc(1, sizeof *F);
    F->dir = temp_dir();
    char *out = cli(F->dir, "demo --people=20 --seed=1");
    value_after(out, "sample app", "client_id=", F->app.id, sizeof F->app.id);
    assert_int_equal(strlen(F->app.id), 26);
    free(out);
    F->s = server_start_with(&(struct server_config){.data_dir = F->dir});
    add_client(F->dir, WEB_NAME,
               "--kind=confidential --grant-types=authorization_code,refresh_token "
               "--redirect-uri=" WEB_REDIRECT " --scopes='openid profile offline_access "
               "launch/patient patient/*.rs'",
               &F->web);
    assert_int_equal(strlen(F->web.secret), 43);
    add_client(F->dir, "Introspector",
               "--kind=confidential --grant-types=client_credentials "
               "--scopes='system/Observation.rs cityos.introspect'",
               &F->intro);
    add_client(F->dir, "Clinic desk",
               "--kind=public --grant-types=authorization_code --redirect-uri=" STAFF_REDIRECT
               " --scopes='openid fhirUser user/*.rs'",
               &F->staff);
    out = cli(F->dir, "user add --family-name=山田 --given-name=花 --family-name-kana=ヤマダ "
                      "--given-name-kana=ハナ --birth-date=1990-04-01 --sex=female "
                      "--district=湊町");
    /* it prints the regional ID alone on a line */
    snprintf(F->stranger, sizeof F->stranger, "%.*s", (int)strcspn(out, "\n"), out);
    assert_int_equal(strlen(F->stranger), 26);
    free(out);
    struct resp r = api_get(F->s, "/.well-known/openid-configuration");
    assert_status(&r, 200);
    snprintf(F->issuer, sizeof F->issuer, "%s",
             json_string_value(json_object_get(r.json, "issuer")));
    assert_true(F->issuer[0] != '\0');
    resp_free(&r);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    server_free(F->s);
    remove_tree(F->dir);
    free(F->dir);
    free(F);
    return 0;
}

static int test_teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < F->njunk; i++)
        free(F->junk[i]);
    F->njunk = 0;
    return 0;
}

/* ---- requests ---- */

/* /oauth/authorize?... for the sample app with the standard parameters, changed by overrides
 * (name, value pairs, NULL-terminated; a NULL value removes the parameter, a new name is
 * added). Kept until the test ends. */
static const char *authz_path(const char *const *overrides)
{
    const char *pairs[40] = {"client_id",
                             F->app.id,
                             "redirect_uri",
                             APP_REDIRECT,
                             "response_type",
                             "code",
                             "scope",
                             APP_SCOPE,
                             "state",
                             STATE,
                             "code_challenge",
                             PKCE_CHALLENGE,
                             "code_challenge_method",
                             "S256",
                             "nonce",
                             NONCE};
    size_t n = 16;
    for (size_t i = 0; overrides != NULL && overrides[i] != NULL; i += 2) {
        size_t k = 0;
        while (k < n && strcmp(pairs[k], overrides[i]) != 0)
            k += 2;
        if (k == n) {
            assert_true(n + 2 < sizeof pairs / sizeof pairs[0]);
            pairs[n] = overrides[i];
            n += 2;
        }
        pairs[k + 1] = overrides[i + 1];
    }
    pairs[n] = NULL;
    char *q = form_of(pairs);
    char *path = keep(str_printf("/oauth/authorize?%s", q));
    free(q);
    return path;
}

/* A new browser, signed in as email; freed with browser_free(). */
static struct browser *signed_in(const char *email, const char *password)
{
    struct browser *b = browser_new(F->s);
    free(browser_sign_in(b, email, password, NULL));
    return b;
}

/* Shows the approval page of path (asserting 200) and answers it: every hidden field but
 * those in skip, then extra (a form body, may be NULL). Returns the answer. */
static struct resp answer_page(struct browser *b, const char *path, const char *const *skip,
                               const char *extra)
{
    struct resp page = browser_get(b, path);
    assert_status(&page, 200);
    char *form = html_hidden_form(page.body, skip);
    char *body = extra != NULL ? str_printf("%s&%s", form, extra) : strdup(form);
    resp_free(&page);
    struct resp r = browser_post(b, "/oauth/authorize", body);
    free(body);
    free(form);
    return r;
}

/* Approves path acting as act_as ("self", "for:<id>", "role:<id>"); asserts the 303 back to
 * redirect_uri with a code, the state and iss. Returns the code (kept). */
static const char *approve(struct browser *b, const char *path, const char *redirect_uri,
                           const char *act_as)
{
    char *extra = str_printf("act_as=%s&decision=approve", act_as);
    struct resp r = answer_page(b, path, LIST("act_as"), extra);
    free(extra);
    if (r.status != 303) {
        fprintf(stderr, "approval: %ld %s\n", r.status, r.body);
        fail();
    }
    const char *loc = resp_header(&r, "Location");
    assert_non_null(loc);
    assert_true(strncmp(loc, redirect_uri, strlen(redirect_uri)) == 0 &&
                loc[strlen(redirect_uri)] == '?');
    char *state = url_param(loc, "state"), *iss = url_param(loc, "iss");
    assert_non_null(state);
    assert_string_equal(state, STATE);
    assert_non_null(iss);
    assert_string_equal(iss, F->issuer);
    assert_null(url_param(loc, "error"));
    char *code = url_param(loc, "code");
    assert_non_null(code);
    assert_int_equal(strlen(code), 43);
    free(state);
    free(iss);
    resp_free(&r);
    return keep(code);
}

/* Signs in as email and approves the sample app's standard request (with overrides). */
static const char *app_code(const char *email, const char *password, const char *const *overrides)
{
    struct browser *b = signed_in(email, password);
    const char *code = approve(b, authz_path(overrides), APP_REDIRECT, "self");
    browser_free(b);
    return code;
}

static struct resp form_post(const char *path, const char *auth, const char *body)
{
    return api(F->s, "POST", path, auth != NULL ? LIST(FORM_HEADER, auth) : LIST(FORM_HEADER), body,
               strlen(body));
}

/* POST /oauth/token for the sample app (a public client: client_id in the body). */
static struct resp app_token(const char *const *pairs)
{
    char *body = form_of(pairs);
    struct resp r = form_post("/oauth/token", NULL, body);
    free(body);
    return r;
}

static struct resp exchange_code(const char *code, const char *redirect_uri, const char *verifier)
{
    return app_token(LIST("grant_type", "authorization_code", "client_id", F->app.id, "code", code,
                          "redirect_uri", redirect_uri, "code_verifier", verifier));
}

static struct resp refresh(const char *refresh_token)
{
    return app_token(LIST("grant_type", "refresh_token", "client_id", F->app.id, "refresh_token",
                          refresh_token));
}

static const char *str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* Does every space-separated word of a occur in b? */
static int words_within(const char *a, const char *b)
{
    for (const char *p = a; *p != '\0';) {
        size_t n = strcspn(p, " ");
        int found = 0;
        for (const char *q = b; *q != '\0' && !found;) {
            size_t m = strcspn(q, " ");
            found = m == n && strncmp(p, q, n) == 0;
            q += m + (q[m] == ' ');
        }
        if (!found)
            return 0;
        p += n + (p[n] == ' ');
    }
    return 1;
}

/* The same scope (a set: RFC 6749 3.3 leaves the order to the server). */
#define assert_scope(got, want) assert_scope_at((got), (want), __LINE__)
static void assert_scope_at(const char *got, const char *want, int line)
{
    if (got == NULL || !words_within(got, want) || !words_within(want, got)) {
        fprintf(stderr, "line %d: scope \"%s\", wanted \"%s\"\n", line, got ? got : "(none)", want);
        fail();
    }
}

/* A member of a 200 token answer, kept; fails when absent. */
static const char *member(const struct resp *r, const char *key)
{
    const char *v = str(r->json, key);
    if (v == NULL) {
        fprintf(stderr, "no %s in %ld %s\n", key, r->status, r->body);
        fail();
    }
    return keep(strdup(v));
}

struct tokens {
    const char *access, *refresh, *id_token, *patient;
};

/* A 200 token answer: Bearer, 900 s, no-store; its tokens kept. */
static struct tokens tokens_of(struct resp *r)
{
    if (r->status != 200) {
        fprintf(stderr, "token answer: %ld %s\n", r->status, r->body);
        fail();
    }
    assert_header(r, "Cache-Control", "no-store");
    assert_header(r, "Pragma", "no-cache");
    assert_string_equal(str(r->json, "token_type"), "Bearer");
    assert_int_equal(json_integer_value(json_object_get(r->json, "expires_in")), 900);
    struct tokens t = {member(r, "access_token"), NULL, NULL, NULL};
    assert_int_equal(strlen(t.access), 43);
    if (str(r->json, "refresh_token") != NULL)
        t.refresh = member(r, "refresh_token");
    if (str(r->json, "id_token") != NULL)
        t.id_token = member(r, "id_token");
    if (str(r->json, "patient") != NULL)
        t.patient = member(r, "patient");
    resp_free(r);
    return t;
}

/* The sample app's standard flow for email, up to the tokens. */
static struct tokens app_tokens(const char *email, const char *password)
{
    const char *code = app_code(email, password, NULL);
    struct resp r = exchange_code(code, APP_REDIRECT, PKCE_VERIFIER);
    return tokens_of(&r);
}

static struct resp bearer_get(const char *path, const char *token)
{
    char *auth = str_printf("Authorization: Bearer %s", token);
    struct resp r = api(F->s, "GET", path, LIST(auth), NULL, 0);
    free(auth);
    return r;
}

/* GET /oauth/userinfo with token: 200, or 401 invalid_token with its challenge. */
static void assert_userinfo_refuses(const char *token)
{
    struct resp r = bearer_get("/oauth/userinfo", token);
    assert_problem(&r, 401, "unauthorized");
    const char *ch = resp_header(&r, "WWW-Authenticate");
    assert_non_null(ch);
    assert_non_null(strstr(ch, "error=\"invalid_token\""));
    resp_free(&r);
}

static void assert_userinfo_ok(const char *token)
{
    struct resp r = bearer_get("/oauth/userinfo", token);
    assert_status(&r, 200);
    resp_free(&r);
}

/* Durable writes the server made so far (ok and failed). */
static double writes(void)
{
    struct resp r = api_get(F->s, "/metrics");
    assert_status(&r, 200);
    double ok = metric_value(r.body, "cityos_store_writes_total{outcome=\"ok\"}");
    double failed = metric_value(r.body, "cityos_store_writes_total{outcome=\"failed\"}");
    resp_free(&r);
    return ok + failed;
}

/* An RFC 6749 5.2 error answer: status, {error, error_description}, no-store. */
#define assert_oauth_error(r, st, code) assert_oauth_error_at((r), (st), (code), __LINE__)
static void assert_oauth_error_at(struct resp *r, long status, const char *code, int line)
{
    if (r->status != status || r->json == NULL || str(r->json, "error") == NULL ||
        strcmp(str(r->json, "error"), code) != 0) {
        fprintf(stderr, "line %d: wanted %ld %s, got %ld %s\n", line, status, code, r->status,
                r->body);
        fail();
    }
    assert_header(r, "Content-Type", "application/json");
    assert_header(r, "Cache-Control", "no-store");
    assert_non_null(str(r->json, "error_description"));
    assert_int_equal(json_object_size(r->json), 2);
    if (status == 401)
        assert_header(r, "WWW-Authenticate", "Basic realm=\"cityos\"");
    resp_free(r);
}

/* A 303 back to redirect_uri with error (RFC 6749 4.1.2.1): error_description, the state when
 * state is not NULL (else none), iss (RFC 9207), and no code. */
#define assert_redirect_error(r, redirect_uri, error, state)                                       \
    assert_redirect_error_at((r), (redirect_uri), (error), (state), __LINE__)
static void assert_redirect_error_at(struct resp *r, const char *redirect_uri, const char *error,
                                     const char *state, int line)
{
    const char *loc = resp_header(r, "Location");
    char *got = loc != NULL ? url_param(loc, "error") : NULL;
    if (r->status != 303 || loc == NULL || got == NULL || strcmp(got, error) != 0) {
        fprintf(stderr, "line %d: wanted a 303 with error=%s, got %ld Location %s\n", line, error,
                r->status, loc != NULL ? loc : "(none)");
        fail();
    }
    assert_true(strncmp(loc, redirect_uri, strlen(redirect_uri)) == 0 &&
                loc[strlen(redirect_uri)] == '?');
    char *desc = url_param(loc, "error_description");
    char *st = url_param(loc, "state");
    char *iss = url_param(loc, "iss");
    char *code = url_param(loc, "code");
    assert_non_null(desc);
    if (state != NULL) {
        assert_non_null(st);
        assert_string_equal(st, state);
    } else {
        assert_null(st);
    }
    assert_non_null(iss);
    assert_string_equal(iss, F->issuer);
    assert_null(code);
    assert_header(r, "Cache-Control", "no-store");
    free(got);
    free(desc);
    free(st);
    free(iss);
    resp_free(r);
}

/* An HTML error page with status and the page headers, and no redirect anywhere. */
#define assert_error_page(r, st) assert_error_page_at((r), (st), __LINE__)
static void assert_error_page_at(struct resp *r, long status, int line)
{
    if (r->status != status || resp_header(r, "Location") != NULL) {
        fprintf(stderr, "line %d: wanted a %ld page without Location, got %ld Location %s\n", line,
                status, r->status,
                resp_header(r, "Location") ? resp_header(r, "Location") : "(none)");
        fail();
    }
    assert_header(r, "Content-Type", "text/html; charset=utf-8");
    assert_header(r, "X-Frame-Options", "DENY");
    assert_non_null(resp_header(r, "Content-Security-Policy"));
    assert_non_null(strstr(r->body, "<!DOCTYPE html>"));
    assert_null(strstr(r->body, "code="));
    resp_free(r);
}

static struct resp anon_get(const char *path)
{
    return api(F->s, "GET", path, NULL, NULL, 0);
}

/* ---- the happy path ---- */

/* discovery names the endpoints; GET authorize without a session -> /signin -> back to
 * authorize -> the approval page -> a code -> tokens -> ID token, userinfo, introspection ->
 * refresh -> revoke the refresh token -> every token of the grant dead */
static void the_whole_code_flow_of_a_public_app(void **state)
{
    (void)state;
    struct resp r = anon_get("/.well-known/openid-configuration");
    assert_status(&r, 200);
    assert_non_null(strstr(str(r.json, "authorization_endpoint"), "/oauth/authorize"));
    assert_non_null(strstr(str(r.json, "token_endpoint"), "/oauth/token"));
    assert_non_null(strstr(str(r.json, "userinfo_endpoint"), "/oauth/userinfo"));
    resp_free(&r);

    struct browser *b = browser_new(F->s);
    b->lang = "en";
    const char *path = authz_path(NULL);
    r = browser_get(b, path);
    assert_status(&r, 303);
    const char *loc = resp_header(&r, "Location");
    assert_non_null(loc);
    assert_true(strncmp(loc, "/signin?return_to=", 18) == 0);
    char *back = keep(url_param(loc, "return_to"));
    assert_true(strncmp(back, "/oauth/authorize?", 17) == 0);
    char *back_state = url_param(back, "state");
    char *back_client = url_param(back, "client_id");
    assert_string_equal(back_state, STATE);
    assert_string_equal(back_client, F->app.id);
    free(back_state);
    free(back_client);
    resp_free(&r);

    char *after = browser_sign_in(b, TARO_EMAIL, TARO_PASSWORD, back);
    assert_string_equal(after, back);
    free(after);

    r = browser_get(b, back);
    assert_status(&r, 200);
    assert_header(&r, "Content-Type", "text/html; charset=utf-8");
    assert_header(&r, "X-Frame-Options", "DENY");
    assert_header(&r, "Cache-Control", "no-store");
    const char *csp = resp_header(&r, "Content-Security-Policy");
    assert_non_null(csp);
    assert_non_null(strstr(csp, "frame-ancestors 'none'"));
    assert_non_null(strstr(csp, "default-src 'none'"));
    assert_non_null(strstr(r.body, "みなとPHR (sample app)"));
    assert_non_null(strstr(r.body, "会津 太郎"));
    assert_non_null(strstr(r.body, APP_REDIRECT));
    char *csrf = html_input(r.body, "csrf", NULL);
    assert_non_null(csrf);
    assert_true(strlen(csrf) >= 43);
    free(csrf);
    resp_free(&r);

    const char *code = approve(b, back, APP_REDIRECT, "self");
    browser_free(b);

    r = exchange_code(code, APP_REDIRECT, PKCE_VERIFIER);
    assert_status(&r, 200);
    assert_scope(str(r.json, "scope"), APP_SCOPE);
    struct tokens t = tokens_of(&r);
    assert_non_null(t.refresh);
    assert_int_equal(strlen(t.refresh), 43);
    assert_non_null(t.id_token);
    assert_non_null(t.patient);
    assert_int_equal(strlen(t.patient), 26);

    /* the ID token: EdDSA; iss, aud, sub, nonce, 15 minutes, amr */
    json_t *h = jwt_part(t.id_token, 0);
    assert_non_null(h);
    assert_string_equal(str(h, "alg"), "EdDSA");
    assert_non_null(str(h, "kid"));
    json_decref(h);
    json_t *idt = jwt_part(t.id_token, 1);
    assert_non_null(idt);
    assert_string_equal(str(idt, "iss"), F->issuer);
    assert_string_equal(str(idt, "aud"), F->app.id);
    assert_string_equal(str(idt, "sub"), t.patient);
    assert_string_equal(str(idt, "nonce"), NONCE);
    json_int_t exp = json_integer_value(json_object_get(idt, "exp"));
    json_int_t iat = json_integer_value(json_object_get(idt, "iat"));
    assert_int_equal(exp - iat, 900);
    json_int_t auth_time = json_integer_value(json_object_get(idt, "auth_time"));
    assert_true(auth_time > 0 && auth_time <= iat);
    json_t *amr = json_object_get(idt, "amr");
    assert_true(json_is_array(amr) && json_array_size(amr) == 1);
    assert_string_equal(json_string_value(json_array_get(amr, 0)), "pwd");
    assert_string_equal(str(idt, "name"), "会津 太郎"); /* profile */
    json_decref(idt);

    /* userinfo: the person who approved, with the claims of profile and fhirUser */
    r = bearer_get("/oauth/userinfo", t.access);
    assert_status(&r, 200);
    assert_header(&r, "Cache-Control", "no-store");
    assert_string_equal(str(r.json, "sub"), t.patient);
    assert_string_equal(str(r.json, "name"), "会津 太郎");
    assert_string_equal(str(r.json, "family_name"), "会津");
    assert_string_equal(str(r.json, "given_name"), "太郎");
    assert_string_equal(str(r.json, "name#ja-Kana-JP"), "アイヅ タロウ");
    assert_string_equal(str(r.json, "gender"), "male");
    char *fhir_user = str_printf("%s/fhir/Patient/%s", F->issuer, t.patient);
    assert_string_equal(str(r.json, "fhirUser"), fhir_user);
    free(fhir_user);
    resp_free(&r);

    r = bearer_get("/api/v1/me/token", t.access);
    assert_status(&r, 200);
    assert_string_equal(str(r.json, "kind"), "person");
    assert_string_equal(str(r.json, "sub"), t.patient);
    assert_string_equal(str(r.json, "client_id"), F->app.id);
    assert_null(json_object_get(r.json, "acting_for"));
    resp_free(&r);

    /* refresh: a new pair; the new ID token carries no nonce (OIDC Core 12.2) */
    r = refresh(t.refresh);
    struct tokens t2 = tokens_of(&r);
    assert_non_null(t2.refresh);
    assert_string_not_equal(t2.access, t.access);
    assert_string_not_equal(t2.refresh, t.refresh);
    if (t2.id_token != NULL) {
        json_t *idt2 = jwt_part(t2.id_token, 1);
        assert_non_null(idt2);
        assert_string_equal(str(idt2, "sub"), t.patient);
        assert_null(json_object_get(idt2, "nonce"));
        json_decref(idt2);
    }
    assert_userinfo_ok(t2.access);

    /* introspection by a confidential client allowed to introspect */
    char *auth = basic_auth_header(F->intro.id, F->intro.secret);
    char *body = str_printf("token=%s", t2.access);
    r = form_post("/oauth/introspect", auth, body);
    assert_status(&r, 200);
    assert_true(json_is_true(json_object_get(r.json, "active")));
    assert_string_equal(str(r.json, "sub"), t.patient);
    assert_string_equal(str(r.json, "client_id"), F->app.id);
    assert_scope(str(r.json, "scope"), APP_SCOPE);
    resp_free(&r);

    /* the app revokes its refresh token: the grant ends, and every access token with it */
    char *rv = form_of(
        LIST("client_id", F->app.id, "token", t2.refresh, "token_type_hint", "refresh_token"));
    r = form_post("/oauth/revoke", NULL, rv);
    free(rv);
    assert_status(&r, 200);
    assert_int_equal(r.len, 0);
    resp_free(&r);
    assert_userinfo_refuses(t2.access);
    assert_userinfo_refuses(t.access);
    r = form_post("/oauth/introspect", auth, body);
    assert_status(&r, 200);
    assert_true(json_is_false(json_object_get(r.json, "active")));
    assert_int_equal(json_object_size(r.json), 1);
    resp_free(&r);
    r = refresh(t2.refresh);
    assert_oauth_error(&r, 400, "invalid_grant");
    free(body);
    free(auth);
}

/* a confidential client: the approval page shows its name escaped; the code needs its secret
 * (a failed authentication does not use the code up) */
static void a_confidential_client_authenticates_at_the_token_endpoint(void **state)
{
    (void)state;
    struct browser *b = signed_in(TARO_EMAIL, TARO_PASSWORD);
    const char *path = authz_path(LIST("client_id", F->web.id, "redirect_uri", WEB_REDIRECT,
                                       "scope", "openid profile offline_access"));
    struct resp r = browser_get(b, path);
    assert_status(&r, 200);
    assert_non_null(strstr(r.body, WEB_NAME_HTML));
    assert_null(strstr(r.body, "<b>"));
    assert_null(strstr(r.body, "\"A&B\""));
    resp_free(&r);
    const char *code = approve(b, path, WEB_REDIRECT, "self");
    browser_free(b);

    double w0 = writes();
    const char *const form[] = {
        "grant_type", "authorization_code", "code",        code, "redirect_uri",
        WEB_REDIRECT, "code_verifier",      PKCE_VERIFIER, NULL};
    char *body = form_of(form);
    char *wrong = basic_auth_header(F->web.id, "not-the-secret-of-this-client-0123456789abc");
    r = form_post("/oauth/token", wrong, body);
    assert_oauth_error(&r, 401, "invalid_client");
    char *no_secret = str_printf("%s&client_id=%s", body, F->web.id);
    r = form_post("/oauth/token", NULL, no_secret);
    assert_oauth_error(&r, 401, "invalid_client");
    assert_true(writes() == w0);

    char *right = basic_auth_header(F->web.id, F->web.secret);
    r = form_post("/oauth/token", right, body);
    struct tokens t = tokens_of(&r);
    assert_non_null(t.refresh);
    assert_non_null(t.id_token);
    assert_null(t.patient); /* no launch/patient asked */
    free(right);
    free(no_secret);
    free(wrong);
    free(body);
}

/* ---- refusals at the token endpoint ---- */

static void a_wrong_code_verifier_is_invalid_grant(void **state)
{
    (void)state;
    const char *code = app_code(TARO_EMAIL, TARO_PASSWORD, NULL);
    double w0 = writes();
    struct resp r = exchange_code(code, APP_REDIRECT, WRONG_VERIFIER);
    assert_oauth_error(&r, 400, "invalid_grant");
    r = app_token(LIST("grant_type", "authorization_code", "client_id", F->app.id, "code", code,
                       "redirect_uri", APP_REDIRECT));
    assert_oauth_error(&r, 400, "invalid_request"); /* no verifier at all */
    r = exchange_code(code, APP_REDIRECT, "short");
    assert_oauth_error(&r, 400, "invalid_request"); /* not a verifier (RFC 7636 4.1) */
    assert_true(writes() == w0);
}

/* a code used twice: invalid_grant, and the grant of the first exchange is revoked with its
 * access and refresh tokens (RFC 6749 4.1.2, 10.5) */
/* ---- the audit trail ---- */

static json_int_t seq_of(const json_t *it)
{
    return json_integer_value(json_object_get(it, "seq"));
}

/* The newest seq of the token's own trail (that read is recorded after it, as newest + 1). */
static json_int_t trail_top(const char *token)
{
    json_t *items = trail_items(F->s, token, 1);
    json_int_t top = seq_of(json_array_get(items, 0));
    json_decref(items);
    return top;
}

/* The reads of the person's profile by an app (actor kind client) newer than seq after. */
static size_t client_profile_reads_since(const char *token, json_int_t after)
{
    json_t *items = trail_items(F->s, token, 100);
    size_t n = 0;
    for (size_t i = 0; i < json_array_size(items); i++) {
        json_t *it = json_array_get(items, i);
        const char *kind = trail_text(it, "who.kind"), *type = trail_text(it, "what.resourceType");
        n += seq_of(it) > after && strcmp(kind, "client") == 0 && type != NULL &&
             strcmp(type, "Patient") == 0;
    }
    json_decref(items);
    return n;
}

/* The ID token's person claims are a read of 太郎's profile by the app on his behalf, recorded
 * in the redeeming write; userinfo is a read by 太郎 himself through the app, recorded before
 * the answer. */
static void the_claims_handed_to_the_app_are_on_the_trail(void **state)
{
    (void)state;
    struct tokens t = app_tokens(TARO_EMAIL, TARO_PASSWORD);
    assert_non_null(t.id_token);
    const char *taro = t.patient; /* launch/patient acting as himself: his regional ID */
    json_t *items = trail_items(F->s, t.access, 2);
    json_t *idt = json_array_get(items, 0); /* the exchange, then (before it) the sign-in */
    assert_string_equal(trail_text(idt, "what.action"), "read");
    assert_string_equal(trail_text(idt, "what.resourceType"), "Patient");
    assert_string_equal(trail_text(idt, "what.resourceId"), taro);
    assert_string_equal(trail_text(idt, "what.category"), "contact");
    assert_string_equal(trail_text(idt, "who.kind"), "client");
    assert_string_equal(trail_text(idt, "who.id"), F->app.id);
    assert_string_equal(trail_text(idt, "who.onBehalfOf.id"), taro);
    assert_string_equal(trail_text(idt, "decision"), "permit");
    assert_string_equal(trail_text(idt, "why.decidedBy"), "rule:self-approved");
    assert_non_null(strstr(trail_text(idt, "why.reason"), "ID token claims of grant "));
    assert_string_equal(trail_text(idt, "sourceAddress"), "127.0.0.1");
    json_t *signin = json_array_get(items, 1);
    assert_string_equal(trail_text(signin, "what.action"), "signin");
    assert_string_equal(trail_text(signin, "who.id"), taro);
    json_decref(items);

    assert_userinfo_ok(t.access);
    items = trail_items(F->s, t.access, 1);
    json_t *ui = json_array_get(items, 0);
    assert_string_equal(trail_text(ui, "what.action"), "read");
    assert_string_equal(trail_text(ui, "what.resourceType"), "Patient");
    assert_string_equal(trail_text(ui, "what.resourceId"), taro);
    assert_string_equal(trail_text(ui, "what.category"), "contact");
    assert_string_equal(trail_text(ui, "who.kind"), "person");
    assert_string_equal(trail_text(ui, "who.id"), taro);
    assert_string_equal(trail_text(ui, "who.client.id"), F->app.id);
    assert_string_equal(trail_text(ui, "decision"), "permit");
    assert_string_equal(trail_text(ui, "why.decidedBy"), "rule:self");
    json_decref(items);

    /* a refresh makes a new ID token with the claims: one more read by the app */
    json_int_t top = trail_top(t.access);
    struct resp r = refresh(t.refresh);
    struct tokens t2 = tokens_of(&r);
    assert_non_null(t2.id_token);
    assert_int_equal(client_profile_reads_since(t2.access, top), 1);
}

static void a_reused_code_revokes_the_grant(void **state)
{
    (void)state;
    const char *code = app_code(TARO_EMAIL, TARO_PASSWORD, NULL);
    struct resp r = exchange_code(code, APP_REDIRECT, PKCE_VERIFIER);
    struct tokens t = tokens_of(&r);
    assert_userinfo_ok(t.access);
    json_int_t top = trail_top(t.access);
    r = exchange_code(code, APP_REDIRECT, PKCE_VERIFIER);
    assert_oauth_error(&r, 400, "invalid_grant");
    /* the replay handed nothing out and recorded no read: the only app read since is the one of
     * the reader's own exchange */
    struct tokens reader = app_tokens(TARO_EMAIL, TARO_PASSWORD);
    assert_int_equal(client_profile_reads_since(reader.access, top), 1);
    assert_userinfo_refuses(t.access);
    r = refresh(t.refresh);
    assert_oauth_error(&r, 400, "invalid_grant");
    r = exchange_code(code, APP_REDIRECT, PKCE_VERIFIER); /* and it stays refused */
    assert_oauth_error(&r, 400, "invalid_grant");
}

static void a_code_redeemed_at_another_redirect_uri_is_invalid_grant(void **state)
{
    (void)state;
    const char *code = app_code(TARO_EMAIL, TARO_PASSWORD, NULL);
    /* registered for the app, but not the one of the authorization request */
    struct resp r = exchange_code(code, APP_REDIRECT_2, PKCE_VERIFIER);
    assert_oauth_error(&r, 400, "invalid_grant");
    r = exchange_code(code, APP_REDIRECT "/", PKCE_VERIFIER);
    assert_oauth_error(&r, 400, "invalid_grant");
    r = app_token(LIST("grant_type", "authorization_code", "client_id", F->app.id, "code", code,
                       "code_verifier", PKCE_VERIFIER));
    assert_oauth_error(&r, 400, "invalid_request"); /* redirect_uri missing */
}

static void a_code_of_another_client_or_unknown_is_invalid_grant(void **state)
{
    (void)state;
    const char *code = app_code(TARO_EMAIL, TARO_PASSWORD, NULL);
    char *auth = basic_auth_header(F->web.id, F->web.secret);
    char *body = form_of(LIST("grant_type", "authorization_code", "code", code, "redirect_uri",
                              APP_REDIRECT, "code_verifier", PKCE_VERIFIER));
    struct resp r = form_post("/oauth/token", auth, body);
    assert_oauth_error(&r, 400, "invalid_grant");
    r = exchange_code("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", APP_REDIRECT, PKCE_VERIFIER);
    assert_oauth_error(&r, 400, "invalid_grant");
    free(body);
    free(auth);
    /* the app's own code still works after another client tried it */
    r = exchange_code(code, APP_REDIRECT, PKCE_VERIFIER);
    tokens_of(&r);
}

/* a public client has no credentials: a secret (in the body or by Basic) is invalid_client */
static void a_public_client_presenting_a_secret_is_invalid_client(void **state)
{
    (void)state;
    const char *code = app_code(TARO_EMAIL, TARO_PASSWORD, NULL);
    struct resp r = app_token(LIST("grant_type", "authorization_code", "client_id", F->app.id,
                                   "client_secret", "some-secret", "code", code, "redirect_uri",
                                   APP_REDIRECT, "code_verifier", PKCE_VERIFIER));
    assert_oauth_error(&r, 401, "invalid_client");
    char *auth = basic_auth_header(F->app.id, "some-secret");
    char *body = form_of(LIST("grant_type", "authorization_code", "code", code, "redirect_uri",
                              APP_REDIRECT, "code_verifier", PKCE_VERIFIER));
    r = form_post("/oauth/token", auth, body);
    assert_oauth_error(&r, 401, "invalid_client");
    r = form_post("/oauth/token", NULL, body); /* no client_id at all */
    assert_oauth_error(&r, 401, "invalid_client");
    free(body);
    free(auth);
}

/* a refresh token used twice: invalid_grant, and the newest refresh and access tokens of the
 * grant die with it */
static void refresh_token_reuse_revokes_the_grant(void **state)
{
    (void)state;
    struct tokens t1 = app_tokens(TARO_EMAIL, TARO_PASSWORD);
    struct resp r = refresh(t1.refresh);
    struct tokens t2 = tokens_of(&r);
    assert_non_null(t2.refresh);
    assert_userinfo_ok(t2.access);
    r = refresh(t1.refresh);
    assert_oauth_error(&r, 400, "invalid_grant");
    r = refresh(t2.refresh);
    assert_oauth_error(&r, 400, "invalid_grant");
    assert_userinfo_refuses(t2.access);
    assert_userinfo_refuses(t1.access);
    r = refresh("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    assert_oauth_error(&r, 400, "invalid_grant");
}

/* RFC 6749 6: a refresh may narrow the scope but not widen it */
static void a_refresh_narrows_but_never_widens_the_scope(void **state)
{
    (void)state;
    struct tokens t = app_tokens(TARO_EMAIL, TARO_PASSWORD);
    struct resp r = app_token(LIST("grant_type", "refresh_token", "client_id", F->app.id,
                                   "refresh_token", t.refresh, "scope", "patient/*.cruds"));
    assert_oauth_error(&r, 400, "invalid_scope");
    r = app_token(LIST("grant_type", "refresh_token", "client_id", F->app.id, "refresh_token",
                       t.refresh, "scope", "openid patient/Observation.rs"));
    assert_status(&r, 200);
    assert_scope(str(r.json, "scope"), "openid patient/Observation.rs");
    tokens_of(&r);
}

/* ---- refusals at the authorization endpoint ---- */

static void plain_pkce_is_refused_by_redirect(void **state)
{
    (void)state;
    struct resp r = anon_get(authz_path(LIST("code_challenge_method", "plain")));
    assert_redirect_error(&r, APP_REDIRECT, "invalid_request", STATE);
    r = anon_get(authz_path(LIST("code_challenge_method", NULL)));
    assert_redirect_error(&r, APP_REDIRECT, "invalid_request", STATE);
    r = anon_get(authz_path(LIST("code_challenge_method", "s256")));
    assert_redirect_error(&r, APP_REDIRECT, "invalid_request", STATE);
}

static void a_missing_or_malformed_code_challenge_is_refused(void **state)
{
    (void)state;
    struct resp r = anon_get(authz_path(LIST("code_challenge", NULL)));
    assert_redirect_error(&r, APP_REDIRECT, "invalid_request", STATE);
    r = anon_get(authz_path(LIST("code_challenge", "too-short")));
    assert_redirect_error(&r, APP_REDIRECT, "invalid_request", STATE);
}

/* 61 s: the code lives 60 s (ID_CODE_TTL_MS) and the server has no clock to inject, so this one
 * test waits it out for real */
static void an_expired_code_is_invalid_grant(void **state)
{
    (void)state;
    if (getenv("CITYOS_SKIP_SLOW_TESTS") != NULL) {
        skip();
    }
    const char *code = app_code(TARO_EMAIL, TARO_PASSWORD, NULL);
    sleep_ms(61 * 1000);
    struct resp r = exchange_code(code, APP_REDIRECT, PKCE_VERIFIER);
    assert_oauth_error(&r, 400, "invalid_grant");
}

/* errors about the client or its redirect URI are shown, never redirected (RFC 6749 4.1.2.1) */
static void a_bad_redirect_uri_gets_a_page_and_no_redirect(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "https://evil.example/callback",
        APP_REDIRECT "/x",
        APP_REDIRECT "?x=1",
        APP_REDIRECT "/",
        "HTTP://127.0.0.1:8765/callback",
        "http://127.0.0.1:8765/callback#f",
        "http://127.0.0.1:8766/callback",
        "http://localhost:8765/callback",
        APP_REDIRECT "%00",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct resp r = anon_get(authz_path(LIST("redirect_uri", bad[i])));
        assert_error_page(&r, 400);
    }
    struct resp r = anon_get(authz_path(LIST("redirect_uri", NULL)));
    assert_error_page(&r, 400);
    /* the staff client's redirect URI is registered, but not for this app */
    r = anon_get(authz_path(LIST("redirect_uri", STAFF_REDIRECT)));
    assert_error_page(&r, 400);
    /* and a repeated redirect_uri (which would the server use?) */
    char *two = str_printf("%s&redirect_uri=%s", authz_path(NULL), "https%3A%2F%2Fevil.example");
    r = anon_get(two);
    assert_error_page(&r, 400);
    free(two);
}

static void an_unknown_client_gets_a_page(void **state)
{
    (void)state;
    struct resp r = anon_get(authz_path(LIST("client_id", "00000000000000000000000000")));
    assert_error_page(&r, 400);
    r = anon_get(authz_path(LIST("client_id", "not-a-client")));
    assert_error_page(&r, 400);
    r = anon_get(authz_path(LIST("client_id", NULL)));
    assert_error_page(&r, 400);
    /* a client registered only for client_credentials */
    r = anon_get(authz_path(LIST("client_id", F->intro.id)));
    assert_error_page(&r, 400);
}

static void a_missing_state_is_refused_without_state(void **state)
{
    (void)state;
    struct resp r = anon_get(authz_path(LIST("state", NULL)));
    assert_redirect_error(&r, APP_REDIRECT, "invalid_request", NULL);
    /* a state with a control character or beyond ASCII is refused and not echoed either */
    r = anon_get(authz_path(LIST("state", "a\x01b")));
    assert_redirect_error(&r, APP_REDIRECT, "invalid_request", NULL);
    r = anon_get(authz_path(LIST("state", "状態")));
    assert_redirect_error(&r, APP_REDIRECT, "invalid_request", NULL);
    r = anon_get(keep(
        str_printf("%s&state=%s", authz_path(LIST("state", NULL)), keep(str_repeat("s", 513)))));
    assert_redirect_error(&r, APP_REDIRECT, "invalid_request", NULL);
}

static void a_scope_beyond_the_registration_is_invalid_scope(void **state)
{
    (void)state;
    struct resp r = anon_get(authz_path(LIST("scope", "openid patient/*.cruds")));
    assert_redirect_error(&r, APP_REDIRECT, "invalid_scope", STATE);
    r = anon_get(authz_path(LIST("scope", "openid user/*.rs")));
    assert_redirect_error(&r, APP_REDIRECT, "invalid_scope", STATE);
    r = anon_get(authz_path(LIST("scope", "openid cityos.admin")));
    assert_redirect_error(&r, APP_REDIRECT, "invalid_scope", STATE);
    r = anon_get(authz_path(LIST("scope", NULL)));
    assert_redirect_error(&r, APP_REDIRECT, "invalid_scope", STATE);
}

static void a_system_scope_at_authorize_is_invalid_scope(void **state)
{
    (void)state;
    struct resp r = anon_get(authz_path(LIST("scope", "openid system/Observation.rs")));
    assert_redirect_error(&r, APP_REDIRECT, "invalid_scope", STATE);
}

static void response_type_token_is_unsupported(void **state)
{
    (void)state;
    struct resp r = anon_get(authz_path(LIST("response_type", "token")));
    assert_redirect_error(&r, APP_REDIRECT, "unsupported_response_type", STATE);
    r = anon_get(authz_path(LIST("response_type", "code id_token")));
    assert_redirect_error(&r, APP_REDIRECT, "unsupported_response_type", STATE);
    r = anon_get(authz_path(LIST("response_type", NULL)));
    assert_redirect_error(&r, APP_REDIRECT, "invalid_request", STATE);
}

static void prompt_none_without_a_session_is_login_required(void **state)
{
    (void)state;
    struct resp r = anon_get(authz_path(LIST("prompt", "none")));
    assert_redirect_error(&r, APP_REDIRECT, "login_required", STATE);
    /* signed in, it still is no silent approval */
    struct browser *b = signed_in(TARO_EMAIL, TARO_PASSWORD);
    r = browser_get(b, authz_path(LIST("prompt", "none")));
    assert_redirect_error(&r, APP_REDIRECT, "consent_required", STATE);
    browser_free(b);
}

/* ---- the approval page's answer ---- */

static void the_deny_button_is_access_denied(void **state)
{
    (void)state;
    struct browser *b = signed_in(TARO_EMAIL, TARO_PASSWORD);
    double w0 = writes();
    struct resp r = answer_page(b, authz_path(NULL), LIST("act_as"), "act_as=self&decision=deny");
    assert_redirect_error(&r, APP_REDIRECT, "access_denied", STATE);
    assert_true(writes() == w0);
    browser_free(b);
}

/* the approval form must carry the session's CSRF value: without it, or with another, 403 and
 * no code; a form posted without a session is refused too */
static void the_approval_needs_its_csrf_value(void **state)
{
    (void)state;
    struct browser *b = signed_in(TARO_EMAIL, TARO_PASSWORD);
    struct browser *other = signed_in(MISAKI_EMAIL, MISAKI_PASS);
    double w0 = writes(); /* after the sign-ins, which store sessions */
    struct resp r =
        answer_page(b, authz_path(NULL), LIST("act_as", "csrf"), "act_as=self&decision=approve");
    assert_error_page(&r, 403);
    r = answer_page(b, authz_path(NULL), LIST("act_as", "csrf"),
                    "act_as=self&decision=approve&csrf="
                    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    assert_error_page(&r, 403);
    /* another person's CSRF value does not open this session's form */
    struct resp page = browser_get(other, authz_path(NULL));
    assert_status(&page, 200);
    char *theirs = html_input(page.body, "csrf", NULL);
    assert_non_null(theirs);
    resp_free(&page);
    char *extra = str_printf("act_as=self&decision=approve&csrf=%s", theirs);
    r = answer_page(b, authz_path(NULL), LIST("act_as", "csrf"), extra);
    assert_error_page(&r, 403);
    free(extra);
    free(theirs);
    browser_free(other);
    assert_true(writes() == w0);
    /* without a session at all */
    struct browser *anon = browser_new(F->s);
    char *form =
        form_of(LIST("client_id", F->app.id, "redirect_uri", APP_REDIRECT, "response_type", "code",
                     "scope", APP_SCOPE, "state", STATE, "code_challenge", PKCE_CHALLENGE,
                     "code_challenge_method", "S256", "act_as", "self", "decision", "approve",
                     "csrf", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
    r = browser_post(anon, "/oauth/authorize", form);
    assert_true(r.status == 401 || r.status == 403);
    assert_null(resp_header(&r, "Location"));
    resp_free(&r);
    free(form);
    browser_free(anon);
    assert_true(writes() == w0);
    /* and the right value still works */
    approve(b, authz_path(NULL), APP_REDIRECT, "self");
    browser_free(b);
}

/* act_as must be one of the options the page offered this person */
static void acting_for_someone_without_a_family_link_is_refused(void **state)
{
    (void)state;
    struct browser *b = signed_in(TARO_EMAIL, TARO_PASSWORD);
    double w0 = writes();
    char *extra = str_printf("act_as=for:%s&decision=approve", F->stranger);
    struct resp r = answer_page(b, authz_path(NULL), LIST("act_as"), extra);
    assert_error_page(&r, 400);
    free(extra);
    r = answer_page(b, authz_path(NULL), LIST("act_as"),
                    "act_as=role:00000000000000000000000000&decision=approve");
    assert_error_page(&r, 400);
    r = answer_page(b, authz_path(NULL), LIST("act_as"), "decision=approve");
    assert_error_page(&r, 400);
    r = answer_page(b, authz_path(NULL), LIST("act_as"), "act_as=Self&decision=approve");
    assert_error_page(&r, 400);
    assert_true(writes() == w0);
    browser_free(b);
}

/* the daughter acts for her father by their family link: the token's patient is the father,
 * the principal a delegate */
static void a_delegate_acts_for_a_family_member(void **state)
{
    (void)state;
    struct browser *b = signed_in(MISAKI_EMAIL, MISAKI_PASS);
    const char *path = authz_path(NULL);
    struct resp page = browser_get(b, path);
    assert_status(&page, 200);
    char *act = html_input(page.body, "act_as", "for:");
    assert_non_null(act);
    assert_int_equal(strlen(act), 4 + 26);
    char *self = html_input(page.body, "act_as", "self");
    assert_non_null(self);
    free(self);
    assert_non_null(strstr(page.body, "type=\"radio\""));
    assert_non_null(strstr(page.body, "会津 太郎"));
    resp_free(&page);
    const char *taro = keep(strdup(act + 4));
    const char *code = approve(b, path, APP_REDIRECT, act);
    free(act);
    browser_free(b);

    struct resp r = exchange_code(code, APP_REDIRECT, PKCE_VERIFIER);
    struct tokens t = tokens_of(&r);
    assert_non_null(t.patient);
    assert_string_equal(t.patient, taro);
    json_t *idt = jwt_part(t.id_token, 1);
    assert_non_null(idt);
    const char *misaki = keep(strdup(str(idt, "sub")));
    assert_string_not_equal(misaki, taro);
    json_decref(idt);

    r = bearer_get("/api/v1/me/token", t.access);
    assert_status(&r, 200);
    assert_string_equal(str(r.json, "kind"), "delegate");
    assert_string_equal(str(r.json, "acting_for"), taro);
    assert_string_equal(str(r.json, "sub"), misaki);
    resp_free(&r);
    /* userinfo tells who signed in, not whom she acts for */
    r = bearer_get("/oauth/userinfo", t.access);
    assert_status(&r, 200);
    assert_string_equal(str(r.json, "sub"), misaki);
    assert_string_equal(str(r.json, "name"), "佐藤 美咲");
    resp_free(&r);
    /* the refreshed token keeps the delegation */
    r = refresh(t.refresh);
    assert_status(&r, 200);
    assert_string_equal(str(r.json, "patient"), taro);
    struct tokens t2 = tokens_of(&r);
    r = bearer_get("/api/v1/me/token", t2.access);
    assert_status(&r, 200);
    assert_string_equal(str(r.json, "kind"), "delegate");
    resp_free(&r);
}

/* a doctor approves a staff app with user/ scopes in their role at the clinic */
static void a_practitioner_acts_in_a_role(void **state)
{
    (void)state;
    struct browser *b = signed_in(DOCTOR_EMAIL, DOCTOR_PASS);
    const char *path = authz_path(LIST("client_id", F->staff.id, "redirect_uri", STAFF_REDIRECT,
                                       "scope", "openid fhirUser user/*.rs"));
    struct resp page = browser_get(b, path);
    assert_status(&page, 200);
    char *act = html_input(page.body, "act_as", "role:");
    assert_non_null(act);
    assert_non_null(strstr(page.body, "湊ファミリークリニック"));
    resp_free(&page);
    const char *code = approve(b, path, STAFF_REDIRECT, act);
    free(act);
    browser_free(b);

    struct resp r =
        app_token(LIST("grant_type", "authorization_code", "client_id", F->staff.id, "code", code,
                       "redirect_uri", STAFF_REDIRECT, "code_verifier", PKCE_VERIFIER));
    assert_status(&r, 200);
    assert_scope(str(r.json, "scope"), "openid fhirUser user/*.rs");
    struct tokens t = tokens_of(&r);
    assert_null(t.refresh); /* the staff client has no refresh_token grant */
    assert_null(t.patient);

    r = bearer_get("/api/v1/me/token", t.access);
    assert_status(&r, 200);
    assert_string_equal(str(r.json, "kind"), "practitioner");
    assert_string_equal(str(r.json, "role"), "doctor");
    assert_non_null(str(r.json, "org_id"));
    assert_int_equal(strlen(str(r.json, "org_id")), 26);
    const char *doctor = keep(strdup(str(r.json, "sub")));
    resp_free(&r);
    r = bearer_get("/oauth/userinfo", t.access);
    assert_status(&r, 200);
    char *fhir_user = str_printf("%s/fhir/Practitioner/%s", F->issuer, doctor);
    assert_string_equal(str(r.json, "fhirUser"), fhir_user);
    free(fhir_user);
    resp_free(&r);
}

/* ---- bearer tokens at userinfo ---- */

static void garbage_and_revoked_access_tokens_are_401(void **state)
{
    (void)state;
    assert_userinfo_refuses("garbage");
    assert_userinfo_refuses("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"); /* unknown */
    assert_userinfo_refuses("!!!not a b64token!!!");
    assert_userinfo_refuses(keep(str_repeat("A", 600))); /* over the longest token read */
    struct resp r = anon_get("/oauth/userinfo");
    assert_problem(&r, 401, "unauthorized");
    assert_header(&r, "WWW-Authenticate", "Bearer realm=\"cityos\"");
    resp_free(&r);

    /* revoked by the app with the access token itself (RFC 7009): that token dies, the grant's
     * refresh token still works */
    struct tokens t = app_tokens(TARO_EMAIL, TARO_PASSWORD);
    assert_userinfo_ok(t.access);
    char *rv = form_of(LIST("client_id", F->app.id, "token", t.access));
    r = form_post("/oauth/revoke", NULL, rv);
    free(rv);
    assert_status(&r, 200);
    resp_free(&r);
    assert_userinfo_refuses(t.access);
    r = refresh(t.refresh);
    struct tokens t2 = tokens_of(&r);
    assert_userinfo_ok(t2.access);
    /* a client-credentials token names no person: userinfo refuses it */
    char *auth = basic_auth_header(F->intro.id, F->intro.secret);
    r = form_post("/oauth/token", auth, "grant_type=client_credentials");
    assert_status(&r, 200);
    const char *cc = member(&r, "access_token");
    resp_free(&r);
    free(auth);
    r = bearer_get("/oauth/userinfo", cc);
    assert_problem(&r, 403, "forbidden");
    resp_free(&r);
}

static void a_token_without_openid_is_insufficient_scope_at_userinfo(void **state)
{
    (void)state;
    const char *code =
        app_code(TARO_EMAIL, TARO_PASSWORD, LIST("scope", "launch/patient patient/*.rs"));
    struct resp r = exchange_code(code, APP_REDIRECT, PKCE_VERIFIER);
    struct tokens t = tokens_of(&r);
    assert_null(t.id_token);
    assert_null(t.refresh); /* no offline_access */
    assert_non_null(t.patient);
    json_int_t top = trail_top(t.access); /* that read is top + 1 */
    r = bearer_get("/oauth/userinfo", t.access);
    assert_problem(&r, 403, "forbidden");
    const char *ch = resp_header(&r, "WWW-Authenticate");
    assert_non_null(ch);
    assert_non_null(strstr(ch, "error=\"insufficient_scope\""));
    resp_free(&r);
    /* no personal data was touched: the refusal left no record */
    json_t *items = trail_items(F->s, t.access, 1);
    assert_int_equal(seq_of(json_array_get(items, 0)), top + 1);
    assert_string_equal(trail_text(json_array_get(items, 0), "what.resourceType"), "AuditTrail");
    json_decref(items);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_teardown(f, test_teardown)
        T(the_whole_code_flow_of_a_public_app),
        T(a_confidential_client_authenticates_at_the_token_endpoint),
        T(a_wrong_code_verifier_is_invalid_grant),
        T(the_claims_handed_to_the_app_are_on_the_trail),
        T(a_reused_code_revokes_the_grant),
        T(a_code_redeemed_at_another_redirect_uri_is_invalid_grant),
        T(a_code_of_another_client_or_unknown_is_invalid_grant),
        T(a_public_client_presenting_a_secret_is_invalid_client),
        T(refresh_token_reuse_revokes_the_grant),
        T(a_refresh_narrows_but_never_widens_the_scope),
        T(plain_pkce_is_refused_by_redirect),
        T(a_missing_or_malformed_code_challenge_is_refused),
        T(a_bad_redirect_uri_gets_a_page_and_no_redirect),
        T(an_unknown_client_gets_a_page),
        T(a_missing_state_is_refused_without_state),
        T(a_scope_beyond_the_registration_is_invalid_scope),
        T(a_system_scope_at_authorize_is_invalid_scope),
        T(response_type_token_is_unsupported),
        T(prompt_none_without_a_session_is_login_required),
        T(the_deny_button_is_access_denied),
        T(the_approval_needs_its_csrf_value),
        T(acting_for_someone_without_a_family_link_is_refused),
        T(a_delegate_acts_for_a_family_member),
        T(a_practitioner_acts_in_a_role),
        T(garbage_and_revoked_access_tokens_are_401),
        T(a_token_without_openid_is_insufficient_scope_at_userinfo),
        T(an_expired_code_is_invalid_grant),
#undef T
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

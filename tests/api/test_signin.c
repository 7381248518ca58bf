/* test_signin.c - the browser sign-in as a specification: the form and its login CSRF cookie,
 * password sign-in with the session cookie's attributes, one answer for a wrong password and an
 * unknown address, back-off (429, Argon2 not run) and lock-out, the TOTP second step with replay
 * refusal, sign-out with the session's CSRF token, malformed forms and open-redirect attempts;
 * every sign-in and every refused attempt on a known account on that person's audit trail. */
#include "harness.h"
#include "trail.h"

#include <liboath/oath.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define FORM_HEADER "Content-Type: application/x-www-form-urlencoded"
#define PASSWORD    "correct horse battery"

struct fixture {
    struct server *s;
};

/* Runs `cityos <args>` on s's data folder with stdin_text on stdin; returns the first line of
 * stdout (malloc'ed), asserting exit status 0. */
static char *run_cli(struct server *s, const char *stdin_text, const char *args)
{
    char *cmd = str_printf("printf '%%s\\n' '%s' | '%s' %s --data-dir='%s' 2>/dev/null", stdin_text,
                           getenv("CITYOS_BIN"), args, server_data_dir(s));
    char *run = harness_command(cmd); /* a PostgreSQL run: the folder's database */
    FILE *p = popen(run, "r");
    free(run);
    assert_non_null(p);
    char line[1024] = "";
    if (fgets(line, sizeof line, p) == NULL)
        line[0] = '\0';
    char rest[256];
    while (fgets(rest, sizeof rest, p) != NULL) {
    }
    assert_int_equal(pclose(p), 0);
    free(cmd);
    line[strcspn(line, "\n")] = '\0';
    return strdup(line);
}

/* Adds a person with PASSWORD; returns the regional ID (malloc'ed). */
static char *person_add(struct server *s, const char *email)
{
    char *args = str_printf("user add --family-name=会津 --given-name=太郎 "
                            "--family-name-kana=アイヅ --given-name-kana=タロウ "
                            "--birth-date=1955-04-01 --sex=male --district=Minato "
                            "--email=%s --password-stdin",
                            email);
    char *id = run_cli(s, PASSWORD, args);
    assert_int_equal(strlen(id), 26);
    free(args);
    return id;
}

static void add_person(struct server *s, const char *email)
{
    free(person_add(s, email));
}

/* Enrols TOTP for email; returns the decoded secret (malloc'ed) and its length. */
static char *enrol_totp(struct server *s, const char *email, size_t *len)
{
    char *args = str_printf("user totp %s", email);
    char *uri = run_cli(s, "", args);
    free(args);
    char *want = str_printf("otpauth://totp/cityos:%s?secret=", email);
    assert_int_equal(strncmp(uri, want, strlen(want)), 0);
    assert_non_null(strstr(uri, "&issuer=cityos&algorithm=SHA1&digits=6&period=30"));
    const char *b32 = uri + strlen(want);
    size_t b32len = strcspn(b32, "&");
    assert_int_equal(b32len, 32);
    char *secret = NULL;
    assert_int_equal(oath_base32_decode(b32, b32len, &secret, len), OATH_OK);
    assert_int_equal(*len, 20);
    free(want);
    free(uri);
    return secret;
}

static void totp_now(const char *secret, size_t len, char code[7])
{
    assert_int_equal(oath_totp_generate(secret, len, time(NULL), 30, 0, 6, code), OATH_OK);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    f->s = server_start(LIST("--log-level=debug"));
    assert_int_equal(oath_init(), OATH_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    server_free(f->s);
    free(f);
    oath_done();
    return 0;
}

/* ---- cookies and forms ---- */

/* The Set-Cookie header of r that sets name, or NULL. */
static const char *set_cookie(const struct resp *r, const char *name)
{
    size_t n = strlen(name);
    const char *found = NULL;
    for (size_t i = 0; i < r->nheaders; i++)
        if (strcasecmp(r->headers[i].name, "Set-Cookie") == 0 &&
            strncmp(r->headers[i].value, name, n) == 0 && r->headers[i].value[n] == '=')
            found = r->headers[i].value;
    return found;
}

/* The value a Set-Cookie header of r gives name (malloc'ed), or NULL. */
static char *cookie_value(const struct resp *r, const char *name)
{
    const char *h = set_cookie(r, name);
    if (h == NULL)
        return NULL;
    h += strlen(name) + 1;
    return strndup(h, strcspn(h, ";"));
}

static char *urlenc(const char *s)
{
    char *out = malloc(3 * strlen(s) + 1), *o = out;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            strchr("-._~", *p) != NULL)
            *o++ = (char)*p;
        else
            o += snprintf(o, 4, "%%%02X", *p);
    }
    *o = '\0';
    return out;
}

/* GET /signin; returns the login CSRF value its cookie carries (malloc'ed). */
static char *signin_csrf(struct server *s)
{
    struct resp r = api_get(s, "/signin");
    assert_status(&r, 200);
    char *v = cookie_value(&r, "cityos_login_csrf");
    assert_non_null(v);
    assert_int_equal(strlen(v), 43);
    resp_free(&r);
    return v;
}

static struct resp post_form(struct server *s, const char *path, const char *cookies,
                             const char *body)
{
    char *ch = cookies != NULL ? str_printf("Cookie: %s", cookies) : NULL;
    struct resp r =
        api(s, "POST", path, ch ? LIST(FORM_HEADER, ch) : LIST(FORM_HEADER), body, strlen(body));
    free(ch);
    return r;
}

static struct resp get_with(struct server *s, const char *path, const char *cookies)
{
    char *ch = str_printf("Cookie: %s", cookies);
    struct resp r = api(s, "GET", path, LIST(ch), NULL, 0);
    free(ch);
    return r;
}

/* POST /signin with the csrf cookie and field; return_to may be NULL. */
static struct resp signin(struct server *s, const char *csrf, const char *email,
                          const char *password, const char *return_to)
{
    char *pw = urlenc(password), *rt = return_to ? urlenc(return_to) : NULL;
    char *body = str_printf("email=%s&password=%s&login_csrf=%s%s%s", email, pw, csrf,
                            rt ? "&return_to=" : "", rt ? rt : "");
    char *cookies = str_printf("cityos_login_csrf=%s", csrf);
    struct resp r = post_form(s, "/signin", cookies, body);
    free(pw);
    free(rt);
    free(body);
    free(cookies);
    return r;
}

/* Signs in email (asserting 303) and returns the session cookie value (malloc'ed). */
static char *signed_in(struct server *s, const char *email)
{
    char *csrf = signin_csrf(s);
    struct resp r = signin(s, csrf, email, PASSWORD, NULL);
    assert_status(&r, 303);
    char *v = cookie_value(&r, "cityos_session");
    assert_non_null(v);
    resp_free(&r);
    free(csrf);
    return v;
}

/* Was Argon2 run for the request r answered? (the pool logs each verification at debug) */
static int argon2_ran(struct server *s, const struct resp *r)
{
    const char *rid = resp_header(r, "X-Request-Id");
    json_t *line = server_access_log(s, rid); /* the request is over: its lines are out */
    json_decref(line);
    char *needle = str_printf("sign-in %s: argon2 verify", rid);
    int ran = server_log_has(s, needle);
    free(needle);
    return ran;
}

static void assert_html(const struct resp *r, long status)
{
    assert_status(r, status);
    assert_header(r, "Content-Type", "text/html; charset=utf-8");
    assert_header(r, "Cache-Control", "no-store");
    assert_header(r, "X-Frame-Options", "DENY");
    assert_non_null(resp_header(r, "Content-Security-Policy"));
}

/* ---- the tests ---- */

static void form_in_both_languages(void **state)
{
    struct fixture *f = *state;
    struct resp r = api_get(f->s, "/signin?lang=en");
    assert_html(&r, 200);
    assert_non_null(strstr(r.body, "<html lang=\"en\""));
    assert_non_null(strstr(r.body, "Sign in with your regional ID"));
    assert_non_null(strstr(r.body, "action=\"/signin?lang=en\""));
    const char *sc = set_cookie(&r, "cityos_login_csrf");
    assert_non_null(sc);
    assert_non_null(strstr(sc, "; Path=/signin; HttpOnly; SameSite=Strict"));
    assert_null(strstr(sc, "Secure"));
    resp_free(&r);
    r = api(f->s, "GET", "/signin", LIST("Accept-Language: ja,en;q=0.5"), NULL, 0);
    assert_html(&r, 200);
    assert_non_null(strstr(r.body, "<html lang=\"ja\""));
    assert_non_null(strstr(r.body, "地域IDでサインイン"));
    assert_non_null(strstr(r.body, "パスワード"));
    resp_free(&r);
    /* an existing well-formed pre-session cookie is reused, not replaced */
    char *csrf = signin_csrf(f->s);
    char *ck = str_printf("cityos_login_csrf=%s", csrf);
    r = get_with(f->s, "/signin", ck);
    assert_null(set_cookie(&r, "cityos_login_csrf"));
    char *field = str_printf("name=\"login_csrf\" value=\"%s\"", csrf);
    assert_non_null(strstr(r.body, field));
    resp_free(&r);
    r = api_get(f->s, "/signin?bogus=1");
    assert_html(&r, 400);
    resp_free(&r);
    free(field);
    free(ck);
    free(csrf);
}

static void signin_sets_session_and_returns(void **state)
{
    struct fixture *f = *state;
    add_person(f->s, "taro@example.jp");
    /* what /oauth/authorize sends: its own path and query, percent-encoded as return_to */
    const char *target = "/oauth/authorize?response_type=code&client_id=abc&redirect_uri="
                         "https%3A%2F%2Fapp.example%2Fcb&scope=openid+profile&state=x%2By";
    char *enc = urlenc(target);
    char *path = str_printf("/signin?return_to=%s", enc);
    struct resp r = api_get(f->s, path);
    assert_html(&r, 200);
    char *csrf = cookie_value(&r, "cityos_login_csrf");
    /* the form carries it back, HTML-escaped */
    assert_non_null(strstr(r.body, "value=\"/oauth/authorize?response_type=code&amp;client_id=abc"
                                   "&amp;redirect_uri=https%3A%2F%2Fapp.example%2Fcb&amp;scope="
                                   "openid+profile&amp;state=x%2By\""));
    resp_free(&r);
    r = signin(f->s, csrf, "taro@example.jp", PASSWORD, target);
    assert_status(&r, 303);
    assert_header(&r, "Location", target);
    assert_true(argon2_ran(f->s, &r));
    char *v = cookie_value(&r, "cityos_session");
    assert_non_null(v);
    assert_int_equal(strlen(v), 43);
    char *want = str_printf("cityos_session=%s; Path=/; HttpOnly; SameSite=Lax", v);
    assert_string_equal(set_cookie(&r, "cityos_session"), want);
    /* the pre-session cookie is done with */
    assert_non_null(strstr(set_cookie(&r, "cityos_login_csrf"), "Max-Age=0"));
    resp_free(&r);
    char *ck = str_printf("cityos_session=%s", v);
    r = get_with(f->s, "/signin/done?lang=en", ck);
    assert_html(&r, 200);
    assert_non_null(strstr(r.body, "Signed in as <strong>会津 太郎</strong>"));
    resp_free(&r);
    /* a second sign-in makes a fresh session (no fixation), the first still stands */
    char *v2 = signed_in(f->s, "taro@example.jp");
    assert_string_not_equal(v, v2);
    r = get_with(f->s, "/signin/done", ck);
    assert_status(&r, 200);
    resp_free(&r);
    /* without a session, or with an unknown one: back to the sign-in page */
    r = api_get(f->s, "/signin/done");
    assert_status(&r, 303);
    assert_header(&r, "Location", "/signin?lang=ja");
    resp_free(&r);
    r = get_with(f->s, "/signin/done",
                 "cityos_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    assert_status(&r, 303);
    resp_free(&r);
    free(v2);
    free(ck);
    free(want);
    free(v);
    free(csrf);
    free(path);
    free(enc);
}

static void secure_cookies_behind_https(void **state)
{
    (void)state;
    struct server *s = server_start(LIST("--issuer=https://id.example.jp"));
    add_person(s, "sec@example.jp");
    struct resp r = api_get(s, "/signin");
    char *csrf = cookie_value(&r, "cityos_login_csrf");
    assert_non_null(strstr(set_cookie(&r, "cityos_login_csrf"), "; Secure"));
    resp_free(&r);
    r = signin(s, csrf, "sec@example.jp", PASSWORD, NULL);
    assert_status(&r, 303);
    assert_header(&r, "Location", "/signin/done");
    char *v = cookie_value(&r, "cityos_session");
    char *want = str_printf("cityos_session=%s; Path=/; HttpOnly; SameSite=Lax; Secure", v);
    assert_string_equal(set_cookie(&r, "cityos_session"), want);
    resp_free(&r);
    free(want);
    free(v);
    free(csrf);
    server_free(s);
}

static void wrong_password_and_unknown_email_look_the_same(void **state)
{
    struct fixture *f = *state;
    add_person(f->s, "same@example.jp");
    char *csrf = signin_csrf(f->s);
    uint64_t t0 = now_ms();
    struct resp wrong = signin(f->s, csrf, "same@example.jp", "not the password", NULL);
    uint64_t t1 = now_ms();
    struct resp unknown = signin(f->s, csrf, "nobody@example.jp", "not the password", NULL);
    uint64_t t2 = now_ms();
    assert_html(&wrong, 200);
    assert_html(&unknown, 200);
    assert_string_equal(wrong.body, unknown.body);
    assert_non_null(strstr(wrong.body, "メールアドレスまたはパスワードが正しくありません"));
    assert_null(set_cookie(&wrong, "cityos_session"));
    assert_null(set_cookie(&unknown, "cityos_session"));
    /* both ran Argon2 (the unknown address against the dummy hash) */
    assert_true(argon2_ran(f->s, &wrong));
    assert_true(argon2_ran(f->s, &unknown));
    fprintf(stderr, "wrong password %llu ms, unknown address %llu ms\n",
            (unsigned long long)(t1 - t0), (unsigned long long)(t2 - t1));
    resp_free(&wrong);
    resp_free(&unknown);
    free(csrf);
}

/* Fails once more; a 429 in between is waited out (it is not a failure). Returns the
 * Retry-After seen before this failure (0: none). */
static long fail_once(struct server *s, const char *csrf, const char *email)
{
    long waited = 0;
    for (;;) {
        struct resp r = signin(s, csrf, email, "not the password", NULL);
        if (r.status == 429) {
            waited = atol(resp_header(&r, "Retry-After"));
            assert_false(argon2_ran(s, &r));
            resp_free(&r);
            sleep_ms(waited * 1000 + 150);
            continue;
        }
        assert_status(&r, 200);
        resp_free(&r);
        return waited;
    }
}

static void backoff_then_lockout(void **state)
{
    struct fixture *f = *state;
    add_person(f->s, "lock@example.jp");
    char *csrf = signin_csrf(f->s);
    for (int i = 0; i < 5; i++)
        assert_int_equal(fail_once(f->s, csrf, "lock@example.jp"), 0);
    /* the 5th failure starts the back-off: even the right password waits, Argon2 not run */
    struct resp r = signin(f->s, csrf, "lock@example.jp", PASSWORD, NULL);
    assert_html(&r, 429);
    assert_string_equal(resp_header(&r, "Retry-After"), "1");
    assert_null(set_cookie(&r, "cityos_session"));
    assert_false(argon2_ran(f->s, &r));
    assert_non_null(strstr(r.body, "しばらくお待ちください"));
    resp_free(&r);
    /* failures 6..10 each wait 1, 2, 4, 8, 16 s first */
    long expect[] = {1, 2, 4, 8, 16};
    for (int i = 0; i < 5; i++)
        assert_int_equal(fail_once(f->s, csrf, "lock@example.jp"), expect[i]);
    /* the 10th failure locks for 15 minutes, whatever is sent */
    r = signin(f->s, csrf, "lock@example.jp", PASSWORD, NULL);
    assert_status(&r, 429);
    long after = atol(resp_header(&r, "Retry-After"));
    assert_true(after > 890 && after <= 900);
    assert_false(argon2_ran(f->s, &r));
    resp_free(&r);
    free(csrf);
}

static void success_resets_the_count(void **state)
{
    struct fixture *f = *state;
    add_person(f->s, "reset@example.jp");
    char *csrf = signin_csrf(f->s);
    for (int i = 0; i < 4; i++)
        fail_once(f->s, csrf, "reset@example.jp");
    struct resp r = signin(f->s, csrf, "reset@example.jp", PASSWORD, NULL);
    assert_status(&r, 303);
    resp_free(&r);
    /* four more failures: still no back-off, the count started again */
    for (int i = 0; i < 4; i++)
        assert_int_equal(fail_once(f->s, csrf, "reset@example.jp"), 0);
    r = signin(f->s, csrf, "reset@example.jp", PASSWORD, NULL);
    assert_status(&r, 303);
    resp_free(&r);
    free(csrf);
}

static void login_csrf_refusals(void **state)
{
    struct fixture *f = *state;
    add_person(f->s, "csrf@example.jp");
    char *csrf = signin_csrf(f->s), *other = signin_csrf(f->s);
    char *pw = urlenc(PASSWORD);
    char *with_field = str_printf("email=csrf@example.jp&password=%s&login_csrf=%s", pw, csrf);
    char *no_field = str_printf("email=csrf@example.jp&password=%s", pw);
    char *cookie = str_printf("cityos_login_csrf=%s", csrf);
    char *wrong_cookie = str_printf("cityos_login_csrf=%s", other);
    struct {
        const char *cookies, *body;
    } cases[] = {
        {NULL, with_field},         /* no cookie */
        {cookie, no_field},         /* no field */
        {wrong_cookie, with_field}, /* they differ */
        {"cityos_login_csrf=short", "email=csrf@example.jp&password=x&login_csrf=short"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct resp r = post_form(f->s, "/signin", cases[i].cookies, cases[i].body);
        assert_html(&r, 403);
        assert_null(set_cookie(&r, "cityos_session"));
        assert_false(argon2_ran(f->s, &r));
        resp_free(&r);
    }
    /* and nothing was counted: the right password goes straight through */
    struct resp r = signin(f->s, csrf, "csrf@example.jp", PASSWORD, NULL);
    assert_status(&r, 303);
    resp_free(&r);
    free(pw);
    free(with_field);
    free(no_field);
    free(cookie);
    free(wrong_cookie);
    free(csrf);
    free(other);
}

/* The session's CSRF token from /signin/done (malloc'ed). */
static char *session_csrf(struct server *s, const char *cookies)
{
    struct resp r = get_with(s, "/signin/done", cookies);
    assert_status(&r, 200);
    const char *p = strstr(r.body, "name=\"csrf\" value=\"");
    assert_non_null(p);
    p += strlen("name=\"csrf\" value=\"");
    char *v = strndup(p, strcspn(p, "\""));
    assert_int_equal(strlen(v), 43);
    resp_free(&r);
    return v;
}

static void signout_needs_csrf_and_ends_the_session(void **state)
{
    struct fixture *f = *state;
    add_person(f->s, "out@example.jp");
    char *v = signed_in(f->s, "out@example.jp");
    char *ck = str_printf("cityos_session=%s", v);
    char *csrf = session_csrf(f->s, ck);
    char *wrong = strdup(csrf);
    wrong[0] = wrong[0] == 'A' ? 'B' : 'A';
    char *wrong_body = str_printf("csrf=%s", wrong);
    const char *bodies[] = {"", wrong_body, "csrf="};
    for (size_t i = 0; i < 3; i++) {
        struct resp r = post_form(f->s, "/signout", ck, bodies[i]);
        assert_html(&r, 403);
        assert_null(set_cookie(&r, "cityos_session"));
        resp_free(&r);
        r = get_with(f->s, "/signin/done", ck); /* the session stays */
        assert_status(&r, 200);
        resp_free(&r);
    }
    /* a CSRF token of another session does not work either */
    char *v2 = signed_in(f->s, "out@example.jp");
    char *ck2 = str_printf("cityos_session=%s", v2);
    char *csrf2 = session_csrf(f->s, ck2);
    char *body2 = str_printf("csrf=%s", csrf2);
    struct resp r = post_form(f->s, "/signout", ck, body2);
    assert_status(&r, 403);
    resp_free(&r);
    char *body = str_printf("csrf=%s", csrf);
    r = post_form(f->s, "/signout?lang=en", ck, body);
    assert_status(&r, 303);
    assert_header(&r, "Location", "/signin?lang=en");
    assert_string_equal(set_cookie(&r, "cityos_session"),
                        "cityos_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
    resp_free(&r);
    r = get_with(f->s, "/signin/done", ck); /* the old cookie no longer works */
    assert_status(&r, 303);
    assert_header(&r, "Location", "/signin?lang=ja");
    resp_free(&r);
    r = get_with(f->s, "/signin/done", ck2); /* the other session is untouched */
    assert_status(&r, 200);
    resp_free(&r);
    free(body);
    free(body2);
    free(csrf2);
    free(ck2);
    free(v2);
    free(wrong_body);
    free(wrong);
    free(csrf);
    free(ck);
    free(v);
}

static void totp_second_step(void **state)
{
    struct fixture *f = *state;
    add_person(f->s, "staff@example.jp");
    size_t len = 0;
    char *secret = enrol_totp(f->s, "staff@example.jp", &len);
    char *csrf = signin_csrf(f->s);
    struct resp r = signin(f->s, csrf, "staff@example.jp", PASSWORD, "/after?x=1");
    assert_status(&r, 303);
    assert_header(&r, "Location", "/signin/totp?lang=ja");
    assert_null(set_cookie(&r, "cityos_session")); /* not a session yet */
    char *pending = cookie_value(&r, "cityos_signin_pending");
    assert_non_null(pending);
    assert_non_null(strstr(set_cookie(&r, "cityos_signin_pending"),
                           "; Path=/signin; HttpOnly; SameSite=Strict; Max-Age=300"));
    resp_free(&r);
    char *cookies = str_printf("cityos_login_csrf=%s; cityos_signin_pending=%s", csrf, pending);
    r = get_with(f->s, "/signin/totp?lang=en", cookies);
    assert_html(&r, 200);
    assert_non_null(strstr(r.body, "Enter the 6-digit code"));
    resp_free(&r);
    /* without the pending cookie the step page sends back to sign-in */
    char *only_csrf = str_printf("cityos_login_csrf=%s", csrf);
    r = get_with(f->s, "/signin/totp", only_csrf);
    assert_status(&r, 303);
    resp_free(&r);
    /* a wrong code: refused, counted, the step stays open */
    char code[7];
    totp_now(secret, len, code);
    char wrong[12];
    snprintf(wrong, sizeof wrong, "%06d", (atoi(code) + 500000) % 1000000);
    char *body = str_printf("code=%s&login_csrf=%s", wrong, csrf);
    r = post_form(f->s, "/signin/totp", cookies, body);
    assert_html(&r, 200);
    assert_non_null(strstr(r.body, "確認コードが正しくありません"));
    assert_null(set_cookie(&r, "cityos_session"));
    resp_free(&r);
    free(body);
    /* the CSRF field is required here too */
    body = str_printf("code=%s", code);
    r = post_form(f->s, "/signin/totp", cookies, body);
    assert_status(&r, 403);
    resp_free(&r);
    free(body);
    /* the right code: a session with both factors, and on to return_to */
    totp_now(secret, len, code);
    body = str_printf("code=%s&login_csrf=%s", code, csrf);
    r = post_form(f->s, "/signin/totp", cookies, body);
    assert_status(&r, 303);
    assert_header(&r, "Location", "/after?x=1");
    char *v = cookie_value(&r, "cityos_session");
    assert_non_null(v);
    assert_non_null(strstr(set_cookie(&r, "cityos_signin_pending"), "Max-Age=0"));
    resp_free(&r);
    char *ck = str_printf("cityos_session=%s", v);
    r = get_with(f->s, "/signin/done", ck);
    assert_status(&r, 200);
    resp_free(&r);
    /* the pending record was single-use */
    r = post_form(f->s, "/signin/totp", cookies, body);
    assert_status(&r, 303);
    assert_header(&r, "Location", "/signin?lang=ja");
    assert_null(set_cookie(&r, "cityos_session"));
    resp_free(&r);
    /* the same code again after a new password step: a replay, refused */
    r = signin(f->s, csrf, "staff@example.jp", PASSWORD, NULL);
    assert_status(&r, 303);
    char *pending2 = cookie_value(&r, "cityos_signin_pending");
    resp_free(&r);
    char *cookies2 = str_printf("cityos_login_csrf=%s; cityos_signin_pending=%s", csrf, pending2);
    r = post_form(f->s, "/signin/totp", cookies2, body);
    assert_status(&r, 200);
    assert_null(set_cookie(&r, "cityos_session"));
    resp_free(&r);
    free(cookies2);
    free(pending2);
    free(ck);
    free(v);
    free(body);
    free(only_csrf);
    free(cookies);
    free(pending);
    free(csrf);
    free(secret);
}

static void totp_failures_count_toward_lockout(void **state)
{
    struct fixture *f = *state;
    add_person(f->s, "staff2@example.jp");
    size_t len = 0;
    char *secret = enrol_totp(f->s, "staff2@example.jp", &len);
    char *csrf = signin_csrf(f->s);
    /* 4 wrong passwords, then the right one and a wrong code: the 5th failure */
    for (int i = 0; i < 4; i++)
        fail_once(f->s, csrf, "staff2@example.jp");
    struct resp r = signin(f->s, csrf, "staff2@example.jp", PASSWORD, NULL);
    assert_status(&r, 303);
    char *pending = cookie_value(&r, "cityos_signin_pending");
    resp_free(&r);
    char *cookies = str_printf("cityos_login_csrf=%s; cityos_signin_pending=%s", csrf, pending);
    char code[7], wrong[12];
    totp_now(secret, len, code);
    snprintf(wrong, sizeof wrong, "%06d", (atoi(code) + 500000) % 1000000);
    char *body = str_printf("code=%s&login_csrf=%s", wrong, csrf);
    r = post_form(f->s, "/signin/totp", cookies, body);
    assert_status(&r, 200);
    resp_free(&r);
    /* now in back-off: the right code waits too */
    free(body);
    totp_now(secret, len, code);
    body = str_printf("code=%s&login_csrf=%s", code, csrf);
    r = post_form(f->s, "/signin/totp", cookies, body);
    assert_status(&r, 429);
    assert_non_null(resp_header(&r, "Retry-After"));
    assert_null(set_cookie(&r, "cityos_session"));
    resp_free(&r);
    free(body);
    free(cookies);
    free(pending);
    free(csrf);
    free(secret);
}

static void malformed_forms_are_refused(void **state)
{
    struct fixture *f = *state;
    char *csrf = signin_csrf(f->s);
    char *ck = str_printf("cityos_login_csrf=%s", csrf);
    const char *bodies[] = {
        "email=a@example.jp&&password=x",
        "email=a@example.jp&password=x&",
        "email=a@example.jp&email=b@example.jp",
        "email=a@example.jp&password=%zz",
        "email=a@example.jp&password=x&admin=1",
        "=x",
        "email",
        "email=a%00b@example.jp",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        struct resp r = post_form(f->s, "/signin", ck, bodies[i]);
        assert_html(&r, 400);
        assert_false(argon2_ran(f->s, &r));
        resp_free(&r);
    }
    struct resp r = api(f->s, "POST", "/signin",
                        LIST("Content-Type: application/json", "Cookie: x=y"), "{}", 2);
    assert_html(&r, 400);
    resp_free(&r);
    char *body = str_printf("login_csrf=%s&email=a@example.jp", csrf); /* no password */
    r = post_form(f->s, "/signin", ck, body);
    assert_html(&r, 400);
    resp_free(&r);
    r = post_form(f->s, "/signin/totp", ck, "code=1&code=2");
    assert_html(&r, 400);
    resp_free(&r);
    r = post_form(f->s, "/signout", NULL, "csrf=x&other=y");
    assert_html(&r, 400);
    resp_free(&r);
    free(body);
    free(ck);
    free(csrf);
}

static void open_redirects_are_ignored(void **state)
{
    struct fixture *f = *state;
    add_person(f->s, "redir@example.jp");
    char *csrf = signin_csrf(f->s);
    const char *attempts[] = {"//evil.example/x",    "/\\evil.example",  "https://evil.example/",
                              "/\t/evil.example",    "evil.example",     "/a\r\nX-Injected: 1",
                              "javascript:alert(1)", "/\\/evil.example", ""};
    for (size_t i = 0; i < sizeof attempts / sizeof attempts[0]; i++) {
        struct resp r = signin(f->s, csrf, "redir@example.jp", PASSWORD, attempts[i]);
        if (strpbrk(attempts[i], "\t\r\n") != NULL) { /* control characters: the form refuses */
            assert_status(&r, 400);
            resp_free(&r);
            continue;
        }
        assert_status(&r, 303);
        assert_header(&r, "Location", "/signin/done");
        resp_free(&r);
    }
    char *enc = urlenc("//evil.example/");
    char *path = str_printf("/signin?return_to=%s", enc);
    struct resp r = api_get(f->s, path);
    assert_status(&r, 200);
    assert_non_null(strstr(r.body, "name=\"return_to\" value=\"/signin/done\""));
    assert_null(strstr(r.body, "evil.example"));
    resp_free(&r);
    free(path);
    free(enc);
    free(csrf);
}

/* ---- many sign-ins at once, then SIGTERM ---- */

struct burst {
    struct server *s;
    const char *csrf;
    long status;
    char retry_after[16];
};

static void *burst_one(void *arg)
{
    struct burst *b = arg;
    CURL *c = client_new();
    char *pw = urlenc(PASSWORD);
    char *body = str_printf("email=burst@example.jp&password=%s&login_csrf=%s", pw, b->csrf);
    char *cookie = str_printf("Cookie: cityos_login_csrf=%s", b->csrf);
    struct request rq = {.method = "POST",
                         .path = "/signin",
                         .headers = LIST(FORM_HEADER, cookie),
                         .body = body,
                         .len = strlen(body),
                         .timeout_ms = 30000};
    struct resp r = http_exchange(c, server_port(b->s), &rq);
    b->status = r.status;
    const char *ra = resp_header(&r, "Retry-After");
    snprintf(b->retry_after, sizeof b->retry_after, "%s", ra != NULL ? ra : "");
    resp_free(&r);
    curl_easy_cleanup(c);
    free(cookie);
    free(body);
    free(pw);
    return NULL;
}

/* More sign-ins than the pool holds: the overflow is 503 with Retry-After: 1 at once; on
 * SIGTERM without grace the queued ones are answered 503 and the server exits cleanly. */
static void a_full_pool_answers_503_and_stops_cleanly(void **state)
{
    (void)state;
    enum { N = 100 };
    struct server_config cfg = {.args = LIST("--shutdown-grace=0", "--threads=4")};
    struct server *s = server_start_with(&cfg);
    add_person(s, "burst@example.jp");
    char *csrf = signin_csrf(s);
    static struct burst b[N];
    pthread_t t[N];
    for (int i = 0; i < N; i++) {
        b[i] = (struct burst){.s = s, .csrf = csrf};
        assert_int_equal(pthread_create(&t[i], NULL, burst_one, &b[i]), 0);
    }
    sleep_ms(1500);
    server_send_signal(s, SIGTERM);
    for (int i = 0; i < N; i++)
        pthread_join(t[i], NULL);
    int ok = 0, busy = 0;
    for (int i = 0; i < N; i++) {
        if (b[i].status == 303) {
            ok++;
        } else if (b[i].status == 503) {
            busy++;
            assert_string_equal(b[i].retry_after, "1");
        } else {
            assert_int_equal(b[i].status, 0); /* at most: the connection closed at shutdown */
        }
    }
    fprintf(stderr, "burst of %d: %d signed in, %d answered 503\n", N, ok, busy);
    assert_true(ok >= 1);
    assert_true(busy >= 1);
    assert_int_equal(server_wait_exit(s, 20000), 0);
    assert_false(server_log_has(s, "MHD_stop_daemon"));
    free(csrf);
    server_free(s);
}

/* ---- the audit trail ---- */

/* Asserts an entry of the person's own sign-in record: kind person, the person as actor and
 * subject's account, action signin on a Session, and the decision and rule. */
static void assert_signin_entry(const json_t *it, const char *person, const char *decision,
                                const char *rule)
{
    if (it == NULL) {
        fprintf(stderr, "no sign-in entry with %s / %s\n", decision, rule);
        fail();
    }
    assert_string_equal(trail_text(it, "who.kind"), "person");
    assert_string_equal(trail_text(it, "who.id"), person);
    assert_string_equal(trail_text(it, "what.action"), "signin");
    assert_string_equal(trail_text(it, "what.resourceType"), "Session");
    assert_null(trail_text(it, "what.resourceId")); /* never the session's key */
    assert_string_equal(trail_text(it, "decision"), decision);
    assert_string_equal(trail_text(it, "why.decidedBy"), rule);
    assert_string_equal(trail_text(it, "sourceAddress"), "127.0.0.1");
    assert_non_null(trail_text(it, "requestId"));
    assert_non_null(trail_text(it, "time"));
}

/* The newest entry of items decided by rule, or NULL. */
static json_t *by_rule(json_t *items, const char *rule)
{
    for (size_t i = 0; i < json_array_size(items); i++) {
        const char *r = trail_text(json_array_get(items, i), "why.decidedBy");
        if (r != NULL && strcmp(r, rule) == 0)
            return json_array_get(items, i);
    }
    return NULL;
}

static size_t count_rule(json_t *items, const char *rule)
{
    size_t n = 0;
    for (size_t i = 0; i < json_array_size(items); i++) {
        const char *r = trail_text(json_array_get(items, i), "why.decidedBy");
        n += r != NULL && strcmp(r, rule) == 0;
    }
    return n;
}

/* Wrong passwords, a 429 while backing off and the sign-in that follows are on the person's
 * trail, newest first; an unknown address names nobody and records nothing. */
static void signins_and_refusals_are_on_the_trail(void **state)
{
    struct fixture *f = *state;
    char *person = person_add(f->s, "trail@example.jp");
    char client[64];
    trail_client_add(f->s, client);
    char *csrf = signin_csrf(f->s);
    for (int i = 0; i < 5; i++)
        assert_int_equal(fail_once(f->s, csrf, "trail@example.jp"), 0);
    struct resp r = signin(f->s, csrf, "trail@example.jp", PASSWORD, NULL); /* backing off */
    assert_html(&r, 429);
    resp_free(&r);
    /* more attempts in the same wait are refused too, but not recorded again: nobody can fill
     * a person's trail by knowing their address */
    for (int i = 0; i < 3; i++) {
        r = signin(f->s, csrf, "trail@example.jp", PASSWORD, NULL);
        assert_html(&r, 429);
        resp_free(&r);
    }
    r = signin(f->s, csrf, "nobody-here@example.jp", "not the password", NULL);
    assert_html(&r, 200);
    resp_free(&r);
    sleep_ms(1200); /* the back-off of the 5th failure: 1 s */
    char *token = trail_token(f->s, client, "trail@example.jp", PASSWORD);
    json_t *items = trail_items(f->s, token, 20);
    /* exactly: the sign-in of trail_token(), one 429 for the four, five wrong passwords */
    assert_int_equal(json_array_size(items), 7);
    json_t *ok = json_array_get(items, 0);
    assert_signin_entry(ok, person, "permit", "rule:self");
    assert_string_equal(trail_text(ok, "why.reason"), "password");
    json_t *locked = json_array_get(items, 1);
    assert_signin_entry(locked, person, "deny", "rule:locked");
    assert_non_null(trail_text(locked, "why.reason"));
    assert_int_equal(count_rule(items, "rule:wrong-password"), 5);
    assert_signin_entry(by_rule(items, "rule:wrong-password"), person, "deny",
                        "rule:wrong-password");
    assert_string_equal(trail_text(by_rule(items, "rule:wrong-password"), "why.reason"),
                        "the password was not correct");
    json_decref(items);
    free(token);
    free(csrf);
    free(person);
}

/* The TOTP step: a wrong code is a refusal on the trail, the right one the sign-in with both
 * factors. (The trail is then read after removing the second factor, so that the code flow's
 * own sign-in needs only the password.) */
static void totp_steps_are_on_the_trail(void **state)
{
    struct fixture *f = *state;
    char *person = person_add(f->s, "trail-totp@example.jp");
    char client[64];
    trail_client_add(f->s, client);
    size_t len = 0;
    char *secret = enrol_totp(f->s, "trail-totp@example.jp", &len);
    char *csrf = signin_csrf(f->s);
    struct resp r = signin(f->s, csrf, "trail-totp@example.jp", PASSWORD, NULL);
    assert_status(&r, 303);
    char *pending = cookie_value(&r, "cityos_signin_pending");
    resp_free(&r);
    char *cookies = str_printf("cityos_login_csrf=%s; cityos_signin_pending=%s", csrf, pending);
    char code[7], wrong[12];
    totp_now(secret, len, code);
    snprintf(wrong, sizeof wrong, "%06d", (atoi(code) + 500000) % 1000000);
    char *body = str_printf("code=%s&login_csrf=%s", wrong, csrf);
    r = post_form(f->s, "/signin/totp", cookies, body);
    assert_html(&r, 200);
    resp_free(&r);
    free(body);
    totp_now(secret, len, code);
    body = str_printf("code=%s&login_csrf=%s", code, csrf);
    r = post_form(f->s, "/signin/totp", cookies, body);
    assert_status(&r, 303);
    assert_non_null(set_cookie(&r, "cityos_session"));
    resp_free(&r);
    char *args = str_printf("user totp %s --remove", "trail-totp@example.jp");
    free(run_cli(f->s, "", args));
    char *token = trail_token(f->s, client, "trail-totp@example.jp", PASSWORD);
    json_t *items = trail_items(f->s, token, 20);
    /* the code flow's sign-in, the TOTP sign-in, the wrong code (a right password alone is not
     * a sign-in: nothing for the first step) */
    assert_int_equal(json_array_size(items), 3);
    assert_signin_entry(json_array_get(items, 0), person, "permit", "rule:self");
    json_t *both = json_array_get(items, 1);
    assert_signin_entry(both, person, "permit", "rule:self");
    assert_string_equal(trail_text(both, "why.reason"), "password and one-time code");
    assert_signin_entry(json_array_get(items, 2), person, "deny", "rule:wrong-code");
    json_decref(items);
    free(token);
    free(args);
    free(body);
    free(cookies);
    free(pending);
    free(csrf);
    free(secret);
    free(person);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(form_in_both_languages),
        cmocka_unit_test(signin_sets_session_and_returns),
        cmocka_unit_test(secure_cookies_behind_https),
        cmocka_unit_test(wrong_password_and_unknown_email_look_the_same),
        cmocka_unit_test(login_csrf_refusals),
        cmocka_unit_test(signout_needs_csrf_and_ends_the_session),
        cmocka_unit_test(totp_second_step),
        cmocka_unit_test(totp_failures_count_toward_lockout),
        cmocka_unit_test(malformed_forms_are_refused),
        cmocka_unit_test(open_redirects_are_ignored),
        cmocka_unit_test(success_resets_the_count),
        cmocka_unit_test(backoff_then_lockout),
        cmocka_unit_test(signins_and_refusals_are_on_the_trail),
        cmocka_unit_test(totp_steps_are_on_the_trail),
        cmocka_unit_test(a_full_pool_answers_503_and_stops_cleanly),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/* signin_api.c - the browser sign-in: pages in Japanese and English, login CSRF (double submit),
 * password and TOTP steps on the sign-in pool, back-off and lock-out, session cookies, sign-out;
 * every sign-in and every refused attempt on a known account recorded on that person's audit
 * trail (docs/internals/signin.md, "The audit trail"). */
#include "identity/signin_api.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "audit/actor.h"
#include "audit/audit.h"
#include "base/clock.h"
#include "base/log.h"
#include "http/form.h"
#include "http/html.h"
#include "identity/person.h"
#include "identity/pwhash_pool.h"
#include "identity/return_to.h"
#include "identity/session.h"
#include "identity/signin_pending.h"

#define FORM_TYPE         "application/x-www-form-urlencoded"
#define LOGIN_CSRF_COOKIE "cityos_login_csrf" /* the double-submit value of the sign-in forms */
#define RETRY_AFTER_MAX_S 86400               /* a Retry-After beyond a day says nothing useful */

/* ---- answers ---- */

static const char *lang_query(enum html_lang lang)
{
    return lang == HTML_LANG_EN ? "?lang=en" : "?lang=ja";
}

/* Adds a Set-Cookie. max_age < 0: a browser-session cookie; 0: delete it. */
static void set_cookie(struct http_request *req, const struct signin_api *api, const char *name,
                       const char *value, const char *path, const char *same_site, long max_age)
{
    char age[40] = "";
    if (max_age >= 0)
        snprintf(age, sizeof age, "; Max-Age=%ld", max_age);
    char *c = arena_printf(req->arena, "%s=%s; Path=%s; HttpOnly; SameSite=%s%s%s", name, value,
                           path, same_site, age, api->secure_cookies ? "; Secure" : "");
    if (c != NULL)
        http_set_header(req, "Set-Cookie", c);
}

/* 303 See Other to location (a local path). */
static int redirect(struct http_request *req, const char *location)
{
    http_set_header(req, "Location", location);
    http_set_header(req, "Cache-Control", "no-store");
    http_respond(req, 303, NULL, "", 0);
    return 0;
}

static int redirect_signin(struct http_request *req, enum html_lang lang)
{
    return redirect(req, lang == HTML_LANG_EN ? "/signin?lang=en" : "/signin?lang=ja");
}

/* A page with a heading, one paragraph and an optional link. */
static int page_notice(struct http_request *req, int status, enum html_lang lang,
                       const char *title_ja, const char *title_en, const char *text_ja,
                       const char *text_en, const char *href)
{
    struct html_buf b;
    html_init(&b, req->arena);
    html_begin(&b, lang, HTML_T(lang, title_ja, title_en));
    html_raw(&b, "<h1>");
    html_text(&b, HTML_T(lang, title_ja, title_en));
    html_raw(&b, "</h1><p class=\"error\">");
    html_text(&b, HTML_T(lang, text_ja, text_en));
    html_raw(&b, "</p>");
    if (href != NULL) {
        html_raw(&b, "<p><a href=\"");
        html_text(&b, href);
        html_raw(&b, "\">");
        html_text(&b, HTML_T(lang, "サインインへ戻る", "Back to sign-in"));
        html_raw(&b, "</a></p>");
    }
    html_end(&b);
    return html_respond(req, status, &b);
}

static int page_bad_request(struct http_request *req, enum html_lang lang)
{
    return page_notice(req, 400, lang, "リクエストが正しくありません", "Bad request",
                       "送信された内容を読み取れませんでした。もう一度お試しください。",
                       "The form could not be read. Please try again.",
                       lang == HTML_LANG_EN ? "/signin?lang=en" : "/signin?lang=ja");
}

static int page_forbidden(struct http_request *req, enum html_lang lang)
{
    return page_notice(
        req, 403, lang, "確認できませんでした", "Request refused",
        "このフォームの送信を確認できませんでした。ページを開き直してから、もう一度お"
        "試しください。",
        "This form submission could not be verified. Reload the page and try again.",
        lang == HTML_LANG_EN ? "/signin?lang=en" : "/signin?lang=ja");
}

static int page_unavailable(struct http_request *req, enum html_lang lang)
{
    http_set_header(req, "Retry-After", "1");
    return page_notice(req, 503, lang, "混み合っています", "Busy",
                       "ただいま混み合っています。少し待ってから、もう一度お試しください。",
                       "The service is busy. Please wait a moment and try again.", NULL);
}

static int page_locked(struct http_request *req, enum html_lang lang, int64_t wait_ms)
{
    int64_t s = wait_ms / 1000 + (wait_ms % 1000 != 0);
    if (s > RETRY_AFTER_MAX_S)
        s = RETRY_AFTER_MAX_S;
    if (s < 1)
        s = 1;
    char v[24];
    snprintf(v, sizeof v, "%lld", (long long)s);
    http_set_header(req, "Retry-After", v);
    char *ja =
        arena_printf(req->arena,
                     "サインインの失敗が続いたため、しばらく受け付けません。%lld 秒後に、もう"
                     "一度お試しください。",
                     (long long)s);
    char *en = arena_printf(
        req->arena, "Too many failed sign-ins. Please try again in %lld seconds.", (long long)s);
    if (ja == NULL || en == NULL)
        return -1;
    return page_notice(req, 429, lang, "しばらくお待ちください", "Please wait", ja, en, NULL);
}

/* The sign-in form. error_ja/en: NULL, or a message shown above it. */
static int page_signin(struct http_request *req, int status, enum html_lang lang,
                       const char *login_csrf, const char *return_to, const char *error_ja,
                       const char *error_en)
{
    struct html_buf b;
    html_init(&b, req->arena);
    html_begin(&b, lang, HTML_T(lang, "サインイン - 地域ID", "Sign in - regional ID"));
    html_raw(&b, "<h1>");
    html_text(&b, HTML_T(lang, "地域IDでサインイン", "Sign in with your regional ID"));
    html_raw(&b, "</h1>");
    if (error_ja != NULL) {
        html_raw(&b, "<p class=\"error\" role=\"alert\">");
        html_text(&b, HTML_T(lang, error_ja, error_en));
        html_raw(&b, "</p>");
    }
    html_raw(&b, "<form method=\"post\" action=\"/signin");
    html_raw(&b, lang_query(lang));
    html_raw(&b, "\"><input type=\"hidden\" name=\"login_csrf\" value=\"");
    html_text(&b, login_csrf);
    html_raw(&b, "\"><input type=\"hidden\" name=\"return_to\" value=\"");
    html_text(&b, return_to);
    html_raw(&b, "\"><label for=\"email\">");
    html_text(&b, HTML_T(lang, "メールアドレス", "E-mail address"));
    html_raw(&b, "</label><input type=\"email\" id=\"email\" name=\"email\" "
                 "autocomplete=\"username\" required autofocus>"
                 "<label for=\"password\">");
    html_text(&b, HTML_T(lang, "パスワード", "Password"));
    html_raw(&b, "</label><input type=\"password\" id=\"password\" name=\"password\" "
                 "autocomplete=\"current-password\" required><button type=\"submit\">");
    html_text(&b, HTML_T(lang, "サインイン", "Sign in"));
    html_raw(&b, "</button></form>");
    html_end(&b);
    return html_respond(req, status, &b);
}

static int page_totp(struct http_request *req, int status, enum html_lang lang,
                     const char *login_csrf, int wrong)
{
    struct html_buf b;
    html_init(&b, req->arena);
    html_begin(&b, lang, HTML_T(lang, "確認コード - 地域ID", "Verification code - regional ID"));
    html_raw(&b, "<h1>");
    html_text(&b, HTML_T(lang, "確認コードの入力", "Enter your verification code"));
    html_raw(&b, "</h1>");
    if (wrong) {
        html_raw(&b, "<p class=\"error\" role=\"alert\">");
        html_text(&b, HTML_T(lang, "確認コードが正しくありません。",
                             "The verification code is not correct."));
        html_raw(&b, "</p>");
    }
    html_raw(&b, "<p>");
    html_text(&b, HTML_T(lang, "認証アプリに表示されている6桁のコードを入力してください。",
                         "Enter the 6-digit code shown in your authenticator app."));
    html_raw(&b, "</p><form method=\"post\" action=\"/signin/totp");
    html_raw(&b, lang_query(lang));
    html_raw(&b, "\"><input type=\"hidden\" name=\"login_csrf\" value=\"");
    html_text(&b, login_csrf);
    html_raw(&b, "\"><label for=\"code\">");
    html_text(&b, HTML_T(lang, "確認コード", "Verification code"));
    html_raw(&b, "</label><input type=\"text\" id=\"code\" name=\"code\" inputmode=\"numeric\" "
                 "pattern=\"[0-9]{6}\" maxlength=\"6\" autocomplete=\"one-time-code\" required "
                 "autofocus><button type=\"submit\">");
    html_text(&b, HTML_T(lang, "確認", "Verify"));
    html_raw(&b, "</button></form>");
    html_end(&b);
    return html_respond(req, status, &b);
}

/* ---- input ---- */

/* Reads a strict form body whose field names are all in allowed (NULL-terminated). Returns 1,
 * 0 with a 400 page set, or -1 when out of memory. */
static int read_form(struct http_request *req, enum html_lang lang, const char *const *allowed,
                     struct http_form *f)
{
    if (!http_content_type_is(req, FORM_TYPE) ||
        (req->body_len > 0 && (req->body == NULL || memchr(req->body, 0, req->body_len) != NULL)))
        return page_bad_request(req, lang) == 0 ? 0 : -1;
    struct err e = {0};
    int rc = http_form_parse(req->body != NULL ? req->body : "", req->body_len, req->arena, f, &e);
    if (rc == ERR_NOMEM)
        return -1;
    if (rc != 0) {
        log_debug("sign-in form refused: %s", e.msg);
        return page_bad_request(req, lang) == 0 ? 0 : -1;
    }
    for (size_t i = 0; i < f->n; i++) {
        size_t k = 0;
        while (allowed[k] != NULL && strcmp(allowed[k], f->fields[i].name) != 0)
            k++;
        if (allowed[k] == NULL)
            return page_bad_request(req, lang) == 0 ? 0 : -1;
    }
    return 1;
}

/* Only the query arguments in allowed; otherwise sets a 400 page and returns 0. */
static int query_ok(struct http_request *req, enum html_lang lang, const char *const *allowed)
{
    const char *bad = NULL;
    int repeated = 0;
    if (http_query_only(req, allowed, &bad, &repeated))
        return 1;
    page_bad_request(req, lang);
    return 0;
}

/* Double submit: the form's login_csrf equals the pre-session cookie (constant time). */
static int login_csrf_ok(const struct http_request *req, const struct http_form *f)
{
    const char *cookie = http_cookie(req, LOGIN_CSRF_COOKIE);
    const char *field = http_form_get(f, "login_csrf");
    return id_session_value_valid(cookie) && id_session_value_valid(field) &&
           sodium_memcmp(cookie, field, ID_SESSION_VALUE_LEN) == 0;
}

/* The pre-session value of this browser: its cookie when well-formed, else a new one (set). */
static const char *login_csrf_of(struct http_request *req, const struct signin_api *api)
{
    const char *v = http_cookie(req, LOGIN_CSRF_COOKIE);
    if (id_session_value_valid(v))
        return v;
    char *fresh = arena_alloc(req->arena, ID_SESSION_VALUE_LEN + 1);
    if (fresh == NULL)
        return NULL;
    id_session_random(fresh);
    set_cookie(req, api, LOGIN_CSRF_COOKIE, fresh, "/signin", "Strict", -1);
    return fresh;
}

/* ---- the sign-in steps, run on the pool ---- */

enum outcome {
    OUT_OK,      /* a session was stored: set the cookie, go to return_to */
    OUT_BAD,     /* wrong e-mail, password or code: the same answer for all */
    OUT_LOCKED,  /* wait_ms before the next attempt */
    OUT_BUSY,    /* the pool's queue is full or stopping */
    OUT_TOTP,    /* password right, the second factor is next */
    OUT_FAILED,  /* the store failed */
    OUT_EXPIRED, /* the pending second step is gone: start again */
};

struct signin_job {
    struct id_pwpool_job job; /* first: the pool hands this back */
    struct signin_api *api;
    struct http_request *req;
    enum html_lang lang;
    int second_step; /* 0: password, 1: TOTP code */
    /* password step */
    int known, has_totp;
    char person_id[IDS_LEN + 1];
    char *password; /* in the arena; wiped after use */
    const char *return_to;
    /* TOTP step */
    const char *code;
    char pending_value[ID_SESSION_VALUE_LEN + 1];
    struct id_pending pending;
    /* the audit record of this attempt: request id and address taken on the server thread */
    struct audit_event ev;
    enum outcome after; /* the answer once a refusal is recorded */
    /* results */
    enum outcome out;
    int64_t wait_ms;
    int64_t locked_until_ms; /* with wait_ms: the end of the wait, from the person's row */
    int64_t step;            /* the TOTP step accepted with the session, 0: none */
    struct id_session sess;
    char value[ID_SESSION_VALUE_LEN + 1]; /* the session cookie, or the pending one */
};

static void job_finish(struct signin_job *w, enum outcome out)
{
    w->out = out;
    http_request_resume(w->req); /* w belongs to the request: untouched from here on */
}

static void job_cancel(struct id_pwpool_job *j)
{
    struct signin_job *w = (struct signin_job *)j;
    if (w->password != NULL)
        sodium_memzero(w->password, strlen(w->password));
    job_finish(w, OUT_BUSY);
}

/* ---- the audit records (MHLW guideline v6.0 ch. 17: access logs record who signed in and
 * when). The subject is the account's person; the actor is that person too, proven by the
 * password for a sign-in, only claimed for a refusal (as IHE ATNA records the user who
 * attempted). Unknown addresses name nobody and record nothing. ---- */

#define RULE_SELF           "rule:self"
#define RULE_WRONG_PASSWORD "rule:wrong-password"
#define RULE_WRONG_CODE     "rule:wrong-code"
#define RULE_LOCKED         "rule:locked"

/* Fills w->ev for w->person_id; request_id and source_addr were set on the server thread. */
static void signin_event(struct signin_job *w, enum audit_decision d, const char *rule,
                         const char *reason)
{
    w->ev.actor_kind = AUDIT_ACTOR_PERSON;
    w->ev.actor_id = w->person_id;
    w->ev.subject = w->person_id;
    w->ev.action = "signin";
    w->ev.resource_type = "Session";
    w->ev.decision = d;
    w->ev.decided_by = rule;
    w->ev.reason = reason;
}

static void refusal_recorded(int status, const struct err *e, void *ctx)
{
    struct signin_job *w = ctx;
    if (status != 0)
        log_warn("a refused sign-in could not be recorded: %s", e != NULL ? e->msg : "?");
    job_finish(w, status == 0 ? w->after : OUT_FAILED);
}

/* Records a refused attempt on w's account through the group commit (it never blocks the
 * calling thread) and answers `out` once it is durable; a refusal that cannot be recorded is
 * answered 503 instead (the record is never dropped). */
static void refuse_recorded(struct signin_job *w, enum outcome out, const char *rule,
                            const char *reason)
{
    struct err e = {0};
    signin_event(w, AUDIT_DENY, rule, reason);
    w->after = out;
    if (audit_record_async(w->api->store, &w->ev, refusal_recorded, w, &e) != 0) {
        log_warn("a refused sign-in could not be queued for the audit trail: %s", e.msg);
        job_finish(w, OUT_FAILED);
    }
}

/* The write that completes a sign-in: the TOTP step (if any) is taken, the failure count
 * cleared, the session stored and the sign-in recorded on the person's trail, in one
 * transaction. */
static int complete_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct signin_job *w = ctx;
    int rc;
    if (w->step > 0 && (rc = id_totp_accept_step(tx, w->sess.person_id, w->step, e)) != 0)
        return rc;
    struct id_login_state st = {0};
    id_password_note_success(&st);
    struct store_value v[] = {STORE_INT_V(st.failed), STORE_INT_V(st.locked_until_ms),
                              STORE_TEXT_V(w->sess.person_id)};
    rc = store_tx_exec(tx, "UPDATE person SET failed_logins = ?, locked_until_ms = ? WHERE id = ?",
                       v, 3, e);
    if (rc < 0)
        return rc;
    if ((rc = id_session_insert_fn(tx, &w->sess, e)) != 0)
        return rc;
    return audit_append(tx, &w->ev, NULL, e);
}

static void completed(int status, const struct err *e, void *ctx)
{
    struct signin_job *w = ctx;
    if (status == ERR_CONFLICT) { /* the same TOTP step was accepted meanwhile: a replay */
        job_finish(w, OUT_BAD);
        return;
    }
    if (status != 0)
        log_warn("sign-in session not stored: %s", e != NULL ? e->msg : "?");
    else
        LOG_AT(LOGL_INFO, json_pack("{s:s, s:s}", "person", w->sess.person_id, "amr", w->sess.amr),
               "signed in");
    job_finish(w, status == 0 ? OUT_OK : OUT_FAILED);
}

/* Makes the session and queues the completing write; the write's completion resumes. */
static void complete(struct signin_job *w, const char *amr, int64_t now)
{
    struct err e = {0};
    signin_event(w, AUDIT_PERMIT, RULE_SELF,
                 w->step > 0 ? "password and one-time code" : "password");
    if (id_session_new(&w->sess, w->person_id, amr, now, now, w->value, &e) != 0 ||
        store_write_async(w->api->store, complete_fn, w, completed, w) != 0) {
        job_finish(w, OUT_FAILED);
    }
}

/* Reads the person's failure state; sets *wait_ms. Returns 0 or the store's error. */
static int login_wait(struct signin_job *w, int64_t now, const char **hash)
{
    struct id_login_state st = {0};
    struct err e = {0};
    const char *h = NULL;
    int rc = id_person_get_login(w->api->store, w->person_id, &h, &st, w->req->arena, &e);
    if (rc == ERR_NOTFOUND) {
        w->known = 0;
        return 0;
    }
    if (rc != 0)
        return rc;
    if (hash != NULL) {
        *hash = h;
        if (h == NULL)
            w->known = 0;
    }
    w->wait_ms = id_password_wait_ms(&st, now);
    w->locked_until_ms = st.locked_until_ms;
    return 0;
}

/* Is this the first refused attempt of the person's current wait? Remembers it. A wait is
 * (person, locked_until_ms); the table is a small direct-mapped cache, so a collision or a
 * restart only means one more entry on the trail, never a missing one for a new wait. */
static int first_of_wait(struct signin_api *api, const char *person_id, int64_t until_ms)
{
    uint32_t h = 2166136261u; /* FNV-1a of the id */
    for (const char *p = person_id; *p != '\0'; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    size_t i = h % SIGNIN_LOCKED_SEEN;
    pthread_mutex_lock(&api->locked_lock);
    int first = api->locked_seen[i].until_ms != until_ms ||
                strcmp(api->locked_seen[i].person_id, person_id) != 0;
    if (first) {
        memcpy(api->locked_seen[i].person_id, person_id, IDS_LEN + 1);
        api->locked_seen[i].until_ms = until_ms;
    }
    pthread_mutex_unlock(&api->locked_lock);
    return first;
}

/* A refused attempt while the account waits: on the trail once per wait, then only answered. */
static void refuse_locked(struct signin_job *w)
{
    if (first_of_wait(w->api, w->person_id, w->locked_until_ms))
        refuse_recorded(w, OUT_LOCKED, RULE_LOCKED, "too many failed sign-ins: waiting");
    else
        job_finish(w, OUT_LOCKED);
}

static void note_failure(struct signin_job *w, int64_t now)
{
    struct err e = {0};
    if (id_person_note_login(w->api->store, w->person_id, 0, now, NULL, &e) != 0)
        log_warn("sign-in failure not recorded: %s", e.msg);
}

static void run_password(struct id_pwpool_job *j)
{
    struct signin_job *w = (struct signin_job *)j;
    struct signin_api *api = w->api;
    int64_t now = clock_now_ms();
    const char *hash = NULL;
    if (w->known && login_wait(w, now, &hash) != 0) {
        sodium_memzero(w->password, strlen(w->password));
        job_finish(w, OUT_FAILED);
        return;
    }
    if (w->known && w->wait_ms > 0) { /* raced with another attempt: no Argon2 */
        sodium_memzero(w->password, strlen(w->password));
        refuse_locked(w);
        return;
    }
    log_debug("sign-in %s: argon2 verify", w->req->request_id);
    /* an unknown address costs the same: a verification against the dummy hash */
    int match = id_password_verify(w->known ? hash : api->dummy_hash, w->password) == 0;
    if (!w->known || !match) {
        sodium_memzero(w->password, strlen(w->password));
        if (!w->known) { /* no account, or one without a password: nobody's trail */
            job_finish(w, OUT_BAD);
            return;
        }
        note_failure(w, clock_now_ms());
        refuse_recorded(w, OUT_BAD, RULE_WRONG_PASSWORD, "the password was not correct");
        return;
    }
    if (id_password_needs_rehash(hash)) {
        struct err e = {0};
        if (id_person_set_password(api->store, w->person_id, w->password, &e) != 0)
            log_warn("password not rehashed: %s", e.msg);
    }
    sodium_memzero(w->password, strlen(w->password));
    if (w->has_totp) {
        int rc = id_pending_put(api->pending, w->person_id, w->return_to, clock_now_ms(), w->value);
        job_finish(w, rc == 0 ? OUT_TOTP : OUT_BUSY);
        return;
    }
    complete(w, "pwd", clock_now_ms());
}

static void run_totp(struct id_pwpool_job *j)
{
    struct signin_job *w = (struct signin_job *)j;
    struct signin_api *api = w->api;
    int64_t now = clock_now_ms();
    w->known = 1;
    if (login_wait(w, now, NULL) != 0) {
        job_finish(w, OUT_FAILED);
        return;
    }
    if (!w->known) {
        job_finish(w, OUT_EXPIRED);
        return;
    }
    if (w->wait_ms > 0) {
        refuse_locked(w);
        return;
    }
    char sealed[ID_TOTP_SEALED_MAX];
    int64_t last = 0;
    struct err e = {0};
    int rc = id_totp_load(api->store, w->person_id, sealed, &last, &e);
    if (rc == ERR_NOTFOUND) { /* the second factor was removed meanwhile: start again */
        job_finish(w, OUT_EXPIRED);
        return;
    }
    unsigned char secret[ID_TOTP_SECRET_BYTES];
    size_t len = 0;
    if (rc != 0 || !api->totp_key_loaded ||
        id_totp_open(api->totp_key, sealed, secret, &len) != 0) {
        log_error("the TOTP secret of a person cannot be read: %s",
                  rc != 0 ? e.msg : "not sealed under this server's totp-key");
        job_finish(w, OUT_FAILED);
        return;
    }
    int64_t step = 0;
    rc = id_totp_verify(secret, len, w->code, now, last, &step);
    sodium_memzero(secret, sizeof secret);
    if (rc != 0) {
        note_failure(w, clock_now_ms());
        id_pending_put_back(api->pending, w->pending_value, &w->pending, clock_now_ms());
        refuse_recorded(w, OUT_BAD, RULE_WRONG_CODE,
                        "the one-time code was not correct or was used before");
        return;
    }
    w->step = step;
    complete(w, "pwd otp", clock_now_ms());
}

/* ---- the answer after the pool (on a server thread) ---- */

static int answer_outcome(struct http_request *req, struct signin_job *w)
{
    struct signin_api *api = w->api;
    switch (w->out) {
    case OUT_OK:
        set_cookie(req, api, ID_SESSION_COOKIE, w->value, "/", "Lax", -1);
        set_cookie(req, api, LOGIN_CSRF_COOKIE, "", "/signin", "Strict", 0);
        if (w->second_step)
            set_cookie(req, api, ID_PENDING_COOKIE, "", "/signin", "Strict", 0);
        return redirect(req, w->second_step ? w->pending.return_to : w->return_to);
    case OUT_TOTP:
        set_cookie(req, api, ID_PENDING_COOKIE, w->value, "/signin", "Strict",
                   (long)(ID_PENDING_TTL_MS / 1000));
        return redirect(req,
                        w->lang == HTML_LANG_EN ? "/signin/totp?lang=en" : "/signin/totp?lang=ja");
    case OUT_BAD:
        if (w->second_step)
            return page_totp(req, 200, w->lang, http_cookie(req, LOGIN_CSRF_COOKIE), 1);
        return page_signin(req, 200, w->lang, http_cookie(req, LOGIN_CSRF_COOKIE), w->return_to,
                           "メールアドレスまたはパスワードが正しくありません。",
                           "The e-mail address or the password is not correct.");
    case OUT_LOCKED:
        return page_locked(req, w->lang, w->wait_ms);
    case OUT_EXPIRED:
        set_cookie(req, api, ID_PENDING_COOKIE, "", "/signin", "Strict", 0);
        return redirect_signin(req, w->lang);
    case OUT_BUSY:
    case OUT_FAILED:
    default:
        return page_unavailable(req, w->lang);
    }
}

static int answer(struct http_request *req, void *ctx)
{
    struct signin_job *w = ctx;
    int rc = answer_outcome(req, w);
    atomic_fetch_sub(&w->api->suspended, 1);
    return rc;
}

/* Suspends req and hands w to the pool; a full queue answers 503 at once. */
static int start_job(struct http_request *req, struct signin_job *w)
{
    w->job.cancel = job_cancel;
    w->req = req;
    atomic_fetch_add(&w->api->suspended, 1);
    http_request_suspend(req, answer, w);
    if (id_pwpool_submit(w->api->pool, &w->job) != 0) {
        if (w->password != NULL)
            sodium_memzero(w->password, strlen(w->password));
        w->out = OUT_BUSY;
        http_request_resume(req);
    }
    return 0;
}

/* ---- GET /signin ---- */

static int get_signin(struct http_request *req, void *ctx)
{
    struct signin_api *api = ctx;
    enum html_lang lang = html_lang_of(req);
    if (!query_ok(req, lang, (const char *const[]){"return_to", "lang", NULL}))
        return 0;
    const char *csrf = login_csrf_of(req, api);
    if (csrf == NULL)
        return -1;
    return page_signin(req, 200, lang, csrf, id_return_to_or_default(http_query(req, "return_to")),
                       NULL, NULL);
}

/* ---- POST /signin ---- */

static int post_signin(struct http_request *req, void *ctx)
{
    struct signin_api *api = ctx;
    enum html_lang lang = html_lang_of(req);
    if (!query_ok(req, lang, (const char *const[]){"lang", NULL}))
        return 0;
    struct http_form *f = arena_zalloc(req->arena, sizeof *f);
    if (f == NULL)
        return -1;
    int ok = read_form(
        req, lang, (const char *const[]){"email", "password", "login_csrf", "return_to", NULL}, f);
    if (ok <= 0)
        return ok;
    if (!login_csrf_ok(req, f))
        return page_forbidden(req, lang);
    const char *csrf = http_cookie(req, LOGIN_CSRF_COOKIE);
    const char *return_to = id_return_to_or_default(http_form_get(f, "return_to"));
    const char *email = http_form_get(f, "email");
    const char *password = http_form_get(f, "password");
    if (email == NULL || password == NULL)
        return page_signin(req, 400, lang, csrf, return_to,
                           "メールアドレスとパスワードを入力してください。",
                           "Enter your e-mail address and your password.");
    struct signin_job *w = arena_zalloc(req->arena, sizeof *w);
    if (w == NULL || (w->password = arena_strdup(req->arena, password)) == NULL)
        return -1;
    w->api = api;
    w->req = req;
    w->lang = lang;
    w->return_to = return_to;
    w->job.run = run_password;
    audit_event_from_request(req, &w->ev);
    struct id_person p;
    struct err e = {0};
    int rc = strlen(email) <= ID_EMAIL_MAX
                 ? id_person_find_by_email(api->store, email, &p, req->arena, &e)
                 : ERR_NOTFOUND;
    if (rc == 0 && p.has_password) {
        w->known = 1;
        w->has_totp = p.has_totp;
        memcpy(w->person_id, p.id, sizeof w->person_id);
        if (login_wait(w, clock_now_ms(), NULL) != 0) {
            sodium_memzero(w->password, strlen(w->password));
            return page_unavailable(req, lang);
        }
        if (w->wait_ms > 0) { /* back-off or lock-out: answered without running Argon2 */
            sodium_memzero(w->password, strlen(w->password));
            atomic_fetch_add(&api->suspended, 1);
            http_request_suspend(req, answer, w);
            refuse_locked(w);
            return 0;
        }
    } else if (rc != 0 && rc != ERR_NOTFOUND && rc != ERR_INVALID) {
        sodium_memzero(w->password, strlen(w->password));
        return rc == ERR_NOMEM ? -1 : page_unavailable(req, lang);
    }
    return start_job(req, w);
}

/* ---- GET and POST /signin/totp ---- */

static int get_totp(struct http_request *req, void *ctx)
{
    struct signin_api *api = ctx;
    enum html_lang lang = html_lang_of(req);
    if (!query_ok(req, lang, (const char *const[]){"lang", NULL}))
        return 0;
    struct id_pending p;
    const char *csrf = http_cookie(req, LOGIN_CSRF_COOKIE);
    if (!id_session_value_valid(csrf) ||
        id_pending_peek(api->pending, http_cookie(req, ID_PENDING_COOKIE), clock_now_ms(), &p) != 0)
        return redirect_signin(req, lang);
    return page_totp(req, 200, lang, csrf, 0);
}

static int post_totp(struct http_request *req, void *ctx)
{
    struct signin_api *api = ctx;
    enum html_lang lang = html_lang_of(req);
    if (!query_ok(req, lang, (const char *const[]){"lang", NULL}))
        return 0;
    struct http_form *f = arena_zalloc(req->arena, sizeof *f);
    if (f == NULL)
        return -1;
    int ok = read_form(req, lang, (const char *const[]){"code", "login_csrf", NULL}, f);
    if (ok <= 0)
        return ok;
    if (!login_csrf_ok(req, f))
        return page_forbidden(req, lang);
    struct signin_job *w = arena_zalloc(req->arena, sizeof *w);
    if (w == NULL)
        return -1;
    const char *pv = http_cookie(req, ID_PENDING_COOKIE);
    if (!id_session_value_valid(pv) ||
        id_pending_take(api->pending, pv, clock_now_ms(), &w->pending) != 0) {
        set_cookie(req, api, ID_PENDING_COOKIE, "", "/signin", "Strict", 0);
        return redirect_signin(req, lang);
    }
    memcpy(w->pending_value, pv, sizeof w->pending_value);
    memcpy(w->person_id, w->pending.person_id, sizeof w->person_id);
    const char *code = http_form_get(f, "code");
    w->code = code != NULL ? code : "";
    w->api = api;
    w->lang = lang;
    w->second_step = 1;
    w->job.run = run_totp;
    audit_event_from_request(req, &w->ev);
    return start_job(req, w);
}

/* ---- GET /signin/done ---- */

static int get_done(struct http_request *req, void *ctx)
{
    struct signin_api *api = ctx;
    enum html_lang lang = html_lang_of(req);
    if (!query_ok(req, lang, (const char *const[]){"lang", NULL}))
        return 0;
    struct id_session ss;
    struct id_person p;
    struct err e = {0};
    int rc = id_session_current(req, api->store, &ss, &e);
    if (rc == ERR_NOTFOUND)
        return redirect_signin(req, lang);
    if (rc == 0)
        rc = id_person_get(api->store, ss.person_id, &p, req->arena, &e);
    if (rc == ERR_NOMEM)
        return -1;
    if (rc != 0)
        return page_unavailable(req, lang);
    char *name = arena_printf(req->arena, "%s %s", p.family_name_kanji, p.given_name_kanji);
    if (name == NULL)
        return -1;
    struct html_buf b;
    html_init(&b, req->arena);
    html_begin(&b, lang, HTML_T(lang, "サインインしました - 地域ID", "Signed in - regional ID"));
    html_raw(&b, "<h1>");
    html_text(&b, HTML_T(lang, "サインインしました", "You are signed in"));
    html_raw(&b, "</h1><p>");
    html_text(&b, HTML_T(lang, "サインイン中のアカウント: ", "Signed in as "));
    html_raw(&b, "<strong>");
    html_text(&b, name);
    html_raw(&b, "</strong></p><form method=\"post\" action=\"/signout");
    html_raw(&b, lang_query(lang));
    html_raw(&b, "\"><input type=\"hidden\" name=\"csrf\" value=\"");
    html_text(&b, ss.csrf);
    html_raw(&b, "\"><button type=\"submit\">");
    html_text(&b, HTML_T(lang, "サインアウト", "Sign out"));
    html_raw(&b, "</button></form>");
    html_end(&b);
    return html_respond(req, 200, &b);
}

/* ---- POST /signout ---- */

struct signout_write {
    struct id_session_end x;
    struct signin_api *api;
    struct http_request *req;
    enum html_lang lang;
    int status;
};

static void signout_written(int status, const struct err *e, void *ctx)
{
    struct signout_write *w = ctx;
    w->status = status;
    if (status != 0)
        log_warn("sign-out not stored: %s", e != NULL ? e->msg : "?");
    http_request_resume(w->req);
}

static int answer_signout(struct http_request *req, void *ctx)
{
    struct signout_write *w = ctx;
    atomic_fetch_sub(&w->api->suspended, 1);
    if (w->status != 0)
        return page_unavailable(req, w->lang);
    set_cookie(req, w->api, ID_SESSION_COOKIE, "", "/", "Lax", 0);
    return redirect_signin(req, w->lang);
}

static int post_signout(struct http_request *req, void *ctx)
{
    struct signin_api *api = ctx;
    enum html_lang lang = html_lang_of(req);
    if (!query_ok(req, lang, (const char *const[]){"lang", NULL}))
        return 0;
    struct http_form *f = arena_zalloc(req->arena, sizeof *f);
    if (f == NULL)
        return -1;
    int ok = read_form(req, lang, (const char *const[]){"csrf", NULL}, f);
    if (ok <= 0)
        return ok;
    struct id_session ss;
    struct err e = {0};
    int rc = id_session_current(req, api->store, &ss, &e);
    if (rc == ERR_NOTFOUND) { /* nothing to end: forget the cookie */
        set_cookie(req, api, ID_SESSION_COOKIE, "", "/", "Lax", 0);
        return redirect_signin(req, lang);
    }
    if (rc != 0)
        return page_unavailable(req, lang);
    if (!id_session_csrf_valid(&ss, http_form_get(f, "csrf")))
        return page_forbidden(req, lang);
    struct signout_write *w = arena_zalloc(req->arena, sizeof *w);
    if (w == NULL)
        return -1;
    memcpy(w->x.hash, ss.hash, sizeof w->x.hash);
    w->x.now_ms = clock_now_ms();
    w->api = api;
    w->req = req;
    w->lang = lang;
    atomic_fetch_add(&api->suspended, 1);
    http_request_suspend(req, answer_signout, w);
    if (store_write_async(api->store, id_session_end_fn, &w->x, signout_written, w) != 0) {
        w->status = ERR_UNAVAILABLE;
        http_request_resume(req);
    }
    return 0;
}

/* ---- lifecycle ---- */

int signin_api_register(struct http_router *r, struct signin_api *api, struct store *s,
                        const char *issuer, const char *data_dir)
{
    memset(api, 0, sizeof *api);
    atomic_init(&api->suspended, 0);
    pthread_mutex_init(&api->locked_lock, NULL); /* lives as long as api (the process) */
    api->store = s;
    api->secure_cookies = issuer != NULL && strncmp(issuer, "https://", 8) == 0;
    struct err e = {0};
    int rc = id_totp_init();
    if (rc != 0) {
        log_error("liboath failed to initialise");
        return rc;
    }
    if (data_dir != NULL) {
        if ((rc = id_totp_key_load(data_dir, api->totp_key, &e)) != 0) {
            log_error("%s", e.msg);
            return rc;
        }
        api->totp_key_loaded = 1;
    }
    char dummy[ID_SESSION_VALUE_LEN + 1];
    id_session_random(dummy);
    rc = id_password_hash(dummy, api->dummy_hash, &e);
    sodium_memzero(dummy, sizeof dummy);
    if (rc != 0) {
        log_error("cannot make the sign-in dummy hash: %s", e.msg);
        goto fail;
    }
    if ((api->pending = id_pending_table_new()) == NULL) {
        rc = ERR_NOMEM;
        goto fail;
    }
    if ((rc = id_pwpool_start(&api->pool, 0, SIGNIN_POOL_QUEUE, &e)) != 0) {
        log_error("%s", e.msg);
        goto fail;
    }
    static const struct {
        const char *method, *pattern;
        http_handler handler;
    } routes[] = {
        {"GET", "/signin", get_signin},    {"POST", "/signin", post_signin},
        {"GET", "/signin/totp", get_totp}, {"POST", "/signin/totp", post_totp},
        {"GET", "/signin/done", get_done}, {"POST", "/signout", post_signout},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if ((rc = http_router_add(r, routes[i].method, routes[i].pattern, routes[i].handler,
                                  api)) != 0)
            goto fail;
    return 0;
fail:
    signin_api_release(api);
    return rc;
}

void signin_api_release(struct signin_api *api)
{
    id_pwpool_stop(api->pool);
    api->pool = NULL;
    /* the resumed requests are answered by the server's threads: wait for them (bounded; a
     * client that went away meanwhile is never answered) */
    for (int i = 0; i < 400 && atomic_load(&api->suspended) > 0; i++)
        nanosleep(&(struct timespec){0, 5 * 1000 * 1000}, NULL);
    id_pending_table_free(api->pending);
    api->pending = NULL;
    sodium_memzero(api->totp_key, sizeof api->totp_key);
    api->totp_key_loaded = 0;
}

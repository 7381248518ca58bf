/* test_wallet.c - the wallet (issue 7 part 5) through the real binary and the demo town: the
 * city issues (a city administrator, the operator; nobody else); 会津 太郎 reads his wallet,
 * pays the clinic, the clinic's staff see their account and refund; idempotency keys (the same
 * request replayed byte for byte, another request with the key refused, a key in flight
 * refused while it is); many clients drawing on one account at once never overdraw it; bad
 * input everywhere changes nothing; someone else's wallet is refused and the refusal is on its
 * owner's trail; mandates granted, listed and revoked; an "invoice.issued" event paid under
 * the mandate end to end (the event appended to the data folder's outbox, delivered by the
 * server's own worker), one over the limit left for the citizen to pay by hand; the invariant
 * checked by the city's endpoint after all of it; and a server killed with SIGKILL in the
 * middle of concurrent payments loses no acknowledged one and keeps the invariant. */
#include "oidc_flow.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define APP_REDIRECT "http://127.0.0.1:8765/callback"
#define APP_SCOPES   "openid launch/patient patient/*.cruds user/*.cruds"
#define P_SCOPE      "openid launch/patient patient/*.cruds"
#define U_SCOPE      "openid user/*.cruds"
#define READ_SCOPE   "openid launch/patient patient/*.rs"
#define W            "/api/v1/wallet"

static struct server *S;
static char *dir, app[64];
static char *t_taro, *t_hanako, *t_misaki, *t_doctor, *t_pharma, *t_admin, *t_taro_ro;
static char taro[40], hanako[40], clinic[40], pharmacy[40];
static int keyn;

static char *token(const char *email, const char *pass, const char *act_as, const char *scope)
{
    return oidc_token(S, app, APP_REDIRECT, email, pass, act_as, scope);
}

static struct resp call_k(const char *method, const char *path, const char *tok, const char *key,
                          const char *body)
{
    char *auth = tok != NULL ? str_printf("Authorization: Bearer %s", tok) : NULL;
    char *k = key != NULL ? str_printf("Idempotency-Key: %s", key) : NULL;
    const char *h[4] = {NULL, NULL, NULL, NULL};
    int n = 0;
    if (auth != NULL)
        h[n++] = auth;
    if (k != NULL)
        h[n++] = k;
    if (body != NULL)
        h[n++] = JSON_HEADER;
    struct resp r = api(S, method, path, h, body, body != NULL ? strlen(body) : 0);
    free(auth);
    free(k);
    return r;
}

static struct resp call(const char *method, const char *path, const char *tok, const char *body)
{
    return call_k(method, path, tok, NULL, body);
}

static char *new_key(void)
{
    return str_printf("test-key-%d-%ld", ++keyn, (long)time(NULL));
}

/* POST with a fresh key; the status is checked by the caller. */
static struct resp post_keyed(const char *path, const char *tok, const char *body)
{
    char *k = new_key();
    struct resp r = call_k("POST", path, tok, k, body);
    free(k);
    return r;
}

static long long balance(const char *tok, const char *account)
{
    char *p = str_printf(W "/accounts/%s", account);
    struct resp r = call("GET", p, tok, NULL);
    free(p);
    assert_status(&r, 200);
    long long b = (long long)json_integer_value(json_object_get(r.json, "balance"));
    resp_free(&r);
    return b;
}

static void issue(const char *to, long long amount)
{
    char *body = str_printf("{\"to\":\"%s\",\"amount\":%lld}", to, amount);
    struct resp r = post_keyed(W "/issuances", t_admin, body);
    free(body);
    assert_status(&r, 201);
    resp_free(&r);
}

static void verify_ok(void)
{
    struct resp r = call("GET", W "/verify", ADMIN_TOKEN, NULL);
    assert_status(&r, 200);
    if (!json_is_true(json_object_get(r.json, "ok")))
        fail_msg("invariant: %s", r.body);
    long long issued = json_integer_value(json_object_get(r.json, "issued"));
    long long bal = json_integer_value(json_object_get(r.json, "balances"));
    long long exp = json_integer_value(json_object_get(r.json, "expired"));
    assert_true(bal + exp == issued);
    resp_free(&r);
}

static void account_of(const char *tok, char *out, size_t cap)
{
    struct resp r = call("GET", W "/accounts/me", tok, NULL);
    assert_status(&r, 200);
    snprintf(out, cap, "%s", json_str(r.json, "account"));
    resp_free(&r);
}

static int group_setup(void **state)
{
    (void)state;
    dir = temp_dir();
    char *cmd = str_printf("'%s' demo --people=10 --seed=1 --data-dir='%s' 2>/dev/null",
                           getenv("CITYOS_BIN"), dir);
    free(run_command(cmd));
    free(cmd);
    S = server_start_with(&(struct server_config){.data_dir = dir});
    const char *client =
        "{\"name\":\"wallet test app\",\"kind\":\"public\",\"scopes\":\"" APP_SCOPES
        "\",\"grant_types\":[\"authorization_code\"],"
        "\"redirect_uris\":[\"" APP_REDIRECT "\"]}";
    struct resp r = api(S, "POST", "/api/v1/admin/clients", LIST(AUTH_HEADER, JSON_HEADER), client,
                        strlen(client));
    assert_status(&r, 201);
    snprintf(app, sizeof app, "%s", json_str(r.json, "client_id"));
    resp_free(&r);
    t_taro = token("taro.aizu@example.jp", "Minato-Tsuru-7Kq3-Bx9w", "self", P_SCOPE);
    t_taro_ro = token("taro.aizu@example.jp", "Minato-Tsuru-7Kq3-Bx9w", "self", READ_SCOPE);
    t_hanako = token("hanako.aizu@example.jp", "Hanako-Yuki-4Rm8-Zp2v", "self", P_SCOPE);
    t_misaki = token("misaki.sato@example.jp", "Misaki-Kaki-9Tn5-Hc3j", "for:", P_SCOPE);
    t_doctor =
        token("dr.yamaguchi@minato-clinic.example.jp", "Clinic-Inawa-3Wf7-Ld8s", "role:", U_SCOPE);
    t_pharma =
        token("hoshi@minato-pharmacy.example.jp", "Pharma-Sazae-8Gv4-Ky7r", "role:", U_SCOPE);
    t_admin = token("saito@city-office.example.jp", "Office-Byakko-2Hd6-Mu8x", "role:", U_SCOPE);
    account_of(t_taro, taro, sizeof taro);
    account_of(t_hanako, hanako, sizeof hanako);
    account_of(t_doctor, clinic, sizeof clinic);
    account_of(t_pharma, pharmacy, sizeof pharmacy);
    assert_true(strncmp(taro, "person:", 7) == 0);
    assert_true(strncmp(clinic, "org:", 4) == 0);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    server_free(S);
    remove_tree(dir);
    free(dir);
    free(t_taro);
    free(t_taro_ro);
    free(t_hanako);
    free(t_misaki);
    free(t_doctor);
    free(t_pharma);
    free(t_admin);
    return 0;
}

/* ---- issuance ---- */

static void only_the_city_issues_and_keys_replay(void **state)
{
    (void)state;
    char *body = str_printf("{\"to\":\"%s\",\"amount\":10000,\"memo\":\"welcome\"}", taro);
    struct resp a = call_k("POST", W "/issuances", t_admin, "issue-1", body);
    assert_status(&a, 201);
    assert_string_equal(json_str(a.json, "kind"), "issue");
    assert_string_equal(json_str(a.json, "to"), taro);
    assert_null(resp_header(&a, "Idempotent-Replayed"));
    /* the same key and request: the same answer, byte for byte */
    struct resp b = call_k("POST", W "/issuances", t_admin, "issue-1", body);
    assert_status(&b, 201);
    assert_string_equal(a.body, b.body);
    assert_header(&b, "Idempotent-Replayed", "true");
    /* the same request in another JSON spelling is the same request */
    char *body2 = str_printf("{ \"memo\": \"welcome\", \"amount\": 10000, \"to\": \"%s\" }", taro);
    struct resp c = call_k("POST", W "/issuances", t_admin, "issue-1", body2);
    assert_status(&c, 201);
    assert_string_equal(a.body, c.body);
    /* the same key, another request */
    char *body3 = str_printf("{\"to\":\"%s\",\"amount\":10001,\"memo\":\"welcome\"}", taro);
    struct resp d = call_k("POST", W "/issuances", t_admin, "issue-1", body3);
    assert_problem(&d, 422, "validation-failed");
    assert_non_null(strstr(json_str(d.json, "detail"), "Idempotency-Key"));
    assert_int_equal(balance(t_taro, "me"), 10000);
    /* the operator issues too; a doctor, a citizen, nobody signed in do not */
    struct resp e = call_k("POST", W "/issuances", ADMIN_TOKEN, "op-1", body3);
    assert_status(&e, 201);
    struct resp f = call_k("POST", W "/issuances", t_doctor, "doc-1", body);
    assert_problem(&f, 403, "forbidden");
    struct resp g = call_k("POST", W "/issuances", t_taro, "self-1", body);
    assert_problem(&g, 403, "forbidden");
    struct resp h = call_k("POST", W "/issuances", NULL, "anon-1", body);
    assert_problem(&h, 401, "unauthorized");
    assert_int_equal(balance(t_taro, "me"), 20001);
    resp_free(&a);
    resp_free(&b);
    resp_free(&c);
    resp_free(&d);
    resp_free(&e);
    resp_free(&f);
    resp_free(&g);
    resp_free(&h);
    free(body);
    free(body2);
    free(body3);
    verify_ok();
}

/* ---- paying, reading, refunding ---- */

static void taro_pays_the_clinic_which_refunds(void **state)
{
    (void)state;
    long long before = balance(t_taro, "me");
    char *body = str_printf("{\"to\":\"%s\",\"amount\":1200,\"memo\":\"診察料\"}", clinic);
    struct resp r = post_keyed(W "/accounts/me/transfers", t_taro, body);
    assert_status(&r, 201);
    char tid[40];
    snprintf(tid, sizeof tid, "%s", json_str(r.json, "id"));
    resp_free(&r);
    free(body);
    assert_int_equal(balance(t_taro, "me"), before - 1200);
    assert_int_equal(balance(t_doctor, "me"), 1200);
    assert_int_equal(balance(t_doctor, clinic), 1200);
    /* the statement: newest first, the payment on top */
    struct resp st = call("GET", W "/accounts/me/statement?limit=1", t_taro, NULL);
    assert_status(&st, 200);
    json_t *top = json_array_get(json_object_get(st.json, "items"), 0);
    assert_string_equal(json_str(top, "transfer"), tid);
    assert_int_equal(json_integer_value(json_object_get(top, "amount")), -1200);
    assert_string_equal(json_str(top, "counterparty"), clinic);
    assert_non_null(json_str(st.json, "next"));
    resp_free(&st);
    /* the clinic refunds 200, then not more than the 1000 left */
    char *rb = str_printf("{\"transfer\":\"%s\",\"amount\":200}", tid);
    r = post_keyed(W "/accounts/me/refunds", t_doctor, rb);
    assert_status(&r, 201);
    assert_string_equal(json_str(r.json, "refund_of"), tid);
    resp_free(&r);
    free(rb);
    rb = str_printf("{\"transfer\":\"%s\",\"amount\":1001}", tid);
    r = post_keyed(W "/accounts/me/refunds", t_doctor, rb);
    assert_problem(&r, 409, "conflict");
    resp_free(&r);
    /* Taro cannot refund a payment he made; the pharmacy cannot refund the clinic's */
    r = post_keyed(W "/accounts/me/refunds", t_taro, rb);
    assert_problem(&r, 404, "not-found");
    resp_free(&r);
    r = post_keyed(W "/accounts/me/refunds", t_pharma, rb);
    assert_problem(&r, 404, "not-found");
    resp_free(&r);
    free(rb);
    assert_int_equal(balance(t_taro, "me"), before - 1000);
    assert_int_equal(balance(t_doctor, "me"), 1000);
    /* another organisation's staff do not see the clinic's account */
    char *p = str_printf(W "/accounts/%s", clinic);
    r = call("GET", p, t_pharma, NULL);
    assert_problem(&r, 403, "forbidden");
    resp_free(&r);
    free(p);
    verify_ok();
}

static long long denials_on_trail(void)
{
    struct resp r = call("GET", "/api/v1/me/access-log?limit=100", t_taro, NULL);
    assert_status(&r, 200);
    long long n = 0;
    json_t *items = json_object_get(r.json, "items");
    for (size_t i = 0; i < json_array_size(items); i++) {
        json_t *it = json_array_get(items, i);
        const char *d = json_str(it, "decision");
        const char *rt = json_str(json_object_get(it, "what"), "resourceType");
        if (d != NULL && strcmp(d, "deny") == 0 && rt != NULL && strncmp(rt, "Wallet", 6) == 0)
            n++;
    }
    resp_free(&r);
    return n;
}

static void someone_elses_wallet_is_refused_and_recorded(void **state)
{
    (void)state;
    long long before = balance(t_taro, "me");
    char *p = str_printf(W "/accounts/%s", taro);
    char *pt = str_printf(W "/accounts/%s/transfers", taro);
    char *body = str_printf("{\"to\":\"%s\",\"amount\":100}", hanako);
    /* his wife, his daughter (her family link gives no payments right), his doctor, the operator */
    const char *toks[] = {t_hanako, t_doctor, ADMIN_TOKEN};
    for (size_t i = 0; i < 3; i++) {
        struct resp r = call("GET", p, toks[i], NULL);
        assert_problem(&r, 403, "forbidden");
        resp_free(&r);
        r = post_keyed(pt, toks[i], body);
        assert_problem(&r, 403, "forbidden");
        resp_free(&r);
    }
    struct resp r = call("GET", W "/accounts/me", t_misaki, NULL);
    assert_problem(&r, 403, "forbidden");
    resp_free(&r);
    r = post_keyed(W "/accounts/me/transfers", t_misaki, body);
    assert_problem(&r, 403, "forbidden");
    resp_free(&r);
    /* a read-only token reads but does not pay */
    r = call("GET", W "/accounts/me", t_taro_ro, NULL);
    assert_status(&r, 200);
    resp_free(&r);
    r = post_keyed(W "/accounts/me/transfers", t_taro_ro, body);
    assert_problem(&r, 403, "forbidden");
    resp_free(&r);
    assert_int_equal(balance(t_taro, "me"), before);
    assert_true(denials_on_trail() >= 5);
    /* unknown accounts */
    char ghost[40] = "person:0000000000000000000000000z";
    char *pg = str_printf(W "/accounts/%s", ghost);
    r = call("GET", pg, t_taro, NULL);
    assert_problem(&r, 404, "not-found");
    resp_free(&r);
    r = call("GET", W "/accounts/nobody", t_taro, NULL);
    assert_problem(&r, 404, "not-found");
    resp_free(&r);
    free(pg);
    free(p);
    free(pt);
    free(body);
}

/* tmpl with its one "%s" replaced by account (malloc'ed). */
static char *with_account(const char *tmpl, const char *account)
{
    const char *at = strstr(tmpl, "%s");
    assert_non_null(at);
    return str_printf("%.*s%s%s", (int)(at - tmpl), tmpl, account, at + 2);
}

/* ---- bad input ---- */

static void bad_input_is_refused_and_changes_nothing(void **state)
{
    (void)state;
    long long before = balance(t_taro, "me");
    struct resp st0 = call("GET", W "/accounts/me/statement", t_taro, NULL);
    size_t lines = json_array_size(json_object_get(st0.json, "items"));
    resp_free(&st0);
    struct {
        const char *body;
        long status;
        const char *slug;
    } cases[] = {
        {"{\"to\":\"%s\",\"amount\":0}", 422, "validation-failed"},
        {"{\"to\":\"%s\",\"amount\":-1}", 422, "validation-failed"},
        {"{\"to\":\"%s\",\"amount\":1.5}", 422, "validation-failed"},
        {"{\"to\":\"%s\",\"amount\":\"100\"}", 422, "validation-failed"},
        {"{\"to\":\"%s\",\"amount\":100000001}", 422, "validation-failed"},
        {"{\"to\":\"%s\",\"amount\":9223372036854775807}", 422, "validation-failed"},
        {"{\"to\":\"%s\",\"amount\":99999999999999999999999}", 400, "malformed-json"},
        {"{\"to\":\"%s\",\"amount\":100,\"from\":\"city\"}", 422, "validation-failed"},
        {"{\"to\":\"%s\",\"amount\":100", 400, "malformed-json"},
        {"{\"to\":\"%s\",\"amount\":100,\"amount\":5}", 400, "malformed-json"},
        {"[\"%s\"]", 422, "validation-failed"},
        {"{\"to\":\"%s\",\"amount\":100000000}", 409, "conflict"}, /* more than he has */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *b = with_account(cases[i].body, hanako);
        struct resp r = post_keyed(W "/accounts/me/transfers", t_taro, b);
        if (r.status != cases[i].status)
            fail_msg("case %zu (%s): %ld %s", i, b, r.status, r.body);
        assert_problem(&r, cases[i].status, cases[i].slug);
        resp_free(&r);
        free(b);
    }
    /* to nobody, to himself, to the ledger's own accounts */
    const char *tos[] = {"person:0000000000000000000000000z", "mint", "expired", "nobody"};
    for (size_t i = 0; i < 4; i++) {
        char *b = str_printf("{\"to\":\"%s\",\"amount\":10}", tos[i]);
        struct resp r = post_keyed(W "/accounts/me/transfers", t_taro, b);
        assert_true(r.status == 404 || r.status == 422);
        resp_free(&r);
        free(b);
    }
    char *self = str_printf("{\"to\":\"%s\",\"amount\":10}", taro);
    struct resp r = post_keyed(W "/accounts/me/transfers", t_taro, self);
    assert_problem(&r, 422, "validation-failed");
    resp_free(&r);
    /* no key, a bad key, a wrong media type, an oversized body */
    char *fine = str_printf("{\"to\":\"%s\",\"amount\":10}", hanako);
    r = call("POST", W "/accounts/me/transfers", t_taro, fine);
    assert_problem(&r, 400, "invalid-parameter");
    resp_free(&r);
    r = call_k("POST", W "/accounts/me/transfers", t_taro, "a b", fine);
    assert_problem(&r, 400, "invalid-parameter");
    resp_free(&r);
    char *long_key = str_repeat("k", 256);
    r = call_k("POST", W "/accounts/me/transfers", t_taro, long_key, fine);
    free(long_key);
    free(fine);
    assert_problem(&r, 400, "invalid-parameter");
    resp_free(&r);
    char *auth = str_printf("Authorization: Bearer %s", t_taro);
    r = api(S, "POST", W "/accounts/me/transfers",
            LIST(auth, "Idempotency-Key: mt-1", "Content-Type: text/plain"), self, strlen(self));
    assert_problem(&r, 415, "unsupported-media-type");
    resp_free(&r);
    char *xs = str_repeat("x", 20000);
    char *big = str_printf("{\"to\":\"%s\",\"amount\":10,\"memo\":\"%s\"}", hanako, xs);
    free(xs);
    r = call_k("POST", W "/accounts/me/transfers", t_taro, "big-1", big);
    assert_true(r.status == 413);
    resp_free(&r);
    /* bad query parameters */
    r = call("GET", W "/accounts/me/statement?limit=0", t_taro, NULL);
    assert_problem(&r, 400, "invalid-parameter");
    resp_free(&r);
    r = call("GET", W "/accounts/me/statement?limit=201", t_taro, NULL);
    assert_problem(&r, 400, "invalid-parameter");
    resp_free(&r);
    r = call("GET", W "/accounts/me/statement?before=-1", t_taro, NULL);
    assert_problem(&r, 400, "invalid-parameter");
    resp_free(&r);
    r = call("GET", W "/accounts/me?x=1", t_taro, NULL);
    assert_problem(&r, 400, "invalid-parameter");
    resp_free(&r);
    free(auth);
    free(big);
    free(self);
    assert_int_equal(balance(t_taro, "me"), before);
    struct resp st = call("GET", W "/accounts/me/statement", t_taro, NULL);
    assert_int_equal(json_array_size(json_object_get(st.json, "items")), lines);
    resp_free(&st);
    assert_true(health_ok(S));
    verify_ok();
}

/* ---- concurrency ---- */

struct racer {
    int port, n;
    const char *tok, *body;
    const char *key; /* NULL: a key of its own per request */
    int ok, conflict, other;
    char first_body[512];
};

static void *race(void *arg)
{
    struct racer *rc = arg;
    CURL *c = client_new();
    char *auth = str_printf("Authorization: Bearer %s", rc->tok);
    for (int i = 0; i < 10; i++) {
        char *k = rc->key != NULL
                      ? str_printf("Idempotency-Key: %s", rc->key)
                      : str_printf("Idempotency-Key: race-%d-%d-%ld", rc->n, i, (long)time(NULL));
        struct request rq = {.method = "POST",
                             .path = W "/accounts/me/transfers",
                             .headers = LIST(auth, k, JSON_HEADER),
                             .body = rc->body,
                             .len = strlen(rc->body)};
        struct resp r = http_exchange(c, rc->port, &rq);
        if (r.status == 201) {
            rc->ok++;
            if (rc->first_body[0] == '\0')
                snprintf(rc->first_body, sizeof rc->first_body, "%s", r.body);
        } else if (r.status == 409) {
            rc->conflict++;
        } else {
            rc->other++;
            fprintf(stderr, "race: %ld %s\n", r.status, r.body);
        }
        resp_free(&r);
        free(k);
        if (rc->key != NULL)
            break;
    }
    free(auth);
    curl_easy_cleanup(c);
    return NULL;
}

static void many_clients_never_overdraw_one_account(void **state)
{
    (void)state;
    long long start = balance(t_hanako, "me");
    /* Hanako holds exactly 5,000 yen: 16 clients x 10 payments of 100 ask for 16,000 */
    if (start < 5000)
        issue(hanako, 5000 - start);
    else if (start > 5000) {
        char *b = str_printf("{\"to\":\"city\",\"amount\":%lld}", start - 5000);
        struct resp r = post_keyed(W "/accounts/me/transfers", t_hanako, b);
        assert_status(&r, 201);
        resp_free(&r);
        free(b);
    }
    assert_int_equal(balance(t_hanako, "me"), 5000);
    char *body = str_printf("{\"to\":\"%s\",\"amount\":100}", taro);
    struct racer r[16];
    pthread_t th[16];
    for (int i = 0; i < 16; i++) {
        r[i] = (struct racer){.port = server_port(S), .n = i, .tok = t_hanako, .body = body};
        assert_int_equal(pthread_create(&th[i], NULL, race, &r[i]), 0);
    }
    int ok = 0, conflict = 0, other = 0;
    for (int i = 0; i < 16; i++) {
        pthread_join(th[i], NULL);
        ok += r[i].ok;
        conflict += r[i].conflict;
        other += r[i].other;
    }
    free(body);
    assert_int_equal(other, 0);
    assert_int_equal(ok, 50);
    assert_int_equal(conflict, 110);
    assert_int_equal(balance(t_hanako, "me"), 0);
    verify_ok();
}

static void one_key_sent_at_once_by_many_clients_pays_once(void **state)
{
    (void)state;
    issue(hanako, 1000);
    long long before = balance(t_hanako, "me");
    char *body = str_printf("{\"to\":\"%s\",\"amount\":300}", taro);
    struct racer r[12];
    pthread_t th[12];
    for (int i = 0; i < 12; i++) {
        r[i] = (struct racer){
            .port = server_port(S), .n = i, .tok = t_hanako, .body = body, .key = "same-key-1"};
        assert_int_equal(pthread_create(&th[i], NULL, race, &r[i]), 0);
    }
    int ok = 0, conflict = 0;
    const char *first = NULL;
    for (int i = 0; i < 12; i++) {
        pthread_join(th[i], NULL);
        ok += r[i].ok;
        conflict += r[i].conflict;
        assert_int_equal(r[i].other, 0);
        if (r[i].ok) {
            if (first == NULL)
                first = r[i].first_body;
            assert_string_equal(r[i].first_body, first); /* every 201 is the same transfer */
        }
    }
    print_message("same key from 12 clients at once: %d answered 201 (one payment, replays), "
                  "%d answered 409 in flight\n",
                  ok, conflict);
    assert_int_equal(ok + conflict, 12);
    assert_true(ok >= 1);
    assert_int_equal(balance(t_hanako, "me"), before - 300);
    /* afterwards the key replays */
    struct resp again = call_k("POST", W "/accounts/me/transfers", t_hanako, "same-key-1", body);
    assert_status(&again, 201);
    assert_string_equal(again.body, first);
    resp_free(&again);
    free(body);
}

/* ---- mandates and invoices ---- */

static long long ms_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Appends an "invoice.issued" event to the data folder's outbox, as the issuing service's
 * transaction would; the server's worker finds it on its next poll. */
static void invoice_event(const char *invoice, const char *org, long long amount,
                          const char *purpose)
{
    char *ref = str_printf("Invoice/%s", invoice);
    char *payload = str_printf("{\"invoice\":\"%s\",\"issuer\":\"%s\",\"amount\":%lld,"
                               "\"currency\":\"JPY\",\"purpose\":\"%s\",\"description\":"
                               "\"テスト診察\"}",
                               invoice, org + 4, amount, purpose);
    char *created = str_printf("%lld", ms_now());
    harness_db_exec(server_data_dir(S),
                    "INSERT INTO event_outbox (seq, kind, subject_id, ref, payload, created_ms) "
                    "VALUES ((SELECT COALESCE(MAX(seq), 0) + 1 FROM event_outbox), "
                    "'invoice.issued', ?, ?, ?, ?)",
                    LIST(taro + 7, ref, payload, created));
    free(created);
    free(payload);
    free(ref);
}

static json_t *invoice_of(const char *id, const char *want_status, int timeout_ms)
{
    for (int waited = 0; waited < timeout_ms; waited += 100) {
        struct resp r = call("GET", W "/invoices", t_taro, NULL);
        assert_status(&r, 200);
        json_t *list = json_object_get(r.json, "invoices");
        for (size_t i = 0; i < json_array_size(list); i++) {
            json_t *it = json_array_get(list, i);
            if (strcmp(json_str(it, "id"), id) == 0 &&
                (want_status == NULL || strcmp(json_str(it, "status"), want_status) == 0)) {
                json_t *out = json_incref(it);
                resp_free(&r);
                return out;
            }
        }
        resp_free(&r);
        sleep_ms(100);
    }
    return NULL;
}

static int inbox_has(const char *ref, const char *needle)
{
    struct resp r = call("GET", "/api/v1/me/inbox", t_taro, NULL);
    assert_status(&r, 200);
    int found = 0;
    json_t *items = json_object_get(r.json, "items");
    for (size_t i = 0; i < json_array_size(items); i++) {
        json_t *it = json_array_get(items, i);
        const char *rf = json_str(it, "ref");
        char *text = json_dumps(it, 0);
        if (rf != NULL && strcmp(rf, ref) == 0 && strstr(text, needle) != NULL)
            found++;
        free(text);
    }
    resp_free(&r);
    return found;
}

static void a_mandate_pays_the_clinics_invoice(void **state)
{
    (void)state;
    /* grant: one active per organisation and purpose */
    char *m = str_printf("{\"org\":\"%s\",\"purpose\":\"clinic-fees\",\"limit\":3000}", clinic + 4);
    struct resp r = call("POST", W "/mandates", t_taro, m);
    assert_status(&r, 201);
    char mid[40];
    snprintf(mid, sizeof mid, "%s", json_str(r.json, "id"));
    assert_string_equal(json_str(r.json, "status"), "active");
    resp_free(&r);
    r = call("POST", W "/mandates", t_taro, m);
    assert_problem(&r, 409, "conflict");
    resp_free(&r);
    r = call("POST", W "/mandates", t_misaki, m); /* no payments right */
    assert_problem(&r, 403, "forbidden");
    resp_free(&r);
    r = call("POST", W "/mandates", t_taro,
             "{\"org\":\"x\",\"purpose\":\"clinic-fees\",\"limit\":1}");
    assert_problem(&r, 422, "validation-failed");
    resp_free(&r);
    free(m);
    long long before = balance(t_taro, "me"), clinic_before = balance(t_doctor, "me");
    /* an invoice within the limit is paid by itself, and he is told */
    invoice_event("inv-w-1", clinic, 2000, "clinic-fees");
    json_t *inv = invoice_of("inv-w-1", "paid", 15000);
    if (inv == NULL)
        server_dump_log(S);
    assert_non_null(inv);
    assert_string_equal(json_str(inv, "mandate"), mid);
    json_decref(inv);
    assert_int_equal(balance(t_taro, "me"), before - 2000);
    assert_int_equal(balance(t_doctor, "me"), clinic_before + 2000);
    assert_int_equal(inbox_has("Invoice/inv-w-1", "2000"), 1);
    /* the event again (a redelivery) pays nothing more */
    invoice_event("inv-w-1", clinic, 2000, "clinic-fees");
    sleep_ms(2500);
    assert_int_equal(balance(t_taro, "me"), before - 2000);
    /* this month's use */
    r = call("GET", W "/mandates", t_taro, NULL);
    assert_status(&r, 200);
    json_t *first = json_array_get(json_object_get(r.json, "mandates"), 0);
    assert_int_equal(json_integer_value(json_object_get(first, "used_this_month")), 2000);
    resp_free(&r);
    /* over the month's limit: left open, he is asked to pay, and pays by hand */
    invoice_event("inv-w-2", clinic, 1500, "clinic-fees");
    inv = invoice_of("inv-w-2", "open", 15000);
    assert_non_null(inv);
    json_decref(inv);
    for (int i = 0; i < 50 && inbox_has("Invoice/inv-w-2", "wallet") == 0; i++)
        sleep_ms(100);
    assert_int_equal(inbox_has("Invoice/inv-w-2", "limit"), 1);
    assert_int_equal(balance(t_taro, "me"), before - 2000);
    r = call_k("POST", W "/invoices/inv-w-2/pay", t_hanako, "pay-w-2", NULL); /* not hers */
    assert_problem(&r, 404, "not-found");
    resp_free(&r);
    r = call_k("POST", W "/invoices/inv-w-2/pay", t_taro, "pay-w-2", NULL);
    assert_status(&r, 201);
    assert_string_equal(json_str(r.json, "kind"), "payment");
    assert_string_equal(json_str(r.json, "invoice"), "inv-w-2");
    resp_free(&r);
    r = call_k("POST", W "/invoices/inv-w-2/pay", t_taro, "pay-w-2b", NULL);
    assert_problem(&r, 409, "conflict");
    resp_free(&r);
    assert_int_equal(balance(t_taro, "me"), before - 3500);
    /* revoked: the next invoice is not collected */
    char *del = str_printf(W "/mandates/%s", mid);
    r = call("DELETE", del, t_taro, NULL);
    assert_status(&r, 200);
    assert_string_equal(json_str(r.json, "status"), "revoked");
    resp_free(&r);
    r = call("DELETE", del, t_taro, NULL);
    assert_problem(&r, 409, "conflict");
    resp_free(&r);
    r = call("DELETE", del, t_hanako, NULL);
    assert_problem(&r, 404, "not-found");
    resp_free(&r);
    free(del);
    invoice_event("inv-w-3", clinic, 100, "clinic-fees");
    inv = invoice_of("inv-w-3", "open", 15000);
    assert_non_null(inv);
    json_decref(inv);
    sleep_ms(500);
    assert_int_equal(balance(t_taro, "me"), before - 3500);
    verify_ok();
}

static void the_city_sweeps_and_verifies(void **state)
{
    (void)state;
    char *body =
        str_printf("{\"to\":\"%s\",\"amount\":100,\"expires\":\"2099-01-01T00:00:00Z\"}", taro);
    struct resp r = post_keyed(W "/issuances", t_admin, body);
    assert_status(&r, 201);
    resp_free(&r);
    free(body);
    r = call("POST", W "/expire", t_admin, NULL);
    assert_status(&r, 200);
    assert_true(json_is_integer(json_object_get(r.json, "expired")));
    resp_free(&r);
    r = call("POST", W "/expire", t_taro, NULL);
    assert_problem(&r, 403, "forbidden");
    resp_free(&r);
    r = call("GET", W "/verify", t_doctor, NULL);
    assert_problem(&r, 403, "forbidden");
    resp_free(&r);
    r = call("GET", W "/accounts/me", t_taro, NULL);
    assert_status(&r, 200);
    json_t *lots = json_object_get(r.json, "lots");
    assert_true(json_array_size(lots) >= 1);
    resp_free(&r);
    verify_ok();
}

/* ---- a crash in the middle of payments ---- */

struct payer {
    int port, n;
    const char *tok, *to;
    char keys[40][48];
    int acked[40];
    int sent;
};

static void *pay_until_gone(void *arg)
{
    struct payer *p = arg;
    CURL *c = client_new();
    char *auth = str_printf("Authorization: Bearer %s", p->tok);
    char *body = str_printf("{\"to\":\"%s\",\"amount\":10}", p->to);
    for (int i = 0; i < 40; i++) {
        snprintf(p->keys[i], sizeof p->keys[i], "crash-%d-%d", p->n, i);
        char *k = str_printf("Idempotency-Key: %s", p->keys[i]);
        struct request rq = {.method = "POST",
                             .path = W "/accounts/me/transfers",
                             .headers = LIST(auth, k, JSON_HEADER),
                             .body = body,
                             .len = strlen(body),
                             .timeout_ms = 5000};
        struct resp r = http_exchange(c, p->port, &rq);
        free(k);
        p->sent = i + 1;
        p->acked[i] = r.status == 201;
        int gone = r.status == 0;
        resp_free(&r);
        if (gone)
            break;
    }
    free(auth);
    free(body);
    curl_easy_cleanup(c);
    return NULL;
}

static void a_killed_server_loses_no_acknowledged_payment(void **state)
{
    (void)state;
    issue(hanako, 10000);
    long long before = balance(t_hanako, "me");
    struct payer p[6];
    pthread_t th[6];
    for (int i = 0; i < 6; i++) {
        p[i] = (struct payer){.port = server_port(S), .n = i, .tok = t_hanako, .to = taro};
        assert_int_equal(pthread_create(&th[i], NULL, pay_until_gone, &p[i]), 0);
    }
    sleep_ms(400);
    server_kill9(S);
    for (int i = 0; i < 6; i++)
        pthread_join(th[i], NULL);
    server_restart(S);
    verify_ok();
    /* every acknowledged payment is there: resending its key replays it; the others are
     * either there too (committed, answer lost) or done now; each key pays exactly once */
    int acked = 0, total = 0;
    char *auth = str_printf("Authorization: Bearer %s", t_hanako);
    char *body = str_printf("{\"to\":\"%s\",\"amount\":10}", taro);
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < p[i].sent; j++) {
            char *k = str_printf("Idempotency-Key: %s", p[i].keys[j]);
            struct resp r = api(S, "POST", W "/accounts/me/transfers", LIST(auth, k, JSON_HEADER),
                                body, strlen(body));
            assert_status(&r, 201);
            if (p[i].acked[j])
                assert_header(&r, "Idempotent-Replayed", "true");
            acked += p[i].acked[j];
            total++;
            resp_free(&r);
            free(k);
        }
    free(auth);
    free(body);
    print_message("SIGKILL during payments: %d sent, %d acknowledged before the kill\n", total,
                  acked);
    assert_int_equal(balance(t_hanako, "me"), before - 10LL * total);
    verify_ok();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(only_the_city_issues_and_keys_replay),
        cmocka_unit_test(taro_pays_the_clinic_which_refunds),
        cmocka_unit_test(someone_elses_wallet_is_refused_and_recorded),
        cmocka_unit_test(bad_input_is_refused_and_changes_nothing),
        cmocka_unit_test(many_clients_never_overdraw_one_account),
        cmocka_unit_test(one_key_sent_at_once_by_many_clients_pays_once),
        cmocka_unit_test(a_mandate_pays_the_clinics_invoice),
        cmocka_unit_test(the_city_sweeps_and_verifies),
        cmocka_unit_test(a_killed_server_loses_no_acknowledged_payment),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

/* test_pg_processes.c - two cityos processes serving one database stay correct (issue 9 part 3;
 * docs/internals/store-pg.md, "Several processes"): the same demo town is served by processes A
 * and B on the same data folder, so on PostgreSQL (suite pg) both use the folder's database and
 * on SQLite (suite api) both open the folder's cityos.db. Then: a consent withdrawn through A
 * refuses the very next request B serves, five rounds in a row (B's timer poll alone would let
 * it through for up to a second); many clients racing through both processes for four slots get
 * exactly one booking per slot and no error; many clients spending one account through both
 * never overdraw it, one Idempotency-Key sent to both pays once, and the wallet's invariant
 * holds; and after reads of one citizen's record interleaved across both processes (each read
 * appends to his audit chain) `cityos audit verify` finds every chain intact. */
#include "consent_support.h"
#include "oidc_flow.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define APP_REDIRECT  "http://127.0.0.1:8765/callback"
#define PATIENT_SCOPE "openid launch/patient patient/*.cruds patient/Consent.cu"
#define USER_SCOPE    "openid user/*.cruds"
#define TARO_EMAIL    "taro.aizu@example.jp"
#define TARO_PASS     "Minato-Tsuru-7Kq3-Bx9w"
#define HANAKO_EMAIL  "hanako.aizu@example.jp"
#define HANAKO_PASS   "Hanako-Yuki-4Rm8-Zp2v"
#define DOCTOR_EMAIL  "dr.yamaguchi@minato-clinic.example.jp"
#define DOCTOR_PASS   "Clinic-Inawa-3Wf7-Ld8s"
#define CARDIO_EMAIL  "dr.watanabe@tsurugajo-hospital.example.jp"
#define CARDIO_PASS   "Cardio-Bandai-6Jx2-Qe5n"
#define ADMIN_EMAIL   "saito@city-office.example.jp"
#define ADMIN_PASS    "Office-Byakko-2Hd6-Mu8x"
#define CONSENTS      "/api/v1/me/consents"
#define APPTS         "/api/v1/me/appointments"
#define W             "/api/v1/wallet"
#define PURPOSE       "mp-care"

static struct server *A, *B;
static char *dir;
static char app[64], taro[64], taro_acct[80], hanako[64], clinic[64], cardio[64];
static char *t_taro, *t_hanako, *t_doctor, *t_cardio, *t_admin;
static char med[80]; /* a MedicationRequest in 太郎's record: the consent below opens it */
static int keyn;

/* One exchange with server s as tok (NULL: the operator), with an optional JSON body and
 * Idempotency-Key. */
static struct resp call_k(struct server *s, const char *method, const char *path, const char *tok,
                          const char *key, const char *body)
{
    char *auth = str_printf("Authorization: Bearer %s", tok != NULL ? tok : ADMIN_TOKEN);
    char *k = key != NULL ? str_printf("Idempotency-Key: %s", key) : NULL;
    const char *h[4] = {auth, NULL, NULL, NULL};
    int n = 1;
    if (k != NULL)
        h[n++] = k;
    if (body != NULL)
        h[n++] = JSON_HEADER;
    struct resp r = api(s, method, path, h, body, body != NULL ? strlen(body) : 0);
    free(auth);
    free(k);
    return r;
}

static struct resp call(struct server *s, const char *method, const char *path, const char *tok,
                        const char *body)
{
    return call_k(s, method, path, tok, NULL, body);
}

static void sub_of(const char *tok, char *out, size_t cap)
{
    struct resp r = call(A, "GET", "/oauth/userinfo", tok, NULL);
    assert_status(&r, 200);
    snprintf(out, cap, "%s", json_str(r.json, "sub"));
    resp_free(&r);
}

static void account_of(const char *tok, char *out, size_t cap)
{
    struct resp r = call(A, "GET", W "/accounts/me", tok, NULL);
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
    /* the same folder twice: the same database (harness_pg.c names it after the folder) */
    A = server_start_with(&(struct server_config){.data_dir = dir});
    B = server_start_with(&(struct server_config){.data_dir = dir});
    assert_true(server_port(A) != server_port(B));
    const char *client = "{\"name\":\"processes test app\",\"kind\":\"public\",\"scopes\":"
                         "\"" PATIENT_SCOPE " user/*.cruds\","
                         "\"grant_types\":[\"authorization_code\"],"
                         "\"redirect_uris\":[\"" APP_REDIRECT "\"]}";
    struct resp r = api(A, "POST", "/api/v1/admin/clients", LIST(AUTH_HEADER, JSON_HEADER), client,
                        strlen(client));
    assert_status(&r, 201);
    snprintf(app, sizeof app, "%s", json_str(r.json, "client_id"));
    resp_free(&r);
    /* tokens are rows of the shared store: issued by A, honoured by B */
    t_taro = oidc_token(A, app, APP_REDIRECT, TARO_EMAIL, TARO_PASS, "self", PATIENT_SCOPE);
    t_hanako = oidc_token(B, app, APP_REDIRECT, HANAKO_EMAIL, HANAKO_PASS, "self", PATIENT_SCOPE);
    t_doctor = oidc_token(A, app, APP_REDIRECT, DOCTOR_EMAIL, DOCTOR_PASS, "role:", USER_SCOPE);
    t_cardio = oidc_token(B, app, APP_REDIRECT, CARDIO_EMAIL, CARDIO_PASS, "role:", USER_SCOPE);
    t_admin = oidc_token(A, app, APP_REDIRECT, ADMIN_EMAIL, ADMIN_PASS, "role:", USER_SCOPE);
    sub_of(t_taro, taro, sizeof taro);
    sub_of(t_cardio, cardio, sizeof cardio);
    account_of(t_doctor, clinic, sizeof clinic);
    assert_true(strncmp(clinic, "org:", 4) == 0);
    memmove(clinic, clinic + 4, strlen(clinic + 4) + 1); /* the organisation's id */
    account_of(t_hanako, hanako, sizeof hanako);
    account_of(t_taro, taro_acct, sizeof taro_acct);
    char *mb = str_printf(
        "{\"resourceType\":\"MedicationRequest\",\"status\":\"active\",\"intent\":\"order\","
        "\"medicationCodeableConcept\":{\"text\":\"amlodipine 5 mg\"},"
        "\"subject\":{\"reference\":\"Patient/%s\"}}",
        taro);
    r = call(A, "POST", "/fhir/MedicationRequest", t_taro, mb);
    assert_status(&r, 201);
    snprintf(med, sizeof med, "%s", json_str(r.json, "id"));
    resp_free(&r);
    free(mb);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    server_free(A);
    server_free(B);
    remove_tree(dir);
    free(dir);
    free(t_taro);
    free(t_hanako);
    free(t_doctor);
    free(t_cardio);
    free(t_admin);
    return 0;
}

/* ---- a withdrawal binds the next request in every process ---- */

static char *explanation_hash;

static void publish_purpose(void)
{
    char *pb = str_printf(
        "{\"code\":\"" PURPOSE "\",\"title\":{\"ja\":\"診療での記録の参照\",\"en\":\"Your record "
        "for your care\"},\"explanation\":{\"ja\":\"クリニックが診療のために処方を見ます。\","
        "\"en\":\"The clinic sees your prescriptions for your care.\"},\"categories\":"
        "[\"medications\"],\"recipients\":[\"%s\"],\"legal_basis\":\"consent\",\"retention_days\":"
        "365}",
        clinic);
    struct resp r = call(A, "POST", "/api/v1/admin/purposes", NULL, pb);
    assert_status(&r, 201);
    explanation_hash = strdup(json_str(r.json, "explanation_hash"));
    resp_free(&r);
    free(pb);
}

/* The doctor reads 太郎's MedicationRequest through server s: the HTTP status. */
static long doctor_reads(struct server *s)
{
    char *path = str_printf("/fhir/MedicationRequest/%s", med);
    struct resp r = call(s, "GET", path, t_doctor, NULL);
    long st = r.status;
    if (st != 200 && st != 403)
        fprintf(stderr, "doctor_reads: %ld %s\n", st, r.body);
    resp_free(&r);
    free(path);
    return st;
}

static void withdrawal_in_a_refuses_the_next_request_in_b(void **state)
{
    (void)state;
    publish_purpose();
    char *ev = consent_evidence(explanation_hash);
    char *grant = str_printf("{\"purpose\":{\"code\":\"" PURPOSE "\",\"version\":1},\"recipient\":"
                             "{\"kind\":\"organisation\",\"id\":\"%s\"},\"categories\":"
                             "[\"medications\"],\"actions\":[\"read\"],\"evidence\":%s}",
                             clinic, ev);
    char *withdraw = str_printf("{\"evidence\":%s}", ev);
    assert_int_equal(doctor_reads(B), 403); /* no consent yet */
    for (int round = 0; round < 5; round++) {
        /* granted through one process, read through the other at once */
        struct server *w = round % 2 == 0 ? A : B, *other = round % 2 == 0 ? B : A;
        struct resp r = call(w, "POST", CONSENTS, t_taro, grant);
        assert_status(&r, 201);
        char *path = str_printf(CONSENTS "/%s", json_str(r.json, "id"));
        resp_free(&r);
        assert_int_equal(doctor_reads(other), 200);
        assert_int_equal(doctor_reads(w), 200);
        r = call(w, "DELETE", path, t_taro, withdraw);
        assert_status(&r, 200);
        resp_free(&r);
        /* the very next request in the other process: refused */
        assert_int_equal(doctor_reads(other), 403);
        assert_int_equal(doctor_reads(w), 403);
        free(path);
    }
    free(grant);
    free(withdraw);
    free(ev);
}

/* ---- one booking per slot ---- */

#define RACERS     16
#define RACE_SLOTS 4

struct booker {
    int port;
    const char *slots[RACE_SLOTS];
    int created, conflicts, others;
};

static void *book_race(void *arg)
{
    struct booker *bk = arg;
    CURL *c = client_new();
    char *auth = str_printf("Authorization: Bearer %s", t_taro);
    for (int i = 0; i < RACE_SLOTS; i++) {
        char *b = str_printf("{\"slot\":\"%s\",\"mode\":\"in-person\"}", bk->slots[i]);
        struct request rq = {.method = "POST",
                             .path = APPTS,
                             .headers = LIST(auth, JSON_HEADER),
                             .body = b,
                             .len = strlen(b)};
        struct resp r = http_exchange(c, bk->port, &rq);
        if (r.status == 201)
            bk->created++;
        else if (r.status == 409)
            bk->conflicts++;
        else {
            bk->others++;
            fprintf(stderr, "book_race: %ld %s\n", r.status, r.body);
        }
        resp_free(&r);
        free(b);
    }
    free(auth);
    curl_easy_cleanup(c);
    return NULL;
}

static void tokyo_day(int ahead, char *out, size_t cap)
{
    time_t t = time(NULL) + 9 * 3600 + (time_t)ahead * 86400;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, cap, "%Y-%m-%d", &tm);
}

static void racing_clients_in_both_processes_book_each_slot_once(void **state)
{
    (void)state;
    char day[16];
    tokyo_day(3, day, sizeof day);
    char *b = str_printf("{\"practitioner\":\"%s\",\"date\":\"%s\",\"from\":\"13:00\",\"to\":"
                         "\"15:00\",\"minutes\":30,\"mode\":\"in-person\",\"specialty\":"
                         "\"cardiology\"}",
                         cardio, day);
    struct resp r = call(B, "POST", "/api/v1/org/slots", t_cardio, b);
    free(b);
    assert_status(&r, 201);
    char ids[RACE_SLOTS][64];
    assert_int_equal(json_array_size(json_object_get(r.json, "slots")), RACE_SLOTS);
    for (int i = 0; i < RACE_SLOTS; i++)
        snprintf(ids[i], sizeof ids[i], "%s",
                 json_str(json_array_get(json_object_get(r.json, "slots"), (size_t)i), "id"));
    resp_free(&r);
    static struct booker bk[RACERS];
    pthread_t th[RACERS];
    for (int k = 0; k < RACERS; k++) {
        memset(&bk[k], 0, sizeof bk[k]);
        bk[k].port = server_port(k % 2 == 0 ? A : B);
        for (int i = 0; i < RACE_SLOTS; i++)
            bk[k].slots[i] = ids[(i + k / 2) % RACE_SLOTS];
        assert_int_equal(pthread_create(&th[k], NULL, book_race, &bk[k]), 0);
    }
    int created = 0, conflicts = 0, others = 0;
    for (int k = 0; k < RACERS; k++) {
        pthread_join(th[k], NULL);
        created += bk[k].created;
        conflicts += bk[k].conflicts;
        others += bk[k].others;
    }
    print_message("bookings through two processes: %d created, %d conflicts, %d other\n", created,
                  conflicts, others);
    assert_int_equal(others, 0);
    assert_int_equal(created, RACE_SLOTS);
    assert_int_equal(conflicts, RACERS * RACE_SLOTS - RACE_SLOTS);
    /* each slot: exactly one booked appointment, whichever process is asked */
    for (int p = 0; p < 2; p++) {
        r = call(p == 0 ? A : B, "GET", APPTS, t_taro, NULL);
        assert_status(&r, 200);
        json_t *items = json_object_get(r.json, "items");
        if (items == NULL)
            items = json_object_get(r.json, "appointments");
        assert_non_null(items);
        for (int i = 0; i < RACE_SLOTS; i++) {
            int n = 0;
            size_t k;
            json_t *it;
            json_array_foreach(items, k, it)
            {
                const char *slot = json_str(it, "slot"), *st = json_str(it, "status");
                if (slot != NULL && strcmp(slot, ids[i]) == 0 && st != NULL &&
                    strcmp(st, "booked") == 0)
                    n++;
            }
            assert_int_equal(n, 1);
        }
        resp_free(&r);
    }
}

/* ---- money is spent once ---- */

struct spender {
    int port, n;
    const char *body, *key; /* key NULL: a key of its own per request */
    int ok, conflict, other;
    char first_body[512];
};

static void *spend_race(void *arg)
{
    struct spender *sp = arg;
    CURL *c = client_new();
    char *auth = str_printf("Authorization: Bearer %s", t_hanako);
    for (int i = 0; i < 10; i++) {
        char *k = sp->key != NULL
                      ? str_printf("Idempotency-Key: %s", sp->key)
                      : str_printf("Idempotency-Key: mp-%d-%d-%ld", sp->n, i, (long)time(NULL));
        struct request rq = {.method = "POST",
                             .path = W "/accounts/me/transfers",
                             .headers = LIST(auth, k, JSON_HEADER),
                             .body = sp->body,
                             .len = strlen(sp->body)};
        struct resp r = http_exchange(c, sp->port, &rq);
        if (r.status == 201) {
            sp->ok++;
            if (sp->first_body[0] == '\0')
                snprintf(sp->first_body, sizeof sp->first_body, "%s", r.body);
        } else if (r.status == 409) {
            sp->conflict++;
        } else {
            sp->other++;
            fprintf(stderr, "spend_race: %ld %s\n", r.status, r.body);
        }
        resp_free(&r);
        free(k);
        if (sp->key != NULL)
            break;
    }
    free(auth);
    curl_easy_cleanup(c);
    return NULL;
}

static long long balance_of_hanako(struct server *s)
{
    struct resp r = call(s, "GET", W "/accounts/me", t_hanako, NULL);
    assert_status(&r, 200);
    long long b = (long long)json_integer_value(json_object_get(r.json, "balance"));
    resp_free(&r);
    return b;
}

static void set_hanako_balance(long long want)
{
    long long have = balance_of_hanako(A);
    char *key = str_printf("mp-set-%d-%ld", ++keyn, (long)time(NULL));
    char *body = NULL;
    struct resp r;
    if (have < want) {
        body = str_printf("{\"to\":\"%s\",\"amount\":%lld}", hanako, want - have);
        r = call_k(A, "POST", W "/issuances", t_admin, key, body);
    } else if (have > want) {
        body = str_printf("{\"to\":\"city\",\"amount\":%lld}", have - want);
        r = call_k(A, "POST", W "/accounts/me/transfers", t_hanako, key, body);
    }
    if (body != NULL) {
        assert_status(&r, 201);
        resp_free(&r);
    }
    free(body);
    free(key);
    assert_int_equal(balance_of_hanako(B), want);
}

static void wallet_invariant_holds(void)
{
    for (int p = 0; p < 2; p++) {
        struct resp r = call(p == 0 ? A : B, "GET", W "/verify", NULL, NULL);
        assert_status(&r, 200);
        if (!json_is_true(json_object_get(r.json, "ok")))
            fail_msg("invariant: %s", r.body);
        resp_free(&r);
    }
}

static void transfers_through_both_processes_never_overdraw(void **state)
{
    (void)state;
    set_hanako_balance(5000);
    /* 16 clients, half on each process, 10 payments of 100 each: 16,000 asked of 5,000 */
    char *body = str_printf("{\"to\":\"%s\",\"amount\":100}", taro_acct);
    struct spender sp[16];
    pthread_t th[16];
    for (int i = 0; i < 16; i++) {
        sp[i] = (struct spender){.port = server_port(i % 2 == 0 ? A : B), .n = i, .body = body};
        assert_int_equal(pthread_create(&th[i], NULL, spend_race, &sp[i]), 0);
    }
    int ok = 0, conflict = 0, other = 0;
    for (int i = 0; i < 16; i++) {
        pthread_join(th[i], NULL);
        ok += sp[i].ok;
        conflict += sp[i].conflict;
        other += sp[i].other;
    }
    print_message("payments through two processes: %d paid, %d refused, %d other\n", ok, conflict,
                  other);
    assert_int_equal(other, 0);
    assert_int_equal(ok, 50);
    assert_int_equal(conflict, 110);
    assert_int_equal(balance_of_hanako(A), 0);
    assert_int_equal(balance_of_hanako(B), 0);
    wallet_invariant_holds();

    /* one key sent at once to both processes by twelve clients: one payment */
    set_hanako_balance(1000);
    char *key = str_printf("mp-same-%ld", (long)time(NULL));
    char *b300 = str_printf("{\"to\":\"%s\",\"amount\":300}", taro_acct);
    for (int i = 0; i < 12; i++) {
        sp[i] = (struct spender){
            .port = server_port(i % 2 == 0 ? A : B), .n = i, .body = b300, .key = key};
        assert_int_equal(pthread_create(&th[i], NULL, spend_race, &sp[i]), 0);
    }
    ok = conflict = 0;
    const char *first = NULL;
    for (int i = 0; i < 12; i++) {
        pthread_join(th[i], NULL);
        ok += sp[i].ok;
        conflict += sp[i].conflict;
        assert_int_equal(sp[i].other, 0);
        if (sp[i].ok) {
            if (first == NULL)
                first = sp[i].first_body;
            assert_string_equal(sp[i].first_body, first); /* every 201 is the same transfer */
        }
    }
    print_message("one key to both processes: %d answered 201 (one payment), %d 409 in flight\n",
                  ok, conflict);
    assert_int_equal(ok + conflict, 12);
    assert_true(ok >= 1);
    assert_int_equal(balance_of_hanako(A), 700);
    assert_int_equal(balance_of_hanako(B), 700);
    wallet_invariant_holds();
    free(key);
    free(b300);
    free(body);
}

/* ---- the audit chains stay intact ---- */

struct reader {
    int port, n, ok, other;
};

static void *read_race(void *arg)
{
    struct reader *rd = arg;
    CURL *c = client_new();
    char *auth = str_printf("Authorization: Bearer %s", t_taro);
    char *path = str_printf("/fhir/MedicationRequest/%s", med);
    for (int i = 0; i < rd->n; i++) {
        struct request rq = {.method = "GET", .path = path, .headers = LIST(auth)};
        struct resp r = http_exchange(c, rd->port, &rq);
        if (r.status == 200)
            rd->ok++;
        else
            rd->other++;
        resp_free(&r);
    }
    free(path);
    free(auth);
    curl_easy_cleanup(c);
    return NULL;
}

static void audit_chains_verify_after_interleaved_access(void **state)
{
    (void)state;
    /* 8 clients, half on each process: 太郎 reads his record (his chain grows from both) */
    struct reader rd[8];
    pthread_t th[8];
    for (int i = 0; i < 8; i++) {
        rd[i] = (struct reader){.port = server_port(i % 2 == 0 ? A : B), .n = 25};
        assert_int_equal(pthread_create(&th[i], NULL, read_race, &rd[i]), 0);
    }
    int ok = 0, other = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        ok += rd[i].ok;
        other += rd[i].other;
    }
    assert_int_equal(other, 0);
    assert_int_equal(ok, 200);
    /* every chain from its start, the head table and the checkpoints: exit 0 or the test fails */
    char *cmd = str_printf("'%s' audit verify --data-dir='%s' 2>&1", getenv("CITYOS_BIN"), dir);
    char *out = run_command(cmd);
    print_message("audit verify: %s", out);
    free(out);
    free(cmd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(withdrawal_in_a_refuses_the_next_request_in_b),
        cmocka_unit_test(racing_clients_in_both_processes_book_each_slot_once),
        cmocka_unit_test(transfers_through_both_processes_never_overdraw),
        cmocka_unit_test(audit_chains_verify_after_interleaved_access),
    };
    int rc = cmocka_run_group_tests(tests, group_setup, group_teardown);
    free(explanation_hash);
    return rc;
}

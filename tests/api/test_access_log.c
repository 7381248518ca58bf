/* test_access_log.c - the views of the data tracker as a specification, on a demo town whose
 * trail for 会津 太郎 was seeded before the server started (seed_audit.c): the citizen's own
 * access log with names, filters, paging to the end and counts per organisation; family
 * members with and without the right to see the record; everyone else refused; bad parameters;
 * every read (and refusal) of a trail recorded on that trail before the answer; and the FHIR
 * AuditEvent search for the city office's auditors. */
#include "oidc_flow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG            "/api/v1/me/access-log"
#define TARO_EMAIL     "taro.aizu@example.jp"
#define TARO_PASS      "Minato-Tsuru-7Kq3-Bx9w"
#define HANAKO_EMAIL   "hanako.aizu@example.jp"
#define HANAKO_PASS    "Hanako-Yuki-4Rm8-Zp2v"
#define MISAKI_EMAIL   "misaki.sato@example.jp"
#define MISAKI_PASS    "Misaki-Kaki-9Tn5-Hc3j"
#define DOCTOR_EMAIL   "dr.yamaguchi@minato-clinic.example.jp"
#define DOCTOR_PASS    "Clinic-Inawa-3Wf7-Ld8s"
#define AUDITOR_EMAIL  "kansa@city-office.example.jp"
#define AUDITOR_PASS   "Kansa-Tsuruga-4Xp8-Lm2q"
#define APP_REDIRECT   "http://127.0.0.1:8765/callback"
#define APP_SCOPE      "openid launch/patient patient/*.rs"
#define STAFF_REDIRECT "http://127.0.0.1:8765/staff"
#define STAFF_SCOPE    "openid fhirUser user/*.rs"
#define SEEDED         7 /* entries seed_audit.c wrote for 太郎 */
#define DEMO_ENTRIES   5 /* before them: his 5 grants for homedoctor and cardio (`cityos demo`) */

struct fixture {
    char *dir;
    struct server *s;
    char app[64], staff[64];
    char taro[32], hanako[32], misaki[32], doctor[32], clinic[32], pharmacy[32], auditor[32];
    char *t_taro, *t_hanako_self, *t_hanako_for_taro, *t_misaki_for_taro, *t_doctor, *t_auditor;
};

static struct fixture *F;

/* Runs cmd and returns its stdout (malloc'ed); fails unless it exits 0. */
/* The value after "key=" (at a line start or after a space) up to a space or line end. */
/* The authorization-code flow for email through client: sign in, approve acting as the first
 * option starting with act_as, redeem the code. Returns the access token (malloc'ed). */
static char *token(const char *email, const char *password, const char *client,
                   const char *redirect, const char *scope, const char *act_as)
{
    return oidc_token(F->s, client, redirect, email, password, act_as, scope);
}

static int group_setup(void **state)
{
    (void)state;
    F = calloc(1, sizeof *F);
    F->dir = temp_dir();
    char *cmd = str_printf("'%s' demo --people=10 --seed=1 --data-dir='%s' 2>/dev/null",
                           getenv("CITYOS_BIN"), F->dir);
    char *out = run_command(cmd);
    demo_client_id(out, "sample app", F->app, sizeof F->app);
    free(out);
    free(cmd);
    cmd = str_printf("'%s' '%s'", getenv("SEED_AUDIT_BIN"), F->dir);
    out = run_command(cmd);
    text_value(out, "taro", F->taro, sizeof F->taro);
    text_value(out, "hanako", F->hanako, sizeof F->hanako);
    text_value(out, "misaki", F->misaki, sizeof F->misaki);
    text_value(out, "doctor", F->doctor, sizeof F->doctor);
    text_value(out, "clinic", F->clinic, sizeof F->clinic);
    text_value(out, "pharmacy", F->pharmacy, sizeof F->pharmacy);
    text_value(out, "auditor", F->auditor, sizeof F->auditor);
    text_value(out, "staff_client", F->staff, sizeof F->staff);
    free(out);
    free(cmd);
    F->s = server_start_with(&(struct server_config){.data_dir = F->dir});
    F->t_taro = token(TARO_EMAIL, TARO_PASS, F->app, APP_REDIRECT, APP_SCOPE, "self");
    F->t_hanako_self = token(HANAKO_EMAIL, HANAKO_PASS, F->app, APP_REDIRECT, APP_SCOPE, "self");
    F->t_hanako_for_taro =
        token(HANAKO_EMAIL, HANAKO_PASS, F->app, APP_REDIRECT, APP_SCOPE, "for:");
    F->t_misaki_for_taro =
        token(MISAKI_EMAIL, MISAKI_PASS, F->app, APP_REDIRECT, APP_SCOPE, "for:");
    F->t_doctor = token(DOCTOR_EMAIL, DOCTOR_PASS, F->staff, STAFF_REDIRECT, STAFF_SCOPE, "role:");
    F->t_auditor =
        token(AUDITOR_EMAIL, AUDITOR_PASS, F->staff, STAFF_REDIRECT, STAFF_SCOPE, "role:");
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    server_free(F->s);
    remove_tree(F->dir);
    free(F->dir);
    free(F->t_taro);
    free(F->t_hanako_self);
    free(F->t_hanako_for_taro);
    free(F->t_misaki_for_taro);
    free(F->t_doctor);
    free(F->t_auditor);
    free(F);
    return 0;
}

static struct resp get(const char *path, const char *tok)
{
    if (tok == NULL)
        return api(F->s, "GET", path, NULL, NULL, 0);
    char *auth = str_printf("Authorization: Bearer %s", tok);
    struct resp r = api(F->s, "GET", path, LIST(auth), NULL, 0);
    free(auth);
    return r;
}

static json_t *item(const struct resp *r, size_t i)
{
    return json_array_get(json_object_get(r->json, "items"), i);
}

static size_t nitems(const struct resp *r)
{
    return json_array_size(json_object_get(r->json, "items"));
}

static json_int_t seq_of(const json_t *it)
{
    return json_integer_value(json_object_get(it, "seq"));
}

/* The newest entry of 太郎's trail as his own log shows it (this read is recorded after). */
static json_int_t newest_seq(void)
{
    struct resp r = get(LOG "?limit=1", F->t_taro);
    assert_status(&r, 200);
    json_int_t s = seq_of(item(&r, 0));
    resp_free(&r);
    return s;
}

/* 太郎's newest entry must be this access (what the next read of his log shows first). */
static void assert_newest(const char *actor_kind, const char *actor, const char *action,
                          const char *resource_type, const char *decision, const char *decided_by)
{
    struct resp r = get(LOG "?limit=1", F->t_taro);
    assert_status(&r, 200);
    json_t *it = item(&r, 0);
    json_t *who = json_object_get(it, "who");
    json_t *what = json_object_get(it, "what");
    if (strcmp(json_str(who, "kind"), actor_kind) != 0 || strcmp(json_str(who, "id"), actor) != 0 ||
        strcmp(json_str(what, "action"), action) != 0 ||
        strcmp(json_str(what, "resourceType"), resource_type) != 0 ||
        strcmp(json_str(it, "decision"), decision) != 0 ||
        strcmp(json_str(json_object_get(it, "why"), "decidedBy"), decided_by) != 0) {
        fprintf(stderr, "newest entry: %s\n", r.body);
        fail();
    }
    resp_free(&r);
}

/* ---- the citizen's own trail ---- */

static void a_citizen_reads_their_own_trail_with_names(void **state)
{
    (void)state;
    struct resp r = get(LOG, F->t_taro);
    assert_status(&r, 200);
    assert_header(&r, "Content-Type", "application/json");
    assert_header(&r, "Cache-Control", "no-store");
    assert_string_equal(json_str(json_object_get(r.json, "subject"), "id"), F->taro);
    assert_string_equal(json_str(json_object_get(r.json, "subject"), "name"), "会津 太郎");
    assert_true(nitems(&r) >= SEEDED);
    assert_null(json_object_get(r.json, "next"));
    /* newest first, seq contiguous down to 1, each with its hashes */
    size_t n = nitems(&r);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(seq_of(item(&r, i)), (json_int_t)(n - i));
        assert_int_equal(strlen(json_str(item(&r, i), "entryHash")), 64);
        assert_int_equal(strlen(json_str(item(&r, i), "prevHash")), 64);
        if (i + 1 < n)
            assert_string_equal(json_str(item(&r, i), "prevHash"),
                                json_str(item(&r, i + 1), "entryHash"));
    }
    /* the demo's entries come first: 太郎's own opt-ins */
    for (size_t i = 0; i < DEMO_ENTRIES; i++) {
        json_t *g = item(&r, n - 1 - i);
        assert_string_equal(json_str(json_object_get(g, "what"), "resourceType"), "Consent");
        assert_string_equal(json_str(json_object_get(g, "who"), "id"), F->taro);
    }
    /* the first entry seed_audit.c wrote: the doctor at the clinic, with every name resolved */
    json_t *first = item(&r, n - 1 - DEMO_ENTRIES);
    assert_string_equal(json_str(first, "time"), "2026-01-01T00:00:00.000Z");
    assert_string_equal(json_str(first, "decision"), "permit");
    json_t *who = json_object_get(first, "who");
    assert_string_equal(json_str(who, "kind"), "practitioner");
    assert_string_equal(json_str(who, "id"), F->doctor);
    assert_string_equal(json_str(who, "name"), "山口 健一");
    assert_string_equal(json_str(who, "role"), "doctor");
    assert_string_equal(json_str(json_object_get(who, "org"), "name"), "湊ファミリークリニック");
    assert_string_equal(json_str(json_object_get(who, "client"), "name"),
                        "窓口アプリ (staff desk)");
    json_t *what = json_object_get(first, "what");
    assert_string_equal(json_str(what, "action"), "read");
    assert_string_equal(json_str(what, "resourceType"), "Observation");
    assert_string_equal(json_str(what, "resourceId"), "obs-1");
    assert_string_equal(json_str(what, "category"), "vitals");
    json_t *why = json_object_get(first, "why");
    assert_string_equal(json_str(why, "purpose"), "homedoctor@1");
    assert_string_equal(json_str(why, "decidedBy"), "consent-1");
    assert_string_equal(json_str(first, "sourceAddress"), "192.0.2.10");
    /* the daughter's refused read names her and on whose behalf */
    json_t *fam = item(&r, n - 6 - DEMO_ENTRIES);
    assert_string_equal(json_str(json_object_get(fam, "who"), "name"), "佐藤 美咲");
    assert_string_equal(
        json_str(json_object_get(json_object_get(fam, "who"), "onBehalfOf"), "name"), "会津 太郎");
    assert_string_equal(json_str(json_object_get(fam, "why"), "reason"),
                        "the link does not give see_record");
    json_int_t top = seq_of(item(&r, 0));
    resp_free(&r);

    /* that read is itself on the trail: 太郎 read his AuditTrail by the rule "self" */
    r = get(LOG "?limit=1", F->t_taro);
    assert_status(&r, 200);
    json_t *it = item(&r, 0);
    assert_int_equal(seq_of(it), top + 1);
    assert_string_equal(json_str(json_object_get(it, "what"), "resourceType"), "AuditTrail");
    assert_string_equal(json_str(json_object_get(it, "what"), "action"), "read");
    assert_string_equal(json_str(json_object_get(it, "who"), "id"), F->taro);
    assert_string_equal(json_str(json_object_get(it, "who"), "kind"), "person");
    assert_string_equal(json_str(json_object_get(json_object_get(it, "who"), "client"), "id"),
                        F->app);
    assert_string_equal(json_str(json_object_get(it, "why"), "decidedBy"), "rule:self");
    assert_string_equal(json_str(it, "sourceAddress"), "127.0.0.1");
    assert_non_null(json_str(it, "requestId"));
    resp_free(&r);

    /* ?subject= naming himself is the same trail */
    char *path = str_printf(LOG "?subject=%s&limit=1", F->taro);
    r = get(path, F->t_taro);
    assert_status(&r, 200);
    assert_int_equal(seq_of(item(&r, 0)), top + 2);
    resp_free(&r);
    free(path);
}

static void counts_per_organisation(void **state)
{
    (void)state;
    char *path = str_printf(LOG "?until=2026-01-02T00:00:00Z");
    struct resp r = get(path, F->t_taro);
    assert_status(&r, 200);
    assert_int_equal(nitems(&r), SEEDED); /* the reads of the log came later */
    json_t *c = json_object_get(r.json, "counts");
    assert_int_equal(json_array_size(c), 3);
    json_t *c0 = json_array_get(c, 0), *c1 = json_array_get(c, 1), *c2 = json_array_get(c, 2);
    assert_string_equal(json_str(json_object_get(c0, "org"), "id"), F->clinic);
    assert_string_equal(json_str(json_object_get(c0, "org"), "name"), "湊ファミリークリニック");
    assert_int_equal(json_integer_value(json_object_get(c0, "permit")), 3);
    assert_int_equal(json_integer_value(json_object_get(c0, "deny")), 0);
    assert_int_equal(json_integer_value(json_object_get(c0, "total")), 3);
    /* two without an organisation (the daughter, 太郎 himself) tie with the pharmacy: by id,
     * "" first */
    assert_true(json_is_null(json_object_get(c1, "org")));
    assert_int_equal(json_integer_value(json_object_get(c1, "permit")), 1);
    assert_int_equal(json_integer_value(json_object_get(c1, "deny")), 1);
    assert_string_equal(json_str(json_object_get(c2, "org"), "id"), F->pharmacy);
    assert_int_equal(json_integer_value(json_object_get(c2, "permit")), 1);
    assert_int_equal(json_integer_value(json_object_get(c2, "deny")), 1);
    resp_free(&r);
    free(path);
}

static void filters(void **state)
{
    (void)state;
    struct {
        const char *query;
        size_t want;
    } cases[] = {
        {"decision=deny&until=2026-01-02T00:00:00Z", 2},
        {"decision=permit&until=2026-01-02T00:00:00Z", 5},
        {"category=vitals&until=2026-01-02T00:00:00Z", 5},
        {"category=medications", 2},
        {"category=genome", 0},
        {"from=2026-01-01T01:00:00Z&until=2026-01-01T03:00:00Z", 2},
        {"from=2026-01-01T10:00:00%2B09:00&until=2026-01-01T04:00:00Z", 3},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *path = str_printf(LOG "?%s", cases[i].query);
        struct resp r = get(path, F->t_taro);
        assert_status(&r, 200);
        if (nitems(&r) != cases[i].want) {
            fprintf(stderr, "%s: %zu items, wanted %zu\n", cases[i].query, nitems(&r),
                    cases[i].want);
            fail();
        }
        resp_free(&r);
        free(path);
    }
    char *path = str_printf(LOG "?org=%s", F->pharmacy);
    struct resp r = get(path, F->t_taro);
    assert_status(&r, 200);
    assert_int_equal(nitems(&r), 2);
    for (size_t i = 0; i < 2; i++)
        assert_string_equal(
            json_str(json_object_get(json_object_get(item(&r, i), "who"), "org"), "id"),
            F->pharmacy);
    assert_int_equal(json_array_size(json_object_get(r.json, "counts")), 1);
    resp_free(&r);
    free(path);
    path = str_printf(LOG "?actor=%s", F->doctor);
    r = get(path, F->t_taro);
    assert_status(&r, 200);
    assert_int_equal(nitems(&r), 3);
    resp_free(&r);
    free(path);
}

static void paging_to_the_end(void **state)
{
    (void)state;
    json_int_t top = newest_seq(); /* this read is top + 1 */
    char *path = str_printf(LOG "?limit=2&until=2099-01-01T00:00:00Z");
    json_int_t last = top + 2, seen = 0;
    int pages = 0;
    while (path != NULL) {
        struct resp r = get(path, F->t_taro);
        assert_status(&r, 200);
        free(path);
        path = NULL;
        for (size_t i = 0; i < nitems(&r); i++) {
            json_int_t s = seq_of(item(&r, i));
            assert_true(s < last); /* strictly down, nothing twice */
            last = s;
            seen++;
        }
        pages++;
        const char *next = json_str(r.json, "next");
        if (next != NULL) {
            assert_int_equal(nitems(&r), 2);
            assert_non_null(strstr(next, "limit=2"));
            assert_non_null(strstr(next, "until=2099-01-01T00%3A00%3A00Z"));
            path = strdup(next);
        }
        resp_free(&r);
        assert_true(pages < 100);
    }
    /* the first page began at the read of newest_seq(): top + 1 entries in all */
    assert_int_equal(seen, top + 1);
    assert_int_equal(last, 1);
    assert_int_equal(pages, (int)((top + 2) / 2));
}

/* ---- who may read whose trail ---- */

static void another_persons_trail_is_403_and_the_attempt_recorded(void **state)
{
    (void)state;
    char *path = str_printf(LOG "?subject=%s", F->taro);
    struct resp r = get(path, F->t_hanako_self);
    assert_problem(&r, 403, "forbidden");
    resp_free(&r);
    free(path);
    assert_newest("person", F->hanako, "read", "AuditTrail", "deny", "rule:default-deny");
    /* the delegate token of the daughter, who may see alerts but not the record */
    r = get(LOG, F->t_misaki_for_taro);
    assert_problem(&r, 403, "forbidden");
    resp_free(&r);
    assert_newest("delegate", F->misaki, "read", "AuditTrail", "deny", "rule:default-deny");
    path = str_printf(LOG "?subject=%s", F->misaki);
    r = get(path, F->t_misaki_for_taro); /* her own, with a token acting for her father */
    assert_problem(&r, 403, "forbidden");
    resp_free(&r);
    free(path);
    /* a practitioner and the operator: not through this view */
    r = get(LOG, F->t_doctor);
    assert_problem(&r, 403, "forbidden");
    resp_free(&r);
    path = str_printf(LOG "?subject=%s", F->taro);
    r = get(path, F->t_doctor);
    assert_problem(&r, 403, "forbidden");
    resp_free(&r);
    assert_newest("practitioner", F->doctor, "read", "AuditTrail", "deny", "rule:default-deny");
    r = get(path, ADMIN_TOKEN);
    assert_problem(&r, 403, "forbidden");
    resp_free(&r);
    assert_newest("operator", "operator", "read", "AuditTrail", "deny", "rule:default-deny");
    free(path);
    /* a well-formed id of nobody: refused, and no trail is started for it */
    r = get(LOG "?subject=00000000000000000000000000", F->t_taro);
    assert_problem(&r, 403, "forbidden");
    resp_free(&r);
}

static void a_delegate_with_the_right_reads_the_trail(void **state)
{
    (void)state;
    struct resp r = get(LOG, F->t_hanako_for_taro);
    assert_status(&r, 200);
    assert_string_equal(json_str(json_object_get(r.json, "subject"), "id"), F->taro);
    assert_true(nitems(&r) > SEEDED);
    resp_free(&r);
    assert_newest("delegate", F->hanako, "read", "AuditTrail", "permit", "rule:delegate");
    r = get(LOG "?limit=2", F->t_taro);
    assert_status(&r, 200);
    json_t *who = json_object_get(item(&r, 1), "who"); /* [0] is 太郎's own read just now */
    assert_string_equal(json_str(json_object_get(who, "onBehalfOf"), "id"), F->taro);
    assert_string_equal(json_str(who, "name"), "会津 花子");
    resp_free(&r);
    char *path = str_printf(LOG "?subject=%s&limit=3", F->taro);
    r = get(path, F->t_hanako_for_taro);
    assert_status(&r, 200);
    assert_int_equal(nitems(&r), 3);
    assert_non_null(json_str(r.json, "next"));
    assert_non_null(strstr(json_str(r.json, "next"), F->taro));
    resp_free(&r);
    free(path);
}

static void no_token_is_401(void **state)
{
    (void)state;
    struct resp r = get(LOG, NULL);
    assert_problem(&r, 401, "unauthorized");
    assert_header(&r, "WWW-Authenticate", "Bearer realm=\"cityos\"");
    resp_free(&r);
    r = get(LOG, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    assert_problem(&r, 401, "unauthorized");
    resp_free(&r);
}

static void bad_parameters_are_400_and_leave_no_record(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "from=yesterday",
        "from=2026-01-01",
        "until=2026-01-01T00:00:00",
        "from=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z",
        "limit=0",
        "limit=101",
        "limit=ten",
        "limit=5&limit=6",
        "decision=maybe",
        "decision=permit&decision=deny",
        "category=Vitals",
        "org=clinic",
        "actor=a%20b",
        "cursor=42",
        "cursor=s0",
        "subject=nobody",
        "subject=",
        "colour=blue",
    };
    json_int_t before = newest_seq(); /* recorded as before + 1 */
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *path = str_printf(LOG "?%s", bad[i]);
        struct resp r = get(path, F->t_taro);
        if (r.status != 400)
            fprintf(stderr, "%s: %ld %s\n", bad[i], r.status, r.body);
        assert_problem(&r, 400, "invalid-parameter");
        resp_free(&r);
        free(path);
    }
    assert_int_equal(newest_seq(), before + 1);
}

/* ---- FHIR AuditEvent for auditors ---- */

static struct resp fhir(const char *query, const char *tok)
{
    char *path = str_printf("/fhir/AuditEvent%s", query);
    struct resp r = get(path, tok);
    free(path);
    return r;
}

#define assert_outcome(r, st, code) assert_outcome_at((r), (st), (code), __LINE__)
static void assert_outcome_at(struct resp *r, long status, const char *code, int line)
{
    const char *ct = resp_header(r, "Content-Type");
    json_t *issue = r->json ? json_array_get(json_object_get(r->json, "issue"), 0) : NULL;
    if (r->status != status || ct == NULL || strcmp(ct, "application/fhir+json") != 0 ||
        issue == NULL || strcmp(json_str(r->json, "resourceType"), "OperationOutcome") != 0 ||
        strcmp(json_str(issue, "code"), code) != 0 ||
        strcmp(json_str(issue, "severity"), "error") != 0 ||
        json_str(issue, "diagnostics") == NULL) {
        fprintf(stderr, "line %d: wanted %ld %s, got %ld %s %s\n", line, status, code, r->status,
                ct ? ct : "", r->body);
        fail();
    }
    resp_free(r);
}

static void an_auditor_searches_audit_events(void **state)
{
    (void)state;
    char *q = str_printf("?patient=Patient/%s&date=le2026-01-01&_count=4", F->taro);
    struct resp r = fhir(q, F->t_auditor);
    free(q);
    assert_status(&r, 200);
    assert_header(&r, "Content-Type", "application/fhir+json");
    assert_string_equal(json_str(r.json, "resourceType"), "Bundle");
    assert_string_equal(json_str(r.json, "type"), "searchset");
    json_t *entries = json_object_get(r.json, "entry");
    assert_int_equal(json_array_size(entries), 4);
    json_t *e0 = json_array_get(entries, 0);
    json_t *res = json_object_get(e0, "resource");
    assert_string_equal(json_str(res, "resourceType"), "AuditEvent");
    char *id = str_printf("%s.%d", F->taro, SEEDED + DEMO_ENTRIES);
    assert_string_equal(json_str(res, "id"), id);
    assert_non_null(strstr(json_str(e0, "fullUrl"), id));
    free(id);
    assert_string_equal(json_str(res, "recorded"), "2026-01-01T06:00:00.000Z");
    assert_string_equal(json_str(res, "outcome"), "0");
    assert_string_equal(json_str(json_object_get(e0, "search"), "mode"), "match");
    /* the refused pharmacy read (seq 5) says outcome 4 */
    json_t *r5 = json_object_get(json_array_get(entries, 2), "resource");
    assert_string_equal(json_str(r5, "outcome"), "4");
    json_t *links = json_object_get(r.json, "link");
    assert_string_equal(json_str(json_array_get(links, 0), "relation"), "self");
    assert_string_equal(json_str(json_array_get(links, 1), "relation"), "next");
    char *next = strdup(strstr(json_str(json_array_get(links, 1), "url"), "/fhir/AuditEvent"));
    resp_free(&r);
    r = get(next, F->t_auditor);
    free(next);
    assert_status(&r, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "entry")), 3);
    resp_free(&r);
    /* filters: outcome and agent */
    q = str_printf("?patient=%s&outcome=4&date=lt2026-01-02", F->taro);
    r = fhir(q, F->t_auditor);
    free(q);
    assert_status(&r, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "entry")), 2);
    resp_free(&r);
    q = str_printf("?patient=%s&agent=Practitioner/%s&date=lt2026-01-02", F->taro, F->doctor);
    r = fhir(q, F->t_auditor);
    free(q);
    assert_status(&r, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "entry")), 3);
    resp_free(&r);
    /* each search is on 太郎's trail */
    assert_newest("practitioner", F->auditor, "search", "AuditEvent", "permit", "rule:auditor");
}

static void audit_event_refusals_are_operation_outcomes(void **state)
{
    (void)state;
    char *q = str_printf("?patient=%s", F->taro);
    struct resp r = fhir(q, F->t_doctor);
    assert_outcome(&r, 403, "forbidden");
    assert_newest("practitioner", F->doctor, "search", "AuditEvent", "deny", "rule:default-deny");
    r = fhir(q, F->t_taro); /* a citizen uses the access log instead */
    assert_outcome(&r, 403, "forbidden");
    r = fhir(q, NULL);
    assert_outcome(&r, 401, "login");
    free(q);
    r = fhir("", F->t_auditor);
    assert_outcome(&r, 400, "required");
    r = fhir("?patient=Patient/nobody", F->t_auditor);
    assert_outcome(&r, 400, "value");
    q = str_printf("?patient=%s&date=soon", F->taro);
    r = fhir(q, F->t_auditor);
    assert_outcome(&r, 400, "value");
    free(q);
    q = str_printf("?patient=%s&outcome=8", F->taro);
    r = fhir(q, F->t_auditor);
    assert_outcome(&r, 400, "value");
    free(q);
    q = str_printf("?patient=%s&_count=0", F->taro);
    r = fhir(q, F->t_auditor);
    assert_outcome(&r, 400, "value");
    free(q);
    q = str_printf("?patient=%s&_sort=date", F->taro);
    r = fhir(q, F->t_auditor);
    assert_outcome(&r, 400, "not-supported");
    free(q);
    q = str_printf("?patient=%s&patient=%s", F->taro, F->taro);
    r = fhir(q, F->t_auditor);
    assert_outcome(&r, 400, "invalid");
    free(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(counts_per_organisation),
        cmocka_unit_test(a_citizen_reads_their_own_trail_with_names),
        cmocka_unit_test(filters),
        cmocka_unit_test(paging_to_the_end),
        cmocka_unit_test(another_persons_trail_is_403_and_the_attempt_recorded),
        cmocka_unit_test(a_delegate_with_the_right_reads_the_trail),
        cmocka_unit_test(no_token_is_401),
        cmocka_unit_test(bad_parameters_are_400_and_leave_no_record),
        cmocka_unit_test(an_auditor_searches_audit_events),
        cmocka_unit_test(audit_event_refusals_are_operation_outcomes),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

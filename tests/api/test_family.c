/* test_family.c - the citizen's own family links (/api/v1/me/family, src/identity/family_api.c)
 * on a demo town: the demo link listed from both sides; an invitation code accepted by a family
 * member, the rights changed and the link ended, each on both trails; who may call what; bad
 * input refused with nothing stored; the pending-invitation limit and cancelling. */
#include "oidc_flow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAMILY       "/api/v1/me/family"
#define TARO_EMAIL   "taro.aizu@example.jp"
#define TARO_PASS    "Minato-Tsuru-7Kq3-Bx9w"
#define HANAKO_EMAIL "hanako.aizu@example.jp"
#define HANAKO_PASS  "Hanako-Yuki-4Rm8-Zp2v"
#define MISAKI_EMAIL "misaki.sato@example.jp"
#define MISAKI_PASS  "Misaki-Kaki-9Tn5-Hc3j"
#define REDIRECT     "http://127.0.0.1:8765/callback"
#define FULL_SCOPE   "openid launch/patient patient/*.rs patient/RelatedPerson.cud"
#define READ_SCOPE   "openid launch/patient patient/*.rs"

struct fixture {
    char *dir;
    struct server *s;
    char client[64], taro[32], hanako[32];
    char *t_taro, *t_hanako, *t_misaki_for_taro, *t_taro_read;
};

static struct fixture *F;

static struct resp call(const char *method, const char *path, const char *tok, const char *body)
{
    char *auth = tok != NULL ? str_printf("Authorization: Bearer %s", tok) : NULL;
    const char *h[3] = {NULL, NULL, NULL};
    size_t n = 0;
    if (auth != NULL)
        h[n++] = auth;
    if (body != NULL)
        h[n++] = JSON_HEADER;
    struct resp r = api(F->s, method, path, h, body, body != NULL ? strlen(body) : 0);
    free(auth);
    return r;
}

static size_t count_of(const char *tok, const char *member)
{
    struct resp r = call("GET", FAMILY, tok, NULL);
    assert_status(&r, 200);
    size_t n = json_array_size(json_object_get(r.json, member));
    resp_free(&r);
    return n;
}

/* The id of the link in member of tok's list whose person is person_id, or NULL (malloc'ed). */
static char *link_with(const char *tok, const char *member, const char *person_id)
{
    struct resp r = call("GET", FAMILY, tok, NULL);
    assert_status(&r, 200);
    json_t *list = json_object_get(r.json, member);
    char *id = NULL;
    for (size_t i = 0; id == NULL && i < json_array_size(list); i++) {
        json_t *l = json_array_get(list, i);
        if (strcmp(json_str(json_object_get(l, "person"), "id"), person_id) == 0)
            id = strdup(json_str(l, "id"));
    }
    resp_free(&r);
    return id;
}

/* Does the trail of tok's person hold action on FamilyLink id? */
static int on_trail(const char *tok, const char *action, const char *rtype, const char *id)
{
    struct resp r = call("GET", "/api/v1/me/access-log?limit=50", tok, NULL);
    assert_status(&r, 200);
    json_t *items = json_object_get(r.json, "items");
    int found = 0;
    for (size_t i = 0; !found && i < json_array_size(items); i++) {
        json_t *what = json_object_get(json_array_get(items, i), "what");
        const char *a = json_str(what, "action"), *t = json_str(what, "resourceType"),
                   *rid = json_str(what, "resourceId");
        found = a != NULL && t != NULL && rid != NULL && strcmp(a, action) == 0 &&
                strcmp(t, rtype) == 0 && strcmp(rid, id) == 0;
    }
    resp_free(&r);
    return found;
}

static char *invite(const char *rights_json, char **id_out)
{
    char *body = str_printf("{\"rights\":%s}", rights_json);
    struct resp r = call("POST", FAMILY "/invitations", F->t_taro, body);
    free(body);
    assert_status(&r, 201);
    assert_non_null(resp_header(&r, "Location"));
    assert_string_equal(resp_header(&r, "Cache-Control"), "no-store");
    char *code = strdup(json_str(r.json, "code_display"));
    assert_int_equal(strlen(json_str(r.json, "code")), 32);
    if (id_out != NULL)
        *id_out = strdup(json_str(r.json, "id"));
    resp_free(&r);
    return code;
}

static int group_setup(void **state)
{
    (void)state;
    F = calloc(1, sizeof *F);
    F->dir = temp_dir();
    char *cmd = str_printf("'%s' demo --people=10 --seed=1 --data-dir='%s' 2>/dev/null",
                           getenv("CITYOS_BIN"), F->dir);
    free(run_command(cmd));
    free(cmd);
    F->s = server_start_with(&(struct server_config){.data_dir = F->dir});
    /* an app registered for the family scopes (the administration registers apps) */
    const char *client =
        "{\"name\":\"family app\",\"kind\":\"public\",\"scopes\":\"" FULL_SCOPE
        "\",\"grant_types\":[\"authorization_code\"],\"redirect_uris\":[\"" REDIRECT "\"]}";
    struct resp r = api(F->s, "POST", "/api/v1/admin/clients", LIST(AUTH_HEADER, JSON_HEADER),
                        client, strlen(client));
    assert_status(&r, 201);
    snprintf(F->client, sizeof F->client, "%s", json_str(r.json, "client_id"));
    resp_free(&r);
    F->t_taro = oidc_token(F->s, F->client, REDIRECT, TARO_EMAIL, TARO_PASS, "self", FULL_SCOPE);
    F->t_hanako =
        oidc_token(F->s, F->client, REDIRECT, HANAKO_EMAIL, HANAKO_PASS, "self", FULL_SCOPE);
    F->t_misaki_for_taro =
        oidc_token(F->s, F->client, REDIRECT, MISAKI_EMAIL, MISAKI_PASS, "for:", FULL_SCOPE);
    F->t_taro_read =
        oidc_token(F->s, F->client, REDIRECT, TARO_EMAIL, TARO_PASS, "self", READ_SCOPE);
    r = call("GET", FAMILY, F->t_taro, NULL);
    assert_status(&r, 200);
    snprintf(F->taro, sizeof F->taro, "%s", json_str(r.json, "subject"));
    resp_free(&r);
    r = call("GET", FAMILY, F->t_hanako, NULL);
    assert_status(&r, 200);
    snprintf(F->hanako, sizeof F->hanako, "%s", json_str(r.json, "subject"));
    resp_free(&r);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    server_stop(F->s);
    server_free(F->s);
    free(F->t_taro);
    free(F->t_hanako);
    free(F->t_misaki_for_taro);
    free(F->t_taro_read);
    free(F->dir);
    free(F);
    return 0;
}

/* The demo's daughter link, from both sides, with its rights and the other person's name. */
static void the_demo_link_is_listed_from_both_sides(void **state)
{
    (void)state;
    struct resp r = call("GET", FAMILY, F->t_taro, NULL);
    assert_status(&r, 200);
    assert_string_equal(resp_header(&r, "Cache-Control"), "no-store");
    json_t *d = json_object_get(r.json, "delegates");
    assert_true(json_array_size(d) >= 1);
    json_t *l = json_array_get(d, 0);
    assert_string_equal(json_str(json_object_get(l, "person"), "name"), "佐藤 美咲");
    json_t *rights = json_object_get(l, "rights");
    assert_int_equal(json_array_size(rights), 2);
    assert_string_equal(json_string_value(json_array_get(rights, 0)), "see_alerts");
    assert_string_equal(json_string_value(json_array_get(rights, 1)), "book_appointments");
    assert_string_equal(json_str(l, "kind"), "family");
    assert_true(json_is_null(json_object_get(l, "valid_until")));
    resp_free(&r);
    /* the read scope is enough to list */
    r = call("GET", FAMILY, F->t_taro_read, NULL);
    assert_status(&r, 200);
    resp_free(&r);
}

static void an_invitation_is_accepted_changed_and_ended_on_both_trails(void **state)
{
    (void)state;
    char *inv_id = NULL;
    char *code = invite("[\"see_alerts\"]", &inv_id);
    assert_int_equal(count_of(F->t_taro, "invitations"), 1);
    assert_true(on_trail(F->t_taro, "create", "FamilyInvitation", inv_id));
    /* his wife accepts it signed in; the code's case and hyphens do not matter */
    for (char *p = code; *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 'a' + 'A');
    char *body = str_printf("{\"code\":\"%s\"}", code);
    struct resp r = call("POST", FAMILY "/accept", F->t_hanako, body);
    assert_status(&r, 201);
    assert_string_equal(json_str(r.json, "subject"), F->taro);
    assert_string_equal(json_str(r.json, "delegate"), F->hanako);
    assert_string_equal(json_str(json_object_get(r.json, "person"), "name"), "会津 太郎");
    char *link = strdup(json_str(r.json, "id"));
    resp_free(&r);
    assert_int_equal(count_of(F->t_taro, "invitations"), 0);
    /* used: the same code again is not found (one answer for wrong, used, expired) */
    r = call("POST", FAMILY "/accept", F->t_hanako, body);
    assert_problem(&r, 404, "not-found");
    resp_free(&r);
    free(body);
    char *listed = link_with(F->t_taro, "delegates", F->hanako);
    assert_non_null(listed);
    assert_string_equal(listed, link);
    free(listed);
    listed = link_with(F->t_hanako, "acting_for", F->taro);
    assert_non_null(listed);
    free(listed);
    assert_true(on_trail(F->t_taro, "create", "FamilyLink", link));
    assert_true(on_trail(F->t_hanako, "create", "FamilyLink", link));
    /* a delegate token now exists for her: she acts for him */
    char *t_for =
        oidc_token(F->s, F->client, REDIRECT, HANAKO_EMAIL, HANAKO_PASS, "for:", FULL_SCOPE);
    free(t_for);

    /* only he changes the rights: a new link replaces the old one */
    char *path = str_printf(FAMILY "/links/%s", link);
    r = call("PATCH", path, F->t_hanako, "{\"rights\":[\"everything\"]}");
    assert_problem(&r, 403, "forbidden");
    resp_free(&r);
    r = call("PATCH", path, F->t_taro, "{\"rights\":[\"see_alerts\"]}");
    assert_problem(&r, 422, "validation-failed"); /* unchanged */
    resp_free(&r);
    r = call("PATCH", path, F->t_taro, "{\"rights\":[\"see_alerts\",\"manage_consents\"]}");
    assert_status(&r, 200);
    assert_string_equal(json_str(r.json, "replaces"), link);
    char *link2 = strdup(json_str(r.json, "id"));
    assert_string_not_equal(link2, link);
    assert_int_equal(json_array_size(json_object_get(r.json, "rights")), 2);
    resp_free(&r);
    assert_true(on_trail(F->t_taro, "update", "FamilyLink", link2));
    assert_true(on_trail(F->t_hanako, "update", "FamilyLink", link2));
    /* the old link is over: changing or ending it again is not found */
    r = call("DELETE", path, F->t_taro, NULL);
    assert_problem(&r, 404, "not-found");
    resp_free(&r);
    free(path);

    /* she steps down (the delegate may end it too); each link change names him in
     * consent_change, so every process's decision index reloads him */
    const char *cc = "SELECT COUNT(*) FROM consent_change WHERE subject_id = ?";
    long changes = harness_db_int(F->dir, cc, LIST(F->taro));
    assert_true(changes >= 2); /* the accept and the change */
    path = str_printf(FAMILY "/links/%s", link2);
    r = call("DELETE", path, F->t_hanako, NULL);
    assert_status(&r, 200);
    assert_string_equal(json_str(r.json, "status"), "ended");
    resp_free(&r);
    assert_null(link_with(F->t_taro, "delegates", F->hanako));
    assert_int_equal(harness_db_int(F->dir, cc, LIST(F->taro)), changes + 1);
    assert_true(on_trail(F->t_taro, "delete", "FamilyLink", link2));
    r = call("DELETE", path, F->t_hanako, NULL);
    assert_problem(&r, 404, "not-found");
    resp_free(&r);
    free(path);
    free(link);
    free(link2);
    free(code);
    free(inv_id);
}

static void only_the_person_themselves_with_the_scope(void **state)
{
    (void)state;
    struct resp r = call("GET", FAMILY, NULL, NULL);
    assert_problem(&r, 401, "unauthorized");
    resp_free(&r);
    r = call("GET", FAMILY, "not-a-token", NULL);
    assert_problem(&r, 401, "unauthorized");
    resp_free(&r);
    /* a delegate's token acts for someone else: not theirs to manage */
    r = call("GET", FAMILY, F->t_misaki_for_taro, NULL);
    assert_problem(&r, 403, "forbidden");
    resp_free(&r);
    r = api(F->s, "GET", FAMILY, LIST(AUTH_HEADER), NULL, 0);
    assert_problem(&r, 403, "forbidden");
    resp_free(&r);
    /* a read-only token (patient/ star .rs) lists but does not invite */
    r = call("POST", FAMILY "/invitations", F->t_taro_read, "{\"rights\":[\"see_alerts\"]}");
    assert_problem(&r, 403, "forbidden");
    assert_non_null(strstr(resp_header(&r, "WWW-Authenticate"), "patient/RelatedPerson.c"));
    resp_free(&r);
    assert_int_equal(count_of(F->t_taro, "invitations"), 0);
}

static void bad_input_is_refused_and_nothing_stored(void **state)
{
    (void)state;
    static const char *const bad_invites[] = {
        "[]",
        "{}",
        "{\"rights\":[]}",
        "{\"rights\":\"see_alerts\"}",
        "{\"rights\":[1]}",
        "{\"rights\":[\"fly\"]}",
        "{\"rights\":[\"see_alerts\",\"see_alerts\"]}",
        "{\"rights\":[\"everything\",\"see_alerts\"]}",
        "{\"rights\":[\"see_alerts\"],\"nickname\":\"x\"}",
        "{\"rights\":[\"see_alerts\"],\"valid_until\":\"2001-01-01\"}",
        "{\"rights\":[\"see_alerts\"],\"valid_until\":\"tomorrow\"}",
        "{\"rights\":[\"see_alerts\"],\"valid_until\":7}",
        "{\"rights\":[\"SEE_ALERTS\"]}",
        "{\"rights\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\"]}",
        NULL,
    };
    for (size_t i = 0; bad_invites[i] != NULL; i++) {
        struct resp r = call("POST", FAMILY "/invitations", F->t_taro, bad_invites[i]);
        if (r.status != 422)
            fprintf(stderr, "body %s -> %ld %s\n", bad_invites[i], r.status, r.body);
        assert_problem(&r, 422, "validation-failed");
        resp_free(&r);
    }
    struct resp r = call("POST", FAMILY "/invitations", F->t_taro, "{\"rights\":");
    assert_problem(&r, 400, "malformed-json");
    resp_free(&r);
    r = call("POST", FAMILY "/invitations", F->t_taro,
             "{\"rights\":[\"see_alerts\"],\"rights\":[]}");
    assert_problem(&r, 400, "malformed-json"); /* a repeated member */
    resp_free(&r);
    char *auth = str_printf("Authorization: Bearer %s", F->t_taro);
    r = api(F->s, "POST", FAMILY "/invitations", LIST(auth, "Content-Type: text/plain"),
            "{\"rights\":[\"see_alerts\"]}", 24);
    assert_problem(&r, 415, "unsupported-media-type");
    resp_free(&r);
    free(auth);
    r = call("GET", FAMILY "?all=1", F->t_taro, NULL);
    assert_problem(&r, 400, "invalid-parameter");
    resp_free(&r);
    assert_int_equal(count_of(F->t_taro, "invitations"), 0);

    static const char *const bad_codes[] = {
        "{}",
        "{\"code\":1}",
        "{\"code\":\"short\"}",
        "{\"code\":\"" /* 33 characters */
        "0123456789abcdefghjkmnpqrstvwxyz0\"}",
        "{\"code\":\"0123456789abcdefghjkmnpqrstvwxiu\"}", /* i and u are not in the alphabet */
        "{\"code\":\"0123456789abcdefghjkmnpqrstvwxyz\",\"x\":1}",
        NULL};
    for (size_t i = 0; bad_codes[i] != NULL; i++) {
        r = call("POST", FAMILY "/accept", F->t_hanako, bad_codes[i]);
        assert_problem(&r, 422, "validation-failed");
        resp_free(&r);
    }
    /* well formed, never issued */
    r = call("POST", FAMILY "/accept", F->t_hanako,
             "{\"code\":\"0123-4567-89ab-cdef-ghjk-mnpq-rstv-wxyz\"}");
    assert_problem(&r, 404, "not-found");
    resp_free(&r);
    /* his own code: he cannot be his own delegate */
    char *inv = NULL;
    char *code = invite("[\"see_alerts\"]", &inv);
    char *body = str_printf("{\"code\":\"%s\"}", code);
    r = call("POST", FAMILY "/accept", F->t_taro, body);
    assert_problem(&r, 422, "validation-failed");
    resp_free(&r);
    /* a delegate's token is not for managing links */
    r = call("POST", FAMILY "/accept", F->t_misaki_for_taro, body);
    assert_problem(&r, 403, "forbidden");
    resp_free(&r);
    /* his wife accepts; a second code for the same pair: 409, that invitation stays pending */
    r = call("POST", FAMILY "/accept", F->t_hanako, body);
    assert_status(&r, 201);
    char *wife_link = str_printf(FAMILY "/links/%s", json_str(r.json, "id"));
    resp_free(&r);
    free(body);
    free(code);
    char *inv2 = NULL;
    code = invite("[\"everything\"]", &inv2);
    body = str_printf("{\"code\":\"%s\"}", code);
    r = call("POST", FAMILY "/accept", F->t_hanako, body);
    assert_problem(&r, 409, "conflict");
    resp_free(&r);
    assert_int_equal(count_of(F->t_taro, "invitations"), 1);
    r = call("DELETE", wife_link, F->t_taro, NULL);
    assert_status(&r, 200);
    resp_free(&r);
    free(wife_link);
    free(body);
    free(code);
    char *p2 = str_printf(FAMILY "/invitations/%s", inv2);
    r = call("DELETE", p2, F->t_taro, NULL);
    assert_status(&r, 200);
    resp_free(&r);
    free(p2);
    free(inv2);
    char *path = str_printf(FAMILY "/invitations/%s", inv);
    r = call("DELETE", path, F->t_taro, NULL);
    assert_problem(&r, 404, "not-found"); /* accepted: no longer pending */
    resp_free(&r);
    free(path);
    free(inv);
    /* unknown or malformed ids */
    r = call("PATCH", FAMILY "/links/not-an-id", F->t_taro, "{\"rights\":[\"see_alerts\"]}");
    assert_problem(&r, 404, "not-found");
    resp_free(&r);
    r = call("DELETE", FAMILY "/links/00000000000000000000000000", F->t_taro, NULL);
    assert_problem(&r, 404, "not-found");
    resp_free(&r);
    char *misaki_link = link_with(F->t_taro, "delegates", "x");
    assert_null(misaki_link);
    assert_int_equal(count_of(F->t_taro, "invitations"), 0);
}

static void pending_invitations_are_limited_and_can_be_cancelled(void **state)
{
    (void)state;
    char *ids[10];
    for (int i = 0; i < 10; i++)
        free(invite("[\"see_record\"]", &ids[i]));
    struct resp r = call("POST", FAMILY "/invitations", F->t_taro, "{\"rights\":[\"see_record\"]}");
    assert_problem(&r, 409, "conflict");
    resp_free(&r);
    assert_int_equal(count_of(F->t_taro, "invitations"), 10);
    /* his wife cannot cancel his invitation */
    char *path = str_printf(FAMILY "/invitations/%s", ids[0]);
    r = call("DELETE", path, F->t_hanako, NULL);
    assert_problem(&r, 404, "not-found");
    resp_free(&r);
    for (int i = 0; i < 10; i++) {
        char *p = str_printf(FAMILY "/invitations/%s", ids[i]);
        r = call("DELETE", p, F->t_taro, NULL);
        assert_status(&r, 200);
        resp_free(&r);
        free(p);
        free(ids[i]);
    }
    r = call("DELETE", path, F->t_taro, NULL);
    assert_problem(&r, 404, "not-found");
    resp_free(&r);
    free(path);
    assert_int_equal(count_of(F->t_taro, "invitations"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_demo_link_is_listed_from_both_sides),
        cmocka_unit_test(an_invitation_is_accepted_changed_and_ended_on_both_trails),
        cmocka_unit_test(only_the_person_themselves_with_the_scope),
        cmocka_unit_test(bad_input_is_refused_and_nothing_stored),
        cmocka_unit_test(pending_invitations_are_limited_and_can_be_cancelled),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

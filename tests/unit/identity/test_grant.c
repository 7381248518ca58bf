/* test_grant.c - grants, codes and refresh tokens in the store: an approval stored with its
 * code, found again by the code's text (kept only as a hash), redeemed exactly once (a second
 * redemption revokes the grant and its tokens), refresh tokens rotated, and a grant whose family
 * link or practitioner role has ended refused and revoked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "base/clock.h"
#include "identity/client.h"
#include "identity/grant.h"
#include "identity/org.h"
#include "identity/person.h"
#include "identity/pkce.h"
#include "support/fixture.h"

#define SCOPE    "openid offline_access launch/patient patient/*.rs"
#define REDIRECT "https://app.example/cb"
#define VERIFIER "dBjftJeZ4CVP-mJ92K9h0kCZSC4rtwG1CmEZxvZ4zO8"

/* Who the tests need: a client, a person, a daughter with a link for an hour, a doctor. */
struct ids {
    char client[IDS_LEN + 1], taro[IDS_LEN + 1], misaki[IDS_LEN + 1], doctor[IDS_LEN + 1];
    char clinic[IDS_LEN + 1];
    int64_t link_until_ms;
};

static struct ids W;

static void add_person(struct fx *f, const char *given, const char *kana, char id[IDS_LEN + 1])
{
    struct id_person_new in = {.family_name_kanji = "会津",
                               .given_name_kanji = given,
                               .family_name_kana = "アイヅ",
                               .given_name_kana = kana,
                               .birth_date = "1970-01-05",
                               .sex = ID_SEX_OTHER,
                               .district = "湊町",
                               .assurance = ID_ASSURANCE_SELF};
    struct err e = {0};
    if (id_person_create(f->s, &in, id, &e) != 0)
        fail_msg("person: %s", e.msg);
}

static int setup(void **state)
{
    if (fx_setup_in(state, "grant") != 0)
        return -1;
    struct fx *f = *state;
    struct err e = {0};
    static const char *const redirects[] = {REDIRECT};
    struct id_client_new c = {
        "App", ID_CLIENT_PUBLIC,   redirects,
        1,     SCOPE " user/*.rs", ID_GRANT_AUTHORIZATION_CODE | ID_GRANT_REFRESH_TOKEN,
        NULL};
    char secret[ID_CLIENT_SECRET_LEN + 1];
    if (id_client_create(f->s, &c, W.client, secret, &e) != 0)
        fail_msg("client: %s", e.msg);
    add_person(f, "太郎", "タロウ", W.taro);
    add_person(f, "美咲", "ミサキ", W.misaki);
    add_person(f, "健一", "ケンイチ", W.doctor);
    W.link_until_ms = clock_now_ms() + 60LL * 60 * 1000;
    struct id_family_link_new link = {W.taro,         W.misaki, ID_RIGHT_SEE_ALERTS,
                                      ID_LINK_FAMILY, 0,        W.link_until_ms};
    char link_id[IDS_LEN + 1], role_id[IDS_LEN + 1];
    if (id_family_link_add(f->s, &link, link_id, &e) != 0)
        fail_msg("link: %s", e.msg);
    struct id_org_new org = {ID_ORG_CLINIC, "湊ファミリークリニック", NULL, "湊町", NULL, {0}};
    if (id_org_create(f->s, &org, W.clinic, &e) != 0 ||
        id_role_add(f->s, W.doctor, W.clinic, ID_ROLE_DOCTOR, role_id, &e) != 0)
        fail_msg("org or role: %s", e.msg);
    return 0;
}

/* Stores an approval by person (acting_for, org_id, role may be NULL) at now; its code in
 * code. Returns the grant's id (static; copy it before the next call). */
static const char *approve(struct fx *f, const char *person, const char *acting_for,
                           const char *org_id, const char *role, const char *scope, int64_t now,
                           char code[ID_TOKEN_LEN + 1])
{
    static struct id_code_issue c;
    memset(&c, 0, sizeof c);
    memcpy(c.grant.client_id, W.client, sizeof c.grant.client_id);
    memcpy(c.grant.person_id, person, sizeof c.grant.person_id);
    c.grant.acting_for = acting_for;
    c.grant.org_id = org_id;
    c.grant.role = role;
    c.grant.scope = scope;
    c.grant.audience = "cityos";
    c.grant.nonce = "n-1";
    c.grant.amr = "pwd";
    c.grant.auth_time_ms = now - 5000;
    c.redirect_uri = REDIRECT;
    assert_int_equal(id_pkce_s256(VERIFIER, c.challenge), 0);
    id_code_issue_prepare(&c, now, code);
    assert_int_equal(strlen(code), ID_TOKEN_LEN);
    assert_int_equal(c.expires_ms - c.issued_ms, ID_CODE_TTL_MS);
    struct err e = {0};
    if (store_write(f->s, id_code_issue_fn, &c, &e) != 0)
        fail_msg("issue: %s", e.msg);
    return c.grant.id;
}

/* Looks text up (a code or a refresh token) and redeems it at now; returns the result and
 * leaves the tokens in *r (whose grant points into *l). */
static enum id_redeem_result redeem(struct fx *f, int refresh, const char *text, int64_t now,
                                    int issue_refresh, struct id_grant_lookup *l,
                                    struct id_redeem *r)
{
    struct err e = {0};
    assert_int_equal(id_grant_lookup(f->s, refresh, text, l, f->a, &e), 0);
    memset(r, 0, sizeof *r);
    r->refresh = refresh;
    id_token_hash(text, strlen(text), r->hash);
    r->grant = &l->grant;
    r->access_scope = l->grant.scope;
    r->issue_refresh = issue_refresh;
    r->now_ms = now;
    r->access_ttl_s = ID_TOKEN_TTL_DEFAULT_S;
    assert_int_equal(id_redeem_prepare(r, &e), 0);
    if (store_write(f->s, id_redeem_fn, r, &e) != 0)
        fail_msg("redeem: %s", e.msg);
    return r->result;
}

/* Is the access token active at now? */
static int active(struct fx *f, const char *token, int64_t now)
{
    struct id_token_record rec;
    struct err e = {0};
    return id_token_lookup(f->s, token, strlen(token), now, &rec, f->a, &e) == 0;
}

static int64_t grant_revoked_ms(struct fx *f, const char *grant_id)
{
    char sql[160];
    snprintf(sql, sizeof sql,
             "SELECT COUNT(*) FROM oauth_grant WHERE id = '%s' AND revoked_ms IS NOT NULL",
             grant_id);
    return fx_count(f, sql);
}

static void a_code_is_stored_and_found_by_its_text(void **state)
{
    struct fx *f = *state;
    int64_t now = clock_now_ms();
    char code[ID_TOKEN_LEN + 1];
    char grant[IDS_LEN + 1];
    memcpy(grant, approve(f, W.taro, NULL, NULL, NULL, SCOPE, now, code), sizeof grant);
    assert_true(ids_valid(grant));

    struct id_grant_lookup l;
    struct err e = {0};
    assert_int_equal(id_grant_lookup(f->s, 0, code, &l, f->a, &e), 0);
    assert_string_equal(l.grant.id, grant);
    assert_string_equal(l.grant.client_id, W.client);
    assert_string_equal(l.grant.person_id, W.taro);
    assert_null(l.grant.acting_for);
    assert_null(l.grant.org_id);
    assert_null(l.grant.role);
    assert_string_equal(l.grant.scope, SCOPE);
    assert_string_equal(l.grant.audience, "cityos");
    assert_string_equal(l.grant.nonce, "n-1");
    assert_string_equal(l.grant.amr, "pwd");
    assert_int_equal(l.grant.auth_time_ms, now - 5000);
    assert_int_equal(l.grant.created_ms, now);
    assert_int_equal(l.grant.revoked_ms, 0);
    assert_string_equal(l.redirect_uri, REDIRECT);
    assert_int_equal(id_pkce_check_s256(VERIFIER, l.challenge), 0);
    assert_int_equal(l.expires_ms, now + ID_CODE_TTL_MS);
    assert_int_equal(l.used_ms, 0);

    /* only the hash is kept: no column holds the code's text */
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM auth_code WHERE hash = '%s'", code);
    assert_int_equal(fx_count(f, sql), 0);
    char hash[ID_TOKEN_HASH_HEX + 1];
    id_token_hash(code, strlen(code), hash);
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM auth_code WHERE hash = '%s'", hash);
    assert_int_equal(fx_count(f, sql), 1);

    /* a code is not a refresh token; unknown, empty, truncated and oversized text is not found */
    assert_int_equal(id_grant_lookup(f->s, 1, code, &l, f->a, &e), ERR_NOTFOUND);
    assert_int_equal(id_grant_lookup(f->s, 0, "", &l, f->a, &e), ERR_NOTFOUND);
    assert_int_equal(id_grant_lookup(f->s, 0, NULL, &l, f->a, &e), ERR_NOTFOUND);
    char shorter[ID_TOKEN_LEN];
    memcpy(shorter, code, ID_TOKEN_LEN - 1);
    shorter[ID_TOKEN_LEN - 1] = '\0';
    assert_int_equal(id_grant_lookup(f->s, 0, shorter, &l, f->a, &e), ERR_NOTFOUND);
    char big[ID_TOKEN_IN_MAX + 2];
    memset(big, 'A', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(id_grant_lookup(f->s, 0, big, &l, f->a, &e), ERR_NOTFOUND);
    /* two approvals get two grants and two codes */
    char code2[ID_TOKEN_LEN + 1];
    assert_string_not_equal(approve(f, W.taro, NULL, NULL, NULL, SCOPE, now, code2), grant);
    assert_string_not_equal(code, code2);
}

/* redeemed once: an access token of the grant; the second time: REUSED, and the grant is
 * revoked with the token the first redemption made */
static void a_code_redeems_once_and_reuse_revokes_the_grant(void **state)
{
    struct fx *f = *state;
    int64_t now = clock_now_ms();
    char code[ID_TOKEN_LEN + 1];
    char grant[IDS_LEN + 1];
    memcpy(grant, approve(f, W.taro, NULL, NULL, NULL, SCOPE, now, code), sizeof grant);
    struct id_grant_lookup l;
    struct id_redeem r;
    assert_int_equal(redeem(f, 0, code, now + 1000, 1, &l, &r), ID_REDEEM_OK);
    char access[ID_TOKEN_LEN + 1], refresh[ID_TOKEN_LEN + 1];
    memcpy(access, r.access_token, sizeof access);
    memcpy(refresh, r.refresh_token, sizeof refresh);
    assert_int_equal(strlen(access), ID_TOKEN_LEN);
    assert_int_equal(strlen(refresh), ID_TOKEN_LEN);
    assert_string_not_equal(access, refresh);
    assert_true(active(f, access, now + 2000));

    struct id_token_record rec;
    struct err e = {0};
    assert_int_equal(id_token_lookup(f->s, access, strlen(access), now + 2000, &rec, f->a, &e), 0);
    assert_string_equal(rec.grant_id, grant);
    assert_string_equal(rec.subject_id, W.taro);
    assert_string_equal(rec.client_id, W.client);
    assert_string_equal(rec.scope, SCOPE);
    assert_int_equal(rec.expires_ms - rec.issued_ms, ID_TOKEN_TTL_DEFAULT_S * 1000);

    struct id_grant_lookup l2;
    assert_int_equal(id_grant_lookup(f->s, 0, code, &l2, f->a, &e), 0);
    assert_int_equal(l2.used_ms, now + 1000);
    assert_int_equal(grant_revoked_ms(f, grant), 0);

    int64_t tokens = fx_count(f, "SELECT COUNT(*) FROM access_token");
    assert_int_equal(redeem(f, 0, code, now + 3000, 1, &l2, &r), ID_REDEEM_REUSED);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM access_token"), tokens); /* none made */
    assert_int_equal(grant_revoked_ms(f, grant), 1);
    assert_false(active(f, access, now + 4000));
    /* and the refresh token of the first redemption is refused */
    assert_int_equal(redeem(f, 1, refresh, now + 5000, 1, &l2, &r), ID_REDEEM_REVOKED);
    assert_true(l2.grant.revoked_ms != 0);
    /* a third try stays refused */
    assert_int_equal(redeem(f, 0, code, now + 6000, 1, &l2, &r), ID_REDEEM_REUSED);
}

/* each refresh marks its token used and hands out a new one; replaying an old one revokes the
 * grant, after which the newest is refused too */
static void refresh_tokens_rotate_and_reuse_revokes(void **state)
{
    struct fx *f = *state;
    int64_t now = clock_now_ms();
    char code[ID_TOKEN_LEN + 1];
    char grant[IDS_LEN + 1];
    memcpy(grant, approve(f, W.taro, NULL, NULL, NULL, SCOPE, now, code), sizeof grant);
    struct id_grant_lookup l;
    struct id_redeem r;
    assert_int_equal(redeem(f, 0, code, now, 1, &l, &r), ID_REDEEM_OK);
    char r1[ID_TOKEN_LEN + 1], r2[ID_TOKEN_LEN + 1], a1[ID_TOKEN_LEN + 1], a2[ID_TOKEN_LEN + 1];
    memcpy(r1, r.refresh_token, sizeof r1);
    memcpy(a1, r.access_token, sizeof a1);

    struct err e = {0};
    assert_int_equal(id_grant_lookup(f->s, 1, r1, &l, f->a, &e), 0);
    assert_string_equal(l.grant.id, grant);
    assert_null(l.redirect_uri);
    assert_null(l.challenge);
    assert_int_equal(l.expires_ms, now + ID_REFRESH_TTL_MS);
    assert_int_equal(l.used_ms, 0);
    assert_int_equal(id_grant_lookup(f->s, 0, r1, &l, f->a, &e), ERR_NOTFOUND); /* not a code */

    assert_int_equal(redeem(f, 1, r1, now + 1000, 1, &l, &r), ID_REDEEM_OK);
    memcpy(r2, r.refresh_token, sizeof r2);
    memcpy(a2, r.access_token, sizeof a2);
    assert_string_not_equal(r1, r2);
    assert_string_not_equal(a1, a2);
    assert_true(active(f, a1, now + 2000)); /* a refresh does not end the older access token */
    assert_true(active(f, a2, now + 2000));
    assert_int_equal(id_grant_lookup(f->s, 1, r2, &l, f->a, &e), 0);
    assert_int_equal(l.expires_ms, now + 1000 + ID_REFRESH_TTL_MS);
    assert_int_equal(id_grant_lookup(f->s, 1, r1, &l, f->a, &e), 0);
    assert_int_equal(l.used_ms, now + 1000);

    /* a narrower scope for the refreshed access token */
    assert_int_equal(id_grant_lookup(f->s, 1, r2, &l, f->a, &e), 0);
    memset(&r, 0, sizeof r);
    r.refresh = 1;
    id_token_hash(r2, strlen(r2), r.hash);
    r.grant = &l.grant;
    r.access_scope = "patient/Observation.rs";
    r.issue_refresh = 1;
    r.now_ms = now + 1500;
    r.access_ttl_s = 60;
    assert_int_equal(id_redeem_prepare(&r, &e), 0);
    assert_int_equal(store_write(f->s, id_redeem_fn, &r, &e), 0);
    assert_int_equal(r.result, ID_REDEEM_OK);
    char a3[ID_TOKEN_LEN + 1], r3[ID_TOKEN_LEN + 1];
    memcpy(a3, r.access_token, sizeof a3);
    memcpy(r3, r.refresh_token, sizeof r3);
    struct id_token_record rec;
    assert_int_equal(id_token_lookup(f->s, a3, strlen(a3), now + 2000, &rec, f->a, &e), 0);
    assert_string_equal(rec.scope, "patient/Observation.rs");
    assert_int_equal(rec.expires_ms, now + 1500 + 60 * 1000);

    /* replaying r1: REUSED, the grant ends with every token it made */
    assert_int_equal(redeem(f, 1, r1, now + 3000, 1, &l, &r), ID_REDEEM_REUSED);
    assert_int_equal(grant_revoked_ms(f, grant), 1);
    assert_false(active(f, a1, now + 4000));
    assert_false(active(f, a2, now + 4000));
    assert_false(active(f, a3, now + 4000));
    assert_int_equal(redeem(f, 1, r3, now + 5000, 1, &l, &r), ID_REDEEM_REVOKED);
    assert_string_equal(r.refresh_token, "");
}

/* without issue_refresh, no refresh token is made */
static void a_code_without_offline_access_gets_no_refresh_token(void **state)
{
    struct fx *f = *state;
    int64_t now = clock_now_ms();
    char code[ID_TOKEN_LEN + 1];
    approve(f, W.taro, NULL, NULL, NULL, "openid patient/*.rs", now, code);
    struct id_grant_lookup l;
    struct id_redeem r;
    assert_int_equal(redeem(f, 0, code, now, 0, &l, &r), ID_REDEEM_OK);
    assert_string_equal(r.refresh_token, "");
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM refresh_token"), 0);
}

/* a delegate's grant holds while the family link does; after its end the redemption is refused
 * and the grant revoked */
static void a_grant_ends_with_its_family_link(void **state)
{
    struct fx *f = *state;
    int64_t now = clock_now_ms();
    char code[ID_TOKEN_LEN + 1];
    char grant[IDS_LEN + 1];
    memcpy(grant, approve(f, W.misaki, W.taro, NULL, NULL, SCOPE, now, code), sizeof grant);
    struct id_grant_lookup l;
    struct id_redeem r;
    assert_int_equal(redeem(f, 0, code, now, 1, &l, &r), ID_REDEEM_OK);
    assert_string_equal(l.grant.acting_for, W.taro);
    struct id_token_record rec;
    struct err e = {0};
    assert_int_equal(
        id_token_lookup(f->s, r.access_token, strlen(r.access_token), now, &rec, f->a, &e), 0);
    assert_string_equal(rec.acting_for, W.taro);
    assert_string_equal(rec.subject_id, W.misaki);
    char r1[ID_TOKEN_LEN + 1];
    memcpy(r1, r.refresh_token, sizeof r1);

    /* still held a moment before the link ends */
    assert_int_equal(redeem(f, 1, r1, W.link_until_ms - 1, 1, &l, &r), ID_REDEEM_OK);
    char r2[ID_TOKEN_LEN + 1];
    memcpy(r2, r.refresh_token, sizeof r2);
    /* at its end: no longer held */
    int64_t tokens = fx_count(f, "SELECT COUNT(*) FROM access_token");
    assert_int_equal(redeem(f, 1, r2, W.link_until_ms, 1, &l, &r), ID_REDEEM_NO_LONGER_HELD);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM access_token"), tokens);
    assert_int_equal(grant_revoked_ms(f, grant), 1);

    /* a grant for someone the person has no link with is not held either */
    char code2[ID_TOKEN_LEN + 1];
    memcpy(grant, approve(f, W.doctor, W.taro, NULL, NULL, SCOPE, now, code2), sizeof grant);
    assert_int_equal(redeem(f, 0, code2, now, 1, &l, &r), ID_REDEEM_NO_LONGER_HELD);
    assert_int_equal(grant_revoked_ms(f, grant), 1);
}

/* a practitioner's grant holds while the role does */
static void a_grant_in_a_role_needs_the_role(void **state)
{
    struct fx *f = *state;
    int64_t now = clock_now_ms();
    char code[ID_TOKEN_LEN + 1];
    approve(f, W.doctor, NULL, W.clinic, "doctor", "openid user/*.rs", now, code);
    struct id_grant_lookup l;
    struct id_redeem r;
    assert_int_equal(redeem(f, 0, code, now, 0, &l, &r), ID_REDEEM_OK);
    assert_string_equal(l.grant.org_id, W.clinic);
    assert_string_equal(l.grant.role, "doctor");
    struct id_token_record rec;
    struct err e = {0};
    assert_int_equal(
        id_token_lookup(f->s, r.access_token, strlen(r.access_token), now, &rec, f->a, &e), 0);
    assert_string_equal(rec.org_id, W.clinic);
    assert_string_equal(rec.role, "doctor");
    /* a role the person does not hold (nurse), or a person without any role */
    char grant[IDS_LEN + 1];
    memcpy(grant, approve(f, W.doctor, NULL, W.clinic, "nurse", "openid user/*.rs", now, code),
           sizeof grant);
    assert_int_equal(redeem(f, 0, code, now, 0, &l, &r), ID_REDEEM_NO_LONGER_HELD);
    assert_int_equal(grant_revoked_ms(f, grant), 1);
    approve(f, W.taro, NULL, W.clinic, "doctor", "openid user/*.rs", now, code);
    assert_int_equal(redeem(f, 0, code, now, 0, &l, &r), ID_REDEEM_NO_LONGER_HELD);
}

/* revoking a grant once says so; a second time changes nothing */
/* The audit hook: the record of what the exchange hands out commits with a redemption that
 * succeeds, and a replayed or revoked one records nothing. */
static enum id_redeem_result redeem_audited(struct fx *f, int refresh, const char *text,
                                            int64_t now, const struct audit_event *ev,
                                            struct id_grant_lookup *l, struct id_redeem *r)
{
    struct err e = {0};
    assert_int_equal(id_grant_lookup(f->s, refresh, text, l, f->a, &e), 0);
    memset(r, 0, sizeof *r);
    r->refresh = refresh;
    id_token_hash(text, strlen(text), r->hash);
    r->grant = &l->grant;
    r->access_scope = l->grant.scope;
    r->issue_refresh = 1;
    r->now_ms = now;
    r->access_ttl_s = ID_TOKEN_TTL_DEFAULT_S;
    r->audit = ev;
    assert_int_equal(id_redeem_prepare(r, &e), 0);
    if (store_write(f->s, id_redeem_fn, r, &e) != 0)
        fail_msg("redeem: %s", e.msg);
    return r->result;
}

static void a_redemption_commits_its_audit_record(void **state)
{
    struct fx *f = *state;
    int64_t now = clock_now_ms();
    char code[ID_TOKEN_LEN + 1];
    approve(f, W.taro, NULL, NULL, NULL, SCOPE, now, code);
    struct audit_event ev = {.actor_kind = AUDIT_ACTOR_CLIENT,
                             .actor_id = W.client,
                             .client_id = W.client,
                             .on_behalf_of = W.taro,
                             .subject = W.taro,
                             .action = "read",
                             .resource_type = "Patient",
                             .resource_id = W.taro,
                             .category = "contact",
                             .decision = AUDIT_PERMIT,
                             .decided_by = "rule:self-approved"};
    struct id_grant_lookup l;
    struct id_redeem r;
    assert_int_equal(redeem_audited(f, 0, code, now + 1000, &ev, &l, &r), ID_REDEEM_OK);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM audit_entry"), 1);
    struct audit_page page;
    struct err e = {0};
    assert_int_equal(audit_list_for_subject(f->s, W.taro, NULL, 10, f->a, &page, &e), 0);
    assert_int_equal(page.n, 1);
    assert_string_equal(page.items[0].ev.actor_id, W.client);
    assert_string_equal(page.items[0].ev.decided_by, "rule:self-approved");
    char refresh[ID_TOKEN_LEN + 1];
    memcpy(refresh, r.refresh_token, sizeof refresh);
    /* a replayed code: the grant is revoked, nothing handed out, nothing recorded */
    assert_int_equal(redeem_audited(f, 0, code, now + 2000, &ev, &l, &r), ID_REDEEM_REUSED);
    assert_int_equal(redeem_audited(f, 1, refresh, now + 3000, &ev, &l, &r), ID_REDEEM_REVOKED);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM audit_entry"), 1);
    /* a record that cannot be appended takes the tokens with it */
    approve(f, W.taro, NULL, NULL, NULL, SCOPE, now, code);
    int64_t tokens = fx_count(f, "SELECT COUNT(*) FROM access_token");
    struct audit_event bad = ev;
    bad.action = "Not A Token";
    assert_int_equal(id_grant_lookup(f->s, 0, code, &l, f->a, &e), 0);
    memset(&r, 0, sizeof r);
    id_token_hash(code, strlen(code), r.hash);
    r.grant = &l.grant;
    r.access_scope = l.grant.scope;
    r.now_ms = now + 4000;
    r.access_ttl_s = ID_TOKEN_TTL_DEFAULT_S;
    r.audit = &bad;
    assert_int_equal(id_redeem_prepare(&r, &e), 0);
    assert_int_equal(store_write(f->s, id_redeem_fn, &r, &e), ERR_INVALID);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM access_token"), tokens);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM audit_entry"), 1);
}

static void revoking_a_grant_is_idempotent(void **state)
{
    struct fx *f = *state;
    int64_t now = clock_now_ms();
    char code[ID_TOKEN_LEN + 1];
    struct id_grant_revoke g = {.reason = "revoked_by_client", .now_ms = now + 10};
    memcpy(g.grant_id, approve(f, W.taro, NULL, NULL, NULL, SCOPE, now, code), sizeof g.grant_id);
    struct err e = {0};
    assert_int_equal(store_write(f->s, id_grant_revoke_fn, &g, &e), 0);
    assert_int_equal(g.revoked, 1);
    g.now_ms = now + 20;
    assert_int_equal(store_write(f->s, id_grant_revoke_fn, &g, &e), 0);
    assert_int_equal(g.revoked, 0);
    struct id_grant_lookup l;
    assert_int_equal(id_grant_lookup(f->s, 0, code, &l, f->a, &e), 0);
    assert_int_equal(l.grant.revoked_ms, now + 10); /* the first time is kept */
    /* the code of a revoked grant does not redeem */
    struct id_redeem r;
    assert_int_equal(redeem(f, 0, code, now + 30, 1, &l, &r), ID_REDEEM_REVOKED);
    /* an unknown grant: nothing revoked */
    struct id_grant_revoke none = {.reason = "x", .now_ms = now};
    ids_new(none.grant_id);
    assert_int_equal(store_write(f->s, id_grant_revoke_fn, &none, &e), 0);
    assert_int_equal(none.revoked, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_code_is_stored_and_found_by_its_text, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(a_code_redeems_once_and_reuse_revokes_the_grant, setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(refresh_tokens_rotate_and_reuse_revokes, setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(a_code_without_offline_access_gets_no_refresh_token, setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(a_grant_ends_with_its_family_link, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(a_grant_in_a_role_needs_the_role, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(revoking_a_grant_is_idempotent, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(a_redemption_commits_its_audit_record, setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

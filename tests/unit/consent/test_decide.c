/* test_decide.c - consent_decide() as a table: every principal kind x every data category x
 * every consent state x both actions, generated and checked against an oracle written apart
 * from the decision code (plain facts, no index), plus hand-written rows for the tricky cases
 * (re-consent, purpose recipients, break-glass, guardianship ending at 18, periods), and the
 * index's update functions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "consent/index.h"
#include "identity/person.h"

#define NOW 1796083200000LL

/* people, organisations, clients (ids need not be real here: the index only interns them) */
#define S       "SUBJECTSSSSSSSSSSSSSSSSSS1" /* an adult citizen */
#define M       "MINORMMMMMMMMMMMMMMMMMMMM1" /* a minor with a guardian */
#define X       "EXWARDXXXXXXXXXXXXXXXXXXX1" /* an adult whose guardianship ended */
#define P       "PERSONPPPPPPPPPPPPPPPPPPP1" /* a person the citizen consented to */
#define D_ALL   "DELEGATEEVERYTHING0000000A"
#define D_REC   "DELEGATERECORD00000000000A"
#define D_ALERT "DELEGATEALERTS00000000000A"
#define D_BOOK  "DELEGATEBOOKING0000000000A"
#define D_MC    "DELEGATEMANAGECONSENTS000A"
#define D_OLD   "DELEGATEEXPIREDLINK000000A"
#define G       "GUARDIANGGGGGGGGGGGGGGGGG1"
#define DOC     "DOCTORDDDDDDDDDDDDDDDDDDD1"
#define CLINIC  "CLINICCCCCCCCCCCCCCCCCCCC1"
#define HOSP    "HOSPITALHHHHHHHHHHHHHHHHH1"
#define OTHER   "OTHERORGOOOOOOOOOOOOOOOOO1"
#define K       "CLIENTKKKKKKKKKKKKKKKKKKK1"
#define K2      "CLIENTOTHERKKKKKKKKKKKKKK1"
#define C_ID    "CONSENTCCCCCCCCCCCCCCCCCC1"

#define BIT(c) (1u << (c))
#define V1     (BIT(CONSENT_CAT_VITALS) | BIT(CONSENT_CAT_LAB_RESULTS) | BIT(CONSENT_CAT_MEDICATIONS))

/* ---- the scenarios ---- */

enum state {
    ST_NONE,             /* no consent */
    ST_ACTIVE,           /* an active consent on v1 for V1, read and write */
    ST_EXPIRED,          /* its period ended */
    ST_NOT_YET,          /* its period starts tomorrow */
    ST_WITHDRAWN,        /* granted, then withdrawn */
    ST_WIDENED,          /* purpose v2 adds genome and a recipient; the consent stays on v1 */
    ST_NARROWED_PURPOSE, /* purpose v2 drops lab_results */
    ST_NARROWED_CONSENT, /* the citizen narrowed the consent to vitals */
    ST_READ_ONLY,        /* the consent allows reading only */
    ST_COUNT
};
static const char *const state_names[] = {
    "none",      "active",          "expired",          "not-yet",
    "withdrawn", "widened-purpose", "narrowed-purpose", "narrowed-consent",
    "read-only"};

/* which consent an actor would use */
enum route { R_NONE, R_ORG, R_CLIENT, R_PERSON, R_PURPOSE };

struct actor {
    const char *label;
    enum id_principal_kind kind;
    const char *person, *acting_for, *org, *role, *client;
    const char *subject; /* whose data it asks for */
    enum route route;
};

static const struct actor actors[] = {
    {"clinic doctor (org consent)", ID_PRINCIPAL_PRACTITIONER, DOC, NULL, CLINIC, "doctor", K2, S,
     R_ORG},
    {"service client (client consent)", ID_PRINCIPAL_CLIENT, NULL, NULL, NULL, NULL, K, S,
     R_CLIENT},
    {"a person (person consent)", ID_PRINCIPAL_PERSON, P, NULL, NULL, NULL, K2, S, R_PERSON},
    {"clinic nurse (purpose consent)", ID_PRINCIPAL_PRACTITIONER, DOC, NULL, CLINIC, "nurse", K2, S,
     R_PURPOSE},
    {"service client (purpose consent)", ID_PRINCIPAL_CLIENT, NULL, NULL, NULL, NULL, K, S,
     R_PURPOSE},
    {"doctor of another org", ID_PRINCIPAL_PRACTITIONER, DOC, NULL, OTHER, "doctor", K2, S, R_ORG},
    {"another client", ID_PRINCIPAL_CLIENT, NULL, NULL, NULL, NULL, K2, S, R_CLIENT},
    {"operator", ID_PRINCIPAL_OPERATOR, NULL, NULL, NULL, NULL, NULL, S, R_ORG},
    {"the citizen", ID_PRINCIPAL_PERSON, S, NULL, NULL, NULL, K, S, R_NONE},
    {"delegate: see_record", ID_PRINCIPAL_DELEGATE, D_REC, S, NULL, NULL, K, S, R_NONE},
    {"delegate: see_alerts", ID_PRINCIPAL_DELEGATE, D_ALERT, S, NULL, NULL, K, S, R_NONE},
    {"delegate: book_appointments", ID_PRINCIPAL_DELEGATE, D_BOOK, S, NULL, NULL, K, S, R_NONE},
    {"delegate: manage_consents", ID_PRINCIPAL_DELEGATE, D_MC, S, NULL, NULL, K, S, R_NONE},
    {"delegate: everything", ID_PRINCIPAL_DELEGATE, D_ALL, S, NULL, NULL, K, S, R_NONE},
    {"delegate: link ended", ID_PRINCIPAL_DELEGATE, D_OLD, S, NULL, NULL, K, S, R_NONE},
    {"guardian of a minor", ID_PRINCIPAL_DELEGATE, G, M, NULL, NULL, K, M, R_NONE},
    {"guardian of an adult ex-ward", ID_PRINCIPAL_DELEGATE, G, X, NULL, NULL, K, X, R_NONE},
};
#define NACTORS (sizeof actors / sizeof actors[0])

static void add_purpose(struct consent_index *ix, int64_t v, consent_cats cats, int with_other)
{
    const char *r[] = {CLINIC, K, OTHER};
    assert_int_equal(consent_index_put_purpose(ix, "care", v, cats, r, with_other ? 3 : 2), 0);
}

static void add_link(struct consent_index *ix, const char *id, const char *subject,
                     const char *delegate, unsigned rights, int guardian, int64_t from,
                     int64_t until)
{
    struct consent_index_link l = {.id = id,
                                   .subject_id = subject,
                                   .delegate_id = delegate,
                                   .rights = rights,
                                   .guardian = guardian,
                                   .valid_from_ms = from,
                                   .valid_until_ms = until};
    assert_int_equal(consent_index_put_link(ix, &l), 0);
}

static struct consent_index *build(enum state st, enum route route)
{
    struct consent_index *ix = consent_index_new();
    assert_non_null(ix);
    assert_int_equal(consent_index_set_hospital(ix, HOSP, 1), 0);
    add_purpose(ix, 1, V1, 0);
    if (st == ST_WIDENED)
        add_purpose(ix, 2, V1 | BIT(CONSENT_CAT_GENOME), 1);
    if (st == ST_NARROWED_PURPOSE)
        add_purpose(ix, 2, V1 & ~BIT(CONSENT_CAT_LAB_RESULTS), 0);
    add_link(ix, "L1", S, D_ALL, ID_RIGHT_EVERYTHING, 0, NOW - 1000, 0);
    add_link(ix, "L2", S, D_REC, ID_RIGHT_SEE_RECORD, 0, NOW - 1000, 0);
    add_link(ix, "L3", S, D_ALERT, ID_RIGHT_SEE_ALERTS, 0, NOW - 1000, 0);
    add_link(ix, "L4", S, D_BOOK, ID_RIGHT_BOOK_APPOINTMENTS, 0, NOW - 1000, 0);
    add_link(ix, "L5", S, D_MC, ID_RIGHT_MANAGE_CONSENTS, 0, NOW - 1000, 0);
    add_link(ix, "L6", S, D_OLD, ID_RIGHT_EVERYTHING, 0, NOW - 100000, NOW - 1);
    add_link(ix, "L7", M, G, ID_RIGHT_EVERYTHING, 1, NOW - 1000, NOW + 86400000LL);
    add_link(ix, "L8", X, G, ID_RIGHT_EVERYTHING, 1, NOW - 100000, NOW - 5000);
    if (st == ST_NONE || route == R_NONE)
        return ix;
    struct consent_index_consent c = {.id = C_ID,
                                      .subject_id = S,
                                      .purpose_code = "care",
                                      .purpose_version = 1,
                                      .cats = V1,
                                      .actions = CONSENT_READ | CONSENT_WRITE,
                                      .valid_from_ms = NOW - 1000,
                                      .valid_until_ms = 0};
    switch (route) {
    case R_ORG:
        c.recipient_kind = CONSENT_TO_ORGANISATION, c.recipient_id = CLINIC;
        break;
    case R_CLIENT:
        c.recipient_kind = CONSENT_TO_CLIENT, c.recipient_id = K;
        break;
    case R_PERSON:
        c.recipient_kind = CONSENT_TO_PERSON, c.recipient_id = P;
        break;
    default:
        c.recipient_kind = CONSENT_TO_PURPOSE;
    }
    if (st == ST_EXPIRED)
        c.valid_from_ms = NOW - 100000, c.valid_until_ms = NOW - 1;
    if (st == ST_NOT_YET)
        c.valid_from_ms = NOW + 86400000LL;
    if (st == ST_READ_ONLY)
        c.actions = CONSENT_READ;
    assert_int_equal(consent_index_put_consent(ix, &c), 0);
    if (st == ST_NARROWED_CONSENT) {
        c.cats = BIT(CONSENT_CAT_VITALS); /* the same id: replaced */
        assert_int_equal(consent_index_put_consent(ix, &c), 0);
    }
    if (st == ST_WITHDRAWN)
        assert_int_equal(consent_index_remove_consent(ix, S, C_ID), 0);
    return ix;
}

/* ---- the oracle: the rules as plain facts, written without the index ---- */

struct expect {
    int permit;
    const char *by;
};

static struct expect oracle(const struct actor *a, enum state st, enum consent_category cat,
                            unsigned action)
{
    struct expect deny = {0, "rule:default-deny"};
    if (a->kind == ID_PRINCIPAL_OPERATOR)
        return (struct expect){0, "rule:operator-no-personal-data"};
    if (strcmp(a->label, "the citizen") == 0)
        return (struct expect){1, "rule:self"};
    if (a->kind == ID_PRINCIPAL_DELEGATE) {
        const char *p = a->person;
        int ok = 0;
        if (strcmp(p, D_ALL) == 0)
            ok = 1;
        else if (strcmp(p, D_REC) == 0)
            ok = action == CONSENT_READ;
        else if (strcmp(p, D_ALERT) == 0)
            ok = action == CONSENT_READ && cat == CONSENT_CAT_ALERTS;
        else if (strcmp(p, D_BOOK) == 0)
            ok = cat == CONSENT_CAT_APPOINTMENTS;
        else if (strcmp(p, G) == 0)
            return strcmp(a->subject, M) == 0 ? (struct expect){1, "rule:guardian"} : deny;
        return ok ? (struct expect){1, "rule:delegate"} : deny;
    }
    if (strcmp(a->label, "doctor of another org") == 0 || strcmp(a->label, "another client") == 0)
        return deny;
    if (st == ST_NONE || st == ST_EXPIRED || st == ST_NOT_YET || st == ST_WITHDRAWN)
        return deny;
    if (st == ST_READ_ONLY && action == CONSENT_WRITE)
        return deny;
    int granted = cat == CONSENT_CAT_VITALS || cat == CONSENT_CAT_LAB_RESULTS ||
                  cat == CONSENT_CAT_MEDICATIONS;
    if (st == ST_NARROWED_CONSENT)
        granted = cat == CONSENT_CAT_VITALS;
    if (st == ST_NARROWED_PURPOSE && cat == CONSENT_CAT_LAB_RESULTS)
        granted = 0;
    return granted ? (struct expect){1, C_ID} : deny;
}

static struct consent_query query(const struct actor *a, enum consent_category cat, unsigned action)
{
    return (struct consent_query){.actor_kind = a->kind,
                                  .actor_id = a->person,
                                  .acting_for = a->acting_for,
                                  .org_id = a->org,
                                  .role = a->role,
                                  .client_id = a->client,
                                  .subject = a->subject,
                                  .category = cat,
                                  .action = action,
                                  .purpose = NULL,
                                  .now_ms = NOW};
}

/* consent_decide_many() must answer exactly as the single call, field by field. */
static void same_as_single_calls(const struct consent_index *ix, const struct consent_query *qs,
                                 size_t n)
{
    struct consent_decision many[64], one;
    assert_true(n <= 64);
    int rc = consent_decide_many(ix, qs, n, many), want_rc = 0;
    for (size_t i = 0; i < n; i++) {
        int r1 = consent_decide(ix, &qs[i], &one);
        if (r1 != 0)
            want_rc = r1;
        assert_int_equal(many[i].effect, one.effect);
        assert_ptr_equal(many[i].decided_by, one.decided_by);
        assert_ptr_equal(many[i].reason, one.reason);
        assert_ptr_equal(many[i].purpose, one.purpose);
        assert_int_equal(many[i].purpose_version, one.purpose_version);
    }
    assert_int_equal(rc, want_rc);
}

static void matrix(void **state)
{
    (void)state;
    size_t cases = 0, permits = 0;
    for (int st = 0; st < ST_COUNT; st++)
        for (size_t ai = 0; ai < NACTORS; ai++) {
            const struct actor *a = &actors[ai];
            struct consent_index *ix = build((enum state)st, a->route);
            struct consent_query all[2 * CONSENT_CAT_COUNT];
            size_t nall = 0;
            for (int cat = 0; cat < CONSENT_CAT_COUNT; cat++)
                for (unsigned action = CONSENT_READ; action <= CONSENT_WRITE; action++) {
                    struct consent_query q = query(a, (enum consent_category)cat, action);
                    struct consent_decision d;
                    assert_int_equal(consent_decide(ix, &q, &d), 0);
                    struct expect x = oracle(a, (enum state)st, (enum consent_category)cat, action);
                    if ((d.effect == CONSENT_PERMIT) != x.permit || strcmp(d.decided_by, x.by) != 0)
                        fail_msg("%s / %s / %s / %s: got %s by %s (%s), want %s by %s", a->label,
                                 state_names[st], consent_category_name((enum consent_category)cat),
                                 action == CONSENT_READ ? "read" : "write",
                                 d.effect ? "permit" : "deny", d.decided_by, d.reason,
                                 x.permit ? "permit" : "deny", x.by);
                    assert_non_null(d.reason);
                    all[nall++] = q;
                    cases++;
                    permits += x.permit;
                }
            same_as_single_calls(ix, all, nall);
            consent_index_free(ix);
        }
    assert_true(cases >= 200);
    print_message("decision matrix: %zu cases, %zu permits\n", cases, permits);
}

/* ---- hand-written rows ---- */

static void expect_decision(const struct consent_index *ix, const struct consent_query *q,
                            int permit, const char *by)
{
    struct consent_decision d;
    consent_decide(ix, q, &d);
    if ((d.effect == CONSENT_PERMIT) != permit || strcmp(d.decided_by, by) != 0)
        fail_msg("got %s by %s (%s), want %s by %s", d.effect ? "permit" : "deny", d.decided_by,
                 d.reason, permit ? "permit" : "deny", by);
}

static void purpose_recipients_after_widening_and_narrowing(void **state)
{
    (void)state;
    struct consent_index *ix = build(ST_ACTIVE, R_PURPOSE);
    struct consent_query q = query(&actors[3], CONSENT_CAT_VITALS, CONSENT_READ);
    expect_decision(ix, &q, 1, C_ID);
    q.purpose = "care";
    expect_decision(ix, &q, 1, C_ID);
    q.purpose = "research"; /* no such purpose: nothing */
    expect_decision(ix, &q, 0, "rule:default-deny");
    q.purpose = NULL;
    /* v2 registers another organisation and adds genome: nothing new flows on a v1 consent */
    add_purpose(ix, 2, V1 | BIT(CONSENT_CAT_GENOME), 1);
    q.org_id = OTHER;
    expect_decision(ix, &q, 0, "rule:default-deny");
    q.org_id = CLINIC;
    q.category = CONSENT_CAT_GENOME;
    expect_decision(ix, &q, 0, "rule:default-deny");
    /* the citizen accepts v2 with genome: both flow */
    struct consent_index_consent c = {.id = C_ID,
                                      .subject_id = S,
                                      .recipient_kind = CONSENT_TO_PURPOSE,
                                      .purpose_code = "care",
                                      .purpose_version = 2,
                                      .cats = V1 | BIT(CONSENT_CAT_GENOME),
                                      .actions = CONSENT_READ,
                                      .valid_from_ms = NOW - 1000};
    assert_int_equal(consent_index_put_consent(ix, &c), 0);
    expect_decision(ix, &q, 1, C_ID);
    q.org_id = OTHER;
    expect_decision(ix, &q, 1, C_ID);
    /* v3 drops the clinic as a recipient: at once */
    const char *r3[] = {K, OTHER};
    assert_int_equal(consent_index_put_purpose(ix, "care", 3, V1 | BIT(CONSENT_CAT_GENOME), r3, 2),
                     0);
    q.org_id = CLINIC;
    expect_decision(ix, &q, 0, "rule:default-deny");
    q.org_id = OTHER;
    expect_decision(ix, &q, 1, C_ID);
    consent_index_free(ix);
}

static void break_glass(void **state)
{
    (void)state;
    struct consent_index *ix = build(ST_NONE, R_NONE);
    struct consent_query q = {.actor_kind = ID_PRINCIPAL_PRACTITIONER,
                              .actor_id = DOC,
                              .org_id = HOSP,
                              .role = "doctor",
                              .client_id = K2,
                              .subject = S,
                              .category = CONSENT_CAT_MEDICATIONS,
                              .action = CONSENT_READ,
                              .now_ms = NOW};
    expect_decision(ix, &q, 0, "rule:default-deny"); /* no reason stated */
    q.break_glass = "unconscious in the emergency room, allergies unknown";
    expect_decision(ix, &q, 1, "rule:break-glass");
    for (int c = 0; c < CONSENT_CAT_COUNT; c++) {
        q.category = (enum consent_category)c;
        expect_decision(ix, &q, 1, "rule:break-glass");
    }
    q.role = "nurse";
    expect_decision(ix, &q, 1, "rule:break-glass");
    q.action = CONSENT_WRITE; /* emergency access reads */
    expect_decision(ix, &q, 0, "rule:default-deny");
    q.action = CONSENT_READ;
    q.break_glass = "   \t ";
    expect_decision(ix, &q, 0, "rule:default-deny");
    q.break_glass = "";
    expect_decision(ix, &q, 0, "rule:default-deny");
    q.break_glass = "cardiac arrest";
    q.role = "pharmacist";
    expect_decision(ix, &q, 0, "rule:default-deny");
    q.role = "doctor";
    q.org_id = CLINIC; /* not a hospital */
    expect_decision(ix, &q, 0, "rule:default-deny");
    q.org_id = HOSP;
    q.actor_kind = ID_PRINCIPAL_CLIENT; /* only practitioners */
    q.client_id = K;
    expect_decision(ix, &q, 0, "rule:default-deny");
    q.actor_kind = ID_PRINCIPAL_OPERATOR;
    expect_decision(ix, &q, 0, "rule:operator-no-personal-data");
    /* an organisation stops being a hospital */
    q.actor_kind = ID_PRINCIPAL_PRACTITIONER;
    assert_int_equal(consent_index_set_hospital(ix, HOSP, 0), 0);
    expect_decision(ix, &q, 0, "rule:default-deny");
    consent_index_free(ix);

    /* with a consent that covers it, the consent decides */
    ix = build(ST_ACTIVE, R_ORG);
    q = (struct consent_query){.actor_kind = ID_PRINCIPAL_PRACTITIONER,
                               .actor_id = DOC,
                               .org_id = CLINIC,
                               .role = "doctor",
                               .subject = S,
                               .category = CONSENT_CAT_VITALS,
                               .action = CONSENT_READ,
                               .now_ms = NOW,
                               .break_glass = "emergency"};
    expect_decision(ix, &q, 1, C_ID);
    consent_index_free(ix);
}

static void periods_are_half_open(void **state)
{
    (void)state;
    struct consent_index *ix = build(ST_NONE, R_NONE);
    struct consent_index_consent c = {.id = C_ID,
                                      .subject_id = S,
                                      .recipient_kind = CONSENT_TO_CLIENT,
                                      .recipient_id = K,
                                      .purpose_code = "care",
                                      .purpose_version = 1,
                                      .cats = V1,
                                      .actions = CONSENT_READ,
                                      .valid_from_ms = NOW,
                                      .valid_until_ms = NOW + 10};
    assert_int_equal(consent_index_put_consent(ix, &c), 0);
    struct consent_query q = query(&actors[1], CONSENT_CAT_VITALS, CONSENT_READ);
    q.now_ms = NOW - 1;
    expect_decision(ix, &q, 0, "rule:default-deny");
    q.now_ms = NOW;
    expect_decision(ix, &q, 1, C_ID);
    q.now_ms = NOW + 9;
    expect_decision(ix, &q, 1, C_ID);
    q.now_ms = NOW + 10;
    expect_decision(ix, &q, 0, "rule:default-deny");
    consent_index_free(ix);
}

static void guardianship_ends_at_eighteen(void **state)
{
    (void)state;
    struct consent_index *ix = build(ST_NONE, R_NONE);
    /* L7 ends at NOW + 1 day: the minor's 18th birthday as the link encodes it */
    struct consent_query q = query(&actors[15], CONSENT_CAT_SCHOOL_HEALTH, CONSENT_READ);
    q.now_ms = NOW + 86400000LL - 1;
    expect_decision(ix, &q, 1, "rule:guardian");
    q.now_ms = NOW + 86400000LL;
    expect_decision(ix, &q, 0, "rule:default-deny");
    /* a link that starts later is not valid yet */
    add_link(ix, "L9", S, P, ID_RIGHT_SEE_RECORD, 0, NOW + 1000, 0);
    struct consent_query d = {.actor_kind = ID_PRINCIPAL_DELEGATE,
                              .actor_id = P,
                              .acting_for = S,
                              .subject = S,
                              .category = CONSENT_CAT_VITALS,
                              .action = CONSENT_READ,
                              .now_ms = NOW};
    expect_decision(ix, &d, 0, "rule:default-deny");
    d.now_ms = NOW + 1000;
    expect_decision(ix, &d, 1, "rule:delegate");
    consent_index_free(ix);
}

static void delegates_act_only_for_their_subject(void **state)
{
    (void)state;
    struct consent_index *ix = build(ST_NONE, R_NONE);
    struct consent_query q = {.actor_kind = ID_PRINCIPAL_DELEGATE,
                              .actor_id = D_ALL,
                              .acting_for = M,
                              .subject = S,
                              .category = CONSENT_CAT_VITALS,
                              .action = CONSENT_READ,
                              .now_ms = NOW};
    expect_decision(ix, &q, 0, "rule:default-deny"); /* acting for M, asking for S */
    q.acting_for = S;
    q.subject = M; /* D_ALL has no link to M */
    q.acting_for = M;
    expect_decision(ix, &q, 0, "rule:default-deny");
    /* a person (not a delegate) asking for someone else's record without a consent */
    struct consent_query p = {.actor_kind = ID_PRINCIPAL_PERSON,
                              .actor_id = D_ALL,
                              .subject = S,
                              .category = CONSENT_CAT_VITALS,
                              .action = CONSENT_READ,
                              .now_ms = NOW};
    expect_decision(ix, &p, 0, "rule:default-deny");
    /* a practitioner reading their own record in the role gets no self rule */
    struct consent_query r = {.actor_kind = ID_PRINCIPAL_PRACTITIONER,
                              .actor_id = S,
                              .org_id = CLINIC,
                              .role = "doctor",
                              .subject = S,
                              .category = CONSENT_CAT_VITALS,
                              .action = CONSENT_READ,
                              .now_ms = NOW};
    expect_decision(ix, &r, 0, "rule:default-deny");
    /* the rights give the consent API its answer */
    assert_true(consent_index_may_manage(ix, D_MC, S, NOW));
    assert_true(consent_index_may_manage(ix, D_ALL, S, NOW));
    assert_false(consent_index_may_manage(ix, D_REC, S, NOW));
    assert_false(consent_index_may_manage(ix, D_OLD, S, NOW));
    assert_false(consent_index_may_manage(ix, D_MC, M, NOW));
    consent_index_free(ix);
}

static void malformed_questions_are_denied(void **state)
{
    (void)state;
    struct consent_index *ix = build(ST_ACTIVE, R_CLIENT);
    struct consent_query q = query(&actors[1], CONSENT_CAT_VITALS, CONSENT_READ);
    struct consent_decision d;
    q.category = CONSENT_CAT_COUNT;
    assert_int_equal(consent_decide(ix, &q, &d), ERR_INVALID);
    assert_int_equal(d.effect, CONSENT_DENY);
    q.category = CONSENT_CAT_NONE;
    assert_int_equal(consent_decide(ix, &q, &d), ERR_INVALID);
    q.category = CONSENT_CAT_VITALS;
    q.action = CONSENT_READ | CONSENT_WRITE; /* one action at a time */
    assert_int_equal(consent_decide(ix, &q, &d), ERR_INVALID);
    q.action = CONSENT_READ;
    q.subject = NULL;
    assert_int_equal(consent_decide(ix, &q, &d), ERR_INVALID);
    q.subject = "NOBODY";
    assert_int_equal(consent_decide(ix, &q, &d), 0);
    assert_int_equal(d.effect, CONSENT_DENY);
    q.subject = S;
    q.client_id = NULL;
    assert_int_equal(consent_decide(ix, &q, &d), 0);
    assert_int_equal(d.effect, CONSENT_DENY);
    consent_index_free(ix);
}

static void index_updates(void **state)
{
    (void)state;
    struct consent_index *ix = build(ST_ACTIVE, R_CLIENT);
    struct consent_index_stats st;
    consent_index_stats(ix, &st);
    assert_int_equal(st.consents, 1);
    assert_int_equal(st.links, 8);
    assert_int_equal(st.purposes, 1);
    assert_int_equal(st.subjects, 3);
    struct consent_query q = query(&actors[1], CONSENT_CAT_VITALS, CONSENT_READ);
    struct consent_decision d;
    consent_decide(ix, &q, &d);
    assert_int_equal(d.effect, CONSENT_PERMIT);
    assert_string_equal(d.purpose, "care");
    assert_int_equal(d.purpose_version, 1);
    /* many consents for many subjects: the table grows and every one stays findable */
    char sid[32], cid[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(sid, sizeof sid, "SUBJ%022d", i);
        snprintf(cid, sizeof cid, "CONS%022d", i);
        struct consent_index_consent c = {.id = cid,
                                          .subject_id = sid,
                                          .recipient_kind = CONSENT_TO_CLIENT,
                                          .recipient_id = K,
                                          .purpose_code = "care",
                                          .purpose_version = 1,
                                          .cats = V1,
                                          .actions = CONSENT_READ,
                                          .valid_from_ms = 0};
        assert_int_equal(consent_index_put_consent(ix, &c), 0);
    }
    for (int i = 0; i < 5000; i += 7) {
        snprintf(sid, sizeof sid, "SUBJ%022d", i);
        snprintf(cid, sizeof cid, "CONS%022d", i);
        q.subject = sid;
        consent_decide(ix, &q, &d);
        assert_int_equal(d.effect, CONSENT_PERMIT);
        assert_string_equal(d.decided_by, cid);
        if (i % 2 == 0) {
            assert_int_equal(consent_index_remove_consent(ix, sid, cid), 0);
            consent_decide(ix, &q, &d);
            assert_int_equal(d.effect, CONSENT_DENY);
        }
    }
    consent_index_stats(ix, &st);
    assert_int_equal(st.consents, 5001 - 358);
    /* removing what is not there is fine */
    assert_int_equal(consent_index_remove_consent(ix, "NOBODY", "NOTHING"), 0);
    /* a link replaced by id: rights narrowed */
    add_link(ix, "L2", S, D_REC, ID_RIGHT_SEE_ALERTS, 0, NOW - 1000, 0);
    struct consent_query r = query(&actors[9], CONSENT_CAT_VITALS, CONSENT_READ);
    expect_decision(ix, &r, 0, "rule:default-deny");
    r.category = CONSENT_CAT_ALERTS;
    expect_decision(ix, &r, 1, "rule:delegate");
    consent_index_free(ix);
}

/* The batch entry point over every actor at once, with malformed questions mixed in. */
static void deciding_many_at_once(void **state)
{
    (void)state;
    struct consent_index *ix = build(ST_ACTIVE, R_PURPOSE);
    struct consent_query qs[64];
    size_t n = 0;
    for (size_t ai = 0; ai < NACTORS && n < 60; ai++)
        for (unsigned action = CONSENT_READ; action <= CONSENT_WRITE; action++) {
            qs[n] = query(&actors[ai], (enum consent_category)(ai % CONSENT_CAT_COUNT), action);
            qs[n].break_glass = ai % 3 == 0 ? "cardiac arrest in the ward" : NULL;
            n++;
        }
    qs[n] = qs[0], qs[n].action = 7, n++;                   /* malformed: action */
    qs[n] = qs[1], qs[n].subject = NULL, n++;               /* malformed: no subject */
    qs[n] = qs[2], qs[n].category = CONSENT_CAT_COUNT, n++; /* malformed: category */
    same_as_single_calls(ix, qs, n);
    same_as_single_calls(ix, qs, 1);
    same_as_single_calls(ix, qs, 0);
    struct consent_decision out[2];
    assert_int_equal(consent_decide_many(NULL, qs, 2, out), ERR_INVALID);
    assert_int_equal(out[1].effect, CONSENT_DENY);
    assert_int_equal(consent_decide_many(ix, NULL, 0, NULL), 0);
    consent_index_free(ix);
}

static void rights_scope(void **state)
{
    (void)state;
    consent_cats r, w;
    consent_rights_scope(ID_RIGHT_EVERYTHING, &r, &w);
    assert_int_equal(r, CONSENT_CATS_ALL);
    assert_int_equal(w, CONSENT_CATS_ALL);
    consent_rights_scope(ID_RIGHT_SEE_RECORD | ID_RIGHT_BOOK_APPOINTMENTS, &r, &w);
    assert_int_equal(r, CONSENT_CATS_ALL);
    assert_int_equal(w, BIT(CONSENT_CAT_APPOINTMENTS));
    consent_rights_scope(ID_RIGHT_MANAGE_CONSENTS, &r, &w);
    assert_int_equal(r | w, 0);
}

/* ---- rows of issue 6: home devices (rule:device-bound) ---- */

/* A device writes, never reads, what its kind produces (vitals; medications for a pill box),
 * of exactly the citizen it is bound to; consents never apply to it (a device whose id equals a
 * person a consent names gets nothing from that consent). Every state x category x action. */
static void devices_write_only_what_their_kind_produces(void **state)
{
    (void)state;
    static const struct {
        const char *label, *id, *kind, *bound_to, *subject;
        consent_cats writes;
    } devs[] = {
        {"wrist monitor of S", "DEVICEBPWRIST000000000000A", "bp-wrist", S, S,
         BIT(CONSENT_CAT_VITALS)},
        {"upper-arm monitor of S", "DEVICEBPARM00000000000000A", "bp-upper-arm", S, S,
         BIT(CONSENT_CAT_VITALS)},
        {"scale of S", "DEVICESCALE00000000000000A", "scale", S, S, BIT(CONSENT_CAT_VITALS)},
        {"thermometer of S", "DEVICETHERMO0000000000000A", "thermometer", S, S,
         BIT(CONSENT_CAT_VITALS)},
        {"oximeter of S", "DEVICEOXI0000000000000000A", "pulse-oximeter", S, S,
         BIT(CONSENT_CAT_VITALS)},
        {"glucose meter of S", "DEVICEGLUCOSE000000000000A", "glucose-meter", S, S,
         BIT(CONSENT_CAT_VITALS)},
        {"pill box of S", "DEVICEPILLBOX000000000000A", "pillbox", S, S,
         BIT(CONSENT_CAT_MEDICATIONS)},
        {"monitor of P writing for S", "DEVICEOFP0000000000000000A", "bp-wrist", P, S, 0},
        {"unbound monitor", "DEVICEUNBOUND000000000000A", "bp-wrist", NULL, S, 0},
        {"unknown kind", "DEVICETOASTER000000000000A", "toaster", S, S, 0},
        {"no kind", "DEVICENOKIND0000000000000A", NULL, S, S, 0},
        {"device named like a consented person", P, "toaster", S, S, 0},
        {"monitor of the minor M", "DEVICEOFM0000000000000000A", "bp-wrist", M, M,
         BIT(CONSENT_CAT_VITALS)},
    };
    size_t cases = 0;
    for (int st = 0; st < ST_COUNT; st++)
        for (int route = R_NONE; route <= R_PURPOSE; route++) {
            struct consent_index *ix = build((enum state)st, (enum route)route);
            for (size_t i = 0; i < sizeof devs / sizeof devs[0]; i++)
                for (int cat = 0; cat < CONSENT_CAT_COUNT; cat++)
                    for (unsigned action = CONSENT_READ; action <= CONSENT_WRITE; action++) {
                        struct consent_query q = {.actor_kind = ID_PRINCIPAL_DEVICE,
                                                  .actor_id = devs[i].id,
                                                  .acting_for = devs[i].bound_to,
                                                  .role = devs[i].kind,
                                                  .subject = devs[i].subject,
                                                  .category = (enum consent_category)cat,
                                                  .action = action,
                                                  .now_ms = NOW};
                        int permit = action == CONSENT_WRITE && (devs[i].writes & BIT(cat));
                        struct consent_decision d;
                        assert_int_equal(consent_decide(ix, &q, &d), 0);
                        if ((d.effect == CONSENT_PERMIT) != permit ||
                            strcmp(d.decided_by,
                                   permit ? "rule:device-bound" : "rule:default-deny") != 0)
                            fail_msg("%s / %s / %s: got %s by %s (%s)", devs[i].label,
                                     consent_category_name((enum consent_category)cat),
                                     action == CONSENT_READ ? "read" : "write",
                                     d.effect ? "permit" : "deny", d.decided_by, d.reason);
                        assert_non_null(d.reason);
                        cases++;
                    }
            consent_index_free(ix);
        }
    print_message("device rows: %zu cases\n", cases);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(matrix),
        cmocka_unit_test(purpose_recipients_after_widening_and_narrowing),
        cmocka_unit_test(break_glass),
        cmocka_unit_test(periods_are_half_open),
        cmocka_unit_test(guardianship_ends_at_eighteen),
        cmocka_unit_test(delegates_act_only_for_their_subject),
        cmocka_unit_test(malformed_questions_are_denied),
        cmocka_unit_test(index_updates),
        cmocka_unit_test(deciding_many_at_once),
        cmocka_unit_test(rights_scope),
        cmocka_unit_test(devices_write_only_what_their_kind_produces),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_audit_views.c - what the views of the trail are built from: the actor fields of every
 * principal kind, the query parameters and the cursor, counts per organisation, and one entry
 * as a FHIR R4 AuditEvent against a hand-written expected resource. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "audit/actor.h"
#include "audit/view.h"
#include "base/arena.h"
#include "base/jsonx.h"
#include "identity/principal.h"
#include "support/fixture.h"

#define T0 1796083200000LL /* 2026-12-01T00:00:00Z */

/* ---- actors ---- */

static void actor_of_every_principal_kind(void **state)
{
    (void)state;
    struct err e = {0};
    struct audit_event ev = {.subject = "S", .action = "read"};
    struct id_principal p = {.kind = ID_PRINCIPAL_PERSON, .client_id = "APP", .subject_id = "P1"};
    assert_int_equal(audit_event_from_principal(&p, &ev, &e), 0);
    assert_int_equal(ev.actor_kind, AUDIT_ACTOR_PERSON);
    assert_string_equal(ev.actor_id, "P1");
    assert_string_equal(ev.client_id, "APP");
    assert_null(ev.actor_org);
    assert_null(ev.actor_role);
    assert_null(ev.on_behalf_of);
    assert_string_equal(ev.subject, "S"); /* untouched */
    assert_string_equal(ev.action, "read");

    p = (struct id_principal){.kind = ID_PRINCIPAL_DELEGATE,
                              .client_id = "APP",
                              .subject_id = "DAUGHTER",
                              .acting_for = "FATHER"};
    assert_int_equal(audit_event_from_principal(&p, &ev, &e), 0);
    assert_int_equal(ev.actor_kind, AUDIT_ACTOR_DELEGATE);
    assert_string_equal(ev.actor_id, "DAUGHTER");
    assert_string_equal(ev.on_behalf_of, "FATHER");
    assert_null(ev.actor_org);

    p = (struct id_principal){.kind = ID_PRINCIPAL_PRACTITIONER,
                              .client_id = "DESK",
                              .subject_id = "DR",
                              .org_id = "CLINIC",
                              .role = "doctor"};
    assert_int_equal(audit_event_from_principal(&p, &ev, &e), 0);
    assert_int_equal(ev.actor_kind, AUDIT_ACTOR_PRACTITIONER);
    assert_string_equal(ev.actor_id, "DR");
    assert_string_equal(ev.actor_org, "CLINIC");
    assert_string_equal(ev.actor_role, "doctor");
    assert_string_equal(ev.client_id, "DESK");
    assert_null(ev.on_behalf_of);

    p = (struct id_principal){.kind = ID_PRINCIPAL_CLIENT, .client_id = "BACKEND"};
    assert_int_equal(audit_event_from_principal(&p, &ev, &e), 0);
    assert_int_equal(ev.actor_kind, AUDIT_ACTOR_CLIENT);
    assert_string_equal(ev.actor_id, "BACKEND");
    assert_string_equal(ev.client_id, "BACKEND");
    assert_null(ev.actor_org);

    p = (struct id_principal){.kind = ID_PRINCIPAL_OPERATOR};
    assert_int_equal(audit_event_from_principal(&p, &ev, &e), 0);
    assert_int_equal(ev.actor_kind, AUDIT_ACTOR_OPERATOR);
    assert_string_equal(ev.actor_id, AUDIT_OPERATOR_ID);
    assert_null(ev.client_id); /* "" is none */

    /* every mapped event passes the recorder's check */
    ev.decision = AUDIT_PERMIT;
    assert_int_equal(audit_event_check(&ev, &e), 0);
}

static void actor_refuses_an_incomplete_principal(void **state)
{
    (void)state;
    struct err e = {0};
    struct audit_event ev = {.actor_id = "stale", .actor_org = "stale"};
    struct id_principal bad[] = {
        {.kind = ID_PRINCIPAL_PERSON, .client_id = "APP"},
        {.kind = ID_PRINCIPAL_PERSON, .client_id = "APP", .subject_id = ""},
        {.kind = ID_PRINCIPAL_DELEGATE, .client_id = "APP", .subject_id = "D"},
        {.kind = ID_PRINCIPAL_PRACTITIONER, .subject_id = "DR", .org_id = "O"},
        {.kind = ID_PRINCIPAL_PRACTITIONER, .subject_id = "DR", .role = "doctor"},
        {.kind = ID_PRINCIPAL_CLIENT},
        {.kind = (enum id_principal_kind)42, .subject_id = "X"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(audit_event_from_principal(&bad[i], &ev, &e), ERR_INVALID);
        assert_int_equal(ev.actor_kind, AUDIT_ACTOR_NONE);
        assert_null(ev.actor_id);
        assert_null(ev.actor_org);
    }
}

/* ---- query parameters and cursor ---- */

static void args_are_read_into_a_filter(void **state)
{
    (void)state;
    struct audit_filter f;
    size_t limit = 0;
    struct err e = {0};
    struct audit_view_args none = {0};
    assert_int_equal(audit_view_args_parse(&none, &f, &limit, &e), 0);
    assert_int_equal(limit, AUDIT_VIEW_LIMIT_DEFAULT);
    assert_int_equal(f.from_ms, 0);
    assert_int_equal(f.decision, AUDIT_DECISION_ANY);

    struct audit_view_args all = {"2026-12-01T09:00:00+09:00",
                                  "2026-12-02T00:00:00Z",
                                  "DR.x:1-A",
                                  "01arz3ndektsv4rrffq69g5fav",
                                  "vitals",
                                  "deny",
                                  "100",
                                  "s42"};
    assert_int_equal(audit_view_args_parse(&all, &f, &limit, &e), 0);
    assert_int_equal(f.from_ms, T0);
    assert_int_equal(f.until_ms, T0 + 86400000LL);
    assert_string_equal(f.actor_id, "DR.x:1-A");
    assert_string_equal(f.actor_org, "01arz3ndektsv4rrffq69g5fav");
    assert_string_equal(f.category, "vitals");
    assert_int_equal(f.decision, AUDIT_DENY);
    assert_int_equal(limit, 100);
    assert_int_equal(f.before_seq, 42);
}

static void bad_args_are_refused_by_name(void **state)
{
    (void)state;
    static const struct {
        struct audit_view_args a;
        const char *name;
    } bad[] = {
        {{.from = "2026-12-01"}, "from"},
        {{.from = "yesterday"}, "from"},
        {{.until = "2026-12-01T00:00:00"}, "until"},
        {{.until = "1970-01-01T00:00:00Z"}, "until"},
        {{.from = "2026-12-02T00:00:00Z", .until = "2026-12-01T00:00:00Z"}, "from"},
        {{.from = "2026-12-01T00:00:00Z", .until = "2026-12-01T00:00:00Z"}, "from"},
        {{.actor = ""}, "actor"},
        {{.actor = "a b"}, "actor"},
        {{.actor = "x'--"}, "actor"},
        {{.org = "not-an-id"}, "org"},
        {{.category = "Vitals"}, "category"},
        {{.category = ""}, "category"},
        {{.decision = "allow"}, "decision"},
        {{.decision = "PERMIT"}, "decision"},
        {{.limit = "0"}, "limit"},
        {{.limit = "101"}, "limit"},
        {{.limit = "050"}, "limit"},
        {{.limit = "-1"}, "limit"},
        {{.limit = "1e2"}, "limit"},
        {{.limit = ""}, "limit"},
        {{.limit = "99999999999999999999"}, "limit"},
        {{.cursor = "42"}, "cursor"},
        {{.cursor = "s0"}, "cursor"},
        {{.cursor = "s01"}, "cursor"},
        {{.cursor = "s1234567890123456789"}, "cursor"},
        {{.cursor = "s12x"}, "cursor"},
        {{.cursor = "s"}, "cursor"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct audit_filter f;
        size_t limit;
        struct err e = {0};
        assert_int_equal(audit_view_args_parse(&bad[i].a, &f, &limit, &e), ERR_INVALID);
        if (strncmp(e.msg, bad[i].name, strlen(bad[i].name)) != 0) {
            fprintf(stderr, "case %zu: %s\n", i, e.msg);
            fail();
        }
    }
}

static void cursor_round_trips(void **state)
{
    (void)state;
    int64_t seqs[] = {1, 9, 10, 123456, 999999999999999999LL};
    for (size_t i = 0; i < sizeof seqs / sizeof seqs[0]; i++) {
        char c[AUDIT_CURSOR_MAX];
        audit_cursor_format(seqs[i], c);
        int64_t back = 0;
        assert_int_equal(audit_cursor_parse(c, &back), 0);
        assert_int_equal(back, seqs[i]);
    }
    int64_t v;
    assert_int_equal(audit_cursor_parse(NULL, &v), ERR_INVALID);
    assert_int_equal(audit_cursor_parse("", &v), ERR_INVALID);
}

/* ---- counts ---- */

static void append(struct fx *x, const char *subject, const char *org, enum audit_decision d,
                   const char *category, int64_t t)
{
    struct audit_event ev = {.time_ms = t,
                             .actor_kind = org ? AUDIT_ACTOR_PRACTITIONER : AUDIT_ACTOR_PERSON,
                             .actor_id = org ? "DR" : subject,
                             .actor_org = org,
                             .actor_role = org ? "doctor" : NULL,
                             .subject = subject,
                             .action = "read",
                             .category = category,
                             .decision = d,
                             .decided_by = "rule:test"};
    struct err e = {0};
    assert_int_equal(store_write(x->s, audit_record_fn, &ev, &e), 0);
}

static int setup(void **state)
{
    if (sodium_init() < 0)
        return -1;
    return fx_setup_in(state, "audit-views");
}

static void counts_per_organisation(void **state)
{
    struct fx *x = *state;
    for (int i = 0; i < 5; i++)
        append(x, "TARO", "CLINIC", i == 4 ? AUDIT_DENY : AUDIT_PERMIT, "vitals", T0 + i);
    for (int i = 0; i < 3; i++)
        append(x, "TARO", "PHARMACY", AUDIT_PERMIT, "medications", T0 + 10 + i);
    append(x, "TARO", NULL, AUDIT_PERMIT, NULL, T0 + 20);
    append(x, "TARO", NULL, AUDIT_DENY, NULL, T0 + 21);
    append(x, "HANAKO", "CLINIC", AUDIT_PERMIT, "vitals", T0); /* another chain */

    struct audit_org_count *c;
    size_t n;
    int more;
    struct err e = {0};
    assert_int_equal(audit_count_by_org(x->s, "TARO", NULL, x->a, &c, &n, &more, &e), 0);
    assert_int_equal(n, 3);
    assert_false(more);
    assert_string_equal(c[0].org, "CLINIC");
    assert_int_equal(c[0].permit, 4);
    assert_int_equal(c[0].deny, 1);
    assert_string_equal(c[1].org, "PHARMACY");
    assert_int_equal(c[1].permit, 3);
    assert_int_equal(c[1].deny, 0);
    assert_null(c[2].org);
    assert_int_equal(c[2].permit, 1);
    assert_int_equal(c[2].deny, 1);

    /* the filters apply; the cursor does not */
    struct audit_filter f = {.category = "vitals", .before_seq = 2};
    assert_int_equal(audit_count_by_org(x->s, "TARO", &f, x->a, &c, &n, &more, &e), 0);
    assert_int_equal(n, 1);
    assert_int_equal(c[0].permit + c[0].deny, 5);
    f = (struct audit_filter){.from_ms = T0 + 10, .until_ms = T0 + 21, .decision = AUDIT_PERMIT};
    assert_int_equal(audit_count_by_org(x->s, "TARO", &f, x->a, &c, &n, &more, &e), 0);
    assert_int_equal(n, 2);
    assert_string_equal(c[0].org, "PHARMACY");
    assert_int_equal(c[0].permit, 3);
    assert_null(c[1].org);
    assert_int_equal(c[1].permit, 1);
    assert_int_equal(audit_count_by_org(x->s, "NOBODY", NULL, x->a, &c, &n, &more, &e), 0);
    assert_int_equal(n, 0);
    assert_int_equal(audit_count_by_org(x->s, "", NULL, x->a, &c, &n, &more, &e), ERR_INVALID);
}

static void counts_are_bounded(void **state)
{
    struct fx *x = *state;
    char org[32];
    for (int i = 0; i < AUDIT_COUNTS_MAX + 3; i++) {
        snprintf(org, sizeof org, "ORG%03d", i);
        append(x, "TARO", org, AUDIT_PERMIT, NULL, T0 + i);
    }
    struct audit_org_count *c;
    size_t n;
    int more;
    struct err e = {0};
    assert_int_equal(audit_count_by_org(x->s, "TARO", NULL, x->a, &c, &n, &more, &e), 0);
    assert_int_equal(n, AUDIT_COUNTS_MAX);
    assert_true(more);
    assert_string_equal(c[0].org, "ORG000"); /* ties by id */
}

/* ---- FHIR ---- */

static const char *names(void *ctx, enum audit_name_kind kind, const char *id)
{
    (void)ctx;
    if (kind == AUDIT_NAME_PERSON && strcmp(id, "DR") == 0)
        return "山口 健一";
    if (kind == AUDIT_NAME_PERSON && strcmp(id, "TARO") == 0)
        return "会津 太郎";
    if (kind == AUDIT_NAME_ORG && strcmp(id, "CLINIC") == 0)
        return "湊ファミリークリニック";
    return NULL;
}

static void assert_json_equals(json_t *got, const char *expected)
{
    struct err e = {0};
    json_t *want = jsonx_parse(expected, strlen(expected), &e);
    assert_non_null(want);
    if (!json_equal(got, want)) {
        char *g = jsonx_dumps(got, NULL);
        fprintf(stderr, "got:  %s\n", g);
        free(g);
        fail();
    }
    json_decref(want);
}

static const char A64[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
static const char B64[] = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

static void a_practitioner_read_as_fhir(void **state)
{
    (void)state;
    struct audit_entry x = {
        .ev = {.time_ms = T0 + 1500,
               .actor_kind = AUDIT_ACTOR_PRACTITIONER,
               .actor_id = "DR",
               .actor_org = "CLINIC",
               .actor_role = "doctor",
               .client_id = "DESK",
               .subject = "TARO",
               .action = "read",
               .resource_type = "Observation",
               .resource_id = "obs-1",
               .category = "vitals",
               .purpose = "homedoctor@3",
               .decision = AUDIT_PERMIT,
               .decided_by = "consent-42",
               .request_id = "req-7",
               .source_addr = "192.0.2.7"},
        .seq = 12,
    };
    memcpy(x.prev_hash, A64, sizeof x.prev_hash);
    memcpy(x.entry_hash, B64, sizeof x.entry_hash);
    json_t *o = audit_entry_to_fhir(&x, names, NULL);
    assert_non_null(o);
    assert_json_equals(
        o,
        "{\"resourceType\":\"AuditEvent\",\"id\":\"TARO.12\","
        "\"type\":{\"system\":\"http://terminology.hl7.org/CodeSystem/audit-event-type\","
        "\"code\":\"rest\",\"display\":\"RESTful Operation\"},"
        "\"subtype\":[{\"system\":\"http://hl7.org/fhir/restful-interaction\",\"code\":\"read\"}],"
        "\"action\":\"R\",\"recorded\":\"2026-12-01T00:00:01.500Z\",\"outcome\":\"0\","
        "\"purposeOfEvent\":[{\"coding\":[{\"system\":\"urn:cityos:purpose\","
        "\"code\":\"homedoctor@3\"}]}],"
        "\"agent\":["
        "{\"type\":{\"coding\":[{\"system\":\"urn:cityos:audit:actor-kind\","
        "\"code\":\"practitioner\"}]},"
        "\"who\":{\"reference\":\"Practitioner/DR\",\"identifier\":{\"system\":"
        "\"urn:cityos:regional-id\",\"value\":\"DR\"},\"display\":\"山口 健一\"},"
        "\"requestor\":true,\"role\":[{\"text\":\"doctor\"}],"
        "\"policy\":[\"urn:cityos:decided-by:consent-42\"],"
        "\"network\":{\"address\":\"192.0.2.7\",\"type\":\"2\"}},"
        "{\"type\":{\"coding\":[{\"system\":\"urn:cityos:audit:actor-kind\","
        "\"code\":\"organization\"}]},"
        "\"who\":{\"reference\":\"Organization/CLINIC\",\"display\":\"湊ファミリークリニック\"},"
        "\"requestor\":false},"
        "{\"type\":{\"coding\":[{\"system\":\"http://dicom.nema.org/resources/ontology/DCM\","
        "\"code\":\"110150\",\"display\":\"Application\"}]},"
        "\"who\":{\"identifier\":{\"system\":\"urn:cityos:client-id\",\"value\":\"DESK\"}},"
        "\"requestor\":false}],"
        "\"source\":{\"site\":\"cityos\",\"observer\":{\"display\":\"cityos\"},"
        "\"type\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/security-source-type\","
        "\"code\":\"4\",\"display\":\"Application Server\"}]},"
        "\"entity\":["
        "{\"what\":{\"reference\":\"Observation/obs-1\"},"
        "\"type\":{\"coding\":[{\"system\":"
        "\"http://terminology.hl7.org/CodeSystem/audit-entity-type\",\"code\":\"2\","
        "\"display\":\"System Object\"}]},"
        "\"securityLabel\":[{\"system\":\"urn:cityos:data-category\",\"code\":\"vitals\"}]},"
        "{\"what\":{\"reference\":\"Patient/TARO\",\"identifier\":{\"system\":"
        "\"urn:cityos:regional-id\",\"value\":\"TARO\"},\"display\":\"会津 太郎\"},"
        "\"type\":{\"coding\":[{\"system\":"
        "\"http://terminology.hl7.org/CodeSystem/audit-entity-type\",\"code\":\"1\","
        "\"display\":\"Person\"}]},"
        "\"role\":{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/object-role\","
        "\"code\":\"1\",\"display\":\"Patient\"}]},"
        "\"detail\":[{\"type\":\"cityos-audit-seq\",\"valueString\":\"12\"},"
        "{\"type\":\"cityos-audit-prev-hash\",\"valueString\":\"" /* A64 */
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"},"
        "{\"type\":\"cityos-audit-entry-hash\",\"valueString\":\""
        "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\"},"
        "{\"type\":\"cityos-request-id\",\"valueString\":\"req-7\"}]}]}");
    json_decref(o);
}

static void a_delegate_deny_and_other_actions_as_fhir(void **state)
{
    (void)state;
    struct audit_entry x = {
        .ev = {.time_ms = T0,
               .actor_kind = AUDIT_ACTOR_DELEGATE,
               .actor_id = "MISAKI",
               .client_id = "APP",
               .on_behalf_of = "TARO",
               .subject = "TARO",
               .action = "search",
               .resource_type = "AuditEvent",
               .decision = AUDIT_DENY,
               .decided_by = "rule:default-deny",
               .reason = "no right"},
        .seq = 3,
    };
    json_t *o = audit_entry_to_fhir(&x, NULL, NULL);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "outcome")), "4");
    assert_string_equal(json_string_value(json_object_get(o, "outcomeDesc")), "no right");
    assert_string_equal(json_string_value(json_object_get(o, "action")), "E");
    json_t *sub = json_array_get(json_object_get(o, "subtype"), 0);
    assert_string_equal(json_string_value(json_object_get(sub, "code")), "search-type");
    json_t *agents = json_object_get(o, "agent");
    assert_int_equal(json_array_size(agents), 3); /* the delegate, on behalf of, the client */
    json_t *who = json_object_get(json_array_get(agents, 0), "who");
    assert_null(json_object_get(who, "reference")); /* no FHIR resource of their own */
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(who, "identifier"), "value")), "MISAKI");
    json_t *behalf = json_object_get(json_array_get(agents, 1), "who");
    assert_string_equal(json_string_value(json_object_get(behalf, "reference")), "Patient/TARO");
    /* no purpose, no resource id: the entity names the type only */
    assert_null(json_object_get(o, "purposeOfEvent"));
    json_t *what = json_object_get(json_array_get(json_object_get(o, "entity"), 0), "what");
    assert_string_equal(json_string_value(json_object_get(what, "type")), "AuditEvent");
    json_decref(o);

    static const struct {
        const char *action, *code, *act;
    } map[] = {{"create", "create", "C"},
               {"update", "update", "U"},
               {"delete", "delete", "D"},
               {"export", NULL, "R"},
               {"break-glass", NULL, "E"}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        x.ev.action = map[i].action;
        o = audit_entry_to_fhir(&x, NULL, NULL);
        assert_string_equal(json_string_value(json_object_get(o, "action")), map[i].act);
        sub = json_array_get(json_object_get(o, "subtype"), 0);
        assert_string_equal(json_string_value(json_object_get(sub, "code")),
                            map[i].code ? map[i].code : map[i].action);
        assert_string_equal(json_string_value(json_object_get(sub, "system")),
                            map[i].code ? "http://hl7.org/fhir/restful-interaction"
                                        : "urn:cityos:audit:action");
        json_decref(o);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(actor_of_every_principal_kind),
        cmocka_unit_test(actor_refuses_an_incomplete_principal),
        cmocka_unit_test(args_are_read_into_a_filter),
        cmocka_unit_test(bad_args_are_refused_by_name),
        cmocka_unit_test(cursor_round_trips),
        cmocka_unit_test_setup_teardown(counts_per_organisation, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(counts_are_bounded, setup, fx_teardown),
        cmocka_unit_test(a_practitioner_read_as_fhir),
        cmocka_unit_test(a_delegate_deny_and_other_actions_as_fhir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

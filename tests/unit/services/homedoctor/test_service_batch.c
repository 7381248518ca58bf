/* test_service_batch.c - the home doctor's batch of writes (service_batch.c) in a real store:
 * everything queued for a batch is one store write, in the order queued (a later conditional
 * create finds an earlier one of the same batch; a Communication's about[0] names the
 * RiskAssessment written or found just before it); an evaluation's writes can be dropped; when
 * the one write fails, each event's writes go alone, the failing event FAILED, its citizen's later
 * events SKIPPED, the others written. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "audit/audit.h"
#include "base/arena.h"
#include "base/jsonx.h"
#include "fhir/resource.h"
#include "fhir/search_api.h"
#include "services/homedoctor/service_internal.h"
#include "support/fixture.h"

#define TARO "000000000000000000000000t0"
#define HANA "000000000000000000000000h0"

static int setup(void **state)
{
    return fx_setup_in(state, "hd-batch");
}

static int teardown(void **state)
{
    return fx_teardown(state);
}

static void decision(struct hd_batch *b, const char *subject)
{
    char actor[32]; /* on the stack: the batch must copy what it keeps */
    snprintf(actor, sizeof actor, "%s", "client-hd");
    struct audit_event ev;
    memset(&ev, 0, sizeof ev);
    ev.actor_kind = AUDIT_ACTOR_CLIENT;
    ev.actor_id = actor;
    ev.client_id = actor;
    ev.subject = subject;
    ev.action = "search";
    ev.resource_type = "Observation";
    ev.category = "vitals";
    ev.decision = AUDIT_PERMIT;
    ev.decided_by = "rule:test";
    ev.source_addr = "homedoctor";
    struct err e = {0};
    assert_int_equal(hd_batch_add_decision(b, &ev, &e), 0);
}

/* Queues a conditional create of rtype keyed key for subject (id: a new one); returns its op. */
static size_t finding(struct hd_batch *b, const char *rtype, const char *subject, const char *key,
                      const char *id, size_t about)
{
    char ref[64];
    snprintf(ref, sizeof ref, "Patient/%s", subject);
    json_t *res = strcmp(rtype, "RiskAssessment") == 0
                      ? json_pack("{s:s, s:s, s:{s:s}, s:[{s:s, s:s}]}", "resourceType", rtype,
                                  "status", "final", "subject", "reference", ref, "identifier",
                                  "system", HOMEDOCTOR_FINDING_SYS, "value", key)
                      : json_pack("{s:s, s:s, s:{s:s}, s:[{s:s, s:s}], s:[{s:s}]}", "resourceType",
                                  rtype, "status", "completed", "subject", "reference", ref,
                                  "identifier", "system", HOMEDOCTOR_FINDING_SYS, "value", key,
                                  "about", "reference", "RiskAssessment/not-yet-known");
    assert_non_null(res);
    char cond[160];
    snprintf(cond, sizeof cond, "identifier=%s%%7C%s", HOMEDOCTOR_FINDING_SYS, key);
    struct fhir_write w;
    memset(&w, 0, sizeof w);
    struct err e = {0};
    struct fhir_sql *q = NULL;
    assert_int_equal(fhir_search_condition_sql(rtype, cond, hd_batch_arena(b), &q, &e), 0);
    w.op = FHIR_WRITE_CREATE;
    w.rtype = rtype;
    snprintf(w.id, sizeof w.id, "%s", id);
    w.resource = res;
    w.subject = subject;
    w.category = "alerts";
    w.record_audit = 1;
    w.if_none_exist = q;
    w.now_ms = 1764000000000;
    w.ev.actor_kind = AUDIT_ACTOR_CLIENT;
    w.ev.actor_id = "client-hd";
    w.ev.action = "create";
    w.ev.decision = AUDIT_PERMIT;
    w.ev.decided_by = "rule:test";
    size_t op = SIZE_MAX;
    assert_int_equal(hd_batch_add_finding(b, &w, about, NULL, &op, &e), 0);
    json_decref(res); /* the batch keeps its own reference */
    return op;
}

/* Store transactions so far (the writer's batches, committed or rolled back). */
static int64_t commits(struct fx *f)
{
    return (int64_t)atomic_load(&store_metrics(f->s)->batch_size.count);
}

static void a_batch_is_one_write_in_the_order_queued(void **state)
{
    struct fx *f = *state;
    struct hd_batch *b = hd_batch_begin();
    assert_non_null(b);
    assert_ptr_equal(hd_batch_current(), b);
    struct event evs[2] = {{.seq = 1, .subject = TARO}, {.seq = 2, .subject = TARO}};
    struct event_result out[2];
    memset(out, 0, sizeof out);
    hd_batch_event(b, 0);
    decision(b, TARO);
    size_t ra = finding(b, "RiskAssessment", TARO, "k1", "ra-1", SIZE_MAX);
    finding(b, "Communication", TARO, "c1", "comm-1", ra);
    hd_batch_event(b, 1);
    decision(b, TARO);
    /* the same finding again (a second evaluation): found in the same write, not created */
    size_t ra2 = finding(b, "RiskAssessment", TARO, "k1", "ra-2", SIZE_MAX);
    finding(b, "Communication", TARO, "c2", "comm-2", ra2);
    /* an evaluation that failed half-way: what it queued is dropped */
    size_t mark = hd_batch_mark(b);
    finding(b, "RiskAssessment", TARO, "dropped", "ra-3", SIZE_MAX);
    hd_batch_truncate(b, mark);
    int64_t c0 = commits(f);
    struct hd_batch_written w;
    assert_int_equal(hd_batch_flush(f->s, b, evs, 2, out, &w), 0);
    assert_int_equal(commits(f) - c0, 1);
    assert_int_equal(out[0].outcome, EVENT_OUTCOME_OK);
    assert_int_equal(out[1].outcome, EVENT_OUTCOME_OK);
    assert_int_equal(w.assessments, 1);
    assert_int_equal(w.alerts, 2);
    hd_batch_end(b);
    assert_null(hd_batch_current());
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM fhir_resource WHERE rtype = "
                                 "'RiskAssessment'"),
                     1);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM fhir_resource WHERE id = 'ra-1'"), 1);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM fhir_resource WHERE id = 'ra-3'"), 0);
    /* both alerts name the one RiskAssessment, the second the one it found */
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM fhir_resource WHERE rtype = "
                                 "'Communication' AND body LIKE "
                                 "'%\"about\":[{\"reference\":\"RiskAssessment/ra-1\"}]%'"),
                     2);
    /* two trail entries of the decisions (copied: the caller's strings are gone), three of the
     * creates */
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM audit_entry WHERE subject = '" TARO
                                 "' AND action = 'search' AND actor_id = 'client-hd'"),
                     2);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM audit_entry WHERE subject = '" TARO
                                 "' AND action = 'create'"),
                     3);
}

static void a_failing_write_falls_back_to_each_event_alone(void **state)
{
    struct fx *f = *state;
    struct hd_batch *b = hd_batch_begin();
    assert_non_null(b);
    struct event evs[4] = {{.seq = 1, .subject = TARO},
                           {.seq = 2, .subject = HANA},
                           {.seq = 3, .subject = HANA},
                           {.seq = 4, .subject = TARO}};
    struct event_result out[4];
    memset(out, 0, sizeof out);
    hd_batch_event(b, 0);
    finding(b, "RiskAssessment", TARO, "t1", "ra-t1", SIZE_MAX);
    hd_batch_event(b, 1);
    decision(b, HANA);
    finding(b, "RiskAssessment", HANA, "h1", "ra-h1", SIZE_MAX);
    /* the same id as the first: this create fails (the id exists), in the batch and alone */
    finding(b, "RiskAssessment", HANA, "h-bad", "ra-t1", SIZE_MAX);
    hd_batch_event(b, 2);
    finding(b, "RiskAssessment", HANA, "h2", "ra-h2", SIZE_MAX);
    hd_batch_event(b, 3);
    decision(b, TARO);
    int64_t c0 = commits(f);
    struct hd_batch_written w;
    assert_int_equal(hd_batch_flush(f->s, b, evs, 4, out, &w), 1);
    hd_batch_end(b);
    assert_int_equal(out[0].outcome, EVENT_OUTCOME_OK);
    assert_int_equal(out[1].outcome, EVENT_OUTCOME_FAILED);
    assert_true(out[1].e.msg[0] != '\0');
    assert_int_equal(out[2].outcome, EVENT_OUTCOME_SKIPPED); /* behind HANA's failed event */
    assert_int_equal(out[3].outcome, EVENT_OUTCOME_OK);
    assert_int_equal(w.assessments, 1);
    /* four transactions: the batch's (rolled back), then events 0, 1 (rolled back) and 3 alone;
     * event 2 is not tried */
    assert_int_equal(commits(f) - c0, 4);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM fhir_resource WHERE id = 'ra-t1'"), 1);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM fhir_resource WHERE subject = '" HANA "'"),
                     0);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM audit_entry WHERE subject = '" HANA "'"), 0);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM audit_entry WHERE subject = '" TARO
                                 "' AND action = 'search'"),
                     1);
}

static void without_a_batch_nothing_is_current(void **state)
{
    (void)state;
    assert_null(hd_batch_current());
    struct hd_batch *b = hd_batch_begin();
    assert_non_null(b);
    decision(b, TARO);
    hd_batch_end(b); /* queued and never written: dropped */
    assert_null(hd_batch_current());
    hd_batch_end(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_batch_is_one_write_in_the_order_queued, setup, teardown),
        cmocka_unit_test_setup_teardown(a_failing_write_falls_back_to_each_event_alone, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(without_a_batch_nothing_is_current, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

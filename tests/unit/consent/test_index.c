/* test_index.c - the index's memory under change: a citizen's record outgrowing its block
 * (links and consents added, replaced and removed in any order), ids too long to keep inline,
 * the subjects table and the records region growing while every citizen stays findable, and
 * readers deciding while a writer moves records (run under TSan too). */
#include <pthread.h>
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
#define ORG "CLINICCCCCCCCCCCCCCCCCCCC1"
#define CLI "CLIENTKKKKKKKKKKKKKKKKKKK1"

static struct consent_index *new_index(void)
{
    struct consent_index *ix = consent_index_new();
    assert_non_null(ix);
    const char *r[] = {ORG};
    assert_int_equal(consent_index_put_purpose(ix, "care", 1, CONSENT_CATS_ALL, r, 1), 0);
    return ix;
}

/* A consent of subject to the organisation ORG (org != 0) or the client CLI, for category
 * cat only. */
static void put(struct consent_index *ix, const char *subject, const char *id, int org,
                enum consent_category cat)
{
    struct consent_index_consent c = {.id = id,
                                      .subject_id = subject,
                                      .recipient_kind =
                                          org ? CONSENT_TO_ORGANISATION : CONSENT_TO_CLIENT,
                                      .recipient_id = org ? ORG : CLI,
                                      .purpose_code = "care",
                                      .purpose_version = 1,
                                      .cats = 1u << cat,
                                      .actions = CONSENT_READ,
                                      .valid_from_ms = 0};
    assert_int_equal(consent_index_put_consent(ix, &c), 0);
}

static void add_link(struct consent_index *ix, const char *subject, const char *id,
                     const char *delegate, unsigned rights)
{
    struct consent_index_link l = {.id = id,
                                   .subject_id = subject,
                                   .delegate_id = delegate,
                                   .rights = rights,
                                   .valid_from_ms = 0};
    assert_int_equal(consent_index_put_link(ix, &l), 0);
}

static struct consent_decision ask_client(const struct consent_index *ix, const char *subject,
                                          enum consent_category cat)
{
    struct consent_query q = {.actor_kind = ID_PRINCIPAL_CLIENT,
                              .client_id = CLI,
                              .subject = subject,
                              .category = cat,
                              .action = CONSENT_READ,
                              .now_ms = NOW};
    struct consent_decision d;
    assert_int_equal(consent_decide(ix, &q, &d), 0);
    return d;
}

static int delegate_may_read(const struct consent_index *ix, const char *subject,
                             const char *delegate, enum consent_category cat)
{
    struct consent_query q = {.actor_kind = ID_PRINCIPAL_DELEGATE,
                              .actor_id = delegate,
                              .acting_for = subject,
                              .subject = subject,
                              .category = cat,
                              .action = CONSENT_READ,
                              .now_ms = NOW};
    struct consent_decision d;
    assert_int_equal(consent_decide(ix, &q, &d), 0);
    return d.effect == CONSENT_PERMIT;
}

/* One citizen gains 600 consents and 40 links, interleaved, so the record moves through every
 * size class (links in front of consents are shifted each time); every entry stays right. */
static void a_record_outgrows_its_block(void **state)
{
    (void)state;
    struct consent_index *ix = new_index();
    const char *s = "SUBJECT0000000000000000001";
    char id[40], del[40];
    for (int i = 0; i < 600; i++) {
        snprintf(id, sizeof id, "C%025d", i);
        /* consents for categories 0..14 in turn: to the client when i is even, else to the
         * organisation */
        put(ix, s, id, i % 2, (enum consent_category)(i % 15));
        if (i % 15 == 7) {
            snprintf(id, sizeof id, "L%025d", i / 15);
            snprintf(del, sizeof del, "D%025d", i / 15);
            add_link(ix, s, id, del, ID_RIGHT_SEE_ALERTS);
        }
    }
    struct consent_index_stats st;
    consent_index_stats(ix, &st);
    assert_int_equal(st.consents, 600);
    assert_int_equal(st.links, 40);
    assert_int_equal(st.subjects, 1);
    for (int d = 0; d < 40; d++) {
        snprintf(del, sizeof del, "D%025d", d);
        assert_true(delegate_may_read(ix, s, del, CONSENT_CAT_ALERTS));
        assert_false(delegate_may_read(ix, s, del, CONSENT_CAT_VITALS));
    }
    /* the first client consent for category 1 is number 16 (even, and 16 % 15 == 1) */
    struct consent_decision d = ask_client(ix, s, (enum consent_category)1);
    assert_int_equal(d.effect, CONSENT_PERMIT);
    assert_string_equal(d.decided_by, "C0000000000000000000000016");
    /* a link replaced by id keeps the consents behind it intact */
    add_link(ix, s, "L0000000000000000000000000", "D0000000000000000000000000",
             ID_RIGHT_SEE_RECORD);
    assert_true(delegate_may_read(ix, s, "D0000000000000000000000000", CONSENT_CAT_VITALS));
    d = ask_client(ix, s, (enum consent_category)1);
    assert_string_equal(d.decided_by, "C0000000000000000000000016");
    /* remove every client consent for category 1 but the last: the last decides */
    int last = -1;
    for (int i = 0; i < 600; i++)
        if (i % 2 == 0 && i % 15 == 1)
            last = i;
    for (int i = 0; i < 600; i++)
        if (i % 2 == 0 && i % 15 == 1 && i != last) {
            snprintf(id, sizeof id, "C%025d", i);
            assert_int_equal(consent_index_remove_consent(ix, s, id), 0);
        }
    d = ask_client(ix, s, (enum consent_category)1);
    assert_int_equal(d.effect, CONSENT_PERMIT);
    snprintf(id, sizeof id, "C%025d", last);
    assert_string_equal(d.decided_by, id);
    assert_int_equal(consent_index_remove_consent(ix, s, id), 0);
    assert_int_equal(ask_client(ix, s, (enum consent_category)1).effect, CONSENT_DENY);
    /* a consent replaced by id keeps its place and the count */
    consent_index_stats(ix, &st);
    size_t before = st.consents;
    put(ix, s, "C0000000000000000000000002", 0, CONSENT_CAT_GENOME);
    consent_index_stats(ix, &st);
    assert_int_equal(st.consents, before);
    assert_int_equal(ask_client(ix, s, CONSENT_CAT_GENOME).effect, CONSENT_PERMIT);
    /* a removed record's room is reused: adding to another citizen still works */
    put(ix, "SUBJECT0000000000000000002", "OTHER00000000000000000001", 0, CONSENT_CAT_VITALS);
    assert_int_equal(ask_client(ix, "SUBJECT0000000000000000002", CONSENT_CAT_VITALS).effect,
                     CONSENT_PERMIT);
    consent_index_free(ix);
}

/* 20,000 citizens, a third with ids too long for the record's inline key: the subjects table
 * rehashes and the records region grows (and moves) several times; all are found, and an id
 * that is a prefix of another is not mistaken for it. */
static void many_citizens_and_long_ids(void **state)
{
    (void)state;
    struct consent_index *ix = new_index();
    char sid[80], cid[40];
    for (int i = 0; i < 20000; i++) {
        if (i % 3 == 0)
            snprintf(sid, sizeof sid, "a-citizen-with-a-rather-long-identifier-%08d", i);
        else
            snprintf(sid, sizeof sid, "S%025d", i);
        snprintf(cid, sizeof cid, "C%025d", i);
        put(ix, sid, cid, 0, (enum consent_category)(i % CONSENT_CAT_COUNT));
        if (i % 5 == 0)
            add_link(ix, sid, cid, "DELEGATE00000000000000000", ID_RIGHT_SEE_RECORD);
    }
    struct consent_index_stats st;
    consent_index_stats(ix, &st);
    assert_int_equal(st.subjects, 20000);
    assert_int_equal(st.consents, 20000);
    assert_int_equal(st.links, 4000);
    assert_true(st.bytes > 20000u * 64);
    for (int i = 0; i < 20000; i += 3) {
        if (i % 3 == 0)
            snprintf(sid, sizeof sid, "a-citizen-with-a-rather-long-identifier-%08d", i);
        else
            snprintf(sid, sizeof sid, "S%025d", i);
        snprintf(cid, sizeof cid, "C%025d", i);
        struct consent_decision d = ask_client(ix, sid, (enum consent_category)(i % 16));
        assert_int_equal(d.effect, CONSENT_PERMIT);
        assert_string_equal(d.decided_by, cid);
        assert_int_equal(delegate_may_read(ix, sid, "DELEGATE00000000000000000", 0), i % 5 == 0);
        assert_int_equal(consent_index_may_manage(ix, "DELEGATE00000000000000000", sid, NOW), 0);
    }
    /* prefixes and unknown citizens */
    assert_int_equal(ask_client(ix, "S000000000000000000000000", 1).effect, CONSENT_DENY);
    assert_int_equal(ask_client(ix, "a-citizen-with-a-rather-long-identifier-0000000", 0).effect,
                     CONSENT_DENY);
    assert_int_equal(ask_client(ix, "", 0).effect, CONSENT_DENY);
    /* a batch across many citizens answers as single calls do (crossing lock groups) */
    struct consent_query qs[300];
    struct consent_decision many[300];
    static char ids[300][80];
    for (int i = 0; i < 300; i++) {
        int k = (i * 67) % 20000;
        if (k % 3 == 0)
            snprintf(ids[i], sizeof ids[i], "a-citizen-with-a-rather-long-identifier-%08d", k);
        else
            snprintf(ids[i], sizeof ids[i], "S%025d", k);
        qs[i] = (struct consent_query){.actor_kind =
                                           i % 2 ? ID_PRINCIPAL_CLIENT : ID_PRINCIPAL_DELEGATE,
                                       .client_id = CLI,
                                       .actor_id = "DELEGATE00000000000000000",
                                       .acting_for = ids[i],
                                       .subject = ids[i],
                                       .category = (enum consent_category)(k % 16),
                                       .action = CONSENT_READ,
                                       .now_ms = NOW};
    }
    assert_int_equal(consent_decide_many(ix, qs, 300, many), 0);
    for (int i = 0; i < 300; i++) {
        struct consent_decision one;
        consent_decide(ix, &qs[i], &one);
        assert_int_equal(many[i].effect, one.effect);
        assert_ptr_equal(many[i].decided_by, one.decided_by);
        assert_ptr_equal(many[i].reason, one.reason);
    }
    consent_index_free(ix);
}

/* Readers decide about one citizen while the writer grows that citizen's record (it moves)
 * and adds others (the table rehashes, the region moves): the reader must always see the
 * first consent, never a torn record. */
struct reader {
    struct consent_index *ix;
    _Atomic int *stop;
    long decisions, wrong;
};

static void *read_loop(void *arg)
{
    struct reader *r = arg;
    struct consent_query q = {.actor_kind = ID_PRINCIPAL_CLIENT,
                              .client_id = CLI,
                              .subject = "SUBJECT0000000000000000001",
                              .category = CONSENT_CAT_VITALS,
                              .action = CONSENT_READ,
                              .now_ms = NOW};
    struct consent_query many[8];
    for (int i = 0; i < 8; i++)
        many[i] = q;
    while (!*r->stop) {
        struct consent_decision d, dm[8];
        consent_decide(r->ix, &q, &d);
        r->wrong +=
            d.effect != CONSENT_PERMIT || strcmp(d.decided_by, "FIRST0000000000000000000001") != 0;
        consent_decide_many(r->ix, many, 8, dm);
        for (int i = 0; i < 8; i++)
            r->wrong += dm[i].effect != CONSENT_PERMIT;
        r->decisions += 9;
    }
    return NULL;
}

static void readers_while_records_move(void **state)
{
    (void)state;
    struct consent_index *ix = new_index();
    const char *s = "SUBJECT0000000000000000001";
    put(ix, s, "FIRST0000000000000000000001", 0, CONSENT_CAT_VITALS);
    _Atomic int stop = 0;
    struct reader r[2] = {{.ix = ix, .stop = &stop}, {.ix = ix, .stop = &stop}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, read_loop, &r[i]), 0);
    char id[40], other[40];
    for (int i = 0; i < 3000; i++) {
        snprintf(id, sizeof id, "C%025d", i);
        put(ix, s, id, 1, CONSENT_CAT_GENOME);
        snprintf(other, sizeof other, "O%025d", i);
        put(ix, other, id, 0, CONSENT_CAT_VITALS);
        if (i % 100 == 0) {
            snprintf(id, sizeof id, "L%025d", i);
            add_link(ix, s, id, other, ID_RIGHT_SEE_ALERTS);
        }
        if (i % 3 == 0) {
            snprintf(id, sizeof id, "C%025d", i / 3);
            assert_int_equal(consent_index_remove_consent(ix, s, id), 0);
        }
    }
    stop = 1;
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(r[0].wrong + r[1].wrong, 0);
    assert_true(r[0].decisions + r[1].decisions > 0);
    consent_index_free(ix);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_record_outgrows_its_block),
        cmocka_unit_test(many_citizens_and_long_ids),
        cmocka_unit_test(readers_while_records_move),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

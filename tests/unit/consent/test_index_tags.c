/* test_index_tags.c - the index's 4-byte tagged tables (atoms and citizens) under collisions:
 * this file builds its own copy of index.c and decide.c with a hash that keeps only 5 bits
 * (CONSENT_INDEX_TEST_HASH_MASK), so thousands of ids share a handful of home slots and tags.
 * Every citizen and every person must still be told apart exactly, through table growth,
 * rebuilds when the refs need more bits, records moving, and readers deciding meanwhile (run
 * under TSan too). White-box: it also checks the tables' invariants slot by slot. */
#define CONSENT_INDEX_TEST_HASH_MASK 0xC0000007u
#include "consent/index.c"

#include "consent/decide.c"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

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

static void subject_id(char *out, size_t size, int i)
{
    if (i % 4 == 3) /* too long for the record's inline key */
        snprintf(out, size, "a-citizen-with-a-rather-long-identifier-%08d", i);
    else
        snprintf(out, size, "S%025d", i);
}

/* Citizen i: a consent to the client (category i % 16), a consent to person P<i> (vitals), and
 * every third a family link to delegate D<i> (see_record). */
static void add_citizen(struct consent_index *ix, int i)
{
    char sid[80], cid[40], pid[40], lid[40];
    subject_id(sid, sizeof sid, i);
    snprintf(cid, sizeof cid, "C%025d", i);
    struct consent_index_consent c = {.id = cid,
                                      .subject_id = sid,
                                      .recipient_kind = CONSENT_TO_CLIENT,
                                      .recipient_id = CLI,
                                      .purpose_code = "care",
                                      .purpose_version = 1,
                                      .cats = 1u << (i % CONSENT_CAT_COUNT),
                                      .actions = CONSENT_READ,
                                      .valid_from_ms = 0};
    assert_int_equal(consent_index_put_consent(ix, &c), 0);
    snprintf(cid, sizeof cid, "Q%025d", i);
    snprintf(pid, sizeof pid, "P%025d", i);
    c.id = cid;
    c.recipient_kind = CONSENT_TO_PERSON;
    c.recipient_id = pid;
    c.cats = 1u << CONSENT_CAT_VITALS;
    assert_int_equal(consent_index_put_consent(ix, &c), 0);
    if (i % 3 == 0) {
        snprintf(lid, sizeof lid, "L%025d", i);
        snprintf(pid, sizeof pid, "D%025d", i);
        struct consent_index_link l = {.id = lid,
                                       .subject_id = sid,
                                       .delegate_id = pid,
                                       .rights = ID_RIGHT_SEE_RECORD,
                                       .valid_from_ms = 0};
        assert_int_equal(consent_index_put_link(ix, &l), 0);
    }
}

static struct consent_decision ask(const struct consent_index *ix, enum id_principal_kind kind,
                                   const char *actor, const char *subject,
                                   enum consent_category cat)
{
    struct consent_query q = {.actor_kind = kind,
                              .actor_id = kind == ID_PRINCIPAL_CLIENT ? NULL : actor,
                              .acting_for = kind == ID_PRINCIPAL_DELEGATE ? subject : NULL,
                              .client_id = kind == ID_PRINCIPAL_CLIENT ? actor : NULL,
                              .subject = subject,
                              .category = cat,
                              .action = CONSENT_READ,
                              .now_ms = NOW};
    struct consent_decision d;
    assert_int_equal(consent_decide(ix, &q, &d), 0);
    return d;
}

/* Every used slot decodes to a live entry whose hash gives its tag, and is reachable from its
 * home without crossing an empty slot; the count and the load are right. */
static void check_table(const struct consent_index *ix, const struct ix_table *t,
                        table_hash_fn hash_of, uint32_t limit)
{
    uint32_t used = 0;
    assert_true(t->cap > 0);
    for (uint32_t i = 0; i < t->cap; i++) {
        uint32_t slot = t->slots[i];
        if (slot == 0)
            continue;
        used++;
        uint32_t ref = ix_table_ref(t, slot);
        assert_true(ref != 0 && ref < limit);
        uint32_t hash = hash_of(ix, ref);
        assert_true(ix_table_tag_is(t, slot, ix_table_tag(t, hash)));
        for (uint32_t j = ix_table_home(t, hash); j != i; j = ix_table_next(t, j))
            assert_true(t->slots[j] != 0);
    }
    assert_int_equal(used, t->n);
    assert_true((uint64_t)t->n * 5 <= (uint64_t)t->cap * 4);
}

static void check_tables(const struct consent_index *ix)
{
    assert_int_equal(ix->atomtab.refbits, log2_of(ix->capatoms));
    assert_int_equal(ix->atomtab.n, ix->natoms - 1);
    check_table(ix, &ix->atomtab, atom_hash, ix->natoms);
    assert_int_equal(ix->subjects.refbits, rec_refbits(ix));
    check_table(ix, &ix->subjects, rec_hash, ix->toprecs);
}

#define CITIZENS 3000

/* The weak hash gives 32 different values: 3,000 citizens and 4,000 persons pile up on a few
 * home slots with equal tags, while both tables grow and are rebuilt with wider refs. */
static void colliding_ids_are_told_apart(void **state)
{
    (void)state;
    struct consent_index *ix = new_index();
    uint32_t refbits_seen = 0;
    for (int i = 0; i < CITIZENS; i++) {
        add_citizen(ix, i);
        if (ix->subjects.refbits != refbits_seen) {
            refbits_seen = ix->subjects.refbits;
            check_tables(ix);
        }
    }
    check_tables(ix);
    assert_true(ix->subjects.refbits > 6); /* the records region grew past its first size */
    assert_true(ix->atomtab.refbits > 10); /* and the atoms past theirs */
    assert_true(ix->subjects.cap > IX_TABLE_FIRST);
    struct consent_index_stats st;
    consent_index_stats(ix, &st);
    assert_int_equal(st.subjects, CITIZENS);
    assert_int_equal(st.consents, 2 * CITIZENS);
    assert_int_equal(st.links, CITIZENS / 3);
    char sid[80], pid[40], other[40], cid[40];
    for (int i = 0; i < CITIZENS; i += 7) {
        subject_id(sid, sizeof sid, i);
        struct consent_decision d =
            ask(ix, ID_PRINCIPAL_CLIENT, CLI, sid, (enum consent_category)(i % 16));
        snprintf(cid, sizeof cid, "C%025d", i);
        assert_int_equal(d.effect, CONSENT_PERMIT);
        assert_string_equal(d.decided_by, cid);
        /* the person named, and not another person with the same hash */
        snprintf(pid, sizeof pid, "P%025d", i);
        snprintf(other, sizeof other, "P%025d", (i + 32) % CITIZENS);
        d = ask(ix, ID_PRINCIPAL_PERSON, pid, sid, CONSENT_CAT_VITALS);
        snprintf(cid, sizeof cid, "Q%025d", i);
        assert_int_equal(d.effect, CONSENT_PERMIT);
        assert_string_equal(d.decided_by, cid);
        assert_int_equal(ask(ix, ID_PRINCIPAL_PERSON, other, sid, CONSENT_CAT_VITALS).effect,
                         CONSENT_DENY);
        /* the delegate, and not one of a colliding citizen */
        snprintf(pid, sizeof pid, "D%025d", i);
        snprintf(other, sizeof other, "D%025d", (i + 3) % CITIZENS);
        assert_int_equal(ask(ix, ID_PRINCIPAL_DELEGATE, pid, sid, CONSENT_CAT_GENOME).effect,
                         i % 3 == 0 ? CONSENT_PERMIT : CONSENT_DENY);
        assert_int_equal(ask(ix, ID_PRINCIPAL_DELEGATE, other, sid, CONSENT_CAT_GENOME).effect,
                         CONSENT_DENY);
        assert_int_equal(consent_index_may_manage(ix, pid, sid, NOW), 0);
    }
    /* unknown citizens and persons whose hashes are all taken */
    assert_int_equal(ask(ix, ID_PRINCIPAL_CLIENT, CLI, "S0000000000000000000000003", 3).effect,
                     CONSENT_DENY);
    assert_int_equal(ask(ix, ID_PRINCIPAL_CLIENT, CLI, "S000000000000000000000000", 0).effect,
                     CONSENT_DENY);
    subject_id(sid, sizeof sid, 0);
    assert_int_equal(
        ask(ix, ID_PRINCIPAL_PERSON, "P9999999999999999999999999", sid, CONSENT_CAT_VITALS).effect,
        CONSENT_DENY);
    /* a batch answers as single calls do */
    static struct consent_query qs[200];
    static struct consent_decision many[200];
    static char ids[200][80], actors[200][40];
    for (int i = 0; i < 200; i++) {
        int k = (i * 131) % CITIZENS;
        subject_id(ids[i], sizeof ids[i], k);
        snprintf(actors[i], sizeof actors[i], i % 3 ? "P%025d" : "D%025d", i % 2 ? k : k + 1);
        qs[i] = (struct consent_query){.actor_kind =
                                           i % 3 ? ID_PRINCIPAL_PERSON : ID_PRINCIPAL_DELEGATE,
                                       .actor_id = actors[i],
                                       .acting_for = ids[i],
                                       .subject = ids[i],
                                       .category = (enum consent_category)(k % 16),
                                       .action = CONSENT_READ,
                                       .now_ms = NOW};
    }
    assert_int_equal(consent_decide_many(ix, qs, 200, many), 0);
    for (int i = 0; i < 200; i++) {
        struct consent_decision one;
        consent_decide(ix, &qs[i], &one);
        assert_int_equal(many[i].effect, one.effect);
        assert_ptr_equal(many[i].decided_by, one.decided_by);
        assert_ptr_equal(many[i].reason, one.reason);
    }
    /* a citizen's record outgrows its block again and again among the colliding ones */
    for (int i = 0; i < 400; i++) {
        snprintf(cid, sizeof cid, "X%025d", i);
        struct consent_index_consent c = {.id = cid,
                                          .subject_id = "S0000000000000000000000000",
                                          .recipient_kind = CONSENT_TO_ORGANISATION,
                                          .recipient_id = ORG,
                                          .purpose_code = "care",
                                          .purpose_version = 1,
                                          .cats = 1u << CONSENT_CAT_CLAIMS,
                                          .actions = CONSENT_READ,
                                          .valid_from_ms = 0};
        assert_int_equal(consent_index_put_consent(ix, &c), 0);
    }
    check_tables(ix);
    assert_int_equal(
        ask(ix, ID_PRINCIPAL_CLIENT, CLI, "S0000000000000000000000000", CONSENT_CAT_VITALS).effect,
        CONSENT_PERMIT);
    consent_index_free(ix);
}

/* The tag arithmetic at its edges: refs of every width up to 32 bits, tags of none. */
static void tags_at_every_width(void **state)
{
    (void)state;
    for (uint32_t refbits = 1; refbits <= 32; refbits++) {
        struct ix_table t = {.cap = 1000, .refbits = refbits};
        uint32_t hash = 0xdeadbeefu;
        uint32_t ref = refbits == 32 ? 0xfffffffeu : (uint32_t)((1ull << refbits) - 1);
        uint32_t slot = ix_table_slot(&t, hash, ref);
        assert_true(slot != 0);
        assert_int_equal(ix_table_ref(&t, slot), ref);
        assert_true(ix_table_tag_is(&t, slot, ix_table_tag(&t, hash)));
        if (refbits < 32) /* a different tag is told apart */
            assert_false(ix_table_tag_is(&t, slot, ix_table_tag(&t, hash ^ 1u)));
        else
            assert_int_equal(ix_table_tag(&t, hash), 0);
        assert_true(ix_table_home(&t, hash) < t.cap);
        assert_int_equal(ix_table_home(&t, UINT32_MAX), t.cap - 1);
        assert_int_equal(ix_table_next(&t, t.cap - 1), 0);
    }
}

/* Readers decide about colliding citizens while the writer adds more (both tables grow and are
 * rebuilt, records move): they always see the right consent. */
struct reader {
    struct consent_index *ix;
    _Atomic int *stop;
    long decisions, wrong;
};

static void *read_loop(void *arg)
{
    struct reader *r = arg;
    char sid[80], pid[40], cid[40];
    struct consent_query q = {.actor_kind = ID_PRINCIPAL_PERSON,
                              .actor_id = pid,
                              .subject = sid,
                              .category = CONSENT_CAT_VITALS,
                              .action = CONSENT_READ,
                              .now_ms = NOW};
    for (long n = 0; !*r->stop; n++) {
        int i = (int)(n % 64);
        struct consent_decision d;
        subject_id(sid, sizeof sid, i);
        snprintf(pid, sizeof pid, "P%025d", i);
        snprintf(cid, sizeof cid, "Q%025d", i);
        r->wrong += consent_decide(r->ix, &q, &d) != 0 || d.effect != CONSENT_PERMIT ||
                    strcmp(d.decided_by, cid) != 0;
        snprintf(pid, sizeof pid, "P%025d", i + 32);
        r->wrong += consent_decide(r->ix, &q, &d) != 0 || d.effect != CONSENT_DENY;
        r->decisions += 2;
    }
    return NULL;
}

static void readers_while_tables_grow(void **state)
{
    (void)state;
    struct consent_index *ix = new_index();
    for (int i = 0; i < 64; i++)
        add_citizen(ix, i);
    _Atomic int stop = 0;
    struct reader r[2] = {{.ix = ix, .stop = &stop}, {.ix = ix, .stop = &stop}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, read_loop, &r[i]), 0);
    for (int i = 64; i < 1500; i++)
        add_citizen(ix, i);
    stop = 1;
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(r[0].wrong + r[1].wrong, 0);
    assert_true(r[0].decisions + r[1].decisions > 0);
    check_tables(ix);
    consent_index_free(ix);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(colliding_ids_are_told_apart),
        cmocka_unit_test(tags_at_every_width),
        cmocka_unit_test(readers_while_tables_grow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

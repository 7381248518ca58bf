/* test_device_cache.c - the ingest's device cache (src/ingest/device_cache.c) and what keeps it
 * exact: a device met once is served from memory, unknown devices are never cached, and a device
 * revoked after it was cached is refused by the reading's own write (nothing stored) and dropped
 * from the cache. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "consent/index.h"
#include "identity/device.h"
#include "identity/person.h"
#include "ingest/device_cache.h"
#include "ingest/dynsec.h"
#include "ingest/ingest.h"
#include "support/fixture.h"

static char taro[IDS_LEN + 1];
static time_t t0; /* set by setup: readings are dated from it, so a repeat is a duplicate */

static int insert_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    return id_device_insert_tx(tx, ctx, e);
}

struct revoke {
    const char *id, *subject;
};

static int revoke_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct revoke *r = ctx;
    return id_device_revoke_tx(tx, r->id, r->subject, clock_now_ms(), e);
}

static int setup(void **state)
{
    if (fx_setup_in(state, "device_cache") != 0)
        return -1;
    struct fx *f = *state;
    struct id_person_new in = {.family_name_kanji = "会津",
                               .given_name_kanji = "太郎",
                               .family_name_kana = "アイヅ",
                               .given_name_kana = "タロウ",
                               .birth_date = "1956-01-05",
                               .sex = ID_SEX_MALE,
                               .district = "湊町",
                               .assurance = ID_ASSURANCE_SELF};
    struct err e = {0};
    if (id_person_create(f->s, &in, taro, &e) != 0 || consent_index_open_global(f->s, &e) != 0)
        return -1;
    ingest_device_cache_clear();
    t0 = time(NULL);
    return 0;
}

static int teardown(void **state)
{
    ingest_device_cache_clear();
    consent_index_close_global();
    return fx_teardown(state);
}

static void add_device(struct fx *f, char id[IDS_LEN + 1])
{
    struct id_device_new n = {.subject_id = taro,
                              .registered_by = taro,
                              .kind = "bp-wrist",
                              .display = "手首の血圧計",
                              .now_ms = clock_now_ms()};
    struct err e = {0};
    assert_int_equal(id_device_check(&n, &e), 0);
    assert_int_equal(store_write(f->s, insert_fn, &n, &e), 0);
    memcpy(id, n.id, IDS_LEN + 1);
}

/* One blood-pressure reading of device id, ago_s seconds before t0. */
static enum ingest_result publish(struct fx *f, const char *id, int ago_s, struct err *e)
{
    time_t t = t0 - ago_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    char ts[40], msg[128], topic[96];
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    int len = snprintf(msg, sizeof msg, "{\"t\":\"%s\",\"sys\":128,\"dia\":82}", ts);
    snprintf(topic, sizeof topic, INGEST_TOPIC_PREFIX "%s" INGEST_TOPIC_SUFFIX, id);
    return ingest_handle(f->s, topic, msg, (size_t)len, e);
}

static void a_device_met_once_is_served_from_memory(void **state)
{
    struct fx *f = *state;
    char id[IDS_LEN + 1];
    add_device(f, id);
    struct ingest_device_cache_stats st;
    struct id_device d;
    struct err e = {0};
    assert_int_equal(ingest_device_get(f->s, id, &d, f->a, &e), 0);
    ingest_device_cache_stats(&st);
    assert_int_equal(st.misses, 1);
    assert_int_equal(st.hits, 0);
    assert_int_equal(st.entries, 1);
    struct id_device c;
    assert_int_equal(ingest_device_get(f->s, id, &c, f->a, &e), 0);
    ingest_device_cache_stats(&st);
    assert_int_equal(st.hits, 1);
    assert_string_equal(c.id, d.id);
    assert_string_equal(c.subject_id, taro);
    assert_string_equal(c.kind, "bp-wrist");
    assert_string_equal(c.fhir_device_id, d.fhir_device_id);
    assert_int_equal(c.bound_ms, d.bound_ms);
    assert_true(id_device_active(&c));
    /* readings through ingest_handle use it too, and are stored */
    assert_int_equal(publish(f, id, 120, &e), INGEST_STORED);
    assert_int_equal(publish(f, id, 60, &e), INGEST_STORED);
    assert_int_equal(publish(f, id, 60, &e), INGEST_DUPLICATE);
    ingest_device_cache_stats(&st);
    assert_int_equal(st.misses, 1);
    assert_int_equal(st.hits, 4);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM ingest_reading"), 2);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM event_outbox"), 2);
}

static void unknown_devices_are_never_cached(void **state)
{
    struct fx *f = *state;
    struct ingest_device_cache_stats st;
    struct id_device d;
    struct err e = {0};
    const char *nobody = "01arz3ndektsv4rrffq69g5fav";
    for (int i = 0; i < 2; i++)
        assert_int_equal(ingest_device_get(f->s, nobody, &d, f->a, &e), ERR_NOTFOUND);
    assert_int_equal(ingest_device_get(f->s, "bad id", &d, f->a, &e), ERR_NOTFOUND);
    assert_int_equal(publish(f, nobody, 60, &e), INGEST_REFUSED);
    ingest_device_cache_stats(&st);
    assert_int_equal(st.hits, 0);
    assert_int_equal(st.entries, 0);
}

static void a_device_revoked_after_it_was_cached_is_refused_by_the_write(void **state)
{
    struct fx *f = *state;
    char id[IDS_LEN + 1];
    add_device(f, id);
    struct err e = {0};
    assert_int_equal(publish(f, id, 120, &e), INGEST_STORED);
    /* revoked behind the cache's back (as another process would) */
    struct revoke r = {.id = id, .subject = taro};
    assert_int_equal(store_write(f->s, revoke_fn, &r, &e), 0);
    struct ingest_device_cache_stats st;
    ingest_device_cache_stats(&st);
    assert_int_equal(st.entries, 1);
    e = (struct err){0};
    assert_int_equal(publish(f, id, 60, &e), INGEST_REFUSED);
    assert_non_null(strstr(e.msg, "revoked"));
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM ingest_reading"), 1);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM event_outbox"), 1);
    ingest_device_cache_stats(&st);
    assert_int_equal(st.entries, 0);
    /* and from now on the store's answer, without a write */
    uint64_t misses = st.misses;
    assert_int_equal(publish(f, id, 30, &e), INGEST_REFUSED);
    ingest_device_cache_stats(&st);
    assert_int_equal(st.misses, misses + 1);
    assert_int_equal(st.entries, 0);
    assert_int_equal(ingest_count(INGEST_REFUSED) >= 2, 1);
}

static void forget_and_clear_drop_entries(void **state)
{
    struct fx *f = *state;
    char a[IDS_LEN + 1], b[IDS_LEN + 1];
    add_device(f, a);
    add_device(f, b);
    struct id_device d;
    struct err e = {0};
    assert_int_equal(ingest_device_get(f->s, a, &d, f->a, &e), 0);
    assert_int_equal(ingest_device_get(f->s, b, &d, f->a, &e), 0);
    struct ingest_device_cache_stats st;
    ingest_device_cache_stats(&st);
    assert_int_equal(st.entries, 2);
    ingest_device_forget(a);
    ingest_device_forget(a);
    ingest_device_forget(NULL);
    ingest_device_cache_stats(&st);
    assert_int_equal(st.entries, 1);
    ingest_device_cache_clear();
    ingest_device_cache_stats(&st);
    assert_int_equal(st.entries, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_device_met_once_is_served_from_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_devices_are_never_cached, setup, teardown),
        cmocka_unit_test_setup_teardown(
            a_device_revoked_after_it_was_cached_is_refused_by_the_write, setup, teardown),
        cmocka_unit_test_setup_teardown(forget_and_clear_drop_entries, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

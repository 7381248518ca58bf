/* test_ingest_crash.c - the ingest guarantee (docs/internals/ingest.md, "What holds when cityos
 * is killed"): a wrist monitor publishes N readings at QoS 1 (mosquitto_pub -l, one reading per
 * line, distinct measurement times) while the test kills cityos with SIGKILL twice in the middle
 * of the stream and starts it again on the same data folder. When the stream has ended and the
 * broker has delivered what it kept, exactly N Observations of that device are in the record:
 * none lost (a reading is acknowledged to the broker only once it is durable) and none twice (a
 * redelivered reading is a duplicate by device and time). Each reading also has exactly one
 * outbox event. N: INGEST_CRASH_N (default 3000; 600 with CITYOS_SKIP_SLOW_TESTS). */
#include "broker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ingest_support.h"

static long readings(void)
{
    const char *n = getenv("INGEST_CRASH_N");
    /* the ThreadSanitizer run (scripts/test.sh) is several times slower: fewer readings */
    long v = n != NULL ? atol(n) : getenv("CITYOS_SKIP_SLOW_TESTS") != NULL ? 600 : 3000;
    return v >= 100 ? v : 100;
}

/* One reading per line, one second apart, ending a minute ago. */
static char *write_stream(const char *dir, long n)
{
    char *path = str_printf("%s/stream.txt", dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    for (long i = 0; i < n; i++) {
        char t[40];
        ingest_time(t, sizeof t, 60 + (n - i));
        fprintf(fp, "{\"t\":\"%s\",\"sys\":%ld,\"dia\":%ld,\"pulse\":%ld}\n", t, 110 + i % 60,
                70 + i % 20, 60 + i % 30);
    }
    fclose(fp);
    return path;
}

static int publisher_done(const char *done)
{
    FILE *fp = fopen(done, "r");
    if (fp == NULL)
        return 0;
    fclose(fp);
    return 1;
}

static void kill_and_restart(struct ingest_fixture *f)
{
    assert_int_equal(server_kill9(f->s), 128 + 9);
    sleep_ms(300);
    if (server_launch(f->s) != 0) {
        server_dump_log(f->s);
        fail_msg("cityos did not come back after kill -9");
    }
    ingest_wait_subscribed(f);
}

static void no_acknowledged_reading_is_lost_or_stored_twice(void **state)
{
    (void)state;
    long n = readings();
    struct ingest_fixture *f = ingest_fixture_start(4);
    struct ingest_device d = ingest_device_register(f, "bp-wrist", "手首の血圧計");
    char *stream = write_stream(f->dir, n);
    char *done = str_printf("%s/publisher.done", f->dir);
    char *cmd =
        str_printf("( /usr/bin/mosquitto_pub -h 127.0.0.1 -p %d -V mqttv5 -u '%s' -P '%s' "
                   "-i '%s' -t '%s' -q 1 -l < '%s' > '%s.out' 2>&1; echo \"exit=$?\" >> "
                   "'%s.out'; touch '%s' ) > /dev/null 2>&1 &",
                   broker_port(f->b), d.id, d.password, d.id, d.topic, stream, done, done, done);
    free(run_command(cmd));
    free(cmd);

    /* two kills, each while readings are still arriving */
    double marks[] = {0.2, 0.55};
    int kills = 0;
    for (size_t k = 0; k < sizeof marks / sizeof marks[0]; k++) {
        double want = (double)n * marks[k];
        for (int i = 0; i < 1200 && !publisher_done(done); i++) {
            long have = ingest_db_count(
                f, "SELECT COUNT(*) FROM ingest_reading WHERE device_id = '%s'", d.id);
            if ((double)have >= want)
                break;
            sleep_ms(50);
        }
        long before =
            ingest_db_count(f, "SELECT COUNT(*) FROM ingest_reading WHERE device_id = '%s'", d.id);
        if (before >= n)
            break; /* too late: the stream has ended */
        fprintf(stderr, "kill -9 with %ld of %ld readings stored\n", before, n);
        kill_and_restart(f);
        kills++;
    }
    assert_true(kills >= 1); /* otherwise the test proved nothing: raise INGEST_CRASH_N */

    /* the stream ends; the broker hands over what it kept */
    for (int i = 0; i < 2400 && !publisher_done(done); i++)
        sleep_ms(50);
    assert_true(publisher_done(done));
    char *cat = str_printf("cat '%s.out'", done);
    char *pubout = run_command(cat);
    free(cat);
    if (strstr(pubout, "exit=0") == NULL)
        fail_msg("mosquitto_pub: %s", pubout);
    free(pubout);
    long have = 0, last = -1;
    for (int i = 0; i < 600; i++) {
        have =
            ingest_db_count(f, "SELECT COUNT(*) FROM ingest_reading WHERE device_id = '%s'", d.id);
        if (have >= n && have == last)
            break;
        last = have;
        sleep_ms(100);
    }
    sleep_ms(1000); /* anything still arriving would be a duplicate or a bug */
    fprintf(stderr, "after %d kills: %ld of %ld readings stored\n", kills, have, n);

    /* exactly N, seen the way the citizen sees them, and in the store */
    assert_int_equal(ingest_count(f, &d), n);
    assert_int_equal(
        ingest_db_count(f, "SELECT COUNT(*) FROM ingest_reading WHERE device_id = '%s'", d.id), n);
    assert_int_equal(ingest_db_count(f,
                                     "SELECT COUNT(DISTINCT r.resource_id) FROM ingest_reading r "
                                     "JOIN fhir_resource f ON f.rtype = 'Observation' AND "
                                     "f.id = r.resource_id WHERE r.device_id = '%s'",
                                     d.id),
                     n);
    assert_int_equal(ingest_db_count(f,
                                     "SELECT COUNT(*) FROM event_outbox e JOIN ingest_reading r "
                                     "ON e.ref = 'Observation/' || r.resource_id WHERE "
                                     "r.device_id = '%s'",
                                     d.id),
                     n);
    /* each reading's time once: the distinct measurement times are all there */
    assert_int_equal(ingest_db_count(f,
                                     "SELECT COUNT(DISTINCT time_ms) FROM ingest_reading WHERE "
                                     "device_id = '%s'",
                                     d.id),
                     n);
    free(stream);
    free(done);
    ingest_fixture_stop(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(no_acknowledged_reading_is_lost_or_stored_twice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

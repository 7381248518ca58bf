/* ingest_support.h - what the ingest's API tests share (test_ingest.c, test_ingest_crash.c): a
 * broker, a demo town and cityos serving with MQTT ingest; 会津 太郎's token; registering and
 * revoking his devices; publishing as a device (mosquitto_pub); reading the results through
 * /fhir and /metrics. */
#ifndef CITYOS_API_INGEST_SUPPORT_H
#define CITYOS_API_INGEST_SUPPORT_H

#include "broker.h"
#include "harness.h"

struct ingest_fixture {
    char *dir;
    struct broker *b;
    struct server *s;
    char app[64];
    char *t_taro;
    char taro_id[64];
    int connections;
    int injector; /* the test client that publishes anywhere exists */
};

struct ingest_device {
    char id[32], password[64], topic[96], fhir_id[32];
};

/* Broker, demo town (10 people, seed 1), cityos with --mqtt-port and --ingest-connections, and
 * waits until every ingest connection is subscribed. Never NULL. */
struct ingest_fixture *ingest_fixture_start(int connections);
void ingest_fixture_stop(struct ingest_fixture *f);

/* Waits (up to 120 s) until every ingest connection of a (re)started server is subscribed. */
void ingest_wait_subscribed(struct ingest_fixture *f);

/* POST /api/v1/me/devices as 太郎: the device and its credentials. */
struct ingest_device ingest_device_register(struct ingest_fixture *f, const char *kind,
                                            const char *display);
void ingest_device_revoke(struct ingest_fixture *f, const struct ingest_device *d);

/* mosquitto_pub as the device, QoS 1, one message; fails the test when it is not accepted. */
void ingest_publish(struct ingest_fixture *f, const struct ingest_device *d, const char *payload);
/* The same as a test client allowed to publish on every device topic (made on first use). */
void ingest_publish_as_admin(struct ingest_fixture *f, const char *topic, const char *payload);

/* An RFC 3339 time with +09:00, ago_s seconds before now (whole seconds). */
void ingest_time(char *out, size_t cap, long ago_s);

/* cityos_ingest_messages_total{result="<result>"} now; waits (up to 20 s) for at least want. */
double ingest_metric(struct ingest_fixture *f, const char *result);
void ingest_wait_metric(struct ingest_fixture *f, const char *result, double want);

/* The device's resource measured at time (as 太郎 reads it through /fhir), or NULL. Caller
 * decrefs. */
json_t *ingest_find(struct ingest_fixture *f, const struct ingest_device *d, const char *time);
/* How many Observations of this device 太郎 reads through /fhir (_summary=count). */
long ingest_count(struct ingest_fixture *f, const struct ingest_device *d);

/* GET path as 太郎. */
struct resp api_get_bearer(struct ingest_fixture *f, const char *path);

/* A COUNT(*) over the data folder's database (harness_db_int(); printf-style SQL). */
long ingest_db_count(struct ingest_fixture *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif

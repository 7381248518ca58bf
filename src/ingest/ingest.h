/* ingest.h - device readings from the MQTT broker into citizens' records (issue 6,
 * docs/internals/ingest.md): `ingest_connections` libmosquitto clients share the readings
 * subscription; each message is parsed (payload.h), its device looked up, decided on as the
 * device principal, and stored as a FHIR resource with its audit entry, its duplicate key and
 * its outbox event in one store transaction. A message is acknowledged to the broker only after
 * that transaction is durable (or the message was finally refused), so a kill -9 loses no
 * acknowledged reading, and a redelivered one is dropped as a duplicate. */
#ifndef COS_INGEST_INGEST_H
#define COS_INGEST_INGEST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/err.h"
#include "store/store.h"

struct config;

/* What became of one message (the label of cityos_ingest_messages_total). */
enum ingest_result {
    INGEST_STORED,    /* a new resource, committed */
    INGEST_DUPLICATE, /* this device's reading at this time is stored already: nothing written */
    INGEST_REJECTED,  /* malformed: bad topic, payload, or a reading the device cannot make */
    INGEST_REFUSED,   /* unknown, unbound or revoked device, or the access decision said no */
    INGEST_FAILED,    /* the store failed (transient): not acknowledged, the broker redelivers */
    INGEST_RESULT_COUNT,
};

const char *ingest_result_name(enum ingest_result r);

/* Handles one message of topic (INGEST_TOPIC_PREFIX<device id>INGEST_TOPIC_SUFFIX) on the
 * calling thread, blocking until its write is durable: the decision, the resource, its audit
 * entry (a refusal's audit entry too, for a bound device), the duplicate key and the event.
 * Counts the result. e says why for anything but STORED and DUPLICATE. */
enum ingest_result ingest_handle(struct store *s, const char *topic, const void *payload,
                                 size_t len, struct err *e);

/* Starts the subscriber connections when c->mqtt_port is set (else does nothing and returns 0):
 * signs in as the service account (ingest_dynsec_service_login), client ids
 * "<c->ingest_client_id>-<n>" (default "cityos-ingest-<n>") with persistent sessions, QoS 1 on
 * the shared subscription "$share/<c->ingest_share_group>/cityos/v1/devices/+/readings", which
 * every ingest process of the deployment shares, reconnecting by themselves. Returns 0 or an
 * ERR_* (e says why). */
int ingest_start(struct store *s, const struct config *c, struct err *e);

/* Disconnects and joins the connections; a message being stored finishes first. Safe when not
 * started. Call before store_close(). */
void ingest_stop(void);

/* The counters, and the /metrics text of them. */
uint64_t ingest_count(enum ingest_result r);
void ingest_metrics_render(FILE *out, void *ctx);

#endif

/* ingest.c - the subscriber connections (ingest.h). Each is a libmosquitto client with its own
 * network thread (mosquitto_loop_start) and a persistent session under a fixed client id.
 *
 * When is a QoS 1 message acknowledged? libmosquitto 2.0.11 (Debian 12) has no manual ack: its
 * handle__publish() queues the PUBACK before it calls on_message. In the threaded mode used here
 * a queued packet is only written by the network thread, which is the thread running
 * on_message, so the PUBACK leaves after on_message returns (measured against a real broker:
 * docs/internals/ingest.md). on_message therefore blocks until the reading's transaction is
 * durable; if it cannot be stored and cityos is stopping, the connection is cut before
 * on_message returns, so the PUBACK is never written and the broker redelivers. Nothing else
 * may write on these connections from another thread (no publish). */
#include <mosquitto.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "base/config.h"
#include "base/log.h"
#include "ingest/device_cache.h"
#include "ingest/dynsec.h"
#include "ingest/ingest.h"

#define CONNS_MAX    256
#define KEEPALIVE_S  30
#define RETRY_MIN_MS 50
#define RETRY_MAX_MS 5000

struct conn {
    struct mosquitto *m;
    int index;
    char client_id[64];
};

static struct {
    struct store *store;
    struct conn conns[CONNS_MAX];
    int n;
    _Atomic int stopping;
    char sub[160]; /* $share/<group>/cityos/v1/devices/+/readings */
} g;

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void on_connect(struct mosquitto *m, void *ud, int rc)
{
    struct conn *c = ud;
    if (rc != 0) {
        log_warn("ingest: %s: the broker refused the connection: %s", c->client_id,
                 mosquitto_connack_string(rc));
        return;
    }
    /* the session is persistent, so the subscription survives; subscribing again is harmless
     * and covers a broker that lost its database */
    int src = mosquitto_subscribe(m, NULL, g.sub, 1);
    if (src != MOSQ_ERR_SUCCESS)
        log_warn("ingest: %s: subscribe: %s", c->client_id, mosquitto_strerror(src));
}

static void on_subscribe(struct mosquitto *m, void *ud, int mid, int n, const int *granted)
{
    (void)m;
    (void)mid;
    struct conn *c = ud;
    if (n != 1 || granted[0] != 1)
        log_warn("ingest: %s: subscription not granted at QoS 1 (%d)", c->client_id,
                 n > 0 ? granted[0] : -1);
    else
        log_info("ingest: %s subscribed to %s", c->client_id, g.sub);
}

static void on_disconnect(struct mosquitto *m, void *ud, int rc)
{
    (void)m;
    struct conn *c = ud;
    if (rc != 0 && !atomic_load(&g.stopping))
        log_warn("ingest: %s: disconnected (%s); reconnecting", c->client_id,
                 mosquitto_strerror(rc));
}

/* Leaves the message unacknowledged: the PUBACK queued for it can no longer be written. */
static void drop_connection(struct mosquitto *m)
{
    int fd = mosquitto_socket(m);
    if (fd >= 0)
        shutdown(fd, SHUT_RDWR);
}

static void on_message(struct mosquitto *m, void *ud, const struct mosquitto_message *msg)
{
    struct conn *c = ud;
    long delay = RETRY_MIN_MS;
    for (;;) {
        struct err e = {0};
        enum ingest_result r = ingest_handle(g.store, msg->topic, msg->payload,
                                             msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0, &e);
        switch (r) {
        case INGEST_STORED:
        case INGEST_DUPLICATE:
            return; /* durable: the PUBACK may go */
        case INGEST_REJECTED:
        case INGEST_REFUSED:
            log_warn("ingest: message %s: %s", ingest_result_name(r), e.msg);
            return; /* acknowledged: redelivering it cannot change the answer */
        default:
            break;
        }
        if (atomic_load(&g.stopping)) {
            log_warn("ingest: %s: not stored while stopping (%s): left to the broker", c->client_id,
                     e.msg);
            drop_connection(m);
            return;
        }
        log_warn("ingest: %s: the store failed (%s): retrying in %ld ms", c->client_id, e.msg,
                 delay);
        sleep_ms(delay);
        delay = delay * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : delay * 2;
    }
}

int ingest_start(struct store *s, const struct config *cfg, struct err *e)
{
    if (cfg->mqtt_port == 0)
        return 0;
    if (g.n > 0)
        return err_set(e, ERR_INVALID, "ingest: started already");
    int rc = ingest_shared_filter(cfg->ingest_share_group, g.sub, sizeof g.sub, e);
    if (rc != 0)
        return rc;
    char user[64], pass[128];
    if ((rc = ingest_dynsec_service_login(cfg, user, pass, e)) != 0)
        return rc;
    mosquitto_lib_init();
    g.store = s;
    atomic_store(&g.stopping, 0);
    int n = (int)cfg->ingest_connections;
    if (n < 1)
        n = 1;
    if (n > CONNS_MAX)
        n = CONNS_MAX;
    for (int i = 0; i < n; i++) {
        struct conn *c = &g.conns[i];
        c->index = i;
        /* one prefix per ingest process (--ingest-client-id), stable across its restarts: the
         * broker keeps each session's share of the readings until that client id returns */
        if (snprintf(c->client_id, sizeof c->client_id, "%s-%d", cfg->ingest_client_id, i) >=
            (int)sizeof c->client_id) {
            rc = err_set(e, ERR_INVALID, "ingest: --ingest-client-id is too long");
            break;
        }
        /* clean_session false: the broker keeps the session and its queued messages */
        c->m = mosquitto_new(c->client_id, false, c);
        if (c->m == NULL) {
            rc = err_set(e, ERR_NOMEM, "ingest: mosquitto_new failed");
            break;
        }
        g.n = i + 1;
        mosquitto_int_option(c->m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
        mosquitto_username_pw_set(c->m, user, pass);
        mosquitto_connect_callback_set(c->m, on_connect);
        mosquitto_subscribe_callback_set(c->m, on_subscribe);
        mosquitto_disconnect_callback_set(c->m, on_disconnect);
        mosquitto_message_callback_set(c->m, on_message);
        mosquitto_reconnect_delay_set(c->m, 1, 30, true);
        int mrc = mosquitto_connect_async(c->m, cfg->mqtt_host, (int)cfg->mqtt_port, KEEPALIVE_S);
        if (mrc != MOSQ_ERR_SUCCESS)
            log_warn("ingest: %s: connect to %s:%lld: %s (retrying)", c->client_id, cfg->mqtt_host,
                     cfg->mqtt_port, mosquitto_strerror(mrc));
        if ((mrc = mosquitto_loop_start(c->m)) != MOSQ_ERR_SUCCESS) {
            rc = err_set(e, ERR_INTERNAL, "ingest: cannot start the network thread: %s",
                         mosquitto_strerror(mrc));
            break;
        }
    }
    memset(pass, 0, sizeof pass);
    if (rc != 0) {
        ingest_stop();
        return rc;
    }
    LOG_AT(LOGL_INFO,
           json_pack("{s:i, s:s, s:s}", "connections", n, "client_id", cfg->ingest_client_id,
                     "subscription", g.sub),
           "ingest: %d connections to %s:%lld as %s", n, cfg->mqtt_host, cfg->mqtt_port, user);
    return 0;
}

void ingest_stop(void)
{
    if (g.n == 0)
        return;
    atomic_store(&g.stopping, 1);
    for (int i = 0; i < g.n; i++)
        mosquitto_disconnect(g.conns[i].m);
    for (int i = 0; i < g.n; i++) {
        mosquitto_loop_stop(g.conns[i].m, false); /* joins after the message in progress */
        mosquitto_destroy(g.conns[i].m);
        g.conns[i].m = NULL;
    }
    g.n = 0;
    g.store = NULL;
    ingest_device_cache_clear();
}

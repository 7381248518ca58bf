/* ingest_store.c - one device message into the store (ingest.h): topic, device, payload,
 * mapping, the access decision as the device principal, and the one write that stores the
 * resource, its audit entry, its duplicate key and its outbox event together. */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/actor.h"
#include "base/arena.h"
#include "base/clock.h"
#include "base/histogram.h"
#include "base/ids.h"
#include "base/jsonx.h"
#include "base/log.h"
#include "consent/category.h"
#include "events/event.h"
#include "fhir/access.h"
#include "fhir/resource.h"
#include "fhir/validate.h"
#include "http/metrics.h"
#include "identity/device.h"
#include "identity/principal.h"
#include "identity/scope.h"
#include "ingest/device_cache.h"
#include "ingest/dynsec.h"
#include "ingest/ingest.h"
#include "ingest/payload.h"

static _Atomic uint64_t counts[INGEST_RESULT_COUNT];
static struct histogram seconds; /* time to handle one message, store commit included */
static pthread_once_t once = PTHREAD_ONCE_INIT;
/* A device has no OAuth token: its scopes are implicit, create on the type its kind makes. */
static struct id_scope_set scope_observation, scope_medication;
static int scopes_ok;

static void init_once(void)
{
    histogram_init(&seconds, histogram_latency_bounds, histogram_latency_nbounds);
    struct err e = {0};
    scopes_ok = id_scope_parse("user/Observation.c", &scope_observation, &e) == 0 &&
                id_scope_parse("user/MedicationAdministration.c", &scope_medication, &e) == 0;
}

const char *ingest_result_name(enum ingest_result r)
{
    static const char *const names[] = {"stored", "duplicate", "rejected", "refused", "failed"};
    return (int)r >= 0 && r < INGEST_RESULT_COUNT ? names[r] : "unknown";
}

uint64_t ingest_count(enum ingest_result r)
{
    return (int)r >= 0 && r < INGEST_RESULT_COUNT ? atomic_load(&counts[r]) : 0;
}

void ingest_metrics_render(FILE *out, void *ctx)
{
    (void)ctx;
    pthread_once(&once, init_once);
    fprintf(out, "# HELP cityos_ingest_messages_total Device messages from the MQTT broker, by "
                 "what became of them.\n# TYPE cityos_ingest_messages_total counter\n");
    for (int r = 0; r < INGEST_RESULT_COUNT; r++)
        fprintf(out, "cityos_ingest_messages_total{result=\"%s\"} %" PRIu64 "\n",
                ingest_result_name((enum ingest_result)r), atomic_load(&counts[r]));
    fprintf(out, "# HELP cityos_ingest_message_seconds Time to handle one device message, its "
                 "durable commit included.\n# TYPE cityos_ingest_message_seconds histogram\n");
    http_metrics_histogram(out, "cityos_ingest_message_seconds", "", &seconds);
    struct event_stats es;
    event_worker_stats(&es);
    fprintf(out,
            "# HELP cityos_events_deliveries_total Outbox events handed to consumers, by "
            "outcome.\n# TYPE cityos_events_deliveries_total counter\n"
            "cityos_events_deliveries_total{outcome=\"delivered\"} %" PRIu64 "\n"
            "cityos_events_deliveries_total{outcome=\"failed\"} %" PRIu64 "\n"
            "cityos_events_deliveries_total{outcome=\"coalesced\"} %" PRIu64 "\n"
            "# HELP cityos_events_batches_total Calls of batch consumers (each handed every due "
            "event of a pass).\n# TYPE cityos_events_batches_total counter\n"
            "cityos_events_batches_total %" PRIu64 "\n",
            es.delivered, es.failed, es.coalesced, es.batches);
}

/* "cityos/v1/devices/<id>/readings" -> id. */
static int topic_device(const char *topic, char id[IDS_LEN + 1])
{
    size_t pre = strlen(INGEST_TOPIC_PREFIX), suf = strlen(INGEST_TOPIC_SUFFIX);
    size_t n = topic != NULL ? strlen(topic) : 0;
    if (n != pre + IDS_LEN + suf || strncmp(topic, INGEST_TOPIC_PREFIX, pre) != 0 ||
        strcmp(topic + pre + IDS_LEN, INGEST_TOPIC_SUFFIX) != 0)
        return 0;
    memcpy(id, topic + pre, IDS_LEN);
    id[IDS_LEN] = '\0';
    return ids_valid(id);
}

/* The write of one reading. */
struct reading_write {
    struct fhir_write w;
    const char *device_id;
    int64_t time_ms;
    const char *event_payload;
    char ref[FHIR_TYPE_MAX + FHIR_ID_MAX + 2];
    int duplicate; /* out */
    int inactive;  /* out: the device is revoked (or gone) in the write's own transaction */
};

struct write_check {
    int64_t active, stored;
};

static int read_check(const struct store_row *row, void *ctx)
{
    struct write_check *c = ctx;
    c->active = store_row_int(row, 0);
    c->stored = store_row_int(row, 1);
    return 1;
}

/* The device may come from the cache (device_cache.h), which cannot see a revocation: whether it
 * is still active is decided here, in the transaction that would store the reading, together
 * with the duplicate key (one statement). */
static int reading_write_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct reading_write *rw = ctx;
    struct store_value key[] = {STORE_TEXT_V(rw->device_id), STORE_INT_V(rw->time_ms),
                                STORE_TEXT_V(rw->w.rtype), STORE_TEXT_V(rw->w.id),
                                STORE_INT_V(rw->w.now_ms)};
    struct store_value check[] = {STORE_TEXT_V(rw->device_id), STORE_TEXT_V(rw->w.subject),
                                  STORE_TEXT_V(rw->device_id), STORE_INT_V(rw->time_ms)};
    struct write_check c = {0};
    int rc = store_tx_query(tx,
                            "SELECT (SELECT COUNT(*) FROM device WHERE id = ? AND subject_id = ? "
                            "AND revoked_ms IS NULL), (SELECT COUNT(*) FROM ingest_reading WHERE "
                            "device_id = ? AND time_ms = ?)",
                            check, 4, read_check, &c, e);
    if (rc != 0)
        return rc;
    rw->inactive = c.active == 0;
    rw->duplicate = !rw->inactive && c.stored != 0;
    if (rw->inactive || rw->duplicate)
        return 0;
    rc = store_tx_exec(tx,
                       "INSERT INTO ingest_reading (device_id, time_ms, rtype, resource_id, "
                       "stored_ms) VALUES (?, ?, ?, ?, ?)",
                       key, 5, e);
    if (rc < 0)
        return rc;
    if ((rc = fhir_resource_write_fn(tx, &rw->w, e)) != 0)
        return rc;
    return event_append(tx, EVENT_READING_STORED, rw->w.subject, rw->ref, rw->event_payload,
                        rw->w.now_ms, NULL, e);
}

/* ---- the group write: every reading waiting for the writer goes into one store write ----
 *
 * A connection's thread queues its reading and waits. The first reading queued when no group
 * is waiting in the store's queue queues a group write (store_write_async); when the writer
 * runs it, it takes every reading queued by then and writes them one after the other in the
 * group's one savepoint, so N readings cost one savepoint instead of N (SQLite copies each
 * page a savepoint touches into its statement journal: ~70 pages per reading). Readings
 * arriving meanwhile queue the next group. If one reading's write fails, the group is rolled
 * back and each of its readings is written again alone (store_write), so one bad reading
 * cannot fail the others; a failure of the batch itself (commit, disk) fails them all. Each
 * connection still returns from on_message only once its own reading is durable. */

#define RETRY_ALONE 1 /* a waiting status: the group was rolled back for another reading */

struct waiting {
    struct reading_write *rw;
    struct waiting *next;
    pthread_cond_t cv;
    int finished;
    int status;
    struct err err;
};

struct group {
    struct waiting *items; /* taken from the queue by group_fn */
    int ran;
    int item_failed;
};

static struct {
    pthread_mutex_t mu;
    struct waiting *head, *tail;
    struct group *open; /* queued in the store, its readings not yet taken */
    struct store *store;
} gq = {.mu = PTHREAD_MUTEX_INITIALIZER};

static size_t take_queue(struct waiting **out)
{
    size_t n = 0;
    *out = gq.head;
    for (struct waiting *w = gq.head; w != NULL; w = w->next)
        n++;
    gq.head = gq.tail = NULL;
    return n;
}

/* Under gq.mu: finishes every item of list with status (and e for a failure). */
static void finish_all(struct waiting *list, int status, const struct err *e)
{
    while (list != NULL) {
        struct waiting *w = list;
        list = w->next;
        w->status = status;
        if (status < 0 && e != NULL)
            w->err = *e;
        w->finished = 1;
        pthread_cond_signal(&w->cv);
    }
}

static int reading_write_fn(struct store_tx *tx, void *ctx, struct err *e);

static int group_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct group *g = ctx;
    pthread_mutex_lock(&gq.mu);
    take_queue(&g->items);
    if (gq.open == g)
        gq.open = NULL;
    g->ran = 1;
    pthread_mutex_unlock(&gq.mu);
    for (struct waiting *w = g->items; w != NULL; w = w->next) {
        int rc = reading_write_fn(tx, w->rw, e);
        if (rc != 0) {
            g->item_failed = 1;
            return rc;
        }
    }
    return 0;
}

static void group_done(int status, const struct err *e, void *ctx)
{
    struct group *g = ctx;
    pthread_mutex_lock(&gq.mu);
    if (!g->ran) { /* failed before it ran: its readings are still queued */
        if (gq.open == g)
            gq.open = NULL;
        take_queue(&g->items);
    }
    if (status != 0 && g->item_failed)
        finish_all(g->items, RETRY_ALONE, NULL);
    else
        finish_all(g->items, status, e);
    pthread_mutex_unlock(&gq.mu);
    free(g);
}

/* Writes rw in the next group write and waits until it is durable. Returns as store_write. */
static int write_grouped(struct store *s, struct reading_write *rw, struct err *e)
{
    struct group *g = calloc(1, sizeof *g);
    if (g == NULL)
        return store_write(s, reading_write_fn, rw, e);
    struct waiting w = {.rw = rw};
    pthread_cond_init(&w.cv, NULL);
    int queue_group = 0, alone = 0;
    pthread_mutex_lock(&gq.mu);
    if (gq.head != NULL && gq.store != s) {
        alone = 1; /* another store's readings are waiting (tests): no mixing */
    } else {
        gq.store = s;
        if (gq.tail != NULL)
            gq.tail->next = &w;
        else
            gq.head = &w;
        gq.tail = &w;
        if (gq.open == NULL) {
            gq.open = g;
            queue_group = 1;
        }
    }
    pthread_mutex_unlock(&gq.mu);
    if (!queue_group)
        free(g);
    if (alone) {
        pthread_cond_destroy(&w.cv);
        return store_write(s, reading_write_fn, rw, e);
    }
    if (queue_group) {
        struct err qe = {0};
        int rc = store_write_async(s, group_fn, g, group_done, g);
        if (rc != 0) { /* never runs: fail what it would have taken */
            err_set(&qe, rc, "the store refused the write (%s)", err_name(rc));
            pthread_mutex_lock(&gq.mu);
            if (gq.open == g)
                gq.open = NULL;
            struct waiting *list;
            take_queue(&list);
            finish_all(list, rc, &qe);
            pthread_mutex_unlock(&gq.mu);
            free(g);
        }
    }
    pthread_mutex_lock(&gq.mu);
    while (!w.finished)
        pthread_cond_wait(&w.cv, &gq.mu);
    pthread_mutex_unlock(&gq.mu);
    pthread_cond_destroy(&w.cv);
    if (w.status == RETRY_ALONE) {
        rw->duplicate = rw->inactive = 0;
        return store_write(s, reading_write_fn, rw, e);
    }
    if (w.status != 0 && e != NULL)
        *e = w.err;
    return w.status;
}

static enum ingest_result done(enum ingest_result r, uint64_t t0)
{
    atomic_fetch_add(&counts[r], 1);
    histogram_observe(&seconds, (double)(clock_mono_ns() - t0) / 1e9);
    return r;
}

/* Records a refusal of a bound device on its citizen's trail. */
static void record_refusal(struct store *s, const struct id_principal *p,
                           const struct fhir_target *t, const struct fhir_verdict *v)
{
    struct audit_event ev;
    struct err e = {0};
    memset(&ev, 0, sizeof ev);
    if (audit_event_from_principal(p, &ev, &e) != 0)
        return;
    ev.subject = t->subject;
    ev.action = "create";
    ev.resource_type = t->rtype;
    ev.category = t->category;
    ev.decision = AUDIT_DENY;
    ev.decided_by = v->decided_by;
    ev.reason = v->reason;
    ev.source_addr = "mqtt";
    if (store_write(s, audit_record_fn, &ev, &e) != 0)
        log_warn("ingest: cannot record a refusal on the citizen's trail: %s", e.msg);
}

static char *event_payload(const struct ingest_reading *r, const struct id_device *d,
                           const char *ref)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:s}", "device", d->id, "kind", d->kind,
                          "code", ingest_reading_code(r), "effective", r->time, "effective_ms",
                          (json_int_t)r->time_ms, "resource", ref);
    char *text = o != NULL ? jsonx_dumps(o, NULL) : NULL;
    json_decref(o);
    return text;
}

static enum ingest_result handle(struct store *s, const char *topic, const void *payload,
                                 size_t len, struct arena *a, uint64_t t0, struct err *e)
{
    char device_id[IDS_LEN + 1];
    if (!topic_device(topic, device_id)) {
        err_set(e, ERR_INVALID, "not a readings topic");
        return done(INGEST_REJECTED, t0);
    }
    struct id_device d;
    int rc = ingest_device_get(s, device_id, &d, a, e);
    if (rc == ERR_NOTFOUND) {
        err_set(e, ERR_NOTFOUND, "device %s: unknown", device_id);
        return done(INGEST_REFUSED, t0);
    }
    if (rc != 0)
        return done(INGEST_FAILED, t0);
    if (!id_device_active(&d)) {
        err_set(e, ERR_INVALID, "device %s: %s", device_id,
                d.revoked_ms != 0 ? "revoked" : "not bound to a citizen");
        return done(INGEST_REFUSED, t0);
    }
    struct ingest_reading r;
    struct err pe = {0};
    rc = ingest_payload_parse(payload, len, clock_now_ms(), &r, &pe);
    if (rc == ERR_NOMEM) {
        err_set(e, ERR_NOMEM, "out of memory");
        return done(INGEST_FAILED, t0);
    }
    if (rc != 0) {
        err_set(e, rc, "device %s: %s", device_id, pe.msg);
        return done(INGEST_REJECTED, t0);
    }
    enum ingest_result res = INGEST_FAILED;
    json_t *doc = NULL;
    char *evp = NULL;
    struct reading_write rw;
    memset(&rw, 0, sizeof rw);
    if (!ingest_kind_fits(d.kind, r.kind)) {
        err_set(e, ERR_INVALID, "device %s: a %s does not send %s readings", device_id, d.kind,
                ingest_kind_name(r.kind));
        res = INGEST_REJECTED;
        goto out;
    }
    struct ingest_source src = {.device_id = d.id,
                                .kind = d.kind,
                                .subject = d.subject_id,
                                .fhir_device_id = d.fhir_device_id};
    const char *rtype = NULL;
    if ((doc = ingest_map_resource(&r, &src, &rtype, &pe)) == NULL) {
        err_set(e, pe.code, "device %s: %s", device_id, pe.msg);
        res = pe.code == ERR_NOMEM ? INGEST_FAILED : INGEST_REJECTED;
        goto out;
    }
    struct fhir_issues is;
    fhir_issues_init(&is, NULL, NULL);
    (void)fhir_validate(doc, rtype, &is);
    if (is.nerrors > 0) {
        err_set(e, ERR_INVALID, "device %s: %.100s: %.100s", device_id, is.items[0].expression,
                is.items[0].diagnostics);
        res = INGEST_REJECTED;
        goto out;
    }
    /* the same decision as the FHIR API's create, as the device */
    struct id_principal p;
    id_principal_for_device(&d, &p);
    p.scope = strcmp(rtype, "Observation") == 0 ? &scope_observation : &scope_medication;
    enum consent_category cat = consent_category_of_resource(doc);
    struct fhir_target t = {.rtype = rtype,
                            .subject = d.subject_id,
                            .category =
                                cat == CONSENT_CAT_NONE ? NULL : consent_category_name(cat)};
    struct fhir_verdict v;
    if (!scopes_ok || fhir_access_decide(&p, &t, ID_PERM_C, NULL, NULL, a, &v) != 0) {
        err_set(e, ERR_NOMEM, "out of memory");
        goto out;
    }
    if (!v.permit) {
        record_refusal(s, &p, &t, &v);
        err_set(e, ERR_INVALID, "device %s: refused by %s: %s", device_id,
                v.decided_by != NULL ? v.decided_by : "?", v.reason != NULL ? v.reason : "");
        res = INGEST_REFUSED;
        goto out;
    }
    /* the write: resource + audit entry + duplicate key + event */
    struct fhir_write *w = &rw.w;
    w->op = FHIR_WRITE_CREATE;
    w->rtype = rtype;
    w->now_ms = clock_now_ms();
    ids_new_ordered(w->id, w->now_ms);
    if (json_object_set_new(doc, "id", json_string(w->id)) != 0) {
        err_set(e, ERR_NOMEM, "out of memory");
        goto out;
    }
    w->resource = doc;
    w->subject = d.subject_id;
    w->category = t.category;
    w->record_audit = 1;
    t.id = w->id;
    if (audit_event_from_principal(&p, &w->ev, e) != 0)
        goto out;
    w->ev.subject = t.subject;
    w->ev.action = "create";
    w->ev.resource_type = rtype;
    w->ev.resource_id = w->id;
    w->ev.category = t.category;
    w->ev.purpose = v.purpose;
    w->ev.decision = AUDIT_PERMIT;
    w->ev.decided_by = v.decided_by;
    w->ev.source_addr = "mqtt";
    snprintf(rw.ref, sizeof rw.ref, "%s/%s", rtype, w->id);
    rw.device_id = d.id;
    rw.time_ms = r.time_ms;
    if ((evp = event_payload(&r, &d, rw.ref)) == NULL) {
        err_set(e, ERR_NOMEM, "out of memory");
        goto out;
    }
    rw.event_payload = evp;
    if (fhir_write_prepare_create(w, a, e) != 0) {
        res = e->code == ERR_NOMEM ? INGEST_FAILED : INGEST_REJECTED;
        goto out;
    }
    rc = write_grouped(s, &rw, e);
    if (rc == 0 && rw.inactive) {
        ingest_device_forget(device_id);
        err_set(e, ERR_INVALID, "device %s: revoked", device_id);
        res = INGEST_REFUSED;
    } else if (rc == 0) {
        res = rw.duplicate ? INGEST_DUPLICATE : INGEST_STORED;
        if (!rw.duplicate)
            event_worker_notify();
    } else {
        /* a write that can never succeed is the message's fault; anything else is the store's */
        res = rc == ERR_INVALID ? INGEST_REJECTED : INGEST_FAILED;
    }
out:
    fhir_write_release(&rw.w);
    free(evp);
    json_decref(doc);
    ingest_reading_release(&r);
    return done(res, t0);
}

enum ingest_result ingest_handle(struct store *s, const char *topic, const void *payload,
                                 size_t len, struct err *e)
{
    pthread_once(&once, init_once);
    uint64_t t0 = clock_mono_ns();
    struct arena *a = arena_new(16 * 1024);
    if (a == NULL) {
        err_set(e, ERR_NOMEM, "out of memory");
        return done(INGEST_FAILED, t0);
    }
    enum ingest_result r = handle(s, topic, payload, len, a, t0, e);
    arena_free(a);
    return r;
}

/* device_api.c - the device endpoints: who acts for whom, the access decision and its audit
 * entry, strict bodies, the broker account made before anything is stored (and taken back when
 * the store refuses), and the credentials handed out once. */
#include "identity/device_api.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "audit/actor.h"
#include "audit/held.h"
#include "base/clock.h"
#include "base/jsonx.h"
#include "base/log.h"
#include "consent/category.h"
#include "consent/index.h"
#include "fhir/access.h"
#include "fhir/resource.h"
#include "http/problem.h"
#include "identity/device.h"
#include "identity/principal.h"
#include "ingest/dynsec.h"

#define ME_DEVICES     "/api/v1/me/devices"
#define PASSWORD_BYTES 32 /* 256 random bits, sent as 43 characters of URL-safe base64 */

/* ---- who acts, and the decision ---- */

struct call {
    struct device_api *api;
    struct http_request *req;
    struct id_principal who;
    const char *subject; /* whose devices */
};

/* The principal and whose devices: a person their own, a delegate those of whom they act
 * for. Returns 1 (go on), 0 (answer set) or -1. */
static int begin(struct http_request *req, struct device_api *api, struct call *c)
{
    c->api = api;
    c->req = req;
    int ok = id_principal_require(req, api->store, &c->who);
    if (ok <= 0)
        return ok;
    static const char *const none[] = {NULL};
    if (!http_query_only_or_problem(req, none))
        return 0;
    if (c->who.kind == ID_PRINCIPAL_PERSON)
        c->subject = c->who.subject_id;
    else if (c->who.kind == ID_PRINCIPAL_DELEGATE)
        c->subject = c->who.acting_for;
    if (c->subject == NULL) {
        http_problem(req, "forbidden", "only citizens and their family members manage devices");
        return 0;
    }
    return 1;
}

/* The consent decision on the citizen's device data (category lifelog, as FHIR Device is) and
 * its audit event for resource Device/<id> (id NULL: the list). Returns 1 (permitted: *ev set),
 * 0 (refused: the deny is being recorded and 403 follows; or 503 set) or -1. */
static int decide(struct call *c, unsigned action, const char *audit_action, const char *id,
                  struct audit_event *ev)
{
    struct http_request *req = c->req;
    const struct consent_index *ix = consent_index_global();
    if (ix == NULL) {
        http_problem(req, "unavailable", "the consent index is not loaded");
        return 0;
    }
    struct consent_query q = {0};
    consent_query_from_principal(&q, &c->who);
    q.subject = c->subject;
    q.category = CONSENT_CAT_LIFELOG;
    q.action = action;
    q.now_ms = clock_now_ms();
    struct consent_decision d;
    if (consent_decide(ix, &q, &d) != 0) {
        http_problem(req, "unavailable", "the access decision failed");
        return 0;
    }
    struct fhir_target t = {.rtype = "Device",
                            .id = id,
                            .subject = c->subject,
                            .category = consent_category_name(CONSENT_CAT_LIFELOG)};
    struct fhir_verdict v = {
        .permit = d.effect == CONSENT_PERMIT, .decided_by = d.decided_by, .reason = d.reason};
    if (fhir_access_event(req, &c->who, &t, audit_action, &v, ev) != 0)
        return -1;
    if (v.permit)
        return 1;
    struct audit_held *h = arena_zalloc(req->arena, sizeof *h);
    if (h == NULL)
        return -1;
    h->deny = c->who.kind == ID_PRINCIPAL_DELEGATE
                  ? "the family link does not give the right to manage this person's devices"
                  : "not allowed";
    h->what = "a refused device request";
    audit_answer_when_recorded(req, c->api->store, ev, h);
    return 0;
}

/* ---- JSON of a device ---- */

static json_t *time_or_null(int64_t ms)
{
    char buf[40];
    return ms > 0 ? json_string(clock_format_ms(ms, buf, sizeof buf)) : json_null();
}

static json_t *text_or_null(const char *s)
{
    return s != NULL ? json_string(s) : json_null();
}

static json_t *device_json(const struct id_device *d)
{
    char fhir[IDS_LEN + 16];
    snprintf(fhir, sizeof fhir, "Device/%.*s", IDS_LEN,
             d->fhir_device_id != NULL ? d->fhir_device_id : "");
    char topic[96];
    snprintf(topic, sizeof topic, INGEST_TOPIC_PREFIX "%.*s" INGEST_TOPIC_SUFFIX, IDS_LEN, d->id);
    return json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:s, s:s, s:o, s:o, s:s}", "id", d->id, "kind",
                     d->kind, "display", d->display, "manufacturer", text_or_null(d->manufacturer),
                     "model", text_or_null(d->model), "subject", text_or_null(d->subject_id),
                     "fhir", fhir, "status", d->revoked_ms > 0 ? "revoked" : "active",
                     "registered_at", time_or_null(d->registered_ms), "revoked_at",
                     time_or_null(d->revoked_ms), "topic", topic);
}

/* ---- register ---- */

struct reg {
    struct call c;
    struct id_device_new n;
    struct fhir_write w;
    char password[64];
    int status;
    struct err err;
};

static int register_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct reg *r = ctx;
    int rc = id_device_insert_tx(tx, &r->n, e);
    return rc != 0 ? rc : fhir_resource_write_fn(tx, &r->w, e);
}

static void written(int status, const struct err *e, void *ctx)
{
    struct reg *r = ctx;
    r->status = status;
    if (status != 0 && e != NULL)
        r->err = *e;
    http_request_resume(r->c.req);
}

static void forget_password(void *p)
{
    sodium_memzero(p, 64);
}

static int answer_registered(struct http_request *req, void *ctx)
{
    struct reg *r = ctx;
    fhir_write_release(&r->w);
    if (r->status != 0) {
        /* nothing was stored: take the broker account back so the two agree */
        struct err e = {0};
        if (ingest_dynsec_remove_device(ingest_dynsec_global(), r->n.id, &e) != 0)
            log_error("device %s: stored nothing, and its broker account could not be removed "
                      "(%s); it has no row, so its readings are refused",
                      r->n.id, e.msg);
        log_warn("device %s: the registration could not be stored: %s", r->n.id, r->err.msg);
        if (r->status == ERR_CONFLICT)
            http_problem(req, "conflict", "%s", r->err.msg);
        else
            http_problem(req, "unavailable", "the device could not be stored; try again");
        return 0;
    }
    struct id_device d = {.subject_id = r->n.subject_id,
                          .kind = r->n.kind,
                          .fhir_device_id = r->n.id,
                          .display = r->n.display,
                          .manufacturer = r->n.manufacturer,
                          .model = r->n.model,
                          .registered_by = r->n.registered_by,
                          .registered_ms = r->n.now_ms,
                          .bound_ms = r->n.now_ms};
    memcpy(d.id, r->n.id, sizeof d.id);
    char topic[96];
    snprintf(topic, sizeof topic, INGEST_TOPIC_PREFIX "%.*s" INGEST_TOPIC_SUFFIX, IDS_LEN, r->n.id);
    json_t *out =
        json_pack("{s:o, s:{s:s, s:i, s:s, s:s, s:s, s:s, s:i}}", "device", device_json(&d), "mqtt",
                  "host", r->c.api->mqtt_host, "port", r->c.api->mqtt_port, "username", r->n.id,
                  "client_id", r->n.id, "password", r->password, "topic", topic, "qos", 1);
    if (out == NULL)
        return -1;
    char *loc = arena_printf(req->arena, ME_DEVICES "/%s", r->n.id);
    if (loc == NULL) {
        json_decref(out);
        return -1;
    }
    http_set_header(req, "Location", loc);
    http_set_header(req, "Cache-Control", "no-store");
    http_respond_json(req, 201, out);
    return 0;
}

/* Reads the body into n: {"kind", "display", "manufacturer"?, "model"?}. 1, 0 or -1. */
static int read_body(struct http_request *req, struct reg *r)
{
    if (!http_content_type_is(req, "application/json")) {
        http_problem(req, "unsupported-media-type", "send the body as application/json");
        return 0;
    }
    struct err e = {0};
    json_t *body = jsonx_parse(req->body != NULL ? req->body : "", req->body_len, &e);
    if (body == NULL) {
        if (e.code == ERR_NOMEM)
            return -1;
        http_problem(req, "malformed-json", "%s", e.msg);
        return 0;
    }
    if (arena_defer(req->arena, jsonx_decref, body) != 0) {
        json_decref(body);
        return -1;
    }
    static const char *const keys[] = {"kind", "display", "manufacturer", "model", NULL};
    int rc = json_is_object(body) ? jsonx_only_keys(body, keys, "", &e)
                                  : err_set(&e, ERR_INVALID, "the body must be a JSON object");
    if (rc == 0 && (rc = jsonx_get_string(body, "kind", 32, "", &r->n.kind, &e)) == ERR_NOTFOUND)
        rc = err_set(&e, ERR_INVALID, "/kind: required");
    if (rc == 0 && (rc = jsonx_get_string(body, "display", ID_DEVICE_TEXT_MAX, "", &r->n.display,
                                          &e)) == ERR_NOTFOUND)
        rc = err_set(&e, ERR_INVALID, "/display: required");
    if (rc == 0 && (rc = jsonx_get_string(body, "manufacturer", ID_DEVICE_TEXT_MAX, "",
                                          &r->n.manufacturer, &e)) == ERR_NOTFOUND)
        rc = 0;
    if (rc == 0 && (rc = jsonx_get_string(body, "model", ID_DEVICE_TEXT_MAX, "", &r->n.model,
                                          &e)) == ERR_NOTFOUND)
        rc = 0;
    if (rc == 0)
        rc = id_device_check(&r->n, &e);
    if (rc == ERR_NOMEM)
        return -1;
    if (rc != 0) {
        http_problem(req, "validation-failed", "%s", e.msg);
        return 0;
    }
    return 1;
}

static int post_device(struct http_request *req, void *ctx)
{
    struct device_api *api = ctx;
    struct reg *r = arena_zalloc(req->arena, sizeof *r);
    if (r == NULL)
        return -1;
    int ok = begin(req, api, &r->c);
    if (ok <= 0)
        return ok;
    r->n.subject_id = r->c.subject;
    r->n.registered_by = r->c.who.subject_id;
    r->n.now_ms = clock_now_ms();
    if ((ok = read_body(req, r)) <= 0)
        return ok;
    struct ingest_dynsec *broker = ingest_dynsec_global();
    if (api->mqtt_port == 0 || broker == NULL) {
        http_problem(req, "unavailable",
                     "devices need the MQTT broker, and this server runs without one "
                     "(mqtt-port is 0)");
        return 0;
    }
    struct fhir_write *w = &r->w;
    if ((ok = decide(&r->c, CONSENT_WRITE, "create", r->n.id, &w->ev)) <= 0)
        return ok;
    /* the FHIR Device, checked before anything leaves this process */
    json_t *res = id_device_fhir(&r->n, 0);
    if (res == NULL || arena_defer(req->arena, jsonx_decref, res) != 0) {
        json_decref(res);
        return -1;
    }
    if (json_object_set_new(res, "id", json_string(r->n.id)) != 0)
        return -1;
    w->op = FHIR_WRITE_CREATE;
    w->rtype = "Device";
    snprintf(w->id, sizeof w->id, "%s", r->n.id);
    w->resource = res;
    w->subject = r->c.subject;
    w->category = consent_category_name(CONSENT_CAT_LIFELOG);
    w->record_audit = 1;
    w->now_ms = r->n.now_ms;
    /* the broker account first: if it cannot be made, nothing is stored */
    unsigned char raw[PASSWORD_BYTES];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(r->password, sizeof r->password, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
    if (arena_defer(req->arena, forget_password, r->password) != 0)
        return -1;
    struct err e = {0};
    int rc = ingest_dynsec_add_device(broker, r->n.id, r->password, &e);
    if (rc != 0) {
        log_warn("device %s: the broker account could not be made: %s", r->n.id, e.msg);
        if (rc == ERR_NOMEM)
            return -1;
        http_problem(req, "unavailable", "the MQTT broker did not accept the device; try again");
        return 0;
    }
    http_request_suspend(req, answer_registered, r);
    if (store_write_async(api->store, register_fn, r, written, r) != 0) {
        r->status = ERR_UNAVAILABLE;
        snprintf(r->err.msg, sizeof r->err.msg, "the store is not taking writes");
        http_request_resume(req);
    }
    return 0;
}

/* ---- list ---- */

static int get_devices(struct http_request *req, void *ctx)
{
    struct device_api *api = ctx;
    struct call c = {0};
    int ok = begin(req, api, &c);
    if (ok <= 0)
        return ok;
    struct audit_event ev;
    if ((ok = decide(&c, CONSENT_READ, "search", NULL, &ev)) <= 0)
        return ok;
    struct id_device *list = NULL;
    size_t n = 0;
    struct err e = {0};
    int rc = id_device_list(api->store, c.subject, &list, &n, req->arena, &e);
    if (rc == ERR_NOMEM)
        return -1;
    if (rc != 0) {
        http_problem(req, "unavailable", "the store is unavailable; try again");
        return 0;
    }
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < n; i++)
        if (json_array_append_new(arr, device_json(&list[i])) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    json_t *out = arr != NULL ? json_pack("{s:o}", "devices", arr) : NULL;
    struct audit_held *h = arena_zalloc(req->arena, sizeof *h);
    int bad = out == NULL || h == NULL || audit_held_json(req, h, out, "application/json") != 0;
    json_decref(out);
    if (bad)
        return -1;
    h->what = "the read of devices";
    return audit_answer_when_recorded(req, api->store, &ev, h);
}

/* ---- revoke ---- */

struct revoke {
    struct call c;
    struct id_device d;
    struct fhir_write w;
    int already;
    int status;
    struct err err;
};

static int revoke_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct revoke *r = ctx;
    int rc = id_device_revoke_tx(tx, r->d.id, r->c.subject, r->w.now_ms, e);
    return rc != 0 ? rc : fhir_resource_write_fn(tx, &r->w, e);
}

static void revoked(int status, const struct err *e, void *ctx)
{
    struct revoke *r = ctx;
    r->status = status;
    if (status != 0 && e != NULL)
        r->err = *e;
    http_request_resume(r->c.req);
}

static int answer_revoked(struct http_request *req, void *ctx)
{
    struct revoke *r = ctx;
    fhir_write_release(&r->w);
    if (r->status != 0) {
        /* the broker account is gone already (the device cannot connect); the row still says
         * active until a retry of the DELETE stores it */
        log_warn("device %s: revoked at the broker, but the store failed: %s", r->d.id, r->err.msg);
        http_problem(req, "unavailable",
                     "the device can no longer connect, but its revocation could not be stored; "
                     "send the request again");
        return 0;
    }
    if (!r->already)
        r->d.revoked_ms = r->w.now_ms;
    http_respond_json(req, 200, device_json(&r->d));
    return 0;
}

static int delete_device(struct http_request *req, void *ctx)
{
    struct device_api *api = ctx;
    struct revoke *r = arena_zalloc(req->arena, sizeof *r);
    if (r == NULL)
        return -1;
    int ok = begin(req, api, &r->c);
    if (ok <= 0)
        return ok;
    const char *id = req->params[0];
    struct err e = {0};
    int rc = id_device_find(api->store, id, &r->d, req->arena, &e);
    if (rc == ERR_NOMEM)
        return -1;
    if (rc != 0 && rc != ERR_NOTFOUND) {
        http_problem(req, "unavailable", "the store is unavailable; try again");
        return 0;
    }
    if (rc == ERR_NOTFOUND || r->d.subject_id == NULL || strcmp(r->d.subject_id, r->c.subject)) {
        http_problem(req, "not-found", "device: no such device of this citizen");
        return 0;
    }
    struct ingest_dynsec *broker = ingest_dynsec_global();
    if (api->mqtt_port == 0 || broker == NULL) {
        http_problem(req, "unavailable",
                     "revoking a device needs the MQTT broker, and this server runs without one "
                     "(mqtt-port is 0)");
        return 0;
    }
    struct fhir_write *w = &r->w;
    if ((ok = decide(&r->c, CONSENT_WRITE, "update", r->d.fhir_device_id, &w->ev)) <= 0)
        return ok;
    /* the broker first: from its answer on the device cannot connect */
    if ((rc = ingest_dynsec_remove_device(broker, r->d.id, &e)) != 0) {
        log_warn("device %s: the broker account could not be removed: %s", r->d.id, e.msg);
        if (rc == ERR_NOMEM)
            return -1;
        http_problem(req, "unavailable", "the MQTT broker did not answer; try again");
        return 0;
    }
    r->already = r->d.revoked_ms > 0;
    w->now_ms = clock_now_ms();
    struct id_device_new n = {.subject_id = r->d.subject_id,
                              .registered_by = r->d.registered_by,
                              .kind = r->d.kind,
                              .display = r->d.display,
                              .manufacturer = r->d.manufacturer,
                              .model = r->d.model,
                              .now_ms = w->now_ms};
    memcpy(n.id, r->d.id, sizeof n.id);
    json_t *res = id_device_fhir(&n, 1);
    if (res == NULL || arena_defer(req->arena, jsonx_decref, res) != 0) {
        json_decref(res);
        return -1;
    }
    if (json_object_set_new(res, "id", json_string(r->d.fhir_device_id)) != 0)
        return -1;
    w->op = FHIR_WRITE_UPDATE;
    w->rtype = "Device";
    snprintf(w->id, sizeof w->id, "%s", r->d.fhir_device_id);
    w->resource = res;
    w->subject = r->c.subject;
    w->category = consent_category_name(CONSENT_CAT_LIFELOG);
    w->record_audit = 1;
    http_request_suspend(req, answer_revoked, r);
    if (store_write_async(api->store, revoke_fn, r, revoked, r) != 0) {
        r->status = ERR_UNAVAILABLE;
        snprintf(r->err.msg, sizeof r->err.msg, "the store is not taking writes");
        http_request_resume(req);
    }
    return 0;
}

int device_api_register(struct http_router *r, struct device_api *api, struct store *s)
{
    api->store = s;
    int rc = http_router_add(r, "POST", ME_DEVICES, post_device, api);
    if (rc == 0)
        rc = http_router_add(r, "GET", ME_DEVICES, get_devices, api);
    if (rc == 0)
        rc = http_router_add(r, "DELETE", ME_DEVICES "/{id}", delete_device, api);
    return rc;
}

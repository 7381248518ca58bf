/* service_batch.c - the writes of a batch of events, gathered into one store write
 * (service_internal.h, docs/internals/homedoctor.md "Batches"). While the worker thread evaluates
 * the events of a batch one after the other, in seq order, hd_record_decision() and
 * hd_publish_finding() queue their audit entries and conditional creates here instead of each
 * committing on its own; the batch handler then writes them all, in the order they were queued, in
 * one transaction, before it reports any event handled. A Communication's first `about` (its
 * RiskAssessment) is filled in inside the write, from the RiskAssessment created or found just
 * before it. */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "base/arena.h"
#include "base/log.h"
#include "services/homedoctor/service_internal.h"

enum op_kind { OP_DECISION, OP_FINDING };

struct op {
    enum op_kind kind;
    size_t event;                 /* the index of the event it belongs to */
    struct audit_event ev;        /* OP_DECISION */
    struct fhir_write w;          /* OP_FINDING (w.resource: a reference of our own) */
    char id0[FHIR_ID_MAX + 1];    /* the id the create was given (restored before each try) */
    size_t about;                 /* OP_FINDING: the op of its RiskAssessment, or SIZE_MAX */
    _Atomic uint64_t *on_created; /* counted once the write is durable and created it */
    int created;
};

struct hd_batch {
    struct arena *a;
    struct op **ops;
    size_t n, cap;
    size_t event; /* the event whose writes are being queued */
};

static _Thread_local struct hd_batch *current;

struct hd_batch *hd_batch_current(void)
{
    return current;
}

struct hd_batch *hd_batch_begin(void)
{
    struct arena *a = arena_new(256 * 1024);
    struct hd_batch *b = a != NULL ? arena_zalloc(a, sizeof *b) : NULL;
    if (b == NULL) {
        arena_free(a);
        return NULL;
    }
    b->a = a;
    current = b;
    return b;
}

struct arena *hd_batch_arena(struct hd_batch *b)
{
    return b->a;
}

void hd_batch_event(struct hd_batch *b, size_t event)
{
    b->event = event;
}

size_t hd_batch_mark(const struct hd_batch *b)
{
    return b->n;
}

static void op_release(struct op *o)
{
    if (o->kind == OP_FINDING) {
        fhir_write_release(&o->w);
        json_decref(o->w.resource);
        o->w.resource = NULL;
    }
}

void hd_batch_truncate(struct hd_batch *b, size_t mark)
{
    while (b->n > mark)
        op_release(b->ops[--b->n]);
}

void hd_batch_end(struct hd_batch *b)
{
    if (b == NULL)
        return;
    hd_batch_truncate(b, 0);
    if (current == b)
        current = NULL;
    arena_free(b->a);
}

/* ---- queueing ---- */

static int dup_text(struct arena *a, const char **s)
{
    if (*s == NULL)
        return 0;
    *s = arena_strdup(a, *s);
    return *s != NULL ? 0 : ERR_NOMEM;
}

/* A copy of ev whose strings live in a (the caller's live in its evaluation's arena and on its
 * stack). */
static int copy_event(struct arena *a, struct audit_event *dst, const struct audit_event *src)
{
    *dst = *src;
    int bad = 0;
    bad |= dup_text(a, &dst->actor_id);
    bad |= dup_text(a, &dst->actor_org);
    bad |= dup_text(a, &dst->actor_role);
    bad |= dup_text(a, &dst->client_id);
    bad |= dup_text(a, &dst->on_behalf_of);
    bad |= dup_text(a, &dst->subject);
    bad |= dup_text(a, &dst->action);
    bad |= dup_text(a, &dst->resource_type);
    bad |= dup_text(a, &dst->resource_id);
    bad |= dup_text(a, &dst->category);
    bad |= dup_text(a, &dst->purpose);
    bad |= dup_text(a, &dst->decided_by);
    bad |= dup_text(a, &dst->reason);
    bad |= dup_text(a, &dst->request_id);
    bad |= dup_text(a, &dst->source_addr);
    return bad ? ERR_NOMEM : 0;
}

static struct op *op_new(struct hd_batch *b, enum op_kind kind)
{
    struct op **ops = arena_array_reserve(b->a, b->ops, b->n, &b->cap, sizeof *ops);
    struct op *o = arena_zalloc(b->a, sizeof *o);
    if (ops == NULL || o == NULL)
        return NULL;
    b->ops = ops;
    o->kind = kind;
    o->event = b->event;
    o->about = SIZE_MAX;
    return o;
}

int hd_batch_add_decision(struct hd_batch *b, const struct audit_event *ev, struct err *e)
{
    struct op *o = op_new(b, OP_DECISION);
    if (o == NULL || copy_event(b->a, &o->ev, ev) != 0)
        return err_set(e, ERR_NOMEM, "out of memory");
    b->ops[b->n++] = o;
    return 0;
}

int hd_batch_add_finding(struct hd_batch *b, const struct fhir_write *w, size_t about,
                         _Atomic uint64_t *on_created, size_t *op, struct err *e)
{
    struct op *o = op_new(b, OP_FINDING);
    if (o == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    o->w = *w;
    o->w.subject = NULL;
    if (w->subject != NULL && (o->w.subject = arena_strdup(b->a, w->subject)) == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    if (dup_text(b->a, &o->w.rtype) != 0 || dup_text(b->a, &o->w.category) != 0 ||
        copy_event(b->a, &o->w.ev, &w->ev) != 0)
        return err_set(e, ERR_NOMEM, "out of memory");
    memcpy(o->id0, w->id, sizeof o->id0);
    o->about = about < b->n ? about : SIZE_MAX;
    o->on_created = on_created;
    json_incref(o->w.resource);
    *op = b->n;
    b->ops[b->n++] = o;
    return 0;
}

/* ---- writing ---- */

/* The Communication's about[0]: the RiskAssessment its finding was written as (created now or
 * found by its key). */
static int fill_about(const struct hd_batch *b, struct op *o, struct err *e)
{
    if (o->about == SIZE_MAX)
        return 0;
    const struct op *ra = b->ops[o->about];
    char ref[FHIR_ID_MAX + 32];
    snprintf(ref, sizeof ref, "RiskAssessment/%s", ra->w.id);
    json_t *about = json_object_get(o->w.resource, "about");
    if (!json_is_array(about) || json_array_size(about) == 0 ||
        json_array_set_new(about, 0, json_pack("{s:s}", "reference", ref)) != 0)
        return err_set(e, ERR_NOMEM, "out of memory");
    return 0;
}

struct range {
    struct hd_batch *b;
    size_t from, to; /* ops [from, to) */
};

static int range_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct range *r = ctx;
    for (size_t i = r->from; i < r->to; i++) {
        struct op *o = r->b->ops[i];
        int rc;
        if (o->kind == OP_DECISION) {
            rc = audit_record_fn(tx, &o->ev, e);
        } else {
            /* a try before this one may have rolled back: start from what was queued */
            fhir_write_release(&o->w);
            memcpy(o->w.id, o->id0, sizeof o->w.id);
            o->w.existing = 0;
            o->created = 0;
            rc = fill_about(r->b, o, e);
            if (rc == 0)
                rc = fhir_resource_write_fn(tx, &o->w, e);
            if (rc == 0)
                o->created = !o->w.existing;
        }
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* After a commit of ops [from, to): what they created, counted. */
static void count_range(struct hd_batch *b, size_t from, size_t to, struct hd_batch_written *out)
{
    for (size_t i = from; i < to; i++) {
        const struct op *o = b->ops[i];
        if (o->kind != OP_FINDING || !o->created)
            continue;
        if (strcmp(o->w.rtype, "RiskAssessment") == 0)
            out->assessments++;
        else
            out->alerts++;
        if (o->on_created != NULL)
            atomic_fetch_add(o->on_created, 1);
    }
}

int hd_batch_flush(struct store *s, struct hd_batch *b, const struct event *evs, size_t n,
                   struct event_result *out, struct hd_batch_written *written)
{
    memset(written, 0, sizeof *written);
    if (b->n == 0)
        return 0;
    struct err e = {0};
    struct range all = {b, 0, b->n};
    if (store_write(s, range_fn, &all, &e) == 0) {
        count_range(b, 0, b->n, written);
        return 0;
    }
    /* one event's writes failed, or the store did: each event's writes alone, in order, so
     * that one event cannot hold back the others; a citizen's later events wait for the failed
     * one (order per citizen) */
    log_warn("homedoctor: the batch's write of %zu findings and decisions failed (%s): writing "
             "each event's alone",
             b->n, e.msg);
    size_t i = 0;
    while (i < b->n) {
        size_t ev = b->ops[i]->event, j = i;
        while (j < b->n && b->ops[j]->event == ev)
            j++;
        int held = 0;
        for (size_t k = 0; k < ev && k < n && !held; k++)
            held = out[k].outcome != EVENT_OUTCOME_OK && evs[k].subject != NULL &&
                   evs[ev].subject != NULL && strcmp(evs[k].subject, evs[ev].subject) == 0;
        if (ev < n && out[ev].outcome == EVENT_OUTCOME_OK && !held) {
            struct range one = {b, i, j};
            struct err oe = {0};
            if (store_write(s, range_fn, &one, &oe) == 0) {
                count_range(b, i, j, written);
            } else {
                out[ev].outcome = EVENT_OUTCOME_FAILED;
                out[ev].e = oe;
            }
        } else if (ev < n && out[ev].outcome == EVENT_OUTCOME_OK) {
            out[ev].outcome = EVENT_OUTCOME_SKIPPED;
        }
        i = j;
    }
    return 1;
}

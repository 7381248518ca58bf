/* import.c - the core of the life-stage import (import.h): checking one record like a FHIR write
 * (validation, owner, references, category), writing it all or nothing with its audit entries and
 * its ledger row, and keeping a window of records queued to the store's group commit. */
#include "fhir/import.h"

#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/actor.h"
#include "base/arena.h"
#include "base/clock.h"
#include "base/ids.h"
#include "base/jsonx.h"
#include "consent/category.h"
#include "fhir/fhir_call.h"
#include "fhir/import_internal.h"
#include "fhir/owner.h"
#include "fhir/refs.h"
#include "fhir/search_api.h"
#include "fhir/validate.h"
#include "identity/person.h"

/* A literal reference of an item, kept by the validator's callback. */
struct fhir_ref_list {
    struct fhir_ref_list *next;
    enum fhir_ref_kind kind;
    const char *type, *id, *expression;
};

struct fhir_importer {
    struct store *s;
    char source[FHIR_IMPORT_SOURCE_MAX + 1];
    struct fhir_import_options o;
    size_t window;
    char run_id[IDS_LEN + 1];
    /* records queued to the writer, oldest first */
    struct fhir_import_record **ring;
    size_t head, count;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct fhir_import_stats st;
    const char *file;
    uint64_t total;
    int store_failed;
    char person_ok[IDS_LEN + 1]; /* the last citizen found */
};

/* ---- records ---- */

struct fhir_import_record *fhir_import__record_new(struct fhir_importer *im, const char *file,
                                                   const char *where, const void *canon, size_t len)
{
    struct arena *a = arena_new(8192);
    struct fhir_import_record *r = a != NULL ? arena_zalloc(a, sizeof *r) : NULL;
    if (r == NULL) {
        arena_free(a);
        return NULL;
    }
    r->im = im;
    r->a = a;
    r->file = arena_strdup(a, file);
    r->where = arena_strdup(a, where);
    if (r->file == NULL || r->where == NULL) {
        arena_free(a);
        return NULL;
    }
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, canon, len);
    sodium_bin2hex(r->hash, sizeof r->hash, h, sizeof h);
    im->st.records++;
    return r;
}

struct fhir_import_item *fhir_import__add(struct fhir_import_record *r, json_t *res,
                                          enum fhir_write_op op)
{
    if (arena_defer(r->a, jsonx_decref, res) != 0) {
        json_decref(res);
        return NULL;
    }
    struct fhir_import_item *items =
        arena_array_reserve(r->a, r->items, r->n, &r->cap, sizeof *r->items);
    if (items == NULL)
        return NULL;
    r->items = items;
    struct fhir_import_item *it = &r->items[r->n++];
    memset(it, 0, sizeof *it);
    it->op = op;
    it->res = res;
    it->rtype = json_string_value(json_object_get(res, "resourceType"));
    return it;
}

static void record_free(struct fhir_import_record *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n; i++)
        fhir_write_release(&r->items[i].w);
    arena_free(r->a);
}

static void report(struct fhir_importer *im, const char *file, const char *where,
                   const char *reason)
{
    im->st.rejected++;
    if (im->o.on_reject != NULL)
        im->o.on_reject(im->o.ctx, file, where, reason);
}

static void progress(struct fhir_importer *im, uint64_t done)
{
    if (im->o.on_progress != NULL)
        im->o.on_progress(im->o.ctx, im->file, done, im->total, &im->st);
}

int fhir_import__reject(struct fhir_import_record *r, const char *fmt, ...)
{
    char why[FHIR_IMPORT_REASON_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    struct fhir_importer *im = r->im;
    report(im, r->file, r->where, why);
    progress(im, r->offset);
    record_free(r);
    return 0;
}

void fhir_import__reject_at(struct fhir_importer *im, const char *file, const char *where,
                            const char *fmt, ...)
{
    char why[FHIR_IMPORT_REASON_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    im->st.records++;
    report(im, file, where, why);
}

/* ---- the window of queued records ---- */

/* Waits for the oldest queued record and counts it. */
static void finish_oldest(struct fhir_importer *im)
{
    struct fhir_import_record *r = im->ring[im->head];
    pthread_mutex_lock(&im->mu);
    while (!r->done)
        pthread_cond_wait(&im->cv, &im->mu);
    pthread_mutex_unlock(&im->mu);
    im->head = (im->head + 1) % im->window;
    im->count--;
    if (r->status == 0 && r->dup) {
        im->st.skipped++;
    } else if (r->status == 0) {
        im->st.imported++;
        im->st.resources += r->n;
    } else {
        if (r->status != ERR_INVALID && r->status != ERR_CONFLICT && r->status != ERR_NOTFOUND)
            im->store_failed = 1;
        char why[FHIR_IMPORT_REASON_MAX];
        snprintf(why, sizeof why, "%s%s", im->store_failed ? "the store failed: " : "",
                 r->e.msg[0] != '\0' ? r->e.msg : "the write failed");
        report(im, r->file, r->where, why);
    }
    progress(im, r->offset);
    record_free(r);
}

static void drain(struct fhir_importer *im)
{
    while (im->count > 0)
        finish_oldest(im);
}

static void written(int status, const struct err *e, void *ctx)
{
    struct fhir_import_record *r = ctx;
    struct fhir_importer *im = r->im;
    pthread_mutex_lock(&im->mu);
    r->status = status;
    if (status != 0 && e != NULL)
        r->e = *e;
    r->done = 1;
    pthread_cond_broadcast(&im->cv);
    pthread_mutex_unlock(&im->mu);
}

/* ---- the write: ledger, resources, audit ---- */

#define LEDGER_HAS "SELECT 1 FROM fhir_import WHERE source = ? AND record_hash = ?"

static int found_row(const struct store_row *row, void *ctx)
{
    (void)row;
    *(int *)ctx = 1;
    return 1;
}

static int record_write(struct store_tx *tx, void *ctx, struct err *e)
{
    struct fhir_import_record *r = ctx;
    struct fhir_importer *im = r->im;
    struct store_value p[4] = {STORE_TEXT_V(im->source), STORE_TEXT_V(r->hash)};
    int found = 0;
    int rc = store_tx_query(tx, LEDGER_HAS, p, 2, found_row, &found, e);
    if (rc != 0)
        return rc;
    if (found) { /* committed by an earlier run, or twice in this one */
        r->dup = 1;
        return 0;
    }
    size_t cap = 1;
    for (size_t i = 0; i < r->n; i++) {
        struct fhir_import_item *it = &r->items[i];
        rc = fhir_resource_write_fn(tx, &it->w, e);
        if (rc != 0) {
            char why[sizeof e->msg];
            snprintf(why, sizeof why, "%s", e->msg);
            if (r->n > 1)
                err_set(e, rc, "%s/%s: %s", it->rtype, it->w.id, why);
            return rc;
        }
        cap += strlen(it->rtype) + strlen(it->w.id) + 2;
    }
    char *list = arena_alloc(r->a, cap);
    if (list == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    size_t at = 0;
    for (size_t i = 0; i < r->n; i++)
        at += (size_t)snprintf(list + at, cap - at, "%s%s/%s", i > 0 ? "," : "", r->items[i].rtype,
                               r->items[i].w.id);
    r->resources = list;
    p[2] = STORE_INT_V(clock_now_ms());
    p[3] = STORE_TEXT_V(list);
    rc = store_tx_exec(tx,
                       "INSERT INTO fhir_import (source, record_hash, created_ms, resources) "
                       "VALUES (?, ?, ?, ?)",
                       p, 4, e);
    return rc < 0 ? rc : 0;
}

/* ---- checking a record ---- */

struct check {
    struct fhir_import_record *r;
    struct fhir_import_item *it;
    struct fhir_issues is;
    int nomem;
};

static int keep_ref(void *ctx, const struct fhir_ref *ref, struct fhir_issues *out)
{
    (void)out;
    struct check *c = ctx;
    struct arena *a = c->r->a;
    struct fhir_ref_list *l = arena_zalloc(a, sizeof *l);
    if (l == NULL || (l->type = arena_strdup(a, ref->type)) == NULL ||
        (l->id = arena_strdup(a, ref->id)) == NULL ||
        (l->expression = arena_strdup(a, ref->expression != NULL ? ref->expression : "")) == NULL) {
        c->nomem = 1;
        return 0;
    }
    l->kind = ref->kind;
    l->next = c->it->refs;
    c->it->refs = l;
    return 0;
}

/* The record's issues as one line: "expression: diagnostics; ...". */
static void issues_text(const struct fhir_issues *is, char *buf, size_t cap)
{
    size_t at = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < is->n && at + 1 < cap; i++) {
        const struct fhir_issue *x = &is->items[i];
        if (x->severity != FHIR_ERROR && x->severity != FHIR_FATAL)
            continue;
        int w = snprintf(buf + at, cap - at, "%s%s%s%s", at > 0 ? "; " : "", x->expression,
                         x->expression[0] != '\0' ? ": " : "", x->diagnostics);
        if (w < 0)
            break;
        at += (size_t)w < cap - at ? (size_t)w : cap - at - 1;
    }
    if (is->dropped > 0 && at + 1 < cap)
        snprintf(buf + at, cap - at, "; and %zu more", is->dropped);
}

/* The regional ID a Patient carries (identifier with FHIR_SYS_REGIONAL_ID), or its id. */
static const char *patient_id(const json_t *res)
{
    size_t i;
    const json_t *ident;
    json_array_foreach(json_object_get(res, "identifier"), i, ident)
    {
        const char *sys = json_string_value(json_object_get(ident, "system"));
        const char *val = json_string_value(json_object_get(ident, "value"));
        if (sys != NULL && val != NULL && strcmp(sys, FHIR_SYS_REGIONAL_ID) == 0)
            return val;
    }
    return json_string_value(json_object_get(res, "id"));
}

/* Ids: a new one for a create, the resource's own for an update; a Patient's is the regional
 * ID. Returns 0 or rejects (1). */
static int assign_ids(struct fhir_import_record *r, char *why, size_t cap)
{
    for (size_t i = 0; i < r->n; i++) {
        struct fhir_import_item *it = &r->items[i];
        const char *id = NULL;
        if (it->rtype == NULL) {
            snprintf(why, cap, "the resource has no resourceType");
            return 1;
        }
        if (strcmp(it->rtype, "Patient") == 0) {
            id = patient_id(it->res);
            if (id == NULL || !ids_valid(id)) {
                snprintf(why, cap,
                         "Patient.identifier: a Patient is a citizen: give their regional ID "
                         "(system " FHIR_SYS_REGIONAL_ID ")");
                return 1;
            }
            it->op = FHIR_WRITE_UPDATE;
        } else if (it->op == FHIR_WRITE_UPDATE) {
            id = json_string_value(json_object_get(it->res, "id"));
            if (id == NULL || !fhir_id_valid(id)) {
                snprintf(why, cap, "%s.id: not a valid resource id", it->rtype);
                return 1;
            }
        }
        if (id != NULL)
            snprintf(it->w.id, sizeof it->w.id, "%s", id);
        else
            ids_new_ordered(it->w.id, clock_now_ms());
        for (size_t k = 0; k < i; k++)
            if (strcmp(r->items[k].rtype, it->rtype) == 0 &&
                strcmp(r->items[k].w.id, it->w.id) == 0) {
                snprintf(why, cap, "two resources of the record are %s/%s", it->rtype, it->w.id);
                return 1;
            }
    }
    return 0;
}

static const char *full_url_target(void *ctx, const char *ref, char *buf, size_t cap)
{
    struct fhir_import_record *r = ctx;
    for (size_t i = 0; i < r->n; i++) {
        const struct fhir_import_item *it = &r->items[i];
        if (it->full_url != NULL && strcmp(it->full_url, ref) == 0) {
            snprintf(buf, cap, "%s/%s", it->rtype, it->w.id);
            return buf;
        }
    }
    return NULL;
}

/* Is person id a citizen? 1 yes, 0 no, -1 the store failed. */
static int citizen(struct fhir_importer *im, struct arena *a, const char *id)
{
    if (strcmp(im->person_ok, id) == 0)
        return 1;
    if (!ids_valid(id))
        return 0;
    struct id_person p;
    struct err e = {0};
    int rc = id_person_get(im->s, id, &p, a, &e);
    if (rc == 0) {
        snprintf(im->person_ok, sizeof im->person_ok, "%s", id);
        return 1;
    }
    return rc == ERR_NOTFOUND || rc == ERR_INVALID ? 0 : -1;
}

/* Does ref's target exist (in the record, or stored), and whose is it? 1, 0, -1. */
static int target(struct fhir_import_record *r, const struct fhir_ref_list *ref, const char **owner)
{
    *owner = NULL;
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->items[i].rtype, ref->type) == 0 && strcmp(r->items[i].w.id, ref->id) == 0) {
            *owner = r->items[i].w.subject;
            return 1;
        }
    if (strcmp(ref->type, "Patient") == 0) {
        *owner = ref->id;
        return citizen(r->im, r->a, ref->id);
    }
    if (!fhir_id_valid(ref->id))
        return 0;
    struct fhir_record rec;
    struct err e = {0};
    int rc = fhir_resource_read(r->im->s, ref->type, ref->id, &rec, r->a, &e);
    if (rc == ERR_NOTFOUND)
        return 0;
    if (rc != 0)
        return -1;
    *owner = rec.subject;
    return !rec.deleted;
}

/* The references of every item. 0, 1 (rejected: why), -1 the store failed. */
static int check_refs(struct fhir_import_record *r, char *why, size_t cap)
{
    for (size_t i = 0; i < r->n; i++) {
        struct fhir_import_item *it = &r->items[i];
        for (const struct fhir_ref_list *ref = it->refs; ref != NULL; ref = ref->next) {
            char expr[FHIR_ISSUE_EXPR];
            snprintf(expr, sizeof expr, "%s", ref->expression);
            fhir_issue_where(expr, sizeof expr, it->where);
            if (ref->kind == FHIR_REF_URN) {
                snprintf(why, cap,
                         "%s: a urn: reference must name the fullUrl of an entry of the same "
                         "transaction Bundle",
                         expr);
                return 1;
            }
            if (ref->kind != FHIR_REF_RELATIVE)
                continue;
            const char *owner = NULL;
            int found = target(r, ref, &owner);
            if (found == 0 && r->im->count > 0) {
                /* it may be in a record still on its way to the disk */
                drain(r->im);
                found = target(r, ref, &owner);
            }
            if (found < 0)
                return -1;
            if (found == 0) {
                snprintf(why, cap, "%s: the referenced %s/%s does not exist", expr, ref->type,
                         ref->id);
                return 1;
            }
            if (owner != NULL && strcmp(ref->type, "Patient") != 0 &&
                (it->w.subject == NULL || strcmp(owner, it->w.subject) != 0)) {
                snprintf(why, cap,
                         "%s: a record may refer to another citizen's records only through "
                         "their Patient",
                         expr);
                return 1;
            }
        }
    }
    return 0;
}

/* Validation, owner and category of every item. 0, 1 (rejected), -1 out of memory or the store
 * failed (store_failed set). */
static int check_items(struct fhir_import_record *r, char *why, size_t cap)
{
    struct fhir_importer *im = r->im;
    struct check *c = arena_zalloc(r->a, sizeof *c);
    if (c == NULL)
        return -1;
    c->r = r;
    fhir_issues_init(&c->is, keep_ref, c);
    for (size_t i = 0; i < r->n; i++) {
        struct fhir_import_item *it = &r->items[i];
        if (json_object_set_new(it->res, "id", json_string(it->w.id)) != 0)
            return -1;
        c->it = it;
        size_t before = c->is.n;
        fhir_validate(it->res, it->rtype, &c->is);
        if (c->nomem)
            return -1;
        for (size_t k = before; k < c->is.n; k++)
            fhir_issue_where(c->is.items[k].expression, sizeof c->is.items[k].expression,
                             it->where);
    }
    if (c->is.nerrors > 0) {
        issues_text(&c->is, why, cap);
        return 1;
    }
    for (size_t i = 0; i < r->n; i++) {
        struct fhir_import_item *it = &r->items[i];
        if (fhir_owner_kind(it->rtype, NULL) == FHIR_NOT_SERVED) {
            snprintf(why, cap, "resource type %s is not served here", it->rtype);
            return 1;
        }
        const char *subject = NULL;
        struct err e = {0};
        if (fhir_owner_of(it->rtype, it->res, &subject, &e) != 0) {
            snprintf(why, cap, "%s", e.msg);
            return 1;
        }
        if (subject == NULL)
            continue;
        /* a copy: the write replaces the resource's id, which a Patient's subject points at */
        if ((subject = arena_strdup(r->a, subject)) == NULL)
            return -1;
        it->w.subject = subject;
        int ok = citizen(im, r->a, subject);
        if (ok < 0) {
            im->store_failed = 1;
            return -1;
        }
        if (ok == 0) {
            snprintf(why, cap, "Patient/%s: no citizen of the regional ID has this id", subject);
            return 1;
        }
        enum consent_category cat = consent_category_of_resource(it->res);
        it->w.category = cat == CONSENT_CAT_NONE ? NULL : consent_category_name(cat);
    }
    return 0;
}

static int ledger_has(struct fhir_importer *im, const char *hash, int *found)
{
    struct store_value p[2] = {STORE_TEXT_V(im->source), STORE_TEXT_V(hash)};
    struct err e = {0};
    *found = 0;
    return store_query(im->s, LEDGER_HAS, p, 2, found_row, found, &e);
}

/* Fills each item's write and audit event. */
static int arm(struct fhir_import_record *r)
{
    int64_t now = clock_now_ms();
    for (size_t i = 0; i < r->n; i++) {
        struct fhir_import_item *it = &r->items[i];
        struct fhir_write *w = &it->w;
        w->op = it->op;
        w->rtype = it->rtype;
        w->resource = it->res;
        w->create_missing = it->op == FHIR_WRITE_UPDATE;
        w->now_ms = now;
        w->record_audit = w->subject != NULL;
        w->ev = (struct audit_event){
            .actor_kind = AUDIT_ACTOR_OPERATOR,
            .actor_id = AUDIT_OPERATOR_ID,
            .action = "import",
            .category = w->category,
            .decision = AUDIT_PERMIT,
            .decided_by = "rule:import",
            .reason = r->audit_reason,
            .request_id = r->im->run_id,
        };
        if (it->if_none_exist != NULL) {
            struct fhir_sql *q = NULL;
            struct err e = {0};
            int rc = fhir_search_condition_sql(it->rtype, it->if_none_exist, r->a, &q, &e);
            if (rc == ERR_NOMEM)
                return -1;
            if (rc != 0) {
                fhir_import__reject(r, "%s: request.ifNoneExist: %s",
                                    it->where != NULL ? it->where : it->rtype, e.msg);
                return 1;
            }
            w->if_none_exist = q;
        }
    }
    return 0;
}

int fhir_import__submit(struct fhir_import_record *r)
{
    struct fhir_importer *im = r->im;
    if (im->store_failed) {
        record_free(r);
        return ERR_UNAVAILABLE;
    }
    int found = 0;
    if (ledger_has(im, r->hash, &found) != 0) {
        im->store_failed = 1;
        record_free(r);
        return ERR_UNAVAILABLE;
    }
    if (found) {
        im->st.skipped++;
        progress(im, r->offset);
        record_free(r);
        return 0;
    }
    if (r->n == 0)
        return fhir_import__reject(r, "the record holds no resource");
    char why[FHIR_IMPORT_REASON_MAX];
    if (assign_ids(r, why, sizeof why) != 0)
        return fhir_import__reject(r, "%s", why);
    if (r->transaction)
        for (size_t i = 0; i < r->n; i++)
            if (fhir_refs_rewrite(r->items[i].res, full_url_target, r) != 0) {
                record_free(r);
                return ERR_NOMEM;
            }
    int rc = check_items(r, why, sizeof why);
    if (rc == 0)
        rc = check_refs(r, why, sizeof why);
    if (rc == 1)
        return fhir_import__reject(r, "%s", why);
    if (rc != 0) {
        int failed = im->store_failed;
        record_free(r);
        return failed ? ERR_UNAVAILABLE : ERR_NOMEM;
    }
    r->audit_reason = arena_printf(r->a, "import from source %s, file %s", im->source, r->file);
    if (r->audit_reason == NULL) {
        record_free(r);
        return ERR_NOMEM;
    }
    rc = arm(r);
    if (rc == 1)
        return 0;
    if (rc != 0) {
        record_free(r);
        return ERR_NOMEM;
    }
    if (im->count == im->window)
        finish_oldest(im);
    if (store_write_async(im->s, record_write, r, written, r) != 0) {
        drain(im); /* back-pressure: let the writer catch up, then try once more */
        if (store_write_async(im->s, record_write, r, written, r) != 0) {
            im->store_failed = 1;
            record_free(r);
            return ERR_UNAVAILABLE;
        }
    }
    im->ring[(im->head + im->count) % im->window] = r;
    im->count++;
    return 0;
}

/* ---- the importer ---- */

static int source_ok(const char *s)
{
    size_t n = 0;
    for (const char *p = s; p != NULL && *p != '\0'; p++, n++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr("._:@/-", c) != NULL))
            return 0;
    }
    return n >= 1 && n <= FHIR_IMPORT_SOURCE_MAX;
}

struct fhir_importer *fhir_importer_new(struct store *s, const struct fhir_import_options *o,
                                        struct err *e)
{
    if (o == NULL || !source_ok(o->source)) {
        err_set(e, ERR_INVALID,
                "--source: 1 to %d characters of letters, digits and ._:@/- (e.g. "
                "kenshin-2025)",
                FHIR_IMPORT_SOURCE_MAX);
        return NULL;
    }
    struct fhir_importer *im = calloc(1, sizeof *im);
    size_t window = o->window > 0 ? o->window : FHIR_IMPORT_WINDOW;
    if (im != NULL)
        im->ring = calloc(window, sizeof *im->ring);
    if (im == NULL || im->ring == NULL) {
        free(im);
        err_set(e, ERR_NOMEM, "out of memory");
        return NULL;
    }
    im->s = s;
    im->o = *o;
    im->window = window;
    snprintf(im->source, sizeof im->source, "%s", o->source);
    ids_new(im->run_id);
    pthread_mutex_init(&im->mu, NULL);
    pthread_cond_init(&im->cv, NULL);
    return im;
}

enum fhir_import_format fhir_import_detect(const char *path, const char *head, size_t len)
{
    const char *dot = strrchr(path, '.');
    if (dot != NULL && strchr(dot, '/') == NULL) {
        if (strcmp(dot, ".json") == 0)
            return FHIR_IMPORT_JSON;
        if (strcmp(dot, ".ndjson") == 0 || strcmp(dot, ".jsonl") == 0)
            return FHIR_IMPORT_NDJSON;
        if (strcmp(dot, ".csv") == 0)
            return FHIR_IMPORT_CSV;
    }
    size_t i = 0;
    while (i < len && (head[i] == ' ' || head[i] == '\t' || head[i] == '\r' || head[i] == '\n'))
        i++;
    if (i < len && head[i] == '{') {
        /* one JSON value, or one per line */
        const char *nl = memchr(head + i, '\n', len - i);
        while (nl != NULL && nl + 1 < head + len && (nl[1] == ' ' || nl[1] == '\r'))
            nl++;
        return nl != NULL && nl + 1 < head + len && nl[1] == '{' ? FHIR_IMPORT_NDJSON
                                                                 : FHIR_IMPORT_JSON;
    }
    return FHIR_IMPORT_CSV;
}

int fhir_import_buffer(struct fhir_importer *im, const char *name, enum fhir_import_format fmt,
                       const char *buf, size_t len, struct err *e)
{
    im->file = name;
    im->total = len;
    int rc;
    switch (fmt) {
    case FHIR_IMPORT_JSON:
        rc = fhir_import__json(im, name, buf, len, e);
        break;
    case FHIR_IMPORT_NDJSON:
        rc = fhir_import__ndjson(im, name, buf, len, e);
        break;
    case FHIR_IMPORT_CSV:
        rc = fhir_import__csv(im, name, buf, len, e);
        break;
    default:
        return err_set(e, ERR_INVALID, "%s: unknown format", name);
    }
    drain(im);
    if (rc == ERR_INVALID)
        fhir_import__reject_at(im, name, "file", "%s", e->msg);
    if (rc == 0 && im->store_failed)
        rc = err_set(e, ERR_UNAVAILABLE, "the store failed: the import stopped");
    progress(im, len);
    im->file = NULL;
    return rc;
}

int fhir_import_file(struct fhir_importer *im, const char *path, enum fhir_import_format fmt,
                     struct err *e)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return err_set(e, ERR_IO, "%s: cannot be opened", path);
    char *buf = NULL;
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0)
        size = ftell(f);
    if (size < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return err_set(e, ERR_IO, "%s: not a regular file", path);
    }
    if ((long long)size > FHIR_IMPORT_FILE_MAX) {
        fclose(f);
        return err_set(e, ERR_IO, "%s: larger than 1 GiB: split it", path);
    }
    buf = malloc((size_t)size + 1);
    if (buf == NULL) {
        fclose(f);
        return err_set(e, ERR_NOMEM, "out of memory");
    }
    size_t got = fread(buf, 1, (size_t)size, f);
    int bad = ferror(f);
    fclose(f);
    if (bad || got != (size_t)size) {
        free(buf);
        return err_set(e, ERR_IO, "%s: read failed", path);
    }
    buf[got] = '\0';
    if (fmt == FHIR_IMPORT_AUTO)
        fmt = fhir_import_detect(path, buf, got < 4096 ? got : 4096);
    int rc = fhir_import_buffer(im, path, fmt, buf, got, e);
    free(buf);
    return rc;
}

void fhir_importer_stats(struct fhir_importer *im, struct fhir_import_stats *out)
{
    drain(im);
    *out = im->st;
}

void fhir_importer_free(struct fhir_importer *im)
{
    if (im == NULL)
        return;
    drain(im);
    pthread_mutex_destroy(&im->mu);
    pthread_cond_destroy(&im->cv);
    free(im->ring);
    free(im);
}

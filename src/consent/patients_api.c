/* patients_api.c - GET /api/v1/org/patients (patients_api.h): the citizens who consented to the
 * practitioner's organisation, decided by consent_decide() and recorded on each listed
 * citizen's trail before the answer leaves. */
#include "consent/patients_api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/actor.h"
#include "audit/audit.h"
#include "audit/held.h"
#include "base/arena.h"
#include "base/clock.h"
#include "base/ids.h"
#include "consent/category.h"
#include "consent/consent.h"
#include "consent/index.h"
#include "http/problem.h"
#include "identity/principal.h"
#include "identity/scope.h"

#define LISTED_REASON "listed as a patient"
#define NAME_REASON   "the name shown in the list of patients"
#define ROUNDS_MAX    8 /* store rounds per page when candidates turn out not to be permitted */

/* The conditions every candidate consent meets: active, in its period now, for reading, and
 * naming the organisation directly or through its purpose's version (which consent_decide
 * checks again, with the current version too). */
#define OPEN_FOR_ORG                                                                               \
    "c.status = 'active' AND c.valid_from_ms <= ? AND (c.valid_until_ms IS NULL OR "               \
    "c.valid_until_ms > ?) AND c.actions IN ('read', 'read,write') AND "                           \
    "((c.recipient_kind = 'organisation' AND c.recipient_id = ?) OR "                              \
    "(c.recipient_kind = 'purpose' AND EXISTS (SELECT 1 FROM consent_purpose_version v WHERE "     \
    "v.code = c.purpose_code AND v.version = c.purpose_version AND "                               \
    "(',' || v.recipients || ',') LIKE ?)))"

static const char SQL_SUBJECTS[] = "SELECT DISTINCT c.subject_id FROM consent c WHERE " OPEN_FOR_ORG
                                   " AND c.subject_id > ? ORDER BY c.subject_id LIMIT ?";

static const char SQL_CONSENTS[] =
    "SELECT c.id, c.recipient_kind, c.recipient_id, c.purpose_code, c.purpose_version, "
    "c.categories, c.actions, c.valid_until_ms FROM consent c WHERE " OPEN_FOR_ORG
    " AND c.subject_id = ? ORDER BY c.created_ms, c.id LIMIT ?";

static const char SQL_NAME[] = "SELECT family_name_kanji, given_name_kanji, family_name_kana, "
                               "given_name_kana FROM person WHERE id = ?";

/* One candidate consent as the store has it. */
struct cand {
    const char *id, *rkind, *rid, *code, *actions;
    int64_t version, until_ms;
    consent_cats cats, permitted;
};

struct cand_list {
    struct arena *a;
    struct cand items[PATIENTS_CONSENTS_MAX + 1];
    size_t n;
    int bad; /* a row the store should never hold, or out of memory */
};

static int cand_row(const struct store_row *row, void *ctx)
{
    struct cand_list *l = ctx;
    if (l->n >= sizeof l->items / sizeof l->items[0])
        return 1;
    struct cand *c = &l->items[l->n];
    memset(c, 0, sizeof *c);
    c->id = arena_strdup(l->a, store_row_text(row, 0, NULL));
    c->rkind = arena_strdup(l->a, store_row_text(row, 1, NULL));
    c->rid = store_row_is_null(row, 2) ? NULL : arena_strdup(l->a, store_row_text(row, 2, NULL));
    c->code = arena_strdup(l->a, store_row_text(row, 3, NULL));
    c->version = store_row_int(row, 4);
    c->actions = arena_strdup(l->a, store_row_text(row, 6, NULL));
    c->until_ms = store_row_is_null(row, 7) ? 0 : store_row_int(row, 7);
    struct err e = {0};
    if (c->id == NULL || c->rkind == NULL || c->code == NULL || c->actions == NULL ||
        (store_row_is_null(row, 2) == 0 && c->rid == NULL) ||
        consent_cats_parse(store_row_text(row, 5, NULL), &c->cats, &e) != 0) {
        l->bad = 1;
        return 1;
    }
    l->n++;
    return 0;
}

struct name_row {
    struct arena *a;
    const char *kanji, *kana;
};

static int name_row(const struct store_row *row, void *ctx)
{
    struct name_row *n = ctx;
    n->kanji =
        arena_printf(n->a, "%s %s", store_row_text(row, 0, NULL), store_row_text(row, 1, NULL));
    n->kana =
        arena_printf(n->a, "%s %s", store_row_text(row, 2, NULL), store_row_text(row, 3, NULL));
    return 1;
}

/* What the listing writes: each entry on its citizen's chain, all in one transaction. */
struct listing {
    struct audit_event *evs;
    size_t n, cap;
};

static int listing_write(struct store_tx *tx, void *ctx, struct err *e)
{
    struct listing *l = ctx;
    for (size_t i = 0; i < l->n; i++) {
        int rc = audit_append(tx, &l->evs[i], NULL, e);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* The page being built. */
struct page {
    struct http_request *req;
    struct store *store;
    const struct id_principal *p;
    struct consent_index *ix;
    int64_t now_ms;
    const char *like; /* "%,<org>,%" */
    int names;        /* the token's scopes cover reading Patient */
    json_t *items;
    struct listing rec;
    struct audit_event base; /* actor and request fields of every entry */
};

static struct store_value *open_params(struct page *pg, struct store_value *pv)
{
    pv[0] = STORE_INT_V(pg->now_ms);
    pv[1] = STORE_INT_V(pg->now_ms);
    pv[2] = STORE_TEXT_V(pg->p->org_id);
    pv[3] = STORE_TEXT_V(pg->like);
    return pv;
}

static struct audit_event *next_event(struct page *pg)
{
    if (pg->rec.n == pg->rec.cap)
        return NULL;
    struct audit_event *ev = &pg->rec.evs[pg->rec.n++];
    *ev = pg->base;
    return ev;
}

static json_t *cats_json(consent_cats m)
{
    json_t *a = json_array();
    for (int c = 0; a != NULL && c < CONSENT_CAT_COUNT; c++)
        if ((m & (1u << c)) != 0 && json_array_append_new(a, json_string(consent_category_name(
                                                                 (enum consent_category)c))) != 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

static json_t *consent_item(const struct cand *c)
{
    char until[32];
    json_t *actions = json_array(), *cats = cats_json(c->permitted);
    if (actions == NULL || cats == NULL) {
        json_decref(actions);
        json_decref(cats);
        return NULL;
    }
    json_array_append_new(actions, json_string("read"));
    if (strcmp(c->actions, "read,write") == 0)
        json_array_append_new(actions, json_string("write"));
    json_t *recipient = json_pack("{s:s}", "kind", c->rkind);
    if (recipient != NULL && c->rid != NULL)
        json_object_set_new(recipient, "id", json_string(c->rid));
    return json_pack("{s:s, s:{s:s, s:I}, s:o*, s:o, s:o, s:o}", "id", c->id, "purpose", "code",
                     c->code, "version", (json_int_t)c->version, "recipient", recipient,
                     "categories", cats, "actions", actions, "valid_until",
                     c->until_ms != 0
                         ? json_string(clock_format_ms(c->until_ms, until, sizeof until))
                         : json_null());
}

/* Decides, lists and records one candidate citizen. 1: listed; 0: nothing permits it; -1: out
 * of memory or a store failure (*store_failed). */
static int list_subject(struct page *pg, const char *subject, int *store_failed)
{
    struct cand_list cl = {.a = pg->req->arena};
    struct store_value pv[6];
    open_params(pg, pv);
    pv[4] = STORE_TEXT_V(subject);
    pv[5] = STORE_INT_V(PATIENTS_CONSENTS_MAX);
    struct err e = {0};
    if (store_query(pg->store, SQL_CONSENTS, pv, 6, cand_row, &cl, &e) != 0 || cl.bad) {
        *store_failed = 1;
        return -1;
    }
    struct consent_query q = {0};
    consent_query_from_principal(&q, pg->p);
    q.subject = subject;
    q.action = CONSENT_READ;
    q.now_ms = pg->now_ms;
    json_t *consents = json_array();
    if (consents == NULL)
        return -1;
    for (size_t i = 0; i < cl.n; i++) {
        struct cand *c = &cl.items[i];
        /* the one decision, category by category: what this consent itself permits now */
        q.purpose = c->code;
        for (int cat = 0; cat < CONSENT_CAT_COUNT; cat++) {
            if ((c->cats & (1u << cat)) == 0)
                continue;
            struct consent_decision d;
            q.category = (enum consent_category)cat;
            if (consent_decide(pg->ix, &q, &d) == 0 && d.effect == CONSENT_PERMIT &&
                strcmp(d.decided_by, c->id) == 0)
                c->permitted |= 1u << cat;
        }
        if (c->permitted == 0)
            continue;
        struct audit_event *ev = next_event(pg);
        json_t *item = ev != NULL ? consent_item(c) : NULL;
        if (item == NULL || json_array_append_new(consents, item) != 0) {
            json_decref(consents);
            return -1;
        }
        ev->subject = subject;
        ev->action = "list";
        ev->resource_type = "Consent";
        ev->resource_id = c->id;
        ev->purpose = arena_printf(pg->req->arena, "%s@%lld", c->code, (long long)c->version);
        ev->decision = AUDIT_PERMIT;
        ev->decided_by = c->id;
        ev->reason = LISTED_REASON;
        if (ev->purpose == NULL) {
            json_decref(consents);
            return -1;
        }
    }
    if (json_array_size(consents) == 0) {
        json_decref(consents);
        return 0;
    }
    json_t *item = json_pack("{s:s, s:o}", "patient", subject, "consents", consents);
    if (item == NULL)
        return -1;
    /* the name, when the same decision lets this practitioner read the citizen's contact data */
    struct consent_decision d;
    q.purpose = NULL;
    q.category = CONSENT_CAT_CONTACT;
    if (pg->names && consent_decide(pg->ix, &q, &d) == 0 && d.effect == CONSENT_PERMIT) {
        struct name_row nr = {.a = pg->req->arena};
        struct store_value np[1] = {STORE_TEXT_V(subject)};
        if (store_query(pg->store, SQL_NAME, np, 1, name_row, &nr, &e) != 0) {
            json_decref(item);
            *store_failed = 1;
            return -1;
        }
        struct audit_event *ev = nr.kanji != NULL && nr.kana != NULL ? next_event(pg) : NULL;
        if (ev != NULL) {
            ev->subject = subject;
            ev->action = "read";
            ev->resource_type = "Patient";
            ev->resource_id = subject;
            ev->category = "contact";
            ev->purpose = d.purpose != NULL ? arena_printf(pg->req->arena, "%s@%lld", d.purpose,
                                                           (long long)d.purpose_version)
                                            : NULL;
            ev->decision = AUDIT_PERMIT;
            ev->decided_by = arena_strdup(pg->req->arena, d.decided_by);
            ev->reason = NAME_REASON;
            json_object_set_new(item, "name",
                                json_pack("{s:s, s:s}", "kanji", nr.kanji, "kana", nr.kana));
        }
    }
    if (json_array_append_new(pg->items, item) != 0)
        return -1;
    return 1;
}

struct subjects {
    struct arena *a;
    const char **ids;
    size_t n, cap;
};

static int subject_row(const struct store_row *row, void *ctx)
{
    struct subjects *s = ctx;
    if (s->n == s->cap)
        return 1;
    s->ids[s->n] = arena_strdup(s->a, store_row_text(row, 0, NULL));
    if (s->ids[s->n] == NULL)
        return 1;
    s->n++;
    return 0;
}

int patients_count_parse(const char *text, int *out)
{
    if (text == NULL) {
        *out = PATIENTS_COUNT_DEFAULT;
        return 0;
    }
    size_t len = strlen(text);
    if (len == 0 || len > 3)
        return -1;
    int v = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] < '0' || text[i] > '9')
            return -1;
        v = v * 10 + (text[i] - '0');
    }
    if (v < 1 || v > PATIENTS_COUNT_MAX)
        return -1;
    *out = v;
    return 0;
}

static void items_free(void *v)
{
    json_decref(v);
}

static int get_patients(struct http_request *req, void *ctx)
{
    struct patients_api *api = ctx;
    struct id_principal *p = arena_zalloc(req->arena, sizeof *p);
    if (p == NULL)
        return -1;
    int ok = id_principal_require(req, api->store, p);
    if (ok <= 0)
        return ok < 0 ? -1 : 0;
    static const char *const allowed[] = {"_count", "cursor", NULL};
    if (!http_query_only_or_problem(req, allowed))
        return 0;
    if (p->kind != ID_PRINCIPAL_PRACTITIONER || p->org_id == NULL || p->subject_id == NULL) {
        http_problem(req, "forbidden",
                     "only practitioners acting for an organisation list its patients");
        return 0;
    }
    if (p->scope == NULL ||
        id_scope_allows(p->scope, ID_SCOPE_USER, "Consent", ID_PERM_S, NULL, 0) == NULL) {
        http_set_header(req, "WWW-Authenticate",
                        "Bearer realm=\"cityos\", error=\"insufficient_scope\", "
                        "scope=\"user/Consent.s\"");
        http_problem(req, "forbidden", "the token's scope does not cover this (user/Consent.s)");
        return 0;
    }
    int count = 0;
    if (patients_count_parse(http_query(req, "_count"), &count) != 0) {
        http_problem(req, "invalid-parameter", "_count: a whole number from 1 to %d",
                     PATIENTS_COUNT_MAX);
        return 0;
    }
    const char *cursor = http_query(req, "cursor");
    if (cursor != NULL && !ids_valid(cursor)) {
        http_problem(req, "invalid-parameter", "cursor: not one this list gave");
        return 0;
    }
    struct consent_index *ix = consent_index_global();
    if (ix == NULL) {
        http_problem(req, "unavailable", "the consent index is not loaded yet");
        return 0;
    }
    struct page *pg = arena_zalloc(req->arena, sizeof *pg);
    if (pg == NULL)
        return -1;
    pg->req = req;
    pg->store = api->store;
    pg->p = p;
    pg->ix = ix;
    pg->now_ms = clock_now_ms();
    pg->like = arena_printf(req->arena, "%%,%s,%%", p->org_id);
    pg->names = id_scope_allows(p->scope, ID_SCOPE_USER, "Patient", ID_PERM_R, NULL, 0) != NULL;
    pg->rec.cap = (size_t)count * (PATIENTS_CONSENTS_MAX + 1);
    pg->rec.evs = arena_zalloc(req->arena, pg->rec.cap * sizeof *pg->rec.evs);
    struct err e = {0};
    if (pg->like == NULL || pg->rec.evs == NULL ||
        audit_event_from_principal(p, &pg->base, &e) != 0)
        return -1;
    audit_event_from_request(req, &pg->base);
    pg->items = json_array();
    if (pg->items == NULL)
        return -1;
    if (arena_defer(req->arena, items_free, pg->items) != 0) {
        json_decref(pg->items);
        return -1;
    }

    /* candidates by regional id after the cursor; those consent_decide does not confirm are
     * skipped, so a round may list fewer than it read: read on, a bounded number of rounds */
    const char *after = cursor != NULL ? cursor : "";
    size_t listed = 0;
    int more = 0, store_failed = 0, oom = 0;
    for (int round = 0; round < ROUNDS_MAX && listed < (size_t)count; round++) {
        size_t want = (size_t)count - listed;
        struct subjects sj = {.a = req->arena, .cap = want + 1};
        sj.ids = arena_zalloc(req->arena, sj.cap * sizeof *sj.ids);
        if (sj.ids == NULL)
            return -1;
        struct store_value pv[6];
        open_params(pg, pv);
        pv[4] = STORE_TEXT_V(after);
        pv[5] = STORE_INT_V((int64_t)sj.cap);
        if (store_query(api->store, SQL_SUBJECTS, pv, 6, subject_row, &sj, &e) != 0) {
            store_failed = 1;
            break;
        }
        more = sj.n > want;
        size_t take = more ? want : sj.n;
        for (size_t i = 0; i < take; i++) {
            int rc = list_subject(pg, sj.ids[i], &store_failed);
            if (rc < 0) {
                oom = !store_failed;
                break;
            }
            listed += (size_t)rc;
            after = sj.ids[i];
        }
        if (store_failed || oom || !more)
            break;
    }
    if (oom)
        return -1;
    if (store_failed) {
        http_problem(req, "unavailable", "the store did not answer");
        return 0;
    }
    json_t *o = json_pack("{s:s, s:O}", "organization", p->org_id, "items", pg->items);
    if (o == NULL)
        return -1;
    if (more && json_object_set_new(o, "next", json_string(after)) != 0) {
        json_decref(o);
        return -1;
    }
    struct audit_held *h = arena_zalloc(req->arena, sizeof *h);
    if (h == NULL || audit_held_json(req, h, o, "application/json") != 0) {
        json_decref(o);
        return -1;
    }
    json_decref(o);
    h->what = "the list of patients";
    h->retry_after = 1;
    if (pg->rec.n == 0) {
        /* nobody listed: no citizen's data handed out, nothing to record */
        http_set_header(req, "Cache-Control", "no-store");
        http_respond(req, 200, h->type, h->body, h->len);
        return 0;
    }
    return audit_answer_when_written(req, api->store, listing_write, &pg->rec, h);
}

int patients_api_register(struct http_router *r, struct patients_api *api, struct store *s)
{
    api->store = s;
    int rc = http_router_add(r, "GET", PATIENTS_PATH, get_patients, api);
    return rc == 0 ? patients__names_register(r, api) : rc;
}

int patients_api_routes(struct http_router *r, struct store *s)
{
    static struct patients_api api;
    return patients_api_register(r, &api, s);
}

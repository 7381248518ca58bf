/* audit_api.c - the citizen's access log and the auditors' FHIR AuditEvent search: who may read
 * which trail, the filters, names for the ids, counts per organisation, and the record of the
 * read itself, made durable before the answer is sent ("no record, no read"). */
#include "audit/audit_api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/actor.h"
#include "audit/held.h"
#include "audit/audit.h"
#include "audit/view.h"
#include "base/clock.h"
#include "base/ids.h"
#include "base/jsonx.h"
#include "base/log.h"
#include "fhir/outcome.h"
#include "http/problem.h"
#include "identity/client.h"
#include "identity/org.h"
#include "identity/person.h"
#include "identity/principal.h"

#define ACCESS_LOG   "/api/v1/me/access-log"
#define FHIR_AE      "/fhir/AuditEvent"
#define NAMES_CACHED 256

/* The rules that decide reads of a trail (decided_by in the record). */
#define RULE_SELF     "rule:self"
#define RULE_DELEGATE "rule:delegate"
#define RULE_AUDITOR  "rule:auditor"
#define RULE_DENY     "rule:default-deny"

/* ---- names, looked up once per request ---- */

struct name_item {
    enum audit_name_kind kind;
    const char *id, *name; /* name NULL: unknown */
};

struct names {
    struct store *s;
    struct arena *a;
    struct name_item *items;
    size_t n, cap;
    int lookups; /* store reads made (for tests of the cache) */
};

static const char *lookup_name(struct names *c, enum audit_name_kind kind, const char *id)
{
    struct err e = {0};
    c->lookups++;
    if (!ids_valid(id))
        return NULL;
    switch (kind) {
    case AUDIT_NAME_PERSON: {
        struct id_person p;
        if (id_person_get(c->s, id, &p, c->a, &e) != 0)
            return NULL;
        return arena_printf(c->a, "%s %s", p.family_name_kanji, p.given_name_kanji);
    }
    case AUDIT_NAME_ORG: {
        struct id_org o;
        return id_org_get(c->s, id, &o, c->a, &e) == 0 ? o.name_ja : NULL;
    }
    case AUDIT_NAME_CLIENT: {
        struct id_client cl;
        return id_client_get(c->s, id, &cl, c->a, &e) == 0 ? cl.name : NULL;
    }
    }
    return NULL;
}

static const char *name_of(void *ctx, enum audit_name_kind kind, const char *id)
{
    struct names *c = ctx;
    if (id == NULL)
        return NULL;
    for (size_t i = 0; i < c->n; i++)
        if (c->items[i].kind == kind && strcmp(c->items[i].id, id) == 0)
            return c->items[i].name;
    const char *name = lookup_name(c, kind, id);
    if (c->n < NAMES_CACHED) {
        struct name_item *items =
            arena_array_reserve(c->a, c->items, c->n, &c->cap, sizeof *c->items);
        const char *copy = arena_strdup(c->a, id);
        if (items != NULL && copy != NULL) {
            c->items = items;
            c->items[c->n++] = (struct name_item){kind, copy, name};
        }
    }
    return name;
}

/* Does subject name a person? 1 yes, 0 no, -1 the store failed. */
static int person_exists(struct store *s, const char *subject, struct arena *a)
{
    struct id_person p;
    struct err e = {0};
    int rc = id_person_get(s, subject, &p, a, &e);
    return rc == 0 ? 1 : rc == ERR_NOTFOUND || rc == ERR_INVALID ? 0 : -1;
}

/* A refusal about subject's trail: recorded on that trail when the person exists (a deny is a
 * decision on their data), then 403; a subject nobody has is refused without a record. */
static int refuse(struct http_request *req, struct store *s, const struct id_principal *p,
                  const char *subject, const char *resource_type, const char *action,
                  const char *detail, int fhir)
{
    int exists = subject != NULL ? person_exists(s, subject, req->arena) : 0;
    if (exists < 0) {
        if (fhir)
            fhir_outcome(req, 503, "transient", "the store did not answer");
        else
            http_problem(req, "unavailable", "the store did not answer");
        return 0;
    }
    struct audit_event ev = {0};
    struct err e = {0};
    if (exists == 0 || audit_event_from_principal(p, &ev, &e) != 0) {
        if (fhir)
            fhir_outcome(req, 403, "forbidden", "%s", detail);
        else
            http_problem(req, "forbidden", "%s", detail);
        return 0;
    }
    audit_event_from_request(req, &ev);
    ev.subject = subject;
    ev.action = action;
    ev.resource_type = resource_type;
    ev.decision = AUDIT_DENY;
    ev.decided_by = RULE_DENY;
    ev.reason = detail;
    struct audit_held *j = arena_zalloc(req->arena, sizeof *j);
    if (j == NULL)
        return -1;
    j->fhir = fhir;
    j->deny = detail;
    j->what = "a refused read of a trail";
    return audit_answer_when_recorded(req, s, &ev, j);
}

/* ---- GET /api/v1/me/access-log ---- */

static void put_query(FILE *out, const char *name, const char *value, int *first)
{
    static const char hex[] = "0123456789ABCDEF";
    if (value == NULL)
        return;
    fprintf(out, "%c%s=", *first ? '?' : '&', name);
    *first = 0;
    for (const unsigned char *c = (const unsigned char *)value; *c; c++) {
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
            *c == '-' || *c == '_' || *c == '.' || *c == '~')
            fputc(*c, out);
        else
            fprintf(out, "%%%c%c", hex[*c >> 4], hex[*c & 15]);
    }
}

static json_t *id_and_name(struct names *nm, enum audit_name_kind kind, const char *id)
{
    json_t *o = json_pack("{s:s}", "id", id);
    const char *name = name_of(nm, kind, id);
    if (o != NULL && name != NULL)
        json_object_set_new(o, "name", json_string(name));
    return o;
}

static void set_text(json_t *o, const char *key, const char *v)
{
    if (v != NULL)
        json_object_set_new(o, key, json_string(v));
}

static json_t *entry_json(const struct audit_entry *x, struct names *nm)
{
    const struct audit_event *ev = &x->ev;
    char when[40];
    clock_format_ms(ev->time_ms, when, sizeof when);
    json_t *who = json_pack("{s:s, s:s}", "kind", audit_actor_kind_name(ev->actor_kind), "id",
                            ev->actor_id ? ev->actor_id : "");
    if (who == NULL)
        return NULL;
    enum audit_name_kind k =
        ev->actor_kind == AUDIT_ACTOR_CLIENT ? AUDIT_NAME_CLIENT : AUDIT_NAME_PERSON;
    if (ev->actor_kind != AUDIT_ACTOR_DEVICE && ev->actor_kind != AUDIT_ACTOR_OPERATOR)
        set_text(who, "name", name_of(nm, k, ev->actor_id));
    set_text(who, "role", ev->actor_role);
    if (ev->actor_org != NULL)
        json_object_set_new(who, "org", id_and_name(nm, AUDIT_NAME_ORG, ev->actor_org));
    if (ev->client_id != NULL)
        json_object_set_new(who, "client", id_and_name(nm, AUDIT_NAME_CLIENT, ev->client_id));
    if (ev->on_behalf_of != NULL)
        json_object_set_new(who, "onBehalfOf",
                            id_and_name(nm, AUDIT_NAME_PERSON, ev->on_behalf_of));
    json_t *what = json_pack("{s:s}", "action", ev->action ? ev->action : "");
    if (what != NULL) {
        set_text(what, "resourceType", ev->resource_type);
        set_text(what, "resourceId", ev->resource_id);
        set_text(what, "category", ev->category);
    }
    json_t *why = json_object();
    if (why != NULL) {
        set_text(why, "purpose", ev->purpose);
        set_text(why, "decidedBy", ev->decided_by);
        set_text(why, "reason", ev->reason);
    }
    json_t *o =
        json_pack("{s:I, s:s, s:s, s:s, s:s, s:o, s:o, s:o}", "seq", (json_int_t)x->seq,
                  "entryHash", x->entry_hash, "prevHash", x->prev_hash, "time", when, "decision",
                  audit_decision_name(ev->decision), "who", who, "what", what, "why", why);
    if (o != NULL) {
        set_text(o, "requestId", ev->request_id);
        set_text(o, "sourceAddress", ev->source_addr);
    }
    return o;
}

/* Which trail the principal asks for, and may it read it? Returns the subject (NULL when none
 * can be named) and sets *decided_by (permit) or *deny (refusal detail). */
static const char *access_decision(struct http_request *req, struct store *s,
                                   const struct id_principal *p, const char *asked,
                                   const char **decided_by, const char **deny, int *failed)
{
    *decided_by = NULL;
    *deny = NULL;
    *failed = 0;
    if (p->kind == ID_PRINCIPAL_PERSON) {
        const char *subject = asked != NULL ? asked : p->subject_id;
        if (strcmp(subject, p->subject_id) == 0)
            *decided_by = RULE_SELF;
        else
            *deny = "a person token reads only its own trail; a family member signs in acting "
                    "for the person";
        return subject;
    }
    if (p->kind == ID_PRINCIPAL_DELEGATE) {
        const char *subject = asked != NULL ? asked : p->acting_for;
        if (strcmp(subject, p->acting_for) != 0) {
            *deny = "this token acts for another person";
            return subject;
        }
        /* the link is read now: a right taken back since the token was issued counts */
        struct id_family_link *links = NULL;
        size_t n = 0;
        struct err e = {0};
        if (id_family_link_list_for_delegate(s, p->subject_id, clock_now_ms(), req->arena, &links,
                                             &n, &e) != 0) {
            *failed = 1;
            return subject;
        }
        for (size_t i = 0; i < n; i++)
            if (strcmp(links[i].subject_id, subject) == 0 &&
                (links[i].rights & (ID_RIGHT_SEE_RECORD | ID_RIGHT_EVERYTHING)) != 0) {
                *decided_by = RULE_DELEGATE;
                return subject;
            }
        *deny = "the family link does not give the right to see this person's record";
        return subject;
    }
    *deny = "the access log is for the person it is about, or a family member acting for them";
    return asked;
}

static int get_access_log(struct http_request *req, void *ctx)
{
    static const char *const allowed[] = {"subject",  "from",     "until", "actor",  "org",
                                          "category", "decision", "limit", "cursor", NULL};
    struct audit_api *api = ctx;
    struct id_principal p;
    int ok = id_principal_require(req, api->store, &p);
    if (ok <= 0)
        return ok;
    if (!http_query_only_or_problem(req, allowed))
        return 0;
    struct audit_view_args args = {
        http_query(req, "from"),  http_query(req, "until"),    http_query(req, "actor"),
        http_query(req, "org"),   http_query(req, "category"), http_query(req, "decision"),
        http_query(req, "limit"), http_query(req, "cursor"),
    };
    struct audit_filter f;
    size_t limit;
    struct err e = {0};
    if (audit_view_args_parse(&args, &f, &limit, &e) != 0) {
        http_problem(req, "invalid-parameter", "%s", e.msg);
        return 0;
    }
    const char *asked = http_query(req, "subject");
    if (asked != NULL && !ids_valid(asked)) {
        http_problem(req, "invalid-parameter", "subject must be a regional ID");
        return 0;
    }
    const char *decided_by, *deny;
    int failed;
    const char *subject = access_decision(req, api->store, &p, asked, &decided_by, &deny, &failed);
    if (failed) {
        http_problem(req, "unavailable", "the store did not answer");
        return 0;
    }
    if (deny == NULL &&
        id_scope_allows(p.scope, ID_SCOPE_PATIENT, "AuditEvent", ID_PERM_S, NULL, 0) == NULL) {
        http_set_header(req, "WWW-Authenticate",
                        "Bearer realm=\"cityos\", error=\"insufficient_scope\", "
                        "scope=\"patient/AuditEvent.rs\"");
        deny = "the token's scope does not cover reading the access log (patient/AuditEvent.rs)";
    }
    if (deny != NULL)
        return refuse(req, api->store, &p, subject, "AuditTrail", "read", deny, 0);

    /* the page, the counts and the names, read before the record of this read */
    struct audit_page page;
    struct audit_org_count *counts = NULL;
    size_t ncounts = 0;
    int more = 0;
    int rc = audit_list_for_subject(api->store, subject, &f, limit, req->arena, &page, &e);
    if (rc == 0)
        rc = audit_count_by_org(api->store, subject, &f, req->arena, &counts, &ncounts, &more, &e);
    if (rc == ERR_NOMEM)
        return -1;
    if (rc != 0) {
        http_problem(req, "unavailable", "the trail could not be read");
        return 0;
    }
    struct names nm = {.s = api->store, .a = req->arena};
    json_t *items = json_array(), *cs = json_array();
    json_t *doc =
        json_pack("{s:o, s:o, s:o}", "subject", id_and_name(&nm, AUDIT_NAME_PERSON, subject),
                  "items", items, "counts", cs);
    if (doc == NULL || arena_defer(req->arena, jsonx_decref, doc) != 0) {
        json_decref(doc);
        return -1;
    }
    for (size_t i = 0; i < page.n; i++)
        if (json_array_append_new(items, entry_json(&page.items[i], &nm)) != 0)
            return -1;
    for (size_t i = 0; i < ncounts; i++) {
        json_t *org =
            counts[i].org != NULL ? id_and_name(&nm, AUDIT_NAME_ORG, counts[i].org) : json_null();
        json_t *c = json_pack("{s:o, s:I, s:I, s:I}", "org", org, "permit",
                              (json_int_t)counts[i].permit, "deny", (json_int_t)counts[i].deny,
                              "total", (json_int_t)(counts[i].permit + counts[i].deny));
        if (json_array_append_new(cs, c) != 0)
            return -1;
    }
    if (more)
        json_object_set_new(doc, "countsTruncated", json_true());
    if (page.next_before_seq > 0) {
        char cursor[AUDIT_CURSOR_MAX];
        audit_cursor_format(page.next_before_seq, cursor);
        char *next = NULL;
        size_t next_len = 0;
        FILE *out = open_memstream(&next, &next_len);
        if (out == NULL)
            return -1;
        int first = 1;
        fputs(ACCESS_LOG, out);
        put_query(out, "subject", asked, &first);
        put_query(out, "from", args.from, &first);
        put_query(out, "until", args.until, &first);
        put_query(out, "actor", args.actor, &first);
        put_query(out, "org", args.org, &first);
        put_query(out, "category", args.category, &first);
        put_query(out, "decision", args.decision, &first);
        char lim[8];
        snprintf(lim, sizeof lim, "%zu", limit);
        put_query(out, "limit", lim, &first);
        put_query(out, "cursor", cursor, &first);
        fclose(out);
        if (next == NULL)
            return -1;
        json_object_set_new(doc, "next", json_string(next));
        free(next);
    }
    struct audit_held *j = arena_zalloc(req->arena, sizeof *j);
    if (j == NULL)
        return -1;
    if (audit_held_json(req, j, doc, "application/json") != 0)
        return -1;
    j->what = "the read of a trail";

    struct audit_event ev = {0};
    if (audit_event_from_principal(&p, &ev, &e) != 0) {
        http_problem(req, "internal-error", "the principal cannot be recorded");
        return 0;
    }
    audit_event_from_request(req, &ev);
    ev.subject = subject;
    ev.action = "read";
    ev.resource_type = "AuditTrail";
    ev.decision = AUDIT_PERMIT;
    ev.decided_by = decided_by;
    return audit_answer_when_recorded(req, api->store, &ev, j);
}

/* ---- GET /fhir/AuditEvent ---- */

/* A FHIR date search value with its prefix into the filter. Accepts ge, gt, le, lt, eq or no
 * prefix, and a full date (YYYY-MM-DD, a UTC day) or an RFC 3339 date-time with a zone. */
static int fhir_date(const char *v, struct audit_filter *f)
{
    char prefix[3] = "eq";
    if (strlen(v) > 2 && v[0] >= 'a' && v[0] <= 'z' && v[1] >= 'a' && v[1] <= 'z') {
        memcpy(prefix, v, 2);
        v += 2;
    }
    int64_t start, end;
    size_t n = strlen(v);
    if (n == 10) {
        char buf[32];
        snprintf(buf, sizeof buf, "%.10sT00:00:00Z", v);
        if (clock_parse_rfc3339(buf, &start) != 0)
            return ERR_INVALID;
        end = start + 86400000LL;
    } else if (n > 10 && n < 40 && clock_parse_rfc3339(v, &start) == 0) {
        end = start + 1;
    } else {
        return ERR_INVALID;
    }
    if (start < 0)
        return ERR_INVALID;
    if (strcmp(prefix, "ge") == 0)
        f->from_ms = start;
    else if (strcmp(prefix, "gt") == 0)
        f->from_ms = end;
    else if (strcmp(prefix, "le") == 0)
        f->until_ms = end;
    else if (strcmp(prefix, "lt") == 0)
        f->until_ms = start;
    else if (strcmp(prefix, "eq") == 0) {
        f->from_ms = start;
        f->until_ms = end;
    } else
        return ERR_INVALID;
    return f->until_ms != 0 && f->from_ms >= f->until_ms ? ERR_INVALID : 0;
}

/* "Patient/<id>" or "<id>" (a regional ID), or NULL. */
static const char *ref_id(const char *v, const char *type)
{
    size_t n = strlen(type);
    if (strncmp(v, type, n) == 0 && v[n] == '/')
        v += n + 1;
    return ids_valid(v) ? v : NULL;
}

static int fhir_unauthorized(struct http_request *req, int rc)
{
    if (rc == ERR_NOTFOUND) {
        http_set_header(req, "WWW-Authenticate", "Bearer realm=\"cityos\"");
        fhir_outcome(req, 401, "login", "a bearer access token is required");
    } else {
        http_set_header(req, "WWW-Authenticate",
                        "Bearer realm=\"cityos\", error=\"invalid_token\"");
        fhir_outcome(req, 401, "login", "the access token is invalid, expired or revoked");
    }
    return 0;
}

/* Is p an auditor of the city office, with a token for AuditEvent searches? 1, 0, -1 store. */
static int is_auditor(struct http_request *req, struct store *s, const struct id_principal *p)
{
    if (p->kind != ID_PRINCIPAL_PRACTITIONER || p->role == NULL ||
        strcmp(p->role, "auditor") != 0 || p->org_id == NULL)
        return 0;
    if (id_scope_allows(p->scope, ID_SCOPE_USER, "AuditEvent", ID_PERM_S, NULL, 0) == NULL)
        return 0;
    struct id_org org;
    struct err e = {0};
    int rc = id_org_get(s, p->org_id, &org, req->arena, &e);
    if (rc == ERR_NOTFOUND)
        return 0;
    if (rc != 0)
        return -1;
    return org.kind == ID_ORG_CITY_OFFICE;
}

static int get_audit_events(struct http_request *req, void *ctx)
{
    static const char *const allowed[] = {"patient", "date",    "agent", "outcome",
                                          "_count",  "_cursor", NULL};
    struct audit_api *api = ctx;
    struct id_principal p;
    struct err e = {0};
    int rc = id_principal_from_request(req, api->store, &p, &e);
    if (rc == ERR_NOMEM)
        return -1;
    if (rc == ERR_NOTFOUND || rc == ERR_INVALID)
        return fhir_unauthorized(req, rc);
    if (rc != 0) {
        fhir_outcome(req, 503, "transient", "the token store did not answer");
        return 0;
    }
    const char *bad = NULL;
    int repeated = 0;
    if (!http_query_only(req, allowed, &bad, &repeated)) {
        fhir_outcome(req, 400, repeated ? "invalid" : "not-supported",
                     "%s search parameter \"%.40s\"", repeated ? "repeated" : "unsupported", bad);
        return 0;
    }
    const char *pv = http_query(req, "patient");
    if (pv == NULL) {
        fhir_outcome(req, 400, "required", "the patient search parameter is required");
        return 0;
    }
    const char *patient = ref_id(pv, "Patient");
    if (patient == NULL) {
        fhir_outcome(req, 400, "value", "patient must be Patient/<regional ID>");
        return 0;
    }
    struct audit_filter f = {0};
    const char *date = http_query(req, "date");
    if (date != NULL && fhir_date(date, &f) != 0) {
        fhir_outcome(req, 400, "value",
                     "date must be [ge|gt|le|lt|eq] and YYYY-MM-DD or an RFC 3339 date-time");
        return 0;
    }
    const char *agent = http_query(req, "agent");
    if (agent != NULL) {
        const char *id =
            ref_id(agent, strncmp(agent, "Patient/", 8) == 0 ? "Patient" : "Practitioner");
        if (id == NULL) {
            fhir_outcome(req, 400, "value",
                         "agent must be Practitioner/<id>, Patient/<id> or an id");
            return 0;
        }
        f.actor_id = id;
    }
    const char *outcome = http_query(req, "outcome");
    if (outcome != NULL) {
        if (strcmp(outcome, "0") == 0)
            f.decision = AUDIT_PERMIT;
        else if (strcmp(outcome, "4") == 0)
            f.decision = AUDIT_DENY;
        else {
            fhir_outcome(req, 400, "value", "outcome must be 0 (permitted) or 4 (refused)");
            return 0;
        }
    }
    struct audit_view_args va = {.limit = http_query(req, "_count"),
                                 .cursor = http_query(req, "_cursor")};
    struct audit_filter paging;
    size_t limit;
    if (audit_view_args_parse(&va, &paging, &limit, &e) != 0) {
        fhir_outcome(req, 400, "value", "_count must be 1..%d; _cursor one this server made",
                     AUDIT_VIEW_LIMIT_MAX);
        return 0;
    }
    f.before_seq = paging.before_seq;

    int auditor = is_auditor(req, api->store, &p);
    if (auditor < 0) {
        fhir_outcome(req, 503, "transient", "the store did not answer");
        return 0;
    }
    if (!auditor)
        return refuse(req, api->store, &p, patient, "AuditEvent", "search",
                      "AuditEvent search is for auditors of the city office", 1);

    struct audit_page page;
    rc = audit_list_for_subject(api->store, patient, &f, limit, req->arena, &page, &e);
    if (rc == ERR_NOMEM)
        return -1;
    if (rc != 0) {
        fhir_outcome(req, 503, "transient", "the trail could not be read");
        return 0;
    }
    struct names nm = {.s = api->store, .a = req->arena};
    const char *base = api->issuer != NULL ? api->issuer : "";
    json_t *entries = json_array();
    json_t *bundle = json_pack("{s:s, s:s, s:[], s:o}", "resourceType", "Bundle", "type",
                               "searchset", "link", "entry", entries);
    if (bundle == NULL || arena_defer(req->arena, jsonx_decref, bundle) != 0) {
        json_decref(bundle);
        return -1;
    }
    for (size_t i = 0; i < page.n; i++) {
        json_t *res = audit_entry_to_fhir(&page.items[i], name_of, &nm);
        char id[AUDIT_TEXT_MAX + 32];
        if (res == NULL || audit_fhir_id(&page.items[i], id, sizeof id) != 0) {
            json_decref(res);
            return -1;
        }
        char *full = arena_printf(req->arena, "%s" FHIR_AE "/%s", base, id);
        if (json_array_append_new(entries,
                                  json_pack("{s:s, s:o, s:{s:s}}", "fullUrl", full ? full : "",
                                            "resource", res, "search", "mode", "match")) != 0)
            return -1;
    }
    /* self and next links carry the parameters as given, in a fixed order */
    for (int k = 0; k < 2; k++) {
        if (k == 1 && page.next_before_seq == 0)
            break;
        char *url = NULL;
        size_t url_len = 0;
        FILE *out = open_memstream(&url, &url_len);
        if (out == NULL)
            return -1;
        int first = 1;
        fprintf(out, "%s" FHIR_AE, base);
        put_query(out, "patient", pv, &first);
        put_query(out, "date", date, &first);
        put_query(out, "agent", agent, &first);
        put_query(out, "outcome", outcome, &first);
        char lim[8], cursor[AUDIT_CURSOR_MAX];
        snprintf(lim, sizeof lim, "%zu", limit);
        put_query(out, "_count", lim, &first);
        if (k == 1)
            audit_cursor_format(page.next_before_seq, cursor);
        put_query(out, "_cursor", k == 1 ? cursor : va.cursor, &first);
        fclose(out);
        if (url == NULL)
            return -1;
        json_array_append_new(
            json_object_get(bundle, "link"),
            json_pack("{s:s, s:s}", "relation", k == 0 ? "self" : "next", "url", url));
        free(url);
    }
    struct audit_held *j = arena_zalloc(req->arena, sizeof *j);
    if (j == NULL)
        return -1;
    if (audit_held_json(req, j, bundle, FHIR_JSON) != 0)
        return -1;
    j->fhir = 1;
    j->what = "an auditor's search";

    /* the auditor's search is recorded on the patient's own trail */
    struct audit_event ev = {0};
    if (audit_event_from_principal(&p, &ev, &e) != 0) {
        fhir_outcome(req, 500, "exception", "the principal cannot be recorded");
        return 0;
    }
    audit_event_from_request(req, &ev);
    ev.subject = patient;
    ev.action = "search";
    ev.resource_type = "AuditEvent";
    ev.decision = AUDIT_PERMIT;
    ev.decided_by = RULE_AUDITOR;
    return audit_answer_when_recorded(req, api->store, &ev, j);
}

int audit_api_register(struct http_router *r, struct audit_api *api, struct store *s)
{
    api->store = s;
    int rc = http_router_add(r, "GET", ACCESS_LOG, get_access_log, api);
    if (rc == 0)
        rc = http_router_add(r, "GET", FHIR_AE, get_audit_events, api);
    return rc;
}

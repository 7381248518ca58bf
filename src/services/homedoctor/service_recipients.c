/* service_recipients.c - who a home-doctor alert goes to (Communication.recipient): the
 * citizen always, then every other party that may read the citizen's alerts at the time it is
 * sent, found among the citizen's family links and consents and confirmed one by one by the
 * one access decision (consent_decide). No permission of its own: the list says who the
 * decision lets in. */
#include <string.h>

#include "consent/consent.h"
#include "identity/org.h"
#include "services/homedoctor/service_internal.h"

struct recipients {
    struct store *s;
    struct arena *a;
    const struct consent_index *ix;
    const char *subject;
    int64_t now_ms;
    json_t *out;
    const char *seen[64]; /* ids already listed (at most 64 recipients besides the citizen) */
    size_t nseen;
    struct err err; /* the first failure (a store error, out of memory): nothing is sent */
};

static int listed(struct recipients *r, const char *id)
{
    for (size_t i = 0; i < r->nseen; i++)
        if (strcmp(r->seen[i], id) == 0)
            return 1;
    return 0;
}

/* May this actor read the subject's alerts now? */
static int may_read_alerts(const struct recipients *r, struct consent_query *q)
{
    q->subject = r->subject;
    q->category = CONSENT_CAT_ALERTS;
    q->action = CONSENT_READ;
    q->purpose = NULL; /* any purpose, as a /fhir read without X-Purpose-Of-Use */
    q->now_ms = r->now_ms;
    struct consent_decision d;
    return consent_decide(r->ix, q, &d) == 0 && d.effect == CONSENT_PERMIT;
}

static void add(struct recipients *r, const char *id, json_t *ref)
{
    if (ref == NULL) {
        err_set(&r->err, ERR_NOMEM, "out of memory");
        return;
    }
    if (r->nseen >= sizeof r->seen / sizeof r->seen[0] || json_array_append_new(r->out, ref) != 0)
        return; /* more than 64: the first 64 are listed (docs) */
    r->seen[r->nseen++] = id;
}

/* A person: a family member through a link (acting for the citizen) or named by a consent. */
static void consider_person(struct recipients *r, const char *id, int delegate, const char *why)
{
    if (listed(r, id) || strcmp(id, r->subject) == 0)
        return;
    struct consent_query q = {.actor_kind = delegate ? ID_PRINCIPAL_DELEGATE : ID_PRINCIPAL_PERSON,
                              .actor_id = id,
                              .acting_for = delegate ? r->subject : NULL};
    if (!may_read_alerts(r, &q))
        return;
    char ref[IDS_LEN + 16];
    snprintf(ref, sizeof ref, "Patient/%s", id);
    add(r, id, json_pack("{s:s, s:s}", "reference", ref, "display", why));
}

/* An organisation: its practitioners read under a consent naming it or its purpose. A client
 * (an app, the service itself) is no addressee and is skipped. */
static void consider_org(struct recipients *r, const char *id)
{
    if (listed(r, id))
        return;
    struct id_org org;
    struct err e = {0};
    int rc = id_org_get(r->s, id, &org, r->a, &e);
    if (rc == ERR_NOTFOUND || rc == ERR_INVALID)
        return; /* not an organisation (a client): no addressee */
    if (rc != 0) {
        if (r->err.code == 0)
            r->err = e;
        return;
    }
    struct consent_query q = {.actor_kind = ID_PRINCIPAL_PRACTITIONER, .org_id = id};
    if (!may_read_alerts(r, &q))
        return;
    add(r, id,
        json_pack("{s:s, s:{s:s, s:s}, s:s}", "type", "Organization", "identifier", "system",
                  "urn:cityos:organisation", "value", id, "display",
                  org.name_ja != NULL ? org.name_ja : id));
}

static int link_row(const struct store_row *row, void *ctx)
{
    struct recipients *r = ctx;
    const char *id = store_row_text(row, 0, NULL);
    const char *copy = id != NULL ? arena_strdup(r->a, id) : NULL;
    if (copy != NULL)
        consider_person(r, copy, 1, "family member");
    else if (id != NULL)
        err_set(&r->err, ERR_NOMEM, "out of memory");
    return 0;
}

/* The registered recipients of a purpose's current version ("a,b,c"), as organisations. */
static void consider_purpose(struct recipients *r, const char *code)
{
    struct consent_purpose p;
    struct err e = {0};
    int rc = consent_purpose_get(r->s, code, 0, &p, r->a, &e);
    if (rc != 0 && rc != ERR_NOTFOUND && r->err.code == 0)
        r->err = e;
    if (rc != 0 || p.recipients == NULL)
        return;
    const char *at = p.recipients;
    while (*at != '\0') {
        const char *comma = strchr(at, ',');
        size_t len = comma != NULL ? (size_t)(comma - at) : strlen(at);
        if (len == IDS_LEN) {
            char *id = arena_strndup(r->a, at, len);
            if (id != NULL)
                consider_org(r, id);
            else
                err_set(&r->err, ERR_NOMEM, "out of memory");
        }
        at += len + (comma != NULL);
    }
}

json_t *hd_recipients(struct store *s, struct arena *a, const char *subject, int64_t now_ms,
                      struct err *e)
{
    char self[IDS_LEN + 16];
    snprintf(self, sizeof self, "Patient/%s", subject);
    struct recipients r = {.s = s, .a = a, .subject = subject, .now_ms = now_ms};
    r.out = json_pack("[{s:s}]", "reference", self);
    r.ix = consent_index_global();
    if (r.out == NULL) {
        err_set(e, ERR_NOMEM, "out of memory");
        return NULL;
    }
    if (r.ix == NULL) /* no decision index (not serving): nobody else may be assumed */
        return r.out;
    /* family members whose link is valid now */
    struct store_value v[] = {STORE_TEXT_V(subject), STORE_INT_V(now_ms), STORE_INT_V(now_ms)};
    int rc = store_query(s,
                         "SELECT delegate_id FROM family_link WHERE subject_id = ? AND "
                         "valid_from_ms <= ? AND (valid_until_ms IS NULL OR valid_until_ms > ?) "
                         "ORDER BY created_ms, id",
                         v, 3, link_row, &r, e);
    /* the parties the citizen's active consents name */
    struct consent_record *list = NULL;
    size_t n = 0;
    if (rc == 0)
        rc = consent_list_for_subject(s, subject, a, &list, &n, e);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const struct consent_record *c = &list[i];
        if (c->withdrawn || !(c->actions & CONSENT_READ) || !(c->cats & (1u << CONSENT_CAT_ALERTS)))
            continue;
        if (c->recipient_kind == CONSENT_TO_PERSON && c->recipient_id != NULL)
            consider_person(&r, c->recipient_id, 0, "a person the citizen named in a consent");
        else if (c->recipient_kind == CONSENT_TO_ORGANISATION && c->recipient_id != NULL)
            consider_org(&r, c->recipient_id);
        else if (c->recipient_kind == CONSENT_TO_PURPOSE)
            consider_purpose(&r, c->purpose_code);
    }
    if (rc == 0 && r.err.code != 0) {
        *e = r.err;
        rc = e->code;
    }
    if (rc != 0) {
        json_decref(r.out);
        return NULL;
    }
    return r.out;
}

/* record.c - appending access decisions to the subjects' hash chains: the event check, the
 * append inside a caller's write, and the asynchronous record through the group commit. */
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "audit/hash.h"
#include "audit/internal.h"
#include "base/clock.h"
#include "base/utf8.h"

static const char *const actor_names[] = {
    [AUDIT_ACTOR_PERSON] = "person",
    [AUDIT_ACTOR_DELEGATE] = "delegate",
    [AUDIT_ACTOR_PRACTITIONER] = "practitioner",
    [AUDIT_ACTOR_CLIENT] = "client",
    [AUDIT_ACTOR_DEVICE] = "device",
    [AUDIT_ACTOR_OPERATOR] = "operator",
};
#define ACTOR_COUNT (sizeof actor_names / sizeof actor_names[0])

const char *audit_actor_kind_name(enum audit_actor_kind k)
{
    return (unsigned)k > AUDIT_ACTOR_NONE && (unsigned)k < ACTOR_COUNT ? actor_names[k] : NULL;
}

const char *audit_decision_name(enum audit_decision d)
{
    return d == AUDIT_PERMIT ? "permit" : d == AUDIT_DENY ? "deny" : NULL;
}

enum audit_actor_kind audit_actor_kind_parse(const char *s)
{
    for (unsigned k = AUDIT_ACTOR_PERSON; s != NULL && k < ACTOR_COUNT; k++)
        if (strcmp(s, actor_names[k]) == 0)
            return (enum audit_actor_kind)k;
    return AUDIT_ACTOR_NONE;
}

enum audit_decision audit_decision_parse(const char *s)
{
    if (s != NULL && strcmp(s, "permit") == 0)
        return AUDIT_PERMIT;
    if (s != NULL && strcmp(s, "deny") == 0)
        return AUDIT_DENY;
    return AUDIT_DECISION_ANY;
}

/* One text field: required or not, valid UTF-8 without NUL, at most max bytes. */
static int check_text(const char *s, const char *name, int required, size_t max, struct err *e)
{
    if (s == NULL || s[0] == '\0')
        return required ? err_set(e, ERR_INVALID, "audit event: %s is required", name) : 0;
    size_t n = strnlen(s, max + 1);
    if (n > max)
        return err_set(e, ERR_INVALID, "audit event: %s is longer than %zu bytes", name, max);
    if (!utf8_valid(s, n))
        return err_set(e, ERR_INVALID, "audit event: %s is not UTF-8", name);
    return 0;
}

static int action_token(const char *s)
{
    for (; *s != '\0'; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' ||
              *s == '.'))
            return 0;
    return 1;
}

int audit_event_check(const struct audit_event *ev, struct err *e)
{
    if (ev == NULL)
        return err_set(e, ERR_INVALID, "audit event: missing");
    if (audit_actor_kind_name(ev->actor_kind) == NULL)
        return err_set(e, ERR_INVALID, "audit event: actor_kind is not a kind");
    if (audit_decision_name(ev->decision) == NULL)
        return err_set(e, ERR_INVALID, "audit event: decision is not permit or deny");
    if (ev->time_ms < 0)
        return err_set(e, ERR_INVALID, "audit event: time_ms is negative");
    int rc;
    if ((rc = check_text(ev->subject, "subject", 1, AUDIT_TEXT_MAX, e)) != 0 ||
        (rc = check_text(ev->actor_id, "actor_id", 1, AUDIT_TEXT_MAX, e)) != 0 ||
        (rc = check_text(ev->action, "action", 1, AUDIT_ACTION_MAX, e)) != 0 ||
        (rc = check_text(ev->actor_org, "actor_org", 0, AUDIT_TEXT_MAX, e)) != 0 ||
        (rc = check_text(ev->actor_role, "actor_role", 0, AUDIT_TEXT_MAX, e)) != 0 ||
        (rc = check_text(ev->client_id, "client_id", 0, AUDIT_TEXT_MAX, e)) != 0 ||
        (rc = check_text(ev->on_behalf_of, "on_behalf_of", 0, AUDIT_TEXT_MAX, e)) != 0 ||
        (rc = check_text(ev->resource_type, "resource_type", 0, AUDIT_TEXT_MAX, e)) != 0 ||
        (rc = check_text(ev->resource_id, "resource_id", 0, AUDIT_TEXT_MAX, e)) != 0 ||
        (rc = check_text(ev->category, "category", 0, AUDIT_TEXT_MAX, e)) != 0 ||
        (rc = check_text(ev->purpose, "purpose", 0, AUDIT_TEXT_MAX, e)) != 0 ||
        (rc = check_text(ev->decided_by, "decided_by", 0, AUDIT_TEXT_MAX, e)) != 0 ||
        (rc = check_text(ev->reason, "reason", 0, AUDIT_REASON_MAX, e)) != 0 ||
        (rc = check_text(ev->request_id, "request_id", 0, AUDIT_TEXT_MAX, e)) != 0 ||
        (rc = check_text(ev->source_addr, "source_addr", 0, AUDIT_TEXT_MAX, e)) != 0)
        return rc;
    if (!action_token(ev->action))
        return err_set(e, ERR_INVALID, "audit event: action is not a token of [a-z0-9._-]");
    return 0;
}

/* ---- append ---- */

struct head {
    int found;
    int64_t seq;
    char hash[AUDIT_HEX_LEN + 1];
};

static int head_row(const struct store_row *r, void *ctx)
{
    struct head *h = ctx;
    size_t n = 0;
    const char *hex = store_row_text(r, 1, &n);
    h->found = 1;
    h->seq = store_row_int(r, 0);
    if (hex != NULL && n == AUDIT_HEX_LEN)
        memcpy(h->hash, hex, AUDIT_HEX_LEN + 1);
    return 1;
}

static struct store_value text_or_null(const char *s)
{
    return s != NULL && s[0] != '\0' ? STORE_TEXT_V(s) : STORE_NULL_V;
}

int audit_append(struct store_tx *tx, const struct audit_event *in, struct audit_appended *out,
                 struct err *e)
{
    int rc = audit_event_check(in, e);
    if (rc != 0)
        return rc;
    struct audit_event ev = *in;
    if (ev.time_ms == 0)
        ev.time_ms = clock_now_ms();

    /* the head is read from the entries themselves, not from the derived audit_head table */
    struct head h = {0};
    struct store_value key = STORE_TEXT_V(ev.subject);
    rc = store_tx_query(tx,
                        "SELECT seq, entry_hash FROM audit_entry WHERE subject = ? "
                        "ORDER BY seq DESC LIMIT 1",
                        &key, 1, head_row, &h, e);
    if (rc != 0)
        return rc;
    unsigned char prev[AUDIT_HASH_LEN], hash[AUDIT_HASH_LEN];
    if (!h.found)
        audit_hash_genesis(ev.subject, prev);
    else if (audit_hash_from_hex(h.hash, prev) != 0)
        return err_set(e, ERR_INTERNAL,
                       "audit: the chain head's hash is malformed (run "
                       "`cityos audit verify`)");
    int64_t seq = h.found ? h.seq + 1 : 1;
    if ((rc = audit_hash_entry(prev, &ev, seq, hash)) != 0)
        return err_set(e, rc, "audit event: too long to encode");

    char prev_hex[AUDIT_HEX_LEN + 1], hash_hex[AUDIT_HEX_LEN + 1];
    audit_hash_to_hex(prev, prev_hex);
    audit_hash_to_hex(hash, hash_hex);
    struct store_value v[21] = {
        STORE_TEXT_V(ev.subject),
        STORE_INT_V(seq),
        STORE_INT_V(ev.time_ms),
        STORE_TEXT_V(audit_actor_kind_name(ev.actor_kind)),
        STORE_TEXT_V(ev.actor_id),
        text_or_null(ev.actor_org),
        text_or_null(ev.actor_role),
        text_or_null(ev.client_id),
        text_or_null(ev.on_behalf_of),
        STORE_TEXT_V(ev.action),
        text_or_null(ev.resource_type),
        text_or_null(ev.resource_id),
        text_or_null(ev.category),
        text_or_null(ev.purpose),
        STORE_TEXT_V(audit_decision_name(ev.decision)),
        text_or_null(ev.decided_by),
        text_or_null(ev.reason),
        text_or_null(ev.request_id),
        text_or_null(ev.source_addr),
        STORE_TEXT_V(prev_hex),
        STORE_TEXT_V(hash_hex),
    };
    rc = store_tx_exec(tx,
                       "INSERT INTO audit_entry (subject, seq, time_ms, actor_kind, actor_id, "
                       "actor_org, actor_role, client_id, on_behalf_of, action, resource_type, "
                       "resource_id, category, purpose, decision, decided_by, reason, "
                       "request_id, source_addr, prev_hash, entry_hash) VALUES (?, ?, ?, ?, ?, "
                       "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       v, 21, e);
    if (rc < 0)
        return rc;

    /* the head table: one row per subject, moved forward only from the seq it held */
    struct store_value hv[4] = {STORE_INT_V(seq), STORE_TEXT_V(hash_hex), STORE_TEXT_V(ev.subject),
                                STORE_INT_V(seq - 1)};
    rc = store_tx_exec(tx, "UPDATE audit_head SET seq = ?, head = ? WHERE subject = ? AND seq = ?",
                       hv, 4, e);
    if (rc == 0 && seq > 1) /* the chain has entries but the head row does not follow them */
        return err_set(e, ERR_INTERNAL,
                       "audit: the head table disagrees with a chain (run `cityos audit verify`)");
    if (rc == 0)
        rc = store_tx_exec(tx, "INSERT INTO audit_head (seq, head, subject) VALUES (?, ?, ?)", hv,
                           3, e);
    if (rc < 0)
        return rc;
    if (out != NULL) {
        out->seq = seq;
        out->time_ms = ev.time_ms;
        memcpy(out->entry_hash, hash_hex, sizeof hash_hex);
    }
    return 0;
}

int audit_record_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    return audit_append(tx, ctx, NULL, e);
}

/* ---- asynchronous record ---- */

/* Queued records: the events, then every string they point to, in one allocation. */
struct async_job {
    store_done_fn done;
    void *done_ctx;
    size_t n;
    struct audit_event *ev; /* n events, right after the struct */
};

static int async_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct async_job *j = ctx;
    for (size_t i = 0; i < j->n; i++) {
        int rc = audit_append(tx, &j->ev[i], NULL, e);
        if (rc != 0)
            return rc; /* the savepoint rolls every record of the job back */
    }
    return 0;
}

static void async_done(int status, const struct err *e, void *ctx)
{
    struct async_job *j = ctx;
    store_done_fn done = j->done;
    void *done_ctx = j->done_ctx;
    free(j);
    if (done != NULL)
        done(status, e, done_ctx);
}

int audit_record_many_async(struct store *s, const struct audit_event *evs, size_t n,
                            store_done_fn done, void *done_ctx, struct err *e)
{
    if (n < 1 || n > AUDIT_MANY_MAX)
        return err_set(e, ERR_INVALID, "audit: 1..%d records at once", AUDIT_MANY_MAX);
    size_t total = 0;
    for (size_t k = 0; k < n; k++) {
        int rc = audit_event_check(&evs[k], e);
        if (rc != 0)
            return rc;
        struct audit_event tmp = evs[k];
        const char **m;
        for (size_t i = 0; (m = audit__event_text(&tmp, i)) != NULL; i++)
            total += *m != NULL ? strlen(*m) + 1 : 0;
    }
    struct async_job *j = malloc(sizeof *j + n * sizeof *j->ev + total);
    if (j == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    j->done = done;
    j->done_ctx = done_ctx;
    j->n = n;
    j->ev = (struct audit_event *)(j + 1);
    char *p = (char *)(j->ev + n);
    int64_t now = clock_now_ms();
    for (size_t k = 0; k < n; k++) {
        j->ev[k] = evs[k];
        if (j->ev[k].time_ms == 0) /* the time of the decision, not of the commit */
            j->ev[k].time_ms = now;
        const char **m;
        for (size_t i = 0; (m = audit__event_text(&j->ev[k], i)) != NULL; i++) {
            if (*m == NULL)
                continue;
            size_t len = strlen(*m) + 1;
            memcpy(p, *m, len);
            *m = p;
            p += len;
        }
    }
    int rc = store_write_async(s, async_fn, j, async_done, j);
    if (rc != 0) {
        free(j);
        return err_set(e, rc,
                       rc == ERR_UNAVAILABLE ? "audit: the store is closing or its write queue is "
                                               "full; the decision was not recorded"
                                             : "audit: cannot queue the record");
    }
    return 0;
}

int audit_record_async(struct store *s, const struct audit_event *ev, store_done_fn done,
                       void *done_ctx, struct err *e)
{
    if (ev == NULL)
        return err_set(e, ERR_INVALID, "audit event: missing");
    return audit_record_many_async(s, ev, 1, done, done_ctx, e);
}

/* ---- shared with list.c and verify.c ---- */

const char **audit__event_text(struct audit_event *ev, size_t i)
{
    const char **m[] = {&ev->subject,     &ev->actor_id,     &ev->actor_org,  &ev->actor_role,
                        &ev->client_id,   &ev->on_behalf_of, &ev->action,     &ev->resource_type,
                        &ev->resource_id, &ev->category,     &ev->purpose,    &ev->decided_by,
                        &ev->reason,      &ev->request_id,   &ev->source_addr};
    return i < sizeof m / sizeof m[0] ? m[i] : NULL;
}

static void hex_col(const struct store_row *r, int col, char out[AUDIT_HEX_LEN + 1])
{
    size_t n = 0;
    const char *s = store_row_text(r, col, &n);
    if (s == NULL || n != AUDIT_HEX_LEN)
        n = 0;
    memcpy(out, s != NULL ? s : "", n);
    out[n] = '\0';
}

void audit__entry_from_row(const struct store_row *r, struct audit_entry *x)
{
    struct audit_event *ev = &x->ev;
    memset(x, 0, sizeof *x);
    ev->subject = store_row_text(r, 0, NULL);
    x->seq = store_row_int(r, 1);
    ev->time_ms = store_row_int(r, 2);
    ev->actor_kind = audit_actor_kind_parse(store_row_text(r, 3, NULL));
    ev->actor_id = store_row_text(r, 4, NULL);
    ev->actor_org = store_row_text(r, 5, NULL);
    ev->actor_role = store_row_text(r, 6, NULL);
    ev->client_id = store_row_text(r, 7, NULL);
    ev->on_behalf_of = store_row_text(r, 8, NULL);
    ev->action = store_row_text(r, 9, NULL);
    ev->resource_type = store_row_text(r, 10, NULL);
    ev->resource_id = store_row_text(r, 11, NULL);
    ev->category = store_row_text(r, 12, NULL);
    ev->purpose = store_row_text(r, 13, NULL);
    ev->decision = audit_decision_parse(store_row_text(r, 14, NULL));
    ev->decided_by = store_row_text(r, 15, NULL);
    ev->reason = store_row_text(r, 16, NULL);
    ev->request_id = store_row_text(r, 17, NULL);
    ev->source_addr = store_row_text(r, 18, NULL);
    hex_col(r, 19, x->prev_hash);
    hex_col(r, 20, x->entry_hash);
}

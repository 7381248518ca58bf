/* record.c - appending access decisions to the subjects' hash chains: the event check, the
 * append inside a caller's write, and the asynchronous record through the group commit. */
#include <pthread.h>
#include <stdint.h>
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

/* One subject's chain during an append: where it stood and where it is now. */
struct chain {
    const char *subject;
    int64_t seq0; /* the head's seq at the start (0: no entry yet) */
    int64_t seq;  /* the head's seq after the entries appended so far */
    unsigned char head[AUDIT_HASH_LEN];
};

#define ENTRY_COLS 21
#define ENTRY_INSERT                                                                               \
    "INSERT INTO audit_entry (subject, seq, time_ms, actor_kind, actor_id, actor_org, "            \
    "actor_role, client_id, on_behalf_of, action, resource_type, resource_id, category, purpose, " \
    "decision, decided_by, reason, request_id, source_addr, prev_hash, entry_hash) VALUES "
#define ENTRY_ROW "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
#define ROWS_MAX  32 /* rows of the largest INSERT */

/* The INSERTs of 32, 8 and 1 rows: few texts for the statement caches, few statements. */
static const size_t row_sizes[] = {ROWS_MAX, 8, 1};
#define ROW_SIZES (sizeof row_sizes / sizeof row_sizes[0])
static char *insert_sql[ROW_SIZES];
static pthread_once_t insert_once = PTHREAD_ONCE_INIT;

static void insert_sql_build(void)
{
    for (size_t k = 0; k < ROW_SIZES; k++) {
        size_t rows = row_sizes[k];
        size_t len = sizeof ENTRY_INSERT + rows * (sizeof ENTRY_ROW + 2);
        char *sql = malloc(len);
        if (sql == NULL)
            continue; /* that size is then not used (1 row never needs this) */
        size_t at = 0;
        memcpy(sql, ENTRY_INSERT, sizeof ENTRY_INSERT - 1);
        at = sizeof ENTRY_INSERT - 1;
        for (size_t r = 0; r < rows; r++) {
            if (r > 0) {
                memcpy(sql + at, ", ", 2);
                at += 2;
            }
            memcpy(sql + at, ENTRY_ROW, sizeof ENTRY_ROW - 1);
            at += sizeof ENTRY_ROW - 1;
        }
        sql[at] = '\0';
        insert_sql[k] = sql;
    }
}

/* The working memory of one append: the chains by subject (open addressing over a power-of-two
 * table of indexes + 1), each event's chain, and the rows waiting for their INSERT. */
struct append {
    struct chain *chains;
    size_t nchains;
    uint32_t *slot;
    size_t mask;
    uint32_t *chain_of; /* n: index into chains */
    size_t pending;     /* rows in v waiting */
    struct store_value *v;
    char (*prev_hex)[AUDIT_HEX_LEN + 1];
    char (*hash_hex)[AUDIT_HEX_LEN + 1];
    void *mem;
};

static uint64_t subject_hash(const char *s)
{
    uint64_t h = 14695981039346656037u; /* FNV-1a */
    for (; *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211u;
    }
    return h;
}

static int append_init(struct append *a, size_t n, struct err *e)
{
    size_t size = 2;
    while (size < 2 * n)
        size *= 2;
    size_t rows = n < ROWS_MAX ? n : ROWS_MAX;
    size_t off_slot = n * sizeof *a->chains;
    size_t off_of = off_slot + size * sizeof *a->slot;
    size_t off_v = (off_of + n * sizeof *a->chain_of + 15) & ~(size_t)15;
    size_t off_prev = off_v + rows * ENTRY_COLS * sizeof *a->v;
    size_t off_hash = off_prev + rows * sizeof *a->prev_hex;
    size_t total = off_hash + rows * sizeof *a->hash_hex;
    char *m = calloc(1, total);
    if (m == NULL)
        return err_set(e, ERR_NOMEM, "out of memory recording");
    *a = (struct append){.chains = (struct chain *)(void *)m,
                         .slot = (uint32_t *)(void *)(m + off_slot),
                         .mask = size - 1,
                         .chain_of = (uint32_t *)(void *)(m + off_of),
                         .v = (struct store_value *)(void *)(m + off_v),
                         .prev_hex = (char(*)[AUDIT_HEX_LEN + 1])(void *)(m + off_prev),
                         .hash_hex = (char(*)[AUDIT_HEX_LEN + 1])(void *)(m + off_hash),
                         .mem = m};
    return 0;
}

/* The chain of subject: found, or added (fresh set) unread. */
static uint32_t chain_find(struct append *a, const char *subject, int *fresh)
{
    size_t i = (size_t)subject_hash(subject) & a->mask;
    for (; a->slot[i] != 0; i = (i + 1) & a->mask)
        if (strcmp(a->chains[a->slot[i] - 1].subject, subject) == 0) {
            *fresh = 0;
            return a->slot[i] - 1;
        }
    *fresh = 1;
    a->chains[a->nchains].subject = subject;
    a->slot[i] = (uint32_t)++a->nchains;
    return a->slot[i] - 1;
}

/* Reads a chain's head from its entries themselves, not from the derived audit_head table. */
static int chain_load(struct store_tx *tx, struct chain *ch, struct err *e)
{
    struct head h = {0};
    struct store_value key = STORE_TEXT_V(ch->subject);
    int rc = store_tx_query(tx,
                            "SELECT seq, entry_hash FROM audit_entry WHERE subject = ? "
                            "ORDER BY seq DESC LIMIT 1",
                            &key, 1, head_row, &h, e);
    if (rc != 0)
        return rc;
    if (!h.found)
        audit_hash_genesis(ch->subject, ch->head);
    else if (audit_hash_from_hex(h.hash, ch->head) != 0)
        return err_set(e, ERR_INTERNAL,
                       "audit: the chain head's hash is malformed (run "
                       "`cityos audit verify`)");
    ch->seq0 = ch->seq = h.found ? h.seq : 0;
    return 0;
}

/* Inserts the pending rows with as few statements as the row sizes allow. */
static int rows_flush(struct store_tx *tx, struct append *a, struct err *e)
{
    size_t done = 0;
    for (size_t k = 0; k < ROW_SIZES && done < a->pending; k++) {
        const size_t rows = row_sizes[k];
        if (insert_sql[k] == NULL && rows > 1)
            continue;
        while (a->pending - done >= rows) {
            const char *sql = insert_sql[k] != NULL ? insert_sql[k] : ENTRY_INSERT ENTRY_ROW;
            int rc = store_tx_exec(tx, sql, &a->v[done * ENTRY_COLS], rows * ENTRY_COLS, e);
            if (rc < 0)
                return rc;
            done += rows;
        }
    }
    a->pending = 0;
    return 0;
}

/* ev (checked, stamped) as the next entry of ch, into the pending rows. */
static int row_add(struct store_tx *tx, struct append *a, struct chain *ch,
                   const struct audit_event *ev, struct audit_appended *out, struct err *e)
{
    if (a->pending == ROWS_MAX) {
        int frc = rows_flush(tx, a, e);
        if (frc != 0)
            return frc;
    }
    unsigned char hash[AUDIT_HASH_LEN];
    int64_t seq = ch->seq + 1;
    int rc = audit_hash_entry(ch->head, ev, seq, hash);
    if (rc != 0)
        return err_set(e, rc, "audit event: too long to encode");
    size_t i = a->pending++;
    audit_hash_to_hex(ch->head, a->prev_hex[i]);
    audit_hash_to_hex(hash, a->hash_hex[i]);
    struct store_value *v = &a->v[i * ENTRY_COLS];
    v[0] = STORE_TEXT_V(ev->subject);
    v[1] = STORE_INT_V(seq);
    v[2] = STORE_INT_V(ev->time_ms);
    v[3] = STORE_TEXT_V(audit_actor_kind_name(ev->actor_kind));
    v[4] = STORE_TEXT_V(ev->actor_id);
    v[5] = text_or_null(ev->actor_org);
    v[6] = text_or_null(ev->actor_role);
    v[7] = text_or_null(ev->client_id);
    v[8] = text_or_null(ev->on_behalf_of);
    v[9] = STORE_TEXT_V(ev->action);
    v[10] = text_or_null(ev->resource_type);
    v[11] = text_or_null(ev->resource_id);
    v[12] = text_or_null(ev->category);
    v[13] = text_or_null(ev->purpose);
    v[14] = STORE_TEXT_V(audit_decision_name(ev->decision));
    v[15] = text_or_null(ev->decided_by);
    v[16] = text_or_null(ev->reason);
    v[17] = text_or_null(ev->request_id);
    v[18] = text_or_null(ev->source_addr);
    v[19] = STORE_TEXT_V(a->prev_hex[i]);
    v[20] = STORE_TEXT_V(a->hash_hex[i]);
    ch->seq = seq;
    memcpy(ch->head, hash, sizeof hash);
    if (out != NULL) {
        out->seq = seq;
        out->time_ms = ev->time_ms;
        memcpy(out->entry_hash, a->hash_hex[i], sizeof a->hash_hex[i]);
    }
    return 0;
}

/* Moves each chain's head row forward once, only from the seq it held at the start. */
static int heads_store(struct store_tx *tx, const struct append *a, struct err *e)
{
    for (size_t i = 0; i < a->nchains; i++) {
        const struct chain *ch = &a->chains[i];
        char hex[AUDIT_HEX_LEN + 1];
        audit_hash_to_hex(ch->head, hex);
        struct store_value hv[4] = {STORE_INT_V(ch->seq), STORE_TEXT_V(hex),
                                    STORE_TEXT_V(ch->subject), STORE_INT_V(ch->seq0)};
        int rc = store_tx_exec(
            tx, "UPDATE audit_head SET seq = ?, head = ? WHERE subject = ? AND seq = ?", hv, 4, e);
        if (rc == 0 && ch->seq0 > 0) /* the chain has entries but the head row does not follow */
            return err_set(e, ERR_INTERNAL,
                           "audit: the head table disagrees with a chain (run `cityos audit "
                           "verify`)");
        if (rc == 0)
            rc = store_tx_exec(tx, "INSERT INTO audit_head (seq, head, subject) VALUES (?, ?, ?)",
                               hv, 3, e);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int audit_append_many(struct store_tx *tx, const struct audit_event *evs, size_t n,
                      struct audit_appended *out, struct err *e)
{
    if (evs == NULL || n == 0 || n > UINT32_MAX / 4)
        return err_set(e, ERR_INVALID, "audit: no events to append");
    int rc;
    for (size_t i = 0; i < n; i++)
        if ((rc = audit_event_check(&evs[i], e)) != 0)
            return rc;
    pthread_once(&insert_once, insert_sql_build);
    struct append a;
    if ((rc = append_init(&a, n, e)) != 0)
        return rc;
    for (size_t i = 0; i < n; i++) { /* every subject's head, once */
        int fresh;
        a.chain_of[i] = chain_find(&a, evs[i].subject, &fresh);
        if (fresh && (rc = chain_load(tx, &a.chains[a.chain_of[i]], e)) != 0)
            goto out;
    }
    int64_t now = 0;
    for (size_t i = 0; i < n; i++) {
        struct audit_event ev = evs[i];
        if (ev.time_ms == 0)
            ev.time_ms = now != 0 ? now : (now = clock_now_ms());
        if ((rc = row_add(tx, &a, &a.chains[a.chain_of[i]], &ev, out != NULL ? &out[i] : NULL,
                          e)) != 0)
            goto out;
    }
    if ((rc = rows_flush(tx, &a, e)) == 0)
        rc = heads_store(tx, &a, e);
out:
    free(a.mem);
    return rc;
}

int audit_append(struct store_tx *tx, const struct audit_event *ev, struct audit_appended *out,
                 struct err *e)
{
    if (ev == NULL)
        return err_set(e, ERR_INVALID, "audit event: missing");
    return audit_append_many(tx, ev, 1, out, e);
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

/* The group write of the records queued one after another (store_write_group_async): all their
 * events in queue order through one audit_append_many(), so each subject's head is read once,
 * the entries share multi-row INSERTs and each head row moves once. A failure fails the call;
 * the store then runs each record alone (n = 1), so one bad record fails only its own read. */
static int records_fn(struct store_tx *tx, void *const *ctxs, size_t n, struct err *e)
{
    if (n == 1) {
        const struct async_job *j = ctxs[0];
        return audit_append_many(tx, j->ev, j->n, NULL, e);
    }
    size_t total = 0;
    for (size_t k = 0; k < n; k++)
        total += ((const struct async_job *)ctxs[k])->n;
    struct audit_event *all = malloc(total * sizeof *all);
    if (all == NULL)
        return err_set(e, ERR_NOMEM, "out of memory recording");
    size_t at = 0;
    for (size_t k = 0; k < n; k++) {
        const struct async_job *j = ctxs[k];
        memcpy(&all[at], j->ev, j->n * sizeof *all);
        at += j->n;
    }
    int rc = audit_append_many(tx, all, total, NULL, e);
    free(all);
    return rc;
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
    int rc = store_write_group_async(s, records_fn, j, async_done, j);
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

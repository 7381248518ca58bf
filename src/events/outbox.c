/* outbox.c - appending an event inside the caller's store transaction (event.h). The sequence
 * number is the highest so far plus one, read in the same transaction: the store's single
 * writer keeps it gap-free and in commit order (on a multi-writer backend the primary key
 * refuses a race with ERR_CONFLICT, and the write is retried like any conflict). */
#include "events/event.h"

#include <string.h>

#include "events/internal.h"

static int token_ok(const char *s, size_t max)
{
    size_t n = s != NULL ? strlen(s) : 0;
    if (n == 0 || n > max)
        return 0;
    for (; *s != '\0'; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' ||
              *s == '-'))
            return 0;
    return 1;
}

int event__token_ok(const char *s, size_t max)
{
    return token_ok(s, max);
}

static int read_max(const struct store_row *row, void *ctx)
{
    *(int64_t *)ctx = store_row_is_null(row, 0) ? 0 : store_row_int(row, 0);
    return 0;
}

int event_append(struct store_tx *tx, const char *kind, const char *subject, const char *ref,
                 const char *payload, int64_t now_ms, int64_t *seq, struct err *e)
{
    if (!token_ok(kind, EVENT_KIND_MAX))
        return err_set(e, ERR_INVALID, "event kind: [a-z0-9._-]{1,%d}", EVENT_KIND_MAX);
    if (payload == NULL || strlen(payload) > EVENT_PAYLOAD_MAX)
        return err_set(e, ERR_INVALID, "event payload: JSON text of at most %d bytes",
                       EVENT_PAYLOAD_MAX);
    int64_t last = 0;
    int rc = store_tx_query(tx, "SELECT MAX(seq) FROM event_outbox", NULL, 0, read_max, &last, e);
    if (rc != 0)
        return rc;
    struct store_value p[] = {
        STORE_INT_V(last + 1),
        STORE_TEXT_V(kind),
        subject != NULL ? STORE_TEXT_V(subject) : STORE_NULL_V,
        ref != NULL ? STORE_TEXT_V(ref) : STORE_NULL_V,
        STORE_TEXT_V(payload),
        STORE_INT_V(now_ms),
    };
    rc = store_tx_exec(tx,
                       "INSERT INTO event_outbox (seq, kind, subject_id, ref, payload, created_ms) "
                       "VALUES (?, ?, ?, ?, ?, ?)",
                       p, sizeof p / sizeof p[0], e);
    if (rc < 0)
        return rc;
    if (seq != NULL)
        *seq = last + 1;
    return 0;
}

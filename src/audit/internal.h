/* internal.h - what the audit module's files share and nobody else uses: the entry columns
 * every reader selects, and reading one row of them. */
#ifndef COS_AUDIT_INTERNAL_H
#define COS_AUDIT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "audit/audit.h"

/* The columns every reader of entries selects, in this order (audit__entry_from_row). */
#define AUDIT__ENTRY_COLUMNS                                                                       \
    "subject, seq, time_ms, actor_kind, actor_id, actor_org, actor_role, client_id, "              \
    "on_behalf_of, action, resource_type, resource_id, category, purpose, decision, decided_by, "  \
    "reason, request_id, source_addr, prev_hash, entry_hash"

/* Reads a row of AUDIT__ENTRY_COLUMNS into *x. The text pointers are borrowed from the row
 * (valid until the row callback returns); NULL columns stay NULL. A hash column that is not
 * 64 characters reads as "". Unknown actor kinds and decisions read as 0. */
void audit__entry_from_row(const struct store_row *r, struct audit_entry *x);

/* The address of the i-th text member of ev (0 .. 14), or NULL past the last. */
const char **audit__event_text(struct audit_event *ev, size_t i);

/* A list of chain heads (subject, seq, head hash), owned by the list (strings and array). */
struct audit__head {
    char *subject;
    int64_t seq;
    unsigned char head[AUDIT_HASH_LEN];
};
struct audit__heads {
    struct audit__head *v;
    size_t n, cap;
};

/* Appends a copy of subject with seq and head (NULL: zeros). Returns 0 or ERR_NOMEM. */
int audit__heads_push(struct audit__heads *h, const char *subject, int64_t seq,
                      const unsigned char head[AUDIT_HASH_LEN]);
/* Sorts by subject (audit_subject_cmp): the order of the Merkle leaves. */
void audit__heads_sort(struct audit__heads *h);
/* The RFC 6962 root over the sorted heads' leaves, and the sum of their seq (entries may be
 * NULL). Returns 0 or ERR_NOMEM. */
int audit__heads_root(const struct audit__heads *h, unsigned char root[AUDIT_HASH_LEN],
                      int64_t *entries);
/* Reads rows of (subject, seq[, head hex]) from a query into h, then sorts it. Returns 0,
 * ERR_INVALID (a NULL subject or a malformed head: e says so), ERR_NOMEM or the store's error. */
int audit__heads_read(struct store *s, const char *sql, const struct store_value *params,
                      size_t nparams, struct audit__heads *h, struct err *e);
/* Frees every subject and the array; the list is empty afterwards. */
void audit__heads_release(struct audit__heads *h);

#endif

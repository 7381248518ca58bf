/* audit.h - the citizen's data tracker: every access decision on personal data, permit or deny,
 * appended to the subject's own hash chain; signed checkpoints over every chain head; the
 * citizen's view; and verification of the whole trail (docs/internals/audit.md). */
#ifndef COS_AUDIT_H
#define COS_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "store/store.h"

struct arena;
struct id_jose_key;
struct id_keys;

#define AUDIT_HASH_LEN    32   /* SHA-256 */
#define AUDIT_HEX_LEN     64   /* a hash in lower-case hex, without the NUL */
#define AUDIT_TEXT_MAX    256  /* longest text field in bytes (ids, names, addresses) */
#define AUDIT_REASON_MAX  1024 /* longest reason in bytes */
#define AUDIT_ACTION_MAX  32   /* longest action token */
#define AUDIT_PAGE_MAX    500  /* most entries one audit_list_for_subject() call returns */
#define AUDIT_CANON_MAX   8192 /* longest canonical entry encoding (bounded by the limits above) */
#define AUDIT_SIG_HEX_LEN 128  /* an Ed25519 signature in hex */

/* Who acted. Stored and hashed as its name (audit_actor_kind_name). */
enum audit_actor_kind {
    AUDIT_ACTOR_NONE = 0,     /* invalid in an event; "any" in a filter */
    AUDIT_ACTOR_PERSON,       /* a citizen acting for themselves: "person" */
    AUDIT_ACTOR_DELEGATE,     /* a family member or guardian acting for the subject: "delegate" */
    AUDIT_ACTOR_PRACTITIONER, /* a person in a role at an organisation: "practitioner" */
    AUDIT_ACTOR_CLIENT,       /* a service client acting on its own (client credentials) */
    AUDIT_ACTOR_DEVICE,       /* a home or wearable device: "device" */
    AUDIT_ACTOR_OPERATOR,     /* a city operator or the platform itself: "operator" */
};

enum audit_decision {
    AUDIT_DECISION_ANY = 0, /* invalid in an event; "any" in a filter */
    AUDIT_PERMIT,           /* "permit" */
    AUDIT_DENY,             /* "deny" */
};

/* One access decision. Every pointer is borrowed for the call. Required: subject, actor_kind,
 * actor_id, action (a token of [a-z0-9._-], at most AUDIT_ACTION_MAX bytes: read, create,
 * update, delete, search, export, ...) and decision. Every other text is optional: NULL (or "",
 * which is stored as NULL). Text is UTF-8 without NUL, at most AUDIT_TEXT_MAX bytes (reason:
 * AUDIT_REASON_MAX). */
struct audit_event {
    int64_t time_ms; /* when the decision was made, Unix ms UTC; 0: the time of recording */
    enum audit_actor_kind actor_kind;
    const char *actor_id;     /* person, client or device id */
    const char *actor_org;    /* the organisation a practitioner (or client) acts for */
    const char *actor_role;   /* the practitioner's role: doctor, nurse, ... */
    const char *client_id;    /* the OAuth client the request came through */
    const char *on_behalf_of; /* whom the actor acted for (a delegate's principal, ...) */
    const char *subject;      /* the citizen whose data it is: names the chain */
    const char *action;
    const char *resource_type; /* FHIR resource type or API object: Observation, consent, ... */
    const char *resource_id;
    const char *category; /* data category: vitals, medications, location, ... */
    const char *purpose;  /* purpose code (with its version, e.g. "homedoctor@3") */
    enum audit_decision decision;
    const char *decided_by; /* the deciding consent id, or the rule's name */
    const char *reason;     /* free text: why (a break-glass statement, a deny's cause) */
    const char *request_id; /* X-Request-Id of the HTTP request */
    const char *source_addr;
};

/* One stored entry: the event, its place in the chain and its hashes (lower-case hex). */
struct audit_entry {
    struct audit_event ev;
    int64_t seq; /* 1, 2, 3 ... within the subject's chain */
    char prev_hash[AUDIT_HEX_LEN + 1];
    char entry_hash[AUDIT_HEX_LEN + 1];
};

/* ---- names and checks ---- */

const char *audit_actor_kind_name(enum audit_actor_kind k); /* NULL when not a kind */
const char *audit_decision_name(enum audit_decision d);     /* NULL when not a decision */
/* Parses a name back; AUDIT_ACTOR_NONE / AUDIT_DECISION_ANY when s is not one. */
enum audit_actor_kind audit_actor_kind_parse(const char *s);
enum audit_decision audit_decision_parse(const char *s);

/* Checks ev as audit_append() will before storing it. Returns 0 or ERR_INVALID (e names the
 * field and why; it never quotes the value, which may be personal). */
int audit_event_check(const struct audit_event *ev, struct err *e);

/* ---- recording ---- */

/* What audit_append() wrote. */
struct audit_appended {
    int64_t seq;
    int64_t time_ms;
    char entry_hash[AUDIT_HEX_LEN + 1];
};

/* Appends ev to its subject's chain inside the caller's write (tx), so the record commits or
 * rolls back with the data change beside it. Reads the subject's head in the same transaction
 * (the store's single writer keeps it consistent; the (subject, seq) primary key refuses a
 * fork on a multi-writer backend with ERR_CONFLICT). out may be NULL. Returns 0, ERR_INVALID
 * (audit_event_check), ERR_CONFLICT, or the store's error. */
int audit_append(struct store_tx *tx, const struct audit_event *ev, struct audit_appended *out,
                 struct err *e);

/* The append itself, of which audit_append() is the case n = 1: appends evs[0..n-1] in order,
 * each to its subject's chain, with exactly the seqs, prev hashes and entry hashes that n
 * audit_append() calls one after another would give (time_ms 0 is "now", read once). Each
 * subject's head is read once, the entries go in with multi-row INSERTs and each subject's
 * head row moves once. Every event is checked first; on any failure the call fails whole and
 * the caller's write must fail (its savepoint takes back what was written). out: NULL or n
 * results. Returns what audit_append() returns. */
int audit_append_many(struct store_tx *tx, const struct audit_event *evs, size_t n,
                      struct audit_appended *out, struct err *e);

/* The same as a store_write_fn: ctx is a const struct audit_event *. For a write whose only
 * content is its audit record, e.g. store_write(s, audit_record_fn, &ev, &e). */
int audit_record_fn(struct store_tx *tx, void *ctx, struct err *e);

/* Records a decision that has no data change of its own (a read, a search, a deny) through the
 * group commit. ev is checked and copied now (the caller's strings may go). Returns 0 when
 * queued: done(status, err, done_ctx) is then called exactly once on the writer thread, with 0
 * once the entry is durable, or with the failure. Returns ERR_INVALID (bad event),
 * ERR_UNAVAILABLE (the store is closing or its queue is full: back-pressure) or ERR_NOMEM, and
 * then done is never called. Never dropped: a caller that gets anything but 0 here, or a
 * non-zero status in done, must not hand the data out (answer 503). */
int audit_record_async(struct store *s, const struct audit_event *ev, store_done_fn done,
                       void *done_ctx, struct err *e);

/* The same for n events (1 .. AUDIT_MANY_MAX) in one write: all are recorded, or none (done
 * gets the failure). For a search whose results belong to several subjects: each subject's
 * chain gets its entry, in one commit. */
#define AUDIT_MANY_MAX 1000
int audit_record_many_async(struct store *s, const struct audit_event *evs, size_t n,
                            store_done_fn done, void *done_ctx, struct err *e);

/* ---- the citizen's view ---- */

/* Which entries to list. Zero / NULL members do not filter. */
struct audit_filter {
    int64_t from_ms;  /* time_ms >= from_ms */
    int64_t until_ms; /* time_ms < until_ms (0: no bound) */
    const char *actor_id;
    const char *actor_org;
    const char *category;
    enum audit_decision decision;
    int64_t before_seq; /* keyset cursor: only seq < before_seq (0: from the newest) */
};

struct audit_page {
    struct audit_entry *items; /* newest first; in the caller's arena */
    size_t n;
    int64_t next_before_seq; /* the cursor of the next page, or 0 when this was the last */
};

/* Lists one subject's entries matching f (NULL: all), newest first, at most limit (1 ..
 * AUDIT_PAGE_MAX). Everything returned lives in arena a. Returns 0 (an empty page for an
 * unknown subject), ERR_INVALID (limit or a filter out of range), ERR_NOMEM, or the store's
 * error. */
int audit_list_for_subject(struct store *s, const char *subject, const struct audit_filter *f,
                           size_t limit, struct arena *a, struct audit_page *out, struct err *e);

/* ---- checkpoints ---- */

struct audit_checkpoint {
    int64_t id; /* 1, 2, 3 ... */
    int64_t created_ms;
    int64_t chains;  /* leaves in the tree: subjects with at least one entry */
    int64_t entries; /* the sum of the committed heads' seq: every entry committed */
    char root[AUDIT_HEX_LEN + 1];
    char key_id[48]; /* the signing key's kid (RFC 7638 thumbprint) */
    char signature[AUDIT_SIG_HEX_LEN + 1];
    int64_t changed; /* chain heads that moved since the previous checkpoint */
};

/* Writes a checkpoint now: reads every chain head, computes the Merkle root over the
 * (subject, seq, head) leaves in subject order, signs it with key (Ed25519) and stores it with
 * the heads that moved since the previous checkpoint. The tree is computed on the calling
 * thread; only the rows are written on the writer thread. Blocks until durable. out may be
 * NULL. Returns 0, ERR_INVALID (key has no secret), ERR_CONFLICT (another checkpoint was
 * written meanwhile: call again), ERR_INTERNAL (a head went backwards: run audit_verify),
 * ERR_NOMEM or the store's error. Safe to call from a timer thread of `cityos serve`. */
int audit_checkpoint_create(struct store *s, const struct id_jose_key *key, int64_t now_ms,
                            struct audit_checkpoint *out, struct err *e);

/* ---- verification ---- */

/* What audit_verify() found. When ok is 0, the first failure: which check, where, and why. */
struct audit_verify_report {
    int ok;
    int64_t chains, entries, checkpoints; /* how many were checked */
    const char *check;                    /* "seq", "prev_hash", "entry_hash", "field", "head",
                                             "checkpoint_id", "checkpoint_entry", "key",
                                             "signature", "root", "count"; NULL when ok */
    char subject[AUDIT_TEXT_MAX + 1];     /* the bad entry's subject ("" when not an entry) */
    int64_t seq;                          /* the bad entry's seq (0 when not an entry) */
    int64_t checkpoint_id;                /* the bad checkpoint (0 when not a checkpoint) */
    char detail[256];                     /* one line for people */
};

/* Walks every chain from its genesis (seq contiguous from 1, prev_hash links, entry hashes
 * recomputed), checks the head table against the chains, then every checkpoint in order (ids
 * contiguous, its committed entries present, the Merkle root recomputed, counts, and the
 * Ed25519 signature by a key of keys, which may be NULL when there are no checkpoints).
 * Stops at the first failure. Returns 0 when the walk ran (r->ok says whether the trail is
 * intact), or ERR_NOMEM / the store's error when it could not run. */
int audit_verify(struct store *s, const struct id_keys *keys, struct audit_verify_report *r,
                 struct err *e);

#endif

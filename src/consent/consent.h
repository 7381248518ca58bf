/* consent.h - purposes (versioned, published by the city), consents with their evidence
 * (granted, narrowed, withdrawn, moved to a new purpose version by re-consent), the history of
 * every change, and the citizen's inbox; all in the store, each write also updating the
 * decision index and the citizen's audit trail in the same transaction
 * (docs/internals/consent.md). */
#ifndef COS_CONSENT_H
#define COS_CONSENT_H

#include <stddef.h>
#include <stdint.h>

#include "audit/audit.h"
#include "base/arena.h"
#include "base/err.h"
#include "base/ids.h"
#include "consent/category.h"
#include "consent/index.h"
#include "store/store.h"

#define CONSENT_CODE_MAX        64    /* purpose codes: [a-z0-9_-], 1..64 bytes */
#define CONSENT_TITLE_MAX       200   /* code points */
#define CONSENT_EXPLANATION_MAX 20000 /* code points */
#define CONSENT_RECIPIENTS_MAX  100
#define CONSENT_RETENTION_MAX   36500                /* days: a hundred years */
#define CONSENT_HEX_LEN         64                   /* SHA-256 in lower-case hex */
#define CONSENT_LIST_MAX        1000                 /* most rows one list call returns */
#define CONSENT_EVIDENCE_AGE_MS (24LL * 3600 * 1000) /* "agree" pressed at most a day ago */
#define CONSENT_CLOCK_SKEW_MS   (5LL * 60 * 1000)    /* and at most 5 minutes in the future */

enum consent_legal_basis {
    CONSENT_BASIS_CONSENT,           /* "consent": APPI art. 27(1), the citizen's opt-in */
    CONSENT_BASIS_LAW,               /* "law": art. 27(1)(i), required by laws and regulations */
    CONSENT_BASIS_VITAL_INTEREST,    /* "vital_interest": art. 27(1)(ii), life, body, property */
    CONSENT_BASIS_PUBLIC_HEALTH,     /* "public_health": art. 27(1)(iii) */
    CONSENT_BASIS_ACADEMIC_RESEARCH, /* "academic_research": art. 27(1)(v)-(vii) */
};

enum consent_channel {
    CONSENT_CHANNEL_PORTAL,          /* "portal" */
    CONSENT_CHANNEL_APP,             /* "app" */
    CONSENT_CHANNEL_IN_PERSON_PROXY, /* "in_person_proxy": at a counter, entered by staff */
};

/* What a purpose version changed against the one before it. */
#define CONSENT_WIDENS  1 /* a category or a recipient was added: re-consent */
#define CONSENT_NARROWS 2 /* a category or a recipient was removed: applies at once */

/* Input of a new purpose version. Borrowed for the call. */
struct consent_purpose_new {
    const char *code;
    const char *title_ja, *title_en;
    const char *explanation_ja, *explanation_en;
    consent_cats cats;             /* not empty */
    const char *const *recipients; /* organisation or client ids (0..CONSENT_RECIPIENTS_MAX) */
    size_t nrecipients;
    enum consent_legal_basis legal_basis;
    int64_t retention_days;   /* 1 .. CONSENT_RETENTION_MAX */
    const char *published_by; /* who: an administrator's person id, or "operator" */
};

/* A stored purpose version. Strings live in the arena of the call that filled it. */
struct consent_purpose {
    char code[CONSENT_CODE_MAX + 1];
    int64_t version;
    const char *title_ja, *title_en, *explanation_ja, *explanation_en;
    char explanation_hash[CONSENT_HEX_LEN + 1];
    consent_cats cats;
    const char *recipients; /* canonical comma list (sorted, unique); "" for none */
    enum consent_legal_basis legal_basis;
    int64_t retention_days;
    int change; /* CONSENT_WIDENS | CONSENT_NARROWS bits against the previous version */
    int64_t published_ms;
    const char *published_by;
    int current; /* the newest version of its code */
};

/* The evidence of one change: which explanation was shown (its hash names the purpose version's
 * text, see consent_explanation_hash), when, when "agree" was pressed, and where. */
struct consent_evidence {
    const char *explanation_hash; /* 64 lower-case hex */
    int64_t shown_ms, agreed_ms;
    enum consent_channel channel;
};

/* A stored consent. Strings live in the arena of the call that filled it. */
struct consent_record {
    char id[IDS_LEN + 1], subject_id[IDS_LEN + 1], granted_by[IDS_LEN + 1];
    enum consent_recipient_kind recipient_kind;
    const char *recipient_id; /* NULL for "purpose" */
    char purpose_code[CONSENT_CODE_MAX + 1];
    int64_t purpose_version;
    consent_cats cats;
    unsigned actions;
    int64_t valid_from_ms, valid_until_ms; /* until 0: open-ended */
    int withdrawn;
    struct consent_evidence evidence; /* of the grant (or of the last re-consent) */
    int64_t withdrawn_ms;
    const char *withdrawn_by;           /* NULL while active */
    struct consent_evidence withdrawal; /* zero while active */
    int64_t created_ms, updated_ms;
};

/* One inbox item of a citizen. */
struct consent_inbox_item {
    char id[IDS_LEN + 1];
    const char *kind;                      /* "reconsent", "break_glass_notice" or "notice" */
    const char *consent_id, *purpose_code; /* NULL when not about one */
    int64_t from_version, to_version;      /* reconsent */
    int64_t created_ms, resolved_ms;       /* resolved 0: open */
    const char *detail;                    /* a notice: its English text */
    const char *source, *ref, *text_ja;    /* a notice's service, subject matter, Japanese text */
};

/* A city service's notice to a citizen (consent_inbox_notify). */
struct consent_inbox_notice {
    const char *subject;    /* the citizen (a person id) */
    const char *source;     /* the service: [a-z][a-z0-9-]{0,31} ("visits", "wallet", ...) */
    const char *ref;        /* what it is about ("Appointment/<id>"), at most 200 bytes, or NULL */
    const char *text_ja;    /* the message in Japanese, 1..1000 bytes of UTF-8 */
    const char *text_en;    /* and in English */
    const char *dedupe_key; /* NULL, or at most 200 bytes, unique among all notices */
};

/* ---- names ---- */
const char *consent_legal_basis_name(enum consent_legal_basis b);
int consent_legal_basis_parse(const char *text, enum consent_legal_basis *out);
const char *consent_channel_name(enum consent_channel c);
int consent_channel_parse(const char *text, enum consent_channel *out);

/* ---- purposes (purpose.c) ---- */

/* The SHA-256 (lower-case hex into out) of what a citizen is shown for a purpose version: the
 * bytes "cityos.consent.explanation.v1", then code, version (decimal), title_ja,
 * explanation_ja, title_en, explanation_en, categories (canonical list), recipients (canonical
 * list), legal basis name, retention days (decimal), each preceded by a 0x00 byte. None of the
 * texts may hold NUL, so the encoding is unambiguous; the portal recomputes it with WebCrypto. */
void consent_explanation_hash(const struct consent_purpose_new *p, int64_t version,
                              const char *recipients_text, char out[CONSENT_HEX_LEN + 1]);

/* CONSENT_WIDENS | CONSENT_NARROWS: what going from (old_cats, old_recipients) to (new_cats,
 * new_recipients) does. The recipient texts are canonical comma lists. 0: the same scope. */
int consent_purpose_compare(consent_cats old_cats, const char *old_recipients,
                            consent_cats new_cats, const char *new_recipients);

/* Checks in (before anything is written), then stores the next version of in->code (1 for a
 * new code), compares it with the previous one, and when it widens, puts a "reconsent" item
 * in the inbox of every citizen holding an active consent on an older version (one item per
 * consent; an open item is moved to the new version). ix (may be NULL) learns the version
 * inside the write: a version can only narrow what consents cover (see the effective-scope
 * rule), so seeing it early is safe. Sets *version_out and *change_out (may be NULL).
 * Returns 0, ERR_INVALID naming the field, or the store's error. Blocks until durable. */
int consent_purpose_publish(struct store *s, struct consent_index *ix,
                            const struct consent_purpose_new *in, int64_t now_ms,
                            int64_t *version_out, int *change_out, struct err *e);

/* Reads one version (version 0: the current one). Returns 0, ERR_NOTFOUND or the store's
 * error. */
int consent_purpose_get(struct store *s, const char *code, int64_t version,
                        struct consent_purpose *out, struct arena *a, struct err *e);

/* Every version of every purpose, by code then version (at most CONSENT_LIST_MAX), or only
 * the current versions when current_only. *out is an array in a. */
int consent_purpose_list(struct store *s, int current_only, struct arena *a,
                         struct consent_purpose **out, size_t *n, struct err *e);

/* ---- consents (consent.c) ---- */

enum consent_op {
    CONSENT_OP_GRANT,     /* a new consent */
    CONSENT_OP_NARROW,    /* fewer categories or actions, or a shorter period */
    CONSENT_OP_WITHDRAW,  /* the end */
    CONSENT_OP_RECONSENT, /* accept an inbox item: move the consent to the new version */
};

/* One consent change, prepared by the caller, run as a store_write_fn (consent_write_fn) on the
 * writer thread, and finished after the commit (consent_write_finish). Handlers queue it with
 * store_write_async(); others call consent_write_run(). */
struct consent_write {
    enum consent_op op;
    struct store *store;
    struct consent_index *ix; /* may be NULL: the store alone */
    int64_t now_ms;
    /* who acts, for the audit entry: actor_kind, actor_id, actor_org, actor_role, client_id,
     * request_id, source_addr are taken from it (required) */
    const struct audit_event *actor;

    const char *subject_id; /* whose consent */
    const char *by;         /* the person who acts: the subject, or a delegate allowed to */
    const char *consent_id; /* NARROW, WITHDRAW */
    const char *item_id;    /* RECONSENT: the inbox item */
    /* GRANT: all of them; NARROW: the new scope (0: unchanged); RECONSENT: cats (0: the
     * consent's categories plus those the new version added) */
    enum consent_recipient_kind recipient_kind;
    const char *recipient_id;
    const char *purpose_code;
    int64_t purpose_version;
    consent_cats cats;
    unsigned actions;
    int64_t valid_from_ms, valid_until_ms; /* GRANT: from 0 = now, until 0 = open-ended */
    struct consent_evidence evidence;
    /* optional (all NULL/0 for none: CLI and unit paths): GRANT: the new consent's id, made
     * by the caller with ids_new() so a receipt can name it before the write */
    const char *grant_id;
    /* optional: the change's signed receipt (a CONSENT_RECEIPT_ID_LEN id and the compact JWS,
     * src/consent/receipt.h), stored in the transaction of the change (consent_receipt_insert),
     * so there is never a change without its receipt. NARROW, WITHDRAW: receipt_basis_ms is the
     * updated_ms of the consent the receipt was made from; when the consent changed since, the
     * write is refused with ERR_CONFLICT and nothing is stored. */
    const char *receipt_id, *receipt_jws;
    int64_t receipt_basis_ms;

    /* results */
    char id[IDS_LEN + 1]; /* GRANT: the new consent's id; else the consent's id */
    struct err err;       /* the write's own failure, for the handler */
    /* private: the consent as it stands after the write, for the index */
    struct consent_index_consent applied;
    char applied_recipient[IDS_LEN + 1];
    char applied_code[CONSENT_CODE_MAX + 1];
    int64_t change_seq;
    int ix_pending; /* the index was changed before the commit: consent_write_finish ends it */
};

/* Checks what needs no database (ids, evidence shape and freshness, scope shapes). Returns 0
 * or ERR_INVALID naming the field. consent_write_run() calls it; handlers call it before
 * queuing, so a refused input costs no transaction. */
int consent_write_check(const struct consent_write *w, struct err *e);

/* The store_write_fn: ctx is a struct consent_write *. Refusals: ERR_NOTFOUND (no such
 * consent or item of this subject; an unknown purpose version or recipient names the field),
 * ERR_INVALID (field named: evidence that does not match, a scope that is not narrower, a
 * category the purpose does not cover, a version that is not current), ERR_CONFLICT (a
 * consent that is no longer active), and the store's errors; w->err holds the same. Inside, a
 * narrowing or withdrawal is applied to w->ix before the commit. */
int consent_write_fn(struct store_tx *tx, void *ctx, struct err *e);

/* After the write's commit (status 0) or failure: applies a grant or re-consent to w->ix (now
 * durable, so seeing it is safe); after a failure, reloads the subject from the store, undoing
 * a narrowing or withdrawal that was applied early but did not commit. */
void consent_write_finish(struct consent_write *w, int status);

/* consent_write_check(), store_write(), consent_write_finish(). Blocks until durable. */
int consent_write_run(struct consent_write *w, struct err *e);

/* One consent of subject_id. ERR_NOTFOUND when it does not exist or is someone else's. */
int consent_get(struct store *s, const char *subject_id, const char *consent_id,
                struct consent_record *out, struct arena *a, struct err *e);

/* subject_id's consents, newest first, withdrawn ones too (at most CONSENT_LIST_MAX). */
int consent_list_for_subject(struct store *s, const char *subject_id, struct arena *a,
                             struct consent_record **out, size_t *n, struct err *e);

/* The id (in a) of subject's active, open-ended consent to organisation org for purpose that
 * covers category for both reading and writing, or NULL when there is none (*failed: 1 when
 * the store could not be read). For a choice that rests on such a consent (the pharmacy a
 * citizen chose, the taxi company they opted in to): granted again only when it is missing. */
const char *consent_open_org_consent(struct store *s, const char *subject, const char *org,
                                     const char *purpose, enum consent_category category,
                                     struct arena *a, int *failed);

/* May delegate_id manage subject_id's consents at now_ms, by the store's family links (a link
 * valid then with manage_consents or everything)? 1, 0, or a negative error. */
int consent_may_manage(struct store *s, const char *delegate_id, const char *subject_id,
                       int64_t now_ms, struct err *e);

/* ---- receipts (receipt_store.c) ---- */

/* A stored receipt. Strings live in the arena of the call that filled it. */
struct consent_receipt_row {
    const char *id, *consent_id, *action, *jws;
    int64_t created_ms;
};

/* Inside w's write, after its change succeeded: stores w->receipt_jws under w->receipt_id for
 * the consent w->id (action: the op's name). Nothing to do (0) when w->receipt_jws is NULL.
 * Returns 0, ERR_INVALID (a receipt id that is not CONSENT_RECEIPT_ID_LEN bytes), or the
 * store's error (a repeated id is a constraint error: the write fails). */
int consent_receipt_insert(struct store_tx *tx, const struct consent_write *w, struct err *e);

/* Before w's change (NARROW, WITHDRAW with a receipt and receipt_basis_ms): 0 when the consent
 * still has updated_ms == w->receipt_basis_ms, else ERR_CONFLICT. */
int consent_receipt_check_basis(struct store_tx *tx, const struct consent_write *w, struct err *e);

/* The receipts of subject_id's consent consent_id, oldest first (at most CONSENT_LIST_MAX);
 * none for someone else's consent. *out is an array in a. */
int consent_receipt_list(struct store *s, const char *subject_id, const char *consent_id,
                         struct arena *a, struct consent_receipt_row **out, size_t *n,
                         struct err *e);

/* ---- the inbox (inbox.c) ---- */

/* subject_id's inbox items, newest first (open ones only when open_only), at most
 * CONSENT_LIST_MAX. */
int consent_inbox_list(struct store *s, const char *subject_id, int open_only, struct arena *a,
                       struct consent_inbox_item **out, size_t *n, struct err *e);

/* Inside the caller's write (the one that records a break-glass read's audit entry): tells the
 * citizen with an inbox item "break_glass_notice" whose detail names who (actor_desc, e.g.
 * "doctor at <org id>") and the stated reason. Returns 0 or the store's error. */
int consent_inbox_break_glass(struct store_tx *tx, const char *subject_id, const char *actor_desc,
                              const char *reason, int64_t now_ms, struct err *e);

/* Inside the caller's write: adds n to the citizen's inbox as an item of kind "notice" (a
 * booking, a reminder, a payment, a prescription's or a taxi's progress). A notice whose
 * dedupe_key is already stored is not added again, so an event handler that runs twice tells
 * the citizen once. *added (may be NULL): 1 added, 0 already there. Returns 0, ERR_INVALID
 * (a field out of its bounds, e names it) or the store's error. */
int consent_inbox_notify(struct store_tx *tx, const struct consent_inbox_notice *n, int64_t now_ms,
                         int *added, struct err *e);

/* A store_write_fn for a break-glass read: ctx is a struct consent_break_glass; appends the
 * audit entry and the inbox item in one transaction. */
struct consent_break_glass {
    const struct audit_event *ev; /* the read's audit entry (decided_by rule:break-glass) */
    const char *actor_desc;
};
int consent_break_glass_fn(struct store_tx *tx, void *ctx, struct err *e);

#endif

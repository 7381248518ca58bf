/* index.h - the access decision and the memory it decides from: every citizen's family links
 * and active consents, the purposes' versions and which organisations are hospitals, held as
 * compact records (interned ids, bit masks) in a hash table by subject, and updated by the
 * consent writes (docs/internals/consent.md). */
#ifndef COS_CONSENT_INDEX_H
#define COS_CONSENT_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "consent/category.h"
#include "identity/principal.h"
#include "store/store.h"

struct consent_index;

/* Actions, as bits: a consent holds a set, a query asks for exactly one. */
#define CONSENT_READ  1u
#define CONSENT_WRITE 2u

enum consent_recipient_kind {
    CONSENT_TO_ORGANISATION, /* "organisation": practitioners acting for it */
    CONSENT_TO_CLIENT,       /* "client": a service client acting on its own */
    CONSENT_TO_PERSON,       /* "person": a family member or other person, for themselves */
    CONSENT_TO_PURPOSE,      /* "purpose": every recipient registered for the purpose */
};

/* The names of the deciding rules: what consent_decision.decided_by says when no consent
 * decided. Citizens read them in the portal (docs/internals/consent.md, "The rules"). */
#define CONSENT_RULE_SELF        "rule:self"
#define CONSENT_RULE_DELEGATE    "rule:delegate"
#define CONSENT_RULE_GUARDIAN    "rule:guardian"
#define CONSENT_RULE_BREAK_GLASS "rule:break-glass"
#define CONSENT_RULE_DEFAULT     "rule:default-deny"
#define CONSENT_RULE_OPERATOR    "rule:operator-no-personal-data"
#define CONSENT_RULE_DEVICE      "rule:device-bound"

/* One question: may this actor do action on this category of subject's data now? Every pointer
 * is borrowed for the call. consent_query_from_principal() fills the actor fields. */
struct consent_query {
    enum id_principal_kind actor_kind;
    const char *actor_id;   /* the person who acts (PERSON, DELEGATE, PRACTITIONER); else NULL */
    const char *acting_for; /* DELEGATE: whom for */
    const char *org_id;     /* PRACTITIONER: the organisation */
    const char *role;       /* PRACTITIONER: doctor, nurse, ... */
    const char *client_id;  /* the OAuth client of the request */
    const char *subject;    /* whose data */
    enum consent_category category;
    unsigned action;     /* CONSENT_READ or CONSENT_WRITE */
    const char *purpose; /* a purpose code, or NULL: any purpose */
    int64_t now_ms;
    const char *break_glass; /* the practitioner's stated reason for emergency access, or NULL */
};

enum consent_effect { CONSENT_DENY = 0, CONSENT_PERMIT = 1 };

struct consent_decision {
    enum consent_effect effect;
    /* the deciding consent's id, or a CONSENT_RULE_* name. Static or owned by the index, valid
     * until consent_index_free(). */
    const char *decided_by;
    const char *reason;      /* static text for people; never personal data */
    const char *purpose;     /* the deciding consent's purpose code (index-owned), else NULL */
    int64_t purpose_version; /* its version, else 0 */
};

/* Fills the actor fields of q from a principal (nothing else is touched). */
void consent_query_from_principal(struct consent_query *q, const struct id_principal *p);

/* THE decision. Pure: reads the index under its read lock, touches no store, allocates
 * nothing. Default deny; the rules, in order:
 *   operator -> deny (rule:operator-no-personal-data);
 *   a person acting for themselves on their own record -> permit (rule:self);
 *   a delegate acting for subject through a family link valid now whose rights cover the
 *     category and action -> permit (rule:guardian for a guardianship, else rule:delegate);
 *   an active consent of subject, in its period, naming the actor (organisation = the
 *     practitioner's, client = the client acting on its own, person = the person acting, or
 *     purpose = the practitioner's organisation or the client registered as a recipient of the
 *     purpose at the consent's version and at the current one), for q->purpose (any when NULL),
 *     covering the action and the category within its effective scope (granted categories
 *     intersected with the purpose's current version) -> permit (the consent's id);
 *   a doctor or nurse of a hospital reading with a stated reason -> permit (rule:break-glass);
 *   otherwise deny (rule:default-deny).
 * Returns 0 with out filled (a deny too), or ERR_INVALID for a malformed query (out says
 * deny). */
int consent_decide(const struct consent_index *ix, const struct consent_query *q,
                   struct consent_decision *out);

/* Decides n questions at once: out[i] is exactly what consent_decide(ix, &qs[i], &out[i]) gives.
 * For callers with many questions in hand (a FHIR search over many resources): it takes the
 * read lock once per 64 questions and asks the memory for the next questions' citizens while
 * deciding the current one, so their cache misses overlap. Returns 0, or ERR_INVALID when at
 * least one question was malformed (its decision says deny, as the single call's does). */
int consent_decide_many(const struct consent_index *ix, const struct consent_query *qs, size_t n,
                        struct consent_decision *out);

/* May delegate_id manage subject_id's consents now (a valid link with manage_consents or
 * everything)? 1 or 0. */
int consent_index_may_manage(const struct consent_index *ix, const char *delegate_id,
                             const char *subject_id, int64_t now_ms);

/* ---- building and updating ---- */

/* An empty index; NULL when out of memory. Owned by the caller (consent_index_free). */
struct consent_index *consent_index_new(void);
void consent_index_free(struct consent_index *ix);

/* Loads every purpose version, hospital, family link and active consent from the store into a
 * new index. Returns it, or NULL with e set. */
struct consent_index *consent_index_load(struct store *s, struct err *e);

/* A consent as the index keeps it. Borrowed strings. */
struct consent_index_consent {
    const char *id, *subject_id;
    enum consent_recipient_kind recipient_kind;
    const char *recipient_id; /* NULL for CONSENT_TO_PURPOSE */
    const char *purpose_code;
    int64_t purpose_version;
    consent_cats cats;
    unsigned actions;
    int64_t valid_from_ms, valid_until_ms; /* until 0: open-ended */
};

struct consent_index_link {
    const char *id, *subject_id, *delegate_id;
    unsigned rights;                       /* ID_RIGHT_* */
    int guardian;                          /* kind guardian */
    int64_t valid_from_ms, valid_until_ms; /* until 0: open-ended */
};

/* Each returns 0, ERR_NOMEM (the index is then unchanged, apart from interned strings),
 * ERR_TOOBIG (more than 32,768 consents or links for one citizen) or, for a consent,
 * ERR_INVALID (a purpose version outside 1..2^31-1). Writers hold the write lock for the few
 * instructions of the change; readers see the index before or after it, never half. */

/* Adds the consent, or replaces the one with the same id (a narrowing, a re-consent). */
int consent_index_put_consent(struct consent_index *ix, const struct consent_index_consent *c);
/* Removes a consent (withdrawn). Unknown ids are fine. */
int consent_index_remove_consent(struct consent_index *ix, const char *subject_id,
                                 const char *consent_id);
/* Adds a family link, or replaces the one with the same id. */
int consent_index_put_link(struct consent_index *ix, const struct consent_index_link *l);
/* Adds a purpose version (recipients: n org or client ids), or replaces the same version. */
int consent_index_put_purpose(struct consent_index *ix, const char *code, int64_t version,
                              consent_cats cats, const char *const *recipients, size_t n);
/* Marks an organisation as a hospital (break-glass) or not. */
int consent_index_set_hospital(struct consent_index *ix, const char *org_id, int is_hospital);

/* Replaces everything the index holds for subject_id with what the store says now (links and
 * active consents). For a write whose commit failed after it changed memory, and for changes
 * made by another process. Returns 0, CONSENT_RELOAD_DEFERRED when a consent write of the same
 * stripe of citizens was in progress or ended meanwhile (what was read may be older than
 * memory: nothing is changed; try again later), or an error (the subject then stays as it
 * was). */
#define CONSENT_RELOAD_DEFERRED 1
int consent_index_reload_subject(struct consent_index *ix, struct store *s, const char *subject_id,
                                 struct err *e);

/* Reloads the purposes and hospitals from the store. */
int consent_index_reload_purposes(struct consent_index *ix, struct store *s, struct err *e);

/* Catches up with changes other processes made to the shared store: reads consent_change rows
 * after the last one seen and reloads each subject (or the purposes) they name, and family
 * links created since the last poll. Returns the number of changes applied (>= 0) or an error.
 * Call it from a timer (`cityos serve`, every second) when several processes share a store. */
int consent_index_poll(struct consent_index *ix, struct store *s, struct err *e);

/* Makes the index at least as new as every consent change committed before the call, whichever
 * process made it: reads the change sequence's last number (one indexed read) and, only when
 * another process moved it past what the index applied, polls until the index has caught up.
 * `cityos serve` calls it once per authenticated request (id_principal_from_request), so that a
 * withdrawal acknowledged by any process binds the next request in every process. Returns 0,
 * or an error when the store cannot be read (the caller refuses the request then). */
int consent_index_sync(struct consent_index *ix, struct store *s, struct err *e);

/* Figures for /metrics and the benchmark. */
struct consent_index_stats {
    size_t subjects, consents, links, purposes, interned;
    size_t bytes;       /* memory the index holds (tables, records, strings; allocator overhead not
                           counted) */
    int64_t change_seq; /* the last consent_change seq applied */
};
void consent_index_stats(const struct consent_index *ix, struct consent_index_stats *out);

/* ---- the process-wide index of `cityos serve` ---- */

/* Loads the index once before serving (cli_serve). Returns 0 or an error. */
int consent_index_open_global(struct store *s, struct err *e);
/* The loaded index, or NULL before consent_index_open_global(). */
struct consent_index *consent_index_global(void);
void consent_index_close_global(void);

/* Names: "organisation", "client", "person", "purpose"; "read", "write", "read,write". */
const char *consent_recipient_kind_name(enum consent_recipient_kind k);
int consent_recipient_kind_parse(const char *text, enum consent_recipient_kind *out);
const char *consent_actions_name(unsigned actions); /* NULL for 0 or unknown bits */
int consent_actions_parse(const char *text, unsigned *out);

/* The categories and actions a family link's rights give (everything: all, read and write;
 * see_record: all, read; see_alerts: alerts, read; book_appointments: appointments, read and
 * write; manage_consents: no data). */
void consent_rights_scope(unsigned rights, consent_cats *read_cats, consent_cats *write_cats);

#endif

/* decide.c - consent_decide(): the one access decision on personal data, from the index alone
 * (no store, no allocation), default deny; and the principal -> query mapping. */
#include <string.h>

#include "consent/index_internal.h"
#include "identity/person.h"

void consent_query_from_principal(struct consent_query *q, const struct id_principal *p)
{
    q->actor_kind = p->kind;
    q->actor_id = p->subject_id;
    q->acting_for = p->acting_for;
    q->org_id = p->org_id;
    q->role = p->role;
    q->client_id = p->client_id[0] != '\0' ? p->client_id : NULL;
}

static int decide(struct consent_decision *out, enum consent_effect effect, const char *by,
                  const char *reason)
{
    out->effect = effect;
    out->decided_by = by;
    out->reason = reason;
    out->purpose = NULL;
    out->purpose_version = 0;
    return 0;
}

static int in_period(int64_t from, int64_t until, int64_t now)
{
    return from <= now && (until == 0 || now < until);
}

/* Is the reason a real statement: at least 4 bytes that are not all spaces? */
static int stated(const char *reason)
{
    if (reason == NULL)
        return 0;
    size_t n = 0;
    for (const char *p = reason; *p != '\0'; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
            n++;
    return n >= 4;
}

static int is_str(const char *a, const char *b)
{
    return a != NULL && strcmp(a, b) == 0;
}

/* The actor, found once per decision: organisation and client atoms (few, hot in the cache);
 * the acting person by hash, computed only when a link or consent could name them, so the
 * thousands of cold person records are touched only on a likely match. */
struct actor_atoms {
    uint32_t org, client;
    int hashed;
    uint32_t phash;
    size_t plen;
};

static int is_person(const struct consent_index *ix, const struct consent_query *q,
                     struct actor_atoms *aa, uint32_t atom, uint32_t hash)
{
    if (q->actor_id == NULL)
        return 0;
    if (!aa->hashed) {
        aa->plen = strlen(q->actor_id);
        aa->phash = consent__hash(q->actor_id, aa->plen);
        aa->hashed = 1;
    }
    return hash == aa->phash && consent__atom_is(ix, atom, q->actor_id, aa->plen);
}

/* Does consent c name the actor? */
static int names_actor(const struct consent_index *ix, const struct consent_query *q,
                       const struct ix_consent *c, struct actor_atoms *aa)
{
    switch (c->rkind) {
    case CONSENT_TO_ORGANISATION:
        return q->actor_kind == ID_PRINCIPAL_PRACTITIONER && aa->org != 0 &&
               c->recipient == aa->org;
    case CONSENT_TO_CLIENT:
        return q->actor_kind == ID_PRINCIPAL_CLIENT && aa->client != 0 &&
               c->recipient == aa->client;
    case CONSENT_TO_PERSON:
        return (q->actor_kind == ID_PRINCIPAL_PERSON || q->actor_kind == ID_PRINCIPAL_DELEGATE) &&
               is_person(ix, q, aa, c->recipient, c->rhash);
    case CONSENT_TO_PURPOSE: {
        uint32_t who = q->actor_kind == ID_PRINCIPAL_PRACTITIONER ? aa->org
                       : q->actor_kind == ID_PRINCIPAL_CLIENT     ? aa->client
                                                                  : 0;
        if (who == 0 || ix->atoms[c->purpose].purpose_plus1 == 0)
            return 0;
        const struct ix_purpose *p = &ix->purposes[ix->atoms[c->purpose].purpose_plus1 - 1];
        const struct ix_version *mine = consent__version(p, c->version);
        const struct ix_version *cur = p->nversions ? &p->versions[p->nversions - 1] : NULL;
        /* registered at the version the citizen agreed to AND still registered now */
        return mine != NULL && cur != NULL && consent__has_recipient(mine, who) &&
               consent__has_recipient(cur, who);
    }
    default:
        return 0;
    }
}

/* The categories c covers now: what it granted, within its purpose's current version. */
static consent_cats effective_cats(const struct consent_index *ix, const struct ix_consent *c)
{
    uint32_t pp = ix->atoms[c->purpose].purpose_plus1;
    if (pp == 0)
        return 0;
    const struct ix_purpose *p = &ix->purposes[pp - 1];
    return p->nversions ? c->cats & p->versions[p->nversions - 1].cats : 0;
}

/* The subject's id, hashed before the lock is taken. */
struct subject_key {
    size_t len;
    uint32_t hash;
};

static int person_actor(const struct consent_query *q)
{
    return (q->actor_kind == ID_PRINCIPAL_PERSON || q->actor_kind == ID_PRINCIPAL_DELEGATE) &&
           q->actor_id != NULL;
}

/* Asks the memory for what the decision will read, so the misses overlap instead of following
 * one another: the citizen's record (all its lines at once) and, for a person or delegate, the
 * acting person's atom (compared on a likely match). Hints only; caller holds the read lock. */
static void prefetch_question(const struct consent_index *ix, const struct consent_query *q,
                              const struct subject_key *k, struct actor_atoms *aa)
{
    consent__prefetch_subject(ix, k->hash);
    if (person_actor(q)) {
        if (!aa->hashed) {
            aa->plen = strlen(q->actor_id);
            aa->phash = consent__hash(q->actor_id, aa->plen);
            aa->hashed = 1;
        }
        consent__prefetch_atom(ix, aa->phash);
    }
}

static int decide_locked(const struct consent_index *ix, const struct consent_query *q,
                         const struct subject_key *k, struct actor_atoms *aa_in,
                         struct consent_decision *out)
{
    consent_cats bit = 1u << q->category;
    struct actor_atoms aa = *aa_in;
    /* the organisation or client first: their records are few and cached, and this work
     * overlaps the fetch of the citizen's record */
    aa.org = q->actor_kind == ID_PRINCIPAL_PRACTITIONER ? consent__find(ix, q->org_id) : 0;
    aa.client = q->actor_kind == ID_PRINCIPAL_CLIENT ? consent__find(ix, q->client_id) : 0;
    const struct ix_rec *sj = consent__subject(ix, q->subject, k->len, k->hash);
    if (sj != NULL && ix_rec_used(sj) > 6 * 64) {
        /* a big record: ask for the rest of it too (a bounded number of lines) */
        size_t lines = (ix_rec_used(sj) + 63) / 64;
        for (size_t l = 6; l < lines && l < 64; l++)
            __builtin_prefetch((const char *)sj + l * 64);
    }
    const char *deny_reason = "no consent of the citizen covers this";
    const struct ix_link *links = sj != NULL ? ix_rec_links(sj) : NULL;
    const struct ix_consent *cons = sj != NULL ? ix_rec_cons(sj) : NULL;

    /* a family member or guardian acting for the subject */
    if (q->actor_kind == ID_PRINCIPAL_DELEGATE) {
        if (!is_str(q->acting_for, q->subject))
            return decide(out, CONSENT_DENY, CONSENT_RULE_DEFAULT,
                          "the delegate acts for another person");
        for (uint32_t i = 0; sj != NULL && i < sj->nlinks; i++) {
            const struct ix_link *l = &links[i];
            if (!is_person(ix, q, &aa, l->delegate, l->dhash))
                continue;
            if (!in_period(l->from, l->until, q->now_ms)) {
                deny_reason = "the family link is not valid now";
                continue;
            }
            consent_cats r, w;
            consent_rights_scope(l->rights, &r, &w);
            if ((q->action == CONSENT_READ ? r : w) & bit)
                return decide(out, CONSENT_PERMIT,
                              l->guardian ? CONSENT_RULE_GUARDIAN : CONSENT_RULE_DELEGATE,
                              l->guardian ? "a guardian acts for a minor"
                                          : "the family link gives this right");
            deny_reason = "the family link does not give this right";
        }
    }

    /* the citizen's consents */
    const char *expired = NULL;
    uint32_t want_purpose = 0;
    if (q->purpose != NULL && (want_purpose = consent__find(ix, q->purpose)) == 0)
        goto no_consent; /* a purpose nobody ever consented to */
    for (uint32_t i = 0; sj != NULL && i < sj->ncons; i++) {
        const struct ix_consent *c = &cons[i];
        if (want_purpose != 0 && c->purpose != want_purpose)
            continue;
        if (!(c->actions & q->action) || !names_actor(ix, q, c, &aa))
            continue;
        if (!in_period(c->from, c->until, q->now_ms)) {
            expired = "the consent is not in its period";
            continue;
        }
        if (!(effective_cats(ix, c) & bit)) {
            deny_reason = (c->cats & bit) ? "the purpose no longer covers this category"
                                          : "the consent does not cover this category";
            continue;
        }
        out->effect = CONSENT_PERMIT;
        out->decided_by = c->id;
        out->reason = "the citizen's consent covers this";
        out->purpose = ix->atoms[c->purpose].s;
        out->purpose_version = c->version;
        return 0;
    }
    if (expired != NULL)
        deny_reason = expired;
no_consent:

    /* emergency access */
    if (q->break_glass != NULL && q->actor_kind == ID_PRINCIPAL_PRACTITIONER) {
        if (!stated(q->break_glass))
            return decide(out, CONSENT_DENY, CONSENT_RULE_DEFAULT,
                          "emergency access needs a stated reason");
        if (!is_str(q->role, "doctor") && !is_str(q->role, "nurse"))
            return decide(out, CONSENT_DENY, CONSENT_RULE_DEFAULT,
                          "emergency access is for doctors and nurses");
        if (aa.org == 0 || !ix->atoms[aa.org].hospital)
            return decide(out, CONSENT_DENY, CONSENT_RULE_DEFAULT,
                          "emergency access is for the staff of a hospital");
        if (q->action != CONSENT_READ)
            return decide(out, CONSENT_DENY, CONSENT_RULE_DEFAULT,
                          "emergency access reads; it does not write");
        return decide(out, CONSENT_PERMIT, CONSENT_RULE_BREAK_GLASS,
                      "emergency access with a stated reason; the citizen is told");
    }
    return decide(out, CONSENT_DENY, CONSENT_RULE_DEFAULT, deny_reason);
}

/* rule:device-bound (docs/internals/devices.md): a citizen's home device writes, and never
 * reads, the categories its kind produces (q->role is the kind: identity/device.h), of exactly
 * the citizen it is bound to (q->acting_for). Needs no index. */
static void decide_device(const struct consent_query *q, struct consent_decision *out)
{
    static const struct {
        const char *kind;
        enum consent_category cat;
    } produces[] = {
        {"bp-wrist", CONSENT_CAT_VITALS},       {"bp-upper-arm", CONSENT_CAT_VITALS},
        {"scale", CONSENT_CAT_VITALS},          {"thermometer", CONSENT_CAT_VITALS},
        {"pulse-oximeter", CONSENT_CAT_VITALS}, {"glucose-meter", CONSENT_CAT_VITALS},
        {"pillbox", CONSENT_CAT_MEDICATIONS},
    };
    if (q->actor_id == NULL || q->acting_for == NULL || !is_str(q->acting_for, q->subject)) {
        decide(out, CONSENT_DENY, CONSENT_RULE_DEFAULT,
               "a device writes only for the citizen it is bound to");
        return;
    }
    if (q->action != CONSENT_WRITE) {
        decide(out, CONSENT_DENY, CONSENT_RULE_DEFAULT, "a device does not read personal data");
        return;
    }
    for (size_t i = 0; i < sizeof produces / sizeof produces[0]; i++)
        if (is_str(q->role, produces[i].kind) && produces[i].cat == q->category) {
            decide(out, CONSENT_PERMIT, CONSENT_RULE_DEVICE,
                   "the citizen's own device records its readings");
            return;
        }
    decide(out, CONSENT_DENY, CONSENT_RULE_DEFAULT, "this kind of device does not record this");
}

/* The answers that need no index: a malformed question, the operator, a person on their own
 * record. 1 when out is decided (*rc its status), 0 when the index must decide. */
static int decide_without_index(const struct consent_index *ix, const struct consent_query *q,
                                struct consent_decision *out, int *rc)
{
    *rc = 0;
    if (ix == NULL || q == NULL || q->subject == NULL || (int)q->category < 0 ||
        q->category >= CONSENT_CAT_COUNT ||
        (q->action != CONSENT_READ && q->action != CONSENT_WRITE)) {
        decide(out, CONSENT_DENY, CONSENT_RULE_DEFAULT, "malformed question");
        *rc = ERR_INVALID;
        return 1;
    }
    if (q->actor_kind == ID_PRINCIPAL_DEVICE) {
        decide_device(q, out);
        return 1;
    }
    if (q->actor_kind == ID_PRINCIPAL_OPERATOR) {
        decide(out, CONSENT_DENY, CONSENT_RULE_OPERATOR,
               "the operator has no access to personal data");
        return 1;
    }
    if (q->actor_kind == ID_PRINCIPAL_PERSON && is_str(q->actor_id, q->subject)) {
        decide(out, CONSENT_PERMIT, CONSENT_RULE_SELF, "citizens see their own record");
        return 1;
    }
    return 0;
}

static struct subject_key subject_key(const char *subject)
{
    struct subject_key k = {.len = strlen(subject)};
    k.hash = consent__hash(subject, k.len);
    return k;
}

int consent_decide(const struct consent_index *ix, const struct consent_query *q,
                   struct consent_decision *out)
{
    int rc;
    if (decide_without_index(ix, q, out, &rc))
        return rc;
    struct subject_key k = subject_key(q->subject);
    struct actor_atoms aa = {0};
    pthread_rwlock_rdlock(ix->lock);
    prefetch_question(ix, q, &k, &aa);
    rc = decide_locked(ix, q, &k, &aa, out);
    pthread_rwlock_unlock(ix->lock);
    return rc;
}

/* Questions decided per read lock: long enough to pay for the lock and keep the prefetches
 * flowing, short enough that a writer waits at most a few microseconds. */
#define MANY_PER_LOCK 64
/* The pipeline: a question's slots are asked for 2 * MANY_AHEAD questions before it is decided,
 * its record (found through the slot, by then cached) MANY_AHEAD before. */
#define MANY_AHEAD 4
#define MANY_RING  (2 * MANY_AHEAD + 1)

int consent_decide_many(const struct consent_index *ix, const struct consent_query *qs, size_t n,
                        struct consent_decision *out)
{
    int status = 0;
    if (ix == NULL || (n > 0 && (qs == NULL || out == NULL))) {
        for (size_t i = 0; out != NULL && i < n; i++)
            decide(&out[i], CONSENT_DENY, CONSENT_RULE_DEFAULT, "malformed question");
        return ERR_INVALID;
    }
    /* the upcoming questions, question j at [j % MANY_RING] */
    struct subject_key keys[MANY_RING];
    struct actor_atoms atoms[MANY_RING];
    unsigned char needs[MANY_RING];
    size_t slots_asked = 0, records_asked = 0; /* questions [0, x) done for each stage */
    for (size_t start = 0; start < n; start += MANY_PER_LOCK) {
        size_t end = n - start > MANY_PER_LOCK ? start + MANY_PER_LOCK : n;
        pthread_rwlock_rdlock(ix->lock);
        for (size_t i = start; i < end; i++) {
            for (; slots_asked < n && slots_asked <= i + 2 * MANY_AHEAD; slots_asked++) {
                size_t r = slots_asked % MANY_RING;
                const struct consent_query *q = &qs[slots_asked];
                int rc;
                needs[r] = !decide_without_index(ix, q, &out[slots_asked], &rc);
                if (rc != 0)
                    status = rc;
                if (!needs[r])
                    continue;
                keys[r] = subject_key(q->subject);
                atoms[r] = (struct actor_atoms){0};
                if (person_actor(q)) {
                    atoms[r].plen = strlen(q->actor_id);
                    atoms[r].phash = consent__hash(q->actor_id, atoms[r].plen);
                    atoms[r].hashed = 1;
                }
                consent__prefetch_slots(ix, keys[r].hash, atoms[r].phash, atoms[r].hashed);
            }
            for (; records_asked < n && records_asked <= i + MANY_AHEAD; records_asked++) {
                size_t r = records_asked % MANY_RING;
                if (needs[r])
                    prefetch_question(ix, &qs[records_asked], &keys[r], &atoms[r]);
            }
            size_t r = i % MANY_RING;
            if (needs[r])
                decide_locked(ix, &qs[i], &keys[r], &atoms[r], &out[i]);
        }
        pthread_rwlock_unlock(ix->lock);
    }
    return status;
}

int consent_index_may_manage(const struct consent_index *ix, const char *delegate_id,
                             const char *subject_id, int64_t now_ms)
{
    int ok = 0;
    pthread_rwlock_rdlock(ix->lock);
    const struct ix_rec *sj = subject_id != NULL
                                  ? consent__subject(ix, subject_id, strlen(subject_id),
                                                     consent__hash(subject_id, strlen(subject_id)))
                                  : NULL;
    uint32_t da = consent__find(ix, delegate_id);
    if (sj != NULL && da != 0) {
        for (uint32_t i = 0; !ok && i < sj->nlinks; i++) {
            const struct ix_link *l = &ix_rec_links(sj)[i];
            ok = l->delegate == da && in_period(l->from, l->until, now_ms) &&
                 (l->rights & (ID_RIGHT_MANAGE_CONSENTS | ID_RIGHT_EVERYTHING));
        }
    }
    pthread_rwlock_unlock(ix->lock);
    return ok;
}

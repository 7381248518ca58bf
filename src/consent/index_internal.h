/* index_internal.h - the index's memory layout, shared by index.c (building, updating, loading)
 * and decide.c (the decision). Nothing outside src/consent/ includes it. */
#ifndef COS_CONSENT_INDEX_INTERNAL_H
#define COS_CONSENT_INDEX_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include "consent/index.h"

#define IX_REC_CLASSES 40

/* An interned string (a person, organisation or client id, a purpose code). Atom 0 is
 * "none". 64 bytes: a lookup compares the inline key, so it touches one line. */
#define IX_KEY_INLINE 39
struct ix_atom {
    const char *s; /* in a pool block: never moves, lives until the index is freed */
    uint32_t len, hash;
    uint32_t purpose_plus1;  /* 1 + index into purposes, or 0 */
    uint8_t hospital;        /* an organisation of kind hospital */
    char key[IX_KEY_INLINE]; /* the first bytes of s (all of it when len < IX_KEY_INLINE) */
};

struct ix_link {
    const char *id; /* pool copy: link ids are not interned (never looked up by a reader) */
    uint32_t delegate, dhash; /* the delegate's atom and hash: compared before the atom */
    uint16_t rights;
    uint8_t guardian;
    int64_t from, until; /* until 0: open-ended */
};

struct ix_consent {
    const char *id;              /* pool copy: what decided_by returns */
    uint32_t recipient, purpose; /* atoms; recipient 0 for CONSENT_TO_PURPOSE */
    uint32_t rhash;              /* the recipient's hash: a person is compared by it first */
    consent_cats cats;
    uint32_t version;
    uint8_t rkind, actions;
    int64_t from, until;
};

/* A citizen: one record in the records region (64-byte lines, line-aligned): this header, then
 * nlinks family links, then ncons consents, packed. A decision finds the record through the
 * compact subjects table (4-byte tagged slots, small enough to stay in cache) and then reads one
 * block of adjacent lines, fetched together, instead of chasing a slot, a consents array and a
 * links array. 40 bytes: with one link and five consents a citizen is exactly five lines. */
#define IX_REC_KEY 28
struct ix_rec {
    uint32_t len;           /* the id's length */
    uint16_t nlinks, ncons; /* at most IX_REC_MAX each */
    uint32_t lines;         /* the block's size in lines (its room) */
    char key[IX_REC_KEY];   /* the id when len < IX_REC_KEY, else a pointer to its pool copy */
};
#define IX_LINE    64u
#define IX_REC_MAX 32768u /* consents, and links, per citizen */

static inline struct ix_link *ix_rec_links(const struct ix_rec *r)
{
    return (struct ix_link *)((char *)(uintptr_t)r + sizeof *r);
}

static inline struct ix_consent *ix_rec_cons(const struct ix_rec *r)
{
    return (struct ix_consent *)((char *)(uintptr_t)r + sizeof *r +
                                 (size_t)r->nlinks * sizeof(struct ix_link));
}

/* The bytes the record uses. */
static inline size_t ix_rec_used(const struct ix_rec *r)
{
    return sizeof *r + (size_t)r->nlinks * sizeof(struct ix_link) +
           (size_t)r->ncons * sizeof(struct ix_consent);
}

struct ix_version {
    int64_t version;
    consent_cats cats;
    uint32_t nrecips;
    uint32_t *recips; /* atoms, sorted */
};

struct ix_purpose {
    uint32_t atom;
    uint32_t nversions, capversions;
    struct ix_version *versions; /* ascending by version; the last is the current one */
};

struct ix_pool_block {
    struct ix_pool_block *next;
    size_t used, cap;
    char data[];
};

/* A compact open-addressing table of 4-byte slots, for the atoms and the citizens: each slot is
 * tag << refbits | ref (0: empty), where ref (an atom id, a record's line number) is below
 * 2^refbits and the tag is the low 32 - refbits bits of the key's hash. The home slot is
 * (hash * cap) >> 32, probing goes forward (wrapping at cap), at most 4/5 full. Half the size of
 * 8-byte slots and any capacity, not only powers of two: for 100,000 citizens 531 KB instead of
 * 2 MB, so the table a decision reads first stays in the cache while records stream through
 * it. A tag mismatch skips a slot without touching its atom or record. */
struct ix_table {
    uint32_t *slots;
    uint32_t cap, n; /* slots, and how many are used */
    uint32_t refbits;
};

static inline uint32_t ix_table_home(const struct ix_table *t, uint32_t hash)
{
    return (uint32_t)(((uint64_t)hash * t->cap) >> 32);
}

static inline uint32_t ix_table_next(const struct ix_table *t, uint32_t i)
{
    return i + 1 == t->cap ? 0 : i + 1;
}

static inline uint32_t ix_table_tag(const struct ix_table *t, uint32_t hash)
{
    return (uint32_t)(hash & ((1ull << (32 - t->refbits)) - 1));
}

static inline uint32_t ix_table_ref(const struct ix_table *t, uint32_t slot)
{
    return (uint32_t)(slot & ((1ull << t->refbits) - 1));
}

/* Does the used slot carry this tag? */
static inline int ix_table_tag_is(const struct ix_table *t, uint32_t slot, uint32_t tag)
{
    return (uint32_t)((uint64_t)slot >> t->refbits) == tag;
}

static inline uint32_t ix_table_slot(const struct ix_table *t, uint32_t hash, uint32_t ref)
{
    return (uint32_t)((uint64_t)ix_table_tag(t, hash) << t->refbits | ref);
}

/* Consent writes in progress, by stripe of the subject's hash: a reload that read the store
 * while a write of the same stripe was between its change in memory and its end (commit or
 * undo), or that overlaps one, could put back what the store said before the write; it is
 * deferred instead (consent_index_reload_subject). */
#define IX_STRIPES 256
struct ix_stripe {
    uint32_t inflight; /* writes that changed memory and have not ended */
    uint32_t gen;      /* +1 at every start and end of such a write */
};

struct consent_index {
    pthread_rwlock_t *lock; /* behind a pointer so the const index of a reader can lock it */
    struct ix_stripe stripes[IX_STRIPES]; /* under the lock */
    struct ix_atom *atoms;                /* atoms[0] unused */
    uint32_t natoms, capatoms;
    struct ix_table atomtab; /* atom ids by their string's hash; refbits = log2(capatoms) */
    struct ix_pool_block *pool;
    /* the citizens: records by their id's hash (ref: the record's line number in recs;
     * refbits = log2(caprecs)) */
    struct ix_table subjects;
    unsigned char *recs;       /* the records region: caprecs lines; line 0 is never a record */
    uint32_t toprecs, caprecs; /* lines handed out so far, and the room (a power of two) */
    uint32_t freerecs[IX_REC_CLASSES]; /* freed blocks by size class, linked through their
                                          first 4 bytes */
    struct ix_purpose *purposes;
    uint32_t npurposes, cappurposes;
    size_t nconsents, nlinks;
    int64_t change_seq;      /* the last consent_change seq applied */
    int64_t link_mark_ms;    /* family links created since this were not seen yet */
    pthread_mutex_t poll_mu; /* one poll at a time (the ticker's and consent_index_sync's) */
};

uint32_t consent__hash(const char *s, size_t len);
/* Is atom a the string s (len bytes)? */
int consent__atom_is(const struct consent_index *ix, uint32_t a, const char *s, size_t len);
/* The atom of s, or 0. Caller holds a lock. */
uint32_t consent__find(const struct consent_index *ix, const char *s);
/* The citizen's record, or NULL (len and hash: of id, by consent__hash). Caller holds a lock;
 * the pointer is valid until the lock is released. */
const struct ix_rec *consent__subject(const struct consent_index *ix, const char *id, size_t len,
                                      uint32_t hash);
/* Prefetch hints, for a decision about to read them: the record that the first slot matching
 * hash names (the likely citizen), and the likely atom of a string's hash. Pure hints: they
 * read the tables (caller holds a lock) and change nothing; a wrong guess costs only time. */
void consent__prefetch_subject(const struct consent_index *ix, uint32_t hash);
void consent__prefetch_atom(const struct consent_index *ix, uint32_t hash);
/* One step earlier, for a batch: the slots the two hints above will read (atom_hash only when
 * with_atom). */
void consent__prefetch_slots(const struct consent_index *ix, uint32_t subject_hash,
                             uint32_t atom_hash, int with_atom);
/* The version record of p, or NULL. */
const struct ix_version *consent__version(const struct ix_purpose *p, int64_t version);
int consent__has_recipient(const struct ix_version *v, uint32_t atom);

#endif

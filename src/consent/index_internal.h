/* index_internal.h - the index's memory layout, shared by index.c (building, updating, loading)
 * and decide.c (the decision). Nothing outside src/consent/ includes it. */
#ifndef COS_CONSENT_INDEX_INTERNAL_H
#define COS_CONSENT_INDEX_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include "consent/index.h"

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

/* A citizen: a slot of the subjects' own open-addressing table, 64 bytes, so a decision
 * touches one line to find the citizen and then the consents array. */
#define IX_SUBJECT_KEY 32
struct ix_subject {
    uint32_t hash, len; /* len 0: an empty slot */
    union {
        char key[IX_SUBJECT_KEY]; /* the id, when len < IX_SUBJECT_KEY */
        const char *s;            /* else its pool copy */
    } k;
    uint16_t nlinks, caplinks, ncons, capcons;
    struct ix_link *links;
    struct ix_consent *cons;
};

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

struct consent_index {
    pthread_rwlock_t *lock; /* behind a pointer so the const index of a reader can lock it */
    struct ix_atom *atoms;  /* atoms[0] unused */
    uint32_t natoms, capatoms;
    uint64_t *slots; /* open addressing: hash << 32 | atom id, 0 empty */
    uint32_t nslots; /* a power of two */
    struct ix_pool_block *pool;
    struct ix_subject *subjects; /* the table: capsubjects slots, a power of two */
    uint32_t nsubjects, capsubjects;
    struct ix_purpose *purposes;
    uint32_t npurposes, cappurposes;
    size_t nconsents, nlinks;
    int64_t change_seq;   /* the last consent_change seq applied */
    int64_t link_mark_ms; /* family links created since this were not seen yet */
};

uint32_t consent__hash(const char *s, size_t len);
/* Is atom a the string s (len bytes)? */
int consent__atom_is(const struct consent_index *ix, uint32_t a, const char *s, size_t len);
/* The atom of s, or 0. Caller holds a lock. */
uint32_t consent__find(const struct consent_index *ix, const char *s);
/* The subject's slot, or NULL. Caller holds a lock. */
const struct ix_subject *consent__subject(const struct consent_index *ix, const char *id);
/* The version record of p, or NULL. */
const struct ix_version *consent__version(const struct ix_purpose *p, int64_t version);
int consent__has_recipient(const struct ix_version *v, uint32_t atom);

#endif

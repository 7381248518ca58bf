/* index.c - the decision's memory: interned ids, subjects with their family links and active
 * consents, purposes with their versions, hospitals; the update functions the consent writes
 * call; loading from the store, per-subject reloads and the multi-process poll. */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* pthread_rwlockattr_setkind_np: a writer must not starve behind readers */
#endif
#include "consent/index_internal.h"
#include "consent/internal.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "base/arena.h"
#include "base/log.h"
#include "identity/person.h"

/* ---- hashing and interning ---- */

uint32_t consent__hash(const char *s, size_t len)
{
    /* 8 bytes at a time, then MurmurHash3's 64-bit finaliser: ids differ in their last
     * characters, and the table takes the low bits */
    uint64_t h = 0x243F6A8885A308D3ull ^ len;
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = (h ^ w) * 0x9E3779B97F4A7C15ull;
        h ^= h >> 32;
        s += 8;
        len -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, s, len);
    h ^= w;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
#if defined(CONSENT_INDEX_TEST_HASH_MASK)
    /* tests/unit/consent/test_index_tags.c builds this file with a mask that leaves a few bits,
     * so that ids share tags and home slots and every collision path runs */
    h &= CONSENT_INDEX_TEST_HASH_MASK;
#endif
    return (uint32_t)h;
}

static uint32_t find_n(const struct consent_index *ix, const char *s, size_t len, uint32_t hash)
{
    const struct ix_table *tab = &ix->atomtab;
    if (tab->cap == 0)
        return 0;
    uint32_t tag = ix_table_tag(tab, hash);
    for (uint32_t i = ix_table_home(tab, hash);; i = ix_table_next(tab, i)) {
        uint32_t slot = tab->slots[i];
        if (slot == 0)
            return 0;
        if (!ix_table_tag_is(tab, slot, tag))
            continue;
        uint32_t a = ix_table_ref(tab, slot);
        const struct ix_atom *t = &ix->atoms[a];
        if (t->hash != hash || t->len != len)
            continue;
        if (len < IX_KEY_INLINE ? memcmp(t->key, s, len) == 0 : memcmp(t->s, s, len) == 0)
            return a;
    }
}

int consent__atom_is(const struct consent_index *ix, uint32_t a, const char *s, size_t len)
{
    const struct ix_atom *t = &ix->atoms[a];
    return a != 0 && t->len == len && memcmp(len < IX_KEY_INLINE ? t->key : t->s, s, len) == 0;
}

uint32_t consent__find(const struct consent_index *ix, const char *s)
{
    if (s == NULL)
        return 0;
    size_t len = strlen(s);
    return find_n(ix, s, len, consent__hash(s, len));
}

/* The big arrays (atoms, slot tables, records) are read at random by every decision: they are
 * line-aligned, and from 2 MB on they ask for transparent huge pages (THP is often "madvise"
 * only), which removes most TLB misses of a random read. Freed with free(). */
#define IX_HUGE ((size_t)2 << 20)

static void *table_alloc(size_t bytes)
{
    void *p = NULL;
    int huge = bytes >= IX_HUGE;
    if (posix_memalign(&p, huge ? IX_HUGE : IX_LINE, bytes) != 0)
        return NULL;
#if defined(MADV_HUGEPAGE)
    if (huge)
        (void)madvise(p, bytes & ~(IX_HUGE - 1), MADV_HUGEPAGE); /* a hint: failure is fine */
#endif
    return p;
}

static void *table_calloc(size_t n, size_t elem)
{
    if (n != 0 && elem > SIZE_MAX / n)
        return NULL;
    void *p = table_alloc(n * elem);
    if (p != NULL)
        memset(p, 0, n * elem);
    return p;
}

static const char *pool_copy(struct consent_index *ix, const char *s, size_t len)
{
    struct ix_pool_block *b = ix->pool;
    if (b == NULL || b->cap - b->used < len + 1) {
        size_t cap = len + 1 > 65536 ? len + 1 : 65536;
        b = malloc(sizeof *b + cap);
        if (b == NULL)
            return NULL;
        b->next = ix->pool;
        b->used = 0;
        b->cap = cap;
        ix->pool = b;
    }
    char *p = b->data + b->used;
    memcpy(p, s, len);
    p[len] = '\0';
    b->used += len + 1;
    return p;
}

/* ---- the 4-byte tagged tables (index_internal.h) ---- */

#define IX_TABLE_FIRST 1024u

/* log2 of a power of two */
static uint32_t log2_of(uint64_t pow2)
{
    uint32_t b = 0;
    while (((uint64_t)1 << b) < pow2)
        b++;
    return b;
}

/* Is a table of cap slots too full for one more entry (more than 4/5)? */
static int table_full(const struct ix_table *t)
{
    return ((uint64_t)t->n + 1) * 5 > (uint64_t)t->cap * 4;
}

/* The next capacity: half as much again. 0 when it would not fit. */
static uint32_t table_next_cap(const struct ix_table *t)
{
    uint64_t cap = t->cap ? (uint64_t)t->cap + t->cap / 2 : IX_TABLE_FIRST;
    return cap < UINT32_MAX ? (uint32_t)cap : 0;
}

static void table_put(struct ix_table *t, uint32_t hash, uint32_t ref)
{
    uint32_t i = ix_table_home(t, hash);
    while (t->slots[i] != 0)
        i = ix_table_next(t, i);
    t->slots[i] = ix_table_slot(t, hash, ref);
    t->n++;
}

/* The hash of what ref names: an atom's (kept), or a record's id (computed again). */
typedef uint32_t (*table_hash_fn)(const struct consent_index *ix, uint32_t ref);

/* Builds t again with cap slots and refbits bits of ref (every entry re-placed: the tag bits
 * change with refbits). ERR_NOMEM leaves t as it was. Caller holds the write lock. */
static int table_rebuild(const struct consent_index *ix, struct ix_table *t, uint32_t cap,
                         uint32_t refbits, table_hash_fn hash_of)
{
    if (cap == 0 || refbits > 32)
        return ERR_NOMEM;
    struct ix_table n = {.cap = cap, .refbits = refbits};
    if ((n.slots = table_calloc(cap, sizeof *n.slots)) == NULL)
        return ERR_NOMEM;
    for (uint32_t i = 0; i < t->cap; i++)
        if (t->slots[i] != 0) {
            uint32_t ref = ix_table_ref(t, t->slots[i]);
            table_put(&n, hash_of(ix, ref), ref);
        }
    free(t->slots);
    *t = n;
    return 0;
}

static uint32_t atom_hash(const struct consent_index *ix, uint32_t a)
{
    return ix->atoms[a].hash;
}

/* The atom of s, made if needed. 0 when out of memory. Caller holds the write lock. */
static uint32_t intern(struct consent_index *ix, const char *s)
{
    size_t len = strlen(s);
    uint32_t hash = consent__hash(s, len);
    uint32_t a = find_n(ix, s, len, hash);
    if (a != 0)
        return a;
    if (ix->natoms == ix->capatoms) {
        if (ix->capatoms > UINT32_MAX / 2)
            return 0;
        uint32_t cap = ix->capatoms * 2;
        struct ix_atom *atoms = table_alloc((size_t)cap * sizeof *atoms);
        if (atoms == NULL)
            return 0;
        memcpy(atoms, ix->atoms, ix->natoms * sizeof *atoms);
        free(ix->atoms);
        ix->atoms = atoms;
        ix->capatoms = cap;
    }
    /* atom ids are below capatoms: the table's refs need log2(capatoms) bits */
    struct ix_table *tab = &ix->atomtab;
    uint32_t refbits = log2_of(ix->capatoms);
    if ((table_full(tab) || refbits != tab->refbits) &&
        table_rebuild(ix, tab, table_full(tab) ? table_next_cap(tab) : tab->cap, refbits,
                      atom_hash) != 0)
        return 0;
    const char *copy = pool_copy(ix, s, len);
    if (copy == NULL)
        return 0;
    a = ix->natoms++;
    ix->atoms[a] = (struct ix_atom){.s = copy, .len = (uint32_t)len, .hash = hash};
    memcpy(ix->atoms[a].key, s, len < IX_KEY_INLINE ? len : IX_KEY_INLINE);
    table_put(tab, hash, a);
    return a;
}

/* ---- lifecycle ---- */

struct consent_index *consent_index_new(void)
{
    struct consent_index *ix = calloc(1, sizeof *ix);
    if (ix == NULL)
        return NULL;
    ix->lock = malloc(sizeof *ix->lock);
    ix->capatoms = 1024;
    ix->atoms = table_calloc(ix->capatoms, sizeof *ix->atoms);
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
#if defined(__GLIBC__)
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
#endif
    pthread_mutex_init(&ix->poll_mu, NULL);
    if (ix->lock == NULL || ix->atoms == NULL || pthread_rwlock_init(ix->lock, &attr) != 0 ||
        table_rebuild(ix, &ix->atomtab, IX_TABLE_FIRST, log2_of(ix->capatoms), atom_hash) != 0) {
        pthread_rwlockattr_destroy(&attr);
        pthread_mutex_destroy(&ix->poll_mu);
        free(ix->lock);
        free(ix->atoms);
        free(ix->atomtab.slots);
        free(ix);
        return NULL;
    }
    pthread_rwlockattr_destroy(&attr);
    ix->natoms = 1;
    return ix;
}

void consent_index_free(struct consent_index *ix)
{
    if (ix == NULL)
        return;
    for (uint32_t i = 0; i < ix->npurposes; i++) {
        for (uint32_t v = 0; v < ix->purposes[i].nversions; v++)
            free(ix->purposes[i].versions[v].recips);
        free(ix->purposes[i].versions);
    }
    while (ix->pool != NULL) {
        struct ix_pool_block *next = ix->pool->next;
        free(ix->pool);
        ix->pool = next;
    }
    pthread_rwlock_destroy(ix->lock);
    pthread_mutex_destroy(&ix->poll_mu);
    free(ix->lock);
    free(ix->subjects.slots);
    free(ix->recs);
    free(ix->purposes);
    free(ix->atoms);
    free(ix->atomtab.slots);
    free(ix);
}

static void wrlock(struct consent_index *ix)
{
    pthread_rwlock_wrlock(ix->lock);
}

static void unlock(const struct consent_index *ix)
{
    pthread_rwlock_unlock(ix->lock);
}

static struct ix_stripe *stripe_of(struct consent_index *ix, const char *subject)
{
    return &ix->stripes[consent__hash(subject, strlen(subject)) % IX_STRIPES];
}

void consent__write_begin(struct consent_index *ix, const char *subject)
{
    wrlock(ix);
    struct ix_stripe *st = stripe_of(ix, subject);
    st->inflight++;
    st->gen++;
    unlock(ix);
}

void consent__write_end(struct consent_index *ix, const char *subject)
{
    wrlock(ix);
    struct ix_stripe *st = stripe_of(ix, subject);
    if (st->inflight > 0)
        st->inflight--;
    st->gen++;
    unlock(ix);
}

/* ---- subjects and purposes ---- */

static int grow(void **items, uint32_t *cap, size_t elem, uint32_t first)
{
    uint32_t n = *cap ? *cap * 2 : first;
    void *p = realloc(*items, (size_t)n * elem);
    if (p == NULL)
        return ERR_NOMEM;
    *items = p;
    *cap = n;
    return 0;
}

/* ---- citizens: the subjects table and the records region ---- */

_Static_assert(sizeof(struct ix_rec) == 40, "a record header is 40 bytes");
_Static_assert(sizeof(struct ix_link) == 40 && sizeof(struct ix_consent) == 48,
               "links and consents keep their sizes");

static struct ix_rec *rec_at(const struct consent_index *ix, uint32_t ref)
{
    return (struct ix_rec *)(void *)(ix->recs + (size_t)ref * IX_LINE);
}

static const char *rec_id(const struct ix_rec *r)
{
    if (r->len < IX_REC_KEY)
        return r->key;
    const char *s;
    memcpy(&s, r->key, sizeof s);
    return s;
}

/* The slot of the citizen id in the subjects table, or UINT32_MAX. Caller holds a lock. */
static uint32_t subject_slot(const struct consent_index *ix, const char *id, size_t len,
                             uint32_t hash)
{
    const struct ix_table *tab = &ix->subjects;
    if (tab->cap == 0)
        return UINT32_MAX;
    uint32_t tag = ix_table_tag(tab, hash);
    for (uint32_t i = ix_table_home(tab, hash);; i = ix_table_next(tab, i)) {
        uint32_t slot = tab->slots[i];
        if (slot == 0)
            return UINT32_MAX;
        if (!ix_table_tag_is(tab, slot, tag))
            continue;
        const struct ix_rec *r = rec_at(ix, ix_table_ref(tab, slot));
        if (r->len == len && memcmp(rec_id(r), id, len) == 0)
            return i;
    }
}

static uint32_t slot_ref(const struct consent_index *ix, uint32_t i)
{
    return ix_table_ref(&ix->subjects, ix->subjects.slots[i]);
}

const struct ix_rec *consent__subject(const struct consent_index *ix, const char *id, size_t len,
                                      uint32_t hash)
{
    uint32_t i = id != NULL ? subject_slot(ix, id, len, hash) : UINT32_MAX;
    return i == UINT32_MAX ? NULL : rec_at(ix, slot_ref(ix, i));
}

/* Lines fetched at once for a likely record: five hold a citizen with a link and five
 * consents; the decision asks for the rest, if any, once it knows the record's size. */
#define IX_PREFETCH_LINES 6

/* The first used slot from hash's home whose tag matches: the likely entry. */
static uint32_t likely_ref(const struct ix_table *tab, uint32_t hash)
{
    if (tab->cap == 0)
        return 0;
    uint32_t tag = ix_table_tag(tab, hash);
    for (uint32_t i = ix_table_home(tab, hash);; i = ix_table_next(tab, i)) {
        uint32_t slot = tab->slots[i];
        if (slot == 0)
            return 0;
        if (ix_table_tag_is(tab, slot, tag))
            return ix_table_ref(tab, slot);
    }
}

void consent__prefetch_subject(const struct consent_index *ix, uint32_t hash)
{
    uint32_t ref = likely_ref(&ix->subjects, hash);
    if (ref != 0) {
        const unsigned char *p = ix->recs + (size_t)ref * IX_LINE;
        for (unsigned l = 0; l < IX_PREFETCH_LINES; l++)
            __builtin_prefetch(p + l * IX_LINE);
    }
}

void consent__prefetch_atom(const struct consent_index *ix, uint32_t hash)
{
    uint32_t a = likely_ref(&ix->atomtab, hash);
    if (a != 0)
        __builtin_prefetch(&ix->atoms[a]);
}

void consent__prefetch_slots(const struct consent_index *ix, uint32_t subject_hash,
                             uint32_t atom_hash, int with_atom)
{
    if (ix->subjects.cap != 0)
        __builtin_prefetch(&ix->subjects.slots[ix_table_home(&ix->subjects, subject_hash)]);
    if (with_atom)
        __builtin_prefetch(&ix->atomtab.slots[ix_table_home(&ix->atomtab, atom_hash)]);
}

static uint32_t rec_hash(const struct consent_index *ix, uint32_t ref)
{
    const struct ix_rec *r = rec_at(ix, ref);
    return consent__hash(rec_id(r), r->len);
}

/* Record refs are line numbers below caprecs (a power of two, at least 64). */
static uint32_t rec_refbits(const struct consent_index *ix)
{
    return log2_of(ix->caprecs > 64 ? ix->caprecs : 64);
}

/* Makes room in the subjects table for one more citizen, and the refs wide enough for every
 * line of the region. 0 or ERR_NOMEM (the table unchanged). Caller holds the write lock. */
static int subjects_room(struct consent_index *ix, int one_more)
{
    struct ix_table *tab = &ix->subjects;
    uint32_t refbits = rec_refbits(ix);
    int full = one_more && (tab->cap == 0 || table_full(tab));
    if (!full && refbits == tab->refbits)
        return 0;
    return table_rebuild(ix, tab, full ? table_next_cap(tab) : tab->cap, refbits, rec_hash);
}

/* Records come in size classes: 1 to 16 lines exactly (most citizens), then powers of two. */
static uint32_t rec_round(uint32_t lines)
{
    if (lines <= 16)
        return lines;
    uint32_t n = 32;
    while (n < lines)
        n *= 2;
    return n;
}

static unsigned rec_class(uint32_t lines) /* of a rounded size */
{
    if (lines <= 16)
        return lines - 1;
    unsigned c = 16;
    for (uint32_t n = 32; n < lines; n *= 2)
        c++;
    return c;
}

/* A block of lines (rounded by rec_round) from the region: a freed one of its class, or new
 * room at the top (the region doubles when full; records are found by line number, so moving
 * it is fine). 0 when out of memory. Caller holds the write lock. */
static uint32_t rec_alloc(struct consent_index *ix, uint32_t lines)
{
    unsigned c = rec_class(lines);
    uint32_t ref = ix->freerecs[c];
    if (ref != 0) {
        memcpy(&ix->freerecs[c], rec_at(ix, ref), sizeof ref);
        return ref;
    }
    if (ix->toprecs == 0)
        ix->toprecs = 1; /* line 0 is never a record: a slot of 0 means empty */
    if ((uint64_t)ix->toprecs + lines > ix->caprecs) {
        uint64_t cap = ix->caprecs ? ix->caprecs : 64;
        while (cap < (uint64_t)ix->toprecs + lines)
            cap *= 2;
        if (cap > UINT32_MAX)
            return 0;
        unsigned char *recs = table_alloc((size_t)cap * IX_LINE);
        if (recs == NULL)
            return 0;
        if (ix->recs != NULL)
            memcpy(recs, ix->recs, (size_t)ix->toprecs * IX_LINE);
        free(ix->recs);
        ix->recs = recs;
        ix->caprecs = (uint32_t)cap;
    }
    /* the new lines need refs the subjects table can hold */
    if (subjects_room(ix, 0) != 0)
        return 0;
    ref = ix->toprecs;
    ix->toprecs += lines;
    return ref;
}

static void rec_free(struct consent_index *ix, uint32_t ref)
{
    struct ix_rec *r = rec_at(ix, ref);
    unsigned c = rec_class(r->lines);
    memcpy(r, &ix->freerecs[c], sizeof ref);
    ix->freerecs[c] = ref;
}

/* The slot of the citizen id, with a record made if needed; UINT32_MAX when out of memory.
 * Caller holds the write lock. */
static uint32_t subject_of(struct consent_index *ix, const char *id)
{
    size_t len = strlen(id);
    uint32_t hash = consent__hash(id, len);
    uint32_t i = subject_slot(ix, id, len, hash);
    if (i != UINT32_MAX)
        return i;
    if (len == 0 || len > UINT32_MAX)
        return UINT32_MAX;
    if (subjects_room(ix, 1) != 0)
        return UINT32_MAX;
    const char *copy = NULL;
    if (len >= IX_REC_KEY && (copy = pool_copy(ix, id, len)) == NULL)
        return UINT32_MAX;
    uint32_t ref = rec_alloc(ix, 1);
    if (ref == 0)
        return UINT32_MAX;
    struct ix_rec *r = rec_at(ix, ref);
    *r = (struct ix_rec){.len = (uint32_t)len, .lines = 1};
    if (copy == NULL)
        memcpy(r->key, id, len);
    else
        memcpy(r->key, &copy, sizeof copy);
    table_put(&ix->subjects, hash, ref);
    return subject_slot(ix, id, len, hash);
}

/* The record in slot i with room for `more` bytes beyond what it uses: itself, or a copy in a
 * bigger block (the old one freed). NULL when out of memory (nothing changed). Caller holds the
 * write lock; the pointer is valid until the next change. */
static struct ix_rec *rec_room(struct consent_index *ix, uint32_t i, size_t more)
{
    uint32_t ref = slot_ref(ix, i);
    struct ix_rec *r = rec_at(ix, ref);
    size_t need = ix_rec_used(r) + more;
    if (need <= (size_t)r->lines * IX_LINE)
        return r;
    size_t want = (need + IX_LINE - 1) / IX_LINE;
    if (want > 16)
        want += want / 4; /* a growing big record moves rarely */
    uint32_t lines = rec_round((uint32_t)want);
    uint32_t refbits = ix->subjects.refbits;
    uint32_t nref = rec_alloc(ix, lines);
    if (nref == 0)
        return NULL;
    r = rec_at(ix, ref); /* the region may have moved */
    uint32_t hash = consent__hash(rec_id(r), r->len);
    if (ix->subjects.refbits != refbits) /* the table was built again: find the slot again */
        i = subject_slot(ix, rec_id(r), r->len, hash);
    struct ix_rec *n = rec_at(ix, nref);
    memcpy(n, r, ix_rec_used(r));
    n->lines = lines;
    rec_free(ix, ref);
    ix->subjects.slots[i] = ix_table_slot(&ix->subjects, hash, nref);
    return n;
}

static struct ix_purpose *purpose_of(struct consent_index *ix, uint32_t a)
{
    if (ix->atoms[a].purpose_plus1 != 0)
        return &ix->purposes[ix->atoms[a].purpose_plus1 - 1];
    if (ix->npurposes == ix->cappurposes &&
        grow((void **)&ix->purposes, &ix->cappurposes, sizeof *ix->purposes, 16) != 0)
        return NULL;
    struct ix_purpose *p = &ix->purposes[ix->npurposes++];
    *p = (struct ix_purpose){.atom = a};
    ix->atoms[a].purpose_plus1 = ix->npurposes;
    return p;
}

const struct ix_version *consent__version(const struct ix_purpose *p, int64_t version)
{
    for (uint32_t i = p->nversions; i-- > 0;)
        if (p->versions[i].version == version)
            return &p->versions[i];
    return NULL;
}

int consent__has_recipient(const struct ix_version *v, uint32_t atom)
{
    uint32_t lo = 0, hi = v->nrecips;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (v->recips[mid] == atom)
            return 1;
        if (v->recips[mid] < atom)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int put_purpose_locked(struct consent_index *ix, const char *code, int64_t version,
                              consent_cats cats, const char *const *recipients, size_t n)
{
    uint32_t a = intern(ix, code);
    struct ix_purpose *p = a ? purpose_of(ix, a) : NULL;
    uint32_t *recips = n ? malloc(n * sizeof *recips) : NULL;
    if (p == NULL || (n && recips == NULL)) {
        free(recips);
        return ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++)
        if ((recips[i] = intern(ix, recipients[i])) == 0) {
            free(recips);
            return ERR_NOMEM;
        }
    if (n > 1)
        qsort(recips, n, sizeof *recips, cmp_u32);
    struct ix_version nv = {
        .version = version, .cats = cats, .nrecips = (uint32_t)n, .recips = recips};
    for (uint32_t i = 0; i < p->nversions; i++)
        if (p->versions[i].version == version) {
            free(p->versions[i].recips);
            p->versions[i] = nv;
            return 0;
        }
    if (p->nversions == p->capversions &&
        grow((void **)&p->versions, &p->capversions, sizeof *p->versions, 4) != 0) {
        free(recips);
        return ERR_NOMEM;
    }
    uint32_t at = p->nversions;
    while (at > 0 && p->versions[at - 1].version > version)
        at--;
    memmove(&p->versions[at + 1], &p->versions[at], (p->nversions - at) * sizeof nv);
    p->versions[at] = nv;
    p->nversions++;
    return 0;
}

int consent_index_put_purpose(struct consent_index *ix, const char *code, int64_t version,
                              consent_cats cats, const char *const *recipients, size_t n)
{
    wrlock(ix);
    int rc = put_purpose_locked(ix, code, version, cats, recipients, n);
    unlock(ix);
    return rc;
}

int consent_index_set_hospital(struct consent_index *ix, const char *org_id, int is_hospital)
{
    wrlock(ix);
    uint32_t a = intern(ix, org_id);
    if (a != 0)
        ix->atoms[a].hospital = is_hospital ? 1 : 0;
    unlock(ix);
    return a ? 0 : ERR_NOMEM;
}

static int put_consent_locked(struct consent_index *ix, const struct consent_index_consent *c)
{
    uint32_t pa = intern(ix, c->purpose_code);
    uint32_t ra = c->recipient_kind == CONSENT_TO_PURPOSE || c->recipient_id == NULL
                      ? 0
                      : intern(ix, c->recipient_id);
    if (pa == 0 || (c->recipient_kind != CONSENT_TO_PURPOSE && c->recipient_id != NULL && ra == 0))
        return ERR_NOMEM;
    if (purpose_of(ix, pa) == NULL) /* unknown purposes decide nothing: no current version */
        return ERR_NOMEM;
    if (c->purpose_version < 1 || c->purpose_version > INT32_MAX)
        return ERR_INVALID;
    uint32_t slot = subject_of(ix, c->subject_id);
    if (slot == UINT32_MAX)
        return ERR_NOMEM;
    struct ix_consent nc = {.id = NULL,
                            .recipient = ra,
                            .purpose = pa,
                            .rhash = ra ? ix->atoms[ra].hash : 0,
                            .rkind = (uint8_t)c->recipient_kind,
                            .actions = (uint8_t)c->actions,
                            .cats = c->cats,
                            .version = (uint32_t)c->purpose_version,
                            .from = c->valid_from_ms,
                            .until = c->valid_until_ms};
    struct ix_rec *r = rec_at(ix, slot_ref(ix, slot));
    struct ix_consent *cons = ix_rec_cons(r);
    for (uint32_t i = 0; i < r->ncons; i++)
        if (strcmp(cons[i].id, c->id) == 0) {
            nc.id = cons[i].id;
            cons[i] = nc;
            return 0;
        }
    if (r->ncons >= IX_REC_MAX)
        return ERR_TOOBIG;
    if ((r = rec_room(ix, slot, sizeof nc)) == NULL)
        return ERR_NOMEM;
    if ((nc.id = pool_copy(ix, c->id, strlen(c->id))) == NULL)
        return ERR_NOMEM;
    ix_rec_cons(r)[r->ncons++] = nc;
    ix->nconsents++;
    return 0;
}

int consent_index_put_consent(struct consent_index *ix, const struct consent_index_consent *c)
{
    wrlock(ix);
    int rc = put_consent_locked(ix, c);
    unlock(ix);
    return rc;
}

int consent_index_remove_consent(struct consent_index *ix, const char *subject_id,
                                 const char *consent_id)
{
    wrlock(ix);
    size_t len = subject_id != NULL ? strlen(subject_id) : 0;
    uint32_t slot = subject_id != NULL && consent_id != NULL
                        ? subject_slot(ix, subject_id, len, consent__hash(subject_id, len))
                        : UINT32_MAX;
    if (slot != UINT32_MAX) {
        struct ix_rec *r = rec_at(ix, slot_ref(ix, slot));
        struct ix_consent *cons = ix_rec_cons(r);
        for (uint32_t i = 0; i < r->ncons; i++)
            if (strcmp(cons[i].id, consent_id) == 0) {
                cons[i] = cons[--r->ncons];
                ix->nconsents--;
                break;
            }
    }
    unlock(ix);
    return 0;
}

static int put_link_locked(struct consent_index *ix, const struct consent_index_link *l)
{
    uint32_t da = intern(ix, l->delegate_id);
    uint32_t slot = da ? subject_of(ix, l->subject_id) : UINT32_MAX;
    if (slot == UINT32_MAX)
        return ERR_NOMEM;
    struct ix_link nl = {.id = NULL,
                         .delegate = da,
                         .dhash = ix->atoms[da].hash,
                         .rights = (uint16_t)l->rights,
                         .guardian = l->guardian ? 1 : 0,
                         .from = l->valid_from_ms,
                         .until = l->valid_until_ms};
    struct ix_rec *r = rec_at(ix, slot_ref(ix, slot));
    struct ix_link *links = ix_rec_links(r);
    for (uint32_t i = 0; i < r->nlinks; i++)
        if (strcmp(links[i].id, l->id) == 0) {
            nl.id = links[i].id;
            links[i] = nl;
            return 0;
        }
    if (r->nlinks >= IX_REC_MAX)
        return ERR_TOOBIG;
    if ((r = rec_room(ix, slot, sizeof nl)) == NULL)
        return ERR_NOMEM;
    if ((nl.id = pool_copy(ix, l->id, strlen(l->id))) == NULL)
        return ERR_NOMEM;
    /* the consents follow the links: move them up by one link */
    struct ix_consent *cons = ix_rec_cons(r);
    memmove((char *)cons + sizeof nl, cons, (size_t)r->ncons * sizeof *cons);
    ix_rec_links(r)[r->nlinks++] = nl;
    ix->nlinks++;
    return 0;
}

int consent_index_put_link(struct consent_index *ix, const struct consent_index_link *l)
{
    wrlock(ix);
    int rc = put_link_locked(ix, l);
    unlock(ix);
    return rc;
}

void consent_index_stats(const struct consent_index *ix, struct consent_index_stats *out)
{
    pthread_rwlock_rdlock(ix->lock);
    *out = (struct consent_index_stats){.subjects = ix->subjects.n,
                                        .consents = ix->nconsents,
                                        .links = ix->nlinks,
                                        .purposes = ix->npurposes,
                                        .interned = ix->natoms - 1,
                                        .change_seq = ix->change_seq};
    size_t bytes = sizeof *ix + (size_t)ix->capatoms * sizeof *ix->atoms +
                   (size_t)ix->atomtab.cap * sizeof *ix->atomtab.slots +
                   (size_t)ix->subjects.cap * sizeof *ix->subjects.slots +
                   (size_t)ix->caprecs * IX_LINE + (size_t)ix->cappurposes * sizeof *ix->purposes;
    for (const struct ix_pool_block *b = ix->pool; b != NULL; b = b->next)
        bytes += sizeof *b + b->cap;
    for (uint32_t i = 0; i < ix->npurposes; i++) {
        bytes += ix->purposes[i].capversions * sizeof *ix->purposes[i].versions;
        for (uint32_t v = 0; v < ix->purposes[i].nversions; v++)
            bytes += ix->purposes[i].versions[v].nrecips * sizeof(uint32_t);
    }
    out->bytes = bytes;
    unlock(ix);
}

/* ---- names ---- */

static const char *const rkind_names[] = {"organisation", "client", "person", "purpose"};

const char *consent_recipient_kind_name(enum consent_recipient_kind k)
{
    return (unsigned)k < 4 ? rkind_names[k] : NULL;
}

int consent_recipient_kind_parse(const char *text, enum consent_recipient_kind *out)
{
    for (unsigned i = 0; text != NULL && i < 4; i++)
        if (strcmp(text, rkind_names[i]) == 0) {
            *out = (enum consent_recipient_kind)i;
            return 0;
        }
    return ERR_INVALID;
}

const char *consent_actions_name(unsigned actions)
{
    switch (actions) {
    case CONSENT_READ:
        return "read";
    case CONSENT_WRITE:
        return "write";
    case CONSENT_READ | CONSENT_WRITE:
        return "read,write";
    default:
        return NULL;
    }
}

int consent_actions_parse(const char *text, unsigned *out)
{
    for (unsigned a = 1; a <= 3; a++)
        if (text != NULL && strcmp(text, consent_actions_name(a)) == 0) {
            *out = a;
            return 0;
        }
    return ERR_INVALID;
}

void consent_rights_scope(unsigned rights, consent_cats *read_cats, consent_cats *write_cats)
{
    consent_cats r = 0, w = 0;
    if (rights & ID_RIGHT_EVERYTHING) {
        r = w = CONSENT_CATS_ALL;
    }
    if (rights & ID_RIGHT_SEE_RECORD)
        r = CONSENT_CATS_ALL;
    if (rights & ID_RIGHT_SEE_ALERTS)
        r |= 1u << CONSENT_CAT_ALERTS;
    if (rights & ID_RIGHT_BOOK_APPOINTMENTS) {
        r |= 1u << CONSENT_CAT_APPOINTMENTS;
        w |= 1u << CONSENT_CAT_APPOINTMENTS;
    }
    *read_cats = r;
    *write_cats = w;
}

/* ---- loading from the store ---- */

/* Rows are read into an arena first, then applied under the write lock in one go, so readers
 * never wait for the database. */
struct rows {
    struct arena *a;
    struct consent_index_consent *cons;
    size_t ncons, capcons;
    struct consent_index_link *links;
    size_t nlinks, caplinks;
    int nomem, bad;
};

static const char *dup_col(struct rows *r, const struct store_row *row, int col)
{
    if (store_row_is_null(row, col))
        return NULL;
    const char *t = arena_strdup(r->a, store_row_text(row, col, NULL));
    if (t == NULL)
        r->nomem = 1;
    return t;
}

static int read_consent_row(const struct store_row *row, void *ctx)
{
    struct rows *r = ctx;
    struct consent_index_consent *items =
        arena_array_reserve(r->a, r->cons, r->ncons, &r->capcons, sizeof *items);
    if (items == NULL) {
        r->nomem = 1;
        return 1;
    }
    r->cons = items;
    struct consent_index_consent *c = &items[r->ncons];
    *c = (struct consent_index_consent){0};
    c->id = dup_col(r, row, 0);
    c->subject_id = dup_col(r, row, 1);
    c->recipient_id = dup_col(r, row, 3);
    c->purpose_code = dup_col(r, row, 4);
    c->purpose_version = store_row_int(row, 5);
    c->valid_from_ms = store_row_int(row, 8);
    c->valid_until_ms = store_row_is_null(row, 9) ? 0 : store_row_int(row, 9);
    if (r->nomem)
        return 1;
    if (c->id == NULL || c->subject_id == NULL || c->purpose_code == NULL ||
        consent_recipient_kind_parse(store_row_text(row, 2, NULL), &c->recipient_kind) != 0 ||
        consent_cats_parse(store_row_text(row, 6, NULL), &c->cats, NULL) != 0 ||
        consent_actions_parse(store_row_text(row, 7, NULL), &c->actions) != 0) {
        r->bad = 1;
        return 1;
    }
    r->ncons++;
    return 0;
}

static int read_link_row(const struct store_row *row, void *ctx)
{
    struct rows *r = ctx;
    struct consent_index_link *items =
        arena_array_reserve(r->a, r->links, r->nlinks, &r->caplinks, sizeof *items);
    if (items == NULL) {
        r->nomem = 1;
        return 1;
    }
    r->links = items;
    struct consent_index_link *l = &items[r->nlinks];
    *l = (struct consent_index_link){0};
    l->id = dup_col(r, row, 0);
    l->subject_id = dup_col(r, row, 1);
    l->delegate_id = dup_col(r, row, 2);
    l->valid_from_ms = store_row_int(row, 5);
    l->valid_until_ms = store_row_is_null(row, 6) ? 0 : store_row_int(row, 6);
    const char *kind = store_row_text(row, 4, NULL);
    l->guardian = kind != NULL && strcmp(kind, "guardian") == 0;
    if (r->nomem)
        return 1;
    if (l->id == NULL || l->subject_id == NULL || l->delegate_id == NULL ||
        id_rights_parse(store_row_text(row, 3, NULL), &l->rights, NULL) != 0) {
        r->bad = 1;
        return 1;
    }
    r->nlinks++;
    return 0;
}

#define CONSENT_COLS                                                                               \
    "SELECT id, subject_id, recipient_kind, recipient_id, purpose_code, purpose_version, "         \
    "categories, actions, valid_from_ms, valid_until_ms FROM consent WHERE status = 'active'"
#define LINK_COLS                                                                                  \
    "SELECT id, subject_id, delegate_id, rights, kind, valid_from_ms, valid_until_ms "             \
    "FROM family_link"

static int rows_status(struct rows *r, int rc, struct err *e)
{
    if (rc != 0)
        return rc;
    if (r->nomem)
        return err_set(e, ERR_NOMEM, "consent index: out of memory");
    if (r->bad)
        return err_set(e, ERR_INTERNAL, "consent index: a stored consent or link is malformed");
    return 0;
}

struct purpose_rows {
    struct consent_index *ix;
    int rc;
};

static int read_purpose_row(const struct store_row *row, void *ctx)
{
    struct purpose_rows *p = ctx;
    const char *code = store_row_text(row, 0, NULL), *recips = store_row_text(row, 3, NULL);
    consent_cats cats;
    if (code == NULL || recips == NULL ||
        consent_cats_parse(store_row_text(row, 2, NULL), &cats, NULL) != 0) {
        p->rc = ERR_INTERNAL;
        return 1;
    }
    /* recipients: a comma list of ids (at most CONSENT_RECIPIENTS_MAX, checked when written) */
    const char *list[128];
    char buf[128 * 40];
    size_t n = 0, len = strlen(recips);
    if (len >= sizeof buf) {
        p->rc = ERR_INTERNAL;
        return 1;
    }
    memcpy(buf, recips, len + 1);
    for (char *s = buf; *s != '\0' && n < 128;) {
        char *comma = strchr(s, ',');
        if (comma != NULL)
            *comma = '\0';
        list[n++] = s;
        if (comma == NULL)
            break;
        s = comma + 1;
    }
    p->rc = put_purpose_locked(p->ix, code, store_row_int(row, 1), cats, list, n);
    return p->rc != 0;
}

static int read_hospital_row(const struct store_row *row, void *ctx)
{
    struct purpose_rows *p = ctx;
    const char *id = store_row_text(row, 0, NULL);
    uint32_t a = id != NULL ? intern(p->ix, id) : 0;
    if (a == 0) {
        p->rc = ERR_NOMEM;
        return 1;
    }
    p->ix->atoms[a].hospital = 1;
    return 0;
}

int consent_index_reload_purposes(struct consent_index *ix, struct store *s, struct err *e)
{
    struct purpose_rows p = {.ix = ix};
    /* the statements run under the write lock: purposes and hospitals are few, and a reader
     * must never see a purpose half replaced */
    wrlock(ix);
    int rc = store_query(s,
                         "SELECT code, version, categories, recipients FROM "
                         "consent_purpose_version ORDER BY code, version",
                         NULL, 0, read_purpose_row, &p, e);
    if (rc == 0 && p.rc == 0)
        rc = store_query(s, "SELECT id FROM organisation WHERE kind = 'hospital'", NULL, 0,
                         read_hospital_row, &p, e);
    unlock(ix);
    if (rc == 0 && p.rc != 0)
        rc = err_set(e, p.rc, "consent index: cannot load the purposes");
    return rc;
}

static int apply_rows(struct consent_index *ix, struct rows *r)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < r->nlinks; i++)
        rc = put_link_locked(ix, &r->links[i]);
    for (size_t i = 0; rc == 0 && i < r->ncons; i++)
        rc = put_consent_locked(ix, &r->cons[i]);
    return rc;
}

static int read_max(const struct store_row *row, void *ctx)
{
    *(int64_t *)ctx = store_row_is_null(row, 0) ? 0 : store_row_int(row, 0);
    return 1;
}

struct consent_index *consent_index_load(struct store *s, struct err *e)
{
    struct consent_index *ix = consent_index_new();
    struct arena *a = arena_new(1 << 20);
    struct rows r = {.a = a};
    int rc = ix != NULL && a != NULL ? 0 : err_set(e, ERR_NOMEM, "consent index: out of memory");
    int64_t seq = 0, mark = 0;
    if (rc == 0)
        rc = store_query(s, "SELECT MAX(seq) FROM consent_change", NULL, 0, read_max, &seq, e);
    if (rc == 0)
        rc = store_query(s, "SELECT MAX(created_ms) FROM family_link", NULL, 0, read_max, &mark, e);
    if (rc == 0)
        rc = consent_index_reload_purposes(ix, s, e);
    if (rc == 0)
        rc = rows_status(&r, store_query(s, LINK_COLS, NULL, 0, read_link_row, &r, e), e);
    if (rc == 0)
        rc = rows_status(&r, store_query(s, CONSENT_COLS, NULL, 0, read_consent_row, &r, e), e);
    if (rc == 0) {
        wrlock(ix);
        rc = apply_rows(ix, &r);
        ix->change_seq = seq;
        ix->link_mark_ms = mark;
        unlock(ix);
        if (rc != 0)
            err_set(e, rc, "consent index: out of memory");
    }
    arena_free(a);
    if (rc != 0) {
        consent_index_free(ix);
        return NULL;
    }
    return ix;
}

int consent_index_reload_subject(struct consent_index *ix, struct store *s, const char *subject_id,
                                 struct err *e)
{
    /* what the store says is only as new as the write that last changed this citizen's stripe:
     * with one in progress, or one starting or ending while the store is read, the rows read may
     * be older than memory (a withdrawal applied before its commit) */
    pthread_rwlock_rdlock(ix->lock);
    const struct ix_stripe *st = stripe_of(ix, subject_id);
    uint32_t gen = st->gen, busy = st->inflight;
    unlock(ix);
    if (busy)
        return CONSENT_RELOAD_DEFERRED;
    struct arena *a = arena_new(0);
    if (a == NULL)
        return err_set(e, ERR_NOMEM, "consent index: out of memory");
    struct rows r = {.a = a};
    struct store_value v[] = {STORE_TEXT_V(subject_id)};
    int rc = rows_status(
        &r, store_query(s, LINK_COLS " WHERE subject_id = ?", v, 1, read_link_row, &r, e), e);
    if (rc == 0)
        rc = rows_status(
            &r, store_query(s, CONSENT_COLS " AND subject_id = ?", v, 1, read_consent_row, &r, e),
            e);
    if (rc == 0) {
        wrlock(ix);
        uint32_t slot = UINT32_MAX;
        if (st->gen != gen) {
            rc = CONSENT_RELOAD_DEFERRED;
        } else if ((slot = subject_of(ix, subject_id)) == UINT32_MAX) {
            rc = ERR_NOMEM;
        } else {
            /* keep the record: the re-adds below reuse its room */
            struct ix_rec *sj = rec_at(ix, slot_ref(ix, slot));
            ix->nlinks -= sj->nlinks;
            ix->nconsents -= sj->ncons;
            sj->nlinks = sj->ncons = 0;
            rc = apply_rows(ix, &r);
        }
        unlock(ix);
        if (rc != 0 && rc != CONSENT_RELOAD_DEFERRED)
            err_set(e, rc, "consent index: out of memory");
    }
    arena_free(a);
    return rc;
}

/* ---- several processes on one store ---- */

struct change_rows {
    struct arena *a;
    const char **subjects; /* NULL entry: the purposes changed */
    size_t n, cap;
    int64_t last;
    int nomem;
};

static int read_change_row(const struct store_row *row, void *ctx)
{
    struct change_rows *c = ctx;
    const char **items = arena_array_reserve(c->a, c->subjects, c->n, &c->cap, sizeof *items);
    if (items == NULL) {
        c->nomem = 1;
        return 1;
    }
    c->subjects = items;
    int64_t seq = store_row_int(row, 0);
    if (seq > c->last)
        c->last = seq;
    const char *sub = store_row_is_null(row, 1) ? NULL : store_row_text(row, 1, NULL);
    items[c->n] = sub != NULL ? arena_strdup(c->a, sub) : NULL;
    if (sub != NULL && items[c->n] == NULL) {
        c->nomem = 1;
        return 1;
    }
    c->n++;
    return 0;
}

#define POLL_MAX 1000

static int poll_locked(struct consent_index *ix, struct store *s, struct err *e);

int consent_index_poll(struct consent_index *ix, struct store *s, struct err *e)
{
    pthread_mutex_lock(&ix->poll_mu);
    int rc = poll_locked(ix, s, e);
    pthread_mutex_unlock(&ix->poll_mu);
    return rc;
}

static int64_t applied_seq(const struct consent_index *ix)
{
    pthread_rwlock_rdlock(ix->lock);
    int64_t seq = ix->change_seq;
    unlock(ix);
    return seq;
}

/* Rounds of polling a sync waits for a reload that a write of this process holds back (its
 * stripe is busy for the milliseconds of a commit), and the pause between them. */
#define SYNC_ROUNDS   200
#define SYNC_PAUSE_NS 1000000L

int consent_index_sync(struct consent_index *ix, struct store *s, struct err *e)
{
    int64_t latest = 0;
    int rc = store_query(s, "SELECT MAX(seq) FROM consent_change", NULL, 0, read_max, &latest, e);
    if (rc != 0)
        return rc;
    if (applied_seq(ix) >= latest)
        return 0; /* the common case: nobody else changed a consent */
    pthread_mutex_lock(&ix->poll_mu);
    for (int round = 0; rc >= 0 && applied_seq(ix) < latest; round++) {
        if (round == SYNC_ROUNDS) {
            rc = err_set(e, ERR_UNAVAILABLE,
                         "consent index: could not catch up with change %lld of another process",
                         (long long)latest);
            break;
        }
        int64_t before = applied_seq(ix);
        rc = poll_locked(ix, s, e);
        if (rc >= 0 && applied_seq(ix) == before) { /* deferred: a write of ours is committing */
            struct timespec pause = {0, SYNC_PAUSE_NS};
            nanosleep(&pause, NULL);
        }
    }
    pthread_mutex_unlock(&ix->poll_mu);
    return rc < 0 ? rc : 0;
}

static int poll_locked(struct consent_index *ix, struct store *s, struct err *e)
{
    pthread_rwlock_rdlock(ix->lock);
    int64_t since = ix->change_seq, mark = ix->link_mark_ms;
    unlock(ix);
    struct arena *a = arena_new(0);
    if (a == NULL)
        return err_set(e, ERR_NOMEM, "consent index: out of memory");
    struct change_rows c = {.a = a, .last = since};
    struct store_value v[] = {STORE_INT_V(since), STORE_INT_V(POLL_MAX)};
    int rc = store_query(s,
                         "SELECT seq, subject_id FROM consent_change WHERE seq > ? ORDER BY seq "
                         "LIMIT ?",
                         v, 2, read_change_row, &c, e);
    size_t nchanges = c.n;
    /* family links are the identity module's rows: new ones are found by their creation time
     * (re-reading the last second again: a reload is idempotent) */
    int64_t newmark = mark;
    if (rc == 0) {
        struct store_value lv[] = {STORE_INT_V(mark > 1000 ? mark - 1000 : 0)};
        struct rows lr = {.a = a};
        rc = rows_status(
            &lr, store_query(s, LINK_COLS " WHERE created_ms >= ?", lv, 1, read_link_row, &lr, e),
            e);
        for (size_t i = 0; rc == 0 && i < lr.nlinks; i++) {
            const char **items =
                arena_array_reserve(a, c.subjects, c.n, &c.cap, sizeof *c.subjects);
            if (items == NULL) {
                rc = err_set(e, ERR_NOMEM, "consent index: out of memory");
                break;
            }
            c.subjects = items;
            items[c.n++] = lr.links[i].subject_id;
        }
        if (rc == 0)
            rc = store_query(s, "SELECT MAX(created_ms) FROM family_link", NULL, 0, read_max,
                             &newmark, e);
    }
    if (rc == 0 && c.nomem)
        rc = err_set(e, ERR_NOMEM, "consent index: out of memory");
    int purposes_done = 0, deferred = 0;
    for (size_t i = 0; rc == 0 && i < c.n; i++) {
        if (c.subjects[i] == NULL) {
            if (!purposes_done)
                rc = consent_index_reload_purposes(ix, s, e);
            purposes_done = 1;
        } else {
            rc = consent_index_reload_subject(ix, s, c.subjects[i], e);
            if (rc == CONSENT_RELOAD_DEFERRED) { /* read again at the next poll */
                deferred = 1;
                rc = 0;
            }
        }
    }
    /* hospitals added by the administration are found on every poll (a short list) */
    if (rc == 0 && !purposes_done) {
        struct purpose_rows p = {.ix = ix};
        wrlock(ix);
        rc = store_query(s, "SELECT id FROM organisation WHERE kind = 'hospital'", NULL, 0,
                         read_hospital_row, &p, e);
        unlock(ix);
        if (rc == 0 && p.rc != 0)
            rc = err_set(e, p.rc, "consent index: out of memory");
    }
    if (rc == 0 && !deferred) {
        wrlock(ix);
        if (c.last > ix->change_seq)
            ix->change_seq = c.last;
        if (newmark > ix->link_mark_ms)
            ix->link_mark_ms = newmark;
        unlock(ix);
    }
    arena_free(a);
    return rc == 0 ? (int)(nchanges > INT32_MAX ? INT32_MAX : nchanges) : rc;
}

/* Called by the consent writes that record a change (consent.c): the writer's own process
 * need not reload what it applied itself. */

void consent__note_change_seq(struct consent_index *ix, int64_t seq)
{
    wrlock(ix);
    if (seq == ix->change_seq + 1)
        ix->change_seq = seq;
    unlock(ix);
}

/* ---- the process-wide index ---- */

static _Atomic(struct consent_index *) global;

int consent_index_open_global(struct store *s, struct err *e)
{
    struct consent_index *ix = consent_index_load(s, e);
    if (ix == NULL)
        return e != NULL && e->code != 0 ? e->code : ERR_NOMEM;
    struct consent_index_stats st;
    consent_index_stats(ix, &st);
    log_info("consent index: %zu subjects, %zu consents, %zu family links, %zu purposes",
             st.subjects, st.consents, st.links, st.purposes);
    consent_index_free(atomic_exchange(&global, ix));
    return 0;
}

struct consent_index *consent_index_global(void)
{
    return atomic_load(&global);
}

void consent_index_close_global(void)
{
    consent_index_free(atomic_exchange(&global, NULL));
}

/* hash.c - the audit trail's canonical encoding and hashes: entries, chain genesis, Merkle
 * leaves and nodes over chain heads, and the checkpoint message that gets signed. */
#include "audit/hash.h"

#include <string.h>

#include <sodium.h>

#define TAG_ENTRY      "cityos.audit.entry.v1"
#define TAG_GENESIS    "cityos.audit.genesis.v1"
#define TAG_HEAD       "cityos.audit.head.v1"
#define TAG_CHECKPOINT "cityos.audit.checkpoint.v1"

static void put(struct audit_buf *b, const void *p, size_t n)
{
    if (b->overflow || n > b->cap - b->len) {
        b->overflow = 1;
        return;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

static void put_u8(struct audit_buf *b, unsigned char c)
{
    put(b, &c, 1);
}

static void put_be(struct audit_buf *b, uint64_t v, int bytes)
{
    unsigned char x[8];
    for (int i = 0; i < bytes; i++)
        x[i] = (unsigned char)(v >> (8 * (bytes - 1 - i)));
    put(b, x, (size_t)bytes);
}

void audit_buf_text(struct audit_buf *b, const char *s)
{
    if (s == NULL) {
        put_u8(b, AUDIT_CANON_NULL);
        return;
    }
    size_t n = strlen(s);
    if (n > UINT32_MAX) {
        b->overflow = 1;
        return;
    }
    put_u8(b, AUDIT_CANON_TEXT);
    put_be(b, (uint64_t)n, 4);
    put(b, s, n);
}

void audit_buf_int(struct audit_buf *b, int64_t v)
{
    put_u8(b, AUDIT_CANON_INT);
    put_be(b, (uint64_t)v, 8);
}

void audit_buf_hash(struct audit_buf *b, const unsigned char h[AUDIT_HASH_LEN])
{
    put_u8(b, AUDIT_CANON_HASH);
    put(b, h, AUDIT_HASH_LEN);
}

/* Optional texts: "" is stored and hashed as absent (audit_event_check normalises the same). */
static const char *opt(const char *s)
{
    return s != NULL && s[0] != '\0' ? s : NULL;
}

size_t audit_hash_canon_entry(const struct audit_event *ev, int64_t seq, unsigned char *out,
                              size_t cap)
{
    struct audit_buf b = {out, 0, cap, 0};
    audit_buf_text(&b, TAG_ENTRY);
    audit_buf_text(&b, ev->subject);
    audit_buf_int(&b, seq);
    audit_buf_int(&b, ev->time_ms);
    audit_buf_text(&b, audit_actor_kind_name(ev->actor_kind));
    audit_buf_text(&b, ev->actor_id);
    audit_buf_text(&b, opt(ev->actor_org));
    audit_buf_text(&b, opt(ev->actor_role));
    audit_buf_text(&b, opt(ev->client_id));
    audit_buf_text(&b, opt(ev->on_behalf_of));
    audit_buf_text(&b, ev->action);
    audit_buf_text(&b, opt(ev->resource_type));
    audit_buf_text(&b, opt(ev->resource_id));
    audit_buf_text(&b, opt(ev->category));
    audit_buf_text(&b, opt(ev->purpose));
    audit_buf_text(&b, audit_decision_name(ev->decision));
    audit_buf_text(&b, opt(ev->decided_by));
    audit_buf_text(&b, opt(ev->reason));
    audit_buf_text(&b, opt(ev->request_id));
    audit_buf_text(&b, opt(ev->source_addr));
    return b.overflow ? 0 : b.len;
}

/* Streams prefix, a tag and a subject as text into st: the subject is not copied, so any
 * length (a tampered row) hashes to the exact canonical bytes. */
static void start_subject(crypto_hash_sha256_state *st, unsigned char prefix, const char *tag,
                          const char *subject)
{
    unsigned char buf[64];
    struct audit_buf b = {buf, 0, sizeof buf, 0};
    size_t n = strlen(subject);
    put_u8(&b, prefix);
    audit_buf_text(&b, tag);
    put_u8(&b, AUDIT_CANON_TEXT);
    put_be(&b, (uint64_t)(uint32_t)n, 4);
    crypto_hash_sha256_init(st);
    crypto_hash_sha256_update(st, buf, b.len);
    crypto_hash_sha256_update(st, (const unsigned char *)subject, n);
}

void audit_hash_genesis(const char *subject, unsigned char out[AUDIT_HASH_LEN])
{
    crypto_hash_sha256_state st;
    start_subject(&st, AUDIT_PREFIX_GENESIS, TAG_GENESIS, subject);
    crypto_hash_sha256_final(&st, out);
}

int audit_hash_entry(const unsigned char prev[AUDIT_HASH_LEN], const struct audit_event *ev,
                     int64_t seq, unsigned char out[AUDIT_HASH_LEN])
{
    unsigned char buf[1 + AUDIT_HASH_LEN + AUDIT_CANON_MAX];
    buf[0] = AUDIT_PREFIX_LEAF;
    memcpy(buf + 1, prev, AUDIT_HASH_LEN);
    size_t n = audit_hash_canon_entry(ev, seq, buf + 1 + AUDIT_HASH_LEN, AUDIT_CANON_MAX);
    if (n == 0)
        return ERR_TOOBIG;
    crypto_hash_sha256(out, buf, 1 + AUDIT_HASH_LEN + n);
    return 0;
}

void audit_hash_leaf(const char *subject, int64_t seq, const unsigned char head[AUDIT_HASH_LEN],
                     unsigned char out[AUDIT_HASH_LEN])
{
    unsigned char buf[64];
    struct audit_buf b = {buf, 0, sizeof buf, 0};
    crypto_hash_sha256_state st;
    start_subject(&st, AUDIT_PREFIX_LEAF, TAG_HEAD, subject);
    audit_buf_int(&b, seq);
    audit_buf_hash(&b, head);
    crypto_hash_sha256_update(&st, buf, b.len);
    crypto_hash_sha256_final(&st, out);
}

static void node(const unsigned char l[AUDIT_HASH_LEN], const unsigned char r[AUDIT_HASH_LEN],
                 unsigned char out[AUDIT_HASH_LEN])
{
    unsigned char buf[1 + 2 * AUDIT_HASH_LEN];
    buf[0] = AUDIT_PREFIX_NODE;
    memcpy(buf + 1, l, AUDIT_HASH_LEN);
    memcpy(buf + 1 + AUDIT_HASH_LEN, r, AUDIT_HASH_LEN);
    crypto_hash_sha256(out, buf, sizeof buf);
}

/* Recursion depth is log2(n) + 1: at most 64. */
static void mth(const unsigned char (*d)[AUDIT_HASH_LEN], size_t n,
                unsigned char out[AUDIT_HASH_LEN])
{
    if (n == 1) {
        memcpy(out, d[0], AUDIT_HASH_LEN);
        return;
    }
    size_t k = 1;
    while (k * 2 < n)
        k *= 2;
    unsigned char l[AUDIT_HASH_LEN], r[AUDIT_HASH_LEN];
    mth(d, k, l);
    mth(d + k, n - k, r);
    node(l, r, out);
}

void audit_hash_root(const unsigned char (*leaves)[AUDIT_HASH_LEN], size_t n,
                     unsigned char out[AUDIT_HASH_LEN])
{
    if (n == 0) {
        crypto_hash_sha256(out, (const unsigned char *)"", 0);
        return;
    }
    mth(leaves, n, out);
}

size_t audit_hash_checkpoint_msg(int64_t id, int64_t created_ms, int64_t chains, int64_t entries,
                                 const unsigned char root[AUDIT_HASH_LEN], unsigned char *out,
                                 size_t cap)
{
    struct audit_buf b = {out, 0, cap, 0};
    audit_buf_text(&b, TAG_CHECKPOINT);
    audit_buf_int(&b, id);
    audit_buf_int(&b, created_ms);
    audit_buf_int(&b, chains);
    audit_buf_int(&b, entries);
    audit_buf_hash(&b, root);
    return b.overflow ? 0 : b.len;
}

void audit_hash_to_hex(const unsigned char h[AUDIT_HASH_LEN], char out[AUDIT_HEX_LEN + 1])
{
    sodium_bin2hex(out, AUDIT_HEX_LEN + 1, h, AUDIT_HASH_LEN);
}

int audit_hash_from_hex(const char *hex, unsigned char out[AUDIT_HASH_LEN])
{
    size_t n = 0;
    if (hex == NULL || strlen(hex) != AUDIT_HEX_LEN)
        return ERR_INVALID;
    for (size_t i = 0; i < AUDIT_HEX_LEN; i++) /* lower case only: one spelling per hash */
        if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f')))
            return ERR_INVALID;
    if (sodium_hex2bin(out, AUDIT_HASH_LEN, hex, AUDIT_HEX_LEN, NULL, &n, NULL) != 0 ||
        n != AUDIT_HASH_LEN)
        return ERR_INVALID;
    return 0;
}

int audit_subject_cmp(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    int c = memcmp(a, b, la < lb ? la : lb);
    if (c != 0)
        return c;
    return (la > lb) - (la < lb);
}

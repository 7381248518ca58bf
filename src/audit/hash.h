/* hash.h - the audit trail's bytes: the canonical length-prefixed encoding of an entry, the
 * chain hashes, the Merkle tree over chain heads (RFC 6962 shape) and the signed checkpoint
 * message. Pure functions; SHA-256 (libsodium). docs/internals/audit.md is the specification. */
#ifndef COS_AUDIT_HASH_H
#define COS_AUDIT_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "audit/audit.h"

/* Domain prefixes of every hash input. */
#define AUDIT_PREFIX_LEAF    0x00 /* an entry (after its prev hash) and a Merkle leaf */
#define AUDIT_PREFIX_NODE    0x01 /* a Merkle interior node */
#define AUDIT_PREFIX_GENESIS 0x02 /* the start of a subject's chain */

/* Field tags of the canonical encoding. */
#define AUDIT_CANON_NULL 0x00 /* an absent optional text: the tag alone */
#define AUDIT_CANON_TEXT 0x01 /* tag, u32 big-endian byte length, the bytes */
#define AUDIT_CANON_INT  0x02 /* tag, 8 bytes big-endian two's complement */
#define AUDIT_CANON_HASH 0x03 /* tag, 32 bytes */

/* A bounded output buffer: writes past cap set overflow instead of writing. */
struct audit_buf {
    unsigned char *p;
    size_t len, cap;
    int overflow;
};

void audit_buf_text(struct audit_buf *b, const char *s); /* NULL writes AUDIT_CANON_NULL */
void audit_buf_int(struct audit_buf *b, int64_t v);
void audit_buf_hash(struct audit_buf *b, const unsigned char h[AUDIT_HASH_LEN]);

/* The canonical encoding of an entry's fields (see audit.md for the order), written to out.
 * Returns the length, or 0 when cap is too small. ev's enums must be valid. */
size_t audit_hash_canon_entry(const struct audit_event *ev, int64_t seq, unsigned char *out,
                              size_t cap);

/* H(0x02 || canon(tag, subject)): where the subject's chain starts. */
void audit_hash_genesis(const char *subject, unsigned char out[AUDIT_HASH_LEN]);

/* H(0x00 || prev || canonical entry). Returns 0, or ERR_TOOBIG when the encoding would exceed
 * AUDIT_CANON_MAX (impossible for a checked event). */
int audit_hash_entry(const unsigned char prev[AUDIT_HASH_LEN], const struct audit_event *ev,
                     int64_t seq, unsigned char out[AUDIT_HASH_LEN]);

/* One chain head as a Merkle leaf: H(0x00 || canon(tag, subject, seq, head)). */
void audit_hash_leaf(const char *subject, int64_t seq, const unsigned char head[AUDIT_HASH_LEN],
                     unsigned char out[AUDIT_HASH_LEN]);

/* RFC 6962 Merkle tree hash over n leaf hashes (already hashed with audit_hash_leaf):
 * MTH({}) = H(""), MTH({d}) = d, else H(0x01 || MTH(first k) || MTH(rest)) with k the largest
 * power of two below n. */
void audit_hash_root(const unsigned char (*leaves)[AUDIT_HASH_LEN], size_t n,
                     unsigned char out[AUDIT_HASH_LEN]);

/* The bytes a checkpoint's Ed25519 signature covers: canon(tag, id, created_ms, chains,
 * entries, root). Returns the length written to out (at most 128). */
size_t audit_hash_checkpoint_msg(int64_t id, int64_t created_ms, int64_t chains, int64_t entries,
                                 const unsigned char root[AUDIT_HASH_LEN], unsigned char *out,
                                 size_t cap);

/* Lower-case hex of a hash (65 bytes with the NUL), and back: 0 or ERR_INVALID. */
void audit_hash_to_hex(const unsigned char h[AUDIT_HASH_LEN], char out[AUDIT_HEX_LEN + 1]);
int audit_hash_from_hex(const char *hex, unsigned char out[AUDIT_HASH_LEN]);

/* Memory order of two subjects (bytes, then length): the order of the Merkle leaves. */
int audit_subject_cmp(const char *a, const char *b);

#endif

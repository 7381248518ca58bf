/* ids.c - 128-bit random identifiers in lower-case Crockford base32, and time-ordered ones. */
#include "base/ids.h"

#include <sodium.h>
#include <stdint.h>
#include <string.h>

#include "base/err.h"

static const char alphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";

int ids_init(void)
{
    return sodium_init() < 0 ? ERR_INTERNAL : 0;
}

void ids_new(char out[IDS_LEN + 1])
{
    unsigned char raw[17];
    randombytes_buf(raw, 16);
    raw[16] = 0;
    /* 26 five-bit groups cover 130 bits; the top two bits of the last group are zero */
    for (int i = 0; i < IDS_LEN; i++) {
        int bit = i * 5;
        int byte = bit / 8, shift = bit % 8;
        unsigned v = ((unsigned)raw[byte] << 8 | raw[byte + 1]) >> (11 - shift);
        out[i] = alphabet[v & 31];
    }
    out[IDS_LEN] = '\0';
}

void ids_new_ordered(char out[IDS_LEN + 1], int64_t now_ms)
{
    /* 10 characters of time (50 bits: milliseconds since 1970, most significant first), then 16
     * of the randomness of ids_new() (80 bits) */
    ids_new(out);
    uint64_t t = now_ms > 0 ? (uint64_t)now_ms : 0;
    for (int i = 9; i >= 0; i--) {
        out[i] = alphabet[t & 31];
        t >>= 5;
    }
}

int ids_valid(const char *s)
{
    size_t n = strnlen(s, IDS_LEN + 1);
    if (n != IDS_LEN)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (strchr(alphabet, s[i]) == NULL || s[i] == '\0')
            return 0;
    return 1;
}

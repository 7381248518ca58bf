/* jose.c - Ed25519 JWKs and their thumbprints, the JWKS, compact JWS signing and strict
 * verification (alg "EdDSA" only), and JWT claim checks; all crypto is libsodium's. */
#include "identity/jose.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonx.h"

#define SIG_LEN     64
#define SIG_B64_LEN ID_JOSE_B64URL_LEN(SIG_LEN) /* 86 */
#define KEY_B64_LEN ID_JOSE_B64URL_LEN(32)      /* 43 */

/* ---- base64url ---- */

static int b64url_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

int id_jose_b64url_encode(char *out, size_t cap, const void *bin, size_t n)
{
    if (n > SIZE_MAX / 2 || cap < ID_JOSE_B64URL_LEN(n) + 1)
        return ERR_TOOBIG;
    sodium_bin2base64(out, cap, bin, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return 0;
}

int id_jose_b64url_decode(unsigned char *out, size_t cap, const char *s, size_t len,
                          size_t *out_len)
{
    *out_len = 0;
    if (len % 4 == 1)
        return ERR_INVALID;
    for (size_t i = 0; i < len; i++)
        if (!b64url_char((unsigned char)s[i]))
            return ERR_INVALID;
    size_t need = len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0);
    if (need > cap)
        return ERR_TOOBIG;
    size_t got = 0;
    /* libsodium refuses non-zero unused bits in the last character: encodings are canonical */
    if (sodium_base642bin(out, cap, s, len, NULL, &got, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        got != need)
        return ERR_INVALID;
    *out_len = got;
    return 0;
}

/* ---- keys ---- */

static int kid_valid(const char *kid)
{
    if (strnlen(kid, ID_JOSE_KID_LEN + 1) != ID_JOSE_KID_LEN)
        return 0;
    for (size_t i = 0; i < ID_JOSE_KID_LEN; i++)
        if (!b64url_char((unsigned char)kid[i]))
            return 0;
    return 1;
}

void id_jose_thumbprint(const unsigned char pk[32], char out[ID_JOSE_KID_LEN + 1])
{
    char x[KEY_B64_LEN + 1];
    id_jose_b64url_encode(x, sizeof x, pk, 32);
    /* RFC 7638 section 3.2: the required members only, in lexicographic order, no whitespace */
    char canon[96];
    int n = snprintf(canon, sizeof canon, "{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"%s\"}", x);
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, (const unsigned char *)canon, (unsigned long long)n);
    id_jose_b64url_encode(out, ID_JOSE_KID_LEN + 1, digest, sizeof digest);
}

int id_jose_key_from_seed(struct id_jose_key *k, const unsigned char seed[32], int64_t created_ms)
{
    memset(k, 0, sizeof *k);
    if (sodium_init() < 0 || crypto_sign_ed25519_seed_keypair(k->pk, k->sk, seed) != 0) {
        id_jose_key_wipe(k);
        return ERR_INTERNAL;
    }
    id_jose_thumbprint(k->pk, k->kid);
    k->created_ms = created_ms;
    return 0;
}

int id_jose_key_generate(struct id_jose_key *k, int64_t created_ms)
{
    unsigned char seed[32];
    if (sodium_init() < 0) {
        memset(k, 0, sizeof *k);
        return ERR_INTERNAL;
    }
    randombytes_buf(seed, sizeof seed);
    int rc = id_jose_key_from_seed(k, seed, created_ms);
    sodium_memzero(seed, sizeof seed);
    return rc;
}

void id_jose_key_wipe(struct id_jose_key *k)
{
    sodium_memzero(k, sizeof *k);
}

void id_jose_secret_free(char *s)
{
    if (s != NULL)
        sodium_memzero(s, strlen(s));
    free(s);
}

char *id_jose_key_to_json(const struct id_jose_key *k)
{
    char x[KEY_B64_LEN + 1], d[KEY_B64_LEN + 1];
    id_jose_b64url_encode(x, sizeof x, k->pk, 32);
    id_jose_b64url_encode(d, sizeof d, k->sk, 32); /* the seed: the first half of sk */
    size_t cap = 256;
    char *out = malloc(cap);
    if (out != NULL) {
        int n = snprintf(out, cap,
                         "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"%.43s\",\"x\":\"%s\","
                         "\"d\":\"%s\",\"created_ms\":%" PRId64 "}",
                         k->kid, x, d, k->created_ms);
        if (n < 0 || (size_t)n >= cap) { /* cannot happen: every field is bounded */
            id_jose_secret_free(out);
            out = NULL;
        }
    }
    sodium_memzero(d, sizeof d);
    return out;
}

/* Parses buf[0..len) as a JSON object with no duplicate member (jsonx_parse: a value built
 * while an allocation failed is refused with ERR_NOMEM). The message never quotes the input. */
static int parse_object(const unsigned char *buf, size_t len, const char *what, json_t **out,
                        struct err *e)
{
    struct err pe = {0};
    *out = NULL;
    json_t *v = jsonx_parse((const char *)buf, len, &pe);
    if (v == NULL) {
        if (pe.code == ERR_NOMEM)
            return err_set(e, ERR_NOMEM, "%s: out of memory", what);
        return err_set(e, ERR_INVALID, "%s: not JSON", what);
    }
    if (!json_is_object(v)) {
        json_decref(v);
        return err_set(e, ERR_INVALID, "%s: not a JSON object", what);
    }
    *out = v;
    return 0;
}

/* Is v serialised by jsonx_dumps exactly the bytes buf[0..len) it was parsed from? cityos
 * verifies only texts it wrote itself with jsonx_dumps, so any other form is refused: one
 * canonical form per claim set, and a second guard (beside jsonx_parse's allocation tracking)
 * against jansson 2.14's lexer dropping a character when an allocation fails. Returns 0,
 * ERR_INVALID (another form) or ERR_NOMEM. */
static int parsed_exactly(const json_t *v, const void *buf, size_t len, const char *what,
                          struct err *e)
{
    size_t n = 0;
    char *again = jsonx_dumps(v, &n);
    if (again == NULL)
        return err_set(e, ERR_NOMEM, "%s: out of memory", what);
    int same = n == len && memcmp(again, buf, len) == 0;
    id_jose_secret_free(again); /* may hold a private key */
    if (!same)
        return err_set(e, ERR_INVALID, "%s: not in the compact form cityos writes", what);
    return 0;
}

/* Decodes the string member key of o, which must hold exactly 32 bytes of base64url. */
static int get_key_bytes(const json_t *o, const char *key, unsigned char out[32], struct err *e)
{
    const json_t *v = json_object_get(o, key);
    size_t n = 0;
    if (!json_is_string(v) ||
        id_jose_b64url_decode(out, 32, json_string_value(v), json_string_length(v), &n) != 0 ||
        n != 32)
        return err_set(e, ERR_INVALID, "key: \"%s\" is not 32 bytes of base64url", key);
    return 0;
}

static int member_is(const json_t *o, const char *key, const char *want)
{
    const json_t *v = json_object_get(o, key);
    return json_is_string(v) && strcmp(json_string_value(v), want) == 0;
}

int id_jose_key_from_json(const char *text, size_t len, struct id_jose_key *k, struct err *e)
{
    static const char *const members[] = {"kty", "crv", "kid", "x", "d", "created_ms", NULL};
    unsigned char x[32], seed[32];
    json_t *o = NULL, *d;
    memset(k, 0, sizeof *k);
    int rc = parse_object((const unsigned char *)text, len, "key", &o, e);
    if (rc != 0)
        goto out;
    if ((rc = jsonx_only_keys(o, members, "key", e)) != 0)
        goto out;
    rc = ERR_INVALID;
    if (!member_is(o, "kty", "OKP") || !member_is(o, "crv", "Ed25519")) {
        err_set(e, rc, "key: not an Ed25519 key (kty \"OKP\", crv \"Ed25519\")");
        goto out;
    }
    const json_t *created = json_object_get(o, "created_ms");
    if (!json_is_integer(created) || json_integer_value(created) < 0) {
        err_set(e, rc, "key: \"created_ms\" must be a non-negative integer");
        goto out;
    }
    if ((rc = get_key_bytes(o, "x", x, e)) != 0 || (rc = get_key_bytes(o, "d", seed, e)) != 0)
        goto out;
    if ((rc = id_jose_key_from_seed(k, seed, json_integer_value(created))) != 0) {
        err_set(e, rc, "key: libsodium failed");
        goto out;
    }
    rc = ERR_INVALID;
    if (memcmp(k->pk, x, sizeof x) != 0) {
        err_set(e, rc, "key: \"x\" is not the public key of \"d\"");
        goto out;
    }
    if (!member_is(o, "kid", k->kid)) {
        err_set(e, rc, "key: \"kid\" is not the RFC 7638 thumbprint of \"x\"");
        goto out;
    }
    rc = parsed_exactly(o, text, len, "key", e);
out:
    sodium_memzero(seed, sizeof seed);
    d = o ? json_object_get(o, "d") : NULL;
    if (json_is_string(d)) /* the parsed secret is ours until the decref: wipe it first */
        sodium_memzero((char *)json_string_value(d), json_string_length(d));
    json_decref(o);
    if (rc != 0)
        id_jose_key_wipe(k);
    return rc;
}

char *id_jose_jwks(const struct id_jose_key *keys, size_t n)
{
    if (keys == NULL && n > 0)
        return NULL;
    char *out = NULL;
    json_t *arr = json_array(), *doc = json_object();
    if (arr == NULL || doc == NULL || json_object_set(doc, "keys", arr) != 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        char x[KEY_B64_LEN + 1];
        if (!kid_valid(keys[i].kid))
            goto out;
        id_jose_b64url_encode(x, sizeof x, keys[i].pk, 32);
        json_t *jwk = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "kty", "OKP", "crv", "Ed25519",
                                "x", x, "kid", keys[i].kid, "use", "sig", "alg", "EdDSA");
        if (json_array_append_new(arr, jwk) != 0) /* frees jwk on failure */
            goto out;
    }
    out = jsonx_dumps(doc, NULL);
out:
    json_decref(arr);
    json_decref(doc);
    return out;
}

/* ---- compact JWS ---- */

char *id_jose_sign_raw(const struct id_jose_key *k, const char *header, size_t header_len,
                       const void *payload, size_t payload_len, struct err *e)
{
    if (header_len > ID_JOSE_MAX_LEN || payload_len > ID_JOSE_MAX_LEN) {
        err_set(e, ERR_TOOBIG, "token would be longer than %d bytes", ID_JOSE_MAX_LEN);
        return NULL;
    }
    size_t hb = ID_JOSE_B64URL_LEN(header_len), pb = ID_JOSE_B64URL_LEN(payload_len);
    size_t signed_len = hb + 1 + pb, total = signed_len + 1 + SIG_B64_LEN;
    if (total > ID_JOSE_MAX_LEN) {
        err_set(e, ERR_TOOBIG, "token would be longer than %d bytes", ID_JOSE_MAX_LEN);
        return NULL;
    }
    if (memcmp(k->sk + 32, k->pk, 32) != 0) {
        err_set(e, ERR_INVALID, "key has no secret part for its public key");
        return NULL;
    }
    char *out = malloc(total + 1);
    if (out == NULL) {
        err_set(e, ERR_NOMEM, "out of memory");
        return NULL;
    }
    unsigned char sig[SIG_LEN];
    id_jose_b64url_encode(out, hb + 1, header, header_len);
    out[hb] = '.';
    id_jose_b64url_encode(out + hb + 1, pb + 1, payload, payload_len);
    out[signed_len] = '.';
    crypto_sign_ed25519_detached(sig, NULL, (const unsigned char *)out, signed_len, k->sk);
    id_jose_b64url_encode(out + signed_len + 1, SIG_B64_LEN + 1, sig, sizeof sig);
    return out;
}

char *id_jose_sign(const struct id_jose_key *k, const json_t *claims, struct err *e)
{
    char *hs = NULL, *ps = NULL, *out = NULL;
    size_t hl = 0, pl = 0;
    json_t *h = NULL;
    if (!json_is_object(claims)) {
        err_set(e, ERR_INVALID, "claims must be a JSON object");
        return NULL;
    }
    if (!kid_valid(k->kid)) {
        err_set(e, ERR_INVALID, "key has no valid kid");
        return NULL;
    }
    h = json_pack("{s:s, s:s, s:s}", "alg", "EdDSA", "typ", "JWT", "kid", k->kid);
    if (h == NULL || (hs = jsonx_dumps(h, &hl)) == NULL ||
        (ps = jsonx_dumps(claims, &pl)) == NULL) {
        err_set(e, ERR_NOMEM, "out of memory");
        goto out;
    }
    out = id_jose_sign_raw(k, hs, hl, ps, pl, e);
out:
    free(ps);
    free(hs);
    json_decref(h);
    return out;
}

/* Checks the protected header and finds the key it names. */
static int check_header(json_t *h, const struct id_jose_key *keys, size_t n,
                        const struct id_jose_key **key, struct err *e)
{
    const char *name;
    json_t *v;
    *key = NULL;
    v = json_object_get(h, "alg");
    if (v == NULL)
        return err_set(e, ERR_INVALID, "header: no \"alg\"");
    if (!json_is_string(v) || strcmp(json_string_value(v), "EdDSA") != 0)
        return err_set(e, ERR_INVALID, "header: \"alg\" must be \"EdDSA\"");
    if (json_object_get(h, "crit") != NULL)
        return err_set(e, ERR_INVALID, "header: \"crit\" is not supported");
    json_object_foreach(h, name, v)
    {
        if (strcmp(name, "alg") != 0 && strcmp(name, "kid") != 0 && strcmp(name, "typ") != 0)
            return err_set(e, ERR_INVALID, "header: a member other than alg, kid, typ");
    }
    v = json_object_get(h, "typ");
    if (v != NULL && !member_is(h, "typ", "JWT"))
        return err_set(e, ERR_INVALID, "header: \"typ\" must be \"JWT\"");
    v = json_object_get(h, "kid");
    if (v == NULL)
        return err_set(e, ERR_INVALID, "header: no \"kid\"");
    if (!json_is_string(v))
        return err_set(e, ERR_INVALID, "header: \"kid\" must be a string");
    for (size_t i = 0; i < n; i++) {
        if (strcmp(keys[i].kid, json_string_value(v)) == 0) {
            *key = &keys[i];
            return 0;
        }
    }
    return err_set(e, ERR_INVALID, "header: unknown \"kid\"");
}

int id_jose_verify(const char *jws, size_t len, const struct id_jose_key *keys, size_t n,
                   json_t **claims, struct err *e)
{
    unsigned char buf[ID_JOSE_MAX_LEN / 4 * 3]; /* the decoded header, then the payload */
    unsigned char sig[SIG_LEN];
    const struct id_jose_key *key = NULL;
    json_t *header = NULL, *payload = NULL;
    size_t got = 0;
    int rc = ERR_INVALID;
    *claims = NULL;
    if (jws == NULL || len == 0)
        return err_set(e, rc, "empty token");
    if (len > ID_JOSE_MAX_LEN)
        return err_set(e, rc, "token longer than %d bytes", ID_JOSE_MAX_LEN);
    if (keys == NULL && n > 0)
        return err_set(e, rc, "no keys");
    const char *dot1 = memchr(jws, '.', len);
    const char *dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - jws)) : NULL;
    if (dot2 == NULL)
        return err_set(e, rc, "not a compact JWS: fewer than three parts");
    const char *sig_b64 = dot2 + 1;
    size_t hlen = (size_t)(dot1 - jws), plen = (size_t)(dot2 - dot1 - 1);
    size_t slen = len - (size_t)(sig_b64 - jws);
    if (memchr(sig_b64, '.', slen) != NULL)
        return err_set(e, rc, "not a compact JWS: more than three parts");
    if (hlen == 0 || plen == 0 || slen == 0)
        return err_set(e, rc, "not a compact JWS: an empty part");

    if (id_jose_b64url_decode(buf, sizeof buf, jws, hlen, &got) != 0)
        return err_set(e, rc, "header: not unpadded base64url");
    if ((rc = parse_object(buf, got, "header", &header, e)) != 0)
        goto out;
    if ((rc = check_header(header, keys, n, &key, e)) != 0)
        goto out;

    rc = ERR_INVALID;
    if (slen != SIG_B64_LEN) {
        err_set(e, rc, "signature: not 64 bytes");
        goto out;
    }
    if (id_jose_b64url_decode(sig, sizeof sig, sig_b64, slen, &got) != 0) {
        err_set(e, rc, "signature: not unpadded base64url");
        goto out;
    }
    if (crypto_sign_ed25519_verify_detached(sig, (const unsigned char *)jws,
                                            (unsigned long long)(dot2 - jws), key->pk) != 0) {
        err_set(e, rc, "signature does not verify");
        goto out;
    }

    /* Only now, with the signature verified, is the payload decoded and parsed */
    if (id_jose_b64url_decode(buf, sizeof buf, dot1 + 1, plen, &got) != 0) {
        err_set(e, rc, "payload: not unpadded base64url");
        goto out;
    }
    if ((rc = parse_object(buf, got, "payload", &payload, e)) != 0 ||
        (rc = parsed_exactly(payload, buf, got, "payload", e)) != 0)
        goto out;
    *claims = payload;
    payload = NULL;
    rc = 0;
out:
    json_decref(payload);
    json_decref(header);
    return rc;
}

/* ---- claims ---- */

/* Reads the NumericDate claim name: 1 and *t when present, 0 when absent, ERR_INVALID when it
 * is not an integer. */
static int get_time(const json_t *claims, const char *name, int64_t *t, struct err *e)
{
    const json_t *v = json_object_get(claims, name);
    if (v == NULL)
        return 0;
    if (!json_is_integer(v))
        return err_set(e, ERR_INVALID, "claim \"%s\" must be an integer NumericDate", name);
    *t = json_integer_value(v);
    return 1;
}

static int aud_contains(const json_t *v, const char *aud)
{
    if (json_is_string(v))
        return strcmp(json_string_value(v), aud) == 0;
    if (!json_is_array(v))
        return 0;
    int found = 0;
    for (size_t i = 0; i < json_array_size(v); i++) {
        const json_t *a = json_array_get(v, i);
        if (!json_is_string(a))
            return 0;
        found |= strcmp(json_string_value(a), aud) == 0;
    }
    return found;
}

int id_jose_check_claims(const json_t *claims, const char *iss, const char *aud, int64_t now_s,
                         int64_t leeway_s, struct err *e)
{
    int64_t exp = 0, nbf = 0, iat = 0;
    int rc;
    if (iss == NULL || aud == NULL || leeway_s < 0 || leeway_s > ID_JOSE_MAX_LEEWAY || now_s < 0 ||
        now_s > INT64_MAX / 2)
        return err_set(e, ERR_INVALID, "claims check: no issuer, no audience or bad clock");
    if (!json_is_object(claims))
        return err_set(e, ERR_INVALID, "claims must be a JSON object");
    if ((rc = get_time(claims, "exp", &exp, e)) < 0)
        return rc;
    if (rc == 0)
        return err_set(e, ERR_INVALID, "claim \"exp\" is missing");
    if (now_s - leeway_s >= exp)
        return err_set(e, ERR_INVALID, "token expired");
    if ((rc = get_time(claims, "nbf", &nbf, e)) < 0)
        return rc;
    if (rc == 1 && nbf > now_s + leeway_s)
        return err_set(e, ERR_INVALID, "token not yet valid (nbf)");
    if ((rc = get_time(claims, "iat", &iat, e)) < 0)
        return rc;
    if (rc == 1 && iat > now_s + leeway_s)
        return err_set(e, ERR_INVALID, "token issued in the future (iat)");
    if (!member_is(claims, "iss", iss))
        return err_set(e, ERR_INVALID, "claim \"iss\" is missing or not this issuer");
    if (!aud_contains(json_object_get(claims, "aud"), aud))
        return err_set(e, ERR_INVALID, "claim \"aud\" is missing or does not name this audience");
    return 0;
}

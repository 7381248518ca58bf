/* fuzz_jws.c - the compact JWS verifier: arbitrary tokens, and arbitrary headers and payloads
 * behind a valid signature; whatever verifies must sign and verify again to the same claims. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonx.h"
#include "identity/jose.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* RFC 8037 Appendix A.1's private seed: the key every seed token is signed with */
static const unsigned char seed[32] = {
    0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
    0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60};

static struct id_jose_key key;

/* Re-signs verified claims: must give a token that verifies to equal claims. */
static void resign(const json_t *claims)
{
    struct err e;
    char *t = id_jose_sign(&key, claims, &e);
    if (t == NULL) {
        if (e.code != ERR_TOOBIG) /* "1e300" grows when written back; nothing else may fail */
            abort();
        return;
    }
    json_t *again = NULL;
    if (id_jose_verify(t, strlen(t), &key, 1, &again, &e) != 0 || !json_equal(again, claims))
        abort();
    json_decref(again);
    free(t);
}

static void verify(const char *tok, size_t len)
{
    struct err e;
    json_t *claims = (json_t *)1;
    int rc = id_jose_verify(tok, len, &key, 1, &claims, &e);
    if (rc == 0) {
        if (!json_is_object(claims))
            abort();
        resign(claims);
        json_decref(claims);
    } else if (rc != ERR_INVALID || claims != NULL || e.code != rc) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (key.kid[0] == '\0' && id_jose_key_from_seed(&key, seed, 0) != 0)
        abort();
    /* 1. the input as a token */
    verify((const char *)data, size);

    /* 2. the input as the payload of a validly signed token: it verifies exactly when it is a
     * JSON object (no duplicate members) written in the compact form jsonx_dumps gives */
    char header[96];
    size_t hl =
        (size_t)snprintf(header, sizeof header, "{\"alg\":\"EdDSA\",\"kid\":\"%s\"}", key.kid);
    struct err e;
    char *t = id_jose_sign_raw(&key, header, hl, data, size, &e);
    if (t != NULL) {
        json_t *claims = NULL;
        json_t *direct = jsonx_parse((const char *)data, size, &e);
        int rc = id_jose_verify(t, strlen(t), &key, 1, &claims, &e);
        if (rc == 0 && (!json_is_object(direct) || !json_equal(claims, direct)))
            abort();
        if (rc != 0 && (claims != NULL || rc != ERR_INVALID))
            abort();
        if (json_is_object(direct)) {
            size_t n = 0;
            char *canon = jsonx_dumps(direct, &n);
            if (canon == NULL || ((n == size && memcmp(canon, data, size) == 0) != (rc == 0)))
                abort();
            free(canon);
            resign(direct); /* 4. any object signs and verifies back to itself */
        }
        json_decref(direct);
        json_decref(claims);
        free(t);
    } else if (e.code != ERR_TOOBIG) {
        abort();
    }

    /* 3. the input as the protected header of a validly signed token */
    static const char payload[] = "{\"sub\":\"x\"}";
    t = id_jose_sign_raw(&key, (const char *)data, size, payload, sizeof payload - 1, &e);
    if (t != NULL) {
        verify(t, strlen(t));
        free(t);
    } else if (e.code != ERR_TOOBIG) {
        abort();
    }
    return 0;
}

/* pkce.c - RFC 7636 checks for the authorization-code flow: S256 only, strict syntax of
 * verifier and challenge, and a constant-time comparison of the derived challenge. */
#include "identity/pkce.h"

#include <sodium.h>
#include <string.h>

#include "base/err.h"
#include "identity/jose.h"

int id_pkce_method_allowed(const char *method)
{
    return method != NULL && strcmp(method, "S256") == 0;
}

static int unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

int id_pkce_verifier_valid(const char *v)
{
    if (v == NULL)
        return 0;
    size_t n = strnlen(v, ID_PKCE_VERIFIER_MAX + 1);
    if (n < ID_PKCE_VERIFIER_MIN || n > ID_PKCE_VERIFIER_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!unreserved((unsigned char)v[i]))
            return 0;
    return 1;
}

int id_pkce_challenge_valid(const char *c)
{
    unsigned char digest[32];
    size_t got = 0;
    return c != NULL && strnlen(c, ID_PKCE_CHALLENGE_LEN + 1) == ID_PKCE_CHALLENGE_LEN &&
           id_jose_b64url_decode(digest, sizeof digest, c, ID_PKCE_CHALLENGE_LEN, &got) == 0 &&
           got == sizeof digest;
}

int id_pkce_s256(const char *verifier, char out[ID_PKCE_CHALLENGE_LEN + 1])
{
    unsigned char digest[crypto_hash_sha256_BYTES];
    out[0] = '\0';
    if (!id_pkce_verifier_valid(verifier))
        return ERR_INVALID;
    crypto_hash_sha256(digest, (const unsigned char *)verifier, strlen(verifier));
    return id_jose_b64url_encode(out, ID_PKCE_CHALLENGE_LEN + 1, digest, sizeof digest);
}

int id_pkce_check_s256(const char *verifier, const char *challenge)
{
    char derived[ID_PKCE_CHALLENGE_LEN + 1];
    if (!id_pkce_challenge_valid(challenge) || id_pkce_s256(verifier, derived) != 0)
        return ERR_INVALID;
    return sodium_memcmp(derived, challenge, ID_PKCE_CHALLENGE_LEN) == 0 ? 0 : ERR_INVALID;
}

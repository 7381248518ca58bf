/* fuzz_signin_input.c - what the sign-in pages take from a browser besides the form itself:
 * return_to (no open redirect may pass), cookie values (session, pre-session, pending) and
 * TOTP codes. Each check must agree with a plain restatement of its rule, and whatever passes
 * must be safe to put in a Location header or look up. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "identity/return_to.h"
#include "identity/session.h"
#include "identity/totp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int b64url(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *s = malloc(size + 1);
    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    size_t n = strlen(s); /* the strings reach us NUL-terminated */

    if (id_return_to_valid(s)) {
        if (n == 0 || n > ID_RETURN_TO_MAX || s[0] != '/' || s[1] == '/' || s[1] == '\\')
            abort();
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f || s[i] == '\\')
                abort();
        if (strcmp(id_return_to_or_default(s), s) != 0)
            abort();
    } else if (strcmp(id_return_to_or_default(s), ID_RETURN_TO_DEFAULT) != 0) {
        abort();
    }

    int ok = n == ID_SESSION_VALUE_LEN;
    for (size_t i = 0; ok && i < n; i++)
        ok = b64url(s[i]);
    if (id_session_value_valid(s) != ok)
        abort();
    if (ok) {
        char h[65];
        id_session_hash(s, h);
        if (strlen(h) != 64)
            abort();
    }

    int digits = n == ID_TOTP_DIGITS;
    for (size_t i = 0; digits && i < n; i++)
        digits = s[i] >= '0' && s[i] <= '9';
    if (id_totp_code_syntax_valid(s) != digits)
        abort();
    static const unsigned char secret[ID_TOTP_SECRET_BYTES] = "12345678901234567890";
    int64_t step = 0;
    int rc = id_totp_verify(secret, sizeof secret, s, 1111111111000LL, 0, &step);
    if (rc != 0 && rc != ERR_INVALID && rc != ERR_CONFLICT)
        abort();
    if (rc == 0 && (!digits || step < 37037036 || step > 37037038))
        abort();
    free(s);
    return 0;
}

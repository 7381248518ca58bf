/* return_to.c - the local-path check for the sign-in page's return_to (no open redirects). */
#include "identity/return_to.h"

#include <stddef.h>

int id_return_to_valid(const char *s)
{
    if (s == NULL || s[0] != '/' || s[1] == '/' || s[1] == '\\')
        return 0;
    size_t n = 0;
    for (; s[n] != '\0'; n++) {
        unsigned char c = (unsigned char)s[n];
        if (n >= ID_RETURN_TO_MAX || c <= 0x20 || c >= 0x7f || c == '\\')
            return 0;
    }
    return 1;
}

const char *id_return_to_or_default(const char *s)
{
    return id_return_to_valid(s) ? s : ID_RETURN_TO_DEFAULT;
}

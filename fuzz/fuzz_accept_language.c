/* fuzz_accept_language.c - html_lang_accept over any Accept-Language value: it ends, answers
 * one of the two languages, answers English only when an "en" tag is there to ask for it, and
 * never prefers English over the same value with a leading "ja" (q=1 ties go to Japanese). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/html.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define VALUE_MAX 8192 /* libmicrohttpd's header limit is smaller */

static char value[VALUE_MAX + 1], with_ja[VALUE_MAX + 4];

/* Does s hold "en" in any case? */
static int mentions_en(const char *s)
{
    for (; s[0] != '\0' && s[1] != '\0'; s++)
        if ((s[0] == 'e' || s[0] == 'E') && (s[1] == 'n' || s[1] == 'N'))
            return 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > VALUE_MAX)
        size = VALUE_MAX;
    memcpy(value, data, size);
    value[size] = '\0'; /* a header value is a C string: it ends at the first NUL */
    enum html_lang l = html_lang_accept(value);
    if (l != HTML_LANG_JA && l != HTML_LANG_EN)
        abort();
    if (l == HTML_LANG_EN && !mentions_en(value))
        abort();
    if (html_lang_accept(value) != l) /* no hidden state */
        abort();
    /* "ja," in front gives Japanese q=1, which English can at most tie */
    memcpy(with_ja, "ja,", 3);
    memcpy(with_ja + 3, value, strlen(value) + 1);
    if (html_lang_accept(with_ja) != HTML_LANG_JA)
        abort();
    return 0;
}

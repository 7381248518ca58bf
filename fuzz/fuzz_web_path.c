/* fuzz_web_path.c - the portal's file names and If-None-Match values: web_name_ok,
 * web_file_find and web_etag_matches on arbitrary bytes. Promises checked: a found file has
 * exactly the name asked for and a name web_name_ok accepts (so no "..", no NUL, no hidden
 * file is ever served); If-None-Match never reads past its string. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "web/static_files.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *name = (const char *)data;
    int ok = web_name_ok(name, size);
    const struct web_file *f = web_file_find(name, size);
    if (f != NULL) {
        if (!ok || strlen(f->name) != size || memcmp(f->name, name, size) != 0)
            abort();
    }
    if (ok) {
        if (memchr(name, '\0', size) != NULL || name[0] == '.' || name[0] == '/')
            abort();
        for (size_t i = 0; i + 1 < size; i++)
            if ((name[i] == '/' && name[i + 1] == '.') ||
                (name[i] == '.' && name[i + 1] == '.' && (i == 0 || name[i - 1] == '/')))
                abort();
    }
    char *text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    size_t n = 0;
    const struct web_file *files = web_files(&n);
    (void)web_etag_matches(text, n > 0 ? files[0].etag : "\"x\"");
    free(text);
    return 0;
}

/* fuzz_patients_query.c - the query parsers of /api/v1/org/patients and
 * /api/v1/recipient-names (src/consent/patients_api.h) on arbitrary bytes. Promises checked: an
 * accepted _count is 1..PATIENTS_COUNT_MAX and written with 1 to 3 digits; an accepted id list
 * holds 1..PATIENTS_NAMES_IDS_MAX distinct well-formed ids, each of which occurs in the input,
 * and the input is those ids (with repeats) joined by single commas. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/ids.h"
#include "consent/patients_api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';

    int count = -7;
    if (patients_count_parse(text, &count) == 0) {
        size_t len = strlen(text);
        if (count < 1 || count > PATIENTS_COUNT_MAX || len < 1 || len > 3)
            abort();
    }

    struct arena *a = arena_new(4096);
    if (a != NULL) {
        const char *ids[PATIENTS_NAMES_IDS_MAX];
        int n = patients_ids_split(a, text, ids);
        if (n == 0 || n > PATIENTS_NAMES_IDS_MAX)
            abort();
        if (n > 0) {
            if (strlen(text) % (IDS_LEN + 1) != IDS_LEN)
                abort(); /* ids of IDS_LEN joined by single commas */
            for (int i = 0; i < n; i++) {
                if (!ids_valid(ids[i]) || strstr(text, ids[i]) == NULL)
                    abort();
                for (int j = 0; j < i; j++)
                    if (strcmp(ids[i], ids[j]) == 0)
                        abort();
            }
        }
        arena_free(a);
    }
    free(text);
    return 0;
}

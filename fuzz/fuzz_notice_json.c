/* fuzz_notice_json.c - the notice request body: strict JSON parsing, validation, and the
 * stored form of whatever validates (which must itself parse and validate again). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonx.h"
#include "services/notices/notice_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct err e;
    json_t *in = jsonx_parse((const char *)data, size, &e);
    if (in == NULL)
        return 0;
    struct notice n;
    if (notice_from_json(in, &n, &e) == 0) {
        json_t *out = notice_to_json(&n, "0123456789abcdefghjkmnpqrs", 1796083200000LL);
        if (out == NULL)
            abort();
        /* the stored form, minus the server's members, is a valid notice again */
        json_object_del(out, "id");
        json_object_del(out, "createdAt");
        struct notice again;
        if (notice_from_json(out, &again, &e) != 0 || strcmp(again.category, n.category) != 0)
            abort();
        json_decref(out);
    }
    json_decref(in);
    return 0;
}

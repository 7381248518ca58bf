/* fuzz_audit_view.c - the query parameters of the access log (and the FHIR search's _count and
 * _cursor) from arbitrary bytes: eight fields separated by newlines, "-" for an absent one. The
 * parser never crashes; what it accepts is within its bounds; a cursor it accepts formats back
 * to the same text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit/view.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FIELDS 8
#define CAP    512

static char field[FIELDS][CAP];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *f[FIELDS] = {0};
    size_t k = 0, pos = 0;
    for (; k < FIELDS && pos <= size; k++) {
        size_t n = 0;
        while (pos + n < size && data[pos + n] != '\n')
            n++;
        size_t copy = n < CAP - 1 ? n : CAP - 1;
        memcpy(field[k], data + pos, copy);
        field[k][copy] = '\0';
        f[k] = strcmp(field[k], "-") == 0 ? NULL : field[k];
        pos += n + 1;
    }
    struct audit_view_args args = {f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7]};
    struct audit_filter flt;
    size_t limit = 0;
    struct err e = {0};
    if (audit_view_args_parse(&args, &flt, &limit, &e) == 0) {
        if (limit < 1 || limit > AUDIT_VIEW_LIMIT_MAX || flt.from_ms < 0 || flt.until_ms < 0 ||
            flt.before_seq < 0 || (flt.until_ms != 0 && flt.from_ms >= flt.until_ms))
            abort();
    } else if (e.msg[0] == '\0') {
        abort(); /* a refusal always says why */
    }
    int64_t seq = 0;
    if (args.cursor != NULL && audit_cursor_parse(args.cursor, &seq) == 0) {
        char back[AUDIT_CURSOR_MAX];
        audit_cursor_format(seq, back);
        if (seq <= 0 || strcmp(back, args.cursor) != 0)
            abort();
    }
    return 0;
}

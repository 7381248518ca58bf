/* fuzz_fhir_request.c - the FHIR edge's small parsers (request_parse.h): the first byte picks
 * one; the rest is its input. Version ids and ETags must round-trip; a parsed history cursor's
 * id is a valid resource id; a decoded break-glass reason is short, valid UTF-8 text; a Bundle
 * entry either parses to a consistent request or is refused with a status and a message. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/jsonx.h"
#include "base/utf8.h"
#include "fhir/request_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 8192)
        return 0;
    char *s = malloc(size);
    if (s == NULL)
        return 0;
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';
    int64_t v = 0, ms = 0;
    const char *id = NULL;
    char buf[40];
    switch (data[0] % 5) {
    case 0:
        if (fhir_parse_version(s, &v)) {
            snprintf(buf, sizeof buf, "%lld", (long long)v);
            if (strcmp(buf, s) != 0 || v < 1)
                abort();
        }
        break;
    case 1:
        if (fhir_parse_etag(s, &v)) {
            snprintf(buf, sizeof buf, "W/\"%lld\"", (long long)v);
            if (strcmp(buf, s) != 0 && strcmp(buf + 2, s) != 0)
                abort();
        }
        break;
    case 2:
        if (fhir_parse_history_cursor(s, &ms, &v, &id) && (ms < 1 || v < 1 || !fhir_id_valid(id)))
            abort();
        break;
    case 3: {
        struct arena *a = arena_new(4096);
        const char *r = a != NULL ? fhir_decode_reason(a, s) : NULL;
        if (r != NULL) {
            size_t n = strlen(r);
            if (n == 0 || n > 1024 || !utf8_valid(r, n))
                abort();
        }
        arena_free(a);
        break;
    }
    default: {
        struct err e = {0};
        json_t *entry = jsonx_parse(s, size - 1, &e);
        if (entry != NULL) {
            struct fhir_entry_request rq;
            const char *code = NULL;
            char msg[256];
            int status = fhir_entry_request_parse(entry, &rq, &code, msg, sizeof msg);
            if (status != 0 && (code == NULL || msg[0] == '\0' || status < 400 || status > 404))
                abort();
            if (status == 0 &&
                (rq.rtype[0] == '\0' || (rq.op != FHIR_WRITE_CREATE && !fhir_id_valid(rq.id)) ||
                 (rq.op != FHIR_WRITE_DELETE && rq.resource == NULL)))
                abort();
            json_decref(entry);
        }
        break;
    }
    }
    free(s);
    return 0;
}

/* attachment.c - inline documents: type, signature and size (attachment.h). */
#include "fhir/attachment.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct format {
    const char *type;
    const unsigned char *magic;
    size_t len;
};

static const unsigned char pdf[] = {'%', 'P', 'D', 'F', '-'};
static const unsigned char jpeg[] = {0xFF, 0xD8, 0xFF};
static const unsigned char png[] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};

static const struct format formats[] = {
    {"application/pdf", pdf, sizeof pdf},
    {"image/jpeg", jpeg, sizeof jpeg},
    {"image/png", png, sizeof png},
};

void fhir_attachment_check(const json_t *attachment, const char *path, struct fhir_issues *out)
{
    char at[FHIR_ISSUE_EXPR];
    const char *data = json_string_value(json_object_get(attachment, "data"));
    if (data == NULL) {
        if (json_object_get(attachment, "url") == NULL) {
            snprintf(at, sizeof at, "%.200s", path);
            fhir_issues_add(out, FHIR_ERROR, "required", at,
                            "a document is uploaded inline (data) or linked (url)");
        }
        return;
    }
    const char *type = json_string_value(json_object_get(attachment, "contentType"));
    const struct format *f = NULL;
    for (size_t i = 0; type != NULL && i < sizeof formats / sizeof formats[0]; i++)
        if (strcmp(type, formats[i].type) == 0)
            f = &formats[i];
    snprintf(at, sizeof at, "%.200s.contentType", path);
    if (f == NULL) {
        fhir_issues_add(out, FHIR_ERROR, "value", at,
                        "an uploaded document is one of " FHIR_ATTACHMENT_TYPES);
        return;
    }
    size_t n = strlen(data),
           max = sodium_base64_ENCODED_LEN(FHIR_ATTACHMENT_MAX, sodium_base64_VARIANT_ORIGINAL);
    snprintf(at, sizeof at, "%.200s.data", path);
    if (n > max) {
        fhir_issues_add(out, FHIR_ERROR, "too-long", at, "a document is at most %u bytes",
                        FHIR_ATTACHMENT_MAX);
        return;
    }
    unsigned char *bin = malloc(n / 4 * 3 + 3);
    size_t len = 0;
    if (bin == NULL) {
        fhir_issues_add(out, FHIR_ERROR, "exception", at, "out of memory");
        return;
    }
    if (sodium_base642bin(bin, n / 4 * 3 + 3, data, n, NULL, &len, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0) {
        fhir_issues_add(out, FHIR_ERROR, "value", at, "data is not base64");
    } else if (len > FHIR_ATTACHMENT_MAX) {
        fhir_issues_add(out, FHIR_ERROR, "too-long", at, "a document is at most %u bytes",
                        FHIR_ATTACHMENT_MAX);
    } else if (len < f->len || memcmp(bin, f->magic, f->len) != 0) {
        fhir_issues_add(out, FHIR_ERROR, "value", at,
                        "the bytes are not a %s file (its signature is missing)", f->type);
    } else {
        const json_t *size = json_object_get(attachment, "size");
        if (size != NULL && (!json_is_integer(size) || (size_t)json_integer_value(size) != len)) {
            snprintf(at, sizeof at, "%.200s.size", path);
            fhir_issues_add(out, FHIR_ERROR, "value", at,
                            "size must be the number of bytes in data (%zu)", len);
        }
    }
    free(bin);
}

/* attachment.h - what an uploaded document may be (S3: offline test reports uploaded by the
 * citizen as a DocumentReference): a PDF, JPEG or PNG carried inline (Attachment.data), whose
 * bytes are what its contentType says, within a size bound; checked by fhir_validate() for every
 * DocumentReference.content.attachment (validate_rules.c). */
#ifndef COS_FHIR_ATTACHMENT_H
#define COS_FHIR_ATTACHMENT_H

#include <jansson.h>
#include <stddef.h>

#include "fhir/validate.h"

#define FHIR_ATTACHMENT_MAX (8u * 1024u * 1024u) /* decoded bytes of one inline document */

/* The content types an inline document may have. */
#define FHIR_ATTACHMENT_TYPES "application/pdf, image/jpeg, image/png"

/* Checks one Attachment (at path): with data, a contentType of FHIR_ATTACHMENT_TYPES (charset
 * or other parameters refused), base64 that decodes, at most FHIR_ATTACHMENT_MAX bytes, whose
 * first bytes are the format's signature (%PDF-; FF D8 FF; the PNG signature), and size, when
 * given, equal to the decoded length. Without data, a url is required (a link to elsewhere:
 * nothing to check). Adds issues to out. */
void fhir_attachment_check(const json_t *attachment, const char *path, struct fhir_issues *out);

#endif

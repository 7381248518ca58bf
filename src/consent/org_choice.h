/* org_choice.h - a citizen's choice of an organisation that rests on a consent: the pharmacy
 * that receives their prescriptions (visits/prescription_api.c), the taxi company that drives
 * them to appointments (mobility/taxi_api.c). Choosing grants that consent, with the evidence
 * the citizen sent, exactly as POST /api/v1/me/consents grants it, unless an open consent to
 * the organisation for the purpose already covers the category; the caller stores its choice
 * in the same transaction as the grant (consent_write_fn). */
#ifndef COS_CONSENT_ORG_CHOICE_H
#define COS_CONSENT_ORG_CHOICE_H

#include <jansson.h>

#include "consent/category.h"
#include "consent/consent.h"
#include "http/server.h"
#include "identity/principal.h"
#include "store/store.h"

struct consent_org_choice {
    const char *consent_id;      /* the open consent the choice rests on already, or NULL */
    struct consent_write *grant; /* else the grant to run, checked (in req->arena) */
};

/* For who (a citizen acting for who->subject_id) choosing org for purpose, category, read and
 * write, with evidence (the request body's "evidence" member, read strictly): the purpose's
 * current version (409 `conflict` when the city has not published it), an open consent already
 * given (out->consent_id), or the grant prepared and checked (422 `validation-failed` for bad
 * evidence; 503 when the store or the consent index is unavailable). Returns 1 to go on, 0 when
 * the answer has been sent, -1 when out of memory. */
int consent_org_choice_prepare(struct http_request *req, struct store *s,
                               const struct id_principal *who, const char *org, const char *purpose,
                               enum consent_category category, const json_t *evidence,
                               struct consent_org_choice *out);

#endif

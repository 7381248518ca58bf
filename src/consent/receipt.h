/* receipt.h - consent receipts: a signed record, given to the citizen, of each change of a
 * consent (grant, narrowing, re-consent, withdrawal), with the fields of the Kantara Consent
 * Receipt Specification v1.1 (which ISO/IEC TS 27560 builds on), as a compact JWS (EdDSA)
 * verifiable with the city's published JWKS (docs/internals/consent-receipts.md). */
#ifndef COS_CONSENT_RECEIPT_H
#define COS_CONSENT_RECEIPT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

struct id_jose_key;

#define CONSENT_RECEIPT_VERSION      "KI-CR-v1.1.0"
#define CONSENT_RECEIPT_JURISDICTION "JP"
#define CONSENT_RECEIPT_ID_LEN       36   /* a UUID (RFC 9562 version 4), lower-case */
#define CONSENT_RECEIPT_TEXT_MAX     2048 /* bytes of any one text field */
#define CONSENT_RECEIPT_LIST_MAX     32   /* items in any one list */

/* What the receipt records. For a narrowing and a re-consent the receipt describes the consent
 * as it stands after the change (categories, period, purpose version now in force). */
enum consent_receipt_action {
    CONSENT_RECEIPT_GRANT,
    CONSENT_RECEIPT_WITHDRAW,
    CONSENT_RECEIPT_NARROW,    /* fewer categories or actions, or a shorter period */
    CONSENT_RECEIPT_RECONSENT, /* moved to a new purpose version from the inbox */
};

/* One purpose of a service (Kantara 4.5.2). Text is UTF-8. */
struct consent_receipt_purpose {
    const char *purpose;                 /* required: the purpose as shown to the citizen */
    const char *const *purpose_category; /* required, 1..32: e.g. "homedoctor@3" */
    size_t n_purpose_category;
    const char *consent_type;        /* required: "EXPLICIT" for cityos */
    const char *const *pii_category; /* required, 1..32: data categories (vitals, ...) */
    size_t n_pii_category;
    int primary_purpose;
    const char *termination;      /* required: when and how consent ends */
    int third_party_disclosure;   /* recipients beyond the controllers */
    const char *third_party_name; /* with it: the recipients' names; else NULL */
};

/* A service and its purposes (Kantara 4.5.1). */
struct consent_receipt_service {
    const char *service;                            /* required */
    const struct consent_receipt_purpose *purposes; /* 1..32 */
    size_t n_purposes;
};

/* A PII controller (Kantara 4.4): the city, and the organisations that decide with it. */
struct consent_receipt_controller {
    const char *name;    /* required: "piiController" */
    int on_behalf;       /* acting on behalf of another controller */
    const char *contact; /* required: a person or office to contact */
    const char *address; /* required: postal address, one line ("streetAddress") */
    const char *email;   /* required */
    const char *phone;   /* required */
    const char *url;     /* optional: "piiControllerUrl" */
};

/* Everything a receipt says. Every pointer is borrowed for the call. */
struct consent_receipt_in {
    const char *receipt_id; /* required: consent_receipt_new_id(); also the JWT "jti" */
    enum consent_receipt_action action;
    int64_t consent_ms;            /* when "agree" (or "withdraw", "narrow") was pressed, Unix ms */
    int64_t issued_ms;             /* when the receipt is made ("iat"); 0: consent_ms */
    const char *collection_method; /* required: "portal", "app", "in person by proxy" ... */
    const char *language;          /* required: BCP 47 of the text shown: "ja", "en" */
    const char *pii_principal_id;  /* required: the citizen's regional ID */
    const struct consent_receipt_controller *controllers; /* 1..32 */
    size_t n_controllers;
    const char *policy_url; /* required: the purpose's policy, version included */
    const struct consent_receipt_service *services; /* 1..32 */
    size_t n_services;
    const char *const *spi_cat; /* sensitive categories; NULL/0: {"health"} */
    size_t n_spi_cat;
    const char *issuer;              /* required: the city's issuer URL ("iss") */
    const char *jwks_url;            /* required: where the verifying key is published */
    const char *consent_id;          /* required: the consent changed */
    const char *explanation_version; /* required: the explanation shown ... */
    const char *explanation_hash;    /* ... and its hash (as the consent's evidence keeps it) */
};

/* Writes a new random receipt id (UUID version 4, lower-case hex) and a NUL into out. */
void consent_receipt_new_id(char out[CONSENT_RECEIPT_ID_LEN + 1]);

/* "grant", "withdraw", "narrow" or "reconsent" (the names the consent_receipt table admits);
 * NULL for a value outside the enum. */
const char *consent_receipt_action_name(enum consent_receipt_action a);

/* Checks in and builds the receipt's JSON payload, naming the verifying key as
 * "<jwks_url>#<kid>" in publicKey (see docs/internals/consent-receipts.md for
 * every member). Returns a new reference, or NULL with e: ERR_INVALID naming the field (a
 * required field missing or empty, text over CONSENT_RECEIPT_TEXT_MAX bytes or not UTF-8, a
 * list empty or over CONSENT_RECEIPT_LIST_MAX), ERR_NOMEM. */
json_t *consent_receipt_payload(const struct consent_receipt_in *in, const char *kid,
                                struct err *e);

/* consent_receipt_payload() signed with key as a compact JWS: header {"alg":"EdDSA",
 * "typ":"JWT","kid":key->kid}. Returns a malloc'ed NUL-terminated token the caller frees, or
 * NULL with e (as consent_receipt_payload, or id_jose_sign's errors). */
char *consent_receipt_make(const struct consent_receipt_in *in, const struct id_jose_key *key,
                           struct err *e);

#endif
